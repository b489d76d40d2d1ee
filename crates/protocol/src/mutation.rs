//! Test support: the damage the parsers' property tests do to valid inputs (a flipped
//! bit, an overwritten, inserted or removed byte, a cut, an extension), as one proptest
//! strategy, so every parser of outside data is tried against the same kinds of damage.

use proptest::prelude::*;
use proptest::sample::Index;

/// One way to damage a valid byte string.
#[derive(Debug, Clone)]
pub enum Mutation {
    /// Flip bit `1` of the byte at `0`.
    FlipBit(Index, u8),
    /// Overwrite the byte at `0` with `1`.
    SetByte(Index, u8),
    /// Keep a strict prefix.
    Truncate(Index),
    /// Append bytes.
    Extend(Vec<u8>),
    /// Insert a byte before position `0`.
    Insert(Index, u8),
    /// Remove the byte at `0`.
    Remove(Index),
}

impl Mutation {
    /// The damaged copy of `good` (which must not be empty).
    pub fn apply(&self, good: &[u8]) -> Vec<u8> {
        assert!(
            !good.is_empty(),
            "mutations apply to valid, non-empty inputs"
        );
        let mut out = good.to_vec();
        match self {
            Mutation::FlipBit(at, bit) => out[at.index(good.len())] ^= 1 << (bit % 8),
            Mutation::SetByte(at, byte) => out[at.index(good.len())] = *byte,
            Mutation::Truncate(at) => out.truncate(at.index(good.len())),
            Mutation::Extend(extra) => out.extend_from_slice(extra),
            Mutation::Insert(at, byte) => out.insert(at.index(good.len() + 1), *byte),
            Mutation::Remove(at) => {
                out.remove(at.index(good.len()));
            }
        }
        out
    }
}

/// Any one mutation, each kind equally likely; extensions add 1 to 16 bytes.
pub fn any_mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<Index>(), 0u8..8).prop_map(|(at, bit)| Mutation::FlipBit(at, bit)),
        (any::<Index>(), any::<u8>()).prop_map(|(at, b)| Mutation::SetByte(at, b)),
        any::<Index>().prop_map(Mutation::Truncate),
        proptest::collection::vec(any::<u8>(), 1..16).prop_map(Mutation::Extend),
        (any::<Index>(), any::<u8>()).prop_map(|(at, b)| Mutation::Insert(at, b)),
        any::<Index>().prop_map(Mutation::Remove),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(500))]

        /// Each mutation changes the input in the way its name says.
        #[test]
        fn mutations_do_what_they_say(
            good in proptest::collection::vec(any::<u8>(), 1..64),
            m in any_mutation(),
        ) {
            let bad = m.apply(&good);
            match &m {
                Mutation::FlipBit(..) => {
                    prop_assert_eq!(bad.len(), good.len());
                    let diff: u32 = good.iter().zip(&bad).map(|(a, b)| (a ^ b).count_ones()).sum();
                    prop_assert_eq!(diff, 1);
                }
                Mutation::SetByte(..) => {
                    prop_assert_eq!(bad.len(), good.len());
                    prop_assert!(good.iter().zip(&bad).filter(|(a, b)| a != b).count() <= 1);
                }
                Mutation::Truncate(_) => prop_assert!(bad.len() < good.len() && good.starts_with(&bad)),
                Mutation::Extend(extra) => {
                    prop_assert!(bad.starts_with(&good) && bad.ends_with(extra));
                    prop_assert_eq!(bad.len(), good.len() + extra.len());
                }
                Mutation::Insert(..) => prop_assert_eq!(bad.len(), good.len() + 1),
                Mutation::Remove(..) => prop_assert_eq!(bad.len() + 1, good.len()),
            }
        }
    }
}
