//! Writes apdu-spec/vectors/{wei25519,hpke,record,openpgp}.json deterministically.
//!
//! Every random value comes from ChaCha20 seeded with SHA-256("quorum/v1/vectors/" ‖ file
//! name), so running it again gives the same bytes. The Rust tests next to the code
//! recompute every value in these files; the Java tests read them too.
//!
//! Usage: `cargo run -p quorum-protocol --example gen_vectors [-- OUT_DIR]`
//! (default OUT_DIR: apdu-spec/vectors of this workspace).

use std::path::PathBuf;

use curve25519_dalek::constants::{ED25519_BASEPOINT_POINT, EIGHT_TORSION};
use curve25519_dalek::montgomery::MontgomeryPoint;
use curve25519_dalek::scalar::Scalar;
use curve25519_dalek::traits::IsIdentity;
use quorum_protocol::crypto::commitment::share_commitment;
use quorum_protocol::crypto::hpke::{self, Context};
use quorum_protocol::crypto::wei25519::{self, SubgroupPoint};
use quorum_protocol::crypto::CardKey;
use quorum_protocol::record::{put_record_stream, share_info, Custodian, PublicRecord};
use quorum_protocol::sharing::{
    add_card, enroll, enroll_with, open_share, EnrollSecrets, EnrolledCard, NewCustodian,
    OpenedShare,
};
use rand::{RngCore, SeedableRng};
use rand_chacha::ChaCha20Rng;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use x25519_dalek::{PublicKey, StaticSecret};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let out = std::env::args_os()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../apdu-spec/vectors")
        });
    std::fs::create_dir_all(&out)?;
    for (name, value) in [
        ("wei25519.json", wei25519_vectors()),
        ("hpke.json", hpke_vectors()),
        ("record.json", record_vectors()),
        ("openpgp.json", openpgp_vectors()),
    ] {
        let path = out.join(name);
        std::fs::write(&path, serde_json::to_string_pretty(&value)? + "\n")?;
        println!("wrote {}", path.display());
    }
    Ok(())
}

/// The seeded RNG of one vector file.
fn rng_for(file: &str) -> ChaCha20Rng {
    let seed: [u8; 32] = Sha256::new()
        .chain_update(b"quorum/v1/vectors/")
        .chain_update(file)
        .finalize()
        .into();
    ChaCha20Rng::from_seed(seed)
}

/// A uniformly random scalar in [1, r).
fn scalar(rng: &mut ChaCha20Rng) -> Scalar {
    loop {
        let mut wide = [0u8; 64];
        rng.fill_bytes(&mut wide);
        let s = Scalar::from_bytes_mod_order_wide(&wide);
        if s != Scalar::ZERO {
            return s;
        }
    }
}

fn scalar_be(s: &Scalar) -> String {
    let mut b = s.to_bytes();
    b.reverse();
    hex::encode(b)
}

fn generator_point() -> [u8; 65] {
    let mut g = [0u8; 65];
    g[0] = 4;
    g[1..33].copy_from_slice(&hex::decode(wei25519::GX_HEX).unwrap());
    g[33..].copy_from_slice(&hex::decode(wei25519::GY_HEX).unwrap());
    g
}

fn dh_case(name: &str, d: &Scalar, point_wei: [u8; 65]) -> Value {
    let p = SubgroupPoint::from_wei_point(&point_wei).expect("case points are valid");
    let dh_u = (MontgomeryPoint(p.u()) * d).to_bytes();
    json!({
        "name": name,
        "scalar_be": scalar_be(d),
        "point_wei": hex::encode(point_wei),
        "montgomery_u_le": hex::encode(p.u()),
        "dh_x_be": hex::encode(wei25519::u_to_wei_x(&dh_u).unwrap()),
        "dh_u_le": hex::encode(dh_u),
    })
}

fn wei25519_vectors() -> Value {
    let mut rng = rng_for("wei25519.json");
    let r_minus_1 = -Scalar::ONE;
    let random_point = |rng: &mut ChaCha20Rng| {
        SubgroupPoint::from_u(&MontgomeryPoint::mul_base(&scalar(rng)).to_bytes())
            .unwrap()
            .to_wei_point()
    };
    let mut cases = vec![
        dh_case("generator", &scalar(&mut rng), generator_point()),
        dh_case("generator, d = 1", &Scalar::ONE, generator_point()),
    ];
    for i in 1..=3 {
        let d = scalar(&mut rng);
        let p = random_point(&mut rng);
        cases.push(dh_case(&format!("random point {i}"), &d, p));
    }
    let p = random_point(&mut rng);
    cases.push(dh_case(
        "random point, d = r - 1 (so x(d*P) = x(P))",
        &r_minus_1,
        p,
    ));

    let p_big = num_bigint::BigUint::parse_bytes(wei25519::P_HEX.as_bytes(), 16).unwrap();
    let mut invalid: Vec<(String, Vec<u8>)> = Vec::new();
    let g = generator_point();
    let mut off = g;
    off[64] ^= 0x01;
    invalid.push((
        "off curve: generator with y + 1 (its last bit flipped)".into(),
        off.to_vec(),
    ));
    let mut seen = Vec::new();
    for t in EIGHT_TORSION.iter() {
        let u = t.to_montgomery().to_bytes();
        let order = (1..=8u8)
            .find(|k| (t * Scalar::from(*k)).is_identity())
            .unwrap();
        if order == 1 || seen.contains(&u) {
            continue;
        }
        seen.push(u);
        if let Ok(w) = wei25519::wei_point_from_u(&u) {
            invalid.push((
                format!("low order {order}: Montgomery u = {}", hex::encode(u)),
                w.to_vec(),
            ));
        }
    }
    let mixed = (ED25519_BASEPOINT_POINT + EIGHT_TORSION[1])
        .to_montgomery()
        .to_bytes();
    invalid.push((
        "mixed order: generator plus a point of order 8 (on the curve, outside the subgroup)"
            .into(),
        wei25519::wei_point_from_u(&mixed).unwrap().to_vec(),
    ));
    // u = 2 lies on the quadratic twist; give it the y of the twist curve 2·y² = x³ + ax + b.
    let mut u2 = [0u8; 32];
    u2[0] = 2;
    let x = wei25519::u_to_wei_x(&u2).unwrap();
    let xb = num_bigint::BigUint::from_bytes_be(&x);
    let a = num_bigint::BigUint::parse_bytes(wei25519::A_HEX.as_bytes(), 16).unwrap();
    let b = num_bigint::BigUint::parse_bytes(wei25519::B_HEX.as_bytes(), 16).unwrap();
    let rhs = (&xb * &xb * &xb + &a * &xb + &b) % &p_big;
    let half = rhs * num_bigint::BigUint::from(2u32).modpow(&(&p_big - 2u32), &p_big) % &p_big;
    let y = twist_sqrt(&half, &p_big);
    let mut tw = vec![4u8];
    tw.extend_from_slice(&x);
    tw.extend_from_slice(&be32(&y));
    invalid.push((
        "twist: x of Montgomery u = 2, a point of the quadratic twist".into(),
        tw,
    ));
    let mut nc = vec![4u8];
    nc.extend_from_slice(&be32(
        &(num_bigint::BigUint::from_bytes_be(&g[1..33]) + &p_big),
    ));
    nc.extend_from_slice(&g[33..]);
    invalid.push(("non-canonical x: generator with x + p".into(), nc));
    let mut hybrid = g;
    hybrid[0] = 0x07;
    invalid.push((
        "hybrid encoding 07 (SEC 1 allows it, quorum does not)".into(),
        hybrid.to_vec(),
    ));
    let mut compressed = g;
    compressed[0] = 0x02;
    invalid.push(("prefix 02 on a 65-byte point".into(), compressed.to_vec()));

    let invalid: Vec<Value> = invalid
        .into_iter()
        .map(|(name, bytes)| {
            let err =
                SubgroupPoint::from_wei_point(&bytes).expect_err("invalid vectors must be refused");
            json!({ "name": name, "point_wei": hex::encode(bytes), "reason": err.to_string() })
        })
        .collect();

    json!({
        "description": "Wei25519 (short Weierstrass Curve25519) points and plain ECDH (the x coordinate of d*P, as KeyAgreement.ALG_EC_SVDP_DH_PLAIN returns it). Integers and coordinates are big-endian hex; montgomery_u_le and dh_u_le are X25519 little-endian u. point_wei of the generator cases is the published G; for the other cases y is the even root. invalid_points must all be refused by the host (reason = the host's error message); some of them (low order, mixed order) are on the curve, so a card's EC engine may accept them. Generated by crates/protocol/examples/gen_vectors.rs.",
        "curve": {
            "p": wei25519::P_HEX, "a": wei25519::A_HEX, "b": wei25519::B_HEX,
            "gx": wei25519::GX_HEX, "gy": wei25519::GY_HEX, "r": wei25519::R_HEX,
            "h": wei25519::COFACTOR,
        },
        "cases": cases,
        "invalid_points": invalid,
    })
}

/// A square root mod p (p ≡ 5 mod 8) of a value known to be a square.
fn twist_sqrt(v: &num_bigint::BigUint, p: &num_bigint::BigUint) -> num_bigint::BigUint {
    let c = v.modpow(&((p + 3u32) >> 3), p);
    if &c * &c % p == *v {
        c
    } else {
        let i = num_bigint::BigUint::from(2u32).modpow(&((p - 1u32) >> 2), p);
        let c = c * i % p;
        assert_eq!(&c * &c % p, *v, "value must be a square");
        c
    }
}

fn be32(v: &num_bigint::BigUint) -> [u8; 32] {
    let b = v.to_bytes_be();
    let mut out = [0u8; 32];
    out[32 - b.len()..].copy_from_slice(&b);
    out
}

fn random32(rng: &mut ChaCha20Rng) -> [u8; 32] {
    let mut b = [0u8; 32];
    rng.fill_bytes(&mut b);
    b
}

fn hpke_vectors() -> Value {
    let mut rng = rng_for("hpke.json");
    let mut cases = Vec::new();
    for (index, count) in [(1u8, 2usize), (3, 5)] {
        let sk_r = StaticSecret::from(random32(&mut rng));
        let pk_r = PublicKey::from(&sk_r).to_bytes();
        let sk_e = StaticSecret::from(random32(&mut rng));
        let mut set_id = [0u8; 16];
        rng.fill_bytes(&mut set_id);
        let mut pt = [0u8; 33];
        rng.fill_bytes(&mut pt);
        pt[0] = index;
        // aad: a real public part in which custodian `index` holds the recipient key and the
        // commitment to pt; the other custodians' keys and commitments are random
        let custodians = (1..=count as u8)
            .map(|i| Custodian {
                index: i,
                card_key: if i == index {
                    CardKey::from_x25519(&pk_r).unwrap()
                } else {
                    CardKey::from_x25519(&MontgomeryPoint::mul_base(&scalar(&mut rng)).to_bytes())
                        .unwrap()
                },
                commitment: if i == index {
                    share_commitment(&set_id, &pt)
                } else {
                    random32(&mut rng)
                },
                name: format!("custodian {i}"),
            })
            .collect();
        let mut ct = vec![0u8; 48];
        rng.fill_bytes(&mut ct);
        let mut nonce = [0u8; 12];
        rng.fill_bytes(&mut nonce);
        let record = PublicRecord {
            set_id,
            set_version: 1,
            index,
            threshold: 2,
            label: "hpke vector".into(),
            custodians,
            wrapped: quorum_protocol::crypto::WrappedMaster { nonce, ct },
            key_check: quorum_protocol::crypto::KeyCheck(
                random32(&mut rng)[..8].try_into().unwrap(),
            ),
            mac: random32(&mut rng),
        };
        let aad = record.encode().unwrap();
        let info = share_info(&set_id, index);
        let (enc, ss) = hpke::encap_with_ephemeral(&sk_e, &pk_r).unwrap();
        let ctx = Context::new(&ss, &info);
        let ct = ctx.seal(&aad, &pt).unwrap();
        let sealed = hpke::seal_with_ephemeral(&sk_e, &pk_r, &info, &aad, &pt).unwrap();
        assert_eq!((sealed.enc, &sealed.ct), (enc, &ct));
        cases.push(json!({
            "name": format!("share of custodian {index} of {count}"),
            "skEm": hex::encode(sk_e.to_bytes()), "pkEm": hex::encode(enc),
            "skRm": hex::encode(sk_r.to_bytes()), "pkRm": hex::encode(pk_r),
            "info": hex::encode(info), "aad": hex::encode(&aad), "pt": hex::encode(pt),
            "enc": hex::encode(enc), "ct": hex::encode(&ct),
            "shared_secret": hex::encode(ss.as_bytes()),
            "key": hex::encode(ctx.key()), "base_nonce": hex::encode(ctx.base_nonce()),
        }));
    }
    json!({
        "description": "RFC 9180 single-shot base mode as quorum uses it: info = \"quorum/v1/share\" || set_id || index, aad = the public part of the card's record, pt = a 33-byte share. skRm/skEm are X25519 private keys (clamped when used). Generated by crates/protocol/examples/gen_vectors.rs.",
        "suite": { "mode": 0, "kem_id": hpke::KEM_ID, "kdf_id": hpke::KDF_ID, "aead_id": hpke::AEAD_ID },
        "cases": cases,
    })
}

fn record_vectors() -> Value {
    let mut rng = rng_for("record.json");
    let names = ["Alice Ångström", "Bob", "Chloé Martin", "Дмитрий", ""];
    let scalars: Vec<Scalar> = names.iter().map(|_| scalar(&mut rng)).collect();
    let keys: Vec<CardKey> = scalars
        .iter()
        .map(|d| CardKey::from_x25519(&MontgomeryPoint::mul_base(d).to_bytes()).unwrap())
        .collect();
    let people: Vec<NewCustodian> = keys
        .iter()
        .zip(names)
        .map(|(k, n)| NewCustodian {
            card_key: *k,
            name: n.to_owned(),
        })
        .collect();
    let mut master = vec![0u8; 256];
    rng.fill_bytes(&mut master);
    let threshold = 3;
    let label = "Example Corp root CA (test vectors)";
    let seed = random32(&mut rng);
    let secrets =
        EnrollSecrets::draw(threshold, people.len(), &mut ChaCha20Rng::from_seed(seed)).unwrap();
    let en = enroll_with(&master, threshold, label, &people, &secrets).unwrap();
    let replay = enroll(
        &master,
        threshold,
        label,
        &people,
        &mut ChaCha20Rng::from_seed(seed),
    )
    .unwrap();
    assert_eq!(replay, en, "enroll and enroll_with must agree");

    let custodians: Vec<Value> = people
        .iter()
        .zip(&scalars)
        .enumerate()
        .map(|(i, (p, d))| {
            json!({
                "index": i + 1,
                "name": p.name,
                "card_scalar_be": scalar_be(d),
                "card_point_wei": hex::encode(p.card_key.point().to_wei_point()),
                "card_key": hex::encode(p.card_key.to_x25519()),
                "card_fingerprint": p.card_key.fingerprint(),
            })
        })
        .collect();
    let cases: Vec<Value> = en
        .cards
        .iter()
        .enumerate()
        .map(|(i, c)| {
            json!({
                "name": format!("3-of-5 enrollment, card {}", i + 1),
                "index": c.index(),
                "share": hex::encode(&secrets.shares[i][..]),
                "ephemeral_sk": hex::encode(secrets.ephemeral[i].to_bytes()),
                "enc": hex::encode(&c.sealed[..32]),
                "info": hex::encode(c.record.share_info()),
                "commitment": hex::encode(c.record.custodians[i].commitment),
                "public_hex": hex::encode(&c.public),
                "sealed_hex": hex::encode(&c.sealed),
                "stream_hex": hex::encode(put_record_stream(&c.public, &c.sealed).unwrap()),
                "select_header_hex": hex::encode(select_header(&c.public, &c.sealed)),
                "unseal_tail_hex": hex::encode(&c.sealed[32..]),
            })
        })
        .collect();
    let add = add_card_vector(&en, &scalars, &mut rng);
    json!({
        "description": "One complete 3-of-5 enrollment, then one add-card. Each case is one card's record: public_hex (public part), sealed_hex (sealed part), stream_hex (the PUT RECORD stream), select_header_hex (the record header a protocol 1.3 card appends to its SELECT answer when it holds this record: public part bytes 4..22, the sealed part's first 32 bytes and SHA-256 of the public part; a 1.2 card sends the first 51 bytes, select.md), unseal_tail_hex (what UNSEAL P1 = 01 answers after the 32-byte X: the sealed part from offset 32), commitment (SHA-256(\"quorum/v1/commitment\" || set_id || share), also in every record's custodian list). Set-wide inputs are in enrollment; enrollment.seed seeds ChaCha20 for EnrollSecrets::draw (order: set_id, dek, nonce, blahaj polynomial, ephemeral keys), card_scalar_be is each card's Wei25519 private key d; card_point_wei is the card key as a host sends points, the even-y point with x = u + A/3 (crypto.md §1): that is d·G or −(d·G), and GET STATUS returns d·G, whose x is the same. Every public part ends with the key check value (SHA-256(\"quorum/v2/key-check\" || master)[..8]) and the description MAC (HMAC-SHA256 under HKDF-SHA256(salt = set_id, ikm = dek, info = \"quorum/v2/description-mac-key\") of the public part without index and MAC); set_digest is SHA-256(\"quorum/v2/set-digest\" || the description of set version 1). add_card: the cards at donor_indices issue a share for a sixth card at the index custodian.index; share = f(index) of the enrollment's polynomial; add_card.seed seeds ChaCha20: first one u32 (little-endian, as rand_core's next_u32) picks the new index, unused[u32 mod len] with unused the indices 1..255 the set does not list, ascending; then the HPKE ephemeral keys (new card first, then each donor in order); refreshed are the donors' records under set version 2 (writing them is optional). Generated by crates/protocol/examples/gen_vectors.rs.",
        "enrollment": {
            "seed": hex::encode(seed),
            "master": hex::encode(&master),
            "threshold": threshold,
            "label": label,
            "set_id": hex::encode(secrets.set_id),
            "set_version": 1,
            "dek": hex::encode(secrets.dek.as_bytes()),
            "nonce": hex::encode(secrets.nonce),
            "wrapped_ct": hex::encode(&en.cards[0].record.wrapped.ct),
            "key_check": en.cards[0].record.key_check.to_hex(),
            "description_mac_key": hex::encode(description_mac_key(&secrets)),
            "description": hex::encode(en.cards[0].record.description()),
            "description_mac": hex::encode(en.cards[0].record.mac),
            "set_digest": en.cards[0].record.set_digest().to_hex(),
            "custodians": custodians,
        },
        "cases": cases,
        "add_card": add,
    })
}

/// Custodians 5, 2 and 4 (in that order) issue a share for a sixth card at index 6.
fn add_card_vector(
    en: &quorum_protocol::sharing::Enrollment,
    scalars: &[Scalar],
    rng: &mut ChaCha20Rng,
) -> Value {
    let d = scalar(rng);
    let key = CardKey::from_x25519(&MontgomeryPoint::mul_base(&d).to_bytes()).unwrap();
    let newcomer = NewCustodian {
        card_key: key,
        name: "Farah Haddad".to_owned(),
    };
    let seed = random32(rng);
    let donors = [5usize, 2, 4];
    let opened: Vec<OpenedShare> = donors
        .iter()
        .map(|&i| open_with_scalar(&en.cards[i - 1], &scalars[i - 1]))
        .collect();
    let added = add_card(&opened, &newcomer, &mut ChaCha20Rng::from_seed(seed)).unwrap();
    let mut draw = ChaCha20Rng::from_seed(seed);
    draw.next_u32(); // the new index's draw comes first
    let ephemeral: Vec<StaticSecret> = (0..=donors.len())
        .map(|_| StaticSecret::random_from_rng(&mut draw))
        .collect();
    let share = unseal_with_scalar(&added.card, &d);
    let card = |c: &EnrolledCard, eph: &StaticSecret| {
        json!({
            "index": c.index(),
            "ephemeral_sk": hex::encode(eph.to_bytes()),
            "enc": hex::encode(&c.sealed[..32]),
            "public_hex": hex::encode(&c.public),
            "sealed_hex": hex::encode(&c.sealed),
            "stream_hex": hex::encode(c.put_record_stream()),
            "select_header_hex": hex::encode(select_header(&c.public, &c.sealed)),
            "unseal_tail_hex": hex::encode(&c.sealed[32..]),
        })
    };
    let refreshed: Vec<Value> = added
        .refreshed
        .iter()
        .zip(&ephemeral[1..])
        .map(|(c, e)| card(c, e))
        .collect();
    json!({
        "seed": hex::encode(seed),
        "donor_indices": donors,
        "set_version": added.set_version(),
        "description": hex::encode(added.card.record.description()),
        "description_mac": hex::encode(added.card.record.mac),
        "set_digest": added.card.record.set_digest().to_hex(),
        "custodian": {
            "index": added.index(),
            "name": newcomer.name,
            "card_scalar_be": scalar_be(&d),
            "card_point_wei": hex::encode(key.point().to_wei_point()),
            "card_key": hex::encode(key.to_x25519()),
            "card_fingerprint": key.fingerprint(),
        },
        "share": hex::encode(&share),
        "commitment": hex::encode(added.card.record.custodians[5].commitment),
        "card": card(&added.card, &ephemeral[0]),
        "refreshed": refreshed,
    })
}

/// The description MAC key, derived as crypto.md §10 says (checked against the library's MACs by the unit tests).
fn description_mac_key(secrets: &EnrollSecrets) -> [u8; 32] {
    let mut key = [0u8; 32];
    hkdf::Hkdf::<sha2::Sha256>::new(Some(&secrets.set_id), secrets.dek.as_bytes())
        .expand(b"quorum/v2/description-mac-key", &mut key)
        .unwrap();
    key
}

/// Opens a card's share through the library, the card's DH done in software with its scalar.
fn open_with_scalar(card: &EnrolledCard, d: &Scalar) -> OpenedShare {
    let mut blinding = ChaCha20Rng::from_seed([7; 32]);
    open_share(
        &card.public,
        &card.sealed,
        card.card_key(),
        &mut blinding,
        |point: &[u8; 65]| {
            let p = SubgroupPoint::from_wei_point(point)?;
            wei25519::u_to_wei_x(&(MontgomeryPoint(p.u()) * d).to_bytes())
        },
    )
    .unwrap()
}

/// The plaintext share of a sealed part, decrypted with the card's scalar (for listing it in the vectors).
fn unseal_with_scalar(card: &EnrolledCard, d: &Scalar) -> Vec<u8> {
    let enc: [u8; 32] = card.sealed[..32].try_into().unwrap();
    hpke::open_with_dh(
        &card.card_key().to_x25519(),
        &enc,
        &card.record.share_info(),
        &card.public,
        &card.sealed[32..],
        |e| {
            Ok::<_, std::convert::Infallible>(zeroize::Zeroizing::new(
                (MontgomeryPoint(*e) * d).to_bytes(),
            ))
        },
    )
    .unwrap()
    .to_vec()
}

/// The OpenPGP mapping (apdu-spec/openpgp.md): the quorum header of DO 0101 and the PUT DATA
/// commands that write it and the sealed part, and blinded PSO:DECIPHER cases with every
/// intermediate value (t, t·E, the card's answer, the unblinded X25519(k, E)).
fn openpgp_vectors() -> Value {
    use quorum_protocol::apdu::part10::{PinModify, PinVerify};
    use quorum_protocol::crypto::anchor::SetDigest;
    use quorum_protocol::openpgp::{command, PinRef, PrivateUse, QuorumHeader};
    let mut rng = rng_for("openpgp.json");
    let mut set_id = [0u8; 16];
    rng.fill_bytes(&mut set_id);
    let mut digest = [0u8; 32];
    rng.fill_bytes(&mut digest);
    let header = QuorumHeader {
        set_id,
        set_version: 2,
        index: 5,
        set_digest: SetDigest(digest),
    };
    let mut sealed = [0u8; 81];
    rng.fill_bytes(&mut sealed);
    let header_bytes = header.encode();
    let put_header = command::put_private_use(PrivateUse::Do0101, &header_bytes).expect("short");
    let put_sealed = command::put_private_use(PrivateUse::Do0103, &sealed).expect("short");
    let mut cases = Vec::new();
    for name in ["first", "second", "third"] {
        // The card's key as an OpenPGP card stores it: an X25519 secret, clamped.
        let mut k = [0u8; 32];
        rng.fill_bytes(&mut k);
        k[0] &= 248;
        k[31] &= 127;
        k[31] |= 64;
        let card_public = PublicKey::from(&StaticSecret::from(k));
        // An honest HPKE enc: a base-point multiple.
        let sk_e = StaticSecret::random_from_rng(&mut rng);
        let enc = PublicKey::from(&sk_e);
        let mut wide = [0u8; 64];
        rng.fill_bytes(&mut wide);
        let t = Scalar::from_bytes_mod_order_wide(&wide);
        let card_u = (MontgomeryPoint(enc.to_bytes()) * t).to_bytes();
        let answer = x25519_dalek::x25519(k, card_u);
        let unblinded = (MontgomeryPoint(answer) * t.invert()).to_bytes();
        assert_eq!(unblinded, x25519_dalek::x25519(k, enc.to_bytes()));
        assert_eq!(unblinded, sk_e.diffie_hellman(&card_public).to_bytes());
        cases.push(json!({
            "name": name,
            "card_secret_le": hex::encode(k),
            "card_public_u_le": hex::encode(card_public.as_bytes()),
            "enc_u_le": hex::encode(enc.as_bytes()),
            "t_le": hex::encode(t.to_bytes()),
            "blinded_u_le": hex::encode(card_u),
            "decipher_apdu": hex::encode(command::decipher_cv25519(&card_u).as_bytes()),
            "card_answer_u_le": hex::encode(answer),
            "unblinded_u_le": hex::encode(unblinded),
        }));
    }
    json!({
        "description": "apdu-spec/openpgp.md: the quorum header in DO 0101, the PUT DATA commands for DO 0101 and 0103, and blinded PSO:DECIPHER (t·E sent, X25519(k, t·E) answered, t⁻¹ applied unclamped)",
        "header": {
            "set_id": hex::encode(set_id),
            "set_version": 2,
            "index": 5,
            "set_digest": hex::encode(digest),
            "do_0101": hex::encode(header_bytes),
            "put_data_0101_apdu": hex::encode(put_header.as_bytes()),
        },
        "sealed": {
            "do_0103": hex::encode(sealed),
            "put_data_0103_apdu": hex::encode(put_sealed.as_bytes()),
        },
        "decipher": cases,
        "pinpad": {
            "comment": "PC/SC Part 10 structures for an OpenPGP card's user PIN on a keypad (openpgp.md, PINs): timeout 30 s, maximum 25 (a reader whose bMaxPINSize is 25, below the card's 127)",
            "verify_pin_direct_user": hex::encode(
                PinVerify::openpgp(PinRef::UserDecipher, 25, 30).encode().expect("well formed")
            ),
            "modify_pin_direct_user": hex::encode(
                PinModify::openpgp_user(25, 30).encode().expect("well formed")
            ),
        },
    })
}

/// The record header of a protocol 1.3 SELECT answer: public part bytes 4..22 (set id,
/// version, index), the sealed part's first 32 bytes (the HPKE enc) and SHA-256 of the
/// public part (the public digest), select.md.
fn select_header(public: &[u8], sealed: &[u8]) -> Vec<u8> {
    let mut header = public[4..23].to_vec();
    header.extend_from_slice(&sealed[..32]);
    header.extend_from_slice(&Sha256::digest(public));
    header
}
