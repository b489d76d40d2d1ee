//! Curve25519 in its two dresses: Montgomery (X25519, little-endian u) for the host and
//! HPKE, short Weierstrass "Wei25519" (big-endian x, y) for JavaCard's EC engine.
//!
//! Every point that comes from a card is checked here before use: on the curve, not of
//! small order, in the prime-order subgroup. Points are public, so the field arithmetic
//! (num-bigint, variable time) never touches a secret; secret scalars stay in
//! curve25519-dalek.

use std::sync::OnceLock;

use curve25519_dalek::montgomery::MontgomeryPoint;
use num_bigint::BigUint;
use thiserror::Error;

/// p = 2^255 − 19, big-endian hex, as the card's EC parameters spell it.
pub const P_HEX: &str = "7fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffed";
/// Wei25519 coefficient a = 1 − A²/3 (mod p): the card's curve parameter A.
pub const A_HEX: &str = "2aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa984914a144";
/// Wei25519 coefficient b = 2A³/27 − A/3 (mod p): the card's curve parameter B.
pub const B_HEX: &str = "7b425ed097b425ed097b425ed097b425ed097b425ed097b4260b5e9c7710c864";
/// x of the generator (Montgomery u = 9), so the card and X25519 share one base point.
pub const GX_HEX: &str = "2aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaad245a";
/// y of the generator (equal to the Montgomery v of the X25519 base point).
pub const GY_HEX: &str = "20ae19a1b8a086b4e01edd2c7748d14c923d4d7e6d7c61b229e9c5a27eced3d9";
/// Order r of the prime-order subgroup (2^252 + 0x14def9dea2f79cd65812631a5cf5d3ed).
pub const R_HEX: &str = "1000000000000000000000000000000014def9dea2f79cd65812631a5cf5d3ed";
/// Cofactor h: the card's curve parameter K.
pub const COFACTOR: u8 = 8;
/// Montgomery coefficient A of Curve25519 (v² = u³ + A·u² + u).
pub const MONTGOMERY_A: u32 = 486_662;
/// A/3 mod p: the shift between Weierstrass x and Montgomery u (x = u + A/3).
pub const A_OVER_3_HEX: &str = "2aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaad2451";
/// Length of an uncompressed SEC 1 point 04 ‖ X ‖ Y, the only form the card speaks.
pub const POINT_LEN: usize = 65;

/// Why a point was refused; each names the check that failed, so a faulty card can be told apart from a hostile one.
#[derive(Debug, Error, Clone, Copy, PartialEq, Eq)]
pub enum PointError {
    /// The encoding has the wrong size.
    #[error("a Wei25519 point must be 65 bytes (04 || X || Y), got {0} bytes")]
    WrongLength(usize),
    /// The first byte is not 04 (uncompressed).
    #[error("the point does not start with 04 (uncompressed form), it starts with {0:02x}")]
    NotUncompressed(u8),
    /// A coordinate is p or larger.
    #[error("a coordinate is not reduced modulo p = 2^255 - 19 (non-canonical encoding)")]
    NonCanonical,
    /// (x, y) does not satisfy the curve equation.
    #[error("the point is not on Wei25519: y^2 != x^3 + a*x + b")]
    NotOnCurve,
    /// The x (or u) coordinate belongs to the quadratic twist: no point of the curve has it.
    #[error("the coordinate belongs to the quadratic twist of Curve25519, not to the curve")]
    OnTwist,
    /// The point has order 1, 2, 4 or 8: a DH with it reveals nothing secret and is predictable.
    #[error("the point has small order (1, 2, 4 or 8), so a Diffie-Hellman result with it is predictable")]
    LowOrder,
    /// The point has a torsion component: it is outside the prime-order subgroup.
    #[error("the point is not in the prime-order subgroup (it has a torsion component)")]
    NotInSubgroup,
}

/// A point of Curve25519's prime-order subgroup, validated once, kept as its X25519 u.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct SubgroupPoint {
    u: [u8; 32],
}

impl std::fmt::Debug for SubgroupPoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SubgroupPoint(u={})", hex::encode(self.u))
    }
}

impl SubgroupPoint {
    /// Accepts an X25519 u (little-endian) only if it is a prime-order-subgroup point, so it is safe to seal to or DH with.
    pub fn from_u(u_le: &[u8; 32]) -> Result<Self, PointError> {
        if BigUint::from_bytes_le(u_le) >= consts().p {
            return Err(PointError::NonCanonical);
        }
        let edwards = MontgomeryPoint(*u_le)
            .to_edwards(0)
            .ok_or(PointError::OnTwist)?;
        if edwards.is_small_order() {
            return Err(PointError::LowOrder);
        }
        if !edwards.is_torsion_free() {
            return Err(PointError::NotInSubgroup);
        }
        Ok(Self { u: *u_le })
    }

    /// Accepts the 32-byte big-endian x a card returns from UNSEAL, with every check a card point needs.
    pub fn from_wei_x(x_be: &[u8; 32]) -> Result<Self, PointError> {
        let c = consts();
        let x = BigUint::from_bytes_be(x_be);
        if x >= c.p {
            return Err(PointError::NonCanonical);
        }
        if sqrt(&rhs(&x)).is_none() {
            return Err(PointError::OnTwist);
        }
        Self::from_u(&x_to_u(&x))
    }

    /// Accepts a card's 65-byte 04 ‖ X ‖ Y point (its public key) with every check a card point needs.
    pub fn from_wei_point(bytes: &[u8]) -> Result<Self, PointError> {
        let (x, y) = parse_uncompressed(bytes)?;
        let c = consts();
        if (&y * &y) % &c.p != rhs(&x) {
            return Err(PointError::NotOnCurve);
        }
        Self::from_u(&x_to_u(&x))
    }

    /// The X25519 public-key bytes, the form users and HPKE see.
    pub fn u(&self) -> [u8; 32] {
        self.u
    }

    /// The big-endian Wei25519 x, the form the card returns.
    pub fn wei_x(&self) -> [u8; 32] {
        to_be32(&u_to_x(&BigUint::from_bytes_le(&self.u)))
    }

    /// The 65-byte point to send to a card; y is the even root (either root gives the card the same x(d·P)).
    pub fn to_wei_point(&self) -> [u8; POINT_LEN] {
        wei_point_from_u(&self.u).expect("a subgroup point is on the curve")
    }

    /// The curve25519-dalek view, for Montgomery-ladder scalar multiplication.
    pub(crate) fn montgomery(&self) -> MontgomeryPoint {
        MontgomeryPoint(self.u)
    }
}

/// Maps a canonical X25519 u to its Wei25519 point (even y) without the subgroup check, so test vectors can also show bad points.
pub fn wei_point_from_u(u_le: &[u8; 32]) -> Result<[u8; POINT_LEN], PointError> {
    let c = consts();
    let u = BigUint::from_bytes_le(u_le);
    if u >= c.p {
        return Err(PointError::NonCanonical);
    }
    let x = u_to_x(&u);
    let mut y = sqrt(&rhs(&x)).ok_or(PointError::OnTwist)?;
    if y.bit(0) {
        y = &c.p - &y;
    }
    let mut out = [0u8; POINT_LEN];
    out[0] = 0x04;
    out[1..33].copy_from_slice(&to_be32(&x));
    out[33..].copy_from_slice(&to_be32(&y));
    Ok(out)
}

/// Converts an X25519 u (little-endian) to a Wei25519 x (big-endian) with no curve check: the mapping itself.
pub fn u_to_wei_x(u_le: &[u8; 32]) -> Result<[u8; 32], PointError> {
    let u = BigUint::from_bytes_le(u_le);
    if u >= consts().p {
        return Err(PointError::NonCanonical);
    }
    Ok(to_be32(&u_to_x(&u)))
}

/// Converts a Wei25519 x (big-endian) to an X25519 u (little-endian) with no curve check: the mapping itself.
pub fn wei_x_to_u(x_be: &[u8; 32]) -> Result<[u8; 32], PointError> {
    let x = BigUint::from_bytes_be(x_be);
    if x >= consts().p {
        return Err(PointError::NonCanonical);
    }
    Ok(x_to_u(&x))
}

/// Splits 04 ‖ X ‖ Y into canonical coordinates, refusing any other shape.
fn parse_uncompressed(bytes: &[u8]) -> Result<(BigUint, BigUint), PointError> {
    if bytes.len() != POINT_LEN {
        return Err(PointError::WrongLength(bytes.len()));
    }
    if bytes[0] != 0x04 {
        return Err(PointError::NotUncompressed(bytes[0]));
    }
    let p = &consts().p;
    let x = BigUint::from_bytes_be(&bytes[1..33]);
    let y = BigUint::from_bytes_be(&bytes[33..]);
    if &x >= p || &y >= p {
        return Err(PointError::NonCanonical);
    }
    Ok((x, y))
}

/// Field constants, parsed once.
struct Consts {
    p: BigUint,
    a: BigUint,
    b: BigUint,
    a_over_3: BigUint,
    /// (p + 3) / 8, the exponent of the square-root candidate.
    sqrt_exp: BigUint,
    /// 2^((p − 1) / 4), a square root of −1.
    sqrt_m1: BigUint,
}

fn consts() -> &'static Consts {
    static C: OnceLock<Consts> = OnceLock::new();
    C.get_or_init(|| {
        let hex = |s: &str| BigUint::parse_bytes(s.as_bytes(), 16).expect("constant hex");
        let p = hex(P_HEX);
        let sqrt_exp = (&p + 3u32) >> 3;
        let sqrt_m1 = BigUint::from(2u32).modpow(&((&p - 1u32) >> 2), &p);
        Consts {
            a: hex(A_HEX),
            b: hex(B_HEX),
            a_over_3: hex(A_OVER_3_HEX),
            sqrt_exp,
            sqrt_m1,
            p,
        }
    })
}

/// x³ + a·x + b mod p: y² of the point with this x, if there is one.
fn rhs(x: &BigUint) -> BigUint {
    let c = consts();
    (x * x % &c.p * x + &c.a * x + &c.b) % &c.p
}

/// A square root mod p (p ≡ 5 mod 8: one exponentiation, then maybe a factor sqrt(−1)).
fn sqrt(v: &BigUint) -> Option<BigUint> {
    let c = consts();
    let cand = v.modpow(&c.sqrt_exp, &c.p);
    let sq = &cand * &cand % &c.p;
    if &sq == v {
        Some(cand)
    } else if (&sq + v) % &c.p == BigUint::ZERO {
        Some(cand * &c.sqrt_m1 % &c.p)
    } else {
        None
    }
}

fn u_to_x(u: &BigUint) -> BigUint {
    let c = consts();
    (u + &c.a_over_3) % &c.p
}

fn x_to_u(x: &BigUint) -> [u8; 32] {
    let c = consts();
    let u = (x + &c.p - &c.a_over_3) % &c.p;
    let mut out = [0u8; 32];
    let le = u.to_bytes_le();
    out[..le.len()].copy_from_slice(&le);
    out
}

fn to_be32(v: &BigUint) -> [u8; 32] {
    let be = v.to_bytes_be();
    let mut out = [0u8; 32];
    out[32 - be.len()..].copy_from_slice(&be);
    out
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use curve25519_dalek::constants::{ED25519_BASEPOINT_POINT, EIGHT_TORSION, X25519_BASEPOINT};
    use curve25519_dalek::scalar::Scalar;
    use proptest::prelude::*;
    use rand::{RngCore, SeedableRng};
    use rand_chacha::ChaCha20Rng;
    use serde_json::Value;

    /// u of the two points of order 8 (cr.yp.to/ecdh.html lists them with the other low-order values).
    const ORDER_8_U: [&str; 2] = [
        "325606250916557431795983626356110631294008115727848805560023387167927233504",
        "39382357235489614581723060781553021112529911719440698176882885853963445705823",
    ];

    /// The twelve 32-byte X25519 public keys of small order, as integers: 0, 1, the two
    /// order-8 u, p − 1, and their non-canonical forms p, p + 1, p + u8, 2p − 1, 2p, 2p + 1.
    fn low_order_values() -> Vec<BigUint> {
        let p = big(P_HEX);
        let dec = |s: &str| BigUint::parse_bytes(s.as_bytes(), 10).unwrap();
        let (k1, k2) = (dec(ORDER_8_U[0]), dec(ORDER_8_U[1]));
        let two_p = &p * 2u32;
        vec![
            BigUint::ZERO,
            BigUint::from(1u32),
            k1.clone(),
            k2.clone(),
            &p - 1u32,
            p.clone(),
            &p + 1u32,
            &p + k1,
            &p + k2,
            &two_p - 1u32,
            two_p.clone(),
            two_p + 1u32,
        ]
    }

    /// The twelve low-order encodings as little-endian X25519 public keys, for every layer that takes one.
    pub(crate) fn low_order_encodings() -> Vec<[u8; 32]> {
        low_order_values()
            .iter()
            .map(|v| {
                let mut le = [0u8; 32];
                let bytes = v.to_bytes_le();
                le[..bytes.len()].copy_from_slice(&bytes);
                le
            })
            .collect()
    }

    fn big(s: &str) -> BigUint {
        BigUint::parse_bytes(s.as_bytes(), 16).unwrap()
    }

    fn unhex<const N: usize>(v: &Value) -> [u8; N] {
        hex::decode(v.as_str().unwrap())
            .unwrap()
            .try_into()
            .unwrap()
    }

    #[test]
    fn constants_follow_from_montgomery_a() {
        let p = big(P_HEX);
        let inv = |v: u32| BigUint::from(v).modpow(&(&p - 2u32), &p);
        let a_m = BigUint::from(MONTGOMERY_A);
        let a_over_3 = &a_m * inv(3) % &p;
        assert_eq!(a_over_3, big(A_OVER_3_HEX));
        // a = 1 − A²/3, b = 2A³/27 − A/3 (Montgomery B = 1).
        let a = (BigUint::from(1u32) + &p - (&a_m * &a_m * inv(3) % &p)) % &p;
        assert_eq!(a, big(A_HEX));
        let b = (BigUint::from(2u32) * &a_m * &a_m * &a_m * inv(27) + &p - &a_over_3) % &p;
        assert_eq!(b, big(B_HEX));
        assert_eq!(
            big(R_HEX),
            (BigUint::from(1u32) << 252) + big("14def9dea2f79cd65812631a5cf5d3ed")
        );
        assert_eq!(p, (BigUint::from(1u32) << 255) - 19u32);
        let c = consts();
        assert_eq!(&c.sqrt_m1 * &c.sqrt_m1 % &p, &p - 1u32);
    }

    #[test]
    fn generator_maps_to_u_9() {
        let mut point = [0u8; 65];
        point[0] = 4;
        point[1..33].copy_from_slice(&hex::decode(GX_HEX).unwrap());
        point[33..].copy_from_slice(&hex::decode(GY_HEX).unwrap());
        let g = SubgroupPoint::from_wei_point(&point).unwrap();
        assert_eq!(g.u(), X25519_BASEPOINT.to_bytes());
        assert_eq!(hex::encode(g.wei_x()), GX_HEX);
        // GY is odd, so the host's own encoding of G picks the other root.
        let ours = g.to_wei_point();
        assert_eq!(ours[..33], point[..33]);
        assert_eq!(
            BigUint::from_bytes_be(&ours[33..]) + big(GY_HEX),
            big(P_HEX)
        );
        assert_eq!(SubgroupPoint::from_wei_point(&ours).unwrap(), g);
    }

    #[test]
    fn mapping_round_trips_on_random_points() {
        let mut rng = ChaCha20Rng::seed_from_u64(1);
        for _ in 0..64 {
            let mut k = [0u8; 32];
            rng.fill_bytes(&mut k);
            let u = MontgomeryPoint::mul_base_clamped(k).to_bytes();
            let p = SubgroupPoint::from_u(&u).unwrap();
            let wei = p.to_wei_point();
            assert_eq!(SubgroupPoint::from_wei_point(&wei).unwrap(), p);
            assert_eq!(SubgroupPoint::from_wei_x(&p.wei_x()).unwrap(), p);
            assert_eq!(wei_x_to_u(&u_to_wei_x(&u).unwrap()).unwrap(), u);
            // the other root is a point too (−P), with the same u
            let mut neg = wei;
            let y = BigUint::from_bytes_be(&wei[33..]);
            neg[33..].copy_from_slice(&to_be32(&(big(P_HEX) - y)));
            assert_eq!(SubgroupPoint::from_wei_point(&neg).unwrap(), p);
        }
    }

    #[test]
    fn every_torsion_point_is_low_order() {
        for t in EIGHT_TORSION.iter() {
            let u = t.to_montgomery().to_bytes();
            assert_eq!(
                SubgroupPoint::from_u(&u),
                Err(PointError::LowOrder),
                "u={}",
                hex::encode(u)
            );
            if let Ok(w) = wei_point_from_u(&u) {
                assert_eq!(SubgroupPoint::from_wei_point(&w), Err(PointError::LowOrder));
                assert_eq!(
                    SubgroupPoint::from_wei_x(&w[1..33].try_into().unwrap()),
                    Err(PointError::LowOrder)
                );
            }
        }
    }

    #[test]
    fn the_low_order_list_holds_every_torsion_u() {
        let list = low_order_encodings();
        assert_eq!(list.len(), 12);
        // the canonical ones are the u of the eight torsion points, plus p − 1
        let mut torsion: Vec<[u8; 32]> = EIGHT_TORSION
            .iter()
            .map(|t| t.to_montgomery().to_bytes())
            .collect();
        torsion.sort();
        torsion.dedup();
        let p = big(P_HEX);
        let mut canonical: Vec<[u8; 32]> = list
            .iter()
            .copied()
            .filter(|u| BigUint::from_bytes_le(u) < &p - 1u32)
            .collect();
        canonical.sort();
        assert_eq!(canonical, torsion);
        // and each non-canonical one reduces to a canonical one of the list
        for u in &list {
            let reduced = to_be32(&(BigUint::from_bytes_le(u) % &p));
            let mut reduced_le = reduced;
            reduced_le.reverse();
            assert!(list[..5].contains(&reduced_le), "{}", hex::encode(u));
        }
    }

    /// All twelve low-order encodings are refused, in both dresses: as X25519 u and as the Wei25519 x or point a card would send.
    #[test]
    fn every_low_order_encoding_is_refused() {
        let p = big(P_HEX);
        let minus_one = to_be32(&(&p - 1u32));
        for u in low_order_encodings() {
            let value = BigUint::from_bytes_le(&u);
            let canonical = value.clone() % &p;
            let want = if value >= p {
                PointError::NonCanonical
            } else if to_be32(&value) == minus_one {
                // u = −1 is a point of order 4 on the twist: no curve point has it
                PointError::OnTwist
            } else {
                PointError::LowOrder
            };
            assert_eq!(SubgroupPoint::from_u(&u), Err(want), "{}", hex::encode(u));
            assert_eq!(
                crate::crypto::CardKey::from_x25519(&u),
                Err(want),
                "{}",
                hex::encode(u)
            );
            // the same point as a card answer: x of the reduced u, and x + p (non-canonical)
            let mut reduced_le = to_be32(&canonical);
            reduced_le.reverse();
            let x = u_to_wei_x(&reduced_le).unwrap();
            let verdict = SubgroupPoint::from_wei_x(&x);
            assert!(
                matches!(verdict, Err(PointError::LowOrder | PointError::OnTwist)),
                "{}: {verdict:?}",
                hex::encode(u)
            );
            // x < p, so x + p < 2p < 2^256 still fits the 32 bytes of an answer
            let x_plus_p = BigUint::from_bytes_be(&x) + &p;
            assert_eq!(
                SubgroupPoint::from_wei_x(&to_be32(&x_plus_p)),
                Err(PointError::NonCanonical)
            );
            if let Ok(point) = wei_point_from_u(&reduced_le) {
                assert_eq!(
                    SubgroupPoint::from_wei_point(&point),
                    Err(PointError::LowOrder)
                );
                assert_eq!(
                    crate::crypto::CardKey::from_card_point(&point),
                    Err(PointError::LowOrder)
                );
            } else {
                // only u = −1 has no Wei25519 point to send
                assert_eq!(canonical, &p - 1u32, "{}", hex::encode(u));
            }
        }
    }

    /// Random u classified by Euler's criterion, independently of the code under test: every twist u is refused as such, in both dresses.
    #[test]
    fn random_twist_points_are_refused() {
        let p = big(P_HEX);
        let a = BigUint::from(MONTGOMERY_A);
        let half = (&p - 1u32) >> 1;
        let mut rng = ChaCha20Rng::seed_from_u64(41);
        let (mut twist, mut curve) = (0, 0);
        for _ in 0..96 {
            let mut u = [0u8; 32];
            rng.fill_bytes(&mut u);
            u[31] &= 0x7f;
            let uv = BigUint::from_bytes_le(&u);
            if uv >= p {
                continue;
            }
            // v² = u³ + A·u² + u; a non-square means the u belongs to the twist
            let v2 = (&uv * &uv % &p * &uv + &a * &uv % &p * &uv + &uv) % &p;
            let on_twist = v2 != BigUint::ZERO && v2.modpow(&half, &p) != BigUint::from(1u32);
            let x = u_to_wei_x(&u).unwrap();
            if on_twist {
                twist += 1;
                assert_eq!(SubgroupPoint::from_u(&u), Err(PointError::OnTwist));
                assert_eq!(SubgroupPoint::from_wei_x(&x), Err(PointError::OnTwist));
                assert_eq!(wei_point_from_u(&u), Err(PointError::OnTwist));
            } else {
                curve += 1;
                assert_ne!(SubgroupPoint::from_u(&u), Err(PointError::OnTwist));
                assert_ne!(SubgroupPoint::from_wei_x(&x), Err(PointError::OnTwist));
            }
        }
        assert!(twist > 10 && curve > 10, "twist {twist}, curve {curve}");
    }

    /// A subgroup point plus any of the seven nonzero torsion points is refused, whatever its dress.
    #[test]
    fn every_torsion_offset_leaves_the_subgroup() {
        let mut rng = ChaCha20Rng::seed_from_u64(42);
        for _ in 0..4 {
            let mut k = [0u8; 64];
            rng.fill_bytes(&mut k);
            let base = ED25519_BASEPOINT_POINT * Scalar::from_bytes_mod_order_wide(&k);
            let good = base.to_montgomery().to_bytes();
            assert!(SubgroupPoint::from_u(&good).is_ok());
            for t in &EIGHT_TORSION[1..] {
                let u = (base + t).to_montgomery().to_bytes();
                assert_eq!(SubgroupPoint::from_u(&u), Err(PointError::NotInSubgroup));
                assert_eq!(
                    SubgroupPoint::from_wei_x(&u_to_wei_x(&u).unwrap()),
                    Err(PointError::NotInSubgroup)
                );
                assert_eq!(
                    SubgroupPoint::from_wei_point(&wei_point_from_u(&u).unwrap()),
                    Err(PointError::NotInSubgroup)
                );
            }
        }
    }

    #[test]
    fn mixed_order_point_is_outside_subgroup() {
        let mixed = (ED25519_BASEPOINT_POINT + EIGHT_TORSION[1])
            .to_montgomery()
            .to_bytes();
        assert_eq!(
            SubgroupPoint::from_u(&mixed),
            Err(PointError::NotInSubgroup)
        );
        let w = wei_point_from_u(&mixed).unwrap();
        assert_eq!(
            SubgroupPoint::from_wei_point(&w),
            Err(PointError::NotInSubgroup)
        );
    }

    #[test]
    fn twist_and_malformed_inputs_are_refused() {
        // u = 2 is on the twist of Curve25519.
        let mut u2 = [0u8; 32];
        u2[0] = 2;
        assert_eq!(SubgroupPoint::from_u(&u2), Err(PointError::OnTwist));
        assert_eq!(
            SubgroupPoint::from_wei_x(&u_to_wei_x(&u2).unwrap()),
            Err(PointError::OnTwist)
        );
        assert_eq!(wei_point_from_u(&u2), Err(PointError::OnTwist));
        // non-canonical u = p + 9 (what X25519 would silently reduce)
        let p9 = to_be32(&(big(P_HEX) + 9u32));
        let mut p9_le = p9;
        p9_le.reverse();
        assert_eq!(SubgroupPoint::from_u(&p9_le), Err(PointError::NonCanonical));
        assert_eq!(
            SubgroupPoint::from_wei_x(&[0xff; 32]),
            Err(PointError::NonCanonical)
        );
        let g = SubgroupPoint::from_u(&X25519_BASEPOINT.to_bytes())
            .unwrap()
            .to_wei_point();
        assert_eq!(
            SubgroupPoint::from_wei_point(&g[..64]),
            Err(PointError::WrongLength(64))
        );
        let mut bad = g;
        bad[0] = 0x02;
        assert_eq!(
            SubgroupPoint::from_wei_point(&bad),
            Err(PointError::NotUncompressed(2))
        );
        let mut bad = g;
        bad[64] ^= 1;
        assert_eq!(
            SubgroupPoint::from_wei_point(&bad),
            Err(PointError::NotOnCurve)
        );
    }

    /// Wycheproof's X25519 public keys: every key flagged low-order or twist is refused, and every accepted one gives x25519-dalek's result.
    #[test]
    fn wycheproof_x25519_public_keys() {
        use wycheproof::xdh::{TestFlag, TestName, TestSet};
        let set = TestSet::load(TestName::X25519).unwrap();
        let (mut accepted, mut total) = (0, 0);
        for group in &set.test_groups {
            for t in &group.tests {
                total += 1;
                let Ok(pk) = <[u8; 32]>::try_from(t.public_key.as_ref()) else {
                    continue;
                };
                let verdict = SubgroupPoint::from_u(&pk);
                let bad = [
                    TestFlag::LowOrderPublic,
                    TestFlag::Twist,
                    TestFlag::ZeroSharedSecret,
                    TestFlag::NonCanonicalPublic,
                ];
                if t.flags.iter().any(|f| bad.contains(f)) {
                    assert!(verdict.is_err(), "tcId {} accepted", t.tc_id);
                }
                if let Ok(point) = verdict {
                    accepted += 1;
                    let sk: [u8; 32] = t.private_key.as_ref().try_into().unwrap();
                    // X25519 multiplies by clamp(sk); on the subgroup that is clamp(sk) mod r.
                    let clamped = Scalar::from_bytes_mod_order(clamp(sk));
                    assert_eq!(
                        point.montgomery() * clamped,
                        MontgomeryPoint(t.shared_secret.as_ref().try_into().unwrap()),
                        "tcId {}",
                        t.tc_id
                    );
                }
            }
        }
        assert!(
            total > 500 && accepted > 20,
            "total {total}, accepted {accepted}"
        );
    }

    fn clamp(mut k: [u8; 32]) -> [u8; 32] {
        k[0] &= 248;
        k[31] &= 127;
        k[31] |= 64;
        k
    }

    /// Recomputes every value of apdu-spec/vectors/wei25519.json.
    #[test]
    fn shared_vectors_recompute() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../apdu-spec/vectors/wei25519.json"
        );
        let v: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        let curve = &v["curve"];
        for (k, want) in [
            ("p", P_HEX),
            ("a", A_HEX),
            ("b", B_HEX),
            ("gx", GX_HEX),
            ("gy", GY_HEX),
            ("r", R_HEX),
        ] {
            assert_eq!(big(curve[k].as_str().unwrap()), big(want), "curve.{k}");
        }
        assert_eq!(curve["h"].as_u64(), Some(COFACTOR as u64));
        let cases = v["cases"].as_array().unwrap();
        assert!(cases.len() >= 4);
        let r = big(R_HEX);
        for case in cases {
            let name = case["name"].as_str().unwrap();
            let d_be: [u8; 32] = unhex(&case["scalar_be"]);
            let d_big = BigUint::from_bytes_be(&d_be);
            assert!(
                d_big > BigUint::ZERO && d_big < r,
                "{name}: scalar out of range"
            );
            let mut d_le = d_be;
            d_le.reverse();
            let d = Scalar::from_canonical_bytes(d_le).unwrap();
            let wei = hex::decode(case["point_wei"].as_str().unwrap()).unwrap();
            let p = SubgroupPoint::from_wei_point(&wei).unwrap();
            assert_eq!(p.u(), unhex::<32>(&case["montgomery_u_le"]), "{name}");
            let dh_u = (p.montgomery() * d).to_bytes();
            assert_eq!(dh_u, unhex::<32>(&case["dh_u_le"]), "{name}");
            let dh = SubgroupPoint::from_wei_x(&unhex(&case["dh_x_be"])).unwrap();
            assert_eq!(dh.u(), dh_u, "{name}");
        }
        assert!(cases
            .iter()
            .any(|c| c["point_wei"].as_str().unwrap()[2..66] == *GX_HEX));
        let invalid = v["invalid_points"].as_array().unwrap();
        assert!(invalid.len() >= 5);
        for case in invalid {
            let bytes = hex::decode(case["point_wei"].as_str().unwrap()).unwrap();
            let err = SubgroupPoint::from_wei_point(&bytes).unwrap_err();
            assert_eq!(
                err.to_string(),
                case["reason"].as_str().unwrap(),
                "{}",
                case["name"]
            );
        }
    }

    /// Sixteen valid card points, computed once (validation is slow in debug builds).
    fn card_point_pool() -> &'static [[u8; POINT_LEN]] {
        static POOL: OnceLock<Vec<[u8; POINT_LEN]>> = OnceLock::new();
        POOL.get_or_init(|| {
            (1..=16u8)
                .map(|seed| {
                    let u = MontgomeryPoint::mul_base_clamped([seed; 32]).to_bytes();
                    let point = SubgroupPoint::from_u(&u).unwrap().to_wei_point();
                    assert!(SubgroupPoint::from_wei_point(&point).is_ok());
                    point
                })
                .collect()
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(250))]

        /// Whatever bytes arrive as a point, an x or an X25519 key, the parsers give a typed error or a point, never a panic.
        #[test]
        fn point_parsers_never_panic(
            bytes in proptest::collection::vec(any::<u8>(), 0..100),
            word: [u8; 32],
        ) {
            if let Err(e) = SubgroupPoint::from_wei_point(&bytes) {
                prop_assert!(!e.to_string().is_empty());
            }
            let mut point = [0u8; POINT_LEN];
            point[0] = 0x04;
            point[1..33].copy_from_slice(&word);
            point[33..].copy_from_slice(&word);
            let _ = SubgroupPoint::from_wei_point(&point);
            let _ = SubgroupPoint::from_wei_x(&word);
            let _ = SubgroupPoint::from_u(&word);
            let _ = wei_point_from_u(&word);
            let _ = u_to_wei_x(&word);
            let _ = wei_x_to_u(&word);
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        /// Every bit flip of a valid card point is refused, and so is every truncation or extension.
        #[test]
        fn damaged_card_points_are_refused(
            good in proptest::sample::select(card_point_pool()),
            bit in 0usize..POINT_LEN * 8,
            cut in 0usize..POINT_LEN,
            extra in proptest::collection::vec(any::<u8>(), 1..8),
        ) {
            let mut flipped = good;
            flipped[bit / 8] ^= 1 << (bit % 8);
            let verdict = SubgroupPoint::from_wei_point(&flipped);
            prop_assert!(
                matches!(
                    verdict,
                    Err(PointError::NotUncompressed(_) | PointError::NonCanonical | PointError::NotOnCurve)
                ),
                "bit {}: {:?}", bit, verdict
            );
            prop_assert_eq!(
                SubgroupPoint::from_wei_point(&good[..cut]),
                Err(PointError::WrongLength(cut))
            );
            let mut long = good.to_vec();
            long.extend_from_slice(&extra);
            prop_assert_eq!(
                SubgroupPoint::from_wei_point(&long),
                Err(PointError::WrongLength(POINT_LEN + extra.len()))
            );
        }
    }
}
