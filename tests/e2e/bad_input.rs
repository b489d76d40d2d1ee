//! The rows of the README's bad-input table that no other end-to-end test covers: a
//! missing, empty or oversized master secret, a corrupted or truncated bundle, a recovery
//! that does not say where the secret goes. Each gets its documented exit code and message,
//! and nothing is written anywhere.

use std::path::Path;

use crate::farm::{lock, Farm};
use crate::fixtures::{enrolled, personalise, pins_of, present, text};
use crate::run::{run, run_with_stdin, scratch, show};

/// Every card is still only personalised: nothing was written to any of them.
fn assert_cards_untouched(farm: &Farm, cards: usize) {
    for i in 0..cards {
        let status = run(&["status", "--reader", farm.reader_name(i)]);
        assert!(
            text(&status.stdout).contains("PERSONALISED"),
            "card {i} was changed: {}",
            show(&status)
        );
    }
}

/// Options added to enroll, standard input if any, expected exit code, expected message.
type Case<'a> = (Vec<&'a str>, Option<&'a [u8]>, i32, &'a str);

fn enroll_args<'a>(extra: &[&'a str], pins: &'a str, bundle: &'a str) -> Vec<&'a str> {
    let mut args = vec![
        "enroll",
        "--threshold",
        "2",
        "--label",
        "bad-input",
        "--bundle",
        bundle,
        "--pin-file",
        pins,
    ];
    args.extend_from_slice(extra);
    args
}

#[test]
fn a_missing_empty_or_oversized_master_secret_is_refused_before_any_card_is_touched() {
    let _guard = lock();
    let farm = Farm::connect();
    let dir = scratch("bad-master");
    let custodians = personalise(&farm, &dir, 2);
    let pins = pins_of(&dir, "pins", &custodians);
    let pins = pins.to_str().unwrap();
    let bundle = dir.join("never.quorum.json");
    let bundle_arg = bundle.to_str().unwrap();

    let missing = dir.join("no-such.key");
    let empty = dir.join("empty.key");
    std::fs::write(&empty, b"").unwrap();
    let generated = dir.join("g0");
    let huge = dir.join("huge.key");
    std::fs::write(&huge, vec![0x5a; 6145]).unwrap();
    // Piped: refused once it passes the limit, with no size to give (it fits in the
    // pipe's buffer, so the test's writer finishes before quorumctl stops reading).
    let piped = vec![0x5a; 10_000];

    let cases: Vec<Case> = vec![
        (
            vec!["--in", missing.to_str().unwrap()],
            None,
            8,
            "cannot read the master secret from",
        ),
        (vec!["--in", empty.to_str().unwrap()], None, 8, "is empty"),
        (vec![], Some(b""), 8, "is empty"),
        (
            vec!["--in", huge.to_str().unwrap()],
            None,
            8,
            "is 6145 bytes; quorum backs up at most 6144 bytes",
        ),
        (
            vec![],
            Some(&piped),
            8,
            "standard input is more than 6144 bytes",
        ),
        (
            vec!["--generate", "0", "--out", generated.to_str().unwrap()],
            None,
            2,
            "not in 1..=6144",
        ),
    ];
    for (extra, stdin, code, message) in cases {
        let args = enroll_args(&extra, pins, bundle_arg);
        let out = match stdin {
            Some(input) => run_with_stdin(&args, input),
            None => run(&args),
        };
        assert_eq!(out.status.code(), Some(code), "{extra:?}: {}", show(&out));
        assert!(
            text(&out.stderr).contains(message),
            "{extra:?}: {}",
            show(&out)
        );
        assert!(!bundle.exists(), "{extra:?} wrote a bundle");
    }
    assert!(!generated.exists());
    assert_cards_untouched(&farm, 2);
}

fn corrupt(original: &Path, dir: &Path) -> Vec<(String, std::path::PathBuf, &'static str)> {
    let json = std::fs::read_to_string(original).unwrap();
    let mut out = Vec::new();
    let truncated = dir.join("truncated.json");
    std::fs::write(&truncated, &json[..json.len() / 2]).unwrap();
    out.push(("truncated".to_owned(), truncated, "truncated"));
    let garbage = dir.join("garbage.json");
    std::fs::write(&garbage, "this is not a bundle\n").unwrap();
    out.push(("not JSON".to_owned(), garbage, "not a valid quorum bundle"));
    // One hex digit of the wrapped master changed: the summary no longer matches the records.
    let edited = dir.join("edited.json");
    let at = json.find("\"ciphertext\": \"").unwrap() + "\"ciphertext\": \"".len();
    let mut bytes = json.into_bytes();
    bytes[at] = if bytes[at] == b'0' { b'1' } else { b'0' };
    std::fs::write(&edited, bytes).unwrap();
    out.push(("edited".to_owned(), edited, "inconsistent"));
    out
}

#[test]
fn a_corrupted_or_truncated_bundle_is_named_and_nothing_is_written() {
    let _guard = lock();
    let farm = Farm::connect();
    let dir = scratch("bad-bundle");
    let (custodians, pins, _) = enrolled(&farm, &dir, "bad-bundle", 2, 2, b"bundle checks");
    let original = dir.join("bad-bundle.quorum.json");
    present(&farm, &[&custodians[0]]);
    for (what, path, message) in corrupt(&original, &dir) {
        let p = path.to_str().unwrap();
        for args in [
            vec!["inspect", p],
            vec![
                "verify",
                "--bundle",
                p,
                "--pin-file",
                pins.to_str().unwrap(),
            ],
            vec![
                "add-card",
                "--bundle",
                p,
                "--pin-file",
                pins.to_str().unwrap(),
            ],
        ] {
            let before = std::fs::read(&path).unwrap();
            let out = run(&args);
            assert_eq!(
                out.status.code(),
                Some(8),
                "{what} {args:?}: {}",
                show(&out)
            );
            assert!(
                text(&out.stderr).contains(message) && text(&out.stderr).contains(p),
                "{what} {args:?}: {}",
                show(&out)
            );
            assert_eq!(
                std::fs::read(&path).unwrap(),
                before,
                "{what}: the file was changed"
            );
            assert!(!Path::new(&format!("{p}.v1")).exists());
        }
    }
}

#[test]
fn a_recovery_that_names_no_destination_is_refused_before_any_pin() {
    let _guard = lock();
    let farm = Farm::connect();
    let dir = scratch("no-destination");
    let (custodians, pins, _) = enrolled(&farm, &dir, "nowhere", 2, 2, b"goes only where sent");
    present(&farm, &[&custodians[0], &custodians[1]]);
    let log_lines = || {
        std::fs::read_to_string(crate::run::log_path())
            .map(|t| t.lines().count())
            .unwrap_or(0)
    };
    let logged_before = log_lines();
    // Standard output is a pipe here: the secret would have gone into it before.
    let out = run(&["recover", "--pin-file", pins.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2), "{}", show(&out));
    assert!(out.stdout.is_empty(), "{}", show(&out));
    let err = text(&out.stderr);
    assert!(
        err.contains("say where the recovered secret goes: --out FILE")
            && err.contains("--out - (standard output")
            && err.contains("no card was asked for anything"),
        "{err}"
    );
    assert_eq!(
        log_lines(),
        logged_before,
        "a refusal of the options leaves no line in the ceremony log"
    );
    assert!(!err.contains("note it in the ceremony minutes"), "{err}");
    for i in 0..2 {
        let status = run(&["status", "--reader", farm.reader_name(i)]);
        assert!(
            text(&status.stdout).contains("5 of 5 tries left"),
            "a PIN was presented to card {i}: {}",
            show(&status)
        );
    }
    // Named, it goes there, and the run says so.
    let done = run(&[
        "recover",
        "--out",
        "-",
        "--pin-file",
        pins.to_str().unwrap(),
    ]);
    assert!(done.status.success(), "{}", show(&done));
    assert_eq!(done.stdout, b"goes only where sent");
    assert!(
        text(&done.stderr).contains("Written to standard output (--out -)."),
        "{}",
        show(&done)
    );
}

#[test]
fn a_reader_of_standard_output_that_goes_away_is_no_panic() {
    let _guard = lock();
    let farm = Farm::connect();
    let dir = scratch("closed-stdout");
    let (_, _, _) = enrolled(&farm, &dir, "piped", 2, 2, b"piped master");
    let bundle = dir.join("piped.quorum.json");
    // `quorumctl readers | head -0`: the reader closes the pipe before anything is written
    for args in [vec!["readers"], vec!["inspect", bundle.to_str().unwrap()]] {
        let mut child = crate::run::quorumctl(&args)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        drop(child.stdout.take());
        let done = child.wait_with_output().unwrap();
        assert_eq!(done.status.code(), Some(0), "{args:?}: {}", show(&done));
        assert!(
            !text(&done.stderr).contains("panicked"),
            "{args:?}: {}",
            show(&done)
        );
    }
}
