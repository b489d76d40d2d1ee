//! The HSM at both ends of a ceremony, through a real SoftHSM2 token and the simulated
//! cards: enroll from a token, recover into it and into a second token, a key the token
//! generates, and every refusal. What quorumctl left in a token is checked with OpenSC's
//! `pkcs11-tool`, a PKCS#11 client of its own, and with OpenSSL on the host.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::farm::{lock, Farm};
use crate::fixtures::{personalise, pins_of, present, text, Custodian};
use crate::run::{quorumctl, scratch, show, Terminal};

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
        crate::run::pin_file(&self.dir, &format!("token-pin-{pin}"), &[pin.to_owned()])
    }

    /// The quorumctl command with this installation's configuration.
    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = quorumctl(args);
        cmd.env("SOFTHSM2_CONF", &self.conf);
        cmd
    }

    /// Runs quorumctl with this installation's configuration.
    fn quorumctl(&self, args: &[&str]) -> Output {
        self.command(args).output().expect("quorumctl runs")
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

/// One test's table: cards with their PINs, a SoftHSM2 installation, the token PIN file.
struct Table {
    dir: PathBuf,
    pins: PathBuf,
    custodians: Vec<Custodian>,
    hsm: SoftHsm,
    token_pin: PathBuf,
}

/// `m` fresh cards and a SoftHSM2 installation with `tokens` (`mechanisms`: see `SoftHsm`).
fn table(farm: &Farm, name: &str, m: usize, tokens: &[&str], mechanisms: Option<&str>) -> Table {
    let dir = scratch(name);
    let custodians = personalise(farm, &dir, m);
    let pins = pins_of(&dir, "pins", &custodians);
    let hsm = SoftHsm::new(&dir, tokens, mechanisms);
    let token_pin = hsm.pin_file(USER_PIN);
    Table {
        dir,
        pins,
        custodians,
        hsm,
        token_pin,
    }
}

/// A token end on the command line: `option MODULE --token-label T --key-label K
/// --token-pin-file F`.
fn token_end(option: &str, module: &str, token: &str, key: &str, pin: &Path) -> Vec<String> {
    [
        option,
        module,
        "--token-label",
        token,
        "--key-label",
        key,
        "--token-pin-file",
        pin.to_str().unwrap(),
    ]
    .map(str::to_owned)
    .to_vec()
}

impl Table {
    /// The bundle file `name` in the test's directory.
    fn bundle(&self, name: &str) -> PathBuf {
        self.dir.join(format!("{name}.quorum.json"))
    }

    /// Runs quorumctl with `args` and then `more`, with this table's SoftHSM2.
    fn run(&self, args: &[&str], more: &[String]) -> Output {
        let mut all: Vec<&str> = args.to_vec();
        all.extend(more.iter().map(String::as_str));
        self.hsm.quorumctl(&all)
    }

    /// Enrolls `threshold`-of-all (every card present) as set `label`, the secret coming
    /// from `source` (`--in FILE`, or a token end), writing the bundle `label`.
    fn enroll(&self, label: &str, threshold: &str, source: &[String]) -> Output {
        let bundle = self.bundle(label);
        let mut args = vec!["enroll", "--threshold", threshold, "--label", label];
        if threshold == "1" {
            args.push("--allow-single-card");
        }
        args.extend(["--bundle", bundle.to_str().unwrap()]);
        args.extend(["--pin-file", self.pins.to_str().unwrap()]);
        self.run(&args, source)
    }

    /// Recovers the set of bundle `label` into `token` as key `key` of `key_type`, the
    /// token's PIN from `pin`, then `more` options.
    fn recover_into(
        &self,
        label: &str,
        (module, token, key, key_type): (&str, &str, &str, &str),
        pin: &Path,
        more: &[&str],
    ) -> Output {
        let bundle = self.bundle(label);
        let mut args = vec!["recover", "--bundle", bundle.to_str().unwrap()];
        args.extend(["--pin-file", self.pins.to_str().unwrap()]);
        args.extend(["--key-type", key_type]);
        args.extend(more);
        self.run(&args, &token_end("--to-pkcs11", module, token, key, pin))
    }

    /// `recover_into` through SoftHSM2 with the right PIN, which must succeed.
    fn recovered_into(&self, label: &str, token: &str, key: &str, key_type: &str) -> Output {
        let out = self.recover_into(label, (MODULE, token, key, key_type), &self.token_pin, &[]);
        assert!(out.status.success(), "{}", show(&out));
        out
    }
}

/// Runs OpenSSL, which must succeed.
fn openssl(args: &[&str]) -> Output {
    let out = Command::new("openssl")
        .args(args)
        .output()
        .expect("openssl runs");
    assert!(out.status.success(), "openssl {args:?}: {}", show(&out));
    out
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
    let t = table(&farm, "hsm-aes", 5, &["hsm-a", "hsm-b"], None);
    put_aes_key(&t.hsm, "hsm-a", "root-kek", "0a", &random(32));
    let reference = t.hsm.zero_block("hsm-a", "0a");
    let kcv = reference[..6].to_uppercase();
    let from = token_end("--from-pkcs11", MODULE, "hsm-a", "root-kek", &t.token_pin);
    let enrolled = t.enroll("kek-2026", "3", &from);
    assert!(enrolled.status.success(), "{}", show(&enrolled));
    let said = format!("{}{}", text(&enrolled.stdout), text(&enrolled.stderr));
    for needle in [
        "wrapped to a one-time key of this process by CKM_RSA_PKCS_OAEP",
        &format!("Backed up key \"root-kek\" of token \"hsm-a\": AES, KCV {kcv}."),
        "Enrolled set \"kek-2026\" (3-of-5)",
    ] {
        assert!(said.contains(needle), "{needle:?}:\n{}", show(&enrolled));
    }

    // The key is lost in the token.
    t.hsm.tool_ok(
        "hsm-a",
        &["--delete-object", "--type", "secrkey", "--id", "0a"],
    );
    assert!(object_block(&t.hsm.objects("hsm-a"), "root-kek").is_none());

    // Three custodians restore it into the same token, then three others into a second one.
    for (token, cards) in [("hsm-a", [0, 2, 4]), ("hsm-b", [1, 3, 4])] {
        let chosen: Vec<&Custodian> = cards.iter().map(|&i| &t.custodians[i]).collect();
        present(&farm, &chosen);
        let out = t.recovered_into("kek-2026", token, "root-kek", "aes");
        assert!(
            out.stdout.is_empty(),
            "the secret went to stdout: {}",
            show(&out)
        );
        let err = text(&out.stderr);
        for needle in [
            format!("Imported into token \"{token}\" as key \"root-kek\": handle "),
            format!("KCV {kcv}."),
            "wrapped by CKM_RSA_PKCS_OAEP (SHA-1) then CKM_AES_KEY_WRAP_PAD".to_owned(),
            "The check value was computed in the token and equals the one computed here."
                .to_owned(),
        ] {
            assert!(err.contains(&needle), "{needle:?}:\n{}", show(&out));
        }
        let objects = t.hsm.objects(token);
        let flags = access(&objects, "root-kek");
        assert!(locked_in(&flags), "{token}: {flags:?}\n{objects}");
        assert!(
            !objects.contains("quorum one-time"),
            "a one-time key is left in {token}:\n{objects}"
        );
        assert_eq!(
            t.hsm.zero_block(token, &printed_id(&out)),
            reference,
            "the key in {token} is not the one backed up"
        );
    }
}

#[test]
fn a_key_the_token_generates_is_backed_up_in_the_same_ceremony() {
    let _guard = lock();
    let farm = Farm::connect();
    let t = table(&farm, "hsm-generate", 3, &["hsm-gen-a", "hsm-gen-b"], None);
    let mut made = token_end(
        "--generate-in-pkcs11",
        MODULE,
        "hsm-gen-a",
        "fresh",
        &t.token_pin,
    );
    made.extend(["--key-type".to_owned(), "aes".to_owned()]);
    let mut json = vec!["--json".to_owned()];
    json.extend(made);
    // --json is a global option: it may come after the subcommand's own.
    let enrolled = t.enroll("made-in-hsm", "2", &json);
    assert!(enrolled.status.success(), "{}", show(&enrolled));
    let doc: serde_json::Value = serde_json::from_slice(&enrolled.stdout).unwrap();
    let token = &doc["result"]["token"];
    assert_eq!(token["generated"], true, "{doc}");
    assert_eq!(token["label"], "fresh", "{doc}");
    assert_eq!(token["extractable"], false, "{doc}");
    // The token holds the key, and no longer lets it out.
    let objects = t.hsm.objects("hsm-gen-a");
    let flags = access(&objects, "fresh");
    assert!(locked_in(&flags), "{flags:?}\n{objects}");
    let id = token["id"].as_str().unwrap().to_owned();
    let reference = t.hsm.zero_block("hsm-gen-a", &id);
    assert!(
        token["check"]
            .as_str()
            .unwrap()
            .contains(&reference[..6].to_uppercase()),
        "{doc} vs {reference}"
    );

    present(&farm, &[&t.custodians[0], &t.custodians[2]]);
    let out = t.recovered_into("made-in-hsm", "hsm-gen-b", "fresh", "aes");
    assert_eq!(t.hsm.zero_block("hsm-gen-b", &printed_id(&out)), reference);
}

/// A private key made by OpenSSL as PKCS#8 DER (`genpkey` options), and its public key in PEM.
fn openssl_key(dir: &Path, name: &str, genpkey: &[&str]) -> (PathBuf, PathBuf) {
    let made = dir.join(format!("{name}.made.der"));
    let der = dir.join(format!("{name}.der"));
    let public = dir.join(format!("{name}.pub.pem"));
    let mut args = vec!["genpkey"];
    args.extend(genpkey);
    args.extend(["-outform", "DER", "-out", made.to_str().unwrap()]);
    openssl(&args);
    // OpenSSL 3 writes an RSA key as PKCS#1 in DER; the key types take PKCS#8.
    openssl(&[
        "pkcs8",
        "-topk8",
        "-nocrypt",
        "-inform",
        "DER",
        "-outform",
        "DER",
        "-in",
        made.to_str().unwrap(),
        "-out",
        der.to_str().unwrap(),
    ]);
    std::fs::remove_file(made).unwrap();
    openssl(&[
        "pkey",
        "-inform",
        "DER",
        "-in",
        der.to_str().unwrap(),
        "-pubout",
        "-out",
        public.to_str().unwrap(),
    ]);
    (der, public)
}

/// Signs `message` in `token` with the key `id` (`mechanism` as pkcs11-tool names it) and
/// checks the signature with OpenSSL and the original public key (`verify`: OpenSSL's
/// options before the key, the signature and the input).
fn signs_in_token(t: &Table, token: &str, id: &str, mechanism: &str, public: &Path) {
    let message = t.dir.join(format!("{token}.tbs"));
    std::fs::write(&message, b"a certificate to sign").unwrap();
    let signature = t.dir.join(format!("{token}.sig"));
    let ecdsa = mechanism == "ECDSA";
    // The token's plain ECDSA signs a digest made here (SoftHSM has no ECDSA-SHA256).
    let input = if ecdsa {
        let digest = t.dir.join(format!("{token}.sha256"));
        openssl(&[
            "dgst",
            "-sha256",
            "-binary",
            "-out",
            digest.to_str().unwrap(),
            message.to_str().unwrap(),
        ]);
        digest
    } else {
        message.clone()
    };
    let mut sign = vec![
        "--sign",
        "--mechanism",
        mechanism,
        "--id",
        id,
        "--input-file",
        input.to_str().unwrap(),
        "--output-file",
        signature.to_str().unwrap(),
    ];
    if ecdsa {
        sign.extend(["--signature-format", "openssl"]);
    }
    t.hsm.tool_ok(token, &sign);
    if ecdsa {
        openssl(&[
            "pkeyutl",
            "-verify",
            "-pubin",
            "-inkey",
            public.to_str().unwrap(),
            "-in",
            input.to_str().unwrap(),
            "-sigfile",
            signature.to_str().unwrap(),
        ]);
    } else {
        openssl(&[
            "dgst",
            "-sha256",
            "-verify",
            public.to_str().unwrap(),
            "-signature",
            signature.to_str().unwrap(),
            message.to_str().unwrap(),
        ]);
    }
}

#[test]
fn a_p256_key_backed_up_from_a_token_comes_back_and_its_copy_signs() {
    let _guard = lock();
    let farm = Farm::connect();
    let t = table(&farm, "hsm-p256", 3, &["hsm-ec-a", "hsm-ec-b"], None);
    let (der, public) = openssl_key(
        &t.dir,
        "ec",
        &["-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256"],
    );
    t.hsm.tool_ok(
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
    std::fs::remove_file(der).unwrap();
    let mut from = token_end("--from-pkcs11", MODULE, "hsm-ec-a", "signer", &t.token_pin);
    from.extend(["--key-type".to_owned(), "ec-p256".to_owned()]);
    let enrolled = t.enroll("signer-2026", "2", &from);
    assert!(enrolled.status.success(), "{}", show(&enrolled));
    assert!(
        text(&enrolled.stderr).contains("then CKM_AES_KEY_WRAP_PAD: P-256, "),
        "{}",
        show(&enrolled)
    );

    present(&farm, &[&t.custodians[1], &t.custodians[2]]);
    let out = t.recovered_into("signer-2026", "hsm-ec-b", "signer", "ec-p256");
    assert!(
        text(&out.stderr)
            .contains("A signature made in the token verified with the public key derived here."),
        "{}",
        show(&out)
    );
    assert!(locked_in(&access(&t.hsm.objects("hsm-ec-b"), "signer")));
    // The copy in the second token signs; OpenSSL verifies with the original public key.
    signs_in_token(&t, "hsm-ec-b", &printed_id(&out), "ECDSA", &public);
}

#[test]
fn an_rsa_key_enrolled_from_its_pkcs8_file_is_recovered_into_a_token_and_signs() {
    let _guard = lock();
    let farm = Farm::connect();
    let t = table(&farm, "hsm-rsa", 2, &["hsm-rsa"], None);
    let (der, public) = openssl_key(
        &t.dir,
        "rsa",
        &["-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048"],
    );
    let enrolled = t.enroll(
        "rsa-ca",
        "2",
        &["--in".to_owned(), der.to_str().unwrap().to_owned()],
    );
    assert!(enrolled.status.success(), "{}", show(&enrolled));
    std::fs::remove_file(&der).unwrap();
    let out = t.recovered_into("rsa-ca", "hsm-rsa", "ca-key", "rsa");
    assert!(
        text(&out.stderr)
            .contains("A signature made in the token verified with the public key derived here."),
        "{}",
        show(&out)
    );
    assert!(locked_in(&access(&t.hsm.objects("hsm-rsa"), "ca-key")));
    signs_in_token(&t, "hsm-rsa", &printed_id(&out), "SHA256-RSA-PKCS", &public);
}

/// A refused command: its exit code and each part of its message.
fn refused(out: &Output, code: i32, needles: &[&str]) {
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(code), "{}", show(out));
    for needle in needles {
        assert!(err.contains(needle), "expected {needle:?}:\n{}", show(out));
    }
}

#[test]
fn every_bad_token_input_is_refused_before_any_card_with_its_own_exit_code() {
    let _guard = lock();
    let farm = Farm::connect();
    let t = table(&farm, "hsm-bad", 2, &["hsm-bad"], None);
    let wrong_pin = t.hsm.pin_file("000000");
    put_aes_key(&t.hsm, "hsm-bad", "taken", "0b", &random(32));
    let before = t.hsm.objects("hsm-bad");
    // A 33-byte secret: no AES key, and not a PKCS#8 key either.
    let master = t.dir.join("master");
    std::fs::write(&master, random(33)).unwrap();
    let enrolled = t.enroll(
        "bad-inputs",
        "2",
        &["--in".to_owned(), master.to_str().unwrap().to_owned()],
    );
    assert!(enrolled.status.success(), "{}", show(&enrolled));
    let to = |module, token, key, key_type, pin: &Path| {
        t.recover_into("bad-inputs", (module, token, key, key_type), pin, &[])
    };
    let before_cards =
        "Nothing was done: no card was asked for anything and nothing was created in the token.";

    let out = to(
        "/nonexistent/libpkcs11.so",
        "hsm-bad",
        "k",
        "aes",
        &t.token_pin,
    );
    refused(
        &out,
        12,
        &[
            "PKCS#11 module /nonexistent/libpkcs11.so not found",
            before_cards,
        ],
    );

    let not_a_module = "/usr/lib/x86_64-linux-gnu/libpcsclite.so.1";
    let out = to(not_a_module, "hsm-bad", "k", "aes", &t.token_pin);
    refused(&out, 12, &["is not a PKCS#11 module", before_cards]);

    let out = to(MODULE, "hsm-typo", "k", "aes", &t.token_pin);
    refused(
        &out,
        12,
        &[
            "no token labelled \"hsm-typo\"",
            "\"hsm-bad\"",
            "--token-label",
        ],
    );

    let out = to(MODULE, "hsm-bad", "k", "aes", &wrong_pin);
    refused(
        &out,
        5,
        &["token \"hsm-bad\" refused the user PIN", before_cards],
    );

    let out = to(MODULE, "hsm-bad", "taken", "aes", &t.token_pin);
    refused(
        &out,
        12,
        &[
            "already holds 1 object(s) labelled \"taken\"",
            before_cards,
            "--replace",
        ],
    );

    // Known from the set's public record, before any PIN.
    let out = to(MODULE, "hsm-bad", "k", "aes", &t.token_pin);
    refused(
        &out,
        2,
        &[
            "holds a 33-byte secret, which the --key-type given cannot take",
            "no PIN was asked",
        ],
    );

    // Known only once the secret is back: nothing is created, the secret is wiped.
    let out = to(MODULE, "hsm-bad", "k", "ec-p256", &t.token_pin);
    refused(
        &out,
        2,
        &[
            "is not a P-256 key",
            "was recovered but not imported: nothing was created in token \"hsm-bad\"",
        ],
    );

    assert_eq!(before, t.hsm.objects("hsm-bad"), "the token changed");

    // --replace: the object that held the label goes, once the new key is proven.
    let out = t.recover_into(
        "bad-inputs",
        (MODULE, "hsm-bad", "taken", "generic-secret"),
        &t.token_pin,
        &["--replace"],
    );
    assert!(out.status.success(), "{}", show(&out));
    assert!(
        text(&out.stderr).contains("The 1 object(s) that carried the label before were removed, after the new key was proven."),
        "{}",
        show(&out)
    );
    let objects = t.hsm.objects("hsm-bad");
    let block = object_block(&objects, "taken").expect("the new key");
    assert!(
        block.contains(&format!("ID:         {}", printed_id(&out))),
        "{objects}"
    );
    assert_eq!(
        objects.matches("label:      taken\n").count(),
        1,
        "{objects}"
    );

    // The same refusal, typed, in --json.
    let out = t.recover_into(
        "bad-inputs",
        (MODULE, "hsm-typo", "k", "aes"),
        &t.token_pin,
        &["--json", "--out", "/dev/null"],
    );
    assert_eq!(
        out.status.code(),
        Some(2),
        "--out and --to-pkcs11 together: {}",
        show(&out)
    );
    let out = t.recover_into(
        "bad-inputs",
        (MODULE, "hsm-typo", "k", "aes"),
        &t.token_pin,
        &["--json"],
    );
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["exit_code"], 12, "{doc}");
    assert_eq!(doc["error"]["kind"], "token", "{doc}");
    assert_eq!(doc["error"]["detail"]["error"], "unknown-token", "{doc}");

    // enroll from a key that is not extractable: the HSM's own backup path is named.
    t.hsm.tool_ok(
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
    let from = token_end(
        "--from-pkcs11",
        MODULE,
        "hsm-bad",
        "locked-in",
        &t.token_pin,
    );
    let out = t.enroll("never", "2", &from);
    refused(
        &out,
        12,
        &[
            "key \"locked-in\" of token \"hsm-bad\" is not extractable",
            "HSM's own path",
            before_cards,
        ],
    );
    assert!(!t.bundle("never").exists());
}

#[test]
fn a_token_without_a_wrapped_path_is_refused_unless_a_plaintext_import_is_allowed() {
    let _guard = lock();
    let farm = Farm::connect();
    // SoftHSM 2.6.1 ignores the first entry of a "-" list: CKM_MD5 stands there for it.
    let t = table(
        &farm,
        "hsm-nowrap",
        1,
        &["hsm-nowrap"],
        Some("-CKM_MD5,CKM_RSA_PKCS_OAEP,CKM_AES_KEY_WRAP_PAD"),
    );
    let master = t.dir.join("master");
    let key = random(32);
    std::fs::write(&master, &key).unwrap();
    let enrolled = t.enroll(
        "no-wrap",
        "1",
        &["--in".to_owned(), master.to_str().unwrap().to_owned()],
    );
    assert!(enrolled.status.success(), "{}", show(&enrolled));
    let end = (MODULE, "hsm-nowrap", "kek", "aes");
    let out = t.recover_into("no-wrap", end, &t.token_pin, &[]);
    refused(
        &out,
        12,
        &[
            "accepts none of the wrapped import paths",
            "--allow-plaintext-import",
            "no card was asked for anything",
        ],
    );
    assert!(object_block(&t.hsm.objects("hsm-nowrap"), "kek").is_none());

    let out = t.recover_into(
        "no-wrap",
        end,
        &t.token_pin,
        &["--allow-plaintext-import", "--key-usage", "encrypt,decrypt"],
    );
    assert!(out.status.success(), "{}", show(&out));
    assert!(
        text(&out.stderr).contains("as plaintext (C_CreateObject"),
        "{}",
        show(&out)
    );
    let objects = t.hsm.objects("hsm-nowrap");
    assert!(locked_in(&access(&objects, "kek")), "{objects}");
    let usage = object_block(&objects, "kek")
        .unwrap()
        .lines()
        .find_map(|l| l.trim().strip_prefix("Usage:"))
        .unwrap()
        .trim()
        .to_owned();
    assert!(
        usage.contains("encrypt") && usage.contains("decrypt") && !usage.contains("wrap"),
        "--key-usage encrypt,decrypt gave {usage:?}"
    );
    let zeros = t.dir.join("zeros");
    std::fs::write(&zeros, [0u8; 16]).unwrap();
    let expected = openssl(&[
        "enc",
        "-aes-256-ecb",
        "-nopad",
        "-K",
        &hex(&key),
        "-in",
        zeros.to_str().unwrap(),
    ]);
    assert_eq!(
        t.hsm.zero_block("hsm-nowrap", &printed_id(&out)),
        hex(&expected.stdout)
    );
}

#[test]
fn without_a_pin_file_the_token_pin_is_typed_without_echo_before_any_card() {
    let _guard = lock();
    let farm = Farm::connect();
    let t = table(&farm, "hsm-typed", 2, &["hsm-typed"], None);
    put_aes_key(&t.hsm, "hsm-typed", "typed-kek", "0d", &random(16));
    let bundle = t.bundle("typed");
    let mut cmd = t.hsm.command(&[
        "enroll",
        "--threshold",
        "2",
        "--label",
        "typed",
        "--from-pkcs11",
        MODULE,
        "--token-label",
        "hsm-typed",
        "--key-label",
        "typed-kek",
        "--bundle",
        bundle.to_str().unwrap(),
        "--pin-file",
        t.pins.to_str().unwrap(),
    ]);
    let terminal = Terminal::new();
    let child = terminal
        .control(&mut cmd)
        .spawn()
        .expect("quorumctl starts");
    terminal.wait_for("User PIN of token \"hsm-typed\": ");
    assert!(
        terminal.echo_off(),
        "echo is off while the token PIN is typed"
    );
    terminal.type_in(format!("{USER_PIN}\n").as_bytes());
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", show(&out));
    let err = text(&out.stderr);
    let asked = err
        .find("is typed on this computer's keyboard (no echo)")
        .expect("the prompt says where the token PIN is typed");
    let read = err
        .find("Read key \"typed-kek\"")
        .expect("the key was read");
    let first_card = err.find("PIN accepted (PIN from file").expect("cards came");
    assert!(asked < read && read < first_card, "{err}");
    assert!(!terminal.echo_off(), "the terminal echoes again");
}
