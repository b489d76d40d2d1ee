//! The words for factory-resetting a card.

use quorum_ceremony::reset::{Stop, Told};
use quorum_ceremony::CeremonyError;

/// The line for one event of factory-resetting a card.
pub(crate) fn line(told: &Told) -> String {
    match told {
        Told::AboutToReset { reader, card } => {
            format!("About to FACTORY RESET the card in \"{reader}\": card {card}.")
        }
        Told::DestroysShare {
            index,
            label,
            threshold,
            count,
        } => format!(
            "This destroys custodian {index}'s share of set \"{label}\" ({threshold}-of-{count}): afterwards that set has {} usable share(s) left at most.",
            count.saturating_sub(1)
        ),
        Told::HoldsNoShare => "The card holds no share; its key and PIN are erased.".to_owned(),
    }
}

/// The question that asks for the fingerprint of the card to reset.
pub(crate) fn confirm_prompt(fingerprint: &str) -> String {
    format!("Type the card's fingerprint ({fingerprint}) to confirm: ")
}

/// The CLI's message for an error of this ceremony step, when it words it itself: what to
/// do next with a card pulled out around the reset, as quorumctl commands.
pub(crate) fn error(e: &CeremonyError) -> Option<String> {
    let CeremonyError::ResetStopped { card, reader, why } = e else {
        return None;
    };
    let card = card.as_deref().unwrap_or("(blank)");
    match why {
        Stop::PulledBefore => Some(format!("{e}; insert it again and repeat the command")),
        Stop::PulledDuring => Some(format!(
            "card {card} in \"{reader}\" was pulled out of the reader (or the reader failed) before it confirmed the FACTORY RESET: insert it again and run `quorumctl status`; BLANK means the reset was done, otherwise nothing was erased and `quorumctl reset-card` can be repeated"
        )),
        Stop::ErasedUnchecked => Some(format!(
            "card {card} in \"{reader}\" confirmed the FACTORY RESET, so its key, PIN and record are erased, but it was pulled out of the reader (or the reader failed) before quorumctl could check that it is blank: insert it again, `quorumctl status` shows it BLANK; personalise it again with `quorumctl init`"
        )),
        Stop::AlreadyBlank | Stop::NotConfirmed { .. } | Stop::NotBlankAfter => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use quorum_ceremony::inspect::CardSummary;
    use quorum_protocol::apdu::LifeCycle;

    #[test]
    fn every_reset_event_reads_as_before() {
        let card = CardSummary {
            state: LifeCycle::Personalised,
            blocked: false,
            tries_left: 5,
            retry_limit: 5,
            capacity: 4096,
            fingerprint: Some("a1b2-c3d4-e5f6-0718".into()),
            set: None,
            applet_protocol: None,
            openpgp: None,
            share_in_bundle: None,
        };
        assert_eq!(
            line(&Told::AboutToReset {
                reader: "R".into(),
                card
            }),
            "About to FACTORY RESET the card in \"R\": card PERSONALISED, PIN tries left 5/5, card a1b2-c3d4-e5f6-0718."
        );
        assert_eq!(
            line(&Told::DestroysShare {
                index: 2,
                label: "vault".into(),
                threshold: 2,
                count: 3
            }),
            "This destroys custodian 2's share of set \"vault\" (2-of-3): afterwards that set has 2 usable share(s) left at most."
        );
        assert_eq!(
            line(&Told::HoldsNoShare),
            "The card holds no share; its key and PIN are erased."
        );
        assert_eq!(
            confirm_prompt("a1b2-c3d4-e5f6-0718"),
            "Type the card's fingerprint (a1b2-c3d4-e5f6-0718) to confirm: "
        );
    }

    fn stopped(why: Stop) -> CeremonyError {
        CeremonyError::ResetStopped {
            card: Some("a1b2-c3d4-e5f6-0718".into()),
            reader: "R".into(),
            why,
        }
    }

    #[test]
    fn each_stop_says_what_the_card_holds_and_what_to_do() {
        let cases = [
            (
                stopped(Stop::PulledBefore),
                "card a1b2-c3d4-e5f6-0718 in \"R\" was pulled out of the reader (or the reader failed) before the reset began: nothing was erased; insert it again and repeat the command",
            ),
            (
                stopped(Stop::PulledDuring),
                "card a1b2-c3d4-e5f6-0718 in \"R\" was pulled out of the reader (or the reader failed) before it confirmed the FACTORY RESET: insert it again and run `quorumctl status`; BLANK means the reset was done, otherwise nothing was erased and `quorumctl reset-card` can be repeated",
            ),
            (
                stopped(Stop::ErasedUnchecked),
                "card a1b2-c3d4-e5f6-0718 in \"R\" confirmed the FACTORY RESET, so its key, PIN and record are erased, but it was pulled out of the reader (or the reader failed) before quorumctl could check that it is blank: insert it again, `quorumctl status` shows it BLANK; personalise it again with `quorumctl init`",
            ),
            (
                stopped(Stop::NotConfirmed {
                    typed: "0000".into(),
                }),
                "card a1b2-c3d4-e5f6-0718 in \"R\" was NOT reset: the confirmation \"0000\" is not its fingerprint",
            ),
            (
                stopped(Stop::NotBlankAfter),
                "card a1b2-c3d4-e5f6-0718 in \"R\" did not become blank after FACTORY RESET; the card is faulty",
            ),
            (
                CeremonyError::ResetStopped {
                    card: None,
                    reader: "R".into(),
                    why: Stop::AlreadyBlank,
                },
                "card (blank) in \"R\" is already blank: there is nothing to reset",
            ),
        ];
        for (e, text) in cases {
            assert_eq!(crate::words::error_message(&e), text);
            assert!(!e.to_string().contains("quorumctl"), "{e}");
            assert!(!e.to_string().contains("repeat the command"), "{e}");
        }
    }
}
