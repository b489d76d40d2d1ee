//! The words for resharing a set.

use quorum_ceremony::reshare::{CardProblem, Cause, Declined, Seen, Standing, Stopped, Told};
use quorum_ceremony::CeremonyError;

/// The line for one event of resharing a set.
pub(crate) fn line(told: &Told) -> String {
    match told {
        Told::GatheringBegins => "Phase 1 of 3: open the old set's shares and register the new set's cards; nothing is written yet.".to_owned(),
        Told::Skipped { problem } => format!("Skipped: {}.", card_problem(problem)),
        Told::ReplacesUnfinished { card } => format!(
            "{} holds a set whose writing started and never completed (the ceremony log says so): it joins the new set, and its record will be overwritten.",
            seen(card)
        ),
        Told::Registered { card, n, of } => {
            format!("Card {card}: registered as new-set card {n} of {of}.")
        }
        Told::OldShareOpened { who, opened, need } => {
            format!("Old card {who}: share opened ({opened} of {need}).")
        }
        Told::ReuseRegistered { who, new_key } => format!(
            "Old card {who}: registered to be re-used in the new set, with a new key pair {new_key} (it takes effect when its new record is written; the PIN stays)."
        ),
        Told::RegisteringNewSet { count } => format!(
            "Registering the new set's {count} cards: each custodian inserts their card and enters their PIN."
        ),
        Told::WritingSet {
            label,
            threshold,
            count,
            set_id,
        } => format!(
            "Phase 2 of 3: writing the new set \"{label}\" ({threshold}-of-{count}, id {set_id}); the old set stays complete until the new one is."
        ),
        Told::WritingBegins => "Insert each card registered for the new set again: the fresh cards first, then the re-used old ones.".to_owned(),
        Told::CardWritten {
            card,
            index,
            reused_from,
            standing: now,
        } => {
            let reused = match reused_from {
                Some(old) => format!(
                    ", re-used old card {old}: its old key is destroyed, so its old share can never be opened again; write the new fingerprint on its sleeve"
                ),
                None => String::new(),
            };
            format!(
                "Card {card} (new custodian {index}{reused}): written, read back and opened. Now {}.",
                standing(now)
            )
        }
        Told::SetWritten { standing: now } => format!("Phase 2 done: {}.", standing(now)),
        Told::Wiping { count } => format!(
            "Phase 3 of 3: wiping the {count} old card(s) the new set does not use."
        ),
        Told::WipingBegins => "Insert each old card the new set does not use, in any order, to wipe it.".to_owned(),
        Told::OldCardWiped {
            card,
            keeps_key: false,
            standing: now,
        } => format!(
            "Old card {card} wiped (factory reset; it is blank now). Now {}.",
            standing(now)
        ),
        Told::OldCardWiped {
            card,
            keeps_key: true,
            standing: now,
        } => format!(
            "Old card {card}: its share wiped (an OpenPGP card: its key and PINs stay, so it can join a set again as it is). Now {}.",
            standing(now)
        ),
    }
}

/// The old cards that can still open the old set after a reshare, named, with what to do:
/// `None` when none is left.
pub(crate) fn still_holding(label: &str, cards: &[(String, String)]) -> Option<String> {
    if cards.is_empty() {
        return None;
    }
    let list: Vec<String> = cards
        .iter()
        .map(|(who, fp)| format!("{who} (card {fp})"))
        .collect();
    Some(format!(
        "Old cards that still hold a share of set \"{label}\" (a quorum of them still recovers the master): {}. Wipe each with `quorumctl reset-card` once the new set is in safe hands, or keep them as the old set.",
        list.join(", ")
    ))
}

/// Which sets can be recovered now, in a sentence.
pub(crate) fn standing(s: &Standing) -> String {
    let old = format!(
        "the old set {} ({} of its {} cards untouched, {} needed{})",
        if s.old_complete() {
            "is still complete"
        } else {
            "is no longer complete"
        },
        s.old_untouched(),
        s.old_total,
        s.old_threshold,
        if s.old_complete() {
            "; recover with its cards as before"
        } else {
            ""
        }
    );
    let new = format!(
        "the new set {} ({} of its {} cards written and checked, {} needed)",
        if s.new_complete() {
            "is complete"
        } else {
            "is NOT complete"
        },
        s.new_written,
        s.new_total,
        s.new_threshold
    );
    format!("{old}; {new}")
}

/// A card met in phase 0: "card FINGERPRINT", and its reader with every reader.
fn seen(card: &Seen) -> String {
    let name = card.card.as_deref().unwrap_or("(blank, no key yet)");
    match &card.reader {
        Some(reader) => format!("card {name} in \"{reader}\""),
        None => format!("card {name}"),
    }
}

/// Why a card met in phase 0 cannot take part, naming the card.
fn card_problem(problem: &CardProblem) -> String {
    match problem {
        CardProblem::Unidentified { cause } => super::error_message(cause),
        CardProblem::PinBlocked { card } => format!("{} has a blocked PIN", seen(card)),
        CardProblem::Blank { card } => format!(
            "{} is blank: personalise it with `quorumctl init` to use it in the new set",
            seen(card)
        ),
        CardProblem::AlreadyRegistered { card } => {
            format!("{} is already registered (the same card twice)", seen(card))
        }
        CardProblem::AlreadyPresented { card } => format!(
            "{} was already presented (the same card twice); it is wiped in phase 2",
            seen(card)
        ),
        CardProblem::Pulled { card } => format!(
            "{} left the reader before its step finished, and was not put back",
            seen(card)
        ),
        CardProblem::RecordUnreadable { card, cause } => {
            format!("{}: its record cannot be read: {cause}", seen(card))
        }
        CardProblem::NotAMember { card, cause } | CardProblem::KeyRenewalFailed { card, cause } => {
            format!("{}: {cause}", seen(card))
        }
        CardProblem::PinFailed { card, cause } => {
            format!("{}: {}", seen(card), super::error_message(cause))
        }
        CardProblem::NotOfTheOldSet { card, cause } => format!("{} {cause}", seen(card)),
        CardProblem::NotOpened { who, cause } => {
            format!("{who}: {}", super::share::refused(cause))
        }
        CardProblem::NoKeyRenewal { card, major, minor } => format!(
            "{} runs applet protocol {major}.{minor}, which cannot give a re-used card a new key pair (protocol 1.1 can); a re-used card needs one, so that its old sealed share, which old APDU logs may hold, never opens again. Install the 1.1 applet on it, or bring a fresh card instead of --reuse",
            seen(card)
        ),
        CardProblem::OpenPgpNoKeyRenewal { card } => format!(
            "{} is an OpenPGP card: it cannot get a new key pair while its old one still opens the old set's share, and a re-used card needs one, so that its old sealed share, which old APDU logs may hold, never opens again. Leave it out of --reuse; once the reshare is done, `quorumctl init --replace-key` gives it a new key and it can join a set as a fresh card",
            seen(card)
        ),
        CardProblem::BadNewKey { card, cause } => format!(
            "{}: the new key it answered is invalid ({cause}); it is not a genuine quorum card",
            seen(card)
        ),
    }
}

/// The cards skipped in phase 0, as a list after a refusal ("" when there are none).
fn listing(problems: &[CardProblem]) -> String {
    if problems.is_empty() {
        return String::new();
    }
    let lines: Vec<String> = problems.iter().map(card_problem).collect();
    format!(":\n  - {}", lines.join("\n  - "))
}

/// Why a reshare wrote nothing, with what to do.
fn declined(d: &Declined) -> String {
    match d {
        Declined::SetNotTheBundles { named, bundle } => format!(
            "--set {named} and the bundle's set {bundle} differ: give the bundle of the set to reshare"
        ),
        Declined::NoShareOpened { problems } => format!(
            "cannot recover: no share of the old set could be opened; nothing was written{}",
            listing(problems)
        ),
        Declined::NotEnoughShares {
            opened,
            threshold,
            label,
            problems,
        } => format!(
            "cannot recover: only {opened} of the {threshold} shares of the old set \"{label}\" could be opened; nothing was written{}",
            listing(problems)
        ),
        Declined::ReuseNotPresented { card, problems } => format!(
            "the set was NOT enrolled: --reuse {card}: that card was not presented as a card of the old set; nothing was written{}",
            listing(problems)
        ),
        Declined::CountMismatch {
            asked,
            can_join,
            problems,
        } => format!(
            "the set was NOT enrolled: --shares {asked} was asked but {can_join} cards can join the new set; nothing was written{}",
            listing(problems)
        ),
        Declined::UnfinishedOfAnotherMaster {
            card,
            command,
            label,
        } => format!(
            "the set was NOT enrolled: card {card} holds an unfinished set that a {command} started with another master than the set \"{label}\" being reshared: that {command}'s old set may no longer be complete, so the card may hold part of the only copy of its master; it is not overwritten and nothing was written. Recover that set first, or factory-reset the card (`quorumctl reset-card`) if you are sure"
        ),
        Declined::NoNewSetCard { problems } => format!(
            "the set was NOT enrolled: no card can hold the new set: present personalised cards, or name old cards with --reuse; nothing was written{}",
            listing(problems)
        ),
        Declined::UnsafePlan {
            reused,
            fresh,
            old_threshold,
            old_total,
            new_threshold,
            new_total,
        } => format!(
            "the set was NOT enrolled: re-using {reused} of the old set's cards with only {fresh} fresh card(s) would pass through a moment where neither the old set ({old_threshold}-of-{old_total}) nor the new one ({new_threshold}-of-{new_total}) is complete; nothing was written. Bring more fresh cards, re-use fewer old ones, or lower the new threshold"
        ),
    }
}

/// A stopped reshare: what stopped it, where the sets stand, and what to do.
fn stopped(s: &Stopped) -> String {
    let cause = match &s.cause {
        Cause::Failed(e) => super::error_message(e),
        Cause::StopRequested => "stopped on request (Ctrl-C or a termination signal) after finishing the card step in progress".to_owned(),
        Cause::BundleNotWritten(e) => {
            format!("the new set is on its cards, but its bundle could not be written: {e}")
        }
        Cause::NotAllWritten => "not every registered card was written".to_owned(),
        Cause::WipeFailed {
            card,
            reader,
            source,
        } => format!("wiping card {card} in \"{reader}\" failed: {source}"),
    };
    let state = match &s.standing {
        None => "nothing was written, so the old set is as it was".to_owned(),
        Some(now) => {
            let follow = match s.cause {
                Cause::StopRequested if s.phase == 2 => "; the old cards not yet wiped still hold their old shares: wipe them with `quorumctl reset-card` (the new set does not need them)",
                Cause::StopRequested if now.new_written > 0 => "; the new set's written cards hold an unfinished set: run the reshare again with --replace-unfinished (and the same ceremony log) to overwrite them",
                _ => "",
            };
            format!("{}{follow}", standing(now))
        }
    };
    format!(
        "the reshare stopped in phase {} of 3: {cause}. Where the sets stand: {state}",
        s.phase + 1
    )
}

/// The CLI's message for an error of this ceremony step, when it words it itself.
pub(crate) fn error(e: &CeremonyError) -> Option<String> {
    match e {
        CeremonyError::ReshareDeclined(d) => Some(declined(d)),
        CeremonyError::ReshareNotMade(e) => Some(format!(
            "the set was NOT enrolled: {e}; nothing was written"
        )),
        CeremonyError::ReshareStopped(s) => Some(stopped(s)),
        _ => None,
    }
}

#[cfg(test)]
mod still_holding_tests {
    use super::still_holding;

    #[test]
    fn the_old_cards_left_holding_shares_are_named_with_what_to_do() {
        assert_eq!(still_holding("vault", &[]), None);
        let cards = [
            (
                "custodian 2 \"Bob\"".to_owned(),
                "1111-2222-3333-4444".to_owned(),
            ),
            ("custodian 3".to_owned(), "5555-6666-7777-8888".to_owned()),
        ];
        assert_eq!(
            still_holding("vault", &cards).unwrap(),
            "Old cards that still hold a share of set \"vault\" (a quorum of them still recovers the master): custodian 2 \"Bob\" (card 1111-2222-3333-4444), custodian 3 (card 5555-6666-7777-8888). Wipe each with `quorumctl reset-card` once the new set is in safe hands, or keep them as the old set."
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exit::{Exit, ExitStatus};
    use quorum_card::card::CardError;
    use quorum_ceremony::progress::Shared;

    /// An old 3-of-5 set, a new 2-of-3 set.
    fn standing(old_gone: usize, new_written: usize) -> Standing {
        Standing {
            old_threshold: 3,
            old_total: 5,
            old_gone,
            new_threshold: 2,
            new_total: 3,
            new_written,
        }
    }

    fn at(reader: Option<&str>) -> Seen {
        Seen {
            card: Some("51d4-77cb".into()),
            reader: reader.map(str::to_owned),
        }
    }

    fn stopped_error(phase: u8, cause: Cause, standing: Option<Standing>) -> CeremonyError {
        CeremonyError::ReshareStopped(Box::new(Stopped {
            phase,
            cause,
            standing,
        }))
    }

    #[test]
    fn where_the_sets_stand_says_which_set_recovers() {
        assert_eq!(
            super::standing(&standing(0, 1)),
            "the old set is still complete (5 of its 5 cards untouched, 3 needed; recover with its cards as before); the new set is NOT complete (1 of its 3 cards written and checked, 2 needed)"
        );
        assert_eq!(
            super::standing(&standing(3, 2)),
            "the old set is no longer complete (2 of its 5 cards untouched, 3 needed); the new set is complete (2 of its 3 cards written and checked, 2 needed)"
        );
    }

    #[test]
    fn each_event_of_a_reshare_has_its_line() {
        let cases: Vec<(Told, &str)> = vec![
            (Told::GatheringBegins, "Phase 1 of 3: open the old set's shares and register the new set's cards; nothing is written yet."),
            (
                Told::Skipped { problem: CardProblem::PinBlocked { card: at(Some("R0")) } },
                "Skipped: card 51d4-77cb in \"R0\" has a blocked PIN.",
            ),
            (
                Told::ReplacesUnfinished { card: at(None) },
                "card 51d4-77cb holds a set whose writing started and never completed (the ceremony log says so): it joins the new set, and its record will be overwritten.",
            ),
            (
                Told::Registered { card: "51d4-77cb".into(), n: 1, of: 3 },
                "Card 51d4-77cb: registered as new-set card 1 of 3.",
            ),
            (
                Told::OldShareOpened { who: "aa11 (custodian 2 \"Bo\")".into(), opened: 1, need: 3 },
                "Old card aa11 (custodian 2 \"Bo\"): share opened (1 of 3).",
            ),
            (
                Told::ReuseRegistered { who: "aa11 (custodian 2 \"Bo\")".into(), new_key: "bb22".into() },
                "Old card aa11 (custodian 2 \"Bo\"): registered to be re-used in the new set, with a new key pair bb22 (it takes effect when its new record is written; the PIN stays).",
            ),
            (
                Told::RegisteringNewSet { count: 3 },
                "Registering the new set's 3 cards: each custodian inserts their card and enters their PIN.",
            ),
            (
                Told::WritingSet { label: "vault 2".into(), threshold: 2, count: 3, set_id: "00ff".into() },
                "Phase 2 of 3: writing the new set \"vault 2\" (2-of-3, id 00ff); the old set stays complete until the new one is.",
            ),
            (
                Told::WritingBegins,
                "Insert each card registered for the new set again: the fresh cards first, then the re-used old ones.",
            ),
            (
                Told::CardWritten { card: "51d4-77cb".into(), index: 1, reused_from: None, standing: standing(0, 1) },
                "Card 51d4-77cb (new custodian 1): written, read back and opened. Now the old set is still complete (5 of its 5 cards untouched, 3 needed; recover with its cards as before); the new set is NOT complete (1 of its 3 cards written and checked, 2 needed).",
            ),
            (
                Told::CardWritten { card: "bb22".into(), index: 2, reused_from: Some("aa11".into()), standing: standing(1, 2) },
                "Card bb22 (new custodian 2, re-used old card aa11: its old key is destroyed, so its old share can never be opened again; write the new fingerprint on its sleeve): written, read back and opened. Now the old set is still complete (4 of its 5 cards untouched, 3 needed; recover with its cards as before); the new set is complete (2 of its 3 cards written and checked, 2 needed).",
            ),
            (
                Told::SetWritten { standing: standing(0, 3) },
                "Phase 2 done: the old set is still complete (5 of its 5 cards untouched, 3 needed; recover with its cards as before); the new set is complete (3 of its 3 cards written and checked, 2 needed).",
            ),
            (
                Told::Wiping { count: 2 },
                "Phase 3 of 3: wiping the 2 old card(s) the new set does not use.",
            ),
            (
                Told::WipingBegins,
                "Insert each old card the new set does not use, in any order, to wipe it.",
            ),
            (
                Told::OldCardWiped { card: "cc33".into(), keeps_key: false, standing: standing(3, 3) },
                "Old card cc33 wiped (factory reset; it is blank now). Now the old set is no longer complete (2 of its 5 cards untouched, 3 needed); the new set is complete (3 of its 3 cards written and checked, 2 needed).",
            ),
            (
                Told::OldCardWiped { card: "dd44".into(), keeps_key: true, standing: standing(3, 3) },
                "Old card dd44: its share wiped (an OpenPGP card: its key and PINs stay, so it can join a set again as it is). Now the old set is no longer complete (2 of its 5 cards untouched, 3 needed); the new set is complete (3 of its 3 cards written and checked, 2 needed).",
            ),
        ];
        for (told, want) in cases {
            assert_eq!(line(&told), want, "{told:?}");
        }
    }

    #[test]
    fn each_card_problem_names_the_card_and_what_to_do() {
        let blank = Seen {
            card: None,
            reader: Some("R1".into()),
        };
        let cases: Vec<(CardProblem, &str)> = vec![
            (
                CardProblem::Unidentified { cause: Shared::new(CeremonyError::NoCards) },
                "no card is inserted in any reader: insert the custodian cards (or use --reader to swap them through one reader)",
            ),
            (
                CardProblem::Pulled { card: at(Some("R0")) },
                "card 51d4-77cb in \"R0\" left the reader before its step finished, and was not put back",
            ),
            (
                CardProblem::AlreadyPresented { card: at(None) },
                "card 51d4-77cb was already presented (the same card twice); it is wiped in phase 2",
            ),
            (CardProblem::PinBlocked { card: blank.clone() }, "card (blank, no key yet) in \"R1\" has a blocked PIN"),
            (
                CardProblem::Blank { card: blank },
                "card (blank, no key yet) in \"R1\" is blank: personalise it with `quorumctl init` to use it in the new set",
            ),
            (CardProblem::AlreadyRegistered { card: at(None) }, "card 51d4-77cb is already registered (the same card twice)"),
            (
                CardProblem::RecordUnreadable { card: at(Some("R0")), cause: "too short".into() },
                "card 51d4-77cb in \"R0\": its record cannot be read: too short",
            ),
            (CardProblem::NotAMember { card: at(None), cause: "holds no share".into() }, "card 51d4-77cb: holds no share"),
            (
                CardProblem::NotOfTheOldSet { card: at(None), cause: "belongs to another set".into() },
                "card 51d4-77cb belongs to another set",
            ),
            (
                CardProblem::PinFailed {
                    card: at(None),
                    cause: Shared::new(CeremonyError::card("R0", quorum_card::card::CardError::PinpadRefused)),
                },
                "card 51d4-77cb: card in \"R0\": the reader refused quorum's PIN entry request (6B80): its firmware does not support quorum's PIN format (6 to 12 ASCII digits in a 12-byte block); nothing was sent to the card. Add --no-pinpad to type the PIN on this computer",
            ),
            (
                CardProblem::NotOpened {
                    who: "aa11 (custodian 1 \"A\")".into(),
                    cause: Shared::new(quorum_ceremony::share::Refused::NoShare(quorum_protocol::apdu::LifeCycle::Blank)),
                },
                "aa11 (custodian 1 \"A\"): holds no share (state: BLANK)",
            ),
            (
                CardProblem::NoKeyRenewal { card: at(Some("R0")), major: 1, minor: 0 },
                "card 51d4-77cb in \"R0\" runs applet protocol 1.0, which cannot give a re-used card a new key pair (protocol 1.1 can); a re-used card needs one, so that its old sealed share, which old APDU logs may hold, never opens again. Install the 1.1 applet on it, or bring a fresh card instead of --reuse",
            ),
            (CardProblem::KeyRenewalFailed { card: at(None), cause: "pulled".into() }, "card 51d4-77cb: pulled"),
            (
                CardProblem::OpenPgpNoKeyRenewal { card: at(Some("P0")) },
                "card 51d4-77cb in \"P0\" is an OpenPGP card: it cannot get a new key pair while its old one still opens the old set's share, and a re-used card needs one, so that its old sealed share, which old APDU logs may hold, never opens again. Leave it out of --reuse; once the reshare is done, `quorumctl init --replace-key` gives it a new key and it can join a set as a fresh card",
            ),
            (
                CardProblem::BadNewKey { card: at(None), cause: "not on the curve".into() },
                "card 51d4-77cb: the new key it answered is invalid (not on the curve); it is not a genuine quorum card",
            ),
        ];
        for (problem, want) in cases {
            assert_eq!(card_problem(&problem), want, "{problem:?}");
            assert!(
                !problem.to_string().contains("--"),
                "the library names no option: {problem}"
            );
            assert!(!problem.to_string().contains("quorumctl"), "{problem}");
        }
    }

    #[test]
    fn a_declined_reshare_says_what_to_do_and_exits_as_before() {
        let problems = vec![CardProblem::PinBlocked {
            card: at(Some("R0")),
        }];
        let cases: Vec<(Declined, &str, ExitStatus)> = vec![
            (
                Declined::SetNotTheBundles { named: "aa".into(), bundle: "bb".into() },
                "--set aa and the bundle's set bb differ: give the bundle of the set to reshare",
                ExitStatus::Usage,
            ),
            (
                Declined::NoShareOpened { problems: problems.clone() },
                "cannot recover: no share of the old set could be opened; nothing was written:\n  - card 51d4-77cb in \"R0\" has a blocked PIN",
                ExitStatus::NotEnoughCards,
            ),
            (
                Declined::NotEnoughShares { opened: 1, threshold: 3, label: "vault".into(), problems: vec![] },
                "cannot recover: only 1 of the 3 shares of the old set \"vault\" could be opened; nothing was written",
                ExitStatus::NotEnoughCards,
            ),
            (
                Declined::ReuseNotPresented { card: "aa11".into(), problems: problems.clone() },
                "the set was NOT enrolled: --reuse aa11: that card was not presented as a card of the old set; nothing was written:\n  - card 51d4-77cb in \"R0\" has a blocked PIN",
                ExitStatus::Card,
            ),
            (
                Declined::CountMismatch { asked: 3, can_join: 2, problems: vec![] },
                "the set was NOT enrolled: --shares 3 was asked but 2 cards can join the new set; nothing was written",
                ExitStatus::Card,
            ),
            (
                Declined::UnfinishedOfAnotherMaster { card: "aa11".into(), command: "reshare".into(), label: "vault".into() },
                "the set was NOT enrolled: card aa11 holds an unfinished set that a reshare started with another master than the set \"vault\" being reshared: that reshare's old set may no longer be complete, so the card may hold part of the only copy of its master; it is not overwritten and nothing was written. Recover that set first, or factory-reset the card (`quorumctl reset-card`) if you are sure",
                ExitStatus::Card,
            ),
            (
                Declined::NoNewSetCard { problems: vec![] },
                "the set was NOT enrolled: no card can hold the new set: present personalised cards, or name old cards with --reuse; nothing was written",
                ExitStatus::Card,
            ),
            (
                Declined::UnsafePlan { reused: 2, fresh: 0, old_threshold: 2, old_total: 2, new_threshold: 2, new_total: 2 },
                "the set was NOT enrolled: re-using 2 of the old set's cards with only 0 fresh card(s) would pass through a moment where neither the old set (2-of-2) nor the new one (2-of-2) is complete; nothing was written. Bring more fresh cards, re-use fewer old ones, or lower the new threshold",
                ExitStatus::Card,
            ),
        ];
        for (d, want, status) in cases {
            let e = CeremonyError::ReshareDeclined(d);
            assert_eq!(super::super::error_message(&e), want);
            assert_eq!(e.exit_status(), status, "{e}");
            assert!(
                !e.to_string().contains("--"),
                "the library names no option: {e}"
            );
            assert!(!e.to_string().contains("quorumctl"), "{e}");
        }
    }

    #[test]
    fn a_stopped_reshare_says_where_the_sets_stand_and_what_to_do() {
        let gathering = stopped_error(
            0,
            Cause::Failed(Box::new(CeremonyError::ReshareDeclined(
                Declined::NotEnoughShares {
                    opened: 1,
                    threshold: 3,
                    label: "vault".into(),
                    problems: vec![],
                },
            ))),
            None,
        );
        assert_eq!(
            error(&gathering).unwrap(),
            "the reshare stopped in phase 1 of 3: cannot recover: only 1 of the 3 shares of the old set \"vault\" could be opened; nothing was written. Where the sets stand: nothing was written, so the old set is as it was"
        );
        assert_eq!(gathering.exit_status(), ExitStatus::NotEnoughCards);

        let written = stopped_error(1, Cause::StopRequested, Some(standing(0, 1)));
        assert_eq!(
            error(&written).unwrap(),
            "the reshare stopped in phase 2 of 3: stopped on request (Ctrl-C or a termination signal) after finishing the card step in progress. Where the sets stand: the old set is still complete (5 of its 5 cards untouched, 3 needed; recover with its cards as before); the new set is NOT complete (1 of its 3 cards written and checked, 2 needed); the new set's written cards hold an unfinished set: run the reshare again with --replace-unfinished (and the same ceremony log) to overwrite them"
        );
        assert_eq!(written.exit_status(), ExitStatus::Interrupted);

        let before_writing = stopped_error(0, Cause::StopRequested, Some(standing(0, 0)));
        assert!(error(&before_writing)
            .unwrap()
            .ends_with("(0 of its 3 cards written and checked, 2 needed)"));
        assert_eq!(before_writing.exit_status(), ExitStatus::Interrupted);

        let wiping = stopped_error(2, Cause::StopRequested, Some(standing(1, 3)));
        assert!(error(&wiping).unwrap().ends_with("; the old cards not yet wiped still hold their old shares: wipe them with `quorumctl reset-card` (the new set does not need them)"));

        let wipe_failed = stopped_error(
            2,
            Cause::WipeFailed {
                card: "cc33".into(),
                reader: "R2".into(),
                source: CardError::PinBlocked,
            },
            Some(standing(1, 3)),
        );
        assert!(error(&wipe_failed).unwrap().starts_with(
            "the reshare stopped in phase 3 of 3: wiping card cc33 in \"R2\" failed: "
        ));
        assert_eq!(wipe_failed.exit_status(), ExitStatus::Incomplete);

        let unpublished = stopped_error(
            1,
            Cause::BundleNotWritten("disk full".into()),
            Some(standing(0, 3)),
        );
        assert_eq!(
            error(&unpublished).unwrap(),
            "the reshare stopped in phase 2 of 3: the new set is on its cards, but its bundle could not be written: disk full. Where the sets stand: the old set is still complete (5 of its 5 cards untouched, 3 needed; recover with its cards as before); the new set is complete (3 of its 3 cards written and checked, 2 needed)"
        );
        assert_eq!(unpublished.exit_status(), ExitStatus::Incomplete);

        let short = stopped_error(1, Cause::NotAllWritten, Some(standing(0, 1)));
        assert!(error(&short).unwrap().starts_with(
            "the reshare stopped in phase 2 of 3: not every registered card was written. "
        ));

        let pulled = stopped_error(
            1,
            Cause::Failed(Box::new(CeremonyError::WrittenUnchecked {
                card: "aa11".into(),
                reader: "R0".into(),
            })),
            Some(standing(1, 0)),
        );
        assert_eq!(pulled.exit_status(), ExitStatus::Incomplete);

        for e in [
            gathering,
            written,
            wiping,
            wipe_failed,
            unpublished,
            short,
            pulled,
        ] {
            assert!(
                !e.to_string().contains("--"),
                "the library names no option: {e}"
            );
            assert!(!e.to_string().contains("quorumctl"), "{e}");
        }
    }

    #[test]
    fn a_new_set_that_cannot_be_made_is_not_enrolled() {
        use quorum_protocol::sharing::{RecoverError, ReshareError};
        let e =
            CeremonyError::ReshareNotMade(ReshareError::Recover(RecoverError::SharesDoNotMatch));
        let message = error(&e).unwrap();
        assert!(
            message.starts_with("the set was NOT enrolled: the old set could not be recovered: "),
            "{message}"
        );
        assert!(message.ends_with("; nothing was written"), "{message}");
        assert_eq!(e.exit_status(), ExitStatus::Card);
    }
}
