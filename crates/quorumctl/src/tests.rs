//! quorumctl's own logic without a card: the grammar (clap), the option checks made before
//! any card is touched, and the names and texts it derives. Card behaviour is tested in the
//! ceremony crate (in-memory cards) and end to end (tests/e2e).

use crate::failure::Failure;
use clap::Parser;

use super::*;
use crate::options::{
    check_set_options, default_bundle_path, parse_names, parse_set_id, recover_anchor,
    require_count,
};
use quorum_ceremony::presence::CountOf;
use quorum_ceremony::recover::Anchor;
use std::path::PathBuf;

fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
    Cli::try_parse_from(std::iter::once("quorumctl").chain(args.iter().copied()))
}

fn usage_text(result: Result<impl std::fmt::Debug, Failure>) -> String {
    match result {
        Err(e) if e.exit_status() == ExitStatus::Usage => e.message(),
        other => panic!("expected a usage error, got {other:?}"),
    }
}

#[test]
fn out_of_range_numbers_are_refused_by_the_grammar() {
    for args in [
        &["enroll", "--threshold", "0", "--label", "x"][..],
        &["init", "--retries", "20"],
        &["init", "--retries", "2"],
        &["enroll", "--threshold", "256", "--label", "x"],
    ] {
        let e = parse(args).expect_err("out of range");
        assert_eq!(
            e.kind(),
            clap::error::ErrorKind::ValueValidation,
            "{args:?}"
        );
    }
    assert!(parse(&["init", "--retries", "10"]).is_ok());
    assert!(parse(&["enroll", "--threshold", "3", "--label", "x"]).is_ok());
}

#[test]
fn every_command_has_one_name_and_only_ceremonies_are_logged() {
    let cases: [(&[&str], &str, bool); 6] = [
        (&["readers"], "readers", false),
        (&["status"], "status", false),
        (&["inspect", "b.json"], "inspect", false),
        (&["init"], "init", true),
        (&["enroll", "-n", "2", "--label", "x"], "enroll", true),
        (&["recover", "--out", "m"], "recover", true),
    ];
    for (args, name, logged) in cases {
        let cli = parse(args).unwrap();
        assert_eq!(command_name(&cli.command), name);
        assert_eq!(ceremony_name(&cli.command).is_some(), logged, "{name}");
    }
}

#[test]
fn names_are_fingerprint_equals_name() {
    let names =
        parse_names(&["a1b2-c3d4-e5f6-0718=Alice".into(), " fp =Bob Smith".into()]).unwrap();
    assert_eq!(
        names,
        [
            ("a1b2-c3d4-e5f6-0718".to_owned(), "Alice".to_owned()),
            ("fp".to_owned(), "Bob Smith".to_owned())
        ]
    );
    for bad in ["Alice", "=Alice", " =Alice"] {
        let text = usage_text(parse_names(&[bad.into()]));
        assert!(text.contains("FINGERPRINT=NAME"), "{text}");
    }
}

#[test]
fn set_options_every_card_would_refuse_are_refused_first() {
    let ok = |threshold, shares, single| check_set_options("root", &[], threshold, shares, single);
    assert!(ok(2, Some(3), false).is_ok());
    assert!(ok(3, None, false).is_ok());
    let text = usage_text(ok(4, Some(3), false));
    assert!(
        text.contains("--threshold 4 is more than the 3 cards"),
        "{text}"
    );
    let text = usage_text(ok(1, Some(3), false));
    assert!(text.contains("--allow-single-card"), "{text}");
    assert!(ok(1, Some(3), true).is_ok());
    for label in ["", "a\u{202e}b", &"x".repeat(300)] {
        let text = usage_text(check_set_options(label, &[], 2, None, false));
        assert!(text.starts_with("--label"), "{text}");
    }
    let names = [("fp".to_owned(), "bad\u{7}".to_owned())];
    let text = usage_text(check_set_options("root", &names, 2, None, false));
    assert!(text.contains("custodian name"), "{text}");
}

#[test]
fn the_default_bundle_path_is_the_label_made_safe() {
    assert_eq!(
        default_bundle_path("root-ca_2026"),
        PathBuf::from("root-ca_2026.quorum.json")
    );
    assert_eq!(
        default_bundle_path("../etc/passwd é"),
        PathBuf::from("___etc_passwd__.quorum.json")
    );
}

#[test]
fn set_ids_are_32_hex_digits() {
    assert_eq!(
        parse_set_id("00112233445566778899aabbccddeeff").unwrap()[15],
        0xff
    );
    for bad in ["", "0011", "zz112233445566778899aabbccddeeff"] {
        assert!(usage_text(parse_set_id(bad)).contains("32 hex digits"));
    }
}

#[test]
fn cards_one_after_another_need_the_count() {
    let cli = parse(&["enroll", "-n", "2", "--label", "x", "--reader", "A"]).unwrap();
    let Command::Enroll(args) = cli.command else {
        unreachable!()
    };
    let text = usage_text(require_count(&args.cards, args.shares, CountOf::Cards));
    assert!(text.contains("--shares M"), "{text}");
    assert!(require_count(&args.cards, Some(3), CountOf::Cards).is_ok());
    let cli = parse(&["enroll", "-n", "2", "--label", "x"]).unwrap();
    let Command::Enroll(args) = cli.command else {
        unreachable!()
    };
    assert!(require_count(&args.cards, None, CountOf::Cards).is_ok());
}

#[test]
fn recover_is_anchored_by_digest_or_name_and_a_bad_digest_is_refused() {
    let anchor = |args: &[&str]| {
        let cli = parse(args).unwrap();
        let Command::Recover(r) = cli.command else {
            unreachable!()
        };
        recover_anchor(&r)
    };
    assert!(matches!(
        anchor(&["recover", "--out", "m"]).unwrap(),
        Anchor::None
    ));
    assert!(matches!(
        anchor(&["recover", "--out", "m", "--set", "root"]).unwrap(),
        Anchor::Named(n) if n == "root"
    ));
    assert!(matches!(
        anchor(&["recover", "--out", "m", "--expect", "1a2b-3c4d"]).unwrap(),
        Anchor::Digest(_)
    ));
    let text = usage_text(anchor(&["recover", "--out", "m", "--expect", "12"]));
    assert!(text.starts_with("--expect"), "{text}");
    assert!(parse(&["recover", "--set", "a", "--expect", "1a2b3c4d"]).is_err());
}

#[test]
fn a_missing_bundle_is_a_file_error_before_any_card() {
    let cli = parse(&["recover", "--out", "m", "--bundle", "/nonexistent/b.json"]).unwrap();
    let Command::Recover(r) = cli.command else {
        unreachable!()
    };
    let e = recover_anchor(&r).unwrap_err();
    assert_eq!(e.exit_status(), ExitStatus::File);
    assert!(e.to_string().contains("/nonexistent/b.json"), "{e}");
}

#[test]
fn help_is_a_command_with_its_own_help_and_names_a_command_path() {
    let help_of_help = parse(&["help", "--help"]).unwrap_err();
    assert_eq!(help_of_help.kind(), clap::error::ErrorKind::DisplayHelp);
    match parse(&["help", "log", "verify"]).unwrap().command {
        Command::Help(args) => assert_eq!(args.command, ["log", "verify"]),
        other => panic!("{other:?}"),
    }
    assert_eq!(
        super::help(&["log".into(), "verify".into()]),
        ExitCode::SUCCESS
    );
    assert_eq!(
        super::help(&["nope".into()]),
        ExitCode::from(ExitStatus::Usage.code())
    );
}

#[test]
fn a_commands_help_keeps_the_global_options_under_their_own_heading() {
    let help = parse(&["status", "--help"]).unwrap_err().to_string();
    let (own, global) = help
        .split_once("Global options:")
        .expect("a heading for the global options");
    assert!(own.contains("--reader"), "{help}");
    for option in ["--trace", "--log", "--json", "--no-log"] {
        assert!(
            global.contains(option) && !own.contains(option),
            "{option}: {help}"
        );
    }
}

#[test]
fn stats_is_offered_by_every_command_that_talks_to_cards() {
    for command in [
        "init",
        "enroll",
        "recover",
        "verify",
        "add-card",
        "reshare",
        "change-pin",
        "reset-card",
        "status",
        "export-bundle",
    ] {
        let help = parse(&[command, "--help"]).unwrap_err().to_string();
        let (own, _) = help
            .split_once("Global options:")
            .expect("a global heading");
        assert!(own.contains("--stats"), "{command}: {help}");
    }
    let recover = parse(&["recover", "--out", "x", "--stats"]).expect("recover takes --stats");
    assert!(matches!(recover.command, crate::cli::Command::Recover(ref a) if a.stats));
    let status = parse(&["status", "--stats"]).expect("status takes --stats");
    assert!(matches!(status.command, crate::cli::Command::Status(ref a) if a.stats));
    let export = parse(&["export-bundle", "--out", "x", "--stats"]).expect("export takes it");
    assert!(matches!(export.command, crate::cli::Command::ExportBundle(ref a) if a.stats));
    // `readers` asks readers, not cards.
    let e = parse(&["readers", "--stats"]).unwrap_err();
    assert_eq!(e.kind(), clap::error::ErrorKind::UnknownArgument);
}

#[test]
fn the_token_import_options_need_a_token_to_import_into() {
    for extra in [
        &["--key-usage", "encrypt"][..],
        &["--key-type", "aes"],
        &["--replace"],
        &["--allow-plaintext-import"],
    ] {
        let mut args = vec!["recover", "--out", "x"];
        args.extend_from_slice(extra);
        let e = parse(&args).unwrap_err();
        assert_eq!(
            e.kind(),
            clap::error::ErrorKind::MissingRequiredArgument,
            "{extra:?}"
        );
    }
}
