//! The reader firmware's half of a secure PIN command: checks, before anyone is asked
//! for a PIN, that the APDU template and the format can be filled (what a CCID pinpad
//! refuses with a slot error, which the CCID driver reports as IFD_COMMUNICATION_ERROR),
//! and then writes the keyed digits into a copy of the template.
//!
//! Layout, per PIN (CCID PC_to_RDR_Secure, PC/SC Part 10):
//! - the PIN block starts at the start of the APDU data field (VERIFY) or at
//!   bInsertionOffsetOld / bInsertionOffsetNew bytes into it (MODIFY);
//! - the PIN length field (bmPINBlockString b7-4 bits wide, 0 = none) sits at
//!   bmPINLengthFormat's position from the block start and holds the digit count, binary,
//!   most significant bit first;
//! - the PIN frame starts at bmFormatString's position from the block start and is
//!   bmPINBlockString b3-0 bytes long; the digits go to its left or right end, coded
//!   binary (a byte each, 0..9), BCD (a nibble each) or ASCII; everything the digits do
//!   not cover keeps the template's bytes (the fillers);
//! - a frame size of 0 means no fixed frame: the coded digits are inserted at the PIN
//!   position and the data grows (GnuPG's variable-length PINs; BCD pads an odd count with
//!   F). Blocks inserted at the same offset go old PIN first.
//!
//! Positions count bits or bytes as the units bits say; bit 0 is the most significant
//! bit of the first data byte. Lc is set to the data length afterwards; a 4-byte
//! template gains an Lc when data appears.

use std::fmt;

use crate::pin_structure::{PinCoding, PinFormat};
use crate::secret::{PinDigits, SecretBytes};

/// The most digits this reader's firmware agrees to collect for one PIN.
pub const MAX_PIN_DIGITS: u8 = 25;

/// Why the reader refuses to format a PIN this way (the CCID slot error case).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FormatError {
    /// The template is shorter than CLA INS P1 P2.
    ApduTooShort(usize),
    /// Lc announces more data than the template holds.
    LcBeyondTemplate {
        /// Lc as written in the template.
        lc: u8,
        /// Bytes after Lc.
        available: usize,
    },
    /// More than one byte (an Le) after the data.
    TrailingBytes(usize),
    /// bmFormatString names the reserved coding 11.
    ReservedCoding,
    /// wPINMaxExtraDigit is 0, min above max, or max above what the pad collects.
    DigitRange {
        /// Fewest digits asked for.
        min: u8,
        /// Most digits asked for.
        max: u8,
    },
    /// The PIN frame reaches outside the APDU data field.
    FrameOutsideData {
        /// First bit of the frame, from the start of the data field.
        start_bit: usize,
        /// One past its last bit.
        end_bit: usize,
        /// Bits in the data field.
        data_bits: usize,
    },
    /// The frame cannot hold the maximum number of digits.
    FrameTooSmall {
        /// The frame's size in bits.
        frame_bits: usize,
        /// Bits the maximum number of digits needs.
        needed_bits: usize,
    },
    /// The length field reaches outside the data (or, without a fixed frame, past the
    /// point where the digits are inserted).
    LengthFieldOutside,
    /// The length field overlaps the PIN frame.
    LengthFieldOverlapsFrame,
    /// The length field is too narrow for the maximum number of digits.
    LengthFieldTooSmall {
        /// Its width in bits.
        bits: u8,
        /// The maximum digit count it must hold.
        max_digits: u8,
    },
    /// Without a fixed frame the PIN must start on a byte boundary inside the data.
    VariableFrameMisplaced,
    /// The old and new PIN blocks overlap.
    BlocksOverlap,
    /// The finished APDU would not be a short APDU (more than 255 data bytes).
    ApduTooLong(usize),
}

impl fmt::Display for FormatError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FormatError::ApduTooShort(n) => {
                write!(f, "APDU template of {n} bytes; at least CLA INS P1 P2 needed")
            }
            FormatError::LcBeyondTemplate { lc, available } => write!(
                f,
                "APDU template's Lc is {lc} but only {available} bytes follow it"
            ),
            FormatError::TrailingBytes(n) => {
                write!(f, "{n} bytes after the APDU template's data (at most an Le byte)")
            }
            FormatError::ReservedCoding => {
                f.write_str("bmFormatString names the reserved PIN coding 11")
            }
            FormatError::DigitRange { min, max } => write!(
                f,
                "wPINMaxExtraDigit asks for {min}..{max} digits; this pad needs 1 <= max <= {MAX_PIN_DIGITS} and min <= max"
            ),
            FormatError::FrameOutsideData {
                start_bit,
                end_bit,
                data_bits,
            } => write!(
                f,
                "PIN frame covers bits {start_bit}..{end_bit} but the APDU data has {data_bits} bits"
            ),
            FormatError::FrameTooSmall {
                frame_bits,
                needed_bits,
            } => write!(
                f,
                "PIN frame of {frame_bits} bits cannot hold the maximum PIN ({needed_bits} bits)"
            ),
            FormatError::LengthFieldOutside => {
                f.write_str("the PIN length field lies outside the APDU data it can be written to")
            }
            FormatError::LengthFieldOverlapsFrame => {
                f.write_str("the PIN length field overlaps the PIN frame")
            }
            FormatError::LengthFieldTooSmall { bits, max_digits } => write!(
                f,
                "a {bits}-bit PIN length field cannot hold {max_digits}"
            ),
            FormatError::VariableFrameMisplaced => f.write_str(
                "without a fixed PIN frame the PIN must start on a byte inside the APDU data",
            ),
            FormatError::BlocksOverlap => f.write_str("the current and new PIN blocks overlap"),
            FormatError::ApduTooLong(n) => {
                write!(f, "the formatted APDU would carry {n} data bytes (short APDUs: 255)")
            }
        }
    }
}

/// The template split into its parts.
#[derive(Debug, Clone)]
struct Template {
    header: [u8; 4],
    has_lc: bool,
    data: Vec<u8>,
    le: Option<u8>,
}

fn parse_template(apdu: &[u8]) -> Result<Template, FormatError> {
    if apdu.len() < 4 {
        return Err(FormatError::ApduTooShort(apdu.len()));
    }
    let header = [apdu[0], apdu[1], apdu[2], apdu[3]];
    if apdu.len() == 4 {
        return Ok(Template {
            header,
            has_lc: false,
            data: Vec::new(),
            le: None,
        });
    }
    let lc = apdu[4];
    let available = apdu.len() - 5;
    if usize::from(lc) > available {
        return Err(FormatError::LcBeyondTemplate { lc, available });
    }
    let end = 5 + usize::from(lc);
    let le = match apdu.len() - end {
        0 => None,
        1 => Some(apdu[end]),
        n => return Err(FormatError::TrailingBytes(n)),
    };
    Ok(Template {
        header,
        has_lc: true,
        data: apdu[5..end].to_vec(),
        le,
    })
}

/// Where one PIN goes, in bits from the start of the data field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Slot {
    /// Fixed frame: its first bit. Variable: the insertion point (a multiple of 8).
    frame_start: usize,
    /// Fixed frame: one past its last bit. Variable: same as `frame_start`.
    frame_end: usize,
    /// The length field's first bit and width, if any.
    length: Option<(usize, u8)>,
}

/// A checked template and format, ready to take the digits.
#[derive(Debug, Clone)]
pub struct InsertionPlan {
    template: Template,
    format: PinFormat,
    slots: Vec<Slot>,
}

fn digit_bits(coding: PinCoding) -> usize {
    match coding {
        PinCoding::Bcd => 4,
        _ => 8,
    }
}

fn overlaps(a: (usize, usize), b: (usize, usize)) -> bool {
    a.0 < b.1 && b.0 < a.1
}

fn plan_slot(
    format: &PinFormat,
    block_offset: usize,
    data_len: usize,
) -> Result<Slot, FormatError> {
    let data_bits = data_len * 8;
    let block_start = block_offset * 8;
    let frame_unit = if format.frame_offset_in_bytes { 8 } else { 1 };
    let length_unit = if format.length_offset_in_bytes { 8 } else { 1 };
    let frame_start = block_start + usize::from(format.frame_offset) * frame_unit;
    let fixed = format.frame_bytes > 0;
    let frame_end = frame_start + usize::from(format.frame_bytes) * 8;

    if fixed {
        if frame_end > data_bits {
            return Err(FormatError::FrameOutsideData {
                start_bit: frame_start,
                end_bit: frame_end,
                data_bits,
            });
        }
        let needed_bits = usize::from(format.max_digits) * digit_bits(format.coding);
        if needed_bits > frame_end - frame_start {
            return Err(FormatError::FrameTooSmall {
                frame_bits: frame_end - frame_start,
                needed_bits,
            });
        }
    } else if !frame_start.is_multiple_of(8) || frame_start > data_bits {
        return Err(FormatError::VariableFrameMisplaced);
    }

    let length = if format.length_field_bits > 0 {
        let bits = format.length_field_bits;
        let start = block_start + usize::from(format.length_offset) * length_unit;
        let end = start + usize::from(bits);
        // Without a fixed frame the data after the insertion point moves, so the field
        // must come before it.
        let limit = if fixed { data_bits } else { frame_start };
        if end > limit {
            return Err(FormatError::LengthFieldOutside);
        }
        if fixed && overlaps((start, end), (frame_start, frame_end)) {
            return Err(FormatError::LengthFieldOverlapsFrame);
        }
        if u32::from(format.max_digits) >= 1u32 << bits {
            return Err(FormatError::LengthFieldTooSmall {
                bits,
                max_digits: format.max_digits,
            });
        }
        Some((start, bits))
    } else {
        None
    };

    Ok(Slot {
        frame_start,
        frame_end: if fixed { frame_end } else { frame_start },
        length,
    })
}

/// Checks that `apdu` can take PINs in `format`, one PIN block at each of
/// `block_offsets` (bytes into the data field). Nothing depends on the digits yet, so a
/// reader can refuse before it prompts.
pub fn plan(
    format: &PinFormat,
    apdu: &[u8],
    block_offsets: &[usize],
) -> Result<InsertionPlan, FormatError> {
    let template = parse_template(apdu)?;
    if format.coding == PinCoding::Reserved {
        return Err(FormatError::ReservedCoding);
    }
    if format.max_digits == 0
        || format.min_digits > format.max_digits
        || format.max_digits > MAX_PIN_DIGITS
    {
        return Err(FormatError::DigitRange {
            min: format.min_digits,
            max: format.max_digits,
        });
    }
    let slots = block_offsets
        .iter()
        .map(|&offset| plan_slot(format, offset, template.data.len()))
        .collect::<Result<Vec<_>, _>>()?;

    // Every region one PIN writes must stay clear of the others'.
    let regions: Vec<Vec<(usize, usize)>> = slots
        .iter()
        .map(|s| {
            let mut r = Vec::new();
            if s.frame_end > s.frame_start {
                r.push((s.frame_start, s.frame_end));
            }
            if let Some((start, bits)) = s.length {
                r.push((start, start + usize::from(bits)));
            }
            r
        })
        .collect();
    for (i, a) in regions.iter().enumerate() {
        for b in &regions[i + 1..] {
            if a.iter().any(|x| b.iter().any(|y| overlaps(*x, *y))) {
                return Err(FormatError::BlocksOverlap);
            }
        }
    }

    if format.frame_bytes == 0 {
        let per_pin = match format.coding {
            PinCoding::Bcd => usize::from(format.max_digits).div_ceil(2),
            _ => usize::from(format.max_digits),
        };
        let longest = template.data.len() + per_pin * slots.len();
        if longest > 255 {
            return Err(FormatError::ApduTooLong(longest));
        }
    }

    Ok(InsertionPlan {
        template,
        format: *format,
        slots,
    })
}

/// Writes the low `bits` bits of `value` at bit `start` (bit 0 = MSB of byte 0).
fn write_bits(data: &mut [u8], start: usize, bits: usize, value: u32) {
    for i in 0..bits {
        let bit = (value >> (bits - 1 - i)) & 1;
        let pos = start + i;
        let mask = 0x80u8 >> (pos % 8);
        if bit == 1 {
            data[pos / 8] |= mask;
        } else {
            data[pos / 8] &= !mask;
        }
    }
}

fn digit_code(coding: PinCoding, digit: u8) -> u32 {
    match coding {
        PinCoding::Ascii => u32::from(b'0' + digit),
        _ => u32::from(digit),
    }
}

/// The digits coded as a stand-alone frame (no fixed frame: nothing to fill).
fn coded_digits(coding: PinCoding, pin: &PinDigits) -> Vec<u8> {
    match coding {
        PinCoding::Bcd => pin
            .digits()
            .chunks(2)
            .map(|pair| (pair[0] << 4) | pair.get(1).copied().unwrap_or(0x0F))
            .collect(),
        _ => pin
            .digits()
            .iter()
            .map(|&d| digit_code(coding, d) as u8)
            .collect(),
    }
}

impl InsertionPlan {
    /// How many PINs the APDU takes (1 for VERIFY, 1 or 2 for MODIFY).
    pub fn pin_count(&self) -> usize {
        self.slots.len()
    }

    /// Writes `pins` (one per block, in `plan`'s order) into a copy of the template and
    /// returns the APDU to send. Digit counts must already be checked against min/max.
    pub fn build(&self, pins: &[&PinDigits]) -> Result<SecretBytes, FormatError> {
        assert_eq!(pins.len(), self.slots.len(), "one PIN per planned block");
        let coding = self.format.coding;
        let db = digit_bits(coding);
        let mut work = self.template.data.clone();

        for (slot, pin) in self.slots.iter().zip(pins) {
            if let Some((start, bits)) = slot.length {
                write_bits(&mut work, start, usize::from(bits), pin.len() as u32);
            }
        }

        if self.format.frame_bytes > 0 {
            for (slot, pin) in self.slots.iter().zip(pins) {
                let width = pin.len() * db;
                let first = if self.format.right_justified {
                    slot.frame_end - width
                } else {
                    slot.frame_start
                };
                for (i, &d) in pin.digits().iter().enumerate() {
                    write_bits(&mut work, first + i * db, db, digit_code(coding, d));
                }
            }
        } else {
            // Insert each coded PIN at its byte; equal offsets keep old before new.
            let mut order: Vec<usize> = (0..self.slots.len()).collect();
            order.sort_by_key(|&i| self.slots[i].frame_start);
            let mut spliced = Vec::with_capacity(work.len() + 2 * usize::from(MAX_PIN_DIGITS));
            let mut from = 0;
            for i in order {
                let at = self.slots[i].frame_start / 8;
                spliced.extend_from_slice(&work[from..at]);
                let frame = SecretBytes::new(coded_digits(coding, pins[i]));
                spliced.extend_from_slice(frame.as_slice());
                from = at;
            }
            spliced.extend_from_slice(&work[from..]);
            work = spliced;
        }
        let data = SecretBytes::new(work);

        let len = data.as_slice().len();
        if len > 255 {
            return Err(FormatError::ApduTooLong(len));
        }
        let mut apdu = Vec::with_capacity(6 + len);
        apdu.extend_from_slice(&self.template.header);
        if self.template.has_lc || len > 0 {
            apdu.push(len as u8);
        }
        apdu.extend_from_slice(data.as_slice());
        if let Some(le) = self.template.le {
            apdu.push(le);
        }
        Ok(SecretBytes::new(apdu))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pin_structure::{parse_modify, parse_verify};

    fn pin(text: &str) -> PinDigits {
        PinDigits::from_text(text).expect("digits")
    }

    fn hex(text: &str) -> Vec<u8> {
        text.split_whitespace()
            .map(|b| u8::from_str_radix(b, 16).expect("hex byte"))
            .collect()
    }

    fn format(fs: u8, bs: u8, lf: u8, max: u8, min: u8) -> PinFormat {
        PinFormat::decode(fs, bs, lf, max, min)
    }

    fn verify_apdu(f: &PinFormat, template: &str, digits: &str) -> Vec<u8> {
        let plan = plan(f, &hex(template), &[0]).expect("plan");
        plan.build(&[&pin(digits)])
            .expect("build")
            .as_slice()
            .to_vec()
    }

    #[test]
    fn gnupg_public_example_inserts_a_variable_length_ascii_pin() {
        let tx = hex("00 00 82 00 00 0F 06 02 01 09 04 00 00 00 05 05 00 00 00 00 20 00 82 00");
        let req = parse_verify(&tx).expect("structure");
        let plan = plan(&req.format, &req.apdu, &[0]).expect("plan");
        let apdu = plan.build(&[&pin("123456")]).expect("build");
        assert_eq!(
            apdu.as_slice(),
            hex("00 20 00 82 06 31 32 33 34 35 36").as_slice()
        );
        let apdu = plan.build(&[&pin("123456789012345")]).expect("build");
        assert_eq!(
            apdu.as_slice(),
            hex("00 20 00 82 0F 31 32 33 34 35 36 37 38 39 30 31 32 33 34 35").as_slice()
        );
    }

    #[test]
    fn quorum_block_is_ascii_left_justified_padded_with_the_template_ff() {
        let f = format(0x82, 0x0C, 0x00, 12, 6);
        let template = "00 20 00 81 0C FF FF FF FF FF FF FF FF FF FF FF FF";
        assert_eq!(
            verify_apdu(&f, template, "123456"),
            hex("00 20 00 81 0C 31 32 33 34 35 36 FF FF FF FF FF FF")
        );
        assert_eq!(
            verify_apdu(&f, template, "098765432109"),
            hex("00 20 00 81 0C 30 39 38 37 36 35 34 33 32 31 30 39")
        );
    }

    #[test]
    fn right_justification_puts_the_digits_at_the_end_of_the_frame() {
        let f = format(0x86, 0x08, 0x00, 8, 4);
        assert_eq!(
            verify_apdu(&f, "00 20 00 01 08 FF FF FF FF FF FF FF FF", "1234"),
            hex("00 20 00 01 08 FF FF FF FF 31 32 33 34")
        );
        // BCD, right-justified, odd count: the digits end on the frame's last nibble.
        let f = format(0x85, 0x04, 0x00, 8, 4);
        assert_eq!(
            verify_apdu(&f, "00 20 00 01 04 FF FF FF FF", "12345"),
            hex("00 20 00 01 04 FF F1 23 45")
        );
    }

    #[test]
    fn iso_format_2_block_gets_bcd_digits_and_a_length_nibble() {
        // Control nibble 2, length nibble, BCD digits, F fillers: frame from byte 1,
        // 7 bytes; 4-bit length at bit 4.
        let f = format(0x89, 0x47, 0x04, 12, 4);
        assert_eq!(
            verify_apdu(&f, "00 20 00 81 08 2F FF FF FF FF FF FF FF", "12345"),
            hex("00 20 00 81 08 25 12 34 5F FF FF FF FF")
        );
    }

    #[test]
    fn acs_reference_example_with_byte_units_matches_its_published_result() {
        // ACR83 manual, verification example with byte units: template data
        // 57 30*8, bmFormatString 89, bmPINBlockString 48, bmPINLengthFormat 04,
        // PIN 123456780 → 59 12 34 56 78 00 30 30 30.
        let f = format(0x89, 0x48, 0x04, 10, 1);
        assert_eq!(
            verify_apdu(&f, "00 20 00 01 09 57 30 30 30 30 30 30 30 30", "123456780"),
            hex("00 20 00 01 09 59 12 34 56 78 00 30 30 30")
        );
    }

    #[test]
    fn bit_units_place_digits_and_length_at_bit_positions() {
        // Frame at bit 4 (bits units), 2 bytes, BCD left; 4-bit length at bit 0.
        let f = format(0x21, 0x42, 0x00, 3, 1);
        assert_eq!(
            verify_apdu(&f, "00 20 00 00 03 FF FF FF", "123"),
            hex("00 20 00 00 03 31 23 FF")
        );
        // An odd bit offset: frame at bit 3, ASCII.
        let f = format(0x1A, 0x01, 0x00, 1, 1);
        assert_eq!(
            verify_apdu(&f, "00 20 00 00 02 00 00", "7"),
            hex("00 20 00 00 02 06 E0")
        );
    }

    #[test]
    fn binary_coding_uses_one_byte_per_digit() {
        let f = format(0x80, 0x04, 0x00, 4, 1);
        assert_eq!(
            verify_apdu(&f, "00 20 00 01 04 FF FF FF FF", "907"),
            hex("00 20 00 01 04 09 00 07 FF")
        );
    }

    #[test]
    fn variable_bcd_pads_an_odd_digit_count_with_f() {
        let f = format(0x81, 0x00, 0x00, 8, 4);
        assert_eq!(
            verify_apdu(&f, "00 20 00 01 00", "12345"),
            hex("00 20 00 01 03 12 34 5F")
        );
    }

    #[test]
    fn a_four_byte_template_gains_an_lc_and_an_le_is_kept() {
        let f = format(0x82, 0x00, 0x00, 8, 4);
        assert_eq!(
            verify_apdu(&f, "00 20 00 82", "1234"),
            hex("00 20 00 82 04 31 32 33 34")
        );
        let f = format(0x82, 0x04, 0x00, 4, 4);
        assert_eq!(
            verify_apdu(&f, "80 20 00 00 04 FF FF FF FF 00", "1234"),
            hex("80 20 00 00 04 31 32 33 34 00")
        );
    }

    #[test]
    fn variable_length_field_is_written_before_the_inserted_digits() {
        // 8-bit length at byte 0, PIN inserted at byte 1 (no fixed frame).
        let f = format(0x8A, 0x80, 0x10, 12, 4);
        assert_eq!(
            verify_apdu(&f, "00 20 00 01 01 00", "2468"),
            hex("00 20 00 01 05 04 32 34 36 38")
        );
    }

    #[test]
    fn modify_with_fixed_blocks_writes_old_then_new_at_their_offsets() {
        let mut tx = hex(
            "00 00 82 08 00 00 08 0F 06 03 02 03 09 04 00 01 02 00 00 15 15 00 00 00 00 24 00 81 10",
        );
        tx.extend_from_slice(&[0xFF; 16]);
        let req = parse_modify(&tx).expect("structure");
        let plan = plan(
            &PinFormat {
                max_digits: 8,
                ..req.format
            },
            &req.apdu,
            &[usize::from(req.offset_old), usize::from(req.offset_new)],
        )
        .expect("plan");
        let apdu = plan
            .build(&[&pin("123456"), &pin("87654321")])
            .expect("build");
        assert_eq!(
            apdu.as_slice(),
            hex("00 24 00 81 10 31 32 33 34 35 36 FF FF 38 37 36 35 34 33 32 31").as_slice()
        );
    }

    #[test]
    fn modify_with_variable_blocks_at_the_same_offset_concatenates_old_and_new() {
        let f = format(0x82, 0x00, 0x00, 8, 4);
        let plan = plan(&f, &hex("00 24 00 81 00"), &[0, 0]).expect("plan");
        let apdu = plan.build(&[&pin("1234"), &pin("98765")]).expect("build");
        assert_eq!(
            apdu.as_slice(),
            hex("00 24 00 81 09 31 32 33 34 39 38 37 36 35").as_slice()
        );
    }

    #[test]
    fn modify_with_only_a_new_pin_fills_one_block() {
        let f = format(0x82, 0x0C, 0x00, 12, 6);
        let mut template = hex("00 24 01 81 0C");
        template.extend_from_slice(&[0xFF; 12]);
        let plan = plan(&f, &template, &[0]).expect("plan");
        assert_eq!(plan.pin_count(), 1);
        let apdu = plan.build(&[&pin("654321")]).expect("build");
        assert_eq!(
            apdu.as_slice(),
            hex("00 24 01 81 0C 36 35 34 33 32 31 FF FF FF FF FF FF").as_slice()
        );
    }

    #[test]
    fn templates_that_do_not_parse_are_refused() {
        let f = format(0x82, 0x00, 0x00, 8, 4);
        assert_eq!(
            plan(&f, &hex("00 20 00"), &[0]).unwrap_err(),
            FormatError::ApduTooShort(3)
        );
        assert_eq!(
            plan(&f, &hex("00 20 00 81 0C FF FF"), &[0]).unwrap_err(),
            FormatError::LcBeyondTemplate {
                lc: 12,
                available: 2
            }
        );
        assert_eq!(
            plan(&f, &hex("00 20 00 81 01 FF 00 00"), &[0]).unwrap_err(),
            FormatError::TrailingBytes(2)
        );
    }

    #[test]
    fn formats_the_firmware_cannot_do_are_refused_before_prompting() {
        let t12 = "00 20 00 81 0C FF FF FF FF FF FF FF FF FF FF FF FF";
        let cases = [
            (format(0x83, 0x0C, 0x00, 12, 6), FormatError::ReservedCoding),
            (
                format(0x82, 0x0C, 0x00, 0, 0),
                FormatError::DigitRange { min: 0, max: 0 },
            ),
            (
                format(0x82, 0x0C, 0x00, 6, 8),
                FormatError::DigitRange { min: 8, max: 6 },
            ),
            (
                format(0x82, 0x0F, 0x00, 26, 6),
                FormatError::DigitRange { min: 6, max: 26 },
            ),
            (
                format(0x82, 0x0C, 0x00, 13, 6),
                FormatError::FrameTooSmall {
                    frame_bits: 96,
                    needed_bits: 104,
                },
            ),
            (
                format(0x8A, 0x0C, 0x00, 11, 6),
                FormatError::FrameOutsideData {
                    start_bit: 8,
                    end_bit: 104,
                    data_bits: 96,
                },
            ),
            (
                format(0x82, 0x4C, 0x00, 12, 6),
                FormatError::LengthFieldOverlapsFrame,
            ),
            (
                format(0x89, 0x4B, 0x10, 16, 6),
                FormatError::LengthFieldTooSmall {
                    bits: 4,
                    max_digits: 16,
                },
            ),
        ];
        for (f, expected) in &cases {
            assert_eq!(&plan(f, &hex(t12), &[0]).unwrap_err(), expected, "{f:?}");
        }
        // A length field inside the data but after a variable insertion point.
        let f = format(0x82, 0x80, 0x11, 8, 4);
        assert_eq!(
            plan(&f, &hex("00 20 00 81 02 00 00"), &[0]).unwrap_err(),
            FormatError::LengthFieldOutside
        );
        // A variable frame that does not start on a byte.
        let f = format(0x0A, 0x00, 0x00, 8, 4);
        assert_eq!(
            plan(&f, &hex("00 20 00 81 01 00"), &[0]).unwrap_err(),
            FormatError::VariableFrameMisplaced
        );
        // A block offset beyond the data.
        let f = format(0x82, 0x00, 0x00, 8, 4);
        assert_eq!(
            plan(&f, &hex("00 20 00 81 01 00"), &[2]).unwrap_err(),
            FormatError::VariableFrameMisplaced
        );
        // Variable PINs that could exceed a short APDU.
        let mut long = hex("00 20 00 81 F8");
        long.extend_from_slice(&[0; 248]);
        assert_eq!(
            plan(&f, &long, &[0]).unwrap_err(),
            FormatError::ApduTooLong(256)
        );
    }

    #[test]
    fn overlapping_old_and_new_blocks_are_refused() {
        let f = format(0x82, 0x08, 0x00, 8, 4);
        let mut template = hex("00 24 00 81 10");
        template.extend_from_slice(&[0xFF; 16]);
        assert_eq!(
            plan(&f, &template, &[0, 4]).unwrap_err(),
            FormatError::BlocksOverlap
        );
        assert!(plan(&f, &template, &[0, 8]).is_ok());
    }
}
