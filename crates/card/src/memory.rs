//! In-memory cards and readers for tests (feature `testkit`): ceremony logic runs against
//! them without pcscd, so the unit suite proves the logic and the end-to-end suite the
//! integration.
//!
//! - [`MemoryApplet`]: the quorum applet as apdu-spec specifies it, a second implementation
//!   of the spec (the Java applet is the first) that `Card<MemoryApplet>` drives byte for
//!   byte; it logs every command it receives, so a test can say what a card saw;
//! - [`MemoryOpenPgp`]: enough of an OpenPGP card (spec 3.4.1, as apdu-spec/openpgp.md uses
//!   it) for `OpenPgpCard<MemoryOpenPgp>`, with the same kind of log;
//! - [`MemoryReaders`]: named readers whose cards the test inserts, removes, pulls out
//!   after N APDUs, or scripts to move at the ceremony's next wait; a reader holds either
//!   kind ([`HeldCard`]), so a ceremony's unit test may mix applet and OpenPGP cards.
//!
//! Crypto comes from quorum-protocol (the Wei25519 mapping and point validation) and
//! curve25519-dalek (scalars, the Montgomery ladder); nothing here does field arithmetic.

mod applet;
mod openpgp;
mod readers;
#[cfg(test)]
mod tests;

pub use applet::{
    pin_block, select_apdu, sw_tries_left, Exchange, MemoryApplet, DEFAULT_CAPACITY,
    SW_APPLET_NOT_FOUND, SW_CHAINING_NOT_SUPPORTED, SW_CHAIN_ABORTED, SW_CLA_NOT_SUPPORTED,
    SW_CONDITIONS, SW_INCORRECT_DATA, SW_INS_NOT_SUPPORTED, SW_NOT_ENOUGH_MEMORY, SW_NOT_SELECTED,
    SW_OK, SW_PIN_BLOCKED, SW_PIN_NOT_VERIFIED, SW_WRONG_LENGTH, SW_WRONG_P1P2,
};
pub use openpgp::{
    MemoryOpenPgp, DEFAULT_ADMIN_PIN, DEFAULT_TRIES, DEFAULT_USER_PIN, YUBIKEY_PRIVATE_USE_SIZE,
};
pub use readers::{
    shared, shared_openpgp, HeldCard, Insertable, MemoryReaders, Movement, SharedCard,
    SharedOpenPgp, MEMORY_ATR, OPENPGP_ATR,
};
