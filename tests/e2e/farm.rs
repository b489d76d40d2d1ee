//! Harness for end-to-end tests: the simulated card stack (a private pcscd whose readers
//! are vpcd slots, the card farm that puts jcardsim cards into them, and the program that
//! puts virtual OpenPGP cards into readers of their own), started through `scripts/sim`,
//! and clients for the control channels of the farm ([`Farm`]) and of the OpenPGP cards
//! ([`OpenPgp`]).
//!
//! Call [`Sim::ensure`] (or [`Farm::connect`] or [`OpenPgp::connect`], which call it)
//! before the first `pcsc::Context` of the process: libpcsclite reads
//! `PCSCLITE_CSOCK_NAME` once.
//!
//! Protocols of the control channels: sim/cardfarm/README.md, sim/openpgp-card/README.md.

// Each e2e test uses a different part of this harness.
#![allow(dead_code)]

use std::collections::HashSet;
use std::ffi::CString;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

/// How long pcscd may take to notice an insertion or removal; it polls vpcd about every
/// 400 ms, so this leaves room for a loaded machine without hiding a real hang.
const PCSC_CHANGE_TIMEOUT: Duration = Duration::from_secs(10);

/// How long one control request may take; creating a card installs the applet.
const CONTROL_TIMEOUT: Duration = Duration::from_secs(60);

/// Readers for virtual OpenPGP cards the harness asks `scripts/sim` for.
const OPENPGP_READERS: &str = "2";

/// The farm's readers the harness asks `scripts/sim` for: with its two pinpads and the two
/// OpenPGP readers, pcscd serves 16, its most (`PCSCLITE_MAX_READERS_CONTEXTS`), so every
/// any-reader wait watches 17 reader states (16 readers and the plug-and-play entry), more
/// than pcsc-lite takes in one call.
pub const FARM_READERS: usize = 12;

/// Every reader pcscd serves in the harness's simulator.
pub const ALL_READERS: usize = 16;

/// How many readers of each kind `scripts/sim` is asked for: the e2e tests' unless a harness
/// of its own (tests/bench) sets another shape with [`Shape::set`] before the simulator starts.
#[derive(Debug, Clone, Copy)]
pub struct Shape {
    /// vpcd readers the card farm serves (QUORUM_SIM_READERS).
    pub farm_readers: usize,
    /// Pinpad readers after them (QUORUM_SIM_PINPADS); None: scripts/sim's default.
    pub pinpads: Option<usize>,
    /// Readers for virtual OpenPGP cards (QUORUM_SIM_OPENPGP).
    pub openpgp: usize,
}

static SHAPE: OnceLock<Shape> = OnceLock::new();

impl Shape {
    /// Chooses the simulator's shape for this process; only before [`Sim::ensure`].
    pub fn set(shape: Shape) {
        assert!(
            SHAPE.set(shape).is_ok(),
            "the simulator's shape is chosen once"
        );
    }

    fn get() -> Shape {
        *SHAPE.get_or_init(|| Shape {
            farm_readers: FARM_READERS,
            pinpads: None,
            openpgp: OPENPGP_READERS.parse().expect("a count"),
        })
    }
}

/// The running simulator, shared by every test of this process.
pub struct Sim {
    env: Vec<(String, String)>,
    control: String,
    openpgp_control: String,
    dir: String,
}

static SIM: OnceLock<Sim> = OnceLock::new();

impl Sim {
    /// Starts the simulator with `scripts/sim start` unless it already runs (once per
    /// process, thread-safe; pcscd logs every APDU) and sets `PCSCLITE_CSOCK_NAME` in this
    /// process, so PC/SC contexts and spawned `quorumctl` processes talk to the private pcscd.
    pub fn ensure() -> &'static Sim {
        SIM.get_or_init(|| {
            let script = repo_root().join("scripts").join("sim");
            run_script(&script, "start");
            let env = parse_exports(&run_script(&script, "env"));
            let control = env
                .iter()
                .find(|(k, _)| k == "QUORUM_SIM_CONTROL")
                .map(|(_, v)| v.clone())
                .unwrap_or_else(|| panic!("`scripts/sim env` printed no QUORUM_SIM_CONTROL"));
            assert!(
                env.iter().any(|(k, _)| k == "PCSCLITE_CSOCK_NAME"),
                "`scripts/sim env` printed no PCSCLITE_CSOCK_NAME"
            );
            let dir = env
                .iter()
                .find(|(k, _)| k == "QUORUM_SIM_DIR")
                .map(|(_, v)| v.clone())
                .unwrap_or_else(|| panic!("`scripts/sim env` printed no QUORUM_SIM_DIR"));
            // Empty when the shape has no OpenPGP readers (tests/bench).
            let openpgp_control = env
                .iter()
                .find(|(k, _)| k == "QUORUM_SIM_OPENPGP_CONTROL")
                .map(|(_, v)| v.clone())
                .unwrap_or_else(|| {
                    assert_eq!(
                        Shape::get().openpgp,
                        0,
                        "`scripts/sim env` printed no QUORUM_SIM_OPENPGP_CONTROL"
                    );
                    String::new()
                });
            for (k, v) in &env {
                std::env::set_var(k, v);
            }
            Sim {
                env,
                control,
                openpgp_control,
                dir,
            }
        })
    }

    /// pcscd's log, where it writes every APDU and response (the harness starts the sim
    /// with `QUORUM_SIM_APDU_LOG=1`), so a test can check what crossed the wire.
    pub fn pcscd_log() -> PathBuf {
        Path::new(&Sim::ensure().dir).join("pcscd.log")
    }

    /// The variables a spawned command needs to reach the simulator
    /// (`PCSCLITE_CSOCK_NAME`, `QUORUM_SIM_DIR`, `QUORUM_SIM_CONTROL`), for `Command::envs`.
    pub fn env() -> Vec<(String, String)> {
        Sim::ensure().env.clone()
    }
}

/// A client of the card farm plus a PC/SC context on the private pcscd, so every change
/// it makes can be waited for until pcscd reports it.
pub struct Farm {
    control: Control,
    ctx: pcsc::Context,
    readers: Vec<String>,
    applet: Option<String>,
}

impl Farm {
    /// Connects to the farm (starting the simulator if needed) and checks that pcscd
    /// lists every reader the farm serves.
    pub fn connect() -> Farm {
        let sim = Sim::ensure();
        let control = Control::connect("the card farm", &sim.control, "farm.log");
        let ctx = pcsc::Context::establish(pcsc::Scope::User)
            .unwrap_or_else(|e| panic!("no PC/SC context on the private pcscd: {e}"));
        let mut farm = Farm {
            control,
            ctx,
            readers: Vec::new(),
            applet: None,
        };
        let ping = farm.request("ping").remove(0);
        farm.applet = ping
            .split(' ')
            .find_map(|w| w.strip_prefix("applet="))
            .filter(|a| *a != "none")
            .map(str::to_owned);
        farm.readers = farm.control.reader_names();
        check_pcscd_lists_readers(&farm.ctx, &farm.readers);
        farm
    }

    /// Makes a new card with the farm's applet; `capacity` becomes the applet's install
    /// parameter (record capacity in bytes). Returns the card id.
    pub fn new_card(&self, capacity: Option<u16>) -> String {
        let request = match capacity {
            Some(c) => format!("new {c}"),
            None => "new".to_owned(),
        };
        self.request(&request).remove(0)
    }

    /// Makes a new card without any applet: a foreign card, whose SELECT of the quorum
    /// AID fails with 6A82. Returns the card id.
    pub fn new_card_without_applet(&self) -> String {
        self.request("new noapplet").remove(0)
    }

    /// Puts `card` into reader `reader_index` and returns once pcscd reports a card there.
    pub fn insert(&self, card: &str, reader_index: usize) {
        let name = self.reader_name(reader_index).to_owned();
        self.request(&format!("insert {card} {reader_index}"));
        let took = self.wait_for_reader(reader_index, true);
        eprintln!("farm: {card} in reader {reader_index} ({name}), pcscd saw it after {took:?}");
    }

    /// Puts each card into its reader and returns once pcscd reports a card in every one:
    /// the waits overlap, so many cards go in about as fast as one.
    pub fn insert_all(&self, placed: &[(&str, usize)]) {
        for (card, reader_index) in placed {
            self.request(&format!("insert {card} {reader_index}"));
        }
        for (_, reader_index) in placed {
            self.wait_for_reader(*reader_index, true);
        }
    }

    /// Pulls the card out of reader `reader_index` (no-op when empty) and returns once
    /// pcscd reports the reader empty.
    pub fn remove(&self, reader_index: usize) {
        let pulled = self.request(&format!("remove {reader_index}")).remove(0);
        let took = self.wait_for_reader(reader_index, false);
        eprintln!("farm: {pulled} out of reader {reader_index}, pcscd saw it after {took:?}");
    }

    /// Pulls the card out of reader `reader_index` without waiting for pcscd to notice:
    /// a card yanked while quorumctl is in the middle of a command.
    pub fn pull(&self, reader_index: usize) {
        let pulled = self.request(&format!("remove {reader_index}")).remove(0);
        eprintln!("farm: {pulled} yanked out of reader {reader_index}");
    }

    /// Arms the farm to pull the card out of reader `reader_index` right after it has
    /// answered `apdus` more command APDUs (0 disarms), and returns how many it answered
    /// since its insertion: `pull_after(r, 0)` before and after a command counts its APDUs.
    pub fn pull_after(&self, reader_index: usize, apdus: u32) -> u32 {
        let line = format!("pull-after {reader_index} {apdus}");
        let answered = self.request(&line).remove(0);
        answered
            .parse()
            .unwrap_or_else(|_| panic!("farm answered {line:?} with {answered:?}, not a count"))
    }

    /// Makes reader `reader_index` carry short APDUs only (`on`), as a T=0 link or a
    /// short-APDU reader does: it answers an extended-length APDU `6700` itself, so quorumctl
    /// sends PUT RECORD again as a chain of short APDUs; `off` carries both again.
    pub fn short_apdus_only(&self, reader_index: usize, on: bool) {
        let word = if on { "on" } else { "off" };
        self.request(&format!("short-apdus {reader_index} {word}"));
    }

    /// Pulls every card out and returns once pcscd reports every reader empty, every reader
    /// carrying extended APDUs again, so a test starts from a known state whatever the
    /// previous one left.
    pub fn clear_all(&self) {
        self.request("clear");
        for i in 0..self.readers.len() {
            self.short_apdus_only(i, false);
            self.wait_for_reader(i, false);
        }
    }

    /// The PC/SC reader names as pcscd reports them, in reader-index order.
    pub fn reader_names(&self) -> Vec<String> {
        self.readers.clone()
    }

    /// The PC/SC name of one reader, for `pcsc::Context::connect` or `quorumctl --reader`.
    pub fn reader_name(&self, reader_index: usize) -> &str {
        self.readers.get(reader_index).unwrap_or_else(|| {
            panic!(
                "no reader {reader_index}: the farm has {} readers",
                self.readers.len()
            )
        })
    }

    /// The applet class the farm installs on new cards, or None when it installs none.
    pub fn applet_class(&self) -> Option<&str> {
        self.applet.as_deref()
    }

    /// The harness's PC/SC context on the private pcscd, for connecting to a reader.
    pub fn context(&self) -> &pcsc::Context {
        &self.ctx
    }

    /// Every card the farm holds and the reader it is in (None while out).
    pub fn cards(&self) -> Vec<(String, Option<usize>)> {
        self.request("list")
            .iter()
            .map(|row| {
                let mut words = row.split(' ');
                let id = words.next().unwrap_or_default().to_owned();
                let reader = words.next().and_then(|r| r.parse().ok());
                (id, reader)
            })
            .collect()
    }

    /// Sends one request; returns the value after `ok` (one element) or the rows of a
    /// listing. Panics with the farm's reason on `err`.
    fn request(&self, line: &str) -> Vec<String> {
        self.control.request(line)
    }

    /// Waits until pcscd reports reader `reader_index` with a responsive card (`present`)
    /// or empty; returns how long that took.
    fn wait_for_reader(&self, reader_index: usize, present: bool) -> Duration {
        wait_for_reader(
            &self.ctx,
            reader_index,
            self.reader_name(reader_index),
            present,
        )
    }
}

/// A client of the OpenPGP cards' program (sim/openpgp-card: opcard, an independent
/// OpenPGP card implementation, in vpcd readers of their own) plus a PC/SC context on
/// the private pcscd, so every change it makes can be waited for until pcscd reports it.
/// Reader indexes are the program's own, 0 and 1: not the farm's.
/// Empties the OpenPGP readers when dropped (see [`OpenPgp::cleared`]).
pub struct ClearedOpenPgp<'a>(&'a OpenPgp);

impl Drop for ClearedOpenPgp<'_> {
    fn drop(&mut self) {
        self.0.clear_all();
    }
}

pub struct OpenPgp {
    control: Control,
    ctx: pcsc::Context,
    readers: Vec<String>,
}

impl OpenPgp {
    /// Connects to the OpenPGP cards' program (starting the simulator if needed) and
    /// checks that pcscd lists every reader it serves.
    pub fn connect() -> OpenPgp {
        let sim = Sim::ensure();
        let control = Control::connect(
            "the OpenPGP cards' program",
            &sim.openpgp_control,
            "openpgp.log",
        );
        let ctx = pcsc::Context::establish(pcsc::Scope::User)
            .unwrap_or_else(|e| panic!("no PC/SC context on the private pcscd: {e}"));
        let readers = control.reader_names();
        check_pcscd_lists_readers(&ctx, &readers);
        OpenPgp {
            control,
            ctx,
            readers,
        }
    }

    /// Makes a new OpenPGP card (factory state: user PIN 123456, admin PIN 12345678, a
    /// serial of its own). Returns its id (`o1`, `o2`, ...).
    pub fn new_card(&self) -> String {
        self.control.request("new").remove(0)
    }

    /// Puts `card` into OpenPGP reader `reader_index` and returns once pcscd reports a
    /// card there.
    pub fn insert(&self, card: &str, reader_index: usize) {
        let name = self.reader_name(reader_index).to_owned();
        self.control
            .request(&format!("insert {card} {reader_index}"));
        let took = wait_for_reader(&self.ctx, reader_index, &name, true);
        eprintln!("openpgp: {card} in reader {reader_index} ({name}), pcscd saw it after {took:?}");
    }

    /// Pulls the card out of OpenPGP reader `reader_index` (no-op when empty) and returns
    /// once pcscd reports the reader empty. The card keeps its state (keys, PINs, tries).
    pub fn remove(&self, reader_index: usize) {
        let pulled = self
            .control
            .request(&format!("remove {reader_index}"))
            .remove(0);
        let took = wait_for_reader(
            &self.ctx,
            reader_index,
            self.reader_name(reader_index),
            false,
        );
        eprintln!("openpgp: {pulled} out of reader {reader_index}, pcscd saw it after {took:?}");
    }

    /// Empties the OpenPGP readers now and again when the guard goes, however the test ends,
    /// so the every-reader ceremonies of other tests see no card of this one.
    pub fn cleared(&self) -> ClearedOpenPgp<'_> {
        self.clear_all();
        ClearedOpenPgp(self)
    }

    /// Pulls every OpenPGP card out and returns once pcscd reports each reader that held
    /// one empty (only those: the pinpads it shares with the farm may hold a farm card).
    pub fn clear_all(&self) {
        let held: Vec<usize> = self.cards().iter().filter_map(|(_, r, _)| *r).collect();
        self.control.request("clear");
        for i in held {
            wait_for_reader(&self.ctx, i, self.reader_name(i), false);
        }
    }

    /// Every OpenPGP card, the reader it is in (None while out) and its serial number as
    /// 8 hex digits (the 4 serial bytes of its AID).
    pub fn cards(&self) -> Vec<(String, Option<usize>, String)> {
        self.control
            .request("list")
            .iter()
            .map(|row| {
                let mut words = row.split(' ');
                let id = words.next().unwrap_or_default().to_owned();
                let reader = words.next().and_then(|r| r.parse().ok());
                let serial = words.next().unwrap_or_default().to_owned();
                (id, reader, serial)
            })
            .collect()
    }

    /// The PC/SC names of the OpenPGP readers, in their index order.
    pub fn reader_names(&self) -> Vec<String> {
        self.readers.clone()
    }

    /// The PC/SC name of one OpenPGP reader.
    pub fn reader_name(&self, reader_index: usize) -> &str {
        self.readers.get(reader_index).unwrap_or_else(|| {
            panic!(
                "no OpenPGP reader {reader_index}: there are {}",
                self.readers.len()
            )
        })
    }

    /// The OpenPGP program's index of the reader named `name` (its own readers come first,
    /// then the pinpads, which take its cards too).
    pub fn index_of(&self, name: &str) -> usize {
        self.readers
            .iter()
            .position(|r| r == name)
            .unwrap_or_else(|| {
                panic!(
                    "the OpenPGP program serves no reader {name:?}: {:?}",
                    self.readers
                )
            })
    }

    /// Connects to the card in an OpenPGP reader directly (shared mode).
    pub fn connect_card(&self, reader_index: usize) -> pcsc::Card {
        let name = CString::new(self.reader_name(reader_index)).expect("no NUL in reader names");
        self.ctx
            .connect(&name, pcsc::ShareMode::Shared, pcsc::Protocols::ANY)
            .unwrap_or_else(|e| panic!("connect to OpenPGP reader {reader_index}: {e}"))
    }
}

/// A line-based control channel (the farm's or the OpenPGP cards' program's).
struct Control {
    who: &'static str,
    stream: Mutex<BufReader<TcpStream>>,
}

impl Control {
    fn connect(who: &'static str, address: &str, log: &str) -> Control {
        let stream = TcpStream::connect(address).unwrap_or_else(|e| {
            panic!(
                "cannot reach {who} at {address}: {e}; see {}/{log}",
                Sim::ensure().dir
            )
        });
        stream
            .set_read_timeout(Some(CONTROL_TIMEOUT))
            .and_then(|()| stream.set_nodelay(true))
            .expect("configure the control socket");
        Control {
            who,
            stream: Mutex::new(BufReader::new(stream)),
        }
    }

    /// The PC/SC names from a `readers` listing (`INDEX PORT LINK CARD NAME`).
    fn reader_names(&self) -> Vec<String> {
        self.request("readers")
            .iter()
            .map(|row| {
                row.splitn(5, ' ')
                    .nth(4)
                    .unwrap_or_else(|| panic!("malformed `readers` row from {}: {row:?}", self.who))
                    .to_owned()
            })
            .collect()
    }

    /// Sends one request; returns the value after `ok` (one element) or the rows of a
    /// listing. Panics with the reason on `err`.
    fn request(&self, line: &str) -> Vec<String> {
        let who = self.who;
        let mut control = self.stream.lock().unwrap_or_else(|p| p.into_inner());
        // One write per request: split writes would wait on Nagle and delayed ACKs.
        control
            .get_mut()
            .write_all(format!("{line}\n").as_bytes())
            .unwrap_or_else(|e| panic!("{who}'s control channel: cannot send {line:?}: {e}"));
        let status = read_line(&mut control, who, line);
        if let Some(reason) = status.strip_prefix("err ") {
            panic!("{who} refused {line:?}: {reason}");
        }
        let value = match status.strip_prefix("ok") {
            Some(v) => v.trim_start().to_owned(),
            None => panic!("{who} answered {line:?} with {status:?}"),
        };
        let command = line.split_whitespace().next().unwrap_or_default();
        if !matches!(command, "list" | "readers" | "help") {
            return vec![value];
        }
        let count: usize = value
            .parse()
            .unwrap_or_else(|_| panic!("{who} answered {line:?} with {status:?}, not a row count"));
        (0..count)
            .map(|_| read_line(&mut control, who, line))
            .collect()
    }
}

/// Waits until pcscd reports reader `name` with a responsive card (`present`) or empty;
/// returns how long that took.
fn wait_for_reader(
    ctx: &pcsc::Context,
    reader_index: usize,
    name: &str,
    present: bool,
) -> Duration {
    let c_name = CString::new(name).expect("reader names have no NUL byte");
    let mut states = [pcsc::ReaderState::new(c_name, pcsc::State::UNAWARE)];
    let start = Instant::now();
    let deadline = start + PCSC_CHANGE_TIMEOUT;
    loop {
        let remaining = deadline.saturating_duration_since(Instant::now());
        match ctx.get_status_change(remaining, &mut states) {
            Ok(()) => {}
            Err(pcsc::Error::Timeout) => {}
            Err(e) => panic!("pcscd status of {name:?}: {e}"),
        }
        let s = states[0].event_state();
        let done = if present {
            s.contains(pcsc::State::PRESENT) && !s.contains(pcsc::State::MUTE)
        } else {
            s.contains(pcsc::State::EMPTY)
        };
        if done {
            return start.elapsed();
        }
        if remaining.is_zero() {
            let dir = &Sim::ensure().dir;
            panic!(
                "pcscd did not report reader {reader_index} ({name}) {} within {PCSC_CHANGE_TIMEOUT:?}; \
                 last state {s:?}; see {dir}/farm.log, {dir}/openpgp.log and {dir}/pcscd.log",
                if present { "with a card" } else { "empty" }
            );
        }
        states[0].sync_current_state();
    }
}

fn check_pcscd_lists_readers(ctx: &pcsc::Context, readers: &[String]) {
    let listed: HashSet<String> = ctx
        .list_readers_owned()
        .unwrap_or_else(|e| panic!("pcscd lists no readers: {e}"))
        .into_iter()
        .map(|n| n.to_string_lossy().into_owned())
        .collect();
    let missing: Vec<&String> = readers.iter().filter(|n| !listed.contains(*n)).collect();
    assert!(
        missing.is_empty(),
        "pcscd does not list the readers {missing:?} (it lists {listed:?}); \
         is PCSCLITE_CSOCK_NAME pointing at another pcscd?"
    );
}

/// Serialises the e2e tests that share the farm: hold the guard for the whole test.
/// A test that panicked does not block the others (the poison is ignored).
pub fn lock() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .expect("quorumctl's crate sits two levels below the repository root (crates/quorumctl)")
        .to_path_buf()
}

fn run_script(script: &Path, command: &str) -> String {
    // pcscd logs every APDU (pcscd -a) for the tests that check what crosses the wire; a
    // running pcscd that does not is restarted by `scripts/sim start`.
    // Two readers for virtual OpenPGP cards (sim/openpgp-card) besides the farm's, and as
    // many farm readers as fit (see FARM_READERS).
    let shape = Shape::get();
    let mut cmd = Command::new(script);
    if let Some(pinpads) = shape.pinpads {
        cmd.env("QUORUM_SIM_PINPADS", pinpads.to_string());
    }
    let out = cmd
        .arg(command)
        .env("QUORUM_SIM_APDU_LOG", "1")
        .env("QUORUM_SIM_READERS", shape.farm_readers.to_string())
        .env("QUORUM_SIM_OPENPGP", shape.openpgp.to_string())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", script.display()));
    let stderr = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() {
        panic!("`scripts/sim {command}` failed ({}):\n{stderr}", out.status);
    }
    if !stderr.is_empty() {
        eprint!("{stderr}");
    }
    String::from_utf8(out.stdout).expect("scripts/sim prints UTF-8")
}

/// Parses `export NAME='VALUE'` lines as printed by `scripts/sim env`.
fn parse_exports(text: &str) -> Vec<(String, String)> {
    text.lines()
        .filter_map(|l| l.strip_prefix("export "))
        .map(|kv| {
            let (k, v) = kv
                .split_once('=')
                .unwrap_or_else(|| panic!("unexpected line from `scripts/sim env`: {kv:?}"));
            (k.to_owned(), v.trim_matches('\'').to_owned())
        })
        .collect()
}

fn read_line(control: &mut BufReader<TcpStream>, who: &str, request: &str) -> String {
    let mut line = String::new();
    match control.read_line(&mut line) {
        Ok(0) => panic!("{who} closed the control channel while answering {request:?}"),
        Ok(_) => line.trim_end_matches(['\r', '\n']).to_owned(),
        Err(e) => panic!("{who}'s control channel: no answer to {request:?}: {e}"),
    }
}

/// Connects to the card in a reader directly (shared mode), below quorumctl.
pub fn connect(farm: &Farm, reader_index: usize) -> pcsc::Card {
    let name = CString::new(farm.reader_name(reader_index)).expect("no NUL in reader names");
    farm.context()
        .connect(&name, pcsc::ShareMode::Shared, pcsc::Protocols::ANY)
        .unwrap_or_else(|e| panic!("connect to reader {reader_index}: {e}"))
}

/// Sends one APDU; returns the response data and the status word.
pub fn transmit(card: &pcsc::Card, apdu: &[u8]) -> (Vec<u8>, u16) {
    let mut buf = [0u8; pcsc::MAX_BUFFER_SIZE];
    let response = card
        .transmit(apdu, &mut buf)
        .unwrap_or_else(|e| panic!("transmit {}: {e}", hex::encode(&apdu[..apdu.len().min(4)])));
    assert!(response.len() >= 2, "response without a status word");
    let (data, sw) = response.split_at(response.len() - 2);
    (data.to_vec(), u16::from_be_bytes([sw[0], sw[1]]))
}
