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
use crate::progress::{Event, Progress};

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

use super::enroll::{check_fits, name_for, write_redoing, EnrolledCardReport, Registered};
use super::inspect::SetMembership;
use super::log::{Evidence, Fingerprint, Verdict};
use super::pin_step::{reverify, verify_pin, Verified};
use super::presence::{Presented, Recalled};
use super::share::{open_member, open_member_keeping_pin, read_member, Refusal, Refused};
use super::{identify, say, CardsFrom, CeremonyError, Journal, PinPolicy, Presenter};

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
    /// Where the sets stand at the end.
    pub standing: Standing,
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
    name: &str,
) -> Result<CardKey, String> {
    if !select.capabilities.key_renewal() {
        return Err(format!(
            "{name} runs applet protocol {}.{}, which cannot give a re-used card a new key pair (protocol 1.1 can); a re-used card needs one, so that its old sealed share, which old APDU logs may hold, never opens again. Install the 1.1 applet on it, or bring a fresh card instead of --reuse",
            select.version.major, select.version.minor
        ));
    }
    let point = card.prepare_key().map_err(|e| format!("{name}: {e}"))?;
    CardKey::from_card_point(&point).map_err(|e| {
        format!("{name}: the new key it answered is invalid ({e}); it is not a genuine quorum card")
    })
}

/// With `--replace-unfinished`: whether the card holds a set the ceremony log shows was
/// started and never completed (and that is not the set being reshared); then it joins
/// the new set as a fresh card. Returns the ceremony that started that set and its
/// master's key check, which [`check_gathered`] compares with the old set's.
fn unfinished_here(
    req: &ReshareRequest<'_>,
    card: &mut dyn CustodianCard,
    key: &CardKey,
    name: &str,
) -> Result<Option<(String, KeyCheck)>, String> {
    let Some(evidence) = req.replace_unfinished else {
        return Ok(None);
    };
    let public = card
        .get_record_public()
        .map_err(|e| format!("{name}: its record cannot be read: {e}"))?;
    let record = PublicRecord::decode(&public)
        .map_err(|e| format!("{name}: its record cannot be read: {e}"))?;
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
}

/// Refuses a set named with `--set` that is not the bundle's, before any card is touched.
fn check_old_set(req: &ReshareRequest<'_>) -> Result<(), CeremonyError> {
    match (req.old_set, req.published) {
        (Some(id), Some(p)) if id != p.set_id => Err(CeremonyError::Usage(format!(
            "--set {} and the bundle's set {} differ: give the bundle of the set to reshare",
            hex::encode(id),
            hex::encode(p.set_id)
        ))),
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
    let mut presenter = Presenter::new(ctx, req.from.clone(), req.trace, req.interrupt)?;
    say(out, "Phase 0 of 2: open the old set's shares and register the new set's cards; nothing is written yet.");
    let gathered = if presenter.swapping() {
        let count = presenter.count_needed(req.count.map(usize::from), CountOf::NewSetCards)?;
        let mut g = Gathered::default();
        open_quorum_swapped(&mut presenter, req, &mut g, out)
            .and_then(|()| register_swapped(&mut presenter, req, &mut g, count, out))
            .map(|()| g)
    } else {
        gather_present(&mut presenter, req, out)
    };
    let mut g = gathered.map_err(|e| match e {
        CeremonyError::Usage(_) => e,
        other => CeremonyError::ReshareInterrupted {
            phase: 0,
            cause: other.to_string(),
            state: "nothing was written, so the old set is as it was".to_owned(),
            stopped_by: Some(Box::new(other)),
        },
    })?;
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
        return Err(CeremonyError::NotEnrolled(format!(
            "re-using {reused} of the old set's cards with only {fresh} fresh card(s) would pass through a moment where neither the old set ({}-of-{}) nor the new one ({}-of-{}) is complete; nothing was written. Bring more fresh cards, re-use fewer old ones, or lower the new threshold",
            old.threshold,
            old_newest.custodians.len(),
            req.threshold,
            g.members.len()
        )));
    }
    let custodians: Vec<NewCustodian> = g
        .members
        .iter()
        .enumerate()
        .map(|(i, m)| NewCustodian {
            card_key: m.card.key,
            name: name_for(req.names, m.old_key.as_ref().unwrap_or(&m.card.key), i + 1),
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
        other => CeremonyError::NotEnrolled(format!("{other}; nothing was written")),
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
    say(
        out,
        &format!(
            "Phase 1 of 2: writing the new set \"{}\" ({}-of-{}, id {}); the old set stays complete until the new one is.",
            req.label,
            req.threshold,
            g.members.len(),
            hex::encode(enrollment.set_id)
        ),
    );
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
    say(out, &format!("Phase 1 done: {}.", progress.describe()));
    publish(&enrollment).map_err(|e| {
        interrupted(
            1,
            format!("the new set is on its cards, but its bundle could not be written: {e}"),
            &progress,
        )
    })?;
    let wiped = if req.keep_old || g.retire.is_empty() {
        Vec::new()
    } else {
        say(
            out,
            &format!(
                "Phase 2 of 2: wiping the {} old card(s) the new set does not use.",
                g.retire.len()
            ),
        );
        if presenter.interrupted() {
            return Err(stopped(2, &progress));
        }
        wipe(&mut presenter, &g.retire, &mut progress, out)?
    };
    Ok(Reshared {
        enrollment,
        old: SetMembership::from_record(&old),
        cards,
        opened,
        wiped,
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

/// Every-reader mode: one pass over the cards present does all of phase 0.
fn gather_present(
    presenter: &mut Presenter<'_>,
    req: &ReshareRequest<'_>,
    out: &mut dyn Progress,
) -> Result<Gathered, CeremonyError> {
    let mut g = Gathered::default();
    let mut problems = Vec::new();
    let mut sink = crate::progress::Silent;
    while let Some(p) = presenter.next(&mut sink, &Wanted::Any)? {
        if let Err(problem) = gather_one(p, req, &mut g, presenter, out) {
            say(out, &format!("Skipped: {problem}."));
            problems.push(problem);
        }
    }
    check_gathered(req, &g, &problems)?;
    Ok(g)
}

fn check_gathered(
    req: &ReshareRequest<'_>,
    g: &Gathered,
    problems: &[String],
) -> Result<(), CeremonyError> {
    let listing = if problems.is_empty() {
        String::new()
    } else {
        format!(":\n  - {}", problems.join("\n  - "))
    };
    let Some(old) = &g.old else {
        return Err(CeremonyError::NotEnoughShares(format!(
            "no share of the old set could be opened; nothing was written{listing}"
        )));
    };
    if g.shares.len() < usize::from(old.threshold) {
        return Err(CeremonyError::NotEnoughShares(format!(
            "only {} of the {} shares of the old set \"{}\" could be opened; nothing was written{listing}",
            g.shares.len(),
            old.threshold,
            old.label
        )));
    }
    for fp in req.reuse {
        if !g.members.iter().any(|m| {
            m.old_key
                .is_some_and(|k| k.fingerprint().eq_ignore_ascii_case(fp))
        }) {
            return Err(CeremonyError::NotEnrolled(format!(
                "--reuse {fp}: that card was not presented as a card of the old set; nothing was written{listing}"
            )));
        }
    }
    if let Some(count) = req.count {
        if g.members.len() != usize::from(count) {
            return Err(CeremonyError::NotEnrolled(format!(
                "--shares {count} was asked but {} cards can join the new set; nothing was written{listing}",
                g.members.len()
            )));
        }
    }
    for m in &g.members {
        if let Some((command, key_check)) = &m.replaces {
            if command != "enroll" && *key_check != old.key_check {
                return Err(CeremonyError::NotEnrolled(format!(
                    "card {} holds an unfinished set that a {command} started with another master than the set \"{}\" being reshared: that {command}'s old set may no longer be complete, so the card may hold part of the only copy of its master; it is not overwritten and nothing was written. Recover that set first, or factory-reset the card (`quorumctl reset-card`) if you are sure",
                    m.card.key.fingerprint(),
                    old.label
                )));
            }
        }
    }
    if g.members.is_empty() {
        return Err(CeremonyError::NotEnrolled(format!(
            "no card can hold the new set: present personalised cards, or name old cards with --reuse; nothing was written{listing}"
        )));
    }
    Ok(())
}

/// Phase 0 for one card present with the others: opens its old share if the quorum needs
/// it, registers it for the new set if it is fresh or re-used, else marks it for wiping.
fn gather_one(
    mut p: Presented,
    req: &ReshareRequest<'_>,
    g: &mut Gathered,
    presenter: &mut Presenter<'_>,
    out: &mut dyn Progress,
) -> Result<(), String> {
    let reader = p.reader.clone();
    let id = identify(&mut p.card, &reader).map_err(|e| e.to_string())?;
    let name = format!("card {} in \"{reader}\"", id.name());
    if id.status.blocked {
        return Err(format!("{name} has a blocked PIN"));
    }
    let key = match (id.status.state, id.key) {
        (LifeCycle::Blank, _) | (_, None) => {
            return Err(format!(
                "{name} is blank: personalise it with `quorumctl init` to use it in the new set"
            ))
        }
        (_, Some(key)) => key,
    };
    let replaces = match id.status.state {
        LifeCycle::Enrolled => unfinished_here(req, &mut p.card, &key, &name)?,
        _ => None,
    };
    if id.status.state == LifeCycle::Personalised || replaces.is_some() {
        if replaces.is_some() {
            say(out, &format!("{name} holds a set whose writing started and never completed (the ceremony log says so): it joins the new set, and its record will be overwritten."));
        }
        let pin = verify_pin(&mut p.card, &req.pins, &key.fingerprint(), &reader, out)
            .map_err(|e| format!("{name}: {e}"))?;
        say(
            out,
            &format!(
                "Card {}: PIN accepted, registered for the new set.",
                key.fingerprint()
            ),
        );
        g.members.push(NewMember {
            card: Registered {
                reader,
                key,
                capacity: id.status.capacity,
                pin,
            },
            old_key: None,
            replaces,
        });
        return keep(presenter, p, key, out);
    }
    let member = read_member(&mut p.card).map_err(|r| format!("{name}: {}", r.reason))?;
    of_old_set(req, &g.old, &member.record).map_err(|e| format!("{name} {e}"))?;
    let need = usize::from(member.record.threshold);
    let mut accepted = None;
    if g.shares.len() < need && !g.shares.iter().any(|s| s.index() == member.record.index) {
        let (share, pin) = open_member_keeping_pin(&mut p.card, &member, &req.pins, &reader, out)
            .map_err(|r| format!("{}: {}", r.who.text, r.reason))?;
        g.shares.push(share);
        say(
            out,
            &format!(
                "Old card {}: share opened ({} of {need}).",
                member.who.text,
                g.shares.len()
            ),
        );
        accepted = Some(pin);
    }
    g.old.get_or_insert_with(|| member.record.clone());
    if is_reuse(req, &key) {
        let pin = match accepted {
            Some(pin) => pin,
            None => verify_pin(&mut p.card, &req.pins, &key.fingerprint(), &reader, out)
                .map_err(|e| format!("{name}: {e}"))?,
        };
        let renewed = renew_key(&mut p.card, &id.select, &name)?;
        say(
            out,
            &format!(
                "Old card {}: registered to be re-used in the new set, with a new key pair {} (it takes effect when its new record is written; the PIN stays).",
                member.who.text,
                renewed.fingerprint()
            ),
        );
        g.members.push(NewMember {
            card: Registered {
                reader,
                key: renewed,
                capacity: id.status.capacity,
                pin,
            },
            old_key: Some(key),
            replaces: None,
        });
    } else {
        g.retire.push(OldCard { reader, key });
    }
    keep(presenter, p, key, out)
}

/// Keeps a gathered card for phase 1 or 2 (its session stays open with every reader).
fn keep(
    presenter: &mut Presenter<'_>,
    p: Presented,
    key: CardKey,
    out: &mut dyn Progress,
) -> Result<(), String> {
    presenter
        .keep(out, p, key, Done::Registered)
        .map_err(|e| e.to_string())
}

/// One reader, phase 0a: the old set's custodians insert their cards until n shares open.
fn open_quorum_swapped(
    presenter: &mut Presenter<'_>,
    req: &ReshareRequest<'_>,
    g: &mut Gathered,
    out: &mut dyn Progress,
) -> Result<(), CeremonyError> {
    let mut problems = Vec::new();
    loop {
        let need = g.old.as_ref().map(|o| usize::from(o.threshold));
        if need.is_some_and(|n| g.shares.len() >= n) {
            return Ok(());
        }
        let wanted = Wanted::OldSet {
            n: g.shares.len() + 1,
            need,
        };
        let Some(mut p) = presenter.next(out, &wanted)? else {
            break;
        };
        let reader = p.reader.clone();
        let opened = read_member(&mut p.card).and_then(|member| {
            of_old_set(req, &g.old, &member.record)
                .map_err(|e| Refusal::new(member.who.clone(), e))?;
            if g.shares.iter().any(|s| s.index() == member.record.index) {
                return Err(Refusal::new(member.who.clone(), Refused::AlreadyOpened));
            }
            let share = open_member(&mut p.card, &member, &req.pins, &reader, out)?;
            Ok((member, share))
        });
        match opened {
            Ok((member, share)) => {
                g.old.get_or_insert_with(|| member.record.clone());
                g.shares.push(share);
                say(
                    out,
                    &format!(
                        "Used {}: share opened ({} of {}).",
                        member.who.text,
                        g.shares.len(),
                        member.record.threshold
                    ),
                );
                if !is_reuse(req, &member.key) {
                    g.retire.push(OldCard {
                        reader: reader.clone(),
                        key: member.key,
                    });
                }
                presenter.release(out, p, Done::ShareOpened)?;
            }
            Err(Refusal { who, reason }) => {
                let why = match reason {
                    Refused::NoShare(LifeCycle::Personalised) => {
                        "is not in the old set: insert it when the new set's cards are asked for"
                            .to_owned()
                    }
                    reason => reason.to_string(),
                };
                say(out, &format!("Skipped {}: {why}", who.text));
                problems.push(format!("{} in \"{reader}\": {why}", who.text));
                presenter.release(out, p, Done::Skipped)?;
            }
        }
    }
    check_gathered(req, g, &problems).map(drop)
}

/// One reader, phase 0b: each card of the new set is inserted, identified and its PIN checked.
fn register_swapped(
    presenter: &mut Presenter<'_>,
    req: &ReshareRequest<'_>,
    g: &mut Gathered,
    count: usize,
    out: &mut dyn Progress,
) -> Result<(), CeremonyError> {
    presenter.again();
    say(
        out,
        &format!("Registering the new set's {count} cards: each custodian inserts their card and enters their PIN."),
    );
    while g.members.len() < count {
        let k = g.members.len() + 1;
        let Some(mut p) = presenter.next(out, &Wanted::NewSet { n: k, of: count })? else {
            break;
        };
        let reader = p.reader.clone();
        match register_one(&mut p, req, g, out) {
            Ok((key, capacity, pin, old_key, replaces)) => {
                let renewed = match old_key {
                    Some(old) => format!(
                        " (re-used from the old set as card {}; its new key pair {} takes effect when its new record is written, and the PIN stays)",
                        old.fingerprint(),
                        key.fingerprint()
                    ),
                    None => String::new(),
                };
                say(
                    out,
                    &format!(
                        "Card {}: PIN accepted, registered as new-set card {k} of {count}{renewed}.",
                        old_key.unwrap_or(key).fingerprint(),
                    ),
                );
                g.members.push(NewMember {
                    card: Registered {
                        reader,
                        key,
                        capacity,
                        pin,
                    },
                    old_key,
                    replaces,
                });
                presenter.keep(out, p, old_key.unwrap_or(key), Done::Registered)?;
            }
            Err(why) => {
                say(out, &format!("Refused: {why}. Insert another card."));
                presenter.release(out, p, Done::Refused)?;
            }
        }
    }
    check_gathered(req, g, &[])
}

/// A new-set card as registered: its key, capacity, accepted PIN, a re-used card's present
/// key, and the unfinished set it replaces.
type Registration = (
    CardKey,
    u16,
    Verified,
    Option<CardKey>,
    Option<(String, KeyCheck)>,
);

fn register_one(
    p: &mut Presented,
    req: &ReshareRequest<'_>,
    g: &Gathered,
    out: &mut dyn Progress,
) -> Result<Registration, String> {
    let id = identify(&mut p.card, &p.reader).map_err(|e| e.to_string())?;
    let name = format!("card {}", id.name());
    if id.status.blocked {
        return Err(format!("{name} has a blocked PIN"));
    }
    let Some(key) = id.key else {
        return Err(format!(
            "{name} is blank: personalise it with `quorumctl init` first"
        ));
    };
    if g.members.iter().any(|m| m.is_card(&key)) {
        return Err(format!(
            "{name} is already registered (the same card twice)"
        ));
    }
    let replaces = match id.status.state {
        LifeCycle::Enrolled => unfinished_here(req, &mut p.card, &key, &name)?,
        _ => None,
    };
    if replaces.is_some() {
        say(out, &format!("{name} holds a set whose writing started and never completed (the ceremony log says so): it joins the new set, and its record will be overwritten."));
    }
    let reused = id.status.state == LifeCycle::Enrolled && replaces.is_none();
    if reused {
        let member = read_member(&mut p.card).map_err(|r| format!("{name}: {}", r.reason))?;
        of_old_set(req, &g.old, &member.record).map_err(|e| format!("{name} {e}"))?;
        if !is_reuse(req, &key) {
            return Err(format!("{name} holds a share of the old set and was not named with --reuse; its share is kept"));
        }
    }
    let pin = verify_pin(&mut p.card, &req.pins, &key.fingerprint(), &p.reader, out)
        .map_err(|e| format!("{name}: {e}"))?;
    if reused {
        let renewed = renew_key(&mut p.card, &id.select, &name)?;
        return Ok((renewed, id.status.capacity, pin, Some(key), None));
    }
    Ok((key, id.status.capacity, pin, None, replaces))
}

/// The error of an interrupted phase 1 or 2, saying which set is complete.
fn interrupted(phase: u8, cause: impl std::fmt::Display, progress: &Standing) -> CeremonyError {
    CeremonyError::ReshareInterrupted {
        phase,
        cause: cause.to_string(),
        state: progress.describe(),
        stopped_by: None,
    }
}

/// The error of a reshare stopped on request (Ctrl-C, SIGTERM) between two card steps,
/// saying which set is complete; its exit status is the interruption's.
fn stopped(phase: u8, progress: &Standing) -> CeremonyError {
    let follow = if phase == 2 {
        "; the old cards not yet wiped still hold their old shares: wipe them with `quorumctl reset-card` (the new set does not need them)"
    } else if progress.new_written > 0 {
        "; the new set's written cards hold an unfinished set: run the reshare again with --replace-unfinished (and the same ceremony log) to overwrite them"
    } else {
        ""
    };
    CeremonyError::ReshareInterrupted {
        phase,
        cause: "stopped on request (Ctrl-C or a termination signal) after finishing the card step in progress".to_owned(),
        state: format!("{}{follow}", progress.describe()),
        stopped_by: Some(Box::new(CeremonyError::Interrupted(None))),
    }
}

/// A failure in phase 1 or 2: a stop request becomes [`stopped`], anything else [`interrupted`].
fn phase_error(phase: u8, e: CeremonyError, progress: &Standing) -> CeremonyError {
    match e {
        CeremonyError::Interrupted(None) => stopped(phase, progress),
        other => interrupted(phase, other, progress),
    }
}

/// Phase 1 stopped while writing a card: a re-used old card that accepted its new record
/// (checked or not) no longer holds its old share, and the state said must count that.
fn write_failed(e: CeremonyError, reused: bool, progress: &mut Standing) -> CeremonyError {
    if let CeremonyError::Interrupted(None) = e {
        return stopped(1, progress);
    }
    if reused && matches!(e, CeremonyError::WrittenUnchecked { .. }) {
        progress.old_gone += 1;
    }
    interrupted(1, e, progress)
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
    say(
        out,
        &format!(
            "Card {} (new custodian {}{}): written, read back and opened. Now {}.",
            m.card.key.fingerprint(),
            card.index(),
            match m.old_key {
                Some(old) => format!(
                    ", re-used old card {}: its old key is destroyed, so its old share can never be opened again; write the new fingerprint on its sleeve",
                    old.fingerprint()
                ),
                None => String::new(),
            },
            progress.describe()
        ),
    );
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
                &m.old_key.unwrap_or(m.card.key).fingerprint(),
                &reader,
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
            presenter.finish(out, p);
        } else {
            presenter
                .release(out, p, Done::Written)
                .map_err(|e| phase_error(1, e, progress))?;
        }
    }
    if written.len() < total {
        return Err(interrupted(
            1,
            "not every registered card was written",
            progress,
        ));
    }
    written.sort_by_key(|w| w.index);
    Ok(written)
}

/// Phase 2: FACTORY RESET of the old cards the new set does not use: those present, or
/// with one reader, each asked for by fingerprint.
fn wipe(
    presenter: &mut Presenter<'_>,
    retire: &[OldCard],
    progress: &mut Standing,
    out: &mut dyn Progress,
) -> Result<Vec<String>, CeremonyError> {
    let mut wiped: Vec<String> = Vec::new();
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
        wipe_one(&mut p.card, &o.reader, &o.key, progress, out)?;
        wiped.push(o.key.fingerprint());
        if wiped.len() == retire.len() {
            presenter.finish(out, p);
        } else {
            presenter
                .release(out, p, Done::Wiped)
                .map_err(|e| phase_error(2, e, progress))?;
        }
    }
    Ok(wiped)
}

fn wipe_one(
    session: &mut dyn CustodianCard,
    reader: &str,
    key: &CardKey,
    progress: &mut Standing,
    out: &mut dyn Progress,
) -> Result<(), CeremonyError> {
    let fp = key.fingerprint();
    session.factory_reset().map_err(|e| {
        interrupted(
            2,
            format!("wiping card {fp} in \"{reader}\" failed: {e}"),
            progress,
        )
    })?;
    progress.old_gone += 1;
    say(
        out,
        &format!(
            "Old card {fp} wiped (factory reset; it is blank now). {}.",
            progress.describe()
        ),
    );
    Ok(())
}

/// What resharing a set tells the people at the table as it goes (worded by the caller).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Told {
    /// Phase 1 begins: the cards registered for the new set come back to be written,
    /// fresh cards before re-used old ones.
    WritingBegins,
    /// Phase 2 begins: the old cards the new set does not use come back to be wiped.
    WipingBegins,
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
        let e = renew_key(&mut card, &select, "card 1111-2222-3333-4444").unwrap_err();
        assert!(e.contains("protocol 1.0"), "{e}");
        assert!(e.contains("never opens again"), "{e}");
        assert!(e.contains("bring a fresh card instead of --reuse"), "{e}");
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
        let said = write_failed(unchecked(), true, &mut reused).to_string();
        assert_eq!(reused.old_gone, 1);
        assert!(said.contains("the old set is no longer complete"), "{said}");
        assert!(said.contains("holds its new record"), "{said}");

        let mut fresh = start();
        write_failed(unchecked(), false, &mut fresh);
        assert_eq!(fresh.old_gone, 0);

        let mut not_written = start();
        let pulled = CeremonyError::card("r", CardError::Transport(TransportError::CardRemoved));
        let said = write_failed(pulled, true, &mut not_written).to_string();
        assert_eq!(not_written.old_gone, 0);
        assert!(said.contains("the old set is still complete"), "{said}");
    }
}

#[cfg(test)]
mod in_memory;
