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
