//! quorum's ceremonies (init, enroll, recover, verify, add-card, reshare, change-pin,
//! reset) and card inspections, generic over the reader and card traits of `quorum-card`
//! and built on the I/O-free sharing core of `quorum-protocol`; the ceremony log and
//! secret files. What happens is reported as typed events ([`progress`]) and ends in a
//! typed outcome or a typed [`CeremonyError`]; the caller words them (quorumctl names its
//! own options and commands there). Nothing is printed here.

pub mod add_card;
pub mod bundle_file;
pub mod change_pin;
pub mod dry_run;
pub mod enroll;
#[cfg(test)]
mod in_memory_kit;
pub mod init;
pub mod inspect;
pub mod interrupt;
pub mod log;
#[cfg(test)]
mod openpgp_in_memory;
pub mod pin_step;
pub mod pins;
pub mod plan;
pub mod presence;
pub mod progress;
pub mod recover;
pub mod reset;
pub mod reshare;
pub mod secret_io;
pub mod share;
pub mod verify;

use thiserror::Error;

use quorum_card::card::CardError;
use quorum_card::custodian::CustodianCard;
use quorum_protocol::crypto::{CardKey, PointError};
use quorum_protocol::pin::PinError;

use crate::pins::PinSourceError;
use crate::secret_io::SecretIoError;
use quorum_card::transport::TransportError;
use quorum_protocol::apdu::{CardStatus, LifeCycle, SelectInfo};
use quorum_protocol::record::RecordError;
use quorum_protocol::sharing::{AddCardError, EnrollError, RecoverError};

pub use interrupt::{Interrupt, Never};
pub use pin_step::PinPolicy;
pub use presence::{CardsFrom, Presenter};

use quorum_protocol::record::PublicRecord;

/// What a writing ceremony (enroll, reshare) tells its caller as it goes, so that the
/// ceremony log records, before the first card changes, which set is about to be written
/// to which cards: the evidence `enroll --replace-unfinished` relies on when a ceremony
/// never reaches its end (Ctrl-C, a crash, a power cut).
pub trait Journal {
    /// The set of `record` is about to be written to the cards of `cards` (the keys the
    /// records are sealed to). An error stops the ceremony before any card is written.
    fn starting(&mut self, record: &PublicRecord, cards: &[CardKey]) -> Result<(), String>;

    /// The card whose key is `card` holds its new record, read back and checked.
    fn written(&mut self, card: &CardKey);

    /// Whether starts are recorded somewhere `enroll --replace-unfinished` can read them,
    /// so that messages recommend it only then.
    fn records(&self) -> bool {
        true
    }
}

/// A journal that records nothing: for callers without a ceremony log.
#[derive(Debug, Default)]
pub struct NoJournal;

impl Journal for NoJournal {
    fn starting(&mut self, _: &PublicRecord, _: &[CardKey]) -> Result<(), String> {
        Ok(())
    }

    fn written(&mut self, _: &CardKey) {}

    fn records(&self) -> bool {
        false
    }
}

/// The applet's largest record capacity, its install parameter `7FFF` (applet/README.md).
pub const MAX_RECORD_CAPACITY: usize = 0x7FFF;

/// What to do about a record of `size` bytes that a card cannot hold: the install parameter
/// of a quorum applet that would hold it, or, beyond any card, a smaller set.
pub fn record_room_advice(size: usize) -> String {
    if size <= MAX_RECORD_CAPACITY {
        format!(
            "Install the quorum applet on the cards with a record capacity of at least {size} bytes (`gp --install quorum.cap --params {:04X}`, applet/README.md), or use a shorter master secret, label or names",
            size.max(512)
        )
    } else {
        format!(
            "No quorum card holds a record of {size} bytes (at most {MAX_RECORD_CAPACITY}): use a shorter master secret, label or names, or fewer custodians"
        )
    }
}

/// Why a ceremony stopped: typed, so the caller words it and scripts read it (`Serialize`
/// gives `{"kind": …, "detail": …}`; errors of other crates serialise as their text).
#[derive(Debug, Error, serde::Serialize)]
#[serde(tag = "kind", content = "detail", rename_all = "snake_case")]
pub enum CeremonyError {
    // New variants of presence, PINs, init, change-pin and reset go below this line.
    /// Cards come one by one, so how many a pass needs must be given up front.
    #[error("the cards come one by one, so the number of cards must be given")]
    CountNeeded(presence::CountOf),
    /// init refused the card in the reader, or the card failed the check after it.
    #[error("card {} in \"{reader}\" {why}", card_name(.card, "(blank, no key yet)"))]
    InitRefused {
        /// The card's fingerprint (none on a card without a key).
        card: Option<String>,
        /// Where it is.
        reader: String,
        /// What is wrong.
        why: init::Refusal,
    },
    /// change-pin refused the card in the reader before any PIN was asked.
    #[error("card {} in \"{reader}\" {why}", card_name(.card, "(blank, no key yet)"))]
    ChangePinRefused {
        /// The card's fingerprint (none on a card without a key).
        card: Option<String>,
        /// Where it is.
        reader: String,
        /// What is wrong.
        why: change_pin::Refusal,
    },
    /// The new PIN of a PIN change was refused before anything was sent to the card.
    #[error(transparent)]
    NewPinRefused(pin_step::NewPinRefusal),
    /// A factory reset was refused or stopped; what it did to the card is in `why`.
    #[error("card {} in \"{reader}\" {why}", card_name(.card, "(blank)"))]
    ResetStopped {
        /// The card's fingerprint (none on a blank card).
        card: Option<String>,
        /// Where it is.
        reader: String,
        /// What stopped it and where the card stands.
        why: reset::Stop,
    },

    // New variants of enroll go below this line.
    /// The request and the cards make no set this enrollment can write; nothing was written.
    #[error("{0}")]
    EnrollPlan(enroll::PlanRefused),
    /// With the whole set in sight, cards were refused before any PIN; nothing was written.
    #[error("the set was NOT enrolled: {}", enroll::Rejections(.0))]
    CardsRefused(Vec<enroll::Rejection>),
    /// With the whole set in sight, a card failed at its PIN; nothing was written.
    #[error("the set was NOT enrolled: nothing was written, because card {card} in \"{reader}\": {error}")]
    RegistrationFailed {
        /// The card's fingerprint.
        card: String,
        /// Where it is.
        reader: String,
        /// What failed (not a `#[source]`: the message includes it, as the CLI's does).
        error: Box<CeremonyError>,
    },
    /// A card's record of a new set is larger than the card holds; nothing was written.
    #[error("the set was NOT enrolled: the record for card {card} is {size} bytes but the card holds at most {capacity} bytes; nothing was written. {}", record_room_advice(*.size))]
    RecordTooLarge {
        /// The card's fingerprint.
        card: String,
        /// The record's size in bytes.
        size: usize,
        /// The card's record capacity in bytes.
        capacity: u16,
    },
    /// A freshly written record did not check (read back or opened) on its card.
    #[error("card {card} in \"{reader}\" {problem}")]
    WrittenWrong {
        /// The card's fingerprint.
        card: String,
        /// Where it is.
        reader: String,
        /// What was wrong.
        problem: enroll::WriteCheck,
    },
    /// Writing a card of a new set failed: the set was not enrolled; says which cards changed.
    #[error("the set was NOT enrolled: {0}")]
    EnrollWriteFailed(Box<enroll::WriteFailure>),
    /// The operator stopped an enrollment in its write phase; says which cards hold what.
    #[error("stopped on request (Ctrl-C or a termination signal): {0}")]
    EnrollStopped(enroll::Standing),

    // New variants of reshare go below this line.
    /// A reshare wrote nothing: the set named, the cards gathered or the plan cannot make
    /// the new set safely.
    #[error("{0}")]
    ReshareDeclined(reshare::Declined),
    /// The old set's shares did not make the new set (found before anything is written).
    #[error("{0}; nothing was written")]
    ReshareNotMade(
        #[source]
        #[serde(serialize_with = "crate::inspect::as_text")]
        quorum_protocol::sharing::ReshareError,
    ),
    /// A reshare stopped before its end; says where the sets stand.
    #[error("{0}")]
    ReshareStopped(Box<reshare::Stopped>),

    // New variants of recover, verify, add-card, export-bundle, log and files go below this line.
    /// A recovery stopped without the secret: too few shares, or several sets in sight.
    #[error("cannot recover: {0}")]
    RecoverStopped(recover::Stopped),
    /// add-card stopped: no quorum, no new card or two of them, or the new card's write failed.
    #[error(transparent)]
    AddCardStopped(add_card::Stopped),
    /// export-bundle found no card of the set asked for (or none at all).
    #[error("no card of {} is present, so no bundle was written{}", .set_id.as_ref().map_or_else(|| "any set".to_owned(), |id| format!("set {id}")), .skipped.iter().map(|s| format!("\n  - {s}")).collect::<String>())]
    NoCardOfSet {
        /// The set asked for (hex id), if one was.
        set_id: Option<String>,
        /// The cards left out, each with why.
        skipped: Vec<String>,
    },
    /// Some of the cards checked did not pass (each is reported separately); `pins_only`
    /// when every one that did not pass failed at its PIN.
    #[error("{failed} of {checked} card(s) failed the health check; see above for each card and what to do")]
    ChecksFailed {
        /// The cards that did not pass.
        failed: usize,
        /// The cards checked.
        checked: usize,
        /// Every card that did not pass failed at its PIN.
        pins_only: bool,
    },
    /// Below the card protocol: pcscd, readers, connections.
    #[error(transparent)]
    Transport(
        #[from]
        #[serde(serialize_with = "crate::inspect::as_text")]
        TransportError,
    ),
    /// A card operation failed on the card named.
    #[error("card in \"{reader}\": {source}")]
    Card {
        /// Where the card is.
        reader: String,
        /// What failed.
        #[source]
        #[serde(serialize_with = "crate::inspect::as_text")]
        source: CardError,
    },
    /// PIN entry or the PIN file failed.
    #[error(transparent)]
    Pin(
        #[from]
        #[serde(serialize_with = "crate::inspect::as_text")]
        PinSourceError,
    ),
    /// Reading the master secret or writing a file failed.
    #[error(transparent)]
    SecretIo(
        #[from]
        #[serde(serialize_with = "crate::inspect::as_text")]
        SecretIoError,
    ),
    /// The inputs of an enrollment were refused.
    #[error(transparent)]
    Enroll(
        #[from]
        #[serde(serialize_with = "crate::inspect::as_text")]
        EnrollError,
    ),
    /// A new share could not be issued (always found before any card is written).
    #[error("{0}; nothing was written")]
    AddCard(
        #[from]
        #[serde(serialize_with = "crate::inspect::as_text")]
        AddCardError,
    ),
    /// The shares did not give back the master secret (found before any output is written).
    #[error("{0}; nothing was written")]
    Recover(
        #[from]
        #[serde(serialize_with = "crate::inspect::as_text")]
        RecoverError,
    ),
    /// No reader holds a card.
    #[error("no card is inserted in any reader")]
    NoCards,
    /// The named reader does not exist.
    #[error("no reader named \"{0}\"")]
    NoSuchReader(String),
    /// A part of a reader's name matched several readers.
    #[error("\"{given}\" matches several readers ({}); give more of the name", quoted(.matches))]
    AmbiguousReader {
        /// What the user typed.
        given: String,
        /// The readers it matches.
        matches: Vec<String>,
    },
    /// No reader was named and not exactly one card is present: the readers holding cards.
    #[error("cards are present in {} readers ({})", .0.len(), quoted(.0))]
    WhichCard(Vec<String>),
    /// Nobody inserted or removed a card in time.
    #[error("timed out after {secs} s waiting for {what} in \"{}\"", .reader.as_deref().unwrap_or("any reader"))]
    WaitTimedOut {
        /// What was awaited.
        what: presence::Awaited,
        /// The reader, or none when any reader would do.
        reader: Option<String>,
        /// The timeout.
        secs: u64,
    },
    /// A card's key or record failed validation.
    #[error("card in \"{reader}\": its public key is invalid ({source}); it is not a genuine quorum card")]
    BadCardKey {
        /// Where it is.
        reader: String,
        /// What was wrong.
        #[source]
        #[serde(serialize_with = "crate::inspect::as_text")]
        source: PointError,
    },
    /// A record could not be built or read.
    #[error(transparent)]
    Record(
        #[from]
        #[serde(serialize_with = "crate::inspect::as_text")]
        RecordError,
    ),
    /// A card accepted its whole new record (the last PUT RECORD was answered), then left
    /// the reader before the read-back and opening: it holds the new record, unchecked.
    #[error("card {card} in \"{reader}\" holds its new record (it accepted all of it), but it was pulled out of the reader (or the reader failed) before the record was read back and checked")]
    WrittenUnchecked {
        /// The card's fingerprint.
        card: String,
        /// Where it is.
        reader: String,
    },
    /// add-card wrote the new card, but the set's new bundle version was not written.
    #[error("the new card holds its share (set version {version}), but the bundle was not updated: {source}. Nothing is lost: every card carries the set description, so the bundle can be written again from the new card")]
    BundleNotUpdated {
        /// The set version the cards now hold.
        version: u16,
        /// What failed.
        #[source]
        #[serde(serialize_with = "crate::inspect::as_text")]
        source: crate::bundle_file::BundleUpdateError,
    },
    /// A bundle file given as input cannot be used.
    #[error("{}", .source.about(.path))]
    Bundle {
        /// The file.
        path: std::path::PathBuf,
        /// What is wrong with it.
        #[source]
        #[serde(serialize_with = "crate::inspect::as_text")]
        source: quorum_protocol::bundle::BundleError,
    },
    /// The cards' records do not make one bundle (export-bundle).
    #[error("the cards' records do not make a bundle: {0}")]
    CardsBundle(
        #[source]
        #[serde(serialize_with = "crate::inspect::as_text")]
        quorum_protocol::bundle::BundleError,
    ),
    /// Writing progress or results failed.
    #[error("cannot write output: {0}")]
    Output(
        #[from]
        #[serde(serialize_with = "crate::inspect::as_text")]
        std::io::Error,
    ),
    /// The operator stopped the ceremony (Ctrl-C, SIGTERM) between two card steps, before
    /// any card changed (a ceremony that changed cards says where they stand in its own
    /// stop error).
    #[error("stopped on request (Ctrl-C or a termination signal); no card was changed")]
    Interrupted,
    /// The same exchange failed again and again with the card never leaving its reader (a
    /// reader or card that keeps failing, not a card pulled out): the ceremony stops instead
    /// of retrying without end.
    #[error("the reader {reader} failed an exchange {times} times in this ceremony although the card never left it; the card was not used further (what the step did before the failure is said above). Check the reader (unplug it and plug it in again) or use another one, then start the ceremony again")]
    ReaderKeepsFailing {
        /// The reader.
        reader: String,
        /// How many failures in a row.
        times: u8,
    },
    /// The journal (the ceremony log) could not record that cards are about to be written.
    #[error(
        "the ceremony log could not record that the write phase starts ({0}); nothing was written"
    )]
    StartNotLogged(String),
}

/// A card's fingerprint, or what stands for it when it has none.
fn card_name<'a>(card: &'a Option<String>, none: &'a str) -> &'a str {
    card.as_deref().unwrap_or(none)
}

/// Reader names in quotes, separated by commas.
fn quoted(names: &[String]) -> String {
    names
        .iter()
        .map(|m| format!("\"{m}\""))
        .collect::<Vec<_>>()
        .join(", ")
}

impl From<PinError> for CeremonyError {
    fn from(e: PinError) -> Self {
        CeremonyError::Pin(PinSourceError::Rule(e))
    }
}

impl CeremonyError {
    /// Whether a PIN is what failed: a card refused it or its entry failed, or no PIN came
    /// from this computer (a verify counts such a card as "PIN", not "card").
    pub fn is_pin_failure(&self) -> bool {
        match self {
            CeremonyError::Card { source, .. } => source.is_pin_failure(),
            CeremonyError::Pin(PinSourceError::Read { .. } | PinSourceError::TooLarge { .. }) => {
                false
            }
            CeremonyError::Pin(PinSourceError::Rule(
                PinError::RetryLimit(_) | PinError::RetryLimitSyntax,
            )) => false,
            CeremonyError::Pin(_)
            | CeremonyError::ChecksFailed {
                pins_only: true, ..
            } => true,
            _ => false,
        }
    }

    /// Wraps a card error with the reader it happened in.
    pub fn card(reader: &str, source: CardError) -> CeremonyError {
        CeremonyError::Card {
            reader: reader.to_owned(),
            source,
        }
    }
}

/// What a card says about itself after SELECT and GET STATUS, with its key validated.
pub struct Identity {
    /// What SELECT told: protocol version and capabilities.
    pub select: SelectInfo,
    /// The status as read.
    pub status: CardStatus,
    /// The card's key, absent on a blank card.
    pub key: Option<CardKey>,
    /// What of a record the card stores, and the room it has for it.
    pub room: Room,
}

/// What of a record a card stores, and how many bytes it has for that: the quorum applet
/// keeps the whole record; an OpenPGP card only the quorum header and the sealed share
/// (apdu-spec/openpgp.md), its public record living in the bundle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Room {
    /// The whole record (public and sealed parts) in this many bytes.
    Record(u16),
    /// The header and the sealed part only, in this many bytes.
    HeaderAndSealed(u16),
}

impl Room {
    /// The bytes a card needs for a record with these parts, and the bytes it has.
    pub fn need_and_have(self, public_len: usize, sealed_len: usize) -> (usize, u16) {
        match self {
            Room::Record(have) => (public_len + sealed_len, have),
            Room::HeaderAndSealed(have) => {
                (quorum_protocol::openpgp::HEADER_LEN + sealed_len, have)
            }
        }
    }
}

impl Identity {
    /// The fingerprint to show, or a description for a blank card.
    pub fn name(&self) -> String {
        self.key
            .map_or_else(|| "(blank, no key yet)".to_owned(), |k| k.fingerprint())
    }
}

/// SELECT, GET STATUS and key validation: the start of every ceremony step on a card.
pub fn identify(card: &mut dyn CustodianCard, reader: &str) -> Result<Identity, CeremonyError> {
    let select = card.select().map_err(|e| CeremonyError::card(reader, e))?;
    identify_selected(card, select, reader)
}

/// [`identify`] after a SELECT the caller sent itself (init first looks at the card's kind).
pub fn identify_selected(
    card: &mut dyn CustodianCard,
    select: SelectInfo,
    reader: &str,
) -> Result<Identity, CeremonyError> {
    let status = card.status().map_err(|e| CeremonyError::card(reader, e))?;
    let key = match (&status.public_key, status.state) {
        (Some(point), LifeCycle::Personalised | LifeCycle::Enrolled) => {
            Some(CardKey::from_card_point(&point[..]).map_err(|source| {
                CeremonyError::BadCardKey {
                    reader: reader.to_owned(),
                    source,
                }
            })?)
        }
        _ => None,
    };
    let room = match card.openpgp() {
        Some(_) => Room::HeaderAndSealed(status.capacity),
        None => Room::Record(status.capacity),
    };
    Ok(Identity {
        select,
        status,
        key,
        room,
    })
}

/// Resolves `--reader`: an exact name, or a part of exactly one reader's name.
pub fn resolve_reader(names: &[String], given: &str) -> Result<String, CeremonyError> {
    if let Some(exact) = names.iter().find(|n| *n == given) {
        return Ok(exact.clone());
    }
    let lower = given.to_lowercase();
    let matches: Vec<&String> = names
        .iter()
        .filter(|n| n.to_lowercase().contains(&lower))
        .collect();
    match matches.as_slice() {
        [one] => Ok((*one).clone()),
        [] => Err(CeremonyError::NoSuchReader(given.to_owned())),
        many => Err(CeremonyError::AmbiguousReader {
            given: given.to_owned(),
            matches: many.iter().map(|m| (*m).clone()).collect(),
        }),
    }
}

/// The reader of a one-card command: `--reader` resolved, or the only reader holding a card.
pub fn choose_reader(
    ctx: &dyn quorum_card::readers::Readers,
    given: Option<&str>,
) -> Result<String, CeremonyError> {
    let readers = ctx.readers()?;
    if readers.is_empty() {
        return Err(TransportError::NoReaders.into());
    }
    if let Some(given) = given {
        let names: Vec<String> = readers.iter().map(|r| r.name.clone()).collect();
        return resolve_reader(&names, given).or_else(|e| match e {
            // pcscd still lists it, but cannot reach it: say it is unplugged, not unknown.
            CeremonyError::NoSuchReader(_) => match resolve_reader(&ctx.reader_names()?, given) {
                Ok(name) => Err(TransportError::ReaderGone(name).into()),
                Err(_) => Err(e),
            },
            other => Err(other),
        });
    }
    let with_card: Vec<&str> = readers
        .iter()
        .filter(|r| r.card_present)
        .map(|r| r.name.as_str())
        .collect();
    match with_card.as_slice() {
        [one] => Ok((*one).to_owned()),
        [] => Err(CeremonyError::NoCards),
        many => Err(CeremonyError::WhichCard(
            many.iter().map(|m| (*m).to_owned()).collect(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_too_large_names_the_install_parameter_that_holds_it() {
        let e = CeremonyError::RecordTooLarge {
            card: "51d4-77cb".into(),
            size: 19080,
            capacity: 8192,
        };
        assert!(
            e.to_string().ends_with("nothing was written. Install the quorum applet on the cards with a record capacity of at least 19080 bytes (`gp --install quorum.cap --params 4A88`, applet/README.md), or use a shorter master secret, label or names"),
            "{e}"
        );
        assert!(record_room_advice(40000)
            .starts_with("No quorum card holds a record of 40000 bytes (at most 32767)"));
        assert!(
            record_room_advice(100).contains("--params 0200"),
            "the applet's smallest"
        );
    }

    #[test]
    fn an_error_serialises_as_its_kind_and_typed_detail() {
        let timed_out = CeremonyError::WaitTimedOut {
            what: presence::Awaited::Insertion,
            reader: Some("Pad".into()),
            secs: 60,
        };
        assert_eq!(
            serde_json::to_value(&timed_out).unwrap(),
            serde_json::json!({
                "kind": "wait_timed_out",
                "detail": { "what": "insertion", "reader": "Pad", "secs": 60 }
            })
        );
        // Another crate's error goes as the text it displays.
        let removed = CeremonyError::card("Pad", CardError::PinBlocked);
        let value = serde_json::to_value(&removed).unwrap();
        assert_eq!(value["kind"], "card");
        assert_eq!(value["detail"]["reader"], "Pad");
        assert_eq!(
            value["detail"]["source"],
            CardError::PinBlocked.to_string().as_str()
        );
        assert_eq!(
            serde_json::to_value(CeremonyError::NoCards).unwrap(),
            serde_json::json!({ "kind": "no_cards" })
        );
    }

    fn names() -> Vec<String> {
        [
            "Quorum Sim A 00 00",
            "Quorum Sim A 00 01",
            "Other Reader 00 00",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect()
    }

    #[test]
    fn reader_is_resolved_by_exact_name_or_unique_part() {
        assert_eq!(
            resolve_reader(&names(), "Quorum Sim A 00 01").unwrap(),
            "Quorum Sim A 00 01"
        );
        assert_eq!(
            resolve_reader(&names(), "other").unwrap(),
            "Other Reader 00 00"
        );
        let e = resolve_reader(&names(), "Sim A").unwrap_err();
        assert!(
            matches!(
                e,
                CeremonyError::AmbiguousReader { ref given, ref matches }
                    if given == "Sim A" && matches[..] == names()[..2]
            ),
            "{e}"
        );
        assert_eq!(
            e.to_string(),
            "\"Sim A\" matches several readers (\"Quorum Sim A 00 00\", \"Quorum Sim A 00 01\"); give more of the name"
        );
        assert!(matches!(
            resolve_reader(&names(), "nothing"),
            Err(CeremonyError::NoSuchReader(ref r)) if r == "nothing"
        ));
    }

    #[test]
    fn the_reader_of_a_one_card_command_is_the_only_one_holding_a_card() {
        use quorum_card::memory::{shared, MemoryApplet, MemoryReaders};
        let cards = [shared(MemoryApplet::new()), shared(MemoryApplet::new())];
        let readers = MemoryReaders::with_cards(&cards);
        let e = choose_reader(&readers, None).unwrap_err();
        assert!(
            matches!(e, CeremonyError::WhichCard(ref r) if r[..] == ["Reader 0", "Reader 1"]),
            "{e}"
        );
        assert_eq!(
            e.to_string(),
            "cards are present in 2 readers (\"Reader 0\", \"Reader 1\")"
        );
        assert_eq!(choose_reader(&readers, Some("1")).unwrap(), "Reader 1");
        let one = MemoryReaders::with_cards(&cards[..1]);
        assert_eq!(choose_reader(&one, None).unwrap(), "Reader 0");
    }

    #[test]
    fn the_library_names_no_option_of_the_cli() {
        for e in [
            CeremonyError::NoCards,
            CeremonyError::NoSuchReader("R".into()),
            CeremonyError::WhichCard(vec!["A".into(), "B".into()]),
            CeremonyError::WaitTimedOut {
                what: presence::Awaited::Removal,
                reader: None,
                secs: 3,
            },
            CeremonyError::NewPinRefused(pin_step::NewPinRefusal::NoSource),
        ] {
            assert!(!e.to_string().contains("--"), "{e}");
            assert!(!e.to_string().contains("quorumctl"), "{e}");
        }
    }
}
