//! The library's error type. Each error carries a kind, which the binary maps
//! to a sysexits(3) exit code, a one-line message and an optional hint that
//! says what to do next. Messages never hold message content or secrets: MTAs
//! mail a command's stderr back to the sender.

use std::fmt;

/// What kind of failure happened; decides the exit code and whether the MTA retries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// Bad command-line arguments.
    Usage,
    /// Input that is not acceptable: a malformed mail, a refused key, a bad setting value.
    Data,
    /// An input file that cannot be read.
    NoInput,
    /// No such list, member or entry.
    NoUser,
    /// A bug or an unexpected state.
    Software,
    /// Cannot create a file or folder.
    CantCreate,
    /// Reading or writing failed.
    Io,
    /// Try again later: the store is busy, gpg is unavailable, the disk is full.
    Temporary,
    /// Permission denied, or the list key is locked.
    Permission,
    /// A broken list home or configuration.
    Config,
}

/// A listcrypt error: a kind, a message and maybe a hint.
#[derive(Debug)]
pub struct Error {
    kind: ErrorKind,
    message: String,
    hint: Option<String>,
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Error { kind, message: message.into(), hint: None }
    }

    /// Adds a "what to do next" line.
    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    /// The same error, as a temporary one: for faults of the host (not of
    /// the input) where the MTA must keep the mail and retry.
    pub fn into_temporary(self) -> Self {
        Error { kind: ErrorKind::Temporary, ..self }
    }

    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    pub fn message(&self) -> &str {
        &self.message
    }

    pub fn hint_text(&self) -> Option<&str> {
        self.hint.as_deref()
    }

    pub fn data(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Data, message)
    }

    pub fn no_user(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::NoUser, message)
    }

    pub fn config(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Config, message)
    }

    pub fn temporary(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Temporary, message)
    }

    pub fn software(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Software, message)
    }

    /// Maps an I/O error on `what` to the kind an MTA should see: a full disk
    /// or quota is temporary, a missing permission is a permission error.
    pub fn io(what: impl fmt::Display, err: std::io::Error) -> Self {
        use std::io::ErrorKind as K;
        let kind = match err.kind() {
            K::PermissionDenied => ErrorKind::Permission,
            K::StorageFull | K::QuotaExceeded | K::WouldBlock | K::Interrupted => ErrorKind::Temporary,
            _ => ErrorKind::Io,
        };
        Self::new(kind, format!("{what}: {err}"))
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}
