//! A reader unplugged in the middle of a ceremony (issue 5): quorumctl stops with exit
//! code 7 (`pcsc`) and a message that names the reader, says it disappeared and what to
//! do; no output file is written; nothing on the cards changed; and the reader works
//! again once it is plugged back in (the e2e tests share one pcscd).

use std::path::Path;
use std::time::{Duration, Instant};

use crate::farm::{lock, Farm};
use crate::fixtures::{enrolled, text, Custodian};
use crate::pinpad::{pinpad_reader_indexes, Pinpad};
use crate::run::{run, run_ok, scratch, show, Running};

/// The exit code README "Exit codes" gives to an unusable reader (`pcsc`).
const EXIT_PCSC: i32 = 7;

/// quorumctl must give up soon after pcscd reports the reader gone, not at its --timeout.
const NOTICED_WITHIN: Duration = Duration::from_secs(20);

/// Plugs the reader back in if the test fails while it is out, so that the tests after
/// this one (same pcscd) find it usable.
struct PlugBackOnFailure<'a>(&'a Pinpad);

impl Drop for PlugBackOnFailure<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.0.plug_quietly();
        }
    }
}

/// Checks how a ceremony that lost its reader ended: exit 7, a message naming the reader
/// that says it disappeared and what to do, no output file.
fn assert_reader_gone(
    status: std::process::ExitStatus,
    stderr: &str,
    reader: &str,
    out: &Path,
    since: Instant,
) {
    let elapsed = since.elapsed();
    assert_eq!(status.code(), Some(EXIT_PCSC), "{stderr}");
    let last = stderr
        .lines()
        .rev()
        .find(|l| l.starts_with("error:"))
        .unwrap_or_else(|| panic!("quorumctl printed no error line:\n{stderr}"));
    assert!(
        last.contains(&format!("\"{reader}\"")) && last.contains("disappeared"),
        "the error must name the reader and say it disappeared: {last}"
    );
    let lower = last.to_lowercase();
    assert!(
        lower.contains("unplugged") && lower.contains("plug it in again"),
        "the error must say why and what to do: {last}"
    );
    assert!(
        !out.exists(),
        "no output file may be written: {} exists",
        out.display()
    );
    assert!(
        elapsed < NOTICED_WITHIN,
        "quorumctl took {elapsed:?} to notice the reader was gone:\n{stderr}"
    );
}

/// The card left in the unplugged reader is as it was: still enrolled, no PIN try used.
fn assert_card_untouched(pad: &Pinpad) {
    let status = run_ok(&["status", "--reader", pad.reader_name()]);
    let text = String::from_utf8_lossy(&status.stdout).into_owned();
    assert!(
        text.contains("ENROLLED") && text.contains("5 of 5 tries left"),
        "the card must be untouched after the reader came back:\n{}",
        show(&status)
    );
}

/// Opens custodian `c`'s share through the pinpad reader, as the first of two, and
/// leaves quorumctl asking for the next card.
fn open_first_share(running: &mut Running, farm: &Farm, pad: &Pinpad, c: &Custodian, keypad: bool) {
    running.expect("Insert a custodian card");
    if keypad {
        pad.type_pin(&c.pin);
    }
    farm.insert(&c.card, pad.index());
    running.expect("share opened (1 of 2)");
    running.expect("Remove the card");
    farm.remove(pad.index());
    running.expect("Insert a custodian card");
}

/// Starts a recovery through `reader` into `out`, PINs as `pins` says.
fn recovery(reader: &str, out: &Path, pins: &[&str]) -> Running {
    let mut args = vec![
        "recover",
        "--reader",
        reader,
        "--timeout",
        "60",
        "--out",
        out.to_str().unwrap(),
    ];
    args.extend_from_slice(pins);
    Running::start(&args)
}

#[test]
fn a_reader_unplugged_mid_recovery_stops_it_with_exit_7_and_works_again_once_plugged() {
    let _guard = lock();
    let farm = Farm::connect();
    let pad = Pinpad::for_reader(pinpad_reader_indexes()[0]);
    let _plug_back = PlugBackOnFailure(&pad);
    let reader = pad.reader_name().to_owned();
    let dir = scratch("unplug");
    let master = b"kept safe while the reader was away".to_vec();
    let (custodians, pins, _) = enrolled(&farm, &dir, "unplug", 2, 3, &master);
    farm.clear_all();

    // 1. Unplugged while quorumctl waits for the second card (PINs from a file).
    let out = dir.join("waiting.key");
    let mut running = recovery(
        &reader,
        &out,
        &["--no-pinpad", "--pin-file", pins.to_str().unwrap()],
    );
    open_first_share(&mut running, &farm, &pad, &custodians[0], false);
    let since = Instant::now();
    pad.unplug();
    let (status, stdout, stderr) = running.finish();
    assert!(stdout.is_empty(), "nothing on standard output");
    assert_reader_gone(status, &stderr, &reader, &out, since);
    // A one-card command names the unplugged reader as such, not as unknown.
    let status = run(&["status", "--reader", &reader]);
    assert_eq!(status.status.code(), Some(EXIT_PCSC), "{}", show(&status));
    assert!(
        text(&status.stderr).contains("disappeared"),
        "{}",
        show(&status)
    );

    // Plugged back in, the reader serves the next ceremony of the same pcscd.
    pad.plug();
    farm.insert(&custodians[1].card, pad.index());
    assert_card_untouched(&pad);
    farm.remove(pad.index());

    // 2. Unplugged while the second card is in use: its PIN prompt waits on the keypad.
    let out = dir.join("in-use.key");
    let mut running = recovery(&reader, &out, &["--pinpad-timeout", "30"]);
    open_first_share(&mut running, &farm, &pad, &custodians[0], true);
    farm.insert(&custodians[2].card, pad.index());
    running.expect(&format!(
        "on the keypad of reader \"{}\"",
        pad.reader_name()
    ));
    pad.wait_for_prompt();
    let since = Instant::now();
    pad.unplug();
    let (status, _, stderr) = running.finish();
    assert_reader_gone(status, &stderr, &reader, &out, since);
    assert_eq!(
        pad.last_outcome(),
        "unplugged",
        "the prompt ended because the reader went away"
    );

    // The card stayed in the reader: once it is back, the card is as it was, and the
    // recovery succeeds through the same reader.
    pad.plug();
    assert_card_untouched(&pad);
    farm.remove(pad.index());
    let out = dir.join("after.key");
    let mut running = recovery(
        &reader,
        &out,
        &["--no-pinpad", "--pin-file", pins.to_str().unwrap()],
    );
    open_first_share(&mut running, &farm, &pad, &custodians[2], false);
    farm.insert(&custodians[1].card, pad.index());
    let (status, _, stderr) = running.finish();
    assert!(status.success(), "{stderr}");
    assert_eq!(std::fs::read(&out).unwrap(), master);
}
