//! What the ceremony log knows about the sets that ceremonies started writing: the evidence
//! that lets `enroll --replace-unfinished` overwrite the cards of an enrollment that never
//! completed without a factory reset.
//!
//! Since format 3, a ceremony that writes a new set (enroll, reshare) appends a `started`
//! line naming the set and the cards it is about to write before the first card changes.
//! A set is *unfinished* when the log holds its `started` line, no line with outcome `ok`
//! names it, and no later line of it confirms every started card written (`ok`): the
//! ceremony that wrote it ended with `failed` or `interrupted` before every card held its
//! share, or never ended at all (killed, a crash, a power cut: the `started` line alone
//! suffices), and no later ceremony used the set.

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use quorum_protocol::record::SET_ID_LEN;

use super::entry::{CardOutcome, Fingerprint};
use super::line::{self, LogLine, OutcomeKind};
use super::verify::{walk, WalkError, MAX_LINE_LEN};
use super::{lock, LogError};

/// Every line of the log at `path`, after verifying its whole chain under a shared lock, so
/// that what is read from it (evidence, a runbook's record of a ceremony) never comes
/// from an edited log. A line appended after the check is checked on its own.
pub fn read_lines(path: &Path) -> Result<Vec<LogLine>, LogError> {
    let io_err = |action, source| LogError::Io {
        path: path.to_path_buf(),
        action,
        source,
    };
    let mut file = File::open(path).map_err(|e| match e.kind() {
        io::ErrorKind::NotFound => LogError::Missing(path.to_path_buf()),
        _ => io_err("open", e),
    })?;
    lock(&file, libc::LOCK_SH).map_err(|e| io_err("lock", e))?;
    walk(&file, None).map_err(|e| match e {
        WalkError::Io(e) => io_err("read", e),
        WalkError::Bad(line, problem) => LogError::Broken {
            path: path.to_path_buf(),
            line,
            problem,
        },
    })?;
    file.seek(SeekFrom::Start(0))
        .map_err(|e| io_err("read", e))?;
    let mut lines = Vec::new();
    let mut reader = BufReader::new(&file);
    let mut buf = Vec::new();
    loop {
        buf.clear();
        let read = (&mut reader)
            .take(MAX_LINE_LEN as u64)
            .read_until(b'\n', &mut buf)
            .map_err(|e| io_err("read", e))?;
        if read == 0 || buf.pop() != Some(b'\n') {
            break;
        }
        if let Ok(parsed) = line::check(&buf) {
            lines.push(parsed);
        }
    }
    Ok(lines)
}

/// The `started` line of a set: which ceremony began writing it, and to which cards.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Started {
    /// Its line number.
    pub seq: u64,
    /// The ceremony that wrote it (`enroll` or `reshare`).
    pub command: String,
    /// The set label, as logged.
    pub label: Option<String>,
    /// The cards it was about to write.
    pub cards: Vec<Fingerprint>,
}

/// What the log says about one set and one card of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict<'a> {
    /// A ceremony started writing the set to this card, and no line says the set completed.
    Unfinished(&'a Started),
    /// A line with outcome `ok` names the set (its number): the set is in use.
    Completed {
        /// The first such line.
        seq: u64,
    },
    /// The set was started, but not on this card (its record was copied, or the log is of
    /// another ceremony with the same set id, which chance never gives).
    NotNamed(&'a Started),
    /// The log holds no `started` line for the set.
    Unknown,
}

/// One set's history in the log.
#[derive(Debug, Default)]
struct History {
    started: Option<Started>,
    completed: Option<u64>,
}

/// The sets a verified ceremony log mentions, with how far each got.
#[derive(Debug)]
pub struct Evidence {
    path: PathBuf,
    sets: HashMap<[u8; SET_ID_LEN], History>,
}

impl Evidence {
    /// Reads the log at `path` after verifying its whole chain (see [`read_lines`]), so
    /// evidence never comes from an edited log. A format 2 log (written before `started`
    /// lines existed) reads as knowing no started set.
    pub fn read(path: &Path) -> Result<Evidence, LogError> {
        Ok(Evidence::from_lines(path, read_lines(path)?))
    }

    /// Builds evidence from lines already read (for tests and other readers of the log).
    pub fn from_lines(path: &Path, lines: impl IntoIterator<Item = LogLine>) -> Evidence {
        let mut evidence = Evidence {
            path: path.to_path_buf(),
            sets: HashMap::new(),
        };
        for l in lines {
            evidence.note(l);
        }
        evidence
    }

    fn note(&mut self, l: LogLine) {
        let Some(id) = l
            .set_id
            .as_deref()
            .and_then(|h| hex::decode(h).ok())
            .and_then(|b| <[u8; SET_ID_LEN]>::try_from(b).ok())
        else {
            return;
        };
        let history = self.sets.entry(id).or_default();
        match l.outcome {
            OutcomeKind::Started if history.started.is_none() => {
                history.started = Some(Started {
                    seq: l.seq,
                    command: l.command,
                    label: l.set_label,
                    cards: l.cards.into_iter().map(|c| c.fingerprint).collect(),
                });
            }
            OutcomeKind::Ok if history.completed.is_none() => history.completed = Some(l.seq),
            // A ceremony that did not finish but confirmed every card it started written
            // (an enroll whose bundle could not be written, a reshare stopped while wiping
            // the old cards) left a complete set.
            OutcomeKind::Failed | OutcomeKind::Interrupted if history.completed.is_none() => {
                let all_written = history.started.as_ref().is_some_and(|s| {
                    !s.cards.is_empty()
                        && s.cards.iter().all(|fp| {
                            l.cards
                                .iter()
                                .any(|c| &c.fingerprint == fp && c.outcome == CardOutcome::Ok)
                        })
                });
                if all_written {
                    history.completed = Some(l.seq);
                }
            }
            _ => {}
        }
    }

    /// The log file the evidence came from, for messages.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// What the log says about the set `set_id` on the card `card`.
    pub fn judge(&self, set_id: &[u8; SET_ID_LEN], card: &Fingerprint) -> Verdict<'_> {
        let Some(history) = self.sets.get(set_id) else {
            return Verdict::Unknown;
        };
        if let Some(seq) = history.completed {
            return Verdict::Completed { seq };
        }
        match &history.started {
            None => Verdict::Unknown,
            Some(started) if started.cards.contains(card) => Verdict::Unfinished(started),
            Some(started) => Verdict::NotNamed(started),
        }
    }
}

/// How the cards of a ceremony that did not finish are logged: those confirmed written
/// `ok`, the rest `pending`.
pub fn unfinished_cards(planned: &[Fingerprint], written: &[Fingerprint]) -> Vec<CardOutcome> {
    planned
        .iter()
        .map(|fp| {
            if written.contains(fp) {
                CardOutcome::Ok
            } else {
                CardOutcome::Pending
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::log::entry::{CardEntry, Entry, Message, Outcome, SetRef};
    use crate::log::tests::TempDir;
    use crate::log::Log;

    fn fp(n: u8) -> Fingerprint {
        Fingerprint::parse(&format!("{n:04x}-0000-0000-0000")).unwrap()
    }

    fn line(command: &'static str, set: u8, outcome: Outcome, cards: &[u8]) -> Entry {
        Entry {
            command,
            set: Some(SetRef::new(Some([set; 16]), Some(&format!("set-{set}"))).unwrap()),
            key_check: None,
            cards: cards
                .iter()
                .map(|&c| CardEntry {
                    fingerprint: fp(c),
                    outcome: CardOutcome::Pending,
                })
                .collect(),
            outcome,
            provenance: crate::log::tests::provenance(),
        }
    }

    #[derive(Debug, thiserror::Error)]
    #[error("stopped on request")]
    struct Stopped;

    #[test]
    fn a_started_set_without_an_ok_line_is_unfinished_for_its_cards_only() {
        let dir = TempDir::new("evidence");
        let path = dir.0.join("log.jsonl");
        let log = Log::open(&path).unwrap();
        // 1: interrupted enroll of set 1 on cards 1, 2; 2: its end.
        log.append(&line("enroll", 1, Outcome::Started, &[1, 2]))
            .unwrap();
        log.append(&line(
            "enroll",
            1,
            Outcome::Interrupted(Message::from_error(&Stopped)),
            &[1, 2],
        ))
        .unwrap();
        // 3, 4: a completed enroll of set 2.
        log.append(&line("enroll", 2, Outcome::Started, &[3]))
            .unwrap();
        log.append(&line("enroll", 2, Outcome::Ok, &[3])).unwrap();
        // 5: a started set 3 whose ceremony never ended (killed): the start alone suffices.
        log.append(&line("reshare", 3, Outcome::Started, &[4]))
            .unwrap();
        // 6: set 4 seen only by a recovery (started in another log).
        log.append(&line("recover", 4, Outcome::Ok, &[5])).unwrap();

        let evidence = Evidence::read(&path).unwrap();
        assert_eq!(evidence.path(), path);
        match evidence.judge(&[1; 16], &fp(2)) {
            Verdict::Unfinished(s) => {
                assert_eq!((s.seq, s.command.as_str()), (1, "enroll"));
                assert_eq!(s.label.as_deref(), Some("set-1"));
                assert_eq!(s.cards, vec![fp(1), fp(2)]);
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            evidence.judge(&[1; 16], &fp(9)),
            Verdict::NotNamed(s) if s.seq == 1
        ));
        assert_eq!(
            evidence.judge(&[2; 16], &fp(3)),
            Verdict::Completed { seq: 4 }
        );
        assert!(matches!(
            evidence.judge(&[3; 16], &fp(4)),
            Verdict::Unfinished(s) if s.command == "reshare"
        ));
        assert_eq!(
            evidence.judge(&[4; 16], &fp(5)),
            Verdict::Completed { seq: 6 }
        );
        assert_eq!(evidence.judge(&[5; 16], &fp(1)), Verdict::Unknown);
    }

    #[test]
    fn a_set_used_by_a_later_ceremony_is_no_longer_unfinished() {
        let dir = TempDir::new("evidence-used");
        let path = dir.0.join("log.jsonl");
        let log = Log::open(&path).unwrap();
        log.append(&line("enroll", 1, Outcome::Started, &[1, 2]))
            .unwrap();
        log.append(&line("verify", 1, Outcome::Ok, &[1])).unwrap();
        let evidence = Evidence::read(&path).unwrap();
        assert_eq!(
            evidence.judge(&[1; 16], &fp(1)),
            Verdict::Completed { seq: 2 }
        );
    }

    #[test]
    fn a_set_whose_every_card_was_written_is_complete_even_if_its_ceremony_failed() {
        let dir = TempDir::new("evidence-all-written");
        let path = dir.0.join("log.jsonl");
        let log = Log::open(&path).unwrap();
        log.append(&line("reshare", 1, Outcome::Started, &[1, 2]))
            .unwrap();
        let mut end = line(
            "reshare",
            1,
            Outcome::Failed(Message::from_error(&Stopped)),
            &[],
        );
        end.cards = [1, 2]
            .iter()
            .map(|&c| CardEntry {
                fingerprint: fp(c),
                outcome: CardOutcome::Ok,
            })
            .collect();
        log.append(&end).unwrap();
        let evidence = Evidence::read(&path).unwrap();
        assert_eq!(
            evidence.judge(&[1; 16], &fp(1)),
            Verdict::Completed { seq: 2 }
        );
    }

    #[test]
    fn evidence_comes_only_from_an_intact_log() {
        let dir = TempDir::new("evidence-broken");
        let path = dir.0.join("log.jsonl");
        assert!(matches!(Evidence::read(&path), Err(LogError::Missing(_))));
        let log = Log::open(&path).unwrap();
        log.append(&line("enroll", 1, Outcome::Started, &[1]))
            .unwrap();
        log.append(&line("enroll", 1, Outcome::Ok, &[1])).unwrap();
        // Someone removes the ok line to make a completed set look unfinished: the chain
        // still verifies (a cut tail is invisible without the head), so the evidence says
        // unfinished; editing the ok line instead breaks the chain and gives no evidence.
        let text = std::fs::read_to_string(&path).unwrap();
        let edited = text.replacen("\"outcome\":\"ok\"", "\"outcome\":\"failed\"", 1);
        std::fs::write(&path, edited).unwrap();
        assert!(matches!(
            Evidence::read(&path),
            Err(LogError::Broken { line: 2, .. })
        ));
    }

    #[test]
    fn unfinished_cards_are_ok_when_written_and_pending_otherwise() {
        assert_eq!(
            unfinished_cards(&[fp(1), fp(2), fp(3)], &[fp(2)]),
            vec![CardOutcome::Pending, CardOutcome::Ok, CardOutcome::Pending]
        );
    }
}
