//! The words for checking cards.

use quorum_ceremony::verify::{CardCheck, CheckNote, Told};
use quorum_ceremony::CeremonyError;

/// The line for one event of checking cards.
pub(crate) fn line(told: &Told) -> String {
    match told {
        Told::Checked(check) => checked(check),
    }
}

/// The line said when a card's check ends.
fn checked(c: &CardCheck) -> String {
    format!(
        "{} {}: {}",
        if c.ok { "Healthy:" } else { "FAILED: " },
        c.who.text,
        note(&c.note)
    )
}

/// What a card's check found.
pub(crate) fn note(n: &CheckNote) -> String {
    match n {
        CheckNote::Passed {
            set,
            no_open,
            with_bundle,
        } => format!(
            "PIN accepted; {} {} of set \"{}\" ({}-of-{}, id {}) (set version {}){}{}",
            if *no_open {
                "the card answered a fresh key challenge with the key its record lists for custodian"
            } else {
                "the share opens and matches the commitment published for custodian"
            },
            set.index,
            set.label,
            set.threshold,
            set.count,
            set.set_id,
            set.set_version,
            if *no_open {
                "; its share was not read"
            } else {
                ""
            },
            if *with_bundle {
                "; the card's record agrees with the bundle"
            } else {
                ""
            }
        ),
        CheckNote::Failed { reason } => reason.clone(),
    }
}

/// The CLI's message for an error of this ceremony step, when it words it itself.
pub(crate) fn error(e: &CeremonyError) -> Option<String> {
    match e {
        CeremonyError::ChecksFailed {
            failed, checked, ..
        } => Some(format!(
            "{failed} of {checked} card(s) failed the health check; see above for each card and what to do"
        )),
        _ => None,
    }
}
