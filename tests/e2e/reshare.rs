//! `quorumctl reshare`: the master moves to a new set in two phases; an interruption in
//! any phase leaves a complete set that recovers, and quorumctl says which one it is.

use std::path::{Path, PathBuf};

use quorum_card::card::Card;
use quorum_pcsc::{PcscContext, PcscTransport};
use quorum_protocol::bundle::Bundle;
use quorum_protocol::pin::PinBlock;
use quorum_protocol::record::PublicRecord;
use quorum_protocol::sharing::{open_share, UnsealError};
use rand::rngs::OsRng;

use crate::farm::{lock, Farm};
use crate::fixtures::{
    enrolled, fingerprint_in, personalise_in, pins_of, present, text, Custodian,
};
use crate::run::{run, run_ok, scratch, show, Running};

const MASTER: &[u8] = b"HSM master key moving to a smaller set";

/// The card in `reader`, selected, through the library.
fn connected(farm: &Farm, reader: usize) -> Card<PcscTransport> {
    let ctx = PcscContext::establish().unwrap();
    let mut card = Card::new(ctx.connect_pcsc(farm.reader_name(reader)).unwrap());
    card.select().unwrap();
    card
}

/// Recovers with exactly these cards present and returns the secret, or the failure text.
fn recover_with(
    farm: &Farm,
    dir: &Path,
    pins: &Path,
    cards: &[&Custodian],
) -> Result<Vec<u8>, String> {
    present(farm, cards);
    let out = dir.join(format!("recovered-{}.key", cards.len()));
    let _ = std::fs::remove_file(&out);
    let done = run(&[
        "recover",
        "--out",
        out.to_str().unwrap(),
        "--pin-file",
        pins.to_str().unwrap(),
    ]);
    if done.status.success() {
        Ok(std::fs::read(&out).unwrap())
    } else {
        Err(show(&done))
    }
}

/// An old 3-of-5 set on cards 0..5 and three fresh personalised cards, all out of the readers.
fn old_set_and_fresh_cards(
    farm: &Farm,
    dir: &Path,
) -> (Vec<Custodian>, Vec<Custodian>, PathBuf, PathBuf) {
    let (old, _, _) = enrolled(farm, dir, "old-set", 3, 5, MASTER);
    farm.clear_all();
    let fresh: Vec<Custodian> = (0..3)
        .map(|k| personalise_in(farm, dir, k, 10 + k))
        .collect();
    farm.clear_all();
    let everyone: Vec<Custodian> = old.iter().chain(&fresh).cloned().collect();
    let pins = pins_of(dir, "everyone.pins", &everyone);
    (old, fresh, pins, dir.join("old-set.quorum.json"))
}

#[test]
fn reshare_3_of_5_to_2_of_3_on_fresh_cards_then_the_old_cards_are_wiped() {
    let _guard = lock();
    let farm = Farm::connect();
    let dir = scratch("reshare-fresh");
    let (old, fresh, pins, old_bundle) = old_set_and_fresh_cards(&farm, &dir);
    let all: Vec<&Custodian> = old.iter().chain(&fresh).collect();
    present(&farm, &all);
    let new_bundle = dir.join("new-set.quorum.json");
    let done = run_ok(&[
        "reshare",
        "--threshold",
        "2",
        "--label",
        "new-set",
        "--bundle",
        old_bundle.to_str().unwrap(),
        "--new-bundle",
        new_bundle.to_str().unwrap(),
        "--pin-file",
        pins.to_str().unwrap(),
    ]);
    let stdout = text(&done.stdout);
    assert!(
        stdout.contains("to the new set \"new-set\" (2-of-3"),
        "{}",
        show(&done)
    );
    assert_eq!(
        stdout.matches("wiped (blank now)").count(),
        5,
        "{}",
        show(&done)
    );
    assert!(
        !stdout.contains("still hold a share"),
        "every old card was wiped: {}",
        show(&done)
    );
    let stderr = text(&done.stderr);
    let phase1 = stderr
        .find("Phase 2 of 3")
        .expect("the writing phase announced");
    let phase2 = stderr
        .find("Phase 3 of 3")
        .expect("the wiping phase announced");
    assert!(
        phase1 < phase2,
        "the old cards are wiped only after the new set is written"
    );
    let bundle = Bundle::parse(&std::fs::read_to_string(&new_bundle).unwrap()).unwrap();
    assert_eq!((bundle.threshold, bundle.custodians.len()), (2, 3));
    assert_eq!(
        recover_with(&farm, &dir, &pins, &[&fresh[2], &fresh[0]]).unwrap(),
        MASTER
    );
    let refused = recover_with(&farm, &dir, &pins, &[&old[0], &old[1], &old[2]]).unwrap_err();
    assert!(refused.contains("holds no share"), "{refused}");
}

#[test]
fn reshare_onto_reused_old_cards_keeps_a_complete_set_at_every_step() {
    let _guard = lock();
    let farm = Farm::connect();
    let dir = scratch("reshare-reuse");
    let (old, pins, _) = enrolled(&farm, &dir, "reuse-old", 3, 5, MASTER);
    present(&farm, &old.iter().collect::<Vec<_>>());
    // What an old APDU log could hold of custodian 1's card: its public and sealed parts.
    let (old_public, old_sealed) = {
        let mut card = connected(&farm, 0);
        let public = card.get_record_public().unwrap();
        card.verify(&PinBlock::new(&old[0].pin).unwrap()).unwrap();
        (public, card.get_record_sealed().unwrap())
    };
    let new_bundle = dir.join("reuse-new.quorum.json");
    let done = run_ok(&[
        "reshare",
        "--threshold",
        "2",
        "--label",
        "reuse-new",
        "--new-bundle",
        new_bundle.to_str().unwrap(),
        "--reuse",
        &old[0].fingerprint,
        "--reuse",
        &old[1].fingerprint,
        "--reuse",
        &old[2].fingerprint,
        "--pin-file",
        pins.to_str().unwrap(),
    ]);
    let stderr = text(&done.stderr);
    // After each re-used card is overwritten, quorumctl states that one set is complete.
    let states: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains(", re-used old card ") && l.contains("): written"))
        .collect();
    assert_eq!(states.len(), 3, "{}", show(&done));
    for (line, c) in states.iter().zip(&old) {
        assert!(
            line.contains(&format!(
                "re-used old card {}: its old key is destroyed",
                c.fingerprint
            )),
            "{line}"
        );
    }
    assert!(
        states[0].contains("the old set is still complete (4 of its 5"),
        "{}",
        states[0]
    );
    assert!(
        states[1].contains("the new set is complete (2 of its 3"),
        "{}",
        states[1]
    );
    assert!(
        states[2].contains("the old set is no longer complete (2 of its 5"),
        "{}",
        states[2]
    );
    assert_eq!(text(&done.stdout).matches("wiped (blank now)").count(), 2);
    // Each re-used card has a new key pair (a new fingerprint) and kept its PIN.
    let renewed: Vec<Custodian> = (0..3)
        .map(|reader| {
            let mut c = old[reader].clone();
            c.fingerprint = fingerprint_in(&farm, reader);
            assert_ne!(c.fingerprint, old[reader].fingerprint, "reader {reader}");
            assert!(
                text(&done.stdout).contains(&c.fingerprint),
                "{}",
                show(&done)
            );
            c
        })
        .collect();
    let new_pins = pins_of(&dir, "renewed.pins", &renewed);
    assert_eq!(
        recover_with(&farm, &dir, &new_pins, &[&renewed[1], &renewed[2]]).unwrap(),
        MASTER
    );
    // The old sealed part of custodian 1's card never opens again, even with its PIN.
    present(&farm, &[&renewed[0]]);
    let mut card = connected(&farm, 0);
    card.verify(&PinBlock::new(&renewed[0].pin).unwrap())
        .unwrap();
    let old_key = PublicRecord::decode(&old_public).unwrap().custodians[0].card_key;
    let reopened = open_share(&old_public, &old_sealed, &old_key, &mut OsRng, |p| {
        card.unseal(p).map(|x| *x)
    });
    assert!(
        matches!(reopened, Err(UnsealError::OpenFailed)),
        "{reopened:?}"
    );
    drop(card);

    // A plan that would pass through no complete set is refused before anything is written.
    let (two, two_pins, _) = enrolled(&farm, &dir, "two-of-two", 2, 2, MASTER);
    present(&farm, &two.iter().collect::<Vec<_>>());
    let refused = run(&[
        "reshare",
        "--threshold",
        "2",
        "--label",
        "unsafe",
        "--new-bundle",
        dir.join("unsafe.json").to_str().unwrap(),
        "--reuse",
        &two[0].fingerprint,
        "--reuse",
        &two[1].fingerprint,
        "--pin-file",
        two_pins.to_str().unwrap(),
    ]);
    assert_eq!(refused.status.code(), Some(4), "{}", show(&refused));
    assert!(
        text(&refused.stderr)
            .contains("neither the old set (2-of-2) nor the new one (2-of-2) is complete"),
        "{}",
        show(&refused)
    );
    assert!(!dir.join("unsafe.json").exists());
    assert_eq!(
        recover_with(&farm, &dir, &two_pins, &[&two[0], &two[1]]).unwrap(),
        MASTER
    );
}

/// Starts a one-reader reshare of the old set onto the three fresh cards.
fn start_swapped(farm: &Farm, dir: &Path, pins: &Path, old_bundle: &Path) -> Running {
    farm.clear_all();
    Running::start(&[
        "reshare",
        "--threshold",
        "2",
        "--shares",
        "3",
        "--label",
        "swapped-new",
        "--bundle",
        old_bundle.to_str().unwrap(),
        "--new-bundle",
        dir.join("swapped-new.quorum.json").to_str().unwrap(),
        "--reader",
        farm.reader_name(0),
        "--timeout",
        "4",
        "--pin-file",
        pins.to_str().unwrap(),
    ])
}

/// Inserts a card when asked, waits for `done`, and pulls it when asked.
fn swap_in(farm: &Farm, running: &mut Running, ask: &str, card: &Custodian, done: &str) {
    running.expect(ask);
    farm.insert(&card.card, 0);
    running.expect(done);
    running.expect("Remove the card");
    farm.remove(0);
}

/// Phase 0 through one reader: three old cards open, then the three fresh cards register.
fn through_phase_0(farm: &Farm, running: &mut Running, old: &[Custodian], fresh: &[Custodian]) {
    for c in &old[..3] {
        swap_in(
            farm,
            running,
            "Insert old-set custodian card",
            c,
            "share opened",
        );
    }
    for c in fresh {
        swap_in(
            farm,
            running,
            "Insert new-set card",
            c,
            "registered as new-set card",
        );
    }
}

#[test]
fn reshare_through_one_reader_interrupted_in_each_phase_leaves_a_complete_set() {
    let _guard = lock();
    let farm = Farm::connect();

    // Phase 0: only two old cards come; the timeout ends it and nothing was written.
    let dir = scratch("reshare-cut-0");
    let (old, _fresh, pins, old_bundle) = old_set_and_fresh_cards(&farm, &dir);
    let mut running = start_swapped(&farm, &dir, &pins, &old_bundle);
    for c in &old[..2] {
        swap_in(
            &farm,
            &mut running,
            "Insert old-set custodian card",
            c,
            "share opened",
        );
    }
    let (status, _, stderr) = running.finish();
    assert!(!status.success());
    assert!(
        stderr.contains("stopped in phase 1 of 3") && stderr.contains("nothing was written"),
        "{stderr}"
    );
    assert_eq!(
        recover_with(&farm, &dir, &pins, &[&old[0], &old[1], &old[4]]).unwrap(),
        MASTER
    );

    // Phase 1: one new card written, then nobody comes: the old set is still complete.
    let dir = scratch("reshare-cut-1");
    let (old, fresh, pins, old_bundle) = old_set_and_fresh_cards(&farm, &dir);
    let mut running = start_swapped(&farm, &dir, &pins, &old_bundle);
    through_phase_0(&farm, &mut running, &old, &fresh);
    swap_in(
        &farm,
        &mut running,
        "Insert a registered new-set card",
        &fresh[1],
        "written, read back and opened",
    );
    let (status, _, stderr) = running.finish();
    assert!(!status.success());
    assert!(
        stderr.contains("stopped in phase 2 of 3")
            && stderr.contains("the old set is still complete (5 of its 5")
            && stderr.contains("the new set is NOT complete (1 of its 3"),
        "{stderr}"
    );
    assert!(!dir.join("swapped-new.quorum.json").exists());
    assert_eq!(
        recover_with(&farm, &dir, &pins, &[&old[2], &old[3], &old[4]]).unwrap(),
        MASTER
    );

    // Phase 2: the new set is written, one old card wiped, then the timeout: both sets recover.
    let dir = scratch("reshare-cut-2");
    let (old, fresh, pins, old_bundle) = old_set_and_fresh_cards(&farm, &dir);
    let mut running = start_swapped(&farm, &dir, &pins, &old_bundle);
    through_phase_0(&farm, &mut running, &old, &fresh);
    for c in &fresh {
        swap_in(
            &farm,
            &mut running,
            "Insert a registered new-set card",
            c,
            "written, read back and opened",
        );
    }
    running.expect("Phase 3 of 3");
    swap_in(
        &farm,
        &mut running,
        "Insert an old card to wipe",
        &old[0],
        "wiped (factory reset",
    );
    let (status, _, stderr) = running.finish();
    assert!(!status.success());
    assert!(
        stderr.contains("stopped in phase 3 of 3")
            && stderr.contains("the new set is complete (3 of its 3")
            && stderr.contains("the old set is still complete (4 of its 5"),
        "{stderr}"
    );
    assert!(
        dir.join("swapped-new.quorum.json").exists(),
        "the new bundle is written when phase 1 ends"
    );
    assert_eq!(
        recover_with(&farm, &dir, &pins, &[&fresh[0], &fresh[2]]).unwrap(),
        MASTER
    );
    assert_eq!(
        recover_with(&farm, &dir, &pins, &[&old[1], &old[3], &old[4]]).unwrap(),
        MASTER
    );
}
