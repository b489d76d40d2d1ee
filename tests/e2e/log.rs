//! The ceremony log end to end: every ceremony appends a line, `log verify` accepts the
//! chain, and detects an edited or removed line; a ceremony does not start on a log whose
//! chain is broken anywhere; the default log does not depend on the working directory;
//! lines name the operator and witnesses, and heads are printed and taken in groups.

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

/// A head as quorumctl prints it for people: groups of four hex digits between spaces.
fn grouped(head: &str) -> String {
    head.as_bytes()
        .chunks(4)
        .map(|g| std::str::from_utf8(g).unwrap())
        .collect::<Vec<_>>()
        .join(" ")
}

#[test]
fn operator_and_witnesses_land_in_the_line_and_a_grouped_head_is_taken_back() {
    let _guard = lock();
    let farm = Farm::connect();
    farm.clear_all();
    let dir = scratch("log-people");
    let log = dir.join("minutes.jsonl");
    let log_arg = log.to_str().unwrap();
    let pins = pin_file(&dir, "pins", &["123456".to_owned()]);
    let out = dir.join("never.key");
    // A recovery with no card present fails (exit 3) after it looked at the readers: logged.
    let recover = |people: &[&str], operator_env: Option<&str>| {
        let mut args = vec!["--log", log_arg];
        args.extend_from_slice(people);
        args.extend_from_slice(&[
            "recover",
            "--out",
            out.to_str().unwrap(),
            "--pin-file",
            pins.to_str().unwrap(),
        ]);
        let mut cmd = crate::run::quorumctl(&args);
        if let Some(name) = operator_env {
            cmd.env("QUORUM_OPERATOR", name);
        }
        cmd.output().unwrap()
    };
    let first = recover(
        &[
            "--operator",
            "Ada Lovelace",
            "--witness",
            "Grace Hopper",
            "--witness",
            "Édouard Lucas",
        ],
        Some("Someone Else"),
    );
    assert_eq!(first.status.code(), Some(3), "{}", show(&first));
    // The environment names the operator when the option does not.
    let second = recover(&[], Some("Eve Adams"));
    assert_eq!(second.status.code(), Some(3), "{}", show(&second));

    let text_of_log = std::fs::read_to_string(&log).unwrap();
    let lines: Vec<&str> = text_of_log.lines().collect();
    assert_eq!(lines.len(), 2, "{text_of_log}");
    let tool = format!(
        "\"tool\":\"quorumctl/{}\",\"protocol\":\"1.4\"",
        env!("CARGO_PKG_VERSION")
    );
    assert!(
        lines[0].contains(&format!(
            "\"command\":\"recover\",\"operator\":\"Ada Lovelace\",\"witnesses\":[\"Grace Hopper\",\"Édouard Lucas\"],{tool}"
        )),
        "{}",
        lines[0]
    );
    assert!(
        lines[1].contains(&format!(
            "\"operator\":\"Eve Adams\",\"witnesses\":[],{tool}"
        )),
        "{}",
        lines[1]
    );
    let heads: Vec<String> = lines
        .iter()
        .map(|l| l[l.len() - 66..l.len() - 2].to_owned())
        .collect();
    let said = text(&first.stderr);
    assert!(
        said.contains(&format!(
            "Logged as line 1 of {} (operator Ada Lovelace; witnesses Grace Hopper and Édouard Lucas); the log's head is now {} (note it in the ceremony minutes).",
            log.display(),
            grouped(&heads[0])
        )),
        "{said}"
    );
    assert!(
        text(&second.stderr).contains(&format!(
            "(operator Eve Adams; no witness named); the log's head is now {}",
            grouped(&heads[1])
        )),
        "{}",
        show(&second)
    );

    // The head as the minutes hold it, grouped, whole or its first three groups.
    for typed in [grouped(&heads[1]), grouped(&heads[1][..12])] {
        let verified = run_ok(&["--log", log_arg, "log", "verify", "--expect-head", &typed]);
        let said = text(&verified.stdout);
        assert!(
            said.contains(&format!("intact: 2 lines, head {}.", grouped(&heads[1]))),
            "{said}"
        );
        assert!(
            said.contains(&format!(
                "Line 2, the newest, records recover (failed), written by quorumctl/{} for protocol 1.4: operator Eve Adams; no witness named.",
                env!("CARGO_PKG_VERSION")
            )),
            "{said}"
        );
        assert!(said.contains("It ends at the expected head."), "{said}");
    }
    // JSON keeps the plain digits and names the people of the newest line.
    let json = run_ok(&["--json", "--log", log_arg, "log", "verify"]);
    let doc: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(doc["result"]["head"], heads[1].as_str(), "{doc}");
    assert_eq!(doc["result"]["last"]["operator"], "Eve Adams", "{doc}");
    // An earlier line's grouped prefix: the log has lines after it.
    let earlier = run(&[
        "--log",
        log_arg,
        "log",
        "verify",
        "--expect-head",
        &grouped(&heads[0][..8]),
    ]);
    assert_eq!(earlier.status.code(), Some(9), "{}", show(&earlier));
    assert!(
        text(&earlier.stderr).contains("hash of line 1"),
        "{}",
        show(&earlier)
    );

    // Names the log cannot take are usage errors, and leave no line.
    for people in [
        &["--witness", "Grace Hopper", "--witness", "Grace Hopper"][..],
        &["--operator", "Ada\tLovelace"][..],
        &["--operator", ""][..],
    ] {
        let refused = recover(people, None);
        assert_eq!(refused.status.code(), Some(2), "{}", show(&refused));
        let said = text(&refused.stderr);
        assert!(
            said.contains("given twice") || said.contains("1 to 64 bytes"),
            "{said}"
        );
    }
    let bad_env = recover(&[], Some("Eve\nAdams"));
    assert_eq!(bad_env.status.code(), Some(2), "{}", show(&bad_env));
    assert!(
        text(&bad_env.stderr).contains("QUORUM_OPERATOR must name the operator"),
        "{}",
        show(&bad_env)
    );
    assert_eq!(
        std::fs::read_to_string(&log).unwrap(),
        text_of_log,
        "no line for a usage error"
    );
}
