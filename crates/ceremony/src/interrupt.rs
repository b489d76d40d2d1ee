//! Stopping a ceremony on the operator's request. The ceremonies know nothing of signals:
//! quorumctl turns Ctrl-C and SIGTERM into a flag, and a ceremony consults it through
//! [`Interrupt`] between two card steps and while it waits for a card to come or go, so a
//! card step in progress (a PUT RECORD chain, its read-back and check) is always finished
//! and the ceremony can say exactly where things stand when it stops.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// Whether the operator asked the ceremony to stop; a caller without signals passes [`Never`].
pub trait Interrupt: Sync {
    /// True once a stop was asked for; it stays true.
    fn requested(&self) -> bool;
}

/// quorumctl's signal handlers set an `AtomicBool`; this reads it.
impl Interrupt for AtomicBool {
    fn requested(&self) -> bool {
        self.load(Ordering::SeqCst)
    }
}

/// An interrupt that never comes: for library callers and tests without signals.
#[derive(Debug, Clone, Copy, Default)]
pub struct Never;

impl Interrupt for Never {
    fn requested(&self) -> bool {
        false
    }
}

/// How long one slice of a wait for a card lasts: the longest a stop request waits to be
/// seen while nobody inserts or removes a card, when the backend's wait breaker
/// ([`quorum_card::readers::Readers::wait_breaker`], which quorumctl calls on Ctrl-C) did
/// not end the wait at once. Long, because each wake-up costs CPU in the PC/SC client.
pub const WAIT_SLICE: Duration = Duration::from_secs(5);

/// Why a sliced wait ended without its event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WaitEnd {
    /// The timeout passed.
    TimedOut,
    /// The operator asked to stop.
    Interrupted,
}

/// Waits in slices of at most [`WAIT_SLICE`] until `step` reports its event (`Ok(Some)`),
/// the timeout passes (`None`: no timeout) or a stop is requested; `step` gets the slice
/// to block for. An error from `step` while a stop is requested counts as the stop (a
/// wait cut short by the signal itself must not be reported as a reader failure).
pub fn sliced<T, E>(
    interrupt: &dyn Interrupt,
    timeout: Option<Duration>,
    mut step: impl FnMut(Duration) -> Result<Option<T>, E>,
) -> Result<Result<T, WaitEnd>, E> {
    let deadline = timeout.map(|t| Instant::now() + t);
    loop {
        if interrupt.requested() {
            return Ok(Err(WaitEnd::Interrupted));
        }
        let left = deadline.map(|d| d.saturating_duration_since(Instant::now()));
        let slice = left.map_or(WAIT_SLICE, |l| l.min(WAIT_SLICE));
        match step(slice) {
            Ok(Some(found)) => return Ok(Ok(found)),
            Ok(None) => {}
            Err(_) if interrupt.requested() => return Ok(Err(WaitEnd::Interrupted)),
            Err(e) => return Err(e),
        }
        if left.is_some_and(|l| l <= slice) {
            return Ok(Err(if interrupt.requested() {
                WaitEnd::Interrupted
            } else {
                WaitEnd::TimedOut
            }));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    #[test]
    fn a_sliced_wait_ends_on_its_event_its_timeout_or_a_stop() {
        let calls = Cell::new(0);
        let found: Result<Result<u8, WaitEnd>, ()> = sliced(&Never, None, |slice| {
            assert!(slice <= WAIT_SLICE);
            calls.set(calls.get() + 1);
            Ok((calls.get() == 3).then_some(7))
        });
        assert_eq!(found, Ok(Ok(7)));

        let timed: Result<Result<u8, WaitEnd>, ()> =
            sliced(&Never, Some(Duration::from_millis(30)), |slice| {
                std::thread::sleep(slice);
                Ok(None)
            });
        assert_eq!(timed, Ok(Err(WaitEnd::TimedOut)));

        let flag = AtomicBool::new(false);
        let stopped: Result<Result<u8, WaitEnd>, ()> = sliced(&flag, None, |_| {
            flag.store(true, Ordering::SeqCst);
            Ok(None)
        });
        assert_eq!(stopped, Ok(Err(WaitEnd::Interrupted)));

        // An error while a stop is requested is the stop; otherwise it is the error.
        let flag = AtomicBool::new(false);
        let cut: Result<Result<u8, WaitEnd>, &str> = sliced(&flag, None, |_| {
            flag.store(true, Ordering::SeqCst);
            Err("EINTR")
        });
        assert_eq!(cut, Ok(Err(WaitEnd::Interrupted)));
        let failed: Result<Result<u8, WaitEnd>, &str> = sliced(&Never, None, |_| Err("gone"));
        assert_eq!(failed, Err("gone"));
    }
}
