//! Every mail listcrypt writes itself: welcome, challenges, reports.
//! Notices are auto-generated (RFC 3834) and come from the list with the
//! `-bounces` envelope sender, so replies and bounces never reach a person.

use crate::mime::build::{self, Attachment, Head};
use crate::model::{Address, Fingerprint};
use crate::transport::Outgoing;

fn head(list: &Address, to: &Address, subject: &str) -> Head {
    Head {
        from: list.clone(),
        from_name: None,
        to: vec![to.clone()],
        subject: subject.to_string(),
        extra: vec![
            ("Auto-Submitted", "auto-generated".into()),
            ("Precedence", "list".into()),
            ("X-Loop", list.to_string()),
        ],
    }
}

fn outgoing(list: &Address, to: &Address, bytes: Vec<u8>) -> Outgoing {
    Outgoing { envelope_from: Some(list.bounces()), recipients: vec![to.clone()], bytes }
}

/// The list's public key as an attachment.
pub fn list_key_attachment(list: &Address, armored: &[u8]) -> Attachment {
    Attachment { content_type: "application/pgp-keys", filename: format!("{list}.asc"), bytes: armored.to_vec() }
}

/// Cleartext welcome with the list key attached (the member has no verified key yet).
pub fn welcome(list: &Address, member: &Address, list_fpr: &Fingerprint, list_key: &[u8]) -> Outgoing {
    let text = format!(
        "Welcome to the encrypted mailing list {list}.\r\n\
         \r\n\
         Every post to this list is encrypted and signed. To take part:\r\n\
         \r\n\
         1. Import the list's public key, attached to this mail.\r\n\
         Its fingerprint is {fpr}.\r\n\
         Compare it with the one your list admin gave you.\r\n\
         \r\n\
         2. You will receive a second mail, encrypted to your own key, with a\r\n\
         confirmation token. Send the token to a list admin (or, once mail\r\n\
         commands are enabled, to {request}) to confirm your key.\r\n\
         \r\n\
         3. Post by writing to {list}, signed with your key and encrypted to the\r\n\
         list's key. Unsigned or unencrypted mail is refused.\r\n",
        fpr = list_fpr,
        request = list.request(),
    );
    let attachment = list_key_attachment(list, list_key);
    let bytes = build::plain_message(&head(list, member, &format!("Welcome to {list}")), &text, &[attachment]);
    outgoing(list, member, bytes)
}

/// The cleartext of a challenge; it is sent only encrypted to the key being checked.
pub fn challenge_text(list: &Address, member: &Address, key: &Fingerprint, token: &str) -> String {
    format!(
        "This mail confirms that the key\r\n\
         \r\n\
         {key}\r\n\
         \r\n\
         belongs to {member}, a member of {list}.\r\n\
         Only the holder of that key can read this token:\r\n\
         \r\n\
         Token: {token}\r\n\
         \r\n\
         Give it to a list admin, who runs\r\n\
         listcrypt keys verify {list} {member} {token}\r\n\
         \r\n\
         If you did not ask to join {list}, ignore this mail.\r\n"
    )
}

/// The encrypted challenge mail around `armored` ciphertext.
pub fn challenge(list: &Address, member: &Address, armored: &[u8]) -> Outgoing {
    let bytes = build::encrypted_message(&head(list, member, &format!("Confirm your key for {list}")), armored);
    outgoing(list, member, bytes)
}

/// A short report to one admin.
pub fn admin_report(list: &Address, admin: &Address, subject: &str, text: &str) -> Outgoing {
    let bytes = build::plain_message(&head(list, admin, subject), text, &[]);
    outgoing(list, admin, bytes)
}
