//! The OpenPGP card application (Functional Specification 3.4.1, "the spec" below) as a
//! codec, so that an OpenPGP card's cv25519 decryption key can be a quorum custodian card
//! (issue 12). No I/O, like the rest of the crate: builders return [`CommandApdu`]s for the
//! one transmit path, parsers read the answers into types.
//!
//! What quorum uses of the application, and nothing more:
//! - recognising the card: SELECT, GET DATA 6E (AID, manufacturer, serial, algorithm
//!   attributes, fingerprints, PIN tries) — [`command`], [`data`];
//! - the user PIN (PW1, reference 82) before PSO:DECIPHER, the admin PIN (PW3, 83) before key
//!   generation and PUT DATA, and the tries-left query;
//! - PSO:DECIPHER with the blinded point t·E, unblinded on the host — [`decipher`];
//! - generating a cv25519 decryption key on the card and reading its public key;
//! - the private-use data objects 0101–0104 that can hold a card's sealed share, and the
//!   quorum header in 0101 ([`header`]; apdu-spec/openpgp.md).
//!
//! **Short APDUs only, no extended length, no command chaining.** quorum's data are small:
//! the DECIPHER data field is 39 bytes, the sealed share 81 bytes, PINs at most 127 bytes,
//! so every command fits a short APDU (at most 255 data bytes), which every reader and card
//! accepts. Long answers (GET DATA 6E is about 320 bytes on a YubiKey 5) arrive with `61xx`
//! and are fetched with GET RESPONSE by the transmit path, as for the quorum applet. A card
//! announces extended length in its historical bytes (spec §6) and 7F66; quorum need not ask.

pub mod command;
pub mod data;
pub mod decipher;
pub mod header;
mod tlv;

use crate::apdu::CommandApdu;

pub use command::{AdminPin, PinError, PinRef, PrivateUse, UserPin};
pub use data::{
    parse_decipher_answer, parse_public_key, Access, Aid, AlgorithmAttributes,
    ApplicationRelatedData, ExtendedCapabilities, Fingerprint, KdfSetting, KeyStatus,
    OpenPgpParseError, PwStatus, Slots, SpecVersion, TouchPolicy,
};
pub use decipher::{BlindedDecipher, DecipherError};
pub use header::{HeaderError, QuorumHeader, HEADER_LEN, HEADER_MAGIC};
pub use tlv::TlvError;

/// The OpenPGP application's AID prefix (RID D2 76 00 01 24, PIX application 01), selected by partial AID.
pub const OPENPGP_AID_PREFIX: [u8; 6] = [0xD2, 0x76, 0x00, 0x01, 0x24, 0x01];

/// GET DATA (spec §7.2.6).
pub const INS_GET_DATA: u8 = 0xCA;
/// PUT DATA (spec §7.2.8).
pub const INS_PUT_DATA: u8 = 0xDA;
/// PERFORM SECURITY OPERATION; P1 P2 = 80 86 is DECIPHER (spec §7.2.11).
pub const INS_PSO: u8 = 0x2A;
/// GENERATE ASYMMETRIC KEY PAIR (spec §7.2.14).
pub const INS_GENERATE_ASYMMETRIC_KEY_PAIR: u8 = 0x47;

/// Tag of the Application Related Data (spec §4.4.1), quorum's one read to recognise a card.
pub const TAG_APPLICATION_RELATED_DATA: u16 = 0x006E;
/// Tag of the algorithm attributes of the decryption key (spec §4.4.3.10).
pub const TAG_ALGORITHM_ATTRIBUTES_DEC: u16 = 0x00C2;
/// Tag of the PW status bytes (spec §4.4.1), also readable alone for a fresh count of tries.
pub const TAG_PW_STATUS: u16 = 0x00C4;
/// Tag of the decryption key's fingerprint (spec §4.4.2), written by the host after generation.
pub const TAG_FINGERPRINT_DEC: u16 = 0x00C8;
/// Tag of the decryption key's generation date and time (spec §4.4.2; CE is the signature key's).
pub const TAG_GENERATION_TIME_DEC: u16 = 0x00CF;
/// Tag of the KDF-DO (spec §4.3.2): when active, the host must send KDF(PIN), not the PIN.
pub const TAG_KDF: u16 = 0x00F9;

/// The algorithm attributes of cv25519 ECDH (spec §4.4.3.10): algorithm ID 12 (ECDH) and
/// the curve's OID 1.3.6.1.4.1.3029.1.5.1 without tag and length.
pub const CV25519_ECDH_ATTRIBUTES: [u8; 11] = [
    0x12, 0x2B, 0x06, 0x01, 0x04, 0x01, 0x97, 0x55, 0x01, 0x05, 0x01,
];

/// Length of an OpenPGP v4 fingerprint as the card stores it (spec §4.4.2, C7–C9).
pub const FINGERPRINT_LEN: usize = 20;

/// Builds a short APDU with CLA 00 (the spec's commands are all interindustry).
fn apdu(ins: u8, p1: u8, p2: u8, data: &[u8], ne: u16) -> CommandApdu {
    CommandApdu::encode(iso7816::command::class::ZERO_CLA, ins, p1, p2, data, ne)
}
