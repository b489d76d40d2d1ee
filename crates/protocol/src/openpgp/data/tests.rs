//! The parsers against answers built by hand from the spec's layouts (§4.2.1 AID, §4.4.1 the
//! 6E/73 tree, §4.4.3.10 algorithm attributes, §7.2.14 the 7F49 answer), shaped like a
//! YubiKey 5's (extra attestation-key objects, 7F66 inside 73), and against damage.

use super::*;
use crate::mutation::any_mutation;
use proptest::prelude::*;
use x25519_dalek::{PublicKey, StaticSecret};

const DEC_FP: [u8; 20] = [
    0x6E, 0xFE, 0xC6, 0x6D, 0xE6, 0xF8, 0x90, 0xBC, 0x34, 0x5E, 0x04, 0xA6, 0x2C, 0xF4, 0xEA, 0xA4,
    0x8F, 0x4D, 0xAF, 0x20,
];

/// The fields a test varies in the hand-built 6E answer.
#[derive(Clone, Debug)]
struct Card {
    version: [u8; 2],
    manufacturer: [u8; 2],
    serial: [u8; 4],
    c2: Vec<u8>,
    tries: [u8; 3],
    dec_fp: [u8; 20],
    dec_time: u32,
    key_info: Option<u8>,
    in_73: bool,
}

impl Default for Card {
    fn default() -> Self {
        Card {
            version: [3, 4],
            manufacturer: [0x00, 0x06],
            serial: [0x01, 0x23, 0xAB, 0xCD],
            c2: CV25519_ECDH_ATTRIBUTES.to_vec(),
            tries: [3, 0, 3],
            dec_fp: DEC_FP,
            dec_time: 0x6563_D4C4,
            key_info: Some(0x01),
            in_73: true,
        }
    }
}

fn w(out: &mut Vec<u8>, tag: u16, value: &[u8]) {
    tlv::write(out, tag, value);
}

/// GET DATA 6E as the spec lays it out: 4F, 5F52, 7F74, then 73 with C0–C5, C6, CD, DE, 7F66, UIFs.
fn ard(card: &Card) -> Vec<u8> {
    let mut aid = OPENPGP_AID_PREFIX.to_vec();
    aid.extend_from_slice(&card.version);
    aid.extend_from_slice(&card.manufacturer);
    aid.extend_from_slice(&card.serial);
    aid.extend_from_slice(&[0, 0]);

    let mut dd = Vec::new();
    // C0: flags 7D (challenge, import, PW status, private DOs, attributes changeable, KDF),
    // SM 00, challenge 0BFE, certificate 0800, special DOs 00FF, PIN block 2: no, MSE: no
    w(&mut dd, 0xC0, &hex::decode("7D000BFE080000FF0000").unwrap());
    w(&mut dd, 0xC1, &hex::decode("010800001100").unwrap());
    w(&mut dd, 0xC2, &card.c2);
    w(&mut dd, 0xC3, &hex::decode("010800001100").unwrap());
    w(&mut dd, 0xDA, &hex::decode("010800001100").unwrap());
    let [p1, rc, p3] = card.tries;
    w(&mut dd, 0xC4, &[0x01, 0x7F, 0x7F, 0x7F, p1, rc, p3]);
    let mut fps = vec![0u8; 20];
    fps.extend_from_slice(&card.dec_fp);
    fps.extend_from_slice(&[0; 20]);
    fps.extend_from_slice(&[0xE9; 20]); // attestation key
    w(&mut dd, 0xC5, &fps);
    w(&mut dd, 0xC6, &[0; 80]);
    let mut times = vec![0u8; 4];
    times.extend_from_slice(&card.dec_time.to_be_bytes());
    times.extend_from_slice(&[0; 4]);
    times.extend_from_slice(&0x624D_7083u32.to_be_bytes());
    w(&mut dd, 0xCD, &times);
    if let Some(status) = card.key_info {
        w(
            &mut dd,
            0xDE,
            &[0x01, 0x00, 0x02, status, 0x03, 0x00, 0x81, 0x02],
        );
    }
    w(&mut dd, 0x7F66, &hex::decode("02020BFE02020BFE").unwrap());
    w(&mut dd, 0xD6, &[0x00, 0x20]);
    w(&mut dd, 0xD7, &[0x01, 0x20]);
    w(&mut dd, 0xD8, &[0x00, 0x20]);

    let mut inner = Vec::new();
    w(&mut inner, 0x4F, &aid);
    w(
        &mut inner,
        0x5F52,
        &hex::decode("00730000E0059000").unwrap(),
    );
    w(&mut inner, 0x7F74, &[0x81, 0x01, 0x20]);
    if card.in_73 {
        w(&mut inner, 0x73, &dd);
    } else {
        inner.extend_from_slice(&dd);
    }
    let mut out = Vec::new();
    w(&mut out, 0x6E, &inner);
    out
}

#[test]
fn a_realistic_application_related_data_answer_is_read() {
    let bytes = ard(&Card::default());
    assert!(
        bytes.len() > 256,
        "as on a YubiKey, the answer needs GET RESPONSE"
    );
    let data = ApplicationRelatedData::parse(&bytes).unwrap();
    assert_eq!(data.aid.version, SpecVersion { major: 3, minor: 4 });
    assert_eq!(data.aid.version.to_string(), "3.4");
    assert_eq!(data.aid.manufacturer, 0x0006);
    assert_eq!(data.aid.manufacturer_name(), Some("Yubico"));
    assert_eq!(data.aid.serial, 0x0123_ABCD);
    assert_eq!(data.aid.serial_hex(), "0123ABCD");
    assert_eq!(
        data.historical_bytes,
        hex::decode("00730000E0059000").unwrap()
    );
    let caps = data.extended_capabilities;
    assert!(caps.private_use_dos() && caps.algorithm_attributes_changeable() && caps.kdf());
    assert!(caps.key_import());
    assert_eq!(caps.max_special_do_len, Some(255));
    assert_eq!(caps.max_certificate_len, 0x0800);
    assert_eq!(caps.max_challenge_len, 0x0BFE);
    assert_eq!(data.private_use_capacity(), Some(255));
    assert_eq!(data.algorithms.decryption, AlgorithmAttributes::Cv25519Ecdh);
    assert_eq!(
        data.algorithms.signature,
        AlgorithmAttributes::Other {
            algorithm_id: Some(0x01),
            raw: hex::decode("010800001100").unwrap()
        }
    );
    assert_eq!(
        data.pw_status,
        PwStatus {
            pw1_valid_for_several_signatures: true,
            pw1_max_len: 127,
            rc_max_len: 127,
            pw3_max_len: 127,
            pw1_tries_left: 3,
            rc_tries_left: 0,
            pw3_tries_left: 3,
        }
    );
    assert_eq!(data.fingerprints.signature, None);
    assert_eq!(data.fingerprints.decryption, Some(Fingerprint(DEC_FP)));
    assert_eq!(data.fingerprints.authentication, None);
    assert_eq!(
        Fingerprint(DEC_FP).to_string(),
        "6EFE C66D E6F8 90BC 345E 04A6 2CF4 EAA4 8F4D AF20"
    );
    assert_eq!(data.generation_times.decryption, Some(0x6563_D4C4));
    assert_eq!(data.generation_times.authentication, None);
    assert_eq!(data.decryption_key_status, Some(KeyStatus::Generated));
    assert_eq!(data.decryption_touch, Some(TouchPolicy::On));
    assert!(data.decryption_key_present());
    assert!(data.has_cv25519_decryption_key());
}

#[test]
fn key_presence_follows_key_information_then_the_fingerprint() {
    // DE says none although a fingerprint is left: no key
    let data = ApplicationRelatedData::parse(&ard(&Card {
        key_info: Some(0x00),
        ..Card::default()
    }))
    .unwrap();
    assert!(!data.decryption_key_present() && !data.has_cv25519_decryption_key());
    // generated, fingerprint never written: a key
    let data = ApplicationRelatedData::parse(&ard(&Card {
        dec_fp: [0; 20],
        ..Card::default()
    }))
    .unwrap();
    assert_eq!(data.fingerprints.decryption, None);
    assert!(data.decryption_key_present());
    // no DE (a card before 3.3): the fingerprint decides
    for (fp, present) in [([0u8; 20], false), (DEC_FP, true)] {
        let data = ApplicationRelatedData::parse(&ard(&Card {
            dec_fp: fp,
            key_info: None,
            ..Card::default()
        }))
        .unwrap();
        assert_eq!(data.decryption_key_present(), present);
    }
    // an RSA decryption key is present but of no use to quorum
    let data = ApplicationRelatedData::parse(&ard(&Card {
        c2: hex::decode("010800001100").unwrap(),
        ..Card::default()
    }))
    .unwrap();
    assert!(data.decryption_key_present() && !data.has_cv25519_decryption_key());
}

#[test]
fn an_answer_without_the_outer_6e_tag_is_read_as_its_content() {
    // opcard (Nitrokey 3) answers GET DATA 6E with the content only, from the AID (4F) on.
    let bytes = ard(&Card::default());
    let (tlv, rest) = crate::openpgp::tlv::read_one(&bytes).unwrap();
    assert!(rest.is_empty());
    let bare = ApplicationRelatedData::parse(tlv.value).unwrap();
    assert_eq!(bare, ApplicationRelatedData::parse(&bytes).unwrap());
}

#[test]
fn discretionary_objects_directly_in_6e_are_read_too() {
    let data = ApplicationRelatedData::parse(&ard(&Card {
        in_73: false,
        manufacturer: [0x00, 0x0F],
        version: [2, 1],
        ..Card::default()
    }))
    .unwrap();
    assert_eq!(data.aid.manufacturer_name(), Some("Nitrokey"));
    assert!(data.has_cv25519_decryption_key());
    // a version 2 card's C0 has no special-DO size
    assert_eq!(data.extended_capabilities.max_special_do_len, None);
    assert_eq!(data.private_use_capacity(), None);
}

#[test]
fn every_truncation_of_the_answer_is_a_typed_error() {
    let bytes = ard(&Card::default());
    for len in 0..bytes.len() {
        assert!(
            ApplicationRelatedData::parse(&bytes[..len]).is_err(),
            "{len}"
        );
    }
}

#[test]
fn malformed_answers_name_their_fault() {
    let good = ard(&Card::default());
    let mut trailing = good.clone();
    trailing.push(0x90);
    assert_eq!(
        ApplicationRelatedData::parse(&trailing).unwrap_err(),
        OpenPgpParseError::TrailingBytes {
            what: "GET DATA 6E",
            trailing: 1
        }
    );
    let mut wrong_tag = good.clone();
    wrong_tag[0] = 0x65;
    assert!(matches!(
        ApplicationRelatedData::parse(&wrong_tag).unwrap_err(),
        OpenPgpParseError::UnexpectedTag {
            expected: 0x6E,
            got: 0x65,
            ..
        }
    ));
    assert!(matches!(
        ApplicationRelatedData::parse(&good[..good.len() - 1]).unwrap_err(),
        OpenPgpParseError::Tlv {
            problem: TlvError::TruncatedValue { tag: 0x6E, .. },
            ..
        }
    ));
    // the AID of another application
    let mut not_pgp = good.clone();
    let at = good
        .windows(6)
        .position(|w| w == OPENPGP_AID_PREFIX)
        .unwrap();
    not_pgp[at + 5] = 0x02;
    assert!(matches!(
        ApplicationRelatedData::parse(&not_pgp).unwrap_err(),
        OpenPgpParseError::NotOpenPgpAid(_)
    ));
    // a missing mandatory object: rename C5 to C9
    let mut no_c5 = good.clone();
    let at = good.windows(2).position(|w| w == [0xC5, 0x50]).unwrap();
    no_c5[at] = 0xC9;
    assert_eq!(
        ApplicationRelatedData::parse(&no_c5).unwrap_err(),
        OpenPgpParseError::Missing {
            tag: 0xC5,
            name: "fingerprints"
        }
    );
    assert!(matches!(
        PwStatus::parse(&[1, 0x7F, 0x7F, 0x7F, 3, 0]).unwrap_err(),
        OpenPgpParseError::Length { got: 6, .. }
    ));
    assert!(matches!(
        parse_fingerprints(&[0; 50]).unwrap_err(),
        OpenPgpParseError::Length { got: 50, .. }
    ));
    assert!(matches!(
        parse_generation_times(&[0; 10]).unwrap_err(),
        OpenPgpParseError::Length { got: 10, .. }
    ));
    assert!(matches!(
        parse_key_information(&[0x02]).unwrap_err(),
        OpenPgpParseError::Length { got: 1, .. }
    ));
    assert!(!OpenPgpParseError::NotOpenPgpAid("D2".into())
        .to_string()
        .is_empty());
}

#[test]
fn algorithm_attributes_recognise_cv25519_only() {
    let cv = |s: &str| AlgorithmAttributes::parse(&hex::decode(s).unwrap());
    assert_eq!(
        cv("122B060104019755010501"),
        AlgorithmAttributes::Cv25519Ecdh
    );
    assert_eq!(
        cv("122B060104019755010501FF"),
        AlgorithmAttributes::Cv25519Ecdh
    );
    assert_eq!(
        cv("162B060104019755010501"),
        AlgorithmAttributes::Cv25519Ecdh
    );
    for (other, id) in [
        ("122A8648CE3D030107", Some(0x12)),   // ECDH P-256
        ("162B06010401DA470F01", Some(0x16)), // Ed25519
        ("122B0601040197550105", Some(0x12)), // the OID cut short
        ("122B060104019755010501FFFF", Some(0x12)),
        ("010800001100", Some(0x01)),
        ("", None),
    ] {
        assert!(
            matches!(cv(other), AlgorithmAttributes::Other { algorithm_id, .. } if algorithm_id == id),
            "{other}"
        );
    }
}

fn key_answer(point: &[u8]) -> Vec<u8> {
    let mut inner = Vec::new();
    w(&mut inner, 0x86, point);
    let mut out = Vec::new();
    w(&mut out, 0x7F49, &inner);
    out
}

#[test]
fn the_generated_public_key_is_read_in_both_encodings() {
    let public = PublicKey::from(&StaticSecret::from([7u8; 32]));
    let answer = key_answer(public.as_bytes());
    assert_eq!(&answer[..5], &[0x7F, 0x49, 0x22, 0x86, 0x20]);
    assert_eq!(
        parse_public_key(&answer).unwrap().to_x25519(),
        public.to_bytes()
    );
    let mut prefixed = vec![0x40];
    prefixed.extend_from_slice(public.as_bytes());
    assert_eq!(
        parse_public_key(&key_answer(&prefixed))
            .unwrap()
            .to_x25519(),
        public.to_bytes()
    );
    assert!(matches!(
        parse_public_key(&key_answer(&public.as_bytes()[..31])).unwrap_err(),
        OpenPgpParseError::Length { got: 31, .. }
    ));
    let mut wrong_prefix = prefixed.clone();
    wrong_prefix[0] = 0x04;
    assert!(matches!(
        parse_public_key(&key_answer(&wrong_prefix)).unwrap_err(),
        OpenPgpParseError::Length { got: 33, .. }
    ));
    assert!(matches!(
        parse_public_key(&key_answer(&[0; 32])).unwrap_err(),
        OpenPgpParseError::Point {
            problem: PointError::LowOrder,
            ..
        }
    ));
    assert!(matches!(
        parse_public_key(&hex::decode("7F4900").unwrap()).unwrap_err(),
        OpenPgpParseError::Missing { tag: 0x86, .. }
    ));
    assert!(matches!(
        parse_public_key(&hex::decode("86020000").unwrap()).unwrap_err(),
        OpenPgpParseError::UnexpectedTag {
            expected: 0x7F49,
            got: 0x86,
            ..
        }
    ));
}

#[test]
fn the_decipher_answer_is_32_bytes() {
    assert_eq!(*parse_decipher_answer(&[5; 32]).unwrap(), [5; 32]);
    let mut prefixed = vec![0x40];
    prefixed.extend_from_slice(&[5; 32]);
    assert_eq!(*parse_decipher_answer(&prefixed).unwrap(), [5; 32]);
    for bad in [&[][..], &[5; 31][..], &[5; 33][..], &[5; 64][..]] {
        assert!(matches!(
            parse_decipher_answer(bad).unwrap_err(),
            OpenPgpParseError::Length {
                name: "DECIPHER answer",
                ..
            }
        ));
    }
}

#[test]
fn kdf_and_pw_status_answers_are_read() {
    let kdf = |s: &str| KdfSetting::parse(&hex::decode(s).unwrap());
    assert_eq!(kdf("810100").unwrap(), KdfSetting::None);
    assert_eq!(kdf("").unwrap(), KdfSetting::None);
    assert_eq!(kdf("F903810100").unwrap(), KdfSetting::None);
    assert_eq!(kdf("810103820108").unwrap(), KdfSetting::Active(3));
    assert!(matches!(
        kdf("81020300").unwrap_err(),
        OpenPgpParseError::Length { .. }
    ));
    assert!(matches!(
        kdf("8105").unwrap_err(),
        OpenPgpParseError::Tlv { .. }
    ));
    let status = PwStatus::parse(&hex::decode("007F7F7F000003").unwrap()).unwrap();
    assert_eq!(
        (
            status.pw1_tries_left,
            status.rc_tries_left,
            status.pw3_tries_left
        ),
        (0, 0, 3)
    );
    assert!(!status.pw1_valid_for_several_signatures);
    // bit 8 of a length byte is the PIN format, not length
    assert_eq!(
        PwStatus::parse(&[0, 0xA0, 0x20, 0xA0, 3, 3, 3])
            .unwrap()
            .pw1_max_len,
        0x20
    );
}

prop_compose! {
    fn arb_card()(
        minor in 0u8..10, manufacturer: [u8; 2], serial: [u8; 4],
        cv in any::<bool>(), tries: [u8; 3], dec_fp: [u8; 20], dec_time: u32,
        key_info in proptest::option::of(0u8..4), in_73 in any::<bool>(),
    ) -> Card {
        Card {
            version: [3, minor],
            manufacturer,
            serial,
            c2: if cv { CV25519_ECDH_ATTRIBUTES.to_vec() } else { hex::decode("122A8648CE3D030107").unwrap() },
            tries, dec_fp, dec_time, key_info, in_73,
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    /// Any bytes: every parser answers, none panics.
    #[test]
    fn parsers_never_panic(data in proptest::collection::vec(any::<u8>(), 0..400)) {
        let _ = ApplicationRelatedData::parse(&data);
        let _ = PwStatus::parse(&data);
        let _ = KdfSetting::parse(&data);
        let _ = parse_public_key(&data);
        let _ = parse_decipher_answer(&data);
        let _ = Aid::parse(&data);
        let _ = AlgorithmAttributes::parse(&data);
    }

    /// Every well-formed answer is read back as built.
    #[test]
    fn well_formed_answers_read_back(card in arb_card()) {
        let data = ApplicationRelatedData::parse(&ard(&card)).unwrap();
        prop_assert_eq!(data.aid.manufacturer, u16::from_be_bytes(card.manufacturer));
        prop_assert_eq!(data.aid.serial, u32::from_be_bytes(card.serial));
        prop_assert_eq!(
            [data.pw_status.pw1_tries_left, data.pw_status.rc_tries_left, data.pw_status.pw3_tries_left],
            card.tries
        );
        let fp = (card.dec_fp != [0; 20]).then_some(Fingerprint(card.dec_fp));
        prop_assert_eq!(data.fingerprints.decryption, fp);
        prop_assert_eq!(data.generation_times.decryption, (card.dec_time != 0).then_some(card.dec_time));
        let present = match card.key_info {
            Some(status) => status != 0,
            None => fp.is_some(),
        };
        prop_assert_eq!(data.decryption_key_present(), present);
        prop_assert_eq!(data.has_cv25519_decryption_key(), present && card.c2 == CV25519_ECDH_ATTRIBUTES);
    }

    /// A damaged answer is read or refused with a typed error; never a panic, and never a
    /// non-OpenPGP AID accepted.
    #[test]
    fn damaged_answers_are_read_or_refused(card in arb_card(), m in any_mutation()) {
        let bytes = m.apply(&ard(&card));
        match ApplicationRelatedData::parse(&bytes) {
            Ok(_) => prop_assert!(bytes.windows(6).any(|w| w == OPENPGP_AID_PREFIX)),
            Err(e) => prop_assert!(!e.to_string().is_empty()),
        }
        let mut k = [0x55u8; 32];
        k[..20].copy_from_slice(&card.dec_fp);
        let key = key_answer(PublicKey::from(&StaticSecret::from(k)).as_bytes());
        let damaged = m.apply(&key);
        if let Ok(parsed) = parse_public_key(&damaged) {
            // whatever was accepted is a valid subgroup point
            prop_assert!(crate::crypto::SubgroupPoint::from_u(&parsed.to_x25519()).is_ok());
        }
    }
}
