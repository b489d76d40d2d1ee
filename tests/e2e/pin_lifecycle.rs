//! The PIN's life cycle on the host-entry path: wrong PINs count down, a blocked card is
//! skipped by recover, and only a confirmed factory reset makes it usable again.

use crate::farm::{lock, Farm};
use crate::fixtures::{enrolled, pins_of, present, text};
use crate::run::{pin_file, run, run_ok, scratch, show};

#[test]
fn a_blocked_card_is_skipped_and_only_a_confirmed_reset_revives_it() {
    let _guard = lock();
    let farm = Farm::connect();
    let dir = scratch("blocked");
    let (custodians, good_pins, _) =
        enrolled(&farm, &dir, "blocked-set", 1, 2, b"survives a blocked card");
    let mut bad = custodians.clone();
    bad[0].pin = "000000".to_owned();
    let bad_pins = pins_of(&dir, "bad.pins", &bad);
    present(&farm, &[&custodians[0]]);
    for left in (0..5).rev() {
        let failed = run(&[
            "recover",
            "--out",
            "-",
            "--pin-file",
            bad_pins.to_str().unwrap(),
        ]);
        assert_eq!(failed.status.code(), Some(3), "{}", show(&failed));
        let expected = match left {
            0 => "the PIN is now blocked".to_owned(),
            1 => "1 try left".to_owned(),
            n => format!("{n} tries left"),
        };
        assert!(
            text(&failed.stderr).contains(&expected),
            "{}",
            show(&failed)
        );
    }
    // Blocked for good: even the right PIN is refused, and recover skips the card.
    present(&farm, &[&custodians[0], &custodians[1]]);
    let done = run_ok(&[
        "recover",
        "--out",
        "-",
        "--pin-file",
        good_pins.to_str().unwrap(),
    ]);
    assert_eq!(done.stdout, b"survives a blocked card");
    let err = text(&done.stderr);
    assert!(
        err.contains(&format!("Skipped {}", custodians[0].fingerprint)) && err.contains("blocked"),
        "{err}"
    );
    let status = text(&run_ok(&["status", "--reader", farm.reader_name(0)]).stdout);
    assert!(status.contains("PIN:         BLOCKED"), "{status}");

    // A wrong confirmation changes nothing.
    let refused = run(&[
        "reset-card",
        "--reader",
        farm.reader_name(0),
        "--confirm",
        &custodians[1].fingerprint,
    ]);
    assert_eq!(refused.status.code(), Some(2), "{}", show(&refused));
    assert!(
        text(&refused.stderr).contains("was NOT reset"),
        "{}",
        show(&refused)
    );
    assert!(
        text(&refused.stderr).contains("blocked-set"),
        "the set it would destroy is shown: {}",
        show(&refused)
    );
    let status = text(&run_ok(&["status", "--reader", farm.reader_name(0)]).stdout);
    assert!(status.contains("State:       ENROLLED"), "{status}");

    // Without a terminal and without --confirm, nothing happens either.
    let usage = run(&["reset-card", "--reader", farm.reader_name(0)]);
    assert_eq!(usage.status.code(), Some(2), "{}", show(&usage));

    let reset = run_ok(&[
        "reset-card",
        "--reader",
        farm.reader_name(0),
        "--confirm",
        &custodians[0].fingerprint,
    ]);
    assert!(
        text(&reset.stdout).contains("factory-reset"),
        "{}",
        show(&reset)
    );
    let status = text(&run_ok(&["status", "--reader", farm.reader_name(0)]).stdout);
    assert!(status.contains("State:       BLANK"), "{status}");

    // Usable again, with a new key.
    let pin = pin_file(&dir, "new-pin", &["135790".to_owned()]);
    let init = text(
        &run_ok(&[
            "init",
            "--reader",
            farm.reader_name(0),
            "--pin-file",
            pin.to_str().unwrap(),
        ])
        .stdout,
    );
    let fingerprint = init
        .split("Fingerprint: ")
        .nth(1)
        .unwrap()
        .trim()
        .to_owned();
    assert_ne!(
        fingerprint, custodians[0].fingerprint,
        "a reset card gets a new key"
    );
}

#[test]
fn change_pin_with_the_pin_typed_on_the_host() {
    let _guard = lock();
    let farm = Farm::connect();
    let dir = scratch("change-pin");
    let (custodians, old_pins, _) = enrolled(&farm, &dir, "change-pin", 1, 1, b"pin changed");
    present(&farm, &[&custodians[0]]);
    let reader = farm.reader_name(0);
    let new_pin = pin_file(&dir, "new", &["80808080".to_owned()]);

    // The new PIN must come from somewhere when the old one comes from a file.
    let usage = run(&[
        "change-pin",
        "--reader",
        reader,
        "--pin-file",
        old_pins.to_str().unwrap(),
    ]);
    assert_eq!(usage.status.code(), Some(2), "{}", show(&usage));
    assert!(
        text(&usage.stderr).contains("--new-pin-file"),
        "{}",
        show(&usage)
    );

    // A wrong current PIN changes nothing and costs a try.
    let wrong = pin_file(&dir, "wrong", &["111111".to_owned()]);
    let failed = run(&[
        "change-pin",
        "--reader",
        reader,
        "--pin-file",
        wrong.to_str().unwrap(),
        "--new-pin-file",
        new_pin.to_str().unwrap(),
    ]);
    assert_eq!(failed.status.code(), Some(5), "{}", show(&failed));
    assert!(
        text(&failed.stderr).contains("wrong PIN; 4 tries left"),
        "{}",
        show(&failed)
    );

    let done = run_ok(&[
        "change-pin",
        "--reader",
        reader,
        "--pin-file",
        old_pins.to_str().unwrap(),
        "--new-pin-file",
        new_pin.to_str().unwrap(),
    ]);
    assert!(
        text(&done.stdout).contains("was changed"),
        "{}",
        show(&done)
    );
    assert!(
        text(&done.stderr).contains("PIN from file"),
        "the path used is said: {}",
        show(&done)
    );
    let status = text(&run_ok(&["status", "--reader", reader]).stdout);
    assert!(
        status.contains("5 of 5 tries left"),
        "a correct PIN restores the tries: {status}"
    );

    let old = run(&[
        "recover",
        "--out",
        "-",
        "--pin-file",
        old_pins.to_str().unwrap(),
    ]);
    assert_eq!(
        old.status.code(),
        Some(3),
        "the old PIN no longer opens the share: {}",
        show(&old)
    );
    let recovered = run_ok(&[
        "recover",
        "--out",
        "-",
        "--pin-file",
        new_pin.to_str().unwrap(),
    ]);
    assert_eq!(recovered.stdout, b"pin changed");
}
