//! The words for the ceremony log's errors, whose advice names `--log`, `--no-log` and
//! `quorumctl log verify`.

use quorum_ceremony::log::{LogError, Problem, FORMAT, LOG_ENV};

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
            "\"{head}\" is not a log head: a head is the 64 hex digits of a line's hash, as `quorumctl log verify` prints it"
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
        Problem::OldFormat => "starts a format 1 log (written by an earlier quorumctl, before set digests and key check values); this quorumctl appends format 2 lines only: keep this log with the ceremony minutes and start a new one with --log FILE".to_owned(),
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
                "the ceremony log log.jsonl fails verification at line 1: that line starts a format 1 log (written by an earlier quorumctl, before set digests and key check values); this quorumctl appends format 2 lines only: keep this log with the ceremony minutes and start a new one with --log FILE".to_owned(),
            ),
            (
                LogError::BadHead("xyz".into()),
                "\"xyz\" is not a log head: a head is the 64 hex digits of a line's hash, as `quorumctl log verify` prints it".to_owned(),
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
}
