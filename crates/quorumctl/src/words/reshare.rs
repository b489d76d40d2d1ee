//! The words for resharing a set.

use quorum_ceremony::reshare::Told;
use quorum_ceremony::CeremonyError;

/// The line for one event of resharing a set.
pub(crate) fn line(told: &Told) -> String {
    match told {
        Told::WritingBegins => "Phase 1: insert each card registered for the new set again, in any order; the fresh cards first, then the re-used old ones.".to_owned(),
        Told::WipingBegins => "Phase 2: insert each old card the new set does not use, in any order, to wipe it.".to_owned(),
    }
}

/// The CLI's message for an error of this ceremony step, when it words it itself.
pub(crate) fn error(_e: &CeremonyError) -> Option<String> {
    None
}
