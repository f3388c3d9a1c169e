//! MIME in and out (the only users of mail-parser and mail-builder).

pub mod anonymize;
pub mod build;
pub mod parse;
pub mod text;
