//! Ceremony paperwork end to end: a plan written from the custodians' cards, checked
//! against the cards present, followed by `enroll --plan` (a card it does not name is
//! refused before any PIN), and the runbook printed before and after the ceremony.

use crate::farm::{lock, Farm};
use crate::fixtures::{personalise, personalise_in, text};
use crate::run::{log_path, pin_file, run, run_ok, scratch, show};

#[test]
fn a_plan_is_checked_followed_and_printed_and_a_card_it_does_not_name_is_refused() {
    let _guard = lock();
    let farm = Farm::connect();
    let dir = scratch("plan");
    let custodians = personalise(&farm, &dir, 3);
    let plan = dir.join("root.plan.json");
    let bundle = dir.join("root.quorum.json");
    let names = ["Alice", "Bob", "Eve"];
    let mut args = vec![
        "--operator".to_owned(),
        "Olga".to_owned(),
        "--witness".to_owned(),
        "Wim".to_owned(),
        "plan".to_owned(),
        "new".to_owned(),
        "--label".to_owned(),
        "root-ca".to_owned(),
        "--threshold".to_owned(),
        "2".to_owned(),
        "--bundle".to_owned(),
        bundle.to_str().unwrap().to_owned(),
        "--out".to_owned(),
        plan.to_str().unwrap().to_owned(),
    ];
    for (c, name) in custodians.iter().zip(names) {
        args.push("--custodian".to_owned());
        args.push(format!("{name}={}", c.fingerprint));
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    run_ok(&args);
    let plan_path = plan.to_str().unwrap();
    let checked = run_ok(&["plan", "check", plan_path, "--cards"]);
    assert!(
        text(&checked.stdout).contains("The cards present are exactly the planned ones."),
        "{}",
        show(&checked)
    );
    let before = dir.join("runbook.md");
    run_ok(&[
        "plan",
        "runbook",
        plan_path,
        "--out",
        before.to_str().unwrap(),
    ]);
    let book = std::fs::read_to_string(&before).unwrap();
    assert!(
        book.contains("| operator | Olga |") && book.contains("| witness | Wim |"),
        "{book}"
    );
    assert!(
        book.contains(&format!("quorumctl enroll --plan {plan_path}")),
        "{book}"
    );
    assert!(
        book.contains("--dry-run"),
        "the runbook rehearses first: {book}"
    );

    // A fourth card the plan does not name: the check names it, enroll refuses before any PIN.
    let stranger = personalise_in(&farm, &dir, 3, 3);
    let deviating = run(&["plan", "check", plan_path, "--cards"]);
    assert_eq!(deviating.status.code(), Some(3), "{}", show(&deviating));
    assert!(
        text(&deviating.stderr)
            .contains(&format!("not in the plan: card {}", stranger.fingerprint)),
        "{}",
        show(&deviating)
    );
    let pins: Vec<String> = custodians
        .iter()
        .chain(std::iter::once(&stranger))
        .map(|c| format!("{} {}", c.fingerprint, c.pin))
        .collect();
    let pins = pin_file(&dir, "pins", &pins);
    let master = dir.join("master");
    std::fs::write(&master, b"planned master").unwrap();
    let enroll_args = [
        "enroll",
        "--plan",
        plan_path,
        "--in",
        master.to_str().unwrap(),
        "--pin-file",
        pins.to_str().unwrap(),
    ];
    let refused = run(&enroll_args);
    assert!(!refused.status.success(), "{}", show(&refused));
    let said = text(&refused.stderr);
    assert!(
        said.contains(&stranger.fingerprint)
            && said.contains("is not one of the plan's cards")
            && said.contains("no PIN was asked and nothing was written"),
        "{}",
        show(&refused)
    );
    assert!(!bundle.exists());

    let mut rehearsal = enroll_args.to_vec();
    rehearsal.push("--dry-run");
    let refused = run(&rehearsal);
    assert!(!refused.status.success(), "{}", show(&refused));
    assert!(
        text(&refused.stderr).contains("is not one of the plan's cards"),
        "{}",
        show(&refused)
    );

    // The stranger out: the rehearsal passes, and the plan is followed, with its names and
    // its bundle path.
    farm.remove(3);
    let rehearsed = run_ok(&rehearsal);
    assert!(
        text(&rehearsed.stdout).contains("Nothing stands in the way that a dry run can see"),
        "{}",
        show(&rehearsed)
    );
    assert!(!bundle.exists(), "a dry run wrote the bundle");
    let enrolled = run_ok(&enroll_args);
    let said = text(&enrolled.stdout);
    assert!(said.contains("Enrolled set \"root-ca\" (2-of-3)"), "{said}");
    for (c, name) in custodians.iter().zip(names) {
        assert!(
            said.contains(&format!("\"{name}\": card {}", c.fingerprint)),
            "{said}"
        );
    }
    assert!(bundle.exists());

    // After the ceremony the runbook carries the set's digest to compare, read aloud in groups.
    let after = dir.join("runbook.html");
    run_ok(&[
        "plan",
        "runbook",
        plan_path,
        "--bundle",
        bundle.to_str().unwrap(),
        "--out",
        after.to_str().unwrap(),
    ]);
    let html = std::fs::read_to_string(&after).unwrap();
    let summary = text(&run_ok(&["--json", "inspect", bundle.to_str().unwrap()]).stdout);
    let doc: serde_json::Value = serde_json::from_str(&summary).unwrap();
    let digest = doc["result"]["summary"]["set_digest"].as_str().unwrap();
    assert!(
        html.contains(&format!("set digest: {} {}", &digest[..4], &digest[4..8])),
        "{html}"
    );
    assert!(html.starts_with("<!DOCTYPE html>"), "{html}");
    // ... and the log's head after the enrollment, from the verified log
    let log = std::fs::read_to_string(log_path()).unwrap();
    let line = log
        .lines()
        .rev()
        .find(|l| l.contains("\"command\":\"enroll\"") && l.contains("\"outcome\":\"ok\""))
        .expect("the enrollment is logged");
    let line: serde_json::Value = serde_json::from_str(line).unwrap();
    let head = line["hash"].as_str().unwrap();
    assert!(
        html.contains(&format!("log head after: {} {}", &head[..4], &head[4..8])),
        "{html}"
    );
}
