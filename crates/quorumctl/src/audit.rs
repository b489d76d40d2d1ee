//! The commands that need no card (`inspect`, `log verify`) and the ceremony log's
//! plumbing for the others: which file, and one line appended after a command.

use std::path::PathBuf;

use serde_json::json;

use quorum_ceremony::log::{self, Appended, Entry, Log, LogError, PersonName, Provenance};
use quorum_protocol::bundle::Bundle;

use crate::exit::ExitStatus;
use quorum_ceremony::bundle_file::BundleFile;

use crate::cli::{Cli, Command, InspectArgs, LogCommand, LogVerifyArgs};
use crate::report::{causes, Report};

/// Runs `inspect` and `log …`; `None` for every other command, which `run` handles.
pub fn run(cli: &Cli, report: &mut Report) -> Option<Outcome> {
    let result = match &cli.command {
        Command::Inspect(args) => inspect(args, report),
        Command::Log(LogCommand::Verify(args)) => verify(cli, args, report),
        _ => return None,
    };
    Some(result)
}

/// How an audit command ended, for `Report::finish`.
pub type Outcome = Result<(), (ExitStatus, String, Vec<String>)>;

/// A log error as the CLI words it, with its causes.
fn failed(status: ExitStatus, e: &LogError) -> (ExitStatus, String, Vec<String>) {
    (status, crate::words::log::message(e), causes(e))
}

fn inspect(args: &InspectArgs, report: &mut Report) -> Outcome {
    let summary = Bundle::read(&args.bundle)
        .map_err(|e| (ExitStatus::File, e.about(&args.bundle), causes(&e)))?
        .summary();
    if args.json && !report.json() {
        crate::report::stdout(&summary.to_json());
    } else {
        report.line(format!("Bundle:         {}", args.bundle.display()));
        report.line(summary.to_string());
    }
    report.set("bundle", json!(args.bundle.display().to_string()));
    report.set(
        "summary",
        serde_json::to_value(&summary).expect("a summary always serialises"),
    );
    Ok(())
}

fn verify(cli: &Cli, args: &LogVerifyArgs, report: &mut Report) -> Outcome {
    let Some(path) = log_target(cli) else {
        return Err((
            ExitStatus::Usage,
            "--no-log turns the log off; to verify a log, name it with --log FILE".to_owned(),
            Vec::new(),
        ));
    };
    let verified = match log::verify(&path, args.expect_head.as_deref()) {
        Err(e @ LogError::BadHead(_)) => return Err(failed(ExitStatus::Usage, &e)),
        other => other.map_err(|e| failed(ExitStatus::Log, &e))?,
    };
    report.line(format!(
        "The ceremony log {} is intact: {} lines, head {}.",
        path.display(),
        verified.lines,
        crate::words::log::grouped(&verified.head)
    ));
    if let Some(last) = &verified.last {
        report.line(crate::words::log::last_line(last));
    }
    if verified.format != log::FORMAT {
        report.line(format!(
            "It is a format {} log, written by an earlier quorumctl: this one verifies it but appends nothing to it (start a new log for the next ceremony).",
            verified.format
        ));
    }
    if args.expect_head.is_some() {
        report.line("It ends at the expected head.");
    } else {
        eprintln!("Lines cut from the end of a log cannot be detected without the head recorded when they were written: compare the head with your ceremony minutes, or give it with --expect-head.");
    }
    report.set("log", json!(path.display().to_string()));
    report.set("lines", json!(verified.lines));
    report.set("head", json!(verified.head.to_string()));
    report.set("format", json!(verified.format));
    report.set("expected_head", json!(args.expect_head.is_some()));
    if let Some(last) = &verified.last {
        let who = last.provenance.as_ref();
        report.set(
            "last",
            json!({
                "seq": last.seq,
                "command": last.command,
                "outcome": last.outcome,
                "operator": who.and_then(|p| p.operator.as_deref()),
                "witnesses": who.map(|p| p.witnesses.clone()),
                "tool": who.map(|p| p.tool.as_str()),
                "protocol": who.map(|p| p.protocol.as_str()),
            }),
        );
    }
    Ok(())
}

/// The log file for this run: `--log`, else `QUORUM_LOG`, else the default under the user's
/// state directory (`log::default_log_path`); `None` with `--no-log`.
pub fn log_target(cli: &Cli) -> Option<PathBuf> {
    let default = log::default_log_path(
        std::env::var_os("XDG_STATE_HOME").as_deref(),
        std::env::var_os("HOME").as_deref(),
    );
    let path = log::log_path(
        cli.log.as_deref(),
        std::env::var_os(log::LOG_ENV).as_deref(),
        default.clone(),
        cli.no_log,
    )?;
    if path == default {
        // The default directory is made on first use, private to the user; a failure shows
        // when the log is opened.
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            if !dir.exists() {
                use std::os::unix::fs::DirBuilderExt;
                let _ = std::fs::DirBuilder::new()
                    .recursive(true)
                    .mode(0o700)
                    .create(dir);
            }
        }
    }
    Some(path)
}

/// Environment variable naming the operator, below `--operator` in precedence: the person
/// at the keyboard stays the same for a whole shell session, while witnesses change with
/// each ceremony and are named on its command line only.
pub const OPERATOR_ENV: &str = "QUORUM_OPERATOR";

/// Which quorumctl and protocol write this run's log line, and who runs and watches it:
/// `--operator` (else `QUORUM_OPERATOR` when set and not empty) and every `--witness`.
/// A usage error's text when the names break the log's rules.
pub fn provenance(cli: &Cli) -> Result<Provenance, String> {
    let operator = match &cli.operator {
        Some(name) => Some(name.clone()),
        None => match std::env::var_os(OPERATOR_ENV).filter(|v| !v.is_empty()) {
            None => None,
            Some(value) => Some(
                value
                    .to_str()
                    .and_then(|v| PersonName::parse(v).ok())
                    .ok_or_else(|| {
                        format!("{OPERATOR_ENV} must name the operator in 1 to 64 bytes of text without control characters; give the name with --operator NAME, or unset {OPERATOR_ENV}")
                    })?,
            ),
        },
    };
    Provenance::new(
        concat!("quorumctl/", env!("CARGO_PKG_VERSION")),
        &format!(
            "{}.{}",
            quorum_protocol::apdu::PROTOCOL_MAJOR,
            quorum_protocol::apdu::PROTOCOL_MINOR
        ),
        operator,
        cli.witnesses.clone(),
    )
    .map_err(|e| crate::words::log::message(&e))
}

/// Appends a command's entry to this run's log (nothing with `--no-log`) and tells the
/// people at the table the new head, which belongs in the ceremony minutes.
pub fn log_command(cli: &Cli, entry: &Entry) -> Result<Option<Appended>, LogError> {
    let Some(path) = log_target(cli) else {
        return Ok(None);
    };
    let appended = Log::open(&path)?.append(entry)?;
    if appended.seq == 1 {
        eprintln!(
            "A new ceremony log starts here, at {}: its chain begins with this line; ceremonies logged in another file are not part of it.",
            path.display()
        );
    }
    eprintln!(
        "{}",
        crate::words::log::logged(appended.seq, &path, &entry.provenance, &appended.hash)
    );
    Ok(Some(appended))
}
