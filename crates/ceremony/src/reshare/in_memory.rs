//! The reshare ceremony against in-memory cards: a new set on fresh and re-used cards
//! (whose keys are renewed), old cards wiped, and the plans refused before anything is written.

use quorum_card::memory::{shared, MemoryApplet, MemoryReaders, SharedCard};
use quorum_protocol::bundle::Bundle;
use quorum_protocol::record::PublicRecord;

use super::*;
use crate::in_memory_kit::*;
use crate::presence::Told as Present;

struct Plan<'a> {
    threshold: u8,
    reuse: &'a [String],
    keep_old: bool,
}

/// Every reader; the new set's count is taken from the cards present.
fn every(plan: Plan<'_>) -> (Plan<'_>, CardsFrom, Option<u8>) {
    (plan, every_reader(), None)
}

fn run(
    readers: &MemoryReaders,
    old: &EnrolledSet,
    (plan, from, count): (Plan<'_>, CardsFrom, Option<u8>),
) -> (Result<Reshared, CeremonyError>, Said, usize) {
    let records: Vec<PublicRecord> = Bundle::from_enrollment(&old.outcome.enrollment)
        .decoded_records()
        .unwrap();
    let pins = pin_file();
    let req = ReshareRequest {
        replace_unfinished: None,
        interrupt: &crate::Never,
        old_set: None,
        published: Some(&records[0]),
        bundle_records: &records,
        threshold: plan.threshold,
        count,
        label: "vault 2",
        names: &[],
        reuse: plan.reuse,
        keep_old: plan.keep_old,
        from,
        pins: policy(&pins),
        trace: false,
    };
    let mut published = 0;
    let mut publish = |_: &Enrollment| {
        published += 1;
        Ok(())
    };
    let mut said = Said::default();
    let result = reshare(
        readers,
        &req,
        &mut publish,
        &mut crate::NoJournal,
        &mut said,
    );
    (result, said, published)
}

fn put_records(cards: &[SharedCard]) -> usize {
    cards.iter().map(|c| c.borrow().count(0x14)).sum()
}

#[test]
fn a_new_set_on_a_fresh_and_a_reused_card_renews_the_reused_key_and_wipes_the_rest() {
    let old = EnrolledSet::new(2, 3, "vault");
    let fresh = fresh_cards(1).remove(0);
    let reused = old.cards[0].clone();
    let old_key = reused.borrow().public_key();
    let mut cards = old.cards.clone();
    cards.push(fresh.clone());
    let readers = MemoryReaders::with_cards(&cards);
    let reuse = vec![fingerprint(&reused)];
    let old_fingerprint = fingerprint(&reused);
    let (result, said, published) = run(
        &readers,
        &old,
        every(Plan {
            threshold: 2,
            reuse: &reuse,
            keep_old: false,
        }),
    );
    let done = result.unwrap();
    assert_eq!(published, 1, "the new bundle is published before any wipe");
    assert_eq!(done.cards.len(), 2);
    assert_eq!(done.wiped.len(), 2);
    assert!(done.standing.new_complete());
    // The re-used card has a new key, the one the new set lists for it.
    let new_key = reused.borrow().public_key();
    assert_ne!(new_key, old_key);
    assert_eq!(reused.borrow().pending_key(), None);
    let listed: Vec<String> = done.cards.iter().map(|c| c.fingerprint.clone()).collect();
    assert!(listed.contains(&fingerprint(&reused)), "{listed:?}");
    assert!(listed.contains(&fingerprint(&fresh)), "{listed:?}");
    assert_eq!(reused.borrow().count(0x1C), 1, "PREPARE KEY once");
    let renewing = reused
        .borrow()
        .log()
        .iter()
        .filter(|e| e.ins() == 0x14 && e.p1() == 0x01)
        .count();
    assert!(renewing >= 1, "its record was written with P1 = 01");
    for wiped in &old.cards[1..] {
        assert_eq!(
            wiped.borrow().state(),
            quorum_protocol::apdu::LifeCycle::Blank
        );
    }
    assert!(
        said.told(&Event::Reshare(Told::Wiping { count: 2 })),
        "{said}"
    );
    assert!(said.told(&Event::Reshare(Told::GatheringBegins)), "{said}");
    let renewed = said.0.iter().any(|e| {
        matches!(e, Event::Reshare(Told::ReuseRegistered { who, new_key })
            if who.starts_with(&old_fingerprint) && *new_key == fingerprint(&reused))
    });
    assert!(renewed, "the re-used card's new key is told:\n{said}");
    // The new set recovers the master.
    let readers = MemoryReaders::with_cards(&[fresh, reused]);
    let pins = pin_file();
    let req = crate::recover::RecoverRequest {
        fits: None,
        interrupt: &crate::Never,
        anchor: crate::recover::Anchor::None,
        from: every_reader(),
        pins: policy(&pins),
        trace: false,
        stats: false,
    };
    let recovered = crate::recover::recover(&readers, &req, &mut Said::default()).unwrap();
    assert_eq!(&recovered.master[..], MASTER);
    assert_eq!(recovered.set.label, "vault 2");
}

#[test]
fn a_reused_card_keeps_its_custodians_name_unless_a_new_one_is_given() {
    let old = EnrolledSet::named(2, "vault", &["Alice", "Bob", "Carol"]);
    let fresh = fresh_cards(1).remove(0);
    let mut cards = old.cards.clone();
    cards.push(fresh);
    let readers = MemoryReaders::with_cards(&cards);
    let reuse = vec![fingerprint(&old.cards[0])];
    let (result, said, _) = run(
        &readers,
        &old,
        every(Plan {
            threshold: 2,
            reuse: &reuse,
            keep_old: false,
        }),
    );
    let done = result.unwrap_or_else(|e| panic!("{e}\n{said}"));
    let names: Vec<&str> = done.cards.iter().map(|c| c.name.as_str()).collect();
    assert!(
        names.contains(&"Alice"),
        "the re-used card is still Alice's: {names:?}"
    );
    let fresh_name = done
        .cards
        .iter()
        .find(|c| c.name != "Alice")
        .map(|c| c.name.clone());
    assert!(
        fresh_name.is_some_and(|n| n.starts_with("custodian ")),
        "{names:?}"
    );
}

#[test]
fn the_old_set_is_told_at_its_newest_version_after_a_card_was_added() {
    let old = EnrolledSet::new(2, 3, "vault");
    let mut records: Vec<PublicRecord> = Bundle::from_enrollment(&old.outcome.enrollment)
        .decoded_records()
        .unwrap();
    // add-card makes version 2 with a fourth custodian
    let added = fresh_cards(1).remove(0);
    let pins = pin_file();
    let add = crate::add_card::AddCardRequest {
        interrupt: &crate::Never,
        base: &records[0],
        bundle_records: &records,
        new_card: None,
        name: Some("Dora"),
        from: every_reader(),
        pins: policy(&pins),
        trace: false,
    };
    let readers = MemoryReaders::with_cards(&[old.cards[0].clone(), old.cards[1].clone(), added]);
    let report = crate::add_card::add_card(&readers, &add, &mut Said::default()).unwrap();
    drop(readers);
    records.push(report.card.record.clone());
    // the reshare opens two version-1 cards; the set it reports is the 2-of-4 of version 2
    let fresh = fresh_cards(1).remove(0);
    let readers = MemoryReaders::with_cards(&[old.cards[0].clone(), old.cards[1].clone(), fresh]);
    let req = ReshareRequest {
        replace_unfinished: None,
        interrupt: &crate::Never,
        old_set: None,
        published: Some(&report.card.record),
        bundle_records: &records,
        threshold: 1,
        count: None,
        label: "vault 2",
        names: &[],
        reuse: &[],
        keep_old: true,
        from: every_reader(),
        pins: policy(&pins),
        trace: false,
    };
    let done = reshare(
        &readers,
        &req,
        &mut |_: &Enrollment| Ok(()),
        &mut crate::NoJournal,
        &mut Said::default(),
    )
    .unwrap();
    assert_eq!(
        (done.old.threshold, done.old.count, done.old.set_version),
        (2, 4, 2),
        "{:?}",
        done.old
    );
    // every old card keeps its share (--keep-old), the two opened and the two never seen
    let holding: Vec<&str> = done
        .still_holding
        .iter()
        .map(|(who, _)| who.as_str())
        .collect();
    assert_eq!(holding.len(), 4, "{holding:?}");
    assert!(
        holding.iter().any(|who| who.ends_with("\"Dora\"")),
        "{holding:?}"
    );
}

#[test]
fn a_plan_that_would_leave_no_complete_set_is_refused_before_anything_is_written() {
    // 2-of-2 onto the same two cards: overwriting either leaves neither set complete.
    let old = EnrolledSet::new(2, 2, "vault");
    let readers = MemoryReaders::with_cards(&old.cards);
    let reuse: Vec<String> = old.cards.iter().map(fingerprint).collect();
    let (result, _, published) = run(
        &readers,
        &old,
        every(Plan {
            threshold: 2,
            reuse: &reuse,
            keep_old: true,
        }),
    );
    let e = result.err().unwrap();
    assert!(
        matches!(
            e,
            CeremonyError::ReshareDeclined(Declined::UnsafePlan {
                reused: 2,
                fresh: 0,
                old_threshold: 2,
                old_total: 2,
                new_threshold: 2,
                new_total: 2,
            })
        ),
        "{e}"
    );
    assert_eq!(put_records(&old.cards), 0);
    assert_eq!(published, 0);
    for card in &old.cards {
        assert_eq!(card.borrow().count(0x1E), 0);
        assert!(
            card.borrow().pending_key().is_some(),
            "PREPARE KEY ran; the pending key stays unused"
        );
    }
}

#[test]
fn a_1_0_card_named_for_reuse_stops_phase_0_with_nothing_written() {
    let old = EnrolledSet::new(1, 1, "vault");
    // The old card reports protocol 1.0: move its state onto a 1.0 applet with the same key.
    let legacy = old.cards[0].clone();
    let applet = std::mem::replace(&mut *legacy.borrow_mut(), MemoryApplet::new());
    *legacy.borrow_mut() = applet.protocol_1_0();
    let cards = vec![legacy.clone(), fresh_cards(1).remove(0)];
    let readers = MemoryReaders::with_cards(&cards);
    let reuse = vec![fingerprint(&legacy)];
    let (result, _, _) = run(
        &readers,
        &old,
        every(Plan {
            threshold: 1,
            reuse: &reuse,
            keep_old: true,
        }),
    );
    let e = result.err().unwrap();
    let CeremonyError::ReshareStopped(ref stopped) = e else {
        panic!("{e}");
    };
    let Stopped {
        phase: 0,
        cause: Cause::Failed(ref cause),
        standing: None,
    } = **stopped
    else {
        panic!("{e}");
    };
    let CeremonyError::ReshareDeclined(Declined::ReuseNotPresented {
        ref card,
        ref problems,
    }) = **cause
    else {
        panic!("{cause}");
    };
    assert_eq!(card, &fingerprint(&legacy));
    assert!(
        problems.iter().any(|p| matches!(
            p,
            CardProblem::NoKeyRenewal {
                major: 1,
                minor: 0,
                ..
            }
        )),
        "{problems:?}"
    );
    assert_eq!(put_records(&cards), 0);
    let _ = shared(MemoryApplet::new());
}

#[test]
fn one_reader_takes_each_card_once_whatever_comes_first() {
    let old = EnrolledSet::new(1, 1, "vault");
    let fresh = fresh_cards(1).remove(0);
    let blank = shared(MemoryApplet::new());
    let old_card = fingerprint(&old.cards[0]);
    let readers = MemoryReaders::new(&["Pad"]);
    // Phase 0: a blank card, then the new set's card before the old one: each is taken
    // as what it is (the fresh card registers at once), so nobody inserts a card twice.
    readers.then_present_in_turn("Pad", &[&blank, &fresh, &old.cards[0]]);
    // phase 1 writes the new card; phase 2 wipes the old one
    readers.then_present_in_turn("Pad", &[&fresh, &old.cards[0]]);
    let plan = Plan {
        threshold: 1,
        reuse: &[],
        keep_old: false,
    };
    let (result, said, published) = run(&readers, &old, (plan, one_reader("Pad"), Some(1)));
    let done = result.unwrap_or_else(|e| panic!("{e}\n{said}"));
    assert_eq!(published, 1);
    assert_eq!(done.wiped, vec![old_card.clone()]);
    assert_eq!(readers.script_left(), 1, "the last card may stay in");
    let tells = |told: Told| said.told(&Event::Reshare(told));
    assert!(
        tells(Told::Skipped {
            problem: CardProblem::Blank {
                card: Seen {
                    card: None,
                    reader: None,
                },
            },
        }),
        "{said}"
    );
    assert!(
        tells(Told::Registered {
            card: fingerprint(&fresh),
            n: 1,
            of: 1,
        }),
        "{said}"
    );
    let opened = said.0.iter().any(|e| {
        matches!(
            e,
            Event::Reshare(Told::OldShareOpened {
                opened: 1,
                need: 1,
                ..
            })
        )
    });
    assert!(opened, "{said}");
    assert!(
        !tells(Told::RegisteringNewSet { count: 1 }),
        "the new set was full before it was asked for: {said}"
    );
    assert!(
        tells(Told::OldCardWiped {
            card: old_card,
            keeps_key: false,
            standing: done.standing.clone(),
        }),
        "{said}"
    );
}

#[test]
fn one_reader_reuses_an_old_card_in_the_insertion_that_opens_its_share() {
    let old = EnrolledSet::new(2, 3, "vault");
    let fresh = fresh_cards(2);
    let reused = fingerprint(&old.cards[0]);
    let retired = fingerprint(&old.cards[1]);
    let readers = MemoryReaders::new(&["Pad"]);
    // Phase 0: two old cards (the first named for re-use), then the two fresh cards.
    readers.then_present_in_turn("Pad", &[&old.cards[0], &old.cards[1], &fresh[0], &fresh[1]]);
    // Phase 1: fresh cards first, then the re-used one; phase 2 wipes the other old card.
    readers.then_present_in_turn("Pad", &[&fresh[0], &fresh[1], &old.cards[0], &old.cards[1]]);
    let plan = Plan {
        threshold: 2,
        reuse: std::slice::from_ref(&reused),
        keep_old: false,
    };
    let (result, said, _) = run(&readers, &old, (plan, one_reader("Pad"), Some(3)));
    let done = result.unwrap_or_else(|e| panic!("{e}\n{said}"));
    assert_eq!(done.cards.len(), 3);
    assert_eq!(done.wiped, vec![retired]);
    assert_eq!(readers.script_left(), 1, "the last card may stay in");
    // Each card of phase 0 leaves as what it became: the re-used card and the fresh ones
    // registered, the other old card with its share opened, never "registered".
    let removals: Vec<&Done> = said
        .0
        .iter()
        .filter_map(|e| match e {
            Event::Presence(Present::Remove { why, .. }) => Some(why),
            _ => None,
        })
        .take(4)
        .collect();
    assert_eq!(
        removals,
        [
            &Done::Registered,
            &Done::ShareOpened,
            &Done::Registered,
            &Done::Registered
        ],
        "{said}"
    );
    let renewed = said
        .0
        .iter()
        .filter(|e| matches!(e, Event::Reshare(Told::ReuseRegistered { .. })))
        .count();
    assert_eq!(renewed, 1, "{said}");
    assert!(tells_registering(&said, 3), "{said}");
}

/// Whether the new set's cards were asked for, `count` of them.
fn tells_registering(said: &Said, count: usize) -> bool {
    said.told(&Event::Reshare(Told::RegisteringNewSet { count }))
}

#[test]
fn a_card_pulled_in_phase_0_and_put_back_still_counts() {
    let old = EnrolledSet::new(2, 3, "vault");
    let fresh = fresh_cards(2);
    let cards: Vec<SharedCard> = [&old.cards[0], &old.cards[1], &fresh[0], &fresh[1]]
        .into_iter()
        .cloned()
        .collect();
    let readers = MemoryReaders::with_cards(&cards);
    // SELECT and GET STATUS identify the first old card; then it is pulled and comes back.
    readers.pull_after(
        "Reader 0",
        2,
        quorum_card::transport::TransportError::CardRemoved,
    );
    readers.then_insert("Reader 0", &old.cards[0]);
    let plan = Plan {
        threshold: 2,
        reuse: &[],
        keep_old: true,
    };
    let (result, said, _) = run(&readers, &old, (plan, every_reader_put_back(), None));
    let done = result.unwrap_or_else(|e| panic!("{e}\n{said}"));
    assert_eq!(done.cards.len(), 2);
    assert!(said.asked_back_into("Reader 0"), "{said}");
    assert!(
        !said
            .0
            .iter()
            .any(|e| matches!(e, Event::Reshare(Told::Skipped { .. }))),
        "no card was skipped: {said}"
    );
}
