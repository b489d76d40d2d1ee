//! Command APDU builders, one per command of the protocol.
//!
//! Each [`CommandApdu`] holds its encoded bytes in a zeroizing buffer and remembers which
//! of its bytes are secret (PIN blocks, the sealed record part, UNSEAL points) and whether
//! its response is secret, so that the one transmit path can trace it with those parts
//! redacted. Encoding goes through `iso7816`'s `CommandBuilder`; all commands are short
//! APDUs except PUT RECORD's extended-length pieces (protocol 1.4).

use std::fmt;

use iso7816::command::class::{Class, NO_SM_CLA, ZERO_CLA};
use iso7816::command::{CommandBuilder, Instruction};
use zeroize::Zeroizing;

use super::{
    APPLET_AID, CLA_PROPRIETARY, INS_CHANGE_REFERENCE_DATA, INS_FACTORY_RESET, INS_GET_RECORD,
    INS_GET_RESPONSE, INS_GET_STATUS, INS_INITIALISE, INS_SELECT, INS_UNSEAL, INS_VERIFY,
    MAX_EXTENDED_DATA, MAX_SHORT_DATA, MAX_SHORT_RESPONSE, P1_FACTORY_RESET, P1_VERIFY_CLEAR,
    P2_FACTORY_RESET, P2_PIN, POINT_LEN,
};
use crate::pin::{PinBlock, RetryLimit, PIN_BLOCK_LEN};

/// Ne asked for on every command that answers with data: as much as one response holds.
const NE_MAX: u16 = MAX_SHORT_RESPONSE;

/// Which part of the record GET RECORD fetches; the sealed part needs the PIN.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RecordPart {
    /// The public set description and wrapped master (P1 = 00), free in ENROLLED.
    Public,
    /// The card's HPKE-sealed share (P1 = 01), behind the PIN.
    Sealed,
}

impl RecordPart {
    /// P1 of GET RECORD for this part.
    pub fn p1(self) -> u8 {
        match self {
            RecordPart::Public => 0x00,
            RecordPart::Sealed => 0x01,
        }
    }
}

/// Why a caller-built command cannot be encoded as a short APDU.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EncodeError {
    /// More data than one short APDU carries.
    #[error(
        "command data of {0} bytes does not fit one short APDU (at most 255); use command chaining"
    )]
    DataTooLong(usize),
    /// More expected output than one short APDU asks for.
    #[error("an expected length of {0} bytes does not fit a short APDU (at most 256)")]
    NeTooLarge(u16),
    /// CLA FF is reserved for PPS and never starts a command.
    #[error("CLA FF is reserved (protocol parameter selection) and cannot start a command")]
    InvalidClass,
}

/// Which key a PUT RECORD leaves active: the card's present one (P1 = 00) or the one PREPARE
/// KEY made pending (P1 = 01), switched in the same commit as the record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RecordKey {
    /// P1 = 00: the record is written for the card's present key.
    Present,
    /// P1 = 01: the record is written for the pending key, which becomes the card's key.
    Pending,
}

impl RecordKey {
    fn p1(self) -> u8 {
        match self {
            RecordKey::Present => 0x00,
            RecordKey::Pending => 0x01,
        }
    }
}

/// One encoded command APDU (short, or a PUT RECORD piece in extended form) plus what a trace
/// must not show.
pub struct CommandApdu {
    bytes: Zeroizing<Vec<u8>>,
    secret_data_from: Option<usize>,
    secret_response: bool,
}

impl CommandApdu {
    /// Encodes any short command, for tools and tests that probe the card beyond the builders.
    pub fn new(
        cla: u8,
        ins: u8,
        p1: u8,
        p2: u8,
        data: &[u8],
        ne: u16,
    ) -> Result<Self, EncodeError> {
        let class = Class::try_from(cla).map_err(|_| EncodeError::InvalidClass)?;
        if data.len() > MAX_SHORT_DATA {
            return Err(EncodeError::DataTooLong(data.len()));
        }
        if ne > MAX_SHORT_RESPONSE {
            return Err(EncodeError::NeTooLarge(ne));
        }
        Ok(Self::encode(class, ins, p1, p2, data, ne))
    }

    /// SELECT the quorum applet by AID; the card answers with [`super::SelectInfo`].
    pub fn select() -> Self {
        Self::encode(ZERO_CLA, INS_SELECT, 0x04, 0x00, &APPLET_AID, NE_MAX)
    }

    /// GET STATUS; the card answers with [`super::CardStatus`].
    pub fn get_status() -> Self {
        Self::encode(NO_SM_CLA, INS_GET_STATUS, 0x00, 0x00, &[], NE_MAX)
    }

    /// INITIALISE with a retry limit and the first PIN; the PIN block is secret.
    pub fn initialise(limit: RetryLimit, pin: &PinBlock) -> Self {
        let mut data = Zeroizing::new([0u8; 1 + PIN_BLOCK_LEN]);
        data[0] = limit.get();
        data[1..].copy_from_slice(pin.as_bytes());
        Self::encode(NO_SM_CLA, INS_INITIALISE, 0x00, 0x00, &data[..], NE_MAX).secret_data_from(1)
    }

    /// VERIFY a PIN; the PIN block is secret.
    pub fn verify(pin: &PinBlock) -> Self {
        Self::encode(ZERO_CLA, INS_VERIFY, 0x00, P2_PIN, pin.as_bytes(), 0).secret_data_from(0)
    }

    /// VERIFY without data: asks whether the PIN is validated and how many tries are left.
    pub fn verify_query() -> Self {
        Self::encode(ZERO_CLA, INS_VERIFY, 0x00, P2_PIN, &[], 0)
    }

    /// VERIFY with P1 = FF: drops the validated state when the host is done with the card.
    pub fn verify_clear() -> Self {
        Self::encode(ZERO_CLA, INS_VERIFY, P1_VERIFY_CLEAR, P2_PIN, &[], 0)
    }

    /// CHANGE REFERENCE DATA from `old` to `new`; both blocks are secret.
    pub fn change_reference_data(old: &PinBlock, new: &PinBlock) -> Self {
        let mut data = Zeroizing::new([0u8; 2 * PIN_BLOCK_LEN]);
        data[..PIN_BLOCK_LEN].copy_from_slice(old.as_bytes());
        data[PIN_BLOCK_LEN..].copy_from_slice(new.as_bytes());
        Self::encode(
            ZERO_CLA,
            INS_CHANGE_REFERENCE_DATA,
            0x00,
            P2_PIN,
            &data[..],
            0,
        )
        .secret_data_from(0)
    }

    /// GET RECORD of one part; the sealed part's answer is secret.
    pub fn get_record(part: RecordPart) -> Self {
        let command = Self::encode(NO_SM_CLA, INS_GET_RECORD, part.p1(), 0x00, &[], NE_MAX);
        match part {
            RecordPart::Public => command,
            RecordPart::Sealed => command.secret_response(true),
        }
    }

    /// UNSEAL a blinded point; both the point and the card's answer are secret.
    pub fn unseal(point: &[u8; POINT_LEN]) -> Self {
        Self::encode(NO_SM_CLA, INS_UNSEAL, 0x00, 0x00, point, NE_MAX)
            .secret_data_from(0)
            .secret_response(true)
    }

    /// UNSEAL P1 = 01 (protocol 1.2): the DH step on a blinded point, answered with the
    /// sealed part after its `enc`, so the share opens without GET RECORD.
    pub fn unseal_with_sealed(point: &[u8; POINT_LEN]) -> Self {
        Self::encode(NO_SM_CLA, INS_UNSEAL, 0x01, 0x00, point, NE_MAX)
            .secret_data_from(0)
            .secret_response(true)
    }

    /// FACTORY RESET with its magic P1/P2.
    pub fn factory_reset() -> Self {
        Self::encode(
            NO_SM_CLA,
            INS_FACTORY_RESET,
            P1_FACTORY_RESET,
            P2_FACTORY_RESET,
            &[],
            0,
        )
    }

    /// GET RESPONSE for the `xx` of a `61xx` answer (00 asks for 256 bytes).
    pub fn get_response(available: u8) -> Self {
        let ne = if available == 0 {
            NE_MAX
        } else {
            u16::from(available)
        };
        Self::encode(ZERO_CLA, INS_GET_RESPONSE, 0x00, 0x00, &[], ne)
    }

    /// One APDU of a PUT RECORD chain (used by [`super::PutRecordStream::commands`]); extended
    /// form when `data` has more than 255 bytes.
    pub(crate) fn put_record_part(
        data: &[u8],
        last: bool,
        secret_from: Option<usize>,
        key: RecordKey,
    ) -> Self {
        let class = if last {
            NO_SM_CLA
        } else {
            NO_SM_CLA.as_chained()
        };
        let command = Self::encode(class, super::INS_PUT_RECORD, key.p1(), 0x00, data, 0);
        match secret_from {
            Some(offset) => command.secret_data_from(offset),
            None => command,
        }
    }

    /// PREPARE KEY: the card generates a pending key pair and answers its public key (1.1).
    pub fn prepare_key() -> Self {
        Self::encode(NO_SM_CLA, super::INS_PREPARE_KEY, 0x00, 0x00, &[], NE_MAX)
    }

    /// Encodes a command whose sizes the caller has already bounded (also the OpenPGP builders'):
    /// short, or extended form for more than 255 bytes of data and no Le (PUT RECORD only).
    pub(crate) fn encode(class: Class, ins: u8, p1: u8, p2: u8, data: &[u8], ne: u16) -> Self {
        debug_assert!(ne <= MAX_SHORT_RESPONSE);
        debug_assert!(data.len() <= MAX_SHORT_DATA || (data.len() <= MAX_EXTENDED_DATA && ne == 0));
        let builder = CommandBuilder::new(class, Instruction::from(ins), p1, p2, data, ne);
        let mut bytes = Zeroizing::new(vec![0u8; builder.required_len()]);
        let mut writer: &mut [u8] = &mut bytes[..];
        builder
            .serialize_into(&mut writer)
            .expect("the buffer is sized by required_len");
        CommandApdu {
            bytes,
            secret_data_from: None,
            secret_response: false,
        }
    }

    /// Marks the data field as secret from `offset` on (0 = all of it).
    pub fn secret_data_from(mut self, offset: usize) -> Self {
        self.secret_data_from = Some(offset);
        self
    }

    /// Marks the response data as secret (GET RESPONSE continuations inherit it).
    pub fn secret_response(mut self, secret: bool) -> Self {
        self.secret_response = secret;
        self
    }

    /// The encoded APDU as sent to the card.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// CLA, to tell chain links from the last APDU.
    pub fn cla(&self) -> u8 {
        self.bytes[0]
    }

    /// INS, to name the command in errors and traces.
    pub fn ins(&self) -> u8 {
        self.bytes[1]
    }

    /// P1.
    pub fn p1(&self) -> u8 {
        self.bytes[2]
    }

    /// P2.
    pub fn p2(&self) -> u8 {
        self.bytes[3]
    }

    /// The data field (empty when there is no Lc).
    pub fn data(&self) -> &[u8] {
        &self.bytes[self.layout().data]
    }

    /// Ne: the response length asked for (0 = no Le, 256 = Le 00).
    pub fn ne(&self) -> u16 {
        match self.layout().le {
            None => 0,
            Some(0) => MAX_SHORT_RESPONSE,
            Some(le) => u16::from(le),
        }
    }

    /// Offset in the data field from which a trace must redact, if any.
    pub fn secret_data_offset(&self) -> Option<usize> {
        self.secret_data_from
    }

    /// Whether a trace must redact the response data.
    pub fn has_secret_response(&self) -> bool {
        self.secret_response
    }

    /// The command with its secret bytes replaced by a length, safe to print.
    pub fn redacted(&self) -> String {
        let layout = self.layout();
        let b = &self.bytes;
        let mut line = format!("{:02X} {:02X} {:02X} {:02X}", b[0], b[1], b[2], b[3]);
        if !layout.lc.is_empty() {
            line.push_str(&format!(" {} ", hex::encode_upper(&b[layout.lc.clone()])));
            let data = &b[layout.data];
            let shown = self.secret_data_from.unwrap_or(data.len()).min(data.len());
            line.push_str(&hex::encode_upper(&data[..shown]));
            if shown < data.len() {
                line.push_str(&format!("<REDACTED {} bytes>", data.len() - shown));
            }
        }
        if let Some(le) = layout.le {
            line.push_str(&format!(" {le:02X}"));
        }
        line
    }

    /// Where Lc, the data and Le sit in the encoded bytes: a short APDU, or an extended one
    /// with data and no Le (the only extended form this host builds).
    fn layout(&self) -> Layout {
        let b = &self.bytes;
        match b.len() {
            4 => Layout {
                lc: 4..4,
                data: 4..4,
                le: None,
            },
            5 => Layout {
                lc: 5..5,
                data: 5..5,
                le: Some(b[4]),
            },
            n if b[4] == 0 => Layout {
                lc: 4..7,
                data: 7..n,
                le: None,
            },
            n => {
                let end = 5 + usize::from(b[4]);
                Layout {
                    lc: 4..5,
                    data: 5..end,
                    le: (n > end).then(|| b[n - 1]),
                }
            }
        }
    }

    /// Whether the APDU is in extended-length form (a PUT RECORD piece of protocol 1.4).
    pub fn is_extended(&self) -> bool {
        self.layout().lc.len() == 3
    }
}

struct Layout {
    /// The Lc bytes (empty without data, 3 in extended form).
    lc: std::ops::Range<usize>,
    data: std::ops::Range<usize>,
    le: Option<u8>,
}

impl fmt::Debug for CommandApdu {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CommandApdu({})", self.redacted())
    }
}

impl fmt::Display for CommandApdu {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

/// A response for a trace line: data (or its length when secret), then the status word.
pub fn redacted_response(data: &[u8], sw: u16, secret: bool) -> String {
    match (data.is_empty(), secret) {
        (true, _) => format!("{sw:04X}"),
        (false, true) => format!("<REDACTED {} bytes> {sw:04X}", data.len()),
        (false, false) => format!("{} {sw:04X}", hex::encode_upper(data)),
    }
}

/// The command's name for errors and traces, from its INS.
pub fn command_name(ins: u8) -> &'static str {
    match ins {
        INS_SELECT => "SELECT",
        INS_GET_STATUS => "GET STATUS",
        INS_INITIALISE => "INITIALISE",
        super::INS_PUT_RECORD => "PUT RECORD",
        super::INS_PREPARE_KEY => "PREPARE KEY",
        INS_GET_RECORD => "GET RECORD",
        INS_UNSEAL => "UNSEAL",
        INS_FACTORY_RESET => "FACTORY RESET",
        INS_VERIFY => "VERIFY",
        INS_CHANGE_REFERENCE_DATA => "CHANGE REFERENCE DATA",
        INS_GET_RESPONSE => "GET RESPONSE",
        crate::openpgp::INS_GET_DATA => "GET DATA",
        crate::openpgp::INS_PUT_DATA => "PUT DATA",
        crate::openpgp::INS_PSO => "PSO",
        crate::openpgp::INS_GENERATE_ASYMMETRIC_KEY_PAIR => "GENERATE ASYMMETRIC KEY PAIR",
        _ => "an unknown command",
    }
}

/// Whether a CLA byte is a PUT RECORD chain link (more follows).
pub fn is_chain_link(cla: u8) -> bool {
    cla & super::CLA_CHAINING != 0 && cla & CLA_PROPRIETARY != 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use iso7816::command::CommandView;
    use proptest::prelude::*;

    fn pin(digits: &str) -> PinBlock {
        PinBlock::new(digits).unwrap()
    }

    fn hex_of(command: &CommandApdu) -> String {
        hex::encode_upper(command.as_bytes())
    }

    #[test]
    fn builders_match_the_contract_table() {
        let cases = [
            (CommandApdu::select(), "00A4040009F051554F52554D010100"),
            (CommandApdu::get_status(), "8010000000"),
            (
                CommandApdu::initialise(RetryLimit::new(5).unwrap(), &pin("123456")),
                "801200000D05313233343536FFFFFFFFFFFF00",
            ),
            (
                CommandApdu::verify(&pin("123456")),
                "002000810C313233343536FFFFFFFFFFFF",
            ),
            (CommandApdu::verify_query(), "00200081"),
            (CommandApdu::verify_clear(), "0020FF81"),
            (
                CommandApdu::change_reference_data(&pin("123456"), &pin("654321098765")),
                "0024008118313233343536FFFFFFFFFFFF363534333231303938373635",
            ),
            (CommandApdu::get_record(RecordPart::Public), "8016000000"),
            (CommandApdu::get_record(RecordPart::Sealed), "8016010000"),
            (CommandApdu::factory_reset(), "801EAA55"),
            (CommandApdu::get_response(0x00), "00C0000000"),
            (CommandApdu::get_response(0x51), "00C0000051"),
        ];
        for (command, expected) in cases {
            assert_eq!(hex_of(&command), expected);
        }
    }

    #[test]
    fn unseal_sends_the_65_byte_point() {
        let mut point = [0x11u8; POINT_LEN];
        point[0] = 0x04;
        let command = CommandApdu::unseal(&point);
        let bytes = command.as_bytes();
        assert_eq!(&bytes[..5], &[0x80, 0x18, 0x00, 0x00, 0x41]);
        assert_eq!(&bytes[5..70], &point[..]);
        assert_eq!(bytes[70], 0x00);
        assert_eq!(bytes.len(), 71);
    }

    #[test]
    fn builders_agree_with_iso7816_parsing() {
        let commands = [
            CommandApdu::select(),
            CommandApdu::verify(&pin("123456")),
            CommandApdu::verify_query(),
            CommandApdu::get_record(RecordPart::Sealed),
            CommandApdu::get_response(7),
        ];
        for command in commands {
            let view = CommandView::try_from(command.as_bytes()).unwrap();
            assert_eq!(view.data(), command.data());
            assert_eq!(view.expected(), usize::from(command.ne()));
            assert_eq!(view.p1, command.p1());
            assert_eq!(u8::from(view.instruction()), command.ins());
            assert!(!view.extended);
        }
    }

    #[test]
    fn redaction_hides_pins_and_unseal_points() {
        let verify = CommandApdu::verify(&pin("123456"));
        assert_eq!(verify.redacted(), "00 20 00 81 0C <REDACTED 12 bytes>");
        let init = CommandApdu::initialise(RetryLimit::new(7).unwrap(), &pin("123456"));
        assert_eq!(init.redacted(), "80 12 00 00 0D 07<REDACTED 12 bytes> 00");
        let mut point = [0x5Au8; POINT_LEN];
        point[0] = 0x04;
        let unseal = CommandApdu::unseal(&point);
        assert_eq!(unseal.redacted(), "80 18 00 00 41 <REDACTED 65 bytes> 00");
        assert!(unseal.has_secret_response());
        assert!(!format!("{unseal:?}").contains("5A5A"));
        assert_eq!(
            CommandApdu::select().redacted(),
            "00 A4 04 00 09 F051554F52554D0101 00"
        );
        assert_eq!(CommandApdu::verify_query().redacted(), "00 20 00 81");
        assert_eq!(CommandApdu::get_status().redacted(), "80 10 00 00 00");
    }

    #[test]
    fn response_lines_redact_secret_data() {
        assert_eq!(redacted_response(&[], 0x9000, true), "9000");
        assert_eq!(redacted_response(&[0xAB, 0xCD], 0x6104, false), "ABCD 6104");
        assert_eq!(
            redacted_response(&[0xAB, 0xCD], 0x9000, true),
            "<REDACTED 2 bytes> 9000"
        );
    }

    #[test]
    fn new_refuses_what_short_apdus_cannot_carry() {
        assert_eq!(
            CommandApdu::new(0x80, 0x14, 0, 0, &[0; 256], 0).unwrap_err(),
            EncodeError::DataTooLong(256)
        );
        assert_eq!(
            CommandApdu::new(0x80, 0x10, 0, 0, &[], 257).unwrap_err(),
            EncodeError::NeTooLarge(257)
        );
        assert_eq!(
            CommandApdu::new(0xFF, 0x10, 0, 0, &[], 0).unwrap_err(),
            EncodeError::InvalidClass
        );
        let probe = CommandApdu::new(0x80, 0x99, 1, 2, &[3], 256).unwrap();
        assert_eq!(hex_of(&probe), "80990102010300");
        assert_eq!(probe.ne(), 256);
    }

    proptest! {
        #[test]
        fn any_short_command_round_trips_through_iso7816(
            cla in prop_oneof![Just(0x00u8), Just(0x80u8), Just(0x90u8)],
            ins: u8, p1: u8, p2: u8,
            data in proptest::collection::vec(any::<u8>(), 0..=255),
            ne in 0u16..=256,
        ) {
            let command = CommandApdu::new(cla, ins, p1, p2, &data, ne).unwrap();
            let view = CommandView::try_from(command.as_bytes()).unwrap();
            prop_assert_eq!(view.class().into_inner(), cla);
            prop_assert_eq!(view.data(), &data[..]);
            prop_assert_eq!(view.expected(), usize::from(ne));
            prop_assert_eq!(command.data(), &data[..]);
            prop_assert_eq!(command.ne(), ne);
            prop_assert_eq!((command.ins(), command.p1(), command.p2()), (ins, p1, p2));
        }
    }
}
