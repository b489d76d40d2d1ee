//! How outcomes are shown: the result lines and the `--json` values quorumctl builds
//! from the ceremonies' typed outcomes.

use quorum_ceremony::enroll::EnrolledCardReport;
use quorum_ceremony::inspect::{CardSummary, SetMembership};
use quorum_ceremony::log::SetRef;
use quorum_ceremony::share::SeenCard;
use quorum_protocol::crypto::{KeyCheck, SetDigest};

use serde_json::{json, Value};

/// One card of the final summary: used or skipped, which card, where, what happened.
/// (What happened to each card was said as it happened: the summary only names them.)
pub(crate) fn seen_line(c: &SeenCard) -> String {
    format!(
        "  {} {} in \"{}\"",
        if c.used { "used   " } else { "skipped" },
        c.who.text,
        c.reader,
    )
}

/// The cards of the final summary, as `--json` shows them.
pub(crate) fn seen_json(cards: &[SeenCard]) -> Value {
    Value::Array(
        cards
            .iter()
            .map(|c| {
                json!({
                    "fingerprint": c.who.fingerprint,
                    "reader": c.reader,
                    "result": if c.used { "used" } else { "skipped" },
                    "note": crate::words::share::note(&c.note),
                })
            })
            .collect(),
    )
}

/// A card's public information as `--json` shows it.
pub(crate) fn card_json(summary: &CardSummary) -> Value {
    json!({
        "applet": true,
        "protocol": summary.applet_protocol.map(|v| v.to_string()),
        "state": summary.state.name(),
        "blocked": summary.blocked,
        "tries_left": summary.tries_left,
        "retry_limit": summary.retry_limit,
        "capacity": summary.capacity,
        "fingerprint": summary.fingerprint,
        "set": summary.set.as_ref().map(set_json),
        "openpgp": summary.openpgp,
        "share_in_bundle": summary.share_in_bundle,
    })
}

/// A card's set and place in it, as `--json` shows it.
pub(crate) fn set_json(set: &SetMembership) -> Value {
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
pub(crate) fn set_ref(set: &SetMembership) -> Option<SetRef> {
    SetRef::from_hex(&set.set_id, &set.label)
        .ok()
        .map(|s| s.with_digest(set.digest))
}

/// The cards a ceremony wrote, as `--json` shows them.
pub(crate) fn new_cards_json(cards: &[EnrolledCardReport]) -> Value {
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

/// The two lines people compare with the ceremony minutes, read aloud.
pub(crate) fn anchor_lines(digest: &SetDigest, key_check: &KeyCheck) -> String {
    format!("  Set digest: {digest}\n  Key check:  {key_check}")
}
