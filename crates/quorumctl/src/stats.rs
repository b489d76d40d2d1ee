//! `--stats` for the commands whose ceremonies report no figures of their own (all but
//! enroll and recover, which tell theirs per card as events): [`Counted`] wraps the PC/SC
//! context, and every card session opened through it prints what it cost, after SELECT, to
//! standard error when it ends (its connection is told by
//! [`quorum_card::transport::Transport::session_ended`]). The counting is the card crate's
//! ([`ApduStats`]), so the figures mean the same for every command.

use std::ops::Deref;
use std::time::Duration;

use zeroize::Zeroizing;

use quorum_card::card::ApduStats;
use quorum_card::readers::{Connection, ReaderInfo, Readers, WaitBreaker};
use quorum_card::transport::{RawResponse, Transport, TransportError};
use quorum_protocol::apdu::ReaderFeatures;

/// A reader backend whose card sessions print their figures when `--stats` asks for them.
pub(crate) struct Counted<R> {
    inner: R,
    command: &'static str,
    on: bool,
}

impl<R: Readers> Counted<R> {
    /// Wraps `inner` for `command` (its name, for the lines); with `on` false it changes
    /// nothing.
    pub(crate) fn new(inner: R, command: &'static str, on: bool) -> Counted<R> {
        Counted { inner, command, on }
    }
}

/// The backend's own methods (listing readers the PC/SC way) stay reachable.
impl<R> Deref for Counted<R> {
    type Target = R;

    fn deref(&self) -> &R {
        &self.inner
    }
}

impl<R: Readers> Readers for Counted<R> {
    fn reader_names(&self) -> Result<Vec<String>, TransportError> {
        self.inner.reader_names()
    }

    fn readers(&self) -> Result<Vec<ReaderInfo>, TransportError> {
        self.inner.readers()
    }

    fn connect(&self, reader: &str) -> Result<Connection, TransportError> {
        let connection = self.inner.connect(reader)?;
        if !self.on {
            return Ok(connection);
        }
        Ok(Box::new(Reporting {
            inner: connection,
            reader: reader.to_owned(),
            command: self.command,
        }))
    }

    fn wait_for_card(
        &self,
        reader: &str,
        timeout: Option<Duration>,
    ) -> Result<Option<ReaderInfo>, TransportError> {
        self.inner.wait_for_card(reader, timeout)
    }

    fn wait_for_removal(
        &self,
        reader: &str,
        timeout: Option<Duration>,
    ) -> Result<bool, TransportError> {
        self.inner.wait_for_removal(reader, timeout)
    }

    fn reader_features(&self, reader: &str) -> Result<ReaderFeatures, TransportError> {
        self.inner.reader_features(reader)
    }

    fn wait_for_change(
        &self,
        known: &[ReaderInfo],
        timeout: Option<Duration>,
    ) -> Result<Option<Vec<ReaderInfo>>, TransportError> {
        self.inner.wait_for_change(known, timeout)
    }

    fn wait_breaker(&self) -> Option<WaitBreaker> {
        self.inner.wait_breaker()
    }
}

/// One connection of a [`Counted`] backend: passes everything on, and prints the session's
/// figures when it ends.
struct Reporting {
    inner: Connection,
    reader: String,
    command: &'static str,
}

impl Transport for Reporting {
    fn transmit(&mut self, command: &[u8]) -> Result<RawResponse, TransportError> {
        self.inner.transmit(command)
    }

    fn reconnect(&mut self) -> Result<(), TransportError> {
        self.inner.reconnect()
    }

    fn control(&mut self, code: u32, input: &[u8]) -> Result<Zeroizing<Vec<u8>>, TransportError> {
        self.inner.control(code, input)
    }

    fn feature_request_code(&self) -> Option<u32> {
        self.inner.feature_request_code()
    }

    fn session_ended(&mut self, stats: &ApduStats) {
        eprintln!("{}", line(&self.reader, self.command, stats));
        self.inner.session_ended(stats);
    }
}

/// The `--stats` line of one card session (and of each card recover used).
pub(crate) fn line(reader: &str, command: &str, stats: &ApduStats) -> String {
    format!("stats: card in \"{reader}\" {command}: {stats} after SELECT")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_line_names_reader_command_and_figures_after_select() {
        let stats = ApduStats {
            commands: 3,
            continuations: 1,
            bytes_sent: 40,
            bytes_received: 300,
            selects: 1,
            reader_queries: 1,
            ..ApduStats::default()
        };
        assert_eq!(
            line("Reader 0", "status", &stats),
            "stats: card in \"Reader 0\" status: 4 APDU round trips (3 commands + 1 GET \
             RESPONSE), 40 bytes sent, 300 bytes received after SELECT"
        );
    }
}
