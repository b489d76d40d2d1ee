//! The ceremonies that open shares: `recover` and `verify`.

use crate::failure::Failure;
use std::io::{self, IsTerminal};

use quorum_ceremony::log::CardOutcome;
use quorum_ceremony::recover::{recover, RecoverRequest};
use quorum_ceremony::secret_io::{check_writable, write_private_file, write_stdout, SecretIoError};
use quorum_ceremony::verify::{verify, CardCheck, VerifyRequest};
use quorum_ceremony::CeremonyError;
use quorum_pcsc::PcscContext;
use quorum_protocol::crypto::SetDigest;

use serde_json::{json, Value};

use crate::report::Report;
use crate::token_end::TokenEnd;

use crate::cli::{RecoverArgs, VerifyArgs};

use crate::minutes::Logged;
use crate::options::{cards_from, pin_policy, pin_source, read_bundle, recover_anchor};
use crate::render::{anchor_lines, seen_json, seen_line, set_json, set_ref};

pub(crate) fn recover_set(
    args: &RecoverArgs,
    trace: bool,
    stats: bool,
    logged: &mut Logged,
    report: &mut Report,
) -> Result<(), Failure> {
    let to_token = TokenEnd::from_args(args.to_pkcs11.as_deref(), "--to-pkcs11", &args.token)?;
    if to_token.is_none() && !args.key_usage.is_empty() {
        return Err(Failure::Usage(
            "--key-usage says what a key imported with --to-pkcs11 may do; this recovery imports none. Nothing was done".to_owned(),
        ));
    }
    match &args.out {
        _ if to_token.is_some() => {}
        Some(out) => check_writable(out, args.force)?,
        None if report.json() => {
            return Err(Failure::Usage(
                "with --json, standard output carries the JSON result: write the secret with --out FILE".to_owned(),
            ))
        }
        None if io::stdout().is_terminal() => return Err(SecretIoError::StdoutIsTerminal.into()),
        None => {}
    }
    let anchor = recover_anchor(args)?;
    let pins = pin_source(&args.pins)?;
    let key_type = args.key_type.map(crate::token_end::key_type);
    if let (Some(key_type), Some(uses)) = (key_type, Some(&args.key_usage)) {
        if !uses.is_empty() && key_type != quorum_hsm::KeyType::Aes {
            return Err(Failure::Usage(format!(
                "--key-usage names AES operations, and --key-type is {key_type}. Nothing was done"
            )));
        }
    }
    // The token is opened (and its user PIN checked) before any card is asked for anything.
    let mut token = match &to_token {
        Some(end) => Some(end.open()?),
        None => None,
    };
    if let (Some(end), Some(token)) = (&to_token, &token) {
        let taken = token
            .objects_with_label(&end.key)
            .map_err(|e| end.failed(e))?;
        if taken > 0 && !args.replace {
            return Err(end.failed(quorum_hsm::HsmError::LabelExists {
                label: end.key.clone(),
                count: taken,
            }));
        }
        if !args.allow_plaintext_import {
            token.wrapped_import_offered().map_err(|e| end.failed(e))?;
        }
    }
    let fits = |len: usize| key_type.is_none_or(|t| t.fits(len));
    let ctx = PcscContext::establish()?;
    let from = cards_from(&ctx, &args.cards)?;
    let request = RecoverRequest {
        anchor,
        from,
        pins: pin_policy(&args.pins, pins.as_ref()),
        trace,
        stats,
        interrupt: &crate::signals::INTERRUPTED,
        fits: key_type
            .is_some()
            .then_some(&fits as &dyn Fn(usize) -> bool),
    };
    let mut err = crate::words::Screen;
    let recovered = recover(&ctx, &request, &mut err)?;
    logged.set = set_ref(&recovered.set);
    logged.key_check = Some(recovered.set.key_check);
    logged.seen(&recovered.cards);
    let imported = match (&to_token, token.as_mut(), key_type) {
        (Some(end), Some(token), Some(key_type)) => {
            let options = crate::token_end::import_options(
                &args.key_usage,
                args.replace,
                args.allow_plaintext_import,
            );
            let imported = token
                .import_secret(&recovered.master, &end.key, key_type, options)
                .map_err(|e| {
                    end.failed_at(
                        e,
                        crate::token_end::Stage::Import {
                            set: recovered.set.label.clone(),
                        },
                    )
                })?;
            Some((end, imported))
        }
        _ => {
            match &args.out {
                Some(out) => write_private_file(out, &recovered.master, args.force)?,
                None => write_stdout(&recovered.master)?,
            }
            None
        }
    };
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
    if let Some((end, imported)) = &imported {
        for line in crate::token_end::imported_lines(end, imported) {
            eprintln!("{line}");
        }
        eprintln!("The secret was wiped from this computer's memory; it was written nowhere else.");
        report.set("token", crate::token_end::imported_json(end, imported));
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

pub(crate) fn verify_cards(
    args: &VerifyArgs,
    trace: bool,
    logged: &mut Logged,
    report: &mut Report,
) -> Result<(), Failure> {
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
        interrupt: &crate::signals::INTERRUPTED,
    };
    let checks = verify(&ctx, &request, &mut crate::words::Screen)?;
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
            crate::words::verify::note(&c.note)
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
                        "note": crate::words::verify::note(&c.note),
                    })
                })
                .collect(),
        ),
    );
    let failed: Vec<&CardCheck> = checks.iter().filter(|c| !c.ok).collect();
    if !failed.is_empty() {
        // a PIN that did not go through is the custodian's to fix, not the card's
        return Err(CeremonyError::ChecksFailed {
            failed: failed.len(),
            checked: checks.len(),
            pins_only: failed.iter().all(|c| c.pin_failed),
        }
        .into());
    }
    Ok(())
}
