//! Reshare: move the master from an old set to a new one (new n, m, DEK and set id) on
//! new or re-used cards, in two phases, so that an interruption at any point leaves at
//! least one complete set and quorumctl can say which.
//!
//! 0. Gather: open a quorum of the old set's shares; register the new set's cards (key and
//!    PIN checked). Nothing is written. The master is recovered, split afresh and wiped.
//! 1. Write the new set: fresh cards first, then re-used old cards, each written, read back
//!    and opened; an old card is only overwritten while one set stays complete
//!    ([`Standing`]). The new set is complete and verified at the end of this phase.
//! 2. Wipe (FACTORY RESET) the old cards present that the new set does not re-use,
//!    unless the caller keeps them.

mod standing;

use crate::presence::{CountOf, Done, Unwanted, Wanted};
use crate::progress::{Event, Progress, Shared};
use quorum_card::openpgp::RecordSource;

use rand::rngs::OsRng;

use quorum_card::custodian::CustodianCard;
use quorum_card::readers::Readers;
use quorum_protocol::apdu::{LifeCycle, SelectInfo};
use quorum_protocol::crypto::{CardKey, KeyCheck};
use quorum_protocol::record::{PublicRecord, SET_ID_LEN};
use quorum_protocol::sharing::{
    self, check_same_set, Enrollment, NewCustodian, OpenedShare, RecoverError, ReshareError,
};

pub use standing::Standing;

use super::dry_run::{
    cards_present, one_by_one, pin_plan, planned, DryRun, Needed, Part, StillNeeded,
};
use super::enroll::{
    check_fits, given_name, name_for, write_redoing, EnrolledCardReport, Registered,
};
use super::inspect::SetMembership;
use super::log::{Evidence, Fingerprint, Verdict};
use super::pin_step::{reverify, verify_pin};
use super::pins::PinFor;
use super::presence::{Presented, Recalled};
use super::share::{custodian_label, custodian_name};
use super::share::{
    open_member_keeping_pin, read_member, read_member_held, LeftTheReader, Refusal, Refused,
};
use super::{identify, CardsFrom, CeremonyError, Journal, PinPolicy, Presenter};

/// What the administrator asked for.
pub struct ReshareRequest<'a> {
    /// Reshare this old set (its id); `None`: the set of the first old card opened.
    pub old_set: Option<[u8; SET_ID_LEN]>,
    /// The old set's published description (bundle), to check its cards against.
    pub published: Option<&'a PublicRecord>,
    /// Every record of the bundle: their description MACs are checked once the DEK is known.
    pub bundle_records: &'a [PublicRecord],
    /// The new n.
    pub threshold: u8,
    /// The new m: required with one reader; with every reader, checked when given.
    pub count: Option<u8>,
    /// The new set's label.
    pub label: &'a str,
    /// New custodian names by card fingerprint.
    pub names: &'a [(String, String)],
    /// Fingerprints of old cards that join the new set (their old share is overwritten).
    pub reuse: &'a [String],
    /// Leave the old cards that are not re-used as they are (no phase 2).
    pub keep_old: bool,
    /// Where the cards come from.
    pub from: CardsFrom,
    /// How PINs reach the cards.
    pub pins: PinPolicy<'a>,
    /// Trace APDUs.
    pub trace: bool,
    /// `--replace-unfinished`: the ceremony log's evidence; a card holding a set that the
    /// log shows was started and never completed may join the new set as a fresh card.
    pub replace_unfinished: Option<&'a Evidence>,
    /// Consulted between card steps and while waiting: the operator's Ctrl-C or SIGTERM.
    pub interrupt: &'a dyn crate::Interrupt,
}

/// The finished reshare.
pub struct Reshared {
    /// The new set as written.
    pub enrollment: Enrollment,
    /// The old set.
    pub old: SetMembership,
    /// The new set's cards, in share-index order.
    pub cards: Vec<EnrolledCardReport>,
    /// Old cards whose shares were opened.
    pub opened: Vec<String>,
    /// Old cards wiped in phase 2.
    pub wiped: Vec<String>,
    /// Those of `wiped` that keep their key and PINs (OpenPGP cards: only their share's
    /// data objects are emptied), so the report does not call them blank.
    pub wiped_keeping_key: Vec<String>,
    /// Where the sets stand at the end.
    pub standing: Standing,
    /// The old set's cards that still hold their old share (kept, or never presented), by
    /// custodian label and fingerprint: the people at the table must know which cards can
    /// still open the old set.
    pub still_holding: Vec<(String, String)>,
}

/// A card of the new set, registered in phase 0.
struct NewMember {
    /// Where it is, the key the new set seals to (a re-used card's pending key from
    /// PREPARE KEY), its capacity and its PIN.
    card: Registered,
    /// A re-used card's present key, active until its new record is written.
    old_key: Option<CardKey>,
    /// A card holding an unfinished set it replaces (`--replace-unfinished`): the ceremony
    /// that started that set and its master's key check.
    replaces: Option<(String, KeyCheck)>,
    /// A re-used card's custodian name in the old set, which it keeps unless a new one is
    /// given: the custodian stays the same person.
    old_name: Option<String>,
}

impl NewMember {
    /// Writes its new record, reads it back and opens it (a re-used card's record is
    /// written for its pending key, which becomes its key in the same commit); a card
    /// pulled out too early is asked back and its step redone.
    fn write(
        &self,
        presenter: &mut Presenter<'_>,
        session: &mut Box<dyn CustodianCard>,
        reader: &str,
        card: &sharing::EnrolledCard,
        pins: &PinPolicy<'_>,
        out: &mut dyn Progress,
    ) -> Result<(), CeremonyError> {
        write_redoing(
            presenter,
            session,
            reader,
            self.card.key,
            self.old_key,
            &self.card.pin,
            card,
            pins,
            out,
        )
    }

    /// It holds a share of the old set now (a re-used card, which gets a new key).
    fn reused(&self) -> bool {
        self.old_key.is_some()
    }

    /// Whether this member is the card whose present key is `key`.
    fn is_card(&self, key: &CardKey) -> bool {
        self.old_key.as_ref().unwrap_or(&self.card.key) == key
    }
}

/// Gives a re-used old card a new key pair (PREPARE KEY; its PIN was accepted in this
/// session), so that its old sealed share, which old APDU logs may hold, never opens again
/// once its new record is written. Until then its present key and record stay active, and
/// it still counts for the old set. The PIN and its tries are kept.
fn renew_key(
    card: &mut dyn CustodianCard,
    select: &SelectInfo,
    seen: &Seen,
) -> Result<CardKey, CardProblem> {
    check_renewable(card, select, seen)?;
    let point = card.prepare_key().map_err(|e| match e.card_left() {
        true => CardProblem::Pulled { card: seen.clone() },
        false => CardProblem::KeyRenewalFailed {
            card: seen.clone(),
            cause: e.to_string(),
        },
    })?;
    CardKey::from_card_point(&point).map_err(|e| CardProblem::BadNewKey {
        card: seen.clone(),
        cause: e.to_string(),
    })
}

/// Whether a re-used card can be given a new key: an applet card whose protocol has
/// PREPARE KEY (an OpenPGP card's key is never renewed by quorum).
fn check_renewable(
    card: &dyn CustodianCard,
    select: &SelectInfo,
    seen: &Seen,
) -> Result<(), CardProblem> {
    if card.openpgp().is_some() {
        return Err(CardProblem::OpenPgpNoKeyRenewal { card: seen.clone() });
    }
    if !select.capabilities.key_renewal() {
        return Err(CardProblem::NoKeyRenewal {
            card: seen.clone(),
            major: select.version.major,
            minor: select.version.minor,
        });
    }
    Ok(())
}

/// The dry run of [`reshare`]: the cards in the readers now judged as phase 0 judges them
/// (old cards whose shares would open, new and re-used cards of the new set, old cards
/// that phase 2 would wipe, cards left out and why), and what phase 0 would still ask
/// for. No PIN is asked, no key is renewed, nothing is written or wiped.
pub fn dry_run(ctx: &dyn Readers, req: &ReshareRequest<'_>) -> Result<DryRun, CeremonyError> {
    check_old_set(req)?;
    let records = RecordSource::from_records(req.bundle_records);
    let presented = cards_present(ctx, &req.from, req.trace, &records)?;
    let whole = !one_by_one(&req.from);
    let mut old: Option<PublicRecord> = None;
    let mut opened: Vec<u8> = Vec::new();
    let mut members: Vec<CardKey> = Vec::new();
    let mut reused: Vec<String> = Vec::new();
    let mut cards = Vec::new();
    for mut p in presented {
        let reader = p.reader.clone();
        let refused = |card: Option<String>, problem: CardProblem| {
            let why = problem.to_string();
            planned(&reader, card, None, Part::Refused { why }, None)
        };
        let id = match identify(&mut p.card, &reader) {
            Ok(id) => id,
            Err(e) => {
                let cause = Shared::new(e);
                cards.push(refused(None, CardProblem::Unidentified { cause }));
                continue;
            }
        };
        let seen = Seen {
            card: id.key.map(|k| k.fingerprint()),
            reader: whole.then(|| reader.clone()),
        };
        if id.status.blocked {
            cards.push(refused(
                seen.card.clone(),
                CardProblem::PinBlocked { card: seen },
            ));
            continue;
        }
        let key = match (id.status.state, id.key) {
            (LifeCycle::Blank, _) | (_, None) => {
                cards.push(refused(None, CardProblem::Blank { card: seen }));
                continue;
            }
            (_, Some(key)) => key,
        };
        let fingerprint = key.fingerprint();
        let replaces = match id.status.state {
            LifeCycle::Enrolled => match unfinished_here(req, p.card.as_mut(), &key, &seen) {
                Ok(replaces) => replaces,
                Err(problem) => {
                    cards.push(refused(Some(fingerprint), problem));
                    continue;
                }
            },
            _ => None,
        };
        if id.status.state == LifeCycle::Personalised || replaces.is_some() {
            let name = given_name(req.names, &key);
            let who = PinFor::card(&fingerprint, &reader).named(name);
            let pin = pin_plan(p.card.as_mut(), &req.pins, &who)?;
            let part = Part::NewShare {
                index: None,
                size: None,
                record_in_bundle: p.card.openpgp().is_some(),
                reused: false,
            };
            let name = name.map(str::to_owned);
            cards.push(planned(&reader, Some(fingerprint), name, part, Some(pin)));
            members.push(key);
            continue;
        }
        let member = match read_member(p.card.as_mut()) {
            Ok(member) => member,
            Err(r) => {
                cards.push(refused(Some(fingerprint), seen.not_a_member(&r)));
                continue;
            }
        };
        if let Err(e) = of_old_set(req, &old, &member.record) {
            cards.push(refused(Some(fingerprint), seen.not_of_the_old_set(&e)));
            continue;
        }
        let need = usize::from(member.record.threshold);
        let opens = opened.len() < need && !opened.contains(&member.record.index);
        old.get_or_insert_with(|| member.record.clone());
        let name = custodian_name(&member.record).map(str::to_owned);
        let who = PinFor::card(&fingerprint, &reader).named(name.as_deref());
        let part = if is_reuse(req, &key) {
            if let Err(problem) = check_renewable(p.card.as_ref(), &id.select, &seen) {
                cards.push(refused(Some(fingerprint), problem));
                continue;
            }
            members.push(key);
            reused.push(fingerprint.clone());
            Part::NewShare {
                index: None,
                size: None,
                record_in_bundle: false,
                reused: true,
            }
        } else if opens {
            Part::OpensShare {
                index: member.record.index,
            }
        } else if req.keep_old {
            Part::NotNeeded
        } else {
            Part::Wiped {
                keeps_key: p.card.openpgp().is_some(),
            }
        };
        if opens {
            opened.push(member.record.index);
        }
        let asks_pin = opens || matches!(part, Part::NewShare { .. });
        let pin = match asks_pin {
            true => Some(pin_plan(p.card.as_mut(), &req.pins, &who)?),
            false => None,
        };
        cards.push(planned(&reader, Some(fingerprint), name, part, pin));
    }
    if let Some(missing) = req
        .reuse
        .iter()
        .find(|fp| !reused.iter().any(|r| r.eq_ignore_ascii_case(fp)))
    {
        if whole {
            return Err(CeremonyError::ReshareDeclined(
                Declined::ReuseNotPresented {
                    card: missing.clone(),
                    problems: Vec::new(),
                },
            ));
        }
    }
    let count = req.count.map(usize::from);
    if let (true, Some(count)) = (whole, count) {
        if members.len() != count {
            return Err(CeremonyError::ReshareDeclined(Declined::CountMismatch {
                asked: req.count.unwrap_or_default(),
                can_join: members.len(),
                problems: Vec::new(),
            }));
        }
    }
    let need = old.as_ref().map(|o| usize::from(o.threshold));
    let still_needed = match need {
        None => Some(StillNeeded {
            cards: req.published.map_or(1, |p| usize::from(p.threshold)),
            any_of: req
                .published
                .map(|p| crate::share::not_yet_opened(p, &opened))
                .unwrap_or_default(),
            role: Needed::Quorum,
        }),
        Some(need) if opened.len() < need => Some(StillNeeded {
            cards: need - opened.len(),
            any_of: old
                .as_ref()
                .map(|o| crate::share::not_yet_opened(o, &opened))
                .unwrap_or_default(),
            role: Needed::Quorum,
        }),
        Some(_) => match count {
            Some(count) if members.len() < count => Some(StillNeeded {
                cards: count - members.len(),
                any_of: Vec::new(),
                role: Needed::NewSet,
            }),
            None if members.is_empty() => Some(StillNeeded {
                cards: 1,
                any_of: Vec::new(),
                role: Needed::NewSet,
            }),
            _ => None,
        },
    };
    Ok(DryRun::of_quorum(cards, still_needed))
}

/// With `--replace-unfinished`: whether the card holds a set the ceremony log shows was
/// started and never completed (and that is not the set being reshared); then it joins
/// the new set as a fresh card. Returns the ceremony that started that set and its
/// master's key check, which [`check_gathered`] compares with the old set's.
fn unfinished_here(
    req: &ReshareRequest<'_>,
    card: &mut dyn CustodianCard,
    key: &CardKey,
    seen: &Seen,
) -> Result<Option<(String, KeyCheck)>, CardProblem> {
    let Some(evidence) = req.replace_unfinished else {
        return Ok(None);
    };
    let unreadable = |cause: String| CardProblem::RecordUnreadable {
        card: seen.clone(),
        cause,
    };
    let public = card
        .get_record_public()
        .map_err(|e| unreadable(e.to_string()))?;
    let record = PublicRecord::decode(&public).map_err(|e| unreadable(e.to_string()))?;
    let old = req.old_set.or(req.published.map(|p| p.set_id));
    if old == Some(record.set_id)
        || record.custodian(record.index).map(|c| c.card_key) != Some(*key)
    {
        return Ok(None);
    }
    Ok(
        match evidence.judge(&record.set_id, &Fingerprint::of(key)) {
            Verdict::Unfinished(started) => Some((started.command.clone(), record.key_check)),
            _ => None,
        },
    )
}

/// An old card seen in phase 0 that the new set does not re-use: wiped in phase 2.
struct OldCard {
    reader: String,
    key: CardKey,
}

/// What phase 0 gathered.
#[derive(Default)]
struct Gathered {
    shares: Vec<OpenedShare>,
    old: Option<PublicRecord>,
    members: Vec<NewMember>,
    retire: Vec<OldCard>,
    /// Public parts known (the presenter's: the bundle's, each old card's as read), so that
    /// a protocol 1.3 card that vouches for one is not read again.
    records: RecordSource,
}

/// Refuses a set named to reshare that is not the bundle's, before any card is touched.
fn check_old_set(req: &ReshareRequest<'_>) -> Result<(), CeremonyError> {
    match (req.old_set, req.published) {
        (Some(id), Some(p)) if id != p.set_id => {
            Err(CeremonyError::ReshareDeclined(Declined::SetNotTheBundles {
                named: hex::encode(id),
                bundle: hex::encode(p.set_id),
            }))
        }
        _ => Ok(()),
    }
}

/// Runs all phases; an error after phase 0 says which set is complete.
pub fn reshare(
    ctx: &dyn Readers,
    req: &ReshareRequest<'_>,
    publish: &mut dyn FnMut(&Enrollment) -> Result<(), String>,
    journal: &mut dyn Journal,
    out: &mut dyn Progress,
) -> Result<Reshared, CeremonyError> {
    check_old_set(req)?;
    let records = RecordSource::from_records(req.bundle_records);
    let mut presenter =
        Presenter::new(ctx, req.from.clone(), req.trace, req.interrupt)?.with_records(records);
    out.tell(Event::Reshare(Told::GatheringBegins));
    let count = presenter.count_needed(req.count.map(usize::from), CountOf::NewSetCards)?;
    let gathered = gather(&mut presenter, req, count, out);
    let mut g = gathered.map_err(|e| Stopped::error(0, Cause::Failed(Box::new(e)), None))?;
    let old = g.old.clone().expect("a quorum was opened");
    // The old set's newest known version: the bundle's, unless an opened card is newer.
    let opened_newest = newest_opened(&g.shares);
    let old_newest = req
        .published
        .filter(|p| p.set_version > opened_newest.set_version)
        .cloned()
        .unwrap_or(opened_newest);
    // Fresh cards first, then the re-used old ones: the order that keeps a set complete.
    g.members.sort_by_key(|m| m.reused());
    let fresh = g.members.iter().filter(|m| !m.reused()).count();
    let reused = g.members.len() - fresh;
    let mut progress = Standing {
        old_threshold: usize::from(old.threshold),
        old_total: old_newest.custodians.len(),
        old_gone: 0,
        new_threshold: usize::from(req.threshold),
        new_total: g.members.len(),
        new_written: 0,
    };
    if !progress.plan_is_safe(fresh, reused) {
        return Err(CeremonyError::ReshareDeclined(Declined::UnsafePlan {
            reused,
            fresh,
            old_threshold: old.threshold,
            old_total: old_newest.custodians.len(),
            new_threshold: req.threshold,
            new_total: g.members.len(),
        }));
    }
    let custodians: Vec<NewCustodian> = g
        .members
        .iter()
        .enumerate()
        .map(|(i, m)| NewCustodian {
            card_key: m.card.key,
            name: match (
                given_name(req.names, m.old_key.as_ref().unwrap_or(&m.card.key)),
                &m.old_name,
            ) {
                (None, Some(old)) => old.clone(),
                _ => name_for(req.names, m.old_key.as_ref().unwrap_or(&m.card.key), i + 1),
            },
        })
        .collect();
    let enrollment = sharing::reshare(
        &g.shares,
        req.bundle_records,
        req.threshold,
        req.label,
        &custodians,
        &mut OsRng,
    )
    .map_err(|e| match e {
        // an edited bundle is the file's fault, not a card's: exit as a bad bundle does
        ReshareError::Recover(r @ RecoverError::Forged { card: None, .. }) => {
            CeremonyError::Recover(r)
        }
        other => CeremonyError::ReshareNotMade(other),
    })?;
    let opened: Vec<String> = g
        .shares
        .iter()
        .filter_map(|s| s.record().custodian(s.index()))
        .map(|c| c.card_key.fingerprint())
        .collect();
    drop(std::mem::take(&mut g.shares));
    for (m, c) in g.members.iter().zip(&enrollment.cards) {
        check_fits(&m.card.key, m.card.capacity, c)?;
    }
    if presenter.interrupted() {
        return Err(stopped(0, &progress));
    }
    let keys: Vec<CardKey> = g.members.iter().map(|m| m.card.key).collect();
    journal
        .starting(&enrollment.cards[0].record, &keys)
        .map_err(CeremonyError::StartNotLogged)?;
    out.tell(Event::Reshare(Told::WritingSet {
        label: req.label.to_owned(),
        threshold: req.threshold,
        count: g.members.len(),
        set_id: hex::encode(enrollment.set_id),
    }));
    let wipe_follows = !req.keep_old && !g.retire.is_empty();
    let cards = write_cards(
        &mut presenter,
        req,
        &g.members,
        &enrollment,
        &mut progress,
        wipe_follows,
        journal,
        out,
    )?;
    out.tell(Event::Reshare(Told::SetWritten {
        standing: progress.clone(),
    }));
    publish(&enrollment).map_err(|e| interrupted(1, Cause::BundleNotWritten(e), &progress))?;
    let (wiped, wiped_keeping_key) = if req.keep_old || g.retire.is_empty() {
        (Vec::new(), Vec::new())
    } else {
        out.tell(Event::Reshare(Told::Wiping {
            count: g.retire.len(),
        }));
        if presenter.interrupted() {
            return Err(stopped(2, &progress));
        }
        wipe(&mut presenter, &g.retire, &req.pins, &mut progress, out)?
    };
    let changed: Vec<String> = g
        .members
        .iter()
        .filter_map(|m| m.old_key.map(|k| k.fingerprint()))
        .chain(wiped.iter().cloned())
        .collect();
    let still_holding = old_newest
        .custodians
        .iter()
        .filter(|c| !changed.contains(&c.card_key.fingerprint()))
        .map(|c| (custodian_label(c.index, &c.name), c.card_key.fingerprint()))
        .collect();
    Ok(Reshared {
        still_holding,
        enrollment,
        // The set as it stands now (its newest version: add-card may have grown it since
        // the record of the first card opened was written).
        old: SetMembership::from_record(&old_newest),
        cards,
        opened,
        wiped,
        wiped_keeping_key,
        standing: progress,
    })
}

fn newest_opened(shares: &[OpenedShare]) -> PublicRecord {
    shares
        .iter()
        .map(OpenedShare::record)
        .max_by_key(|r| r.set_version)
        .expect("a quorum was opened")
        .clone()
}

fn is_reuse(req: &ReshareRequest<'_>, key: &CardKey) -> bool {
    let fp = key.fingerprint();
    req.reuse.iter().any(|r| r.eq_ignore_ascii_case(&fp))
}

/// Whether an old card's record is of the set being reshared; `Err` says why not.
fn of_old_set(
    req: &ReshareRequest<'_>,
    target: &Option<PublicRecord>,
    record: &PublicRecord,
) -> Result<(), Refused> {
    let wanted = req
        .old_set
        .or(req.published.map(|p| p.set_id))
        .or(target.as_ref().map(|t| t.set_id));
    if wanted.is_some_and(|w| w != record.set_id) {
        return Err(Refused::NotOfTheSet {
            set: Box::new(SetMembership::from_record(record)),
            wanted: "the set being reshared".to_owned(),
        });
    }
    for other in req.published.iter().copied().chain(target.as_ref()) {
        if let Err(mismatch) = check_same_set(other, record) {
            return Err(Refused::Disagrees {
                with: "the set",
                mismatch,
                advice: "leave it out",
            });
        }
    }
    if let Some(p) = req.published.filter(|p| record.set_version > p.set_version) {
        return Err(Refused::NewerThanBundle {
            version: record.set_version,
            bundle_version: p.set_version,
        });
    }
    Ok(())
}

/// Phase 0, the same in every reader mode: the old set's cards are asked for until a quorum
/// of shares opens, then the new set's until `count` are registered (with every reader,
/// every card present comes in one batch and nothing is asked). Each card does all it can
/// in one insertion (see [`gather_one`]); a card pulled out in the middle of its step is
/// asked back with every reader, and its step redone.
fn gather(
    presenter: &mut Presenter<'_>,
    req: &ReshareRequest<'_>,
    count: usize,
    out: &mut dyn Progress,
) -> Result<Gathered, CeremonyError> {
    let mut g = Gathered {
        records: presenter.records().clone(),
        ..Gathered::default()
    };
    let mut problems = Vec::new();
    let mut registering = false;
    loop {
        let need = g.old.as_ref().map(|o| usize::from(o.threshold));
        let wanted = if need.is_some_and(|n| g.shares.len() >= n) {
            if g.members.len() >= count {
                break;
            }
            if !registering {
                presenter.announce(out, Event::Reshare(Told::RegisteringNewSet { count }));
                registering = true;
            }
            Wanted::NewSet {
                n: g.members.len() + 1,
                of: count,
            }
        } else {
            let opened: Vec<u8> = g.shares.iter().map(|s| s.index()).collect();
            Wanted::OldSet {
                n: g.shares.len() + 1,
                need,
                any_of: g
                    .old
                    .as_ref()
                    .map(|old| crate::share::not_yet_opened(old, &opened))
                    .unwrap_or_default(),
            }
        };
        let batch = presenter.batch(out, &wanted)?;
        if batch.is_empty() {
            break;
        }
        for mut p in batch {
            let named = (!presenter.one_reader()).then(|| p.reader.clone());
            let opened_before = g.shares.len();
            let step = loop {
                match gather_one(&mut p, named.clone(), req, &mut g, count, out) {
                    Err(CardProblem::Pulled {
                        card: Seen { card: Some(fp), .. },
                    }) if presenter.take_back(out, &mut p, &fp)? => {}
                    other => break other,
                }
            };
            match step {
                Ok(key) => {
                    let done = kept_as(&g, &key, opened_before);
                    presenter.keep(out, p, key, done)?
                }
                Err(problem) => {
                    out.tell(Event::Reshare(Told::Skipped {
                        problem: problem.clone(),
                    }));
                    problems.push(problem);
                    presenter.release(out, p, Done::Skipped)?;
                }
            }
        }
    }
    check_gathered(req, &g, &problems)?;
    Ok(g)
}

/// What phase 0 did with a card it keeps, as the custodian is told: registered for the new
/// set, else an old card that phase 2 wipes, whose share opened (the count of opened shares
/// grew from `opened_before`) or was not needed.
fn kept_as(g: &Gathered, key: &CardKey, opened_before: usize) -> Done {
    if g.members.iter().any(|m| m.is_card(key)) {
        Done::Registered
    } else if g.shares.len() > opened_before {
        Done::ShareOpened
    } else {
        Done::ToWipe
    }
}

/// Whether phase 0 gathered what phase 1 needs: a quorum of the old set, every card named
/// for re-use, the number of new-set cards asked for, and no card whose overwriting could
/// lose another master; `problems` are the cards skipped on the way, for the refusal.
fn check_gathered(
    req: &ReshareRequest<'_>,
    g: &Gathered,
    problems: &[CardProblem],
) -> Result<(), CeremonyError> {
    let problems = || problems.to_vec();
    let declined = |d: Declined| Err(CeremonyError::ReshareDeclined(d));
    let Some(old) = &g.old else {
        return declined(Declined::NoShareOpened {
            problems: problems(),
        });
    };
    if g.shares.len() < usize::from(old.threshold) {
        return declined(Declined::NotEnoughShares {
            opened: g.shares.len(),
            threshold: old.threshold,
            label: old.label.clone(),
            problems: problems(),
        });
    }
    for fp in req.reuse {
        if !g.members.iter().any(|m| {
            m.old_key
                .is_some_and(|k| k.fingerprint().eq_ignore_ascii_case(fp))
        }) {
            return declined(Declined::ReuseNotPresented {
                card: fp.clone(),
                problems: problems(),
            });
        }
    }
    if let Some(count) = req.count {
        if g.members.len() != usize::from(count) {
            return declined(Declined::CountMismatch {
                asked: count,
                can_join: g.members.len(),
                problems: problems(),
            });
        }
    }
    for m in &g.members {
        if let Some((command, key_check)) = &m.replaces {
            if command != "enroll" && *key_check != old.key_check {
                return declined(Declined::UnfinishedOfAnotherMaster {
                    card: m.card.key.fingerprint(),
                    command: command.clone(),
                    label: old.label.clone(),
                });
            }
        }
    }
    if g.members.is_empty() {
        return declined(Declined::NoNewSetCard {
            problems: problems(),
        });
    }
    Ok(())
}

/// Phase 0 for one card: opens its old share while the quorum needs it, registers it for
/// the new set when it is fresh (or holds an unfinished set to replace) or is named for
/// re-use and the new set still has room, else marks it for wiping. Returns the key it is
/// kept under for the later phases. `named` is the reader to name it by (every reader).
fn gather_one(
    p: &mut Presented,
    named: Option<String>,
    req: &ReshareRequest<'_>,
    g: &mut Gathered,
    count: usize,
    out: &mut dyn Progress,
) -> Result<CardKey, CardProblem> {
    let reader = p.reader.clone();
    let id = identify(&mut p.card, &reader).map_err(|e| CardProblem::Unidentified {
        cause: Shared::new(e),
    })?;
    let seen = Seen {
        card: id.key.map(|k| k.fingerprint()),
        reader: named,
    };
    if id.status.blocked {
        return Err(CardProblem::PinBlocked { card: seen });
    }
    let key = match (id.status.state, id.key) {
        (LifeCycle::Blank, _) | (_, None) => return Err(CardProblem::Blank { card: seen }),
        (_, Some(key)) => key,
    };
    if g.members.iter().any(|m| m.is_card(&key)) {
        return Err(CardProblem::AlreadyRegistered { card: seen });
    }
    if g.retire.iter().any(|o| o.key == key) {
        return Err(CardProblem::AlreadyPresented { card: seen });
    }
    let pulled = |left: bool, problem: CardProblem| match left {
        true => CardProblem::Pulled { card: seen.clone() },
        false => problem,
    };
    let replaces = match id.status.state {
        LifeCycle::Enrolled => unfinished_here(req, &mut p.card, &key, &seen)?,
        _ => None,
    };
    if id.status.state == LifeCycle::Personalised || replaces.is_some() {
        if replaces.is_some() {
            out.tell(Event::Reshare(Told::ReplacesUnfinished {
                card: seen.clone(),
            }));
        }
        let fingerprint = key.fingerprint();
        let pin = verify_pin(
            &mut p.card,
            &req.pins,
            &PinFor::card(&fingerprint, &reader),
            out,
        )
        .map_err(|e| pulled(e.card_left(), seen.pin_failed(e)))?;
        out.tell(Event::Reshare(Told::Registered {
            card: key.fingerprint(),
            n: g.members.len() + 1,
            of: count,
        }));
        g.members.push(NewMember {
            card: Registered {
                reader,
                key,
                capacity: id.room,
                pin,
                registration: p.card.stats(),
            },
            old_key: None,
            replaces,
            old_name: None,
        });
        return Ok(key);
    }
    let member = read_member_held(&mut p.card, &g.records)
        .map_err(|r| pulled(r.reason.card_left(), seen.not_a_member(&r)))?;
    of_old_set(req, &g.old, &member.record).map_err(|e| seen.not_of_the_old_set(&e))?;
    let need = usize::from(member.record.threshold);
    let mut accepted = None;
    if g.shares.len() < need && !g.shares.iter().any(|s| s.index() == member.record.index) {
        let (share, pin) = open_member_keeping_pin(&mut p.card, &member, &req.pins, &reader, out)
            .map_err(|r| {
            pulled(
                r.reason.card_left(),
                CardProblem::NotOpened {
                    who: r.who.text,
                    cause: Shared::new(r.reason),
                },
            )
        })?;
        g.shares.push(share);
        out.tell(Event::Reshare(Told::OldShareOpened {
            who: member.who.text.clone(),
            opened: g.shares.len(),
            need,
        }));
        accepted = Some(pin);
    }
    g.old.get_or_insert_with(|| member.record.clone());
    if is_reuse(req, &key) {
        let pin = match accepted {
            Some(pin) => pin,
            None => {
                let fingerprint = key.fingerprint();
                let who = PinFor::card(&fingerprint, &reader).named(custodian_name(&member.record));
                verify_pin(&mut p.card, &req.pins, &who, out)
                    .map_err(|e| pulled(e.card_left(), seen.pin_failed(e)))?
            }
        };
        let renewed = renew_key(&mut p.card, &id.select, &seen)?;
        out.tell(Event::Reshare(Told::ReuseRegistered {
            who: member.who.text.clone(),
            new_key: renewed.fingerprint(),
        }));
        g.members.push(NewMember {
            card: Registered {
                reader,
                key: renewed,
                capacity: id.room,
                pin,
                registration: p.card.stats(),
            },
            old_key: Some(key),
            replaces: None,
            old_name: custodian_name(&member.record).map(str::to_owned),
        });
    } else {
        g.retire.push(OldCard { reader, key });
    }
    Ok(key)
}

/// The error of an interrupted phase 1 or 2, saying which set is complete.
fn interrupted(phase: u8, cause: Cause, progress: &Standing) -> CeremonyError {
    Stopped::error(phase, cause, Some(progress))
}

/// The error of a reshare stopped on request (Ctrl-C, SIGTERM) between two card steps,
/// saying which set is complete; its exit status is the interruption's.
fn stopped(phase: u8, progress: &Standing) -> CeremonyError {
    interrupted(phase, Cause::StopRequested, progress)
}

/// A failure in phase 1 or 2: a stop request becomes [`stopped`], anything else [`interrupted`].
fn phase_error(phase: u8, e: CeremonyError, progress: &Standing) -> CeremonyError {
    match e {
        CeremonyError::Interrupted => stopped(phase, progress),
        other => interrupted(phase, Cause::Failed(Box::new(other)), progress),
    }
}

/// Phase 1 stopped while writing a card: a re-used old card that accepted its new record
/// (checked or not) no longer holds its old share, and the state said must count that.
fn write_failed(e: CeremonyError, reused: bool, progress: &mut Standing) -> CeremonyError {
    if let CeremonyError::Interrupted = e {
        return stopped(1, progress);
    }
    if reused && matches!(e, CeremonyError::WrittenUnchecked { .. }) {
        progress.old_gone += 1;
    }
    interrupted(1, Cause::Failed(Box::new(e)), progress)
}

fn report(m: &NewMember, card: &sharing::EnrolledCard) -> EnrolledCardReport {
    super::enroll::report(&m.card, card)
}

fn written_line(
    out: &mut dyn Progress,
    m: &NewMember,
    card: &sharing::EnrolledCard,
    progress: &Standing,
) {
    out.tell(Event::Reshare(Told::CardWritten {
        card: m.card.key.fingerprint(),
        index: card.index(),
        reused_from: m.old_key.map(|old| old.fingerprint()),
        standing: progress.clone(),
    }));
}

/// Phase 1: each registered card, handed back by the presenter (still connected with every
/// reader; inserted again, in any order, otherwise), gets its new record written, read back
/// and opened; a re-used old card only once enough fresh cards hold the new set that the
/// old one stays complete meanwhile.
#[allow(clippy::too_many_arguments)]
fn write_cards(
    presenter: &mut Presenter<'_>,
    req: &ReshareRequest<'_>,
    members: &[NewMember],
    enrollment: &Enrollment,
    progress: &mut Standing,
    wipe_follows: bool,
    journal: &mut dyn Journal,
    out: &mut dyn Progress,
) -> Result<Vec<EnrolledCardReport>, CeremonyError> {
    let total = members.len();
    let mut done = vec![false; total];
    let mut written = Vec::new();
    presenter.begin_recall(out, Event::Reshare(Told::WritingBegins));
    while written.len() < total {
        if presenter.interrupted() {
            return Err(stopped(1, progress));
        }
        let may_write = |reused| progress.may_write(reused);
        let judge = |key: &CardKey| match members
            .iter()
            .position(|m| m.is_card(key) || m.card.key == *key)
        {
            None => Err(Unwanted::NotRegisteredNewSet),
            Some(i) if done[i] => Err(Unwanted::AlreadyWrittenNewSet),
            Some(i) if !may_write(members[i].reused()) => Err(Unwanted::WouldLeaveNoCompleteSet),
            Some(i) => Ok(i),
        };
        let wanted = Wanted::RegisteredNewSet {
            written: written.len(),
            of: total,
        };
        let recalled = presenter
            .recall(out, &wanted, &judge)
            .map_err(|e| phase_error(1, e, progress))?;
        let Some(Recalled {
            presented: mut p,
            index: i,
            fresh,
        }) = recalled
        else {
            break;
        };
        let (m, card) = (&members[i], &enrollment.cards[i]);
        let reader = p.reader.clone();
        let verified = match fresh {
            true => reverify(
                &mut p.card,
                &m.card.pin,
                &req.pins,
                &PinFor::card(&m.old_key.unwrap_or(m.card.key).fingerprint(), &reader),
                out,
            ),
            false => Ok(()),
        };
        verified
            .and_then(|()| m.write(presenter, &mut p.card, &reader, card, &req.pins, out))
            .map_err(|e| write_failed(e, m.reused(), progress))?;
        journal.written(&m.card.key);
        progress.new_written += 1;
        if m.reused() {
            progress.old_gone += 1;
        }
        done[i] = true;
        written_line(out, m, card, progress);
        written.push(report(m, card));
        if written.len() == total && !wipe_follows {
            presenter.finish(out, p, Done::Written);
        } else {
            presenter
                .release(out, p, Done::Written)
                .map_err(|e| phase_error(1, e, progress))?;
        }
    }
    if written.len() < total {
        return Err(interrupted(1, Cause::NotAllWritten, progress));
    }
    written.sort_by_key(|w| w.index);
    Ok(written)
}

/// Phase 2: FACTORY RESET of the old cards the new set does not use: those present, or
/// with one reader, each asked for by fingerprint. Returns the cards wiped and those of
/// them that keep their key (OpenPGP cards).
fn wipe(
    presenter: &mut Presenter<'_>,
    retire: &[OldCard],
    pins: &PinPolicy<'_>,
    progress: &mut Standing,
    out: &mut dyn Progress,
) -> Result<(Vec<String>, Vec<String>), CeremonyError> {
    let mut wiped: Vec<String> = Vec::new();
    let mut keeping_key: Vec<String> = Vec::new();
    presenter.begin_recall(out, Event::Reshare(Told::WipingBegins));
    while wiped.len() < retire.len() {
        let left: Vec<String> = retire
            .iter()
            .map(|o| o.key.fingerprint())
            .filter(|fp| !wiped.contains(fp))
            .collect();
        let judge = |key: &CardKey| {
            retire
                .iter()
                .position(|o| o.key == *key && !wiped.contains(&key.fingerprint()))
                .ok_or(Unwanted::NotToWipe)
        };
        let wanted = Wanted::ToWipe { left };
        let recalled = presenter
            .recall(out, &wanted, &judge)
            .map_err(|e| phase_error(2, e, progress))?;
        let Some(Recalled {
            presented: mut p,
            index: i,
            ..
        }) = recalled
        else {
            break;
        };
        let o = &retire[i];
        if wipe_one(&mut p.card, &o.reader, &o.key, pins, progress, out)? {
            keeping_key.push(o.key.fingerprint());
        }
        wiped.push(o.key.fingerprint());
        if wiped.len() == retire.len() {
            presenter.finish(out, p, Done::Wiped);
        } else {
            presenter
                .release(out, p, Done::Wiped)
                .map_err(|e| phase_error(2, e, progress))?;
        }
    }
    Ok((wiped, keeping_key))
}

/// Wipes one old card's share; returns whether the card keeps its key (an OpenPGP card,
/// whose FACTORY RESET empties only the share's data objects).
fn wipe_one(
    session: &mut dyn CustodianCard,
    reader: &str,
    key: &CardKey,
    pins: &PinPolicy<'_>,
    progress: &mut Standing,
    out: &mut dyn Progress,
) -> Result<bool, CeremonyError> {
    let fp = key.fingerprint();
    let keeps_key = session.openpgp().is_some();
    // Erasing an OpenPGP card's share writes its data objects, which needs its user PIN
    // (the applet's FACTORY RESET needs none); a card opened in phase 0 still has it.
    if keeps_key {
        verify_pin(session, pins, &PinFor::card(&fp, reader), out).map_err(|e| match e {
            CeremonyError::Card { source, .. } => interrupted(
                2,
                Cause::WipeFailed {
                    card: fp.clone(),
                    reader: reader.to_owned(),
                    source,
                },
                progress,
            ),
            other => phase_error(2, other, progress),
        })?;
    }
    session.factory_reset().map_err(|source| {
        let cause = Cause::WipeFailed {
            card: fp.clone(),
            reader: reader.to_owned(),
            source,
        };
        interrupted(2, cause, progress)
    })?;
    progress.old_gone += 1;
    out.tell(Event::Reshare(Told::OldCardWiped {
        card: fp,
        keeps_key,
        standing: progress.clone(),
    }));
    Ok(keeps_key)
}

/// What resharing a set tells the people at the table as it goes (worded by the caller).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Told {
    /// Phase 0 begins: the old set's shares are opened and the new set's cards registered;
    /// nothing is written yet.
    GatheringBegins,
    /// A card cannot take part as it is; the ceremony goes on with the others.
    Skipped {
        /// The card and why.
        problem: CardProblem,
    },
    /// A card holding a set whose writing started and never completed (the ceremony log
    /// says so) joins the new set; its record will be overwritten.
    ReplacesUnfinished {
        /// The card.
        card: Seen,
    },
    /// A fresh card's PIN was accepted and it is registered for the new set.
    Registered {
        /// Its fingerprint.
        card: String,
        /// Its place among the new set's cards.
        n: usize,
        /// How many cards the new set has (with every reader: at most those present).
        of: usize,
    },
    /// An old card's share opened.
    OldShareOpened {
        /// The card, as the share step names it (fingerprint, custodian index and name).
        who: String,
        /// Shares opened so far.
        opened: usize,
        /// Shares the old set needs.
        need: usize,
    },
    /// An old card named for re-use is registered, with a new key pair that
    /// takes effect when its new record is written (the PIN stays).
    ReuseRegistered {
        /// The card, as the share step names it.
        who: String,
        /// The fingerprint of its new key pair.
        new_key: String,
    },
    /// One reader: the new set's cards are asked for, each with its PIN.
    RegisteringNewSet {
        /// How many cards the new set has.
        count: usize,
    },
    /// Phase 1 begins: the new set is written; the old set stays complete until the new
    /// one is.
    WritingSet {
        /// The new set's label.
        label: String,
        /// Its threshold.
        threshold: u8,
        /// Its number of cards.
        count: usize,
        /// Its set id, in hex.
        set_id: String,
    },
    /// Phase 1 begins: the cards registered for the new set come back to be written,
    /// fresh cards before re-used old ones.
    WritingBegins,
    /// A card of the new set holds its new record, read back and opened.
    CardWritten {
        /// Its fingerprint (a re-used card's new one).
        card: String,
        /// Its custodian index in the new set.
        index: u8,
        /// A re-used old card's old fingerprint: its old key is destroyed, so its old
        /// share never opens again.
        reused_from: Option<String>,
        /// Where the sets stand now.
        standing: Standing,
    },
    /// Phase 1 is done: the new set is complete and checked.
    SetWritten {
        /// Where the sets stand.
        standing: Standing,
    },
    /// Phase 2 begins: the old cards the new set does not use are wiped.
    Wiping {
        /// How many.
        count: usize,
    },
    /// Phase 2 begins: the old cards the new set does not use come back to be wiped.
    WipingBegins,
    /// An old card was wiped: an applet card by FACTORY RESET (it is blank now), an
    /// OpenPGP card by emptying its share's data objects (it keeps its key and PINs).
    OldCardWiped {
        /// Its fingerprint.
        card: String,
        /// An OpenPGP card: it keeps its key and PINs and can join another set as it is.
        keeps_key: bool,
        /// Where the sets stand now.
        standing: Standing,
    },
}

/// How a card met in phase 0 is named: by its key, and by its reader when every reader is
/// in use (with one reader, it is the one).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Seen {
    /// The card's fingerprint; `None` for a card with no key yet (blank).
    pub card: Option<String>,
    /// Its reader, with every reader.
    pub reader: Option<String>,
}

impl Seen {
    /// The PIN step failed on this card.
    fn pin_failed(&self, e: CeremonyError) -> CardProblem {
        CardProblem::PinFailed {
            card: self.clone(),
            cause: Shared::new(e),
        }
    }

    /// This card's record and key do not make it a member of a set.
    fn not_a_member(&self, r: &Refusal) -> CardProblem {
        CardProblem::NotAMember {
            card: self.clone(),
            cause: r.reason.to_string(),
        }
    }

    /// This card is not of the set being reshared.
    fn not_of_the_old_set(&self, r: &Refused) -> CardProblem {
        CardProblem::NotOfTheOldSet {
            card: self.clone(),
            cause: r.to_string(),
        }
    }
}

/// The card, in domain terms.
impl std::fmt::Display for Seen {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.card {
            Some(fp) => write!(f, "card {fp}")?,
            None => write!(f, "a card with no key")?,
        }
        match &self.reader {
            Some(reader) => write!(f, " in \"{reader}\""),
            None => Ok(()),
        }
    }
}

/// Why a card met in phase 0 cannot take part as it is: the card and the reason, so that
/// the ceremony can go on with the others and list them if it cannot. A `cause` is the
/// account the failing step gives of itself.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, thiserror::Error)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum CardProblem {
    /// SELECT, GET STATUS or the card's key failed.
    #[error("{cause}")]
    Unidentified {
        /// What failed.
        cause: Shared<CeremonyError>,
    },
    /// Its PIN is blocked.
    #[error("{card} has a blocked PIN")]
    PinBlocked {
        /// The card.
        card: Seen,
    },
    /// It has no key yet: it must be personalised to join the new set.
    #[error("{card} is blank: it must be personalised to join the new set")]
    Blank {
        /// The card.
        card: Seen,
    },
    /// The same card came twice.
    #[error("{card} is already registered (the same card twice)")]
    AlreadyRegistered {
        /// The card.
        card: Seen,
    },
    /// Its record could not be read to see whether it holds an unfinished set.
    #[error("{card}: its record cannot be read: {cause}")]
    RecordUnreadable {
        /// The card.
        card: Seen,
        /// What failed.
        cause: String,
    },
    /// Its record and key do not make it a member of a set.
    #[error("{card}: {cause}")]
    NotAMember {
        /// The card.
        card: Seen,
        /// Why not.
        cause: String,
    },
    /// Its record is of another set, disagrees with the set, or is newer than the bundle.
    #[error("{card} {cause}")]
    NotOfTheOldSet {
        /// The card.
        card: Seen,
        /// How it differs.
        cause: String,
    },
    /// The PIN step failed.
    #[error("{card}: {cause}")]
    PinFailed {
        /// The card.
        card: Seen,
        /// What failed.
        cause: Shared<CeremonyError>,
    },
    /// An old card's share did not open.
    #[error("{who}: {cause}")]
    NotOpened {
        /// The card, as the share step names it.
        who: String,
        /// Why.
        cause: Shared<Refused>,
    },
    /// A card named for re-use runs an applet that cannot give it the new key pair a
    /// re-used card needs (so that its old sealed share never opens again).
    #[error("{card} runs applet protocol {major}.{minor}, which cannot give a re-used card a new key pair (protocol 1.1 can)")]
    NoKeyRenewal {
        /// The card.
        card: Seen,
        /// Its applet protocol's major version.
        major: u8,
        /// Its minor version.
        minor: u8,
    },
    /// A card named for re-use is an OpenPGP card: it has no key renewal (its new key would
    /// need its admin PIN and would end its old key at once), and a re-used card needs one.
    #[error("{card} is an OpenPGP card, which cannot give a re-used card a new key pair while keeping its old one")]
    OpenPgpNoKeyRenewal {
        /// The card.
        card: Seen,
    },
    /// PREPARE KEY failed.
    #[error("{card}: {cause}")]
    KeyRenewalFailed {
        /// The card.
        card: Seen,
        /// What failed.
        cause: String,
    },
    /// PREPARE KEY answered a key that is not a valid point.
    #[error(
        "{card}: the new key it answered is invalid ({cause}); it is not a genuine quorum card"
    )]
    BadNewKey {
        /// The card.
        card: Seen,
        /// What is wrong with the key.
        cause: String,
    },
    /// An old card presented a second time (it is already to be wiped).
    #[error("{card} was already presented (the same card twice)")]
    AlreadyPresented {
        /// The card.
        card: Seen,
    },
    /// The card left its reader in the middle of its step (and did not come back).
    #[error("{card} left the reader before its step finished")]
    Pulled {
        /// The card.
        card: Seen,
    },
}

/// The problems of phase 0 as a list after a refusal ("" when there are none).
fn listing(problems: &[CardProblem]) -> String {
    if problems.is_empty() {
        return String::new();
    }
    let lines: Vec<String> = problems.iter().map(ToString::to_string).collect();
    format!(":\n  - {}", lines.join("\n  - "))
}

/// Why a reshare writes nothing: the set named is not the bundle's, the old set's quorum
/// or the new set's cards are not there, or writing would pass through a moment without
/// a complete set.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, thiserror::Error)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Declined {
    /// The set named to reshare is not the bundle's (found before any card is touched).
    #[error("the set to reshare ({named}) is not the bundle's set ({bundle})")]
    SetNotTheBundles {
        /// The set id named, in hex.
        named: String,
        /// The bundle's set id, in hex.
        bundle: String,
    },
    /// No share of the old set opened.
    #[error("no share of the old set could be opened; nothing was written{}", listing(.problems))]
    NoShareOpened {
        /// The cards skipped on the way.
        problems: Vec<CardProblem>,
    },
    /// Fewer shares of the old set opened than it needs.
    #[error("only {opened} of the {threshold} shares of the old set \"{label}\" could be opened; nothing was written{}", listing(.problems))]
    NotEnoughShares {
        /// Shares opened.
        opened: usize,
        /// Shares needed.
        threshold: u8,
        /// The old set's label.
        label: String,
        /// The cards skipped on the way.
        problems: Vec<CardProblem>,
    },
    /// A card named for re-use was not presented as a card of the old set.
    #[error("card {card}, named for re-use, was not presented as a card of the old set; nothing was written{}", listing(.problems))]
    ReuseNotPresented {
        /// The fingerprint named.
        card: String,
        /// The cards skipped on the way.
        problems: Vec<CardProblem>,
    },
    /// The number of new-set cards given is not the number that can join the new set.
    #[error("{asked} cards were asked for the new set but {can_join} can join it; nothing was written{}", listing(.problems))]
    CountMismatch {
        /// The number given.
        asked: u8,
        /// The cards that can join.
        can_join: usize,
        /// The cards skipped on the way.
        problems: Vec<CardProblem>,
    },
    /// A card holds an unfinished set that another ceremony started with another master:
    /// that ceremony's old set may no longer be complete, so the card may hold part of the
    /// only copy of its master.
    #[error("card {card} holds an unfinished set that a {command} started with another master than the set \"{label}\" being reshared, so it may hold part of the only copy of that master; it is not overwritten and nothing was written")]
    UnfinishedOfAnotherMaster {
        /// The card's fingerprint.
        card: String,
        /// The ceremony that started its set.
        command: String,
        /// The label of the set being reshared.
        label: String,
    },
    /// No card can hold the new set.
    #[error("no card can hold the new set; nothing was written{}", listing(.problems))]
    NoNewSetCard {
        /// The cards skipped on the way.
        problems: Vec<CardProblem>,
    },
    /// Writing the new set would pass through a moment where neither set is complete.
    #[error("re-using {reused} of the old set's cards with only {fresh} fresh card(s) would pass through a moment where neither the old set ({old_threshold}-of-{old_total}) nor the new one ({new_threshold}-of-{new_total}) is complete; nothing was written")]
    UnsafePlan {
        /// Old cards named for re-use.
        reused: usize,
        /// Fresh cards.
        fresh: usize,
        /// The old set's threshold.
        old_threshold: u8,
        /// Its number of cards (its newest version known).
        old_total: usize,
        /// The new set's threshold.
        new_threshold: u8,
        /// Its number of cards.
        new_total: usize,
    },
}

/// A reshare that stopped before its end: in which phase, why, and where the sets stand.
#[derive(Debug, thiserror::Error, serde::Serialize)]
#[error("the reshare stopped in phase {} of 3: {cause}; {}", .phase + 1, .standing.as_ref().map_or_else(|| "nothing was written".to_owned(), |s| format!("where the sets stand: {s}")))]
pub struct Stopped {
    /// 0: gathering (nothing written); 1: writing the new set; 2: wiping the old cards
    /// (said to people as phases 1 to 3 of 3).
    pub phase: u8,
    /// What stopped it.
    pub cause: Cause,
    /// Where the sets stand; `None` when the gathering failed and nothing was written
    /// (the cause's error is then the outcome).
    pub standing: Option<Standing>,
}

impl Stopped {
    /// The error of a reshare stopped in `phase` for `cause`.
    fn error(phase: u8, cause: Cause, standing: Option<&Standing>) -> CeremonyError {
        CeremonyError::ReshareStopped(Box::new(Stopped {
            phase,
            cause,
            standing: standing.cloned(),
        }))
    }
}

/// What stopped a reshare before its end.
#[derive(Debug, thiserror::Error, serde::Serialize)]
#[serde(tag = "kind", content = "detail", rename_all = "snake_case")]
pub enum Cause {
    /// A step failed; in phase 0 nothing was written, so this error is the outcome.
    #[error("{0}")]
    Failed(Box<CeremonyError>),
    /// The operator asked to stop (Ctrl-C, SIGTERM); the card step in progress was finished.
    #[error("stopped on request (Ctrl-C or a termination signal) after finishing the card step in progress")]
    StopRequested,
    /// The new set is on its cards, but its bundle could not be written (the caller's account).
    #[error("the new set is on its cards, but its bundle could not be written: {0}")]
    BundleNotWritten(String),
    /// A registered card did not come back to be written.
    #[error("not every registered card was written")]
    NotAllWritten,
    /// FACTORY RESET of an old card failed.
    #[error("wiping card {card} in \"{reader}\" failed: {source}")]
    WipeFailed {
        /// The card's fingerprint.
        card: String,
        /// Its reader.
        reader: String,
        /// What failed.
        #[source]
        #[serde(serialize_with = "crate::inspect::as_text")]
        source: quorum_card::card::CardError,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_card_of_protocol_1_0_cannot_be_re_used_and_is_asked_nothing() {
        use quorum_card::transport::scripted::ScriptedTransport;
        use quorum_protocol::apdu::{Capabilities, ProtocolVersion};
        let select = SelectInfo {
            version: ProtocolVersion { major: 1, minor: 0 },
            capabilities: Capabilities(0x07),
            state: LifeCycle::Enrolled,
            record_capacity: 8192,
        };
        // no command is scripted: the refusal comes from SELECT's capabilities alone
        let mut card = quorum_card::card::Card::with_trace(ScriptedTransport::new(), false);
        let seen = Seen {
            card: Some("1111-2222-3333-4444".into()),
            reader: None,
        };
        let e = renew_key(&mut card, &select, &seen).unwrap_err();
        assert_eq!(
            e,
            CardProblem::NoKeyRenewal {
                card: seen,
                major: 1,
                minor: 0
            }
        );
        assert!(e.to_string().contains("protocol 1.0"), "{e}");
    }
    use quorum_card::card::CardError;
    use quorum_card::transport::TransportError;

    /// An old 2-of-2 set, a new 1-of-2 set, nothing written yet.
    fn start() -> Standing {
        Standing {
            old_threshold: 2,
            old_total: 2,
            old_gone: 0,
            new_threshold: 1,
            new_total: 2,
            new_written: 0,
        }
    }

    #[test]
    fn a_reused_card_that_accepted_its_record_no_longer_counts_for_the_old_set() {
        let unchecked = || CeremonyError::WrittenUnchecked {
            card: "a1b2-c3d4-e5f6-0718".into(),
            reader: "r".into(),
        };
        let mut reused = start();
        let e = write_failed(unchecked(), true, &mut reused);
        assert_eq!(reused.old_gone, 1);
        let CeremonyError::ReshareStopped(ref stopped) = e else {
            panic!("{e}");
        };
        let Stopped {
            phase: 1,
            cause: Cause::Failed(ref cause),
            standing: Some(ref standing),
        } = **stopped
        else {
            panic!("{e}");
        };
        assert!(!standing.old_complete(), "{standing}");
        assert!(
            matches!(**cause, CeremonyError::WrittenUnchecked { .. }),
            "{cause}"
        );

        let mut fresh = start();
        write_failed(unchecked(), false, &mut fresh);
        assert_eq!(fresh.old_gone, 0);

        let mut not_written = start();
        let pulled = CeremonyError::card("r", CardError::Transport(TransportError::CardRemoved));
        let e = write_failed(pulled, true, &mut not_written);
        assert_eq!(not_written.old_gone, 0);
        assert!(
            matches!(e, CeremonyError::ReshareStopped(ref s)
                if s.standing.as_ref().is_some_and(Standing::old_complete)),
            "{e}"
        );
    }

    #[test]
    fn a_stop_request_says_where_the_sets_stand_and_nothing_else() {
        let mut progress = start();
        progress.new_written = 1;
        let e = write_failed(CeremonyError::Interrupted, false, &mut progress);
        assert!(
            matches!(
                e,
                CeremonyError::ReshareStopped(ref s) if matches!(
                    **s,
                    Stopped {
                        phase: 1,
                        cause: Cause::StopRequested,
                        standing: Some(Standing { new_written: 1, .. }),
                    }
                )
            ),
            "{e}"
        );
        assert!(!e.to_string().contains("--"), "{e}");
    }
}

#[cfg(test)]
mod in_memory;
