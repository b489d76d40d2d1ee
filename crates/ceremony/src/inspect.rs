//! Looking at readers and cards without any PIN: what is where, and in which state.

use std::fmt;

use quorum_card::card::CardError;
use quorum_card::readers::Readers;
use quorum_card::transport::TransportError;
use quorum_protocol::apdu::{LifeCycle, ProtocolVersion};
use quorum_protocol::crypto::{KeyCheck, SetDigest};
use quorum_protocol::record::PublicRecord;

use super::{identify, presence::open_card, CeremonyError};

/// One reader and what is in it.
#[derive(Debug, Clone)]
pub struct ReaderReport {
    /// The reader's name.
    pub reader: String,
    /// The reader has a keypad quorum can use (PC/SC Part 10 VERIFY PIN DIRECT); `None`
    /// when the reader did not say (its driver refused a direct connection).
    pub pinpad: Option<bool>,
    /// What was found.
    pub card: Found,
}

/// What a reader holds.
#[derive(Debug, Clone)]
pub enum Found {
    /// No card.
    Empty,
    /// A card without the quorum applet.
    NoApplet,
    /// A card that could not be read; the reason.
    Unreadable(String),
    /// A quorum card.
    Quorum(CardSummary),
}

/// A quorum card's public information.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct CardSummary {
    /// Life-cycle state.
    #[serde(serialize_with = "state_name")]
    pub state: LifeCycle,
    /// The PIN is blocked.
    pub blocked: bool,
    /// Wrong PIN entries left.
    pub tries_left: u8,
    /// The PIN retry limit.
    pub retry_limit: u8,
    /// Record capacity in bytes.
    pub capacity: u16,
    /// The key's fingerprint (personalised and enrolled cards).
    pub fingerprint: Option<String>,
    /// The set this card belongs to (enrolled cards whose public record is at hand).
    pub set: Option<SetMembership>,
    /// A quorum-applet card: the protocol version its SELECT answered, which names the
    /// applet's release (`None` for an OpenPGP card, whose version is in `openpgp`).
    #[serde(serialize_with = "version_text")]
    pub applet_protocol: Option<ProtocolVersion>,
    /// An OpenPGP card: what it is (`None` for a quorum-applet card).
    pub openpgp: Option<Box<OpenPgpSummary>>,
    /// An enrolled OpenPGP card whose public record is in its set's bundle: the share its
    /// header names (apdu-spec/openpgp.md).
    pub share_in_bundle: Option<Box<ShareInBundle>>,
}

/// What an OpenPGP card is, as `readers` and `status` show it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct OpenPgpSummary {
    /// The manufacturer, by name when the spec's list knows it, else its number.
    pub manufacturer: String,
    /// The card's serial number, hex.
    pub serial: String,
    /// The OpenPGP application's version.
    pub version: String,
    /// The decryption key's touch policy, on a card with a button (a YubiKey's `D7`): with
    /// one, every share opened waits for the custodian's touch.
    #[serde(serialize_with = "touch_name")]
    pub touch: Option<quorum_protocol::openpgp::TouchPolicy>,
}

/// A touch policy as the JSON output names it.
fn touch_name<S: serde::Serializer>(
    touch: &Option<quorum_protocol::openpgp::TouchPolicy>,
    s: S,
) -> Result<S::Ok, S::Error> {
    use quorum_protocol::openpgp::TouchPolicy;
    match touch {
        None => s.serialize_none(),
        Some(TouchPolicy::Off) => s.serialize_str("off"),
        Some(TouchPolicy::On) => s.serialize_str("on"),
        Some(TouchPolicy::Fixed) => s.serialize_str("fixed"),
        Some(TouchPolicy::Cached) => s.serialize_str("cached"),
        Some(TouchPolicy::CachedFixed) => s.serialize_str("cached_fixed"),
        Some(TouchPolicy::Unknown(b)) => s.serialize_str(&format!("unknown_{b:02x}")),
    }
}

/// A protocol version as the JSON output shows it: "1.1".
fn version_text<S: serde::Serializer>(
    version: &Option<ProtocolVersion>,
    s: S,
) -> Result<S::Ok, S::Error> {
    match version {
        None => s.serialize_none(),
        Some(v) => s.collect_str(v),
    }
}

/// The share an OpenPGP card's header names, when its public record is not at hand.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ShareInBundle {
    /// The set id, hex.
    pub set_id: String,
    /// The set version.
    pub set_version: u16,
    /// The card's share index.
    pub index: u8,
}

/// Which set a card's record belongs to, and its place in it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SetMembership {
    /// Set label.
    pub label: String,
    /// Set id, hex.
    pub set_id: String,
    /// Set version.
    pub set_version: u16,
    /// This card's share index.
    pub index: u8,
    /// n.
    pub threshold: u8,
    /// m.
    pub count: usize,
    /// The custodian's name.
    pub custodian: String,
    /// The set digest people compare with the ceremony minutes.
    #[serde(serialize_with = "as_text")]
    pub digest: SetDigest,
    /// The master's key check value, as the set description holds it.
    #[serde(serialize_with = "as_text")]
    pub key_check: KeyCheck,
}

/// A life-cycle state as the spec names it, for serialised summaries.
fn state_name<S: serde::Serializer>(state: &LifeCycle, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(state.name())
}

/// Serialises a value that has no serde form of its own (a digest, a key check, a set
/// mismatch, APDU counts) as the text it displays as, so that typed reports still serialise.
pub(crate) fn as_text<S: serde::Serializer>(
    value: &impl fmt::Display,
    s: S,
) -> Result<S::Ok, S::Error> {
    s.collect_str(value)
}

impl SetMembership {
    /// Extracts what a person needs to recognise a set from a card's public record.
    pub fn from_record(record: &PublicRecord) -> SetMembership {
        SetMembership {
            label: record.label.clone(),
            set_id: hex::encode(record.set_id),
            set_version: record.set_version,
            index: record.index,
            threshold: record.threshold,
            count: record.custodians.len(),
            custodian: record
                .custodian(record.index)
                .map(|c| c.name.clone())
                .unwrap_or_default(),
            digest: record.set_digest(),
            key_check: record.key_check,
        }
    }
}

impl fmt::Display for SetMembership {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "set \"{}\" ({}-of-{}, id {}), {}",
            self.label,
            self.threshold,
            self.count,
            self.set_id,
            crate::share::custodian_label(self.index, &self.custodian)
        )
    }
}

impl fmt::Display for CardSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(card) = &self.openpgp {
            write!(
                f,
                "OpenPGP card {} (serial {}, version {}{}), ",
                card.manufacturer,
                card.serial,
                card.version,
                match card.touch {
                    None | Some(quorum_protocol::openpgp::TouchPolicy::Off) => "",
                    Some(_) => ", decryption needs a touch",
                }
            )?;
        }
        write!(f, "{}", self.state.name())?;
        if self.blocked {
            write!(f, ", PIN BLOCKED")?;
        } else if self.state != LifeCycle::Blank {
            write!(
                f,
                ", PIN tries left {}/{}",
                self.tries_left, self.retry_limit
            )?;
        }
        if let Some(fp) = &self.fingerprint {
            write!(f, ", card {fp}")?;
        }
        if let Some(set) = &self.set {
            write!(f, ", {set}")?;
        }
        if let Some(share) = &self.share_in_bundle {
            write!(
                f,
                ", share {} of set {} version {} (its public record is in the set's bundle)",
                share.index, share.set_id, share.set_version
            )?;
        }
        Ok(())
    }
}

impl fmt::Display for Found {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Found::Empty => write!(f, "no card"),
            Found::NoApplet => write!(f, "a card without the quorum applet"),
            Found::Unreadable(why) => write!(f, "card not readable: {why}"),
            Found::Quorum(summary) if summary.openpgp.is_some() => write!(f, "{summary}"),
            Found::Quorum(summary) => write!(f, "quorum card: {summary}"),
        }
    }
}

/// Every reader pcscd knows, by name, with whether it has a keypad and what is in it.
pub fn list_readers(ctx: &dyn Readers, trace: bool) -> Result<Vec<ReaderReport>, CeremonyError> {
    let mut readers = ctx.readers()?;
    if readers.is_empty() {
        return Err(TransportError::NoReaders.into());
    }
    readers.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(readers
        .into_iter()
        .map(|info| {
            let card = if !info.card_present {
                Found::Empty
            } else {
                match summarize(ctx, &info.name, trace) {
                    Ok(summary) => Found::Quorum(summary),
                    Err(CeremonyError::Card {
                        source: CardError::AppletNotFound,
                        ..
                    }) => Found::NoApplet,
                    Err(e) => Found::Unreadable(e.to_string()),
                }
            };
            let pinpad = ctx
                .reader_features(&info.name)
                .ok()
                .map(|f| f.pinpad().is_some());
            ReaderReport {
                reader: info.name,
                pinpad,
                card,
            }
        })
        .collect())
}

/// One card's public information: SELECT, GET STATUS and, when enrolled, its public record.
pub fn summarize(
    ctx: &dyn Readers,
    reader: &str,
    trace: bool,
) -> Result<CardSummary, CeremonyError> {
    let mut card = open_card(ctx, reader, trace)?;
    let id = identify(&mut card, reader)?;
    let (mut set, mut share_in_bundle) = (None, None);
    if id.status.state == LifeCycle::Enrolled {
        match card.get_record_public() {
            Ok(public) => set = Some(SetMembership::from_record(&PublicRecord::decode(&public)?)),
            Err(CardError::RecordInBundle {
                set_id,
                set_version,
                index,
            }) => {
                share_in_bundle = Some(Box::new(ShareInBundle {
                    set_id: hex::encode(set_id),
                    set_version,
                    index,
                }))
            }
            Err(e) => return Err(CeremonyError::card(reader, e)),
        }
    }
    let openpgp = card.openpgp().map(|facts| {
        Box::new(OpenPgpSummary {
            manufacturer: facts
                .aid
                .manufacturer_name()
                .map(str::to_owned)
                .unwrap_or_else(|| format!("manufacturer {:04X}", facts.aid.manufacturer)),
            serial: facts.aid.serial_hex(),
            version: format!("{}.{}", facts.aid.version.major, facts.aid.version.minor),
            touch: facts.touch,
        })
    });
    Ok(CardSummary {
        applet_protocol: openpgp.is_none().then_some(id.select.version),
        openpgp,
        share_in_bundle,
        state: id.status.state,
        blocked: id.status.blocked,
        tries_left: id.status.tries_left,
        retry_limit: id.status.retry_limit,
        capacity: id.status.capacity,
        fingerprint: id.key.map(|k| k.fingerprint()),
        set,
    })
}

/// One card's public record, read without a PIN.
pub struct PublicPart {
    /// The reader it is in.
    pub reader: String,
    /// The public part as stored.
    pub public: Vec<u8>,
    /// The same, decoded.
    pub record: PublicRecord,
}

/// The public records of the enrolled cards in `readers` (others are named in `skipped`),
/// so a bundle can be written again from the cards alone.
pub fn read_public_parts(
    ctx: &dyn Readers,
    readers: &[String],
    trace: bool,
) -> Result<(Vec<PublicPart>, Vec<String>), CeremonyError> {
    let mut parts = Vec::new();
    let mut skipped = Vec::new();
    for reader in readers {
        let mut card = open_card(ctx, reader, trace)?;
        let read = card.select().map_err(|e| e.to_string()).and_then(|info| {
            if info.state != LifeCycle::Enrolled {
                return Err(format!("holds no record (state: {})", info.state.name()));
            }
            let public = card.get_record_public().map_err(|e| e.to_string())?;
            let record = PublicRecord::decode(&public)
                .map_err(|e| format!("its record is unreadable: {e}"))?;
            Ok((public, record))
        });
        match read {
            Ok((public, record)) => parts.push(PublicPart {
                reader: reader.clone(),
                public,
                record,
            }),
            Err(why) => skipped.push(format!("card in \"{reader}\": {why}")),
        }
    }
    Ok((parts, skipped))
}

/// A set's bundle rebuilt from the public records of the cards present (export-bundle).
pub struct Exported {
    /// The bundle of the chosen set, its newest version first in mind.
    pub bundle: quorum_protocol::bundle::Bundle,
    /// The cards whose records it holds.
    pub used: Vec<PublicPart>,
    /// The cards left out, each with why (no record, unreadable, another set).
    pub skipped: Vec<String>,
    /// Custodians whose cards were not read (an OpenPGP card never holds its record) and
    /// whose records were rebuilt from a record read of the version their card holds, since
    /// the records of one set version differ only in the card's index byte.
    pub rebuilt: Vec<u8>,
}

/// Reads the public records in `readers` and rebuilds the bundle of set `set_id` (or of the
/// first card's set when none is named), naming every card left out; no PIN is asked.
pub fn export_bundle(
    ctx: &dyn Readers,
    readers: &[String],
    set_id: Option<[u8; 16]>,
    trace: bool,
) -> Result<Exported, CeremonyError> {
    if readers.is_empty() {
        return Err(CeremonyError::NoCards);
    }
    let (parts, mut skipped) = read_public_parts(ctx, readers, trace)?;
    let wanted = set_id.or(parts.first().map(|p| p.record.set_id));
    let (used, others): (Vec<PublicPart>, Vec<PublicPart>) = parts
        .into_iter()
        .partition(|p| Some(p.record.set_id) == wanted);
    skipped.extend(others.iter().map(|p| {
        format!(
            "card in \"{}\": belongs to another {}",
            p.reader,
            SetMembership::from_record(&p.record)
        )
    }));
    if used.is_empty() {
        return Err(CeremonyError::NoCardOfSet {
            set_id: set_id.map(hex::encode),
            skipped,
        });
    }
    let mut publics: Vec<Vec<u8>> = used.iter().map(|p| p.public.clone()).collect();
    let newest = used
        .iter()
        .map(|p| &p.record)
        .max_by_key(|r| r.set_version)
        .expect("at least one card of the set was read");
    // A card holds the record of the version that added its custodian (version 1 lists the
    // enrolled custodians, each later version appended one); that record can be rebuilt
    // from any record of the same version read, whose description and MAC it shares.
    let enrolled = newest.enrolled_count();
    let mut rebuilt = Vec::new();
    for (position, custodian) in newest.custodians.iter().enumerate() {
        let version = if position < enrolled {
            1
        } else {
            (position - enrolled + 2) as u16
        };
        let read = |index: u8| {
            used.iter()
                .any(|p| p.record.index == index && p.record.set_version == version)
        };
        if read(custodian.index) {
            continue;
        }
        let Some(model) = used
            .iter()
            .map(|p| &p.record)
            .find(|r| r.set_version == version)
        else {
            continue;
        };
        let record = quorum_protocol::record::PublicRecord {
            index: custodian.index,
            ..model.clone()
        };
        publics.push(record.encode().map_err(|e| {
            CeremonyError::CardsBundle(quorum_protocol::bundle::BundleError::NewRecord {
                position: publics.len() + 1,
                source: e,
            })
        })?);
        rebuilt.push(custodian.index);
    }
    let bundle = quorum_protocol::bundle::Bundle::from_publics(&publics)
        .map_err(CeremonyError::CardsBundle)?;
    Ok(Exported {
        bundle,
        used,
        skipped,
        rebuilt,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::in_memory_kit::*;
    use quorum_card::memory::MemoryReaders;

    fn names(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("Reader {i}")).collect()
    }

    #[test]
    fn readers_are_listed_by_name_with_whether_they_have_a_keypad() {
        let readers = MemoryReaders::new(&["Zeta 00", "Alpha 01", "Mid 02"]);
        let listed = list_readers(&readers, false).unwrap();
        let order: Vec<&str> = listed.iter().map(|r| r.reader.as_str()).collect();
        assert_eq!(order, ["Alpha 01", "Mid 02", "Zeta 00"]);
        // in-memory readers have no reader controls, so no keypad
        assert!(listed.iter().all(|r| r.pinpad == Some(false)));
    }

    #[test]
    fn export_rebuilds_the_set_s_bundle_and_names_every_card_left_out() {
        let set = EnrolledSet::new(2, 2, "vault");
        let fresh = fresh_cards(1);
        let cards = [set.cards[0].clone(), fresh[0].clone(), set.cards[1].clone()];
        let readers = MemoryReaders::with_cards(&cards);
        let exported = export_bundle(&readers, &names(3), None, false).unwrap();
        assert_eq!(exported.used.len(), 2);
        assert_eq!(exported.bundle.records.len(), 2);
        assert_eq!(exported.skipped.len(), 1, "{:?}", exported.skipped);
        assert!(
            exported.skipped[0].starts_with("card in \"Reader 1\": holds no record"),
            "{:?}",
            exported.skipped
        );
        assert_eq!(pin_checks(&cards), 0, "no PIN is asked");
    }

    #[test]
    fn export_from_the_quorum_cards_of_a_mixed_set_rebuilds_the_openpgp_cards_records() {
        let set = MixedSet::new("mixed");
        // Only the applet cards are read: the OpenPGP cards hold no record anyway.
        let readers = MemoryReaders::with_cards(&set.applets);
        let exported = export_bundle(&readers, &names(3), None, false).unwrap();
        assert_eq!(exported.used.len(), 3);
        assert_eq!(exported.rebuilt.len(), 2);
        let expected = set.bundle();
        assert_eq!(
            exported.bundle.decoded_records().unwrap(),
            expected.decoded_records().unwrap(),
            "the rebuilt bundle holds exactly the enrollment's records"
        );
        for index in &exported.rebuilt {
            assert!(
                set.openpgp.iter().any(|c| set
                    .record_of(*index)
                    .custodian(*index)
                    .unwrap()
                    .card_key
                    == openpgp_key(c)),
                "custodian {index} is an OpenPGP card"
            );
        }
    }

    #[test]
    fn export_of_a_set_no_card_holds_is_refused_with_the_cards_seen() {
        let set = EnrolledSet::new(1, 1, "vault");
        let readers = MemoryReaders::with_cards(&set.cards);
        let other = [0x5a; 16];
        let Err(e) = export_bundle(&readers, &names(1), Some(other), false) else {
            panic!("no card holds that set");
        };
        match e {
            CeremonyError::NoCardOfSet { set_id, skipped } => {
                assert_eq!(set_id, Some(hex::encode(other)));
                assert_eq!(skipped.len(), 1);
                assert!(skipped[0].contains("belongs to another"), "{skipped:?}");
            }
            e => panic!("{e}"),
        }
        assert!(matches!(
            export_bundle(&readers, &[], None, false),
            Err(CeremonyError::NoCards)
        ));
    }

    #[test]
    fn a_one_card_command_takes_the_only_card_or_asks_which() {
        let cards = fresh_cards(2);
        let readers = MemoryReaders::new(&["Pad A", "Pad B"]);
        assert!(matches!(
            crate::choose_reader(&readers, None),
            Err(CeremonyError::NoCards)
        ));
        readers.insert("Pad B", &cards[0]);
        assert_eq!(crate::choose_reader(&readers, None).unwrap(), "Pad B");
        readers.insert("Pad A", &cards[1]);
        match crate::choose_reader(&readers, None) {
            Err(CeremonyError::WhichCard(with_card)) => {
                assert_eq!(with_card, ["Pad A", "Pad B"])
            }
            other => panic!("{:?}", other.err()),
        }
        assert_eq!(crate::choose_reader(&readers, Some("b")).unwrap(), "Pad B");
        assert!(matches!(
            crate::choose_reader(&readers, Some("Pad")),
            Err(CeremonyError::AmbiguousReader { .. })
        ));
    }
}
