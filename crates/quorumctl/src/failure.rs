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
    /// A step at the HSM end (`--to-pkcs11`, `--from-pkcs11`, `--generate-in-pkcs11`).
    Token(Box<crate::token_end::TokenFailure>),
    /// A failure and what else the CLI did about it (a key it generated in a token and
    /// destroyed again), said after the failure's own message.
    Also(Box<Failure>, String),
    /// Cards were changed as asked, but a last step of the CLI's own (writing the bundle or
    /// the generated secret) failed; the message says what is kept and what to do.
    Unfinished(String),
    /// A dry run with every reader found fewer cards than the ceremony needs: the real run
    /// would stop; the message says which cards are missing.
    DryRunShort(String),
}

impl Failure {
    /// The message people read: the CLI's words for a ceremony error, else the refusal.
    pub(crate) fn message(&self) -> String {
        match self {
            Failure::Ceremony(e) => crate::words::error_message(e),
            Failure::Token(f) => crate::words::token::message(f),
            Failure::Also(first, then) => format!("{}\n{then}", first.message()),
            Failure::Usage(text) | Failure::Unfinished(text) | Failure::DryRunShort(text) => {
                text.clone()
            }
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
            Failure::Token(f) => serde_json::json!({
                "kind": "token",
                "detail": { "error": crate::words::token::kind(&f.error), "token": f.token, "key": f.key },
            }),
            Failure::Also(first, _) => first.typed(),
            Failure::Usage(_) => serde_json::json!({ "kind": "usage" }),
            Failure::Unfinished(_) => serde_json::json!({ "kind": "unfinished" }),
            Failure::DryRunShort(_) => serde_json::json!({ "kind": "dry_run_short" }),
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
            Failure::Token(t) => t.error.fmt(f),
            Failure::Also(first, _) => first.fmt(f),
            Failure::Usage(text) | Failure::Unfinished(text) | Failure::DryRunShort(text) => {
                f.write_str(text)
            }
        }
    }
}

impl std::error::Error for Failure {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Failure::Ceremony(e) => e.source(),
            Failure::Token(t) => t.error.source(),
            Failure::Also(first, _) => first.source(),
            Failure::Usage(_) | Failure::Unfinished(_) | Failure::DryRunShort(_) => None,
        }
    }
}
