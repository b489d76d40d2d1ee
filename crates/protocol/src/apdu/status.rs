//! The status word, typed: each value the protocol defines gets a variant and a meaning a
//! custodian can read; anything else is kept raw, never folded into a generic error.
//!
//! Decoding goes through `iso7816::Status`, which already knows the ISO 7816-4 ranges
//! (61xx, 63Cx); this enum narrows it to what quorum's applet answers, plus the `6400`–`6403`
//! that PIN pad readers answer in the card's place (PC/SC Part 10). ISO 7816-4 gives `6400`
//! and `6401` other meanings, but quorum's applet never sends any `64xx`, so on a quorum
//! connection they can only come from the reader.

use std::fmt;

use iso7816::Status;

/// `6400`: PIN pad reader timeout (pcsc-lite's CCID driver turns CCID bError F0 into it).
const SW_PINPAD_TIMEOUT: u16 = 0x6400;
/// `6401`: PIN entry cancelled on the reader (CCID bError EF).
const SW_PINPAD_CANCELLED: u16 = 0x6401;
/// `6402`: new PIN and confirmation differ (from the reader's firmware).
const SW_PINPAD_MISMATCH: u16 = 0x6402;
/// `6403`: PIN length out of the range the structure allowed (from the reader's firmware).
const SW_PINPAD_LENGTH: u16 = 0x6403;

/// A status word (SW1 SW2) as the quorum protocol reads it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum StatusWord {
    /// `9000`: success.
    Success,
    /// `61xx`: success, more output to fetch with GET RESPONSE (`available` 0 = 256 or more).
    MoreData {
        /// xx: bytes still available, 0 meaning 256 or more.
        available: u8,
    },
    /// `63Cx`: wrong PIN (or, for VERIFY without data, not validated) with x tries left.
    WrongPin {
        /// x: tries left; 0 means the PIN is now blocked.
        tries_left: u8,
    },
    /// `6700`: wrong length (Lc, or a PUT RECORD stream longer or shorter than announced).
    WrongLength,
    /// `6883`: another command interrupted a PUT RECORD chain; the chain is aborted.
    ChainAborted,
    /// `6884`: the chaining bit on a command other than PUT RECORD.
    ChainingNotSupported,
    /// `6982`: the PIN is not validated in this session.
    PinNotVerified,
    /// `6983`: the PIN is blocked.
    PinBlocked,
    /// `6985`: not allowed in the card's life-cycle state (or nothing pending for GET RESPONSE).
    ConditionsNotSatisfied,
    /// `6A80`: incorrect data (PIN block, retry limit, point, record header).
    IncorrectData,
    /// `6400` from a PIN pad reader: nothing was typed before the reader's timeout.
    PinpadTimeout,
    /// `6401` from a PIN pad reader: the custodian pressed Cancel.
    PinpadCancelled,
    /// `6402` from a PIN pad reader: the new PIN and its confirmation differ.
    PinpadMismatch,
    /// `6403` from a PIN pad reader: the PIN typed is shorter or longer than allowed.
    PinpadLength,
    /// `6A82`: no applet with the quorum AID on this card (answered by the card manager).
    AppletNotFound,
    /// `6A84`: the record is larger than the card's record capacity.
    NotEnoughMemory,
    /// `6A86`: incorrect P1/P2.
    IncorrectP1P2,
    /// `6D00`: instruction not supported.
    InsNotSupported,
    /// `6E00`: class not supported.
    ClaNotSupported,
    /// Any other value, kept as received.
    Other(u16),
}

impl StatusWord {
    /// Decodes SW1 SW2 as one big-endian number.
    pub fn from_u16(sw: u16) -> StatusWord {
        match sw {
            SW_PINPAD_TIMEOUT => return StatusWord::PinpadTimeout,
            SW_PINPAD_CANCELLED => return StatusWord::PinpadCancelled,
            SW_PINPAD_MISMATCH => return StatusWord::PinpadMismatch,
            SW_PINPAD_LENGTH => return StatusWord::PinpadLength,
            _ => {}
        }
        match Status::from_u16(sw) {
            Status::Success => StatusWord::Success,
            Status::MoreAvailable(available) => StatusWord::MoreData { available },
            Status::RemainingRetries(tries_left) => StatusWord::WrongPin { tries_left },
            Status::WrongLength => StatusWord::WrongLength,
            Status::LastCommandOfChainExpected => StatusWord::ChainAborted,
            Status::CommandChainingNotSupported => StatusWord::ChainingNotSupported,
            Status::SecurityStatusNotSatisfied => StatusWord::PinNotVerified,
            Status::OperationBlocked => StatusWord::PinBlocked,
            Status::ConditionsOfUseNotSatisfied => StatusWord::ConditionsNotSatisfied,
            Status::IncorrectDataParameter => StatusWord::IncorrectData,
            Status::NotFound => StatusWord::AppletNotFound,
            Status::NotEnoughMemory => StatusWord::NotEnoughMemory,
            Status::IncorrectP1OrP2Parameter => StatusWord::IncorrectP1P2,
            Status::InstructionNotSupportedOrInvalid => StatusWord::InsNotSupported,
            Status::ClassNotSupported => StatusWord::ClaNotSupported,
            _ => StatusWord::Other(sw),
        }
    }

    /// Decodes the two trailing bytes of a response APDU.
    pub fn from_bytes(sw1: u8, sw2: u8) -> StatusWord {
        Self::from_u16(u16::from_be_bytes([sw1, sw2]))
    }

    /// The value on the wire.
    pub fn to_u16(self) -> u16 {
        let status = match self {
            StatusWord::Success => Status::Success,
            StatusWord::MoreData { available } => Status::MoreAvailable(available),
            StatusWord::WrongPin { tries_left } => Status::RemainingRetries(tries_left),
            StatusWord::WrongLength => Status::WrongLength,
            StatusWord::ChainAborted => Status::LastCommandOfChainExpected,
            StatusWord::ChainingNotSupported => Status::CommandChainingNotSupported,
            StatusWord::PinNotVerified => Status::SecurityStatusNotSatisfied,
            StatusWord::PinBlocked => Status::OperationBlocked,
            StatusWord::ConditionsNotSatisfied => Status::ConditionsOfUseNotSatisfied,
            StatusWord::IncorrectData => Status::IncorrectDataParameter,
            StatusWord::AppletNotFound => Status::NotFound,
            StatusWord::NotEnoughMemory => Status::NotEnoughMemory,
            StatusWord::IncorrectP1P2 => Status::IncorrectP1OrP2Parameter,
            StatusWord::InsNotSupported => Status::InstructionNotSupportedOrInvalid,
            StatusWord::ClaNotSupported => Status::ClassNotSupported,
            StatusWord::PinpadTimeout => return SW_PINPAD_TIMEOUT,
            StatusWord::PinpadCancelled => return SW_PINPAD_CANCELLED,
            StatusWord::PinpadMismatch => return SW_PINPAD_MISMATCH,
            StatusWord::PinpadLength => return SW_PINPAD_LENGTH,
            StatusWord::Other(sw) => return sw,
        };
        status.to_u16()
    }

    /// Whether the command succeeded (9000, or 61xx with more output).
    pub fn is_success(self) -> bool {
        matches!(self, StatusWord::Success | StatusWord::MoreData { .. })
    }

    /// What the status word means, in words a custodian can follow.
    pub fn meaning(self) -> &'static str {
        match self {
            StatusWord::Success => "success",
            StatusWord::MoreData { .. } => "success, more output waiting to be fetched",
            StatusWord::WrongPin { .. } => {
                "wrong PIN (or PIN not yet verified); the number of tries left follows"
            }
            StatusWord::WrongLength => {
                "the card rejected the length of the command or of the record"
            }
            StatusWord::ChainAborted => {
                "a record write in progress was interrupted by another command and aborted"
            }
            StatusWord::ChainingNotSupported => "command chaining is not allowed for this command",
            StatusWord::PinNotVerified => "the PIN has not been verified in this session",
            StatusWord::PinBlocked => {
                "the PIN is blocked; only a factory reset makes the card usable again"
            }
            StatusWord::ConditionsNotSatisfied => {
                "the command is not allowed in the card's current state"
            }
            StatusWord::IncorrectData => "the card rejected the command's data as malformed",
            StatusWord::AppletNotFound => "the card has no quorum applet",
            StatusWord::NotEnoughMemory => "the record is larger than the card's record capacity",
            StatusWord::IncorrectP1P2 => "incorrect parameters P1/P2",
            StatusWord::InsNotSupported => "the card does not know this command",
            StatusWord::ClaNotSupported => "the card does not accept this command class",
            StatusWord::PinpadTimeout => "no PIN was typed on the reader's keypad in time",
            StatusWord::PinpadCancelled => "the PIN entry was cancelled on the reader",
            StatusWord::PinpadMismatch => {
                "the new PIN and its confirmation typed on the reader differ"
            }
            StatusWord::PinpadLength => {
                "the PIN typed on the reader has too few or too many digits"
            }
            StatusWord::Other(_) => "a status word the quorum protocol does not define",
        }
    }
}

impl From<u16> for StatusWord {
    fn from(sw: u16) -> Self {
        StatusWord::from_u16(sw)
    }
}

impl From<StatusWord> for u16 {
    fn from(sw: StatusWord) -> Self {
        sw.to_u16()
    }
}

impl fmt::Display for StatusWord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04X} ({}", self.to_u16(), self.meaning())?;
        match self {
            StatusWord::MoreData { available: 0 } => write!(f, ": 256 bytes or more)"),
            StatusWord::MoreData { available } => write!(f, ": {available} bytes)"),
            StatusWord::WrongPin { tries_left } => write!(f, ": {tries_left})"),
            _ => write!(f, ")"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_status_word_round_trips() {
        for sw in 0..=u16::MAX {
            assert_eq!(StatusWord::from_u16(sw).to_u16(), sw, "{sw:04X}");
        }
    }

    /// Any two bytes a card may end its answer with, all 65536 of them: decoded without a
    /// panic, shown with their hex value and a meaning, success only for 9000 and 61xx.
    #[test]
    fn every_status_word_is_shown_with_its_value() {
        for sw in 0..=u16::MAX {
            let [sw1, sw2] = sw.to_be_bytes();
            let word = StatusWord::from_bytes(sw1, sw2);
            let text = word.to_string();
            assert!(text.starts_with(&format!("{sw:04X} (")), "{text}");
            assert!(text.ends_with(')') && !word.meaning().is_empty(), "{text}");
            assert_eq!(word.is_success(), sw == 0x9000 || sw1 == 0x61, "{sw:04X}");
        }
    }

    #[test]
    fn protocol_status_words_decode_to_their_variants() {
        let cases = [
            (0x9000, StatusWord::Success),
            (0x6100, StatusWord::MoreData { available: 0 }),
            (0x6151, StatusWord::MoreData { available: 0x51 }),
            (0x63C0, StatusWord::WrongPin { tries_left: 0 }),
            (0x63C4, StatusWord::WrongPin { tries_left: 4 }),
            (0x6700, StatusWord::WrongLength),
            (0x6883, StatusWord::ChainAborted),
            (0x6884, StatusWord::ChainingNotSupported),
            (0x6982, StatusWord::PinNotVerified),
            (0x6983, StatusWord::PinBlocked),
            (0x6985, StatusWord::ConditionsNotSatisfied),
            (0x6A80, StatusWord::IncorrectData),
            (0x6A82, StatusWord::AppletNotFound),
            (0x6A84, StatusWord::NotEnoughMemory),
            (0x6A86, StatusWord::IncorrectP1P2),
            (0x6D00, StatusWord::InsNotSupported),
            (0x6E00, StatusWord::ClaNotSupported),
            (0x6400, StatusWord::PinpadTimeout),
            (0x6401, StatusWord::PinpadCancelled),
            (0x6402, StatusWord::PinpadMismatch),
            (0x6403, StatusWord::PinpadLength),
            (0x6404, StatusWord::Other(0x6404)),
            (0x6B80, StatusWord::Other(0x6B80)),
            (0x6F00, StatusWord::Other(0x6F00)),
            (0x6C10, StatusWord::Other(0x6C10)),
            (0x1234, StatusWord::Other(0x1234)),
        ];
        for (sw, expected) in cases {
            assert_eq!(StatusWord::from(sw), expected, "{sw:04X}");
        }
        assert_eq!(
            StatusWord::from_bytes(0x63, 0xC2),
            StatusWord::WrongPin { tries_left: 2 }
        );
    }

    #[test]
    fn display_shows_the_hex_value_and_the_meaning() {
        assert_eq!(
            StatusWord::WrongPin { tries_left: 2 }.to_string(),
            "63C2 (wrong PIN (or PIN not yet verified); the number of tries left follows: 2)"
        );
        assert_eq!(
            StatusWord::Other(0x6F00).to_string(),
            "6F00 (a status word the quorum protocol does not define)"
        );
        assert!(StatusWord::MoreData { available: 0 }.is_success());
        assert!(!StatusWord::PinBlocked.is_success());
        assert_eq!(
            StatusWord::PinpadCancelled.to_string(),
            "6401 (the PIN entry was cancelled on the reader)"
        );
        assert!(!StatusWord::PinpadTimeout.is_success());
    }
}
