//! The bytes of one log line and its hash, written and checked here only, so that the
//! writer and the verifier cannot drift apart. Format: apdu-spec/log-format.md.
//!
//! A line is one compact JSON object ending in `,"hash":"H"}` and a newline, where H is
//! the hex SHA-256 of every byte of the line before `,"hash":"`. The hash is over the
//! exact bytes written, never over a re-serialisation, so there is nothing to canonicalise.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::entry::{valid_command, CardEntry, Entry, Outcome, PersonName};
use super::{LogError, Problem, MAX_LINE_LEN};

/// The string whose SHA-256 is the `prev` of line 1; it also names the format version.
pub const GENESIS: &str = "quorum-log/4 genesis";

/// The format version this quorumctl writes (named by [`GENESIS`]).
pub const FORMAT: u8 = 4;

/// The genesis string of format 3 (no `tool`, `protocol`, `operator` or `witnesses`): such
/// a log is still read and verified, but nothing is appended to it.
pub const FORMAT_3_GENESIS: &str = "quorum-log/3 genesis";

/// The genesis string of format 2 (no `started` or `interrupted` outcomes, no `pending`
/// cards): such a log is still read and verified, but nothing is appended to it.
pub const FORMAT_2_GENESIS: &str = "quorum-log/2 genesis";

/// The genesis string of format 1 (no set digest, no key check), named so such a log gets a precise error.
pub const OLD_GENESIS: &str = "quorum-log/1 genesis";

/// What separates a line's hashed content from its hash.
const HASH_KEY: &str = ",\"hash\":\"";
/// Hex digits of a SHA-256.
pub(super) const HASH_HEX_LEN: usize = 64;

/// The `prev` of the first line: hex SHA-256 of [`GENESIS`].
pub fn genesis_hash() -> String {
    hex::encode(Sha256::digest(GENESIS.as_bytes()))
}

/// The `prev` of the first line of a format 3 log.
pub fn format_3_genesis_hash() -> String {
    hex::encode(Sha256::digest(FORMAT_3_GENESIS.as_bytes()))
}

/// The `prev` of the first line of a format 2 log.
pub fn format_2_genesis_hash() -> String {
    hex::encode(Sha256::digest(FORMAT_2_GENESIS.as_bytes()))
}

/// The `prev` of the first line of a format 1 log.
pub fn old_genesis_hash() -> String {
    hex::encode(Sha256::digest(OLD_GENESIS.as_bytes()))
}

/// Whether text is a hash as the log writes it: 64 lowercase hex digits.
pub(super) fn is_hash(text: &str) -> bool {
    text.len() == HASH_HEX_LEN
        && text
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// How a ceremony ended, as written in the `outcome` field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OutcomeKind {
    /// `"ok"`.
    Ok,
    /// `"failed"`, with a `message`.
    Failed,
    /// `"started"` (format 3): written before a ceremony's first card write, naming the set
    /// and the cards about to be written; its own end follows as another line.
    Started,
    /// `"interrupted"` (format 3), with a `message`: the operator stopped the ceremony.
    Interrupted,
}

/// The fields before `hash`, in the order they are written.
#[derive(Serialize)]
struct Body<'a> {
    seq: u64,
    time: &'a str,
    command: &'a str,
    operator: Option<&'a PersonName>,
    witnesses: &'a [PersonName],
    tool: &'a str,
    protocol: &'a str,
    set_id: Option<String>,
    set_label: Option<&'a str>,
    set_digest: Option<String>,
    key_check: Option<String>,
    cards: &'a [CardEntry],
    outcome: OutcomeKind,
    message: Option<&'a str>,
    prev: &'a str,
}

/// One line as read back from the file, for the verifier and for anyone reading the log.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "RawLine")]
pub struct LogLine {
    /// Position in the chain, 1 for the first line.
    pub seq: u64,
    /// When the line was written, RFC 3339 UTC.
    pub time: String,
    /// The quorumctl subcommand.
    pub command: String,
    /// Format 4: who wrote the line and with what; `None` in a line of format 2 or 3.
    pub provenance: Option<LineProvenance>,
    /// The set's id in hex, when known.
    pub set_id: Option<String>,
    /// The set's label, when known.
    pub set_label: Option<String>,
    /// The set digest in hex (64 digits), when known.
    pub set_digest: Option<String>,
    /// The master's key check value in hex (16 digits), when the ceremony held the master.
    pub key_check: Option<String>,
    /// The cards the ceremony touched.
    pub cards: Vec<CardEntry>,
    /// How it ended.
    pub outcome: OutcomeKind,
    /// Why it failed (only with `failed`).
    pub message: Option<String>,
    /// Hash of the previous line (the genesis hash for line 1).
    pub prev: String,
    /// Hash of this line's bytes before `,"hash":"`.
    pub hash: String,
}

/// The format 4 keys of a line as read back: they are all there, or (format 2 or 3) none.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineProvenance {
    /// The operator, when one was given.
    pub operator: Option<String>,
    /// The witnesses, in the order given (none: empty).
    pub witnesses: Vec<String>,
    /// The tool and its version, `quorumctl/0.1.0`.
    pub tool: String,
    /// The card protocol version the tool spoke, `1.1`.
    pub protocol: String,
}

/// A line as parsed, before the format 4 keys are checked to be all there or all absent.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLine {
    seq: u64,
    time: String,
    command: String,
    #[serde(default, deserialize_with = "present")]
    operator: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    witnesses: Option<Option<Vec<String>>>,
    #[serde(default, deserialize_with = "present")]
    tool: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    protocol: Option<Option<String>>,
    set_id: Option<String>,
    set_label: Option<String>,
    set_digest: Option<String>,
    key_check: Option<String>,
    cards: Vec<CardEntry>,
    outcome: OutcomeKind,
    message: Option<String>,
    prev: String,
    hash: String,
}

/// A key that may be null: `Some(None)` when it is there with null, `None` when absent.
fn present<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

impl TryFrom<RawLine> for LogLine {
    type Error = String;
    fn try_from(r: RawLine) -> Result<LogLine, String> {
        let provenance = match (r.operator, r.witnesses, r.tool, r.protocol) {
            (Some(operator), Some(Some(witnesses)), Some(Some(tool)), Some(Some(protocol))) => Some(LineProvenance {
                operator,
                witnesses,
                tool,
                protocol,
            }),
            (None, None, None, None) => None,
            _ => {
                return Err(
                    "it has some of the keys operator, witnesses, tool and protocol but not all, or a null where a string or list belongs"
                        .to_owned(),
                )
            }
        };
        Ok(LogLine {
            seq: r.seq,
            time: r.time,
            command: r.command,
            provenance,
            set_id: r.set_id,
            set_label: r.set_label,
            set_digest: r.set_digest,
            key_check: r.key_check,
            cards: r.cards,
            outcome: r.outcome,
            message: r.message,
            prev: r.prev,
            hash: r.hash,
        })
    }
}

/// Writes an entry as line `seq` after a line whose hash is `prev`; returns the line (with its newline) and its hash.
pub(super) fn build(
    entry: &Entry,
    seq: u64,
    time: &str,
    prev: &str,
) -> Result<(String, String), LogError> {
    if !valid_command(entry.command) {
        return Err(LogError::BadCommand(entry.command));
    }
    let (outcome, message) = match &entry.outcome {
        Outcome::Ok => (OutcomeKind::Ok, None),
        Outcome::Started => (OutcomeKind::Started, None),
        Outcome::Failed(m) => (OutcomeKind::Failed, Some(m.as_str())),
        Outcome::Interrupted(m) => (OutcomeKind::Interrupted, Some(m.as_str())),
    };
    let body = Body {
        seq,
        time,
        command: entry.command,
        operator: entry.provenance.operator(),
        witnesses: entry.provenance.witnesses(),
        tool: entry.provenance.tool(),
        protocol: entry.provenance.protocol(),
        set_id: entry.set.as_ref().and_then(|s| s.id()).map(hex::encode),
        set_label: entry.set.as_ref().and_then(|s| s.label()),
        set_digest: entry
            .set
            .as_ref()
            .and_then(|s| s.digest())
            .map(|d| d.to_hex()),
        key_check: entry.key_check.map(|k| k.to_hex()),
        cards: &entry.cards,
        outcome,
        message,
        prev,
    };
    let json = serde_json::to_string(&body).expect("the body is plain strings and numbers");
    let content = json
        .strip_suffix('}')
        .expect("a JSON object ends with a brace");
    let hash = hex::encode(Sha256::digest(content.as_bytes()));
    let text = format!("{content}{HASH_KEY}{hash}\"}}\n");
    if text.len() > MAX_LINE_LEN {
        return Err(LogError::LineTooLong(text.len()));
    }
    Ok((text, hash))
}

/// Checks one line on its own (without its newline): its hash matches its bytes and it parses.
pub(super) fn check(line: &[u8]) -> Result<LogLine, Problem> {
    let text = std::str::from_utf8(line)
        .map_err(|_| Problem::Malformed("it is not UTF-8 text".to_owned()))?;
    if text.is_empty() {
        return Err(Problem::Malformed("it is empty".to_owned()));
    }
    let (content, claimed) = text
        .strip_suffix("\"}")
        // checked: in a damaged line the hash's first byte may sit inside a multi-byte character
        .and_then(|t| t.split_at_checked(t.len().checked_sub(HASH_HEX_LEN)?))
        .and_then(|(head, hash)| Some((head.strip_suffix(HASH_KEY)?, hash)))
        .filter(|(_, hash)| is_hash(hash))
        .ok_or_else(|| {
            Problem::Malformed("it does not end with its hash (,\"hash\":\"…\"})".to_owned())
        })?;
    if hex::encode(Sha256::digest(content.as_bytes())) != claimed {
        return Err(Problem::Edited);
    }
    let parsed: LogLine =
        serde_json::from_str(text).map_err(|e| Problem::Malformed(e.to_string()))?;
    if parsed.hash != claimed || !is_hash(&parsed.prev) {
        return Err(Problem::Malformed(
            "its hash or prev field is not a 64-digit lowercase hex hash".to_owned(),
        ));
    }
    Ok(parsed)
}

/// A line as format 2 or 3 wrote it (without the four keys of format 4), for tests of
/// older logs: the format 4 line with those keys cut out and its hash recomputed.
#[cfg(test)]
pub(super) fn older_line(entry: &Entry, seq: u64, time: &str, prev: &str) -> (String, String) {
    let (text, _) = build(entry, seq, time, prev).expect("a test entry builds");
    let start = text
        .find(",\"operator\":")
        .expect("format 4 has an operator key");
    let end = text
        .find(",\"set_id\":")
        .expect("every line has a set id key");
    let content = format!("{}{}", &text[..start], &text[end..]);
    let content = &content[..content.find(HASH_KEY).expect("a line ends with its hash")];
    let hash = hex::encode(Sha256::digest(content.as_bytes()));
    (format!("{content}{HASH_KEY}{hash}\"}}\n"), hash)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::log::entry::{CardOutcome, Fingerprint, Message, PersonName, Provenance, SetRef};
    use proptest::prelude::*;
    use quorum_protocol::mutation::any_mutation;

    fn entry() -> Entry {
        Entry {
            command: "enroll",
            set: Some(SetRef::from_hex(&"5a".repeat(16), "root-ca").unwrap()),
            key_check: Some(quorum_protocol::crypto::KeyCheck([
                0x00, 0x11, 0x22, 0x33, 0xaa, 0xbb, 0xcc, 0xdd,
            ])),
            cards: vec![CardEntry {
                fingerprint: Fingerprint::parse("a1b2-c3d4-e5f6-0718").unwrap(),
                outcome: CardOutcome::Ok,
            }],
            outcome: Outcome::Ok,
            provenance: crate::log::tests::provenance(),
        }
    }

    #[test]
    fn a_line_hashes_its_own_bytes_before_the_hash_field() {
        let prev = genesis_hash();
        let (line, hash) = build(&entry(), 1, "2026-01-02T03:04:05Z", &prev).unwrap();
        assert!(line.ends_with(&format!(",\"hash\":\"{hash}\"}}\n")));
        let content = &line[..line.len() - HASH_KEY.len() - HASH_HEX_LEN - 3];
        assert_eq!(hex::encode(Sha256::digest(content.as_bytes())), hash);
        assert!(content.starts_with(
            "{\"seq\":1,\"time\":\"2026-01-02T03:04:05Z\",\"command\":\"enroll\",\"operator\":\"Ada Lovelace\",\"witnesses\":[\"Grace Hopper\",\"Édouard Lucas\"],\"tool\":\"quorumctl/0.1.0\",\"protocol\":\"1.1\",\"set_id\":\"5a5a"
        ), "{content}");
        let parsed = check(line.trim_end_matches('\n').as_bytes()).unwrap();
        assert_eq!(parsed.seq, 1);
        assert_eq!(parsed.prev, prev);
        assert_eq!(parsed.hash, hash);
        assert_eq!(parsed.set_label.as_deref(), Some("root-ca"));
        assert_eq!(parsed.set_digest, None);
        assert_eq!(parsed.key_check.as_deref(), Some("00112233aabbccdd"));
        assert_eq!(parsed.cards, entry().cards);
        assert_eq!(parsed.outcome, OutcomeKind::Ok);
        assert_eq!(parsed.message, None);
        assert_eq!(
            parsed.provenance,
            Some(LineProvenance {
                operator: Some("Ada Lovelace".to_owned()),
                witnesses: vec!["Grace Hopper".to_owned(), "Édouard Lucas".to_owned()],
                tool: "quorumctl/0.1.0".to_owned(),
                protocol: "1.1".to_owned(),
            })
        );
    }

    /// The operator, the witnesses and the versions lie inside the hashed bytes: changing
    /// any of them is an edit.
    #[test]
    fn who_wrote_a_line_is_hashed_with_it() {
        let (line, _) = build(&entry(), 1, "2026-01-02T03:04:05Z", &genesis_hash()).unwrap();
        let line = line.trim_end();
        for (from, to) in [
            ("Ada Lovelace", "Ada Byron"),
            ("\"Grace Hopper\",", ""),
            ("quorumctl/0.1.0", "quorumctl/0.1.1"),
            ("\"protocol\":\"1.1\"", "\"protocol\":\"1.0\""),
        ] {
            assert_eq!(
                check(line.replace(from, to).as_bytes()),
                Err(Problem::Edited),
                "{from}"
            );
        }
    }

    /// No operator and no witness: `null` and `[]`, the keys still there.
    #[test]
    fn a_line_without_people_says_so() {
        let mut e = entry();
        e.provenance = Provenance::new("quorumctl/0.1.0", "1.1", None, vec![]).unwrap();
        let (line, _) = build(&e, 1, "2026-01-02T03:04:05Z", &genesis_hash()).unwrap();
        assert!(line.contains(
            "\"command\":\"enroll\",\"operator\":null,\"witnesses\":[],\"tool\":\"quorumctl/0.1.0\",\"protocol\":\"1.1\",\"set_id\""
        ), "{line}");
        let parsed = check(line.trim_end().as_bytes())
            .unwrap()
            .provenance
            .unwrap();
        assert_eq!((parsed.operator, parsed.witnesses.len()), (None, 0));
    }

    /// A line of format 3 (none of the four keys) parses without provenance; a line with
    /// some of them, or a null where a string or list belongs, is not a log line.
    #[test]
    fn the_format_4_keys_are_all_there_or_none() {
        let (line, _) = older_line(
            &entry(),
            1,
            "2026-01-02T03:04:05Z",
            &format_3_genesis_hash(),
        );
        let parsed = check(line.trim_end().as_bytes()).unwrap();
        assert_eq!(parsed.provenance, None);
        assert_eq!(parsed.set_label.as_deref(), Some("root-ca"));
        let (full, _) = build(&entry(), 1, "2026-01-02T03:04:05Z", &genesis_hash()).unwrap();
        for (from, to) in [
            ("\"tool\":\"quorumctl/0.1.0\",", ""),
            ("\"operator\":\"Ada Lovelace\",", ""),
            ("\"tool\":\"quorumctl/0.1.0\"", "\"tool\":null"),
            (
                "\"witnesses\":[\"Grace Hopper\",\"Édouard Lucas\"]",
                "\"witnesses\":null",
            ),
            (
                "\"operator\":\"Ada Lovelace\"",
                "\"operator\":\"Ada\",\"operator\":\"Ada\"",
            ),
        ] {
            let changed = rehash(&full.trim_end().replace(from, to));
            assert!(
                matches!(check(changed.as_bytes()), Err(Problem::Malformed(_))),
                "{from} -> {to}: {changed}"
            );
        }
    }

    /// The line with its hash recomputed over its new bytes.
    fn rehash(line: &str) -> String {
        let content = &line[..line.len() - HASH_KEY.len() - HASH_HEX_LEN - 2];
        let hash = hex::encode(Sha256::digest(content.as_bytes()));
        format!("{content}{HASH_KEY}{hash}\"}}")
    }

    #[test]
    fn the_genesis_hash_is_the_sha256_of_the_genesis_string() {
        assert_eq!(
            genesis_hash(),
            hex::encode(Sha256::digest(b"quorum-log/4 genesis"))
        );
        assert_eq!(
            genesis_hash(),
            "9c40e36f5d1f5a729ff5db059d40c50aab971fa8c6a8153822f1e04404b1e129"
        );
        assert_eq!(
            format_3_genesis_hash(),
            "32cb7939d4b621ddfc74f9de7b8923ec8e3d7ca9fb6f8a9dff61fa8c6781747d"
        );
        assert_eq!(
            format_2_genesis_hash(),
            "ad26277edb1c6269b29037d22a1b422f8425ffbc66c7ecb6857b90c4b1c3cb7a"
        );
        assert!(is_hash(&genesis_hash()));
        assert_eq!(
            old_genesis_hash(),
            "41723ea1b8fd3ddf446bf0b2ad7b864f052f991b0c647614f87f0fee3e66ac8c"
        );
    }

    #[test]
    fn failures_carry_their_message() {
        #[derive(Debug, thiserror::Error)]
        #[error("no card is inserted")]
        struct NoCard;
        let mut e = entry();
        e.set = None;
        e.key_check = None;
        e.outcome = Outcome::Failed(Message::from_error(&NoCard));
        let (line, _) = build(&e, 7, "2026-01-02T03:04:05Z", &genesis_hash()).unwrap();
        assert!(line.contains(
            "\"set_id\":null,\"set_label\":null,\"set_digest\":null,\"key_check\":null,\"cards\":[{\"fingerprint\":\"a1b2-c3d4-e5f6-0718\",\"outcome\":\"ok\"}],\"outcome\":\"failed\",\"message\":\"no card is inserted\""
        ));
        let parsed = check(line.trim_end().as_bytes()).unwrap();
        assert_eq!(parsed.message.as_deref(), Some("no card is inserted"));
    }

    #[test]
    fn damaged_lines_are_told_apart() {
        let (line, _) = build(&entry(), 1, "2026-01-02T03:04:05Z", &genesis_hash()).unwrap();
        let line = line.trim_end();
        assert_eq!(
            check(line.replace("root-ca", "root-cb").as_bytes()),
            Err(Problem::Edited)
        );
        assert!(matches!(
            check(&line.as_bytes()[..line.len() - 5]),
            Err(Problem::Malformed(_))
        ));
        assert!(matches!(check(b""), Err(Problem::Malformed(_))));
        assert!(matches!(check(&[0xff, 0xfe]), Err(Problem::Malformed(_))));
        // A line whose hash is right but whose fields are not a log line's.
        let bogus = "{\"seq\":\"one\"";
        let forged = format!(
            "{bogus}{HASH_KEY}{}\"}}",
            hex::encode(Sha256::digest(bogus.as_bytes()))
        );
        assert!(matches!(
            check(forged.as_bytes()),
            Err(Problem::Malformed(_))
        ));
    }

    /// A line whose last 64 bytes before `"}` start inside a multi-byte character is malformed, not a crash.
    #[test]
    fn a_character_across_the_hash_boundary_is_malformed() {
        let text = format!("{{\"x\":\"é{}\"}}", "a".repeat(HASH_HEX_LEN - 1));
        assert!(matches!(check(text.as_bytes()), Err(Problem::Malformed(_))));
    }

    #[test]
    fn bad_command_names_are_refused() {
        let mut e = entry();
        e.command = "Enroll now";
        assert!(matches!(
            build(&e, 1, "t", &genesis_hash()),
            Err(LogError::BadCommand("Enroll now"))
        ));
    }

    /// An error whose message is any text, as the failure reason of a ceremony.
    #[derive(Debug, thiserror::Error)]
    #[error("{0}")]
    struct AnyText(String);

    prop_compose! {
        /// Any entry a ceremony could log: known command, optional set, zero to three cards, either outcome.
        fn arb_entry()(
            command in proptest::sample::select(&["init", "enroll", "recover", "reset-card", "add-card"][..]),
            id in proptest::option::of(any::<[u8; 16]>()),
            label in proptest::option::of("[a-zA-Z0-9 éü漢\"\\-]{1,20}"),
            cards in proptest::collection::vec((any::<[u8; 8]>(), 0u8..4), 0..4),
            failure in proptest::option::of(any::<String>()),
            kind in 0u8..2,
            operator in proptest::option::of("[a-zA-Z éü漢\"\\-]{1,20}"),
            witnesses in proptest::collection::btree_set("[a-zA-Z éü漢\"\\-]{1,20}", 0..4),
        ) -> Entry {
            let cards = cards
                .into_iter()
                .map(|(fp, outcome)| {
                    let h = hex::encode(fp);
                    CardEntry {
                        fingerprint: Fingerprint::parse(&format!("{}-{}-{}-{}", &h[..4], &h[4..8], &h[8..12], &h[12..])).unwrap(),
                        outcome: [CardOutcome::Ok, CardOutcome::Skipped, CardOutcome::Failed, CardOutcome::Pending][usize::from(outcome)],
                    }
                })
                .collect();
            Entry {
                command,
                set: (id.is_some() || label.is_some())
                    .then(|| SetRef::new(id, label.as_deref()).unwrap()),
                key_check: None,
                cards,
                outcome: match (failure, kind) {
                    (None, 0) => Outcome::Ok,
                    (None, _) => Outcome::Started,
                    (Some(text), 0) => Outcome::Failed(Message::from_error(&AnyText(text))),
                    (Some(text), _) => Outcome::Interrupted(Message::from_error(&AnyText(text))),
                },
                provenance: Provenance::new(
                    "quorumctl/0.1.0",
                    "1.1",
                    operator.map(|o| PersonName::parse(&o).unwrap()),
                    witnesses.into_iter().map(|w| PersonName::parse(&w).unwrap()).collect(),
                ).unwrap(),
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(1000))]

        /// Whatever text a log line holds, checking it gives a line or a typed problem, never a panic;
        /// the text is also tried in the shape of a line, ending in a hash field of any characters.
        #[test]
        fn check_never_panics(
            raw in proptest::collection::vec(any::<u8>(), 0..200),
            head in any::<String>(),
            hash in "\\PC{60,66}",
        ) {
            let _ = check(&raw);
            let shaped = format!("{head}{HASH_KEY}{hash}\"}}");
            if let Err(problem) = check(shaped.as_bytes()) {
                prop_assert!(!problem.to_string().is_empty());
            }
        }

        /// A line reads back as written, and any damage to it is found: edited, or not a line.
        #[test]
        fn damaged_lines_are_refused(
            entry in arb_entry(),
            seq in 1u64..1_000_000,
            m in any_mutation(),
        ) {
            let (text, hash) = build(&entry, seq, "2026-01-02T03:04:05Z", &genesis_hash()).unwrap();
            let good = text.strip_suffix('\n').unwrap().as_bytes();
            let parsed = check(good).unwrap();
            prop_assert_eq!((parsed.seq, &parsed.hash, &parsed.cards), (seq, &hash, &entry.cards));
            let bad = m.apply(good);
            match check(&bad) {
                Ok(_) => prop_assert_eq!(&bad[..], good, "a damaged line passed"),
                Err(Problem::Edited | Problem::Malformed(_)) => {}
                Err(other) => prop_assert!(false, "unexpected problem {:?}", other),
            }
        }
    }
}
