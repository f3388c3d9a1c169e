//! Sending mail through the list's transport: a sendmail-compatible binary,
//! or an SMTP relay (through lettre, its only user) with STARTTLS when
//! offered and credentials from `LISTCRYPT_SMTP_USER` / `LISTCRYPT_SMTP_PASSWORD`.
//!
//! A [`Session`] sends many messages over one SMTP connection. lettre 0.11
//! writes the final `.` of DATA separately and never sets TCP_NODELAY, so on
//! a reused connection every message waits for the peer's delayed ACK (about
//! 40 ms); the session therefore hands lettre the dot-stuffed message and its
//! terminator as one command, one write (about a millisecond per message).
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
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{SmtpConnection, TlsParameters};
use lettre::transport::smtp::commands::{Data, Mail, Rcpt, Rset};
use lettre::transport::smtp::extension::ClientId;
use lettre::transport::smtp::Error as SmtpError;
use std::io::{Read, Write};
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::time::Duration;

/// How long one message may take to hand over (`LISTCRYPT_TRANSPORT_TIMEOUT`
/// seconds, 120 by default): a sendmail that never exits is killed, an SMTP
/// relay that stops answering is dropped, and the copy waits for a retry.
pub fn timeout() -> Duration {
    let secs = std::env::var("LISTCRYPT_TRANSPORT_TIMEOUT")
        .ok()
        .and_then(|v| v.parse::<f64>().ok())
        .filter(|s| s.is_finite() && *s > 0.0)
        .unwrap_or(120.0);
    Duration::from_secs_f64(secs)
}

/// One message ready to go: envelope and bytes (CRLF line ends).
#[derive(Debug, Clone)]
pub struct Outgoing {
    /// `None` is the null sender `<>`, for notices that must never bounce back.
    pub envelope_from: Option<Address>,
    pub recipients: Vec<Address>,
    pub bytes: Vec<u8>,
}

/// Sends one message (a new connection for SMTP).
pub fn send(transport: &Transport, mail: &Outgoing) -> Result<()> {
    Session::new(transport).send(mail)
}

/// Sends a run of messages, reusing one SMTP connection (reconnecting once
/// when it breaks).
pub struct Session<'a> {
    transport: &'a Transport,
    smtp: Option<SmtpConnection>,
}

impl<'a> Session<'a> {
    pub fn new(transport: &'a Transport) -> Self {
        Session { transport, smtp: None }
    }

    pub fn send(&mut self, mail: &Outgoing) -> Result<()> {
        let (host, port) = match self.transport {
            Transport::Sendmail(path) => return sendmail(path, mail),
            Transport::Discard => return Ok(()),
            Transport::Smtp { host, port } => (host.as_str(), *port),
        };
        let envelope = envelope(mail)?;
        let reused = self.smtp.is_some();
        match self.smtp_send(host, port, &envelope, &mail.bytes) {
            // A reused connection the server closed: one fresh try.
            Err(failure) if reused && failure.dropped => {
                self.smtp = None;
                self.smtp_send(host, port, &envelope, &mail.bytes)
            }
            other => other,
        }
        .map_err(|failure| {
            // Only a recipient refused for good is this recipient's problem; a
            // refusal of the sender, the message or the login, and anything
            // that is not an SMTP reply (connection refused), is the relay's:
            // the copy waits and is retried.
            let kind = if failure.recipient_refused { ErrorKind::Data } else { ErrorKind::Temporary };
            Error::new(kind, format!("smtp://{host}:{port}: {}", first_line(&failure.text)))
        })
    }

    fn smtp_send(&mut self, host: &str, port: u16, envelope: &Envelope, bytes: &[u8]) -> Result<(), Failure> {
        if self.smtp.is_none() {
            self.smtp = Some(connect(host, port)?);
        }
        let conn = self.smtp.as_mut().expect("connected above");
        let sent = match std::str::from_utf8(bytes) {
            Ok(text) => transaction(conn, envelope, text),
            Err(_) => conn.send(envelope, bytes).map(|_| ()).map_err(|e| Failure::at(Step::Message, e)),
        };
        if sent.is_err() {
            if conn.has_broken() {
                self.smtp = None;
            } else {
                let _ = conn.command(Rset);
            }
        }
        sent
    }
}

impl Drop for Session<'_> {
    fn drop(&mut self) {
        if let Some(conn) = self.smtp.as_mut() {
            let _ = conn.quit();
        }
    }
}

/// Where an SMTP exchange failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    Connect,
    Sender,
    Recipient,
    Message,
}

/// An SMTP failure and what it means for the copy.
struct Failure {
    /// The relay refused this recipient for good (5xx to RCPT).
    recipient_refused: bool,
    /// Not an SMTP reply at all: the connection is gone.
    dropped: bool,
    text: String,
}

impl Failure {
    fn at(step: Step, e: SmtpError) -> Failure {
        Failure {
            recipient_refused: step == Step::Recipient && e.is_permanent(),
            dropped: !e.is_permanent() && !e.is_transient(),
            text: e.to_string(),
        }
    }
}

/// Opens a session the way every send does, then ends it: what `doctor`
/// checks, so that it fails where sends would (TLS, login), within `limit`.
pub fn probe(host: &str, port: u16, limit: Duration) -> std::result::Result<(), String> {
    let mut conn = connect_within(host, port, limit).map_err(|f| f.text)?;
    let _ = conn.quit();
    Ok(())
}

fn connect(host: &str, port: u16) -> Result<SmtpConnection, Failure> {
    connect_within(host, port, timeout())
}

/// Connects, says EHLO, upgrades to TLS when offered (except on loopback,
/// where TLS protects nothing and local certificates are often self-signed),
/// and logs in when credentials are set, never without TLS off loopback.
fn connect_within(host: &str, port: u16, limit: Duration) -> Result<SmtpConnection, Failure> {
    let failed = |e| Failure::at(Step::Connect, e);
    let hello = ClientId::default();
    let mut conn = SmtpConnection::connect((host, port), Some(limit), &hello, None, None).map_err(failed)?;
    let loopback = host == "localhost" || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback());
    if conn.can_starttls() && !loopback {
        let tls = TlsParameters::new(host.to_string()).map_err(failed)?;
        conn.starttls(&tls, &hello).map_err(failed)?;
    }
    if let (Ok(user), Ok(password)) = (std::env::var("LISTCRYPT_SMTP_USER"), std::env::var("LISTCRYPT_SMTP_PASSWORD")) {
        if !conn.is_encrypted() && !loopback {
            return Err(Failure {
                recipient_refused: false,
                dropped: false,
                text: "the relay offered no STARTTLS; credentials are only sent over TLS".into(),
            });
        }
        conn.auth(&[Mechanism::Plain, Mechanism::Login], &Credentials::new(user, password)).map_err(failed)?;
    }
    Ok(conn)
}

/// MAIL, RCPT, DATA, then the message and its terminator in one write.
fn transaction(conn: &mut SmtpConnection, envelope: &Envelope, text: &str) -> Result<(), Failure> {
    conn.command(Mail::new(envelope.from().cloned(), vec![])).map_err(|e| Failure::at(Step::Sender, e))?;
    for to in envelope.to() {
        conn.command(Rcpt::new(to.clone(), vec![])).map_err(|e| Failure::at(Step::Recipient, e))?;
    }
    conn.command(Data).map_err(|e| Failure::at(Step::Message, e))?;
    conn.command(DotStuffed(text)).map_err(|e| Failure::at(Step::Message, e))?;
    Ok(())
}

/// A message as DATA sends it: CRLF lines, leading dots doubled, `.` last.
struct DotStuffed<'a>(&'a str);

impl std::fmt::Display for DotStuffed<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for line in self.0.split_inclusive('\n') {
            if line.starts_with('.') {
                f.write_str(".")?;
            }
            f.write_str(line)?;
        }
        if !self.0.ends_with('\n') {
            f.write_str("\r\n")?;
        }
        f.write_str(".\r\n")
    }
}

/// `sendmail -i -f SENDER -- RCPT…`; exit 0 is accepted, the sysexits codes
/// for bad addresses are permanent, anything else is temporary.
fn sendmail(path: &str, mail: &Outgoing) -> Result<()> {
    let sender = mail.envelope_from.as_ref().map(|a| a.to_string()).unwrap_or_else(|| "<>".into());
    let child = Command::new(path)
        .process_group(0)
        .args(["-i", "-f", &sender, "--"])
        .args(mail.recipients.iter().map(Address::as_str))
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| Error::temporary(format!("cannot run {path}: {e}")).hint("check the list's transport setting"))?;
    let (status, stderr, written) = wait_for(path, child, &mail.bytes)?;
    match status.code() {
        Some(0) => match written {
            Err(e) => Err(Error::temporary(format!("{path} did not take the whole message: {e}"))),
            Ok(()) => Ok(()),
        },
        code => {
            let why = first_line(&String::from_utf8_lossy(&stderr));
            let text = format!("{path} exited with {}: {why}", code.map_or("a signal".into(), |c| c.to_string()));
            // Unknown user or host is about this recipient; anything else
            // (usage, the message, the MTA itself) waits and is retried.
            let kind = match code {
                Some(67 | 68) => ErrorKind::Data,
                _ => ErrorKind::Temporary,
            };
            Err(Error::new(kind, text).hint("check the transport setting and the MTA's log; the mail stays queued"))
        }
    }
}

/// Feeds `input` to the child and waits for it, at most [`timeout`]; a child
/// still running then is killed and the send is a temporary failure. The
/// pipes are served by detached threads that nothing waits on past the
/// deadline, so a grandchild that keeps a pipe open cannot stall the run.
fn wait_for(
    path: &str,
    mut child: std::process::Child,
    input: &[u8],
) -> Result<(std::process::ExitStatus, Vec<u8>, std::io::Result<()>)> {
    use std::sync::mpsc::channel;
    let deadline = std::time::Instant::now() + timeout();
    let (wrote, written) = channel();
    let (stdin, input) = (child.stdin.take(), input.to_vec());
    std::thread::spawn(move || wrote.send(stdin.map_or(Ok(()), |mut pipe| pipe.write_all(&input))));
    let (read, stderr) = channel();
    if let Some(mut pipe) = child.stderr.take() {
        std::thread::spawn(move || {
            // The first lines say why; the rest is read and dropped so the child never blocks on it.
            let mut text = vec![];
            let _ = (&mut pipe).take(64 * 1024).read_to_end(&mut text);
            let _ = read.send(text);
            let _ = std::io::copy(&mut pipe, &mut std::io::sink());
        });
    }
    let mut pause = Duration::from_millis(1);
    let status = loop {
        match child.try_wait().map_err(|e| Error::temporary(format!("{path}: {e}")))? {
            Some(status) => break status,
            None if std::time::Instant::now() >= deadline => {
                // Its own process group: whatever it started goes too, and the pipes close.
                if let Some(group) = rustix::process::Pid::from_raw(child.id() as i32) {
                    let _ = rustix::process::kill_process_group(group, rustix::process::Signal::KILL);
                }
                let _ = child.wait();
                return Err(Error::temporary(format!(
                    "{path} did not finish within {:.0} s and was stopped",
                    timeout().as_secs_f64()
                )));
            }
            None => {
                std::thread::sleep(pause);
                pause = (pause * 2).min(Duration::from_millis(20));
            }
        }
    };
    // The child is gone; whatever still holds its pipes gets a moment, no more.
    let grace = Duration::from_millis(500);
    let written = match written.recv_timeout(grace) {
        Ok(done) => done,
        Err(_) => Err(std::io::Error::other("the message was not read to its end")),
    };
    Ok((status, stderr.recv_timeout(grace).unwrap_or_default(), written))
}

fn envelope(mail: &Outgoing) -> Result<Envelope> {
    let convert = |a: &Address| {
        a.as_str().parse::<lettre::Address>().map_err(|e| Error::data(format!("cannot send to {a}: {e}")))
    };
    let from = mail.envelope_from.as_ref().map(convert).transpose()?;
    let to = mail.recipients.iter().map(convert).collect::<Result<Vec<_>>>()?;
    Envelope::new(from, to).map_err(|e| Error::data(format!("bad envelope: {e}")))
}

fn first_line(text: &str) -> String {
    let line = text.lines().find(|l| !l.trim().is_empty()).unwrap_or("no details");
    crate::model::printable(line)
}
