//! The HSM at both ends of a ceremony, through a real SoftHSM2 token and the simulated
//! cards: enroll from a token, recover into it and into a second token, a key the token
//! generates, and every refusal. What quorumctl left in a token is checked with OpenSC's
//! `pkcs11-tool`, a PKCS#11 client of its own, and with OpenSSL on the host.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::farm::{lock, Farm};
use crate::fixtures::{personalise, pins_of, present, text, Custodian};
use crate::run::{quorumctl, scratch, show};

const MODULE: &str = "/usr/lib/softhsm/libsofthsm2.so";
const USER_PIN: &str = "123456";
const SO_PIN: &str = "87654321";

/// A SoftHSM2 installation of one test: its own configuration and token directory.
struct SoftHsm {
    dir: PathBuf,
    conf: PathBuf,
}

impl SoftHsm {
    /// Tokens labelled `tokens`, each with the user PIN `USER_PIN`; `mechanisms` is a
    /// `slots.mechanisms` line (a token that offers fewer mechanisms).
    fn new(dir: &Path, tokens: &[&str], mechanisms: Option<&str>) -> SoftHsm {
        assert!(
            Path::new(MODULE).exists(),
            "SoftHSM2 is not installed ({MODULE}): run scripts/install-deps"
        );
        let dir = dir.join("softhsm");
        let tokendir = dir.join("tokens");
        std::fs::create_dir_all(&tokendir).unwrap();
        let conf = dir.join("softhsm2.conf");
        let mut text = format!(
            "directories.tokendir = {}\nobjectstore.backend = file\nlog.level = ERROR\n",
            tokendir.display()
        );
        if let Some(m) = mechanisms {
            text.push_str(&format!("slots.mechanisms = {m}\n"));
        }
        std::fs::write(&conf, text).unwrap();
        let hsm = SoftHsm { dir, conf };
        for label in tokens {
            let out = Command::new("softhsm2-util")
                .args(["--init-token", "--free", "--label", label])
                .args(["--so-pin", SO_PIN, "--pin", USER_PIN])
                .env("SOFTHSM2_CONF", &hsm.conf)
                .output()
                .expect("softhsm2-util runs");
            assert!(out.status.success(), "init-token {label}: {out:?}");
        }
        hsm
    }

    /// A file holding the token's user PIN, as `--token-pin-file` reads it.
    fn pin_file(&self, pin: &str) -> PathBuf {
        let p = self.dir.join(format!("token-pin-{pin}"));
        std::fs::write(&p, format!("{pin}\n")).unwrap();
        p
    }

    /// Runs quorumctl with this installation's configuration.
    fn quorumctl(&self, args: &[&str]) -> Output {
        quorumctl(args)
            .env("SOFTHSM2_CONF", &self.conf)
            .output()
            .expect("quorumctl runs")
    }

    /// Runs `pkcs11-tool` logged in to `token`.
    fn tool(&self, token: &str, args: &[&str]) -> Output {
        Command::new("pkcs11-tool")
            .args(["--module", MODULE, "--token-label", token])
            .args(["--login", "--pin", USER_PIN])
            .args(args)
            .env("SOFTHSM2_CONF", &self.conf)
            .output()
            .expect("pkcs11-tool runs (scripts/install-deps installs opensc)")
    }

    /// `pkcs11-tool`, which must succeed.
    fn tool_ok(&self, token: &str, args: &[&str]) -> Output {
        let out = self.tool(token, args);
        assert!(out.status.success(), "pkcs11-tool {args:?}: {}", show(&out));
        out
    }

    /// The objects of `token` as `pkcs11-tool --list-objects` shows them.
    fn objects(&self, token: &str) -> String {
        text(&self.tool_ok(token, &["--list-objects"]).stdout)
    }

    /// AES-ECB of a zero block under the key with CKA_ID `id`, computed in the token.
    fn zero_block(&self, token: &str, id: &str) -> String {
        let zeros = self.dir.join("zeros");
        std::fs::write(&zeros, [0u8; 16]).unwrap();
        let out = self.dir.join("zero-block");
        self.tool_ok(
            token,
            &[
                "--encrypt",
                "--mechanism",
                "AES-ECB",
                "--id",
                id,
                "--input-file",
                zeros.to_str().unwrap(),
                "--output-file",
                out.to_str().unwrap(),
            ],
        );
        hex(&std::fs::read(out).unwrap())
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The token's CKA_ID quorumctl printed for the key it imported.
fn printed_id(out: &Output) -> String {
    let err = text(&out.stderr);
    err.lines()
        .find(|l| l.starts_with("Imported into token"))
        .and_then(|l| l.split(", id ").nth(1))
        .and_then(|rest| rest.split(',').next())
        .map(str::to_owned)
        .unwrap_or_else(|| panic!("no id printed:\n{}", show(out)))
}

/// The block of `pkcs11-tool --list-objects` that describes the object labelled `label`.
fn object_block<'a>(objects: &'a str, label: &str) -> Option<&'a str> {
    objects
        .split("Object;")
        .find(|block| block.contains(&format!("label:      {label}\n")))
}

/// The access flags pkcs11-tool shows for the object labelled `label` ("sensitive",
/// "extractable", "never extractable", ...).
fn access(objects: &str, label: &str) -> Vec<String> {
    let block =
        object_block(objects, label).unwrap_or_else(|| panic!("no {label:?} in:\n{objects}"));
    block
        .lines()
        .find_map(|l| l.trim().strip_prefix("Access:"))
        .unwrap_or("")
        .split(',')
        .map(|f| f.trim().to_owned())
        .filter(|f| !f.is_empty())
        .collect()
}

/// A key that stays in its token: sensitive and not extractable.
fn locked_in(flags: &[String]) -> bool {
    flags.iter().any(|f| f == "sensitive") && !flags.iter().any(|f| f == "extractable")
}

/// The common arguments of a ceremony with these cards' PINs.
struct Table {
    dir: PathBuf,
    pins: PathBuf,
    custodians: Vec<Custodian>,
}

fn table(farm: &Farm, name: &str, m: usize) -> Table {
    let dir = scratch(name);
    let custodians = personalise(farm, &dir, m);
    let pins = pins_of(&dir, "pins", &custodians);
    Table {
        dir,
        pins,
        custodians,
    }
}

/// Writes `key` into `token` as an extractable AES key labelled `label` (an HSM key made
/// to be backed up).
fn put_aes_key(hsm: &SoftHsm, token: &str, label: &str, id: &str, key: &[u8]) {
    let file = hsm.dir.join(format!("{label}.key"));
    std::fs::write(&file, key).unwrap();
    hsm.tool_ok(
        token,
        &[
            "--write-object",
            file.to_str().unwrap(),
            "--type",
            "secrkey",
            "--key-type",
            &format!("AES:{}", key.len()),
            "--label",
            label,
            "--id",
            id,
            "--extractable",
        ],
    );
    std::fs::remove_file(file).unwrap();
}

fn random(len: usize) -> Vec<u8> {
    use rand::RngCore;
    let mut v = vec![0u8; len];
    rand::thread_rng().fill_bytes(&mut v);
    v
}

#[test]
fn an_aes_key_backed_up_from_a_token_is_recovered_into_it_and_into_a_second_token() {
    let _guard = lock();
    let farm = Farm::connect();
    let t = table(&farm, "hsm-aes", 5);
    let hsm = SoftHsm::new(&t.dir, &["hsm-a", "hsm-b"], None);
    let key = random(32);
    put_aes_key(&hsm, "hsm-a", "root-kek", "0a", &key);
    let reference = hsm.zero_block("hsm-a", "0a");
    let token_pin = hsm.pin_file(USER_PIN);
    let bundle = t.dir.join("kek.quorum.json");
    let enrolled = hsm.quorumctl(&[
        "enroll",
        "--threshold",
        "3",
        "--label",
        "kek-2026",
        "--from-pkcs11",
        MODULE,
        "--token-label",
        "hsm-a",
        "--key-label",
        "root-kek",
        "--token-pin-file",
        token_pin.to_str().unwrap(),
        "--bundle",
        bundle.to_str().unwrap(),
        "--pin-file",
        t.pins.to_str().unwrap(),
    ]);
    assert!(enrolled.status.success(), "{}", show(&enrolled));
    let kcv = reference[..6].to_uppercase();
    let said = format!("{}{}", text(&enrolled.stdout), text(&enrolled.stderr));
    assert!(
        said.contains("wrapped to a one-time key of this process by CKM_RSA_PKCS_OAEP"),
        "{}",
        show(&enrolled)
    );
    assert!(
        said.contains(&format!(
            "Backed up key \"root-kek\" of token \"hsm-a\": AES, KCV {kcv}."
        )),
        "{}",
        show(&enrolled)
    );
    assert!(
        said.contains("Enrolled set \"kek-2026\" (3-of-5)"),
        "{said}"
    );

    // The key is lost in the token.
    hsm.tool_ok(
        "hsm-a",
        &["--delete-object", "--type", "secrkey", "--id", "0a"],
    );
    assert!(object_block(&hsm.objects("hsm-a"), "root-kek").is_none());

    // Three custodians restore it into the same token, then three others into a second one.
    for (token, cards) in [("hsm-a", [0, 2, 4]), ("hsm-b", [1, 3, 4])] {
        let chosen: Vec<&Custodian> = cards.iter().map(|&i| &t.custodians[i]).collect();
        present(&farm, &chosen);
        let out = hsm.quorumctl(&[
            "recover",
            "--bundle",
            bundle.to_str().unwrap(),
            "--to-pkcs11",
            MODULE,
            "--token-label",
            token,
            "--key-label",
            "root-kek",
            "--key-type",
            "aes",
            "--token-pin-file",
            token_pin.to_str().unwrap(),
            "--pin-file",
            t.pins.to_str().unwrap(),
        ]);
        assert!(out.status.success(), "{}", show(&out));
        assert!(
            out.stdout.is_empty(),
            "the secret went to stdout: {}",
            show(&out)
        );
        let err = text(&out.stderr);
        assert!(
            err.contains(&format!(
                "Imported into token \"{token}\" as key \"root-kek\": handle "
            )) && err.contains(&format!("KCV {kcv}.")),
            "{}",
            show(&out)
        );
        assert!(
            err.contains("wrapped by CKM_RSA_PKCS_OAEP (SHA-1) then CKM_AES_KEY_WRAP_PAD"),
            "{err}"
        );
        let id = printed_id(&out);
        let objects = hsm.objects(token);
        let flags = access(&objects, "root-kek");
        assert!(locked_in(&flags), "{token}: {flags:?}\n{objects}");
        assert!(
            !objects.contains("quorum one-time"),
            "a one-time key is left in {token}:\n{objects}"
        );
        assert_eq!(
            hsm.zero_block(token, &id),
            reference,
            "the key in {token} is not the one backed up"
        );
    }
}

#[test]
fn a_key_the_token_generates_is_backed_up_in_the_same_ceremony() {
    let _guard = lock();
    let farm = Farm::connect();
    let t = table(&farm, "hsm-generate", 3);
    let hsm = SoftHsm::new(&t.dir, &["hsm-gen-a", "hsm-gen-b"], None);
    let token_pin = hsm.pin_file(USER_PIN);
    let bundle = t.dir.join("gen.quorum.json");
    let enrolled = hsm.quorumctl(&[
        "--json",
        "enroll",
        "--threshold",
        "2",
        "--label",
        "made-in-hsm",
        "--generate-in-pkcs11",
        MODULE,
        "--token-label",
        "hsm-gen-a",
        "--key-label",
        "fresh",
        "--key-type",
        "aes",
        "--token-pin-file",
        token_pin.to_str().unwrap(),
        "--bundle",
        bundle.to_str().unwrap(),
        "--pin-file",
        t.pins.to_str().unwrap(),
    ]);
    assert!(enrolled.status.success(), "{}", show(&enrolled));
    let doc: serde_json::Value = serde_json::from_slice(&enrolled.stdout).unwrap();
    assert_eq!(doc["result"]["token"]["generated"], true, "{doc}");
    assert_eq!(doc["result"]["token"]["label"], "fresh", "{doc}");
    assert_eq!(doc["result"]["token"]["extractable"], false, "{doc}");
    // The token holds the key, and no longer lets it out.
    let objects = hsm.objects("hsm-gen-a");
    let flags = access(&objects, "fresh");
    assert!(locked_in(&flags), "{flags:?}\n{objects}");
    let block = object_block(&objects, "fresh").unwrap();
    let id = block
        .lines()
        .find_map(|l| l.trim().strip_prefix("ID:"))
        .unwrap()
        .trim()
        .to_owned();
    let reference = hsm.zero_block("hsm-gen-a", &id);
    assert!(
        doc["result"]["token"]["check"]
            .as_str()
            .unwrap()
            .contains(&reference[..6].to_uppercase()),
        "{doc} vs {reference}"
    );

    present(&farm, &[&t.custodians[0], &t.custodians[2]]);
    let out = hsm.quorumctl(&[
        "recover",
        "--bundle",
        bundle.to_str().unwrap(),
        "--to-pkcs11",
        MODULE,
        "--token-label",
        "hsm-gen-b",
        "--key-label",
        "fresh",
        "--key-type",
        "aes",
        "--token-pin-file",
        token_pin.to_str().unwrap(),
        "--pin-file",
        t.pins.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", show(&out));
    assert_eq!(hsm.zero_block("hsm-gen-b", &printed_id(&out)), reference);
}

/// A PKCS#8 P-256 key made by OpenSSL, and its public key in PEM.
fn openssl_p256(dir: &Path) -> (PathBuf, PathBuf) {
    let der = dir.join("ec.der");
    let public = dir.join("ec.pub.pem");
    let made = Command::new("openssl")
        .args([
            "genpkey",
            "-algorithm",
            "EC",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
        ])
        .args(["-outform", "DER", "-out", der.to_str().unwrap()])
        .output()
        .expect("openssl runs");
    assert!(made.status.success(), "{made:?}");
    let pubout = Command::new("openssl")
        .args(["pkey", "-inform", "DER", "-in", der.to_str().unwrap()])
        .args(["-pubout", "-out", public.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(pubout.status.success(), "{pubout:?}");
    (der, public)
}

#[test]
fn a_p256_key_backed_up_from_a_token_comes_back_and_its_copy_signs() {
    let _guard = lock();
    let farm = Farm::connect();
    let t = table(&farm, "hsm-p256", 3);
    let hsm = SoftHsm::new(&t.dir, &["hsm-ec-a", "hsm-ec-b"], None);
    let (der, public) = openssl_p256(&t.dir);
    hsm.tool_ok(
        "hsm-ec-a",
        &[
            "--write-object",
            der.to_str().unwrap(),
            "--type",
            "privkey",
            "--label",
            "signer",
            "--id",
            "0e",
            "--extractable",
        ],
    );
    let token_pin = hsm.pin_file(USER_PIN);
    let bundle = t.dir.join("ec.quorum.json");
    let enrolled = hsm.quorumctl(&[
        "enroll",
        "--threshold",
        "2",
        "--label",
        "signer-2026",
        "--from-pkcs11",
        MODULE,
        "--token-label",
        "hsm-ec-a",
        "--key-label",
        "signer",
        "--key-type",
        "ec-p256",
        "--token-pin-file",
        token_pin.to_str().unwrap(),
        "--bundle",
        bundle.to_str().unwrap(),
        "--pin-file",
        t.pins.to_str().unwrap(),
    ]);
    assert!(enrolled.status.success(), "{}", show(&enrolled));

    present(&farm, &[&t.custodians[1], &t.custodians[2]]);
    let out = hsm.quorumctl(&[
        "recover",
        "--bundle",
        bundle.to_str().unwrap(),
        "--to-pkcs11",
        MODULE,
        "--token-label",
        "hsm-ec-b",
        "--key-label",
        "signer",
        "--key-type",
        "ec-p256",
        "--token-pin-file",
        token_pin.to_str().unwrap(),
        "--pin-file",
        t.pins.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", show(&out));
    assert!(
        text(&out.stderr)
            .contains("A signature made in the token verified with the public key derived here."),
        "{}",
        show(&out)
    );
    let id = printed_id(&out);
    let flags = access(&hsm.objects("hsm-ec-b"), "signer");
    assert!(locked_in(&flags), "{flags:?}");
    // The copy in the second token signs; OpenSSL verifies with the original public key.
    let message = t.dir.join("message");
    std::fs::write(&message, b"a certificate to sign").unwrap();
    let digest = t.dir.join("message.sha256");
    let hashed = Command::new("openssl")
        .args([
            "dgst",
            "-sha256",
            "-binary",
            "-out",
            digest.to_str().unwrap(),
        ])
        .arg(&message)
        .output()
        .unwrap();
    assert!(hashed.status.success());
    let signature = t.dir.join("signature");
    hsm.tool_ok(
        "hsm-ec-b",
        &[
            "--sign",
            "--mechanism",
            "ECDSA",
            "--id",
            &id,
            "--input-file",
            digest.to_str().unwrap(),
            "--output-file",
            signature.to_str().unwrap(),
            "--signature-format",
            "openssl",
        ],
    );
    let verified = Command::new("openssl")
        .args([
            "pkeyutl",
            "-verify",
            "-pubin",
            "-inkey",
            public.to_str().unwrap(),
        ])
        .args(["-in", digest.to_str().unwrap()])
        .args(["-sigfile", signature.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(verified.status.success(), "{verified:?}");
}

#[test]
fn an_rsa_key_enrolled_from_its_pkcs8_file_is_recovered_into_a_token_and_signs() {
    let _guard = lock();
    let farm = Farm::connect();
    let t = table(&farm, "hsm-rsa", 2);
    let hsm = SoftHsm::new(&t.dir, &["hsm-rsa"], None);
    let der = t.dir.join("rsa.der");
    let made = Command::new("openssl")
        .args([
            "genpkey",
            "-algorithm",
            "RSA",
            "-pkeyopt",
            "rsa_keygen_bits:2048",
        ])
        .args(["-outform", "DER", "-out", der.to_str().unwrap()])
        .output()
        .expect("openssl runs");
    assert!(made.status.success(), "{made:?}");
    // OpenSSL 3 writes an RSA key as PKCS#1 in DER; the key type takes PKCS#8.
    let traditional = t.dir.join("rsa.pkcs1.der");
    std::fs::rename(&der, &traditional).unwrap();
    let converted = Command::new("openssl")
        .args([
            "pkcs8", "-topk8", "-nocrypt", "-inform", "DER", "-outform", "DER",
        ])
        .args([
            "-in",
            traditional.to_str().unwrap(),
            "-out",
            der.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(converted.status.success(), "{converted:?}");
    let public = t.dir.join("rsa.pub.pem");
    let pubout = Command::new("openssl")
        .args(["pkey", "-inform", "DER", "-in", der.to_str().unwrap()])
        .args(["-pubout", "-out", public.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(pubout.status.success(), "{pubout:?}");
    let bundle = t.dir.join("rsa.quorum.json");
    let pins = t.pins.to_str().unwrap();
    let enrolled = hsm.quorumctl(&[
        "enroll",
        "--threshold",
        "2",
        "--label",
        "rsa-ca",
        "--in",
        der.to_str().unwrap(),
        "--bundle",
        bundle.to_str().unwrap(),
        "--pin-file",
        pins,
    ]);
    assert!(enrolled.status.success(), "{}", show(&enrolled));
    std::fs::remove_file(&der).unwrap();
    std::fs::remove_file(&traditional).unwrap();
    let token_pin = hsm.pin_file(USER_PIN);
    let out = hsm.quorumctl(&[
        "recover",
        "--bundle",
        bundle.to_str().unwrap(),
        "--to-pkcs11",
        MODULE,
        "--token-label",
        "hsm-rsa",
        "--key-label",
        "ca-key",
        "--key-type",
        "rsa",
        "--token-pin-file",
        token_pin.to_str().unwrap(),
        "--pin-file",
        pins,
    ]);
    assert!(out.status.success(), "{}", show(&out));
    assert!(
        text(&out.stderr)
            .contains("A signature made in the token verified with the public key derived here."),
        "{}",
        show(&out)
    );
    let id = printed_id(&out);
    assert!(locked_in(&access(&hsm.objects("hsm-rsa"), "ca-key")));
    let message = t.dir.join("tbs");
    std::fs::write(&message, b"to be signed").unwrap();
    let signature = t.dir.join("tbs.sig");
    hsm.tool_ok(
        "hsm-rsa",
        &[
            "--sign",
            "--mechanism",
            "SHA256-RSA-PKCS",
            "--id",
            &id,
            "--input-file",
            message.to_str().unwrap(),
            "--output-file",
            signature.to_str().unwrap(),
        ],
    );
    let verified = Command::new("openssl")
        .args(["dgst", "-sha256", "-verify", public.to_str().unwrap()])
        .args(["-signature", signature.to_str().unwrap()])
        .arg(&message)
        .output()
        .unwrap();
    assert!(verified.status.success(), "{verified:?}");
}

/// A refused command: its exit code and its message.
fn refused(out: &Output, code: i32, needle: &str) -> String {
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(code), "{}", show(out));
    assert!(err.contains(needle), "expected {needle:?}:\n{}", show(out));
    err
}

#[test]
fn every_bad_token_input_is_refused_before_any_card_with_its_own_exit_code() {
    let _guard = lock();
    let farm = Farm::connect();
    let t = table(&farm, "hsm-bad", 2);
    let hsm = SoftHsm::new(&t.dir, &["hsm-bad"], None);
    let token_pin = hsm.pin_file(USER_PIN);
    let wrong_pin = hsm.pin_file("000000");
    put_aes_key(&hsm, "hsm-bad", "taken", "0b", &random(32));
    let before = hsm.objects("hsm-bad");
    // A 33-byte secret: no AES key, and not a PKCS#8 key either.
    let master = t.dir.join("master");
    std::fs::write(&master, random(33)).unwrap();
    let bundle = t.dir.join("bad.quorum.json");
    let pins = t.pins.to_str().unwrap().to_owned();
    let ok = hsm.quorumctl(&[
        "enroll",
        "--threshold",
        "2",
        "--label",
        "bad-inputs",
        "--in",
        master.to_str().unwrap(),
        "--bundle",
        bundle.to_str().unwrap(),
        "--pin-file",
        &pins,
    ]);
    assert!(ok.status.success(), "{}", show(&ok));
    let to = |module: &str, token: &str, key: &str, key_type: &str, pin: &Path| {
        let mut args: Vec<String> = ["recover", "--bundle", bundle.to_str().unwrap()]
            .into_iter()
            .map(str::to_owned)
            .collect();
        args.extend(["--pin-file".to_owned(), pins.clone()]);
        for (option, value) in [
            ("--to-pkcs11", module),
            ("--token-label", token),
            ("--key-label", key),
            ("--key-type", key_type),
            ("--token-pin-file", pin.to_str().unwrap()),
        ] {
            args.extend([option.to_owned(), value.to_owned()]);
        }
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        hsm.quorumctl(&refs)
    };
    let before_cards =
        "Nothing was done: no card was asked for anything and nothing was created in the token.";

    let out = to(
        "/nonexistent/libpkcs11.so",
        "hsm-bad",
        "k",
        "aes",
        &token_pin,
    );
    refused(
        &out,
        12,
        "PKCS#11 module /nonexistent/libpkcs11.so not found",
    );
    refused(&out, 12, before_cards);

    let not_a_module = "/usr/lib/x86_64-linux-gnu/libpcsclite.so.1";
    let out = to(not_a_module, "hsm-bad", "k", "aes", &token_pin);
    refused(&out, 12, "is not a PKCS#11 module");

    let out = to(MODULE, "hsm-typo", "k", "aes", &token_pin);
    refused(&out, 12, "no token labelled \"hsm-typo\"");
    refused(&out, 12, "\"hsm-bad\"");

    let out = to(MODULE, "hsm-bad", "k", "aes", &wrong_pin);
    refused(&out, 5, "token \"hsm-bad\" refused the user PIN");
    refused(&out, 5, before_cards);

    let out = to(MODULE, "hsm-bad", "taken", "aes", &token_pin);
    refused(&out, 12, "already holds 1 object(s) labelled \"taken\"");
    refused(&out, 12, before_cards);

    // Known from the set's public record, before any PIN.
    let out = to(MODULE, "hsm-bad", "k", "aes", &token_pin);
    refused(
        &out,
        2,
        "holds a 33-byte secret, which the --key-type given cannot take",
    );
    refused(&out, 2, "no PIN was asked");

    // Known only once the secret is back: nothing is created, the secret is wiped.
    let out = to(MODULE, "hsm-bad", "k", "ec-p256", &token_pin);
    refused(&out, 2, "is not a P-256 key");
    refused(
        &out,
        2,
        "was recovered but not imported: nothing was created in token \"hsm-bad\"",
    );

    let after = hsm.objects("hsm-bad");
    assert_eq!(before, after, "the token changed");

    // enroll from a key that is not extractable: the HSM's own backup path is named.
    hsm.tool_ok(
        "hsm-bad",
        &[
            "--keygen",
            "--key-type",
            "AES:32",
            "--label",
            "locked-in",
            "--id",
            "0c",
        ],
    );
    let out = hsm.quorumctl(&[
        "enroll",
        "--threshold",
        "2",
        "--label",
        "never",
        "--from-pkcs11",
        MODULE,
        "--token-label",
        "hsm-bad",
        "--key-label",
        "locked-in",
        "--token-pin-file",
        token_pin.to_str().unwrap(),
        "--bundle",
        t.dir.join("never.quorum.json").to_str().unwrap(),
        "--pin-file",
        &pins,
    ]);
    let err = refused(
        &out,
        12,
        "key \"locked-in\" of token \"hsm-bad\" is not extractable",
    );
    assert!(err.contains("HSM's own path"), "{err}");
    assert!(!t.dir.join("never.quorum.json").exists());
}

#[test]
fn a_token_without_a_wrapped_path_is_refused_unless_a_plaintext_import_is_allowed() {
    let _guard = lock();
    let farm = Farm::connect();
    let t = table(&farm, "hsm-nowrap", 1);
    // SoftHSM 2.6.1 ignores the first entry of a "-" list: CKM_MD5 stands there for it.
    let hsm = SoftHsm::new(
        &t.dir,
        &["hsm-nowrap"],
        Some("-CKM_MD5,CKM_RSA_PKCS_OAEP,CKM_AES_KEY_WRAP_PAD"),
    );
    let token_pin = hsm.pin_file(USER_PIN);
    let master = t.dir.join("master");
    let key = random(32);
    std::fs::write(&master, &key).unwrap();
    let bundle = t.dir.join("nowrap.quorum.json");
    let pins = t.pins.to_str().unwrap().to_owned();
    let ok = hsm.quorumctl(&[
        "enroll",
        "--threshold",
        "1",
        "--allow-single-card",
        "--label",
        "no-wrap",
        "--in",
        master.to_str().unwrap(),
        "--bundle",
        bundle.to_str().unwrap(),
        "--pin-file",
        &pins,
    ]);
    assert!(ok.status.success(), "{}", show(&ok));
    let mut args = vec![
        "recover",
        "--bundle",
        bundle.to_str().unwrap(),
        "--pin-file",
        &pins,
        "--to-pkcs11",
        MODULE,
        "--token-label",
        "hsm-nowrap",
        "--key-label",
        "kek",
        "--key-type",
        "aes",
        "--token-pin-file",
        token_pin.to_str().unwrap(),
    ];
    let out = hsm.quorumctl(&args);
    let err = refused(&out, 12, "accepts none of the wrapped import paths");
    assert!(err.contains("--allow-plaintext-import"), "{err}");
    assert!(err.contains("no card was asked for anything"), "{err}");
    assert!(object_block(&hsm.objects("hsm-nowrap"), "kek").is_none());

    args.push("--allow-plaintext-import");
    let out = hsm.quorumctl(&args);
    assert!(out.status.success(), "{}", show(&out));
    assert!(
        text(&out.stderr).contains("as plaintext (C_CreateObject"),
        "{}",
        show(&out)
    );
    let id = printed_id(&out);
    let flags = access(&hsm.objects("hsm-nowrap"), "kek");
    assert!(locked_in(&flags), "{flags:?}");
    let mut expected = std::process::Command::new("openssl")
        .args(["enc", "-aes-256-ecb", "-nopad", "-K", &hex(&key)])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    expected
        .stdin
        .take()
        .unwrap()
        .write_all(&[0u8; 16])
        .unwrap();
    let expected = expected.wait_with_output().unwrap();
    assert_eq!(hsm.zero_block("hsm-nowrap", &id), hex(&expected.stdout));
}
