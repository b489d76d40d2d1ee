//! Changing a custodian's PIN: the current PIN and the new one (twice), on the reader's
//! keypad when it has one.

use crate::progress::Progress;

use crate::dry_run::{pin_plan, read_only, DryRun, Part, Planned, Unchecked};
use crate::pin_step::NewPinRefusal;
use crate::pins::{PinFor, PinPath, PinProvider};
use crate::share::custodian_name;
use quorum_card::custodian::CustodianCard;
use quorum_card::readers::Readers;
use quorum_protocol::apdu::LifeCycle;
use quorum_protocol::record::PublicRecord;

use super::{identify, pin_step, presence::open_card, CeremonyError, PinPolicy};

/// The card whose PIN was changed, as the result names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PinChanged {
    /// Its fingerprint.
    pub fingerprint: String,
    /// Its custodian's name, from its record when it holds one.
    pub custodian: Option<String>,
}

/// Changes the PIN of the card in `reader`.
pub fn change_pin(
    ctx: &dyn Readers,
    reader: &str,
    pins: &PinPolicy<'_>,
    new: Option<&dyn PinProvider>,
    trace: bool,
    out: &mut dyn Progress,
) -> Result<PinChanged, CeremonyError> {
    let mut card = open_card(ctx, reader, trace)?;
    let found = checked(card.as_mut(), reader)?;
    pin_step::change(card.as_mut(), pins, new, &found.who(reader), out)?;
    Ok(PinChanged {
        fingerprint: found.fingerprint,
        custodian: found.custodian,
    })
}

/// The dry run of [`change_pin`]: the card's checks, where its PINs would be typed, and,
/// from PIN files, both PINs read and checked against the card's rule (never sent).
pub fn dry_run(
    ctx: &dyn Readers,
    reader: &str,
    pins: &PinPolicy<'_>,
    new: Option<&dyn PinProvider>,
    trace: bool,
) -> Result<DryRun, CeremonyError> {
    let mut card = read_only(open_card(ctx, reader, trace)?);
    let found = checked(card.as_mut(), reader)?;
    let who = found.who(reader);
    let path = pin_plan(card.as_mut(), pins, &who)?;
    let mut unchecked = vec![Unchecked::Pins];
    if let PinPath::Host { .. } = path {
        let rule = pin_step::pin_rule(card.as_ref());
        match new {
            Some(new) if !new.interactive() => {
                let new = new.new_pin(&who, rule)?;
                if !pins.source.interactive() && pins.source.current_pin(&who, rule)?.same_pin(&new)
                {
                    return Err(CeremonyError::NewPinRefused(NewPinRefusal::SameAsCurrent));
                }
            }
            None if !pins.source.interactive() => {
                return Err(CeremonyError::NewPinRefused(NewPinRefusal::NoSource))
            }
            _ => unchecked.push(Unchecked::NewPin),
        }
    }
    Ok(DryRun {
        cards: vec![Planned {
            reader: reader.to_owned(),
            card: Some(found.fingerprint.clone()),
            custodian: found.custodian.clone(),
            part: Part::ChangesPin {
                tries_left: found.tries_left,
            },
            pin: Some(path),
        }],
        still_needed: None,
        unchecked,
    })
}

/// A card whose PIN may be changed, as found before any PIN is asked.
struct Found {
    fingerprint: String,
    has_key: bool,
    custodian: Option<String>,
    tries_left: u8,
}

impl Found {
    /// Who the PIN prompts name.
    fn who<'a>(&'a self, reader: &'a str) -> PinFor<'a> {
        PinFor {
            custodian: self.custodian.as_deref(),
            fingerprint: self.has_key.then_some(self.fingerprint.as_str()),
            reader,
        }
    }
}

/// The card's checks before any PIN: not blank, not blocked; its custodian named from its
/// record when it holds one.
fn checked(card: &mut dyn CustodianCard, reader: &str) -> Result<Found, CeremonyError> {
    let id = identify(card, reader)?;
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
    // The name is a courtesy: a record that cannot be read here (an OpenPGP card keeps
    // its record in the bundle) leaves the card named by its fingerprint alone.
    let custodian = match id.status.state {
        LifeCycle::Enrolled => card
            .get_record_public()
            .ok()
            .and_then(|public| PublicRecord::decode(&public).ok())
            .and_then(|record| custodian_name(&record).map(str::to_owned)),
        _ => None,
    };
    Ok(Found {
        fingerprint: id.name(),
        has_key: id.key.is_some(),
        custodian,
        tries_left: id.status.tries_left,
    })
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
