//! The words for checking cards.

use quorum_ceremony::verify::{CardCheck, CheckNote, Told};
use quorum_ceremony::CeremonyError;

/// The line for one event of checking cards.
pub(crate) fn line(told: &Told) -> String {
    match told {
        Told::Checked(check) => checked(check),
    }
}

/// The line said when a card's check ends: the verdict alone (what was found is in the
/// result, said once).
fn checked(c: &CardCheck) -> String {
    format!(
        "{} {} in \"{}\".",
        if c.ok { "Healthy:" } else { "FAILED: " },
        c.who.text,
        c.reader
    )
}

/// What a card's check found, for the result; the set is named once below the results.
pub(crate) fn note(n: &CheckNote) -> String {
    match n {
        CheckNote::Passed {
            no_open,
            with_bundle,
            ..
        } => format!(
            "PIN accepted; {}{}",
            match no_open {
                false => "its share opens and matches its commitment",
                true => "it answered a fresh key challenge with the key its record lists; its share was not read",
            },
            match with_bundle {
                true => "; its record agrees with the bundle",
                false => "",
            }
        ),
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
        assert_eq!(
            line(&Told::Checked(passed.clone())),
            "Healthy: 51d4-77cb-0000-1111 (custodian 3 \"Bo\") in \"R0\"."
        );
        assert_eq!(
            note(&passed.note),
            "PIN accepted; its share opens and matches its commitment; its record agrees with the bundle"
        );
        let proved = CheckNote::Passed {
            set: Box::new(set()),
            no_open: true,
            with_bundle: false,
        };
        assert_eq!(
            note(&proved),
            "PIN accepted; it answered a fresh key challenge with the key its record lists; its share was not read"
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
            line(&Told::Checked(failed.clone())),
            "FAILED:  51d4-77cb-0000-1111 (custodian 3 \"Bo\") in \"R0\"."
        );
        assert_eq!(note(&failed.note), "holds no share (state: PERSONALISED)");
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
