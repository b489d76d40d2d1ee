//! PIN rules and the on-wire PIN block.
//!
//! A PIN typed at this computer or read from a PIN file is a [`Pin`]: up to 127 printable
//! characters, checked against the rule of the card it is for ([`PinRule`]). The quorum
//! applet's rule is 6 to 12 ASCII digits (pinpads have digit keys only); on the wire its
//! PIN is a 12-byte [`PinBlock`]: the digits left-justified, the rest `FF`. An OpenPGP
//! card's user PIN follows the card's own rule, 6 to 127 bytes sent as they are typed.
//! Where PINs come from (keyboard, PIN file, reader keypad) is the business of the crates
//! above.
//!
//! Every buffer that held a PIN is wiped: [`Pin`] and [`PinBlock`] wipe themselves on drop.

use std::fmt;
use std::str::FromStr;

use zeroize::{Zeroize, Zeroizing};

/// Fewest digits a PIN may have: shorter PINs fall to guessing too easily.
pub const PIN_MIN_DIGITS: usize = 6;
/// Most digits a PIN may have: the PIN block holds no more.
pub const PIN_MAX_DIGITS: usize = 12;
/// Fewest characters an OpenPGP card's user PIN (PW1) may have (OpenPGP card spec §4.3).
pub const OPENPGP_USER_PIN_MIN: usize = 6;
/// Most characters (bytes) any PIN typed here may have: the most an OpenPGP card's PW
/// status can announce, so no card's PIN is refused for its length on this side.
pub const PIN_MAX_LEN: usize = 127;
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
    /// The PIN is too short or too long for an OpenPGP card's user PIN.
    #[error("an OpenPGP card's user PIN has {OPENPGP_USER_PIN_MIN} to {PIN_MAX_LEN} characters; this one has fewer or more")]
    OpenPgpLength,
    /// The PIN contains a space, a control character or a byte that is not text.
    #[error(
        "a PIN may contain no spaces, tabs or other control characters, and must be text (UTF-8)"
    )]
    Unprintable,
    /// The retry limit is outside what the applet accepts.
    #[error("retry limit {0} is out of range: choose {RETRY_LIMIT_MIN} to {RETRY_LIMIT_MAX} (default {RETRY_LIMIT_DEFAULT})")]
    RetryLimit(u8),
    /// The retry limit given on the command line is not a number.
    #[error("the retry limit must be a whole number from {RETRY_LIMIT_MIN} to {RETRY_LIMIT_MAX}")]
    RetryLimitSyntax,
}

/// The rule a PIN must meet, which is the rule of the card it is for; checked before the
/// card is asked, so a PIN the card could never accept does not spend a try.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PinRule {
    /// The quorum applet: 6 to 12 ASCII digits (its PIN block and digit-only pinpads).
    Applet,
    /// An OpenPGP card's user PIN (PW1): 6 to 127 characters, any the card accepts.
    OpenPgpUser,
}

impl PinRule {
    /// Checks a PIN's bytes against this rule, so a PIN that breaks it never reaches a card.
    pub fn check(self, pin: &[u8]) -> Result<(), PinError> {
        match self {
            PinRule::Applet => {
                if !pin.iter().all(u8::is_ascii_digit) {
                    return Err(PinError::NotDigits);
                }
                if !(PIN_MIN_DIGITS..=PIN_MAX_DIGITS).contains(&pin.len()) {
                    return Err(PinError::Length);
                }
                Ok(())
            }
            PinRule::OpenPgpUser => {
                check_printable(pin)?;
                if !(OPENPGP_USER_PIN_MIN..=PIN_MAX_LEN).contains(&pin.len()) {
                    return Err(PinError::OpenPgpLength);
                }
                Ok(())
            }
        }
    }

    /// What a new PIN must look like under this rule, for a prompt (`6-12 digits`).
    pub fn hint(self) -> String {
        match self {
            PinRule::Applet => format!("{PIN_MIN_DIGITS}-{PIN_MAX_DIGITS} digits"),
            PinRule::OpenPgpUser => format!("{OPENPGP_USER_PIN_MIN}-{PIN_MAX_LEN} characters"),
        }
    }
}

impl fmt::Display for PinRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PinRule::Applet => write!(
                f,
                "the quorum applet's rule ({PIN_MIN_DIGITS} to {PIN_MAX_DIGITS} digits)"
            ),
            PinRule::OpenPgpUser => write!(
                f,
                "the OpenPGP card's user PIN rule ({OPENPGP_USER_PIN_MIN} to {PIN_MAX_LEN} characters)"
            ),
        }
    }
}

/// Refuses what a PIN line or prompt cannot carry unambiguously: whitespace, control
/// characters, bytes that are not UTF-8.
fn check_printable(pin: &[u8]) -> Result<(), PinError> {
    let text = std::str::from_utf8(pin).map_err(|_| PinError::Unprintable)?;
    if text.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(PinError::Unprintable);
    }
    Ok(())
}

/// A PIN as typed at this computer or read from a PIN file, before the card's rule is known.
///
/// Holds 1 to 127 bytes of text with no whitespace or control characters (so a PIN file's
/// `FINGERPRINT PIN` lines stay unambiguous); the card's own rule is checked with
/// [`Pin::check`]. Kept in a wiped heap buffer; `Debug` prints nothing secret.
#[derive(Clone)]
pub struct Pin {
    bytes: Zeroizing<Vec<u8>>,
}

impl Pin {
    /// Takes a typed PIN, refusing what no card's rule allows, so nothing odd travels on.
    pub fn new(pin: &str) -> Result<Pin, PinError> {
        Self::from_bytes(pin.as_bytes())
    }

    /// Same as [`Pin::new`] for raw input bytes (files, descriptors).
    pub fn from_bytes(pin: &[u8]) -> Result<Pin, PinError> {
        check_printable(pin)?;
        if !(1..=PIN_MAX_LEN).contains(&pin.len()) {
            return Err(PinError::OpenPgpLength);
        }
        Ok(Pin {
            bytes: Zeroizing::new(pin.to_vec()),
        })
    }

    /// Checks the PIN against the rule of the card it is for.
    pub fn check(&self, rule: PinRule) -> Result<(), PinError> {
        rule.check(&self.bytes)
    }

    /// The PIN's bytes as typed, for a card that takes them as they are (OpenPGP).
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The quorum applet's PIN block, refused when the PIN breaks the applet's rule.
    pub fn applet_block(&self) -> Result<PinBlock, PinError> {
        PinBlock::from_digits(&self.bytes)
    }

    /// Compares two PINs (confirmation of a new PIN) without exposing either.
    pub fn same_pin(&self, other: &Pin) -> bool {
        // Not secret-dependent timing worth guarding: both entries come from the same user.
        self.bytes[..] == other.bytes[..]
    }
}

impl Zeroize for Pin {
    fn zeroize(&mut self) {
        self.bytes.zeroize();
    }
}

impl fmt::Debug for Pin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Pin(<redacted>)")
    }
}

/// The quorum applet's on-wire PIN block.
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
        PinRule::Applet.check(digits)?;
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
    fn openpgp_user_rule_takes_6_to_127_characters() {
        let rule = PinRule::OpenPgpUser;
        assert_eq!(rule.check(b"12345"), Err(PinError::OpenPgpLength));
        assert_eq!(rule.check(b"123456"), Ok(()));
        assert_eq!(rule.check(&[b'a'; 127]), Ok(()));
        assert_eq!(rule.check(&[b'a'; 128]), Err(PinError::OpenPgpLength));
        assert_eq!(rule.check(b""), Err(PinError::OpenPgpLength));
        assert_eq!(rule.check(b"tr0ub4dor-passphrase"), Ok(()));
        assert_eq!(rule.check("p\u{e4}ssw\u{f6}rd".as_bytes()), Ok(()));
    }

    #[test]
    fn applet_rule_is_the_pin_blocks_rule() {
        let rule = PinRule::Applet;
        assert_eq!(rule.check(b"12345"), Err(PinError::Length));
        assert_eq!(rule.check(b"123456"), Ok(()));
        assert_eq!(rule.check(b"123456789012"), Ok(()));
        assert_eq!(rule.check(b"1234567890123"), Err(PinError::Length));
        assert_eq!(rule.check(b"tr0ub4dor"), Err(PinError::NotDigits));
        assert_eq!(rule.check(&[b'1'; 127]), Err(PinError::Length));
    }

    #[test]
    fn control_characters_and_whitespace_are_refused_by_every_rule() {
        for pin in [
            "abc def",
            "abcdef\t",
            "abc\u{0}def",
            "abcdef\r",
            "abc\u{7f}def",
            "abc\u{a0}def",
            "abc\u{2028}def",
        ] {
            assert_eq!(
                PinRule::OpenPgpUser.check(pin.as_bytes()),
                Err(PinError::Unprintable),
                "{pin:?}"
            );
            assert!(PinRule::Applet.check(pin.as_bytes()).is_err(), "{pin:?}");
            assert!(
                matches!(Pin::new(pin), Err(PinError::Unprintable)),
                "{pin:?}"
            );
        }
        assert_eq!(
            PinRule::OpenPgpUser.check(&[0xC3, 0x28, b'a', b'b', b'c', b'd']),
            Err(PinError::Unprintable)
        );
    }

    #[test]
    fn a_pin_holds_1_to_127_bytes_and_checks_each_rule() {
        assert!(matches!(Pin::new(""), Err(PinError::OpenPgpLength)));
        assert!(matches!(
            Pin::from_bytes(&[b'x'; 128]),
            Err(PinError::OpenPgpLength)
        ));
        let long = Pin::from_bytes(&[b'x'; 127]).unwrap();
        assert_eq!(long.as_bytes().len(), 127);
        let short = Pin::new("12345").unwrap();
        assert_eq!(short.check(PinRule::Applet), Err(PinError::Length));
        assert_eq!(
            short.check(PinRule::OpenPgpUser),
            Err(PinError::OpenPgpLength)
        );
        let words = Pin::new("tr0ub4dor").unwrap();
        assert_eq!(words.check(PinRule::OpenPgpUser), Ok(()));
        assert!(matches!(words.applet_block(), Err(PinError::NotDigits)));
    }

    #[test]
    fn a_pins_applet_block_is_the_same_block_as_before() {
        for digits in ["123456", "123456789012", "000000"] {
            let pin = Pin::new(digits).unwrap();
            assert_eq!(
                pin.applet_block().unwrap().as_bytes(),
                PinBlock::new(digits).unwrap().as_bytes()
            );
            assert_eq!(pin.as_bytes(), digits.as_bytes());
        }
        assert!(matches!(
            Pin::new("1234567890123").unwrap().applet_block(),
            Err(PinError::Length)
        ));
    }

    #[test]
    fn pins_compare_debug_redacted_and_zeroize() {
        let pin = Pin::new("tr0ub4dor-passphrase").unwrap();
        assert!(pin.same_pin(&Pin::new("tr0ub4dor-passphrase").unwrap()));
        assert!(!pin.same_pin(&Pin::new("tr0ub4dor-passphrasE").unwrap()));
        assert_eq!(format!("{pin:?}"), "Pin(<redacted>)");
        let mut wiped = pin.clone();
        wiped.zeroize();
        assert!(wiped.as_bytes().is_empty());
        assert_eq!(pin.as_bytes(), b"tr0ub4dor-passphrase");
    }

    #[test]
    fn rule_errors_and_names_never_show_a_pin_and_name_the_rule() {
        assert_eq!(
            PinError::OpenPgpLength.to_string(),
            "an OpenPGP card's user PIN has 6 to 127 characters; this one has fewer or more"
        );
        assert!(PinRule::Applet.to_string().contains("6 to 12 digits"));
        assert!(PinRule::OpenPgpUser
            .to_string()
            .contains("6 to 127 characters"));
        assert_eq!(PinRule::Applet.hint(), "6-12 digits");
        assert_eq!(PinRule::OpenPgpUser.hint(), "6-127 characters");
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
