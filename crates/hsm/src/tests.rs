//! Against a real SoftHSM2 token: one process-wide fixture makes a temporary token
//! directory with its own `softhsm2.conf`, sets `SOFTHSM2_CONF` before the module is first
//! loaded, and initialises one token per test (login state is per token and process, so
//! tests that share a token would see each other's login).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use cryptoki::object::{Attribute, AttributeType};

use crate::import::{FAIL_AFTER_UNWRAP_KEY, ONE_TIME_LABEL};
use crate::keys::{aes_zero_block, p256_key_id};
use crate::*;

const MODULE: &str = "/usr/lib/softhsm/libsofthsm2.so";
const PIN: &[u8] = b"123456";
const SO_PIN: &str = "87654321";
const TOKENS: &[&str] = &[
    "rt-a",
    "rt-b",
    "sizes",
    "generic",
    "labels",
    "unextract",
    "pin",
    "mismatch",
    "failure",
    "ec",
    "ec-refused",
];

struct Fixture {
    _dir: tempfile::TempDir,
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let util = Command::new("softhsm2-util").arg("--version").output();
        assert!(
            Path::new(MODULE).exists() && util.is_ok(),
            "SoftHSM2 is not installed ({MODULE}, softhsm2-util): run scripts/install-deps"
        );
        let dir = tempfile::tempdir().expect("a temporary directory");
        let tokens = dir.path().join("tokens");
        std::fs::create_dir(&tokens).unwrap();
        let conf = dir.path().join("softhsm2.conf");
        std::fs::write(
            &conf,
            format!(
                "directories.tokendir = {}\nobjectstore.backend = file\nlog.level = ERROR\n",
                tokens.display()
            ),
        )
        .unwrap();
        // Before any test loads the module: SoftHSM reads its configuration at C_Initialize.
        std::env::set_var("SOFTHSM2_CONF", &conf);
        for label in TOKENS {
            let out = Command::new("softhsm2-util")
                .args([
                    "--init-token",
                    "--free",
                    "--label",
                    label,
                    "--so-pin",
                    SO_PIN,
                ])
                .args(["--pin", std::str::from_utf8(PIN).unwrap()])
                .env("SOFTHSM2_CONF", &conf)
                .output()
                .expect("softhsm2-util runs");
            assert!(out.status.success(), "init-token {label}: {out:?}");
        }
        Fixture { _dir: dir }
    })
}

fn open(label: &str) -> Token {
    fixture();
    Token::open(Path::new(MODULE), label, PIN).expect("the token opens")
}

fn random(len: usize) -> Vec<u8> {
    let mut v = vec![0u8; len];
    getrandom::fill(&mut v).unwrap();
    v
}

fn kcv(key: &[u8]) -> CheckValue {
    let b = aes_zero_block(key).unwrap();
    CheckValue::AesKcv([b[0], b[1], b[2]])
}

fn one_time_objects(token: &Token) -> usize {
    token.objects_labelled(ONE_TIME_LABEL).unwrap().len()
}

fn destroy_label(token: &Token, label: &str) {
    for h in token.objects_labelled(label).unwrap() {
        token.session.destroy_object(h).unwrap();
    }
}

/// The imported key is a sensitive, non-extractable token object whose value cannot be read.
fn assert_locked_in(token: &Token, imported: &Imported) {
    let h = imported.handle.0;
    assert_eq!(
        token.bool_attribute(h, AttributeType::Extractable).unwrap(),
        Some(false)
    );
    assert_eq!(
        token.bool_attribute(h, AttributeType::Sensitive).unwrap(),
        Some(true)
    );
    assert_eq!(
        token.bool_attribute(h, AttributeType::Token).unwrap(),
        Some(true)
    );
    let value = token.session.get_attributes(h, &[AttributeType::Value]);
    match value {
        Err(_) => {}
        Ok(attrs) => assert!(
            !attrs.iter().any(|a| matches!(a, Attribute::Value(_))),
            "the token gave the key's value"
        ),
    }
    assert_eq!(one_time_objects(token), 0, "a one-time object is left");
}

#[test]
fn aes256_round_trip_through_two_tokens() {
    let mut a = open("rt-a");
    let generated = a.generate_secret("master", KeyType::Aes, 32).unwrap();
    let exported = a.export_secret("master").unwrap();
    assert_eq!(exported.secret.len(), 32);
    assert_eq!(exported.key_type, KeyType::Aes);
    eprintln!("export: CKM_RSA_PKCS_OAEP with {}", exported.oaep);
    // The token's own KCV of the generated key equals the host's of what came out.
    let in_token = a
        .session
        .encrypt(
            &cryptoki::mechanism::Mechanism::AesEcb,
            generated.handle.0,
            &[0u8; 16],
        )
        .unwrap();
    assert_eq!(in_token[..], aes_zero_block(&exported.secret).unwrap()[..]);
    assert_eq!(one_time_objects(&a), 0);
    destroy_label(&a, "master");

    let back = a
        .import_secret(
            &exported.secret,
            "master",
            KeyType::Aes,
            ImportOptions::default(),
        )
        .unwrap();
    eprintln!("import: {} {}", back.path, back.check);
    assert_ne!(back.path, ImportPath::Plaintext);
    assert_eq!(back.check, kcv(&exported.secret));
    assert_eq!(back.id.len(), 32);
    assert_locked_in(&a, &back);

    let mut b = open("rt-b");
    let copy = b
        .import_secret(
            &exported.secret,
            "master",
            KeyType::Aes,
            ImportOptions::default(),
        )
        .unwrap();
    assert_eq!(copy.check, back.check);
    assert_ne!(copy.id, back.id);
    assert_locked_in(&b, &copy);
}

#[test]
fn aes128_and_aes192() {
    let mut t = open("sizes");
    for len in [16, 24] {
        let secret = random(len);
        let label = format!("aes-{}", len * 8);
        let imported = t
            .import_secret(&secret, &label, KeyType::Aes, ImportOptions::default())
            .unwrap();
        assert_eq!(imported.check, kcv(&secret));
        assert_locked_in(&t, &imported);
    }
}

#[test]
fn generic_secret_is_proven_by_an_hmac_in_the_token() {
    let mut t = open("generic");
    let secret = random(48);
    let imported = t
        .import_secret(
            &secret,
            "seal",
            KeyType::GenericSecret,
            ImportOptions::default(),
        )
        .unwrap();
    assert!(
        matches!(imported.check, CheckValue::HmacSha256(_)),
        "{:?}",
        imported.check
    );
    assert_locked_in(&t, &imported);

    t.generate_secret("generated", KeyType::GenericSecret, 32)
        .unwrap();
    let out = t.export_secret("generated").unwrap();
    assert_eq!(
        (out.secret.len(), out.key_type),
        (32, KeyType::GenericSecret)
    );
}

#[test]
fn an_existing_label_is_refused_unless_replaced() {
    let mut t = open("labels");
    let first = random(32);
    t.import_secret(&first, "k", KeyType::Aes, ImportOptions::default())
        .unwrap();
    let second = random(32);
    let err = t
        .import_secret(&second, "k", KeyType::Aes, ImportOptions::default())
        .unwrap_err();
    assert!(
        matches!(err, HsmError::LabelExists { count: 1, .. }),
        "{err}"
    );
    assert_eq!(one_time_objects(&t), 0);
    let err = t.generate_secret("k", KeyType::Aes, 32).unwrap_err();
    assert!(matches!(err, HsmError::LabelExists { .. }), "{err}");

    let options = ImportOptions {
        replace: true,
        ..ImportOptions::default()
    };
    let replaced = t
        .import_secret(&second, "k", KeyType::Aes, options)
        .unwrap();
    assert_eq!(replaced.replaced, 1);
    assert_eq!(replaced.check, kcv(&second));
    assert_eq!(t.objects_labelled("k").unwrap(), vec![replaced.handle.0]);
}

#[test]
fn a_non_extractable_key_is_not_exported() {
    let mut t = open("unextract");
    t.import_secret(
        &random(32),
        "locked",
        KeyType::Aes,
        ImportOptions::default(),
    )
    .unwrap();
    let err = t.export_secret("locked").unwrap_err();
    assert!(matches!(err, HsmError::NotExtractable { .. }), "{err}");
    let err = t.export_secret("absent").unwrap_err();
    assert!(matches!(err, HsmError::KeyNotFound { .. }), "{err}");
    assert_eq!(one_time_objects(&t), 0);
}

#[test]
fn a_wrong_pin_is_refused() {
    fixture();
    let err = Token::open(Path::new(MODULE), "pin", b"000000").unwrap_err();
    eprintln!("wrong PIN: {err}");
    assert!(matches!(err, HsmError::WrongPin { .. }), "{err}");
    Token::open(Path::new(MODULE), "pin", PIN).unwrap();
}

#[test]
fn an_unknown_token_names_the_present_ones() {
    fixture();
    let err = Token::open(Path::new(MODULE), "no-such-token", PIN).unwrap_err();
    match &err {
        HsmError::UnknownToken { label, present } => {
            assert_eq!(label, "no-such-token");
            for t in TOKENS {
                assert!(
                    present.iter().any(|p| p == t),
                    "{t} missing from {present:?}"
                );
            }
        }
        other => panic!("{other}"),
    }
}

#[test]
fn a_wrong_module_path_is_named() {
    fixture();
    let err = Token::open(Path::new("/nonexistent/libpkcs11.so"), "rt-a", PIN).unwrap_err();
    assert!(matches!(err, HsmError::ModuleMissing { .. }), "{err}");
    let dir = tempfile::tempdir().unwrap();
    let text: PathBuf = dir.path().join("module.so");
    std::fs::write(&text, "not a library").unwrap();
    let err = Token::open(&text, "rt-a", PIN).unwrap_err();
    assert!(matches!(err, HsmError::NotPkcs11 { .. }), "{err}");
    let libz = Path::new("/lib/x86_64-linux-gnu/libz.so.1");
    if libz.exists() {
        let err = Token::open(libz, "rt-a", PIN).unwrap_err();
        assert!(matches!(err, HsmError::NotPkcs11 { .. }), "{err}");
    }
}

#[test]
fn a_secret_that_does_not_fit_the_key_type_is_refused_before_the_token() {
    let mut t = open("mismatch");
    for len in [0, 15, 20, 33, 64] {
        let err = t
            .import_secret(&random(len), "k", KeyType::Aes, ImportOptions::default())
            .unwrap_err();
        assert!(matches!(err, HsmError::SecretLength { .. }), "{err}");
    }
    let err = t
        .import_secret(&[], "k", KeyType::GenericSecret, ImportOptions::default())
        .unwrap_err();
    assert!(matches!(err, HsmError::SecretLength { .. }), "{err}");
    assert!(t.objects_labelled("k").unwrap().is_empty());
    assert_eq!(one_time_objects(&t), 0);
}

#[test]
fn the_unwrap_key_is_gone_after_a_failure() {
    let mut t = open("failure");
    FAIL_AFTER_UNWRAP_KEY.with(|f| f.set(true));
    let err = t
        .import_secret(&random(32), "k", KeyType::Aes, ImportOptions::default())
        .unwrap_err();
    FAIL_AFTER_UNWRAP_KEY.with(|f| f.set(false));
    assert!(matches!(err, HsmError::Binding { .. }), "{err}");
    assert_eq!(one_time_objects(&t), 0);
    assert!(t.objects_labelled("k").unwrap().is_empty());
    // And after a success.
    t.import_secret(&random(32), "k", KeyType::Aes, ImportOptions::default())
        .unwrap();
    assert_eq!(one_time_objects(&t), 0);
}

/// A fresh P-256 key on the host, as PKCS#8 DER (wiped when dropped).
fn p256_pkcs8() -> (p256::pkcs8::SecretDocument, p256::PublicKey) {
    use p256::elliptic_curve::Generate;
    use p256::pkcs8::EncodePrivateKey;
    let key = p256::SecretKey::try_generate_from_rng(&mut getrandom::SysRng).unwrap();
    (key.to_pkcs8_der().unwrap(), key.public_key())
}

#[test]
fn a_p256_key_imports_and_signs_in_the_token() {
    let mut t = open("ec");
    let (der, public) = p256_pkcs8();
    let imported = t
        .import_secret(
            der.as_bytes(),
            "signing",
            KeyType::EcP256,
            ImportOptions::default(),
        )
        .unwrap();
    eprintln!("P-256 import: {} {}", imported.path, imported.check);
    eprintln!(
        "CKM_ECDSA_SHA256 listed: {}, CKM_ECDSA listed: {}",
        t.lists(cryptoki::mechanism::MechanismType::ECDSA_SHA256),
        t.lists(cryptoki::mechanism::MechanismType::ECDSA)
    );
    assert_ne!(imported.path, ImportPath::Plaintext);
    assert_eq!(imported.check, CheckValue::EcdsaP256(p256_key_id(&public)));
    assert_locked_in(&t, &imported);
    let h = imported.handle.0;
    assert_eq!(t.key_type(h).unwrap(), Some(cryptoki::object::KeyType::EC));
    assert_eq!(
        t.bool_attribute(h, AttributeType::Sign).unwrap(),
        Some(true)
    );
    let class = t
        .session
        .get_attributes(h, &[AttributeType::Class])
        .unwrap();
    assert!(
        matches!(class[..], [Attribute::Class(c)] if c == cryptoki::object::ObjectClass::PRIVATE_KEY),
        "{class:?}"
    );
    // The trailing zero bytes a token's AES-KWP export may add are cut off by the DER length.
    let mut padded = der.as_bytes().to_vec();
    padded.extend_from_slice(&[0; 5]);
    let again = t
        .import_secret(
            &padded,
            "signing-2",
            KeyType::EcP256,
            ImportOptions::default(),
        )
        .unwrap();
    assert_eq!(again.check, imported.check);
    assert_ne!(again.id, imported.id);
    // A P-256 key is not generated in the token by quorum.
    let err = t.generate_secret("gen", KeyType::EcP256, 32).unwrap_err();
    assert!(matches!(err, HsmError::NotForKeyType { .. }), "{err}");
    assert!(t.objects_labelled("gen").unwrap().is_empty());
}

#[test]
fn a_secret_that_is_not_a_p256_pkcs8_key_is_refused_before_the_token() {
    let mut t = open("ec-refused");
    let (der, _) = p256_pkcs8();
    let mut trailing = der.as_bytes().to_vec();
    trailing.push(1);
    let rsa = include_bytes!("testdata/rsa2048.pkcs8.der");
    let p384 = include_bytes!("testdata/p384.pkcs8.der");
    let cases: [(&str, &[u8]); 6] = [
        ("garbage", &random(67)),
        ("empty", &[]),
        ("a raw P-256 scalar", &random(32)),
        ("an RSA key", rsa),
        ("a P-384 key", p384),
        ("non-zero bytes after the key", &trailing),
    ];
    for (what, secret) in cases {
        let err = t
            .import_secret(secret, "k", KeyType::EcP256, ImportOptions::default())
            .unwrap_err();
        eprintln!("{what}: {err}");
        if secret.is_empty() {
            assert!(
                matches!(err, HsmError::SecretLength { .. }),
                "{what}: {err}"
            );
        } else {
            assert!(
                matches!(err, HsmError::SecretNotKeyType { .. }),
                "{what}: {err}"
            );
        }
        // Not even with a plaintext import allowed.
        let allowed = ImportOptions {
            allow_plaintext_import: true,
            ..ImportOptions::default()
        };
        t.import_secret(secret, "k", KeyType::EcP256, allowed)
            .unwrap_err();
    }
    assert!(t.objects_labelled("k").unwrap().is_empty());
    assert_eq!(one_time_objects(&t), 0);
    let all = t.session.find_objects(&[]).unwrap();
    assert!(all.is_empty(), "{} objects were created", all.len());
}
