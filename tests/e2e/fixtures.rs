//! Ceremony fixtures shared by the end-to-end tests: fresh personalised cards, enrolled
//! sets, and putting chosen cards into the readers.

use std::path::{Path, PathBuf};

use quorum_protocol::bundle::Bundle;

use crate::farm::Farm;
use crate::run::{pin_file, run_ok};

/// One simulated custodian card: farm id, fingerprint, PIN.
#[derive(Clone, Debug)]
pub struct Custodian {
    pub card: String,
    pub fingerprint: String,
    pub pin: String,
}

/// Makes `n` new cards, puts card i into reader i, and personalises each with its own PIN.
pub fn personalise(farm: &Farm, dir: &Path, n: usize) -> Vec<Custodian> {
    farm.clear_all();
    (0..n).map(|i| personalise_in(farm, dir, i, i)).collect()
}

/// Makes one new card in reader `reader` (which must be empty) and personalises it with
/// the PIN numbered `k` (distinct for distinct k).
pub fn personalise_in(farm: &Farm, dir: &Path, reader: usize, k: usize) -> Custodian {
    let card = farm.new_card(None);
    farm.insert(&card, reader);
    let pin = format!("{:06}", 246_800 + k * 11);
    let pins = pin_file(dir, "init-pin", std::slice::from_ref(&pin));
    let done = run_ok(&[
        "init",
        "--reader",
        farm.reader_name(reader),
        "--pin-file",
        pins.to_str().unwrap(),
    ]);
    let fingerprint = init_fingerprint(&done);
    Custodian {
        card,
        fingerprint,
        pin,
    }
}

/// The fingerprint `quorumctl init` printed for the card it personalised.
pub fn init_fingerprint(done: &std::process::Output) -> String {
    let stdout = text(&done.stdout);
    stdout
        .split("Fingerprint: ")
        .nth(1)
        .map(|s| s.trim().to_owned())
        .unwrap_or_else(|| panic!("init printed no fingerprint: {stdout}"))
}

/// The PIN file of a ceremony: one "FINGERPRINT PIN" line per custodian.
pub fn pins_of(dir: &Path, name: &str, custodians: &[Custodian]) -> PathBuf {
    let lines: Vec<String> = custodians
        .iter()
        .map(|c| format!("{} {}", c.fingerprint, c.pin))
        .collect();
    pin_file(dir, name, &lines)
}

/// Personalises `m` cards and enrolls `master` n-of-m with every card in a reader.
pub fn enrolled(
    farm: &Farm,
    dir: &Path,
    label: &str,
    n: usize,
    m: usize,
    master: &[u8],
) -> (Vec<Custodian>, PathBuf, Bundle) {
    let custodians = personalise(farm, dir, m);
    let pins = pins_of(dir, &format!("{label}.pins"), &custodians);
    let input = dir.join(format!("{label}.master"));
    std::fs::write(&input, master).unwrap();
    let bundle_path = dir.join(format!("{label}.quorum.json"));
    let threshold = n.to_string();
    let mut args = vec![
        "enroll",
        "--threshold",
        &threshold,
        "--label",
        label,
        "--in",
        input.to_str().unwrap(),
        "--bundle",
        bundle_path.to_str().unwrap(),
        "--pin-file",
        pins.to_str().unwrap(),
    ];
    if n == 1 {
        args.push("--allow-single-card");
    }
    run_ok(&args);
    let bundle = Bundle::parse(&std::fs::read_to_string(&bundle_path).unwrap()).unwrap();
    (custodians, pins, bundle)
}

/// Puts exactly these cards into readers 0, 1, ... (all others out).
pub fn present(farm: &Farm, cards: &[&Custodian]) {
    farm.clear_all();
    for (i, c) in cards.iter().enumerate() {
        farm.insert(&c.card, i);
    }
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The fingerprint of the card in `reader`, read from the card itself (GET STATUS): after a
/// reshare re-uses a card, its key and so its fingerprint are new.
pub fn fingerprint_in(farm: &Farm, reader: usize) -> String {
    let ctx = quorum_pcsc::PcscContext::establish().unwrap();
    let mut card =
        quorum_card::card::Card::new(ctx.connect_pcsc(farm.reader_name(reader)).unwrap());
    card.select().unwrap();
    let point = card
        .status()
        .unwrap()
        .public_key
        .expect("a personalised card");
    quorum_protocol::crypto::CardKey::from_card_point(&point)
        .unwrap()
        .fingerprint()
}
