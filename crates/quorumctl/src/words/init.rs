//! The words for personalising a card.

use quorum_ceremony::init::Told;

/// The line for one event of personalising a card.
pub(crate) fn line(told: &Told) -> String {
    match told {
        Told::Personalising {
            reader,
            retry_limit,
        } => {
            format!("Personalising the blank card in \"{reader}\" (PIN retry limit {retry_limit}).")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use quorum_ceremony::init::Refusal;

    #[test]
    fn personalising_names_the_reader_and_the_limit() {
        assert_eq!(
            line(&Told::Personalising {
                reader: "Reader 0".into(),
                retry_limit: 3
            }),
            "Personalising the blank card in \"Reader 0\" (PIN retry limit 3)."
        );
    }

    #[test]
    fn refusals_read_as_before() {
        let e = quorum_ceremony::CeremonyError::InitRefused {
            card: Some("a1b2-c3d4-e5f6-0718".into()),
            reader: "R".into(),
            why: Refusal::AlreadyPersonalised { state: "ENROLLED" },
        };
        assert_eq!(
            crate::words::error_message(&e),
            "card a1b2-c3d4-e5f6-0718 in \"R\" is already personalised (state: ENROLLED); a card is initialised once, and only a factory reset (which erases its key and record) makes it blank again"
        );
        let e = quorum_ceremony::CeremonyError::InitRefused {
            card: None,
            reader: "R".into(),
            why: Refusal::Faulty,
        };
        assert_eq!(
            crate::words::error_message(&e),
            "card (blank, no key yet) in \"R\" does not report the key and PIN limit it was just given; the card is faulty"
        );
    }
}
