//! Add-card: with a quorum of a set present, issue a share for one new card at a new index
//! of the same polynomial. The master key and the other cards stay as they are; the new
//! card holds the next version of the set description, which the caller publishes.
//!
//! Order: the quorum's shares are opened first (each card named, skipped cards never
//! fatal), then the new card's PIN is checked, then the new record is computed, written,
//! read back and opened. Nothing is written to any card but the new one.

use crate::presence::{Done, Wanted};
use crate::progress::Progress;

use rand::rngs::OsRng;

use quorum_card::custodian::CustodianCard;
use quorum_card::readers::Readers;
use quorum_protocol::apdu::LifeCycle;
use quorum_protocol::crypto::CardKey;
use quorum_protocol::record::PublicRecord;
use quorum_protocol::sharing::{self, check_same_set, EnrolledCard, NewCustodian, OpenedShare};

use super::enroll::{check_fits, write_redoing};
use super::pin_step::{verify_pin, Verified};
use super::presence::Presented;
use super::share::{open_member, read_member, LeftTheReader, Refusal, Refused, SeenCard, Who};
use super::{identify, say, CardsFrom, CeremonyError, PinPolicy, Presenter};

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

/// The new card while the quorum is gathered: registered, PIN accepted.
struct NewCard {
    reader: String,
    key: CardKey,
    capacity: u16,
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
    let mut presenter = Presenter::new(ctx, req.from.clone(), req.trace, req.interrupt)?;
    // With one reader the new card comes last; otherwise it may wait in its reader.
    let swapping = presenter.one_reader();
    let mut shares: Vec<OpenedShare> = Vec::new();
    let mut new_card: Option<NewCard> = None;
    let mut seen: Vec<SeenCard> = Vec::new();
    say(
        out,
        &format!(
            "Adding a card to set \"{}\" ({}-of-{}, version {}): {need} custodian card(s) open their shares, then the new card is written.",
            base.label,
            base.threshold,
            base.custodians.len(),
            base.set_version
        ),
    );
    loop {
        let quorum_done = shares.len() >= need;
        if quorum_done && new_card.is_some() {
            break;
        }
        let wanted = if quorum_done {
            Wanted::NewCard
        } else {
            Wanted::Quorum {
                n: shares.len() + 1,
                need,
                label: base.label.clone(),
            }
        };
        let Some(mut p) = presenter.next(out, &wanted)? else {
            break;
        };
        let role = loop {
            let role = classify(&mut p, req, &shares, new_card.is_some(), swapping, out);
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
                let note = format!("share opened ({} of {need})", shares.len());
                (who, note, true)
            }
            Role::New(mut n) => {
                let who = Who {
                    fingerprint: Some(n.key.fingerprint()),
                    text: format!("{} (new card)", n.key.fingerprint()),
                };
                if !swapping {
                    say(out, &format!("New card {}: PIN accepted; it is written once the quorum's shares are open.", n.key.fingerprint()));
                    n.session = Some(p.card);
                    new_card = Some(n);
                    seen.push(SeenCard {
                        reader,
                        who,
                        note: "new card, PIN accepted".to_owned(),
                        used: true,
                    });
                    continue;
                }
                // With one reader the new card comes last and is written while it is in.
                let card = finish_new(&mut presenter, req, &shares, &n, &mut p.card, out)?;
                seen.push(SeenCard {
                    reader: reader.clone(),
                    who,
                    note: format!("new custodian {} written and checked", card.index()),
                    used: true,
                });
                presenter.finish(out, p);
                return Ok(AddedCardReport {
                    card,
                    reader,
                    cards: seen,
                });
            }
            Role::Skipped(Refusal { who, reason }) => (who, reason.to_string(), false),
            Role::Ambiguous(fp) => {
                let first = new_card
                    .as_ref()
                    .map(|n| n.key.fingerprint())
                    .unwrap_or_default();
                return Err(CeremonyError::Usage(format!(
                    "two personalised cards are present ({first} and {fp}): name the one to add with --new FINGERPRINT; nothing was written"
                )));
            }
        };
        let card = SeenCard {
            reader,
            who,
            note,
            used,
        };
        say(out, &card.said());
        seen.push(card);
        presenter.release(
            out,
            p,
            if used {
                Done::ShareOpened
            } else {
                Done::Skipped
            },
        )?;
    }
    if shares.len() < need {
        return Err(CeremonyError::NotEnoughShares(format!(
            "only {} of the {need} shares needed to issue a new share of set \"{}\" could be opened; nothing was written{}",
            shares.len(),
            base.label,
            SeenCard::listing(&seen)
        )));
    }
    let Some(mut n) = new_card else {
        return Err(CeremonyError::NotEnrolled(format!(
            "no new card was presented: insert a card personalised with `quorumctl init` that is in no set; nothing was written{}",
            SeenCard::listing(&seen)
        )));
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
                return Err(CeremonyError::Usage(format!(
                    "two personalised cards are present ({} and {}): name the one to add with --new FINGERPRINT; nothing was written",
                    n.key.fingerprint(),
                    other.fingerprint()
                )));
            }
        }
    }
    let mut session = n
        .session
        .take()
        .expect("every-reader mode keeps the session");
    let card = finish_new(&mut presenter, req, &shares, &n, &mut session, out)?;
    if let Some(last) = seen.iter_mut().rev().find(|s| s.reader == n.reader) {
        last.note = format!("new custodian {} written and checked", card.index());
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
    shares: &[OpenedShare],
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
            Refused::NotUsable("its PIN is blocked; only a factory reset revives it"),
        ));
    }
    match id.status.state {
        LifeCycle::Blank => Role::Skipped(Refusal::new(
            who_of(None),
            Refused::NotUsable(
                "is blank: personalise it with `quorumctl init` first if it is to be the new card",
            ),
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
                    Refused::NotUsable("is not in the set yet: insert it when the new card is asked for, after the custodians' cards"),
                ));
            }
            match verify_pin(&mut p.card, &req.pins, &fp, &p.reader, out) {
                Ok(pin) => Role::New(NewCard {
                    reader: p.reader.clone(),
                    key,
                    capacity: id.status.capacity,
                    pin,
                    session: None,
                }),
                Err(e) => Role::Skipped(Refusal::new(who_of(Some(key)), e)),
            }
        }
        LifeCycle::Enrolled => match open_quorum_member(p, req, shares, quorum_done, out) {
            Ok(share) => Role::Share(share),
            Err(refusal) => Role::Skipped(refusal),
        },
    }
}

/// A card of the set: checked against the published description, then its share opened.
fn open_quorum_member(
    p: &mut Presented,
    req: &AddCardRequest<'_>,
    shares: &[OpenedShare],
    quorum_done: bool,
    out: &mut dyn Progress,
) -> Result<OpenedShare, Refusal> {
    let member = read_member(&mut p.card)?;
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
    if shares.iter().any(|s| s.index() == member.record.index) {
        return Err(Refusal::new(who, Refused::AlreadyOpened));
    }
    open_member(&mut p.card, &member, &req.pins, &p.reader, out)
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
    say(
        out,
        &format!(
            "Writing custodian {} \"{}\" (set version {}) to card {}.",
            card.index(),
            name,
            card.record.set_version,
            n.key.fingerprint()
        ),
    );
    write_redoing(presenter, session, &n.reader, n.key, None, &n.pin, &card, &req.pins, out).map_err(|e| match e {
        CeremonyError::WrittenUnchecked { .. } => CeremonyError::Unfinished(format!(
            "{e}. It is now custodian {index} of set \"{label}\" version {version}, but no bundle of that version was written; the other cards were not changed. Insert it again and run `quorumctl verify --reader \"{reader}\"`: if that passes, `quorumctl export-bundle --reader \"{reader}\" --out FILE` writes the version {version} bundle from it; if not, factory-reset it (`quorumctl reset-card`), personalise it again (`quorumctl init`) and repeat add-card",
            index = card.index(),
            label = req.base.label,
            version = card.record.set_version,
            reader = n.reader,
        )),
        e => CeremonyError::NotEnrolled(format!(
            "writing the new card {} in \"{}\" failed: {e}; the other cards were not changed, so the set is as it was",
            n.key.fingerprint(),
            n.reader
        )),
    })?;
    say(
        out,
        &format!(
            "Card {}: custodian {} written, read back and opened (it matches its commitment).",
            n.key.fingerprint(),
            card.index()
        ),
    );
    Ok(card)
}

/// What adding a card to a set tells the people at the table as it goes (worded by the caller).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Told {}

#[cfg(test)]
mod in_memory;
