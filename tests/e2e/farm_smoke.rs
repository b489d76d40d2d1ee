//! End-to-end tests through a real pcscd, vpcd and the card farm.
//!
//! Smoke tests of the farm itself, below quorumctl: SELECT, state kept across readers.
//! It knows two applets: the farm's own probe applet (run with
//! `QUORUM_SIM_APPLET_JAR=sim/cardfarm/target/quorum-cardfarm-0.1.0-tests.jar
//! QUORUM_SIM_APPLET_CLASS=dev.quorum.cardfarm.testapplet.ProbeApplet`) and the quorum
//! applet (the default), whose protocol is in apdu-spec/README.md.

use std::ffi::CString;

use crate::farm::{self, connect, transmit, Farm};

const SELECT_QUORUM: [u8; 14] = [
    0x00, 0xA4, 0x04, 0x00, 0x09, 0xF0, 0x51, 0x55, 0x4F, 0x52, 0x55, 0x4D, 0x01, 0x01,
];
const PROBE_APPLET: &str = "dev.quorum.cardfarm.testapplet.ProbeApplet";
const QUORUM_APPLET: &str = "dev.quorum.applet.QuorumApplet";
/// PIN 123456 as a 12-byte PIN block (ASCII digits, padded with FF).
const PIN_BLOCK: [u8; 12] = [
    0x31, 0x32, 0x33, 0x34, 0x35, 0x36, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
];

/// Changes persistent and transient state on a freshly selected card.
fn leave_a_mark(applet: &str, card: &pcsc::Card, select_response: &[u8]) {
    match applet {
        PROBE_APPLET => {
            assert_eq!(
                transmit(card, &[0x80, 0x02, 0x00, 0x00, 0x02, 0x5E, 0xED]).1,
                0x9000
            );
            assert_eq!(transmit(card, &[0x80, 0x06, 0x00, 0x00]).1, 0x9000);
            assert_eq!(
                transmit(card, &[0x80, 0x0A, 0x00, 0x00, 0x00]),
                (vec![1], 0x9000)
            );
        }
        QUORUM_APPLET => {
            // protocol 1.2 and later: the 6 bytes and a blank card's 11-byte status
            assert_eq!(
                select_response.len(),
                17,
                "SELECT answers 17 bytes when BLANK"
            );
            assert_eq!(select_response[3], 0x00, "a new card is BLANK");
            let mut init = vec![0x80, 0x12, 0x00, 0x00, 0x0D, 0x03];
            init.extend_from_slice(&PIN_BLOCK);
            init.push(0x00);
            let (public_key, sw) = transmit(card, &init);
            assert_eq!(sw, 0x9000, "INITIALISE");
            assert_eq!(public_key.len(), 65);
            let mut verify = vec![0x00, 0x20, 0x00, 0x81, 0x0C];
            verify.extend_from_slice(&PIN_BLOCK);
            assert_eq!(transmit(card, &verify).1, 0x9000, "VERIFY");
        }
        other => panic!("the smoke test knows {PROBE_APPLET} and {QUORUM_APPLET}, not {other}"),
    }
}

/// Checks that the persistent state survived and the transient state did not.
fn check_the_mark(applet: &str, card: &pcsc::Card, select_response: &[u8]) {
    match applet {
        PROBE_APPLET => {
            assert_eq!(
                transmit(card, &[0x80, 0x04, 0x00, 0x00, 0x00]),
                (vec![0x5E, 0xED], 0x9000)
            );
            assert_eq!(
                transmit(card, &[0x80, 0x0A, 0x00, 0x00, 0x00]),
                (vec![0], 0x9000),
                "pulling the card cut its power"
            );
        }
        QUORUM_APPLET => {
            assert_eq!(select_response[3], 0x01, "the card stayed PERSONALISED");
            assert_eq!(
                transmit(card, &[0x00, 0x20, 0x00, 0x81]).1,
                0x63C3,
                "PIN no longer validated, 3 tries left"
            );
        }
        other => panic!("the smoke test knows {PROBE_APPLET} and {QUORUM_APPLET}, not {other}"),
    }
}

#[test]
fn a_card_keeps_its_state_when_moved_to_another_reader() {
    let _serial = farm::lock();
    let farm = Farm::connect();
    farm.clear_all();
    let applet = farm
        .applet_class()
        .expect("the farm installs an applet")
        .to_owned();

    let card = farm.new_card(None);
    farm.insert(&card, 0);
    let reader0 = connect(&farm, 0);
    let (selected, sw) = transmit(&reader0, &SELECT_QUORUM);
    assert_eq!(sw, 0x9000, "SELECT of the quorum AID");
    leave_a_mark(&applet, &reader0, &selected);
    drop(reader0);

    farm.remove(0);
    let name0 = CString::new(farm.reader_name(0)).expect("no NUL in reader names");
    match farm
        .context()
        .connect(&name0, pcsc::ShareMode::Shared, pcsc::Protocols::ANY)
    {
        Err(pcsc::Error::NoSmartcard | pcsc::Error::RemovedCard) => {}
        Err(e) => panic!("connect to the emptied reader 0: {e}"),
        Ok(_) => panic!("reader 0 still has a card after it was pulled"),
    }

    farm.insert(&card, 3);
    assert!(farm.cards().contains(&(card.clone(), Some(3))));
    let reader3 = connect(&farm, 3);
    let (selected, sw) = transmit(&reader3, &SELECT_QUORUM);
    assert_eq!(sw, 0x9000, "SELECT after the move");
    check_the_mark(&applet, &reader3, &selected);
    drop(reader3);
    farm.remove(3);
}

#[test]
fn a_card_without_the_applet_answers_select_with_6a82() {
    let _serial = farm::lock();
    let farm = Farm::connect();
    farm.clear_all();
    let card = farm.new_card_without_applet();
    farm.insert(&card, 1);
    let reader = connect(&farm, 1);
    assert_eq!(transmit(&reader, &SELECT_QUORUM).1, 0x6A82);
    drop(reader);
    farm.remove(1);
}
