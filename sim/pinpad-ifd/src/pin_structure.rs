//! PC/SC v2 Part 10 PIN_VERIFY_STRUCTURE and PIN_MODIFY_STRUCTURE, parsed the way
//! pcsc-lite's CCID driver does before it hands them to the reader (SecurePINVerify,
//! SecurePINModify in its commands.c): too short or an ulDataLength that does not match
//! the buffer → IFD_NOT_SUPPORTED; bEntryValidationCondition 0 or above 7 → replaced by
//! 02 (validation key); bNumberMessage above 3 and not FF (modify) → IFD_NOT_SUPPORTED.
//!
//! What the reader's firmware then does with the fields (can it format the PIN that
//! way?) is decided in `pin_block`. Multi-byte fields are little-endian.

use std::fmt;

/// Bytes before abData in PIN_VERIFY_STRUCTURE.
pub const VERIFY_HEADER: usize = 19;
/// Bytes before abData in PIN_MODIFY_STRUCTURE.
pub const MODIFY_HEADER: usize = 24;
/// The shortest APDU template a structure may carry (CLA INS P1 P2).
pub const MIN_APDU: usize = 4;
/// What the driver puts in bEntryValidationCondition when the caller's value is invalid.
pub const DEFAULT_VALIDATION: u8 = 0x02;

/// bEntryValidationCondition bit: entry ends when the maximum number of digits is keyed.
pub const VALIDATE_ON_MAX: u8 = 0x01;
/// bEntryValidationCondition bit: entry ends on the OK (validation) key.
pub const VALIDATE_ON_KEY: u8 = 0x02;
/// bEntryValidationCondition bit: entry ends, and is accepted, when the timeout expires.
pub const VALIDATE_ON_TIMEOUT: u8 = 0x04;

/// bmFormatString bits 1-0: how each digit is coded in the PIN frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PinCoding {
    /// 00: one byte per digit, value 0..9.
    Binary,
    /// 01: half a byte per digit.
    Bcd,
    /// 10: one byte per digit, '0'..'9'.
    Ascii,
    /// 11: reserved; a reader refuses it.
    Reserved,
}

/// How the PIN goes into the APDU: bmFormatString, bmPINBlockString, bmPINLengthFormat
/// and wPINMaxExtraDigit, decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PinFormat {
    /// bmFormatString b7: the PIN position counts bytes (true) or bits (false).
    pub frame_offset_in_bytes: bool,
    /// bmFormatString b6-3: where the PIN frame starts, from the start of the PIN block.
    pub frame_offset: u8,
    /// bmFormatString b2: digits at the right end of the frame (fillers on the left).
    pub right_justified: bool,
    /// bmFormatString b1-0.
    pub coding: PinCoding,
    /// bmPINBlockString b7-4: size in bits of the PIN length field (0: none).
    pub length_field_bits: u8,
    /// bmPINBlockString b3-0: size in bytes of the PIN frame (0: exactly the digits).
    pub frame_bytes: u8,
    /// bmPINLengthFormat b4: the length position counts bytes (true) or bits (false).
    pub length_offset_in_bytes: bool,
    /// bmPINLengthFormat b3-0: where the length field starts, from the start of the block.
    pub length_offset: u8,
    /// wPINMaxExtraDigit high byte: fewest digits accepted.
    pub min_digits: u8,
    /// wPINMaxExtraDigit low byte: most digits accepted.
    pub max_digits: u8,
}

impl PinFormat {
    /// Decodes the format bytes as they sit in the structures.
    pub fn decode(
        format_string: u8,
        block_string: u8,
        length_format: u8,
        max_digits: u8,
        min_digits: u8,
    ) -> PinFormat {
        PinFormat {
            frame_offset_in_bytes: format_string & 0x80 != 0,
            frame_offset: (format_string >> 3) & 0x0F,
            right_justified: format_string & 0x04 != 0,
            coding: match format_string & 0x03 {
                0 => PinCoding::Binary,
                1 => PinCoding::Bcd,
                2 => PinCoding::Ascii,
                _ => PinCoding::Reserved,
            },
            length_field_bits: block_string >> 4,
            frame_bytes: block_string & 0x0F,
            length_offset_in_bytes: length_format & 0x10 != 0,
            length_offset: length_format & 0x0F,
            min_digits,
            max_digits,
        }
    }
}

/// What the reader shows and how long it waits: the prompting fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Prompting {
    /// bTimerOut: seconds for each entry; 0 = the reader's default.
    pub timeout_seconds: u8,
    /// bEntryValidationCondition after the driver's correction (1..=7).
    pub validation: u8,
    /// bNumberMessage: 0 none, 1..3 that many from the msg indexes, FF the defaults.
    pub number_message: u8,
    /// bMsgIndex (verify) or bMsgIndex1..3 (modify).
    pub msg_index: [u8; 3],
}

/// A parsed PIN_VERIFY_STRUCTURE.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyRequest {
    /// How the PIN is formatted into the APDU.
    pub format: PinFormat,
    /// Timeout, validation and messages.
    pub prompting: Prompting,
    /// abData: the APDU template.
    pub apdu: Vec<u8>,
}

/// A parsed PIN_MODIFY_STRUCTURE.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModifyRequest {
    /// How each PIN is formatted into the APDU (shared by old and new PIN).
    pub format: PinFormat,
    /// Timeout, validation and messages.
    pub prompting: Prompting,
    /// bInsertionOffsetOld: where the current PIN's block starts in the APDU data, bytes.
    pub offset_old: u8,
    /// bInsertionOffsetNew: where the new PIN's block starts in the APDU data, bytes.
    pub offset_new: u8,
    /// bConfirmPIN bit 0: the new PIN is keyed twice.
    pub confirm_new: bool,
    /// bConfirmPIN bit 1: the current PIN is keyed first.
    pub enter_old: bool,
    /// abData: the APDU template.
    pub apdu: Vec<u8>,
}

/// Why the driver refuses a structure before the reader sees it (IFD_NOT_SUPPORTED).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StructureError {
    /// Shorter than the header plus a 4-byte APDU.
    TooShort {
        /// Bytes received.
        got: usize,
        /// Bytes needed at least.
        need: usize,
    },
    /// ulDataLength does not match the bytes after the header.
    DataLength {
        /// ulDataLength as sent.
        announced: u32,
        /// Bytes actually after the header.
        actual: usize,
    },
    /// bNumberMessage above 3 and not FF (PIN_MODIFY only).
    NumberMessage(u8),
}

impl fmt::Display for StructureError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StructureError::TooShort { got, need } => write!(
                f,
                "structure too short: {got} bytes, at least {need} (header and a 4-byte APDU)"
            ),
            StructureError::DataLength { announced, actual } => write!(
                f,
                "ulDataLength says {announced} bytes of APDU but {actual} follow the header"
            ),
            StructureError::NumberMessage(n) => {
                write!(f, "bNumberMessage {n:#04x} is not 0..3 or FF")
            }
        }
    }
}

/// The driver's correction of bEntryValidationCondition (some readers crash on others).
fn corrected_validation(raw: u8) -> u8 {
    if raw == 0 || raw > 0x07 {
        DEFAULT_VALIDATION
    } else {
        raw
    }
}

fn check_lengths(tx: &[u8], header: usize, length_at: usize) -> Result<Vec<u8>, StructureError> {
    let need = header + MIN_APDU;
    if tx.len() < need {
        return Err(StructureError::TooShort {
            got: tx.len(),
            need,
        });
    }
    let announced = u32::from_le_bytes([
        tx[length_at],
        tx[length_at + 1],
        tx[length_at + 2],
        tx[length_at + 3],
    ]);
    let actual = tx.len() - header;
    if usize::try_from(announced).ok() != Some(actual) {
        return Err(StructureError::DataLength { announced, actual });
    }
    Ok(tx[header..].to_vec())
}

/// Parses a PIN_VERIFY_STRUCTURE (FEATURE_VERIFY_PIN_DIRECT's input).
pub fn parse_verify(tx: &[u8]) -> Result<VerifyRequest, StructureError> {
    let apdu = check_lengths(tx, VERIFY_HEADER, 15)?;
    Ok(VerifyRequest {
        format: PinFormat::decode(tx[2], tx[3], tx[4], tx[5], tx[6]),
        prompting: Prompting {
            timeout_seconds: tx[0],
            validation: corrected_validation(tx[7]),
            number_message: tx[8],
            msg_index: [tx[11], 0, 0],
        },
        apdu,
    })
}

/// Parses a PIN_MODIFY_STRUCTURE (FEATURE_MODIFY_PIN_DIRECT's input).
pub fn parse_modify(tx: &[u8]) -> Result<ModifyRequest, StructureError> {
    let apdu = check_lengths(tx, MODIFY_HEADER, 20)?;
    let number_message = tx[11];
    if number_message > 3 && number_message != 0xFF {
        return Err(StructureError::NumberMessage(number_message));
    }
    Ok(ModifyRequest {
        format: PinFormat::decode(tx[2], tx[3], tx[4], tx[7], tx[8]),
        prompting: Prompting {
            timeout_seconds: tx[0],
            validation: corrected_validation(tx[10]),
            number_message,
            msg_index: [tx[14], tx[15], tx[16]],
        },
        offset_old: tx[5],
        offset_new: tx[6],
        confirm_new: tx[9] & 0x01 != 0,
        enter_old: tx[9] & 0x02 != 0,
        apdu,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// GnuPG's PIN_VERIFY_STRUCTURE for an OpenPGP card's VERIFY (P2 = 82): ASCII,
    /// variable length, 6..15 digits, validation key, one message, US English.
    pub const GNUPG_VERIFY: [u8; 24] = [
        0x00, 0x00, 0x82, 0x00, 0x00, 0x0F, 0x06, 0x02, 0x01, 0x09, 0x04, 0x00, 0x00, 0x00, 0x05,
        0x05, 0x00, 0x00, 0x00, 0x00, 0x20, 0x00, 0x82, 0x00,
    ];

    #[test]
    fn gnupg_verify_structure_decodes_field_by_field() {
        let v = parse_verify(&GNUPG_VERIFY).expect("valid structure");
        assert_eq!(
            v.format,
            PinFormat {
                frame_offset_in_bytes: true,
                frame_offset: 0,
                right_justified: false,
                coding: PinCoding::Ascii,
                length_field_bits: 0,
                frame_bytes: 0,
                length_offset_in_bytes: false,
                length_offset: 0,
                min_digits: 6,
                max_digits: 15,
            }
        );
        assert_eq!(
            v.prompting,
            Prompting {
                timeout_seconds: 0,
                validation: 0x02,
                number_message: 0x01,
                msg_index: [0, 0, 0],
            }
        );
        assert_eq!(v.apdu, [0x00, 0x20, 0x00, 0x82, 0x00]);
    }

    #[test]
    fn quorum_verify_structure_decodes_a_12_byte_ascii_block() {
        let mut tx = vec![
            0x02, 0x00, 0x82, 0x0C, 0x00, 0x0C, 0x06, 0x02, 0x01, 0x09, 0x04, 0x00, 0x00, 0x00,
            0x00, 0x11, 0x00, 0x00, 0x00, 0x00, 0x20, 0x00, 0x81, 0x0C,
        ];
        tx.extend_from_slice(&[0xFF; 12]);
        let v = parse_verify(&tx).expect("valid structure");
        assert_eq!(v.format.frame_bytes, 12);
        assert_eq!(v.format.coding, PinCoding::Ascii);
        assert_eq!((v.format.min_digits, v.format.max_digits), (6, 12));
        assert_eq!(v.prompting.timeout_seconds, 2);
        assert_eq!(v.apdu.len(), 17);
    }

    #[test]
    fn every_bit_field_of_the_format_bytes_is_decoded() {
        // bits units, position 7, right, BCD; 4-bit length, 9-byte frame; length in
        // bytes at 3.
        let f = PinFormat::decode(0x3D, 0x49, 0x13, 10, 1);
        assert!(!f.frame_offset_in_bytes);
        assert_eq!(f.frame_offset, 7);
        assert!(f.right_justified);
        assert_eq!(f.coding, PinCoding::Bcd);
        assert_eq!(f.length_field_bits, 4);
        assert_eq!(f.frame_bytes, 9);
        assert!(f.length_offset_in_bytes);
        assert_eq!(f.length_offset, 3);
        assert_eq!(
            PinFormat::decode(0x80, 0, 0, 8, 4).coding,
            PinCoding::Binary
        );
        assert_eq!(
            PinFormat::decode(0x83, 0, 0, 8, 4).coding,
            PinCoding::Reserved
        );
    }

    #[test]
    fn a_structure_shorter_than_header_and_apdu_is_not_supported() {
        assert_eq!(
            parse_verify(&GNUPG_VERIFY[..22]),
            Err(StructureError::TooShort { got: 22, need: 23 })
        );
        assert_eq!(
            parse_modify(&[0; 27]),
            Err(StructureError::TooShort { got: 27, need: 28 })
        );
    }

    #[test]
    fn ul_data_length_must_match_the_bytes_after_the_header() {
        let mut tx = GNUPG_VERIFY.to_vec();
        tx[15] = 0x06;
        assert_eq!(
            parse_verify(&tx),
            Err(StructureError::DataLength {
                announced: 6,
                actual: 5
            })
        );
        let mut tx = GNUPG_VERIFY.to_vec();
        tx.push(0x00);
        assert_eq!(
            parse_verify(&tx),
            Err(StructureError::DataLength {
                announced: 5,
                actual: 6
            })
        );
        // Big-endian ulDataLength is not accepted either.
        let mut tx = GNUPG_VERIFY.to_vec();
        tx[15..19].copy_from_slice(&[0, 0, 0, 5]);
        assert!(matches!(
            parse_verify(&tx),
            Err(StructureError::DataLength { .. })
        ));
    }

    #[test]
    fn an_invalid_validation_condition_becomes_the_validation_key() {
        for (raw, expect) in [
            (0x00, 0x02),
            (0x08, 0x02),
            (0xFF, 0x02),
            (0x01, 0x01),
            (0x07, 0x07),
        ] {
            let mut tx = GNUPG_VERIFY.to_vec();
            tx[7] = raw;
            assert_eq!(
                parse_verify(&tx).expect("valid").prompting.validation,
                expect,
                "raw {raw:#04x}"
            );
        }
    }

    /// GnuPG's PIN_MODIFY_STRUCTURE for CHANGE REFERENCE DATA with 8-byte fixed blocks.
    fn gnupg_modify() -> Vec<u8> {
        let mut tx = vec![
            0x00, 0x00, 0x82, 0x08, 0x00, 0x00, 0x08, 0x0F, 0x06, 0x03, 0x02, 0x03, 0x09, 0x04,
            0x00, 0x01, 0x02, 0x00, 0x00, 0x15, 0x15, 0x00, 0x00, 0x00, 0x00, 0x24, 0x00, 0x81,
            0x10,
        ];
        tx.extend_from_slice(&[0xFF; 16]);
        tx
    }

    #[test]
    fn modify_structure_decodes_offsets_confirmation_and_messages() {
        let m = parse_modify(&gnupg_modify()).expect("valid structure");
        assert_eq!(m.format.frame_bytes, 8);
        assert_eq!((m.format.min_digits, m.format.max_digits), (6, 15));
        assert_eq!((m.offset_old, m.offset_new), (0, 8));
        assert!(m.confirm_new && m.enter_old);
        assert_eq!(m.prompting.number_message, 3);
        assert_eq!(m.prompting.msg_index, [0, 1, 2]);
        assert_eq!(m.prompting.validation, 0x02);
        assert_eq!(m.apdu.len(), 21);
        assert_eq!(&m.apdu[..5], &[0x00, 0x24, 0x00, 0x81, 0x10]);
    }

    #[test]
    fn modify_refuses_a_number_of_messages_above_three() {
        let mut tx = gnupg_modify();
        tx[11] = 0x04;
        assert_eq!(parse_modify(&tx), Err(StructureError::NumberMessage(4)));
        tx[11] = 0xFF;
        assert_eq!(
            parse_modify(&tx)
                .expect("FF is the default")
                .prompting
                .number_message,
            0xFF
        );
    }

    #[test]
    fn modify_checks_its_own_ul_data_length_at_offset_20() {
        let mut tx = gnupg_modify();
        tx[20] = 0x14;
        assert_eq!(
            parse_modify(&tx),
            Err(StructureError::DataLength {
                announced: 20,
                actual: 21
            })
        );
    }
}
