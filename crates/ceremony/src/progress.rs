//! What a ceremony tells the people at the table while it runs, as typed events: the
//! ceremony decides what happened and when, the caller (quorumctl) decides the words.

/// Receives a ceremony's events as they happen; quorumctl words them on standard error.
pub trait Progress {
    /// One thing the people at the table need to know now.
    fn tell(&mut self, event: Event);
}

/// Something a ceremony reports while it runs.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// A line already worded (kept while ceremonies move to typed events).
    Line(String),
}

/// A sink that drops every event: for callers that show no progress.
#[derive(Debug, Default)]
pub struct Silent;

impl Progress for Silent {
    fn tell(&mut self, _: Event) {}
}
