//! What crossed the wire: pcscd's APDU log of one run, and the per-card `--stats` lines
//! quorumctl printed, counted the same way (SELECT apart, GET RESPONSE apart).

use std::path::Path;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

/// One card's figures after SELECT, as `--stats` prints them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CardFigures {
    /// Round trips: commands, GET RESPONSEs and PIN pad entries.
    pub round_trips: u64,
    /// Commands other than GET RESPONSE.
    pub commands: u64,
    /// GET RESPONSEs (61xx continuations).
    pub continuations: u64,
    /// Bytes sent to the card (command APDUs).
    pub sent: u64,
    /// Bytes received (response data and status words).
    pub received: u64,
}

impl CardFigures {
    /// Bytes both ways.
    pub fn bytes(&self) -> u64 {
        self.sent + self.received
    }
}

/// The `--stats` figures of every card `command` reported, in the order printed.
pub fn stats_lines(stderr: &str, command: &str) -> Vec<CardFigures> {
    let tag = format!(" {command}: ");
    stderr
        .lines()
        .filter(|l| l.starts_with("stats: card"))
        .filter_map(|l| l.split_once(&tag).map(|(_, rest)| rest))
        .filter(|rest| rest.ends_with(" after SELECT"))
        .map(|rest| {
            let numbers: Vec<u64> = rest
                .split(|c: char| !c.is_ascii_digit())
                .filter(|w| !w.is_empty())
                .map(|w| w.parse().expect("digits"))
                .collect();
            assert!(numbers.len() >= 5, "unreadable stats line: {rest}");
            let n = numbers.len();
            CardFigures {
                round_trips: numbers[0],
                commands: numbers[1],
                continuations: numbers[2],
                sent: numbers[n - 2],
                received: numbers[n - 1],
            }
        })
        .collect()
}

/// The sum of several cards' figures.
pub fn sum(cards: &[CardFigures]) -> CardFigures {
    cards
        .iter()
        .fold(CardFigures::default(), |a, c| CardFigures {
            round_trips: a.round_trips + c.round_trips,
            commands: a.commands + c.commands,
            continuations: a.continuations + c.continuations,
            sent: a.sent + c.sent,
            received: a.received + c.received,
        })
}

/// Everything pcscd logged for one run.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize)]
pub struct Logged {
    /// Every exchange, SELECT included.
    pub exchanges: u64,
    /// SELECTs.
    pub selects: u64,
    /// Bytes of the SELECTs and their answers.
    pub select_bytes: u64,
    /// The rest, counted as `--stats` counts.
    pub after_select: CardFigures,
}

/// The current end of pcscd's log, where a run's lines will start.
pub fn log_offset(log: &Path) -> u64 {
    std::fs::metadata(log).map(|m| m.len()).unwrap_or(0)
}

/// What pcscd logged from `from` on, once the log has stopped growing (pcscd writes its
/// lines as it goes; the last ones may land just after quorumctl ended).
pub fn logged_since(log: &Path, from: u64) -> Logged {
    let mut last = u64::MAX;
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let now = log_offset(log);
        if now == last || Instant::now() > deadline {
            break;
        }
        last = now;
        std::thread::sleep(Duration::from_millis(300));
    }
    let all = std::fs::read(log).unwrap_or_else(|e| panic!("{}: {e}", log.display()));
    let slice = String::from_utf8_lossy(&all[(from as usize).min(all.len())..]).into_owned();
    let mut out = Logged::default();
    let mut in_select = false;
    for line in slice.lines() {
        let count = |tag: &str| {
            line.split_once(tag)
                .map(|(_, hex)| (hex.split_whitespace().count() as u64, hex))
        };
        if let Some((n, hex)) = count("APDU: ") {
            out.exchanges += 1;
            let ins = hex.split_whitespace().nth(1);
            in_select = ins == Some("A4");
            if in_select {
                out.selects += 1;
                out.select_bytes += n;
                continue;
            }
            if ins == Some("C0") {
                out.after_select.continuations += 1;
            } else {
                out.after_select.commands += 1;
            }
            out.after_select.round_trips += 1;
            out.after_select.sent += n;
        } else if let Some((n, _)) = count("SW: ") {
            if in_select {
                out.select_bytes += n;
            } else {
                out.after_select.received += n;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stats_line_is_read_with_and_without_pin_pad_entries() {
        let err = "x\nstats: card in \"R 1\" recover: 3 APDU round trips (3 commands + 0 GET RESPONSE), 120 bytes sent, 99 bytes received after SELECT\n\
                   stats: card in \"R 2\" recover: 5 APDU round trips (3 commands + 1 GET RESPONSE + 1 PIN pad entries), 10 bytes sent, 20 bytes received after SELECT\n";
        let cards = stats_lines(err, "recover");
        assert_eq!(cards.len(), 2);
        assert_eq!(
            (cards[0].round_trips, cards[0].commands, cards[0].bytes()),
            (3, 3, 219)
        );
        assert_eq!((cards[1].continuations, cards[1].received), (1, 20));
        assert!(stats_lines(err, "enroll").is_empty());
    }
}
