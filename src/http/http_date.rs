//! HTTP dates (RFC 9110, section 5.6.7): `Sun, 06 Nov 1994 08:49:37 GMT`.
//!
//! The kernel has no clock of the time of day, so it sends no `Date` header (section 6.6.1
//! forbids one from a server without a clock). It does know when each embedded file was last
//! changed: build.rs records the file's modification time, and `Last-Modified` carries it, so
//! that `If-Modified-Since` (what `curl -z` sends) can be answered 304.
//!
//! Dates are sent in the preferred form, IMF-fixdate; recipients must also accept the two
//! obsolete forms, RFC 850 (`Sunday, 06-Nov-94 08:49:37 GMT`) and asctime
//! (`Sun Nov  6 08:49:37 1994`), so [`parse`] does.

use core::fmt;

const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"]; // 1970-01-01 was a Thursday
const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// Seconds since 1970-01-01 00:00:00 UTC, shown as an IMF-fixdate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HttpDate(pub u64);

impl fmt::Display for HttpDate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let days = self.0 / 86_400;
        let seconds = self.0 % 86_400;
        let (year, month, day) = civil_from_days(days as i64);
        write!(
            f,
            "{}, {:02} {} {} {:02}:{:02}:{:02} GMT",
            DAYS[(days % 7) as usize],
            day,
            MONTHS[month as usize - 1],
            year,
            seconds / 3600,
            seconds / 60 % 60,
            seconds % 60
        )
    }
}

/// Reads a date in any of the three forms; `None` if it is none of them (a recipient then
/// ignores the header, section 13.1.3).
pub fn parse(text: &str) -> Option<u64> {
    let text = text.trim();
    let mut words = text.split_ascii_whitespace();
    let first = words.next()?;
    let (day, month, year, time) = if first.ends_with(',') && first.len() == 4 {
        // IMF-fixdate: "Sun, 06 Nov 1994 08:49:37 GMT"
        let day = words.next()?;
        let month = words.next()?;
        let year: i64 = words.next()?.parse().ok()?;
        let time = words.next()?;
        (words.next()? == "GMT").then_some(())?;
        (day, month, year, time)
    } else if first.ends_with(',') {
        // RFC 850: "Sunday, 06-Nov-94 08:49:37 GMT"; two-digit years are taken as 19xx
        // or 20xx, whichever is nearer to now (section 5.6.7): before 70 is 20xx.
        let mut date = words.next()?.split('-');
        let (day, month, year) = (date.next()?, date.next()?, date.next()?);
        let year: i64 = year.parse().ok()?;
        let year = if year < 70 { 2000 + year } else { 1900 + year };
        let time = words.next()?;
        (words.next()? == "GMT").then_some(())?;
        (day, month, year, time)
    } else {
        // asctime: "Sun Nov  6 08:49:37 1994"
        let month = words.next()?;
        let day = words.next()?;
        let time = words.next()?;
        let year: i64 = words.next()?.parse().ok()?;
        (day, month, year, time)
    };
    if words.next().is_some() {
        return None;
    }
    let day: i64 = day.parse().ok()?;
    let month = MONTHS.iter().position(|m| *m == month)? as i64 + 1;
    let mut clock = time.split(':');
    let hours: i64 = clock.next()?.parse().ok()?;
    let minutes: i64 = clock.next()?.parse().ok()?;
    let seconds: i64 = clock.next()?.parse().ok()?;
    if clock.next().is_some()
        || !(1..=31).contains(&day)
        || !(0..24).contains(&hours)
        || !(0..60).contains(&minutes)
        || !(0..=60).contains(&seconds)
        || year < 1970
    {
        return None;
    }
    let days = days_from_civil(year, month, day);
    u64::try_from(days * 86_400 + hours * 3600 + minutes * 60 + seconds).ok()
}

/// Days since 1970-01-01 of a date in the proleptic Gregorian calendar (Howard Hinnant's
/// `days_from_civil`: years counted from March, so February's leap day comes last).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month_from_march = (month + 9) % 12;
    let day_of_year = (153 * month_from_march + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// The inverse of [`days_from_civil`]: (year, month 1-12, day 1-31).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let days = days + 719_468;
    let era = days.div_euclid(146_097);
    let day_of_era = days - era * 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_from_march = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_from_march + 2) / 5 + 1;
    let month = if month_from_march < 10 {
        month_from_march + 3
    } else {
        month_from_march - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;

    /// RFC 9110's own example, 784111777 seconds after the epoch.
    const EXAMPLE: u64 = 784_111_777;

    #[test]
    fn formats_the_rfc_example() {
        assert_eq!(
            HttpDate(EXAMPLE).to_string(),
            "Sun, 06 Nov 1994 08:49:37 GMT"
        );
        assert_eq!(HttpDate(0).to_string(), "Thu, 01 Jan 1970 00:00:00 GMT");
        assert_eq!(
            HttpDate(951_782_400).to_string(),
            "Tue, 29 Feb 2000 00:00:00 GMT"
        );
    }

    #[test]
    fn parses_all_three_forms() {
        assert_eq!(parse("Sun, 06 Nov 1994 08:49:37 GMT"), Some(EXAMPLE));
        assert_eq!(parse("Sunday, 06-Nov-94 08:49:37 GMT"), Some(EXAMPLE));
        assert_eq!(parse("Sun Nov  6 08:49:37 1994"), Some(EXAMPLE));
    }

    #[test]
    fn refuses_what_is_not_a_date() {
        for bad in [
            "",
            "yesterday",
            "Sun, 06 Nov 1994 08:49:37 CET",
            "Sun, 32 Nov 1994 08:49:37 GMT",
            "Sun, 06 Foo 1994 08:49:37 GMT",
            "Sun, 06 Nov 1994 25:00:00 GMT",
            "Sun, 06 Nov 1994 08:49 GMT",
            "Sun, 06 Nov 1994 08:49:37 GMT extra",
        ] {
            assert_eq!(parse(bad), None, "{bad:?}");
        }
    }

    proptest::proptest! {
        /// Formatting then parsing gives the same second back, for any date up to 9999.
        #[test]
        fn round_trips(seconds in 0u64..253_402_300_799) {
            proptest::prop_assert_eq!(parse(&HttpDate(seconds).to_string()), Some(seconds));
        }
    }
}
