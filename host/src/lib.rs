//! quorum: n-of-m backup of a master key to custodian smart cards.
//!
//! Layers, bottom up: `protocol` (APDU codec, no I/O), `transport` (a trait and its
//! PC/SC implementation), `card` (typed card operations over a transport), `crypto`,
//! `record` and `sharing` (sealing, the stored record, splitting and recovering, no
//! I/O), `ceremony` (init, enroll, recover, inspection), `log` (the hash-chained ceremony log),
//! and the thin `quorumctl` binary.

pub mod bundle;
pub mod card;
pub mod ceremony;
pub mod crypto;
mod hardening;
pub mod log;
#[cfg(test)]
mod mutation;
pub mod pin;
pub mod protocol;
pub mod record;
pub mod secret_io;
pub mod sharing;
pub mod transport;

pub use hardening::{
    core_dumps_disabled, harden_process, locked_kib, Hardening, MemoryLock, MEMLOCK_NEEDED,
};
