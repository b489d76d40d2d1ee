//! PIN rules and the on-wire PIN block.
//!
//! A PIN is 6 to 12 ASCII digits (pinpads have digit keys only). On the wire it is a
//! 12-byte [`PinBlock`]: the digits left-justified, the rest `FF`. Where PINs come from
//! (keyboard, PIN file, reader keypad) is the business of the crates above.
//!
//! Every buffer that held a PIN is wiped: [`PinBlock`] wipes itself on drop.

use std::fmt;
use std::str::FromStr;

use zeroize::Zeroize;

/// Fewest digits a PIN may have: shorter PINs fall to guessing too easily.
pub const PIN_MIN_DIGITS: usize = 6;
/// Most digits a PIN may have: the PIN block holds no more.
pub const PIN_MAX_DIGITS: usize = 12;
/// Size of the on-wire PIN block, fixed so that pinpad readers can fill a template.
pub const PIN_BLOCK_LEN: usize = 12;
/// Smallest retry limit the applet accepts at INITIALISE.
pub const RETRY_LIMIT_MIN: u8 = 3;
/// Largest retry limit the applet accepts at INITIALISE.
pub const RETRY_LIMIT_MAX: u8 = 10;
/// Retry limit used when the custodian does not choose one.
pub const RETRY_LIMIT_DEFAULT: u8 = 5;

/// Padding byte of the PIN block after the last digit.
const PIN_BLOCK_FILL: u8 = 0xFF;

/// Why a PIN or a retry limit breaks the rules; never contains a PIN.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PinError {
    /// The PIN has too few or too many digits.
    #[error(
        "a PIN must have {PIN_MIN_DIGITS} to {PIN_MAX_DIGITS} digits; choose one of that length"
    )]
    Length,
    /// The PIN contains something other than the digits 0-9.
    #[error("a PIN may contain only the digits 0-9 (pinpad readers have digit keys only)")]
    NotDigits,
    /// The retry limit is outside what the applet accepts.
    #[error("retry limit {0} is out of range: choose {RETRY_LIMIT_MIN} to {RETRY_LIMIT_MAX} (default {RETRY_LIMIT_DEFAULT})")]
    RetryLimit(u8),
    /// The retry limit given on the command line is not a number.
    #[error("the retry limit must be a whole number from {RETRY_LIMIT_MIN} to {RETRY_LIMIT_MAX}")]
    RetryLimitSyntax,
}

///
/// Built only from a PIN that meets the rules, so every block handed to the card is well
/// formed. Lives in a heap box so that moving it copies a pointer, not the digits, and is
/// wiped when dropped. `Debug` prints nothing secret.
pub struct PinBlock {
    bytes: Box<[u8; PIN_BLOCK_LEN]>,
}

impl PinBlock {
    /// Checks a PIN against the rules and builds its block, so a bad PIN never reaches a card.
    pub fn new(pin: &str) -> Result<PinBlock, PinError> {
        Self::from_digits(pin.as_bytes())
    }

    /// Same as [`PinBlock::new`] for raw input bytes (files, descriptors).
    pub fn from_digits(digits: &[u8]) -> Result<PinBlock, PinError> {
        if !digits.iter().all(u8::is_ascii_digit) {
            return Err(PinError::NotDigits);
        }
        if !(PIN_MIN_DIGITS..=PIN_MAX_DIGITS).contains(&digits.len()) {
            return Err(PinError::Length);
        }
        let mut bytes = Box::new([PIN_BLOCK_FILL; PIN_BLOCK_LEN]);
        bytes[..digits.len()].copy_from_slice(digits);
        Ok(PinBlock { bytes })
    }

    /// The wire bytes, for the codec to copy into a zeroizing APDU buffer.
    pub fn as_bytes(&self) -> &[u8; PIN_BLOCK_LEN] {
        &self.bytes
    }

    /// Compares two blocks (confirmation of a new PIN) without exposing either.
    pub fn same_pin(&self, other: &PinBlock) -> bool {
        // Not secret-dependent timing worth guarding: both entries come from the same user.
        self.bytes[..] == other.bytes[..]
    }
}

impl Clone for PinBlock {
    fn clone(&self) -> Self {
        let mut bytes = Box::new([PIN_BLOCK_FILL; PIN_BLOCK_LEN]);
        bytes.copy_from_slice(&self.bytes[..]);
        PinBlock { bytes }
    }
}

impl Drop for PinBlock {
    fn drop(&mut self) {
        self.bytes.zeroize();
    }
}

impl fmt::Debug for PinBlock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PinBlock(<redacted>)")
    }
}

/// The number of wrong PIN entries a card tolerates before it blocks, within the applet's range.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct RetryLimit(u8);

impl RetryLimit {
    /// Accepts only what INITIALISE accepts, so the card never answers 6A80 for it.
    pub fn new(limit: u8) -> Result<RetryLimit, PinError> {
        if (RETRY_LIMIT_MIN..=RETRY_LIMIT_MAX).contains(&limit) {
            Ok(RetryLimit(limit))
        } else {
            Err(PinError::RetryLimit(limit))
        }
    }

    /// The value sent in the INITIALISE data.
    pub fn get(self) -> u8 {
        self.0
    }
}

impl Default for RetryLimit {
    fn default() -> Self {
        RetryLimit(RETRY_LIMIT_DEFAULT)
    }
}

impl FromStr for RetryLimit {
    type Err = PinError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let value: u8 = s.trim().parse().map_err(|_| PinError::RetryLimitSyntax)?;
        RetryLimit::new(value)
    }
}

impl fmt::Display for RetryLimit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn block_of_123456_matches_the_contract_example() {
        let block = PinBlock::new("123456").unwrap();
        assert_eq!(
            block.as_bytes(),
            &[0x31, 0x32, 0x33, 0x34, 0x35, 0x36, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF]
        );
    }

    #[test]
    fn twelve_digits_fill_the_block() {
        let block = PinBlock::new("123456789012").unwrap();
        assert_eq!(block.as_bytes(), b"123456789012");
    }

    #[test]
    fn pin_length_limits_are_enforced() {
        assert!(matches!(PinBlock::new("12345"), Err(PinError::Length)));
        assert!(matches!(
            PinBlock::new("1234567890123"),
            Err(PinError::Length)
        ));
        assert!(matches!(PinBlock::new(""), Err(PinError::Length)));
    }

    #[test]
    fn non_digits_are_refused() {
        for pin in [
            "12345a",
            "123 456",
            "１２３４５６",
            "-123456",
            "12345\u{0}6",
        ] {
            assert!(
                matches!(PinBlock::new(pin), Err(PinError::NotDigits)),
                "{pin:?}"
            );
        }
    }

    #[test]
    fn debug_and_errors_never_show_the_pin() {
        let block = PinBlock::new("987654").unwrap();
        assert_eq!(format!("{block:?}"), "PinBlock(<redacted>)");
    }

    #[test]
    fn retry_limit_range_and_default() {
        assert_eq!(RetryLimit::default().get(), 5);
        assert_eq!(RetryLimit::new(3).unwrap().get(), 3);
        assert_eq!(RetryLimit::new(10).unwrap().get(), 10);
        assert!(matches!(RetryLimit::new(2), Err(PinError::RetryLimit(2))));
        assert!(matches!(RetryLimit::new(11), Err(PinError::RetryLimit(11))));
        assert_eq!("7".parse::<RetryLimit>().unwrap().get(), 7);
        assert!(matches!(
            "x".parse::<RetryLimit>(),
            Err(PinError::RetryLimitSyntax)
        ));
        assert!(matches!(
            "300".parse::<RetryLimit>(),
            Err(PinError::RetryLimitSyntax)
        ));
    }
}
