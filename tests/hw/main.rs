//! The hardware suite: the ceremonies of the end-to-end tests (init, enroll, status, verify,
//! recover with every reader and with any reader, verify through one reader, change-pin,
//! reset-card) run by the real quorumctl against the readers named in
//! `QUORUM_HW_READERS` (comma-separated PC/SC reader names, each holding a card with the
//! quorum applet installed, see applet/README.md), through whatever pcscd the environment
//! points at: the system's with real readers, or the simulator's for a dry run
//! (`scripts/hw-dry-run`). Without `QUORUM_HW_READERS` it prints one line and passes.
//!
//! Real cards are precious: the suite touches only cards that are BLANK when it starts,
//! unless `QUORUM_HW_FACTORY_RESET=yes` lets it factory-reset the named cards first (their
//! key and share are then gone for good). It leaves every card it used BLANK again at the
//! end, also after a failed step (as far as the card still answers). It needs nothing of
//! the simulator: no APDU log, no card farm, no pulled cards.
//!
//! The PINs it sets are [`PIN`] and, for a moment, [`OTHER_PIN`]; a card left behind by a
//! run that was killed can be reset with `quorumctl reset-card --reader R`.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

/// The PIN every card gets at `init` (the suite is unattended: PINs come from a file).
const PIN: &str = "24680135";
/// The PIN `change-pin` sets before it sets [`PIN`] back.
const OTHER_PIN: &str = "97531864";
/// How long a named reader may take to show its card (pcscd polls some readers).
const CARD_WAIT: Duration = Duration::from_secs(10);
/// What enables the suite, and how.
const READERS_VAR: &str = "QUORUM_HW_READERS";
/// What lets the suite factory-reset named cards that are not blank.
const RESET_VAR: &str = "QUORUM_HW_FACTORY_RESET";

fn main() -> ExitCode {
    let Some(wanted) = std::env::var(READERS_VAR)
        .ok()
        .filter(|v| !v.trim().is_empty())
    else {
        println!(
            "hw: skipped: {READERS_VAR} is not set. To run the ceremonies on real cards, install the \
             applet on 2 or more blank cards (applet/README.md), put them into readers and run \
             {READERS_VAR}=\"READER 1,READER 2,...\" cargo test -p quorumctl --test hw"
        );
        return ExitCode::SUCCESS;
    };
    let wanted: Vec<String> = wanted.split(',').map(|r| r.trim().to_owned()).collect();
    let mut suite = match Suite::new(wanted) {
        Ok(suite) => suite,
        Err(why) => {
            println!("hw: not run: {why}\nhw: 0 passed, 1 failed");
            return ExitCode::FAILURE;
        }
    };
    let started = Instant::now();
    let outcome = suite.run();
    if let Err(why) = &outcome {
        println!("hw: FAILED: {why}");
        println!("hw: resetting the cards the suite changed");
    }
    let cleaned = suite.leave_blank();
    let _ = std::fs::remove_dir_all(&suite.dir);
    match (outcome, cleaned) {
        (Ok(()), Ok(())) => {
            println!(
                "hw: the ceremonies passed on {} card(s) in {:.1} s; every card is BLANK again",
                suite.cards.len(),
                started.elapsed().as_secs_f64()
            );
            println!("hw: 1 passed, 0 failed");
            ExitCode::SUCCESS
        }
        (_, cleaned) => {
            match cleaned {
                Ok(()) if !suite.cards.iter().any(|c| c.touched) => {
                    println!("hw: no card was changed")
                }
                Ok(()) => println!("hw: every card the suite used is BLANK again"),
                Err(why) => println!("hw: {why}"),
            }
            println!("hw: 0 passed, 1 failed");
            ExitCode::FAILURE
        }
    }
}

/// One named reader and what the suite knows of its card.
struct Card {
    reader: String,
    fingerprint: Option<String>,
    /// The suite has changed the card, so it must leave it BLANK.
    touched: bool,
}

/// The readers under test and a private scratch directory (PIN files, bundle, master).
struct Suite {
    cards: Vec<Card>,
    dir: PathBuf,
}

impl Suite {
    /// Checks the named readers: each present, each holding an applet card; no other reader
    /// holding a card that a ceremony would take (they use every card present).
    fn new(wanted: Vec<String>) -> Result<Suite, String> {
        if wanted.len() < 2 {
            return Err(format!(
                "{READERS_VAR} names {} reader(s); the ceremonies need 2 or more cards",
                wanted.len()
            ));
        }
        let dir = std::env::temp_dir().join(format!("quorum-hw-{}", std::process::id()));
        {
            use std::os::unix::fs::DirBuilderExt;
            std::fs::DirBuilder::new()
                .mode(0o700)
                .create(&dir)
                .map_err(|e| format!("{}: {e}", dir.display()))?;
        }
        let suite = Suite {
            cards: Vec::new(),
            dir,
        };
        // A card just inserted takes pcscd a moment to see: wait a little for each named reader.
        let waiting = Instant::now();
        let doc = loop {
            let doc = suite.quorumctl_ok(&["readers"])?;
            let empty = doc["result"]["readers"].as_array().is_some_and(|all| {
                all.iter().any(|r| {
                    r["card"].is_null() && wanted.iter().any(|w| r["reader"] == w.as_str())
                })
            });
            if !empty || waiting.elapsed() > CARD_WAIT {
                break doc;
            }
            std::thread::sleep(Duration::from_millis(250));
        };
        let listed = doc["result"]["readers"]
            .as_array()
            .ok_or("`quorumctl readers --json` listed no readers")?;
        let names: Vec<&str> = listed.iter().filter_map(|r| r["reader"].as_str()).collect();
        let mut cards = Vec::new();
        for want in &wanted {
            if !names.contains(&want.as_str()) {
                return Err(format!(
                    "no reader is named \"{want}\"; pcscd lists: {}",
                    names.join(", ")
                ));
            }
            cards.push(Card {
                reader: want.clone(),
                fingerprint: None,
                touched: false,
            });
        }
        for r in listed {
            let name = r["reader"].as_str().unwrap_or_default();
            let card = &r["card"];
            let named = wanted.iter().any(|w| w == name);
            if named && (card.is_null() || card["applet"] != Value::Bool(true)) {
                return Err(format!(
                    "reader \"{name}\" holds no card with the quorum applet ({card}); install the CAP \
                     (applet/README.md) and insert the card"
                ));
            }
            if named && !card["openpgp"].is_null() {
                return Err(format!(
                    "reader \"{name}\" holds an OpenPGP card; the suite runs on quorum applet cards"
                ));
            }
            if !named && card["applet"] == Value::Bool(true) {
                return Err(format!(
                    "reader \"{name}\" holds a card a ceremony would use, and {READERS_VAR} does not name \
                     it; take it out (the ceremonies use every card present) or name its reader"
                ));
            }
        }
        Ok(Suite { cards, ..suite })
    }

    /// The ceremonies, in the order a set lives them.
    fn run(&mut self) -> Result<(), String> {
        self.start_blank()?;
        let pins = self.file("pin", PIN)?;
        let other = self.file("other-pin", OTHER_PIN)?;
        for i in 0..self.cards.len() {
            let reader = self.cards[i].reader.clone();
            self.cards[i].touched = true;
            let doc = self.step(
                &format!("init in \"{reader}\""),
                &[
                    "init",
                    "--reader",
                    &reader,
                    "--pin-file",
                    path(&pins),
                    "--no-pinpad",
                ],
            )?;
            let fingerprint = doc["result"]["fingerprint"]
                .as_str()
                .ok_or("init named no fingerprint")?;
            self.cards[i].fingerprint = Some(fingerprint.to_owned());
        }

        let m = self.cards.len();
        let n = if m >= 3 { m - 1 } else { m };
        let (master, bundle, recovered) = (
            self.dir.join("master.key"),
            self.dir.join("set.quorum.json"),
            self.dir.join("recovered.key"),
        );
        let again = self.dir.join("recovered-any-reader.key");
        let doc = self.step(
            &format!("enroll {n}-of-{m}"),
            &[
                "enroll",
                "--threshold",
                &n.to_string(),
                "--shares",
                &m.to_string(),
                "--label",
                "quorum-hw-suite",
                "--generate",
                "32",
                "--out",
                path(&master),
                "--bundle",
                path(&bundle),
                "--pin-file",
                path(&pins),
                "--no-pinpad",
            ],
        )?;
        let digest = doc["result"]["set"]["set_digest"].clone();
        expect(digest.is_string(), || {
            format!("enroll named no set digest: {doc}")
        })?;

        for card in &self.cards {
            let doc = self.step(
                &format!("status of \"{}\"", card.reader),
                &["status", "--reader", &card.reader],
            )?;
            let c = &doc["result"]["card"];
            expect(
                c["state"] == "ENROLLED" && c["set"]["label"] == "quorum-hw-suite",
                || format!("status shows {c}, not an ENROLLED card of the new set"),
            )?;
        }

        let all = m.to_string();
        let doc = self.step(
            &format!("verify all {m} cards"),
            &[
                "verify",
                "--bundle",
                path(&bundle),
                "--count",
                &all,
                "--pin-file",
                path(&pins),
                "--no-pinpad",
            ],
        )?;
        all_healthy(&doc, m)?;

        // Every reader, then any reader: the cards as they sit are the cards present.
        for (mode, out) in [(None, &recovered), (Some("--any-reader"), &again)] {
            let mut args = vec!["recover"];
            args.extend(mode);
            args.extend([
                "--bundle",
                path(&bundle),
                "--out",
                path(out),
                "--pin-file",
                path(&pins),
                "--no-pinpad",
            ]);
            let what = mode.map_or("recover".to_owned(), |m| format!("recover {m}"));
            let doc = self.step(&what, &args)?;
            let (enrolled, back) = (std::fs::read(&master), std::fs::read(out));
            expect(
                matches!((&enrolled, &back), (Ok(a), Ok(b)) if a == b),
                || "the recovered master is missing or differs from the enrolled one".to_owned(),
            )?;
            let used = doc["result"]["cards"]
                .as_array()
                .map_or(0, |c| c.iter().filter(|c| c["result"] == "used").count());
            expect(used == n, || format!("recover used {used} cards, not {n}"))?;
            expect(doc["result"]["set_digest"] == digest, || {
                format!(
                    "recover names set digest {}, enroll named {digest}",
                    doc["result"]["set_digest"]
                )
            })?;
        }

        // One reader: the card in the first reader checked through that reader alone.
        let first = self.cards[0].reader.clone();
        let doc = self.step(
            &format!("verify --reader \"{first}\""),
            &[
                "verify",
                "--reader",
                &first,
                "--count",
                "1",
                "--bundle",
                path(&bundle),
                "--pin-file",
                path(&pins),
                "--no-pinpad",
            ],
        )?;
        all_healthy(&doc, 1)?;

        for (from, to) in [(&pins, &other), (&other, &pins)] {
            for card in &self.cards {
                self.step(
                    &format!("change-pin in \"{}\"", card.reader),
                    &[
                        "change-pin",
                        "--reader",
                        &card.reader,
                        "--pin-file",
                        path(from),
                        "--new-pin-file",
                        path(to),
                        "--no-pinpad",
                    ],
                )?;
            }
            let doc = self.step(
                &format!("verify all {m} cards with the PIN just set"),
                &[
                    "verify",
                    "--bundle",
                    path(&bundle),
                    "--count",
                    &all,
                    "--pin-file",
                    path(to),
                    "--no-pinpad",
                ],
            )?;
            all_healthy(&doc, m)?;
        }
        Ok(())
    }

    /// Refuses cards that are not BLANK, or resets them when [`RESET_VAR`] allows it.
    fn start_blank(&mut self) -> Result<(), String> {
        let allowed = std::env::var(RESET_VAR).is_ok_and(|v| v == "yes");
        let mut not_blank = Vec::new();
        for i in 0..self.cards.len() {
            let reader = self.cards[i].reader.clone();
            let doc = self.quorumctl_ok(&["status", "--reader", &reader])?;
            let card = &doc["result"]["card"];
            if card["state"] == "BLANK" {
                continue;
            }
            if !allowed {
                not_blank.push(format!(
                    "\"{reader}\" ({})",
                    card["state"].as_str().unwrap_or("?")
                ));
                continue;
            }
            let fingerprint = card["fingerprint"].as_str().ok_or_else(|| {
                format!("the card in \"{reader}\" shows no fingerprint to confirm a reset")
            })?;
            self.cards[i].fingerprint = Some(fingerprint.to_owned());
            self.cards[i].touched = true;
            self.step(
                &format!("factory reset of \"{reader}\" ({RESET_VAR}=yes)"),
                &["reset-card", "--reader", &reader, "--confirm", fingerprint],
            )?;
        }
        expect(not_blank.is_empty(), || {
            format!(
                "the card(s) in {} are not BLANK, and the suite only uses blank cards: real cards are \
                 precious. Nothing was changed. Use blank cards, or set {RESET_VAR}=yes to let the \
                 suite factory-reset them first (their key and share are gone for good)",
                not_blank.join(", ")
            )
        })
    }

    /// Factory-resets every card the suite changed and checks it is BLANK.
    fn leave_blank(&mut self) -> Result<(), String> {
        let mut left = Vec::new();
        for card in self.cards.iter().filter(|c| c.touched) {
            let blank = self
                .reset(card)
                .and_then(|()| self.quorumctl_ok(&["status", "--reader", &card.reader]))
                .and_then(|doc| {
                    let state = &doc["result"]["card"]["state"];
                    expect(state == "BLANK", || format!("it is {state}"))
                });
            match blank {
                Ok(()) => println!("hw: ok   reset-card in \"{}\": BLANK again", card.reader),
                Err(why) => left.push(format!("\"{}\": {why}", card.reader)),
            }
        }
        expect(left.is_empty(), || {
            format!(
                "NOT left BLANK: {}; put the card back and reset it: quorumctl reset-card --reader READER",
                left.join("; ")
            )
        })
    }

    /// `reset-card` confirmed with the card's fingerprint (read again: a failed init may
    /// have left a key the suite never heard of).
    fn reset(&self, card: &Card) -> Result<(), String> {
        let doc = self.quorumctl_ok(&["status", "--reader", &card.reader])?;
        let state = &doc["result"]["card"]["state"];
        if state == "BLANK" {
            return Ok(());
        }
        let fingerprint = doc["result"]["card"]["fingerprint"]
            .as_str()
            .or(card.fingerprint.as_deref())
            .ok_or_else(|| format!("it is {state} and shows no fingerprint"))?
            .to_owned();
        self.quorumctl_ok(&[
            "reset-card",
            "--reader",
            &card.reader,
            "--confirm",
            &fingerprint,
        ])
        .map(drop)
    }

    /// Runs one ceremony step and says it passed; a failure shows all quorumctl printed.
    fn step(&self, what: &str, args: &[&str]) -> Result<Value, String> {
        let started = Instant::now();
        let (doc, out) = self.quorumctl_json(args)?;
        let Some(doc) = doc else {
            return Err(format!("{what}:\n{}", show(&out)));
        };
        println!("hw: ok   {what} ({:.1} s)", started.elapsed().as_secs_f64());
        Ok(doc)
    }

    /// Runs `quorumctl --json ARGS` and returns its document, or its error message.
    fn quorumctl_ok(&self, args: &[&str]) -> Result<Value, String> {
        let (doc, out) = self.quorumctl_json(args)?;
        doc.ok_or_else(|| {
            let message = serde_json::from_slice::<Value>(&out.stdout)
                .ok()
                .and_then(|d| d["error"]["message"].as_str().map(str::to_owned))
                .unwrap_or_else(|| String::from_utf8_lossy(&out.stderr).trim().to_owned());
            format!("`quorumctl {}` failed: {message}", args.join(" "))
        })
    }

    /// Runs `quorumctl --json ARGS`: the document when it succeeded, and its output.
    fn quorumctl_json(&self, args: &[&str]) -> Result<(Option<Value>, Output), String> {
        let out = self.quorumctl(args)?;
        let doc = serde_json::from_slice::<Value>(&out.stdout)
            .ok()
            .filter(|d| out.status.success() && d["ok"] == true);
        Ok((doc, out))
    }

    /// The real binary, with the caller's environment (its pcscd) and the suite's own log.
    fn quorumctl(&self, args: &[&str]) -> Result<Output, String> {
        Command::new(env!("CARGO_BIN_EXE_quorumctl"))
            .arg("--json")
            .args(args)
            .env("QUORUM_LOG", self.dir.join("ceremonies.log.jsonl"))
            .env_remove("QUORUM_TRACE")
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("cannot run quorumctl: {e}"))
    }

    /// A file only this user can read, holding one line (a PIN).
    fn file(&self, name: &str, line: &str) -> Result<PathBuf, String> {
        use std::io::Write;
        use std::os::unix::fs::OpenOptionsExt;
        let p = self.dir.join(name);
        std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&p)
            .and_then(|mut f| writeln!(f, "{line}"))
            .map_err(|e| format!("{}: {e}", p.display()))?;
        Ok(p)
    }
}

/// Every one of the `m` cards `verify` saw was found healthy.
fn all_healthy(doc: &Value, m: usize) -> Result<(), String> {
    let cards = doc["result"]["cards"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default();
    let healthy = cards.iter().filter(|c| c["result"] == "healthy").count();
    expect(healthy == m, || {
        format!(
            "verify found {healthy} of {m} cards healthy: {}",
            doc["result"]["cards"]
        )
    })
}

/// `Ok` when `ok`, else the reason `why` gives.
fn expect(ok: bool, why: impl FnOnce() -> String) -> Result<(), String> {
    if ok {
        Ok(())
    } else {
        Err(why())
    }
}

/// A scratch path as a command-line argument.
fn path(p: &Path) -> &str {
    p.to_str().expect("the scratch directory's path is UTF-8")
}

/// All a failed quorumctl run printed, for the failure report.
fn show(out: &Output) -> String {
    format!(
        "exit {:?}\n--- stdout\n{}--- stderr\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}
