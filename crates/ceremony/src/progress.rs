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
