//! Sending mail through the list's transport: a sendmail-compatible binary,
//! or an SMTP relay (through lettre, its only user) with STARTTLS when
//! offered and credentials from `LISTCRYPT_SMTP_USER` / `LISTCRYPT_SMTP_PASSWORD`.
//!
//! The sendmail binary is run directly rather than through lettre, which
//! cannot pass the null sender (`-f '<>'`) that notices need and hides the
//! exit status that tells a temporary failure from a permanent one.
//!
//! Outcomes: `Ok` means the transport accepted the message; an error of kind
//! `Temporary` means try again later (connection refused, 4xx, sendmail
//! failed); kind `Data` means the relay refused it for good (5xx).

use crate::error::{Error, ErrorKind, Result};
use crate::model::Address;
use crate::settings::Transport;
use lettre::address::Envelope;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{SmtpTransport, Transport as _};
use std::io::Write;
use std::process::{Command, Stdio};
use std::time::Duration;

/// One message ready to go: envelope and bytes (CRLF line ends).
#[derive(Debug, Clone)]
pub struct Outgoing {
    /// `None` is the null sender `<>`, for notices that must never bounce back.
    pub envelope_from: Option<Address>,
    pub recipients: Vec<Address>,
    pub bytes: Vec<u8>,
}

pub fn send(transport: &Transport, mail: &Outgoing) -> Result<()> {
    match transport {
        Transport::Sendmail(path) => sendmail(path, mail),
        Transport::Smtp { host, port } => {
            let envelope = envelope(mail)?;
            let smtp = smtp_transport(host, *port)?;
            smtp.send_raw(&envelope, &mail.bytes).map(|_| ()).map_err(|e| {
                // Connection refused is neither transient nor permanent to lettre: retry it.
                let kind = if e.is_permanent() { ErrorKind::Data } else { ErrorKind::Temporary };
                Error::new(kind, format!("smtp://{host}:{port}: {}", first_line(&e.to_string())))
            })
        }
    }
}

/// `sendmail -i -f SENDER -- RCPT…`; exit 0 is accepted, the sysexits codes
/// for bad addresses are permanent, anything else is temporary.
fn sendmail(path: &str, mail: &Outgoing) -> Result<()> {
    let sender = mail.envelope_from.as_ref().map(|a| a.to_string()).unwrap_or_else(|| "<>".into());
    let mut child = Command::new(path)
        .args(["-i", "-f", &sender, "--"])
        .args(mail.recipients.iter().map(Address::as_str))
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| Error::temporary(format!("cannot run {path}: {e}")).hint("check the list's transport setting"))?;
    let written = child.stdin.take().map(|mut stdin| stdin.write_all(&mail.bytes));
    let out = child.wait_with_output().map_err(|e| Error::temporary(format!("{path}: {e}")))?;
    match out.status.code() {
        Some(0) => match written {
            Some(Err(e)) => Err(Error::temporary(format!("{path} did not take the whole message: {e}"))),
            _ => Ok(()),
        },
        code => {
            let why = first_line(&String::from_utf8_lossy(&out.stderr));
            let text = format!("{path} exited with {}: {why}", code.map_or("a signal".into(), |c| c.to_string()));
            let kind = match code {
                Some(64 | 65 | 67 | 68) => ErrorKind::Data,
                _ => ErrorKind::Temporary,
            };
            Err(Error::new(kind, text).hint("check the transport setting and the MTA's log; the mail stays queued"))
        }
    }
}

fn envelope(mail: &Outgoing) -> Result<Envelope> {
    let convert = |a: &Address| {
        a.as_str().parse::<lettre::Address>().map_err(|e| Error::data(format!("cannot send to {a}: {e}")))
    };
    let from = mail.envelope_from.as_ref().map(convert).transpose()?;
    let to = mail.recipients.iter().map(convert).collect::<Result<Vec<_>>>()?;
    Envelope::new(from, to).map_err(|e| Error::data(format!("bad envelope: {e}")))
}

fn smtp_transport(host: &str, port: u16) -> Result<SmtpTransport> {
    let tls = TlsParameters::new(host.to_string())
        .map_err(|e| Error::config(format!("TLS set-up for {host} failed: {e}")))?;
    let mut builder = SmtpTransport::builder_dangerous(host)
        .port(port)
        .tls(Tls::Opportunistic(tls))
        .timeout(Some(Duration::from_secs(60)));
    if let (Ok(user), Ok(password)) = (std::env::var("LISTCRYPT_SMTP_USER"), std::env::var("LISTCRYPT_SMTP_PASSWORD")) {
        builder = builder.credentials(Credentials::new(user, password));
    }
    Ok(builder.build())
}

fn first_line(text: &str) -> String {
    let line = text.lines().find(|l| !l.trim().is_empty()).unwrap_or("no details");
    crate::model::printable(line)
}
