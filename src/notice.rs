//! Every mail listcrypt writes itself: welcome, challenges, rejections and
//! admin reports. Notices are auto-generated, or auto-replied when they
//! answer a mail (rejections, `-request` answers; RFC 3834), carry this list's
//! X-Loop, and come from the `-bounces` envelope sender, or from the null
//! sender `<>` when they answer mail from someone not yet trusted.

use crate::mime::build::{self, Attachment, Head};
use crate::model::{Address, Fingerprint};
use crate::transport::Outgoing;

/// A notice before it is sealed (sent in clear or encrypted to the recipient).
#[derive(Debug, Clone)]
pub struct Notice {
    pub to: Address,
    pub subject: String,
    pub text: String,
    pub attachments: Vec<Attachment>,
    /// Send with the null envelope sender, so nothing can bounce back.
    pub null_sender: bool,
    /// Where replies go (the `-request` address for challenges).
    pub reply_to: Option<Address>,
    /// The list's key for the Autocrypt header, binary.
    pub autocrypt: Option<Vec<u8>>,
    /// It answers a mail (`Auto-Submitted: auto-replied`).
    pub reply: bool,
    /// From `LIST-owner`, not the list: a reply must reach the owners, never
    /// the members (mail to the owners is forwarded this way).
    pub from_owner: bool,
}

impl Notice {
    pub(crate) fn new(to: &Address, subject: String, text: String) -> Notice {
        Notice {
            to: to.clone(),
            subject,
            text,
            attachments: vec![],
            null_sender: false,
            reply_to: None,
            autocrypt: None,
            reply: false,
            from_owner: false,
        }
    }

    /// An answer to a member's mail (commands to the `-request` address).
    pub fn new_reply(to: &Address, subject: &str, text: String) -> Notice {
        Notice { reply: true, ..Notice::new(to, subject.to_string(), format!("{text}\r\n")) }
    }

    fn head(&self, list: &Address) -> Head {
        let from = if self.from_owner { list.owner() } else { list.clone() };
        let mut head = Head::new(&from, &self.to, &self.subject);
        head.reply_to = self.reply_to.clone();
        head.autocrypt = self.autocrypt.clone().map(|key| (list.clone(), key));
        head.extra = vec![
            ("Auto-Submitted", if self.reply { "auto-replied" } else { "auto-generated" }.into()),
            ("Precedence", "list".into()),
            ("X-Loop", list.to_string()),
        ];
        head
    }

    fn outgoing(&self, list: &Address, bytes: Vec<u8>) -> Outgoing {
        let envelope_from = (!self.null_sender).then(|| list.bounces());
        Outgoing { envelope_from, recipients: vec![self.to.clone()], bytes }
    }

    /// The MIME entity to encrypt.
    pub fn entity(&self) -> Vec<u8> {
        build::entity(&self.text, &self.attachments)
    }

    pub fn in_clear(&self, list: &Address) -> Outgoing {
        self.outgoing(list, build::plain_message(&self.head(list), &self.text, &self.attachments))
    }

    /// Sealed around `armored`, the encrypted [`Notice::entity`].
    pub fn encrypted(&self, list: &Address, armored: &[u8]) -> Outgoing {
        let mut head = self.head(list);
        head.subject = format!("Notice from {list}");
        self.outgoing(list, build::encrypted_message(&head, armored))
    }
}

/// The list's public key as an attachment.
pub fn list_key_attachment(list: &Address, armored: &[u8]) -> Attachment {
    Attachment { content_type: "application/pgp-keys", filename: format!("{list}.asc"), bytes: armored.to_vec() }
}

/// Cleartext welcome with the list key attached (the member has no verified key yet).
pub fn welcome(list: &Address, member: &Address, list_fpr: &Fingerprint, list_key: &[u8]) -> Notice {
    let text = format!(
        "Welcome to the encrypted mailing list {list}.\r\n\
         \r\n\
         Every post to this list is encrypted and signed. To take part:\r\n\
         \r\n\
         1. Import the list's public key, attached to this mail.\r\n\
         Its fingerprint is {list_fpr}.\r\n\
         Compare it with the one your list admin gave you.\r\n\
         \r\n\
         2. You will receive a second mail, encrypted to your own key, with a\r\n\
         confirmation token. Reply to it, signed with your key and encrypted\r\n\
         to the list's key, to confirm your key (or give the token to an admin).\r\n\
         \r\n\
         3. Post by writing to {list}, signed with your key and encrypted to the\r\n\
         list's key. Unsigned or unencrypted mail is refused.\r\n",
    );
    let mut notice = Notice::new(member, format!("Welcome to {list}"), text);
    notice.attachments.push(list_key_attachment(list, list_key));
    notice
}

/// A challenge; it is only ever sent encrypted to the key being checked.
pub fn challenge(list: &Address, member: &Address, key: &Fingerprint, token: &str) -> Notice {
    let text = format!(
        "This mail confirms that the key\r\n\
         \r\n\
         {key}\r\n\
         \r\n\
         belongs to {member}, a member of {list}.\r\n\
         Only the holder of that key can read this token:\r\n\
         \r\n\
         Token: {token}\r\n\
         \r\n\
         To confirm the key, reply to this mail (it goes to {request}),\r\n\
         signed with this key and encrypted to the list's key, quoting the\r\n\
         token line. Or give the token to a list admin, who runs\r\n\
         listcrypt keys verify {list} {member} {token}\r\n\
         \r\n\
         If you did not ask to join {list}, ignore this mail.\r\n",
        request = list.request()
    );
    let mut notice = Notice::new(member, format!("Confirm your key for {list}"), text);
    notice.reply_to = Some(list.request());
    notice
}

/// The one fixed answer to every refused post: it says what the list
/// expects and nothing about what was wrong or what the mail held, so it
/// cannot be used to probe the list.
pub fn rejection(list: &Address, to: &Address, list_fpr: &Fingerprint, list_key: &[u8]) -> Notice {
    let text = format!(
        "A message from your address to {list} was not distributed.\r\n\
         \r\n\
         This list only distributes mail that is\r\n\
         - encrypted to the list's key (attached; fingerprint {list_fpr}),\r\n\
         - signed with your own OpenPGP key, a key the list has verified, and\r\n\
         - sent From: the address that key is registered for, with a user ID\r\n\
         for that address.\r\n\
         \r\n\
         If you are a member, check that your key is verified (answer the\r\n\
         challenge mail) and that your mail program signs and encrypts.\r\n\
         If you are not a member, ask the list owner at {owner}.\r\n\
         \r\n\
         This notice does not repeat anything of the message it answers.\r\n",
        owner = list.owner(),
    );
    let mut notice = Notice::new(to, format!("Your message to {list} was not distributed"), text);
    notice.attachments.push(list_key_attachment(list, list_key));
    notice.null_sender = true;
    notice.reply = true;
    notice
}

/// The warning that a member's key stops working soon.
pub fn expiry_warning(list: &Address, member: &Address, key: &Fingerprint, until: u64) -> Notice {
    let text = format!(
        "Your key {key}, which {list} encrypts your posts to,\r\n\
         stops working on {date}.\r\n\
         \r\n\
         Extend it (gpg --quick-set-expire {key} 1y) and send the public key\r\n\
         with the command add-key to {request}, signed with it; or add a new key\r\n\
         the same way. Without a working key you will stop receiving posts.\r\n",
        date = crate::model::utc(until),
        request = list.request()
    );
    Notice::new(member, format!("Your key for {list} expires soon"), text)
}

/// A member missed a post: no usable key. Nothing of the post is in it.
pub fn missed_post(list: &Address, member: &Address) -> Notice {
    let text = format!(
        "A post to {list} could not be sent to you: the list has no working,\r\n\
         verified key of yours to encrypt it to (none yet, or it expired or was\r\n\
         revoked). Posts are never sent unencrypted.\r\n\
         \r\n\
         Send your current public key with the command add-key to {request},\r\n\
         signed with a key the list has verified, or ask the owner at {owner}.\r\n",
        request = list.request(),
        owner = list.owner()
    );
    Notice::new(member, format!("You missed a post on {list}"), text)
}

/// A short report to one admin (no message content, ever).
/// The list key with a new expiry, for every member to import.
pub fn list_key_refreshed(
    list: &Address,
    member: &Address,
    fpr: &Fingerprint,
    expires: Option<u64>,
    key: &[u8],
) -> Notice {
    let until = expires.map(crate::model::utc).unwrap_or_else(|| "no date: it does not expire".into());
    let text = format!(
        "The key of {list} now expires on {until}.\r\n\r\n\
         Its fingerprint has not changed: {fpr}\r\n\r\n\
         Import the attached key (or this mail's Autocrypt header) so that your\r\n\
         mail program keeps encrypting to the list after the old date."
    );
    let mut notice = Notice::new(member, format!("The key of {list} was extended"), text);
    notice.attachments.push(list_key_attachment(list, key));
    notice
}

/// Mail to `LIST-owner`, for one admin: a short note with the message
/// attached. Who wrote it is said inside the encryption only: the outer
/// headers (Subject, no Reply-To) name nobody. It comes from `LIST-owner`,
/// so replying reaches the owners, not the list.
pub fn owner_mail(list: &Address, admin: &Address, text: &str, message: &[u8]) -> Notice {
    let mut notice = Notice::new(admin, format!("Mail to {}", list.owner()), format!("{text}\r\n"));
    notice.from_owner = true;
    notice.attachments.push(Attachment {
        content_type: "message/rfc822",
        filename: "message.eml".into(),
        bytes: message.to_vec(),
    });
    notice
}

pub fn admin_report(list: &Address, admin: &Address, subject: &str, text: &str) -> Notice {
    Notice::new(admin, format!("[{list}] {subject}"), format!("{text}\r\n"))
}
