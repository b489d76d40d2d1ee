//! PIN rules, the on-wire PIN block, and where PINs come from.
//!
//! A PIN is 6 to 12 ASCII digits (pinpads have digit keys only). On the wire it is a
//! 12-byte [`PinBlock`]: the digits left-justified, the rest `FF`. PINs come from the
//! terminal without echo ([`prompt_pin`], [`prompt_new_pin`]) or, for automation and
//! tests, from a PIN file or an inherited file descriptor ([`PinTable`]).
//!
//! # The PIN pad comes first
//!
//! When the reader has a PIN pad (PC/SC Part 10), the PIN is typed on its keypad and never
//! passes through this computer; [`PinEntry::choose`] picks that path unless the custodian
//! asks otherwise (`--no-pinpad`). A PIN file given for a PIN pad reader is refused rather
//! than silently ignored or silently preferred.
//!
//! # PIN file format (`--pin-file PATH`, `--pin-fd N`)
//!
//! ASCII text, one entry per line; blank lines and lines starting with `#` are ignored,
//! surrounding spaces and a trailing `\r` are tolerated:
//!
//! ```text
//! # a PIN alone on its line applies to any card (at most one such line)
//! 123456
//! # `FINGERPRINT PIN` gives one card its own PIN (it wins over the line above)
//! a1b2-c3d4-e5f6-0718 246801
//! ```
//!
//! The fingerprint is the card fingerprint as `quorumctl` shows it (four dash-separated
//! groups of four hex digits; upper case is accepted). Every PIN in the file is checked
//! against the PIN rules when the file is read, so a typo fails before any card is
//! touched. Error messages name the line, never its content.
//!
//! Every buffer that held a PIN is wiped: [`PinBlock`] wipes itself on drop, file and
//! terminal input is read into zeroizing buffers. (rpassword's own internal line buffer
//! is outside our control; its result is moved into a zeroizing string at once.)

use std::fmt;
use std::io::{self, Read};
use std::path::Path;
use std::str::FromStr;

use zeroize::{Zeroize, Zeroizing};

use crate::protocol::part10::PinpadFeatures;
pub use crate::protocol::part10::DEFAULT_TIMEOUT_SECS as PINPAD_TIMEOUT_DEFAULT_SECS;

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

/// How many times an interactive prompt re-asks after an invalid entry before giving up.
const PROMPT_ATTEMPTS: usize = 3;
/// Largest PIN file accepted; a real one holds one short line per card.
const PIN_FILE_MAX: usize = 64 * 1024;
/// Padding byte of the PIN block after the last digit.
const PIN_BLOCK_FILL: u8 = 0xFF;

/// Why a PIN, a retry limit or a PIN source was refused; never contains a PIN.
#[derive(Debug, thiserror::Error)]
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
    /// The confirmation of a new PIN differed from the first entry.
    #[error("the two entries of the new PIN differ; enter the same PIN twice")]
    Mismatch,
    /// Interactive entry failed validation too many times in a row.
    #[error("no valid PIN after {PROMPT_ATTEMPTS} attempts; start the command again")]
    TooManyAttempts,
    /// The retry limit is outside what the applet accepts.
    #[error("retry limit {0} is out of range: choose {RETRY_LIMIT_MIN} to {RETRY_LIMIT_MAX} (default {RETRY_LIMIT_DEFAULT})")]
    RetryLimit(u8),
    /// The retry limit given on the command line is not a number.
    #[error("the retry limit must be a whole number from {RETRY_LIMIT_MIN} to {RETRY_LIMIT_MAX}")]
    RetryLimitSyntax,
    /// The terminal could not be used for PIN entry.
    #[error("cannot read a PIN from the terminal ({0}); run in a terminal, or give PINs with --pin-file PATH or --pin-fd N")]
    Terminal(#[source] io::Error),
    /// A PIN file or descriptor could not be read.
    #[error("cannot read PINs from {origin}: {error}")]
    Read {
        /// Which file or descriptor.
        origin: String,
        /// The operating system's reason.
        #[source]
        error: io::Error,
    },
    /// A PIN file is larger than any sensible PIN file.
    #[error(
        "{origin} is larger than {PIN_FILE_MAX} bytes; a PIN file holds one short line per card"
    )]
    TooLarge {
        /// Which file or descriptor.
        origin: String,
    },
    /// A line of a PIN file is malformed.
    #[error("{origin}, line {line}: {problem}; lines are `PIN` (any card) or `FINGERPRINT PIN` (one card)")]
    Format {
        /// Which file or descriptor.
        origin: String,
        /// 1-based line number.
        line: usize,
        /// What is wrong with the line (never its content).
        problem: FormatProblem,
    },
    /// The PIN source has no PIN for this card.
    #[error("{origin} has no PIN for card {fingerprint}; add a line `{fingerprint} PIN` or a line with a PIN for any card")]
    NoPinForCard {
        /// Which file or descriptor.
        origin: String,
        /// The card that needed a PIN.
        fingerprint: String,
    },
    /// Both --pin-file and --pin-fd were given.
    #[error("give either --pin-file or --pin-fd, not both")]
    ConflictingSources,
    /// --pin-fd on a platform without /dev/fd.
    #[error("--pin-fd is available on Unix-like systems only; use --pin-file PATH")]
    FdUnsupported,
}

/// What is wrong with one line of a PIN file, worded so the line itself is never shown.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FormatProblem {
    /// The PIN on the line breaks the PIN rules.
    #[error("the PIN has fewer than {PIN_MIN_DIGITS} or more than {PIN_MAX_DIGITS} digits")]
    PinLength,
    /// The PIN on the line has a non-digit.
    #[error("the PIN contains something other than the digits 0-9")]
    PinNotDigits,
    /// The first field of a two-field line is not a fingerprint.
    #[error("the first field is not a card fingerprint like a1b2-c3d4-e5f6-0718")]
    BadFingerprint,
    /// More than two fields.
    #[error("too many fields")]
    TooManyFields,
    /// A second line with a PIN for any card.
    #[error("a second PIN for any card (only one such line is allowed)")]
    DuplicateDefault,
    /// A second line for the same card.
    #[error("a second PIN for card {0}")]
    DuplicateCard(String),
    /// A byte that is not printable ASCII.
    #[error("the line contains a byte that is not printable ASCII")]
    NotAscii,
}

/// A PIN in its 12-byte wire form; the only way a PIN travels through quorum.
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

/// PINs read from a file or descriptor, so that scripts and tests run without a terminal.
pub struct PinTable {
    origin: String,
    any_card: Option<PinBlock>,
    per_card: Vec<(String, PinBlock)>,
}

impl PinTable {
    /// Parses PIN-file text (see the module documentation); `origin` names it in errors.
    pub fn parse(text: &[u8], origin: &str) -> Result<PinTable, PinError> {
        let mut table = PinTable {
            origin: origin.to_owned(),
            any_card: None,
            per_card: Vec::new(),
        };
        for (index, raw_line) in text.split(|&b| b == b'\n').enumerate() {
            let line = raw_line.trim_ascii();
            if line.is_empty() || line[0] == b'#' {
                continue;
            }
            let fail = |problem| PinError::Format {
                origin: origin.to_owned(),
                line: index + 1,
                problem,
            };
            if !line
                .iter()
                .all(|&b| b.is_ascii_graphic() || b == b' ' || b == b'\t')
            {
                return Err(fail(FormatProblem::NotAscii));
            }
            let mut fields = line
                .split(u8::is_ascii_whitespace)
                .filter(|f| !f.is_empty());
            let first = fields.next().unwrap_or_default();
            let second = fields.next();
            if fields.next().is_some() {
                return Err(fail(FormatProblem::TooManyFields));
            }
            match second {
                None => {
                    let pin = file_pin(first).map_err(fail)?;
                    if table.any_card.is_some() {
                        return Err(fail(FormatProblem::DuplicateDefault));
                    }
                    table.any_card = Some(pin);
                }
                Some(pin_field) => {
                    let fingerprint = normalise_fingerprint(first)
                        .ok_or_else(|| fail(FormatProblem::BadFingerprint))?;
                    let pin = file_pin(pin_field).map_err(fail)?;
                    if table.per_card.iter().any(|(f, _)| *f == fingerprint) {
                        return Err(fail(FormatProblem::DuplicateCard(fingerprint)));
                    }
                    table.per_card.push((fingerprint, pin));
                }
            }
        }
        Ok(table)
    }

    /// Reads a PIN file given with `--pin-file PATH`.
    pub fn from_file(path: &Path) -> Result<PinTable, PinError> {
        let origin = format!("PIN file {}", path.display());
        let file = std::fs::File::open(path).map_err(|error| PinError::Read {
            origin: origin.clone(),
            error,
        })?;
        let text = read_bounded(file, &origin)?;
        PinTable::parse(&text, &origin)
    }

    /// Reads PINs from an inherited descriptor given with `--pin-fd N` (a pipe keeps PINs off disk).
    pub fn from_fd(fd: u32) -> Result<PinTable, PinError> {
        if !cfg!(unix) {
            return Err(PinError::FdUnsupported);
        }
        let origin = format!("PIN file descriptor {fd}");
        // Opening /dev/fd/N reads the inherited pipe or file without any unsafe code.
        let file =
            std::fs::File::open(format!("/dev/fd/{fd}")).map_err(|error| PinError::Read {
                origin: origin.clone(),
                error,
            })?;
        let text = read_bounded(file, &origin)?;
        PinTable::parse(&text, &origin)
    }

    /// The PIN for the card with this fingerprint: its own line, else the any-card line.
    pub fn pin_for(&self, fingerprint: &str) -> Option<PinBlock> {
        let wanted = normalise_fingerprint(fingerprint.as_bytes());
        self.per_card
            .iter()
            .find(|(f, _)| Some(f) == wanted.as_ref())
            .map(|(_, pin)| pin.clone())
            .or_else(|| self.any_card.clone())
    }

    /// Like [`PinTable::pin_for`], with an error that says how to fix the file.
    pub fn require_pin_for(&self, fingerprint: &str) -> Result<PinBlock, PinError> {
        self.pin_for(fingerprint)
            .ok_or_else(|| PinError::NoPinForCard {
                origin: self.origin.clone(),
                fingerprint: fingerprint.to_owned(),
            })
    }

    /// Where the PINs came from, for messages.
    pub fn origin(&self) -> &str {
        &self.origin
    }
}

impl fmt::Debug for PinTable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PinTable")
            .field("origin", &self.origin)
            .field("any_card", &self.any_card.is_some())
            .field(
                "cards",
                &self.per_card.iter().map(|(fp, _)| fp).collect::<Vec<_>>(),
            )
            .finish()
    }
}

/// Where the CLI takes PINs from: the terminal, or a table for unattended runs.
#[derive(Debug)]
pub enum PinSource {
    /// Ask on the terminal without echo.
    Prompt,
    /// Look PINs up in a PIN file or descriptor.
    Table(PinTable),
}

impl PinSource {
    /// Chooses the source from `--pin-file` / `--pin-fd`; neither means the terminal.
    pub fn from_options(
        pin_file: Option<&Path>,
        pin_fd: Option<u32>,
    ) -> Result<PinSource, PinError> {
        match (pin_file, pin_fd) {
            (Some(_), Some(_)) => Err(PinError::ConflictingSources),
            (Some(path), None) => Ok(PinSource::Table(PinTable::from_file(path)?)),
            (None, Some(fd)) => Ok(PinSource::Table(PinTable::from_fd(fd)?)),
            (None, None) => Ok(PinSource::Prompt),
        }
    }

    /// The existing PIN of the card with this fingerprint.
    pub fn current_pin(&self, fingerprint: &str) -> Result<PinBlock, PinError> {
        match self {
            PinSource::Prompt => prompt_pin(&format!("PIN of card {fingerprint}: ")),
            PinSource::Table(table) => table.require_pin_for(fingerprint),
        }
    }

    /// A PIN to set on the card with this fingerprint (asked twice on a terminal).
    pub fn new_pin(&self, fingerprint: &str) -> Result<PinBlock, PinError> {
        match self {
            PinSource::Prompt => prompt_new_pin(&format!(
                "New PIN for card {fingerprint} ({PIN_MIN_DIGITS}-{PIN_MAX_DIGITS} digits): "
            )),
            PinSource::Table(table) => table.require_pin_for(fingerprint),
        }
    }
}

/// The path a PIN takes to one card: the reader's keypad or this computer.
#[derive(Debug, Clone, Copy)]
pub enum PinEntry<'a> {
    /// Typed on the reader's PIN pad: the reader inserts it into the APDU itself.
    Pinpad(PinpadFeatures),
    /// Typed on this computer (no echo) or read from a PIN file or descriptor.
    Host {
        /// Where the PINs come from.
        source: &'a PinSource,
        /// The reader has a PIN pad that the custodian chose not to use (`--no-pinpad`).
        pinpad_bypassed: bool,
    },
}

impl<'a> PinEntry<'a> {
    /// Picks the path for a reader: its PIN pad whenever it has one, unless the user asked
    /// for `--no-pinpad`. A PIN file or descriptor serves only readers without a pinpad, so a
    /// ceremony can mix both kinds and a pinpad is never bypassed behind anyone's back.
    pub fn choose(
        pinpad: Option<PinpadFeatures>,
        no_pinpad: bool,
        source: &'a PinSource,
    ) -> PinEntry<'a> {
        match (pinpad, no_pinpad) {
            (Some(features), false) => PinEntry::Pinpad(features),
            (pinpad, _) => PinEntry::Host {
                source,
                pinpad_bypassed: pinpad.is_some(),
            },
        }
    }

    /// Whether the PIN is typed on the reader (then the card operations `*_on_pinpad` apply).
    pub fn is_pinpad(&self) -> bool {
        matches!(self, PinEntry::Pinpad(_))
    }

    /// One line for the output, so the custodian sees where the PIN is expected.
    pub fn describe(&self) -> String {
        match self {
            PinEntry::Pinpad(_) => "PIN typed on the reader's pinpad".to_owned(),
            PinEntry::Host {
                source,
                pinpad_bypassed,
            } => {
                let path = match source {
                    PinSource::Prompt => "PIN typed on this computer (no echo)".to_owned(),
                    PinSource::Table(table) => {
                        let origin = table.origin();
                        format!("PIN from {}", origin.strip_prefix("PIN ").unwrap_or(origin))
                    }
                };
                match pinpad_bypassed {
                    true => format!("{path}; the reader's pinpad is not used (--no-pinpad)"),
                    false => path,
                }
            }
        }
    }
}

/// What to tell the custodian before a PIN pad waits for the PIN of a card.
pub fn pinpad_verify_instructions(fingerprint: &str, timeout_secs: u8) -> String {
    format!(
        "Type the PIN of card {fingerprint} on the reader's keypad and press OK{}.",
        within(timeout_secs)
    )
}

/// What to tell the custodian before a PIN pad waits for the current and new PIN.
pub fn pinpad_change_instructions(fingerprint: &str, timeout_secs: u8) -> String {
    format!(
        "On the reader's keypad, type the current PIN of card {fingerprint}, then the new PIN \
         ({PIN_MIN_DIGITS}-{PIN_MAX_DIGITS} digits) twice, pressing OK after each{}.",
        within(timeout_secs)
    )
}

fn within(timeout_secs: u8) -> String {
    match timeout_secs {
        0 => String::new(),
        n => format!(" (within {n} seconds)"),
    }
}

/// Asks for an existing PIN on the terminal without echo; re-asks after an invalid entry.
pub fn prompt_pin(prompt: &str) -> Result<PinBlock, PinError> {
    ask_pin_with(&mut terminal_entry, prompt, &mut complain_on_stderr)
}

/// Asks for a new PIN twice on the terminal without echo, so a typo cannot lock the card.
pub fn prompt_new_pin(prompt: &str) -> Result<PinBlock, PinError> {
    ask_new_pin_with(&mut terminal_entry, prompt, &mut complain_on_stderr)
}

/// One line typed without echo; the result lives in a zeroizing string from the start.
type Entry<'a> = dyn FnMut(&str) -> io::Result<Zeroizing<String>> + 'a;

fn terminal_entry(prompt: &str) -> io::Result<Zeroizing<String>> {
    rpassword::prompt_password(prompt).map(Zeroizing::new)
}

fn complain_on_stderr(error: &PinError) {
    eprintln!("{error}; try again");
}

fn ask_pin_with(
    ask: &mut Entry<'_>,
    prompt: &str,
    complain: &mut dyn FnMut(&PinError),
) -> Result<PinBlock, PinError> {
    for attempt in 1..=PROMPT_ATTEMPTS {
        let entry = ask(prompt).map_err(PinError::Terminal)?;
        match PinBlock::new(entry.trim()) {
            Ok(pin) => return Ok(pin),
            Err(error) if attempt < PROMPT_ATTEMPTS => complain(&error),
            Err(_) => break,
        }
    }
    Err(PinError::TooManyAttempts)
}

fn ask_new_pin_with(
    ask: &mut Entry<'_>,
    prompt: &str,
    complain: &mut dyn FnMut(&PinError),
) -> Result<PinBlock, PinError> {
    for attempt in 1..=PROMPT_ATTEMPTS {
        let outcome = ask_pin_with(ask, prompt, complain).and_then(|first| {
            let again = ask("Repeat the new PIN: ").map_err(PinError::Terminal)?;
            match PinBlock::new(again.trim()) {
                Ok(second) if second.same_pin(&first) => Ok(first),
                _ => Err(PinError::Mismatch),
            }
        });
        match outcome {
            Err(PinError::Mismatch) if attempt < PROMPT_ATTEMPTS => complain(&PinError::Mismatch),
            Err(PinError::Mismatch) => break,
            other => return other,
        }
    }
    Err(PinError::TooManyAttempts)
}

/// Turns one PIN field of a PIN file into a block, naming the problem without the PIN.
fn file_pin(field: &[u8]) -> Result<PinBlock, FormatProblem> {
    PinBlock::from_digits(field).map_err(|error| match error {
        PinError::NotDigits => FormatProblem::PinNotDigits,
        _ => FormatProblem::PinLength,
    })
}

/// `a1b2-c3d4-e5f6-0718` in lower case, or `None` if the text is not a fingerprint.
fn normalise_fingerprint(text: &[u8]) -> Option<String> {
    let groups: Vec<&[u8]> = text.split(|&b| b == b'-').collect();
    let well_formed = groups.len() == 4
        && groups
            .iter()
            .all(|g| g.len() == 4 && g.iter().all(u8::is_ascii_hexdigit));
    well_formed.then(|| String::from_utf8_lossy(text).to_ascii_lowercase())
}

/// Reads a whole PIN source into one preallocated zeroizing buffer (no reallocation copies).
fn read_bounded(mut source: impl Read, origin: &str) -> Result<Zeroizing<Vec<u8>>, PinError> {
    crate::secret_io::read_bounded(&mut source, PIN_FILE_MAX)
        .map_err(|error| PinError::Read {
            origin: origin.to_owned(),
            error,
        })?
        .ok_or_else(|| PinError::TooLarge {
            origin: origin.to_owned(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mutation::any_mutation;
    use proptest::prelude::*;
    use std::collections::VecDeque;

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
        let error = PinTable::parse(b"a1b2-c3d4-e5f6-0718 98765x\n", "test").unwrap_err();
        assert!(!error.to_string().contains("98765"), "{error}");
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

    #[test]
    fn table_gives_per_card_pins_and_a_default() {
        let text = b"# comment\n\n  111111  \r\nA1B2-c3d4-e5f6-0718 222222\r\nffff-0000-1111-2222\t333333\n";
        let table = PinTable::parse(text, "test").unwrap();
        assert_eq!(
            table.pin_for("a1b2-c3d4-e5f6-0718").unwrap().as_bytes()[..6],
            *b"222222"
        );
        assert_eq!(
            table.pin_for("FFFF-0000-1111-2222").unwrap().as_bytes()[..6],
            *b"333333"
        );
        assert_eq!(
            table.pin_for("0000-0000-0000-0000").unwrap().as_bytes()[..6],
            *b"111111"
        );
    }

    #[test]
    fn table_without_default_has_no_pin_for_unknown_cards() {
        let table = PinTable::parse(b"a1b2-c3d4-e5f6-0718 222222\n", "test").unwrap();
        assert!(table.pin_for("0000-0000-0000-0000").is_none());
        let error = table.require_pin_for("0000-0000-0000-0000").unwrap_err();
        assert!(matches!(error, PinError::NoPinForCard { .. }));
        assert!(error.to_string().contains("0000-0000-0000-0000"));
    }

    fn format_problem(text: &[u8]) -> (usize, FormatProblem) {
        match PinTable::parse(text, "test") {
            Err(PinError::Format { line, problem, .. }) => (line, problem),
            other => panic!("expected a format error, got {other:?}"),
        }
    }

    #[test]
    fn table_format_errors_name_the_line_and_the_problem() {
        assert_eq!(
            format_problem(b"111111\n222222\n"),
            (2, FormatProblem::DuplicateDefault)
        );
        assert_eq!(format_problem(b"12345\n"), (1, FormatProblem::PinLength));
        assert_eq!(
            format_problem(b"#\n12345x\n"),
            (2, FormatProblem::PinNotDigits)
        );
        assert_eq!(
            format_problem(b"a1b2-c3d4-e5f6 123456\n"),
            (1, FormatProblem::BadFingerprint)
        );
        assert_eq!(
            format_problem(b"a1b2-c3d4-e5f6-07g8 123456\n"),
            (1, FormatProblem::BadFingerprint)
        );
        assert_eq!(
            format_problem(b"a b c\n"),
            (1, FormatProblem::TooManyFields)
        );
        assert_eq!(
            format_problem("\u{e9}123456\n".as_bytes()),
            (1, FormatProblem::NotAscii)
        );
        assert_eq!(
            format_problem(b"a1b2-c3d4-e5f6-0718 123456\nA1B2-C3D4-E5F6-0718 654321\n"),
            (
                2,
                FormatProblem::DuplicateCard("a1b2-c3d4-e5f6-0718".into())
            )
        );
    }

    #[test]
    fn pin_file_is_read_from_disk() {
        let path = std::env::temp_dir().join(format!("quorum-pin-test-{}", std::process::id()));
        std::fs::write(&path, b"a1b2-c3d4-e5f6-0718 135790\n").unwrap();
        let source = PinSource::from_options(Some(path.as_path()), None).unwrap();
        std::fs::remove_file(&path).unwrap();
        let pin = source.current_pin("a1b2-c3d4-e5f6-0718").unwrap();
        assert_eq!(pin.as_bytes()[..6], *b"135790");
        let new_pin = source.new_pin("a1b2-c3d4-e5f6-0718").unwrap();
        assert!(new_pin.same_pin(&pin));
    }

    #[test]
    fn missing_pin_file_is_a_read_error_naming_the_file() {
        let error = PinTable::from_file(Path::new("/nonexistent/quorum-pins")).unwrap_err();
        assert!(matches!(error, PinError::Read { .. }));
        assert!(error.to_string().contains("/nonexistent/quorum-pins"));
    }

    #[cfg(unix)]
    #[test]
    fn pin_fd_reads_an_open_descriptor() {
        use std::os::fd::AsRawFd;
        let path = std::env::temp_dir().join(format!("quorum-pinfd-test-{}", std::process::id()));
        std::fs::write(&path, b"864200\n").unwrap();
        let file = std::fs::File::open(&path).unwrap();
        let fd = u32::try_from(file.as_raw_fd()).unwrap();
        let table = PinTable::from_fd(fd).unwrap();
        drop(file);
        std::fs::remove_file(&path).unwrap();
        assert_eq!(
            table.pin_for("1111-2222-3333-4444").unwrap().as_bytes()[..6],
            *b"864200"
        );
    }

    #[test]
    fn both_sources_at_once_are_refused() {
        let error = PinSource::from_options(Some(Path::new("x")), Some(3)).unwrap_err();
        assert!(matches!(error, PinError::ConflictingSources));
    }

    #[test]
    fn oversized_pin_source_is_refused() {
        let big = std::io::repeat(b'1').take(PIN_FILE_MAX as u64 + 1);
        assert!(matches!(
            read_bounded(big, "test"),
            Err(PinError::TooLarge { .. })
        ));
    }

    /// A scripted terminal: answers the prompts in order and records them.
    fn scripted(entries: &[&str]) -> (VecDeque<String>, Vec<String>) {
        (entries.iter().map(|s| s.to_string()).collect(), Vec::new())
    }

    fn run_new_pin(entries: &[&str]) -> (Result<PinBlock, PinError>, Vec<String>, usize) {
        let (mut queue, mut prompts) = scripted(entries);
        let mut complaints = 0;
        let mut ask = |prompt: &str| -> io::Result<Zeroizing<String>> {
            prompts.push(prompt.to_owned());
            Ok(Zeroizing::new(
                queue
                    .pop_front()
                    .expect("prompted more often than scripted"),
            ))
        };
        let result = ask_new_pin_with(&mut ask, "New PIN: ", &mut |_| complaints += 1);
        assert!(queue.is_empty(), "not every scripted entry was asked for");
        (result, prompts, complaints)
    }

    #[test]
    fn new_pin_is_confirmed() {
        let (result, prompts, complaints) = run_new_pin(&["246810", "246810"]);
        assert_eq!(result.unwrap().as_bytes()[..6], *b"246810");
        assert_eq!(prompts, ["New PIN: ", "Repeat the new PIN: "]);
        assert_eq!(complaints, 0);
    }

    #[test]
    fn new_pin_mismatch_asks_again_then_gives_up() {
        let (result, _, complaints) = run_new_pin(&["246810", "246811", "135790", "135790"]);
        assert_eq!(result.unwrap().as_bytes()[..6], *b"135790");
        assert_eq!(complaints, 1);

        let (result, _, complaints) =
            run_new_pin(&["111111", "111112", "222222", "222223", "333333", "333334"]);
        assert!(matches!(result, Err(PinError::TooManyAttempts)));
        assert_eq!(complaints, 2);
    }

    #[test]
    fn invalid_entries_are_reasked() {
        let mut queue: VecDeque<&str> = ["12", "abcdef", "135790"].into();
        let mut complaints = Vec::new();
        let mut ask = |_: &str| -> io::Result<Zeroizing<String>> {
            Ok(Zeroizing::new(queue.pop_front().unwrap().to_owned()))
        };
        let pin = ask_pin_with(&mut ask, "PIN: ", &mut |e| complaints.push(e.to_string())).unwrap();
        assert_eq!(pin.as_bytes()[..6], *b"135790");
        assert_eq!(complaints.len(), 2);
        assert!(complaints.iter().all(|c| !c.contains("abcdef")));
    }

    const PINPAD: PinpadFeatures = PinpadFeatures {
        verify_pin_direct: 0x4233_0006,
        modify_pin_direct: Some(0x4233_0007),
    };

    #[test]
    fn a_pinpad_reader_gets_the_pinpad_unless_the_custodian_says_no() {
        let prompt = PinSource::Prompt;
        let entry = PinEntry::choose(Some(PINPAD), false, &prompt);
        assert!(matches!(entry, PinEntry::Pinpad(f) if f == PINPAD));
        assert!(entry.is_pinpad());
        assert_eq!(entry.describe(), "PIN typed on the reader's pinpad");

        let entry = PinEntry::choose(Some(PINPAD), true, &prompt);
        assert!(matches!(
            entry,
            PinEntry::Host {
                source: PinSource::Prompt,
                pinpad_bypassed: true
            }
        ));
        assert_eq!(
            entry.describe(),
            "PIN typed on this computer (no echo); the reader's pinpad is not used (--no-pinpad)"
        );

        for no_pinpad in [false, true] {
            let entry = PinEntry::choose(None, no_pinpad, &prompt);
            assert!(!entry.is_pinpad());
            assert_eq!(entry.describe(), "PIN typed on this computer (no echo)");
        }
    }

    #[test]
    fn a_pinpad_reader_is_used_even_when_a_pin_file_is_given() {
        let table = PinSource::Table(PinTable::parse(b"135790\n", "PIN file /tmp/pins").unwrap());
        assert!(PinEntry::choose(Some(PINPAD), false, &table).is_pinpad());

        let entry = PinEntry::choose(Some(PINPAD), true, &table);
        assert_eq!(
            entry.describe(),
            "PIN from file /tmp/pins; the reader's pinpad is not used (--no-pinpad)"
        );
        let entry = PinEntry::choose(None, false, &table);
        assert_eq!(entry.describe(), "PIN from file /tmp/pins");
        let fd = PinSource::Table(PinTable::parse(b"135790\n", "PIN file descriptor 3").unwrap());
        let entry = PinEntry::choose(None, false, &fd);
        assert_eq!(entry.describe(), "PIN from file descriptor 3");
    }

    #[test]
    fn pinpad_instructions_name_the_card_and_the_time_limit() {
        let text = pinpad_verify_instructions("a1b2-c3d4-e5f6-0718", 30);
        assert_eq!(
            text,
            "Type the PIN of card a1b2-c3d4-e5f6-0718 on the reader's keypad and press OK \
             (within 30 seconds)."
        );
        let text = pinpad_change_instructions("a1b2-c3d4-e5f6-0718", 0);
        assert!(text.contains("6-12 digits) twice"), "{text}");
        assert!(!text.contains("seconds"), "{text}");
        assert_eq!(PINPAD_TIMEOUT_DEFAULT_SECS, 30);
    }

    #[test]
    fn terminal_failure_suggests_the_non_interactive_sources() {
        let mut ask = |_: &str| -> io::Result<Zeroizing<String>> {
            Err(io::Error::new(io::ErrorKind::NotFound, "no tty"))
        };
        let error = ask_pin_with(&mut ask, "PIN: ", &mut |_| {}).unwrap_err();
        assert!(error.to_string().contains("--pin-file"));
    }

    /// One line of a PIN file in any of its legal forms.
    #[derive(Debug, Clone)]
    enum PinLine {
        Comment(String),
        Blank(String),
        AnyCard(String),
        Card([u8; 8], String),
    }

    prop_compose! {
        /// A valid PIN file: comments, blank lines, at most one any-card PIN and distinct
        /// cards, with stray spaces, tabs, CRLF endings and upper-case fingerprints.
        fn arb_pin_file()(
            comments in proptest::collection::vec("#[ -~]{0,30}", 0..3),
            blanks in proptest::collection::vec("[ \t]{0,3}", 0..3),
            any_card in proptest::option::of("[0-9]{6,12}"),
            cards in proptest::collection::btree_map(any::<[u8; 8]>(), "[0-9]{6,12}", 0..5),
            order in any::<u64>(),
            pad in "[ \t]{0,2}",
            crlf: bool,
            upper: bool,
        ) -> (Vec<u8>, Option<String>, Vec<(String, String)>) {
            let mut lines: Vec<PinLine> = comments.into_iter().map(PinLine::Comment).collect();
            lines.extend(blanks.into_iter().map(PinLine::Blank));
            lines.extend(any_card.clone().map(PinLine::AnyCard));
            lines.extend(cards.iter().map(|(fp, pin)| PinLine::Card(*fp, pin.clone())));
            // a cheap deterministic shuffle
            let n = lines.len();
            for i in (1..n).rev() {
                lines.swap(i, (order.rotate_left(i as u32) % (i as u64 + 1)) as usize);
            }
            let eol = if crlf { "\r\n" } else { "\n" };
            let mut text = String::new();
            for line in &lines {
                match line {
                    PinLine::Comment(c) => text.push_str(c),
                    PinLine::Blank(b) => text.push_str(b),
                    PinLine::AnyCard(pin) => text.push_str(&format!("{pad}{pin}{pad}")),
                    PinLine::Card(fp, pin) => {
                        let fp = fingerprint_of(*fp);
                        let fp = if upper { fp.to_ascii_uppercase() } else { fp };
                        text.push_str(&format!("{pad}{fp} {pad}{pin}"));
                    }
                }
                text.push_str(eol);
            }
            let cards = cards.into_iter().map(|(fp, pin)| (fingerprint_of(fp), pin)).collect();
            (text.into_bytes(), any_card, cards)
        }
    }

    fn fingerprint_of(bytes: [u8; 8]) -> String {
        let h = hex::encode(bytes);
        format!("{}-{}-{}-{}", &h[..4], &h[4..8], &h[8..12], &h[12..])
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        /// Any bytes given as a PIN file are read or refused with a typed error naming a line of the file.
        #[test]
        fn pin_file_parsing_never_panics(text in proptest::collection::vec(any::<u8>(), 0..300)) {
            match PinTable::parse(&text, "test") {
                Ok(_) => {}
                Err(PinError::Format { line, .. }) => {
                    prop_assert!(line >= 1 && line <= 1 + text.iter().filter(|&&b| b == b'\n').count());
                }
                Err(other) => prop_assert!(false, "unexpected error {}", other),
            }
        }

        /// A valid PIN file gives each card its own PIN and every other card the any-card PIN.
        #[test]
        fn valid_pin_files_give_each_card_its_pin(
            (text, any_card, cards) in arb_pin_file(),
            stranger: [u8; 8],
        ) {
            let table = PinTable::parse(&text, "test").unwrap();
            for (fp, pin) in &cards {
                let block = table.pin_for(&fp.to_ascii_uppercase()).unwrap();
                prop_assert_eq!(&block.as_bytes()[..pin.len()], pin.as_bytes());
            }
            let stranger = fingerprint_of(stranger);
            if !cards.iter().any(|(fp, _)| *fp == stranger) {
                let block = table.pin_for(&stranger);
                prop_assert_eq!(
                    block.map(|b| b.as_bytes().to_vec()),
                    any_card.map(|pin| PinBlock::new(&pin).unwrap().as_bytes().to_vec())
                );
            }
        }

        /// A damaged PIN file is read or refused with an error that names a line but shows no PIN.
        #[test]
        fn damaged_pin_files_never_show_a_pin(
            (text, any_card, cards) in arb_pin_file().prop_filter("not empty", |(t, _, _)| !t.is_empty()),
            m in any_mutation(),
        ) {
            let bad = m.apply(&text);
            match PinTable::parse(&bad, "test") {
                Ok(table) => {
                    // whatever was read is one normalised, distinct fingerprint per card
                    for (i, (fp, _)) in table.per_card.iter().enumerate() {
                        prop_assert_eq!(normalise_fingerprint(fp.as_bytes()), Some(fp.clone()));
                        prop_assert!(table.per_card[..i].iter().all(|(f, _)| f != fp));
                    }
                }
                Err(e @ PinError::Format { line, .. }) => {
                    prop_assert!(line >= 1 && line <= 1 + bad.iter().filter(|&&b| b == b'\n').count());
                    let shown = e.to_string();
                    for pin in any_card.iter().chain(cards.iter().map(|(_, pin)| pin)) {
                        prop_assert!(!shown.contains(pin.as_str()), "{}", shown);
                    }
                }
                Err(other) => prop_assert!(false, "unexpected error {}", other),
            }
        }
    }
}
