//! [`OpenPgpCard`]: a stock OpenPGP card (cv25519 decryption key) behind the same
//! [`CustodianCard`] trait as the quorum applet, following apdu-spec/openpgp.md (mapping 1).
//!
//! What maps to what:
//! - the applet's key pair is the card's cv25519 decryption key, read with GENERATE `81`;
//!   the public key is handed to ceremonies as the Wei25519 point of its u, so
//!   `CardKey::from_card_point` gives the same fingerprint as `CardKey` from u;
//! - the applet's PIN is the user PIN PW1 in mode `82` (the PIN's digits as ASCII);
//! - the applet's record is split: the 55-byte quorum header in DO `0101` (read without a
//!   PIN), the 81-byte sealed part in DO `0103` (user PIN); the public record is not on the
//!   card but in the set's bundle, which the host hands over as a [`RecordSource`];
//! - UNSEAL is PSO:DECIPHER: the ceremony's Wei25519 point t·E goes to the card as its u,
//!   the card's u of X25519(k, t·E) comes back as a Wei25519 x, so `Blinding::unblind`
//!   removes t for both card kinds alike.
//!
//! Every APDU goes through the applet backend's one transmit path ([`Card::transmit`]:
//! 61xx, traces with secrets redacted, counts), and a PIN pad VERIFY through its Part 10
//! path. The card's own status words become [`CardError`]s that name an OpenPGP card.
//! The applet's INITIALISE and key renewal are [`CardError::NotOnOpenPgp`], never a silent
//! success; `quorumctl init` makes or keeps the decryption key through [`OpenPgpKeys`]
//! instead (the spec's "personalise with a new key", with the card's admin PIN).

mod keygen;
mod records;
#[cfg(test)]
mod tests;

use zeroize::Zeroizing;

use crate::card::{no_data, ApduStats, Card, CardError, Unsuitable};
use crate::custodian::CustodianCard;
use crate::transport::Transport;
use quorum_protocol::apdu::part10::{PinModify, PinVerify, PinpadFeatures};
use quorum_protocol::apdu::{
    Capabilities, CardStatus, CommandApdu, LifeCycle, ProtocolVersion, PutRecordStream, SelectInfo,
    StatusWord, DH_LEN, POINT_LEN,
};
use quorum_protocol::crypto::{CardKey, SubgroupPoint};
use quorum_protocol::openpgp::command::{self, PIN_MAX};
use quorum_protocol::openpgp::{
    parse_decipher_answer, parse_public_key, Aid, AlgorithmAttributes, ApplicationRelatedData,
    KdfSetting, OpenPgpParseError, PinRef, PrivateUse, PwStatus, QuorumHeader, TouchPolicy,
    UserPin, HEADER_LEN,
};
use quorum_protocol::pin::{Pin, PinBlock, PinError, PinRule};
use quorum_protocol::record::{PublicRecord, SealedShare, SEALED_LEN};

pub use keygen::{ExistingKey, KeySlot, OpenPgpKeys};
pub use records::RecordSource;

/// What SELECT reports of an OpenPGP card: blinded DECIPHER (bit 0) and 61xx output (bit 2);
/// no PUT RECORD chaining, no key renewal.
const CAPABILITIES: u8 = 0x05;

/// How many user-PIN tries the spec gives a fresh card; the card does not report its limit.
pub const DEFAULT_USER_PIN_TRIES: u8 = 3;

/// What a card stores of a share: the header in 0101 and the sealed part in 0103.
pub const STORED_LEN: u16 = (HEADER_LEN + SEALED_LEN) as u16;

const NOT_INITIALISED: &str = "its decryption key is generated on the card with its admin PIN (apdu-spec/openpgp.md, \"personalise with a new key\"); key renewal is not available";

/// The facts an OpenPGP card reports about itself, for `readers` and `status` to show.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OpenPgpFacts {
    /// Application identifier: spec version, manufacturer, serial.
    pub aid: Aid,
    /// Size of the private-use data objects (C0), if the card has them.
    pub private_use_size: Option<u16>,
    /// The decryption key's touch policy (YubiKey), if the card has a button.
    pub touch: Option<TouchPolicy>,
    /// The decryption slot's algorithm attributes (C2).
    pub decryption_algorithm: AlgorithmAttributes,
    /// Whether the decryption slot holds a key (any algorithm).
    pub decryption_key_present: bool,
    /// The decryption key as quorum names it, when it is a cv25519 key.
    pub card_key: Option<CardKey>,
    /// PIN lengths and tries left (C4) when the card was last read.
    pub pw_status: PwStatus,
    /// Whether the card wants KDF(PIN) (read only when C0 announces a KDF-DO).
    pub kdf: KdfSetting,
}

/// What one identification read: the facts and the quorum header of DO 0101.
struct Identified {
    facts: OpenPgpFacts,
    header: Option<QuorumHeader>,
}

impl Identified {
    fn state(&self) -> LifeCycle {
        match (&self.facts.card_key, &self.header) {
            (None, _) => LifeCycle::Blank,
            (Some(_), None) => LifeCycle::Personalised,
            (Some(_), Some(_)) => LifeCycle::Enrolled,
        }
    }
}

/// An OpenPGP card as a quorum custodian card, over the applet backend's transmit path.
pub struct OpenPgpCard<T: Transport> {
    card: Card<T>,
    records: RecordSource,
    facts: Option<OpenPgpFacts>,
}

impl<T: Transport> OpenPgpCard<T> {
    /// Wraps a transport (tracing as `QUORUM_TRACE` says), with the public records the host knows.
    pub fn new(transport: T, records: RecordSource) -> OpenPgpCard<T> {
        OpenPgpCard::from_card(Card::new(transport), records)
    }

    /// Wraps an applet-backend session (its trace setting, counts and PIN pad cache carry over).
    pub fn from_card(card: Card<T>, records: RecordSource) -> OpenPgpCard<T> {
        OpenPgpCard {
            card,
            records,
            facts: None,
        }
    }

    /// The facts read by the last `select` or `status` (kept even when the card was refused).
    pub fn facts(&self) -> Option<&OpenPgpFacts> {
        self.facts.as_ref()
    }

    /// The records this card looks its public record up in (shared with the ceremony).
    pub fn records(&self) -> &RecordSource {
        &self.records
    }

    /// The underlying session, for its transport and traces.
    pub fn card(&self) -> &Card<T> {
        &self.card
    }

    /// The underlying session, mutably (tests reach their in-memory card through it).
    pub fn card_mut(&mut self) -> &mut Card<T> {
        &mut self.card
    }

    /// Gives the session back.
    pub fn into_card(self) -> Card<T> {
        self.card
    }

    /// Transmits and demands 9000, naming OpenPGP status words; `missing` words a 6A88.
    fn run(
        &mut self,
        name: &'static str,
        missing: &'static str,
        command: &CommandApdu,
    ) -> Result<Zeroizing<Vec<u8>>, CardError> {
        let response = self.card.transmit(command)?;
        match response.sw() {
            StatusWord::Success => Ok(response.into_data()),
            sw => Err(status_error(name, missing, sw)),
        }
    }

    /// GET DATA of a private-use object; `6A88` reads as empty (a card that never stored it).
    fn get_private_use(
        &mut self,
        object: PrivateUse,
        name: &'static str,
    ) -> Result<Zeroizing<Vec<u8>>, CardError> {
        let response = self.card.transmit(&command::get_private_use(object))?;
        match response.sw() {
            StatusWord::Success => Ok(response.into_data()),
            sw if sw.to_u16() == 0x6A88 => Ok(Zeroizing::new(Vec::new())),
            sw => Err(status_error(name, "private-use data object", sw)),
        }
    }

    fn put_private_use(
        &mut self,
        object: PrivateUse,
        name: &'static str,
        data: &[u8],
    ) -> Result<(), CardError> {
        let put = command::put_private_use(object, data).map_err(|_| {
            CardError::OpenPgpUnsuitable(Unsuitable::PrivateUseTooSmall {
                size: 255,
                needed: data.len(),
            })
        })?;
        self.run(name, "private-use data object", &put).map(drop)
    }

    /// SELECT (when asked), GET DATA 6E (and F9), GENERATE 81, GET DATA 0101: the spec's
    /// "identify" sequence, needing no PIN; refuses a card that cannot hold a share.
    fn identify(&mut self, select: bool) -> Result<Identified, CardError> {
        let (facts, _) = self.read_facts(select, KeyCheck::Cv25519Only)?;
        let header = self.read_header()?;
        Ok(Identified { facts, header })
    }

    /// SELECT (when asked), GET DATA 6E (and F9), GENERATE 81 when the slot holds a cv25519
    /// key: the facts, kept even when the card is then refused, and the 6E answer itself.
    fn read_facts(
        &mut self,
        select: bool,
        keys: KeyCheck,
    ) -> Result<(OpenPgpFacts, ApplicationRelatedData), CardError> {
        if select {
            let response = self.card.transmit(&command::select())?;
            if response.sw() != StatusWord::Success {
                return Err(CardError::NotOpenPgp { sw: response.sw() });
            }
        }
        let data = self.run(
            "GET DATA 6E",
            "application related data",
            &command::get_application_related_data(),
        )?;
        let ard =
            ApplicationRelatedData::parse(&data).map_err(|source| CardError::OpenPgpMalformed {
                command: "GET DATA 6E",
                source,
            })?;
        let kdf = if ard.extended_capabilities.kdf() {
            self.read_kdf()?
        } else {
            KdfSetting::None
        };
        let card_key = if ard.has_cv25519_decryption_key() {
            let data = self.run(
                "GENERATE ASYMMETRIC KEY PAIR",
                "decryption key",
                &command::read_decryption_public_key(),
            )?;
            Some(
                parse_public_key(&data).map_err(|source| CardError::OpenPgpMalformed {
                    command: "GENERATE ASYMMETRIC KEY PAIR",
                    source,
                })?,
            )
        } else {
            None
        };
        let facts = OpenPgpFacts {
            aid: ard.aid,
            private_use_size: ard.private_use_capacity(),
            touch: ard.decryption_touch,
            decryption_algorithm: ard.algorithms.decryption.clone(),
            decryption_key_present: ard.decryption_key_present(),
            card_key,
            pw_status: ard.pw_status,
            kdf,
        };
        self.facts = Some(facts.clone());
        check_suitable(&ard, &facts, keys)?;
        Ok((facts, ard))
    }

    /// GET DATA 0101: the quorum header, if the card holds one; another program's data is refused.
    fn read_header(&mut self) -> Result<Option<QuorumHeader>, CardError> {
        let bytes = self.get_private_use(PrivateUse::Do0101, "GET DATA 0101")?;
        QuorumHeader::decode(&bytes)
            .map_err(|e| CardError::OpenPgpUnsuitable(Unsuitable::ForeignHeader(e)))
    }

    fn read_kdf(&mut self) -> Result<KdfSetting, CardError> {
        let response = self.card.transmit(&command::get_kdf())?;
        match response.sw() {
            StatusWord::Success => {
                KdfSetting::parse(response.data()).map_err(|source| CardError::OpenPgpMalformed {
                    command: "GET DATA F9",
                    source,
                })
            }
            sw if sw.to_u16() == 0x6A88 => Ok(KdfSetting::None),
            sw => Err(status_error("GET DATA F9", "KDF-DO", sw)),
        }
    }

    /// VERIFY 82 without data: whether the user PIN is verified now (uses no try).
    fn user_pin_verified(&mut self) -> Result<bool, CardError> {
        let response = self
            .card
            .transmit(&command::verify_status(PinRef::UserDecipher))?;
        Ok(response.sw() == StatusWord::Success)
    }

    /// The state the card is in for an error message, from the last identification.
    fn known_state(&self) -> Option<LifeCycle> {
        self.facts.as_ref().map(|f| match f.card_key {
            Some(_) => LifeCycle::Personalised,
            None => LifeCycle::Blank,
        })
    }

    /// VERIFY of `pin` typed on the keypad as GnuPG builds it (variable-length ASCII, no
    /// block), from the spec's minimum to the card's maximum for that PIN.
    fn verify_on_keypad(&mut self, pin: PinRef, timeout_secs: u8) -> Result<(), CardError> {
        let pinpad = self.card.pinpad()?.ok_or(CardError::NoPinpad)?;
        let max = self.keypad_max(pin, &pinpad)?;
        let structure = PinVerify::openpgp(pin, max, timeout_secs)
            .encode()
            .expect("the OpenPGP verify structure is well formed");
        let (data, sw) = self.card.pinpad_exchange(
            pinpad.verify_pin_direct,
            "VERIFY PIN DIRECT",
            "VERIFY",
            &structure,
        )?;
        keypad_outcome(pin, "VERIFY", "VERIFY PIN DIRECT", &data, sw, timeout_secs)
    }

    /// The most characters to let the keypad take for `pin`: the card's maximum from C4 (the
    /// spec's 127 before the card is identified), capped by the reader's bMaxPINSize where it
    /// states one (a firmware refuses a structure asking for more); refused when the reader
    /// takes fewer than the spec's minimum.
    fn keypad_max(&mut self, pin: PinRef, pinpad: &PinpadFeatures) -> Result<u8, CardError> {
        let (min, card_max) = match pin {
            PinRef::UserDecipher => (
                command::USER_PIN_MIN as u8,
                self.facts.as_ref().map(|f| f.pw_status.pw1_max_len),
            ),
            PinRef::Admin => (
                command::ADMIN_PIN_MIN as u8,
                self.facts.as_ref().map(|f| f.pw_status.pw3_max_len),
            ),
        };
        let card_max = card_max.unwrap_or(PIN_MAX as u8).max(min);
        let reader_max = match pinpad.tlv_properties {
            Some(code) => self.card.pinpad_pin_sizes(code)?.max,
            None => None,
        };
        match reader_max {
            Some(reader) if reader < min => Err(CardError::OpenPgpPinpadTooShort { reader, min }),
            Some(reader) => Ok(card_max.min(reader)),
            None => Ok(card_max),
        }
    }

    /// The user PIN's bytes as typed (ASCII/UTF-8, no padding, spec §7.2.2), refused
    /// before any APDU when they break the card's rule (6 to 127 bytes).
    fn user_pin(pin: &Pin) -> Result<UserPin, CardError> {
        pin.check(PinRule::OpenPgpUser)
            .map_err(CardError::PinRule)?;
        UserPin::new(pin.as_bytes()).map_err(|_| CardError::PinRule(PinError::OpenPgpLength))
    }
}

/// What a keypad entry for an OpenPGP card came to: the reader's own answers (timeout, cancel,
/// mismatch, refused length) or the card's status word for `pin`.
fn keypad_outcome(
    pin: PinRef,
    command: &'static str,
    feature: &'static str,
    data: &[u8],
    sw: StatusWord,
    timeout_secs: u8,
) -> Result<(), CardError> {
    match sw {
        StatusWord::Success => no_data(command, feature, data),
        StatusWord::PinpadTimeout => Err(CardError::PinpadTimeout {
            seconds: timeout_secs,
        }),
        StatusWord::PinpadCancelled => Err(CardError::PinpadCancelled),
        StatusWord::PinpadMismatch => Err(CardError::PinpadMismatch),
        StatusWord::PinpadLength => Err(CardError::OpenPgpPinpadRefused { sw }),
        StatusWord::Other(crate::card::pinpad::SW_PINPAD_REQUEST_REFUSED) => {
            Err(CardError::OpenPgpPinpadRefused { sw })
        }
        sw => Err(match pin {
            PinRef::UserDecipher => status_error(command, "user PIN", sw),
            PinRef::Admin => admin_status_error(command, sw),
        }),
    }
}

/// Whether a decryption key of another algorithm than cv25519 refuses the card.
#[derive(Clone, Copy, PartialEq, Eq)]
enum KeyCheck {
    /// Ceremonies: only a cv25519 key can open a share.
    Cv25519Only,
    /// init: such a key may be replaced by a cv25519 one (with the custodian's confirmation).
    AnyKey,
}

/// The refusals of apdu-spec/openpgp.md, "What a card must offer", each its own reason.
fn check_suitable(
    ard: &ApplicationRelatedData,
    facts: &OpenPgpFacts,
    keys: KeyCheck,
) -> Result<(), CardError> {
    let refuse = |reason| Err(CardError::OpenPgpUnsuitable(reason));
    let version = ard.aid.version;
    if version.major < 3 {
        return refuse(Unsuitable::SpecVersion {
            major: version.major,
            minor: version.minor,
        });
    }
    if !ard.extended_capabilities.private_use_dos() {
        return refuse(Unsuitable::NoPrivateUseDos);
    }
    let size = ard.private_use_capacity().unwrap_or(0);
    if usize::from(size) < SEALED_LEN {
        return refuse(Unsuitable::PrivateUseTooSmall {
            size,
            needed: SEALED_LEN,
        });
    }
    if let KdfSetting::Active(algorithm) = facts.kdf {
        return refuse(Unsuitable::KdfActive { algorithm });
    }
    if keys == KeyCheck::Cv25519Only
        && ard.decryption_key_present()
        && ard.algorithms.decryption != AlgorithmAttributes::Cv25519Ecdh
    {
        let algorithm_id = match &ard.algorithms.decryption {
            AlgorithmAttributes::Other { algorithm_id, .. } => *algorithm_id,
            AlgorithmAttributes::Cv25519Ecdh => None,
        };
        return refuse(Unsuitable::NotCv25519 { algorithm_id });
    }
    Ok(())
}

/// The error for a status word of a command that needs the admin PIN (VERIFY 83, PUT DATA
/// C2/C8/CF, GENERATE 80): its tries and blocking are the admin PIN's, not the user PIN's.
fn admin_status_error(command: &'static str, sw: StatusWord) -> CardError {
    match sw.to_u16() {
        0x63C0 | 0x6983 => CardError::OpenPgpAdminPinBlocked,
        code @ 0x63C1..=0x63CF => CardError::OpenPgpWrongAdminPin {
            tries_left: (code & 0x0F) as u8,
        },
        0x6982 => CardError::OpenPgpAdminPinNotVerified { command },
        _ => status_error(command, "decryption key", sw),
    }
}

/// The error for an OpenPGP card's status word; `missing` names what a `6A88` lacks.
fn status_error(command: &'static str, missing: &'static str, sw: StatusWord) -> CardError {
    match sw.to_u16() {
        0x63C0 | 0x6983 => CardError::OpenPgpPinBlocked,
        code @ 0x63C1..=0x63CF => CardError::WrongPin {
            tries_left: (code & 0x0F) as u8,
        },
        0x6982 => CardError::OpenPgpPinNotVerified { command },
        0x6A88 => CardError::OpenPgpNotFound {
            command,
            what: missing,
        },
        0x6985 if command == "PSO:DECIPHER" => CardError::OpenPgpTouch { command },
        0x6A80 => CardError::InvalidData { command },
        0x6700 => CardError::WrongLength { command },
        _ => CardError::UnexpectedStatus { command, sw },
    }
}

impl<T: Transport> CustodianCard for OpenPgpCard<T> {
    fn openpgp(&self) -> Option<&OpenPgpFacts> {
        self.facts()
    }

    fn openpgp_keys(&mut self) -> Option<&mut dyn OpenPgpKeys> {
        Some(self)
    }

    /// SELECT and identify; the version is the OpenPGP application's (from its AID), the
    /// capacity what the card stores of a share (header and sealed part).
    fn select(&mut self) -> Result<SelectInfo, CardError> {
        let id = self.identify(true)?;
        Ok(SelectInfo {
            version: ProtocolVersion {
                major: id.facts.aid.version.major,
                minor: id.facts.aid.version.minor,
            },
            capabilities: Capabilities(CAPABILITIES),
            state: id.state(),
            record_capacity: STORED_LEN,
        })
    }

    /// Identifies again without SELECT (which would drop a verified PIN).
    fn status(&mut self) -> Result<CardStatus, CardError> {
        let id = self.identify(false)?;
        let state = id.state();
        let tries_left = id.facts.pw_status.pw1_tries_left;
        let validated = state != LifeCycle::Blank && tries_left > 0 && self.user_pin_verified()?;
        let (public_len, sealed_len) = match state {
            LifeCycle::Enrolled => (HEADER_LEN as u16, SEALED_LEN as u16),
            _ => (0, 0),
        };
        Ok(CardStatus {
            state,
            blocked: tries_left == 0,
            validated,
            key_pending: false,
            tries_left,
            retry_limit: tries_left.max(DEFAULT_USER_PIN_TRIES),
            capacity: STORED_LEN,
            public_len,
            sealed_len,
            public_key: id.facts.card_key.map(|k| k.point().to_wei_point()),
        })
    }

    fn initialise(
        &mut self,
        _retry_limit: quorum_protocol::pin::RetryLimit,
        _pin: &PinBlock,
    ) -> Result<[u8; POINT_LEN], CardError> {
        Err(CardError::NotOnOpenPgp {
            operation: "be initialised",
            reason: NOT_INITIALISED,
        })
    }

    fn initialise_on_pinpad(
        &mut self,
        _retry_limit: quorum_protocol::pin::RetryLimit,
        _timeout_secs: u8,
    ) -> Result<[u8; POINT_LEN], CardError> {
        Err(CardError::NotOnOpenPgp {
            operation: "be initialised",
            reason: NOT_INITIALISED,
        })
    }

    fn pinpad(&mut self) -> Result<Option<PinpadFeatures>, CardError> {
        self.card.pinpad()
    }

    /// VERIFY 82 with the PIN as typed (ASCII/UTF-8).
    fn verify(&mut self, pin: &Pin) -> Result<(), CardError> {
        let pin = Self::user_pin(pin)?;
        self.run("VERIFY", "user PIN", &command::verify_user(&pin))
            .map(drop)
    }

    /// VERIFY 82 typed on the keypad as GnuPG builds it (variable-length ASCII, no block).
    fn verify_on_pinpad(&mut self, timeout_secs: u8) -> Result<(), CardError> {
        self.verify_on_keypad(PinRef::UserDecipher, timeout_secs)
    }

    /// CHANGE REFERENCE DATA `00 24 00 81` with old ‖ new as typed (ASCII/UTF-8).
    fn change_pin(&mut self, old: &Pin, new: &Pin) -> Result<(), CardError> {
        let (old, new) = (Self::user_pin(old)?, Self::user_pin(new)?);
        let command = command::change_user_pin(&old, &new);
        self.run("CHANGE REFERENCE DATA", "user PIN", &command)
            .map(drop)
    }

    /// CHANGE REFERENCE DATA `00 24 00 81` with the current and new user PIN typed on the
    /// keypad (MODIFY PIN DIRECT, variable-length ASCII as GnuPG builds it).
    fn change_pin_on_pinpad(&mut self, timeout_secs: u8) -> Result<(), CardError> {
        let pinpad = self.card.pinpad()?.ok_or(CardError::NoPinpad)?;
        let code = pinpad
            .modify_pin_direct
            .ok_or(CardError::PinpadCannotChange)?;
        let max = self.keypad_max(PinRef::UserDecipher, &pinpad)?;
        let structure = PinModify::openpgp_user(max, timeout_secs)
            .encode()
            .expect("the OpenPGP modify structure is well formed");
        let (data, sw) = self.card.pinpad_exchange(
            code,
            "MODIFY PIN DIRECT",
            "CHANGE REFERENCE DATA",
            &structure,
        )?;
        keypad_outcome(
            PinRef::UserDecipher,
            "CHANGE REFERENCE DATA",
            "MODIFY PIN DIRECT",
            &data,
            sw,
            timeout_secs,
        )
    }

    /// Stores the sealed part in 0103, then the header in 0101 (the spec's order), reads
    /// both back, and adds the public record to the source; VERIFY 82 must come first.
    fn put_record(&mut self, stream: &[u8]) -> Result<(), CardError> {
        let parsed = PutRecordStream::parse(stream)?;
        let offset = parsed.sealed_offset();
        let (public, sealed) = (&stream[4..offset], &stream[offset..]);
        let record: PublicRecord =
            PublicRecord::decode(public).map_err(CardError::OpenPgpRecord)?;
        SealedShare::decode(sealed).map_err(CardError::OpenPgpRecord)?;
        if let Some(size) = self.facts.as_ref().and_then(|f| f.private_use_size) {
            if usize::from(size) < SEALED_LEN {
                return Err(CardError::OpenPgpUnsuitable(
                    Unsuitable::PrivateUseTooSmall {
                        size,
                        needed: SEALED_LEN,
                    },
                ));
            }
        }
        self.records.add(public).map_err(CardError::OpenPgpRecord)?;
        let header = QuorumHeader::for_record(&record).encode();
        self.put_private_use(PrivateUse::Do0103, "PUT DATA 0103", sealed)?;
        self.put_private_use(PrivateUse::Do0101, "PUT DATA 0101", &header)?;
        let stored = self.get_private_use(PrivateUse::Do0103, "GET DATA 0103")?;
        if stored[..] != *sealed {
            return Err(CardError::OpenPgpWriteNotConfirmed { object: 0x0103 });
        }
        let stored = self.get_private_use(PrivateUse::Do0101, "GET DATA 0101")?;
        if stored[..] != header[..] {
            return Err(CardError::OpenPgpWriteNotConfirmed { object: 0x0101 });
        }
        Ok(())
    }

    fn prepare_key(&mut self) -> Result<[u8; POINT_LEN], CardError> {
        Err(CardError::NotOnOpenPgp {
            operation: "prepare a new key",
            reason: NOT_INITIALISED,
        })
    }

    fn put_record_renewing_key(&mut self, _stream: &[u8]) -> Result<(), CardError> {
        Err(CardError::NotOnOpenPgp {
            operation: "renew its key with a record",
            reason: NOT_INITIALISED,
        })
    }

    /// Reads the header of 0101 and returns the record it names from the source.
    fn get_record_public(&mut self) -> Result<Vec<u8>, CardError> {
        let bytes = self.get_private_use(PrivateUse::Do0101, "GET DATA 0101")?;
        let header = QuorumHeader::decode(&bytes)
            .map_err(|e| CardError::OpenPgpUnsuitable(Unsuitable::ForeignHeader(e)))?
            .ok_or(CardError::WrongState {
                command: "GET DATA 0101",
                state: self.known_state(),
            })?;
        self.records.find(&header).ok_or(CardError::RecordInBundle {
            set_id: header.set_id,
            set_version: header.set_version,
            index: header.index,
        })
    }

    /// GET DATA 0103 after VERIFY 82.
    fn get_record_sealed(&mut self) -> Result<Zeroizing<Vec<u8>>, CardError> {
        let sealed = self.run(
            "GET DATA 0103",
            "private-use data object 0103",
            &command::get_private_use(PrivateUse::Do0103),
        )?;
        if sealed.is_empty() {
            return Err(CardError::OpenPgpNotFound {
                command: "GET DATA 0103",
                what: "sealed share (data object 0103 is empty)",
            });
        }
        Ok(sealed)
    }

    /// PSO:DECIPHER of the point's u; answers the Wei25519 x of the card's u, as UNSEAL does.
    fn unseal(&mut self, point: &[u8; POINT_LEN]) -> Result<Zeroizing<[u8; DH_LEN]>, CardError> {
        let point = SubgroupPoint::from_wei_point(point).map_err(CardError::OpenPgpBadPoint)?;
        let data = self.run(
            "PSO:DECIPHER",
            "decryption key",
            &command::decipher_cv25519(&point.u()),
        )?;
        let malformed = |source| CardError::OpenPgpMalformed {
            command: "PSO:DECIPHER",
            source,
        };
        let u = parse_decipher_answer(&data).map_err(malformed)?;
        let answer = SubgroupPoint::from_u(&u).map_err(|problem| {
            malformed(OpenPgpParseError::Point {
                what: "DECIPHER answer",
                problem,
            })
        })?;
        Ok(Zeroizing::new(answer.wei_x()))
    }

    /// Wipes quorum's data only (0101 empty, then 0103 empty) after VERIFY 82; the keys stay.
    fn factory_reset(&mut self) -> Result<(), CardError> {
        OpenPgpKeys::clear_share(self)
    }

    fn stats(&self) -> ApduStats {
        self.card.stats()
    }
}
