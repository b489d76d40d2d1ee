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
#[non_exhaustive]
pub enum Event {
    /// inserting, removing and putting back cards.
    Presence(crate::presence::Told),
    /// PIN entry on a keypad or from this computer.
    Pin(crate::pin_step::Told),
    /// personalising a card.
    Init(crate::init::Told),
    /// changing a PIN.
    ChangePin(crate::change_pin::Told),
    /// factory-resetting a card.
    Reset(crate::reset::Told),
    /// enrolling a set.
    Enroll(crate::enroll::Told),
    /// resharing a set.
    Reshare(crate::reshare::Told),
    /// recovering the master secret.
    Recover(crate::recover::Told),
    /// checking cards.
    Verify(crate::verify::Told),
    /// adding a card to a set.
    AddCard(crate::add_card::Told),
    /// opening shares.
    Share(crate::share::Told),
    /// A line already worded (kept while ceremonies move to typed events).
    Line(String),
}

/// A sink that drops every event: for callers that show no progress.
#[derive(Debug, Default)]
pub struct Silent;

impl Progress for Silent {
    fn tell(&mut self, _: Event) {}
}
