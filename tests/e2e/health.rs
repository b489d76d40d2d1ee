//! `quorumctl verify`: one custodian alone proves their card still opens its share; a card
//! whose record was altered, a wrong PIN and a card of another set fail, each named.

use quorum_card::card::Card;
use quorum_pcsc::PcscContext;
use quorum_protocol::pin::PinBlock;
use quorum_protocol::record::{put_record_stream, PublicRecord};

use crate::farm::{lock, Farm, Sim};
use crate::fixtures::{enrolled, present, text, Custodian};
use crate::run::{pin_file, run, run_ok, scratch, show, Running};
use crate::secrets::pcscd_log_since;

/// Rewrites the card's public record with one byte of its own commitment changed,
/// keeping the sealed part: what an attacker with the PIN (or a faulty tool) could do.
fn alter_own_commitment(farm: &Farm, reader: usize, custodian: &Custodian) {
    let ctx = PcscContext::establish().unwrap();
    let mut card = Card::new(ctx.connect_pcsc(farm.reader_name(reader)).unwrap());
    card.select().unwrap();
    let mut record = PublicRecord::decode(&card.get_record_public().unwrap()).unwrap();
    card.verify(&PinBlock::new(&custodian.pin).unwrap())
        .unwrap();
    let sealed = card.get_record_sealed().unwrap();
    let index = record.index;
    let own = record
        .custodians
        .iter_mut()
        .find(|c| c.index == index)
        .unwrap();
    own.commitment[0] ^= 0x01;
    let stream = put_record_stream(&record.encode().unwrap(), &sealed).unwrap();
    card.put_record(&stream).unwrap();
}

#[test]
fn one_custodian_alone_checks_their_card_and_a_damaged_card_fails() {
    let _guard = lock();
    let farm = Farm::connect();
    let dir = scratch("verify");
    let (custodians, pins, _) = enrolled(&farm, &dir, "health", 2, 3, b"health check key");

    // One custodian, alone, with only their card.
    present(&farm, &[&custodians[1]]);
    let own_pin = pin_file(&dir, "own-pin", std::slice::from_ref(&custodians[1].pin));
    let done = run_ok(&["verify", "--pin-file", own_pin.to_str().unwrap()]);
    let stdout = text(&done.stdout);
    assert!(
        stdout.contains("Health check of 1 card(s)"),
        "{}",
        show(&done)
    );
    assert!(
        stdout.contains(&format!("ok     {}", custodians[1].fingerprint))
            && stdout.contains("its share opens and matches its commitment"),
        "{}",
        show(&done)
    );

    // A wrong PIN fails the check and says how many tries are left.
    let wrong = pin_file(&dir, "wrong-pin", &["999999".to_owned()]);
    let failed = run(&["verify", "--pin-file", wrong.to_str().unwrap()]);
    assert_eq!(failed.status.code(), Some(5), "{}", show(&failed));
    assert!(text(&failed.stdout).contains("FAILED"), "{}", show(&failed));
    // what failed is said once, in the result; the progress line gives the verdict
    assert!(
        text(&failed.stdout).contains("tries left") && !text(&failed.stderr).contains("tries left"),
        "{}",
        show(&failed)
    );

    // Every card present at once, each reported.
    present(&farm, &[&custodians[0], &custodians[1], &custodians[2]]);
    let all = run_ok(&["verify", "--pin-file", pins.to_str().unwrap()]);
    assert_eq!(
        text(&all.stdout).matches("ok     ").count(),
        3,
        "{}",
        show(&all)
    );

    // A card whose record was altered no longer opens its share; the others still do.
    alter_own_commitment(&farm, 2, &custodians[2]);
    let damaged = run(&["verify", "--pin-file", pins.to_str().unwrap()]);
    assert_eq!(damaged.status.code(), Some(4), "{}", show(&damaged));
    let stdout = text(&damaged.stdout);
    assert_eq!(stdout.matches("ok     ").count(), 2, "{}", show(&damaged));
    assert!(
        stdout.contains(&format!("FAILED {}", custodians[2].fingerprint))
            && stdout.contains("altered"),
        "{}",
        show(&damaged)
    );
    assert!(
        text(&damaged.stderr).contains("1 of 3 card(s) failed the health check"),
        "{}",
        show(&damaged)
    );
}

#[test]
fn verify_through_one_reader_checks_cards_one_after_the_other() {
    let _guard = lock();
    let farm = Farm::connect();
    let dir = scratch("verify-swap");
    let (custodians, pins, _) = enrolled(&farm, &dir, "health-swap", 2, 2, b"swap check key");
    farm.clear_all();
    let reader = farm.reader_name(0).to_owned();
    let mut running = Running::start(&[
        "verify",
        "--reader",
        &reader,
        "--count",
        "2",
        "--timeout",
        "30",
        "--pin-file",
        pins.to_str().unwrap(),
    ]);
    running.expect("Insert custodian card 1 of 2 to check");
    farm.insert(&custodians[0].card, 0);
    running.expect("Remove the card");
    farm.remove(0);
    running.expect("Insert custodian card 2 of 2 to check");
    farm.insert(&custodians[1].card, 0);
    let (status, stdout, stderr) = running.finish();
    assert!(status.success(), "{stderr}");
    assert_eq!(text(&stdout).matches("ok     ").count(), 2, "{stderr}");
}

#[test]
fn verify_no_open_proves_the_key_and_never_reads_the_share() {
    let _guard = lock();
    let farm = Farm::connect();
    let dir = scratch("verify-no-open");
    let (custodians, pins, bundle) = enrolled(&farm, &dir, "no-open", 2, 3, b"no-open key");
    let bundle_path = dir.join("no-open.quorum.json");
    present(&farm, &[&custodians[1]]);
    let log = Sim::pcscd_log();
    let from = std::fs::metadata(&log).map(|m| m.len()).unwrap_or(0);
    let done = run_ok(&[
        "verify",
        "--no-open",
        "--bundle",
        bundle_path.to_str().unwrap(),
        "--pin-file",
        pins.to_str().unwrap(),
    ]);
    let stdout = text(&done.stdout);
    for needle in [
        format!("ok     {}", custodians[1].fingerprint),
        "answered a fresh key challenge with the key its record lists".to_owned(),
        "its share was not read".to_owned(),
        "agrees with the bundle".to_owned(),
    ] {
        assert!(stdout.contains(&needle), "{needle}: {}", show(&done));
    }
    // the digest people compare, as the bundle has it
    let shown: String = bundle.set_digest.as_bytes()[..32]
        .chunks(4)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect::<Vec<_>>()
        .join("-");
    assert!(
        stdout.contains(&format!("Set digest: {shown}")),
        "{}",
        show(&done)
    );
    // one UNSEAL of a fresh point, and the sealed part never asked for
    let slice = pcscd_log_since(&log, from, 1);
    assert_eq!(
        slice.matches("APDU: 80 18 00 00 41 04 ").count(),
        1,
        "{slice}"
    );
    assert!(
        !slice.contains("APDU: 80 16 01 00"),
        "GET RECORD (sealed) was sent:\n{slice}"
    );
}
