//! Enroll from a token: the token wraps the key to a one-time RSA key pair the host made in
//! memory, and the host unwraps it; the key crosses only wrapped.
//!
//! - A secret key (AES, generic secret): `C_WrapKey` with RSA-OAEP (SHA-256, then SHA-1) to
//!   the host's one-time public key.
//! - A private key (P-256, RSA): the token makes a session AES-256 transport key
//!   (`CKA_TOKEN` false, extractable, wrap only), wraps it with RSA-OAEP to the host's
//!   one-time public key, then wraps the private key (PKCS#8) under it with AES-KWP
//!   (`CKM_AES_KEY_WRAP_KWP` where `C_GetMechanismInfo` knows it, then
//!   `CKM_AES_KEY_WRAP_PAD` where listed). The host unwraps both in memory, cuts the
//!   trailing zero bytes a token may add (SoftHSM 2.6.1 does) by the DER length, and parses
//!   the DER as the key type.
//!
//! The one-time public key and transport key are session objects labelled as one-time
//! objects and destroyed on every way out.

use aes_kw::cipher::KeyInit;
use aes_kw::KwpAes256;
use cryptoki::error::{Error as Pkcs11Error, RvError};
use cryptoki::mechanism::{Mechanism, MechanismType};
use cryptoki::object::{Attribute, AttributeType, KeyType as CkKeyType, ObjectClass, ObjectHandle};
use rsa::traits::PublicKeyParts;
use sha2::Sha256;
use zeroize::Zeroizing;

use crate::error::HsmError;
use crate::import::{path_refused, ONE_TIME_LABEL};
use crate::keys::{check_value_of, CheckValue, PrivateKeyDer};
use crate::mechanism::{standard, CKM_AES_KEY_WRAP_KWP};
use crate::token::{OneTime, Token};
use crate::{KeyType, KwpMechanism, OaepHash};

/// Size of the host's one-time key pair, the same strength as the token's unwrap key.
const WRAP_KEY_BITS: usize = 3072;
/// `CKA_EC_PARAMS` of P-256: the DER of its OID, 1.2.840.10045.3.1.7.
const P256_EC_PARAMS: [u8; 10] = [0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];

#[cfg(test)]
thread_local! {
    /// Test hook (test builds only): fail right after the one-time objects of an export exist.
    pub(crate) static FAIL_AFTER_ONE_TIME_OBJECTS: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
    /// Measurement (test builds only): the length RFC 5649 unwrap gave for the last private
    /// key, before the DER length cut it, to see whether the token padded the PKCS#8.
    pub(crate) static LAST_KWP_PLAINTEXT_LEN: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// How the key left the token, so the operator's record says it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExportPath {
    /// A secret key: `C_WrapKey` with `CKM_RSA_PKCS_OAEP` to the host's one-time key.
    RsaOaep {
        /// The OAEP digest the token wrapped with.
        oaep: OaepHash,
    },
    /// A private key: a transport key under `CKM_RSA_PKCS_OAEP`, then the key under AES-KWP.
    RsaOaepThenKwp {
        /// The OAEP digest the token wrapped the transport key with.
        oaep: OaepHash,
        /// The KWP mechanism the token wrapped the private key with.
        kwp: KwpMechanism,
    },
}

impl ExportPath {
    /// The OAEP digest of the path, the one every path starts with.
    pub fn oaep(self) -> OaepHash {
        match self {
            ExportPath::RsaOaep { oaep } | ExportPath::RsaOaepThenKwp { oaep, .. } => oaep,
        }
    }
}

impl std::fmt::Display for ExportPath {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ExportPath::RsaOaep { oaep } => write!(f, "CKM_RSA_PKCS_OAEP ({oaep})"),
            ExportPath::RsaOaepThenKwp { oaep, kwp } => {
                write!(f, "CKM_RSA_PKCS_OAEP ({oaep}) then {kwp}")
            }
        }
    }
}

/// A key that came out of a token, with how it came, for the operator's record.
pub struct Exported {
    /// The key's value (a private key as PKCS#8 DER, cut to its length), wiped when dropped.
    pub secret: Zeroizing<Vec<u8>>,
    /// The key's type in the token.
    pub key_type: KeyType,
    /// The OAEP digest the token wrapped with (`CKM_RSA_PKCS_OAEP`); the same as
    /// `path.oaep()`.
    pub oaep: OaepHash,
    /// How the key left the token.
    pub path: ExportPath,
    /// The key's check value computed on the host ([`crate::check_value_of`]), for enroll to
    /// record and a later recover's check to be compared with.
    pub check: CheckValue,
}

impl std::fmt::Debug for Exported {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Exported")
            .field("secret", &"<redacted>")
            .field("key_type", &self.key_type)
            .field("oaep", &self.oaep)
            .field("path", &self.path)
            .field("check", &self.check)
            .finish()
    }
}

impl Token {
    /// Reads the key `key_label` (a secret key, or a P-256 or RSA private key) out of the
    /// token wrapped to a one-time RSA key pair made in this process, so that quorum can back
    /// it up; a non-extractable key is refused (only the HSM's own backup path can copy it),
    /// and so is a label that names more than one key.
    pub fn export_secret(&mut self, key_label: &str) -> Result<Exported, HsmError> {
        let secret_keys = self.labelled(ObjectClass::SECRET_KEY, key_label)?;
        let private_keys = self.labelled(ObjectClass::PRIVATE_KEY, key_label)?;
        let key = match (secret_keys.as_slice(), private_keys.as_slice()) {
            ([one], []) | ([], [one]) => *one,
            ([], []) => {
                return Err(HsmError::KeyNotFound {
                    label: key_label.to_owned(),
                })
            }
            _ => {
                return Err(HsmError::AmbiguousKey {
                    label: key_label.to_owned(),
                    count: secret_keys.len() + private_keys.len(),
                })
            }
        };
        if self.bool_attribute(key, AttributeType::Extractable)? == Some(false) {
            return Err(HsmError::NotExtractable {
                label: key_label.to_owned(),
            });
        }
        let key_type = self.exported_type(key, key_label)?;

        let host = rsa::PrivateKey::new(&mut getrandom::SysRng, WRAP_KEY_BITS).map_err(|e| {
            HsmError::HostCrypto {
                step: "generating the one-time RSA key pair",
                detail: e.to_string(),
            }
        })?;
        let mut one_time = OneTime::new(&self.session);
        let public_template = [
            Attribute::Class(ObjectClass::PUBLIC_KEY),
            Attribute::KeyType(CkKeyType::RSA),
            Attribute::Token(false),
            Attribute::Private(false),
            Attribute::Label(ONE_TIME_LABEL.as_bytes().to_vec()),
            Attribute::Modulus(host.n().to_be_bytes_trimmed_vartime().to_vec()),
            Attribute::PublicExponent(host.e().to_be_bytes_trimmed_vartime().to_vec()),
            Attribute::Wrap(true),
            Attribute::Encrypt(true),
        ];
        let wrapping = self
            .session
            .create_object(&public_template)
            .map_err(HsmError::at("importing the one-time public key"))?;
        one_time.push(wrapping);

        let (secret, path) = if key_type.is_private_key() {
            let transport = self
                .session
                .generate_key(
                    &Mechanism::AesKeyGen,
                    &[
                        Attribute::Class(ObjectClass::SECRET_KEY),
                        Attribute::KeyType(CkKeyType::AES),
                        Attribute::Token(false),
                        Attribute::Private(true),
                        Attribute::Sensitive(true),
                        Attribute::Extractable(true),
                        Attribute::Label(ONE_TIME_LABEL.as_bytes().to_vec()),
                        Attribute::ValueLen(32u64.into()),
                        Attribute::Wrap(true),
                        Attribute::Unwrap(false),
                        Attribute::Encrypt(false),
                        Attribute::Decrypt(false),
                    ],
                )
                .map_err(HsmError::at("generating the one-time transport key"))?;
            one_time.push(transport);
            fail_point()?;
            let (wrapped_transport, oaep) = self.wrap_oaep(wrapping, transport, key_label)?;
            let (wrapped_key, kwp) = self.wrap_kwp(transport, key, key_label)?;
            one_time.finish()?;
            let transport_key = Zeroizing::new(oaep_decrypt(&host, oaep, &wrapped_transport)?);
            let kwp_key =
                KwpAes256::new_from_slice(&transport_key).map_err(|e| HsmError::HostCrypto {
                    step: "AES key unwrap",
                    detail: e.to_string(),
                })?;
            let mut buf = Zeroizing::new(vec![0u8; wrapped_key.len().saturating_sub(8)]);
            let len = kwp_key
                .unwrap_key(&wrapped_key, &mut buf)
                .map_err(|e| HsmError::HostCrypto {
                    step: "AES key unwrap of the private key",
                    detail: e.to_string(),
                })?
                .len();
            buf.truncate(len);
            #[cfg(test)]
            LAST_KWP_PLAINTEXT_LEN.with(|l| l.set(len));
            // The DER decides the length: a token may pad the PKCS#8 with zero bytes before
            // wrapping (SoftHSM 2.6.1 does), which RFC 5649's own length then keeps.
            let der_len = match PrivateKeyDer::parse(&buf, key_type)? {
                Some(private) => private.der().len(),
                None => buf.len(),
            };
            buf.truncate(der_len);
            (buf, ExportPath::RsaOaepThenKwp { oaep, kwp })
        } else {
            fail_point()?;
            let (wrapped, oaep) = self.wrap_oaep(wrapping, key, key_label)?;
            one_time.finish()?;
            let secret = Zeroizing::new(oaep_decrypt(&host, oaep, &wrapped)?);
            if !key_type.fits(secret.len()) {
                return Err(HsmError::SecretLength {
                    key_type,
                    len: secret.len(),
                });
            }
            (secret, ExportPath::RsaOaep { oaep })
        };
        let check = check_value_of(&secret, key_type)?;
        Ok(Exported {
            secret,
            key_type,
            oaep: path.oaep(),
            path,
            check,
        })
    }

    /// What quorum calls the key in the token, refusing the types it does not move.
    fn exported_type(&self, key: ObjectHandle, label: &str) -> Result<KeyType, HsmError> {
        let unsupported = |found: String| HsmError::UnsupportedKey {
            label: label.to_owned(),
            found,
        };
        match self.key_type(key)? {
            Some(t) if t == CkKeyType::AES => Ok(KeyType::Aes),
            Some(t) if t == CkKeyType::GENERIC_SECRET => Ok(KeyType::GenericSecret),
            Some(t) if t == CkKeyType::RSA => Ok(KeyType::Rsa),
            Some(t) if t == CkKeyType::EC => {
                let attrs = self
                    .session
                    .get_attributes(key, &[AttributeType::EcParams])
                    .map_err(HsmError::at("reading the key's curve"))?;
                let params = attrs.into_iter().find_map(|a| match a {
                    Attribute::EcParams(p) => Some(p),
                    _ => None,
                });
                match params {
                    Some(p) if p[..] == P256_EC_PARAMS[..] => Ok(KeyType::EcP256),
                    Some(p) => Err(unsupported(format!(
                        "an EC key on another curve than P-256 (parameters {})",
                        hex::encode(p)
                    ))),
                    None => Err(unsupported("an EC key of unknown curve".into())),
                }
            }
            Some(t) => Err(unsupported(format!("a {t} key"))),
            None => Err(unsupported("a key of no stated type".into())),
        }
    }

    /// `C_WrapKey` of `key` with RSA-OAEP to the host's one-time public key, SHA-256 first.
    fn wrap_oaep(
        &self,
        wrapping: ObjectHandle,
        key: ObjectHandle,
        label: &str,
    ) -> Result<(Vec<u8>, OaepHash), HsmError> {
        let mut tried = Vec::new();
        for oaep in OaepHash::ORDER {
            match self
                .session
                .wrap_key(&Mechanism::RsaPkcsOaep(oaep.params()), wrapping, key)
            {
                Ok(wrapped) => return Ok((wrapped, oaep)),
                Err(Pkcs11Error::Pkcs11(RvError::KeyUnextractable, _)) => {
                    return Err(HsmError::NotExtractable {
                        label: label.to_owned(),
                    })
                }
                Err(e) => {
                    let e = HsmError::at("wrapping with RSA-OAEP")(e);
                    if !path_refused(&e) {
                        return Err(e);
                    }
                    tried.push(format!("RSA-OAEP {oaep}: {e}"));
                }
            }
        }
        Err(HsmError::NoExportPath {
            tried: tried.join("; "),
        })
    }

    /// `C_WrapKey` of the private key under the transport key with AES-KWP, in the order of
    /// the module comment.
    fn wrap_kwp(
        &self,
        transport: ObjectHandle,
        key: ObjectHandle,
        label: &str,
    ) -> Result<(Vec<u8>, KwpMechanism), HsmError> {
        let mut tried = Vec::new();
        let mut kwps = Vec::new();
        if self.knows(standard(CKM_AES_KEY_WRAP_KWP)) {
            kwps.push(KwpMechanism::Kwp);
        } else {
            tried.push("CKM_AES_KEY_WRAP_KWP: not offered".to_owned());
        }
        if self.lists(MechanismType::AES_KEY_WRAP_PAD) {
            kwps.push(KwpMechanism::Pad);
        } else {
            tried.push("CKM_AES_KEY_WRAP_PAD: not offered".to_owned());
        }
        for kwp in kwps {
            match self.session.wrap_key(&kwp.mechanism(), transport, key) {
                Ok(wrapped) => return Ok((wrapped, kwp)),
                Err(Pkcs11Error::Pkcs11(RvError::KeyUnextractable, _)) => {
                    return Err(HsmError::NotExtractable {
                        label: label.to_owned(),
                    })
                }
                Err(e) => {
                    let e = HsmError::at("wrapping the private key with AES key wrap")(e);
                    if !path_refused(&e) {
                        return Err(e);
                    }
                    tried.push(format!("{kwp}: {e}"));
                }
            }
        }
        Err(HsmError::NoExportPath {
            tried: tried.join("; "),
        })
    }
}

/// RSA-OAEP decryption with the host's one-time private key.
fn oaep_decrypt(
    host: &rsa::PrivateKey,
    oaep: OaepHash,
    wrapped: &[u8],
) -> Result<Vec<u8>, HsmError> {
    match oaep {
        OaepHash::Sha256 => host.oaep_decrypt::<Sha256>(wrapped),
        OaepHash::Sha1 => host.oaep_decrypt::<sha1::Sha1>(wrapped),
    }
    .map_err(|e| HsmError::HostCrypto {
        step: "RSA-OAEP decryption of the wrapped key",
        detail: e.to_string(),
    })
}

/// The test hook's failure once the one-time objects exist; nothing outside tests.
fn fail_point() -> Result<(), HsmError> {
    #[cfg(test)]
    if FAIL_AFTER_ONE_TIME_OBJECTS.with(|f| f.get()) {
        return Err(HsmError::Binding {
            step: "the test hook after the one-time objects",
            detail: "injected".into(),
        });
    }
    Ok(())
}
