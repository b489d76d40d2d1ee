//! Runs one ceremony as the people at the table would: quorumctl asks for cards on standard
//! error and the driver puts them in and takes them out through the card farm; the run's
//! CPU time is the child's own (wait4's rusage: user + system, never wall time).

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::sync::mpsc::{self, RecvTimeoutError};
use std::time::{Duration, Instant};

use crate::farm::Farm;
use crate::run::quorumctl;

/// How the cards reach quorumctl.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// `--reader R`: every card through reader 0, one after another.
    OneReader,
    /// `--any-reader`: the readers filled first, then each card into a free one.
    AnyReader,
}

impl Mode {
    /// The name the report and `QUORUM_BENCH_MODES` use.
    pub fn name(self) -> &'static str {
        match self {
            Mode::OneReader => "one-reader",
            Mode::AnyReader => "any-reader",
        }
    }

    /// The mode a name in `QUORUM_BENCH_MODES` gives.
    pub fn parse(name: &str) -> Mode {
        match name.trim() {
            "one-reader" => Mode::OneReader,
            "any-reader" => Mode::AnyReader,
            other => panic!("QUORUM_BENCH_MODES: unknown mode {other:?} (one-reader, any-reader)"),
        }
    }
}

/// What one quorumctl run cost and said.
pub struct Finished {
    /// Whether it exited 0.
    pub success: bool,
    /// User + system CPU time of the quorumctl process, in milliseconds.
    pub cpu_ms: f64,
    /// From start to exit, card swaps included.
    pub wall: Duration,
    /// Everything it printed on standard error.
    pub stderr: String,
}

/// Which cards go where: a queue of cards in the order they are brought, the readers the
/// mode uses and what each holds.
pub struct Table<'a> {
    farm: &'a Farm,
    cards: Vec<String>,
    readers: Vec<usize>,
    holding: HashMap<usize, String>,
    cursor: usize,
    evict: usize,
}

impl<'a> Table<'a> {
    /// Starts with every reader empty; in any-reader mode fills the readers with the first
    /// `present` cards (the cards already at the table when the command starts).
    pub fn new(farm: &'a Farm, mode: Mode, cards: &[String], present: usize) -> Table<'a> {
        farm.clear_all();
        let readers: Vec<usize> = match mode {
            Mode::OneReader => vec![0],
            Mode::AnyReader => (0..farm.reader_names().len()).collect(),
        };
        let mut table = Table {
            farm,
            cards: cards.to_vec(),
            readers,
            holding: HashMap::new(),
            cursor: 0,
            evict: 0,
        };
        if mode == Mode::AnyReader {
            let placed: Vec<(String, usize)> = (0..present.min(table.readers.len()))
                .map(|r| (table.next_card(), r))
                .collect();
            let refs: Vec<(&str, usize)> = placed.iter().map(|(c, r)| (c.as_str(), *r)).collect();
            farm.insert_all(&refs);
            table
                .holding
                .extend(placed.into_iter().map(|(c, r)| (r, c)));
        }
        table
    }

    /// The next card in turn that is not in a reader (the queue wraps around, so a second
    /// pass brings the cards again in the same order).
    fn next_card(&mut self) -> String {
        for _ in 0..self.cards.len() {
            let card = self.cards[self.cursor % self.cards.len()].clone();
            self.cursor += 1;
            if !self.holding.values().any(|c| *c == card) {
                return card;
            }
        }
        panic!("every card is in a reader, and another was asked for");
    }

    /// Reacts to one line quorumctl printed.
    fn follow(&mut self, line: &str) {
        if line.starts_with("Insert ") && line.contains(" into any free reader") {
            let reader = match self.readers.iter().find(|r| !self.holding.contains_key(r)) {
                Some(r) => *r,
                None => {
                    // Every reader holds a card quorumctl is done with: the oldest goes.
                    let r = self.readers[self.evict % self.readers.len()];
                    self.evict += 1;
                    self.farm.remove(r);
                    self.holding.remove(&r);
                    r
                }
            };
            let card = self.next_card();
            self.farm.insert(&card, reader);
            self.holding.insert(reader, card);
        } else if line.starts_with("Insert ") {
            let reader = self.readers[0];
            let card = self.next_card();
            self.farm.insert(&card, reader);
            self.holding.insert(reader, card);
        } else if line.starts_with("Remove the card from ") {
            let reader = self.readers[0];
            self.farm.remove(reader);
            self.holding.remove(&reader);
        } else if line.starts_with("Put ") || line.starts_with("That is not ") {
            panic!("quorumctl asked for a card back, which the bench never pulls: {line}");
        }
    }
}

/// Runs quorumctl with `args`, swapping cards as it asks, and measures its CPU time.
// wait4 reaps the child (std's wait would not give its rusage).
#[allow(clippy::zombie_processes)]
pub fn run(table: &mut Table<'_>, args: &[&str], log: &std::path::Path) -> Finished {
    let started = Instant::now();
    let mut child = quorumctl(args)
        .env("QUORUM_LOG", log)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("quorumctl starts");
    let stderr = child.stderr.take().expect("piped");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut said = Vec::new();
    loop {
        match rx.recv_timeout(Duration::from_secs(180)) {
            Ok(line) => {
                table.follow(&line);
                said.push(line);
            }
            Err(RecvTimeoutError::Disconnected) => break,
            Err(RecvTimeoutError::Timeout) => {
                let _ = child.kill();
                panic!(
                    "quorumctl {args:?} said nothing for 3 minutes; it said:\n{}",
                    said.join("\n")
                );
            }
        }
    }
    let (success, cpu_ms) = reap(&child);
    Finished {
        success,
        cpu_ms,
        wall: started.elapsed(),
        stderr: said.join("\n"),
    }
}

/// Waits for `child` with wait4: whether it exited 0, and its CPU time (user + system) in
/// milliseconds, the figure the bench reports for every process it times.
pub fn reap(child: &std::process::Child) -> (bool, f64) {
    let pid = i32::try_from(child.id()).expect("a pid fits an i32");
    let mut status = 0;
    // SAFETY: rusage is plain data that wait4 fills.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: wait4 on our own child, which nothing else waits for.
    let rc = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    assert_eq!(rc, pid, "wait4: {}", std::io::Error::last_os_error());
    let ms = |t: libc::timeval| t.tv_sec as f64 * 1e3 + t.tv_usec as f64 / 1e3;
    (
        libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        ms(usage.ru_utime) + ms(usage.ru_stime),
    )
}
