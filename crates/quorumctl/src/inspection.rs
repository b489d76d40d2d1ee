//! The commands that read cards without a PIN: `readers`, `status`, `export-bundle`.

use crate::failure::Failure;
use quorum_card::readers::Readers;
use quorum_ceremony::bundle_file::BundleFile;
use quorum_ceremony::inspect::{list_readers, summarize, Exported, Found};
use quorum_ceremony::secret_io::check_writable;
use quorum_ceremony::{choose_reader, resolve_reader};

use quorum_protocol::apdu::LifeCycle;
use serde_json::{json, Value};

use crate::report::Report;

use crate::cli::{CardArgs, ExportArgs};

use crate::options::parse_set_id;
use crate::render::card_json;

pub(crate) fn readers(trace: bool, report: &mut Report) -> Result<(), Failure> {
    let ctx = crate::signals::establish()?;
    let mut all = Vec::new();
    for r in list_readers(&ctx, trace)? {
        let keypad = match r.pinpad {
            Some(true) => " (keypad)",
            _ => "",
        };
        report.line(format!("{}{keypad}: {}", r.reader, r.card));
        let card = match &r.card {
            Found::Empty => json!(null),
            Found::NoApplet => json!({ "applet": false }),
            Found::Unreadable(why) => json!({ "applet": null, "error": why }),
            Found::Quorum(summary) => card_json(summary),
        };
        all.push(json!({ "reader": r.reader, "pinpad": r.pinpad, "card": card }));
    }
    report.set("readers", Value::Array(all));
    Ok(())
}

pub(crate) fn status(args: &CardArgs, trace: bool, report: &mut Report) -> Result<(), Failure> {
    let ctx = crate::signals::establish()?;
    let ctx = crate::stats::Counted::new(ctx, "status", args.stats);
    let reader = choose_reader(&ctx, args.reader.as_deref())?;
    let summary = summarize(&ctx, &reader, trace)?;
    report.line(format!("Reader:      {reader}"));
    if let Some(version) = summary.applet_protocol {
        report.line(applet_line(version));
    }
    if let Some(card) = &summary.openpgp {
        report.line(format!(
            "Card:        OpenPGP card, {} serial {}, application version {} (its own PINs: user PIN for quorum, admin PIN to make its key)",
            card.manufacturer, card.serial, card.version
        ));
        if let Some(touch) = card.touch {
            report.line(format!("Touch:       {}", touch_words(touch)));
        }
    }
    report.line(format!("State:       {}", summary.state.name()));
    report.line(format!(
        "PIN:         {}",
        if summary.blocked {
            "BLOCKED".to_owned()
        } else if summary.state == LifeCycle::Blank {
            "none yet (a blank card gets its PIN at `quorumctl init`)".to_owned()
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
        report.line(format!(
            "Custodian:   {}",
            quorum_ceremony::share::custodian_label(set.index, &set.custodian)
        ));
    }
    if let Some(share) = &summary.share_in_bundle {
        report.line(format!(
            "Share:       index {} of set id {}, version {}; this OpenPGP card keeps only its sealed share, its set's public record is in the set's bundle (recover, verify, add-card and reshare need --bundle)",
            share.index, share.set_id, share.set_version
        ));
    }
    report.set("reader", json!(reader));
    report.set("card", card_json(&summary));
    Ok(())
}

pub(crate) fn export_bundle(
    args: &ExportArgs,
    trace: bool,
    report: &mut Report,
) -> Result<(), Failure> {
    let set_id = args.set.as_deref().map(parse_set_id).transpose()?;
    check_writable(&args.out, args.force)?;
    let ctx = crate::signals::establish()?;
    let ctx = crate::stats::Counted::new(ctx, "export-bundle", args.stats);
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
        rebuilt,
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
    if !rebuilt.is_empty() {
        report.line(format!(
            "  custodian(s) {} (set version {}): records rebuilt from the set description read (the records of one set version differ only in the card's index), for cards not read, such as OpenPGP cards, which never hold theirs",
            rebuilt.iter().map(u8::to_string).collect::<Vec<_>>().join(", "),
            summary.set_version
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
    report.set("rebuilt", json!(rebuilt));
    Ok(())
}

/// The `status` line that names a quorum-applet card's release by the protocol its SELECT answered.
fn applet_line(version: quorum_protocol::apdu::ProtocolVersion) -> String {
    format!("Card:        quorum applet, protocol version {version}")
}

/// What a decryption touch policy means for the custodian when quorum opens the share.
fn touch_words(touch: quorum_protocol::openpgp::TouchPolicy) -> String {
    use quorum_protocol::openpgp::TouchPolicy;
    match touch {
        TouchPolicy::Off => "not needed to open a share (the card has a button; its decryption touch policy is off)".to_owned(),
        TouchPolicy::On | TouchPolicy::Fixed => "the custodian touches the card each time quorum opens its share (decryption touch policy on); an untouched card is left out after the card's own wait".to_owned(),
        TouchPolicy::Cached | TouchPolicy::CachedFixed => "the custodian touches the card when quorum opens its share (decryption touch policy cached: one touch counts for 15 seconds)".to_owned(),
        TouchPolicy::Unknown(b) => format!("the card reports a decryption touch policy quorum does not know ({b:02X}); be ready to touch the card when quorum opens its share"),
    }
}

#[cfg(test)]
mod touch_tests {
    use super::{applet_line, touch_words};
    use quorum_protocol::apdu::ProtocolVersion;
    use quorum_protocol::openpgp::TouchPolicy;

    #[test]
    fn status_names_the_applet_protocol() {
        let version = ProtocolVersion { major: 1, minor: 1 };
        assert_eq!(
            applet_line(version),
            "Card:        quorum applet, protocol version 1.1"
        );
    }

    #[test]
    fn each_touch_policy_tells_the_custodian_what_to_do() {
        assert!(touch_words(TouchPolicy::Off).starts_with("not needed"));
        assert!(touch_words(TouchPolicy::On).contains("touches the card each time"));
        assert!(touch_words(TouchPolicy::Cached).contains("15 seconds"));
        assert!(touch_words(TouchPolicy::Unknown(0x07)).contains("(07)"));
    }
}
