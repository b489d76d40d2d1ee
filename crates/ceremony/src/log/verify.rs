//! Walking the chain: every line must match its own hash, carry the next sequence number
//! and name the previous line's hash; the first line that does not is reported, with a
//! guess at what was done to it. Algorithm: apdu-spec/log-format.md.
//!
//! One walk serves the verifier and the writer (which checks the whole chain before it
//! appends). It streams the file a line at a time and holds at most one line
//! ([`MAX_LINE_LEN`] bytes), so a log of any length is checked in bounded memory.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::Path;

use super::line::{self, genesis_hash, LogLine};
use super::{lock, LogError, Problem};

/// Longest line, newline included, that a writer writes and a reader accepts: it bounds
/// the memory a walk needs, whatever the file holds (a line of 18 000 cards still fits).
pub const MAX_LINE_LEN: usize = 1 << 20;

/// A log that verified: how many lines and the hash of the last (its head).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// Lines in the chain.
    pub lines: u64,
    /// The last line's hash; the genesis hash for an empty log.
    pub head: String,
    /// The format version its genesis names (4, or 3 or 2 for a log an earlier quorumctl
    /// wrote, which is read and verified but never appended to).
    pub format: u8,
    /// The last line, which says how the newest ceremony ended and, from format 4 on, who
    /// ran and watched it; `None` for an empty log.
    pub last: Option<LogLine>,
}

/// Verifies the log at `path`; with `expect_head` (the head, or a prefix of at least 8 of its
/// hex digits), also that the log ends exactly at that hash, which is what detects lines cut
/// from the end.
pub fn verify(path: &Path, expect_head: Option<&str>) -> Result<Verified, LogError> {
    let expected = expect_head.map(head_prefix).transpose()?;
    let io_err = |action, source| LogError::Io {
        path: path.to_path_buf(),
        action,
        source,
    };
    let file = File::open(path).map_err(|e| match e.kind() {
        io::ErrorKind::NotFound => LogError::Missing(path.to_path_buf()),
        _ => io_err("open", e),
    })?;
    // A shared lock waits for an appender to finish its line.
    lock(&file, libc::LOCK_SH).map_err(|e| io_err("lock", e))?;
    let end = walk(&file, expected.as_deref()).map_err(|e| match e {
        WalkError::Io(e) => io_err("read", e),
        WalkError::Bad(line, problem) => LogError::Broken {
            path: path.to_path_buf(),
            line,
            problem,
        },
    })?;
    let (lines, head, format, last) = (end.lines, end.head, end.format, end.last);
    if let Some(expected) = expected {
        if !head.starts_with(&expected) {
            return Err(match end.found_at {
                Some(line) => LogError::NotHead {
                    path: path.to_path_buf(),
                    line,
                    lines,
                },
                None => LogError::HeadMismatch {
                    path: path.to_path_buf(),
                    expected,
                    found: head,
                    lines,
                },
            });
        }
    }
    Ok(Verified {
        lines,
        head,
        format,
        last,
    })
}

/// The hex digits of a head as people copy it from the minutes (any case, dashes or spaces
/// between groups): at least [`HEAD_PREFIX_MIN`] of the 64, since a head is copied by hand.
fn head_prefix(typed: &str) -> Result<String, LogError> {
    let digits: String = typed
        .chars()
        .filter(|c| !matches!(c, '-' | ' '))
        .map(|c| c.to_ascii_lowercase())
        .collect();
    let hex = digits.bytes().all(|b| b.is_ascii_hexdigit());
    if hex && (HEAD_PREFIX_MIN..=64).contains(&digits.len()) {
        Ok(digits)
    } else {
        Err(LogError::BadHead(typed.trim().chars().take(80).collect()))
    }
}

/// The fewest hex digits of a head `--expect-head` accepts.
pub const HEAD_PREFIX_MIN: usize = 8;

/// Why a walk stopped before the end of the file.
pub(super) enum WalkError {
    /// Reading failed.
    Io(io::Error),
    /// The first bad line (1-based) and what is wrong with it.
    Bad(u64, Problem),
}

/// The end of an intact chain.
pub(super) struct ChainEnd {
    /// Lines in the chain.
    pub(super) lines: u64,
    /// The last line's hash; the genesis hash for an empty log.
    pub(super) head: String,
    /// The first line whose hash is the one looked for (0: the genesis hash).
    pub(super) found_at: Option<u64>,
    /// The format version named by line 1's `prev` ([`line::FORMAT`] for an empty log).
    pub(super) format: u8,
    /// The last line, when there is one.
    pub(super) last: Option<LogLine>,
}

/// Walks the whole chain from the reader's start; notes where the hash `look_for` occurs.
pub(super) fn walk(source: impl Read, look_for: Option<&str>) -> Result<ChainEnd, WalkError> {
    let mut reader = BufReader::new(source);
    let mut buf = Vec::new();
    let mut head = genesis_hash();
    let matches = |head: &str| look_for.is_some_and(|prefix| head.starts_with(prefix));
    let mut found_at = matches(&head).then_some(0);
    let mut lines = 0u64;
    let mut format = line::FORMAT;
    let mut last = None;
    loop {
        let number = lines + 1;
        let bad = |problem| WalkError::Bad(number, problem);
        match next_line(&mut reader, &mut buf).map_err(WalkError::Io)? {
            Segment::End => break,
            Segment::Line => {}
            Segment::Cut => return Err(bad(Problem::Truncated)),
            Segment::TooLong => return Err(bad(too_long())),
        }
        let parsed = line::check(&buf).map_err(bad)?;
        if parsed.seq != number {
            let (expected, found) = (number, parsed.seq);
            let problem = if found < expected {
                Problem::Inserted { expected, found }
            } else if appears_later(&mut reader, &mut buf, expected).map_err(WalkError::Io)? {
                Problem::Reordered { expected, found }
            } else {
                Problem::Removed { expected, found }
            };
            return Err(bad(problem));
        }
        if number == 1 {
            // Format 3 lines are format 4 lines without the four keys of who wrote them;
            // format 2 lines are format 3 lines without the new outcomes: read on.
            let older = if parsed.prev == line::format_3_genesis_hash() {
                Some(3)
            } else if parsed.prev == line::format_2_genesis_hash() {
                Some(2)
            } else {
                None
            };
            if let Some(older) = older {
                format = older;
                head = parsed.prev.clone();
            }
        }
        match (format >= 4, parsed.provenance.is_some()) {
            (true, false) => {
                return Err(bad(Problem::Malformed(format!(
                    "it lacks the keys operator, witnesses, tool and protocol that every line of a format {format} log has"
                ))))
            }
            (false, true) => {
                return Err(bad(Problem::Malformed(format!(
                    "it has the keys operator, witnesses, tool and protocol, which no line of a format {format} log has"
                ))))
            }
            _ => {}
        }
        if parsed.prev != head {
            if number == 1 && parsed.prev == line::old_genesis_hash() {
                return Err(bad(Problem::OldFormat));
            }
            return Err(bad(Problem::Unlinked));
        }
        head = parsed.hash.clone();
        lines = number;
        last = Some(parsed);
        if found_at.is_none() && matches(&head) {
            found_at = Some(number);
        }
    }
    Ok(ChainEnd {
        lines,
        head,
        found_at,
        format,
        last,
    })
}

/// Whether a later whole line is sound and carries sequence number `seq` (it was moved).
fn appears_later(reader: &mut impl BufRead, buf: &mut Vec<u8>, seq: u64) -> io::Result<bool> {
    loop {
        match next_line(reader, buf)? {
            Segment::Line if line::check(buf).is_ok_and(|l| l.seq == seq) => return Ok(true),
            Segment::Line => {}
            Segment::End | Segment::Cut | Segment::TooLong => return Ok(false),
        }
    }
}

/// What the next read of a line found.
enum Segment {
    /// A whole line, now in the buffer without its newline.
    Line,
    /// The end of the file, right after a newline (or an empty file).
    End,
    /// Bytes and then the end of the file, with no newline: an incomplete last line.
    Cut,
    /// [`MAX_LINE_LEN`] bytes without a newline.
    TooLong,
}

/// Reads the next line into `buf` (cleared first), never more than [`MAX_LINE_LEN`] bytes.
fn next_line(reader: &mut impl BufRead, buf: &mut Vec<u8>) -> io::Result<Segment> {
    buf.clear();
    let read = reader
        .by_ref()
        .take(MAX_LINE_LEN as u64)
        .read_until(b'\n', buf)?;
    Ok(if read == 0 {
        Segment::End
    } else if buf.pop_if(|b| *b == b'\n').is_some() {
        Segment::Line
    } else if read == MAX_LINE_LEN {
        Segment::TooLong
    } else {
        Segment::Cut
    })
}

fn too_long() -> Problem {
    Problem::Malformed(format!(
        "it is longer than {MAX_LINE_LEN} bytes, the longest a log line may be"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::log::tests::{entry, TempDir};
    use crate::log::Log;
    use proptest::prelude::*;
    use quorum_protocol::mutation::{any_mutation, Mutation};

    /// A five-line log; returns its directory guard, path, lines (without newlines) and head.
    fn five() -> (TempDir, std::path::PathBuf, Vec<String>, String) {
        let dir = TempDir::new("verify");
        let path = dir.0.join("log.jsonl");
        let log = Log::open(&path).unwrap();
        let mut head = String::new();
        for (i, c) in ["init", "init", "enroll", "status", "recover"]
            .into_iter()
            .enumerate()
        {
            head = log.append(&entry(c, i as u8)).unwrap().hash;
        }
        let lines = std::fs::read_to_string(&path)
            .unwrap()
            .lines()
            .map(str::to_owned)
            .collect();
        (dir, path, lines, head)
    }

    fn write(path: &Path, lines: &[String]) {
        std::fs::write(path, lines.join("\n") + "\n").unwrap();
    }

    fn broken(path: &Path) -> (u64, Problem) {
        match verify(path, None) {
            Err(LogError::Broken { line, problem, .. }) => (line, problem),
            other => panic!("expected a broken chain, got {other:?}"),
        }
    }

    #[test]
    fn an_edited_field_is_found_on_its_line() {
        let (_d, path, mut lines, _) = five();
        lines[2] = lines[2].replace("\"outcome\":\"skipped\"", "\"outcome\":\"failed\"");
        write(&path, &lines);
        assert_eq!(broken(&path), (3, Problem::Edited));
        let err = verify(&path, None).unwrap_err().to_string();
        assert!(err.contains("line 3") && err.contains("edited"), "{err}");
    }

    #[test]
    fn an_edit_with_a_recomputed_hash_breaks_the_next_link() {
        let (_d, path, mut lines, _) = five();
        let parsed: crate::log::LogLine = serde_json::from_str(&lines[2]).unwrap();
        let mut forged = entry("enroll", 2);
        forged.outcome = crate::log::Outcome::Failed(crate::log::Message::from_error(
            &io::Error::other("forged"),
        ));
        let (text, _) = line::build(&forged, 3, &parsed.time, &parsed.prev).unwrap();
        lines[2] = text.trim_end().to_owned();
        write(&path, &lines);
        assert_eq!(broken(&path), (4, Problem::Unlinked));
    }

    #[test]
    fn a_removed_middle_line_is_found() {
        let (_d, path, mut lines, _) = five();
        lines.remove(2);
        write(&path, &lines);
        assert_eq!(
            broken(&path),
            (
                3,
                Problem::Removed {
                    expected: 3,
                    found: 4
                }
            )
        );
    }

    #[test]
    fn swapped_lines_are_found() {
        let (_d, path, mut lines, _) = five();
        lines.swap(1, 2);
        write(&path, &lines);
        assert_eq!(
            broken(&path),
            (
                2,
                Problem::Reordered {
                    expected: 2,
                    found: 3
                }
            )
        );
    }

    #[test]
    fn inserted_lines_are_found() {
        // A copy of an earlier line.
        let (_d, path, mut lines, _) = five();
        let copy = lines[1].clone();
        lines.insert(4, copy);
        write(&path, &lines);
        assert_eq!(
            broken(&path),
            (
                5,
                Problem::Inserted {
                    expected: 5,
                    found: 2
                }
            )
        );
        // A forged line that fits perfectly after line 2: the line after it no longer fits.
        let (_d, path, mut lines, _) = five();
        let after: crate::log::LogLine = serde_json::from_str(&lines[1]).unwrap();
        let (text, _) = line::build(&entry("recover", 7), 3, &after.time, &after.hash).unwrap();
        lines.insert(2, text.trim_end().to_owned());
        write(&path, &lines);
        assert_eq!(
            broken(&path),
            (
                4,
                Problem::Inserted {
                    expected: 4,
                    found: 3
                }
            )
        );
        // A blank line.
        let (_d, path, mut lines, _) = five();
        lines.insert(1, String::new());
        write(&path, &lines);
        assert!(matches!(broken(&path), (2, Problem::Malformed(_))));
    }

    #[test]
    fn a_partly_truncated_last_line_is_found() {
        let (_d, path, _, _) = five();
        let bytes = std::fs::read(&path).unwrap();
        for cut in [1, 30, bytes.len() / 5] {
            std::fs::write(&path, &bytes[..bytes.len() - cut]).unwrap();
            assert_eq!(broken(&path), (5, Problem::Truncated), "cut {cut}");
        }
    }

    #[test]
    fn the_expected_head_catches_a_cut_tail() {
        let (_d, path, mut lines, head) = five();
        assert_eq!(verify(&path, Some(&head)).unwrap().lines, 5);
        // As copied from the minutes: a prefix, upper case, in groups.
        let grouped = format!("{}-{} {}", &head[..4], &head[4..8], &head[8..12]).to_uppercase();
        assert_eq!(verify(&path, Some(&grouped)).unwrap().lines, 5);
        assert!(matches!(
            verify(&path, Some(&head[..7])),
            Err(LogError::BadHead(_))
        ));
        let line3: crate::log::LogLine = serde_json::from_str(&lines[2]).unwrap();
        lines.truncate(4);
        write(&path, &lines);
        // Without the recorded head, four whole lines are a valid chain...
        assert_eq!(verify(&path, None).unwrap().lines, 4);
        // ...with it, the missing tail shows.
        let err = verify(&path, Some(&head)).unwrap_err();
        assert!(
            matches!(&err, LogError::HeadMismatch { lines: 4, expected, .. } if *expected == head),
            "{err}"
        );
        // An older head: the log grew after it.
        assert!(matches!(
            verify(&path, Some(&line3.hash)),
            Err(LogError::NotHead {
                line: 3,
                lines: 4,
                ..
            })
        ));
        // The whole log removed down to an empty file.
        std::fs::write(&path, "").unwrap();
        assert!(matches!(
            verify(&path, Some(&head)),
            Err(LogError::HeadMismatch { lines: 0, .. })
        ));
        assert_eq!(
            verify(&path, Some(&genesis_hash())).unwrap().head,
            genesis_hash()
        );
        assert!(matches!(
            verify(&path, Some("abc")),
            Err(LogError::BadHead(_))
        ));
    }

    #[test]
    fn a_line_longer_than_the_limit_is_refused_without_holding_it() {
        let (_d, path, lines, _) = five();
        let mut bytes = (lines[..2].join("\n") + "\n").into_bytes();
        bytes.extend(std::iter::repeat_n(b'x', MAX_LINE_LEN + 10));
        bytes.extend_from_slice(b"\n");
        std::fs::write(&path, &bytes).unwrap();
        let (line, problem) = broken(&path);
        assert_eq!(line, 3);
        assert!(problem.to_string().contains("longer than"), "{problem}");
        // A line of exactly the limit (newline included) is read whole, then judged.
        bytes.truncate(bytes.len() - 12);
        bytes.push(b'\n');
        std::fs::write(&path, &bytes).unwrap();
        assert!(matches!(broken(&path), (3, Problem::Malformed(m)) if !m.contains("longer")));
    }

    #[test]
    fn a_format_1_log_is_named_as_such() {
        let (_d, path, _, _) = five();
        let (first, _) = line::build(
            &entry("enroll", 1),
            1,
            "2026-01-01T00:00:00Z",
            &line::old_genesis_hash(),
        )
        .unwrap();
        std::fs::write(&path, first).unwrap();
        let (line, problem) = broken(&path);
        assert_eq!((line, problem.clone()), (1, Problem::OldFormat));
        assert!(problem.to_string().contains("format 1"), "{problem}");
    }

    /// Logs of formats 2 and 3 (no operator, witnesses or versions) verify, with their
    /// format named, but nothing is appended to them and the file is left as it was.
    #[test]
    fn older_logs_still_verify_but_are_not_appended_to() {
        for (format, genesis) in [
            (2, line::format_2_genesis_hash()),
            (3, line::format_3_genesis_hash()),
        ] {
            let (_d, path, _, _) = five();
            let (first, hash) =
                line::older_line(&entry("enroll", 1), 1, "2026-01-01T00:00:00Z", &genesis);
            let (second, head) =
                line::older_line(&entry("recover", 1), 2, "2026-01-01T00:01:00Z", &hash);
            let text = format!("{first}{second}");
            std::fs::write(&path, &text).unwrap();
            let v = verify(&path, Some(&head[..8])).unwrap();
            assert_eq!(
                (v.lines, v.head.as_str(), v.format),
                (2, head.as_str(), format)
            );
            assert_eq!(v.last.unwrap().provenance, None);
            let appender = Log { path: path.clone() };
            assert!(matches!(
                appender.append(&entry("recover", 2)),
                Err(LogError::OlderFormat { format: f, .. }) if f == format
            ));
            let e = Log::open(&path).unwrap_err();
            assert!(
                matches!(e, LogError::OlderFormat { format: f, .. } if f == format),
                "{e}"
            );
            assert!(
                e.to_string().contains(&format!("format {format} log")),
                "{e}"
            );
            assert!(e.to_string().contains("still verifies"), "{e}");
            assert_eq!(std::fs::read_to_string(&path).unwrap(), text);
        }
    }

    /// A line without the format 4 keys in a format 4 log, or with them in a format 3 log,
    /// is not a line of that log, even when it is chained right.
    #[test]
    fn lines_of_another_format_are_refused() {
        let (_d, path, lines, head) = five();
        let (older, _) = line::older_line(&entry("verify", 6), 6, "2026-01-01T00:00:00Z", &head);
        std::fs::write(&path, lines.join("\n") + "\n" + &older).unwrap();
        let (at, problem) = broken(&path);
        assert_eq!(at, 6);
        assert!(
            matches!(&problem, Problem::Malformed(m) if m.contains("lacks the keys operator, witnesses, tool and protocol")),
            "{problem}"
        );

        let (first, hash) = line::older_line(
            &entry("enroll", 1),
            1,
            "2026-01-01T00:00:00Z",
            &line::format_3_genesis_hash(),
        );
        let (newer, _) =
            line::build(&entry("recover", 1), 2, "2026-01-01T00:01:00Z", &hash).unwrap();
        std::fs::write(&path, format!("{first}{newer}")).unwrap();
        let (at, problem) = broken(&path);
        assert_eq!(at, 2);
        assert!(
            matches!(&problem, Problem::Malformed(m) if m.contains("which no line of a format 3 log has")),
            "{problem}"
        );
    }

    /// The last line comes back with the verdict, so `log verify` can say who ran the newest ceremony.
    #[test]
    fn the_last_line_tells_who_wrote_it() {
        let (_d, path, _, head) = five();
        let last = verify(&path, None).unwrap().last.unwrap();
        assert_eq!((last.seq, last.hash.as_str()), (5, head.as_str()));
        let who = last.provenance.unwrap();
        assert_eq!(who.operator.as_deref(), Some("Ada Lovelace"));
        assert_eq!(who.witnesses, ["Grace Hopper", "Édouard Lucas"]);
        assert_eq!(
            (who.tool.as_str(), who.protocol.as_str()),
            ("quorumctl/0.1.0", "1.1")
        );
    }

    /// A head as the minutes print it, in groups of four with spaces (or dashes), is
    /// accepted whole or as a prefix of at least 8 digits.
    #[test]
    fn a_grouped_head_is_accepted() {
        let (_d, path, _, head) = five();
        let grouped = |digits: &str, sep: &str| {
            digits
                .as_bytes()
                .chunks(4)
                .map(|c| std::str::from_utf8(c).unwrap())
                .collect::<Vec<_>>()
                .join(sep)
        };
        for typed in [
            grouped(&head, " "),
            grouped(&head[..12], " "),
            grouped(&head[..16], "-"),
        ] {
            assert_eq!(verify(&path, Some(&typed)).unwrap().head, head, "{typed}");
        }
        assert!(matches!(
            verify(&path, Some(&grouped(&head[..4], " "))),
            Err(LogError::BadHead(_))
        ));
    }

    #[test]
    fn the_writer_never_writes_a_line_the_reader_refuses() {
        let mut huge = entry("recover", 1);
        huge.cards = std::iter::repeat_n(huge.cards[0].clone(), MAX_LINE_LEN / 50).collect();
        assert!(matches!(
            line::build(&huge, 1, "2026-01-01T00:00:00Z", &genesis_hash()),
            Err(LogError::LineTooLong(n)) if n > MAX_LINE_LEN
        ));
    }

    /// The bytes of a valid five-line log and its head, written once through `Log::append`.
    fn valid_log() -> &'static (Vec<u8>, String) {
        static LOG: std::sync::OnceLock<(Vec<u8>, String)> = std::sync::OnceLock::new();
        LOG.get_or_init(|| {
            let (_dir, path, _, head) = five();
            (std::fs::read(&path).unwrap(), head)
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(400))]

        /// Any damage to a log file is found: with the recorded head, only the untouched file
        /// verifies; without it, only the untouched file or one cut at a line's end. Nothing
        /// panics, and opening the damaged log for appending either works or says it is damaged.
        #[test]
        fn damaged_log_files_fail_verification(m in any_mutation()) {
            let (good, head) = valid_log();
            let bad = m.apply(good);
            let dir = TempDir::new("verify-prop");
            let path = dir.0.join("log.jsonl");
            std::fs::write(&path, &bad).unwrap();
            let untouched = bad == *good;
            let with_head = verify(&path, Some(head));
            prop_assert_eq!(with_head.is_ok(), untouched, "{:?}", with_head);
            let cut_at_line_end = matches!(m, Mutation::Truncate(_)) && (bad.is_empty() || bad.ends_with(b"\n"));
            match verify(&path, None) {
                Ok(v) => {
                    prop_assert!(untouched || cut_at_line_end, "damage not found");
                    prop_assert_eq!(v.lines, bad.iter().filter(|&&b| b == b'\n').count() as u64);
                }
                Err(LogError::Broken { line, problem, .. }) => {
                    prop_assert!(!untouched);
                    prop_assert!(line >= 1 && line <= 1 + bad.iter().filter(|&&b| b == b'\n').count() as u64);
                    prop_assert!(!problem.to_string().is_empty());
                }
                Err(other) => prop_assert!(false, "unexpected error {}", other),
            }
            // The writer walks the same chain: it opens exactly the logs that verify, and
            // names the same line and problem as the verifier.
            match (Log::open(&path), verify(&path, None)) {
                (Ok(_), Ok(_)) => {}
                (
                    Err(LogError::Damaged { line, problem, .. }),
                    Err(LogError::Broken { line: l, problem: p, .. }),
                ) => prop_assert_eq!((line, problem), (l, p)),
                (open, verified) => prop_assert!(false, "open {:?}, verify {:?}", open, verified),
            }
        }
    }
}
