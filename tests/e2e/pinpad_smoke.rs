//! End-to-end smoke tests of the simulated pinpad readers, through pcscd with
//! SCardControl, below quorumctl: Part 10 features, PIN verification and change keyed
//! on the pad, and what a CCID pinpad answers when the custodian cancels, walks away,
//! keys too few digits or mistypes the confirmation. The card is the quorum applet,
//! personalised with raw APDUs (apdu-spec/README.md).

use std::time::{Duration, Instant};

use crate::farm::{self, connect, transmit, Farm};
use crate::pinpad::{pinpad_reader_indexes, Pinpad};

const SELECT_QUORUM: [u8; 14] = [
    0x00, 0xA4, 0x04, 0x00, 0x09, 0xF0, 0x51, 0x55, 0x4F, 0x52, 0x55, 0x4D, 0x01, 0x01,
];
/// PC/SC Part 10 feature tags.
const FEATURE_VERIFY_PIN_DIRECT: u8 = 0x06;
const FEATURE_MODIFY_PIN_DIRECT: u8 = 0x07;
const FEATURE_IFD_PIN_PROPERTIES: u8 = 0x0A;
const FEATURE_GET_TLV_PROPERTIES: u8 = 0x12;
/// The timeout the tests put in bTimerOut, in seconds: short, so 64 00 comes quickly.
const TIMER_OUT: u8 = 2;

/// The quorum PIN block of `pin`: ASCII digits, padded with FF to 12 bytes.
fn pin_block(pin: &str) -> Vec<u8> {
    let mut block = pin.as_bytes().to_vec();
    block.resize(12, 0xFF);
    block
}

/// PIN_VERIFY_STRUCTURE for the quorum applet's VERIFY: ASCII, left-justified, a 12-byte
/// block, 6..12 digits, OK key validates, one message (bMsgIndex 0, "enter PIN").
fn verify_structure(max_digits: u8) -> Vec<u8> {
    let mut apdu = vec![0x00, 0x20, 0x00, 0x81, 0x0C];
    apdu.extend_from_slice(&[0xFF; 12]);
    let mut s = vec![
        TIMER_OUT, 0x00, // bTimerOut, bTimerOut2
        0x82, // bmFormatString: byte units, position 0, left, ASCII
        0x0C, // bmPINBlockString: no length field, 12-byte block
        0x00, // bmPINLengthFormat
        max_digits, 6,    // wPINMaxExtraDigit: max, min
        0x02, // bEntryValidationCondition: OK key
        0x01, // bNumberMessage
        0x09, 0x04, // wLangId 0x0409
        0x00, // bMsgIndex
        0x00, 0x00, 0x00, // bTeoPrologue
    ];
    s.extend_from_slice(&(apdu.len() as u32).to_le_bytes());
    s.extend_from_slice(&apdu);
    s
}

/// PIN_MODIFY_STRUCTURE for CHANGE REFERENCE DATA: old block at 0, new block at 12,
/// current PIN then the new one twice, three messages (bMsgIndex 0, 1, 2).
fn modify_structure() -> Vec<u8> {
    let mut apdu = vec![0x00, 0x24, 0x00, 0x81, 0x18];
    apdu.extend_from_slice(&[0xFF; 24]);
    let mut s = vec![
        TIMER_OUT, 0x00, 0x82, 0x0C, 0x00, // timers and format, as for VERIFY
        0x00, 0x0C, // bInsertionOffsetOld, bInsertionOffsetNew
        12, 6,    // wPINMaxExtraDigit
        0x03, // bConfirmPIN: current PIN, new PIN twice
        0x02, // bEntryValidationCondition
        0x03, // bNumberMessage
        0x09, 0x04, 0x00, 0x01, 0x02, // wLangId, bMsgIndex1..3
        0x00, 0x00, 0x00, // bTeoPrologue
    ];
    s.extend_from_slice(&(apdu.len() as u32).to_le_bytes());
    s.extend_from_slice(&apdu);
    s
}

/// SCardControl; the answer bytes or the PC/SC error.
fn control(card: &pcsc::Card, code: u32, input: &[u8]) -> Result<Vec<u8>, pcsc::Error> {
    let mut buf = [0u8; pcsc::MAX_BUFFER_SIZE];
    card.control(code.into(), input, &mut buf)
        .map(<[u8]>::to_vec)
}

/// The status word a secure PIN command returned.
fn pin_sw(card: &pcsc::Card, code: u32, structure: &[u8]) -> u16 {
    let answer =
        control(card, code, structure).unwrap_or_else(|e| panic!("SCardControl {code:#010x}: {e}"));
    assert!(answer.len() >= 2, "no status word in {answer:02X?}");
    u16::from_be_bytes([answer[answer.len() - 2], answer[answer.len() - 1]])
}

/// The feature list: (tag, control code) pairs.
fn features(card: &pcsc::Card) -> Vec<(u8, u32)> {
    let answer = control(card, pcsc::ctl_code(3400) as u32, &[])
        .unwrap_or_else(|e| panic!("CM_IOCTL_GET_FEATURE_REQUEST: {e}"));
    assert_eq!(answer.len() % 6, 0, "TLVs of 6 bytes: {answer:02X?}");
    answer
        .chunks(6)
        .map(|t| {
            assert_eq!(t[1], 4, "feature values are 4 bytes");
            (t[0], u32::from_be_bytes([t[2], t[3], t[4], t[5]]))
        })
        .collect()
}

fn feature_code(features: &[(u8, u32)], tag: u8) -> u32 {
    features
        .iter()
        .find(|(t, _)| *t == tag)
        .map(|(_, c)| *c)
        .unwrap_or_else(|| {
            panic!("the pinpad does not announce feature {tag:#04x}: {features:02X?}")
        })
}

/// A fresh quorum card in the first pinpad reader, personalised with PIN 123456 and
/// retry limit 5, and a connection to it.
fn personalised_card_in_pinpad(farm: &Farm) -> (usize, pcsc::Card) {
    let index = *pinpad_reader_indexes()
        .first()
        .expect("the sim has pinpad readers (QUORUM_SIM_PINPADS > 0)");
    let card = farm.new_card(None);
    farm.insert(&card, index);
    let reader = connect(farm, index);
    let (selected, sw) = transmit(&reader, &SELECT_QUORUM);
    assert_eq!(sw, 0x9000, "SELECT");
    assert_eq!(selected[3], 0x00, "a new card is BLANK");
    let mut init = vec![0x80, 0x12, 0x00, 0x00, 0x0D, 0x05];
    init.extend_from_slice(&pin_block("123456"));
    let (public_key, sw) = transmit(&reader, &init);
    assert_eq!(sw, 0x9000, "INITIALISE");
    assert_eq!(public_key.len(), 65);
    (index, reader)
}

/// Tries left, from VERIFY without data (63Cx); spends no try.
fn tries_left(card: &pcsc::Card) -> u16 {
    let (_, sw) = transmit(card, &[0x00, 0x20, 0x00, 0x81]);
    assert_eq!(
        sw & 0xFFF0,
        0x63C0,
        "VERIFY without data while not validated"
    );
    sw & 0x000F
}

#[test]
fn a_pinpad_reader_announces_the_part10_pin_features() {
    let _serial = farm::lock();
    let farm = Farm::connect();
    farm.clear_all();
    let index = pinpad_reader_indexes()[0];
    let pad = Pinpad::for_reader(index);
    assert_eq!(pad.reader_name(), farm.reader_name(index));
    assert!(
        pad.reader_name().starts_with("Quorum Pinpad "),
        "{}",
        pad.reader_name()
    );

    let card = farm.new_card(None);
    farm.insert(&card, index);
    let reader = connect(&farm, index);
    let list = features(&reader);
    for tag in [
        FEATURE_VERIFY_PIN_DIRECT,
        FEATURE_MODIFY_PIN_DIRECT,
        FEATURE_IFD_PIN_PROPERTIES,
        FEATURE_GET_TLV_PROPERTIES,
    ] {
        feature_code(&list, tag);
    }
    let properties = control(
        &reader,
        feature_code(&list, FEATURE_IFD_PIN_PROPERTIES),
        &[],
    )
    .expect("FEATURE_IFD_PIN_PROPERTIES");
    assert_eq!(properties.len(), 4, "PIN_PROPERTIES_STRUCTURE");
    assert_eq!(
        properties[2], 0x07,
        "max size, OK key and timeout validate an entry"
    );
    let tlv = control(
        &reader,
        feature_code(&list, FEATURE_GET_TLV_PROPERTIES),
        &[],
    )
    .expect("FEATURE_GET_TLV_PROPERTIES");
    assert!(
        tlv.windows(2).any(|w| w == [0x07, 0x01]),
        "bMaxPINSize among the TLV properties: {tlv:02X?}"
    );
    // A vpcd reader has no PIN pad: it announces no PIN feature.
    let plain_card = farm.new_card(None);
    farm.insert(&plain_card, 0);
    let plain = connect(&farm, 0);
    let plain_features = control(&plain, pcsc::ctl_code(3400) as u32, &[]).unwrap_or_default();
    assert!(
        !plain_features
            .chunks(6)
            .any(|t| t[0] == FEATURE_VERIFY_PIN_DIRECT),
        "vpcd announced a PIN pad: {plain_features:02X?}"
    );
    drop((reader, plain));
    farm.remove(index);
    farm.remove(0);
}

#[test]
fn verify_on_the_pinpad_ok_wrong_cancel_and_timeout() {
    let _serial = farm::lock();
    let farm = Farm::connect();
    farm.clear_all();
    let (index, mut reader) = personalised_card_in_pinpad(&farm);
    let pad = Pinpad::for_reader(index);
    let verify = feature_code(&features(&reader), FEATURE_VERIFY_PIN_DIRECT);
    let structure = verify_structure(12);
    let tx = reader.transaction().expect("begin transaction");

    pad.type_pin("123456");
    assert_eq!(pin_sw(&tx, verify, &structure), 0x9000, "right PIN");
    assert_eq!(pad.display_log(), ["enter PIN"]);
    assert_eq!(pad.last_outcome(), "sent 9000");

    pad.type_pin("654321");
    assert_eq!(
        pin_sw(&tx, verify, &structure),
        0x63C4,
        "wrong PIN, 4 tries left"
    );
    assert_eq!(pad.last_outcome(), "sent 63C4");

    pad.type_keys("12 cancel");
    assert_eq!(
        pin_sw(&tx, verify, &structure),
        0x6401,
        "cancelled on the pad"
    );
    assert_eq!(pad.last_outcome(), "cancelled");

    pad.type_pin("123");
    assert_eq!(pin_sw(&tx, verify, &structure), 0x6403, "too few digits");
    assert_eq!(pad.last_outcome(), "length");

    pad.press_nothing();
    let start = Instant::now();
    assert_eq!(pin_sw(&tx, verify, &structure), 0x6400, "nobody typed");
    let waited = start.elapsed();
    assert!(
        waited >= Duration::from_secs(u64::from(TIMER_OUT)),
        "the entry timed out after {waited:?}, before bTimerOut"
    );
    assert_eq!(pad.last_outcome(), "timeout");

    assert_eq!(
        tries_left(&tx),
        4,
        "cancel, timeout and a short PIN never reached the card"
    );
    assert_eq!(pad.queued_keys(), 0, "every key was used");
    assert_eq!(pad.display_log().len(), 5, "one prompt per entry");
    tx.end(pcsc::Disposition::LeaveCard)
        .map_err(|(_, e)| e)
        .expect("end transaction");
    drop(reader);
    farm.remove(index);
}

#[test]
fn change_the_pin_on_the_pinpad_with_confirmation() {
    let _serial = farm::lock();
    let farm = Farm::connect();
    farm.clear_all();
    let (index, mut reader) = personalised_card_in_pinpad(&farm);
    let pad = Pinpad::for_reader(index);
    let list = features(&reader);
    let verify = feature_code(&list, FEATURE_VERIFY_PIN_DIRECT);
    let modify = feature_code(&list, FEATURE_MODIFY_PIN_DIRECT);
    let tx = reader.transaction().expect("begin transaction");

    // The confirmation differs: the pad answers 64 02 and the card sees nothing.
    pad.type_pin("123456");
    pad.type_pin("24681357");
    pad.type_pin("24681358");
    assert_eq!(pin_sw(&tx, modify, &modify_structure()), 0x6402);
    assert_eq!(pad.last_outcome(), "mismatch");
    assert_eq!(tries_left(&tx), 5);

    pad.reset();
    pad.type_pin("123456");
    pad.type_pin("24681357");
    pad.type_pin("24681357");
    assert_eq!(
        pin_sw(&tx, modify, &modify_structure()),
        0x9000,
        "PIN changed"
    );
    assert_eq!(
        pad.display_log(),
        ["enter PIN", "enter new PIN", "confirm new PIN"]
    );

    // The new PIN works on the pad and on the card directly; the old one does not.
    pad.type_pin("24681357");
    assert_eq!(pin_sw(&tx, verify, &verify_structure(12)), 0x9000);
    let mut direct = vec![0x00, 0x20, 0x00, 0x81, 0x0C];
    direct.extend_from_slice(&pin_block("123456"));
    assert_eq!(transmit(&tx, &direct).1, 0x63C4, "the old PIN is gone");
    tx.end(pcsc::Disposition::LeaveCard)
        .map_err(|(_, e)| e)
        .expect("end transaction");
    drop(reader);
    farm.remove(index);
}

#[test]
fn the_pinpad_refuses_structures_like_a_ccid_reader() {
    let _serial = farm::lock();
    let farm = Farm::connect();
    farm.clear_all();
    let (index, reader) = personalised_card_in_pinpad(&farm);
    let pad = Pinpad::for_reader(index);
    let verify = feature_code(&features(&reader), FEATURE_VERIFY_PIN_DIRECT);

    // ulDataLength that does not match: the CCID driver says "not supported".
    let mut wrong_length = verify_structure(12);
    wrong_length[15] = 0x10;
    pad.type_pin("123456");
    assert_eq!(
        control(&reader, verify, &wrong_length),
        Err(pcsc::Error::UnsupportedFeature)
    );
    assert!(
        pad.last_outcome().starts_with("rejected "),
        "{}",
        pad.last_outcome()
    );

    // 13 digits cannot fit the 12-byte block: the reader rejects the command.
    assert_eq!(
        control(&reader, verify, &verify_structure(13)),
        Err(pcsc::Error::NotTransacted)
    );
    assert!(pad.display_log().is_empty(), "nothing was prompted");
    assert_eq!(
        pad.queued_keys(),
        7,
        "the six digits and OK wait for a valid command"
    );

    // An unknown control code.
    assert_eq!(
        control(&reader, pcsc::ctl_code(1) as u32, &[]),
        Err(pcsc::Error::UnsupportedFeature)
    );
    assert_eq!(tries_left(&reader), 5);
    drop(reader);
    farm.remove(index);
}
