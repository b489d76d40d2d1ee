//! Per-share commitments: a public hash of each custodian's share in the set description,
//! so one custodian alone can check that their card still opens the share the set was
//! dealt with. Why publishing them reveals nothing useful: apdu-spec/crypto.md §7.

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// Domain-separation prefix of the commitment hash (20 bytes), distinct from every other quorum hash input.
pub const COMMITMENT_PREFIX: &[u8; 20] = b"quorum/v1/commitment";
/// Length of a commitment (a SHA-256 digest).
pub const COMMITMENT_LEN: usize = 32;

/// SHA-256("quorum/v1/commitment" ‖ set_id ‖ share): the share's first byte is its index, so the commitment binds set, index and value.
pub fn share_commitment(set_id: &[u8; 16], share: &[u8; 33]) -> [u8; COMMITMENT_LEN] {
    Sha256::new()
        .chain_update(COMMITMENT_PREFIX)
        .chain_update(set_id)
        .chain_update(share)
        .finalize()
        .into()
}

/// Whether `share` opens `commitment` in set `set_id`; constant time, so no timing reveals how close a wrong share came.
pub fn commitment_matches(
    set_id: &[u8; 16],
    share: &[u8; 33],
    commitment: &[u8; COMMITMENT_LEN],
) -> bool {
    share_commitment(set_id, share).ct_eq(commitment).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commitment_is_the_documented_hash() {
        let set_id = [0x5a; 16];
        let mut share = [0x33; 33];
        share[0] = 4;
        let mut input = b"quorum/v1/commitment".to_vec();
        assert_eq!(input.len(), 20);
        input.extend_from_slice(&set_id);
        input.extend_from_slice(&share);
        assert_eq!(input.len(), 69);
        let expected: [u8; 32] = Sha256::digest(&input).into();
        assert_eq!(share_commitment(&set_id, &share), expected);
        assert!(commitment_matches(&set_id, &share, &expected));
    }

    #[test]
    fn commitment_binds_set_index_and_value() {
        let set_id = [1u8; 16];
        let share = [2u8; 33];
        let c = share_commitment(&set_id, &share);
        let mut other_set = set_id;
        other_set[15] ^= 1;
        assert!(!commitment_matches(&other_set, &share, &c));
        let mut other_index = share;
        other_index[0] = 3;
        assert!(!commitment_matches(&set_id, &other_index, &c));
        for at in 1..33 {
            let mut other_value = share;
            other_value[at] ^= 0x80;
            assert!(!commitment_matches(&set_id, &other_value, &c), "byte {at}");
        }
    }
}
