//! `--stats` on the commands that talk to cards: each card session's line says what it cost
//! after SELECT, and the figures are those of pcscd's own APDU log (SELECT aside).

use std::path::Path;
use std::time::{Duration, Instant};

use crate::farm::{lock, Farm, Sim};
use crate::fixtures::{init_fingerprint, text};
use crate::pinpad::{pinpad_reader_indexes, Pinpad};
use crate::run::{pin_file, run_ok, scratch, show};

/// Round trips, commands, GET RESPONSEs, PIN pad entries, bytes sent and received, as
/// `--stats` prints them.
#[derive(Debug, PartialEq, Eq, Default)]
struct Figures {
    round_trips: u64,
    commands: u64,
    continuations: u64,
    pinpad_entries: u64,
    sent: u64,
    received: u64,
}

/// The figures of the one `stats:` line `command` printed for the card in `reader`.
fn printed(stderr: &str, reader: &str, command: &str) -> Figures {
    let head = format!("stats: card in \"{reader}\" {command}: ");
    let lines: Vec<&str> = stderr.lines().filter(|l| l.starts_with(&head)).collect();
    assert_eq!(lines.len(), 1, "one stats line expected:\n{stderr}");
    let rest = lines[0].strip_prefix(&head).unwrap();
    assert!(rest.ends_with(" after SELECT"), "{rest}");
    // "N APDU round trips (C commands + G GET RESPONSE[ + P PIN pad entries]), S bytes
    // sent, R bytes received"
    let numbers: Vec<u64> = rest
        .split(|c: char| !c.is_ascii_digit())
        .filter(|w| !w.is_empty())
        .map(|w| w.parse().unwrap())
        .collect();
    let entries = rest.contains(" PIN pad entries");
    assert_eq!(numbers.len(), if entries { 6 } else { 5 }, "{rest}");
    let n = numbers.len();
    Figures {
        round_trips: numbers[0],
        commands: numbers[1],
        continuations: numbers[2],
        pinpad_entries: if entries { numbers[3] } else { 0 },
        sent: numbers[n - 2],
        received: numbers[n - 1],
    }
}

/// The same figures counted from pcscd's APDU log since byte `from`: every APDU and its
/// answer, SELECT's (INS A4) left out. Waits briefly for pcscd to have written `at_least`
/// exchanges.
fn logged(log: &Path, from: u64, at_least: u64) -> Figures {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let all = std::fs::read(log).unwrap_or_else(|e| panic!("{}: {e}", log.display()));
        let slice = String::from_utf8_lossy(&all[from as usize..]).into_owned();
        let mut figures = Figures::default();
        let mut in_select = false;
        let mut exchanges = 0;
        for line in slice.lines() {
            let bytes = |tag: &str| {
                line.split_once(tag)
                    .map(|(_, hex)| hex.split_whitespace().count() as u64)
            };
            if let Some(n) = bytes("APDU: ") {
                exchanges += 1;
                let ins = line
                    .split_once("APDU: ")
                    .unwrap()
                    .1
                    .split_whitespace()
                    .nth(1);
                in_select = ins == Some("A4");
                if in_select {
                    continue;
                }
                if ins == Some("C0") {
                    figures.continuations += 1;
                } else {
                    figures.commands += 1;
                }
                figures.round_trips += 1;
                figures.sent += n;
            } else if let Some(n) = bytes("SW: ") {
                if !in_select {
                    figures.received += n;
                }
            }
        }
        if exchanges >= at_least || Instant::now() > deadline {
            return figures;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Runs quorumctl with `--stats` and checks its line against pcscd's log of the run.
fn check(args: &[&str], reader: &str, command: &str) -> std::process::Output {
    let log = Sim::pcscd_log();
    let from = std::fs::metadata(&log).map(|m| m.len()).unwrap_or(0);
    let done = run_ok(args);
    let said = printed(&text(&done.stderr), reader, command);
    // pcscd logs the SELECTs too: wait for more exchanges than the line counts.
    let wire = logged(&log, from, said.round_trips + 1);
    assert_eq!(said, wire, "--stats against pcscd's log:\n{}", show(&done));
    done
}

#[test]
fn stats_of_init_status_and_change_pin_match_pcscds_apdu_log() {
    let _guard = lock();
    let farm = Farm::connect();
    farm.clear_all();
    let dir = scratch("stats");
    let card = farm.new_card(None);
    farm.insert(&card, 0);
    let reader = farm.reader_name(0);
    let pin = pin_file(&dir, "pin", &["246810".to_owned()]);
    let done = check(
        &[
            "init",
            "--stats",
            "--reader",
            reader,
            "--pin-file",
            pin.to_str().unwrap(),
        ],
        reader,
        "init",
    );
    assert!(!init_fingerprint(&done).is_empty());
    assert!(
        printed(&text(&done.stderr), reader, "init").round_trips > 0,
        "{}",
        show(&done)
    );
    // Protocol 1.2 and later: a personalised card's SELECT answer holds all status shows.
    let status = check(&["status", "--stats", "--reader", reader], reader, "status");
    let said = printed(&text(&status.stderr), reader, "status");
    assert_eq!(said.round_trips, 0, "{}", show(&status));
    let new_pin = pin_file(&dir, "new-pin", &["13579135".to_owned()]);
    check(
        &[
            "change-pin",
            "--stats",
            "--reader",
            reader,
            "--pin-file",
            pin.to_str().unwrap(),
            "--new-pin-file",
            new_pin.to_str().unwrap(),
        ],
        reader,
        "change-pin",
    );
    // Without --stats nothing is said.
    let quiet = run_ok(&["status", "--reader", reader]);
    assert!(!text(&quiet.stderr).contains("stats:"), "{}", show(&quiet));
}

#[test]
fn on_a_pinpad_the_pin_entry_is_a_round_trip_and_the_readers_own_queries_are_not() {
    let _guard = lock();
    let farm = Farm::connect();
    farm.clear_all();
    let index = pinpad_reader_indexes()[0];
    let pad = Pinpad::for_reader(index);
    let reader = farm.reader_name(index).to_owned();
    let card = farm.new_card(None);
    farm.insert(&card, index);
    pad.type_pin("97531864");
    pad.type_pin("97531864");
    let log = Sim::pcscd_log();
    let from = std::fs::metadata(&log).map(|m| m.len()).unwrap_or(0);
    let done = run_ok(&["--trace", "init", "--stats", "--reader", &reader]);
    let stderr = text(&done.stderr);
    let said = printed(&stderr, &reader, "init");
    // The trace shows every reader control: the reader's own queries and the PIN entries.
    let controls: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with(">>> CONTROL "))
        .collect();
    let queries = controls
        .iter()
        .filter(|l| l.contains("GET FEATURE REQUEST") || l.contains("GET TLV PROPERTIES"))
        .count() as u64;
    assert!(queries >= 1, "the feature list was asked for:\n{stderr}");
    assert!(said.pinpad_entries >= 1, "{stderr}");
    assert_eq!(
        said.pinpad_entries,
        controls.len() as u64 - queries,
        "only the entries that reach the card count:\n{stderr}"
    );
    assert_eq!(
        said.round_trips,
        said.commands + said.continuations + said.pinpad_entries
    );
    // pcscd logs the APDUs sent with SCardTransmit (the entries go by SCardControl): the
    // commands and continuations are those.
    let wire = logged(&log, from, said.commands + 1);
    assert_eq!(
        (said.commands, said.continuations),
        (wire.commands, wire.continuations),
        "{}",
        show(&done)
    );
}
