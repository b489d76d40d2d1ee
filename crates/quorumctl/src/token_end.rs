//! The HSM at either end of a ceremony (`recover --to-pkcs11`, `enroll --from-pkcs11`,
//! `enroll --generate-in-pkcs11`): the token is opened, and everything that can be refused is
//! refused, before any card is asked for a PIN; the key crosses between token and this
//! process only wrapped (see `quorum_hsm`).

use std::path::{Path, PathBuf};

use quorum_hsm::{
    AesUsage, CheckValue, Exported, Generated, HsmError, ImportOptions, Imported, KeyType, Login,
    Token,
};
use serde_json::{json, Value};
use zeroize::Zeroizing;

use crate::cli::{AesUseArg, KeyTypeArg, TokenArgs};
use crate::failure::Failure;

/// Largest token PIN file read: a PIN is one short line.
const TOKEN_PIN_FILE_MAX: u64 = 4096;

/// Where in the ceremony a token step failed, because that decides what is unchanged and
/// what the operator does next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Stage {
    /// Opening the token or checking the key, before any card was asked for anything.
    BeforeCards,
    /// Importing a secret the cards gave back: the cards are unchanged, the secret was wiped.
    Import {
        /// The recovered set's label.
        set: String,
    },
}

/// A token step that failed, with the token it concerns and the stage, for the message.
#[derive(Debug)]
pub(crate) struct TokenFailure {
    /// The token's error.
    pub error: HsmError,
    /// The token's label.
    pub token: String,
    /// The key's label.
    pub key: String,
    /// When it failed.
    pub stage: Stage,
}

/// The token, key and options of one ceremony end, checked before anything is opened.
#[derive(Debug)]
pub(crate) struct TokenEnd {
    /// The PKCS#11 module.
    pub module: PathBuf,
    /// The token's label.
    pub token: String,
    /// The key object's label.
    pub key: String,
    /// Where the user PIN comes from (`None`: asked on this computer).
    pin_file: Option<PathBuf>,
}

impl TokenEnd {
    /// The token end named by `module` and the token options; token options without a
    /// module are refused (they would be silently ignored).
    pub(crate) fn from_args(
        module: Option<&Path>,
        module_option: &str,
        args: &TokenArgs,
    ) -> Result<Option<TokenEnd>, Failure> {
        let Some(module) = module else {
            let stray = [
                ("--token-label", args.token_label.is_some()),
                ("--key-label", args.key_label.is_some()),
                ("--token-pin-file", args.token_pin_file.is_some()),
            ];
            if let Some((option, _)) = stray.iter().find(|(_, given)| *given) {
                return Err(Failure::Usage(format!(
                    "{option} names a token end, and this command has none: add {module_option} MODULE (the HSM's PKCS#11 library), or leave {option} out. Nothing was done"
                )));
            }
            return Ok(None);
        };
        let (Some(token), Some(key)) = (&args.token_label, &args.key_label) else {
            return Err(Failure::Usage(format!(
                "{module_option} needs --token-label and --key-label. Nothing was done"
            )));
        };
        for (option, value) in [("--token-label", token), ("--key-label", key)] {
            if value.is_empty() {
                return Err(Failure::Usage(format!(
                    "{option} is empty: give the label as the HSM's tools show it. Nothing was done"
                )));
            }
        }
        Ok(Some(TokenEnd {
            module: module.to_owned(),
            token: token.clone(),
            key: key.clone(),
            pin_file: args.token_pin_file.clone(),
        }))
    }

    /// Finds the token and logs in as user, before any card is touched: a locked token is
    /// refused before anyone types a PIN, and a token with its own PIN pad takes the PIN
    /// there (unless a PIN file is given).
    pub(crate) fn open(&self) -> Result<Token, Failure> {
        let located = Token::locate(&self.module, &self.token).map_err(|e| self.failed(e))?;
        if located.user_pin_locked() {
            return Err(self.failed(HsmError::PinLocked));
        }
        if located.protected_authentication_path() && self.pin_file.is_none() {
            eprintln!(
                "Enter the user PIN of token \"{}\" on the HSM's own PIN pad.",
                self.token
            );
            return located
                .login(Login::ProtectedPath)
                .map_err(|e| self.failed(e));
        }
        let pin = self.user_pin()?;
        let token = located
            .login(Login::Pin(pin.as_bytes()))
            .map_err(|e| self.failed(e))?;
        if let Some(path) = &self.pin_file {
            eprintln!(
                "Token \"{}\": user PIN accepted (from file {}).",
                self.token,
                path.display()
            );
        }
        Ok(token)
    }

    /// The token's user PIN, from `--token-pin-file` or typed without echo.
    fn user_pin(&self) -> Result<Zeroizing<String>, Failure> {
        match &self.pin_file {
            Some(path) => {
                crate::options::warn_if_others_can_read("--token-pin-file", path);
                read_token_pin_file(path)
            }
            None => {
                eprintln!(
                    "The user PIN of token \"{}\" is typed on this computer's keyboard (no echo).",
                    self.token
                );
                crate::prompt::prompt_hidden_line(&format!(
                    "User PIN of token \"{}\": ",
                    self.token
                ))
                .map_err(|e| Failure::Ceremony(e.into()))
            }
        }
    }

    /// The failure of a step before any card.
    pub(crate) fn failed(&self, error: HsmError) -> Failure {
        self.failed_at(error, Stage::BeforeCards)
    }

    /// The failure of a step at `stage`.
    pub(crate) fn failed_at(&self, error: HsmError, stage: Stage) -> Failure {
        Failure::Token(Box::new(TokenFailure {
            error,
            token: self.token.clone(),
            key: self.key.clone(),
            stage,
        }))
    }
}

/// Reads the token's user PIN: the file's first line, without its line end.
fn read_token_pin_file(path: &Path) -> Result<Zeroizing<String>, Failure> {
    use std::io::Read;
    let unreadable = |why: String| {
        Failure::Usage(format!(
            "--token-pin-file {}: {why}. Nothing was done: no token was opened and no card was asked for anything",
            path.display()
        ))
    };
    let file =
        std::fs::File::open(path).map_err(|e| unreadable(format!("cannot read it ({e})")))?;
    let mut bytes = Zeroizing::new(Vec::new());
    file.take(TOKEN_PIN_FILE_MAX)
        .read_to_end(&mut bytes)
        .map_err(|e| unreadable(format!("cannot read it ({e})")))?;
    let text = std::str::from_utf8(&bytes).map_err(|_| unreadable("it is not text".into()))?;
    let line = text.lines().next().unwrap_or("").trim_end_matches('\r');
    if line.is_empty() {
        return Err(unreadable(
            "its first line is empty; it should hold the token's user PIN".into(),
        ));
    }
    Ok(Zeroizing::new(line.to_owned()))
}

/// The library's key type for the option's.
pub(crate) fn key_type(arg: KeyTypeArg) -> KeyType {
    match arg {
        KeyTypeArg::Aes => KeyType::Aes,
        KeyTypeArg::GenericSecret => KeyType::GenericSecret,
        KeyTypeArg::EcP256 => KeyType::EcP256,
        KeyTypeArg::Rsa => KeyType::Rsa,
    }
}

/// The import options of `recover --to-pkcs11`.
pub(crate) fn import_options(
    uses: &[AesUseArg],
    replace: bool,
    allow_plaintext_import: bool,
) -> ImportOptions {
    let aes_usage = if uses.is_empty() {
        AesUsage::default()
    } else {
        AesUsage {
            encrypt: uses.contains(&AesUseArg::Encrypt),
            decrypt: uses.contains(&AesUseArg::Decrypt),
            wrap: uses.contains(&AesUseArg::Wrap),
            unwrap: uses.contains(&AesUseArg::Unwrap),
        }
    };
    ImportOptions {
        replace,
        allow_plaintext_import,
        aes_usage,
        ..ImportOptions::default()
    }
}

/// The token a recovered secret goes into (`recover --to-pkcs11`): opened, its user PIN
/// checked, the key label and the wrapped paths checked, all before any card.
pub(crate) struct IntoToken<'e> {
    end: &'e TokenEnd,
    token: Token,
    key_type: KeyType,
    options: ImportOptions,
}

impl<'e> IntoToken<'e> {
    /// Opens the token and refuses what it can before the cards: a taken label (without
    /// `replace`), a token without a wrapped import path (without `allow_plaintext_import`),
    /// usage options that do not fit the key type.
    pub(crate) fn prepare(
        end: &'e TokenEnd,
        key_type: Option<KeyTypeArg>,
        options: ImportOptions,
    ) -> Result<IntoToken<'e>, Failure> {
        let Some(key_type) = key_type.map(self::key_type) else {
            return Err(Failure::Usage(
                "--to-pkcs11 needs --key-type: the type of key the secret becomes in the token. Nothing was done".to_owned(),
            ));
        };
        if key_type != KeyType::Aes && options.aes_usage != AesUsage::default() {
            return Err(Failure::Usage(format!(
                "--key-usage names AES operations, and --key-type is {key_type}. Nothing was done"
            )));
        }
        let token = end.open()?;
        let taken = token
            .objects_with_label(&end.key)
            .map_err(|e| end.failed(e))?;
        if taken > 0 && !options.replace {
            return Err(end.failed(HsmError::LabelExists {
                label: end.key.clone(),
                count: taken,
            }));
        }
        if !options.allow_plaintext_import {
            token.wrapped_import_offered().map_err(|e| end.failed(e))?;
        }
        Ok(IntoToken {
            end,
            token,
            key_type,
            options,
        })
    }

    /// Whether a secret of `len` bytes can become a key of the type asked for (checked on
    /// the set's public record, before any PIN).
    pub(crate) fn fits(&self, len: usize) -> bool {
        self.key_type.fits(len)
    }

    /// Imports the recovered secret of set `set` and proves it in the token.
    pub(crate) fn import(&mut self, secret: &[u8], set: &str) -> Result<Imported, Failure> {
        self.token
            .import_secret(secret, &self.end.key, self.key_type, self.options)
            .map_err(|e| {
                self.end.failed_at(
                    e,
                    Stage::Import {
                        set: set.to_owned(),
                    },
                )
            })
    }

    /// The lines that say what the import created.
    pub(crate) fn lines(&self, imported: &Imported) -> Vec<String> {
        imported_lines(self.end, imported)
    }

    /// The `--json` account of the import.
    pub(crate) fn json(&self, imported: &Imported) -> Value {
        imported_json(self.end, imported)
    }
}

/// The lines that say what an import created and how it was proven, for the operator's
/// record.
fn imported_lines(end: &TokenEnd, imported: &Imported) -> Vec<String> {
    let how = match imported.path {
        quorum_hsm::ImportPath::Plaintext => format!(
            "It reached the token as plaintext ({}), as --allow-plaintext-import allowed",
            imported.path
        ),
        path => format!("It reached the token wrapped by {path}"),
    };
    let mut lines = vec![
        format!(
            "Imported into token \"{}\" as key \"{}\": handle {}, id {}, {}.",
            end.token,
            imported.label,
            imported.handle.raw(),
            imported.id,
            imported.check
        ),
        format!(
            "{how}; it is sensitive and not extractable. {}",
            proof(&imported.check)
        ),
    ];
    if imported.replaced > 0 {
        lines.push(format!(
            "The {} object(s) that carried the label before were removed, after the new key was proven.",
            imported.replaced
        ));
    }
    lines
}

/// How the token showed it holds the secret, without the secret being read back.
fn proof(check: &CheckValue) -> &'static str {
    match check {
        CheckValue::AesKcv(_) | CheckValue::HmacSha256(_) => {
            "The check value was computed in the token and equals the one computed here."
        }
        CheckValue::EcdsaP256(_) | CheckValue::RsaSignature(_) => {
            "A signature made in the token verified with the public key derived here."
        }
        _ => "Its usage allows no check, so it is not proven: check it with the HSM's own tools.",
    }
}

/// The `--json` account of an import.
fn imported_json(end: &TokenEnd, imported: &Imported) -> Value {
    json!({
        "module": end.module.display().to_string(),
        "token": end.token,
        "label": imported.label,
        "handle": imported.handle.raw(),
        "id": imported.id,
        "check": imported.check.to_string(),
        "path": imported.path.to_string(),
        "replaced": imported.replaced,
    })
}

/// The line that says what came out of the token, for the operator's record.
pub(crate) fn exported_line(end: &TokenEnd, exported: &Exported) -> String {
    format!(
        "Read key \"{}\" of token \"{}\", wrapped to a one-time key of this process by {}: {}, {} bytes, {}.",
        end.key,
        end.token,
        exported.path,
        exported.key_type,
        exported.secret.len(),
        exported.check
    )
}

/// The token a key is backed up from (`enroll --from-pkcs11` or `--generate-in-pkcs11`):
/// the key read out wrapped before any card, and, for a key made here, destroyed again when
/// the enroll that was to back it up fails.
pub(crate) struct SourceToken<'e> {
    end: &'e TokenEnd,
    token: Token,
    secret: Option<Zeroizing<Vec<u8>>>,
    key_type: KeyType,
    check: CheckValue,
    line: String,
    generated: Option<Generated>,
    /// For a key made here: whether it was marked non-extractable after the enroll.
    sealed: Option<bool>,
}

impl<'e> SourceToken<'e> {
    /// Opens the token and reads the key out of it (making it first when `generate`), so
    /// that every token refusal comes before any card is asked for anything.
    pub(crate) fn open(
        end: &'e TokenEnd,
        generate: bool,
        wanted: Option<KeyTypeArg>,
        key_bytes: u16,
    ) -> Result<SourceToken<'e>, Failure> {
        let wanted = wanted.map(key_type);
        if generate {
            let key_type = wanted.unwrap_or(KeyType::Aes);
            let len = usize::from(key_bytes);
            if !matches!(key_type, KeyType::Aes | KeyType::GenericSecret) {
                return Err(Failure::Usage(format!(
                    "--generate-in-pkcs11 makes aes or generic-secret keys; {} key is made with the HSM's own tools, then backed up with --from-pkcs11. Nothing was done",
                    article(key_type)
                )));
            }
            if !key_type.fits(len) {
                return Err(Failure::Usage(format!(
                    "--key-bytes {len} is not a length of {} key (aes: 16, 24 or 32; generic-secret: 1 to 512). Nothing was done",
                    article(key_type)
                )));
            }
        }
        let mut token = end.open()?;
        let generated = match generate {
            true => Some(
                token
                    .generate_secret(
                        &end.key,
                        wanted.unwrap_or(KeyType::Aes),
                        usize::from(key_bytes),
                    )
                    .map_err(|e| end.failed(e))?,
            ),
            false => None,
        };
        let exported = match read_out(end, &mut token, wanted) {
            Ok(exported) => exported,
            Err(failure) => {
                return Err(match &generated {
                    Some(made) => {
                        let note = destroy_note(end, &mut token, made.handle);
                        Failure::Also(Box::new(failure), note)
                    }
                    None => failure,
                })
            }
        };
        Ok(SourceToken {
            end,
            token,
            key_type: exported.key_type,
            check: exported.check.clone(),
            line: exported_line(end, &exported),
            secret: Some(exported.secret),
            generated,
            sealed: None,
        })
    }

    /// The key's value, for the enroll (taken once).
    pub(crate) fn take_secret(&mut self) -> Zeroizing<Vec<u8>> {
        eprintln!("{}", self.line);
        self.secret.take().unwrap_or_default()
    }

    /// After a failed enroll: a key made here for it is destroyed again (no set holds it);
    /// an existing key is left as it was. Says which.
    pub(crate) fn undo(&mut self, failure: Failure) -> Failure {
        let note = match &self.generated {
            Some(made) => destroy_note(self.end, &mut self.token, made.handle),
            None => format!(
                "Key \"{}\" of token \"{}\" is unchanged.",
                self.end.key, self.end.token
            ),
        };
        Failure::Also(Box::new(failure), note)
    }

    /// After the enroll: a key made for it is marked non-extractable, so that it exists in
    /// exactly two places. Returns the lines of the enroll's report about the token's key.
    pub(crate) fn finish(&mut self) -> Vec<String> {
        let mut lines = vec![format!(
            "Backed up key \"{}\" of token \"{}\": {}, {}.",
            self.end.key, self.end.token, self.key_type, self.check
        )];
        if let Some(made) = &self.generated {
            let sealed = self.token.forbid_export(made.handle);
            self.sealed = Some(sealed.is_ok());
            lines.push(format!(
                "The token generated it for this enroll (handle {}, id {}).",
                made.handle.raw(),
                made.id,
            ));
            lines.push(match sealed {
                Ok(()) => format!(
                    "It is now marked non-extractable: it exists in exactly two places, token \"{}\" and the custodian cards.",
                    self.end.token
                ),
                Err(e) => format!(
                    "It could not be marked non-extractable ({e}): it exists in token \"{}\" and on the custodian cards, and the token would still let it be wrapped out; mark it with the HSM's own tools.",
                    self.end.token
                ),
            });
        }
        lines
    }

    /// The `--json` account of the token's key.
    pub(crate) fn json(&self) -> Value {
        json!({
            "module": self.end.module.display().to_string(),
            "token": self.end.token,
            "label": self.end.key,
            "key_type": self.key_type.to_string(),
            "check": self.check.to_string(),
            "generated": self.generated.is_some(),
            "id": self.generated.as_ref().map(|g| g.id.clone()),
            "extractable": self.sealed.map(|sealed| !sealed),
        })
    }
}

/// Reads the key out wrapped and checks it has the type asked for.
fn read_out(
    end: &TokenEnd,
    token: &mut Token,
    wanted: Option<KeyType>,
) -> Result<Exported, Failure> {
    let exported = token.export_secret(&end.key).map_err(|e| end.failed(e))?;
    match wanted {
        Some(wanted) if wanted != exported.key_type => Err(Failure::Usage(format!(
            "key \"{}\" of token \"{}\" is {} key, and --key-type says {wanted}. Nothing was done: no card was asked for anything, and the key in the token is unchanged",
            end.key,
            end.token,
            article(exported.key_type)
        ))),
        _ => Ok(exported),
    }
}

/// The key type with its indefinite article ("an AES", "a P-256").
fn article(key_type: KeyType) -> String {
    match key_type {
        KeyType::Aes | KeyType::Rsa => format!("an {key_type}"),
        _ => format!("a {key_type}"),
    }
}

/// Destroys a key made for an enroll that did not finish, and says what became of it.
fn destroy_note(end: &TokenEnd, token: &mut Token, handle: quorum_hsm::KeyHandle) -> String {
    match token.destroy_key(handle) {
        Ok(()) => format!(
            "The key quorum generated in token \"{}\" as \"{}\" was destroyed again, since no set holds it.",
            end.token, end.key
        ),
        Err(e) => format!(
            "The key quorum generated in token \"{}\" as \"{}\" (handle {}) could not be destroyed ({e}): it exists in the token and is backed up nowhere; delete it with the HSM's own tools.",
            end.token,
            end.key,
            handle.raw()
        ),
    }
}
