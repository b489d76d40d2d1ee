//! The words for adding a card to a set.

use quorum_ceremony::add_card::Told;
use quorum_ceremony::CeremonyError;

/// The line for one event of adding a card to a set.
pub(crate) fn line(told: &Told) -> String {
    match *told {}
}

/// The CLI's message for an error of this ceremony step, when it words it itself.
pub(crate) fn error(_e: &CeremonyError) -> Option<String> {
    None
}
