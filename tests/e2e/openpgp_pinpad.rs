//! An OpenPGP custodian card on a PIN pad reader, end to end through pcscd: the user PIN
//! is typed on the (virtual) keypad with PC/SC Part 10 as GnuPG builds it for OpenPGP
//! cards (variable-length ASCII, no PIN block), for VERIFY and for the PIN change, and never
//! reaches quorumctl. The simulator's pinpads take the OpenPGP program's cards as well as
//! the farm's.

use crate::farm::{self, Farm, OpenPgp};
use crate::fixtures::{personalise, text};
use crate::openpgp::{fingerprint_of, make_decryption_key, USER_PIN};
use crate::pinpad::{pinpad_reader_indexes, Pinpad};
use crate::run::{pin_file, run, run_ok, scratch, show};

/// The user PIN the custodian chooses on the keypad.
const NEW_PIN: &str = "60517294";

/// Fails the test if `pin` appears in anything quorumctl printed.
fn assert_absent(output: &std::process::Output, pin: &str) {
    let all = format!("{}{}", text(&output.stdout), text(&output.stderr));
    assert!(!all.contains(pin), "a PIN appears in the output:\n{all}");
}

#[test]
fn an_openpgp_custodian_types_and_changes_its_user_pin_on_a_pinpad() {
    let _guard = farm::lock();
    let farm = Farm::connect();
    let openpgp = OpenPgp::connect();
    let _cleared = openpgp.cleared();
    let dir = scratch("openpgp-pinpad");
    let applet = personalise(&farm, &dir, 2);
    let pad_index = pinpad_reader_indexes()[0];
    let pad = Pinpad::for_reader(pad_index);
    let pad_reader = farm.reader_name(pad_index).to_owned();

    // The OpenPGP card gets its key in an OpenPGP reader, then goes into the pinpad.
    let card = openpgp.new_card();
    openpgp.insert(&card, 0);
    make_decryption_key(&openpgp, 0);
    let (pgp_fp, _) = fingerprint_of(openpgp.reader_name(0));
    openpgp.remove(0);
    openpgp.insert(&card, openpgp.index_of(&pad_reader));
    let status = text(&run_ok(&["status", "--reader", &pad_reader]).stdout);
    assert!(
        status.contains(&pgp_fp) && status.contains("OpenPGP"),
        "{status}"
    );

    // Enroll 2-of-3: the applet cards' PINs from a file, the OpenPGP card's on the keypad.
    let applet_pins: Vec<String> = applet
        .iter()
        .map(|c| format!("{} {}", c.fingerprint, c.pin))
        .collect();
    let pins = pin_file(&dir, "applet-pins", &applet_pins);
    let master = dir.join("master");
    std::fs::write(&master, b"opened through a keypad").unwrap();
    let bundle = dir.join("bundle.json");
    pad.type_pin(USER_PIN);
    let enroll = run_ok(&[
        "--trace",
        "enroll",
        "--threshold",
        "2",
        "--label",
        "openpgp-pinpad",
        "--in",
        master.to_str().unwrap(),
        "--bundle",
        bundle.to_str().unwrap(),
        "--pin-file",
        pins.to_str().unwrap(),
    ]);
    let said = text(&enroll.stderr);
    assert!(
        said.contains(&format!(
            "Card {pgp_fp}: PIN accepted (PIN typed on the reader's pinpad)"
        )),
        "{}",
        show(&enroll)
    );
    assert_absent(&enroll, USER_PIN);

    // Recover with the OpenPGP card and one applet card: a wrong PIN on the keypad is asked
    // again there with the tries stated, then the right one opens the share.
    farm.remove(1);
    pad.type_pin("999999");
    pad.type_pin(USER_PIN);
    let out = dir.join("recovered");
    let recovered = run_ok(&[
        "--trace",
        "recover",
        "--out",
        out.to_str().unwrap(),
        "--bundle",
        bundle.to_str().unwrap(),
        "--pin-file",
        pins.to_str().unwrap(),
    ]);
    assert_eq!(std::fs::read(&out).unwrap(), b"opened through a keypad");
    assert!(
        text(&recovered.stderr)
            .contains("wrong PIN, 2 tries left; type it again on the reader's keypad"),
        "{}",
        show(&recovered)
    );
    assert_absent(&recovered, USER_PIN);

    // Change the user PIN on the keypad (MODIFY PIN DIRECT): current, new, confirmation.
    pad.type_keys(&format!("{USER_PIN} ok {NEW_PIN} ok {NEW_PIN} ok"));
    let changed = run_ok(&["--trace", "change-pin", "--reader", &pad_reader]);
    assert!(
        text(&changed.stdout).contains("was changed"),
        "{}",
        show(&changed)
    );
    assert_absent(&changed, NEW_PIN);
    assert_absent(&changed, USER_PIN);
    assert_eq!(pad.last_outcome(), "sent 9000", "{}", show(&changed));

    // A confirmation that differs changes nothing and uses no try.
    pad.type_keys(&format!("{NEW_PIN} ok 111111 ok 222222 ok"));
    let mismatch = run(&["change-pin", "--reader", &pad_reader]);
    assert_ne!(mismatch.status.code(), Some(0), "{}", show(&mismatch));
    assert_eq!(pad.last_outcome(), "mismatch", "{}", show(&mismatch));

    // The new PIN opens the share; the old one no longer does.
    std::fs::remove_file(&out).unwrap();
    pad.type_pin(NEW_PIN);
    run_ok(&[
        "recover",
        "--out",
        out.to_str().unwrap(),
        "--bundle",
        bundle.to_str().unwrap(),
        "--pin-file",
        pins.to_str().unwrap(),
    ]);
    assert_eq!(std::fs::read(&out).unwrap(), b"opened through a keypad");
    let status = text(&run_ok(&["status", "--reader", &pad_reader]).stdout);
    assert!(status.contains("3 of 3 tries left"), "{status}");
}
