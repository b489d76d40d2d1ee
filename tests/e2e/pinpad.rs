//! Harness for the simulated pinpad readers: quorum's own pcscd driver
//! (sim/pinpad-ifd) that acts as a CCID pinpad, with the custodian's fingers played
//! by test code over the driver's control channel.
//!
//! `scripts/sim start` registers the pinpads after the vpcd readers (reader indexes 8
//! and 9 by default, `QUORUM_SIM_PINPADS`), named "Quorum Pinpad A 00 00", "Quorum
//! Pinpad B 00 00", and lists them in `$QUORUM_SIM_DIR/pinpads.tsv`
//! (`INDEX<TAB>CARD PORT<TAB>CONTROL PORT<TAB>PC/SC NAME`). The farm inserts cards into
//! them like into any reader (`Farm::insert(card, index)`).
//!
//! Key semantics: keys form one queue per reader. Each prompt of a PIN operation
//! (VERIFY: "enter PIN"; MODIFY: up to "enter PIN", "enter new PIN", "confirm new PIN")
//! takes keys from the front until its entry ends (OK, cancel, or the timeout); later
//! keys stay for the next prompt or the next SCardControl call. Queue the keys before
//! the SCardControl call (or while it waits: an empty queue waits for keys until the
//! prompt's bTimerOut). `press_nothing` makes the next prompt wait out its whole timeout
//! (64 00). `Pinpad::unplug` / `Pinpad::plug` pull the reader's USB cable and plug it
//! back (pcscd then reports the reader unavailable, and later usable again with the card
//! still in it). `Pinpad::for_reader` clears what an earlier test left (keys, display
//! log, outcome, a cable left out). Protocol: sim/pinpad-ifd/README.md.

// Each e2e test uses a different part of this harness.
#![allow(dead_code)]

use std::ffi::CString;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::farm::Sim;

/// How long one control request may take (they answer at once; this catches a hang).
const CONTROL_TIMEOUT: Duration = Duration::from_secs(10);

/// How long pcscd may take to notice a reader unplugged or plugged back: it polls about
/// every 400 ms, and each IFD_NO_SUCH_DEVICE costs it a second (it signals itself to
/// rescan its readers and sleeps).
const CABLE_CHANGE_TIMEOUT: Duration = Duration::from_secs(15);

/// One row of `pinpads.tsv`.
#[derive(Debug, Clone)]
struct PinpadRow {
    index: usize,
    control_port: u16,
    name: String,
}

fn pinpad_table() -> Vec<PinpadRow> {
    Sim::ensure();
    let dir = std::env::var("QUORUM_SIM_DIR")
        .unwrap_or_else(|_| panic!("Sim::ensure did not set QUORUM_SIM_DIR"));
    let path = PathBuf::from(dir).join("pinpads.tsv");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "cannot read {}: {e}; scripts/sim start writes it (is QUORUM_SIM_PINPADS 0?)",
            path.display()
        )
    });
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|line| {
            let f: Vec<&str> = line.splitn(4, '\t').collect();
            if f.len() != 4 {
                malformed(&path, line);
            }
            PinpadRow {
                index: f[0].parse().unwrap_or_else(|_| malformed(&path, line)),
                control_port: f[2].parse().unwrap_or_else(|_| malformed(&path, line)),
                name: f[3].to_owned(),
            }
        })
        .collect()
}

fn malformed(path: &std::path::Path, line: &str) -> ! {
    panic!("malformed line in {}: {line:?}", path.display())
}

/// The reader indexes (as `Farm::insert` takes them) of the pinpad readers, ascending.
pub fn pinpad_reader_indexes() -> Vec<usize> {
    pinpad_table().iter().map(|r| r.index).collect()
}

/// The keypad and display of one pinpad reader.
pub struct Pinpad {
    index: usize,
    name: String,
    control: Mutex<BufReader<TcpStream>>,
}

impl Pinpad {
    /// Connects to the pinpad at reader `index` (starting the simulator if needed) and
    /// clears what earlier tests left: queued keys, the display log, the last outcome.
    pub fn for_reader(index: usize) -> Pinpad {
        let rows = pinpad_table();
        let row = rows
            .iter()
            .find(|r| r.index == index)
            .unwrap_or_else(|| {
                panic!(
                    "reader {index} is not a pinpad; pinpad readers are {:?}",
                    rows.iter().map(|r| r.index).collect::<Vec<_>>()
                )
            })
            .clone();
        let stream = TcpStream::connect(("127.0.0.1", row.control_port)).unwrap_or_else(|e| {
            panic!(
                "cannot reach pinpad {index} ({}) on 127.0.0.1:{}: {e}; see pcscd.log in QUORUM_SIM_DIR",
                row.name, row.control_port
            )
        });
        stream
            .set_read_timeout(Some(CONTROL_TIMEOUT))
            .and_then(|()| stream.set_nodelay(true))
            .expect("configure the pinpad control socket");
        let pad = Pinpad {
            index,
            name: row.name,
            control: Mutex::new(BufReader::new(stream)),
        };
        pad.reset();
        if !pad.plugged() {
            // An earlier test stopped before plugging the reader back in.
            pad.plug();
        }
        pad
    }

    /// The reader index, for `Farm::insert` and `Farm::reader_name`.
    pub fn index(&self) -> usize {
        self.index
    }

    /// The PC/SC reader name, for `pcsc::Context::connect` or `quorumctl --reader`.
    pub fn reader_name(&self) -> &str {
        &self.name
    }

    /// Queues the custodian keying `pin` (digits only) and pressing OK.
    pub fn type_pin(&self, pin: &str) {
        assert!(
            !pin.is_empty() && pin.bytes().all(|b| b.is_ascii_digit()),
            "type_pin takes digits only (use type_keys for other keys)"
        );
        self.request(&format!("keys {pin} ok"), "keys (PIN redacted) ok");
    }

    /// Queues keys in the control channel's words: runs of digits, `ok`, `cancel`,
    /// `clear` (erase the digits of the current prompt), `nothing` (that prompt times
    /// out), e.g. "12 clear 123456 ok".
    pub fn type_keys(&self, keys: &str) {
        self.request(&format!("keys {keys}"), "keys (redacted)");
    }

    /// Queues the cancel key: the next prompt ends the operation with 64 01.
    pub fn cancel(&self) {
        self.request("keys cancel", "keys cancel");
    }

    /// Queues "no key at all": the next prompt waits out its bTimerOut and the operation
    /// ends with 64 00.
    pub fn press_nothing(&self) {
        self.request("keys nothing", "keys nothing");
    }

    /// Every message the display showed since `for_reader` (or `reset`), oldest first:
    /// "enter PIN", "enter new PIN", "confirm new PIN" with the default messages.
    pub fn display_log(&self) -> Vec<String> {
        self.request("display", "display")
    }

    /// How the last PIN operation ended: "none", "sent 9000" (the card's status word),
    /// "timeout", "cancelled", "mismatch", "length", "rejected REASON", "card-error
    /// REASON".
    pub fn last_outcome(&self) -> String {
        self.request("outcome", "outcome").remove(0)
    }

    /// How many keys are still queued (a test that queued too many can see it).
    pub fn queued_keys(&self) -> usize {
        let status = self.request("status", "status").remove(0);
        status
            .split_whitespace()
            .find_map(|w| w.strip_prefix("queued="))
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("pinpad {} answered status with {status:?}", self.index))
    }

    /// Forgets queued keys, the display log and the last outcome.
    pub fn reset(&self) {
        self.request("reset", "reset");
    }

    /// Waits until a PIN prompt waits for keys (quorumctl's SCardControl reached the
    /// reader); fails the test after `CONTROL_TIMEOUT`.
    pub fn wait_for_prompt(&self) {
        let deadline = Instant::now() + CONTROL_TIMEOUT;
        loop {
            let status = self.request("status", "status").remove(0);
            if status.starts_with("prompting") {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "pinpad {} never prompted for a PIN (status: {status})",
                self.index
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Whether the reader's USB cable is in, as the driver says.
    pub fn plugged(&self) -> bool {
        match self.request("cable", "cable").remove(0).as_str() {
            "plugged" => true,
            "unplugged" => false,
            other => panic!("pinpad {} answered cable with {other:?}", self.index),
        }
    }

    /// Pulls the reader's USB cable: every call pcscd makes to it answers
    /// IFD_NO_SUCH_DEVICE (a waiting PIN prompt ends at once); the card stays in the slot.
    /// Returns once pcscd reports the reader unavailable.
    pub fn unplug(&self) {
        self.request("unplug", "unplug");
        let took = self.wait_for_pcscd(true);
        eprintln!(
            "pinpad {}: unplugged, pcscd saw it after {took:?}",
            self.index
        );
    }

    /// Plugs the reader back in and returns once pcscd reports it usable again (empty,
    /// or with the card that stayed in it, freshly powered).
    pub fn plug(&self) {
        self.request("plug", "plug");
        let took = self.wait_for_pcscd(false);
        eprintln!(
            "pinpad {}: plugged in, pcscd saw it after {took:?}",
            self.index
        );
    }

    /// Plugs the reader back in without waiting for pcscd and without failing: clean-up
    /// for a test that is already failing, so that later tests find the reader usable.
    pub fn plug_quietly(&self) {
        let mut control = self.control.lock().unwrap_or_else(|p| p.into_inner());
        if control.get_mut().write_all(b"plug\n").is_ok() {
            let mut reply = String::new();
            let _ = control.read_line(&mut reply);
        }
    }

    /// Waits until pcscd reports the reader `unavailable` (or usable); returns how long
    /// that took.
    fn wait_for_pcscd(&self, unavailable: bool) -> Duration {
        let ctx = pcsc::Context::establish(pcsc::Scope::User)
            .unwrap_or_else(|e| panic!("no PC/SC context on the private pcscd: {e}"));
        let name = CString::new(self.name.as_str()).expect("reader names have no NUL byte");
        let mut states = [pcsc::ReaderState::new(name, pcsc::State::UNAWARE)];
        let start = Instant::now();
        let deadline = start + CABLE_CHANGE_TIMEOUT;
        loop {
            let remaining = deadline.saturating_duration_since(Instant::now());
            match ctx.get_status_change(remaining, &mut states) {
                Ok(()) | Err(pcsc::Error::Timeout) => {}
                Err(e) => panic!("pcscd status of {:?}: {e}", self.name),
            }
            let s = states[0].event_state();
            let done = if unavailable {
                s.contains(pcsc::State::UNAVAILABLE)
            } else {
                !s.intersects(pcsc::State::UNAVAILABLE | pcsc::State::UNKNOWN)
                    && (s.contains(pcsc::State::EMPTY)
                        || (s.contains(pcsc::State::PRESENT) && !s.contains(pcsc::State::MUTE)))
            };
            if done {
                return start.elapsed();
            }
            assert!(
                !remaining.is_zero(),
                "pcscd did not report pinpad {} ({}) {} within {CABLE_CHANGE_TIMEOUT:?}; last state {s:?}",
                self.index,
                self.name,
                if unavailable { "unavailable" } else { "usable again" }
            );
            states[0].sync_current_state();
        }
    }

    /// Sends one request; returns the value after `ok` (one element) or the lines of a
    /// listing. `shown` stands for the request in panic messages (no PIN digits).
    fn request(&self, line: &str, shown: &str) -> Vec<String> {
        let mut control = self.control.lock().unwrap_or_else(|p| p.into_inner());
        control
            .get_mut()
            .write_all(format!("{line}\n").as_bytes())
            .unwrap_or_else(|e| panic!("pinpad {}: cannot send {shown:?}: {e}", self.index));
        let status = self.read_line(&mut control, shown);
        if let Some(reason) = status.strip_prefix("err ") {
            panic!("pinpad {} refused {shown:?}: {reason}", self.index);
        }
        let value = match status.strip_prefix("ok") {
            Some(v) => v.trim_start().to_owned(),
            None => panic!("pinpad {} answered {shown:?} with {status:?}", self.index),
        };
        if !matches!(line.split_whitespace().next(), Some("display" | "help")) {
            return vec![value];
        }
        let count: usize = value.parse().unwrap_or_else(|_| {
            panic!(
                "pinpad {} answered {shown:?} with {status:?}, not a line count",
                self.index
            )
        });
        (0..count)
            .map(|_| self.read_line(&mut control, shown))
            .collect()
    }

    fn read_line(&self, control: &mut BufReader<TcpStream>, shown: &str) -> String {
        let mut line = String::new();
        match control.read_line(&mut line) {
            Ok(0) => panic!(
                "pinpad {} closed its control channel while answering {shown:?}",
                self.index
            ),
            Ok(_) => line.trim_end_matches(['\r', '\n']).to_owned(),
            Err(e) => panic!("pinpad {}: no answer to {shown:?}: {e}", self.index),
        }
    }
}
