//! quorum's PKCS#11 end: moves a master key into a token and out of it wrapped, so the key
//! is never in the clear outside this process's memory, and proves an imported copy by a
//! check computed inside the token. The only crate that loads a PKCS#11 module (`cryptoki`).
//!
//! The two directions a ceremony needs:
//! - recover into a token: [`Token::import_secret`] (the token makes a one-time RSA unwrap
//!   key, the host sends a fresh AES transport key under RSA-OAEP and the secret under AES key
//!   wrap with padding, RFC 5649);
//! - enroll from a token: [`Token::export_secret`] (the host makes a one-time RSA key pair in
//!   memory, the token wraps the key to it with RSA-OAEP; a private key under a one-time
//!   AES transport key with AES-KWP), and [`Token::generate_secret`] for a key the token
//!   makes itself and quorum backs up at once ([`Token::destroy_key`] takes it back when
//!   that backup fails).
//!
//! [`Token::locate`] finds a token before any PIN is asked for, so the caller knows whether
//! the token has its own PIN pad (protected authentication path) or is locked.

mod error;
mod export;
mod import;
mod keys;
mod mechanism;
mod token;

#[cfg(test)]
mod tests;

pub use error::{HsmError, PinTries};
pub use export::{ExportPath, Exported};
pub use import::{AesUsage, ImportOptions, ImportPath, Imported, RsaUsage};
pub use keys::{check_value_of, CheckValue};
pub use mechanism::{KwpMechanism, OaepHash};
pub use token::{Generated, KeyHandle, Located, Login, Token};

/// The kinds of secret key quorum moves, because the token must be told what it holds and
/// which uses (and which check) fit it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyType {
    /// An AES key (CKK_AES) of 16, 24 or 32 bytes.
    Aes,
    /// A generic secret (CKK_GENERIC_SECRET), e.g. an HMAC key or a seal key, 1 to 512 bytes.
    GenericSecret,
    /// A NIST P-256 private key (CKO_PRIVATE_KEY, CKK_EC) given as PKCS#8 DER, for a signing
    /// key that must live in the token; checked by a signature made in the token.
    EcP256,
    /// An RSA private key (CKO_PRIVATE_KEY, CKK_RSA) given as PKCS#8 DER, for a signing or
    /// decryption key that must live in the token; checked by a signature made in the token.
    Rsa,
}

impl KeyType {
    /// Whether a secret of `len` bytes can be a key of this type, checked before anything is
    /// created in the token (a private key is further parsed as PKCS#8 before the token sees
    /// it).
    pub fn fits(self, len: usize) -> bool {
        match self {
            KeyType::Aes => matches!(len, 16 | 24 | 32),
            KeyType::GenericSecret => (1..=512).contains(&len),
            // Any non-empty length: the PKCS#8 parse decides, and says why it refuses.
            KeyType::EcP256 | KeyType::Rsa => len > 0,
        }
    }
}

impl KeyType {
    /// Whether the key is a private key (CKO_PRIVATE_KEY, given as PKCS#8 DER) rather than a
    /// secret key, since the two travel and are checked differently.
    pub fn is_private_key(self) -> bool {
        matches!(self, KeyType::EcP256 | KeyType::Rsa)
    }
}

impl std::fmt::Display for KeyType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            KeyType::Aes => "AES",
            KeyType::GenericSecret => "generic secret",
            KeyType::EcP256 => "P-256",
            KeyType::Rsa => "RSA",
        })
    }
}
