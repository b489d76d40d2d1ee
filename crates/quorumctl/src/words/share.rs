//! The words for opening shares: the line said for each card used or skipped, and the
//! notes of the final summary and of error listings.

use quorum_ceremony::share::{LeftTheReader, Note, Refused, SeenCard, Skip, Told, Unusable};

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
        } => format!(
            "share opened ({opened} of {need}) from set \"{}\" version {}",
            set.label, set.set_version
        ),
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
        Skip::Refused { reason } => refused(reason),
    }
}

/// Why the share step refused a card, with quorumctl's advice where a card's or a PIN's
/// failure has some (a reader whose keypad cannot do what quorum asks, for example).
pub(crate) fn refused(reason: &Refused) -> String {
    match reason {
        Refused::Card(e) if !e.card_left() => {
            format!("{reason}{}", super::pin_step::card_advice(e).unwrap_or(""))
        }
        Refused::Pin(e) if !e.card_left() => super::error_message(e),
        other => other.to_string(),
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

#[cfg(test)]
mod tests {
    use super::*;
    use quorum_ceremony::share::Who;

    fn card(used: bool, note: Note) -> SeenCard {
        SeenCard {
            reader: "R0".into(),
            who: Who {
                fingerprint: Some("51d4-77cb-0000-1111".into()),
                text: "51d4-77cb-0000-1111 (custodian 2 \"Bo\")".into(),
            },
            used,
            note,
        }
    }

    #[test]
    fn each_card_is_said_used_or_skipped_with_its_note() {
        let opened = card(
            true,
            Note::ShareOpened {
                opened: 1,
                need: 2,
                from: None,
            },
        );
        assert_eq!(
            line(&Told::Seen(opened.clone())),
            "Used 51d4-77cb-0000-1111 (custodian 2 \"Bo\"): share opened (1 of 2)"
        );
        let from = Note::ShareOpened {
            opened: 2,
            need: 2,
            from: Some(Box::new(quorum_ceremony::inspect::SetMembership {
                label: "vault".into(),
                set_id: "00".repeat(16),
                set_version: 3,
                index: 2,
                threshold: 2,
                count: 3,
                custodian: "Bo".into(),
                digest: quorum_protocol::crypto::SetDigest([1; 32]),
                key_check: quorum_protocol::crypto::KeyCheck([2; 8]),
            })),
        };
        // the custodian is named once (by the card), the set id once (in the result)
        assert_eq!(
            line(&Told::Seen(card(true, from.clone()))),
            "Used 51d4-77cb-0000-1111 (custodian 2 \"Bo\"): share opened (2 of 2) from set \"vault\" version 3"
        );
        assert_eq!(
            crate::render::seen_line(&card(true, from)),
            "  used    51d4-77cb-0000-1111 (custodian 2 \"Bo\") in \"R0\""
        );
        let not_new = card(
            false,
            Note::Skipped {
                reason: Skip::NotTheNewCard {
                    named: "aaaa-bbbb-cccc-dddd".into(),
                },
            },
        );
        assert_eq!(
            seen(&not_new),
            "Skipped 51d4-77cb-0000-1111 (custodian 2 \"Bo\"): is not the new card named with --new (aaaa-bbbb-cccc-dddd)"
        );
        assert!(
            !not_new.note.to_string().contains("--"),
            "the library names no option"
        );
        assert_eq!(note(&Note::NewCardPinAccepted), "new card, PIN accepted");
        assert_eq!(
            note(&Note::NewCardWritten { index: 4 }),
            "new custodian 4 written and checked"
        );
        assert_eq!(
            note(&Note::Skipped {
                reason: Skip::NotUsable {
                    why: Unusable::Blank
                }
            }),
            "is blank: personalise it with `quorumctl init` first if it is to be the new card"
        );
        assert_eq!(
            note(&Note::Skipped {
                reason: Skip::Refused {
                    reason: quorum_ceremony::progress::Shared::new(Refused::NoShare(
                        quorum_protocol::apdu::LifeCycle::Blank
                    ))
                }
            }),
            "holds no share (state: BLANK)"
        );
        for why in [Unusable::Blocked, Unusable::Blank, Unusable::NotInSetYet] {
            assert!(!why.to_string().contains("quorumctl"), "{why}");
        }
        assert_eq!(
            listing(&[opened, not_new]),
            ":\n  - 51d4-77cb-0000-1111 (custodian 2 \"Bo\") in \"R0\": share opened (1 of 2)\n  - 51d4-77cb-0000-1111 (custodian 2 \"Bo\") in \"R0\": is not the new card named with --new (aaaa-bbbb-cccc-dddd)"
        );
        assert_eq!(listing(&[]), "");
    }
}
