//! The words for adding a card to a set.

use quorum_ceremony::add_card::{Stopped, Told};
use quorum_ceremony::CeremonyError;

use super::share::listing;

/// The line for one event of adding a card to a set.
pub(crate) fn line(told: &Told) -> String {
    match told {
        Told::Starting {
            label,
            threshold,
            count,
            version,
        } => format!(
            "Adding a card to set \"{label}\" ({threshold}-of-{count}, version {version}): {threshold} custodian card(s) open their shares, then the new card is written."
        ),
        Told::NewCardWaits { fingerprint } => format!(
            "New card {fingerprint}: PIN accepted; it is written once the quorum's shares are open."
        ),
        Told::Writing {
            index,
            name,
            version,
            fingerprint,
        } => format!(
            "Writing custodian {index} \"{name}\" (set version {version}) to card {fingerprint}."
        ),
        Told::Written { fingerprint, index } => format!(
            "Card {fingerprint}: custodian {index} written, read back and opened (it matches its commitment)."
        ),
    }
}

/// The CLI's message for an error of this ceremony step, when it words it itself.
pub(crate) fn error(e: &CeremonyError) -> Option<String> {
    match e {
        CeremonyError::AddCardStopped(stopped) => Some(self::stopped(stopped)),
        CeremonyError::BundleNotUpdated { version, source } => Some(format!(
            "the new card holds its share (set version {version}), but the bundle was not updated: {}. Nothing is lost: every card carries the set description; fix the cause and write the bundle from the new card with `quorumctl export-bundle`",
            super::files::bundle_update(source)
        )),
        _ => None,
    }
}

/// Why add-card stopped, and what to do.
fn stopped(s: &Stopped) -> String {
    match s {
        Stopped::TwoNewCards { first, second } => format!(
            "two personalised cards are present ({first} and {second}): name the one to add with --new FINGERPRINT; nothing was written"
        ),
        Stopped::QuorumShort {
            opened,
            need,
            label,
            cards,
        } => format!(
            "cannot recover: only {opened} of the {need} shares needed to issue a new share of set \"{label}\" could be opened; nothing was written{}",
            listing(cards)
        ),
        Stopped::NoNewCard { cards } => format!(
            "the set was NOT enrolled: no new card was presented: insert a card personalised with `quorumctl init` that is in no set; nothing was written{}",
            listing(cards)
        ),
        Stopped::NotWritten {
            card,
            reader,
            cause,
        } => format!(
            "the set was NOT enrolled: writing the new card {card} in \"{reader}\" failed: {}; the other cards were not changed, so the set is as it was",
            super::error_message(cause)
        ),
        Stopped::Unchecked {
            cause,
            index,
            label,
            version,
            reader,
        } => format!(
            "{}. It is now custodian {index} of set \"{label}\" version {version}, but no bundle of that version was written; the other cards were not changed. Insert it again and run `quorumctl verify --reader \"{reader}\"`: if that passes, `quorumctl export-bundle --reader \"{reader}\" --out FILE` writes the version {version} bundle from it; if not, factory-reset it (`quorumctl reset-card`), personalise it again (`quorumctl init`) and repeat add-card",
            super::error_message(cause)
        ),
    }
}
