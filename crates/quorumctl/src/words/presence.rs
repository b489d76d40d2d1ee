//! The words for inserting, removing and putting back cards.

use quorum_ceremony::presence::{CountOf, Done, Told, Unwanted, Wanted};
use quorum_ceremony::CeremonyError;

/// The line for one event of inserting, removing and putting back cards.
pub(crate) fn line(told: &Told) -> String {
    match told {
        Told::Insert {
            wanted,
            reader: Some(reader),
        } => format!(
            "Insert {} into \"{reader}\"{}.",
            wanted_noun(wanted),
            still_needed(wanted)
        ),
        Told::Insert {
            wanted,
            reader: None,
        } => format!(
            "Insert {} into any free reader{}.",
            wanted_noun(wanted),
            still_needed(wanted)
        ),
        Told::PutBack { wanted, reader } => {
            format!("Put {} back into \"{reader}\".", wanted_noun(wanted))
        }
        Told::NotTheOne { wanted, reader } => {
            let card = wanted_noun(wanted);
            format!("That is not {card}: take it out of \"{reader}\" and put {card} in.")
        }
        Told::Unreadable { problem } => format!("Skipped: {}", super::error_message(problem)),
        Told::Unwanted { card, why } => format!("Skipped: card {card} {}.", unwanted(*why)),
        Told::DoneWith { reader, why } => format!(
            "Done with the card in \"{reader}\" ({}); its custodian may take it out.",
            done(why)
        ),
        Told::Remove { reader, why } => {
            format!("Remove the card from \"{reader}\" ({}).", done(why))
        }
        Told::LastCard { reader, why } => format!(
            "That was the last card of this ceremony ({}); its custodian may take it out of \"{reader}\".",
            done(why)
        ),
    }
}

/// Who is still needed, after an insert prompt: " (still needed: Alice, Dave, Eve)" when
/// every one of them must come, " (any 2 more of Alice, Dave, Eve)" when any of them will
/// do, nothing when no names are known (the card's count says it).
fn still_needed(wanted: &Wanted) -> String {
    if the_one(wanted).is_some() {
        return String::new();
    }
    match wanted {
        Wanted::Custodian { n, of, still } if !still.is_empty() => {
            let unnamed = (of + 1).saturating_sub(*n).saturating_sub(still.len());
            match unnamed {
                0 => format!(" (still needed: {})", still.join(", ")),
                k => format!(" (still needed: {} and {k} more)", still.join(", ")),
            }
        }
        Wanted::Registered { still, .. } if !still.is_empty() => {
            format!(" (still needed: {})", still.join(", "))
        }
        Wanted::OfSet {
            set: Some((_, opened, need)),
            any_of,
        } if !any_of.is_empty() => any_more(need.saturating_sub(*opened), any_of),
        Wanted::Quorum {
            n, need, any_of, ..
        }
        | Wanted::OldSet {
            n,
            need: Some(need),
            any_of,
        } if !any_of.is_empty() => any_more((need + 1).saturating_sub(*n), any_of),
        _ => String::new(),
    }
}

/// " (any K more of A, B, C)", or " (still needed: A, B)" when every one of them is.
fn any_more(more: usize, of: &[String]) -> String {
    match more >= of.len() {
        true => format!(" (still needed: {})", of.join(", ")),
        false => format!(" (any {more} more of {})", of.join(", ")),
    }
}

/// The one custodian whose card is asked for, when only one named card is left.
fn the_one(wanted: &Wanted) -> Option<&str> {
    match wanted {
        Wanted::Custodian { n, of, still } if still.len() == 1 && n == of => Some(&still[0]),
        Wanted::Registered { written, of, still } if still.len() == 1 && written + 1 == *of => {
            Some(&still[0])
        }
        _ => None,
    }
}

/// The card asked for, as a noun phrase.
pub(crate) fn wanted_noun(wanted: &Wanted) -> String {
    if let Some(name) = the_one(wanted) {
        return match (name.strip_prefix("card "), wanted) {
            (Some(_), _) => name.to_owned(),
            (None, Wanted::Custodian { n, of, .. }) => {
                format!("the card of {name} (custodian card {n} of {of})")
            }
            (None, _) => format!("the card of {name} (the last to write)"),
        };
    }
    match wanted {
        Wanted::Custodian { n, of, .. } => format!("custodian card {n} of {of}"),
        Wanted::Registered { written, of, .. } => {
            format!("a registered card ({written} of {of} written so far)")
        }
        Wanted::ToCheck { n, of } => format!("custodian card {n} of {of} to check"),
        Wanted::OfSet {
            set: Some((label, opened, need)),
            ..
        } => format!("a custodian card of set \"{label}\" ({opened} of {need} opened)"),
        Wanted::OfSet { set: None, .. } => "a custodian card".to_owned(),
        Wanted::Quorum { n, need, label, .. } => {
            format!("custodian card {n} of the {need} needed from set \"{label}\"")
        }
        Wanted::NewCard => {
            "the NEW card (personalised with `quorumctl init`, not yet in any set)".to_owned()
        }
        Wanted::OldSet {
            n,
            need: Some(need),
            ..
        } => {
            format!("old-set custodian card {n} of the {need} needed")
        }
        Wanted::OldSet { need: None, .. } => {
            "old-set custodian card 1 (a card of the set to reshare)".to_owned()
        }
        Wanted::NewSet { n, of } => format!("new-set card {n} of {of}"),
        Wanted::RegisteredNewSet { written, of } => {
            format!("a registered new-set card ({written} of {of} written so far)")
        }
        Wanted::ToWipe { left } => format!("an old card to wipe (one of {})", left.join(", ")),
        Wanted::Card { fingerprint } => format!("card {fingerprint}"),
        Wanted::Any => "a card".to_owned(),
    }
}

/// What happened to a card the ceremony is done with.
fn done(why: &Done) -> &'static str {
    match why {
        Done::Refused => "refused",
        Done::Registered => "registered",
        Done::ShareWritten => "share written",
        Done::Checked => "checked",
        Done::CheckFailed => "its check failed",
        Done::ShareOpened => "share opened",
        Done::Skipped => "skipped",
        Done::Written => "written",
        Done::Wiped => "wiped",
        Done::ToWipe => "not needed; it is wiped once the new set is written",
        Done::NotUsable => "not usable",
        Done::Unwanted(why) => unwanted(*why),
    }
}

/// Why a pass does not want a card, after "card FINGERPRINT".
fn unwanted(why: Unwanted) -> &'static str {
    match why {
        Unwanted::NoKey => "has no key",
        Unwanted::NotRegistered => "was not registered for this set",
        Unwanted::AlreadyWritten => "already holds its share",
        Unwanted::NotRegisteredNewSet => "was not registered for the new set",
        Unwanted::AlreadyWrittenNewSet => "already holds its new share",
        Unwanted::WouldLeaveNoCompleteSet => "holds a share of the old set, and overwriting it now would leave no complete set: insert the fresh cards first",
        Unwanted::NotToWipe => "is not one of the old cards to wipe",
    }
}

/// The CLI's message for an error of this ceremony step, when it words it itself.
pub(crate) fn error(e: &CeremonyError) -> Option<String> {
    match e {
        CeremonyError::CountNeeded(what) => Some(format!(
            "with --reader or --any-reader, give {} with --shares M",
            match what {
                CountOf::Cards => "the number of cards",
                CountOf::NewSetCards => "the new set's number of cards",
            }
        )),
        CeremonyError::NoCards => Some(format!(
            "{e}: insert the custodian cards (or use --reader to swap them through one reader)"
        )),
        CeremonyError::NoSuchReader(_) => {
            Some(format!("{e}: run `quorumctl readers` to list them"))
        }
        CeremonyError::WhichCard(_) => Some(format!("{e}; choose one with --reader")),
        CeremonyError::WaitTimedOut { .. } => Some(format!(
            "{e}; run the command again when the custodian is ready (or raise --timeout)"
        )),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_insert_prompt_says_who_is_still_needed() {
        let names = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let insert = |wanted| {
            line(&Told::Insert {
                wanted,
                reader: Some("Pad".into()),
            })
        };
        assert_eq!(
            insert(Wanted::Custodian {
                n: 3,
                of: 5,
                still: names(&["Alice", "Dave", "Eve"])
            }),
            "Insert custodian card 3 of 5 into \"Pad\" (still needed: Alice, Dave, Eve)."
        );
        assert_eq!(
            insert(Wanted::Custodian {
                n: 2,
                of: 5,
                still: names(&["Alice", "Dave"])
            }),
            "Insert custodian card 2 of 5 into \"Pad\" (still needed: Alice, Dave and 2 more)."
        );
        assert_eq!(
            insert(Wanted::Registered {
                written: 1,
                of: 3,
                still: names(&["Bob", "card 51d4-77cb-be13-c565"])
            }),
            "Insert a registered card (1 of 3 written so far) into \"Pad\" (still needed: Bob, card 51d4-77cb-be13-c565)."
        );
        assert_eq!(
            insert(Wanted::OfSet {
                set: Some(("vault".into(), 1, 2)),
                any_of: names(&["Alice", "Dave", "Eve"])
            }),
            "Insert a custodian card of set \"vault\" (1 of 2 opened) into \"Pad\" (any 1 more of Alice, Dave, Eve)."
        );
        assert_eq!(
            insert(Wanted::Quorum {
                n: 1,
                need: 2,
                label: "vault".into(),
                any_of: names(&["Alice", "Bob"])
            }),
            "Insert custodian card 1 of the 2 needed from set \"vault\" into \"Pad\" (still needed: Alice, Bob)."
        );
        assert_eq!(
            insert(Wanted::OldSet {
                n: 2,
                need: Some(3),
                any_of: names(&["Bob", "Carol", "Dave", "Eve"])
            }),
            "Insert old-set custodian card 2 of the 3 needed into \"Pad\" (any 2 more of Bob, Carol, Dave, Eve)."
        );
        assert_eq!(
            insert(Wanted::Custodian {
                n: 5,
                of: 5,
                still: names(&["Eve"])
            }),
            "Insert the card of Eve (custodian card 5 of 5) into \"Pad\"."
        );
        assert_eq!(
            insert(Wanted::Registered {
                written: 2,
                of: 3,
                still: names(&["Bob"])
            }),
            "Insert the card of Bob (the last to write) into \"Pad\"."
        );
        assert_eq!(
            insert(Wanted::Custodian {
                n: 1,
                of: 3,
                still: Vec::new()
            }),
            "Insert custodian card 1 of 3 into \"Pad\"."
        );
    }

    #[test]
    fn each_way_of_asking_for_a_card_names_the_card_and_the_reader() {
        let custodian = Wanted::Custodian {
            n: 2,
            of: 5,
            still: Vec::new(),
        };
        assert_eq!(
            line(&Told::Insert {
                wanted: custodian.clone(),
                reader: Some("Pad".into())
            }),
            "Insert custodian card 2 of 5 into \"Pad\"."
        );
        assert_eq!(
            line(&Told::Insert {
                wanted: custodian,
                reader: None
            }),
            "Insert custodian card 2 of 5 into any free reader."
        );
        let card = Wanted::Card {
            fingerprint: "51d4-77cb".into(),
        };
        assert_eq!(
            line(&Told::NotTheOne {
                wanted: card,
                reader: "R0".into()
            }),
            "That is not card 51d4-77cb: take it out of \"R0\" and put card 51d4-77cb in."
        );
        assert_eq!(
            line(&Told::Remove {
                reader: "Pad".into(),
                why: Done::Unwanted(Unwanted::NotToWipe)
            }),
            "Remove the card from \"Pad\" (is not one of the old cards to wipe)."
        );
        assert_eq!(
            line(&Told::Remove {
                reader: "Pad".into(),
                why: Done::ToWipe
            }),
            "Remove the card from \"Pad\" (not needed; it is wiped once the new set is written)."
        );
    }

    #[test]
    fn the_last_card_says_how_it_went() {
        assert_eq!(
            line(&Told::LastCard {
                reader: "R".into(),
                why: Done::CheckFailed
            }),
            "That was the last card of this ceremony (its check failed); its custodian may take it out of \"R\"."
        );
        assert_eq!(
            line(&Told::LastCard {
                reader: "R".into(),
                why: Done::Checked
            }),
            "That was the last card of this ceremony (checked); its custodian may take it out of \"R\"."
        );
    }

    #[test]
    fn reader_choice_and_waits_name_the_options_that_help() {
        use quorum_ceremony::presence::Awaited;
        let cases = [
            (
                CeremonyError::NoCards,
                "no card is inserted in any reader: insert the custodian cards (or use --reader to swap them through one reader)",
            ),
            (
                CeremonyError::NoSuchReader("Pad".into()),
                "no reader named \"Pad\": run `quorumctl readers` to list them",
            ),
            (
                CeremonyError::WhichCard(vec!["A 00".into(), "B 01".into()]),
                "cards are present in 2 readers (\"A 00\", \"B 01\"); choose one with --reader",
            ),
            (
                CeremonyError::WaitTimedOut {
                    what: Awaited::Insertion,
                    reader: Some("Pad".into()),
                    secs: 60,
                },
                "timed out after 60 s waiting for a card to be inserted in \"Pad\"; run the command again when the custodian is ready (or raise --timeout)",
            ),
            (
                CeremonyError::WaitTimedOut {
                    what: Awaited::Removal,
                    reader: None,
                    secs: 5,
                },
                "timed out after 5 s waiting for the card to be removed in \"any reader\"; run the command again when the custodian is ready (or raise --timeout)",
            ),
        ];
        for (e, text) in cases {
            assert_eq!(error(&e).as_deref(), Some(text));
            assert!(
                !e.to_string().contains("--"),
                "the library names no option: {e}"
            );
            assert!(
                !e.to_string().contains("quorumctl"),
                "the library names no command: {e}"
            );
        }
        let ambiguous = CeremonyError::AmbiguousReader {
            given: "Sim".into(),
            matches: vec!["Sim 0".into(), "Sim 1".into()],
        };
        assert_eq!(
            crate::words::error_message(&ambiguous),
            "\"Sim\" matches several readers (\"Sim 0\", \"Sim 1\"); give more of the name"
        );
    }

    #[test]
    fn a_count_left_out_names_the_option_that_gives_it() {
        let e = CeremonyError::CountNeeded(CountOf::NewSetCards);
        let message = error(&e).expect("worded here");
        assert!(message.contains("--shares M"), "{message}");
        assert!(!e.to_string().contains("--"), "the library names no option");
    }
}
