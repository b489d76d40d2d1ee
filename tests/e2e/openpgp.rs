//! OpenPGP cards as custodian cards beside quorum-applet cards (apdu-spec/openpgp.md), end
//! to end through pcscd: the simulator's virtual OpenPGP cards (opcard) get a cv25519
//! decryption key with plain APDUs, as `gpg --card-edit` would make one, and then take part
//! in a set with applet cards; the public record of an OpenPGP card comes from the bundle.

use std::path::Path;

use crate::farm::{self, transmit, Farm, OpenPgp};
use crate::fixtures::{personalise, present, text, Custodian};
use crate::run::{pin_file, run, run_ok, scratch, show};

/// The factory user PIN of the virtual cards (opcard's default).
pub(crate) const USER_PIN: &str = "123456";

/// Gives the OpenPGP card in `reader` a cv25519 decryption key: admin PIN, algorithm
/// attributes C2 = cv25519, GENERATE in the decryption slot.
pub(crate) fn make_decryption_key(openpgp: &OpenPgp, reader: usize) {
    let card = openpgp.connect_card(reader);
    let select = [
        0x00, 0xA4, 0x04, 0x00, 0x06, 0xD2, 0x76, 0x00, 0x01, 0x24, 0x01, 0x00,
    ];
    assert_eq!(transmit(&card, &select).1, 0x9000, "SELECT");
    let mut verify_admin = vec![0x00, 0x20, 0x00, 0x83, 0x08];
    verify_admin.extend_from_slice(b"12345678");
    assert_eq!(transmit(&card, &verify_admin).1, 0x9000, "VERIFY 83");
    let cv25519 = [
        0x00, 0xDA, 0x00, 0xC2, 0x0B, 0x12, 0x2B, 0x06, 0x01, 0x04, 0x01, 0x97, 0x55, 0x01, 0x05,
        0x01,
    ];
    assert_eq!(transmit(&card, &cv25519).1, 0x9000, "PUT DATA C2");
    let generate = [0x00, 0x47, 0x80, 0x00, 0x02, 0xB8, 0x00, 0x00];
    let (public, sw) = transmit(&card, &generate);
    assert_eq!(sw, 0x9000, "GENERATE");
    assert_eq!(&public[..2], &[0x7F, 0x49], "{}", hex::encode(&public));
    drop(card);
}

/// A new virtual OpenPGP card in OpenPGP reader `reader`, given its cv25519 key; returns its
/// fingerprint in quorum's form.
pub(crate) fn keyed_card(openpgp: &OpenPgp, reader: usize) -> String {
    let card = openpgp.new_card();
    openpgp.insert(&card, reader);
    make_decryption_key(openpgp, reader);
    fingerprint_of(openpgp.reader_name(reader)).0
}

/// A PIN file for these applet cards and OpenPGP cards (each with `openpgp_pin`).
pub(crate) fn pins_for(
    dir: &Path,
    name: &str,
    applet: &[Custodian],
    openpgp: &[String],
    openpgp_pin: &str,
) -> std::path::PathBuf {
    let mut lines: Vec<String> = applet
        .iter()
        .map(|c| format!("{} {}", c.fingerprint, c.pin))
        .collect();
    lines.extend(openpgp.iter().map(|fp| format!("{fp} {openpgp_pin}")));
    pin_file(dir, name, &lines)
}

/// The card's fingerprint in quorum's form, as `quorumctl status` prints it.
pub(crate) fn fingerprint_of(reader: &str) -> (String, String) {
    let status = text(&run_ok(&["status", "--reader", reader]).stdout);
    let fp = status
        .lines()
        .find_map(|l| l.strip_prefix("Fingerprint: "))
        .unwrap_or_else(|| panic!("no fingerprint:\n{status}"))
        .trim()
        .to_owned();
    (fp, status)
}

/// Bytes as pcscd's APDU log writes them: upper-case hex, space-separated.
fn spaced(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// What pcscd appended to its log since byte `from`, once it shows a PSO:DECIPHER (pcscd
/// writes the lines as the exchanges happen).
fn pcscd_log_with_decipher(log: &Path, from: u64) -> String {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let all = std::fs::read(log).unwrap_or_else(|e| panic!("{}: {e}", log.display()));
        let slice = String::from_utf8_lossy(&all[from as usize..]).into_owned();
        if slice.contains("APDU: 00 2A 80 86") || std::time::Instant::now() > deadline {
            return slice;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

/// The sealed share's E of the OpenPGP card in `reader` and the card's DH on E itself
/// (an unblinded DECIPHER, sent by the test with the user PIN).
fn decipher_plain(openpgp: &OpenPgp, reader: usize) -> (Vec<u8>, Vec<u8>) {
    let card = openpgp.connect_card(reader);
    let select = [
        0x00, 0xA4, 0x04, 0x00, 0x06, 0xD2, 0x76, 0x00, 0x01, 0x24, 0x01, 0x00,
    ];
    assert_eq!(transmit(&card, &select).1, 0x9000);
    let mut verify = vec![0x00, 0x20, 0x00, 0x82, 0x06];
    verify.extend_from_slice(USER_PIN.as_bytes());
    assert_eq!(transmit(&card, &verify).1, 0x9000);
    let (sealed, sw) = transmit(&card, &[0x00, 0xCA, 0x01, 0x03, 0x00]);
    assert_eq!((sw, sealed.len()), (0x9000, 81), "DO 0103");
    let enc = sealed[..32].to_vec();
    let mut decipher = vec![
        0x00, 0x2A, 0x80, 0x86, 0x27, 0xA6, 0x25, 0x7F, 0x49, 0x22, 0x86, 0x20,
    ];
    decipher.extend_from_slice(&enc);
    decipher.push(0x00);
    let (dh, sw) = transmit(&card, &decipher);
    assert_eq!((sw, dh.len()), (0x9000, 32), "DECIPHER of E");
    (enc, dh)
}

/// Recovers with the cards present into `out` and returns what quorumctl said.
pub(crate) fn recover(bundle: Option<&Path>, pins: &Path, out: &Path) -> std::process::Output {
    let mut args = vec![
        "recover",
        "--out",
        out.to_str().unwrap(),
        "--pin-file",
        pins.to_str().unwrap(),
    ];
    if let Some(b) = bundle {
        args.extend(["--bundle", b.to_str().unwrap()]);
    }
    run(&args)
}

#[test]
fn a_set_of_three_applet_cards_and_two_openpgp_cards_recovers_with_any_mix() {
    let _guard = farm::lock();
    let farm = Farm::connect();
    let openpgp = OpenPgp::connect();
    let _cleared = openpgp.cleared();
    let dir = scratch("openpgp-mixed");
    let applet: Vec<Custodian> = personalise(&farm, &dir, 3);
    let pgp_cards = [openpgp.new_card(), openpgp.new_card()];
    let mut pgp_fps = Vec::new();
    for (i, card) in pgp_cards.iter().enumerate() {
        openpgp.insert(card, i);
        make_decryption_key(&openpgp, i);
        let (fp, status) = fingerprint_of(openpgp.reader_name(i));
        assert!(
            status.contains("Card:        OpenPGP card, test card serial")
                && status.contains("Touch:       not needed to open a share")
                && status.contains("State:       PERSONALISED")
                && !status.contains("quorum applet, protocol"),
            "{status}"
        );
        pgp_fps.push(fp);
    }
    let listed = text(&run_ok(&["readers"]).stdout);
    for (i, fp) in pgp_fps.iter().enumerate() {
        let line = listed
            .lines()
            .find(|l| l.starts_with(&format!("{}: ", openpgp.reader_name(i))))
            .unwrap_or_else(|| panic!("{listed}"));
        assert!(
            line.contains("OpenPGP card") && line.contains(fp.as_str()),
            "{line}"
        );
    }

    let pins = pins_for(&dir, "pins", &applet, &pgp_fps, USER_PIN);
    let master = dir.join("master.key");
    let bundle = dir.join("mixed.quorum.json");
    let enrolled = run_ok(&[
        "enroll",
        "--threshold",
        "3",
        "--label",
        "mixed",
        "--generate",
        "32",
        "--out",
        master.to_str().unwrap(),
        "--bundle",
        bundle.to_str().unwrap(),
        "--pin-file",
        pins.to_str().unwrap(),
    ]);
    let said = text(&enrolled.stdout);
    assert!(
        said.contains("Enrolled set \"mixed\" (3-of-5)"),
        "{}",
        show(&enrolled)
    );
    for fp in &pgp_fps {
        assert!(said.contains(fp.as_str()), "{said}");
    }
    assert!(
        said.contains("This set has 2 OpenPGP card(s) (")
            && said.contains("their public records are in this bundle alone"),
        "enroll says the bundle is needed: {said}"
    );
    let secret = std::fs::read(&master).unwrap();

    // An enrolled OpenPGP card names its share; its public record is in the bundle.
    let (_, status) = fingerprint_of(openpgp.reader_name(0));
    assert!(
        status.contains("State:       ENROLLED") && status.contains("Share:       index "),
        "{status}"
    );

    // Two applet cards and one OpenPGP card; then one applet card and both OpenPGP cards.
    // pcscd's log of the first recovery is kept for the blinding check below.
    let log = farm::Sim::pcscd_log();
    let from = std::fs::metadata(&log).map(|m| m.len()).unwrap_or(0);
    let mut first_slice = None;
    for (applet_cards, pgp_in) in [(vec![0, 2], vec![1]), (vec![1], vec![0, 1])] {
        let chosen: Vec<&Custodian> = applet_cards.iter().map(|&i| &applet[i]).collect();
        present(&farm, &chosen);
        for i in 0..2 {
            if !pgp_in.contains(&i) {
                openpgp.remove(i);
            }
        }
        let out = dir.join(format!("recovered-{}-{}", applet_cards.len(), pgp_in.len()));
        let done = recover(Some(&bundle), &pins, &out);
        assert!(done.status.success(), "{}", show(&done));
        assert_eq!(std::fs::read(&out).unwrap(), secret);
        if first_slice.is_none() {
            first_slice = Some(pcscd_log_with_decipher(&log, from));
            // The card's DH on the plain E, asked by the test itself only now: what the
            // recovery's APDUs must not have carried, nor E itself.
            let (enc, dh) = decipher_plain(&openpgp, 1);
            let slice = first_slice.as_deref().unwrap();
            let deciphers: Vec<&str> = slice
                .lines()
                .filter(|l| l.contains("APDU: 00 2A 80 86 27 A6 25 7F 49 22 86 20"))
                .collect();
            assert_eq!(deciphers.len(), 1, "one DECIPHER in the recovery:\n{slice}");
            assert!(!deciphers[0].contains(&spaced(&enc)), "E went to the card");
            assert!(
                !slice.contains(&spaced(&dh)),
                "the DH output crossed the wire"
            );
        }
        for (i, card) in pgp_cards.iter().enumerate() {
            if !pgp_in.contains(&i) {
                openpgp.insert(card, i);
            }
        }
    }

    // Without the bundle the three applet cards alone still recover (any n quorum cards
    // suffice alone); with too few of them the OpenPGP cards present are said to need it.
    present(&farm, &[&applet[0], &applet[1], &applet[2]]);
    let out = dir.join("recovered-without-bundle");
    let done = recover(None, &pins, &out);
    assert!(done.status.success(), "{}", show(&done));
    assert_eq!(std::fs::read(&out).unwrap(), secret);
    present(&farm, &[&applet[0]]);
    let out = dir.join("never");
    let short = recover(None, &pins, &out);
    assert_eq!(short.status.code(), Some(3), "{}", show(&short));
    assert!(
        text(&short.stderr).contains("2 more card(s) present are OpenPGP cards whose public records are in their set's bundle: give it with --bundle FILE and they count"),
        "{}",
        show(&short)
    );
    assert!(!out.exists());

    // The bundle lost: export-bundle rebuilds it from the one quorum card present, the
    // OpenPGP cards' records included, and that bundle lets them count again.
    let rebuilt = dir.join("rebuilt.quorum.json");
    let exported = run_ok(&["export-bundle", "--out", rebuilt.to_str().unwrap()]);
    assert!(
        text(&exported.stdout).contains("records rebuilt from the set description read"),
        "{}",
        show(&exported)
    );
    let records = |path: &Path| -> serde_json::Value {
        let bundle: serde_json::Value =
            serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
        bundle["records"].clone()
    };
    assert_eq!(records(&rebuilt), records(&bundle));
    let out = dir.join("recovered-with-rebuilt-bundle");
    let done = recover(Some(&rebuilt), &pins, &out);
    assert!(done.status.success(), "{}", show(&done));
    assert_eq!(std::fs::read(&out).unwrap(), secret);
}

#[test]
fn an_openpgp_custodian_is_checked_and_its_wrong_and_blocked_pin_are_named() {
    let _guard = farm::lock();
    let farm = Farm::connect();
    let openpgp = OpenPgp::connect();
    let _cleared = openpgp.cleared();
    let dir = scratch("openpgp-pins");
    let applet: Vec<Custodian> = personalise(&farm, &dir, 1);
    let fp = keyed_card(&openpgp, 0);
    let good = pins_for(&dir, "pins", &applet, std::slice::from_ref(&fp), USER_PIN);
    let wrong = pins_for(
        &dir,
        "wrong-pins",
        &applet,
        std::slice::from_ref(&fp),
        "999999",
    );
    let bundle = dir.join("pins.quorum.json");
    let master = dir.join("master.key");
    run_ok(&[
        "enroll",
        "--threshold",
        "2",
        "--label",
        "pins",
        "--generate",
        "16",
        "--out",
        master.to_str().unwrap(),
        "--bundle",
        bundle.to_str().unwrap(),
        "--pin-file",
        good.to_str().unwrap(),
    ]);

    // A health check of the OpenPGP custodian alone, with the bundle.
    farm.clear_all();
    let checked = run(&[
        "verify",
        "--bundle",
        bundle.to_str().unwrap(),
        "--pin-file",
        good.to_str().unwrap(),
    ]);
    assert!(checked.status.success(), "{}", show(&checked));
    assert!(
        text(&checked.stdout).contains(&format!("ok     {fp}")),
        "{}",
        show(&checked)
    );

    // A wrong user PIN: the card's own counter, said with the tries left.
    present(&farm, &[&applet[0]]);
    let out = dir.join("never");
    let failed = recover(Some(&bundle), &wrong, &out);
    assert_eq!(failed.status.code(), Some(3), "{}", show(&failed));
    assert!(
        text(&failed.stderr).contains("wrong PIN; 2 tries left before the PIN blocks"),
        "{}",
        show(&failed)
    );
    let (_, status) = fingerprint_of(openpgp.reader_name(0));
    assert!(status.contains("2 of 3 tries left"), "{status}");

    // Two more: blocked, and named as an OpenPGP card's blocked PIN with its way out.
    for _ in 0..2 {
        recover(Some(&bundle), &wrong, &out);
    }
    let (_, status) = fingerprint_of(openpgp.reader_name(0));
    assert!(status.contains("PIN:         BLOCKED"), "{status}");
    // A recovery counts it out before any PIN; its health check names why.
    let short = recover(Some(&bundle), &good, &out);
    assert_eq!(short.status.code(), Some(3), "{}", show(&short));
    farm.clear_all();
    let blocked = run(&[
        "verify",
        "--bundle",
        bundle.to_str().unwrap(),
        "--pin-file",
        good.to_str().unwrap(),
    ]);
    assert_ne!(blocked.status.code(), Some(0), "{}", show(&blocked));
    let said = format!("{}{}", text(&blocked.stdout), text(&blocked.stderr));
    assert!(
        said.contains("the OpenPGP card's user PIN is blocked")
            && said.contains("resetting code or admin PIN"),
        "{}",
        show(&blocked)
    );
    assert!(!out.exists());
}

#[test]
fn an_openpgp_card_joins_a_set_of_applet_cards_with_add_card_and_then_recovers() {
    let _guard = farm::lock();
    let farm = Farm::connect();
    let openpgp = OpenPgp::connect();
    let _cleared = openpgp.cleared();
    let dir = scratch("openpgp-add-card");
    let master = b"a key that gains an OpenPGP custodian".to_vec();
    let (applet, _, _) = crate::fixtures::enrolled(&farm, &dir, "grow-pgp", 2, 2, &master);
    let bundle = dir.join("grow-pgp.quorum.json");
    let fp = keyed_card(&openpgp, 0);
    let pins = pins_for(
        &dir,
        "all.pins",
        &applet,
        std::slice::from_ref(&fp),
        USER_PIN,
    );

    // Both applet custodians bring their cards; the OpenPGP card is the new one.
    present(&farm, &[&applet[0], &applet[1]]);
    let added = run_ok(&[
        "add-card",
        "--bundle",
        bundle.to_str().unwrap(),
        "--new",
        &fp,
        "--name",
        "Olga (OpenPGP)",
        "--pin-file",
        pins.to_str().unwrap(),
    ]);
    assert!(
        text(&added.stdout).contains(&format!("card {fp}")),
        "{}",
        show(&added)
    );
    let (_, status) = fingerprint_of(openpgp.reader_name(0));
    assert!(status.contains("State:       ENROLLED"), "{status}");

    // One applet card and the new OpenPGP card recover, through the updated bundle.
    present(&farm, &[&applet[1]]);
    let out = dir.join("recovered");
    let done = recover(Some(&bundle), &pins, &out);
    assert!(done.status.success(), "{}", show(&done));
    assert_eq!(std::fs::read(&out).unwrap(), master);
}

#[test]
fn a_reshare_moves_a_set_with_an_openpgp_custodian_to_fresh_cards_and_wipes_its_share() {
    let _guard = farm::lock();
    let farm = Farm::connect();
    let openpgp = OpenPgp::connect();
    let _cleared = openpgp.cleared();
    let dir = scratch("openpgp-reshare");
    let cards: Vec<Custodian> = personalise(&farm, &dir, 4);
    let (old, fresh) = cards.split_at(2);
    let fp = keyed_card(&openpgp, 0);
    let pins = pins_for(&dir, "pins", &cards, std::slice::from_ref(&fp), USER_PIN);

    // The old set: two applet cards and the OpenPGP card, 2-of-3.
    present(&farm, &[&old[0], &old[1]]);
    let old_bundle = dir.join("old.quorum.json");
    let master = dir.join("master.key");
    run_ok(&[
        "enroll",
        "--threshold",
        "2",
        "--label",
        "old-with-pgp",
        "--generate",
        "32",
        "--out",
        master.to_str().unwrap(),
        "--bundle",
        old_bundle.to_str().unwrap(),
        "--pin-file",
        pins.to_str().unwrap(),
    ]);
    let secret = std::fs::read(&master).unwrap();

    // Every card present: the old set's three and two fresh applet cards.
    present(&farm, &[&old[0], &old[1], &fresh[0], &fresh[1]]);
    let new_bundle = dir.join("new.quorum.json");
    let done = run(&[
        "reshare",
        "--threshold",
        "2",
        "--label",
        "new-without-pgp",
        "--bundle",
        old_bundle.to_str().unwrap(),
        "--new-bundle",
        new_bundle.to_str().unwrap(),
        "--pin-file",
        pins.to_str().unwrap(),
    ]);
    assert!(done.status.success(), "{}", show(&done));
    assert!(
        text(&done.stdout).contains(&format!(
            "old card {fp}: share wiped (an OpenPGP card; its key and PINs stay)"
        )),
        "{}",
        show(&done)
    );
    let (_, status) = fingerprint_of(openpgp.reader_name(0));
    assert!(
        status.contains("State:       PERSONALISED"),
        "the OpenPGP card's share is wiped, its key kept: {status}"
    );

    present(&farm, &[&fresh[0], &fresh[1]]);
    let out = dir.join("recovered");
    let recovered = recover(Some(&new_bundle), &pins, &out);
    assert!(recovered.status.success(), "{}", show(&recovered));
    assert_eq!(std::fs::read(&out).unwrap(), secret);
}
