//! Process hardening for ceremonies: a crash must not write the master secret to a core
//! file, and other processes of the same user must not read our memory.

/// Turns core dumps off and makes the process non-dumpable (no ptrace attach, no
/// /proc/PID/mem for other processes). Best effort: failures are ignored, because the
/// ceremony is still correct without them, only less defended.
pub fn harden_process() {
    let no_core = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: setrlimit and prctl take plain values and pointers to a live local; they
    // change only this process's own limits and flags.
    unsafe {
        libc::setrlimit(libc::RLIMIT_CORE, &no_core);
        libc::prctl(libc::PR_SET_DUMPABLE, 0, 0, 0, 0);
    }
}

/// Whether core dumps are off, so tests can check `harden_process` did its job.
pub fn core_dumps_disabled() -> bool {
    let mut limit = libc::rlimit {
        rlim_cur: 1,
        rlim_max: 1,
    };
    // SAFETY: getrlimit writes into the local it is given.
    let ok = unsafe { libc::getrlimit(libc::RLIMIT_CORE, &mut limit) } == 0;
    ok && limit.rlim_cur == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hardening_disables_core_dumps_and_dumpability() {
        harden_process();
        assert!(core_dumps_disabled());
        // SAFETY: PR_GET_DUMPABLE takes no pointer arguments.
        assert_eq!(unsafe { libc::prctl(libc::PR_GET_DUMPABLE, 0, 0, 0, 0) }, 0);
    }
}
