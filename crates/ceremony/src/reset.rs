//! Factory reset: the one way back from a blocked PIN, and the end of a card's share.
//! It erases the card's key, PIN and record, so it asks for the card's fingerprint as
//! confirmation after showing exactly which card and which set it destroys.

use crate::progress::Progress;

use quorum_card::readers::Readers;
use quorum_protocol::apdu::LifeCycle;

use super::inspect::{summarize, CardSummary};
use super::share::LeftTheReader;
use super::{presence::open_card, say, CeremonyError};

/// The confirmation a destructive reset needs: the fingerprint of the card to destroy.
pub enum Confirmation<'a> {
    /// Given up front (`--confirm FINGERPRINT`).
    Given(&'a str),
    /// Asked on the terminal after showing the card.
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
    let before = summarize(ctx, reader, trace)?;
    let Some(fingerprint) = before.fingerprint.clone() else {
        return Err(CeremonyError::CardRefused {
            card: "(blank)".to_owned(),
            reader: reader.to_owned(),
            problem: "is already blank: there is nothing to reset".to_owned(),
        });
    };
    say(
        out,
        &format!("About to FACTORY RESET the card in \"{reader}\": card {before}."),
    );
    match &before.set {
        Some(set) if before.state == LifeCycle::Enrolled => say(
            out,
            &format!(
                "This destroys custodian {}'s share of set \"{}\" ({}-of-{}): afterwards that set has {} usable share(s) left at most.",
                set.index,
                set.label,
                set.threshold,
                set.count,
                set.count - 1
            ),
        ),
        _ => say(out, "The card holds no share; its key and PIN are erased."),
    }
    let typed = match confirmation {
        Confirmation::Given(fp) => fp.to_owned(),
        Confirmation::Ask(ask) => ask(&format!(
            "Type the card's fingerprint ({fingerprint}) to confirm: "
        ))?,
    };
    if !typed.trim().eq_ignore_ascii_case(&fingerprint) {
        return Err(CeremonyError::Usage(format!(
            "card {fingerprint} in \"{reader}\" was NOT reset: the confirmation \"{}\" is not its fingerprint",
            typed.trim()
        )));
    }
    let pulled_early = |e: CeremonyError| {
        if !e.card_left() {
            return e;
        }
        CeremonyError::CardRefused {
            card: fingerprint.clone(),
            reader: reader.to_owned(),
            problem: "was pulled out of the reader (or the reader failed) before the reset began: nothing was erased; insert it again and repeat the command".to_owned(),
        }
    };
    let mut card = open_card(ctx, reader, trace).map_err(pulled_early)?;
    card.select()
        .map_err(|e| pulled_early(CeremonyError::card(reader, e)))?;
    card.factory_reset().map_err(|e| {
        if !e.card_left() {
            return CeremonyError::card(reader, e);
        }
        CeremonyError::CardRefused {
            card: fingerprint.clone(),
            reader: reader.to_owned(),
            problem: "was pulled out of the reader (or the reader failed) before it confirmed the FACTORY RESET: insert it again and run `quorumctl status`; BLANK means the reset was done, otherwise nothing was erased and `quorumctl reset-card` can be repeated".to_owned(),
        }
    })?;
    // The card confirmed the reset: from here on, a failure must not read as "nothing changed".
    let after = card.status().map_err(|e| {
        if !e.card_left() {
            return CeremonyError::card(reader, e);
        }
        CeremonyError::Unfinished(format!(
            "card {fingerprint} in \"{reader}\" confirmed the FACTORY RESET, so its key, PIN and record are erased, but it was pulled out of the reader (or the reader failed) before quorumctl could check that it is blank: insert it again, `quorumctl status` shows it BLANK; personalise it again with `quorumctl init`"
        ))
    })?;
    if after.state != LifeCycle::Blank || after.public_key.is_some() {
        return Err(CeremonyError::CardRefused {
            card: fingerprint,
            reader: reader.to_owned(),
            problem: "did not become blank after FACTORY RESET; the card is faulty".to_owned(),
        });
    }
    Ok(ResetDone { before })
}

/// What factory-resetting a card tells the people at the table as it goes (worded by the caller).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Told {}

#[cfg(test)]
mod in_memory;
