//! quorum-openpgp-card: virtual OpenPGP cards (opcard on trussed) in vpcd readers, put in
//! and pulled out on command over a line-based TCP control channel. Part of quorum's
//! simulator; see README.md. LGPL-3.0-only, a program of its own: nothing of it is
//! linked into quorumctl.

mod apdu;
mod control;
mod link;
mod platform;
mod registry;

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::OnceLock;
use std::time::{SystemTime, UNIX_EPOCH};

const USAGE: &str = "usage: quorum-openpgp-card --readers FILE --state-dir DIR \
[--vpcd-host HOST] [--control-port PORT] [--port-file FILE] [--pid-file FILE] [--verbose]";

pub struct Options {
    readers: PathBuf,
    state_dir: PathBuf,
    vpcd_host: String,
    control_port: u16,
    port_file: Option<PathBuf>,
    pid_file: Option<PathBuf>,
}

static VERBOSE: OnceLock<bool> = OnceLock::new();

/// One line on standard error with the wall-clock time (UTC seconds and milliseconds).
pub fn log(line: &str) {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let secs = now.as_secs() % 86_400;
    // eprintln! (one locked write per line), which the unit tests capture.
    eprintln!(
        "{:02}:{:02}:{:02}.{:03} {line}",
        secs / 3600,
        secs / 60 % 60,
        secs % 60,
        now.subsec_millis()
    );
}

/// Logs only with --verbose (control requests).
pub fn log_verbose(line: &str) {
    if *VERBOSE.get().unwrap_or(&false) {
        log(line);
    }
}

fn parse_options() -> Result<Options, String> {
    let mut readers = None;
    let mut state_dir = None;
    let mut vpcd_host = "127.0.0.1".to_owned();
    let mut control_port = 0u16;
    let mut port_file = None;
    let mut pid_file = None;
    let mut verbose = false;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{arg} needs a value"));
        match arg.as_str() {
            "--readers" => readers = Some(PathBuf::from(value()?)),
            "--state-dir" => state_dir = Some(PathBuf::from(value()?)),
            "--vpcd-host" => vpcd_host = value()?,
            "--control-port" => {
                let v = value()?;
                control_port = v.parse().map_err(|_| {
                    format!("--control-port wants a port number 0..65535, got '{v}'")
                })?;
            }
            "--port-file" => port_file = Some(PathBuf::from(value()?)),
            "--pid-file" => pid_file = Some(PathBuf::from(value()?)),
            "--verbose" => verbose = true,
            "--help" | "-h" => return Err(String::new()),
            other => return Err(format!("unknown option '{other}'")),
        }
    }
    let _ = VERBOSE.set(verbose);
    Ok(Options {
        readers: readers.ok_or("--readers is required")?,
        state_dir: state_dir.ok_or("--state-dir is required")?,
        vpcd_host,
        control_port,
        port_file,
        pid_file,
    })
}

fn main() -> ExitCode {
    let options = match parse_options() {
        Ok(o) => o,
        Err(reason) => {
            if !reason.is_empty() {
                eprintln!("quorum-openpgp-card: {reason}");
            }
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    let sim = match registry::Registry::open(&options) {
        Ok(r) => r,
        Err(reason) => {
            eprintln!("quorum-openpgp-card: {reason}");
            return ExitCode::from(2);
        }
    };
    match control::serve(sim, &options) {
        Ok(()) => ExitCode::SUCCESS,
        Err(reason) => {
            eprintln!("quorum-openpgp-card: {reason}");
            ExitCode::FAILURE
        }
    }
}
