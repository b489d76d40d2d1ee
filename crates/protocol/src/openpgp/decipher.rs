//! The blinded unseal on an OpenPGP card: quorum's [`Blinding`], sent in PSO:DECIPHER.
//!
//! The host blinds the sealed share's ephemeral key E with a fresh nonzero t, sends the X25519
//! u of t·E in DECIPHER, gets X25519(k, t·E) back and multiplies by t⁻¹ mod r with the full,
//! unclamped scalar, giving X25519(k, E), the DH HPKE's Decap needs. The card never sees E,
//! and the APDU log holds only t·E and k·t·E (crypto::blind explains why that is safe and why
//! the X25519 function cannot unblind). The card must have PW1 verified in mode 82.

use rand::{CryptoRng, RngCore};
use zeroize::Zeroizing;

use super::command::decipher_cv25519;
use super::data::{parse_decipher_answer, OpenPgpParseError};
use crate::apdu::CommandApdu;
use crate::crypto::{Blinding, PointError, SubgroupPoint};

/// Why a DECIPHER answer gave no DH: the answer's form, or its point.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecipherError {
    /// Not 32 bytes.
    #[error(transparent)]
    Answer(#[from] OpenPgpParseError),
    /// Not a point of the prime-order subgroup: a faulty card, or not the cv25519 key.
    #[error("the card's DECIPHER answer is not a usable point ({0}): the card is faulty or its decryption key is not cv25519")]
    Point(#[from] PointError),
}

/// One blinded DECIPHER in flight: the command to send and the t to remove from its answer.
#[derive(Debug)]
pub struct BlindedDecipher {
    blinding: Blinding,
}

impl BlindedDecipher {
    /// Blinds the validated ephemeral key E (the sealed share's enc) with a fresh random t.
    pub fn new<R: RngCore + CryptoRng>(enc: &SubgroupPoint, rng: &mut R) -> Self {
        Self {
            blinding: Blinding::new(enc, rng),
        }
    }

    /// Wraps a blinding made elsewhere (the sharing core's), so both card kinds share one.
    pub fn from_blinding(blinding: Blinding) -> Self {
        Self { blinding }
    }

    /// The PSO:DECIPHER command carrying u(t·E); point and answer are redacted in traces.
    pub fn command(&self) -> CommandApdu {
        decipher_cv25519(self.blinding.card_u())
    }

    /// Reads the card's answer and removes t, giving X25519(k, E); t is wiped either way.
    pub fn unblind(self, answer: &[u8]) -> Result<Zeroizing<[u8; 32]>, DecipherError> {
        let u = parse_decipher_answer(answer)?;
        Ok(self.blinding.unblind_u(&u)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::openpgp::tlv;
    use rand::SeedableRng;
    use rand_chacha::ChaCha20Rng;
    use x25519_dalek::{PublicKey, StaticSecret};

    /// A software OpenPGP card that reads the DECIPHER APDU as the spec lays it out
    /// (§7.2.11: A6 { 7F49 { 86 u } }) and answers X25519(k, u) with its clamped key.
    fn card_answer(k: [u8; 32], apdu: &[u8]) -> Vec<u8> {
        assert_eq!(&apdu[..4], &[0x00, 0x2A, 0x80, 0x86]);
        let lc = usize::from(apdu[4]);
        let data = &apdu[5..5 + lc];
        assert_eq!(apdu.len(), 5 + lc + 1, "Le follows the data");
        let (a6, rest) = tlv::read_one(data).unwrap();
        assert!(rest.is_empty() && a6.tag == 0xA6);
        let (pk, _) = tlv::read_one(a6.value).unwrap();
        assert_eq!(pk.tag, 0x7F49);
        let (point, _) = tlv::read_one(pk.value).unwrap();
        assert_eq!(point.tag, 0x86);
        let u: [u8; 32] = point.value.try_into().expect("a bare 32-byte u");
        x25519_dalek::x25519(k, u).to_vec()
    }

    #[test]
    fn a_blinded_decipher_gives_the_cards_x25519_of_e() {
        let mut rng = ChaCha20Rng::seed_from_u64(31);
        for _ in 0..64 {
            let k = StaticSecret::random_from_rng(&mut rng);
            let sk_e = StaticSecret::random_from_rng(&mut rng);
            let enc = PublicKey::from(&sk_e);
            let d = BlindedDecipher::new(&SubgroupPoint::from_u(enc.as_bytes()).unwrap(), &mut rng);
            let command = d.command();
            // the card sees neither E nor anything equal to it
            assert!(!command.as_bytes().windows(32).any(|w| w == enc.as_bytes()));
            assert!(command.has_secret_response());
            let answer = card_answer(k.to_bytes(), command.as_bytes());
            let dh = d.unblind(&answer).unwrap();
            assert_eq!(*dh, sk_e.diffie_hellman(&PublicKey::from(&k)).to_bytes());
        }
    }

    #[test]
    fn bad_answers_are_typed_errors() {
        let mut rng = ChaCha20Rng::seed_from_u64(32);
        let enc = PublicKey::from(&StaticSecret::random_from_rng(&mut rng));
        let e = SubgroupPoint::from_u(enc.as_bytes()).unwrap();
        assert!(matches!(
            BlindedDecipher::new(&e, &mut rng)
                .unblind(&[1; 31])
                .unwrap_err(),
            DecipherError::Answer(OpenPgpParseError::Length { got: 31, .. })
        ));
        assert_eq!(
            BlindedDecipher::new(&e, &mut rng)
                .unblind(&[0; 32])
                .unwrap_err(),
            DecipherError::Point(PointError::LowOrder)
        );
        assert!(!DecipherError::Point(PointError::LowOrder)
            .to_string()
            .is_empty());
    }
}
