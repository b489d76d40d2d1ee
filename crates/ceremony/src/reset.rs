//! Factory reset: the one way back from a blocked PIN, and the end of a card's share.
//! It erases the card's key, PIN and record, so it asks for the card's fingerprint as
//! confirmation after showing exactly which card and which set it destroys.

use crate::progress::{Event, Progress};

use quorum_card::readers::Readers;
use quorum_protocol::apdu::LifeCycle;

use super::dry_run::{DryRun, Part, Planned};
use super::inspect::{summarize, CardSummary};
use super::share::real_name;
use super::share::LeftTheReader;
use super::{presence::open_card, CeremonyError};

/// The confirmation a destructive reset needs: the fingerprint of the card to destroy.
pub enum Confirmation<'a> {
    /// Given up front (`--confirm FINGERPRINT`).
    Given(&'a str),
    /// Asked after showing the card: the caller is given the fingerprint to ask for and
    /// returns what was typed.
    Ask(&'a mut dyn FnMut(&str) -> std::io::Result<String>),
}

/// What the reset destroyed.
#[derive(Debug, Clone)]
pub struct ResetDone {
    /// The card as it was before the reset.
    pub before: CardSummary,
}

/// Shows the card in `reader`, checks the confirmation, and factory-resets it.
pub fn reset_card(
    ctx: &dyn Readers,
    reader: &str,
    confirmation: Confirmation<'_>,
    trace: bool,
    out: &mut dyn Progress,
) -> Result<ResetDone, CeremonyError> {
    let (before, fingerprint) = shown(ctx, reader, trace)?;
    let stopped = |why| CeremonyError::ResetStopped {
        card: before.fingerprint.clone(),
        reader: reader.to_owned(),
        why,
    };
    out.tell(Event::Reset(Told::AboutToReset {
        reader: reader.to_owned(),
        card: before.clone(),
    }));
    out.tell(Event::Reset(match &before.set {
        Some(set) if before.state == LifeCycle::Enrolled => Told::DestroysShare {
            index: set.index,
            label: set.label.clone(),
            threshold: set.threshold,
            count: set.count,
        },
        _ => Told::HoldsNoShare,
    }));
    let typed = match confirmation {
        Confirmation::Given(fp) => fp.to_owned(),
        Confirmation::Ask(ask) => ask(&fingerprint)?,
    };
    if !same_fingerprint(&typed, &fingerprint) {
        return Err(stopped(Stop::NotConfirmed {
            typed: typed.trim().to_owned(),
        }));
    }
    let pulled_early = |e: CeremonyError| {
        if !e.card_left() {
            return e;
        }
        stopped(Stop::PulledBefore)
    };
    let mut card = open_card(ctx, reader, trace).map_err(pulled_early)?;
    card.select()
        .map_err(|e| pulled_early(CeremonyError::card(reader, e)))?;
    card.factory_reset().map_err(|e| {
        if !e.card_left() {
            return CeremonyError::card(reader, e);
        }
        stopped(Stop::PulledDuring)
    })?;
    // The card confirmed the reset: from here on, a failure must not read as "nothing changed".
    let after = card.status().map_err(|e| {
        if !e.card_left() {
            return CeremonyError::card(reader, e);
        }
        stopped(Stop::ErasedUnchecked)
    })?;
    if after.state != LifeCycle::Blank || after.public_key.is_some() {
        return Err(stopped(Stop::NotBlankAfter));
    }
    Ok(ResetDone { before })
}

/// The card in `reader` as a reset would show it, and its fingerprint; a blank card is
/// refused (there is nothing to reset).
fn shown(
    ctx: &dyn Readers,
    reader: &str,
    trace: bool,
) -> Result<(CardSummary, String), CeremonyError> {
    let before = summarize(ctx, reader, trace)?;
    match before.fingerprint.clone() {
        Some(fingerprint) => Ok((before, fingerprint)),
        None => Err(CeremonyError::ResetStopped {
            card: None,
            reader: reader.to_owned(),
            why: Stop::AlreadyBlank,
        }),
    }
}

/// The dry run of [`reset_card`]: the card shown, a blank one refused, and a confirmation
/// given up front checked against it; nothing is erased.
pub fn dry_run(
    ctx: &dyn Readers,
    reader: &str,
    confirm: Option<&str>,
    trace: bool,
) -> Result<DryRun, CeremonyError> {
    let (before, fingerprint) = shown(ctx, reader, trace)?;
    let stopped = |why| CeremonyError::ResetStopped {
        card: before.fingerprint.clone(),
        reader: reader.to_owned(),
        why,
    };
    if let Some(typed) = confirm {
        if !same_fingerprint(typed, &fingerprint) {
            return Err(stopped(Stop::NotConfirmed {
                typed: typed.trim().to_owned(),
            }));
        }
    }
    let share = before
        .set
        .clone()
        .filter(|_| before.state == LifeCycle::Enrolled);
    Ok(DryRun {
        cards: vec![Planned {
            reader: reader.to_owned(),
            card: Some(fingerprint),
            custodian: share
                .as_ref()
                .and_then(|s| real_name(&s.custodian).map(str::to_owned)),
            part: Part::Erased {
                share,
                confirmed: confirm.is_some(),
            },
            pin: None,
        }],
        still_needed: None,
        unchecked: Vec::new(),
    })
}

/// Why a factory reset was refused or stopped, and so what it did to the card.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, thiserror::Error)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Stop {
    /// The card is blank: nothing to reset.
    #[error("is already blank: there is nothing to reset")]
    AlreadyBlank,
    /// The confirmation is not the card's fingerprint; nothing was erased.
    #[error("was NOT reset: the confirmation \"{typed}\" is not its fingerprint")]
    NotConfirmed {
        /// What was given as the confirmation, trimmed.
        typed: String,
    },
    /// The card left before the reset began; nothing was erased.
    #[error("was pulled out of the reader (or the reader failed) before the reset began: nothing was erased")]
    PulledBefore,
    /// The card left before it answered the reset: it may or may not be erased.
    #[error("was pulled out of the reader (or the reader failed) before it confirmed the FACTORY RESET: if it is blank now, the reset was done; otherwise nothing was erased")]
    PulledDuring,
    /// The card confirmed the reset (it is erased), then left before it was checked blank.
    #[error("confirmed the FACTORY RESET, so its key, PIN and record are erased, but it was pulled out of the reader (or the reader failed) before it could be checked blank")]
    ErasedUnchecked,
    /// The card confirmed the reset but does not report itself blank.
    #[error("did not become blank after FACTORY RESET; the card is faulty")]
    NotBlankAfter,
}

/// What factory-resetting a card tells the people at the table as it goes (worded by the caller).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Told {
    /// The card about to be reset, as it is now.
    AboutToReset {
        /// Where it is.
        reader: String,
        /// What it holds.
        card: CardSummary,
    },
    /// The reset destroys this custodian's share of a set.
    DestroysShare {
        /// The custodian's share index.
        index: u8,
        /// The set's label.
        label: String,
        /// Shares the set needs.
        threshold: u8,
        /// Cards in the set.
        count: usize,
    },
    /// The card holds no share: only its key and PIN are erased.
    HoldsNoShare,
}

#[cfg(test)]
mod in_memory;

/// Whether the typed confirmation names this fingerprint: case, dashes and spaces aside,
/// since people copy `a1b2-c3d4-…` by hand and may leave the dashes out.
fn same_fingerprint(typed: &str, fingerprint: &str) -> bool {
    let bare = |s: &str| -> String {
        s.chars()
            .filter(|c| !matches!(c, '-' | ' ' | '\t'))
            .map(|c| c.to_ascii_lowercase())
            .collect()
    };
    !typed.trim().is_empty() && bare(typed) == bare(fingerprint)
}
