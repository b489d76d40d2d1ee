//! The master secret encrypted under a one-time data-encryption key (DEK), so the
//! shares stay 33 bytes whatever the master's size.

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::ChaCha20Poly1305;
use rand::{CryptoRng, RngCore};
use thiserror::Error;
use zeroize::Zeroizing;

/// Prefix of the wrap's associated data; the set id follows, binding the wrapped master to its set.
pub const MASTER_AAD_PREFIX: &[u8; 16] = b"quorum/v1/master";
/// Length of the DEK (a ChaCha20-Poly1305 key).
pub const DEK_LEN: usize = 32;
/// Length of the wrap nonce.
pub const NONCE_LEN: usize = 12;

/// Why wrapping or unwrapping failed; no secret in it.
#[derive(Debug, Error, Clone, Copy, PartialEq, Eq)]
pub enum WrapError {
    /// The tag did not verify.
    #[error("the wrapped master does not decrypt: the DEK is wrong (shares of another set?) or the record was altered")]
    Unwrap,
    /// The AEAD refused to encrypt (input too long).
    #[error("the master secret could not be encrypted (too long for ChaCha20-Poly1305)")]
    Wrap,
}

/// The data-encryption key; wiped on drop, never printed.
pub struct Dek(Zeroizing<[u8; DEK_LEN]>);

impl std::fmt::Debug for Dek {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Dek(<redacted>)")
    }
}

impl Dek {
    /// A fresh random DEK: one per enrollment, which is why a random nonce can never repeat under it.
    pub fn random<R: RngCore + CryptoRng>(rng: &mut R) -> Self {
        let mut k = Zeroizing::new([0u8; DEK_LEN]);
        rng.fill_bytes(&mut k[..]);
        Self(k)
    }

    /// Takes over recovered (or test-vector) key bytes.
    pub fn from_bytes(bytes: Zeroizing<[u8; DEK_LEN]>) -> Self {
        Self(bytes)
    }

    /// The key bytes, for splitting.
    pub fn as_bytes(&self) -> &[u8; DEK_LEN] {
        &self.0
    }
}

/// The encrypted master as stored in every public record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WrappedMaster {
    /// ChaCha20-Poly1305 nonce.
    pub nonce: [u8; NONCE_LEN],
    /// Ciphertext and tag (master length + 16).
    pub ct: Vec<u8>,
}

/// Associated data "quorum/v1/master" ‖ set_id, so a wrapped master cannot be moved to another set.
pub fn master_aad(set_id: &[u8; 16]) -> [u8; 32] {
    let mut aad = [0u8; 32];
    aad[..16].copy_from_slice(MASTER_AAD_PREFIX);
    aad[16..].copy_from_slice(set_id);
    aad
}

/// Encrypts the master under the DEK with an explicit nonce (random in enrollment, fixed in vectors).
pub fn wrap_master(
    dek: &Dek,
    set_id: &[u8; 16],
    nonce: [u8; NONCE_LEN],
    master: &[u8],
) -> Result<WrappedMaster, WrapError> {
    let cipher = ChaCha20Poly1305::new(dek.as_bytes().into());
    let ct = cipher
        .encrypt(
            (&nonce).into(),
            Payload {
                msg: master,
                aad: &master_aad(set_id),
            },
        )
        .map_err(|_| WrapError::Wrap)?;
    Ok(WrappedMaster { nonce, ct })
}

/// Decrypts the master; a failure means the DEK (the shares) and the record do not belong together.
pub fn unwrap_master(
    dek: &Dek,
    set_id: &[u8; 16],
    wrapped: &WrappedMaster,
) -> Result<Zeroizing<Vec<u8>>, WrapError> {
    let cipher = ChaCha20Poly1305::new(dek.as_bytes().into());
    cipher
        .decrypt(
            (&wrapped.nonce).into(),
            Payload {
                msg: &wrapped.ct,
                aad: &master_aad(set_id),
            },
        )
        .map(Zeroizing::new)
        .map_err(|_| WrapError::Unwrap)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha20Rng;

    #[test]
    fn wrap_round_trip_and_binding() {
        let mut rng = ChaCha20Rng::seed_from_u64(21);
        let dek = Dek::random(&mut rng);
        let set_id = [7u8; 16];
        let w = wrap_master(&dek, &set_id, [1u8; 12], b"the master key").unwrap();
        assert_eq!(w.ct.len(), 14 + 16);
        assert_eq!(
            &unwrap_master(&dek, &set_id, &w).unwrap()[..],
            b"the master key"
        );
        assert_eq!(unwrap_master(&dek, &[8u8; 16], &w), Err(WrapError::Unwrap));
        assert_eq!(
            unwrap_master(&Dek::random(&mut rng), &set_id, &w),
            Err(WrapError::Unwrap)
        );
        let mut bad = w.clone();
        bad.nonce[0] ^= 1;
        assert_eq!(unwrap_master(&dek, &set_id, &bad), Err(WrapError::Unwrap));
    }

    #[test]
    fn aad_is_prefix_then_set_id() {
        let aad = master_aad(&[0xab; 16]);
        assert_eq!(&aad[..16], b"quorum/v1/master");
        assert_eq!(aad[16..], [0xab; 16]);
    }

    #[test]
    fn dek_debug_is_redacted() {
        let dek = Dek::from_bytes(Zeroizing::new([0x42; 32]));
        let s = format!("{dek:?}");
        assert!(!s.contains("42") && s.contains("redacted"));
    }
}
