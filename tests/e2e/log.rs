//! The ceremony log end to end: every ceremony appends a line, `log verify` accepts the
//! chain, and detects an edited or removed line; a ceremony does not start on a log whose
//! chain is broken anywhere; the default log does not depend on the working directory.

use crate::farm::{lock, Farm, Sim};
use crate::fixtures::{enrolled, present, text};
use crate::run::{pin_file, run, run_ok, scratch, show};

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

    // A log edited in the middle, its last line intact: the next ceremony refuses to
    // start, names the line as `log verify` does, and sends nothing to any card.
    std::fs::write(&log, format!("{}\n{}\n", lines[0], lines[1])).unwrap();
    let third = run(&[
        "--log",
        log_arg,
        "recover",
        "--out",
        out.to_str().unwrap(),
        "--pin-file",
        pins.to_str().unwrap(),
    ]);
    assert_eq!(third.status.code(), Some(8), "{}", show(&third));
    let intact = std::fs::read_to_string(&log).unwrap();
    let three: Vec<&str> = intact.lines().collect();
    assert_eq!(three.len(), 3, "{intact}");
    let tampered = intact.replacen(three[1], &three[1].replace("refusing", "declining"), 1);
    std::fs::write(&log, &tampered).unwrap();
    let caught = run(&["--log", log_arg, "log", "verify"]);
    assert_eq!(caught.status.code(), Some(9), "{}", show(&caught));
    assert!(text(&caught.stderr).contains("line 2"), "{}", show(&caught));

    farm.clear_all();
    let blank = farm.new_card(None);
    farm.insert(&blank, 0);
    let apdus = Sim::pcscd_log();
    let apdus_before = std::fs::read(&apdus).map(|b| b.len()).unwrap_or(0);
    let new_pin = pin_file(&dir, "new-pin", &["135790".to_owned()]);
    let refused = run(&[
        "--log",
        log_arg,
        "init",
        "--reader",
        farm.reader_name(0),
        "--pin-file",
        new_pin.to_str().unwrap(),
    ]);
    assert_eq!(refused.status.code(), Some(9), "{}", show(&refused));
    let said = text(&refused.stderr);
    assert!(
        said.contains("at line 2") && said.contains("edited") && said.contains("did not start"),
        "{}",
        show(&refused)
    );
    let sent = std::fs::read(&apdus).unwrap_or_default();
    let sent = text(&sent[apdus_before.min(sent.len())..]);
    assert!(!sent.contains("APDU:"), "a command reached a card: {sent}");
    assert_eq!(
        std::fs::read_to_string(&log).unwrap(),
        tampered,
        "nothing appended"
    );
    let status = run_ok(&["status", "--reader", farm.reader_name(0)]);
    assert!(text(&status.stdout).contains("BLANK"), "{}", show(&status));
}

#[test]
fn the_default_log_is_the_same_wherever_quorumctl_runs_and_a_new_chain_is_announced() {
    use std::os::unix::fs::PermissionsExt;
    let _guard = lock();
    let farm = Farm::connect();
    farm.clear_all();
    let dir = scratch("default-log");
    let home = dir.join("home");
    std::fs::create_dir_all(&home).unwrap();
    let pins = pin_file(&dir, "pins", &["123456".to_owned()]);
    let out = dir.join("never.key");
    // A recovery with no card present fails (exit 3) after it looked at the readers: it ran,
    // so it is logged, from two different working directories.
    let mut stderrs = Vec::new();
    for cwd in [dir.clone(), home.clone()] {
        let done = crate::run::quorumctl(&[
            "recover",
            "--out",
            out.to_str().unwrap(),
            "--pin-file",
            pins.to_str().unwrap(),
        ])
        .env_remove("QUORUM_LOG")
        .env_remove("XDG_STATE_HOME")
        .env("HOME", &home)
        .current_dir(&cwd)
        .output()
        .unwrap();
        assert_eq!(done.status.code(), Some(3), "{}", show(&done));
        stderrs.push(text(&done.stderr));
    }
    let log = home.join(".local/state/quorum/ceremony-log.jsonl");
    let lines = std::fs::read_to_string(&log).unwrap();
    assert_eq!(lines.lines().count(), 2, "one chain, continued: {lines}");
    assert!(!dir.join("quorum-log.jsonl").exists() && !home.join("quorum-log.jsonl").exists());
    let mode = std::fs::metadata(log.parent().unwrap())
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o700, "the log's directory is private");
    assert!(
        stderrs[0].contains(&format!(
            "A new ceremony log starts here, at {}",
            log.display()
        )),
        "{}",
        stderrs[0]
    );
    assert!(stderrs[0].contains("Logged as line 1 of"), "{}", stderrs[0]);
    assert!(!stderrs[1].contains("A new ceremony log"), "{}", stderrs[1]);
    assert!(stderrs[1].contains("Logged as line 2 of"), "{}", stderrs[1]);
}
