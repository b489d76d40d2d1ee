//! What the host's cryptography costs per operation, for scripts/bench's report: Shamir
//! split and combine at 255-of-255 through quorum's own sharing functions, one HPKE seal
//! and open (crypto.md §5), the Wei25519 <-> X25519 point mapping, and a record's encode
//! and decode at m = 255. Run with `cargo bench -p quorum-protocol --features testkit`.

use std::time::Duration;

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use rand::SeedableRng;
use rand_chacha::ChaCha20Rng;
use x25519_dalek::{PublicKey, StaticSecret};

use quorum_protocol::crypto::hpke;
use quorum_protocol::crypto::wei25519::{u_to_wei_x, wei_x_to_u, SubgroupPoint};
use quorum_protocol::record::PublicRecord;
use quorum_protocol::sharing::testkit::{open_all, setup};
use quorum_protocol::sharing::{enroll, recover, EnrollSecrets};

/// The largest set a record allows.
const M: usize = 255;

/// Split: the DEK's 255 shares (and one ephemeral key per card) as enroll draws them.
/// Combine: `sharing::recover` of 255 opened shares, which checks they are one set,
/// interpolates the DEK, unwraps the master and authenticates every card's description;
/// and the interpolation alone (blahaj's recover, as `sharing` calls it).
fn shamir(c: &mut Criterion) {
    let mut rng = ChaCha20Rng::seed_from_u64(1);
    c.bench_function("shamir_split_255_of_255", |b| {
        b.iter(|| EnrollSecrets::draw(black_box(255), M, &mut rng).unwrap())
    });
    let secrets = EnrollSecrets::draw(255, M, &mut rng).unwrap();
    let shares: Vec<blahaj::Share> = secrets
        .shares
        .iter()
        .map(|s| blahaj::Share::try_from(&s[..]).unwrap())
        .collect();
    c.bench_function("shamir_combine_255_of_255_interpolation_only", |b| {
        b.iter(|| blahaj::Sharks(255).recover(black_box(&shares)).unwrap())
    });
    let (cards, people) = setup(M, &mut rng);
    let enrolled = enroll(&[7u8; 32], 255, "bench", &people, &mut rng).unwrap();
    let opened = open_all(&enrolled, &cards, &mut rng);
    c.bench_function("shamir_combine_255_of_255", |b| {
        b.iter(|| recover(black_box(&opened)).unwrap())
    });
}

/// One share's HPKE seal to a card key and its open (a 33-byte share, the record's aad).
fn hpke_seal_open(c: &mut Criterion) {
    let mut rng = ChaCha20Rng::seed_from_u64(2);
    let sk = StaticSecret::random_from_rng(&mut rng);
    let pk = PublicKey::from(&sk).to_bytes();
    let (aad, share) = (vec![0x5Au8; 600], [0x33u8; 33]);
    c.bench_function("hpke_seal", |b| {
        b.iter(|| hpke::seal(&pk, b"info", &aad, black_box(&share), &mut rng).unwrap())
    });
    let sealed = hpke::seal(&pk, b"info", &aad, &share, &mut rng).unwrap();
    c.bench_function("hpke_open", |b| {
        b.iter(|| hpke::open(&sk, &sealed.enc, b"info", &aad, black_box(&sealed.ct)).unwrap())
    });
}

/// The mapping alone in both directions, and a card point accepted with every check.
fn point_mapping(c: &mut Criterion) {
    let mut rng = ChaCha20Rng::seed_from_u64(3);
    let u = PublicKey::from(&StaticSecret::random_from_rng(&mut rng)).to_bytes();
    let x = u_to_wei_x(&u).unwrap();
    let point = SubgroupPoint::from_u(&u).unwrap().to_wei_point();
    c.bench_function("point_x25519_to_wei25519", |b| {
        b.iter(|| u_to_wei_x(black_box(&u)).unwrap())
    });
    c.bench_function("point_wei25519_to_x25519", |b| {
        b.iter(|| wei_x_to_u(black_box(&x)).unwrap())
    });
    c.bench_function("point_card_key_checked", |b| {
        b.iter(|| SubgroupPoint::from_wei_point(black_box(&point)).unwrap())
    });
}

/// A 255-custodian public part: encode (validates first) and decode (parses and validates).
fn record(c: &mut Criterion) {
    let mut rng = ChaCha20Rng::seed_from_u64(4);
    let (_, people) = setup(M, &mut rng);
    let enrolled = enroll(&[7u8; 32], 3, "bench", &people, &mut rng).unwrap();
    let first = &enrolled.cards[0];
    c.bench_function("record_encode_m255", |b| {
        b.iter(|| black_box(&first.record).encode().unwrap())
    });
    c.bench_function("record_decode_m255", |b| {
        b.iter(|| PublicRecord::decode(black_box(&first.public)).unwrap())
    });
}

criterion_group! {
    name = costs;
    // Short runs: the report wants the order of magnitude on a shared machine.
    config = Criterion::default()
        .sample_size(20)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    targets = shamir, hpke_seal_open, point_mapping, record
}
criterion_main!(costs);
