//! report.json and report.md from the measurements: per ceremony and per card at each m and
//! mode, issue 14's goals each judged from the figures (never written in by hand), the host's
//! crypto costs (criterion), the comparison with gfsplit and ssss, and the applet's footprint.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde_json::{json, Value};

use crate::compare::Row;
use crate::wire::{self, CardFigures};
use crate::Sample;

/// Goal: round trips after SELECT per card at recovery.
const GOAL_ROUND_TRIPS: u64 = 3;
/// Goal: bytes on the wire after SELECT for each card after the first, at recovery.
const GOAL_BYTES: u64 = 300;
/// Goal: host CPU per card at m = 255, in milliseconds.
const GOAL_CPU_MS: f64 = 5.0;
/// The m the CPU goal is judged at.
const GOAL_CPU_M: usize = 255;

/// The median of some values (the mean of the middle two for an even count).
fn median(values: &[f64]) -> f64 {
    let mut v = values.to_vec();
    v.sort_by(|a, b| a.total_cmp(b));
    match v.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

fn min_max(values: &[f64]) -> (f64, f64) {
    values
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
            (lo.min(*v), hi.max(*v))
        })
}

/// One row of the ceremony table: the runs of one ceremony, mode, m and secret size.
fn ceremony_row(runs: &[&Sample]) -> Value {
    let s = runs[0];
    let ok: Vec<&&Sample> = runs.iter().filter(|r| r.success).collect();
    let mut row = json!({
        "ceremony": s.ceremony, "mode": s.mode, "m": s.m, "n": s.n,
        "secret_len": s.secret_len, "runs": ok.len(),
        "failed": runs.iter().filter_map(|r| r.failure.clone()).collect::<Vec<_>>(),
    });
    let Some(first_run) = ok.first() else {
        return row;
    };
    let cards = first_run.cards.len().max(1);
    let cpu: Vec<f64> = ok.iter().map(|r| r.cpu_ms).collect();
    let per_card: Vec<f64> = cpu.iter().map(|c| c / cards as f64).collect();
    let (lo, hi) = min_max(&per_card);
    let first = first_run.cards.first().copied().unwrap_or_default();
    let others: Vec<CardFigures> = ok
        .iter()
        .flat_map(|r| r.cards.iter().skip(1).copied())
        .collect();
    let other_trips: Vec<f64> = others.iter().map(|c| c.round_trips as f64).collect();
    let other_bytes: Vec<f64> = others.iter().map(|c| c.bytes() as f64).collect();
    // --stats against pcscd's log: the sum of the card lines must be the log's figures.
    let agree = ok
        .iter()
        .all(|r| wire::sum(&r.cards) == r.logged.after_select);
    let selects: u64 = first_run.logged.selects;
    let obj = row.as_object_mut().unwrap();
    obj.insert("cards".into(), json!(cards));
    obj.insert("cpu_ms_total_median".into(), json!(median(&cpu)));
    obj.insert("cpu_ms_per_card_median".into(), json!(median(&per_card)));
    obj.insert("cpu_ms_per_card_min".into(), json!(lo));
    obj.insert("cpu_ms_per_card_max".into(), json!(hi));
    obj.insert(
        "wall_s_median".into(),
        json!(median(&ok.iter().map(|r| r.wall_s).collect::<Vec<_>>())),
    );
    obj.insert("first_card".into(), json!(first));
    obj.insert("first_card_bytes".into(), json!(first.bytes()));
    // Over the cards after the first: none (a one-card ceremony) reads as 0.
    let most = |v: &[f64]| v.iter().copied().fold(0.0, f64::max);
    let middle = |v: &[f64]| if v.is_empty() { 0.0 } else { median(v) };
    obj.insert(
        "other_cards_round_trips_max".into(),
        json!(most(&other_trips)),
    );
    obj.insert(
        "other_cards_round_trips_median".into(),
        json!(middle(&other_trips)),
    );
    obj.insert("other_cards_bytes_max".into(), json!(most(&other_bytes)));
    obj.insert(
        "other_cards_bytes_median".into(),
        json!(middle(&other_bytes)),
    );
    obj.insert(
        "all_cards_round_trips_max".into(),
        json!(first.round_trips.max(most(&other_trips) as u64)),
    );
    obj.insert(
        "selects_per_card".into(),
        json!(selects as f64 / cards as f64),
    );
    obj.insert(
        "select_bytes_per_card".into(),
        json!(first_run.logged.select_bytes as f64 / cards as f64),
    );
    obj.insert("log".into(), json!(first_run.logged));
    obj.insert("stats_match_apdu_log".into(), json!(agree));
    let stats = wire::sum(&first_run.cards);
    let log = first_run.logged.after_select;
    obj.insert(
        "apdu_log_minus_stats".into(),
        json!({
            "round_trips": log.round_trips as i64 - stats.round_trips as i64,
            "bytes": log.bytes() as i64 - stats.bytes() as i64,
        }),
    );
    row
}

/// Judges issue 14's goals from the ceremony rows.
fn goals(rows: &[Value]) -> Vec<Value> {
    let recover: Vec<&Value> = rows
        .iter()
        .filter(|r| r["ceremony"] == "recover" && r["runs"].as_u64() > Some(0))
        .collect();
    let worst = |key: &str| {
        recover
            .iter()
            .max_by(|a, b| {
                a[key]
                    .as_f64()
                    .unwrap_or(0.0)
                    .total_cmp(&b[key].as_f64().unwrap_or(0.0))
            })
            .map(|r| (r[key].as_f64().unwrap_or(0.0), where_(r)))
    };
    let verdict = |measured: Option<bool>| match measured {
        Some(true) => "met",
        Some(false) => "not met",
        None => "not measured",
    };
    let trips = worst("all_cards_round_trips_max");
    let bytes = worst("other_cards_bytes_max");
    let cpu: Vec<(f64, String)> = rows
        .iter()
        .filter(|r| r["m"].as_u64() == Some(GOAL_CPU_M as u64) && r["runs"].as_u64() > Some(0))
        .filter(|r| r["ceremony"] == "enroll" || r["ceremony"] == "recover")
        .map(|r| {
            (
                r["cpu_ms_per_card_median"].as_f64().unwrap_or(f64::NAN),
                where_(r),
            )
        })
        .collect();
    let cpu_worst = cpu.iter().cloned().max_by(|a, b| a.0.total_cmp(&b.0));
    vec![
        json!({
            "goal": format!("recovery: at most {GOAL_ROUND_TRIPS} round trips after SELECT per card"),
            "measured": trips.as_ref().map(|(v, w)| format!("{v:.0} at most ({w})")),
            "verdict": verdict(trips.as_ref().map(|(v, _)| *v <= GOAL_ROUND_TRIPS as f64)),
        }),
        json!({
            "goal": format!("recovery: at most {GOAL_BYTES} bytes after SELECT for each card after the first"),
            "measured": bytes.as_ref().map(|(v, w)| format!("{v:.0} bytes at most ({w})")),
            "verdict": verdict(bytes.as_ref().map(|(v, _)| *v <= GOAL_BYTES as f64)),
        }),
        json!({
            "goal": format!("host CPU at most {GOAL_CPU_MS} ms per card at m = {GOAL_CPU_M} (enroll and recover, median)"),
            "measured": cpu_worst.as_ref().map(|(v, w)| format!("{v:.2} ms at most ({w})")),
            "verdict": verdict(cpu_worst.as_ref().map(|_| cpu.iter().all(|(v, _)| *v <= GOAL_CPU_MS))),
        }),
    ]
}

fn where_(r: &Value) -> String {
    format!(
        "{} {} m = {}, {} B",
        r["ceremony"].as_str().unwrap_or(""),
        r["mode"].as_str().unwrap_or(""),
        r["m"],
        r["secret_len"]
    )
}

/// Criterion's estimates of each bench under `dir` (median and its confidence interval, ns).
fn criterion(dir: Option<PathBuf>) -> Vec<Value> {
    let Some(dir) = dir.filter(|d| d.is_dir()) else {
        return Vec::new();
    };
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| dir.join(n).join("new/estimates.json").is_file())
        .collect();
    names.sort();
    names
        .into_iter()
        .map(|name| {
            let text = std::fs::read_to_string(dir.join(&name).join("new/estimates.json")).unwrap();
            let v: Value = serde_json::from_str(&text).unwrap();
            let m = &v["median"];
            json!({
                "bench": name,
                "median_ns": m["point_estimate"],
                "low_ns": m["confidence_interval"]["lower_bound"],
                "high_ns": m["confidence_interval"]["upper_bound"],
            })
        })
        .collect()
}

fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Option<T> {
    let text = std::fs::read_to_string(path).ok()?;
    Some(serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display())))
}

/// Time in the unit that reads best.
fn duration(ns: f64) -> String {
    if ns >= 1e6 {
        format!("{:.2} ms", ns / 1e6)
    } else if ns >= 1e3 {
        format!("{:.1} µs", ns / 1e3)
    } else {
        format!("{ns:.0} ns")
    }
}

/// Writes report.json and report.md into `out`.
pub fn write(out: &Path) {
    let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    let samples: Vec<Sample> = read_json(&out.join("ceremonies.json")).unwrap_or_default();
    let mut groups: BTreeMap<(usize, usize, String, String), Vec<&Sample>> = BTreeMap::new();
    for s in &samples {
        let order = ["enroll", "recover", "verify"]
            .iter()
            .position(|c| *c == s.ceremony)
            .unwrap_or(9);
        groups
            .entry((
                s.m,
                s.secret_len,
                format!("{order}{}", s.ceremony),
                // one-reader first
                format!("{}{}", u8::from(s.mode != "one-reader"), s.mode),
            ))
            .or_default()
            .push(s);
    }
    let rows: Vec<Value> = groups.values().map(|runs| ceremony_row(runs)).collect();
    let goals = goals(&rows);
    let comparison: Vec<Row> = read_json(&out.join("comparison.json")).unwrap_or_default();
    let crit = criterion(env("QUORUM_BENCH_CRITERION").map(PathBuf::from));
    let footprint: Option<Value> =
        env("QUORUM_BENCH_FOOTPRINT").and_then(|p| read_json(Path::new(&p)));
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_owned())
        })
        .unwrap_or_default();
    let report = json!({
        "format": "quorum-bench/1",
        "commit": env("QUORUM_BENCH_COMMIT"),
        "date": env("QUORUM_BENCH_DATE"),
        "profile": if cfg!(debug_assertions) { "debug" } else { "release" },
        "smoke": env("QUORUM_BENCH_SMOKE").is_some(),
        "machine": { "cpu": cpu, "cpus": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0) },
        "rule": "threshold 3 at m = 5, else n = m; 32-byte master (and 4096 bytes at m = 5); recover with --bundle; cards of more than 64 custodians installed with record capacity 7FFF",
        "goals": goals,
        "ceremonies": rows,
        "crypto": crit,
        "comparison": comparison,
        "applet": footprint,
    });
    std::fs::write(
        out.join("report.json"),
        serde_json::to_string_pretty(&report).unwrap() + "\n",
    )
    .unwrap();
    std::fs::write(out.join("report.md"), markdown(&report)).unwrap();
}

fn markdown(r: &Value) -> String {
    let mut md = String::new();
    let _ = writeln!(
        md,
        "Measured by `scripts/bench` at commit {} on {} ({}, {} CPUs), {} build{}.\n",
        r["commit"]
            .as_str()
            .map_or("(unknown)".into(), |c| format!("`{c}`")),
        r["date"].as_str().unwrap_or("(date unknown)"),
        r["machine"]["cpu"].as_str().unwrap_or("?"),
        r["machine"]["cpus"],
        r["profile"].as_str().unwrap_or("?"),
        if r["smoke"] == true {
            ", smoke run (m = 5, one run)"
        } else {
            ""
        }
    );
    md.push_str("| goal (issue 14) | measured | verdict |\n| --- | --- | --- |\n");
    for g in r["goals"].as_array().into_iter().flatten() {
        let _ = writeln!(
            md,
            "| {} | {} | **{}** |",
            g["goal"].as_str().unwrap_or(""),
            g["measured"].as_str().unwrap_or("—"),
            g["verdict"].as_str().unwrap_or("")
        );
    }
    let _ = writeln!(md, "\nCeremonies ({}):\n", r["rule"].as_str().unwrap_or(""));
    md.push_str(
        "| ceremony | mode | m | n | master | runs | round trips after SELECT: first card / others (max) | bytes after SELECT: first card / others (max) | SELECT bytes per card | host CPU per card, median (range) | wall per run | `--stats` = APDU log |\n\
         | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n",
    );
    for c in r["ceremonies"].as_array().into_iter().flatten() {
        if c["runs"] == 0 {
            let why = c["failed"][0]
                .as_str()
                .unwrap_or("no run")
                .replace('\n', " ")
                .replace('|', "\\|");
            let _ = writeln!(
                md,
                "| {} | {} | {} | {} | {} B | 0 | failed: {} | | | | | |",
                c["ceremony"].as_str().unwrap_or(""),
                c["mode"].as_str().unwrap_or(""),
                c["m"],
                c["n"],
                c["secret_len"],
                why
            );
            continue;
        }
        // A ceremony of one card has no others.
        let others = |key: &str| match c["cards"].as_u64() {
            Some(1) => "—".to_owned(),
            _ => format!("{:.0}", c[key].as_f64().unwrap_or(0.0)),
        };
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {} B | {} | {} / {} | {} / {} | {:.0} | {:.2} ms ({:.2}–{:.2}) | {:.1} s | {} |",
            c["ceremony"].as_str().unwrap_or(""),
            c["mode"].as_str().unwrap_or(""),
            c["m"],
            c["n"],
            c["secret_len"],
            c["runs"],
            c["first_card"]["round_trips"],
            others("other_cards_round_trips_max"),
            c["first_card_bytes"],
            others("other_cards_bytes_max"),
            c["select_bytes_per_card"].as_f64().unwrap_or(0.0),
            c["cpu_ms_per_card_median"].as_f64().unwrap_or(0.0),
            c["cpu_ms_per_card_min"].as_f64().unwrap_or(0.0),
            c["cpu_ms_per_card_max"].as_f64().unwrap_or(0.0),
            c["wall_s_median"].as_f64().unwrap_or(0.0),
            if c["stats_match_apdu_log"] == true {
                "yes".to_owned()
            } else {
                let d = &c["apdu_log_minus_stats"];
                format!("**no**: the log has {} more round trips, {} more bytes", d["round_trips"], d["bytes"])
            }
        );
    }
    let crit = r["crypto"].as_array().cloned().unwrap_or_default();
    if !crit.is_empty() {
        md.push_str("\nHost cryptography (criterion, `crates/protocol/benches/costs.rs`; median and 95 % interval):\n\n| bench | median | interval |\n| --- | --- | --- |\n");
        for b in crit {
            let ns = |k: &str| b[k].as_f64().unwrap_or(f64::NAN);
            let _ = writeln!(
                md,
                "| `{}` | {} | {} – {} |",
                b["bench"].as_str().unwrap_or(""),
                duration(ns("median_ns")),
                duration(ns("low_ns")),
                duration(ns("high_ns"))
            );
        }
    }
    let comparison = r["comparison"].as_array().cloned().unwrap_or_default();
    if !comparison.is_empty() {
        md.push_str("\nThe split alone with Debian's tools (process CPU time per run, median; the same secret bytes, n-of-m; quorum's own split and combine are the criterion rows above, in-process):\n\n| tool | n-of-m | secret | runs | split | combine (n shares) |\n| --- | --- | --- | --- | --- | --- |\n");
        for c in comparison {
            let cell = |k: &str| {
                let v: Vec<f64> = c[k]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_f64)
                    .collect();
                if v.is_empty() {
                    "—".to_owned()
                } else {
                    format!("{:.2} ms", median(&v))
                }
            };
            let (split, combine) = match c["refused"].as_str() {
                Some(why) if c["split_ms"].as_array().is_none_or(|a| a.is_empty()) => (
                    format!("refused: {}", why.replace('|', "\\|")),
                    "—".to_owned(),
                ),
                Some(why) => (
                    cell("split_ms"),
                    format!("refused: {}", why.replace('|', "\\|")),
                ),
                None => (cell("split_ms"), cell("combine_ms")),
            };
            let _ = writeln!(
                md,
                "| {} | {}-of-{} | {} B | {} | {} | {} |",
                c["tool"].as_str().unwrap_or(""),
                c["n"],
                c["m"],
                c["secret_len"],
                c["combine_ms"].as_array().map_or(0, Vec::len),
                split,
                combine
            );
        }
    }
    if let Some(a) = r["applet"].as_object() {
        let i = &a["install"];
        let _ = writeln!(
            md,
            "\nApplet footprint (jcardsim, `FootprintReport`): at install with record capacity {} bytes, {} bytes of persistent arrays, {} key objects ({} bits), transient RAM {} bytes CLEAR_ON_DESELECT and {} bytes CLEAR_ON_RESET. Persistent writes per command (the tearing build's count: a copy, a fill or a field update is one write; key-object updates write no array bytes), record of {} + {} bytes:\n",
            i["record_capacity_bytes"], i["persistent_array_bytes"], i["key_objects"], i["key_object_bits"],
            i["transient_deselect_bytes"], i["transient_reset_bytes"],
            a["record"]["public_bytes"], a["record"]["sealed_bytes"]
        );
        md.push_str("| command | writes | bytes written | largest single write |\n| --- | --- | --- | --- |\n");
        for c in a["commands"].as_array().into_iter().flatten() {
            let _ = writeln!(
                md,
                "| {} | {} | {} | {} |",
                c["command"].as_str().unwrap_or(""),
                c["writes"],
                c["bytes"],
                c["largest_write"]
            );
        }
    }
    md
}

/// Checks the report has every part and that each ceremony row carries its figures.
pub fn check_shape(out: &Path) {
    let report: Value = read_json(&out.join("report.json")).expect("report.json was written");
    assert_eq!(report["format"], "quorum-bench/1");
    let goals = report["goals"].as_array().expect("goals");
    assert_eq!(goals.len(), 3, "three goals judged");
    for g in goals {
        assert!(
            ["met", "not met", "not measured"].contains(&g["verdict"].as_str().unwrap_or("")),
            "{g}"
        );
    }
    let rows = report["ceremonies"].as_array().expect("ceremonies");
    for ceremony in ["enroll", "recover", "verify"] {
        assert!(
            rows.iter()
                .any(|r| r["ceremony"] == ceremony && r["runs"].as_u64() > Some(0)),
            "no successful {ceremony} in the report"
        );
    }
    for r in rows {
        // A full run reports a ceremony that failed (the report says so); the smoke must not have one.
        if report["smoke"] == true {
            assert!(
                r["failed"].as_array().is_some_and(|f| f.is_empty()),
                "a run failed: {r}"
            );
        }
        for key in [
            "first_card",
            "cpu_ms_per_card_median",
            "other_cards_bytes_max",
            "stats_match_apdu_log",
        ] {
            assert!(!r[key].is_null(), "{key} missing in {r}");
        }
    }
    assert!(
        report["comparison"].is_array() && report["applet"].is_object(),
        "comparison and applet parts"
    );
    let md = std::fs::read_to_string(out.join("report.md")).expect("report.md was written");
    assert!(
        md.contains("| goal (issue 14) |") && md.contains("| ceremony | mode |"),
        "{md}"
    );
}
