//! What administrators do before the first post: lists, members and keys.
//! Each function opens the store only for its reads and writes and never
//! holds it while gpg or the transport works.

pub mod import;
pub mod intake;
pub mod keys;
pub mod list;
pub mod members;
pub mod schleuder;
