//! Ctrl-C (SIGINT) and SIGTERM end a ceremony cleanly instead of killing it mid-step: the
//! handler only sets a flag (and says once on standard error that the stop is coming); the
//! ceremonies consult it between card steps and while waiting for cards
//! (`quorum_ceremony::Interrupt`), the PIN prompt returns `PinSourceError::Interrupted`
//! and restores the terminal, and quorumctl then writes the log line, says where things
//! stand and exits with the `interrupted` status.
//!
//! The handlers are installed without `SA_RESTART`, so a blocking read (the PIN prompt)
//! returns EINTR. A wait for a card blocks in pcscd, which ignores signals: the handler
//! wakes a watcher thread through a pipe, and the watcher calls the wait breaker of every
//! PC/SC session ([`establish`]), which ends the wait at once. A third signal ends the
//! process at once with the shell's 128 + N, for a step that hangs; a card being written
//! then keeps its old record or the new one (PUT RECORD commits at its last piece), but no
//! log line is written.

use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU32, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use quorum_card::readers::{Readers, WaitBreaker};
use quorum_card::transport::TransportError;
use quorum_pcsc::PcscContext;

/// Set by the first SIGINT or SIGTERM; the ceremonies' stop request.
pub static INTERRUPTED: AtomicBool = AtomicBool::new(false);

/// The pipe end the handler writes a byte into for each signal (-1: no watcher).
static WAKE: AtomicI32 = AtomicI32::new(-1);

/// The wait breakers of the PC/SC sessions this process opened.
static BREAKERS: Mutex<Vec<WaitBreaker>> = Mutex::new(Vec::new());

/// When the watcher breaks the waits again after a signal: a wait that was about to block
/// when the signal came is not yet cancellable (pcsc-lite's `SCardCancel` then does
/// nothing), so one call could miss it.
const BREAK_AGAIN: [Duration; 4] = [
    Duration::from_millis(20),
    Duration::from_millis(100),
    Duration::from_millis(500),
    Duration::from_secs(2),
];

/// How many stop signals arrived.
static RECEIVED: AtomicU32 = AtomicU32::new(0);

/// Signals counted before the process gives up waiting for the step in progress.
const SIGNALS_BEFORE_EXIT: u32 = 3;

/// Whether a stop was asked for.
pub fn interrupted() -> bool {
    INTERRUPTED.load(Ordering::SeqCst)
}

/// Writes bytes to standard error with `write(2)`, the only output a handler may do.
fn say_from_handler(text: &[u8]) {
    // SAFETY: write(2) is async-signal-safe; the buffer outlives the call.
    unsafe {
        libc::write(libc::STDERR_FILENO, text.as_ptr().cast(), text.len());
    }
}

extern "C" fn on_signal(signal: libc::c_int) {
    INTERRUPTED.store(true, Ordering::SeqCst);
    let wake = WAKE.load(Ordering::SeqCst);
    if wake >= 0 {
        // SAFETY: write(2) is async-signal-safe; the pipe end is non-blocking, so a full
        // pipe (the watcher is already awake) cannot stall the handler.
        unsafe {
            libc::write(wake, b"!".as_ptr().cast(), 1);
        }
    }
    let count = RECEIVED.fetch_add(1, Ordering::SeqCst) + 1;
    match count {
        1 => say_from_handler(b"\nStopping: the card step in progress is finished first, then quorumctl says where things stand (Ctrl-C twice more stops at once).\n"),
        n if n >= SIGNALS_BEFORE_EXIT => {
            say_from_handler(b"\nStopped at once: no log line was written; a card being written keeps its old record or the new one.\n");
            // SAFETY: _exit is async-signal-safe and ends the process without unwinding.
            unsafe { libc::_exit(128 + signal) };
        }
        _ => {}
    }
}

/// Connects to pcscd with the session's waits ended by a stop request.
pub fn establish() -> Result<PcscContext, TransportError> {
    let ctx = PcscContext::establish()?;
    if let Some(breaker) = ctx.wait_breaker() {
        BREAKERS
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(breaker);
    }
    Ok(ctx)
}

/// Calls every registered wait breaker.
fn break_waits() {
    let breakers = BREAKERS
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .clone();
    for breaker in breakers {
        breaker();
    }
}

/// Starts the thread that breaks the waits when the handler writes into the pipe. Without
/// a pipe or a thread, waits still see a stop at the end of their slice.
fn start_watcher() {
    let mut ends = [0 as libc::c_int; 2];
    // SAFETY: pipe2 fills the two descriptors of a valid two-element array.
    if unsafe { libc::pipe2(ends.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return;
    }
    let [read_end, write_end] = ends;
    // SAFETY: fcntl on a descriptor this function just made.
    unsafe {
        let flags = libc::fcntl(write_end, libc::F_GETFL);
        libc::fcntl(write_end, libc::F_SETFL, flags | libc::O_NONBLOCK);
    }
    let watcher = std::thread::Builder::new()
        .name("stop-watcher".to_owned())
        .spawn(move || loop {
            let mut byte = [0u8; 16];
            // SAFETY: reads into a buffer of the length given, from this process's pipe.
            let got = unsafe { libc::read(read_end, byte.as_mut_ptr().cast(), byte.len()) };
            if got <= 0 {
                if std::io::Error::last_os_error().kind() == std::io::ErrorKind::Interrupted {
                    continue;
                }
                return;
            }
            break_waits();
            for pause in BREAK_AGAIN {
                std::thread::sleep(pause);
                break_waits();
            }
        });
    if watcher.is_ok() {
        WAKE.store(write_end, Ordering::SeqCst);
    }
}

/// Installs the SIGINT and SIGTERM handlers (no `SA_RESTART`) and the watcher that ends a
/// wait for a card when one comes. Failing to install them leaves the default action,
/// which is what quorumctl did before: not worth stopping for.
pub fn install() {
    start_watcher();
    for signal in [libc::SIGINT, libc::SIGTERM] {
        // SAFETY: a zeroed sigaction is valid; the handler is an extern "C" fn that only
        // touches atomics and async-signal-safe calls; sa_mask is initialised empty.
        unsafe {
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = on_signal as extern "C" fn(libc::c_int) as libc::sighandler_t;
            libc::sigemptyset(&mut action.sa_mask);
            action.sa_flags = 0;
            libc::sigaction(signal, &action, std::ptr::null_mut());
        }
    }
}
