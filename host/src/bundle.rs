//! The bundle file: the public description of an enrolled set, for audit and as a spare
//! copy of what every card already holds. It contains no secret.

use std::fmt;
use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::crypto::hpke::TAG_LEN;
use crate::record::{PublicRecord, RecordError};
use crate::secret_io::{write_private_file, SecretIoError};
use crate::sharing::{check_same_set, Enrollment, SetMismatch};

/// Format tag of version 1 bundles.
pub const BUNDLE_FORMAT: &str = "quorum-bundle/1";

/// Largest bundle file read: 255 records of the largest size, in hex, fit with room to spare.
pub const MAX_BUNDLE_BYTES: u64 = 32 << 20;

/// The JSON document written at enrollment.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Bundle {
    /// Always [`BUNDLE_FORMAT`].
    pub format: String,
    /// Set id, hex.
    pub set_id: String,
    /// Set version.
    pub set_version: u16,
    /// Set label.
    pub label: String,
    /// Shares needed (n).
    pub threshold: u8,
    /// The custodians (m of them).
    pub custodians: Vec<BundleCustodian>,
    /// The master secret under the DEK: nonce and ciphertext, hex.
    pub wrapped_master: BundleWrapped,
    /// Each card's public record as stored on the card, hex.
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
    /// The public part, hex.
    pub public: String,
}

/// Why a bundle could not be read or written.
#[derive(Debug, Error)]
pub enum BundleError {
    /// Not JSON of the expected shape.
    #[error("the bundle is not a valid quorum bundle: {0}")]
    Json(#[from] serde_json::Error),
    /// Another format version.
    #[error("the bundle has format \"{0}\", this quorumctl reads \"{BUNDLE_FORMAT}\"")]
    Format(String),
    /// A record inside is malformed.
    #[error("record {index} in the bundle is malformed: {source}")]
    Record {
        /// Its index.
        index: u8,
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
    /// The bundle has no records.
    #[error("the bundle holds no record")]
    Empty,
    /// Writing failed.
    #[error(transparent)]
    Io(#[from] SecretIoError),
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
}

impl From<SetMismatch> for BundleError {
    fn from(m: SetMismatch) -> Self {
        BundleError::Inconsistent(m.to_string())
    }
}

impl Bundle {
    /// Describes a finished enrollment.
    pub fn from_enrollment(enrollment: &Enrollment) -> Bundle {
        let first = &enrollment.cards[0].record;
        Bundle::from_records(
            first,
            enrollment
                .cards
                .iter()
                .map(|c| (c.index(), c.public.as_slice())),
        )
    }

    fn from_records<'a>(
        first: &PublicRecord,
        records: impl Iterator<Item = (u8, &'a [u8])>,
    ) -> Bundle {
        Bundle {
            format: BUNDLE_FORMAT.to_owned(),
            set_id: hex::encode(first.set_id),
            set_version: first.set_version,
            label: first.label.clone(),
            threshold: first.threshold,
            custodians: first
                .custodians
                .iter()
                .map(|c| BundleCustodian {
                    index: c.index,
                    name: c.name.clone(),
                    fingerprint: c.card_key.fingerprint(),
                    card_key: hex::encode(c.card_key.to_x25519()),
                })
                .collect(),
            wrapped_master: BundleWrapped {
                nonce: hex::encode(first.wrapped.nonce),
                ciphertext: hex::encode(&first.wrapped.ct),
            },
            records: records
                .map(|(index, public)| BundleRecord {
                    index,
                    public: hex::encode(public),
                })
                .collect(),
        }
    }

    /// Parses a bundle and checks that its records decode, agree, and match its summary.
    pub fn parse(json: &str) -> Result<Bundle, BundleError> {
        let bundle: Bundle = serde_json::from_str(json).map_err(|e| {
            if e.is_eof() {
                BundleError::Truncated {
                    line: e.line(),
                    column: e.column(),
                }
            } else {
                BundleError::Json(e)
            }
        })?;
        if bundle.format != BUNDLE_FORMAT {
            return Err(BundleError::Format(bundle.format));
        }
        for (i, r) in bundle.records.iter().enumerate() {
            if bundle.records[..i].iter().any(|e| e.index == r.index) {
                return Err(BundleError::DuplicateRecord(r.index));
            }
        }
        let records = bundle.decoded_records()?;
        let first = records.first().ok_or(BundleError::Empty)?;
        for r in &records {
            check_same_set(first, r)?;
        }
        let rebuilt =
            Bundle::from_records(first, bundle.records.iter().map(|r| (r.index, &[][..])));
        if let Some(field) = summary_difference(&rebuilt, &bundle) {
            return Err(BundleError::Inconsistent(format!(
                "its {field} does not match what its records say"
            )));
        }
        Ok(bundle)
    }

    /// Reads and parses a bundle file (see [`Bundle::parse`]), refusing files no bundle could be.
    pub fn read(path: &Path) -> Result<Bundle, BundleError> {
        let read_err = |source| BundleError::Read {
            path: path.to_path_buf(),
            source,
        };
        let file = File::open(path).map_err(read_err)?;
        let len = file.metadata().map_err(read_err)?.len();
        if len > MAX_BUNDLE_BYTES {
            return Err(BundleError::TooLarge {
                path: path.to_path_buf(),
                len,
            });
        }
        let mut text = String::new();
        file.take(MAX_BUNDLE_BYTES)
            .read_to_string(&mut text)
            .map_err(read_err)?;
        Bundle::parse(&text)
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
            count: self.custodians.len(),
            custodians: self
                .custodians
                .iter()
                .map(|c| CustodianSummary {
                    index: c.index,
                    name: c.name.clone(),
                    fingerprint: c.fingerprint.clone(),
                    card_key: c.card_key.clone(),
                    record: self.records.iter().any(|r| r.index == c.index),
                })
                .collect(),
            wrapped_master: WrappedSummary {
                ciphertext_bytes,
                master_bytes: ciphertext_bytes.saturating_sub(TAG_LEN),
            },
            records: self.records.iter().map(|r| r.index).collect(),
        }
    }

    /// The records, decoded; each must carry the index the bundle files it under.
    pub fn decoded_records(&self) -> Result<Vec<PublicRecord>, BundleError> {
        self.records
            .iter()
            .map(|r| {
                let bytes = hex::decode(&r.public).map_err(|_| BundleError::Hex(r.index))?;
                let record =
                    PublicRecord::decode(&bytes).map_err(|source| BundleError::Record {
                        index: r.index,
                        source,
                    })?;
                if record.index != r.index {
                    return Err(BundleError::Inconsistent(format!(
                        "record filed as {} is custodian {}'s",
                        r.index, record.index
                    )));
                }
                Ok(record)
            })
            .collect()
    }

    /// Pretty JSON with a final newline.
    pub fn to_json(&self) -> String {
        let mut s = serde_json::to_string_pretty(self).expect("a bundle always serialises");
        s.push('\n');
        s
    }

    /// Writes the bundle (never over an existing file unless `force`).
    pub fn write(&self, path: &Path, force: bool) -> Result<(), BundleError> {
        write_private_file(path, self.to_json().as_bytes(), force)?;
        Ok(())
    }
}

/// The first summary field of `given` that differs from the one rebuilt from its records.
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
    } else if rebuilt.custodians.len() != given.custodians.len() {
        "custodian count"
    } else {
        let (r, g) = rebuilt
            .custodians
            .iter()
            .zip(&given.custodians)
            .find(|(r, g)| r != g)?;
        return Some(if r.index != g.index {
            format!(
                "custodian list (custodian {} where {} is expected)",
                g.index, r.index
            )
        } else {
            format!("entry for custodian {}", g.index)
        });
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
    /// Set version.
    pub set_version: u16,
    /// Shares needed (n).
    pub threshold: u8,
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
    /// The bundle holds this card's public record.
    pub record: bool,
}

/// How big the wrapped master is, so an auditor can tell a 32-byte key from an RSA key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct WrappedSummary {
    /// Ciphertext with its tag, in bytes.
    pub ciphertext_bytes: usize,
    /// The master secret's length: the ciphertext less the 16-byte tag.
    pub master_bytes: usize,
}

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
            "Wrapped master: {} bytes (a {}-byte secret and its 16-byte tag)",
            self.wrapped_master.ciphertext_bytes, self.wrapped_master.master_bytes
        )?;
        writeln!(f, "Custodians:")?;
        for c in &self.custodians {
            writeln!(
                f,
                "  {:>3}  {}  {:<10}  \"{}\"",
                c.index,
                c.fingerprint,
                if c.record { "record" } else { "no record" },
                c.name
            )?;
        }
        write!(
            f,
            "Records:        {} of {} cards' public records",
            self.records.len(),
            self.count
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::CardKey;
    use crate::log::tests::TempDir;
    use crate::sharing::{enroll, NewCustodian};
    use curve25519_dalek::montgomery::MontgomeryPoint;
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

    #[test]
    fn a_written_bundle_reads_back_and_summarises() {
        let (b, keys) = bundle();
        let dir = TempDir::new("bundle");
        let path = dir.0.join("root-ca.quorum.json");
        b.write(&path, false).unwrap();
        let read = Bundle::read(&path).unwrap();
        assert_eq!(read, b);
        let s = read.summary();
        assert_eq!(
            (s.label.as_str(), s.threshold, s.count, s.set_version),
            ("root-ca", 2, 3, 1)
        );
        assert_eq!(s.set_id, b.set_id);
        assert_eq!(s.records, vec![1, 2, 3]);
        assert_eq!(
            s.wrapped_master,
            WrappedSummary {
                ciphertext_bytes: 48,
                master_bytes: 32
            }
        );
        for (c, k) in s.custodians.iter().zip(&keys) {
            assert_eq!(c.fingerprint, k.fingerprint());
            assert_eq!(c.card_key, hex::encode(k.to_x25519()));
            assert!(c.record);
        }
        let text = s.to_string();
        assert!(text.contains("\"root-ca\" (2-of-3), version 1"));
        assert!(text.contains(&format!("{}  record      \"chloé\"", keys[2].fingerprint())));
        assert!(text.contains("3 of 3"));
        let json: serde_json::Value = serde_json::from_str(&s.to_json()).unwrap();
        assert_eq!(json["custodians"][1]["name"], "bob");
        assert_eq!(json["custodians"][1]["record"], true);
        assert_eq!(json["wrapped_master"]["master_bytes"], 32);
        assert_eq!(json["set_id"], b.set_id.as_str());
    }

    #[test]
    fn a_bundle_missing_a_record_says_which() {
        let (mut b, _) = bundle();
        b.records.remove(1);
        let s = Bundle::parse(&b.to_json()).unwrap().summary();
        assert_eq!(s.records, vec![1, 3]);
        let present: Vec<bool> = s.custodians.iter().map(|c| c.record).collect();
        assert_eq!(present, [true, false, true]);
        assert!(s.to_string().contains("no record"));
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
        let dir = TempDir::new("bundle");
        let path = dir.0.join("cut.json");
        std::fs::write(&path, &json[..json.len() / 2]).unwrap();
        let err = Bundle::read(&path).unwrap_err();
        assert!(err.to_string().contains("truncated"), "{err}");
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
            parse(&|b| b.format = "quorum-bundle/2".into()),
            BundleError::Format(f) if f == "quorum-bundle/2"
        ));
        assert!(matches!(parse(&|b| b.records.clear()), BundleError::Empty));
        assert!(matches!(
            parse(&|b| b.records[1].public.push('x')),
            BundleError::Hex(2)
        ));
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
        let mut swapped = good.clone();
        swapped.records[0].index = 9;
        assert!(matches!(
            Bundle::parse(&swapped.to_json()),
            Err(BundleError::Inconsistent(m)) if m.contains("filed as 9")
        ));
        // One record's wrapped master altered: the records no longer describe one set.
        let e = parse(&|b| {
            let r = &mut b.records[2].public;
            let last = r.pop().unwrap();
            r.push(if last == '0' { '1' } else { '0' });
        });
        assert!(
            matches!(&e, BundleError::Inconsistent(m) if m.contains("wrapped master")),
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
                .contains("entry for custodian 2")
        );
        assert!(summary_field(&|b| b.custodians[1].name = "mallory".into()).contains("custodian 2"));
        assert!(summary_field(&|b| {
            b.custodians.pop();
        })
        .contains("custodian count"));
        assert!(
            summary_field(&|b| b.wrapped_master.nonce = "00".repeat(12)).contains("wrapped master")
        );
    }

    #[test]
    fn files_no_bundle_could_be_are_refused_unread() {
        let dir = TempDir::new("bundle");
        let path = dir.0.join("huge.json");
        File::create(&path)
            .unwrap()
            .set_len(MAX_BUNDLE_BYTES + 1)
            .unwrap();
        assert!(matches!(
            Bundle::read(&path),
            Err(BundleError::TooLarge { len, .. }) if len == MAX_BUNDLE_BYTES + 1
        ));
        assert!(matches!(
            Bundle::read(&dir.0.join("absent.json")),
            Err(BundleError::Read { .. })
        ));
    }
}
