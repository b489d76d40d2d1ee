//! Enrollment: register the cards (key and PIN checked), split and seal, then write, read
//! back and open every record (the health check of `verify`, done at once). Nothing is written to any card until every card has been
//! registered and its PIN accepted, so a refused card or a wrong PIN costs nothing.

use crate::presence::{CountOf, Done, Unwanted, Wanted};
use crate::progress::{Event, Progress};

use rand::rngs::OsRng;
use zeroize::Zeroizing;

use quorum_card::card::CardError;
use quorum_card::custodian::CustodianCard;
use quorum_card::readers::Readers;
use quorum_protocol::apdu::{LifeCycle, RecordKey};
use quorum_protocol::crypto::wei25519::POINT_LEN;
use quorum_protocol::crypto::{CardKey, KeyCheck};
use quorum_protocol::record::PublicRecord;
use quorum_protocol::sharing::{self, EnrolledCard, Enrollment, NewCustodian};

use super::log::{Evidence, Fingerprint, Verdict};
use super::pin_step::{reverify, verify_pin, Verified};
use super::presence::{Presented, Recalled};
use super::share::LeftTheReader;
use super::{identify, say, CardsFrom, CeremonyError, Identity, Journal, PinPolicy, Presenter};

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
#[derive(Debug, Clone)]
pub struct EnrolledCardReport {
    /// Reader it was written in.
    pub reader: String,
    /// Card fingerprint.
    pub fingerprint: String,
    /// Share index.
    pub index: u8,
    /// Custodian name.
    pub name: String,
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
    pub(super) capacity: u16,
    pub(super) pin: Verified,
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
    say(
        out,
        &format!(
            "Writing set \"{}\" ({}-of-{}, id {}) to the cards.",
            req.label,
            req.threshold,
            registered.len(),
            hex::encode(enrollment.set_id)
        ),
    );
    let mut phase = WritePhase {
        req,
        enrollment: &enrollment,
        journal,
        written: Vec::new(),
    };
    let cards = write_cards(&mut presenter, &mut phase, registered, out)?;
    Ok(EnrollOutcome { enrollment, cards })
}

/// Refuses, before any card is asked for a PIN, a threshold no set of these cards can have:
/// 0, or more than the number of cards when it is given.
pub fn check_threshold(threshold: u8, count: Option<u8>) -> Result<(), CeremonyError> {
    if threshold == 0 {
        return Err(CeremonyError::Usage(
            "--threshold 0 is impossible: a set needs at least one card to recover; nothing was done"
                .to_owned(),
        ));
    }
    match count {
        Some(m) if threshold > m => Err(CeremonyError::Usage(format!(
            "--threshold {threshold} is more than the {m} cards of --shares: a set of {m} cards can need at most {m}; nothing was done"
        ))),
        _ => Ok(()),
    }
}

/// The write phase's state: what is written so far, for the journal and for the message
/// that says where things stand if it stops.
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
        CeremonyError::Interrupted(Some(where_things_stand(
            self.req,
            self.enrollment,
            registered,
            &self.written,
            self.journal.records(),
        )))
    }

    /// A stop request seen by the presenter becomes the write phase's own account.
    fn map_stop(&self, e: CeremonyError, registered: &[CardKey]) -> CeremonyError {
        match e {
            CeremonyError::Interrupted(None) => self.stopped(registered),
            other => other,
        }
    }
}

/// Where an enrollment stopped in its write phase stands: which cards hold a share of the
/// unfinished set, whether enough of them do to recover it, and how to finish.
fn where_things_stand(
    req: &EnrollRequest<'_>,
    enrollment: &Enrollment,
    registered: &[CardKey],
    written: &[EnrolledCardReport],
    logged: bool,
) -> String {
    let label = &enrollment.cards[0].record.label;
    let id = hex::encode(enrollment.set_id);
    let (n, m) = (usize::from(req.threshold), registered.len());
    let holding: Vec<String> = written
        .iter()
        .map(|w| format!("{} (custodian {} \"{}\")", w.fingerprint, w.index, w.name))
        .collect();
    let untouched: Vec<String> = registered
        .iter()
        .map(CardKey::fingerprint)
        .filter(|fp| !written.iter().any(|w| &w.fingerprint == fp))
        .collect();
    if written.is_empty() {
        return format!(
            "the set \"{label}\" (id {id}) was NOT enrolled and no card was changed: none of its {m} cards was written ({}). No bundle was written",
            untouched.join(", ")
        );
    }
    let recoverable = if written.len() >= n {
        format!("these {} cards could recover the master on their own ({n} are needed), but the set is incomplete: do not rely on it", written.len())
    } else {
        format!("fewer than the {n} needed hold a share, so the set cannot be recovered; its shares are of no use")
    };
    let finish = if logged {
        "To finish, run `quorumctl enroll --replace-unfinished` with the same cards (and the same ceremony log): it recognises the cards of this unfinished set from the log's record of its start and overwrites them, with no factory reset".to_owned()
    } else {
        "Its start was not logged (--no-log), so `enroll --replace-unfinished` cannot recognise these cards: factory-reset each one (`quorumctl reset-card`) and personalise it again (`quorumctl init`) before enrolling again".to_owned()
    };
    format!(
        "the set \"{label}\" (id {id}, {n}-of-{m}) was NOT enrolled. {} of its {m} cards hold their share of this unfinished set (written, read back and checked): {}; {} {} not written and as {} were{}. {recoverable}. No bundle was written. {finish}",
        written.len(),
        holding.join(", "),
        untouched.len(),
        if untouched.len() == 1 { "card was" } else { "cards were" },
        if untouched.len() == 1 { "it" } else { "they" },
        if untouched.is_empty() {
            String::new()
        } else {
            format!(" ({})", untouched.join(", "))
        },
    )
}

/// Refuses, before anything is written, a record larger than its card's record capacity.
pub(super) fn check_fits(
    key: &CardKey,
    capacity: u16,
    card: &EnrolledCard,
) -> Result<(), CeremonyError> {
    let size = card.public.len() + card.sealed.len();
    if size > usize::from(capacity) {
        return Err(CeremonyError::NotEnrolled(format!(
            "the record for card {} is {size} bytes but the card holds at most {capacity} bytes; nothing was written. Use a shorter master secret, label or names, or cards installed with a larger record capacity",
            key.fingerprint()
        )));
    }
    Ok(())
}

/// The custodian name given for a card, or "custodian K" by its position.
pub(super) fn name_for(names: &[(String, String)], key: &CardKey, position: usize) -> String {
    let fp = key.fingerprint();
    names
        .iter()
        .find(|(f, _)| f.eq_ignore_ascii_case(&fp))
        .map_or_else(|| format!("custodian {position}"), |(_, n)| n.clone())
}

/// Whether a card holding a set may be overwritten by `enroll --replace-unfinished`: the
/// ceremony log shows that set started on this card and never completed, the card is the
/// one its record was sealed to, and, for a set a reshare started, the master is the one
/// being enrolled (that reshare's old set may be gone, so its new set may hold the only
/// copy of a master). `Ok` says what will be overwritten; `Err` why the card is refused.
pub fn replaceable(
    evidence: &Evidence,
    record: &PublicRecord,
    key: &CardKey,
    master: &[u8],
) -> Result<String, String> {
    let set = format!(
        "set \"{}\" (id {})",
        record.label,
        hex::encode(record.set_id)
    );
    let log = evidence.path().display();
    if record.custodian(record.index).map(|c| c.card_key) != Some(*key) {
        return Err(format!(
            "holds a record of {set} that was not sealed to it (a copied record); it is refused"
        ));
    }
    match evidence.judge(&record.set_id, &Fingerprint::of(key)) {
        Verdict::Unfinished(started) => {
            if started.command != "enroll" && record.key_check != KeyCheck::of_master(master) {
                return Err(format!(
                    "holds {set}, which a {} started (line {} of the ceremony log {log}) and never completed, with another master than the one being enrolled: that {}'s old set may no longer be complete, so this set may hold the only copy of its master; recover it first, or factory-reset the card (`quorumctl reset-card`) if you are sure",
                    started.command, started.seq, started.command
                ));
            }
            Ok(format!(
                "holds {set}, whose {} started at line {} of the ceremony log {log} and never completed: it will be overwritten",
                started.command, started.seq
            ))
        }
        Verdict::Completed { seq } => Err(format!(
            "holds {set}, which completed (line {seq} of the ceremony log {log} records it in use): --replace-unfinished only overwrites sets whose enrollment never completed, so it is refused"
        )),
        Verdict::NotNamed(started) => Err(format!(
            "holds {set}, but the start of that set (line {} of the ceremony log {log}) does not name this card; it is refused",
            started.seq
        )),
        Verdict::Unknown => Err(format!(
            "holds {set}, and the ceremony log {log} has no record of that set's start, so quorumctl cannot tell that its enrollment never completed: if it was interrupted, give the log that ceremony used with --log FILE; otherwise factory-reset the card (`quorumctl reset-card`) and personalise it again (`quorumctl init`)"
        )),
    }
}

/// `Some(note)` when a card holding a set is admitted for overwriting by
/// `--replace-unfinished` (see [`replaceable`]); `Err` with the refusal otherwise, naming the card.
fn admit_replacement(
    req: &EnrollRequest<'_>,
    id: &Identity,
    session: &mut dyn CustodianCard,
    reader: &str,
) -> Result<Option<String>, String> {
    let (Some(evidence), LifeCycle::Enrolled, false, Some(key)) = (
        req.replace_unfinished,
        id.status.state,
        id.status.blocked,
        id.key,
    ) else {
        return Ok(None);
    };
    let name = format!("card {} in \"{reader}\"", key.fingerprint());
    let public = session
        .get_record_public()
        .map_err(|e| format!("{name}: its record cannot be read: {e}"))?;
    let record = PublicRecord::decode(&public)
        .map_err(|e| format!("{name}: its record cannot be read: {e}"))?;
    replaceable(evidence, &record, &key, req.master)
        .map(|note| Some(format!("{name} {note}")))
        .map_err(|why| format!("{name} {why}"))
}

/// Why a card cannot join, or `None` if it can.
fn refusal(id: &Identity, registered: &[CardKey]) -> Option<String> {
    if id.status.blocked {
        return Some(
            "has a blocked PIN; it cannot be enrolled (a factory reset makes it usable again)"
                .to_owned(),
        );
    }
    match id.status.state {
        LifeCycle::Blank => return Some("is blank; personalise it first with `quorumctl init`".to_owned()),
        LifeCycle::Enrolled => return Some("already holds a share of another set; enrolling it would destroy that share, so it is refused (if that set's enrollment was interrupted, `enroll --replace-unfinished` overwrites it)".to_owned()),
        LifeCycle::Personalised => {}
    }
    let key = id.key?;
    registered.iter().position(|r| *r == key).map(|i| {
        format!(
            "was already registered as card {} of this set (the same card twice)",
            i + 1
        )
    })
}

fn refused_message(
    id: &Identity,
    session: &mut dyn CustodianCard,
    reader: &str,
    problem: &str,
) -> String {
    let mut what = format!("card {} in \"{reader}\" {problem}", id.name());
    if id.status.state == LifeCycle::Enrolled {
        if let Ok(public) = session.get_record_public() {
            if let Ok(record) = PublicRecord::decode(&public) {
                what.push_str(&format!(
                    " ({})",
                    super::inspect::SetMembership::from_record(&record)
                ));
            }
        }
    }
    what
}

/// Identifies a presented card and checks it may join (no PIN yet): its key and record
/// capacity, or why it is refused, naming it.
fn admit(
    p: &mut Presented,
    req: &EnrollRequest<'_>,
    taken: &[CardKey],
    out: &mut dyn Progress,
) -> Result<(CardKey, u16), String> {
    let id = identify(&mut p.card, &p.reader).map_err(|e| e.to_string())?;
    match admit_replacement(req, &id, &mut p.card, &p.reader)? {
        Some(note) => {
            if let Some(i) = id.key.and_then(|k| taken.iter().position(|r| *r == k)) {
                return Err(format!(
                    "card {} was already registered as card {} of this set (the same card twice)",
                    id.name(),
                    i + 1
                ));
            }
            say(out, &format!("{note}."));
        }
        None => {
            if let Some(problem) = refusal(&id, taken) {
                return Err(refused_message(&id, &mut p.card, &p.reader, &problem));
            }
        }
    }
    let key = id.key.expect("a personalised card has a key");
    Ok((key, id.status.capacity))
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
        };
        let batch = presenter.batch(out, &wanted)?;
        if batch.is_empty() {
            break;
        }
        whole = presenter.exhausted();
        let mut taken: Vec<CardKey> = registered.iter().map(|r| r.key).collect();
        let mut admitted: Vec<(Presented, CardKey, u16)> = Vec::new();
        let mut problems = Vec::new();
        for mut p in batch {
            match admit(&mut p, req, &taken, out) {
                Ok((key, capacity)) => {
                    taken.push(key);
                    admitted.push((p, key, capacity));
                }
                Err(problem) if whole => problems.push(problem),
                Err(problem) => {
                    say(out, &format!("Refused: {problem}. Insert another card."));
                    presenter.release(out, p, Done::Refused)?;
                }
            }
        }
        if whole {
            const NOTHING: &str = "no PIN was asked and nothing was written";
            if !problems.is_empty() {
                return Err(CeremonyError::NotEnrolled(format!(
                    "{NOTHING}, because {}:\n  - {}",
                    if problems.len() == 1 {
                        "a card was refused"
                    } else {
                        "cards were refused"
                    },
                    problems.join("\n  - ")
                )));
            }
            check_plan(req, &taken, NOTHING)?;
        }
        let total = if whole { admitted.len() } else { count };
        for (mut p, key, capacity) in admitted {
            let fingerprint = key.fingerprint();
            let verified = loop {
                match verify_pin(&mut p.card, &req.pins, &fingerprint, &p.reader, out) {
                    Err(e)
                        if e.card_left() && presenter.take_back(out, &mut p, &fingerprint)? => {}
                    other => break other,
                }
            };
            match verified {
                Ok(pin) => {
                    say(
                        out,
                        &format!(
                            "Card {fingerprint} in \"{}\": PIN accepted, registered as card {} of {total}.",
                            p.reader,
                            registered.len() + 1
                        ),
                    );
                    registered.push(Registered {
                        reader: p.reader.clone(),
                        key,
                        capacity,
                        pin,
                    });
                    presenter.keep(out, p, key, Done::Registered)?;
                }
                Err(e) if whole => {
                    return Err(CeremonyError::NotEnrolled(format!(
                        "nothing was written, because card {fingerprint} in \"{}\": {e}",
                        p.reader
                    )))
                }
                Err(e) => {
                    say(
                        out,
                        &format!("Refused: card {fingerprint}: {e}. Insert another card."),
                    );
                    presenter.release(out, p, Done::Refused)?;
                }
            }
        }
    }
    if !whole {
        let keys: Vec<CardKey> = registered.iter().map(|r| r.key).collect();
        check_plan(req, &keys, "nothing was written")?;
    }
    Ok(registered)
}

/// The plan as the cards make it: their count against --shares and the threshold, and every
/// --name given for a card that is among them. `done` says what has happened so far.
fn check_plan(req: &EnrollRequest<'_>, keys: &[CardKey], done: &str) -> Result<(), CeremonyError> {
    if let Some(count) = req.count {
        if keys.len() != usize::from(count) {
            return Err(CeremonyError::NotEnrolled(format!(
                "--shares {count} was asked but {} personalised cards are present; {done}",
                keys.len()
            )));
        }
    }
    if usize::from(req.threshold) > keys.len() {
        return Err(CeremonyError::Usage(format!(
            "--threshold {} needs at least {} cards, but {} personalised card(s) are present; insert more cards or lower the threshold; {done}",
            req.threshold,
            req.threshold,
            keys.len()
        )));
    }
    let fingerprints: Vec<String> = keys.iter().map(CardKey::fingerprint).collect();
    for (fp, _) in req.names {
        if !fingerprints.iter().any(|f| f.eq_ignore_ascii_case(fp)) {
            return Err(CeremonyError::Usage(format!(
                "--name {fp}=…: no card with fingerprint {fp} is among the cards ({}); check the fingerprint `quorumctl status` shows; {done}",
                fingerprints.join(", ")
            )));
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
            reverify(session, pin, pins, &key.fingerprint(), reader, out)?;
            put(session).map_err(|e| CeremonyError::card(reader, e))?;
        }
        other => other.map_err(|e| CeremonyError::card(reader, e))?,
    }
    check_written(session, reader, key, card)
}

/// Reads a written record back, compares both parts, and opens the new share: from here on
/// the card holds the new record, so a failure must not read as "nothing changed".
fn check_written(
    session: &mut dyn CustodianCard,
    reader: &str,
    key: CardKey,
    card: &EnrolledCard,
) -> Result<(), CeremonyError> {
    let public = session
        .get_record_public()
        .map_err(|e| after_commit(key, reader, e))?;
    let sealed = session
        .get_record_sealed()
        .map_err(|e| after_commit(key, reader, e))?;
    if public != card.public || sealed[..] != card.sealed[..] {
        return Err(CeremonyError::CardRefused {
            card: key.fingerprint(),
            reader: reader.to_owned(),
            problem: "returned a record different from the one written; the card is faulty"
                .to_owned(),
        });
    }
    check_opens(session, key, card, reader)
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
        say(
            out,
            &format!(
                "Card {fingerprint} was pulled out of \"{reader}\" before its share was {}.",
                if matches!(error, CeremonyError::WrittenUnchecked { .. }) {
                    "read back and checked (it holds its new record)"
                } else {
                    "written and checked"
                }
            ),
        );
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
            Err(CeremonyError::Interrupted(None))
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
    let holds_new = id.status.state == LifeCycle::Enrolled
        && id.key == Some(key)
        && session
            .get_record_public()
            .map_err(|e| CeremonyError::card(reader, e))?
            == card.public;
    reverify(session, pin, pins, &fingerprint, reader, out)?;
    if holds_new {
        say(out, &format!("Card {fingerprint} is back and holds its new record: reading it back and checking it."));
        return check_written(session, reader, key, card);
    }
    say(
        out,
        &format!(
            "Card {fingerprint} is back and kept its previous record: writing its share again."
        ),
    );
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
    sharing::open_share(
        &card.public,
        &card.sealed,
        &key,
        &mut OsRng,
        |point: &[u8; POINT_LEN]| session.unseal(point).map(|x| *x),
    )
    .map(drop)
    .map_err(|e| {
        if e.card_left() {
            return unchecked(key, reader);
        }
        CeremonyError::CardRefused {
            card: key.fingerprint(),
            reader: reader.to_owned(),
            problem: format!("was written but does not open its new share: {e}"),
        }
    })
}

fn not_enrolled(
    reg: &Registered,
    card: &EnrolledCard,
    error: &CeremonyError,
    written: &[EnrolledCardReport],
    logged: bool,
) -> CeremonyError {
    let mut holding: Vec<String> = written.iter().map(|w| w.fingerprint.clone()).collect();
    if let CeremonyError::WrittenUnchecked { .. } = error {
        holding.push(format!("{} (unchecked)", reg.key.fingerprint()));
    }
    let done = if holding.is_empty() {
        "no card was written".to_owned()
    } else {
        format!(
            "cards already written with this unfinished set: {}. Their shares are of no use without the rest of the set: {}",
            holding.join(", "),
            if logged {
                "insert them again and run `quorumctl enroll --replace-unfinished` with the same ceremony log, which recognises them from the log's record of this set's start and overwrites them (no factory reset needed)"
            } else {
                "its start was not logged (--no-log), so insert each one again, factory-reset it (`quorumctl reset-card`) and personalise it again (`quorumctl init`) before enrolling again"
            }
        )
    };
    let what = format!(
        "writing card {} (custodian {} \"{}\") in \"{}\" failed: {error}; {done}",
        reg.key.fingerprint(),
        card.index(),
        card.record
            .custodian(card.index())
            .map(|c| c.name.as_str())
            .unwrap_or(""),
        reg.reader
    );
    if holding.is_empty() {
        CeremonyError::NotEnrolled(what)
    } else {
        // Cards were changed: the "incomplete" exit status, with the same wording.
        CeremonyError::Unfinished(format!("the set was NOT enrolled: {what}"))
    }
}

pub(super) fn report(reg: &Registered, card: &EnrolledCard) -> EnrolledCardReport {
    EnrolledCardReport::new(&reg.reader, &reg.key, card)
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
        }
    }
}

fn print_stats(
    out: &mut dyn Progress,
    req: &EnrollRequest<'_>,
    key: &CardKey,
    session: &dyn CustodianCard,
) {
    if req.stats {
        say(
            out,
            &format!(
                "stats: card {} enroll: {}",
                key.fingerprint(),
                session.stats()
            ),
        );
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
            true => reverify(&mut p.card, &reg.pin, &req.pins, &fingerprint, &reader, out),
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
            if let CeremonyError::Interrupted(None) = e {
                return Err(phase.stopped(&keys));
            }
            return Err(not_enrolled(
                reg,
                card,
                &e,
                &phase.written,
                phase.journal.records(),
            ));
        }
        say(
            out,
            &format!(
                "Card {fingerprint} (custodian {} \"{}\"): share written, read back and opened (it matches its commitment).",
                card.index(),
                report(reg, card).name
            ),
        );
        print_stats(out, req, &reg.key, &p.card);
        done[i] = true;
        phase.done(reg, card);
        if phase.written.len() == total {
            presenter.finish(out, p);
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
            _: &str,
        ) -> Result<quorum_protocol::pin::PinBlock, crate::pins::PinSourceError> {
            Err(crate::pins::PinSourceError::Interrupted)
        }
        fn new_pin(
            &self,
            _: &str,
        ) -> Result<quorum_protocol::pin::PinBlock, crate::pins::PinSourceError> {
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
        let note = replaceable(&log, record, &key(1), b"another master").unwrap();
        assert!(note.contains("set \"root-ca\""), "{note}");
        assert!(
            note.contains("line 1 of the ceremony log minutes.jsonl"),
            "{note}"
        );
        assert!(note.contains("never completed"), "{note}");

        // The start alone (the process was killed) is enough.
        assert!(replaceable(&evidence(vec![started("enroll")]), record, &key(1), master).is_ok());

        // The record copied onto another card is refused.
        let copied = replaceable(&log, record, &key(2), master).unwrap_err();
        assert!(copied.contains("copied"), "{copied}");

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
            assert!(why.contains("which completed (line 2"), "{why}");
        }

        // Unknown to this log (disabled then, or another log): refused, saying what to do.
        let why = replaceable(&evidence(vec![]), record, &key(1), master).unwrap_err();
        assert!(why.contains("has no record of that set's start"), "{why}");
        assert!(
            why.contains("--log FILE") && why.contains("reset-card"),
            "{why}"
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
        assert!(why.contains("does not name this card"), "{why}");

        // Started by a reshare: only with the master it holds.
        let log = evidence(vec![started("reshare"), interrupted]);
        assert!(replaceable(&log, record, &key(1), master).is_ok());
        let why = replaceable(&log, record, &key(1), b"another master").unwrap_err();
        assert!(why.contains("another master"), "{why}");
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
            from: CardsFrom::EveryReader {
                put_back: std::time::Duration::from_secs(1),
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
        let none = where_things_stand(&req, &enrolled, &keys, &[], true);
        assert!(none.contains("no card was changed"), "{none}");
        let one = [EnrolledCardReport::new("r", &keys[0], &enrolled.cards[0])];
        let said = where_things_stand(&req, &enrolled, &keys, &one, true);
        for part in [
            "1 of its 2 cards hold their share",
            &keys[0].fingerprint(),
            &keys[1].fingerprint(),
            "cannot be recovered",
            "No bundle was written",
            "enroll --replace-unfinished",
        ] {
            assert!(said.contains(part), "{part:?} missing: {said}");
        }
        let both = [
            EnrolledCardReport::new("r", &keys[0], &enrolled.cards[0]),
            EnrolledCardReport::new("r", &keys[1], &enrolled.cards[1]),
        ];
        let unlogged = where_things_stand(&req, &enrolled, &keys, &both[..1], false);
        assert!(
            unlogged.contains("--no-log") && unlogged.contains("reset-card"),
            "{unlogged}"
        );
        let enough = where_things_stand(&req, &enrolled, &keys, &both, true);
        assert!(enough.contains("could recover the master"), "{enough}");
    }
}
