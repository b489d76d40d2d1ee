//! The words for a token step that failed (`--to-pkcs11`, `--from-pkcs11`,
//! `--generate-in-pkcs11`): what happened, what is unchanged (cards, token, secret), and what
//! to do next, with the options to use.

use quorum_hsm::HsmError;

use crate::token_end::{Stage, TokenFailure};

/// The full message for a failed token step.
pub(crate) fn message(f: &TokenFailure) -> String {
    let what = what_happened(f);
    let unchanged = match (&f.stage, &f.error) {
        (Stage::BeforeCards, _) => {
            "Nothing was done: no card was asked for anything and nothing was created in the token."
                .to_owned()
        }
        (Stage::Import { .. }, HsmError::AfterImport { .. }) => format!(
            "The cards are unchanged; the secret was wiped from this computer's memory. The key exists in token \"{}\": check it with the HSM's own tools before it is used.",
            f.token
        ),
        (Stage::Import { .. }, HsmError::CheckMismatch { .. }) => format!(
            "The cards are unchanged; the secret was wiped from this computer's memory. The object was left in token \"{}\" for inspection: delete it with the HSM's own tools before importing again.",
            f.token
        ),
        (Stage::Import { set }, _) => format!(
            "The master secret of set \"{set}\" was recovered but not imported: nothing was created in token \"{}\" (its one-time unwrap key was destroyed), the secret was wiped from this computer's memory, and the cards are unchanged.",
            f.token
        ),
    };
    match advice(f) {
        Some(advice) => format!("{what}. {unchanged} {advice}"),
        None => format!("{what}. {unchanged}"),
    }
}

/// The token's error, said once, in the domain's words plus the token's name.
fn what_happened(f: &TokenFailure) -> String {
    match &f.error {
        HsmError::WrongPin { tries } => {
            format!("token \"{}\" refused the user PIN ({tries})", f.token)
        }
        HsmError::PinLocked => format!("the user PIN of token \"{}\" is locked", f.token),
        HsmError::PinNotInitialised => {
            format!("token \"{}\" has no user PIN yet", f.token)
        }
        HsmError::NotExtractable { label } => {
            format!(
                "key \"{label}\" of token \"{}\" is not extractable",
                f.token
            )
        }
        other => other.to_string(),
    }
}

/// What to do next, naming the options, where there is more to say than "fix the cause".
fn advice(f: &TokenFailure) -> Option<String> {
    let again = match f.stage {
        Stage::BeforeCards => "then run the same command again",
        Stage::Import { .. } => "then run recover again with the cards",
    };
    Some(match &f.error {
        HsmError::ModuleMissing { .. } => format!(
            "Give the path of the HSM's PKCS#11 library (SoftHSM2: /usr/lib/softhsm/libsofthsm2.so), {again}."
        ),
        HsmError::NotPkcs11 { .. } => format!(
            "The module option takes the HSM vendor's PKCS#11 library (a .so that exports C_GetFunctionList), {again}."
        ),
        HsmError::UnknownToken { .. } | HsmError::AmbiguousToken { .. } => format!(
            "Correct --token-label (`pkcs11-tool --module MODULE --list-slots` lists the tokens), {again}."
        ),
        HsmError::WrongPin { .. } => format!(
            "Check the token's user PIN (--token-pin-file, or type it when asked), {again}; each wrong PIN counts against the token's own limit."
        ),
        HsmError::PinLocked => format!(
            "The token's security officer must unlock the user PIN with the HSM's tools (SoftHSM2: softhsm2-util), {again}."
        ),
        HsmError::PinNotInitialised => format!(
            "The token's security officer must set its user PIN first (pkcs11-tool --init-pin), {again}."
        ),
        HsmError::LabelExists { .. } => format!(
            "Choose another --key-label, or give --replace to remove the existing object(s) once the new key is proven, {again}."
        ),
        HsmError::KeyNotFound { .. } | HsmError::AmbiguousKey { .. } => format!(
            "Check --key-label (labels are case-sensitive; `pkcs11-tool --module MODULE --login --list-objects` lists them), {again}."
        ),
        HsmError::NotExtractable { .. } => format!(
            "A key marked non-extractable never leaves its HSM in a form quorum could split: back it up with the HSM's own path (its vendor's backup or cloning to another HSM of the same make, under the vendor's own quorum of cards or keys). quorum cannot replace that path, because it would need the key in the clear in this computer's memory, which the token forbids. To back up a key with quorum, create it extractable (or let `enroll --generate-in-pkcs11` create it) and key \"{}\" stays as it is.",
            f.key
        ),
        HsmError::NoWrapPath { .. } => format!(
            "If the token's policy allows a plaintext import, --allow-plaintext-import lets quorum create the key with C_CreateObject; {again}."
        ),
        HsmError::SecretLength { .. }
        | HsmError::SecretNotKeyType { .. }
        | HsmError::NotForKeyType { .. } => {
            format!("Choose the --key-type that fits the secret, {again}.")
        }
        _ => return None,
    })
}

/// A short name of the token error for `--json` (`kind` of the error detail).
pub(crate) fn kind(e: &HsmError) -> &'static str {
    match e {
        HsmError::ModuleMissing { .. } => "module-missing",
        HsmError::NotPkcs11 { .. } => "not-pkcs11",
        HsmError::UnknownToken { .. } => "unknown-token",
        HsmError::AmbiguousToken { .. } => "ambiguous-token",
        HsmError::WrongPin { .. } => "wrong-pin",
        HsmError::PinLocked => "pin-locked",
        HsmError::PinNotInitialised => "pin-not-initialised",
        HsmError::SecretLength { .. } => "secret-length",
        HsmError::SecretNotKeyType { .. } => "secret-not-key-type",
        HsmError::NotForKeyType { .. } => "not-for-key-type",
        HsmError::LabelExists { .. } => "label-exists",
        HsmError::KeyNotFound { .. } => "key-not-found",
        HsmError::AmbiguousKey { .. } => "ambiguous-key",
        HsmError::NotExtractable { .. } => "not-extractable",
        HsmError::NoWrapPath { .. } => "no-wrap-path",
        HsmError::CheckMismatch { .. } => "check-mismatch",
        HsmError::AfterImport { .. } => "after-import",
        _ => "token-error",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use quorum_hsm::PinTries;

    fn failure(error: HsmError, stage: Stage) -> TokenFailure {
        TokenFailure {
            error,
            token: "vault".into(),
            key: "master".into(),
            stage,
        }
    }

    #[test]
    fn a_wrong_pin_before_the_cards_says_nothing_was_done_and_what_to_check() {
        let m = message(&failure(
            HsmError::WrongPin {
                tries: PinTries::FinalTry,
            },
            Stage::BeforeCards,
        ));
        assert_eq!(
            m,
            "token \"vault\" refused the user PIN (one try left before it locks). Nothing was done: no card was asked for anything and nothing was created in the token. Check the token's user PIN (--token-pin-file, or type it when asked), then run the same command again; each wrong PIN counts against the token's own limit."
        );
    }

    #[test]
    fn a_failed_import_says_the_cards_are_unchanged_and_the_secret_wiped() {
        let m = message(&failure(
            HsmError::NoWrapPath {
                tried: "CKM_RSA_AES_KEY_WRAP: not offered".into(),
            },
            Stage::Import {
                set: "root-ca".into(),
            },
        ));
        assert!(
            m.starts_with("the token accepts none of the wrapped import paths"),
            "{m}"
        );
        assert!(m.contains("The master secret of set \"root-ca\" was recovered but not imported: nothing was created in token \"vault\""), "{m}");
        assert!(m.contains("--allow-plaintext-import"), "{m}");
        assert!(m.ends_with("then run recover again with the cards."), "{m}");
    }

    #[test]
    fn a_key_left_in_the_token_is_said_to_exist() {
        let m = message(&failure(
            HsmError::AfterImport {
                label: "master".into(),
                id: "00aa".into(),
                step: "computing the check value",
                source: Box::new(HsmError::PinLocked),
            },
            Stage::Import { set: "s".into() },
        ));
        assert!(m.contains("is in the token"), "{m}");
        assert!(
            m.contains("The key exists in token \"vault\": check it with the HSM's own tools"),
            "{m}"
        );
    }

    #[test]
    fn a_non_extractable_key_names_the_hsm_backup_path() {
        let m = message(&failure(
            HsmError::NotExtractable {
                label: "master".into(),
            },
            Stage::BeforeCards,
        ));
        assert!(m.contains("HSM's own path"), "{m}");
        assert!(m.contains("would need the key in the clear"), "{m}");
        assert_eq!(
            kind(&HsmError::NotExtractable { label: "x".into() }),
            "not-extractable"
        );
    }
}
