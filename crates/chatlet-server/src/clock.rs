//! The server's clock, in the two forms it needs: the engine's [`ReferenceTime`] (dates in
//! messages resolve against it) and RFC 3339 text for stored messages. UTC throughout.

use chatlet_engine::{Date, ReferenceTime};
use std::time::{SystemTime, UNIX_EPOCH};

/// A moment in UTC, split into calendar fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct UtcTime {
    pub(crate) date: Date,
    pub(crate) hour: u32,
    pub(crate) minute: u32,
    pub(crate) second: u32,
}

impl UtcTime {
    pub(crate) fn now() -> UtcTime {
        let seconds = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64);
        UtcTime::from_unix(seconds)
    }

    /// The calendar fields of `seconds` since 1970.
    pub(crate) fn from_unix(seconds: i64) -> UtcTime {
        let of_day = seconds.rem_euclid(86_400) as u32;
        UtcTime {
            date: Date::from_days(seconds.div_euclid(86_400)),
            hour: of_day / 3600,
            minute: of_day / 60 % 60,
            second: of_day % 60,
        }
    }

    /// `YYYY-MM-DDTHH:MM:SSZ`. Every stored message gets one: digits are written directly
    /// (`format!` took a few thousand instructions a turn).
    pub(crate) fn rfc3339(&self) -> String {
        let year = u32::try_from(self.date.year).ok().filter(|&y| y <= 9999);
        let Some(year) = year else {
            return format!(
                "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
                self.date.year, self.date.month, self.date.day, self.hour, self.minute, self.second
            );
        };
        let mut text = *b"0000-00-00T00:00:00Z";
        let two = |text: &mut [u8; 20], at: usize, value: u32| {
            text[at] = b'0' + (value / 10 % 10) as u8;
            text[at + 1] = b'0' + (value % 10) as u8;
        };
        two(&mut text, 0, year / 100);
        two(&mut text, 2, year % 100);
        two(&mut text, 5, self.date.month);
        two(&mut text, 8, self.date.day);
        two(&mut text, 11, self.hour);
        two(&mut text, 14, self.minute);
        two(&mut text, 17, self.second);
        String::from_utf8_lossy(&text).into_owned()
    }

    pub(crate) fn reference(&self) -> ReferenceTime {
        ReferenceTime {
            date: self.date,
            hour: self.hour,
            minute: self.minute,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unix_seconds_become_calendar_time() {
        assert_eq!(UtcTime::from_unix(0).rfc3339(), "1970-01-01T00:00:00Z");
        assert_eq!(
            UtcTime::from_unix(951_782_400).rfc3339(),
            "2000-02-29T00:00:00Z"
        );
        assert_eq!(
            UtcTime::from_unix(1_795_340_730).rfc3339(),
            "2026-11-22T09:45:30Z"
        );
        // The digits written directly are what `format!` writes, from 1970 to past 9999.
        for seconds in (0..260_000_000_000i64).step_by(7_777_777) {
            let t = UtcTime::from_unix(seconds);
            let formatted = format!(
                "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
                t.date.year, t.date.month, t.date.day, t.hour, t.minute, t.second
            );
            assert_eq!(t.rfc3339(), formatted, "{seconds}");
        }
    }
}
