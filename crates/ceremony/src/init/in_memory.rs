//! The init ceremony against in-memory cards: a blank card personalised, an initialised
//! card refused untouched, and the PIN rules.

use quorum_card::memory::{shared, MemoryApplet, MemoryReaders};
use quorum_card::transport::TransportError;
use quorum_protocol::pin::PinError;

use super::*;
use crate::in_memory_kit::*;
use crate::pins::tests::Typed;
use crate::pins::{PinOrigin, PinPath, PinSourceError};
use crate::progress::Event;

fn typed(pins: &[&'static str]) -> Typed {
    Typed(std::cell::RefCell::new(pins.iter().copied().collect()))
}

#[test]
fn a_blank_card_gets_its_pin_and_key() {
    let card = shared(MemoryApplet::new());
    let readers = MemoryReaders::with_cards(std::slice::from_ref(&card));
    let pins = typed(&["24681357"]);
    let mut said = Said::default();
    let done = init(
        &readers,
        "Reader 0",
        RetryLimit::new(3).unwrap(),
        &policy(&pins),
        false,
        &mut said,
    )
    .unwrap();
    assert_eq!(done.retry_limit, 3);
    assert_eq!(done.reader, "Reader 0");
    assert_eq!(Some(done.key.fingerprint()), card.borrow().fingerprint());
    let c = card.borrow();
    assert_eq!(
        (c.state(), c.tries_left(), c.retry_limit()),
        (LifeCycle::Personalised, 3, 3)
    );
    assert_eq!(c.count(0x12), 1);
    assert!(
        said.told(&Event::Init(Told::Personalising {
            reader: "Reader 0".into(),
            retry_limit: 3
        })),
        "{said}"
    );
    assert!(
        said.told(&Event::Pin(crate::pin_step::Told::Entry {
            path: PinPath::Host {
                origin: PinOrigin::Keyboard,
                pinpad_bypassed: false
            }
        })),
        "{said}"
    );
    drop(c);
    // The PIN set is the one typed.
    let mut applet = card.borrow_mut();
    let mut session = quorum_card::card::Card::with_trace(&mut *applet, false);
    session.select().unwrap();
    session
        .verify(&quorum_protocol::pin::PinBlock::new("24681357").unwrap())
        .unwrap();
}

#[test]
fn an_initialised_card_is_refused_before_any_pin_and_left_as_it_was() {
    for card in [
        fresh_cards(1).remove(0),
        EnrolledSet::new(1, 1, "x").cards.remove(0),
    ] {
        let before = card.borrow().public_key();
        let readers = MemoryReaders::with_cards(std::slice::from_ref(&card));
        let pins = typed(&[]);
        let e = init(
            &readers,
            "Reader 0",
            RetryLimit::default(),
            &policy(&pins),
            false,
            &mut Said::default(),
        )
        .unwrap_err();
        let state = card.borrow().state().name();
        assert!(
            matches!(
                e,
                CeremonyError::InitRefused {
                    why: Refusal::AlreadyPersonalised { state: s },
                    ref card,
                    ..
                } if s == state && card.is_some()
            ),
            "{e}"
        );
        assert!(e.to_string().contains("already personalised"), "{e}");
        assert_eq!(card.borrow().writes(), 0);
        assert_eq!(card.borrow().public_key(), before);
    }
}

#[test]
fn a_pin_against_the_rules_never_reaches_the_card() {
    let card = shared(MemoryApplet::new());
    let readers = MemoryReaders::with_cards(std::slice::from_ref(&card));
    let pins = typed(&["12345"]);
    let e = init(
        &readers,
        "Reader 0",
        RetryLimit::default(),
        &policy(&pins),
        false,
        &mut Said::default(),
    )
    .unwrap_err();
    assert!(
        matches!(
            e,
            CeremonyError::Pin(PinSourceError::Rule(PinError::Length))
        ),
        "{e}"
    );
    assert_eq!(card.borrow().count(0x12), 0);
    assert_eq!(card.borrow().state(), LifeCycle::Blank);
    let pins = typed(&["12345a"]);
    let e = init(
        &readers,
        "Reader 0",
        RetryLimit::default(),
        &policy(&pins),
        false,
        &mut Said::default(),
    )
    .unwrap_err();
    assert!(
        matches!(
            e,
            CeremonyError::Pin(PinSourceError::Rule(PinError::NotDigits))
        ),
        "{e}"
    );
    assert!(e.is_pin_failure());
}

#[test]
fn a_pulled_card_a_foreign_card_and_an_unknown_reader_are_named() {
    let card = shared(MemoryApplet::without_applet());
    let readers = MemoryReaders::with_cards(std::slice::from_ref(&card));
    readers.pull_after("Reader 0", 0, TransportError::CardRemoved);
    let pins = typed(&[]);
    let e = init(
        &readers,
        "Reader 0",
        RetryLimit::default(),
        &policy(&pins),
        false,
        &mut Said::default(),
    )
    .unwrap_err();
    assert!(
        matches!(
            e,
            CeremonyError::Card {
                source: quorum_card::card::CardError::Transport(TransportError::CardRemoved),
                ..
            }
        ),
        "{e}"
    );
    readers.insert("Reader 0", &card);
    let e = init(
        &readers,
        "Reader 0",
        RetryLimit::default(),
        &policy(&pins),
        false,
        &mut Said::default(),
    )
    .unwrap_err();
    assert!(
        matches!(
            e,
            CeremonyError::Card {
                source: quorum_card::card::CardError::AppletNotFound,
                ..
            }
        ),
        "{e}"
    );
    let e = init(
        &readers,
        "Nowhere",
        RetryLimit::default(),
        &policy(&pins),
        false,
        &mut Said::default(),
    )
    .unwrap_err();
    assert!(
        matches!(
            e,
            CeremonyError::Transport(TransportError::UnknownReader(_))
        ),
        "{e}"
    );
}
