//! Ceremonies that forgive: Ctrl-C (SIGINT) in the middle of enroll's and reshare's write
//! phase finishes the card step in progress, logs, says where things stand and exits with
//! the `interrupted` status (11); `--replace-unfinished` then overwrites the cards of the
//! unfinished set without a factory reset; Ctrl-C at a host PIN prompt gives the terminal
//! its echo back; a card pulled out too early while it is written is asked back and the
//! ceremony finishes.

use std::path::Path;

use serde_json::Value;

use crate::cut::{reader_events, sends_extended, wait_until_seen_out};
use crate::farm::{lock, Farm};
use crate::fixtures::{enrolled, personalise, personalise_in, pins_of, present, text, Custodian};
use crate::run::{log_path, quorumctl, run, run_ok, scratch, show, Running, Terminal};

/// The exit code README "Exit codes" gives to a ceremony stopped on request (`interrupted`).
const INTERRUPTED: i32 = 11;

fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// The ceremony log's lines, parsed.
fn log_lines() -> Vec<Value> {
    std::fs::read_to_string(log_path())
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// The cards of a log line as (fingerprint, outcome).
fn cards_of(line: &Value) -> Vec<(String, String)> {
    line["cards"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["fingerprint"].as_str().unwrap().to_owned(),
                c["outcome"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// Recovers with the first `n` of `cards` in readers and checks the master.
fn recovers(farm: &Farm, dir: &Path, cards: &[&Custodian], pins: &Path, master: &[u8]) {
    present(farm, cards);
    let out = dir.join(format!("recovered-{}.key", cards[0].fingerprint));
    run_ok(&["recover", "--out", path(&out), "--pin-file", path(pins)]);
    assert_eq!(std::fs::read(&out).unwrap(), master);
}

#[test]
fn ctrl_c_in_enroll_write_phase_then_replace_unfinished_finishes_without_a_reset() {
    let _guard = lock();
    let farm = Farm::connect();
    let dir = scratch("sigint-enroll");
    let cards = personalise(&farm, &dir, 3);
    farm.clear_all();
    let pins = pins_of(&dir, "sigint.pins", &cards);
    let master = b"a master enrolled twice: once cut short, once for good".to_vec();
    let input = dir.join("master");
    std::fs::write(&input, &master).unwrap();
    let bundle = dir.join("sigint.quorum.json");
    let before = log_lines().len();
    let reader = farm.reader_name(0).to_owned();
    let mut running = Running::start(&[
        "enroll",
        "--threshold",
        "2",
        "--label",
        "sigint",
        "--in",
        path(&input),
        "--bundle",
        path(&bundle),
        "--pin-file",
        path(&pins),
        "--reader",
        &reader,
        "--shares",
        "3",
        "--timeout",
        "60",
    ]);
    for c in &cards {
        running.expect("Insert custodian card");
        farm.insert(&c.card, 0);
        running.expect("Remove the card");
        farm.remove(0);
    }
    running.expect("Insert a registered card (0 of 3 written so far)");
    farm.insert(&cards[0].card, 0);
    running.expect("share written, read back and opened");
    // quorumctl now waits for the card to be taken out: the custodian presses Ctrl-C, which
    // ends the wait blocked in pcscd at once (the wait breaker, not the end of a slice).
    running.expect("Remove the card");
    std::thread::sleep(std::time::Duration::from_millis(300));
    let asked = std::time::Instant::now();
    running.signal(libc::SIGINT);
    let (status, _, stderr) = running.finish();
    assert_eq!(status.code(), Some(INTERRUPTED), "{stderr}");
    assert!(
        asked.elapsed() < quorum_ceremony::interrupt::WAIT_SLICE,
        "Ctrl-C took {:?} to end the wait",
        asked.elapsed()
    );
    for said in [
        "stopped on request (Ctrl-C or a termination signal)",
        "1 of its 3 cards hold their share of this unfinished set",
        &cards[0].fingerprint,
        "fewer than the 2 needed hold a share",
        "No bundle was written",
        "enroll --replace-unfinished",
    ] {
        assert!(stderr.contains(said), "{said:?} missing:\n{stderr}");
    }
    assert!(!bundle.exists(), "no bundle for an unfinished set");
    // The log: the start of the write phase, then the interruption, chained.
    let lines = log_lines();
    assert_eq!(lines.len(), before + 2, "{lines:#?}");
    let (started, ended) = (&lines[before], &lines[before + 1]);
    assert_eq!(started["outcome"], "started");
    assert_eq!(started["set_label"], "sigint");
    assert_eq!(started["set_id"], ended["set_id"]);
    let planned: Vec<(String, String)> = cards
        .iter()
        .map(|c| (c.fingerprint.clone(), "pending".to_owned()))
        .collect();
    assert_eq!(cards_of(started), planned);
    assert_eq!(ended["outcome"], "interrupted");
    assert!(ended["message"]
        .as_str()
        .unwrap()
        .contains("stopped on request"));
    let mut written = planned.clone();
    written[0].1 = "ok".to_owned();
    assert_eq!(cards_of(ended), written);
    run_ok(&["log", "verify"]);

    // The same cards again, all present: a plain enroll refuses the written one, before
    // any PIN, and points at --replace-unfinished.
    present(&farm, &[&cards[0], &cards[1], &cards[2]]);
    let enroll_again = |extra: &[&str]| {
        let mut args = vec![
            "enroll",
            "--threshold",
            "2",
            "--label",
            "sigint",
            "--in",
            path(&input),
            "--bundle",
            path(&bundle),
            "--pin-file",
            path(&pins),
        ];
        args.extend_from_slice(extra);
        run(&args)
    };
    let refused = enroll_again(&[]);
    assert_eq!(refused.status.code(), Some(4), "{}", show(&refused));
    let err = text(&refused.stderr);
    assert!(
        err.contains("no PIN was asked") && err.contains("--replace-unfinished"),
        "{err}"
    );
    // Without the log there is no evidence: refused before anything, saying why.
    let no_log = enroll_again(&["--replace-unfinished", "--no-log"]);
    assert_eq!(no_log.status.code(), Some(2), "{}", show(&no_log));
    assert!(
        text(&no_log.stderr).contains("--no-log turns the log off"),
        "{}",
        show(&no_log)
    );
    let done = enroll_again(&["--replace-unfinished"]);
    assert!(done.status.success(), "{}", show(&done));
    let err = text(&done.stderr);
    assert!(
        err.contains(&cards[0].fingerprint)
            && err.contains("set \"sigint\"")
            && err.contains("never completed: it will be overwritten"),
        "{err}"
    );
    assert!(bundle.exists());
    recovers(&farm, &dir, &[&cards[0], &cards[2]], &pins, &master);

    // A completed set is still refused, with the log line that says it completed.
    present(&farm, &[&cards[0], &cards[1], &cards[2]]);
    std::fs::remove_file(&bundle).unwrap();
    let completed = enroll_again(&["--replace-unfinished"]);
    assert_eq!(completed.status.code(), Some(4), "{}", show(&completed));
    assert!(
        text(&completed.stderr).contains("which completed (line"),
        "{}",
        show(&completed)
    );
}

#[test]
fn ctrl_c_in_reshare_phase_1_keeps_the_old_set_and_replace_unfinished_finishes() {
    let _guard = lock();
    let farm = Farm::connect();
    let dir = scratch("sigint-reshare");
    let master = b"a master moved to a new set after a false start".to_vec();
    let (old, _, _) = enrolled(&farm, &dir, "sigint-old", 2, 2, &master);
    let old_bundle = dir.join("sigint-old.quorum.json");
    farm.clear_all();
    let fresh = [
        personalise_in(&farm, &dir, 2, 7),
        personalise_in(&farm, &dir, 3, 8),
    ];
    farm.clear_all();
    let everyone: Vec<Custodian> = old.iter().chain(&fresh).cloned().collect();
    let pins = pins_of(&dir, "reshare.pins", &everyone);
    let new_bundle = dir.join("sigint-new.quorum.json");
    let reader = farm.reader_name(0).to_owned();
    let reshare_args = |extra: &[&'static str]| {
        let mut args: Vec<String> = [
            "reshare",
            "--threshold",
            "2",
            "--label",
            "sigint-new",
            "--bundle",
            path(&old_bundle),
            "--new-bundle",
            path(&new_bundle),
            "--pin-file",
            path(&pins),
        ]
        .map(str::to_owned)
        .to_vec();
        args.extend(extra.iter().map(|s| s.to_string()));
        args
    };
    let mut args = reshare_args(&["--shares", "2", "--timeout", "60"]);
    args.extend(["--reader".to_owned(), reader.clone()]);
    let mut running = Running::start(&args.iter().map(String::as_str).collect::<Vec<_>>());
    for c in &old {
        running.expect("Insert old-set custodian card");
        farm.insert(&c.card, 0);
        running.expect("Remove the card");
        farm.remove(0);
    }
    for c in &fresh {
        running.expect("Insert new-set card");
        farm.insert(&c.card, 0);
        running.expect("Remove the card");
        farm.remove(0);
    }
    running.expect("Insert a registered new-set card (0 of 2 written so far)");
    farm.insert(&fresh[0].card, 0);
    running.expect("written, read back and opened");
    running.expect("Remove the card");
    running.signal(libc::SIGINT);
    let (status, _, stderr) = running.finish();
    assert_eq!(status.code(), Some(INTERRUPTED), "{stderr}");
    for said in [
        "stopped in phase 2 of 3",
        "stopped on request",
        "the old set is still complete",
        "1 of its 2 cards written",
        "--replace-unfinished",
    ] {
        assert!(stderr.contains(said), "{said:?} missing:\n{stderr}");
    }
    assert!(!new_bundle.exists());
    let lines = log_lines();
    let ended = lines.last().unwrap();
    assert_eq!(ended["outcome"], "interrupted");
    assert_eq!(ended["set_label"], "sigint-new");
    assert_eq!(
        cards_of(ended),
        vec![
            (fresh[0].fingerprint.clone(), "ok".to_owned()),
            (fresh[1].fingerprint.clone(), "pending".to_owned()),
        ]
    );
    assert_eq!(lines[lines.len() - 2]["outcome"], "started");

    // The old set still recovers, and a reshare with every card present and
    // --replace-unfinished writes the new set over the unfinished one.
    recovers(&farm, &dir, &[&old[0], &old[1]], &pins, &master);
    present(&farm, &[&old[0], &old[1], &fresh[0], &fresh[1]]);
    let done = run(&reshare_args(&["--replace-unfinished"])
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>());
    assert!(done.status.success(), "{}", show(&done));
    assert!(
        text(&done.stderr).contains("started and never completed"),
        "{}",
        show(&done)
    );
    recovers(&farm, &dir, &[&fresh[0], &fresh[1]], &pins, &master);
}

#[test]
fn ctrl_c_at_a_host_pin_prompt_gives_the_terminal_its_echo_back() {
    let _guard = lock();
    let farm = Farm::connect();
    let dir = scratch("sigint-prompt");
    farm.clear_all();
    let card = personalise_in(&farm, &dir, 0, 3);
    let mut cmd = quorumctl(&["change-pin", "--reader", farm.reader_name(0)]);
    let terminal = Terminal::new();
    let child = terminal
        .control(&mut cmd)
        .spawn()
        .expect("quorumctl starts");
    // Wait for the prompt on the terminal, then type Ctrl-C there (the terminal sends
    // SIGINT to quorumctl, its foreground process).
    terminal.wait_for("PIN of card");
    assert!(terminal.echo_off(), "echo is off while the PIN is asked");
    terminal.type_in(b"\x03");
    let out = child.wait_with_output().unwrap();
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(INTERRUPTED), "{err}");
    assert!(err.contains("PIN entry was interrupted"), "{err}");
    assert!(
        !terminal.echo_off(),
        "the terminal echoes again after Ctrl-C"
    );
    let last = log_lines().pop().unwrap();
    assert_eq!(last["command"], "change-pin");
    assert_eq!(last["outcome"], "interrupted");
    // Nothing reached the card: no PIN try was spent.
    let status = run_ok(&["status", "--reader", farm.reader_name(0)]);
    assert!(
        text(&status.stdout).contains("5 of 5 tries left"),
        "{}",
        show(&status)
    );
    assert!(!card.fingerprint.is_empty());
}

/// The position (1-based, among the card's command APDUs) of the first traced APDU
/// starting with `prefix` in a `--trace` run where every APDU went to one card.
fn position_of(stderr: &str, prefix: &str) -> u32 {
    // The farm's count of answered APDUs leaves out those a short-APDU reader answered itself.
    stderr
        .lines()
        .filter(|l| l.starts_with(">>> ") && !l.starts_with(">>> CONTROL") && !sends_extended(l))
        .position(|l| l.starts_with(&format!(">>> {prefix}")))
        .map(|p| p as u32 + 1)
        .unwrap_or_else(|| panic!("no {prefix} APDU traced:\n{stderr}"))
}

#[test]
fn a_card_pulled_early_while_written_is_asked_back_and_the_enroll_finishes() {
    let _guard = lock();
    let farm = Farm::connect();
    let dir = scratch("pulled-write");
    let master = dir.join("master");
    std::fs::write(&master, [0x5A; 200]).unwrap();
    let enroll_args = |pins: &Path, bundle: &Path| -> Vec<String> {
        [
            "enroll",
            "--threshold",
            "1",
            "--allow-single-card",
            "--label",
            "pulled-write",
            "--in",
            path(&master),
            "--bundle",
            path(bundle),
            "--pin-file",
            path(pins),
            "--timeout",
            "60",
        ]
        .map(str::to_owned)
        .to_vec()
    };
    // A reference run finds where the record's commit (the last PUT RECORD piece) falls. The
    // reader carries short APDUs only, so the record takes a chain of them, to be cut inside.
    farm.clear_all();
    farm.short_apdus_only(0, true);
    let reference = personalise_in(&farm, &dir, 0, 1);
    let pins = pins_of(&dir, "ref.pins", std::slice::from_ref(&reference));
    let mut traced = enroll_args(&pins, &dir.join("ref.json"));
    traced.push("--trace".to_owned());
    let out = run_ok(&traced.iter().map(String::as_str).collect::<Vec<_>>());
    let commit = position_of(&text(&out.stderr), "80 14");
    assert!(
        commit > position_of(&text(&out.stderr), "90 14"),
        "the record takes a chain"
    );
    // Pulled one piece before the commit: written again. Pulled right after it: read back
    // and checked.
    for (k, said) in [
        (
            commit - 1,
            "kept its previous record: writing its share again",
        ),
        (
            commit,
            "holds its new record: reading it back and checking it",
        ),
    ] {
        farm.clear_all();
        farm.short_apdus_only(0, true);
        let card = personalise_in(&farm, &dir, 0, 2 + k as usize);
        let pins = pins_of(&dir, "pulled.pins", std::slice::from_ref(&card));
        let bundle = dir.join(format!("pulled-{k}.json"));
        let events = reader_events(&farm, 0);
        farm.pull_after(0, k);
        let args = enroll_args(&pins, &bundle);
        let mut running = Running::start(&args.iter().map(String::as_str).collect::<Vec<_>>());
        running.expect("was pulled out of");
        running.expect(&format!("Put card {} back into", card.fingerprint));
        wait_until_seen_out(&farm, 0, events);
        farm.insert(&card.card, 0);
        running.expect(said);
        let (status, _, stderr) = running.finish();
        assert!(status.success(), "k={k}:\n{stderr}");
        assert!(bundle.exists(), "k={k}");
        let recovered = dir.join(format!("pulled-{k}.key"));
        run_ok(&[
            "recover",
            "--bundle",
            path(&bundle),
            "--out",
            path(&recovered),
            "--pin-file",
            path(&pins),
        ]);
        assert_eq!(std::fs::read(&recovered).unwrap(), [0x5A; 200]);
    }
}
