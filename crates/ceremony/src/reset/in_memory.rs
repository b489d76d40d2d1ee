//! The reset-card ceremony against in-memory cards: confirmed by fingerprint, refused
//! otherwise, and each moment a card can be pulled out says what it did to the card.

use quorum_card::memory::{shared, MemoryApplet, MemoryReaders, SharedCard};
use quorum_card::transport::TransportError;

use super::*;
use crate::in_memory_kit::*;
use crate::progress::Event;

fn readers_with(card: &SharedCard) -> MemoryReaders {
    MemoryReaders::with_cards(std::slice::from_ref(card))
}

/// SELECT (a 1.2 card's answer carries its status) and GET RECORD to show the card; SELECT
/// again before the reset.
const BEFORE_THE_RESET: usize = 3;

#[test]
fn a_confirmed_reset_erases_the_card_and_says_what_it_destroyed() {
    let set = EnrolledSet::new(1, 1, "x");
    let card = &set.cards[0];
    let fp = fingerprint(card);
    let readers = readers_with(card);
    let mut said = Said::default();
    let done = reset_card(
        &readers,
        "Reader 0",
        Confirmation::Given(&fp.to_uppercase()),
        false,
        &mut said,
    )
    .unwrap();
    assert_eq!(done.before.fingerprint.as_deref(), Some(fp.as_str()));
    assert_eq!(done.before.set.as_ref().unwrap().label, "x");
    assert_eq!(card.borrow().state(), LifeCycle::Blank);
    assert_eq!(card.borrow().pin_checks(), 0, "no PIN is needed");
    assert!(
        said.told(&Event::Reset(Told::AboutToReset {
            reader: "Reader 0".into(),
            card: done.before.clone()
        })),
        "{said}"
    );
    assert!(
        said.told(&Event::Reset(Told::DestroysShare {
            index: 1,
            label: "x".into(),
            threshold: 1,
            count: 1
        })),
        "{said}"
    );
    // Asked on the terminal: the question is given the card's fingerprint.
    let card = fresh_cards(1).remove(0);
    let fp = fingerprint(&card);
    let mut asked = String::new();
    let answer = fp.clone();
    let mut ask = |fingerprint: &str| {
        asked = fingerprint.to_owned();
        Ok(answer.clone())
    };
    let readers = readers_with(&card);
    let mut said = Said::default();
    reset_card(
        &readers,
        "Reader 0",
        Confirmation::Ask(&mut ask),
        false,
        &mut said,
    )
    .unwrap();
    assert_eq!(asked, fp);
    assert!(said.told(&Event::Reset(Told::HoldsNoShare)), "{said}");
    assert_eq!(card.borrow().state(), LifeCycle::Blank);
}

#[test]
fn a_wrong_confirmation_or_a_blank_card_resets_nothing() {
    let card = fresh_cards(1).remove(0);
    let readers = readers_with(&card);
    let e = reset_card(
        &readers,
        "Reader 0",
        Confirmation::Given("0000-0000-0000-0000"),
        false,
        &mut Said::default(),
    )
    .unwrap_err();
    assert!(
        matches!(e, CeremonyError::ResetStopped { why: Stop::NotConfirmed { ref typed }, .. } if typed == "0000-0000-0000-0000"),
        "{e}"
    );
    assert!(e.to_string().contains("was NOT reset"), "{e}");
    assert_eq!(card.borrow().writes(), 0);
    let blank = shared(MemoryApplet::new());
    let readers = readers_with(&blank);
    let e = reset_card(
        &readers,
        "Reader 0",
        Confirmation::Given("x"),
        false,
        &mut Said::default(),
    )
    .unwrap_err();
    assert!(
        matches!(
            e,
            CeremonyError::ResetStopped {
                why: Stop::AlreadyBlank,
                card: None,
                ..
            }
        ),
        "{e}"
    );
    assert_eq!(
        e.to_string(),
        "card (blank) in \"Reader 0\" is already blank: there is nothing to reset"
    );
    assert_eq!(blank.borrow().writes(), 0);
}

#[test]
fn a_card_pulled_before_the_reset_is_untouched_and_says_so() {
    let set = EnrolledSet::new(1, 1, "x");
    let card = &set.cards[0];
    let fp = fingerprint(card);
    let readers = readers_with(card);
    readers.pull_after(
        "Reader 0",
        BEFORE_THE_RESET - 1,
        TransportError::CardRemoved,
    );
    let e = reset_card(
        &readers,
        "Reader 0",
        Confirmation::Given(&fp),
        false,
        &mut Said::default(),
    )
    .unwrap_err();
    assert!(
        matches!(e, CeremonyError::ResetStopped { why: Stop::PulledBefore, ref card, .. } if card.as_deref() == Some(fp.as_str())),
        "{e}"
    );
    assert!(e.to_string().contains("nothing was erased"), "{e}");
    assert_eq!(card.borrow().state(), LifeCycle::Enrolled);
}

#[test]
fn a_card_pulled_during_the_reset_is_told_to_be_checked() {
    let set = EnrolledSet::new(1, 1, "x");
    let card = &set.cards[0];
    let fp = fingerprint(card);
    let readers = readers_with(card);
    readers.pull_after_executing("Reader 0", BEFORE_THE_RESET, TransportError::ExchangeFailed);
    let e = reset_card(
        &readers,
        "Reader 0",
        Confirmation::Given(&fp),
        false,
        &mut Said::default(),
    )
    .unwrap_err();
    assert!(
        matches!(
            e,
            CeremonyError::ResetStopped {
                why: Stop::PulledDuring,
                ..
            }
        ),
        "{e}"
    );
    assert_eq!(card.borrow().state(), LifeCycle::Blank, "it was done");
}

#[test]
fn a_card_pulled_after_confirming_the_reset_is_reported_erased() {
    let set = EnrolledSet::new(1, 1, "x");
    let card = &set.cards[0];
    let fp = fingerprint(card);
    let readers = readers_with(card);
    readers.pull_after(
        "Reader 0",
        BEFORE_THE_RESET + 1,
        TransportError::CardRemoved,
    );
    let e = reset_card(
        &readers,
        "Reader 0",
        Confirmation::Given(&fp),
        false,
        &mut Said::default(),
    )
    .unwrap_err();
    assert!(
        matches!(
            e,
            CeremonyError::ResetStopped {
                why: Stop::ErasedUnchecked,
                ..
            }
        ),
        "{e}"
    );
    assert!(e.to_string().contains("confirmed the FACTORY RESET"), "{e}");
    assert_eq!(card.borrow().state(), LifeCycle::Blank);
}

#[test]
fn an_unreadable_record_stops_the_reset_before_anything_is_erased() {
    let card = fresh_cards(1).remove(0);
    write_record(&card, b"not a record", b"s");
    let readers = readers_with(&card);
    let e = reset_card(
        &readers,
        "Reader 0",
        Confirmation::Given("x"),
        false,
        &mut Said::default(),
    )
    .unwrap_err();
    assert!(matches!(e, CeremonyError::Record(_)), "{e}");
    assert_eq!(card.borrow().count(0x1E), 0);
}

#[test]
fn a_confirmation_that_cannot_be_read_is_an_output_error_with_nothing_erased() {
    let card = fresh_cards(1).remove(0);
    let readers = readers_with(&card);
    let mut ask = |_: &str| Err(std::io::Error::other("terminal closed"));
    let e = reset_card(
        &readers,
        "Reader 0",
        Confirmation::Ask(&mut ask),
        false,
        &mut Said::default(),
    )
    .unwrap_err();
    assert!(matches!(e, CeremonyError::Output(_)), "{e}");
    assert_eq!(card.borrow().writes(), 0);
}

#[test]
fn a_fingerprint_typed_without_dashes_or_in_groups_confirms_the_reset() {
    for typed in [
        |fp: &str| fp.replace('-', ""),
        |fp: &str| fp.replace('-', " ").to_uppercase(),
    ] {
        let set = EnrolledSet::new(1, 1, "x");
        let card = &set.cards[0];
        let fp = fingerprint(card);
        let readers = readers_with(card);
        let done = reset_card(
            &readers,
            "Reader 0",
            Confirmation::Given(&typed(&fp)),
            false,
            &mut Said::default(),
        );
        assert!(done.is_ok(), "{:?}", done.err());
        assert_eq!(card.borrow().state(), LifeCycle::Blank);
    }
}
