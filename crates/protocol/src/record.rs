//! The record a card stores: a public part (the set description and the wrapped
//! master, readable without a PIN) and a sealed part (this card's HPKE-sealed share).
//!
//! The card stores both opaquely; only the host parses them, strictly: every length is
//! checked, text must be UTF-8 without control characters, and trailing bytes are an
//! error, so one byte string has exactly one meaning. Layout: apdu-spec/record-format.md.
//!
//! Each version of the set description carries a MAC under a key derived from the DEK, and
//! the description of version 1 hashes to the set digest people compare (crypto.md §10).

use thiserror::Error;
use unicode_properties::{GeneralCategory, UnicodeGeneralCategory};

use crate::crypto::anchor::{DESCRIPTION_MAC_LEN, KEY_CHECK_LEN};
use crate::crypto::commitment::COMMITMENT_LEN;
use crate::crypto::hpke::{ENC_LEN, TAG_LEN};
use crate::crypto::wrap::{WrappedMaster, NONCE_LEN};
use crate::crypto::{CardKey, DescriptionKey, KeyCheck, PointError, SetDigest};

/// First four bytes of every public part: format "QRM", version 2.
pub const MAGIC: [u8; 4] = *b"QRM2";
/// The magic of format 1 (no key check value, no description MAC), refused by name.
pub const OLD_MAGIC: [u8; 4] = *b"QRM1";
/// Length of the random set identifier.
pub const SET_ID_LEN: usize = 16;
/// Longest set label, in UTF-8 bytes.
pub const MAX_LABEL_LEN: usize = 64;
/// Longest custodian name, in UTF-8 bytes.
pub const MAX_NAME_LEN: usize = 64;
/// Most custodians in a set: a blahaj share index is one nonzero byte.
pub const MAX_CUSTODIANS: usize = 255;
/// Largest master secret, in bytes: with it, a set of 16 custodians named in up to 32 bytes
/// under a 64-byte label still fits the default record capacity of 8192 bytes
/// (record-format.md, "Size"). A 2.4 KiB RSA key fits with room to spare.
pub const MAX_MASTER_LEN: usize = 6144;
/// Length of a blahaj share of the 32-byte DEK: x (1 byte) ‖ y (32 bytes).
pub const SHARE_LEN: usize = 33;
/// Length of the HPKE ciphertext of a share.
pub const SEALED_CT_LEN: usize = SHARE_LEN + TAG_LEN;
/// Length of the sealed part: enc ‖ ciphertext.
pub const SEALED_LEN: usize = ENC_LEN + SEALED_CT_LEN;
/// HPKE `info` prefix for sealing a share; set id and index follow.
pub const SHARE_INFO_PREFIX: &[u8; 15] = b"quorum/v1/share";

/// What is wrong with a record, precisely enough to tell a truncated read from tampering.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum RecordError {
    /// The bytes end inside a field.
    #[error("the public record is truncated: it ends inside {field} (needs {need} more bytes, {have} left)")]
    Truncated {
        /// The field being read.
        field: &'static str,
        /// Bytes the field needs.
        need: usize,
        /// Bytes that were left.
        have: usize,
    },
    /// The first four bytes are not "QRM2".
    #[error("not a quorum record: it starts with {0:02x?}, expected \"QRM2\"")]
    BadMagic([u8; 4]),
    /// A format 1 record ("QRM1"), written before set digests and authenticated descriptions.
    #[error("this is a format 1 record (\"QRM1\"), written by a quorumctl before set digests and authenticated set descriptions; this quorumctl reads format 2 only: recover the master with the quorumctl that enrolled the set, then enroll it again")]
    OldFormat,
    /// Bytes follow the wrapped master.
    #[error("the public record has {0} unexpected bytes after its end")]
    TrailingBytes(usize),
    /// set_version is 0.
    #[error("the record's set version is 0; versions start at 1")]
    ZeroSetVersion,
    /// Version k lists fewer than k custodians, so it cannot be version 1 plus one custodian per add-card.
    #[error("the record is set version {version} but lists only {count} custodians; each version after the first adds one, so version {version} lists at least {version}")]
    VersionCount {
        /// set_version.
        version: u16,
        /// m.
        count: usize,
    },
    /// No custodians, or more than 255.
    #[error("a set has 1 to 255 custodians, this record lists {0}")]
    CustodianCount(usize),
    /// Threshold outside 1..=m.
    #[error("threshold {threshold} is impossible with {count} custodians: it must be between 1 and {count}")]
    Threshold {
        /// n.
        threshold: u8,
        /// m.
        count: usize,
    },
    /// A custodian index of 0 (not a valid share x).
    #[error("custodian index 0 is not allowed: share indices are 1 to 255")]
    ZeroIndex,
    /// Two custodians share an index.
    #[error("custodian index {0} appears twice")]
    DuplicateIndex(u8),
    /// Two custodians share a card key.
    #[error("custodians {first} and {second} have the same card key: every custodian needs their own card")]
    DuplicateCardKey {
        /// The earlier custodian's index.
        first: u8,
        /// The later custodian's index.
        second: u8,
    },
    /// A card key is not a valid subgroup point.
    #[error("custodian {index}'s card key is invalid: {source}")]
    InvalidCardKey {
        /// The custodian's index.
        index: u8,
        /// What is wrong with the point.
        source: PointError,
    },
    /// The record's own index is not among the custodians.
    #[error("the record is for custodian {0}, who is not in its custodian list")]
    IndexNotListed(u8),
    /// Label length outside 1..=64.
    #[error("the set label is {0} bytes; it must be 1 to 64 bytes of UTF-8")]
    LabelLength(usize),
    /// Name longer than 64 bytes.
    #[error("custodian {index}'s name is {len} bytes; names are at most 64 bytes of UTF-8")]
    NameLength {
        /// The custodian's index.
        index: u8,
        /// Its length in bytes.
        len: usize,
    },
    /// Text is not valid UTF-8.
    #[error("the {0} is not valid UTF-8")]
    NotUtf8(TextField),
    /// Text contains a control or format character (which could rewrite or reorder what a terminal shows).
    #[error("the {0} contains a control or format character (such as a bidirectional override); use printable text")]
    ControlCharacter(TextField),
    /// The wrapped master's ciphertext length is impossible.
    #[error("the wrapped master is {0} bytes; it must be {min} to {max} (a 1..{MAX_MASTER_LEN}-byte master plus its 16-byte tag)", min = 1 + TAG_LEN, max = MAX_MASTER_LEN + TAG_LEN)]
    WrappedLength(usize),
    /// The sealed part is not 81 bytes.
    #[error(
        "the sealed part is {0} bytes; it must be 81 (32-byte HPKE enc and 49-byte ciphertext)"
    )]
    SealedLength(usize),
    /// A PUT RECORD part is empty or longer than its 2-byte length allows.
    #[error("the {part} part is {len} bytes; the PUT RECORD stream needs 1 to 65535")]
    StreamPartLength {
        /// "public" or "sealed".
        part: &'static str,
        /// Its length.
        len: usize,
    },
}

/// Which text field an error is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextField {
    /// The set label.
    Label,
    /// A custodian's name, by custodian index.
    Name(u8),
}

impl std::fmt::Display for TextField {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TextField::Label => f.write_str("set label"),
            TextField::Name(i) => write!(f, "name of custodian {i}"),
        }
    }
}

/// One custodian as the record lists them: share index, card key, share commitment, name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Custodian {
    /// Share x-coordinate, 1..=255.
    pub index: u8,
    /// The custodian card's public key.
    pub card_key: CardKey,
    /// SHA-256 commitment to this custodian's share (crypto::commitment), so the card can be checked alone.
    pub commitment: [u8; COMMITMENT_LEN],
    /// Free-text name, 0..=64 bytes.
    pub name: String,
}

/// The public part of one card's record: everything needed to recover except the shares.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PublicRecord {
    /// Random identifier of the set.
    pub set_id: [u8; SET_ID_LEN],
    /// 1 at enrollment; grows when the set changes.
    pub set_version: u16,
    /// This card's share index.
    pub index: u8,
    /// Shares needed (n).
    pub threshold: u8,
    /// Set label, 1..=64 bytes.
    pub label: String,
    /// All custodians of the set (m of them).
    pub custodians: Vec<Custodian>,
    /// The master secret under the DEK.
    pub wrapped: WrappedMaster,
    /// Check value of the master secret, compared by people at enrollment and recovery.
    pub key_check: KeyCheck,
    /// HMAC of this version's description under the key derived from the DEK.
    pub mac: [u8; DESCRIPTION_MAC_LEN],
}

impl PublicRecord {
    /// Checks every rule of the format, so nothing invalid is ever written to a card.
    pub fn validate(&self) -> Result<(), RecordError> {
        if self.set_version == 0 {
            return Err(RecordError::ZeroSetVersion);
        }
        let m = self.custodians.len();
        if m == 0 || m > MAX_CUSTODIANS {
            return Err(RecordError::CustodianCount(m));
        }
        if usize::from(self.set_version) > m {
            return Err(RecordError::VersionCount {
                version: self.set_version,
                count: m,
            });
        }
        if self.threshold == 0 || usize::from(self.threshold) > m {
            return Err(RecordError::Threshold {
                threshold: self.threshold,
                count: m,
            });
        }
        check_label(&self.label)?;
        for (i, c) in self.custodians.iter().enumerate() {
            if c.index == 0 {
                return Err(RecordError::ZeroIndex);
            }
            check_name(&c.name, c.index)?;
            for earlier in &self.custodians[..i] {
                if earlier.index == c.index {
                    return Err(RecordError::DuplicateIndex(c.index));
                }
                if earlier.card_key == c.card_key {
                    return Err(RecordError::DuplicateCardKey {
                        first: earlier.index,
                        second: c.index,
                    });
                }
            }
        }
        if self.custodian(self.index).is_none() {
            return Err(RecordError::IndexNotListed(self.index));
        }
        let ct = self.wrapped.ct.len();
        if !(1 + TAG_LEN..=MAX_MASTER_LEN + TAG_LEN).contains(&ct) {
            return Err(RecordError::WrappedLength(ct));
        }
        Ok(())
    }

    /// The custodian with this share index, if any.
    pub fn custodian(&self, index: u8) -> Option<&Custodian> {
        self.custodians.iter().find(|c| c.index == index)
    }

    /// HPKE `info` for this card's share: "quorum/v1/share" ‖ set_id ‖ index.
    pub fn share_info(&self) -> [u8; 32] {
        share_info(&self.set_id, self.index)
    }

    /// Serializes after validating, so an encoded record always decodes.
    pub fn encode(&self) -> Result<Vec<u8>, RecordError> {
        self.validate()?;
        let mut out = self.layout(Some(self.index), self.set_version, &self.custodians);
        out.extend_from_slice(&self.mac);
        Ok(out)
    }

    /// The bytes the MAC covers: the public part without this card's `index` and without the MAC, the same on every card of one version.
    pub fn description(&self) -> Vec<u8> {
        self.layout(None, self.set_version, &self.custodians)
    }

    /// How many custodians version 1 listed: each later version appended exactly one.
    pub fn enrolled_count(&self) -> usize {
        self.custodians.len() + 1 - usize::from(self.set_version)
    }

    /// The digest of the enrolled set: of version 1's description, which every later version extends, so add-card keeps it.
    pub fn set_digest(&self) -> SetDigest {
        SetDigest::of_description(&self.layout(None, 1, &self.custodians[..self.enrolled_count()]))
    }

    /// Sets the MAC of this version's description under the set's description key.
    pub fn authenticate(&mut self, key: &DescriptionKey) {
        self.mac = key.mac(&self.description());
    }

    /// Whether this version's description carries a valid MAC under the set's description key.
    pub fn is_authentic(&self, key: &DescriptionKey) -> bool {
        key.verify(&self.description(), &self.mac)
    }

    /// The public part's layout up to the key check value, with the index byte when given.
    fn layout(&self, index: Option<u8>, version: u16, custodians: &[Custodian]) -> Vec<u8> {
        let mut out = Vec::with_capacity(
            96 + custodians.len() * (34 + COMMITMENT_LEN) + self.wrapped.ct.len(),
        );
        out.extend_from_slice(&MAGIC);
        out.extend_from_slice(&self.set_id);
        out.extend_from_slice(&version.to_be_bytes());
        out.extend(index);
        out.push(self.threshold);
        out.push(custodians.len() as u8);
        out.push(self.label.len() as u8);
        out.extend_from_slice(self.label.as_bytes());
        for c in custodians {
            out.push(c.index);
            out.extend_from_slice(&c.card_key.to_x25519());
            out.extend_from_slice(&c.commitment);
            out.push(c.name.len() as u8);
            out.extend_from_slice(c.name.as_bytes());
        }
        out.extend_from_slice(&self.wrapped.nonce);
        out.extend_from_slice(&(self.wrapped.ct.len() as u16).to_be_bytes());
        out.extend_from_slice(&self.wrapped.ct);
        out.extend_from_slice(&self.key_check.0);
        out
    }

    /// Parses strictly: any deviation from the layout, any rule broken, any trailing byte is an error.
    pub fn decode(bytes: &[u8]) -> Result<Self, RecordError> {
        let mut r = Reader(bytes);
        let magic: [u8; 4] = r.array("magic")?;
        if magic == OLD_MAGIC {
            return Err(RecordError::OldFormat);
        }
        if magic != MAGIC {
            return Err(RecordError::BadMagic(magic));
        }
        let set_id = r.array("set_id")?;
        let set_version = u16::from_be_bytes(r.array("set_version")?);
        let [index] = r.array("index")?;
        let [threshold] = r.array("threshold")?;
        let [count] = r.array("count")?;
        let label = r.text("label", TextField::Label)?;
        let mut custodians = Vec::with_capacity(count.into());
        for _ in 0..count {
            let [c_index] = r.array("custodian index")?;
            let key: [u8; 32] = r.array("custodian card key")?;
            let card_key =
                CardKey::from_x25519(&key).map_err(|source| RecordError::InvalidCardKey {
                    index: c_index,
                    source,
                })?;
            let commitment = r.array("custodian share commitment")?;
            let name = r.text("custodian name", TextField::Name(c_index))?;
            custodians.push(Custodian {
                index: c_index,
                card_key,
                commitment,
                name,
            });
        }
        let nonce: [u8; NONCE_LEN] = r.array("wrapped master nonce")?;
        let ct_len = u16::from_be_bytes(r.array("wrapped master length")?);
        let ct = r.take(ct_len.into(), "wrapped master")?.to_vec();
        let key_check = KeyCheck(r.array::<KEY_CHECK_LEN>("key check value")?);
        let mac = r.array("description MAC")?;
        if !r.0.is_empty() {
            return Err(RecordError::TrailingBytes(r.0.len()));
        }
        let record = Self {
            set_id,
            set_version,
            index,
            threshold,
            label,
            custodians,
            wrapped: WrappedMaster { nonce, ct },
            key_check,
            mac,
        };
        record.validate()?;
        Ok(record)
    }
}

/// Checks a set label against the record's text rules, so a bad label is refused before any card is asked for anything.
pub fn check_label(label: &str) -> Result<(), RecordError> {
    check_text(label, 1, MAX_LABEL_LEN, TextField::Label)
        .map_err(|e| e.unwrap_or(RecordError::LabelLength(label.len())))
}

/// Checks a custodian name (for the custodian at `index`) against the record's text rules.
pub fn check_name(name: &str, index: u8) -> Result<(), RecordError> {
    check_text(name, 0, MAX_NAME_LEN, TextField::Name(index)).map_err(|e| {
        e.unwrap_or(RecordError::NameLength {
            index,
            len: name.len(),
        })
    })
}

/// HPKE `info` for sealing the share of custodian `index` in set `set_id`.
pub fn share_info(set_id: &[u8; SET_ID_LEN], index: u8) -> [u8; 32] {
    let mut info = [0u8; 32];
    info[..15].copy_from_slice(SHARE_INFO_PREFIX);
    info[15..31].copy_from_slice(set_id);
    info[31] = index;
    info
}

/// Where a public part holds the card's `index`: after magic, set id and set version. The
/// public parts of one set version differ in this byte only (record-format.md).
pub const INDEX_OFFSET: usize = 4 + SET_ID_LEN + 2;

/// Decodes public parts, each set version's description once: a part equal to one already
/// decoded but for its index byte is the same record with that index, so the m card keys
/// of a large set are not validated again for every card (and a card's part is never
/// trusted for another's: the bytes are compared whole).
#[derive(Debug, Default, Clone)]
pub struct RecordDecoder {
    known: std::collections::HashMap<([u8; SET_ID_LEN], u16), (Vec<u8>, PublicRecord)>,
}

impl RecordDecoder {
    /// A decoder that knows nothing yet.
    pub fn new() -> RecordDecoder {
        RecordDecoder::default()
    }

    /// [`PublicRecord::decode`], the same answer for the same bytes, in time linear in the
    /// bytes when a part of their set version was decoded before.
    pub fn decode(&mut self, bytes: &[u8]) -> Result<PublicRecord, RecordError> {
        if let Some(record) = self.same_but_index(bytes) {
            return Ok(record);
        }
        let record = PublicRecord::decode(bytes)?;
        self.remember(bytes, &record);
        Ok(record)
    }

    /// Whether a part of this set version is known.
    pub fn knows(&self, set_id: &[u8; SET_ID_LEN], set_version: u16) -> bool {
        self.known.contains_key(&(*set_id, set_version))
    }

    /// Keeps `record` (whose encoding is `bytes`) for the parts of its set version to come.
    pub fn remember(&mut self, bytes: &[u8], record: &PublicRecord) {
        self.known
            .entry((record.set_id, record.set_version))
            .or_insert_with(|| (bytes.to_vec(), record.clone()));
    }

    /// The public part a card of this set version holds at `index`, and its decoding, if
    /// a part of that version is known and lists `index`: the known bytes with the index
    /// byte set, which a caller must still show to be the card's own (select.md, the
    /// public digest).
    pub fn at_index(
        &self,
        set_id: &[u8; SET_ID_LEN],
        set_version: u16,
        index: u8,
    ) -> Option<(Vec<u8>, PublicRecord)> {
        let (bytes, record) = self.known.get(&(*set_id, set_version))?;
        record.custodian(index)?;
        let mut bytes = bytes.clone();
        bytes[INDEX_OFFSET] = index;
        let mut record = record.clone();
        record.index = index;
        Some((bytes, record))
    }

    /// The known record of `bytes`' set version with `bytes`' index, when `bytes` equal its
    /// part in every byte but the index and the index is listed (else `decode` would refuse).
    fn same_but_index(&self, bytes: &[u8]) -> Option<PublicRecord> {
        let head = bytes.get(..INDEX_OFFSET)?;
        let set_id: [u8; SET_ID_LEN] = head[4..4 + SET_ID_LEN].try_into().ok()?;
        let version = u16::from_be_bytes([head[INDEX_OFFSET - 2], head[INDEX_OFFSET - 1]]);
        let index = *bytes.get(INDEX_OFFSET)?;
        let (known, _) = self.known.get(&(set_id, version))?;
        let same = known.len() == bytes.len()
            && known[..INDEX_OFFSET] == bytes[..INDEX_OFFSET]
            && known[INDEX_OFFSET + 1..] == bytes[INDEX_OFFSET + 1..];
        if !same {
            return None;
        }
        self.at_index(&set_id, version, index).map(|(_, r)| r)
    }
}

/// The sealed part: HPKE enc ‖ ciphertext of the 33-byte share.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SealedShare {
    /// HPKE encapsulated key (X25519 u, little-endian).
    pub enc: [u8; ENC_LEN],
    /// HPKE ciphertext of the share (33 + 16 bytes).
    pub ct: [u8; SEALED_CT_LEN],
}

impl SealedShare {
    /// Serializes to the 81 bytes stored on the card.
    pub fn encode(&self) -> [u8; SEALED_LEN] {
        let mut out = [0u8; SEALED_LEN];
        out[..ENC_LEN].copy_from_slice(&self.enc);
        out[ENC_LEN..].copy_from_slice(&self.ct);
        out
    }

    /// Parses the card's sealed part; anything but 81 bytes is refused.
    pub fn decode(bytes: &[u8]) -> Result<Self, RecordError> {
        if bytes.len() != SEALED_LEN {
            return Err(RecordError::SealedLength(bytes.len()));
        }
        Ok(Self {
            enc: bytes[..ENC_LEN].try_into().expect("length checked"),
            ct: bytes[ENC_LEN..].try_into().expect("length checked"),
        })
    }
}

/// Builds the PUT RECORD stream public length(2) ‖ sealed length(2) ‖ public ‖ sealed.
pub fn put_record_stream(public: &[u8], sealed: &[u8]) -> Result<Vec<u8>, RecordError> {
    for (part, len) in [("public", public.len()), ("sealed", sealed.len())] {
        if len == 0 || len > usize::from(u16::MAX) {
            return Err(RecordError::StreamPartLength { part, len });
        }
    }
    let mut out = Vec::with_capacity(4 + public.len() + sealed.len());
    out.extend_from_slice(&(public.len() as u16).to_be_bytes());
    out.extend_from_slice(&(sealed.len() as u16).to_be_bytes());
    out.extend_from_slice(public);
    out.extend_from_slice(sealed);
    Ok(out)
}

/// Checks length and characters of a text field; `Err(None)` means "length out of range".
fn check_text(
    s: &str,
    min: usize,
    max: usize,
    field: TextField,
) -> Result<(), Option<RecordError>> {
    if !(min..=max).contains(&s.len()) {
        return Err(None);
    }
    if s.chars()
        .any(|c| c.is_control() || c.general_category() == GeneralCategory::Format)
    {
        return Err(Some(RecordError::ControlCharacter(field)));
    }
    Ok(())
}

/// A cursor that turns "ran out of bytes" into a typed error naming the field.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize, field: &'static str) -> Result<&'a [u8], RecordError> {
        if self.0.len() < n {
            return Err(RecordError::Truncated {
                field,
                need: n,
                have: self.0.len(),
            });
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(head)
    }

    fn array<const N: usize>(&mut self, field: &'static str) -> Result<[u8; N], RecordError> {
        Ok(self
            .take(N, field)?
            .try_into()
            .expect("take returned N bytes"))
    }

    fn text(&mut self, field: &'static str, which: TextField) -> Result<String, RecordError> {
        let [len] = self.array(field)?;
        let bytes = self.take(len.into(), field)?;
        String::from_utf8(bytes.to_vec()).map_err(|_| RecordError::NotUtf8(which))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mutation::{any_mutation, Mutation};
    use curve25519_dalek::montgomery::MontgomeryPoint;
    use proptest::prelude::*;

    fn key(seed: u8) -> CardKey {
        CardKey::from_x25519(&MontgomeryPoint::mul_base_clamped([seed; 32]).to_bytes()).unwrap()
    }

    fn sample() -> PublicRecord {
        PublicRecord {
            set_id: [0x11; 16],
            set_version: 1,
            index: 2,
            threshold: 2,
            label: "root CA".into(),
            custodians: (1..=3)
                .map(|i| Custodian {
                    index: i,
                    card_key: key(i),
                    commitment: [0xc0 | i; 32],
                    name: format!("custodian {i}"),
                })
                .collect(),
            wrapped: WrappedMaster {
                nonce: [3; 12],
                ct: vec![0xee; 48],
            },
            key_check: KeyCheck([0x4b; 8]),
            mac: [0x3a; 32],
        }
    }

    #[test]
    fn layout_matches_the_spec() {
        let r = sample();
        let b = r.encode().unwrap();
        assert_eq!(&b[..4], b"QRM2");
        assert_eq!(&b[4..20], &[0x11; 16]);
        assert_eq!(&b[20..22], &[0, 1]);
        assert_eq!(b[22..25], [2, 2, 3]);
        assert_eq!(b[25], 7);
        assert_eq!(&b[26..33], b"root CA");
        assert_eq!(b[33], 1);
        assert_eq!(&b[34..66], &key(1).to_x25519());
        assert_eq!(&b[66..98], &[0xc1; 32]);
        assert_eq!(b[98], 11);
        assert_eq!(&b[99..110], b"custodian 1");
        assert_eq!(b[110], 2);
        assert_eq!(&b[143..175], &[0xc2; 32]);
        let tail = &b[b.len() - 102..];
        assert_eq!(&tail[..12], &[3; 12]);
        assert_eq!(&tail[12..14], &[0, 48]);
        assert_eq!(&tail[62..70], &[0x4b; 8]);
        assert_eq!(&tail[70..], &[0x3a; 32]);
        assert_eq!(
            b.len(),
            26 + 7 + 3 * (1 + 32 + 32 + 1 + 11) + 12 + 2 + 48 + 8 + 32
        );
        assert_eq!(PublicRecord::decode(&b).unwrap(), r);
        // the description is the public part without the index and the MAC
        let d = r.description();
        assert_eq!(d.len(), b.len() - 1 - 32);
        assert_eq!(&d[..22], &b[..22]);
        assert_eq!(&d[22..], &b[23..b.len() - 32]);
    }

    #[test]
    fn the_digest_is_of_version_1_and_add_card_keeps_it() {
        let v1 = sample();
        let mut v2 = v1.clone();
        v2.set_version = 2;
        v2.custodians.push(Custodian {
            index: 9,
            card_key: key(9),
            commitment: [9; 32],
            name: String::new(),
        });
        v2.index = 9;
        assert_eq!(v2.enrolled_count(), 3);
        assert_eq!(v1.set_digest(), v2.set_digest());
        assert_eq!(
            v1.set_digest(),
            SetDigest::of_description(&v1.description())
        );
        assert_ne!(v1.description(), v2.description());
        // every field of the enrolled description moves the digest; the MAC and index do not
        let moved = |f: &dyn Fn(&mut PublicRecord)| {
            let mut r = sample();
            f(&mut r);
            r.set_digest() != v1.set_digest()
        };
        assert!(moved(&|r| r.set_id[0] ^= 1));
        assert!(moved(&|r| r.threshold = 3));
        assert!(moved(&|r| r.label.push('.')));
        assert!(moved(&|r| r.custodians[1].name.push('.')));
        assert!(moved(&|r| r.custodians[2].commitment[5] ^= 1));
        assert!(moved(&|r| r.wrapped.ct[0] ^= 1));
        assert!(moved(&|r| r.key_check.0[0] ^= 1));
        assert!(!moved(&|r| r.index = 3));
        assert!(!moved(&|r| r.mac[0] ^= 1));
    }

    #[test]
    fn the_mac_covers_every_field_but_the_index() {
        use crate::crypto::Dek;
        let mac_key = DescriptionKey::derive(
            &Dek::from_bytes(zeroize::Zeroizing::new([5; 32])),
            &[0x11; 16],
        );
        let mut r = sample();
        assert!(!r.is_authentic(&mac_key));
        r.authenticate(&mac_key);
        assert!(r.is_authentic(&mac_key));
        let still = |f: &dyn Fn(&mut PublicRecord)| {
            let mut e = r.clone();
            f(&mut e);
            e.is_authentic(&mac_key)
        };
        assert!(still(&|e| e.index = 3));
        assert!(!still(&|e| e.set_version = 2));
        assert!(!still(&|e| e.custodians[0].name.push('!')));
        assert!(!still(&|e| e.custodians.truncate(2)));
        assert!(!still(&|e| e.key_check.0[7] ^= 1));
        assert!(!still(&|e| e.wrapped.nonce[0] ^= 1));
        // version 2, authenticated, then rolled back to version 1 by dropping its last entry
        let mut v2 = r.clone();
        v2.set_version = 2;
        v2.custodians.push(Custodian {
            index: 7,
            card_key: key(7),
            commitment: [7; 32],
            name: "new".into(),
        });
        v2.authenticate(&mac_key);
        assert!(v2.is_authentic(&mac_key));
        let mut rolled = v2.clone();
        rolled.set_version = 1;
        rolled.custodians.pop();
        assert_eq!(rolled.set_digest(), r.set_digest(), "the same enrolled set");
        assert!(!rolled.is_authentic(&mac_key), "but not version 1's MAC");
    }

    #[test]
    fn a_format_1_record_is_refused_by_name() {
        let mut b = sample().encode().unwrap();
        b[3] = b'1';
        let e = PublicRecord::decode(&b).unwrap_err();
        assert_eq!(e, RecordError::OldFormat);
        assert!(e.to_string().contains("format 1"), "{e}");
    }

    #[test]
    fn each_rule_has_its_error() {
        let enc = |f: &dyn Fn(&mut PublicRecord)| {
            let mut r = sample();
            f(&mut r);
            r.encode().unwrap_err()
        };
        assert_eq!(enc(&|r| r.set_version = 0), RecordError::ZeroSetVersion);
        assert_eq!(
            enc(&|r| r.threshold = 0),
            RecordError::Threshold {
                threshold: 0,
                count: 3
            }
        );
        assert_eq!(
            enc(&|r| r.threshold = 4),
            RecordError::Threshold {
                threshold: 4,
                count: 3
            }
        );
        assert_eq!(enc(&|r| r.label.clear()), RecordError::LabelLength(0));
        assert_eq!(
            enc(&|r| r.label = "x".repeat(65)),
            RecordError::LabelLength(65)
        );
        assert_eq!(
            enc(&|r| r.label = "a\u{1b}[2J".into()),
            RecordError::ControlCharacter(TextField::Label)
        );
        // format characters: a right-to-left override, a zero-width joiner, a BOM
        for cf in ['\u{202e}', '\u{200d}', '\u{feff}', '\u{2066}', '\u{e0001}'] {
            assert_eq!(
                enc(&|r| r.custodians[0].name = format!("ab{cf}cd")),
                RecordError::ControlCharacter(TextField::Name(1))
            );
        }
        assert_eq!(
            enc(&|r| r.set_version = 4),
            RecordError::VersionCount {
                version: 4,
                count: 3
            }
        );
        assert_eq!(
            enc(&|r| r.custodians[1].name = "é".repeat(33)),
            RecordError::NameLength { index: 2, len: 66 }
        );
        assert_eq!(
            enc(&|r| r.custodians[2].index = 1),
            RecordError::DuplicateIndex(1)
        );
        assert_eq!(enc(&|r| r.custodians[0].index = 0), RecordError::ZeroIndex);
        assert_eq!(
            enc(&|r| r.custodians[2].card_key = key(1)),
            RecordError::DuplicateCardKey {
                first: 1,
                second: 3
            }
        );
        assert_eq!(enc(&|r| r.index = 9), RecordError::IndexNotListed(9));
        assert_eq!(
            enc(&|r| r.custodians.clear()),
            RecordError::CustodianCount(0)
        );
        assert_eq!(
            enc(&|r| r.wrapped.ct.truncate(16)),
            RecordError::WrappedLength(16)
        );
        assert_eq!(
            enc(&|r| r.wrapped.ct = vec![0; MAX_MASTER_LEN + 17]),
            RecordError::WrappedLength(MAX_MASTER_LEN + 17)
        );
        let mut r = sample();
        r.wrapped.ct = vec![0; MAX_MASTER_LEN + 16];
        assert_eq!(PublicRecord::decode(&r.encode().unwrap()).unwrap(), r);
        // an empty name is fine, a 64-byte label too
        let mut r = sample();
        r.custodians[0].name.clear();
        r.label = "L".repeat(64);
        assert_eq!(PublicRecord::decode(&r.encode().unwrap()).unwrap(), r);
    }

    #[test]
    fn decoding_refuses_malformed_bytes() {
        let good = sample().encode().unwrap();
        let mut b = good.clone();
        b.push(0);
        assert_eq!(PublicRecord::decode(&b), Err(RecordError::TrailingBytes(1)));
        assert!(matches!(
            PublicRecord::decode(&good[..good.len() - 1]),
            Err(RecordError::Truncated {
                field: "description MAC",
                ..
            })
        ));
        assert!(matches!(
            PublicRecord::decode(&good[..3]),
            Err(RecordError::Truncated { field: "magic", .. })
        ));
        assert_eq!(
            PublicRecord::decode(&good[..80]),
            Err(RecordError::Truncated {
                field: "custodian share commitment",
                need: 32,
                have: 14
            })
        );
        let mut b = good.clone();
        b[3] = b'3';
        assert_eq!(
            PublicRecord::decode(&b),
            Err(RecordError::BadMagic(*b"QRM3"))
        );
        let mut b = good.clone();
        b[26] = 0xff; // label's first byte
        assert_eq!(
            PublicRecord::decode(&b),
            Err(RecordError::NotUtf8(TextField::Label))
        );
        let mut b = good.clone();
        b[34..66].fill(0); // first card key → low order
        assert_eq!(
            PublicRecord::decode(&b),
            Err(RecordError::InvalidCardKey {
                index: 1,
                source: PointError::LowOrder
            })
        );
    }

    #[test]
    fn every_low_order_card_key_is_refused() {
        use crate::crypto::wei25519::tests::low_order_encodings;
        use crate::crypto::SubgroupPoint;
        let good = sample().encode().unwrap();
        for u in low_order_encodings() {
            let mut b = good.clone();
            b[34..66].copy_from_slice(&u); // first custodian's card key
            assert_eq!(
                PublicRecord::decode(&b),
                Err(RecordError::InvalidCardKey {
                    index: 1,
                    source: SubgroupPoint::from_u(&u).unwrap_err()
                }),
                "{}",
                hex::encode(u)
            );
        }
    }

    #[test]
    fn sealed_part_and_stream() {
        let s = SealedShare {
            enc: [1; 32],
            ct: [2; 49],
        };
        let b = s.encode();
        assert_eq!(b.len(), 81);
        assert_eq!(SealedShare::decode(&b).unwrap(), s);
        assert_eq!(
            SealedShare::decode(&b[..80]),
            Err(RecordError::SealedLength(80))
        );
        let stream = put_record_stream(&[0xaa; 300], &b).unwrap();
        assert_eq!(&stream[..4], &[0x01, 0x2c, 0x00, 0x51]);
        assert_eq!(&stream[4..304], &[0xaa; 300]);
        assert_eq!(&stream[304..], &b);
        assert_eq!(
            put_record_stream(&[], &b),
            Err(RecordError::StreamPartLength {
                part: "public",
                len: 0
            })
        );
        assert_eq!(
            put_record_stream(&[1], &vec![0; 65536]),
            Err(RecordError::StreamPartLength {
                part: "sealed",
                len: 65536
            })
        );
    }

    #[test]
    fn share_info_layout() {
        let info = share_info(&[0x5a; 16], 7);
        assert_eq!(&info[..15], b"quorum/v1/share");
        assert_eq!(&info[15..31], &[0x5a; 16]);
        assert_eq!(info[31], 7);
    }

    fn arb_text(max: usize) -> impl Strategy<Value = String> {
        proptest::string::string_regex(&format!("[a-zA-Z0-9 éü漢-]{{0,{max}}}"))
            .unwrap()
            .prop_map(move |mut s| {
                while s.len() > max {
                    s.pop();
                }
                s
            })
    }

    /// Twelve distinct valid card keys, computed once (point validation is slow in debug builds).
    fn key_pool() -> &'static [CardKey] {
        static POOL: std::sync::OnceLock<Vec<CardKey>> = std::sync::OnceLock::new();
        POOL.get_or_init(|| (1..=12).map(key).collect())
    }

    prop_compose! {
        fn arb_record()(
            keys in Just(key_pool().to_vec()).prop_shuffle(),
            m in 1usize..=8,
            names in proptest::collection::vec(arb_text(64), 8),
            commitments in proptest::collection::vec(any::<[u8; 32]>(), 8),
            label in arb_text(63),
            set_id in any::<[u8; 16]>(),
            version_pick in any::<proptest::sample::Index>(),
            tail in (any::<[u8; 8]>(), any::<[u8; 32]>()),
            pick in any::<proptest::sample::Index>(),
            n_pick in any::<proptest::sample::Index>(),
            first_index in 1u8..=247,
            wrapped in (any::<[u8; 12]>(), proptest::collection::vec(any::<u8>(), 17..300)),
        ) -> PublicRecord {
            let custodians: Vec<Custodian> = (0..m).map(|i| Custodian {
                index: first_index + i as u8,
                card_key: keys[i],
                commitment: commitments[i],
                name: names[i].clone(),
            }).collect();
            PublicRecord {
                set_id,
                set_version: 1 + version_pick.index(m) as u16,
                index: custodians[pick.index(m)].index,
                threshold: 1 + n_pick.index(m) as u8,
                label: format!("L{label}"),
                custodians,
                wrapped: WrappedMaster { nonce: wrapped.0, ct: wrapped.1 },
                key_check: KeyCheck(tail.0),
                mac: tail.1,
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(96))]

        #[test]
        fn encode_decode_round_trip(r in arb_record()) {
            let bytes = r.encode().unwrap();
            prop_assert_eq!(PublicRecord::decode(&bytes).unwrap(), r);
        }

        #[test]
        fn decode_never_panics_on_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..700)) {
            let _ = PublicRecord::decode(&bytes);
            let _ = SealedShare::decode(&bytes);
        }

        /// Damaged valid records never panic, and whatever decodes re-encodes to the same bytes (one meaning per byte string).
        #[test]
        fn decode_is_canonical_on_damaged_records(r in arb_record(), at in any::<proptest::sample::Index>(), byte in any::<u8>(), cut in any::<proptest::sample::Index>()) {
            let good = r.encode().unwrap();
            let mut bytes = good.clone();
            let i = at.index(bytes.len());
            bytes[i] = byte;
            if let Ok(d) = PublicRecord::decode(&bytes) {
                prop_assert_eq!(d.encode().unwrap(), bytes);
            }
            let short = &good[..cut.index(good.len())];
            let truncated = matches!(PublicRecord::decode(short), Err(RecordError::Truncated { .. }));
            prop_assert!(truncated, "a strict prefix of a record must be reported as truncated");
        }

        /// A decoder that knows a record's set version answers every damaged copy of it (the
        /// index byte included) exactly as a fresh decode does.
        #[test]
        fn the_decoder_answers_as_decode_does(r in arb_record(), at in any::<proptest::sample::Index>(), byte in any::<u8>(), index_only: bool) {
            let good = r.encode().unwrap();
            let mut decoder = RecordDecoder::new();
            prop_assert_eq!(decoder.decode(&good), Ok(r.clone()));
            let mut bytes = good.clone();
            let i = if index_only { INDEX_OFFSET } else { at.index(bytes.len()) };
            bytes[i] = byte;
            prop_assert_eq!(decoder.decode(&bytes), PublicRecord::decode(&bytes));
            prop_assert_eq!(decoder.decode(&good), Ok(r));
        }
    }

    #[test]
    fn the_decoder_gives_another_index_of_a_known_version_only_if_listed() {
        let r = sample();
        let bytes = r.encode().unwrap();
        let mut decoder = RecordDecoder::new();
        assert_eq!(decoder.at_index(&r.set_id, 1, 3), None);
        decoder.decode(&bytes).unwrap();
        let (third, record) = decoder.at_index(&r.set_id, 1, 3).unwrap();
        assert_eq!(PublicRecord::decode(&third).unwrap(), record);
        assert_eq!(record.index, 3);
        assert_eq!(
            decoder.at_index(&r.set_id, 1, 4),
            None,
            "custodian 4 is not listed"
        );
        assert_eq!(
            decoder.at_index(&r.set_id, 2, 3),
            None,
            "no version 2 is known"
        );
    }

    /// Valid records with one or two custodians, encoded once (each decode validates every card key, which is slow in debug builds).
    fn small_records() -> &'static [Vec<u8>] {
        static POOL: std::sync::OnceLock<Vec<Vec<u8>>> = std::sync::OnceLock::new();
        POOL.get_or_init(|| {
            (1..=2)
                .map(|m| {
                    let mut r = sample();
                    r.custodians.truncate(m);
                    r.index = 1;
                    r.threshold = 1;
                    r.encode().unwrap()
                })
                .collect()
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]

        /// A damaged record never panics the decoder: what still decodes re-encodes to the same
        /// bytes (one meaning per byte string), a cut is reported as truncation, bytes after
        /// the end as trailing bytes, anything else as a typed error.
        #[test]
        fn mutated_records_give_typed_errors(
            good in proptest::sample::select(small_records()),
            m in any_mutation(),
        ) {
            let bytes = m.apply(&good);
            let decoded = PublicRecord::decode(&bytes);
            match (&m, decoded) {
                (Mutation::Truncate(_), r) => {
                    prop_assert!(matches!(r, Err(RecordError::Truncated { .. })), "{:?}", r);
                }
                (Mutation::Extend(extra), r) => {
                    prop_assert_eq!(r, Err(RecordError::TrailingBytes(extra.len())));
                }
                (_, Ok(d)) => prop_assert_eq!(d.encode().unwrap(), bytes),
                (_, Err(e)) => prop_assert!(!e.to_string().is_empty()),
            }
        }

        /// The sealed part takes any 81 bytes as enc ‖ ct and refuses every other length by name.
        #[test]
        fn sealed_part_decodes_by_length_alone(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            match SealedShare::decode(&bytes) {
                Ok(s) => {
                    prop_assert_eq!(bytes.len(), SEALED_LEN);
                    prop_assert_eq!(&s.encode()[..], &bytes[..]);
                }
                Err(e) => {
                    prop_assert_ne!(bytes.len(), SEALED_LEN);
                    prop_assert_eq!(e, RecordError::SealedLength(bytes.len()));
                }
            }
        }
    }
}
