//! The quorum card protocol, version 1, as a pure codec: command APDUs, status words and
//! response layouts (apdu-spec/README.md). No I/O happens here; `transport` moves the
//! bytes and `card` runs the operations.
//!
//! - [`command`]: builders for every command APDU, each marking which bytes are secret so
//!   that traces can redact them;
//! - [`chain`]: the PUT RECORD stream and its split into a chain of short or extended APDUs;
//! - [`status`]: the typed status word;
//! - [`response`]: parsers for the fixed-layout responses;
//! - [`part10`]: PC/SC Part 10 PIN pad readers: their feature list and the structures that
//!   make them collect the PIN on their own keypad.

pub mod chain;
pub mod command;
pub mod part10;
pub mod response;
pub mod status;

pub use chain::{Pieces, PutRecordStream, StreamError};
pub use command::{CommandApdu, RecordKey, RecordPart};
pub use part10::{FeatureError, PinModify, PinVerify, PinpadFeatures, ReaderFeatures};
pub use response::{
    parse_dh_output, parse_public_key, Capabilities, CardStatus, LifeCycle, ParseError,
    ProtocolVersion, RecordHeader, SelectAnswer, SelectInfo, PUBLIC_DIGEST_LEN, RECORD_HEADER_LEN,
};
pub use status::StatusWord;

/// The applet's AID, selected before anything else (`F0` proprietary, ASCII `QUORUM`, 01 01).
pub const APPLET_AID: [u8; 9] = [0xF0, 0x51, 0x55, 0x4F, 0x52, 0x55, 0x4D, 0x01, 0x01];
/// The package's AID, for installers that load the applet.
pub const PACKAGE_AID: [u8; 8] = [0xF0, 0x51, 0x55, 0x4F, 0x52, 0x55, 0x4D, 0x01];
/// Protocol major version this host speaks; a card with another major is refused.
pub const PROTOCOL_MAJOR: u8 = 1;
/// Protocol minor version this host speaks (1.1: key renewal; 1.2: the card's status and
/// record header at SELECT, UNSEAL with the sealed part; 1.3: the public digest in the header;
/// 1.4: PUT RECORD in extended-length APDUs), recorded in each log line.
pub const PROTOCOL_MINOR: u8 = 4;

/// CLA of the ISO commands (SELECT, VERIFY, CHANGE REFERENCE DATA, GET RESPONSE).
pub const CLA_ISO: u8 = 0x00;
/// CLA of quorum's own commands.
pub const CLA_PROPRIETARY: u8 = 0x80;
/// CLA bit that marks "more of this command follows" (PUT RECORD only).
pub const CLA_CHAINING: u8 = 0x10;

/// SELECT by AID.
pub const INS_SELECT: u8 = 0xA4;
/// GET STATUS.
pub const INS_GET_STATUS: u8 = 0x10;
/// INITIALISE (key generation and first PIN).
pub const INS_INITIALISE: u8 = 0x12;
/// PUT RECORD (chained).
pub const INS_PUT_RECORD: u8 = 0x14;
/// GET RECORD (public or sealed part).
pub const INS_GET_RECORD: u8 = 0x16;
/// UNSEAL (the card's DH step).
pub const INS_UNSEAL: u8 = 0x18;
/// PREPARE KEY: a new key pair kept pending until PUT RECORD P1 = 01 makes it active (1.1).
pub const INS_PREPARE_KEY: u8 = 0x1C;
/// FACTORY RESET.
pub const INS_FACTORY_RESET: u8 = 0x1E;
/// VERIFY (ISO 7816-4).
pub const INS_VERIFY: u8 = 0x20;
/// CHANGE REFERENCE DATA (ISO 7816-4).
pub const INS_CHANGE_REFERENCE_DATA: u8 = 0x24;
/// GET RESPONSE (ISO 7816-4), fetches output announced by 61xx.
pub const INS_GET_RESPONSE: u8 = 0xC0;

/// P2 of VERIFY / CHANGE REFERENCE DATA: the card's one PIN (specific reference 01).
pub const P2_PIN: u8 = 0x81;
/// P1 of VERIFY that clears the validated state.
pub const P1_VERIFY_CLEAR: u8 = 0xFF;
/// P1 of FACTORY RESET; magic so that it is never sent by accident.
pub const P1_FACTORY_RESET: u8 = 0xAA;
/// P2 of FACTORY RESET; magic so that it is never sent by accident.
pub const P2_FACTORY_RESET: u8 = 0x55;

/// Largest command data field of a short APDU.
pub const MAX_SHORT_DATA: usize = 255;
/// Largest PUT RECORD data field in extended form (protocol 1.4): JavaCard's `short` Lc.
pub const MAX_EXTENDED_DATA: usize = 32767;
/// Largest response data field of a short APDU (Le = 00).
pub const MAX_SHORT_RESPONSE: u16 = 256;
/// Length of an uncompressed Wei25519 point `04 ‖ X ‖ Y`: the crypto module's, one value.
pub use crate::crypto::wei25519::POINT_LEN;
/// Length of the UNSEAL answer: the big-endian X coordinate of d·P.
pub const DH_LEN: usize = 32;

#[cfg(test)]
mod identity_tests {
    use super::{APPLET_AID, PACKAGE_AID};

    /// applet/applet.properties is where scripts/cap takes the AIDs from; the host must select
    /// what the CAP file installs.
    #[test]
    fn aids_match_the_applet_properties_that_scripts_cap_reads() {
        let props = include_str!("../../../../applet/applet.properties");
        let value = |key: &str| {
            props
                .lines()
                .find_map(|l| l.strip_prefix(key)?.strip_prefix('='))
                .unwrap_or_else(|| panic!("applet/applet.properties has no {key}"))
                .to_owned()
        };
        assert_eq!(value("applet.aid"), hex::encode_upper(APPLET_AID));
        assert_eq!(value("package.aid"), hex::encode_upper(PACKAGE_AID));
    }
}
