//! Personalising a card: on a blank quorum-applet card the custodian's PIN and an on-card
//! key pair; on an OpenPGP card its cv25519 decryption key, kept or made on the card with
//! its admin PIN ([`openpgp`]). The kind is decided at the card's first SELECT.

use crate::progress::{Event, Progress};

use quorum_card::custodian::CustodianCard;
use quorum_card::readers::Readers;
use quorum_protocol::apdu::LifeCycle;
use quorum_protocol::crypto::CardKey;
use quorum_protocol::pin::RetryLimit;

use super::dry_run::{read_only, DryRun, Part, Planned, Unchecked};
use super::pins::{PinEntry, PinFor, PinSourceError};
use super::{identify_selected, pin_step, presence::open_card, CeremonyError, PinPolicy};
use quorum_protocol::pin::PinRule;

pub mod openpgp;

pub use openpgp::{OpenPgpInitialised, OpenPgpRequest, Question, Questions};

/// What init was asked to do, for either kind of card: the options of the other kind must
/// not have been given (the card is left alone, saying which do not apply).
pub struct Request<'a> {
    /// The quorum applet's PIN retry limit; `None` when not given (the default then applies).
    pub retry_limit: Option<RetryLimit>,
    /// The applet's limit when none was given.
    pub default_retry_limit: RetryLimit,
    /// What to do with an OpenPGP card's decryption key.
    pub openpgp: OpenPgpRequest<'a>,
}

/// A card init personalised (or, on an OpenPGP card, found ready and confirmed).
#[derive(Debug, Clone)]
pub enum Done {
    /// A quorum-applet card: PIN and key set.
    Applet(Initialised),
    /// An OpenPGP card: its cv25519 decryption key kept or generated.
    OpenPgp(OpenPgpInitialised),
}

impl Done {
    /// The card's key as quorum names it, whatever its kind.
    pub fn key(&self) -> CardKey {
        match self {
            Done::Applet(done) => done.key,
            Done::OpenPgp(done) => done.key,
        }
    }
}

/// Personalises the card in `reader`, whichever kind it is: a blank quorum-applet card
/// gets its PIN and key exactly as [`init`] gives them; an OpenPGP card goes through
/// [`openpgp::init`].
pub fn init_card(
    ctx: &dyn Readers,
    reader: &str,
    request: Request<'_>,
    pins: &PinPolicy<'_>,
    trace: bool,
    out: &mut dyn Progress,
) -> Result<Done, CeremonyError> {
    let mut card = open_card(ctx, reader, trace)?;
    let selected = card.select();
    if card.openpgp_keys().is_some() {
        // An OpenPGP card, even one its SELECT refused for a key of another algorithm:
        // init may replace that key; every other refusal comes again from the slot's read.
        if request.retry_limit.is_some() {
            let key = card
                .openpgp_keys()
                .and_then(|keys| keys.key_slot().ok())
                .and_then(|slot| slot.existing)
                .and_then(|key| key.card_key);
            return Err(CeremonyError::InitRefused {
                card: key.map(|k| k.fingerprint()),
                reader: reader.to_owned(),
                why: Refusal::RetryLimitOnOpenPgp,
            });
        }
        return openpgp::init(card.as_mut(), reader, request.openpgp, pins, out).map(Done::OpenPgp);
    }
    let id = applet_card(card.as_mut(), selected, reader, &request)?;
    let limit = request.retry_limit.unwrap_or(request.default_retry_limit);
    personalise(card.as_mut(), id, reader, limit, pins, out).map(Done::Applet)
}

/// The dry run of [`init_card`]: the card's kind and state checked, and what init would do
/// to it (with which PIN path); nothing is asked, generated or written.
pub fn dry_run(
    ctx: &dyn Readers,
    reader: &str,
    request: Request<'_>,
    pins: &PinPolicy<'_>,
    trace: bool,
) -> Result<DryRun, CeremonyError> {
    let mut card = read_only(open_card(ctx, reader, trace)?);
    let selected = card.select();
    if card.openpgp_keys().is_some() {
        if request.retry_limit.is_some() {
            return Err(CeremonyError::InitRefused {
                card: None,
                reader: reader.to_owned(),
                why: Refusal::RetryLimitOnOpenPgp,
            });
        }
        return openpgp::dry_run(card.as_mut(), reader, &request.openpgp, pins);
    }
    let id = applet_card(card.as_mut(), selected, reader, &request)?;
    check_blank(&id, reader)?;
    let limit = request.retry_limit.unwrap_or(request.default_retry_limit);
    let entry = pin_step::entry(card.as_mut(), pins, reader)?;
    let mut unchecked = Vec::new();
    match &entry {
        PinEntry::Host { source, .. } if !source.interactive() => {
            let blank = PinFor {
                custodian: None,
                fingerprint: None,
                reader,
            };
            let pin = source.new_pin(&blank, PinRule::Applet)?;
            pin.applet_block().map_err(PinSourceError::Rule)?;
        }
        _ => unchecked.push(Unchecked::NewPin),
    }
    Ok(DryRun {
        cards: vec![Planned {
            reader: reader.to_owned(),
            card: None,
            custodian: None,
            part: Part::Personalise {
                retry_limit: limit.get(),
            },
            pin: Some(entry.path()),
        }],
        still_needed: None,
        unchecked,
    })
}

/// A quorum-applet card identified after its SELECT; OpenPGP choices given for it are refused.
fn applet_card(
    card: &mut dyn CustodianCard,
    selected: Result<quorum_protocol::apdu::SelectInfo, quorum_card::card::CardError>,
    reader: &str,
    request: &Request<'_>,
) -> Result<super::Identity, CeremonyError> {
    let select = selected.map_err(|e| CeremonyError::card(reader, e))?;
    let id = identify_selected(card, select, reader)?;
    if request.openpgp.any_given() {
        return Err(CeremonyError::InitRefused {
            card: id.key.map(|k| k.fingerprint()),
            reader: reader.to_owned(),
            why: Refusal::OpenPgpOptionsOnApplet,
        });
    }
    Ok(id)
}

/// Refuses a card that is not blank: a card is initialised once.
fn check_blank(id: &super::Identity, reader: &str) -> Result<(), CeremonyError> {
    if id.status.state != LifeCycle::Blank {
        return Err(CeremonyError::InitRefused {
            card: id.key.map(|k| k.fingerprint()),
            reader: reader.to_owned(),
            why: Refusal::AlreadyPersonalised {
                state: id.status.state.name(),
            },
        });
    }
    Ok(())
}

/// A personalised card, as the custodian should note it.
#[derive(Debug, Clone)]
pub struct Initialised {
    /// The reader it was in.
    pub reader: String,
    /// Its new public key.
    pub key: CardKey,
    /// The retry limit set.
    pub retry_limit: u8,
}

/// Sets the PIN and generates the key pair on the blank quorum-applet card in `reader`.
pub fn init(
    ctx: &dyn Readers,
    reader: &str,
    retry_limit: RetryLimit,
    pins: &PinPolicy<'_>,
    trace: bool,
    out: &mut dyn Progress,
) -> Result<Initialised, CeremonyError> {
    let mut card = open_card(ctx, reader, trace)?;
    let select = card.select().map_err(|e| CeremonyError::card(reader, e))?;
    let id = identify_selected(card.as_mut(), select, reader)?;
    personalise(card.as_mut(), id, reader, retry_limit, pins, out)
}

/// INITIALISE of a quorum-applet card already identified, and the read-back.
fn personalise(
    card: &mut dyn CustodianCard,
    id: super::Identity,
    reader: &str,
    retry_limit: RetryLimit,
    pins: &PinPolicy<'_>,
    out: &mut dyn Progress,
) -> Result<Initialised, CeremonyError> {
    check_blank(&id, reader)?;
    out.tell(Event::Init(Told::Personalising {
        reader: reader.to_owned(),
        retry_limit: retry_limit.get(),
    }));
    let point = pin_step::initialise(card, pins, retry_limit, reader, out)?;
    let key = CardKey::from_card_point(&point[..]).map_err(|source| CeremonyError::BadCardKey {
        reader: reader.to_owned(),
        source,
    })?;
    // Read back: the card must now report the key it returned and the limit asked for.
    let check = super::identify(card, reader)?;
    if check.key != Some(key)
        || check.status.retry_limit != retry_limit.get()
        || check.status.state != LifeCycle::Personalised
    {
        return Err(CeremonyError::InitRefused {
            card: Some(key.fingerprint()),
            reader: reader.to_owned(),
            why: Refusal::Faulty,
        });
    }
    Ok(Initialised {
        reader: reader.to_owned(),
        key,
        retry_limit: retry_limit.get(),
    })
}

/// Why init refused a card, or found it faulty after personalising it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, thiserror::Error)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Refusal {
    /// The card has a key already; nothing was changed.
    #[error("is already personalised (state: {state}); a card is initialised once, and only a factory reset (which erases its key and record) makes it blank again")]
    AlreadyPersonalised {
        /// The state it reported (its name as the spec writes it).
        state: &'static str,
    },
    /// After INITIALISE the card did not report the key and limit it was given.
    #[error("does not report the key and PIN limit it was just given; the card is faulty")]
    Faulty,
    /// A PIN retry limit was asked of an OpenPGP card, whose counters are its own.
    #[error("is an OpenPGP card: its PIN retry counters are the card's own, so quorum sets no PIN retry limit on it; nothing was changed")]
    RetryLimitOnOpenPgp,
    /// OpenPGP choices (admin PIN, keeping or replacing a key) were given for an applet card.
    #[error("is a quorum-applet card: it has no OpenPGP decryption key or admin PIN, so the choices made for an OpenPGP card do not apply; nothing was changed")]
    OpenPgpOptionsOnApplet,
    /// The OpenPGP card holds a quorum share (a header in DO 0101): left alone, as an
    /// enrolled applet card is.
    #[error("is an OpenPGP card that holds share {index} of set {set_id} (version {set_version}) in its data object 0101; init leaves a card that holds a share alone: nothing was changed")]
    HoldsShare {
        /// The set's id, in hex.
        set_id: String,
        /// The set version the header names.
        set_version: u16,
        /// The card's share index.
        index: u8,
    },
    /// The custodian did not confirm using the cv25519 key the card has.
    #[error("has a cv25519 decryption key, and using it for quorum was not confirmed; nothing was changed")]
    UseNotConfirmed,
    /// The slot holds a key quorum cannot use, and replacing it was not asked.
    #[error("has a decryption key of another algorithm ({algorithm}{}), which quorum cannot use; a cv25519 key would replace it, destroying it; nothing was changed", .fingerprint.as_ref().map(|f| format!(", OpenPGP fingerprint {f}")).unwrap_or_default())]
    OtherKeyPresent {
        /// The algorithm, in words ("RSA", "algorithm 13").
        algorithm: String,
        /// Its OpenPGP fingerprint (C5), if the card stores one.
        fingerprint: Option<String>,
    },
    /// Replacing the key was asked, but the confirmation does not name it.
    #[error("was NOT changed: the confirmation \"{typed}\" does not name the key in its decryption slot ({names})")]
    ReplaceNotConfirmed {
        /// What was given, trimmed.
        typed: String,
        /// What would have confirmed it: its fingerprints (or the card's serial), in words.
        names: String,
    },
    /// A key must be generated and no admin PIN came (no file, no terminal, no keypad).
    #[error("needs its admin PIN to generate the decryption key, and none was given; nothing was changed")]
    AdminPinNotGiven,
    /// The admin PIN given breaks the card's length rules; it was not sent.
    #[error("was not sent the admin PIN given: {rule}; nothing was changed")]
    AdminPinRefused {
        /// The rule it breaks, in words.
        rule: String,
    },
    /// The slot is set to another algorithm and the card does not let it be changed (C0).
    #[error("does not let the algorithm of its decryption key be changed to cv25519; it cannot be a quorum custodian card")]
    AttributesFixed,
    /// After GENERATE the card does not report the key it answered.
    #[error("does not report the decryption key it just generated; the card is faulty")]
    KeyNotAfterGeneration,
}

/// What personalising a card tells the people at the table as it goes (worded by the caller).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Told {
    /// The blank card in this reader is about to get its PIN and key.
    Personalising {
        /// Where it is.
        reader: String,
        /// The PIN retry limit it gets.
        retry_limit: u8,
    },
    /// What happens on an OpenPGP card.
    OpenPgp(openpgp::Told),
}

#[cfg(test)]
mod in_memory;
