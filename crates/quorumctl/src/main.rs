//! quorumctl: the command-line front of the quorum library. Parsing, then one call into
//! `quorum_ceremony` per subcommand, then reporting; no protocol or crypto here.

mod audit;
mod cli;
mod exit;
mod hardening;
mod memlock;
mod prompt;
mod report;
mod signals;

use std::io::{self, IsTerminal};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;

use exit::{Exit, ExitStatus};
use prompt::Keyboard;
use quorum_card::readers::Readers;
use quorum_ceremony::add_card::{add_card, AddCardRequest};
use quorum_ceremony::bundle_file::{BundleFile, BundleUpdate};
use quorum_ceremony::change_pin::change_pin;
use quorum_ceremony::enroll::{enroll, EnrollRequest, EnrolledCardReport};
use quorum_ceremony::init::init;
use quorum_ceremony::inspect::{
    list_readers, summarize, CardSummary, Exported, Found, SetMembership,
};
use quorum_ceremony::log::{
    CardEntry, CardOutcome, Entry, Evidence, Fingerprint, Log, Message, Outcome, SetRef,
};
use quorum_ceremony::pins::{pin_table, PinProvider};
use quorum_ceremony::recover::{recover, Anchor, RecoverRequest};
use quorum_ceremony::reset::{reset_card, Confirmation};
use quorum_ceremony::reshare::{reshare, ReshareRequest};
use quorum_ceremony::secret_io::{
    check_writable, read_master, write_private_file, write_stdout, MasterSource, SecretIoError,
};
use quorum_ceremony::share::SeenCard;
use quorum_ceremony::verify::{verify, CardCheck, VerifyRequest};
use quorum_ceremony::{
    choose_reader, resolve_reader, CardsFrom, CeremonyError, Journal, PinPolicy,
};
use quorum_pcsc::PcscContext;
use quorum_protocol::bundle::Bundle;
use quorum_protocol::crypto::anchor::parse_digest_prefix;
use quorum_protocol::crypto::CardKey;
use quorum_protocol::crypto::{KeyCheck, SetDigest};
use quorum_protocol::pin::RetryLimit;
use quorum_protocol::record::{self, PublicRecord};

use serde_json::{json, Value};

use report::Report;

use cli::{
    AddCardArgs, CardArgs, ChangePinArgs, Cli, Command, EnrollArgs, ExportArgs, InitArgs, PinArgs,
    RecoverArgs, ResetArgs, ReshareArgs, SwapArgs, VerifyArgs,
};

fn main() -> ExitCode {
    let hardening = hardening::harden_process();
    signals::install();
    let cli = Cli::parse();
    let mut report = Report::new(command_name(&cli.command), cli.json);
    if let Some(outcome) = audit::run(&cli, &mut report) {
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
                    format!("{e}. Nothing was done: the ceremony did not start"),
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
    if let Some(command) = ceremony {
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
        };
        match audit::log_command(&cli, &entry) {
            Ok(Some(appended)) => report.set(
                "log",
                json!({ "line": appended.seq, "head": appended.hash.to_string() }),
            ),
            Ok(None) => {}
            Err(e) => eprintln!("warning: the ceremony could not be appended to its log: {e}"),
        }
    }
    report.finish(result.map_err(|e| {
        let status = if stopped {
            ExitStatus::Interrupted
        } else {
            e.exit_status()
        };
        (status, e.to_string(), report::causes(&e))
    }))
}

/// The ceremony log's side of a writing ceremony (enroll, reshare): the `started` line
/// before the first card is written, and the cards written, so that the last line of a
/// ceremony that did not finish says which cards changed.
struct LogJournal<'a> {
    cli: &'a Cli,
    command: &'static str,
    set: Option<SetRef>,
    planned: Vec<Fingerprint>,
    written: Vec<Fingerprint>,
}

impl<'a> LogJournal<'a> {
    fn new(cli: &'a Cli, command: &'static str) -> LogJournal<'a> {
        LogJournal {
            cli,
            command,
            set: None,
            planned: Vec::new(),
            written: Vec::new(),
        }
    }

    /// After a ceremony that did not finish: the set it was writing and every card it
    /// meant to write, `ok` when confirmed written, `pending` otherwise.
    fn unfinished(self, logged: &mut Logged) {
        if self.set.is_none() {
            return;
        }
        logged.set = self.set;
        let outcomes =
            quorum_ceremony::log::evidence::unfinished_cards(&self.planned, &self.written);
        for (fingerprint, outcome) in self.planned.into_iter().zip(outcomes) {
            logged.cards.push(CardEntry {
                fingerprint,
                outcome,
            });
        }
    }
}

impl Journal for LogJournal<'_> {
    fn starting(&mut self, record: &PublicRecord, cards: &[CardKey]) -> Result<(), String> {
        let set = SetRef::from_record(record);
        self.set = Some(set.clone());
        self.planned = cards.iter().map(Fingerprint::of).collect();
        let Some(path) = audit::log_target(self.cli) else {
            return Ok(());
        };
        let entry = Entry {
            command: self.command,
            set: Some(set),
            key_check: None,
            cards: self
                .planned
                .iter()
                .map(|fingerprint| CardEntry {
                    fingerprint: fingerprint.clone(),
                    outcome: CardOutcome::Pending,
                })
                .collect(),
            outcome: Outcome::Started,
        };
        let appended = Log::open(&path)
            .and_then(|log| log.append(&entry))
            .map_err(|e| e.to_string())?;
        eprintln!(
            "Logged the start of the write phase as line {} of {} (if the ceremony is cut short, `--replace-unfinished` relies on it).",
            appended.seq,
            path.display()
        );
        Ok(())
    }

    fn written(&mut self, card: &CardKey) {
        self.written.push(Fingerprint::of(card));
    }

    fn records(&self) -> bool {
        audit::log_target(self.cli).is_some()
    }
}

/// The evidence `--replace-unfinished` needs: the ceremony log, which must be on.
fn replace_evidence(cli: &Cli, asked: bool) -> Result<Option<Evidence>, CeremonyError> {
    if !asked {
        return Ok(None);
    }
    let Some(path) = audit::log_target(cli) else {
        return Err(CeremonyError::Usage(
            "--replace-unfinished recognises an unfinished set by the ceremony log's record of its start, and --no-log turns the log off; run it with the log the interrupted ceremony used (--log FILE), or factory-reset each card (`quorumctl reset-card`) and personalise it again (`quorumctl init`); nothing was done".to_owned(),
        ));
    };
    Evidence::read(&path).map(Some).map_err(|e| {
        CeremonyError::Usage(format!(
            "--replace-unfinished needs the ceremony log: {e}; nothing was done"
        ))
    })
}

/// The command's name in `--json` output and the log.
fn command_name(command: &Command) -> &'static str {
    match command {
        Command::Readers => "readers",
        Command::Status(_) => "status",
        Command::ExportBundle(_) => "export-bundle",
        Command::Inspect(_) => "inspect",
        Command::Log(_) => "log verify",
        other => ceremony_name(other).expect("every other command is a ceremony"),
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
        | Command::Log(_) => None,
    }
}

/// What a successful ceremony tells the log: the set and every card with its outcome.
#[derive(Default)]
struct Logged {
    set: Option<SetRef>,
    key_check: Option<KeyCheck>,
    cards: Vec<CardEntry>,
}

impl Logged {
    fn card(&mut self, fingerprint: &str, outcome: CardOutcome) {
        if let Ok(fingerprint) = Fingerprint::parse(fingerprint) {
            self.cards.push(CardEntry {
                fingerprint,
                outcome,
            });
        }
    }

    /// Every identified card of a ceremony that skips the cards it cannot use.
    fn seen(&mut self, cards: &[SeenCard]) {
        for c in cards {
            if let Some(fp) = &c.who.fingerprint {
                let outcome = if c.used {
                    CardOutcome::Ok
                } else {
                    CardOutcome::Skipped
                };
                self.card(fp, outcome);
            }
        }
    }
}

/// One card of the final summary: used or skipped, which card, where, what happened.
fn seen_line(c: &SeenCard) -> String {
    format!(
        "  {} {} in \"{}\": {}",
        if c.used { "used   " } else { "skipped" },
        c.who.text,
        c.reader,
        c.note
    )
}

/// The cards of the final summary, as `--json` shows them.
fn seen_json(cards: &[SeenCard]) -> Value {
    Value::Array(
        cards
            .iter()
            .map(|c| {
                json!({
                    "fingerprint": c.who.fingerprint,
                    "reader": c.reader,
                    "result": if c.used { "used" } else { "skipped" },
                    "note": c.note,
                })
            })
            .collect(),
    )
}

fn run(
    cli: &Cli,
    trace: bool,
    logged: &mut Logged,
    report: &mut Report,
) -> Result<(), CeremonyError> {
    match &cli.command {
        Command::Readers => readers(trace, report),
        Command::Status(args) => status(args, trace, report),
        Command::ExportBundle(args) => export_bundle(args, trace, report),
        Command::Init(args) => init_card(args, trace, logged, report),
        Command::Enroll(args) => enroll_set(cli, args, trace, logged, report),
        Command::Recover(args) => recover_set(args, trace, cli.stats, logged, report),
        Command::Verify(args) => verify_cards(args, trace, logged, report),
        Command::AddCard(args) => add_new_card(args, trace, logged, report),
        Command::Reshare(args) => reshare_set(cli, args, trace, logged, report),
        Command::ChangePin(args) => change(args, trace, logged, report),
        Command::ResetCard(args) => reset(args, trace, logged, report),
        Command::Inspect(_) | Command::Log(_) => unreachable!("answered by audit::run"),
    }
}

fn readers(trace: bool, report: &mut Report) -> Result<(), CeremonyError> {
    let ctx = PcscContext::establish()?;
    let mut all = Vec::new();
    for r in list_readers(&ctx, trace)? {
        report.line(format!("{}: {}", r.reader, r.card));
        let card = match &r.card {
            Found::Empty => json!(null),
            Found::NoApplet => json!({ "applet": false }),
            Found::Unreadable(why) => json!({ "applet": null, "error": why }),
            Found::Quorum(summary) => card_json(summary),
        };
        all.push(json!({ "reader": r.reader, "card": card }));
    }
    report.set("readers", Value::Array(all));
    Ok(())
}

/// A card's public information as `--json` shows it.
fn card_json(summary: &CardSummary) -> Value {
    json!({
        "applet": true,
        "state": summary.state.name(),
        "blocked": summary.blocked,
        "tries_left": summary.tries_left,
        "retry_limit": summary.retry_limit,
        "capacity": summary.capacity,
        "fingerprint": summary.fingerprint,
        "set": summary.set.as_ref().map(set_json),
    })
}

/// A card's set and place in it, as `--json` shows it.
fn set_json(set: &SetMembership) -> Value {
    json!({
        "label": set.label,
        "set_id": set.set_id,
        "set_version": set.set_version,
        "threshold": set.threshold,
        "count": set.count,
        "index": set.index,
        "custodian": set.custodian,
        "set_digest": set.digest.to_hex(),
        "key_check": set.key_check.to_hex(),
    })
}

/// The log's name for a set a ceremony reported, with its digest.
fn set_ref(set: &SetMembership) -> Option<SetRef> {
    SetRef::from_hex(&set.set_id, &set.label)
        .ok()
        .map(|s| s.with_digest(set.digest))
}

fn status(args: &CardArgs, trace: bool, report: &mut Report) -> Result<(), CeremonyError> {
    let ctx = PcscContext::establish()?;
    let reader = choose_reader(&ctx, args.reader.as_deref())?;
    let summary = summarize(&ctx, &reader, trace)?;
    report.line(format!("Reader:      {reader}"));
    report.line(format!("State:       {}", summary.state.name()));
    report.line(format!(
        "PIN:         {}",
        if summary.blocked {
            "BLOCKED".to_owned()
        } else {
            format!(
                "{} of {} tries left",
                summary.tries_left, summary.retry_limit
            )
        }
    ));
    report.line(format!("Capacity:    {} bytes", summary.capacity));
    if let Some(fp) = &summary.fingerprint {
        report.line(format!("Fingerprint: {fp}"));
    }
    if let Some(set) = &summary.set {
        report.line(format!(
            "Set:         \"{}\" ({}-of-{}), version {}",
            set.label, set.threshold, set.count, set.set_version
        ));
        report.line(format!("Set id:      {}", set.set_id));
        report.line(format!("Set digest:  {}", set.digest));
        report.line(format!("Key check:   {}", set.key_check));
        report.line(format!("Custodian:   {} \"{}\"", set.index, set.custodian));
    }
    report.set("reader", json!(reader));
    report.set("card", card_json(&summary));
    Ok(())
}

/// The PINs typed or stored on this computer: a PIN file or descriptor when given, else
/// the keyboard.
fn pin_source(args: &PinArgs) -> Result<Box<dyn PinProvider>, CeremonyError> {
    let fd = match args.pin_fd {
        Some(fd) if fd < 0 => {
            return Err(CeremonyError::Usage(format!(
                "--pin-fd {fd}: a file descriptor is a number of 0 or more"
            )))
        }
        Some(fd) => Some(fd as u32),
        None => None,
    };
    Ok(match pin_table(args.pin_file.as_deref(), fd)? {
        Some(table) => Box::new(table),
        None => Box::new(Keyboard),
    })
}

fn pin_policy<'a>(args: &PinArgs, source: &'a dyn PinProvider) -> PinPolicy<'a> {
    PinPolicy {
        source,
        no_pinpad: args.no_pinpad,
        pinpad_timeout: args.pinpad_timeout,
    }
}

fn init_card(
    args: &InitArgs,
    trace: bool,
    logged: &mut Logged,
    report: &mut Report,
) -> Result<(), CeremonyError> {
    let limit = RetryLimit::new(args.retries)?;
    let pins = pin_source(&args.pins)?;
    let ctx = PcscContext::establish()?;
    let reader = choose_reader(&ctx, args.card.reader.as_deref())?;
    let mut err = io::stderr();
    let done = init(
        &ctx,
        &reader,
        limit,
        &pin_policy(&args.pins, pins.as_ref()),
        trace,
        &mut err,
    )?;
    logged.card(&done.key.fingerprint(), CardOutcome::Ok);
    eprintln!("The key pair was generated on the card; its private key never leaves it.");
    report.line(format!(
        "Card personalised in \"{}\" (PIN retry limit {}). Fingerprint: {}",
        done.reader,
        done.retry_limit,
        done.key.fingerprint()
    ));
    report.set("reader", json!(done.reader));
    report.set("fingerprint", json!(done.key.fingerprint()));
    report.set("retry_limit", json!(done.retry_limit));
    Ok(())
}

fn parse_names(names: &[String]) -> Result<Vec<(String, String)>, CeremonyError> {
    names
        .iter()
        .map(|n| match n.split_once('=') {
            Some((fp, name)) if !fp.trim().is_empty() => Ok((fp.trim().to_owned(), name.to_owned())),
            _ => Err(CeremonyError::Usage(format!("--name {n:?}: write it as FINGERPRINT=NAME (fingerprints are shown by init and status)"))),
        })
        .collect()
}

/// A custodian name as the record takes it, refused before any card is touched.
fn check_custodian_name(option: &str, name: &str) -> Result<(), CeremonyError> {
    record::check_name(name, 0).map_err(|_| {
        CeremonyError::Usage(format!(
            "{option}: a custodian name is at most {} bytes of printable UTF-8 (no control or format characters); nothing was done",
            record::MAX_NAME_LEN
        ))
    })
}

/// The set options every card would refuse, checked before any card is asked for a PIN:
/// the label and names against the record's text rules, the threshold against --shares.
fn check_set_options(
    label: &str,
    names: &[(String, String)],
    threshold: u8,
    shares: Option<u8>,
    allow_single_card: bool,
) -> Result<(), CeremonyError> {
    record::check_label(label)
        .map_err(|e| CeremonyError::Usage(format!("--label: {e}; nothing was done")))?;
    for (fp, name) in names {
        check_custodian_name(&format!("--name {fp}={name:?}"), name)?;
    }
    if let Some(m) = shares {
        if threshold > m {
            return Err(CeremonyError::Usage(format!(
                "--threshold {threshold} is more than the {m} cards of --shares: a set of {m} cards can need at most {m}; nothing was done"
            )));
        }
    }
    if threshold == 1 {
        if !allow_single_card {
            return Err(CeremonyError::Usage(
                "--threshold 1 means any one card, with its PIN, recovers the master alone, with no quorum to protect it; if that is what you want, add --allow-single-card; nothing was done".to_owned(),
            ));
        }
        eprintln!("Warning: threshold 1: each card of this set, with its PIN, recovers the master secret on its own.");
    }
    Ok(())
}

fn default_bundle_path(label: &str) -> PathBuf {
    let safe: String = label
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    PathBuf::from(format!("{safe}.quorum.json"))
}

fn enroll_set(
    cli: &Cli,
    args: &EnrollArgs,
    trace: bool,
    logged: &mut Logged,
    report: &mut Report,
) -> Result<(), CeremonyError> {
    let stats = cli.stats;
    let names = parse_names(&args.names)?;
    let evidence = replace_evidence(cli, args.replace_unfinished)?;
    require_count(&args.cards, args.shares, "the number of cards to enroll")?;
    check_set_options(
        &args.label,
        &names,
        args.threshold,
        args.shares,
        args.allow_single_card,
    )?;
    if args.out.is_some() && args.generate.is_none() {
        return Err(CeremonyError::Usage("--out is where a --generate'd secret goes; with --in or standard input you already hold the secret".to_owned()));
    }
    let bundle_path = args
        .bundle
        .clone()
        .unwrap_or_else(|| default_bundle_path(&args.label));
    check_writable(&bundle_path, args.force)?;
    if let Some(out) = &args.out {
        check_writable(out, args.force)?;
    }
    let pins = pin_source(&args.pins)?;
    let source = match (&args.input, args.generate) {
        (Some(path), _) => MasterSource::File(path.clone()),
        (None, Some(len)) => MasterSource::Generate(usize::from(len)),
        (None, None) => MasterSource::Stdin,
    };
    let master = read_master(&source)?;
    let ctx = PcscContext::establish()?;
    let from = cards_from(&ctx, &args.cards)?;
    let request = EnrollRequest {
        master: &master,
        threshold: args.threshold,
        count: args.shares,
        label: &args.label,
        names: &names,
        from,
        pins: pin_policy(&args.pins, pins.as_ref()),
        trace,
        stats,
        replace_unfinished: evidence.as_ref(),
        interrupt: &signals::INTERRUPTED,
    };
    let mut err = io::stderr();
    let mut journal = LogJournal::new(cli, "enroll");
    let outcome = match enroll(&ctx, &request, &mut journal, &mut err) {
        Ok(outcome) => outcome,
        Err(e) => {
            journal.unfinished(logged);
            return Err(e);
        }
    };
    let record = &outcome.enrollment.cards[0].record;
    logged.set = Some(SetRef::from_record(record));
    logged.key_check = Some(record.key_check);
    for c in &outcome.cards {
        logged.card(&c.fingerprint, CardOutcome::Ok);
    }
    let bundle = Bundle::from_enrollment(&outcome.enrollment);
    bundle.write(&bundle_path, args.force).map_err(|e| {
        CeremonyError::Unfinished(format!(
            "the set is enrolled on every card, but the bundle could not be written: {e}. Every card carries the set description, so nothing is lost: fix the cause and write the bundle from the cards with `quorumctl export-bundle`"
        ))
    })?;
    if let Some(out) = &args.out {
        write_private_file(out, &master, args.force).map_err(|e| {
            CeremonyError::Unfinished(format!(
                "the set is enrolled on every card, but the generated secret could not be written: {e}. Nothing is lost: recover it from the cards with `quorumctl recover --out FILE`"
            ))
        })?;
    }
    report.line(format!(
        "Enrolled set \"{}\" ({}-of-{}), id {}.",
        args.label,
        args.threshold,
        outcome.cards.len(),
        hex::encode(outcome.enrollment.set_id)
    ));
    for c in &outcome.cards {
        report.line(format!(
            "  custodian {} \"{}\": card {} (written, read back and opened in \"{}\")",
            c.index, c.name, c.fingerprint, c.reader
        ));
    }
    report.line(format!(
        "Bundle (public set description): {}",
        bundle_path.display()
    ));
    report.line(anchor_lines(&record.set_digest(), &record.key_check));
    report.line(
        "Write both into the ceremony minutes: recover prints them again, and `recover --expect` takes the digest.",
    );
    if let Some(out) = &args.out {
        report.line(format!(
            "Generated master secret ({} bytes): {}",
            master.len(),
            out.display()
        ));
    }
    report.set(
        "set",
        set_json(&SetMembership::from_record(
            &outcome.enrollment.cards[0].record,
        )),
    );
    report.set("cards", new_cards_json(&outcome.cards));
    report.set("bundle", json!(bundle_path.display().to_string()));
    report.set(
        "generated_out",
        json!(args.out.as_ref().map(|o| o.display().to_string())),
    );
    Ok(())
}

/// The cards a ceremony wrote, as `--json` shows them.
fn new_cards_json(cards: &[EnrolledCardReport]) -> Value {
    Value::Array(
        cards
            .iter()
            .map(|c| {
                json!({
                    "index": c.index,
                    "name": c.name,
                    "fingerprint": c.fingerprint,
                    "reader": c.reader,
                    "result": "written, read back and opened",
                })
            })
            .collect(),
    )
}

/// With cards coming one after another, the number to expect must be given.
fn require_count(cards: &SwapArgs, shares: Option<u8>, what: &str) -> Result<(), CeremonyError> {
    if (cards.reader.is_some() || cards.any_reader) && shares.is_none() {
        return Err(CeremonyError::Usage(format!(
            "with --reader or --any-reader, give {what} with --shares M"
        )));
    }
    Ok(())
}

fn cards_from(ctx: &PcscContext, args: &SwapArgs) -> Result<CardsFrom, CeremonyError> {
    let timeout = args.timeout;
    Ok(match args.reader.as_deref() {
        None if args.any_reader => CardsFrom::AnyReader {
            timeout: Duration::from_secs(timeout),
        },
        None => CardsFrom::EveryReader {
            put_back: Duration::from_secs(timeout),
        },
        Some(given) => CardsFrom::OneReader {
            reader: resolve_reader(&ctx.reader_names()?, given)?,
            timeout: Duration::from_secs(timeout),
        },
    })
}

fn recover_set(
    args: &RecoverArgs,
    trace: bool,
    stats: bool,
    logged: &mut Logged,
    report: &mut Report,
) -> Result<(), CeremonyError> {
    match &args.out {
        Some(out) => check_writable(out, args.force)?,
        None if report.json() => {
            return Err(CeremonyError::Usage(
                "with --json, standard output carries the JSON result: write the secret with --out FILE".to_owned(),
            ))
        }
        None if io::stdout().is_terminal() => return Err(SecretIoError::StdoutIsTerminal.into()),
        None => {}
    }
    let anchor = recover_anchor(args)?;
    let pins = pin_source(&args.pins)?;
    let ctx = PcscContext::establish()?;
    let from = cards_from(&ctx, &args.cards)?;
    let request = RecoverRequest {
        anchor,
        from,
        pins: pin_policy(&args.pins, pins.as_ref()),
        trace,
        stats,
        interrupt: &signals::INTERRUPTED,
    };
    let mut err = io::stderr();
    let recovered = recover(&ctx, &request, &mut err)?;
    logged.set = set_ref(&recovered.set);
    logged.key_check = Some(recovered.set.key_check);
    logged.seen(&recovered.cards);
    match &args.out {
        Some(out) => write_private_file(out, &recovered.master, args.force)?,
        None => write_stdout(&recovered.master)?,
    }
    eprintln!(
        "Recovered the master secret of set \"{}\" ({}-of-{}, id {}): {} bytes, checked (it decrypts under the set's key, and the set description is authentic).",
        recovered.set.label,
        recovered.set.threshold,
        recovered.set.count,
        recovered.set.set_id,
        recovered.master.len()
    );
    for c in &recovered.cards {
        eprintln!("{}", seen_line(c));
    }
    if let Some(out) = &args.out {
        eprintln!("Written to {} (mode 0600).", out.display());
    }
    eprintln!(
        "{}",
        anchor_lines(&recovered.set.digest, &recovered.set.key_check)
    );
    eprintln!("Compare both with the ceremony minutes before the secret is used.");
    report.set("set", set_json(&recovered.set));
    report.set("set_digest", json!(recovered.set.digest.to_hex()));
    report.set("key_check", json!(recovered.set.key_check.to_hex()));
    report.set("secret_bytes", json!(recovered.master.len()));
    report.set(
        "out",
        json!(args.out.as_ref().map(|o| o.display().to_string())),
    );
    report.set("cards", seen_json(&recovered.cards));
    Ok(())
}

fn reset(
    args: &ResetArgs,
    trace: bool,
    logged: &mut Logged,
    report: &mut Report,
) -> Result<(), CeremonyError> {
    if args.confirm.is_none() && !io::stdin().is_terminal() {
        return Err(CeremonyError::Usage(
            "reset-card destroys the card's key and share: confirm on a terminal, or give --confirm FINGERPRINT".to_owned(),
        ));
    }
    let ctx = PcscContext::establish()?;
    let reader = choose_reader(&ctx, args.card.reader.as_deref())?;
    let mut ask = |prompt: &str| -> io::Result<String> {
        eprint!("{prompt}");
        let mut line = String::new();
        io::stdin().read_line(&mut line)?;
        Ok(line)
    };
    let confirmation = match &args.confirm {
        Some(fp) => Confirmation::Given(fp),
        None => Confirmation::Ask(&mut ask),
    };
    let done = reset_card(&ctx, &reader, confirmation, trace, &mut io::stderr())?;
    if let Some(set) = &done.before.set {
        logged.set = set_ref(set);
    }
    logged.card(
        done.before.fingerprint.as_deref().unwrap_or(""),
        CardOutcome::Ok,
    );
    report.line(format!(
        "Card {} in \"{reader}\" was factory-reset: its key, PIN and record are erased; it is blank now (personalise it again with `quorumctl init`).",
        done.before.fingerprint.as_deref().unwrap_or("")
    ));
    report.set("reader", json!(reader));
    report.set("fingerprint", json!(done.before.fingerprint));
    report.set("set", json!(done.before.set.as_ref().map(set_json)));
    report.set("state", json!("BLANK"));
    Ok(())
}

fn change(
    args: &ChangePinArgs,
    trace: bool,
    logged: &mut Logged,
    report: &mut Report,
) -> Result<(), CeremonyError> {
    let pins = pin_source(&args.pins)?;
    let new = args
        .new_pin_file
        .as_deref()
        .map(|p| pin_table(Some(p), None))
        .transpose()?
        .flatten();
    let ctx = PcscContext::establish()?;
    let reader = choose_reader(&ctx, args.card.reader.as_deref())?;
    let fingerprint = change_pin(
        &ctx,
        &reader,
        &pin_policy(&args.pins, pins.as_ref()),
        new.as_ref().map(|t| t as &dyn PinProvider),
        trace,
        &mut io::stderr(),
    )?;
    logged.card(&fingerprint, CardOutcome::Ok);
    report.line(format!(
        "The PIN of card {fingerprint} in \"{reader}\" was changed."
    ));
    report.set("reader", json!(reader));
    report.set("fingerprint", json!(fingerprint));
    Ok(())
}

fn verify_cards(
    args: &VerifyArgs,
    trace: bool,
    logged: &mut Logged,
    report: &mut Report,
) -> Result<(), CeremonyError> {
    let bundle = args.bundle.as_deref().map(read_bundle).transpose()?;
    let pins = pin_source(&args.pins)?;
    let ctx = PcscContext::establish()?;
    let from = cards_from(&ctx, &args.cards)?;
    let request = VerifyRequest {
        bundle: bundle.as_ref(),
        from,
        count: usize::from(args.count),
        pins: pin_policy(&args.pins, pins.as_ref()),
        trace,
        no_open: args.no_open,
        interrupt: &signals::INTERRUPTED,
    };
    let checks = verify(&ctx, &request, &mut io::stderr())?;
    for c in &checks {
        if let Some(fp) = &c.who.fingerprint {
            logged.card(
                fp,
                if c.ok {
                    CardOutcome::Ok
                } else {
                    CardOutcome::Failed
                },
            );
        }
        if logged.set.is_none() {
            if let Some(set) = &c.set {
                logged.set = set_ref(set);
            }
        }
    }
    report.line(format!("Health check of {} card(s):", checks.len()));
    for c in &checks {
        report.line(format!(
            "  {} {} in \"{}\": {}",
            if c.ok { "ok    " } else { "FAILED" },
            c.who.text,
            c.reader,
            c.note
        ));
    }
    let mut shown: Vec<SetDigest> = Vec::new();
    for set in checks.iter().filter_map(|c| c.set.as_ref()) {
        if !shown.contains(&set.digest) {
            shown.push(set.digest);
            report.line(format!("Set \"{}\" as the cards describe it:", set.label));
            report.line(anchor_lines(&set.digest, &set.key_check));
        }
    }
    report.set(
        "cards",
        Value::Array(
            checks
                .iter()
                .map(|c| {
                    json!({
                        "fingerprint": c.who.fingerprint,
                        "reader": c.reader,
                        "result": if c.ok { "healthy" } else { "failed" },
                        "set": c.set.as_ref().map(set_json),
                        "note": c.note,
                    })
                })
                .collect(),
        ),
    );
    let failed: Vec<&CardCheck> = checks.iter().filter(|c| !c.ok).collect();
    if !failed.is_empty() {
        let message = format!(
            "{} of {} card(s) failed the health check; see above for each card and what to do",
            failed.len(),
            checks.len()
        );
        // a PIN that did not go through is the custodian's to fix, not the card's
        return Err(if failed.iter().all(|c| c.pin_failed) {
            CeremonyError::PinsFailed(message)
        } else {
            CeremonyError::CardsFailed(message)
        });
    }
    Ok(())
}

/// Reads the bundle a ceremony starts from; a bundle problem is the user's to fix.
fn read_bundle(path: &std::path::Path) -> Result<Bundle, CeremonyError> {
    Bundle::read(path).map_err(|source| CeremonyError::Bundle {
        path: path.to_path_buf(),
        source,
    })
}

/// A bundle with its records decoded and its newest record (parsing checked that they are
/// versions of one set, so the highest version is the newest).
fn read_bundle_records(
    path: &std::path::Path,
) -> Result<(Bundle, Vec<PublicRecord>, PublicRecord), CeremonyError> {
    let bundle = read_bundle(path)?;
    let records = bundle
        .decoded_records()
        .map_err(|source| CeremonyError::Bundle {
            path: path.to_path_buf(),
            source,
        })?;
    let newest = records
        .iter()
        .max_by_key(|r| r.set_version)
        .expect("a parsed bundle holds at least one record")
        .clone();
    Ok((bundle, records, newest))
}

fn add_new_card(
    args: &AddCardArgs,
    trace: bool,
    logged: &mut Logged,
    report: &mut Report,
) -> Result<(), CeremonyError> {
    if let Some(name) = &args.name {
        check_custodian_name(&format!("--name {name:?}"), name)?;
    }
    let (bundle, bundle_records, base) = read_bundle_records(&args.bundle)?;
    // Where the new version goes, checked before any card is touched.
    let update = BundleUpdate::plan(
        &args.bundle,
        args.out_bundle.as_deref(),
        base.set_version,
        args.force,
    )?;
    let pins = pin_source(&args.pins)?;
    let ctx = PcscContext::establish()?;
    let from = cards_from(&ctx, &args.cards)?;
    let request = AddCardRequest {
        base: &base,
        bundle_records: &bundle_records,
        new_card: args.new_card.as_deref(),
        name: args.name.as_deref(),
        from,
        pins: pin_policy(&args.pins, pins.as_ref()),
        trace,
        interrupt: &signals::INTERRUPTED,
    };
    logged.set = Some(SetRef::from_record(&base));
    logged.key_check = Some(base.key_check);
    let done = add_card(&ctx, &request, &mut io::stderr())?;
    logged.seen(&done.cards);
    update
        .write(&bundle, std::slice::from_ref(&done.card.public), args.force)
        .map_err(|source| CeremonyError::BundleNotUpdated {
            version: done.card.record.set_version,
            source,
        })?;
    let record = &done.card.record;
    let custodian = record
        .custodian(record.index)
        .expect("a written record lists its own index");
    report.line(format!(
        "Added custodian {} \"{}\" to set \"{}\" ({}-of-{}), now version {}: card {} in \"{}\".",
        record.index,
        custodian.name,
        record.label,
        record.threshold,
        record.custodians.len(),
        record.set_version,
        custodian.card_key.fingerprint(),
        done.reader
    ));
    for c in &done.cards {
        report.line(seen_line(c));
    }
    report.line(format!(
        "Bundle (version {}): {}",
        record.set_version,
        update.target.display()
    ));
    if let Some(backup) = &update.backup {
        report.line(format!("Previous bundle kept as {}.", backup.display()));
    }
    report.line(format!(
        "The set keeps its digest (add-card only appends a custodian):\n{}",
        anchor_lines(&record.set_digest(), &record.key_check)
    ));
    report.set("set", set_json(&SetMembership::from_record(record)));
    report.set(
        "new_card",
        json!({
            "index": record.index,
            "name": custodian.name,
            "fingerprint": custodian.card_key.fingerprint(),
            "reader": done.reader,
        }),
    );
    report.set("cards", seen_json(&done.cards));
    report.set("bundle", json!(update.target.display().to_string()));
    report.set(
        "previous_bundle",
        json!(update.backup.as_ref().map(|b| b.display().to_string())),
    );
    Ok(())
}

/// The set `recover` is bound to, from --bundle, --expect or --set; checked before any card is touched.
fn recover_anchor(args: &RecoverArgs) -> Result<Anchor, CeremonyError> {
    let expect = args
        .expect
        .as_deref()
        .map(|e| {
            parse_digest_prefix(e).map_err(|err| CeremonyError::Usage(format!("--expect: {err}")))
        })
        .transpose()?;
    if let Some(path) = &args.bundle {
        let (_, records, newest) = read_bundle_records(path)?;
        let digest = newest.set_digest();
        if let Some(prefix) = &expect {
            if !digest.starts_with(prefix) {
                return Err(CeremonyError::Usage(format!(
                    "--expect {prefix} is not the set digest of the bundle {} ({digest}): check which set you mean; no card was touched",
                    path.display()
                )));
            }
        }
        return Ok(Anchor::Bundle {
            digest,
            newest,
            records,
        });
    }
    Ok(match (expect, &args.set) {
        (Some(prefix), _) => Anchor::Digest(prefix),
        (None, Some(name)) => Anchor::Named(name.clone()),
        (None, None) => Anchor::None,
    })
}

/// The two lines people compare with the ceremony minutes, read aloud.
fn anchor_lines(digest: &SetDigest, key_check: &KeyCheck) -> String {
    format!("  Set digest: {digest}\n  Key check:  {key_check}")
}

fn parse_set_id(s: &str) -> Result<[u8; 16], CeremonyError> {
    hex::decode(s)
        .ok()
        .and_then(|b| <[u8; 16]>::try_from(b).ok())
        .ok_or_else(|| {
            CeremonyError::Usage(format!(
                "--set {s:?}: a set id is 32 hex digits, as `quorumctl status` shows"
            ))
        })
}

fn reshare_set(
    cli: &Cli,
    args: &ReshareArgs,
    trace: bool,
    logged: &mut Logged,
    report: &mut Report,
) -> Result<(), CeremonyError> {
    let names = parse_names(&args.names)?;
    let evidence = replace_evidence(cli, args.replace_unfinished)?;
    require_count(&args.cards, args.shares, "the new set's number of cards")?;
    check_set_options(
        &args.label,
        &names,
        args.threshold,
        args.shares,
        args.allow_single_card,
    )?;
    let old_set = args.set.as_deref().map(parse_set_id).transpose()?;
    let bundle_records = match args.bundle.as_deref() {
        Some(path) => read_bundle_records(path)?.1,
        None => Vec::new(),
    };
    let published = bundle_records.iter().max_by_key(|r| r.set_version);
    let new_bundle = args
        .new_bundle
        .clone()
        .unwrap_or_else(|| default_bundle_path(&args.label));
    check_writable(&new_bundle, args.force)?;
    let pins = pin_source(&args.pins)?;
    let ctx = PcscContext::establish()?;
    let from = cards_from(&ctx, &args.cards)?;
    let request = ReshareRequest {
        old_set,
        published,
        bundle_records: &bundle_records,
        threshold: args.threshold,
        count: args.shares,
        label: &args.label,
        names: &names,
        reuse: &args.reuse,
        keep_old: args.keep_old,
        from,
        pins: pin_policy(&args.pins, pins.as_ref()),
        trace,
        replace_unfinished: evidence.as_ref(),
        interrupt: &signals::INTERRUPTED,
    };
    let mut publish = |enrollment: &quorum_protocol::sharing::Enrollment| {
        Bundle::from_enrollment(enrollment)
            .write(&new_bundle, args.force)
            .map_err(|e| e.to_string())
    };
    let mut journal = LogJournal::new(cli, "reshare");
    let done = match reshare(
        &ctx,
        &request,
        &mut publish,
        &mut journal,
        &mut io::stderr(),
    ) {
        Ok(done) => done,
        Err(e) => {
            journal.unfinished(logged);
            return Err(e);
        }
    };
    let new_record = &done.enrollment.cards[0].record;
    logged.set = Some(SetRef::from_record(new_record));
    logged.key_check = Some(new_record.key_check);
    for fp in &done.opened {
        logged.card(fp, CardOutcome::Ok);
    }
    for c in &done.cards {
        logged.card(&c.fingerprint, CardOutcome::Ok);
    }
    for fp in &done.wiped {
        logged.card(fp, CardOutcome::Ok);
    }
    report.line(format!(
        "Reshared the master of set \"{}\" ({}-of-{}, id {}) to the new set \"{}\" ({}-of-{}, id {}).",
        done.old.label,
        done.old.threshold,
        done.old.count,
        done.old.set_id,
        args.label,
        args.threshold,
        done.cards.len(),
        hex::encode(done.enrollment.set_id)
    ));
    for fp in &done.opened {
        report.line(format!("  old card {fp}: share opened"));
    }
    for c in &done.cards {
        report.line(format!(
            "  new custodian {} \"{}\": card {} (written, read back and opened in \"{}\")",
            c.index, c.name, c.fingerprint, c.reader
        ));
    }
    for fp in &done.wiped {
        report.line(format!("  old card {fp}: wiped (blank now)"));
    }
    report.line(format!(
        "Where the sets stand: {}.",
        done.progress.describe()
    ));
    report.line(format!("New bundle: {}", new_bundle.display()));
    report.line(format!(
        "The old set's digest was {}; the new set's (write it into the ceremony minutes):\n{}",
        done.old.digest,
        anchor_lines(&new_record.set_digest(), &new_record.key_check)
    ));
    report.set("old_set", set_json(&done.old));
    report.set(
        "set",
        set_json(&SetMembership::from_record(
            &done.enrollment.cards[0].record,
        )),
    );
    report.set("cards", new_cards_json(&done.cards));
    report.set("opened", json!(done.opened));
    report.set("wiped", json!(done.wiped));
    report.set("state", json!(done.progress.describe()));
    report.set("bundle", json!(new_bundle.display().to_string()));
    Ok(())
}

fn export_bundle(args: &ExportArgs, trace: bool, report: &mut Report) -> Result<(), CeremonyError> {
    let set_id = args.set.as_deref().map(parse_set_id).transpose()?;
    check_writable(&args.out, args.force)?;
    let ctx = PcscContext::establish()?;
    let readers: Vec<String> = match args.reader.as_deref() {
        Some(given) => vec![resolve_reader(&ctx.reader_names()?, given)?],
        None => ctx
            .readers()?
            .into_iter()
            .filter(|r| r.card_present)
            .map(|r| r.name)
            .collect(),
    };
    let Exported {
        bundle,
        used,
        skipped,
    } = quorum_ceremony::inspect::export_bundle(&ctx, &readers, set_id, trace)?;
    bundle.write(&args.out, args.force)?;
    let summary = bundle.summary();
    report.line(format!(
        "Wrote the bundle of set \"{}\" ({}-of-{}, version {}) from {} card(s) to {}.",
        summary.label,
        summary.threshold,
        summary.count,
        summary.set_version,
        used.len(),
        args.out.display()
    ));
    for p in &used {
        report.line(format!(
            "  custodian {} (set version {}) in \"{}\"",
            p.record.index, p.record.set_version, p.reader
        ));
    }
    for s in &skipped {
        eprintln!("Skipped {s}.");
    }
    report.set("bundle", json!(args.out.display().to_string()));
    report.set(
        "summary",
        serde_json::to_value(&summary).expect("a summary always serialises"),
    );
    report.set("skipped", json!(skipped));
    Ok(())
}

#[cfg(test)]
mod tests;
