//! The words for the ceremony log's errors, whose advice names `--log`, `--no-log` and
//! `quorumctl log verify`.

use std::path::Path;

use quorum_ceremony::log::{LogError, LogLine, Problem, Provenance, FORMAT, LOG_ENV};

/// A head as people read it aloud and compare it: groups of four hex digits between
/// spaces (`3f2a 9c41 …`, 16 groups for a whole head); JSON keeps the plain digits, and
/// `--expect-head` takes either form.
pub(crate) fn grouped(head: &str) -> String {
    head.as_bytes()
        .chunks(4)
        .map(|group| String::from_utf8_lossy(group))
        .collect::<Vec<_>>()
        .join(" ")
}

/// "A", "A and B", "A, B and C".
fn listed(names: &[&str]) -> String {
    match names {
        [] => String::new(),
        [one] => (*one).to_owned(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}

/// The people a line names, as the minutes read them: "operator A; witnesses B and C".
fn people(operator: Option<&str>, witnesses: &[&str]) -> String {
    let operator = operator.map_or("no operator named".to_owned(), |o| format!("operator {o}"));
    let witnesses = match witnesses {
        [] => "no witness named".to_owned(),
        [one] => format!("witness {one}"),
        many => format!("witnesses {}", listed(many)),
    };
    format!("{operator}; {witnesses}")
}

/// The line a ceremony's end prints: where its line went, who it names, and the new head.
pub(crate) fn logged(seq: u64, path: &Path, who: &Provenance, head: &str) -> String {
    let witnesses: Vec<&str> = who.witnesses().iter().map(|w| w.as_str()).collect();
    let named = if who.operator().is_none() && witnesses.is_empty() {
        String::new()
    } else {
        format!(
            " ({})",
            people(who.operator().map(|o| o.as_str()), &witnesses)
        )
    };
    format!(
        "Logged as line {seq} of {}{named}; the log's head is now {} (note it in the ceremony minutes).",
        path.display(),
        grouped(head)
    )
}

/// What `log verify` says of the newest line: the ceremony, and who and what wrote it.
pub(crate) fn last_line(line: &LogLine) -> String {
    let outcome = serde_json::to_value(line.outcome)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default();
    let said = format!(
        "Line {}, the newest, records {} ({outcome})",
        line.seq, line.command
    );
    match &line.provenance {
        Some(p) => {
            let witnesses: Vec<&str> = p.witnesses.iter().map(String::as_str).collect();
            format!(
                "{said}, written by {} for protocol {}: {}.",
                p.tool,
                p.protocol,
                people(p.operator.as_deref(), &witnesses)
            )
        }
        None => format!("{said}; its format names no operator, witnesses or versions."),
    }
}

/// The CLI's message for a ceremony log error.
pub(crate) fn message(e: &LogError) -> String {
    match e {
        LogError::Open { path, source } => format!(
            "cannot open the ceremony log {}: {source}; choose another file with --log FILE (or {LOG_ENV}), or run without a log with --no-log",
            path.display()
        ),
        LogError::Missing(path) => format!(
            "there is no ceremony log at {}: give its path with --log FILE (or {LOG_ENV})",
            path.display()
        ),
        LogError::Damaged {
            path,
            line,
            problem,
        } => format!(
            "nothing can be appended to the ceremony log {path}: it fails verification at line {line}: that line {}; keep the file as evidence, run `quorumctl log verify --log {path}`, and start a new log with --log FILE",
            self::problem(problem),
            path = path.display()
        ),
        LogError::Broken {
            path,
            line,
            problem,
        } => format!(
            "the ceremony log {} fails verification at line {line}: that line {}",
            path.display(),
            self::problem(problem)
        ),
        LogError::BadHead(head) => format!(
            "\"{head}\" is not a log head: give the 64 hex digits of a line's hash as `quorumctl log verify` prints them, or their first 8 or more (spaces and dashes between groups are ignored)"
        ),
        LogError::HeadMismatch {
            path,
            expected,
            found,
            lines,
        } => format!(
            "the ceremony log {} is intact up to its last line ({lines}), but its head is {}, which does not begin with the expected {}, and no line's hash does: lines were removed from its end, or it was rewritten; keep the file as evidence",
            path.display(),
            grouped(found),
            grouped(expected)
        ),
        LogError::BadName(name) => format!(
            "\"{name}\" cannot be logged as a name: --operator and --witness take 1 to 64 bytes of text without control characters"
        ),
        LogError::TooManyWitnesses(n) => format!(
            "{n} witnesses were named with --witness; a log line names at most {}: name the others in the minutes",
            quorum_ceremony::log::entry::MAX_WITNESSES
        ),
        LogError::WitnessTwice(name) => format!(
            "--witness \"{}\" was given twice: name each witness once",
            name.as_str()
        ),
        LogError::OlderFormat { path, format } => format!(
            "the ceremony log {path} is a format {format} log, written by an earlier quorumctl: it still verifies (`quorumctl log verify --log {path}`), but this quorumctl appends format {FORMAT} lines only (they can say that a ceremony started or was interrupted); keep it with the ceremony minutes and start a new log with --log FILE",
            path = path.display()
        ),
        _ => e.to_string(),
    }
}

/// What is wrong with a line of the log.
fn problem(p: &Problem) -> String {
    match p {
        Problem::OldFormat => format!("starts a format 1 log (written by an earlier quorumctl, before set digests and key check values); this quorumctl appends format {FORMAT} lines only: keep this log with the ceremony minutes and start a new one with --log FILE"),
        _ => p.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    #[test]
    fn log_errors_name_the_options_and_the_command_that_go_on() {
        let path = PathBuf::from("log.jsonl");
        let cases = [
            (
                LogError::Open {
                    path: path.clone(),
                    source: std::io::Error::from(std::io::ErrorKind::NotFound),
                },
                format!(
                    "cannot open the ceremony log log.jsonl: {}; choose another file with --log FILE (or QUORUM_LOG), or run without a log with --no-log",
                    std::io::Error::from(std::io::ErrorKind::NotFound)
                ),
            ),
            (
                LogError::Missing(path.clone()),
                "there is no ceremony log at log.jsonl: give its path with --log FILE (or QUORUM_LOG)".to_owned(),
            ),
            (
                LogError::Damaged {
                    path: path.clone(),
                    line: 2,
                    problem: Problem::Edited,
                },
                "nothing can be appended to the ceremony log log.jsonl: it fails verification at line 2: that line was edited: its content does not match its own hash; keep the file as evidence, run `quorumctl log verify --log log.jsonl`, and start a new log with --log FILE".to_owned(),
            ),
            (
                LogError::Broken {
                    path: path.clone(),
                    line: 1,
                    problem: Problem::OldFormat,
                },
                "the ceremony log log.jsonl fails verification at line 1: that line starts a format 1 log (written by an earlier quorumctl, before set digests and key check values); this quorumctl appends format 4 lines only: keep this log with the ceremony minutes and start a new one with --log FILE".to_owned(),
            ),
            (
                LogError::BadHead("xyz".into()),
                "\"xyz\" is not a log head: give the 64 hex digits of a line's hash as `quorumctl log verify` prints them, or their first 8 or more (spaces and dashes between groups are ignored)".to_owned(),
            ),
            (
                LogError::OlderFormat {
                    path: path.clone(),
                    format: 2,
                },
                format!("the ceremony log log.jsonl is a format 2 log, written by an earlier quorumctl: it still verifies (`quorumctl log verify --log log.jsonl`), but this quorumctl appends format {FORMAT} lines only (they can say that a ceremony started or was interrupted); keep it with the ceremony minutes and start a new log with --log FILE"),
            ),
        ];
        for (e, want) in cases {
            assert_eq!(message(&e), want);
            let own = e.to_string();
            assert!(
                !own.contains("--") && !own.contains("quorumctl log"),
                "the library names no option or command: {own}"
            );
        }
    }

    const HEAD: &str = "e1c5cba97df8abbb03c31ad2a5d35cfd406340dea8fc44220fdfd29e926615ac";

    fn name(text: &str) -> quorum_ceremony::log::PersonName {
        quorum_ceremony::log::PersonName::parse(text).unwrap()
    }

    #[test]
    fn heads_are_printed_in_groups_of_four() {
        assert_eq!(
            grouped(HEAD),
            "e1c5 cba9 7df8 abbb 03c3 1ad2 a5d3 5cfd 4063 40de a8fc 4422 0fdf d29e 9266 15ac"
        );
        assert_eq!(grouped("0123456789"), "0123 4567 89");
        let e = LogError::HeadMismatch {
            path: PathBuf::from("log.jsonl"),
            expected: "e1c5cba97df8abbc".to_owned(),
            found: HEAD.to_owned(),
            lines: 4,
        };
        assert_eq!(
            message(&e),
            "the ceremony log log.jsonl is intact up to its last line (4), but its head is e1c5 cba9 7df8 abbb 03c3 1ad2 a5d3 5cfd 4063 40de a8fc 4422 0fdf d29e 9266 15ac, which does not begin with the expected e1c5 cba9 7df8 abbc, and no line's hash does: lines were removed from its end, or it was rewritten; keep the file as evidence"
        );
    }

    #[test]
    fn the_logged_line_names_the_people_and_groups_the_head() {
        let path = PathBuf::from("/srv/minutes/log.jsonl");
        let nobody = Provenance::new("quorumctl/0.1.0", "1.1", None, vec![]).unwrap();
        assert_eq!(
            logged(3, &path, &nobody, HEAD),
            "Logged as line 3 of /srv/minutes/log.jsonl; the log's head is now e1c5 cba9 7df8 abbb 03c3 1ad2 a5d3 5cfd 4063 40de a8fc 4422 0fdf d29e 9266 15ac (note it in the ceremony minutes)."
        );
        let all = Provenance::new(
            "quorumctl/0.1.0",
            "1.1",
            Some(name("Ada Lovelace")),
            vec![
                name("Grace Hopper"),
                name("Alan Turing"),
                name("Édouard Lucas"),
            ],
        )
        .unwrap();
        assert_eq!(
            logged(4, &path, &all, HEAD),
            "Logged as line 4 of /srv/minutes/log.jsonl (operator Ada Lovelace; witnesses Grace Hopper, Alan Turing and Édouard Lucas); the log's head is now e1c5 cba9 7df8 abbb 03c3 1ad2 a5d3 5cfd 4063 40de a8fc 4422 0fdf d29e 9266 15ac (note it in the ceremony minutes)."
        );
        let witness =
            Provenance::new("quorumctl/0.1.0", "1.1", None, vec![name("Grace Hopper")]).unwrap();
        assert!(logged(5, &path, &witness, HEAD)
            .starts_with("Logged as line 5 of /srv/minutes/log.jsonl (no operator named; witness Grace Hopper); "));
    }

    #[test]
    fn log_verify_says_who_wrote_the_newest_line() {
        let vectors: serde_json::Value =
            serde_json::from_str(include_str!("../../../../apdu-spec/vectors/log.json")).unwrap();
        let last = |log: usize| -> LogLine {
            let lines = vectors["logs"][log]["lines"].as_array().unwrap();
            serde_json::from_str(lines.last().unwrap().as_str().unwrap()).unwrap()
        };
        assert_eq!(
            last_line(&last(0)),
            "Line 4, the newest, records recover (failed), written by quorumctl/0.1.0 for protocol 1.1: no operator named; witness Grace Hopper."
        );
        assert_eq!(
            last_line(&last(1)),
            "Line 4, the newest, records recover (failed); its format names no operator, witnesses or versions."
        );
        let lines = vectors["logs"][0]["lines"].as_array().unwrap();
        let enrolled: LogLine = serde_json::from_str(lines[2].as_str().unwrap()).unwrap();
        assert_eq!(
            last_line(&enrolled),
            "Line 3, the newest, records enroll (ok), written by quorumctl/0.1.0 for protocol 1.1: operator Ada Lovelace; witnesses Grace Hopper and Alan Turing."
        );
    }

    #[test]
    fn names_the_log_cannot_take_name_the_options() {
        assert_eq!(
            message(&LogError::WitnessTwice(name("Bob"))),
            "--witness \"Bob\" was given twice: name each witness once"
        );
        assert_eq!(
            message(&LogError::TooManyWitnesses(33)),
            "33 witnesses were named with --witness; a log line names at most 32: name the others in the minutes"
        );
        assert_eq!(
            message(&LogError::BadName("a b".to_owned())),
            "\"a b\" cannot be logged as a name: --operator and --witness take 1 to 64 bytes of text without control characters"
        );
    }
}
