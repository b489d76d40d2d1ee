//! What quorumctl says when it could not lock its memory against swapping: one sentence
//! on standard error at the start of each ceremony that handles a secret or a PIN.

use crate::hardening::{Hardening, MemoryLock, MEMLOCK_NEEDED};

use crate::cli::Command;

/// The warning for this command, if it handles a secret or a PIN and memory is not locked.
pub fn warning(hardening: &Hardening, command: &Command) -> Option<String> {
    if !handles_secret(command) {
        return None;
    }
    let why = match hardening.memory {
        MemoryLock::Locked => return None,
        MemoryLock::LimitTooSmall { limit } => format!(
            "its memlock limit is {} and it lacks CAP_IPC_LOCK",
            size(limit)
        ),
        MemoryLock::Failed { errno } => format!(
            "mlockall failed: {}",
            std::io::Error::from_raw_os_error(errno)
        ),
    };
    Some(format!(
        "warning: quorumctl could not lock its memory against swapping ({why}), so secrets and PINs could be written to swap; to allow it, raise the memlock limit to at least {} (`ulimit -l unlimited`, or LimitMEMLOCK=infinity in a systemd unit) or grant CAP_IPC_LOCK; the ceremony continues.",
        size(MEMLOCK_NEEDED)
    ))
}

/// The ceremonies that hold a master secret, a DEK, shares or PINs in memory.
fn handles_secret(command: &Command) -> bool {
    match command {
        Command::Init(_)
        | Command::Enroll(_)
        | Command::Recover(_)
        | Command::Verify(_)
        | Command::AddCard(_)
        | Command::Reshare(_)
        | Command::ChangePin(_) => true,
        Command::ResetCard(_)
        | Command::Readers
        | Command::Status(_)
        | Command::ExportBundle(_)
        | Command::Inspect(_)
        | Command::Log(_)
        | Command::Plan(_)
        | Command::Help(_)
        | Command::Generate(_) => false,
    }
}

/// A byte count as a person reads a limit: "8 MiB", "64 KiB", "1000 bytes".
fn size(bytes: u64) -> String {
    match bytes {
        b if b >= 1 << 20 && b % (1 << 20) == 0 => format!("{} MiB", b >> 20),
        b if b >= 1 << 10 && b % (1 << 10) == 0 => format!("{} KiB", b >> 10),
        b => format!("{b} bytes"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn command(args: &[&str]) -> Command {
        crate::cli::Cli::parse_from(std::iter::once("quorumctl").chain(args.iter().copied()))
            .command
    }

    fn hardening(memory: MemoryLock) -> Hardening {
        Hardening {
            core_dumps_off: true,
            non_dumpable: true,
            memory,
        }
    }

    #[test]
    fn one_sentence_says_what_happened_how_to_allow_it_and_that_the_ceremony_continues() {
        let small = hardening(MemoryLock::LimitTooSmall { limit: 8 << 20 });
        let said = warning(&small, &command(&["recover"])).unwrap();
        for part in [
            "memlock limit is 8 MiB",
            "lacks CAP_IPC_LOCK",
            "at least 512 MiB",
            "ulimit -l unlimited",
            "LimitMEMLOCK=infinity",
            "grant CAP_IPC_LOCK",
            "the ceremony continues.",
        ] {
            assert!(said.contains(part), "{part}: {said}");
        }
        assert_eq!(said.matches(". ").count(), 0, "one sentence: {said}");
        let failed = hardening(MemoryLock::Failed { errno: libc::EPERM });
        assert!(warning(
            &failed,
            &command(&["enroll", "--threshold", "2", "--label", "x"])
        )
        .unwrap()
        .contains("mlockall failed"));
    }

    #[test]
    fn only_ceremonies_with_secrets_warn_and_only_when_memory_is_unlocked() {
        let small = hardening(MemoryLock::LimitTooSmall { limit: 65536 });
        let locked = hardening(MemoryLock::Locked);
        for args in [
            &["init"][..],
            &["enroll", "--threshold", "2", "--label", "x"],
            &["recover"],
            &["verify"],
            &["change-pin"],
        ] {
            assert!(warning(&small, &command(args)).is_some(), "{args:?}");
            assert!(warning(&locked, &command(args)).is_none(), "{args:?}");
        }
        for args in [&["readers"][..], &["status"], &["reset-card"]] {
            assert!(warning(&small, &command(args)).is_none(), "{args:?}");
        }
        assert_eq!(size(65536), "64 KiB");
        assert_eq!(size(1000), "1000 bytes");
    }
}
