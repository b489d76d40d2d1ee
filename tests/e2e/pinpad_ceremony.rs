//! Ceremonies on a PIN pad reader through pcscd: the PIN is typed on the (virtual)
//! reader's keypad and never reaches quorumctl; cancel and timeout change nothing; a
//! ceremony can mix pinpad and host entry.

use crate::farm::{lock, Farm};
use crate::fixtures::text;
use crate::pinpad::{pinpad_reader_indexes, Pinpad};
use crate::run::{pin_file, run, run_ok, scratch, show};

const PAD_PIN: &str = "482916";
const NEW_PAD_PIN: &str = "73051946";

/// Fails the test if the PIN appears in anything quorumctl printed, as digits or as hex.
fn assert_pin_absent(output: &std::process::Output, pin: &str) {
    let all = format!("{}{}", text(&output.stdout), text(&output.stderr));
    let hex = hex::encode_upper(pin.as_bytes());
    assert!(
        !all.contains(pin),
        "the PIN appears in quorumctl's output:\n{all}"
    );
    assert!(
        !all.to_uppercase().replace(' ', "").contains(&hex),
        "the PIN appears as hex:\n{all}"
    );
}

#[test]
fn personalise_enroll_recover_and_change_the_pin_on_a_pinpad_reader() {
    let _guard = lock();
    let farm = Farm::connect();
    let dir = scratch("pinpad");
    farm.clear_all();
    let pad_index = pinpad_reader_indexes()[0];
    let pad = Pinpad::for_reader(pad_index);
    let pad_reader = farm.reader_name(pad_index).to_owned();

    // Personalise on the pinpad: the new PIN typed twice on the keypad; a first entry too
    // short is asked again, as the prompt asks again, and the card is not touched by it.
    let pad_card = farm.new_card(None);
    farm.insert(&pad_card, pad_index);
    pad.type_pin("123");
    pad.type_pin(PAD_PIN);
    pad.type_pin(PAD_PIN);
    let init = run_ok(&["--trace", "init", "--reader", &pad_reader]);
    assert!(
        text(&init.stderr).contains("PIN typed on the reader's pinpad"),
        "{}",
        show(&init)
    );
    assert!(
        text(&init.stderr).contains(&format!(
            "The new PIN was not taken: it needs 6 to 12 digits; the card is unchanged. Type the new PIN again, twice, on the keypad of reader \"{pad_reader}\"."
        )),
        "{}",
        show(&init)
    );
    assert_pin_absent(&init, PAD_PIN);
    let pad_fp = text(&init.stdout)
        .split("Fingerprint: ")
        .nth(1)
        .unwrap()
        .trim()
        .to_owned();

    // A second custodian on an ordinary reader, with host entry: a mixed ceremony.
    let host_card = farm.new_card(None);
    farm.insert(&host_card, 0);
    let host_pins = pin_file(&dir, "host-pin", &["615243".to_owned()]);
    run_ok(&[
        "init",
        "--reader",
        farm.reader_name(0),
        "--pin-file",
        host_pins.to_str().unwrap(),
    ]);

    let input = dir.join("master");
    std::fs::write(&input, b"typed on the keypad").unwrap();
    pad.type_pin(PAD_PIN);
    let enroll = run_ok(&[
        "--trace",
        "enroll",
        "--threshold",
        "2",
        "--label",
        "pinpad-set",
        "--in",
        input.to_str().unwrap(),
        "--bundle",
        dir.join("b.json").to_str().unwrap(),
        "--pin-file",
        host_pins.to_str().unwrap(),
    ]);
    let err = text(&enroll.stderr);
    assert!(
        err.contains(&format!(
            "Card {pad_fp}: PIN accepted (PIN typed on the reader's pinpad)"
        )),
        "{err}"
    );
    assert!(
        err.contains("PIN from file"),
        "the other card used the file: {err}"
    );
    assert_pin_absent(&enroll, PAD_PIN);

    // A wrong PIN on the keypad is asked again in place, the tries stated; the custodian
    // cancels on the keypad: the card is left out and nothing else happens.
    pad.type_pin("999999");
    pad.cancel();
    let cancelled = run(&[
        "recover",
        "--out",
        "-",
        "--pin-file",
        host_pins.to_str().unwrap(),
    ]);
    assert_eq!(cancelled.status.code(), Some(3), "{}", show(&cancelled));
    let err = text(&cancelled.stderr);
    assert!(
        err.contains("wrong PIN, 4 tries left; type it again on the reader's keypad"),
        "{}",
        show(&cancelled)
    );
    assert!(
        err.contains("cancelled on the reader"),
        "{}",
        show(&cancelled)
    );

    // A keypad that times out waits once more; twice, and the card is left out.
    pad.press_nothing();
    pad.press_nothing();
    let timed_out = run(&[
        "recover",
        "--out",
        "-",
        "--pinpad-timeout",
        "2",
        "--pin-file",
        host_pins.to_str().unwrap(),
    ]);
    let err = text(&timed_out.stderr);
    assert!(err.contains("it waits once more"), "{}", show(&timed_out));
    assert!(
        err.contains("no PIN was typed on the reader's keypad within 2 seconds"),
        "{}",
        show(&timed_out)
    );
    let status = text(&run_ok(&["status", "--reader", &pad_reader]).stdout);
    assert!(
        status.contains("4 of 5 tries left"),
        "cancel and timeout used no try: {status}"
    );

    // A wrong PIN, then the right one in the same ceremony; a time-out, then the PIN.
    pad.type_pin("999999");
    pad.type_pin(PAD_PIN);
    let retried = run_ok(&[
        "recover",
        "--out",
        "-",
        "--pin-file",
        host_pins.to_str().unwrap(),
    ]);
    assert_eq!(retried.stdout, b"typed on the keypad");
    assert!(
        text(&retried.stderr).contains("wrong PIN, 3 tries left; type it again"),
        "{}",
        show(&retried)
    );
    pad.press_nothing();
    pad.type_pin(PAD_PIN);
    let waited = run_ok(&[
        "recover",
        "--out",
        "-",
        "--pinpad-timeout",
        "2",
        "--pin-file",
        host_pins.to_str().unwrap(),
    ]);
    assert_eq!(waited.stdout, b"typed on the keypad");
    assert!(
        text(&waited.stderr).contains("it waits once more"),
        "{}",
        show(&waited)
    );

    // The right PIN on the keypad: recovery succeeds, and the PIN never reached quorumctl.
    pad.type_pin(PAD_PIN);
    let recovered = run_ok(&[
        "--trace",
        "recover",
        "--out",
        "-",
        "--pin-file",
        host_pins.to_str().unwrap(),
    ]);
    assert_eq!(recovered.stdout, b"typed on the keypad");
    assert_pin_absent(&recovered, PAD_PIN);

    // Change the PIN on the keypad: current, new, confirmation.
    pad.type_keys(&format!("{PAD_PIN} ok {NEW_PAD_PIN} ok {NEW_PAD_PIN} ok"));
    let changed = run_ok(&["--trace", "change-pin", "--reader", &pad_reader]);
    assert!(
        text(&changed.stdout).contains("was changed"),
        "{}",
        show(&changed)
    );
    assert_pin_absent(&changed, PAD_PIN);
    assert_pin_absent(&changed, NEW_PAD_PIN);
    pad.type_pin(NEW_PAD_PIN);
    let again = run_ok(&[
        "recover",
        "--out",
        "-",
        "--pin-file",
        host_pins.to_str().unwrap(),
    ]);
    assert_eq!(again.stdout, b"typed on the keypad");

    // --no-pinpad takes the PIN from the host even on the pinpad reader.
    let pad_pins = pin_file(
        &dir,
        "pad-pins",
        &[format!("{pad_fp} {NEW_PAD_PIN}"), "615243".to_owned()],
    );
    let bypass = run_ok(&[
        "recover",
        "--out",
        "-",
        "--no-pinpad",
        "--pin-file",
        pad_pins.to_str().unwrap(),
    ]);
    assert!(
        text(&bypass.stderr).contains("pinpad is not used (--no-pinpad)"),
        "{}",
        show(&bypass)
    );
    assert_eq!(bypass.stdout, b"typed on the keypad");
}
