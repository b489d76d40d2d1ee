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

impl WrappedMaster {
    /// The length of the master it wraps, known from the public record before any share is
    /// opened, so a destination that cannot take it is refused before any PIN.
    pub fn master_len(&self) -> usize {
        self.ct.len().saturating_sub(16)
    }
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
    let ct = aead_seal(dek.as_bytes(), &nonce, &master_aad(set_id), master)?;
    Ok(WrappedMaster { nonce, ct })
}

/// Decrypts the master; a failure means the DEK (the shares) and the record do not belong together.
pub fn unwrap_master(
    dek: &Dek,
    set_id: &[u8; 16],
    wrapped: &WrappedMaster,
) -> Result<Zeroizing<Vec<u8>>, WrapError> {
    aead_open(
        dek.as_bytes(),
        &wrapped.nonce,
        &master_aad(set_id),
        &wrapped.ct,
    )
}

/// The ChaCha20-Poly1305 encryption of the wrap, apart from its key and aad, so Wycheproof's vectors run through it.
pub(crate) fn aead_seal(
    key: &[u8; DEK_LEN],
    nonce: &[u8; NONCE_LEN],
    aad: &[u8],
    pt: &[u8],
) -> Result<Vec<u8>, WrapError> {
    let cipher = ChaCha20Poly1305::new(key.into());
    cipher
        .encrypt(nonce.into(), Payload { msg: pt, aad })
        .map_err(|_| WrapError::Wrap)
}

/// The ChaCha20-Poly1305 decryption of the unwrap, apart from its key and aad, so Wycheproof's vectors run through it.
pub(crate) fn aead_open(
    key: &[u8; DEK_LEN],
    nonce: &[u8; NONCE_LEN],
    aad: &[u8],
    ct: &[u8],
) -> Result<Zeroizing<Vec<u8>>, WrapError> {
    let cipher = ChaCha20Poly1305::new(key.into());
    cipher
        .decrypt(nonce.into(), Payload { msg: ct, aad })
        .map(Zeroizing::new)
        .map_err(|_| WrapError::Unwrap)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha20Rng;
    use wycheproof::aead::{TestName, TestSet};
    use wycheproof::TestResult;

    /// What one pass over Wycheproof's ChaCha20-Poly1305 file did; the counts add up to the file's size.
    #[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
    pub(crate) struct WycheproofCounts {
        /// Cases run through seal and open (key of 32 bytes, nonce of 12).
        pub(crate) checked: usize,
        /// Checked cases marked valid: sealed to exactly ct ‖ tag, opened to the plaintext.
        pub(crate) valid: usize,
        /// Checked cases marked invalid: refused by open, and not what seal produces.
        pub(crate) invalid: usize,
        /// Cases whose key or nonce has another size: quorum's `[u8; 32]` / `[u8; 12]` parameters cannot take them.
        pub(crate) refused_by_type: usize,
    }

    /// Runs every case of Wycheproof's ChaCha20-Poly1305 file through `seal` and `open`
    /// (key, nonce, aad, input), asserting each verdict and that no case was skipped.
    pub(crate) fn run_wycheproof_chacha20poly1305<E1, E2>(
        seal: impl Fn(&[u8; 32], &[u8; 12], &[u8], &[u8]) -> Result<Vec<u8>, E1>,
        open: impl Fn(&[u8; 32], &[u8; 12], &[u8], &[u8]) -> Result<Zeroizing<Vec<u8>>, E2>,
    ) -> WycheproofCounts {
        let set = TestSet::load(TestName::ChaCha20Poly1305).unwrap();
        let mut counts = WycheproofCounts::default();
        let mut expected_checked = 0;
        for group in &set.test_groups {
            if group.key_size == 8 * DEK_LEN && group.nonce_size == 8 * NONCE_LEN {
                expected_checked += group.tests.len();
            }
            for t in &group.tests {
                let id = t.tc_id;
                let sizes = (
                    <[u8; DEK_LEN]>::try_from(&t.key[..]),
                    <[u8; NONCE_LEN]>::try_from(&t.nonce[..]),
                );
                let (Ok(key), Ok(nonce)) = sizes else {
                    assert_eq!(
                        t.result,
                        TestResult::Invalid,
                        "tcId {id}: a valid case has a key or nonce size quorum cannot take"
                    );
                    counts.refused_by_type += 1;
                    continue;
                };
                counts.checked += 1;
                let mut ct_tag = t.ct.to_vec();
                ct_tag.extend_from_slice(&t.tag);
                let opened = open(&key, &nonce, &t.aad, &ct_tag);
                match t.result {
                    TestResult::Valid => {
                        let sealed = seal(&key, &nonce, &t.aad, &t.pt);
                        assert_eq!(sealed.ok(), Some(ct_tag), "tcId {id}: seal");
                        assert_eq!(
                            opened.ok().map(|pt| pt.to_vec()),
                            Some(t.pt.to_vec()),
                            "tcId {id}: open"
                        );
                        counts.valid += 1;
                    }
                    TestResult::Invalid => {
                        assert!(opened.is_err(), "tcId {id}: an invalid case opened");
                        let sealed = seal(&key, &nonce, &t.aad, &t.pt);
                        assert_ne!(sealed.ok(), Some(ct_tag), "tcId {id}: seal");
                        counts.invalid += 1;
                    }
                    TestResult::Acceptable => panic!(
                        "tcId {id}: an 'acceptable' case, which this file had none of; decide its verdict"
                    ),
                }
            }
        }
        assert!(counts.checked > 0 && counts.valid > 0 && counts.invalid > 0);
        assert_eq!(counts.checked, expected_checked, "{counts:?}");
        assert_eq!(counts.valid + counts.invalid, counts.checked);
        assert_eq!(
            counts.checked + counts.refused_by_type,
            set.number_of_tests,
            "{counts:?}"
        );
        counts
    }

    /// Every Wycheproof ChaCha20-Poly1305 case through the wrap's own seal and open.
    #[test]
    fn wycheproof_chacha20poly1305_through_the_wrap() {
        run_wycheproof_chacha20poly1305(aead_seal, aead_open);
    }

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
