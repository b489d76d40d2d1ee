//! Where PINs come from: the reader's keypad first, then a [`PinProvider`] on this
//! computer (quorumctl's terminal prompt, or a [`PinTable`] read from a PIN file).
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
//! groups of four hex digits; upper case is accepted). A PIN is printable ASCII without
//! spaces, 6 to 127 characters: a quorum applet card takes 6 to 12 digits, an OpenPGP
//! card's user PIN 6 to 127 characters (letters too); a PIN alone on its line cannot
//! begin with `#` (that line is a comment). Every PIN in the file is checked
//! against the loosest of these rules when the file is read, so a typo fails before any
//! card is touched, and against its card's own rule when that card asks for it, before
//! anything is sent to the card. Error messages name the line or the card, never a PIN.
//! File input is read into zeroizing buffers.

use std::fmt;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use quorum_protocol::apdu::PinpadFeatures;
use quorum_protocol::pin::{Pin, PinError, PinRule, OPENPGP_USER_PIN_MIN, PIN_MAX_LEN};
use zeroize::Zeroizing;

/// Largest PIN file accepted; a real one holds one short line per card.
const PIN_FILE_MAX: usize = 64 * 1024;

/// Hands out the PINs typed or stored on this computer, so that ceremonies never touch a
/// terminal: quorumctl implements it for its prompt, [`PinTable`] for PIN files.
pub trait PinProvider: fmt::Debug {
    /// The existing PIN of the card `card` names, meeting `rule`, the rule of that kind of
    /// card; a file looks the card up by fingerprint and refuses a PIN that breaks the
    /// rule, a keyboard names the custodian and the reader and asks again.
    fn current_pin(&self, card: &PinFor<'_>, rule: PinRule) -> Result<Pin, PinSourceError>;

    /// A PIN to set on the card `card` names, meeting `rule` (a keyboard asks twice, so a
    /// typo cannot lock the card).
    fn new_pin(&self, card: &PinFor<'_>, rule: PinRule) -> Result<Pin, PinSourceError>;

    /// Whether a person types each PIN, so that after a slip a different one may come; a
    /// file would give the same wrong PIN again.
    fn interactive(&self) -> bool;

    /// Where the PINs come from, so the output can say where each PIN is expected.
    fn origin(&self) -> PinOrigin;
}

/// Whose PIN is asked for and where the card is, so that a prompt names the custodian
/// (when known) and the reader, not only a fingerprint; the caller words it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PinFor<'a> {
    /// The custodian's name, when the record or the command gave one (a default
    /// "custodian K" is no name).
    pub custodian: Option<&'a str>,
    /// The card's fingerprint, when known (a blank card being personalised has none yet).
    pub fingerprint: Option<&'a str>,
    /// The reader the card is in.
    pub reader: &'a str,
}

impl<'a> PinFor<'a> {
    /// The card with fingerprint `fingerprint` in `reader`, its custodian unnamed.
    pub fn card(fingerprint: &'a str, reader: &'a str) -> PinFor<'a> {
        PinFor {
            custodian: None,
            fingerprint: Some(fingerprint),
            reader,
        }
    }

    /// The same card, named after its custodian when `name` is a real name.
    pub fn named(self, name: Option<&'a str>) -> PinFor<'a> {
        PinFor {
            custodian: name.filter(|n| !n.trim().is_empty()),
            ..self
        }
    }
}

/// Where the PINs of this computer come from, so that the output names the source and
/// errors name the file or descriptor; the caller words it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "kind", content = "at", rename_all = "snake_case")]
pub enum PinOrigin {
    /// Typed on this computer's keyboard, without echo.
    Keyboard,
    /// A PIN file.
    File(PathBuf),
    /// An inherited file descriptor (a pipe keeps PINs off disk).
    Fd(u32),
}

impl fmt::Display for PinOrigin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PinOrigin::Keyboard => write!(f, "the keyboard of this computer"),
            PinOrigin::File(path) => write!(f, "PIN file {}", path.display()),
            PinOrigin::Fd(fd) => write!(f, "PIN file descriptor {fd}"),
        }
    }
}

/// Which way the PIN of one card travels, so that the output says where it is expected.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum PinPath {
    /// Typed on the reader's PIN pad: it never enters this computer.
    Pinpad,
    /// Typed on this computer or read from a PIN file or descriptor.
    Host {
        /// Where the PIN comes from.
        origin: PinOrigin,
        /// The reader has a PIN pad that the custodian chose not to use.
        pinpad_bypassed: bool,
    },
}

/// Why no PIN came from this computer; never contains a PIN.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PinSourceError {
    /// The PIN breaks the PIN rules.
    #[error(transparent)]
    Rule(#[from] PinError),
    /// The confirmation of a new PIN differed from the first entry.
    #[error("the two entries of the new PIN differ; enter the same PIN twice")]
    Mismatch,
    /// Interactive entry failed validation too many times in a row.
    #[error("no valid PIN after {attempts} attempts")]
    TooManyAttempts {
        /// How many entries were refused.
        attempts: usize,
    },
    /// The terminal could not be used for PIN entry.
    #[error("cannot read a PIN from the terminal ({0})")]
    Terminal(#[source] io::Error),
    /// The user interrupted PIN entry (Ctrl-C, or the end of input).
    #[error("PIN entry was interrupted")]
    Interrupted,
    /// A PIN file or descriptor could not be read.
    #[error("cannot read PINs from {origin}: {error}")]
    Read {
        /// Which file or descriptor.
        origin: PinOrigin,
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
        origin: PinOrigin,
    },
    /// A line of a PIN file is malformed.
    #[error("{origin}, line {line}: {problem}; lines are `PIN` (any card) or `FINGERPRINT PIN` (one card)")]
    Format {
        /// Which file or descriptor.
        origin: PinOrigin,
        /// 1-based line number.
        line: usize,
        /// What is wrong with the line (never its content).
        problem: FormatProblem,
    },
    /// The PIN a file or descriptor gives a card breaks the rule of that kind of card.
    #[error("{origin} gives card {fingerprint} a PIN that breaks {rule}: {error}; nothing was sent to the card")]
    CardRule {
        /// Which file or descriptor.
        origin: PinOrigin,
        /// The card the PIN is for.
        fingerprint: String,
        /// The card's rule.
        rule: PinRule,
        /// What is wrong with the PIN (never the PIN).
        error: PinError,
    },
    /// The PIN source has no PIN for this card.
    #[error("{origin} has no PIN for card {fingerprint}; add a line `{fingerprint} PIN` or a line with a PIN for any card")]
    NoPinForCard {
        /// Which file or descriptor.
        origin: PinOrigin,
        /// The card that needed a PIN.
        fingerprint: String,
    },
    /// Both a PIN file and a PIN descriptor were given.
    #[error("PINs were given both in a file and on a descriptor; only one source is used")]
    ConflictingSources,
    /// A PIN descriptor on a platform without /dev/fd.
    #[error("PINs can be read from a file descriptor on Unix-like systems only")]
    FdUnsupported,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FormatProblem {
    /// The PIN on the line is shorter or longer than any card's PIN.
    #[error("the PIN has fewer than {OPENPGP_USER_PIN_MIN} or more than {PIN_MAX_LEN} characters")]
    PinLength,
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

/// PINs read from a file or descriptor, so that scripts and tests run without a terminal.
pub struct PinTable {
    origin: PinOrigin,
    any_card: Option<Pin>,
    per_card: Vec<(String, Pin)>,
}

impl PinTable {
    /// Parses PIN-file text (see the module documentation); `origin` names it in errors.
    pub fn parse(text: &[u8], origin: PinOrigin) -> Result<PinTable, PinSourceError> {
        let mut table = PinTable {
            origin: origin.clone(),
            any_card: None,
            per_card: Vec::new(),
        };
        for (index, raw_line) in text.split(|&b| b == b'\n').enumerate() {
            let line = raw_line.trim_ascii();
            if line.is_empty() || line[0] == b'#' {
                continue;
            }
            let fail = |problem| PinSourceError::Format {
                origin: origin.clone(),
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
    pub fn from_file(path: &Path) -> Result<PinTable, PinSourceError> {
        let origin = PinOrigin::File(path.to_owned());
        let file = std::fs::File::open(path).map_err(|error| PinSourceError::Read {
            origin: origin.clone(),
            error,
        })?;
        let text = read_bounded(file, &origin)?;
        PinTable::parse(&text, origin)
    }

    /// Reads PINs from an inherited descriptor given with `--pin-fd N` (a pipe keeps PINs off disk).
    pub fn from_fd(fd: u32) -> Result<PinTable, PinSourceError> {
        if !cfg!(unix) {
            return Err(PinSourceError::FdUnsupported);
        }
        let origin = PinOrigin::Fd(fd);
        // Opening /dev/fd/N reads the inherited pipe or file without any unsafe code.
        let file =
            std::fs::File::open(format!("/dev/fd/{fd}")).map_err(|error| PinSourceError::Read {
                origin: origin.clone(),
                error,
            })?;
        let text = read_bounded(file, &origin)?;
        PinTable::parse(&text, origin)
    }

    /// The PIN for the card with this fingerprint: its own line, else the any-card line.
    pub fn pin_for(&self, fingerprint: &str) -> Option<Pin> {
        let wanted = normalise_fingerprint(fingerprint.as_bytes());
        self.per_card
            .iter()
            .find(|(f, _)| Some(f) == wanted.as_ref())
            .map(|(_, pin)| pin.clone())
            .or_else(|| self.any_card.clone())
    }

    /// Like [`PinTable::pin_for`], with an error that says how to fix the file.
    pub fn require_pin_for(&self, fingerprint: &str) -> Result<Pin, PinSourceError> {
        self.pin_for(fingerprint)
            .ok_or_else(|| PinSourceError::NoPinForCard {
                origin: self.origin.clone(),
                fingerprint: fingerprint.to_owned(),
            })
    }

    /// The PIN for this card if it meets the card's rule; the error names the card and
    /// the rule, never the PIN, so the file can be fixed before any try is spent.
    pub fn require_pin_by_rule(
        &self,
        fingerprint: &str,
        rule: PinRule,
    ) -> Result<Pin, PinSourceError> {
        let pin = self.require_pin_for(fingerprint)?;
        pin.check(rule).map_err(|error| PinSourceError::CardRule {
            origin: self.origin.clone(),
            fingerprint: fingerprint.to_owned(),
            rule,
            error,
        })?;
        Ok(pin)
    }

    /// Where the PINs came from, for messages.
    pub fn origin(&self) -> &PinOrigin {
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

/// How a PIN file finds a card: by fingerprint; a card without one yet (a blank card being
/// personalised) takes the line for any card, and errors name its reader.
fn file_key(card: &PinFor<'_>) -> String {
    match card.fingerprint {
        Some(fp) => fp.to_owned(),
        None => format!("the card in \"{}\"", card.reader),
    }
}

/// The PIN table of `--pin-file` / `--pin-fd`; `None` when neither is given (the PINs are
/// then typed).
pub fn pin_table(
    pin_file: Option<&Path>,
    pin_fd: Option<u32>,
) -> Result<Option<PinTable>, PinSourceError> {
    match (pin_file, pin_fd) {
        (Some(_), Some(_)) => Err(PinSourceError::ConflictingSources),
        (Some(path), None) => Ok(Some(PinTable::from_file(path)?)),
        (None, Some(fd)) => Ok(Some(PinTable::from_fd(fd)?)),
        (None, None) => Ok(None),
    }
}

impl PinProvider for PinTable {
    fn current_pin(&self, card: &PinFor<'_>, rule: PinRule) -> Result<Pin, PinSourceError> {
        self.require_pin_by_rule(&file_key(card), rule)
    }

    fn new_pin(&self, card: &PinFor<'_>, rule: PinRule) -> Result<Pin, PinSourceError> {
        self.require_pin_by_rule(&file_key(card), rule)
    }

    fn interactive(&self) -> bool {
        false
    }

    fn origin(&self) -> PinOrigin {
        self.origin.clone()
    }
}

#[derive(Debug, Clone, Copy)]
pub enum PinEntry<'a> {
    /// Typed on the reader's PIN pad: the reader inserts it into the APDU itself.
    Pinpad(PinpadFeatures),
    /// Typed on this computer (no echo) or read from a PIN file or descriptor.
    Host {
        /// Where the PINs come from.
        source: &'a dyn PinProvider,
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
        source: &'a dyn PinProvider,
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

    /// The path taken, for the output, so the custodian sees where the PIN is expected.
    pub fn path(&self) -> PinPath {
        match self {
            PinEntry::Pinpad(_) => PinPath::Pinpad,
            PinEntry::Host {
                source,
                pinpad_bypassed,
            } => PinPath::Host {
                origin: source.origin(),
                pinpad_bypassed: *pinpad_bypassed,
            },
        }
    }
}

/// Turns one PIN field of a PIN file into a PIN that some card's rule allows (the card's
/// own rule is checked when it asks), naming the problem without the PIN.
fn file_pin(field: &[u8]) -> Result<Pin, FormatProblem> {
    let loosest = PinRule::OpenPgpUser;
    match loosest.check(field).and_then(|()| Pin::from_bytes(field)) {
        Ok(pin) => Ok(pin),
        Err(PinError::Unprintable) => Err(FormatProblem::NotAscii),
        Err(_) => Err(FormatProblem::PinLength),
    }
}

/// `a1b2-c3d4-e5f6-0718` in lower case, or `None` if the text is not a fingerprint.
pub(crate) fn normalise_fingerprint(text: &[u8]) -> Option<String> {
    let groups: Vec<&[u8]> = text.split(|&b| b == b'-').collect();
    let well_formed = groups.len() == 4
        && groups
            .iter()
            .all(|g| g.len() == 4 && g.iter().all(u8::is_ascii_hexdigit));
    well_formed.then(|| String::from_utf8_lossy(text).to_ascii_lowercase())
}

/// Reads a whole PIN source into one preallocated zeroizing buffer (no reallocation copies).
fn read_bounded(
    mut source: impl Read,
    origin: &PinOrigin,
) -> Result<Zeroizing<Vec<u8>>, PinSourceError> {
    crate::secret_io::read_bounded(&mut source, PIN_FILE_MAX)
        .map_err(|error| PinSourceError::Read {
            origin: origin.clone(),
            error,
        })?
        .ok_or_else(|| PinSourceError::TooLarge {
            origin: origin.clone(),
        })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use proptest::prelude::*;
    use quorum_protocol::apdu::part10::DEFAULT_TIMEOUT_SECS as PINPAD_TIMEOUT_DEFAULT_SECS;
    use quorum_protocol::mutation::any_mutation;

    /// The origin the tests give their PIN tables.
    pub(crate) fn test_file() -> PinOrigin {
        PinOrigin::File("test".into())
    }

    /// A PIN provider standing for a person at the keyboard: answers in order.
    #[derive(Debug, Default)]
    pub(crate) struct Typed(pub std::cell::RefCell<std::collections::VecDeque<&'static str>>);

    impl PinProvider for Typed {
        fn current_pin(&self, _: &PinFor<'_>, rule: PinRule) -> Result<Pin, PinSourceError> {
            let typed = self
                .0
                .borrow_mut()
                .pop_front()
                .expect("asked for more PINs than typed");
            let pin = Pin::new(typed)?;
            pin.check(rule)?;
            Ok(pin)
        }

        fn new_pin(&self, card: &PinFor<'_>, rule: PinRule) -> Result<Pin, PinSourceError> {
            self.current_pin(card, rule)
        }

        fn interactive(&self) -> bool {
            true
        }

        fn origin(&self) -> PinOrigin {
            PinOrigin::Keyboard
        }
    }

    #[test]
    fn errors_never_show_the_pin() {
        let error = PinTable::parse(b"a1b2-c3d4-e5f6-0718 9876x\n", test_file()).unwrap_err();
        assert!(!error.to_string().contains("9876x"), "{error}");
        let table = PinTable::parse(b"a1b2-c3d4-e5f6-0718 98765x\n", test_file()).unwrap();
        let error = table
            .current_pin(&PinFor::card("a1b2-c3d4-e5f6-0718", "R"), PinRule::Applet)
            .unwrap_err();
        assert!(!error.to_string().contains("98765x"), "{error}");
    }

    #[test]
    fn table_gives_per_card_pins_and_a_default() {
        let text = b"# comment\n\n  111111  \r\nA1B2-c3d4-e5f6-0718 222222\r\nffff-0000-1111-2222\t333333\n";
        let table = PinTable::parse(text, test_file()).unwrap();
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
        let table = PinTable::parse(b"a1b2-c3d4-e5f6-0718 222222\n", test_file()).unwrap();
        assert!(table.pin_for("0000-0000-0000-0000").is_none());
        let error = table.require_pin_for("0000-0000-0000-0000").unwrap_err();
        assert!(matches!(error, PinSourceError::NoPinForCard { .. }));
        assert!(error.to_string().contains("0000-0000-0000-0000"));
    }

    fn format_problem(text: &[u8]) -> (usize, FormatProblem) {
        match PinTable::parse(text, test_file()) {
            Err(PinSourceError::Format { line, problem, .. }) => (line, problem),
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
        let too_long = format!("#\n{}\n", "x".repeat(128));
        assert_eq!(
            format_problem(too_long.as_bytes()),
            (2, FormatProblem::PinLength)
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
        let source = pin_table(Some(path.as_path()), None).unwrap().unwrap();
        std::fs::remove_file(&path).unwrap();
        let pin = source
            .current_pin(&PinFor::card("a1b2-c3d4-e5f6-0718", "R"), PinRule::Applet)
            .unwrap();
        assert_eq!(pin.as_bytes(), b"135790");
        let new_pin = source
            .new_pin(&PinFor::card("a1b2-c3d4-e5f6-0718", "R"), PinRule::Applet)
            .unwrap();
        assert!(new_pin.same_pin(&pin));
    }

    #[test]
    fn a_pin_file_gives_an_openpgp_card_a_passphrase_and_refuses_it_for_an_applet_card() {
        let text = b"a1b2-c3d4-e5f6-0718 tr0ub4dor-passphrase\nffff-0000-1111-2222 246801\n";
        let table = PinTable::parse(text, test_file()).unwrap();
        let pin = table
            .current_pin(
                &PinFor::card("a1b2-c3d4-e5f6-0718", "R"),
                PinRule::OpenPgpUser,
            )
            .unwrap();
        assert_eq!(pin.as_bytes(), b"tr0ub4dor-passphrase");
        let error = table
            .current_pin(&PinFor::card("A1B2-C3D4-E5F6-0718", "R"), PinRule::Applet)
            .unwrap_err();
        assert!(
            matches!(
                &error,
                PinSourceError::CardRule {
                    rule: PinRule::Applet,
                    error: PinError::NotDigits,
                    ..
                }
            ),
            "{error}"
        );
        let shown = error.to_string();
        assert!(shown.contains("A1B2-C3D4-E5F6-0718"), "{shown}");
        assert!(shown.contains("6 to 12 digits"), "{shown}");
        assert!(!shown.contains("tr0ub4dor"), "{shown}");
        assert!(!shown.contains("--"), "{shown}");
        // Digits serve both kinds of card.
        for rule in [PinRule::Applet, PinRule::OpenPgpUser] {
            assert!(table
                .new_pin(&PinFor::card("ffff-0000-1111-2222", "R"), rule)
                .is_ok());
        }
        // 13 digits: an OpenPGP PIN, too long for the applet.
        let table = PinTable::parse(b"1234567890123\n", test_file()).unwrap();
        assert!(table
            .current_pin(
                &PinFor::card("ffff-0000-1111-2222", "R"),
                PinRule::OpenPgpUser
            )
            .is_ok());
        assert!(matches!(
            table.new_pin(&PinFor::card("ffff-0000-1111-2222", "R"), PinRule::Applet),
            Err(PinSourceError::CardRule {
                error: PinError::Length,
                ..
            })
        ));
    }

    #[test]
    fn a_pin_file_takes_pins_of_6_to_127_characters() {
        let longest = format!("a1b2-c3d4-e5f6-0718 {}\n", "Z".repeat(127));
        let table = PinTable::parse(longest.as_bytes(), test_file()).unwrap();
        assert_eq!(
            table.pin_for("a1b2-c3d4-e5f6-0718").unwrap().as_bytes(),
            "Z".repeat(127).as_bytes()
        );
        assert_eq!(format_problem(b"abcde\n"), (1, FormatProblem::PinLength));
        assert!(PinTable::parse(b"p@ss-w0rd!\n", test_file()).is_ok());
    }

    #[test]
    fn the_typed_test_source_keeps_to_the_rule_too() {
        let typed = Typed(std::cell::RefCell::new(["tr0ub4dor"].into()));
        assert!(matches!(
            typed.current_pin(&PinFor::card("fp", "R"), PinRule::Applet),
            Err(PinSourceError::Rule(PinError::NotDigits))
        ));
    }

    #[test]
    fn missing_pin_file_is_a_read_error_naming_the_file() {
        let error = PinTable::from_file(Path::new("/nonexistent/quorum-pins")).unwrap_err();
        assert!(matches!(error, PinSourceError::Read { .. }));
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
        let error = pin_table(Some(Path::new("x")), Some(3)).unwrap_err();
        assert!(matches!(error, PinSourceError::ConflictingSources));
    }

    #[test]
    fn oversized_pin_source_is_refused() {
        let big = std::io::repeat(b'1').take(PIN_FILE_MAX as u64 + 1);
        assert!(matches!(
            read_bounded(big, &test_file()),
            Err(PinSourceError::TooLarge { .. })
        ));
    }

    const PINPAD: PinpadFeatures = PinpadFeatures {
        verify_pin_direct: 0x4233_0006,
        modify_pin_direct: Some(0x4233_0007),
        tlv_properties: None,
    };

    #[test]
    fn a_pinpad_reader_gets_the_pinpad_unless_the_custodian_says_no() {
        let prompt = Typed::default();
        let entry = PinEntry::choose(Some(PINPAD), false, &prompt);
        assert!(matches!(entry, PinEntry::Pinpad(f) if f == PINPAD));
        assert!(entry.is_pinpad());
        assert_eq!(entry.path(), PinPath::Pinpad);

        let entry = PinEntry::choose(Some(PINPAD), true, &prompt);
        assert!(matches!(
            entry,
            PinEntry::Host {
                pinpad_bypassed: true,
                ..
            }
        ));
        assert_eq!(
            entry.path(),
            PinPath::Host {
                origin: PinOrigin::Keyboard,
                pinpad_bypassed: true
            }
        );

        for no_pinpad in [false, true] {
            let entry = PinEntry::choose(None, no_pinpad, &prompt);
            assert!(!entry.is_pinpad());
            assert_eq!(
                entry.path(),
                PinPath::Host {
                    origin: PinOrigin::Keyboard,
                    pinpad_bypassed: false
                }
            );
        }
    }

    #[test]
    fn a_pinpad_reader_is_used_even_when_a_pin_file_is_given() {
        let pins = PinOrigin::File("/tmp/pins".into());
        let table = PinTable::parse(b"135790\n", pins.clone()).unwrap();
        assert!(PinEntry::choose(Some(PINPAD), false, &table).is_pinpad());

        let entry = PinEntry::choose(Some(PINPAD), true, &table);
        assert_eq!(
            entry.path(),
            PinPath::Host {
                origin: pins.clone(),
                pinpad_bypassed: true
            }
        );
        let entry = PinEntry::choose(None, false, &table);
        assert_eq!(
            entry.path(),
            PinPath::Host {
                origin: pins,
                pinpad_bypassed: false
            }
        );
        let fd = PinTable::parse(b"135790\n", PinOrigin::Fd(3)).unwrap();
        let entry = PinEntry::choose(None, false, &fd);
        assert_eq!(
            entry.path(),
            PinPath::Host {
                origin: PinOrigin::Fd(3),
                pinpad_bypassed: false
            }
        );
    }

    #[test]
    fn the_pinpad_time_limit_defaults_to_30_seconds() {
        assert_eq!(PINPAD_TIMEOUT_DEFAULT_SECS, 30);
    }

    #[test]
    fn errors_name_their_source_and_no_option() {
        let errors = [
            PinSourceError::Terminal(io::Error::other("no tty")),
            PinSourceError::ConflictingSources,
            PinSourceError::FdUnsupported,
            PinSourceError::TooManyAttempts { attempts: 3 },
            PinSourceError::TooLarge {
                origin: PinOrigin::Fd(4),
            },
        ];
        for e in &errors {
            assert!(!e.to_string().contains("--"), "{e}");
        }
        assert_eq!(
            errors[4].to_string(),
            "PIN file descriptor 4 is larger than 65536 bytes; a PIN file holds one short line per card"
        );
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
            any_card in proptest::option::of(prop_oneof!["[0-9]{6,12}", "[!\"$-~][!-~]{5,40}"]),
            cards in proptest::collection::btree_map(
                any::<[u8; 8]>(),
                prop_oneof!["[0-9]{6,12}", "[!-~]{6,40}"],
                0..5,
            ),
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
            match PinTable::parse(&text, test_file()) {
                Ok(_) => {}
                Err(PinSourceError::Format { line, .. }) => {
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
            let table = PinTable::parse(&text, test_file()).unwrap();
            for (fp, pin) in &cards {
                let block = table.pin_for(&fp.to_ascii_uppercase()).unwrap();
                prop_assert_eq!(&block.as_bytes()[..pin.len()], pin.as_bytes());
            }
            let stranger = fingerprint_of(stranger);
            if !cards.iter().any(|(fp, _)| *fp == stranger) {
                let block = table.pin_for(&stranger);
                prop_assert_eq!(
                    block.map(|b| b.as_bytes().to_vec()),
                    any_card.map(|pin| pin.into_bytes())
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
            match PinTable::parse(&bad, test_file()) {
                Ok(table) => {
                    // whatever was read is one normalised, distinct fingerprint per card
                    for (i, (fp, _)) in table.per_card.iter().enumerate() {
                        prop_assert_eq!(normalise_fingerprint(fp.as_bytes()), Some(fp.clone()));
                        prop_assert!(table.per_card[..i].iter().all(|(f, _)| f != fp));
                    }
                }
                Err(e @ PinSourceError::Format { line, .. }) => {
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
