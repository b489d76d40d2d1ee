//! An OpenPGP card keeps its owner's user PIN, whatever the card's rules allow: here the
//! virtual OpenPGP card's PIN is changed with plain APDUs (as `gpg --change-pin` would) to
//! a passphrase longer than any applet PIN and with letters, and a recovery takes it from a
//! PIN file; the same passphrase given to an applet card is refused before any try.

use crate::farm::{self, transmit, Farm, OpenPgp};
use crate::fixtures::{personalise, present, text, Custodian};
use crate::openpgp::{keyed_card, pins_for, recover, USER_PIN};
use crate::run::{run_ok, scratch, show};

/// The owner's own user PIN: letters, a dash, 20 characters.
const PASSPHRASE: &str = "tr0ub4dor-passphrase";

/// CHANGE REFERENCE DATA `00 24 00 81` with the factory PIN ‖ `new`, sent by the test itself.
fn change_user_pin(openpgp: &OpenPgp, reader: usize, new: &str) {
    let card = openpgp.connect_card(reader);
    let select = [
        0x00, 0xA4, 0x04, 0x00, 0x06, 0xD2, 0x76, 0x00, 0x01, 0x24, 0x01, 0x00,
    ];
    assert_eq!(transmit(&card, &select).1, 0x9000, "SELECT");
    let data = [USER_PIN.as_bytes(), new.as_bytes()].concat();
    let mut change = vec![0x00, 0x24, 0x00, 0x81, u8::try_from(data.len()).unwrap()];
    change.extend_from_slice(&data);
    assert_eq!(transmit(&card, &change).1, 0x9000, "CHANGE REFERENCE DATA");
    drop(card);
}

#[test]
fn an_openpgp_card_with_a_passphrase_user_pin_recovers_from_a_pin_file() {
    let _guard = farm::lock();
    let farm = Farm::connect();
    let openpgp = OpenPgp::connect();
    let _cleared = openpgp.cleared();
    let dir = scratch("openpgp-pins");
    let applet: Vec<Custodian> = personalise(&farm, &dir, 2);
    let pgp_fp = keyed_card(&openpgp, 0);

    let pins = pins_for(
        &dir,
        "pins",
        &applet,
        std::slice::from_ref(&pgp_fp),
        USER_PIN,
    );
    let master = dir.join("master.key");
    let bundle = dir.join("pins.quorum.json");
    let enrolled = run_ok(&[
        "enroll",
        "--threshold",
        "2",
        "--label",
        "pins",
        "--generate",
        "32",
        "--out",
        master.to_str().unwrap(),
        "--bundle",
        bundle.to_str().unwrap(),
        "--pin-file",
        pins.to_str().unwrap(),
    ]);
    assert!(
        text(&enrolled.stdout).contains(pgp_fp.as_str()),
        "{}",
        show(&enrolled)
    );
    let secret = std::fs::read(&master).unwrap();

    change_user_pin(&openpgp, 0, PASSPHRASE);
    present(&farm, &[&applet[0]]);
    let pins = pins_for(
        &dir,
        "passphrase.pins",
        &applet[..1],
        std::slice::from_ref(&pgp_fp),
        PASSPHRASE,
    );
    let out = dir.join("recovered");
    let done = recover(Some(&bundle), &pins, &out);
    assert!(done.status.success(), "{}", show(&done));
    assert_eq!(std::fs::read(&out).unwrap(), secret);

    // The passphrase given to the applet card too: refused before that card is asked,
    // naming the card and the applet's rule, never the PIN.
    let mut wrong_for_applet = applet[0].clone();
    wrong_for_applet.pin = PASSPHRASE.to_owned();
    let pins = pins_for(
        &dir,
        "wrong.pins",
        &[wrong_for_applet],
        std::slice::from_ref(&pgp_fp),
        PASSPHRASE,
    );
    let out = dir.join("never");
    let refused = recover(Some(&bundle), &pins, &out);
    assert!(!refused.status.success(), "{}", show(&refused));
    let said = format!("{}{}", text(&refused.stdout), text(&refused.stderr));
    assert!(
        said.contains(applet[0].fingerprint.as_str()) && said.contains("6 to 12 digits"),
        "{}",
        show(&refused)
    );
    assert!(!said.contains(PASSPHRASE), "{}", show(&refused));
    assert!(!out.exists());
}
