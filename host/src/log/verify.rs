//! Walking the chain: every line must match its own hash, carry the next sequence number
//! and name the previous line's hash; the first line that does not is reported, with a
//! guess at what was done to it. Algorithm: apdu-spec/log-format.md.

use std::fs::File;
use std::io::{self, Read};
use std::path::Path;

use super::line::{self, genesis_hash, is_hash};
use super::{lock, LogError, Problem};

/// A log that verified: how many lines and the hash of the last (its head).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// Lines in the chain.
    pub lines: u64,
    /// The last line's hash; the genesis hash for an empty log.
    pub head: String,
}

/// Verifies the log at `path`; with `expect_head`, also that the log ends exactly at that
/// hash, which is what detects lines cut from the end.
pub fn verify(path: &Path, expect_head: Option<&str>) -> Result<Verified, LogError> {
    let expected = expect_head
        .map(|h| {
            let h = h.trim().to_ascii_lowercase();
            if is_hash(&h) {
                Ok(h)
            } else {
                Err(LogError::BadHead(h.chars().take(80).collect()))
            }
        })
        .transpose()?;
    let io_err = |action, source| LogError::Io {
        path: path.to_path_buf(),
        action,
        source,
    };
    let mut file = File::open(path).map_err(|e| match e.kind() {
        io::ErrorKind::NotFound => LogError::Missing(path.to_path_buf()),
        _ => io_err("open", e),
    })?;
    // A shared lock waits for an appender to finish its line.
    lock(&file, libc::LOCK_SH).map_err(|e| io_err("lock", e))?;
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes)
        .map_err(|e| io_err("read", e))?;
    let hashes = walk(&bytes).map_err(|(line, problem)| LogError::Broken {
        path: path.to_path_buf(),
        line,
        problem,
    })?;
    let lines = hashes.len() as u64 - 1;
    let head = hashes
        .last()
        .expect("the genesis hash is always there")
        .clone();
    if let Some(expected) = expected {
        if expected != head {
            return Err(match hashes.iter().position(|h| *h == expected) {
                Some(line) => LogError::NotHead {
                    path: path.to_path_buf(),
                    line: line as u64,
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
    Ok(Verified { lines, head })
}

/// The chain's hashes, genesis first then one per line; or the first bad line and why.
fn walk(bytes: &[u8]) -> Result<Vec<String>, (u64, Problem)> {
    let mut segments: Vec<&[u8]> = bytes.split(|&b| b == b'\n').collect();
    // After the last newline: empty for a well-terminated file, else a cut line.
    let rest = segments.pop().unwrap_or_default();
    let mut hashes = vec![genesis_hash()];
    for (i, segment) in segments.iter().enumerate() {
        let number = i as u64 + 1;
        let parsed = line::check(segment).map_err(|p| (number, p))?;
        if parsed.seq != number {
            let (expected, found) = (number, parsed.seq);
            let later = segments[i + 1..]
                .iter()
                .any(|s| line::check(s).is_ok_and(|l| l.seq == expected));
            let problem = if found < expected {
                Problem::Inserted { expected, found }
            } else if later {
                Problem::Reordered { expected, found }
            } else {
                Problem::Removed { expected, found }
            };
            return Err((number, problem));
        }
        if parsed.prev != hashes[i] {
            return Err((number, Problem::Unlinked));
        }
        hashes.push(parsed.hash);
    }
    if !rest.is_empty() {
        return Err((segments.len() as u64 + 1, Problem::Truncated));
    }
    Ok(hashes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::log::tests::{entry, TempDir};
    use crate::log::Log;
    use crate::mutation::{any_mutation, Mutation};
    use proptest::prelude::*;

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
            match Log::open(&path) {
                Ok(_) | Err(LogError::Damaged { .. }) => {}
                Err(other) => prop_assert!(false, "unexpected error {}", other),
            }
        }
    }
}
