//! The ceremonies on one card: `init`, `change-pin`, `reset-card`.

use crate::failure::Failure;
use std::io::{self, IsTerminal};

use quorum_ceremony::change_pin::change_pin;
use quorum_ceremony::choose_reader;
use quorum_ceremony::init::{
    init_card as init_any, Done, OpenPgpRequest, Question, Questions, Request,
};
use quorum_ceremony::log::CardOutcome;
use quorum_ceremony::pins::{pin_table, PinProvider};
use quorum_ceremony::pins::{PinOrigin, PinSourceError};
use quorum_ceremony::reset::{reset_card, Confirmation};
use quorum_protocol::openpgp::AdminPin;
use quorum_protocol::pin::RetryLimit;
use zeroize::Zeroizing;

use serde_json::json;

use crate::report::Report;

use crate::cli::{ChangePinArgs, InitArgs, ResetArgs};

use crate::minutes::Logged;
use crate::options::{pin_policy, pin_source};
use crate::render::{set_json, set_ref};

/// The applet's PIN retry limit when `--retries` is not given.
const DEFAULT_RETRIES: u8 = 5;

pub(crate) fn init_card(
    args: &InitArgs,
    trace: bool,
    logged: &mut Logged,
    report: &mut Report,
) -> Result<(), Failure> {
    let retry_limit = args.retries.map(RetryLimit::new).transpose()?;
    let default_retry_limit = RetryLimit::new(DEFAULT_RETRIES)?;
    let pins = pin_source(&args.pins)?;
    let admin_pin = args
        .admin_pin_file
        .as_deref()
        .map(read_admin_pin)
        .transpose()?;
    let ctx = crate::signals::establish()?;
    let ctx = crate::stats::Counted::new(ctx, "init", args.card.stats);
    let reader = choose_reader(&ctx, args.card.reader.as_deref())?;
    let mut err = crate::words::Screen;
    let mut terminal = Terminal;
    let request = Request {
        retry_limit,
        default_retry_limit,
        openpgp: OpenPgpRequest {
            use_existing_key: args.use_existing_key,
            replace_key: args.replace_key,
            confirm_replace: args.confirm_replace.clone(),
            admin_pin,
            questions: &mut terminal,
        },
    };
    let policy = pin_policy(&args.pins, pins.as_ref());
    if args.dry_run {
        let dry = quorum_ceremony::init::dry_run(&ctx, &reader, request, &policy, trace)?;
        return crate::rehearsal::report("init", &dry, false, report);
    }
    let done = init_any(&ctx, &reader, request, &policy, trace, &mut err)?;
    logged.card(&done.key().fingerprint(), CardOutcome::Ok);
    match &done {
        Done::Applet(done) => {
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
        }
        Done::OpenPgp(done) => {
            report.line(crate::words::init::openpgp_done(done));
            report.set("reader", json!(done.reader));
            report.set("fingerprint", json!(done.key.fingerprint()));
            report.set("kind", json!("openpgp"));
            report.set("key_generated", json!(done.generated));
            report.set("serial", json!(done.serial));
        }
    }
    Ok(())
}

/// The admin PIN from `--admin-pin-file`: its first line, without the line end.
fn read_admin_pin(path: &std::path::Path) -> Result<(AdminPin, PinOrigin), Failure> {
    crate::options::warn_if_others_can_read("--admin-pin-file", path);
    let bytes = Zeroizing::new(std::fs::read(path).map_err(|error| {
        quorum_ceremony::pins::PinSourceError::Read {
            origin: PinOrigin::File(path.to_path_buf()),
            error,
        }
    })?);
    let line = bytes.split(|&b| b == b'\n').next().unwrap_or_default();
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let pin = AdminPin::new(line).map_err(|e| {
        Failure::Usage(format!(
            "--admin-pin-file {}: {e}; nothing was done",
            path.display()
        ))
    })?;
    Ok((pin, PinOrigin::File(path.to_path_buf())))
}

/// init's questions on this computer's terminal; without a terminal nobody is asked.
struct Terminal;

impl Questions for Terminal {
    fn ask(&mut self, question: &Question) -> io::Result<Option<String>> {
        if !io::stdin().is_terminal() {
            return Ok(None);
        }
        eprint!("{}", crate::words::init::question(question));
        let mut line = String::new();
        io::stdin().read_line(&mut line)?;
        Ok(Some(line))
    }

    fn admin_pin(&mut self, reader: &str) -> Result<Option<Zeroizing<Vec<u8>>>, PinSourceError> {
        if !io::stdin().is_terminal() {
            return Ok(None);
        }
        let typed = crate::prompt::prompt_hidden_line(&format!(
            "Admin PIN of the OpenPGP card in \"{reader}\": "
        ))?;
        Ok(Some(Zeroizing::new(typed.as_bytes().to_vec())))
    }
}

pub(crate) fn change(
    args: &ChangePinArgs,
    trace: bool,
    logged: &mut Logged,
    report: &mut Report,
) -> Result<(), Failure> {
    let pins = pin_source(&args.pins)?;
    if let Some(path) = &args.new_pin_file {
        crate::options::warn_if_others_can_read("--new-pin-file", path);
    }
    let new = args
        .new_pin_file
        .as_deref()
        .map(|p| pin_table(Some(p), None))
        .transpose()?
        .flatten();
    let ctx = crate::signals::establish()?;
    let ctx = crate::stats::Counted::new(ctx, "change-pin", args.card.stats);
    let reader = choose_reader(&ctx, args.card.reader.as_deref())?;
    let policy = pin_policy(&args.pins, pins.as_ref());
    let new = new.as_ref().map(|t| t as &dyn PinProvider);
    if args.dry_run {
        let dry = quorum_ceremony::change_pin::dry_run(&ctx, &reader, &policy, new, trace)?;
        return crate::rehearsal::report("change-pin", &dry, false, report);
    }
    let changed = change_pin(
        &ctx,
        &reader,
        &policy,
        new,
        trace,
        &mut crate::words::Screen,
    )?;
    let fingerprint = changed.fingerprint;
    logged.card(&fingerprint, CardOutcome::Ok);
    let whose = match &changed.custodian {
        Some(name) => format!("{name}'s card {fingerprint}"),
        None => format!("card {fingerprint}"),
    };
    report.line(format!("The PIN of {whose} in \"{reader}\" was changed."));
    report.set("reader", json!(reader));
    report.set("fingerprint", json!(fingerprint));
    Ok(())
}

pub(crate) fn reset(
    args: &ResetArgs,
    trace: bool,
    logged: &mut Logged,
    report: &mut Report,
) -> Result<(), Failure> {
    if args.dry_run {
        let ctx = crate::signals::establish()?;
        let reader = choose_reader(&ctx, args.card.reader.as_deref())?;
        let dry = quorum_ceremony::reset::dry_run(&ctx, &reader, args.confirm.as_deref(), trace)?;
        return crate::rehearsal::report("reset-card", &dry, false, report);
    }
    if args.confirm.is_none() && !io::stdin().is_terminal() {
        return Err(Failure::Usage(
            "reset-card destroys the card's key and share: confirm on a terminal, or give --confirm FINGERPRINT".to_owned(),
        ));
    }
    let ctx = crate::signals::establish()?;
    let ctx = crate::stats::Counted::new(ctx, "reset-card", args.card.stats);
    let reader = choose_reader(&ctx, args.card.reader.as_deref())?;
    let mut ask = |fingerprint: &str| -> io::Result<String> {
        eprint!("{}", crate::words::confirm_reset_prompt(fingerprint));
        let mut line = String::new();
        io::stdin().read_line(&mut line)?;
        Ok(line)
    };
    let confirmation = match &args.confirm {
        Some(fp) => Confirmation::Given(fp),
        None => Confirmation::Ask(&mut ask),
    };
    let done = reset_card(
        &ctx,
        &reader,
        confirmation,
        trace,
        &mut crate::words::Screen,
    )?;
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
