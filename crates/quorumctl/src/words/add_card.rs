//! The words for adding a card to a set.

use quorum_ceremony::add_card::{Stopped, Told};
use quorum_ceremony::share::custodian_label;
use quorum_ceremony::CeremonyError;

use super::share::listing;

/// The line for one event of adding a card to a set.
pub(crate) fn line(told: &Told) -> String {
    match told {
        Told::Starting {
            label,
            threshold,
            count,
            version,
        } => format!(
            "Adding a card to set \"{label}\" ({threshold}-of-{count}, version {version}): {threshold} custodian card(s) open their shares, then the new card is written."
        ),
        Told::NewCardWaits { fingerprint } => format!(
            "New card {fingerprint}: PIN accepted; it is written once the quorum's shares are open."
        ),
        Told::Writing {
            index,
            name,
            version,
            fingerprint,
        } => format!(
            "Writing {} (set version {version}) to card {fingerprint}.",
            custodian_label(*index, name)
        ),
        Told::Written { fingerprint, index } => format!(
            "Card {fingerprint}: custodian {index} written, read back and opened (it matches its commitment)."
        ),
    }
}

/// The CLI's message for an error of this ceremony step, when it words it itself.
pub(crate) fn error(e: &CeremonyError) -> Option<String> {
    match e {
        CeremonyError::AddCardStopped(stopped) => Some(self::stopped(stopped)),
        CeremonyError::BundleNotUpdated { version, source } => Some(format!(
            "the new card holds its share (set version {version}), but the bundle was not updated: {}. Nothing is lost: every card carries the set description; fix the cause and write the bundle from the new card with `quorumctl export-bundle`",
            super::files::bundle_update(source)
        )),
        _ => None,
    }
}

/// Why add-card stopped, and what to do.
fn stopped(s: &Stopped) -> String {
    match s {
        Stopped::TwoNewCards { first, second } => format!(
            "two personalised cards are present ({first} and {second}): name the one to add with --new FINGERPRINT; nothing was written"
        ),
        Stopped::QuorumShort {
            opened,
            need,
            label,
            cards,
        } => format!(
            "cannot recover: only {opened} of the {need} shares needed to issue a new share of set \"{label}\" could be opened; nothing was written{}",
            listing(cards)
        ),
        Stopped::NoNewCard { cards } => format!(
            "the set was NOT enrolled: no new card was presented: insert a card personalised with `quorumctl init` that is in no set; nothing was written{}",
            listing(cards)
        ),
        Stopped::NotWritten {
            card,
            reader,
            cause,
        } => format!(
            "the set was NOT enrolled: writing the new card {card} in \"{reader}\" failed: {}; the other cards were not changed, so the set is as it was",
            super::error_message(cause)
        ),
        Stopped::Unchecked {
            cause,
            index,
            label,
            version,
            reader,
        } => format!(
            "{}. It is now custodian {index} of set \"{label}\" version {version}, but no bundle of that version was written; the other cards were not changed. Insert it again and run `quorumctl verify --reader \"{reader}\"`: if that passes, `quorumctl export-bundle --reader \"{reader}\" --out FILE` writes the version {version} bundle from it; if not, factory-reset it (`quorumctl reset-card`), personalise it again (`quorumctl init`) and repeat add-card",
            super::error_message(cause)
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use quorum_ceremony::bundle_file::BundleUpdateError;
    use quorum_ceremony::secret_io::SecretIoError;

    #[test]
    fn each_step_of_adding_a_card_is_said() {
        assert_eq!(
            line(&Told::Starting {
                label: "vault".into(),
                threshold: 2,
                count: 3,
                version: 1
            }),
            "Adding a card to set \"vault\" (2-of-3, version 1): 2 custodian card(s) open their shares, then the new card is written."
        );
        assert_eq!(
            line(&Told::NewCardWaits {
                fingerprint: "aaaa-bbbb-cccc-dddd".into()
            }),
            "New card aaaa-bbbb-cccc-dddd: PIN accepted; it is written once the quorum's shares are open."
        );
        assert_eq!(
            line(&Told::Writing {
                index: 4,
                name: "Dora".into(),
                version: 2,
                fingerprint: "aaaa-bbbb-cccc-dddd".into()
            }),
            "Writing custodian 4 \"Dora\" (set version 2) to card aaaa-bbbb-cccc-dddd."
        );
        assert_eq!(
            line(&Told::Written {
                fingerprint: "aaaa-bbbb-cccc-dddd".into(),
                index: 4
            }),
            "Card aaaa-bbbb-cccc-dddd: custodian 4 written, read back and opened (it matches its commitment)."
        );
    }

    #[test]
    fn a_stopped_add_card_names_the_commands_and_options_that_go_on() {
        let cases = [
            (
                Stopped::TwoNewCards {
                    first: "a".into(),
                    second: "b".into(),
                },
                "two personalised cards are present (a and b): name the one to add with --new FINGERPRINT; nothing was written".to_owned(),
            ),
            (
                Stopped::QuorumShort {
                    opened: 1,
                    need: 2,
                    label: "vault".into(),
                    cards: vec![],
                },
                "cannot recover: only 1 of the 2 shares needed to issue a new share of set \"vault\" could be opened; nothing was written".to_owned(),
            ),
            (
                Stopped::NoNewCard { cards: vec![] },
                "the set was NOT enrolled: no new card was presented: insert a card personalised with `quorumctl init` that is in no set; nothing was written".to_owned(),
            ),
            (
                Stopped::NotWritten {
                    card: "a".into(),
                    reader: "R1".into(),
                    cause: Box::new(CeremonyError::Interrupted),
                },
                format!("the set was NOT enrolled: writing the new card a in \"R1\" failed: {}; the other cards were not changed, so the set is as it was", CeremonyError::Interrupted),
            ),
        ];
        for (stopped, want) in cases {
            let e = CeremonyError::AddCardStopped(stopped);
            assert_eq!(error(&e).unwrap(), want);
            assert!(
                !e.to_string().contains("--"),
                "the library names no option: {e}"
            );
            assert!(!e.to_string().contains("quorumctl"), "nor a command: {e}");
        }
        let unchecked = CeremonyError::AddCardStopped(Stopped::Unchecked {
            cause: Box::new(CeremonyError::WrittenUnchecked {
                card: "a".into(),
                reader: "R1".into(),
            }),
            index: 4,
            label: "vault".into(),
            version: 2,
            reader: "R1".into(),
        });
        let message = error(&unchecked).unwrap();
        assert!(
            message.starts_with("card a in \"R1\" holds its new record"),
            "{message}"
        );
        assert!(message.ends_with(". It is now custodian 4 of set \"vault\" version 2, but no bundle of that version was written; the other cards were not changed. Insert it again and run `quorumctl verify --reader \"R1\"`: if that passes, `quorumctl export-bundle --reader \"R1\" --out FILE` writes the version 2 bundle from it; if not, factory-reset it (`quorumctl reset-card`), personalise it again (`quorumctl init`) and repeat add-card"), "{message}");
        assert!(!unchecked.to_string().contains("quorumctl"), "{unchecked}");
    }

    #[test]
    fn a_bundle_not_updated_says_how_to_write_it_again() {
        let e = CeremonyError::BundleNotUpdated {
            version: 2,
            source: BundleUpdateError::Write {
                backup: Some("set.json.v1".into()),
                source: SecretIoError::Exists("set.json".into()),
            },
        };
        assert_eq!(
            error(&e).unwrap(),
            "the new card holds its share (set version 2), but the bundle was not updated: refusing to overwrite set.json: it already exists (use --force to replace it) (the previous version is at set.json.v1). Nothing is lost: every card carries the set description; fix the cause and write the bundle from the new card with `quorumctl export-bundle`"
        );
        assert!(
            !e.to_string().contains("--") && !e.to_string().contains("quorumctl"),
            "{e}"
        );
    }
}
