//! The in-memory applet driven through `Card<MemoryApplet>` (every command and its failure
//! status words), against apdu-spec/vectors, and the in-memory readers.

use super::*;
use crate::card::{Card, CardError, PinState};
use crate::readers::Readers;
use crate::transport::TransportError;
use quorum_protocol::apdu::{LifeCycle, PutRecordStream, StatusWord};
use quorum_protocol::crypto::CardKey;
use quorum_protocol::pin::{PinBlock, RetryLimit};
use serde_json::Value;

const PIN: &str = "123456";

fn pin(digits: &str) -> PinBlock {
    PinBlock::new(digits).unwrap()
}

fn card(applet: MemoryApplet) -> Card<MemoryApplet> {
    let mut card = Card::with_trace(applet, false);
    card.select().unwrap();
    card
}

/// Sends raw hex and returns (data, SW).
fn raw(card: &mut Card<MemoryApplet>, hex_apdu: &str) -> (Vec<u8>, u16) {
    let bytes = hex::decode(hex_apdu.replace(' ', "")).unwrap();
    raw_bytes(card, &bytes)
}

fn raw_bytes(card: &mut Card<MemoryApplet>, bytes: &[u8]) -> (Vec<u8>, u16) {
    let (data, sw) = card_applet(card).process(bytes);
    (data.to_vec(), sw)
}

/// The applet behind a card (raw APDUs bypass `Card::transmit` on purpose: status words
/// are read as the card sent them, 61xx included).
fn card_applet(card: &mut Card<MemoryApplet>) -> &mut MemoryApplet {
    card.transport_mut()
}

fn personalised() -> Card<MemoryApplet> {
    card(MemoryApplet::with_seed(1).personalised(PIN))
}

/// An enrolled card holding a 3-byte public and 2-byte sealed part, PIN validated.
fn enrolled() -> Card<MemoryApplet> {
    let mut c = personalised();
    c.verify(&pin(PIN)).unwrap();
    c.put_record(&PutRecordStream::encode(b"pub", b"se").unwrap())
        .unwrap();
    c
}

#[test]
fn select_answers_version_capabilities_state_and_capacity() {
    let mut c = Card::with_trace(MemoryApplet::new(), false);
    let (data, sw) = raw(&mut c, "00A4040009F051554F52554D010100");
    // 1.4: the 6 bytes, then the blank card's 11-byte status (select.md's example)
    assert_eq!(
        (hex::encode_upper(data), sw),
        ("01047F0020000000000020000000000000".into(), SW_OK)
    );
    let mut c = Card::with_trace(MemoryApplet::new().protocol_1_3(), false);
    let (data, sw) = raw(&mut c, "00A4040009F051554F52554D010100");
    assert_eq!(
        (hex::encode_upper(data), sw),
        ("01033F0020000000000020000000000000".into(), SW_OK)
    );
    let mut c = Card::with_trace(MemoryApplet::new().protocol_1_2(), false);
    let (data, sw) = raw(&mut c, "00A4040009F051554F52554D010100");
    assert_eq!(
        (hex::encode_upper(data), sw),
        ("01021F0020000000000020000000000000".into(), SW_OK)
    );
    let mut c = Card::with_trace(MemoryApplet::new().protocol_1_1(), false);
    let (data, sw) = raw(&mut c, "00A4040009F051554F52554D010100");
    assert_eq!(
        (hex::encode_upper(data), sw),
        ("01010F002000".into(), SW_OK)
    );
    // A 1.0 applet and a small card.
    let mut c = Card::with_trace(MemoryApplet::new().protocol_1_0().capacity(300), false);
    let info = c.select().unwrap();
    assert_eq!((info.version.minor, info.capabilities.0), (0, 0x07));
    assert!(!info.capabilities.key_renewal());
    assert_eq!(info.record_capacity, 300);
    // Le below the answer's length: output chaining.
    let mut c = Card::with_trace(MemoryApplet::new().protocol_1_1(), false);
    let (data, sw) = raw(&mut c, "00A4040009F051554F52554D010104");
    assert_eq!((data.len(), sw), (4, 0x6102));
    let (data, sw) = raw(&mut c, "00C0000002");
    assert_eq!((hex::encode_upper(data), sw), ("2000".into(), SW_OK));
    // A prefix of the AID selects too; a passed-on SELECT of another AID does not.
    let (_, sw) = raw(&mut c, "00A4040005F051554F5200");
    assert_eq!(sw, SW_OK);
    let (_, sw) = raw(&mut c, "00A4040003A0000000");
    assert_eq!(sw, SW_INCORRECT_DATA);
    let (_, sw) = raw(&mut c, "00A4000C023F00");
    assert_eq!(sw, SW_WRONG_P1P2);
}

#[test]
fn nothing_but_select_runs_before_the_applet_is_selected() {
    let mut c = Card::with_trace(MemoryApplet::new(), false);
    assert_eq!(raw(&mut c, "8010000000").1, SW_NOT_SELECTED);
    c.select().unwrap();
    assert_eq!(raw(&mut c, "8010000000").1, SW_OK);
    c.reconnect().unwrap();
    c.transport_mut().power_up();
    assert_eq!(raw(&mut c, "8010000000").1, SW_NOT_SELECTED);
}

#[test]
fn a_card_without_the_applet_answers_select_6a82() {
    let mut c = Card::with_trace(MemoryApplet::without_applet(), false);
    assert!(matches!(c.select(), Err(CardError::AppletNotFound)));
    assert_eq!(c.transport().count(0xA4), 1);
}

#[test]
fn get_status_of_a_blank_card_is_the_documented_example() {
    let mut c = card(MemoryApplet::new());
    let (data, sw) = raw(&mut c, "8010000000");
    assert_eq!(
        (hex::encode_upper(data), sw),
        ("0000000020000000000000".into(), SW_OK)
    );
    assert_eq!(raw(&mut c, "8010010000").1, SW_WRONG_P1P2);
    assert_eq!(raw(&mut c, "801000000100").1, SW_WRONG_LENGTH);
    // Le below the length: 61xx, and Card reassembles it.
    let mut c = personalised();
    let (data, sw) = raw(&mut c, "8010000010");
    assert_eq!((data.len(), sw), (16, 0x613C));
    let status = c.status().unwrap();
    assert_eq!(status.state, LifeCycle::Personalised);
    assert_eq!((status.tries_left, status.retry_limit), (5, 5));
    assert_eq!(status.public_key, c.transport().public_key());
}

#[test]
fn initialise_generates_a_key_and_takes_the_pin_once() {
    let mut c = card(MemoryApplet::with_seed(7));
    let point = c
        .initialise(RetryLimit::new(3).unwrap(), &pin(PIN))
        .unwrap();
    let key = CardKey::from_card_point(&point).unwrap();
    let status = c.status().unwrap();
    assert_eq!(status.state, LifeCycle::Personalised);
    assert_eq!((status.tries_left, status.retry_limit), (3, 3));
    assert!(!status.validated, "INITIALISE does not validate the PIN");
    assert_eq!(c.transport().fingerprint(), Some(key.fingerprint()));
    // Once only.
    let e = c.initialise(RetryLimit::default(), &pin(PIN)).unwrap_err();
    assert!(matches!(
        e,
        CardError::WrongState {
            command: "INITIALISE",
            state: Some(LifeCycle::Personalised)
        }
    ));
    // Refusals of a blank card, which stays blank.
    let mut c = card(MemoryApplet::new());
    for (apdu, sw) in [
        ("801200000D02313233343536FFFFFFFFFFFF00", SW_INCORRECT_DATA), // limit 2
        ("801200000D0B313233343536FFFFFFFFFFFF00", SW_INCORRECT_DATA), // limit 11
        ("801200000D053132333435FFFFFFFFFFFFFF00", SW_INCORRECT_DATA), // 5 digits
        ("801200000D05313233343536FF37FFFFFFFF00", SW_INCORRECT_DATA), // digit after FF
        ("801200000C05313233343536FFFFFFFFFF00", SW_WRONG_LENGTH),
        ("801201000D05313233343536FFFFFFFFFFFF00", SW_WRONG_P1P2),
        (
            "901200000D05313233343536FFFFFFFFFFFF00",
            SW_CHAINING_NOT_SUPPORTED,
        ),
        (
            "001200000D05313233343536FFFFFFFFFFFF00",
            SW_CLA_NOT_SUPPORTED,
        ),
    ] {
        assert_eq!(raw(&mut c, apdu).1, sw, "{apdu}");
    }
    assert_eq!(c.transport().state(), LifeCycle::Blank);
}

#[test]
fn a_blank_card_accepts_only_select_status_initialise_and_reset() {
    let mut c = card(MemoryApplet::new());
    for apdu in [
        "002000810C313233343536FFFFFFFFFFFF",
        "0024008118313233343536FFFFFFFFFFFF313233343536FFFFFFFFFFFF",
        "801400000900030002AABBCCDDEE",
        "8016000000",
        "8016010000",
        "801C000000",
    ] {
        assert_eq!(raw(&mut c, apdu).1, SW_CONDITIONS, "{apdu}");
    }
    let mut point = [0u8; 65];
    point[0] = 4;
    assert!(matches!(
        c.unseal(&point),
        Err(CardError::WrongState {
            state: Some(LifeCycle::Blank),
            ..
        })
    ));
    c.factory_reset().unwrap();
}

#[test]
fn verify_spends_a_try_before_comparing_and_blocks_at_zero() {
    let mut c = personalised();
    assert_eq!(
        c.pin_tries_left().unwrap(),
        PinState::NotValidated { tries_left: 5 }
    );
    c.verify(&pin(PIN)).unwrap();
    assert_eq!(c.pin_tries_left().unwrap(), PinState::Validated);
    assert!(c.status().unwrap().validated);
    // A wrong PIN ends the validated state and spends a try.
    assert!(matches!(
        c.verify(&pin("654321")),
        Err(CardError::WrongPin { tries_left: 4 })
    ));
    assert!(!c.transport().validated());
    // The right PIN restores the tries.
    c.verify(&pin(PIN)).unwrap();
    assert_eq!(c.transport().tries_left(), 5);
    // P1 = FF ends the session.
    c.clear_pin().unwrap();
    assert!(!c.transport().validated());
    for left in (0..5).rev() {
        assert!(matches!(
            c.verify(&pin("000000")),
            Err(CardError::WrongPin { tries_left }) if tries_left == left
        ));
    }
    assert!(c.transport().blocked());
    assert!(matches!(c.verify(&pin(PIN)), Err(CardError::PinBlocked)));
    assert_eq!(c.pin_tries_left().unwrap(), PinState::Blocked);
    assert!(c.status().unwrap().blocked);
    // P1 = FF still works on a blocked card.
    c.clear_pin().unwrap();
}

#[test]
fn verify_refuses_malformed_blocks_without_spending_a_try() {
    // The table of verify.md (PIN 123456 on the card).
    let mut c = personalised();
    for (block, sw) in [
        ("313233343536FFFFFFFFFFFF", SW_OK),
        ("313233343537FFFFFFFFFFFF", 0x63C4),
        ("31323334353637FFFFFFFFFF", 0x63C3),
        ("313233343536373839303132", 0x63C2),
        ("31323334353620FFFFFFFFFF", SW_INCORRECT_DATA),
        ("313233343536000000000000", SW_INCORRECT_DATA),
        ("313233343536FF37FFFFFFFF", SW_INCORRECT_DATA),
        ("313233343536FF20FFFFFFFF", SW_INCORRECT_DATA),
        ("3132333435FFFFFFFFFFFFFF", SW_INCORRECT_DATA),
        ("FFFFFFFFFFFFFFFFFFFFFFFF", SW_INCORRECT_DATA),
    ] {
        assert_eq!(raw(&mut c, &format!("002000810C{block}")).1, sw, "{block}");
    }
    assert_eq!(c.transport().tries_left(), 2);
    assert_eq!(
        raw(&mut c, "002000810B3132333435363738393031").1,
        SW_WRONG_LENGTH
    );
    assert_eq!(
        raw(&mut c, "002001810C313233343536FFFFFFFFFFFF").1,
        SW_WRONG_P1P2
    );
    assert_eq!(
        raw(&mut c, "002000820C313233343536FFFFFFFFFFFF").1,
        SW_WRONG_P1P2
    );
    assert_eq!(raw(&mut c, "0020FF810100").1, SW_WRONG_LENGTH);
    assert_eq!(
        raw(&mut c, "102000810C313233343536FFFFFFFFFFFF").1,
        SW_CHAINING_NOT_SUPPORTED
    );
    assert_eq!(c.transport().tries_left(), 2);
}

#[test]
fn a_reset_or_a_select_ends_the_validated_state() {
    let mut c = personalised();
    c.verify(&pin(PIN)).unwrap();
    c.reconnect().unwrap();
    assert!(!c.transport().validated());
    c.verify(&pin(PIN)).unwrap();
    c.select().unwrap();
    assert!(!c.transport().validated());
    // A malformed block or a refused command leaves it as it was.
    c.verify(&pin(PIN)).unwrap();
    raw(&mut c, "002000810C31323334353620FFFFFFFFFF");
    raw(&mut c, "8016000000");
    assert!(c.transport().validated());
}

#[test]
fn change_reference_data_checks_both_blocks_then_the_old_pin() {
    let mut c = personalised();
    c.change_pin(&pin(PIN), &pin("24681357")).unwrap();
    assert!(c.transport().validated(), "the new PIN counts as verified");
    c.reconnect().unwrap();
    assert!(matches!(
        c.verify(&pin(PIN)),
        Err(CardError::WrongPin { tries_left: 4 })
    ));
    c.verify(&pin("24681357")).unwrap();
    // Wrong old PIN: a try, whatever the new block.
    assert!(matches!(
        c.change_pin(&pin(PIN), &pin("111111")),
        Err(CardError::WrongPin { tries_left: 4 })
    ));
    assert!(!c.transport().validated());
    // A malformed block (old or new): 6A80, no try, even with a wrong old PIN.
    let (_, sw) = raw(
        &mut c,
        "0024008118313233343536FFFFFFFFFFFF3132333435FFFFFFFFFFFFFF",
    );
    assert_eq!(sw, SW_INCORRECT_DATA);
    assert_eq!(c.transport().tries_left(), 4);
    assert_eq!(
        raw(
            &mut c,
            "00240081173132333435363738FFFFFFFF3132333435363738FFFFFFFF"
        )
        .1,
        SW_WRONG_LENGTH
    );
    assert_eq!(
        raw(
            &mut c,
            "0024018118313233343536FFFFFFFFFFFF313233343536FFFFFFFFFFFF"
        )
        .1,
        SW_WRONG_P1P2
    );
    // Blocked: 6983.
    for _ in 0..4 {
        let _ = c.change_pin(&pin("999999"), &pin("111111"));
    }
    assert!(matches!(
        c.change_pin(&pin("24681357"), &pin("111111")),
        Err(CardError::PinBlocked)
    ));
}

#[test]
fn put_record_needs_the_pin_and_commits_only_at_the_last_apdu() {
    let mut c = personalised();
    let stream = PutRecordStream::encode(&[0x5A; 700], &[0xA5; 81]).unwrap();
    assert!(matches!(
        c.put_record(&stream),
        Err(CardError::PinNotVerified {
            command: "PUT RECORD"
        })
    ));
    c.verify(&pin(PIN)).unwrap();
    c.put_record(&stream).unwrap();
    assert_eq!(
        c.transport().count(0x14),
        2,
        "one refused, then the stream in one extended APDU"
    );
    let (public, sealed) = c
        .transport()
        .record()
        .map(|(p, s)| (p.to_vec(), s.to_vec()))
        .unwrap();
    assert_eq!((public.len(), sealed.len()), (700, 81));
    let status = c.status().unwrap();
    assert_eq!(
        (status.state, status.public_len, status.sealed_len),
        (LifeCycle::Enrolled, 700, 81)
    );
    // The public part comes back with output chaining; the sealed one needs the PIN.
    c.transport_mut().clear_log();
    assert_eq!(c.get_record_public().unwrap(), public);
    assert_eq!(c.transport().count(0xC0), 2);
    assert_eq!(&c.get_record_sealed().unwrap()[..], &sealed[..]);
    c.clear_pin().unwrap();
    assert!(matches!(
        c.get_record_sealed(),
        Err(CardError::PinNotVerified { .. })
    ));
}

/// A personalised card in `applet`'s form, PIN validated.
fn validated(applet: MemoryApplet) -> Card<MemoryApplet> {
    let mut c = card(applet.personalised(PIN));
    c.verify(&pin(PIN)).unwrap();
    c
}

/// The PUT RECORD APDUs the card saw: (CLA, extended form, data length).
fn put_record_apdus(c: &Card<MemoryApplet>) -> Vec<(u8, bool, usize)> {
    c.transport()
        .log()
        .iter()
        .filter(|e| e.command[1] == 0x14)
        .map(|e| {
            let extended = e.command[4] == 0;
            let len = e.command.len() - if extended { 7 } else { 5 };
            (e.command[0], extended, len)
        })
        .collect()
}

#[test]
fn a_1_4_card_takes_a_21_kb_record_in_one_extended_apdu() {
    let mut c = validated(MemoryApplet::with_seed(7).capacity(0x6000));
    let stream = PutRecordStream::encode(&[0x5A; 20919], &[0xA5; 81]).unwrap();
    c.put_record(&stream).unwrap();
    assert_eq!(put_record_apdus(&c), [(0x80, true, 21004)]);
    let (public, sealed) = c.transport().record().unwrap();
    assert_eq!((public, sealed), (&[0x5A; 20919][..], &[0xA5; 81][..]));
    // A stream that fits a short APDU goes in a short one.
    c.transport_mut().clear_log();
    c.put_record(&PutRecordStream::encode(b"pub", b"se").unwrap())
        .unwrap();
    assert_eq!(put_record_apdus(&c), [(0x80, false, 9)]);
}

#[test]
fn a_1_3_card_gets_short_apdus_and_its_runtime_refuses_the_extended_form() {
    let mut c = validated(MemoryApplet::with_seed(7).protocol_1_3());
    let stream = PutRecordStream::encode(&[0x5A; 700], &[0xA5; 81]).unwrap();
    c.put_record(&stream).unwrap();
    let links = put_record_apdus(&c);
    assert_eq!(links.len(), 4);
    assert!(links.iter().all(|&(_, extended, _)| !extended));
    // 785 bytes in extended form: 6700, nothing staged.
    let mut apdu = hex::decode("80140000000000").unwrap();
    apdu[5..7].copy_from_slice(&785u16.to_be_bytes());
    apdu.extend_from_slice(&stream);
    assert_eq!(raw_bytes(&mut c, &apdu).1, SW_WRONG_LENGTH);
    assert!(!c.transport().chain_in_progress());
}

#[test]
fn only_put_record_takes_the_extended_form_and_any_other_aborts_a_chain() {
    let mut c = validated(MemoryApplet::with_seed(7));
    c.put_record(&PutRecordStream::encode(b"pub", b"se").unwrap())
        .unwrap();
    // GET STATUS with an extended Le, VERIFY with an extended Lc, GET RECORD P1 = 00 with both.
    for apdu in [
        "80100000000100",
        "00200081000008 2612345FFFFFFFFF",
        "80160000000001010000",
    ] {
        assert_eq!(raw(&mut c, apdu).1, SW_WRONG_LENGTH, "{apdu}");
    }
    // The PIN is still validated (VERIFY never ran) and the record unchanged.
    assert_eq!(c.get_record_sealed().unwrap().as_slice(), b"se");
    // Within a chain: 6883 first, as for any other command, and the chain is gone.
    let stream = PutRecordStream::encode(&[1; 300], &[2; 81]).unwrap();
    let links = PutRecordStream::parse(&stream).unwrap().commands(
        quorum_protocol::apdu::RecordKey::Present,
        quorum_protocol::apdu::Pieces::Short,
    );
    assert_eq!(raw_bytes(&mut c, links[0].as_bytes()).1, SW_OK);
    assert_eq!(raw(&mut c, "80100000000100").1, SW_CHAIN_ABORTED);
    assert!(!c.transport().chain_in_progress());
    // Extended and short pieces mix in one chain.
    let extended = PutRecordStream::parse(&stream).unwrap().commands(
        quorum_protocol::apdu::RecordKey::Present,
        quorum_protocol::apdu::Pieces::Extended,
    );
    let mut first = extended[0].as_bytes()[..7 + 300].to_vec();
    first[0] = 0x90;
    first[5..7].copy_from_slice(&300u16.to_be_bytes());
    assert_eq!(raw_bytes(&mut c, &first).1, SW_OK);
    let mut last = vec![0x80, 0x14, 0x00, 0x00, 85];
    last.extend_from_slice(&stream[300..]);
    assert_eq!(raw_bytes(&mut c, &last).1, SW_OK);
    assert_eq!(c.transport().record().unwrap().0, &[1; 300][..]);
}

#[test]
fn a_reader_without_extended_apdus_gets_the_record_again_in_short_ones() {
    let mut c = validated(
        MemoryApplet::with_seed(7)
            .capacity(0x6000)
            .in_a_short_apdu_reader(),
    );
    let stream = PutRecordStream::encode(&[0x5A; 20919], &[0xA5; 81]).unwrap();
    c.put_record(&stream).unwrap();
    // The extended APDU never reached the card: 83 short links did, and the record is whole.
    let links = put_record_apdus(&c);
    assert_eq!(links.len(), 21004usize.div_ceil(255));
    assert!(links
        .iter()
        .all(|&(_, extended, len)| !extended && len <= 255));
    assert_eq!(c.transport().record().unwrap().0, &[0x5A; 20919][..]);
    assert_eq!(
        c.stats().commands,
        1 + 1 + 83,
        "VERIFY, the refused APDU, the links"
    );
    // The connection remembers: the next record goes short at once.
    c.put_record(&stream).unwrap();
    assert_eq!(c.stats().commands, 1 + 1 + 83 + 83);
}

#[test]
fn an_interrupted_chain_keeps_the_previous_record() {
    let mut c = enrolled();
    // Zero bytes: a later link read as a header announces P = 0.
    let stream = PutRecordStream::encode(&[0; 400], &[8; 81]).unwrap();
    let links = PutRecordStream::parse(&stream).unwrap().commands(
        quorum_protocol::apdu::RecordKey::Present,
        quorum_protocol::apdu::Pieces::Short,
    );
    assert_eq!(raw_bytes(&mut c, links[0].as_bytes()).1, SW_OK);
    assert!(c.transport().chain_in_progress());
    // Any other command: 6883, not executed, chain gone.
    assert_eq!(raw(&mut c, "8010000000").1, SW_CHAIN_ABORTED);
    assert!(!c.transport().chain_in_progress());
    assert_eq!(
        raw_bytes(&mut c, links[1].as_bytes()).1,
        SW_INCORRECT_DATA,
        "a new chain needs a header"
    );
    assert_eq!(c.transport().record().unwrap().0, b"pub");
    // A reset in the middle of a chain drops it too.
    c.verify(&pin(PIN)).unwrap();
    assert_eq!(raw_bytes(&mut c, links[0].as_bytes()).1, SW_OK);
    c.reconnect().unwrap();
    assert!(!c.transport().chain_in_progress());
    assert_eq!(c.transport().record().unwrap().0, b"pub");
    // VERIFY P1 = FF in a chain: 6883 and the session stays validated.
    c.verify(&pin(PIN)).unwrap();
    raw_bytes(&mut c, links[0].as_bytes());
    assert_eq!(raw(&mut c, "0020FF81").1, SW_CHAIN_ABORTED);
    assert!(c.transport().validated());
    // FACTORY RESET in a chain is not done.
    raw_bytes(&mut c, links[0].as_bytes());
    assert_eq!(raw(&mut c, "801EAA55").1, SW_CHAIN_ABORTED);
    assert_eq!(c.transport().state(), LifeCycle::Enrolled);
    // A command refused by the class check (6E00) aborts the chain with 6E00.
    raw_bytes(&mut c, links[0].as_bytes());
    assert_eq!(raw(&mut c, "8420000000").1, SW_CLA_NOT_SUPPORTED);
    assert!(!c.transport().chain_in_progress());
}

#[test]
fn put_record_refuses_bad_headers_lengths_and_p1() {
    let mut c = card(MemoryApplet::with_seed(3).capacity(100).personalised(PIN));
    c.verify(&pin(PIN)).unwrap();
    for (apdu, sw) in [
        ("8014000003000300", SW_INCORRECT_DATA), // short header
        ("801400000800000002AABBCCDD", SW_INCORRECT_DATA), // P = 0
        ("801400000800030000AABBCCDD", SW_INCORRECT_DATA), // S = 0
        ("8014000004 0050 0015", SW_NOT_ENOUGH_MEMORY), // 80 + 21 > 100
        ("801400000A00030002AABBCCDDEEFF", SW_WRONG_LENGTH), // one byte too many
        ("801400000800030002AABBCCDD", SW_WRONG_LENGTH), // one byte short
        ("801402000900030002AABBCCDDEE", SW_WRONG_P1P2),
        ("801400010900030002AABBCCDDEE", SW_WRONG_P1P2),
        ("801401000900030002AABBCCDDEE", SW_CONDITIONS), // no pending key
        ("001400000900030002AABBCCDDEE", SW_CLA_NOT_SUPPORTED),
    ] {
        assert_eq!(raw(&mut c, apdu).1, sw, "{apdu}");
    }
    assert_eq!(c.transport().state(), LifeCycle::Personalised);
    // Split points are free after the header, and empty links are fine.
    for apdu in [
        "9014000004 0003 0002",
        "90140000",
        "9014000002AABB",
        "8014000003CCDDEE",
    ] {
        assert_eq!(raw(&mut c, apdu).1, SW_OK, "{apdu}");
    }
    assert_eq!(
        c.transport().record(),
        Some((&[0xAA, 0xBB, 0xCC][..], &[0xDD, 0xEE][..]))
    );
    // A P1 that changes within a chain: 6A86 and nothing committed.
    assert_eq!(raw(&mut c, "9014000004 0003 0002").1, SW_OK);
    assert_eq!(raw(&mut c, "8014010005 0102030405").1, SW_WRONG_P1P2);
    assert!(!c.transport().chain_in_progress());
    let e = c
        .put_record(&PutRecordStream::encode(&[1; 90], &[2; 11]).unwrap())
        .unwrap_err();
    assert!(matches!(e, CardError::RecordTooLarge { size: 101 }), "{e}");
}

#[test]
fn prepare_key_and_put_record_p1_01_renew_the_key_at_the_commit() {
    let mut c = enrolled();
    let old = c.transport().public_key().unwrap();
    let pending = c.prepare_key().unwrap();
    assert_ne!(pending, old);
    let status = c.status().unwrap();
    assert!(status.key_pending);
    assert_eq!(status.public_key, Some(old), "GET STATUS keeps the old key");
    // The pending key survives a reset; a refused PREPARE KEY writes nothing.
    c.reconnect().unwrap();
    assert!(matches!(
        c.prepare_key(),
        Err(CardError::PinNotVerified { .. })
    ));
    assert_eq!(c.transport().pending_key(), Some(pending));
    c.verify(&pin(PIN)).unwrap();
    // P1 = 00 leaves it pending.
    c.put_record(&PutRecordStream::encode(b"two", b"22").unwrap())
        .unwrap();
    assert_eq!(c.transport().pending_key(), Some(pending));
    c.put_record_renewing_key(&PutRecordStream::encode(b"three", b"33").unwrap())
        .unwrap();
    assert_eq!(c.transport().public_key(), Some(pending));
    assert_eq!(c.transport().pending_key(), None);
    assert!(!c.status().unwrap().key_pending);
    assert!(matches!(
        c.put_record_renewing_key(&PutRecordStream::encode(b"four", b"44").unwrap()),
        Err(CardError::WrongState { .. })
    ));
    // PREPARE KEY needs an enrolled card; FACTORY RESET destroys a pending key.
    c.prepare_key().unwrap();
    c.factory_reset().unwrap();
    assert_eq!(c.transport().pending_key(), None);
    let mut p = personalised();
    p.verify(&pin(PIN)).unwrap();
    assert!(matches!(p.prepare_key(), Err(CardError::WrongState { .. })));
    assert_eq!(raw(&mut p, "801C00000100").1, SW_CONDITIONS);
}

#[test]
fn a_1_0_card_knows_neither_prepare_key_nor_put_record_p1_01() {
    let mut c = card(MemoryApplet::new().protocol_1_0().personalised(PIN));
    c.verify(&pin(PIN)).unwrap();
    c.put_record(&PutRecordStream::encode(b"p", b"s").unwrap())
        .unwrap();
    assert_eq!(raw(&mut c, "801C000000").1, SW_INS_NOT_SUPPORTED);
    assert_eq!(raw(&mut c, "901C000000").1, SW_CHAINING_NOT_SUPPORTED);
    assert_eq!(raw(&mut c, "801401000900030002AABBCCDDEE").1, SW_WRONG_P1P2);
}

fn vectors(name: &str) -> Value {
    let path = format!(
        "{}/../../apdu-spec/vectors/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn hex32(v: &Value) -> [u8; 32] {
    hex::decode(v.as_str().unwrap())
        .unwrap()
        .try_into()
        .unwrap()
}

fn hex65(v: &Value) -> [u8; 65] {
    hex::decode(v.as_str().unwrap())
        .unwrap()
        .try_into()
        .unwrap()
}

/// An enrolled card with the private scalar `d`, PIN validated.
fn enrolled_with_scalar(d: &[u8; 32]) -> Card<MemoryApplet> {
    let mut c = card(MemoryApplet::new().queue_key(d).personalised(PIN));
    c.verify(&pin(PIN)).unwrap();
    c.put_record(&PutRecordStream::encode(b"p", b"s").unwrap())
        .unwrap();
    c
}

#[test]
fn unseal_is_plain_ecdh_as_the_wei25519_vectors_say() {
    let v = vectors("wei25519.json");
    for case in v["cases"].as_array().unwrap() {
        let mut c = enrolled_with_scalar(&hex32(&case["scalar_be"]));
        let x = c.unseal(&hex65(&case["point_wei"])).unwrap();
        assert_eq!(
            hex::encode(*x),
            case["dh_x_be"].as_str().unwrap(),
            "{}",
            case["name"]
        );
    }
}

#[test]
fn unseal_refuses_every_invalid_point_with_6a80() {
    let v = vectors("wei25519.json");
    let mut c = enrolled();
    for case in v["invalid_points"].as_array().unwrap() {
        let bytes = hex::decode(case["point_wei"].as_str().unwrap()).unwrap();
        let mut apdu = vec![0x80, 0x18, 0, 0, bytes.len() as u8];
        apdu.extend_from_slice(&bytes);
        apdu.push(0);
        let sw = raw_bytes(&mut c, &apdu).1;
        let want = if bytes.len() == 65 {
            SW_INCORRECT_DATA
        } else {
            SW_WRONG_LENGTH
        };
        assert_eq!(sw, want, "{}", case["name"]);
    }
    // The five low-order X of unseal.md, whatever Y.
    for x in [
        "2aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaad2451",
        "2aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaad2452",
        "2aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaad2450",
        "2b62f409c0b00d31a85bdd479637b485156f4a9ca58e00c15962ebe627281031",
        "01bc4a7b87f8cd833138c7036f06eeaf069a2e47005c7b5bcf36fb4e6742c0c3",
    ] {
        let point = hex65(&Value::String(format!("04{x}{}", "00".repeat(32))));
        assert!(matches!(
            c.unseal(&point),
            Err(CardError::InvalidData { command: "UNSEAL" })
        ));
    }
    assert_eq!(raw(&mut c, "80180000010400").1, SW_WRONG_LENGTH);
    c.clear_pin().unwrap();
    let g = hex65(&v["cases"][0]["point_wei"]);
    assert!(matches!(
        c.unseal(&g),
        Err(CardError::PinNotVerified { .. })
    ));
    let mut p = personalised();
    p.verify(&pin(PIN)).unwrap();
    assert!(matches!(p.unseal(&g), Err(CardError::WrongState { .. })));
}

#[test]
fn the_record_vectors_go_in_and_their_shares_come_out() {
    let v = vectors("record.json");
    let custodians = v["enrollment"]["custodians"].as_array().unwrap();
    for (case, custodian) in v["cases"].as_array().unwrap().iter().zip(custodians) {
        let mut c = card(
            MemoryApplet::new()
                .queue_key(&hex32(&custodian["card_scalar_be"]))
                .personalised(PIN),
        );
        let key = CardKey::from_card_point(&c.status().unwrap().public_key.unwrap()).unwrap();
        assert_eq!(
            key.fingerprint(),
            custodian["card_fingerprint"].as_str().unwrap()
        );
        assert_eq!(
            hex::encode(key.to_x25519()),
            custodian["card_key"].as_str().unwrap()
        );
        c.verify(&pin(PIN)).unwrap();
        let stream = hex::decode(case["stream_hex"].as_str().unwrap()).unwrap();
        c.put_record(&stream).unwrap();
        let public = c.get_record_public().unwrap();
        let sealed = c.get_record_sealed().unwrap();
        assert_eq!(hex::encode(&public), case["public_hex"].as_str().unwrap());
        assert_eq!(
            hex::encode(&sealed[..]),
            case["sealed_hex"].as_str().unwrap()
        );
        let opened = quorum_protocol::sharing::open_share(
            &public,
            &sealed,
            &key,
            &mut rand::rngs::OsRng,
            |point: &[u8; 65]| c.unseal(point).map(|x| *x),
        )
        .unwrap();
        assert_eq!(u64::from(opened.index()), case["index"].as_u64().unwrap());
    }
}

#[test]
fn factory_reset_erases_everything_in_any_state() {
    let mut c = enrolled();
    for _ in 0..5 {
        let _ = c.verify(&pin("000000"));
    }
    assert!(c.transport().blocked());
    assert_eq!(raw(&mut c, "801EAA56").1, SW_WRONG_P1P2);
    assert_eq!(raw(&mut c, "801EAA550100").1, SW_WRONG_LENGTH);
    c.factory_reset().unwrap();
    let (data, _) = raw(&mut c, "8010000000");
    assert_eq!(hex::encode_upper(data), "0000000020000000000000");
    assert_eq!(c.transport().public_key(), None);
    assert_eq!(c.transport().record(), None);
    // And it can be personalised again, with a new key.
    c.initialise(RetryLimit::default(), &pin(PIN)).unwrap();
}

#[test]
fn get_response_needs_pending_output_and_any_other_command_drops_it() {
    let mut c = enrolled();
    assert_eq!(raw(&mut c, "00C0000000").1, SW_CONDITIONS);
    let (_, sw) = raw(&mut c, "8010000010");
    assert_eq!(sw, 0x613C);
    assert_eq!(raw(&mut c, "80C0000000").1, SW_CLA_NOT_SUPPORTED);
    assert_eq!(
        raw(&mut c, "00C0000000").1,
        SW_CONDITIONS,
        "dropped by 80 C0"
    );
    raw(&mut c, "8010000010");
    assert_eq!(raw(&mut c, "00C0010000").1, SW_WRONG_P1P2);
    assert_eq!(
        raw(&mut c, "00C0000000").1,
        SW_CONDITIONS,
        "dropped by a refused GET RESPONSE"
    );
    raw(&mut c, "8010000010");
    let (data, sw) = raw(&mut c, "00C0000010");
    assert_eq!((data.len(), sw), (16, 0x612C));
    let (data, sw) = raw(&mut c, "00C0000000");
    assert_eq!((data.len(), sw), (44, SW_OK));
}

#[test]
fn the_class_check_follows_the_table() {
    let mut c = enrolled();
    for (apdu, sw) in [
        ("80A4040009F051554F52554D0101", SW_CLA_NOT_SUPPORTED),
        ("10A4040009F051554F52554D0101", SW_CHAINING_NOT_SUPPORTED),
        ("9010000000", SW_CHAINING_NOT_SUPPORTED),
        ("0010000000", SW_CLA_NOT_SUPPORTED),
        ("8410000000", SW_CLA_NOT_SUPPORTED),
        ("00AA000000", SW_INS_NOT_SUPPORTED),
        ("10AA000000", SW_CHAINING_NOT_SUPPORTED),
        ("80AA000000", SW_INS_NOT_SUPPORTED),
        ("90AA000000", SW_CHAINING_NOT_SUPPORTED),
        ("A0AA000000", SW_CLA_NOT_SUPPORTED),
        ("1014000000", SW_CLA_NOT_SUPPORTED),
    ] {
        assert_eq!(raw(&mut c, apdu).1, sw, "{apdu}");
    }
    // While a chain is in progress: 6883 for runs / 6884 / 6D00 cells, 6E00 stays.
    for (apdu, sw) in [
        ("10A4040000", SW_CHAIN_ABORTED),
        ("80AA000000", SW_CHAIN_ABORTED),
        ("8020000000", SW_CLA_NOT_SUPPORTED),
    ] {
        assert_eq!(raw(&mut c, "9014000004 0003 0002").1, SW_OK);
        assert_eq!(raw(&mut c, apdu).1, sw, "{apdu}");
        assert!(!c.transport().chain_in_progress());
    }
    // An extended-length APDU is the runtime's 6700.
    assert_eq!(raw(&mut c, "8010000000000100").1, SW_WRONG_LENGTH);
    assert_eq!(
        StatusWord::from_u16(SW_CHAIN_ABORTED),
        StatusWord::ChainAborted
    );
}

#[test]
fn the_log_says_what_the_card_saw() {
    let c = enrolled();
    assert_eq!(c.transport().pin_checks(), 1);
    // `personalised` prepares the card off the log: what follows is what the test did.
    assert_eq!(c.transport().writes(), 1, "one PUT RECORD");
    assert_eq!(c.transport().count(0xA4), 1);
    let shown = format!("{:?}", c.transport().log()[0]);
    assert!(shown.ends_with("→ 9000"), "{shown}");
}

// ---- MemoryReaders ----

#[test]
fn readers_connect_exclusively_and_reset_the_card_on_disconnect() {
    let a = shared(MemoryApplet::with_seed(11).personalised(PIN));
    let readers = MemoryReaders::new(&["A", "B"]);
    readers.insert("A", &a);
    assert!(matches!(readers.connect("B"), Err(TransportError::NoCard(r)) if r == "B"));
    assert!(matches!(
        readers.connect("C"),
        Err(TransportError::UnknownReader(_))
    ));
    let infos = readers.readers().unwrap();
    assert!(infos[0].card_present && !infos[1].card_present);
    assert_eq!(infos[0].atr, MEMORY_ATR);
    let mut c = Card::with_trace(readers.connect("A").unwrap(), false);
    assert!(matches!(
        readers.connect("A"),
        Err(TransportError::CardInUse(_))
    ));
    c.select().unwrap();
    c.verify(&pin(PIN)).unwrap();
    assert!(a.borrow().validated());
    drop(c);
    assert!(!a.borrow().validated(), "disconnecting resets the card");
    let mut c = Card::with_trace(readers.connect("A").unwrap(), false);
    c.select().unwrap();
    assert_eq!(a.borrow().count(0x20), 1);
}

#[test]
fn a_pulled_card_fails_the_transmit_and_leaves_the_reader() {
    let a = shared(MemoryApplet::with_seed(12).personalised(PIN));
    let readers = MemoryReaders::with_cards(std::slice::from_ref(&a));
    let mut c = Card::with_trace(readers.connect("Reader 0").unwrap(), false);
    // one APDU: the SELECT (a 1.2 card's answer carries the status GET STATUS would give)
    readers.pull_after("Reader 0", 1, TransportError::CardRemoved);
    c.select().unwrap();
    c.status().unwrap();
    assert!(matches!(
        c.verify(&pin(PIN)),
        Err(CardError::Transport(TransportError::CardRemoved))
    ));
    assert_eq!(a.borrow().count(0x20), 0, "the card never saw the VERIFY");
    assert!(readers.card_in("Reader 0").is_none());
    assert!(matches!(
        c.status(),
        Err(CardError::Transport(TransportError::CardRemoved))
    ));
    // Executed, then pulled: the card did it, the host never heard.
    readers.insert("Reader 0", &a);
    let mut c = Card::with_trace(readers.connect("Reader 0").unwrap(), false);
    readers.pull_after_executing("Reader 0", 1, TransportError::ExchangeFailed);
    c.select().unwrap();
    assert!(matches!(
        c.factory_reset(),
        Err(CardError::Transport(TransportError::ExchangeFailed))
    ));
    assert_eq!(a.borrow().state(), LifeCycle::Blank);
}

#[test]
fn waits_play_the_script_and_time_out_when_it_runs_dry() {
    let a = shared(MemoryApplet::with_seed(13));
    let b = shared(MemoryApplet::with_seed(14));
    let readers = MemoryReaders::new(&["R", "S"]);
    readers.then_present_in_turn("R", &[&a, &b]);
    let info = readers.wait_for_card("R", None).unwrap().unwrap();
    assert!(info.card_present);
    assert!(Rc::ptr_eq(&readers.card_in("R").unwrap(), &a));
    // Already there: no movement is played.
    readers.wait_for_card("R", None).unwrap().unwrap();
    assert_eq!(readers.script_left(), 3);
    assert!(readers.wait_for_removal("R", None).unwrap());
    readers.wait_for_card("R", None).unwrap().unwrap();
    assert!(Rc::ptr_eq(&readers.card_in("R").unwrap(), &b));
    // A change: the removal of b.
    let known = readers.readers().unwrap();
    let now = readers.wait_for_change(&known, None).unwrap().unwrap();
    assert!(!now[0].card_present);
    // Nothing left: every wait times out.
    assert!(readers.wait_for_card("S", None).unwrap().is_none());
    assert!(readers
        .wait_for_change(&readers.readers().unwrap(), None)
        .unwrap()
        .is_none());
    readers.insert("S", &a);
    assert!(!readers.wait_for_removal("S", None).unwrap());
    // A swap in one movement still shows as a change (the event counter moved).
    let known = readers.readers().unwrap();
    readers.remove("S");
    readers.insert("S", &b);
    assert!(readers.wait_for_change(&known, None).unwrap().is_some());
    assert_eq!(
        readers.waits(),
        [
            "card in R",
            "card in R",
            "removal from R",
            "card in R",
            "change",
            "card in S",
            "change",
            "removal from S",
            "change"
        ]
    );
}

#[test]
fn readers_hold_openpgp_cards_beside_applet_cards() {
    use crate::any::AnyCard;
    use crate::custodian::CustodianCard;
    use crate::openpgp::RecordSource;
    let applet = shared(MemoryApplet::with_seed(15).personalised(PIN));
    let openpgp = shared_openpgp(MemoryOpenPgp::with_seed(16).with_cv25519_key());
    let readers = MemoryReaders::with_cards(&[applet.held(), openpgp.held()]);
    let infos = readers.readers().unwrap();
    assert_eq!(infos[0].atr, MEMORY_ATR);
    assert_eq!(infos[1].atr, OPENPGP_ATR);
    // Each reader gives its own kind back, and nothing for the other.
    assert!(Rc::ptr_eq(&readers.card_in("Reader 0").unwrap(), &applet));
    assert!(readers.openpgp_in("Reader 0").is_none());
    assert!(Rc::ptr_eq(
        &readers.openpgp_in("Reader 1").unwrap(),
        &openpgp
    ));
    assert!(readers.card_in("Reader 1").is_none());
    // A ceremony's session finds the OpenPGP application after the applet's 6A82.
    let mut card = AnyCard::new(
        Card::with_trace(readers.connect("Reader 1").unwrap(), false),
        RecordSource::new(),
    );
    card.select().unwrap();
    assert!(card.is_openpgp());
    card.verify(&quorum_protocol::pin::Pin::new(DEFAULT_USER_PIN).unwrap())
        .unwrap();
    assert!(openpgp.borrow().user_pin_verified());
    drop(card);
    assert!(
        !openpgp.borrow().user_pin_verified(),
        "disconnecting resets an OpenPGP card too"
    );
    // Removed, it comes back as what it is.
    let held = readers.remove("Reader 1").unwrap();
    assert!(held.same_card(&openpgp.held()) && held.applet().is_none());
    assert!(readers.readers().unwrap()[1].atr.is_empty());
}

#[test]
fn a_turn_through_one_reader_may_mix_the_kinds() {
    let applet = shared(MemoryApplet::with_seed(17).personalised(PIN));
    let openpgp = shared_openpgp(MemoryOpenPgp::with_seed(18).with_cv25519_key());
    let readers = MemoryReaders::new(&["R"]);
    readers.then_present_in_turn("R", &[&openpgp as &dyn Insertable, &applet]);
    readers.wait_for_card("R", None).unwrap().unwrap();
    assert!(Rc::ptr_eq(&readers.openpgp_in("R").unwrap(), &openpgp));
    assert_eq!(readers.readers().unwrap()[0].atr, OPENPGP_ATR);
    assert!(readers.wait_for_removal("R", None).unwrap());
    readers.wait_for_card("R", None).unwrap().unwrap();
    assert!(Rc::ptr_eq(&readers.card_in("R").unwrap(), &applet));
    assert_eq!(readers.script_left(), 1);
}

use std::rc::Rc;

#[test]
fn a_1_3_card_vouches_for_its_public_part_with_the_digest_made_at_commit() {
    use sha2::{Digest, Sha256};
    let mut c = enrolled();
    c.select().unwrap();
    let header = c.record_header().expect("an enrolled 1.3 card's header");
    assert_eq!(header.public_digest, Some(Sha256::digest(b"pub").into()));
    // A second record goes to the other slot: its digest replaces the first.
    c.verify(&pin(PIN)).unwrap();
    c.put_record(&PutRecordStream::encode(b"public2", b"se").unwrap())
        .unwrap();
    c.select().unwrap();
    let digest = c.record_header().unwrap().public_digest;
    assert_eq!(digest, Some(Sha256::digest(b"public2").into()));
    assert_eq!(c.get_record_public().unwrap(), b"public2");
    // A 1.2 card sends the header without it.
    let mut old = card(MemoryApplet::with_seed(1).protocol_1_2().personalised(PIN));
    old.verify(&pin(PIN)).unwrap();
    old.put_record(&PutRecordStream::encode(b"pub", b"se").unwrap())
        .unwrap();
    old.select().unwrap();
    assert_eq!(old.record_header().unwrap().public_digest, None);
    // A factory reset leaves no header and no digest.
    c.verify(&pin(PIN)).unwrap();
    c.factory_reset().unwrap();
    c.select().unwrap();
    assert_eq!(c.record_header(), None);
}
