//! The acceptance path from raw bytes: mbox line, MIME structure, protected
//! headers, limits, and the policy decision, with gpg's answer replaced by a
//! recorded result chosen from the input. Nothing may panic or hang.
#![no_main]

use libfuzzer_sys::fuzz_target;
use listcrypt::member::{KeyState, Member, MemberKey, Role};
use listcrypt::mime::build::{crlf, protected_entity, Head};
use listcrypt::mime::parse::{self, Crypto};
use listcrypt::pipeline::acceptance::{facts_of, Arrival, Findings};
use listcrypt::policy::{decide, GoodSignature, Kind, Signature};
use listcrypt::settings::Settings;
use listcrypt::{Address, Fingerprint};

fuzz_target!(|data: &[u8]| {
    let _ = parse::check_is_mail(data);
    let raw = crlf(data);
    let _ = parse::failed_recipients(&raw);
    let Ok((facts, crypto)) = parse::read_mail(&raw) else { return };
    for address in &facts.from {
        let _ = address.looks_alike();
    }
    let list = Address::parse("crypto@example.org").unwrap();
    let content = match &crypto {
        Crypto::PgpMimeSigned { entity, .. } | Crypto::Plain(entity) => Some(entity.clone()),
        Crypto::PgpMimeEncrypted(inner) | Crypto::InlineEncrypted(inner) | Crypto::InlineSigned(inner) => {
            // As if gpg had decrypted it to these bytes.
            let _ = parse::read_entity(inner);
            Some(inner.clone())
        }
        Crypto::Wrapped => None,
    };
    let protected = content.as_deref().map(parse::protected_headers).unwrap_or_default();
    if let Some(entity) = &content {
        let head = Head::new(&list, &list, protected.subject.as_deref().unwrap_or(""));
        let _ = protected_entity(&head, entity);
    }
    let key = Fingerprint::parse(&"A".repeat(40)).unwrap();
    let mut member = Member::new(facts.from.first().cloned().unwrap_or_else(|| list.clone()), Role::Member);
    member.keys.push(MemberKey { fingerprint: key.clone(), state: KeyState::Verified { since: 0 }, added: 0 });
    let recorded = data.first().copied().unwrap_or(0);
    let signature = match recorded % 4 {
        0 => Signature::None,
        1 => Signature::Bad,
        2 => Signature::UnknownKey,
        _ => Signature::Good(GoodSignature {
            key,
            owner: facts.from.first().cloned(),
            user_id_matches: recorded & 0x10 != 0,
            created: 1_800_000_000,
            key_created: 1_700_000_000,
            key_expires: None,
            key_revoked: recorded & 0x20 != 0,
            key_expired: false,
            weak_hash: recorded & 0x08 != 0,
            weak_key: recorded & 0x04 != 0,
            replay: recorded & 0x40 != 0,
        }),
    };
    let settings = Settings::default();
    let sender = facts.from.first().is_some_and(|f| *f == member.address).then_some(&member);
    let kind = if recorded & 0x80 != 0 { Kind::Commands } else { Kind::Post };
    let arrival =
        Arrival { kind, list: &list, settings: &settings, member: sender, released: false, now: 1_800_000_100 };
    let framing = match &crypto {
        Crypto::PgpMimeEncrypted(c) | Crypto::InlineEncrypted(c) => Some(listcrypt::openpgp::message_framing(c)),
        _ => None,
    };
    let findings = Findings {
        mail: &facts,
        content: content.as_deref(),
        encrypted: matches!(crypto, Crypto::PgpMimeEncrypted(_) | Crypto::InlineEncrypted(_)),
        wrapped: matches!(crypto, Crypto::Wrapped),
        // The same framing check verify runs before gpg: not encrypted after all.
        undecryptable: framing == Some(listcrypt::openpgp::Framing::NotEncrypted),
        oversized: parse::headers_too_big(&raw),
        gpg_overload: match &crypto {
            Crypto::PgpMimeEncrypted(_) | Crypto::InlineEncrypted(_) => {
                framing == Some(listcrypt::openpgp::Framing::TooCostly)
            }
            Crypto::PgpMimeSigned { signature, .. } => listcrypt::openpgp::too_costly_signature(signature),
            _ => false,
        },
        size: raw.len() as u64,
    };
    // The same facts and the same decision as `verify`.
    let (facts, _) = facts_of(&arrival, &findings, signature);
    let _ = decide(&facts);
});
