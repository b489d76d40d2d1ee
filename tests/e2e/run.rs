//! Running the real quorumctl binary against the simulator, and watching what it says.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::thread;
use std::time::{Duration, Instant};

use crate::farm::Sim;

/// A fresh scratch directory per test, so files of one test never meet another's.
pub fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("quorum-e2e-{}-{}", name, std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The ceremony log every quorumctl run of this test process appends to (tests take turns).
pub fn log_path() -> PathBuf {
    std::env::temp_dir().join(format!("quorum-e2e-{}.log.jsonl", std::process::id()))
}

/// The quorumctl command with the simulator's environment and no inherited terminal.
pub fn quorumctl(args: &[&str]) -> Command {
    quorumctl_via(&[], args)
}

/// quorumctl started by `wrapper` (a program and its options, which runs the command that
/// follows them, as setpriv or prlimit do), with the simulator's environment.
pub fn quorumctl_via(wrapper: &[&str], args: &[&str]) -> Command {
    let bin = env!("CARGO_BIN_EXE_quorumctl");
    let mut cmd = match wrapper.split_first() {
        None => Command::new(bin),
        Some((program, options)) => {
            let mut cmd = Command::new(program);
            cmd.args(options).arg(bin);
            cmd
        }
    };
    cmd.args(args);
    for (k, v) in Sim::env() {
        cmd.env(k, v);
    }
    cmd.env_remove("QUORUM_TRACE");
    cmd.env("QUORUM_LOG", log_path());
    cmd.stdin(Stdio::null());
    cmd
}

/// Runs quorumctl to completion and returns what it printed.
pub fn run(args: &[&str]) -> Output {
    quorumctl(args).output().expect("quorumctl runs")
}

/// Runs quorumctl with `input` on its standard input.
pub fn run_with_stdin(args: &[&str], input: &[u8]) -> Output {
    let mut child = quorumctl(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("quorumctl starts");
    child.stdin.take().unwrap().write_all(input).unwrap();
    child.wait_with_output().unwrap()
}

/// Runs quorumctl and fails the test, showing its output, unless it succeeds.
pub fn run_ok(args: &[&str]) -> Output {
    let out = run(args);
    assert!(
        out.status.success(),
        "quorumctl {:?} failed:\n{}",
        args,
        show(&out)
    );
    out
}

/// Both output streams of a finished run, for assertion messages.
pub fn show(out: &Output) -> String {
    format!(
        "status: {}\n--- stdout\n{}--- stderr\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Writes a PIN file in the documented format.
pub fn pin_file(dir: &Path, name: &str, lines: &[String]) -> PathBuf {
    let p = dir.join(name);
    let mut f = std::fs::File::create(&p).unwrap();
    for l in lines {
        writeln!(f, "{l}").unwrap();
    }
    p
}

/// A quorumctl process that runs while the test swaps cards, read line by line.
pub struct Running {
    child: Child,
    lines: Receiver<String>,
    seen: Vec<String>,
}

impl Running {
    /// Starts quorumctl with its standard error captured line by line.
    pub fn start(args: &[&str]) -> Running {
        let mut child = quorumctl(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("quorumctl starts");
        let (tx, rx) = mpsc::channel();
        let stderr = child.stderr.take().unwrap();
        thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Running {
            child,
            lines: rx,
            seen: Vec::new(),
        }
    }

    /// Waits until quorumctl prints a line containing `needle`; fails the test after 60 s.
    pub fn expect(&mut self, needle: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    if line.contains(needle) {
                        return line;
                    }
                }
                Err(RecvTimeoutError::Timeout) | Err(RecvTimeoutError::Disconnected) => {
                    let _ = self.child.kill();
                    panic!(
                        "quorumctl never printed {needle:?}; it printed:\n{}",
                        self.seen.join("\n")
                    );
                }
            }
        }
    }

    /// Sends `signal` (SIGINT, SIGTERM) to quorumctl, as Ctrl-C or a service manager would.
    pub fn signal(&self, signal: i32) {
        let pid = i32::try_from(self.child.id()).expect("a pid fits an i32");
        // SAFETY: kill(2) on the pid of our own child, which has not been waited for yet.
        let rc = unsafe { libc::kill(pid, signal) };
        assert_eq!(rc, 0, "kill({pid}, {signal}) failed");
    }

    /// Waits for the process to end and returns its status, stdout and all of stderr.
    pub fn finish(mut self) -> (std::process::ExitStatus, Vec<u8>, String) {
        let mut stdout = Vec::new();
        if let Some(mut out) = self.child.stdout.take() {
            std::io::Read::read_to_end(&mut out, &mut stdout).unwrap();
        }
        let status = self.child.wait().unwrap();
        while let Ok(line) = self.lines.recv_timeout(Duration::from_secs(5)) {
            self.seen.push(line);
        }
        (status, stdout, self.seen.join("\n"))
    }
}
