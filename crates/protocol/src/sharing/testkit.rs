//! Test helpers for the sharing tests here and the ceremony tests above (feature
//! `testkit`): a software card and an independent GF(2^8).

use curve25519_dalek::montgomery::MontgomeryPoint;
use curve25519_dalek::scalar::Scalar;
use rand::RngCore;
use rand_chacha::ChaCha20Rng;

use super::{open_share, EnrolledCard, Enrollment, NewCustodian, OpenedShare};
use crate::crypto::wei25519::{u_to_wei_x, SubgroupPoint};
use crate::crypto::CardKey;

/// A software card: a Wei25519 private scalar doing what ALG_EC_SVDP_DH_PLAIN does.
pub struct SoftCard {
    pub d: Scalar,
}

/// The software card's refusal (a card would answer 6A80).
#[derive(Debug, PartialEq)]
pub struct SoftCardError;

impl std::fmt::Display for SoftCardError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("6A80")
    }
}

impl std::error::Error for SoftCardError {}

impl SoftCard {
    pub fn new(rng: &mut ChaCha20Rng) -> Self {
        let mut wide = [0u8; 64];
        rng.fill_bytes(&mut wide);
        Self {
            d: Scalar::from_bytes_mod_order_wide(&wide),
        }
    }

    pub fn key(&self) -> CardKey {
        CardKey::from_x25519(&MontgomeryPoint::mul_base(&self.d).to_bytes()).unwrap()
    }

    pub fn unseal(&self, point: &[u8; 65]) -> Result<[u8; 32], SoftCardError> {
        let p = SubgroupPoint::from_wei_point(point).map_err(|_| SoftCardError)?;
        Ok(u_to_wei_x(&(p.montgomery() * self.d).to_bytes()).unwrap())
    }
}

/// m software cards and their custodians "custodian 1".."custodian m".
pub fn setup(m: usize, rng: &mut ChaCha20Rng) -> (Vec<SoftCard>, Vec<NewCustodian>) {
    let cards: Vec<SoftCard> = (0..m).map(|_| SoftCard::new(rng)).collect();
    let people = cards
        .iter()
        .enumerate()
        .map(|(i, c)| NewCustodian {
            card_key: c.key(),
            name: format!("custodian {}", i + 1),
        })
        .collect();
    (cards, people)
}

/// Opens a card's share as a recovery would.
pub fn open(e: &EnrolledCard, card: &SoftCard, rng: &mut ChaCha20Rng) -> OpenedShare {
    open_share(&e.public, &e.sealed, &card.key(), rng, |p| card.unseal(p)).unwrap()
}

/// Opens every card of an enrollment, card i with software card i (extra cards are unused).
pub fn open_all(en: &Enrollment, cards: &[SoftCard], rng: &mut ChaCha20Rng) -> Vec<OpenedShare> {
    en.cards
        .iter()
        .zip(cards)
        .map(|(e, c)| open(e, c, rng))
        .collect()
}

/// GF(2^8) product modulo x^8 + x^4 + x^3 + x^2 + 1, written out to pin down the field crypto.md names.
pub fn gf_mul(mut a: u8, mut b: u8) -> u8 {
    let mut p = 0u8;
    while b != 0 {
        if b & 1 != 0 {
            p ^= a;
        }
        let carry = a & 0x80 != 0;
        a <<= 1;
        if carry {
            a ^= 0x1d;
        }
        b >>= 1;
    }
    p
}

/// a^254 = a^-1 in GF(2^8).
pub fn gf_inv(a: u8) -> u8 {
    (0..254).fold(1u8, |acc, _| gf_mul(acc, a))
}

/// Lagrange interpolation at `x` of 33-byte shares (x ‖ y), byte by byte: the textbook formula, independent of blahaj.
pub fn lagrange_at(shares: &[[u8; 33]], x: u8) -> [u8; 32] {
    let mut out = [0u8; 32];
    for (k, byte) in out.iter_mut().enumerate() {
        for (a, sa) in shares.iter().enumerate() {
            let mut l = 1u8;
            for sb in shares
                .iter()
                .enumerate()
                .filter(|(b, _)| *b != a)
                .map(|(_, sb)| sb)
            {
                l = gf_mul(l, gf_mul(x ^ sb[0], gf_inv(sa[0] ^ sb[0])));
            }
            *byte ^= gf_mul(l, sa[1 + k]);
        }
    }
    out
}
