//! The paperwork around an enrollment ceremony: `plan new` writes the plan people review
//! beforehand, `plan check` checks it (and the cards present against it, without a PIN),
//! `plan runbook` prints the runbook and minutes template the people at the table follow
//! and sign, in Markdown or HTML; after the ceremony, with the bundle, it carries the set's
//! id, digest and key check value to compare.

use std::fmt::Write as _;
use std::path::Path;

use serde_json::json;

use quorum_ceremony::bundle_file::BundleFile;
use quorum_ceremony::log::Provenance;
use quorum_ceremony::log::{LogLine, OutcomeKind};
use quorum_ceremony::plan::{Deviation, Plan, PlannedCustodian, PLAN_FILE_MAX};
use quorum_protocol::bundle::{Bundle, BundleSummary};

use crate::cli::{PlanCheckArgs, PlanCommand, PlanNewArgs, RunbookArgs, RunbookFormat};
use crate::exit::ExitStatus;
use crate::report::{causes, Report};

/// How a paperwork command ended, for `Report::finish`.
pub type Outcome = Result<(), (ExitStatus, String, Vec<String>)>;

/// Runs `plan new`, `plan check` or `plan runbook`.
pub fn run(
    command: &PlanCommand,
    trace: bool,
    provenance: &Provenance,
    log: Option<&Path>,
    report: &mut Report,
) -> Outcome {
    match command {
        PlanCommand::New(args) => new(args, provenance, report),
        PlanCommand::Check(args) => check(args, trace, report),
        PlanCommand::Runbook(args) => runbook(args, log, report),
    }
}

/// The ceremony log's record of the enrollment of set `set_id`: its last `ok` enroll line,
/// read from the verified chain; `None` without a log or without such a line. A damaged
/// log is refused: a runbook never carries a head from an edited log.
fn enroll_line(
    log: Option<&Path>,
    set_id: &str,
) -> Result<Option<LogLine>, (ExitStatus, String, Vec<String>)> {
    let Some(path) = log.filter(|p| p.exists()) else {
        return Ok(None);
    };
    let lines = quorum_ceremony::log::read_lines(path).map_err(|e| {
        (
            ExitStatus::Log,
            format!(
                "{}; no runbook was written (a runbook carries the log's head only from an intact log)",
                crate::words::log::message(&e)
            ),
            Vec::new(),
        )
    })?;
    Ok(lines.into_iter().rev().find(|l| {
        l.command == "enroll"
            && l.outcome == OutcomeKind::Ok
            && l.set_id
                .as_deref()
                .is_some_and(|id| id.eq_ignore_ascii_case(set_id))
    }))
}

fn usage(text: String) -> (ExitStatus, String, Vec<String>) {
    (ExitStatus::Usage, text, Vec::new())
}

/// One `--custodian`: FINGERPRINT=NAME, the form enroll's `--name` takes, or
/// NAME=FINGERPRINT; the side that is a card fingerprint tells them apart.
fn planned_custodian(given: &str) -> Option<PlannedCustodian> {
    let (card, name) = match crate::options::parse_one_name(given) {
        (Some(card), name) => (card, name),
        (None, _) => {
            let (name, card) = given.split_once('=')?;
            (card.to_owned(), name.to_owned())
        }
    };
    let (name, card) = (name.trim(), card.trim());
    (!name.is_empty() && !card.is_empty()).then(|| PlannedCustodian {
        name: name.to_owned(),
        card: card.to_owned(),
    })
}

fn new(args: &PlanNewArgs, provenance: &Provenance, report: &mut Report) -> Outcome {
    let custodians = args
        .custodian
        .iter()
        .map(|c| {
            planned_custodian(c).ok_or_else(|| usage(format!(
                "--custodian {c:?}: write it as FINGERPRINT=NAME, as enroll's --name takes it, or NAME=FINGERPRINT (the fingerprint as init and status show it); nothing was written"
            )))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let mut plan = Plan::new(&args.label, args.threshold, custodians)
        .map_err(|e| usage(format!("the plan {e}; nothing was written")))?;
    plan.bundle = args.bundle.as_ref().map(|b| b.display().to_string());
    plan.operator = provenance.operator().map(|o| o.as_str().to_owned());
    plan.witnesses = provenance
        .witnesses()
        .iter()
        .map(|w| w.as_str().to_owned())
        .collect();
    plan.check()
        .map_err(|e| usage(format!("the plan {e}; nothing was written")))?;
    write_file(&args.out, plan.to_json().as_bytes(), args.force)?;
    report.line(format!(
        "Wrote the plan of set \"{}\" ({}-of-{}) to {}. Review it, then check it with `quorumctl plan check {}` and follow it with `quorumctl enroll --plan {}`.",
        plan.label,
        plan.threshold,
        plan.custodians.len(),
        args.out.display(),
        args.out.display(),
        args.out.display()
    ));
    report.set("plan", json!(args.out.display().to_string()));
    Ok(())
}

/// Reads and checks a plan file, every failure worded with the file's name.
pub(crate) fn read_plan(path: &Path) -> Result<Plan, (ExitStatus, String, Vec<String>)> {
    let bytes = read_small(path)?;
    Plan::parse(&bytes).map_err(|e| {
        (
            ExitStatus::File,
            format!(
                "the plan {}: {e}; nothing was done. Fix the file (or write it again with `quorumctl plan new`)",
                path.display()
            ),
            causes(&e),
        )
    })
}

fn read_small(path: &Path) -> Result<Vec<u8>, (ExitStatus, String, Vec<String>)> {
    let cannot = |what: String| {
        (
            ExitStatus::File,
            format!("cannot read {}: {what}; nothing was done", path.display()),
            Vec::new(),
        )
    };
    let meta = std::fs::metadata(path).map_err(|e| cannot(e.to_string()))?;
    if meta.len() > PLAN_FILE_MAX as u64 {
        return Err(cannot(format!(
            "it is {} bytes, more than a plan ever holds ({PLAN_FILE_MAX})",
            meta.len()
        )));
    }
    std::fs::read(path).map_err(|e| cannot(e.to_string()))
}

fn write_file(path: &Path, bytes: &[u8], force: bool) -> Outcome {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true);
    if force {
        options.create(true).truncate(true);
    } else {
        options.create_new(true);
    }
    let refused = |e: std::io::Error| {
        let hint = if e.kind() == std::io::ErrorKind::AlreadyExists {
            " (it exists: add --force to replace it)"
        } else {
            ""
        };
        (
            ExitStatus::File,
            format!("cannot write {}: {e}{hint}", path.display()),
            Vec::new(),
        )
    };
    let mut file = options.open(path).map_err(refused)?;
    file.write_all(bytes).map_err(refused)
}

fn check(args: &PlanCheckArgs, trace: bool, report: &mut Report) -> Outcome {
    let plan = read_plan(&args.plan)?;
    report.line(format!(
        "The plan {} is well formed: set \"{}\", {}-of-{}.",
        args.plan.display(),
        plan.label,
        plan.threshold,
        plan.custodians.len()
    ));
    for (i, c) in plan.custodians.iter().enumerate() {
        report.line(format!(
            "  custodian {}: {} with card {}",
            i + 1,
            c.name,
            c.card
        ));
    }
    report.set(
        "plan",
        serde_json::to_value(&plan).expect("a plan serialises"),
    );
    if !args.cards {
        return Ok(());
    }
    let present = present_fingerprints(trace)?;
    let deviation = plan.deviation(&present);
    report.set(
        "deviation",
        serde_json::to_value(&deviation).expect("a deviation serialises"),
    );
    if deviation.is_none() {
        report.line("The cards present are exactly the planned ones.");
        return Ok(());
    }
    Err((
        ExitStatus::NotEnoughCards,
        deviation_words(&deviation),
        Vec::new(),
    ))
}

/// What differs between the cards present and the plan, and what to do.
pub(crate) fn deviation_words(deviation: &Deviation) -> String {
    let mut parts = Vec::new();
    if !deviation.unplanned.is_empty() {
        parts.push(format!(
            "not in the plan: card {} (take it out, or write the plan again)",
            deviation.unplanned.join(", card ")
        ));
    }
    if !deviation.missing.is_empty() {
        let missing: Vec<String> = deviation
            .missing
            .iter()
            .map(|c| format!("{} (card {})", c.name, c.card))
            .collect();
        parts.push(format!("planned but not present: {}", missing.join(", ")));
    }
    format!(
        "the cards present are not the planned ones: {}; nothing was done",
        parts.join("; ")
    )
}

/// The fingerprints of the personalised or enrolled cards in the readers (no PIN).
fn present_fingerprints(trace: bool) -> Result<Vec<String>, (ExitStatus, String, Vec<String>)> {
    let failed = |status: ExitStatus, message: String| (status, message, Vec::new());
    let ctx = crate::signals::establish()
        .map_err(|e| failed(ExitStatus::Pcsc, crate::words::error_message(&e.into())))?;
    let readers = quorum_ceremony::inspect::list_readers(&ctx, trace)
        .map_err(|e| failed(ExitStatus::Pcsc, crate::words::error_message(&e)))?;
    Ok(readers
        .into_iter()
        .filter_map(|r| match r.card {
            quorum_ceremony::inspect::Found::Quorum(summary) => summary.fingerprint,
            _ => None,
        })
        .collect())
}

fn runbook(args: &RunbookArgs, log: Option<&Path>, report: &mut Report) -> Outcome {
    let plan = match &args.plan {
        Some(path) => Some(read_plan(path)?),
        None => None,
    };
    let done = match &args.bundle {
        None => None,
        Some(path) => {
            let summary = Bundle::read(path)
                .map_err(|e| {
                    (
                        ExitStatus::File,
                        format!("the bundle {}: {e}; no runbook was written", path.display()),
                        causes(&e),
                    )
                })?
                .summary();
            let differs =
                |plan: &Plan| summary.label != plan.label || summary.count != plan.custodians.len();
            if let Some(plan) = plan.as_ref().filter(|p| differs(p)) {
                return Err(usage(format!(
                    "the bundle {} is of set \"{}\" ({}-of-{}), not the planned \"{}\" ({}-of-{}); no runbook was written",
                    path.display(),
                    summary.label,
                    summary.threshold,
                    summary.count,
                    plan.label,
                    plan.threshold,
                    plan.custodians.len()
                )));
            }
            Some(summary)
        }
    };
    let format =
        args.format
            .unwrap_or_else(|| match args.out.extension().and_then(|e| e.to_str()) {
                Some("html" | "htm") => RunbookFormat::Html,
                _ => RunbookFormat::Markdown,
            });
    let logged = match &done {
        Some(summary) => enroll_line(log, &summary.set_id)?,
        None => None,
    };
    // Without a plan, the minutes of a finished ceremony: its set as the bundle describes it.
    let plan = match (plan, &done, &args.bundle) {
        (Some(plan), _, _) => plan,
        (None, Some(summary), Some(path)) => Plan {
            format: quorum_ceremony::plan::PLAN_FORMAT.to_owned(),
            label: summary.label.clone(),
            threshold: summary.threshold,
            custodians: summary
                .custodians
                .iter()
                .map(|c| PlannedCustodian {
                    name: c.name.clone(),
                    card: c.fingerprint.clone(),
                })
                .collect(),
            bundle: Some(path.display().to_string()),
            operator: None,
            witnesses: Vec::new(),
        },
        _ => unreachable!("clap requires a plan or a bundle"),
    };
    let book = Runbook::of(&plan, args.plan.as_deref(), done.as_ref(), logged.as_ref());
    let text = match format {
        RunbookFormat::Markdown => book.markdown(),
        RunbookFormat::Html => book.html(),
    };
    write_file(&args.out, text.as_bytes(), args.force)?;
    report.line(format!(
        "Wrote the {} of set \"{}\" to {}{}: print it for the people at the table.",
        if args.plan.is_some() { "runbook" } else { "minutes" },
        plan.label,
        args.out.display(),
        match (&done, &logged) {
            (None, _) => String::new(),
            (Some(_), Some(line)) => format!(
                ", with the enrolled set's id, digest and key check from the bundle and its log line {} (head {})",
                line.seq,
                crate::words::log::grouped(&line.hash)
            ),
            (Some(_), None) => ", with the enrolled set's id, digest and key check from the bundle (the ceremony log has no line of its enrollment: its head is left blank)".to_owned(),
        }
    ));
    report.set("runbook", json!(args.out.display().to_string()));
    Ok(())
}

/// The runbook's content, independent of how it is printed.
struct Runbook {
    title: String,
    intro: Vec<String>,
    sections: Vec<Section>,
}

/// One section: paragraphs, a table, numbered steps (each with the command to type and what
/// it should print), in that order.
struct Section {
    title: String,
    paragraphs: Vec<String>,
    table: Option<(Vec<String>, Vec<Vec<String>>)>,
    steps: Vec<Step>,
}

struct Step {
    what: String,
    command: Option<String>,
    expect: Vec<String>,
    record: Vec<String>,
}

/// A blank to fill in by hand.
const BLANK: &str = "____________________";

impl Section {
    fn new(title: &str) -> Section {
        Section {
            title: title.to_owned(),
            paragraphs: Vec::new(),
            table: None,
            steps: Vec::new(),
        }
    }
}

impl Runbook {
    fn of(
        plan: &Plan,
        plan_path: Option<&Path>,
        done: Option<&BundleSummary>,
        logged: Option<&LogLine>,
    ) -> Runbook {
        let recorded = logged.and_then(|l| l.provenance.as_ref());
        let m = plan.custodians.len();
        let bundle = plan.bundle.clone().unwrap_or_else(|| {
            crate::options::default_bundle_path(&plan.label)
                .display()
                .to_string()
        });
        let plan_file = plan_path.map(|p| p.display().to_string());
        let enroll_command = match &plan_file {
            Some(plan_file) => {
                format!("quorumctl enroll --plan {plan_file} --in MASTER-FILE --bundle {bundle}")
            }
            None => {
                // default names ("custodian K") are what enroll gives without --name
                let names: String = plan
                    .custodians
                    .iter()
                    .filter(|c| quorum_ceremony::share::real_name(&c.name).is_some())
                    .map(|c| format!(" --name {}", shell_word(&format!("{}={}", c.card, c.name))))
                    .collect();
                format!(
                    "quorumctl enroll --threshold {} --label {}{names} --in MASTER-FILE --bundle {bundle}",
                    plan.threshold,
                    shell_word(&plan.label)
                )
            }
        };
        let mut roles = Section::new("Roles");
        let mut rows = vec![vec![
            "operator".to_owned(),
            plan.operator
                .clone()
                .or_else(|| recorded.and_then(|p| p.operator.clone()))
                .unwrap_or_else(|| BLANK.to_owned()),
            BLANK.to_owned(),
        ]];
        let witnesses: Vec<String> = match recorded {
            _ if !plan.witnesses.is_empty() => plan.witnesses.clone(),
            Some(p) if !p.witnesses.is_empty() => p.witnesses.clone(),
            _ => vec![BLANK.to_owned(), BLANK.to_owned()],
        };
        rows.extend(
            witnesses
                .iter()
                .map(|w| vec!["witness".to_owned(), w.clone(), BLANK.to_owned()]),
        );
        rows.extend(plan.custodians.iter().enumerate().map(|(i, c)| {
            vec![
                format!("custodian {} (card {})", i + 1, c.card),
                c.name.clone(),
                BLANK.to_owned(),
            ]
        }));
        roles.table = Some((vec!["role".into(), "name".into(), "signature".into()], rows));

        let mut before = Section::new("Before the ceremony");
        if let Some(plan_file) = &plan_file {
            before.steps.push(Step {
                what: "The operator checks the plan file everyone reviewed.".into(),
                command: Some(format!("quorumctl plan check {plan_file}")),
                expect: vec![format!(
                    "The plan {plan_file} is well formed: set \"{}\", {}-of-{m}.",
                    plan.label, plan.threshold
                )],
                record: Vec::new(),
            });
        }
        before.steps.push(Step {
            what: "The operator verifies the ceremony log and reads its head aloud; a witness compares it with the head in the minutes of the last ceremony.".into(),
            command: Some("quorumctl log verify".into()),
            expect: vec!["The ceremony log … is intact: … lines, head ….".into()],
            record: vec![format!("log head before: {BLANK}")],
        });
        before.steps.push(match &plan_file {
            Some(plan_file) => Step {
                what: format!(
                    "Each custodian inserts their card; the operator checks that exactly the {m} planned cards are present (no PIN is asked)."
                ),
                command: Some(format!("quorumctl plan check {plan_file} --cards")),
                expect: vec!["The cards present are exactly the planned ones.".into()],
                record: Vec::new(),
            },
            None => Step {
                what: format!(
                    "Each custodian inserts their card; the operator lists the readers and a witness checks that the {m} cards below are present."
                ),
                command: Some("quorumctl readers".into()),
                expect: plan
                    .custodians
                    .iter()
                    .map(|c| format!("… card {} …", c.card))
                    .collect(),
                record: Vec::new(),
            },
        });
        before.steps.push(Step {
            what: "The operator rehearses the enrollment: every check that needs no PIN, on the cards and the master file; nothing is written or logged.".into(),
            command: Some(format!("{enroll_command} --dry-run")),
            expect: vec![
                "Dry run of enroll: no PIN was asked, no card or file was written, nothing was logged.".into(),
                "Nothing stands in the way that a dry run can see: run the same command without --dry-run.".into(),
            ],
            record: Vec::new(),
        });

        let mut ceremony = Section::new("The ceremony");
        ceremony.paragraphs.push(format!(
            "Each custodian types their own PIN when quorumctl names them (on the reader's keypad where it has one). Any {} of the {m} cards will recover the master; fewer cannot.",
            plan.threshold
        ));
        ceremony.steps.push(Step {
            what: match &plan_file {
                Some(_) => "The operator enrolls the set as planned; quorumctl refuses any card the plan does not name before a PIN is asked.",
                None => "The operator enrolls the set.",
            }
            .into(),
            command: Some(enroll_command.clone()),
            expect: {
                let mut lines = vec![format!(
                    "Enrolled set \"{}\" ({}-of-{m}), id ….",
                    plan.label, plan.threshold
                )];
                lines.extend(plan.custodians.iter().enumerate().map(|(i, c)| {
                    format!(
                        "  custodian {} \"{}\": card {} (written, read back and opened in …)",
                        i + 1,
                        c.name,
                        c.card
                    )
                }));
                lines.push(format!("Bundle (public set description): {bundle}"));
                lines
            },
            record: match done {
                Some(s) => vec![
                    format!("set id: {}", s.set_id),
                    format!("set digest: {}", crate::words::log::grouped(&s.set_digest)),
                    format!("key check: {}", crate::words::log::grouped(&s.key_check)),
                    match logged {
                        Some(l) => format!(
                            "log head after: {} (line {}, {})",
                            crate::words::log::grouped(&l.hash),
                            l.seq,
                            l.time
                        ),
                        None => format!("log head after: {BLANK}"),
                    },
                ],
                None => vec![
                    format!("set id: {BLANK}"),
                    format!("set digest: {BLANK}{BLANK}"),
                    format!("key check: {BLANK}"),
                    format!("log head after: {BLANK}"),
                ],
            },
        });

        let mut after = Section::new("After the ceremony");
        after.steps.push(Step {
            what: "The operator prints the bundle's summary; a witness compares the set digest and key check with those recorded above.".into(),
            command: Some(format!("quorumctl inspect {bundle}")),
            expect: vec![format!("Bundle:         {bundle}")],
            record: Vec::new(),
        });
        after.steps.push(Step {
            what: format!(
                "Copies of the bundle ({bundle}) go with these minutes; it is public. The master file is destroyed as the organisation's procedure says."
            ),
            command: None,
            expect: Vec::new(),
            record: vec![format!("bundle copies kept at: {BLANK}")],
        });

        let mut minutes = Section::new("Minutes");
        minutes.table = Some((
            vec![
                "time".into(),
                "step".into(),
                "outcome".into(),
                "initials".into(),
            ],
            (1..=6)
                .map(|i| {
                    vec![
                        BLANK.to_owned(),
                        i.to_string(),
                        BLANK.to_owned(),
                        BLANK.to_owned(),
                    ]
                })
                .collect(),
        ));
        minutes.paragraphs.push(
            "Anything that did not go as written (a wrong PIN, a card refused, a step repeated) is noted here with the time and the operator's and a witness's initials.".into(),
        );

        let mut intro = vec![format!(
            "Set \"{}\": {}-of-{m}. {} Written by quorumctl {}.",
            plan.label,
            plan.threshold,
            match &plan_file {
                Some(plan_file) => format!("Plan file: {plan_file}."),
                None => "No plan file: made from the bundle of the finished ceremony.".to_owned(),
            },
            env!("CARGO_PKG_VERSION")
        )];
        if let Some(s) = done {
            intro.push(format!(
                "Enrolled: set id {}, version {}; the values to compare are filled in below.",
                s.set_id, s.set_version
            ));
        }
        Runbook {
            title: format!(
                "Key ceremony {}: enrollment of set \"{}\"",
                if plan_file.is_some() {
                    "runbook"
                } else {
                    "minutes"
                },
                plan.label
            ),
            intro,
            sections: vec![roles, before, ceremony, after, minutes],
        }
    }

    fn markdown(&self) -> String {
        let mut out = format!("# {}\n\n", self.title);
        for p in &self.intro {
            let _ = writeln!(out, "{p}\n");
        }
        let mut n = 0;
        for s in &self.sections {
            let _ = writeln!(out, "## {}\n", s.title);
            for p in &s.paragraphs {
                let _ = writeln!(out, "{p}\n");
            }
            if let Some((head, rows)) = &s.table {
                let _ = writeln!(out, "| {} |", head.join(" | "));
                let _ = writeln!(out, "|{}", " --- |".repeat(head.len()));
                for row in rows {
                    let _ = writeln!(out, "| {} |", row.join(" | "));
                }
                out.push('\n');
            }
            for step in &s.steps {
                n += 1;
                let _ = writeln!(out, "{n}. {}", step.what);
                if let Some(c) = &step.command {
                    let _ = writeln!(out, "\n   ```\n   {c}\n   ```\n");
                }
                if !step.expect.is_empty() {
                    let _ = writeln!(out, "   Expected output:\n\n   ```");
                    for line in &step.expect {
                        let _ = writeln!(out, "   {line}");
                    }
                    let _ = writeln!(out, "   ```\n");
                }
                for r in &step.record {
                    let _ = writeln!(out, "   - {r}");
                }
                if !step.record.is_empty() {
                    out.push('\n');
                }
                let _ = writeln!(out, "   Done: {BLANK}  Witness: {BLANK}\n");
            }
        }
        out
    }

    fn html(&self) -> String {
        let e = escape;
        let mut out = format!(
            "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>{}</title>\n<style>body{{font-family:sans-serif;max-width:48em;margin:2em auto}}table{{border-collapse:collapse}}td,th{{border:1px solid #444;padding:.3em .6em}}pre{{background:#f4f4f4;padding:.5em}}</style>\n</head>\n<body>\n<h1>{}</h1>\n",
            e(&self.title),
            e(&self.title)
        );
        for p in &self.intro {
            let _ = writeln!(out, "<p>{}</p>", e(p));
        }
        let mut n = 0;
        for s in &self.sections {
            let _ = writeln!(out, "<h2>{}</h2>", e(&s.title));
            for p in &s.paragraphs {
                let _ = writeln!(out, "<p>{}</p>", e(p));
            }
            if let Some((head, rows)) = &s.table {
                out.push_str("<table>\n<tr>");
                for h in head {
                    let _ = write!(out, "<th>{}</th>", e(h));
                }
                out.push_str("</tr>\n");
                for row in rows {
                    out.push_str("<tr>");
                    for cell in row {
                        let _ = write!(out, "<td>{}</td>", e(cell));
                    }
                    out.push_str("</tr>\n");
                }
                out.push_str("</table>\n");
            }
            if !s.steps.is_empty() {
                let _ = writeln!(out, "<ol start=\"{}\">", n + 1);
                for step in &s.steps {
                    n += 1;
                    let _ = write!(out, "<li><p>{}</p>", e(&step.what));
                    if let Some(c) = &step.command {
                        let _ = write!(out, "<pre>{}</pre>", e(c));
                    }
                    if !step.expect.is_empty() {
                        let _ = write!(
                            out,
                            "<p>Expected output:</p><pre>{}</pre>",
                            e(&step.expect.join("\n"))
                        );
                    }
                    if !step.record.is_empty() {
                        out.push_str("<ul>");
                        for r in &step.record {
                            let _ = write!(out, "<li>{}</li>", e(r));
                        }
                        out.push_str("</ul>");
                    }
                    let _ = writeln!(out, "<p>Done: {BLANK} Witness: {BLANK}</p></li>");
                }
                out.push_str("</ol>\n");
            }
        }
        out.push_str("</body>\n</html>\n");
        out
    }
}

/// Text made safe inside HTML.
/// `text` as one shell word: as it is when it holds only characters a shell leaves alone,
/// else in single quotes (a single quote inside written as '\'').
fn shell_word(text: &str) -> String {
    let plain = !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.=/:,@+".contains(c));
    match plain {
        true => text.to_owned(),
        false => format!("'{}'", text.replace('\'', "'\\''")),
    }
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_custodian_is_fingerprint_equals_name_as_enroll_takes_it_or_the_other_way() {
        for given in ["51d4-77cb-be13-c565=Alice", "Alice=51d4-77cb-be13-c565"] {
            let c = planned_custodian(given).expect(given);
            assert_eq!(
                (c.name.as_str(), c.card.as_str()),
                ("Alice", "51d4-77cb-be13-c565")
            );
        }
        assert!(planned_custodian("Alice").is_none());
        assert!(planned_custodian("=51d4-77cb-be13-c565").is_none());
    }

    fn plan() -> Plan {
        let mut plan = Plan::new(
            "root-ca-2026",
            2,
            vec![
                PlannedCustodian {
                    name: "Alice".into(),
                    card: "51d4-77cb-be13-c565".into(),
                },
                PlannedCustodian {
                    name: "Bob <b>".into(),
                    card: "0f0e-0d0c-0b0a-0908".into(),
                },
                PlannedCustodian {
                    name: "Eve".into(),
                    card: "a1b2-c3d4-e5f6-0718".into(),
                },
            ],
        )
        .unwrap();
        plan.operator = Some("Olga".into());
        plan.witnesses = vec!["Wim".into()];
        plan
    }

    #[test]
    fn the_runbook_names_roles_steps_commands_and_blanks_to_fill() {
        let book = Runbook::of(&plan(), Some(Path::new("root.plan.json")), None, None).markdown();
        for expected in [
            "# Key ceremony runbook: enrollment of set \"root-ca-2026\"",
            "| operator | Olga | ____________________ |",
            "| witness | Wim | ____________________ |",
            "| custodian 1 (card 51d4-77cb-be13-c565) | Alice | ____________________ |",
            "   quorumctl plan check root.plan.json --cards",
            "   quorumctl enroll --plan root.plan.json --in MASTER-FILE --bundle root-ca-2026.quorum.json",
            "   Enrolled set \"root-ca-2026\" (2-of-3), id ….",
            "     custodian 3 \"Eve\": card a1b2-c3d4-e5f6-0718 (written, read back and opened in …)",
            "   - set digest: ________________________________________",
            "## Minutes",
        ] {
            assert!(book.contains(expected), "missing {expected:?} in:\n{book}");
        }
        let steps = book
            .lines()
            .filter(|l| l.starts_with(char::is_numeric))
            .count();
        assert_eq!(steps, 7, "{book}");
        assert!(
            book.contains("--bundle root-ca-2026.quorum.json --dry-run"),
            "the enrollment is rehearsed first: {book}"
        );
    }

    #[test]
    fn without_a_plan_the_minutes_give_the_enroll_command_that_names_every_card() {
        let mut plan = plan();
        plan.label = "root ca".into();
        let book = Runbook::of(&plan, None, None, None).markdown();
        for expected in [
            "# Key ceremony minutes: enrollment of set \"root ca\"",
            "No plan file: made from the bundle of the finished ceremony.",
            "   quorumctl readers",
            "   quorumctl enroll --threshold 2 --label 'root ca' --name 51d4-77cb-be13-c565=Alice",
        ] {
            assert!(book.contains(expected), "missing {expected:?} in:\n{book}");
        }
        assert!(!book.contains("plan check"), "{book}");
        assert_eq!(shell_word("it's"), "'it'\\''s'");
        assert_eq!(shell_word("a1b2=Bob"), "a1b2=Bob");
    }

    #[test]
    fn the_people_the_log_recorded_fill_the_roles_the_plan_left_blank() {
        let mut plan = plan();
        plan.operator = None;
        plan.witnesses = Vec::new();
        let line = LogLine {
            seq: 7,
            time: "2026-12-05T10:00:00Z".into(),
            command: "enroll".into(),
            provenance: Some(quorum_ceremony::log::line::LineProvenance {
                operator: Some("Ada".into()),
                witnesses: vec!["Grace".into(), "Alan".into()],
                tool: "quorumctl/0.1.0".into(),
                protocol: "1.1".into(),
            }),
            set_id: None,
            set_label: None,
            set_digest: None,
            key_check: None,
            cards: Vec::new(),
            outcome: OutcomeKind::Ok,
            message: None,
            prev: "0".repeat(64),
            hash: "e1c5".repeat(16),
        };
        let book = Runbook::of(&plan, Some(Path::new("p.json")), None, Some(&line)).markdown();
        for expected in [
            "| operator | Ada | ____________________ |",
            "| witness | Grace | ____________________ |",
            "| witness | Alan | ____________________ |",
        ] {
            assert!(book.contains(expected), "missing {expected:?} in:\n{book}");
        }
    }

    #[test]
    fn html_escapes_what_people_typed() {
        let html = Runbook::of(&plan(), Some(Path::new("p.json")), None, None).html();
        assert!(html.starts_with("<!DOCTYPE html>"));
        assert!(html.contains("Bob &lt;b&gt;"), "{html}");
        assert!(!html.contains("Bob <b>"));
        assert!(
            html.contains("<ol start=\"5\">"),
            "step numbers run on: {html}"
        );
    }

    #[test]
    fn a_deviation_says_which_cards_and_what_to_do() {
        let words = deviation_words(&plan().deviation(&[
            "51d4-77cb-be13-c565".to_owned(),
            "ffff-0000-1111-2222".to_owned(),
        ]));
        assert_eq!(
            words,
            "the cards present are not the planned ones: not in the plan: card ffff-0000-1111-2222 (take it out, or write the plan again); planned but not present: Bob <b> (card 0f0e-0d0c-0b0a-0908), Eve (card a1b2-c3d4-e5f6-0718); nothing was done"
        );
    }
}
