//! quorum's card layer: the card operations over a [`transport::Transport`], and the
//! [`readers::Readers`] trait a reader backend implements. Nothing here knows PC/SC: the
//! `quorum-pcsc` crate implements both traits over pcscd, tests implement them in memory.
//!
//! - [`transport`]: moving APDU bytes to one card and back, and backend-neutral errors;
//! - [`readers`]: listing readers, connecting, waiting for a card to come or go;
//! - [`card`]: a session with the quorum applet (every command, PIN pad control, traces);
//! - [`custodian`]: the [`custodian::CustodianCard`] trait ceremonies hold cards by;
//! - `memory` (feature `testkit`): in-memory cards and readers that run the applet protocol.

pub mod card;
pub mod custodian;
#[cfg(any(test, feature = "testkit"))]
pub mod memory;
pub mod readers;
pub mod transport;
