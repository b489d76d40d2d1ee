//! Against a real SoftHSM2 token: one process-wide fixture makes a temporary token
//! directory with its own `softhsm2.conf`, sets `SOFTHSM2_CONF` before the module is first
//! loaded, and initialises one token per test (login state is per token and process, so
//! tests that share a token would see each other's login).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use cryptoki::object::{Attribute, AttributeType};

use crate::export::{FAIL_AFTER_ONE_TIME_OBJECTS, LAST_KWP_PLAINTEXT_LEN};
use crate::import::{FAIL_AFTER_UNWRAP_KEY, ONE_TIME_LABEL};
use crate::keys::{aes_zero_block, p256_key_id, rsa_key_id};
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
    "rsa",
    "rsa-refused",
    "export-ec",
    "export-rsa",
    "export-refused",
    "export-failure",
    "login",
    "locked",
    "generate",
    "seal",
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
    assert_eq!(
        exported.path,
        ExportPath::RsaOaep {
            oaep: exported.oaep
        }
    );
    // The host's check value of what came out is the one the token computed at generation.
    assert_eq!(exported.check, kcv(&exported.secret));
    assert_eq!(exported.check, generated.check);
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

/// A fresh RSA-2048 key on the host, as PKCS#8 DER (wiped when dropped), and its public key.
fn rsa_pkcs8() -> (rsa::pkcs8::SecretDocument, rsa::PublicKey) {
    use rsa::pkcs8::EncodePrivateKey;
    let key = rsa::PrivateKey::new(&mut getrandom::SysRng, 2048).unwrap();
    (key.to_pkcs8_der().unwrap(), key.to_public_key())
}

fn class_of(token: &Token, h: cryptoki::object::ObjectHandle) -> cryptoki::object::ObjectClass {
    match token
        .session
        .get_attributes(h, &[AttributeType::Class])
        .unwrap()[..]
    {
        [Attribute::Class(c)] => c,
        ref other => panic!("{other:?}"),
    }
}

#[test]
fn an_rsa_key_imports_and_signs_in_the_token() {
    let mut t = open("rsa");
    let (der, public) = rsa_pkcs8();
    let imported = t
        .import_secret(
            der.as_bytes(),
            "rsa-signing",
            KeyType::Rsa,
            ImportOptions::default(),
        )
        .unwrap();
    eprintln!("RSA import: {} {}", imported.path, imported.check);
    eprintln!(
        "CKM_SHA256_RSA_PKCS listed: {}",
        t.lists(cryptoki::mechanism::MechanismType::SHA256_RSA_PKCS)
    );
    assert_ne!(imported.path, ImportPath::Plaintext);
    assert_eq!(
        imported.check,
        CheckValue::RsaSignature(rsa_key_id(&public))
    );
    assert_eq!(
        check_value_of(der.as_bytes(), KeyType::Rsa).unwrap(),
        imported.check
    );
    assert_locked_in(&t, &imported);
    let h = imported.handle.0;
    assert_eq!(class_of(&t, h), cryptoki::object::ObjectClass::PRIVATE_KEY);
    assert_eq!(t.key_type(h).unwrap(), Some(cryptoki::object::KeyType::RSA));
    assert_eq!(
        t.bool_attribute(h, AttributeType::Sign).unwrap(),
        Some(true)
    );
    let decrypt = t
        .session
        .get_attributes(h, &[AttributeType::Decrypt])
        .unwrap();
    assert!(
        matches!(decrypt[..], [Attribute::Decrypt(true)]),
        "{decrypt:?}"
    );

    // Trailing zero bytes (an AES-KWP export's padding) are cut by the DER length.
    let mut padded = der.as_bytes().to_vec();
    padded.extend_from_slice(&[0; 7]);
    let again = t
        .import_secret(&padded, "rsa-2", KeyType::Rsa, ImportOptions::default())
        .unwrap();
    assert_eq!(again.check, imported.check);

    // A key that may not sign is imported with that usage and cannot be proven by a signature.
    let options = ImportOptions {
        rsa_usage: RsaUsage {
            sign: false,
            decrypt: true,
        },
        ..ImportOptions::default()
    };
    let decrypt_only = t
        .import_secret(der.as_bytes(), "rsa-decrypt", KeyType::Rsa, options)
        .unwrap();
    assert_eq!(decrypt_only.check, CheckValue::NotComputed);
    assert_eq!(
        t.bool_attribute(decrypt_only.handle.0, AttributeType::Sign)
            .unwrap(),
        Some(false)
    );
    assert_eq!(one_time_objects(&t), 0);

    // quorum does not generate an RSA key in the token.
    let err = t.generate_secret("gen", KeyType::Rsa, 256).unwrap_err();
    assert!(matches!(err, HsmError::NotForKeyType { .. }), "{err}");
    assert!(t.objects_labelled("gen").unwrap().is_empty());
}

#[test]
fn a_secret_that_is_not_an_rsa_pkcs8_key_is_refused_before_the_token() {
    let mut t = open("rsa-refused");
    let (p256, _) = p256_pkcs8();
    let (der, _) = rsa_pkcs8();
    let mut trailing = der.as_bytes().to_vec();
    trailing.push(1);
    let p384 = include_bytes!("testdata/p384.pkcs8.der");
    let cases: [(&str, &[u8]); 5] = [
        ("a P-256 key", p256.as_bytes()),
        ("a P-384 key", p384),
        ("garbage", &random(300)),
        ("a truncated key", &der.as_bytes()[..200]),
        ("non-zero bytes after the key", &trailing),
    ];
    for (what, secret) in cases {
        let allowed = ImportOptions {
            allow_plaintext_import: true,
            ..ImportOptions::default()
        };
        let err = t
            .import_secret(secret, "k", KeyType::Rsa, allowed)
            .unwrap_err();
        eprintln!("{what}: {err}");
        match &err {
            HsmError::SecretNotKeyType {
                key_type: KeyType::Rsa,
                reason,
            } => assert!(!reason.is_empty()),
            other => panic!("{what}: {other}"),
        }
        assert!(matches!(
            check_value_of(secret, KeyType::Rsa),
            Err(HsmError::SecretNotKeyType { .. })
        ));
    }
    let err = t
        .import_secret(p256.as_bytes(), "k", KeyType::Rsa, ImportOptions::default())
        .unwrap_err();
    assert!(err.to_string().contains("not rsaEncryption"), "{err}");
    let all = t.session.find_objects(&[]).unwrap();
    assert!(all.is_empty(), "{} objects were created", all.len());
}

/// A P-256 private key created in the token from its value, extractable, so an export can be
/// compared with the original.
fn create_extractable_p256(t: &Token, label: &str) -> p256::SecretKey {
    use p256::elliptic_curve::Generate;
    let key = p256::SecretKey::try_generate_from_rng(&mut getrandom::SysRng).unwrap();
    t.session
        .create_object(&[
            Attribute::Class(cryptoki::object::ObjectClass::PRIVATE_KEY),
            Attribute::KeyType(cryptoki::object::KeyType::EC),
            Attribute::EcParams(vec![
                0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07,
            ]),
            Attribute::Value(key.to_bytes().to_vec()),
            Attribute::Token(true),
            Attribute::Private(true),
            Attribute::Sensitive(true),
            Attribute::Extractable(true),
            Attribute::Sign(true),
            Attribute::Label(label.as_bytes().to_vec()),
        ])
        .unwrap();
    key
}

#[test]
fn an_extractable_p256_key_exports_equal_and_imports_back() {
    let mut t = open("export-ec");
    let original = create_extractable_p256(&t, "ec-key");
    let exported = t.export_secret("ec-key").unwrap();
    eprintln!(
        "P-256 export: {} {}; RFC 5649 gave {} bytes for a {}-byte DER",
        exported.path,
        exported.check,
        LAST_KWP_PLAINTEXT_LEN.with(|l| l.get()),
        exported.secret.len()
    );
    assert_eq!(exported.key_type, KeyType::EcP256);
    assert!(
        matches!(exported.path, ExportPath::RsaOaepThenKwp { .. }),
        "{}",
        exported.path
    );
    assert_eq!(exported.oaep, exported.path.oaep());
    let back = {
        use p256::pkcs8::DecodePrivateKey;
        p256::SecretKey::from_pkcs8_der(&exported.secret).unwrap()
    };
    assert_eq!(back.to_bytes(), original.to_bytes());
    assert_eq!(
        exported.check,
        CheckValue::EcdsaP256(p256_key_id(&original.public_key()))
    );
    assert_eq!(one_time_objects(&t), 0, "a one-time object is left");

    let imported = t
        .import_secret(
            &exported.secret,
            "ec-copy",
            KeyType::EcP256,
            ImportOptions::default(),
        )
        .unwrap();
    assert_eq!(imported.check, exported.check);
    assert_locked_in(&t, &imported);
}

#[test]
fn an_extractable_rsa_key_exports_equal_and_imports_back() {
    use cryptoki::mechanism::Mechanism;
    let mut t = open("export-rsa");
    // Generated in the token, its public key labelled alike, as HSM tools usually do.
    let label = b"rsa-key".to_vec();
    let (public, _private) = t
        .session
        .generate_key_pair(
            &Mechanism::RsaPkcsKeyPairGen,
            &[
                Attribute::Token(true),
                Attribute::Label(label.clone()),
                Attribute::ModulusBits(2048u64.into()),
                Attribute::PublicExponent(vec![1, 0, 1]),
                Attribute::Verify(true),
            ],
            &[
                Attribute::Token(true),
                Attribute::Private(true),
                Attribute::Label(label),
                Attribute::Sensitive(true),
                Attribute::Extractable(true),
                Attribute::Sign(true),
                Attribute::Decrypt(true),
            ],
        )
        .unwrap();
    let modulus = match t
        .session
        .get_attributes(public, &[AttributeType::Modulus])
        .unwrap()
        .pop()
    {
        Some(Attribute::Modulus(n)) => n,
        other => panic!("{other:?}"),
    };
    let exported = t.export_secret("rsa-key").unwrap();
    eprintln!(
        "RSA export: {} {}; RFC 5649 gave {} bytes for a {}-byte DER",
        exported.path,
        exported.check,
        LAST_KWP_PLAINTEXT_LEN.with(|l| l.get()),
        exported.secret.len()
    );
    assert_eq!(exported.key_type, KeyType::Rsa);
    assert!(matches!(exported.path, ExportPath::RsaOaepThenKwp { .. }));
    let key = {
        use rsa::pkcs8::DecodePrivateKey;
        use rsa::traits::PublicKeyParts;
        let key = rsa::PrivateKey::from_pkcs8_der(&exported.secret).unwrap();
        assert_eq!(key.n().to_be_bytes_trimmed_vartime()[..], modulus[..]);
        key
    };
    let named = {
        use sha2::Digest;
        let h = sha2::Sha256::digest(&modulus);
        [h[0], h[1], h[2]]
    };
    assert_eq!(exported.check, CheckValue::RsaSignature(named));
    assert_eq!(
        exported.check,
        CheckValue::RsaSignature(rsa_key_id(key.as_public_key()))
    );
    assert_eq!(one_time_objects(&t), 0, "a one-time object is left");

    let imported = t
        .import_secret(
            &exported.secret,
            "rsa-copy",
            KeyType::Rsa,
            ImportOptions::default(),
        )
        .unwrap();
    assert_eq!(imported.check, exported.check);
    assert_locked_in(&t, &imported);
}

#[test]
fn private_key_exports_that_cannot_be_done_are_refused() {
    let mut t = open("export-refused");
    // A key quorum imported is never extractable.
    let (der, _) = p256_pkcs8();
    t.import_secret(
        der.as_bytes(),
        "locked-ec",
        KeyType::EcP256,
        ImportOptions::default(),
    )
    .unwrap();
    let err = t.export_secret("locked-ec").unwrap_err();
    assert!(matches!(err, HsmError::NotExtractable { .. }), "{err}");
    let (der, _) = rsa_pkcs8();
    t.import_secret(
        der.as_bytes(),
        "locked-rsa",
        KeyType::Rsa,
        ImportOptions::default(),
    )
    .unwrap();
    let err = t.export_secret("locked-rsa").unwrap_err();
    assert!(matches!(err, HsmError::NotExtractable { .. }), "{err}");

    // A label held by a secret key and a private key names neither.
    t.generate_secret("both", KeyType::Aes, 32).unwrap();
    create_extractable_p256(&t, "both");
    let err = t.export_secret("both").unwrap_err();
    assert!(
        matches!(err, HsmError::AmbiguousKey { count: 2, .. }),
        "{err}"
    );
    // Two private keys alike.
    create_extractable_p256(&t, "twice");
    create_extractable_p256(&t, "twice");
    let err = t.export_secret("twice").unwrap_err();
    assert!(
        matches!(err, HsmError::AmbiguousKey { count: 2, .. }),
        "{err}"
    );

    // A public key alone is not a key quorum can back up.
    t.session
        .create_object(&[
            Attribute::Class(cryptoki::object::ObjectClass::PUBLIC_KEY),
            Attribute::KeyType(cryptoki::object::KeyType::EC),
            Attribute::EcParams(vec![
                0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07,
            ]),
            Attribute::EcPoint({
                use p256::elliptic_curve::sec1::ToSec1Point;
                let (_, public) = p256_pkcs8();
                let point = public.to_sec1_point(false).as_bytes().to_vec();
                let mut der = vec![0x04, point.len() as u8];
                der.extend(point);
                der
            }),
            Attribute::Token(true),
            Attribute::Label(b"public-only".to_vec()),
        ])
        .unwrap();
    let err = t.export_secret("public-only").unwrap_err();
    assert!(matches!(err, HsmError::KeyNotFound { .. }), "{err}");

    // An EC key on another curve (P-384) is named, not exported.
    t.session
        .create_object(&[
            Attribute::Class(cryptoki::object::ObjectClass::PRIVATE_KEY),
            Attribute::KeyType(cryptoki::object::KeyType::EC),
            Attribute::EcParams(vec![0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22]),
            Attribute::Value({
                let mut v = random(48);
                v[0] &= 0x7f;
                v
            }),
            Attribute::Token(true),
            Attribute::Private(true),
            Attribute::Sensitive(true),
            Attribute::Extractable(true),
            Attribute::Label(b"p384".to_vec()),
        ])
        .unwrap();
    let err = t.export_secret("p384").unwrap_err();
    eprintln!("P-384: {err}");
    assert!(matches!(err, HsmError::UnsupportedKey { .. }), "{err}");
    assert_eq!(one_time_objects(&t), 0, "a one-time object is left");
}

#[test]
fn the_export_one_time_objects_are_gone_after_a_failure_and_a_success() {
    let mut t = open("export-failure");
    create_extractable_p256(&t, "ec");
    t.generate_secret("aes", KeyType::Aes, 32).unwrap();
    for label in ["ec", "aes"] {
        FAIL_AFTER_ONE_TIME_OBJECTS.with(|f| f.set(true));
        let err = t.export_secret(label).unwrap_err();
        FAIL_AFTER_ONE_TIME_OBJECTS.with(|f| f.set(false));
        assert!(matches!(err, HsmError::Binding { .. }), "{label}: {err}");
        assert_eq!(
            one_time_objects(&t),
            0,
            "{label}: a one-time object is left"
        );
        t.export_secret(label).unwrap();
        assert_eq!(
            one_time_objects(&t),
            0,
            "{label}: a one-time object is left"
        );
    }
}

#[test]
fn a_token_is_located_before_login_and_has_no_protected_path_in_softhsm() {
    fixture();
    let located = Token::locate(Path::new(MODULE), "login").unwrap();
    assert_eq!(located.label(), "login");
    assert!(!located.protected_authentication_path());
    assert!(!located.user_pin_locked());
    assert_eq!(located.user_pin_tries(), PinTries::NotReported);
    assert_eq!(format!("{:?}", Login::Pin(PIN)), "Pin(<redacted>)");

    // quorum refuses a PIN-pad login on a token without one, before C_Login.
    let err = located.login(Login::ProtectedPath).unwrap_err();
    eprintln!("protected path on SoftHSM: {err}");
    assert!(
        matches!(&err, HsmError::NoProtectedPath { token } if token == "login"),
        "{err}"
    );
    // What SoftHSM itself answers to C_Login with a NULL PIN (measured for the notes).
    {
        let ctx = crate::token::load(Path::new(MODULE)).unwrap();
        let slot = crate::token::find_token(&ctx, "login").unwrap();
        let session = ctx.open_rw_session(slot).unwrap();
        let answer = session.login(cryptoki::session::UserType::User, None);
        eprintln!("SoftHSM C_Login(NULL PIN): {answer:?}");
        assert!(answer.is_err());
    }

    let mut token = Token::locate(Path::new(MODULE), "login")
        .unwrap()
        .login(Login::Pin(PIN))
        .unwrap();
    token.generate_secret("k", KeyType::Aes, 16).unwrap();
}

#[test]
fn softhsm_counts_wrong_pins_but_never_locks_and_a_locked_pin_is_refused_before_login() {
    fixture();
    for _ in 0..12 {
        let err = Token::open(Path::new(MODULE), "locked", b"000000").unwrap_err();
        assert!(
            matches!(
                err,
                HsmError::WrongPin {
                    tries: PinTries::Low
                }
            ),
            "{err}"
        );
    }
    let located = Token::locate(Path::new(MODULE), "locked").unwrap();
    assert!(!located.user_pin_locked(), "SoftHSM 2.6.1 does not lock");
    assert_eq!(located.user_pin_tries(), PinTries::Low);
    // A token that reports its PIN locked is refused before C_Login (SoftHSM cannot show
    // it, so the flag is set here): the right PIN would otherwise log in.
    let mut locked = Token::locate(Path::new(MODULE), "locked").unwrap();
    locked.pin_locked = true;
    let err = locked.login(Login::Pin(PIN)).unwrap_err();
    assert!(matches!(err, HsmError::PinLocked), "{err}");
    Token::open(Path::new(MODULE), "locked", PIN).unwrap();
    let after = Token::locate(Path::new(MODULE), "locked").unwrap();
    // A right PIN clears CKF_USER_PIN_COUNT_LOW.
    assert_eq!(after.user_pin_tries(), PinTries::NotReported);
}

#[test]
fn a_generated_key_has_an_id_and_a_check_and_can_be_destroyed() {
    let mut t = open("generate");
    let aes = t.generate_secret("gen-aes", KeyType::Aes, 32).unwrap();
    assert_eq!(aes.label, "gen-aes");
    assert_eq!(aes.id.len(), 32);
    assert!(aes.id.chars().all(|c| c.is_ascii_hexdigit()));
    let out = t.export_secret("gen-aes").unwrap();
    assert_eq!(
        aes.check,
        check_value_of(&out.secret, KeyType::Aes).unwrap()
    );
    assert_eq!(out.check, aes.check);

    let generic = t
        .generate_secret("gen-hmac", KeyType::GenericSecret, 32)
        .unwrap();
    assert!(matches!(generic.check, CheckValue::HmacSha256(_)));
    let out = t.export_secret("gen-hmac").unwrap();
    assert_eq!(
        generic.check,
        check_value_of(&out.secret, KeyType::GenericSecret).unwrap()
    );
    assert_ne!(aes.id, generic.id);

    t.destroy_key(aes.handle).unwrap();
    assert!(t.objects_labelled("gen-aes").unwrap().is_empty());
    let err = t.export_secret("gen-aes").unwrap_err();
    assert!(matches!(err, HsmError::KeyNotFound { .. }), "{err}");
    assert_eq!(
        t.objects_labelled("gen-hmac").unwrap(),
        vec![generic.handle.0]
    );
}

#[test]
fn check_values_on_the_host() {
    let (der, public) = rsa_pkcs8();
    let check = check_value_of(der.as_bytes(), KeyType::Rsa).unwrap();
    assert_eq!(check, CheckValue::RsaSignature(rsa_key_id(&public)));
    assert!(check.to_string().starts_with("RSA key "), "{check}");
    let err = check_value_of(&random(20), KeyType::Rsa).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("the secret is not an RSA key: "),
        "{err}"
    );
    let err = check_value_of(&random(20), KeyType::Aes).unwrap_err();
    assert_eq!(err.to_string(), "a 20-byte secret is not an AES key");
    assert_eq!(check.bytes(), Some(rsa_key_id(&public)));
    let (ec, ec_public) = p256_pkcs8();
    assert_eq!(
        check_value_of(ec.as_bytes(), KeyType::EcP256).unwrap(),
        CheckValue::EcdsaP256(p256_key_id(&ec_public))
    );
    assert!(matches!(
        check_value_of(&random(20), KeyType::Aes),
        Err(HsmError::SecretLength { .. })
    ));
    assert!(matches!(
        check_value_of(der.as_bytes(), KeyType::EcP256),
        Err(HsmError::SecretNotKeyType { .. })
    ));
    assert_eq!(CheckValue::NotComputed.bytes(), None);
    assert_eq!(KeyType::Rsa.to_string(), "RSA");
    assert!(KeyType::Rsa.is_private_key() && !KeyType::Aes.is_private_key());
    assert!(KeyType::Rsa.fits(1) && !KeyType::Rsa.fits(0));
}

#[test]
fn a_backed_up_key_is_marked_non_extractable_and_labels_are_counted() {
    let mut token = open("seal");
    assert_eq!(token.objects_with_label("sealed").unwrap(), 0);
    token
        .wrapped_import_offered()
        .expect("SoftHSM offers RSA-OAEP and CKM_AES_KEY_WRAP_PAD");
    let made = token
        .generate_secret("sealed", KeyType::Aes, 32)
        .expect("generated");
    assert_eq!(token.objects_with_label("sealed").unwrap(), 1);
    let backed_up = token.export_secret("sealed").expect("extractable at first");
    assert_eq!(backed_up.check, made.check);
    token.forbid_export(made.handle).expect("marked");
    assert_eq!(
        token
            .bool_attribute(made.handle.0, AttributeType::Extractable)
            .unwrap(),
        Some(false)
    );
    assert!(matches!(
        token.export_secret("sealed"),
        Err(HsmError::NotExtractable { .. })
    ));
}
