//! What a ceremony asks of a custodian card, whatever its kind: the quorum applet
//! ([`crate::card::Card`]) today, an OpenPGP card next, an in-memory card in tests. The
//! ceremonies hold `Box<dyn CustodianCard>`, so a new kind of card plugs in without them.

use zeroize::Zeroizing;

use crate::card::{ApduStats, Card, CardError, Unsealed};
use crate::transport::Transport;
use quorum_protocol::apdu::part10::PinpadFeatures;
use quorum_protocol::apdu::{
    Capabilities, CardStatus, RecordHeader, SelectInfo, DH_LEN, POINT_LEN,
};
use quorum_protocol::pin::{Pin, PinBlock, RetryLimit};

/// The operations of a custodian card that ceremonies use; each keeps the meaning the
/// quorum protocol gives it (apdu-spec), whatever commands a card kind needs for it.
pub trait CustodianCard {
    /// Opens the card's custodian application and says what it is and in what state.
    fn select(&mut self) -> Result<SelectInfo, CardError>;

    /// The card's life-cycle state, PIN state, key and record capacity; no PIN needed.
    fn status(&mut self) -> Result<CardStatus, CardError>;

    /// Makes a blank card a personalised one: a key pair and a first PIN; returns the key.
    fn initialise(
        &mut self,
        retry_limit: RetryLimit,
        pin: &PinBlock,
    ) -> Result<[u8; POINT_LEN], CardError>;

    /// [`CustodianCard::initialise`] with the first PIN typed twice on the reader's keypad.
    fn initialise_on_pinpad(
        &mut self,
        retry_limit: RetryLimit,
        timeout_secs: u8,
    ) -> Result<[u8; POINT_LEN], CardError>;

    /// The reader's PIN pad, if it has one the card can use.
    fn pinpad(&mut self) -> Result<Option<PinpadFeatures>, CardError>;

    /// Presents the PIN as typed, by the card's own rule; a wrong one says how many tries
    /// are left, one that breaks the rule is refused before any APDU.
    fn verify(&mut self, pin: &Pin) -> Result<(), CardError>;

    /// Presents the PIN typed on the reader's keypad (never seen by this computer).
    fn verify_on_pinpad(&mut self, timeout_secs: u8) -> Result<(), CardError>;

    /// Replaces the PIN, given the current one (both by the card's own rule).
    fn change_pin(&mut self, old: &Pin, new: &Pin) -> Result<(), CardError>;

    /// Replaces the PIN, both typed on the reader's keypad.
    fn change_pin_on_pinpad(&mut self, timeout_secs: u8) -> Result<(), CardError>;

    /// Stores a record (a PUT RECORD stream): all of it, or the card keeps its old one.
    fn put_record(&mut self, stream: &[u8]) -> Result<(), CardError>;

    /// Draws a new key pair kept pending until the next record makes it the card's key.
    fn prepare_key(&mut self) -> Result<[u8; POINT_LEN], CardError>;

    /// Stores a record and makes the pending key the card's key, in one step.
    fn put_record_renewing_key(&mut self, stream: &[u8]) -> Result<(), CardError>;

    /// The record's public part (the set description); no PIN needed.
    fn get_record_public(&mut self) -> Result<Vec<u8>, CardError>;

    /// The record's sealed part (the HPKE-sealed share), after the PIN.
    fn get_record_sealed(&mut self) -> Result<Zeroizing<Vec<u8>>, CardError>;

    /// The card's DH step on a (blinded) point, after the PIN: x(d·P).
    fn unseal(&mut self, point: &[u8; POINT_LEN]) -> Result<Zeroizing<[u8; DH_LEN]>, CardError>;

    /// Erases the card's key, PIN and record: the card is blank again.
    fn factory_reset(&mut self) -> Result<(), CardError>;

    /// The record header the card gave at its last SELECT (protocol 1.2: set, version,
    /// index and the sealed part's `enc`), so a host that holds the public part of that set
    /// version opens the share without reading the card's record; `None` for older cards.
    fn record_header(&self) -> Option<RecordHeader> {
        None
    }

    /// The DH step on a blinded point answered with the sealed part after its `enc`
    /// (protocol 1.2, UNSEAL P1 = 01), after the PIN; only for a card with a record header.
    fn unseal_with_sealed(&mut self, _point: &[u8; POINT_LEN]) -> Result<Unsealed, CardError> {
        Err(CardError::WithoutHeader)
    }

    /// The applet's capabilities from its last SELECT, so a ceremony knows which commands
    /// it may use (a record written is checked the 1.3 way, or read back); `None` for a card
    /// that is not the quorum applet.
    fn capabilities(&self) -> Option<Capabilities> {
        None
    }

    /// Round trips since the card was connected or the counts were reset (`--stats`).
    fn stats(&self) -> ApduStats;

    /// An OpenPGP card's own facts (manufacturer, serial, sizes), so `readers` and `status`
    /// can say what kind of card it is; `None` for the quorum applet.
    fn openpgp(&self) -> Option<&crate::openpgp::OpenPgpFacts> {
        None
    }

    /// An OpenPGP card's decryption-key operations (read the slot, admin PIN, generate),
    /// which only `init` uses; `None` for the quorum applet, whose INITIALISE makes its key.
    fn openpgp_keys(&mut self) -> Option<&mut dyn crate::openpgp::OpenPgpKeys> {
        None
    }
}

impl<T: Transport> CustodianCard for Card<T> {
    fn select(&mut self) -> Result<SelectInfo, CardError> {
        Card::select(self)
    }

    fn status(&mut self) -> Result<CardStatus, CardError> {
        Card::status(self)
    }

    fn initialise(
        &mut self,
        retry_limit: RetryLimit,
        pin: &PinBlock,
    ) -> Result<[u8; POINT_LEN], CardError> {
        Card::initialise(self, retry_limit, pin)
    }

    fn initialise_on_pinpad(
        &mut self,
        retry_limit: RetryLimit,
        timeout_secs: u8,
    ) -> Result<[u8; POINT_LEN], CardError> {
        Card::initialise_on_pinpad(self, retry_limit, timeout_secs)
    }

    fn pinpad(&mut self) -> Result<Option<PinpadFeatures>, CardError> {
        Card::pinpad(self)
    }

    /// The applet's PIN block; a PIN that breaks the applet's rule never reaches the card.
    fn verify(&mut self, pin: &Pin) -> Result<(), CardError> {
        Card::verify(self, &applet_block(pin)?)
    }

    fn verify_on_pinpad(&mut self, timeout_secs: u8) -> Result<(), CardError> {
        Card::verify_on_pinpad(self, timeout_secs)
    }

    fn change_pin(&mut self, old: &Pin, new: &Pin) -> Result<(), CardError> {
        Card::change_pin(self, &applet_block(old)?, &applet_block(new)?)
    }

    fn change_pin_on_pinpad(&mut self, timeout_secs: u8) -> Result<(), CardError> {
        Card::change_pin_on_pinpad(self, timeout_secs)
    }

    fn put_record(&mut self, stream: &[u8]) -> Result<(), CardError> {
        Card::put_record(self, stream)
    }

    fn prepare_key(&mut self) -> Result<[u8; POINT_LEN], CardError> {
        Card::prepare_key(self)
    }

    fn put_record_renewing_key(&mut self, stream: &[u8]) -> Result<(), CardError> {
        Card::put_record_renewing_key(self, stream)
    }

    fn get_record_public(&mut self) -> Result<Vec<u8>, CardError> {
        Card::get_record_public(self)
    }

    fn get_record_sealed(&mut self) -> Result<Zeroizing<Vec<u8>>, CardError> {
        Card::get_record_sealed(self)
    }

    fn unseal(&mut self, point: &[u8; POINT_LEN]) -> Result<Zeroizing<[u8; DH_LEN]>, CardError> {
        Card::unseal(self, point)
    }

    fn factory_reset(&mut self) -> Result<(), CardError> {
        Card::factory_reset(self)
    }

    fn record_header(&self) -> Option<RecordHeader> {
        Card::record_header(self)
    }

    fn capabilities(&self) -> Option<Capabilities> {
        Card::capabilities(self)
    }

    fn unseal_with_sealed(&mut self, point: &[u8; POINT_LEN]) -> Result<Unsealed, CardError> {
        Card::unseal_with_sealed(self, point)
    }

    fn stats(&self) -> ApduStats {
        Card::stats(self)
    }
}

/// The applet's PIN block for a PIN typed here, or the rule it breaks as a card error.
fn applet_block(pin: &Pin) -> Result<PinBlock, CardError> {
    pin.applet_block().map_err(CardError::PinRule)
}

/// A boxed card is a card: ceremonies keep cards of several kinds as `Box<dyn CustodianCard>`.
impl<C: CustodianCard + ?Sized> CustodianCard for Box<C> {
    fn select(&mut self) -> Result<SelectInfo, CardError> {
        (**self).select()
    }

    fn status(&mut self) -> Result<CardStatus, CardError> {
        (**self).status()
    }

    fn initialise(
        &mut self,
        retry_limit: RetryLimit,
        pin: &PinBlock,
    ) -> Result<[u8; POINT_LEN], CardError> {
        (**self).initialise(retry_limit, pin)
    }

    fn initialise_on_pinpad(
        &mut self,
        retry_limit: RetryLimit,
        timeout_secs: u8,
    ) -> Result<[u8; POINT_LEN], CardError> {
        (**self).initialise_on_pinpad(retry_limit, timeout_secs)
    }

    fn pinpad(&mut self) -> Result<Option<PinpadFeatures>, CardError> {
        (**self).pinpad()
    }

    fn verify(&mut self, pin: &Pin) -> Result<(), CardError> {
        (**self).verify(pin)
    }

    fn verify_on_pinpad(&mut self, timeout_secs: u8) -> Result<(), CardError> {
        (**self).verify_on_pinpad(timeout_secs)
    }

    fn change_pin(&mut self, old: &Pin, new: &Pin) -> Result<(), CardError> {
        (**self).change_pin(old, new)
    }

    fn change_pin_on_pinpad(&mut self, timeout_secs: u8) -> Result<(), CardError> {
        (**self).change_pin_on_pinpad(timeout_secs)
    }

    fn put_record(&mut self, stream: &[u8]) -> Result<(), CardError> {
        (**self).put_record(stream)
    }

    fn prepare_key(&mut self) -> Result<[u8; POINT_LEN], CardError> {
        (**self).prepare_key()
    }

    fn put_record_renewing_key(&mut self, stream: &[u8]) -> Result<(), CardError> {
        (**self).put_record_renewing_key(stream)
    }

    fn get_record_public(&mut self) -> Result<Vec<u8>, CardError> {
        (**self).get_record_public()
    }

    fn get_record_sealed(&mut self) -> Result<Zeroizing<Vec<u8>>, CardError> {
        (**self).get_record_sealed()
    }

    fn unseal(&mut self, point: &[u8; POINT_LEN]) -> Result<Zeroizing<[u8; DH_LEN]>, CardError> {
        (**self).unseal(point)
    }

    fn factory_reset(&mut self) -> Result<(), CardError> {
        (**self).factory_reset()
    }

    fn record_header(&self) -> Option<RecordHeader> {
        (**self).record_header()
    }

    fn capabilities(&self) -> Option<Capabilities> {
        (**self).capabilities()
    }

    fn unseal_with_sealed(&mut self, point: &[u8; POINT_LEN]) -> Result<Unsealed, CardError> {
        (**self).unseal_with_sealed(point)
    }

    fn stats(&self) -> ApduStats {
        (**self).stats()
    }

    fn openpgp(&self) -> Option<&crate::openpgp::OpenPgpFacts> {
        (**self).openpgp()
    }

    fn openpgp_keys(&mut self) -> Option<&mut dyn crate::openpgp::OpenPgpKeys> {
        (**self).openpgp_keys()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transport::scripted::ScriptedTransport;

    #[test]
    fn a_quorum_card_behind_the_trait_sends_the_same_apdus() {
        let script = ScriptedTransport::new()
            .expect("801EAA55", "9000")
            .expect("002000810C313233343536FFFFFFFFFFFF", "63C3");
        let mut card: Box<dyn CustodianCard> = Box::new(Card::with_trace(script, false));
        card.factory_reset().unwrap();
        assert_eq!(card.stats().commands, 1);
        let pin = Pin::new("123456").unwrap();
        assert!(matches!(
            card.verify(&pin),
            Err(CardError::WrongPin { tries_left: 3 })
        ));
        assert_eq!(card.stats().commands, 2);
    }

    #[test]
    fn a_pin_that_breaks_the_applets_rule_is_refused_before_any_apdu() {
        let mut card: Box<dyn CustodianCard> =
            Box::new(Card::with_trace(ScriptedTransport::new(), false));
        for typed in ["tr0ub4dor", "12345", "1234567890123"] {
            let pin = Pin::new(typed).unwrap();
            let error = card.verify(&pin).unwrap_err();
            assert!(matches!(error, CardError::PinRule(_)), "{error}");
            assert!(error.is_pin_failure());
            assert!(!error.to_string().contains(typed), "{error}");
            let good = Pin::new("123456").unwrap();
            assert!(matches!(
                card.change_pin(&good, &pin),
                Err(CardError::PinRule(_))
            ));
            assert!(matches!(
                card.change_pin(&pin, &good),
                Err(CardError::PinRule(_))
            ));
        }
        assert_eq!(card.stats().commands, 0);
    }
}
