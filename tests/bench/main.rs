//! scripts/bench's measurements (every test here is `#[ignore]`d: scripts/bench runs them
//! in order with `--ignored --exact`, never `cargo test`):
//!
//! - `ceremonies`: enroll, recover and verify on the simulator (tests/e2e's harness, in a
//!   shape of its own: 16 farm readers, no pinpads, no OpenPGP cards) at each m, in the
//!   one-reader and any-reader modes; per card, round trips and bytes after SELECT from
//!   `--stats` checked against pcscd's APDU log; the quorumctl process's CPU time;
//! - `comparison`: gfsplit/gfcombine and ssss splitting and combining the same secrets;
//! - `report`: report.json and report.md from those, criterion's estimates and the applet's
//!   footprint (applet/target/footprint.json);
//! - `report_shape`: the report is there and has every part (what `scripts/bench --smoke`
//!   checks; never a speed).
//!
//! Configuration by environment (scripts/bench sets it): `QUORUM_BENCH_OUT` (folder of the
//! JSON and Markdown files), `QUORUM_BENCH_SIZES` (m, default `5,16,64,255`),
//! `QUORUM_BENCH_MODES` (default `one-reader,any-reader`), `QUORUM_BENCH_RUNS` (runs per
//! measurement, default 3), `QUORUM_BENCH_CRITERION` (criterion's output folder),
//! `QUORUM_BENCH_FOOTPRINT` (the applet's footprint JSON), `QUORUM_BENCH_COMMIT`.

#[path = "../e2e/farm.rs"]
mod farm;
#[path = "../e2e/run.rs"]
#[allow(dead_code)]
mod run;

mod compare;
mod drive;
mod report;
mod wire;

use std::path::{Path, PathBuf};

use serde::Serialize;

use drive::{Mode, Table};
use farm::{connect, transmit, Farm, Shape, Sim};
use wire::{CardFigures, Logged};

/// Every custodian's PIN (a PIN file line without a fingerprint applies to any card).
const PIN: &str = "246810";

/// SELECT of the quorum applet.
const SELECT: [u8; 14] = [
    0x00, 0xA4, 0x04, 0x00, 0x09, 0xF0, 0x51, 0x55, 0x4F, 0x52, 0x55, 0x4D, 0x01, 0x01,
];

/// The farm readers the bench asks for: pcscd's most, all plain (no keypad to type on).
const READERS: usize = 16;

/// One quorumctl run, as measured.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct Sample {
    /// enroll, recover or verify.
    pub ceremony: String,
    /// one-reader or any-reader.
    pub mode: String,
    /// Cards in the set.
    pub m: usize,
    /// Threshold.
    pub n: usize,
    /// Master secret bytes.
    pub secret_len: usize,
    /// Whether quorumctl exited 0.
    pub success: bool,
    /// The last lines quorumctl printed when it failed.
    pub failure: Option<String>,
    /// User + system CPU time of the quorumctl process.
    pub cpu_ms: f64,
    /// Start to exit, card swaps included.
    pub wall_s: f64,
    /// Each card's `--stats` figures, in the order printed.
    pub cards: Vec<CardFigures>,
    /// pcscd's log of the run.
    pub logged: Logged,
}

/// The bench's settings, from the environment.
struct Settings {
    out: PathBuf,
    sizes: Vec<usize>,
    modes: Vec<Mode>,
    runs: usize,
}

impl Settings {
    fn read() -> Settings {
        let var = |k: &str| std::env::var(k).ok().filter(|v| !v.trim().is_empty());
        let out = PathBuf::from(var("QUORUM_BENCH_OUT").expect("QUORUM_BENCH_OUT: where to write"));
        std::fs::create_dir_all(&out).expect("QUORUM_BENCH_OUT can be made");
        let sizes = var("QUORUM_BENCH_SIZES")
            .unwrap_or_else(|| "5,16,64,255".into())
            .split(',')
            .map(|s| {
                s.trim()
                    .parse()
                    .expect("QUORUM_BENCH_SIZES: numbers 1..=255")
            })
            .collect();
        let modes = var("QUORUM_BENCH_MODES")
            .unwrap_or_else(|| "one-reader,any-reader".into())
            .split(',')
            .map(Mode::parse)
            .collect();
        let runs = var("QUORUM_BENCH_RUNS")
            .map(|r| r.parse().expect("QUORUM_BENCH_RUNS: a number"))
            .unwrap_or(3);
        Settings {
            out,
            sizes,
            modes,
            runs,
        }
    }
}

/// The threshold the bench uses at m cards: 3 of 5 as in issue 14's table, else every card
/// (n = m: the largest record, and every card used at recovery).
pub fn threshold(m: usize) -> usize {
    if m == 5 {
        3
    } else {
        m
    }
}

/// The record capacity cards get at m: the default (8192 bytes) up to 64 custodians, the
/// largest install parameter (7FFF) above, where a record outgrows the default.
fn capacity(m: usize) -> Option<u16> {
    (m > 64).then_some(0x7FFF)
}

/// Makes `m` new cards and personalises each (INITIALISE with [`PIN`], straight through
/// PC/SC: quorumctl init is not what is measured), as many at a time as there are readers.
fn personalise(farm: &Farm, m: usize) -> Vec<String> {
    let cards: Vec<String> = (0..m).map(|_| farm.new_card(capacity(m))).collect();
    let mut initialise = vec![0x80, 0x12, 0x00, 0x00, 0x0D, 0x05];
    initialise.extend(PIN.bytes());
    initialise.resize(5 + 13, 0xFF);
    initialise.push(0x00);
    for chunk in cards.chunks(READERS) {
        farm.clear_all();
        let placed: Vec<(&str, usize)> = chunk
            .iter()
            .enumerate()
            .map(|(r, c)| (c.as_str(), r))
            .collect();
        farm.insert_all(&placed);
        for r in 0..chunk.len() {
            let card = connect(farm, r);
            assert_eq!(transmit(&card, &SELECT).1, 0x9000, "SELECT in reader {r}");
            let (key, sw) = transmit(&card, &initialise);
            assert_eq!((sw, key.len()), (0x9000, 65), "INITIALISE in reader {r}");
        }
    }
    farm.clear_all();
    cards
}

/// One set on the bench: its cards, bundle and files.
struct Set {
    cards: Vec<String>,
    bundle: PathBuf,
    pins: PathBuf,
    dir: PathBuf,
    m: usize,
    n: usize,
    secret_len: usize,
}

/// Runs one quorumctl command and turns it into a sample.
fn measure(table: &mut Table<'_>, set: &Set, ceremony: &str, mode: Mode, args: &[&str]) -> Sample {
    let log = Sim::pcscd_log();
    let from = wire::log_offset(&log);
    // A fresh ceremony log each run: every run verifies the whole log first.
    let ceremony_log = set.dir.join("ceremony-log.jsonl");
    let _ = std::fs::remove_file(&ceremony_log);
    let done = drive::run(table, args, &ceremony_log);
    let logged = wire::logged_since(&log, from);
    let cards = wire::stats_lines(&done.stderr, ceremony);
    let failure = (!done.success).then(|| {
        let lines: Vec<&str> = done.stderr.lines().collect();
        lines[lines.len().saturating_sub(4)..].join("\n")
    });
    eprintln!(
        "bench: {ceremony} {} m={} n={} {} B: {} in {:.1} s, {:.1} ms CPU, {} cards in --stats",
        mode.name(),
        set.m,
        set.n,
        set.secret_len,
        if done.success { "ok" } else { "FAILED" },
        done.wall.as_secs_f64(),
        done.cpu_ms,
        cards.len()
    );
    if let Some(f) = &failure {
        eprintln!("bench: it said:\n{f}");
    }
    Sample {
        ceremony: ceremony.into(),
        mode: mode.name().into(),
        m: set.m,
        n: set.n,
        secret_len: set.secret_len,
        success: done.success,
        failure,
        cpu_ms: done.cpu_ms,
        wall_s: done.wall.as_secs_f64(),
        cards,
        logged,
    }
}

/// The mode's options: `--reader` with reader 0's name, or `--any-reader`.
fn mode_args(farm: &Farm, mode: Mode) -> Vec<String> {
    match mode {
        Mode::OneReader => vec!["--reader".into(), farm.reader_name(0).into()],
        Mode::AnyReader => vec!["--any-reader".into()],
    }
}

/// Enrolls a fresh set of m cards in `mode`; returns the set and the sample.
fn enroll(farm: &Farm, root: &Path, mode: Mode, m: usize, secret_len: usize) -> (Set, Sample) {
    let n = threshold(m);
    let dir = root.join(format!("{}-m{m}-{secret_len}", mode.name()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let pins = run::pin_file(&dir, "pins", &[PIN.to_owned()]);
    let master = dir.join("master");
    std::fs::write(&master, vec![0x5Au8; secret_len]).unwrap();
    let set = Set {
        cards: personalise(farm, m),
        bundle: dir.join("set.quorum.json"),
        pins,
        dir,
        m,
        n,
        secret_len,
    };
    let (n_s, m_s) = (n.to_string(), m.to_string());
    let label = format!("bench-{m}");
    let base = [
        "enroll",
        "--stats",
        "--threshold",
        &n_s,
        "--shares",
        &m_s,
        "--label",
        &label,
        "--in",
        master.to_str().unwrap(),
        "--bundle",
        set.bundle.to_str().unwrap(),
    ];
    let sample = swapping(farm, &set, mode, &base, &set.cards);
    (set, sample)
}

/// Runs a ceremony of `set` whose cards are swapped in `mode`: `base` with the PIN file, a
/// timeout and the mode's options, `cards` the ones it uses.
fn swapping(farm: &Farm, set: &Set, mode: Mode, base: &[&str], cards: &[String]) -> Sample {
    let pins = set.pins.to_str().unwrap();
    let mut args: Vec<String> = base.iter().map(|s| s.to_string()).collect();
    args.extend(["--pin-file", pins, "--timeout", "60"].map(String::from));
    args.extend(mode_args(farm, mode));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut table = Table::new(farm, mode, cards, cards.len());
    measure(&mut table, set, base[0], mode, &args)
}

/// Recovers `set` in `mode` with its first n cards.
fn recover(farm: &Farm, set: &Set, mode: Mode) -> Sample {
    let out = set.dir.join("recovered");
    let base = [
        "recover",
        "--stats",
        "--bundle",
        set.bundle.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--force",
    ];
    let sample = swapping(farm, set, mode, &base, &set.cards[..set.n]);
    if sample.success {
        assert_eq!(
            std::fs::read(&out).unwrap(),
            vec![0x5Au8; set.secret_len],
            "the recovered secret is the enrolled one"
        );
    }
    sample
}

/// One custodian checks their card alone (`verify --reader R --bundle`).
fn verify(farm: &Farm, set: &Set) -> Sample {
    let args = [
        "verify",
        "--stats",
        "--bundle",
        set.bundle.to_str().unwrap(),
        "--pin-file",
        set.pins.to_str().unwrap(),
        "--reader",
        farm.reader_name(0),
    ];
    let mut table = Table::new(farm, Mode::OneReader, &set.cards[..1], 0);
    farm.insert(&set.cards[0], 0);
    measure(&mut table, set, "verify", Mode::OneReader, &args)
}

#[test]
#[ignore = "run by scripts/bench"]
fn ceremonies() {
    let settings = Settings::read();
    Shape::set(Shape {
        farm_readers: READERS,
        pinpads: Some(0),
        openpgp: 0,
    });
    let farm = Farm::connect();
    assert_eq!(
        farm.reader_names().len(),
        READERS,
        "the bench's farm readers"
    );
    let root = std::env::temp_dir().join(format!("quorum-bench-{}", std::process::id()));
    let mut samples = Vec::new();
    let save = |samples: &Vec<Sample>| {
        let json = serde_json::to_string_pretty(samples).unwrap();
        std::fs::write(settings.out.join("ceremonies.json"), json).unwrap();
    };
    // Each size and mode; at m = 5 also a 4096-byte master, so the per-card figures can be
    // seen not to grow with the secret.
    let mut cases: Vec<(usize, usize, Mode)> = Vec::new();
    for &m in &settings.sizes {
        for &mode in &settings.modes {
            cases.push((m, 32, mode));
        }
        if m == 5 {
            cases.push((m, 4096, settings.modes[0]));
        }
    }
    for (m, secret_len, mode) in cases {
        // Enrollment needs fresh cards each run; above 16 cards it runs once.
        let enroll_runs = if m <= 16 { settings.runs } else { 1 };
        let mut set = None;
        for _ in 0..enroll_runs {
            let (s, sample) = enroll(&farm, &root, mode, m, secret_len);
            let ok = sample.success;
            samples.push(sample);
            save(&samples);
            if !ok {
                break;
            }
            set = Some(s);
        }
        let Some(set) = set else { continue };
        for _ in 0..settings.runs {
            let sample = recover(&farm, &set, mode);
            let ok = sample.success;
            samples.push(sample);
            save(&samples);
            if !ok {
                break;
            }
        }
        if mode == Mode::OneReader && secret_len == 32 {
            for _ in 0..settings.runs {
                samples.push(verify(&farm, &set));
                save(&samples);
            }
        }
    }
    farm.clear_all();
    let _ = std::fs::remove_dir_all(&root);
}

#[test]
#[ignore = "run by scripts/bench"]
fn comparison() {
    let settings = Settings::read();
    let smoke = std::env::var_os("QUORUM_BENCH_SMOKE").is_some();
    let rows = compare::run_all(settings.runs, smoke);
    let json = serde_json::to_string_pretty(&rows).unwrap();
    std::fs::write(settings.out.join("comparison.json"), json).unwrap();
}

#[test]
#[ignore = "run by scripts/bench"]
fn report() {
    let settings = Settings::read();
    report::write(&settings.out);
}

#[test]
#[ignore = "run by scripts/bench"]
fn report_shape() {
    let settings = Settings::read();
    report::check_shape(&settings.out);
}
