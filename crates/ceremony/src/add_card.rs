//! Add-card: with a quorum of a set present, issue a share for one new card at a new index
//! of the same polynomial. The master key and the other cards stay as they are; the new
//! card holds the next version of the set description, which the caller publishes.
//!
//! Order: the quorum's shares are opened first (each card named, skipped cards never
//! fatal), then the new card's PIN is checked, then the new record is computed, written,
//! read back and opened. Nothing is written to any card but the new one.

use crate::presence::{Done, Wanted};
use crate::progress::{Event, Progress};
use quorum_card::openpgp::RecordSource;

use rand::rngs::OsRng;

use quorum_card::custodian::CustodianCard;
use quorum_card::readers::Readers;
use quorum_protocol::apdu::LifeCycle;
use quorum_protocol::crypto::CardKey;
use quorum_protocol::record::PublicRecord;
use quorum_protocol::sharing::{self, check_same_set, EnrolledCard, NewCustodian, OpenedShare};

use super::dry_run::{cards_present, pin_plan, planned, DryRun, Needed, Part, StillNeeded};
use super::enroll::{check_fits, write_redoing};
use super::pin_step::{verify_pin, Verified};
use super::pins::PinFor;
use super::presence::Presented;
use super::share::{
    custodian_name, open_member, read_member, read_member_held, LeftTheReader, Member, Note,
    Refusal, Refused, SeenCard, Skip, Unusable, Who,
};
use super::{identify, CardsFrom, CeremonyError, PinPolicy, Presenter};

/// What the administrator asked for.
pub struct AddCardRequest<'a> {
    /// The published set description (the bundle's newest record) the new card extends.
    pub base: &'a PublicRecord,
    /// Every record of the bundle: their description MACs are checked once the DEK is known.
    pub bundle_records: &'a [PublicRecord],
    /// The new card's fingerprint, needed when several personalised cards are present.
    pub new_card: Option<&'a str>,
    /// The new custodian's name; default "custodian K", K = the set's size after adding.
    pub name: Option<&'a str>,
    /// Where the cards come from.
    pub from: CardsFrom,
    /// How PINs reach the cards.
    pub pins: PinPolicy<'a>,
    /// Trace APDUs.
    pub trace: bool,
    /// Consulted between card steps and while waiting: the operator's Ctrl-C or SIGTERM.
    pub interrupt: &'a dyn crate::Interrupt,
}

/// The finished ceremony.
pub struct AddedCardReport {
    /// The new card's record as written (public and sealed part; nothing secret).
    pub card: EnrolledCard,
    /// The new card's reader.
    pub reader: String,
    /// Every card seen, in order, the new one last.
    pub cards: Vec<SeenCard>,
}

/// Why add-card stopped without a new card in the set (or with one but unchecked).
#[derive(Debug, thiserror::Error, serde::Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Stopped {
    /// Two personalised cards are present and none was named as the new one: refused
    /// before anything was written.
    #[error("two personalised cards are present ({first} and {second}): the new card must be named; nothing was written")]
    TwoNewCards {
        /// The first one's fingerprint.
        first: String,
        /// The second one's.
        second: String,
    },
    /// Fewer shares than the threshold could be opened.
    #[error("cannot add a card: only {opened} of the {need} shares needed to issue a new share of set \"{label}\" could be opened; nothing was written{}", SeenCard::listing(.cards))]
    QuorumShort {
        /// Shares opened.
        opened: usize,
        /// The set's threshold.
        need: usize,
        /// The set's label.
        label: String,
        /// Every card seen, with what happened to it.
        cards: Vec<SeenCard>,
    },
    /// The quorum opened, but no personalised card in no set came.
    #[error("the card was NOT added: no new card (personalised, in no set) was presented; nothing was written{}", SeenCard::listing(.cards))]
    NoNewCard {
        /// Every card seen, with what happened to it.
        cards: Vec<SeenCard>,
    },
    /// Writing the new card failed before it held its record; the set is as it was.
    #[error("the card was NOT added: writing the new card {card} in \"{reader}\" failed: {cause}; the other cards were not changed, so the set is as it was")]
    NotWritten {
        /// The new card's fingerprint.
        card: String,
        /// Its reader.
        reader: String,
        /// What failed.
        cause: Box<CeremonyError>,
    },
    /// The new card accepted its record but left before it was read back: it holds the
    /// new set version, unchecked, and no bundle of that version was written.
    #[error("{cause}. It is now custodian {index} of set \"{label}\" version {version}, but no bundle of that version was written; the other cards were not changed. Insert it again and check it: if it passes, write the version {version} bundle from it; if not, factory-reset it, personalise it again and add it again")]
    Unchecked {
        /// The write's own error ([`CeremonyError::WrittenUnchecked`]).
        cause: Box<CeremonyError>,
        /// Its custodian index.
        index: u8,
        /// The set's label.
        label: String,
        /// The set version it holds.
        version: u16,
        /// Its reader.
        reader: String,
    },
}

/// The new card while the quorum is gathered: registered, PIN accepted.
struct NewCard {
    reader: String,
    key: CardKey,
    capacity: crate::Room,
    pin: Verified,
    session: Option<Box<dyn CustodianCard>>,
}

/// What one presented card turned out to be.
enum Role {
    Share(OpenedShare),
    New(NewCard),
    Skipped(Refusal),
    /// A second personalised card while no `--new` says which is meant.
    Ambiguous(String),
}

/// Runs the ceremony until the new card holds its share, or says what was missing.
pub fn add_card(
    ctx: &dyn Readers,
    req: &AddCardRequest<'_>,
    out: &mut dyn Progress,
) -> Result<AddedCardReport, CeremonyError> {
    let base = req.base;
    let need = usize::from(base.threshold);
    let records = RecordSource::from_records(req.bundle_records);
    let mut presenter = Presenter::new(ctx, req.from.clone(), req.trace, req.interrupt)?
        .with_records(records.clone());
    // With one reader the new card comes last; otherwise it may wait in its reader.
    let swapping = presenter.one_reader();
    let mut shares: Vec<OpenedShare> = Vec::new();
    let mut new_card: Option<NewCard> = None;
    let mut seen: Vec<SeenCard> = Vec::new();
    out.tell(Event::AddCard(Told::Starting {
        label: base.label.clone(),
        threshold: base.threshold,
        count: base.custodians.len(),
        version: base.set_version,
    }));
    loop {
        let quorum_done = shares.len() >= need;
        if quorum_done && new_card.is_some() {
            break;
        }
        let wanted = if quorum_done {
            Wanted::NewCard
        } else {
            let opened: Vec<u8> = shares.iter().map(|s| s.index()).collect();
            Wanted::Quorum {
                n: shares.len() + 1,
                need,
                label: base.label.clone(),
                any_of: crate::share::not_yet_opened(base, &opened),
            }
        };
        let Some(mut p) = presenter.next(out, &wanted)? else {
            break;
        };
        let role = loop {
            let role = classify(
                &mut p,
                req,
                (&shares, &records),
                new_card.is_some(),
                swapping,
                out,
            );
            // A card pulled out mid-step is asked back (with every reader) and judged again.
            let pulled = match &role {
                Role::Skipped(Refusal { who, reason }) if reason.card_left() => {
                    who.fingerprint.clone()
                }
                _ => None,
            };
            match pulled {
                Some(fp) if presenter.take_back(out, &mut p, &fp)? => {}
                _ => break role,
            }
        };
        let reader = p.reader.clone();
        let (who, note, used) = match role {
            Role::Share(s) => {
                let who = Who::custodian(s.record());
                shares.push(s);
                let note = Note::ShareOpened {
                    opened: shares.len(),
                    need,
                    from: None,
                };
                (who, note, true)
            }
            Role::New(mut n) => {
                let who = Who {
                    fingerprint: Some(n.key.fingerprint()),
                    text: format!("{} (new card)", n.key.fingerprint()),
                };
                if !swapping {
                    out.tell(Event::AddCard(Told::NewCardWaits {
                        fingerprint: n.key.fingerprint(),
                    }));
                    n.session = Some(p.card);
                    new_card = Some(n);
                    seen.push(SeenCard {
                        reader,
                        who,
                        note: Note::NewCardPinAccepted,
                        used: true,
                    });
                    continue;
                }
                // With one reader the new card comes last and is written while it is in.
                let card = finish_new(&mut presenter, req, &shares, &n, &mut p.card, out)?;
                seen.push(SeenCard {
                    reader: reader.clone(),
                    who,
                    note: Note::NewCardWritten {
                        index: card.index(),
                    },
                    used: true,
                });
                presenter.finish(out, p, Done::Written);
                return Ok(AddedCardReport {
                    card,
                    reader,
                    cards: seen,
                });
            }
            Role::Skipped(Refusal { who, reason }) => (
                who,
                Note::Skipped {
                    reason: Skip::from(reason),
                },
                false,
            ),
            Role::Ambiguous(fp) => {
                let first = new_card
                    .as_ref()
                    .map(|n| n.key.fingerprint())
                    .unwrap_or_default();
                return Err(Stopped::TwoNewCards { first, second: fp }.into());
            }
        };
        let card = SeenCard {
            reader,
            who,
            note,
            used,
        };
        out.tell(Event::Share(crate::share::Told::Seen(card.clone())));
        seen.push(card);
        presenter.release(out, p, Done::opened(used))?;
    }
    if shares.len() < need {
        return Err(Stopped::QuorumShort {
            opened: shares.len(),
            need,
            label: base.label.clone(),
            cards: seen,
        }
        .into());
    }
    let Some(mut n) = new_card else {
        return Err(Stopped::NoNewCard { cards: seen }.into());
    };
    // Every reader: the quorum and a new card may be found before the last reader was
    // looked at; another personalised card there would make the choice the readers' order.
    if req.new_card.is_none() {
        while !presenter.pending_readers().is_empty() {
            let Some(mut p) = presenter.next(out, &Wanted::Any)? else {
                break;
            };
            let other = identify(&mut p.card, &p.reader)
                .ok()
                .filter(|id| id.status.state == LifeCycle::Personalised && !id.status.blocked)
                .and_then(|id| id.key);
            if let Some(other) = other {
                return Err(Stopped::TwoNewCards {
                    first: n.key.fingerprint(),
                    second: other.fingerprint(),
                }
                .into());
            }
        }
    }
    let mut session = n
        .session
        .take()
        .expect("every-reader mode keeps the session");
    let card = finish_new(&mut presenter, req, &shares, &n, &mut session, out)?;
    if let Some(last) = seen.iter_mut().rev().find(|s| s.reader == n.reader) {
        last.note = Note::NewCardWritten {
            index: card.index(),
        };
    }
    let reader = n.reader.clone();
    Ok(AddedCardReport {
        card,
        reader,
        cards: seen,
    })
}

/// Decides what a presented card is for, opening its share or checking its PIN.
fn classify(
    p: &mut Presented,
    req: &AddCardRequest<'_>,
    (shares, records): (&[OpenedShare], &RecordSource),
    have_new: bool,
    swapping: bool,
    out: &mut dyn Progress,
) -> Role {
    let id = match identify(&mut p.card, &p.reader) {
        Ok(id) => id,
        Err(e) => return Role::Skipped(Refusal::new(Who::unknown(), e)),
    };
    let quorum_done = shares.len() >= usize::from(req.base.threshold);
    let who_of = |key: Option<CardKey>| Who {
        fingerprint: key.map(|k| k.fingerprint()),
        text: key.map_or_else(|| "card".to_owned(), |k| k.fingerprint()),
    };
    if id.status.blocked {
        return Role::Skipped(Refusal::new(
            who_of(id.key),
            Refused::NotUsable(Unusable::Blocked),
        ));
    }
    match id.status.state {
        LifeCycle::Blank => Role::Skipped(Refusal::new(
            who_of(None),
            Refused::NotUsable(Unusable::Blank),
        )),
        LifeCycle::Personalised => {
            let key = id.key.expect("a personalised card has a key");
            let fp = key.fingerprint();
            if let Some(wanted) = req.new_card {
                if !wanted.eq_ignore_ascii_case(&fp) {
                    return Role::Skipped(Refusal::new(
                        who_of(Some(key)),
                        Refused::NotTheNewCard(wanted.to_owned()),
                    ));
                }
            } else if have_new {
                return Role::Ambiguous(fp);
            }
            if swapping && !quorum_done {
                return Role::Skipped(Refusal::new(
                    who_of(Some(key)),
                    Refused::NotUsable(Unusable::NotInSetYet),
                ));
            }
            let who = PinFor::card(&fp, &p.reader).named(req.name);
            match verify_pin(&mut p.card, &req.pins, &who, out) {
                Ok(pin) => Role::New(NewCard {
                    reader: p.reader.clone(),
                    key,
                    capacity: id.room,
                    pin,
                    session: None,
                }),
                Err(e) => Role::Skipped(Refusal::new(who_of(Some(key)), e)),
            }
        }
        LifeCycle::Enrolled => {
            match open_quorum_member(p, req, (shares, records), quorum_done, out) {
                Ok(share) => Role::Share(share),
                Err(refusal) => Role::Skipped(refusal),
            }
        }
    }
}

/// A card of the set: checked against the published description, then its share opened.
fn open_quorum_member(
    p: &mut Presented,
    req: &AddCardRequest<'_>,
    (shares, records): (&[OpenedShare], &RecordSource),
    quorum_done: bool,
    out: &mut dyn Progress,
) -> Result<OpenedShare, Refusal> {
    let member = read_member_held(&mut p.card, records)?;
    let opened: Vec<u8> = shares.iter().map(|s| s.index()).collect();
    check_quorum_member(req, &member, &opened, quorum_done)?;
    open_member(&mut p.card, &member, &req.pins, &p.reader, out)
}

/// Whether a card of the set may open its share now: of the published set, not newer than
/// the bundle, agreeing with it, not opened already, and the quorum not complete.
fn check_quorum_member(
    req: &AddCardRequest<'_>,
    member: &Member,
    opened: &[u8],
    quorum_done: bool,
) -> Result<(), Refusal> {
    let base = req.base;
    let who = member.who.clone();
    if member.record.set_id != base.set_id {
        return Err(Refusal::new(
            who,
            Refused::NotOfTheSet {
                set: Box::new(member.membership()),
                wanted: format!(
                    "set \"{}\"; it cannot be the new card either, since that would destroy its share",
                    base.label
                ),
            },
        ));
    }
    if quorum_done {
        return Err(Refusal::new(who, Refused::QuorumComplete));
    }
    if member.record.set_version > base.set_version {
        return Err(Refusal::new(
            who,
            Refused::NewerThanBundle {
                version: member.record.set_version,
                bundle_version: base.set_version,
            },
        ));
    }
    if let Err(m) = check_same_set(base, &member.record) {
        return Err(Refusal::new(
            who,
            Refused::Disagrees {
                with: "the bundle",
                mismatch: m,
                advice: "leave it out",
            },
        ));
    }
    if opened.contains(&member.record.index) {
        return Err(Refusal::new(who, Refused::AlreadyOpened));
    }
    Ok(())
}

/// The dry run of [`add_card`]: the cards in the readers now judged as the real run judges
/// them (which would open a share, which is the new card, which would be left out), and
/// what it would still ask for. With every reader, a quorum or new card missing, or two
/// possible new cards, is the real run's error. No PIN is asked, nothing is written.
pub fn dry_run(ctx: &dyn Readers, req: &AddCardRequest<'_>) -> Result<DryRun, CeremonyError> {
    let base = req.base;
    let need = usize::from(base.threshold);
    let records = RecordSource::from_records(req.bundle_records);
    let presented = cards_present(ctx, &req.from, req.trace, &records)?;
    let swapping = matches!(req.from, CardsFrom::OneReader { .. });
    let mut opened: Vec<u8> = Vec::new();
    let mut new_card: Option<String> = None;
    let mut cards = Vec::new();
    for mut p in presented {
        let reader = p.reader.clone();
        let refused = |card: Option<String>, why: String| {
            planned(&reader, card, None, Part::Refused { why }, None)
        };
        let id = match identify(&mut p.card, &reader) {
            Ok(id) => id,
            Err(e) => {
                cards.push(refused(None, e.to_string()));
                continue;
            }
        };
        let fingerprint = id.key.map(|k| k.fingerprint());
        if id.status.blocked {
            cards.push(refused(fingerprint, Unusable::Blocked.to_string()));
            continue;
        }
        match id.status.state {
            LifeCycle::Blank => cards.push(refused(None, Unusable::Blank.to_string())),
            LifeCycle::Personalised => {
                let fp = fingerprint.expect("a personalised card has a key");
                if let Some(wanted) = req.new_card.filter(|w| !w.eq_ignore_ascii_case(&fp)) {
                    let why = Refused::NotTheNewCard(wanted.to_owned()).to_string();
                    cards.push(refused(Some(fp), why));
                    continue;
                }
                if let Some(first) = &new_card {
                    return Err(Stopped::TwoNewCards {
                        first: first.clone(),
                        second: fp,
                    }
                    .into());
                }
                if swapping && opened.len() < need {
                    let why = Refused::NotUsable(Unusable::NotInSetYet).to_string();
                    cards.push(refused(Some(fp), why));
                    continue;
                }
                let who = PinFor::card(&fp, &reader).named(req.name);
                let pin = pin_plan(p.card.as_mut(), &req.pins, &who)?;
                let name = req.name.map(str::to_owned);
                cards.push(planned(
                    &reader,
                    Some(fp.clone()),
                    name,
                    Part::NewCard,
                    Some(pin),
                ));
                new_card = Some(fp);
            }
            LifeCycle::Enrolled => {
                let checked = read_member(p.card.as_mut()).and_then(|member| {
                    check_quorum_member(req, &member, &opened, opened.len() >= need)
                        .map(|()| member)
                });
                match checked {
                    Ok(member) => {
                        let fp = member.fingerprint();
                        let name = custodian_name(&member.record).map(str::to_owned);
                        let who = PinFor::card(&fp, &reader).named(name.as_deref());
                        let pin = pin_plan(p.card.as_mut(), &req.pins, &who)?;
                        let part = Part::OpensShare {
                            index: member.record.index,
                        };
                        cards.push(planned(&reader, Some(fp), name, part, Some(pin)));
                        opened.push(member.record.index);
                    }
                    Err(Refusal {
                        who,
                        reason: Refused::QuorumComplete,
                    }) => cards.push(planned(
                        &reader,
                        who.fingerprint,
                        None,
                        Part::NotNeeded,
                        None,
                    )),
                    Err(Refusal { who, reason }) => {
                        cards.push(refused(who.fingerprint, reason.to_string()));
                    }
                }
            }
        }
    }
    let still_needed = if opened.len() < need {
        Some(StillNeeded {
            cards: need - opened.len(),
            any_of: crate::share::not_yet_opened(base, &opened),
            role: Needed::Quorum,
        })
    } else if new_card.is_none() {
        Some(StillNeeded {
            cards: 1,
            any_of: req.name.map(str::to_owned).into_iter().collect(),
            role: Needed::NewCard,
        })
    } else {
        None
    };
    Ok(DryRun::of_quorum(cards, still_needed))
}

/// Computes the new card's record from the quorum, then writes, reads back and opens it.
fn finish_new(
    presenter: &mut Presenter<'_>,
    req: &AddCardRequest<'_>,
    shares: &[OpenedShare],
    n: &NewCard,
    session: &mut Box<dyn CustodianCard>,
    out: &mut dyn Progress,
) -> Result<EnrolledCard, CeremonyError> {
    let name = req.name.map_or_else(
        || format!("custodian {}", req.base.custodians.len() + 1),
        str::to_owned,
    );
    let custodian = NewCustodian {
        card_key: n.key,
        name: name.clone(),
    };
    let added = sharing::add_card_to(req.base, req.bundle_records, shares, &custodian, &mut OsRng)?;
    let card = added.card;
    check_fits(&n.key, n.capacity, &card)?;
    out.tell(Event::AddCard(Told::Writing {
        index: card.index(),
        name,
        version: card.record.set_version,
        fingerprint: n.key.fingerprint(),
    }));
    write_redoing(
        presenter, session, &n.reader, n.key, None, &n.pin, &card, &req.pins, out,
    )
    .map_err(|e| match e {
        e @ CeremonyError::WrittenUnchecked { .. } => Stopped::Unchecked {
            cause: Box::new(e),
            index: card.index(),
            label: req.base.label.clone(),
            version: card.record.set_version,
            reader: n.reader.clone(),
        },
        e => Stopped::NotWritten {
            card: n.key.fingerprint(),
            reader: n.reader.clone(),
            cause: Box::new(e),
        },
    })?;
    out.tell(Event::AddCard(Told::Written {
        fingerprint: n.key.fingerprint(),
        index: card.index(),
    }));
    Ok(card)
}

/// What adding a card to a set tells the people at the table as it goes (worded by the caller).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Told {
    /// The ceremony starts on the set the bundle describes: its quorum of `threshold`
    /// cards opens its shares, then the new card is written.
    Starting {
        /// The set's label.
        label: String,
        /// n.
        threshold: u8,
        /// m, before the new card.
        count: usize,
        /// The set version the bundle holds.
        version: u16,
    },
    /// The new card's PIN was accepted; it waits in its reader until the quorum's shares are open.
    NewCardWaits {
        /// The new card's fingerprint.
        fingerprint: String,
    },
    /// The new custodian's record is being written to the new card.
    Writing {
        /// Its custodian index.
        index: u8,
        /// The custodian's name.
        name: String,
        /// The new set version.
        version: u16,
        /// The new card's fingerprint.
        fingerprint: String,
    },
    /// The new card holds its record, read back and opened (it matches its commitment).
    Written {
        /// The new card's fingerprint.
        fingerprint: String,
        /// Its custodian index.
        index: u8,
    },
}

impl From<Stopped> for CeremonyError {
    fn from(stopped: Stopped) -> CeremonyError {
        CeremonyError::AddCardStopped(stopped)
    }
}

#[cfg(test)]
mod in_memory;
