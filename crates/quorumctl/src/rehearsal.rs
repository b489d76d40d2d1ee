//! `--dry-run`: the ceremony's checks without a PIN, a write or a log line, reported as the
//! ceremony's own words; with every reader, cards missing are the refusal the real run gives.

use quorum_ceremony::dry_run::DryRun;

use crate::failure::Failure;
use crate::report::Report;

/// Reports a dry run of `command`; `every_reader`: the ceremony takes only the cards in the
/// readers when it starts, so a card still needed means the real run would stop.
pub(crate) fn report(
    command: &str,
    dry: &DryRun,
    every_reader: bool,
    report: &mut Report,
) -> Result<(), Failure> {
    let lines = crate::words::dry_run::lines(command, dry);
    report.set(
        "dry_run",
        serde_json::to_value(dry).unwrap_or(serde_json::Value::Null),
    );
    if let (true, Some(still)) = (every_reader, &dry.still_needed) {
        for line in &lines {
            eprintln!("{line}");
        }
        return Err(Failure::DryRunShort(format!(
            "the real run would stop: with every reader it takes only the cards in the readers when it starts, and {} more {} needed. Insert them and run the dry run again, or use --any-reader to insert cards as they are asked for. Nothing was done",
            still.cards,
            if still.cards == 1 { "card is" } else { "cards are" }
        )));
    }
    for line in &lines {
        report.line(line);
    }
    report.line(crate::words::dry_run::GO_AHEAD);
    Ok(())
}
