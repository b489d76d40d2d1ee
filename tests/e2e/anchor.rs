//! Recovery you can trust (crypto.md §10): a recovery is bound to one set, named by its
//! bundle or by its set digest, and gives back that set's master or fails loudly.
//!
//! - a card of another set, or of a set forged to reuse a real set's id and label, is named
//!   and skipped, and gets no PIN; without an anchor, two sets in sight stop the recovery
//!   before any PIN is asked;
//! - a card carrying another card's copied record is named and gets no PIN;
//! - a bundle whose description was edited (a name, a commitment, a custodian added) is
//!   refused by recover, add-card and reshare, and nothing is written: no output file, no
//!   bundle, no card.

use std::path::{Path, PathBuf};

use rand::rngs::OsRng;
use x25519_dalek::{PublicKey, StaticSecret};

use quorum_card::card::Card;
use quorum_pcsc::{PcscContext, PcscTransport};
use quorum_protocol::apdu::{CardStatus, LifeCycle};
use quorum_protocol::bundle::Bundle;
use quorum_protocol::crypto::CardKey;
use quorum_protocol::pin::PinBlock;
use quorum_protocol::record::{put_record_stream, Custodian as Listed, PublicRecord};
use quorum_protocol::sharing::{enroll_with, EnrollSecrets, NewCustodian};

use crate::farm::{lock, Farm};
use crate::fixtures::{enrolled, personalise_in, pins_of, present, text, Custodian};
use crate::run::{run, scratch, show};

const MASTER_A: &[u8] = b"root CA signing key of set A";
const MASTER_B: &[u8] = b"vault seal key of set B";
/// The PIN retry limit `quorumctl init` gives a card by default.
const RETRY_LIMIT: u8 = 5;
/// A PIN no fixture card has.
const WRONG_PIN: &str = "999999";

/// Hex digits in groups of four joined by '-', as quorumctl shows digests and check values.
fn grouped(hex: &str) -> String {
    hex.as_bytes()
        .chunks(4)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect::<Vec<_>>()
        .join("-")
}

/// A set digest (64 hex digits) as people see it: its first 32 digits, grouped.
fn shown(digest_hex: &str) -> String {
    grouped(&digest_hex[..32])
}

/// A connection to the card in `reader`, SELECTed.
fn open_card(farm: &Farm, reader: usize) -> Card<PcscTransport> {
    let ctx = PcscContext::establish().unwrap();
    let mut card = Card::new(ctx.connect_pcsc(farm.reader_name(reader)).unwrap());
    card.select().unwrap();
    card
}

/// GET STATUS of the card in `reader` (no PIN).
fn status_of(farm: &Farm, reader: usize) -> CardStatus {
    open_card(farm, reader).status().unwrap()
}

/// The public key of the card in `reader`.
fn card_key(farm: &Farm, reader: usize) -> CardKey {
    CardKey::from_card_point(&status_of(farm, reader).public_key.unwrap()).unwrap()
}

/// Fails unless the card in `reader` never had a PIN tried: all its tries are left.
fn assert_no_pin_tried(farm: &Farm, reader: usize, who: &Custodian) {
    let status = status_of(farm, reader);
    assert_eq!(
        (status.tries_left, status.retry_limit, status.blocked),
        (RETRY_LIMIT, RETRY_LIMIT, false),
        "card {} in reader {reader} was sent a PIN",
        who.fingerprint
    );
}

/// Fails unless the card in `reader` is personalised and holds no record.
fn assert_unwritten(farm: &Farm, reader: usize, who: &Custodian) {
    let status = status_of(farm, reader);
    assert_eq!(
        (status.state, status.public_len, status.sealed_len),
        (LifeCycle::Personalised, 0, 0),
        "card {} in reader {reader} was written",
        who.fingerprint
    );
}

/// The public part of the record of the card in `reader` (no PIN).
fn public_record(farm: &Farm, reader: usize) -> Vec<u8> {
    open_card(farm, reader).get_record_public().unwrap()
}

/// The record of the card in `reader`: public part (no PIN) and sealed part (after `pin`).
fn read_record(farm: &Farm, reader: usize, pin: &str) -> (Vec<u8>, Vec<u8>) {
    let mut card = open_card(farm, reader);
    let public = card.get_record_public().unwrap();
    card.verify(&PinBlock::new(pin).unwrap()).unwrap();
    let sealed = card.get_record_sealed().unwrap().to_vec();
    (public, sealed)
}

/// Writes a record to the card in `reader` with PUT RECORD, after VERIFY with `pin`: what
/// anyone holding a card and its PIN can do.
fn write_record(farm: &Farm, reader: usize, pin: &str, public: &[u8], sealed: &[u8]) {
    let mut card = open_card(farm, reader);
    card.verify(&PinBlock::new(pin).unwrap()).unwrap();
    card.put_record(&put_record_stream(public, sealed).unwrap())
        .unwrap();
}

/// The custodian with a PIN that is not theirs, for PIN files that must never be used.
fn with_wrong_pin(c: &Custodian) -> Custodian {
    Custodian {
        pin: WRONG_PIN.to_owned(),
        ..c.clone()
    }
}

/// Set A ("root-ca", 2-of-2) and set B ("vault-seal", 1-of-1), with A's bundle.
fn two_sets(farm: &Farm, dir: &Path) -> (Vec<Custodian>, Custodian, Bundle) {
    let (a, _, bundle_a) = enrolled(farm, dir, "root-ca", 2, 2, MASTER_A);
    let (b, _, _) = enrolled(farm, dir, "vault-seal", 1, 1, MASTER_B);
    (a, b[0].clone(), bundle_a)
}

/// Runs `recover` with these options and the PIN file; returns the run and the output file.
fn recover(
    dir: &Path,
    out: &str,
    pins: &Path,
    options: &[&str],
) -> (std::process::Output, PathBuf) {
    let out = dir.join(out);
    let mut args = vec!["recover", "--out", out.to_str().unwrap()];
    args.extend_from_slice(options);
    args.extend_from_slice(&["--pin-file", pins.to_str().unwrap()]);
    (run(&args), out)
}

/// `recover --bundle` with A's bundle: A's master comes out, and the card `other` (in the
/// first reader) is named as not of the bundle's set; returns standard error.
fn recovers_a_with_its_bundle(dir: &Path, pins: &Path, other: &Custodian) -> String {
    let bundle_path = dir.join("root-ca.quorum.json");
    let (done, out) = recover(
        dir,
        "a.key",
        pins,
        &["--bundle", bundle_path.to_str().unwrap()],
    );
    assert_eq!(done.status.code(), Some(0), "{}", show(&done));
    assert_eq!(std::fs::read(&out).unwrap(), MASTER_A);
    let err = text(&done.stderr);
    assert!(
        err.contains(&format!("Skipped {}", other.fingerprint)),
        "{err}"
    );
    assert!(err.contains("is not the bundle's"), "{err}");
    err
}

#[test]
fn a_bundle_or_a_digest_prefix_recovers_its_set_past_another_sets_card() {
    let _guard = lock();
    let farm = Farm::connect();
    let dir = scratch("anchor-other-set");
    let (a, b, bundle_a) = two_sets(&farm, &dir);
    let pins = pins_of(&dir, "all.pins", &[a[0].clone(), a[1].clone(), b.clone()]);
    let digest = shown(&bundle_a.set_digest);
    assert_eq!(digest, bundle_a.set_digest().unwrap().to_string());
    present(&farm, &[&b, &a[0], &a[1]]);

    let err = recovers_a_with_its_bundle(&dir, &pins, &b);
    assert!(err.contains(&format!("Set digest: {digest}")), "{err}");
    assert!(
        err.contains(&format!("Key check:  {}", grouped(&bundle_a.key_check))),
        "{err}"
    );

    // The first 8 digits of the digest, read from the ceremony minutes, do as well.
    let (done, out) = recover(
        &dir,
        "a2.key",
        &pins,
        &["--expect", &bundle_a.set_digest[..8]],
    );
    assert_eq!(done.status.code(), Some(0), "{}", show(&done));
    assert_eq!(std::fs::read(&out).unwrap(), MASTER_A);
    let err = text(&done.stderr);
    assert!(err.contains(&format!("Skipped {}", b.fingerprint)), "{err}");
    assert!(err.contains(&format!("Set digest: {digest}")), "{err}");

    // A digest of no set present: every card is named, none is used, nothing is written.
    let wrong = ["00000000", "11111111", "22222222"]
        .into_iter()
        .find(|p| !bundle_a.set_digest.starts_with(p))
        .unwrap();
    let (done, out) = recover(&dir, "none.key", &pins, &["--expect", wrong]);
    assert_eq!(done.status.code(), Some(3), "{}", show(&done));
    assert!(!out.exists());
    let err = text(&done.stderr);
    for c in [&b, &a[0], &a[1]] {
        assert!(
            err.contains(&c.fingerprint),
            "{} not named:\n{err}",
            c.fingerprint
        );
    }
}

#[test]
fn two_sets_in_sight_without_an_anchor_stop_before_any_pin() {
    let _guard = lock();
    let farm = Farm::connect();
    let dir = scratch("anchor-two-sets");
    let (a, b, bundle_a) = two_sets(&farm, &dir);
    let wrong: Vec<Custodian> = [&a[0], &a[1], &b].into_iter().map(with_wrong_pin).collect();
    let pins = pins_of(&dir, "wrong.pins", &wrong);
    present(&farm, &[&a[0], &b, &a[1]]);

    let (done, out) = recover(&dir, "any.key", &pins, &[]);
    assert_eq!(done.status.code(), Some(2), "{}", show(&done));
    assert!(!out.exists());
    let err = text(&done.stderr);
    let bundle_b =
        Bundle::parse(&std::fs::read_to_string(dir.join("vault-seal.quorum.json")).unwrap())
            .unwrap();
    for (label, bundle) in [("root-ca", &bundle_a), ("vault-seal", &bundle_b)] {
        assert!(err.contains(&format!("\"{label}\"")), "{err}");
        assert!(err.contains(&shown(&bundle.set_digest)), "{err}");
    }
    assert!(err.contains("no PIN was asked"), "{err}");
    for (reader, c) in [&a[0], &b, &a[1]].into_iter().enumerate() {
        assert_no_pin_tried(&farm, reader, c);
    }
}

#[test]
fn a_forged_set_reusing_the_id_and_label_is_told_apart_by_its_digest() {
    let _guard = lock();
    let farm = Farm::connect();
    let dir = scratch("anchor-forged");
    let (a, _, bundle_a) = enrolled(&farm, &dir, "root-ca", 2, 2, MASTER_A);

    // The forger's card C: a 1-of-1 set of their own master under A's set id and label.
    let c = personalise_in(&farm, &dir, 2, 7);
    let mut secrets = EnrollSecrets::draw(1, 1, &mut OsRng).unwrap();
    hex::decode_to_slice(&bundle_a.set_id, &mut secrets.set_id).unwrap();
    let forged = enroll_with(
        b"attacker master",
        1,
        "root-ca",
        &[NewCustodian {
            card_key: card_key(&farm, 2),
            name: "custodian 1".to_owned(),
        }],
        &secrets,
    )
    .unwrap();
    let forged_card = &forged.cards[0];
    write_record(&farm, 2, &c.pin, &forged_card.public, &forged_card.sealed);
    let forged_digest = forged_card.record.set_digest().to_string();
    assert_ne!(forged_digest, shown(&bundle_a.set_digest));

    // C's line in the PIN file is wrong: any PIN sent to it would cost a try.
    let pins = pins_of(
        &dir,
        "pins",
        &[a[0].clone(), a[1].clone(), with_wrong_pin(&c)],
    );
    present(&farm, &[&c, &a[0], &a[1]]);

    recovers_a_with_its_bundle(&dir, &pins, &c);
    assert_no_pin_tried(&farm, 0, &c);

    // Without an anchor, the two sets called "root-ca" are told apart by their digests.
    let (done, out) = recover(&dir, "any.key", &pins, &[]);
    assert_eq!(done.status.code(), Some(2), "{}", show(&done));
    assert!(!out.exists());
    let err = text(&done.stderr);
    assert!(err.matches("\"root-ca\"").count() >= 2, "{err}");
    assert!(err.contains(&shown(&bundle_a.set_digest)), "{err}");
    assert!(err.contains(&forged_digest), "{err}");
    assert!(err.contains("no PIN was asked"), "{err}");
    assert_no_pin_tried(&farm, 0, &c);

    // A label names both sets: ambiguous, still before any PIN.
    let (done, out) = recover(&dir, "named.key", &pins, &["--set", "root-ca"]);
    assert_eq!(done.status.code(), Some(2), "{}", show(&done));
    assert!(!out.exists());
    assert!(
        text(&done.stderr).contains("matches cards of 2 sets"),
        "{}",
        show(&done)
    );
    for (reader, who) in [&c, &a[0], &a[1]].into_iter().enumerate() {
        assert_no_pin_tried(&farm, reader, who);
    }
}

#[test]
fn a_card_carrying_a_copied_record_is_named_and_gets_no_pin() {
    let _guard = lock();
    let farm = Farm::connect();
    let dir = scratch("anchor-copied");
    let (a, _, _) = enrolled(&farm, &dir, "root-ca", 2, 2, MASTER_A);

    // Card 1's record, both parts, copied onto another personalised card D.
    let d = personalise_in(&farm, &dir, 2, 8);
    let (public, sealed) = read_record(&farm, 0, &a[0].pin);
    write_record(&farm, 2, &d.pin, &public, &sealed);
    assert_eq!(public_record(&farm, 2), public);

    let pins = pins_of(
        &dir,
        "pins",
        &[a[0].clone(), a[1].clone(), with_wrong_pin(&d)],
    );
    present(&farm, &[&d, &a[0], &a[1]]);
    let (done, out) = recover(&dir, "a.key", &pins, &[]);
    assert_eq!(done.status.code(), Some(0), "{}", show(&done));
    assert_eq!(std::fs::read(&out).unwrap(), MASTER_A);
    let err = text(&done.stderr);
    assert!(err.contains(&format!("Skipped {}", d.fingerprint)), "{err}");
    assert!(
        err.contains("the record was copied onto another card"),
        "{err}"
    );
    assert!(err.contains("no PIN was sent"), "{err}");
    assert_no_pin_tried(&farm, 0, &d);
}

/// An edited copy of A's bundle, made by someone who never held the DEK.
struct Edited {
    /// What was changed.
    name: &'static str,
    /// The edited bundle file.
    path: PathBuf,
    /// Whether A's cards still agree with it. Only appending a custodian keeps the enrolled
    /// description (and so the set digest), so only then do the shares open and the MAC
    /// check (crypto.md §10) find the forgery; any other edit makes the bundle disagree with
    /// every card of A, which is refused before any PIN is sent to them.
    reaches_mac: bool,
}

/// A's bundle edited three ways, each record decoded, changed and encoded again with its
/// old MAC, so each bundle still passes `Bundle::parse`: (a) a custodian's name changed in
/// every record, (b) a commitment changed in every record, (c) a custodian added: one
/// record becomes version 2 with a fourth entry for a key the forger holds.
fn edited_bundles(dir: &Path, bundle: &Bundle) -> Vec<Edited> {
    let records = bundle.decoded_records().unwrap();
    let each = |edit: &dyn Fn(&mut PublicRecord)| -> Vec<Vec<u8>> {
        records
            .iter()
            .map(|r| {
                let mut r = r.clone();
                edit(&mut r);
                r.encode().unwrap()
            })
            .collect()
    };
    let renamed = each(&|r| r.custodians[1].name = "Mallory".to_owned());
    let recommitted = each(&|r| r.custodians[1].commitment[0] ^= 0x01);
    let mut grown = each(&|_| {});
    let mut added = records[0].clone();
    added.set_version += 1;
    let key = PublicKey::from(&StaticSecret::random_from_rng(OsRng));
    added.custodians.push(Listed {
        index: 4,
        card_key: CardKey::from_x25519(key.as_bytes()).unwrap(),
        commitment: [0x5a; 32],
        name: "Mallory".to_owned(),
    });
    grown[0] = added.encode().unwrap();
    [
        ("renamed", renamed, false),
        ("recommitted", recommitted, false),
        ("custodian added", grown, true),
    ]
    .into_iter()
    .map(|(name, publics, reaches_mac)| {
        let json = Bundle::from_publics(&publics).unwrap().to_json();
        Bundle::parse(&json).unwrap();
        let path = dir.join(format!("{}.quorum.json", name.replace(' ', "-")));
        std::fs::write(&path, json).unwrap();
        Edited {
            name,
            path,
            reaches_mac,
        }
    })
    .collect()
}

/// The PIN file for a run with an edited bundle: A's cards get their PINs only when the
/// forgery is found by the MAC (their shares must open first); otherwise wrong ones, so a
/// PIN sent to them would show in their tries. The other cards get theirs.
fn pins_for(dir: &Path, edit: &Edited, a: &[&Custodian], others: &[&Custodian]) -> PathBuf {
    let mut lines: Vec<Custodian> = a
        .iter()
        .map(|c| match edit.reaches_mac {
            true => (*c).clone(),
            false => with_wrong_pin(c),
        })
        .collect();
    lines.extend(others.iter().map(|c| (*c).clone()));
    pins_of(
        dir,
        &format!("{}.pins", edit.name.replace(' ', "-")),
        &lines,
    )
}

/// Fails unless the run refused the edited bundle: when A's cards (in readers 0, 1, ...)
/// agree with it, because its description fails authentication once the shares are
/// combined (exit 8, the bundle's fault); otherwise with every card of A named for
/// disagreeing with it (`why`) and no PIN sent to any (exit 3, no share could be opened).
fn assert_edit_refused(
    farm: &Farm,
    done: &std::process::Output,
    edit: &Edited,
    a: &[&Custodian],
    why: &str,
) {
    let err = text(&done.stderr);
    if edit.reaches_mac {
        assert_eq!(done.status.code(), Some(8), "{}: {}", edit.name, show(done));
        assert!(
            err.contains(
                "the bundle holds set version 2 with a description that fails authentication"
            ),
            "{}: {}",
            edit.name,
            show(done)
        );
        return;
    }
    assert_eq!(done.status.code(), Some(3), "{}: {}", edit.name, show(done));
    for (reader, c) in a.iter().enumerate() {
        assert!(
            err.contains(&format!("Skipped {}", c.fingerprint))
                || err.contains(&format!("Skipped: card {}", c.fingerprint)),
            "{}: card {} not named: {}",
            edit.name,
            c.fingerprint,
            show(done)
        );
        assert_no_pin_tried(farm, reader, c);
    }
    assert!(
        err.matches(why).count() >= a.len(),
        "{}: each card should be refused for {why:?}: {}",
        edit.name,
        show(done)
    );
}

#[test]
fn recover_refuses_an_edited_bundle_and_writes_nothing() {
    let _guard = lock();
    let farm = Farm::connect();
    let dir = scratch("anchor-edited-recover");
    let (a, _, bundle) = enrolled(&farm, &dir, "root-ca", 2, 3, MASTER_A);
    let quorum = [&a[0], &a[1]];
    for edit in edited_bundles(&dir, &bundle) {
        present(&farm, &quorum);
        let pins = pins_for(&dir, &edit, &quorum, &[]);
        let (done, out) = recover(
            &dir,
            &format!("{}.key", edit.name.replace(' ', "-")),
            &pins,
            &["--bundle", edit.path.to_str().unwrap()],
        );
        assert_edit_refused(&farm, &done, &edit, &quorum, "is not the bundle's");
        assert!(!out.exists(), "{}: the secret was written", edit.name);
    }
}

#[test]
fn add_card_refuses_an_edited_bundle_and_writes_nothing() {
    let _guard = lock();
    let farm = Farm::connect();
    let dir = scratch("anchor-edited-add-card");
    let (a, _, bundle) = enrolled(&farm, &dir, "root-ca", 2, 3, MASTER_A);
    let n = personalise_in(&farm, &dir, 3, 9);
    let quorum = [&a[0], &a[1]];
    for edit in edited_bundles(&dir, &bundle) {
        let before = std::fs::read(&edit.path).unwrap();
        present(&farm, &[&a[0], &a[1], &n]);
        let pins = pins_for(&dir, &edit, &quorum, &[&n]);
        let done = run(&[
            "add-card",
            "--bundle",
            edit.path.to_str().unwrap(),
            "--pin-file",
            pins.to_str().unwrap(),
        ]);
        assert_edit_refused(&farm, &done, &edit, &quorum, "disagrees with the bundle");
        assert_unwritten(&farm, 2, &n);
        assert_eq!(
            std::fs::read(&edit.path).unwrap(),
            before,
            "{}: the bundle was changed",
            edit.name
        );
        let stem = format!("{}.v", edit.path.file_name().unwrap().to_str().unwrap());
        let backups: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|f| f.starts_with(&stem))
            .collect();
        assert!(
            backups.is_empty(),
            "{}: backup written: {backups:?}",
            edit.name
        );
    }
}

#[test]
fn reshare_refuses_an_edited_bundle_and_writes_nothing() {
    let _guard = lock();
    let farm = Farm::connect();
    let dir = scratch("anchor-edited-reshare");
    let (a, _, bundle) = enrolled(&farm, &dir, "root-ca", 2, 3, MASTER_A);
    let records: Vec<Vec<u8>> = (0..2).map(|r| public_record(&farm, r)).collect();
    farm.clear_all();
    let fresh: Vec<Custodian> = (0..2)
        .map(|k| personalise_in(&farm, &dir, k, 10 + k))
        .collect();
    let quorum = [&a[0], &a[1]];
    for edit in edited_bundles(&dir, &bundle) {
        present(&farm, &[&a[0], &a[1], &fresh[0], &fresh[1]]);
        let pins = pins_for(&dir, &edit, &quorum, &[&fresh[0], &fresh[1]]);
        let new_bundle = dir.join(format!("new-{}.quorum.json", edit.name.replace(' ', "-")));
        let done = run(&[
            "reshare",
            "--threshold",
            "2",
            "--label",
            "new",
            "--bundle",
            edit.path.to_str().unwrap(),
            "--new-bundle",
            new_bundle.to_str().unwrap(),
            "--pin-file",
            pins.to_str().unwrap(),
        ]);
        assert_edit_refused(&farm, &done, &edit, &quorum, "disagrees with the set");
        assert!(
            !new_bundle.exists(),
            "{}: a new bundle was written",
            edit.name
        );
        for (reader, record) in records.iter().enumerate() {
            assert_eq!(
                status_of(&farm, reader).state,
                LifeCycle::Enrolled,
                "{}",
                edit.name
            );
            assert_eq!(
                &public_record(&farm, reader),
                record,
                "{}: an old card was changed",
                edit.name
            );
        }
        for (i, f) in fresh.iter().enumerate() {
            assert_unwritten(&farm, 2 + i, f);
        }
    }
}
