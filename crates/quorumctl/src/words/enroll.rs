//! The words for enrolling a set.

use quorum_ceremony::enroll::Told;
use quorum_ceremony::CeremonyError;

/// The line for one event of enrolling a set.
pub(crate) fn line(told: &Told) -> String {
    match told {
        Told::Registering { count } => format!(
            "Registering {count} cards: each custodian inserts their card and enters their PIN."
        ),
        Told::WritingBegins => {
            "Writing the shares: insert each registered card again, in any order.".to_owned()
        }
    }
}

/// The CLI's message for an error of this ceremony step, when it words it itself.
pub(crate) fn error(_e: &CeremonyError) -> Option<String> {
    None
}
