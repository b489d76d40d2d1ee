//! A card pulled out between any two APDUs of each multi-APDU operation quorumctl runs on a
//! card: PIN change, factory reset, the new card's record write in add-card, enrollment of
//! a 2-of-2 set, and one cut inside reshare's phase 1 record write. The farm pulls the card
//! right after its k-th answer (`pull-after`), for every k the operation takes; afterwards
//! the card holds its old state or its new one, never a mix, and quorumctl's exit code and
//! message say what happened and what to do.

use std::ffi::CString;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::{Duration, Instant};

use quorum_protocol::bundle::Bundle;

use crate::farm::{connect, lock, transmit, Farm};
use crate::fixtures::{init_fingerprint, personalise_in, pins_of, text, Custodian};
use crate::run::{pin_file, run, run_ok, scratch, show};

/// SELECT of the quorum applet.
const SELECT: [u8; 15] = [
    0x00, 0xA4, 0x04, 0x00, 0x09, 0xF0, 0x51, 0x55, 0x4F, 0x52, 0x55, 0x4D, 0x01, 0x01, 0x00,
];
/// GET STATUS.
const GET_STATUS: [u8; 5] = [0x80, 0x10, 0x00, 0x00, 0x00];
const PERSONALISED: u8 = 0x01;
const ENROLLED: u8 = 0x02;
const BLANK: u8 = 0x00;

/// Phrases that tell the operator nothing changed; wrong when the card did change.
const NOTHING_CHANGED: [&str; 5] = [
    "nothing was written",
    "nothing on the card changed",
    "nothing was erased",
    "the set is as it was",
    "no card was written",
];

/// What a card holds after a cut.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Held {
    Old,
    New,
}

/// The outcomes of one card over all cut points of one operation, in k order.
struct Sweep {
    what: &'static str,
    apdus: u32,
    held: Vec<Held>,
}

impl Sweep {
    fn new(what: &'static str, apdus: u32) -> Sweep {
        Sweep {
            what,
            apdus,
            held: Vec::new(),
        }
    }

    /// The card's outcomes, one letter per cut point: o = old state, N = new state.
    fn letters(&self) -> String {
        self.held
            .iter()
            .map(|h| if *h == Held::Old { 'o' } else { 'N' })
            .collect()
    }

    /// One commit point: old state up to it, new state after it, the first cut (after
    /// SELECT) old and the last (after the operation's last answer) new.
    fn finish(self) {
        let letters = self.letters();
        eprintln!(
            "cut: {}: {} APDUs, {} cut points, outcomes by k: {letters}",
            self.what,
            self.apdus,
            self.held.len()
        );
        assert_eq!(self.held.len(), self.apdus as usize, "{}", self.what);
        assert!(
            letters.starts_with('o') && letters.ends_with('N') && !letters.contains("No"),
            "{}: expected old states, then new ones: {letters}",
            self.what
        );
    }
}

/// The card's state as GET STATUS reports it, read below quorumctl.
struct Status {
    state: u8,
    tries: u8,
    limit: u8,
    has_key: bool,
}

fn status_of(farm: &Farm, reader: usize) -> Status {
    let card = connect(farm, reader);
    assert_eq!(
        transmit(&card, &SELECT).1,
        0x9000,
        "SELECT in reader {reader}"
    );
    let (data, sw) = transmit(&card, &GET_STATUS);
    assert_eq!(sw, 0x9000, "GET STATUS in reader {reader}");
    // state, flags, tries left, retry limit, capacity(2), public(2), sealed(2), key length
    assert!(data.len() >= 11, "GET STATUS answered {} bytes", data.len());
    Status {
        state: data[0],
        tries: data[2],
        limit: data[3],
        has_key: data[10] != 0,
    }
}

/// VERIFY with `pin` in its 12-byte block; returns the status word.
fn verify_sw(card: &pcsc::Card, pin: &str) -> u16 {
    let mut apdu = vec![0x00, 0x20, 0x00, 0x81, 0x0C];
    apdu.extend(pin.bytes());
    apdu.resize(5 + 12, 0xFF);
    transmit(card, &apdu).1
}

/// Runs quorumctl once without a cut (with `--trace`) and returns how many command APDUs
/// the card in each of `readers` answered meanwhile, as the farm counts them.
fn count_apdus(farm: &Farm, readers: &[usize], args: &[&str]) -> (Vec<u32>, Output) {
    let before: Vec<u32> = readers.iter().map(|&r| farm.pull_after(r, 0)).collect();
    let mut traced = args.to_vec();
    traced.push("--trace");
    let out = run_ok(&traced);
    let counts = readers
        .iter()
        .zip(before)
        .map(|(&r, b)| farm.pull_after(r, 0) - b)
        .collect();
    (counts, out)
}

/// The APDUs of a `--trace` run that start with `prefix` (hex, spaced as the trace prints).
fn traced(out: &Output, prefix: &str) -> usize {
    text(&out.stderr)
        .lines()
        .filter(|l| l.starts_with(&format!(">>> {prefix}")))
        .count()
}

/// How many insertions and removals pcscd's event handler has seen in `reader`.
pub(crate) fn reader_events(farm: &Farm, reader: usize) -> u32 {
    let name = CString::new(farm.reader_name(reader)).unwrap();
    let mut states = [pcsc::ReaderState::new(name, pcsc::State::UNAWARE)];
    farm.context()
        .get_status_change(Duration::ZERO, &mut states)
        .unwrap_or_else(|e| panic!("pcscd status of reader {reader}: {e}"));
    states[0].event_count()
}

/// Waits until pcscd's event handler has seen the card leave `reader` (its event count
/// moved on from `before` and the reader is empty). A reader merely reported empty is not
/// enough: when quorumctl's last exchange failed, pcscd marks the reader empty at once, and
/// a card put back before the event handler's next poll would never be seen again.
pub(crate) fn wait_until_seen_out(farm: &Farm, reader: usize, before: u32) {
    let name = CString::new(farm.reader_name(reader)).unwrap();
    let mut states = [pcsc::ReaderState::new(name, pcsc::State::UNAWARE)];
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match farm.context().get_status_change(left, &mut states) {
            Ok(()) | Err(pcsc::Error::Timeout) => {}
            Err(e) => panic!("pcscd status of reader {reader}: {e}"),
        }
        let seen = states[0].event_state().contains(pcsc::State::EMPTY)
            && states[0].event_count() != before;
        if seen {
            return;
        }
        assert!(
            !left.is_zero(),
            "pcscd's event handler did not see the card leave reader {reader}"
        );
        states[0].sync_current_state();
    }
}

/// The APDUs of a `--trace` run that start with `prefix` and got an answer.
fn answered(out: &Output, prefix: &str) -> usize {
    let err = text(&out.stderr);
    let lines: Vec<&str> = err.lines().collect();
    lines
        .windows(2)
        .filter(|w| {
            w[0].starts_with(&format!(">>> {prefix}"))
                && w[1].starts_with("<<< ")
                && !w[1].starts_with("<<< no response")
        })
        .count()
}

/// Whether a `--trace` line sends an APDU in extended-length form (Lc `00 HH LL`, traced as one
/// 6-digit word), which a short-APDU reader answers itself: the card never sees it.
pub(crate) fn sends_extended(line: &str) -> bool {
    line.starts_with(">>> ")
        && !line.starts_with(">>> CONTROL")
        && line.split(' ').nth(5).is_some_and(|lc| lc.len() == 6)
}

/// The PUT RECORD APDUs of a `--trace` run sent in extended-length form.
fn extended_put_records(out: &Output) -> usize {
    text(&out.stderr)
        .lines()
        .filter(|l| l.starts_with(">>> 80 14") && sends_extended(l))
        .count()
}

/// Arms a pull of the card in `reader` right after its `k`-th answer, runs quorumctl,
/// checks the card was pulled, and puts it back once pcscd has seen it go.
fn cut(farm: &Farm, reader: usize, card: &str, k: u32, args: &[&str]) -> Output {
    let events = reader_events(farm, reader);
    farm.pull_after(reader, k);
    let out = run(args);
    let now_in = farm
        .cards()
        .into_iter()
        .find(|(id, _)| id == card)
        .and_then(|(_, r)| r);
    assert_eq!(
        now_in,
        None,
        "card {card} should have been pulled after answer {k}:\n{}",
        show(&out)
    );
    wait_until_seen_out(farm, reader, events);
    farm.insert(card, reader);
    out
}

/// quorumctl's verdict on a cut after answer `k` of `apdus`: success exactly when the cut
/// came after the last answer; otherwise a non-zero exit, a message that says the card was
/// pulled out and to insert it again, and no claim that nothing changed when it did.
fn assert_told(what: &str, k: u32, apdus: u32, out: &Output, changed: bool) {
    if k == apdus {
        assert!(
            out.status.success(),
            "{what}: cut after the last answer:\n{}",
            show(out)
        );
        return;
    }
    assert!(
        !out.status.success(),
        "{what}: cut after answer {k} of {apdus}, yet success:\n{}",
        show(out)
    );
    let err = text(&out.stderr).to_lowercase();
    assert!(
        err.contains("pulled out") || err.contains("was removed"),
        "{what}, k={k}: the message must say the card left the reader:\n{}",
        show(out)
    );
    assert!(
        err.contains("insert") && err.contains("again"),
        "{what}, k={k}: the message must say what to do:\n{}",
        show(out)
    );
    if changed {
        for claim in NOTHING_CHANGED {
            assert!(
                !err.contains(claim),
                "{what}, k={k}: the card changed, yet quorumctl says {claim:?}:\n{}",
                show(out)
            );
        }
    }
}

/// The fingerprints quorumctl names as written in a failed enrollment's message.
fn named_as_written(out: &Output) -> Vec<String> {
    let err = text(&out.stderr);
    let Some(start) = err.find("cards already written with this unfinished set: ") else {
        return Vec::new();
    };
    let list = &err[start..];
    let list = &list[list.find(": ").unwrap() + 2..];
    let list = &list[..list.find('.').unwrap_or(list.len())];
    list.split(", ")
        .map(|s| s.split(' ').next().unwrap_or_default().to_owned())
        .collect()
}

fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// Borrowed arguments for [`run`] from owned ones.
fn strs(args: &[String]) -> Vec<&str> {
    args.iter().map(String::as_str).collect()
}

#[test]
fn cut_pin_change_leaves_the_old_pin_or_the_new_one() {
    let _guard = lock();
    let farm = Farm::connect();
    let dir = scratch("cut-pin");
    farm.clear_all();
    let card = personalise_in(&farm, &dir, 0, 0);
    let reader = farm.reader_name(0).to_owned();
    // [current, next]: each change goes from the first to the second; a change that
    // happened swaps them.
    let mut pins = [card.pin.clone(), "97531086".to_owned()];
    let files = |pins: &[String; 2]| {
        (
            pin_file(&dir, "current.pin", &pins[..1]),
            pin_file(&dir, "next.pin", &pins[1..]),
        )
    };
    let change = |current: &PathBuf, next: &PathBuf| {
        vec![
            "change-pin".to_owned(),
            "--reader".to_owned(),
            reader.clone(),
            "--pin-file".to_owned(),
            path(current).to_owned(),
            "--new-pin-file".to_owned(),
            path(next).to_owned(),
        ]
    };
    let (current, next) = files(&pins);
    let args = change(&current, &next);
    let (counts, out) = count_apdus(&farm, &[0], &strs(&args));
    assert_eq!(traced(&out, "00 24"), 1, "one CHANGE REFERENCE DATA");
    pins.swap(0, 1);
    let mut sweep = Sweep::new("change-pin", counts[0]);
    for k in 1..=counts[0] {
        let (current, next) = files(&pins);
        let args = change(&current, &next);
        let out = cut(&farm, 0, &card.card, k, &strs(&args));
        // No try was spent by the cut; exactly one of the two PINs opens the card, and the
        // other costs one try, which the right PIN gives back.
        let before = status_of(&farm, 0);
        assert_eq!(
            (before.state, before.tries),
            (PERSONALISED, before.limit),
            "k={k}"
        );
        let session = connect(&farm, 0);
        assert_eq!(transmit(&session, &SELECT).1, 0x9000);
        let one_try_spent = 0x63C0 | u16::from(before.limit - 1);
        let held = if verify_sw(&session, &pins[1]) == 0x9000 {
            assert_eq!(
                verify_sw(&session, &pins[0]),
                one_try_spent,
                "k={k}: both PINs work"
            );
            assert_eq!(verify_sw(&session, &pins[1]), 0x9000, "k={k}");
            Held::New
        } else {
            assert_eq!(
                verify_sw(&session, &pins[0]),
                0x9000,
                "k={k}: neither PIN works"
            );
            Held::Old
        };
        drop(session);
        assert_eq!(status_of(&farm, 0).tries, before.limit, "k={k}");
        assert_told("change-pin", k, counts[0], &out, held == Held::New);
        sweep.held.push(held);
        if held == Held::New {
            pins.swap(0, 1);
        }
    }
    sweep.finish();
}

/// The same card made new, without leaving its reader (so pcscd need not see a card come
/// and go): factory-reset unless blank, then personalised again with the PIN numbered `k`.
fn renew(farm: &Farm, dir: &Path, reader: usize, card: &Custodian, k: usize) -> Custodian {
    let name = farm.reader_name(reader);
    if status_of(farm, reader).state != BLANK {
        run_ok(&[
            "reset-card",
            "--reader",
            name,
            "--confirm",
            &card.fingerprint,
        ]);
    }
    let pin = format!("{:06}", 135_700 + k * 7);
    let pins = pin_file(dir, "renew.pin", std::slice::from_ref(&pin));
    let done = run_ok(&["init", "--reader", name, "--pin-file", path(&pins)]);
    let fingerprint = init_fingerprint(&done);
    Custodian {
        card: card.card.clone(),
        fingerprint,
        pin,
    }
}

/// Enrolls a 1-of-1 set labelled `label` onto `card`, the only card present, with a master
/// long enough for a record that takes a chain of PUT RECORD APDUs; returns the set's PIN
/// file and bundle.
fn enroll_alone(dir: &Path, label: &str, card: &Custodian) -> (PathBuf, PathBuf) {
    let master = dir.join("long.master");
    std::fs::write(&master, [0x5A; 200]).unwrap();
    let pins = pins_of(dir, &format!("{label}.pins"), std::slice::from_ref(card));
    let bundle = dir.join(format!("{label}.quorum.json"));
    run_ok(&[
        "enroll",
        "--threshold",
        "1",
        "--allow-single-card",
        "--label",
        label,
        "--in",
        path(&master),
        "--bundle",
        path(&bundle),
        "--pin-file",
        path(&pins),
    ]);
    (pins, bundle)
}

/// A 1-of-1 set on a new card in reader 0, every other reader empty: the card, its PIN
/// file, its bundle.
fn one_card_set(farm: &Farm, dir: &Path, label: &str) -> (Custodian, PathBuf, PathBuf) {
    farm.clear_all();
    let card = personalise_in(farm, dir, 0, 0);
    let (pins, bundle) = enroll_alone(dir, label, &card);
    (card, pins, bundle)
}

#[test]
fn cut_reset_leaves_the_card_intact_or_blank() {
    let _guard = lock();
    let farm = Farm::connect();
    let dir = scratch("cut-reset");
    let reset = |c: &Custodian| {
        vec![
            "reset-card".to_owned(),
            "--reader".to_owned(),
            farm.reader_name(0).to_owned(),
            "--confirm".to_owned(),
            c.fingerprint.clone(),
        ]
    };
    let (mut card, _, _) = one_card_set(&farm, &dir, "cut-reset-0");
    let (counts, out) = count_apdus(&farm, &[0], &strs(&reset(&card)));
    assert_eq!(traced(&out, "80 1E"), 1, "one FACTORY RESET");
    // The same card, blank now, holds a set again.
    let mut sets = 0;
    let mut next_set = |card: &Custodian| {
        sets += 1;
        let renewed = renew(&farm, &dir, 0, card, sets);
        let (pins, bundle) = enroll_alone(&dir, &format!("cut-reset-{sets}"), &renewed);
        (renewed, pins, bundle)
    };
    let (mut pins, mut bundle);
    (card, pins, bundle) = next_set(&card);
    let mut sweep = Sweep::new("reset-card", counts[0]);
    for k in 1..=counts[0] {
        let args = reset(&card);
        let out = cut(&farm, 0, &card.card, k, &strs(&args));
        let status = status_of(&farm, 0);
        let held = match status.state {
            ENROLLED => {
                // Old: key, PIN and record intact, the share still opens.
                run_ok(&[
                    "verify",
                    "--bundle",
                    path(&bundle),
                    "--pin-file",
                    path(&pins),
                ]);
                Held::Old
            }
            BLANK => {
                assert!(
                    !status.has_key && status.tries == 0,
                    "k={k}: a blank card keeps nothing"
                );
                Held::New
            }
            other => panic!("k={k}: the card is in state {other:02X}:\n{}", show(&out)),
        };
        assert_told("reset-card", k, counts[0], &out, held == Held::New);
        if held == Held::New && !out.status.success() {
            assert_eq!(out.status.code(), Some(10), "{}", show(&out));
            assert!(
                text(&out.stderr).contains("confirmed the FACTORY RESET"),
                "{}",
                show(&out)
            );
        }
        sweep.held.push(held);
        if held == Held::New {
            (card, pins, bundle) = next_set(&card);
        }
    }
    sweep.finish();
}

#[test]
fn cut_add_card_leaves_the_new_card_personalised_or_enrolled() {
    let _guard = lock();
    let farm = Farm::connect();
    let dir = scratch("cut-add-card");
    // A 1-of-1 set in reader 0; the new card waits in reader 1, which comes after reader 0,
    // so every APDU of the new card (and so every cut) comes after the quorum's share was
    // opened.
    let (quorum, _, base) = one_card_set(&farm, &dir, "cut-grow");
    let newcomer = personalise_in(&farm, &dir, 1, 1);
    let pins_with =
        |newcomer: &Custodian| pins_of(&dir, "add.pins", &[quorum.clone(), newcomer.clone()]);
    let mut renewals = 1;
    let mut renewed = |newcomer: &Custodian| {
        renewals += 1;
        renew(&farm, &dir, 1, newcomer, renewals)
    };
    let add = |pins: &Path, out_bundle: &Path| {
        vec![
            "add-card".to_owned(),
            "--bundle".to_owned(),
            path(&base).to_owned(),
            "--out-bundle".to_owned(),
            path(out_bundle).to_owned(),
            "--name".to_owned(),
            "Newcomer".to_owned(),
            "--pin-file".to_owned(),
            path(pins).to_owned(),
            // A card pulled out while written is waited for this long before giving up.
            "--timeout".to_owned(),
            "1".to_owned(),
        ]
    };
    let args = add(&pins_with(&newcomer), &dir.join("counted.json"));
    let (counts, out) = count_apdus(&farm, &[1], &strs(&args));
    // Protocol 1.4 through readers that carry extended APDUs: the new card's record is one
    // extended-length PUT RECORD (Lc of 3 bytes), so the sweep cuts right before and after it.
    assert_eq!(
        (traced(&out, "90 14"), extended_put_records(&out)),
        (0, 1),
        "the record goes in one extended APDU"
    );
    let err = text(&out.stderr);
    let opened = err
        .find("share opened (1 of 1)")
        .expect("the quorum's share opened");
    let touched = err.find("New card").expect("the new card registered");
    assert!(
        opened < touched,
        "the quorum's share is opened before the new card is touched:\n{err}"
    );
    let mut newcomer = renewed(&newcomer);
    let mut pins = pins_with(&newcomer);
    let reader = farm.reader_name(1).to_owned();
    let mut sweep = Sweep::new("add-card (new card)", counts[0]);
    for k in 1..=counts[0] {
        let grown = dir.join(format!("grown-{k}.json"));
        let args = add(&pins, &grown);
        let out = cut(&farm, 1, &newcomer.card, k, &strs(&args));
        let held = match status_of(&farm, 1).state {
            PERSONALISED => {
                assert!(!grown.exists(), "k={k}: no bundle without the new card");
                Held::Old
            }
            ENROLLED => {
                // New: the card opens its share, whether quorumctl saw the end or not.
                run_ok(&["verify", "--reader", &reader, "--pin-file", path(&pins)]);
                if !out.status.success() {
                    // quorumctl said the card holds its record unchecked; its advice works.
                    assert_eq!(out.status.code(), Some(10), "{}", show(&out));
                    assert!(
                        text(&out.stderr).contains("holds its new record"),
                        "{}",
                        show(&out)
                    );
                    let exported = dir.join(format!("exported-{k}.json"));
                    run_ok(&[
                        "export-bundle",
                        "--reader",
                        &reader,
                        "--out",
                        path(&exported),
                    ]);
                    let bundle =
                        Bundle::parse(&std::fs::read_to_string(&exported).unwrap()).unwrap();
                    assert_eq!((bundle.set_version, bundle.custodians.len()), (2, 2));
                    assert_eq!(bundle.custodians[1].fingerprint, newcomer.fingerprint);
                } else {
                    run_ok(&[
                        "verify",
                        "--reader",
                        &reader,
                        "--bundle",
                        path(&grown),
                        "--pin-file",
                        path(&pins),
                    ]);
                }
                Held::New
            }
            other => panic!(
                "k={k}: the new card is in state {other:02X}:\n{}",
                show(&out)
            ),
        };
        assert_told("add-card", k, counts[0], &out, held == Held::New);
        sweep.held.push(held);
        if held == Held::New {
            newcomer = renewed(&newcomer);
            pins = pins_with(&newcomer);
        }
    }
    sweep.finish();
    // The quorum's card was never written: it still agrees with the first bundle.
    farm.remove(1);
    let quorum_pins = pins_of(&dir, "quorum.pins", &[quorum]);
    run_ok(&[
        "verify",
        "--bundle",
        path(&base),
        "--pin-file",
        path(&quorum_pins),
    ]);
}

#[test]
fn cut_enroll_of_two_cards_leaves_each_personalised_or_enrolled() {
    let _guard = lock();
    let farm = Farm::connect();
    let dir = scratch("cut-enroll");
    let master = dir.join("master");
    std::fs::write(&master, b"a master secret enrolled onto a pair of cards").unwrap();
    let mut made = 2;
    let mut renewed = |reader: usize, card: &Custodian| {
        made += 1;
        renew(&farm, &dir, reader, card, made)
    };
    let mut runs = 0;
    let mut enroll = |pins: &Path| {
        runs += 1;
        let bundle = dir.join(format!("pair-{runs}.json"));
        let args: Vec<String> = [
            "enroll",
            "--threshold",
            "2",
            "--label",
            "cut-pair",
            "--in",
            path(&master),
            "--bundle",
            path(&bundle),
            "--pin-file",
            path(pins),
            // A card pulled out while written is waited for this long before giving up.
            "--timeout",
            "1",
        ]
        .map(str::to_owned)
        .to_vec();
        (args, bundle)
    };
    farm.clear_all();
    // Readers that carry short APDUs only (they answer an extended one 6700 themselves): each
    // record is sent again as a chain of short APDUs, to be cut between any two links.
    farm.short_apdus_only(0, true);
    farm.short_apdus_only(1, true);
    let mut cards = [
        personalise_in(&farm, &dir, 0, 1),
        personalise_in(&farm, &dir, 1, 2),
    ];
    let mut pins = pins_of(&dir, "pair.pins", &cards);
    let (args, _) = enroll(&pins);
    let (counts, out) = count_apdus(&farm, &[0, 1], &strs(&args));
    assert_eq!(
        (extended_put_records(&out), traced(&out, "90 14")),
        (2, 2),
        "each record: an extended APDU refused, then a PUT RECORD chain"
    );
    assert_eq!(
        text(&out.stderr)
            .matches("did not carry an extended-length APDU (status 6700); PUT RECORD again in short APDUs")
            .count(),
        2,
        "{}",
        show(&out)
    );
    for (reader, apdus) in [(0usize, counts[0]), (1, counts[1])] {
        cards = [renewed(0, &cards[0]), renewed(1, &cards[1])];
        pins = pins_of(&dir, "pair.pins", &cards);
        let what = if reader == 0 {
            "enroll 2-of-2, first card cut"
        } else {
            "enroll 2-of-2, second card cut"
        };
        let mut sweep = Sweep::new(what, apdus);
        for k in 1..=apdus {
            let (args, bundle) = enroll(&pins);
            let out = cut(&farm, reader, &cards[reader].card, k, &strs(&args));
            let mut held = [Held::Old; 2];
            for (i, c) in cards.iter().enumerate() {
                held[i] = match status_of(&farm, i).state {
                    PERSONALISED => Held::Old,
                    ENROLLED => {
                        let r = farm.reader_name(i).to_owned();
                        run_ok(&["verify", "--reader", &r, "--pin-file", path(&pins)]);
                        Held::New
                    }
                    other => panic!(
                        "{what}, k={k}: card {} is in state {other:02X}",
                        c.fingerprint
                    ),
                };
            }
            assert_told(what, k, apdus, &out, held.contains(&Held::New));
            if out.status.success() {
                assert_eq!(held, [Held::New; 2], "{what}, k={k}");
                run_ok(&[
                    "verify",
                    "--bundle",
                    path(&bundle),
                    "--pin-file",
                    path(&pins),
                ]);
            } else {
                assert!(
                    !bundle.exists(),
                    "{what}, k={k}: no bundle of an unfinished set"
                );
                // quorumctl names exactly the cards that hold a record of the unfinished set.
                let mut written: Vec<String> = cards
                    .iter()
                    .zip(held)
                    .filter(|(_, h)| *h == Held::New)
                    .map(|(c, _)| c.fingerprint.clone())
                    .collect();
                let mut named = named_as_written(&out);
                written.sort();
                named.sort();
                assert_eq!(named, written, "{what}, k={k}:\n{}", show(&out));
                // Cards changed: "incomplete"; none changed: the card's fault, nothing to undo.
                let expected = if written.is_empty() { 4 } else { 10 };
                assert_eq!(
                    out.status.code(),
                    Some(expected),
                    "{what}, k={k}:\n{}",
                    show(&out)
                );
                if written.is_empty() {
                    assert!(
                        text(&out.stderr).contains("nothing was written")
                            || text(&out.stderr).contains("no card was written"),
                        "{}",
                        show(&out)
                    );
                }
            }
            sweep.held.push(held[reader]);
            for (i, h) in held.iter().enumerate() {
                if *h == Held::New {
                    cards[i] = renewed(i, &cards[i]);
                }
            }
            pins = pins_of(&dir, "pair.pins", &cards);
        }
        sweep.finish();
    }
}

/// Reshare of a 1-of-1 set onto one fresh card, 1-of-1 again.
fn reshare_args(old_bundle: &Path, new_bundle: &Path, pins: &Path) -> Vec<String> {
    [
        "reshare",
        "--threshold",
        "1",
        "--allow-single-card",
        "--label",
        "cut-new",
        "--bundle",
        path(old_bundle),
        "--new-bundle",
        path(new_bundle),
        "--pin-file",
        path(pins),
        // A card pulled out while written is waited for this long before giving up.
        "--timeout",
        "1",
    ]
    .map(str::to_owned)
    .to_vec()
}

#[test]
fn cut_inside_reshare_phase_1_record_write_keeps_the_old_set() {
    let _guard = lock();
    let farm = Farm::connect();
    let dir = scratch("cut-reshare");
    let (old, _, old_bundle) = one_card_set(&farm, &dir, "cut-old");
    // The fresh card's reader carries short APDUs only: its record takes a chain.
    farm.short_apdus_only(1, true);
    let fresh = personalise_in(&farm, &dir, 1, 1);
    let pins = pins_of(&dir, "reshare.pins", &[old, fresh]);
    // Where the fresh card's PUT RECORD chain starts, from a run without a cut: its APDUs
    // from the first chain link up to phase 2 (which touches only the old card) are the
    // tail of its count.
    let args = reshare_args(&old_bundle, &dir.join("counted.json"), &pins);
    let (counts, out) = count_apdus(&farm, &[1], &strs(&args));
    let err = text(&out.stderr);
    let chain = err
        .find(">>> 90 14")
        .expect("the new record takes a PUT RECORD chain");
    let phase_2 = err
        .find("Phase 3 of 3")
        .expect("the wiping phase announced");
    let tail = err[chain..phase_2]
        .lines()
        .filter(|l| l.starts_with(">>> ") && !l.starts_with(">>> CONTROL"))
        .count() as u32;
    let k = counts[0] - tail + 1;

    // Again with a new old set and a new fresh card, cut right after the chain's first link.
    let (old, _, old_bundle) = one_card_set(&farm, &dir, "cut-old-2");
    farm.short_apdus_only(1, true);
    let fresh = personalise_in(&farm, &dir, 1, 2);
    let pins = pins_of(&dir, "reshare.pins", &[old, fresh.clone()]);
    let new_bundle = dir.join("cut-new.json");
    let mut args = reshare_args(&old_bundle, &new_bundle, &pins);
    args.push("--trace".to_owned());
    let out = cut(&farm, 1, &fresh.card, k, &strs(&args));
    // The extended APDU answered 6700 by the reader, then the chain in short APDUs: its first
    // link answered, its last one sent and cut off.
    assert_eq!(
        (
            extended_put_records(&out),
            answered(&out, "90 14"),
            traced(&out, "80 14"),
            answered(&out, "80 14")
        ),
        (1, 1, 2, 1),
        "the cut came between the chain's links:\n{}",
        show(&out)
    );
    assert_told("reshare phase 1", k, counts[0], &out, false);
    assert!(
        text(&out.stderr).contains("stopped in phase 2 of 3")
            && text(&out.stderr).contains("the old set is still complete"),
        "{}",
        show(&out)
    );
    assert!(!new_bundle.exists());
    assert_eq!(
        status_of(&farm, 1).state,
        PERSONALISED,
        "the fresh card kept no part of its record"
    );
    farm.remove(1);
    run_ok(&[
        "verify",
        "--bundle",
        path(&old_bundle),
        "--pin-file",
        path(&pins),
    ]);
    eprintln!(
        "cut: reshare phase 1: the fresh card answers {} APDUs; cut after answer {k} (the chain's first link): old state",
        counts[0]
    );
}
