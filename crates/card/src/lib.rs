//! quorum's card layer: the card operations over a [`transport::Transport`], and the
//! [`readers::Readers`] trait a reader backend implements. Nothing here knows PC/SC: the
//! `quorum-pcsc` crate implements both traits over pcscd, tests implement them in memory.
//!
//! - [`transport`]: moving APDU bytes to one card and back, and backend-neutral errors;
//! - [`readers`]: listing readers, connecting, waiting for a card to come or go;
//! - [`card`]: a session with the quorum applet (every command, PIN pad control, traces);
//! - [`custodian`]: the [`custodian::CustodianCard`] trait ceremonies hold cards by;
//! - [`openpgp`]: a stock OpenPGP card (cv25519) as a custodian card (apdu-spec/openpgp.md);
//! - [`kind`]: which kind of custodian card is in a reader;
//! - [`read_only`]: the card a dry run holds, which refuses every command that changes it;
//! - `memory` (feature `testkit`): in-memory cards and readers that run the applet protocol,
//!   and an in-memory OpenPGP card.

pub mod any;
pub mod card;
pub mod custodian;
pub mod kind;
#[cfg(any(test, feature = "testkit"))]
pub mod memory;
pub mod openpgp;
pub mod read_only;
pub mod readers;
pub mod transport;
