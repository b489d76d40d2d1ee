//! The words for changing a PIN.

use quorum_ceremony::change_pin::Told;
use quorum_ceremony::CeremonyError;

/// The line for one event of changing a PIN.
pub(crate) fn line(told: &Told) -> String {
    match *told {}
}

/// The CLI's message for an error of this ceremony step, when it words it itself.
pub(crate) fn error(_e: &CeremonyError) -> Option<String> {
    None
}
