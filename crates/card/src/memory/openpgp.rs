//! [`MemoryOpenPgp`]: enough of the OpenPGP card application (spec 3.4.1) to answer what
//! quorum sends an OpenPGP card (apdu-spec/openpgp.md), in memory, for unit tests.
//!
//! Modelled on the spec and opcard: default PINs 123456 / 12345678 with 3 tries each; the
//! user PIN verified in mode 82 and the admin PIN stay verified until a reset or a new
//! SELECT; private-use DOs 0101 (read always, write PW1), 0102 (write PW3), 0103 (PW1),
//! 0104 (PW3); GENERATE 80 (PW3) and 81; PSO:DECIPHER with an X25519 clamped key (PW1 82).
//! It logs every command like [`super::MemoryApplet`], so a test can say what a card saw.

use std::fmt;

use curve25519_dalek::montgomery::MontgomeryPoint;
use rand::rngs::StdRng;
use rand::{RngCore, SeedableRng};
use zeroize::Zeroizing;

use super::applet::{Apdu, Exchange};
use crate::transport::{RawResponse, Transport, TransportError};
use quorum_protocol::crypto::CardKey;
use quorum_protocol::openpgp::{CV25519_ECDH_ATTRIBUTES, OPENPGP_AID_PREFIX};

/// The user PIN (PW1) of a fresh card.
pub const DEFAULT_USER_PIN: &str = "123456";
/// The admin PIN (PW3) of a fresh card.
pub const DEFAULT_ADMIN_PIN: &str = "12345678";
/// Tries of each PIN on a fresh card.
pub const DEFAULT_TRIES: u8 = 3;
/// The private-use DO size of a YubiKey 5 (opcard allows far more).
pub const YUBIKEY_PRIVATE_USE_SIZE: u16 = 255;

/// RSA 2048 attributes, what a factory-fresh card has in every slot.
const RSA_2048: [u8; 6] = [0x01, 0x08, 0x00, 0x00, 0x20, 0x00];
/// Ed25519 attributes for the signature and authentication slots.
const ED25519: [u8; 10] = [0x16, 0x2B, 0x06, 0x01, 0x04, 0x01, 0xDA, 0x47, 0x0F, 0x01];

const SW_OK: u16 = 0x9000;
const SW_WRONG_LENGTH: u16 = 0x6700;
const SW_NOT_VERIFIED: u16 = 0x6982;
const SW_BLOCKED: u16 = 0x6983;
const SW_CONDITIONS: u16 = 0x6985;
const SW_INCORRECT_DATA: u16 = 0x6A80;
const SW_FILE_NOT_FOUND: u16 = 0x6A82;
const SW_NOT_FOUND: u16 = 0x6A88;
const SW_WRONG_P1P2: u16 = 0x6A86;
const SW_INS_NOT_SUPPORTED: u16 = 0x6D00;
const SW_CLA_NOT_SUPPORTED: u16 = 0x6E00;

/// What the decryption slot holds.
#[derive(Clone)]
enum DecryptionKey {
    /// An X25519 secret (clamped at use, as X25519 does).
    X25519(Zeroizing<[u8; 32]>),
    /// Some RSA key: present, but not one quorum can use.
    Rsa,
}

/// One PIN with its retry counter.
struct Password {
    value: Zeroizing<Vec<u8>>,
    tries: u8,
}

impl Password {
    fn new(value: &str) -> Password {
        Password {
            value: Zeroizing::new(value.as_bytes().to_vec()),
            tries: DEFAULT_TRIES,
        }
    }

    /// Spends a try on a wrong value; resets the counter on the right one.
    fn check(&mut self, given: &[u8]) -> Result<(), u16> {
        if self.tries == 0 {
            return Err(SW_BLOCKED);
        }
        if given == &self.value[..] {
            self.tries = DEFAULT_TRIES;
            Ok(())
        } else {
            self.tries -= 1;
            Err(0x63C0 | u16::from(self.tries))
        }
    }
}

/// An OpenPGP card in memory: a second implementation of what apdu-spec/openpgp.md expects
/// of a card, driven byte for byte by `OpenPgpCard<MemoryOpenPgp>`.
pub struct MemoryOpenPgp {
    rng: StdRng,
    // What the card is.
    version: (u8, u8),
    manufacturer: u16,
    serial: u32,
    private_use: bool,
    private_use_size: u16,
    /// `None`: no KDF-DO; `Some(0)`: KDF-DO present, off; `Some(x)`: active.
    kdf: Option<u8>,
    touch: Option<u8>,
    touch_never_comes: bool,
    // Persistent state.
    pw1: Password,
    pw3: Password,
    decryption_attributes: Vec<u8>,
    decryption_key: Option<DecryptionKey>,
    decryption_fingerprint: [u8; 20],
    decryption_time: [u8; 4],
    private_dos: [Vec<u8>; 4],
    // Transient state.
    selected: bool,
    pw1_82: bool,
    pw3_verified: bool,
    output: Zeroizing<Vec<u8>>,
    // What the card saw.
    log: Vec<Exchange>,
}

impl fmt::Debug for MemoryOpenPgp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryOpenPgp")
            .field("serial", &format_args!("{:08X}", self.serial))
            .field("user_tries", &self.pw1.tries)
            .field("key", &self.card_key())
            .field("exchanges", &self.log.len())
            .finish_non_exhaustive()
    }
}

impl Default for MemoryOpenPgp {
    fn default() -> Self {
        MemoryOpenPgp::new()
    }
}

impl MemoryOpenPgp {
    /// A factory-fresh OpenPGP 3.4 card (RSA 2048 attributes, no keys, default PINs),
    /// private-use DOs of a YubiKey 5's size; randomness from the OS.
    pub fn new() -> MemoryOpenPgp {
        MemoryOpenPgp::with_seed(rand::rngs::OsRng.next_u64())
    }

    /// [`MemoryOpenPgp::new`] with key generation reproducible from `seed`.
    pub fn with_seed(seed: u64) -> MemoryOpenPgp {
        MemoryOpenPgp {
            rng: StdRng::seed_from_u64(seed),
            version: (3, 4),
            manufacturer: 0x000F,
            serial: 0x0000_1234 ^ (seed as u32),
            private_use: true,
            private_use_size: YUBIKEY_PRIVATE_USE_SIZE,
            kdf: Some(0),
            touch: None,
            touch_never_comes: false,
            pw1: Password::new(DEFAULT_USER_PIN),
            pw3: Password::new(DEFAULT_ADMIN_PIN),
            decryption_attributes: RSA_2048.to_vec(),
            decryption_key: None,
            decryption_fingerprint: [0; 20],
            decryption_time: [0; 4],
            private_dos: Default::default(),
            selected: false,
            pw1_82: false,
            pw3_verified: false,
            output: Zeroizing::new(Vec::new()),
            log: Vec::new(),
        }
    }

    /// The same card with its owner's own user PIN (any length the card takes, letters too),
    /// as `gpg --change-pin` leaves it.
    pub fn with_user_pin(mut self, pin: &str) -> MemoryOpenPgp {
        self.pw1 = Password::new(pin);
        self
    }

    /// The same card after its owner made a cv25519 decryption key on it (as `gpg
    /// --card-edit` does: attributes, GENERATE 80, fingerprint and time).
    pub fn with_cv25519_key(mut self) -> MemoryOpenPgp {
        let mut k = Zeroizing::new([0u8; 32]);
        self.rng.fill_bytes(&mut k[..]);
        self.install_x25519(k)
    }

    /// The same card with this X25519 secret (little-endian, clamped at use) as its decryption key.
    pub fn with_x25519_secret(self, secret: [u8; 32]) -> MemoryOpenPgp {
        self.install_x25519(Zeroizing::new(secret))
    }

    fn install_x25519(mut self, k: Zeroizing<[u8; 32]>) -> MemoryOpenPgp {
        self.decryption_attributes = CV25519_ECDH_ATTRIBUTES.to_vec();
        self.decryption_key = Some(DecryptionKey::X25519(k));
        self.decryption_fingerprint = [0x5A; 20];
        self.decryption_time = [0x65, 0x63, 0xD4, 0xC4];
        self
    }

    /// The same card with an RSA decryption key (present, not usable by quorum).
    pub fn with_rsa_key(mut self) -> MemoryOpenPgp {
        self.decryption_attributes = RSA_2048.to_vec();
        self.decryption_key = Some(DecryptionKey::Rsa);
        self.decryption_fingerprint = [0x2E; 20];
        self
    }

    /// The same card without private-use DOs (C0 does not announce them).
    pub fn without_private_use(mut self) -> MemoryOpenPgp {
        self.private_use = false;
        self
    }

    /// The same card with private-use DOs of `size` bytes.
    pub fn private_use_size(mut self, size: u16) -> MemoryOpenPgp {
        self.private_use_size = size;
        self
    }

    /// The same card with its KDF-DO active (iterated and salted S2K, algorithm 03).
    pub fn kdf_active(mut self) -> MemoryOpenPgp {
        self.kdf = Some(0x03);
        self
    }

    /// The same card with a touch policy for decryption (D7; YubiKey values).
    pub fn touch_policy(mut self, policy: u8) -> MemoryOpenPgp {
        self.touch = Some(policy);
        self
    }

    /// The same card, whose custodian never touches it: DECIPHER answers 6985 (YubiKey).
    pub fn touch_never_comes(mut self) -> MemoryOpenPgp {
        self.touch_never_comes = true;
        self
    }

    /// The same card with `data` already in a private-use DO (another program's, say).
    pub fn with_private_use(mut self, tag: u16, data: &[u8]) -> MemoryOpenPgp {
        let slot = private_slot(tag).expect("a private-use tag 0101..0104");
        self.private_dos[slot] = data.to_vec();
        self
    }

    // ---- What a test reads back ----

    /// The decryption key's X25519 public key, if it is a cv25519 key.
    pub fn public_u(&self) -> Option<[u8; 32]> {
        match &self.decryption_key {
            Some(DecryptionKey::X25519(k)) => {
                Some(MontgomeryPoint::mul_base_clamped(**k).to_bytes())
            }
            _ => None,
        }
    }

    /// The card key as quorum names it, if the decryption key is cv25519.
    pub fn card_key(&self) -> Option<CardKey> {
        self.public_u().and_then(|u| CardKey::from_x25519(&u).ok())
    }

    /// The content of a private-use DO (tag 0101..0104).
    pub fn private_use(&self, tag: u16) -> &[u8] {
        &self.private_dos[private_slot(tag).expect("a private-use tag 0101..0104")]
    }

    /// User PIN tries left (0 = blocked).
    pub fn user_tries(&self) -> u8 {
        self.pw1.tries
    }

    /// Whether the user PIN is verified in mode 82 in this session.
    pub fn user_pin_verified(&self) -> bool {
        self.pw1_82
    }

    /// Every command APDU the card received, with its answer.
    pub fn log(&self) -> &[Exchange] {
        &self.log
    }

    /// How many received commands had this INS.
    pub fn count(&self, ins: u8) -> usize {
        self.log.iter().filter(|e| e.ins() == ins).count()
    }

    /// Forgets the log.
    pub fn clear_log(&mut self) {
        self.log.clear();
    }

    // ---- The card ----

    /// A reset: the application is deselected and every verification is gone.
    pub fn power_up(&mut self) {
        self.selected = false;
        self.end_session();
    }

    fn end_session(&mut self) {
        self.pw1_82 = false;
        self.pw3_verified = false;
        self.output = Zeroizing::new(Vec::new());
    }

    /// Runs one command APDU and returns the response data and status word.
    pub fn process(&mut self, command: &[u8]) -> (Zeroizing<Vec<u8>>, u16) {
        let (data, sw) = self.run(command);
        self.log.push(Exchange {
            command: command.to_vec(),
            sw,
        });
        (data, sw)
    }

    fn run(&mut self, command: &[u8]) -> (Zeroizing<Vec<u8>>, u16) {
        let none = || Zeroizing::new(Vec::new());
        let pending = std::mem::replace(&mut self.output, Zeroizing::new(Vec::new()));
        let Some(apdu) = Apdu::parse(command) else {
            return (none(), SW_WRONG_LENGTH);
        };
        if apdu.cla != 0x00 {
            return (none(), SW_CLA_NOT_SUPPORTED);
        }
        if apdu.ins == 0xA4 {
            return self.select(&apdu);
        }
        if !self.selected {
            return (none(), SW_INS_NOT_SUPPORTED);
        }
        let result = match apdu.ins {
            0xCA => self.get_data(&apdu),
            0xDA => self.put_data(&apdu),
            0x20 => self.verify(&apdu),
            0x24 => self.change_reference_data(&apdu),
            0x47 => self.generate(&apdu),
            0x2A => self.pso(&apdu),
            0xC0 if !pending.is_empty() => Ok(self.respond(pending.to_vec(), apdu.ne)),
            0xC0 => Err(SW_CONDITIONS),
            _ => Err(SW_INS_NOT_SUPPORTED),
        };
        result.unwrap_or_else(|sw| (none(), sw))
    }

    /// Sends min(Ne, len) bytes and keeps the rest for GET RESPONSE (`61xx`).
    fn respond(&mut self, data: Vec<u8>, ne: usize) -> (Zeroizing<Vec<u8>>, u16) {
        let (data, sw, rest) = super::applet::split_for_get_response(data, ne);
        self.output = rest;
        (data, sw)
    }

    fn done() -> Result<(Zeroizing<Vec<u8>>, u16), u16> {
        Ok((Zeroizing::new(Vec::new()), SW_OK))
    }

    fn select(&mut self, apdu: &Apdu<'_>) -> (Zeroizing<Vec<u8>>, u16) {
        let aid = self.aid();
        if apdu.p1 != 0x04
            || apdu.data.len() < OPENPGP_AID_PREFIX.len()
            || !aid.starts_with(apdu.data)
        {
            return (Zeroizing::new(Vec::new()), SW_FILE_NOT_FOUND);
        }
        self.selected = true;
        self.end_session();
        (Zeroizing::new(Vec::new()), SW_OK)
    }

    fn aid(&self) -> [u8; 16] {
        let mut aid = [0u8; 16];
        aid[..6].copy_from_slice(&OPENPGP_AID_PREFIX);
        aid[6] = self.version.0;
        aid[7] = self.version.1;
        aid[8..10].copy_from_slice(&self.manufacturer.to_be_bytes());
        aid[10..14].copy_from_slice(&self.serial.to_be_bytes());
        aid
    }

    fn pw_status(&self) -> [u8; 7] {
        [0x00, 0x7F, 0x7F, 0x7F, self.pw1.tries, 0x00, self.pw3.tries]
    }

    fn application_related_data(&self) -> Vec<u8> {
        let mut flags = 0x20 | 0x10 | 0x04; // key import, PW status changeable, attributes changeable
        if self.private_use {
            flags |= 0x08;
        }
        if self.kdf.is_some() {
            flags |= 0x01;
        }
        let mut c0 = vec![flags, 0x00, 0x00, 0x80, 0x08, 0x00];
        c0.extend_from_slice(&self.private_use_size.to_be_bytes());
        c0.extend_from_slice(&[0x01, 0x00]);
        let mut fingerprints = vec![0u8; 60];
        fingerprints[20..40].copy_from_slice(&self.decryption_fingerprint);
        let mut times = vec![0u8; 12];
        times[4..8].copy_from_slice(&self.decryption_time);
        let key_status = match self.decryption_key {
            Some(_) => 0x01,
            None => 0x00,
        };
        let mut discretionary = Vec::new();
        tlv(&mut discretionary, 0xC0, &c0);
        tlv(&mut discretionary, 0xC1, &ED25519);
        tlv(&mut discretionary, 0xC2, &self.decryption_attributes);
        tlv(&mut discretionary, 0xC3, &ED25519);
        tlv(&mut discretionary, 0xC4, &self.pw_status());
        tlv(&mut discretionary, 0xC5, &fingerprints);
        tlv(&mut discretionary, 0xC6, &[0u8; 60]);
        tlv(&mut discretionary, 0xCD, &times);
        tlv(
            &mut discretionary,
            0xDE,
            &[0x01, 0x00, 0x02, key_status, 0x03, 0x00],
        );
        if let Some(policy) = self.touch {
            tlv(&mut discretionary, 0xD7, &[policy, 0x20]);
        }
        let mut inner = Vec::new();
        tlv(&mut inner, 0x4F, &self.aid());
        tlv(
            &mut inner,
            0x5F52,
            &[0x00, 0x73, 0x00, 0x00, 0xE0, 0x05, 0x90, 0x00],
        );
        tlv(&mut inner, 0x73, &discretionary);
        let mut out = Vec::new();
        tlv(&mut out, 0x6E, &inner);
        out
    }

    fn user_access(&self) -> Result<(), u16> {
        if self.pw1_82 {
            Ok(())
        } else {
            Err(SW_NOT_VERIFIED)
        }
    }

    fn admin_access(&self) -> Result<(), u16> {
        if self.pw3_verified {
            Ok(())
        } else {
            Err(SW_NOT_VERIFIED)
        }
    }

    fn get_data(&mut self, apdu: &Apdu<'_>) -> Result<(Zeroizing<Vec<u8>>, u16), u16> {
        let tag = u16::from_be_bytes([apdu.p1, apdu.p2]);
        let answer = match tag {
            0x006E => self.application_related_data(),
            0x00C4 => self.pw_status().to_vec(),
            0x00F9 => match self.kdf {
                Some(algorithm) => {
                    let mut out = Vec::new();
                    tlv(&mut out, 0x81, &[algorithm]);
                    out
                }
                None => return Err(SW_NOT_FOUND),
            },
            0x0101..=0x0104 if self.private_use => {
                match tag {
                    0x0103 => self.user_access()?,
                    0x0104 => self.admin_access()?,
                    _ => {}
                }
                self.private_use(tag).to_vec()
            }
            _ => return Err(SW_NOT_FOUND),
        };
        Ok(self.respond(answer, apdu.ne))
    }

    fn put_data(&mut self, apdu: &Apdu<'_>) -> Result<(Zeroizing<Vec<u8>>, u16), u16> {
        let tag = u16::from_be_bytes([apdu.p1, apdu.p2]);
        match tag {
            0x0101..=0x0104 if self.private_use => {
                match tag {
                    0x0101 | 0x0103 => self.user_access()?,
                    _ => self.admin_access()?,
                }
                if apdu.data.len() > usize::from(self.private_use_size) {
                    return Err(SW_WRONG_LENGTH);
                }
                let slot = private_slot(tag).expect("in range");
                self.private_dos[slot] = apdu.data.to_vec();
            }
            0x00C2 => {
                self.admin_access()?;
                if apdu.data.is_empty() {
                    return Err(SW_INCORRECT_DATA);
                }
                if apdu.data != &self.decryption_attributes[..] {
                    // New attributes make the old key unusable (opcard deletes it).
                    self.decryption_key = None;
                    self.decryption_fingerprint = [0; 20];
                }
                self.decryption_attributes = apdu.data.to_vec();
            }
            0x00C8 => {
                self.admin_access()?;
                self.decryption_fingerprint = apdu.data.try_into().map_err(|_| SW_WRONG_LENGTH)?;
            }
            0x00CF => {
                self.admin_access()?;
                self.decryption_time = apdu.data.try_into().map_err(|_| SW_WRONG_LENGTH)?;
            }
            _ => return Err(SW_NOT_FOUND),
        }
        Self::done()
    }

    fn verify(&mut self, apdu: &Apdu<'_>) -> Result<(Zeroizing<Vec<u8>>, u16), u16> {
        let admin = match apdu.p2 {
            0x81 | 0x82 => false,
            0x83 => true,
            _ => return Err(SW_WRONG_P1P2),
        };
        match apdu.p1 {
            0xFF => {
                if admin {
                    self.pw3_verified = false;
                } else {
                    self.pw1_82 = false;
                }
                return Self::done();
            }
            0x00 => {}
            _ => return Err(SW_WRONG_P1P2),
        }
        let (password, verified) = match admin {
            true => (&mut self.pw3, &mut self.pw3_verified),
            false => (&mut self.pw1, &mut self.pw1_82),
        };
        if apdu.data.is_empty() {
            return match (*verified, password.tries) {
                (true, _) => Self::done(),
                (false, 0) => Err(SW_BLOCKED),
                (false, tries) => Err(0x63C0 | u16::from(tries)),
            };
        }
        *verified = false;
        password.check(apdu.data)?;
        // P2 81 would verify PW1 for signing: a mode quorum never uses, not kept apart here.
        *verified = true;
        Self::done()
    }

    fn change_reference_data(&mut self, apdu: &Apdu<'_>) -> Result<(Zeroizing<Vec<u8>>, u16), u16> {
        let password = match (apdu.p1, apdu.p2) {
            (0x00, 0x81) => &mut self.pw1,
            (0x00, 0x83) => &mut self.pw3,
            _ => return Err(SW_WRONG_P1P2),
        };
        if password.tries == 0 {
            return Err(SW_BLOCKED);
        }
        let old_len = password.value.len();
        if apdu.data.len() < old_len + 6 {
            return Err(SW_WRONG_LENGTH);
        }
        let (old, new) = apdu.data.split_at(old_len);
        password.check(old)?;
        password.value = Zeroizing::new(new.to_vec());
        Self::done()
    }

    fn generate(&mut self, apdu: &Apdu<'_>) -> Result<(Zeroizing<Vec<u8>>, u16), u16> {
        if apdu.p2 != 0x00 {
            return Err(SW_WRONG_P1P2);
        }
        if apdu.data != [0xB8, 0x00] {
            // Only the decryption slot is modelled.
            return Err(SW_INCORRECT_DATA);
        }
        match apdu.p1 {
            0x80 => {
                self.admin_access()?;
                if self.decryption_attributes != CV25519_ECDH_ATTRIBUTES {
                    return Err(SW_INCORRECT_DATA);
                }
                let mut k = Zeroizing::new([0u8; 32]);
                self.rng.fill_bytes(&mut k[..]);
                self.decryption_key = Some(DecryptionKey::X25519(k));
                self.decryption_fingerprint = [0; 20];
            }
            0x81 => {}
            _ => return Err(SW_WRONG_P1P2),
        }
        let mut point = Vec::new();
        match &self.decryption_key {
            None => return Err(SW_NOT_FOUND),
            Some(DecryptionKey::X25519(_)) => {
                tlv(&mut point, 0x86, &self.public_u().expect("an X25519 key"));
            }
            Some(DecryptionKey::Rsa) => {
                tlv(&mut point, 0x81, &[0xC5; 256]);
                tlv(&mut point, 0x82, &[0x01, 0x00, 0x01]);
            }
        }
        let mut out = Vec::new();
        tlv(&mut out, 0x7F49, &point);
        Ok(self.respond(out, apdu.ne))
    }

    fn pso(&mut self, apdu: &Apdu<'_>) -> Result<(Zeroizing<Vec<u8>>, u16), u16> {
        if (apdu.p1, apdu.p2) != (0x80, 0x86) {
            return Err(SW_WRONG_P1P2);
        }
        self.user_access()?;
        let k = match &self.decryption_key {
            None => return Err(SW_NOT_FOUND),
            Some(DecryptionKey::Rsa) => return Err(SW_INCORRECT_DATA),
            Some(DecryptionKey::X25519(k)) => k.clone(),
        };
        if self.touch.is_some_and(|p| p != 0) && self.touch_never_comes {
            return Err(SW_CONDITIONS);
        }
        let u = decipher_point(apdu.data).ok_or(SW_INCORRECT_DATA)?;
        let shared = MontgomeryPoint(u).mul_clamped(*k);
        Ok(self.respond(shared.to_bytes().to_vec(), apdu.ne))
    }
}

/// The u of `A6 { 7F49 { 86 u } }` (spec §7.2.11), 32 bytes or 33 starting with 40.
fn decipher_point(data: &[u8]) -> Option<[u8; 32]> {
    let (tag, a6, rest) = read_tlv(data)?;
    if tag != 0xA6 || !rest.is_empty() {
        return None;
    }
    let (tag, public, rest) = read_tlv(a6)?;
    if tag != 0x7F49 || !rest.is_empty() {
        return None;
    }
    let (tag, u, _) = read_tlv(public)?;
    if tag != 0x86 {
        return None;
    }
    match u {
        [0x40, rest @ ..] if rest.len() == 32 => rest.try_into().ok(),
        _ => u.try_into().ok(),
    }
}

/// One BER-TLV: tag (one or two bytes), value, and what follows.
fn read_tlv(data: &[u8]) -> Option<(u16, &[u8], &[u8])> {
    let (tag, rest) = match data {
        [first, second, rest @ ..] if first & 0x1F == 0x1F => {
            (u16::from_be_bytes([*first, *second]), rest)
        }
        [first, rest @ ..] => (u16::from(*first), rest),
        [] => return None,
    };
    let (len, rest) = match rest {
        [0x81, len, rest @ ..] => (usize::from(*len), rest),
        [0x82, hi, lo, rest @ ..] => (usize::from(u16::from_be_bytes([*hi, *lo])), rest),
        [len, rest @ ..] if *len < 0x80 => (usize::from(*len), rest),
        _ => return None,
    };
    (rest.len() >= len).then(|| (tag, &rest[..len], &rest[len..]))
}

/// Appends a BER-TLV (one- or two-byte tag, definite length).
fn tlv(out: &mut Vec<u8>, tag: u16, value: &[u8]) {
    if tag > 0xFF {
        out.extend_from_slice(&tag.to_be_bytes());
    } else {
        out.push(tag as u8);
    }
    match value.len() {
        n if n < 0x80 => out.push(n as u8),
        n if n <= 0xFF => out.extend_from_slice(&[0x81, n as u8]),
        n => {
            out.push(0x82);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        }
    }
    out.extend_from_slice(value);
}

fn private_slot(tag: u16) -> Option<usize> {
    (0x0101..=0x0104)
        .contains(&tag)
        .then(|| usize::from(tag - 0x0101))
}

impl Transport for MemoryOpenPgp {
    fn transmit(&mut self, command: &[u8]) -> Result<RawResponse, TransportError> {
        let (data, sw) = self.process(command);
        Ok(RawResponse::new(data, sw))
    }

    fn reconnect(&mut self) -> Result<(), TransportError> {
        self.power_up();
        Ok(())
    }
}
