//! The ceremonies that open shares: `recover` and `verify`.

use crate::failure::Failure;
use std::io::{self, IsTerminal};

use quorum_ceremony::log::CardOutcome;
use quorum_ceremony::recover::{recover, RecoverRequest};
use quorum_ceremony::secret_io::{check_writable, write_private_file, write_stdout, SecretIoError};
use quorum_ceremony::verify::{verify, CardCheck, VerifyRequest};
use quorum_ceremony::CeremonyError;
use quorum_protocol::crypto::SetDigest;

use serde_json::{json, Value};

use crate::report::Report;
use crate::token_end::{IntoToken, TokenEnd};

use crate::cli::{RecoverArgs, VerifyArgs};

use crate::minutes::Logged;
use crate::options::{cards_from, pin_policy, pin_source, read_bundle, recover_anchor};
use crate::render::{anchor_lines, seen_json, seen_line, set_json, set_ref};

/// Where a recovered secret goes, as the options say it.
enum Destination<'a> {
    /// A new file (mode 0600).
    File(&'a std::path::Path),
    /// Standard output, asked for with `--out -`.
    Stdout,
    /// An HSM token (`--to-pkcs11`), opened before any card.
    Token(IntoToken<'a>),
}

pub(crate) fn recover_set(
    args: &RecoverArgs,
    trace: bool,
    stats: bool,
    logged: &mut Logged,
    report: &mut Report,
) -> Result<(), Failure> {
    // --key-type, --key-usage, --replace and --allow-plaintext-import need --to-pkcs11
    // (the grammar says so); the token options are shared with enroll and checked here.
    let to_token = TokenEnd::from_args(args.to_pkcs11.as_deref(), "--to-pkcs11", &args.token)?;
    // Where the secret goes is settled before any card: a file, standard output by name,
    // or a token (opened, its PIN checked); never standard output by default (a
    // `| tee log` would keep the secret).
    let mut destination = match (&args.out, &to_token) {
        (_, Some(end)) => Destination::Token(IntoToken::prepare(
            end,
            args.key_type,
            crate::token_end::import_options(
                &args.key_usage,
                args.replace,
                args.allow_plaintext_import,
            ),
        )?),
        (Some(out), None) if out.as_os_str() == "-" => {
            if report.json() {
                return Err(Failure::Usage(
                    "with --json, standard output carries the JSON result: write the secret with --out FILE. Nothing was done".to_owned(),
                ));
            }
            if io::stdout().is_terminal() {
                return Err(SecretIoError::StdoutIsTerminal.into());
            }
            Destination::Stdout
        }
        (Some(out), None) => {
            check_writable(out, args.force)?;
            Destination::File(out)
        }
        (None, None) => {
            return Err(Failure::Usage(
                "say where the recovered secret goes: --out FILE (written with mode 0600), --out - (standard output, into a pipe), or --to-pkcs11 MODULE (into an HSM token). Nothing was done: no card was asked for anything".to_owned(),
            ))
        }
    };
    let anchor = recover_anchor(args)?;
    let pins = pin_source(&args.pins)?;
    let fits = |len: usize| match &destination {
        Destination::Token(into) => into.fits(len),
        _ => true,
    };
    let ctx = crate::signals::establish()?;
    let from = cards_from(&ctx, &args.cards)?;
    let request = RecoverRequest {
        anchor,
        from,
        pins: pin_policy(&args.pins, pins.as_ref()),
        trace,
        stats,
        interrupt: &crate::signals::INTERRUPTED,
        fits: Some(&fits),
    };
    let mut err = crate::words::Screen;
    let recovered = recover(&ctx, &request, &mut err)?;
    logged.set = set_ref(&recovered.set);
    logged.key_check = Some(recovered.set.key_check);
    logged.seen(&recovered.cards);
    let imported = match &mut destination {
        Destination::Token(into) => Some(into.import(&recovered.master, &recovered.set.label)?),
        Destination::File(out) => {
            write_private_file(out, &recovered.master, args.force)?;
            None
        }
        Destination::Stdout => {
            write_stdout(&recovered.master)?;
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
    match (&destination, &imported) {
        (Destination::File(out), _) => eprintln!("Written to {} (mode 0600).", out.display()),
        (Destination::Stdout, _) => eprintln!("Written to standard output (--out -)."),
        (Destination::Token(into), Some(imported)) => {
            for line in into.lines(imported) {
                eprintln!("{line}");
            }
            eprintln!(
                "The secret was wiped from this computer's memory; it was written nowhere else."
            );
            report.set("token", into.json(imported));
        }
        (Destination::Token(_), None) => {}
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
    let ctx = crate::signals::establish()?;
    let ctx = crate::stats::Counted::new(ctx, "verify", args.stats);
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
            report.line(format!(
                "Set \"{}\" ({}-of-{}, version {}, id {}) as the cards describe it:",
                set.label, set.threshold, set.count, set.set_version, set.set_id
            ));
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
