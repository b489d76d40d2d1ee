//! The ceremony log: an append-only file of JSON lines, one per ceremony, each carrying
//! the hash of the line before it, so that an edited, removed, reordered or inserted line
//! is found by `verify`. It holds public identifiers only (see [`entry`]). Format and
//! what the chain can and cannot detect: apdu-spec/log-format.md.
//!
//! Appending is safe against crashes and concurrent ceremonies: the file is opened with
//! O_APPEND, held under an exclusive `flock` while the whole chain is verified and the new
//! line written in one `write` call, then fsync'ed. Opening the log verifies the whole
//! chain too, so a ceremony never starts when its line could not be chained to an intact log.

pub mod entry;
pub mod evidence;
pub mod line;
mod time;
#[cfg(test)]
mod vectors;
mod verify;

use std::ffi::OsStr;
use std::fs::{File, OpenOptions};
use std::io::{self, Seek, SeekFrom, Write};
use std::os::fd::AsRawFd;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use thiserror::Error;

pub use entry::{
    CardEntry, CardOutcome, Entry, Fingerprint, Message, Outcome, PersonName, Provenance, SetRef,
};
pub use evidence::{read_lines, Evidence, Started, Verdict};
pub use line::{genesis_hash, LogLine, OutcomeKind, FORMAT, GENESIS};
pub use time::rfc3339;
pub use verify::{verify, Verified, HEAD_PREFIX_MIN, MAX_LINE_LEN};

/// The log's file name in its default directory.
pub const DEFAULT_LOG_NAME: &str = "ceremony-log.jsonl";
/// Where the log goes when there is no home directory to keep it in (the current directory).
pub const FALLBACK_LOG_FILE: &str = "quorum-log.jsonl";
/// Environment variable naming the log file, below `--log` in precedence.
pub const LOG_ENV: &str = "QUORUM_LOG";

/// What is wrong with one line of the log; the verifier reports the first such line.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum Problem {
    /// The file ends inside this line: an interrupted write, or a file cut short.
    #[error("is incomplete: the file ends inside it (an interrupted write, or the file was cut)")]
    Truncated,
    /// Not a log line at all.
    #[error("is not a log line: {0}")]
    Malformed(String),
    /// Its bytes do not match its own hash.
    #[error("was edited: its content does not match its own hash")]
    Edited,
    /// Its sequence number jumps ahead and the missing numbers appear nowhere later.
    #[error(
        "has sequence number {found} where {expected} was expected: lines were removed before it"
    )]
    Removed {
        /// The number this position should hold.
        expected: u64,
        /// The number found.
        found: u64,
    },
    /// Its sequence number jumps ahead and the expected one appears later.
    #[error("has sequence number {found} where {expected} was expected: lines were reordered")]
    Reordered {
        /// The number this position should hold.
        expected: u64,
        /// The number found.
        found: u64,
    },
    /// Its sequence number repeats an earlier one.
    #[error("has sequence number {found} where {expected} was expected: a line was inserted before it, or lines were reordered")]
    Inserted {
        /// The number this position should hold.
        expected: u64,
        /// The number found.
        found: u64,
    },
    /// Line 1 starts a format 1 log, written before set digests and key check values.
    #[error("starts a format 1 log (written by an earlier quorumctl, before set digests and key check values); this quorumctl appends format {FORMAT} lines only: keep this log with the ceremony minutes and start a new one")]
    OldFormat,
    /// Its `prev` is not the previous line's hash although its number fits.
    #[error("does not follow the line before it (its prev is not that line's hash, or the genesis hash for line 1): a line before it was replaced, inserted or removed")]
    Unlinked,
}

/// Why the log could not be opened, appended to or verified; each message names the file.
#[derive(Debug, Error)]
pub enum LogError {
    /// The file cannot be opened or created.
    #[error("cannot open the ceremony log {path}: {source}")]
    Open {
        /// The log file.
        path: PathBuf,
        /// Why.
        #[source]
        source: io::Error,
    },
    /// There is no log to verify.
    #[error("there is no ceremony log at {0}")]
    Missing(PathBuf),
    /// Locking, reading, writing or syncing failed.
    #[error("cannot {action} the ceremony log {path}: {source}")]
    Io {
        /// The log file.
        path: PathBuf,
        /// What was being done.
        action: &'static str,
        /// Why it failed.
        #[source]
        source: io::Error,
    },
    /// The chain is broken at a line, so nothing may be chained after it.
    #[error("nothing can be appended to the ceremony log {path}: it fails verification at line {line}: that line {problem}; keep the file as evidence and start a new log")]
    Damaged {
        /// The log file.
        path: PathBuf,
        /// The first bad line (1-based).
        line: u64,
        /// What is wrong with it.
        problem: Problem,
    },
    /// The chain is broken at a line.
    #[error("the ceremony log {path} fails verification at line {line}: that line {problem}")]
    Broken {
        /// The log file.
        path: PathBuf,
        /// The first bad line (1-based).
        line: u64,
        /// What is wrong with it.
        problem: Problem,
    },
    /// The chain is intact but ends at another hash than the one recorded.
    #[error("the ceremony log {path} is intact up to its last line ({lines}), but its head is {found}, not the expected {expected}, which is no line's hash: lines were removed from its end, or it was rewritten")]
    HeadMismatch {
        /// The log file.
        path: PathBuf,
        /// The head the user recorded.
        expected: String,
        /// The head of the file.
        found: String,
        /// Lines in the file.
        lines: u64,
    },
    /// The expected head is an earlier line's hash: lines came after it.
    #[error("the expected head is the hash of line {line} of the ceremony log {path}, and {after} more lines follow it (up to line {lines}): if they are later ceremonies, verify against the head recorded after the last one", after = .lines - .line)]
    NotHead {
        /// The log file.
        path: PathBuf,
        /// The line whose hash the expected head is (0: the genesis hash).
        line: u64,
        /// Lines in the file.
        lines: u64,
    },
    /// The expected head given is not a hash.
    #[error("\"{0}\" is not a log head: a head is the 64 hex digits of a line's hash, or its first 8 or more (dashes and spaces between groups are ignored)")]
    BadHead(String),
    /// A card was named by something that is not a fingerprint.
    #[error("\"{0}\" is not a card fingerprint (four dash-separated groups of four lowercase hex digits)")]
    BadFingerprint(String),
    /// A set id that is not 16 bytes of hex.
    #[error("\"{0}\" is not a set id: a set id is 32 hex digits")]
    BadSetId(String),
    /// A set label that breaks the record's label rules.
    #[error("the set label \"{0}\" cannot be logged: a label is 1 to 64 bytes of printable UTF-8")]
    BadLabel(String),
    /// A log of an earlier format: it verifies, but this quorumctl appends nothing to it.
    #[error("the ceremony log {path} is a format {format} log, written by an earlier quorumctl: it still verifies, but this quorumctl appends format {FORMAT} lines only (they can say that a ceremony started or was interrupted); keep it with the ceremony minutes and start a new log")]
    OlderFormat {
        /// The log file.
        path: PathBuf,
        /// Its format version.
        format: u8,
    },
    /// A line longer than any reader accepts (a ceremony that met tens of thousands of cards).
    #[error("the log line would be {0} bytes, more than the {MAX_LINE_LEN} a log line may have")]
    LineTooLong(usize),
    /// An operator or witness name that is empty, too long or holds a control character.
    #[error("\"{0}\" cannot be logged as a person's name: a name is 1 to 64 bytes of UTF-8 without control characters")]
    BadName(String),
    /// More witnesses than a line names.
    #[error("{0} witnesses were named; a log line names at most {max}", max = entry::MAX_WITNESSES)]
    TooManyWitnesses(usize),
    /// The same witness named twice.
    #[error("the witness \"{}\" was named twice", .0.as_str())]
    WitnessTwice(PersonName),
    /// A tool version not of the shape `name/version`.
    #[error(
        "\"{0}\" is not a tool version: it is name/version in printable ASCII, at most 64 bytes"
    )]
    BadTool(String),
    /// A protocol version not of the shape `major.minor`.
    #[error("\"{0}\" is not a protocol version: it is major.minor")]
    BadProtocol(String),
    /// A command name outside `[a-z][a-z0-9-]*`.
    #[error("\"{0}\" is not a command name: use lowercase letters, digits and dashes, at most 32")]
    BadCommand(&'static str),
}

/// Where a new line went: its number and hash (the new head, to note in the ceremony minutes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Appended {
    /// The line's sequence number (= its line number).
    pub seq: u64,
    /// The line's hash: the log's head now.
    pub hash: String,
}

/// An open ceremony log. Each append reopens the file so that its lock excludes every
/// other appender, in this process or another.
#[derive(Debug, Clone)]
pub struct Log {
    path: PathBuf,
}

impl Log {
    /// Opens the log, creating it if needed, and verifies its whole chain, so a ceremony
    /// learns before it starts whether its line can be written to an intact log.
    pub fn open(path: impl AsRef<Path>) -> Result<Log, LogError> {
        let log = Log {
            path: path.as_ref().to_path_buf(),
        };
        let mut file = log.open_file()?;
        lock(&file, libc::LOCK_SH).map_err(|e| log.io("lock", e))?;
        log.chain_end(&mut file)?;
        Ok(log)
    }

    /// The log file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends one entry as the next line of the chain; returns its number and hash.
    pub fn append(&self, entry: &Entry) -> Result<Appended, LogError> {
        let mut file = self.open_file()?;
        lock(&file, libc::LOCK_EX).map_err(|e| self.io("lock", e))?;
        let (last, prev) = self.chain_end(&mut file)?;
        let seq = last + 1;
        let (text, hash) = line::build(entry, seq, &time::now_rfc3339(), &prev)?;
        // One write call: with O_APPEND and the lock held, the line lands whole at the end.
        let written = file
            .write(text.as_bytes())
            .map_err(|e| self.io("write", e))?;
        if written != text.len() {
            return Err(self.io(
                "write",
                io::Error::new(
                    io::ErrorKind::WriteZero,
                    format!(
                        "only {written} of {} bytes were written (is the disk full?)",
                        text.len()
                    ),
                ),
            ));
        }
        file.sync_all().map_err(|e| self.io("sync", e))?;
        if last == 0 {
            // The first line may have created the file: make its directory entry durable too.
            let dir = match self.path.parent() {
                Some(p) if !p.as_os_str().is_empty() => p,
                _ => Path::new("."),
            };
            File::open(dir)
                .and_then(|d| d.sync_all())
                .map_err(|e| self.io("sync the directory of", e))?;
        }
        Ok(Appended { seq, hash })
    }

    /// Verifies the whole chain (see [`verify`]).
    pub fn verify(&self, expect_head: Option<&str>) -> Result<Verified, LogError> {
        verify(&self.path, expect_head)
    }

    fn open_file(&self) -> Result<File, LogError> {
        OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .mode(0o644)
            .open(&self.path)
            .map_err(|source| LogError::Open {
                path: self.path.clone(),
                source,
            })
    }

    fn io(&self, action: &'static str, source: io::Error) -> LogError {
        LogError::Io {
            path: self.path.clone(),
            action,
            source,
        }
    }

    /// The last line's number and hash ((0, genesis) for an empty log) after verifying the
    /// whole chain, read under the caller's lock.
    fn chain_end(&self, file: &mut File) -> Result<(u64, String), LogError> {
        file.seek(SeekFrom::Start(0))
            .map_err(|e| self.io("read", e))?;
        let end = verify::walk(&*file, None).map_err(|e| match e {
            verify::WalkError::Io(e) => self.io("read", e),
            verify::WalkError::Bad(line, problem) => LogError::Damaged {
                path: self.path.clone(),
                line,
                problem,
            },
        })?;
        if end.format != FORMAT {
            return Err(LogError::OlderFormat {
                path: self.path.clone(),
                format: end.format,
            });
        }
        Ok((end.lines, end.head))
    }
}

/// The default log, the same wherever a ceremony is run from (so that running elsewhere
/// does not silently start a new chain): `$XDG_STATE_HOME/quorum/ceremony-log.jsonl`, else
/// `$HOME/.local/state/quorum/ceremony-log.jsonl`, else (no home at all)
/// [`FALLBACK_LOG_FILE`] in the current directory. The caller passes the two variables.
pub fn default_log_path(xdg_state_home: Option<&OsStr>, home: Option<&OsStr>) -> PathBuf {
    fn absolute(v: Option<&OsStr>) -> Option<&Path> {
        v.map(Path::new).filter(|p| p.is_absolute())
    }
    match (absolute(xdg_state_home), absolute(home)) {
        (Some(state), _) => state.join("quorum").join(DEFAULT_LOG_NAME),
        (None, Some(home)) => home.join(".local/state/quorum").join(DEFAULT_LOG_NAME),
        (None, None) => PathBuf::from(FALLBACK_LOG_FILE),
    }
}

/// Chooses the log file: `--log` first, then `QUORUM_LOG` (when set and not empty), then
/// `default` (see [`default_log_path`]); `None` when `--no-log` turned logging off.
pub fn log_path(
    option: Option<&Path>,
    env: Option<&OsStr>,
    default: PathBuf,
    disabled: bool,
) -> Option<PathBuf> {
    if disabled {
        return None;
    }
    Some(
        option
            .map(Path::to_path_buf)
            .or_else(|| env.filter(|v| !v.is_empty()).map(PathBuf::from))
            .unwrap_or(default),
    )
}

/// `flock` with EINTR retried: whole-file advisory lock, per open file description.
fn lock(file: &File, operation: libc::c_int) -> io::Result<()> {
    loop {
        // SAFETY: flock takes a file descriptor that `file` keeps open for the call.
        if unsafe { libc::flock(file.as_raw_fd(), operation) } == 0 {
            return Ok(());
        }
        let e = io::Error::last_os_error();
        if e.kind() != io::ErrorKind::Interrupted {
            return Err(e);
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A fresh directory under the system temp dir, removed on drop.
    pub(crate) struct TempDir(pub PathBuf);

    impl TempDir {
        pub(crate) fn new(tag: &str) -> TempDir {
            use rand::RngCore;
            let dir = std::env::temp_dir().join(format!(
                "quorum-{tag}-{}-{:016x}",
                std::process::id(),
                rand::rngs::OsRng.next_u64()
            ));
            std::fs::create_dir(&dir).unwrap();
            TempDir(dir)
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    /// Who wrote the test lines: an operator and two witnesses.
    pub(crate) fn provenance() -> Provenance {
        Provenance::new(
            "quorumctl/0.1.0",
            "1.1",
            Some(PersonName::parse("Ada Lovelace").unwrap()),
            vec![
                PersonName::parse("Grace Hopper").unwrap(),
                PersonName::parse("Édouard Lucas").unwrap(),
            ],
        )
        .unwrap()
    }

    pub(crate) fn entry(command: &'static str, n: u8) -> Entry {
        Entry {
            command,
            set: Some(SetRef::new(Some([n; 16]), Some("root-ca")).unwrap()),
            key_check: None,
            cards: vec![
                CardEntry {
                    fingerprint: Fingerprint::parse("a1b2-c3d4-e5f6-0718").unwrap(),
                    outcome: CardOutcome::Ok,
                },
                CardEntry {
                    fingerprint: Fingerprint::parse("0000-1111-2222-3333").unwrap(),
                    outcome: CardOutcome::Skipped,
                },
            ],
            outcome: Outcome::Ok,
            provenance: provenance(),
        }
    }

    #[test]
    fn append_then_verify_round_trip() {
        let dir = TempDir::new("log");
        let path = dir.0.join("quorum-log.jsonl");
        let log = Log::open(&path).unwrap();
        assert_eq!(std::fs::metadata(&path).unwrap().len(), 0);
        let empty = log.verify(None).unwrap();
        assert_eq!((empty.lines, empty.head.as_str()), (0, &*genesis_hash()));
        let mut heads = vec![];
        for (i, command) in ["init", "enroll", "recover"].into_iter().enumerate() {
            let done = log.append(&entry(command, i as u8)).unwrap();
            assert_eq!(done.seq, i as u64 + 1);
            heads.push(done.hash);
        }
        let v = log.verify(None).unwrap();
        assert_eq!((v.lines, &v.head), (3, &heads[2]));
        assert_eq!(log.verify(Some(&heads[2].to_uppercase())).unwrap(), v);

        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<LogLine> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines[0].prev, genesis_hash());
        assert_eq!(lines[1].prev, heads[0]);
        assert_eq!(lines[2].command, "recover");
        assert_eq!(lines[2].set_id.as_deref(), Some(&*hex::encode([2u8; 16])));
        assert_eq!(lines[2].cards, entry("x", 0).cards);
        assert_eq!(lines[2].time.len(), 20);
        // A reopened log continues the chain.
        let again = Log::open(&path)
            .unwrap()
            .append(&entry("status", 9))
            .unwrap();
        assert_eq!(again.seq, 4);
        assert_eq!(verify(&path, None).unwrap().head, again.hash);
    }

    #[test]
    fn a_damaged_tail_stops_appends_and_says_so() {
        let dir = TempDir::new("log");
        let path = dir.0.join("log.jsonl");
        let log = Log::open(&path).unwrap();
        log.append(&entry("init", 1)).unwrap();
        log.append(&entry("enroll", 2)).unwrap();
        let good = std::fs::read(&path).unwrap();
        std::fs::write(&path, &good[..good.len() - 10]).unwrap();
        let err = log.append(&entry("recover", 3)).unwrap_err();
        assert!(
            matches!(
                &err,
                LogError::Damaged {
                    line: 2,
                    problem: Problem::Truncated,
                    ..
                }
            ),
            "{err}"
        );
        assert!(
            !err.to_string().contains("--"),
            "the library names no option: {err}"
        );
        assert!(matches!(
            Log::open(&path),
            Err(LogError::Damaged { line: 2, .. })
        ));
        // Nothing was written: the evidence is left as it was.
        assert_eq!(std::fs::read(&path).unwrap(), &good[..good.len() - 10]);

        let edited = String::from_utf8(good.clone())
            .unwrap()
            .replace("skipped", "failed");
        std::fs::write(&path, edited).unwrap();
        // Both lines were edited: the first bad line is the one named.
        assert!(matches!(
            log.append(&entry("recover", 3)),
            Err(LogError::Damaged {
                line: 1,
                problem: Problem::Edited,
                ..
            })
        ));
    }

    #[test]
    fn a_log_edited_in_the_middle_cannot_be_opened_and_the_line_is_named() {
        let dir = TempDir::new("log");
        let path = dir.0.join("log.jsonl");
        let log = Log::open(&path).unwrap();
        for (i, command) in ["init", "enroll", "recover", "verify"]
            .into_iter()
            .enumerate()
        {
            log.append(&entry(command, i as u8)).unwrap();
        }
        let good = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<&str> = good.lines().collect();

        // A field of line 2 edited; the last line is intact.
        let edited = good.replacen(lines[1], &lines[1].replace("skipped", "failed"), 1);
        std::fs::write(&path, &edited).unwrap();
        let err = Log::open(&path).unwrap_err();
        assert!(
            matches!(
                &err,
                LogError::Damaged {
                    line: 2,
                    problem: Problem::Edited,
                    ..
                }
            ),
            "{err}"
        );
        assert!(err.to_string().contains("at line 2"), "{err}");
        assert!(matches!(
            log.append(&entry("recover", 9)),
            Err(LogError::Damaged { line: 2, .. })
        ));
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            edited,
            "nothing appended"
        );

        // Line 2 rewritten with its own hash recomputed: line 3 no longer follows it.
        let old: LogLine = serde_json::from_str(lines[1]).unwrap();
        let mut forged = entry("enroll", 1);
        forged.outcome = Outcome::Failed(Message::from_error(&io::Error::other("forged")));
        let (text, _) = line::build(&forged, 2, &old.time, &old.prev).unwrap();
        std::fs::write(&path, good.replacen(lines[1], text.trim_end(), 1)).unwrap();
        assert!(matches!(
            Log::open(&path),
            Err(LogError::Damaged {
                line: 3,
                problem: Problem::Unlinked,
                ..
            })
        ));
    }

    #[test]
    fn unusable_paths_are_named() {
        let dir = TempDir::new("log");
        let path = dir.0.join("no-such-dir").join("log.jsonl");
        let err = Log::open(&path).unwrap_err();
        assert!(matches!(err, LogError::Open { .. }));
        assert!(
            !err.to_string().contains("--"),
            "the library names no option: {err}"
        );
        assert!(matches!(
            verify(&dir.0.join("absent.jsonl"), None),
            Err(LogError::Missing(_))
        ));
    }

    #[test]
    fn concurrent_appenders_build_one_valid_chain() {
        let dir = TempDir::new("log");
        let path = dir.0.join("log.jsonl");
        let per_thread = 25;
        let threads: Vec<_> = ["enroll", "recover"]
            .into_iter()
            .map(|command| {
                let path = path.clone();
                std::thread::spawn(move || {
                    let log = Log::open(&path).unwrap();
                    for i in 0..per_thread {
                        log.append(&entry(command, i)).unwrap();
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        let v = verify(&path, None).unwrap();
        assert_eq!(v.lines, 2 * u64::from(per_thread));
        let text = std::fs::read_to_string(&path).unwrap();
        for command in ["enroll", "recover"] {
            let count = text
                .lines()
                .filter(|l| l.contains(&format!("\"command\":\"{command}\"")))
                .count();
            assert_eq!(count, usize::from(per_thread));
        }
    }

    #[test]
    fn the_log_path_follows_option_then_environment_then_default() {
        let opt = Path::new("/srv/minutes/log.jsonl");
        let env = OsStr::new("/var/log/quorum.jsonl");
        let default = || PathBuf::from("/home/ops/.local/state/quorum/ceremony-log.jsonl");
        assert_eq!(
            log_path(Some(opt), Some(env), default(), false).unwrap(),
            opt
        );
        assert_eq!(
            log_path(None, Some(env), default(), false).unwrap(),
            Path::new(env)
        );
        assert_eq!(
            log_path(None, Some(OsStr::new("")), default(), false).unwrap(),
            default()
        );
        assert_eq!(log_path(None, None, default(), false).unwrap(), default());
        assert_eq!(log_path(Some(opt), Some(env), default(), true), None);
    }

    #[test]
    fn the_default_log_is_kept_under_the_users_state_directory() {
        let home = OsStr::new("/home/ops");
        assert_eq!(
            default_log_path(None, Some(home)),
            Path::new("/home/ops/.local/state/quorum/ceremony-log.jsonl")
        );
        assert_eq!(
            default_log_path(Some(OsStr::new("/var/lib/ops-state")), Some(home)),
            Path::new("/var/lib/ops-state/quorum/ceremony-log.jsonl")
        );
        // A relative XDG_STATE_HOME is ignored, as the XDG specification asks.
        assert_eq!(
            default_log_path(Some(OsStr::new("state")), Some(home)),
            Path::new("/home/ops/.local/state/quorum/ceremony-log.jsonl")
        );
        assert_eq!(default_log_path(None, None), Path::new(FALLBACK_LOG_FILE));
    }
}
