//! RFC 3339 UTC timestamps from the system clock, so log lines carry a readable time
//! without a date-time dependency. Seconds precision: ceremonies are minutes apart.

use std::time::{SystemTime, UNIX_EPOCH};

const SECS_PER_DAY: u64 = 86_400;

/// The current time as `YYYY-MM-DDTHH:MM:SSZ`; a clock set before 1970 reads as 1970.
pub fn now_rfc3339() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    rfc3339(secs)
}

/// Formats seconds since the Unix epoch (UTC, no leap seconds, as POSIX counts them).
pub fn rfc3339(unix_secs: u64) -> String {
    let (mut days, secs) = (unix_secs / SECS_PER_DAY, unix_secs % SECS_PER_DAY);
    let mut year = 1970u64;
    loop {
        let len = if is_leap(year) { 366 } else { 365 };
        if days < len {
            break;
        }
        days -= len;
        year += 1;
    }
    let feb = if is_leap(year) { 29 } else { 28 };
    let mut month = 1u64;
    for len in [31, feb, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31] {
        if days < len {
            break;
        }
        days -= len;
        month += 1;
    }
    format!(
        "{year:04}-{month:02}-{:02}T{:02}:{:02}:{:02}Z",
        days + 1,
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

/// Gregorian leap-year rule.
fn is_leap(year: u64) -> bool {
    (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Seconds since the epoch of a date, counted the slow obvious way (day by day).
    fn epoch_secs(year: u64, month: u64, day: u64, h: u64, m: u64, s: u64) -> u64 {
        let days_in = |y: u64, mo: u64| match mo {
            2 if is_leap(y) => 29,
            2 => 28,
            4 | 6 | 9 | 11 => 30,
            _ => 31,
        };
        let mut days = 0;
        for y in 1970..year {
            days += (1..=12).map(|mo| days_in(y, mo)).sum::<u64>();
        }
        for mo in 1..month {
            days += days_in(year, mo);
        }
        days += day - 1;
        days * SECS_PER_DAY + h * 3600 + m * 60 + s
    }

    #[test]
    fn known_instants() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        // `date -u -d @951868799` → 2000-02-29 23:59:59 (2000 is a leap year: divisible by 400)
        assert_eq!(rfc3339(951_868_799), "2000-02-29T23:59:59Z");
        // `date -u -d @4107542400` → 2100-03-01 00:00:00 (2100 is not a leap year)
        assert_eq!(rfc3339(4_107_542_400), "2100-03-01T00:00:00Z");
    }

    #[test]
    fn agrees_with_day_by_day_counting() {
        for (y, mo, d, h, mi, s) in [
            (1970, 12, 31, 23, 59, 59),
            (1972, 2, 29, 12, 0, 1),
            (1999, 12, 31, 23, 59, 59),
            (2024, 2, 29, 0, 0, 0),
            (2026, 7, 15, 8, 30, 5),
            (2038, 1, 19, 3, 14, 8),
        ] {
            let want = format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}Z");
            assert_eq!(rfc3339(epoch_secs(y, mo, d, h, mi, s)), want);
        }
    }

    #[test]
    fn now_is_well_formed() {
        let t = now_rfc3339();
        assert_eq!(t.len(), 20);
        assert!(t.ends_with('Z') && t.as_bytes()[10] == b'T');
        assert!(t.as_str() > "2025-01-01");
    }
}
