//! The card's Diffie-Hellman (ALG_EC_SVDP_DH_PLAIN on Wei25519, in jcardsim, through
//! pcscd) agrees with x25519-dalek for many random points, and the card refuses points
//! that are not on the curve.

use rand::RngCore;
use x25519_dalek::{x25519, X25519_BASEPOINT_BYTES};

use quorum_card::card::{Card, CardError};
use quorum_pcsc::PcscContext;
use quorum_protocol::crypto::wei25519::{wei_point_from_u, wei_x_to_u};
use quorum_protocol::crypto::CardKey;
use quorum_protocol::pin::PinBlock;

use crate::farm::{lock, Farm};
use crate::fixtures::{enrolled, present};
use crate::run::scratch;

/// Random points sent to the card.
const POINTS: usize = 200;

#[test]
fn the_cards_dh_matches_x25519_dalek_for_random_points() {
    let _guard = lock();
    let farm = Farm::connect();
    let dir = scratch("dh-cross");
    let (custodians, _, _) = enrolled(&farm, &dir, "dh-cross", 1, 1, b"dh cross-check");
    present(&farm, &[&custodians[0]]);
    let ctx = PcscContext::establish().unwrap();
    let mut card = Card::new(ctx.connect_pcsc(farm.reader_name(0)).unwrap());
    card.select().unwrap();
    let status = card.status().unwrap();
    let key = CardKey::from_card_point(&status.public_key.unwrap()[..]).unwrap();
    let q = key.to_x25519();
    card.verify(&PinBlock::new(&custodians[0].pin).unwrap())
        .unwrap();

    // P = r·G, so the card's d·P is r·Q for the card's public key Q = d·G.
    let mut rng = rand::rngs::OsRng;
    for i in 0..POINTS {
        let mut r = [0u8; 32];
        rng.fill_bytes(&mut r);
        let p = x25519(r, X25519_BASEPOINT_BYTES);
        let answer = card.unseal(&wei_point_from_u(&p).unwrap()).unwrap();
        let got = wei_x_to_u(&answer).unwrap();
        assert_eq!(
            got,
            x25519(r, q),
            "point {i}: the card and x25519-dalek disagree"
        );
    }

    // A point off the curve (a valid x with y + 1) is refused, and the session goes on.
    let good = wei_point_from_u(&x25519([7u8; 32], X25519_BASEPOINT_BYTES)).unwrap();
    let mut off = good;
    off[64] ^= 0x01;
    assert!(
        matches!(card.unseal(&off), Err(CardError::InvalidData { .. })),
        "an off-curve point was not refused with 6A80"
    );
    assert!(card.unseal(&good).is_ok());
}
