//! Health check without a meeting: one custodian proves their card still opens its share
//! (PIN accepted, share decrypts, and it matches the commitment the set description
//! publishes for it) without any other card and without reconstructing anything. With
//! `no_open`, the card instead proves it holds the key its record lists (a DH challenge on
//! a fresh random point) and its share is never read or opened on this computer.

use quorum_card::openpgp::RecordSource;
use std::fmt;

use crate::presence::{Done, Wanted};
use crate::progress::{Event, Progress};

use rand::rngs::OsRng;

use quorum_card::custodian::CustodianCard;
use quorum_card::readers::Readers;
use quorum_protocol::bundle::Bundle;
use quorum_protocol::crypto::KeyChallenge;
use quorum_protocol::record::PublicRecord;
use quorum_protocol::sharing::newest_of_one_set;

use super::inspect::SetMembership;
use super::pin_step::verify_pin;
use super::pins::PinFor;
use super::share::custodian_name;
use super::share::{open_verified, read_member_held, LeftTheReader, Member, Refusal, Refused, Who};
use super::{CardsFrom, CeremonyError, PinPolicy, Presenter};

/// What to check.
pub struct VerifyRequest<'a> {
    /// The published set description to compare each card with, if the custodian has it.
    pub bundle: Option<&'a Bundle>,
    /// Where the cards come from.
    pub from: CardsFrom,
    /// With one reader: how many cards to check, one after the other.
    pub count: usize,
    /// How PINs reach the cards.
    pub pins: PinPolicy<'a>,
    /// Trace APDUs.
    pub trace: bool,
    /// Prove the card's key with a fresh challenge instead of opening its share on this computer.
    pub no_open: bool,
    /// Consulted between card steps and while waiting: the operator's Ctrl-C or SIGTERM.
    pub interrupt: &'a dyn crate::Interrupt,
}

/// The result for one card.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct CardCheck {
    /// The reader it was in.
    pub reader: String,
    /// The card, named as far as it could be read.
    pub who: Who,
    /// Its set and place, once its record was read.
    pub set: Option<SetMembership>,
    /// The card opened its share and the share matches its commitment.
    pub ok: bool,
    /// It failed at its PIN (wrong, blocked, cancelled or timed out on a keypad).
    pub pin_failed: bool,
    /// What was found.
    pub note: CheckNote,
}

/// What a card's check found, as data the caller words (its `Display` is the library's
/// own account).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum CheckNote {
    /// The PIN was accepted and the card proved its share (or, with `no_open`, its key).
    Passed {
        /// The card's set and place, as its record says.
        set: Box<SetMembership>,
        /// The card answered a key challenge; its share was not read.
        no_open: bool,
        /// The card's record agrees with the bundle given.
        with_bundle: bool,
    },
    /// The check failed.
    Failed {
        /// What failed.
        reason: crate::progress::Shared<Refused>,
    },
}

impl fmt::Display for CheckNote {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CheckNote::Passed {
                set,
                no_open,
                with_bundle,
            } => write!(
                f,
                "PIN accepted; {} {} of set \"{}\" ({}-of-{}, id {}) (set version {}){}{}",
                if *no_open {
                    "the card answered a fresh key challenge with the key its record lists for custodian"
                } else {
                    "the share opens and matches the commitment published for custodian"
                },
                set.index,
                set.label,
                set.threshold,
                set.count,
                set.set_id,
                set.set_version,
                if *no_open {
                    "; its share was not read"
                } else {
                    ""
                },
                if *with_bundle {
                    "; the card's record agrees with the bundle"
                } else {
                    ""
                }
            ),
            CheckNote::Failed { reason } => write!(f, "{reason}"),
        }
    }
}

/// Checks every card presented; a card that fails is reported, never fatal to the others.
pub fn verify(
    ctx: &dyn Readers,
    req: &VerifyRequest<'_>,
    out: &mut dyn Progress,
) -> Result<Vec<CardCheck>, CeremonyError> {
    // OpenPGP cards' public records come from the bundle; a bundle whose records cannot be
    // read gives none, and each card's check against it names the problem.
    let decoded = req.bundle.and_then(|b| b.decoded_records().ok());
    let records = decoded
        .as_deref()
        .map(RecordSource::from_records)
        .unwrap_or_default();
    let mut known = Known {
        records: records.clone(),
        newest: decoded
            .as_deref()
            .and_then(|d| newest_of_one_set(d).ok().flatten().cloned()),
    };
    let mut presenter =
        Presenter::new(ctx, req.from.clone(), req.trace, req.interrupt)?.with_records(records);
    let total = presenter.pass_size(req.count);
    let mut checks: Vec<CardCheck> = Vec::new();
    while checks.len() < total {
        let wanted = Wanted::ToCheck {
            n: checks.len() + 1,
            of: total,
        };
        let Some(mut p) = presenter.next(out, &wanted)? else {
            break;
        };
        let reader = p.reader.clone();
        let checked = loop {
            match check_one(&mut p.card, &reader, (req, &mut known), out) {
                Err(Failed {
                    left: true,
                    who:
                        Who {
                            fingerprint: Some(fingerprint),
                            ..
                        },
                    ..
                }) if presenter.take_back(out, &mut p, &fingerprint)? => {}
                other => break other,
            }
        };
        let check = match checked {
            Ok((who, set, note)) => CardCheck {
                reader: reader.clone(),
                who,
                set: Some(set),
                ok: true,
                pin_failed: false,
                note,
            },
            Err(Failed { who, note, pin, .. }) => CardCheck {
                reader: reader.clone(),
                who,
                set: None,
                ok: false,
                pin_failed: pin,
                note,
            },
        };
        out.tell(Event::Verify(Told::Checked(check.clone())));
        let ok = check.ok;
        checks.push(check);
        if checks.len() == total {
            let why = match ok {
                true => Done::Checked,
                false => Done::CheckFailed,
            };
            presenter.finish(out, p, why);
        } else {
            presenter.release(out, p, Done::Checked)?;
        }
    }
    Ok(checks)
}

/// Why a card failed its check, whether it was at its PIN (the exit status says so), and
/// whether the card left its reader in the middle (it may be put back and checked again).
struct Failed {
    who: Who,
    note: CheckNote,
    pin: bool,
    left: bool,
}

impl From<Refusal> for Failed {
    fn from(Refusal { who, reason }: Refusal) -> Failed {
        Failed {
            pin: matches!(&reason, Refused::Card(e) if e.is_pin_failure()),
            left: reason.card_left(),
            note: CheckNote::Failed {
                reason: crate::progress::Shared::new(reason),
            },
            who,
        }
    }
}

/// What a verification knows before the cards: the public parts known (shared with the
/// presenter's OpenPGP cards) and the bundle's newest record, each decoded once.
struct Known {
    records: RecordSource,
    newest: Option<PublicRecord>,
}

fn check_one(
    card: &mut dyn CustodianCard,
    reader: &str,
    (req, known): (&VerifyRequest<'_>, &mut Known),
    out: &mut dyn Progress,
) -> Result<(Who, SetMembership, CheckNote), Failed> {
    let member = read_member_held(card, &known.records)?;
    let set = member.membership();
    if let Some(bundle) = req.bundle {
        // A bundle whose newest record cannot be had says why, card by card.
        match &known.newest {
            Some(newest) => Bundle::check_card_record_against(newest, &member.record),
            None => bundle.check_card_record(&member.record),
        }
        .map_err(|e| Refusal::new(member.who.clone(), Refused::Bundle(e)))?;
    }
    let fingerprint = member.fingerprint();
    let who = PinFor::card(&fingerprint, reader).named(custodian_name(&member.record));
    verify_pin(card, &req.pins, &who, out).map_err(|e| Failed {
        who: member.who.clone(),
        pin: e.is_pin_failure(),
        left: e.card_left(),
        note: CheckNote::Failed {
            reason: crate::progress::Shared::new(Refused::Pin(Box::new(e))),
        },
    })?;
    if req.no_open {
        prove_key(card, &member)?;
    } else {
        open_verified(card, &member)?;
    }
    let note = CheckNote::Passed {
        set: Box::new(set.clone()),
        no_open: req.no_open,
        with_bundle: req.bundle.is_some(),
    };
    Ok((member.who, set, note))
}

/// One UNSEAL of s·G for a fresh s (the PIN was accepted): the answer must be x(s·Q) for the
/// key the record lists. GET RECORD (sealed) is never sent, so the share never reaches this
/// computer.
fn prove_key(card: &mut dyn CustodianCard, member: &Member) -> Result<(), Refusal> {
    let refuse = |reason: Refused| Refusal::new(member.who.clone(), reason);
    let challenge = KeyChallenge::new(member.key.point(), &mut OsRng);
    let answer = card
        .unseal(challenge.card_point())
        .map_err(|e| refuse(Refused::Card(e)))?;
    match challenge.answered(&answer) {
        Ok(true) => Ok(()),
        Ok(false) => Err(refuse(Refused::WrongKeyAnswer {
            fingerprint: member.fingerprint(),
            index: member.record.index,
        })),
        Err(e) => Err(refuse(Refused::BadKeyAnswer(e))),
    }
}

/// What checking cards tells the people at the table as it goes (worded by the caller).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Told {
    /// One card's check ended (passed or failed), said as soon as it is known.
    Checked(CardCheck),
}

#[cfg(test)]
mod in_memory;
