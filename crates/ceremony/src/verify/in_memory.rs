//! The verify ceremony against in-memory cards: a healthy card, a wrong PIN (which
//! quorumctl turns into `PinsFailed`), the key challenge that never reads the share, and a
//! card whose record disagrees with the bundle.

use quorum_card::memory::MemoryReaders;
use quorum_protocol::bundle::Bundle;

use super::*;
use crate::in_memory_kit::*;
use crate::pins::{PinProvider, PinTable};
use crate::progress::Event;

/// Why a check failed, as the library says it ("" for a check that passed).
fn failure(check: &CardCheck) -> String {
    match &check.note {
        CheckNote::Failed { reason } => reason.to_string(),
        CheckNote::Passed { .. } => String::new(),
    }
}

fn request<'a>(
    from: CardsFrom,
    pins: &'a dyn PinProvider,
    bundle: Option<&'a Bundle>,
) -> VerifyRequest<'a> {
    VerifyRequest {
        interrupt: &crate::Never,
        bundle,
        from,
        count: 1,
        pins: policy(pins),
        trace: false,
        no_open: false,
    }
}

#[test]
fn every_card_present_passes_and_opens_its_share() {
    let set = EnrolledSet::new(2, 2, "vault");
    let readers = MemoryReaders::with_cards(&set.cards);
    let pins = pin_file();
    let bundle = Bundle::from_enrollment(&set.outcome.enrollment);
    let mut said = Said::default();
    let checks = verify(
        &readers,
        &request(every_reader(), &pins, Some(&bundle)),
        &mut said,
    )
    .unwrap();
    assert_eq!(checks.len(), 2);
    for check in &checks {
        assert!(check.ok && !check.pin_failed, "{}", check.note);
        assert!(
            matches!(
                check.note,
                CheckNote::Passed {
                    no_open: false,
                    with_bundle: true,
                    ref set
                } if set.label == "vault"
            ),
            "{}",
            check.note
        );
        assert_eq!(check.set.as_ref().unwrap().label, "vault");
    }
    for card in &set.cards {
        assert_eq!((card.borrow().count(0x18), card.borrow().writes()), (1, 0));
    }
    let healthy = said
        .0
        .iter()
        .filter(|e| matches!(e, Event::Verify(Told::Checked(c)) if c.ok))
        .count();
    assert_eq!(healthy, 2, "{said}");
    assert!(said.told(&Event::Verify(Told::Checked(checks[1].clone()))));
}

#[test]
fn a_wrong_pin_fails_the_card_as_a_pin_failure() {
    let set = EnrolledSet::new(1, 1, "vault");
    let readers = MemoryReaders::new(&["Pad"]);
    readers.then_present_in_turn("Pad", &set.cards.iter().collect::<Vec<_>>());
    let wrong = PinTable::parse(b"999999", crate::pins::tests::test_file()).unwrap();
    let mut said = Said::default();
    let checks = verify(
        &readers,
        &request(one_reader("Pad"), &wrong, None),
        &mut said,
    )
    .unwrap();
    assert_eq!(checks.len(), 1);
    // the last card is not said to be "needed" or fine: its check failed
    assert!(
        said.told(&Event::Presence(crate::presence::Told::LastCard {
            reader: "Pad".into(),
            why: Done::CheckFailed
        })),
        "{said}"
    );
    assert!(!checks[0].ok && checks[0].pin_failed, "{}", checks[0].note);
    assert!(
        failure(&checks[0]).contains("wrong PIN; 4 tries left"),
        "{}",
        checks[0].note
    );
    assert_eq!(
        set.cards[0].borrow().count(0x18),
        0,
        "no UNSEAL after a failed PIN"
    );
}

#[test]
fn no_open_proves_the_key_without_reading_the_sealed_part() {
    let set = EnrolledSet::new(1, 1, "vault");
    let readers = MemoryReaders::with_cards(&set.cards);
    let pins = pin_file();
    let mut req = request(every_reader(), &pins, None);
    req.no_open = true;
    let checks = verify(&readers, &req, &mut Said::default()).unwrap();
    assert!(checks[0].ok, "{}", checks[0].note);
    assert!(matches!(
        checks[0].note,
        CheckNote::Passed {
            no_open: true,
            with_bundle: false,
            ..
        }
    ));
    let card = set.cards[0].borrow();
    let sealed_reads = card
        .log()
        .iter()
        .filter(|e| e.ins() == 0x16 && e.p1() == 0x01)
        .count();
    assert_eq!(sealed_reads, 0, "GET RECORD (sealed) is never sent");
    assert_eq!(card.count(0x18), 1);
}

#[test]
fn a_card_that_disagrees_with_the_bundle_fails_before_its_pin() {
    let set = EnrolledSet::new(1, 1, "vault");
    let other = EnrolledSet::new(1, 1, "vault");
    let readers = MemoryReaders::with_cards(&other.cards);
    let pins = pin_file();
    let bundle = Bundle::from_enrollment(&set.outcome.enrollment);
    let checks = verify(
        &readers,
        &request(every_reader(), &pins, Some(&bundle)),
        &mut Said::default(),
    )
    .unwrap();
    assert!(!checks[0].ok && !checks[0].pin_failed);
    assert_eq!(other.cards[0].borrow().pin_checks(), 0);
}

#[test]
fn a_personalised_card_holds_no_share_and_fails_as_a_card() {
    let cards = fresh_cards(1);
    let readers = MemoryReaders::with_cards(&cards);
    let pins = pin_file();
    let checks = verify(
        &readers,
        &request(every_reader(), &pins, None),
        &mut Said::default(),
    )
    .unwrap();
    assert!(!checks[0].ok && !checks[0].pin_failed);
    assert!(
        failure(&checks[0]).contains("holds no share (state: PERSONALISED)"),
        "{}",
        checks[0].note
    );
}

#[test]
fn no_card_in_any_reader_is_no_cards() {
    let readers = MemoryReaders::new(&["A", "B"]);
    let pins = pin_file();
    let e = verify(
        &readers,
        &request(every_reader(), &pins, None),
        &mut Said::default(),
    )
    .err()
    .unwrap();
    assert!(matches!(e, CeremonyError::NoCards), "{e}");
    let e = verify(
        &readers,
        &request(one_reader("C"), &pins, None),
        &mut Said::default(),
    )
    .err()
    .unwrap();
    assert!(
        matches!(e, CeremonyError::NoSuchReader(ref r) if r == "C"),
        "{e}"
    );
    let none = MemoryReaders::new(&[]);
    let e = verify(
        &none,
        &request(any_reader(), &pins, None),
        &mut Said::default(),
    )
    .err()
    .unwrap();
    assert!(
        matches!(
            e,
            CeremonyError::Transport(quorum_card::transport::TransportError::NoReaders)
        ),
        "{e}"
    );
}

#[test]
fn a_blocked_card_fails_as_a_pin_failure_without_a_verify() {
    let set = EnrolledSet::new(1, 1, "vault");
    {
        let mut card = set.cards[0].borrow_mut();
        let mut session = quorum_card::card::Card::with_trace(&mut *card, false);
        session.select().unwrap();
        let wrong = quorum_protocol::pin::PinBlock::new("000000").unwrap();
        for _ in 0..5 {
            let _ = session.verify(&wrong);
        }
    }
    assert!(set.cards[0].borrow().blocked());
    clear_logs(&set.cards);
    let readers = MemoryReaders::with_cards(&set.cards);
    let pins = pin_file();
    let checks = verify(
        &readers,
        &request(every_reader(), &pins, None),
        &mut Said::default(),
    )
    .unwrap();
    assert!(!checks[0].ok && checks[0].pin_failed, "{}", checks[0].note);
    assert!(
        failure(&checks[0]).contains("PIN is blocked"),
        "{}",
        checks[0].note
    );
    assert_eq!(set.cards[0].borrow().pin_checks(), 0);
}

#[test]
fn a_card_pulled_during_its_check_and_put_back_is_checked_again() {
    let set = EnrolledSet::new(1, 1, "vault");
    let readers = MemoryReaders::with_cards(&set.cards);
    // SELECT (with its status), GET RECORD, VERIFY: the UNSEAL (P1 = 01) is lost.
    readers.pull_after(
        "Reader 0",
        3,
        quorum_card::transport::TransportError::CardRemoved,
    );
    readers.then_insert("Reader 0", &set.cards[0]);
    let pins = pin_file();
    let mut said = Said::default();
    let checks = verify(
        &readers,
        &request(every_reader_put_back(), &pins, None),
        &mut said,
    )
    .unwrap();
    assert!(checks[0].ok, "{}", checks[0].note);
    assert!(said.asked_back_into("Reader 0"), "{said}");
}
