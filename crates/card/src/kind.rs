//! Which kind of custodian card is in a reader, so that `open_card` can choose a backend:
//! the quorum applet is asked for first (as every host did before OpenPGP cards), then the
//! OpenPGP application.

use crate::transport::{Transport, TransportError};
use quorum_protocol::apdu::CommandApdu;
use quorum_protocol::openpgp::command;

/// The kinds of custodian card quorum can talk to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CardKind {
    /// The quorum applet answered SELECT by its AID.
    QuorumApplet,
    /// No quorum applet, but the OpenPGP application answered SELECT by its partial AID.
    OpenPgp,
    /// Neither: a card quorum cannot use.
    Unknown,
}

/// SELECTs the quorum applet, then the OpenPGP application, and says which answered; a
/// lost card or reader is a transport error, never `Unknown`.
pub fn probe<T: Transport + ?Sized>(transport: &mut T) -> Result<CardKind, TransportError> {
    if selected(transport.transmit(CommandApdu::select().as_bytes())?.sw()) {
        return Ok(CardKind::QuorumApplet);
    }
    if selected(transport.transmit(command::select().as_bytes())?.sw()) {
        return Ok(CardKind::OpenPgp);
    }
    Ok(CardKind::Unknown)
}

/// 9000, or 61xx (an answer waiting for GET RESPONSE), means the application was selected.
fn selected(sw: u16) -> bool {
    sw == 0x9000 || sw & 0xFF00 == 0x6100
}
