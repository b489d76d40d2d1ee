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
    .map(|changed| changed.fingerprint)
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
fn the_custodian_of_an_enrolled_card_is_named_in_the_prompt_and_the_result() {
    /// Types the PINs given and notes whom each prompt named.
    #[derive(Debug)]
    struct Noting(Typed, std::cell::RefCell<Vec<Option<String>>>);
    impl PinProvider for Noting {
        fn current_pin(
            &self,
            who: &PinFor<'_>,
            rule: quorum_protocol::pin::PinRule,
        ) -> Result<quorum_protocol::pin::Pin, crate::pins::PinSourceError> {
            self.1.borrow_mut().push(who.custodian.map(str::to_owned));
            self.0.current_pin(who, rule)
        }
        fn new_pin(
            &self,
            who: &PinFor<'_>,
            rule: quorum_protocol::pin::PinRule,
        ) -> Result<quorum_protocol::pin::Pin, crate::pins::PinSourceError> {
            self.current_pin(who, rule)
        }
        fn interactive(&self) -> bool {
            true
        }
        fn origin(&self) -> PinOrigin {
            PinOrigin::Keyboard
        }
    }
    let set = EnrolledSet::named(2, "vault", &["Alice", "Bob"]);
    let readers = MemoryReaders::with_cards(&set.cards[..1]);
    let pins = Noting(typed(&[PIN, "13572468"]), Default::default());
    let changed = change_pin(
        &readers,
        "Reader 0",
        &policy(&pins),
        None,
        false,
        &mut Said::default(),
    )
    .unwrap();
    assert_eq!(changed.custodian.as_deref(), Some("Alice"));
    let asked = pins.1.borrow();
    assert_eq!(asked.len(), 2, "{asked:?}");
    assert!(
        asked.iter().all(|who| who.as_deref() == Some("Alice")),
        "{asked:?}"
    );
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
