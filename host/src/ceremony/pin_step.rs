//! The PIN step of every ceremony: on the reader's keypad when it has one (the PIN never
//! enters this computer), otherwise typed here without echo or read from a PIN file.
//! The output always says which path was taken.

use std::io::Write;

use crate::card::Card;
use crate::pin::{PinBlock, PinEntry, PinSource, RetryLimit, PIN_MAX_DIGITS, PIN_MIN_DIGITS};
use crate::transport::Transport;

use super::{say, CeremonyError};

/// How PINs reach the cards of one ceremony.
#[derive(Debug, Clone, Copy)]
pub struct PinPolicy<'a> {
    /// Host-side source, for readers without a keypad (or all, with `no_pinpad`).
    pub source: &'a PinSource,
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

fn entry<'a, T: Transport>(
    card: &mut Card<T>,
    policy: &PinPolicy<'a>,
    reader: &str,
) -> Result<PinEntry<'a>, CeremonyError> {
    // Asked even with --no-pinpad, so the output can say that a keypad was bypassed.
    let pinpad = card.pinpad().map_err(|e| CeremonyError::card(reader, e))?;
    Ok(PinEntry::choose(pinpad, policy.no_pinpad, policy.source))
}

/// VERIFY the card's PIN by the path its reader allows, and say which path it was.
pub fn verify_pin<T: Transport>(
    card: &mut Card<T>,
    policy: &PinPolicy<'_>,
    fingerprint: &str,
    reader: &str,
    out: &mut dyn Write,
) -> Result<Verified, CeremonyError> {
    let entry = entry(card, policy, reader)?;
    match entry {
        PinEntry::Pinpad(_) => {
            say(
                out,
                &crate::pin::pinpad_verify_instructions(fingerprint, policy.pinpad_timeout),
            );
            card.verify_on_pinpad(policy.pinpad_timeout)
                .map_err(|e| CeremonyError::card(reader, e))?;
            say(
                out,
                &format!("Card {fingerprint}: PIN accepted ({}).", entry.describe()),
            );
            Ok(Verified::Pinpad)
        }
        PinEntry::Host { source, .. } => {
            let pin = source.current_pin(fingerprint)?;
            card.verify(&pin)
                .map_err(|e| CeremonyError::card(reader, e))?;
            say(
                out,
                &format!("Card {fingerprint}: PIN accepted ({}).", entry.describe()),
            );
            Ok(Verified::Host(pin))
        }
    }
}

/// VERIFY again with what was accepted before (a keypad asks the custodian again).
pub fn reverify<T: Transport>(
    card: &mut Card<T>,
    verified: &Verified,
    policy: &PinPolicy<'_>,
    fingerprint: &str,
    reader: &str,
    out: &mut dyn Write,
) -> Result<(), CeremonyError> {
    match verified {
        Verified::Host(pin) => card.verify(pin).map_err(|e| CeremonyError::card(reader, e)),
        Verified::Pinpad => verify_pin(card, policy, fingerprint, reader, out).map(drop),
    }
}

/// INITIALISE with the first PIN typed on the keypad, or chosen here (asked twice).
pub fn initialise<T: Transport>(
    card: &mut Card<T>,
    policy: &PinPolicy<'_>,
    retry_limit: RetryLimit,
    reader: &str,
    out: &mut dyn Write,
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
pub fn change<T: Transport>(
    card: &mut Card<T>,
    policy: &PinPolicy<'_>,
    new: Option<&PinSource>,
    fingerprint: &str,
    reader: &str,
    out: &mut dyn Write,
) -> Result<(), CeremonyError> {
    let entry = entry(card, policy, reader)?;
    say(out, &format!("PIN entry: {}.", entry.describe()));
    match entry {
        PinEntry::Pinpad(_) => {
            say(out, &crate::pin::pinpad_change_instructions(fingerprint, policy.pinpad_timeout));
            card.change_pin_on_pinpad(policy.pinpad_timeout)
        }
        PinEntry::Host { source, .. } => {
            let old = source.current_pin(fingerprint)?;
            let new = match (new, source) {
                (Some(new), _) => new.new_pin(fingerprint)?,
                (None, PinSource::Prompt) => source.new_pin(fingerprint)?,
                (None, PinSource::Table(_)) => {
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
