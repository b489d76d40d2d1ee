//! The words for recovering the master secret.

use quorum_ceremony::recover::{AnchorMiss, SetSeen, Stopped, Told};
use quorum_ceremony::CeremonyError;

use super::share::listing;

/// The line for one event of recovering the master secret.
pub(crate) fn line(told: &Told) -> String {
    match told {
        Told::Stats { reader, stats } => crate::stats::line(reader, "recover", stats),
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
        Stopped::TooFewPresent {
            present,
            need,
            set,
            in_bundle,
        } => format!(
            "only {present} of the {need} shares needed for set \"{}\" (set digest {}) are present: bring {} more custodian card(s), or use --reader or --any-reader to bring them one after another{}; no PIN was asked and nothing was written",
            set.label,
            set.digest,
            need - present,
            match in_bundle {
                0 => String::new(),
                n => format!("; {n} more card(s) present are OpenPGP cards whose public records are in their set's bundle: give it with --bundle FILE and they count"),
            }
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
        Stopped::Unfit { bytes, set } => format!(
            "set \"{}\" (set digest {}) holds a {bytes}-byte secret, which the --key-type given cannot take (aes takes 16, 24 or 32 bytes, generic-secret 1 to 512, ec-p256 and rsa a PKCS#8 private key): choose the --key-type the secret was enrolled as, then run recover again; no PIN was asked and nothing was written",
            set.label, set.digest
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
                SetSeen::listing(sets)
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

#[cfg(test)]
mod tests {
    use super::*;
    use quorum_ceremony::recover::{CardAt, SetName};
    use quorum_protocol::crypto::SetDigest;

    fn digest() -> SetDigest {
        SetDigest([0xab; 32])
    }

    #[test]
    fn stats_and_anchor_misses_are_worded_with_the_option_that_anchors() {
        let stats = quorum_card::card::ApduStats {
            commands: 3,
            ..Default::default()
        };
        assert_eq!(
            line(&Told::Stats {
                reader: "Pad".into(),
                stats
            }),
            format!("stats: card in \"Pad\" recover: {stats} after SELECT")
        );
        let named = AnchorMiss::NotNamed {
            name: "vault".into(),
        };
        assert_eq!(
            anchor_miss(&named),
            "is not of the set named \"vault\" (--set)"
        );
        let digest_miss = AnchorMiss::OtherDigest {
            digest: digest(),
            prefix: "12345678".into(),
        };
        assert_eq!(
            anchor_miss(&digest_miss),
            format!(
                "its set digest {} does not start with 12345678 (--expect)",
                digest()
            )
        );
        for miss in [named, digest_miss] {
            assert!(!miss.to_string().contains("--"), "{miss}");
        }
    }

    #[test]
    fn a_recovery_that_stops_says_which_option_brings_or_chooses_the_set() {
        let set = SetName {
            label: "vault".into(),
            digest: digest(),
        };
        let present = CeremonyError::RecoverStopped(Stopped::TooFewPresent {
            present: 1,
            need: 3,
            set: set.clone(),
            in_bundle: 0,
        });
        assert_eq!(
            error(&present).unwrap(),
            format!("cannot recover: only 1 of the 3 shares needed for set \"vault\" (set digest {}) are present: bring 2 more custodian card(s), or use --reader or --any-reader to bring them one after another; no PIN was asked and nothing was written", digest())
        );
        let opened = CeremonyError::RecoverStopped(Stopped::TooFewOpened {
            opened: 1,
            need: 2,
            set,
            cards: vec![],
            disagreeing: 1,
        });
        assert_eq!(
            error(&opened).unwrap(),
            format!("cannot recover: only 1 of the 2 shares needed for set \"vault\" (set digest {}) could be opened; bring 1 more custodian card(s)\n1 card(s) carry the bundle's set id but disagree with its description: if they are the set's own cards, the bundle was edited; use an intact copy, or --expect with the set digest from the ceremony minutes", digest())
        );
        let none = CeremonyError::RecoverStopped(Stopped::NoneOpened {
            cards: vec![],
            disagreeing: 0,
        });
        assert_eq!(
            error(&none).unwrap(),
            "cannot recover: no share could be opened"
        );
        let several = CeremonyError::RecoverStopped(Stopped::SeveralSets {
            named: Some("vault".into()),
            opened: false,
            sets: vec![SetSeen {
                digest: digest(),
                label: "vault".into(),
                threshold: 2,
                count: 3,
                cards: vec![CardAt {
                    fingerprint: "51d4-77cb-0000-1111".into(),
                    reader: "R0".into(),
                }],
            }],
        });
        assert_eq!(
            error(&several).unwrap(),
            format!("cannot recover: --set \"vault\" matches cards of 1 sets; no PIN was asked and nothing was written. Choose the set with --bundle FILE (its bundle) or --expect DIGEST (its set digest from the ceremony minutes, at least 8 hex digits), then run recover again:\n  - \"vault\", 2-of-3, set digest {}; cards: 51d4-77cb-0000-1111 in \"R0\"", digest())
        );
        for e in [present, opened, none, several] {
            assert!(
                !e.to_string().contains("--"),
                "the library names no option: {e}"
            );
        }
        assert_eq!(error(&CeremonyError::NoCards), None);
    }
}
