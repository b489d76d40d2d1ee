//! Blinded unseal: the card performs the HPKE recipient's DH without ever seeing the
//! ephemeral key E, and its answer is useless to anyone who records the APDUs.
//!
//! The host picks a random nonzero scalar t, sends t·E, the card answers x(d·t·E), and the
//! host multiplies by t⁻¹ mod r to get d·E, the X25519 DH output HPKE's Decap needs. An
//! observer sees t·E and d·t·E, two uniformly random subgroup points; getting d·E from
//! them (and E, from the sealed part) is the computational Diffie-Hellman problem.
//!
//! Two card kinds take the blinded point, in two dresses: the quorum applet a 65-byte
//! Wei25519 point and a big-endian x back ([`Blinding::card_point`], [`Blinding::unblind`]),
//! an OpenPGP card's cv25519 decryption key the X25519 u and a u back ([`Blinding::card_u`],
//! [`Blinding::unblind_u`]). The math is one: an OpenPGP card computes X25519(k, t·E), which
//! on a subgroup point is (clamp(k) mod r)·t·E, a fixed scalar d = clamp(k) mod r like the
//! applet's. Removing t must use the full, unclamped t⁻¹ (curve25519-dalek's
//! `MontgomeryPoint * Scalar`): the X25519 function would clamp t⁻¹ into another number and
//! give a wrong answer (the tests show it).

use std::cell::OnceCell;

use curve25519_dalek::montgomery::MontgomeryPoint;
use curve25519_dalek::scalar::Scalar;
use rand::{CryptoRng, RngCore};
use zeroize::{Zeroize, Zeroizing};

use super::wei25519::{PointError, SubgroupPoint, POINT_LEN};

/// One blinded DH in flight: holds t until the card answers, wipes it afterwards.
pub struct Blinding {
    t: Scalar,
    /// The Wei25519 form, computed on first use: an OpenPGP card never needs it.
    card_point: OnceCell<[u8; POINT_LEN]>,
    card_u: [u8; 32],
}

impl std::fmt::Debug for Blinding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Blinding")
            .field("t", &"<redacted>")
            .field("card_u", &hex::encode(self.card_u))
            .finish()
    }
}

impl Drop for Blinding {
    fn drop(&mut self) {
        self.t.zeroize();
    }
}

impl Blinding {
    /// Blinds a validated ephemeral key E with a fresh random t, ready to send to the card.
    pub fn new<R: RngCore + CryptoRng>(enc: &SubgroupPoint, rng: &mut R) -> Self {
        let t = random_nonzero_scalar(rng);
        // By reference on purpose: a by-value Scalar would leave an unwiped copy of t.
        #[allow(clippy::op_ref)]
        let mut blinded = enc.montgomery() * &t;
        let point = SubgroupPoint::from_u(&blinded.to_bytes())
            .expect("t·E with t nonzero and E in the subgroup is in the subgroup");
        blinded.zeroize();
        Self {
            t,
            card_point: OnceCell::new(),
            card_u: point.u(),
        }
    }

    /// The 65-byte Wei25519 point t·E for the UNSEAL command.
    pub fn card_point(&self) -> &[u8; POINT_LEN] {
        self.card_point.get_or_init(|| {
            SubgroupPoint::from_u(&self.card_u)
                .expect("checked in new")
                .to_wei_point()
        })
    }

    /// The X25519 u of t·E (little-endian) for an OpenPGP card's PSO:DECIPHER.
    pub fn card_u(&self) -> &[u8; 32] {
        &self.card_u
    }

    /// Validates the card's x(d·t·E) and removes t, giving DH(d, E) as X25519 bytes; t is wiped.
    pub fn unblind(self, card_x: &[u8; 32]) -> Result<Zeroizing<[u8; 32]>, PointError> {
        let answer = SubgroupPoint::from_wei_x(card_x)?;
        Ok(self.remove_t(&answer))
    }

    /// Validates an OpenPGP card's u of X25519(k, t·E) and removes t, giving X25519(k, E); t is wiped.
    pub fn unblind_u(self, card_u: &[u8; 32]) -> Result<Zeroizing<[u8; 32]>, PointError> {
        let answer = SubgroupPoint::from_u(card_u)?;
        Ok(self.remove_t(&answer))
    }

    /// t⁻¹·answer with the full, unclamped t⁻¹ (a Montgomery ladder over all of its bits).
    fn remove_t(self, answer: &SubgroupPoint) -> Zeroizing<[u8; 32]> {
        let mut t_inv = self.t.invert();
        #[allow(clippy::op_ref)] // by reference: no unwiped copy of t⁻¹
        let mut dh: MontgomeryPoint = answer.montgomery() * &t_inv;
        t_inv.zeroize();
        let out = Zeroizing::new(dh.to_bytes());
        dh.zeroize();
        out
    }
}

/// A proof that a card holds the private key of a given public key, without any share:
/// the host sends s·G for a fresh random s and expects x(s·Q) back (`verify --no-open`).
///
/// The pair (s·G, x(d·s·G)) is what anyone who knows Q alone can produce, so the APDU log
/// of the check carries nothing about a share or a DH secret of any sealed part.
pub struct KeyChallenge {
    expected: [u8; 32],
    card_point: [u8; POINT_LEN],
    card_u: [u8; 32],
}

impl std::fmt::Debug for KeyChallenge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyChallenge")
            .field("card_point", &hex::encode(self.card_point))
            .finish()
    }
}

impl KeyChallenge {
    /// A fresh challenge for the card whose public key is `key` (Montgomery u of Q).
    pub fn new<R: RngCore + CryptoRng>(key: &SubgroupPoint, rng: &mut R) -> Self {
        let mut s = random_nonzero_scalar(rng);
        let point = SubgroupPoint::from_u(&MontgomeryPoint::mul_base(&s).to_bytes())
            .expect("s·G with s nonzero is in the subgroup");
        #[allow(clippy::op_ref)] // by reference: no unwiped copy of s
        let expected = (key.montgomery() * &s).to_bytes();
        s.zeroize();
        Self {
            expected,
            card_point: point.to_wei_point(),
            card_u: point.u(),
        }
    }

    /// The 65-byte Wei25519 point s·G for the UNSEAL command.
    pub fn card_point(&self) -> &[u8; POINT_LEN] {
        &self.card_point
    }

    /// Whether the card's answer x(d·s·G) is x(s·Q): the card holds d for Q; an invalid answer is an error.
    pub fn answered(&self, card_x: &[u8; 32]) -> Result<bool, PointError> {
        let answer = SubgroupPoint::from_wei_x(card_x)?;
        Ok(answer.u() == self.expected)
    }

    /// The X25519 u of s·G, for an OpenPGP card's PSO:DECIPHER (`verify --no-open` on such a card).
    pub fn card_u(&self) -> &[u8; 32] {
        &self.card_u
    }

    /// Whether an OpenPGP card's u of X25519(k, s·G) is u(s·Q): the card holds k for Q; an invalid answer is an error.
    pub fn answered_u(&self, card_u: &[u8; 32]) -> Result<bool, PointError> {
        let answer = SubgroupPoint::from_u(card_u)?;
        Ok(answer.u() == self.expected)
    }
}

/// A uniformly random scalar in [1, r): 64 random bytes reduced mod r, redrawn on zero.
fn random_nonzero_scalar<R: RngCore + CryptoRng>(rng: &mut R) -> Scalar {
    loop {
        let mut wide = Zeroizing::new([0u8; 64]);
        rng.fill_bytes(&mut wide[..]);
        let s = Scalar::from_bytes_mod_order_wide(&wide);
        if s != Scalar::ZERO {
            return s;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::wei25519::u_to_wei_x;
    use curve25519_dalek::constants::{ED25519_BASEPOINT_POINT, EIGHT_TORSION};
    use rand::{RngCore, SeedableRng};
    use rand_chacha::ChaCha20Rng;
    use x25519_dalek::{PublicKey, StaticSecret};

    /// A software "card": a Wei25519 private scalar d, doing what ALG_EC_SVDP_DH_PLAIN does.
    struct SoftCard {
        d: Scalar,
    }

    impl SoftCard {
        fn unseal(&self, point: &[u8; 65]) -> [u8; 32] {
            let p = SubgroupPoint::from_wei_point(point).expect("host sends valid points");
            u_to_wei_x(&(p.montgomery() * self.d).to_bytes()).unwrap()
        }
    }

    fn clamp(mut k: [u8; 32]) -> [u8; 32] {
        k[0] &= 248;
        k[31] &= 127;
        k[31] |= 64;
        k
    }

    #[test]
    fn a_key_challenge_passes_for_the_right_card_only() {
        let mut rng = ChaCha20Rng::seed_from_u64(13);
        for _ in 0..16 {
            let card = SoftCard {
                d: random_nonzero_scalar(&mut rng),
            };
            let other = SoftCard {
                d: random_nonzero_scalar(&mut rng),
            };
            let q = SubgroupPoint::from_u(&MontgomeryPoint::mul_base(&card.d).to_bytes()).unwrap();
            let c = KeyChallenge::new(&q, &mut rng);
            assert!(c.answered(&card.unseal(c.card_point())).unwrap());
            assert!(!c.answered(&other.unseal(c.card_point())).unwrap());
            // a fresh point every time
            assert_ne!(KeyChallenge::new(&q, &mut rng).card_point(), c.card_point());
        }
        let q = SubgroupPoint::from_u(&MontgomeryPoint::mul_base(&Scalar::ONE).to_bytes()).unwrap();
        let c = KeyChallenge::new(&q, &mut rng);
        assert!(
            c.answered(&[0xff; 32]).is_err(),
            "a non-canonical x is an error"
        );
    }

    #[test]
    fn unblinded_result_is_the_plain_dh() {
        let mut rng = ChaCha20Rng::seed_from_u64(11);
        for _ in 0..48 {
            let card = SoftCard {
                d: random_nonzero_scalar(&mut rng),
            };
            let sk_e = StaticSecret::random_from_rng(&mut rng);
            let e = SubgroupPoint::from_u(&PublicKey::from(&sk_e).to_bytes()).unwrap();
            let b = Blinding::new(&e, &mut rng);
            // the card never sees E
            assert_ne!(&b.card_point()[1..33], &e.wei_x()[..]);
            let answer = card.unseal(b.card_point());
            let dh = b.unblind(&answer).unwrap();
            assert_eq!(*dh, (e.montgomery() * card.d).to_bytes());
            // and the sender's side agrees: DH(skE, pkR) with pkR = d·G
            let pk_r = MontgomeryPoint::mul_base(&card.d);
            assert_eq!(
                *dh,
                sk_e.diffie_hellman(&PublicKey::from(pk_r.to_bytes()))
                    .to_bytes()
            );
        }
    }

    #[test]
    fn card_with_an_x25519_key_matches_x25519_dalek() {
        // An X25519 secret k acts on the subgroup as the scalar clamp(k) mod r.
        let mut rng = ChaCha20Rng::seed_from_u64(12);
        for _ in 0..16 {
            let sk_r = StaticSecret::random_from_rng(&mut rng);
            let card = SoftCard {
                d: Scalar::from_bytes_mod_order(clamp(sk_r.to_bytes())),
            };
            let sk_e = StaticSecret::random_from_rng(&mut rng);
            let enc = PublicKey::from(&sk_e);
            let b = Blinding::new(&SubgroupPoint::from_u(enc.as_bytes()).unwrap(), &mut rng);
            let answer = card.unseal(b.card_point());
            let dh = b.unblind(&answer).unwrap();
            assert_eq!(*dh, sk_r.diffie_hellman(&enc).to_bytes());
        }
    }

    /// A software OpenPGP card: its cv25519 decryption key is an X25519 secret k, stored
    /// clamped, and PSO:DECIPHER answers X25519(k, u), which clamps k once more.
    struct SoftOpenPgpCard {
        k: [u8; 32],
    }

    impl SoftOpenPgpCard {
        fn random(rng: &mut ChaCha20Rng) -> Self {
            let mut k = [0u8; 32];
            rng.fill_bytes(&mut k);
            Self { k: clamp(k) }
        }

        fn decipher(&self, u: &[u8; 32]) -> [u8; 32] {
            x25519_dalek::x25519(self.k, *u)
        }

        fn public(&self) -> PublicKey {
            PublicKey::from(&StaticSecret::from(self.k))
        }
    }

    /// An honest HPKE enc: X25519(skE, 9), a base-point multiple, so in the prime-order subgroup.
    fn honest_enc(rng: &mut ChaCha20Rng) -> (StaticSecret, PublicKey) {
        let sk_e = StaticSecret::random_from_rng(&mut *rng);
        let enc = PublicKey::from(&sk_e);
        (sk_e, enc)
    }

    #[test]
    fn an_openpgp_card_unblinds_to_x25519_of_its_clamped_key() {
        let mut rng = ChaCha20Rng::seed_from_u64(21);
        for _ in 0..500 {
            let card = SoftOpenPgpCard::random(&mut rng);
            let (sk_e, enc) = honest_enc(&mut rng);
            let b = Blinding::new(&SubgroupPoint::from_u(enc.as_bytes()).unwrap(), &mut rng);
            // the card never sees E
            assert_ne!(b.card_u(), enc.as_bytes());
            let answer = card.decipher(b.card_u());
            let dh = b.unblind_u(&answer).unwrap();
            // what the card would answer to E itself, and what the sender computed
            assert_eq!(*dh, x25519_dalek::x25519(card.k, enc.to_bytes()));
            assert_eq!(*dh, sk_e.diffie_hellman(&card.public()).to_bytes());
        }
    }

    #[test]
    fn the_clamping_x25519_function_cannot_remove_the_blinding() {
        // X25519(t⁻¹, ·) clamps t⁻¹ (clears its low 3 bits, sets bit 254): another scalar, so
        // the answer is wrong; this is why unblind_u multiplies with the full t⁻¹.
        let mut rng = ChaCha20Rng::seed_from_u64(22);
        let mut right = 0;
        for _ in 0..100 {
            let card = SoftOpenPgpCard::random(&mut rng);
            let (_, enc) = honest_enc(&mut rng);
            let b = Blinding::new(&SubgroupPoint::from_u(enc.as_bytes()).unwrap(), &mut rng);
            let answer = card.decipher(b.card_u());
            let clamped = x25519_dalek::x25519(b.t.invert().to_bytes(), answer);
            if clamped == x25519_dalek::x25519(card.k, enc.to_bytes()) {
                right += 1;
            }
            // while the unclamped multiply is right every time
            assert_eq!(
                *b.unblind_u(&answer).unwrap(),
                x25519_dalek::x25519(card.k, enc.to_bytes())
            );
        }
        assert_eq!(
            right, 0,
            "clamped unblinding was right {right} times of 500"
        );
    }

    #[test]
    fn an_openpgp_key_challenge_passes_for_the_right_card_only() {
        let mut rng = ChaCha20Rng::seed_from_u64(23);
        for _ in 0..16 {
            let card = SoftOpenPgpCard::random(&mut rng);
            let other = SoftOpenPgpCard::random(&mut rng);
            let q = SubgroupPoint::from_u(card.public().as_bytes()).unwrap();
            let c = KeyChallenge::new(&q, &mut rng);
            assert!(c.answered_u(&card.decipher(c.card_u())).unwrap());
            assert!(!c.answered_u(&other.decipher(c.card_u())).unwrap());
        }
        let q = SubgroupPoint::from_u(&MontgomeryPoint::mul_base(&Scalar::ONE).to_bytes()).unwrap();
        let c = KeyChallenge::new(&q, &mut rng);
        let mut twist = [0u8; 32];
        twist[0] = 2;
        assert_eq!(c.answered_u(&twist).unwrap_err(), PointError::OnTwist);
    }

    #[test]
    fn bad_openpgp_answers_are_refused() {
        let mut rng = ChaCha20Rng::seed_from_u64(24);
        let e = SubgroupPoint::from_u(
            &MontgomeryPoint::mul_base(&random_nonzero_scalar(&mut rng)).to_bytes(),
        )
        .unwrap();
        let low = EIGHT_TORSION[3].to_montgomery().to_bytes();
        assert_eq!(
            Blinding::new(&e, &mut rng).unblind_u(&low).unwrap_err(),
            PointError::LowOrder
        );
        let mixed = (ED25519_BASEPOINT_POINT + EIGHT_TORSION[1])
            .to_montgomery()
            .to_bytes();
        assert_eq!(
            Blinding::new(&e, &mut rng).unblind_u(&mixed).unwrap_err(),
            PointError::NotInSubgroup
        );
        assert_eq!(
            Blinding::new(&e, &mut rng)
                .unblind_u(&[0xff; 32])
                .unwrap_err(),
            PointError::NonCanonical
        );
    }

    #[test]
    fn two_blindings_of_one_key_look_unrelated() {
        let mut rng = ChaCha20Rng::seed_from_u64(13);
        let e = SubgroupPoint::from_u(
            &MontgomeryPoint::mul_base(&random_nonzero_scalar(&mut rng)).to_bytes(),
        )
        .unwrap();
        let a = Blinding::new(&e, &mut rng);
        let b = Blinding::new(&e, &mut rng);
        assert_ne!(a.card_point(), b.card_point());
        assert!(!format!("{a:?}").contains(&hex::encode(a.t.to_bytes())));
    }

    #[test]
    fn bad_card_answers_are_refused() {
        let mut rng = ChaCha20Rng::seed_from_u64(14);
        let e = SubgroupPoint::from_u(
            &MontgomeryPoint::mul_base(&random_nonzero_scalar(&mut rng)).to_bytes(),
        )
        .unwrap();
        let low = u_to_wei_x(&EIGHT_TORSION[3].to_montgomery().to_bytes()).unwrap();
        assert_eq!(
            Blinding::new(&e, &mut rng).unblind(&low).unwrap_err(),
            PointError::LowOrder
        );
        let mixed = (ED25519_BASEPOINT_POINT + EIGHT_TORSION[1])
            .to_montgomery()
            .to_bytes();
        let mixed = u_to_wei_x(&mixed).unwrap();
        assert_eq!(
            Blinding::new(&e, &mut rng).unblind(&mixed).unwrap_err(),
            PointError::NotInSubgroup
        );
        let mut twist = [0u8; 32];
        twist[0] = 2;
        let twist = u_to_wei_x(&twist).unwrap();
        assert_eq!(
            Blinding::new(&e, &mut rng).unblind(&twist).unwrap_err(),
            PointError::OnTwist
        );
        assert_eq!(
            Blinding::new(&e, &mut rng)
                .unblind(&[0xff; 32])
                .unwrap_err(),
            PointError::NonCanonical
        );
    }
}
