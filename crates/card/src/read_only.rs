//! A custodian card a dry run holds: it answers what can be read without a PIN (SELECT,
//! status, the public record, the reader's keypad, an OpenPGP card's key slot) and refuses,
//! before any APDU, every command that needs a PIN or changes the card. A dry run's promise
//! ("nothing changed, no PIN asked") then holds even if a ceremony's own stop were missed.

use zeroize::Zeroizing;

use crate::card::{ApduStats, CardError, Unsealed};
use crate::custodian::CustodianCard;
use crate::openpgp::{ExistingKey, KeySlot, OpenPgpFacts, OpenPgpKeys};
use quorum_protocol::apdu::part10::PinpadFeatures;
use quorum_protocol::apdu::{CardStatus, SelectInfo, DH_LEN, POINT_LEN};
use quorum_protocol::crypto::CardKey;
use quorum_protocol::openpgp::AdminPin;
use quorum_protocol::pin::{Pin, PinBlock, RetryLimit};

/// A card that only reads (see the module's documentation).
pub struct ReadOnly {
    inner: Box<dyn CustodianCard>,
}

impl ReadOnly {
    /// Wraps `inner`; nothing that needs a PIN or writes reaches it afterwards.
    pub fn new(inner: Box<dyn CustodianCard>) -> ReadOnly {
        ReadOnly { inner }
    }
}

/// The refusal of a command a dry run never sends.
fn refused<T>(command: &'static str) -> Result<T, CardError> {
    Err(CardError::NotInDryRun { command })
}

impl CustodianCard for ReadOnly {
    fn select(&mut self) -> Result<SelectInfo, CardError> {
        self.inner.select()
    }

    fn status(&mut self) -> Result<CardStatus, CardError> {
        self.inner.status()
    }

    fn initialise(&mut self, _: RetryLimit, _: &PinBlock) -> Result<[u8; POINT_LEN], CardError> {
        refused("INITIALISE")
    }

    fn initialise_on_pinpad(&mut self, _: RetryLimit, _: u8) -> Result<[u8; POINT_LEN], CardError> {
        refused("INITIALISE")
    }

    fn pinpad(&mut self) -> Result<Option<PinpadFeatures>, CardError> {
        self.inner.pinpad()
    }

    fn verify(&mut self, _: &Pin) -> Result<(), CardError> {
        refused("VERIFY")
    }

    fn verify_on_pinpad(&mut self, _: u8) -> Result<(), CardError> {
        refused("VERIFY")
    }

    fn change_pin(&mut self, _: &Pin, _: &Pin) -> Result<(), CardError> {
        refused("CHANGE PIN")
    }

    fn change_pin_on_pinpad(&mut self, _: u8) -> Result<(), CardError> {
        refused("CHANGE PIN")
    }

    fn put_record(&mut self, _: &[u8]) -> Result<(), CardError> {
        refused("PUT RECORD")
    }

    fn prepare_key(&mut self) -> Result<[u8; POINT_LEN], CardError> {
        refused("PREPARE KEY")
    }

    fn put_record_renewing_key(&mut self, _: &[u8]) -> Result<(), CardError> {
        refused("PUT RECORD")
    }

    fn get_record_public(&mut self) -> Result<Vec<u8>, CardError> {
        self.inner.get_record_public()
    }

    fn get_record_sealed(&mut self) -> Result<Zeroizing<Vec<u8>>, CardError> {
        refused("GET RECORD (sealed part)")
    }

    fn unseal(&mut self, _: &[u8; POINT_LEN]) -> Result<Zeroizing<[u8; DH_LEN]>, CardError> {
        refused("UNSEAL")
    }

    fn factory_reset(&mut self) -> Result<(), CardError> {
        refused("FACTORY RESET")
    }

    fn record_header(&self) -> Option<quorum_protocol::apdu::RecordHeader> {
        self.inner.record_header()
    }

    fn capabilities(&self) -> Option<quorum_protocol::apdu::Capabilities> {
        self.inner.capabilities()
    }

    fn unseal_with_sealed(&mut self, _: &[u8; POINT_LEN]) -> Result<Unsealed, CardError> {
        refused("UNSEAL")
    }

    fn stats(&self) -> ApduStats {
        self.inner.stats()
    }

    fn openpgp(&self) -> Option<&OpenPgpFacts> {
        self.inner.openpgp()
    }

    fn openpgp_keys(&mut self) -> Option<&mut dyn OpenPgpKeys> {
        if self.inner.openpgp_keys().is_some() {
            Some(self)
        } else {
            None
        }
    }
}

impl OpenPgpKeys for ReadOnly {
    fn key_slot(&mut self) -> Result<KeySlot, CardError> {
        match self.inner.openpgp_keys() {
            Some(keys) => keys.key_slot(),
            None => refused("GET DATA (key slot)"),
        }
    }

    fn verify_admin(&mut self, _: &AdminPin) -> Result<(), CardError> {
        refused("VERIFY (admin PIN)")
    }

    fn verify_admin_on_pinpad(&mut self, _: u8) -> Result<(), CardError> {
        refused("VERIFY (admin PIN)")
    }

    fn generate_key(&mut self, _: Option<&ExistingKey>, _: u32) -> Result<CardKey, CardError> {
        refused("GENERATE ASYMMETRIC KEY PAIR")
    }

    fn clear_share(&mut self) -> Result<(), CardError> {
        refused("PUT DATA")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::any::AnyCard;
    use crate::card::Card;
    use crate::memory::{MemoryApplet, MemoryOpenPgp};
    use crate::openpgp::RecordSource;

    fn read_only<T: crate::transport::Transport + 'static>(transport: T) -> ReadOnly {
        ReadOnly::new(Box::new(AnyCard::new(
            Card::with_trace(transport, false),
            RecordSource::new(),
        )))
    }

    #[test]
    fn a_read_only_card_reads_and_refuses_every_change_before_any_apdu() {
        let mut card = read_only(MemoryApplet::new());
        card.select().expect("SELECT is read-only");
        card.status().expect("GET STATUS is read-only");
        let sent = card.stats().commands;
        let pin = Pin::new("123456").expect("a PIN");
        assert!(matches!(
            card.verify(&pin),
            Err(CardError::NotInDryRun { command: "VERIFY" })
        ));
        assert!(matches!(
            card.factory_reset(),
            Err(CardError::NotInDryRun { .. })
        ));
        let limit = RetryLimit::new(5).expect("a limit");
        assert!(matches!(
            card.initialise_on_pinpad(limit, 30),
            Err(CardError::NotInDryRun { .. })
        ));
        assert!(matches!(
            card.put_record(&[1, 2, 3]),
            Err(CardError::NotInDryRun { .. })
        ));
        assert!(matches!(
            card.unseal(&[0; POINT_LEN]),
            Err(CardError::NotInDryRun { .. })
        ));
        assert_eq!(
            card.stats().commands,
            sent,
            "no refused command reached the card"
        );
        assert!(
            card.openpgp_keys().is_none(),
            "an applet card has no OpenPGP keys"
        );
    }

    #[test]
    fn a_read_only_openpgp_card_reads_its_key_slot_and_generates_nothing() {
        let mut card = read_only(MemoryOpenPgp::new());
        card.select().expect("an OpenPGP card answers SELECT");
        let keys = card.openpgp_keys().expect("an OpenPGP card");
        keys.key_slot().expect("the slot is read without a PIN");
        assert!(matches!(
            keys.generate_key(None, 0),
            Err(CardError::NotInDryRun { .. })
        ));
        assert!(matches!(
            keys.clear_share(),
            Err(CardError::NotInDryRun { .. })
        ));
        let sent = card.stats().commands;
        let pin = Pin::new("123456").expect("a PIN");
        assert!(card.verify(&pin).is_err());
        assert_eq!(card.stats().commands, sent);
    }
}
