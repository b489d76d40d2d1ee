//! The words for enrolling a set.

use quorum_ceremony::enroll::{
    NotReplaceable, PlanRefused, Refusal, Rejection, SoFar, Standing, Told, UnfinishedSet,
    WriteFailure,
};
use quorum_ceremony::share::custodian_label;
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
        Told::Replacing {
            card,
            reader,
            unfinished,
        } => format!(
            "card {card} in \"{reader}\" {}.",
            will_be_overwritten(unfinished)
        ),
        Told::Refused { rejection } => {
            format!("Refused: {}. Insert another card.", rejected(rejection))
        }
        Told::PinRefused { card, problem } => {
            format!(
                "Refused: card {card}: {}. Insert another card.",
                super::error_message(problem)
            )
        }
        Told::Registered {
            card,
            reader,
            n,
            of,
        } => format!("Card {card} in \"{reader}\": registered as card {n} of {of}."),
        Told::Writing {
            label,
            threshold,
            cards,
            set_id,
        } => format!("Writing set \"{label}\" ({threshold}-of-{cards}, id {set_id}) to the cards."),
        Told::PulledOut {
            card,
            reader,
            holds_new_record,
        } => format!(
            "Card {card} was pulled out of \"{reader}\" before its share was {}.",
            if *holds_new_record {
                "read back and checked (it holds its new record)"
            } else {
                "written and checked"
            }
        ),
        Told::Back {
            card,
            holds_new_record: true,
        } => format!(
            "Card {card} is back and holds its new record: reading it back and checking it."
        ),
        Told::Back {
            card,
            holds_new_record: false,
        } => format!("Card {card} is back and kept its previous record: writing its share again."),
        Told::ShareWritten { card, index, name } => format!(
            "Card {card} ({}): share written, read back and opened (it matches its commitment).",
            custodian_label(*index, name)
        ),
        Told::Stats { card, stats } => {
            format!("stats: card {card} enroll: {stats} after SELECT")
        }
    }
}

/// What the ceremony log says of a card's unfinished set, after "card X in READER".
fn will_be_overwritten(u: &UnfinishedSet) -> String {
    format!(
        "holds {}, whose {} started at line {} of the ceremony log {} and never completed: it will be overwritten",
        u.set,
        u.start.command,
        u.start.line,
        u.start.log.display()
    )
}

/// Why a card holding a set may not be overwritten, after "card X in READER".
fn not_replaceable(why: &NotReplaceable) -> String {
    match why {
        NotReplaceable::Copied { set: s } => format!(
            "holds a record of {} that was not sealed to it (a copied record); it is refused",
            s
        ),
        NotReplaceable::OtherMaster { set: s, start } => format!(
            "holds {}, which a {command} started (line {} of the ceremony log {}) and never completed, with another master than the one being enrolled: that {command}'s old set may no longer be complete, so this set may hold the only copy of its master; recover it first, or factory-reset the card (`quorumctl reset-card`) if you are sure",
            s,
            start.line,
            start.log.display(),
            command = start.command,
        ),
        NotReplaceable::Completed { set: s, line, log } => format!(
            "holds {}, which completed (line {line} of the ceremony log {} records it in use): --replace-unfinished only overwrites sets whose enrollment never completed, so it is refused",
            s,
            log.display()
        ),
        NotReplaceable::NotNamed { set: s, start } => format!(
            "holds {}, but the start of that set (line {} of the ceremony log {}) does not name this card; it is refused",
            s,
            start.line,
            start.log.display()
        ),
        NotReplaceable::Unknown { set: s, log } => format!(
            "holds {}, and the ceremony log {} has no record of that set's start, so quorumctl cannot tell that its enrollment never completed: if it was interrupted, give the log that ceremony used with --log FILE; otherwise factory-reset the card (`quorumctl reset-card`) and personalise it again (`quorumctl init`)",
            s,
            log.display()
        ),
    }
}

/// Why a card cannot join, after "card X in READER ".
fn refusal(why: &Refusal) -> String {
    match why {
        Refusal::Blocked => {
            "has a blocked PIN; it cannot be enrolled (a factory reset makes it usable again)"
                .to_owned()
        }
        Refusal::Blank => "is blank; personalise it first with `quorumctl init`".to_owned(),
        Refusal::HoldsAnotherSet => "already holds a share of another set; enrolling it would destroy that share, so it is refused (if that set's enrollment was interrupted, `enroll --replace-unfinished` overwrites it)".to_owned(),
        Refusal::RegisteredTwice { position } => format!(
            "was already registered as card {position} of this set (the same card twice)"
        ),
        Refusal::RecordUnreadable { problem } => format!("its record cannot be read: {problem}"),
        Refusal::NotReplaceable(why) => not_replaceable(why),
        Refusal::NotInPlan => "is not one of the plan's cards (take it out, or write the plan again with `quorumctl plan new`)".to_owned(),
    }
}

/// A refused card, named, and why.
fn rejected(rejection: &Rejection) -> String {
    match rejection {
        Rejection::Unidentified { problem } => super::error_message(problem),
        Rejection::Refused {
            card,
            reader,
            why,
            set,
        } => {
            let sep = match why {
                Refusal::RecordUnreadable { .. } => ": ",
                _ => " ",
            };
            let held = set.as_ref().map_or_else(String::new, |s| format!(" ({s})"));
            format!("card {card} in \"{reader}\"{sep}{}{held}", refusal(why))
        }
        Rejection::RegisteredTwice { card, position } => format!(
            "card {card} was already registered as card {position} of this set (the same card twice)"
        ),
    }
}

/// What had happened when a plan was refused.
fn so_far(s: SoFar) -> &'static str {
    match s {
        SoFar::NoPinAsked => "no PIN was asked and nothing was written",
        SoFar::NothingWritten => "nothing was written",
    }
}

/// A set the options and the cards cannot make, naming the options.
fn plan(refused: &PlanRefused) -> String {
    match refused {
        PlanRefused::ThresholdZero => "--threshold 0 is impossible: a set needs at least one card to recover; nothing was done".to_owned(),
        PlanRefused::ThresholdAboveShares { threshold, shares: m } => format!(
            "--threshold {threshold} is more than the {m} cards of --shares: a set of {m} cards can need at most {m}; nothing was done"
        ),
        PlanRefused::SharesNotPresent { shares, present, so_far: s } => format!(
            "the set was NOT enrolled: --shares {shares} was asked but {present} personalised cards are present; {}",
            so_far(*s)
        ),
        PlanRefused::ThresholdAboveCards { threshold, present, so_far: s } => format!(
            "--threshold {threshold} needs at least {threshold} cards, but {present} personalised card(s) are present; insert more cards or lower the threshold; {}",
            so_far(*s)
        ),
        PlanRefused::PlannedMissing { missing, so_far: s } => format!(
            "the set was NOT enrolled: the plan's card(s) {} are not present; insert them (or bring them one by one with --reader or --any-reader); {}",
            quorum_ceremony::enroll::missing_cards(missing),
            so_far(*s)
        ),
        PlanRefused::NameNotAmongCards { fingerprint: fp, cards, so_far: s } => format!(
            "--name {fp}=…: no card with fingerprint {fp} is among the cards ({}); check the fingerprint `quorumctl status` shows; {}",
            cards.join(", "),
            so_far(*s)
        ),
    }
}

/// The cards refused with the whole set in sight, one per line.
fn cards_refused(rejections: &[Rejection]) -> String {
    let lines: Vec<String> = rejections.iter().map(rejected).collect();
    format!(
        "the set was NOT enrolled: {}, because {}:\n  - {}",
        so_far(SoFar::NoPinAsked),
        if rejections.len() == 1 {
            "a card was refused"
        } else {
            "cards were refused"
        },
        lines.join("\n  - ")
    )
}

/// A card whose write step failed, which cards changed, and how to finish.
fn write_failed(f: &WriteFailure) -> String {
    let mut holding = f.holding.clone();
    if f.unchecked {
        holding.push(format!("{} (unchecked)", f.card.fingerprint));
    }
    let done = if holding.is_empty() {
        "no card was written".to_owned()
    } else {
        format!(
            "cards already written with this unfinished set: {}. Their shares are of no use without the rest of the set: {}",
            holding.join(", "),
            if f.start_logged {
                "insert them again and run `quorumctl enroll --replace-unfinished` with the same ceremony log, which recognises them from the log's record of this set's start and overwrites them (no factory reset needed)"
            } else {
                "its start was not logged (--no-log), so insert each one again, factory-reset it (`quorumctl reset-card`) and personalise it again (`quorumctl init`) before enrolling again"
            }
        )
    };
    format!(
        "the set was NOT enrolled: writing card {} ({}) in \"{}\" failed: {}; {done}",
        f.card.fingerprint,
        custodian_label(f.card.index, &f.card.name),
        f.card.reader,
        super::error_message(&f.error)
    )
}

/// Where an enrollment stopped in its write phase stands (the ceremony's account), and how
/// to finish (the quorumctl commands for it).
fn stopped(s: &Standing) -> String {
    let account = if s.written.is_empty() {
        s.account()
    } else {
        let finish = if s.start_logged {
            "To finish, run `quorumctl enroll --replace-unfinished` with the same cards (and the same ceremony log): it recognises the cards of this unfinished set from the log's record of its start and overwrites them, with no factory reset"
        } else {
            "Its start was not logged (--no-log), so `enroll --replace-unfinished` cannot recognise these cards: factory-reset each one (`quorumctl reset-card`) and personalise it again (`quorumctl init`) before enrolling again"
        };
        format!("{}. {finish}", s.account())
    };
    format!("stopped on request (Ctrl-C or a termination signal): {account}")
}

/// The CLI's message for an error of this ceremony step, when it words it itself.
/// What the people at the table must know about the bundle of a set just written: the
/// OpenPGP cards among `cards` keep only their sealed share, so their public records live in
/// the bundle alone (`None` for a set of applet cards, which carry their records).
pub(crate) fn bundle_needed(
    cards: &[quorum_ceremony::enroll::EnrolledCardReport],
) -> Option<String> {
    let openpgp: Vec<String> = cards
        .iter()
        .filter(|c| c.record_in_bundle)
        .map(|c| format!("{} \"{}\"", c.fingerprint, c.name))
        .collect();
    if openpgp.is_empty() {
        return None;
    }
    Some(format!(
        "This set has {} OpenPGP card(s) ({}): they keep only their sealed share, and their public records are in this bundle alone. Keep copies of it with the minutes: recover, verify, add-card and reshare need it (--bundle FILE) whenever one of them takes part. The quorum cards of the set do not need it, and `quorumctl export-bundle` rebuilds it from any one of them.",
        openpgp.len(),
        openpgp.join(", ")
    ))
}

pub(crate) fn error(e: &CeremonyError) -> Option<String> {
    match e {
        CeremonyError::EnrollPlan(refused) => Some(plan(refused)),
        CeremonyError::CardsRefused(rejections) => Some(cards_refused(rejections)),
        CeremonyError::RegistrationFailed {
            card,
            reader,
            error,
        } => Some(format!(
            "the set was NOT enrolled: nothing was written, because card {card} in \"{reader}\": {}",
            super::error_message(error)
        )),
        CeremonyError::EnrollWriteFailed(failure) => Some(write_failed(failure)),
        CeremonyError::EnrollStopped(standing) => Some(stopped(standing)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use quorum_card::card::ApduStats;
    use quorum_ceremony::enroll::{EnrolledCardReport, HeldSet, LogStart, SetName, WriteCheck};
    use quorum_ceremony::progress::Shared;

    const FP: &str = "a1b2-c3d4-e5f6-0718";
    const FP2: &str = "0f0e-0d0c-0b0a-0908";

    fn set() -> SetName {
        SetName {
            label: "root-ca".into(),
            id: "00112233445566778899aabbccddeeff".into(),
        }
    }

    fn start(command: &str) -> LogStart {
        LogStart {
            command: command.into(),
            line: 7,
            log: "minutes.jsonl".into(),
        }
    }

    fn report(fingerprint: &str, index: u8, name: &str) -> EnrolledCardReport {
        EnrolledCardReport {
            reader: "Pad".into(),
            fingerprint: fingerprint.into(),
            index,
            name: name.into(),
            record_in_bundle: false,
        }
    }

    #[test]
    fn the_bundle_is_said_to_be_needed_only_for_a_set_with_openpgp_cards() {
        let applet = report("a1b2-c3d4-e5f6-0718", 1, "Ann");
        assert_eq!(bundle_needed(std::slice::from_ref(&applet)), None);
        let openpgp = EnrolledCardReport {
            record_in_bundle: true,
            ..report("0f0e-0d0c-0b0a-0908", 2, "Bob")
        };
        assert_eq!(
            bundle_needed(&[applet, openpgp]).unwrap(),
            "This set has 1 OpenPGP card(s) (0f0e-0d0c-0b0a-0908 \"Bob\"): they keep only their sealed share, and their public records are in this bundle alone. Keep copies of it with the minutes: recover, verify, add-card and reshare need it (--bundle FILE) whenever one of them takes part. The quorum cards of the set do not need it, and `quorumctl export-bundle` rebuilds it from any one of them."
        );
    }

    #[test]
    fn a_plan_deviation_names_the_cards_and_what_to_do() {
        let e = CeremonyError::EnrollPlan(PlanRefused::PlannedMissing {
            missing: vec![
                ("0f0e-0d0c-0b0a-0908".into(), "Bob".into()),
                ("a1b2-c3d4-e5f6-0718".into(), String::new()),
            ],
            so_far: SoFar::NoPinAsked,
        });
        assert_eq!(
            crate::words::error_message(&e),
            "the set was NOT enrolled: the plan's card(s) Bob (card 0f0e-0d0c-0b0a-0908), card a1b2-c3d4-e5f6-0718 are not present; insert them (or bring them one by one with --reader or --any-reader); no PIN was asked and nothing was written"
        );
        assert!(!e.to_string().contains("--"), "{e}");
        assert_eq!(
            refusal(&Refusal::NotInPlan),
            "is not one of the plan's cards (take it out, or write the plan again with `quorumctl plan new`)"
        );
    }

    #[test]
    fn every_event_reads_as_before() {
        let cases = [
            (
                Told::Registering { count: 3 },
                "Registering 3 cards: each custodian inserts their card and enters their PIN.",
            ),
            (
                Told::WritingBegins,
                "Writing the shares: insert each registered card again, in any order.",
            ),
            (
                Told::Replacing {
                    card: FP.into(),
                    reader: "Pad".into(),
                    unfinished: UnfinishedSet {
                        set: set(),
                        start: start("enroll"),
                    },
                },
                "card a1b2-c3d4-e5f6-0718 in \"Pad\" holds set \"root-ca\" (id 00112233445566778899aabbccddeeff), whose enroll started at line 7 of the ceremony log minutes.jsonl and never completed: it will be overwritten.",
            ),
            (
                Told::Refused {
                    rejection: Rejection::Refused {
                        card: FP.into(),
                        reader: "Pad".into(),
                        why: Refusal::RegisteredTwice { position: 1 },
                        set: None,
                    },
                },
                "Refused: card a1b2-c3d4-e5f6-0718 in \"Pad\" was already registered as card 1 of this set (the same card twice). Insert another card.",
            ),
            (
                Told::Registered {
                    card: FP.into(),
                    reader: "Pad".into(),
                    n: 2,
                    of: 3,
                },
                "Card a1b2-c3d4-e5f6-0718 in \"Pad\": registered as card 2 of 3.",
            ),
            (
                Told::Writing {
                    label: "root-ca".into(),
                    threshold: 2,
                    cards: 3,
                    set_id: "00ff".into(),
                },
                "Writing set \"root-ca\" (2-of-3, id 00ff) to the cards.",
            ),
            (
                Told::PulledOut {
                    card: FP.into(),
                    reader: "Pad".into(),
                    holds_new_record: true,
                },
                "Card a1b2-c3d4-e5f6-0718 was pulled out of \"Pad\" before its share was read back and checked (it holds its new record).",
            ),
            (
                Told::PulledOut {
                    card: FP.into(),
                    reader: "Pad".into(),
                    holds_new_record: false,
                },
                "Card a1b2-c3d4-e5f6-0718 was pulled out of \"Pad\" before its share was written and checked.",
            ),
            (
                Told::Back {
                    card: FP.into(),
                    holds_new_record: true,
                },
                "Card a1b2-c3d4-e5f6-0718 is back and holds its new record: reading it back and checking it.",
            ),
            (
                Told::Back {
                    card: FP.into(),
                    holds_new_record: false,
                },
                "Card a1b2-c3d4-e5f6-0718 is back and kept its previous record: writing its share again.",
            ),
            (
                Told::ShareWritten {
                    card: FP.into(),
                    index: 2,
                    name: "Bob".into(),
                },
                "Card a1b2-c3d4-e5f6-0718 (custodian 2 \"Bob\"): share written, read back and opened (it matches its commitment).",
            ),
        ];
        for (told, said) in cases {
            assert_eq!(line(&told), said);
        }
        let stats = ApduStats {
            commands: 5,
            ..ApduStats::default()
        };
        let said = line(&Told::Stats {
            card: FP.into(),
            stats,
        });
        assert_eq!(
            said,
            format!(
                "stats: card {FP} enroll: 5 APDU round trips (5 commands + 0 GET RESPONSE), \
                 0 bytes sent, 0 bytes received after SELECT"
            )
        );
    }

    #[test]
    fn refused_cards_name_what_to_do() {
        let refused = |why: Refusal, set: Option<Box<HeldSet>>| Rejection::Refused {
            card: FP.into(),
            reader: "Pad".into(),
            why,
            set,
        };
        let held = HeldSet {
            label: "other".into(),
            threshold: 1,
            count: 1,
            id: "00ff".into(),
            index: 1,
            custodian: "Ann".into(),
        };
        let e = CeremonyError::CardsRefused(vec![
            Rejection::Unidentified {
                problem: Shared::new(CeremonyError::NoSuchReader("R0".into())),
            },
            refused(Refusal::Blank, None),
            refused(Refusal::HoldsAnotherSet, Some(Box::new(held))),
            refused(
                Refusal::RecordUnreadable {
                    problem: "bad".into(),
                },
                None,
            ),
            Rejection::RegisteredTwice {
                card: FP.into(),
                position: 2,
            },
        ]);
        assert_eq!(
            error(&e).unwrap(),
            "the set was NOT enrolled: no PIN was asked and nothing was written, because cards were refused:\n  \
             - no reader named \"R0\": run `quorumctl readers` to list them\n  \
             - card a1b2-c3d4-e5f6-0718 in \"Pad\" is blank; personalise it first with `quorumctl init`\n  \
             - card a1b2-c3d4-e5f6-0718 in \"Pad\" already holds a share of another set; enrolling it would destroy that share, so it is refused (if that set's enrollment was interrupted, `enroll --replace-unfinished` overwrites it) (set \"other\" (1-of-1, id 00ff), custodian 1 \"Ann\")\n  \
             - card a1b2-c3d4-e5f6-0718 in \"Pad\": its record cannot be read: bad\n  \
             - card a1b2-c3d4-e5f6-0718 was already registered as card 2 of this set (the same card twice)"
        );
        assert!(!e.to_string().contains('`'), "{e}");
        // A failure kept in an event is worded by quorumctl too, with its advice.
        let pinpad = Told::PinRefused {
            card: FP.into(),
            problem: Shared::new(CeremonyError::card(
                "Pad",
                quorum_card::card::CardError::PinpadRefused,
            )),
        };
        let said = line(&pinpad);
        assert!(
            said.starts_with(
                "Refused: card a1b2-c3d4-e5f6-0718: card in \"Pad\": the reader refused"
            ) && said.ends_with(
                "Add --no-pinpad to type the PIN on this computer. Insert another card."
            ),
            "{said}"
        );
        let one = CeremonyError::CardsRefused(vec![refused(Refusal::Blocked, None)]);
        assert!(error(&one)
            .unwrap()
            .contains("because a card was refused:\n  - card"));
    }

    #[test]
    fn cards_the_log_does_not_free_name_the_log_options() {
        let why = |n: NotReplaceable| refusal(&Refusal::NotReplaceable(Box::new(n)));
        assert_eq!(
            why(NotReplaceable::Completed {
                set: set(),
                line: 9,
                log: "minutes.jsonl".into()
            }),
            "holds set \"root-ca\" (id 00112233445566778899aabbccddeeff), which completed (line 9 of the ceremony log minutes.jsonl records it in use): --replace-unfinished only overwrites sets whose enrollment never completed, so it is refused"
        );
        let unknown = why(NotReplaceable::Unknown {
            set: set(),
            log: "minutes.jsonl".into(),
        });
        assert!(
            unknown.ends_with("give the log that ceremony used with --log FILE; otherwise factory-reset the card (`quorumctl reset-card`) and personalise it again (`quorumctl init`)"),
            "{unknown}"
        );
        let other = why(NotReplaceable::OtherMaster {
            set: set(),
            start: start("reshare"),
        });
        assert!(
            other.starts_with("holds set \"root-ca\" (id 00112233445566778899aabbccddeeff), which a reshare started (line 7 of the ceremony log minutes.jsonl) and never completed, with another master")
                && other.contains("that reshare's old set")
                && other.ends_with("(`quorumctl reset-card`) if you are sure"),
            "{other}"
        );
        assert!(why(NotReplaceable::Copied { set: set() }).contains("(a copied record)"));
        assert!(why(NotReplaceable::NotNamed {
            set: set(),
            start: start("enroll")
        })
        .ends_with(
            "(line 7 of the ceremony log minutes.jsonl) does not name this card; it is refused"
        ));
        for n in [
            NotReplaceable::Completed {
                set: set(),
                line: 9,
                log: "m".into(),
            },
            NotReplaceable::Unknown {
                set: set(),
                log: "m".into(),
            },
            NotReplaceable::OtherMaster {
                set: set(),
                start: start("reshare"),
            },
        ] {
            let said = n.to_string();
            assert!(
                !said.contains("--") && !said.contains("quorumctl"),
                "{said}"
            );
        }
    }

    #[test]
    fn impossible_plans_name_the_options() {
        let cases = [
            (
                PlanRefused::ThresholdZero,
                "--threshold 0 is impossible: a set needs at least one card to recover; nothing was done",
            ),
            (
                PlanRefused::ThresholdAboveShares {
                    threshold: 3,
                    shares: 2,
                },
                "--threshold 3 is more than the 2 cards of --shares: a set of 2 cards can need at most 2; nothing was done",
            ),
            (
                PlanRefused::SharesNotPresent {
                    shares: 3,
                    present: 2,
                    so_far: SoFar::NoPinAsked,
                },
                "the set was NOT enrolled: --shares 3 was asked but 2 personalised cards are present; no PIN was asked and nothing was written",
            ),
            (
                PlanRefused::ThresholdAboveCards {
                    threshold: 4,
                    present: 3,
                    so_far: SoFar::NothingWritten,
                },
                "--threshold 4 needs at least 4 cards, but 3 personalised card(s) are present; insert more cards or lower the threshold; nothing was written",
            ),
            (
                PlanRefused::NameNotAmongCards {
                    fingerprint: "0000-1111-2222-3333".into(),
                    cards: vec![FP.into(), FP2.into()],
                    so_far: SoFar::NoPinAsked,
                },
                "--name 0000-1111-2222-3333=…: no card with fingerprint 0000-1111-2222-3333 is among the cards (a1b2-c3d4-e5f6-0718, 0f0e-0d0c-0b0a-0908); check the fingerprint `quorumctl status` shows; no PIN was asked and nothing was written",
            ),
        ];
        for (refused, said) in cases {
            use crate::exit::{Exit, ExitStatus};
            let status = match refused {
                PlanRefused::SharesNotPresent { .. } => ExitStatus::Card,
                _ => ExitStatus::Usage,
            };
            let e = CeremonyError::EnrollPlan(refused);
            assert_eq!(e.exit_status(), status, "{e}");
            assert_eq!(error(&e).unwrap(), said);
            assert_eq!(crate::words::error_message(&e), said);
            let domain = e.to_string();
            assert!(
                !domain.contains("--") && !domain.contains("quorumctl"),
                "{domain}"
            );
        }
    }

    #[test]
    fn a_failed_write_says_which_cards_changed_and_how_to_finish() {
        let failure = |holding: Vec<String>, unchecked: bool, start_logged: bool| {
            CeremonyError::EnrollWriteFailed(Box::new(WriteFailure {
                card: report(FP2, 2, "Bob"),
                error: CeremonyError::WrittenWrong {
                    card: FP2.into(),
                    reader: "Pad".into(),
                    problem: WriteCheck::Differs,
                },
                unchecked,
                holding,
                start_logged,
            }))
        };
        let head = "the set was NOT enrolled: writing card 0f0e-0d0c-0b0a-0908 (custodian 2 \"Bob\") in \"Pad\" failed: card 0f0e-0d0c-0b0a-0908 in \"Pad\" returned a record different from the one written; the card is faulty; ";
        assert_eq!(
            error(&failure(vec![], false, true)).unwrap(),
            format!("{head}no card was written")
        );
        assert_eq!(
            error(&failure(vec![FP.into()], true, true)).unwrap(),
            format!("{head}cards already written with this unfinished set: a1b2-c3d4-e5f6-0718, 0f0e-0d0c-0b0a-0908 (unchecked). Their shares are of no use without the rest of the set: insert them again and run `quorumctl enroll --replace-unfinished` with the same ceremony log, which recognises them from the log's record of this set's start and overwrites them (no factory reset needed)")
        );
        use crate::exit::{Exit, ExitStatus};
        assert_eq!(
            failure(vec![], false, true).exit_status(),
            ExitStatus::Card,
            "no card changed"
        );
        assert_eq!(
            failure(vec![], true, true).exit_status(),
            ExitStatus::Incomplete,
            "the failed card holds its new record"
        );
        let unlogged = failure(vec![FP.into()], false, false);
        assert!(error(&unlogged).unwrap().ends_with(": its start was not logged (--no-log), so insert each one again, factory-reset it (`quorumctl reset-card`) and personalise it again (`quorumctl init`) before enrolling again"));
        for e in [failure(vec![FP.into()], true, true), unlogged] {
            let domain = e.to_string();
            assert!(domain.starts_with(head), "{domain}");
            assert!(
                !domain.contains("--") && !domain.contains("quorumctl"),
                "{domain}"
            );
        }
        let pin = CeremonyError::RegistrationFailed {
            card: FP.into(),
            reader: "Pad".into(),
            error: Box::new(CeremonyError::NoCards),
        };
        assert_eq!(
            error(&pin).unwrap(),
            format!(
                "the set was NOT enrolled: nothing was written, because card {FP} in \"Pad\": {}",
                crate::words::error_message(&CeremonyError::NoCards)
            )
        );
    }

    #[test]
    fn a_stop_in_the_write_phase_says_where_things_stand() {
        let standing = |written: Vec<EnrolledCardReport>, unwritten: Vec<&str>, logged| {
            CeremonyError::EnrollStopped(Standing {
                set: set(),
                threshold: 2,
                cards: 3,
                written,
                unwritten: unwritten.into_iter().map(str::to_owned).collect(),
                start_logged: logged,
            })
        };
        let none = standing(vec![], vec![FP, FP2, "c"], true);
        assert_eq!(
            error(&none).unwrap(),
            "stopped on request (Ctrl-C or a termination signal): the set \"root-ca\" (id 00112233445566778899aabbccddeeff) was NOT enrolled and no card was changed: none of its 3 cards was written (a1b2-c3d4-e5f6-0718, 0f0e-0d0c-0b0a-0908, c). No bundle was written"
        );
        let one = standing(vec![report(FP, 1, "Ann")], vec![FP2, "c"], true);
        assert_eq!(
            error(&one).unwrap(),
            "stopped on request (Ctrl-C or a termination signal): the set \"root-ca\" (id 00112233445566778899aabbccddeeff, 2-of-3) was NOT enrolled. 1 of its 3 cards hold their share of this unfinished set (written, read back and checked): a1b2-c3d4-e5f6-0718 (custodian 1 \"Ann\"); 2 cards were not written and as they were (0f0e-0d0c-0b0a-0908, c). fewer than the 2 needed hold a share, so the set cannot be recovered; its shares are of no use. No bundle was written. To finish, run `quorumctl enroll --replace-unfinished` with the same cards (and the same ceremony log): it recognises the cards of this unfinished set from the log's record of its start and overwrites them, with no factory reset"
        );
        let enough = standing(
            vec![report(FP, 1, "Ann"), report(FP2, 2, "Bob")],
            vec!["c"],
            false,
        );
        let said = error(&enough).unwrap();
        assert!(
            said.contains("; 1 card was not written and as it were (c). these 2 cards could recover the master on their own (2 are needed)")
                && said.ends_with("Its start was not logged (--no-log), so `enroll --replace-unfinished` cannot recognise these cards: factory-reset each one (`quorumctl reset-card`) and personalise it again (`quorumctl init`) before enrolling again"),
            "{said}"
        );
        for e in [none, one, enough] {
            let domain = e.to_string();
            assert!(
                domain.starts_with(
                    "stopped on request (Ctrl-C or a termination signal): the set \"root-ca\""
                ),
                "{domain}"
            );
            assert!(
                !domain.contains("--") && !domain.contains("quorumctl"),
                "{domain}"
            );
        }
    }
}
