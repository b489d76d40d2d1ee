//! The safety rule of a reshare: at every moment at least one complete set exists. A card
//! of the old set that is overwritten (re-used in the new set, or wiped) stops counting
//! for the old set; a new card counts for the new set once it is written and checked.
//! PUT RECORD and FACTORY RESET are atomic on the card, so a card is always wholly in
//! one set or the other, and checking the state after each step is enough.

/// How far a reshare has come, counted in cards.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Standing {
    /// Shares the old set needs.
    pub old_threshold: usize,
    /// Custodians of the old set (its newest version known).
    pub old_total: usize,
    /// Old cards overwritten or wiped so far.
    pub old_gone: usize,
    /// Shares the new set needs.
    pub new_threshold: usize,
    /// Cards of the new set.
    pub new_total: usize,
    /// New cards written and checked so far.
    pub new_written: usize,
}

impl Standing {
    /// The old set still has enough cards untouched (assuming its absent cards still work).
    pub fn old_complete(&self) -> bool {
        self.old_untouched() >= self.old_threshold
    }

    /// The new set has enough cards written and checked.
    pub fn new_complete(&self) -> bool {
        self.new_written >= self.new_threshold
    }

    /// Whether writing one more new card may proceed now: a fresh card always may; an old
    /// card only if afterwards one set is still complete.
    pub fn may_write(&self, reuses_old_card: bool) -> bool {
        let mut after = self.clone();
        after.new_written += 1;
        if reuses_old_card {
            after.old_gone += 1;
        }
        after.old_complete() || after.new_complete()
    }

    /// Whether the whole plan is safe written in the best order: the `fresh` cards first,
    /// then the `reused` old ones.
    pub fn plan_is_safe(&self, fresh: usize, reused: usize) -> bool {
        let mut p = self.clone();
        for _ in 0..fresh {
            p.new_written += 1;
        }
        for _ in 0..reused {
            if !p.may_write(true) {
                return false;
            }
            p.new_written += 1;
            p.old_gone += 1;
        }
        true
    }

    /// Old cards not overwritten or wiped so far.
    pub fn old_untouched(&self) -> usize {
        self.old_total.saturating_sub(self.old_gone)
    }
}

/// Which sets can be recovered now, counted in cards (quorumctl has its own words).
impl std::fmt::Display for Standing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "old set: {} of {} cards untouched, {} needed ({}); new set: {} of {} cards written and checked, {} needed ({})",
            self.old_untouched(),
            self.old_total,
            self.old_threshold,
            if self.old_complete() { "complete" } else { "not complete" },
            self.new_written,
            self.new_total,
            self.new_threshold,
            if self.new_complete() { "complete" } else { "not complete" },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn start(old: (usize, usize), new: (usize, usize)) -> Standing {
        Standing {
            old_threshold: old.0,
            old_total: old.1,
            old_gone: 0,
            new_threshold: new.0,
            new_total: new.1,
            new_written: 0,
        }
    }

    #[test]
    fn three_of_five_to_two_of_three_on_reused_cards_is_safe_in_any_step() {
        let mut p = start((3, 5), (2, 3));
        assert!(p.plan_is_safe(0, 3));
        for step in 0..3 {
            assert!(p.may_write(true), "step {step}");
            p.new_written += 1;
            p.old_gone += 1;
            assert!(p.old_complete() || p.new_complete(), "step {step}: {p:?}");
        }
        assert!(!p.old_complete() && p.new_complete());
    }

    #[test]
    fn a_plan_that_passes_through_no_complete_set_is_refused() {
        // 2-of-2 onto the same two cards: after the first write neither set is complete.
        let p = start((2, 2), (2, 2));
        assert!(!p.plan_is_safe(0, 2));
        assert!(!p.may_write(true));
        // One fresh card first makes it safe.
        assert!(p.plan_is_safe(1, 1));
    }

    #[test]
    fn the_order_is_enforced_card_by_card() {
        // 3-of-3 old, new 2-of-3 with one fresh card and two old ones.
        let mut p = start((3, 3), (2, 3));
        assert!(
            !p.may_write(true),
            "an old card first would break the old set"
        );
        assert!(p.may_write(false));
        p.new_written += 1;
        assert!(
            p.may_write(true),
            "after one fresh card, the next write completes the new set"
        );
        p.new_written += 1;
        p.old_gone += 1;
        assert!(p.new_complete() && !p.old_complete());
        assert_eq!((p.old_untouched(), p.new_written), (2, 2));
        assert_eq!(
            p.to_string(),
            "old set: 2 of 3 cards untouched, 3 needed (not complete); new set: 2 of 3 cards written and checked, 2 needed (complete)"
        );
    }

    #[test]
    fn fresh_cards_only_never_touch_the_old_set() {
        let mut p = start((3, 5), (2, 3));
        assert!(p.plan_is_safe(3, 0));
        p.new_written = 1;
        assert!(p.old_complete() && !p.new_complete());
        assert_eq!(p.old_untouched(), 5);
    }
}
