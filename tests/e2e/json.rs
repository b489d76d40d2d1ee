//! `--json`: every command ends with one JSON document on standard output whose
//! `exit_code` and `status` match the process's exit status; and `export-bundle` writes a
//! set's bundle again from its cards.

use std::process::Output;

use quorum_ceremony::bundle_file::BundleFile;
use quorum_protocol::bundle::Bundle;
use serde_json::Value;

use crate::farm::{lock, Farm};
use crate::fixtures::{enrolled, present, text};
use crate::run::{pin_file, quorumctl, run, scratch, show};

/// Runs quorumctl with `--json` and returns the document, checked against the exit code.
fn json_run(args: &[&str]) -> (Value, Output) {
    let mut all = vec!["--json"];
    all.extend_from_slice(args);
    let out = run(&all);
    let doc: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("stdout is not one JSON document ({e}): {}", show(&out)));
    assert_eq!(
        doc["exit_code"].as_i64(),
        out.status.code().map(i64::from),
        "{}",
        show(&out)
    );
    assert_eq!(doc["ok"].as_bool(), Some(out.status.success()));
    (doc, out)
}

#[test]
fn every_command_answers_in_json_and_export_bundle_rebuilds_the_bundle() {
    let _guard = lock();
    let farm = Farm::connect();
    let dir = scratch("json");
    let (custodians, pins, bundle) = enrolled(&farm, &dir, "json-set", 2, 3, b"json secret");
    let pins = pins.to_str().unwrap();

    let (doc, _) = json_run(&["readers"]);
    let readers = doc["result"]["readers"].as_array().unwrap();
    assert_eq!(
        readers
            .iter()
            .filter(|r| r["card"]["state"] == "ENROLLED")
            .count(),
        3,
        "{doc}"
    );

    let (doc, _) = json_run(&["status", "--reader", farm.reader_name(1)]);
    assert_eq!(doc["result"]["card"]["set"]["index"], 2, "{doc}");
    assert_eq!(doc["result"]["card"]["protocol"], "1.4", "{doc}");
    assert_eq!(
        doc["result"]["card"]["fingerprint"],
        custodians[1].fingerprint.as_str()
    );

    // The secret never shares standard output with the document.
    let (doc, out) = json_run(&["recover", "--out", "-", "--pin-file", pins]);
    assert_eq!(
        (doc["status"].as_str(), out.status.code()),
        (Some("usage"), Some(2)),
        "{doc}"
    );
    let secret = dir.join("json.key");
    let (doc, _) = json_run(&[
        "recover",
        "--out",
        secret.to_str().unwrap(),
        "--pin-file",
        pins,
    ]);
    assert_eq!(doc["result"]["secret_bytes"], 11, "{doc}");
    assert_eq!(std::fs::read(&secret).unwrap(), b"json secret");
    let used = doc["result"]["cards"].as_array().unwrap();
    assert_eq!(
        used.iter().filter(|c| c["result"] == "used").count(),
        2,
        "{doc}"
    );
    assert!(doc["result"]["log"]["head"].is_string(), "{doc}");

    let (doc, _) = json_run(&["verify", "--pin-file", pins]);
    assert_eq!(doc["result"]["cards"].as_array().unwrap().len(), 3, "{doc}");

    // The bundle, written again from two of the cards: the same set description, and the
    // third card's record rebuilt from theirs (records of one version differ only in the
    // index), so the bundle is the enrollment's again.
    present(&farm, &[&custodians[2], &custodians[0]]);
    let exported = dir.join("exported.json");
    let (doc, _) = json_run(&["export-bundle", "--out", exported.to_str().unwrap()]);
    assert_eq!(doc["result"]["summary"]["set_version"], 1, "{doc}");
    assert_eq!(
        doc["result"]["rebuilt"].as_array().unwrap().len(),
        1,
        "{doc}"
    );
    let again = Bundle::read(&exported).unwrap();
    assert_eq!(
        (&again.set_id, &again.custodians, &again.records),
        (&bundle.set_id, &bundle.custodians, &bundle.records)
    );
    // ... never over an existing file.
    let (doc, out) = json_run(&["export-bundle", "--out", exported.to_str().unwrap()]);
    assert_eq!(
        (doc["status"].as_str(), out.status.code()),
        (Some("file"), Some(8)),
        "{doc}"
    );

    let (doc, _) = json_run(&["inspect", exported.to_str().unwrap()]);
    assert_eq!(doc["result"]["summary"]["threshold"], 2, "{doc}");
    let (doc, _) = json_run(&["log", "verify"]);
    assert!(doc["result"]["lines"].as_u64().unwrap() >= 4, "{doc}");

    // pcscd out of reach: its own exit status.
    let out = quorumctl(&["--json", "readers"])
        .env("PCSCLITE_CSOCK_NAME", dir.join("no-pcscd.sock"))
        .output()
        .unwrap();
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (doc["status"].as_str(), out.status.code()),
        (Some("pcsc"), Some(7)),
        "{}",
        show(&out)
    );
    assert!(
        text(&out.stderr).contains("cannot reach the PC/SC service"),
        "{}",
        show(&out)
    );
}

#[test]
fn ceremonies_that_change_cards_answer_in_json_too() {
    let _guard = lock();
    let farm = Farm::connect();
    let dir = scratch("json-ceremonies");
    farm.clear_all();
    // init: four cards personalised, each with its own PIN.
    let mut cards = Vec::new();
    let mut pins = Vec::new();
    let mut fingerprints = Vec::new();
    for i in 0..4 {
        let card = farm.new_card(None);
        farm.insert(&card, i);
        let pin = format!("{}", 7_130_000 + i * 7);
        let file = pin_file(&dir, &format!("init{i}"), std::slice::from_ref(&pin));
        let (doc, _) = json_run(&[
            "init",
            "--reader",
            farm.reader_name(i),
            "--pin-file",
            file.to_str().unwrap(),
        ]);
        assert_eq!(doc["result"]["retry_limit"], 5, "{doc}");
        let fp = doc["result"]["fingerprint"].as_str().unwrap().to_owned();
        pins.push(format!("{fp} {pin}"));
        fingerprints.push(fp);
        cards.push(card);
    }
    let pin_lines = pin_file(&dir, "all", &pins);
    let pin_arg = pin_lines.to_str().unwrap();

    // enroll 2-of-2 with the first two cards.
    farm.remove(2);
    farm.remove(3);
    let bundle = dir.join("json.quorum.json");
    let secret = dir.join("json.key");
    let (doc, _) = json_run(&[
        "enroll",
        "--threshold",
        "2",
        "--label",
        "json-ceremony",
        "--generate",
        "32",
        "--out",
        secret.to_str().unwrap(),
        "--bundle",
        bundle.to_str().unwrap(),
        "--pin-file",
        pin_arg,
    ]);
    assert_eq!(doc["result"]["set"]["threshold"], 2, "{doc}");
    assert_eq!(doc["result"]["cards"].as_array().unwrap().len(), 2, "{doc}");
    assert!(doc["result"]["log"]["head"].is_string(), "{doc}");

    // A failure is a document too: one card cannot recover a 2-of-2 set.
    farm.remove(1);
    let never = dir.join("never.key");
    let (doc, out) = json_run(&[
        "recover",
        "--out",
        never.to_str().unwrap(),
        "--pin-file",
        pin_arg,
    ]);
    assert_eq!(
        (doc["status"].as_str(), out.status.code()),
        (Some("not-enough-cards"), Some(3)),
        "{doc}"
    );
    assert!(
        doc["error"]["message"]
            .as_str()
            .unwrap()
            .contains("only 1 of the 2"),
        "{doc}"
    );
    assert_eq!(
        (
            doc["error"]["kind"].as_str(),
            doc["error"]["detail"]["kind"].as_str()
        ),
        (Some("recover_stopped"), Some("too_few_present")),
        "{doc}"
    );
    assert!(!never.exists());

    // add-card: both custodians and the third card.
    farm.insert(&cards[1], 1);
    farm.insert(&cards[2], 2);
    let (doc, _) = json_run(&[
        "add-card",
        "--bundle",
        bundle.to_str().unwrap(),
        "--name",
        "Carol",
        "--pin-file",
        pin_arg,
    ]);
    let index = doc["result"]["new_card"]["index"].as_u64().unwrap_or(0);
    assert!((3..=255).contains(&index), "a fresh share index: {doc}");
    assert_eq!(doc["result"]["set"]["index"], index, "{doc}");
    assert_eq!(doc["result"]["set"]["set_version"], 2, "{doc}");
    assert_eq!(
        doc["result"]["new_card"]["fingerprint"],
        fingerprints[2].as_str()
    );

    // change-pin on the new card, alone in its reader.
    farm.clear_all();
    farm.insert(&cards[2], 0);
    let new_pin = pin_file(&dir, "new-pin", &["5550123456".to_owned()]);
    let (doc, _) = json_run(&[
        "change-pin",
        "--pin-file",
        pin_arg,
        "--new-pin-file",
        new_pin.to_str().unwrap(),
    ]);
    assert_eq!(
        doc["result"]["fingerprint"],
        fingerprints[2].as_str(),
        "{doc}"
    );
    let pins_now: Vec<String> = pins[..2]
        .iter()
        .cloned()
        .chain([format!("{} 5550123456", fingerprints[2]), pins[3].clone()])
        .collect();
    let pin_lines = pin_file(&dir, "now", &pins_now);
    let pin_arg = pin_lines.to_str().unwrap();

    // reshare 2-of-3 onto the fourth card plus card 1 re-used: 1-of-2.
    farm.insert(&cards[0], 1);
    farm.insert(&cards[1], 2);
    farm.insert(&cards[3], 3);
    let new_bundle = dir.join("json-new.quorum.json");
    let (doc, _) = json_run(&[
        "reshare",
        "--threshold",
        "1",
        "--allow-single-card",
        "--label",
        "json-new",
        "--new-bundle",
        new_bundle.to_str().unwrap(),
        "--reuse",
        &fingerprints[0],
        "--pin-file",
        pin_arg,
    ]);
    assert_eq!(doc["result"]["old_set"]["label"], "json-ceremony", "{doc}");
    assert_eq!(doc["result"]["set"]["threshold"], 1, "{doc}");
    assert_eq!(doc["result"]["cards"].as_array().unwrap().len(), 2, "{doc}");
    assert_eq!(doc["result"]["wiped"].as_array().unwrap().len(), 2, "{doc}");

    // reset-card: the fourth card back to blank.
    farm.clear_all();
    farm.insert(&cards[3], 0);
    let (doc, _) = json_run(&["reset-card", "--confirm", &fingerprints[3]]);
    assert_eq!(
        (
            doc["result"]["state"].as_str(),
            doc["result"]["fingerprint"].as_str()
        ),
        (Some("BLANK"), Some(fingerprints[3].as_str())),
        "{doc}"
    );
}
