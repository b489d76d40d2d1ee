//! What ties a recovery to the set that was enrolled: the set digest (a hash of the
//! enrolled set description that people read aloud and compare), the key check value (a
//! short hash of the master secret, so everyone sees the same key come out), and the
//! description MAC (a key derived from the DEK authenticates each version of the set
//! description, so no one who never held the DEK can edit it). apdu-spec/crypto.md §10.

use hkdf::Hkdf;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use super::wrap::Dek;

/// Domain-separation prefix of the set digest.
pub const SET_DIGEST_PREFIX: &[u8] = b"quorum/v2/set-digest";
/// Domain-separation prefix of the key check value.
pub const KEY_CHECK_PREFIX: &[u8] = b"quorum/v2/key-check";
/// HKDF `info` of the description MAC key; the set id is the salt.
pub const MAC_KEY_INFO: &[u8] = b"quorum/v2/description-mac-key";
/// Length of the set digest (SHA-256).
pub const SET_DIGEST_LEN: usize = 32;
/// Bytes of the digest people compare: 16 bytes, 32 hex digits in eight groups.
pub const SET_DIGEST_SHOWN: usize = 16;
/// Length of the key check value stored and shown: 8 bytes, 16 hex digits.
pub const KEY_CHECK_LEN: usize = 8;
/// Length of the description MAC (HMAC-SHA256).
pub const DESCRIPTION_MAC_LEN: usize = 32;
/// Fewest hex digits `--expect` accepts: shorter prefixes name too many sets.
pub const MIN_DIGEST_PREFIX: usize = 8;

/// The digest of a set's enrolled description; stays the same through add-card, changes with reshare.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SetDigest(pub [u8; SET_DIGEST_LEN]);

impl SetDigest {
    /// SHA-256("quorum/v2/set-digest" ‖ description of version 1).
    pub fn of_description(description_v1: &[u8]) -> SetDigest {
        SetDigest(
            Sha256::new()
                .chain_update(SET_DIGEST_PREFIX)
                .chain_update(description_v1)
                .finalize()
                .into(),
        )
    }

    /// All 64 hex digits, for files and JSON.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    /// Whether the digest starts with `prefix` (hex digits only, as [`parse_digest_prefix`] gives).
    pub fn starts_with(&self, prefix: &str) -> bool {
        self.to_hex().starts_with(prefix)
    }
}

/// Shown as people compare it: the first 16 bytes in eight groups of four hex digits.
impl std::fmt::Display for SetDigest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&grouped(&self.0[..SET_DIGEST_SHOWN]))
    }
}

/// Why a digest typed by a person was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DigestPrefixError {
    /// A character other than a hex digit, a dash or a space.
    #[error("\"{0}\" is not a set digest: use the hex digits quorumctl printed (dashes and spaces may be kept)")]
    NotHex(String),
    /// Too few digits to name one set.
    #[error(
        "\"{given}\" has {digits} hex digits; give at least {MIN_DIGEST_PREFIX} of the set digest"
    )]
    TooShort {
        /// What was given.
        given: String,
        /// Its hex digits.
        digits: usize,
    },
    /// More digits than a digest has.
    #[error("\"{0}\" is longer than a set digest (64 hex digits)")]
    TooLong(String),
}

/// Reads a digest (or its prefix) as typed or read aloud: hex digits in any case, dashes and spaces ignored.
pub fn parse_digest_prefix(text: &str) -> Result<String, DigestPrefixError> {
    let mut digits = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '-' | ' ' => {}
            c if c.is_ascii_hexdigit() => digits.push(c.to_ascii_lowercase()),
            _ => return Err(DigestPrefixError::NotHex(text.to_owned())),
        }
    }
    if digits.len() < MIN_DIGEST_PREFIX {
        return Err(DigestPrefixError::TooShort {
            given: text.to_owned(),
            digits: digits.len(),
        });
    }
    if digits.len() > 2 * SET_DIGEST_LEN {
        return Err(DigestPrefixError::TooLong(text.to_owned()));
    }
    Ok(digits)
}

/// The key check value: the first 8 bytes of SHA-256("quorum/v2/key-check" ‖ master).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KeyCheck(pub [u8; KEY_CHECK_LEN]);

impl KeyCheck {
    /// The check value of a master secret; the same master gives the same value in every set.
    pub fn of_master(master: &[u8]) -> KeyCheck {
        let digest = Sha256::new()
            .chain_update(KEY_CHECK_PREFIX)
            .chain_update(master)
            .finalize();
        let mut out = [0u8; KEY_CHECK_LEN];
        out.copy_from_slice(&digest[..KEY_CHECK_LEN]);
        KeyCheck(out)
    }

    /// 16 hex digits, for files and JSON.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }
}

/// Shown in four groups of four hex digits.
impl std::fmt::Display for KeyCheck {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&grouped(&self.0))
    }
}

/// The key that authenticates set descriptions: HKDF-SHA256(salt = set id, ikm = DEK, info); wiped on drop.
pub struct DescriptionKey(Zeroizing<[u8; 32]>);

impl DescriptionKey {
    /// Derives the MAC key of set `set_id` from its DEK.
    pub fn derive(dek: &Dek, set_id: &[u8; 16]) -> DescriptionKey {
        let mut key = Zeroizing::new([0u8; 32]);
        Hkdf::<Sha256>::new(Some(set_id), dek.as_bytes())
            .expand(MAC_KEY_INFO, &mut key[..])
            .expect("32 bytes is a valid HKDF-SHA256 output length");
        DescriptionKey(key)
    }

    /// HMAC-SHA256 of one version's description bytes.
    pub fn mac(&self, description: &[u8]) -> [u8; DESCRIPTION_MAC_LEN] {
        let mut mac =
            <Hmac<Sha256> as Mac>::new_from_slice(&self.0[..]).expect("HMAC takes any key length");
        mac.update(description);
        mac.finalize().into_bytes().into()
    }

    /// Whether `tag` authenticates `description`; constant time.
    pub fn verify(&self, description: &[u8], tag: &[u8; DESCRIPTION_MAC_LEN]) -> bool {
        self.mac(description).ct_eq(tag).into()
    }
}

impl std::fmt::Debug for DescriptionKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DescriptionKey(<redacted>)")
    }
}

/// Lowercase hex in groups of four digits joined by dashes, as fingerprints are written.
fn grouped(bytes: &[u8]) -> String {
    grouped_hex(&hex::encode(bytes))
}

/// Hex digits in groups of four joined by dashes: how digests and check values are shown.
pub fn grouped_hex(hex: &str) -> String {
    hex.as_bytes()
        .chunks(4)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join("-")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digest_is_the_documented_hash_and_shows_eight_groups() {
        let d = SetDigest::of_description(b"description");
        let mut input = b"quorum/v2/set-digest".to_vec();
        input.extend_from_slice(b"description");
        assert_eq!(d.0.to_vec(), Sha256::digest(&input).to_vec());
        let shown = d.to_string();
        assert_eq!(shown.len(), 39);
        assert_eq!(shown.replace('-', ""), d.to_hex()[..32]);
        assert!(d.starts_with(&shown.replace('-', "")[..8]));
    }

    #[test]
    fn key_check_is_a_prefix_of_the_documented_hash() {
        let k = KeyCheck::of_master(b"master");
        let mut input = b"quorum/v2/key-check".to_vec();
        input.extend_from_slice(b"master");
        assert_eq!(k.0.to_vec(), Sha256::digest(&input)[..8].to_vec());
        assert_eq!(k.to_string().len(), 19);
        assert_ne!(k, KeyCheck::of_master(b"master2"));
    }

    #[test]
    fn digest_prefixes_are_read_as_people_type_them() {
        assert_eq!(parse_digest_prefix("3F2A-91c0").unwrap(), "3f2a91c0");
        assert_eq!(parse_digest_prefix("3f2a 91c0 7b").unwrap(), "3f2a91c07b");
        assert!(matches!(
            parse_digest_prefix("3f2a-91c"),
            Err(DigestPrefixError::TooShort { digits: 7, .. })
        ));
        assert!(matches!(
            parse_digest_prefix("3f2a-91cg"),
            Err(DigestPrefixError::NotHex(_))
        ));
        assert!(matches!(
            parse_digest_prefix(&"a".repeat(65)),
            Err(DigestPrefixError::TooLong(_))
        ));
    }

    #[test]
    fn mac_key_is_hkdf_of_the_dek_salted_with_the_set_id() {
        let dek = Dek::from_bytes(Zeroizing::new([7u8; 32]));
        let key = DescriptionKey::derive(&dek, &[1; 16]);
        let mut expected = [0u8; 32];
        Hkdf::<Sha256>::new(Some(&[1; 16]), &[7u8; 32])
            .expand(b"quorum/v2/description-mac-key", &mut expected)
            .unwrap();
        assert_eq!(*key.0, expected);
        let tag = key.mac(b"v1");
        assert!(key.verify(b"v1", &tag));
        assert!(!key.verify(b"v2", &tag));
        assert!(!DescriptionKey::derive(&dek, &[2; 16]).verify(b"v1", &tag));
    }
}
