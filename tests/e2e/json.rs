//! `--json`: every command ends with one JSON document on standard output whose
//! `exit_code` and `status` match the process's exit status; and `export-bundle` writes a
//! set's bundle again from its cards.

use std::process::Output;

use quorum::bundle::Bundle;
use serde_json::Value;

use crate::farm::{lock, Farm};
use crate::fixtures::{enrolled, present, text};
use crate::run::{quorumctl, run, scratch, show};

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
    assert_eq!(
        doc["result"]["card"]["fingerprint"],
        custodians[1].fingerprint.as_str()
    );

    // The secret never shares standard output with the document.
    let (doc, out) = json_run(&["recover", "--pin-file", pins]);
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

    // The bundle, written again from two of the cards: the same set description.
    present(&farm, &[&custodians[2], &custodians[0]]);
    let exported = dir.join("exported.json");
    let (doc, _) = json_run(&["export-bundle", "--out", exported.to_str().unwrap()]);
    assert_eq!(doc["result"]["summary"]["set_version"], 1, "{doc}");
    let again = Bundle::read(&exported).unwrap();
    assert_eq!(
        (&again.set_id, &again.custodians, again.records.len()),
        (&bundle.set_id, &bundle.custodians, 2)
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
