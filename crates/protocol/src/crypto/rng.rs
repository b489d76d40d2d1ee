//! One RNG for everything: blahaj 0.7 wants a rand_core 0.10 `CryptoRng`, the dalek
//! crates want a rand_core 0.6 one. This adapter lets a single rand_core 0.6 CSPRNG (the
//! OS RNG in production, a seeded ChaCha20 for test vectors) drive blahaj too, so a
//! seeded enrollment is reproducible end to end.

use std::convert::Infallible;

use rand::{CryptoRng, RngCore};

/// Borrows a rand_core 0.6 CSPRNG as a rand_core 0.10 one, so blahaj draws from the same source as the rest.
pub(crate) struct Rng10<'a, R: ?Sized>(pub(crate) &'a mut R);

impl<R: RngCore + CryptoRng + ?Sized> rand_core_10::TryRng for Rng10<'_, R> {
    type Error = Infallible;

    fn try_next_u32(&mut self) -> Result<u32, Infallible> {
        Ok(self.0.next_u32())
    }

    fn try_next_u64(&mut self) -> Result<u64, Infallible> {
        Ok(self.0.next_u64())
    }

    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Infallible> {
        self.0.fill_bytes(dst);
        Ok(())
    }
}

// The wrapped generator is a CryptoRng, so the adapter is one as well.
impl<R: RngCore + CryptoRng + ?Sized> rand_core_10::TryCryptoRng for Rng10<'_, R> {}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha20Rng;
    use rand_core_10::Rng;

    #[test]
    fn adapter_yields_the_wrapped_stream() {
        let mut a = ChaCha20Rng::seed_from_u64(7);
        let mut b = ChaCha20Rng::seed_from_u64(7);
        let mut via = [0u8; 40];
        let mut direct = [0u8; 40];
        Rng10(&mut a).fill_bytes(&mut via);
        b.fill_bytes(&mut direct);
        assert_eq!(via, direct);
        assert_eq!(Rng10(&mut a).next_u64(), b.next_u64());
        assert_eq!(Rng10(&mut a).next_u32(), b.next_u32());
    }

    #[test]
    fn blahaj_accepts_the_adapter() {
        let mut rng = ChaCha20Rng::seed_from_u64(9);
        let secret = [0x5au8; 32];
        let shares: Vec<blahaj::Share> = blahaj::Sharks(2)
            .dealer_rng(&secret, &mut Rng10(&mut rng))
            .take(3)
            .collect();
        let back = blahaj::Sharks(2).recover(&shares[1..]).unwrap();
        assert_eq!(back, secret);
    }
}
