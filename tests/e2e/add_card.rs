//! `quorumctl add-card`: a quorum issues a share to a new card; the other cards stay as
//! they are, recovery mixes versions, and the bundle moves to the next version.

use quorum_protocol::bundle::Bundle;

use crate::farm::{lock, Farm};
use crate::fixtures::{enrolled, personalise_in, pins_of, present, text, Custodian};
use crate::run::{run, run_ok, scratch, show, Running};

fn recovered_with(dir: &std::path::Path, pins: &std::path::Path, name: &str) -> Vec<u8> {
    let out = dir.join(name);
    run_ok(&[
        "recover",
        "--out",
        out.to_str().unwrap(),
        "--pin-file",
        pins.to_str().unwrap(),
    ]);
    std::fs::read(&out).unwrap()
}

#[test]
fn add_card_with_a_quorum_then_recover_with_the_new_card() {
    let _guard = lock();
    let farm = Farm::connect();
    let dir = scratch("add-card");
    let master = b"root CA key that must outlive a lost card".to_vec();
    let (mut custodians, _, _) = enrolled(&farm, &dir, "grow", 2, 3, &master);
    let bundle_path = dir.join("grow.quorum.json");
    let before = std::fs::read_to_string(&bundle_path).unwrap();
    farm.clear_all();
    let dora = personalise_in(&farm, &dir, 2, 3);
    custodians.push(dora.clone());
    let pins = pins_of(&dir, "all.pins", &custodians);

    // Custodians 1 and 2 bring their cards; Dora's new card is in reader 2.
    farm.insert(&custodians[0].card, 0);
    farm.insert(&custodians[1].card, 1);
    // --name FINGERPRINT=NAME, as enroll takes it, names Dora and picks her card.
    let named = format!("{}=Dora", dora.fingerprint);
    let done = run_ok(&[
        "add-card",
        "--bundle",
        bundle_path.to_str().unwrap(),
        "--name",
        &named,
        "--pin-file",
        pins.to_str().unwrap(),
    ]);
    let stdout = text(&done.stdout);
    let bundle = Bundle::parse(&std::fs::read_to_string(&bundle_path).unwrap()).unwrap();
    assert_eq!((bundle.set_version, bundle.custodians.len()), (2, 4));
    assert_eq!(bundle.custodians[3].fingerprint, dora.fingerprint);
    // a share index drawn at random among the unused ones (crypto.md §8)
    let index = bundle.custodians[3].index;
    assert!(index > 3, "{index}");
    assert!(
        stdout.contains(&format!(
            "Added custodian {index} \"Dora\" to set \"grow\" (2-of-4), now version 2"
        )),
        "{}",
        show(&done)
    );
    let backup = dir.join("grow.quorum.json.v1");
    assert_eq!(std::fs::read_to_string(&backup).unwrap(), before);

    // The new card (version 2) and an old card that was not there (version 1) recover.
    present(&farm, &[&custodians[3], &custodians[2]]);
    assert_eq!(recovered_with(&dir, &pins, "with-dora.key"), master);
    // The new card alone passes its health check against the new bundle; so does an old one.
    for c in [&custodians[3], &custodians[2]] {
        present(&farm, &[c]);
        let checked = run_ok(&[
            "verify",
            "--bundle",
            bundle_path.to_str().unwrap(),
            "--pin-file",
            pins.to_str().unwrap(),
        ]);
        assert!(
            text(&checked.stdout).contains("agrees with the bundle"),
            "{}",
            show(&checked)
        );
    }

    // Without the bundle's new version the ceremony refuses a second new card that would
    // take index 4 again: the old bundle is older than Dora's card.
    farm.clear_all();
    let eve = personalise_in(&farm, &dir, 2, 4);
    custodians.push(eve.clone());
    let pins = pins_of(&dir, "all2.pins", &custodians);
    farm.insert(&custodians[3].card, 0);
    farm.insert(&custodians[0].card, 1);
    let stale = run(&[
        "add-card",
        "--bundle",
        backup.to_str().unwrap(),
        "--out-bundle",
        dir.join("stale.json").to_str().unwrap(),
        "--pin-file",
        pins.to_str().unwrap(),
    ]);
    assert_ne!(stale.status.code(), Some(0), "{}", show(&stale));
    assert!(
        text(&stale.stderr).contains("bundle is out of date"),
        "{}",
        show(&stale)
    );
    assert!(!dir.join("stale.json").exists());
    // Eve's card was not written: it is still only personalised.
    let status = run_ok(&["status", "--reader", farm.reader_name(2)]);
    assert!(
        text(&status.stdout).contains("PERSONALISED"),
        "{}",
        show(&status)
    );
}

#[test]
fn add_card_through_one_reader_names_wrong_and_repeated_cards() {
    let _guard = lock();
    let farm = Farm::connect();
    let dir = scratch("add-card-swap");
    let master = b"swapped through one reader".to_vec();
    let (mut custodians, _, _) = enrolled(&farm, &dir, "swap-grow", 2, 3, &master);
    let (other, _, _) = {
        // A card of another set, to be inserted by mistake.
        let other_dir = scratch("add-card-other");
        enrolled(&farm, &other_dir, "other-set", 1, 1, b"other")
    };
    let bundle_path = dir.join("swap-grow.quorum.json");
    farm.clear_all();
    let newcomer = personalise_in(&farm, &dir, 0, 7);
    farm.clear_all();
    custodians.push(newcomer.clone());
    let mut everyone: Vec<Custodian> = custodians.clone();
    everyone.push(other[0].clone());
    let pins = pins_of(&dir, "swap.pins", &everyone);
    let reader = farm.reader_name(0).to_owned();
    let mut running = Running::start(&[
        "add-card",
        "--bundle",
        bundle_path.to_str().unwrap(),
        "--reader",
        &reader,
        "--timeout",
        "30",
        "--pin-file",
        pins.to_str().unwrap(),
    ]);
    let cycle = |running: &mut Running, card: &Custodian, expect: &str| {
        running.expect("Insert custodian card");
        farm.insert(&card.card, 0);
        let line = running.expect(expect);
        running.expect("Remove the card");
        farm.remove(0);
        line
    };
    cycle(&mut running, &other[0], "belongs to another set");
    cycle(
        &mut running,
        &newcomer,
        "insert it when the new card is asked for",
    );
    cycle(&mut running, &custodians[0], "share opened (1 of 2)");
    cycle(&mut running, &custodians[0], "the same card twice");
    running.expect("Insert custodian card 2 of the 2 needed");
    farm.insert(&custodians[2].card, 0);
    running.expect("share opened (2 of 2)");
    running.expect("Remove the card");
    farm.remove(0);
    running.expect("Insert the NEW card");
    farm.insert(&newcomer.card, 0);
    let (status, stdout, stderr) = running.finish();
    assert!(status.success(), "{stderr}");
    let added = text(&stdout);
    // the default name "custodian 4" is not said next to the new custodian's index
    assert!(
        added.starts_with("Added custodian ")
            && added.contains(" to set \"swap-grow\" (2-of-4), now version 2")
            && !added.contains("\"custodian"),
        "{added}\n{stderr}"
    );
    // The new card and custodian 2 (who took no part) recover.
    present(&farm, &[&custodians[1], &newcomer]);
    assert_eq!(recovered_with(&dir, &pins, "swap.key"), master);
}
