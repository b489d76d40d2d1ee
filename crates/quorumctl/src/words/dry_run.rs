//! The words of a dry run (`--dry-run`): what was checked, what each card in a reader would
//! do, what the real run would still ask for, and what only the real run checks.

use quorum_ceremony::dry_run::{AdminPinFrom, DryRun, Needed, Part, Planned, Unchecked};
use quorum_ceremony::pins::PinPath;

use super::pin_step::pin_path;

/// The report of a dry run of `command`, one line per entry; the verdict ([`GO_AHEAD`] or
/// the refusal) is the caller's.
pub(crate) fn lines(command: &str, dry: &DryRun) -> Vec<String> {
    let mut lines = vec![format!(
        "Dry run of {command}: no PIN was asked, no card or file was written, nothing was logged."
    )];
    if dry.cards.is_empty() {
        lines.push("  No card is in a reader now.".to_owned());
    }
    lines.extend(dry.cards.iter().map(|c| format!("  {}", card_line(c))));
    if let Some(still) = &dry.still_needed {
        let what = match still.role {
            Needed::Custodians => "custodian card",
            Needed::Quorum => "card of the set to open the quorum",
            Needed::NewCard => "new card",
            Needed::NewSet => "card for the new set",
        };
        let plural = if still.cards == 1 { "" } else { "s" };
        let any_of = match (still.any_of.as_slice(), still.role) {
            ([], _) => String::new(),
            (names, Needed::Custodians | Needed::NewCard) => format!(": {}", names.join(", ")),
            (names, _) => format!(" (any {} of {})", still.cards, names.join(", ")),
        };
        let what = match (still.cards, still.role) {
            (1, _) => what.to_owned(),
            (_, Needed::Quorum) => "cards of the set to open the quorum".to_owned(),
            _ => format!("{what}{plural}"),
        };
        let sep = if any_of.starts_with(':') { ";" } else { "," };
        lines.push(format!(
            "Still needed: {} more {what}{any_of}{sep} asked for as the ceremony goes.",
            still.cards
        ));
    }
    let left: Vec<&str> = dry.unchecked.iter().map(unchecked).collect();
    if !left.is_empty() {
        lines.push(format!("Left to the real run: {}.", left.join("; ")));
    }
    lines
}

/// The last line of a dry run the real run would go through.
pub(crate) const GO_AHEAD: &str =
    "Nothing stands in the way that a dry run can see: run the same command without --dry-run.";

/// One card: where it is, whose it is, what it would do and where its PIN would be typed.
fn card_line(c: &Planned) -> String {
    let card = match (&c.card, &c.custodian) {
        (Some(fp), Some(name)) => format!("{name} (card {fp})"),
        (Some(fp), None) => format!("card {fp}"),
        (None, _) => "card".to_owned(),
    };
    let pin = match &c.pin {
        Some(PinPath::Pinpad) => format!("; PIN on the keypad of reader \"{}\"", c.reader),
        Some(path) => format!("; {}", pin_path(path)),
        None => String::new(),
    };
    format!("\"{}\": {card}: {}{pin}", c.reader, part(&c.part))
}

/// What a card would do, after "card F: ".
fn part(part: &Part) -> String {
    match part {
        Part::Personalise { retry_limit } => format!(
            "blank; would get its PIN (typed twice) and a key pair made on the card, with {retry_limit} PIN tries"
        ),
        Part::KeepOpenPgpKey { confirmed: true } => {
            "its cv25519 decryption key would be used for quorum (--use-existing-key)".to_owned()
        }
        Part::KeepOpenPgpKey { confirmed: false } => {
            "its cv25519 decryption key would be used for quorum once its owner answers yes".to_owned()
        }
        Part::GenerateOpenPgpKey {
            destroys,
            confirmed,
            admin_pin,
        } => {
            let admin = match admin_pin {
                AdminPinFrom::Keypad => "typed on the reader's keypad",
                AdminPinFrom::File => "from the file given",
                AdminPinFrom::Prompt => "typed on this computer, without echo",
            };
            let destroys = match (destroys, confirmed) {
                (None, _) => String::new(),
                (Some(key), true) => format!(", DESTROYING key {key} (confirmed)"),
                (Some(key), false) => format!(
                    ", DESTROYING key {key} once its name is typed as confirmation"
                ),
            };
            format!("a cv25519 decryption key would be generated with the admin PIN ({admin}){destroys}")
        }
        Part::NewShare {
            index,
            size,
            record_in_bundle,
            reused,
        } => {
            let mut text = match (reused, index) {
                (true, _) => {
                    "re-used: its key would be renewed and its old share overwritten by one of the new set".to_owned()
                }
                (false, Some(index)) => format!("would hold share {index}"),
                (false, None) => "would hold a share of the new set".to_owned(),
            };
            if let Some((need, have)) = size {
                text.push_str(&format!(" ({need} of its {have} bytes)"));
            }
            if *record_in_bundle {
                text.push_str("; an OpenPGP card: its public record lives only in the bundle");
            }
            text
        }
        Part::OpensShare { index } => format!("would open share {index}"),
        Part::NewCard => "the new card: would be written with the next share of the set".to_owned(),
        Part::Wiped { keeps_key: false } => {
            "an old card not re-used: would be factory-reset once the new set is written and checked".to_owned()
        }
        Part::Wiped { keeps_key: true } => {
            "an old OpenPGP card: its share would be wiped once the new set is written and checked (its key and PINs stay)".to_owned()
        }
        Part::NotNeeded => "not needed: left as it is".to_owned(),
        Part::ChangesPin { tries_left } => format!(
            "its PIN would be changed ({tries_left} tries left of the current PIN)"
        ),
        Part::Erased { share, confirmed } => {
            let what = match share {
                Some(set) => format!(
                    "would be erased, DESTROYING share {} of set \"{}\" ({}-of-{})",
                    set.index, set.label, set.threshold, set.count
                ),
                None => "would be erased (it holds no share)".to_owned(),
            };
            match confirmed {
                true => format!("{what}; --confirm names it"),
                false => format!("{what}, once its fingerprint is typed as confirmation"),
            }
        }
        Part::Refused { why } => format!("would be left out: {why}"),
    }
}

/// A check left to the real run, in a few words.
fn unchecked(u: &Unchecked) -> &'static str {
    match u {
        Unchecked::RecordSizes => {
            "whether each record fits its card (the key's length is known after the token's login)"
        }
        Unchecked::CardsToCome => "the cards still to come, as they are inserted",
        Unchecked::Pins => "each PIN, by its card",
        Unchecked::NewPin => "the new PIN, typed twice",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use quorum_ceremony::dry_run::StillNeeded;
    use quorum_ceremony::pins::PinOrigin;

    #[test]
    fn a_dry_run_names_each_card_its_part_and_what_is_still_needed() {
        let dry = DryRun {
            cards: vec![
                Planned {
                    reader: "Pad 00 00".into(),
                    card: Some("51d4-77cb-be13-c565".into()),
                    custodian: Some("Alice".into()),
                    part: Part::NewShare {
                        index: None,
                        size: None,
                        record_in_bundle: false,
                        reused: false,
                    },
                    pin: Some(PinPath::Pinpad),
                },
                Planned {
                    reader: "Plain 00 00".into(),
                    card: None,
                    custodian: None,
                    part: Part::Refused {
                        why: "is blank".into(),
                    },
                    pin: None,
                },
            ],
            still_needed: Some(StillNeeded {
                cards: 2,
                any_of: vec!["Dave".into(), "Eve".into()],
                role: Needed::Custodians,
            }),
            unchecked: vec![Unchecked::Pins, Unchecked::CardsToCome],
        };
        assert_eq!(
            lines("enroll", &dry),
            [
                "Dry run of enroll: no PIN was asked, no card or file was written, nothing was logged.",
                "  \"Pad 00 00\": Alice (card 51d4-77cb-be13-c565): would hold a share of the new set; PIN on the keypad of reader \"Pad 00 00\"",
                "  \"Plain 00 00\": card: would be left out: is blank",
                "Still needed: 2 more custodian cards: Dave, Eve; asked for as the ceremony goes.",
                "Left to the real run: each PIN, by its card; the cards still to come, as they are inserted.",
            ]
        );
        assert_eq!(
            GO_AHEAD,
            "Nothing stands in the way that a dry run can see: run the same command without --dry-run."
        );
    }

    #[test]
    fn a_reset_dry_run_says_what_it_would_destroy_and_a_pin_file_is_named() {
        let erased = Part::Erased {
            share: None,
            confirmed: false,
        };
        assert_eq!(
            part(&erased),
            "would be erased (it holds no share), once its fingerprint is typed as confirmation"
        );
        let c = Planned {
            reader: "R".into(),
            card: Some("F".into()),
            custodian: None,
            part: Part::ChangesPin { tries_left: 3 },
            pin: Some(PinPath::Host {
                origin: PinOrigin::File("pins.txt".into()),
                pinpad_bypassed: false,
            }),
        };
        assert_eq!(
            card_line(&c),
            "\"R\": card F: its PIN would be changed (3 tries left of the current PIN); PIN from file pins.txt"
        );
    }
}
