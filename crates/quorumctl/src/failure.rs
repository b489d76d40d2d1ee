//! How a quorumctl command fails: a ceremony's typed error (worded by `words`), or one of
//! the CLI's own refusals, which only the CLI can word since they name its options.

use std::fmt;

use quorum_ceremony::CeremonyError;

/// Why a command failed.
#[derive(Debug)]
pub(crate) enum Failure {
    /// The ceremony's own error.
    Ceremony(CeremonyError),
    /// Options that cannot work together; the message names them and says nothing was done.
    Usage(String),
    /// Cards were changed as asked, but a last step of the CLI's own (writing the bundle or
    /// the generated secret) failed; the message says what is kept and what to do.
    Unfinished(String),
}

impl Failure {
    /// The message people read: the CLI's words for a ceremony error, else the refusal.
    pub(crate) fn message(&self) -> String {
        match self {
            Failure::Ceremony(e) => crate::words::error_message(e),
            Failure::Usage(text) | Failure::Unfinished(text) => text.clone(),
        }
    }
}

impl Failure {
    /// The error's typed form for `--json`: `{"kind", "detail"}` (the ceremony error's own
    /// serde form; the CLI's refusals are `usage` and `unfinished`, worded in `message`).
    pub(crate) fn typed(&self) -> serde_json::Value {
        match self {
            Failure::Ceremony(e) => serde_json::to_value(e).unwrap_or_else(
                |e| serde_json::json!({ "kind": "unserialisable", "detail": e.to_string() }),
            ),
            Failure::Usage(_) => serde_json::json!({ "kind": "usage" }),
            Failure::Unfinished(_) => serde_json::json!({ "kind": "unfinished" }),
        }
    }
}

impl From<CeremonyError> for Failure {
    fn from(e: CeremonyError) -> Self {
        Failure::Ceremony(e)
    }
}

/// The errors a ceremony error is made from convert through it, so `?` works on them.
macro_rules! through_ceremony_error {
    ($($t:ty),* $(,)?) => {$(
        impl From<$t> for Failure {
            fn from(e: $t) -> Self {
                Failure::Ceremony(CeremonyError::from(e))
            }
        }
    )*};
}

through_ceremony_error!(
    quorum_card::transport::TransportError,
    quorum_ceremony::pins::PinSourceError,
    quorum_ceremony::secret_io::SecretIoError,
    quorum_protocol::pin::PinError,
    quorum_protocol::record::RecordError,
    std::io::Error,
);

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Ceremony(e) => e.fmt(f),
            Failure::Usage(text) | Failure::Unfinished(text) => f.write_str(text),
        }
    }
}

impl std::error::Error for Failure {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Failure::Ceremony(e) => e.source(),
            Failure::Usage(_) | Failure::Unfinished(_) => None,
        }
    }
}
