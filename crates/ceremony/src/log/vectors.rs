//! Checks apdu-spec/vectors/log.json: the genesis hashes of every format, and example logs
//! that this writer reproduces byte for byte and this verifier accepts, so a third party's
//! writer or verifier can be tested against the same bytes.

use std::path::Path;

use serde::Deserialize;
use sha2::{Digest, Sha256};

use quorum_protocol::crypto::{KeyCheck, SetDigest};

use super::entry::{CardEntry, Entry, Message, Outcome, PersonName, Provenance, SetRef};
use super::line::{self, LogLine, OutcomeKind};
use super::tests::TempDir;
use super::verify;

#[derive(Deserialize)]
struct Vectors {
    genesis: Vec<Genesis>,
    logs: Vec<ExampleLog>,
}

#[derive(Deserialize)]
struct Genesis {
    format: u8,
    string: String,
    hash: String,
}

#[derive(Deserialize)]
struct ExampleLog {
    name: String,
    format: u8,
    lines: Vec<String>,
    head: String,
}

/// An error whose message is the logged text, to rebuild a `failed` line.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct Logged(String);

/// The entry a line was written from, rebuilt from what the line says.
fn entry_of(l: &LogLine) -> Entry {
    let set = (l.set_id.is_some() || l.set_label.is_some()).then(|| {
        let id = l
            .set_id
            .as_ref()
            .map(|h| hex::decode(h).unwrap().try_into().unwrap());
        let set = SetRef::new(id, l.set_label.as_deref()).unwrap();
        match &l.set_digest {
            Some(d) => set.with_digest(SetDigest(hex::decode(d).unwrap().try_into().unwrap())),
            None => set,
        }
    });
    let message = || Message::from_error(&Logged(l.message.clone().unwrap()));
    let provenance = match &l.provenance {
        Some(p) => Provenance::new(
            &p.tool,
            &p.protocol,
            p.operator.as_deref().map(|o| PersonName::parse(o).unwrap()),
            p.witnesses
                .iter()
                .map(|w| PersonName::parse(w).unwrap())
                .collect(),
        )
        .unwrap(),
        None => Provenance::new("quorumctl/0.0.0", "1.0", None, vec![]).unwrap(),
    };
    Entry {
        command: Box::leak(l.command.clone().into_boxed_str()),
        set,
        key_check: l
            .key_check
            .as_ref()
            .map(|k| KeyCheck(hex::decode(k).unwrap().try_into().unwrap())),
        cards: l.cards.iter().map(CardEntry::clone).collect(),
        outcome: match l.outcome {
            OutcomeKind::Ok => Outcome::Ok,
            OutcomeKind::Started => Outcome::Started,
            OutcomeKind::Failed => Outcome::Failed(message()),
            OutcomeKind::Interrupted => Outcome::Interrupted(message()),
        },
        provenance,
    }
}

#[test]
fn the_log_vectors_are_reproduced_and_verified() {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../apdu-spec/vectors/log.json"
    ))
    .unwrap();
    let vectors: Vectors = serde_json::from_str(&text).unwrap();
    let formats: Vec<u8> = vectors.genesis.iter().map(|g| g.format).collect();
    assert_eq!(formats, [1, 2, 3, 4]);
    for g in &vectors.genesis {
        assert_eq!(g.string, format!("quorum-log/{} genesis", g.format));
        assert_eq!(g.hash, hex::encode(Sha256::digest(g.string.as_bytes())));
    }
    assert_eq!(vectors.genesis[3].hash, line::genesis_hash());
    assert_eq!(vectors.genesis[2].hash, line::format_3_genesis_hash());

    assert!(vectors.logs.iter().any(|l| l.format == line::FORMAT));
    let dir = TempDir::new("log-vectors");
    for log in &vectors.logs {
        for l in &log.lines {
            let parsed: LogLine = serde_json::from_str(l).unwrap();
            let entry = entry_of(&parsed);
            let (rebuilt, hash) = if log.format == line::FORMAT {
                line::build(&entry, parsed.seq, &parsed.time, &parsed.prev).unwrap()
            } else {
                line::older_line(&entry, parsed.seq, &parsed.time, &parsed.prev)
            };
            assert_eq!(rebuilt.trim_end(), l, "{}: line {}", log.name, parsed.seq);
            assert_eq!(hash, parsed.hash);
        }
        let path = dir.0.join(format!("format-{}.jsonl", log.format));
        std::fs::write(&path, log.lines.join("\n") + "\n").unwrap();
        let v = verify(Path::new(&path), Some(&log.head)).unwrap();
        assert_eq!(
            (v.lines, v.head.as_str(), v.format),
            (log.lines.len() as u64, log.head.as_str(), log.format),
            "{}",
            log.name
        );
    }
}
