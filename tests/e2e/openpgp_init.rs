//! `quorumctl init` on an OpenPGP card (apdu-spec/openpgp.md, "personalise with a new
//! key"), end to end through pcscd with the simulator's virtual OpenPGP cards (opcard): a
//! factory-fresh card (RSA attributes, no key) gets a cv25519 decryption key made on the
//! card with its admin PIN; a card with a key keeps it when told to, refuses to make
//! another unless replacing it is asked and confirmed by naming it; a wrong admin PIN is a
//! PIN failure that says the admin PIN's tries left.

use crate::farm::OpenPgp;
use crate::fixtures::text;
use crate::run::{pin_file, run, scratch, show};

/// The factory admin PIN of the virtual cards (opcard's default).
const ADMIN_PIN: &str = "12345678";

/// The fingerprint on the last line of a successful init or of `status`.
fn fingerprint(out: &std::process::Output) -> String {
    text(&out.stdout)
        .lines()
        .find_map(|l| {
            l.split_once("Fingerprint: ")
                .map(|(_, fp)| fp.trim().to_owned())
        })
        .unwrap_or_else(|| panic!("no fingerprint:\n{}", show(out)))
}

/// What `status` says of the card in `reader`, and its fingerprint if it has a key.
fn status(reader: &str) -> (String, Option<String>) {
    let out = run(&["status", "--reader", reader]);
    assert!(out.status.success(), "{}", show(&out));
    let said = text(&out.stdout);
    let fp = said
        .lines()
        .find_map(|l| l.strip_prefix("Fingerprint: "))
        .map(|f| f.trim().to_owned());
    (said, fp)
}

#[test]
fn init_generates_keeps_and_replaces_an_openpgp_cards_key_only_as_asked() {
    let _guard = crate::farm::lock();
    let openpgp = OpenPgp::connect();
    let _cleared = openpgp.cleared();
    let dir = scratch("openpgp-init");
    let admin = pin_file(&dir, "admin", &[ADMIN_PIN.to_owned()]);
    let admin = admin.to_str().unwrap();
    let card = openpgp.new_card();
    openpgp.insert(&card, 0);
    let reader = openpgp.reader_name(0).to_owned();
    let (before, none) = status(&reader);
    assert!(none.is_none() && before.contains("BLANK"), "{before}");

    // A fresh card: the key is generated with the admin PIN, and status shows it.
    let made = run(&["init", "--reader", &reader, "--admin-pin-file", admin]);
    assert!(made.status.success(), "{}", show(&made));
    let first = fingerprint(&made);
    let said = text(&made.stderr);
    for words in [
        "is an OpenPGP card",
        "Generating a cv25519 decryption key on the card (its decryption slot is set to RSA and holds no key)",
        "The card accepted its admin PIN",
        "user PIN (PW1, 3 tries left) is the PIN quorum asks at every ceremony",
        "admin PIN (PW3, 3 tries left) only to generate a key",
    ] {
        assert!(said.contains(words), "{words:?}:\n{}", show(&made));
    }
    let (shown, fp) = status(&reader);
    assert_eq!(fp.as_deref(), Some(first.as_str()), "{shown}");
    assert!(shown.contains("PERSONALISED"), "{shown}");

    // Again with --use-existing-key: the key stays, nothing is written.
    let kept = run(&["init", "--reader", &reader, "--use-existing-key"]);
    assert!(kept.status.success(), "{}", show(&kept));
    assert_eq!(fingerprint(&kept), first);
    assert!(
        text(&kept.stderr).contains("nothing was written to the card"),
        "{}",
        show(&kept)
    );

    // Without --replace-key no key is generated over it (and without a terminal nobody
    // confirms using it either).
    let refused = run(&["init", "--reader", &reader, "--admin-pin-file", admin]);
    assert_eq!(refused.status.code(), Some(2), "{}", show(&refused));
    assert!(
        text(&refused.stderr).contains("--use-existing-key"),
        "{}",
        show(&refused)
    );
    assert_eq!(status(&reader).1.as_deref(), Some(first.as_str()));

    // --replace-key confirmed with another fingerprint: refused, the key stays.
    let wrong = run(&[
        "init",
        "--reader",
        &reader,
        "--admin-pin-file",
        admin,
        "--replace-key",
        "--confirm-replace",
        "0000-0000-0000-0000",
    ]);
    assert_eq!(wrong.status.code(), Some(2), "{}", show(&wrong));
    assert!(
        text(&wrong.stderr).contains("does not name the key in its decryption slot"),
        "{}",
        show(&wrong)
    );
    assert_eq!(status(&reader).1.as_deref(), Some(first.as_str()));

    // --retries is the applet's: refused on an OpenPGP card, naming it.
    let retries = run(&["init", "--reader", &reader, "--retries", "5"]);
    assert_eq!(retries.status.code(), Some(2), "{}", show(&retries));
    assert!(
        text(&retries.stderr).contains("Leave out --retries"),
        "{}",
        show(&retries)
    );

    // Confirmed with the key's own fingerprint: a new key replaces it.
    let replaced = run(&[
        "init",
        "--reader",
        &reader,
        "--admin-pin-file",
        admin,
        "--replace-key",
        "--confirm-replace",
        &first,
    ]);
    assert!(replaced.status.success(), "{}", show(&replaced));
    let second = fingerprint(&replaced);
    assert_ne!(second, first);
    assert!(
        text(&replaced.stderr).contains("DESTROYS that key"),
        "{}",
        show(&replaced)
    );
    assert_eq!(status(&reader).1.as_deref(), Some(second.as_str()));
}

#[test]
fn a_wrong_admin_pin_is_a_pin_failure_with_its_tries_left() {
    let _guard = crate::farm::lock();
    let openpgp = OpenPgp::connect();
    let _cleared = openpgp.cleared();
    let dir = scratch("openpgp-init-admin");
    let wrong = pin_file(&dir, "admin", &["87654321".to_owned()]);
    let card = openpgp.new_card();
    openpgp.insert(&card, 1);
    let reader = openpgp.reader_name(1).to_owned();
    let out = run(&[
        "init",
        "--reader",
        &reader,
        "--admin-pin-file",
        wrong.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(5), "{}", show(&out));
    assert!(
        text(&out.stderr).contains("wrong admin PIN of the OpenPGP card; 2 tries left"),
        "{}",
        show(&out)
    );
    let (said, fp) = status(&reader);
    assert!(fp.is_none() && said.contains("BLANK"), "{said}");
}

#[test]
fn a_wrong_admin_pin_typed_here_is_asked_again_and_ctrl_c_there_stops_init() {
    let _guard = crate::farm::lock();
    let openpgp = OpenPgp::connect();
    let _cleared = openpgp.cleared();
    let card = openpgp.new_card();
    openpgp.insert(&card, 0);
    let reader = openpgp.reader_name(0).to_owned();
    let mut cmd = crate::run::quorumctl(&["init", "--reader", &reader]);
    let terminal = crate::run::Terminal::new();
    let child = terminal
        .control(&mut cmd)
        .spawn()
        .expect("quorumctl starts");
    terminal.wait_for("Admin PIN of the OpenPGP card");
    assert!(terminal.echo_off(), "the admin PIN is typed without echo");
    terminal.type_in(b"87654321\n");
    // Asked again (the prompt shows a second time; the reason goes to standard error).
    terminal.wait_for("\r\nAdmin PIN of the OpenPGP card");
    terminal.type_in(b"\x03");
    let out = child.wait_with_output().unwrap();
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(11), "{err}");
    assert!(
        err.contains("Wrong admin PIN, 2 tries left; type it again here."),
        "{err}"
    );
    assert!(!err.contains("87654321"), "{err}");
    assert!(
        !terminal.echo_off(),
        "the terminal echoes again after Ctrl-C"
    );
    // No key was made; the wrong PIN cost one admin try, the interrupted entry none.
    let (said, fp) = status(&reader);
    assert!(fp.is_none(), "{said}");
    let admin_tries = {
        let card = openpgp.connect_card(0);
        let select = [
            0x00, 0xA4, 0x04, 0x00, 0x06, 0xD2, 0x76, 0x00, 0x01, 0x24, 0x01, 0x00,
        ];
        assert_eq!(crate::farm::transmit(&card, &select).1, 0x9000);
        crate::farm::transmit(&card, &[0x00, 0x20, 0x00, 0x83, 0x00]).1
    };
    assert_eq!(admin_tries, 0x63C2, "VERIFY 83 without data: 2 tries left");
}
