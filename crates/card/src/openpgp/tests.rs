//! `OpenPgpCard` against the in-memory OpenPGP card, and against a scripted transport with
//! the exact bytes of apdu-spec/vectors/openpgp.json.

use curve25519_dalek::montgomery::MontgomeryPoint;
use rand::rngs::StdRng;
use rand::SeedableRng;

use super::*;
use crate::kind::{probe, CardKind};
use crate::memory::{MemoryApplet, MemoryOpenPgp, DEFAULT_ADMIN_PIN, DEFAULT_USER_PIN};
use crate::transport::scripted::{
    pinpad_reader, unhex, ScriptedTransport, MODIFY_DIRECT, VERIFY_DIRECT,
};
use quorum_protocol::apdu::part10::PinModify;
use quorum_protocol::bundle::Bundle;
use quorum_protocol::crypto::Blinding;
use quorum_protocol::openpgp::{AdminPin, Fingerprint};
use quorum_protocol::pin::RetryLimit;
use quorum_protocol::sharing::{self, EnrollSecrets, Enrollment, NewCustodian};

const MASTER: &[u8] = b"the master secret of this test, 32";

fn pin(typed: &str) -> Pin {
    Pin::new(typed).unwrap()
}

fn backend(memory: MemoryOpenPgp, records: RecordSource) -> OpenPgpCard<MemoryOpenPgp> {
    OpenPgpCard::from_card(Card::with_trace(memory, false), records)
}

fn fresh(memory: MemoryOpenPgp) -> OpenPgpCard<MemoryOpenPgp> {
    backend(memory, RecordSource::new())
}

fn memory(card: &mut OpenPgpCard<MemoryOpenPgp>) -> &mut MemoryOpenPgp {
    card.card_mut().transport_mut()
}

/// Three OpenPGP cards with cv25519 keys, enrolled 2 of 3 with fixed secrets.
fn three_cards(seed: u64) -> (Vec<MemoryOpenPgp>, Enrollment, EnrollSecrets) {
    let cards: Vec<MemoryOpenPgp> = (0..3)
        .map(|i| MemoryOpenPgp::with_seed(seed + i).with_cv25519_key())
        .collect();
    let custodians: Vec<NewCustodian> = cards
        .iter()
        .enumerate()
        .map(|(i, c)| NewCustodian {
            card_key: c.card_key().unwrap(),
            name: format!("custodian {}", i + 1),
        })
        .collect();
    let mut rng = StdRng::seed_from_u64(seed);
    let secrets = EnrollSecrets::draw(2, 3, &mut rng).unwrap();
    let enrollment = sharing::enroll_with(MASTER, 2, "test set", &custodians, &secrets).unwrap();
    (cards, enrollment, secrets)
}

/// Writes card `i`'s record through the backend (VERIFY first, as the ceremony does).
fn write(card: &mut OpenPgpCard<MemoryOpenPgp>, enrollment: &Enrollment, i: usize) {
    card.select().unwrap();
    card.verify(&pin(DEFAULT_USER_PIN)).unwrap();
    card.put_record(&enrollment.cards[i].put_record_stream())
        .unwrap();
}

#[test]
fn blank_personalised_and_enrolled_cards_report_their_state() {
    let mut blank = fresh(MemoryOpenPgp::with_seed(1));
    let info = blank.select().unwrap();
    assert_eq!(info.state, LifeCycle::Blank);
    assert_eq!((info.version.major, info.version.minor), (3, 4));
    assert!(info.capabilities.blinded_unseal() && !info.capabilities.key_renewal());
    assert_eq!(info.record_capacity, 136);
    let status = blank.status().unwrap();
    assert_eq!(status.state, LifeCycle::Blank);
    assert_eq!(status.public_key, None);
    assert_eq!((status.tries_left, status.blocked), (3, false));
    let facts = blank.facts().unwrap();
    assert_eq!(facts.aid.manufacturer_name(), Some("Nitrokey"));
    assert_eq!(facts.private_use_size, Some(255));
    assert!(!facts.decryption_key_present);

    let (cards, enrollment, _) = three_cards(10);
    let expected = cards[0].card_key().unwrap();
    let mut card = fresh(cards.into_iter().next().unwrap());
    assert_eq!(card.select().unwrap().state, LifeCycle::Personalised);
    let status = card.status().unwrap();
    assert_eq!(status.state, LifeCycle::Personalised);
    assert!(!status.validated);
    let point = status.public_key.unwrap();
    let key = CardKey::from_card_point(&point).unwrap();
    assert_eq!(key, expected);
    assert_eq!(key.fingerprint(), expected.fingerprint());
    assert_eq!(card.facts().unwrap().card_key, Some(expected));

    write(&mut card, &enrollment, 0);
    let status = card.status().unwrap();
    assert_eq!(status.state, LifeCycle::Enrolled);
    assert!(status.validated, "VERIFY 82 holds on the same connection");
    assert_eq!(
        (status.public_len, status.sealed_len, status.capacity),
        (55, 81, 136)
    );
    assert_eq!(card.select().unwrap().state, LifeCycle::Enrolled);
    assert!(
        !card.status().unwrap().validated,
        "a new SELECT drops the PIN"
    );
}

#[test]
fn a_share_is_written_in_the_specs_order_and_read_back() {
    let (cards, enrollment, _) = three_cards(20);
    let records = RecordSource::new();
    let mut card = backend(cards.into_iter().next().unwrap(), records.clone());
    write(&mut card, &enrollment, 0);
    let written = &enrollment.cards[0];
    let header = QuorumHeader::for_record(&written.record).encode();
    assert_eq!(memory(&mut card).private_use(0x0101), &header[..]);
    assert_eq!(memory(&mut card).private_use(0x0103), &written.sealed[..]);
    let puts: Vec<String> = memory(&mut card)
        .log()
        .iter()
        .filter(|e| e.ins() == 0xDA || e.ins() == 0xCA)
        .map(|e| hex::encode_upper(&e.command[..4]))
        .collect();
    assert_eq!(
        &puts[puts.len() - 4..],
        ["00DA0103", "00DA0101", "00CA0103", "00CA0101"],
        "sealed part first, header second, both read back"
    );
    assert_eq!(
        records.len(),
        1,
        "the written record joined the shared source"
    );
    assert_eq!(card.get_record_public().unwrap(), written.public);
    assert_eq!(&card.get_record_sealed().unwrap()[..], &written.sealed[..]);
}

#[test]
fn the_public_record_comes_from_the_source_or_the_error_names_the_bundle() {
    let (cards, enrollment, _) = three_cards(30);
    let mut writer = fresh(cards.into_iter().next().unwrap());
    write(&mut writer, &enrollment, 0);
    let inserted = writer.into_card().into_transport();

    // Another session, without the bundle.
    let mut card = fresh(inserted);
    assert_eq!(card.select().unwrap().state, LifeCycle::Enrolled);
    let error = card.get_record_public().unwrap_err();
    let set_id = enrollment.set_id;
    assert!(matches!(
        error,
        CardError::RecordInBundle { set_id: s, set_version: 1, index: 1 } if s == set_id
    ));
    let text = error.to_string();
    assert!(
        text.contains("bundle") && text.contains(&hex::encode(set_id)),
        "{text}"
    );

    // The same card with the set's bundle.
    let bundle = Bundle::from_enrollment(&enrollment);
    let records = RecordSource::from_bundle(&bundle).unwrap();
    assert_eq!(records.len(), 3);
    let mut card = backend(card.into_card().into_transport(), records);
    assert_eq!(
        card.get_record_public().unwrap(),
        enrollment.cards[0].public
    );

    // A record of the same place whose digest differs is not the one the header names.
    let other = three_cards(31).1;
    let records = RecordSource::new();
    records.add(&other.cards[0].public).unwrap();
    let mut card = backend(card.into_card().into_transport(), records);
    assert!(matches!(
        card.get_record_public(),
        Err(CardError::RecordInBundle { .. })
    ));
}

#[test]
fn a_personalised_card_has_no_public_record_and_writes_need_the_pin() {
    let (cards, enrollment, _) = three_cards(40);
    let mut card = fresh(cards.into_iter().next().unwrap());
    card.select().unwrap();
    assert!(matches!(
        card.get_record_public(),
        Err(CardError::WrongState {
            state: Some(LifeCycle::Personalised),
            ..
        })
    ));
    let error = card
        .put_record(&enrollment.cards[0].put_record_stream())
        .unwrap_err();
    assert!(matches!(
        error,
        CardError::OpenPgpPinNotVerified {
            command: "PUT DATA 0103"
        }
    ));
    assert!(error.to_string().contains("OpenPGP card"), "{error}");
    assert!(error.is_pin_failure());
    assert!(matches!(
        card.get_record_sealed(),
        Err(CardError::OpenPgpPinNotVerified { .. })
    ));
    let mut nine = [0u8; 32];
    nine[0] = 9;
    let base = SubgroupPoint::from_u(&nine).unwrap().to_wei_point();
    assert!(matches!(
        card.unseal(&base),
        Err(CardError::OpenPgpPinNotVerified {
            command: "PSO:DECIPHER"
        })
    ));
    let mut off_curve = base;
    off_curve[64] ^= 1;
    assert!(matches!(
        card.unseal(&off_curve),
        Err(CardError::OpenPgpBadPoint(_))
    ));
    assert_eq!(memory(&mut card).private_use(0x0101), b"");
}

#[test]
fn wrong_pins_count_down_and_a_blocked_pin_names_the_openpgp_way_out() {
    let mut card = fresh(MemoryOpenPgp::with_seed(5).with_cv25519_key());
    card.select().unwrap();
    let wrong = pin("999999");
    assert!(matches!(
        card.verify(&wrong),
        Err(CardError::WrongPin { tries_left: 2 })
    ));
    assert_eq!(card.status().unwrap().tries_left, 2);
    assert!(matches!(
        card.verify(&wrong),
        Err(CardError::WrongPin { tries_left: 1 })
    ));
    // The last try blocks the PIN (63C0), and so does every VERIFY after it (6983).
    let error = card.verify(&wrong).unwrap_err();
    assert!(matches!(error, CardError::OpenPgpPinBlocked));
    assert!(error.is_pin_failure());
    let text = error.to_string();
    assert!(
        text.contains("OpenPGP") && text.contains("admin PIN"),
        "{text}"
    );
    assert!(!text.contains("factory"), "{text}");
    assert!(matches!(
        card.verify(&pin(DEFAULT_USER_PIN)),
        Err(CardError::OpenPgpPinBlocked)
    ));
    let status = card.status().unwrap();
    assert!(status.blocked && !status.validated);
    assert_eq!(status.tries_left, 0);
}

#[test]
fn the_user_pin_is_changed_with_ascii_old_and_new() {
    let mut card = fresh(MemoryOpenPgp::with_seed(6).with_cv25519_key());
    card.select().unwrap();
    assert!(matches!(
        card.change_pin(&pin("000000"), &pin("24681357")),
        Err(CardError::WrongPin { tries_left: 2 })
    ));
    card.change_pin(&pin(DEFAULT_USER_PIN), &pin("24681357"))
        .unwrap();
    assert_eq!(memory(&mut card).user_tries(), 3);
    card.select().unwrap();
    assert!(matches!(
        card.verify(&pin(DEFAULT_USER_PIN)),
        Err(CardError::WrongPin { tries_left: 2 })
    ));
    card.verify(&pin("24681357")).unwrap();
    assert!(memory(&mut card).user_pin_verified());
}

#[test]
fn a_user_pin_of_letters_and_up_to_127_characters_is_sent_as_typed() {
    let mut card = fresh(MemoryOpenPgp::with_seed(7).with_cv25519_key());
    card.select().unwrap();
    card.change_pin(&pin(DEFAULT_USER_PIN), &pin("tr0ub4dor-passphrase"))
        .unwrap();
    card.select().unwrap();
    card.verify(&pin("tr0ub4dor-passphrase")).unwrap();
    assert!(memory(&mut card).user_pin_verified());
    let sent = memory(&mut card)
        .log()
        .iter()
        .rev()
        .find(|e| e.command.get(1) == Some(&0x20))
        .map(|e| e.command.clone())
        .unwrap();
    assert_eq!(sent[..5], [0x00, 0x20, 0x00, 0x82, 20]);
    assert_eq!(&sent[5..], b"tr0ub4dor-passphrase");

    let longest = "p".repeat(127);
    card.change_pin(&pin("tr0ub4dor-passphrase"), &pin(&longest))
        .unwrap();
    card.select().unwrap();
    card.verify(&pin(&longest)).unwrap();

    let mut card = fresh(
        MemoryOpenPgp::with_seed(8)
            .with_cv25519_key()
            .with_user_pin("unicode-p\u{e4}ss"),
    );
    card.select().unwrap();
    card.verify(&pin("unicode-p\u{e4}ss")).unwrap();
}

#[test]
fn a_user_pin_shorter_than_the_cards_rule_is_refused_before_any_apdu() {
    let mut card = fresh(MemoryOpenPgp::with_seed(9).with_cv25519_key());
    card.select().unwrap();
    memory(&mut card).clear_log();
    let error = card.verify(&pin("abc12")).unwrap_err();
    assert!(
        matches!(error, CardError::PinRule(PinError::OpenPgpLength)),
        "{error}"
    );
    assert!(error.is_pin_failure());
    assert!(!error.to_string().contains("abc12"), "{error}");
    assert!(matches!(
        card.change_pin(&pin(DEFAULT_USER_PIN), &pin("12345")),
        Err(CardError::PinRule(PinError::OpenPgpLength))
    ));
    assert!(memory(&mut card).log().is_empty());
    assert_eq!(memory(&mut card).user_tries(), 3);
}

#[test]
fn the_sealed_share_opens_through_the_blinded_unseal() {
    let (cards, enrollment, secrets) = three_cards(50);
    let public_u: Vec<[u8; 32]> = cards.iter().map(|c| c.public_u().unwrap()).collect();
    let mut opened = Vec::new();
    let mut rng = StdRng::seed_from_u64(51);
    for (i, inserted) in cards.into_iter().enumerate() {
        let mut card = fresh(inserted);
        write(&mut card, &enrollment, i);
        let written = &enrollment.cards[i];
        let sealed = card.get_record_sealed().unwrap();
        let key = CardKey::from_card_point(&card.status().unwrap().public_key.unwrap()).unwrap();

        // The blinded DH, unblinded as for an applet card, is the sender's DH.
        let enc: [u8; 32] = sealed[..32].try_into().unwrap();
        let blinding = Blinding::new(&SubgroupPoint::from_u(&enc).unwrap(), &mut rng);
        let x = card.unseal(blinding.card_point()).unwrap();
        let dh = blinding.unblind(&x).unwrap();
        let sender = MontgomeryPoint(public_u[i]).mul_clamped(secrets.ephemeral[i].to_bytes());
        assert_eq!(*dh, sender.to_bytes());

        // And the whole share opens through open_share with the card's unseal.
        let share = sharing::open_share(&written.public, &sealed, &key, &mut rng, |p| {
            card.unseal(p).map(|x| *x)
        })
        .unwrap();
        // The card never saw E: no DECIPHER carried it.
        let log = memory(&mut card).log();
        assert!(log
            .iter()
            .filter(|e| e.ins() == 0x2A)
            .all(|e| !e.command.windows(32).any(|w| w == enc)));
        opened.push(share);
    }
    for pair in [[0, 1], [1, 2], [0, 2]] {
        let master = sharing::recover(pair.iter().map(|&i| &opened[i])).unwrap();
        assert_eq!(&master[..], MASTER);
    }
}

#[test]
fn cards_that_cannot_hold_a_share_are_refused_each_for_its_reason() {
    type Case = (MemoryOpenPgp, fn(&Unsuitable) -> bool, &'static str);
    let cases: Vec<Case> = vec![
        (
            MemoryOpenPgp::with_seed(7)
                .with_cv25519_key()
                .without_private_use(),
            |u| matches!(u, Unsuitable::NoPrivateUseDos),
            "no private-use data objects",
        ),
        (
            MemoryOpenPgp::with_seed(7)
                .with_cv25519_key()
                .private_use_size(64),
            |u| {
                matches!(
                    u,
                    Unsuitable::PrivateUseTooSmall {
                        size: 64,
                        needed: 81
                    }
                )
            },
            "hold 64 bytes",
        ),
        (
            MemoryOpenPgp::with_seed(7).with_cv25519_key().kdf_active(),
            |u| matches!(u, Unsuitable::KdfActive { algorithm: 3 }),
            "KDF",
        ),
        (
            MemoryOpenPgp::with_seed(7).with_rsa_key(),
            |u| {
                matches!(
                    u,
                    Unsuitable::NotCv25519 {
                        algorithm_id: Some(1)
                    }
                )
            },
            "not cv25519",
        ),
        (
            MemoryOpenPgp::with_seed(7)
                .with_cv25519_key()
                .with_private_use(0x0101, b"GnuPG notes: keep"),
            |u| matches!(u, Unsuitable::ForeignHeader(_)),
            "another program",
        ),
    ];
    for (inserted, reason, words) in cases {
        let mut card = fresh(inserted);
        let error = card.select().unwrap_err();
        match &error {
            CardError::OpenPgpUnsuitable(u) => assert!(reason(u), "{error}"),
            other => panic!("{other}"),
        }
        let text = error.to_string();
        assert!(
            text.contains("OpenPGP card") && text.contains(words),
            "{text}"
        );
        assert!(card.facts().is_some(), "the facts stay readable for status");
        assert!(matches!(
            card.status(),
            Err(CardError::OpenPgpUnsuitable(_))
        ));
    }
    // A card without the OpenPGP application.
    let mut applet = OpenPgpCard::from_card(
        Card::with_trace(MemoryApplet::new(), false),
        RecordSource::new(),
    );
    assert!(matches!(applet.select(), Err(CardError::NotOpenPgp { .. })));
}

#[test]
fn factory_reset_wipes_quorums_data_and_keeps_the_keys() {
    let (cards, enrollment, _) = three_cards(60);
    let key = cards[1].card_key();
    let mut card = fresh(cards.into_iter().nth(1).unwrap());
    write(&mut card, &enrollment, 1);
    card.select().unwrap();
    assert!(matches!(
        card.factory_reset(),
        Err(CardError::OpenPgpPinNotVerified {
            command: "PUT DATA 0101"
        })
    ));
    card.verify(&pin(DEFAULT_USER_PIN)).unwrap();
    card.factory_reset().unwrap();
    let puts: Vec<String> = memory(&mut card)
        .log()
        .iter()
        .rev()
        .take(2)
        .map(|e| hex::encode_upper(&e.command))
        .collect();
    assert_eq!(
        puts,
        ["00DA0103", "00DA0101"],
        "header first, then sealed part"
    );
    assert_eq!(memory(&mut card).private_use(0x0101), b"");
    assert_eq!(memory(&mut card).private_use(0x0103), b"");
    assert_eq!(memory(&mut card).card_key(), key);
    let status = card.status().unwrap();
    assert_eq!(status.state, LifeCycle::Personalised);
    assert_eq!(
        CardKey::from_card_point(&status.public_key.unwrap()).ok(),
        key
    );
    assert_eq!(memory(&mut card).count(0xE6), 0, "never TERMINATE DF");
}

#[test]
fn applet_only_operations_are_refused_not_skipped() {
    let mut card = fresh(MemoryOpenPgp::with_seed(8).with_cv25519_key());
    card.select().unwrap();
    let limit = RetryLimit::new(3).unwrap();
    let errors = [
        card.initialise(limit, &PinBlock::new(DEFAULT_USER_PIN).unwrap())
            .unwrap_err(),
        card.initialise_on_pinpad(limit, 30).unwrap_err(),
        card.prepare_key().unwrap_err(),
        card.put_record_renewing_key(&[0; 8]).unwrap_err(),
    ];
    for error in errors {
        assert!(matches!(error, CardError::NotOnOpenPgp { .. }), "{error}");
        assert!(
            error.to_string().starts_with("an OpenPGP card cannot"),
            "{error}"
        );
    }
    let error = fresh(MemoryOpenPgp::with_seed(8).with_cv25519_key())
        .prepare_key()
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("admin PIN") && error.contains("key renewal is not available"),
        "{error}"
    );
}

#[test]
fn a_touch_that_never_comes_is_named() {
    let (cards, enrollment, _) = three_cards(70);
    let mut card = fresh(
        cards
            .into_iter()
            .next()
            .unwrap()
            .touch_policy(0x01)
            .touch_never_comes(),
    );
    write(&mut card, &enrollment, 0);
    assert_eq!(card.facts().unwrap().touch, Some(TouchPolicy::On));
    let point = SubgroupPoint::from_u(&enrollment.cards[0].sealed[..32].try_into().unwrap())
        .unwrap()
        .to_wei_point();
    let error = card.unseal(&point).unwrap_err();
    assert!(matches!(error, CardError::OpenPgpTouch { .. }));
    assert!(error.to_string().contains("touch"), "{error}");
}

#[test]
fn probe_tells_the_applet_from_an_openpgp_card() {
    let mut applet = MemoryApplet::new().personalised("123456");
    assert_eq!(probe(&mut applet).unwrap(), CardKind::QuorumApplet);
    let mut openpgp = MemoryOpenPgp::with_seed(9);
    assert_eq!(probe(&mut openpgp).unwrap(), CardKind::OpenPgp);
    assert_eq!(
        openpgp.log().len(),
        2,
        "the applet's AID is asked for first"
    );
    let mut neither = MemoryApplet::without_applet();
    assert_eq!(probe(&mut neither).unwrap(), CardKind::Unknown);
}

#[test]
fn a_pinpad_verify_goes_through_the_part10_path_with_the_openpgp_structure() {
    let structure = hex::encode_upper(
        PinVerify::openpgp(PinRef::UserDecipher, 25, 30)
            .encode()
            .unwrap(),
    );
    type Check = fn(&Result<(), CardError>) -> bool;
    let answers: [(&str, Check); 5] = [
        ("9000", |r| r.is_ok()),
        ("63C2", |r| {
            matches!(r, Err(CardError::WrongPin { tries_left: 2 }))
        }),
        ("6983", |r| matches!(r, Err(CardError::OpenPgpPinBlocked))),
        ("6401", |r| matches!(r, Err(CardError::PinpadCancelled))),
        ("6403", |r| {
            matches!(r, Err(CardError::OpenPgpPinpadRefused { .. }))
        }),
    ];
    for (answer, check) in answers {
        let script = pinpad_reader()
            .expect_control(TLV_PROPERTIES, "", CHERRY_TLV)
            .expect_control(VERIFY_DIRECT, &structure, answer);
        let mut card = OpenPgpCard::new(script, RecordSource::new());
        let result = card.verify_on_pinpad(30);
        assert!(check(&result), "{answer}: {result:?}");
        // The feature list and the keypad's properties are the reader's; the entry reaches
        // the card.
        assert_eq!((card.stats().reader_queries, card.stats().controls), (2, 1));
    }
}

#[test]
fn a_pinpad_pin_change_sends_gnupgs_modify_structure_and_maps_every_answer() {
    let structure = hex::encode_upper(PinModify::openpgp_user(25, 30).encode().unwrap());
    type Check = fn(&Result<(), CardError>) -> bool;
    let answers: [(&str, Check); 6] = [
        ("9000", |r| r.is_ok()),
        ("63C1", |r| {
            matches!(r, Err(CardError::WrongPin { tries_left: 1 }))
        }),
        ("6983", |r| matches!(r, Err(CardError::OpenPgpPinBlocked))),
        ("6400", |r| {
            matches!(r, Err(CardError::PinpadTimeout { seconds: 30 }))
        }),
        ("6402", |r| matches!(r, Err(CardError::PinpadMismatch))),
        ("6403", |r| {
            matches!(r, Err(CardError::OpenPgpPinpadRefused { .. }))
        }),
    ];
    for (answer, check) in answers {
        let script = pinpad_reader()
            .expect_control(TLV_PROPERTIES, "", CHERRY_TLV)
            .expect_control(MODIFY_DIRECT, &structure, answer);
        let mut card = OpenPgpCard::new(script, RecordSource::new());
        let result = card.change_pin_on_pinpad(30);
        assert!(check(&result), "{answer}: {result:?}");
    }
}

#[test]
fn the_keypad_structures_are_the_vectors() {
    let v = vectors();
    let verify = PinVerify::openpgp(PinRef::UserDecipher, 25, 30)
        .encode()
        .unwrap();
    let modify = PinModify::openpgp_user(25, 30).encode().unwrap();
    assert_eq!(
        hex::encode(verify),
        v["pinpad"]["verify_pin_direct_user"].as_str().unwrap()
    );
    assert_eq!(
        hex::encode(modify),
        v["pinpad"]["modify_pin_direct_user"].as_str().unwrap()
    );
}

/// FEATURE_GET_TLV_PROPERTIES on the virtual pinpad.
const TLV_PROPERTIES: u32 = 0x4233_0012;
/// bMinPINSize 0 and bMaxPINSize 25, as the CCID driver reports a Cherry ST-2000.
const CHERRY_TLV: &str = "0601000701 19";

#[test]
fn a_keypad_shorter_than_an_openpgp_pin_is_refused_before_the_card_is_asked() {
    let script = pinpad_reader().expect_control(TLV_PROPERTIES, "", "0601000701 04");
    let mut card = OpenPgpCard::new(script, RecordSource::new());
    let error = card.verify_on_pinpad(30).unwrap_err();
    assert!(
        matches!(
            error,
            CardError::OpenPgpPinpadTooShort { reader: 4, min: 6 }
        ),
        "{error:?}"
    );
    assert_eq!(card.stats().commands, 0);
}

fn vectors() -> serde_json::Value {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../apdu-spec/vectors/openpgp.json"
    );
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// The write of a share byte for byte: VERIFY 82, PUT DATA 0103 exactly as the vectors
/// give it, PUT DATA 0101 with the header laid out field by field, both read back.
#[test]
fn writing_a_share_sends_the_vectors_bytes() {
    let v = vectors();
    let sealed = unhex(v["sealed"]["do_0103"].as_str().unwrap());
    let (_, enrollment, _) = three_cards(80);
    let written = &enrollment.cards[2];
    let stream = PutRecordStream::encode(&written.public, &sealed).unwrap();
    let header = format!(
        "514F5031{}0001{:02X}{}",
        hex::encode_upper(enrollment.set_id),
        written.record.index,
        hex::encode_upper(written.record.set_digest().0)
    );
    let script = ScriptedTransport::new()
        .expect("0020008206313233343536", "9000")
        .expect(v["sealed"]["put_data_0103_apdu"].as_str().unwrap(), "9000")
        .expect(&format!("00DA010137{header}"), "9000")
        .expect("00CA010300", &format!("{}9000", hex::encode(&sealed)))
        .expect("00CA010100", &format!("{header}9000"));
    let mut card = OpenPgpCard::new(script, RecordSource::new());
    card.verify(&pin("123456")).unwrap();
    card.put_record(&stream).unwrap();
    assert_eq!(card.stats().commands, 5);
    assert_eq!(card.records().len(), 1);
}

/// UNSEAL of the vectors' blinded point sends their DECIPHER APDU and returns the Wei25519
/// x of the card's answer.
#[test]
fn unseal_sends_the_vectors_decipher_and_converts_the_answer() {
    let v = vectors();
    for case in v["decipher"].as_array().unwrap() {
        let blinded: [u8; 32] = unhex(case["blinded_u_le"].as_str().unwrap())
            .try_into()
            .unwrap();
        let answer: [u8; 32] = unhex(case["card_answer_u_le"].as_str().unwrap())
            .try_into()
            .unwrap();
        let script = ScriptedTransport::new().expect(
            case["decipher_apdu"].as_str().unwrap(),
            &format!("{}9000", hex::encode(answer)),
        );
        let mut card = OpenPgpCard::new(script, RecordSource::new());
        let point = SubgroupPoint::from_u(&blinded).unwrap().to_wei_point();
        let x = card.unseal(&point).unwrap();
        assert_eq!(*x, SubgroupPoint::from_u(&answer).unwrap().wei_x());
    }
}

#[test]
fn the_record_source_is_shared_by_its_clones() {
    let (_, enrollment, _) = three_cards(90);
    let source = RecordSource::new();
    let clone = source.clone();
    assert!(clone.is_empty());
    source.add(&enrollment.cards[1].public).unwrap();
    source.add(&enrollment.cards[1].public).unwrap();
    assert_eq!(clone.len(), 1, "one place, one record");
    let header = QuorumHeader::for_record(&enrollment.cards[1].record);
    assert_eq!(
        clone.find(&header),
        Some(enrollment.cards[1].public.clone())
    );
    assert!(format!("{clone:?}").contains(&hex::encode(enrollment.set_id)));
    let mut bad = enrollment.cards[1].public.clone();
    bad[0] ^= 1;
    assert!(source.add(&bad).is_err());
}

fn admin(pin: &str) -> AdminPin {
    AdminPin::new(pin.as_bytes()).unwrap()
}

/// The commands a card received, as upper-case hex of their first four bytes.
fn headers(card: &mut OpenPgpCard<MemoryOpenPgp>) -> Vec<String> {
    memory(card)
        .log()
        .iter()
        .map(|e| hex::encode_upper(&e.command[..4]))
        .collect()
}

#[test]
fn a_key_is_generated_with_the_admin_pin_and_named_by_time_and_fingerprint() {
    let mut card = fresh(MemoryOpenPgp::with_seed(80));
    assert!(matches!(
        card.select(),
        Ok(SelectInfo {
            state: LifeCycle::Blank,
            ..
        })
    ));
    let slot = card.key_slot().unwrap();
    assert!(slot.existing.is_none() && slot.header.is_none() && slot.attributes_changeable);
    memory(&mut card).clear_log();
    card.verify_admin(&admin(DEFAULT_ADMIN_PIN)).unwrap();
    let key = card.generate_key(None, 0x6563_D4C4).unwrap();
    assert_eq!(Some(key), memory(&mut card).card_key());
    let sent = headers(&mut card);
    // VERIFY 83, the slot read again (6E, F9, 0101), C2, GENERATE 80, CF, C8.
    assert_eq!(sent[0], "00200083");
    assert_eq!(
        sent[sent.len() - 4..],
        ["00DA00C2", "00478000", "00DA00CF", "00DA00C8"]
    );
    let slot = card.key_slot().unwrap();
    let existing = slot.existing.unwrap();
    assert_eq!(existing.card_key, Some(key));
    assert_eq!(existing.algorithm, AlgorithmAttributes::Cv25519Ecdh);
    assert_eq!(
        existing.fingerprint,
        Some(Fingerprint(keygen::c8_fingerprint(&key, 0x6563_D4C4)))
    );
    // Selected again, the card is a personalised custodian card with that key.
    let status = card.status().unwrap();
    assert_eq!(status.state, LifeCycle::Personalised);
    assert_eq!(
        CardKey::from_card_point(&status.public_key.unwrap()).unwrap(),
        key
    );
    // A card already set to cv25519 gets no PUT DATA C2.
    memory(&mut card).clear_log();
    let existing = card.key_slot().unwrap().existing;
    let again = card.generate_key(existing.as_ref(), 0x6563_D4C5).unwrap();
    assert_ne!(again, key);
    assert!(!headers(&mut card).contains(&"00DA00C2".to_owned()));
}

#[test]
fn a_wrong_admin_pin_counts_its_own_tries_and_generation_needs_it() {
    let mut card = fresh(MemoryOpenPgp::with_seed(81));
    card.select().unwrap();
    assert!(matches!(
        card.generate_key(None, 1),
        Err(CardError::OpenPgpAdminPinNotVerified {
            command: "PUT DATA C2"
        })
    ));
    for left in [2, 1] {
        let e = card.verify_admin(&admin("87654321")).unwrap_err();
        assert!(
            matches!(e, CardError::OpenPgpWrongAdminPin { tries_left } if tries_left == left),
            "{e}"
        );
        assert!(e.is_pin_failure());
        assert!(e.to_string().contains("admin PIN"), "{e}");
    }
    // The user PIN's tries are not the admin PIN's.
    assert_eq!(memory(&mut card).user_tries(), 3);
    card.verify_admin(&admin(DEFAULT_ADMIN_PIN)).unwrap();
    for _ in 0..3 {
        let _ = card.verify_admin(&admin("87654321"));
    }
    let e = card.verify_admin(&admin(DEFAULT_ADMIN_PIN)).unwrap_err();
    assert!(matches!(e, CardError::OpenPgpAdminPinBlocked), "{e}");
    assert!(e.is_pin_failure());
    assert_eq!(memory(&mut card).count(0x47), 0);
}

#[test]
fn a_key_there_is_never_overwritten_without_naming_it() {
    for memory_card in [
        MemoryOpenPgp::with_seed(82).with_cv25519_key(),
        MemoryOpenPgp::with_seed(83).with_rsa_key(),
    ] {
        let before = memory_card.card_key();
        let mut card = fresh(memory_card);
        // An RSA key refuses the card for ceremonies, but init may see and replace it.
        let _ = card.select();
        let slot = card.key_slot().unwrap();
        let existing = slot.existing.clone().expect("a key in the slot");
        assert_eq!(existing.card_key, before);
        card.verify_admin(&admin(DEFAULT_ADMIN_PIN)).unwrap();
        let e = card.generate_key(None, 1).unwrap_err();
        assert!(
            matches!(e, CardError::OpenPgpKeyNotConfirmed { fingerprint } if fingerprint == existing.fingerprint),
            "{e}"
        );
        let other = ExistingKey {
            fingerprint: Some(Fingerprint([0x11; 20])),
            ..existing.clone()
        };
        assert!(matches!(
            card.generate_key(Some(&other), 1),
            Err(CardError::OpenPgpKeyNotConfirmed { .. })
        ));
        assert!(
            !headers(&mut card).contains(&"00478000".to_owned()),
            "no GENERATE 80"
        );
        assert_eq!(memory(&mut card).card_key(), before);
        let new = card.generate_key(Some(&existing), 2).unwrap();
        assert_ne!(Some(new), before);
        assert_eq!(memory(&mut card).card_key(), Some(new));
    }
}

#[test]
fn clearing_a_share_empties_the_header_then_the_sealed_part() {
    let (cards, enrollment, _) = three_cards(84);
    let mut card = fresh(cards.into_iter().next().unwrap());
    write(&mut card, &enrollment, 0);
    let slot = card.key_slot().unwrap();
    assert_eq!(
        slot.header.map(|h| h.index),
        Some(enrollment.cards[0].index())
    );
    card.select().unwrap();
    assert!(matches!(
        card.clear_share(),
        Err(CardError::OpenPgpPinNotVerified { .. })
    ));
    card.verify(&pin(DEFAULT_USER_PIN)).unwrap();
    memory(&mut card).clear_log();
    card.clear_share().unwrap();
    assert_eq!(headers(&mut card), ["00DA0101", "00DA0103"]);
    assert_eq!(memory(&mut card).private_use(0x0101), b"");
    assert_eq!(memory(&mut card).private_use(0x0103), b"");
    assert!(card.key_slot().unwrap().header.is_none());
}
