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
    cmd.env_remove("QUORUM_OPERATOR");
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

/// Writes a PIN file in the documented format, private to this user (as the README asks).
pub fn pin_file(dir: &Path, name: &str, lines: &[String]) -> PathBuf {
    use std::os::unix::fs::OpenOptionsExt;
    let p = dir.join(name);
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&p)
        .unwrap();
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

/// A pseudo-terminal that a quorumctl process has as its controlling terminal, as a
/// custodian's shell would: the test reads what is shown there and types into it.
pub struct Terminal {
    controller: std::os::fd::OwnedFd,
    terminal: std::os::fd::OwnedFd,
    shown: std::cell::RefCell<Vec<u8>>,
}

impl Terminal {
    /// A fresh pseudo-terminal pair.
    pub fn new() -> Terminal {
        use std::os::fd::FromRawFd;
        let (mut controller, mut terminal) = (-1, -1);
        // SAFETY: openpty fills two descriptors; name, termios and winsize may be null.
        let rc = unsafe {
            libc::openpty(
                &mut controller,
                &mut terminal,
                std::ptr::null_mut(),
                std::ptr::null(),
                std::ptr::null(),
            )
        };
        assert_eq!(rc, 0, "openpty: {}", std::io::Error::last_os_error());
        // SAFETY: both were just opened and are owned here alone.
        let (controller, terminal) = unsafe {
            (
                std::os::fd::OwnedFd::from_raw_fd(controller),
                std::os::fd::OwnedFd::from_raw_fd(terminal),
            )
        };
        Terminal {
            controller,
            terminal,
            shown: Default::default(),
        }
    }

    /// Makes `cmd` run on this terminal: its standard input, and its controlling terminal in
    /// a new session (so `/dev/tty` opens and Ctrl-C typed here raises SIGINT); standard
    /// output and error are piped to the test.
    pub fn control<'c>(&self, cmd: &'c mut Command) -> &'c mut Command {
        use std::os::unix::process::CommandExt;
        cmd.stdin(Stdio::from(self.terminal.try_clone().unwrap()))
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        // SAFETY: between fork and exec only async-signal-safe calls: a new session whose
        // controlling terminal is the pty (standard input).
        unsafe {
            cmd.pre_exec(|| {
                if libc::setsid() < 0 || libc::ioctl(0, libc::TIOCSCTTY, 0) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            })
        }
    }

    /// Waits until the terminal has shown `needle` (30 s at most), then until echo is off or
    /// 200 ms passed: Linux delivers pty output asynchronously, and a test types only once
    /// the program has turned echo off.
    pub fn wait_for(&self, needle: &str) {
        use std::io::Read;
        use std::os::fd::AsRawFd;
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut file = std::fs::File::from(self.controller.try_clone().unwrap());
        while !String::from_utf8_lossy(&self.shown.borrow()).contains(needle) {
            assert!(
                Instant::now() < deadline,
                "the terminal never showed {needle:?}: {:?}",
                String::from_utf8_lossy(&self.shown.borrow())
            );
            let mut p = libc::pollfd {
                fd: self.controller.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            };
            // SAFETY: one valid pollfd.
            if unsafe { libc::poll(&mut p, 1, 200) } > 0 {
                let mut buf = [0u8; 256];
                let n = file.read(&mut buf).unwrap();
                self.shown.borrow_mut().extend_from_slice(&buf[..n]);
            }
        }
        let settle = Instant::now() + Duration::from_millis(200);
        while !self.echo_off() && Instant::now() < settle {
            thread::sleep(Duration::from_millis(10));
        }
    }

    /// Whether the terminal's echo is off (a hidden entry is being read).
    pub fn echo_off(&self) -> bool {
        use std::os::fd::AsRawFd;
        // SAFETY: termios is plain data; tcgetattr fills it.
        let mut t: libc::termios = unsafe { std::mem::zeroed() };
        assert_eq!(
            unsafe { libc::tcgetattr(self.terminal.as_raw_fd(), &mut t) },
            0
        );
        t.c_lflag & libc::ECHO == 0
    }

    /// Types `keys` on the terminal.
    pub fn type_in(&self, keys: &[u8]) {
        let mut file = std::fs::File::from(self.controller.try_clone().unwrap());
        file.write_all(keys).unwrap();
    }
}
