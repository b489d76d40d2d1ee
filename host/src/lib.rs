//! quorum: n-of-m backup of a master key to custodian smart cards.
//!
//! Layers, bottom up: `protocol` (APDU codec, no I/O), `transport` (a trait and its
//! PC/SC implementation), `card` (typed card operations over a transport), `crypto`
//! and `record` (sealing and the stored record, no I/O), `ceremony` (enroll, recover,
//! init), and the thin `quorumctl` binary on top.

pub mod card;
pub mod crypto;
pub mod pin;
pub mod protocol;
pub mod record;
pub mod sharing;
pub mod transport;
