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
//! The binary says it can run helpers ([`enable`]); without that (the
//! library used on its own) there is no helper and the caller seals
//! in-process.
//!
//! The protocol, on the helper's stdin and stdout, is frames of a 4-byte
//! big-endian length and its bytes. The helper says [`HELLO`] first. Then
//! each request gets one reply, a status (`ok`, `locked`, `error`) and its
//! payload (the message, or what went wrong):
//! - `view`, home, signer, recipients (fingerprints, one per line): seal in
//!   that keyring from now on, signing with `signer`, its keys listed once;
//! - `seal`, recipient, plaintext: signed and encrypted to the recipient
//!   (`locked` when the list key is);
//! - `encrypt`, recipient, plaintext: encrypted only, for a locked list key.

use super::Keyring;
use crate::error::{Error, ErrorKind, Result};
use crate::model::Fingerprint;
use rustix::event::{poll, PollFd, PollFlags, Timespec};
use std::io::{BufReader, BufWriter, Read, Write};
use std::os::fd::AsFd;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};

/// The subcommand that runs [`serve`].
pub const SUBCOMMAND: &str = "seal-helper";

/// What a helper says first. It is this very program (see [`SealHelper::start`]);
/// the version guards against anything else answering.
const HELLO: &[u8] = concat!("listcrypt-seal-helper/1 ", env!("CARGO_PKG_VERSION")).as_bytes();

/// How long a helper may take to say hello.
const HELLO_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

/// The largest frame either side reads: challenges and their sealed
/// messages are a few KB; anything larger is not this protocol.
const MAX_FRAME: usize = 1 << 20;

static ENABLED: AtomicBool = AtomicBool::new(false);

/// Set by the binary, which runs [`serve`] as its `seal-helper` subcommand.
pub fn enable() {
    ENABLED.store(true, Ordering::Relaxed);
}

/// Runs the helper on `input` and `output` until `input` ends.
pub fn serve(input: impl Read, output: impl Write) -> Result<()> {
    let mut input = BufReader::new(input);
    let mut output = BufWriter::new(output);
    write_frames(&mut output, &[HELLO]).and_then(|()| output.flush()).map_err(broken)?;
    let mut request = read_request(&mut input).map_err(broken)?;
    while let Some(frames) = request {
        request = match frames[0].as_slice() {
            b"view" => serve_view(&frames, &mut input, &mut output)?,
            _ => {
                reply(&mut output, Err(Error::software("the seal helper was asked to seal before it had a keyring")))?;
                read_request(&mut input).map_err(broken)?
            }
        };
    }
    Ok(())
}

fn broken(e: std::io::Error) -> Error {
    Error::io("the seal helper's pipe", e)
}

/// Seals in the keyring a `view` request names until the next `view`
/// request (returned) or the end of the input (`None`).
fn serve_view(view: &[Vec<u8>], input: &mut impl Read, output: &mut impl Write) -> Result<Option<Vec<Vec<u8>>>> {
    let keyring = Keyring::new(Path::new(std::ffi::OsStr::from_bytes(&view[1])));
    let opened = fingerprint(&view[2]).and_then(|signer| {
        // A relative or empty home would be gpg's default one, not a view.
        if !keyring.home().is_absolute() {
            return Err(Error::software("the seal helper was given a home that is not an absolute path"));
        }
        let recipients: Vec<Fingerprint> =
            view[3].split(|b| *b == b'\n').filter(|f| !f.is_empty()).map(fingerprint).collect::<Result<_>>()?;
        // The signer too: the sealer looks it up. A key not listed is looked up when sealed to.
        let _ = keyring.preload(&[recipients, vec![signer.clone()]].concat());
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
        let result = match (frames[0].as_slice(), &mut sealer) {
            (b"view", _) => return Ok(Some(frames)),
            (b"seal", Some(sealer)) => fingerprint(&frames[1]).and_then(|to| sealer.seal(&to, &frames[2])),
            (b"encrypt", Some(_)) => {
                fingerprint(&frames[1]).and_then(|to| keyring.encrypt(std::slice::from_ref(&to), &frames[2], None))
            }
            (b"seal" | b"encrypt", None) => Err(Error::temporary("the seal helper could not open its keyring")),
            _ => Err(Error::software("the seal helper got a request it does not know")),
        };
        reply(output, result)?;
    }
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
    written.and_then(|()| output.flush()).map_err(broken)
}

/// A running helper, as its caller sees it: one per sealing thread. Any
/// failure of the pipe or the protocol ends it: a request is never paired
/// with another's reply.
pub struct SealHelper {
    child: Child,
    /// Both ends go together, when it fails or is dropped.
    pipe: Option<(ChildStdin, BufReader<ChildStdout>)>,
    /// The keyring it seals in, once asked.
    view: Option<PathBuf>,
}

impl SealHelper {
    /// A new helper, or `None` when the binary runs none or it does not
    /// start. Start helpers while no other thread runs gpg: gpgme's pipe
    /// ends for gpg are inheritable until gpg has started, and a helper
    /// that inherits one keeps that gpg run from ever ending.
    pub fn start() -> Option<SealHelper> {
        if !ENABLED.load(Ordering::Relaxed) {
            return None;
        }
        // This very program, even if an upgrade replaced the file since it started.
        let mut child = Command::new("/proc/self/exe")
            .arg(SUBCOMMAND)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            // Its errors come back as replies. A background process group
            // writing to a terminal could be stopped (`stty tostop`).
            .stderr(Stdio::null())
            // Its own group: gpg's time limit in one process stops the gpg runs
            // of that process's group (`watchdog`), not those of its siblings.
            .process_group(0)
            .spawn()
            .ok()?;
        let to = child.stdin.take();
        let from = child.stdout.take().map(BufReader::new);
        let mut helper = SealHelper { child, pipe: to.zip(from), view: None };
        let said_hello = helper.pipe.as_mut().is_some_and(|(_, from)| {
            readable_within(from.get_ref(), HELLO_WAIT) && matches!(read_frame(from), Ok(Some(hello)) if hello == HELLO)
        });
        if !said_hello {
            let _ = helper.child.kill();
            return None;
        }
        Some(helper)
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

    /// `plaintext` encrypted to `recipient`, armored, not signed.
    pub fn encrypt(&mut self, recipient: &Fingerprint, plaintext: &[u8]) -> Result<Vec<u8>> {
        self.ask(&[b"encrypt", recipient.as_str().as_bytes(), plaintext])
    }

    fn ask(&mut self, request: &[&[u8]]) -> Result<Vec<u8>> {
        let (to, from) = self.pipe.as_mut().ok_or_else(|| Error::temporary("the seal helper has stopped"))?;
        let answer = (|| {
            // One write: a request that cannot be framed sends nothing.
            let mut frames = vec![];
            write_frames(&mut frames, request)?;
            to.write_all(&frames)?;
            to.flush()?;
            Ok::<_, std::io::Error>((read_frame(from)?, read_frame(from)?))
        })();
        let reply = match answer {
            Ok((Some(status), Some(payload))) => match status.as_slice() {
                b"ok" => Some(Ok(payload)),
                b"locked" => Some(Err(Error::new(ErrorKind::Permission, String::from_utf8_lossy(&payload)))),
                b"error" => Some(Err(Error::temporary(String::from_utf8_lossy(&payload).into_owned()))),
                _ => None,
            },
            _ => None,
        };
        reply.unwrap_or_else(|| {
            // Out of step, or gone: it is asked nothing more, and its end waits for nothing.
            self.pipe = None;
            let _ = self.child.kill();
            Err(Error::temporary("the seal helper stopped answering"))
        })
    }
}

impl Drop for SealHelper {
    fn drop(&mut self) {
        // The end of its input ends it; with its output closed too, a reply
        // it is still writing fails instead of waiting for a reader.
        self.pipe = None;
        let _ = self.child.wait();
    }
}

/// Whether `fd` has something to read (or its end) within `wait`.
fn readable_within(fd: &impl AsFd, wait: std::time::Duration) -> bool {
    let timeout = Timespec { tv_sec: wait.as_secs() as i64, tv_nsec: 0 };
    let mut fds = [PollFd::new(fd, PollFlags::IN)];
    matches!(poll(&mut fds, Some(&timeout)), Ok(n) if n > 0)
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
        b"seal" | b"encrypt" => 2,
        // Its frames, if any, cannot be told from the next request's: out of step.
        _ => return Err(std::io::Error::new(std::io::ErrorKind::InvalidData, "a request of unknown kind")),
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
    fn frames_come_back_as_written_and_oversized_or_unknown_ones_are_refused() {
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
        // A request of a kind it does not know is out of step, not skipped.
        let mut unknown = vec![];
        write_frames(&mut unknown, &[b"sign", b"ABCD"]).unwrap();
        assert!(read_request(&mut unknown.as_slice()).is_err());
    }
}
