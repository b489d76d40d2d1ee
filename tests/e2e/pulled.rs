//! A card pulled out in the middle of a step: quorumctl names what happened, nothing on
//! the card changed, and the ceremony goes on when the card comes back.

use crate::farm::{lock, Farm};
use crate::fixtures::{enrolled, text};
use crate::pinpad::{pinpad_reader_indexes, Pinpad};
use crate::run::{scratch, Running};

#[test]
fn a_card_pulled_while_its_pin_is_typed_is_named_and_can_come_back() {
    let _guard = lock();
    let farm = Farm::connect();
    let dir = scratch("pulled");
    let master = b"pulled too early".to_vec();
    let (custodians, _, _) = enrolled(&farm, &dir, "pulled", 2, 3, &master);
    farm.clear_all();
    let pad_index = pinpad_reader_indexes()[0];
    let pad = Pinpad::for_reader(pad_index);
    let out = dir.join("pulled.key");
    let mut running = Running::start(&[
        "recover",
        "--reader",
        farm.reader_name(pad_index),
        "--timeout",
        "60",
        "--pinpad-timeout",
        "30",
        "--out",
        out.to_str().unwrap(),
    ]);
    running.expect("Insert a custodian card");
    farm.insert(&custodians[0].card, pad_index);
    running.expect(&format!(
        "on the keypad of reader \"{}\"",
        pad.reader_name()
    ));
    // The custodian pulls the card while the reader waits for the PIN, then types it.
    farm.pull(pad_index);
    std::thread::sleep(std::time::Duration::from_millis(300));
    pad.type_pin(&custodians[0].pin);
    let skipped = running.expect("Skipped");
    assert!(
        skipped.contains(&custodians[0].fingerprint)
            && skipped.contains("was pulled out of the reader")
            && skipped.contains("nothing on the card changed"),
        "{skipped}"
    );
    // The same card again, left in this time, then a second custodian.
    running.expect("Insert a custodian card");
    pad.type_pin(&custodians[0].pin);
    farm.insert(&custodians[0].card, pad_index);
    running.expect("share opened (1 of 2)");
    running.expect("Remove the card");
    farm.remove(pad_index);
    running.expect("Insert a custodian card");
    pad.type_pin(&custodians[2].pin);
    farm.insert(&custodians[2].card, pad_index);
    let (status, _, stderr) = running.finish();
    assert!(status.success(), "{stderr}");
    assert_eq!(std::fs::read(&out).unwrap(), master);
    assert!(text(stderr.as_bytes()).contains("Used"), "{stderr}");
}
