//! PC/SC v2 Part 10 (PIN pad readers) as a pure codec: the reader's feature list and the
//! structures that ask a reader to collect a PIN on its own keypad and insert it into an
//! APDU template (apdu-spec/pinpad.md).
//!
//! - [`ReaderFeatures`]: the answer to `CM_IOCTL_GET_FEATURE_REQUEST`, a list of 6-byte
//!   TLVs (tag, length 4, big-endian control code), parsed strictly;
//! - [`PinVerify`] / [`PinModify`]: `PIN_VERIFY_STRUCTURE` and `PIN_MODIFY_STRUCTURE`,
//!   packed with little-endian multi-byte fields; general enough for any card, with
//!   [`PinVerify::quorum`] and [`PinModify::quorum`] filled in for quorum's PIN block.
//!
//! Nothing here is secret: the structures carry a template of `FF` bytes, the reader
//! writes the digits into its copy of the APDU, and the host only ever sees the status word.

use super::{
    CLA_ISO, CLA_PROPRIETARY, INS_CHANGE_REFERENCE_DATA, INS_INITIALISE, INS_VERIFY,
    MAX_SHORT_DATA, P2_PIN,
};
use crate::pin::{PIN_BLOCK_LEN, PIN_MAX_DIGITS, PIN_MIN_DIGITS};

/// Function number of `CM_IOCTL_GET_FEATURE_REQUEST`; the transport turns it into the
/// platform's control code (`SCARD_CTL_CODE(3400)`, 0x42000D48 with pcsc-lite).
pub const GET_FEATURE_REQUEST_FUNCTION: u32 = 3400;

/// Tag of FEATURE_VERIFY_PIN_DIRECT: the reader verifies a PIN typed on its keypad.
pub const FEATURE_VERIFY_PIN_DIRECT: u8 = 0x06;
/// Tag of FEATURE_MODIFY_PIN_DIRECT: the reader changes a PIN typed on its keypad.
pub const FEATURE_MODIFY_PIN_DIRECT: u8 = 0x07;
/// Tag of FEATURE_IFD_PIN_PROPERTIES: the reader's display and entry properties.
pub const FEATURE_IFD_PIN_PROPERTIES: u8 = 0x0A;
/// Tag of FEATURE_GET_TLV_PROPERTIES: the reader's properties as TLVs (min/max PIN size...).
pub const FEATURE_GET_TLV_PROPERTIES: u8 = 0x12;

/// Length of one feature TLV: tag (1), length (1), control code (4).
const FEATURE_TLV_LEN: usize = 6;
/// The only value the length byte of a feature TLV may hold.
const FEATURE_VALUE_LEN: u8 = 4;

/// Seconds the reader waits for the PIN when the custodian does not choose: long enough to
/// find the card's PIN, short enough that a forgotten reader does not block a ceremony.
pub const DEFAULT_TIMEOUT_SECS: u8 = 30;

/// bmFormatString for quorum: units bytes (b7), PIN at position 0 (b6–3), left-justified
/// (b2 = 0), ASCII digits (b1–0 = 10).
pub const QUORUM_FORMAT_STRING: u8 = 0x82;
/// bmPINBlockString for quorum: no PIN length field (b7–4 = 0), a 12-byte block (b3–0).
pub const QUORUM_PIN_BLOCK_STRING: u8 = PIN_BLOCK_LEN as u8;
/// bmPINLengthFormat for quorum: the PIN length is not written anywhere.
pub const QUORUM_PIN_LENGTH_FORMAT: u8 = 0x00;
/// bEntryValidationCondition "validation key pressed": the custodian confirms with OK.
pub const ENTRY_VALIDATION_OK_KEY: u8 = 0x02;
/// bConfirmPIN bit 0: the reader asks for the new PIN twice.
pub const CONFIRM_NEW_PIN: u8 = 0x01;
/// bConfirmPIN bit 1: the reader asks for the current PIN first.
pub const ENTER_CURRENT_PIN: u8 = 0x02;
/// wLangId English (United States), the language of the reader's own prompts.
pub const LANG_ENGLISH_US: u16 = 0x0409;

/// Bytes of PIN_VERIFY_STRUCTURE before the APDU.
pub const VERIFY_HEADER_LEN: usize = 19;
/// Bytes of PIN_MODIFY_STRUCTURE before the APDU.
pub const MODIFY_HEADER_LEN: usize = 24;

/// Why a feature list or a structure was refused; names the offending bytes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FeatureError {
    /// The answer stops inside a TLV.
    #[error("the feature list ends inside an entry: {len} bytes is not a whole number of 6-byte entries")]
    Truncated {
        /// Length of the whole answer.
        len: usize,
    },
    /// A TLV whose length byte is not 4.
    #[error("feature {tag:#04x} announces a {length}-byte value, a control code has 4")]
    ValueLength {
        /// The feature's tag.
        tag: u8,
        /// The length byte found.
        length: u8,
    },
    /// The same feature listed twice with possibly different control codes.
    #[error("feature {0:#04x} is listed twice")]
    Duplicate(u8),
}

/// Why a PIN structure cannot be encoded; the caller built it wrongly.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StructureError {
    /// The APDU template is shorter than a header or longer than a short APDU.
    #[error("the APDU template has {0} bytes; a short command APDU has 4 to {max}", max = 5 + MAX_SHORT_DATA + 1)]
    ApduLength(usize),
    /// The minimum PIN length exceeds the maximum.
    #[error("minimum PIN length {min} exceeds the maximum {max}")]
    DigitRange {
        /// Fewest digits.
        min: u8,
        /// Most digits.
        max: u8,
    },
}

/// The control codes a reader announced, by feature; what it did not list is `None`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReaderFeatures {
    /// FEATURE_VERIFY_PIN_DIRECT (0x06).
    pub verify_pin_direct: Option<u32>,
    /// FEATURE_MODIFY_PIN_DIRECT (0x07).
    pub modify_pin_direct: Option<u32>,
    /// FEATURE_IFD_PIN_PROPERTIES (0x0A).
    pub ifd_pin_properties: Option<u32>,
    /// FEATURE_GET_TLV_PROPERTIES (0x12).
    pub get_tlv_properties: Option<u32>,
    /// Every other feature, kept as (tag, control code) in the reader's order.
    pub others: Vec<(u8, u32)>,
}

impl ReaderFeatures {
    /// Reads a feature-request answer; an empty answer is a reader without features.
    pub fn parse(answer: &[u8]) -> Result<ReaderFeatures, FeatureError> {
        if !answer.len().is_multiple_of(FEATURE_TLV_LEN) {
            return Err(FeatureError::Truncated { len: answer.len() });
        }
        let mut features = ReaderFeatures::default();
        let mut seen = Vec::new();
        for tlv in answer.chunks_exact(FEATURE_TLV_LEN) {
            let (tag, length) = (tlv[0], tlv[1]);
            if length != FEATURE_VALUE_LEN {
                return Err(FeatureError::ValueLength { tag, length });
            }
            if seen.contains(&tag) {
                return Err(FeatureError::Duplicate(tag));
            }
            seen.push(tag);
            let code = u32::from_be_bytes([tlv[2], tlv[3], tlv[4], tlv[5]]);
            let slot = match tag {
                FEATURE_VERIFY_PIN_DIRECT => &mut features.verify_pin_direct,
                FEATURE_MODIFY_PIN_DIRECT => &mut features.modify_pin_direct,
                FEATURE_IFD_PIN_PROPERTIES => &mut features.ifd_pin_properties,
                FEATURE_GET_TLV_PROPERTIES => &mut features.get_tlv_properties,
                _ => {
                    features.others.push((tag, code));
                    continue;
                }
            };
            *slot = Some(code);
        }
        Ok(features)
    }

    /// The PIN pad this reader offers, if it can at least verify a PIN on its keypad.
    pub fn pinpad(&self) -> Option<PinpadFeatures> {
        self.verify_pin_direct.map(|verify| PinpadFeatures {
            verify_pin_direct: verify,
            modify_pin_direct: self.modify_pin_direct,
            tlv_properties: self.get_tlv_properties,
        })
    }

    /// Whether the reader listed nothing at all.
    pub fn is_empty(&self) -> bool {
        *self == ReaderFeatures::default()
    }
}

/// What quorum needs from a PIN pad reader: the control codes that verify and change a PIN.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PinpadFeatures {
    /// Control code of FEATURE_VERIFY_PIN_DIRECT.
    pub verify_pin_direct: u32,
    /// Control code of FEATURE_MODIFY_PIN_DIRECT, if the reader can change a PIN too.
    pub modify_pin_direct: Option<u32>,
    /// Control code of FEATURE_GET_TLV_PROPERTIES, where the reader states the PIN lengths
    /// its keypad takes (asked only for variable-length PINs, whose maximum must fit them).
    pub tlv_properties: Option<u32>,
}

/// The PIN lengths a keypad takes, from FEATURE_GET_TLV_PROPERTIES (bMinPINSize tag 06,
/// bMaxPINSize tag 07): a structure asking for more is refused by the reader's firmware.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PinSizes {
    /// bMinPINSize (0 when the reader does not say).
    pub min: u8,
    /// bMaxPINSize (`None` when the reader does not say).
    pub max: Option<u8>,
}

impl PinSizes {
    /// Reads the TLV properties answer (tag, length, value little-endian); unknown tags are
    /// skipped, a truncated entry ends the list.
    pub fn parse(answer: &[u8]) -> PinSizes {
        let mut sizes = PinSizes { min: 0, max: None };
        let mut rest = answer;
        while let [tag, len, tail @ ..] = rest {
            let len = usize::from(*len);
            if tail.len() < len {
                break;
            }
            match (*tag, &tail[..len]) {
                (0x06, [min]) => sizes.min = *min,
                (0x07, [max]) => sizes.max = Some(*max),
                _ => {}
            }
            rest = &tail[len..];
        }
        sizes
    }
}

impl PinpadFeatures {
    /// Whether the PIN can be changed on the keypad too (else only verified).
    pub fn can_change_pin(&self) -> bool {
        self.modify_pin_direct.is_some()
    }
}

/// How the reader writes the digits into the APDU (the three format bytes of both structures).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PinFormat {
    /// bmFormatString: units, position, justification, digit coding.
    pub format_string: u8,
    /// bmPINBlockString: size of the length field in bits (b7–4), block size in bytes (b3–0).
    pub block_string: u8,
    /// bmPINLengthFormat: units and position of the PIN length field.
    pub length_format: u8,
}

impl PinFormat {
    /// quorum's PIN block: ASCII digits, left-justified from byte 0 of a 12-byte block.
    pub const QUORUM: PinFormat = PinFormat {
        format_string: QUORUM_FORMAT_STRING,
        block_string: QUORUM_PIN_BLOCK_STRING,
        length_format: QUORUM_PIN_LENGTH_FORMAT,
    };
}

/// PIN_VERIFY_STRUCTURE: asks the reader to collect one PIN and send it in `apdu`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PinVerify {
    /// bTimerOut: seconds to wait for the entry (0 = the reader's default).
    pub timeout: u8,
    /// bTimerOut2: seconds after the first key press (0 = not set; CCID readers ignore it).
    pub timeout2: u8,
    /// The format bytes.
    pub format: PinFormat,
    /// wPINMaxExtraDigit, byte 5: most digits the reader accepts.
    pub max_digits: u8,
    /// wPINMaxExtraDigit, byte 6: fewest digits the reader accepts.
    pub min_digits: u8,
    /// bEntryValidationCondition.
    pub entry_validation: u8,
    /// bNumberMessage: how many prompts the reader shows.
    pub number_message: u8,
    /// wLangId of the reader's prompts.
    pub lang_id: u16,
    /// bMsgIndex: which prompt.
    pub msg_index: u8,
    /// bTeoPrologue: the T=1 prologue (zeros: the driver fills it in).
    pub teo_prologue: [u8; 3],
    /// The command APDU with placeholder bytes where the PIN goes.
    pub apdu: Vec<u8>,
}

impl PinVerify {
    /// quorum's VERIFY on the keypad: 6–12 ASCII digits into `00 20 00 81 0C FF×12`, OK key.
    pub fn quorum(timeout_secs: u8) -> PinVerify {
        PinVerify {
            timeout: timeout_secs,
            timeout2: 0,
            format: PinFormat::QUORUM,
            max_digits: PIN_MAX_DIGITS as u8,
            min_digits: PIN_MIN_DIGITS as u8,
            entry_validation: ENTRY_VALIDATION_OK_KEY,
            number_message: 0x01,
            lang_id: LANG_ENGLISH_US,
            msg_index: 0x00,
            teo_prologue: [0; 3],
            apdu: verify_template(),
        }
    }

    /// An OpenPGP card's VERIFY on the keypad, as GnuPG builds it: a variable-length ASCII
    /// PIN (format 82, no block) into `00 20 00 P2 00`, from the spec's minimum (6 for the
    /// user PIN, 8 for the admin PIN) to `max_digits` (the card's maximum from C4, capped by
    /// what the reader accepts), OK key.
    pub fn openpgp(pin: crate::openpgp::PinRef, max_digits: u8, timeout_secs: u8) -> PinVerify {
        use crate::openpgp::command::{ADMIN_PIN_MIN, USER_PIN_MIN};
        let min = match pin {
            crate::openpgp::PinRef::UserDecipher => USER_PIN_MIN,
            crate::openpgp::PinRef::Admin => ADMIN_PIN_MIN,
        };
        PinVerify {
            timeout: timeout_secs,
            timeout2: 0,
            format: PinFormat {
                format_string: 0x82,
                block_string: 0x00,
                length_format: 0x00,
            },
            max_digits,
            min_digits: min as u8,
            entry_validation: ENTRY_VALIDATION_OK_KEY,
            number_message: 0x01,
            lang_id: LANG_ENGLISH_US,
            msg_index: 0x00,
            teo_prologue: [0; 3],
            apdu: vec![0x00, 0x20, 0x00, pin.p2(), 0x00],
        }
    }

    /// The packed structure as SCardControl sends it.
    pub fn encode(&self) -> Result<Vec<u8>, StructureError> {
        check_digits(self.min_digits, self.max_digits)?;
        let data_len = apdu_len(&self.apdu)?;
        let mut out = Vec::with_capacity(VERIFY_HEADER_LEN + self.apdu.len());
        out.extend_from_slice(&[
            self.timeout,
            self.timeout2,
            self.format.format_string,
            self.format.block_string,
            self.format.length_format,
            self.max_digits,
            self.min_digits,
            self.entry_validation,
            self.number_message,
        ]);
        out.extend_from_slice(&self.lang_id.to_le_bytes());
        out.push(self.msg_index);
        out.extend_from_slice(&self.teo_prologue);
        out.extend_from_slice(&data_len.to_le_bytes());
        out.extend_from_slice(&self.apdu);
        debug_assert_eq!(out.len(), VERIFY_HEADER_LEN + self.apdu.len());
        Ok(out)
    }
}

/// PIN_MODIFY_STRUCTURE: asks the reader to collect the current and new PIN and send both.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PinModify {
    /// bTimerOut: seconds to wait for each entry (0 = the reader's default).
    pub timeout: u8,
    /// bTimerOut2: seconds after the first key press (0 = not set; CCID readers ignore it).
    pub timeout2: u8,
    /// The format bytes (for both PINs).
    pub format: PinFormat,
    /// bInsertionOffsetOld: where the current PIN goes in the data field, in bytes.
    pub insertion_offset_old: u8,
    /// bInsertionOffsetNew: where the new PIN goes in the data field, in bytes.
    pub insertion_offset_new: u8,
    /// wPINMaxExtraDigit, byte 7: most digits the reader accepts.
    pub max_digits: u8,
    /// wPINMaxExtraDigit, byte 8: fewest digits the reader accepts.
    pub min_digits: u8,
    /// bConfirmPIN: [`CONFIRM_NEW_PIN`] and/or [`ENTER_CURRENT_PIN`].
    pub confirm_pin: u8,
    /// bEntryValidationCondition.
    pub entry_validation: u8,
    /// bNumberMessage: how many prompts the reader shows.
    pub number_message: u8,
    /// wLangId of the reader's prompts.
    pub lang_id: u16,
    /// bMsgIndex1–3: the prompts for current PIN, new PIN, confirmation.
    pub msg_index: [u8; 3],
    /// bTeoPrologue: the T=1 prologue (zeros: the driver fills it in).
    pub teo_prologue: [u8; 3],
    /// The command APDU with placeholder bytes where the PINs go.
    pub apdu: Vec<u8>,
}

impl PinModify {
    /// quorum's CHANGE REFERENCE DATA on the keypad: current PIN at data offset 0, new PIN
    /// (asked twice) at 12, into `00 24 00 81 18 FF×24`, OK key.
    pub fn quorum(timeout_secs: u8) -> PinModify {
        PinModify {
            timeout: timeout_secs,
            timeout2: 0,
            format: PinFormat::QUORUM,
            insertion_offset_old: 0,
            insertion_offset_new: PIN_BLOCK_LEN as u8,
            max_digits: PIN_MAX_DIGITS as u8,
            min_digits: PIN_MIN_DIGITS as u8,
            confirm_pin: CONFIRM_NEW_PIN | ENTER_CURRENT_PIN,
            entry_validation: ENTRY_VALIDATION_OK_KEY,
            number_message: 0x03,
            lang_id: LANG_ENGLISH_US,
            msg_index: [0x00, 0x01, 0x02],
            teo_prologue: [0; 3],
            apdu: change_template(),
        }
    }

    /// quorum's INITIALISE with the first PIN typed on the reader: a modify without the
    /// current PIN (there is none yet), the new PIN asked twice and written after the
    /// retry-limit byte. Only a blank card accepts it.
    pub fn quorum_initialise(retry_limit: u8, timeout_secs: u8) -> PinModify {
        PinModify {
            insertion_offset_old: 0,
            insertion_offset_new: 1,
            confirm_pin: CONFIRM_NEW_PIN,
            number_message: 0x02,
            msg_index: [0x01, 0x02, 0x00],
            apdu: initialise_template(retry_limit),
            ..PinModify::quorum(timeout_secs)
        }
    }

    /// An OpenPGP card's change of the user PIN on the keypad, as GnuPG builds it: the current
    /// PIN and the new one (asked twice) as variable-length ASCII (format 82, no block), both
    /// at data offset 0 so the reader puts old ‖ new into `00 24 00 81 00` and sets Lc; 6
    /// (the spec's minimum for PW1) to `max_digits` (the card's maximum from C4, capped by
    /// what the reader accepts), OK key.
    pub fn openpgp_user(max_digits: u8, timeout_secs: u8) -> PinModify {
        use crate::openpgp::command::USER_PIN_MIN;
        PinModify {
            timeout: timeout_secs,
            timeout2: 0,
            format: PinFormat {
                format_string: 0x82,
                block_string: 0x00,
                length_format: 0x00,
            },
            insertion_offset_old: 0,
            insertion_offset_new: 0,
            max_digits,
            min_digits: USER_PIN_MIN as u8,
            confirm_pin: CONFIRM_NEW_PIN | ENTER_CURRENT_PIN,
            entry_validation: ENTRY_VALIDATION_OK_KEY,
            number_message: 0x03,
            lang_id: LANG_ENGLISH_US,
            msg_index: [0x00, 0x01, 0x02],
            teo_prologue: [0; 3],
            apdu: vec![0x00, 0x24, 0x00, 0x81, 0x00],
        }
    }

    /// The packed structure as SCardControl sends it.
    pub fn encode(&self) -> Result<Vec<u8>, StructureError> {
        check_digits(self.min_digits, self.max_digits)?;
        let data_len = apdu_len(&self.apdu)?;
        let mut out = Vec::with_capacity(MODIFY_HEADER_LEN + self.apdu.len());
        out.extend_from_slice(&[
            self.timeout,
            self.timeout2,
            self.format.format_string,
            self.format.block_string,
            self.format.length_format,
            self.insertion_offset_old,
            self.insertion_offset_new,
            self.max_digits,
            self.min_digits,
            self.confirm_pin,
            self.entry_validation,
            self.number_message,
        ]);
        out.extend_from_slice(&self.lang_id.to_le_bytes());
        out.extend_from_slice(&self.msg_index);
        out.extend_from_slice(&self.teo_prologue);
        out.extend_from_slice(&data_len.to_le_bytes());
        out.extend_from_slice(&self.apdu);
        debug_assert_eq!(out.len(), MODIFY_HEADER_LEN + self.apdu.len());
        Ok(out)
    }
}

/// quorum's VERIFY with an all-`FF` PIN block for the reader to fill.
pub fn verify_template() -> Vec<u8> {
    template(INS_VERIFY, PIN_BLOCK_LEN)
}

/// quorum's INITIALISE with the retry limit and an all-`FF` PIN block for the reader to fill
/// (case 4: the card answers with its new public key).
pub fn initialise_template(retry_limit: u8) -> Vec<u8> {
    let mut apdu = vec![
        CLA_PROPRIETARY,
        INS_INITIALISE,
        0x00,
        0x00,
        1 + PIN_BLOCK_LEN as u8,
        retry_limit,
    ];
    apdu.resize(6 + PIN_BLOCK_LEN, 0xFF);
    apdu.push(0x00);
    apdu
}

/// quorum's CHANGE REFERENCE DATA with two all-`FF` PIN blocks for the reader to fill.
pub fn change_template() -> Vec<u8> {
    template(INS_CHANGE_REFERENCE_DATA, 2 * PIN_BLOCK_LEN)
}

fn template(ins: u8, data_len: usize) -> Vec<u8> {
    let mut apdu = vec![CLA_ISO, ins, 0x00, P2_PIN, data_len as u8];
    apdu.resize(5 + data_len, 0xFF);
    apdu
}

fn check_digits(min: u8, max: u8) -> Result<(), StructureError> {
    if min > max {
        return Err(StructureError::DigitRange { min, max });
    }
    Ok(())
}

/// ulDataLength for a template, refusing what is not a short command APDU.
fn apdu_len(apdu: &[u8]) -> Result<u32, StructureError> {
    if !(4..=5 + MAX_SHORT_DATA + 1).contains(&apdu.len()) {
        return Err(StructureError::ApduLength(apdu.len()));
    }
    Ok(apdu.len() as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Hex with optional spaces, for readable test data.
    fn unhex(text: &str) -> Vec<u8> {
        let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
        hex::decode(compact).expect("test hex")
    }

    /// A feature list written out by hand: VERIFY 0x42330006, MODIFY 0x42330007,
    /// IFD_PIN_PROPERTIES 0x4233000A, an unknown 0x13 and GET_TLV_PROPERTIES 0x42330012.
    const FULL_LIST: &str =
        "06 04 42330006  07 04 42330007  0A 04 4233000A  13 04 42330013  12 04 42330012";

    #[test]
    fn feature_list_is_parsed_into_the_map() {
        let features = ReaderFeatures::parse(&unhex(FULL_LIST)).unwrap();
        assert_eq!(features.verify_pin_direct, Some(0x4233_0006));
        assert_eq!(features.modify_pin_direct, Some(0x4233_0007));
        assert_eq!(features.ifd_pin_properties, Some(0x4233_000A));
        assert_eq!(features.get_tlv_properties, Some(0x4233_0012));
        assert_eq!(features.others, vec![(0x13, 0x4233_0013)]);
        assert_eq!(
            features.pinpad(),
            Some(PinpadFeatures {
                verify_pin_direct: 0x4233_0006,
                modify_pin_direct: Some(0x4233_0007),
                tlv_properties: Some(0x4233_0012),
            })
        );
        assert!(features.pinpad().unwrap().can_change_pin());
    }

    #[test]
    fn pin_sizes_come_from_the_tlv_properties() {
        // What the CCID driver reports for a Cherry ST-2000 (the simulator's pinpad).
        let answer = unhex("01 02 00 00 02 01 02 03 01 00 04 02 00 00 05 02 00 00 06 01 00 07 01 19 08 00 09 01 00 0A 04 00 00 00 00");
        assert_eq!(
            PinSizes::parse(&answer),
            PinSizes {
                min: 0,
                max: Some(25)
            }
        );
        assert_eq!(
            PinSizes::parse(&unhex("06 01 04 07 01 08")),
            PinSizes {
                min: 4,
                max: Some(8)
            }
        );
        assert_eq!(
            PinSizes::parse(&unhex("07 02 08")),
            PinSizes { min: 0, max: None }
        );
        assert_eq!(PinSizes::parse(&[]), PinSizes { min: 0, max: None });
    }

    #[test]
    fn a_reader_without_verify_has_no_pinpad() {
        let empty = ReaderFeatures::parse(&[]).unwrap();
        assert!(empty.is_empty());
        assert_eq!(empty.pinpad(), None);

        // Only MODIFY and a vendor escape: no pinpad quorum can use (every operation verifies).
        let features = ReaderFeatures::parse(&unhex("07 04 42330007 13 04 42330013")).unwrap();
        assert!(!features.is_empty());
        assert_eq!(features.pinpad(), None);

        let verify_only = ReaderFeatures::parse(&unhex("06 04 42330006")).unwrap();
        let pinpad = verify_only.pinpad().unwrap();
        assert_eq!(pinpad.modify_pin_direct, None);
        assert!(!pinpad.can_change_pin());
    }

    #[test]
    fn malformed_feature_lists_are_refused_with_what_is_wrong() {
        assert_eq!(
            ReaderFeatures::parse(&unhex("06 04 423300")),
            Err(FeatureError::Truncated { len: 5 })
        );
        assert_eq!(
            ReaderFeatures::parse(&unhex("06 04 42330006 07")),
            Err(FeatureError::Truncated { len: 7 })
        );
        assert_eq!(
            ReaderFeatures::parse(&unhex("06 03 42330006")),
            Err(FeatureError::ValueLength { tag: 6, length: 3 })
        );
        assert_eq!(
            ReaderFeatures::parse(&unhex("06 04 42330006 06 04 42330099")),
            Err(FeatureError::Duplicate(6))
        );
        let message = FeatureError::ValueLength { tag: 6, length: 3 }.to_string();
        assert_eq!(
            message,
            "feature 0x06 announces a 3-byte value, a control code has 4"
        );
    }

    #[test]
    fn quorum_verify_structure_matches_the_reference_layout() {
        let reference = unhex(
            "1E          \
             00          \
             82          \
             0C          \
             00          \
             0C 06       \
             02          \
             01          \
             09 04       \
             00          \
             00 00 00    \
             11 00 00 00 \
             00 20 00 81 0C FF FF FF FF FF FF FF FF FF FF FF FF",
        );
        assert_eq!(reference.len(), 19 + 17);
        assert_eq!(PinVerify::quorum(30).encode().unwrap(), reference);
        // The timeout is the first byte and nothing else moves.
        let mut slow = reference.clone();
        slow[0] = 0x78;
        assert_eq!(PinVerify::quorum(120).encode().unwrap(), slow);
    }

    #[test]
    fn quorum_modify_structure_matches_the_reference_layout() {
        let reference = unhex(
            "1E          \
             00          \
             82          \
             0C          \
             00          \
             00          \
             0C          \
             0C 06       \
             03          \
             02          \
             03          \
             09 04       \
             00 01 02    \
             00 00 00    \
             1D 00 00 00 \
             00 24 00 81 18 \
             FF FF FF FF FF FF FF FF FF FF FF FF \
             FF FF FF FF FF FF FF FF FF FF FF FF",
        );
        assert_eq!(reference.len(), 24 + 29);
        assert_eq!(PinModify::quorum(30).encode().unwrap(), reference);
    }

    #[test]
    fn the_gnupg_openpgp_verify_example_is_reproduced() {
        // GnuPG's VERIFY of the OpenPGP card's PW1 (P2 = 82): variable-length ASCII PIN of
        // 6 to 15 digits, OK key, one message, English, the APDU length in bTeoPrologue[2].
        let structure = PinVerify {
            timeout: 0,
            timeout2: 0,
            format: PinFormat {
                format_string: 0x82,
                block_string: 0x00,
                length_format: 0x00,
            },
            max_digits: 15,
            min_digits: 6,
            entry_validation: ENTRY_VALIDATION_OK_KEY,
            number_message: 1,
            lang_id: LANG_ENGLISH_US,
            msg_index: 0,
            teo_prologue: [0x00, 0x00, 0x05],
            apdu: vec![0x00, 0x20, 0x00, 0x82, 0x00],
        };
        assert_eq!(
            structure.encode().unwrap(),
            unhex("00 00 82 00 00 0F 06 02 01 09 04 00 00 00 05 05 00 00 00 00 20 00 82 00")
        );
    }

    #[test]
    fn the_openpgp_builder_gives_gnupgs_structure() {
        let mut structure = PinVerify::openpgp(crate::openpgp::PinRef::UserDecipher, 15, 0);
        // GnuPG fills in the prologue's APDU length; quorum leaves it to the driver
        structure.teo_prologue = [0x00, 0x00, 0x05];
        assert_eq!(
            structure.encode().unwrap(),
            unhex("00 00 82 00 00 0F 06 02 01 09 04 00 00 00 05 05 00 00 00 00 20 00 82 00")
        );
        let admin = PinVerify::openpgp(crate::openpgp::PinRef::Admin, 127, 30);
        assert_eq!(
            (admin.min_digits, admin.max_digits, admin.timeout),
            (8, 127, 30)
        );
        assert_eq!(admin.apdu, [0x00, 0x20, 0x00, 0x83, 0x00]);
    }

    #[test]
    fn the_openpgp_user_pin_change_is_gnupgs_variable_length_modify() {
        let reference = unhex(
            "1E          \
             00          \
             82          \
             00          \
             00          \
             00          \
             00          \
             7F 06       \
             03          \
             02          \
             03          \
             09 04       \
             00 01 02    \
             00 00 00    \
             05 00 00 00 \
             00 24 00 81 00",
        );
        assert_eq!(reference.len(), 24 + 5);
        assert_eq!(
            PinModify::openpgp_user(127, 30).encode().unwrap(),
            reference
        );
    }

    #[test]
    fn templates_are_the_commands_with_ff_blocks() {
        assert_eq!(
            verify_template(),
            unhex("00 20 00 81 0C FFFFFFFFFFFFFFFFFFFFFFFF")
        );
        assert_eq!(
            change_template(),
            unhex("00 24 00 81 18 FFFFFFFFFFFFFFFFFFFFFFFF FFFFFFFFFFFFFFFFFFFFFFFF")
        );
    }

    #[test]
    fn structures_refuse_impossible_parameters() {
        let mut verify = PinVerify::quorum(30);
        verify.apdu = vec![0x00, 0x20, 0x00];
        assert_eq!(verify.encode(), Err(StructureError::ApduLength(3)));
        verify.apdu = vec![0xFF; 262];
        assert_eq!(verify.encode(), Err(StructureError::ApduLength(262)));

        let mut modify = PinModify::quorum(30);
        modify.min_digits = 13;
        assert_eq!(
            modify.encode(),
            Err(StructureError::DigitRange { min: 13, max: 12 })
        );
        // Smallest legal APDU (a case 1 header) is accepted.
        modify.min_digits = 4;
        modify.apdu = vec![0x00, 0x24, 0x00, 0x81];
        assert_eq!(modify.encode().unwrap().len(), MODIFY_HEADER_LEN + 4);
    }

    /// Every code the parse put somewhere, as (tag, code), in tag order.
    fn listed(f: &ReaderFeatures) -> Vec<(u8, u32)> {
        let mut all: Vec<(u8, u32)> = [
            (FEATURE_VERIFY_PIN_DIRECT, f.verify_pin_direct),
            (FEATURE_MODIFY_PIN_DIRECT, f.modify_pin_direct),
            (FEATURE_IFD_PIN_PROPERTIES, f.ifd_pin_properties),
            (FEATURE_GET_TLV_PROPERTIES, f.get_tlv_properties),
        ]
        .into_iter()
        .filter_map(|(tag, code)| code.map(|c| (tag, c)))
        .chain(f.others.iter().copied())
        .collect();
        all.sort();
        all
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(2000))]

        /// A reader's feature list, well formed or damaged, is read completely or refused with a typed error; nothing is lost or invented.
        #[test]
        fn feature_lists_are_read_completely_or_refused(
            features in proptest::collection::btree_map(proptest::prelude::any::<u8>(), proptest::prelude::any::<u32>(), 0..8),
            m in crate::mutation::any_mutation(),
        ) {
            let mut good = Vec::new();
            for (tag, code) in &features {
                good.extend_from_slice(&[*tag, FEATURE_VALUE_LEN]);
                good.extend_from_slice(&code.to_be_bytes());
            }
            let parsed = ReaderFeatures::parse(&good).unwrap();
            let expected: Vec<(u8, u32)> = features.into_iter().collect();
            proptest::prop_assert_eq!(listed(&parsed), expected);
            if good.is_empty() {
                return Ok(());
            }
            let bad = m.apply(&good);
            match ReaderFeatures::parse(&bad) {
                Ok(f) => {
                    proptest::prop_assert_eq!(bad.len() % FEATURE_TLV_LEN, 0);
                    proptest::prop_assert_eq!(listed(&f).len(), bad.len() / FEATURE_TLV_LEN);
                }
                Err(FeatureError::Truncated { len }) => {
                    proptest::prop_assert_eq!(len, bad.len());
                    proptest::prop_assert_ne!(len % FEATURE_TLV_LEN, 0);
                }
                Err(FeatureError::ValueLength { length, .. }) => proptest::prop_assert_ne!(length, FEATURE_VALUE_LEN),
                Err(FeatureError::Duplicate(tag)) => {
                    proptest::prop_assert!(bad.chunks(FEATURE_TLV_LEN).filter(|t| t[0] == tag).count() >= 2);
                }
            }
        }
    }
}
