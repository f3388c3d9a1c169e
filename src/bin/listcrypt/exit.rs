//! Exit codes (sysexits.h). Only this file knows the numbers.

use listcrypt::ErrorKind;

pub const OK: u8 = 0;
pub const USAGE: u8 = 64;

/// The exit code an MTA or script sees for an error kind: 75 makes the MTA
/// retry later, the others bounce.
pub fn code(kind: ErrorKind) -> u8 {
    match kind {
        ErrorKind::Usage => USAGE,
        ErrorKind::Data => 65,
        ErrorKind::NoInput => 66,
        ErrorKind::NoUser => 67,
        ErrorKind::CantCreate => 73,
        ErrorKind::Io => 74,
        ErrorKind::Temporary => 75,
        ErrorKind::Permission => 77,
        ErrorKind::Config => 78,
        _ => 70,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_map_to_sysexits() {
        assert_eq!(code(ErrorKind::Data), 65);
        assert_eq!(code(ErrorKind::NoUser), 67);
        assert_eq!(code(ErrorKind::Temporary), 75);
        assert_eq!(code(ErrorKind::Config), 78);
        assert_eq!(code(ErrorKind::Software), 70);
    }
}
