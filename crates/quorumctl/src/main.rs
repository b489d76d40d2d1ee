//! quorumctl: the command-line front of the quorum library. Parsing, then one call into
//! `quorum_ceremony` per subcommand, then reporting; no protocol or crypto here.

mod audit;
mod card_ceremonies;
mod cli;
mod exit;
mod failure;
mod generate;
mod hardening;
mod inspection;
mod memlock;
mod minutes;
mod options;
mod paperwork;
mod prompt;
mod recovery;
mod rehearsal;
mod render;
mod report;
mod set_ceremonies;
mod signals;
mod stats;
#[cfg(test)]
mod tests;
mod token_end;
mod version;
mod words;

use crate::failure::Failure;
use std::process::ExitCode;

use exit::{Exit, ExitStatus};
use quorum_ceremony::log::{Entry, Message, Outcome};

use serde_json::json;

use report::Report;

use card_ceremonies::{change, init_card, reset};
use inspection::{export_bundle, readers, status};
use minutes::Logged;
use recovery::{recover_set, verify_cards};
use set_ceremonies::{add_new_card, enroll_set, reshare_set};

use cli::{Cli, Command, PlanCommand};

fn main() -> ExitCode {
    let hardening = hardening::harden_process();
    signals::install();
    let cli = cli::parse();
    if let Command::Help(args) = &cli.command {
        return help(&args.command);
    }
    if let Command::Generate(what) = &cli.command {
        return generate::run(what);
    }
    let mut report = Report::new(command_name(&cli.command), cli.json);
    // Names the log cannot take are a usage error before anything runs: no log line.
    let provenance = match audit::provenance(&cli) {
        Ok(p) => p,
        Err(message) => return report.finish(Err((ExitStatus::Usage, message, Vec::new()))),
    };
    if let Some(outcome) = audit::run(&cli, &mut report) {
        return report.finish(outcome);
    }
    if let Command::Plan(command) = &cli.command {
        let log = audit::log_target(&cli);
        let outcome = paperwork::run(command, cli.trace, &provenance, log.as_deref(), &mut report);
        return report.finish(outcome);
    }
    let trace = cli.trace
        || std::env::var_os(quorum_card::card::TRACE_ENV)
            .is_some_and(|v| v == "1" || v == "true" || v == "yes");
    if trace {
        eprintln!("hardening: {hardening}");
    }
    let ceremony = ceremony_name(&cli.command);
    if ceremony.is_some() {
        // A damaged or unwritable log stops the ceremony before any card is touched.
        // Opening verifies the whole chain, so a ceremony never extends a tampered log.
        if let Some(path) = audit::log_target(&cli) {
            if let Err(e) = quorum_ceremony::log::Log::open(&path) {
                return report.finish(Err((
                    ExitStatus::Log,
                    format!(
                        "{}. Nothing was done: the ceremony did not start",
                        words::log::message(&e)
                    ),
                    Vec::new(),
                )));
            }
        }
    }
    if let Some(warning) = memlock::warning(&hardening, &cli.command) {
        eprintln!("{warning}");
    }
    let mut logged = Logged::default();
    let result = run(&cli, trace, &mut logged, &mut report);
    // A ceremony that failed after a stop request stopped because of it: its log line and
    // exit status say so, whatever the last step reported.
    let stopped = signals::interrupted() && result.is_err();
    // The log records what touched a card or produced a secret: options refused before any
    // card was named in the run leave no line (the minutes need no note of a typo).
    let refused_early = matches!(&result, Err(e) if !stopped
        && e.exit_status() == ExitStatus::Usage
        && logged.cards.is_empty()
        && logged.set.is_none());
    if let Some(command) = ceremony.filter(|_| !refused_early && !dry_run(&cli.command)) {
        let outcome = match &result {
            Err(e) if stopped => Outcome::Interrupted(Message::from_error(e)),
            other => Outcome::of(other),
        };
        let entry = Entry {
            command,
            set: logged.set,
            key_check: logged.key_check,
            cards: logged.cards,
            outcome,
            provenance,
        };
        match audit::log_command(&cli, &entry) {
            Ok(Some(appended)) => report.set(
                "log",
                json!({ "line": appended.seq, "head": appended.hash.to_string() }),
            ),
            Ok(None) => {}
            Err(e) => eprintln!(
                "warning: the ceremony could not be appended to its log: {}",
                words::log::message(&e)
            ),
        }
    }
    if let Err(e) = &result {
        report.error_detail(e.typed());
    }
    report.finish(result.map_err(|e| {
        let status = if stopped {
            ExitStatus::Interrupted
        } else {
            e.exit_status()
        };
        (status, e.message(), report::causes(&e))
    }))
}

/// `quorumctl help [COMMAND...]`: the long help of quorumctl or of the command named.
fn help(path: &[String]) -> ExitCode {
    let mut command = cli::command();
    for (depth, name) in path.iter().enumerate() {
        let Some(sub) = command.find_subcommand(name).cloned() else {
            eprintln!(
                "error: quorumctl has no command \"{}\"; `quorumctl help` lists its commands",
                path[..=depth].join(" ")
            );
            return ExitCode::from(ExitStatus::Usage.code());
        };
        command = sub.bin_name(format!("quorumctl {}", path[..=depth].join(" ")));
    }
    match command.print_long_help() {
        Ok(()) => ExitCode::SUCCESS,
        Err(_) => ExitCode::from(ExitStatus::Failed.code()),
    }
}

/// The command's name in `--json` output and the log.
fn command_name(command: &Command) -> &'static str {
    match command {
        Command::Readers => "readers",
        Command::Status(_) => "status",
        Command::ExportBundle(_) => "export-bundle",
        Command::Inspect(_) => "inspect",
        Command::Log(_) => "log verify",
        Command::Plan(PlanCommand::New(_)) => "plan new",
        Command::Plan(PlanCommand::Check(_)) => "plan check",
        Command::Plan(PlanCommand::Runbook(_)) => "plan runbook",
        Command::Help(_) => "help",
        Command::Generate(_) => "generate",
        other => ceremony_name(other).expect("every other command is a ceremony"),
    }
}

/// Whether the command only rehearses (`--dry-run`): it changes nothing, so it is not logged.
fn dry_run(command: &Command) -> bool {
    match command {
        Command::Init(a) => a.dry_run,
        Command::Enroll(a) => a.dry_run,
        Command::AddCard(a) => a.dry_run,
        Command::Reshare(a) => a.dry_run,
        Command::ChangePin(a) => a.dry_run,
        Command::ResetCard(a) => a.dry_run,
        _ => false,
    }
}

/// The log's name for a command that changes cards or handles the secret; `None` for
/// read-only commands, which are not logged.
fn ceremony_name(command: &Command) -> Option<&'static str> {
    match command {
        Command::Init(_) => Some("init"),
        Command::Enroll(_) => Some("enroll"),
        Command::Recover(_) => Some("recover"),
        Command::Verify(_) => Some("verify"),
        Command::AddCard(_) => Some("add-card"),
        Command::Reshare(_) => Some("reshare"),
        Command::ChangePin(_) => Some("change-pin"),
        Command::ResetCard(_) => Some("reset-card"),
        Command::Readers
        | Command::Status(_)
        | Command::ExportBundle(_)
        | Command::Inspect(_)
        | Command::Log(_)
        | Command::Plan(_)
        | Command::Help(_)
        | Command::Generate(_) => None,
    }
}

fn run(cli: &Cli, trace: bool, logged: &mut Logged, report: &mut Report) -> Result<(), Failure> {
    match &cli.command {
        Command::Readers => readers(trace, report),
        Command::Status(args) => status(args, trace, report),
        Command::ExportBundle(args) => export_bundle(args, trace, report),
        Command::Init(args) => init_card(args, trace, logged, report),
        Command::Enroll(args) => enroll_set(cli, args, trace, logged, report),
        Command::Recover(args) => recover_set(args, trace, args.stats, logged, report),
        Command::Verify(args) => verify_cards(args, trace, logged, report),
        Command::AddCard(args) => add_new_card(args, trace, logged, report),
        Command::Reshare(args) => reshare_set(cli, args, trace, logged, report),
        Command::ChangePin(args) => change(args, trace, logged, report),
        Command::ResetCard(args) => reset(args, trace, logged, report),
        Command::Inspect(_) | Command::Log(_) => unreachable!("answered by audit::run"),
        Command::Plan(_) => unreachable!("answered by paperwork::run"),
        Command::Help(_) | Command::Generate(_) => {
            unreachable!("answered before anything else")
        }
    }
}
