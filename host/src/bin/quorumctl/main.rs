//! quorumctl: the command-line front of the quorum library. Parsing, then one call into
//! `quorum::ceremony` per subcommand, then reporting; no protocol or crypto here.

mod audit;
mod cli;

use std::io::{self, IsTerminal};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;

use quorum::bundle::Bundle;
use quorum::ceremony::add_card::{add_card, AddCardRequest};
use quorum::ceremony::change_pin::change_pin;
use quorum::ceremony::enroll::{enroll, EnrollRequest};
use quorum::ceremony::init::init;
use quorum::ceremony::inspect::{list_readers, summarize};
use quorum::ceremony::recover::{recover, RecoverRequest};
use quorum::ceremony::reset::{reset_card, Confirmation};
use quorum::ceremony::reshare::{reshare, ReshareRequest};
use quorum::ceremony::verify::{verify, VerifyRequest};
use quorum::ceremony::{choose_reader, resolve_reader, CardsFrom, CeremonyError, PinPolicy};
use quorum::log::{CardEntry, CardOutcome, Entry, Fingerprint, Outcome, SetRef};
use quorum::pin::{PinSource, RetryLimit};
use quorum::secret_io::{
    check_writable, read_master, write_private_file, write_stdout, MasterSource, SecretIoError,
};
use quorum::transport::pcsc::PcscContext;

use cli::{
    AddCardArgs, ChangePinArgs, Cli, Command, EnrollArgs, InitArgs, PinArgs, RecoverArgs,
    ResetArgs, ReshareArgs, SwapArgs, VerifyArgs,
};

/// Exit code for usage errors, as clap uses.
const EXIT_USAGE: u8 = 2;

fn main() -> ExitCode {
    quorum::harden_process();
    let cli = Cli::parse();
    if let Some(code) = audit::run(&cli) {
        return code;
    }
    let trace = cli.trace
        || std::env::var_os(quorum::card::TRACE_ENV)
            .is_some_and(|v| v == "1" || v == "true" || v == "yes");
    let ceremony = ceremony_name(&cli.command);
    if ceremony.is_some() {
        // A damaged or unwritable log stops the ceremony before any card is touched.
        // The whole chain is checked, so a ceremony never extends a log that was tampered with.
        if let Some(path) = audit::log_target(&cli) {
            let check = if path.exists() {
                quorum::log::verify(&path, None).map(drop)
            } else {
                quorum::log::Log::open(&path).map(drop)
            };
            if let Err(e) = check {
                eprintln!(
                    "error: the ceremony log {} cannot be extended: {e}. Nothing was done; inspect it with `quorumctl log verify`, or choose another log with --log",
                    path.display()
                );
                return ExitCode::from(1);
            }
        }
    }
    let mut logged = Logged::default();
    let result = run(&cli, trace, &mut logged);
    if let Some(command) = ceremony {
        let entry = Entry {
            command,
            set: logged.set,
            cards: logged.cards,
            outcome: Outcome::of(&result),
        };
        if let Err(e) = audit::log_command(&cli, &entry) {
            eprintln!("warning: the ceremony could not be appended to its log: {e}");
        }
    }
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            let mut source = std::error::Error::source(&e);
            while let Some(s) = source {
                if !e.to_string().contains(&s.to_string()) {
                    eprintln!("  caused by: {s}");
                }
                source = s.source();
            }
            ExitCode::from(if matches!(e, CeremonyError::Usage(_)) {
                EXIT_USAGE
            } else {
                1
            })
        }
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
        Command::Readers | Command::Status(_) | Command::Inspect(_) | Command::Log(_) => None,
    }
}

/// What a successful ceremony tells the log: the set and every card with its outcome.
#[derive(Default)]
struct Logged {
    set: Option<SetRef>,
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
}

fn run(cli: &Cli, trace: bool, logged: &mut Logged) -> Result<(), CeremonyError> {
    match &cli.command {
        Command::Readers => readers(trace),
        Command::Status(args) => {
            let ctx = PcscContext::establish()?;
            let reader = choose_reader(&ctx, args.reader.as_deref())?;
            let summary = summarize(&ctx, &reader, trace)?;
            println!("Reader:      {reader}");
            println!("State:       {}", summary.state.name());
            println!(
                "PIN:         {}",
                if summary.blocked {
                    "BLOCKED".to_owned()
                } else {
                    format!(
                        "{} of {} tries left",
                        summary.tries_left, summary.retry_limit
                    )
                }
            );
            println!("Capacity:    {} bytes", summary.capacity);
            if let Some(fp) = &summary.fingerprint {
                println!("Fingerprint: {fp}");
            }
            if let Some(set) = &summary.set {
                println!(
                    "Set:         \"{}\" ({}-of-{}), version {}",
                    set.label, set.threshold, set.count, set.set_version
                );
                println!("Set id:      {}", set.set_id);
                println!("Custodian:   {} \"{}\"", set.index, set.custodian);
            }
            Ok(())
        }
        Command::Init(args) => init_card(args, trace, logged),
        Command::Enroll(args) => enroll_set(args, trace, cli.stats, logged),
        Command::Recover(args) => recover_set(args, trace, cli.stats, logged),
        Command::Verify(args) => verify_cards(args, trace, logged),
        Command::AddCard(args) => add_new_card(args, trace, logged),
        Command::Reshare(args) => reshare_set(args, trace, logged),
        Command::ChangePin(args) => change(args, trace, logged),
        Command::ResetCard(args) => reset(args, trace, logged),
        Command::Inspect(_) | Command::Log(_) => unreachable!("answered by audit::run"),
    }
}

fn readers(trace: bool) -> Result<(), CeremonyError> {
    let ctx = PcscContext::establish()?;
    for report in list_readers(&ctx, trace)? {
        println!("{}: {}", report.reader, report.card);
    }
    Ok(())
}

fn pin_source(args: &PinArgs) -> Result<PinSource, CeremonyError> {
    let fd = match args.pin_fd {
        Some(fd) if fd < 0 => {
            return Err(CeremonyError::Usage(format!(
                "--pin-fd {fd}: a file descriptor is a number of 0 or more"
            )))
        }
        Some(fd) => Some(fd as u32),
        None => None,
    };
    Ok(PinSource::from_options(args.pin_file.as_deref(), fd)?)
}

fn pin_policy<'a>(args: &PinArgs, source: &'a PinSource) -> PinPolicy<'a> {
    PinPolicy {
        source,
        no_pinpad: args.no_pinpad,
        pinpad_timeout: args.pinpad_timeout,
    }
}

fn init_card(args: &InitArgs, trace: bool, logged: &mut Logged) -> Result<(), CeremonyError> {
    let limit = RetryLimit::new(args.retries)?;
    let pins = pin_source(&args.pins)?;
    let ctx = PcscContext::establish()?;
    let reader = choose_reader(&ctx, args.card.reader.as_deref())?;
    let mut err = io::stderr();
    let done = init(
        &ctx,
        &reader,
        limit,
        &pin_policy(&args.pins, &pins),
        trace,
        &mut err,
    )?;
    logged.card(&done.key.fingerprint(), CardOutcome::Ok);
    eprintln!("The key pair was generated on the card; its private key never leaves it.");
    println!(
        "Card personalised in \"{}\" (PIN retry limit {}). Fingerprint: {}",
        done.reader,
        done.retry_limit,
        done.key.fingerprint()
    );
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
    args: &EnrollArgs,
    trace: bool,
    stats: bool,
    logged: &mut Logged,
) -> Result<(), CeremonyError> {
    let names = parse_names(&args.names)?;
    if args.cards.reader.is_some() && args.shares.is_none() {
        return Err(CeremonyError::Usage(
            "with --reader, give the number of cards to enroll with --shares M".to_owned(),
        ));
    }
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
        (None, Some(len)) => MasterSource::Generate(len),
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
        pins: pin_policy(&args.pins, &pins),
        trace,
        stats,
    };
    let mut err = io::stderr();
    let outcome = enroll(&ctx, &request, &mut err)?;
    logged.set = Some(SetRef::from_record(&outcome.enrollment.cards[0].record));
    for c in &outcome.cards {
        logged.card(&c.fingerprint, CardOutcome::Ok);
    }
    let bundle = Bundle::from_enrollment(&outcome.enrollment);
    bundle.write(&bundle_path, args.force).map_err(|e| {
        CeremonyError::Usage(format!(
            "the set is enrolled on every card, but the bundle could not be written: {e}"
        ))
    })?;
    if let Some(out) = &args.out {
        write_private_file(out, &master, args.force)?;
    }
    println!(
        "Enrolled set \"{}\" ({}-of-{}), id {}.",
        args.label,
        args.threshold,
        outcome.cards.len(),
        hex::encode(outcome.enrollment.set_id)
    );
    for c in &outcome.cards {
        println!(
            "  custodian {} \"{}\": card {} (written, read back and opened in \"{}\")",
            c.index, c.name, c.fingerprint, c.reader
        );
    }
    println!("Bundle (public set description): {}", bundle_path.display());
    if let Some(out) = &args.out {
        println!(
            "Generated master secret ({} bytes): {}",
            master.len(),
            out.display()
        );
    }
    Ok(())
}

fn cards_from(ctx: &PcscContext, args: &SwapArgs) -> Result<CardsFrom, CeremonyError> {
    let timeout = args.timeout;
    Ok(match args.reader.as_deref() {
        None => CardsFrom::EveryReader,
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
) -> Result<(), CeremonyError> {
    match &args.out {
        Some(out) => check_writable(out, args.force)?,
        None if io::stdout().is_terminal() => return Err(SecretIoError::StdoutIsTerminal.into()),
        None => {}
    }
    let set_id = args.set.as_deref().map(parse_set_id).transpose()?;
    let pins = pin_source(&args.pins)?;
    let ctx = PcscContext::establish()?;
    let from = cards_from(&ctx, &args.cards)?;
    let request = RecoverRequest {
        set_id,
        from,
        pins: pin_policy(&args.pins, &pins),
        trace,
        stats,
    };
    let mut err = io::stderr();
    let recovered = recover(&ctx, &request, &mut err)?;
    logged.set = SetRef::from_hex(&recovered.set.set_id, &recovered.set.label).ok();
    for c in &recovered.cards {
        if let Some(fp) = &c.fingerprint {
            let outcome = if c.used {
                CardOutcome::Ok
            } else {
                CardOutcome::Skipped
            };
            logged.card(fp, outcome);
        }
    }
    match &args.out {
        Some(out) => write_private_file(out, &recovered.master, args.force)?,
        None => write_stdout(&recovered.master)?,
    }
    eprintln!(
        "Recovered the master secret of set \"{}\" ({}-of-{}, id {}): {} bytes, checked (it decrypts under the set's key).",
        recovered.set.label,
        recovered.set.threshold,
        recovered.set.count,
        recovered.set.set_id,
        recovered.master.len()
    );
    for c in &recovered.cards {
        eprintln!(
            "  {} {} in \"{}\": {}",
            if c.used { "used   " } else { "skipped" },
            c.card,
            c.reader,
            c.note
        );
    }
    if let Some(out) = &args.out {
        eprintln!("Written to {} (mode 0600).", out.display());
    }
    Ok(())
}

fn reset(args: &ResetArgs, trace: bool, logged: &mut Logged) -> Result<(), CeremonyError> {
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
        logged.set = SetRef::from_hex(&set.set_id, &set.label).ok();
    }
    logged.card(
        done.before.fingerprint.as_deref().unwrap_or(""),
        CardOutcome::Ok,
    );
    println!(
        "Card {} in \"{reader}\" was factory-reset: its key, PIN and record are erased; it is blank now (personalise it again with `quorumctl init`).",
        done.before.fingerprint.as_deref().unwrap_or("")
    );
    Ok(())
}

fn change(args: &ChangePinArgs, trace: bool, logged: &mut Logged) -> Result<(), CeremonyError> {
    let pins = pin_source(&args.pins)?;
    let new = args
        .new_pin_file
        .as_deref()
        .map(|p| PinSource::from_options(Some(p), None))
        .transpose()?;
    let ctx = PcscContext::establish()?;
    let reader = choose_reader(&ctx, args.card.reader.as_deref())?;
    let fingerprint = change_pin(
        &ctx,
        &reader,
        &pin_policy(&args.pins, &pins),
        new.as_ref(),
        trace,
        &mut io::stderr(),
    )?;
    logged.card(&fingerprint, CardOutcome::Ok);
    println!("The PIN of card {fingerprint} in \"{reader}\" was changed.");
    Ok(())
}

fn verify_cards(args: &VerifyArgs, trace: bool, logged: &mut Logged) -> Result<(), CeremonyError> {
    let bundle = args.bundle.as_deref().map(read_bundle).transpose()?;
    let pins = pin_source(&args.pins)?;
    let ctx = PcscContext::establish()?;
    let from = cards_from(&ctx, &args.cards)?;
    let request = VerifyRequest {
        bundle: bundle.as_ref(),
        from,
        count: usize::from(args.count),
        pins: pin_policy(&args.pins, &pins),
        trace,
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
                logged.set = SetRef::from_hex(&set.set_id, &set.label).ok();
            }
        }
    }
    println!("Health check of {} card(s):", checks.len());
    for c in &checks {
        println!(
            "  {} {} in \"{}\": {}",
            if c.ok { "ok    " } else { "FAILED" },
            c.who.text,
            c.reader,
            c.note
        );
    }
    let failed = checks.iter().filter(|c| !c.ok).count();
    if failed > 0 {
        return Err(CeremonyError::CardsFailed(format!(
            "{failed} of {} card(s) failed the health check; see above for each card and what to do",
            checks.len()
        )));
    }
    Ok(())
}

/// Reads the bundle a ceremony starts from; a bundle problem is the user's to fix.
fn read_bundle(path: &std::path::Path) -> Result<Bundle, CeremonyError> {
    Bundle::read(path)
        .map_err(|e| CeremonyError::Usage(format!("--bundle {}: {e}", path.display())))
}

fn add_new_card(args: &AddCardArgs, trace: bool, logged: &mut Logged) -> Result<(), CeremonyError> {
    let bundle = read_bundle(&args.bundle)?;
    let base = bundle
        .newest_record()
        .map_err(|e| CeremonyError::Usage(format!("--bundle {}: {e}", args.bundle.display())))?;
    // Where the new version goes, checked before any card is touched.
    let (target, backup) = match &args.out_bundle {
        Some(out) => {
            check_writable(out, args.force)?;
            (out.clone(), None)
        }
        None => {
            let backup = PathBuf::from(format!("{}.v{}", args.bundle.display(), base.set_version));
            check_writable(&backup, args.force)?;
            (args.bundle.clone(), Some(backup))
        }
    };
    let pins = pin_source(&args.pins)?;
    let ctx = PcscContext::establish()?;
    let from = cards_from(&ctx, &args.cards)?;
    let request = AddCardRequest {
        base: &base,
        new_card: args.new_card.as_deref(),
        name: args.name.as_deref(),
        from,
        pins: pin_policy(&args.pins, &pins),
        trace,
    };
    logged.set = Some(SetRef::from_record(&base));
    let done = add_card(&ctx, &request, &mut io::stderr())?;
    for c in &done.cards {
        if let Some(fp) = &c.who.fingerprint {
            logged.card(
                fp,
                if c.used {
                    CardOutcome::Ok
                } else {
                    CardOutcome::Skipped
                },
            );
        }
    }
    let updated = bundle
        .with_records(std::slice::from_ref(&done.card.public))
        .map_err(|e| {
            CeremonyError::NotEnrolled(format!(
                "the new card was written, but the new bundle could not be made: {e}"
            ))
        })?;
    let written = match &backup {
        Some(backup) => std::fs::rename(&args.bundle, backup)
            .map_err(|e| format!("cannot keep the old bundle as {}: {e}", backup.display()))
            .and_then(|()| {
                updated
                    .write(&target, false)
                    .map_err(|e| format!("{e} (the previous version is at {})", backup.display()))
            }),
        None => updated
            .write(&target, args.force)
            .map_err(|e| e.to_string()),
    };
    written.map_err(|e| {
        CeremonyError::Usage(format!(
            "the new card holds its share (set version {}), but the bundle was not updated: {e}. Every card of the set carries the description; `quorumctl inspect` a bundle written again later",
            done.card.record.set_version
        ))
    })?;
    let record = &done.card.record;
    let custodian = record
        .custodian(record.index)
        .expect("a written record lists its own index");
    println!(
        "Added custodian {} \"{}\" to set \"{}\" ({}-of-{}), now version {}: card {} in \"{}\".",
        record.index,
        custodian.name,
        record.label,
        record.threshold,
        record.custodians.len(),
        record.set_version,
        custodian.card_key.fingerprint(),
        done.reader
    );
    for c in &done.cards {
        println!(
            "  {} {} in \"{}\": {}",
            if c.used { "used   " } else { "skipped" },
            c.who.text,
            c.reader,
            c.note
        );
    }
    println!(
        "Bundle (version {}): {}",
        record.set_version,
        target.display()
    );
    if let Some(backup) = &backup {
        println!("Previous bundle kept as {}.", backup.display());
    }
    Ok(())
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

fn reshare_set(args: &ReshareArgs, trace: bool, logged: &mut Logged) -> Result<(), CeremonyError> {
    let names = parse_names(&args.names)?;
    if args.cards.reader.is_some() && args.shares.is_none() {
        return Err(CeremonyError::Usage(
            "with --reader, give the new set's number of cards with --shares M".to_owned(),
        ));
    }
    let old_set = args.set.as_deref().map(parse_set_id).transpose()?;
    let bundle = args.bundle.as_deref().map(read_bundle).transpose()?;
    let published = bundle
        .as_ref()
        .map(|b| {
            b.newest_record()
                .map_err(|e| CeremonyError::Usage(format!("--bundle: {e}")))
        })
        .transpose()?;
    if let (Some(id), Some(p)) = (old_set, &published) {
        if id != p.set_id {
            return Err(CeremonyError::Usage(format!(
                "--set {} and the bundle's set {} differ: give the bundle of the set to reshare",
                hex::encode(id),
                hex::encode(p.set_id)
            )));
        }
    }
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
        published: published.as_ref(),
        threshold: args.threshold,
        count: args.shares,
        label: &args.label,
        names: &names,
        reuse: &args.reuse,
        keep_old: args.keep_old,
        from,
        pins: pin_policy(&args.pins, &pins),
        trace,
    };
    let mut publish = |enrollment: &quorum::sharing::Enrollment| {
        Bundle::from_enrollment(enrollment)
            .write(&new_bundle, args.force)
            .map_err(|e| e.to_string())
    };
    let done = reshare(&ctx, &request, &mut publish, &mut io::stderr())?;
    logged.set = Some(SetRef::from_record(&done.enrollment.cards[0].record));
    for fp in &done.opened {
        logged.card(fp, CardOutcome::Ok);
    }
    for c in &done.cards {
        logged.card(&c.fingerprint, CardOutcome::Ok);
    }
    for fp in &done.wiped {
        logged.card(fp, CardOutcome::Ok);
    }
    println!(
        "Reshared the master of set \"{}\" ({}-of-{}, id {}) to the new set \"{}\" ({}-of-{}, id {}).",
        done.old.label,
        done.old.threshold,
        done.old.count,
        done.old.set_id,
        args.label,
        args.threshold,
        done.cards.len(),
        hex::encode(done.enrollment.set_id)
    );
    for fp in &done.opened {
        println!("  old card {fp}: share opened");
    }
    for c in &done.cards {
        println!(
            "  new custodian {} \"{}\": card {} (written, read back and opened in \"{}\")",
            c.index, c.name, c.fingerprint, c.reader
        );
    }
    for fp in &done.wiped {
        println!("  old card {fp}: wiped (blank now)");
    }
    println!("Where the sets stand: {}.", done.progress.describe());
    println!("New bundle: {}", new_bundle.display());
    Ok(())
}
