//! The change-pin ceremony against in-memory cards.

use quorum_card::card::{Card, CardError};
use quorum_card::memory::{shared, MemoryApplet, MemoryReaders, SharedCard};
use quorum_protocol::pin::PinBlock;

use super::*;
use crate::in_memory_kit::*;
use crate::pins::tests::Typed;
use crate::pins::{PinOrigin, PinTable};

fn typed(pins: &[&'static str]) -> Typed {
    Typed(std::cell::RefCell::new(pins.iter().copied().collect()))
}

fn run(
    card: &SharedCard,
    pins: &dyn PinProvider,
    new: Option<&dyn PinProvider>,
) -> Result<String, CeremonyError> {
    let readers = MemoryReaders::with_cards(std::slice::from_ref(card));
    change_pin(
        &readers,
        "Reader 0",
        &policy(pins),
        new,
        false,
        &mut Said::default(),
    )
}

fn accepts(card: &SharedCard, pin: &str) -> bool {
    let mut applet = card.borrow_mut();
    let mut session = Card::with_trace(&mut *applet, false);
    session.select().unwrap();
    session.verify(&PinBlock::new(pin).unwrap()).is_ok()
}

#[test]
fn the_pin_is_changed_with_the_current_one() {
    let card = fresh_cards(1).remove(0);
    let fp = run(&card, &typed(&[PIN, "13572468"]), None).unwrap();
    assert_eq!(Some(fp), card.borrow().fingerprint());
    assert_eq!(card.borrow().count(0x24), 1);
    assert!(accepts(&card, "13572468"));
    // A new PIN from a file of its own, the current one from another.
    let current = PinTable::parse(b"13572468", PinOrigin::File("current".into())).unwrap();
    let new = PinTable::parse(b"11223344", PinOrigin::File("new".into())).unwrap();
    run(&card, &current, Some(&new)).unwrap();
    assert!(accepts(&card, "11223344"));
}

#[test]
fn a_wrong_current_pin_spends_a_try_and_changes_nothing() {
    let card = fresh_cards(1).remove(0);
    let e = run(&card, &typed(&["999999", "13572468"]), None).unwrap_err();
    assert!(
        matches!(
            e,
            CeremonyError::Card {
                source: CardError::WrongPin { tries_left: 4 },
                ..
            }
        ),
        "{e}"
    );
    assert!(e.is_pin_failure());
    assert!(accepts(&card, PIN));
}

#[test]
fn a_blank_or_blocked_card_is_refused_before_any_pin() {
    let blank = shared(MemoryApplet::new());
    let e = run(&blank, &typed(&[]), None).unwrap_err();
    assert!(
        matches!(
            e,
            CeremonyError::ChangePinRefused {
                why: Refusal::Blank,
                card: None,
                ..
            }
        ),
        "{e}"
    );
    assert_eq!(
        e.to_string(),
        "card (blank, no key yet) in \"Reader 0\" is blank: it has no PIN yet"
    );
    let blocked = fresh_cards(1).remove(0);
    for _ in 0..5 {
        accepts(&blocked, "000000");
    }
    blocked.borrow_mut().clear_log();
    let e = run(&blocked, &typed(&[]), None).unwrap_err();
    let fp = blocked.borrow().fingerprint();
    assert!(
        matches!(
            e,
            CeremonyError::ChangePinRefused {
                why: Refusal::Blocked,
                ref card,
                ..
            } if *card == fp
        ),
        "{e}"
    );
    assert_eq!(blocked.borrow().count(0x24), 0);
}

#[test]
fn a_pin_file_alone_or_the_same_pin_again_is_refused_with_nothing_sent() {
    let card = fresh_cards(1).remove(0);
    let e = run(&card, &pin_file(), None).unwrap_err();
    assert!(
        matches!(
            e,
            CeremonyError::NewPinRefused(crate::pin_step::NewPinRefusal::NoSource)
        ),
        "{e}"
    );
    let e = run(&card, &typed(&[PIN, PIN]), None).unwrap_err();
    assert!(
        matches!(
            e,
            CeremonyError::NewPinRefused(crate::pin_step::NewPinRefusal::SameAsCurrent)
        ),
        "{e}"
    );
    assert!(e.to_string().contains("same as the current one"), "{e}");
    assert_eq!(card.borrow().count(0x24), 0);
    assert_eq!(card.borrow().tries_left(), 5);
}
