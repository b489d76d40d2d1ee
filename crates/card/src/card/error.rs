//! What a card operation can fail with, each worded with what happened and, where the
//! card itself tells, what the custodian can do (advice naming the caller's options, such
//! as typing the PIN on the computer instead of a PIN pad, is the caller's to add).

use crate::transport::TransportError;
use quorum_protocol::apdu::{LifeCycle, ParseError, StatusWord, StreamError, PROTOCOL_MAJOR};
use quorum_protocol::pin::{PIN_MAX_DIGITS, PIN_MIN_DIGITS};

/// The PIN's state as VERIFY without data reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PinState {
    /// Validated in this session.
    Validated,
    /// Not validated; this many wrong entries remain before it blocks.
    NotValidated {
        /// Tries left.
        tries_left: u8,
    },
    /// Blocked: only a factory reset helps.
    Blocked,
}

/// Why a card operation failed, worded so that a custodian knows what to do next.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CardError {
    /// The reader, pcscd or the connection failed.
    #[error(transparent)]
    Transport(#[from] TransportError),
    /// A dry run holds the card read-only: this command needs a PIN or changes the card, so
    /// it was not sent.
    #[error("was not sent {command}: a dry run asks no PIN and changes no card")]
    NotInDryRun {
        /// The command refused.
        command: &'static str,
    },
    /// UNSEAL P1 = 01 asked of a card whose SELECT gave no record header (protocol 1.1 or
    /// older, an OpenPGP card): a host bug, never a card's answer.
    #[error("this card gave no record header at SELECT (protocol 1.1 or older, or an OpenPGP card), so it cannot answer its sealed part with UNSEAL; open its share with GET RECORD and UNSEAL")]
    WithoutHeader,
    /// SELECT found no quorum applet.
    #[error("this card has no quorum applet (SELECT answered 6A82): insert a quorum custodian card, or install the applet on this one")]
    AppletNotFound,
    /// The applet speaks another major protocol version.
    #[error("the card's applet speaks protocol {major}.{minor}, this quorumctl speaks {PROTOCOL_MAJOR}.x: use a quorumctl release made for that applet")]
    UnsupportedProtocol {
        /// Major version reported by SELECT.
        major: u8,
        /// Minor version reported by SELECT.
        minor: u8,
    },
    /// `6985`: not allowed in the card's life-cycle state.
    #[error("{command} is not allowed while the card is {}: {}", state_name(*.state), state_advice(.command, *.state))]
    WrongState {
        /// The refused command.
        command: &'static str,
        /// The state GET STATUS reported right after (None if it could not be read).
        state: Option<LifeCycle>,
    },
    /// `6982`: the PIN is not validated in this session.
    #[error("{command} needs the PIN, and the card says it is not verified in this session (the card was reset or re-selected after VERIFY?); repeat the operation")]
    PinNotVerified {
        /// The refused command.
        command: &'static str,
    },
    /// `63Cx`: wrong PIN.
    #[error("{}", wrong_pin_message(*.tries_left))]
    WrongPin {
        /// Tries left; 0 means the PIN is now blocked.
        tries_left: u8,
    },
    /// The PIN breaks the rule of this kind of card; refused before any APDU, no try used.
    #[error("{0}; nothing was sent to the card, no try was used")]
    PinRule(quorum_protocol::pin::PinError),
    /// `6983`: the PIN is blocked.
    #[error("the card's PIN is blocked (no tries left): this card can no longer open its share; recover with the other custodians' cards, and factory-reset this one (erasing its key and record) to use it again")]
    PinBlocked,
    /// `6A84`: the record does not fit.
    #[error("the record ({size} bytes) is larger than the card's record capacity; the card keeps its previous record. Shorten the set (label, names, master secret) or use a card installed with a larger capacity")]
    RecordTooLarge {
        /// public + sealed bytes.
        size: usize,
    },
    /// `6A80`: the card refused the data.
    #[error("the card rejected the data of {command} as malformed (6A80); host and card disagree about the protocol, or the data is corrupted (for UNSEAL: the record's sealed part may be damaged)")]
    InvalidData {
        /// The refused command.
        command: &'static str,
    },
    /// `6700`: the card refused a length.
    #[error("the card rejected the length of {command} (6700); host and card disagree about the protocol or the record's size")]
    WrongLength {
        /// The refused command.
        command: &'static str,
    },
    /// `6883`: a PUT RECORD chain was interrupted.
    #[error("the card aborted a record write that another command interrupted (6883) before {command}; repeat the write, the card kept its previous record")]
    ChainAborted {
        /// The command that interrupted the chain.
        command: &'static str,
    },
    /// The record to write is malformed (caught before sending).
    #[error("the record to write is malformed: {0}")]
    InvalidRecordStream(#[from] StreamError),
    /// A response that does not have the documented layout.
    #[error("the card's answer to {command} is malformed: {source}; the card may run an incompatible applet")]
    MalformedResponse {
        /// The command answered.
        command: &'static str,
        /// What was wrong.
        #[source]
        source: ParseError,
    },
    /// More output than any quorum response has.
    #[error("the card kept announcing more output for {command} after {limit} GET RESPONSE continuations; it is not a conforming quorum applet")]
    ResponseTooLong {
        /// The command answered.
        command: &'static str,
        /// Continuations fetched before giving up.
        limit: usize,
    },
    /// The reader has no PIN pad quorum can use.
    #[error("the reader has no PIN pad (it offers no PC/SC Part 10 VERIFY PIN DIRECT); the PIN has to be typed on this computer")]
    NoPinpad,
    /// The PIN pad verifies PINs but cannot change them.
    #[error("the reader's PIN pad can check a PIN but not change one (no PC/SC Part 10 MODIFY PIN DIRECT); nothing was changed")]
    PinpadCannotChange,
    /// `6401`: the custodian pressed Cancel on the reader.
    #[error("the PIN entry was cancelled on the reader (6401); nothing was sent to the card, no try was used and nothing was changed. Repeat the command to try again")]
    PinpadCancelled,
    /// `6400`: nothing was typed before the reader gave up.
    #[error("{}", pinpad_timeout_message(*.seconds))]
    PinpadTimeout {
        /// The timeout asked for (0 = the reader's own).
        seconds: u8,
    },
    /// `6402`: the new PIN and its confirmation differ.
    #[error("the new PIN and its confirmation typed on the reader differ (6402); the PIN was not changed and no try was used. Repeat the command and type the same new PIN twice")]
    PinpadMismatch,
    /// `6403`: the PIN typed does not have 6 to 12 digits.
    #[error("the PIN typed on the reader does not have {PIN_MIN_DIGITS} to {PIN_MAX_DIGITS} digits (6403); nothing was sent to the card and no try was used. Repeat the command")]
    PinpadLength,
    /// `6A80` on the PIN pad path: the reader built a block the card refuses.
    #[error("the card refused the PIN block the reader built for {command} (6A80); no try was used. Either fewer than {PIN_MIN_DIGITS} digits were typed, or the reader does not fill quorum's 12-byte ASCII PIN block as asked: type {PIN_MIN_DIGITS} to {PIN_MAX_DIGITS} digits")]
    PinpadBlockRejected {
        /// VERIFY or CHANGE REFERENCE DATA.
        command: &'static str,
    },
    /// `6B80`: the reader's firmware refused the PIN entry request itself.
    #[error("the reader refused quorum's PIN entry request (6B80): its firmware does not support quorum's PIN format (6 to 12 ASCII digits in a 12-byte block); nothing was sent to the card")]
    PinpadRefused,
    /// An OpenPGP card that cannot hold a quorum share as it is (apdu-spec/openpgp.md).
    #[error("this OpenPGP card cannot be a quorum custodian card: {0}")]
    OpenPgpUnsuitable(Unsuitable),
    /// An OpenPGP card's public record is not stored on it but in the set's bundle, and the
    /// host was given no record that its header names.
    #[error("this OpenPGP card holds share {index} of set {} version {set_version}, but its public record is kept in the set's bundle, not on the card: give the bundle of that set", hex::encode(.set_id))]
    RecordInBundle {
        /// The set id the card's header names.
        set_id: [u8; 16],
        /// The set version the card's header names.
        set_version: u16,
        /// The share index the card's header names.
        index: u8,
    },
    /// An applet operation an OpenPGP card does not have in mapping 1 (never a silent success).
    #[error("an OpenPGP card cannot {operation} through quorum: {reason}")]
    NotOnOpenPgp {
        /// What was asked, in words ("be initialised", "prepare a new key").
        operation: &'static str,
        /// Why, and what the custodian does instead.
        reason: &'static str,
    },
    /// SELECT of the OpenPGP application failed: the card has none.
    #[error("this card has no OpenPGP application (SELECT answered {sw}): insert an OpenPGP card or a quorum custodian card")]
    NotOpenPgp {
        /// The status word SELECT answered.
        sw: StatusWord,
    },
    /// The PIN pad reader refused the OpenPGP PIN entry itself (6403, 6B80): nothing reached the card.
    #[error("the reader refused the PIN entry for the OpenPGP card ({sw}): the PIN typed does not have the card's length (at least 6 characters), or the reader's firmware does not take a variable-length ASCII PIN; nothing was sent to the card and no try was used")]
    OpenPgpPinpadRefused {
        /// The status word the reader answered.
        sw: StatusWord,
    },
    /// The reader's keypad takes fewer characters than an OpenPGP PIN has at least.
    #[error("the reader's keypad takes at most {reader} characters, fewer than the OpenPGP card's PIN has at least ({min}): the PIN cannot be typed on this reader; type it on this computer instead, or use another reader; nothing was sent to the card")]
    OpenPgpPinpadTooShort {
        /// bMaxPINSize the reader states.
        reader: u8,
        /// The spec's minimum for the PIN asked.
        min: u8,
    },
    /// `6983` (or `63C0`): the OpenPGP card's user PIN is blocked.
    #[error("the OpenPGP card's user PIN is blocked (no tries left): it cannot open its share until the PIN is unblocked with the card's resetting code or admin PIN (for example with gpg --card-edit, or the card vendor's tool; quorum never does this); meanwhile recover with the other custodians' cards")]
    OpenPgpPinBlocked,
    /// `63Cx` after VERIFY 83: the OpenPGP card's admin PIN (PW3) is wrong.
    #[error("{}", wrong_admin_pin_message(*.tries_left))]
    OpenPgpWrongAdminPin {
        /// Admin PIN tries left; 0 means it is now blocked.
        tries_left: u8,
    },
    /// `6983` after VERIFY 83: the OpenPGP card's admin PIN is blocked.
    #[error("the OpenPGP card's admin PIN is blocked (no tries left): no key can be generated on it any more; only a reset of the whole OpenPGP application (which erases every key on it, done with the card vendor's tool, never by quorum) makes it usable again")]
    OpenPgpAdminPinBlocked,
    /// `6982` from a command that needs the admin PIN: it is not verified in this session.
    #[error("{command} needs the OpenPGP card's admin PIN, and the card says it is not verified in this session (the card was reset after VERIFY?); repeat the operation")]
    OpenPgpAdminPinNotVerified {
        /// The refused command.
        command: &'static str,
    },
    /// The decryption slot holds a key nobody confirmed to destroy: nothing was generated.
    #[error("the OpenPGP card's decryption slot holds a key{} that was not confirmed for replacement; no key was generated and the card is unchanged", .fingerprint.map(|f| format!(" (OpenPGP fingerprint {f})")).unwrap_or_default())]
    OpenPgpKeyNotConfirmed {
        /// The OpenPGP fingerprint of the key there (C5), if one is stored.
        fingerprint: Option<quorum_protocol::openpgp::Fingerprint>,
    },
    /// `6982` from an OpenPGP card: the user PIN is not verified in this session.
    #[error("{command} needs the OpenPGP card's user PIN, and the card says it is not verified in this session (the card was reset or re-selected after VERIFY?); repeat the operation")]
    OpenPgpPinNotVerified {
        /// The refused command.
        command: &'static str,
    },
    /// `6A88` from an OpenPGP card: the data object or key does not exist.
    #[error("the OpenPGP card has no {what} ({command} answered 6A88)")]
    OpenPgpNotFound {
        /// The command answered.
        command: &'static str,
        /// What was missing, in words.
        what: &'static str,
    },
    /// `6985` from an OpenPGP card: on a YubiKey with a touch policy, the touch did not come.
    #[error("the OpenPGP card refused {command} (6985): if it is a YubiKey with a touch policy for decryption, touch it while it blinks, then repeat the operation")]
    OpenPgpTouch {
        /// The refused command.
        command: &'static str,
    },
    /// An OpenPGP card answer the codec cannot read (GET DATA 6E, the public key, DECIPHER).
    #[error("the OpenPGP card's answer to {command} is malformed: {source}")]
    OpenPgpMalformed {
        /// The command answered.
        command: &'static str,
        /// What was wrong.
        #[source]
        source: quorum_protocol::openpgp::OpenPgpParseError,
    },
    /// What an OpenPGP card gave back after a write differs from what was written.
    #[error("the OpenPGP card's data object {object:04X} does not read back as written: the share is not stored; repeat the write")]
    OpenPgpWriteNotConfirmed {
        /// The private-use data object (0101 or 0103).
        object: u16,
    },
    /// The record to store on an OpenPGP card cannot be split into header and sealed part.
    #[error("the record to write cannot be stored on an OpenPGP card: {0}")]
    OpenPgpRecord(quorum_protocol::record::RecordError),
    /// A point handed to an OpenPGP card's DECIPHER is not a usable curve point (refused on the host).
    #[error(
        "the point for PSO:DECIPHER is not a usable point ({0}); nothing was sent to the card"
    )]
    OpenPgpBadPoint(quorum_protocol::crypto::PointError),
    /// Any other status word, kept raw.
    #[error("{command} failed with status {sw}")]
    UnexpectedStatus {
        /// The refused command.
        command: &'static str,
        /// The status word as received.
        sw: StatusWord,
    },
}

impl CardError {
    /// Whether the PIN is what failed (wrong, blocked, not verified, or its keypad entry
    /// cancelled, timed out or mistyped), as opposed to the card or the connection.
    pub fn is_pin_failure(&self) -> bool {
        matches!(
            self,
            CardError::WrongPin { .. }
                | CardError::PinRule(_)
                | CardError::PinBlocked
                | CardError::PinNotVerified { .. }
                | CardError::PinpadCancelled
                | CardError::PinpadTimeout { .. }
                | CardError::PinpadMismatch
                | CardError::PinpadLength
                | CardError::PinpadBlockRejected { .. }
                | CardError::OpenPgpPinBlocked
                | CardError::OpenPgpPinNotVerified { .. }
                | CardError::OpenPgpWrongAdminPin { .. }
                | CardError::OpenPgpAdminPinBlocked
                | CardError::OpenPgpAdminPinNotVerified { .. }
        )
    }
}

/// Why an OpenPGP card is refused as a custodian card, each named so the custodian can act.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Unsuitable {
    /// The OpenPGP application is older than 3.x, which brought Curve25519.
    SpecVersion {
        /// Major version from the AID.
        major: u8,
        /// Minor version from the AID.
        minor: u8,
    },
    /// Extended capabilities (C0) announce no private-use data objects.
    NoPrivateUseDos,
    /// The private-use data objects are too small for the 81-byte sealed part.
    PrivateUseTooSmall {
        /// Their size from C0 (0 if the card does not say).
        size: u16,
        /// What quorum needs.
        needed: usize,
    },
    /// The KDF-DO (F9) is active: the card wants KDF(PIN), which quorum and pinpads do not send.
    KdfActive {
        /// The KDF algorithm byte.
        algorithm: u8,
    },
    /// The decryption key is present but not cv25519.
    NotCv25519 {
        /// The algorithm ID of C2 (01 RSA, 12 ECDH, …), if any.
        algorithm_id: Option<u8>,
    },
    /// DO 0101 holds another program's data (or a later mapping's): the card is left alone.
    ForeignHeader(quorum_protocol::openpgp::HeaderError),
}

impl std::fmt::Display for Unsuitable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Unsuitable::SpecVersion { major, minor } => write!(
                f,
                "its OpenPGP application is version {major}.{minor}; version 3.x with Curve25519 is needed"
            ),
            Unsuitable::NoPrivateUseDos => f.write_str(
                "it has no private-use data objects (0101-0104) to hold the share",
            ),
            Unsuitable::PrivateUseTooSmall { size, needed } => write!(
                f,
                "its private-use data objects hold {size} bytes, the sealed share needs {needed}"
            ),
            Unsuitable::KdfActive { algorithm } => write!(
                f,
                "its KDF-DO is active (algorithm {algorithm:02X}): the card expects a derived PIN, which quorum and PIN pads do not send; turn KDF off (this resets the card's PINs) or use another card"
            ),
            Unsuitable::NotCv25519 { algorithm_id } => match algorithm_id {
                Some(id) => write!(
                    f,
                    "its decryption key is not cv25519 (algorithm {id:02X}); quorum needs a cv25519 decryption key"
                ),
                None => f.write_str(
                    "its decryption key is not cv25519; quorum needs a cv25519 decryption key",
                ),
            },
            Unsuitable::ForeignHeader(problem) => write!(
                f,
                "{problem}; quorum leaves another program's data alone"
            ),
        }
    }
}

fn state_name(state: Option<LifeCycle>) -> &'static str {
    state.map_or("in a state that could not be read", LifeCycle::name)
}

fn state_advice(command: &str, state: Option<LifeCycle>) -> &'static str {
    match (state, command) {
        (Some(LifeCycle::Blank), _) => "the card is blank; initialise it first",
        (Some(_), "INITIALISE") => {
            "the card is already initialised; only a factory reset (which erases its key and record) makes it blank again"
        }
        (Some(LifeCycle::Personalised), _) => "the card holds no record yet; enroll it in a set first",
        _ => "check the card's state",
    }
}

fn pinpad_timeout_message(seconds: u8) -> String {
    let limit = match seconds {
        0 => "within the reader's time limit".to_owned(),
        n => format!("within {n} seconds"),
    };
    format!("no PIN was typed on the reader's keypad {limit} (6400); nothing was sent to the card, no try was used and nothing was changed. Repeat the command, type the PIN on the reader and finish with its OK key")
}

fn wrong_admin_pin_message(tries_left: u8) -> String {
    match tries_left {
        0 => "wrong admin PIN of the OpenPGP card; the admin PIN is now blocked: no key can be generated on this card any more".to_owned(),
        1 => "wrong admin PIN of the OpenPGP card; 1 try left before the admin PIN blocks (and with it any key generation): make sure of it before trying again".to_owned(),
        n => format!("wrong admin PIN of the OpenPGP card; {n} tries left before it blocks"),
    }
}

fn wrong_pin_message(tries_left: u8) -> String {
    match tries_left {
        0 => "wrong PIN; the PIN is now blocked: this card can no longer open its share until a factory reset, which erases its key and record".to_owned(),
        1 => "wrong PIN; 1 try left before the PIN blocks for good: make sure of the PIN before trying again".to_owned(),
        n => format!("wrong PIN; {n} tries left before the PIN blocks"),
    }
}
