//! The ceremony log end to end: every ceremony appends a line, `log verify` accepts the
//! chain, and detects an edited or removed line.

use crate::farm::{lock, Farm};
use crate::fixtures::{enrolled, present, text};
use crate::run::{run, run_ok, scratch, show};

#[test]
fn ceremonies_are_logged_and_tampering_is_detected() {
    let _guard = lock();
    let farm = Farm::connect();
    let dir = scratch("log");
    let log = dir.join("ceremonies.jsonl");
    // The fixtures' runs log to the process-wide log; this test's own runs to its own file.
    let (custodians, pins, bundle) = enrolled(&farm, &dir, "logged-set", 2, 2, b"logged secret");
    present(&farm, &[&custodians[0], &custodians[1]]);
    let log_arg = log.to_str().unwrap();
    let out = dir.join("recovered");
    run_ok(&[
        "--log",
        log_arg,
        "recover",
        "--out",
        out.to_str().unwrap(),
        "--pin-file",
        pins.to_str().unwrap(),
    ]);
    let failed = run(&[
        "--log",
        log_arg,
        "recover",
        "--out",
        out.to_str().unwrap(),
        "--pin-file",
        pins.to_str().unwrap(),
    ]);
    assert_eq!(
        failed.status.code(),
        Some(8),
        "the second run refuses to overwrite: {}",
        show(&failed)
    );

    let lines: Vec<String> = std::fs::read_to_string(&log)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect();
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert!(
        lines[0].contains("\"command\":\"recover\"") && lines[0].contains(&bundle.set_id),
        "{}",
        lines[0]
    );
    assert!(
        lines[0].contains(&custodians[0].fingerprint) && lines[0].contains("\"outcome\":\"ok\""),
        "{}",
        lines[0]
    );
    assert!(
        lines[1].contains("\"outcome\":\"failed\"") && lines[1].contains("refusing to overwrite"),
        "{}",
        lines[1]
    );
    for pin in [&custodians[0].pin, &custodians[1].pin] {
        assert!(!lines.concat().contains(pin.as_str()), "no PIN in the log");
    }
    let verified = run_ok(&["--log", log_arg, "log", "verify"]);
    assert!(
        text(&verified.stdout).contains('2') || text(&verified.stderr).contains('2'),
        "{}",
        show(&verified)
    );

    // An edited line is found.
    let edited = lines[0].replace("\"outcome\":\"ok\"", "\"outcome\":\"failed\"");
    std::fs::write(&log, format!("{edited}\n{}\n", lines[1])).unwrap();
    let caught = run(&["--log", log_arg, "log", "verify"]);
    assert_eq!(caught.status.code(), Some(9), "{}", show(&caught));
    assert!(text(&caught.stderr).contains("line 1"), "{}", show(&caught));

    // A removed line is found.
    std::fs::write(&log, format!("{}\n", lines[1])).unwrap();
    let caught = run(&["--log", log_arg, "log", "verify"]);
    assert_eq!(caught.status.code(), Some(9), "{}", show(&caught));

    // And a damaged log stops the next ceremony before it touches a card.
    let refused = run(&[
        "--log",
        log_arg,
        "recover",
        "--out",
        dir.join("x").to_str().unwrap(),
        "--pin-file",
        pins.to_str().unwrap(),
    ]);
    assert_eq!(refused.status.code(), Some(9), "{}", show(&refused));
    assert!(!dir.join("x").exists());
}
