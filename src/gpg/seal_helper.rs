//! Sealing in a small helper process, for `members import`.
//!
//! gpgme starts every gpg run with `fork`, and a fork costs by the memory
//! of the process that forks: the kernel copies its page tables, then tears
//! them down at `exec`. An import of 10,000 members holds about 60 MB while
//! it seals one challenge per member, and perf put more than half of all
//! CPU in those copies. A helper, the same binary started as
//! `listcrypt seal-helper`, holds a few MB and forks gpg cheaply; the
//! import hands it each challenge through a pipe (never a file) and gets
//! the armored message back.
//!
//! The binary says where it is ([`run_as`]); without that (the library
//! used on its own) there is no helper and the caller seals in-process.
//!
//! The protocol, on the helper's stdin and stdout, is frames of a 4-byte
//! big-endian length and its bytes. The helper says [`HELLO`] first. Then
//! each request gets one reply, a status (`ok`, `locked`, `error`) and its
//! payload (the message, or what went wrong):
//! - `view`, home, signer, recipients (fingerprints, one per line): seal in
//!   that keyring from now on, signing with `signer`, its keys listed once;
//! - `seal`, recipient, plaintext: signed and encrypted to the recipient.

use super::{Keyring, Sealer};
use crate::error::{Error, ErrorKind, Result};
use crate::model::Fingerprint;
use std::io::{BufReader, BufWriter, Read, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::OnceLock;

/// The subcommand that runs [`serve`].
pub const SUBCOMMAND: &str = "seal-helper";

/// What a helper says first: its protocol, so a helper from another
/// version (the binary replaced by an upgrade meanwhile) is not used.
const HELLO: &[u8] = b"listcrypt-seal-helper/1";

/// The largest frame either side reads: challenges and their sealed
/// messages are a few KB; anything larger is not this protocol.
const MAX_FRAME: usize = 1 << 20;

static PROGRAM: OnceLock<PathBuf> = OnceLock::new();

/// Set by the binary: the program that runs `seal-helper`.
pub fn run_as(program: PathBuf) {
    let _ = PROGRAM.set(program);
}

/// Whether helpers can be started at all.
pub fn available() -> bool {
    PROGRAM.get().is_some()
}

/// Runs the helper on `input` and `output` until `input` ends.
pub fn serve(input: impl Read, output: impl Write) -> Result<()> {
    let mut input = BufReader::new(input);
    let mut output = BufWriter::new(output);
    let broken = |e: std::io::Error| Error::io("the seal helper's pipe", e);
    write_frames(&mut output, &[HELLO]).and_then(|()| output.flush()).map_err(broken)?;
    let mut request = read_request(&mut input).map_err(broken)?;
    while let Some(frames) = request {
        request = match frames.first().map(Vec::as_slice) {
            Some(b"view") if frames.len() == 4 => serve_view(&frames, &mut input, &mut output)?,
            _ => {
                reply(&mut output, Err(Error::software("the seal helper was asked to seal before it had a keyring")))?;
                read_request(&mut input).map_err(broken)?
            }
        };
    }
    Ok(())
}

/// Seals in the keyring a `view` request names until the next `view`
/// request (returned) or the end of the input (`None`).
fn serve_view(view: &[Vec<u8>], input: &mut impl Read, output: &mut impl Write) -> Result<Option<Vec<Vec<u8>>>> {
    let broken = |e: std::io::Error| Error::io("the seal helper's pipe", e);
    let keyring = Keyring::new(Path::new(std::ffi::OsStr::from_bytes(&view[1])));
    let opened = fingerprint(&view[2]).and_then(|signer| {
        let recipients: Vec<Fingerprint> =
            view[3].split(|b| *b == b'\n').filter(|f| !f.is_empty()).map(fingerprint).collect::<Result<_>>()?;
        // The signer too: the sealer looks it up.
        keyring.preload(&[recipients, vec![signer.clone()]].concat())?;
        keyring.sealer(&signer)
    });
    let mut sealer = match opened {
        Ok(sealer) => {
            reply(output, Ok(vec![]))?;
            Some(sealer)
        }
        Err(e) => {
            reply(output, Err(e))?;
            None
        }
    };
    loop {
        let Some(frames) = read_request(input).map_err(broken)? else { return Ok(None) };
        let sealed = match (frames.first().map(Vec::as_slice), &mut sealer) {
            (Some(b"view"), _) => return Ok(Some(frames)),
            (Some(b"seal"), Some(sealer)) if frames.len() == 3 => seal(sealer, &frames[1], &frames[2]),
            (Some(b"seal"), None) => Err(Error::temporary("the seal helper could not open its keyring")),
            _ => Err(Error::software("the seal helper got a request it does not know")),
        };
        reply(output, sealed)?;
    }
}

fn seal(sealer: &mut Sealer<'_>, recipient: &[u8], plaintext: &[u8]) -> Result<Vec<u8>> {
    sealer.seal(&fingerprint(recipient)?, plaintext)
}

fn fingerprint(bytes: &[u8]) -> Result<Fingerprint> {
    Fingerprint::parse(&String::from_utf8_lossy(bytes))
}

fn reply(output: &mut impl Write, result: Result<Vec<u8>>) -> Result<()> {
    let written = match result {
        Ok(payload) => write_frames(output, &[b"ok", &payload]),
        Err(e) if e.kind() == ErrorKind::Permission => write_frames(output, &[b"locked", e.message().as_bytes()]),
        Err(e) => write_frames(output, &[b"error", e.message().as_bytes()]),
    };
    written.and_then(|()| output.flush()).map_err(|e| Error::io("the seal helper's pipe", e))
}

/// A running helper, as its caller sees it: one per sealing thread.
pub struct SealHelper {
    child: Child,
    to: Option<ChildStdin>,
    from: BufReader<ChildStdout>,
    /// The keyring it seals in, once asked.
    view: Option<PathBuf>,
}

impl SealHelper {
    /// A new helper, or `None` when the binary set none or it does not start.
    pub fn start() -> Option<SealHelper> {
        let program = PROGRAM.get()?;
        let mut child = Command::new(program)
            .arg(SUBCOMMAND)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            // Its own group: gpg's time limit in one process stops the gpg runs
            // of that process's group (`watchdog`), not those of its siblings.
            .process_group(0)
            .spawn()
            .ok()?;
        let to = child.stdin.take();
        let from = BufReader::new(child.stdout.take()?);
        let mut helper = SealHelper { child, to, from, view: None };
        match read_frame(&mut helper.from) {
            Ok(Some(hello)) if hello == HELLO => Some(helper),
            _ => None,
        }
    }

    /// The keyring it seals in now.
    pub fn view(&self) -> Option<&Path> {
        self.view.as_deref()
    }

    /// Seals in `keyring` from now on, signing with `signer`; `recipients`
    /// are the keys it will seal to there, looked up once.
    pub fn open_view(&mut self, keyring: &Keyring, signer: &Fingerprint, recipients: &[Fingerprint]) -> Result<()> {
        self.view = Some(keyring.home().to_path_buf());
        let recipients: String = recipients.iter().map(|f| format!("{f}\n")).collect();
        let home = keyring.home().as_os_str().as_encoded_bytes();
        self.ask(&[b"view", home, signer.as_str().as_bytes(), recipients.as_bytes()]).map(drop)
    }

    /// `plaintext` signed by the view's signer and encrypted to `recipient`,
    /// armored. A locked list key is a `Permission` error, as in-process.
    pub fn seal(&mut self, recipient: &Fingerprint, plaintext: &[u8]) -> Result<Vec<u8>> {
        self.ask(&[b"seal", recipient.as_str().as_bytes(), plaintext])
    }

    fn ask(&mut self, request: &[&[u8]]) -> Result<Vec<u8>> {
        let stopped = |e: std::io::Error| Error::temporary(format!("the seal helper stopped: {e}"));
        let to = self.to.as_mut().ok_or_else(|| Error::temporary("the seal helper stopped"))?;
        write_frames(to, request).and_then(|()| to.flush()).map_err(stopped)?;
        let status = read_frame(&mut self.from).map_err(stopped)?;
        let payload = read_frame(&mut self.from).map_err(stopped)?;
        match (status.as_deref(), payload) {
            (Some(b"ok"), Some(payload)) => Ok(payload),
            (Some(b"locked"), Some(message)) => {
                Err(Error::new(ErrorKind::Permission, String::from_utf8_lossy(&message).into_owned()))
            }
            (Some(b"error"), Some(message)) => Err(Error::temporary(String::from_utf8_lossy(&message).into_owned())),
            _ => {
                // Out of step: it answers nothing more.
                self.to = None;
                Err(Error::temporary("the seal helper stopped answering"))
            }
        }
    }
}

impl Drop for SealHelper {
    fn drop(&mut self) {
        // The end of its input ends it.
        self.to = None;
        let _ = self.child.wait();
    }
}

fn write_frames(out: &mut impl Write, frames: &[&[u8]]) -> std::io::Result<()> {
    for frame in frames {
        let len = u32::try_from(frame.len()).ok().filter(|&n| n as usize <= MAX_FRAME);
        let len = len.ok_or_else(|| std::io::Error::new(std::io::ErrorKind::InvalidInput, "frame too large"))?;
        out.write_all(&len.to_be_bytes())?;
        out.write_all(frame)?;
    }
    Ok(())
}

/// The next frame, or `None` at the end of the input.
fn read_frame(input: &mut impl Read) -> std::io::Result<Option<Vec<u8>>> {
    let mut len = [0u8; 4];
    match input.read_exact(&mut len) {
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
        other => other?,
    }
    let len = u32::from_be_bytes(len) as usize;
    if len > MAX_FRAME {
        return Err(std::io::Error::new(std::io::ErrorKind::InvalidData, "frame too large"));
    }
    let mut frame = vec![0; len];
    input.read_exact(&mut frame)?;
    Ok(Some(frame))
}

/// The frames of the next request: its kind, then as many as that kind has.
fn read_request(input: &mut impl Read) -> std::io::Result<Option<Vec<Vec<u8>>>> {
    let Some(kind) = read_frame(input)? else { return Ok(None) };
    let count = match kind.as_slice() {
        b"view" => 3,
        b"seal" => 2,
        _ => 0,
    };
    let mut frames = vec![kind];
    for _ in 0..count {
        let frame = read_frame(input)?;
        frames.push(frame.ok_or_else(|| std::io::Error::from(std::io::ErrorKind::UnexpectedEof))?);
    }
    Ok(Some(frames))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_come_back_as_written_and_oversized_ones_are_refused() {
        let mut wire = vec![];
        write_frames(&mut wire, &[b"seal", b"ABCD", b""]).unwrap();
        let mut input = wire.as_slice();
        assert_eq!(read_request(&mut input).unwrap(), Some(vec![b"seal".to_vec(), b"ABCD".to_vec(), vec![]]));
        assert_eq!(read_request(&mut input).unwrap(), None);
        let huge = ((MAX_FRAME + 1) as u32).to_be_bytes();
        assert_eq!(read_frame(&mut huge.as_slice()).unwrap_err().kind(), std::io::ErrorKind::InvalidData);
        // A request cut short is an error, not the end of the input.
        let mut cut = vec![];
        write_frames(&mut cut, &[b"seal", b"ABCD"]).unwrap();
        assert!(read_request(&mut cut.as_slice()).is_err());
    }
}
