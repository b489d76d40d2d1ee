//! Parsers for the responses with a fixed layout.
//!
//! SELECT and GET STATUS may grow new fields at the end in a later minor version, so
//! their parsers ignore trailing bytes; short data is refused with a typed error. Points
//! and the UNSEAL answer have an exact length.

use std::fmt;

use zeroize::Zeroizing;

use super::{DH_LEN, POINT_LEN};
use crate::crypto::hpke::ENC_LEN;
use crate::record::SET_ID_LEN;

/// Why a response could not be read; says which response and what was wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ParseError {
    /// Fewer bytes than the layout needs.
    #[error("the {what} answer has {got} bytes, at least {need} are needed")]
    TooShort {
        /// Which response.
        what: &'static str,
        /// Bytes the layout needs.
        need: usize,
        /// Bytes received.
        got: usize,
    },
    /// A response of exact length with another length.
    #[error("the {what} answer has {got} bytes, exactly {expected} are expected")]
    WrongLength {
        /// Which response.
        what: &'static str,
        /// Bytes the layout has.
        expected: usize,
        /// Bytes received.
        got: usize,
    },
    /// A life-cycle byte this host does not know.
    #[error("unknown life-cycle state {0:#04x} (known: 00 BLANK, 01 PERSONALISED, 02 ENROLLED)")]
    UnknownState(u8),
    /// GET STATUS announced a key length other than 0 or 65.
    #[error("public-key length {0} in GET STATUS (expected 0 or 65)")]
    KeyLength(u8),
    /// A point that is not in uncompressed form.
    #[error("the {what} is not an uncompressed point (first byte {first:#04x}, expected 0x04)")]
    NotUncompressed {
        /// Which point.
        what: &'static str,
        /// The byte found.
        first: u8,
    },
    /// A 1.2 SELECT answer's status names another state than its own first bytes.
    #[error("the SELECT answer reports state {select} and, in its status, state {status}")]
    StateDiffers {
        /// The state in the answer's first 6 bytes.
        select: LifeCycle,
        /// The state in its status.
        status: LifeCycle,
    },
    /// Key presence contradicts the life-cycle state.
    #[error("GET STATUS reports state {state} {problem}")]
    KeyStateMismatch {
        /// The reported state.
        state: LifeCycle,
        /// "with a public key" / "without a public key".
        problem: &'static str,
    },
}

/// The card's life-cycle state; what it allows is in the security matrix.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum LifeCycle {
    /// `00`: no key, no PIN, no record.
    Blank,
    /// `01`: key pair and PIN, no record.
    Personalised,
    /// `02`: a record is stored.
    Enrolled,
}

impl LifeCycle {
    /// Decodes the state byte of SELECT and GET STATUS.
    pub fn from_byte(byte: u8) -> Result<LifeCycle, ParseError> {
        match byte {
            0x00 => Ok(LifeCycle::Blank),
            0x01 => Ok(LifeCycle::Personalised),
            0x02 => Ok(LifeCycle::Enrolled),
            other => Err(ParseError::UnknownState(other)),
        }
    }

    /// The state byte on the wire.
    pub fn to_byte(self) -> u8 {
        match self {
            LifeCycle::Blank => 0x00,
            LifeCycle::Personalised => 0x01,
            LifeCycle::Enrolled => 0x02,
        }
    }

    /// The state's name as the spec writes it.
    pub fn name(self) -> &'static str {
        match self {
            LifeCycle::Blank => "BLANK",
            LifeCycle::Personalised => "PERSONALISED",
            LifeCycle::Enrolled => "ENROLLED",
        }
    }
}

impl fmt::Display for LifeCycle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Protocol version the applet implements; the host refuses another major.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ProtocolVersion {
    /// Incompatible changes.
    pub major: u8,
    /// Compatible additions (for example trailing response fields).
    pub minor: u8,
}

impl fmt::Display for ProtocolVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)
    }
}

/// Optional features the applet announces in SELECT.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Capabilities(pub u8);

impl Capabilities {
    /// Bit 0: UNSEAL takes a blinded point.
    pub fn blinded_unseal(self) -> bool {
        self.0 & 0x01 != 0
    }

    /// Bit 1: PUT RECORD accepts command chaining.
    pub fn command_chaining(self) -> bool {
        self.0 & 0x02 != 0
    }

    /// Bit 2: long responses use 61xx output chaining.
    pub fn output_chaining(self) -> bool {
        self.0 & 0x04 != 0
    }

    /// Bit 3 (protocol 1.1): PREPARE KEY and PUT RECORD P1 = 01 renew the card's key pair.
    pub fn key_renewal(self) -> bool {
        self.0 & 0x08 != 0
    }

    /// Bit 4 (protocol 1.2): SELECT answers the card's status and record header, and UNSEAL
    /// P1 = 01 answers the sealed part with the DH step, so a share opens in two commands.
    pub fn header_at_select(self) -> bool {
        self.0 & 0x10 != 0
    }

    /// Bit 5 (protocol 1.3): the record header ends with SHA-256 of the card's public part,
    /// so a host holding a byte-identical copy need not read it again.
    pub fn public_digest(self) -> bool {
        self.0 & 0x20 != 0
    }

    /// Bit 6 (protocol 1.4): PUT RECORD takes extended-length APDUs, so a whole record goes to
    /// the card in one command when the reader carries them.
    pub fn extended_put_record(self) -> bool {
        self.0 & 0x40 != 0
    }
}

/// What SELECT tells about the applet, enough to decide whether to talk to it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SelectInfo {
    /// Protocol version (`01 00` for 1.0).
    pub version: ProtocolVersion,
    /// Feature bits.
    pub capabilities: Capabilities,
    /// Life-cycle state.
    pub state: LifeCycle,
    /// Most bytes public + sealed the card can store.
    pub record_capacity: u16,
}

/// Bytes of the SELECT answer this host reads.
const SELECT_LEN: usize = 6;

impl SelectInfo {
    /// Reads the 6-byte SELECT answer; trailing bytes are a later minor version's and ignored.
    pub fn parse(data: &[u8]) -> Result<SelectInfo, ParseError> {
        let d = need(data, SELECT_LEN, "SELECT")?;
        Ok(SelectInfo {
            version: ProtocolVersion {
                major: d[0],
                minor: d[1],
            },
            capabilities: Capabilities(d[2]),
            state: LifeCycle::from_byte(d[3])?,
            record_capacity: u16::from_be_bytes([d[4], d[5]]),
        })
    }
}

/// Bytes of a record header in a 1.2 SELECT answer: public bytes 4..22 and the sealed enc.
pub const RECORD_HEADER_LEN: usize = SET_ID_LEN + 2 + 1 + ENC_LEN;

/// Bytes of the public digest a 1.3 card appends to its record header (SHA-256).
pub const PUBLIC_DIGEST_LEN: usize = 32;

/// Where an ENROLLED 1.2 card's record stands, told at SELECT before any PIN: which set,
/// version and share, and the HPKE `enc` its share is sealed with (select.md).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct RecordHeader {
    /// The set's id (public part bytes 4..19).
    pub set_id: [u8; SET_ID_LEN],
    /// The set version of the card's record.
    pub set_version: u16,
    /// The card's share index.
    pub index: u8,
    /// The sealed part's first 32 bytes: the HPKE encapsulated key.
    pub enc: [u8; ENC_LEN],
    /// SHA-256 of the card's public part, from a 1.3 card (capability bit 5).
    pub public_digest: Option<[u8; PUBLIC_DIGEST_LEN]>,
}

impl RecordHeader {
    /// Reads the 51 header bytes, and the 32-byte public digest after them when the card
    /// announces it (`with_digest`).
    pub fn parse(data: &[u8], with_digest: bool) -> Result<RecordHeader, ParseError> {
        let len = RECORD_HEADER_LEN + if with_digest { PUBLIC_DIGEST_LEN } else { 0 };
        let d = need(data, len, "SELECT (record header)")?;
        let mut set_id = [0u8; SET_ID_LEN];
        set_id.copy_from_slice(&d[..SET_ID_LEN]);
        let mut enc = [0u8; ENC_LEN];
        enc.copy_from_slice(&d[SET_ID_LEN + 3..RECORD_HEADER_LEN]);
        Ok(RecordHeader {
            set_id,
            set_version: u16::from_be_bytes([d[SET_ID_LEN], d[SET_ID_LEN + 1]]),
            index: d[SET_ID_LEN + 2],
            enc,
            public_digest: with_digest.then(|| {
                let mut digest = [0u8; PUBLIC_DIGEST_LEN];
                digest.copy_from_slice(&d[RECORD_HEADER_LEN..len]);
                digest
            }),
        })
    }
}

/// A whole SELECT answer: what every applet says, and what a 1.2 applet adds (its status as
/// GET STATUS would give it, and on an ENROLLED card its record header).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SelectAnswer {
    /// The first 6 bytes.
    pub info: SelectInfo,
    /// The card's status, from a 1.2 applet (capability bit 4).
    pub status: Option<CardStatus>,
    /// The record header, from a 1.2 applet holding a record.
    pub header: Option<RecordHeader>,
}

impl SelectAnswer {
    /// Reads the answer; the status and header only when capability bit 4 says they are
    /// there, and bytes after what this host knows are ignored.
    pub fn parse(data: &[u8]) -> Result<SelectAnswer, ParseError> {
        let info = SelectInfo::parse(data)?;
        if !info.capabilities.header_at_select() {
            return Ok(SelectAnswer {
                info,
                status: None,
                header: None,
            });
        }
        let rest = &data[SELECT_LEN..];
        let status = CardStatus::parse(rest)?;
        if status.state != info.state {
            return Err(ParseError::StateDiffers {
                select: info.state,
                status: status.state,
            });
        }
        let status_len = STATUS_FIXED_LEN + status.public_key.map_or(0, |_| POINT_LEN);
        let header = match status.state {
            LifeCycle::Enrolled => Some(RecordHeader::parse(
                &rest[status_len..],
                info.capabilities.public_digest(),
            )?),
            _ => None,
        };
        Ok(SelectAnswer {
            info,
            status: Some(status),
            header,
        })
    }
}

/// What GET STATUS tells: state, PIN counters, record sizes and the card's public key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct CardStatus {
    /// Life-cycle state.
    pub state: LifeCycle,
    /// The PIN is blocked (tries left reached 0).
    pub blocked: bool,
    /// The PIN is validated in this session right now.
    pub validated: bool,
    /// A key made by PREPARE KEY waits for PUT RECORD P1 = 01 (protocol 1.1; false on 1.0 cards).
    pub key_pending: bool,
    /// Tries left before the PIN blocks (0 in BLANK).
    pub tries_left: u8,
    /// Retry limit chosen at INITIALISE (0 in BLANK).
    pub retry_limit: u8,
    /// Record capacity in bytes.
    pub capacity: u16,
    /// Length of the stored public part (0 unless ENROLLED).
    pub public_len: u16,
    /// Length of the stored sealed part (0 unless ENROLLED).
    pub sealed_len: u16,
    /// The card's Wei25519 public key `04 ‖ X ‖ Y`; present in every state but BLANK.
    pub public_key: Option<[u8; POINT_LEN]>,
}

/// Bytes of GET STATUS before the public key.
const STATUS_FIXED_LEN: usize = 11;

impl CardStatus {
    /// Reads the GET STATUS answer; trailing bytes after the key are ignored.
    pub fn parse(data: &[u8]) -> Result<CardStatus, ParseError> {
        let d = need(data, STATUS_FIXED_LEN, "GET STATUS")?;
        let state = LifeCycle::from_byte(d[0])?;
        let public_key = match d[10] {
            0 => None,
            65 => {
                let with_key = need(data, STATUS_FIXED_LEN + POINT_LEN, "GET STATUS")?;
                Some(parse_public_key(&with_key[STATUS_FIXED_LEN..])?)
            }
            other => return Err(ParseError::KeyLength(other)),
        };
        match (state, public_key.is_some()) {
            (LifeCycle::Blank, true) => {
                return Err(ParseError::KeyStateMismatch {
                    state,
                    problem: "with a public key",
                })
            }
            (LifeCycle::Personalised | LifeCycle::Enrolled, false) => {
                return Err(ParseError::KeyStateMismatch {
                    state,
                    problem: "without a public key",
                })
            }
            _ => {}
        }
        Ok(CardStatus {
            state,
            blocked: d[1] & 0x01 != 0,
            validated: d[1] & 0x02 != 0,
            key_pending: d[1] & 0x04 != 0,
            tries_left: d[2],
            retry_limit: d[3],
            capacity: u16::from_be_bytes([d[4], d[5]]),
            public_len: u16::from_be_bytes([d[6], d[7]]),
            sealed_len: u16::from_be_bytes([d[8], d[9]]),
            public_key,
        })
    }
}

/// Reads a card public key (INITIALISE answer, GET STATUS field): exactly `04 ‖ X ‖ Y`.
pub fn parse_public_key(data: &[u8]) -> Result<[u8; POINT_LEN], ParseError> {
    let key: [u8; POINT_LEN] = data.try_into().map_err(|_| ParseError::WrongLength {
        what: "public key",
        expected: POINT_LEN,
        got: data.len(),
    })?;
    if key[0] != 0x04 {
        return Err(ParseError::NotUncompressed {
            what: "card public key",
            first: key[0],
        });
    }
    Ok(key)
}

/// Reads the UNSEAL answer: exactly the 32-byte X coordinate, kept in a zeroizing box.
pub fn parse_dh_output(data: &[u8]) -> Result<Zeroizing<[u8; DH_LEN]>, ParseError> {
    if data.len() != DH_LEN {
        return Err(ParseError::WrongLength {
            what: "UNSEAL",
            expected: DH_LEN,
            got: data.len(),
        });
    }
    let mut out = Zeroizing::new([0u8; DH_LEN]);
    out.copy_from_slice(data);
    Ok(out)
}

/// The first `len` bytes, or a typed error naming the response.
fn need<'a>(data: &'a [u8], len: usize, what: &'static str) -> Result<&'a [u8], ParseError> {
    data.get(..len).ok_or(ParseError::TooShort {
        what,
        need: len,
        got: data.len(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mutation::any_mutation;
    use proptest::prelude::*;

    fn key() -> [u8; POINT_LEN] {
        let mut key = [0u8; POINT_LEN];
        key[0] = 0x04;
        for (i, b) in key[1..].iter_mut().enumerate() {
            *b = i as u8;
        }
        key
    }

    /// A GET STATUS answer: capacity 0x2000, public 0x012C, sealed 0x0051, tries 4 of 5.
    fn status_bytes(state: u8, flags: u8, with_key: bool) -> Vec<u8> {
        let mut bytes = vec![state, flags, 4, 5, 0x20, 0x00, 0x01, 0x2C, 0x00, 0x51];
        bytes.push(if with_key { 65 } else { 0 });
        if with_key {
            bytes.extend_from_slice(&key());
        }
        bytes
    }

    #[test]
    fn a_1_3_select_answer_carries_the_status_and_the_vectors_record_header() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../apdu-spec/vectors/record.json"
        );
        let v: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        let case = &v["cases"][1];
        let header = hex::decode(case["select_header_hex"].as_str().unwrap()).unwrap();
        let public = hex::decode(case["public_hex"].as_str().unwrap()).unwrap();
        let sealed = hex::decode(case["sealed_hex"].as_str().unwrap()).unwrap();
        assert_eq!(header.len(), RECORD_HEADER_LEN + PUBLIC_DIGEST_LEN);
        let mut answer = vec![1, 3, 0x3F, 2, 0x20, 0x00];
        answer.extend(status_bytes(2, 0, true));
        answer.extend(&header);
        answer.extend([0xEE, 0xEE]); // a later minor version's bytes
        let parsed = SelectAnswer::parse(&answer).unwrap();
        assert!(parsed.info.capabilities.header_at_select());
        assert_eq!(parsed.status.unwrap().public_key, Some(key()));
        let h = parsed.header.unwrap();
        assert_eq!(&h.set_id[..], &public[4..20]);
        assert_eq!(h.set_version, u16::from_be_bytes([public[20], public[21]]));
        assert_eq!(h.index, public[22]);
        assert_eq!(h.enc[..], sealed[..32]);
        use sha2::{Digest, Sha256};
        assert_eq!(h.public_digest, Some(Sha256::digest(&public).into()));
        // a 1.2 answer: the same header without the digest (bit 5 clear)
        let mut older = vec![1, 2, 0x1F, 2, 0x20, 0x00];
        older.extend(status_bytes(2, 0, true));
        older.extend(&header[..RECORD_HEADER_LEN]);
        let older = SelectAnswer::parse(&older).unwrap().header.unwrap();
        assert_eq!((older.index, older.enc), (h.index, h.enc));
        assert_eq!(older.public_digest, None);
        // a 1.1 answer carries neither, whatever follows its 6 bytes
        let old = SelectAnswer::parse(&[1, 1, 0x0F, 2, 0x20, 0x00, 9, 9]).unwrap();
        assert_eq!((old.status, old.header), (None, None));
        // a blank 1.2 card: its 11-byte status, no header
        let mut blank = vec![1, 2, 0x1F, 0, 0x20, 0x00];
        blank.extend([0, 0, 0, 0, 0x20, 0, 0, 0, 0, 0, 0]);
        let blank = SelectAnswer::parse(&blank).unwrap();
        assert_eq!(blank.status.unwrap().state, LifeCycle::Blank);
        assert_eq!(blank.header, None);
        // cut short (into the digest, or into the header), or a status of another state: refused
        assert!(SelectAnswer::parse(&answer[..answer.len() - 3]).is_err());
        assert!(SelectAnswer::parse(&answer[..answer.len() - 40]).is_err());
        let mut other = answer.clone();
        other[6] = 1;
        assert!(SelectAnswer::parse(&other).is_err());
    }

    #[test]
    fn select_answer_is_read_and_trailing_bytes_ignored() {
        let info = SelectInfo::parse(&[1, 0, 7, 2, 0x20, 0x00, 0xEE, 0xEE]).unwrap();
        assert_eq!(info.version, ProtocolVersion { major: 1, minor: 0 });
        assert!(info.capabilities.blinded_unseal());
        assert!(info.capabilities.command_chaining());
        assert!(info.capabilities.output_chaining());
        assert_eq!(info.state, LifeCycle::Enrolled);
        assert_eq!(info.record_capacity, 8192);
        assert_eq!(info.version.to_string(), "1.0");
        assert!(!info.capabilities.extended_put_record());
        // 1.4: bit 6 alone tells extended-length PUT RECORD
        let info = SelectInfo::parse(&[1, 4, 0x7F, 0, 0x20, 0x00]).unwrap();
        assert_eq!(info.version.to_string(), "1.4");
        assert!(info.capabilities.extended_put_record());
        assert!(!Capabilities(0x3F).extended_put_record());
        assert!(Capabilities(0x40).extended_put_record());
    }

    #[test]
    fn short_select_answer_is_refused() {
        assert_eq!(
            SelectInfo::parse(&[1, 0, 7, 2, 0x20]).unwrap_err(),
            ParseError::TooShort {
                what: "SELECT",
                need: 6,
                got: 5
            }
        );
        assert_eq!(
            SelectInfo::parse(&[1, 0, 7, 9, 0x20, 0]).unwrap_err(),
            ParseError::UnknownState(9)
        );
    }

    #[test]
    fn status_answer_is_read() {
        let status = CardStatus::parse(&status_bytes(2, 0x02, true)).unwrap();
        assert_eq!(status.state, LifeCycle::Enrolled);
        assert!(!status.blocked);
        assert!(status.validated);
        assert_eq!((status.tries_left, status.retry_limit), (4, 5));
        assert_eq!(status.capacity, 0x2000);
        assert_eq!(status.public_len, 0x012C);
        assert_eq!(status.sealed_len, 0x0051);
        assert_eq!(status.public_key, Some(key()));

        let blank = CardStatus::parse(&status_bytes(0, 0x00, false)).unwrap();
        assert_eq!(blank.state, LifeCycle::Blank);
        assert_eq!(blank.public_key, None);

        let blocked = CardStatus::parse(&status_bytes(1, 0x01, true)).unwrap();
        assert!(blocked.blocked && !blocked.validated);
    }

    #[test]
    fn status_trailing_bytes_are_ignored() {
        let mut bytes = status_bytes(1, 0, true);
        bytes.extend_from_slice(&[0xEE; 7]);
        assert_eq!(CardStatus::parse(&bytes).unwrap().public_key, Some(key()));
    }

    #[test]
    fn bad_status_answers_are_refused_with_typed_errors() {
        let full = status_bytes(2, 0, true);
        assert_eq!(
            CardStatus::parse(&full[..10]).unwrap_err(),
            ParseError::TooShort {
                what: "GET STATUS",
                need: 11,
                got: 10
            }
        );
        assert_eq!(
            CardStatus::parse(&full[..70]).unwrap_err(),
            ParseError::TooShort {
                what: "GET STATUS",
                need: 76,
                got: 70
            }
        );
        let mut bad_len = full.clone();
        bad_len[10] = 33;
        assert_eq!(
            CardStatus::parse(&bad_len).unwrap_err(),
            ParseError::KeyLength(33)
        );
        let mut compressed = full.clone();
        compressed[11] = 0x02;
        assert!(matches!(
            CardStatus::parse(&compressed).unwrap_err(),
            ParseError::NotUncompressed { first: 0x02, .. }
        ));
        assert!(matches!(
            CardStatus::parse(&status_bytes(0, 0, true)).unwrap_err(),
            ParseError::KeyStateMismatch {
                state: LifeCycle::Blank,
                ..
            }
        ));
        assert!(matches!(
            CardStatus::parse(&status_bytes(2, 0, false)).unwrap_err(),
            ParseError::KeyStateMismatch {
                state: LifeCycle::Enrolled,
                ..
            }
        ));
    }

    /// A card whose ECPublicKey.getW wrote the compressed form (JavaCard allows it; jcardsim
    /// and the cards we know write 04 ‖ X ‖ Y) is refused, never read as some other key.
    #[test]
    fn compressed_card_key_is_refused() {
        let mut compressed = key()[..33].to_vec();
        compressed[0] = 0x02;
        assert!(matches!(
            parse_public_key(&compressed).unwrap_err(),
            ParseError::WrongLength {
                expected: 65,
                got: 33,
                ..
            }
        ));
        let mut relabelled = key();
        relabelled[0] = 0x03;
        assert!(matches!(
            parse_public_key(&relabelled).unwrap_err(),
            ParseError::NotUncompressed { first: 0x03, .. }
        ));
    }

    #[test]
    fn public_key_and_dh_output_have_exact_lengths() {
        assert_eq!(parse_public_key(&key()).unwrap(), key());
        assert!(matches!(
            parse_public_key(&key()[..64]).unwrap_err(),
            ParseError::WrongLength {
                expected: 65,
                got: 64,
                ..
            }
        ));
        assert_eq!(*parse_dh_output(&[7; 32]).unwrap(), [7; 32]);
        assert!(matches!(
            parse_dh_output(&[7; 33]).unwrap_err(),
            ParseError::WrongLength {
                what: "UNSEAL",
                expected: 32,
                got: 33
            }
        ));
    }

    #[test]
    fn life_cycle_bytes_round_trip() {
        for state in [
            LifeCycle::Blank,
            LifeCycle::Personalised,
            LifeCycle::Enrolled,
        ] {
            assert_eq!(LifeCycle::from_byte(state.to_byte()).unwrap(), state);
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        #[test]
        fn parsers_never_panic(data in proptest::collection::vec(any::<u8>(), 0..120)) {
            let _ = SelectInfo::parse(&data);
            let _ = CardStatus::parse(&data);
            let _ = parse_public_key(&data);
            let _ = parse_dh_output(&data);
        }

        #[test]
        fn status_parse_accepts_every_well_formed_answer(
            state in 0u8..=2, flags: u8, tries: u8, limit: u8,
            capacity: u16, public: u16, sealed: u16,
            coords in proptest::collection::vec(any::<u8>(), 64),
            trailing in proptest::collection::vec(any::<u8>(), 0..8),
        ) {
            let mut bytes = vec![state, flags, tries, limit];
            for v in [capacity, public, sealed] {
                bytes.extend_from_slice(&v.to_be_bytes());
            }
            let with_key = state != 0;
            bytes.push(if with_key { 65 } else { 0 });
            if with_key {
                bytes.push(0x04);
                bytes.extend_from_slice(&coords);
            }
            bytes.extend_from_slice(&trailing);
            let status = CardStatus::parse(&bytes).unwrap();
            prop_assert_eq!(status.state.to_byte(), state);
            prop_assert_eq!(status.blocked, flags & 1 != 0);
            prop_assert_eq!(status.validated, flags & 2 != 0);
            prop_assert_eq!((status.tries_left, status.retry_limit), (tries, limit));
            prop_assert_eq!((status.capacity, status.public_len, status.sealed_len), (capacity, public, sealed));
            prop_assert_eq!(status.public_key.map(|k| k[1..].to_vec()), with_key.then(|| coords.clone()));
        }
    }

    /// The SELECT answer bytes this host reads, rebuilt from what it read.
    fn select_bytes(info: &SelectInfo) -> Vec<u8> {
        let mut b = vec![
            info.version.major,
            info.version.minor,
            info.capabilities.0,
            info.state.to_byte(),
        ];
        b.extend_from_slice(&info.record_capacity.to_be_bytes());
        b
    }

    /// The GET STATUS answer bytes this host reads, rebuilt from what it read.
    fn card_status_bytes(s: &CardStatus) -> Vec<u8> {
        let flags = u8::from(s.blocked) | u8::from(s.validated) << 1;
        let mut b = vec![s.state.to_byte(), flags, s.tries_left, s.retry_limit];
        for v in [s.capacity, s.public_len, s.sealed_len] {
            b.extend_from_slice(&v.to_be_bytes());
        }
        match s.public_key {
            Some(key) => {
                b.push(POINT_LEN as u8);
                b.extend_from_slice(&key);
            }
            None => b.push(0),
        }
        b
    }

    prop_compose! {
        /// A well-formed SELECT answer, as the applet sends it.
        fn arb_select_answer()(state in 0u8..=2, caps in 0u8..8, capacity: u16) -> Vec<u8> {
            let mut b = vec![1, 0, caps, state];
            b.extend_from_slice(&capacity.to_be_bytes());
            b
        }
    }

    prop_compose! {
        /// A well-formed GET STATUS answer, as the applet sends it in each state.
        fn arb_status_answer()(state in 0u8..=2, flags in 0u8..4, tries in 0u8..=10, limit in 3u8..=10,
                               capacity: u16, public: u16, sealed: u16, coords: [u8; 64]) -> Vec<u8> {
            let mut b = vec![state, flags, tries, limit];
            for v in [capacity, public, sealed] {
                b.extend_from_slice(&v.to_be_bytes());
            }
            if state == 0 {
                b.push(0);
            } else {
                b.push(65);
                b.push(0x04);
                b.extend_from_slice(&coords);
            }
            b
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        /// A damaged SELECT answer is read exactly as its bytes say, or refused for the one reason there is.
        #[test]
        fn damaged_select_answers_are_read_or_refused_exactly(
            good in arb_select_answer(),
            m in any_mutation(),
        ) {
            let bytes = m.apply(&good);
            match SelectInfo::parse(&bytes) {
                Ok(info) => prop_assert_eq!(select_bytes(&info), bytes[..SELECT_LEN].to_vec()),
                Err(ParseError::TooShort { what: "SELECT", need: SELECT_LEN, got }) => {
                    prop_assert_eq!(got, bytes.len());
                    prop_assert!(got < SELECT_LEN);
                }
                Err(ParseError::UnknownState(state)) => {
                    prop_assert_eq!(state, bytes[3]);
                    prop_assert!(state > 2);
                }
                Err(other) => prop_assert!(false, "unexpected error {:?}", other),
            }
        }

        /// A damaged GET STATUS answer is read exactly as its bytes say, or refused with a typed error that names the cause.
        #[test]
        fn damaged_status_answers_are_read_or_refused_exactly(
            good in arb_status_answer(),
            m in any_mutation(),
        ) {
            let bytes = m.apply(&good);
            match CardStatus::parse(&bytes) {
                Ok(status) => {
                    // flag bits other than 0 and 1 are not defined, so not read
                    let mut expected = bytes.clone();
                    expected[1] &= 0x03;
                    let read = card_status_bytes(&status);
                    prop_assert_eq!(&read[..], &expected[..read.len()]);
                }
                Err(e @ ParseError::TooShort { got, need, .. }) => {
                    prop_assert_eq!(got, bytes.len());
                    prop_assert!(got < need && (need == STATUS_FIXED_LEN || need == STATUS_FIXED_LEN + POINT_LEN));
                    prop_assert!(!e.to_string().is_empty());
                }
                Err(ParseError::UnknownState(state)) => prop_assert_eq!(state, bytes[0]),
                Err(ParseError::KeyLength(len)) => {
                    prop_assert_eq!(len, bytes[10]);
                    prop_assert!(len != 0 && len != 65);
                }
                Err(ParseError::NotUncompressed { first, .. }) => {
                    prop_assert_eq!(first, bytes[STATUS_FIXED_LEN]);
                    prop_assert_ne!(first, 0x04);
                }
                Err(ParseError::KeyStateMismatch { state, .. }) => {
                    prop_assert_eq!(state.to_byte(), bytes[0]);
                    prop_assert_eq!(state == LifeCycle::Blank, bytes[10] == 65);
                }
                Err(other) => prop_assert!(false, "unexpected error {:?}", other),
            }
        }

        /// The exact-length answers (public key, UNSEAL) are accepted exactly when length and form are right.
        #[test]
        fn damaged_keys_and_dh_outputs_are_refused_by_length(
            coords: [u8; 64],
            m in any_mutation(),
        ) {
            let mut key = vec![0x04];
            key.extend_from_slice(&coords);
            let bytes = m.apply(&key);
            let expect_key = bytes.len() == POINT_LEN && bytes[0] == 0x04;
            prop_assert_eq!(parse_public_key(&bytes).ok().map(|k| k.to_vec()), expect_key.then(|| bytes.clone()));
            let dh = m.apply(&coords[..DH_LEN]);
            let expect_dh = dh.len() == DH_LEN;
            prop_assert_eq!(parse_dh_output(&dh).ok().map(|d| d.to_vec()), expect_dh.then(|| dh.clone()));
        }
    }
}
