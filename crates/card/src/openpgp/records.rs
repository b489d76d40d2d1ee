//! [`RecordSource`]: the public records a host knows, for the OpenPGP cards that do not
//! store theirs (apdu-spec/openpgp.md, "The public record lives in the bundle"), and for
//! the protocol 1.3 applet cards whose public digest vouches for one (select.md), which
//! then need no GET RECORD.

use std::cell::{OnceCell, RefCell};
use std::fmt;
use std::rc::Rc;

use sha2::{Digest, Sha256};

use quorum_protocol::apdu::RecordHeader;
use quorum_protocol::bundle::{Bundle, BundleError};
use quorum_protocol::openpgp::QuorumHeader;
use quorum_protocol::record::{PublicRecord, RecordDecoder, RecordError};

/// One known public record: decoded for the header check, and its bytes as written
/// (encoded from the record when first asked for: a set of applet cards never asks).
struct Entry {
    record: PublicRecord,
    bytes: OnceCell<Vec<u8>>,
}

/// The public records a ceremony knows (a bundle's, or the ones an enrollment is writing),
/// shared by every OpenPGP card of the ceremony: cloning it shares, it does not copy.
///
/// Single-threaded like the ceremonies that hold cards as `Box<dyn CustodianCard>`.
#[derive(Clone, Default)]
pub struct RecordSource {
    entries: Rc<RefCell<Vec<Entry>>>,
    /// Decodes each set version's description once (a large set's keys are validated once).
    decoder: Rc<RefCell<RecordDecoder>>,
}

impl fmt::Debug for RecordSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let entries = self.entries.borrow();
        let mut list = f.debug_list();
        for e in entries.iter() {
            list.entry(&format_args!(
                "{} v{} #{}",
                hex::encode(e.record.set_id),
                e.record.set_version,
                e.record.index
            ));
        }
        list.finish()
    }
}

impl RecordSource {
    /// An empty source: an OpenPGP card's public record is then unknown until one is added.
    pub fn new() -> RecordSource {
        RecordSource::default()
    }

    /// Every record of a set's bundle, checked as the bundle files them (index, version).
    pub fn from_bundle(bundle: &Bundle) -> Result<RecordSource, BundleError> {
        Ok(RecordSource::from_records(&bundle.decoded_records()?))
    }

    /// The records given (a bundle's, already read and checked by the caller). The first of
    /// each set version is encoded at once, so that applet cards can be judged on it; any
    /// other of that version differs only in its index (or is an edit that a card's digest
    /// will not match), and is encoded only if an OpenPGP card asks for it.
    pub fn from_records(records: &[PublicRecord]) -> RecordSource {
        let source = RecordSource::new();
        for record in records {
            let bytes = OnceCell::new();
            let mut decoder = source.decoder.borrow_mut();
            if !decoder.knows(&record.set_id, record.set_version) {
                if let Ok(encoded) = record.encode() {
                    decoder.remember(&encoded, record);
                    let _ = bytes.set(encoded);
                }
            }
            source.keep(record.clone(), bytes);
        }
        source
    }

    /// The public part an applet card holds and its decoding, when the public digest of its
    /// SELECT header is that of a known part with the card's index (select.md): the card
    /// then holds exactly these bytes. `None`: the card's own part must be read.
    pub fn vouched(&self, header: &RecordHeader) -> Option<(Vec<u8>, PublicRecord)> {
        let digest = header.public_digest?;
        let (bytes, record) =
            self.decoder
                .borrow()
                .at_index(&header.set_id, header.set_version, header.index)?;
        (Sha256::digest(&bytes)[..] == digest[..]).then_some((bytes, record))
    }

    /// Decodes a public part read from an applet card, against the known ones (a part of a
    /// known set version is not decoded again), and keeps its description for the cards
    /// to come; it is not filed for OpenPGP cards.
    pub fn decode(&self, public: &[u8]) -> Result<PublicRecord, RecordError> {
        self.decoder.borrow_mut().decode(public)
    }

    /// Adds (or replaces) the record of its set id, version and index; returns it decoded.
    pub fn add(&self, public: &[u8]) -> Result<PublicRecord, RecordError> {
        let record = self.decoder.borrow_mut().decode(public)?;
        self.keep(record.clone(), OnceCell::from(public.to_vec()));
        Ok(record)
    }

    /// Files `record`, whose encoding is `bytes` (if known), in its place.
    fn keep(&self, record: PublicRecord, bytes: OnceCell<Vec<u8>>) {
        let mut entries = self.entries.borrow_mut();
        entries.retain(|e| !same_place(&e.record, &record));
        entries.push(Entry { record, bytes });
    }

    /// The bytes of the record a card's header names (set id, version, index and set digest).
    pub fn find(&self, header: &QuorumHeader) -> Option<Vec<u8>> {
        let entries = self.entries.borrow();
        let entry = entries.iter().find(|e| header.names(&e.record))?;
        if let Some(bytes) = entry.bytes.get() {
            return Some(bytes.clone());
        }
        // A record that decoded encodes again (the bundle's records were decoded).
        let bytes = entry.record.encode().ok()?;
        Some(entry.bytes.get_or_init(|| bytes).clone())
    }

    /// How many records the source holds.
    pub fn len(&self) -> usize {
        self.entries.borrow().len()
    }

    /// Whether the source holds no record (a ceremony without a bundle).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Whether two records fill the same place: one set, one version, one index.
fn same_place(a: &PublicRecord, b: &PublicRecord) -> bool {
    (a.set_id, a.set_version, a.index) == (b.set_id, b.set_version, b.index)
}
