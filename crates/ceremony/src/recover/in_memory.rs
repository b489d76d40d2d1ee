//! The recover ceremony against in-memory cards: every reader mode, PIN retries, too few
//! shares, several sets, forged and copied cards, and the anchors.

use quorum_card::memory::{MemoryReaders, SharedCard};
use quorum_protocol::bundle::Bundle;
use quorum_protocol::sharing::RecoverError;

use super::*;
use crate::in_memory_kit::*;
use crate::in_memory_kit::{recover_request as request, run_recover as run};
use crate::pins::tests::Typed;
use crate::presence::{Told as Present, Wanted};
use crate::progress::Event;
use crate::share::{Note, Skip};

/// The cards said to be used or skipped, in order.
fn seen(said: &Said) -> Vec<&SeenCard> {
    said.0
        .iter()
        .filter_map(|e| match e {
            Event::Share(crate::share::Told::Seen(card)) => Some(card),
            _ => None,
        })
        .collect()
}

fn bundle_anchor(set: &EnrolledSet) -> Anchor {
    let bundle = Bundle::from_enrollment(&set.outcome.enrollment);
    Anchor::Bundle {
        digest: bundle.set_digest().unwrap(),
        newest: bundle.newest_record().unwrap(),
        records: bundle.decoded_records().unwrap(),
    }
}

fn digest_prefix(set: &EnrolledSet) -> String {
    set.record().set_digest().to_hex()[..8].to_owned()
}

#[test]
fn every_reader_opens_just_the_threshold_and_gives_the_master_back() {
    let set = EnrolledSet::new(2, 3, "vault");
    let readers = MemoryReaders::with_cards(&set.cards);
    let pins = pin_file();
    let (result, said) = run(&readers, &request(Anchor::None, every_reader(), &pins));
    let recovered = result.unwrap();
    assert_eq!(&recovered.master[..], MASTER);
    assert_eq!(recovered.set.label, "vault");
    assert_eq!(recovered.set.digest, set.record().set_digest());
    assert_eq!(recovered.cards.len(), 2);
    assert!(recovered.cards.iter().all(|c| c.used));
    // The third card was read (its set counted) but never asked for its PIN.
    assert_eq!(set.cards[2].borrow().pin_checks(), 0);
    assert_eq!(pin_checks(&set.cards), 2);
    assert_eq!(writes(&set.cards), 0, "a recovery writes nothing");
    assert!(
        seen(&said).iter().any(|c| c.used
            && matches!(c.note, Note::ShareOpened { opened: 2, need: 2, from: Some(ref set) } if set.label == "vault")),
        "{said}"
    );
}

#[test]
fn one_reader_takes_custodians_in_turn() {
    let set = EnrolledSet::new(2, 3, "vault");
    let readers = MemoryReaders::new(&["Pad"]);
    readers.then_present_in_turn("Pad", &[&set.cards[2], &set.cards[0]]);
    let pins = pin_file();
    let (result, said) = run(&readers, &request(Anchor::None, one_reader("Pad"), &pins));
    assert_eq!(&result.unwrap().master[..], MASTER);
    assert_eq!(set.cards[1].borrow().log().len(), 0, "never inserted");
    assert!(
        said.told(&Event::Presence(Present::Insert {
            wanted: Wanted::OfSet {
                set: None,
                any_of: Vec::new()
            },
            reader: Some("Pad".into())
        })),
        "{said}"
    );
    assert!(
        said.told(&Event::Presence(Present::Insert {
            wanted: Wanted::OfSet {
                set: Some(("vault".into(), 1, 2)),
                any_of: Vec::new()
            },
            reader: Some("Pad".into())
        })),
        "{said}"
    );
    assert_eq!(
        readers.waits(),
        ["card in Pad", "removal from Pad", "card in Pad"]
    );
}

#[test]
fn any_reader_takes_the_card_present_then_the_one_inserted() {
    let set = EnrolledSet::new(2, 3, "vault");
    let readers = MemoryReaders::new(&["R0", "R1"]);
    readers.insert("R1", &set.cards[1]);
    readers.then_insert("R0", &set.cards[0]);
    let pins = pin_file();
    let (result, said) = run(&readers, &request(Anchor::None, any_reader(), &pins));
    let recovered = result.unwrap();
    assert_eq!(&recovered.master[..], MASTER);
    let order: Vec<&str> = recovered.cards.iter().map(|c| c.reader.as_str()).collect();
    assert_eq!(order, ["R1", "R0"]);
    assert!(
        said.presence()
            .iter()
            .any(|t| matches!(t, Present::Insert { reader: None, .. })),
        "{said}"
    );
}

#[test]
fn a_wrong_pin_typed_is_asked_again_in_place() {
    let set = EnrolledSet::new(2, 2, "vault");
    let readers = MemoryReaders::with_cards(&set.cards);
    let typed = Typed(std::cell::RefCell::new(
        ["111111", "222222", PIN, PIN].into(),
    ));
    let (result, said) = run(&readers, &request(Anchor::None, every_reader(), &typed));
    assert_eq!(&result.unwrap().master[..], MASTER);
    assert!(said.asked_again(4), "{said}");
    assert!(said.asked_again(3), "{said}");
    assert_eq!(
        set.cards[0].borrow().tries_left(),
        5,
        "the right PIN restored the tries"
    );
    assert_eq!(set.cards[0].borrow().pin_checks(), 3);
}

#[test]
fn too_few_cards_present_stop_before_any_pin() {
    let set = EnrolledSet::new(2, 3, "vault");
    let readers = MemoryReaders::with_cards(&set.cards[..1]);
    let pins = pin_file();
    let e = run(&readers, &request(Anchor::None, every_reader(), &pins))
        .0
        .err()
        .unwrap();
    assert!(
        matches!(e, CeremonyError::RecoverStopped(Stopped::TooFewPresent { present: 1, need: 2, set: ref named, in_bundle: 0 })
        if named.label == "vault" && named.digest == set.record().set_digest()),
        "{e}"
    );
    assert_eq!(pin_checks(&set.cards), 0);
}

#[test]
fn a_card_whose_pin_fails_leaves_too_few_shares_and_every_card_is_listed() {
    let set = EnrolledSet::new(2, 2, "vault");
    let readers = MemoryReaders::with_cards(&set.cards);
    let wrong = crate::pins::PinTable::parse(
        format!("{} 999999\n{PIN}\n", fingerprint(&set.cards[1])).as_bytes(),
        crate::pins::tests::test_file(),
    )
    .unwrap();
    let e = run(&readers, &request(Anchor::None, every_reader(), &wrong))
        .0
        .err()
        .unwrap();
    let CeremonyError::RecoverStopped(Stopped::TooFewOpened {
        opened: 1,
        need: 2,
        cards,
        ..
    }) = &e
    else {
        panic!("{e}")
    };
    assert_eq!(cards.len(), 2, "every card is listed: {e}");
    let wrong_card = cards
        .iter()
        .find(|c| c.who.fingerprint.as_deref() == Some(&*fingerprint(&set.cards[1])))
        .expect("the card with the wrong PIN is listed");
    assert!(
        !wrong_card.used
            && wrong_card
                .note
                .to_string()
                .contains("wrong PIN; 4 tries left"),
        "{e}"
    );
    assert_eq!(
        set.cards[1].borrow().tries_left(),
        4,
        "a file's wrong PIN is not sent twice"
    );
}

#[test]
fn one_reader_times_out_when_no_more_cards_come() {
    let set = EnrolledSet::new(2, 3, "vault");
    let readers = MemoryReaders::new(&["Pad"]);
    readers.then_present_in_turn("Pad", &[&set.cards[0]]);
    let pins = pin_file();
    let e = run(&readers, &request(Anchor::None, one_reader("Pad"), &pins))
        .0
        .err()
        .unwrap();
    assert!(
        matches!(e, CeremonyError::WaitTimedOut { what: crate::presence::Awaited::Insertion, reader: Some(ref reader), .. } if reader == "Pad"),
        "{e}"
    );
}

#[test]
fn cards_of_several_sets_without_an_anchor_stop_before_any_pin() {
    let a = EnrolledSet::new(2, 2, "vault");
    let b = EnrolledSet::new(1, 1, "vault");
    let mut cards = a.cards.clone();
    cards.extend(b.cards.iter().cloned());
    let readers = MemoryReaders::with_cards(&cards);
    let pins = pin_file();
    let e = run(&readers, &request(Anchor::None, every_reader(), &pins))
        .0
        .err()
        .unwrap();
    let CeremonyError::RecoverStopped(Stopped::SeveralSets {
        named: None,
        opened: false,
        sets,
    }) = &e
    else {
        panic!("{e}")
    };
    let digests: Vec<SetDigest> = sets.iter().map(|s| s.digest).collect();
    assert_eq!(
        digests,
        [a.record().set_digest(), b.record().set_digest()],
        "{e}"
    );
    assert_eq!(pin_checks(&cards), 0);
    // --set naming the shared label does not choose between them either.
    let e = run(
        &readers,
        &request(Anchor::Named("vault".into()), every_reader(), &pins),
    )
    .0
    .err()
    .unwrap();
    assert!(
        matches!(e, CeremonyError::RecoverStopped(Stopped::SeveralSets { named: Some(ref name), ref sets, .. })
        if name == "vault" && sets.len() == 2),
        "{e}"
    );
    assert_eq!(pin_checks(&cards), 0);
}

#[test]
fn one_reader_stops_at_the_second_set_and_discards_what_was_opened() {
    let a = EnrolledSet::new(2, 2, "vault");
    let b = EnrolledSet::new(2, 2, "other");
    let readers = MemoryReaders::new(&["Pad"]);
    readers.then_present_in_turn("Pad", &[&a.cards[0], &b.cards[0]]);
    let pins = pin_file();
    let e = run(&readers, &request(Anchor::None, one_reader("Pad"), &pins))
        .0
        .err()
        .unwrap();
    assert!(
        matches!(
            e,
            CeremonyError::RecoverStopped(Stopped::SeveralSets { opened: true, .. })
        ),
        "{e}"
    );
    assert_eq!(b.cards[0].borrow().pin_checks(), 0);
}

#[test]
fn a_card_of_a_forged_set_is_named_and_skipped_under_a_digest_anchor() {
    let real = EnrolledSet::new(2, 3, "vault");
    // A forger's 1-of-1 set with the real label.
    let forged = EnrolledSet::new(1, 1, "vault");
    let cards = vec![
        forged.cards[0].clone(),
        real.cards[0].clone(),
        real.cards[1].clone(),
    ];
    let readers = MemoryReaders::with_cards(&cards);
    let pins = pin_file();
    let anchor = Anchor::Digest(digest_prefix(&real));
    let (result, said) = run(&readers, &request(anchor, every_reader(), &pins));
    let recovered = result.unwrap();
    assert_eq!(&recovered.master[..], MASTER);
    let skipped: Vec<&SeenCard> = recovered.cards.iter().filter(|c| !c.used).collect();
    assert_eq!(skipped.len(), 1);
    assert_eq!(
        skipped[0].who.fingerprint,
        Some(fingerprint(&forged.cards[0]))
    );
    assert!(
        matches!(
            &skipped[0].note,
            Note::Skipped { reason: Skip::NotAnchored { why: AnchorMiss::OtherDigest { prefix, .. }, .. } }
            if *prefix == digest_prefix(&real)
        ),
        "{:?}",
        skipped[0].note
    );
    assert!(
        seen(&said)
            .iter()
            .any(|c| !c.used && c.who.fingerprint == Some(fingerprint(&forged.cards[0]))),
        "{said}"
    );
    assert_eq!(
        forged.cards[0].borrow().pin_checks(),
        0,
        "no PIN for the forged card"
    );
}

#[test]
fn a_bundle_anchor_skips_other_sets_and_authenticates_its_records() {
    let real = EnrolledSet::new(2, 2, "vault");
    let other = EnrolledSet::new(1, 1, "vault");
    let mut cards = other.cards.clone();
    cards.extend(real.cards.iter().cloned());
    let readers = MemoryReaders::with_cards(&cards);
    let pins = pin_file();
    let (result, _) = run(
        &readers,
        &request(bundle_anchor(&real), every_reader(), &pins),
    );
    let recovered = result.unwrap();
    assert_eq!(&recovered.master[..], MASTER);
    assert!(recovered.cards.iter().any(|c| !c.used
        && matches!(
            c.note,
            Note::Skipped {
                reason: Skip::NotAnchored {
                    why: AnchorMiss::NotTheBundles { .. },
                    ..
                }
            }
        )));
    assert_eq!(other.cards[0].borrow().pin_checks(), 0);
    // A bundle whose description was edited fails once the DEK is known: nothing released.
    let Anchor::Bundle {
        digest,
        newest,
        mut records,
    } = bundle_anchor(&real)
    else {
        unreachable!()
    };
    records[0].mac[0] ^= 1;
    let readers = MemoryReaders::with_cards(&real.cards);
    let anchor = Anchor::Bundle {
        digest,
        newest,
        records,
    };
    let e = run(&readers, &request(anchor, every_reader(), &pins))
        .0
        .err()
        .unwrap();
    assert!(
        matches!(
            e,
            CeremonyError::Recover(RecoverError::Forged { card: None, .. })
        ),
        "{e}"
    );
    assert!(e.to_string().ends_with("nothing was written"), "{e}");
}

#[test]
fn a_named_set_is_chosen_by_label_or_id_prefix() {
    let a = EnrolledSet::new(1, 1, "alpha");
    let b = EnrolledSet::new(1, 1, "beta");
    let cards = vec![a.cards[0].clone(), b.cards[0].clone()];
    let readers = MemoryReaders::with_cards(&cards);
    let pins = pin_file();
    let (result, _) = run(
        &readers,
        &request(Anchor::Named("beta".into()), every_reader(), &pins),
    );
    assert_eq!(result.unwrap().set.label, "beta");
    let id = hex::encode(a.record().set_id)[..6].to_owned();
    let (result, _) = run(&readers, &request(Anchor::Named(id), every_reader(), &pins));
    assert_eq!(result.unwrap().set.label, "alpha");
}

#[test]
fn a_card_carrying_a_copied_record_is_named_and_gets_no_pin() {
    let set = EnrolledSet::new(2, 3, "vault");
    let copier: SharedCard = fresh_cards(1).remove(0);
    let (public, sealed) = {
        let card = set.cards[2].borrow();
        let (p, s) = card.record().unwrap();
        (p.to_vec(), s.to_vec())
    };
    write_record(&copier, &public, &sealed);
    let cards = vec![copier.clone(), set.cards[0].clone(), set.cards[1].clone()];
    let readers = MemoryReaders::with_cards(&cards);
    let pins = pin_file();
    let (result, _) = run(&readers, &request(Anchor::None, every_reader(), &pins));
    let recovered = result.unwrap();
    let copied = recovered
        .cards
        .iter()
        .find(|c| !c.used)
        .expect("the copier is listed");
    assert!(
        copied
            .note
            .to_string()
            .contains("the record was copied onto another card; no PIN was sent"),
        "{}",
        copied.note
    );
    assert!(
        copied.who.text.contains("carrying custodian 3's record"),
        "{}",
        copied.who.text
    );
    assert_eq!(copier.borrow().pin_checks(), 0);
}

#[test]
fn a_blocked_card_is_skipped_and_the_others_suffice() {
    let set = EnrolledSet::new(2, 3, "vault");
    {
        let mut card = set.cards[0].borrow_mut();
        let mut session = quorum_card::card::Card::with_trace(&mut *card, false);
        session.select().unwrap();
        for _ in 0..5 {
            let _ = session.verify(&quorum_protocol::pin::PinBlock::new("000000").unwrap());
        }
    }
    clear_logs(&set.cards);
    let readers = MemoryReaders::with_cards(&set.cards);
    let pins = pin_file();
    let (result, _) = run(&readers, &request(Anchor::None, every_reader(), &pins));
    let recovered = result.unwrap();
    assert!(
        recovered.cards[0]
            .note
            .to_string()
            .contains("PIN is blocked"),
        "{}",
        recovered.cards[0].note
    );
    assert_eq!(recovered.cards.iter().filter(|c| c.used).count(), 2);
    assert_eq!(
        set.cards[0].borrow().pin_checks(),
        0,
        "GET STATUS said the PIN is blocked: no VERIFY is sent"
    );
}

#[test]
fn a_card_pulled_during_its_unseal_is_skipped_as_pulled_out() {
    let set = EnrolledSet::new(2, 3, "vault");
    let readers = MemoryReaders::with_cards(&set.cards);
    // SELECT (with its status), GET RECORD and its GET RESPONSE, then VERIFY: UNSEAL
    // (P1 = 01) is lost.
    readers.pull_after(
        "Reader 0",
        4,
        quorum_card::transport::TransportError::CardRemoved,
    );
    let pins = pin_file();
    let (result, _) = run(&readers, &request(Anchor::None, every_reader(), &pins));
    let recovered = result.unwrap();
    assert!(
        recovered.cards[0]
            .note
            .to_string()
            .starts_with("was pulled out of the reader"),
        "{}",
        recovered.cards[0].note
    );
    assert_eq!(recovered.cards.iter().filter(|c| c.used).count(), 2);
}

#[test]
fn a_card_pulled_during_its_unseal_and_put_back_is_used_after_all() {
    let set = EnrolledSet::new(2, 2, "vault");
    let readers = MemoryReaders::with_cards(&set.cards);
    // SELECT (with its status), GET RECORD and its GET RESPONSE, then VERIFY: UNSEAL
    // (P1 = 01) is lost; the custodian puts the card back into the reader it was in.
    readers.pull_after(
        "Reader 0",
        4,
        quorum_card::transport::TransportError::CardRemoved,
    );
    readers.then_insert("Reader 0", &set.cards[0]);
    let pins = pin_file();
    let (result, said) = run(
        &readers,
        &request(Anchor::None, every_reader_put_back(), &pins),
    );
    let recovered = result.unwrap();
    assert!(said.asked_back_into("Reader 0"), "{said}");
    assert_eq!(recovered.cards.iter().filter(|c| c.used).count(), 2);
    assert_eq!(&recovered.master[..], MASTER);
    // Its PIN was checked again on the new session.
    let sent = commands(&set.cards[0]);
    assert_eq!(set.cards[0].borrow().pin_checks(), 2, "{sent:02X?}");
}

#[test]
fn a_reader_that_keeps_failing_while_its_card_stays_stops_the_ceremony() {
    let set = EnrolledSet::new(2, 2, "vault");
    let readers = MemoryReaders::with_cards(&set.cards);
    // Every VERIFY to the card in Reader 0 fails as an exchange; the card never leaves.
    readers.fail_every(
        "Reader 0",
        0x20,
        quorum_card::transport::TransportError::ExchangeFailed,
    );
    let pins = pin_file();
    let (result, _) = run(
        &readers,
        &request(Anchor::None, every_reader_put_back(), &pins),
    );
    let e = result.err().expect("the ceremony stops");
    assert!(
        matches!(e, CeremonyError::ReaderKeepsFailing { ref reader, times: 3 } if reader == "Reader 0"),
        "{e:?}"
    );
}

#[test]
fn a_secret_its_destination_cannot_take_is_refused_before_any_pin() {
    let set = EnrolledSet::new(2, 3, "vault");
    let readers = MemoryReaders::with_cards(&set.cards);
    let pins = pin_file();
    let bytes = set.record().wrapped.master_len();
    let only_other = move |len: usize| len != bytes;
    let req = RecoverRequest {
        fits: Some(&only_other),
        ..request(Anchor::None, every_reader(), &pins)
    };
    let e = run(&readers, &req).0.err().unwrap();
    assert!(
        matches!(e, CeremonyError::RecoverStopped(Stopped::Unfit { bytes: b, set: ref named })
        if b == bytes && named.label == "vault" && named.digest == set.record().set_digest()),
        "{e}"
    );
    assert_eq!(pin_checks(&set.cards), 0);

    // A destination that takes it changes nothing.
    let takes = |_: usize| true;
    let req = RecoverRequest {
        fits: Some(&takes),
        ..request(Anchor::None, every_reader(), &pins)
    };
    assert!(run(&readers, &req).0.is_ok());
}

/// An operator who presses Ctrl-C after the ceremony has looked `n` times.
struct StopsAfter(std::sync::atomic::AtomicUsize);

impl crate::Interrupt for StopsAfter {
    fn requested(&self) -> bool {
        use std::sync::atomic::Ordering;
        self.0
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_err()
    }
}

#[test]
fn without_a_time_limit_one_reader_waits_until_stopped_never_times_out() {
    let readers = MemoryReaders::new(&["Pad"]);
    let pins = pin_file();
    let stop = StopsAfter(std::sync::atomic::AtomicUsize::new(500));
    let req = RecoverRequest {
        interrupt: &stop,
        ..request(
            Anchor::None,
            CardsFrom::OneReader {
                reader: "Pad".into(),
                timeout: None,
            },
            &pins,
        )
    };
    let (result, said) = run(&readers, &req);
    let e = result.err().unwrap();
    assert!(matches!(e, CeremonyError::Interrupted), "{e}");
    assert!(
        said.presence()
            .iter()
            .any(|t| matches!(t, Present::Insert { .. })),
        "{said}"
    );
    // It asked the reader again and again: no limit ended the wait.
    assert!(readers.waits().len() > 100, "{}", readers.waits().len());
}

/// The commands each card received, by INS, in order (SELECT, VERIFY, UNSEAL, ...).
fn commands(card: &SharedCard) -> Vec<u8> {
    card.borrow().log().iter().map(|e| e.ins()).collect()
}

/// The commands a card received after its last SELECT, GET RESPONSE apart.
fn after_last_select(card: &SharedCard) -> Vec<u8> {
    let sent = commands(card);
    let last_select = sent.iter().rposition(|&i| i == 0xA4).unwrap();
    sent[last_select + 1..]
        .iter()
        .copied()
        .filter(|&i| i != 0xC0)
        .collect()
}

/// Recovers `set` from `cards` with its bundle as the anchor, every reader.
fn recover_with_bundle(set: &EnrolledSet, cards: &[SharedCard]) {
    let readers = MemoryReaders::with_cards(cards);
    let pins = pin_file();
    let (result, said) = run(
        &readers,
        &request(bundle_anchor(set), every_reader(), &pins),
    );
    assert_eq!(&result.unwrap().master[..], MASTER, "{said}");
}

/// The P1 of the UNSEAL a card received.
fn unseal_p1(card: &SharedCard) -> Option<u8> {
    card.borrow()
        .log()
        .iter()
        .find(|e| e.ins() == 0x18)
        .map(|e| e.command[2])
}

#[test]
fn a_1_3_card_that_vouches_for_the_bundles_record_opens_with_verify_and_one_unseal() {
    let set = EnrolledSet::new(2, 3, "vault");
    recover_with_bundle(&set, &set.cards[..2]);
    for card in &set.cards[..2] {
        // After its SELECT (which brought its status, its record header and the digest of
        // its public part, equal to the bundle's record's): VERIFY, UNSEAL P1 = 01. No GET
        // STATUS, no GET RECORD.
        let after = after_last_select(card);
        assert_eq!(after, [0x20, 0x18], "{:02X?}", commands(card));
        assert_eq!(unseal_p1(card), Some(0x01), "UNSEAL P1 = 01");
    }
}

#[test]
fn without_a_bundle_only_the_first_card_of_a_version_is_read() {
    let set = EnrolledSet::new(3, 4, "vault");
    let readers = MemoryReaders::with_cards(&set.cards[..3]);
    let pins = pin_file();
    let (result, said) = run(&readers, &request(Anchor::None, every_reader(), &pins));
    assert_eq!(&result.unwrap().master[..], MASTER, "{said}");
    let read: Vec<bool> = set.cards[..3]
        .iter()
        .map(|c| commands(c).contains(&0x16))
        .collect();
    assert_eq!(read, [true, false, false], "GET RECORD sent");
    for card in &set.cards[1..3] {
        assert_eq!(after_last_select(card), [0x20, 0x18]);
    }
}

#[test]
fn a_card_whose_digest_is_not_the_held_records_is_read_and_judged_on_its_own_record() {
    // Card 2's record says the same set id and version as card 1's, but its description
    // was edited (a forger with the card and its PIN): its digest is not that of card 1's
    // record with its index, so it is read, and refused before any PIN.
    let set = EnrolledSet::new(2, 3, "vault");
    let written = &set.outcome.enrollment.cards[1];
    let mut edited = written.record.clone();
    edited.label = "vaulT".into();
    write_record(&set.cards[1], &edited.encode().unwrap(), &written.sealed);
    let readers = MemoryReaders::with_cards(&set.cards[..2]);
    let pins = pin_file();
    let (result, said) = run(&readers, &request(Anchor::None, every_reader(), &pins));
    assert!(result.is_err(), "{said}");
    assert!(
        commands(&set.cards[1]).contains(&0x16),
        "its own record read"
    );
    for card in &set.cards[..2] {
        assert!(!commands(card).contains(&0x20), "no PIN sent: {said}");
    }
}

#[test]
fn a_1_2_card_in_a_1_3_set_is_read_with_get_record() {
    let old = quorum_card::memory::shared(
        quorum_card::memory::MemoryApplet::new()
            .protocol_1_2()
            .personalised(PIN),
    );
    let mut cards = fresh_cards(2);
    cards.insert(0, old.clone());
    let set = EnrolledSet::on(2, "vault", &cards);
    recover_with_bundle(&set, &set.cards[..2]);
    // A 1.2 card tells no digest: its own public part is read, then VERIFY, UNSEAL P1 = 01.
    assert_eq!(after_last_select(&old), [0x16, 0x20, 0x18]);
    assert_eq!(after_last_select(&set.cards[1]), [0x20, 0x18]);
}

#[test]
fn a_1_1_card_still_opens_with_get_record_and_unseal() {
    let old = quorum_card::memory::shared(
        quorum_card::memory::MemoryApplet::new()
            .protocol_1_1()
            .personalised(PIN),
    );
    let set = EnrolledSet::on(2, "vault", &[old.clone(), fresh_cards(1).remove(0)]);
    recover_with_bundle(&set, &set.cards);
    let sent = commands(&old);
    assert!(sent.contains(&0x10), "GET STATUS: {sent:02X?}");
    assert_eq!(unseal_p1(&old), Some(0x00), "UNSEAL P1 = 00 for a 1.1 card");
}
