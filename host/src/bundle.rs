//! The bundle file: the public description of an enrolled set, for audit and as a spare
//! copy of what every card already holds. It contains no secret.

use std::path::Path;

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::record::{PublicRecord, RecordError};
use crate::secret_io::{write_private_file, SecretIoError};
use crate::sharing::{check_same_set, Enrollment, SetMismatch};

/// Format tag of version 1 bundles.
pub const BUNDLE_FORMAT: &str = "quorum-bundle/1";

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
        let bundle: Bundle = serde_json::from_str(json)?;
        if bundle.format != BUNDLE_FORMAT {
            return Err(BundleError::Format(bundle.format));
        }
        let records = bundle.decoded_records()?;
        let first = records.first().ok_or(BundleError::Empty)?;
        for r in &records {
            check_same_set(first, r)?;
        }
        let rebuilt =
            Bundle::from_records(first, bundle.records.iter().map(|r| (r.index, &[][..])));
        if rebuilt.custodians != bundle.custodians
            || rebuilt.set_id != bundle.set_id
            || rebuilt.label != bundle.label
            || rebuilt.threshold != bundle.threshold
            || rebuilt.set_version != bundle.set_version
            || rebuilt.wrapped_master != bundle.wrapped_master
        {
            return Err(BundleError::Inconsistent(
                "the summary fields do not match the records".to_owned(),
            ));
        }
        Ok(bundle)
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
