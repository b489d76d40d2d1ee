//! What a ceremony may say about itself in the log. Every field is a public identifier
//! built from a public type or checked against the shape of one (a fingerprint, a set
//! id, a label, a command name, an error message, the name of a person the operator gave
//! as an option, a tool and protocol version), so no PIN, master, DEK or share can end up
//! in the log by mistake: there is no field that takes arbitrary bytes.

use std::error::Error;

use serde::{Deserialize, Serialize};

use quorum_protocol::crypto::{CardKey, KeyCheck, SetDigest};
use quorum_protocol::record::{PublicRecord, MAX_LABEL_LEN, SET_ID_LEN};

use super::LogError;

/// Longest logged error message, in bytes; longer ones are cut on a character boundary.
pub const MAX_MESSAGE_LEN: usize = 1000;
/// Longest command name, in bytes.
pub const MAX_COMMAND_LEN: usize = 32;
/// Longest operator or witness name, in bytes (format 4).
pub const MAX_NAME_LEN: usize = 64;
/// Most witnesses one line names (format 4): a room, not a crowd; it also bounds the line.
pub const MAX_WITNESSES: usize = 32;
/// Longest tool version (`quorumctl/0.1.0`), in bytes (format 4).
pub const MAX_TOOL_LEN: usize = 64;

/// One ceremony as the log records it; append it with [`super::Log::append`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The subcommand ("init", "enroll", ...): a compile-time name, lowercase letters, digits and dashes.
    pub command: &'static str,
    /// The set the ceremony worked on, when known.
    pub set: Option<SetRef>,
    /// The check value of the master the ceremony held (enroll, recover, add-card, reshare), when it held one.
    pub key_check: Option<KeyCheck>,
    /// Every card the ceremony touched, with what happened to it.
    pub cards: Vec<CardEntry>,
    /// How the ceremony ended.
    pub outcome: Outcome,
    /// Which quorumctl and protocol wrote the line, and who ran and watched the ceremony.
    pub provenance: Provenance,
}

/// A person the log names as operator or witness, as given: 1 to [`MAX_NAME_LEN`] bytes
/// of UTF-8 without control characters (the minutes are printed and read aloud).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PersonName(String);

impl PersonName {
    /// Accepts a name of 1 to 64 bytes with no control character; refuses anything else.
    pub fn parse(text: &str) -> Result<PersonName, LogError> {
        if text.is_empty() || text.len() > MAX_NAME_LEN || text.chars().any(char::is_control) {
            return Err(LogError::BadName(
                text.chars()
                    .take(80)
                    .map(|c| if c.is_control() { ' ' } else { c })
                    .collect(),
            ));
        }
        Ok(PersonName(text.to_owned()))
    }

    /// The name as given.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for PersonName {
    type Error = LogError;
    fn try_from(s: String) -> Result<Self, LogError> {
        PersonName::parse(&s)
    }
}

impl From<PersonName> for String {
    fn from(n: PersonName) -> String {
        n.0
    }
}

/// Where a line comes from (format 4): the tool and protocol versions that wrote it, so an
/// auditor knows which rules it followed, and the people who ran and watched the ceremony,
/// so the line is the minutes' own record of them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Provenance {
    tool: String,
    protocol: String,
    operator: Option<PersonName>,
    witnesses: Vec<PersonName>,
}

impl Provenance {
    /// Checks the shapes: `tool` is `name/version` (printable ASCII, no space, at most 64
    /// bytes), `protocol` is `major.minor`; at most [`MAX_WITNESSES`] witnesses, none twice.
    pub fn new(
        tool: &str,
        protocol: &str,
        operator: Option<PersonName>,
        witnesses: Vec<PersonName>,
    ) -> Result<Provenance, LogError> {
        let tool_ok = !tool.is_empty()
            && tool.len() <= MAX_TOOL_LEN
            && tool.bytes().all(|b| b.is_ascii_graphic())
            && tool
                .split_once('/')
                .is_some_and(|(name, version)| !name.is_empty() && !version.is_empty());
        if !tool_ok {
            return Err(LogError::BadTool(tool.chars().take(80).collect()));
        }
        let protocol_ok = protocol.split_once('.').is_some_and(|(major, minor)| {
            [major, minor]
                .iter()
                .all(|n| (1..=3).contains(&n.len()) && n.bytes().all(|b| b.is_ascii_digit()))
        });
        if !protocol_ok {
            return Err(LogError::BadProtocol(protocol.chars().take(80).collect()));
        }
        if witnesses.len() > MAX_WITNESSES {
            return Err(LogError::TooManyWitnesses(witnesses.len()));
        }
        for (i, w) in witnesses.iter().enumerate() {
            if witnesses[..i].contains(w) {
                return Err(LogError::WitnessTwice(w.clone()));
            }
        }
        Ok(Provenance {
            tool: tool.to_owned(),
            protocol: protocol.to_owned(),
            operator,
            witnesses,
        })
    }

    /// The tool and its version, `name/version`.
    pub fn tool(&self) -> &str {
        &self.tool
    }

    /// The card protocol version the tool speaks, `major.minor`.
    pub fn protocol(&self) -> &str {
        &self.protocol
    }

    /// Who ran the ceremony, when given.
    pub fn operator(&self) -> Option<&PersonName> {
        self.operator.as_ref()
    }

    /// Who watched it, in the order given.
    pub fn witnesses(&self) -> &[PersonName] {
        &self.witnesses
    }
}

/// A set as the log names it: id and label, both public, either possibly unknown yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetRef {
    id: Option<[u8; SET_ID_LEN]>,
    label: Option<String>,
    digest: Option<SetDigest>,
}

impl SetRef {
    /// Names the set a card's public record belongs to: the usual way to log a set.
    pub fn from_record(record: &PublicRecord) -> SetRef {
        SetRef {
            id: Some(record.set_id),
            label: Some(record.label.clone()),
            digest: Some(record.set_digest()),
        }
    }

    /// Names a set whose id or label only is known (an enrollment that failed before the id was drawn).
    pub fn new(id: Option<[u8; SET_ID_LEN]>, label: Option<&str>) -> Result<SetRef, LogError> {
        if let Some(label) = label {
            if label.is_empty()
                || label.len() > MAX_LABEL_LEN
                || label.chars().any(char::is_control)
            {
                return Err(LogError::BadLabel(label.chars().take(80).collect()));
            }
        }
        Ok(SetRef {
            id,
            label: label.map(str::to_owned),
            digest: None,
        })
    }

    /// Names a set from the hex id and label a ceremony report shows (`SetMembership`).
    pub fn from_hex(id_hex: &str, label: &str) -> Result<SetRef, LogError> {
        let id = hex::decode(id_hex)
            .ok()
            .and_then(|b| <[u8; SET_ID_LEN]>::try_from(b).ok())
            .ok_or_else(|| LogError::BadSetId(id_hex.chars().take(80).collect()))?;
        SetRef::new(Some(id), Some(label))
    }

    /// The set id, when known.
    pub fn id(&self) -> Option<&[u8; SET_ID_LEN]> {
        self.id.as_ref()
    }

    /// The label, when known.
    pub fn label(&self) -> Option<&str> {
        self.label.as_deref()
    }

    /// The set digest, when known.
    pub fn digest(&self) -> Option<&SetDigest> {
        self.digest.as_ref()
    }

    /// The same set with its digest, so the log line carries what people compare.
    pub fn with_digest(mut self, digest: SetDigest) -> SetRef {
        self.digest = Some(digest);
        self
    }
}

/// A card's fingerprint, the only way the log names a card.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Fingerprint(String);

impl Fingerprint {
    /// The fingerprint of a card key.
    pub fn of(key: &CardKey) -> Fingerprint {
        Fingerprint(key.fingerprint())
    }

    /// Accepts a fingerprint as ceremony reports carry it: `xxxx-xxxx-xxxx-xxxx`, lowercase hex.
    pub fn parse(text: &str) -> Result<Fingerprint, LogError> {
        let ok = text.len() == 19
            && text.bytes().enumerate().all(|(i, b)| {
                if i % 5 == 4 {
                    b == b'-'
                } else {
                    b.is_ascii_digit() || (b'a'..=b'f').contains(&b)
                }
            });
        if ok {
            Ok(Fingerprint(text.to_owned()))
        } else {
            Err(LogError::BadFingerprint(text.chars().take(80).collect()))
        }
    }

    /// The text form.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Fingerprint {
    type Error = LogError;
    fn try_from(s: String) -> Result<Self, LogError> {
        Fingerprint::parse(&s)
    }
}

impl From<Fingerprint> for String {
    fn from(f: Fingerprint) -> String {
        f.0
    }
}

/// What happened to one card in a ceremony.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CardOutcome {
    /// The command did its work with this card (personalised, written, share used, reset).
    Ok,
    /// The card was seen and deliberately left out (another set, a duplicate, not needed).
    Skipped,
    /// The card refused or failed (wrong PIN, blocked, I/O error).
    Failed,
    /// Format 3: in a `started` line, a card about to be written; in the last line of a
    /// ceremony that did not finish, a card it meant to write but never confirmed written
    /// (a card pulled out at the very moment of its commit may hold the new record).
    Pending,
}

/// One card and its outcome.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CardEntry {
    /// Which card.
    pub fingerprint: Fingerprint,
    /// What happened to it.
    pub outcome: CardOutcome,
}

/// How a ceremony ended, or that it is about to change cards.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// It did what was asked.
    Ok,
    /// It stopped; why.
    Failed(Message),
    /// It is about to write the set named to the cards listed (written before the first
    /// card write, so that the log knows the set even if the ceremony never ends).
    Started,
    /// The operator stopped it (Ctrl-C, SIGTERM); where things stood.
    Interrupted(Message),
}

impl Outcome {
    /// The outcome of a command's result: its error message, if any, is the logged reason.
    pub fn of<T, E: Error>(result: &Result<T, E>) -> Outcome {
        match result {
            Ok(_) => Outcome::Ok,
            Err(e) => Outcome::Failed(Message::from_error(e)),
        }
    }
}

/// A failure reason: only ever an error's own message, which by the house rules never
/// holds a secret; control characters are replaced and the length is capped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message(String);

impl Message {
    /// The error's message followed by those of its causes that it does not already include.
    pub fn from_error(error: &(dyn Error + '_)) -> Message {
        let mut text = error.to_string();
        let mut source = error.source();
        while let Some(s) = source {
            let s_text = s.to_string();
            if !text.contains(&s_text) {
                text.push_str(": ");
                text.push_str(&s_text);
            }
            source = s.source();
        }
        let mut clean: String = text
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect();
        if clean.len() > MAX_MESSAGE_LEN {
            let mut cut = MAX_MESSAGE_LEN - '…'.len_utf8();
            while !clean.is_char_boundary(cut) {
                cut -= 1;
            }
            clean.truncate(cut);
            clean.push('…');
        }
        Message(clean)
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Whether a command name has the documented shape: `[a-z][a-z0-9-]*`, at most 32 bytes.
pub(super) fn valid_command(name: &str) -> bool {
    let b = name.as_bytes();
    !b.is_empty()
        && b.len() <= MAX_COMMAND_LEN
        && b[0].is_ascii_lowercase()
        && b.iter()
            .all(|&c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'-')
}

#[cfg(test)]
mod tests {
    use super::*;
    use curve25519_dalek::montgomery::MontgomeryPoint;
    use proptest::prelude::*;
    use quorum_protocol::mutation::any_mutation;

    #[derive(Debug, thiserror::Error)]
    #[error("card in \"Reader 1\": the card refused the PIN\n(2 tries left)")]
    struct Outer(#[source] Inner);
    #[derive(Debug, thiserror::Error)]
    #[error("status 63C2")]
    struct Inner;

    #[test]
    fn fingerprints_are_checked_for_shape() {
        let key =
            CardKey::from_x25519(&MontgomeryPoint::mul_base_clamped([7; 32]).to_bytes()).unwrap();
        let fp = Fingerprint::of(&key);
        assert_eq!(Fingerprint::parse(fp.as_str()).unwrap(), fp);
        for bad in [
            "",
            "a1b2c3d4e5f60718",
            "A1B2-C3D4-E5F6-0718",
            "a1b2-c3d4-e5f6-071g",
            "a1b2-c3d4-e5f6-07180",
            "(blank, no key yet)",
        ] {
            assert!(
                matches!(Fingerprint::parse(bad), Err(LogError::BadFingerprint(_))),
                "{bad:?} accepted"
            );
        }
    }

    #[test]
    fn set_refs_take_only_set_shaped_values() {
        let s = SetRef::from_hex(&"ab".repeat(16), "root-ca").unwrap();
        assert_eq!(s.id(), Some(&[0xab; 16]));
        assert_eq!(s.label(), Some("root-ca"));
        assert!(matches!(
            SetRef::from_hex("abcd", "root-ca"),
            Err(LogError::BadSetId(_))
        ));
        assert!(matches!(
            SetRef::new(None, Some("")),
            Err(LogError::BadLabel(_))
        ));
        assert!(matches!(
            SetRef::new(None, Some(&"x".repeat(65))),
            Err(LogError::BadLabel(_))
        ));
        assert!(matches!(
            SetRef::new(None, Some("a\nb")),
            Err(LogError::BadLabel(_))
        ));
        assert_eq!(SetRef::new(None, Some("ok")).unwrap().id(), None);
    }

    #[test]
    fn messages_come_from_errors_cleaned_and_capped() {
        let m = Message::from_error(&Outer(Inner));
        assert_eq!(
            m.as_str(),
            "card in \"Reader 1\": the card refused the PIN (2 tries left): status 63C2"
        );
        let r: Result<(), Outer> = Err(Outer(Inner));
        assert_eq!(Outcome::of(&r), Outcome::Failed(m));
        assert_eq!(Outcome::of(&Ok::<u8, Outer>(1)), Outcome::Ok);

        #[derive(Debug, thiserror::Error)]
        #[error("{0}")]
        struct Long(String);
        let long = Message::from_error(&Long("é".repeat(MAX_MESSAGE_LEN)));
        assert!(long.as_str().len() <= MAX_MESSAGE_LEN);
        assert!(long.as_str().ends_with('…'));
    }

    #[test]
    fn people_and_versions_are_taken_only_in_shape() {
        let name = |t: &str| PersonName::parse(t).unwrap();
        assert_eq!(name("Zoë Ångström 王").as_str(), "Zoë Ångström 王");
        assert_eq!(name(&"é".repeat(32)).as_str().len(), MAX_NAME_LEN);
        for bad in [
            "",
            "Ada\nLovelace",
            "tab\there",
            &"x".repeat(65),
            &"é".repeat(33),
        ] {
            assert!(
                matches!(PersonName::parse(bad), Err(LogError::BadName(_))),
                "{bad:?}"
            );
        }
        let p = Provenance::new(
            "quorumctl/0.1.0",
            "1.1",
            Some(name("Ada")),
            vec![name("Bob"), name("Cy")],
        )
        .unwrap();
        assert_eq!((p.tool(), p.protocol()), ("quorumctl/0.1.0", "1.1"));
        assert_eq!(p.operator().map(PersonName::as_str), Some("Ada"));
        assert_eq!(p.witnesses().len(), 2);
        assert!(matches!(
            Provenance::new("quorumctl/0.1.0", "1.1", None, vec![name("Bob"), name("Bob")]),
            Err(LogError::WitnessTwice(w)) if w.as_str() == "Bob"
        ));
        let many: Vec<PersonName> = (0..=MAX_WITNESSES)
            .map(|i| name(&format!("w{i}")))
            .collect();
        assert!(matches!(
            Provenance::new("quorumctl/0.1.0", "1.1", None, many),
            Err(LogError::TooManyWitnesses(33))
        ));
        for tool in ["", "quorumctl", "quorumctl 0.1", "/0.1", "quorumctl/"] {
            assert!(
                matches!(
                    Provenance::new(tool, "1.1", None, vec![]),
                    Err(LogError::BadTool(_))
                ),
                "{tool}"
            );
        }
        for protocol in ["", "1", "1.", "v1.1", "1.1.1", "1234.1"] {
            assert!(
                matches!(
                    Provenance::new("q/1", protocol, None, vec![]),
                    Err(LogError::BadProtocol(_))
                ),
                "{protocol}"
            );
        }
    }

    #[test]
    fn command_names() {
        for ok in ["init", "enroll", "reset-card", "add-card2"] {
            assert!(valid_command(ok), "{ok}");
        }
        for bad in [
            "",
            "Enroll",
            "-x",
            "enroll now",
            "1init",
            "a".repeat(33).as_str(),
        ] {
            assert!(!valid_command(bad), "{bad}");
        }
    }

    /// A fingerprint as quorumctl shows it, from any 8 bytes.
    fn fingerprint_text(bytes: [u8; 8]) -> String {
        let h = hex::encode(bytes);
        format!("{}-{}-{}-{}", &h[..4], &h[4..8], &h[8..12], &h[12..])
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        /// Any text offered as a fingerprint, set id or label is taken only in its documented
        /// shape; a refusal never panics and quotes at most 80 characters of the input.
        #[test]
        fn identifiers_are_taken_only_in_shape(text in any::<String>(), id in "[0-9a-fA-F]{0,40}") {
            match Fingerprint::parse(&text) {
                Ok(fp) => {
                    prop_assert_eq!(fp.as_str(), &text);
                    prop_assert_eq!(fingerprint_text(hex::decode(text.replace('-', "")).unwrap().try_into().unwrap()), text.clone());
                }
                Err(LogError::BadFingerprint(quoted)) => prop_assert!(quoted.chars().count() <= 80),
                Err(other) => prop_assert!(false, "unexpected error {}", other),
            }
            match SetRef::new(None, Some(&text)) {
                Ok(set) => {
                    prop_assert_eq!(set.label(), Some(text.as_str()));
                    prop_assert!(!text.is_empty() && text.len() <= MAX_LABEL_LEN && !text.chars().any(char::is_control));
                }
                Err(LogError::BadLabel(quoted)) => prop_assert!(quoted.chars().count() <= 80),
                Err(other) => prop_assert!(false, "unexpected error {}", other),
            }
            for candidate in [&id, &text] {
                match SetRef::from_hex(candidate, "label") {
                    Ok(set) => prop_assert_eq!(set.id().map(hex::encode), Some(candidate.to_ascii_lowercase())),
                    Err(LogError::BadSetId(quoted)) => prop_assert!(quoted.chars().count() <= 80),
                    Err(other) => prop_assert!(false, "unexpected error {}", other),
                }
            }
        }

        /// Damaged fingerprints (a changed, added or removed byte) are refused unless still well formed.
        #[test]
        fn damaged_fingerprints_are_refused(fp: [u8; 8], m in any_mutation()) {
            let good = fingerprint_text(fp);
            let bad = m.apply(good.as_bytes());
            let Ok(text) = String::from_utf8(bad) else { return Ok(()); };
            let well_formed = text.len() == 19
                && text.char_indices().all(|(i, c)| if i % 5 == 4 { c == '-' } else { matches!(c, '0'..='9' | 'a'..='f') });
            prop_assert_eq!(Fingerprint::parse(&text).is_ok(), well_formed);
        }

        /// Any error text becomes a logged message without control characters, within the cap, cut on a character boundary.
        #[test]
        fn any_error_text_becomes_a_clean_capped_message(text in any::<String>(), repeat in 1usize..400) {
            #[derive(Debug, thiserror::Error)]
            #[error("{0}")]
            struct AnyText(String);
            let long = text.repeat(repeat);
            let m = Message::from_error(&AnyText(long.clone()));
            prop_assert!(m.as_str().len() <= MAX_MESSAGE_LEN);
            prop_assert!(!m.as_str().chars().any(char::is_control));
            if long.len() <= MAX_MESSAGE_LEN {
                prop_assert_eq!(m.as_str().chars().count(), long.chars().count());
            } else {
                prop_assert!(m.as_str().ends_with('…'));
            }
        }
    }
}
