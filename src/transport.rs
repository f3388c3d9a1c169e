//! Sending mail through the list's transport (the only user of lettre):
//! a sendmail-compatible binary, or an SMTP relay with STARTTLS when offered
//! and credentials from `LISTCRYPT_SMTP_USER` / `LISTCRYPT_SMTP_PASSWORD`.
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
use lettre::{SendmailTransport, SmtpTransport, Transport as _};
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
    let envelope = envelope(mail)?;
    match transport {
        Transport::Sendmail(path) => {
            SendmailTransport::new_with_command(path).send_raw(&envelope, &mail.bytes).map_err(|e| {
                Error::temporary(format!("{path} failed: {}", first_line(&e.to_string())))
                    .hint("check the transport setting and the MTA's log; the mail stays queued")
            })
        }
        Transport::Smtp { host, port } => {
            let smtp = smtp_transport(host, *port)?;
            smtp.send_raw(&envelope, &mail.bytes).map(|_| ()).map_err(|e| {
                let kind = if e.is_permanent() { ErrorKind::Data } else { ErrorKind::Temporary };
                Error::new(kind, format!("smtp://{host}:{port}: {}", first_line(&e.to_string())))
            })
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
