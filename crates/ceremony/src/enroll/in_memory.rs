//! The enroll ceremony against in-memory cards and readers: every reader mode, the
//! refusals that must come before any PIN, the summary, and the failures while writing.

use quorum_card::memory::{shared, MemoryApplet, MemoryReaders, SharedCard};
use quorum_card::transport::TransportError;
use quorum_protocol::apdu::LifeCycle;

use super::*;
use crate::in_memory_kit::*;
use crate::pins::tests::Typed;
use crate::pins::PinTable;
use crate::presence::{CountOf, Done, Told as Present, Unwanted, Wanted};
use crate::progress::Event;
use quorum_protocol::sharing::EnrollError;

fn run(
    readers: &MemoryReaders,
    req: &EnrollRequest<'_>,
) -> (Result<EnrollOutcome, CeremonyError>, Said) {
    let mut said = Said::default();
    let result = enroll(readers, req, &mut crate::NoJournal, &mut said);
    (result, said)
}

/// Every card holds the record the outcome says it was written, and opened it.
fn assert_written(cards: &[SharedCard], outcome: &EnrollOutcome) {
    for card in cards {
        let fp = fingerprint(card);
        let report = outcome
            .cards
            .iter()
            .find(|r| r.fingerprint == fp)
            .expect("every card is in the summary");
        let written = &outcome.enrollment.cards[usize::from(report.index) - 1];
        let c = card.borrow();
        assert_eq!(c.state(), LifeCycle::Enrolled);
        assert_eq!(c.record().unwrap().0, &written.public[..]);
        assert_eq!(c.record().unwrap().1, &written.sealed[..]);
        assert!(c.count(0x18) >= 1, "the new share was opened on the card");
    }
}

#[test]
fn every_reader_enrolls_the_cards_present_in_reader_order_with_their_names() {
    let cards = fresh_cards(3);
    let readers = MemoryReaders::with_cards(&cards);
    let pins = pin_file();
    let names = vec![(fingerprint(&cards[1]).to_uppercase(), "Bob".to_owned())];
    let mut req = enroll_request(2, "vault", every_reader(), &pins);
    req.names = &names;
    let (result, said) = run(&readers, &req);
    let outcome = result.unwrap();
    assert_written(&cards, &outcome);
    let summary: Vec<(u8, &str, &str)> = outcome
        .cards
        .iter()
        .map(|c| (c.index, c.name.as_str(), c.reader.as_str()))
        .collect();
    assert_eq!(
        summary,
        [
            (1, "custodian 1", "Reader 0"),
            (2, "Bob", "Reader 1"),
            (3, "custodian 3", "Reader 2")
        ]
    );
    let record = &outcome.enrollment.cards[0].record;
    assert_eq!((record.threshold, record.label.as_str()), (2, "vault"));
    assert_eq!(record.custodian(2).unwrap().name, "Bob");
    // One PIN per card, on the session that writes it: no second VERIFY.
    for card in &cards {
        assert_eq!(card.borrow().pin_checks(), 1);
        assert!(!card.borrow().validated(), "the session ended with a reset");
    }
    let written = said
        .0
        .iter()
        .filter(|e| matches!(e, Event::Enroll(Told::ShareWritten { .. })))
        .count();
    assert_eq!(written, 3, "{said}");
    assert!(
        said.told(&Event::Enroll(Told::ShareWritten {
            card: fingerprint(&cards[1]),
            index: 2,
            name: "Bob".into()
        })),
        "{said}"
    );
}

#[test]
fn one_reader_registers_each_card_then_writes_each_one_again() {
    let cards = fresh_cards(3);
    let readers = MemoryReaders::new(&["Pad"]);
    let refs: Vec<&SharedCard> = cards.iter().collect();
    readers.then_present_in_turn("Pad", &refs);
    // The writing pass takes the cards in another order.
    readers.then_present_in_turn("Pad", &[&cards[2], &cards[0], &cards[1]]);
    let pins = pin_file();
    let mut req = enroll_request(2, "vault", one_reader("Pad"), &pins);
    req.count = Some(3);
    let (result, said) = run(&readers, &req);
    let outcome = result.unwrap();
    assert_written(&cards, &outcome);
    // Indices follow the registration order; the summary is sorted by index.
    let order: Vec<String> = outcome
        .cards
        .iter()
        .map(|c| c.fingerprint.clone())
        .collect();
    assert_eq!(order, cards.iter().map(fingerprint).collect::<Vec<_>>());
    for card in &cards {
        assert_eq!(
            card.borrow().pin_checks(),
            2,
            "registered, then verified again to write"
        );
    }
    assert_eq!(
        readers.script_left(),
        1,
        "the last card may stay in the reader"
    );
    assert!(
        said.told(&Event::Presence(Present::Insert {
            wanted: Wanted::Custodian {
                n: 1,
                of: 3,
                still: Vec::new()
            },
            reader: Some("Pad".into())
        })),
        "{said}"
    );
    assert!(
        said.told(&Event::Presence(Present::Remove {
            reader: "Pad".into(),
            why: Done::Registered
        })),
        "{said}"
    );
    assert!(
        said.told(&Event::Presence(Present::LastCard {
            reader: "Pad".into(),
            why: Done::ShareWritten
        })),
        "{said}"
    );
}

#[test]
fn one_reader_skips_a_stranger_and_a_card_written_already() {
    let cards = fresh_cards(2);
    let stranger = fresh_cards(1).remove(0);
    let readers = MemoryReaders::new(&["Pad"]);
    readers.then_present_in_turn("Pad", &[&cards[0], &cards[1]]);
    readers.then_present_in_turn("Pad", &[&cards[0], &stranger, &cards[0], &cards[1]]);
    let pins = pin_file();
    let mut req = enroll_request(2, "pair", one_reader("Pad"), &pins);
    req.count = Some(2);
    let (result, said) = run(&readers, &req);
    assert_written(&cards, &result.unwrap());
    assert!(
        said.told(&Event::Presence(Present::Unwanted {
            card: fingerprint(&stranger),
            why: Unwanted::NotRegistered
        })),
        "{said}"
    );
    assert!(
        said.told(&Event::Presence(Present::Unwanted {
            card: fingerprint(&cards[0]),
            why: Unwanted::AlreadyWritten
        })),
        "{said}"
    );
    assert_eq!(stranger.borrow().pin_checks(), 0);
    assert_eq!(stranger.borrow().writes(), 0);
}

#[test]
fn any_reader_takes_the_cards_present_then_each_card_inserted() {
    let cards = fresh_cards(3);
    let readers = MemoryReaders::new(&["R0", "R1"]);
    readers.insert("R0", &cards[0]);
    readers.insert("R1", &cards[1]);
    // Registration: the third card replaces the first.
    readers.then_remove("R0").then_insert("R0", &cards[2]);
    // Writing: the cards still in (third, second), then the first again.
    readers.then_remove("R0").then_insert("R0", &cards[0]);
    let pins = pin_file();
    let mut req = enroll_request(3, "all", any_reader(), &pins);
    req.count = Some(3);
    let (result, said) = run(&readers, &req);
    let outcome = result.unwrap();
    assert_written(&cards, &outcome);
    assert_eq!(readers.script_left(), 0);
    assert!(
        said.told(&Event::Presence(Present::Insert {
            wanted: Wanted::Custodian {
                n: 3,
                of: 3,
                still: Vec::new()
            },
            reader: None
        })),
        "{said}"
    );
    assert_eq!(outcome.cards.len(), 3);
}

#[test]
fn swapping_without_a_count_is_a_usage_error_before_any_card() {
    let readers = MemoryReaders::new(&["Pad"]);
    let pins = pin_file();
    let req = enroll_request(2, "x", one_reader("Pad"), &pins);
    assert!(matches!(
        run(&readers, &req).0,
        Err(CeremonyError::CountNeeded(CountOf::Cards))
    ));
    assert!(readers.waits().is_empty());
}

#[test]
fn a_threshold_above_the_cards_present_is_refused_before_any_pin() {
    let cards = fresh_cards(3);
    let readers = MemoryReaders::with_cards(&cards);
    let pins = pin_file();
    let req = enroll_request(4, "x", every_reader(), &pins);
    let e = run(&readers, &req).0.err().unwrap();
    assert!(
        matches!(
            e,
            CeremonyError::EnrollPlan(PlanRefused::ThresholdAboveCards {
                threshold: 4,
                present: 3,
                so_far: SoFar::NoPinAsked
            })
        ),
        "{e}"
    );
    assert_eq!(pin_checks(&cards), 0);
    assert_eq!(writes(&cards), 0);
}

#[test]
fn a_threshold_of_zero_is_refused_before_any_pin() {
    let cards = fresh_cards(2);
    let readers = MemoryReaders::with_cards(&cards);
    let pins = pin_file();
    let req = enroll_request(0, "x", every_reader(), &pins);
    let e = run(&readers, &req).0.err().unwrap();
    assert!(
        matches!(e, CeremonyError::EnrollPlan(PlanRefused::ThresholdZero)),
        "{e}"
    );
    assert_eq!(
        pin_checks(&cards),
        0,
        "no custodian typed a PIN for an impossible set"
    );
    assert_eq!(writes(&cards), 0);
}

#[test]
fn one_reader_refuses_a_threshold_above_the_count_before_any_card() {
    let cards = fresh_cards(2);
    let readers = MemoryReaders::new(&["Pad"]);
    readers.then_present_in_turn("Pad", &[&cards[0], &cards[1]]);
    let pins = pin_file();
    let mut req = enroll_request(3, "x", one_reader("Pad"), &pins);
    req.count = Some(2);
    let e = run(&readers, &req).0.err().unwrap();
    assert!(
        matches!(
            e,
            CeremonyError::EnrollPlan(PlanRefused::ThresholdAboveShares {
                threshold: 3,
                shares: 2
            })
        ),
        "{e}"
    );
    assert_eq!(
        pin_checks(&cards),
        0,
        "no custodian typed a PIN for an impossible set"
    );
}

#[test]
fn a_share_count_that_does_not_match_the_cards_present_is_refused_before_any_pin() {
    let cards = fresh_cards(2);
    let readers = MemoryReaders::with_cards(&cards);
    let pins = pin_file();
    let mut req = enroll_request(2, "x", every_reader(), &pins);
    req.count = Some(3);
    let e = run(&readers, &req).0.err().unwrap();
    assert!(
        matches!(
            e,
            CeremonyError::EnrollPlan(PlanRefused::SharesNotPresent {
                shares: 3,
                present: 2,
                so_far: SoFar::NoPinAsked
            })
        ),
        "{e}"
    );
    assert_eq!(pin_checks(&cards), 0);
}

#[test]
fn a_name_for_a_card_that_is_not_there_is_refused_before_any_pin() {
    let cards = fresh_cards(2);
    let readers = MemoryReaders::with_cards(&cards);
    let pins = pin_file();
    let names = vec![("0000-1111-2222-3333".to_owned(), "Eve".to_owned())];
    let mut req = enroll_request(2, "x", every_reader(), &pins);
    req.names = &names;
    let e = run(&readers, &req).0.err().unwrap();
    assert!(
        matches!(
            e,
            CeremonyError::EnrollPlan(PlanRefused::NameNotAmongCards { ref fingerprint, ref cards, .. })
                if fingerprint == "0000-1111-2222-3333" && cards.len() == 2
        ),
        "{e}"
    );
    assert_eq!(pin_checks(&cards), 0);
}

#[test]
fn foreign_blank_and_enrolled_cards_are_refused_with_nothing_written_and_no_pin() {
    let other = EnrolledSet::new(1, 1, "other set");
    let mut cards = fresh_cards(2);
    cards.push(shared(MemoryApplet::without_applet()));
    cards.push(shared(MemoryApplet::new()));
    cards.push(other.cards[0].clone());
    let readers = MemoryReaders::with_cards(&cards);
    let pins = pin_file();
    let req = enroll_request(2, "x", every_reader(), &pins);
    let e = run(&readers, &req).0.err().unwrap();
    let CeremonyError::CardsRefused(refused) = &e else {
        panic!("{e}");
    };
    assert_eq!(refused.len(), 3, "{e}");
    assert!(
        matches!(&refused[0], Rejection::Unidentified { problem } if problem.to_string().contains("no quorum applet")),
        "{e}"
    );
    assert!(
        matches!(
            &refused[1],
            Rejection::Refused {
                why: Refusal::Blank,
                set: None,
                ..
            }
        ),
        "{e}"
    );
    assert!(
        matches!(
            &refused[2],
            Rejection::Refused { card, why: Refusal::HoldsAnotherSet, set: Some(set), .. }
                if *card == fingerprint(&other.cards[0])
                    && (set.label.as_str(), set.threshold, set.count) == ("other set", 1, 1)
        ),
        "{e}"
    );
    let message = e.to_string();
    assert!(
        message.starts_with(
            "the set was NOT enrolled: no PIN was asked and nothing was written, because cards were refused"
        ),
        "{message}"
    );
    assert!(message.contains("set \"other set\" (1-of-1"), "{message}");
    assert_eq!(pin_checks(&cards), 0);
    assert_eq!(writes(&cards), 0);
}

#[test]
fn a_card_too_small_for_its_record_is_refused_with_nothing_written() {
    let mut cards = fresh_cards(1);
    cards.push(shared(MemoryApplet::new().capacity(200).personalised(PIN)));
    let readers = MemoryReaders::with_cards(&cards);
    let pins = pin_file();
    let req = enroll_request(2, "x", every_reader(), &pins);
    let e = run(&readers, &req).0.err().unwrap();
    assert!(
        matches!(e, CeremonyError::RecordTooLarge { ref card, capacity: 200, .. }
        if *card == fingerprint(&cards[1])),
        "{e}"
    );
    assert!(
        e.to_string()
            .contains("at most 200 bytes; nothing was written"),
        "{e}"
    );
    assert_eq!(writes(&cards), 0);
}

#[test]
fn the_same_card_twice_is_refused_in_one_reader_mode() {
    let cards = fresh_cards(2);
    let readers = MemoryReaders::new(&["Pad"]);
    readers.then_present_in_turn("Pad", &[&cards[0], &cards[0], &cards[1]]);
    readers.then_present_in_turn("Pad", &[&cards[0], &cards[1]]);
    let pins = pin_file();
    let mut req = enroll_request(2, "x", one_reader("Pad"), &pins);
    req.count = Some(2);
    let (result, said) = run(&readers, &req);
    assert_written(&cards, &result.unwrap());
    assert!(
        said.told(&Event::Enroll(Told::Refused {
            rejection: Rejection::Refused {
                card: fingerprint(&cards[0]),
                reader: "Pad".into(),
                why: Refusal::RegisteredTwice { position: 1 },
                set: None
            }
        })),
        "{said}"
    );
    assert_eq!(
        cards[0].borrow().pin_checks(),
        2,
        "the repeat was refused before its PIN"
    );
}

#[test]
fn a_wrong_pin_typed_is_asked_again_and_a_wrong_pin_from_a_file_stops_with_nothing_written() {
    let cards = fresh_cards(2);
    let readers = MemoryReaders::with_cards(&cards);
    let typed = Typed(std::cell::RefCell::new(["999999", PIN, PIN].into()));
    let req = enroll_request(2, "x", every_reader(), &typed);
    let (result, said) = run(&readers, &req);
    assert_written(&cards, &result.unwrap());
    assert!(said.asked_again(4), "{said}");

    let cards = fresh_cards(2);
    let readers = MemoryReaders::with_cards(&cards);
    let wrong = PinTable::parse(b"654321", crate::pins::tests::test_file()).unwrap();
    let req = enroll_request(2, "x", every_reader(), &wrong);
    let e = run(&readers, &req).0.err().unwrap();
    assert!(
        matches!(e, CeremonyError::RegistrationFailed { ref card, ref error, .. }
            if *card == fingerprint(&cards[0]) && error.is_pin_failure()),
        "{e}"
    );
    assert_eq!(
        pin_checks(&cards),
        1,
        "the first wrong PIN stops the ceremony"
    );
    assert_eq!(cards[0].borrow().tries_left(), 4);
    assert_eq!(writes(&cards), 0);
}

/// The number of PUT RECORD APDUs of one card's record in a 2-of-3 set labelled "x": one
/// extended-length APDU on a 1.4 card.
fn links_of_a_2_of_3_record() -> usize {
    let sample = EnrolledSet::new(2, 3, "x");
    let card = &sample.outcome.enrollment.cards[1];
    (4 + card.public.len() + card.sealed.len()).div_ceil(quorum_protocol::apdu::MAX_EXTENDED_DATA)
}

#[test]
fn a_card_pulled_after_accepting_its_record_is_reported_unchecked_and_the_set_unfinished() {
    let links = links_of_a_2_of_3_record();
    let cards = fresh_cards(3);
    let readers = MemoryReaders::with_cards(&cards);
    // SELECT, GET STATUS, VERIFY to register; the PUT RECORD links; then the check's UNSEAL
    // is lost.
    readers.pull_after("Reader 1", 3 + links, TransportError::CardRemoved);
    let pins = pin_file();
    let req = enroll_request(2, "x", every_reader(), &pins);
    let e = run(&readers, &req).0.err().unwrap();
    let CeremonyError::EnrollWriteFailed(failure) = &e else {
        panic!("{e}");
    };
    assert!(failure.cards_changed() && failure.unchecked, "{e}");
    assert_eq!(failure.card.fingerprint, fingerprint(&cards[1]));
    assert_eq!(failure.holding, [fingerprint(&cards[0])]);
    assert!(
        matches!(failure.error, CeremonyError::WrittenUnchecked { .. }),
        "{e}"
    );
    let message = e.to_string();
    assert!(message.starts_with("the set was NOT enrolled"), "{message}");
    assert!(
        message.contains(&format!("{} (unchecked)", fingerprint(&cards[1]))),
        "{message}"
    );
    assert_eq!(
        cards[1].borrow().state(),
        LifeCycle::Enrolled,
        "it holds the record"
    );
    assert_eq!(
        cards[2].borrow().writes(),
        0,
        "the third card was never written"
    );
}

#[test]
fn a_card_pulled_during_the_first_write_leaves_nothing_written() {
    let cards = fresh_cards(2);
    let readers = MemoryReaders::with_cards(&cards);
    // SELECT, VERIFY; the PUT RECORD fails (the retry in short APDUs finds the card gone).
    readers.pull_after("Reader 0", 2, TransportError::ExchangeFailed);
    let pins = pin_file();
    let req = enroll_request(2, "x", every_reader(), &pins);
    let e = run(&readers, &req).0.err().unwrap();
    assert!(
        matches!(e, CeremonyError::EnrollWriteFailed(ref f) if !f.cards_changed()),
        "{e}"
    );
    assert!(e.to_string().contains("no card was written"), "{e}");
    assert_eq!(cards[0].borrow().state(), LifeCycle::Personalised);
}

#[test]
fn a_label_against_the_record_rules_is_an_enroll_error_with_nothing_written() {
    let cards = fresh_cards(2);
    let readers = MemoryReaders::with_cards(&cards);
    let pins = pin_file();
    let req = enroll_request(2, "", every_reader(), &pins);
    let e = run(&readers, &req).0.err().unwrap();
    assert!(
        matches!(e, CeremonyError::Enroll(EnrollError::Record(_))),
        "{e}"
    );
    assert_eq!(writes(&cards), 0);
    // quorumctl checks the label first; the ceremony itself finds it only after the PINs.
    assert_eq!(pin_checks(&cards), 2);
}

#[test]
fn a_card_pulled_during_its_pin_and_put_back_is_registered_and_written() {
    let cards = fresh_cards(2);
    let readers = MemoryReaders::with_cards(&cards);
    // SELECT and GET STATUS identify it; the VERIFY is lost, then it comes back.
    readers.pull_after("Reader 0", 2, TransportError::CardRemoved);
    readers.then_insert("Reader 0", &cards[0]);
    let pins = pin_file();
    let req = enroll_request(2, "x", every_reader_put_back(), &pins);
    let (result, said) = run(&readers, &req);
    let outcome = result.unwrap();
    assert!(said.asked_back_into("Reader 0"), "{said}");
    assert_written(&cards, &outcome);
}

#[test]
fn a_card_pulled_while_written_and_put_back_is_written_again() {
    let cards = fresh_cards(2);
    let readers = MemoryReaders::with_cards(&cards);
    // SELECT, VERIFY to register; the PUT RECORD (one extended APDU) is lost.
    readers.pull_after("Reader 0", 2, TransportError::CardRemoved);
    readers.then_insert("Reader 0", &cards[0]);
    let pins = pin_file();
    let req = enroll_request(2, "x", every_reader_put_back(), &pins);
    let (result, said) = run(&readers, &req);
    assert_written(&cards, &result.unwrap());
    let fp = fingerprint(&cards[0]);
    assert!(
        said.told(&Event::Enroll(Told::PulledOut {
            card: fp.clone(),
            reader: "Reader 0".into(),
            holds_new_record: false
        })),
        "{said}"
    );
    assert!(
        said.told(&Event::Enroll(Told::Back {
            card: fp,
            holds_new_record: false
        })),
        "{said}"
    );
}

#[test]
fn one_reader_sends_back_a_card_whose_pin_fails_and_takes_another() {
    let cards = fresh_cards(2);
    let other_pin = shared(MemoryApplet::new().personalised("654321"));
    let readers = MemoryReaders::new(&["Pad"]);
    readers.then_present_in_turn("Pad", &[&other_pin, &cards[0], &cards[1]]);
    readers.then_present_in_turn("Pad", &[&cards[0], &cards[1]]);
    let pins = pin_file();
    let mut req = enroll_request(2, "x", one_reader("Pad"), &pins);
    req.count = Some(2);
    let (result, said) = run(&readers, &req);
    assert_written(&cards, &result.unwrap());
    assert!(
        said.0.iter().any(|e| matches!(e,
            Event::Enroll(Told::PinRefused { card, .. }) if *card == fingerprint(&other_pin))),
        "{said}"
    );
    assert!(
        said.told(&Event::Enroll(Told::Registered {
            card: fingerprint(&cards[1]),
            reader: "Pad".into(),
            n: 2,
            of: 2
        })),
        "{said}"
    );
    assert!(
        said.0.iter().any(|e| matches!(e,
            Event::Enroll(Told::Writing { label, threshold: 2, cards: 2, .. }) if label == "x")),
        "{said}"
    );
    assert_eq!(other_pin.borrow().writes(), 0);
}

/// A ceremony log that stops the ceremony (as Ctrl-C would) once `after` cards are
/// written, or that cannot record the start at all.
struct Minutes<'a> {
    stop: &'a std::sync::atomic::AtomicBool,
    after: usize,
    written: usize,
    unwritable: bool,
}

impl Journal for Minutes<'_> {
    fn starting(&mut self, _: &PublicRecord, _: &[CardKey]) -> Result<(), String> {
        match self.unwritable {
            true => Err("disk full".into()),
            false => Ok(()),
        }
    }

    fn written(&mut self, _: &CardKey) {
        self.written += 1;
        if self.written >= self.after {
            self.stop.store(true, std::sync::atomic::Ordering::SeqCst);
        }
    }
}

#[test]
fn a_stop_request_in_the_write_phase_says_which_cards_hold_the_unfinished_set() {
    let cards = fresh_cards(3);
    let readers = MemoryReaders::with_cards(&cards);
    let pins = pin_file();
    let stop = std::sync::atomic::AtomicBool::new(false);
    let mut req = enroll_request(2, "vault", every_reader(), &pins);
    req.interrupt = &stop;
    let mut minutes = Minutes {
        stop: &stop,
        after: 1,
        written: 0,
        unwritable: false,
    };
    let Err(e) = enroll(&readers, &req, &mut minutes, &mut Said::default()) else {
        panic!("the ceremony must stop");
    };
    let CeremonyError::EnrollStopped(standing) = &e else {
        panic!("{e}");
    };
    assert_eq!((standing.written.len(), standing.unwritten.len()), (1, 2));
    assert!(standing.start_logged, "the journal records starts");
    assert!(
        !standing.recoverable(),
        "1 card cannot recover a 2-of-3 set"
    );
    let enrolled: Vec<_> = cards
        .iter()
        .filter(|c| c.borrow().state() == LifeCycle::Enrolled)
        .map(fingerprint)
        .collect();
    assert_eq!(enrolled, vec![standing.written[0].fingerprint.clone()]);
    for fp in &standing.unwritten {
        let card = cards.iter().find(|c| fingerprint(c) == *fp).unwrap();
        assert_eq!(card.borrow().state(), LifeCycle::Personalised, "untouched");
    }
}

#[test]
fn a_stop_request_before_the_write_phase_changes_no_card() {
    let cards = fresh_cards(2);
    let readers = MemoryReaders::with_cards(&cards);
    let pins = pin_file();
    let stop = std::sync::atomic::AtomicBool::new(true);
    let mut req = enroll_request(2, "vault", every_reader(), &pins);
    req.interrupt = &stop;
    let (result, _) = run(&readers, &req);
    assert!(
        matches!(result, Err(CeremonyError::Interrupted)),
        "{:?}",
        result.err()
    );
    assert_eq!(writes(&cards), 0);
}

#[test]
fn a_start_the_log_cannot_record_stops_before_any_card_is_written() {
    let cards = fresh_cards(2);
    let readers = MemoryReaders::with_cards(&cards);
    let pins = pin_file();
    let stop = std::sync::atomic::AtomicBool::new(false);
    let req = enroll_request(2, "vault", every_reader(), &pins);
    let mut minutes = Minutes {
        stop: &stop,
        after: usize::MAX,
        written: 0,
        unwritable: true,
    };
    let Err(e) = enroll(&readers, &req, &mut minutes, &mut Said::default()) else {
        panic!("the ceremony must stop");
    };
    assert!(
        matches!(&e, CeremonyError::StartNotLogged(why) if why == "disk full"),
        "{e}"
    );
    assert_eq!(writes(&cards), 0);
}

#[test]
fn insert_prompts_name_the_custodians_still_needed() {
    let cards = fresh_cards(3);
    let readers = MemoryReaders::new(&["Pad"]);
    let refs: Vec<&SharedCard> = cards.iter().collect();
    readers.then_present_in_turn("Pad", &refs);
    readers.then_present_in_turn("Pad", &[&cards[2], &cards[0], &cards[1]]);
    let pins = pin_file();
    let names = [
        (fingerprint(&cards[0]), "Alice".to_owned()),
        (fingerprint(&cards[1]), "Bob".to_owned()),
    ];
    let mut req = enroll_request(2, "vault", one_reader("Pad"), &pins);
    req.count = Some(3);
    req.names = &names;
    let (result, said) = run(&readers, &req);
    result.unwrap();
    let asked: Vec<Wanted> = said
        .presence()
        .into_iter()
        .filter_map(|t| match t {
            Present::Insert { wanted, .. } => Some(wanted.clone()),
            _ => None,
        })
        .collect();
    let still = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    assert_eq!(
        &asked[..3],
        [
            Wanted::Custodian {
                n: 1,
                of: 3,
                still: still(&["Alice", "Bob"])
            },
            Wanted::Custodian {
                n: 2,
                of: 3,
                still: still(&["Bob"])
            },
            Wanted::Custodian {
                n: 3,
                of: 3,
                still: Vec::new()
            },
        ],
        "{said}"
    );
    let third = format!("card {}", fingerprint(&cards[2]));
    assert_eq!(
        asked[3],
        Wanted::Registered {
            written: 0,
            of: 3,
            still: still(&["Alice", "Bob", &third])
        },
        "{said}"
    );
}

#[test]
fn a_plan_is_followed_and_every_deviation_refused_before_any_pin() {
    let cards = fresh_cards(3);
    let stranger = fresh_cards(1);
    let planned: Vec<String> = cards.iter().map(fingerprint).collect();
    let names: Vec<(String, String)> = planned
        .iter()
        .zip(["Alice", "Bob", "Eve"])
        .map(|(fp, n)| (fp.clone(), n.to_owned()))
        .collect();
    let pins = pin_file();
    let planned_request = |from| {
        let mut req = enroll_request(2, "vault", from, &pins);
        req.names = &names;
        req.count = Some(3);
        req.planned = Some(&planned);
        req
    };
    // A card the plan does not name, with every reader: refused, no PIN asked anywhere.
    let with_stranger = [cards[0].clone(), stranger[0].clone(), cards[1].clone()];
    let readers = MemoryReaders::with_cards(&with_stranger);
    let e = run(&readers, &planned_request(every_reader()))
        .0
        .err()
        .unwrap();
    match &e {
        CeremonyError::CardsRefused(rejections) => assert!(
            rejections.iter().any(|r| matches!(
                r,
                Rejection::Refused { why: Refusal::NotInPlan, card, .. } if *card == fingerprint(&stranger[0])
            )),
            "{e}"
        ),
        other => panic!("{other}"),
    }
    assert_eq!(pin_checks(&with_stranger), 0);
    // A planned card missing: named with its custodian, no PIN asked.
    let readers = MemoryReaders::with_cards(&cards[..2]);
    let e = run(&readers, &planned_request(every_reader()))
        .0
        .err()
        .unwrap();
    assert!(
        matches!(
            &e,
            CeremonyError::EnrollPlan(PlanRefused::PlannedMissing { missing, so_far: SoFar::NoPinAsked })
                if *missing == [(planned[2].clone(), "Eve".to_owned())]
        ),
        "{e}"
    );
    assert_eq!(pin_checks(&cards), 0);
    // One reader: a stranger is turned away before its PIN, the planned cards are enrolled
    // with the plan's names.
    let readers = MemoryReaders::new(&["Pad"]);
    readers.then_present_in_turn("Pad", &[&cards[0], &stranger[0], &cards[1], &cards[2]]);
    readers.then_present_in_turn("Pad", &[&cards[0], &cards[1], &cards[2]]);
    let outcome = run(&readers, &planned_request(one_reader("Pad")))
        .0
        .unwrap();
    assert_written(&cards, &outcome);
    assert_eq!(stranger[0].borrow().pin_checks(), 0);
    let named: Vec<&str> = outcome.cards.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(named, ["Alice", "Bob", "Eve"]);
}

/// The commands a card received after its last PUT RECORD, by INS (GET RESPONSE apart).
fn after_the_write(card: &SharedCard) -> Vec<u8> {
    let sent: Vec<u8> = card.borrow().log().iter().map(|e| e.ins()).collect();
    let last_put = sent.iter().rposition(|&i| i == 0x14).expect("a PUT RECORD");
    sent[last_put + 1..]
        .iter()
        .copied()
        .filter(|&i| i != 0xC0)
        .collect()
}

#[test]
fn a_1_3_card_is_checked_without_reading_its_record_back_and_a_1_2_card_is_read() {
    let mut cards = fresh_cards(2);
    cards.push(shared(MemoryApplet::new().protocol_1_2().personalised(PIN)));
    let readers = MemoryReaders::with_cards(&cards);
    let pins = pin_file();
    let req = enroll_request(2, "x", every_reader(), &pins);
    let (result, said) = run(&readers, &req);
    let outcome = result.unwrap_or_else(|e| panic!("{e}\n{said}"));
    assert_written(&cards, &outcome);
    for card in &cards[..2] {
        // UNSEAL P1 = 01 (the sealed part and the share), then SELECT (the header and the
        // public part's digest): the record is not read back.
        assert_eq!(after_the_write(card), [0x18, 0xA4]);
    }
    // GET RECORD public and sealed, UNSEAL
    assert_eq!(after_the_write(&cards[2]), [0x16, 0x16, 0x18]);
}

#[test]
fn a_card_that_stores_another_public_part_is_caught_by_the_write_check() {
    for faulty in [
        MemoryApplet::new().flipping_the_public_part(),
        MemoryApplet::new()
            .protocol_1_2()
            .flipping_the_public_part(),
    ] {
        let mut cards = fresh_cards(1);
        cards.push(shared(faulty.personalised(PIN)));
        let readers = MemoryReaders::with_cards(&cards);
        let pins = pin_file();
        let req = enroll_request(2, "x", every_reader(), &pins);
        let e = run(&readers, &req).0.err().unwrap();
        let CeremonyError::EnrollWriteFailed(failure) = &e else {
            panic!("{e}");
        };
        assert!(
            matches!(
                failure.error,
                CeremonyError::WrittenWrong {
                    problem: WriteCheck::Differs,
                    ..
                }
            ),
            "{e}"
        );
        assert_eq!(failure.card.fingerprint, fingerprint(&cards[1]));
    }
}

#[test]
fn stats_count_every_command_a_card_received_in_both_its_sessions() {
    let cards = fresh_cards(2);
    let readers = MemoryReaders::new(&["Pad"]);
    let refs: Vec<&SharedCard> = cards.iter().collect();
    readers.then_present_in_turn("Pad", &refs);
    readers.then_present_in_turn("Pad", &refs);
    let pins = pin_file();
    let mut req = enroll_request(2, "vault", one_reader("Pad"), &pins);
    req.count = Some(2);
    req.stats = true;
    let (result, said) = run(&readers, &req);
    result.unwrap();
    for card in &cards {
        let fp = fingerprint(card);
        let stats = said
            .0
            .iter()
            .find_map(|e| match e {
                Event::Enroll(Told::Stats { card, stats }) if *card == fp => Some(*stats),
                _ => None,
            })
            .expect("a stats line per card");
        // Registered in one session (VERIFY), written in another (VERIFY again, PUT RECORD,
        // the check): every command after SELECT, whichever session sent it.
        let sent = card
            .borrow()
            .log()
            .iter()
            .filter(|e| !matches!(e.ins(), 0xA4 | 0xC0))
            .count();
        assert_eq!(stats.commands, sent as u64, "{fp}");
        assert_eq!(card.borrow().pin_checks(), 2);
    }
}
