//! The list key published in a Web Key Directory, where Thunderbird, GpgOL,
//! K-9 and gpg (`--locate-keys`) look a key up by its address
//! (draft-koch-openpgp-webkey-service): the files a web server serves, in
//! both layouts.

use crate::error::{Error, Result};
use crate::model::Address;
use sha1::{Digest, Sha1};
use std::path::{Path, PathBuf};

/// z-base-32 (RFC 6189 §5.1.6), as WKD uses it.
static ZBASE32: std::sync::LazyLock<data_encoding::Encoding> = std::sync::LazyLock::new(|| {
    let mut spec = data_encoding::Specification::new();
    spec.symbols.push_str("ybndrfg8ejkmcpqxot1uwisza345h769");
    spec.encoding().expect("z-base-32 is a valid specification")
});

/// The WKD name of an address's local part: z-base-32 of the SHA-1 of it, lower-cased.
pub fn hashed_local_part(address: &Address) -> String {
    ZBASE32.encode(&Sha1::digest(address.local_part().to_ascii_lowercase().as_bytes()))
}

/// Writes the key (binary, `key`) for `address` under `dir` in the direct
/// layout (`https://DOMAIN/.well-known/openpgpkey/hu/HASH`) and the advanced
/// one (`https://openpgpkey.DOMAIN/.well-known/openpgpkey/DOMAIN/hu/HASH`),
/// with each layout's `policy` file. Returns the files written.
pub fn write(dir: &Path, address: &Address, key: &[u8]) -> Result<Vec<PathBuf>> {
    let base = dir.join(".well-known").join("openpgpkey");
    let hash = hashed_local_part(address);
    let mut written = vec![];
    for layout in [base.clone(), base.join(address.domain())] {
        let hu = layout.join("hu");
        std::fs::create_dir_all(&hu).map_err(|e| Error::io(hu.display(), e))?;
        let key_file = hu.join(&hash);
        std::fs::write(&key_file, key).map_err(|e| Error::io(key_file.display(), e))?;
        written.push(key_file);
        // A domain's own policy (its submission address, say) is kept.
        let policy = layout.join("policy");
        if !policy.exists() {
            std::fs::write(&policy, b"").map_err(|e| Error::io(policy.display(), e))?;
            written.push(policy);
        }
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_parts_hash_as_the_draft_says() {
        // The example of draft-koch-openpgp-webkey-service §3.1.
        let joe = Address::parse("Joe.Doe@Example.ORG").unwrap();
        assert_eq!(hashed_local_part(&joe), "iy9q119eutrkn8s1mk4r39qejnbu3n5q");
    }
}
