//! Moving APDU bytes to a card and back, behind a trait so that everything above it can be
//! tested without PC/SC.
//!
//! - [`Transport`]: transmit one raw command APDU, get the response data and status word;
//!   reconnect after a reset;
//! - [`pcsc`]: the implementation over PC/SC (pcscd), plus reader listing and waiting for
//!   cards;
//! - [`TransportError`]: what went wrong below the card protocol, each with what to do.

mod error;
pub mod pcsc;
#[cfg(test)]
pub(crate) mod scripted;

use std::fmt;

use zeroize::Zeroizing;

pub use error::TransportError;

/// The card's answer to one command APDU, split into data and status word.
///
/// The data sits in a zeroizing buffer: it may be a sealed share or a DH output.
pub struct RawResponse {
    data: Zeroizing<Vec<u8>>,
    sw: u16,
}

impl RawResponse {
    /// Builds a response from its parts (transports, tests).
    pub fn new(data: Zeroizing<Vec<u8>>, sw: u16) -> RawResponse {
        RawResponse { data, sw }
    }

    /// Splits a response APDU `data ‖ SW1 SW2` as a reader returns it.
    pub fn from_apdu(apdu: &[u8]) -> Result<RawResponse, TransportError> {
        let split = apdu
            .len()
            .checked_sub(2)
            .ok_or(TransportError::MalformedResponse(apdu.len()))?;
        let (data, sw) = apdu.split_at(split);
        let mut buffer = Zeroizing::new(Vec::with_capacity(data.len()));
        buffer.extend_from_slice(data);
        Ok(RawResponse {
            data: buffer,
            sw: u16::from_be_bytes([sw[0], sw[1]]),
        })
    }

    /// The response data (without the status word).
    pub fn data(&self) -> &[u8] {
        &self.data
    }

    /// SW1 SW2 as one number.
    pub fn sw(&self) -> u16 {
        self.sw
    }

    /// Hands the zeroizing data buffer over without copying it.
    pub fn into_data(self) -> Zeroizing<Vec<u8>> {
        self.data
    }
}

impl fmt::Debug for RawResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "RawResponse({} data bytes, SW {:04X})",
            self.data.len(),
            self.sw
        )
    }
}

/// A channel to one card: what `card::Card` needs from PC/SC, and what tests script.
pub trait Transport {
    /// Sends one command APDU and returns the card's answer; no 61xx handling here.
    fn transmit(&mut self, command: &[u8]) -> Result<RawResponse, TransportError>;

    /// Re-establishes the connection after the card was reset (its session state is gone).
    fn reconnect(&mut self) -> Result<(), TransportError>;
}

impl<T: Transport + ?Sized> Transport for &mut T {
    fn transmit(&mut self, command: &[u8]) -> Result<RawResponse, TransportError> {
        (**self).transmit(command)
    }

    fn reconnect(&mut self) -> Result<(), TransportError> {
        (**self).reconnect()
    }
}

impl<T: Transport + ?Sized> Transport for Box<T> {
    fn transmit(&mut self, command: &[u8]) -> Result<RawResponse, TransportError> {
        (**self).transmit(command)
    }

    fn reconnect(&mut self) -> Result<(), TransportError> {
        (**self).reconnect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn response_apdu_is_split_into_data_and_status_word() {
        let response = RawResponse::from_apdu(&[0xAB, 0xCD, 0x61, 0x10]).unwrap();
        assert_eq!(response.data(), &[0xAB, 0xCD]);
        assert_eq!(response.sw(), 0x6110);
        let bare = RawResponse::from_apdu(&[0x90, 0x00]).unwrap();
        assert!(bare.data().is_empty());
        assert_eq!(bare.sw(), 0x9000);
        assert!(matches!(
            RawResponse::from_apdu(&[0x90]),
            Err(TransportError::MalformedResponse(1))
        ));
    }

    #[test]
    fn debug_shows_no_response_data() {
        let response = RawResponse::from_apdu(&[0x5A, 0x5A, 0x90, 0x00]).unwrap();
        assert_eq!(
            format!("{response:?}"),
            "RawResponse(2 data bytes, SW 9000)"
        );
    }
}
