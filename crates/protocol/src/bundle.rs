//! The bundle file: the public description of a set, for audit and as a spare copy of what
//! every card already holds. It contains no secret; its format is apdu-spec/bundle-format.md.

use std::fmt;
use std::io;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::crypto::anchor::{grouped_hex, SET_DIGEST_SHOWN};
use crate::crypto::commitment::COMMITMENT_LEN;
use crate::crypto::hpke::TAG_LEN;
use crate::crypto::SetDigest;
use crate::record::{Custodian, PublicRecord, RecordDecoder, RecordError};
use crate::sharing::{check_same_set, newest_of_one_set, Enrollment, SetField, SetMismatch};

/// Format tag of the bundles this build writes and reads (3: record format 2, with the set digest, key check value and description MAC).
pub const BUNDLE_FORMAT: &str = "quorum-bundle/3";

/// Format tags of earlier builds, named so their files get a precise error.
pub const OLD_BUNDLE_FORMATS: [&str; 2] = ["quorum-bundle/1", "quorum-bundle/2"];

/// Largest bundle file read: 255 records of the largest size, in hex, fit with room to spare.
pub const MAX_BUNDLE_BYTES: u64 = 32 << 20;

/// The JSON document written at enrollment and updated by add-card.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Bundle {
    /// Always [`BUNDLE_FORMAT`].
    pub format: String,
    /// Set id, hex.
    pub set_id: String,
    /// The newest set version among the records: the one this summary describes.
    pub set_version: u16,
    /// Set label.
    pub label: String,
    /// Shares needed (n).
    pub threshold: u8,
    /// The set digest, hex (crypto.md §10): what people compare and `recover --expect` takes.
    pub set_digest: String,
    /// The master's key check value, hex (crypto.md §10).
    pub key_check: String,
    /// The custodians of the newest version (m of them), in record order.
    pub custodians: Vec<BundleCustodian>,
    /// The master secret under the DEK: nonce and ciphertext, hex.
    pub wrapped_master: BundleWrapped,
    /// The newest version's description MAC, hex (crypto.md §10).
    pub description_mac: String,
    /// Each card's public record as stored on the card, hex, sorted by index.
    pub records: Vec<BundleRecord>,
}

/// One custodian as a person reads it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct BundleCustodian {
    /// Share index.
    pub index: u8,
    /// Name.
    pub name: String,
    /// Card fingerprint.
    pub fingerprint: String,
    /// Card X25519 public key, hex.
    pub card_key: String,
    /// Commitment to the custodian's share (crypto.md §7), hex, so one card can be checked alone.
    pub commitment: String,
}

/// The wrapped master secret.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct BundleWrapped {
    /// Nonce, hex.
    pub nonce: String,
    /// Ciphertext with tag, hex.
    pub ciphertext: String,
}

/// One card's public record bytes.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct BundleRecord {
    /// Share index.
    pub index: u8,
    /// The set version this record holds: cards not rewritten by add-card keep an older one.
    pub set_version: u16,
    /// The public part, hex.
    pub public: String,
}

/// Why a bundle could not be read or written, or does not match a card.
#[derive(Debug, Error)]
pub enum BundleError {
    /// Not JSON of the expected shape.
    #[error("the bundle is not a valid quorum bundle: {0}")]
    Json(#[from] serde_json::Error),
    /// Another format version.
    #[error("the bundle has format \"{0}\", this quorumctl reads \"{BUNDLE_FORMAT}\"")]
    Format(String),
    /// A file of an earlier format, from before set digests and authenticated descriptions.
    #[error("the bundle has format \"{0}\": it was written by an earlier quorumctl, before set digests and authenticated set descriptions, and its records are of a format this quorumctl does not read; use the quorumctl that wrote it")]
    OldFormat(String),
    /// A record inside is malformed.
    #[error("record {index} in the bundle is malformed: {source}")]
    Record {
        /// Its index.
        index: u8,
        /// What is wrong.
        #[source]
        source: RecordError,
    },
    /// A public part given to add to the bundle is malformed.
    #[error("public record {position} of those given is malformed: {source}")]
    NewRecord {
        /// Its position among those given, from 1.
        position: usize,
        /// What is wrong.
        #[source]
        source: RecordError,
    },
    /// A hex field is not hex.
    #[error("record {0} in the bundle is not valid hex")]
    Hex(u8),
    /// The records disagree with each other or with the summary.
    #[error("the bundle is inconsistent: {0}")]
    Inconsistent(String),
    /// A record's version field is not the version inside its public part.
    #[error("the bundle is inconsistent: it files record {index} as set version {filed}, but the record is version {actual}; the file was edited: use an intact copy")]
    RecordVersion {
        /// The record's index.
        index: u8,
        /// The version the bundle states.
        filed: u16,
        /// The version in the public part.
        actual: u16,
    },
    /// A record is filed under an index the set does not have.
    #[error("the bundle is inconsistent: it holds a record for custodian {index}, but version {version} of the set lists no such custodian; the file was edited: use an intact copy")]
    NotListed {
        /// The index the record is filed under.
        index: u8,
        /// The newest set version in the bundle.
        version: u16,
    },
    /// The bundle has no records.
    #[error("the bundle holds no record")]
    Empty,
    /// The file could not be read.
    #[error("cannot read the bundle {path}: {source}")]
    Read {
        /// The bundle file.
        path: PathBuf,
        /// Why.
        #[source]
        source: io::Error,
    },
    /// The JSON stops before the document is complete.
    #[error("the bundle is truncated: its JSON ends at line {line}, column {column} before the document is complete; use an intact copy (every card holds the same public data)")]
    Truncated {
        /// Line where the text ends.
        line: usize,
        /// Column where the text ends.
        column: usize,
    },
    /// Far larger than any bundle can be.
    #[error("{path} is {len} bytes, larger than any quorum bundle ({MAX_BUNDLE_BYTES} bytes at most): is it the right file?")]
    TooLarge {
        /// The file.
        path: PathBuf,
        /// Its size.
        len: u64,
    },
    /// Two records filed under one index.
    #[error("the bundle holds two records for custodian {0}")]
    DuplicateRecord(u8),
    /// The card's own record breaks the record rules.
    #[error("the card's public record is malformed: {0}")]
    CardRecord(#[source] RecordError),
    /// The card belongs to another set than the bundle describes.
    #[error("the card holds a record of set {card} but the bundle describes set {bundle}: it is a card of another set, or the wrong bundle")]
    CardOtherSet {
        /// The card's set id, hex.
        card: String,
        /// The bundle's set id, hex.
        bundle: String,
    },
    /// The card holds a newer version than the bundle.
    #[error("the card holds version {card} of the set but the bundle only version {bundle}: the bundle is out of date; use the bundle written by the last add-card")]
    CardNewer {
        /// The card's set version.
        card: u16,
        /// The bundle's newest set version.
        bundle: u16,
    },
    /// The card's index is not a custodian in the bundle.
    #[error("the card's record makes it custodian {index}, whom the bundle (set version {version}) does not list: the card's record was altered or comes from a diverging add-card; do not count on this card")]
    CardNotListed {
        /// The card's index.
        index: u8,
        /// The bundle's newest set version.
        version: u16,
    },
    /// The card's record names another card key for its own index.
    #[error("for custodian {index} the card's record lists card {card} but the bundle lists card {bundle}: the card's record or the bundle was altered; compare with the other cards before counting on this one")]
    CardKeyDiffers {
        /// The card's index.
        index: u8,
        /// Fingerprint of the key in the card's record.
        card: String,
        /// Fingerprint of the key in the bundle.
        bundle: String,
    },
    /// The card's record commits its index to another share.
    #[error("for custodian {index} the card's record holds another share commitment than the bundle: the card's record or the bundle was altered; compare with the other cards before counting on this one")]
    CardCommitmentDiffers {
        /// The card's index.
        index: u8,
    },
    /// The card's record and the bundle are not one set description (versions aside).
    #[error("the card's record (custodian {index}, set version {card_version}) and the bundle (set version {bundle_version}) disagree on the {field}: the card's record or the bundle was altered, or they come from diverging add-card ceremonies")]
    CardDisagrees {
        /// The card's index.
        index: u8,
        /// The field that differs.
        field: SetField,
        /// The card's set version.
        card_version: u16,
        /// The bundle's newest set version.
        bundle_version: u16,
    },
}

impl BundleError {
    /// The error about the bundle file `path`, naming the file once: "the bundle F: ..."
    /// unless the error already names it ("cannot read the bundle F: ...").
    pub fn about(&self, path: &std::path::Path) -> String {
        match self {
            BundleError::Read { .. } | BundleError::TooLarge { .. } => self.to_string(),
            _ => format!("the bundle {}: {self}", path.display()),
        }
    }
}

impl From<SetMismatch> for BundleError {
    fn from(m: SetMismatch) -> Self {
        BundleError::Inconsistent(m.to_string())
    }
}

/// Just the format field, read first so an older bundle is named as such rather than as malformed JSON.
#[derive(Deserialize)]
struct FormatTag {
    format: Option<serde_json::Value>,
}

/// A JSON error, told apart into a truncated file and any other malformation.
fn json_error(e: serde_json::Error) -> BundleError {
    if e.is_eof() {
        BundleError::Truncated {
            line: e.line(),
            column: e.column(),
        }
    } else {
        BundleError::Json(e)
    }
}

impl Bundle {
    /// Describes a finished enrollment.
    pub fn from_enrollment(enrollment: &Enrollment) -> Bundle {
        let newest = enrollment
            .cards
            .iter()
            .map(|c| &c.record)
            .max_by_key(|r| r.set_version)
            .expect("an enrollment has at least one card");
        Bundle::describe(
            newest,
            enrollment
                .cards
                .iter()
                .map(|c| BundleRecord {
                    index: c.index(),
                    set_version: c.record.set_version,
                    public: hex::encode(&c.public),
                })
                .collect(),
        )
    }

    /// A bundle made from cards' public parts alone, so a lost or unwritable bundle can be
    /// written again from any cards of the set (they carry the whole description).
    pub fn from_publics(publics: &[Vec<u8>]) -> Result<Bundle, BundleError> {
        let first = publics.first().ok_or(BundleError::Empty)?;
        let record = PublicRecord::decode(first).map_err(|source| BundleError::NewRecord {
            position: 1,
            source,
        })?;
        let seed = Bundle::describe(
            &record,
            vec![BundleRecord {
                index: record.index,
                set_version: record.set_version,
                public: hex::encode(first),
            }],
        );
        seed.with_records(&publics[1..])
    }

    /// The summary of `newest` over the given records, sorted by index.
    fn describe(newest: &PublicRecord, mut records: Vec<BundleRecord>) -> Bundle {
        records.sort_by_key(|r| r.index);
        Bundle {
            format: BUNDLE_FORMAT.to_owned(),
            set_id: hex::encode(newest.set_id),
            set_version: newest.set_version,
            label: newest.label.clone(),
            threshold: newest.threshold,
            set_digest: newest.set_digest().to_hex(),
            key_check: newest.key_check.to_hex(),
            custodians: newest.custodians.iter().map(bundle_custodian).collect(),
            wrapped_master: BundleWrapped {
                nonce: hex::encode(newest.wrapped.nonce),
                ciphertext: hex::encode(&newest.wrapped.ct),
            },
            description_mac: hex::encode(newest.mac),
            records,
        }
    }

    /// Parses a bundle and checks that its records decode, are versions of one set, and match its summary.
    pub fn parse(json: &str) -> Result<Bundle, BundleError> {
        Bundle::parse_decoded(json).map(|(bundle, _)| bundle)
    }

    /// [`Bundle::parse`], also returning the records its checks decoded (in the bundle's
    /// order, as [`Bundle::decoded_records`] gives them), so a ceremony decodes them once.
    pub fn parse_decoded(json: &str) -> Result<(Bundle, Vec<PublicRecord>), BundleError> {
        let tag: FormatTag = serde_json::from_str(json).map_err(json_error)?;
        if let Some(serde_json::Value::String(format)) = tag.format {
            if OLD_BUNDLE_FORMATS.contains(&format.as_str()) {
                return Err(BundleError::OldFormat(format));
            }
            if format != BUNDLE_FORMAT {
                return Err(BundleError::Format(format));
            }
        }
        let bundle: Bundle = serde_json::from_str(json).map_err(json_error)?;
        let records = bundle.check()?;
        Ok((bundle, records))
    }

    /// Every check of [`Bundle::parse`] after the JSON, so a bundle built here passes what a
    /// reader demands; returns the records decoded on the way.
    fn check(&self) -> Result<Vec<PublicRecord>, BundleError> {
        if self.format != BUNDLE_FORMAT {
            return Err(BundleError::Format(self.format.clone()));
        }
        for (i, r) in self.records.iter().enumerate() {
            if self.records[..i].iter().any(|e| e.index == r.index) {
                return Err(BundleError::DuplicateRecord(r.index));
            }
        }
        let records = self.decode_each()?;
        let newest = newest_of_one_set(&records)?.ok_or(BundleError::Empty)?;
        for (filed, record) in self.records.iter().zip(&records) {
            if newest.custodian(filed.index).is_none() {
                return Err(BundleError::NotListed {
                    index: filed.index,
                    version: newest.set_version,
                });
            }
            check_filed(filed, record)?;
        }
        let rebuilt = Bundle::describe(newest, Vec::new());
        if let Some(field) = summary_difference(&rebuilt, self) {
            return Err(BundleError::Inconsistent(format!(
                "its {field} does not match what its newest record (set version {}) says; the file was edited: use an intact copy",
                newest.set_version
            )));
        }
        Ok(records)
    }

    /// The set digest of the set the bundle describes (from its newest record): what `recover --expect` compares.
    pub fn set_digest(&self) -> Result<SetDigest, BundleError> {
        Ok(self.newest_record()?.set_digest())
    }

    /// What a person or a script needs to know about the set, without any card.
    pub fn summary(&self) -> BundleSummary {
        let ciphertext_bytes = self.wrapped_master.ciphertext.len() / 2;
        BundleSummary {
            format: self.format.clone(),
            label: self.label.clone(),
            set_id: self.set_id.clone(),
            set_version: self.set_version,
            threshold: self.threshold,
            set_digest: self.set_digest.clone(),
            key_check: self.key_check.clone(),
            count: self.custodians.len(),
            custodians: self
                .custodians
                .iter()
                .map(|c| {
                    let held = self.records.iter().find(|r| r.index == c.index);
                    CustodianSummary {
                        index: c.index,
                        name: c.name.clone(),
                        fingerprint: c.fingerprint.clone(),
                        card_key: c.card_key.clone(),
                        commitment: c.commitment.clone(),
                        record: held.is_some(),
                        record_version: held.map(|r| r.set_version),
                    }
                })
                .collect(),
            wrapped_master: WrappedSummary {
                ciphertext_bytes,
                master_bytes: ciphertext_bytes.saturating_sub(TAG_LEN),
            },
            records: self.records.iter().map(|r| r.index).collect(),
        }
    }

    /// The records, decoded; each must carry the index and version the bundle files it under.
    pub fn decoded_records(&self) -> Result<Vec<PublicRecord>, BundleError> {
        let records = self.decode_each()?;
        for (filed, record) in self.records.iter().zip(&records) {
            check_filed(filed, record)?;
        }
        Ok(records)
    }

    /// The records decoded, each on its own: hex and record rules only.
    fn decode_each(&self) -> Result<Vec<PublicRecord>, BundleError> {
        let mut decoder = RecordDecoder::new();
        self.records
            .iter()
            .map(|r| {
                let bytes = unhex(&r.public).ok_or(BundleError::Hex(r.index))?;
                decoder
                    .decode(&bytes)
                    .map_err(|source| BundleError::Record {
                        index: r.index,
                        source,
                    })
            })
            .collect()
    }

    /// The newest record, decoded: the set description as last published, which every card's record must agree with.
    pub fn newest_record(&self) -> Result<PublicRecord, BundleError> {
        let records = self.decoded_records()?;
        let newest = newest_of_one_set(&records)?.ok_or(BundleError::Empty)?;
        Ok(newest.clone())
    }

    /// A new bundle with these public parts replacing the records at their indices or added, so add-card's output can be published.
    ///
    /// The result passes every check of [`Bundle::parse`]: a record of a newer version moves
    /// the summary to that version. Each given record must be of one set with every record
    /// the bundle holds, the replaced ones included, so a record of another set or of a
    /// diverging version (a second add-card from an older version) is refused rather than
    /// silently switching the bundle to the other branch. Records stay sorted by index.
    pub fn with_records(&self, publics: &[Vec<u8>]) -> Result<Bundle, BundleError> {
        let held = self.decoded_records()?;
        let mut records = self.records.clone();
        let mut given: Vec<PublicRecord> = Vec::with_capacity(publics.len());
        for (i, public) in publics.iter().enumerate() {
            let record = PublicRecord::decode(public).map_err(|source| BundleError::NewRecord {
                position: i + 1,
                source,
            })?;
            if given.iter().any(|g| g.index == record.index) {
                return Err(BundleError::DuplicateRecord(record.index));
            }
            let entry = BundleRecord {
                index: record.index,
                set_version: record.set_version,
                public: hex::encode(public),
            };
            match records.iter_mut().find(|r| r.index == entry.index) {
                Some(old) => *old = entry,
                None => records.push(entry),
            }
            given.push(record);
        }
        newest_of_one_set(held.iter().chain(&given))?;
        let mut bundle = self.clone();
        bundle.records = records;
        let decoded = bundle.decoded_records()?;
        let newest = newest_of_one_set(&decoded)?.ok_or(BundleError::Empty)?;
        let bundle = Bundle::describe(newest, bundle.records);
        bundle.check()?;
        Ok(bundle)
    }

    /// The commitment the bundle lists for custodian `index`, to compare with what a card opens.
    pub fn commitment_of(&self, index: u8) -> Option<[u8; COMMITMENT_LEN]> {
        let custodian = self.custodians.iter().find(|c| c.index == index)?;
        let mut commitment = [0u8; COMMITMENT_LEN];
        hex::decode_to_slice(&custodian.commitment, &mut commitment).ok()?;
        Some(commitment)
    }

    /// Checks a card's public record against the bundle, so a custodian learns whether their card still belongs to the published set.
    ///
    /// Same set id; the card's version at most the bundle's; the card's own custodian entry
    /// (card key, commitment) equal to the bundle's for that index; and the rest of the set
    /// description of one set with the bundle's newest record (older versions are prefixes).
    pub fn check_card_record(&self, record: &PublicRecord) -> Result<(), BundleError> {
        Bundle::check_card_record_against(&self.newest_record()?, record)
    }

    /// [`Bundle::check_card_record`] against the bundle's newest record, decoded once by a
    /// caller that checks many cards.
    pub fn check_card_record_against(
        newest: &PublicRecord,
        record: &PublicRecord,
    ) -> Result<(), BundleError> {
        record.validate().map_err(BundleError::CardRecord)?;
        if record.set_id != newest.set_id {
            return Err(BundleError::CardOtherSet {
                card: hex::encode(record.set_id),
                bundle: hex::encode(newest.set_id),
            });
        }
        if record.set_version > newest.set_version {
            return Err(BundleError::CardNewer {
                card: record.set_version,
                bundle: newest.set_version,
            });
        }
        let mine = record
            .custodian(record.index)
            .ok_or(BundleError::CardRecord(RecordError::IndexNotListed(
                record.index,
            )))?;
        let listed = newest
            .custodian(record.index)
            .ok_or(BundleError::CardNotListed {
                index: record.index,
                version: newest.set_version,
            })?;
        if mine.card_key != listed.card_key {
            return Err(BundleError::CardKeyDiffers {
                index: record.index,
                card: mine.card_key.fingerprint(),
                bundle: listed.card_key.fingerprint(),
            });
        }
        if mine.commitment != listed.commitment {
            return Err(BundleError::CardCommitmentDiffers {
                index: record.index,
            });
        }
        check_same_set(newest, record).map_err(|m| BundleError::CardDisagrees {
            index: record.index,
            field: m.field,
            card_version: record.set_version,
            bundle_version: newest.set_version,
        })
    }

    /// Pretty JSON with a final newline.
    pub fn to_json(&self) -> String {
        let mut s = serde_json::to_string_pretty(self).expect("a bundle always serialises");
        s.push('\n');
        s
    }
}

/// A custodian entry as the bundle shows it.
fn bundle_custodian(c: &Custodian) -> BundleCustodian {
    BundleCustodian {
        index: c.index,
        name: c.name.clone(),
        fingerprint: c.card_key.fingerprint(),
        card_key: hex::encode(c.card_key.to_x25519()),
        commitment: hex::encode(c.commitment),
    }
}

/// The bytes of a hex string (`None` if it is not one): one pass into a buffer of the
/// right size, the bulk of reading a large set's bundle.
fn unhex(text: &str) -> Option<Vec<u8>> {
    let mut bytes = vec![0u8; text.len() / 2];
    hex::decode_to_slice(text, &mut bytes).ok()?;
    Some(bytes)
}

/// Checks that a decoded record is the one its bundle entry says: same index, same version.
fn check_filed(filed: &BundleRecord, record: &PublicRecord) -> Result<(), BundleError> {
    if record.index != filed.index {
        return Err(BundleError::Inconsistent(format!(
            "record filed as {} is custodian {}'s",
            filed.index, record.index
        )));
    }
    if record.set_version != filed.set_version {
        return Err(BundleError::RecordVersion {
            index: filed.index,
            filed: filed.set_version,
            actual: record.set_version,
        });
    }
    Ok(())
}

/// The first summary field of `given` that differs from the one rebuilt from its newest record.
fn summary_difference(rebuilt: &Bundle, given: &Bundle) -> Option<String> {
    let field = if rebuilt.set_id != given.set_id {
        "set id"
    } else if rebuilt.set_version != given.set_version {
        "set version"
    } else if rebuilt.label != given.label {
        "label"
    } else if rebuilt.threshold != given.threshold {
        "threshold"
    } else if rebuilt.wrapped_master != given.wrapped_master {
        "wrapped master"
    } else if rebuilt.set_digest != given.set_digest {
        "set digest"
    } else if rebuilt.key_check != given.key_check {
        "key check value"
    } else if rebuilt.description_mac != given.description_mac {
        "description MAC"
    } else if rebuilt.custodians.len() != given.custodians.len() {
        "custodian count"
    } else {
        let (r, g) = rebuilt
            .custodians
            .iter()
            .zip(&given.custodians)
            .find(|(r, g)| r != g)?;
        if r.index != g.index {
            return Some(format!(
                "custodian list (custodian {} where {} is expected)",
                g.index, r.index
            ));
        }
        let part = if r.card_key != g.card_key {
            "card key"
        } else if r.fingerprint != g.fingerprint {
            "fingerprint"
        } else if r.commitment != g.commitment {
            "commitment"
        } else {
            "name"
        };
        return Some(format!("{part} of custodian {}", g.index));
    };
    Some(field.to_owned())
}

/// A bundle as `quorumctl inspect` shows it; serialises to the `--json` form.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BundleSummary {
    /// The bundle's format tag.
    pub format: String,
    /// Set label.
    pub label: String,
    /// Set id, hex.
    pub set_id: String,
    /// The newest set version the bundle holds.
    pub set_version: u16,
    /// Shares needed (n).
    pub threshold: u8,
    /// The set digest, 64 hex digits (shown as its first 32 in eight groups of four).
    pub set_digest: String,
    /// The master's key check value, 16 hex digits (shown in four groups of four).
    pub key_check: String,
    /// Custodians (m).
    pub count: usize,
    /// Each custodian, with whether the bundle holds their card's record.
    pub custodians: Vec<CustodianSummary>,
    /// Sizes of the wrapped master.
    pub wrapped_master: WrappedSummary,
    /// Indices of the records the bundle holds, in file order.
    pub records: Vec<u8>,
}

/// One custodian in a [`BundleSummary`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CustodianSummary {
    /// Share index.
    pub index: u8,
    /// Name.
    pub name: String,
    /// Card fingerprint.
    pub fingerprint: String,
    /// Card X25519 public key, hex.
    pub card_key: String,
    /// Commitment to the custodian's share, hex, to compare with what the card opens.
    pub commitment: String,
    /// The bundle holds this card's public record.
    pub record: bool,
    /// The set version of that record: older than the summary's when add-card did not rewrite the card.
    pub record_version: Option<u16>,
}

/// How big the wrapped master is, so an auditor can tell a 32-byte key from an RSA key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct WrappedSummary {
    /// Ciphertext with its tag, in bytes.
    pub ciphertext_bytes: usize,
    /// The master secret's length: the ciphertext less the 16-byte tag.
    pub master_bytes: usize,
}

/// Hex digits of a commitment shown in the text summary: enough to compare by eye.
const COMMITMENT_SHOWN: usize = 16;

impl BundleSummary {
    /// Pretty JSON with a final newline, for `quorumctl inspect --json`.
    pub fn to_json(&self) -> String {
        let mut s = serde_json::to_string_pretty(self).expect("a summary always serialises");
        s.push('\n');
        s
    }
}

impl fmt::Display for BundleSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "Set:            \"{}\" ({}-of-{}), version {}",
            self.label, self.threshold, self.count, self.set_version
        )?;
        writeln!(f, "Set id:         {}", self.set_id)?;
        writeln!(
            f,
            "Set digest:     {}",
            grouped_hex(
                self.set_digest
                    .get(..2 * SET_DIGEST_SHOWN)
                    .unwrap_or(&self.set_digest)
            )
        )?;
        writeln!(f, "Key check:      {}", grouped_hex(&self.key_check))?;
        writeln!(
            f,
            "Wrapped master: {} bytes (a {}-byte secret and its 16-byte tag)",
            self.wrapped_master.ciphertext_bytes, self.wrapped_master.master_bytes
        )?;
        writeln!(
            f,
            "Custodians:     index, card fingerprint, record held (its set version), share commitment, name"
        )?;
        for c in &self.custodians {
            let record = match c.record_version {
                Some(v) => format!("record v{v}"),
                None => "no record".to_owned(),
            };
            let shown = c
                .commitment
                .get(..COMMITMENT_SHOWN)
                .unwrap_or(&c.commitment);
            writeln!(
                f,
                "  {:>3}  {}  {:<11}  {}…  \"{}\"",
                c.index, c.fingerprint, record, shown, c.name
            )?;
        }
        let older = self
            .custodians
            .iter()
            .filter(|c| c.record_version.is_some_and(|v| v < self.set_version))
            .count();
        write!(
            f,
            "Records:        {} of {} cards' public records",
            self.records.len(),
            self.count
        )?;
        if older > 0 {
            write!(
                f,
                "\n                ({older} of an older set version: cards that add-card did not rewrite keep theirs, and still recover)"
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_error_about_a_bundle_file_names_it_once() {
        let path = std::path::Path::new("/tmp/vault.json");
        let unread = BundleError::Read {
            path: path.into(),
            source: io::Error::from(io::ErrorKind::NotFound),
        };
        let said = unread.about(path);
        assert_eq!(said.matches("/tmp/vault.json").count(), 1, "{said}");
        assert!(
            said.starts_with("cannot read the bundle /tmp/vault.json: "),
            "{said}"
        );
        assert_eq!(
            BundleError::Empty.about(path),
            "the bundle /tmp/vault.json: the bundle holds no record"
        );
    }
    use crate::crypto::CardKey;
    use crate::sharing::testkit::{open_all, setup};
    use crate::sharing::{add_card, enroll, AddedCard, NewCustodian};
    use curve25519_dalek::montgomery::MontgomeryPoint;
    use proptest::prelude::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha20Rng;

    /// A 2-of-3 software enrollment of a 32-byte master: card keys from fixed scalars.
    fn bundle() -> (Bundle, Vec<CardKey>) {
        let keys: Vec<CardKey> = (1..=3u8)
            .map(|s| {
                CardKey::from_x25519(&MontgomeryPoint::mul_base_clamped([s; 32]).to_bytes())
                    .unwrap()
            })
            .collect();
        let people: Vec<NewCustodian> = keys
            .iter()
            .zip(["alice", "bob", "chloé"])
            .map(|(k, name)| NewCustodian {
                card_key: *k,
                name: name.to_owned(),
            })
            .collect();
        let mut rng = ChaCha20Rng::seed_from_u64(4);
        let enrollment = enroll(&[0x42; 32], 2, "root-ca", &people, &mut rng).unwrap();
        (Bundle::from_enrollment(&enrollment), keys)
    }

    /// A set's life with software cards: a 2-of-3 enrollment (version 1), an add-card of a
    /// fourth custodian by cards 1 and 3 (version 2), a second add-card from version 1 that
    /// diverges from the first, and a record of an unrelated set.
    struct Story {
        v1: Bundle,
        enrolled: Vec<PublicRecord>,
        added: AddedCard,
        fork: AddedCard,
        stranger: crate::sharing::EnrolledCard,
        spare_key: CardKey,
    }

    fn story() -> Story {
        let mut rng = ChaCha20Rng::seed_from_u64(77);
        let (cards, people) = setup(6, &mut rng);
        let en = enroll(b"story master", 2, "story", &people[..3], &mut rng).unwrap();
        let opened = open_all(&en, &cards, &mut rng);
        let added = add_card([&opened[0], &opened[2]], &people[3], &mut rng).unwrap();
        let fork = add_card([&opened[0], &opened[1]], &people[4], &mut rng).unwrap();
        let other = enroll(b"story master", 2, "story", &people[..3], &mut rng).unwrap();
        Story {
            v1: Bundle::from_enrollment(&en),
            enrolled: en.cards.iter().map(|c| c.record.clone()).collect(),
            added,
            fork,
            stranger: other.cards[1].clone(),
            spare_key: people[5].card_key,
        }
    }

    impl Story {
        /// The bundle after the first add-card: the new card's record added.
        fn v2(&self) -> Bundle {
            self.v1
                .with_records(std::slice::from_ref(&self.added.card.public))
                .unwrap()
        }
    }

    #[test]
    fn a_written_bundle_reads_back_and_summarises() {
        let (b, keys) = bundle();
        let read = Bundle::parse(&b.to_json()).unwrap();
        assert_eq!(read, b);
        let (again, decoded) = Bundle::parse_decoded(&b.to_json()).unwrap();
        assert_eq!(again, b);
        assert_eq!(
            decoded,
            b.decoded_records().unwrap(),
            "the records the checks decoded"
        );
        assert_eq!(read.format, "quorum-bundle/3");
        assert_eq!(read.set_digest, newest_digest(&read));
        let newest = read.newest_record().unwrap();
        let s = read.summary();
        assert_eq!(
            (s.label.as_str(), s.threshold, s.count, s.set_version),
            ("root-ca", 2, 3, 1)
        );
        assert_eq!(s.set_id, b.set_id);
        assert_eq!(s.set_id, hex::encode(newest.set_id));
        assert_eq!(s.records, vec![1, 2, 3]);
        assert!(b.records.iter().all(|r| r.set_version == 1));
        assert_eq!(
            s.wrapped_master,
            WrappedSummary {
                ciphertext_bytes: 48,
                master_bytes: 32
            }
        );
        for ((c, k), listed) in s.custodians.iter().zip(&keys).zip(&newest.custodians) {
            assert_eq!(c.fingerprint, k.fingerprint());
            assert_eq!(c.card_key, hex::encode(k.to_x25519()));
            assert_eq!(c.commitment, hex::encode(listed.commitment));
            assert_eq!(read.commitment_of(c.index), Some(listed.commitment));
            assert!(c.record);
            assert_eq!(c.record_version, Some(1));
        }
        assert_eq!(read.commitment_of(4), None);
        let text = s.to_string();
        assert!(text.contains("\"root-ca\" (2-of-3), version 1"));
        assert!(
            text.contains(&format!(
                "{}  record v1    {}…  \"chloé\"",
                keys[2].fingerprint(),
                &hex::encode(newest.custodians[2].commitment)[..16]
            )),
            "{text}"
        );
        assert!(text.contains("3 of 3"));
        assert!(!text.contains("older set version"));
        let json: serde_json::Value = serde_json::from_str(&s.to_json()).unwrap();
        assert_eq!(json["custodians"][1]["name"], "bob");
        assert_eq!(json["custodians"][1]["record"], true);
        assert_eq!(json["custodians"][1]["record_version"], 1);
        assert_eq!(
            json["custodians"][1]["commitment"],
            hex::encode(newest.custodians[1].commitment)
        );
        assert_eq!(json["wrapped_master"]["master_bytes"], 32);
        assert_eq!(json["set_id"], b.set_id.as_str());
        let file: serde_json::Value = serde_json::from_str(&b.to_json()).unwrap();
        assert_eq!(file["records"][2]["set_version"], 1);
        assert_eq!(
            file["custodians"][0]["commitment"],
            s.custodians[0].commitment
        );
    }

    #[test]
    fn a_bundle_missing_a_record_says_which() {
        let (mut b, _) = bundle();
        b.records.remove(1);
        let s = Bundle::parse(&b.to_json()).unwrap().summary();
        assert_eq!(s.records, vec![1, 3]);
        let present: Vec<Option<u16>> = s.custodians.iter().map(|c| c.record_version).collect();
        assert_eq!(present, [Some(1), None, Some(1)]);
        assert!(!s.custodians[1].record);
        assert!(s.to_string().contains("no record"));
    }

    #[test]
    fn add_card_makes_version_2_and_keeps_the_older_records() {
        let st = story();
        let v2 = st.v2();
        assert_eq!(Bundle::parse(&v2.to_json()).unwrap(), v2);
        let s = v2.summary();
        assert_eq!((s.set_version, s.count, s.threshold), (2, 4, 2));
        let versions: Vec<(u8, Option<u16>)> = s
            .custodians
            .iter()
            .map(|c| (c.index, c.record_version))
            .collect();
        let new = st.added.index();
        assert!(new > 3);
        assert_eq!(
            versions,
            [(1, Some(1)), (2, Some(1)), (3, Some(1)), (new, Some(2))]
        );
        assert_eq!(v2.newest_record().unwrap(), st.added.card.record);
        assert_eq!(
            v2.commitment_of(new),
            Some(st.added.card.record.custodians[3].commitment)
        );
        // the older records are the enrollment's, byte for byte
        assert_eq!(v2.records[..3], st.v1.records[..]);
        assert!(s.to_string().contains("3 of an older set version"));
        assert!(s.to_string().contains("(2-of-4), version 2"));

        // a refreshed record replaces the older one at its index, and keeps the order
        let refreshed = v2
            .with_records(std::slice::from_ref(&st.added.refreshed[1].public))
            .unwrap();
        let held: Vec<(u8, u16)> = refreshed
            .records
            .iter()
            .map(|r| (r.index, r.set_version))
            .collect();
        assert_eq!(held, [(1, 1), (2, 1), (3, 2), (new, 2)]);
        assert_eq!(refreshed.custodians, v2.custodians);
        // a refreshed record alone already publishes version 2: the new custodian without a record
        let only_refreshed = st
            .v1
            .with_records(std::slice::from_ref(&st.added.refreshed[0].public))
            .unwrap();
        let s = only_refreshed.summary();
        assert_eq!(
            (s.set_version, s.count, s.records.clone()),
            (2, 4, vec![1, 2, 3])
        );
        assert_eq!(s.custodians[3].record_version, None);
        // the fork started from version 1 too, but it is not the same version 2: neither
        // its new card (at another random index) nor its refreshed cards
        for fork in [&st.fork.card, &st.fork.refreshed[0]] {
            let e = v2
                .with_records(std::slice::from_ref(&fork.public))
                .unwrap_err();
            assert!(
                matches!(&e, BundleError::Inconsistent(m) if m.contains("custodian list")),
                "{e}"
            );
        }
        // while a version 1 bundle takes either branch
        assert_eq!(
            st.v1
                .with_records(std::slice::from_ref(&st.fork.card.public))
                .unwrap()
                .newest_record()
                .unwrap(),
            st.fork.card.record
        );
    }

    #[test]
    fn from_publics_rebuilds_the_bundle_from_cards() {
        let story = story();
        let v2 = story.v2();
        let publics: Vec<Vec<u8>> = v2
            .records
            .iter()
            .rev()
            .map(|r| hex::decode(&r.public).unwrap())
            .collect();
        assert_eq!(Bundle::from_publics(&publics).unwrap(), v2);
        assert!(matches!(Bundle::from_publics(&[]), Err(BundleError::Empty)));
        assert!(matches!(
            Bundle::from_publics(&[vec![0u8; 3]]),
            Err(BundleError::NewRecord { position: 1, .. })
        ));
    }

    #[test]
    fn with_records_refuses_what_is_not_this_set() {
        let st = story();
        let e = st
            .v1
            .with_records(std::slice::from_ref(&st.stranger.public))
            .unwrap_err();
        assert!(
            matches!(&e, BundleError::Inconsistent(m) if m.contains("set id")),
            "{e}"
        );
        let mut cut = st.added.card.public.clone();
        cut.pop();
        assert!(matches!(
            st.v1.with_records(&[st.added.card.public.clone(), cut]),
            Err(BundleError::NewRecord {
                position: 2,
                source: RecordError::Truncated { .. }
            })
        ));
        let twice = vec![st.added.card.public.clone(); 2];
        assert!(matches!(
            st.v1.with_records(&twice),
            Err(BundleError::DuplicateRecord(i)) if i == st.added.index()
        ));
        // nothing given: the same bundle
        assert_eq!(st.v1.with_records(&[]).unwrap(), st.v1);
    }

    #[test]
    fn cards_are_checked_against_the_bundle() {
        let st = story();
        let v2 = st.v2();
        for card in &st.enrolled {
            st.v1.check_card_record(card).unwrap();
            v2.check_card_record(card).unwrap();
        }
        v2.check_card_record(&st.added.card.record).unwrap();
        for r in &st.added.refreshed {
            v2.check_card_record(&r.record).unwrap();
        }

        let e = st.v1.check_card_record(&st.added.card.record).unwrap_err();
        assert!(
            matches!(e, BundleError::CardNewer { card: 2, bundle: 1 }),
            "{e}"
        );
        assert!(e.to_string().contains("the bundle is out of date"), "{e}");
        let e = v2.check_card_record(&st.stranger.record).unwrap_err();
        assert!(matches!(&e, BundleError::CardOtherSet { card, bundle }
            if *card == hex::encode(st.stranger.record.set_id) && *bundle == v2.set_id));
        let mut rekeyed = st.enrolled[1].clone();
        rekeyed.custodians[1].card_key = st.spare_key;
        let e = v2.check_card_record(&rekeyed).unwrap_err();
        assert!(
            matches!(&e, BundleError::CardKeyDiffers { index: 2, card, .. }
                if *card == st.spare_key.fingerprint()),
            "{e}"
        );
        let mut recommitted = st.enrolled[2].clone();
        recommitted.custodians[2].commitment[0] ^= 1;
        assert!(matches!(
            v2.check_card_record(&recommitted),
            Err(BundleError::CardCommitmentDiffers { index: 3 })
        ));
        // the fork's new card drew another index, which the bundle does not list (with the
        // smallest unused index both branches would have issued the same one)
        let fork_index = st.fork.index();
        assert_ne!(fork_index, st.added.index());
        assert!(matches!(
            v2.check_card_record(&st.fork.card.record),
            Err(BundleError::CardNotListed { index, version: 2 }) if index == fork_index
        ));
        // the fork's refreshed card 1 has its own entry right, but not the custodian list
        assert!(matches!(
            v2.check_card_record(&st.fork.refreshed[0].record),
            Err(BundleError::CardDisagrees {
                index: 1,
                field: SetField::Custodians,
                card_version: 2,
                bundle_version: 2
            })
        ));
        let mut relabelled = st.enrolled[0].clone();
        relabelled.label.push('!');
        assert!(matches!(
            v2.check_card_record(&relabelled),
            Err(BundleError::CardDisagrees {
                field: SetField::Label,
                ..
            })
        ));
        let mut lost = st.enrolled[0].clone();
        lost.index = 9;
        assert!(matches!(
            v2.check_card_record(&lost),
            Err(BundleError::CardRecord(RecordError::IndexNotListed(9)))
        ));
        // a card index the bundle does not list, at a version the bundle has
        let mut unlisted = st.added.card.record.clone();
        unlisted.custodians[3].index = 7;
        unlisted.index = 7;
        assert!(matches!(
            v2.check_card_record(&unlisted),
            Err(BundleError::CardNotListed {
                index: 7,
                version: 2
            })
        ));
    }

    #[test]
    fn truncated_bundles_are_refused_as_truncated() {
        let json = bundle().0.to_json();
        for cut in [0, 1, json.len() / 3, json.len() - 3] {
            assert!(
                matches!(
                    Bundle::parse(&json[..cut]),
                    Err(BundleError::Truncated { .. })
                ),
                "cut at {cut}"
            );
        }
        let err = Bundle::parse(&json[..json.len() / 2]).unwrap_err();
        assert!(err.to_string().contains("truncated"), "{err}");
    }

    fn newest_digest(b: &Bundle) -> String {
        b.newest_record().unwrap().set_digest().to_hex()
    }

    #[test]
    fn earlier_formats_are_named_as_such() {
        let (good, _) = bundle();
        let mut two: serde_json::Value = serde_json::from_str(&good.to_json()).unwrap();
        two["format"] = "quorum-bundle/2".into();
        let e = Bundle::parse(&two.to_string()).unwrap_err();
        assert!(
            matches!(&e, BundleError::OldFormat(f) if f == "quorum-bundle/2"),
            "{e}"
        );
        let mut old: serde_json::Value = serde_json::from_str(&good.to_json()).unwrap();
        old["format"] = "quorum-bundle/1".into();
        for c in old["custodians"].as_array_mut().unwrap() {
            c.as_object_mut().unwrap().remove("commitment");
        }
        for r in old["records"].as_array_mut().unwrap() {
            r.as_object_mut().unwrap().remove("set_version");
        }
        let e = Bundle::parse(&old.to_string()).unwrap_err();
        assert!(matches!(e, BundleError::OldFormat(_)), "{e}");
        let msg = e.to_string();
        assert!(msg.contains("earlier quorumctl"), "{msg}");
        assert!(msg.contains("use the quorumctl that wrote it"), "{msg}");
        // without the format tag, the same document is simply not a bundle
        old.as_object_mut().unwrap().remove("format");
        assert!(matches!(
            Bundle::parse(&old.to_string()),
            Err(BundleError::Json(_))
        ));
    }

    #[test]
    fn corrupted_bundles_name_what_is_wrong() {
        let (good, _) = bundle();
        let parse = |f: &dyn Fn(&mut Bundle)| {
            let mut b = good.clone();
            f(&mut b);
            Bundle::parse(&b.to_json()).unwrap_err()
        };
        assert!(matches!(
            Bundle::parse("{\"format\": 1}"),
            Err(BundleError::Json(_))
        ));
        assert!(matches!(
            parse(&|b| b.format = "quorum-bundle/4".into()),
            BundleError::Format(f) if f == "quorum-bundle/4"
        ));
        assert!(matches!(parse(&|b| b.records.clear()), BundleError::Empty));
        for damage in ["x", "xy", "0"] {
            assert!(matches!(
                parse(&|b| b.records[1].public.push_str(damage)),
                BundleError::Hex(2)
            ));
        }
        assert!(matches!(
            parse(&|b| {
                let n = b.records[0].public.len();
                b.records[0].public.truncate(n - 2)
            }),
            BundleError::Record {
                index: 1,
                source: RecordError::Truncated { .. }
            }
        ));
        assert!(matches!(
            parse(&|b| b.records[2].index = 1),
            BundleError::DuplicateRecord(1)
        ));
        assert!(matches!(
            parse(&|b| b.records[2].index = 2),
            BundleError::DuplicateRecord(2)
        ));
        assert!(matches!(
            parse(&|b| {
                b.records[0].index = 2;
                b.records[1].index = 1;
            }),
            BundleError::Inconsistent(m) if m.contains("filed as 2")
        ));
        let e = parse(&|b| b.records[0].index = 9);
        assert!(
            matches!(
                e,
                BundleError::NotListed {
                    index: 9,
                    version: 1
                }
            ),
            "{e}"
        );
        assert!(e.to_string().contains("lists no such custodian"));
        let e = parse(&|b| b.records[1].set_version = 2);
        assert!(
            matches!(
                e,
                BundleError::RecordVersion {
                    index: 2,
                    filed: 2,
                    actual: 1
                }
            ),
            "{e}"
        );
        // One record's wrapped master altered: the records no longer describe one set.
        let e = parse(&|b| {
            let r = &mut b.records[2].public;
            let at = r.len() - 2 * (8 + 32) - 1;
            let digit = if &r[at..=at] == "0" { "1" } else { "0" };
            r.replace_range(at..=at, digit);
        });
        assert!(
            matches!(&e, BundleError::Inconsistent(m) if m.contains("wrapped master")),
            "{e}"
        );
        // One record's MAC altered: the same version with two MACs.
        let e = parse(&|b| {
            let r = &mut b.records[2].public;
            let last = r.pop().unwrap();
            r.push(if last == '0' { '1' } else { '0' });
        });
        assert!(
            matches!(&e, BundleError::Inconsistent(m) if m.contains("description MAC")),
            "{e}"
        );
        // The summary's digest, key check or MAC edited.
        for (edit, field) in [
            (
                &(|b: &mut Bundle| b.set_digest = "00".repeat(32)) as &dyn Fn(&mut Bundle),
                "set digest",
            ),
            (
                &|b: &mut Bundle| b.key_check = "00".repeat(8),
                "key check value",
            ),
            (
                &|b: &mut Bundle| b.description_mac = "00".repeat(32),
                "description MAC",
            ),
        ] {
            let e = parse(edit);
            assert!(
                matches!(&e, BundleError::Inconsistent(m) if m.contains(field)),
                "{e}"
            );
        }
        // A record of another set in the place of custodian 2's.
        let mut rng = ChaCha20Rng::seed_from_u64(5);
        let (_, people) = setup(3, &mut rng);
        let other = enroll(&[0x42; 32], 2, "root-ca", &people, &mut rng).unwrap();
        let e = parse(&|b| b.records[1].public = hex::encode(&other.cards[1].public));
        assert!(
            matches!(&e, BundleError::Inconsistent(m) if m.contains("set id")),
            "{e}"
        );
        let summary_field = |f: &dyn Fn(&mut Bundle)| match parse(f) {
            BundleError::Inconsistent(m) => m,
            other => panic!("expected an inconsistency, got {other}"),
        };
        assert!(summary_field(&|b| b.label = "root-cb".into()).contains("label"));
        assert!(summary_field(&|b| b.threshold = 3).contains("threshold"));
        assert!(summary_field(&|b| b.set_version = 2).contains("set version"));
        assert!(summary_field(&|b| b.set_id = "00".repeat(16)).contains("set id"));
        assert!(
            summary_field(&|b| b.custodians[1].fingerprint = "0000-0000-0000-0000".into())
                .contains("fingerprint of custodian 2")
        );
        assert!(summary_field(&|b| b.custodians[1].name = "mallory".into())
            .contains("name of custodian 2"));
        assert!(
            summary_field(&|b| b.custodians[2].card_key = "11".repeat(32))
                .contains("card key of custodian 3")
        );
        let m = summary_field(&|b| {
            let c = &mut b.custodians[0].commitment;
            let first = if c.starts_with('0') { "1" } else { "0" };
            c.replace_range(..1, first);
        });
        assert!(m.contains("commitment of custodian 1"), "{m}");
        assert!(m.contains("use an intact copy"), "{m}");
        assert!(summary_field(&|b| b.custodians.swap(0, 1)).contains("custodian list"));
        assert!(summary_field(&|b| {
            b.custodians.pop();
        })
        .contains("custodian count"));
        assert!(
            summary_field(&|b| b.wrapped_master.nonce = "00".repeat(12)).contains("wrapped master")
        );
    }

    /// The valid bundle the fuzzing starts from, as characters (it holds a non-ASCII name).
    fn valid_chars() -> &'static [char] {
        static CHARS: std::sync::OnceLock<Vec<char>> = std::sync::OnceLock::new();
        CHARS.get_or_init(|| bundle().0.to_json().chars().collect())
    }

    /// What a parse result must be: a bundle that writes back to itself, or an error that says something.
    fn typed_outcome(result: Result<Bundle, BundleError>) -> Result<(), TestCaseError> {
        match result {
            Ok(b) => prop_assert_eq!(Bundle::parse(&b.to_json()).unwrap(), b),
            Err(e) => prop_assert!(!e.to_string().is_empty()),
        }
        Ok(())
    }

    /// One edit of a JSON text: overwrite, delete or insert a character.
    #[derive(Debug, Clone)]
    enum Edit {
        Put(prop::sample::Index, char),
        Cut(prop::sample::Index, usize),
        Insert(prop::sample::Index, char),
    }

    fn edit() -> impl Strategy<Value = Edit> {
        let ch = prop::sample::select(
            "0123456789abcdefx\"{}[],:- .\\é\u{7}"
                .chars()
                .collect::<Vec<char>>(),
        );
        prop_oneof![
            (any::<prop::sample::Index>(), ch.clone()).prop_map(|(i, c)| Edit::Put(i, c)),
            (any::<prop::sample::Index>(), 1usize..40).prop_map(|(i, n)| Edit::Cut(i, n)),
            (any::<prop::sample::Index>(), ch).prop_map(|(i, c)| Edit::Insert(i, c)),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(128))]

        /// Any text at all parses to a bundle or a typed error, never a panic.
        #[test]
        fn arbitrary_text_never_panics(text in any::<String>(), shaped in "[{}\\[\\]\",:0-9a-z_/ ]{0,300}") {
            typed_outcome(Bundle::parse(&text))?;
            typed_outcome(Bundle::parse(&shaped))?;
        }

        /// A valid bundle with a few characters changed parses to a bundle or a typed error, never a panic.
        #[test]
        fn mutated_bundles_never_panic(edits in prop::collection::vec(edit(), 1..6)) {
            let mut chars = valid_chars().to_vec();
            for e in edits {
                match e {
                    Edit::Put(i, c) => {
                        let at = i.index(chars.len());
                        chars[at] = c;
                    }
                    Edit::Cut(i, n) => {
                        let at = i.index(chars.len());
                        chars.drain(at..(at + n).min(chars.len()));
                    }
                    Edit::Insert(i, c) => {
                        let at = i.index(chars.len() + 1);
                        chars.insert(at, c);
                    }
                }
                if chars.is_empty() {
                    break;
                }
            }
            let text: String = chars.into_iter().collect();
            typed_outcome(Bundle::parse(&text))?;
        }
    }
}
