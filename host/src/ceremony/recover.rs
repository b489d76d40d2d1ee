//! Recovery: collect cards until n shares of one set open, then combine and decrypt.
//!
//! Per card, after SELECT: GET RECORD (public), VERIFY, GET RECORD (sealed), UNSEAL — four
//! commands (61xx continuations aside). Cards of another set, duplicates, blocked cards and
//! failures are named and skipped, never fatal, so the custodians can try another card.

use std::io::Write;

use zeroize::Zeroizing;

use crate::card::Card;
use crate::record::{PublicRecord, SET_ID_LEN};
use crate::sharing::{self, check_same_set, OpenedShare};
use crate::transport::pcsc::{PcscContext, PcscTransport};

use super::inspect::SetMembership;
use super::share::{open_member, read_member, Refusal, SeenCard, Who};
use super::{say, CardsFrom, CeremonyError, PinPolicy, Presenter};

/// What the custodians asked for.
pub struct RecoverRequest<'a> {
    /// Recover only this set; `None`: the set of the first valid card.
    pub set_id: Option<[u8; SET_ID_LEN]>,
    /// Where the cards come from.
    pub from: CardsFrom,
    /// How PINs reach the cards.
    pub pins: PinPolicy<'a>,
    /// Trace APDUs.
    pub trace: bool,
    /// Report APDU counts.
    pub stats: bool,
}

/// The restored secret and how each card contributed.
pub struct Recovered {
    /// The master secret, wiped on drop.
    pub master: Zeroizing<Vec<u8>>,
    /// The set it came from.
    pub set: SetMembership,
    /// Every card seen, in order.
    pub cards: Vec<SeenCard>,
}

/// Runs the recovery until the threshold is reached or the cards run out.
pub fn recover(
    ctx: &PcscContext,
    req: &RecoverRequest<'_>,
    out: &mut dyn Write,
) -> Result<Recovered, CeremonyError> {
    let mut presenter = Presenter::new(ctx, req.from.clone(), req.trace)?;
    let mut target: Option<PublicRecord> = None;
    let mut shares: Vec<OpenedShare> = Vec::new();
    let mut cards: Vec<SeenCard> = Vec::new();
    loop {
        let need = target.as_ref().map(|t| usize::from(t.threshold));
        if need.is_some_and(|n| shares.len() >= n) {
            break;
        }
        let ask = match need {
            Some(n) => format!(
                "a custodian card of set \"{}\" ({} of {n} opened)",
                target.as_ref().map_or("", |t| t.label.as_str()),
                shares.len()
            ),
            None => "a custodian card".to_owned(),
        };
        let Some(mut p) = presenter.next(out, &ask)? else {
            break;
        };
        let reader = p.reader.clone();
        let outcome = take_share(&mut p.card, &reader, req, &mut target, &mut shares, out);
        if req.stats {
            say(
                out,
                &format!(
                    "stats: card in \"{reader}\" recover: {} after SELECT",
                    p.card.stats().since(&after_select_baseline())
                ),
            );
        }
        let (who, used, note) = match outcome {
            Ok((who, note)) => (who, true, note),
            Err((who, note)) => (who, false, note),
        };
        say(
            out,
            &format!(
                "{} {}: {note}",
                if used { "Used" } else { "Skipped" },
                who.text
            ),
        );
        cards.push(SeenCard {
            reader: reader.clone(),
            who,
            used,
            note,
        });
        let complete = target
            .as_ref()
            .is_some_and(|t| shares.len() >= usize::from(t.threshold));
        if complete {
            presenter.finish(out, p);
        } else {
            presenter.release(out, p, if used { "share opened" } else { "skipped" })?;
        }
    }
    let Some(record) = target else {
        return Err(CeremonyError::NotEnoughShares(format!(
            "no share could be opened{}",
            SeenCard::listing(&cards)
        )));
    };
    let need = usize::from(record.threshold);
    if shares.len() < need {
        return Err(CeremonyError::NotEnoughShares(format!(
            "only {} of the {need} shares needed for set \"{}\" could be opened; bring {} more custodian card(s){}",
            shares.len(),
            record.label,
            need - shares.len(),
            SeenCard::listing(&cards)
        )));
    }
    let master = sharing::recover(&shares)?;
    Ok(Recovered {
        master,
        set: SetMembership::from_record(&record),
        cards,
    })
}

/// The stats baseline: SELECT is the first command, so counting starts after it.
fn after_select_baseline() -> crate::card::ApduStats {
    crate::card::ApduStats {
        commands: 1,
        ..Default::default()
    }
}

/// One card: Ok((card, note)) if its share was opened and kept, Err((card, why)) if skipped.
fn take_share(
    card: &mut Card<PcscTransport>,
    reader: &str,
    req: &RecoverRequest<'_>,
    target: &mut Option<PublicRecord>,
    shares: &mut Vec<OpenedShare>,
    out: &mut dyn Write,
) -> Result<(Who, String), Refusal> {
    let member = read_member(card)?;
    let who = member.who.clone();
    let record = &member.record;
    let membership = member.membership();
    if let Some(wanted) = req.set_id {
        if record.set_id != wanted {
            return Err((
                who,
                format!(
                    "belongs to another {membership}, not to set {}",
                    hex::encode(wanted)
                ),
            ));
        }
    }
    if let Some(t) = target.as_ref() {
        if record.set_id != t.set_id {
            return Err((
                who,
                format!(
                    "belongs to another {membership}, not to set \"{}\" ({})",
                    t.label,
                    hex::encode(t.set_id)
                ),
            ));
        }
        if let Err(mismatch) = check_same_set(t, record) {
            return Err((who, format!("its record disagrees with the other cards of the set ({mismatch}); it may have been tampered with")));
        }
    }
    if shares.iter().any(|s| s.index() == record.index) {
        return Err((
            who,
            "this custodian's share was already opened (the same card twice?)".to_owned(),
        ));
    }
    let opened = open_member(card, &member, &req.pins, reader, out)?;
    if target.is_none() {
        *target = Some(member.record.clone());
    }
    shares.push(opened);
    let need = target.as_ref().map_or(0, |t| usize::from(t.threshold));
    Ok((
        who,
        format!(
            "share opened ({} of {need}) from {membership}",
            shares.len()
        ),
    ))
}
