//! [`AnyCard`]: a custodian card of whichever kind answers its first SELECT, the quorum
//! applet or an OpenPGP card (apdu-spec/openpgp.md), so that ceremonies open every card
//! the same way and one set may mix both kinds.
//!
//! The kind is decided by the SELECT a ceremony sends first: the quorum applet's SELECT
//! goes out unchanged, and only when the card has no quorum applet (`6A82`) is the OpenPGP
//! application tried. An applet card therefore sees exactly the commands it always did.

use zeroize::Zeroizing;

use crate::card::{ApduStats, Card, CardError, Unsealed};
use crate::custodian::CustodianCard;
use crate::openpgp::{OpenPgpCard, OpenPgpFacts, RecordSource};
use crate::transport::Transport;
use quorum_protocol::apdu::part10::PinpadFeatures;
use quorum_protocol::apdu::{CardStatus, SelectInfo, DH_LEN, POINT_LEN};
use quorum_protocol::pin::{Pin, PinBlock, RetryLimit};

/// The card behind one connection, whichever kind it turns out to be.
pub struct AnyCard<T: Transport> {
    inner: Inner<T>,
    records: RecordSource,
}

/// What the card has shown itself to be so far.
enum Inner<T: Transport> {
    /// The quorum applet, or not decided yet (before the first SELECT).
    Applet(Card<T>),
    /// An OpenPGP card.
    OpenPgp(OpenPgpCard<T>),
    /// Only while the session moves from one kind to the other inside `select`.
    Moving,
}

impl<T: Transport> AnyCard<T> {
    /// Wraps a session; `records` serves the public records of OpenPGP cards, which do not
    /// store theirs (a bundle's records, or the ones an enrollment writes).
    pub fn new(card: Card<T>, records: RecordSource) -> AnyCard<T> {
        AnyCard {
            inner: Inner::Applet(card),
            records,
        }
    }

    /// The OpenPGP card's own facts (manufacturer, serial, sizes), once SELECT showed one.
    pub fn openpgp_facts(&self) -> Option<&OpenPgpFacts> {
        match &self.inner {
            Inner::OpenPgp(card) => card.facts(),
            _ => None,
        }
    }

    /// Whether the card showed itself to be an OpenPGP card.
    pub fn is_openpgp(&self) -> bool {
        matches!(self.inner, Inner::OpenPgp(_))
    }

    /// The session as the custodian card it is.
    fn card(&mut self) -> &mut dyn CustodianCard {
        match &mut self.inner {
            Inner::Applet(card) => card,
            Inner::OpenPgp(card) => card,
            Inner::Moving => unreachable!("only inside select"),
        }
    }
}

/// The session's figures go to its connection when it ends
/// ([`Transport::session_ended`]), whichever kind the card turned out to be.
impl<T: Transport> Drop for AnyCard<T> {
    fn drop(&mut self) {
        let card = match &mut self.inner {
            Inner::Applet(card) => card,
            Inner::OpenPgp(card) => card.card_mut(),
            Inner::Moving => return,
        };
        let stats = card.stats();
        card.transport_mut().session_ended(&stats);
    }
}

impl<T: Transport> CustodianCard for AnyCard<T> {
    fn select(&mut self) -> Result<SelectInfo, CardError> {
        let applet = match &mut self.inner {
            Inner::Applet(card) => card.select(),
            Inner::OpenPgp(card) => return card.select(),
            Inner::Moving => unreachable!("only inside select"),
        };
        if !matches!(applet, Err(CardError::AppletNotFound)) {
            return applet;
        }
        let Inner::Applet(card) = std::mem::replace(&mut self.inner, Inner::Moving) else {
            unreachable!("matched above")
        };
        let mut openpgp = OpenPgpCard::from_card(card, self.records.clone());
        match openpgp.select() {
            // Neither application: the card is named as having no quorum applet, as before.
            Err(CardError::NotOpenPgp { .. }) => {
                self.inner = Inner::Applet(openpgp.into_card());
                applet
            }
            other => {
                self.inner = Inner::OpenPgp(openpgp);
                other
            }
        }
    }

    fn status(&mut self) -> Result<CardStatus, CardError> {
        self.card().status()
    }

    fn initialise(
        &mut self,
        retry_limit: RetryLimit,
        pin: &PinBlock,
    ) -> Result<[u8; POINT_LEN], CardError> {
        self.card().initialise(retry_limit, pin)
    }

    fn initialise_on_pinpad(
        &mut self,
        retry_limit: RetryLimit,
        timeout_secs: u8,
    ) -> Result<[u8; POINT_LEN], CardError> {
        self.card().initialise_on_pinpad(retry_limit, timeout_secs)
    }

    fn pinpad(&mut self) -> Result<Option<PinpadFeatures>, CardError> {
        self.card().pinpad()
    }

    fn verify(&mut self, pin: &Pin) -> Result<(), CardError> {
        self.card().verify(pin)
    }

    fn verify_on_pinpad(&mut self, timeout_secs: u8) -> Result<(), CardError> {
        self.card().verify_on_pinpad(timeout_secs)
    }

    fn change_pin(&mut self, old: &Pin, new: &Pin) -> Result<(), CardError> {
        self.card().change_pin(old, new)
    }

    fn change_pin_on_pinpad(&mut self, timeout_secs: u8) -> Result<(), CardError> {
        self.card().change_pin_on_pinpad(timeout_secs)
    }

    fn put_record(&mut self, stream: &[u8]) -> Result<(), CardError> {
        self.card().put_record(stream)
    }

    fn prepare_key(&mut self) -> Result<[u8; POINT_LEN], CardError> {
        self.card().prepare_key()
    }

    fn put_record_renewing_key(&mut self, stream: &[u8]) -> Result<(), CardError> {
        self.card().put_record_renewing_key(stream)
    }

    fn get_record_public(&mut self) -> Result<Vec<u8>, CardError> {
        self.card().get_record_public()
    }

    fn get_record_sealed(&mut self) -> Result<Zeroizing<Vec<u8>>, CardError> {
        self.card().get_record_sealed()
    }

    fn unseal(&mut self, point: &[u8; POINT_LEN]) -> Result<Zeroizing<[u8; DH_LEN]>, CardError> {
        self.card().unseal(point)
    }

    fn factory_reset(&mut self) -> Result<(), CardError> {
        self.card().factory_reset()
    }

    fn record_header(&self) -> Option<quorum_protocol::apdu::RecordHeader> {
        match &self.inner {
            Inner::Applet(card) => card.record_header(),
            _ => None,
        }
    }

    fn unseal_with_sealed(&mut self, point: &[u8; POINT_LEN]) -> Result<Unsealed, CardError> {
        self.card().unseal_with_sealed(point)
    }

    fn capabilities(&self) -> Option<quorum_protocol::apdu::Capabilities> {
        match &self.inner {
            Inner::Applet(card) => card.capabilities(),
            _ => None,
        }
    }

    fn openpgp(&self) -> Option<&OpenPgpFacts> {
        self.openpgp_facts()
    }

    fn openpgp_keys(&mut self) -> Option<&mut dyn crate::openpgp::OpenPgpKeys> {
        match &mut self.inner {
            Inner::OpenPgp(card) => Some(card),
            _ => None,
        }
    }

    fn stats(&self) -> ApduStats {
        match &self.inner {
            Inner::Applet(card) => card.stats(),
            Inner::OpenPgp(card) => CustodianCard::stats(card),
            Inner::Moving => unreachable!("only inside select"),
        }
    }
}

#[cfg(all(test, feature = "testkit"))]
mod tests {
    use super::*;
    use crate::memory::{MemoryApplet, MemoryOpenPgp};
    use quorum_protocol::apdu::LifeCycle;

    const INS_SELECT: u8 = 0xA4;

    #[test]
    fn an_applet_card_sees_one_select_as_always() {
        let mut card = AnyCard::new(
            Card::with_trace(MemoryApplet::new().personalised("123456"), false),
            RecordSource::new(),
        );
        let info = card.select().unwrap();
        assert_eq!(info.state, LifeCycle::Personalised);
        assert!(!card.is_openpgp());
        card.status().unwrap();
        let Inner::Applet(inner) = &card.inner else {
            panic!("an applet card")
        };
        assert_eq!(inner.transport().count(INS_SELECT), 1);
    }

    #[test]
    fn an_openpgp_card_is_selected_after_the_applet_is_not_found() {
        let mut card = AnyCard::new(
            Card::with_trace(MemoryOpenPgp::with_seed(7).with_cv25519_key(), false),
            RecordSource::new(),
        );
        let info = card.select().unwrap();
        assert_eq!(info.state, LifeCycle::Personalised);
        assert!(card.is_openpgp());
        assert!(card
            .openpgp_facts()
            .is_some_and(|f| f.decryption_key_present));
        let status = card.status().unwrap();
        assert!(status.public_key.is_some());
        // Held as ceremonies hold cards, behind a box: the facts still show.
        let boxed: Box<dyn CustodianCard> = Box::new(card);
        assert!(<Box<dyn CustodianCard> as CustodianCard>::openpgp(&boxed).is_some());
        let mut card = boxed;
        // Selected again later (a new step): straight to the OpenPGP application.
        card.select().unwrap();
        assert!(card.openpgp().is_some());
    }

    #[test]
    fn a_card_with_neither_application_is_named_as_without_the_quorum_applet() {
        let mut card = AnyCard::new(
            Card::with_trace(MemoryApplet::without_applet(), false),
            RecordSource::new(),
        );
        assert!(matches!(card.select(), Err(CardError::AppletNotFound)));
        assert!(!card.is_openpgp());
        // It stays an applet session: a later SELECT asks the applet again.
        assert!(matches!(card.select(), Err(CardError::AppletNotFound)));
    }
}

/// The end of a session, without the in-memory cards of the `testkit` feature.
#[cfg(test)]
mod session_tests {
    use super::*;
    use crate::transport::scripted::ScriptedTransport;
    use crate::transport::{RawResponse, TransportError};
    use std::cell::RefCell;
    use std::rc::Rc;

    /// A scripted card that keeps what its session reported when it ended.
    struct Reporting {
        script: ScriptedTransport,
        ended: Rc<RefCell<Vec<ApduStats>>>,
    }

    impl Transport for Reporting {
        fn transmit(&mut self, command: &[u8]) -> Result<RawResponse, TransportError> {
            self.script.transmit(command)
        }

        fn reconnect(&mut self) -> Result<(), TransportError> {
            self.script.reconnect()
        }

        fn session_ended(&mut self, stats: &ApduStats) {
            self.ended.borrow_mut().push(*stats);
        }
    }

    #[test]
    fn a_session_tells_its_connection_what_it_cost_when_it_ends() {
        let ended = Rc::new(RefCell::new(Vec::new()));
        let script = ScriptedTransport::new()
            .expect("00A4040009F051554F52554D010100", "010007012000 9000")
            .expect("8010000000", "0100050500000000 9000");
        let mut card = AnyCard::new(
            Card::with_trace(
                Reporting {
                    script,
                    ended: ended.clone(),
                },
                false,
            ),
            RecordSource::new(),
        );
        card.select().unwrap();
        let _ = card.status();
        assert!(ended.borrow().is_empty(), "told only at the end");
        drop(card);
        let told = ended.borrow();
        assert_eq!(told.len(), 1);
        assert_eq!((told[0].selects, told[0].commands), (1, 1));
    }
}
