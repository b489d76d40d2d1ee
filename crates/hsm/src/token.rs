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

use cryptoki::slot::TokenInfo;

use crate::error::{HsmError, PinTries};
use crate::keys::{CheckValue, HMAC_CHECK_MESSAGE};
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

/// A token found by its label in a loaded module, not yet logged in, so the caller can see
/// how the token wants its PIN (its own PIN pad or not) and whether the PIN is locked before
/// it asks anyone for anything.
pub struct Located {
    ctx: Pkcs11,
    slot: Slot,
    label: String,
    protected_path: bool,
    pub(crate) pin_locked: bool,
    tries: PinTries,
}

impl std::fmt::Debug for Located {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Located")
            .field("label", &self.label)
            .field("slot", &self.slot)
            .field("protected_path", &self.protected_path)
            .field("pin_locked", &self.pin_locked)
            .field("tries", &self.tries)
            .finish()
    }
}

/// How to log in as the token's user, because a token with a PIN pad takes the PIN there and
/// must be sent none.
#[derive(Clone, Copy)]
pub enum Login<'a> {
    /// The user PIN, sent to `C_Login` (copied into a buffer zeroized when the call returns).
    Pin(&'a [u8]),
    /// `C_Login` with a NULL PIN: the operator enters the PIN on the token's own PIN pad
    /// (`CKF_PROTECTED_AUTHENTICATION_PATH`).
    ProtectedPath,
}

impl std::fmt::Debug for Login<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Login::Pin(_) => f.write_str("Pin(<redacted>)"),
            Login::ProtectedPath => f.write_str("ProtectedPath"),
        }
    }
}

impl Located {
    /// Whether the token has its own PIN pad (`CKF_PROTECTED_AUTHENTICATION_PATH`), so the
    /// caller logs in with [`Login::ProtectedPath`] and asks for no PIN itself.
    pub fn protected_authentication_path(&self) -> bool {
        self.protected_path
    }

    /// Whether the user PIN is locked (`CKF_USER_PIN_LOCKED`), so the ceremony refuses the
    /// token before it asks for anything; only the token's security officer can unlock it.
    pub fn user_pin_locked(&self) -> bool {
        self.pin_locked
    }

    /// What the token reports about the user PIN's tries left, to warn before a PIN is
    /// entered.
    pub fn user_pin_tries(&self) -> PinTries {
        self.tries
    }

    /// The token's label, for messages.
    pub fn label(&self) -> &str {
        &self.label
    }

    /// Opens a read-write session and logs in as user, so that the caller holds one session
    /// for the whole ceremony. A locked PIN is refused before `C_Login`, and so is
    /// [`Login::ProtectedPath`] on a token without a PIN pad (a NULL PIN could cost a try).
    pub fn login(self, login: Login<'_>) -> Result<Token, HsmError> {
        if self.pin_locked {
            return Err(HsmError::PinLocked);
        }
        if matches!(login, Login::ProtectedPath) && !self.protected_path {
            return Err(HsmError::NoProtectedPath { token: self.label });
        }
        let Located {
            ctx, slot, label, ..
        } = self;
        let session = ctx
            .open_rw_session(slot)
            .map_err(HsmError::at("opening a session"))?;
        let answer = match login {
            Login::Pin(user_pin) => {
                let pin = RawAuthPin::new(Box::new(user_pin.to_vec()));
                session.login_with_raw(UserType::User, &pin)
            }
            Login::ProtectedPath => session.login(UserType::User, None),
        };
        match answer {
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
                return Err(HsmError::WrongPin {
                    tries: tries_of(&info),
                });
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
            label,
        })
    }
}

/// What a key generated in the token is, for the operator's record: the same fields an
/// import reports.
#[derive(Clone, Debug)]
pub struct Generated {
    /// The new key object.
    pub handle: KeyHandle,
    /// Its CKA_LABEL.
    pub label: String,
    /// Its CKA_ID, lower-case hex.
    pub id: String,
    /// The check value computed in the token (AES: KCV, generic secret: HMAC check).
    pub check: CheckValue,
}

impl Token {
    /// Loads the module and finds the initialised token labelled `token_label` without
    /// logging in, so the caller learns how the token takes its PIN before asking for one.
    pub fn locate(module_path: &Path, token_label: &str) -> Result<Located, HsmError> {
        let ctx = load(module_path)?;
        let slot = find_token(&ctx, token_label)?;
        let info = ctx
            .get_token_info(slot)
            .map_err(HsmError::at("reading token flags"))?;
        Ok(Located {
            protected_path: info.protected_authentication_path(),
            pin_locked: info.user_pin_locked(),
            tries: tries_of(&info),
            ctx,
            slot,
            label: token_label.to_owned(),
        })
    }

    /// Loads the module, finds the initialised token labelled `token_label` and logs in as
    /// user with `user_pin`, so that the caller holds one session for the whole ceremony
    /// (shorthand for [`Token::locate`] then [`Located::login`] with [`Login::Pin`]).
    pub fn open(module_path: &Path, token_label: &str, user_pin: &[u8]) -> Result<Token, HsmError> {
        Token::locate(module_path, token_label)?.login(Login::Pin(user_pin))
    }

    /// The token's label, for messages.
    pub fn label(&self) -> &str {
        &self.label
    }

    /// Makes an extractable secret key in the token, so that quorum can back up a key that
    /// never existed anywhere else (the key then lives in the token and on the cards); its
    /// check value is computed in the token. A key whose check fails is destroyed again.
    pub fn generate_secret(
        &mut self,
        key_label: &str,
        key_type: KeyType,
        len: usize,
    ) -> Result<Generated, HsmError> {
        if key_type.is_private_key() {
            return Err(HsmError::NotForKeyType {
                key_type,
                operation: "generate in the token",
            });
        }
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
        let id = fresh_id()?;
        let mut template = vec![
            Attribute::Token(true),
            Attribute::Private(true),
            Attribute::Sensitive(true),
            Attribute::Extractable(true),
            Attribute::Label(key_label.as_bytes().to_vec()),
            Attribute::Id(id.clone()),
            Attribute::ValueLen((len as u64).into()),
        ];
        let mechanism = if key_type == KeyType::Aes {
            template.extend(usage_aes(&crate::AesUsage::default()));
            Mechanism::AesKeyGen
        } else {
            template.extend(usage_generic());
            Mechanism::GenericSecretKeyGen
        };
        let handle = self
            .session
            .generate_key(&mechanism, &template)
            .map_err(HsmError::at("generating the key"))?;
        let check = match self.token_check(handle, key_type) {
            Ok(check) => check,
            Err(e) => {
                let _ = self.session.destroy_object(handle);
                return Err(e);
            }
        };
        Ok(Generated {
            handle: KeyHandle(handle),
            label: key_label.to_owned(),
            id: hex::encode(id),
            check,
        })
    }

    /// Destroys a key object, so that a key quorum generated for a backup that then failed
    /// does not stay behind in the token.
    pub fn destroy_key(&mut self, handle: KeyHandle) -> Result<(), HsmError> {
        self.session
            .destroy_object(handle.0)
            .map_err(HsmError::at("destroying the key"))
    }

    /// Marks a key non-extractable (PKCS#11 allows only this direction), so that a key quorum
    /// has backed up can no longer be wrapped out of the token: it then exists only in the
    /// token and on the custodian cards.
    pub fn forbid_export(&mut self, handle: KeyHandle) -> Result<(), HsmError> {
        self.session
            .update_attributes(handle.0, &[Attribute::Extractable(false)])
            .map_err(HsmError::at("marking the key non-extractable"))
    }

    /// How many objects (of any class) carry this label, so a caller can refuse a label that
    /// is taken before anything else happens.
    pub fn objects_with_label(&self, label: &str) -> Result<usize, HsmError> {
        Ok(self.objects_labelled(label)?.len())
    }

    /// The check value of a secret key computed in the token alone: AES-ECB of a zero block
    /// (KCV), or HMAC-SHA256 of the fixed check message.
    pub(crate) fn token_check(
        &self,
        key: ObjectHandle,
        key_type: KeyType,
    ) -> Result<CheckValue, HsmError> {
        match key_type {
            KeyType::Aes => {
                let v = self
                    .session
                    .encrypt(&Mechanism::AesEcb, key, &[0u8; 16])
                    .map_err(HsmError::at("computing the key check value"))?;
                short(&v).map(CheckValue::AesKcv)
            }
            KeyType::GenericSecret => {
                let v = self
                    .session
                    .sign(&Mechanism::Sha256Hmac, key, HMAC_CHECK_MESSAGE)
                    .map_err(HsmError::at("computing the HMAC check"))?;
                short(&v).map(CheckValue::HmacSha256)
            }
            KeyType::EcP256 | KeyType::Rsa => Err(HsmError::NotForKeyType {
                key_type,
                operation: "compute a check value without the public key of",
            }),
        }
    }

    /// All objects (any class) with this label, to refuse or replace a label that exists.
    pub(crate) fn objects_labelled(&self, label: &str) -> Result<Vec<ObjectHandle>, HsmError> {
        self.session
            .find_objects(&[Attribute::Label(label.as_bytes().to_vec())])
            .map_err(HsmError::at("searching objects by label"))
    }

    /// The objects of one class with this label.
    pub(crate) fn labelled(
        &self,
        class: ObjectClass,
        label: &str,
    ) -> Result<Vec<ObjectHandle>, HsmError> {
        self.session
            .find_objects(&[
                Attribute::Class(class),
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
pub(crate) fn load(module_path: &Path) -> Result<Pkcs11, HsmError> {
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
pub(crate) fn find_token(ctx: &Pkcs11, label: &str) -> Result<Slot, HsmError> {
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

/// The tries-left flags of a token, as PKCS#11 reports them.
fn tries_of(info: &TokenInfo) -> PinTries {
    if info.user_pin_final_try() {
        PinTries::FinalTry
    } else if info.user_pin_count_low() {
        PinTries::Low
    } else {
        PinTries::NotReported
    }
}

/// The first 3 bytes of a check computed in the token, refused when the token gave fewer.
fn short(v: &[u8]) -> Result<[u8; 3], HsmError> {
    match v {
        [a, b, c, ..] => Ok([*a, *b, *c]),
        _ => Err(HsmError::Binding {
            step: "reading the check value",
            detail: format!("the token gave {} bytes", v.len()),
        }),
    }
}

/// Session objects destroyed whatever happens, so no one-time key outlives the operation
/// that made it.
pub(crate) struct OneTime<'s> {
    session: &'s Session,
    handles: Vec<ObjectHandle>,
}

impl<'s> OneTime<'s> {
    /// No objects yet; each one is added as soon as it exists.
    pub(crate) fn new(session: &'s Session) -> Self {
        OneTime {
            session,
            handles: Vec::new(),
        }
    }

    /// Adds an object to destroy.
    pub(crate) fn push(&mut self, handle: ObjectHandle) {
        self.handles.push(handle);
    }

    /// Destroys every one-time object now, reporting the first failure.
    pub(crate) fn finish(mut self) -> Result<(), HsmError> {
        let mut result = Ok(());
        for h in self.handles.drain(..) {
            if let Err(e) = self.session.destroy_object(h) {
                if result.is_ok() {
                    result = Err(HsmError::at("destroying a one-time key")(e));
                }
            }
        }
        result
    }
}

impl Drop for OneTime<'_> {
    fn drop(&mut self) {
        for h in self.handles.drain(..) {
            let _ = self.session.destroy_object(h);
        }
    }
}
