//! Enrollment: register the cards (key and PIN checked), split and seal, then write, read
//! back and open every record (the health check of `verify`, done at once). Nothing is written to any card until every card has been
//! registered and its PIN accepted, so a refused card or a wrong PIN costs nothing.

use std::io::Write;

use rand::rngs::OsRng;
use zeroize::Zeroizing;

use quorum_card::card::CardError;
use quorum_card::custodian::CustodianCard;
use quorum_card::readers::Readers;
use quorum_protocol::apdu::{LifeCycle, RecordKey};
use quorum_protocol::crypto::wei25519::POINT_LEN;
use quorum_protocol::crypto::CardKey;
use quorum_protocol::record::PublicRecord;
use quorum_protocol::sharing::{self, EnrolledCard, Enrollment, NewCustodian};

use super::pin_step::{reverify, verify_pin, Verified};
use super::presence::Presented;
use super::share::LeftTheReader;
use super::{identify, say, CardsFrom, CeremonyError, Identity, PinPolicy, Presenter};

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

/// A card that passed registration; in every-reader mode its connection stays open.
struct Registered {
    reader: String,
    key: CardKey,
    capacity: u16,
    pin: Verified,
    session: Option<Box<dyn CustodianCard>>,
}

/// Runs the whole enrollment; on any card failure the set is reported as not enrolled.
pub fn enroll(
    ctx: &dyn Readers,
    req: &EnrollRequest<'_>,
    out: &mut dyn Write,
) -> Result<EnrollOutcome, CeremonyError> {
    let mut presenter = Presenter::new(ctx, req.from.clone(), req.trace)?;
    check_threshold(req.threshold, req.count)?;
    let registered = if presenter.swapping() {
        let count = req.count.ok_or_else(|| {
            CeremonyError::Usage(
                "with --reader or --any-reader, give the number of cards with --shares M"
                    .to_owned(),
            )
        })?;
        register_swapped(&mut presenter, req, usize::from(count), out)?
    } else {
        register_present(&mut presenter, req, out)?
    };
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
    let cards = if presenter.swapping() {
        write_swapped(&mut presenter, req, registered, &enrollment, out)?
    } else {
        write_present(req, registered, &enrollment, out)?
    };
    Ok(EnrollOutcome { enrollment, cards })
}

/// Refuses, before any card is asked for a PIN, a threshold no set of these cards can have:
/// 0, or more than the number of cards when it is given.
fn check_threshold(threshold: u8, count: Option<u8>) -> Result<(), CeremonyError> {
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
        LifeCycle::Enrolled => return Some("already holds a share of another set; enrolling it would destroy that share, so it is refused".to_owned()),
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

/// Identifies a presented card, checks it may join, and checks its PIN now, so that a
/// refused card or a wrong PIN is found before any card is written. `Err` is the reason
/// the card was refused, naming it.
fn register_one(
    p: &mut Presented,
    pins: &PinPolicy<'_>,
    registered: &[Registered],
    out: &mut dyn Write,
) -> Result<(CardKey, u16, Verified), String> {
    let id = identify(&mut p.card, &p.reader).map_err(|e| e.to_string())?;
    let keys: Vec<CardKey> = registered.iter().map(|r| r.key).collect();
    if let Some(problem) = refusal(&id, &keys) {
        return Err(refused_message(&id, &mut p.card, &p.reader, &problem));
    }
    let key = id.key.expect("a personalised card has a key");
    let fingerprint = key.fingerprint();
    let pin = verify_pin(&mut p.card, pins, &fingerprint, &p.reader, out)
        .map_err(|e| format!("card {fingerprint}: {e}"))?;
    Ok((key, id.status.capacity, pin))
}

fn register_present(
    presenter: &mut Presenter<'_>,
    req: &EnrollRequest<'_>,
    out: &mut dyn Write,
) -> Result<Vec<Registered>, CeremonyError> {
    // First every card without a PIN: any refusal, a count that does not fit or a name for
    // a card that is not there stops the enrollment before anyone types a PIN.
    let mut found: Vec<(Presented, CardKey, u16)> = Vec::new();
    let mut problems = Vec::new();
    let mut sink = std::io::sink();
    while let Some(mut p) = presenter.next(&mut sink, "")? {
        let keys: Vec<CardKey> = found.iter().map(|(_, k, _)| *k).collect();
        match identify(&mut p.card, &p.reader) {
            Err(e) => problems.push(e.to_string()),
            Ok(id) => match refusal(&id, &keys) {
                Some(problem) => {
                    problems.push(refused_message(&id, &mut p.card, &p.reader, &problem))
                }
                None => {
                    let key = id.key.expect("a personalised card has a key");
                    found.push((p, key, id.status.capacity));
                }
            },
        }
    }
    if !problems.is_empty() {
        return Err(CeremonyError::NotEnrolled(format!(
            "no PIN was asked and nothing was written, because {}:\n  - {}",
            if problems.len() == 1 {
                "a card was refused"
            } else {
                "cards were refused"
            },
            problems.join("\n  - ")
        )));
    }
    let keys: Vec<CardKey> = found.iter().map(|(_, k, _)| *k).collect();
    check_plan(req, &keys, "no PIN was asked and nothing was written")?;
    let mut registered: Vec<Registered> = Vec::with_capacity(found.len());
    for (mut p, key, capacity) in found {
        let fingerprint = key.fingerprint();
        let pin =
            verify_pin(&mut p.card, &req.pins, &fingerprint, &p.reader, out).map_err(|e| {
                CeremonyError::NotEnrolled(format!(
                    "nothing was written, because card {fingerprint} in \"{}\": {e}",
                    p.reader
                ))
            })?;
        say(
            out,
            &format!(
                "Card {fingerprint} in \"{}\": PIN accepted, registered as card {}.",
                p.reader,
                registered.len() + 1
            ),
        );
        registered.push(Registered {
            reader: p.reader,
            key,
            capacity,
            pin,
            session: Some(p.card),
        });
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

fn register_swapped(
    presenter: &mut Presenter<'_>,
    req: &EnrollRequest<'_>,
    count: usize,
    out: &mut dyn Write,
) -> Result<Vec<Registered>, CeremonyError> {
    let mut registered: Vec<Registered> = Vec::new();
    say(
        out,
        &format!(
            "Registering {count} cards: each custodian inserts their card and enters their PIN."
        ),
    );
    while registered.len() < count {
        let k = registered.len() + 1;
        let Some(mut p) = presenter.next(out, &format!("custodian card {k} of {count}"))? else {
            break;
        };
        match register_one(&mut p, &req.pins, &registered, out) {
            Ok((key, capacity, pin)) => {
                say(
                    out,
                    &format!(
                        "Card {}: PIN accepted, registered as card {k} of {count}.",
                        key.fingerprint()
                    ),
                );
                registered.push(Registered {
                    reader: p.reader.clone(),
                    key,
                    capacity,
                    pin,
                    session: None,
                });
                presenter.release(out, p, "registered")?;
            }
            Err(problem) => {
                say(out, &format!("Refused: {problem}. Insert another card."));
                presenter.release(out, p, "refused")?;
            }
        }
    }
    let keys: Vec<CardKey> = registered.iter().map(|r| r.key).collect();
    check_plan(req, &keys, "nothing was written")?;
    Ok(registered)
}

/// PUT RECORD, then read both parts back and compare, then open; re-verifies once if the card was reset.
fn write_one(
    session: &mut dyn CustodianCard,
    reg: &Registered,
    card: &EnrolledCard,
    pins: &PinPolicy<'_>,
    out: &mut dyn Write,
) -> Result<(), CeremonyError> {
    write_and_check(
        session,
        &reg.reader,
        reg.key,
        RecordKey::Present,
        &reg.pin,
        card,
        pins,
        out,
    )
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
    out: &mut dyn Write,
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
    // From here on the card holds the new record: a failure must not read as "nothing changed".
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
) -> CeremonyError {
    let mut holding: Vec<String> = written.iter().map(|w| w.fingerprint.clone()).collect();
    if let CeremonyError::WrittenUnchecked { .. } = error {
        holding.push(format!("{} (unchecked)", reg.key.fingerprint()));
    }
    let done = if holding.is_empty() {
        "no card was written".to_owned()
    } else {
        format!(
            "cards already written with this unfinished set: {}. Their shares are of no use without the rest of the set: insert each one again, factory-reset it (`quorumctl reset-card`) and personalise it again (`quorumctl init`) before enrolling again",
            holding.join(", ")
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

fn report(reg: &Registered, card: &EnrolledCard) -> EnrolledCardReport {
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
    out: &mut dyn Write,
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

fn write_present(
    req: &EnrollRequest<'_>,
    registered: Vec<Registered>,
    enrollment: &Enrollment,
    out: &mut dyn Write,
) -> Result<Vec<EnrolledCardReport>, CeremonyError> {
    let mut written = Vec::new();
    for (mut reg, card) in registered.into_iter().zip(&enrollment.cards) {
        let mut session = reg
            .session
            .take()
            .expect("every-reader registration keeps the session");
        if let Err(e) = write_one(&mut session, &reg, card, &req.pins, out) {
            return Err(not_enrolled(&reg, card, &e, &written));
        }
        say(
            out,
            &format!(
                "Card {} (custodian {} \"{}\"): share written, read back and opened (it matches its commitment).",
                reg.key.fingerprint(),
                card.index(),
                report(&reg, card).name
            ),
        );
        print_stats(out, req, &reg.key, &session);
        written.push(report(&reg, card));
    }
    Ok(written)
}

fn write_swapped(
    presenter: &mut Presenter<'_>,
    req: &EnrollRequest<'_>,
    registered: Vec<Registered>,
    enrollment: &Enrollment,
    out: &mut dyn Write,
) -> Result<Vec<EnrolledCardReport>, CeremonyError> {
    presenter.again();
    let total = registered.len();
    let mut done = vec![false; total];
    let mut written = Vec::new();
    say(
        out,
        "Writing the shares: insert each registered card again, in any order.",
    );
    while written.len() < total {
        let Some(mut p) = presenter.next(
            out,
            &format!(
                "a registered card ({} of {total} written so far)",
                written.len()
            ),
        )?
        else {
            break;
        };
        let id = match identify(&mut p.card, &p.reader) {
            Ok(id) => id,
            Err(e) => {
                say(out, &format!("Skipped: {e}"));
                presenter.release(out, p, "not usable")?;
                continue;
            }
        };
        let Some(i) = id
            .key
            .and_then(|k| registered.iter().position(|r| r.key == k))
        else {
            say(
                out,
                &format!(
                    "Skipped: card {} was not registered for this set.",
                    id.name()
                ),
            );
            presenter.release(out, p, "not part of this set")?;
            continue;
        };
        if done[i] {
            say(
                out,
                &format!("Skipped: card {} already holds its share.", id.name()),
            );
            presenter.release(out, p, "already written")?;
            continue;
        }
        let (reg, card) = (&registered[i], &enrollment.cards[i]);
        let fingerprint = reg.key.fingerprint();
        let result = reverify(
            &mut p.card,
            &reg.pin,
            &req.pins,
            &fingerprint,
            &p.reader,
            out,
        )
        .and_then(|()| write_one(&mut p.card, reg, card, &req.pins, out));
        if let Err(e) = result {
            return Err(not_enrolled(reg, card, &e, &written));
        }
        say(
            out,
            &format!(
                "Card {} (custodian {} \"{}\"): share written, read back and opened (it matches its commitment).",
                reg.key.fingerprint(),
                card.index(),
                report(reg, card).name
            ),
        );
        print_stats(out, req, &reg.key, &p.card);
        done[i] = true;
        written.push(report(reg, card));
        if written.len() == total {
            presenter.finish(out, p);
        } else {
            presenter.release(out, p, "share written")?;
        }
    }
    written.sort_by_key(|w| w.index);
    Ok(written)
}

#[cfg(test)]
mod in_memory;
