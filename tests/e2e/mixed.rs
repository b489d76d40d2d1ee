//! A mix of readers: the cards present are used first, then quorumctl waits for the next
//! card in any reader (fewer readers than cards, without swapping through one reader).

use crate::farm::{lock, Farm, ALL_READERS, FARM_READERS};
use crate::fixtures::{personalise, pins_of, text};
use crate::run::{scratch, Running};

#[test]
fn enroll_and_recover_with_cards_present_and_more_inserted_into_any_reader() {
    let _guard = lock();
    let farm = Farm::connect();
    let dir = scratch("mixed");
    let custodians = personalise(&farm, &dir, 3);
    let pins = pins_of(&dir, "mixed.pins", &custodians);
    let master = dir.join("mixed.master");
    std::fs::write(&master, b"a mix of readers").unwrap();
    let bundle = dir.join("mixed.quorum.json");

    // Two cards in readers 0 and 1; the third comes into reader 2 when asked.
    farm.remove(2);
    let mut running = Running::start(&[
        "enroll",
        "--threshold",
        "2",
        "--shares",
        "3",
        "--label",
        "mixed",
        "--in",
        master.to_str().unwrap(),
        "--bundle",
        bundle.to_str().unwrap(),
        "--any-reader",
        "--timeout",
        "30",
        "--pin-file",
        pins.to_str().unwrap(),
    ]);
    running.expect("into any free reader");
    farm.insert(&custodians[2].card, 2);
    let (status, stdout, stderr) = running.finish();
    assert!(status.success(), "{stderr}");
    assert!(
        text(&stdout).contains("Enrolled set \"mixed\" (2-of-3)"),
        "{stderr}"
    );
    assert_eq!(
        stderr.matches("Insert").count(),
        1,
        "the cards left in their readers are written without being asked for again:\n{stderr}"
    );

    // Recover: one card present, the second inserted into another reader.
    farm.clear_all();
    farm.insert(&custodians[1].card, 3);
    let out = dir.join("mixed.key");
    let mut running = Running::start(&[
        "recover",
        "--any-reader",
        "--timeout",
        "30",
        "--out",
        out.to_str().unwrap(),
        "--pin-file",
        pins.to_str().unwrap(),
    ]);
    running.expect("into any free reader");
    farm.insert(&custodians[0].card, 5);
    let (status, _, stderr) = running.finish();
    assert!(status.success(), "{stderr}");
    assert_eq!(std::fs::read(&out).unwrap(), b"a mix of readers");
}

#[test]
fn any_reader_enroll_and_recover_with_sixteen_readers() {
    let _guard = lock();
    let farm = Farm::connect();
    // pcscd serves 16 readers (its most): 16 readers and the plug-and-play entry are 17
    // reader states, which pcsc-lite 1.9.9 refuses in one SCardGetStatusChange (the
    // backend then leaves the entry out: quorum_pcsc::watch_plan).
    let listed = farm
        .context()
        .list_readers_owned()
        .expect("pcscd lists its readers");
    assert_eq!(listed.len(), ALL_READERS, "{listed:?}");
    let dir = scratch("sixteen");
    let custodians = personalise(&farm, &dir, 3);
    let pins = pins_of(&dir, "sixteen.pins", &custodians);
    let master = dir.join("sixteen.master");
    std::fs::write(&master, b"sixteen readers").unwrap();
    let bundle = dir.join("sixteen.quorum.json");
    let last = FARM_READERS - 1;

    // Two cards wait in the first and the last farm reader; the third is asked for and
    // comes into a reader in the middle.
    farm.clear_all();
    farm.insert(&custodians[0].card, 0);
    farm.insert(&custodians[1].card, last);
    let mut running = Running::start(&[
        "enroll",
        "--threshold",
        "2",
        "--shares",
        "3",
        "--label",
        "sixteen",
        "--in",
        master.to_str().unwrap(),
        "--bundle",
        bundle.to_str().unwrap(),
        "--any-reader",
        "--timeout",
        "30",
        "--pin-file",
        pins.to_str().unwrap(),
    ]);
    running.expect("into any free reader");
    farm.insert(&custodians[2].card, 7);
    let (status, stdout, stderr) = running.finish();
    assert!(status.success(), "{stderr}");
    assert!(
        text(&stdout).contains("Enrolled set \"sixteen\" (2-of-3)"),
        "{stderr}"
    );

    // Recover: nothing present at first, then cards into the last reader and reader 4.
    farm.clear_all();
    let out = dir.join("sixteen.key");
    let mut running = Running::start(&[
        "recover",
        "--any-reader",
        "--timeout",
        "30",
        "--out",
        out.to_str().unwrap(),
        "--pin-file",
        pins.to_str().unwrap(),
    ]);
    running.expect("into any free reader");
    farm.insert(&custodians[2].card, last);
    running.expect("into any free reader");
    farm.insert(&custodians[0].card, 4);
    let (status, _, stderr) = running.finish();
    assert!(status.success(), "{stderr}");
    assert_eq!(std::fs::read(&out).unwrap(), b"sixteen readers");

    // A wait over 16 readers ends at once on Ctrl-C (the wait breaker): a recovery waiting
    // for its first card ends as interrupted.
    farm.clear_all();
    let mut running = Running::start(&[
        "recover",
        "--any-reader",
        "--timeout",
        "0",
        "--out",
        dir.join("never.key").to_str().unwrap(),
        "--pin-file",
        pins.to_str().unwrap(),
    ]);
    running.expect("into any free reader");
    std::thread::sleep(std::time::Duration::from_millis(500));
    let asked = std::time::Instant::now();
    running.signal(libc::SIGINT);
    let (status, _, stderr) = running.finish();
    assert_eq!(status.code(), Some(11), "interrupted: {stderr}");
    assert!(
        asked.elapsed() < std::time::Duration::from_secs(2),
        "Ctrl-C took {:?} to end the wait",
        asked.elapsed()
    );
}
