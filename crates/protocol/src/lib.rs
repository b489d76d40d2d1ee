//! quorum's protocol: everything that crosses a wire or lands in a file, and the
//! cryptography that produces it. No I/O happens in this crate: no card, no file, no
//! terminal; the crates above it move the bytes.
//!
//! - [`apdu`]: the card protocol as a codec (commands, status words, responses, PUT RECORD
//!   chaining, PC/SC Part 10 PIN pad structures);
//! - [`pin`]: the PIN rules and the on-wire PIN block;
//! - [`crypto`]: card keys, HPKE sealing, blinded unseal, the master's wrap, set anchors;
//! - [`record`]: the record a card stores (public and sealed parts);
//! - [`sharing`]: splitting a master into sealed shares and recovering it;
//! - [`bundle`]: the bundle file format (every record of a set, for backup and anchoring);
//! - [`openpgp`]: the OpenPGP card application's commands and answers, for OpenPGP cards as
//!   custodian cards (the blinded unseal through PSO:DECIPHER).

pub mod apdu;
pub mod bundle;
pub mod crypto;
#[cfg(any(test, feature = "testkit"))]
pub mod mutation;
pub mod openpgp;
pub mod pin;
pub mod record;
pub mod sharing;
