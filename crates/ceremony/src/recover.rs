//! Recovery: collect cards until n shares of one set open, then combine and decrypt.
//!
//! Per card, after SELECT: GET RECORD (public), GET STATUS (the card's own key, compared
//! with the key its record lists), VERIFY, GET RECORD (sealed), UNSEAL. A recovery is bound
//! to one set, named by its set digest: the operator's anchor (a bundle, a digest read
//! aloud, or a label or id prefix) chooses it, and without one a single set must be in
//! sight. Cards of other sets, duplicates, copied records, blocked cards and failures are
//! named and skipped, never fatal, so the custodians can try another card.

use quorum_card::openpgp::RecordSource;
use std::fmt;

use crate::inspect::as_text;
use crate::presence::{Done, Wanted};
use crate::progress::{Event, Progress};

use zeroize::Zeroizing;

use quorum_card::card::CardError;
use quorum_card::custodian::CustodianCard;
use quorum_card::readers::Readers;
use quorum_protocol::crypto::SetDigest;
use quorum_protocol::record::PublicRecord;
use quorum_protocol::sharing::{self, check_same_set, OpenedShare, SetMismatch};

use super::inspect::SetMembership;
use super::presence::Presented;
use super::share::{
    open_member, read_member_held, LeftTheReader, Member, Note, Refusal, Refused, SeenCard, Skip,
    Who,
};
use super::{CardsFrom, CeremonyError, PinPolicy, Presenter};

/// Which set the operator wants recovered.
#[derive(Debug, Clone)]
pub enum Anchor {
    /// Nothing named: the one set in sight; several sets stop the recovery before any PIN.
    None,
    /// `--set`: a label, or a prefix of the set id; must name one set among those seen.
    Named(String),
    /// `--expect`: a prefix (at least 8 hex digits) of the set digest.
    Digest(String),
    /// `--bundle`: the set the bundle describes; its descriptions are authenticated too.
    Bundle {
        /// The bundle's set digest.
        digest: SetDigest,
        /// The bundle's newest record, which every card must be of one set with.
        newest: PublicRecord,
        /// Every record of the bundle, authenticated once the DEK is known.
        records: Vec<PublicRecord>,
    },
}

impl Anchor {
    /// Whether a card is of the anchored set; `None` if it is, else why not.
    fn refuses(&self, member: &Member) -> Option<AnchorMiss> {
        let (record, digest) = (&member.record, &member.digest);
        match self {
            Anchor::None => None,
            Anchor::Named(name) => {
                let id = hex::encode(record.set_id);
                (record.label != *name && !id.starts_with(&name.to_ascii_lowercase()))
                    .then(|| AnchorMiss::NotNamed { name: name.clone() })
            }
            Anchor::Digest(prefix) => {
                (!digest.starts_with(prefix)).then(|| AnchorMiss::OtherDigest {
                    digest: *digest,
                    prefix: prefix.clone(),
                })
            }
            Anchor::Bundle {
                digest: want,
                newest,
                ..
            } => {
                if digest != want {
                    Some(AnchorMiss::NotTheBundles {
                        digest: *digest,
                        bundle: *want,
                    })
                } else {
                    check_same_set(newest, record)
                        .err()
                        .map(|mismatch| AnchorMiss::DisagreesWithBundle { mismatch })
                }
            }
        }
    }

    /// Whether the operator named a set, so cards of other sets are skipped rather than stopping the recovery.
    fn names_one_set(&self) -> bool {
        matches!(self, Anchor::Digest(_) | Anchor::Bundle { .. })
    }

    /// Whether a card refused by a bundle anchor still carries the bundle's set id: the
    /// cards of the set disagreeing with its bundle point at the bundle.
    fn same_id_as_bundle(&self, record: &PublicRecord) -> bool {
        matches!(self, Anchor::Bundle { newest, .. } if newest.set_id == record.set_id)
    }

    fn bundle_records(&self) -> &[PublicRecord] {
        match self {
            Anchor::Bundle { records, .. } => records,
            _ => &[],
        }
    }
}

/// Why a card is not of the set the operator's anchor names.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum AnchorMiss {
    /// Neither its label nor the start of its set id is the name given ([`Anchor::Named`]).
    NotNamed {
        /// The name given.
        name: String,
    },
    /// Its set digest does not start with the prefix given ([`Anchor::Digest`]).
    OtherDigest {
        /// The card's set digest.
        #[serde(serialize_with = "as_text")]
        digest: SetDigest,
        /// The prefix given.
        prefix: String,
    },
    /// Its set digest is not the bundle's ([`Anchor::Bundle`]).
    NotTheBundles {
        /// The card's set digest.
        #[serde(serialize_with = "as_text")]
        digest: SetDigest,
        /// The bundle's.
        #[serde(serialize_with = "as_text")]
        bundle: SetDigest,
    },
    /// It has the bundle's set digest, but its record disagrees with the bundle's newest.
    DisagreesWithBundle {
        /// The first difference.
        #[serde(serialize_with = "as_text")]
        mismatch: SetMismatch,
    },
}

impl fmt::Display for AnchorMiss {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AnchorMiss::NotNamed { name } => write!(f, "is not of the set named \"{name}\""),
            AnchorMiss::OtherDigest { digest, prefix } => {
                write!(f, "its set digest {digest} does not start with {prefix}")
            }
            AnchorMiss::NotTheBundles { digest, bundle } => write!(
                f,
                "its set digest {digest} is not the bundle's {bundle}: it is a card of another set (or of a set forged to look like it)"
            ),
            AnchorMiss::DisagreesWithBundle { mismatch } => write!(
                f,
                "its record disagrees with the bundle ({mismatch}); leave it out"
            ),
        }
    }
}

/// A set as a recovery names it when it stops: its label and digest.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SetName {
    /// Its label.
    pub label: String,
    /// Its set digest.
    #[serde(serialize_with = "as_text")]
    pub digest: SetDigest,
}

/// Why a recovery stopped without giving the secret back (nothing was written).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, thiserror::Error)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Stopped {
    /// No more cards can come, and fewer custodians of the one set in sight than its
    /// threshold are present: found before any PIN.
    #[error("only {present} of the {need} shares needed for set \"{}\" (set digest {}) are present: bring {} more custodian card(s), or bring them one after another{}; no PIN was asked and nothing was written", .set.label, .set.digest, .need - .present, in_bundle_hint(*.in_bundle))]
    TooFewPresent {
        /// Distinct custodians of the set present.
        present: usize,
        /// Its threshold.
        need: usize,
        /// The set.
        set: SetName,
        /// Cards present that keep their public record in their set's bundle (OpenPGP
        /// cards): they could count with the bundle.
        in_bundle: usize,
    },
    /// No card's share could be opened.
    #[error("no share could be opened{}{}", SeenCard::listing(.cards), disagreeing_hint(*.disagreeing))]
    NoneOpened {
        /// Every card seen, with what happened to it.
        cards: Vec<SeenCard>,
        /// Cards skipped by a bundle anchor although they carry its set id.
        disagreeing: usize,
    },
    /// Fewer shares than the threshold could be opened.
    #[error("only {opened} of the {need} shares needed for set \"{}\" (set digest {}) could be opened; bring {} more custodian card(s){}{}", .set.label, .set.digest, .need - .opened, SeenCard::listing(.cards), disagreeing_hint(*.disagreeing))]
    TooFewOpened {
        /// Shares opened.
        opened: usize,
        /// The set's threshold.
        need: usize,
        /// The set.
        set: SetName,
        /// Every card seen, with what happened to it.
        cards: Vec<SeenCard>,
        /// Cards skipped by a bundle anchor although they carry its set id.
        disagreeing: usize,
    },
    /// Cards of several sets are in sight and the operator chose none of them (or named
    /// several with one name).
    #[error("{}; {}. Choose the set by its bundle or by its set digest from the ceremony minutes (at least 8 hex digits), then recover again:\n{}", sets_in_sight(.named.as_deref(), .sets.len()), opened_so_far(*.opened), SetSeen::listing(.sets))]
    SeveralSets {
        /// The name the operator gave, when one was given.
        named: Option<String>,
        /// Shares had been opened (and were discarded) before the second set came in sight.
        opened: bool,
        /// The sets in sight, in the order their first card appeared.
        sets: Vec<SetSeen>,
    },
    /// The set's secret has a length its destination cannot take (an HSM key type of other
    /// sizes): found on the public record before any PIN.
    #[error("set \"{}\" (set digest {}) holds a {bytes}-byte secret, which its destination cannot take; no PIN was asked and nothing was written", .set.label, .set.digest)]
    Unfit {
        /// The secret's length in bytes.
        bytes: usize,
        /// The set.
        set: SetName,
    },
}

/// The library's note on cards present that keep their public record in their set's bundle.
fn in_bundle_hint(cards: usize) -> String {
    match cards {
        0 => String::new(),
        n => format!("; {n} more card(s) present are OpenPGP cards whose public records are in their set's bundle, and count once it is given"),
    }
}

/// The library's note on cards that carry a bundle's set id but disagree with it.
fn disagreeing_hint(disagreeing: usize) -> String {
    if disagreeing == 0 {
        return String::new();
    }
    format!("\n{disagreeing} card(s) carry the bundle's set id but disagree with its description: if they are the set's own cards, the bundle was edited; use an intact copy, or the set digest from the ceremony minutes")
}

/// The library's account of several sets in sight.
fn sets_in_sight(named: Option<&str>, sets: usize) -> String {
    match named {
        Some(name) => format!("the set name \"{name}\" matches cards of {sets} sets"),
        None => format!("cards of {sets} sets are in sight"),
    }
}

/// What became of the shares opened before the recovery stopped.
fn opened_so_far(opened: bool) -> &'static str {
    if opened {
        "the shares opened so far were discarded and nothing was written"
    } else {
        "no PIN was asked and nothing was written"
    }
}

/// What the custodians asked for.
pub struct RecoverRequest<'a> {
    /// The set to recover.
    pub anchor: Anchor,
    /// Where the cards come from.
    pub from: CardsFrom,
    /// How PINs reach the cards.
    pub pins: PinPolicy<'a>,
    /// Trace APDUs.
    pub trace: bool,
    /// Report APDU counts.
    pub stats: bool,
    /// Consulted between card steps and while waiting: the operator's Ctrl-C or SIGTERM.
    pub interrupt: &'a dyn crate::Interrupt,
    /// Whether the secret's destination takes a secret of this many bytes (an HSM key type
    /// takes only some lengths); checked on the public record before any PIN.
    pub fits: Option<&'a dyn Fn(usize) -> bool>,
}

/// The restored secret and how each card contributed.
pub struct Recovered {
    /// The master secret, wiped on drop.
    pub master: Zeroizing<Vec<u8>>,
    /// The set it came from, with the digest and key check value people compare with the
    /// ceremony minutes (the key check is the recovered secret's: `recover_checking` made sure).
    pub set: SetMembership,
    /// Every card seen, in order.
    pub cards: Vec<SeenCard>,
}

/// One set seen during a recovery, for the list shown when several are in sight.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SetSeen {
    /// Its digest.
    #[serde(serialize_with = "as_text")]
    pub digest: SetDigest,
    /// Its label.
    pub label: String,
    /// n.
    pub threshold: u8,
    /// m, in the newest version seen.
    pub count: usize,
    /// Its cards seen, with their readers.
    pub cards: Vec<CardAt>,
}

/// A card and the reader it is in.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct CardAt {
    /// The card's fingerprint.
    pub fingerprint: String,
    /// The reader.
    pub reader: String,
}

impl fmt::Display for CardAt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} in \"{}\"", self.fingerprint, self.reader)
    }
}

impl SetSeen {
    /// The sets as a list for an error message.
    pub fn listing(sets: &[SetSeen]) -> String {
        sets.iter()
            .map(|s| {
                format!(
                    "  - \"{}\", {}-of-{}, set digest {}; cards: {}",
                    s.label,
                    s.threshold,
                    s.count,
                    s.digest,
                    s.cards
                        .iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            })
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// The sets seen so far, in the order their first card appeared.
#[derive(Default)]
struct Sightings(Vec<SetSeen>);

impl Sightings {
    fn note(&mut self, member: &Member, reader: &str) {
        let digest = member.digest;
        let card = CardAt {
            fingerprint: member.fingerprint(),
            reader: reader.to_owned(),
        };
        match self.0.iter_mut().find(|s| s.digest == digest) {
            Some(s) => {
                s.cards.push(card);
                s.count = s.count.max(member.record.custodians.len());
            }
            None => self.0.push(SetSeen {
                digest,
                label: member.record.label.clone(),
                threshold: member.record.threshold,
                count: member.record.custodians.len(),
                cards: vec![card],
            }),
        }
    }

    fn several(&self) -> bool {
        self.0.len() > 1
    }
}

/// Runs the recovery until the threshold is reached or the cards run out.
pub fn recover(
    ctx: &dyn Readers,
    req: &RecoverRequest<'_>,
    out: &mut dyn Progress,
) -> Result<Recovered, CeremonyError> {
    let records = RecordSource::from_records(req.anchor.bundle_records());
    let mut presenter = Presenter::new(ctx, req.from.clone(), req.trace, req.interrupt)?
        .with_records(records.clone());
    let mut run = Run {
        req,
        target: None,
        shares: Vec::new(),
        cards: Vec::new(),
        sightings: Sightings::default(),
        disagreeing: 0,
        records,
    };
    run.gather(&mut presenter, out)?;
    let Run {
        target,
        shares,
        cards,
        disagreeing,
        ..
    } = run;
    let Some((record, _)) = target else {
        return Err(CeremonyError::RecoverStopped(Stopped::NoneOpened {
            cards,
            disagreeing,
        }));
    };
    let need = usize::from(record.threshold);
    if shares.len() < need {
        return Err(CeremonyError::RecoverStopped(Stopped::TooFewOpened {
            opened: shares.len(),
            need,
            set: SetName {
                digest: record.set_digest(),
                label: record.label,
            },
            cards,
            disagreeing,
        }));
    }
    let master = sharing::recover_checking(&shares, req.anchor.bundle_records())?;
    let newest = shares
        .iter()
        .map(|s| s.record())
        .max_by_key(|r| r.set_version)
        .expect("at least n shares");
    Ok(Recovered {
        set: SetMembership::from_record(newest),
        master,
        cards,
    })
}

/// The state of one recovery.
struct Run<'r, 'a> {
    req: &'r RecoverRequest<'a>,
    /// The first opened card's record and its digest: the set being recovered.
    target: Option<(PublicRecord, SetDigest)>,
    shares: Vec<OpenedShare>,
    cards: Vec<SeenCard>,
    sightings: Sightings,
    /// Cards skipped by a bundle anchor although they carry its set id.
    disagreeing: usize,
    /// The public parts known (the bundle's, each card's as read), shared with the
    /// presenter's OpenPGP cards, so that a protocol 1.3 card that vouches for one is not
    /// read again.
    records: RecordSource,
}

impl Run<'_, '_> {
    fn complete(&self) -> bool {
        self.target
            .as_ref()
            .is_some_and(|(t, _)| self.shares.len() >= usize::from(t.threshold))
    }

    /// Takes cards batch by batch (all present at once, or one after another) until the
    /// threshold is reached or no card comes. Every public record of a batch is read before
    /// any PIN, so that a choice between sets, or too few cards, is said before any PIN; a
    /// second set in sight without an anchor stops the recovery (shares opened so far are
    /// discarded).
    fn gather(
        &mut self,
        presenter: &mut Presenter<'_>,
        out: &mut dyn Progress,
    ) -> Result<(), CeremonyError> {
        while !self.complete() {
            let opened: Vec<u8> = self.shares.iter().map(|s| s.index()).collect();
            let wanted = Wanted::OfSet {
                set: self
                    .target
                    .as_ref()
                    .map(|(t, _)| (t.label.clone(), self.shares.len(), usize::from(t.threshold))),
                any_of: self
                    .target
                    .as_ref()
                    .map(|(t, _)| crate::share::not_yet_opened(t, &opened))
                    .unwrap_or_default(),
            };
            let batch = presenter.batch(out, &wanted)?;
            if batch.is_empty() {
                break;
            }
            let read: Vec<(Presented, Result<Member, Refusal>)> = batch
                .into_iter()
                .map(|mut p| {
                    let member = read_member_held(&mut p.card, &self.records);
                    (p, member)
                })
                .collect();
            for (p, member) in &read {
                self.sight(member, &p.reader);
            }
            self.stop_if_several_sets(!self.shares.is_empty())?;
            self.stop_if_unfit(&read)?;
            if presenter.exhausted() {
                self.stop_if_too_few(&read)?;
            }
            for (mut p, member) in read {
                if self.complete() {
                    continue;
                }
                let outcome = match member {
                    Err(refusal) => Err(refusal),
                    Ok(m) => loop {
                        let fingerprint = m.fingerprint();
                        match self.take(&mut p.card, &p.reader, m.clone(), out) {
                            Err(r)
                                if r.reason.card_left()
                                    && presenter.take_back(out, &mut p, &fingerprint)? => {}
                            other => break other,
                        }
                    },
                };
                let used = outcome.is_ok();
                self.report(&mut p.card, &p.reader, outcome, out);
                if self.complete() {
                    presenter.finish(out, p, Done::opened(used));
                } else {
                    presenter.release(out, p, Done::opened(used))?;
                }
            }
        }
        Ok(())
    }

    /// When no more cards can come, fewer distinct custodians of the one set in sight than
    /// its threshold is said before any PIN.
    fn stop_if_too_few(
        &self,
        read: &[(Presented, Result<Member, Refusal>)],
    ) -> Result<(), CeremonyError> {
        let [set] = self.sightings.0.as_slice() else {
            return Ok(());
        };
        let mut indices: Vec<u8> = read
            .iter()
            .filter_map(|(_, m)| m.as_ref().ok())
            .filter(|m| m.digest == set.digest)
            .map(|m| m.record.index)
            .collect();
        indices.sort_unstable();
        indices.dedup();
        let need = usize::from(set.threshold);
        if self.shares.len() + indices.len() >= need {
            return Ok(());
        }
        let in_bundle = read
            .iter()
            .filter(|(_, m)| {
                matches!(
                    m,
                    Err(Refusal {
                        reason: Refused::Card(CardError::RecordInBundle { .. }),
                        ..
                    })
                )
            })
            .count();
        Err(CeremonyError::RecoverStopped(Stopped::TooFewPresent {
            in_bundle,
            present: indices.len(),
            need,
            set: SetName {
                label: set.label.clone(),
                digest: set.digest,
            },
        }))
    }

    /// A set whose secret its destination cannot take is refused before any PIN.
    fn stop_if_unfit(
        &self,
        read: &[(Presented, Result<Member, Refusal>)],
    ) -> Result<(), CeremonyError> {
        let Some(fits) = self.req.fits else {
            return Ok(());
        };
        for m in read.iter().filter_map(|(_, m)| m.as_ref().ok()) {
            let bytes = m.record.wrapped.master_len();
            if self.req.anchor.refuses(m).is_none() && !fits(bytes) {
                return Err(CeremonyError::RecoverStopped(Stopped::Unfit {
                    bytes,
                    set: SetName {
                        label: m.record.label.clone(),
                        digest: m.digest,
                    },
                }));
            }
        }
        Ok(())
    }

    /// Notes the set of a card the anchor admits, so that several sets in sight are seen.
    fn sight(&mut self, member: &Result<Member, Refusal>, reader: &str) {
        if let Ok(m) = member {
            if self.req.anchor.refuses(m).is_none() {
                self.sightings.note(m, reader);
            }
        }
    }

    /// Without a digest or bundle, cards of two sets in sight mean the operator must choose.
    fn stop_if_several_sets(&self, opened: bool) -> Result<(), CeremonyError> {
        if self.req.anchor.names_one_set() || !self.sightings.several() {
            return Ok(());
        }
        Err(CeremonyError::RecoverStopped(Stopped::SeveralSets {
            named: match &self.req.anchor {
                Anchor::Named(name) => Some(name.clone()),
                _ => None,
            },
            opened,
            sets: self.sightings.0.clone(),
        }))
    }

    /// One card's share: Ok(note) if opened and kept, Err((card, why)) if skipped.
    fn take(
        &mut self,
        card: &mut dyn CustodianCard,
        reader: &str,
        member: Member,
        out: &mut dyn Progress,
    ) -> Result<(Who, Note), Refusal> {
        let who = member.who.clone();
        let record = &member.record;
        let membership = member.membership();
        let digest = member.digest;
        if let Some(why) = self.req.anchor.refuses(&member) {
            if self.req.anchor.same_id_as_bundle(record) {
                self.disagreeing += 1;
            }
            return Err(Refusal::new(
                who,
                Refused::NotAnchored {
                    why: Box::new(why),
                    set: Box::new(membership),
                },
            ));
        }
        if let Some((t, t_digest)) = self.target.as_ref() {
            if *t_digest != digest {
                return Err(Refusal::new(
                    who,
                    Refused::OtherSet {
                        set: Box::new(membership),
                        wanted: t.label.clone(),
                        wanted_digest: *t_digest,
                    },
                ));
            }
            if let Err(mismatch) = check_same_set(t, record) {
                return Err(Refusal::new(
                    who,
                    Refused::Disagrees {
                        with: "the other cards of the set",
                        mismatch,
                        advice: "it may have been tampered with",
                    },
                ));
            }
        }
        if self.shares.iter().any(|s| s.index() == record.index) {
            return Err(Refusal::new(who, Refused::AlreadyOpened));
        }
        let opened = open_member(card, &member, &self.req.pins, reader, out)?;
        if self.target.is_none() {
            self.target = Some((member.record.clone(), digest));
        }
        self.shares.push(opened);
        let need = self
            .target
            .as_ref()
            .map_or(0, |(t, _)| usize::from(t.threshold));
        Ok((
            who,
            Note::ShareOpened {
                opened: self.shares.len(),
                need,
                from: Some(Box::new(membership)),
            },
        ))
    }

    /// Says what happened to a card and remembers it.
    fn report(
        &mut self,
        card: &mut dyn CustodianCard,
        reader: &str,
        outcome: Result<(Who, Note), Refusal>,
        out: &mut dyn Progress,
    ) {
        if self.req.stats {
            out.tell(Event::Recover(Told::Stats {
                reader: reader.to_owned(),
                stats: card.stats(),
            }));
        }
        let (who, used, note) = match outcome {
            Ok((who, note)) => (who, true, note),
            Err(Refusal { who, reason }) => (
                who,
                false,
                Note::Skipped {
                    reason: Skip::from(reason),
                },
            ),
        };
        let card = SeenCard {
            reader: reader.to_owned(),
            who,
            used,
            note,
        };
        out.tell(Event::Share(crate::share::Told::Seen(card.clone())));
        self.cards.push(card);
    }
}

/// What recovering the master secret tells the people at the table as it goes (worded by the caller).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Told {
    /// `--stats`: the APDUs one card's step took after its SELECT.
    Stats {
        /// The card's reader.
        reader: String,
        /// The counts.
        #[serde(serialize_with = "as_text")]
        stats: quorum_card::card::ApduStats,
    },
}

#[cfg(test)]
mod in_memory;
