//! The words for PIN entry on a keypad or from this computer.

use quorum_ceremony::pin_step::Told;
use quorum_ceremony::CeremonyError;

/// The line for one event of PIN entry on a keypad or from this computer.
pub(crate) fn line(told: &Told) -> String {
    match *told {}
}

/// The CLI's message for an error of this ceremony step, when it words it itself.
pub(crate) fn error(_e: &CeremonyError) -> Option<String> {
    None
}
