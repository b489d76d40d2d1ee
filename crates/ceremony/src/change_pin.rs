//! Changing a custodian's PIN: the current PIN and the new one (twice), on the reader's
//! keypad when it has one.

use crate::progress::Progress;

use crate::pins::{PinFor, PinProvider};
use quorum_card::readers::Readers;
use quorum_protocol::apdu::LifeCycle;

use super::{identify, pin_step, presence::open_card, CeremonyError, PinPolicy};

/// Changes the PIN of the card in `reader`; returns its fingerprint.
pub fn change_pin(
    ctx: &dyn Readers,
    reader: &str,
    pins: &PinPolicy<'_>,
    new: Option<&dyn PinProvider>,
    trace: bool,
    out: &mut dyn Progress,
) -> Result<String, CeremonyError> {
    let mut card = open_card(ctx, reader, trace)?;
    let id = identify(&mut card, reader)?;
    let refuse = |why| CeremonyError::ChangePinRefused {
        card: id.key.map(|k| k.fingerprint()),
        reader: reader.to_owned(),
        why,
    };
    if id.status.state == LifeCycle::Blank {
        return Err(refuse(Refusal::Blank));
    }
    if id.status.blocked {
        return Err(refuse(Refusal::Blocked));
    }
    let fingerprint = id.name();
    let who = PinFor {
        custodian: None,
        fingerprint: id.key.is_some().then_some(fingerprint.as_str()),
        reader,
    };
    pin_step::change(&mut card, pins, new, &who, out)?;
    Ok(fingerprint)
}

/// Why change-pin refused a card before asking any PIN.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, thiserror::Error)]
#[serde(rename_all = "snake_case")]
pub enum Refusal {
    /// A blank card has no PIN to change.
    #[error("is blank: it has no PIN yet")]
    Blank,
    /// A blocked PIN cannot be changed; only a factory reset helps.
    #[error("has a blocked PIN: it cannot be changed; only a factory reset (which erases the card's key and share) makes the card usable again")]
    Blocked,
}

#[cfg(test)]
mod in_memory;
