//! What a ceremony tells the people at the table while it runs, as typed events: the
//! ceremony decides what happened and when, the caller (quorumctl) decides the words.
//! Each ceremony module has its own `Told` enum; an event never carries a secret.

use serde::Serialize;

/// Receives a ceremony's events as they happen; quorumctl words them on standard error.
pub trait Progress {
    /// One thing the people at the table need to know now.
    fn tell(&mut self, event: Event);
}

/// Something a ceremony reports while it runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "ceremony", content = "event", rename_all = "snake_case")]
pub enum Event {
    /// Inserting, removing and putting back cards.
    Presence(crate::presence::Told),
    /// PIN entry on a keypad or from this computer.
    Pin(crate::pin_step::Told),
    /// Personalising a card.
    Init(crate::init::Told),
    /// Factory-resetting a card.
    Reset(crate::reset::Told),
    /// Enrolling a set.
    Enroll(crate::enroll::Told),
    /// Resharing a set.
    Reshare(crate::reshare::Told),
    /// Recovering the master secret.
    Recover(crate::recover::Told),
    /// Checking cards.
    Verify(crate::verify::Told),
    /// Adding a card to a set.
    AddCard(crate::add_card::Told),
    /// Opening shares.
    Share(crate::share::Told),
}

/// A sink that drops every event: for callers that show no progress.
#[derive(Debug, Default)]
pub struct Silent;

impl Progress for Silent {
    fn tell(&mut self, _: Event) {}
}

/// A failure kept inside an event, a card's problem or a note: the typed error itself,
/// shared, so that the caller words it as it words that error anywhere else (events are
/// cloned and compared; errors are neither). It compares and serialises as its text.
pub struct Shared<E>(std::sync::Arc<E>);

impl<E> Shared<E> {
    /// Keeps `error` for an event.
    pub fn new(error: E) -> Self {
        Shared(std::sync::Arc::new(error))
    }
}

impl<E> Clone for Shared<E> {
    fn clone(&self) -> Self {
        Shared(self.0.clone())
    }
}

impl<E> std::ops::Deref for Shared<E> {
    type Target = E;

    fn deref(&self) -> &E {
        &self.0
    }
}

impl<E: std::fmt::Display> std::fmt::Display for Shared<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl<E: std::fmt::Debug> std::fmt::Debug for Shared<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl<E: std::fmt::Display> PartialEq for Shared<E> {
    fn eq(&self, other: &Self) -> bool {
        std::sync::Arc::ptr_eq(&self.0, &other.0) || self.to_string() == other.to_string()
    }
}

impl<E: std::fmt::Display> Eq for Shared<E> {}

impl<E: std::fmt::Display> Serialize for Shared<E> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&self.0)
    }
}
