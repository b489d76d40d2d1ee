//! Enroll from a token: the token wraps the key to a one-time RSA key pair the host made in
//! memory, and the host unwraps it; the key crosses only wrapped.

use cryptoki::error::RvError;
use cryptoki::mechanism::Mechanism;
use cryptoki::object::{Attribute, AttributeType, KeyType as CkKeyType, ObjectClass};
use rsa::traits::PublicKeyParts;
use sha2::Sha256;
use zeroize::Zeroizing;

use crate::error::HsmError;
use crate::import::ONE_TIME_LABEL;
use crate::token::Token;
use crate::{KeyType, OaepHash};

/// Size of the host's one-time key pair, the same strength as the token's unwrap key.
const WRAP_KEY_BITS: usize = 3072;

/// A key that came out of a token, with how it came, for the operator's record.
pub struct Exported {
    /// The key's value, wiped when dropped.
    pub secret: Zeroizing<Vec<u8>>,
    /// The key's type in the token.
    pub key_type: KeyType,
    /// The OAEP digest the token wrapped with (`CKM_RSA_PKCS_OAEP`).
    pub oaep: OaepHash,
}

impl std::fmt::Debug for Exported {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Exported")
            .field("secret", &"<redacted>")
            .field("key_type", &self.key_type)
            .field("oaep", &self.oaep)
            .finish()
    }
}

impl Token {
    /// Reads the secret key `key_label` out of the token wrapped to a one-time RSA key pair
    /// made in this process, so that quorum can back it up; a non-extractable key is refused
    /// (only the HSM's own backup path can copy it).
    pub fn export_secret(&mut self, key_label: &str) -> Result<Exported, HsmError> {
        let keys = self.secret_keys_labelled(key_label)?;
        let key = match keys.as_slice() {
            [one] => *one,
            [] => {
                return Err(HsmError::KeyNotFound {
                    label: key_label.to_owned(),
                })
            }
            many => {
                return Err(HsmError::AmbiguousKey {
                    label: key_label.to_owned(),
                    count: many.len(),
                })
            }
        };
        let not_extractable = || HsmError::NotExtractable {
            label: key_label.to_owned(),
        };
        if self.bool_attribute(key, AttributeType::Extractable)? == Some(false) {
            return Err(not_extractable());
        }
        let key_type = match self.key_type(key)? {
            Some(t) if t == CkKeyType::AES => KeyType::Aes,
            Some(t) if t == CkKeyType::GENERIC_SECRET => KeyType::GenericSecret,
            other => {
                return Err(HsmError::Binding {
                    step: "reading the key type",
                    detail: format!("quorum moves AES and generic secret keys, not {other:?}"),
                })
            }
        };

        let private = rsa::PrivateKey::new(&mut getrandom::SysRng, WRAP_KEY_BITS).map_err(|e| {
            HsmError::HostCrypto {
                step: "generating the one-time RSA key pair",
                detail: e.to_string(),
            }
        })?;
        let public_template = [
            Attribute::Class(ObjectClass::PUBLIC_KEY),
            Attribute::KeyType(CkKeyType::RSA),
            Attribute::Token(false),
            Attribute::Private(false),
            Attribute::Label(ONE_TIME_LABEL.as_bytes().to_vec()),
            Attribute::Modulus(private.n().to_be_bytes_trimmed_vartime().to_vec()),
            Attribute::PublicExponent(private.e().to_be_bytes_trimmed_vartime().to_vec()),
            Attribute::Wrap(true),
            Attribute::Encrypt(true),
        ];
        let wrapping = self
            .session
            .create_object(&public_template)
            .map_err(HsmError::at("importing the one-time public key"))?;

        let mut result = None;
        let mut last = None;
        for oaep in OaepHash::ORDER {
            match self
                .session
                .wrap_key(&Mechanism::RsaPkcsOaep(oaep.params()), wrapping, key)
            {
                Ok(wrapped) => {
                    result = Some((wrapped, oaep));
                    break;
                }
                Err(cryptoki::error::Error::Pkcs11(RvError::KeyUnextractable, _)) => {
                    let _ = self.session.destroy_object(wrapping);
                    return Err(not_extractable());
                }
                Err(e) => {
                    let e = HsmError::at("wrapping the key with RSA-OAEP")(e);
                    match e.rv() {
                        Some(RvError::MechanismInvalid)
                        | Some(RvError::MechanismParamInvalid)
                        | Some(RvError::ArgumentsBad) => last = Some(e),
                        _ => {
                            let _ = self.session.destroy_object(wrapping);
                            return Err(e);
                        }
                    }
                }
            }
        }
        self.session
            .destroy_object(wrapping)
            .map_err(HsmError::at("destroying the one-time public key"))?;
        let Some((wrapped, oaep)) = result else {
            return Err(last.unwrap_or(HsmError::NoWrapPath {
                tried: "RSA-OAEP".into(),
            }));
        };
        let plain = match oaep {
            OaepHash::Sha256 => private.oaep_decrypt::<Sha256>(&wrapped),
            OaepHash::Sha1 => private.oaep_decrypt::<sha1::Sha1>(&wrapped),
        }
        .map_err(|e| HsmError::HostCrypto {
            step: "RSA-OAEP decryption of the wrapped key",
            detail: e.to_string(),
        })?;
        let secret = Zeroizing::new(plain);
        if !key_type.fits(secret.len()) {
            return Err(HsmError::SecretLength {
                key_type,
                len: secret.len(),
            });
        }
        Ok(Exported {
            secret,
            key_type,
            oaep,
        })
    }
}
