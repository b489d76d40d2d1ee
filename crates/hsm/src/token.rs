//! Opening a token (load the module, find the token by label, log in as user) and the small
//! object operations both directions share.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::error::{Error as Pkcs11Error, RvError};
use cryptoki::mechanism::{Mechanism, MechanismType};
use cryptoki::object::{Attribute, AttributeType, KeyType as CkKeyType, ObjectClass, ObjectHandle};
use cryptoki::session::{Session, UserType};
use cryptoki::slot::Slot;
use cryptoki::types::RawAuthPin;

use crate::error::{HsmError, PinTries};
use crate::KeyType;

/// A logged-in read-write session on one token, the handle every operation goes through.
pub struct Token {
    pub(crate) ctx: Pkcs11,
    pub(crate) slot: Slot,
    pub(crate) session: Session,
    label: String,
}

/// A key object in the token, returned so the caller can name it (the raw handle is only
/// valid while the module is loaded).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KeyHandle(pub(crate) ObjectHandle);

impl KeyHandle {
    /// The PKCS#11 object handle number, for the operator's record.
    #[allow(clippy::useless_conversion, reason = "CK_ULONG is u32 on Windows")]
    pub fn raw(self) -> u64 {
        u64::from(self.0.handle())
    }
}

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Token")
            .field("label", &self.label)
            .field("slot", &self.slot)
            .finish()
    }
}

impl Token {
    /// Loads the module, finds the initialised token labelled `token_label` and logs in as
    /// user with `user_pin`, so that the caller holds one session for the whole ceremony.
    /// The PIN is copied into a buffer that is zeroized when the login returns.
    pub fn open(module_path: &Path, token_label: &str, user_pin: &[u8]) -> Result<Token, HsmError> {
        let ctx = load(module_path)?;
        let slot = find_token(&ctx, token_label)?;
        let session = ctx
            .open_rw_session(slot)
            .map_err(HsmError::at("opening a session"))?;
        let pin = RawAuthPin::new(Box::new(user_pin.to_vec()));
        let login = session.login_with_raw(UserType::User, &pin);
        drop(pin);
        match login {
            Ok(()) | Err(Pkcs11Error::Pkcs11(RvError::UserAlreadyLoggedIn, _)) => {}
            Err(Pkcs11Error::Pkcs11(RvError::PinIncorrect, _))
            | Err(Pkcs11Error::Pkcs11(RvError::PinLenRange, _))
            | Err(Pkcs11Error::Pkcs11(RvError::PinInvalid, _)) => {
                let info = ctx
                    .get_token_info(slot)
                    .map_err(HsmError::at("reading token flags"))?;
                if info.user_pin_locked() {
                    return Err(HsmError::PinLocked);
                }
                let tries = if info.user_pin_final_try() {
                    PinTries::FinalTry
                } else if info.user_pin_count_low() {
                    PinTries::Low
                } else {
                    PinTries::NotReported
                };
                return Err(HsmError::WrongPin { tries });
            }
            Err(Pkcs11Error::Pkcs11(RvError::PinLocked, _)) => return Err(HsmError::PinLocked),
            Err(Pkcs11Error::Pkcs11(RvError::UserPinNotInitialized, _)) => {
                return Err(HsmError::PinNotInitialised)
            }
            Err(e) => return Err(HsmError::at("logging in")(e)),
        }
        Ok(Token {
            ctx,
            slot,
            session,
            label: token_label.to_owned(),
        })
    }

    /// The token's label, for messages.
    pub fn label(&self) -> &str {
        &self.label
    }

    /// Makes an extractable secret key in the token, so that quorum can back up a key that
    /// never existed anywhere else (the key then lives in the token and on the cards).
    pub fn generate_secret(
        &mut self,
        key_label: &str,
        key_type: KeyType,
        len: usize,
    ) -> Result<KeyHandle, HsmError> {
        if !key_type.fits(len) {
            return Err(HsmError::SecretLength { key_type, len });
        }
        let existing = self.objects_labelled(key_label)?;
        if !existing.is_empty() {
            return Err(HsmError::LabelExists {
                label: key_label.to_owned(),
                count: existing.len(),
            });
        }
        let mut template = vec![
            Attribute::Token(true),
            Attribute::Private(true),
            Attribute::Sensitive(true),
            Attribute::Extractable(true),
            Attribute::Label(key_label.as_bytes().to_vec()),
            Attribute::Id(fresh_id()?),
            Attribute::ValueLen((len as u64).into()),
        ];
        let mechanism = match key_type {
            KeyType::Aes => {
                template.extend(usage_aes(&crate::AesUsage::default()));
                Mechanism::AesKeyGen
            }
            KeyType::GenericSecret => {
                template.extend(usage_generic());
                Mechanism::GenericSecretKeyGen
            }
            KeyType::EcP256 => {
                return Err(HsmError::NotForKeyType {
                    key_type,
                    operation: "generate in the token",
                })
            }
        };
        let handle = self
            .session
            .generate_key(&mechanism, &template)
            .map_err(HsmError::at("generating the key"))?;
        Ok(KeyHandle(handle))
    }

    /// All objects (any class) with this label, to refuse or replace a label that exists.
    pub(crate) fn objects_labelled(&self, label: &str) -> Result<Vec<ObjectHandle>, HsmError> {
        self.session
            .find_objects(&[Attribute::Label(label.as_bytes().to_vec())])
            .map_err(HsmError::at("searching objects by label"))
    }

    /// The secret keys with this label.
    pub(crate) fn secret_keys_labelled(&self, label: &str) -> Result<Vec<ObjectHandle>, HsmError> {
        self.session
            .find_objects(&[
                Attribute::Class(ObjectClass::SECRET_KEY),
                Attribute::Label(label.as_bytes().to_vec()),
            ])
            .map_err(HsmError::at("searching keys by label"))
    }

    /// Whether the token names this mechanism in `C_GetMechanismList`.
    pub(crate) fn lists(&self, mechanism: MechanismType) -> bool {
        self.ctx
            .get_mechanism_list(self.slot)
            .map(|list| list.contains(&mechanism))
            .unwrap_or(false)
    }

    /// Whether the token knows a mechanism `cryptoki` cannot list (asked with
    /// `C_GetMechanismInfo`).
    pub(crate) fn knows(&self, mechanism: MechanismType) -> bool {
        self.ctx.get_mechanism_info(self.slot, mechanism).is_ok()
    }

    /// One boolean attribute of an object, `None` when the token does not give it.
    pub(crate) fn bool_attribute(
        &self,
        object: ObjectHandle,
        which: AttributeType,
    ) -> Result<Option<bool>, HsmError> {
        let attrs = self
            .session
            .get_attributes(object, &[which])
            .map_err(HsmError::at("reading an attribute"))?;
        Ok(attrs.into_iter().find_map(|a| match a {
            Attribute::Extractable(b) if which == AttributeType::Extractable => Some(b),
            Attribute::Sensitive(b) if which == AttributeType::Sensitive => Some(b),
            Attribute::Token(b) if which == AttributeType::Token => Some(b),
            Attribute::Sign(b) if which == AttributeType::Sign => Some(b),
            _ => None,
        }))
    }

    /// The object's key type, to tell the caller what came out of the token.
    pub(crate) fn key_type(&self, object: ObjectHandle) -> Result<Option<CkKeyType>, HsmError> {
        let attrs = self
            .session
            .get_attributes(object, &[AttributeType::KeyType])
            .map_err(HsmError::at("reading the key type"))?;
        Ok(attrs.into_iter().find_map(|a| match a {
            Attribute::KeyType(t) => Some(t),
            _ => None,
        }))
    }
}

/// Loads the module and initialises it once per process, and keeps it loaded: PKCS#11 wants
/// one `C_Initialize` per process, and unloading the library (its last handle dropped)
/// while another thread loads it again invalidated that thread's sessions in SoftHSM 2.6.1
/// (`CKR_SESSION_HANDLE_INVALID`). A second token of the same module shares the context.
fn load(module_path: &Path) -> Result<Pkcs11, HsmError> {
    static MODULES: OnceLock<Mutex<HashMap<PathBuf, Pkcs11>>> = OnceLock::new();
    let path = module_path.display().to_string();
    let Ok(canonical) = module_path.canonicalize() else {
        return Err(HsmError::ModuleMissing { path });
    };
    let mut modules = MODULES
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Some(ctx) = modules.get(&canonical) {
        return Ok(ctx.clone());
    }
    let ctx = Pkcs11::new(&canonical).map_err(|e| HsmError::NotPkcs11 {
        path: path.clone(),
        detail: e.to_string(),
    })?;
    match ctx.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK)) {
        Ok(()) | Err(Pkcs11Error::Pkcs11(RvError::CryptokiAlreadyInitialized, _)) => {}
        Err(e) => return Err(HsmError::at("initialising the module")(e)),
    }
    modules.insert(canonical, ctx.clone());
    Ok(ctx)
}

/// The slot of the one initialised token labelled `label`.
fn find_token(ctx: &Pkcs11, label: &str) -> Result<Slot, HsmError> {
    let slots = ctx
        .get_slots_with_initialized_token()
        .map_err(HsmError::at("listing tokens"))?;
    let mut present = Vec::new();
    let mut found = Vec::new();
    for slot in slots {
        let info = ctx
            .get_token_info(slot)
            .map_err(HsmError::at("reading token information"))?;
        let name = info.label().trim_end().to_owned();
        if name == label {
            found.push(slot);
        }
        present.push(name);
    }
    match found.as_slice() {
        [one] => Ok(*one),
        [] => Err(HsmError::UnknownToken {
            label: label.to_owned(),
            present,
        }),
        many => Err(HsmError::AmbiguousToken {
            label: label.to_owned(),
            count: many.len(),
        }),
    }
}

/// A fresh random CKA_ID (16 bytes), so the new object can be told from any other.
pub(crate) fn fresh_id() -> Result<Vec<u8>, HsmError> {
    let mut id = vec![0u8; 16];
    getrandom::fill(&mut id).map_err(|e| HsmError::Random(e.to_string()))?;
    Ok(id)
}

/// The AES usage attributes the caller asked for.
pub(crate) fn usage_aes(usage: &crate::AesUsage) -> Vec<Attribute> {
    vec![
        Attribute::Encrypt(usage.encrypt),
        Attribute::Decrypt(usage.decrypt),
        Attribute::Wrap(usage.wrap),
        Attribute::Unwrap(usage.unwrap),
    ]
}

/// The usage attributes of a generic secret: MAC and derivation.
pub(crate) fn usage_generic() -> Vec<Attribute> {
    vec![
        Attribute::Sign(true),
        Attribute::Verify(true),
        Attribute::Derive(true),
    ]
}
