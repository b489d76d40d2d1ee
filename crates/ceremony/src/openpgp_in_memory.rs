//! Mixed sets at the ceremonies, in memory: 3 quorum-applet cards and 2 OpenPGP cards
//! enrolled 3-of-5 (apdu-spec/openpgp.md), recovered with each kind of subset in every
//! reader mode, checked, extended and reshared; the OpenPGP cards' public records come from
//! the set's bundle, and their unseal is blinded. The end-to-end suite (tests/e2e/openpgp.rs)
//! runs the same sets through pcscd against opcard; these say what each ceremony decides.

use quorum_card::card::CardError;
use quorum_card::memory::{Insertable, MemoryReaders, SharedOpenPgp};
use quorum_protocol::bundle::Bundle;
use quorum_protocol::openpgp::{QuorumHeader, HEADER_LEN};

use crate::in_memory_kit::*;
use crate::pins::tests::Typed;
use crate::progress::Event;
use crate::recover::{Anchor, Recovered, Stopped};
use crate::share::{Note, Refused, SeenCard, Skip};
use crate::{CardsFrom, CeremonyError};

/// INS of PSO (DECIPHER) and of VERIFY.
const INS_PSO: u8 = 0x2A;
const INS_VERIFY: u8 = 0x20;

/// The recovery anchored on `bundle` (its records serve the OpenPGP cards).
fn bundle_anchor(bundle: &Bundle) -> Anchor {
    Anchor::Bundle {
        digest: bundle.set_digest().unwrap(),
        newest: bundle.newest_record().unwrap(),
        records: bundle.decoded_records().unwrap(),
    }
}

/// Recovers with the PIN file from the cards in `readers`, as `from` brings them.
fn recover_with(
    readers: &MemoryReaders,
    anchor: Anchor,
    from: CardsFrom,
) -> (Result<Recovered, CeremonyError>, Said) {
    let pins = pin_file();
    run_recover(readers, &recover_request(anchor, from, &pins))
}

/// The cards a recovery said it saw, in order.
fn seen(said: &Said) -> Vec<&SeenCard> {
    said.0
        .iter()
        .filter_map(|e| match e {
            Event::Share(crate::share::Told::Seen(card)) => Some(card),
            _ => None,
        })
        .collect()
}

/// The u of every DECIPHER an OpenPGP card received (`A6 { 7F49 { 86 u } }`, short APDU).
fn deciphered_points(card: &SharedOpenPgp) -> Vec<[u8; 32]> {
    card.borrow()
        .log()
        .iter()
        .filter(|e| e.ins() == INS_PSO)
        .map(|e| {
            let lc = usize::from(e.command[4]);
            let data = &e.command[5..5 + lc];
            data[data.len() - 32..].try_into().unwrap()
        })
        .collect()
}

/// VERIFYs that carried a PIN to an OpenPGP card (not the empty ones that ask its state).
fn pins_sent(card: &SharedOpenPgp) -> usize {
    card.borrow()
        .log()
        .iter()
        .filter(|e| e.ins() == INS_VERIFY && e.command.len() > 5)
        .count()
}

/// Spends every user PIN try of an OpenPGP card with a wrong PIN, as a careless owner would.
fn block_user_pin(card: &SharedOpenPgp) {
    let mut card = card.borrow_mut();
    let select = [
        0x00, 0xA4, 0x04, 0x00, 0x06, 0xD2, 0x76, 0x00, 0x01, 0x24, 0x01, 0x00,
    ];
    assert_eq!(card.process(&select).1, 0x9000);
    let mut wrong = vec![0x00, INS_VERIFY, 0x00, 0x82, 0x06];
    wrong.extend_from_slice(b"000000");
    while card.user_tries() > 0 {
        card.process(&wrong);
    }
    card.power_up();
    card.clear_log();
}

// ---- enroll ----

#[test]
fn enroll_writes_header_and_sealed_share_on_openpgp_cards_and_records_on_applet_cards() {
    let set = MixedSet::new("vault");
    assert_eq!(set.outcome.cards.len(), 5);
    assert_eq!(set.record_of(1).threshold, 3);
    for card in &set.openpgp {
        let written = set.written_for(card);
        let card = card.borrow();
        let header = card.private_use(0x0101);
        assert_eq!(header.len(), HEADER_LEN);
        assert_eq!(header.len(), 55);
        assert_eq!(header, QuorumHeader::for_record(&written.record).encode());
        assert_eq!(card.private_use(0x0103), &written.sealed[..]);
        assert_eq!(card.private_use(0x0103).len(), 81);
        // The admin PIN's objects are not quorum's: never touched.
        assert!(card.private_use(0x0102).is_empty() && card.private_use(0x0104).is_empty());
        assert!(card.card_key().is_some(), "its key is kept");
    }
    for card in &set.applets {
        let card = card.borrow();
        let (public, sealed) = card.record().expect("a record");
        let written = set
            .outcome
            .enrollment
            .cards
            .iter()
            .find(|c| c.public == public)
            .expect("the record enroll wrote");
        assert_eq!(sealed, &written.sealed[..]);
    }
    // The bundle lists all five, the OpenPGP cards' records among them.
    assert_eq!(set.bundle_records().len(), 5);
}

// ---- recover: which subsets ----

#[test]
fn three_applet_cards_recover_without_the_bundle() {
    let set = MixedSet::new("vault");
    let readers = MemoryReaders::with_cards(&set.applets);
    let (result, said) = recover_with(&readers, Anchor::None, every_reader());
    let recovered = result.unwrap_or_else(|e| panic!("{e}\n{said}"));
    assert_eq!(&recovered.master[..], MASTER);
    assert_eq!(recovered.cards.len(), 3);
    for card in &set.openpgp {
        assert!(card.borrow().log().is_empty(), "never in a reader");
    }
}

#[test]
fn two_openpgp_cards_and_one_applet_card_recover_with_the_bundles_records() {
    let set = MixedSet::new("vault");
    let cards = vec![
        set.openpgp[0].held(),
        set.applets[1].held(),
        set.openpgp[1].held(),
    ];
    let readers = MemoryReaders::with_cards(&cards);
    let (result, said) = recover_with(&readers, bundle_anchor(&set.bundle()), every_reader());
    let recovered = result.unwrap_or_else(|e| panic!("{e}\n{said}"));
    assert_eq!(&recovered.master[..], MASTER);
    assert_eq!(recovered.set.label, "vault");
    assert!(recovered.cards.iter().all(|c| c.used), "{said}");
    assert!(
        seen(&said).iter().any(|c| matches!(
            c.note,
            Note::ShareOpened {
                opened: 3,
                need: 3,
                ..
            }
        )),
        "{said}"
    );
    for card in &set.openpgp {
        let card = card.borrow();
        assert_eq!(card.count(INS_PSO), 1, "one DECIPHER each");
        assert_eq!(card.count(0xDA), 0, "a recovery writes nothing");
    }
    assert_eq!(writes(&set.applets), 0);
}

#[test]
fn openpgp_cards_without_their_records_say_how_many_need_the_bundle_before_any_pin() {
    let set = MixedSet::new("vault");
    let cards = vec![
        set.openpgp[0].held(),
        set.applets[0].held(),
        set.openpgp[1].held(),
    ];
    let readers = MemoryReaders::with_cards(&cards);
    let e = recover_with(&readers, Anchor::None, every_reader())
        .0
        .err()
        .unwrap();
    assert!(
        matches!(
            e,
            CeremonyError::RecoverStopped(Stopped::TooFewPresent {
                present: 1,
                need: 3,
                in_bundle: 2,
                ref set,
            }) if set.label == "vault"
        ),
        "{e:?}"
    );
    assert_eq!(pin_checks(&set.applets), 0);
    for card in &set.openpgp {
        assert_eq!(pins_sent(card), 0, "no PIN was sent");
    }
}

// ---- recover: the blinded unseal ----

#[test]
fn an_openpgp_cards_decipher_never_carries_the_sealed_shares_point() {
    let set = MixedSet::new("vault");
    let cards = vec![
        set.openpgp[0].held(),
        set.openpgp[1].held(),
        set.applets[2].held(),
    ];
    let readers = MemoryReaders::with_cards(&cards);
    let (result, said) = recover_with(&readers, bundle_anchor(&set.bundle()), every_reader());
    assert_eq!(
        &result.unwrap_or_else(|e| panic!("{e}\n{said}")).master[..],
        MASTER
    );
    for card in &set.openpgp {
        let enc: [u8; 32] = set.written_for(card).sealed[..32].try_into().unwrap();
        assert_eq!(card.borrow().private_use(0x0103)[..32], enc);
        let sent = deciphered_points(card);
        assert_eq!(sent.len(), 1);
        assert_ne!(sent[0], enc, "the card was sent r·E, never E");
        let in_any_command = card
            .borrow()
            .log()
            .iter()
            .any(|e| e.command.windows(32).any(|w| w == enc));
        assert!(!in_any_command, "E itself went to the card in no command");
    }
}

// ---- recover: PINs ----

#[test]
fn a_wrong_user_pin_on_an_openpgp_card_is_asked_again_with_its_own_tries() {
    let set = MixedSet::new("vault");
    let cards = vec![
        set.openpgp[0].held(),
        set.applets[0].held(),
        set.applets[1].held(),
    ];
    let readers = MemoryReaders::with_cards(&cards);
    let typed = Typed(std::cell::RefCell::new(["654321", PIN, PIN, PIN].into()));
    let (result, said) = run_recover(
        &readers,
        &recover_request(bundle_anchor(&set.bundle()), every_reader(), &typed),
    );
    assert_eq!(
        &result.unwrap_or_else(|e| panic!("{e}\n{said}")).master[..],
        MASTER
    );
    // The OpenPGP card counts 3 tries (an applet card 5): 2 left after one wrong PIN.
    assert!(said.asked_again(2), "{said}");
    assert_eq!(
        set.openpgp[0].borrow().user_tries(),
        3,
        "the right PIN restored them"
    );
    assert_eq!(
        pins_sent(&set.openpgp[0]),
        2,
        "the wrong PIN and the right one"
    );
}

#[test]
fn a_blocked_openpgp_user_pin_is_named_as_such_and_the_others_recover() {
    let set = MixedSet::new("vault");
    block_user_pin(&set.openpgp[1]);
    let cards = vec![
        set.openpgp[1].held(),
        set.applets[0].held(),
        set.applets[1].held(),
        set.applets[2].held(),
    ];
    let readers = MemoryReaders::with_cards(&cards);
    let (result, said) = recover_with(&readers, bundle_anchor(&set.bundle()), every_reader());
    let recovered = result.unwrap_or_else(|e| panic!("{e}\n{said}"));
    assert_eq!(&recovered.master[..], MASTER);
    let blocked = &recovered.cards[0];
    assert_eq!(blocked.reader, "Reader 0");
    assert!(!blocked.used);
    assert!(
        matches!(&blocked.note, Note::Skipped { reason: Skip::Refused { reason } }
            if matches!(**reason, Refused::Card(CardError::OpenPgpPinBlocked))),
        "{:?}",
        blocked.note
    );
    assert_eq!(
        pins_sent(&set.openpgp[1]),
        0,
        "its status said blocked: no PIN was sent"
    );
}

// ---- recover: reader modes ----

#[test]
fn every_reader_mode_recovers_a_mixed_quorum() {
    let set = MixedSet::new("vault");
    let readers = MemoryReaders::with_cards(&set.all());
    let (result, said) = recover_with(&readers, bundle_anchor(&set.bundle()), every_reader());
    let recovered = result.unwrap_or_else(|e| panic!("{e}\n{said}"));
    assert_eq!(&recovered.master[..], MASTER);
    assert_eq!(recovered.cards.len(), 3, "just the threshold is opened");
}

#[test]
fn one_reader_mode_recovers_with_the_kinds_swapped_through_it() {
    let set = MixedSet::new("vault");
    let readers = MemoryReaders::new(&["Pad"]);
    readers.then_present_in_turn(
        "Pad",
        &[
            &set.openpgp[0] as &dyn Insertable,
            &set.applets[2],
            &set.openpgp[1],
        ],
    );
    let (result, said) = recover_with(&readers, bundle_anchor(&set.bundle()), one_reader("Pad"));
    let recovered = result.unwrap_or_else(|e| panic!("{e}\n{said}"));
    assert_eq!(&recovered.master[..], MASTER);
    assert!(recovered.cards.iter().all(|c| c.reader == "Pad"));
    assert_eq!(
        readers.waits(),
        [
            "card in Pad",
            "removal from Pad",
            "card in Pad",
            "removal from Pad",
            "card in Pad"
        ]
    );
    for card in &set.openpgp {
        assert_eq!(card.borrow().count(INS_PSO), 1);
    }
}

#[test]
fn any_reader_mode_recovers_with_cards_inserted_as_they_come() {
    let set = MixedSet::new("vault");
    let readers = MemoryReaders::new(&["R0", "R1", "R2"]);
    readers.insert("R1", &set.openpgp[0]);
    readers.then_insert("R0", &set.applets[0]);
    readers.then_insert("R2", &set.openpgp[1]);
    let (result, said) = recover_with(&readers, bundle_anchor(&set.bundle()), any_reader());
    let recovered = result.unwrap_or_else(|e| panic!("{e}\n{said}"));
    assert_eq!(&recovered.master[..], MASTER);
    let order: Vec<&str> = recovered.cards.iter().map(|c| c.reader.as_str()).collect();
    assert_eq!(order, ["R1", "R0", "R2"]);
}

// ---- verify ----

#[test]
fn verify_checks_every_card_of_a_mixed_set_against_its_bundle() {
    use crate::verify::{verify, CheckNote, VerifyRequest};
    let set = MixedSet::new("vault");
    let readers = MemoryReaders::with_cards(&set.all());
    let pins = pin_file();
    let bundle = set.bundle();
    let request = |bundle| VerifyRequest {
        interrupt: &crate::Never,
        bundle,
        from: every_reader(),
        count: 1,
        pins: policy(&pins),
        trace: false,
        no_open: false,
    };
    let checks = verify(&readers, &request(Some(&bundle)), &mut Said::default()).unwrap();
    assert_eq!(checks.len(), 5);
    for check in &checks {
        assert!(
            check.ok
                && matches!(check.note, CheckNote::Passed { with_bundle: true, no_open: false, ref set } if set.label == "vault"),
            "{}: {}",
            check.reader,
            check.note
        );
    }
    for card in &set.openpgp {
        assert_eq!(card.borrow().count(INS_PSO), 1, "its share was opened");
    }
    // Without the bundle an OpenPGP card's check says its record is in the bundle.
    set.clear_logs();
    let readers = MemoryReaders::with_cards(std::slice::from_ref(&set.openpgp[0]));
    let checks = verify(&readers, &request(None), &mut Said::default()).unwrap();
    assert!(
        matches!(&checks[0].note, CheckNote::Failed { reason }
            if matches!(**reason, Refused::Card(CardError::RecordInBundle { .. }))),
        "{}",
        checks[0].note
    );
    assert_eq!(pins_sent(&set.openpgp[0]), 0, "no PIN asked");
}

// ---- add-card ----

#[test]
fn add_card_gives_a_fresh_openpgp_card_a_share_that_recovers_through_the_updated_bundle() {
    use crate::add_card::{add_card, AddCardRequest};
    let set = MixedSet::new("vault");
    let new = keyed_openpgp();
    let cards = vec![
        set.applets[0].held(),
        set.openpgp[0].held(),
        set.applets[1].held(),
        new.held(),
    ];
    let readers = MemoryReaders::with_cards(&cards);
    let records = set.bundle_records();
    let pins = pin_file();
    let req = AddCardRequest {
        interrupt: &crate::Never,
        base: &records[0],
        bundle_records: &records,
        new_card: None,
        name: Some("Dora"),
        from: every_reader(),
        pins: policy(&pins),
        trace: false,
    };
    let mut said = Said::default();
    let report = add_card(&readers, &req, &mut said).unwrap_or_else(|e| panic!("{e}\n{said}"));
    assert_eq!(report.reader, "Reader 3");
    assert_eq!(report.card.record.set_version, 2);
    assert_eq!(report.card.record.custodians.len(), 6);
    assert_eq!(
        new.borrow().private_use(0x0101),
        QuorumHeader::for_record(&report.card.record).encode()
    );
    assert_eq!(new.borrow().private_use(0x0103), &report.card.sealed[..]);
    assert_eq!(writes(&set.applets), 0, "the old cards are not rewritten");
    // The new card, an old OpenPGP card and an applet card recover the master with the
    // bundle that lists the new card.
    let bundle = set
        .bundle()
        .with_records(std::slice::from_ref(&report.card.public))
        .unwrap();
    let cards = vec![new.held(), set.openpgp[1].held(), set.applets[2].held()];
    let readers = MemoryReaders::with_cards(&cards);
    let (result, said) = recover_with(&readers, bundle_anchor(&bundle), every_reader());
    assert_eq!(
        &result.unwrap_or_else(|e| panic!("{e}\n{said}")).master[..],
        MASTER
    );
}

/// add-card in the swapping modes: OpenPGP cards open their shares in the quorum and a fresh
/// OpenPGP card is the new card, through one reader and with cards inserted as they come.
#[test]
fn add_card_through_one_reader_and_any_reader_with_openpgp_cards_in_the_quorum() {
    use crate::add_card::{add_card, AddCardRequest};
    let set = MixedSet::new("vault");
    let records = set.bundle_records();
    let pins = pin_file();
    let request = |from| AddCardRequest {
        interrupt: &crate::Never,
        base: &records[0],
        bundle_records: &records,
        new_card: None,
        name: Some("Dora"),
        from,
        pins: policy(&pins),
        trace: false,
    };
    // One reader: two OpenPGP cards and an applet card open the quorum, then the new card.
    let new = keyed_openpgp();
    let readers = MemoryReaders::new(&["Pad"]);
    readers.then_present_in_turn(
        "Pad",
        &[
            &set.openpgp[0] as &dyn Insertable,
            &set.applets[0],
            &set.openpgp[1],
            &new,
        ],
    );
    let mut said = Said::default();
    let report = add_card(&readers, &request(one_reader("Pad")), &mut said)
        .unwrap_or_else(|e| panic!("{e}\n{said}"));
    assert_eq!(report.reader, "Pad");
    assert_eq!(
        new.borrow().private_use(0x0101),
        QuorumHeader::for_record(&report.card.record).encode()
    );
    assert_eq!(
        set.openpgp[0].borrow().count(INS_PSO),
        1,
        "blinded DECIPHER once"
    );
    // Any reader: an applet card present, the others inserted as asked, the new card last.
    let other = keyed_openpgp();
    let readers = MemoryReaders::new(&["A", "B", "C"]);
    readers.insert("A", &set.applets[1]);
    readers
        .then_insert("B", &set.openpgp[1])
        .then_insert("C", &set.applets[2])
        .then_remove("B")
        .then_insert("B", &other);
    let mut said = Said::default();
    let report = add_card(&readers, &request(any_reader()), &mut said)
        .unwrap_or_else(|e| panic!("{e}\n{said}"));
    assert_eq!(report.reader, "B");
    assert_eq!(other.borrow().private_use(0x0103), &report.card.sealed[..]);
}

// ---- reshare ----

mod reshare {
    use super::*;
    use crate::reshare::{reshare, CardProblem, Cause, Declined, ReshareRequest, Reshared, Told};
    use quorum_protocol::sharing::Enrollment;

    fn run(
        readers: &MemoryReaders,
        set: &MixedSet,
        threshold: u8,
        reuse: &[String],
    ) -> (Result<Reshared, CeremonyError>, Said) {
        let records = set.bundle_records();
        let pins = pin_file();
        let req = ReshareRequest {
            replace_unfinished: None,
            interrupt: &crate::Never,
            old_set: None,
            published: Some(&records[0]),
            bundle_records: &records,
            threshold,
            count: None,
            label: "vault 2",
            names: &[],
            reuse,
            keep_old: false,
            from: every_reader(),
            pins: policy(&pins),
            trace: false,
        };
        let mut publish = |_: &Enrollment| Ok(());
        let mut said = Said::default();
        let result = reshare(
            readers,
            &req,
            &mut publish,
            &mut crate::NoJournal,
            &mut said,
        );
        (result, said)
    }

    #[test]
    fn an_openpgp_card_named_for_reuse_is_refused_for_its_missing_key_renewal() {
        let set = MixedSet::new("vault");
        let readers = MemoryReaders::with_cards(&set.all());
        let named = openpgp_key(&set.openpgp[0]).fingerprint();
        let (result, said) = run(&readers, &set, 2, std::slice::from_ref(&named));
        let refused = |p: &CardProblem| {
            matches!(p, CardProblem::OpenPgpNoKeyRenewal { card }
                if card.card.as_deref() == Some(named.as_str()))
        };
        assert!(
            said.0.iter().any(
                |e| matches!(e, Event::Reshare(Told::Skipped { problem }) if refused(problem))
            ),
            "{said}"
        );
        let e = result.err().expect("refused");
        let CeremonyError::ReshareStopped(stopped) = &e else {
            panic!("{e:?}")
        };
        assert_eq!(
            (stopped.phase, &stopped.standing),
            (0, &None),
            "nothing written"
        );
        assert!(
            matches!(&stopped.cause, Cause::Failed(declined)
                if matches!(&**declined, CeremonyError::ReshareDeclined(Declined::ReuseNotPresented { card, problems })
                    if *card == named && problems.iter().any(refused))),
            "{e:?}"
        );
        // Nothing was written: its share and its key are as they were.
        let written = set.written_for(&set.openpgp[0]);
        let card = set.openpgp[0].borrow();
        assert_eq!(card.private_use(0x0103), &written.sealed[..]);
        assert_eq!(card.count(0xDA), 0);
        assert_eq!(writes(&set.applets), 0);
    }

    #[test]
    fn moving_a_mixed_set_to_fresh_cards_wipes_the_openpgp_cards_shares_and_keeps_their_keys() {
        let set = MixedSet::new("vault");
        let fresh = fresh_cards(3);
        let mut cards = set.all();
        cards.extend(fresh.iter().map(Insertable::held));
        let readers = MemoryReaders::with_cards(&cards);
        let keys: Vec<_> = set.openpgp.iter().map(openpgp_key).collect();
        let (result, said) = run(&readers, &set, 2, &[]);
        let done = result.unwrap_or_else(|e| panic!("{e}\n{said}"));
        assert_eq!(done.cards.len(), 3);
        assert!(done.standing.new_complete());
        assert_eq!(done.wiped.len(), 5, "{:?}", done.wiped);
        for (card, key) in set.openpgp.iter().zip(&keys) {
            assert!(done.wiped.contains(&key.fingerprint()));
            let card = card.borrow();
            assert!(card.private_use(0x0101).is_empty(), "header gone");
            assert!(card.private_use(0x0103).is_empty(), "sealed share gone");
            assert_eq!(card.card_key().as_ref(), Some(key), "its own key is kept");
        }
        for card in &set.applets {
            assert_eq!(
                card.borrow().state(),
                quorum_protocol::apdu::LifeCycle::Blank
            );
        }
        // The new set recovers on its own cards.
        let readers = MemoryReaders::with_cards(&fresh[..2]);
        let (result, said) = recover_with(&readers, Anchor::None, every_reader());
        assert_eq!(
            &result.unwrap_or_else(|e| panic!("{e}\n{said}")).master[..],
            MASTER
        );
    }
}

// ---- PINs by card ----

#[test]
fn a_pin_table_gives_openpgp_cards_their_own_pin_by_quorums_fingerprint() {
    let set = MixedSet::new("vault");
    // The OpenPGP cards keep their factory user PIN; the applet cards get another.
    const APPLET_PIN: &str = "24681357";
    for card in &set.applets {
        change_applet_pin(card, APPLET_PIN);
    }
    let mut lines: Vec<String> = set
        .applets
        .iter()
        .map(|c| format!("{} {APPLET_PIN}", fingerprint(c)))
        .collect();
    lines.extend(
        set.openpgp
            .iter()
            .map(|c| format!("{} {PIN}", openpgp_key(c).fingerprint())),
    );
    let table = pin_table(&lines);
    let cards = vec![
        set.openpgp[0].held(),
        set.applets[0].held(),
        set.openpgp[1].held(),
    ];
    let readers = MemoryReaders::with_cards(&cards);
    let (result, said) = run_recover(
        &readers,
        &recover_request(bundle_anchor(&set.bundle()), every_reader(), &table),
    );
    assert_eq!(
        &result.unwrap_or_else(|e| panic!("{e}\n{said}")).master[..],
        MASTER
    );
    for card in &set.openpgp {
        assert_eq!(card.borrow().user_tries(), 3, "no try spent");
    }
    assert_eq!(set.applets[0].borrow().tries_left(), 5);
}

#[test]
fn an_openpgp_card_with_a_passphrase_user_pin_recovers_with_the_applet_cards() {
    const PASSPHRASE: &str = "tr0ub4dor-passphrase";
    let set = MixedSet::new("vault");
    set_openpgp_user_pin(&set.openpgp[0], PASSPHRASE);
    let applet_lines: Vec<String> = set
        .applets
        .iter()
        .map(|c| format!("{} {PIN}", fingerprint(c)))
        .collect();
    // The passphrase on the OpenPGP card's own line, then as the PIN for any other card.
    let own_line = format!(
        "{} {PASSPHRASE}",
        openpgp_key(&set.openpgp[0]).fingerprint()
    );
    for extra in [own_line, PASSPHRASE.to_owned()] {
        let mut lines = applet_lines.clone();
        lines.push(extra);
        let table = pin_table(&lines);
        let cards = vec![
            set.applets[0].held(),
            set.openpgp[0].held(),
            set.applets[1].held(),
        ];
        let readers = MemoryReaders::with_cards(&cards);
        let (result, said) = run_recover(
            &readers,
            &recover_request(bundle_anchor(&set.bundle()), every_reader(), &table),
        );
        assert_eq!(
            &result.unwrap_or_else(|e| panic!("{e}\n{said}")).master[..],
            MASTER
        );
        let card = &set.openpgp[0];
        assert_eq!(card.borrow().user_tries(), 3, "no try spent");
        assert_eq!(card.borrow().count(INS_PSO), 1);
        let verified: Vec<Vec<u8>> = card
            .borrow()
            .log()
            .iter()
            .filter(|e| e.ins() == INS_VERIFY && e.command.len() > 5)
            .map(|e| e.command[5..].to_vec())
            .collect();
        assert_eq!(verified, [PASSPHRASE.as_bytes().to_vec()], "sent as typed");
        set.clear_logs();
    }
}

#[test]
fn a_passphrase_for_an_applet_card_is_refused_before_its_card_is_asked() {
    let set = MixedSet::new("vault");
    let table = pin_table(&["tr0ub4dor".to_owned()]);
    let cards: Vec<_> = set.applets.iter().map(Insertable::held).collect();
    let readers = MemoryReaders::with_cards(&cards);
    let (result, said) = run_recover(
        &readers,
        &recover_request(bundle_anchor(&set.bundle()), every_reader(), &table),
    );
    let Err(error) = result else {
        panic!("recovered with a PIN the applet cannot take\n{said}")
    };
    let shown = format!("{error}\n{said}");
    assert!(!shown.contains("tr0ub4dor"), "{shown}");
    assert!(shown.contains("6 to 12 digits"), "{shown}");
    for card in &set.applets {
        assert_eq!(card.borrow().tries_left(), 5, "no try spent");
        assert!(
            !card
                .borrow()
                .log()
                .iter()
                .any(|e| e.command.get(1) == Some(&INS_VERIFY) && e.command.len() > 5),
            "no PIN was sent"
        );
    }
}

/// Gives an OpenPGP card's user PIN a new value with CHANGE REFERENCE DATA, as `gpg
/// --change-pin` would (the kit's PIN before).
fn set_openpgp_user_pin(card: &SharedOpenPgp, new: &str) {
    let mut card = card.borrow_mut();
    let select = [
        0x00, 0xA4, 0x04, 0x00, 0x06, 0xD2, 0x76, 0x00, 0x01, 0x24, 0x01, 0x00,
    ];
    assert_eq!(card.process(&select).1, 0x9000);
    let data = [PIN.as_bytes(), new.as_bytes()].concat();
    let mut change = vec![0x00, 0x24, 0x00, 0x81, u8::try_from(data.len()).unwrap()];
    change.extend_from_slice(&data);
    assert_eq!(card.process(&change).1, 0x9000);
    card.power_up();
    card.clear_log();
}

/// Gives an applet card a new PIN through its own CHANGE PIN (the kit's PIN before).
fn change_applet_pin(card: &quorum_card::memory::SharedCard, new: &str) {
    use quorum_card::card::Card;
    use quorum_protocol::pin::PinBlock;
    let mut applet = card.borrow_mut();
    let mut session = Card::with_trace(&mut *applet, false);
    session.select().unwrap();
    session
        .change_pin(&PinBlock::new(PIN).unwrap(), &PinBlock::new(new).unwrap())
        .unwrap();
    drop(session);
    applet.power_up();
    applet.clear_log();
}

// ---- enroll and verify through one reader ----

#[test]
fn one_reader_enrolls_a_mixed_set_registering_then_writing_each_kind() {
    let applets = fresh_cards(2);
    let openpgp = keyed_openpgp();
    let readers = MemoryReaders::new(&["Pad"]);
    let turn: [&dyn Insertable; 3] = [&applets[0], &openpgp, &applets[1]];
    readers.then_present_in_turn("Pad", &turn);
    // The writing pass takes the cards in another order.
    readers.then_present_in_turn("Pad", &[turn[1], turn[2], turn[0]]);
    let pins = pin_file();
    let mut req = enroll_request(2, "vault", one_reader("Pad"), &pins);
    req.count = Some(3);
    let mut said = Said::default();
    let outcome = crate::enroll::enroll(&readers, &req, &mut crate::NoJournal, &mut said)
        .unwrap_or_else(|e| panic!("{e}\n{said}"));
    assert_eq!(outcome.cards.len(), 3);
    let written = outcome
        .enrollment
        .cards
        .iter()
        .find(|c| c.record.custodian(c.record.index).unwrap().card_key == openpgp_key(&openpgp))
        .expect("the OpenPGP card is custodian");
    assert_eq!(
        openpgp.borrow().private_use(0x0101),
        QuorumHeader::for_record(&written.record).encode()
    );
    assert_eq!(openpgp.borrow().private_use(0x0103), &written.sealed[..]);
    // Its share opens through the bundle, in one reader too, with one applet card.
    let bundle = bundle_of(&outcome);
    openpgp.borrow_mut().clear_log();
    let readers = MemoryReaders::new(&["Pad"]);
    readers.then_present_in_turn("Pad", &[&openpgp as &dyn Insertable, &applets[1]]);
    let (result, said) = recover_with(&readers, bundle_anchor(&bundle), one_reader("Pad"));
    assert_eq!(
        &result.unwrap_or_else(|e| panic!("{e}\n{said}")).master[..],
        MASTER
    );
    assert_eq!(openpgp.borrow().count(INS_PSO), 1);
}

#[test]
fn verify_in_one_reader_checks_an_openpgp_card_then_an_applet_card() {
    use crate::verify::{verify, VerifyRequest};
    let set = MixedSet::new("vault");
    let readers = MemoryReaders::new(&["Pad"]);
    readers.then_present_in_turn(
        "Pad",
        &[&set.openpgp[1] as &dyn Insertable, &set.applets[0]],
    );
    let pins = pin_file();
    let bundle = set.bundle();
    let req = VerifyRequest {
        interrupt: &crate::Never,
        bundle: Some(&bundle),
        from: one_reader("Pad"),
        count: 2,
        pins: policy(&pins),
        trace: false,
        no_open: false,
    };
    let checks = verify(&readers, &req, &mut Said::default()).unwrap();
    assert_eq!(checks.len(), 2);
    assert!(checks.iter().all(|c| c.ok), "{checks:?}");
    assert_eq!(
        checks[0].who.fingerprint.as_deref(),
        Some(&*openpgp_key(&set.openpgp[1]).fingerprint())
    );
}

#[test]
fn verify_without_opening_proves_an_openpgp_cards_key_with_a_blinded_challenge() {
    use crate::verify::{verify, CheckNote, VerifyRequest};
    let set = MixedSet::new("vault");
    let readers = MemoryReaders::with_cards(std::slice::from_ref(&set.openpgp[0]));
    let pins = pin_file();
    let bundle = set.bundle();
    let req = VerifyRequest {
        interrupt: &crate::Never,
        bundle: Some(&bundle),
        from: every_reader(),
        count: 1,
        pins: policy(&pins),
        trace: false,
        no_open: true,
    };
    let checks = verify(&readers, &req, &mut Said::default()).unwrap();
    assert!(
        checks[0].ok && matches!(checks[0].note, CheckNote::Passed { no_open: true, .. }),
        "{}",
        checks[0].note
    );
    let card = &set.openpgp[0];
    assert_eq!(
        card.borrow().count(INS_PSO),
        1,
        "one DECIPHER: the challenge"
    );
    let enc: [u8; 32] = set.written_for(card).sealed[..32].try_into().unwrap();
    assert_ne!(deciphered_points(card)[0], enc);
}

// ---- change-pin ----

#[test]
fn change_pin_changes_an_openpgp_cards_user_pin() {
    let card = keyed_openpgp();
    let readers = MemoryReaders::with_cards(std::slice::from_ref(&card));
    let typed = Typed(std::cell::RefCell::new([PIN, "13572468"].into()));
    let fingerprint = crate::change_pin::change_pin(
        &readers,
        "Reader 0",
        &policy(&typed),
        None,
        false,
        &mut Said::default(),
    )
    .unwrap()
    .fingerprint;
    assert_eq!(fingerprint, openpgp_key(&card).fingerprint());
    assert_eq!(card.borrow().count(0x24), 1, "one CHANGE REFERENCE DATA");
    // The new PIN opens the card; the old one no longer does.
    let mut card = card.borrow_mut();
    let select = [
        0x00, 0xA4, 0x04, 0x00, 0x06, 0xD2, 0x76, 0x00, 0x01, 0x24, 0x01, 0x00,
    ];
    assert_eq!(card.process(&select).1, 0x9000);
    let mut verify = vec![0x00, INS_VERIFY, 0x00, 0x82, 0x08];
    verify.extend_from_slice(b"13572468");
    assert_eq!(card.process(&verify).1, 0x9000);
}

#[test]
fn change_pin_sets_a_passphrase_on_an_openpgp_card_by_its_own_rule() {
    let card = keyed_openpgp();
    let readers = MemoryReaders::with_cards(std::slice::from_ref(&card));
    let typed = Typed(std::cell::RefCell::new([PIN, "n3w pass"].into()));
    let error = crate::change_pin::change_pin(
        &readers,
        "Reader 0",
        &policy(&typed),
        None,
        false,
        &mut Said::default(),
    )
    .unwrap_err();
    assert!(error.to_string().contains("no spaces"), "{error}");
    assert_eq!(card.borrow().count(0x24), 0, "nothing sent");

    let typed = Typed(std::cell::RefCell::new([PIN, "n3w-passphrase"].into()));
    crate::change_pin::change_pin(
        &readers,
        "Reader 0",
        &policy(&typed),
        None,
        false,
        &mut Said::default(),
    )
    .unwrap();
    let mut card = card.borrow_mut();
    assert_eq!(card.count(0x24), 1, "one CHANGE REFERENCE DATA");
    let select = [
        0x00, 0xA4, 0x04, 0x00, 0x06, 0xD2, 0x76, 0x00, 0x01, 0x24, 0x01, 0x00,
    ];
    assert_eq!(card.process(&select).1, 0x9000);
    let mut verify = vec![0x00, INS_VERIFY, 0x00, 0x82, 14];
    verify.extend_from_slice(b"n3w-passphrase");
    assert_eq!(card.process(&verify).1, 0x9000);
}
