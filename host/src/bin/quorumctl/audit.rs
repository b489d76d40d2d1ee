//! The commands that need no card (`inspect`, `log verify`) and the ceremony log's
//! plumbing for the others: which file, and one line appended after a command.

use std::error::Error;
use std::path::PathBuf;
use std::process::ExitCode;

use quorum::bundle::Bundle;
use quorum::log::{self, Appended, Entry, Log, LogError};

use crate::cli::{Cli, Command, InspectArgs, LogCommand, LogVerifyArgs};
use crate::EXIT_USAGE;

/// Runs `inspect` and `log …`; `None` for every other command, which `run` handles.
pub fn run(cli: &Cli) -> Option<ExitCode> {
    let result = match &cli.command {
        Command::Inspect(args) => inspect(args),
        Command::Log(LogCommand::Verify(args)) => verify(cli, args),
        _ => return None,
    };
    Some(match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Usage(message)) => {
            eprintln!("error: {message}");
            ExitCode::from(EXIT_USAGE)
        }
        Err(Failure::Failed(e)) => {
            report(e.as_ref());
            ExitCode::FAILURE
        }
    })
}

/// How an audit command ends badly: bad options (exit 2) or a failed check (exit 1).
enum Failure {
    Usage(String),
    Failed(Box<dyn Error>),
}

impl<E: Error + 'static> From<E> for Failure {
    fn from(e: E) -> Failure {
        Failure::Failed(Box::new(e))
    }
}

/// Prints an error and those of its causes that its message does not already include.
fn report(e: &dyn Error) {
    eprintln!("error: {e}");
    let mut source = e.source();
    while let Some(s) = source {
        if !e.to_string().contains(&s.to_string()) {
            eprintln!("  caused by: {s}");
        }
        source = s.source();
    }
}

fn inspect(args: &InspectArgs) -> Result<(), Failure> {
    let summary = Bundle::read(&args.bundle)?.summary();
    if args.json {
        print!("{}", summary.to_json());
    } else {
        println!("Bundle:         {}", args.bundle.display());
        println!("{summary}");
    }
    Ok(())
}

fn verify(cli: &Cli, args: &LogVerifyArgs) -> Result<(), Failure> {
    let Some(path) = log_target(cli) else {
        return Err(Failure::Usage(
            "--no-log turns the log off; to verify a log, name it with --log FILE".to_owned(),
        ));
    };
    let verified = match log::verify(&path, args.expect_head.as_deref()) {
        Err(LogError::BadHead(head)) => {
            return Err(Failure::Usage(LogError::BadHead(head).to_string()))
        }
        other => other?,
    };
    println!(
        "The ceremony log {} is intact: {} lines, head {}.",
        path.display(),
        verified.lines,
        verified.head
    );
    if args.expect_head.is_some() {
        println!("It ends at the expected head.");
    } else {
        eprintln!("Lines cut from the end of a log cannot be detected without the head recorded when they were written: compare the head with your ceremony minutes, or give it with --expect-head.");
    }
    Ok(())
}

/// The log file for this run: `--log`, else `QUORUM_LOG`, else ./quorum-log.jsonl; `None` with `--no-log`.
pub fn log_target(cli: &Cli) -> Option<PathBuf> {
    log::log_path(
        cli.log.as_deref(),
        std::env::var_os(log::LOG_ENV).as_deref(),
        cli.no_log,
    )
}

/// Appends a command's entry to this run's log (nothing with `--no-log`) and tells the
/// people at the table the new head, which belongs in the ceremony minutes.
pub fn log_command(cli: &Cli, entry: &Entry) -> Result<Option<Appended>, LogError> {
    let Some(path) = log_target(cli) else {
        return Ok(None);
    };
    let appended = Log::open(&path)?.append(entry)?;
    eprintln!(
        "Logged as line {} of {}; the log's head is now {} (note it in the ceremony minutes).",
        appended.seq,
        path.display(),
        appended.hash
    );
    Ok(Some(appended))
}
