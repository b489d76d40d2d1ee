//! The PIN step of every ceremony: on the reader's keypad when it has one (the PIN never
//! enters this computer), otherwise typed here without echo or read from a PIN file.
//! The output always says which path was taken.

use crate::progress::{Event, Progress};

use quorum_card::card::CardError;
use quorum_card::custodian::CustodianCard;
use quorum_protocol::pin::{Pin, PinRule, RetryLimit};

use crate::pins::{PinEntry, PinFor, PinPath, PinProvider, PinSourceError};

use super::CeremonyError;

/// How PINs reach the cards of one ceremony.
#[derive(Debug, Clone, Copy)]
pub struct PinPolicy<'a> {
    /// Host-side source, for readers without a keypad (or all, with `no_pinpad`).
    pub source: &'a dyn PinProvider,
    /// The user asked not to use keypads (`--no-pinpad`).
    pub no_pinpad: bool,
    /// Seconds a keypad waits for each entry.
    pub pinpad_timeout: u8,
}

/// The PIN a card accepted in this ceremony, kept so the card can be verified again after
/// a reset without asking twice: a host PIN in wiped memory; a keypad PIN is never known.
pub enum Verified {
    /// Typed on the keypad; asking again means typing again.
    Pinpad,
    /// Typed here or read from a file.
    Host(Pin),
}

/// The rule a PIN typed here must meet for this card: an OpenPGP card's user PIN rule, or
/// the quorum applet's (asked after SELECT, which tells the kinds apart).
pub fn pin_rule(card: &dyn CustodianCard) -> PinRule {
    if card.openpgp().is_some() {
        PinRule::OpenPgpUser
    } else {
        PinRule::Applet
    }
}

/// Which way this card's PIN travels: its reader's keypad, unless `--no-pinpad` or none.
pub(crate) fn entry<'a>(
    card: &mut dyn CustodianCard,
    policy: &PinPolicy<'a>,
    reader: &str,
) -> Result<PinEntry<'a>, CeremonyError> {
    // Asked even with --no-pinpad, so the output can say that a keypad was bypassed.
    let pinpad = card.pinpad().map_err(|e| CeremonyError::card(reader, e))?;
    Ok(PinEntry::choose(pinpad, policy.no_pinpad, policy.source))
}

/// A wrong PIN is asked again in place only while more tries than this are left: the last
/// try is never spent by a retry, so one slip too many cannot block a card for good.
pub(crate) const RETRY_WHILE_MORE_THAN: u8 = 1;

/// How many slips typing a new PIN on the keypad (too short or too long, or the two entries
/// differing) are forgiven at init, as the prompt forgives them: the card is not touched.
const NEW_PIN_SLIPS_FORGIVEN: u8 = 2;

/// How many keypad time-outs are forgiven (the custodian is asked once more) per card.
const PINPAD_TIMEOUTS_FORGIVEN: u8 = 1;

/// VERIFY the card's PIN by the path its reader allows, and say which path it was.
///
/// A slip is forgiven in place: a wrong PIN typed on the keypad or at the prompt is asked
/// again while more than one try is left (the tries are stated), and a keypad that timed
/// out waits once more. A PIN from a file is not asked again (it would be the same PIN),
/// and a cancel on the keypad is the custodian's choice: the card is left out.
pub fn verify_pin(
    card: &mut dyn CustodianCard,
    policy: &PinPolicy<'_>,
    who: &PinFor<'_>,
    out: &mut dyn Progress,
) -> Result<Verified, CeremonyError> {
    let (fingerprint, reader) = (who.fingerprint.unwrap_or_default(), who.reader);
    let entry = entry(card, policy, reader)?;
    let mut timeouts = 0;
    loop {
        let attempt = match entry {
            PinEntry::Pinpad(_) => {
                out.tell(Event::Pin(Told::TypeOnKeypad {
                    card: fingerprint.to_owned(),
                    custodian: who.custodian.map(str::to_owned),
                    reader: reader.to_owned(),
                    timeout: policy.pinpad_timeout,
                }));
                card.verify_on_pinpad(policy.pinpad_timeout)
                    .map(|()| Verified::Pinpad)
            }
            PinEntry::Host { source, .. } => {
                let pin = source.current_pin(who, pin_rule(card))?;
                card.verify(&pin).map(|()| Verified::Host(pin))
            }
        };
        let asks_again = match entry {
            PinEntry::Pinpad(_) => Some(AskedAgain::OnKeypad),
            PinEntry::Host { source, .. } if source.interactive() => Some(AskedAgain::Here),
            PinEntry::Host { .. } => None,
        };
        match (attempt, asks_again) {
            (Ok(verified), _) => {
                out.tell(Event::Pin(Told::Accepted {
                    card: fingerprint.to_owned(),
                    path: entry.path(),
                }));
                return Ok(verified);
            }
            (Err(CardError::WrongPin { tries_left }), Some(on))
                if tries_left > RETRY_WHILE_MORE_THAN =>
            {
                out.tell(Event::Pin(Told::WrongPin {
                    card: fingerprint.to_owned(),
                    reader: reader.to_owned(),
                    tries_left,
                    again: on,
                }));
            }
            (Err(CardError::PinpadTimeout { seconds }), _)
                if timeouts < PINPAD_TIMEOUTS_FORGIVEN =>
            {
                timeouts += 1;
                out.tell(Event::Pin(Told::KeypadTimedOut {
                    card: fingerprint.to_owned(),
                    reader: reader.to_owned(),
                    seconds,
                }));
            }
            (Err(e), _) => return Err(CeremonyError::card(reader, e)),
        }
    }
}

/// VERIFY again with what was accepted before (a keypad asks the custodian again).
pub fn reverify(
    card: &mut dyn CustodianCard,
    verified: &Verified,
    policy: &PinPolicy<'_>,
    who: &PinFor<'_>,
    out: &mut dyn Progress,
) -> Result<(), CeremonyError> {
    match verified {
        Verified::Host(pin) => card
            .verify(pin)
            .map_err(|e| CeremonyError::card(who.reader, e)),
        Verified::Pinpad => verify_pin(card, policy, who, out).map(drop),
    }
}

/// INITIALISE with the first PIN typed on the keypad, or chosen here (asked twice).
pub fn initialise(
    card: &mut dyn CustodianCard,
    policy: &PinPolicy<'_>,
    retry_limit: RetryLimit,
    reader: &str,
    out: &mut dyn Progress,
) -> Result<[u8; 65], CeremonyError> {
    let entry = entry(card, policy, reader)?;
    out.tell(Event::Pin(Told::Entry { path: entry.path() }));
    let point = match entry {
        PinEntry::Pinpad(_) => {
            let mut slips = 0;
            loop {
                out.tell(Event::Pin(Told::TypeNewOnKeypad {
                    reader: reader.to_owned(),
                }));
                match card.initialise_on_pinpad(retry_limit, policy.pinpad_timeout) {
                    // Nothing reached the card (or the blank card refused the block, which
                    // costs nothing): asked again, as a prompt asks again.
                    Err(
                        e @ (CardError::PinpadLength
                        | CardError::PinpadMismatch
                        | CardError::PinpadBlockRejected { .. }),
                    ) if slips < NEW_PIN_SLIPS_FORGIVEN => {
                        slips += 1;
                        out.tell(Event::Pin(Told::NewPinAgainOnKeypad {
                            reader: reader.to_owned(),
                            slip: match e {
                                CardError::PinpadMismatch => KeypadSlip::Mismatch,
                                _ => KeypadSlip::Length,
                            },
                        }));
                    }
                    other => break other,
                }
            }
        }
        PinEntry::Host { source, .. } => {
            // INITIALISE is the applet's alone (an OpenPGP card keeps its own PIN).
            let blank = PinFor {
                custodian: None,
                fingerprint: None,
                reader,
            };
            let pin = source.new_pin(&blank, PinRule::Applet)?;
            let block = pin.applet_block().map_err(PinSourceError::Rule)?;
            card.initialise(retry_limit, &block)
        }
    };
    point.map_err(|e| CeremonyError::card(reader, e))
}

/// CHANGE REFERENCE DATA: current and new PIN on the keypad, or here (`new` gives the new
/// PIN when it does not come from the terminal).
pub fn change(
    card: &mut dyn CustodianCard,
    policy: &PinPolicy<'_>,
    new: Option<&dyn PinProvider>,
    who: &PinFor<'_>,
    out: &mut dyn Progress,
) -> Result<(), CeremonyError> {
    let (fingerprint, reader) = (who.fingerprint.unwrap_or_default(), who.reader);
    let entry = entry(card, policy, reader)?;
    out.tell(Event::Pin(Told::Entry { path: entry.path() }));
    match entry {
        PinEntry::Pinpad(_) => {
            out.tell(Event::Pin(Told::ChangeOnKeypad {
                card: fingerprint.to_owned(),
                custodian: who.custodian.map(str::to_owned),
                reader: reader.to_owned(),
                timeout: policy.pinpad_timeout,
            }));
            card.change_pin_on_pinpad(policy.pinpad_timeout)
        }
        PinEntry::Host { source, .. } => {
            let rule = pin_rule(card);
            let old = source.current_pin(who, rule)?;
            let new = match (new, source) {
                (Some(new), _) => new.new_pin(who, rule)?,
                (None, source) if source.interactive() => source.new_pin(who, rule)?,
                (None, _) => return Err(CeremonyError::NewPinRefused(NewPinRefusal::NoSource)),
            };
            if old.same_pin(&new) {
                return Err(CeremonyError::NewPinRefused(NewPinRefusal::SameAsCurrent));
            }
            card.change_pin(&old, &new)
        }
    }
    .map_err(|e| CeremonyError::card(reader, e))
}

/// Why a new PIN was refused before anything was sent to the card.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, thiserror::Error)]
#[serde(rename_all = "snake_case")]
pub enum NewPinRefusal {
    /// The current PIN comes from a file, and nothing gives the new one.
    #[error("the current PIN comes from a file, and no source of the new PIN was given (a second PIN file, or a terminal to type both); nothing was changed")]
    NoSource,
    /// The new PIN is the current one.
    #[error("the new PIN is the same as the current one; nothing was changed")]
    SameAsCurrent,
}

/// Where a wrong PIN is asked again, so the custodian knows where to type it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AskedAgain {
    /// On the reader's keypad.
    OnKeypad,
    /// At this computer's prompt.
    Here,
}

/// What PIN entry on a keypad or from this computer tells the people at the table as it
/// goes (worded by the caller). Never a PIN.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Told {
    /// Which way the PINs of this card travel (said before a PIN is set or changed).
    Entry {
        /// The path taken.
        path: PinPath,
    },
    /// The keypad waits for the PIN of this card.
    TypeOnKeypad {
        /// The card's fingerprint.
        card: String,
        /// Its custodian's name, when known.
        custodian: Option<String>,
        /// The reader whose keypad waits (two pinpads may be attached).
        reader: String,
        /// Seconds the keypad waits (0: the reader's own limit).
        timeout: u8,
    },
    /// The keypad waits for a new PIN, typed twice (a blank card being personalised).
    TypeNewOnKeypad {
        /// The reader whose keypad waits.
        reader: String,
    },
    /// The keypad waits for the current PIN of this card and the new one, twice.
    ChangeOnKeypad {
        /// The card's fingerprint.
        card: String,
        /// Its custodian's name, when known.
        custodian: Option<String>,
        /// The reader whose keypad waits.
        reader: String,
        /// Seconds the keypad waits (0: the reader's own limit).
        timeout: u8,
    },
    /// The card accepted its PIN.
    Accepted {
        /// The card's fingerprint.
        card: String,
        /// The way the PIN came.
        path: PinPath,
    },
    /// The card refused the PIN; it is asked again while more than one try is left.
    WrongPin {
        /// The card's fingerprint.
        card: String,
        /// Where it is.
        reader: String,
        /// Tries left before the PIN blocks.
        tries_left: u8,
        /// Where the PIN is asked again.
        again: AskedAgain,
    },
    /// Nothing was typed on the keypad in time (no try was used); it waits once more.
    KeypadTimedOut {
        /// The card's fingerprint.
        card: String,
        /// Where it is.
        reader: String,
        /// The time limit that passed.
        seconds: u8,
    },
    /// The new PIN typed on the keypad at init was refused before the card took it; the
    /// keypad asks for it again.
    NewPinAgainOnKeypad {
        /// The reader whose keypad asks again.
        reader: String,
        /// What was wrong.
        slip: KeypadSlip,
    },
}

/// What was wrong with a new PIN typed on a keypad.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum KeypadSlip {
    /// Not 6 to 12 digits.
    Length,
    /// The two entries differ.
    Mismatch,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pins::tests::Typed;
    use crate::pins::PinTable;
    use quorum_card::transport::scripted::{
        pinpad_reader, ScriptedTransport, VERIFY_DIRECT, VERIFY_STRUCTURE_30S,
    };

    fn policy(source: &dyn PinProvider) -> PinPolicy<'_> {
        PinPolicy {
            source,
            no_pinpad: false,
            pinpad_timeout: 30,
        }
    }

    fn run(
        script: ScriptedTransport,
        source: &dyn PinProvider,
    ) -> (Result<(), CeremonyError>, crate::in_memory_kit::Said) {
        let mut card = quorum_card::card::Card::with_trace(script, false);
        let mut out = crate::in_memory_kit::Said::default();
        let who = PinFor::card("fp", "Pad");
        let result = verify_pin(&mut card, &policy(source), &who, &mut out).map(drop);
        (result, out)
    }

    fn wrong(tries_left: u8, again: AskedAgain) -> Event {
        Event::Pin(Told::WrongPin {
            card: "fp".into(),
            reader: "Pad".into(),
            tries_left,
            again,
        })
    }

    fn asked_again(said: &crate::in_memory_kit::Said) -> bool {
        said.0
            .iter()
            .any(|e| matches!(e, Event::Pin(Told::WrongPin { .. })))
    }

    /// PIN_MODIFY_STRUCTURE of INITIALISE (limit 5, 30 s), as the card layer builds it.
    const INITIALISE_STRUCTURE_30S: &str = "1E 00 82 0C 00 00 01 0C06 01 02 02 0904 010200 000000 \
         13000000 80120000 0D 05 FFFFFFFFFFFFFFFFFFFFFFFF 00";

    #[test]
    fn a_new_pin_slip_on_the_keypad_at_init_is_asked_again_as_the_prompt_asks() {
        use quorum_card::transport::scripted::MODIFY_DIRECT;
        let key = format!("04{}", "11".repeat(64));
        let script = pinpad_reader()
            .expect_control(MODIFY_DIRECT, INITIALISE_STRUCTURE_30S, "6403")
            .expect_control(MODIFY_DIRECT, INITIALISE_STRUCTURE_30S, "6402")
            .expect_control(
                MODIFY_DIRECT,
                INITIALISE_STRUCTURE_30S,
                &format!("{key}9000"),
            );
        let mut card = quorum_card::card::Card::with_trace(script, false);
        let mut said = crate::in_memory_kit::Said::default();
        let limit = RetryLimit::new(5).unwrap();
        let typed = Typed::default();
        let point = initialise(&mut card, &policy(&typed), limit, "Pad", &mut said);
        assert!(point.is_ok(), "{said}");
        for slip in [KeypadSlip::Length, KeypadSlip::Mismatch] {
            let again = Event::Pin(Told::NewPinAgainOnKeypad {
                reader: "Pad".into(),
                slip,
            });
            assert!(said.told(&again), "{said}");
        }
        // a third slip ends it, with the card unchanged
        let script = pinpad_reader()
            .expect_control(MODIFY_DIRECT, INITIALISE_STRUCTURE_30S, "6403")
            .expect_control(MODIFY_DIRECT, INITIALISE_STRUCTURE_30S, "6403")
            .expect_control(MODIFY_DIRECT, INITIALISE_STRUCTURE_30S, "6403");
        let mut card = quorum_card::card::Card::with_trace(script, false);
        let result = initialise(&mut card, &policy(&typed), limit, "Pad", &mut said);
        assert!(result.is_err());
    }

    #[test]
    fn a_wrong_pin_on_the_keypad_is_asked_again_while_more_than_one_try_is_left() {
        let script = pinpad_reader()
            .expect_control(VERIFY_DIRECT, VERIFY_STRUCTURE_30S, "63C4")
            .expect_control(VERIFY_DIRECT, VERIFY_STRUCTURE_30S, "63C2")
            .expect_control(VERIFY_DIRECT, VERIFY_STRUCTURE_30S, "9000");
        let (result, said) = run(script, &Typed::default());
        assert!(result.is_ok(), "{said}");
        assert!(said.told(&wrong(4, AskedAgain::OnKeypad)), "{said}");
        assert!(said.told(&wrong(2, AskedAgain::OnKeypad)), "{said}");
        assert!(
            said.told(&Event::Pin(Told::TypeOnKeypad {
                card: "fp".into(),
                custodian: None,
                reader: "Pad".into(),
                timeout: 30
            })),
            "{said}"
        );
        assert!(
            said.told(&Event::Pin(Told::Accepted {
                card: "fp".into(),
                path: PinPath::Pinpad
            })),
            "{said}"
        );
        // with one try left the card is left out rather than risk blocking it
        let script = pinpad_reader().expect_control(VERIFY_DIRECT, VERIFY_STRUCTURE_30S, "63C1");
        let (result, said) = run(script, &Typed::default());
        assert!(
            matches!(
                result,
                Err(CeremonyError::Card {
                    source: CardError::WrongPin { tries_left: 1 },
                    ..
                })
            ),
            "{said}"
        );
        assert!(!asked_again(&said), "{said}");
    }

    #[test]
    fn a_keypad_time_out_waits_once_more_and_a_cancel_leaves_the_card_out() {
        let script = pinpad_reader()
            .expect_control(VERIFY_DIRECT, VERIFY_STRUCTURE_30S, "6400")
            .expect_control(VERIFY_DIRECT, VERIFY_STRUCTURE_30S, "9000");
        let (result, said) = run(script, &Typed::default());
        assert!(result.is_ok(), "{said}");
        assert!(
            said.told(&Event::Pin(Told::KeypadTimedOut {
                card: "fp".into(),
                reader: "Pad".into(),
                seconds: 30
            })),
            "{said}"
        );
        let script = pinpad_reader()
            .expect_control(VERIFY_DIRECT, VERIFY_STRUCTURE_30S, "6400")
            .expect_control(VERIFY_DIRECT, VERIFY_STRUCTURE_30S, "6400");
        let (result, _) = run(script, &Typed::default());
        assert!(matches!(
            result,
            Err(CeremonyError::Card {
                source: CardError::PinpadTimeout { seconds: 30 },
                ..
            })
        ));
        let script = pinpad_reader().expect_control(VERIFY_DIRECT, VERIFY_STRUCTURE_30S, "6401");
        let (result, said) = run(script, &Typed::default());
        assert!(
            matches!(
                result,
                Err(CeremonyError::Card {
                    source: CardError::PinpadCancelled,
                    ..
                })
            ),
            "{said}"
        );
    }

    #[test]
    fn a_passphrase_from_a_file_is_refused_for_an_applet_card_before_any_apdu() {
        let table =
            PinTable::parse(b"tr0ub4dor-passphrase\n", crate::pins::tests::test_file()).unwrap();
        let (result, said) = run(ScriptedTransport::new(), &table);
        let error = result.unwrap_err();
        assert!(
            matches!(
                &error,
                CeremonyError::Pin(crate::pins::PinSourceError::CardRule {
                    rule: PinRule::Applet,
                    ..
                })
            ),
            "{error} {said}"
        );
        assert!(!error.to_string().contains("tr0ub4dor"), "{error}");
        assert!(error.to_string().contains("fp"), "{error}");
    }

    #[test]
    fn a_wrong_pin_from_a_file_is_not_sent_again() {
        let table = PinTable::parse(b"999999\n", crate::pins::tests::test_file()).unwrap();
        let script = ScriptedTransport::new().expect("002000810C393939393939FFFFFFFFFFFF", "63C4");
        let (result, said) = run(script, &table);
        assert!(
            matches!(
                result,
                Err(CeremonyError::Card {
                    source: CardError::WrongPin { tries_left: 4 },
                    ..
                })
            ),
            "{said}"
        );
        assert!(!asked_again(&said), "{said}");
    }

    #[test]
    fn a_wrong_pin_typed_here_is_asked_again_here() {
        let script = ScriptedTransport::new()
            .expect("002000810C393939393939FFFFFFFFFFFF", "63C4")
            .expect("002000810C313233343536FFFFFFFFFFFF", "9000");
        let typed = Typed(std::cell::RefCell::new(["999999", "123456"].into()));
        let (result, said) = run(script, &typed);
        assert!(result.is_ok(), "{said}");
        assert!(said.told(&wrong(4, AskedAgain::Here)), "{said}");
    }
}
