//! What the host knows of a key without any token: whether a secret can be a key of a type
//! (PKCS#8 parsed for private keys), and the check value that names it, so an import can be
//! proven against it and an export can be recorded with it.

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

use crate::error::HsmError;
use crate::KeyType;

/// The fixed message a generic secret MACs to give its check value.
pub(crate) const HMAC_CHECK_MESSAGE: &[u8] = b"quorum key check value";

/// A short value that names a key, the same on the host and in the token, so an operator can
/// compare the key a ceremony backed up with the key a later recover put into a token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CheckValue {
    /// AES key check value: the first 3 bytes of AES-ECB of a zero block.
    AesKcv([u8; 3]),
    /// The first 3 bytes of HMAC-SHA256 over a fixed message (the whole MAC was compared).
    HmacSha256([u8; 3]),
    /// A P-256 private key, named by the first 3 bytes of SHA-256 of its uncompressed public
    /// point; after an import, a signature made in the token was verified with that point.
    EcdsaP256([u8; 3]),
    /// An RSA private key, named by the first 3 bytes of SHA-256 of its modulus (big-endian,
    /// no leading zero bytes, as `CKA_MODULUS` holds it); after an import, a
    /// `CKM_SHA256_RSA_PKCS` signature made in the token was verified with the public key.
    RsaSignature([u8; 3]),
    /// No check was possible: the key's usage forbids it (an AES key that may not encrypt,
    /// an RSA key that may not sign).
    NotComputed,
}

impl CheckValue {
    /// The 3 bytes of the value, `None` when none was computed, so a caller can compare or
    /// word them itself.
    pub fn bytes(&self) -> Option<[u8; 3]> {
        match self {
            CheckValue::AesKcv(v)
            | CheckValue::HmacSha256(v)
            | CheckValue::EcdsaP256(v)
            | CheckValue::RsaSignature(v) => Some(*v),
            CheckValue::NotComputed => None,
        }
    }
}

impl std::fmt::Display for CheckValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CheckValue::AesKcv(v) => write!(f, "KCV {}", hex::encode_upper(v)),
            CheckValue::HmacSha256(v) => write!(f, "HMAC-SHA256 check {}", hex::encode_upper(v)),
            CheckValue::EcdsaP256(v) => write!(f, "P-256 key {}", hex::encode_upper(v)),
            CheckValue::RsaSignature(v) => write!(f, "RSA key {}", hex::encode_upper(v)),
            CheckValue::NotComputed => f.write_str("no check value (the key's usage forbids it)"),
        }
    }
}

/// The check value of `secret` as a key of `key_type`, computed on the host (no token), so
/// enroll can record it and a later recover's check (computed in the token) can be compared
/// with it. Refuses a secret that cannot be a key of that type, as an import would.
pub fn check_value_of(secret: &[u8], key_type: KeyType) -> Result<CheckValue, HsmError> {
    if !key_type.fits(secret.len()) {
        return Err(HsmError::SecretLength {
            key_type,
            len: secret.len(),
        });
    }
    Ok(match key_type {
        KeyType::Aes => {
            let b = aes_zero_block(secret)?;
            CheckValue::AesKcv([b[0], b[1], b[2]])
        }
        KeyType::GenericSecret => {
            let m = host_hmac(secret)?;
            CheckValue::HmacSha256([m[0], m[1], m[2]])
        }
        KeyType::EcP256 => CheckValue::EcdsaP256(p256_key_id(&parse_p256_pkcs8(secret)?.1)),
        KeyType::Rsa => CheckValue::RsaSignature(rsa_key_id(&parse_rsa_pkcs8(secret)?.1)),
    })
}

/// The private key parsed on the host, with the DER cut to its own length: what a private
/// key import sends and what its check is verified with.
pub(crate) enum PrivateKeyDer<'a> {
    /// A P-256 key: its DER and public key.
    P256(&'a [u8], p256::PublicKey),
    /// An RSA key: its DER and public key.
    Rsa(&'a [u8], rsa::PublicKey),
}

impl<'a> PrivateKeyDer<'a> {
    /// Parses `secret` as the private key type asked for; `None` for a secret key type.
    pub(crate) fn parse(secret: &'a [u8], key_type: KeyType) -> Result<Option<Self>, HsmError> {
        Ok(match key_type {
            KeyType::EcP256 => {
                let (der, public) = parse_p256_pkcs8(secret)?;
                Some(PrivateKeyDer::P256(der, public))
            }
            KeyType::Rsa => {
                let (der, public) = parse_rsa_pkcs8(secret)?;
                Some(PrivateKeyDer::Rsa(der, public))
            }
            KeyType::Aes | KeyType::GenericSecret => None,
        })
    }

    /// The DER itself, without trailing zero bytes.
    pub(crate) fn der(&self) -> &'a [u8] {
        match self {
            PrivateKeyDer::P256(der, _) | PrivateKeyDer::Rsa(der, _) => der,
        }
    }
}

/// Parses `secret` as a PKCS#8 P-256 private key; returns the DER itself (trailing zero
/// bytes, which a token's AES-KWP export may add, cut off) and the public key. The parsed
/// scalar is wiped when dropped; no other copy of the key is made.
pub(crate) fn parse_p256_pkcs8(secret: &[u8]) -> Result<(&[u8], p256::PublicKey), HsmError> {
    use p256::pkcs8::der::Decode;
    let refused = |reason: String| HsmError::SecretNotKeyType {
        key_type: KeyType::EcP256,
        reason,
    };
    let (info, rest) = p256::pkcs8::PrivateKeyInfoRef::from_der_partial(secret)
        .map_err(|e| refused(format!("not PKCS#8 DER ({e})")))?;
    if rest.iter().any(|&b| b != 0) {
        return Err(refused("bytes follow the PKCS#8 structure".into()));
    }
    let key = p256::SecretKey::try_from(info)
        .map_err(|e| refused(format!("not a P-256 private key ({e})")))?;
    Ok((&secret[..secret.len() - rest.len()], key.public_key()))
}

/// Parses `secret` as a PKCS#8 RSA private key (algorithm rsaEncryption, two primes, 1024
/// to 8192 bits, the components consistent); returns the DER itself (trailing zero bytes cut
/// off, as for P-256) and the public key. The parsed key is wiped when dropped.
pub(crate) fn parse_rsa_pkcs8(secret: &[u8]) -> Result<(&[u8], rsa::PublicKey), HsmError> {
    use rsa::pkcs8::der::Decode;
    let refused = |reason: String| HsmError::SecretNotKeyType {
        key_type: KeyType::Rsa,
        reason,
    };
    let (info, rest) = rsa::pkcs8::PrivateKeyInfoRef::from_der_partial(secret)
        .map_err(|e| refused(format!("not PKCS#8 DER ({e})")))?;
    if rest.iter().any(|&b| b != 0) {
        return Err(refused("bytes follow the PKCS#8 structure".into()));
    }
    if info.algorithm.oid != rsa::pkcs1::ALGORITHM_OID {
        return Err(refused(format!(
            "the key's algorithm is {}, not rsaEncryption",
            info.algorithm.oid
        )));
    }
    let key = rsa::PrivateKey::try_from(info)
        .map_err(|e| refused(format!("not a valid RSA private key ({e})")))?;
    Ok((&secret[..secret.len() - rest.len()], key.to_public_key()))
}

/// The first 3 bytes of SHA-256 of the uncompressed public point: a short name for a P-256
/// key that an operator can compare, not a proof by itself.
pub(crate) fn p256_key_id(public: &p256::PublicKey) -> [u8; 3] {
    use p256::elliptic_curve::sec1::ToSec1Point;
    let h = Sha256::digest(public.to_sec1_point(false).as_bytes());
    [h[0], h[1], h[2]]
}

/// The first 3 bytes of SHA-256 of the modulus (big-endian, no leading zeros): a short name
/// for an RSA key that an operator can compare, not a proof by itself.
pub(crate) fn rsa_key_id(public: &rsa::PublicKey) -> [u8; 3] {
    use rsa::traits::PublicKeyParts;
    let h = Sha256::digest(public.n().to_be_bytes_trimmed_vartime());
    [h[0], h[1], h[2]]
}

/// HMAC-SHA256 of the fixed check message under `secret`, the reference for the token's.
pub(crate) fn host_hmac(secret: &[u8]) -> Result<[u8; 32], HsmError> {
    let mut mac = <Hmac<Sha256> as hmac::KeyInit>::new_from_slice(secret).map_err(|e| {
        HsmError::HostCrypto {
            step: "the HMAC check",
            detail: e.to_string(),
        }
    })?;
    mac.update(HMAC_CHECK_MESSAGE);
    Ok(mac.finalize().into_bytes().into())
}

/// AES of a zero block under `key` on the host, the reference for the token's KCV.
pub(crate) fn aes_zero_block(key: &[u8]) -> Result<[u8; 16], HsmError> {
    use aes_kw::cipher::{BlockCipherEncrypt, KeyInit};
    fn run<C: BlockCipherEncrypt + KeyInit>(key: &[u8]) -> Option<[u8; 16]> {
        let cipher = C::new_from_slice(key).ok()?;
        let mut block = aes_kw::cipher::Block::<C>::default();
        cipher.encrypt_block(&mut block);
        if block.len() != 16 {
            return None;
        }
        let mut out = [0u8; 16];
        out.copy_from_slice(&block);
        Some(out)
    }
    let r = match key.len() {
        16 => run::<aes_kw::aes::Aes128>(key),
        24 => run::<aes_kw::aes::Aes192>(key),
        32 => run::<aes_kw::aes::Aes256>(key),
        _ => None,
    };
    r.ok_or(HsmError::HostCrypto {
        step: "the key check value",
        detail: "not an AES key length".into(),
    })
}
