//! Recover into a token: the secret crosses into the token wrapped, never in the clear.
//!
//! Order of the paths (first that works wins; each answer is kept for the error message):
//! 1. `CKM_RSA_AES_KEY_WRAP` where `C_GetMechanismInfo` knows it: one `C_UnwrapKey` of
//!    RSA-OAEP(transport key) ‖ AES-KWP(secret) with the one-time RSA key (OAEP SHA-256,
//!    then SHA-1).
//! 2. RSA-OAEP then AES-KWP, two `C_UnwrapKey` calls: the transport key under RSA-OAEP
//!    (SHA-256, then SHA-1) becomes a session AES key; the secret under RFC 5649 with
//!    `CKM_AES_KEY_WRAP_KWP` (0x210B) where known, then `CKM_AES_KEY_WRAP_PAD` (0x210A)
//!    where listed.
//! 3. `C_CreateObject` with the plaintext value, only when the caller allows it (never for a
//!    private key, whose plaintext template would differ).
//!
//! A private key (P-256 or RSA) is given as PKCS#8 DER; it is parsed and checked on the host
//! before the token sees anything, travels the same paths as a private key
//! (`CKO_PRIVATE_KEY`, `CKK_EC` or `CKK_RSA`), and is proven by a signature made in the token
//! (ECDSA, or `CKM_SHA256_RSA_PKCS`) and verified on the host.
//!
//! The one-time RSA key pair and transport key are session objects (`CKA_TOKEN` false),
//! the private key non-extractable and sensitive; they are destroyed on every way out.

use aes_kw::cipher::KeyInit;
use aes_kw::KwpAes256;
use cryptoki::error::RvError;
use cryptoki::mechanism::{Mechanism, MechanismType};
use cryptoki::object::{Attribute, AttributeType, KeyType as CkKeyType, ObjectClass, ObjectHandle};
use rsa::BoxedUint;
use sha2::Sha256;
use zeroize::Zeroizing;

use crate::error::HsmError;
use crate::keys::{aes_zero_block, host_hmac, p256_key_id, rsa_key_id, CheckValue, PrivateKeyDer};
use crate::mechanism::{standard, RsaAesKeyWrapParams, CKM_AES_KEY_WRAP_KWP, CKM_RSA_AES_KEY_WRAP};
use crate::token::{fresh_id, usage_aes, usage_generic, KeyHandle, OneTime, Token};
use crate::{KeyType, KwpMechanism, OaepHash};

/// Size of the token's one-time unwrap key: RSA-3072 gives 128-bit strength, as AES-256 does
/// more than enough.
const UNWRAP_KEY_BITS: u64 = 3072;
/// The label of the one-time objects, so an operator (and the tests) can see none is left.
pub(crate) const ONE_TIME_LABEL: &str = "quorum one-time unwrap key";
/// The fixed message a P-256 key signs in the token to prove it holds the private key.
const ECDSA_CHECK_MESSAGE: &[u8] = b"quorum P-256 key check";
/// The fixed message an RSA key signs in the token to prove it holds the private key.
const RSA_CHECK_MESSAGE: &[u8] = b"quorum RSA key check";
/// The DER prefix of a PKCS#1 v1.5 DigestInfo for SHA-256 (RFC 8017 section 9.2), for a
/// token that signs with raw `CKM_RSA_PKCS` only.
const SHA256_DIGEST_INFO: [u8; 19] = [
    0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05,
    0x00, 0x04, 0x20,
];

/// Which AES operations the imported key may perform (PKCS#11 usage attributes), because an
/// HSM key is usually confined to what its application needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AesUsage {
    /// CKA_ENCRYPT; also what lets the token compute the check value.
    pub encrypt: bool,
    /// CKA_DECRYPT.
    pub decrypt: bool,
    /// CKA_WRAP.
    pub wrap: bool,
    /// CKA_UNWRAP.
    pub unwrap: bool,
}

impl Default for AesUsage {
    fn default() -> Self {
        AesUsage {
            encrypt: true,
            decrypt: true,
            wrap: true,
            unwrap: true,
        }
    }
}

/// Which RSA operations the imported private key may perform, because a signing key should
/// not also decrypt (and the reverse) where its application says so.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RsaUsage {
    /// CKA_SIGN; also what lets the token prove it holds the key (a check signature).
    pub sign: bool,
    /// CKA_DECRYPT.
    pub decrypt: bool,
}

impl Default for RsaUsage {
    fn default() -> Self {
        RsaUsage {
            sign: true,
            decrypt: true,
        }
    }
}

/// What the caller allows an import to do beyond the safe default.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ImportOptions {
    /// Replace objects that already carry the label (removed only after the new key is
    /// proven); otherwise an existing label is refused.
    pub replace: bool,
    /// Fall back to `C_CreateObject` with the plaintext value when no wrapped path works.
    pub allow_plaintext_import: bool,
    /// The usage attributes of an AES key.
    pub aes_usage: AesUsage,
    /// The usage attributes of an RSA private key.
    pub rsa_usage: RsaUsage,
}

/// How the secret reached the token, so the operator's record says it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ImportPath {
    /// One `C_UnwrapKey` with `CKM_RSA_AES_KEY_WRAP`.
    RsaAesKeyWrap {
        /// The OAEP digest the token accepted.
        oaep: OaepHash,
    },
    /// `C_UnwrapKey` with RSA-OAEP for the transport key, then with AES-KWP for the secret.
    RsaOaepThenKwp {
        /// The OAEP digest the token accepted.
        oaep: OaepHash,
        /// The KWP mechanism the token accepted.
        kwp: KwpMechanism,
    },
    /// `C_CreateObject` with the plaintext value (allowed by the caller).
    Plaintext,
}

impl std::fmt::Display for ImportPath {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ImportPath::RsaAesKeyWrap { oaep } => {
                write!(f, "CKM_RSA_AES_KEY_WRAP (OAEP {oaep})")
            }
            ImportPath::RsaOaepThenKwp { oaep, kwp } => {
                write!(f, "CKM_RSA_PKCS_OAEP ({oaep}) then {kwp}")
            }
            ImportPath::Plaintext => f.write_str("C_CreateObject with the plaintext value"),
        }
    }
}

/// What an import created, for the operator's record.
#[derive(Clone, Debug)]
pub struct Imported {
    /// The new key object.
    pub handle: KeyHandle,
    /// Its CKA_LABEL.
    pub label: String,
    /// Its CKA_ID, lower-case hex.
    pub id: String,
    /// The check computed in the token, equal to the host's.
    pub check: CheckValue,
    /// How the secret reached the token.
    pub path: ImportPath,
    /// How many objects with the same label were removed (only with `replace`).
    pub replaced: usize,
}

#[cfg(test)]
thread_local! {
    /// Test hook (test builds only): fail right after the one-time unwrap key exists.
    pub(crate) static FAIL_AFTER_UNWRAP_KEY: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Whether a token's answer means "this path does not work here, try the next".
pub(crate) fn path_refused(e: &HsmError) -> bool {
    matches!(
        e.rv(),
        Some(
            RvError::MechanismInvalid
                | RvError::MechanismParamInvalid
                | RvError::ArgumentsBad
                | RvError::FunctionNotSupported
                | RvError::UnwrappingKeyTypeInconsistent
                | RvError::UnwrappingKeySizeRange
                | RvError::WrappedKeyInvalid
                | RvError::WrappedKeyLenRange
                | RvError::EncryptedDataInvalid
                | RvError::EncryptedDataLenRange
        )
    )
}

impl Token {
    /// Whether the token offers the mechanisms of at least one wrapped import path (as
    /// `C_GetMechanismList` and `C_GetMechanismInfo` say), so that a token that cannot take
    /// the key wrapped is refused before the secret is recovered; `NoWrapPath` lists what
    /// is missing. Trial at import time still decides (a listed mechanism may refuse).
    pub fn wrapped_import_offered(&self) -> Result<(), HsmError> {
        let pair = self.lists(MechanismType::RSA_PKCS_KEY_PAIR_GEN);
        let rsa_aes = self.knows(standard(CKM_RSA_AES_KEY_WRAP));
        let oaep = self.lists(MechanismType::RSA_PKCS_OAEP);
        let kwp = self.knows(standard(CKM_AES_KEY_WRAP_KWP))
            || self.lists(MechanismType::AES_KEY_WRAP_PAD);
        if pair && (rsa_aes || (oaep && kwp)) {
            return Ok(());
        }
        let missing: Vec<&str> = [
            (
                pair,
                "CKM_RSA_PKCS_KEY_PAIR_GEN (the one-time unwrap key): not offered",
            ),
            (rsa_aes, "CKM_RSA_AES_KEY_WRAP: not offered"),
            (oaep, "CKM_RSA_PKCS_OAEP: not offered"),
            (
                kwp,
                "CKM_AES_KEY_WRAP_KWP and CKM_AES_KEY_WRAP_PAD: not offered",
            ),
        ]
        .into_iter()
        .filter(|(offered, _)| !offered)
        .map(|(_, what)| what)
        .collect();
        Err(HsmError::NoWrapPath {
            tried: missing.join("; "),
        })
    }

    /// Creates the key `key_label` in the token from `secret` without the secret ever being
    /// in the clear outside this process, proves it by a check computed in the token, and
    /// says which path was used; see the module comment for the order of paths.
    pub fn import_secret(
        &mut self,
        secret: &[u8],
        key_label: &str,
        key_type: KeyType,
        options: ImportOptions,
    ) -> Result<Imported, HsmError> {
        if !key_type.fits(secret.len()) {
            return Err(HsmError::SecretLength {
                key_type,
                len: secret.len(),
            });
        }
        // A private key is parsed before anything reaches the token; only its DER is sent.
        let private = PrivateKeyDer::parse(secret, key_type)?;
        let secret = private.as_ref().map_or(secret, PrivateKeyDer::der);
        let existing = self.objects_labelled(key_label)?;
        if !existing.is_empty() && !options.replace {
            return Err(HsmError::LabelExists {
                label: key_label.to_owned(),
                count: existing.len(),
            });
        }
        let id = fresh_id()?;
        let id_hex = hex::encode(&id);
        let template = key_template(key_label, &id, key_type, &options);

        let options = ImportOptions {
            allow_plaintext_import: options.allow_plaintext_import && private.is_none(),
            ..options
        };
        let (handle, path, one_time) = self.unwrap_into_token(secret, &template, &options)?;
        let after = |step: &'static str, e: HsmError| HsmError::AfterImport {
            label: key_label.to_owned(),
            id: id_hex.clone(),
            step,
            source: Box::new(e),
        };
        if let Some(one_time) = one_time {
            one_time
                .finish()
                .map_err(|e| after("destroying the one-time unwrap key", e))?;
        }
        let check = self
            .check_value(handle, key_type, secret, private.as_ref(), &options)
            .map_err(|e| match e {
                HsmError::CheckMismatch { .. } => HsmError::CheckMismatch {
                    label: key_label.to_owned(),
                    id: id_hex.clone(),
                },
                e => after("computing the check value", e),
            })?;
        for old in &existing {
            self.session.destroy_object(*old).map_err(|e| {
                after(
                    "removing the replaced objects",
                    HsmError::at("destroying an object")(e),
                )
            })?;
        }
        Ok(Imported {
            handle: KeyHandle(handle),
            label: key_label.to_owned(),
            id: id_hex,
            check,
            path,
            replaced: existing.len(),
        })
    }

    /// Runs the paths in order; returns the new key, the path, and the one-time objects
    /// still to destroy.
    fn unwrap_into_token(
        &self,
        secret: &[u8],
        template: &[Attribute],
        options: &ImportOptions,
    ) -> Result<(ObjectHandle, ImportPath, Option<OneTime<'_>>), HsmError> {
        let mut tried: Vec<String> = Vec::new();
        let mut one_time = OneTime::new(&self.session);
        match self.one_time_rsa(&mut one_time) {
            Ok((private, public)) => {
                #[cfg(test)]
                if FAIL_AFTER_UNWRAP_KEY.with(|f| f.get()) {
                    return Err(HsmError::Binding {
                        step: "the test hook after the unwrap key",
                        detail: "injected".into(),
                    });
                }
                if self.knows(standard(CKM_RSA_AES_KEY_WRAP)) {
                    for oaep in OaepHash::ORDER {
                        match self.rsa_aes_key_wrap(private, &public, oaep, secret, template) {
                            Ok(h) => {
                                return Ok((h, ImportPath::RsaAesKeyWrap { oaep }, Some(one_time)))
                            }
                            Err(e) if path_refused(&e) => {
                                tried.push(format!("CKM_RSA_AES_KEY_WRAP with OAEP {oaep}: {e}"))
                            }
                            Err(e) => return Err(e),
                        }
                    }
                } else {
                    tried.push("CKM_RSA_AES_KEY_WRAP: not offered".into());
                }
                let mut kwps = Vec::new();
                if self.knows(standard(CKM_AES_KEY_WRAP_KWP)) {
                    kwps.push(KwpMechanism::Kwp);
                } else {
                    tried.push("CKM_AES_KEY_WRAP_KWP: not offered".into());
                }
                if self.lists(MechanismType::AES_KEY_WRAP_PAD) {
                    kwps.push(KwpMechanism::Pad);
                } else {
                    tried.push("CKM_AES_KEY_WRAP_PAD: not offered".into());
                }
                if !kwps.is_empty() {
                    if let Some(r) = self.oaep_then_kwp(
                        private,
                        &public,
                        &kwps,
                        secret,
                        template,
                        &mut one_time,
                        &mut tried,
                    )? {
                        return Ok((r.0, r.1, Some(one_time)));
                    }
                }
            }
            Err(e) if path_refused(&e) => tried.push(format!("a one-time RSA unwrap key: {e}")),
            Err(e) => return Err(e),
        }
        one_time.finish()?;
        if options.allow_plaintext_import {
            let mut t = template.to_vec();
            t.push(Attribute::Value(secret.to_vec()));
            let created = self.session.create_object(&t);
            // The template's copy of the value is wiped whatever the token said.
            for a in &mut t {
                if let Attribute::Value(v) = a {
                    zeroize::Zeroize::zeroize(v);
                }
            }
            let h = created.map_err(HsmError::at("creating the key from its plaintext"))?;
            return Ok((h, ImportPath::Plaintext, None));
        }
        Err(HsmError::NoWrapPath {
            tried: tried.join("; "),
        })
    }

    /// The token's one-time RSA key pair: private part non-extractable, sensitive, a session
    /// object; its public part read back as an `rsa` key for the host.
    fn one_time_rsa(
        &self,
        one_time: &mut OneTime<'_>,
    ) -> Result<(ObjectHandle, rsa::PublicKey), HsmError> {
        let label = ONE_TIME_LABEL.as_bytes().to_vec();
        let public_template = [
            Attribute::Token(false),
            Attribute::Private(false),
            Attribute::Label(label.clone()),
            Attribute::ModulusBits(UNWRAP_KEY_BITS.into()),
            Attribute::PublicExponent(vec![1, 0, 1]),
            Attribute::Encrypt(true),
            Attribute::Wrap(true),
        ];
        let private_template = [
            Attribute::Token(false),
            Attribute::Private(true),
            Attribute::Label(label),
            Attribute::Sensitive(true),
            Attribute::Extractable(false),
            Attribute::Decrypt(false),
            Attribute::Sign(false),
            Attribute::Unwrap(true),
        ];
        let (public, private) = self
            .session
            .generate_key_pair(
                &Mechanism::RsaPkcsKeyPairGen,
                &public_template,
                &private_template,
            )
            .map_err(HsmError::at("generating the one-time unwrap key"))?;
        one_time.push(private);
        one_time.push(public);
        let attrs = self
            .session
            .get_attributes(
                public,
                &[AttributeType::Modulus, AttributeType::PublicExponent],
            )
            .map_err(HsmError::at("reading the unwrap key's public part"))?;
        let (mut n, mut e) = (None, None);
        for a in attrs {
            match a {
                Attribute::Modulus(v) => n = Some(v),
                Attribute::PublicExponent(v) => e = Some(v),
                _ => {}
            }
        }
        let (Some(n), Some(e)) = (n, e) else {
            return Err(HsmError::Binding {
                step: "reading the unwrap key's public part",
                detail: "the token gave no modulus or exponent".into(),
            });
        };
        let key = rsa::PublicKey::new(
            BoxedUint::from_be_slice_vartime(&n),
            BoxedUint::from_be_slice_vartime(&e),
        )
        .map_err(|e| HsmError::HostCrypto {
            step: "reading the unwrap key",
            detail: e.to_string(),
        })?;
        Ok((private, key))
    }

    /// Path 1: one `C_UnwrapKey` with `CKM_RSA_AES_KEY_WRAP`.
    fn rsa_aes_key_wrap(
        &self,
        private: ObjectHandle,
        public: &rsa::PublicKey,
        oaep: OaepHash,
        secret: &[u8],
        template: &[Attribute],
    ) -> Result<ObjectHandle, HsmError> {
        let transport = transport_key()?;
        let mut blob = oaep_encrypt(public, oaep, &transport[..])?;
        blob.extend_from_slice(&kwp_wrap(&transport, secret)?);
        let oaep_params = oaep.params();
        let params = RsaAesKeyWrapParams::new(&oaep_params);
        self.session
            .unwrap_key(&params.mechanism(), private, &blob, template)
            .map_err(HsmError::at("unwrapping with CKM_RSA_AES_KEY_WRAP"))
    }

    /// Path 2: the transport key under RSA-OAEP, then the secret under AES-KWP. `Ok(None)`
    /// when every combination was refused (each answer added to `tried`).
    #[allow(clippy::too_many_arguments)]
    fn oaep_then_kwp(
        &self,
        private: ObjectHandle,
        public: &rsa::PublicKey,
        kwps: &[KwpMechanism],
        secret: &[u8],
        template: &[Attribute],
        one_time: &mut OneTime<'_>,
        tried: &mut Vec<String>,
    ) -> Result<Option<(ObjectHandle, ImportPath)>, HsmError> {
        let transport = transport_key()?;
        let transport_template = [
            Attribute::Class(ObjectClass::SECRET_KEY),
            Attribute::KeyType(CkKeyType::AES),
            Attribute::Token(false),
            Attribute::Private(true),
            Attribute::Sensitive(true),
            Attribute::Extractable(false),
            Attribute::Label(ONE_TIME_LABEL.as_bytes().to_vec()),
            Attribute::Unwrap(true),
            Attribute::Encrypt(false),
            Attribute::Decrypt(false),
        ];
        let mut in_token = None;
        for oaep in OaepHash::ORDER {
            let sent = oaep_encrypt(public, oaep, &transport[..])?;
            match self
                .session
                .unwrap_key(
                    &Mechanism::RsaPkcsOaep(oaep.params()),
                    private,
                    &sent,
                    &transport_template,
                )
                .map_err(HsmError::at("unwrapping the transport key with RSA-OAEP"))
            {
                Ok(h) => {
                    one_time.push(h);
                    in_token = Some((h, oaep));
                    break;
                }
                Err(e) if path_refused(&e) => tried.push(format!("RSA-OAEP {oaep}: {e}")),
                Err(e) => return Err(e),
            }
        }
        let Some((transport_handle, oaep)) = in_token else {
            return Ok(None);
        };
        let wrapped = kwp_wrap(&transport, secret)?;
        for &kwp in kwps {
            match self
                .session
                .unwrap_key(&kwp.mechanism(), transport_handle, &wrapped, template)
                .map_err(HsmError::at("unwrapping the secret with AES key wrap"))
            {
                Ok(h) => return Ok(Some((h, ImportPath::RsaOaepThenKwp { oaep, kwp }))),
                Err(e) if path_refused(&e) => tried.push(format!("{kwp}: {e}")),
                Err(e) => return Err(e),
            }
        }
        Ok(None)
    }

    /// Computes the check in the token and compares it with the host's.
    fn check_value(
        &self,
        key: ObjectHandle,
        key_type: KeyType,
        secret: &[u8],
        private: Option<&PrivateKeyDer<'_>>,
        options: &ImportOptions,
    ) -> Result<CheckValue, HsmError> {
        match (key_type, private) {
            (KeyType::Aes, _) if !options.aes_usage.encrypt => Ok(CheckValue::NotComputed),
            (KeyType::Aes, _) => {
                let token = self
                    .session
                    .encrypt(&Mechanism::AesEcb, key, &[0u8; 16])
                    .map_err(HsmError::at("computing the key check value"))?;
                let host = aes_zero_block(secret)?;
                if token.len() != 16 || token[..] != host[..] {
                    return Err(mismatch());
                }
                Ok(CheckValue::AesKcv([host[0], host[1], host[2]]))
            }
            (KeyType::GenericSecret, _) => {
                let token = self
                    .session
                    .sign(&Mechanism::Sha256Hmac, key, crate::keys::HMAC_CHECK_MESSAGE)
                    .map_err(HsmError::at("computing the HMAC check"))?;
                let host = host_hmac(secret)?;
                if token[..] != host[..] {
                    return Err(mismatch());
                }
                Ok(CheckValue::HmacSha256([host[0], host[1], host[2]]))
            }
            (_, Some(PrivateKeyDer::P256(_, public))) => self.ecdsa_check(key, public),
            (_, Some(PrivateKeyDer::Rsa(..))) if !options.rsa_usage.sign => {
                Ok(CheckValue::NotComputed)
            }
            (_, Some(PrivateKeyDer::Rsa(_, public))) => self.rsa_check(key, public),
            (KeyType::EcP256 | KeyType::Rsa, None) => Err(HsmError::HostCrypto {
                step: "the signature check",
                detail: "no public key was derived".into(),
            }),
        }
    }

    /// Signs the fixed message in the token (`CKM_ECDSA_SHA256` where listed, else
    /// `CKM_ECDSA` over the host's SHA-256 digest) and verifies it with the host's public key.
    fn ecdsa_check(
        &self,
        key: ObjectHandle,
        public: &p256::PublicKey,
    ) -> Result<CheckValue, HsmError> {
        use p256::ecdsa::signature::hazmat::PrehashVerifier;
        use sha2::Digest;

        let digest = Sha256::digest(ECDSA_CHECK_MESSAGE);
        let signature = if self.lists(MechanismType::ECDSA_SHA256) {
            self.session
                .sign(&Mechanism::EcdsaSha256, key, ECDSA_CHECK_MESSAGE)
                .map_err(HsmError::at(
                    "signing the check message with CKM_ECDSA_SHA256",
                ))?
        } else {
            self.session
                .sign(&Mechanism::Ecdsa, key, &digest)
                .map_err(HsmError::at("signing the check digest with CKM_ECDSA"))?
        };
        let signature = p256::ecdsa::Signature::from_slice(&signature).map_err(|_| mismatch())?;
        p256::ecdsa::VerifyingKey::from(public)
            .verify_prehash(&digest, &signature)
            .map_err(|_| mismatch())?;
        Ok(CheckValue::EcdsaP256(p256_key_id(public)))
    }

    /// Signs the fixed message in the token with PKCS#1 v1.5 and SHA-256
    /// (`CKM_SHA256_RSA_PKCS` where listed, else `CKM_RSA_PKCS` over the host's DigestInfo)
    /// and verifies it with the host's public key.
    fn rsa_check(
        &self,
        key: ObjectHandle,
        public: &rsa::PublicKey,
    ) -> Result<CheckValue, HsmError> {
        use sha2::Digest;

        let digest = Sha256::digest(RSA_CHECK_MESSAGE);
        let signature = if self.lists(MechanismType::SHA256_RSA_PKCS) {
            self.session
                .sign(&Mechanism::Sha256RsaPkcs, key, RSA_CHECK_MESSAGE)
                .map_err(HsmError::at(
                    "signing the check message with CKM_SHA256_RSA_PKCS",
                ))?
        } else {
            let mut info = SHA256_DIGEST_INFO.to_vec();
            info.extend_from_slice(&digest);
            self.session
                .sign(&Mechanism::RsaPkcs, key, &info)
                .map_err(HsmError::at("signing the check digest with CKM_RSA_PKCS"))?
        };
        public
            .verify(rsa::Pkcs1v15Sign::new::<Sha256>(), &digest, &signature)
            .map_err(|_| mismatch())?;
        Ok(CheckValue::RsaSignature(rsa_key_id(public)))
    }
}

/// Placeholder mismatch, given the key's label and id by the caller.
fn mismatch() -> HsmError {
    HsmError::CheckMismatch {
        label: String::new(),
        id: String::new(),
    }
}

/// The template of the imported key (a secret key, or a private key for P-256 and RSA): a
/// token object, sensitive, never extractable.
fn key_template(
    label: &str,
    id: &[u8],
    key_type: KeyType,
    options: &ImportOptions,
) -> Vec<Attribute> {
    let class = if key_type.is_private_key() {
        ObjectClass::PRIVATE_KEY
    } else {
        ObjectClass::SECRET_KEY
    };
    let mut t = vec![
        Attribute::Class(class),
        Attribute::Token(true),
        Attribute::Private(true),
        Attribute::Sensitive(true),
        Attribute::Extractable(false),
        Attribute::Label(label.as_bytes().to_vec()),
        Attribute::Id(id.to_vec()),
    ];
    match key_type {
        KeyType::Aes => {
            t.push(Attribute::KeyType(CkKeyType::AES));
            t.extend(usage_aes(&options.aes_usage));
        }
        KeyType::EcP256 => {
            // No CKA_EC_PARAMS: the curve comes with the PKCS#8, and SoftHSM 2.6.1 answers
            // CKR_ATTRIBUTE_READ_ONLY when the unwrap template names it.
            t.push(Attribute::KeyType(CkKeyType::EC));
            t.push(Attribute::Sign(true));
            t.push(Attribute::Decrypt(false));
            t.push(Attribute::Unwrap(false));
            t.push(Attribute::Derive(false));
        }
        KeyType::Rsa => {
            // No modulus or exponents: they come with the PKCS#8.
            t.push(Attribute::KeyType(CkKeyType::RSA));
            t.push(Attribute::Sign(options.rsa_usage.sign));
            t.push(Attribute::Decrypt(options.rsa_usage.decrypt));
            t.push(Attribute::Unwrap(false));
            t.push(Attribute::Derive(false));
        }
        KeyType::GenericSecret => {
            // No CKA_VALUE_LEN: the length comes with the unwrapped value, and SoftHSM 2.6.1
            // answers CKR_ATTRIBUTE_READ_ONLY when the template names it.
            t.push(Attribute::KeyType(CkKeyType::GENERIC_SECRET));
            t.extend(usage_generic());
        }
    }
    t
}

/// A fresh AES-256 transport key, wiped when dropped.
fn transport_key() -> Result<Zeroizing<[u8; 32]>, HsmError> {
    let mut k = Zeroizing::new([0u8; 32]);
    getrandom::fill(&mut k[..]).map_err(|e| HsmError::Random(e.to_string()))?;
    Ok(k)
}

/// RSA-OAEP encryption to the token's one-time public key, with the digest being tried.
fn oaep_encrypt(
    public: &rsa::PublicKey,
    oaep: OaepHash,
    plain: &[u8],
) -> Result<Vec<u8>, HsmError> {
    match oaep {
        OaepHash::Sha256 => public.oaep_encrypt::<Sha256>(plain),
        OaepHash::Sha1 => public.oaep_encrypt::<sha1::Sha1>(plain),
    }
    .map_err(|e| HsmError::HostCrypto {
        step: "RSA-OAEP encryption of the transport key",
        detail: e.to_string(),
    })
}

/// RFC 5649 key wrap with padding of `secret` under the transport key.
fn kwp_wrap(transport: &[u8; 32], secret: &[u8]) -> Result<Vec<u8>, HsmError> {
    let kwp = KwpAes256::new_from_slice(transport).map_err(|e| HsmError::HostCrypto {
        step: "AES key wrap",
        detail: e.to_string(),
    })?;
    let mut buf = vec![0u8; secret.len().div_ceil(8) * 8 + 8];
    let out = kwp
        .wrap_key(secret, &mut buf)
        .map_err(|e| HsmError::HostCrypto {
            step: "AES key wrap",
            detail: e.to_string(),
        })?;
    Ok(out.to_vec())
}
