//! The OpenPGP packet splitter: any bytes, never a panic; every copy it makes
//! holds one session key packet (its own key ID, or the wildcard when
//! recipients are hidden) and the data packet.
#![no_main]

use libfuzzer_sys::fuzz_target;
use listcrypt::openpgp;

fuzz_target!(|data: &[u8]| {
    let _ = openpgp::next_packet(data);
    if let Ok(split) = openpgp::split(data) {
        for (_, session) in &split.sessions {
            let copy = openpgp::single_recipient(session, split.data, openpgp::KeyId::Real);
            assert_eq!(&copy[..session.bytes.len()], session.bytes);
            assert!(copy.ends_with(split.data));
            let hidden = openpgp::single_recipient(session, split.data, openpgp::KeyId::Hidden);
            let first = openpgp::next_packet(&hidden).expect("a copy starts with a packet");
            assert_eq!(&hidden[first.header_len + 1..first.header_len + 9], &[0u8; 8]);
            assert!(hidden.ends_with(split.data));
            let _ = openpgp::armor(&copy);
        }
    }
});
