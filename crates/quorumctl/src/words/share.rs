//! The words for opening shares: the line said for each card used or skipped, and the
//! notes of the final summary and of error listings.

use quorum_ceremony::share::{Note, SeenCard, Skip, Told, Unusable};
use quorum_ceremony::CeremonyError;

/// The line for one event of opening shares.
pub(crate) fn line(told: &Told) -> String {
    match told {
        Told::Seen(card) => seen(card),
    }
}

/// The line said at the table when a card was used or skipped.
pub(crate) fn seen(c: &SeenCard) -> String {
    format!(
        "{} {}: {}",
        if c.used { "Used" } else { "Skipped" },
        c.who.text,
        note(&c.note)
    )
}

/// What happened to a card, or why it was skipped.
pub(crate) fn note(n: &Note) -> String {
    match n {
        Note::ShareOpened {
            opened,
            need,
            from: Some(set),
        } => format!("share opened ({opened} of {need}) from {set}"),
        Note::ShareOpened {
            opened,
            need,
            from: None,
        } => format!("share opened ({opened} of {need})"),
        Note::NewCardPinAccepted => "new card, PIN accepted".to_owned(),
        Note::NewCardWritten { index } => format!("new custodian {index} written and checked"),
        Note::Skipped { reason } => skip(reason),
    }
}

/// Why a card was skipped.
fn skip(s: &Skip) -> String {
    match s {
        Skip::NotAnchored { why, set } => {
            format!("{}; it belongs to {set}", super::recover::anchor_miss(why))
        }
        Skip::NotTheNewCard { named } => format!("is not the new card named with --new ({named})"),
        Skip::NotUsable { why } => unusable(*why).to_owned(),
        Skip::Refused { reason } => reason.clone(),
    }
}

/// Why add-card cannot use a card that is not of the set.
fn unusable(why: Unusable) -> &'static str {
    match why {
        Unusable::Blocked => "its PIN is blocked; only a factory reset revives it",
        Unusable::Blank => {
            "is blank: personalise it with `quorumctl init` first if it is to be the new card"
        }
        Unusable::NotInSetYet => "is not in the set yet: insert it when the new card is asked for, after the custodians' cards",
    }
}

/// The cards as a list for an error message ("" when there are none).
pub(crate) fn listing(cards: &[SeenCard]) -> String {
    if cards.is_empty() {
        return String::new();
    }
    let lines: Vec<String> = cards
        .iter()
        .map(|c| format!("  - {} in \"{}\": {}", c.who.text, c.reader, note(&c.note)))
        .collect();
    format!(":\n{}", lines.join("\n"))
}

/// The CLI's message for an error of this ceremony step, when it words it itself.
pub(crate) fn error(_e: &CeremonyError) -> Option<String> {
    None
}
