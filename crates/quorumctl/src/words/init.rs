//! The words for personalising a card.

use quorum_ceremony::init::Told;
use quorum_ceremony::CeremonyError;

/// The line for one event of personalising a card.
pub(crate) fn line(told: &Told) -> String {
    match *told {}
}

/// The CLI's message for an error of this ceremony step, when it words it itself.
pub(crate) fn error(_e: &CeremonyError) -> Option<String> {
    None
}
