//! The add-card ceremony against in-memory cards: a quorum opens, the new card is written
//! with the next version of the set, and the refusals leave every card as it was.

use quorum_card::memory::{MemoryReaders, SharedCard};
use quorum_protocol::bundle::Bundle;
use quorum_protocol::record::PublicRecord;

use super::*;
use crate::in_memory_kit::*;
use crate::progress::Event;
use crate::recover::{recover, Anchor, RecoverRequest};
use crate::share::{Note, Skip};

fn bundle_records(set: &EnrolledSet) -> Vec<PublicRecord> {
    Bundle::from_enrollment(&set.outcome.enrollment)
        .decoded_records()
        .unwrap()
}

fn run(
    readers: &MemoryReaders,
    set: &EnrolledSet,
    from: CardsFrom,
    new_card: Option<&str>,
) -> (Result<AddedCardReport, CeremonyError>, Said) {
    let records = bundle_records(set);
    let pins = pin_file();
    let req = AddCardRequest {
        interrupt: &crate::Never,
        base: &records[0],
        bundle_records: &records,
        new_card,
        name: Some("Dora"),
        from,
        pins: policy(&pins),
        trace: false,
    };
    let mut said = Said::default();
    let result = add_card(readers, &req, &mut said);
    (result, said)
}

fn recovers(cards: &[SharedCard]) -> bool {
    let readers = MemoryReaders::with_cards(cards);
    let pins = pin_file();
    let req = RecoverRequest {
        fits: None,
        interrupt: &crate::Never,
        anchor: Anchor::None,
        from: every_reader(),
        pins: policy(&pins),
        trace: false,
        stats: false,
    };
    recover(&readers, &req, &mut Said::default()).is_ok_and(|r| &r.master[..] == MASTER)
}

#[test]
fn a_quorum_issues_a_share_to_the_new_card_and_nothing_else_changes() {
    let set = EnrolledSet::new(2, 3, "vault");
    let new = fresh_cards(1).remove(0);
    let cards = vec![set.cards[0].clone(), set.cards[2].clone(), new.clone()];
    let readers = MemoryReaders::with_cards(&cards);
    let (result, said) = run(&readers, &set, every_reader(), None);
    let report = result.unwrap();
    assert_eq!(report.reader, "Reader 2");
    assert_eq!(report.card.record.set_version, 2);
    assert_eq!(report.card.record.custodians.len(), 4);
    assert_eq!(
        report
            .card
            .record
            .custodian(report.card.index())
            .unwrap()
            .name,
        "Dora"
    );
    assert_eq!(
        report.card.record.set_digest(),
        set.record().set_digest(),
        "the digest stays"
    );
    assert_eq!(new.borrow().record().unwrap().0, &report.card.public[..]);
    assert_eq!(writes(&set.cards), 0, "the old cards are not rewritten");
    assert_eq!(report.cards.len(), 3);
    let fp = fingerprint(&new);
    assert!(
        said.told(&Event::AddCard(Told::Written {
            fingerprint: fp.clone(),
            index: report.card.index()
        })),
        "{said}"
    );
    assert!(
        said.told(&Event::AddCard(Told::Starting {
            label: "vault".into(),
            threshold: 2,
            count: 3,
            version: 1
        })),
        "{said}"
    );
    assert!(
        said.told(&Event::AddCard(Told::NewCardWaits {
            fingerprint: fp.clone()
        })),
        "{said}"
    );
    assert!(
        said.told(&Event::AddCard(Told::Writing {
            index: report.card.index(),
            name: "Dora".into(),
            version: 2,
            fingerprint: fp
        })),
        "{said}"
    );
    assert!(matches!(
        report.cards.last().map(|c| &c.note),
        Some(Note::NewCardWritten { index }) if *index == report.card.index()
    ));
    // The new card counts: it and one old card recover the master.
    assert!(recovers(&[new, set.cards[1].clone()]));
}

#[test]
fn one_reader_takes_the_quorum_then_the_new_card() {
    let set = EnrolledSet::new(2, 2, "vault");
    let new = fresh_cards(1).remove(0);
    let readers = MemoryReaders::new(&["Pad"]);
    // The new card offered too early is sent back until the quorum is open.
    readers.then_present_in_turn("Pad", &[&new, &set.cards[0], &set.cards[1], &new]);
    let (result, said) = run(&readers, &set, one_reader("Pad"), None);
    let report = result.unwrap();
    assert!(
        said.0.iter().any(|e| matches!(
            e,
            Event::Share(crate::share::Told::Seen(SeenCard {
                used: false,
                note: Note::Skipped {
                    reason: Skip::NotUsable {
                        why: Unusable::NotInSetYet
                    }
                },
                ..
            }))
        )),
        "{said}"
    );
    assert_eq!(new.borrow().record().unwrap().0, &report.card.public[..]);
    assert_eq!(new.borrow().pin_checks(), 1);
}

#[test]
fn too_few_shares_leave_the_new_card_unwritten() {
    let set = EnrolledSet::new(2, 3, "vault");
    let new = fresh_cards(1).remove(0);
    let cards = vec![set.cards[0].clone(), new.clone()];
    let readers = MemoryReaders::with_cards(&cards);
    let e = run(&readers, &set, every_reader(), None).0.err().unwrap();
    assert!(
        matches!(
            e,
            CeremonyError::AddCardStopped(Stopped::QuorumShort {
                opened: 1,
                need: 2,
                ..
            })
        ),
        "{e}"
    );
    assert_eq!(new.borrow().count(0x14), 0);
    assert_eq!(writes(&cards), 0);
}

#[test]
fn two_new_cards_without_a_choice_and_no_new_card_are_refused() {
    let set = EnrolledSet::new(1, 1, "vault");
    let news = fresh_cards(2);
    let cards = vec![set.cards[0].clone(), news[0].clone(), news[1].clone()];
    let readers = MemoryReaders::with_cards(&cards);
    let e = run(&readers, &set, every_reader(), None).0.err().unwrap();
    assert!(
        matches!(e, CeremonyError::AddCardStopped(Stopped::TwoNewCards { ref first, ref second })
            if [first, second] == [&fingerprint(&news[0]), &fingerprint(&news[1])]),
        "{e}"
    );
    assert_eq!(writes(&cards), 0);
    // Naming one of them works, and the other is left alone.
    let chosen = fingerprint(&news[1]);
    let readers = MemoryReaders::with_cards(&cards);
    let (result, _) = run(&readers, &set, every_reader(), Some(&chosen));
    result.unwrap();
    assert_eq!(
        (news[0].borrow().writes(), news[1].borrow().count(0x14) > 0),
        (0, true)
    );
    // No new card at all.
    let readers = MemoryReaders::with_cards(&set.cards);
    let (result, said) = run(&readers, &set, every_reader(), None);
    let e = match result {
        Ok(r) => panic!("{said} {:?}", r.cards),
        Err(e) => e,
    };
    assert!(
        matches!(e, CeremonyError::AddCardStopped(Stopped::NoNewCard { ref cards }) if cards.len() == 1),
        "{e}"
    );
}

#[test]
fn a_new_card_pulled_after_its_record_is_unfinished_with_what_to_do() {
    let set = EnrolledSet::new(1, 1, "vault");
    let new = fresh_cards(1).remove(0);
    let cards = vec![set.cards[0].clone(), new.clone()];
    let readers = MemoryReaders::with_cards(&cards);
    // SELECT, GET STATUS, VERIFY; then the record's PUT RECORD (one extended APDU); the check is lost.
    let links = {
        let sample = EnrolledSet::new(1, 2, "vault");
        (4 + sample.outcome.enrollment.cards[0].public.len() + 81)
            .div_ceil(quorum_protocol::apdu::MAX_EXTENDED_DATA)
    };
    readers.pull_after(
        "Reader 1",
        3 + links,
        quorum_card::transport::TransportError::CardRemoved,
    );
    let e = run(&readers, &set, every_reader(), None).0.err().unwrap();
    assert!(
        matches!(e, CeremonyError::AddCardStopped(Stopped::Unchecked { ref cause, version: 2, ref reader, .. })
            if matches!(**cause, CeremonyError::WrittenUnchecked { .. }) && reader == "Reader 1"),
        "{e}"
    );
    assert_eq!(
        new.borrow().state(),
        quorum_protocol::apdu::LifeCycle::Enrolled
    );
}

#[test]
fn a_new_card_whose_key_the_set_already_lists_is_an_add_card_error_with_nothing_written() {
    // A card re-personalised with the key it had in the set (the emulator can be told the
    // scalar; a real card never generates the same key twice).
    let d = [0x01u8; 32];
    let card = quorum_card::memory::shared(
        quorum_card::memory::MemoryApplet::new()
            .queue_key(&d)
            .personalised(PIN),
    );
    let other = fresh_cards(1).remove(0);
    let readers = MemoryReaders::with_cards(&[card.clone(), other.clone()]);
    let pins = pin_file();
    let mut req = crate::in_memory_kit::enroll_request(1, "vault", every_reader(), &pins);
    req.count = Some(2);
    let outcome =
        crate::enroll::enroll(&readers, &req, &mut crate::NoJournal, &mut Said::default()).unwrap();
    drop(readers);
    let set = EnrolledSet {
        cards: vec![card.clone(), other.clone()],
        outcome,
    };
    *card.borrow_mut() = quorum_card::memory::MemoryApplet::new()
        .queue_key(&d)
        .personalised(PIN);
    let readers = MemoryReaders::with_cards(&[other.clone(), card.clone()]);
    let e = run(&readers, &set, every_reader(), None).0.err().unwrap();
    assert!(matches!(e, CeremonyError::AddCard(_)), "{e}");
    assert!(e.to_string().ends_with("nothing was written"), "{e}");
    assert_eq!(card.borrow().count(0x14), 0);
}

#[test]
fn a_custodian_card_pulled_while_opening_and_put_back_still_counts() {
    let set = EnrolledSet::new(2, 2, "vault");
    let new = fresh_cards(1).remove(0);
    let cards = vec![set.cards[0].clone(), set.cards[1].clone(), new.clone()];
    let readers = MemoryReaders::with_cards(&cards);
    // Reader 0: SELECT (identify; a 1.3 answer carries the status), SELECT (its header's
    // digest vouches for the bundle's record: no GET RECORD), VERIFY: the UNSEAL (P1 = 01)
    // is lost; the custodian puts it back.
    readers.pull_after(
        "Reader 0",
        3,
        quorum_card::transport::TransportError::CardRemoved,
    );
    readers.then_insert("Reader 0", &set.cards[0]);
    let (result, said) = run(&readers, &set, every_reader_put_back(), None);
    let report = result.unwrap();
    assert!(said.asked_back_into("Reader 0"), "{said}");
    assert_eq!(report.card.record.set_version, 2);
    assert!(recovers(&[set.cards[0].clone(), new]));
}
