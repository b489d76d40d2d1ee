//! The one path an APDU takes to the card and back: 61xx continuations, tracing with
//! secrets redacted, round-trip counts; and the traced path of reader control commands.

use std::fmt;
use std::io::Write;

use zeroize::Zeroizing;

use super::{Card, CardError};
use crate::transport::{RawResponse, Transport, TransportError};
use quorum_protocol::apdu::command::{command_name, redacted_response};
use quorum_protocol::apdu::{CommandApdu, StatusWord, INS_SELECT};

/// Most GET RESPONSE continuations one command may need (256 × 256 bytes = 64 KiB, far
/// above the largest record); a card that keeps answering 61xx is cut off here.
pub const MAX_CONTINUATIONS: usize = 256;

/// Environment variable that turns APDU tracing on (`1`, `true` or `yes`).
pub const TRACE_ENV: &str = "QUORUM_TRACE";

/// APDU counts of a [`Card`], for `--stats` and for tests that pin round trips down.
///
/// Everything but `selects` and `reader_queries` counts what the session cost *after
/// SELECT*, the figure that compares protocols: a SELECT (and any GET RESPONSE it needs) is
/// counted in `selects` alone, its bytes nowhere. A reader control that the reader answers
/// itself (the PIN pad feature query, its TLV properties) reaches no card, so it is no round
/// trip: it is counted in `reader_queries` alone.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ApduStats {
    /// Command APDUs sent after SELECT (every link of a PUT RECORD chain counts).
    pub commands: u64,
    /// GET RESPONSE continuations asked for by `61xx`, SELECT's aside.
    pub continuations: u64,
    /// PIN entries on a PIN pad (VERIFY / MODIFY PIN DIRECT): reader control commands that
    /// each carry one command APDU to the card, so each is a card round trip.
    pub controls: u64,
    /// Bytes sent in command APDUs and PIN pad structures, SELECT's aside.
    pub bytes_sent: u64,
    /// Bytes received in response APDUs (status words included) and PIN pad answers,
    /// SELECT's aside.
    pub bytes_received: u64,
    /// SELECT commands and their continuations: not in the figures above.
    pub selects: u64,
    /// Reader control commands the reader answers itself (feature lists, keypad
    /// properties): no card round trip, not in the figures above.
    pub reader_queries: u64,
}

impl ApduStats {
    /// Every card round trip after SELECT: what costs time on a real reader.
    pub fn round_trips(&self) -> u64 {
        self.commands + self.continuations + self.controls
    }

    /// The counts of two sessions with one card together (a card registered in one
    /// session and written in another).
    pub fn plus(&self, other: &ApduStats) -> ApduStats {
        ApduStats {
            commands: self.commands + other.commands,
            continuations: self.continuations + other.continuations,
            controls: self.controls + other.controls,
            bytes_sent: self.bytes_sent + other.bytes_sent,
            bytes_received: self.bytes_received + other.bytes_received,
            selects: self.selects + other.selects,
            reader_queries: self.reader_queries + other.reader_queries,
        }
    }

    /// The counts accumulated since an earlier snapshot (per-operation figures).
    pub fn since(&self, earlier: &ApduStats) -> ApduStats {
        ApduStats {
            commands: self.commands - earlier.commands,
            continuations: self.continuations - earlier.continuations,
            controls: self.controls - earlier.controls,
            bytes_sent: self.bytes_sent - earlier.bytes_sent,
            bytes_received: self.bytes_received - earlier.bytes_received,
            selects: self.selects - earlier.selects,
            reader_queries: self.reader_queries - earlier.reader_queries,
        }
    }
}

impl fmt::Display for ApduStats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} APDU round trips ({} commands + {} GET RESPONSE",
            self.round_trips(),
            self.commands,
            self.continuations,
        )?;
        if self.controls > 0 {
            write!(f, " + {} PIN pad entries", self.controls)?;
        }
        write!(
            f,
            "), {} bytes sent, {} bytes received",
            self.bytes_sent, self.bytes_received
        )
    }
}

/// A complete response: all output chunks joined, and the final status word.
pub struct Response {
    data: Zeroizing<Vec<u8>>,
    sw: StatusWord,
}

impl Response {
    /// The response data.
    pub fn data(&self) -> &[u8] {
        &self.data
    }

    /// The final status word (never `61xx`).
    pub fn sw(&self) -> StatusWord {
        self.sw
    }

    /// Hands the zeroizing data buffer over.
    pub fn into_data(self) -> Zeroizing<Vec<u8>> {
        self.data
    }
}

impl fmt::Debug for Response {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Response({} data bytes, SW {})",
            self.data.len(),
            self.sw
        )
    }
}

impl<T: Transport> Card<T> {
    /// Sends one command and follows `61xx` to the end: the one transmit path.
    pub fn transmit(&mut self, command: &CommandApdu) -> Result<Response, CardError> {
        // Any command may change what a SELECT told (state, PIN counters).
        self.fresh_status = None;
        let select = command.ins() == INS_SELECT;
        let first = self.exchange(command, false, select)?;
        let mut sw = StatusWord::from_u16(first.sw());
        let mut data = first.into_data();
        let mut continuations = 0;
        while let StatusWord::MoreData { available } = sw {
            if continuations == MAX_CONTINUATIONS {
                return Err(CardError::ResponseTooLong {
                    command: command_name(command.ins()),
                    limit: MAX_CONTINUATIONS,
                });
            }
            let get_response =
                CommandApdu::get_response(available).secret_response(command.has_secret_response());
            let next = self.exchange(&get_response, true, select)?;
            continuations += 1;
            sw = StatusWord::from_u16(next.sw());
            if !sw.is_success() {
                return Err(CardError::UnexpectedStatus {
                    command: "GET RESPONSE",
                    sw,
                });
            }
            append_wiping(&mut data, next.data());
        }
        Ok(Response { data, sw })
    }

    /// One APDU on the wire: trace, count, send, trace the answer. `select`: the APDU is a
    /// SELECT or one of its continuations, counted apart (see [`ApduStats`]).
    pub(super) fn exchange(
        &mut self,
        command: &CommandApdu,
        continuation: bool,
        select: bool,
    ) -> Result<RawResponse, CardError> {
        self.trace_line(|| format!(">>> {}", command.redacted()));
        if select {
            self.stats.selects += 1;
        } else if continuation {
            self.stats.continuations += 1;
        } else {
            self.stats.commands += 1;
        }
        if !select {
            self.stats.bytes_sent += command.as_bytes().len() as u64;
        }
        match self.transport.transmit(command.as_bytes()) {
            Ok(response) => {
                if !select {
                    self.stats.bytes_received += response.data().len() as u64 + 2;
                }
                self.trace_line(|| {
                    let line = redacted_response(
                        response.data(),
                        response.sw(),
                        command.has_secret_response(),
                    );
                    format!("<<< {line}")
                });
                Ok(response)
            }
            Err(error) => {
                self.trace_line(|| format!("<<< no response: {error}"));
                Err(error.into())
            }
        }
    }

    /// One reader control command: trace, count, send, trace the answer. Nothing on this
    /// path is secret (structures hold `FF` templates, answers are feature lists or SWs).
    /// `to_card`: the control carries a command to the card (a PIN pad entry), a round trip;
    /// otherwise the reader answers itself and it is counted as a reader query only.
    pub(super) fn control_exchange(
        &mut self,
        code: u32,
        name: &'static str,
        input: &[u8],
        to_card: bool,
    ) -> Result<Zeroizing<Vec<u8>>, TransportError> {
        self.trace_line(|| {
            let mut line = format!(">>> CONTROL {code:08X} {name}");
            if !input.is_empty() {
                line.push(' ');
                line.push_str(&hex::encode_upper(input));
            }
            line
        });
        if to_card {
            self.stats.controls += 1;
            self.stats.bytes_sent += input.len() as u64;
        } else {
            self.stats.reader_queries += 1;
        }
        match self.transport.control(code, input) {
            Ok(answer) => {
                if to_card {
                    self.stats.bytes_received += answer.len() as u64;
                }
                self.trace_line(|| match answer.is_empty() {
                    true => "<<< (no data)".to_owned(),
                    false => format!("<<< {}", hex::encode_upper(&answer[..])),
                });
                Ok(answer)
            }
            Err(error) => {
                self.trace_line(|| format!("<<< no response: {error}"));
                Err(error)
            }
        }
    }

    pub(super) fn trace_line(&mut self, line: impl FnOnce() -> String) {
        if let Some(sink) = self.trace.as_mut() {
            // A failing trace sink must not fail the card operation.
            let _ = writeln!(sink, "{}", line());
        }
    }
}

/// Appends to a zeroizing buffer without leaving an unwiped copy behind when it grows.
fn append_wiping(buffer: &mut Zeroizing<Vec<u8>>, more: &[u8]) {
    if buffer.capacity() - buffer.len() < more.len() {
        let wanted = (buffer.len() + more.len()).max(2 * buffer.capacity());
        let mut bigger = Zeroizing::new(Vec::with_capacity(wanted));
        bigger.extend_from_slice(buffer);
        // The old buffer is wiped as it is dropped here.
        *buffer = bigger;
    }
    buffer.extend_from_slice(more);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn growing_a_wiping_buffer_keeps_its_content() {
        let mut buffer = Zeroizing::new(Vec::with_capacity(2));
        for chunk in [&[1u8, 2][..], &[3, 4, 5], &[], &[6; 300]] {
            append_wiping(&mut buffer, chunk);
        }
        assert_eq!(&buffer[..5], &[1, 2, 3, 4, 5]);
        assert_eq!(buffer.len(), 305);
    }
}
