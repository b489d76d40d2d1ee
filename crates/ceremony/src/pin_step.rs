//! The PIN step of every ceremony: on the reader's keypad when it has one (the PIN never
//! enters this computer), otherwise typed here without echo or read from a PIN file.
//! The output always says which path was taken.

use crate::progress::Progress;

use quorum_card::card::CardError;
use quorum_card::custodian::CustodianCard;
use quorum_protocol::pin::{PinBlock, RetryLimit, PIN_MAX_DIGITS, PIN_MIN_DIGITS};

use crate::pins::{PinEntry, PinProvider};

use super::{say, CeremonyError};

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
    Host(PinBlock),
}

fn entry<'a>(
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
const RETRY_WHILE_MORE_THAN: u8 = 1;

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
    fingerprint: &str,
    reader: &str,
    out: &mut dyn Progress,
) -> Result<Verified, CeremonyError> {
    let entry = entry(card, policy, reader)?;
    let mut timeouts = 0;
    loop {
        let attempt = match entry {
            PinEntry::Pinpad(_) => {
                say(
                    out,
                    &crate::pins::pinpad_verify_instructions(fingerprint, policy.pinpad_timeout),
                );
                card.verify_on_pinpad(policy.pinpad_timeout)
                    .map(|()| Verified::Pinpad)
            }
            PinEntry::Host { source, .. } => {
                let pin = source.current_pin(fingerprint)?;
                card.verify(&pin).map(|()| Verified::Host(pin))
            }
        };
        let asks_again = match entry {
            PinEntry::Pinpad(_) => "type it again on the reader's keypad",
            PinEntry::Host { source, .. } if source.interactive() => "type it again",
            PinEntry::Host { .. } => "",
        };
        match attempt {
            Ok(verified) => {
                say(
                    out,
                    &format!("Card {fingerprint}: PIN accepted ({}).", entry.describe()),
                );
                return Ok(verified);
            }
            Err(CardError::WrongPin { tries_left })
                if tries_left > RETRY_WHILE_MORE_THAN && !asks_again.is_empty() =>
            {
                say(
                    out,
                    &format!(
                        "Card {fingerprint} in \"{reader}\": wrong PIN, {tries_left} tries left; {asks_again}."
                    ),
                );
            }
            Err(CardError::PinpadTimeout { seconds }) if timeouts < PINPAD_TIMEOUTS_FORGIVEN => {
                timeouts += 1;
                say(
                    out,
                    &format!(
                        "Card {fingerprint} in \"{reader}\": nothing was typed on the keypad within {seconds} seconds (no try was used); it waits once more."
                    ),
                );
            }
            Err(e) => return Err(CeremonyError::card(reader, e)),
        }
    }
}

/// VERIFY again with what was accepted before (a keypad asks the custodian again).
pub fn reverify(
    card: &mut dyn CustodianCard,
    verified: &Verified,
    policy: &PinPolicy<'_>,
    fingerprint: &str,
    reader: &str,
    out: &mut dyn Progress,
) -> Result<(), CeremonyError> {
    match verified {
        Verified::Host(pin) => card.verify(pin).map_err(|e| CeremonyError::card(reader, e)),
        Verified::Pinpad => verify_pin(card, policy, fingerprint, reader, out).map(drop),
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
    say(out, &format!("PIN entry: {}.", entry.describe()));
    let point = match entry {
        PinEntry::Pinpad(_) => {
            say(
                out,
                &format!(
                    "Type the new PIN ({PIN_MIN_DIGITS}-{PIN_MAX_DIGITS} digits) on the reader's keypad, twice, pressing OK after each."
                ),
            );
            card.initialise_on_pinpad(retry_limit, policy.pinpad_timeout)
        }
        PinEntry::Host { source, .. } => {
            let pin = source.new_pin(&format!("the card in \"{reader}\""))?;
            card.initialise(retry_limit, &pin)
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
    fingerprint: &str,
    reader: &str,
    out: &mut dyn Progress,
) -> Result<(), CeremonyError> {
    let entry = entry(card, policy, reader)?;
    say(out, &format!("PIN entry: {}.", entry.describe()));
    match entry {
        PinEntry::Pinpad(_) => {
            say(out, &crate::pins::pinpad_change_instructions(fingerprint, policy.pinpad_timeout));
            card.change_pin_on_pinpad(policy.pinpad_timeout)
        }
        PinEntry::Host { source, .. } => {
            let old = source.current_pin(fingerprint)?;
            let new = match (new, source) {
                (Some(new), _) => new.new_pin(fingerprint)?,
                (None, source) if source.interactive() => source.new_pin(fingerprint)?,
                (None, _) => {
                    return Err(CeremonyError::Usage(
                        "the current PIN comes from a file: give the new one with --new-pin-file (or type both on a terminal)".to_owned(),
                    ))
                }
            };
            if old.same_pin(&new) {
                return Err(CeremonyError::Usage("the new PIN is the same as the current one; nothing was changed".to_owned()));
            }
            card.change_pin(&old, &new)
        }
    }
    .map_err(|e| CeremonyError::card(reader, e))
}

/// What PIN entry on a keypad or from this computer tells the people at the table as it goes (worded by the caller).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Told {}

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

    fn run(script: ScriptedTransport, source: &dyn PinProvider) -> (Result<(), String>, String) {
        let mut card = quorum_card::card::Card::with_trace(script, false);
        let mut out = crate::in_memory_kit::Said::default();
        let result = verify_pin(&mut card, &policy(source), "fp", "Pad", &mut out)
            .map(drop)
            .map_err(|e| e.to_string());
        (result, out.text())
    }

    #[test]
    fn a_wrong_pin_on_the_keypad_is_asked_again_while_more_than_one_try_is_left() {
        let script = pinpad_reader()
            .expect_control(VERIFY_DIRECT, VERIFY_STRUCTURE_30S, "63C4")
            .expect_control(VERIFY_DIRECT, VERIFY_STRUCTURE_30S, "63C2")
            .expect_control(VERIFY_DIRECT, VERIFY_STRUCTURE_30S, "9000");
        let (result, said) = run(script, &Typed::default());
        assert_eq!(result, Ok(()));
        assert!(
            said.contains("wrong PIN, 4 tries left; type it again on the reader's keypad"),
            "{said}"
        );
        assert!(said.contains("wrong PIN, 2 tries left"), "{said}");
        assert!(
            said.contains("PIN accepted (PIN typed on the reader's pinpad)"),
            "{said}"
        );
        // with one try left the card is left out rather than risk blocking it
        let script = pinpad_reader().expect_control(VERIFY_DIRECT, VERIFY_STRUCTURE_30S, "63C1");
        let (result, said) = run(script, &Typed::default());
        let e = result.unwrap_err();
        assert!(
            e.contains("1 tries left") || e.contains("1 try left"),
            "{e}"
        );
        assert!(!said.contains("type it again"), "{said}");
    }

    #[test]
    fn a_keypad_time_out_waits_once_more_and_a_cancel_leaves_the_card_out() {
        let script = pinpad_reader()
            .expect_control(VERIFY_DIRECT, VERIFY_STRUCTURE_30S, "6400")
            .expect_control(VERIFY_DIRECT, VERIFY_STRUCTURE_30S, "9000");
        let (result, said) = run(script, &Typed::default());
        assert_eq!(result, Ok(()));
        assert!(said.contains("nothing was typed on the keypad within 30 seconds (no try was used); it waits once more"), "{said}");
        let script = pinpad_reader()
            .expect_control(VERIFY_DIRECT, VERIFY_STRUCTURE_30S, "6400")
            .expect_control(VERIFY_DIRECT, VERIFY_STRUCTURE_30S, "6400");
        let (result, _) = run(script, &Typed::default());
        assert!(result.is_err());
        let script = pinpad_reader().expect_control(VERIFY_DIRECT, VERIFY_STRUCTURE_30S, "6401");
        let (result, said) = run(script, &Typed::default());
        assert!(result.unwrap_err().contains("cancelled"), "{said}");
    }

    #[test]
    fn a_wrong_pin_from_a_file_is_not_sent_again() {
        let table = PinTable::parse(b"999999\n", "PIN file test").unwrap();
        let script = ScriptedTransport::new().expect("002000810C393939393939FFFFFFFFFFFF", "63C4");
        let (result, said) = run(script, &table);
        assert!(result.unwrap_err().contains("4 tries left"), "{said}");
        assert!(!said.contains("type it again"), "{said}");
    }
}
