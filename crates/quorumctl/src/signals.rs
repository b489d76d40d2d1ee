//! Ctrl-C (SIGINT) and SIGTERM end a ceremony cleanly instead of killing it mid-step: the
//! handler only sets a flag (and says once on standard error that the stop is coming); the
//! ceremonies consult it between card steps and while waiting for cards
//! (`quorum_ceremony::Interrupt`), the PIN prompt returns `PinSourceError::Interrupted`
//! and restores the terminal, and quorumctl then writes the log line, says where things
//! stand and exits with the `interrupted` status.
//!
//! The handlers are installed without `SA_RESTART`, so a blocking read (the PIN prompt)
//! returns EINTR. A third signal ends the process at once with the shell's 128 + N, for a
//! step that hangs; a card being written then keeps its old record or the new one (PUT
//! RECORD commits at its last piece), but no log line is written.

use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};

/// Set by the first SIGINT or SIGTERM; the ceremonies' stop request.
pub static INTERRUPTED: AtomicBool = AtomicBool::new(false);

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

/// Installs the SIGINT and SIGTERM handlers (no `SA_RESTART`). Failing to install them
/// leaves the default action, which is what quorumctl did before: not worth stopping for.
pub fn install() {
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
