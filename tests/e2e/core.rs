//! The core path end to end: quorumctl through a real pcscd to the applet in jcardsim.

use std::collections::HashSet;
use std::os::unix::fs::PermissionsExt;

use quorum_protocol::bundle::Bundle;

use crate::farm::{lock, Farm};
use crate::fixtures::{enrolled, personalise, pins_of, present, text, Custodian};
use crate::run::{pin_file, run, run_ok, run_with_stdin, scratch, show, Running};

#[test]
fn enroll_3_of_5_then_recover_with_each_of_the_10_three_card_subsets() {
    let _guard = lock();
    let farm = Farm::connect();
    let dir = scratch("subsets");
    let custodians = personalise(&farm, &dir, 5);
    let distinct: HashSet<&str> = custodians.iter().map(|c| c.fingerprint.as_str()).collect();
    assert_eq!(
        distinct.len(),
        5,
        "two cards got the same key: {custodians:?}"
    );
    let pins = pins_of(&dir, "pins", &custodians);
    let master = dir.join("master.key");
    let bundle_path = dir.join("set.quorum.json");
    let enrolled = run_ok(&[
        "enroll",
        "--threshold",
        "3",
        "--label",
        "e2e-root",
        "--generate",
        "32",
        "--out",
        master.to_str().unwrap(),
        "--bundle",
        bundle_path.to_str().unwrap(),
        "--pin-file",
        pins.to_str().unwrap(),
        "--name",
        &format!("{}=Alice Archer", custodians[0].fingerprint),
        "--name",
        &format!("{}=Bob Baker", custodians[3].fingerprint),
    ]);
    assert!(
        text(&enrolled.stdout).contains("Enrolled set \"e2e-root\" (3-of-5)"),
        "{}",
        show(&enrolled)
    );
    let secret = std::fs::read(&master).unwrap();
    assert_eq!(secret.len(), 32);
    assert_eq!(
        std::fs::metadata(&master).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let bundle = Bundle::parse(&std::fs::read_to_string(&bundle_path).unwrap()).unwrap();
    assert_eq!(
        (
            bundle.threshold,
            bundle.custodians.len(),
            bundle.records.len()
        ),
        (3, 5, 5)
    );
    let names: Vec<&str> = bundle.custodians.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "Alice Archer",
            "custodian 2",
            "custodian 3",
            "Bob Baker",
            "custodian 5"
        ]
    );
    let bundle_fps: HashSet<&str> = bundle
        .custodians
        .iter()
        .map(|c| c.fingerprint.as_str())
        .collect();
    assert_eq!(bundle_fps, distinct);

    let mut subsets = 0;
    for a in 0..5 {
        for b in a + 1..5 {
            for c in b + 1..5 {
                present(&farm, &[&custodians[a], &custodians[b], &custodians[c]]);
                let out = dir.join(format!("recovered-{a}{b}{c}"));
                let done = run_ok(&[
                    "recover",
                    "--stats",
                    "--out",
                    out.to_str().unwrap(),
                    "--pin-file",
                    pins.to_str().unwrap(),
                ]);
                assert_eq!(std::fs::read(&out).unwrap(), secret, "subset {a}{b}{c}");
                assert_eq!(
                    std::fs::metadata(&out).unwrap().permissions().mode() & 0o777,
                    0o600
                );
                assert_unseal_round_trips(&text(&done.stderr), 3);
                subsets += 1;
            }
        }
    }
    assert_eq!(subsets, 10);
}

/// Protocol 1.3: after its SELECT (which brought its status, its record header and the
/// digest of its public part) the first card's share opened with GET RECORD of its public
/// part, VERIFY and UNSEAL P1 = 01, and every other card's, whose digest vouched for the
/// first card's part with its own index, with VERIFY and UNSEAL P1 = 01 alone: at most 300
/// bytes on the wire whatever the master's size (continuations aside in the count).
fn assert_unseal_round_trips(stderr: &str, cards: usize) {
    let lines: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with("stats: ") && l.contains(" recover: "))
        .collect();
    assert_eq!(
        lines.len(),
        cards,
        "one stats line per card expected:\n{stderr}"
    );
    let number = |line: &str, before: &str| -> u64 {
        line.split(before)
            .next()
            .and_then(|s| s.rsplit([' ', '(']).next())
            .and_then(|n| n.trim().parse().ok())
            .unwrap_or_else(|| panic!("unreadable stats line: {line}"))
    };
    let mut read = 0;
    for line in lines {
        let commands = number(line, " commands");
        let bytes = number(line, " bytes sent") + number(line, " bytes received");
        match commands {
            3 => read += 1,
            2 => assert!(bytes <= 300, "{bytes} bytes for a card not read: {line}"),
            _ => panic!("GET RECORD (first card only), VERIFY and UNSEAL after SELECT: {line}"),
        }
    }
    assert_eq!(
        read, 1,
        "only the first card's public part is read:\n{stderr}"
    );
}

#[test]
fn recovery_with_too_few_cards_fails_and_says_how_many_are_missing() {
    let _guard = lock();
    let farm = Farm::connect();
    let dir = scratch("too-few");
    let (custodians, pins, _) = enrolled(
        &farm,
        &dir,
        "too-few",
        3,
        4,
        b"0123456789abcdef0123456789abcdef",
    );
    present(&farm, &[&custodians[0], &custodians[2]]);
    let out = dir.join("never");
    let failed = run(&[
        "recover",
        "--out",
        out.to_str().unwrap(),
        "--pin-file",
        pins.to_str().unwrap(),
    ]);
    assert_eq!(failed.status.code(), Some(3), "{}", show(&failed));
    let err = text(&failed.stderr);
    assert!(err.contains("only 2 of the 3 shares needed"), "{err}");
    assert!(err.contains("bring 1 more custodian card"), "{err}");
    assert!(err.contains("no PIN was asked"), "{err}");
    assert!(!err.contains("PIN accepted"), "{err}");
    assert!(!out.exists(), "no output file may be left behind");
}

#[test]
fn a_wrong_pin_reports_the_tries_left_and_the_card_is_skipped() {
    let _guard = lock();
    let farm = Farm::connect();
    let dir = scratch("wrong-pin");
    let master = b"wrong pin test master secret".to_vec();
    let (custodians, _, _) = enrolled(&farm, &dir, "wrong-pin", 2, 3, &master);
    let mut bad = custodians.clone();
    bad[0].pin = "999999".to_owned();
    let pins = pins_of(&dir, "bad.pins", &bad);

    // Alone with one good card, the wrong PIN leaves recovery one share short.
    present(&farm, &[&custodians[0], &custodians[1]]);
    let failed = run(&[
        "recover",
        "--out",
        dir.join("no").to_str().unwrap(),
        "--pin-file",
        pins.to_str().unwrap(),
    ]);
    assert_eq!(failed.status.code(), Some(3), "{}", show(&failed));
    let err = text(&failed.stderr);
    assert!(
        err.contains(&custodians[0].fingerprint),
        "the card is named: {err}"
    );
    assert!(err.contains("wrong PIN; 4 tries left"), "{err}");

    // With all three, the card with the wrong PIN is skipped and the others suffice.
    present(&farm, &[&custodians[0], &custodians[1], &custodians[2]]);
    let out = dir.join("recovered");
    let done = run_ok(&[
        "recover",
        "--out",
        out.to_str().unwrap(),
        "--pin-file",
        pins.to_str().unwrap(),
    ]);
    assert!(
        text(&done.stderr).contains("wrong PIN; 3 tries left"),
        "{}",
        show(&done)
    );
    assert_eq!(std::fs::read(&out).unwrap(), master);
    let status = run_ok(&["status", "--reader", farm.reader_name(0)]);
    assert!(
        text(&status.stdout).contains("3 of 5 tries left"),
        "{}",
        show(&status)
    );
}

#[test]
fn a_card_of_another_set_is_named_and_skipped() {
    let _guard = lock();
    let farm = Farm::connect();
    let dir = scratch("other-set");
    let (set_a, pins_a, bundle_a) = enrolled(&farm, &dir, "set-a", 2, 2, b"secret of set A");
    let (set_b, pins_b, _) = enrolled(&farm, &dir, "set-b", 1, 1, b"secret of set B");
    let all_pins =
        std::fs::read_to_string(&pins_a).unwrap() + &std::fs::read_to_string(&pins_b).unwrap();
    let pins = dir.join("all.pins");
    std::fs::write(&pins, all_pins).unwrap();
    present(&farm, &[&set_a[0], &set_b[0], &set_a[1]]);
    let out = dir.join("a.out");
    let done = run_ok(&[
        "recover",
        "--set",
        "set-a",
        "--out",
        out.to_str().unwrap(),
        "--pin-file",
        pins.to_str().unwrap(),
    ]);
    let err = text(&done.stderr);
    assert!(
        err.contains(&format!("Skipped {}", set_b[0].fingerprint)),
        "{err}"
    );
    assert!(err.contains("is not of the set named \"set-a\""), "{err}");
    assert!(err.contains("set \"set-b\""), "{err}");
    assert_eq!(std::fs::read(&out).unwrap(), b"secret of set A");

    // Asking for set A by a prefix of its id skips B even when B's card comes first.
    present(&farm, &[&set_b[0], &set_a[1], &set_a[0]]);
    let out2 = dir.join("a2.out");
    let done = run_ok(&[
        "recover",
        "--set",
        &bundle_a.set_id[..10],
        "--out",
        out2.to_str().unwrap(),
        "--pin-file",
        pins.to_str().unwrap(),
    ]);
    assert!(
        text(&done.stderr).contains(&format!("Skipped {}", set_b[0].fingerprint)),
        "{}",
        show(&done)
    );
    assert_eq!(std::fs::read(&out2).unwrap(), b"secret of set A");
}

#[test]
fn a_4_kib_master_secret_round_trips() {
    let _guard = lock();
    let farm = Farm::connect();
    let dir = scratch("4k");
    let master: Vec<u8> = (0..4096u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let (custodians, pins, _) = enrolled(&farm, &dir, "big", 2, 3, &master);
    present(&farm, &[&custodians[2], &custodians[0]]);
    let done = run_ok(&[
        "recover",
        "--stats",
        "--out",
        "-",
        "--pin-file",
        pins.to_str().unwrap(),
    ]);
    assert_eq!(
        done.stdout, master,
        "the secret goes to standard output when --out - says so"
    );
    assert_unseal_round_trips(&text(&done.stderr), 2);
}

#[test]
fn simulated_cards_never_share_a_key() {
    let _guard = lock();
    let farm = Farm::connect();
    let dir = scratch("keys");
    let readers = farm.reader_names().len() - crate::pinpad::pinpad_reader_indexes().len();
    let custodians = personalise(&farm, &dir, readers);
    let distinct: HashSet<&str> = custodians.iter().map(|c| c.fingerprint.as_str()).collect();
    assert_eq!(distinct.len(), custodians.len(), "{custodians:?}");
}

#[test]
fn recovery_through_one_reader_with_cards_swapped() {
    let _guard = lock();
    let farm = Farm::connect();
    let dir = scratch("swap");
    let master = b"swapped through one reader".to_vec();
    let (custodians, pins, _) = enrolled(&farm, &dir, "swap", 3, 5, &master);
    farm.clear_all();
    let out = dir.join("recovered");
    let mut running = Running::start(&[
        "recover",
        "--reader",
        farm.reader_name(0),
        "--out",
        out.to_str().unwrap(),
        "--pin-file",
        pins.to_str().unwrap(),
    ]);
    // The same card twice is named and skipped, then two more cards complete the quorum.
    for (k, c) in [
        &custodians[4],
        &custodians[4],
        &custodians[1],
        &custodians[3],
    ]
    .iter()
    .enumerate()
    {
        running.expect("Insert");
        farm.insert(&c.card, 0);
        if k == 1 {
            running.expect("already opened (the same card twice?)");
        }
        if k < 3 {
            running.expect("Remove");
            farm.remove(0);
        }
    }
    let (status, _, stderr) = running.finish();
    assert!(status.success(), "{stderr}");
    assert_eq!(std::fs::read(&out).unwrap(), master);
}

#[test]
fn enroll_refuses_foreign_and_blank_cards_and_writes_nothing() {
    let _guard = lock();
    let farm = Farm::connect();
    let dir = scratch("refuse");
    let (old_set, _, _) = enrolled(&farm, &dir, "old-set", 1, 1, b"old");
    let fresh = personalise(&farm, &dir, 2);
    let blank = farm.new_card(None);
    present(&farm, &[&fresh[0], &old_set[0], &fresh[1]]);
    farm.insert(&blank, 3);
    let pins = pins_of(
        &dir,
        "pins",
        &[fresh[0].clone(), fresh[1].clone(), old_set[0].clone()],
    );
    let input = dir.join("m");
    std::fs::write(&input, b"new master").unwrap();
    let bundle = dir.join("new.quorum.json");
    let failed = run(&[
        "enroll",
        "--threshold",
        "2",
        "--label",
        "new-set",
        "--in",
        input.to_str().unwrap(),
        "--bundle",
        bundle.to_str().unwrap(),
        "--pin-file",
        pins.to_str().unwrap(),
    ]);
    assert_eq!(failed.status.code(), Some(4), "{}", show(&failed));
    let err = text(&failed.stderr);
    assert!(err.contains("NOT enrolled"), "{err}");
    assert!(
        err.contains(&old_set[0].fingerprint) && err.contains("already holds a share"),
        "{err}"
    );
    assert!(
        err.contains("old-set"),
        "the foreign card's set is named: {err}"
    );
    assert!(err.contains("is blank"), "{err}");
    assert!(!bundle.exists());
    for i in [0, 2] {
        let status = run_ok(&["status", "--reader", farm.reader_name(i)]);
        assert!(
            text(&status.stdout).contains("State:       PERSONALISED"),
            "nothing was written: {}",
            show(&status)
        );
    }
}

#[test]
fn enroll_through_one_reader_refuses_the_same_card_twice() {
    let _guard = lock();
    let farm = Farm::connect();
    let dir = scratch("enroll-swap");
    let custodians = personalise(&farm, &dir, 3);
    farm.clear_all();
    let pins = pins_of(&dir, "pins", &custodians);
    let input = dir.join("m");
    std::fs::write(&input, b"enrolled card by card").unwrap();
    let bundle = dir.join("swap.quorum.json");
    let mut running = Running::start(&[
        "enroll",
        "--threshold",
        "2",
        "--shares",
        "3",
        "--label",
        "one-reader",
        "--reader",
        farm.reader_name(0),
        "--in",
        input.to_str().unwrap(),
        "--bundle",
        bundle.to_str().unwrap(),
        "--pin-file",
        pins.to_str().unwrap(),
    ]);
    // Registration: card 0, card 0 again (refused), card 1, card 2.
    for (k, c) in [
        &custodians[0],
        &custodians[0],
        &custodians[1],
        &custodians[2],
    ]
    .iter()
    .enumerate()
    {
        running.expect("Insert");
        farm.insert(&c.card, 0);
        if k == 1 {
            running.expect("the same card twice");
        }
        running.expect("Remove");
        farm.remove(0);
    }
    // Writing: any order; the last card may stay in the reader.
    for (k, c) in [&custodians[2], &custodians[0], &custodians[1]]
        .iter()
        .enumerate()
    {
        running.expect("Insert");
        farm.insert(&c.card, 0);
        running.expect("share written, read back and opened");
        if k < 2 {
            running.expect("Remove");
            farm.remove(0);
        }
    }
    let (status, stdout, stderr) = running.finish();
    assert!(status.success(), "{stderr}");
    assert!(
        text(&stdout).contains("Enrolled set \"one-reader\" (2-of-3)"),
        "{}",
        text(&stdout)
    );
    let parsed = Bundle::parse(&std::fs::read_to_string(&bundle).unwrap()).unwrap();
    assert_eq!(parsed.records.len(), 3);

    present(&farm, &[&custodians[1], &custodians[2]]);
    let done = run_ok(&[
        "recover",
        "--out",
        "-",
        "--pin-file",
        pins.to_str().unwrap(),
    ]);
    assert_eq!(done.stdout, b"enrolled card by card");
}

#[test]
fn enroll_reads_standard_input_and_names_a_card_too_small_for_the_record() {
    let _guard = lock();
    let farm = Farm::connect();
    let dir = scratch("small-card");
    let mut custodians = personalise(&farm, &dir, 2);
    // A third card installed with the smallest record capacity.
    let small = farm.new_card(Some(512));
    farm.insert(&small, 2);
    let pin_path = pin_file(&dir, "init-pin", &["112233".to_owned()]);
    let done = run_ok(&[
        "init",
        "--reader",
        farm.reader_name(2),
        "--pin-file",
        pin_path.to_str().unwrap(),
    ]);
    let fingerprint = text(&done.stdout)
        .split("Fingerprint: ")
        .nth(1)
        .unwrap()
        .trim()
        .to_owned();
    custodians.push(Custodian {
        card: small,
        fingerprint: fingerprint.clone(),
        pin: "112233".to_owned(),
    });
    let pins = pins_of(&dir, "pins", &custodians);
    let bundle = dir.join("b.json");
    let big = vec![0x5au8; 1000];
    let failed = run_with_stdin(
        &[
            "enroll",
            "--threshold",
            "2",
            "--label",
            "too-big",
            "--bundle",
            bundle.to_str().unwrap(),
            "--pin-file",
            pins.to_str().unwrap(),
        ],
        &big,
    );
    assert_eq!(failed.status.code(), Some(4), "{}", show(&failed));
    let err = text(&failed.stderr);
    assert!(
        err.contains("NOT enrolled")
            && err.contains(&fingerprint)
            && err.contains("at most 512 bytes"),
        "{err}"
    );
    assert!(err.contains("nothing was written"), "{err}");
    assert!(!bundle.exists());

    // Without the small card, the same secret from standard input enrolls and recovers.
    present(&farm, &[&custodians[0], &custodians[1]]);
    let enrolled = run_with_stdin(
        &[
            "enroll",
            "--threshold",
            "2",
            "--label",
            "from-stdin",
            "--bundle",
            bundle.to_str().unwrap(),
            "--pin-file",
            pins.to_str().unwrap(),
        ],
        &big,
    );
    assert!(enrolled.status.success(), "{}", show(&enrolled));
    let done = run_ok(&[
        "recover",
        "--out",
        "-",
        "--pin-file",
        pins.to_str().unwrap(),
    ]);
    assert_eq!(done.stdout, big);
}

#[test]
fn recover_never_overwrites_an_existing_file_without_force() {
    let _guard = lock();
    let farm = Farm::connect();
    let dir = scratch("no-overwrite");
    let (custodians, pins, _) = enrolled(&farm, &dir, "keep", 1, 1, b"the new secret");
    present(&farm, &[&custodians[0]]);
    let out = dir.join("existing");
    std::fs::write(&out, b"precious").unwrap();
    let refused = run(&[
        "recover",
        "--out",
        out.to_str().unwrap(),
        "--pin-file",
        pins.to_str().unwrap(),
    ]);
    assert_eq!(refused.status.code(), Some(8), "{}", show(&refused));
    assert!(
        text(&refused.stderr).contains("refusing to overwrite"),
        "{}",
        show(&refused)
    );
    assert_eq!(std::fs::read(&out).unwrap(), b"precious");
    run_ok(&[
        "recover",
        "--out",
        out.to_str().unwrap(),
        "--force",
        "--pin-file",
        pins.to_str().unwrap(),
    ]);
    assert_eq!(std::fs::read(&out).unwrap(), b"the new secret");
}

#[test]
fn readers_and_status_show_each_card_without_a_pin() {
    let _guard = lock();
    let farm = Farm::connect();
    let dir = scratch("readers");
    let (set, _, bundle) = enrolled(&farm, &dir, "listed-set", 1, 1, b"x");
    let personalised = personalise(&farm, &dir, 1);
    let blank = farm.new_card(None);
    let foreign = farm.new_card_without_applet();
    present(&farm, &[&personalised[0], &set[0]]);
    farm.insert(&blank, 2);
    farm.insert(&foreign, 3);
    let listed = text(&run_ok(&["readers"]).stdout);
    let line = |i: usize| {
        let name = farm.reader_name(i);
        listed
            .lines()
            .find(|l| l.starts_with(&format!("{name}: ")))
            .unwrap_or_else(|| panic!("reader {name} not listed:\n{listed}"))
            .to_owned()
    };
    assert!(
        line(0).contains("PERSONALISED") && line(0).contains(&personalised[0].fingerprint),
        "{listed}"
    );
    assert!(
        line(1).contains("ENROLLED") && line(1).contains("set \"listed-set\""),
        "{listed}"
    );
    assert!(line(2).contains("BLANK"), "{listed}");
    assert!(line(3).contains("without the quorum applet"), "{listed}");
    assert!(line(4).contains("no card"), "{listed}");
    // Readers come by name; a pinpad reader says it has a keypad, even when empty.
    let names: Vec<&str> = listed
        .lines()
        .filter_map(|l| l.split_once(": ").map(|(name, _)| name))
        .map(|name| name.trim_end_matches(" (keypad)"))
        .collect();
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(names, sorted, "{listed}");
    for index in crate::pinpad::pinpad_reader_indexes() {
        let pinpad = crate::pinpad::Pinpad::for_reader(index);
        let name = pinpad.reader_name();
        assert!(
            listed
                .lines()
                .any(|l| l.starts_with(&format!("{name} (keypad): "))),
            "{listed}"
        );
    }
    assert!(!line(0).contains("(keypad)"), "{listed}");

    let status = text(&run_ok(&["status", "--reader", farm.reader_name(1)]).stdout);
    assert!(
        status.contains(&format!("Set id:      {}", bundle.set_id)),
        "{status}"
    );
    assert!(
        status.contains(&format!("Fingerprint: {}", set[0].fingerprint)),
        "{status}"
    );
    assert!(status.contains("5 of 5 tries left"), "{status}");
    // The applet's release, by the protocol version its SELECT answers (the simulator's is 1.4).
    assert!(
        status.contains("\nCard:        quorum applet, protocol version 1.4\n"),
        "{status}"
    );
    let blank_status = text(&run_ok(&["status", "--reader", farm.reader_name(2)]).stdout);
    assert!(
        blank_status
            .contains("PIN:         none yet (a blank card gets its PIN at `quorumctl init`)"),
        "{blank_status}"
    );
    let ambiguous = run(&["status"]);
    assert_eq!(ambiguous.status.code(), Some(2), "{}", show(&ambiguous));
    assert!(
        text(&ambiguous.stderr).contains("choose one with --reader"),
        "{}",
        show(&ambiguous)
    );
}
