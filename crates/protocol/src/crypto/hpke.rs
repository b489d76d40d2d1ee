//! RFC 9180 HPKE, base mode, single shot, one suite: DHKEM(X25519, HKDF-SHA256) 0x0020,
//! HKDF-SHA256 0x0001, ChaCha20-Poly1305 0x0003.
//!
//! Assembled from x25519-dalek, hkdf/sha2 and chacha20poly1305. The recipient's DH step
//! is pluggable ([`open_with_dh`]) because the recipient's private key lives on a card.

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::ChaCha20Poly1305;
use hkdf::Hkdf;
use rand::{CryptoRng, RngCore};
use sha2::Sha256;
use thiserror::Error;
use x25519_dalek::{PublicKey, StaticSecret};
use zeroize::{Zeroize, Zeroizing};

/// KEM identifier of DHKEM(X25519, HKDF-SHA256).
pub const KEM_ID: u16 = 0x0020;
/// KDF identifier of HKDF-SHA256.
pub const KDF_ID: u16 = 0x0001;
/// AEAD identifier of ChaCha20-Poly1305.
pub const AEAD_ID: u16 = 0x0003;
/// Length of `enc`, the serialized ephemeral public key.
pub const ENC_LEN: usize = 32;
/// Length of the AEAD tag that every ciphertext carries.
pub const TAG_LEN: usize = 16;

const MODE_BASE: u8 = 0x00;
const KEM_SUITE_ID: [u8; 5] = [b'K', b'E', b'M', 0x00, 0x20];
const HPKE_SUITE_ID: [u8; 10] = [b'H', b'P', b'K', b'E', 0x00, 0x20, 0x00, 0x01, 0x00, 0x03];
const VERSION_LABEL: &[u8] = b"HPKE-v1";

/// Why sealing or opening failed; none of them carries secret material.
#[derive(Debug, Error, Clone, Copy, PartialEq, Eq)]
pub enum HpkeError {
    /// X25519 gave the all-zero value: the peer key is a low-order point (RFC 9180 §7.1.4).
    #[error(
        "the X25519 result is all zeros: the public key is a low-order point and must not be used"
    )]
    ZeroSharedSecret,
    /// Tag check failed.
    #[error(
        "HPKE decryption failed: the ciphertext, its info/aad, or the recipient key do not match"
    )]
    OpenFailed,
    /// The AEAD refused to encrypt (plaintext too long for ChaCha20-Poly1305).
    #[error("HPKE encryption failed: the plaintext is too long")]
    SealFailed,
}

/// Failure of [`open_with_dh`]: either the caller's DH step or HPKE itself, kept apart so a card error is not mistaken for tampering.
#[derive(Debug, Error)]
pub enum OpenError<E> {
    /// The pluggable DH step failed (for example, the card refused).
    #[error("the Diffie-Hellman step failed: {0}")]
    Dh(#[source] E),
    /// HPKE itself failed.
    #[error(transparent)]
    Hpke(#[from] HpkeError),
}

/// The output of a single-shot seal: what the recipient needs besides its key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sealed {
    /// Serialized ephemeral public key (X25519 u, little-endian).
    pub enc: [u8; ENC_LEN],
    /// AEAD ciphertext, plaintext length + 16.
    pub ct: Vec<u8>,
}

/// The KEM shared secret; kept in a wiping buffer and never printed.
pub struct SharedSecret(Zeroizing<[u8; 32]>);

impl SharedSecret {
    /// The raw bytes, for test vectors only: anything else should go through [`Context`].
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl std::fmt::Debug for SharedSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SharedSecret(<redacted>)")
    }
}

/// The base-mode key schedule's output (key and base nonce); wiped on drop, never printed.
pub struct Context {
    key: Zeroizing<[u8; 32]>,
    base_nonce: Zeroizing<[u8; 12]>,
}

impl std::fmt::Debug for Context {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Context(<redacted>)")
    }
}

impl Context {
    /// Runs KeySchedule(mode_base, shared_secret, info, psk = "", psk_id = "") of RFC 9180 §5.1.
    pub fn new(shared_secret: &SharedSecret, info: &[u8]) -> Self {
        let psk_id_hash = labeled_extract(b"", &HPKE_SUITE_ID, b"psk_id_hash", b"");
        let info_hash = labeled_extract(b"", &HPKE_SUITE_ID, b"info_hash", info);
        let mut ksc = [0u8; 65];
        ksc[0] = MODE_BASE;
        ksc[1..33].copy_from_slice(&psk_id_hash[..]);
        ksc[33..].copy_from_slice(&info_hash[..]);
        let secret = labeled_extract(&shared_secret.0[..], &HPKE_SUITE_ID, b"secret", b"");
        Self {
            key: labeled_expand::<32>(&secret, &HPKE_SUITE_ID, b"key", &ksc),
            base_nonce: labeled_expand::<12>(&secret, &HPKE_SUITE_ID, b"base_nonce", &ksc),
        }
    }

    /// The AEAD key, for test vectors only.
    pub fn key(&self) -> &[u8; 32] {
        &self.key
    }

    /// The base nonce, for test vectors only.
    pub fn base_nonce(&self) -> &[u8; 12] {
        &self.base_nonce
    }

    /// Seals the first (and, single-shot, only) message.
    pub fn seal(&self, aad: &[u8], pt: &[u8]) -> Result<Vec<u8>, HpkeError> {
        self.seal_at(0, aad, pt)
    }

    /// Opens the first (and, single-shot, only) message.
    pub fn open(&self, aad: &[u8], ct: &[u8]) -> Result<Zeroizing<Vec<u8>>, HpkeError> {
        self.open_at(0, aad, ct)
    }

    fn seal_at(&self, seq: u64, aad: &[u8], pt: &[u8]) -> Result<Vec<u8>, HpkeError> {
        let cipher = ChaCha20Poly1305::new((&*self.key).into());
        let nonce = self.nonce(seq);
        cipher
            .encrypt((&*nonce).into(), Payload { msg: pt, aad })
            .map_err(|_| HpkeError::SealFailed)
    }

    fn open_at(&self, seq: u64, aad: &[u8], ct: &[u8]) -> Result<Zeroizing<Vec<u8>>, HpkeError> {
        let cipher = ChaCha20Poly1305::new((&*self.key).into());
        let nonce = self.nonce(seq);
        cipher
            .decrypt((&*nonce).into(), Payload { msg: ct, aad })
            .map(Zeroizing::new)
            .map_err(|_| HpkeError::OpenFailed)
    }

    /// base_nonce XOR I2OSP(seq, 12), RFC 9180 §5.2.
    fn nonce(&self, seq: u64) -> Zeroizing<[u8; 12]> {
        let mut n = Zeroizing::new(*self.base_nonce);
        for (b, s) in n[4..].iter_mut().zip(seq.to_be_bytes()) {
            *b ^= s;
        }
        n
    }
}

/// Encap with a random ephemeral key: what a sender does.
pub fn encap<R: RngCore + CryptoRng>(
    pk_r: &[u8; 32],
    rng: &mut R,
) -> Result<([u8; ENC_LEN], SharedSecret), HpkeError> {
    let sk_e = StaticSecret::random_from_rng(rng);
    encap_with_ephemeral(&sk_e, pk_r)
}

/// Encap with a given ephemeral key, so test vectors are reproducible.
pub fn encap_with_ephemeral(
    sk_e: &StaticSecret,
    pk_r: &[u8; 32],
) -> Result<([u8; ENC_LEN], SharedSecret), HpkeError> {
    let enc = PublicKey::from(sk_e).to_bytes();
    let dh = sk_e.diffie_hellman(&PublicKey::from(*pk_r));
    if !dh.was_contributory() {
        return Err(HpkeError::ZeroSharedSecret);
    }
    let dh = Zeroizing::new(dh.to_bytes());
    Ok((enc, extract_and_expand(&dh, &enc, pk_r)))
}

/// Decap given the recipient's DH output (however it was computed, e.g. by a card).
pub fn decap_from_dh(
    dh: &Zeroizing<[u8; 32]>,
    enc: &[u8; ENC_LEN],
    pk_r: &[u8; 32],
) -> Result<SharedSecret, HpkeError> {
    if bool::from(subtle_is_zero(dh)) {
        return Err(HpkeError::ZeroSharedSecret);
    }
    Ok(extract_and_expand(dh, enc, pk_r))
}

/// Single-shot seal to an X25519 public key with a random ephemeral key.
pub fn seal<R: RngCore + CryptoRng>(
    pk_r: &[u8; 32],
    info: &[u8],
    aad: &[u8],
    pt: &[u8],
    rng: &mut R,
) -> Result<Sealed, HpkeError> {
    let sk_e = StaticSecret::random_from_rng(rng);
    seal_with_ephemeral(&sk_e, pk_r, info, aad, pt)
}

/// Single-shot seal with a given ephemeral key, so test vectors are reproducible.
pub fn seal_with_ephemeral(
    sk_e: &StaticSecret,
    pk_r: &[u8; 32],
    info: &[u8],
    aad: &[u8],
    pt: &[u8],
) -> Result<Sealed, HpkeError> {
    let (enc, ss) = encap_with_ephemeral(sk_e, pk_r)?;
    let ct = Context::new(&ss, info).seal(aad, pt)?;
    Ok(Sealed { enc, ct })
}

/// Single-shot open with a local X25519 secret key (software recipients and tests).
pub fn open(
    sk_r: &StaticSecret,
    enc: &[u8; ENC_LEN],
    info: &[u8],
    aad: &[u8],
    ct: &[u8],
) -> Result<Zeroizing<Vec<u8>>, HpkeError> {
    let pk_r = PublicKey::from(sk_r).to_bytes();
    open_with_dh(&pk_r, enc, info, aad, ct, |enc| {
        let dh = sk_r.diffie_hellman(&PublicKey::from(*enc));
        Ok::<_, HpkeError>(Zeroizing::new(dh.to_bytes()))
    })
    .map_err(|e| match e {
        OpenError::Dh(e) | OpenError::Hpke(e) => e,
    })
}

/// Single-shot open where `dh(enc)` supplies DH(skR, enc), so the private key can stay on a card.
pub fn open_with_dh<E>(
    pk_r: &[u8; 32],
    enc: &[u8; ENC_LEN],
    info: &[u8],
    aad: &[u8],
    ct: &[u8],
    dh: impl FnOnce(&[u8; ENC_LEN]) -> Result<Zeroizing<[u8; 32]>, E>,
) -> Result<Zeroizing<Vec<u8>>, OpenError<E>> {
    let dh = dh(enc).map_err(OpenError::Dh)?;
    let ss = decap_from_dh(&dh, enc, pk_r)?;
    Ok(Context::new(&ss, info).open(aad, ct)?)
}

/// DHKEM ExtractAndExpand with kem_context = enc ‖ pkR (RFC 9180 §4.1).
fn extract_and_expand(dh: &[u8; 32], enc: &[u8; 32], pk_r: &[u8; 32]) -> SharedSecret {
    let eae_prk = labeled_extract(b"", &KEM_SUITE_ID, b"eae_prk", dh);
    let mut kem_context = [0u8; 64];
    kem_context[..32].copy_from_slice(enc);
    kem_context[32..].copy_from_slice(pk_r);
    SharedSecret(labeled_expand::<32>(
        &eae_prk,
        &KEM_SUITE_ID,
        b"shared_secret",
        &kem_context,
    ))
}

/// LabeledExtract(salt, label, ikm) = Extract(salt, "HPKE-v1" ‖ suite_id ‖ label ‖ ikm).
fn labeled_extract(salt: &[u8], suite_id: &[u8], label: &[u8], ikm: &[u8]) -> Zeroizing<[u8; 32]> {
    let mut labeled_ikm = Zeroizing::new(Vec::with_capacity(
        VERSION_LABEL.len() + suite_id.len() + label.len() + ikm.len(),
    ));
    labeled_ikm.extend_from_slice(VERSION_LABEL);
    labeled_ikm.extend_from_slice(suite_id);
    labeled_ikm.extend_from_slice(label);
    labeled_ikm.extend_from_slice(ikm);
    let (mut prk, _) = Hkdf::<Sha256>::extract(Some(salt), &labeled_ikm);
    let mut out = Zeroizing::new([0u8; 32]);
    out.copy_from_slice(&prk);
    prk.zeroize();
    out
}

/// LabeledExpand(prk, label, info, L) = Expand(prk, I2OSP(L, 2) ‖ "HPKE-v1" ‖ suite_id ‖ label ‖ info, L).
fn labeled_expand<const L: usize>(
    prk: &[u8; 32],
    suite_id: &[u8],
    label: &[u8],
    info: &[u8],
) -> Zeroizing<[u8; L]> {
    let mut labeled_info =
        Vec::with_capacity(2 + VERSION_LABEL.len() + suite_id.len() + label.len() + info.len());
    labeled_info.extend_from_slice(&(L as u16).to_be_bytes());
    labeled_info.extend_from_slice(VERSION_LABEL);
    labeled_info.extend_from_slice(suite_id);
    labeled_info.extend_from_slice(label);
    labeled_info.extend_from_slice(info);
    let hk = Hkdf::<Sha256>::from_prk(prk).expect("a 32-byte PRK is valid for HKDF-SHA256");
    let mut out = Zeroizing::new([0u8; L]);
    hk.expand(&labeled_info, &mut out[..])
        .expect("L is at most 32, far below 255 * 32");
    out
}

/// Constant-time all-zero test of a DH output.
fn subtle_is_zero(v: &[u8; 32]) -> subtle::Choice {
    use subtle::ConstantTimeEq;
    v.ct_eq(&[0u8; 32])
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha20Rng;
    use serde_json::Value;

    fn unhex(v: &Value) -> Vec<u8> {
        hex::decode(v.as_str().unwrap()).unwrap()
    }

    fn arr<const N: usize>(v: &Value) -> [u8; N] {
        unhex(v).try_into().unwrap()
    }

    /// RFC 9180 final vectors (from the hpke 0.13.0 crate), mode 0, kem 0x20, kdf 1, aead 3: every encryption of every case.
    #[test]
    fn rfc9180_vectors() {
        let text = include_str!("testdata/rfc9180-base-x25519-sha256-chacha20poly1305.json");
        let cases: Vec<Value> = serde_json::from_str(text).unwrap();
        assert!(!cases.is_empty());
        let mut checked = 0;
        for c in &cases {
            assert_eq!(
                (
                    c["mode"].as_u64(),
                    c["kem_id"].as_u64(),
                    c["kdf_id"].as_u64(),
                    c["aead_id"].as_u64()
                ),
                (Some(0), Some(0x20), Some(1), Some(3))
            );
            let sk_e = StaticSecret::from(arr::<32>(&c["skEm"]));
            let sk_r = StaticSecret::from(arr::<32>(&c["skRm"]));
            let pk_r: [u8; 32] = arr(&c["pkRm"]);
            assert_eq!(PublicKey::from(&sk_r).to_bytes(), pk_r);
            assert_eq!(PublicKey::from(&sk_e).to_bytes(), arr::<32>(&c["pkEm"]));
            let info = unhex(&c["info"]);
            let (enc, ss) = encap_with_ephemeral(&sk_e, &pk_r).unwrap();
            assert_eq!(enc, arr::<32>(&c["enc"]));
            assert_eq!(ss.as_bytes(), &arr::<32>(&c["shared_secret"]));
            let dh = Zeroizing::new(sk_r.diffie_hellman(&PublicKey::from(enc)).to_bytes());
            assert_eq!(
                decap_from_dh(&dh, &enc, &pk_r).unwrap().as_bytes(),
                ss.as_bytes()
            );
            let ctx = Context::new(&ss, &info);
            assert_eq!(ctx.key(), &arr::<32>(&c["key"]));
            assert_eq!(ctx.base_nonce(), &arr::<12>(&c["base_nonce"]));
            for (seq, e) in c["encryptions"].as_array().unwrap().iter().enumerate() {
                let (aad, pt, ct) = (unhex(&e["aad"]), unhex(&e["pt"]), unhex(&e["ct"]));
                assert_eq!(&ctx.nonce(seq as u64)[..], &unhex(&e["nonce"])[..]);
                assert_eq!(ctx.seal_at(seq as u64, &aad, &pt).unwrap(), ct);
                assert_eq!(&ctx.open_at(seq as u64, &aad, &ct).unwrap()[..], &pt[..]);
                checked += 1;
            }
            // the single-shot API reaches the first encryption
            let first = &c["encryptions"][0];
            let sealed = seal_with_ephemeral(
                &sk_e,
                &pk_r,
                &info,
                &unhex(&first["aad"]),
                &unhex(&first["pt"]),
            )
            .unwrap();
            assert_eq!(sealed.ct, unhex(&first["ct"]));
            let pt = open(&sk_r, &enc, &info, &unhex(&first["aad"]), &sealed.ct).unwrap();
            assert_eq!(&pt[..], &unhex(&first["pt"])[..]);
        }
        assert!(checked >= 257);
    }

    /// Recomputes every value of apdu-spec/vectors/hpke.json and opens each case with the hpke crate as well.
    #[test]
    fn shared_vectors_recompute() {
        use hpke::Deserializable;
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../apdu-spec/vectors/hpke.json"
        );
        let v: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        let suite = &v["suite"];
        assert_eq!(
            (
                suite["mode"].as_u64(),
                suite["kem_id"].as_u64(),
                suite["kdf_id"].as_u64(),
                suite["aead_id"].as_u64()
            ),
            (Some(0), Some(0x20), Some(1), Some(3))
        );
        let cases = v["cases"].as_array().unwrap();
        assert!(!cases.is_empty());
        for c in cases {
            let sk_e = StaticSecret::from(arr::<32>(&c["skEm"]));
            let sk_r = StaticSecret::from(arr::<32>(&c["skRm"]));
            let pk_r = PublicKey::from(&sk_r).to_bytes();
            assert_eq!(pk_r, arr::<32>(&c["pkRm"]));
            assert_eq!(PublicKey::from(&sk_e).to_bytes(), arr::<32>(&c["pkEm"]));
            let (info, aad, pt) = (unhex(&c["info"]), unhex(&c["aad"]), unhex(&c["pt"]));
            assert_eq!(&info[..15], b"quorum/v1/share");
            assert_eq!(&aad[..4], b"QRM2");
            let (enc, ss) = encap_with_ephemeral(&sk_e, &pk_r).unwrap();
            assert_eq!(enc, arr::<32>(&c["enc"]));
            assert_eq!(ss.as_bytes(), &arr::<32>(&c["shared_secret"]));
            let ctx = Context::new(&ss, &info);
            assert_eq!(ctx.key(), &arr::<32>(&c["key"]));
            assert_eq!(ctx.base_nonce(), &arr::<12>(&c["base_nonce"]));
            let sealed = seal_with_ephemeral(&sk_e, &pk_r, &info, &aad, &pt).unwrap();
            assert_eq!(sealed.ct, unhex(&c["ct"]));
            assert_eq!(
                &open(&sk_r, &enc, &info, &aad, &sealed.ct).unwrap()[..],
                &pt[..]
            );
            let their_sk = <Kem as hpke::Kem>::PrivateKey::from_bytes(&sk_r.to_bytes()).unwrap();
            let their_enc = <Kem as hpke::Kem>::EncappedKey::from_bytes(&enc).unwrap();
            let theirs =
                hpke::single_shot_open::<hpke::aead::ChaCha20Poly1305, hpke::kdf::HkdfSha256, Kem>(
                    &hpke::OpModeR::Base,
                    &their_sk,
                    &their_enc,
                    &info,
                    &sealed.ct,
                    &aad,
                )
                .unwrap();
            assert_eq!(theirs, pt);
        }
    }

    /// Adapts a rand_core 0.6 RNG to the rand_core 0.9 traits the hpke crate takes.
    struct Rng09(ChaCha20Rng);
    impl hpke::rand_core::RngCore for Rng09 {
        fn next_u32(&mut self) -> u32 {
            RngCore::next_u32(&mut self.0)
        }
        fn next_u64(&mut self) -> u64 {
            RngCore::next_u64(&mut self.0)
        }
        fn fill_bytes(&mut self, dst: &mut [u8]) {
            RngCore::fill_bytes(&mut self.0, dst)
        }
    }
    impl hpke::rand_core::CryptoRng for Rng09 {}

    type Kem = hpke::kem::X25519HkdfSha256;

    #[test]
    fn interoperates_with_the_hpke_crate() {
        use hpke::{Deserializable, Serializable};
        let mut rng = ChaCha20Rng::seed_from_u64(3);
        for len in [0usize, 1, 33, 100] {
            let sk_r = StaticSecret::random_from_rng(&mut rng);
            let pk_r = PublicKey::from(&sk_r).to_bytes();
            let mut pt = vec![0u8; len];
            rng.fill_bytes(&mut pt);
            let info = b"quorum/v1/share-interop";
            let aad = b"public part";
            // quorum seals, hpke opens
            let ours = seal(&pk_r, info, aad, &pt, &mut rng).unwrap();
            let their_sk = <Kem as hpke::Kem>::PrivateKey::from_bytes(&sk_r.to_bytes()).unwrap();
            let their_enc = <Kem as hpke::Kem>::EncappedKey::from_bytes(&ours.enc).unwrap();
            let opened =
                hpke::single_shot_open::<hpke::aead::ChaCha20Poly1305, hpke::kdf::HkdfSha256, Kem>(
                    &hpke::OpModeR::Base,
                    &their_sk,
                    &their_enc,
                    info,
                    &ours.ct,
                    aad,
                )
                .unwrap();
            assert_eq!(opened, pt);
            // hpke seals, quorum opens
            let their_pk = <Kem as hpke::Kem>::PublicKey::from_bytes(&pk_r).unwrap();
            let mut rng09 = Rng09(ChaCha20Rng::seed_from_u64(len as u64));
            let (enc, ct) = hpke::single_shot_seal::<
                hpke::aead::ChaCha20Poly1305,
                hpke::kdf::HkdfSha256,
                Kem,
                _,
            >(
                &hpke::OpModeS::Base, &their_pk, info, &pt, aad, &mut rng09
            )
            .unwrap();
            let enc: [u8; 32] = enc.to_bytes().into();
            assert_eq!(&open(&sk_r, &enc, info, aad, &ct).unwrap()[..], &pt[..]);
        }
    }

    impl Context {
        /// A context with a given key and base nonce, so AEAD vectors reach `seal`/`open` directly.
        fn from_parts(key: &[u8; 32], base_nonce: &[u8; 12]) -> Self {
            Self {
                key: Zeroizing::new(*key),
                base_nonce: Zeroizing::new(*base_nonce),
            }
        }
    }

    /// Every Wycheproof ChaCha20-Poly1305 case through the AEAD calls of HPKE's first (and only) message.
    #[test]
    fn wycheproof_chacha20poly1305_through_the_hpke_context() {
        use crate::crypto::wrap::tests::run_wycheproof_chacha20poly1305;
        run_wycheproof_chacha20poly1305(
            |key, nonce, aad, pt| Context::from_parts(key, nonce).seal(aad, pt),
            |key, nonce, aad, ct| Context::from_parts(key, nonce).open(aad, ct),
        );
    }

    #[test]
    fn tampering_is_detected() {
        let mut rng = ChaCha20Rng::seed_from_u64(4);
        let sk_r = StaticSecret::random_from_rng(&mut rng);
        let pk_r = PublicKey::from(&sk_r).to_bytes();
        let s = seal(&pk_r, b"info", b"aad", b"secret share", &mut rng).unwrap();
        assert_eq!(
            open(&sk_r, &s.enc, b"info!", b"aad", &s.ct).unwrap_err(),
            HpkeError::OpenFailed
        );
        assert_eq!(
            open(&sk_r, &s.enc, b"info", b"aad!", &s.ct).unwrap_err(),
            HpkeError::OpenFailed
        );
        let mut ct = s.ct.clone();
        ct[0] ^= 1;
        assert_eq!(
            open(&sk_r, &s.enc, b"info", b"aad", &ct).unwrap_err(),
            HpkeError::OpenFailed
        );
        let other = StaticSecret::random_from_rng(&mut rng);
        assert_eq!(
            open(&other, &s.enc, b"info", b"aad", &s.ct).unwrap_err(),
            HpkeError::OpenFailed
        );
    }

    #[test]
    fn low_order_keys_are_refused() {
        let mut rng = ChaCha20Rng::seed_from_u64(5);
        let zero = [0u8; 32];
        assert_eq!(
            seal(&zero, b"", b"", b"x", &mut rng).unwrap_err(),
            HpkeError::ZeroSharedSecret
        );
        let r = open_with_dh(&zero, &zero, b"", b"", &[0u8; 17], |_| {
            Ok::<_, HpkeError>(Zeroizing::new([0u8; 32]))
        });
        assert!(matches!(
            r,
            Err(OpenError::Hpke(HpkeError::ZeroSharedSecret))
        ));
    }

    /// X25519 reads a key modulo 2^255 (RFC 7748): the seven low-order encodings below 2^255
    /// give an all-zero DH, which seal and open refuse; the five with bit 255 set are other
    /// points to X25519, and are refused as non-canonical before any key reaches HPKE
    /// (`CardKey`, and `SubgroupPoint` for the enc of a sealed share).
    #[test]
    fn every_low_order_key_is_refused() {
        use crate::crypto::wei25519::tests::low_order_encodings;
        use crate::crypto::{CardKey, PointError, SubgroupPoint};
        let mut rng = ChaCha20Rng::seed_from_u64(7);
        let sk_r = StaticSecret::random_from_rng(&mut rng);
        let (mut zero_dh, mut top_bit) = (0, 0);
        for u in low_order_encodings() {
            let name = hex::encode(u);
            if u[31] & 0x80 != 0 {
                top_bit += 1;
                assert_eq!(CardKey::from_x25519(&u), Err(PointError::NonCanonical));
                assert_eq!(SubgroupPoint::from_u(&u), Err(PointError::NonCanonical));
                continue;
            }
            zero_dh += 1;
            assert_eq!(
                seal(&u, b"info", b"aad", &[0x5a; 33], &mut rng).unwrap_err(),
                HpkeError::ZeroSharedSecret,
                "seal to {name}"
            );
            assert_eq!(
                open(&sk_r, &u, b"info", b"aad", &[0u8; 49]).unwrap_err(),
                HpkeError::ZeroSharedSecret,
                "open with enc {name}"
            );
        }
        assert_eq!((zero_dh, top_bit), (7, 5));
    }

    #[test]
    fn dh_errors_pass_through_untouched() {
        #[derive(Debug, PartialEq)]
        struct CardSaidNo;
        impl std::fmt::Display for CardSaidNo {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("card said no")
            }
        }
        impl std::error::Error for CardSaidNo {}
        let r = open_with_dh(&[9u8; 32], &[9u8; 32], b"", b"", &[0u8; 17], |_| {
            Err(CardSaidNo)
        });
        assert!(matches!(r, Err(OpenError::Dh(CardSaidNo))));
    }

    #[test]
    fn debug_output_hides_secrets() {
        let mut rng = ChaCha20Rng::seed_from_u64(6);
        let (_, ss) = encap(
            &PublicKey::from(&StaticSecret::random_from_rng(&mut rng)).to_bytes(),
            &mut rng,
        )
        .unwrap();
        let ctx = Context::new(&ss, b"");
        let text = format!("{ss:?} {ctx:?}");
        assert!(
            !text.contains(&hex::encode(ss.as_bytes())) && !text.contains(&hex::encode(ctx.key()))
        );
        assert!(text.contains("redacted"));
    }
}
