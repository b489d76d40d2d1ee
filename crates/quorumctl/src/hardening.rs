//! Process hardening for ceremonies: a crash must not write the master secret to a core
//! file, other processes of the same user must not read our memory, and secrets must not
//! be paged out to swap.

/// What `harden_process` achieved, for quorumctl's warning, `--trace` and tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hardening {
    /// RLIMIT_CORE is 0.
    pub core_dumps_off: bool,
    /// PR_SET_DUMPABLE is 0 (no ptrace attach, no /proc/PID/mem for other processes).
    pub non_dumpable: bool,
    /// Whether every page is locked against swapping, and if not, why.
    pub memory: MemoryLock,
}

impl Hardening {
    /// Whether every page is locked in memory as it is touched (mlockall).
    #[cfg(test)]
    pub fn memory_locked(&self) -> bool {
        self.memory == MemoryLock::Locked
    }
}

/// Whether the process's memory is locked against swapping, so a caller can tell the
/// people at the table when secrets could reach swap, and what would allow locking.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MemoryLock {
    /// mlockall(MCL_CURRENT | MCL_FUTURE | MCL_ONFAULT) succeeded: every page is locked as
    /// it is touched.
    Locked,
    /// Not attempted: the memlock limit is below [`MEMLOCK_NEEDED`] and the process lacks
    /// CAP_IPC_LOCK, so locking every future page would make later allocations fail.
    LimitTooSmall {
        /// The soft RLIMIT_MEMLOCK, in bytes.
        limit: u64,
    },
    /// Reading the limit or mlockall failed with this OS error number.
    Failed {
        /// The errno.
        errno: i32,
    },
}

impl std::fmt::Display for Hardening {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let yes_no = |b: bool| if b { "yes" } else { "no" };
        write!(
            f,
            "core dumps off: {}; non-dumpable: {}; memory locked against swapping: ",
            yes_no(self.core_dumps_off),
            yes_no(self.non_dumpable),
        )?;
        match self.memory {
            MemoryLock::Locked => write!(f, "yes"),
            MemoryLock::LimitTooSmall { limit } => write!(
                f,
                "no (memlock limit {limit} bytes, below {MEMLOCK_NEEDED}, and no CAP_IPC_LOCK)"
            ),
            MemoryLock::Failed { errno } => {
                write!(f, "no ({})", std::io::Error::from_raw_os_error(errno))
            }
        }
    }
}

/// The memlock limit (512 MiB) from which locking every future page cannot starve
/// allocations; below it, only CAP_IPC_LOCK lets quorumctl lock its memory.
pub const MEMLOCK_NEEDED: u64 = 512 << 20;

/// Turns core dumps off, makes the process non-dumpable and, where the memlock limit
/// allows, locks all its memory. Best effort: failures are reported, not fatal, because
/// the ceremony is still correct without them, only less defended.
pub fn harden_process() -> Hardening {
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
    let memory = lock_memory();
    // SAFETY: PR_GET_DUMPABLE takes no pointer arguments.
    let dumpable = unsafe { libc::prctl(libc::PR_GET_DUMPABLE, 0, 0, 0, 0) };
    Hardening {
        core_dumps_off: core_dumps_disabled(),
        non_dumpable: dumpable == 0,
        memory,
    }
}

/// mlockall(MCL_CURRENT | MCL_FUTURE | MCL_ONFAULT) when the memlock limit is unlimited or
/// roomy, or CAP_IPC_LOCK lifts it: under a small limit, locking future pages would make
/// later allocations fail.
/// MCL_ONFAULT locks pages as they are touched, so large reserved mappings cost nothing.
fn lock_memory() -> MemoryLock {
    let failed = || MemoryLock::Failed {
        errno: std::io::Error::last_os_error().raw_os_error().unwrap_or(0),
    };
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes into the local it is given.
    if unsafe { libc::getrlimit(libc::RLIMIT_MEMLOCK, &mut limit) } != 0 {
        return failed();
    }
    let roomy = limit.rlim_cur == libc::RLIM_INFINITY || limit.rlim_cur >= MEMLOCK_NEEDED;
    if !roomy && !may_lock_without_limit() {
        return MemoryLock::LimitTooSmall {
            limit: limit.rlim_cur,
        };
    }
    // SAFETY: mlockall takes flags only and affects this process's own pages.
    if unsafe { libc::mlockall(libc::MCL_CURRENT | libc::MCL_FUTURE | libc::MCL_ONFAULT) } != 0 {
        return failed();
    }
    MemoryLock::Locked
}

/// CAP_IPC_LOCK (bit 14 of the effective capabilities) lifts the memlock limit.
fn may_lock_without_limit() -> bool {
    const CAP_IPC_LOCK: u32 = 14;
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            let caps = status.lines().find(|l| l.starts_with("CapEff:"))?;
            u64::from_str_radix(caps.split_whitespace().nth(1)?, 16).ok()
        })
        .is_some_and(|caps| caps & (1 << CAP_IPC_LOCK) != 0)
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

/// Kibibytes of this process's memory locked (VmLck in /proc/self/status).
#[cfg(test)]
pub fn locked_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmLck:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hardening_disables_core_dumps_and_dumpability_and_locks_memory_where_allowed() {
        let done = harden_process();
        assert!(done.core_dumps_off && core_dumps_disabled());
        assert!(done.non_dumpable);
        // SAFETY: PR_GET_DUMPABLE takes no pointer arguments.
        assert_eq!(unsafe { libc::prctl(libc::PR_GET_DUMPABLE, 0, 0, 0, 0) }, 0);
        // What it reports about locking is what the kernel says.
        let secret = vec![0x5au8; 64 << 10];
        let locked = locked_kib().expect("Linux reports VmLck");
        assert_eq!(done.memory_locked(), locked > 0, "VmLck {locked} kB");
        // Locking is skipped for a small limit only when CAP_IPC_LOCK cannot lift it.
        if let MemoryLock::LimitTooSmall { limit } = done.memory {
            assert!(limit < MEMLOCK_NEEDED && !may_lock_without_limit());
        }
        assert_eq!(secret[1000], 0x5a);
    }
}
