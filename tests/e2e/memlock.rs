//! A ceremony run where memory cannot be locked says so once, on standard error, and goes
//! on (README, "While it runs, quorumctl ..."). The suite runs as root, whose CAP_IPC_LOCK
//! lifts the memlock limit, so quorumctl is started through util-linux's setpriv, which
//! drops that capability from the inheritable and bounding sets (an exec'd root process
//! then lacks it), and prlimit, which lowers the limit to 64 KiB.

use crate::farm::{lock, Farm};
use crate::fixtures::{init_fingerprint, text};
use crate::run::{pin_file, quorumctl_via, run_ok, scratch, show};

const WARNING: &str = "could not lock its memory against swapping";

/// CAP_IPC_LOCK (bit 14) is in this process's effective set.
fn may_lock() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            let caps = status.lines().find(|l| l.starts_with("CapEff:"))?;
            u64::from_str_radix(caps.split_whitespace().nth(1)?, 16).ok()
        })
        .is_some_and(|caps| caps & (1 << 14) != 0)
}

/// The wrapper that leaves quorumctl without CAP_IPC_LOCK and with a 64 KiB memlock limit.
fn unprivileged() -> Vec<&'static str> {
    let mut wrapper = vec![];
    if may_lock() {
        wrapper.extend([
            "setpriv",
            "--inh-caps=-ipc_lock",
            "--bounding-set=-ipc_lock",
            "--",
        ]);
    }
    wrapper.extend(["prlimit", "--memlock=65536:65536", "--"]);
    wrapper
}

#[test]
fn a_ceremony_that_cannot_lock_memory_says_so_once_and_goes_on() {
    let _guard = lock();
    let farm = Farm::connect();
    let dir = scratch("memlock");
    farm.clear_all();
    let card = farm.new_card(None);
    farm.insert(&card, 0);
    let reader = farm.reader_name(0);
    let pins = pin_file(&dir, "pin", &["246813".to_owned()]);
    let wrapper = unprivileged();

    let done = quorumctl_via(
        &wrapper,
        &[
            "init",
            "--reader",
            reader,
            "--pin-file",
            pins.to_str().unwrap(),
        ],
    )
    .output()
    .unwrap();
    assert!(done.status.success(), "{}", show(&done));
    let said = text(&done.stderr);
    assert_eq!(said.matches(WARNING).count(), 1, "{}", show(&done));
    let line = said.lines().find(|l| l.contains(WARNING)).unwrap();
    for part in [
        "memlock limit is 64 KiB",
        "lacks CAP_IPC_LOCK",
        "ulimit -l unlimited",
        "grant CAP_IPC_LOCK",
        "the ceremony continues.",
    ] {
        assert!(line.contains(part), "{part}: {line}");
    }
    // The ceremony did its work: the card is personalised.
    let fingerprint = init_fingerprint(&done);
    let status = run_ok(&["status", "--reader", reader]);
    assert!(
        text(&status.stdout).contains("PERSONALISED")
            && text(&status.stdout).contains(&fingerprint),
        "{}",
        show(&status)
    );

    // A command that handles no secret has nothing to warn about.
    let read_only = quorumctl_via(&wrapper, &["status", "--reader", reader])
        .output()
        .unwrap();
    assert!(read_only.status.success(), "{}", show(&read_only));
    assert!(
        !text(&read_only.stderr).contains(WARNING),
        "{}",
        show(&read_only)
    );

    // Where locking is allowed, the same kind of ceremony says nothing about it.
    if may_lock() {
        let changed = pin_file(&dir, "pins", &[format!("{fingerprint} 246813")]);
        let new_pin = pin_file(&dir, "new-pin", &["135792".to_owned()]);
        let ok = run_ok(&[
            "change-pin",
            "--reader",
            reader,
            "--pin-file",
            changed.to_str().unwrap(),
            "--new-pin-file",
            new_pin.to_str().unwrap(),
        ]);
        assert!(!text(&ok.stderr).contains(WARNING), "{}", show(&ok));
    }
}
