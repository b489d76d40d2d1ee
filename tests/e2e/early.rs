//! Options that cannot work are refused before any card is asked for a PIN: the threshold
//! against the cards, the label and names against the record's rules, an output in a
//! missing directory, a 1-of-m set without its flag. pcscd's APDU log shows no VERIFY.

use crate::farm::{lock, Farm, Sim};
use crate::fixtures::{personalise, pins_of, text};
use crate::run::{pin_file, run, scratch, show};
use crate::secrets::pcscd_log_since;

#[test]
fn enroll_refuses_impossible_options_before_any_pin() {
    let _guard = lock();
    let farm = Farm::connect();
    let dir = scratch("early");
    let cards = personalise(&farm, &dir, 3);
    let pins = pins_of(&dir, "early.pins", &cards);
    let master = dir.join("early.master");
    std::fs::write(&master, b"never enrolled").unwrap();
    let bundle = dir.join("early.quorum.json");
    let long_label = "x".repeat(300);
    let missing = dir.join("no-such-dir").join("key");
    let bidi = "Alice\u{202e}ecilA";
    let eve = "0000-1111-2222-3333=Eve";
    let named = format!("{}={bidi}", cards[0].fingerprint);
    let cases: Vec<(Vec<&str>, i32, &str)> = vec![
        (vec!["--threshold", "0"], 2, "--threshold"),
        (
            vec!["--threshold", "4"],
            2,
            "needs at least 4 cards, but 3 personalised card(s) are present",
        ),
        (
            vec!["--threshold", "3", "--shares", "2"],
            2,
            "more than the 2 cards of --shares",
        ),
        (vec!["--threshold", "1"], 2, "add --allow-single-card"),
        (vec!["--threshold", "2", "--label", ""], 2, "--label"),
        (
            vec!["--threshold", "2", "--label", &long_label],
            2,
            "--label",
        ),
        (
            vec!["--threshold", "2", "--name", eve],
            2,
            "no card with fingerprint 0000-1111-2222-3333",
        ),
        (
            vec!["--threshold", "2", "--name", &named],
            2,
            "printable UTF-8",
        ),
    ];
    let log = Sim::pcscd_log();
    let from = std::fs::metadata(&log).map(|m| m.len()).unwrap_or(0);
    for (options, code, says) in &cases {
        let mut args = vec!["enroll"];
        args.extend_from_slice(options);
        if !options.contains(&"--label") {
            args.extend_from_slice(&["--label", "early"]);
        }
        args.extend_from_slice(&[
            "--in",
            master.to_str().unwrap(),
            "--bundle",
            bundle.to_str().unwrap(),
            "--pin-file",
            pins.to_str().unwrap(),
        ]);
        let done = run(&args);
        assert_eq!(
            done.status.code(),
            Some(*code),
            "{options:?}: {}",
            show(&done)
        );
        assert!(
            text(&done.stderr).contains(says),
            "{options:?}: {}",
            show(&done)
        );
        assert!(!bundle.exists(), "{options:?}: a bundle was written");
    }
    // a generated secret whose --out directory does not exist: refused before any card
    let done = run(&[
        "enroll",
        "--threshold",
        "2",
        "--label",
        "early",
        "--generate",
        "32",
        "--out",
        missing.to_str().unwrap(),
        "--bundle",
        bundle.to_str().unwrap(),
        "--pin-file",
        pins.to_str().unwrap(),
    ]);
    assert_eq!(done.status.code(), Some(8), "{}", show(&done));
    assert!(
        text(&done.stderr).contains("does not exist"),
        "{}",
        show(&done)
    );
    let slice = pcscd_log_since(&log, from, 0);
    // the log is on: the count and name checks read every card (SELECT, whose 1.2+ answer
    // carries the status) ...
    assert!(
        slice.contains("APDU: 00 A4 04 00"),
        "pcscd logged no APDU:\n{slice}"
    );
    // ... and none of them was sent a PIN or a record
    assert!(
        !slice.contains("APDU: 00 20 00 81 0C"),
        "a PIN was sent:\n{slice}"
    );
    assert!(
        !slice.contains("APDU: 80 14"),
        "a record was written:\n{slice}"
    );
}

#[test]
fn exit_codes_follow_the_readme() {
    let _guard = lock();
    let farm = Farm::connect();
    let dir = scratch("exit-codes");
    // (verify with a wrong PIN exits 5: health::one_custodian_alone_checks_their_card_…)
    // a retry limit the card would refuse is a usage error, refused before any card (2)
    farm.clear_all();
    let blank = farm.new_card(None);
    farm.insert(&blank, 0);
    let pin = pin_file(&dir, "init-pin", &["123456".to_owned()]);
    let reader = farm.reader_name(0).to_owned();
    let retries = run(&[
        "init",
        "--reader",
        &reader,
        "--retries",
        "20",
        "--pin-file",
        pin.to_str().unwrap(),
    ]);
    assert_eq!(retries.status.code(), Some(2), "{}", show(&retries));
    // init on an empty reader: no card present, as `status` says with no card anywhere (3)
    farm.clear_all();
    let empty = run(&[
        "init",
        "--reader",
        &reader,
        "--pin-file",
        pin.to_str().unwrap(),
    ]);
    assert_eq!(empty.status.code(), Some(3), "{}", show(&empty));
    let status = run(&["status"]);
    assert_eq!(status.status.code(), Some(3), "{}", show(&status));
}
