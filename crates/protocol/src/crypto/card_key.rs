//! A custodian card's public key as users and records see it: an X25519 public key,
//! validated once, with a short fingerprint to compare by eye.

use sha2::{Digest, Sha256};

use super::wei25519::{PointError, SubgroupPoint};

/// Domain-separation prefix of the fingerprint hash.
pub const FINGERPRINT_PREFIX: &[u8] = b"quorum/v1/card";

/// A card's public key, known to be a prime-order-subgroup point, so it is safe to seal to.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct CardKey(SubgroupPoint);

impl std::fmt::Debug for CardKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "CardKey({} {})",
            self.fingerprint(),
            hex::encode(self.to_x25519())
        )
    }
}

impl std::fmt::Display for CardKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.fingerprint())
    }
}

impl CardKey {
    /// Takes the 65-byte 04 ‖ X ‖ Y point a card returns (INITIALISE, GET STATUS).
    pub fn from_card_point(point: &[u8]) -> Result<Self, PointError> {
        SubgroupPoint::from_wei_point(point).map(Self)
    }

    /// Takes a 32-byte X25519 public key (records, bundle files, the command line).
    pub fn from_x25519(u_le: &[u8; 32]) -> Result<Self, PointError> {
        SubgroupPoint::from_u(u_le).map(Self)
    }

    /// The X25519 public key, little-endian: the form stored in records and used by HPKE.
    pub fn to_x25519(&self) -> [u8; 32] {
        self.0.u()
    }

    /// The validated point, for blinding and Wei25519 encoding.
    pub fn point(&self) -> &SubgroupPoint {
        &self.0
    }

    /// First 8 bytes of SHA-256("quorum/v1/card" ‖ key) as "xxxx-xxxx-xxxx-xxxx": short enough to read aloud.
    pub fn fingerprint(&self) -> String {
        let digest = Sha256::new()
            .chain_update(FINGERPRINT_PREFIX)
            .chain_update(self.to_x25519())
            .finalize();
        let h = hex::encode(&digest[..8]);
        format!("{}-{}-{}-{}", &h[0..4], &h[4..8], &h[8..12], &h[12..16])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use curve25519_dalek::constants::X25519_BASEPOINT;

    #[test]
    fn fingerprint_is_the_documented_hash() {
        let key = CardKey::from_x25519(&X25519_BASEPOINT.to_bytes()).unwrap();
        let mut input = b"quorum/v1/card".to_vec();
        input.extend_from_slice(&X25519_BASEPOINT.to_bytes());
        let h = hex::encode(&Sha256::digest(&input)[..8]);
        let fp = key.fingerprint();
        assert_eq!(fp.replace('-', ""), h);
        assert_eq!(fp.len(), 19);
        assert_eq!(fp.matches('-').count(), 3);
        assert!(fp
            .chars()
            .all(|c| c == '-' || c.is_ascii_hexdigit() && !c.is_ascii_uppercase()));
        assert_eq!(key.to_string(), fp);
    }

    #[test]
    fn both_encodings_give_the_same_key() {
        let key = CardKey::from_x25519(&X25519_BASEPOINT.to_bytes()).unwrap();
        let again = CardKey::from_card_point(&key.point().to_wei_point()).unwrap();
        assert_eq!(key, again);
        assert_eq!(CardKey::from_x25519(&[0u8; 32]), Err(PointError::LowOrder));
    }
}
