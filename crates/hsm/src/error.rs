//! The ways a token operation fails, in the words of the domain (module, token, PIN, key,
//! mechanism), never of a command line. No variant carries a secret: not the PIN, not the
//! key, not a transport key.

use cryptoki::error::{Error as Pkcs11Error, RvError};
use thiserror::Error;

use crate::KeyType;

/// Why a token operation failed, typed so the caller can word it and pick an exit status.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum HsmError {
    /// The module file does not exist, so nothing was loaded.
    #[error("PKCS#11 module {path} not found")]
    ModuleMissing {
        /// The path that was given.
        path: String,
    },
    /// The file exists but is not a loadable PKCS#11 module (no `C_GetFunctionList`, wrong
    /// architecture, not a shared library).
    #[error("{path} is not a PKCS#11 module: {detail}")]
    NotPkcs11 {
        /// The path that was given.
        path: String,
        /// What the loader said.
        detail: String,
    },
    /// No initialised token carries this label; the labels that are present are listed so
    /// the operator can correct a typo.
    #[error("no token labelled {label:?}; tokens present: {present:?}")]
    UnknownToken {
        /// The label asked for.
        label: String,
        /// The labels of the tokens the module shows.
        present: Vec<String>,
    },
    /// More than one token carries this label, so the choice would be a guess.
    #[error("{count} tokens are labelled {label:?}")]
    AmbiguousToken {
        /// The label asked for.
        label: String,
        /// How many tokens carry it.
        count: usize,
    },
    /// The token refused the user PIN; `tries` says what the token reports about the
    /// tries left.
    #[error("the token refused the user PIN ({tries})")]
    WrongPin {
        /// The retry state the token reports after the refusal.
        tries: PinTries,
    },
    /// The user PIN is locked: only the token's security officer can unlock it.
    #[error("the token's user PIN is locked")]
    PinLocked,
    /// The token has no user PIN yet (it was initialised without one).
    #[error("the token's user PIN is not initialised")]
    PinNotInitialised,
    /// A login through the token's protected authentication path (its own PIN pad) was
    /// asked for, but the token does not report one; nothing was sent, so no PIN try was
    /// spent.
    #[error("the token {token:?} has no protected authentication path (no PIN pad of its own)")]
    NoProtectedPath {
        /// The token's label.
        token: String,
    },
    /// The secret's length cannot be a key of this type (AES takes 16, 24 or 32 bytes).
    #[error("a {len}-byte secret is not {}", a_key(*key_type))]
    SecretLength {
        /// The key type asked for.
        key_type: KeyType,
        /// The secret's length in bytes.
        len: usize,
    },
    /// The secret is not a key of this type (a P-256 key must be a PKCS#8 P-256 private key);
    /// refused before anything is created in the token.
    #[error("the secret is not {}: {reason}", a_key(*key_type))]
    SecretNotKeyType {
        /// The key type asked for.
        key_type: KeyType,
        /// What the parser found wrong (never key material).
        reason: String,
    },
    /// quorum does not perform this operation for this key type (e.g. it does not generate a
    /// P-256 key in the token), so nothing was done.
    #[error("quorum cannot {operation} {}", a_key(*key_type))]
    NotForKeyType {
        /// The key type asked for.
        key_type: KeyType,
        /// The operation.
        operation: &'static str,
    },
    /// Objects with this label already exist and replacing them was not allowed.
    #[error("the token already holds {count} object(s) labelled {label:?}")]
    LabelExists {
        /// The key label.
        label: String,
        /// How many objects carry it.
        count: usize,
    },
    /// No secret or private key with this label exists, so there is nothing to export.
    #[error("no key labelled {label:?} in the token")]
    KeyNotFound {
        /// The key label.
        label: String,
    },
    /// More than one key (secret or private, counted together) carries this label;
    /// exporting one of them would be a guess.
    #[error("{count} keys are labelled {label:?}")]
    AmbiguousKey {
        /// The key label.
        label: String,
        /// How many keys carry it.
        count: usize,
    },
    /// The key is marked non-extractable, so the token will not wrap it out; only the
    /// HSM's own backup path (its vendor's key backup or cloning) can copy it.
    #[error(
        "the key labelled {label:?} is not extractable; only the HSM's own backup path can copy it"
    )]
    NotExtractable {
        /// The key label.
        label: String,
    },
    /// The key is of a type quorum does not move (e.g. an EC key on another curve than
    /// P-256, a DSA key), so nothing was exported.
    #[error("the key labelled {label:?} is {found}, which quorum does not move")]
    UnsupportedKey {
        /// The key label.
        label: String,
        /// What the token says the key is.
        found: String,
    },
    /// The token refused every wrapped path and importing the plaintext was not allowed.
    #[error("the token accepts none of the wrapped import paths ({tried}); a plaintext import was not allowed")]
    NoWrapPath {
        /// The paths tried, with the token's answer to each.
        tried: String,
    },
    /// The token wraps the key out along none of quorum's export paths (RSA-OAEP; for a
    /// private key, then AES-KWP), so nothing left the token.
    #[error("the token wraps the key out along none of the export paths ({tried})")]
    NoExportPath {
        /// The paths tried, with the token's answer to each.
        tried: String,
    },
    /// The key was imported but the check computed in the token differs from the host's:
    /// the object in the token is not the secret. It was left in place for inspection.
    #[error("the key imported as {label:?} (id {id}) does not match: the token's check value differs from the host's")]
    CheckMismatch {
        /// The imported key's label.
        label: String,
        /// The imported key's CKA_ID, hex.
        id: String,
    },
    /// A step after the import failed: the key exists in the token (label and id say which),
    /// whatever the failed step was.
    #[error("the key was imported as {label:?} (id {id}) and is in the token, but {step} failed: {source}")]
    AfterImport {
        /// The imported key's label.
        label: String,
        /// The imported key's CKA_ID, hex.
        id: String,
        /// The step that failed.
        step: &'static str,
        /// The token's error.
        #[source]
        source: Box<HsmError>,
    },
    /// The token's random generator or the host's failed.
    #[error("no randomness: {0}")]
    Random(String),
    /// A host-side cryptographic step failed (RSA key generation, OAEP, key wrap).
    #[error("host cryptography failed in {step}: {detail}")]
    HostCrypto {
        /// The step.
        step: &'static str,
        /// The library's message (never key material).
        detail: String,
    },
    /// The token answered a call with an error that has no more specific variant.
    #[error("the token refused {step}: {rv}")]
    Token {
        /// What quorum was doing.
        step: &'static str,
        /// The PKCS#11 return value.
        rv: RvError,
    },
    /// The PKCS#11 binding failed outside the token (a conversion, a missing function).
    #[error("PKCS#11 call failed in {step}: {detail}")]
    Binding {
        /// What quorum was doing.
        step: &'static str,
        /// The binding's message.
        detail: String,
    },
}

/// What the token reports about the user PIN's remaining tries (PKCS#11 token flags), since
/// PKCS#11 has no counter, only these flags.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PinTries {
    /// The token reports neither a low count nor a final try (it may not count at all).
    NotReported,
    /// `CKF_USER_PIN_COUNT_LOW`: at least one wrong PIN was entered since the last success.
    Low,
    /// `CKF_USER_PIN_FINAL_TRY`: one more wrong PIN locks it.
    FinalTry,
}

impl std::fmt::Display for PinTries {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            PinTries::NotReported => "the token does not report tries left",
            PinTries::Low => "few tries left",
            PinTries::FinalTry => "one try left before it locks",
        })
    }
}

/// "an AES key", "a P-256 key": the key type with its article, for the messages above.
fn a_key(key_type: KeyType) -> String {
    let article = match key_type {
        KeyType::Aes | KeyType::Rsa => "an",
        KeyType::GenericSecret | KeyType::EcP256 => "a",
    };
    format!("{article} {key_type} key")
}

impl HsmError {
    /// Maps a binding error of one step to a typed error, so every call site reads the same.
    pub(crate) fn at(step: &'static str) -> impl Fn(Pkcs11Error) -> HsmError {
        move |e| match e {
            Pkcs11Error::Pkcs11(rv, _) => HsmError::Token { step, rv },
            other => HsmError::Binding {
                step,
                detail: other.to_string(),
            },
        }
    }

    /// The PKCS#11 return value, when the token gave one; lets a caller try the next
    /// mechanism on `CKR_MECHANISM_INVALID` and the like.
    pub fn rv(&self) -> Option<RvError> {
        match self {
            HsmError::Token { rv, .. } => Some(*rv),
            _ => None,
        }
    }
}
