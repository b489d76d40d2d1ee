//! quorum's cryptography, no I/O: the Wei25519 ⇄ X25519 mapping and point validation,
//! HPKE (RFC 9180) with a pluggable recipient DH, the blinded unseal, the master wrap,
//! share commitments, card fingerprints, and the set digest, key check value and description
//! MAC that anchor a recovery to the enrolled set. Primitives come from the chosen crates; this
//! module only assembles them. apdu-spec/crypto.md is the byte-exact description.

pub mod anchor;
pub mod blind;
pub mod card_key;
pub mod commitment;
pub mod hpke;
pub(crate) mod rng;
pub mod wei25519;
pub mod wrap;

pub use anchor::{DescriptionKey, KeyCheck, SetDigest};
pub use blind::{Blinding, KeyChallenge};
pub use card_key::CardKey;
pub use wei25519::{PointError, SubgroupPoint};
pub use wrap::{Dek, WrapError, WrappedMaster};
