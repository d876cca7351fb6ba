//! Dates without a clock: the caller passes the reference time ("now") in, and relative dates
//! (明天, next monday) resolve against it. Proleptic Gregorian calendar, no time zones: the
//! reference time is the user's local wall-clock time.

use std::fmt;

/// A calendar date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Date {
    /// Year (e.g. 2026).
    pub year: i32,
    /// Month, 1–12.
    pub month: u32,
    /// Day of the month, 1–31.
    pub day: u32,
}

/// The moment relative dates and times resolve against: a local date and time of day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReferenceTime {
    /// Today.
    pub date: Date,
    /// Hour, 0–23.
    pub hour: u32,
    /// Minute, 0–59.
    pub minute: u32,
}

impl ReferenceTime {
    /// Reads `YYYY-MM-DD` or `YYYY-MM-DDTHH:MM` (also with a space instead of `T`).
    pub fn parse(text: &str) -> Option<ReferenceTime> {
        let text = text.trim();
        let (date, time) = match text.split_once(['T', ' ']) {
            Some((d, t)) => (d, Some(t)),
            None => (text, None),
        };
        let mut parts = date.splitn(3, '-');
        let year = parts.next()?.parse().ok()?;
        let month = parts.next()?.parse().ok()?;
        let day = parts.next()?.parse().ok()?;
        let (hour, minute) = match time {
            Some(t) => {
                let (h, m) = t.split_once(':')?;
                // Seconds and a zone suffix, if any, are ignored: the engine works in local time.
                (h.parse().ok()?, m.get(..2)?.parse().ok()?)
            }
            None => (0, 0),
        };
        // Years of four digits: date arithmetic (months × 12, next year) stays far from overflow.
        (hour < 24 && minute < 60 && (1..=9999).contains(&year)).then_some(ReferenceTime {
            date: Date::new(year, month, day)?,
            hour,
            minute,
        })
    }
}

impl Date {
    /// A valid date, or `None` (31 February, month 13, ...).
    pub fn new(year: i32, month: u32, day: u32) -> Option<Date> {
        let date = Date { year, month, day };
        ((1..=12).contains(&month) && day >= 1 && day <= days_in_month(year, month)).then_some(date)
    }

    /// Days since 1970-01-01 (negative before).
    pub fn days(self) -> i64 {
        // Howard Hinnant's days_from_civil.
        let y = i64::from(self.year) - i64::from(self.month <= 2);
        let era = y.div_euclid(400);
        let yoe = y - era * 400;
        let m = i64::from(self.month);
        let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(self.day) - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        era * 146_097 + doe - 719_468
    }

    /// The date `days` days after 1970-01-01.
    pub fn from_days(days: i64) -> Date {
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z - era * 146_097;
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
        let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
        let year = (yoe + era * 400 + i64::from(month <= 2)) as i32;
        Date { year, month, day }
    }

    /// This date moved by `days`.
    pub fn plus_days(self, days: i64) -> Date {
        Date::from_days(self.days() + days)
    }

    /// Day of the week, Monday = 0 … Sunday = 6.
    pub fn weekday(self) -> u32 {
        // 1970-01-01 was a Thursday (3).
        (self.days() + 3).rem_euclid(7) as u32
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

/// 28 to 31; 0 for a month that does not exist.
pub(crate) fn days_in_month(year: i32, month: u32) -> u32 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn day_numbers_round_trip_and_weekdays_are_right() {
        let d = Date::new(2026, 11, 22).unwrap();
        assert_eq!(d.weekday(), 6, "2026-11-22 is a Sunday");
        assert_eq!(Date::new(1970, 1, 1).unwrap().days(), 0);
        for days in (-800_000..800_000).step_by(997) {
            assert_eq!(Date::from_days(days).days(), days);
        }
        assert_eq!(d.plus_days(10).to_string(), "2026-12-02");
        assert_eq!(
            Date::new(2024, 2, 28).unwrap().plus_days(1).to_string(),
            "2024-02-29"
        );
        assert_eq!(Date::new(2026, 2, 29), None);
        let t = ReferenceTime::parse("2026-11-22T09:05:33Z").unwrap();
        assert_eq!(
            (t.date.to_string(), t.hour, t.minute),
            ("2026-11-22".to_owned(), 9, 5)
        );
        assert_eq!(ReferenceTime::parse("2026-11-22").unwrap().hour, 0);
        for bad in [
            "",
            "2026-13-01",
            "2026-11-22T25:00",
            "tomorrow",
            "2026-11-22T9",
            "2147483647-12-01",
            "0-01-01",
        ] {
            assert_eq!(ReferenceTime::parse(bad), None, "{bad}");
        }
    }
}
