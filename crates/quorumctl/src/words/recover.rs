//! The words for recovering the master secret.

use quorum_ceremony::recover::{AnchorMiss, SetSeen, Stopped, Told};
use quorum_ceremony::CeremonyError;

use super::share::listing;

/// The line for one event of recovering the master secret.
pub(crate) fn line(told: &Told) -> String {
    match told {
        Told::Stats { reader, stats } => {
            format!("stats: card in \"{reader}\" recover: {stats} after SELECT")
        }
    }
}

/// Why a card is not of the set the operator chose, naming the option that chose it.
pub(crate) fn anchor_miss(miss: &AnchorMiss) -> String {
    match miss {
        AnchorMiss::NotNamed { name } => format!("is not of the set named \"{name}\" (--set)"),
        AnchorMiss::OtherDigest { digest, prefix } => {
            format!("its set digest {digest} does not start with {prefix} (--expect)")
        }
        AnchorMiss::NotTheBundles { .. } | AnchorMiss::DisagreesWithBundle { .. } => {
            miss.to_string()
        }
    }
}

/// The CLI's message for an error of this ceremony step, when it words it itself.
pub(crate) fn error(e: &CeremonyError) -> Option<String> {
    match e {
        CeremonyError::RecoverStopped(stopped) => {
            Some(format!("cannot recover: {}", self::stopped(stopped)))
        }
        _ => None,
    }
}

/// Why the recovery stopped, and what to bring or choose.
fn stopped(s: &Stopped) -> String {
    match s {
        Stopped::TooFewPresent { present, need, set } => format!(
            "only {present} of the {need} shares needed for set \"{}\" (set digest {}) are present: bring {} more custodian card(s), or use --reader or --any-reader to bring them one after another; no PIN was asked and nothing was written",
            set.label,
            set.digest,
            need - present
        ),
        Stopped::NoneOpened { cards, disagreeing } => format!(
            "no share could be opened{}{}",
            listing(cards),
            disagreeing_hint(*disagreeing)
        ),
        Stopped::TooFewOpened {
            opened,
            need,
            set,
            cards,
            disagreeing,
        } => format!(
            "only {opened} of the {need} shares needed for set \"{}\" (set digest {}) could be opened; bring {} more custodian card(s){}{}",
            set.label,
            set.digest,
            need - opened,
            listing(cards),
            disagreeing_hint(*disagreeing)
        ),
        Stopped::SeveralSets {
            named,
            opened,
            sets,
        } => {
            let how = match named {
                Some(name) => format!("--set \"{name}\" matches cards of {} sets", sets.len()),
                None => format!("cards of {} sets are in sight", sets.len()),
            };
            format!(
                "{how}; {}. Choose the set with --bundle FILE (its bundle) or --expect DIGEST (its set digest from the ceremony minutes, at least 8 hex digits), then run recover again:\n{}",
                if *opened {
                    "the shares opened so far were discarded and nothing was written"
                } else {
                    "no PIN was asked and nothing was written"
                },
                sets_listing(sets)
            )
        }
    }
}

/// What to do about cards that carry the bundle's set id but disagree with it.
fn disagreeing_hint(disagreeing: usize) -> String {
    if disagreeing == 0 {
        return String::new();
    }
    format!("\n{disagreeing} card(s) carry the bundle's set id but disagree with its description: if they are the set's own cards, the bundle was edited; use an intact copy, or --expect with the set digest from the ceremony minutes")
}

/// The sets in sight, one line each.
fn sets_listing(sets: &[SetSeen]) -> String {
    sets.iter()
        .map(|s| {
            format!(
                "  - \"{}\", {}-of-{}, set digest {}; cards: {}",
                s.label,
                s.threshold,
                s.count,
                s.digest,
                s.cards
                    .iter()
                    .map(|c| format!("{} in \"{}\"", c.fingerprint, c.reader))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}
