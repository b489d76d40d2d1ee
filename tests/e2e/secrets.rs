//! Issue 5, "nothing leaks": whole ceremonies at quorumctl's most verbose level
//! (`--trace`, and `--stats` where offered) print no secret, and pcscd's own APDU log of a recovery holds no
//! share, DEK or DH output, because UNSEAL is blinded.
//!
//! The DEK, the shares and the DH outputs only ever live in quorumctl's memory, so the
//! tests recompute them afterwards from the cards themselves: read a card's record, send
//! the HPKE ephemeral key E to UNSEAL *unblinded* (the card's answer is then the DH output
//! itself), open the sealed share with it, and combine the shares into the DEK. That the
//! DEK unwraps the master proves the recomputed values are the real ones, so a search for
//! them cannot pass by looking for the wrong bytes.

use std::convert::Infallible;
use std::path::Path;
use std::time::{Duration, Instant};

use blahaj::{Share, Sharks};
use quorum_card::card::Card;
use quorum_pcsc::PcscContext;
use quorum_protocol::crypto::hpke::open_with_dh;
use quorum_protocol::crypto::wrap::{unwrap_master, Dek, WrappedMaster};
use quorum_protocol::crypto::SubgroupPoint;
use quorum_protocol::pin::PinBlock;
use quorum_protocol::record::{PublicRecord, SealedShare, SET_ID_LEN, SHARE_LEN};
use zeroize::Zeroizing;

use crate::farm::{lock, Farm, Sim};
use crate::fixtures::{enrolled, fingerprint_in, init_fingerprint, pins_of, present, Custodian};
use crate::run::{pin_file, run, run_ok, scratch, show};

/// Printable, so its raw text is searched for as well as its hex.
const MASTER: &[u8] = b"leak-test master: Quartz-Nimbus-Harbour-4187";

/// What one card's record hides, recomputed from the card with an unblinded UNSEAL.
struct Opened {
    /// The share's x (the record's index).
    index: u8,
    threshold: u8,
    set_id: [u8; SET_ID_LEN],
    wrapped: WrappedMaster,
    /// The blahaj share x ‖ y.
    share: Zeroizing<[u8; SHARE_LEN]>,
    /// The card's answer to the plain E: x(d·E), big-endian Wei25519.
    dh_wei_x: Zeroizing<[u8; 32]>,
    /// The same DH output as X25519 bytes (little-endian u): HPKE's `dh`.
    dh_u: Zeroizing<[u8; 32]>,
    /// x of E itself as a Wei25519 point: what an unblinded UNSEAL would send.
    enc_wei_x: [u8; 32],
}

/// Opens the share of the card in `reader` the way no ceremony may: E goes to the card as
/// it is, so the answer is the DH output. Runs below quorumctl, on the test's own context.
fn open_unblinded(farm: &Farm, reader: usize, pin: &str) -> Opened {
    let ctx = PcscContext::establish().unwrap();
    let mut card = Card::new(ctx.connect_pcsc(farm.reader_name(reader)).unwrap());
    card.select().unwrap();
    let public = card.get_record_public().unwrap();
    let record = PublicRecord::decode(&public).unwrap();
    card.verify(&PinBlock::new(pin).unwrap()).unwrap();
    let sealed = SealedShare::decode(&card.get_record_sealed().unwrap()).unwrap();
    let enc = SubgroupPoint::from_u(&sealed.enc).unwrap();
    let dh_wei_x = card.unseal(&enc.to_wei_point()).unwrap();
    let dh_u = Zeroizing::new(SubgroupPoint::from_wei_x(&dh_wei_x).unwrap().u());
    let card_key = record
        .custodian(record.index)
        .expect("a decoded record lists its own index")
        .card_key
        .to_x25519();
    let plain = open_with_dh(
        &card_key,
        &sealed.enc,
        &record.share_info(),
        &public,
        &sealed.ct,
        |_| Ok::<_, Infallible>(Zeroizing::new(*dh_u)),
    )
    .unwrap_or_else(|e| panic!("the unblinded DH does not open reader {reader}'s share: {e:?}"));
    let mut share = Zeroizing::new([0u8; SHARE_LEN]);
    share.copy_from_slice(&plain);
    assert_eq!(
        share[0], record.index,
        "the share's x is the record's index"
    );
    Opened {
        index: record.index,
        threshold: record.threshold,
        set_id: record.set_id,
        wrapped: record.wrapped,
        share,
        dh_wei_x,
        dh_u,
        enc_wei_x: enc.wei_x(),
    }
}

/// Combines the shares of one set into the DEK and checks that it unwraps the master on
/// every card's record.
fn dek_of(cards: &[Opened]) -> Zeroizing<Vec<u8>> {
    let shares: Vec<Share> = cards
        .iter()
        .map(|c| Share::try_from(&c.share[..]).unwrap())
        .collect();
    let dek = Zeroizing::new(Sharks(cards[0].threshold).recover(&shares).unwrap());
    let key: [u8; 32] = dek[..].try_into().expect("the DEK has 32 bytes");
    let dek_key = Dek::from_bytes(Zeroizing::new(key));
    for c in cards {
        assert_eq!(c.set_id, cards[0].set_id, "one set at a time");
        let master = unwrap_master(&dek_key, &c.set_id, &c.wrapped)
            .unwrap_or_else(|e| panic!("custodian {}: recomputed DEK: {e}", c.index));
        assert_eq!(&master[..], MASTER, "custodian {}", c.index);
    }
    dek
}

/// One secret the outputs must not contain, named for the failure message.
struct Secret {
    name: String,
    bytes: Vec<u8>,
}

impl Secret {
    fn new(name: impl Into<String>, bytes: &[u8]) -> Secret {
        Secret {
            name: name.into(),
            bytes: bytes.to_vec(),
        }
    }
}

/// The secrets of one set: every share (whole, and its y alone), every DH output in both
/// dresses, and the DEK.
fn set_secrets(label: &str, cards: &[Opened], dek: &[u8]) -> Vec<Secret> {
    let mut out = vec![Secret::new(format!("{label} DEK"), dek)];
    for c in cards {
        let who = format!("{label} custodian {}", c.index);
        out.push(Secret::new(format!("{who} share"), &c.share[..]));
        out.push(Secret::new(format!("{who} share y"), &c.share[1..]));
        out.push(Secret::new(
            format!("{who} DH output (Wei25519 x)"),
            &c.dh_wei_x[..],
        ));
        out.push(Secret::new(
            format!("{who} DH output (X25519 u)"),
            &c.dh_u[..],
        ));
    }
    out
}

/// A PIN as typed (its digits) and as the card receives it (the 12-byte PIN block).
fn pin_secrets(name: &str, pin: &str) -> Vec<Secret> {
    vec![
        Secret::new(format!("{name} (digits)"), pin.as_bytes()),
        Secret::new(
            format!("{name} (PIN block)"),
            PinBlock::new(pin).unwrap().as_bytes(),
        ),
    ]
}

/// Where a secret could hide in printed text: its raw bytes, its hex in either case, and
/// its hex with a space between bytes (how pcscd and the APDU headers of `--trace` print).
fn hex_forms(bytes: &[u8]) -> [String; 2] {
    let hex = hex::encode(bytes);
    let spaced = bytes
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(" ");
    [hex, spaced]
}

/// The bytes an APDU log carries, joined across lines: command data (header dropped, GET
/// RESPONSE skipped) and response data (status word dropped), so a secret cut in two by
/// a PUT RECORD chain or by output chaining is still found whole. `command` and
/// `response` are the markers that start an APDU or a response on a line.
fn wire_stream(text: &str, command: &str, response: &str) -> Vec<u8> {
    let mut stream = Vec::new();
    for line in text.lines() {
        let (is_command, rest) = match (line.find(command), line.find(response)) {
            (Some(i), _) => (true, &line[i + command.len()..]),
            (None, Some(i)) => (false, &line[i + response.len()..]),
            (None, None) => continue,
        };
        let bytes = hex_tokens(rest);
        if is_command {
            if bytes.len() > 5 && bytes[1] != 0xC0 {
                stream.extend_from_slice(&bytes[5..]);
            }
        } else if bytes.len() > 2 {
            stream.extend_from_slice(&bytes[..bytes.len() - 2]);
        }
    }
    stream
}

/// The bytes of the hex tokens of a trace or log line; `<REDACTED n bytes>` marks and
/// other words are left out.
fn hex_tokens(line: &str) -> Vec<u8> {
    let mut shown = String::new();
    let mut inside = false;
    for ch in line.chars() {
        match ch {
            '<' => inside = true,
            '>' => {
                inside = false;
                shown.push(' ');
            }
            c if !inside => shown.push(c),
            _ => {}
        }
    }
    shown
        .split_whitespace()
        .filter(|t| t.len() % 2 == 0 && t.bytes().all(|b| b.is_ascii_hexdigit()))
        .flat_map(|t| hex::decode(t).expect("checked hex"))
        .collect()
}

/// Every place where a secret shows up in an output; each finding names the secret, the
/// output and how it was found.
fn leaks(
    outputs: &[(String, Vec<u8>)],
    streams: &[(String, Vec<u8>)],
    secrets: &[Secret],
) -> Vec<String> {
    let mut found = Vec::new();
    for (place, raw) in outputs {
        let lower = raw.to_ascii_lowercase();
        for s in secrets {
            if let Some(at) = position(raw, &s.bytes) {
                found.push(format!(
                    "{} appears raw in {place}: {}",
                    s.name,
                    line_at(raw, at)
                ));
            }
            for form in hex_forms(&s.bytes) {
                if let Some(at) = position(&lower, form.as_bytes()) {
                    found.push(format!(
                        "{} appears as hex in {place}: {}",
                        s.name,
                        line_at(raw, at)
                    ));
                }
            }
        }
    }
    for (place, stream) in streams {
        for s in secrets {
            if position(stream, &s.bytes).is_some() {
                found.push(format!("{} is in the APDU data of {place}", s.name));
            }
        }
    }
    found
}

/// Where `needle` first occurs in `haystack`.
fn position(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// The line around byte `at`, for a failure message.
fn line_at(text: &[u8], at: usize) -> String {
    let start = text[..at]
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |i| i + 1);
    let end = text[at..]
        .iter()
        .position(|&b| b == b'\n')
        .map_or(text.len(), |i| at + i);
    String::from_utf8_lossy(&text[start..end.min(start + 300)]).into_owned()
}

/// Everything quorumctl printed during the ceremonies, run by run.
struct Transcript {
    log: std::path::PathBuf,
    outputs: Vec<(String, Vec<u8>)>,
}

impl Transcript {
    /// Runs quorumctl at its most verbose level with its own ceremony log, keeps both
    /// output streams, and fails the test unless it succeeds.
    fn run_ok(&mut self, args: &[&str]) -> std::process::Output {
        let mut full = vec!["--trace", "--log", self.log.to_str().unwrap()];
        full.extend_from_slice(args);
        // --stats, offered by every command that talks to cards: after the command's name
        if matches!(
            args.first(),
            Some(
                &"init"
                    | &"enroll"
                    | &"recover"
                    | &"verify"
                    | &"add-card"
                    | &"reshare"
                    | &"change-pin"
                    | &"reset-card"
                    | &"status"
                    | &"export-bundle"
            )
        ) {
            full.insert(4, "--stats");
        }
        let out = run(&full);
        assert!(
            out.status.success(),
            "quorumctl {args:?} failed:\n{}",
            show(&out)
        );
        let n = self.outputs.len() / 2 + 1;
        self.outputs.push((
            format!("stdout of run {n} ({})", args[0]),
            out.stdout.clone(),
        ));
        self.outputs.push((
            format!("stderr of run {n} ({})", args[0]),
            out.stderr.clone(),
        ));
        out
    }

    /// Makes a new card in `reader` and personalises it with `pin` (from a PIN file).
    fn init(&mut self, farm: &Farm, dir: &Path, reader: usize, pin: &str) -> Custodian {
        let card = farm.new_card(None);
        farm.insert(&card, reader);
        let pins = pin_file(dir, &format!("init-{reader}.pin"), &[pin.to_owned()]);
        let out = self.run_ok(&[
            "init",
            "--reader",
            farm.reader_name(reader),
            "--pin-file",
            pins.to_str().unwrap(),
        ]);
        let fingerprint = init_fingerprint(&out);
        Custodian {
            card,
            fingerprint,
            pin: pin.to_owned(),
        }
    }

    /// All of standard error, for the checks that the trace did print.
    fn stderr(&self) -> String {
        self.outputs
            .iter()
            .filter(|(name, _)| name.starts_with("stderr"))
            .map(|(_, bytes)| String::from_utf8_lossy(bytes).into_owned())
            .collect()
    }
}

/// PINs of 10 and 12 digits: a 6-digit PIN would turn up by chance in the many kilobytes of
/// hex a trace prints (about one run in thirty), 10 digits practically never. None starts
/// with 1, so none can be a Unix time either. The block hex is checked for every one.
const PINS: [&str; 7] = [
    "7204619385",
    "830562749163",
    "5928374610",
    "649105837264",
    "3871029465",
    "902746183527",
    "4617390258",
];

#[test]
fn ceremonies_at_the_most_verbose_level_print_no_secret() {
    let _guard = lock();
    let farm = Farm::connect();
    let dir = scratch("secrets-trace");
    let mut t = Transcript {
        log: dir.join("ceremony.log.jsonl"),
        outputs: Vec::new(),
    };
    farm.clear_all();
    // Three custodians (a, b, c), one card added later (d), two fresh cards for the reshare.
    let mut cards: Vec<Custodian> = (0..6).map(|i| t.init(&farm, &dir, i, PINS[i])).collect();
    let pins = pins_of(&dir, "all.pins", &cards);
    let master = dir.join("master.in");
    std::fs::write(&master, MASTER).unwrap();
    let bundle = dir.join("leak-set.quorum.json");
    let new_bundle = dir.join("leak-new.quorum.json");

    present(&farm, &[&cards[0], &cards[1], &cards[2]]);
    t.run_ok(&[
        "enroll",
        "--threshold",
        "2",
        "--label",
        "leak-set",
        "--in",
        master.to_str().unwrap(),
        "--bundle",
        bundle.to_str().unwrap(),
        "--pin-file",
        pins.to_str().unwrap(),
    ]);

    present(&farm, &[&cards[0], &cards[2]]);
    let recovered = dir.join("recovered-1.key");
    t.run_ok(&[
        "recover",
        "--out",
        recovered.to_str().unwrap(),
        "--pin-file",
        pins.to_str().unwrap(),
    ]);
    assert_eq!(std::fs::read(&recovered).unwrap(), MASTER);

    present(&farm, &[&cards[1]]);
    t.run_ok(&[
        "verify",
        "--bundle",
        bundle.to_str().unwrap(),
        "--pin-file",
        pins.to_str().unwrap(),
    ]);

    present(&farm, &[&cards[0], &cards[1], &cards[3]]);
    t.run_ok(&[
        "add-card",
        "--bundle",
        bundle.to_str().unwrap(),
        "--name",
        "Dora",
        "--pin-file",
        pins.to_str().unwrap(),
    ]);

    present(&farm, &[&cards[3]]);
    let old_pin = pin_file(&dir, "dora-old.pin", &[cards[3].pin.clone()]);
    let new_pin = pin_file(&dir, "dora-new.pin", &[PINS[6].to_owned()]);
    t.run_ok(&[
        "change-pin",
        "--reader",
        farm.reader_name(0),
        "--pin-file",
        old_pin.to_str().unwrap(),
        "--new-pin-file",
        new_pin.to_str().unwrap(),
    ]);
    cards[3].pin = PINS[6].to_owned();
    let pins = pins_of(&dir, "all-after-change.pins", &cards);

    // The old set's secrets, before the reshare wipes its cards.
    present(&farm, &[&cards[0], &cards[1], &cards[2], &cards[3]]);
    let old_set: Vec<Opened> = (0..4)
        .map(|i| open_unblinded(&farm, i, &cards[i].pin))
        .collect();
    let old_dek = dek_of(&old_set);

    // The new set: card a re-used, the two fresh cards join; b, c and d are wiped.
    present(&farm, &cards.iter().collect::<Vec<_>>());
    t.run_ok(&[
        "reshare",
        "--threshold",
        "2",
        "--label",
        "leak-new",
        "--bundle",
        bundle.to_str().unwrap(),
        "--new-bundle",
        new_bundle.to_str().unwrap(),
        "--reuse",
        &cards[0].fingerprint,
        "--pin-file",
        pins.to_str().unwrap(),
    ]);
    // The re-used card has a new key pair, so a new fingerprint; its PIN stays.
    present(&farm, &[&cards[0]]);
    let renewed = fingerprint_in(&farm, 0);
    assert_ne!(
        renewed, cards[0].fingerprint,
        "a re-used card gets a new key"
    );
    cards[0].fingerprint = renewed;
    let pins = pins_of(&dir, "all-after-reshare.pins", &cards);
    present(&farm, &[&cards[4], &cards[0]]);
    let recovered = dir.join("recovered-2.key");
    t.run_ok(&[
        "recover",
        "--out",
        recovered.to_str().unwrap(),
        "--pin-file",
        pins.to_str().unwrap(),
    ]);
    assert_eq!(std::fs::read(&recovered).unwrap(), MASTER);

    present(&farm, &[&cards[0], &cards[4], &cards[5]]);
    let new_set: Vec<Opened> = [0, 4, 5]
        .iter()
        .enumerate()
        .map(|(reader, &c)| open_unblinded(&farm, reader, &cards[c].pin))
        .collect();
    let new_dek = dek_of(&new_set);
    assert_ne!(old_dek, new_dek, "the reshare made a new DEK");

    // The trace did print, and redacted: every secret-carrying APDU shows its mark.
    let stderr = t.stderr();
    let commands = stderr.lines().filter(|l| l.starts_with(">>> ")).count();
    let answers = stderr.lines().filter(|l| l.starts_with("<<< ")).count();
    assert!(
        commands > 100 && answers == commands,
        "{commands} commands, {answers} answers traced"
    );
    for command in [
        "init",
        "enroll",
        "recover",
        "verify",
        "add-card",
        "change-pin",
        "reshare",
    ] {
        let said = format!(" {command}: ");
        assert!(
            stderr
                .lines()
                .any(|l| l.starts_with("stats: ") && l.contains(&said)),
            "--stats printed nothing for {command}:\n{stderr}"
        );
    }
    for mark in [
        ">>> 80 12 00 00 0D 05<REDACTED 12 bytes>", // INITIALISE: the first PIN
        ">>> 00 20 00 81 0C <REDACTED 12 bytes>",   // VERIFY
        ">>> 00 24 00 81 18 <REDACTED 24 bytes>",   // CHANGE REFERENCE DATA
        ">>> 80 18 01 00 41 <REDACTED 65 bytes> 00", // UNSEAL P1 = 01: the blinded point
        "<<< <REDACTED 81 bytes> 9000", // its answer: the DH step and the sealed part's ct
    ] {
        assert!(stderr.contains(mark), "no {mark:?} in the trace");
    }
    // The sealed part ends every record, so the last link of every PUT RECORD ends redacted.
    let last_links: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with(">>> 80 14"))
        .collect();
    assert!(!last_links.is_empty(), "no PUT RECORD in the trace");
    for link in last_links {
        assert!(
            link.ends_with(" bytes>"),
            "PUT RECORD without its sealed part redacted: {link}"
        );
    }

    let mut secrets = vec![Secret::new("the master secret", MASTER)];
    for (i, pin) in PINS.iter().enumerate() {
        secrets.extend(pin_secrets(&format!("PIN {i}"), pin));
    }
    secrets.extend(set_secrets("old set", &old_set, &old_dek));
    secrets.extend(set_secrets("new set", &new_set, &new_dek));

    // quorumctl's other outputs: its ceremony log and the bundles it wrote.
    let mut outputs = t.outputs.clone();
    for file in [
        &t.log,
        &bundle,
        &dir.join("leak-set.quorum.json.v1"),
        &new_bundle,
    ] {
        let bytes = std::fs::read(file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        outputs.push((file.display().to_string(), bytes));
    }
    let streams: Vec<(String, Vec<u8>)> = t
        .outputs
        .iter()
        .filter(|(name, _)| name.starts_with("stderr"))
        .map(|(name, bytes)| {
            (
                name.clone(),
                wire_stream(&String::from_utf8_lossy(bytes), ">>> ", "<<< "),
            )
        })
        .collect();
    assert!(
        streams.iter().map(|(_, s)| s.len()).sum::<usize>() > 1000,
        "the trace shows APDU data"
    );
    let found = leaks(&outputs, &streams, &secrets);
    assert!(
        found.is_empty(),
        "secrets in quorumctl's output ({} checked in {} outputs):\n{}",
        secrets.len(),
        outputs.len(),
        found.join("\n")
    );
}

/// Reads what pcscd appended to its log since byte `from`, waiting until it shows
/// `unseals` UNSEAL commands (pcscd writes the lines as the exchanges happen).
pub(crate) fn pcscd_log_since(log: &Path, from: u64, unseals: usize) -> String {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let all = std::fs::read(log).unwrap_or_else(|e| panic!("{}: {e}", log.display()));
        let slice = String::from_utf8_lossy(&all[from as usize..]).into_owned();
        if slice.matches("APDU: 80 18 00 00 41 ").count() >= unseals || Instant::now() > deadline {
            return slice;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn pcscd_apdu_log_of_a_recovery_holds_no_share_dek_or_dh_output() {
    let _guard = lock();
    let farm = Farm::connect();
    let dir = scratch("secrets-wire");
    let (custodians, pins, _) = enrolled(&farm, &dir, "wire-set", 2, 3, MASTER);
    let used = [&custodians[0], &custodians[2]];
    present(&farm, &used);
    let log = Sim::pcscd_log();
    let from = std::fs::metadata(&log).map(|m| m.len()).unwrap_or(0);
    let recovered = dir.join("recovered.key");
    run_ok(&[
        "recover",
        "--out",
        recovered.to_str().unwrap(),
        "--pin-file",
        pins.to_str().unwrap(),
    ]);
    assert_eq!(std::fs::read(&recovered).unwrap(), MASTER);
    // The slice is taken before the test's own unblinded UNSEALs below reach pcscd.
    let slice = pcscd_log_since(&log, from, 2);

    // Logging works: one UNSEAL P1 = 01 per card (protocol 1.2 and later), each answered with 32 bytes
    // of DH answer, the 49-byte ciphertext of the sealed part, and 9000.
    let lines: Vec<&str> = slice.lines().collect();
    let unseals: Vec<usize> = (0..lines.len())
        .filter(|&i| lines[i].contains("APDU: 80 18 01 00 41 04 "))
        .collect();
    assert_eq!(
        unseals.len(),
        2,
        "pcscd logged no UNSEAL of this recovery (is it running with -a? scripts/sim restarts it with QUORUM_SIM_APDU_LOG=1):\n{slice}"
    );
    for &i in &unseals {
        let answer = lines
            .get(i + 1)
            .and_then(|l| l.split("SW: ").nth(1))
            .unwrap_or_else(|| panic!("no response logged after {:?}", lines[i]));
        assert_eq!(
            hex_tokens(answer).len(),
            32 + 49 + 2,
            "UNSEAL answer {answer:?}"
        );
        assert!(
            answer.trim_end().ends_with("90 00"),
            "UNSEAL answer {answer:?}"
        );
    }

    // Only now the test's own UNSEAL of the plain E: the DH outputs it must not find.
    let opened: Vec<Opened> = used
        .iter()
        .enumerate()
        .map(|(reader, c)| open_unblinded(&farm, reader, &c.pin))
        .collect();
    let dek = dek_of(&opened);
    let mut secrets = set_secrets("the set", &opened, &dek);
    secrets.push(Secret::new("the master secret", MASTER));
    // E itself (as the card would see it) never went to the card either.
    for c in &opened {
        secrets.push(Secret::new(
            format!("custodian {} unblinded E (Wei25519 x)", c.index),
            &c.enc_wei_x,
        ));
    }
    // The PIN is not checked: typed on the host it must reach the card, so each VERIFY
    // carries its PIN block in the clear and pcscd logs it. Only a PIN pad reader keeps
    // it off the host (apdu-spec/pinpad.md).
    let stream = wire_stream(&slice, "APDU: ", "SW: ");
    assert!(
        stream.len() > 500,
        "the log slice shows APDU data: {} bytes",
        stream.len()
    );
    let found = leaks(
        &[(
            "pcscd's APDU log of the recovery".to_owned(),
            slice.clone().into_bytes(),
        )],
        &[("pcscd's APDU log of the recovery".to_owned(), stream)],
        &secrets,
    );
    assert!(
        found.is_empty(),
        "secrets on the wire during recovery:\n{}",
        found.join("\n")
    );
}
