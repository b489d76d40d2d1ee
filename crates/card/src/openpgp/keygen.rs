//! The decryption key of an OpenPGP card as `quorumctl init` sees it: read what the slot
//! holds without a PIN, keep it, or make a cv25519 key on the card with the admin PIN
//! (apdu-spec/openpgp.md, "personalise with a new key"), and empty quorum's data objects.
//!
//! A key that is there is never destroyed by accident: [`OpenPgpKeys::generate_key`] is
//! told which key the custodian agreed to destroy, reads the slot again on the same
//! connection right before GENERATE, and refuses when the slot holds any other key.

use sha2::{Digest, Sha256};

use super::{admin_status_error, KeyCheck, OpenPgpCard, OpenPgpFacts};
use crate::card::CardError;
use crate::transport::Transport;
use quorum_protocol::apdu::CommandApdu;
use quorum_protocol::crypto::CardKey;
use quorum_protocol::openpgp::command;
use quorum_protocol::openpgp::{
    parse_public_key, AdminPin, AlgorithmAttributes, Fingerprint, PinRef, PrivateUse, QuorumHeader,
    FINGERPRINT_LEN,
};

/// Domain of the 20 bytes quorum writes as the key's OpenPGP fingerprint (C8).
const FINGERPRINT_DOMAIN: &[u8] = b"quorum/v1/openpgp-c8";

/// A key in the decryption slot, named as the custodian is shown it before it is kept or
/// destroyed: the two fingerprints a person can compare with what other tools show.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExistingKey {
    /// Its algorithm (C2): cv25519, or another one quorum cannot use (RSA, NIST, …).
    pub algorithm: AlgorithmAttributes,
    /// Its OpenPGP fingerprint as the card stores it (C5), if one was written.
    pub fingerprint: Option<Fingerprint>,
    /// The key as quorum names it, when it is a cv25519 key.
    pub card_key: Option<CardKey>,
}

/// What init needs to know of a card before it asks for any PIN.
#[derive(Clone, Debug)]
pub struct KeySlot {
    /// The card's facts (manufacturer, serial, PIN tries, sizes).
    pub facts: OpenPgpFacts,
    /// The key in the decryption slot, if there is one (of any algorithm).
    pub existing: Option<ExistingKey>,
    /// The quorum header in DO 0101, if the card holds a share (or held one).
    pub header: Option<QuorumHeader>,
    /// Whether the card lets the slot's algorithm be changed (C0), needed when it is not cv25519.
    pub attributes_changeable: bool,
}

/// The operations on an OpenPGP card's decryption key that only `init` needs; reachable
/// from any custodian card through [`crate::custodian::CustodianCard::openpgp_keys`],
/// which the quorum applet answers with `None`.
pub trait OpenPgpKeys {
    /// Reads the decryption slot and DO 0101 without a PIN (no SELECT, so a verified PIN
    /// stays); a key of another algorithm is reported, not refused.
    fn key_slot(&mut self) -> Result<KeySlot, CardError>;

    /// VERIFY 83 with the admin PIN given; a wrong one says the admin PIN's tries left.
    fn verify_admin(&mut self, pin: &AdminPin) -> Result<(), CardError>;

    /// VERIFY 83 with the admin PIN typed on the reader's keypad (PC/SC Part 10).
    fn verify_admin_on_pinpad(&mut self, timeout_secs: u8) -> Result<(), CardError>;

    /// Makes a new cv25519 decryption key on the card (after VERIFY 83) and returns it.
    /// `destroys` is the key the custodian confirmed may go; the slot is read again first,
    /// and a key there other than that one is refused untouched.
    fn generate_key(
        &mut self,
        destroys: Option<&ExistingKey>,
        generated_at: u32,
    ) -> Result<CardKey, CardError>;

    /// Empties DO 0101 (the header first), then DO 0103, after VERIFY 82: the card holds no
    /// share afterwards, its keys stay.
    fn clear_share(&mut self) -> Result<(), CardError>;
}

impl<T: Transport> OpenPgpCard<T> {
    /// Transmits a command that needs the admin PIN and demands 9000.
    fn run_admin(&mut self, name: &'static str, command: &CommandApdu) -> Result<(), CardError> {
        let response = self.card.transmit(command)?;
        match response.sw() {
            quorum_protocol::apdu::StatusWord::Success => Ok(()),
            sw => Err(admin_status_error(name, sw)),
        }
    }
}

/// The 20 bytes written as the new key's OpenPGP fingerprint (C8): the card only stores
/// them, so that tools see a key in the slot; quorum names keys by its own fingerprint.
/// They are the first 20 bytes of SHA-256("quorum/v1/openpgp-c8" ‖ time, 4 bytes
/// big-endian ‖ u), not an OpenPGP v4 fingerprint (apdu-spec/openpgp.md allows any 20 bytes).
pub(super) fn c8_fingerprint(key: &CardKey, generated_at: u32) -> [u8; FINGERPRINT_LEN] {
    let digest = Sha256::new()
        .chain_update(FINGERPRINT_DOMAIN)
        .chain_update(generated_at.to_be_bytes())
        .chain_update(key.to_x25519())
        .finalize();
    let mut out = [0u8; FINGERPRINT_LEN];
    out.copy_from_slice(&digest[..FINGERPRINT_LEN]);
    out
}

impl<T: Transport> OpenPgpKeys for OpenPgpCard<T> {
    fn key_slot(&mut self) -> Result<KeySlot, CardError> {
        let (facts, ard) = self.read_facts(false, KeyCheck::AnyKey)?;
        let existing = facts.decryption_key_present.then(|| ExistingKey {
            algorithm: facts.decryption_algorithm.clone(),
            fingerprint: ard.fingerprints.decryption,
            card_key: facts.card_key,
        });
        let header = self.read_header()?;
        Ok(KeySlot {
            facts,
            existing,
            header,
            attributes_changeable: ard.extended_capabilities.algorithm_attributes_changeable(),
        })
    }

    fn verify_admin(&mut self, pin: &AdminPin) -> Result<(), CardError> {
        self.run_admin("VERIFY", &command::verify_admin(pin))
    }

    fn verify_admin_on_pinpad(&mut self, timeout_secs: u8) -> Result<(), CardError> {
        self.verify_on_keypad(PinRef::Admin, timeout_secs)
    }

    fn generate_key(
        &mut self,
        destroys: Option<&ExistingKey>,
        generated_at: u32,
    ) -> Result<CardKey, CardError> {
        let slot = self.key_slot()?;
        if let Some(present) = &slot.existing {
            if destroys != Some(present) {
                return Err(CardError::OpenPgpKeyNotConfirmed {
                    fingerprint: present.fingerprint,
                });
            }
        }
        // PUT DATA C2 only when the slot is set to another algorithm (it drops that key).
        if slot.facts.decryption_algorithm != AlgorithmAttributes::Cv25519Ecdh {
            self.run_admin("PUT DATA C2", &command::put_decryption_algorithm_cv25519())?;
        }
        let response = self.card.transmit(&command::generate_decryption_key())?;
        let sw = response.sw();
        if sw != quorum_protocol::apdu::StatusWord::Success {
            return Err(admin_status_error("GENERATE ASYMMETRIC KEY PAIR", sw));
        }
        let key =
            parse_public_key(response.data()).map_err(|source| CardError::OpenPgpMalformed {
                command: "GENERATE ASYMMETRIC KEY PAIR",
                source,
            })?;
        // The generation time (CF) and a fingerprint (C8) beside the key, as the spec asks
        // of the host after GENERATE (§7.2.14): the card stores both, checks neither.
        self.run_admin(
            "PUT DATA CF",
            &command::put_decryption_generation_time(generated_at),
        )?;
        self.run_admin(
            "PUT DATA C8",
            &command::put_decryption_fingerprint(&c8_fingerprint(&key, generated_at)),
        )?;
        Ok(key)
    }

    fn clear_share(&mut self) -> Result<(), CardError> {
        self.put_private_use(PrivateUse::Do0101, "PUT DATA 0101", &[])?;
        self.put_private_use(PrivateUse::Do0103, "PUT DATA 0103", &[])
    }
}
