//! `init` on an OpenPGP card (apdu-spec/openpgp.md): the card's cv25519 decryption key is
//! its custodian key. A key there is shown and used once the custodian confirms it; an
//! empty slot, or one set to another algorithm, gets a key generated on the card with the
//! admin PIN; a key there is destroyed only when replacing it was asked and confirmed by
//! naming it. The card's PINs stay the card's own: init sets none.

use std::time::{SystemTime, UNIX_EPOCH};

use zeroize::Zeroizing;

use quorum_card::card::CardError;
use quorum_card::custodian::CustodianCard;
use quorum_card::openpgp::{ExistingKey, KeySlot, OpenPgpKeys};
use quorum_protocol::crypto::CardKey;
use quorum_protocol::openpgp::{AdminPin, AlgorithmAttributes};

use super::{Refusal, Told as InitTold};
use crate::dry_run::{AdminPinFrom, DryRun, Part, Planned};
use crate::pin_step::AskedAgain;
use crate::pins::{PinOrigin, PinPath, PinSourceError};
use crate::progress::{Event, Progress};
use crate::{CeremonyError, PinPolicy};

/// A question init puts to the custodian at this computer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Question {
    /// Use the cv25519 key the card has (the answer "yes" confirms).
    UseKey {
        /// The key's fingerprint in quorum's form.
        card: String,
    },
    /// Destroy the key in the slot: the answer must name it.
    ReplaceKey {
        /// What names it (a fingerprint, or the card's serial), as the custodian types it.
        name: String,
    },
}

/// Where init's questions and the admin PIN are answered when the request does not answer
/// them: the terminal, in quorumctl. `None` means nobody can be asked (no terminal).
pub trait Questions {
    /// The answer typed to `question`.
    fn ask(&mut self, question: &Question) -> std::io::Result<Option<String>>;

    /// The admin PIN of the OpenPGP card in `reader`, typed without echo (asked again after
    /// a slip; an interrupted prompt is [`PinSourceError::Interrupted`]).
    fn admin_pin(&mut self, reader: &str) -> Result<Option<Zeroizing<Vec<u8>>>, PinSourceError>;
}

/// Questions nobody answers: for callers without a terminal (and for tests).
#[derive(Debug, Default)]
pub struct NobodyAsked;

impl Questions for NobodyAsked {
    fn ask(&mut self, _: &Question) -> std::io::Result<Option<String>> {
        Ok(None)
    }

    fn admin_pin(&mut self, _: &str) -> Result<Option<Zeroizing<Vec<u8>>>, PinSourceError> {
        Ok(None)
    }
}

/// What to do with an OpenPGP card's decryption key, as the custodian asked up front.
pub struct OpenPgpRequest<'a> {
    /// A cv25519 key on the card is to be used without asking.
    pub use_existing_key: bool,
    /// The key in the slot is to be replaced by a new one (with `confirm_replace`, or asked).
    pub replace_key: bool,
    /// The name of the key to destroy, given up front (its fingerprint).
    pub confirm_replace: Option<String>,
    /// The admin PIN, read already, and where from (a file); else the keypad or `questions`.
    pub admin_pin: Option<(AdminPin, PinOrigin)>,
    /// Where the rest is asked.
    pub questions: &'a mut dyn Questions,
}

impl OpenPgpRequest<'_> {
    /// Whether any choice that only an OpenPGP card takes was made.
    pub fn any_given(&self) -> bool {
        self.use_existing_key
            || self.replace_key
            || self.confirm_replace.is_some()
            || self.admin_pin.is_some()
    }
}

/// An OpenPGP card ready to be enrolled: its key and what init did to it.
#[derive(Debug, Clone)]
pub struct OpenPgpInitialised {
    /// The reader it was in.
    pub reader: String,
    /// Its cv25519 decryption key, as quorum names it.
    pub key: CardKey,
    /// Whether the key was generated now (else the card's own key is used as it was).
    pub generated: bool,
    /// The manufacturer, in words.
    pub manufacturer: String,
    /// The card's serial, as its vendor prints it.
    pub serial: String,
    /// User PIN (PW1) tries left.
    pub user_tries: u8,
    /// Admin PIN (PW3) tries left.
    pub admin_tries: u8,
}

/// Why a key is generated.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Why {
    /// The decryption slot holds no key.
    SlotEmpty,
    /// The slot is set to another algorithm, with no key in it.
    OtherAlgorithm {
        /// The algorithm, in words.
        algorithm: String,
    },
    /// Replacing the key there was asked and confirmed.
    Replacing,
}

/// What init tells the people at the table about an OpenPGP card (worded by the caller).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Told {
    /// The card in this reader is an OpenPGP card.
    Card {
        /// Where it is.
        reader: String,
        /// The manufacturer, in words.
        manufacturer: String,
        /// The serial, as its vendor prints it.
        serial: String,
        /// The OpenPGP application's version.
        version: String,
    },
    /// The card has a cv25519 decryption key quorum can use.
    HasKey {
        /// Its fingerprint in quorum's form.
        card: String,
        /// Its OpenPGP fingerprint (C5), if the card stores one.
        fingerprint: Option<String>,
    },
    /// The key is used as it is; nothing is written to the card.
    KeepsKey {
        /// Its fingerprint in quorum's form.
        card: String,
    },
    /// This key is about to be destroyed by a new one.
    Destroys {
        /// Its fingerprint in quorum's form, when it is a cv25519 key.
        card: Option<String>,
        /// Its OpenPGP fingerprint (C5), if the card stores one.
        fingerprint: Option<String>,
        /// Its algorithm, in words.
        algorithm: String,
    },
    /// A cv25519 key is about to be generated on the card, with the admin PIN.
    Generating {
        /// Why.
        why: Why,
    },
    /// The reader's keypad waits for the admin PIN.
    AdminPinOnKeypad {
        /// The reader whose keypad waits (two pinpads may be attached).
        reader: String,
        /// Seconds it waits.
        timeout: u8,
    },
    /// The admin PIN was wrong and is asked again where it was entered (tries stated).
    AdminPinWrong {
        /// Admin PIN tries left.
        tries_left: u8,
        /// Where it is asked again.
        again: AskedAgain,
    },
    /// The admin PIN typed here breaks the card's length rules: not sent, asked again.
    AdminPinBreaksRule {
        /// The rule, in words (never the PIN).
        rule: String,
    },
    /// The card accepted its admin PIN.
    AdminPinAccepted {
        /// The way it came.
        path: PinPath,
    },
    /// The new key was generated on the card.
    Generated {
        /// Its fingerprint in quorum's form.
        card: String,
    },
    /// The card's own PINs are used: the user PIN at every ceremony, the admin PIN only
    /// for key generation; init set neither.
    Pins {
        /// User PIN tries left.
        user_tries: u8,
        /// Admin PIN tries left.
        admin_tries: u8,
    },
}

fn tell(out: &mut dyn Progress, told: Told) {
    out.tell(Event::Init(InitTold::OpenPgp(told)));
}

/// An algorithm as a person knows it.
pub fn algorithm_name(algorithm: &AlgorithmAttributes) -> String {
    match algorithm {
        AlgorithmAttributes::Cv25519Ecdh => "cv25519".to_owned(),
        AlgorithmAttributes::Other { algorithm_id, .. } => match algorithm_id {
            Some(0x01) => "RSA".to_owned(),
            Some(0x12) => "ECDH on another curve".to_owned(),
            Some(0x13) => "ECDSA".to_owned(),
            Some(0x16) => "EdDSA".to_owned(),
            Some(id) => format!("algorithm {id:02X}"),
            None => "an unknown algorithm".to_owned(),
        },
    }
}

/// What names a key for its destruction: its fingerprints, else the card's serial.
fn names_of(existing: &ExistingKey, serial: &str) -> Vec<String> {
    let mut names = Vec::new();
    if let Some(key) = existing.card_key {
        names.push(key.fingerprint());
    }
    if let Some(fp) = existing.fingerprint {
        names.push(fp.to_string());
    }
    if names.is_empty() {
        names.push(serial.to_owned());
    }
    names
}

/// Whether `typed` is one of `names`, case, dashes and spaces aside.
fn names_it(typed: &str, names: &[String]) -> bool {
    let bare = |s: &str| -> String {
        s.chars()
            .filter(|c| !(c.is_whitespace() || matches!(c, '-' | ':')))
            .map(|c| c.to_ascii_lowercase())
            .collect()
    };
    let typed = bare(typed);
    !typed.is_empty() && names.iter().any(|n| bare(n) == typed)
}

/// Keeps or makes the cv25519 decryption key of the OpenPGP card `card` (selected already).
pub fn init(
    card: &mut dyn CustodianCard,
    reader: &str,
    request: OpenPgpRequest<'_>,
    pins: &PinPolicy<'_>,
    out: &mut dyn Progress,
) -> Result<OpenPgpInitialised, CeremonyError> {
    let refused = |card: Option<&CardKey>, why| CeremonyError::InitRefused {
        card: card.map(CardKey::fingerprint),
        reader: reader.to_owned(),
        why,
    };
    let on_card = |e: CardError| CeremonyError::card(reader, e);
    let slot = keys(card).key_slot().map_err(on_card)?;
    let aid = slot.facts.aid;
    let manufacturer = aid.manufacturer_name().map_or_else(
        || format!("manufacturer {:04X}", aid.manufacturer),
        str::to_owned,
    );
    let serial = aid.serial_hex();
    tell(
        out,
        Told::Card {
            reader: reader.to_owned(),
            manufacturer: manufacturer.clone(),
            serial: serial.clone(),
            version: aid.version.to_string(),
        },
    );
    let present_key = slot.existing.as_ref().and_then(|k| k.card_key);
    if let Some(header) = &slot.header {
        return Err(refused(
            present_key.as_ref(),
            Refusal::HoldsShare {
                set_id: hex::encode(header.set_id),
                set_version: header.set_version,
                index: header.index,
            },
        ));
    }
    let OpenPgpRequest {
        use_existing_key,
        replace_key,
        confirm_replace,
        admin_pin,
        questions,
    } = request;
    let done = |key: CardKey, generated: bool, slot: &KeySlot| OpenPgpInitialised {
        reader: reader.to_owned(),
        key,
        generated,
        manufacturer: manufacturer.clone(),
        serial: serial.clone(),
        user_tries: slot.facts.pw_status.pw1_tries_left,
        admin_tries: slot.facts.pw_status.pw3_tries_left,
    };
    let why = match (&slot.existing, replace_key) {
        (Some(existing), false) => match existing.card_key {
            Some(key) => {
                tell(
                    out,
                    Told::HasKey {
                        card: key.fingerprint(),
                        fingerprint: existing.fingerprint.map(|f| f.to_string()),
                    },
                );
                let confirmed = use_existing_key
                    || questions
                        .ask(&Question::UseKey {
                            card: key.fingerprint(),
                        })?
                        .is_some_and(|a| a.trim().eq_ignore_ascii_case("yes"));
                if !confirmed {
                    return Err(refused(Some(&key), Refusal::UseNotConfirmed));
                }
                tell(
                    out,
                    Told::KeepsKey {
                        card: key.fingerprint(),
                    },
                );
                tell_pins(out, &slot);
                return Ok(done(key, false, &slot));
            }
            None => {
                return Err(refused(
                    None,
                    Refusal::OtherKeyPresent {
                        algorithm: algorithm_name(&existing.algorithm),
                        fingerprint: existing.fingerprint.map(|f| f.to_string()),
                    },
                ))
            }
        },
        (Some(existing), true) => {
            tell(
                out,
                Told::Destroys {
                    card: existing.card_key.map(|k| k.fingerprint()),
                    fingerprint: existing.fingerprint.map(|f| f.to_string()),
                    algorithm: algorithm_name(&existing.algorithm),
                },
            );
            let names = names_of(existing, &serial);
            let typed = match confirm_replace {
                Some(given) => Some(given),
                None => questions.ask(&Question::ReplaceKey {
                    name: names[0].clone(),
                })?,
            }
            .unwrap_or_default();
            if !names_it(&typed, &names) {
                return Err(refused(
                    present_key.as_ref(),
                    Refusal::ReplaceNotConfirmed {
                        typed: typed.trim().to_owned(),
                        names: names.join(" or "),
                    },
                ));
            }
            Why::Replacing
        }
        (None, _) => match &slot.facts.decryption_algorithm {
            AlgorithmAttributes::Cv25519Ecdh => Why::SlotEmpty,
            other => Why::OtherAlgorithm {
                algorithm: algorithm_name(other),
            },
        },
    };
    if slot.facts.decryption_algorithm != AlgorithmAttributes::Cv25519Ecdh
        && !slot.attributes_changeable
    {
        return Err(refused(present_key.as_ref(), Refusal::AttributesFixed));
    }
    tell(out, Told::Generating { why });
    verify_admin(card, reader, admin_pin, questions, pins, out)?;
    let generated_at = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u32::try_from(d.as_secs()).unwrap_or(u32::MAX));
    let key = keys(card)
        .generate_key(slot.existing.as_ref(), generated_at)
        .map_err(on_card)?;
    // The card must now report the key it answered, in a slot set to cv25519.
    let check = keys(card).key_slot().map_err(on_card)?;
    if check.existing.as_ref().and_then(|k| k.card_key) != Some(key) {
        return Err(refused(Some(&key), Refusal::KeyNotAfterGeneration));
    }
    tell(
        out,
        Told::Generated {
            card: key.fingerprint(),
        },
    );
    // DO 0101 was empty (a card holding a header is refused above), so no share names
    // this card; 0103 may keep bytes of an older share, which were sealed to the key just
    // destroyed and are never read without a header (enroll writes 0103 before 0101).
    tell_pins(out, &check);
    Ok(done(key, true, &check))
}

/// The dry run of [`init`] on an OpenPGP card: its key slot read, and what init would do
/// (keep the key, or generate one with the admin PIN, destroying the key named); a
/// confirmation given up front is checked, one asked at the table is left to the real run.
pub fn dry_run(
    card: &mut dyn CustodianCard,
    reader: &str,
    request: &OpenPgpRequest<'_>,
    pins: &PinPolicy<'_>,
) -> Result<DryRun, CeremonyError> {
    let refused = |card: Option<&CardKey>, why| CeremonyError::InitRefused {
        card: card.map(CardKey::fingerprint),
        reader: reader.to_owned(),
        why,
    };
    let on_card = |e: CardError| CeremonyError::card(reader, e);
    let slot = keys(card).key_slot().map_err(on_card)?;
    let serial = slot.facts.aid.serial_hex();
    let present_key = slot.existing.as_ref().and_then(|k| k.card_key);
    if let Some(header) = &slot.header {
        return Err(refused(
            present_key.as_ref(),
            Refusal::HoldsShare {
                set_id: hex::encode(header.set_id),
                set_version: header.set_version,
                index: header.index,
            },
        ));
    }
    let destroys = match (&slot.existing, request.replace_key) {
        (Some(existing), false) => {
            let Some(key) = existing.card_key else {
                return Err(refused(
                    None,
                    Refusal::OtherKeyPresent {
                        algorithm: algorithm_name(&existing.algorithm),
                        fingerprint: existing.fingerprint.map(|f| f.to_string()),
                    },
                ));
            };
            return Ok(one_card(
                reader,
                Some(key.fingerprint()),
                Part::KeepOpenPgpKey {
                    confirmed: request.use_existing_key,
                },
            ));
        }
        (Some(existing), true) => {
            let names = names_of(existing, &serial);
            if let Some(typed) = &request.confirm_replace {
                if !names_it(typed, &names) {
                    return Err(refused(
                        present_key.as_ref(),
                        Refusal::ReplaceNotConfirmed {
                            typed: typed.trim().to_owned(),
                            names: names.join(" or "),
                        },
                    ));
                }
            }
            Some(names[0].clone())
        }
        (None, _) => None,
    };
    if slot.facts.decryption_algorithm != AlgorithmAttributes::Cv25519Ecdh
        && !slot.attributes_changeable
    {
        return Err(refused(present_key.as_ref(), Refusal::AttributesFixed));
    }
    let pinpad = card.pinpad().map_err(on_card)?.is_some();
    let admin_pin = match (pinpad && !pins.no_pinpad, &request.admin_pin) {
        (true, _) => AdminPinFrom::Keypad,
        (false, Some(_)) => AdminPinFrom::File,
        (false, None) => AdminPinFrom::Prompt,
    };
    Ok(one_card(
        reader,
        present_key.map(|k| k.fingerprint()),
        Part::GenerateOpenPgpKey {
            confirmed: destroys.is_none() || request.confirm_replace.is_some(),
            destroys,
            admin_pin,
        },
    ))
}

/// A dry run's account of the one card init works on.
fn one_card(reader: &str, card: Option<String>, part: Part) -> DryRun {
    DryRun {
        cards: vec![Planned {
            reader: reader.to_owned(),
            card,
            custodian: None,
            part,
            pin: None,
        }],
        still_needed: None,
        unchecked: Vec::new(),
    }
}

fn tell_pins(out: &mut dyn Progress, slot: &KeySlot) {
    tell(
        out,
        Told::Pins {
            user_tries: slot.facts.pw_status.pw1_tries_left,
            admin_tries: slot.facts.pw_status.pw3_tries_left,
        },
    );
}

/// The card's decryption-key operations (the card is an OpenPGP card: checked by the caller).
fn keys(card: &mut dyn CustodianCard) -> &mut dyn OpenPgpKeys {
    card.openpgp_keys()
        .expect("init::openpgp runs on OpenPGP cards only")
}

/// VERIFY 83: on the reader's keypad when it has one (unless the custodian chose not to
/// use it), else the admin PIN given or typed here.
fn verify_admin(
    card: &mut dyn CustodianCard,
    reader: &str,
    mut given: Option<(AdminPin, PinOrigin)>,
    questions: &mut dyn Questions,
    pins: &PinPolicy<'_>,
    out: &mut dyn Progress,
) -> Result<(), CeremonyError> {
    let on_card = |e: CardError| CeremonyError::card(reader, e);
    let refused = |why| CeremonyError::InitRefused {
        card: None,
        reader: reader.to_owned(),
        why,
    };
    let pinpad = card.pinpad().map_err(on_card)?.is_some();
    let mut rule_slips = 0;
    loop {
        let (attempt, path, again) = if pinpad && !pins.no_pinpad {
            tell(
                out,
                Told::AdminPinOnKeypad {
                    reader: reader.to_owned(),
                    timeout: pins.pinpad_timeout,
                },
            );
            let attempt = keys(card).verify_admin_on_pinpad(pins.pinpad_timeout);
            (attempt, PinPath::Pinpad, Some(AskedAgain::OnKeypad))
        } else {
            let (pin, origin, again) = match given.take() {
                Some((pin, origin)) => (pin, origin, None),
                None => {
                    let typed = questions
                        .admin_pin(reader)?
                        .ok_or_else(|| refused(Refusal::AdminPinNotGiven))?;
                    match AdminPin::new(&typed) {
                        Ok(pin) => (pin, PinOrigin::Keyboard, Some(AskedAgain::Here)),
                        Err(e) if rule_slips < ADMIN_RULE_SLIPS => {
                            rule_slips += 1;
                            tell(
                                out,
                                Told::AdminPinBreaksRule {
                                    rule: e.to_string(),
                                },
                            );
                            continue;
                        }
                        Err(e) => {
                            return Err(refused(Refusal::AdminPinRefused {
                                rule: e.to_string(),
                            }))
                        }
                    }
                }
            };
            let attempt = keys(card).verify_admin(&pin);
            let path = PinPath::Host {
                origin,
                pinpad_bypassed: pinpad,
            };
            (attempt, path, again)
        };
        match (attempt, again) {
            (Ok(()), _) => {
                tell(out, Told::AdminPinAccepted { path });
                return Ok(());
            }
            (Err(CardError::OpenPgpWrongAdminPin { tries_left }), Some(again))
                if tries_left > crate::pin_step::RETRY_WHILE_MORE_THAN =>
            {
                tell(out, Told::AdminPinWrong { tries_left, again });
            }
            (Err(e), _) => return Err(on_card(e)),
        }
    }
}

/// How often an admin PIN typed here that breaks the card's length rules is asked again
/// before init gives up (a PIN from a file is never asked again).
const ADMIN_RULE_SLIPS: u8 = 2;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::in_memory_kit::{pin_file, policy, Said};
    use quorum_card::any::AnyCard;
    use quorum_card::card::Card;
    use quorum_card::memory::{MemoryOpenPgp, DEFAULT_ADMIN_PIN};
    use quorum_card::openpgp::RecordSource;

    /// Answers as a custodian at the terminal would, in order; the admin PINs typed in
    /// order, the last one again whenever asked once more (none: nobody types one).
    struct Answers(Vec<&'static str>, Vec<&'static str>);

    impl Questions for Answers {
        fn ask(&mut self, _: &Question) -> std::io::Result<Option<String>> {
            Ok((!self.0.is_empty()).then(|| self.0.remove(0).to_owned()))
        }

        fn admin_pin(&mut self, _: &str) -> Result<Option<Zeroizing<Vec<u8>>>, PinSourceError> {
            let pin = match self.1.len() {
                0 => return Ok(None),
                1 => self.1[0],
                _ => self.1.remove(0),
            };
            Ok(Some(Zeroizing::new(pin.as_bytes().to_vec())))
        }
    }

    type Memory = AnyCard<MemoryOpenPgp>;

    fn boxed(card: MemoryOpenPgp) -> Memory {
        let mut card = AnyCard::new(Card::with_trace(card, false), RecordSource::new());
        let _ = card.select();
        card
    }

    fn request(questions: &mut dyn Questions) -> OpenPgpRequest<'_> {
        OpenPgpRequest {
            use_existing_key: false,
            replace_key: false,
            confirm_replace: None,
            admin_pin: None,
            questions,
        }
    }

    fn run(
        card: &mut Memory,
        request: OpenPgpRequest<'_>,
    ) -> Result<OpenPgpInitialised, CeremonyError> {
        run_telling(card, request, &mut Said::default())
    }

    fn run_telling(
        card: &mut Memory,
        request: OpenPgpRequest<'_>,
        said: &mut Said,
    ) -> Result<OpenPgpInitialised, CeremonyError> {
        let pins = pin_file();
        init(card, "R", request, &policy(&pins), said)
    }

    fn key_of(card: &mut Memory) -> Option<CardKey> {
        card.openpgp_keys()
            .unwrap()
            .key_slot()
            .unwrap()
            .existing
            .and_then(|k| k.card_key)
    }

    #[test]
    fn a_fresh_card_gets_a_key_with_the_admin_pin_typed() {
        let mut card = boxed(MemoryOpenPgp::with_seed(1));
        let mut answers = Answers(vec![], vec![DEFAULT_ADMIN_PIN]);
        let done = run(&mut card, request(&mut answers)).unwrap();
        assert!(done.generated);
        assert_eq!(key_of(&mut card), Some(done.key));
        // Nobody to give the admin PIN: refused before anything is sent.
        let mut card = boxed(MemoryOpenPgp::with_seed(2));
        let e = run(&mut card, request(&mut NobodyAsked)).unwrap_err();
        assert!(
            matches!(
                e,
                CeremonyError::InitRefused {
                    why: Refusal::AdminPinNotGiven,
                    ..
                }
            ),
            "{e}"
        );
        let mut short = Answers(vec![], vec!["1234"]);
        let e = run(&mut card, request(&mut short)).unwrap_err();
        assert!(
            matches!(
                e,
                CeremonyError::InitRefused {
                    why: Refusal::AdminPinRefused { .. },
                    ..
                }
            ),
            "{e}"
        );
        assert_eq!(key_of(&mut card), None);
    }

    #[test]
    fn a_wrong_or_short_admin_pin_typed_here_is_asked_again_while_tries_remain() {
        let mut card = boxed(MemoryOpenPgp::with_seed(11));
        let mut answers = Answers(vec![], vec!["1234", "87654321", DEFAULT_ADMIN_PIN]);
        let mut said = Said::default();
        let done = run_telling(&mut card, request(&mut answers), &mut said).unwrap();
        assert!(done.generated);
        let told: Vec<&Told> = said
            .0
            .iter()
            .filter_map(|e| match e {
                Event::Init(InitTold::OpenPgp(t)) => Some(t),
                _ => None,
            })
            .collect();
        assert!(
            told.iter()
                .any(|t| matches!(t, Told::AdminPinBreaksRule { .. })),
            "{said}"
        );
        assert!(
            told.iter().any(|t| matches!(
                t,
                Told::AdminPinWrong {
                    tries_left: 2,
                    again: AskedAgain::Here
                }
            )),
            "{said}"
        );
        // A wrong PIN with only one try left is not asked again: the last try is kept.
        let mut card = boxed(MemoryOpenPgp::with_seed(12));
        let mut wrong = Answers(vec![], vec!["87654321"]);
        let e = run(&mut card, request(&mut wrong)).unwrap_err();
        assert!(
            matches!(
                e,
                CeremonyError::Card {
                    source: CardError::OpenPgpWrongAdminPin { tries_left: 1 },
                    ..
                }
            ),
            "{e}"
        );
    }

    #[test]
    fn a_key_there_is_used_when_confirmed_and_replaced_only_when_named() {
        let mut card = boxed(MemoryOpenPgp::with_seed(3).with_cv25519_key());
        let key = key_of(&mut card).unwrap();
        let e = run(&mut card, request(&mut Answers(vec!["no"], vec![]))).unwrap_err();
        assert!(
            matches!(
                e,
                CeremonyError::InitRefused {
                    why: Refusal::UseNotConfirmed,
                    ..
                }
            ),
            "{e}"
        );
        let done = run(&mut card, request(&mut Answers(vec!["yes"], vec![]))).unwrap();
        assert!(!done.generated && done.key == key);
        let mut answers = Answers(vec!["0000-0000-0000-0000"], vec![DEFAULT_ADMIN_PIN]);
        let e = run(
            &mut card,
            OpenPgpRequest {
                replace_key: true,
                ..request(&mut answers)
            },
        )
        .unwrap_err();
        assert!(
            matches!(
                e,
                CeremonyError::InitRefused {
                    why: Refusal::ReplaceNotConfirmed { .. },
                    ..
                }
            ),
            "{e}"
        );
        assert_eq!(key_of(&mut card), Some(key));
        let mut answers = Answers(vec![], vec![DEFAULT_ADMIN_PIN]);
        let done = run(
            &mut card,
            OpenPgpRequest {
                replace_key: true,
                confirm_replace: Some(key.fingerprint().to_uppercase()),
                ..request(&mut answers)
            },
        )
        .unwrap();
        assert!(done.generated && done.key != key);
        assert_eq!(key_of(&mut card), Some(done.key));
    }

    #[test]
    fn an_rsa_key_is_kept_unless_replaced_by_its_openpgp_fingerprint() {
        let mut card = boxed(MemoryOpenPgp::with_seed(4).with_rsa_key());
        let mut answers = Answers(vec![], vec![DEFAULT_ADMIN_PIN]);
        let e = run(&mut card, request(&mut answers)).unwrap_err();
        assert!(
            matches!(e, CeremonyError::InitRefused { why: Refusal::OtherKeyPresent { ref algorithm, .. }, .. } if algorithm == "RSA"),
            "{e}"
        );
        let done = run(
            &mut card,
            OpenPgpRequest {
                replace_key: true,
                confirm_replace: Some("2E2E".repeat(10)),
                ..request(&mut answers)
            },
        )
        .unwrap();
        assert!(done.generated);
    }

    #[test]
    fn a_replacement_is_confirmed_by_either_fingerprint_as_people_type_it() {
        let names = vec![
            "a1b2-c3d4-e5f6-0718".to_owned(),
            "5A5A 5A5A 5A5A 5A5A 5A5A 5A5A 5A5A 5A5A 5A5A 5A5A".to_owned(),
        ];
        assert!(names_it("A1B2C3D4E5F60718", &names));
        assert!(names_it(" a1b2-c3d4-e5f6-0718\n", &names));
        assert!(names_it(&"5a".repeat(20), &names));
        assert!(!names_it("a1b2-c3d4-e5f6-0719", &names));
        assert!(!names_it("", &names));
        assert!(!names_it("yes", &names));
    }

    #[test]
    fn algorithms_are_named_as_people_know_them() {
        let other = |id| AlgorithmAttributes::Other {
            algorithm_id: Some(id),
            raw: vec![id],
        };
        assert_eq!(algorithm_name(&other(0x01)), "RSA");
        assert_eq!(algorithm_name(&other(0x42)), "algorithm 42");
        assert_eq!(algorithm_name(&AlgorithmAttributes::Cv25519Ecdh), "cv25519");
    }
}
