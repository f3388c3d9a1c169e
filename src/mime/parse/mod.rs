//! Reading incoming mail: the header facts the acceptance rules need
//! ([`facts`]), the cryptographic structure of the body ([`crypto`]), bounds
//! and content of entities ([`entity`]) and delivery reports ([`dsn`]).

mod crypto;
mod dsn;
mod entity;
mod facts;

pub use crate::mime::text::split_header_section;
pub use crypto::{read_entity, Crypto};
pub use dsn::{delivered_to, failed_recipients};
pub use entity::{
    attached_key, bare_line_breaks_in_headers, first_text, headers_too_big, too_complex, without_key_parts,
    MAX_HEADER_BYTES, MAX_HEADER_FIELDS,
};
pub use facts::{check_is_mail, protected_headers, strip_mbox_line, MailFacts, Protected};

use crate::error::{Error, Result};
use mail_parser::MessageParser;

/// Parses a whole message (CRLF line ends): header facts and body structure.
pub fn read_mail(raw: &[u8]) -> Result<(MailFacts, Crypto)> {
    let (body, mbox_null) = strip_mbox_line(raw);
    if headers_too_big(body) {
        return Ok((MailFacts { oversized_headers: true, ..MailFacts::default() }, Crypto::Wrapped));
    }
    let message = MessageParser::default().parse(body).ok_or_else(|| Error::data("the message cannot be parsed"))?;
    let mut facts = facts::header_facts(&message);
    facts.null_sender |= mbox_null;
    let root_entity = crypto::root_entity(message.raw_message());
    Ok((facts, crypto::classify(&message, &root_entity)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mime::text::crlf;

    #[test]
    fn crypto_below_the_root_is_wrapped() {
        let raw = crlf(b"From: a@example.org\nContent-Type: multipart/mixed; boundary=x\n\n--x\nContent-Type: text/plain\n\nunsigned\n--x\nContent-Type: multipart/signed; protocol=\"application/pgp-signature\"; boundary=y\n\n--y\nContent-Type: text/plain\n\nsigned\n--y\nContent-Type: application/pgp-signature\n\nsig\n--y--\n--x--\n");
        assert_eq!(read_mail(&raw).unwrap().1, Crypto::Wrapped);
    }
}
