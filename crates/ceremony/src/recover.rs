//! Recovery: collect cards until n shares of one set open, then combine and decrypt.
//!
//! Per card, after SELECT: GET RECORD (public), GET STATUS (the card's own key, compared
//! with the key its record lists), VERIFY, GET RECORD (sealed), UNSEAL. A recovery is bound
//! to one set, named by its set digest: the operator's anchor (a bundle, a digest read
//! aloud, or a label or id prefix) chooses it, and without one a single set must be in
//! sight. Cards of other sets, duplicates, copied records, blocked cards and failures are
//! named and skipped, never fatal, so the custodians can try another card.

use crate::presence::{Done, Wanted};
use crate::progress::Progress;

use zeroize::Zeroizing;

use quorum_card::custodian::CustodianCard;
use quorum_card::readers::Readers;
use quorum_protocol::crypto::SetDigest;
use quorum_protocol::record::PublicRecord;
use quorum_protocol::sharing::{self, check_same_set, OpenedShare};

use super::inspect::SetMembership;
use super::presence::Presented;
use super::share::{
    open_member, read_member, LeftTheReader, Member, Refusal, Refused, SeenCard, Who,
};
use super::{say, CardsFrom, CeremonyError, PinPolicy, Presenter};

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
    fn refuses(&self, member: &Member) -> Option<String> {
        let (record, digest) = (&member.record, &member.digest);
        match self {
            Anchor::None => None,
            Anchor::Named(name) => {
                let id = hex::encode(record.set_id);
                (record.label != *name && !id.starts_with(&name.to_ascii_lowercase()))
                    .then(|| format!("is not of the set named \"{name}\" (--set)"))
            }
            Anchor::Digest(prefix) => (!digest.starts_with(prefix)).then(|| {
                format!("its set digest {digest} does not start with {prefix} (--expect)")
            }),
            Anchor::Bundle {
                digest: want,
                newest,
                ..
            } => {
                if digest != want {
                    Some(format!(
                        "its set digest {digest} is not the bundle's {want}: it is a card of another set (or of a set forged to look like it)"
                    ))
                } else {
                    check_same_set(newest, record).err().map(|m| {
                        format!("its record disagrees with the bundle ({m}); leave it out")
                    })
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
#[derive(Debug, Clone)]
pub struct SetSeen {
    /// Its digest.
    pub digest: SetDigest,
    /// Its label.
    pub label: String,
    /// n.
    pub threshold: u8,
    /// m, in the newest version seen.
    pub count: usize,
    /// Its cards seen, with their readers.
    pub cards: Vec<String>,
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
                    s.cards.join(", ")
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
        let card = format!("{} in \"{reader}\"", member.fingerprint());
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
    let mut presenter = Presenter::new(ctx, req.from.clone(), req.trace, req.interrupt)?;
    let mut run = Run {
        req,
        target: None,
        shares: Vec::new(),
        cards: Vec::new(),
        sightings: Sightings::default(),
        disagreeing: 0,
    };
    run.gather(&mut presenter, out)?;
    let Run {
        target,
        shares,
        cards,
        disagreeing,
        ..
    } = run;
    let hint = if disagreeing > 0 {
        format!("\n{disagreeing} card(s) carry the bundle's set id but disagree with its description: if they are the set's own cards, the bundle was edited; use an intact copy, or --expect with the set digest from the ceremony minutes")
    } else {
        String::new()
    };
    let Some((record, _)) = target else {
        return Err(CeremonyError::NotEnoughShares(format!(
            "no share could be opened{}{hint}",
            SeenCard::listing(&cards)
        )));
    };
    let need = usize::from(record.threshold);
    if shares.len() < need {
        return Err(CeremonyError::NotEnoughShares(format!(
            "only {} of the {need} shares needed for set \"{}\" (set digest {}) could be opened; bring {} more custodian card(s){}{hint}",
            shares.len(),
            record.label,
            record.set_digest(),
            need - shares.len(),
            SeenCard::listing(&cards)
        )));
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
            let wanted = Wanted::OfSet {
                set: self
                    .target
                    .as_ref()
                    .map(|(t, _)| (t.label.clone(), self.shares.len(), usize::from(t.threshold))),
            };
            let batch = presenter.batch(out, &wanted)?;
            if batch.is_empty() {
                break;
            }
            let read: Vec<(Presented, Result<Member, Refusal>)> = batch
                .into_iter()
                .map(|mut p| {
                    let member = read_member(&mut p.card);
                    (p, member)
                })
                .collect();
            for (p, member) in &read {
                self.sight(member, &p.reader);
            }
            self.stop_if_several_sets(!self.shares.is_empty())?;
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
                    presenter.finish(out, p);
                } else {
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
        Err(CeremonyError::NotEnoughShares(format!(
            "only {} of the {need} shares needed for set \"{}\" (set digest {}) are present: bring {} more custodian card(s), or use --reader or --any-reader to bring them one after another; no PIN was asked and nothing was written",
            indices.len(),
            set.label,
            set.digest,
            need - indices.len()
        )))
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
        let how = match &self.req.anchor {
            Anchor::Named(name) => format!(
                "--set \"{name}\" matches cards of {} sets",
                self.sightings.0.len()
            ),
            _ => format!("cards of {} sets are in sight", self.sightings.0.len()),
        };
        let pins = if opened {
            "the shares opened so far were discarded and nothing was written"
        } else {
            "no PIN was asked and nothing was written"
        };
        Err(CeremonyError::SeveralSets(format!(
            "{how}; {pins}. Choose the set with --bundle FILE (its bundle) or --expect DIGEST (its set digest from the ceremony minutes, at least 8 hex digits), then run recover again:\n{}",
            SetSeen::listing(&self.sightings.0)
        )))
    }

    /// One card's share: Ok(note) if opened and kept, Err((card, why)) if skipped.
    fn take(
        &mut self,
        card: &mut dyn CustodianCard,
        reader: &str,
        member: Member,
        out: &mut dyn Progress,
    ) -> Result<(Who, String), Refusal> {
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
                    why,
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
            format!(
                "share opened ({} of {need}) from {membership}",
                self.shares.len()
            ),
        ))
    }

    /// Says what happened to a card and remembers it.
    fn report(
        &mut self,
        card: &mut dyn CustodianCard,
        reader: &str,
        outcome: Result<(Who, String), Refusal>,
        out: &mut dyn Progress,
    ) {
        if self.req.stats {
            say(
                out,
                &format!(
                    "stats: card in \"{reader}\" recover: {} after SELECT",
                    card.stats().since(&after_select_baseline())
                ),
            );
        }
        let (who, used, note) = match outcome {
            Ok((who, note)) => (who, true, note),
            Err(Refusal { who, reason }) => (who, false, reason.to_string()),
        };
        let card = SeenCard {
            reader: reader.to_owned(),
            who,
            used,
            note,
        };
        say(out, &card.said());
        self.cards.push(card);
    }
}

/// The stats baseline: SELECT is the first command, so counting starts after it.
fn after_select_baseline() -> quorum_card::card::ApduStats {
    quorum_card::card::ApduStats {
        commands: 1,
        ..Default::default()
    }
}

/// What recovering the master secret tells the people at the table as it goes (worded by the caller).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Told {}

#[cfg(test)]
mod in_memory;
