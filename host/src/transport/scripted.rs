//! A scripted transport for unit tests: a list of expected command → response pairs that
//! fails the test on any command it did not expect, and on any step left unused.

use std::collections::VecDeque;

use super::{RawResponse, Transport, TransportError};

enum Step {
    Exchange {
        command: Vec<u8>,
        reply: Result<Vec<u8>, TransportError>,
    },
    Reconnect,
}

/// Plays a fixed conversation with a card; panics (failing the test) on any deviation.
pub(crate) struct ScriptedTransport {
    steps: VecDeque<Step>,
    exchanged: usize,
}

/// Hex with optional spaces, for readable scripts.
pub(crate) fn unhex(text: &str) -> Vec<u8> {
    let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    hex::decode(compact).unwrap_or_else(|e| panic!("bad hex in script {text:?}: {e}"))
}

impl ScriptedTransport {
    /// An empty script.
    pub(crate) fn new() -> Self {
        ScriptedTransport {
            steps: VecDeque::new(),
            exchanged: 0,
        }
    }

    /// Expects `command` (hex) next and answers `response` (hex, data ‖ SW).
    pub(crate) fn expect(self, command: &str, response: &str) -> Self {
        self.expect_bytes(unhex(command), unhex(response))
    }

    /// Expects `command` next and answers `response` (data ‖ SW).
    pub(crate) fn expect_bytes(mut self, command: Vec<u8>, response: Vec<u8>) -> Self {
        self.steps.push_back(Step::Exchange {
            command,
            reply: Ok(response),
        });
        self
    }

    /// Expects `command` (hex) next and fails it with a transport error.
    pub(crate) fn expect_failure(mut self, command: &str, error: TransportError) -> Self {
        self.steps.push_back(Step::Exchange {
            command: unhex(command),
            reply: Err(error),
        });
        self
    }

    /// Expects a reconnect next.
    pub(crate) fn expect_reconnect(mut self) -> Self {
        self.steps.push_back(Step::Reconnect);
        self
    }

    /// How many command exchanges have been played.
    pub(crate) fn exchanged(&self) -> usize {
        self.exchanged
    }
}

impl Transport for ScriptedTransport {
    fn transmit(&mut self, command: &[u8]) -> Result<RawResponse, TransportError> {
        let got = hex::encode_upper(command);
        match self.steps.pop_front() {
            Some(Step::Exchange {
                command: want,
                reply,
            }) => {
                assert_eq!(
                    got,
                    hex::encode_upper(&want),
                    "exchange {} sent an unexpected command",
                    self.exchanged
                );
                self.exchanged += 1;
                RawResponse::from_apdu(&reply?)
            }
            Some(Step::Reconnect) => panic!("expected a reconnect, got command {got}"),
            None => panic!("unexpected command {got}: the script is finished"),
        }
    }

    fn reconnect(&mut self) -> Result<(), TransportError> {
        match self.steps.pop_front() {
            Some(Step::Reconnect) => Ok(()),
            Some(Step::Exchange { command, .. }) => panic!(
                "unexpected reconnect: the script expects command {}",
                hex::encode_upper(command)
            ),
            None => panic!("unexpected reconnect: the script is finished"),
        }
    }
}

impl Drop for ScriptedTransport {
    fn drop(&mut self) {
        if !std::thread::panicking() && !self.steps.is_empty() {
            panic!("{} scripted step(s) were never played", self.steps.len());
        }
    }
}
