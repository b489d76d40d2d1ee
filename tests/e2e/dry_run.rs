//! `--dry-run` on every ceremony that writes: the checks run and each card present is said
//! with its part, a refusal is the real run's, and nothing changes: pcscd's APDU log shows
//! no VERIFY, no write, no key made and no reset; no bundle is written; the ceremony log
//! gets no line.

use crate::farm::{lock, Farm, Sim};
use crate::fixtures::{enrolled, personalise_in, pins_of, present, text, Custodian};
use crate::run::{log_path, pin_file, run, scratch, show};
use crate::secrets::pcscd_log_since;

/// Commands a dry run never sends (INS after CLA, as pcscd logs them).
const CHANGES: [&str; 8] = [
    "APDU: 00 20", // VERIFY
    "APDU: 00 24", // CHANGE REFERENCE DATA
    "APDU: 80 12", // INITIALISE
    "APDU: 80 14", // PUT RECORD
    "APDU: 90 14", // PUT RECORD, more to come
    "APDU: 80 18", // UNSEAL
    "APDU: 80 1C", // PREPARE KEY
    "APDU: 80 1E", // FACTORY RESET
];

fn log_lines() -> usize {
    std::fs::read_to_string(log_path())
        .map(|s| s.lines().count())
        .unwrap_or(0)
}

#[test]
fn dry_runs_say_what_each_card_would_do_and_change_nothing() {
    let _guard = lock();
    let farm = Farm::connect();
    let dir = scratch("dry-run");
    let (set, _, _) = enrolled(&farm, &dir, "dry", 2, 3, b"a master for dry runs");
    let bundle = dir.join("dry.quorum.json");
    // the minutes of that finished enrollment, without a plan: from its bundle and its log line
    let minutes = dir.join("minutes.md");
    let done = run(&[
        "plan",
        "runbook",
        "--bundle",
        bundle.to_str().unwrap(),
        "--out",
        minutes.to_str().unwrap(),
    ]);
    assert!(done.status.success(), "{}", show(&done));
    let book = std::fs::read_to_string(&minutes).unwrap();
    assert!(
        book.starts_with("# Key ceremony minutes: enrollment of set \"dry\""),
        "{book}"
    );
    assert!(
        book.contains("quorumctl enroll --threshold 2 --label dry --in MASTER-FILE"),
        "{book}"
    );
    assert!(
        book.contains("log head after: ") && !book.contains("log head after: ____"),
        "{book}"
    );
    farm.clear_all();
    let blank = farm.new_card(None);
    farm.insert(&blank, 0);
    let fresh = personalise_in(&farm, &dir, 1, 7);
    let other = personalise_in(&farm, &dir, 2, 8);
    let everyone: Vec<Custodian> = set.iter().chain([&fresh, &other]).cloned().collect();
    let pins = pins_of(&dir, "dry-all.pins", &everyone);
    let pins = pins.to_str().unwrap();
    let pcscd = Sim::pcscd_log();
    let from = std::fs::metadata(&pcscd).map(|m| m.len()).unwrap_or(0);
    let logged = log_lines();

    // init on a blank card
    let reader0 = farm.reader_name(0).to_owned();
    let done = run(&["init", "--dry-run", "--reader", &reader0]);
    assert!(done.status.success(), "{}", show(&done));
    let out = text(&done.stdout);
    assert!(
        out.contains(
            "Dry run of init: no PIN was asked, no card or file was written, nothing was logged."
        ),
        "{out}"
    );
    assert!(out.contains("blank; would get its PIN (typed twice) and a key pair made on the card, with 5 PIN tries"), "{out}");

    // enroll: two personalised cards and the blank one; the blank one is refused as the
    // real run refuses it, before any PIN
    let named = format!("{}=Frank", fresh.fingerprint);
    let master = dir.join("dry.master");
    let new_bundle = dir.join("dry2.quorum.json");
    let enroll = |extra: &[&str]| {
        let mut args = vec![
            "enroll",
            "--dry-run",
            "--threshold",
            "2",
            "--label",
            "dry2",
            "--in",
            master.to_str().unwrap(),
            "--bundle",
            new_bundle.to_str().unwrap(),
            "--name",
            &named,
            "--pin-file",
            pins,
        ];
        args.extend_from_slice(extra);
        run(&args)
    };
    let done = enroll(&[]);
    assert_eq!(done.status.code(), Some(4), "{}", show(&done));
    assert!(
        text(&done.stderr).contains("no PIN was asked"),
        "{}",
        show(&done)
    );
    farm.remove(0);
    let done = enroll(&[]);
    assert!(done.status.success(), "{}", show(&done));
    let out = text(&done.stdout);
    assert!(
        out.contains(&format!(
            "Frank (card {}): would hold share 1 (",
            fresh.fingerprint
        )),
        "{out}"
    );
    assert!(
        out.contains(&format!("card {}: would hold share 2 (", other.fingerprint)),
        "{out}"
    );
    assert!(
        out.contains("Left to the real run: each PIN, by its card."),
        "{out}"
    );
    assert!(!new_bundle.exists(), "a dry run wrote the bundle");
    // one reader: the card in it now, and what is still to come
    let reader1 = farm.reader_name(1).to_owned();
    let done = enroll(&["--reader", &reader1, "--shares", "3"]);
    assert!(done.status.success(), "{}", show(&done));
    let out = text(&done.stdout);
    assert!(out.contains("Frank (card"), "{out}");
    assert!(
        out.contains("Still needed: 2 more custodian cards, asked for as the ceremony goes."),
        "{out}"
    );

    // add-card: a quorum of the set and the new card
    present(&farm, &[&set[0], &set[1]]);
    farm.insert(&fresh.card, 2);
    let add = |extra: &[&str]| {
        let mut args = vec![
            "add-card",
            "--dry-run",
            "--bundle",
            bundle.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        run(&args)
    };
    let done = add(&["--name", "Grace", "--pin-file", pins]);
    assert!(done.status.success(), "{}", show(&done));
    let out = text(&done.stdout);
    assert!(
        out.contains(&format!(
            "card {}: would open share 1; PIN from file",
            set[0].fingerprint
        )),
        "{out}"
    );
    assert!(
        out.contains(&format!("Grace (card {}): the new card", fresh.fingerprint)),
        "{out}"
    );
    // a PIN file without a line for a card is found now, as the real run would
    let partial = pin_file(
        &dir,
        "partial.pins",
        &[format!("{} {}", set[0].fingerprint, set[0].pin)],
    );
    let done = add(&["--pin-file", partial.to_str().unwrap()]);
    assert!(!done.status.success(), "{}", show(&done));
    // with every reader, too few cards of the set: the real run would stop (exit 3)
    present(&farm, &[&set[0]]);
    farm.insert(&fresh.card, 1);
    let done = add(&["--pin-file", pins]);
    assert_eq!(done.status.code(), Some(3), "{}", show(&done));
    assert!(
        text(&done.stderr).contains("the real run would stop"),
        "{}",
        show(&done)
    );
    // any reader: the same cards are fine, the rest is asked for as it goes
    let done = add(&["--any-reader", "--pin-file", pins]);
    assert!(done.status.success(), "{}", show(&done));
    assert!(
        text(&done.stdout).contains("Still needed: 1 more card of the set to open the quorum"),
        "{}",
        show(&done)
    );

    // reshare: two old cards, a fresh one
    present(&farm, &[&set[0], &set[1]]);
    farm.insert(&fresh.card, 2);
    let done = run(&[
        "reshare",
        "--dry-run",
        "--bundle",
        bundle.to_str().unwrap(),
        "--threshold",
        "1",
        "--allow-single-card",
        "--label",
        "dry3",
        "--shares",
        "1",
        "--pin-file",
        pins,
    ]);
    assert!(done.status.success(), "{}", show(&done));
    let out = text(&done.stdout);
    assert!(out.contains("would open share 2"), "{out}");
    assert!(
        out.contains(&format!(
            "card {}: would hold a share of the new set",
            fresh.fingerprint
        )),
        "{out}"
    );

    // change-pin: both PINs from files, checked but not sent
    let new_pin = pin_file(&dir, "new.pin", &["975310".to_owned()]);
    let done = run(&[
        "change-pin",
        "--dry-run",
        "--reader",
        farm.reader_name(0),
        "--pin-file",
        pins,
        "--new-pin-file",
        new_pin.to_str().unwrap(),
    ]);
    assert!(done.status.success(), "{}", show(&done));
    assert!(
        text(&done.stdout).contains("its PIN would be changed (5 tries left"),
        "{}",
        show(&done)
    );

    // reset-card: a wrong confirmation is refused as the real run refuses it
    let reset = |confirm: &str| {
        run(&[
            "reset-card",
            "--dry-run",
            "--reader",
            farm.reader_name(0),
            "--confirm",
            confirm,
        ])
    };
    let done = reset("0000-0000-0000-0000");
    assert_eq!(done.status.code(), Some(2), "{}", show(&done));
    let done = reset(&set[0].fingerprint);
    assert!(done.status.success(), "{}", show(&done));
    assert!(
        text(&done.stdout).contains(
            "would be erased, DESTROYING share 1 of set \"dry\" (2-of-3); --confirm names it"
        ),
        "{}",
        show(&done)
    );

    // nothing changed anywhere
    let slice = pcscd_log_since(&pcscd, from, 0);
    assert!(
        slice.contains("APDU: 00 A4 04 00"),
        "pcscd logged no APDU:\n{slice}"
    );
    for command in CHANGES {
        assert!(
            !slice.contains(command),
            "a dry run sent {command}:\n{slice}"
        );
    }
    assert_eq!(log_lines(), logged, "a dry run wrote to the ceremony log");
}
