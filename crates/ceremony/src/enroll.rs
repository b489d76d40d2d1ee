//! Enrollment: register the cards (key and PIN checked), split and seal, then write, read
//! back and open every record (the health check of `verify`, done at once). Nothing is written to any card until every card has been
//! registered and its PIN accepted, so a refused card or a wrong PIN costs nothing.

use crate::presence::{CountOf, Done, Unwanted, Wanted};
use crate::progress::{Event, Progress};

use std::fmt;
use std::path::PathBuf;

use rand::rngs::OsRng;
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use quorum_card::card::{ApduStats, CardError};
use quorum_card::custodian::CustodianCard;
use quorum_card::readers::Readers;
use quorum_protocol::apdu::{LifeCycle, RecordHeader, RecordKey};
use quorum_protocol::crypto::hpke::ENC_LEN;
use quorum_protocol::crypto::wei25519::POINT_LEN;
use quorum_protocol::crypto::{CardKey, KeyCheck};
use quorum_protocol::record::PublicRecord;
use quorum_protocol::sharing::{self, EnrolledCard, Enrollment, NewCustodian, PublicPart};

use super::dry_run::{
    cards_present, one_by_one, pin_plan, planned, DryRun, Needed, Part, StillNeeded, Unchecked,
};
use super::log::{Evidence, Fingerprint, Verdict};
use super::pin_step::{reverify, verify_pin, Verified};
use super::pins::PinFor;
use super::presence::{Presented, Recalled};
use super::share::{custodian_label, LeftTheReader};
use super::{identify, CardsFrom, CeremonyError, Identity, Journal, PinPolicy, Presenter, Room};
use quorum_card::openpgp::RecordSource;

/// What the administrator asked for.
pub struct EnrollRequest<'a> {
    /// The secret to back up.
    pub master: &'a [u8],
    /// n.
    pub threshold: u8,
    /// m, when given; with every reader, the number of cards present must match it.
    pub count: Option<u8>,
    /// Set label.
    pub label: &'a str,
    /// Custodian names by card fingerprint.
    pub names: &'a [(String, String)],
    /// A plan's cards (fingerprints): any other card is refused before its PIN, and with
    /// every reader in use the planned cards must all be present.
    pub planned: Option<&'a [String]>,
    /// Where the cards come from.
    pub from: CardsFrom,
    /// How PINs reach the cards.
    pub pins: PinPolicy<'a>,
    /// Trace APDUs.
    pub trace: bool,
    /// Report APDU counts.
    pub stats: bool,
    /// `--replace-unfinished`: the ceremony log's evidence; a card holding a set that the
    /// log shows was started and never completed may be overwritten (see [`replaceable`]).
    pub replace_unfinished: Option<&'a Evidence>,
    /// Consulted between card steps and while waiting: the operator's Ctrl-C or SIGTERM.
    pub interrupt: &'a dyn crate::Interrupt,
}

/// One card of a finished enrollment.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct EnrolledCardReport {
    /// Reader it was written in.
    pub reader: String,
    /// Card fingerprint.
    pub fingerprint: String,
    /// Share index.
    pub index: u8,
    /// Custodian name.
    pub name: String,
    /// The card keeps only its sealed share (an OpenPGP card): its public record exists in
    /// the set's bundle alone, which every later ceremony with this card needs.
    pub record_in_bundle: bool,
}

/// The result of a complete enrollment.
pub struct EnrollOutcome {
    /// Set id, public parts and sealed parts as written.
    pub enrollment: Enrollment,
    /// Every card, in share-index order.
    pub cards: Vec<EnrolledCardReport>,
}

/// A card that passed registration for a new set (enroll, reshare): where it is, the key
/// its share is sealed to, its record capacity and the PIN it accepted (the presenter
/// keeps its connection when it can).
pub(super) struct Registered {
    pub(super) reader: String,
    pub(super) key: CardKey,
    pub(super) capacity: Room,
    pub(super) pin: Verified,
    /// What registering the card cost (`--stats`), counted in when it is written in another
    /// session.
    pub(super) registration: ApduStats,
}

/// Runs the whole enrollment; on any card failure the set is reported as not enrolled.
/// `journal` hears of the write phase before the first card changes (the ceremony log's
/// `started` line) and of each card written; a stop request (Ctrl-C) finishes the card
/// step in progress and then ends with a message that says which cards hold what.
pub fn enroll(
    ctx: &dyn Readers,
    req: &EnrollRequest<'_>,
    journal: &mut dyn Journal,
    out: &mut dyn Progress,
) -> Result<EnrollOutcome, CeremonyError> {
    let mut presenter = Presenter::new(ctx, req.from.clone(), req.trace, req.interrupt)?;
    check_threshold(req.threshold, req.count)?;
    let registered = register_cards(&mut presenter, req, out)?;
    let custodians: Vec<NewCustodian> = registered
        .iter()
        .enumerate()
        .map(|(i, r)| NewCustodian {
            card_key: r.key,
            name: name_for(req.names, &r.key, i + 1),
        })
        .collect();
    let enrollment = sharing::enroll(
        req.master,
        req.threshold,
        req.label,
        &custodians,
        &mut OsRng,
    )?;
    for (r, c) in registered.iter().zip(&enrollment.cards) {
        check_fits(&r.key, r.capacity, c)?;
    }
    presenter.check_interrupt()?;
    let keys: Vec<CardKey> = registered.iter().map(|r| r.key).collect();
    journal
        .starting(&enrollment.cards[0].record, &keys)
        .map_err(CeremonyError::StartNotLogged)?;
    out.tell(Event::Enroll(Told::Writing {
        label: req.label.to_owned(),
        threshold: req.threshold,
        cards: registered.len(),
        set_id: hex::encode(enrollment.set_id),
    }));
    let mut phase = WritePhase {
        req,
        enrollment: &enrollment,
        journal,
        written: Vec::new(),
    };
    let cards = write_cards(&mut presenter, &mut phase, registered, out)?;
    Ok(EnrollOutcome { enrollment, cards })
}

/// The dry run of [`enroll`]: the cards in the readers now admitted as the real run admits
/// them (with every reader, a refusal or a plan they cannot make is the real run's error);
/// once all `m` cards are known, the set is split from a stand-in secret of `master_len`
/// zero bytes (never the secret) to check that each record fits its card. No PIN is asked,
/// nothing is written, nothing is logged.
pub fn dry_run(
    ctx: &dyn Readers,
    req: &EnrollRequest<'_>,
    master_len: Option<usize>,
    out: &mut dyn Progress,
) -> Result<DryRun, CeremonyError> {
    check_threshold(req.threshold, req.count)?;
    let presented = cards_present(ctx, &req.from, req.trace, &RecordSource::new())?;
    let whole = !one_by_one(&req.from);
    let count = match (req.count, whole) {
        (Some(count), _) => usize::from(count),
        (None, true) => presented.len(),
        (None, false) => return Err(CeremonyError::CountNeeded(CountOf::Cards)),
    };
    let mut taken: Vec<CardKey> = Vec::new();
    let mut admitted: Vec<(Presented, CardKey, Room)> = Vec::new();
    let mut problems = Vec::new();
    let mut cards = Vec::new();
    for mut p in presented {
        if !whole && admitted.len() == count {
            cards.push(planned(&p.reader, None, None, Part::NotNeeded, None));
            continue;
        }
        match admit(&mut p, req, &taken, out) {
            Ok((key, room)) => {
                taken.push(key);
                admitted.push((p, key, room));
            }
            Err(rejection) => {
                let why = rejection.to_string();
                cards.push(planned(&p.reader, None, None, Part::Refused { why }, None));
                problems.push(rejection);
            }
        }
    }
    if whole {
        if !problems.is_empty() {
            return Err(CeremonyError::CardsRefused(problems));
        }
        check_plan(req, &taken, SoFar::NoPinAsked)?;
    }
    let complete = admitted.len() == count;
    let mut unchecked = vec![Unchecked::Pins];
    let sizes: Vec<Option<(u8, (usize, u16))>> = match (complete, master_len) {
        (true, Some(len)) => {
            let custodians: Vec<NewCustodian> = admitted
                .iter()
                .enumerate()
                .map(|(i, (_, key, _))| NewCustodian {
                    card_key: *key,
                    name: name_for(req.names, key, i + 1),
                })
                .collect();
            let stand_in = vec![0u8; len];
            let enrollment =
                sharing::enroll(&stand_in, req.threshold, req.label, &custodians, &mut OsRng)?;
            let mut sizes = Vec::new();
            for ((_, key, room), card) in admitted.iter().zip(&enrollment.cards) {
                check_fits(key, *room, card)?;
                sizes.push(Some((
                    card.index(),
                    room.need_and_have(card.public.len(), card.sealed.len()),
                )));
            }
            sizes
        }
        (true, None) => {
            unchecked.push(Unchecked::RecordSizes);
            vec![None; admitted.len()]
        }
        (false, _) => vec![None; admitted.len()],
    };
    for ((mut p, key, room), size) in admitted.into_iter().zip(sizes) {
        let fingerprint = key.fingerprint();
        let name = given_name(req.names, &key);
        let who = PinFor::card(&fingerprint, &p.reader).named(name);
        let pin = pin_plan(p.card.as_mut(), &req.pins, &who)?;
        let part = Part::NewShare {
            index: size.map(|(index, _)| index),
            size: size.map(|(_, size)| size),
            record_in_bundle: matches!(room, Room::HeaderAndSealed(_)),
            reused: false,
        };
        let name = name.map(str::to_owned);
        cards.push(planned(&p.reader, Some(fingerprint), name, part, Some(pin)));
    }
    cards.sort_by(|a, b| a.reader.cmp(&b.reader));
    let still_needed = (!complete).then(|| {
        unchecked.push(Unchecked::CardsToCome);
        StillNeeded {
            cards: count - taken.len().min(count),
            any_of: req
                .names
                .iter()
                .filter(|(fp, _)| {
                    !taken
                        .iter()
                        .any(|k| k.fingerprint().eq_ignore_ascii_case(fp))
                })
                .map(|(_, name)| name.clone())
                .collect(),
            role: Needed::Custodians,
        }
    });
    Ok(DryRun {
        cards,
        still_needed,
        unchecked,
    })
}

/// Refuses, before any card is asked for a PIN, a threshold no set of these cards can have:
/// 0, or more than the number of cards when it is given.
pub fn check_threshold(threshold: u8, count: Option<u8>) -> Result<(), CeremonyError> {
    if threshold == 0 {
        return Err(CeremonyError::EnrollPlan(PlanRefused::ThresholdZero));
    }
    match count {
        Some(shares) if threshold > shares => Err(CeremonyError::EnrollPlan(
            PlanRefused::ThresholdAboveShares { threshold, shares },
        )),
        _ => Ok(()),
    }
}

/// The write phase's state: what is written so far, for the journal and for the account
/// of where things stand if it stops.
struct WritePhase<'r, 'a> {
    req: &'r EnrollRequest<'a>,
    enrollment: &'r Enrollment,
    journal: &'r mut dyn Journal,
    written: Vec<EnrolledCardReport>,
}

impl WritePhase<'_, '_> {
    /// The card `reg` holds its share, checked: journal and report it.
    fn done(&mut self, reg: &Registered, card: &EnrolledCard) {
        self.journal.written(&reg.key);
        self.written.push(report(reg, card));
    }

    /// The error of a write phase stopped on request, saying which cards hold what.
    fn stopped(&self, registered: &[CardKey]) -> CeremonyError {
        CeremonyError::EnrollStopped(where_things_stand(
            self.req,
            self.enrollment,
            registered,
            &self.written,
            self.journal.records(),
        ))
    }

    /// A stop request seen by the presenter becomes the write phase's own account.
    fn map_stop(&self, e: CeremonyError, registered: &[CardKey]) -> CeremonyError {
        match e {
            CeremonyError::Interrupted => self.stopped(registered),
            other => other,
        }
    }
}

/// Where an enrollment stopped in its write phase stands: which cards hold a share of the
/// unfinished set and which do not, and whether the log recorded its start.
fn where_things_stand(
    req: &EnrollRequest<'_>,
    enrollment: &Enrollment,
    registered: &[CardKey],
    written: &[EnrolledCardReport],
    logged: bool,
) -> Standing {
    Standing {
        set: SetName::of(&enrollment.cards[0].record),
        threshold: req.threshold,
        cards: registered.len(),
        written: written.to_vec(),
        unwritten: registered
            .iter()
            .map(CardKey::fingerprint)
            .filter(|fp| !written.iter().any(|w| &w.fingerprint == fp))
            .collect(),
        start_logged: logged,
    }
}

/// Refuses, before anything is written, a record larger than its card's record capacity.
pub(super) fn check_fits(
    key: &CardKey,
    room: Room,
    card: &EnrolledCard,
) -> Result<(), CeremonyError> {
    let (size, capacity) = room.need_and_have(card.public.len(), card.sealed.len());
    if size > usize::from(capacity) {
        return Err(CeremonyError::RecordTooLarge {
            card: key.fingerprint(),
            size,
            capacity,
        });
    }
    Ok(())
}

/// The custodian name given for a card, if one was.
pub(super) fn given_name<'n>(names: &'n [(String, String)], key: &CardKey) -> Option<&'n str> {
    let fp = key.fingerprint();
    names
        .iter()
        .find(|(f, _)| f.eq_ignore_ascii_case(&fp))
        .map(|(_, n)| n.as_str())
}

/// The custodian name given for a card, or "custodian K" by its position.
pub(super) fn name_for(names: &[(String, String)], key: &CardKey, position: usize) -> String {
    let fp = key.fingerprint();
    names
        .iter()
        .find(|(f, _)| f.eq_ignore_ascii_case(&fp))
        .map_or_else(|| format!("custodian {position}"), |(_, n)| n.clone())
}

/// Whether a card holding a set may be overwritten by an enrollment that replaces
/// unfinished sets: the ceremony log shows that set started on this card and never
/// completed, the card is the one its record was sealed to, and, for a set a reshare
/// started, the master is the one being enrolled (that reshare's old set may be gone, so
/// its new set may hold the only copy of a master). `Ok` says what will be overwritten;
/// `Err` why the card is refused.
pub fn replaceable(
    evidence: &Evidence,
    record: &PublicRecord,
    key: &CardKey,
    master: &[u8],
) -> Result<UnfinishedSet, NotReplaceable> {
    let set = SetName::of(record);
    let log = evidence.path().to_path_buf();
    if record.custodian(record.index).map(|c| c.card_key) != Some(*key) {
        return Err(NotReplaceable::Copied { set });
    }
    let start = |started: &crate::log::Started| LogStart {
        command: started.command.clone(),
        line: started.seq,
        log: log.clone(),
    };
    match evidence.judge(&record.set_id, &Fingerprint::of(key)) {
        Verdict::Unfinished(started) => {
            let start = start(started);
            if started.command != "enroll" && record.key_check != KeyCheck::of_master(master) {
                return Err(NotReplaceable::OtherMaster { set, start });
            }
            Ok(UnfinishedSet { set, start })
        }
        Verdict::Completed { seq } => Err(NotReplaceable::Completed {
            set,
            line: seq,
            log,
        }),
        Verdict::NotNamed(started) => Err(NotReplaceable::NotNamed {
            set,
            start: start(started),
        }),
        Verdict::Unknown => Err(NotReplaceable::Unknown { set, log }),
    }
}

/// `Some(set)` when a card holding a set is admitted for overwriting because the request
/// replaces unfinished sets (see [`replaceable`]); `Err` with the refusal otherwise.
fn admit_replacement(
    req: &EnrollRequest<'_>,
    id: &Identity,
    session: &mut dyn CustodianCard,
    reader: &str,
) -> Result<Option<UnfinishedSet>, Rejection> {
    let (Some(evidence), LifeCycle::Enrolled, false, Some(key)) = (
        req.replace_unfinished,
        id.status.state,
        id.status.blocked,
        id.key,
    ) else {
        return Ok(None);
    };
    let refused = |why: Refusal| Rejection::Refused {
        card: key.fingerprint(),
        reader: reader.to_owned(),
        why,
        set: None,
    };
    let unreadable = |problem: String| refused(Refusal::RecordUnreadable { problem });
    let public = session
        .get_record_public()
        .map_err(|e| unreadable(e.to_string()))?;
    let record = PublicRecord::decode(&public).map_err(|e| unreadable(e.to_string()))?;
    replaceable(evidence, &record, &key, req.master)
        .map(Some)
        .map_err(|why| refused(Refusal::NotReplaceable(Box::new(why))))
}

/// Why a card cannot join, or `None` if it can.
fn refusal(id: &Identity, registered: &[CardKey]) -> Option<Refusal> {
    if id.status.blocked {
        return Some(Refusal::Blocked);
    }
    match id.status.state {
        LifeCycle::Blank => return Some(Refusal::Blank),
        LifeCycle::Enrolled => return Some(Refusal::HoldsAnotherSet),
        LifeCycle::Personalised => {}
    }
    let key = id.key?;
    registered
        .iter()
        .position(|r| *r == key)
        .map(|i| Refusal::RegisteredTwice { position: i + 1 })
}

/// A refused card, with the set it holds when it holds one (read from its record).
fn rejected(
    id: &Identity,
    session: &mut dyn CustodianCard,
    reader: &str,
    why: Refusal,
) -> Rejection {
    let set = match id.status.state {
        LifeCycle::Enrolled => session
            .get_record_public()
            .ok()
            .and_then(|public| PublicRecord::decode(&public).ok())
            .map(|record| Box::new(HeldSet::of(&record))),
        _ => None,
    };
    Rejection::Refused {
        card: id.name(),
        reader: reader.to_owned(),
        why,
        set,
    }
}

/// Identifies a presented card and checks it may join (no PIN yet): its key and record
/// capacity, or why it is refused, naming it.
fn admit(
    p: &mut Presented,
    req: &EnrollRequest<'_>,
    taken: &[CardKey],
    out: &mut dyn Progress,
) -> Result<(CardKey, Room), Rejection> {
    let id = identify(&mut p.card, &p.reader).map_err(|e| Rejection::Unidentified {
        problem: crate::progress::Shared::new(e),
    })?;
    match admit_replacement(req, &id, &mut p.card, &p.reader)? {
        Some(unfinished) => {
            if let Some(i) = id.key.and_then(|k| taken.iter().position(|r| *r == k)) {
                return Err(Rejection::RegisteredTwice {
                    card: id.name(),
                    position: i + 1,
                });
            }
            out.tell(Event::Enroll(Told::Replacing {
                card: id.name(),
                reader: p.reader.clone(),
                unfinished,
            }));
        }
        None => {
            if let Some(why) = refusal(&id, taken) {
                return Err(rejected(&id, &mut p.card, &p.reader, why));
            }
        }
    }
    let key = id.key.expect("a personalised card has a key");
    if let Some(planned) = req.planned {
        let fingerprint = key.fingerprint();
        if !planned
            .iter()
            .any(|fp| fp.eq_ignore_ascii_case(&fingerprint))
        {
            return Err(rejected(&id, &mut p.card, &p.reader, Refusal::NotInPlan));
        }
    }
    Ok((key, id.room))
}

/// The registration pass: every card is identified and admitted before its PIN is checked,
/// so a refused card or a wrong PIN is found before any card is written. When the whole set
/// is in sight at once (every reader), any refusal or a plan the cards cannot make stops
/// the enrollment before anyone types a PIN; when cards come one by one, a refused card is
/// sent back and another is asked for.
fn register_cards(
    presenter: &mut Presenter<'_>,
    req: &EnrollRequest<'_>,
    out: &mut dyn Progress,
) -> Result<Vec<Registered>, CeremonyError> {
    let count = presenter.count_needed(req.count.map(usize::from), CountOf::Cards)?;
    presenter.announce(out, Event::Enroll(Told::Registering { count }));
    let mut registered: Vec<Registered> = Vec::new();
    let mut whole = false;
    while registered.len() < count {
        let wanted = Wanted::Custodian {
            n: registered.len() + 1,
            of: count,
            still: req
                .names
                .iter()
                .filter(|(fp, _)| {
                    !registered
                        .iter()
                        .any(|r| r.key.fingerprint().eq_ignore_ascii_case(fp))
                })
                .map(|(_, name)| name.clone())
                .collect(),
        };
        let batch = presenter.batch(out, &wanted)?;
        if batch.is_empty() {
            break;
        }
        whole = presenter.exhausted();
        let mut taken: Vec<CardKey> = registered.iter().map(|r| r.key).collect();
        let mut admitted: Vec<(Presented, CardKey, Room)> = Vec::new();
        let mut problems = Vec::new();
        for mut p in batch {
            match admit(&mut p, req, &taken, out) {
                Ok((key, capacity)) => {
                    taken.push(key);
                    admitted.push((p, key, capacity));
                }
                Err(rejection) if whole => problems.push(rejection),
                Err(rejection) => {
                    out.tell(Event::Enroll(Told::Refused { rejection }));
                    presenter.release(out, p, Done::Refused)?;
                }
            }
        }
        if whole {
            if !problems.is_empty() {
                return Err(CeremonyError::CardsRefused(problems));
            }
            check_plan(req, &taken, SoFar::NoPinAsked)?;
        }
        let total = if whole { admitted.len() } else { count };
        for (mut p, key, capacity) in admitted {
            let fingerprint = key.fingerprint();
            let verified = loop {
                let who = PinFor::card(&fingerprint, &p.reader).named(given_name(req.names, &key));
                match verify_pin(&mut p.card, &req.pins, &who, out) {
                    Err(e)
                        if e.card_left() && presenter.take_back(out, &mut p, &fingerprint)? => {}
                    other => break other,
                }
            };
            match verified {
                Ok(pin) => {
                    out.tell(Event::Enroll(Told::Registered {
                        card: fingerprint,
                        reader: p.reader.clone(),
                        n: registered.len() + 1,
                        of: total,
                    }));
                    registered.push(Registered {
                        reader: p.reader.clone(),
                        key,
                        capacity,
                        pin,
                        registration: p.card.stats(),
                    });
                    presenter.keep(out, p, key, Done::Registered)?;
                }
                Err(e) if whole => {
                    return Err(CeremonyError::RegistrationFailed {
                        card: fingerprint,
                        reader: p.reader.clone(),
                        error: Box::new(e),
                    })
                }
                Err(e) => {
                    out.tell(Event::Enroll(Told::PinRefused {
                        card: fingerprint,
                        problem: crate::progress::Shared::new(e),
                    }));
                    presenter.release(out, p, Done::Refused)?;
                }
            }
        }
    }
    if !whole {
        let keys: Vec<CardKey> = registered.iter().map(|r| r.key).collect();
        check_plan(req, &keys, SoFar::NothingWritten)?;
    }
    Ok(registered)
}

/// The plan as the cards make it: their count against the count asked for and the
/// threshold, and every custodian name given for a card that is among them. `so_far` says
/// what has happened so far.
fn check_plan(
    req: &EnrollRequest<'_>,
    keys: &[CardKey],
    so_far: SoFar,
) -> Result<(), CeremonyError> {
    if let Some(planned) = req.planned {
        let missing: Vec<(String, String)> = planned
            .iter()
            .filter(|fp| {
                !keys
                    .iter()
                    .any(|k| k.fingerprint().eq_ignore_ascii_case(fp))
            })
            .map(|fp| {
                let name = req
                    .names
                    .iter()
                    .find(|(f, _)| f.eq_ignore_ascii_case(fp))
                    .map(|(_, n)| n.clone())
                    .unwrap_or_default();
                (fp.clone(), name)
            })
            .collect();
        if !missing.is_empty() {
            return Err(CeremonyError::EnrollPlan(PlanRefused::PlannedMissing {
                missing,
                so_far,
            }));
        }
    }
    if let Some(count) = req.count {
        if keys.len() != usize::from(count) {
            return Err(CeremonyError::EnrollPlan(PlanRefused::SharesNotPresent {
                shares: count,
                present: keys.len(),
                so_far,
            }));
        }
    }
    if usize::from(req.threshold) > keys.len() {
        return Err(CeremonyError::EnrollPlan(
            PlanRefused::ThresholdAboveCards {
                threshold: req.threshold,
                present: keys.len(),
                so_far,
            },
        ));
    }
    let fingerprints: Vec<String> = keys.iter().map(CardKey::fingerprint).collect();
    for (fp, _) in req.names {
        if !fingerprints.iter().any(|f| f.eq_ignore_ascii_case(fp)) {
            return Err(CeremonyError::EnrollPlan(PlanRefused::NameNotAmongCards {
                fingerprint: fp.clone(),
                cards: fingerprints,
                so_far,
            }));
        }
    }
    Ok(())
}

/// Writes one card's record (the PIN was accepted in this session), reads it back, and
/// opens the new share with `key`: what every ceremony that writes a card does. With
/// [`RecordKey::Pending`] the record is written for the key PREPARE KEY made pending, which
/// becomes the card's key in the same commit (a re-used card in reshare).
#[allow(clippy::too_many_arguments)]
pub(super) fn write_and_check(
    session: &mut dyn CustodianCard,
    reader: &str,
    key: CardKey,
    renewal: RecordKey,
    pin: &Verified,
    card: &EnrolledCard,
    pins: &PinPolicy<'_>,
    out: &mut dyn Progress,
) -> Result<(), CeremonyError> {
    let stream = Zeroizing::new(card.put_record_stream());
    let put = |session: &mut dyn CustodianCard| match renewal {
        RecordKey::Present => session.put_record(&stream),
        RecordKey::Pending => session.put_record_renewing_key(&stream),
    };
    match put(session) {
        Err(CardError::PinNotVerified { .. }) => {
            session
                .select()
                .map_err(|e| CeremonyError::card(reader, e))?;
            let fingerprint = key.fingerprint();
            reverify(session, pin, pins, &PinFor::card(&fingerprint, reader), out)?;
            put(session).map_err(|e| CeremonyError::card(reader, e))?;
        }
        other => other.map_err(|e| CeremonyError::card(reader, e))?,
    }
    check_written(session, reader, key, card)
}

/// Checks a written record and opens the new share: from here on the card holds the new
/// record, so a failure must not read as "nothing changed". A protocol 1.3 card is checked
/// without reading its record back ([`check_vouched`]); an older card's is read back and
/// compared byte for byte.
fn check_written(
    session: &mut dyn CustodianCard,
    reader: &str,
    key: CardKey,
    card: &EnrolledCard,
) -> Result<(), CeremonyError> {
    if vouches(session) {
        return check_vouched(session, reader, key, card);
    }
    let public = session
        .get_record_public()
        .map_err(|e| after_commit(key, reader, e))?;
    let sealed = session
        .get_record_sealed()
        .map_err(|e| after_commit(key, reader, e))?;
    if public != card.public || sealed[..] != card.sealed[..] {
        return Err(CeremonyError::WrittenWrong {
            card: key.fingerprint(),
            reader: reader.to_owned(),
            problem: WriteCheck::Differs,
        });
    }
    check_opens(session, key, card, reader)
}

/// Whether the card tells the digest of its public part at SELECT (protocol 1.3) and
/// answers its sealed part with UNSEAL P1 = 01, so a record written need not be read back.
fn vouches(session: &dyn CustodianCard) -> bool {
    session
        .capabilities()
        .is_some_and(|c| c.header_at_select() && c.public_digest())
}

/// The 1.3 check of a written record, in two commands instead of reading it back: UNSEAL
/// P1 = 01 (the PIN is still valid) answers the sealed part after its `enc`, which must be
/// the one written and open, with the public part written as its aad, to the share its
/// commitment names; then SELECT (which ends the PIN session) answers the record header and
/// the SHA-256 of the public part the card holds, which must be those of the record written.
fn check_vouched(
    session: &mut dyn CustodianCard,
    reader: &str,
    key: CardKey,
    card: &EnrolledCard,
) -> Result<(), CeremonyError> {
    let differs = || CeremonyError::WrittenWrong {
        card: key.fingerprint(),
        reader: reader.to_owned(),
        problem: WriteCheck::Differs,
    };
    let (enc, ct) = card.sealed.split_at(ENC_LEN);
    let enc: [u8; ENC_LEN] = enc.try_into().expect("a sealed part starts with its enc");
    let mut same_ct = false;
    let opened = sharing::open_share_from_header(
        PublicPart::new(&card.public, &card.record),
        &enc,
        &key,
        &mut OsRng,
        |point| {
            let unsealed = session.unseal_with_sealed(point)?;
            same_ct = unsealed.ct[..] == *ct;
            Ok((*unsealed.x, unsealed.ct))
        },
    );
    match opened {
        Err(e @ sharing::UnsealError::Card(_)) => return Err(does_not_open(key, reader, e)),
        _ if !same_ct => return Err(differs()),
        Err(e) => return Err(does_not_open(key, reader, e)),
        Ok(_) => {}
    }
    session.select().map_err(|e| after_commit(key, reader, e))?;
    match session.record_header() {
        Some(header) if holds_written(&header, card) => Ok(()),
        _ => Err(differs()),
    }
}

/// Whether a 1.3 card's SELECT header is that of the record written: its set, version,
/// index, `enc` and the SHA-256 of its public part.
fn holds_written(header: &RecordHeader, card: &EnrolledCard) -> bool {
    let digest: [u8; 32] = Sha256::digest(&card.public).into();
    (header.set_id, header.set_version, header.index)
        == (
            card.record.set_id,
            card.record.set_version,
            card.record.index,
        )
        && header.enc[..] == card.sealed[..ENC_LEN]
        && header.public_digest == Some(digest)
}

/// One card's write step, redone when the card is pulled out too early: the custodian is
/// asked to put it back into the reader it was in, and then, from what the card holds, the
/// step goes on: a record that did not arrive whole is written again (the card kept its
/// previous record: PUT RECORD commits at its last piece), one that did is read back and
/// checked. `None` from a put-back that nobody answered in time gives the first failure.
#[allow(clippy::too_many_arguments)]
pub(super) fn write_redoing(
    presenter: &mut Presenter<'_>,
    session: &mut Box<dyn CustodianCard>,
    reader: &str,
    key: CardKey,
    old_key: Option<CardKey>,
    pin: &Verified,
    card: &EnrolledCard,
    pins: &PinPolicy<'_>,
    out: &mut dyn Progress,
) -> Result<(), CeremonyError> {
    let renewal = match old_key {
        Some(_) => RecordKey::Pending,
        None => RecordKey::Present,
    };
    let mut result = write_and_check(session, reader, key, renewal, pin, card, pins, out);
    loop {
        let error = match result {
            Err(e) if e.card_left() || matches!(e, CeremonyError::WrittenUnchecked { .. }) => e,
            other => return other,
        };
        let fingerprint = old_key.unwrap_or(key).fingerprint();
        out.tell(Event::Enroll(Told::PulledOut {
            card: fingerprint.clone(),
            reader: reader.to_owned(),
            holds_new_record: matches!(error, CeremonyError::WrittenUnchecked { .. }),
        }));
        // The old connection still holds the reader exclusively: close it first.
        *session = super::presence::closed_card();
        let is_it = |c: &mut dyn CustodianCard| -> Result<bool, CeremonyError> {
            let id = identify(c, reader)?;
            Ok(id.key.is_some_and(|k| k == key || Some(k) == old_key))
        };
        let back = match presenter.put_back(
            out,
            reader,
            &Wanted::Card {
                fingerprint: fingerprint.clone(),
            },
            &is_it,
        ) {
            Ok(Some(back)) => back,
            Ok(None) => return Err(error),
            // Stopped while waiting: a card that holds its new record unchecked must be
            // named as such, which the failure's own account does.
            Err(CeremonyError::Interrupted)
                if matches!(error, CeremonyError::WrittenUnchecked { .. }) =>
            {
                return Err(error)
            }
            Err(e) => return Err(e),
        };
        *session = back.card;
        result = resume(session, reader, key, renewal, pin, card, pins, out);
    }
}

/// The write step of a card that came back after it was pulled out: written again unless
/// it already holds the new record, which is then read back and checked.
#[allow(clippy::too_many_arguments)]
fn resume(
    session: &mut dyn CustodianCard,
    reader: &str,
    key: CardKey,
    renewal: RecordKey,
    pin: &Verified,
    card: &EnrolledCard,
    pins: &PinPolicy<'_>,
    out: &mut dyn Progress,
) -> Result<(), CeremonyError> {
    let fingerprint = key.fingerprint();
    let id = identify(session, reader)?;
    // A 1.3 card's SELECT (in identify) said what it holds; an older card's is read.
    let holds_new = id.status.state == LifeCycle::Enrolled
        && id.key == Some(key)
        && match session.record_header() {
            Some(header) if vouches(session) => holds_written(&header, card),
            _ => {
                session
                    .get_record_public()
                    .map_err(|e| CeremonyError::card(reader, e))?
                    == card.public
            }
        };
    reverify(session, pin, pins, &PinFor::card(&fingerprint, reader), out)?;
    out.tell(Event::Enroll(Told::Back {
        card: fingerprint,
        holds_new_record: holds_new,
    }));
    if holds_new {
        return check_written(session, reader, key, card);
    }
    write_and_check(session, reader, key, renewal, pin, card, pins, out)
}

/// A failure after the card accepted its whole record: a card that left the reader holds
/// the new record, unchecked, and is reported so; other failures say it themselves.
fn after_commit(key: CardKey, reader: &str, e: CardError) -> CeremonyError {
    if e.card_left() {
        unchecked(key, reader)
    } else {
        CeremonyError::card(reader, e)
    }
}

/// The card holds its new record but left the reader before it was read back and opened.
fn unchecked(key: CardKey, reader: &str) -> CeremonyError {
    CeremonyError::WrittenUnchecked {
        card: key.fingerprint(),
        reader: reader.to_owned(),
    }
}

/// The health check of `quorumctl verify`, right after writing: the card unseals its new
/// share and the share matches its commitment, so no set is left with an unreadable share.
pub(super) fn check_opens(
    session: &mut dyn CustodianCard,
    key: CardKey,
    card: &EnrolledCard,
    reader: &str,
) -> Result<(), CeremonyError> {
    sharing::open_share_decoded(
        PublicPart::new(&card.public, &card.record),
        &card.sealed,
        &key,
        &mut OsRng,
        |point: &[u8; POINT_LEN]| session.unseal(point).map(|x| *x),
    )
    .map(drop)
    .map_err(|e| does_not_open(key, reader, e))
}

/// A written share that did not open: the card left the reader (its record is unchecked),
/// or what it holds does not open.
fn does_not_open(key: CardKey, reader: &str, e: sharing::UnsealError<CardError>) -> CeremonyError {
    if e.card_left() {
        return unchecked(key, reader);
    }
    CeremonyError::WrittenWrong {
        card: key.fingerprint(),
        reader: reader.to_owned(),
        problem: WriteCheck::DoesNotOpen {
            problem: e.to_string(),
        },
    }
}

/// The error of a card whose write step failed: which card, why, and which cards already
/// hold a share of the unfinished set.
fn not_enrolled(
    reg: &Registered,
    card: &EnrolledCard,
    error: CeremonyError,
    written: &[EnrolledCardReport],
    logged: bool,
) -> CeremonyError {
    CeremonyError::EnrollWriteFailed(Box::new(WriteFailure {
        card: report(reg, card),
        unchecked: matches!(error, CeremonyError::WrittenUnchecked { .. }),
        error,
        holding: written.iter().map(|w| w.fingerprint.clone()).collect(),
        start_logged: logged,
    }))
}

pub(super) fn report(reg: &Registered, card: &EnrolledCard) -> EnrolledCardReport {
    EnrolledCardReport {
        record_in_bundle: matches!(reg.capacity, crate::Room::HeaderAndSealed(_)),
        ..EnrolledCardReport::new(&reg.reader, &reg.key, card)
    }
}

impl EnrolledCardReport {
    /// The report line of a card written with `card`'s record in `reader`.
    pub(super) fn new(reader: &str, key: &CardKey, card: &EnrolledCard) -> EnrolledCardReport {
        EnrolledCardReport {
            reader: reader.to_owned(),
            fingerprint: key.fingerprint(),
            index: card.index(),
            name: card
                .record
                .custodian(card.index())
                .map(|c| c.name.clone())
                .unwrap_or_default(),
            record_in_bundle: false,
        }
    }
}

/// With `--stats`, the APDU counts of the card: its registration and its write.
fn print_stats(out: &mut dyn Progress, req: &EnrollRequest<'_>, key: &CardKey, stats: ApduStats) {
    if req.stats {
        out.tell(Event::Enroll(Told::Stats {
            card: key.fingerprint(),
            stats,
        }));
    }
}

/// The write pass: each registered card, handed back by the presenter (still connected
/// with every reader; inserted again, in any order, otherwise), gets its share written,
/// read back and opened. A card inserted again verifies its PIN again first.
fn write_cards(
    presenter: &mut Presenter<'_>,
    phase: &mut WritePhase<'_, '_>,
    registered: Vec<Registered>,
    out: &mut dyn Progress,
) -> Result<Vec<EnrolledCardReport>, CeremonyError> {
    let keys: Vec<CardKey> = registered.iter().map(|r| r.key).collect();
    let (req, enrollment) = (phase.req, phase.enrollment);
    let total = registered.len();
    let mut done = vec![false; total];
    presenter.begin_recall(out, Event::Enroll(Told::WritingBegins));
    while phase.written.len() < total {
        if presenter.interrupted() {
            return Err(phase.stopped(&keys));
        }
        let judge = |key: &CardKey| match keys.iter().position(|k| k == key) {
            None => Err(Unwanted::NotRegistered),
            Some(i) if done[i] => Err(Unwanted::AlreadyWritten),
            Some(i) => Ok(i),
        };
        let wanted = Wanted::Registered {
            written: phase.written.len(),
            of: total,
            still: registered
                .iter()
                .zip(&done)
                .filter(|(_, done)| !**done)
                .map(|(r, _)| {
                    given_name(req.names, &r.key)
                        .map_or_else(|| format!("card {}", r.key.fingerprint()), str::to_owned)
                })
                .collect(),
        };
        let recalled = presenter
            .recall(out, &wanted, &judge)
            .map_err(|e| phase.map_stop(e, &keys))?;
        let Some(Recalled {
            presented: mut p,
            index: i,
            fresh,
        }) = recalled
        else {
            break;
        };
        let (reg, card) = (&registered[i], &enrollment.cards[i]);
        let fingerprint = reg.key.fingerprint();
        let reader = p.reader.clone();
        let verified = match fresh {
            true => {
                let who =
                    PinFor::card(&fingerprint, &reader).named(given_name(req.names, &reg.key));
                reverify(&mut p.card, &reg.pin, &req.pins, &who, out)
            }
            false => Ok(()),
        };
        let result = verified.and_then(|()| {
            write_redoing(
                presenter,
                &mut p.card,
                &reader,
                reg.key,
                None,
                &reg.pin,
                card,
                &req.pins,
                out,
            )
        });
        if let Err(e) = result {
            if let CeremonyError::Interrupted = e {
                return Err(phase.stopped(&keys));
            }
            return Err(not_enrolled(
                reg,
                card,
                e,
                &phase.written,
                phase.journal.records(),
            ));
        }
        out.tell(Event::Enroll(Told::ShareWritten {
            card: fingerprint,
            index: card.index(),
            name: report(reg, card).name,
        }));
        // A card inserted again was registered in a session of its own.
        let earlier = if fresh {
            reg.registration
        } else {
            ApduStats::default()
        };
        print_stats(out, req, &reg.key, p.card.stats().plus(&earlier));
        done[i] = true;
        phase.done(reg, card);
        if phase.written.len() == total {
            presenter.finish(out, p, Done::ShareWritten);
        } else {
            presenter
                .release(out, p, Done::ShareWritten)
                .map_err(|e| phase.map_stop(e, &keys))?;
        }
    }
    let mut written = std::mem::take(&mut phase.written);
    written.sort_by_key(|w| w.index);
    Ok(written)
}

/// What enrolling a set tells the people at the table as it goes (worded by the caller).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Told {
    /// One by one, `count` custodians insert their cards and enter their PINs.
    Registering {
        /// The cards to register.
        count: usize,
    },
    /// The write pass begins: each registered card comes back, in any order.
    WritingBegins,
    /// A card holding a set the ceremony log shows unfinished is admitted, to be overwritten.
    Replacing {
        /// The card's fingerprint.
        card: String,
        /// Where it is.
        reader: String,
        /// The unfinished set it holds, and the log line of its start.
        unfinished: UnfinishedSet,
    },
    /// A card presented one by one is refused (no PIN asked); another is asked for.
    Refused {
        /// The card and why.
        rejection: Rejection,
    },
    /// A card presented one by one failed at its PIN; another is asked for.
    PinRefused {
        /// The card's fingerprint.
        card: String,
        /// What failed.
        problem: crate::progress::Shared<CeremonyError>,
    },
    /// A card's PIN was accepted: it is registered for the new set.
    Registered {
        /// The card's fingerprint.
        card: String,
        /// Where it is.
        reader: String,
        /// Its place in the registration order (its share index to be).
        n: usize,
        /// The cards to register.
        of: usize,
    },
    /// The set is split and sealed, its start logged: the write phase begins.
    Writing {
        /// Set label.
        label: String,
        /// n.
        threshold: u8,
        /// m.
        cards: usize,
        /// Set id, hex.
        set_id: String,
    },
    /// A card left the reader in the middle of its write step; it is asked back.
    PulledOut {
        /// The card's fingerprint.
        card: String,
        /// The reader it left.
        reader: String,
        /// Whether it had accepted its whole new record (only the check is left to do).
        holds_new_record: bool,
    },
    /// A pulled card is back: its check, or its whole write step, is done again.
    Back {
        /// The card's fingerprint.
        card: String,
        /// Whether it holds its new record (checked now) or kept its previous one (written again).
        holds_new_record: bool,
    },
    /// A card holds its share: written, read back, opened, and it matches its commitment.
    ShareWritten {
        /// The card's fingerprint.
        card: String,
        /// Share index.
        index: u8,
        /// Custodian name.
        name: String,
    },
    /// The APDU counts of the session that wrote a card after SELECT (`stats` asked for).
    Stats {
        /// The card's fingerprint.
        card: String,
        /// The counts.
        #[serde(serialize_with = "counts")]
        stats: ApduStats,
    },
}

/// [`ApduStats`] as a JSON object of its counts (the card crate has no serde).
fn counts<S: serde::Serializer>(stats: &ApduStats, s: S) -> Result<S::Ok, S::Error> {
    use serde::ser::SerializeStruct;
    let mut fields = s.serialize_struct("ApduStats", 7)?;
    fields.serialize_field("commands", &stats.commands)?;
    fields.serialize_field("continuations", &stats.continuations)?;
    fields.serialize_field("controls", &stats.controls)?;
    fields.serialize_field("bytes_sent", &stats.bytes_sent)?;
    fields.serialize_field("bytes_received", &stats.bytes_received)?;
    fields.serialize_field("selects", &stats.selects)?;
    fields.serialize_field("reader_queries", &stats.reader_queries)?;
    fields.end()
}

/// A set as people recognise it: its label and id.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SetName {
    /// Set label.
    pub label: String,
    /// Set id, hex.
    pub id: String,
}

impl SetName {
    /// The set a record belongs to.
    pub fn of(record: &PublicRecord) -> SetName {
        SetName {
            label: record.label.clone(),
            id: hex::encode(record.set_id),
        }
    }
}

impl fmt::Display for SetName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "set \"{}\" (id {})", self.label, self.id)
    }
}

/// The set a refused card already holds, and its place in it, so people recognise it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct HeldSet {
    /// Set label.
    pub label: String,
    /// n.
    pub threshold: u8,
    /// m.
    pub count: usize,
    /// Set id, hex.
    pub id: String,
    /// The card's share index.
    pub index: u8,
    /// The custodian's name.
    pub custodian: String,
}

impl HeldSet {
    /// The set a card's public record describes.
    pub fn of(record: &PublicRecord) -> HeldSet {
        let m = super::inspect::SetMembership::from_record(record);
        HeldSet {
            label: m.label,
            threshold: m.threshold,
            count: m.count,
            id: m.set_id,
            index: m.index,
            custodian: m.custodian,
        }
    }
}

impl fmt::Display for HeldSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "set \"{}\" ({}-of-{}, id {}), {}",
            self.label,
            self.threshold,
            self.count,
            self.id,
            custodian_label(self.index, &self.custodian)
        )
    }
}

/// The `started` line of a set in the ceremony log: the evidence for overwriting its cards.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct LogStart {
    /// The ceremony that started writing the set (`enroll` or `reshare`).
    pub command: String,
    /// Its line number.
    pub line: u64,
    /// The ceremony log.
    pub log: PathBuf,
}

/// A set the ceremony log shows started and never completed: its cards may be overwritten.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct UnfinishedSet {
    /// The set.
    pub set: SetName,
    /// The log line of its start.
    pub start: LogStart,
}

/// Why a card holding a set may not be overwritten, even when unfinished sets may be.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum NotReplaceable {
    /// Its record was sealed to another card (a copied record).
    Copied {
        /// The set of the record.
        set: SetName,
    },
    /// A reshare started the set, and with another master than the one being enrolled:
    /// that reshare's old set may be gone, so this set may hold the only copy of a master.
    OtherMaster {
        /// The set.
        set: SetName,
        /// The log line of its start.
        start: LogStart,
    },
    /// The log shows the set completed (in use).
    Completed {
        /// The set.
        set: SetName,
        /// The line that shows it.
        line: u64,
        /// The ceremony log.
        log: PathBuf,
    },
    /// The set's start is logged, but does not name this card.
    NotNamed {
        /// The set.
        set: SetName,
        /// The log line of its start.
        start: LogStart,
    },
    /// The log has no record of the set's start: nothing shows it unfinished.
    Unknown {
        /// The set.
        set: SetName,
        /// The ceremony log.
        log: PathBuf,
    },
}

impl fmt::Display for NotReplaceable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NotReplaceable::Copied { set } => write!(
                f,
                "holds a record of {set} that was not sealed to it (a copied record); it is refused"
            ),
            NotReplaceable::OtherMaster { set, start } => write!(
                f,
                "holds {set}, which a {command} started (line {line} of the ceremony log {log}) and never completed, with another master than the one being enrolled: that {command}'s old set may no longer be complete, so this set may hold the only copy of its master; recover it first, or factory-reset the card if you are sure",
                command = start.command,
                line = start.line,
                log = start.log.display()
            ),
            NotReplaceable::Completed { set, line, log } => write!(
                f,
                "holds {set}, which completed (line {line} of the ceremony log {} records it in use): only sets whose enrollment never completed are overwritten, so it is refused",
                log.display()
            ),
            NotReplaceable::NotNamed { set, start } => write!(
                f,
                "holds {set}, but the start of that set (line {} of the ceremony log {}) does not name this card; it is refused",
                start.line,
                start.log.display()
            ),
            NotReplaceable::Unknown { set, log } => write!(
                f,
                "holds {set}, and the ceremony log {} has no record of that set's start, so nothing shows that its enrollment never completed: if it was interrupted, the log that ceremony used has that record; otherwise factory-reset the card and personalise it again",
                log.display()
            ),
        }
    }
}

/// Why a card cannot join a new set.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Refusal {
    /// Its PIN is blocked (only a factory reset makes it usable).
    Blocked,
    /// It has no key yet: it must be personalised first.
    Blank,
    /// It holds a share of another set, which enrolling it would destroy.
    HoldsAnotherSet,
    /// It is already registered for this set (the same card twice).
    RegisteredTwice {
        /// Its place in the registration order.
        position: usize,
    },
    /// It holds a set, but its record, needed to judge whether it may be overwritten, cannot be read.
    RecordUnreadable {
        /// The failure, as it describes itself.
        problem: String,
    },
    /// It holds a set that may not be overwritten.
    NotReplaceable(Box<NotReplaceable>),
    /// The ceremony follows a plan that does not name this card.
    NotInPlan,
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::Blocked => f.write_str(
                "has a blocked PIN; it cannot be enrolled (a factory reset makes it usable again)",
            ),
            Refusal::Blank => f.write_str("is blank; personalise it first"),
            Refusal::HoldsAnotherSet => f.write_str("already holds a share of another set; enrolling it would destroy that share, so it is refused"),
            Refusal::RegisteredTwice { position } => write!(
                f,
                "was already registered as card {position} of this set (the same card twice)"
            ),
            Refusal::RecordUnreadable { problem } => {
                write!(f, "its record cannot be read: {problem}")
            }
            Refusal::NotReplaceable(why) => write!(f, "{why}"),
            Refusal::NotInPlan => f.write_str("is not one of the planned cards"),
        }
    }
}

/// A card refused at registration, named, with the reason.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Rejection {
    /// The card could not be identified (SELECT, GET STATUS or its key failed).
    Unidentified {
        /// What failed (it names the reader).
        problem: crate::progress::Shared<CeremonyError>,
    },
    /// The card in `reader` cannot join.
    Refused {
        /// The card's fingerprint, or a description of a card without key.
        card: String,
        /// Where it is.
        reader: String,
        /// Why.
        why: Refusal,
        /// The set it holds, when its record could be read.
        set: Option<Box<HeldSet>>,
    },
    /// A card admitted for overwriting that was already registered (the same card twice).
    RegisteredTwice {
        /// The card's fingerprint.
        card: String,
        /// Its place in the registration order.
        position: usize,
    },
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Rejection::Unidentified { problem } => problem.fmt(f),
            Rejection::Refused {
                card,
                reader,
                why,
                set,
            } => {
                let sep = match why {
                    Refusal::RecordUnreadable { .. } => ": ",
                    _ => " ",
                };
                write!(f, "card {card} in \"{reader}\"{sep}{why}")?;
                match set {
                    Some(set) => write!(f, " ({set})"),
                    None => Ok(()),
                }
            }
            Rejection::RegisteredTwice { card, position } => write!(
                f,
                "card {card} was already registered as card {position} of this set (the same card twice)"
            ),
        }
    }
}

/// The cards refused when the whole set was in sight, one per line.
pub struct Rejections<'a>(pub &'a [Rejection]);

impl fmt::Display for Rejections<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}, because {}:",
            SoFar::NoPinAsked,
            match self.0.len() {
                1 => "a card was refused",
                _ => "cards were refused",
            }
        )?;
        for rejection in self.0 {
            write!(f, "\n  - {rejection}")?;
        }
        Ok(())
    }
}

/// What had happened when a plan was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SoFar {
    /// The whole set was in sight: refused before any PIN.
    NoPinAsked,
    /// The cards came one by one: their PINs were checked, nothing was written.
    NothingWritten,
}

impl fmt::Display for SoFar {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SoFar::NoPinAsked => "no PIN was asked and nothing was written",
            SoFar::NothingWritten => "nothing was written",
        })
    }
}

/// A set the request and the cards cannot make, refused before anything is written.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum PlanRefused {
    /// A threshold of 0 (no card could recover it).
    ThresholdZero,
    /// A threshold above the number of cards asked for.
    ThresholdAboveShares {
        /// n.
        threshold: u8,
        /// m, as asked.
        shares: u8,
    },
    /// The number of cards asked for is not the number present.
    SharesNotPresent {
        /// m, as asked.
        shares: u8,
        /// The personalised cards present.
        present: usize,
        /// What had happened.
        so_far: SoFar,
    },
    /// A threshold above the number of cards present.
    ThresholdAboveCards {
        /// n.
        threshold: u8,
        /// The personalised cards present.
        present: usize,
        /// What had happened.
        so_far: SoFar,
    },
    /// Cards the plan names are not among the cards present.
    PlannedMissing {
        /// Each missing card's fingerprint and its custodian's name.
        missing: Vec<(String, String)>,
        /// What had happened.
        so_far: SoFar,
    },
    /// A custodian name given for a card that is not among the cards.
    NameNotAmongCards {
        /// The fingerprint as given.
        fingerprint: String,
        /// The cards' fingerprints.
        cards: Vec<String>,
        /// What had happened.
        so_far: SoFar,
    },
}

impl fmt::Display for PlanRefused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PlanRefused::ThresholdZero => f.write_str("a threshold of 0 is impossible: a set needs at least one card to recover; nothing was done"),
            PlanRefused::ThresholdAboveShares { threshold, shares } => write!(
                f,
                "a threshold of {threshold} is more than the {shares} cards asked for: a set of {shares} cards can need at most {shares}; nothing was done"
            ),
            PlanRefused::SharesNotPresent { shares, present, so_far } => write!(
                f,
                "the set was NOT enrolled: {shares} cards were asked for but {present} personalised cards are present; {so_far}"
            ),
            PlanRefused::ThresholdAboveCards { threshold, present, so_far } => write!(
                f,
                "a threshold of {threshold} needs at least {threshold} cards, but {present} personalised card(s) are present; insert more cards or lower the threshold; {so_far}"
            ),
            PlanRefused::PlannedMissing { missing, so_far } => write!(
                f,
                "the set was NOT enrolled: the planned card(s) {} are not present; {so_far}",
                missing_cards(missing)
            ),
            PlanRefused::NameNotAmongCards { fingerprint, cards, so_far } => write!(
                f,
                "a custodian name is given for card {fingerprint}, but no card with fingerprint {fingerprint} is among the cards ({}); {so_far}",
                cards.join(", ")
            ),
        }
    }
}

/// Planned cards as people know them: "Bob (card 0f0e-…)".
pub fn missing_cards(missing: &[(String, String)]) -> String {
    missing
        .iter()
        .map(|(fp, name)| match name.is_empty() {
            true => format!("card {fp}"),
            false => format!("{name} (card {fp})"),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// What the check of a freshly written record found wrong.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum WriteCheck {
    /// The record read back differs from the one written: the card is faulty.
    Differs,
    /// The card does not open its new share.
    DoesNotOpen {
        /// The failure, as it describes itself.
        problem: String,
    },
}

impl fmt::Display for WriteCheck {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WriteCheck::Differs => {
                f.write_str("returned a record different from the one written; the card is faulty")
            }
            WriteCheck::DoesNotOpen { problem } => {
                write!(f, "was written but does not open its new share: {problem}")
            }
        }
    }
}

/// A card of the new set whose write step failed, and the cards already holding a share.
#[derive(Debug, serde::Serialize)]
pub struct WriteFailure {
    /// The card, its share index, custodian name and reader.
    pub card: EnrolledCardReport,
    /// What failed.
    pub error: CeremonyError,
    /// Whether the card holds its new record, unchecked (it accepted all of it, then left).
    pub unchecked: bool,
    /// The fingerprints of the cards that hold their share, checked.
    pub holding: Vec<String>,
    /// Whether the ceremony log recorded the write phase's start (the evidence for
    /// overwriting these cards later with no factory reset).
    pub start_logged: bool,
}

impl WriteFailure {
    /// Whether any card was changed: one holds its share, or the failed one its new record.
    pub fn cards_changed(&self) -> bool {
        self.unchecked || !self.holding.is_empty()
    }
}

impl fmt::Display for WriteFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let c = &self.card;
        write!(
            f,
            "writing card {} ({}) in \"{}\" failed: {}; ",
            c.fingerprint,
            custodian_label(c.index, &c.name),
            c.reader,
            self.error
        )?;
        if !self.cards_changed() {
            return f.write_str("no card was written");
        }
        let mut changed = self.holding.clone();
        if self.unchecked {
            changed.push(format!("{} (unchecked)", c.fingerprint));
        }
        write!(
            f,
            "cards already written with this unfinished set: {}. Their shares are of no use without the rest of the set: {}",
            changed.join(", "),
            if self.start_logged {
                "the ceremony log records this set's start, so they can be overwritten with no factory reset"
            } else {
                "its start was not logged, so each one must be factory-reset and personalised again before enrolling again"
            }
        )
    }
}

/// Where an enrollment stopped on request in its write phase stands.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Standing {
    /// The unfinished set.
    pub set: SetName,
    /// n.
    pub threshold: u8,
    /// m: the cards registered.
    pub cards: usize,
    /// The cards that hold their share (written, read back and checked), in the order written.
    pub written: Vec<EnrolledCardReport>,
    /// The fingerprints of the registered cards not written.
    pub unwritten: Vec<String>,
    /// Whether the ceremony log recorded the write phase's start (the evidence for
    /// overwriting the written cards later with no factory reset).
    pub start_logged: bool,
}

impl Standing {
    /// Whether the written cards alone could recover the master (the set is then a risk).
    pub fn recoverable(&self) -> bool {
        self.written.len() >= usize::from(self.threshold)
    }

    /// The account of the cards, up to (not including) what to do next.
    pub fn account(&self) -> String {
        let (label, id) = (&self.set.label, &self.set.id);
        let (n, m) = (self.threshold, self.cards);
        if self.written.is_empty() {
            return format!(
                "the set \"{label}\" (id {id}) was NOT enrolled and no card was changed: none of its {m} cards was written ({}). No bundle was written",
                self.unwritten.join(", ")
            );
        }
        let holding: Vec<String> = self
            .written
            .iter()
            .map(|w| format!("{} ({})", w.fingerprint, custodian_label(w.index, &w.name)))
            .collect();
        let recoverable = if self.recoverable() {
            format!("these {} cards could recover the master on their own ({n} are needed), but the set is incomplete: do not rely on it", self.written.len())
        } else {
            format!("fewer than the {n} needed hold a share, so the set cannot be recovered; its shares are of no use")
        };
        let untouched = self.unwritten.len();
        format!(
            "the set \"{label}\" (id {id}, {n}-of-{m}) was NOT enrolled. {} of its {m} cards hold their share of this unfinished set (written, read back and checked): {}; {untouched} {} not written and as {} were{}. {recoverable}. No bundle was written",
            self.written.len(),
            holding.join(", "),
            if untouched == 1 { "card was" } else { "cards were" },
            if untouched == 1 { "it" } else { "they" },
            if untouched == 0 {
                String::new()
            } else {
                format!(" ({})", self.unwritten.join(", "))
            },
        )
    }
}

impl fmt::Display for Standing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.account())?;
        if self.written.is_empty() {
            return Ok(());
        }
        f.write_str(if self.start_logged {
            ". The ceremony log records its start, so an enrollment that replaces unfinished sets, given the same cards and log, can overwrite them to finish it, with no factory reset"
        } else {
            ". Its start was not logged, so these cards cannot be recognised as this unfinished set: factory-reset each one and personalise it again before enrolling again"
        })
    }
}

#[cfg(test)]
mod in_memory;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::log::entry::CardEntry;
    use crate::log::{CardOutcome, LogLine, OutcomeKind};
    use curve25519_dalek::montgomery::MontgomeryPoint;
    use std::path::Path;

    fn key(n: u8) -> CardKey {
        CardKey::from_x25519(&MontgomeryPoint::mul_base_clamped([n; 32]).to_bytes()).unwrap()
    }

    /// A 2-of-2 set on the cards of keys 1 and 2, holding `master`.
    fn set(master: &[u8]) -> Enrollment {
        let custodians: Vec<NewCustodian> = [1, 2]
            .iter()
            .map(|&n| NewCustodian {
                card_key: key(n),
                name: format!("custodian {n}"),
            })
            .collect();
        sharing::enroll(master, 2, "root-ca", &custodians, &mut OsRng).unwrap()
    }

    /// A log line of `command` about the set, with `outcome`, naming `cards`.
    fn line(
        seq: u64,
        command: &str,
        record: &PublicRecord,
        outcome: OutcomeKind,
        cards: &[(u8, CardOutcome)],
    ) -> LogLine {
        LogLine {
            seq,
            time: "2026-01-02T03:04:05Z".to_owned(),
            command: command.to_owned(),
            provenance: None,
            set_id: Some(hex::encode(record.set_id)),
            set_label: Some(record.label.clone()),
            set_digest: None,
            key_check: None,
            cards: cards
                .iter()
                .map(|&(n, outcome)| CardEntry {
                    fingerprint: Fingerprint::of(&key(n)),
                    outcome,
                })
                .collect(),
            outcome,
            message: None,
            prev: "0".repeat(64),
            hash: "0".repeat(64),
        }
    }

    /// A PIN source the account of a write phase never asks.
    #[derive(Debug)]
    struct NoPins;

    impl crate::pins::PinProvider for NoPins {
        fn current_pin(
            &self,
            _: &crate::pins::PinFor<'_>,
            _: quorum_protocol::pin::PinRule,
        ) -> Result<quorum_protocol::pin::Pin, crate::pins::PinSourceError> {
            Err(crate::pins::PinSourceError::Interrupted)
        }
        fn new_pin(
            &self,
            _: &crate::pins::PinFor<'_>,
            _: quorum_protocol::pin::PinRule,
        ) -> Result<quorum_protocol::pin::Pin, crate::pins::PinSourceError> {
            Err(crate::pins::PinSourceError::Interrupted)
        }
        fn interactive(&self) -> bool {
            false
        }
        fn origin(&self) -> crate::pins::PinOrigin {
            crate::pins::PinOrigin::Keyboard
        }
    }

    fn evidence(lines: Vec<LogLine>) -> Evidence {
        Evidence::from_lines(Path::new("minutes.jsonl"), lines)
    }

    #[test]
    fn only_a_card_of_a_set_the_log_shows_unfinished_is_replaceable() {
        let master = b"the master";
        let enrolled = set(master);
        let record = &enrolled.cards[0].record;
        let started = |command| {
            line(
                1,
                command,
                record,
                OutcomeKind::Started,
                &[(1, CardOutcome::Pending), (2, CardOutcome::Pending)],
            )
        };

        // Started by an enroll, ended interrupted after card 1: card 1 may be overwritten.
        let interrupted = line(
            2,
            "enroll",
            record,
            OutcomeKind::Interrupted,
            &[(1, CardOutcome::Ok), (2, CardOutcome::Pending)],
        );
        let log = evidence(vec![started("enroll"), interrupted.clone()]);
        let unfinished = replaceable(&log, record, &key(1), b"another master").unwrap();
        assert_eq!(unfinished.set.label, "root-ca");
        assert_eq!(
            unfinished.start,
            LogStart {
                command: "enroll".into(),
                line: 1,
                log: "minutes.jsonl".into()
            }
        );

        // The start alone (the process was killed) is enough.
        assert!(replaceable(&evidence(vec![started("enroll")]), record, &key(1), master).is_ok());

        // The record copied onto another card is refused.
        let copied = replaceable(&log, record, &key(2), master).unwrap_err();
        assert!(matches!(copied, NotReplaceable::Copied { .. }), "{copied}");

        // Completed: by its own ok line, by a later ceremony using it, or by every card
        // confirmed written in a failed line.
        for end in [
            line(
                2,
                "enroll",
                record,
                OutcomeKind::Ok,
                &[(1, CardOutcome::Ok)],
            ),
            line(
                2,
                "verify",
                record,
                OutcomeKind::Ok,
                &[(1, CardOutcome::Ok)],
            ),
            line(
                2,
                "enroll",
                record,
                OutcomeKind::Failed,
                &[(1, CardOutcome::Ok), (2, CardOutcome::Ok)],
            ),
        ] {
            let why = replaceable(
                &evidence(vec![started("enroll"), end]),
                record,
                &key(1),
                master,
            )
            .unwrap_err();
            assert!(
                matches!(why, NotReplaceable::Completed { line: 2, .. }),
                "{why}"
            );
        }

        // Unknown to this log (disabled then, or another log): refused, saying what to do.
        let why = replaceable(&evidence(vec![]), record, &key(1), master).unwrap_err();
        assert!(matches!(why, NotReplaceable::Unknown { .. }), "{why}");
        let said = why.to_string();
        assert!(said.contains("has no record of that set's start"), "{said}");
        assert!(
            said.contains("factory-reset") && !said.contains("--"),
            "{said}"
        );

        // The start names other cards only.
        let other = line(
            1,
            "enroll",
            record,
            OutcomeKind::Started,
            &[(2, CardOutcome::Pending)],
        );
        let why = replaceable(&evidence(vec![other]), record, &key(1), master).unwrap_err();
        assert!(matches!(why, NotReplaceable::NotNamed { .. }), "{why}");

        // Started by a reshare: only with the master it holds.
        let log = evidence(vec![started("reshare"), interrupted]);
        assert!(replaceable(&log, record, &key(1), master).is_ok());
        let why = replaceable(&log, record, &key(1), b"another master").unwrap_err();
        assert!(
            matches!(why, NotReplaceable::OtherMaster { ref start, .. } if start.command == "reshare"),
            "{why}"
        );
        assert!(why.to_string().contains("another master"), "{why}");
    }

    #[test]
    fn the_account_of_a_stopped_write_phase_names_every_card() {
        let enrolled = set(b"the master");
        let req = EnrollRequest {
            master: b"the master",
            threshold: 2,
            count: None,
            label: "root-ca",
            names: &[],
            planned: None,
            from: CardsFrom::EveryReader {
                put_back: Some(std::time::Duration::from_secs(1)),
            },
            pins: PinPolicy {
                source: &NoPins,
                no_pinpad: false,
                pinpad_timeout: 30,
            },
            trace: false,
            stats: false,
            replace_unfinished: None,
            interrupt: &crate::Never,
        };
        let keys = [key(1), key(2)];
        let fps: Vec<String> = keys.iter().map(CardKey::fingerprint).collect();
        let none = where_things_stand(&req, &enrolled, &keys, &[], true);
        assert!(none.written.is_empty());
        assert_eq!(none.unwritten, fps);
        assert!(none.to_string().contains("no card was changed"), "{none}");
        let one = [EnrolledCardReport::new("r", &keys[0], &enrolled.cards[0])];
        let stood = where_things_stand(&req, &enrolled, &keys, &one, true);
        assert_eq!(
            (stood.written.to_vec(), stood.unwritten.clone()),
            (one.to_vec(), vec![fps[1].clone()])
        );
        assert_eq!((stood.threshold, stood.cards), (2, 2));
        assert!(stood.start_logged);
        assert!(!stood.recoverable());
        let said = stood.to_string();
        for part in [
            "1 of its 2 cards hold their share",
            &fps[0],
            &fps[1],
            "cannot be recovered",
            "No bundle was written",
        ] {
            assert!(said.contains(part), "{part:?} missing: {said}");
        }
        assert!(!said.contains("--"), "the library names no option: {said}");
        let both = [
            EnrolledCardReport::new("r", &keys[0], &enrolled.cards[0]),
            EnrolledCardReport::new("r", &keys[1], &enrolled.cards[1]),
        ];
        let unlogged = where_things_stand(&req, &enrolled, &keys, &both[..1], false);
        assert!(!unlogged.start_logged);
        assert!(unlogged.to_string().contains("factory-reset"), "{unlogged}");
        let enough = where_things_stand(&req, &enrolled, &keys, &both, true);
        assert!(enough.recoverable() && enough.unwritten.is_empty());
        assert!(
            enough.to_string().contains("could recover the master"),
            "{enough}"
        );
    }
}
