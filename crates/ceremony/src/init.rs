//! Personalising a blank card: the custodian's PIN and an on-card key pair.

use crate::progress::Progress;

use quorum_card::readers::Readers;
use quorum_protocol::apdu::LifeCycle;
use quorum_protocol::crypto::CardKey;
use quorum_protocol::pin::RetryLimit;

use super::{identify, pin_step, presence::open_card, say, CeremonyError, PinPolicy};

/// A personalised card, as the custodian should note it.
#[derive(Debug, Clone)]
pub struct Initialised {
    /// The reader it was in.
    pub reader: String,
    /// Its new public key.
    pub key: CardKey,
    /// The retry limit set.
    pub retry_limit: u8,
}

/// Sets the PIN and generates the key pair on the blank card in `reader`.
pub fn init(
    ctx: &dyn Readers,
    reader: &str,
    retry_limit: RetryLimit,
    pins: &PinPolicy<'_>,
    trace: bool,
    out: &mut dyn Progress,
) -> Result<Initialised, CeremonyError> {
    let mut card = open_card(ctx, reader, trace)?;
    let id = identify(&mut card, reader)?;
    if id.status.state != LifeCycle::Blank {
        return Err(CeremonyError::CardRefused {
            card: id.name(),
            reader: reader.to_owned(),
            problem: format!(
                "is already personalised (state: {}); a card is initialised once, and only a factory reset (which erases its key and record) makes it blank again",
                id.status.state.name()
            ),
        });
    }
    say(
        out,
        &format!(
            "Personalising the blank card in \"{reader}\" (PIN retry limit {}).",
            retry_limit.get()
        ),
    );
    let point = pin_step::initialise(&mut card, pins, retry_limit, reader, out)?;
    let key = CardKey::from_card_point(&point[..]).map_err(|source| CeremonyError::BadCardKey {
        reader: reader.to_owned(),
        source,
    })?;
    // Read back: the card must now report the key it returned and the limit asked for.
    let check = identify(&mut card, reader)?;
    if check.key != Some(key)
        || check.status.retry_limit != retry_limit.get()
        || check.status.state != LifeCycle::Personalised
    {
        return Err(CeremonyError::CardRefused {
            card: key.fingerprint(),
            reader: reader.to_owned(),
            problem: "does not report the key and PIN limit it was just given; the card is faulty"
                .to_owned(),
        });
    }
    Ok(Initialised {
        reader: reader.to_owned(),
        key,
        retry_limit: retry_limit.get(),
    })
}

/// What personalising a card tells the people at the table as it goes (worded by the caller).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Told {}

#[cfg(test)]
mod in_memory;
