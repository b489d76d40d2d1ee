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
        CheckNote::Passed { .. } => n.to_string(),
        CheckNote::Failed { reason } => super::share::refused(reason),
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

#[cfg(test)]
mod tests {
    use super::*;
    use quorum_ceremony::inspect::SetMembership;
    use quorum_ceremony::share::Who;
    use quorum_protocol::crypto::{KeyCheck, SetDigest};

    fn set() -> SetMembership {
        SetMembership {
            label: "vault".into(),
            set_id: "00".repeat(16),
            set_version: 2,
            index: 3,
            threshold: 2,
            count: 4,
            custodian: "Bo".into(),
            digest: SetDigest([1; 32]),
            key_check: KeyCheck([2; 8]),
        }
    }

    #[test]
    fn each_check_is_said_healthy_or_failed_with_what_was_found() {
        let who = Who {
            fingerprint: Some("51d4-77cb-0000-1111".into()),
            text: "51d4-77cb-0000-1111 (custodian 3 \"Bo\")".into(),
        };
        let passed = CardCheck {
            reader: "R0".into(),
            who: who.clone(),
            set: Some(set()),
            ok: true,
            pin_failed: false,
            note: CheckNote::Passed {
                set: Box::new(set()),
                no_open: false,
                with_bundle: true,
            },
        };
        let id = "00".repeat(16);
        assert_eq!(
            line(&Told::Checked(passed.clone())),
            format!("Healthy: 51d4-77cb-0000-1111 (custodian 3 \"Bo\"): PIN accepted; the share opens and matches the commitment published for custodian 3 of set \"vault\" (2-of-4, id {id}) (set version 2); the card's record agrees with the bundle")
        );
        assert_eq!(note(&passed.note), passed.note.to_string());
        let proved = CheckNote::Passed {
            set: Box::new(set()),
            no_open: true,
            with_bundle: false,
        };
        assert_eq!(
            note(&proved),
            format!("PIN accepted; the card answered a fresh key challenge with the key its record lists for custodian 3 of set \"vault\" (2-of-4, id {id}) (set version 2); its share was not read")
        );
        let failed = CardCheck {
            ok: false,
            note: CheckNote::Failed {
                reason: quorum_ceremony::progress::Shared::new(
                    quorum_ceremony::share::Refused::NoShare(
                        quorum_protocol::apdu::LifeCycle::Personalised,
                    ),
                ),
            },
            ..passed
        };
        assert_eq!(
            line(&Told::Checked(failed)),
            "FAILED:  51d4-77cb-0000-1111 (custodian 3 \"Bo\"): holds no share (state: PERSONALISED)"
        );
    }

    #[test]
    fn failed_checks_are_counted() {
        let e = CeremonyError::ChecksFailed {
            failed: 1,
            checked: 3,
            pins_only: true,
        };
        assert_eq!(
            error(&e).unwrap(),
            "1 of 3 card(s) failed the health check; see above for each card and what to do"
        );
        assert!(e.is_pin_failure());
    }
}
