//! The ceremonies on one card: `init`, `change-pin`, `reset-card`.

use crate::failure::Failure;
use std::io::{self, IsTerminal};

use quorum_ceremony::change_pin::change_pin;
use quorum_ceremony::choose_reader;
use quorum_ceremony::init::init;
use quorum_ceremony::log::CardOutcome;
use quorum_ceremony::pins::{pin_table, PinProvider};
use quorum_ceremony::reset::{reset_card, Confirmation};
use quorum_pcsc::PcscContext;
use quorum_protocol::pin::RetryLimit;

use serde_json::json;

use crate::report::Report;

use crate::cli::{ChangePinArgs, InitArgs, ResetArgs};

use crate::minutes::Logged;
use crate::options::{pin_policy, pin_source};
use crate::render::{set_json, set_ref};

pub(crate) fn init_card(
    args: &InitArgs,
    trace: bool,
    logged: &mut Logged,
    report: &mut Report,
) -> Result<(), Failure> {
    let limit = RetryLimit::new(args.retries)?;
    let pins = pin_source(&args.pins)?;
    let ctx = PcscContext::establish()?;
    let reader = choose_reader(&ctx, args.card.reader.as_deref())?;
    let mut err = crate::words::Screen;
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
    let ctx = PcscContext::establish()?;
    let reader = choose_reader(&ctx, args.card.reader.as_deref())?;
    let fingerprint = change_pin(
        &ctx,
        &reader,
        &pin_policy(&args.pins, pins.as_ref()),
        new.as_ref().map(|t| t as &dyn PinProvider),
        trace,
        &mut crate::words::Screen,
    )?;
    logged.card(&fingerprint, CardOutcome::Ok);
    report.line(format!(
        "The PIN of card {fingerprint} in \"{reader}\" was changed."
    ));
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
    if args.confirm.is_none() && !io::stdin().is_terminal() {
        return Err(Failure::Usage(
            "reset-card destroys the card's key and share: confirm on a terminal, or give --confirm FINGERPRINT".to_owned(),
        ));
    }
    let ctx = PcscContext::establish()?;
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
