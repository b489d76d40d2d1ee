//! [`MemoryApplet`]: the quorum applet as apdu-spec specifies it, in memory.
//!
//! The persistent part (life-cycle state, PIN, tries, key slots, record) survives resets;
//! the transient part (selected, PIN validated, a PUT RECORD chain in progress, pending
//! output) is cleared by a reset, by SELECT and by FACTORY RESET, as on a card. Checks run in
//! the order README.md gives (class, chain in progress, chaining bit, INS, P1/P2, life-cycle,
//! PIN, length, data), refined where a command file lists its own order.

use std::fmt;

use curve25519_dalek::montgomery::MontgomeryPoint;
use curve25519_dalek::scalar::Scalar;
use rand::rngs::StdRng;
use rand::{RngCore, SeedableRng};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use quorum_protocol::apdu::{
    LifeCycle, APPLET_AID, INS_CHANGE_REFERENCE_DATA, INS_FACTORY_RESET, INS_GET_RECORD,
    INS_GET_RESPONSE, INS_GET_STATUS, INS_INITIALISE, INS_PREPARE_KEY, INS_PUT_RECORD, INS_SELECT,
    INS_UNSEAL, INS_VERIFY, P1_FACTORY_RESET, P1_VERIFY_CLEAR, P2_FACTORY_RESET, P2_PIN, POINT_LEN,
};
use quorum_protocol::crypto::wei25519::{u_to_wei_x, wei_point_from_u, SubgroupPoint};
use quorum_protocol::pin::{PIN_BLOCK_LEN, PIN_MIN_DIGITS, RETRY_LIMIT_MAX, RETRY_LIMIT_MIN};

use crate::transport::{RawResponse, Transport, TransportError};

/// The record capacity a card reports unless told otherwise (README.md, record-format.md).
pub const DEFAULT_CAPACITY: u16 = 8192;

/// `9000`: success.
pub const SW_OK: u16 = 0x9000;
/// `6700`: wrong length.
pub const SW_WRONG_LENGTH: u16 = 0x6700;
/// `6883`: a PUT RECORD chain was in progress; the command was not executed.
pub const SW_CHAIN_ABORTED: u16 = 0x6883;
/// `6884`: the chaining bit on a command other than PUT RECORD.
pub const SW_CHAINING_NOT_SUPPORTED: u16 = 0x6884;
/// `6982`: the PIN is not validated in this session.
pub const SW_PIN_NOT_VERIFIED: u16 = 0x6982;
/// `6983`: the PIN is blocked.
pub const SW_PIN_BLOCKED: u16 = 0x6983;
/// `6985`: not allowed in this state (or nothing pending for GET RESPONSE).
pub const SW_CONDITIONS: u16 = 0x6985;
/// `6986`: jcardsim's runtime answer to a command before the applet was selected.
pub const SW_NOT_SELECTED: u16 = 0x6986;
/// `6A80`: incorrect data.
pub const SW_INCORRECT_DATA: u16 = 0x6A80;
/// `6A82`: the card manager's answer to a SELECT of an applet the card does not have.
pub const SW_APPLET_NOT_FOUND: u16 = 0x6A82;
/// `6A84`: the record is larger than the capacity.
pub const SW_NOT_ENOUGH_MEMORY: u16 = 0x6A84;
/// `6A86`: incorrect P1/P2.
pub const SW_WRONG_P1P2: u16 = 0x6A86;
/// `6D00`: INS not supported.
pub const SW_INS_NOT_SUPPORTED: u16 = 0x6D00;
/// `6E00`: CLA not supported.
pub const SW_CLA_NOT_SUPPORTED: u16 = 0x6E00;

/// `63Cx`: wrong PIN (or query: not validated), x tries left.
pub fn sw_tries_left(tries: u8) -> u16 {
    0x63C0 | u16::from(tries & 0x0F)
}

/// One key slot: the private scalar and the public point GET STATUS shows.
#[derive(Clone)]
struct KeyPair {
    d: Scalar,
    point: [u8; POINT_LEN],
}

impl KeyPair {
    /// d·G as the card shows it. The point sent is the even-y root of u(d·G); when that is
    /// −(d·G) the card's key is −d, which gives the same x(d·P) for every P (x-only DH), so
    /// the card is exactly a card with that key (crypto.md §1: either root serves).
    fn from_scalar(d: Scalar) -> KeyPair {
        let u = MontgomeryPoint::mul_base(&d).to_bytes();
        let point = wei_point_from_u(&u).expect("d·G is a point of the curve");
        KeyPair { d, point }
    }
}

/// A PUT RECORD chain in progress: what its first APDU fixed and what arrived so far.
struct Chain {
    p1: u8,
    public_len: usize,
    sealed_len: usize,
    /// Record bytes received so far (the header excluded): the staging slot.
    staged: Zeroizing<Vec<u8>>,
}

/// One command APDU the applet received and the status word it answered.
#[derive(Clone, PartialEq, Eq)]
pub struct Exchange {
    /// The command APDU as received (PIN blocks included: this is a test double).
    pub command: Vec<u8>,
    /// The status word answered (`6986` before SELECT, `6A82` without the applet).
    pub sw: u16,
}

impl Exchange {
    /// INS of the command.
    pub fn ins(&self) -> u8 {
        self.command.get(1).copied().unwrap_or_default()
    }

    /// P1 of the command.
    pub fn p1(&self) -> u8 {
        self.command.get(2).copied().unwrap_or_default()
    }

    /// Whether this is a VERIFY that carries a PIN block (a try is at stake).
    pub fn is_pin_check(&self) -> bool {
        self.ins() == INS_VERIFY && self.p1() == 0x00 && self.command.len() > 5
    }
}

impl fmt::Debug for Exchange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} → {:04X}", hex::encode_upper(&self.command), self.sw)
    }
}

/// A short command APDU split into its fields (ISO 7816-4 cases 1 to 4).
pub(super) struct Apdu<'a> {
    pub(super) cla: u8,
    pub(super) ins: u8,
    pub(super) p1: u8,
    pub(super) p2: u8,
    pub(super) data: &'a [u8],
    /// Ne: Le absent is treated as `00` (256), as the spec says for every data response.
    pub(super) ne: usize,
    /// Extended-length form (3-byte Lc or Le): only PUT RECORD takes it, from protocol 1.4.
    pub(super) extended: bool,
}

impl<'a> Apdu<'a> {
    /// Parses a short or extended APDU; `None` for a malformed one (the runtime answers `6700`).
    pub(super) fn parse(bytes: &'a [u8]) -> Option<Apdu<'a>> {
        let (header, body) = (bytes.get(..4)?, &bytes[4..]);
        let le = |b: u8| if b == 0 { 256 } else { usize::from(b) };
        let le2 = |hi: u8, lo: u8| match u16::from_be_bytes([hi, lo]) {
            0 => 65536,
            n => usize::from(n),
        };
        let (data, ne, extended) = match body {
            [] => (&body[..0], 256, false),
            [le_byte] => (&body[..0], le(*le_byte), false),
            [0, hi, lo] => (&body[..0], le2(*hi, *lo), true),
            [0, hi, lo, rest @ ..] => {
                let lc = usize::from(u16::from_be_bytes([*hi, *lo]));
                match rest.len().checked_sub(lc) {
                    Some(0) if lc > 0 => (rest, 256, true),
                    Some(2) if lc > 0 => (&rest[..lc], le2(rest[lc], rest[lc + 1]), true),
                    _ => return None,
                }
            }
            [lc, rest @ ..] if rest.len() == usize::from(*lc) => (rest, 256, false),
            [lc, rest @ ..] if rest.len() == usize::from(*lc) + 1 => {
                (&rest[..rest.len() - 1], le(rest[rest.len() - 1]), false)
            }
            _ => return None,
        };
        Some(Apdu {
            cla: header[0],
            ins: header[1],
            p1: header[2],
            p2: header[3],
            data,
            ne,
            extended,
        })
    }
}

/// What the class check (README.md, *Class check*) makes of CLA against INS.
#[derive(Clone, Copy, PartialEq, Eq)]
enum ClassCheck {
    Runs,
    Refused(u16),
}

/// The quorum applet on one card, in memory: a second implementation of apdu-spec that
/// `Card<MemoryApplet>` drives byte for byte, so ceremony logic is tested without pcscd.
pub struct MemoryApplet {
    // The card itself.
    installed: bool,
    minor: u8,
    /// A faulty card: it stores the public part with its last byte flipped.
    flips_public: bool,
    /// In a reader that exchanges short APDUs only (T=0, or a short-APDU CCID reader): an
    /// extended-length APDU never reaches the card and the transmit fails.
    short_apdu_reader: bool,
    capacity: u16,
    rng: StdRng,
    /// Scalars the next key generations use (vectors and reproducible tests).
    queued_keys: Vec<Scalar>,
    // Persistent state.
    state: LifeCycle,
    pin: Zeroizing<[u8; PIN_BLOCK_LEN]>,
    retry_limit: u8,
    tries_left: u8,
    key: Option<KeyPair>,
    pending_key: Option<KeyPair>,
    public: Vec<u8>,
    sealed: Zeroizing<Vec<u8>>,
    /// SHA-256 of `public`, computed when PUT RECORD committed it (protocol 1.3).
    public_digest: [u8; 32],
    // Transient state.
    selected: bool,
    validated: bool,
    chain: Option<Chain>,
    output: Zeroizing<Vec<u8>>,
    // What the card saw.
    log: Vec<Exchange>,
    resets: usize,
}

impl Default for MemoryApplet {
    fn default() -> Self {
        MemoryApplet::new()
    }
}

impl fmt::Debug for MemoryApplet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MemoryApplet")
            .field("state", &self.state)
            .field("tries_left", &self.tries_left)
            .field("validated", &self.validated)
            .field("fingerprint", &self.fingerprint())
            .field("exchanges", &self.log.len())
            .finish_non_exhaustive()
    }
}

impl MemoryApplet {
    /// A blank card with the 1.4 applet and the default capacity, keys drawn from the OS RNG.
    pub fn new() -> MemoryApplet {
        MemoryApplet::with_seed(rand::rngs::OsRng.next_u64())
    }

    /// A blank card whose key generations are reproducible from `seed`.
    pub fn with_seed(seed: u64) -> MemoryApplet {
        MemoryApplet {
            installed: true,
            minor: 4,
            flips_public: false,
            short_apdu_reader: false,
            capacity: DEFAULT_CAPACITY,
            rng: StdRng::seed_from_u64(seed),
            queued_keys: Vec::new(),
            state: LifeCycle::Blank,
            pin: Zeroizing::new([0; PIN_BLOCK_LEN]),
            retry_limit: 0,
            tries_left: 0,
            key: None,
            pending_key: None,
            public: Vec::new(),
            sealed: Zeroizing::new(Vec::new()),
            public_digest: [0; 32],
            selected: false,
            validated: false,
            chain: None,
            output: Zeroizing::new(Vec::new()),
            log: Vec::new(),
            resets: 0,
        }
    }

    /// A card without the quorum applet: its card manager answers SELECT `6A82` (a foreign card).
    pub fn without_applet() -> MemoryApplet {
        MemoryApplet {
            installed: false,
            ..MemoryApplet::new()
        }
    }

    /// The same card with another record capacity (a card installed small or large).
    pub fn capacity(mut self, capacity: u16) -> MemoryApplet {
        self.capacity = capacity;
        self
    }

    /// The same card with a protocol 1.0 applet: no PREPARE KEY, no PUT RECORD P1 = `01`.
    pub fn protocol_1_0(mut self) -> MemoryApplet {
        self.minor = 0;
        self
    }

    /// The same card with a protocol 1.1 applet: a 6-byte SELECT answer, no UNSEAL P1 = `01`.
    pub fn protocol_1_1(mut self) -> MemoryApplet {
        self.minor = 1;
        self
    }

    /// The same card, faulty: every record it commits has its public part's last byte
    /// flipped (and its digest is of what it stores), for tests of the write check.
    pub fn flipping_the_public_part(mut self) -> MemoryApplet {
        self.flips_public = true;
        self
    }

    /// The same card with a protocol 1.2 applet: a record header without the public digest.
    pub fn protocol_1_2(mut self) -> MemoryApplet {
        self.minor = 2;
        self
    }

    /// The same card with a protocol 1.3 applet: PUT RECORD in short APDUs only (its runtime
    /// answers any extended-length APDU `6700`).
    pub fn protocol_1_3(mut self) -> MemoryApplet {
        self.minor = 3;
        self
    }

    /// The same card in a reader that carries short APDUs only: an extended-length APDU fails
    /// to transmit (as pcsc-lite reports SCARD_E_NOT_TRANSACTED) without reaching the card.
    pub fn in_a_short_apdu_reader(mut self) -> MemoryApplet {
        self.short_apdu_reader = true;
        self
    }

    /// The next key generation (INITIALISE, PREPARE KEY) uses `d` (big-endian, below r).
    pub fn queue_key(mut self, d_be: &[u8; 32]) -> MemoryApplet {
        let mut le = *d_be;
        le.reverse();
        let d = Option::<Scalar>::from(Scalar::from_canonical_bytes(le))
            .expect("a scalar below the group order");
        self.queued_keys.push(d);
        self
    }

    /// The same card personalised through its own INITIALISE (retry limit 5), for tests
    /// that start from a custodian's fresh card; the preparation stays out of the log.
    pub fn personalised(self, pin: &str) -> MemoryApplet {
        self.personalised_with_limit(pin, 5)
    }

    /// [`MemoryApplet::personalised`] with another retry limit.
    pub fn personalised_with_limit(mut self, pin: &str, limit: u8) -> MemoryApplet {
        let mut apdu = vec![0x80, INS_INITIALISE, 0, 0, 13, limit];
        apdu.extend_from_slice(&pin_block(pin));
        apdu.push(0);
        self.power_up();
        self.run(&select_apdu());
        let (_, sw) = self.run(&apdu);
        assert_eq!(sw, SW_OK, "INITIALISE of a blank card");
        self.power_up();
        self
    }

    // ---- What a test reads back ----

    /// The life-cycle state (the card's commit byte, as GET STATUS shows it).
    pub fn state(&self) -> LifeCycle {
        self.state
    }

    /// Wrong PINs left before the PIN blocks (0 on a blank card).
    pub fn tries_left(&self) -> u8 {
        self.tries_left
    }

    /// The retry limit chosen at INITIALISE (0 on a blank card).
    pub fn retry_limit(&self) -> u8 {
        self.retry_limit
    }

    /// Whether the PIN is blocked (tries left 0 on a personalised or enrolled card).
    pub fn blocked(&self) -> bool {
        self.state != LifeCycle::Blank && self.tries_left == 0
    }

    /// Whether the PIN is validated in the current session.
    pub fn validated(&self) -> bool {
        self.validated
    }

    /// The active public key `04 ‖ X ‖ Y`, as GET STATUS shows it.
    pub fn public_key(&self) -> Option<[u8; POINT_LEN]> {
        self.key.as_ref().map(|k| k.point)
    }

    /// The pending key made by PREPARE KEY, if any.
    pub fn pending_key(&self) -> Option<[u8; POINT_LEN]> {
        self.pending_key.as_ref().map(|k| k.point)
    }

    /// The card's fingerprint as quorumctl shows it, once it has a key.
    pub fn fingerprint(&self) -> Option<String> {
        let key = self.key.as_ref()?;
        quorum_protocol::crypto::CardKey::from_card_point(&key.point)
            .ok()
            .map(|k| k.fingerprint())
    }

    /// The stored record (public part, sealed part) of an enrolled card.
    pub fn record(&self) -> Option<(&[u8], &[u8])> {
        (self.state == LifeCycle::Enrolled).then(|| (&self.public[..], &self.sealed[..]))
    }

    /// Whether a PUT RECORD chain is in progress.
    pub fn chain_in_progress(&self) -> bool {
        self.chain.is_some()
    }

    /// Every command APDU the card received, with its answer, since creation or [`MemoryApplet::clear_log`].
    pub fn log(&self) -> &[Exchange] {
        &self.log
    }

    /// How many received commands had this INS.
    pub fn count(&self, ins: u8) -> usize {
        self.log.iter().filter(|e| e.ins() == ins).count()
    }

    /// How many VERIFY commands with a PIN block the card received (tries at stake).
    pub fn pin_checks(&self) -> usize {
        self.log.iter().filter(|e| e.is_pin_check()).count()
    }

    /// How many commands that change the card the card received: INITIALISE, CHANGE
    /// REFERENCE DATA, PUT RECORD, PREPARE KEY, FACTORY RESET (whatever their answer).
    pub fn writes(&self) -> usize {
        self.log
            .iter()
            .filter(|e| {
                matches!(
                    e.ins(),
                    INS_INITIALISE
                        | INS_CHANGE_REFERENCE_DATA
                        | INS_PUT_RECORD
                        | INS_PREPARE_KEY
                        | INS_FACTORY_RESET
                )
            })
            .count()
    }

    /// How many times the card was reset (powered up, reconnected).
    pub fn resets(&self) -> usize {
        self.resets
    }

    /// Forgets the log (a test that prepared a card and now watches a ceremony).
    pub fn clear_log(&mut self) {
        self.log.clear();
    }

    // ---- The card ----

    /// A reset (power-up, reconnect, insertion): the applet is deselected and every
    /// transient state is gone; persistent state stays.
    pub fn power_up(&mut self) {
        self.resets += 1;
        self.selected = false;
        self.end_session();
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
        // Pending output survives only an APDU with CLA 00 and INS C0 exactly.
        let keeps_output =
            command.len() >= 2 && command[0] == 0x00 && command[1] == INS_GET_RESPONSE;
        let pending = std::mem::replace(&mut self.output, Zeroizing::new(Vec::new()));
        let Some(apdu) = Apdu::parse(command) else {
            return (none(), SW_WRONG_LENGTH);
        };
        if apdu.extended && self.minor < 4 {
            // The runtime of an applet without ExtendedLength refuses the form itself.
            return (none(), SW_WRONG_LENGTH);
        }
        if !self.installed {
            return match apdu.ins {
                INS_SELECT => (none(), SW_APPLET_NOT_FOUND),
                _ => (none(), SW_INS_NOT_SUPPORTED),
            };
        }
        if !apdu.extended && self.selects_applet(&apdu) {
            self.selected = true;
            self.end_session();
            let mut answer = vec![0x01, self.minor, self.capabilities(), self.state.to_byte()];
            answer.extend_from_slice(&self.capacity.to_be_bytes());
            if self.minor >= 2 {
                // 1.2 (select.md): the status, and an ENROLLED card's record header.
                answer.extend_from_slice(&self.status_bytes());
                if self.state == LifeCycle::Enrolled {
                    answer.extend_from_slice(&Self::range(&self.public, 4, 23));
                    answer.extend_from_slice(&Self::range(&self.sealed, 0, 32));
                    if self.minor >= 3 {
                        answer.extend_from_slice(&self.public_digest);
                    }
                }
            }
            return self.respond(answer, apdu.ne);
        }
        if !self.selected {
            return (none(), SW_NOT_SELECTED);
        }
        let check = self.class_check(apdu.cla, apdu.ins);
        if self.chain.is_some() && apdu.ins != INS_PUT_RECORD {
            self.chain = None;
            return match check {
                ClassCheck::Refused(SW_CLA_NOT_SUPPORTED) => (none(), SW_CLA_NOT_SUPPORTED),
                _ => (none(), SW_CHAIN_ABORTED),
            };
        }
        if let ClassCheck::Refused(sw) = check {
            self.chain = None;
            return (none(), sw);
        }
        if apdu.extended && apdu.ins != INS_PUT_RECORD {
            // 1.4: only PUT RECORD takes the extended form (README.md, *Class check*).
            self.chain = None;
            return (none(), SW_WRONG_LENGTH);
        }
        let result = match apdu.ins {
            INS_SELECT => Err(if (apdu.p1, apdu.p2) != (0x04, 0x00) {
                SW_WRONG_P1P2
            } else {
                SW_INCORRECT_DATA
            }),
            INS_GET_STATUS => self.get_status(&apdu),
            INS_INITIALISE => self.initialise(&apdu),
            INS_VERIFY => self.verify(&apdu),
            INS_CHANGE_REFERENCE_DATA => self.change_reference_data(&apdu),
            INS_PUT_RECORD => self.put_record(&apdu),
            INS_GET_RECORD => self.get_record(&apdu),
            INS_UNSEAL => self.unseal(&apdu),
            INS_PREPARE_KEY => self.prepare_key(&apdu),
            INS_FACTORY_RESET => self.factory_reset(&apdu),
            INS_GET_RESPONSE if keeps_output => self.get_response(&apdu, pending),
            _ => Err(SW_INS_NOT_SUPPORTED),
        };
        match result {
            Ok((data, sw)) => (data, sw),
            Err(sw) => {
                // Any error status aborts a chain in progress (put-record.md).
                self.chain = None;
                self.output = Zeroizing::new(Vec::new());
                (none(), sw)
            }
        }
    }

    /// Whether the runtime treats the APDU as selecting the applet (jcardsim 3.0.5.11's rule:
    /// CLA 00–03, INS A4, P1 04, P2 within `1C`, data a prefix of the AID or absent).
    fn selects_applet(&self, apdu: &Apdu<'_>) -> bool {
        apdu.cla <= 0x03
            && apdu.ins == INS_SELECT
            && apdu.p1 == 0x04
            && apdu.p2 & !0x1C == 0
            && APPLET_AID.starts_with(apdu.data)
    }

    fn capabilities(&self) -> u8 {
        match self.minor {
            0 => 0x07,
            1 => 0x0F,
            2 => 0x1F,
            3 => 0x3F,
            _ => 0x7F,
        }
    }

    /// Bytes `from..to` of a record part, zero-padded where the part is shorter (select.md).
    fn range(part: &[u8], from: usize, to: usize) -> Vec<u8> {
        (from..to)
            .map(|i| part.get(i).copied().unwrap_or(0))
            .collect()
    }

    /// The class check table of README.md.
    fn class_check(&self, cla: u8, ins: u8) -> ClassCheck {
        use ClassCheck::{Refused, Runs};
        let iso = matches!(
            ins,
            INS_SELECT | INS_VERIFY | INS_CHANGE_REFERENCE_DATA | INS_GET_RESPONSE
        );
        let proprietary = matches!(
            ins,
            INS_GET_STATUS | INS_INITIALISE | INS_GET_RECORD | INS_UNSEAL | INS_FACTORY_RESET
        ) || (ins == INS_PREPARE_KEY && self.minor >= 1);
        match (cla, ins) {
            (0x00, _) if iso => Runs,
            (0x10, _) if iso => Refused(SW_CHAINING_NOT_SUPPORTED),
            (_, _) if iso => Refused(SW_CLA_NOT_SUPPORTED),
            (0x80, _) if proprietary => Runs,
            (0x90, _) if proprietary => Refused(SW_CHAINING_NOT_SUPPORTED),
            (_, _) if proprietary => Refused(SW_CLA_NOT_SUPPORTED),
            (0x80 | 0x90, INS_PUT_RECORD) => Runs,
            (_, INS_PUT_RECORD) => Refused(SW_CLA_NOT_SUPPORTED),
            (0x00 | 0x80, _) => Refused(SW_INS_NOT_SUPPORTED),
            (0x10 | 0x90, _) => Refused(SW_CHAINING_NOT_SUPPORTED),
            _ => Refused(SW_CLA_NOT_SUPPORTED),
        }
    }

    /// Ends the session: PIN state, chain and pending output are transient.
    fn end_session(&mut self) {
        self.validated = false;
        self.chain = None;
        self.output = Zeroizing::new(Vec::new());
    }

    /// Sends min(Ne, len) bytes and keeps the rest for GET RESPONSE (`61xx`).
    fn respond(&mut self, data: Vec<u8>, ne: usize) -> (Zeroizing<Vec<u8>>, u16) {
        let (data, sw, rest) = split_for_get_response(data, ne);
        self.output = rest;
        (data, sw)
    }

    fn ok(&mut self, data: Vec<u8>, ne: usize) -> Result<(Zeroizing<Vec<u8>>, u16), u16> {
        Ok(self.respond(data, ne))
    }

    fn done() -> Result<(Zeroizing<Vec<u8>>, u16), u16> {
        Ok((Zeroizing::new(Vec::new()), SW_OK))
    }

    fn p1p2(apdu: &Apdu<'_>, p1: u8, p2: u8) -> Result<(), u16> {
        if (apdu.p1, apdu.p2) == (p1, p2) {
            Ok(())
        } else {
            Err(SW_WRONG_P1P2)
        }
    }

    fn no_data(apdu: &Apdu<'_>) -> Result<(), u16> {
        if apdu.data.is_empty() {
            Ok(())
        } else {
            Err(SW_WRONG_LENGTH)
        }
    }

    fn not_blank(&self) -> Result<(), u16> {
        if self.state == LifeCycle::Blank {
            Err(SW_CONDITIONS)
        } else {
            Ok(())
        }
    }

    fn enrolled(&self) -> Result<(), u16> {
        if self.state == LifeCycle::Enrolled {
            Ok(())
        } else {
            Err(SW_CONDITIONS)
        }
    }

    /// Blocked (`6983`), then not validated (`6982`).
    fn pin_validated(&self) -> Result<(), u16> {
        if self.tries_left == 0 {
            return Err(SW_PIN_BLOCKED);
        }
        if !self.validated {
            return Err(SW_PIN_NOT_VERIFIED);
        }
        Ok(())
    }

    fn get_status(&mut self, apdu: &Apdu<'_>) -> Result<(Zeroizing<Vec<u8>>, u16), u16> {
        Self::p1p2(apdu, 0, 0)?;
        Self::no_data(apdu)?;
        let answer = self.status_bytes();
        self.ok(answer, apdu.ne)
    }

    /// The GET STATUS response (get-status.md), also part of a 1.2 SELECT answer.
    fn status_bytes(&self) -> Vec<u8> {
        let mut answer = vec![self.state.to_byte()];
        if self.state == LifeCycle::Blank {
            answer.extend_from_slice(&[0, 0, 0]);
        } else {
            let flags = u8::from(self.tries_left == 0)
                | (u8::from(self.validated) << 1)
                | (u8::from(self.pending_key.is_some()) << 2);
            answer.extend_from_slice(&[flags, self.tries_left, self.retry_limit]);
        }
        answer.extend_from_slice(&self.capacity.to_be_bytes());
        let (public_len, sealed_len) = match self.state {
            LifeCycle::Enrolled => (self.public.len() as u16, self.sealed.len() as u16),
            _ => (0, 0),
        };
        answer.extend_from_slice(&public_len.to_be_bytes());
        answer.extend_from_slice(&sealed_len.to_be_bytes());
        match &self.key {
            Some(key) if self.state != LifeCycle::Blank => {
                answer.push(POINT_LEN as u8);
                answer.extend_from_slice(&key.point);
            }
            _ => answer.push(0),
        }
        answer
    }

    fn generate_key(&mut self) -> KeyPair {
        let d = match self.queued_keys.pop() {
            Some(d) => d,
            None => loop {
                let mut wide = Zeroizing::new([0u8; 64]);
                self.rng.fill_bytes(&mut wide[..]);
                let d = Scalar::from_bytes_mod_order_wide(&wide);
                if d != Scalar::ZERO {
                    break d;
                }
            },
        };
        KeyPair::from_scalar(d)
    }

    fn initialise(&mut self, apdu: &Apdu<'_>) -> Result<(Zeroizing<Vec<u8>>, u16), u16> {
        Self::p1p2(apdu, 0, 0)?;
        if self.state != LifeCycle::Blank {
            return Err(SW_CONDITIONS);
        }
        if apdu.data.len() != 1 + PIN_BLOCK_LEN {
            return Err(SW_WRONG_LENGTH);
        }
        let limit = apdu.data[0];
        let block = &apdu.data[1..];
        if !(RETRY_LIMIT_MIN..=RETRY_LIMIT_MAX).contains(&limit) || !well_formed(block) {
            return Err(SW_INCORRECT_DATA);
        }
        self.public.clear();
        self.public_digest = [0; 32];
        self.sealed = Zeroizing::new(Vec::new());
        let key = self.generate_key();
        let point = key.point;
        self.key = Some(key);
        self.pending_key = None;
        self.pin.copy_from_slice(block);
        self.retry_limit = limit;
        self.tries_left = limit;
        self.validated = false;
        self.state = LifeCycle::Personalised;
        self.ok(point.to_vec(), apdu.ne)
    }

    /// Spends a try, then compares all 12 bytes; the validated state follows the answer.
    fn check_pin(&mut self, block: &[u8]) -> Result<(), u16> {
        self.tries_left -= 1;
        self.validated = false;
        if block == &self.pin[..] {
            self.tries_left = self.retry_limit;
            self.validated = true;
            Ok(())
        } else {
            Err(sw_tries_left(self.tries_left))
        }
    }

    fn verify(&mut self, apdu: &Apdu<'_>) -> Result<(Zeroizing<Vec<u8>>, u16), u16> {
        if !matches!(apdu.p1, 0x00 | P1_VERIFY_CLEAR) || apdu.p2 != P2_PIN {
            return Err(SW_WRONG_P1P2);
        }
        self.not_blank()?;
        if apdu.p1 == P1_VERIFY_CLEAR {
            Self::no_data(apdu)?;
            self.validated = false;
            return Self::done();
        }
        if self.tries_left == 0 {
            return Err(SW_PIN_BLOCKED);
        }
        if apdu.data.is_empty() {
            return match self.validated {
                true => Self::done(),
                false => Err(sw_tries_left(self.tries_left)),
            };
        }
        if apdu.data.len() != PIN_BLOCK_LEN {
            return Err(SW_WRONG_LENGTH);
        }
        if !well_formed(apdu.data) {
            return Err(SW_INCORRECT_DATA);
        }
        self.check_pin(apdu.data)?;
        Self::done()
    }

    fn change_reference_data(&mut self, apdu: &Apdu<'_>) -> Result<(Zeroizing<Vec<u8>>, u16), u16> {
        Self::p1p2(apdu, 0x00, P2_PIN)?;
        self.not_blank()?;
        if self.tries_left == 0 {
            return Err(SW_PIN_BLOCKED);
        }
        if apdu.data.len() != 2 * PIN_BLOCK_LEN {
            return Err(SW_WRONG_LENGTH);
        }
        let (old, new) = apdu.data.split_at(PIN_BLOCK_LEN);
        if !well_formed(old) || !well_formed(new) {
            return Err(SW_INCORRECT_DATA);
        }
        self.check_pin(old)?;
        self.pin.copy_from_slice(new);
        Self::done()
    }

    fn put_record(&mut self, apdu: &Apdu<'_>) -> Result<(Zeroizing<Vec<u8>>, u16), u16> {
        let last = apdu.cla == 0x80;
        let renewal_p1 = if self.minor >= 1 { 0x01 } else { 0x00 };
        if !(apdu.p1 == 0x00 || apdu.p1 == renewal_p1) || apdu.p2 != 0x00 {
            return Err(SW_WRONG_P1P2);
        }
        if self.chain.as_ref().is_some_and(|c| c.p1 != apdu.p1) {
            return Err(SW_WRONG_P1P2);
        }
        self.not_blank()?;
        if apdu.p1 == 0x01 && self.pending_key.is_none() {
            return Err(SW_CONDITIONS);
        }
        self.pin_validated()?;
        let (mut chain, piece) = match self.chain.take() {
            Some(chain) => (chain, apdu.data),
            None => {
                // The first APDU holds the whole header.
                if apdu.data.len() < 4 {
                    return Err(SW_INCORRECT_DATA);
                }
                let public_len = usize::from(u16::from_be_bytes([apdu.data[0], apdu.data[1]]));
                let sealed_len = usize::from(u16::from_be_bytes([apdu.data[2], apdu.data[3]]));
                if public_len == 0 || sealed_len == 0 {
                    return Err(SW_INCORRECT_DATA);
                }
                if public_len + sealed_len > usize::from(self.capacity) {
                    return Err(SW_NOT_ENOUGH_MEMORY);
                }
                let chain = Chain {
                    p1: apdu.p1,
                    public_len,
                    sealed_len,
                    staged: Zeroizing::new(Vec::with_capacity(public_len + sealed_len)),
                };
                (chain, &apdu.data[4..])
            }
        };
        let total = chain.public_len + chain.sealed_len;
        if chain.staged.len() + piece.len() > total {
            return Err(SW_WRONG_LENGTH);
        }
        chain.staged.extend_from_slice(piece);
        if !last {
            self.chain = Some(chain);
            return Self::done();
        }
        if chain.staged.len() != total {
            return Err(SW_WRONG_LENGTH);
        }
        // The commit point: record (and with P1 = 01 the key) switch at once.
        self.public = chain.staged[..chain.public_len].to_vec();
        if self.flips_public {
            if let Some(last) = self.public.last_mut() {
                *last ^= 1;
            }
        }
        self.public_digest = Sha256::digest(&self.public).into();
        self.sealed = Zeroizing::new(chain.staged[chain.public_len..].to_vec());
        if chain.p1 == 0x01 {
            self.key = self.pending_key.take();
        }
        self.state = LifeCycle::Enrolled;
        Self::done()
    }

    fn get_record(&mut self, apdu: &Apdu<'_>) -> Result<(Zeroizing<Vec<u8>>, u16), u16> {
        if apdu.p1 > 0x01 || apdu.p2 != 0x00 {
            return Err(SW_WRONG_P1P2);
        }
        self.enrolled()?;
        if apdu.p1 == 0x01 {
            self.pin_validated()?;
        }
        Self::no_data(apdu)?;
        let part = match apdu.p1 {
            0x00 => self.public.clone(),
            _ => self.sealed.to_vec(),
        };
        self.ok(part, apdu.ne)
    }

    fn unseal(&mut self, apdu: &Apdu<'_>) -> Result<(Zeroizing<Vec<u8>>, u16), u16> {
        // P1 = 01 (1.2): the answer is followed by the sealed part after its enc.
        let with_sealed = self.minor >= 2 && apdu.p1 == 0x01;
        if !with_sealed {
            Self::p1p2(apdu, 0, 0)?;
        } else {
            Self::p1p2(apdu, 1, 0)?;
        }
        self.enrolled()?;
        self.pin_validated()?;
        if apdu.data.len() != POINT_LEN {
            return Err(SW_WRONG_LENGTH);
        }
        // Low-order X, encoding, curve and subgroup: every failure is 6A80 (unseal.md).
        let point = SubgroupPoint::from_wei_point(apdu.data).map_err(|_| SW_INCORRECT_DATA)?;
        let key = self.key.as_ref().expect("an enrolled card has a key");
        let product = MontgomeryPoint(point.u()) * key.d;
        let x = u_to_wei_x(&product.to_bytes()).map_err(|_| SW_INCORRECT_DATA)?;
        let mut answer = x.to_vec();
        if with_sealed {
            answer.extend_from_slice(self.sealed.get(32..).unwrap_or_default());
        }
        self.ok(answer, apdu.ne)
    }

    fn prepare_key(&mut self, apdu: &Apdu<'_>) -> Result<(Zeroizing<Vec<u8>>, u16), u16> {
        Self::p1p2(apdu, 0, 0)?;
        self.enrolled()?;
        self.pin_validated()?;
        Self::no_data(apdu)?;
        let key = self.generate_key();
        let point = key.point;
        self.pending_key = Some(key);
        self.ok(point.to_vec(), apdu.ne)
    }

    fn factory_reset(&mut self, apdu: &Apdu<'_>) -> Result<(Zeroizing<Vec<u8>>, u16), u16> {
        Self::p1p2(apdu, P1_FACTORY_RESET, P2_FACTORY_RESET)?;
        Self::no_data(apdu)?;
        self.validated = false;
        self.state = LifeCycle::Blank;
        self.key = None;
        self.pending_key = None;
        self.pin = Zeroizing::new([0; PIN_BLOCK_LEN]);
        self.tries_left = 0;
        self.retry_limit = 0;
        self.public.clear();
        self.public_digest = [0; 32];
        self.sealed = Zeroizing::new(Vec::new());
        Self::done()
    }

    fn get_response(
        &mut self,
        apdu: &Apdu<'_>,
        pending: Zeroizing<Vec<u8>>,
    ) -> Result<(Zeroizing<Vec<u8>>, u16), u16> {
        Self::p1p2(apdu, 0, 0)?;
        if pending.is_empty() {
            return Err(SW_CONDITIONS);
        }
        Self::no_data(apdu)?;
        self.ok(pending.to_vec(), apdu.ne)
    }
}

/// The spec's well-formed PIN block: k digits (6 ≤ k ≤ 12), then 12 − k bytes `FF`.
fn well_formed(block: &[u8]) -> bool {
    let digits = block.iter().take_while(|b| b.is_ascii_digit()).count();
    block.len() == PIN_BLOCK_LEN
        && digits >= PIN_MIN_DIGITS
        && block[digits..].iter().all(|&b| b == 0xFF)
}

/// The PIN block of `pin` (digits, then `FF`), for tests that build APDUs by hand.
pub fn pin_block(pin: &str) -> [u8; PIN_BLOCK_LEN] {
    let mut block = [0xFF; PIN_BLOCK_LEN];
    block[..pin.len()].copy_from_slice(pin.as_bytes());
    block
}

/// SELECT of the quorum applet by its full AID, as a host sends it.
pub fn select_apdu() -> Vec<u8> {
    let mut apdu = vec![0x00, INS_SELECT, 0x04, 0x00, APPLET_AID.len() as u8];
    apdu.extend_from_slice(&APPLET_AID);
    apdu.push(0x00);
    apdu
}

impl Transport for MemoryApplet {
    fn transmit(&mut self, command: &[u8]) -> Result<RawResponse, TransportError> {
        if self.short_apdu_reader && Apdu::parse(command).is_some_and(|apdu| apdu.extended) {
            return Err(TransportError::ExchangeFailed);
        }
        let (data, sw) = self.process(command);
        Ok(RawResponse::new(data, sw))
    }

    fn reconnect(&mut self) -> Result<(), TransportError> {
        self.power_up();
        Ok(())
    }
}

/// An answer cut to Ne bytes as ISO 7816-4 cards do: what is sent now, its status word
/// (`9000`, or `61xx` with the bytes left, `6100` for 256 or more) and what GET RESPONSE
/// gives next; shared by the in-memory applet and OpenPGP card.
pub(super) fn split_for_get_response(
    data: Vec<u8>,
    ne: usize,
) -> (Zeroizing<Vec<u8>>, u16, Zeroizing<Vec<u8>>) {
    let mut data = Zeroizing::new(data);
    if data.len() <= ne {
        return (data, SW_OK, Zeroizing::new(Vec::new()));
    }
    let rest = Zeroizing::new(data[ne..].to_vec());
    data.truncate(ne);
    let sw = 0x6100
        | if rest.len() >= 256 {
            0
        } else {
            rest.len() as u16
        };
    (data, sw, rest)
}
