//! Dry runs (`--dry-run`) of the ceremonies that write: every check that needs no PIN, on
//! the options, the files and the cards in the readers now, and an account of what each card
//! would do. A dry run asks no PIN, waits for no card, writes no card and no file, and its
//! cards are held [`ReadOnly`], so a command that needs a PIN or writes is never sent.
//! A refusal is the ceremony's own error, worded as the real run words it.

use quorum_card::custodian::CustodianCard;
use quorum_card::openpgp::RecordSource;
use quorum_card::read_only::ReadOnly;
use quorum_card::readers::Readers;
use quorum_protocol::pin::PinRule;

use crate::inspect::SetMembership;
use crate::pin_step::{entry, pin_rule, PinPolicy};
use crate::pins::{PinEntry, PinFor, PinPath};
use crate::presence::{open_card_with, CardsFrom, Presented};
use crate::CeremonyError;

/// What a dry run found: each card present and what it would do, what the ceremony would
/// still wait for, and what only the real run can check.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct DryRun {
    /// The cards in the readers, in reader order.
    pub cards: Vec<Planned>,
    /// Cards the real run would ask for that are not in a reader now.
    pub still_needed: Option<StillNeeded>,
    /// Checks left to the real run.
    pub unchecked: Vec<Unchecked>,
}

/// One card present and its part in the ceremony.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Planned {
    /// The reader it is in.
    pub reader: String,
    /// Its fingerprint; `None` for a blank card.
    pub card: Option<String>,
    /// Its custodian's name, when known (given, planned or in its record).
    pub custodian: Option<String>,
    /// What the real run would do with it.
    pub part: Part,
    /// Where its PIN would be typed (`None`: no PIN asked of it).
    pub pin: Option<PinPath>,
}

/// What the real run would do with one card.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Part {
    /// init: the blank quorum-applet card gets its PIN (typed twice) and a key pair.
    Personalise {
        /// The PIN retry limit it would get.
        retry_limit: u8,
    },
    /// init: the OpenPGP card's cv25519 decryption key is kept for quorum.
    KeepOpenPgpKey {
        /// `false`: the custodian is asked to confirm it at the table.
        confirmed: bool,
    },
    /// init: a cv25519 decryption key is generated with the admin PIN.
    GenerateOpenPgpKey {
        /// The key it would destroy (its name as `status` shows it), if the slot holds one.
        destroys: Option<String>,
        /// `false`: the destruction is confirmed at the table by typing the key's name.
        confirmed: bool,
        /// Where the admin PIN would come from.
        admin_pin: AdminPinFrom,
    },
    /// enroll, reshare: the card would hold a share of the new set.
    NewShare {
        /// Its share index, once every card of the set is known.
        index: Option<u8>,
        /// Bytes its record would take on the card, and the bytes it has, when known.
        size: Option<(usize, u16)>,
        /// An OpenPGP card: its public record would live only in the bundle.
        record_in_bundle: bool,
        /// reshare: an old card re-used (its key renewed, its old share overwritten).
        reused: bool,
    },
    /// add-card, reshare: a card of the set whose share would be opened.
    OpensShare {
        /// Its share index.
        index: u8,
    },
    /// add-card: the new card, written with the next share of the set.
    NewCard,
    /// reshare: an old card wiped once the new set is written and checked.
    Wiped {
        /// An OpenPGP card keeps its key and PINs (only its share is emptied).
        keeps_key: bool,
    },
    /// reshare with the old cards kept, add-card with a quorum opened: present, not used.
    NotNeeded,
    /// change-pin: the PIN would be changed.
    ChangesPin {
        /// Tries left of the current PIN.
        tries_left: u8,
    },
    /// reset-card: the card would be erased.
    Erased {
        /// The share it would destroy, if it holds one.
        share: Option<SetMembership>,
        /// `false`: the card's fingerprint is asked as confirmation at the table.
        confirmed: bool,
    },
    /// The real run would refuse it (sent back or left out), and why.
    Refused {
        /// Why, as the real run says it.
        why: String,
    },
}

/// Where an OpenPGP card's admin PIN would come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AdminPinFrom {
    /// Typed on the reader's keypad.
    Keypad,
    /// The file given.
    File,
    /// Typed on this computer without echo.
    Prompt,
}

/// Cards the real run would still ask for.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct StillNeeded {
    /// How many more cards.
    pub cards: usize,
    /// Which custodians may bring them (any of these), when known.
    pub any_of: Vec<String>,
    /// What they are for.
    pub role: Needed,
}

/// What the cards still needed are for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Needed {
    /// Custodian cards of the set being enrolled.
    Custodians,
    /// Cards of the set whose shares open the quorum.
    Quorum,
    /// The new card of add-card.
    NewCard,
    /// Cards of the new set (reshare).
    NewSet,
}

/// A check only the real run can make.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Unchecked {
    /// The secret's length is known only after the token's login, so whether each record
    /// fits its card is checked by the real run (before anything is written).
    RecordSizes,
    /// The cards not in a reader now are checked as they are inserted.
    CardsToCome,
    /// PINs are checked by the cards in the real run (a PIN file was read for each card).
    Pins,
    /// The new PIN is typed in the real run (twice), and checked then.
    NewPin,
}

impl DryRun {
    /// The account of a ceremony that opens a quorum: PINs are the real run's to check, and
    /// so are the cards still to come, when some are.
    pub(crate) fn of_quorum(cards: Vec<Planned>, still_needed: Option<StillNeeded>) -> DryRun {
        let mut unchecked = vec![Unchecked::Pins];
        if still_needed.is_some() {
            unchecked.push(Unchecked::CardsToCome);
        }
        DryRun {
            cards,
            still_needed,
            unchecked,
        }
    }
}

/// One card's entry.
pub(crate) fn planned(
    reader: &str,
    card: Option<String>,
    custodian: Option<String>,
    part: Part,
    pin: Option<PinPath>,
) -> Planned {
    Planned {
        reader: reader.to_owned(),
        card,
        custodian,
        part,
        pin,
    }
}

/// Every card in the readers `from` uses, now, held read-only (no waiting: a card to be
/// inserted later is the real run's). `records` serves OpenPGP cards their public records.
pub(crate) fn cards_present(
    ctx: &dyn Readers,
    from: &CardsFrom,
    trace: bool,
    records: &RecordSource,
) -> Result<Vec<Presented>, CeremonyError> {
    let mut names: Vec<String> = match from {
        CardsFrom::OneReader { reader, .. } => {
            if !ctx.reader_names()?.iter().any(|n| n == reader) {
                return Err(CeremonyError::NoSuchReader(reader.clone()));
            }
            ctx.readers()?
                .into_iter()
                .filter(|r| r.card_present && &r.name == reader)
                .map(|r| r.name)
                .collect()
        }
        CardsFrom::EveryReader { .. } | CardsFrom::AnyReader { .. } => ctx
            .readers()?
            .into_iter()
            .filter(|r| r.card_present)
            .map(|r| r.name)
            .collect(),
    };
    names.sort();
    if names.is_empty() && matches!(from, CardsFrom::EveryReader { .. }) {
        return Err(CeremonyError::NoCards);
    }
    names
        .into_iter()
        .map(|reader| {
            let card = open_card_with(ctx, &reader, trace, records)?;
            Ok(Presented {
                card: read_only(card),
                reader,
            })
        })
        .collect()
}

/// `card`, held so that nothing that needs a PIN or writes reaches it.
pub(crate) fn read_only(card: Box<dyn CustodianCard>) -> Box<dyn CustodianCard> {
    Box::new(ReadOnly::new(card))
}

/// Whether the cards come one by one (the real run asks for the rest as it goes).
pub(crate) fn one_by_one(from: &CardsFrom) -> bool {
    !matches!(from, CardsFrom::EveryReader { .. })
}

/// Where this card's PIN would be typed; from a PIN file, the PIN is read (never sent) so
/// that a missing line or one the card's rule refuses is found now, as the real run would.
pub(crate) fn pin_plan(
    card: &mut dyn CustodianCard,
    policy: &PinPolicy<'_>,
    who: &PinFor<'_>,
) -> Result<PinPath, CeremonyError> {
    let entry = entry(card, policy, who.reader)?;
    if let PinEntry::Host { source, .. } = &entry {
        if !source.interactive() {
            let rule: PinRule = pin_rule(card);
            drop(source.current_pin(who, rule)?);
        }
    }
    Ok(entry.path())
}
