//! The words for resharing a set.

use quorum_ceremony::reshare::{
    CardProblem, Cause, Declined, Seen, Standing, Stopped, Told, Unused,
};
use quorum_ceremony::CeremonyError;

/// The line for one event of resharing a set.
pub(crate) fn line(told: &Told) -> String {
    match told {
        Told::GatheringBegins => "Phase 0 of 2: open the old set's shares and register the new set's cards; nothing is written yet.".to_owned(),
        Told::Skipped { problem } => format!("Skipped: {}.", card_problem(problem)),
        Told::ReplacesUnfinished { card } => format!(
            "{} holds a set whose writing started and never completed (the ceremony log says so): it joins the new set, and its record will be overwritten.",
            seen(card)
        ),
        Told::Registered { card } => {
            format!("Card {card}: PIN accepted, registered for the new set.")
        }
        Told::OldShareOpened { who, opened, need } => {
            format!("Old card {who}: share opened ({opened} of {need}).")
        }
        Told::ReuseRegistered { who, new_key } => format!(
            "Old card {who}: registered to be re-used in the new set, with a new key pair {new_key} (it takes effect when its new record is written; the PIN stays)."
        ),
        Told::QuorumShareOpened { who, opened, need } => {
            format!("Used {who}: share opened ({opened} of {need}).")
        }
        Told::NotUsed { who, why } => format!("Skipped {who}: {}", unused(why)),
        Told::RegisteringNewSet { count } => format!(
            "Registering the new set's {count} cards: each custodian inserts their card and enters their PIN."
        ),
        Told::NewSetCardRegistered {
            card,
            n,
            of,
            new_key,
        } => {
            let renewed = match new_key {
                Some(new_key) => format!(
                    " (re-used from the old set as card {card}; its new key pair {new_key} takes effect when its new record is written, and the PIN stays)"
                ),
                None => String::new(),
            };
            format!("Card {card}: PIN accepted, registered as new-set card {n} of {of}{renewed}.")
        }
        Told::Refused { problem } => {
            format!("Refused: {}. Insert another card.", card_problem(problem))
        }
        Told::WritingSet {
            label,
            threshold,
            count,
            set_id,
        } => format!(
            "Phase 1 of 2: writing the new set \"{label}\" ({threshold}-of-{count}, id {set_id}); the old set stays complete until the new one is."
        ),
        Told::WritingBegins => "Phase 1: insert each card registered for the new set again, in any order; the fresh cards first, then the re-used old ones.".to_owned(),
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
        Told::SetWritten { standing: now } => format!("Phase 1 done: {}.", standing(now)),
        Told::Wiping { count } => format!(
            "Phase 2 of 2: wiping the {count} old card(s) the new set does not use."
        ),
        Told::WipingBegins => "Phase 2: insert each old card the new set does not use, in any order, to wipe it.".to_owned(),
        Told::OldCardWiped {
            card,
            standing: now,
        } => format!(
            "Old card {card} wiped (factory reset; it is blank now). {}.",
            standing(now)
        ),
    }
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
        CardProblem::Unidentified { cause } | CardProblem::NotKept { cause } => cause.clone(),
        CardProblem::PinBlocked { card } => format!("{} has a blocked PIN", seen(card)),
        CardProblem::Blank { card } => match card.reader {
            // every reader: found among the old set's cards
            Some(_) => format!(
                "{} is blank: personalise it with `quorumctl init` to use it in the new set",
                seen(card)
            ),
            None => format!(
                "{} is blank: personalise it with `quorumctl init` first",
                seen(card)
            ),
        },
        CardProblem::AlreadyRegistered { card } => {
            format!("{} is already registered (the same card twice)", seen(card))
        }
        CardProblem::RecordUnreadable { card, cause } => {
            format!("{}: its record cannot be read: {cause}", seen(card))
        }
        CardProblem::NotAMember { card, cause }
        | CardProblem::PinFailed { card, cause }
        | CardProblem::KeyRenewalFailed { card, cause } => format!("{}: {cause}", seen(card)),
        CardProblem::NotOfTheOldSet { card, cause } => format!("{} {cause}", seen(card)),
        CardProblem::NotNamedForReuse { card } => format!(
            "{} holds a share of the old set and was not named with --reuse; its share is kept",
            seen(card)
        ),
        CardProblem::NotOpened { who, cause } => format!("{who}: {cause}"),
        CardProblem::NoKeyRenewal { card, major, minor } => format!(
            "{} runs applet protocol {major}.{minor}, which cannot give a re-used card a new key pair (protocol 1.1 can); a re-used card needs one, so that its old sealed share, which old APDU logs may hold, never opens again. Install the 1.1 applet on it, or bring a fresh card instead of --reuse",
            seen(card)
        ),
        CardProblem::BadNewKey { card, cause } => format!(
            "{}: the new key it answered is invalid ({cause}); it is not a genuine quorum card",
            seen(card)
        ),
        CardProblem::NotUsed { who, reader, why } => {
            format!("{who} in \"{reader}\": {}", unused(why))
        }
    }
}

/// Why a card inserted for the old set's quorum is not used, after the card's name.
fn unused(why: &Unused) -> String {
    match why {
        Unused::NewSetCard => {
            "is not in the old set: insert it when the new set's cards are asked for".to_owned()
        }
        Unused::Refused(reason) => reason.clone(),
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
        "the reshare stopped in phase {}: {cause}. Where the sets stand: {state}",
        s.phase
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
