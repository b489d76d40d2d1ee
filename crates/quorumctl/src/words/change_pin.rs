//! The words for changing a PIN.

use quorum_ceremony::change_pin::Refusal;
use quorum_ceremony::CeremonyError;

/// The CLI's message for an error of this ceremony step, when it words it itself: what
/// makes a refused card usable, as a quorumctl command.
pub(crate) fn error(e: &CeremonyError) -> Option<String> {
    match e {
        CeremonyError::ChangePinRefused { card, reader, why } => {
            let card = card.as_deref().unwrap_or("(blank, no key yet)");
            Some(match why {
                Refusal::Blank => format!(
                    "card {card} in \"{reader}\" is blank: it has no PIN yet; personalise it with `quorumctl init`"
                ),
                Refusal::Blocked => format!(
                    "card {card} in \"{reader}\" has a blocked PIN: it cannot be changed; only `quorumctl reset-card` (which erases the card's key and share) makes the card usable again"
                ),
            })
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refused_card_is_told_which_command_helps() {
        let blank = CeremonyError::ChangePinRefused {
            card: None,
            reader: "R".into(),
            why: Refusal::Blank,
        };
        assert_eq!(
            error(&blank).unwrap(),
            "card (blank, no key yet) in \"R\" is blank: it has no PIN yet; personalise it with `quorumctl init`"
        );
        let blocked = CeremonyError::ChangePinRefused {
            card: Some("a1b2-c3d4-e5f6-0718".into()),
            reader: "R".into(),
            why: Refusal::Blocked,
        };
        assert_eq!(
            error(&blocked).unwrap(),
            "card a1b2-c3d4-e5f6-0718 in \"R\" has a blocked PIN: it cannot be changed; only `quorumctl reset-card` (which erases the card's key and share) makes the card usable again"
        );
        for e in [blank, blocked] {
            assert!(!e.to_string().contains("quorumctl"), "{e}");
        }
    }
}
