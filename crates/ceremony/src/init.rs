//! Personalising a blank card: the custodian's PIN and an on-card key pair.

use crate::progress::{Event, Progress};

use quorum_card::readers::Readers;
use quorum_protocol::apdu::LifeCycle;
use quorum_protocol::crypto::CardKey;
use quorum_protocol::pin::RetryLimit;

use super::{identify, pin_step, presence::open_card, CeremonyError, PinPolicy};

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
        return Err(CeremonyError::InitRefused {
            card: id.key.map(|k| k.fingerprint()),
            reader: reader.to_owned(),
            why: Refusal::AlreadyPersonalised {
                state: id.status.state.name(),
            },
        });
    }
    out.tell(Event::Init(Told::Personalising {
        reader: reader.to_owned(),
        retry_limit: retry_limit.get(),
    }));
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
        return Err(CeremonyError::InitRefused {
            card: Some(key.fingerprint()),
            reader: reader.to_owned(),
            why: Refusal::Faulty,
        });
    }
    Ok(Initialised {
        reader: reader.to_owned(),
        key,
        retry_limit: retry_limit.get(),
    })
}

/// Why init refused a card, or found it faulty after personalising it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, thiserror::Error)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Refusal {
    /// The card has a key already; nothing was changed.
    #[error("is already personalised (state: {state}); a card is initialised once, and only a factory reset (which erases its key and record) makes it blank again")]
    AlreadyPersonalised {
        /// The state it reported (its name as the spec writes it).
        state: &'static str,
    },
    /// After INITIALISE the card did not report the key and limit it was given.
    #[error("does not report the key and PIN limit it was just given; the card is faulty")]
    Faulty,
}

/// What personalising a card tells the people at the table as it goes (worded by the caller).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Told {
    /// The blank card in this reader is about to get its PIN and key.
    Personalising {
        /// Where it is.
        reader: String,
        /// The PIN retry limit it gets.
        retry_limit: u8,
    },
}

#[cfg(test)]
mod in_memory;
