//! The step recover, verify, add-card and reshare have in common: read a custodian card's
//! public record (no PIN), then, after the PIN, open its share with one blinded UNSEAL
//! (the share is checked against its commitment). Failures are sentences naming the card,
//! so a ceremony can report them and carry on with the next card.

use std::fmt;

use crate::progress::Progress;
use crate::recover::AnchorMiss;

use rand::rngs::OsRng;

use quorum_card::card::CardError;
use quorum_card::custodian::CustodianCard;
use quorum_card::openpgp::RecordSource;
use quorum_card::transport::TransportError;
use quorum_protocol::apdu::LifeCycle;
use quorum_protocol::bundle::BundleError;
use quorum_protocol::crypto::wei25519::POINT_LEN;
use quorum_protocol::crypto::{CardKey, PointError, SetDigest};
use quorum_protocol::record::{PublicRecord, RecordError};
use quorum_protocol::sharing::{self, OpenedShare, PublicPart, SetMismatch, UnsealError};

use super::inspect::SetMembership;
use super::pin_step::{verify_pin, Verified};
use super::pins::PinFor;
use super::{CeremonyError, PinPolicy};

/// How a card is named in reports: its fingerprint and place in its set once its record was read.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Who {
    /// The card's fingerprint, when its record was read (or, for an OpenPGP card whose
    /// record is not at hand, the key it reported at SELECT).
    pub fingerprint: Option<String>,
    /// Fingerprint, custodian index and name; or "card" when nothing is known.
    pub text: String,
}

impl Who {
    /// A card whose public record is not at hand: an OpenPGP card by the key it reported at
    /// SELECT (no APDU), so a custodian told to bring the bundle knows which card it was;
    /// any other card as unknown.
    pub fn by_key(card: &dyn CustodianCard) -> Who {
        match card.openpgp().and_then(|facts| facts.card_key) {
            Some(key) => Who {
                fingerprint: Some(key.fingerprint()),
                text: key.fingerprint(),
            },
            None => Who::unknown(),
        }
    }

    /// A card whose record could not be read.
    pub fn unknown() -> Who {
        Who {
            fingerprint: None,
            text: "card".to_owned(),
        }
    }

    /// The card of the custodian a record is for (its own index); a name that only
    /// repeats the default "custodian K" is not said twice.
    pub fn custodian(record: &PublicRecord) -> Who {
        let custodian = record
            .custodian(record.index)
            .expect("a decoded record lists its own index");
        let fingerprint = custodian.card_key.fingerprint();
        Who {
            text: format!(
                "{fingerprint} ({})",
                custodian_label(record.index, &custodian.name)
            ),
            fingerprint: Some(fingerprint),
        }
    }
}

/// The name a record gives its own custodian, unless it is empty or only the default
/// "custodian K" (which names nobody), so prompts and lists say a person's name once.
pub fn custodian_name(record: &PublicRecord) -> Option<&str> {
    let custodian = record.custodian(record.index)?;
    real_name(&custodian.name)
}

/// `custodian K "Alice"`, or `custodian K` when the name is empty or a default
/// "custodian N" (a default name is not said next to the index).
pub fn custodian_label(index: u8, name: &str) -> String {
    match real_name(name) {
        Some(name) => format!("custodian {index} \"{name}\""),
        None => format!("custodian {index}"),
    }
}

/// The custodians of `record`'s set whose index is not in `opened`, by name ("custodian
/// K" for an unnamed one among named ones), so an insert prompt can say who may still
/// come; empty when none of them is named (the count says enough).
pub fn not_yet_opened(record: &PublicRecord, opened: &[u8]) -> Vec<String> {
    let left: Vec<_> = record
        .custodians
        .iter()
        .filter(|c| !opened.contains(&c.index))
        .collect();
    if left.iter().all(|c| real_name(&c.name).is_none()) {
        return Vec::new();
    }
    left.iter()
        .map(|c| real_name(&c.name).map_or_else(|| format!("custodian {}", c.index), str::to_owned))
        .collect()
}

/// `name` unless it is empty or a default "custodian K" (K is the custodian's place when
/// the card joined, which need not be its share index: any number counts as default).
pub fn real_name(name: &str) -> Option<&str> {
    let name = name.trim();
    let default = name
        .strip_prefix("custodian ")
        .is_some_and(|k| !k.is_empty() && k.chars().all(|c| c.is_ascii_digit()));
    (!name.is_empty() && !default).then_some(name)
}

/// One card seen during a ceremony that goes on when a card is refused.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SeenCard {
    /// The reader it was in.
    pub reader: String,
    /// How it is named.
    pub who: Who,
    /// It took part (its share was used, or it is the new card).
    pub used: bool,
    /// What happened, or why it was skipped.
    pub note: Note,
}

impl SeenCard {
    /// The cards as a list for an error's own message ("" when there are none).
    pub fn listing(cards: &[SeenCard]) -> String {
        if cards.is_empty() {
            return String::new();
        }
        let lines: Vec<String> = cards
            .iter()
            .map(|c| format!("  - {} in \"{}\": {}", c.who.text, c.reader, c.note))
            .collect();
        format!(":\n{}", lines.join("\n"))
    }
}

/// What happened to a card seen during a ceremony that goes on when a card is refused, as
/// data the caller words (its `Display` is the library's own account, for logs).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Note {
    /// Its share was opened, the `opened`th of the `need` needed; recover also names the
    /// card's set (`from`).
    ShareOpened {
        /// Shares opened so far, this one included.
        opened: usize,
        /// Shares needed.
        need: usize,
        /// The card's set and place, when the ceremony names it.
        from: Option<Box<SetMembership>>,
    },
    /// add-card's new card: its PIN was accepted; it is written once the quorum's shares are open.
    NewCardPinAccepted,
    /// add-card's new card holds custodian `index`'s record, read back and checked.
    NewCardWritten {
        /// Its custodian index in the set.
        index: u8,
    },
    /// It was left out, and why.
    Skipped {
        /// Why.
        reason: Skip,
    },
}

impl fmt::Display for Note {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Note::ShareOpened { opened, need, from } => {
                write!(f, "share opened ({opened} of {need})")?;
                match from {
                    Some(set) => write!(f, " from {set}"),
                    None => Ok(()),
                }
            }
            Note::NewCardPinAccepted => write!(f, "new card, PIN accepted"),
            Note::NewCardWritten { index } => {
                write!(f, "new custodian {index} written and checked")
            }
            Note::Skipped { reason } => write!(f, "{reason}"),
        }
    }
}

/// Why a card was left out, as a report keeps it: the reasons the caller words itself
/// (they point at its options) typed, every other one as the library says it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Skip {
    /// The card's set is not the one the operator named (recover's anchor).
    NotAnchored {
        /// What the anchor says about the card.
        why: AnchorMiss,
        /// The card's set.
        set: Box<SetMembership>,
    },
    /// add-card: a personalised card other than the new card the operator named.
    NotTheNewCard {
        /// The fingerprint the operator named.
        named: String,
    },
    /// add-card: the card cannot take part as it is.
    NotUsable {
        /// Why.
        why: Unusable,
    },
    /// Any other reason (the caller words it; its own text is in domain words only).
    Refused {
        /// Why.
        reason: crate::progress::Shared<Refused>,
    },
}

impl From<Refused> for Skip {
    fn from(refused: Refused) -> Skip {
        match refused {
            Refused::NotAnchored { why, set } => Skip::NotAnchored { why: *why, set },
            Refused::NotTheNewCard(named) => Skip::NotTheNewCard { named },
            Refused::NotUsable(why) => Skip::NotUsable { why },
            other => Skip::Refused {
                reason: crate::progress::Shared::new(other),
            },
        }
    }
}

impl fmt::Display for Skip {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Skip::NotAnchored { why, set } => write!(f, "{why}; it belongs to {set}"),
            Skip::NotTheNewCard { named } => write!(f, "{}", not_the_new_card(named)),
            Skip::NotUsable { why } => write!(f, "{why}"),
            Skip::Refused { reason } => write!(f, "{reason}"),
        }
    }
}

/// Why add-card cannot use a card that is not of the set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, thiserror::Error)]
#[serde(rename_all = "snake_case")]
pub enum Unusable {
    /// Its PIN is blocked.
    #[error("its PIN is blocked; only a factory reset revives it")]
    Blocked,
    /// It is blank: it has no key until it is personalised.
    #[error("is blank: it must be personalised first if it is to be the new card")]
    Blank,
    /// A personalised card presented, with one reader, before the quorum's shares are open.
    #[error("is not in the set yet: insert it when the new card is asked for, after the custodians' cards")]
    NotInSetYet,
}

/// The library's account of a personalised card that is not the new card named.
fn not_the_new_card(named: &str) -> String {
    format!("is not the new card the operator named ({named})")
}

/// A custodian card's public record, read without a PIN.
#[derive(Debug, Clone)]
pub struct Member {
    /// The public part as stored (also the HPKE aad of the sealed part).
    pub public: Vec<u8>,
    /// The public part, decoded.
    pub record: PublicRecord,
    /// The card's own key (GET STATUS), equal to the one its record names for it.
    pub key: CardKey,
    /// The digest of the set its record describes, computed once.
    pub digest: SetDigest,
    /// How to name the card.
    pub who: Who,
    /// The sealed part's `enc`, from a protocol 1.2 card's SELECT answer: its share then
    /// opens with VERIFY and one UNSEAL P1 = 01.
    pub enc: Option<[u8; 32]>,
}

/// Reads `card`'s public part: from `records` if its digest vouches for a known one, else
/// with GET RECORD (decoded against the known ones, whose descriptions it then joins).
fn read_public(
    records: &RecordSource,
    card: &mut dyn CustodianCard,
) -> Result<(Vec<u8>, PublicRecord), Refusal> {
    if let Some(found) = card.record_header().and_then(|h| records.vouched(&h)) {
        return Ok(found);
    }
    let public = card
        .get_record_public()
        .map_err(|e| Refusal::new(Who::by_key(card), e))?;
    let record = records
        .decode(&public)
        .map_err(|e| Refusal::new(Who::unknown(), Refused::Unreadable(e)))?;
    Ok((public, record))
}

impl Member {
    /// The card's set, index and custodian name, for messages.
    pub fn membership(&self) -> SetMembership {
        SetMembership::from_record(&self.record)
    }

    /// The card's fingerprint.
    pub fn fingerprint(&self) -> String {
        self.key.fingerprint()
    }
}

/// A card that cannot take part, and why.
#[derive(Debug)]
pub struct Refusal {
    /// The card.
    pub who: Who,
    /// Why it is left out.
    pub reason: Refused,
}

impl Refusal {
    /// `who` is left out for `reason`.
    pub fn new(who: Who, reason: impl Into<Refused>) -> Refusal {
        Refusal {
            who,
            reason: reason.into(),
        }
    }
}

/// Why a card is left out of a ceremony, typed so that a ceremony can act on the reason (a
/// personalised card among old-set cards is a new card, not a fault); its `Display` is the
/// sentence the people at the table read, and a card pulled out mid-step is said so.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Refused {
    /// The card holds no record.
    #[error("holds no share (state: {})", .0.name())]
    NoShare(LifeCycle),
    /// The card's public record does not decode.
    #[error("its record is unreadable: {0}")]
    Unreadable(#[source] RecordError),
    /// The card reports no key of its own.
    #[error("reports no key of its own (state: {}): it is not a genuine quorum card; no PIN was sent to it", .0.name())]
    NoKey(LifeCycle),
    /// The card's own key is not a valid point.
    #[error("its own public key is invalid ({0}): it is not a genuine quorum card; no PIN was sent to it")]
    BadKey(#[source] PointError),
    /// The card carries a record written for another card.
    #[error("this card's key is {card}, but its record is custodian {index}'s, written for card {listed}: the record was copied onto another card; no PIN was sent to it")]
    CopiedRecord {
        /// The card's own fingerprint.
        card: String,
        /// The custodian whose record it carries.
        index: u8,
        /// The card that record was written for.
        listed: String,
    },
    /// A card command failed (a wrong PIN, a card pulled out, ...).
    #[error("{}", sentence(.0))]
    Card(#[source] CardError),
    /// The PIN step failed (entry, keypad, the card's answer).
    #[error("{}", sentence(&**.0))]
    Pin(#[source] Box<CeremonyError>),
    /// The share did not open or does not match its commitment.
    #[error("{}", sentence(.0))]
    Open(#[source] UnsealError<CardError>),
    /// The card's set is not the one the operator named.
    #[error("{why}; it belongs to {set}")]
    NotAnchored {
        /// What the anchor says about the card.
        why: Box<AnchorMiss>,
        /// The card's set.
        set: Box<SetMembership>,
    },
    /// The card is of another set than the cards opened so far.
    #[error("belongs to another {set} (set digest {}), not to set \"{wanted}\" (set digest {wanted_digest})", .set.digest)]
    OtherSet {
        /// The card's set.
        set: Box<SetMembership>,
        /// The label of the set being worked on.
        wanted: String,
        /// Its digest.
        wanted_digest: SetDigest,
    },
    /// The card is of another set than the one add-card or reshare works on.
    #[error("belongs to another {set}, not to {wanted}")]
    NotOfTheSet {
        /// The card's set.
        set: Box<SetMembership>,
        /// The set worked on and what that means for this card.
        wanted: String,
    },
    /// The card's record disagrees with the set description it should share.
    #[error("its record disagrees with {with} ({mismatch}); {advice}")]
    Disagrees {
        /// What it was compared with ("the bundle", "the other cards of the set").
        with: &'static str,
        /// The first difference.
        mismatch: SetMismatch,
        /// What to do.
        advice: &'static str,
    },
    /// The card holds a newer set version than the bundle.
    #[error("holds version {version} of the set, newer than the bundle's version {bundle_version}: the bundle is out of date; use the one written by the last add-card")]
    NewerThanBundle {
        /// The card's set version.
        version: u16,
        /// The bundle's.
        bundle_version: u16,
    },
    /// The same custodian's share came twice.
    #[error("this custodian's share was already opened (the same card twice?)")]
    AlreadyOpened,
    /// Enough shares are open; this card is not needed.
    #[error("already holds a share of this set; the quorum is complete: insert the new card")]
    QuorumComplete,
    /// The card's record disagrees with the bundle given.
    #[error("{0}")]
    Bundle(#[source] BundleError),
    /// The card's answer to a key challenge is not the listed key's.
    #[error("the card's answer to a fresh key challenge is not the one the key {fingerprint} gives: it does not hold that key's private half, so it cannot open custodian {index}'s share; do not count on it")]
    WrongKeyAnswer {
        /// The key the record lists.
        fingerprint: String,
        /// The custodian.
        index: u8,
    },
    /// The card's answer to a key challenge is not a point.
    #[error("the card's answer to a key challenge is not a valid point ({0}): the card is faulty or not a quorum card")]
    BadKeyAnswer(#[source] PointError),
    /// add-card: the card cannot take part as it is (blocked, blank, not in the set yet).
    #[error("{0}")]
    NotUsable(Unusable),
    /// add-card: a personalised card that is not the new card the operator named.
    #[error("{}", not_the_new_card(.0))]
    NotTheNewCard(String),
}

impl From<CardError> for Refused {
    fn from(e: CardError) -> Self {
        Refused::Card(e)
    }
}

impl From<CeremonyError> for Refused {
    fn from(e: CeremonyError) -> Self {
        Refused::Pin(Box::new(e))
    }
}

impl From<UnsealError<CardError>> for Refused {
    fn from(e: UnsealError<CardError>) -> Self {
        Refused::Open(e)
    }
}

/// SELECT, GET RECORD (public) and GET STATUS: the card's place in its set; refused unless
/// ENROLLED, unless the card's own key is the one its record lists for it (so a card
/// carrying a copied record is named before any PIN is sent to it) and unless its PIN is
/// still usable (a blocked card is named without a VERIFY).
pub fn read_member(card: &mut dyn CustodianCard) -> Result<Member, Refusal> {
    read_member_held(card, &RecordSource::new())
}

/// [`read_member`] for a ceremony that holds public parts (a [`RecordSource`]): a protocol
/// 1.3 card that vouches for a known one with its digest needs no command after its SELECT
/// (its status came with it), and every part read is decoded against, and then known with,
/// the ones before. Every check before the PIN is made on bytes the card holds.
pub fn read_member_held(
    card: &mut dyn CustodianCard,
    records: &RecordSource,
) -> Result<Member, Refusal> {
    let info = card.select().map_err(|e| Refusal::new(Who::unknown(), e))?;
    if info.state != LifeCycle::Enrolled {
        return Err(Refusal::new(Who::unknown(), Refused::NoShare(info.state)));
    }
    let header = card.record_header();
    // A 1.2 card's status came with its SELECT: asked now, it costs no command.
    let status = card
        .status()
        .map_err(|e| Refusal::new(Who::by_key(card), e))?;
    let (public, record) = read_public(records, card)?;
    let listed = record
        .custodian(record.index)
        .expect("a decoded record lists its own index")
        .card_key;
    let who = Who::custodian(&record);
    let Some(point) = status.public_key else {
        return Err(Refusal::new(who, Refused::NoKey(status.state)));
    };
    let key = CardKey::from_card_point(&point)
        .map_err(|e| Refusal::new(who.clone(), Refused::BadKey(e)))?;
    if key != listed {
        return Err(Refusal::new(
            Who {
                fingerprint: Some(key.fingerprint()),
                text: format!(
                    "{} (carrying custodian {}'s record)",
                    key.fingerprint(),
                    record.index
                ),
            },
            Refused::CopiedRecord {
                card: key.fingerprint(),
                index: record.index,
                listed: listed.fingerprint(),
            },
        ));
    }
    if status.blocked {
        // The card's own status says so: no VERIFY is sent to learn it again. An OpenPGP
        // card's blocked PIN is unblocked its own way (resetting code or admin PIN).
        let blocked = match card.openpgp() {
            Some(_) => CardError::OpenPgpPinBlocked,
            None => CardError::PinBlocked,
        };
        return Err(Refusal::new(who, blocked));
    }
    // The header must describe the record it came with (a 1.2 card copies it from there).
    let enc = header
        .filter(|h| {
            (h.set_id, h.set_version, h.index) == (record.set_id, record.set_version, record.index)
        })
        .map(|h| h.enc);
    Ok(Member {
        digest: record.set_digest(),
        public,
        record,
        key,
        who,
        enc,
    })
}

/// VERIFY, GET RECORD (sealed) and UNSEAL: the member's share, opened and checked against
/// the commitment its set description publishes.
pub fn open_member(
    card: &mut dyn CustodianCard,
    member: &Member,
    pins: &PinPolicy<'_>,
    reader: &str,
    out: &mut dyn Progress,
) -> Result<OpenedShare, Refusal> {
    open_member_keeping_pin(card, member, pins, reader, out).map(|(share, _)| share)
}

/// [`open_member`], also returning the PIN the card accepted, for a ceremony that writes
/// the same card later.
pub fn open_member_keeping_pin(
    card: &mut dyn CustodianCard,
    member: &Member,
    pins: &PinPolicy<'_>,
    reader: &str,
    out: &mut dyn Progress,
) -> Result<(OpenedShare, Verified), Refusal> {
    let fingerprint = member.fingerprint();
    let who = PinFor::card(&fingerprint, reader).named(custodian_name(&member.record));
    let pin = verify_pin(card, pins, &who, out).map_err(|e| Refusal::new(member.who.clone(), e))?;
    open_verified(card, member).map(|share| (share, pin))
}

/// GET RECORD (sealed) and UNSEAL on a card whose PIN was accepted in this session: the
/// member's share, opened and checked against its commitment. A protocol 1.2 card whose
/// `enc` came at SELECT answers its sealed part with its UNSEAL: one command.
pub fn open_verified(
    card: &mut dyn CustodianCard,
    member: &Member,
) -> Result<OpenedShare, Refusal> {
    let refuse = |e: UnsealError<CardError>| Refusal::new(member.who.clone(), e);
    if let (Some(enc), Some(_)) = (member.enc, card.record_header()) {
        return sharing::open_share_from_header(
            PublicPart::new(&member.public, &member.record),
            &enc,
            &member.key,
            &mut OsRng,
            |point| card.unseal_with_sealed(point).map(|u| (*u.x, u.ct)),
        )
        .map_err(refuse);
    }
    let sealed = card
        .get_record_sealed()
        .map_err(|e| Refusal::new(member.who.clone(), e))?;
    sharing::open_share_decoded(
        PublicPart::new(&member.public, &member.record),
        &sealed,
        &member.key,
        &mut OsRng,
        |point: &[u8; POINT_LEN]| card.unseal(point).map(|x| *x),
    )
    .map_err(refuse)
}

/// A failure as a sentence for a ceremony that goes on with other cards: a card that left
/// the reader in the middle of a step is said to be pulled out (nothing on it changed, it
/// may come back), instead of the stand-alone advice to repeat the command.
pub fn sentence<E: LeftTheReader + std::fmt::Display + ?Sized>(e: &E) -> String {
    if e.card_left() {
        return "was pulled out of the reader (or the reader failed) before this step finished; nothing on the card changed: insert it again when a card is asked for".to_owned();
    }
    e.to_string()
}

/// Whether a failure is the card leaving the reader (or the reader failing) in the middle of
/// an exchange, so that messages can say what that did to the card.
pub trait LeftTheReader {
    /// The card left the reader (or the reader failed) before the step finished.
    fn card_left(&self) -> bool;
}

impl LeftTheReader for TransportError {
    fn card_left(&self) -> bool {
        matches!(
            self,
            TransportError::CardRemoved
                | TransportError::ExchangeFailed
                | TransportError::NoCard(_)
        )
    }
}

impl LeftTheReader for CardError {
    fn card_left(&self) -> bool {
        matches!(self, CardError::Transport(t) if t.card_left())
    }
}

impl LeftTheReader for CeremonyError {
    fn card_left(&self) -> bool {
        match self {
            CeremonyError::Transport(t) => t.card_left(),
            CeremonyError::Card { source, .. } => source.card_left(),
            _ => false,
        }
    }
}

impl LeftTheReader for UnsealError<CardError> {
    fn card_left(&self) -> bool {
        matches!(self, UnsealError::Card(e) if e.card_left())
    }
}

impl LeftTheReader for Refused {
    fn card_left(&self) -> bool {
        match self {
            Refused::Card(e) => e.card_left(),
            Refused::Pin(e) => e.card_left(),
            Refused::Open(e) => e.card_left(),
            _ => false,
        }
    }
}

/// What opening shares tells the people at the table as it goes (worded by the caller).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Told {
    /// A card was used or skipped (recover, add-card), and why: said as soon as it is known.
    Seen(SeenCard),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_default_custodian_name_is_not_said_twice() {
        assert_eq!(custodian_label(2, "custodian 2"), "custodian 2");
        assert_eq!(custodian_label(2, ""), "custodian 2");
        assert_eq!(custodian_label(2, "Alice"), "custodian 2 \"Alice\"");
        // add-card's default is the custodian's place, not its random share index
        assert_eq!(custodian_label(252, "custodian 4"), "custodian 252");
        assert_eq!(
            custodian_label(3, "custodian two"),
            "custodian 3 \"custodian two\""
        );
        assert_eq!(real_name("custodian 4"), None);
        assert_eq!(real_name(" Dave "), Some("Dave"));
    }

    #[test]
    fn a_card_that_left_the_reader_is_said_to_be_pulled_out_at_any_depth() {
        let direct = TransportError::CardRemoved;
        let in_card = CardError::Transport(TransportError::ExchangeFailed);
        let in_ceremony =
            CeremonyError::card("r", CardError::Transport(TransportError::CardRemoved));
        for text in [
            sentence(&direct),
            sentence(&in_card),
            sentence(&in_ceremony),
        ] {
            assert!(text.starts_with("was pulled out of the reader"), "{text}");
        }
        let other = CardError::PinBlocked;
        assert_eq!(sentence(&other), other.to_string());
        let opened = UnsealError::Card(CardError::Transport(TransportError::CardRemoved));
        assert!(sentence(&opened).starts_with("was pulled out"));
        let refused = Refused::from(CardError::Transport(TransportError::NoCard("r".into())));
        assert!(refused.to_string().starts_with("was pulled out"));
        assert!(!Refused::AlreadyOpened.card_left());
    }

    #[test]
    fn an_openpgp_card_whose_record_is_not_at_hand_is_named_by_its_key() {
        use quorum_card::any::AnyCard;
        use quorum_card::card::Card;
        use quorum_card::memory::MemoryOpenPgp;
        use quorum_card::openpgp::RecordSource;
        use quorum_protocol::crypto::SetDigest;
        use quorum_protocol::openpgp::QuorumHeader;

        let header = QuorumHeader {
            set_id: [7; 16],
            set_version: 1,
            index: 3,
            set_digest: SetDigest([9; 32]),
        };
        let memory = MemoryOpenPgp::new()
            .with_cv25519_key()
            .with_private_use(0x0101, &header.encode());
        let key = memory.card_key().expect("a cv25519 key");
        let mut card = AnyCard::new(Card::with_trace(memory, false), RecordSource::new());
        let refusal = match read_member(&mut card) {
            Err(r) => r,
            Ok(_) => panic!("a member without its record"),
        };
        assert_eq!(refusal.who.fingerprint, Some(key.fingerprint()));
        assert_eq!(refusal.who.text, key.fingerprint());
        assert!(
            refusal
                .reason
                .to_string()
                .contains("kept in the set's bundle"),
            "{}",
            refusal.reason
        );
    }
}
