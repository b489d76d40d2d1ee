//! What a user would otherwise run for the split itself, measured the same way as quorumctl
//! (process CPU time from wait4): libgfshare's gfsplit/gfcombine and ssss, on the same
//! secret sizes and n-of-m. A tool that refuses a case is recorded with its own words.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

use serde::Serialize;

/// One tool at one case: CPU per run of split and combine, or why it could not.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct Row {
    /// gfsplit/gfcombine or ssss-split/ssss-combine.
    pub tool: String,
    /// Threshold.
    pub n: usize,
    /// Shares.
    pub m: usize,
    /// Secret bytes.
    pub secret_len: usize,
    /// CPU ms of each split run.
    pub split_ms: Vec<f64>,
    /// CPU ms of each combine run (of the n first shares).
    pub combine_ms: Vec<f64>,
    /// Why the tool could not do it (its message), if it could not.
    pub refused: Option<String>,
}

/// The cases: issue 14's 3-of-5 and the largest set, with a 32-byte and a 4096-byte secret.
const CASES: [(usize, usize, usize); 4] =
    [(3, 5, 32), (3, 5, 4096), (255, 255, 32), (255, 255, 4096)];

/// Runs every tool at every case (with `small_only`, the 3-of-5 ones), `runs` times each.
pub fn run_all(runs: usize, small_only: bool) -> Vec<Row> {
    let dir = std::env::temp_dir().join(format!("quorum-bench-compare-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let mut rows = Vec::new();
    for (n, m, len) in CASES.into_iter().filter(|c| !small_only || c.1 <= 5) {
        rows.push(gfshare(&dir, n, m, len, runs));
        rows.push(ssss(n, m, len, runs));
    }
    let _ = std::fs::remove_dir_all(&dir);
    rows
}

/// A process's exit, output and CPU time (user + system).
struct Ran {
    ok: bool,
    cpu_ms: f64,
    stdout: Vec<u8>,
    stderr: String,
}

// wait4 reaps the child (std's wait would not give its rusage).
#[allow(clippy::zombie_processes)]
fn cpu_of(mut cmd: Command, input: &[u8]) -> Ran {
    let mut child = match cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
    {
        Ok(c) => c,
        Err(e) => {
            return Ran {
                ok: false,
                cpu_ms: 0.0,
                stdout: Vec::new(),
                stderr: format!("{:?} not run: {e}", cmd.get_program()),
            }
        }
    };
    let mut stdin = child.stdin.take().unwrap();
    let input = input.to_vec();
    let feeder = std::thread::spawn(move || {
        let _ = stdin.write_all(&input);
    });
    let mut stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let err_reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = std::io::Read::read_to_string(&mut stderr, &mut s);
        s
    });
    let mut out = Vec::new();
    std::io::Read::read_to_end(&mut stdout, &mut out).unwrap();
    let _ = feeder.join();
    let err = err_reader.join().unwrap();
    let (ok, cpu_ms) = crate::drive::reap(&child);
    Ran {
        ok,
        cpu_ms,
        stdout: out,
        stderr: err,
    }
}

fn first_line(s: &str) -> String {
    s.lines()
        .find(|l| !l.trim().is_empty() && !l.contains("WARNING: couldn't get memory lock"))
        .unwrap_or("failed without a message")
        .trim()
        .to_owned()
}

fn secret(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 37 + 11) as u8).collect()
}

/// gfsplit -n N -m M FILE STEM, then gfcombine -o OUT STEM.001 ... (the first n shares).
fn gfshare(dir: &Path, n: usize, m: usize, len: usize, runs: usize) -> Row {
    let mut row = Row {
        tool: "gfsplit/gfcombine".into(),
        n,
        m,
        secret_len: len,
        split_ms: Vec::new(),
        combine_ms: Vec::new(),
        refused: None,
    };
    let input = dir.join(format!("secret-{len}"));
    std::fs::write(&input, secret(len)).unwrap();
    for run in 0..runs {
        let stem = dir.join(format!("gf-{n}-{m}-{len}-{run}"));
        let mut split = Command::new("gfsplit");
        split
            // -m first: gfsplit checks -n against the share count given so far (5 by default).
            .args(["-m", &m.to_string(), "-n", &n.to_string()])
            .arg(&input)
            .arg(&stem);
        let ran = cpu_of(split, b"");
        if !ran.ok {
            row.refused = Some(first_line(&ran.stderr));
            return row;
        }
        row.split_ms.push(ran.cpu_ms);
        let mut shares: Vec<_> = std::fs::read_dir(dir)
            .unwrap()
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| {
                p.file_name()
                    .and_then(|f| f.to_str())
                    .is_some_and(|f| f.starts_with(&format!("gf-{n}-{m}-{len}-{run}.")))
            })
            .collect();
        shares.sort();
        let out = dir.join(format!("gf-out-{run}"));
        let mut combine = Command::new("gfcombine");
        combine.arg("-o").arg(&out).args(&shares[..n]);
        let ran = cpu_of(combine, b"");
        if !ran.ok || std::fs::read(&out).ok() != Some(secret(len)) {
            row.refused = Some(format!("gfcombine: {}", first_line(&ran.stderr)));
            return row;
        }
        row.combine_ms.push(ran.cpu_ms);
    }
    row
}

/// A run that took this much CPU is not repeated (ssss combines 255 shares in minutes).
const ENOUGH_MS: f64 = 10_000.0;

/// ssss-split -t N -n M -x -q (the secret in hex on standard input), then ssss-combine -t
/// N -x -q with the first n shares on standard input.
fn ssss(n: usize, m: usize, len: usize, runs: usize) -> Row {
    let mut row = Row {
        tool: "ssss-split/ssss-combine".into(),
        n,
        m,
        secret_len: len,
        split_ms: Vec::new(),
        combine_ms: Vec::new(),
        refused: None,
    };
    let hex_secret = hex::encode(secret(len));
    for _ in 0..runs {
        let mut split = Command::new("ssss-split");
        split.args(["-t", &n.to_string(), "-n", &m.to_string(), "-x", "-q"]);
        let ran = cpu_of(split, format!("{hex_secret}\n").as_bytes());
        if !ran.ok {
            row.refused = Some(first_line(&ran.stderr));
            return row;
        }
        row.split_ms.push(ran.cpu_ms);
        let shares: String = String::from_utf8_lossy(&ran.stdout)
            .lines()
            .take(n)
            .map(|l| format!("{l}\n"))
            .collect();
        let mut combine = Command::new("ssss-combine");
        combine.args(["-t", &n.to_string(), "-x", "-q"]);
        let ran = cpu_of(combine, shares.as_bytes());
        let said = format!("{}{}", String::from_utf8_lossy(&ran.stdout), ran.stderr);
        if !ran.ok || !said.contains(&hex_secret) {
            row.refused = Some(format!("ssss-combine: {}", first_line(&ran.stderr)));
            return row;
        }
        row.combine_ms.push(ran.cpu_ms);
        if ran.cpu_ms > ENOUGH_MS {
            break;
        }
    }
    row
}
