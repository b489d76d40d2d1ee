//! The ceremony log's side of quorumctl: what a ceremony tells the log when it ends
//! (`Logged`), the `started` line and written cards of a writing ceremony (`LogJournal`),
//! and the log evidence `--replace-unfinished` needs.

use crate::failure::Failure;
use quorum_ceremony::log::{
    CardEntry, CardOutcome, Entry, Evidence, Fingerprint, Log, Outcome, SetRef,
};
use quorum_ceremony::share::SeenCard;
use quorum_ceremony::Journal;
use quorum_protocol::crypto::CardKey;
use quorum_protocol::crypto::KeyCheck;
use quorum_protocol::record::PublicRecord;

use crate::cli::Cli;

/// The ceremony log's side of a writing ceremony (enroll, reshare): the `started` line
/// before the first card is written, and the cards written, so that the last line of a
/// ceremony that did not finish says which cards changed.
pub(crate) struct LogJournal<'a> {
    pub(crate) cli: &'a Cli,
    pub(crate) command: &'static str,
    pub(crate) set: Option<SetRef>,
    pub(crate) planned: Vec<Fingerprint>,
    pub(crate) written: Vec<Fingerprint>,
}

impl<'a> LogJournal<'a> {
    pub(crate) fn new(cli: &'a Cli, command: &'static str) -> LogJournal<'a> {
        LogJournal {
            cli,
            command,
            set: None,
            planned: Vec::new(),
            written: Vec::new(),
        }
    }

    /// After a ceremony that did not finish: the set it was writing and every card it
    /// meant to write, `ok` when confirmed written, `pending` otherwise.
    pub(crate) fn unfinished(self, logged: &mut Logged) {
        if self.set.is_none() {
            return;
        }
        logged.set = self.set;
        let outcomes =
            quorum_ceremony::log::evidence::unfinished_cards(&self.planned, &self.written);
        for (fingerprint, outcome) in self.planned.into_iter().zip(outcomes) {
            logged.cards.push(CardEntry {
                fingerprint,
                outcome,
            });
        }
    }
}

impl Journal for LogJournal<'_> {
    fn starting(&mut self, record: &PublicRecord, cards: &[CardKey]) -> Result<(), String> {
        let set = SetRef::from_record(record);
        self.set = Some(set.clone());
        self.planned = cards.iter().map(Fingerprint::of).collect();
        let Some(path) = crate::audit::log_target(self.cli) else {
            return Ok(());
        };
        let entry = Entry {
            command: self.command,
            set: Some(set),
            key_check: None,
            cards: self
                .planned
                .iter()
                .map(|fingerprint| CardEntry {
                    fingerprint: fingerprint.clone(),
                    outcome: CardOutcome::Pending,
                })
                .collect(),
            outcome: Outcome::Started,
            provenance: crate::audit::provenance(self.cli)?,
        };
        let appended = Log::open(&path)
            .and_then(|log| log.append(&entry))
            .map_err(|e| crate::words::log::message(&e))?;
        eprintln!(
            "Logged the start of the write phase as line {} of {} (if the ceremony is cut short, `--replace-unfinished` relies on it).",
            appended.seq,
            path.display()
        );
        Ok(())
    }

    fn written(&mut self, card: &CardKey) {
        self.written.push(Fingerprint::of(card));
    }

    fn records(&self) -> bool {
        crate::audit::log_target(self.cli).is_some()
    }
}

/// The evidence `--replace-unfinished` needs: the ceremony log, which must be on.
pub(crate) fn replace_evidence(cli: &Cli, asked: bool) -> Result<Option<Evidence>, Failure> {
    if !asked {
        return Ok(None);
    }
    let Some(path) = crate::audit::log_target(cli) else {
        return Err(Failure::Usage(
            "--replace-unfinished recognises an unfinished set by the ceremony log's record of its start, and --no-log turns the log off; run it with the log the interrupted ceremony used (--log FILE), or factory-reset each card (`quorumctl reset-card`) and personalise it again (`quorumctl init`); nothing was done".to_owned(),
        ));
    };
    Evidence::read(&path).map(Some).map_err(|e| {
        Failure::Usage(format!(
            "--replace-unfinished needs the ceremony log: {}; nothing was done",
            crate::words::log::message(&e)
        ))
    })
}

/// What a successful ceremony tells the log: the set and every card with its outcome.
#[derive(Default)]
pub(crate) struct Logged {
    pub(crate) set: Option<SetRef>,
    pub(crate) key_check: Option<KeyCheck>,
    pub(crate) cards: Vec<CardEntry>,
}

impl Logged {
    pub(crate) fn card(&mut self, fingerprint: &str, outcome: CardOutcome) {
        if let Ok(fingerprint) = Fingerprint::parse(fingerprint) {
            self.cards.push(CardEntry {
                fingerprint,
                outcome,
            });
        }
    }

    /// Every identified card of a ceremony that skips the cards it cannot use.
    pub(crate) fn seen(&mut self, cards: &[SeenCard]) {
        for c in cards {
            if let Some(fp) = &c.who.fingerprint {
                let outcome = if c.used {
                    CardOutcome::Ok
                } else {
                    CardOutcome::Skipped
                };
                self.card(fp, outcome);
            }
        }
    }
}
