//! The readers a ceremony draws its cards from, behind a trait so that ceremonies run the
//! same over pcscd (`quorum-pcsc`) and over in-memory readers in tests.

use std::sync::Arc;
use std::time::Duration;

use quorum_protocol::apdu::ReaderFeatures;

use crate::transport::{Transport, TransportError};

/// One reader as the backend sees it right now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReaderInfo {
    /// The reader's name, as given to [`Readers::connect`].
    pub name: String,
    /// A card is in the reader.
    pub card_present: bool,
    /// A card is present but does not answer (bad contact, unsupported card).
    pub card_mute: bool,
    /// Another program holds the card exclusively.
    pub exclusive: bool,
    /// Another program has the card open (shared).
    pub in_use: bool,
    /// The card's Answer To Reset (empty without a card).
    pub atr: Vec<u8>,
    /// The backend's own record of this state (for pcscd: the state word with its event
    /// counter), the baseline that [`Readers::wait_for_change`] compares against.
    pub baseline: u64,
}

impl ReaderInfo {
    /// A reader with or without a card and nothing else to say, for backends and tests.
    pub fn new(name: &str, card_present: bool) -> ReaderInfo {
        ReaderInfo {
            name: name.to_owned(),
            card_present,
            card_mute: false,
            exclusive: false,
            in_use: false,
            atr: Vec::new(),
            baseline: 0,
        }
    }
}

/// An exclusive connection to the card in one reader, whatever the backend: ceremonies hold
/// cards of several readers (and, later, of several kinds) side by side.
pub type Connection = Box<dyn Transport>;

/// Ends every wait a [`Readers`] backend is blocked in, when called from another thread:
/// a stop request (Ctrl-C) reaches a wait at once, so waits need not wake up to look.
pub type WaitBreaker = Arc<dyn Fn() + Send + Sync>;

/// Lists readers, connects to the card in one, and waits for cards to come and go: what a
/// ceremony needs from a reader backend. Waiting blocks in the backend (no busy polling).
pub trait Readers {
    /// The names of the readers, in the backend's order; empty when there are none.
    fn reader_names(&self) -> Result<Vec<String>, TransportError>;

    /// Every reader with whether a card is in it, read at once.
    fn readers(&self) -> Result<Vec<ReaderInfo>, TransportError>;

    /// Opens the card in `reader` exclusively, so no other program can come between our
    /// commands; dropping the connection resets the card (its PIN state is gone).
    fn connect(&self, reader: &str) -> Result<Connection, TransportError>;

    /// Blocks until a card is in `reader` (at once if one is); `None` when `timeout` passes.
    /// A reader that goes away during the wait is [`TransportError::ReaderGone`].
    fn wait_for_card(
        &self,
        reader: &str,
        timeout: Option<Duration>,
    ) -> Result<Option<ReaderInfo>, TransportError>;

    /// Blocks until `reader` is empty (at once if it is); `false` when `timeout` passes.
    fn wait_for_removal(
        &self,
        reader: &str,
        timeout: Option<Duration>,
    ) -> Result<bool, TransportError>;

    /// What the reader itself offers (PC/SC Part 10 features: a PIN pad), asked over a
    /// direct connection that needs no card, so `readers` can mark keypads of empty
    /// readers too; a backend without reader controls offers none.
    fn reader_features(&self, reader: &str) -> Result<ReaderFeatures, TransportError> {
        let _ = reader;
        Ok(ReaderFeatures::default())
    }

    /// Blocks until anything differs from `known` (a card in or out, a reader plugged or
    /// unplugged), then returns the new list; `None` when `timeout` passes. Pass the list
    /// from [`Readers::readers`] or from the previous call.
    fn wait_for_change(
        &self,
        known: &[ReaderInfo],
        timeout: Option<Duration>,
    ) -> Result<Option<Vec<ReaderInfo>>, TransportError>;

    /// A handle that ends this backend's blocked waits from another thread (a wait so ended
    /// fails); `None` for a backend whose waits do not block.
    fn wait_breaker(&self) -> Option<WaitBreaker> {
        None
    }
}
