//! Changing a custodian's PIN: the current PIN and the new one (twice), on the reader's
//! keypad when it has one.

use crate::progress::Progress;

use crate::pins::PinProvider;
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
    let refuse = |problem: &str| CeremonyError::CardRefused {
        card: id.name(),
        reader: reader.to_owned(),
        problem: problem.to_owned(),
    };
    if id.status.state == LifeCycle::Blank {
        return Err(refuse(
            "is blank: it has no PIN yet; personalise it with `quorumctl init`",
        ));
    }
    if id.status.blocked {
        return Err(refuse(
            "has a blocked PIN: it cannot be changed; only `quorumctl reset-card` (which erases the card's key and share) makes the card usable again",
        ));
    }
    let fingerprint = id.name();
    pin_step::change(&mut card, pins, new, &fingerprint, reader, out)?;
    Ok(fingerprint)
}

/// What changing a PIN tells the people at the table as it goes (worded by the caller).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Told {}

#[cfg(test)]
mod in_memory;
