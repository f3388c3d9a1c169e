//! listcrypt: OpenPGP-encrypted mailing lists for any Unix mail server.
//!
//! The pipeline, one command per stage, chained from MTA pipe aliases:
//!
//! 1. `inject` stores the incoming mail encrypted to the list key (no secret key needed);
//! 2. `verify` decrypts it and checks that a verified key of the `From:` member signed it all;
//! 3. `distribute` signs the post once with the list key and encrypts it to each subscriber;
//! 4. `flush` (cron) retries whatever could not finish.
//!
//! Before the first post, [`admin`] creates lists and registers members'
//! keys, which count only once their holder answered an encrypted challenge.
//! GnuPG does every cryptographic operation ([`gpg`]); passphrases live only in
//! gpg-agent. [`store`] keeps the state in sled; nothing cleartext rests on disk.

#![forbid(unsafe_code)]

pub mod admin;
pub mod doctor;
pub mod entry;
pub mod error;
pub mod gpg;
pub mod home;
pub mod journal;
pub mod list;
pub mod log;
pub mod member;
pub mod mime;
pub mod model;
pub mod mta;
pub mod notice;
pub mod openpgp;
pub mod parallel;
pub mod pipeline;
pub mod policy;
pub mod post;
pub mod proc;
pub mod settings;
pub mod store;
pub mod transport;
pub mod verp;
pub mod wkd;

pub use error::{Error, ErrorKind, Result};
pub use home::Home;
pub use model::{Address, Fingerprint};
