//! The ceremonies that write a set: `enroll`, `add-card`, `reshare`.

use crate::failure::Failure;
use quorum_ceremony::add_card::{add_card, AddCardRequest};
use quorum_ceremony::bundle_file::{BundleFile, BundleUpdate};
use quorum_ceremony::enroll::{enroll, EnrollRequest};
use quorum_ceremony::inspect::SetMembership;
use quorum_ceremony::log::{CardOutcome, SetRef};
use quorum_ceremony::presence::{CardsFrom, CountOf};
use quorum_ceremony::reshare::{reshare, ReshareRequest};
use quorum_ceremony::secret_io::{check_writable, read_master, write_private_file, MasterSource};
use quorum_ceremony::share::custodian_label;
use quorum_ceremony::CeremonyError;
use quorum_protocol::bundle::Bundle;

use serde_json::json;

use crate::report::Report;
use crate::token_end::{SourceToken, TokenEnd};
use quorum_ceremony::enroll::EnrollOutcome;

use crate::cli::{AddCardArgs, Cli, EnrollArgs, ReshareArgs};

use crate::minutes::{replace_evidence, LogJournal, Logged};
use crate::options::{
    cards_from, check_custodian_name, check_set_options, default_bundle_path, parse_names,
    parse_one_name, parse_set_id, pin_policy, pin_source, read_bundle_records, require_count,
};
use crate::render::{anchor_lines, new_cards_json, seen_json, seen_line, set_json};

pub(crate) fn enroll_set(
    cli: &Cli,
    args: &EnrollArgs,
    trace: bool,
    logged: &mut Logged,
    report: &mut Report,
) -> Result<(), Failure> {
    let stats = args.stats;
    let plan = match &args.plan {
        Some(path) => Some(
            crate::paperwork::read_plan(path).map_err(|(_, message, _)| Failure::Usage(message))?,
        ),
        None => None,
    };
    let (label, threshold, names, shares) = match &plan {
        Some(plan) => (
            plan.label.clone(),
            plan.threshold,
            plan.names(),
            Some(u8::try_from(plan.custodians.len()).expect("a plan names at most 255 custodians")),
        ),
        None => (
            args.label
                .clone()
                .expect("clap requires --label without --plan"),
            args.threshold
                .expect("clap requires --threshold without --plan"),
            parse_names(&args.names)?,
            args.shares,
        ),
    };
    let planned: Option<Vec<String>> = plan
        .as_ref()
        .map(|p| p.custodians.iter().map(|c| c.card.clone()).collect());
    let evidence = replace_evidence(cli, args.replace_unfinished)?;
    require_count(&args.cards, shares, CountOf::Cards)?;
    check_set_options(&label, &names, threshold, shares, args.allow_single_card)?;
    if args.out.is_some() && args.generate.is_none() {
        return Err(Failure::Usage("--out is where a --generate'd secret goes; with --in or standard input you already hold the secret".to_owned()));
    }
    let bundle_path = args
        .bundle
        .clone()
        .or_else(|| {
            plan.as_ref()
                .and_then(|p| p.bundle.as_ref().map(std::path::PathBuf::from))
        })
        .unwrap_or_else(|| default_bundle_path(&label));
    check_writable(&bundle_path, args.force)?;
    if let Some(out) = &args.out {
        check_writable(out, args.force)?;
    }
    let pins = pin_source(&args.pins)?;
    // The token end: opened, and the key read out of it (or made in it), before any card.
    let token_module = args
        .from_pkcs11
        .as_deref()
        .or(args.generate_in_pkcs11.as_deref());
    let token_option = if args.generate_in_pkcs11.is_some() {
        "--generate-in-pkcs11"
    } else {
        "--from-pkcs11"
    };
    let from_token = TokenEnd::from_args(token_module, token_option, &args.token)?;
    if from_token.is_none() && args.key_type.is_some() {
        return Err(Failure::Usage(
            "--key-type names the type of a key in a token (--from-pkcs11 or --generate-in-pkcs11); this enroll reads no token. Nothing was done".to_owned(),
        ));
    }
    if args.dry_run {
        return enroll_dry_run(args, &from_token, report, |master_len| {
            let ctx = crate::signals::establish()?;
            let request = EnrollRequest {
                master: &[],
                threshold,
                count: shares,
                label: &label,
                planned: planned.as_deref(),
                names: &names,
                from: cards_from(&ctx, &args.cards)?,
                pins: pin_policy(&args.pins, pins.as_ref()),
                trace,
                stats,
                replace_unfinished: evidence.as_ref(),
                interrupt: &crate::signals::INTERRUPTED,
            };
            let dry = quorum_ceremony::enroll::dry_run(
                &ctx,
                &request,
                master_len,
                &mut crate::words::Screen,
            )?;
            Ok(dry)
        });
    }
    let mut source_token = match &from_token {
        Some(end) => Some(SourceToken::open(
            end,
            args.generate_in_pkcs11.is_some(),
            args.key_type,
            args.key_bytes,
        )?),
        None => None,
    };
    let master = match &mut source_token {
        Some(source) => source.take_secret(),
        None => {
            let source = match (&args.input, args.generate) {
                (Some(path), _) => MasterSource::File(path.clone()),
                (None, Some(len)) => MasterSource::Generate(usize::from(len)),
                (None, None) => MasterSource::Stdin,
            };
            read_master(&source)?
        }
    };
    // The card part: cards found, PINs taken, the set written, read back and opened.
    let mut enroll_cards = || -> Result<EnrollOutcome, Failure> {
        let ctx = crate::signals::establish()?;
        let from = cards_from(&ctx, &args.cards)?;
        let request = EnrollRequest {
            master: &master,
            threshold,
            count: shares,
            label: &label,
            planned: planned.as_deref(),
            names: &names,
            from,
            pins: pin_policy(&args.pins, pins.as_ref()),
            trace,
            stats,
            replace_unfinished: evidence.as_ref(),
            interrupt: &crate::signals::INTERRUPTED,
        };
        let mut err = crate::words::Screen;
        let mut journal = LogJournal::new(cli, "enroll");
        match enroll(&ctx, &request, &mut journal, &mut err) {
            Ok(outcome) => Ok(outcome),
            Err(e) => {
                journal.unfinished(logged);
                Err(e.into())
            }
        }
    };
    let enrolled = enroll_cards();
    let outcome = match (enrolled, &mut source_token) {
        (Ok(outcome), _) => outcome,
        (Err(e), Some(source)) => return Err(source.undo(e)),
        (Err(e), None) => return Err(e),
    };
    let record = &outcome.enrollment.cards[0].record;
    logged.set = Some(SetRef::from_record(record));
    logged.key_check = Some(record.key_check);
    for c in &outcome.cards {
        logged.card(&c.fingerprint, CardOutcome::Ok);
    }
    let bundle = Bundle::from_enrollment(&outcome.enrollment);
    let bundle_needed = crate::words::enroll::bundle_needed(&outcome.cards);
    bundle.write(&bundle_path, args.force).map_err(|e| {
        let why = crate::words::files::secret_io(&e);
        Failure::Unfinished(match bundle_needed {
            None => format!(
                "the set is enrolled on every card, but the bundle could not be written: {why}. Every card carries the set description, so nothing is lost: fix the cause and write the bundle from the cards with `quorumctl export-bundle`"
            ),
            Some(_) if outcome.cards.iter().all(|c| c.record_in_bundle) => format!(
                "the set is enrolled on every card, but the bundle could not be written: {why}. All its cards are OpenPGP cards, which keep only their sealed share: without the bundle the set cannot be recovered. Fix the cause and enroll the set again (the cards are written over)"
            ),
            Some(_) => format!(
                "the set is enrolled on every card, but the bundle could not be written: {why}. Its OpenPGP cards keep only their sealed share, but its quorum cards carry the set description: fix the cause and write the bundle from a quorum card of the set with `quorumctl export-bundle`, which rebuilds the OpenPGP cards' records too"
            ),
        })
    })?;
    if let Some(out) = &args.out {
        write_private_file(out, &master, args.force).map_err(|e| {
            Failure::Unfinished(format!(
                "the set is enrolled on every card, but the generated secret could not be written: {}. Nothing is lost: recover it from the cards with `quorumctl recover --out FILE`",
                crate::words::files::secret_io(&e)
            ))
        })?;
    }
    report.line(format!(
        "Enrolled set \"{}\" ({}-of-{}), id {}.",
        label,
        threshold,
        outcome.cards.len(),
        hex::encode(outcome.enrollment.set_id)
    ));
    for c in &outcome.cards {
        report.line(format!(
            "  {}: card {} (written, read back and opened in \"{}\")",
            custodian_label(c.index, &c.name),
            c.fingerprint,
            c.reader
        ));
    }
    report.line(format!(
        "Bundle (public set description): {}",
        bundle_path.display()
    ));
    if let Some(needed) = &bundle_needed {
        report.line(needed.clone());
    }
    report.line(anchor_lines(&record.set_digest(), &record.key_check));
    report.line(
        "Write both into the ceremony minutes: recover prints them again, and `recover --expect` takes the digest.",
    );
    if let Some(source) = &mut source_token {
        for line in source.finish() {
            report.line(line);
        }
        report.set("token", source.json());
    }
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

/// The dry run of enroll: the secret's length found without using it (a file or standard
/// input is read and wiped; `--generate` and `--generate-in-pkcs11` give it; a token's key
/// is not read, since that needs its login), then the cards checked by `cards`.
fn enroll_dry_run(
    args: &EnrollArgs,
    from_token: &Option<TokenEnd>,
    report: &mut Report,
    cards: impl FnOnce(Option<usize>) -> Result<quorum_ceremony::dry_run::DryRun, Failure>,
) -> Result<(), Failure> {
    let master_len = match (from_token, args.generate_in_pkcs11.is_some()) {
        (Some(_), true) => Some(usize::from(args.key_bytes)),
        (Some(_), false) => None,
        (None, _) => Some(match (&args.input, args.generate) {
            (_, Some(len)) => usize::from(len),
            (Some(path), None) => read_master(&MasterSource::File(path.clone()))?.len(),
            (None, None) => read_master(&MasterSource::Stdin)?.len(),
        }),
    };
    let every = args.cards.reader.is_none() && !args.cards.any_reader;
    let dry = cards(master_len)?;
    crate::rehearsal::report("enroll", &dry, every, report)
}

pub(crate) fn add_new_card(
    args: &AddCardArgs,
    trace: bool,
    logged: &mut Logged,
    report: &mut Report,
) -> Result<(), Failure> {
    let (named_card, name) = match args.name.as_deref().map(parse_one_name) {
        Some((card, name)) => (card, Some(name)),
        None => (None, None),
    };
    if let Some(name) = &name {
        check_custodian_name(&format!("--name {name:?}"), name)?;
    }
    let new_card = match (args.new_card.as_deref(), named_card.as_deref()) {
        (Some(new), Some(named)) if !new.eq_ignore_ascii_case(named) => {
            return Err(Failure::Usage(format!(
                "--name names card {named} but --new names card {new}: give one card; nothing was done"
            )))
        }
        (new, named) => new.or(named),
    };
    let (bundle, bundle_records, base) = read_bundle_records(&args.bundle)?;
    // Where the new version goes, checked before any card is touched.
    let update = BundleUpdate::plan(
        &args.bundle,
        args.out_bundle.as_deref(),
        base.set_version,
        args.force,
    )?;
    let pins = pin_source(&args.pins)?;
    let ctx = crate::signals::establish()?;
    let ctx = crate::stats::Counted::new(ctx, "add-card", args.stats);
    let from = cards_from(&ctx, &args.cards)?;
    let request = AddCardRequest {
        base: &base,
        bundle_records: &bundle_records,
        new_card,
        name: name.as_deref(),
        from,
        pins: pin_policy(&args.pins, pins.as_ref()),
        trace,
        interrupt: &crate::signals::INTERRUPTED,
    };
    if args.dry_run {
        let every = matches!(request.from, CardsFrom::EveryReader { .. });
        let dry = quorum_ceremony::add_card::dry_run(&ctx, &request)?;
        return crate::rehearsal::report("add-card", &dry, every, report);
    }
    logged.set = Some(SetRef::from_record(&base));
    logged.key_check = Some(base.key_check);
    let done = add_card(&ctx, &request, &mut crate::words::Screen)?;
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
        "Added {} to set \"{}\" ({}-of-{}), now version {}: card {} in \"{}\".",
        custodian_label(record.index, &custodian.name),
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

pub(crate) fn reshare_set(
    cli: &Cli,
    args: &ReshareArgs,
    trace: bool,
    logged: &mut Logged,
    report: &mut Report,
) -> Result<(), Failure> {
    let names = parse_names(&args.names)?;
    let evidence = replace_evidence(cli, args.replace_unfinished)?;
    require_count(&args.cards, args.shares, CountOf::NewSetCards)?;
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
    let ctx = crate::signals::establish()?;
    let ctx = crate::stats::Counted::new(ctx, "reshare", args.stats);
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
        interrupt: &crate::signals::INTERRUPTED,
    };
    if args.dry_run {
        let every = matches!(request.from, CardsFrom::EveryReader { .. });
        let dry = quorum_ceremony::reshare::dry_run(&ctx, &request)?;
        return crate::rehearsal::report("reshare", &dry, every, report);
    }
    let mut publish = |enrollment: &quorum_protocol::sharing::Enrollment| {
        Bundle::from_enrollment(enrollment)
            .write(&new_bundle, args.force)
            .map_err(|e| crate::words::files::secret_io(&e))
    };
    let mut journal = LogJournal::new(cli, "reshare");
    let done = match reshare(
        &ctx,
        &request,
        &mut publish,
        &mut journal,
        &mut crate::words::Screen,
    ) {
        Ok(done) => done,
        Err(e) => {
            journal.unfinished(logged);
            return Err(e.into());
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
            "  new {}: card {} (written, read back and opened in \"{}\")",
            custodian_label(c.index, &c.name),
            c.fingerprint,
            c.reader
        ));
    }
    for fp in &done.wiped {
        match done.wiped_keeping_key.contains(fp) {
            true => report.line(format!(
                "  old card {fp}: share wiped (an OpenPGP card; its key and PINs stay)"
            )),
            false => report.line(format!("  old card {fp}: wiped (blank now)")),
        }
    }
    report.line(format!(
        "Where the sets stand: {}.",
        crate::words::reshare::standing(&done.standing)
    ));
    if let Some(line) = crate::words::reshare::still_holding(&done.old.label, &done.still_holding) {
        report.line(line);
    }
    report.line(format!("New bundle: {}", new_bundle.display()));
    if let Some(needed) = crate::words::enroll::bundle_needed(&done.cards) {
        report.line(needed);
    }
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
    report.set("wiped_keeping_key", json!(done.wiped_keeping_key));
    report.set(
        "old_cards_still_holding",
        json!(done
            .still_holding
            .iter()
            .map(|(who, fp)| json!({ "custodian": who, "fingerprint": fp }))
            .collect::<Vec<_>>()),
    );
    report.set(
        "state",
        json!(crate::words::reshare::standing(&done.standing)),
    );
    report.set("bundle", json!(new_bundle.display().to_string()));
    Ok(())
}
