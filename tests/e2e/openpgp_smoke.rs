//! End-to-end tests through a real pcscd and vpcd, below quorumctl: the simulator's
//! virtual OpenPGP cards (sim/openpgp-card, opcard on trussed) answer as an OpenPGP card
//! 3.4 does, and keep their state when pulled and put back, as a real card does. Plain
//! APDUs with the `pcsc` crate; nothing of quorum's own code is used.

use crate::farm::{self, transmit, OpenPgp};

/// SELECT of the OpenPGP application by its registered AID prefix (RID D2 76 00 01 24,
/// application 01).
const SELECT_OPENPGP: [u8; 11] = [
    0x00, 0xA4, 0x04, 0x00, 0x06, 0xD2, 0x76, 0x00, 0x01, 0x24, 0x01,
];
/// GET DATA of the application related data (DO 6E).
const GET_APPLICATION_DATA: [u8; 5] = [0x00, 0xCA, 0x00, 0x6E, 0x00];
/// VERIFY of PW1 for decipher and other operations (P2 = 82) with the factory user PIN
/// 123456.
const VERIFY_USER_PIN: [u8; 11] = [
    0x00, 0x20, 0x00, 0x82, 0x06, 0x31, 0x32, 0x33, 0x34, 0x35, 0x36,
];
/// The same with a wrong PIN, 654321.
const VERIFY_WRONG_PIN: [u8; 11] = [
    0x00, 0x20, 0x00, 0x82, 0x06, 0x36, 0x35, 0x34, 0x33, 0x32, 0x31,
];
/// VERIFY without data: asks for PW1's state (9000 when verified, 63Cx: x tries left).
const PW1_STATE: [u8; 4] = [0x00, 0x20, 0x00, 0x82];

/// Selects the application and returns the serial number from the AID in DO 6E: the
/// TLV 4F 10 <16-byte AID> that the application related data begin with (bytes 10..14
/// of the AID are the serial).
fn select_and_read_serial(card: &pcsc::Card) -> String {
    assert_eq!(
        transmit(card, &SELECT_OPENPGP).1,
        0x9000,
        "SELECT of the OpenPGP AID"
    );
    let (data, sw) = transmit(card, &GET_APPLICATION_DATA);
    assert_eq!(sw, 0x9000, "GET DATA 6E");
    assert!(data.len() >= 18, "DO 6E too short: {}", hex::encode(&data));
    assert_eq!(
        data[0],
        0x4F,
        "DO 6E begins with the AID: {}",
        hex::encode(&data)
    );
    assert_eq!(data[1], 0x10, "a 16-byte AID");
    let aid = &data[2..18];
    assert_eq!(
        &aid[..6],
        &[0xD2, 0x76, 0x00, 0x01, 0x24, 0x01],
        "RID and application"
    );
    hex::encode_upper(&aid[10..14])
}

fn serial_in_list(openpgp: &OpenPgp, card: &str) -> String {
    openpgp
        .cards()
        .into_iter()
        .find(|(id, _, _)| id == card)
        .unwrap_or_else(|| panic!("card {card} is not in the program's list"))
        .2
}

#[test]
fn an_openpgp_card_answers_and_keeps_its_pin_tries_across_readers() {
    let _serial = farm::lock();
    let openpgp = OpenPgp::connect();
    openpgp.clear_all();

    let card = openpgp.new_card();
    openpgp.insert(&card, 0);
    let reader0 = openpgp.connect_card(0);
    let serial = select_and_read_serial(&reader0);
    assert_eq!(
        serial,
        serial_in_list(&openpgp, &card),
        "the AID carries the card's serial"
    );

    assert_eq!(
        transmit(&reader0, &VERIFY_USER_PIN).1,
        0x9000,
        "the factory user PIN"
    );
    assert_eq!(
        transmit(&reader0, &VERIFY_WRONG_PIN).1,
        0x63C2,
        "a wrong PIN: 2 tries left"
    );
    assert_eq!(
        transmit(&reader0, &VERIFY_WRONG_PIN).1,
        0x63C1,
        "another: 1 try left"
    );
    drop(reader0);
    openpgp.remove(0);

    // Back into the same reader: the tries are what they were, the PIN no longer verified.
    openpgp.insert(&card, 0);
    let reader0 = openpgp.connect_card(0);
    assert_eq!(select_and_read_serial(&reader0), serial);
    assert_eq!(
        transmit(&reader0, &PW1_STATE).1,
        0x63C1,
        "1 try left after the reinsertion"
    );
    drop(reader0);
    openpgp.remove(0);

    // Into the other reader: the same card, the same state.
    openpgp.insert(&card, 1);
    assert!(openpgp
        .cards()
        .contains(&(card.clone(), Some(1), serial.clone())));
    let reader1 = openpgp.connect_card(1);
    assert_eq!(select_and_read_serial(&reader1), serial);
    assert_eq!(
        transmit(&reader1, &PW1_STATE).1,
        0x63C1,
        "1 try left in the other reader"
    );
    // The right PIN resets the counter.
    assert_eq!(transmit(&reader1, &VERIFY_USER_PIN).1, 0x9000);
    drop(reader1);
    openpgp.remove(1);
}

#[test]
fn two_openpgp_cards_have_different_serials() {
    let _serial = farm::lock();
    let openpgp = OpenPgp::connect();
    openpgp.clear_all();

    let first = openpgp.new_card();
    let second = openpgp.new_card();
    openpgp.insert(&first, 0);
    openpgp.insert(&second, 1);
    let serial0 = select_and_read_serial(&openpgp.connect_card(0));
    let serial1 = select_and_read_serial(&openpgp.connect_card(1));
    assert_ne!(serial0, serial1, "two cards, two serials");
    assert_eq!(serial0, serial_in_list(&openpgp, &first));
    assert_eq!(serial1, serial_in_list(&openpgp, &second));
    openpgp.clear_all();
}
