//! OpenPGP cards beside applet cards in the other reader modes and in a reshare's new set
//! (issue 12): a reshare writes fresh OpenPGP cards and their records into the new bundle;
//! `--any-reader` takes OpenPGP cards inserted into their own readers while quorumctl waits;
//! `--reader` swaps OpenPGP cards through one OpenPGP reader. In the simulator applet cards
//! live in the farm's readers and OpenPGP cards in readers of their own, so a ceremony
//! through one reader is an all-OpenPGP one there.

use std::path::Path;

use quorum_protocol::bundle::Bundle;

use crate::farm::{self, Farm, OpenPgp};
use crate::fixtures::{personalise, present, text, Custodian};
use crate::openpgp::{fingerprint_of, keyed_card, pins_for, recover, USER_PIN};
use crate::run::{run, run_ok, scratch, show, Running};

/// A new keyed OpenPGP card in OpenPGP reader `reader`: its id (to move it) and fingerprint.
fn keyed_card_with_id(openpgp: &OpenPgp, reader: usize) -> (String, String) {
    let fp = keyed_card(openpgp, reader);
    let id = openpgp
        .cards()
        .into_iter()
        .find(|(_, r, _)| *r == Some(reader))
        .map(|(id, _, _)| id)
        .unwrap_or_else(|| panic!("no OpenPGP card in reader {reader}"));
    (id, fp)
}

/// Two new keyed OpenPGP cards, in OpenPGP readers 0 and 1: each card's id and fingerprint,
/// and the two fingerprints (for a PIN file).
fn two_keyed_cards(openpgp: &OpenPgp) -> ([(String, String); 2], [String; 2]) {
    let pgp = [
        keyed_card_with_id(openpgp, 0),
        keyed_card_with_id(openpgp, 1),
    ];
    let fps = [pgp[0].1.clone(), pgp[1].1.clone()];
    (pgp, fps)
}

/// The `State:` line of the card in `reader`, as `quorumctl status` prints it.
fn state_of(reader: &str) -> String {
    let status = text(&run_ok(&["status", "--reader", reader]).stdout);
    status
        .lines()
        .find(|l| l.starts_with("State:"))
        .unwrap_or_else(|| panic!("no state:\n{status}"))
        .to_owned()
}

/// The fingerprints of a bundle's custodians, in index order.
fn bundle_cards(bundle: &Path) -> Vec<String> {
    let parsed = Bundle::parse(&std::fs::read_to_string(bundle).unwrap()).unwrap();
    let records = parsed.decoded_records().unwrap();
    records
        .iter()
        .map(|r| {
            r.custodian(r.index)
                .expect("a record names its own custodian")
                .card_key
                .fingerprint()
        })
        .collect()
}

/// Enrolls the cards present `threshold`-of-all with a generated 32-byte master; returns it.
fn enroll_present(dir: &Path, label: &str, threshold: &str, pins: &Path, bundle: &Path) -> Vec<u8> {
    let master = dir.join(format!("{label}.master"));
    run_ok(&[
        "enroll",
        "--threshold",
        threshold,
        "--label",
        label,
        "--generate",
        "32",
        "--out",
        master.to_str().unwrap(),
        "--bundle",
        bundle.to_str().unwrap(),
        "--pin-file",
        pins.to_str().unwrap(),
    ]);
    std::fs::read(&master).unwrap()
}

#[test]
fn a_reshare_writes_a_fresh_openpgp_card_into_the_new_set_which_then_recovers() {
    let _guard = farm::lock();
    let farm = Farm::connect();
    let openpgp = OpenPgp::connect();
    let _cleared = openpgp.cleared();
    let dir = scratch("pgp-modes-reshare-in");
    let cards: Vec<Custodian> = personalise(&farm, &dir, 5);
    let (old, fresh) = cards.split_at(3);

    // The old set: three applet cards, 2-of-3.
    present(&farm, &[&old[0], &old[1], &old[2]]);
    let old_bundle = dir.join("old.quorum.json");
    let old_pins = pins_for(&dir, "old.pins", old, &[], USER_PIN);
    let secret = enroll_present(&dir, "old-applet", "2", &old_pins, &old_bundle);

    // The new set: two fresh applet cards and a fresh OpenPGP card, 2-of-3.
    let fp = keyed_card(&openpgp, 0);
    let pins = pins_for(&dir, "pins", &cards, std::slice::from_ref(&fp), USER_PIN);
    present(&farm, &[&old[0], &old[1], &old[2], &fresh[0], &fresh[1]]);
    let new_bundle = dir.join("new.quorum.json");
    let done = run(&[
        "reshare",
        "--threshold",
        "2",
        "--shares",
        "3",
        "--label",
        "new-with-pgp",
        "--bundle",
        old_bundle.to_str().unwrap(),
        "--new-bundle",
        new_bundle.to_str().unwrap(),
        "--pin-file",
        pins.to_str().unwrap(),
    ]);
    assert!(done.status.success(), "{}", show(&done));
    let said = text(&done.stdout);
    assert!(said.contains(&fp), "the OpenPGP card is named:\n{said}");
    assert_eq!(said.matches("wiped (blank now)").count(), 3, "{said}");

    // The OpenPGP card holds its share; the new bundle has its record.
    let (_, status) = fingerprint_of(openpgp.reader_name(0));
    assert!(
        status.contains("State:       ENROLLED") && status.contains("Share:       index "),
        "{status}"
    );
    let in_bundle = bundle_cards(&new_bundle);
    assert_eq!(in_bundle.len(), 3, "{in_bundle:?}");
    for c in [&fp, &fresh[0].fingerprint, &fresh[1].fingerprint] {
        assert!(in_bundle.contains(c), "{c} not in {in_bundle:?}");
    }
    for i in 0..3 {
        assert!(
            state_of(farm.reader_name(i)).contains("BLANK"),
            "old card {i} is wiped"
        );
    }

    // One fresh applet card and the OpenPGP card recover through the new bundle.
    present(&farm, &[&fresh[1]]);
    let out = dir.join("recovered");
    let recovered = recover(Some(&new_bundle), &pins, &out);
    assert!(recovered.status.success(), "{}", show(&recovered));
    assert_eq!(std::fs::read(&out).unwrap(), secret);

    // The old cards hold nothing: the old bundle opens no share with them.
    present(&farm, &[&old[0], &old[1], &old[2]]);
    openpgp.remove(0);
    let never = dir.join("never");
    let short = recover(Some(&old_bundle), &pins, &never);
    assert_eq!(short.status.code(), Some(3), "{}", show(&short));
    assert!(!never.exists());
}

#[test]
fn a_reshare_with_any_reader_moves_a_set_onto_both_openpgp_cards_which_recover_alone() {
    let _guard = farm::lock();
    let farm = Farm::connect();
    let openpgp = OpenPgp::connect();
    let _cleared = openpgp.cleared();
    let dir = scratch("pgp-modes-reshare-any");
    let cards: Vec<Custodian> = personalise(&farm, &dir, 3);
    let (old, fresh) = cards.split_at(2);

    present(&farm, &[&old[0], &old[1]]);
    let old_bundle = dir.join("old.quorum.json");
    let old_pins = pins_for(&dir, "old.pins", old, &[], USER_PIN);
    let secret = enroll_present(&dir, "old-two", "2", &old_pins, &old_bundle);

    // The new set, 2-of-3: a fresh applet card and both OpenPGP cards; the second OpenPGP
    // card comes into its reader when quorumctl asks for a card.
    let (pgp, fps) = two_keyed_cards(&openpgp);
    openpgp.remove(1);
    let pins = pins_for(&dir, "pins", &cards, &fps, USER_PIN);
    present(&farm, &[&old[0], &old[1], &fresh[0]]);
    let new_bundle = dir.join("new.quorum.json");
    let mut running = Running::start(&[
        "reshare",
        "--threshold",
        "2",
        "--shares",
        "3",
        "--label",
        "new-two-pgp",
        "--bundle",
        old_bundle.to_str().unwrap(),
        "--new-bundle",
        new_bundle.to_str().unwrap(),
        "--any-reader",
        "--timeout",
        "60",
        "--pin-file",
        pins.to_str().unwrap(),
    ]);
    running.expect("into any free reader");
    openpgp.insert(&pgp[1].0, 1);
    let (status, stdout, stderr) = running.finish();
    assert!(status.success(), "{stderr}");
    let said = text(&stdout);
    for fp in &fps {
        assert!(said.contains(fp.as_str()), "{fp}:\n{said}\n{stderr}");
    }
    let in_bundle = bundle_cards(&new_bundle);
    assert_eq!(in_bundle.len(), 3, "{in_bundle:?}");
    for i in 0..2 {
        assert!(
            state_of(farm.reader_name(i)).contains("BLANK"),
            "old card {i} is wiped:\n{stderr}"
        );
    }

    // Both OpenPGP cards alone recover, swapped in through any reader: the first present,
    // the second inserted when asked.
    farm.clear_all();
    openpgp.remove(1);
    let out = dir.join("recovered");
    let mut running = Running::start(&[
        "recover",
        "--any-reader",
        "--timeout",
        "60",
        "--bundle",
        new_bundle.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--pin-file",
        pins.to_str().unwrap(),
    ]);
    running.expect("into any free reader");
    openpgp.insert(&pgp[1].0, 1);
    let (status, _, stderr) = running.finish();
    assert!(status.success(), "{stderr}");
    assert_eq!(std::fs::read(&out).unwrap(), secret);
}

#[test]
fn any_reader_enrolls_and_recovers_a_mixed_set_with_openpgp_cards_inserted_when_asked() {
    let _guard = farm::lock();
    let farm = Farm::connect();
    let openpgp = OpenPgp::connect();
    let _cleared = openpgp.cleared();
    let dir = scratch("pgp-modes-any");
    let applet: Vec<Custodian> = personalise(&farm, &dir, 2);
    let (pgp, fps) = two_keyed_cards(&openpgp);
    openpgp.clear_all();
    let pins = pins_for(&dir, "pins", &applet, &fps, USER_PIN);

    // The two applet cards are present; each OpenPGP card comes when a card is asked for.
    let master = dir.join("master.key");
    let bundle = dir.join("any.quorum.json");
    let mut running = Running::start(&[
        "enroll",
        "--threshold",
        "3",
        "--shares",
        "4",
        "--label",
        "any-mixed",
        "--generate",
        "32",
        "--out",
        master.to_str().unwrap(),
        "--bundle",
        bundle.to_str().unwrap(),
        "--any-reader",
        "--timeout",
        "60",
        "--pin-file",
        pins.to_str().unwrap(),
    ]);
    for (k, (card, _)) in pgp.iter().enumerate() {
        running.expect("into any free reader");
        openpgp.insert(card, k);
    }
    let (status, stdout, stderr) = running.finish();
    assert!(status.success(), "{stderr}");
    assert!(
        text(&stdout).contains("Enrolled set \"any-mixed\" (3-of-4)"),
        "{stderr}"
    );
    assert_eq!(
        stderr.matches("Insert").count(),
        2,
        "the cards left in their readers are written without being asked for again:\n{stderr}"
    );
    let secret = std::fs::read(&master).unwrap();
    let in_bundle = bundle_cards(&bundle);
    for fp in &fps {
        assert!(in_bundle.contains(fp), "{fp} not in {in_bundle:?}");
    }

    // Recover with one applet card present; an OpenPGP card goes into the other OpenPGP
    // reader than it was enrolled in, then the other applet card into another farm reader.
    farm.clear_all();
    openpgp.clear_all();
    farm.insert(&applet[1].card, 3);
    let out = dir.join("recovered");
    let mut running = Running::start(&[
        "recover",
        "--any-reader",
        "--timeout",
        "60",
        "--bundle",
        bundle.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--pin-file",
        pins.to_str().unwrap(),
    ]);
    running.expect("into any free reader");
    openpgp.insert(&pgp[0].0, 1);
    running.expect("into any free reader");
    farm.insert(&applet[0].card, 5);
    let (status, _, stderr) = running.finish();
    assert!(status.success(), "{stderr}");
    assert_eq!(std::fs::read(&out).unwrap(), secret);
}

#[test]
fn one_openpgp_reader_recovers_and_checks_a_mixed_set_with_its_openpgp_cards_swapped() {
    let _guard = farm::lock();
    let farm = Farm::connect();
    let openpgp = OpenPgp::connect();
    let _cleared = openpgp.cleared();
    let dir = scratch("pgp-modes-one-reader");
    let applet: Vec<Custodian> = personalise(&farm, &dir, 1);
    let (pgp, fps) = two_keyed_cards(&openpgp);
    let pins = pins_for(&dir, "pins", &applet, &fps, USER_PIN);
    let bundle = dir.join("one.quorum.json");
    let secret = enroll_present(&dir, "one-reader-mixed", "2", &pins, &bundle);

    // Without the bundle an OpenPGP card inserted is set aside, and the bundle named.
    farm.clear_all();
    openpgp.clear_all();
    let reader = openpgp.reader_name(0).to_owned();
    let never = dir.join("never");
    let mut running = Running::start(&[
        "recover",
        "--reader",
        &reader,
        "--timeout",
        "3",
        "--out",
        never.to_str().unwrap(),
        "--pin-file",
        pins.to_str().unwrap(),
    ]);
    running.expect("Insert");
    openpgp.insert(&pgp[1].0, 0);
    let skipped = running.expect("Skipped");
    assert!(
        skipped.contains(&format!("Skipped {}: ", pgp[1].1))
            && skipped.contains("public record is kept in the set's bundle")
            && skipped.contains("--bundle FILE"),
        "the card is named by its key, and the bundle asked for: {skipped}"
    );
    running.expect("Remove");
    openpgp.remove(0);
    let (status, _, stderr) = running.finish();
    assert!(!status.success(), "{stderr}");
    assert!(stderr.contains("timed out after 3 s"), "{stderr}");
    assert!(!never.exists());

    // The two OpenPGP cards meet the threshold through OpenPGP reader 0 alone, the same
    // card twice named and skipped.
    let out = dir.join("recovered");
    let mut running = Running::start(&[
        "recover",
        "--reader",
        &reader,
        "--timeout",
        "60",
        "--bundle",
        bundle.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--pin-file",
        pins.to_str().unwrap(),
    ]);
    for (k, (card, _)) in [&pgp[1], &pgp[1], &pgp[0]].iter().enumerate() {
        running.expect("Insert");
        openpgp.insert(card, 0);
        if k == 1 {
            running.expect("already opened (the same card twice?)");
        }
        if k < 2 {
            running.expect("Remove");
            openpgp.remove(0);
        }
    }
    let (status, _, stderr) = running.finish();
    assert!(status.success(), "{stderr}");
    assert_eq!(std::fs::read(&out).unwrap(), secret);

    // A health check of both OpenPGP custodians, one after the other through the reader.
    openpgp.clear_all();
    let mut running = Running::start(&[
        "verify",
        "--reader",
        &reader,
        "--count",
        "2",
        "--timeout",
        "60",
        "--bundle",
        bundle.to_str().unwrap(),
        "--pin-file",
        pins.to_str().unwrap(),
    ]);
    for (k, (card, _)) in pgp.iter().enumerate() {
        running.expect("Insert");
        openpgp.insert(card, 0);
        if k == 0 {
            running.expect("Remove");
            openpgp.remove(0);
        }
    }
    let (status, stdout, stderr) = running.finish();
    assert!(status.success(), "{stderr}");
    for fp in &fps {
        assert!(
            text(&stdout).contains(&format!("ok     {fp}")),
            "{}\n{stderr}",
            text(&stdout)
        );
    }
}

#[test]
fn one_openpgp_reader_enrolls_and_reshares_an_openpgp_set_card_by_card() {
    let _guard = farm::lock();
    let farm = Farm::connect();
    let openpgp = OpenPgp::connect();
    let _cleared = openpgp.cleared();
    let dir = scratch("pgp-modes-one-reader-enroll");
    farm.clear_all();
    let (pgp, fps) = two_keyed_cards(&openpgp);
    openpgp.clear_all();
    let pins = pins_for(&dir, "pins", &[], &fps, USER_PIN);
    let reader = openpgp.reader_name(1).to_owned();
    let master = dir.join("master.key");
    let bundle = dir.join("pgp-only.quorum.json");
    let mut running = Running::start(&[
        "enroll",
        "--threshold",
        "2",
        "--shares",
        "2",
        "--label",
        "pgp-only",
        "--generate",
        "32",
        "--out",
        master.to_str().unwrap(),
        "--bundle",
        bundle.to_str().unwrap(),
        "--reader",
        &reader,
        "--timeout",
        "60",
        "--pin-file",
        pins.to_str().unwrap(),
    ]);
    // Registration: card 0, card 0 again (refused), card 1.
    for (k, (card, _)) in [&pgp[0], &pgp[0], &pgp[1]].iter().enumerate() {
        running.expect("Insert");
        openpgp.insert(card, 1);
        if k == 1 {
            running.expect("the same card twice");
        }
        running.expect("Remove");
        openpgp.remove(1);
    }
    // Writing, in the other order; the last card may stay in the reader.
    for (k, (card, _)) in [&pgp[1], &pgp[0]].iter().enumerate() {
        running.expect("Insert");
        openpgp.insert(card, 1);
        running.expect("share written, read back and opened");
        if k == 0 {
            running.expect("Remove");
            openpgp.remove(1);
        }
    }
    let (status, stdout, stderr) = running.finish();
    assert!(status.success(), "{stderr}");
    assert!(
        text(&stdout).contains("Enrolled set \"pgp-only\" (2-of-2)"),
        "{}\n{stderr}",
        text(&stdout)
    );
    let secret = std::fs::read(&master).unwrap();

    // Both cards in their readers recover through the bundle.
    openpgp.clear_all();
    openpgp.insert(&pgp[0].0, 0);
    openpgp.insert(&pgp[1].0, 1);
    let out = dir.join("recovered");
    let done = recover(Some(&bundle), &pins, &out);
    assert!(done.status.success(), "{}", show(&done));
    assert_eq!(std::fs::read(&out).unwrap(), secret);

    // A reshare through the one reader onto two fresh OpenPGP cards: the old cards' shares
    // opened, the fresh cards registered and written, the old cards' shares wiped.
    openpgp.clear_all();
    let (fresh, _) = two_keyed_cards(&openpgp);
    openpgp.clear_all();
    let all_fps: Vec<String> = pgp.iter().chain(&fresh).map(|c| c.1.clone()).collect();
    let all_pins = pins_for(&dir, "all.pins", &[], &all_fps, USER_PIN);
    let new_bundle = dir.join("pgp-moved.quorum.json");
    let mut running = Running::start(&[
        "reshare",
        "--threshold",
        "2",
        "--shares",
        "2",
        "--label",
        "pgp-moved",
        "--bundle",
        bundle.to_str().unwrap(),
        "--new-bundle",
        new_bundle.to_str().unwrap(),
        "--reader",
        &reader,
        "--timeout",
        "60",
        "--pin-file",
        all_pins.to_str().unwrap(),
    ]);
    let (old_ids, new_ids) = (
        [pgp[0].0.as_str(), pgp[1].0.as_str()],
        [fresh[0].0.as_str(), fresh[1].0.as_str()],
    );
    // Phase 0: the old cards, then the fresh ones; phase 1: the fresh ones; phase 2: the
    // old ones, the last of which may stay in.
    let order = [old_ids, new_ids, new_ids, old_ids].concat();
    for (k, card) in order.iter().enumerate() {
        running.expect("Insert");
        openpgp.insert(card, 1);
        if k + 1 < order.len() {
            running.expect("Remove");
            openpgp.remove(1);
        }
    }
    let (status, stdout, stderr) = running.finish();
    assert!(status.success(), "{stderr}");
    let said = text(&stdout);
    assert_eq!(
        said.matches("share wiped (an OpenPGP card; its key and PINs stay)")
            .count(),
        2,
        "{said}"
    );
    assert!(!said.contains("blank now"), "{said}");
    assert_eq!(
        stderr
            .matches("its share wiped (an OpenPGP card: its key and PINs stay")
            .count(),
        2,
        "{stderr}"
    );
    let (_, status) = fingerprint_of(&reader);
    assert!(
        status.contains("State:       PERSONALISED"),
        "the old card's share is wiped, its key kept: {status}"
    );
    let in_bundle = bundle_cards(&new_bundle);
    assert_eq!(in_bundle, vec![fresh[0].1.clone(), fresh[1].1.clone()]);

    // The fresh cards recover through the new bundle.
    openpgp.clear_all();
    openpgp.insert(&fresh[0].0, 0);
    openpgp.insert(&fresh[1].0, 1);
    let out = dir.join("recovered-moved");
    let done = recover(Some(&new_bundle), &all_pins, &out);
    assert!(done.status.success(), "{}", show(&done));
    assert_eq!(std::fs::read(&out).unwrap(), secret);
}
