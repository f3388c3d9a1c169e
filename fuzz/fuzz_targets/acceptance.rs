//! The acceptance path from raw bytes: mbox line, MIME structure, protected
//! headers, limits, and the policy decision, with gpg's answer replaced by a
//! recorded result chosen from the input. Nothing may panic or hang.
#![no_main]

use libfuzzer_sys::fuzz_target;
use listcrypt::member::{KeyState, Member, MemberKey, Role};
use listcrypt::mime::build::{crlf, protected_entity, Head};
use listcrypt::mime::parse::{self, Crypto};
use listcrypt::policy::{decide, Facts, GoodSignature, Signature};
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
    let too_complex = content.as_deref().is_some_and(parse::too_complex);
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
            replay: recorded & 0x40 != 0,
        }),
    };
    let settings = Settings::default();
    let _ = decide(&Facts {
        now: 1_800_000_100,
        list: &list,
        settings: &settings,
        from: &facts.from,
        from_invalid: facts.from_invalid,
        member: Some(&member),
        looped: facts.x_loop.iter().any(|l| l == list.as_str()),
        bounce: facts.null_sender || facts.report,
        auto_reply: facts.auto_submitted || facts.bulk,
        size: raw.len() as u64,
        encrypted: matches!(crypto, Crypto::PgpMimeEncrypted(_) | Crypto::InlineEncrypted(_)),
        wrapped: matches!(crypto, Crypto::Wrapped),
        undecryptable: false,
        inner_from_differs: !protected.from.is_empty() && protected.from != facts.from,
        not_for_this_list: protected.recipients.as_ref().is_some_and(|r| !r.contains(&list)),
        too_complex,
        signature,
        released: false,
    });
});
