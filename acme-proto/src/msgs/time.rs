//! Timestamps: RFC 3339 (ACME JSON `expires`, `notBefore`, RFC 9773 windows) and HTTP dates
//! (RFC 9110 §5.6.7, for `Retry-After`).
//!
//! Pure functions over [`SystemTime`]; the calendar arithmetic (proleptic Gregorian calendar,
//! Unix time without leap seconds) is done here so the core needs no date crate. Parsers never
//! panic and return `None` for anything malformed or not representable as a [`SystemTime`]
//! on the running platform.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

const SECS_PER_DAY: i64 = 86_400;
const NANOS_PER_SEC: u32 = 1_000_000_000;

const SHORT_DAYS: [&str; 7] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
const LONG_DAYS: [&str; 7] = [
    "Sunday",
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
];
const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// Parse an RFC 3339 `date-time` (e.g. `2026-12-03T15:58:18Z`).
///
/// Accepted: `T`, `t` or a single space between date and time; `Z`, `z` or a numeric
/// `±hh:mm` offset (`-00:00` means UTC); any number of fractional-second digits, truncated
/// to nanoseconds. A leap second (`:60`) is read as `:59` of the same minute, since Unix
/// time has no leap seconds. Fields must have exactly the RFC's widths and valid ranges
/// (month 1–12, day within the month, leap years included, hour < 24, minute < 60); no
/// surrounding whitespace or trailing characters are allowed. Dates before 1970 are
/// returned when the platform's [`SystemTime`] can represent them.
pub fn parse_rfc3339(s: &str) -> Option<SystemTime> {
    let b = s.as_bytes();
    let (year, b) = digits(b, 4)?;
    let b = byte(b, b'-')?;
    let (month, b) = digits(b, 2)?;
    let b = byte(b, b'-')?;
    let (day, b) = digits(b, 2)?;
    let b = match b.split_first() {
        Some((b'T' | b't' | b' ', rest)) => rest,
        _ => return None,
    };
    let (hour, b) = digits(b, 2)?;
    let b = byte(b, b':')?;
    let (minute, b) = digits(b, 2)?;
    let b = byte(b, b':')?;
    let (second, mut b) = digits(b, 2)?;

    let mut nanos = 0u32;
    if let Some(rest) = b.strip_prefix(b".") {
        let count = rest.iter().take_while(|c| c.is_ascii_digit()).count();
        if count == 0 {
            return None;
        }
        let (frac, rest) = rest.split_at(count);
        // The first nine digits, right-padded with zeros; further digits are truncated.
        let mut scale = NANOS_PER_SEC;
        for &d in frac.iter().take(9) {
            scale /= 10;
            nanos += u32::from(d - b'0') * scale;
        }
        b = rest;
    }

    let offset_secs: i64 = match b.split_first() {
        Some((b'Z' | b'z', [])) => 0,
        Some((&sign @ (b'+' | b'-'), rest)) => {
            let (oh, rest) = digits(rest, 2)?;
            let rest = byte(rest, b':')?;
            let (om, rest) = digits(rest, 2)?;
            if !rest.is_empty() || oh > 23 || om > 59 {
                return None;
            }
            let magnitude = i64::from(oh) * 3600 + i64::from(om) * 60;
            if sign == b'-' { -magnitude } else { magnitude }
        }
        _ => return None,
    };

    let secs = civil_to_unix(i64::from(year), month, day, hour, minute, second)?;
    from_unix(secs - offset_secs, nanos)
}

/// Format as an RFC 3339 UTC timestamp: `2026-12-03T15:58:18Z`, with a fractional part
/// (trailing zeros trimmed) only when the time has a non-zero sub-second part, e.g.
/// `2026-12-03T15:58:18.25Z`.
///
/// Years outside 0000–9999 (which RFC 3339 cannot express) are written in the ISO 8601
/// expanded form with an explicit sign, e.g. `+10000-01-01T00:00:00Z`.
pub fn format_rfc3339(t: SystemTime) -> String {
    let (secs, nanos) = to_unix(t);
    let (days, tod) = (secs.div_euclid(SECS_PER_DAY), secs.rem_euclid(SECS_PER_DAY));
    let (year, month, day) = civil_from_days(days);
    let mut out = if (0..=9999).contains(&year) {
        format!("{year:04}")
    } else {
        format!("{year:+05}")
    };
    out.push_str(&format!(
        "-{month:02}-{day:02}T{:02}:{:02}:{:02}",
        tod / 3600,
        tod / 60 % 60,
        tod % 60
    ));
    if nanos != 0 {
        let frac = format!("{nanos:09}");
        out.push('.');
        out.push_str(frac.trim_end_matches('0'));
    }
    out.push('Z');
    out
}

/// Parse an HTTP date (RFC 9110 §5.6.7) in any of its three formats:
///
/// - IMF-fixdate: `Sun, 06 Nov 1994 08:49:37 GMT`;
/// - obsolete RFC 850: `Sunday, 06-Nov-94 08:49:37 GMT`;
/// - obsolete asctime: `Sun Nov  6 08:49:37 1994`.
///
/// Day and month names and `GMT` are matched case-insensitively; the weekday must be a valid
/// name (short or long, in any format) but is not checked against the date. Surrounding
/// whitespace is ignored, and runs of spaces between fields are tolerated; one-digit days
/// are accepted in every format. A leap second (`:60`) is read as `:59`.
///
/// RFC 9110 resolves an RFC 850 two-digit year relative to the current date ("more than 50
/// years in the future" means the previous century). This function has no clock, so it uses
/// a fixed pivot instead: `00`–`69` mean 2000–2069 and `70`–`99` mean 1970–1999. A four-digit
/// year in that format is also accepted.
pub fn parse_http_date(s: &str) -> Option<SystemTime> {
    let s = s.trim_ascii();
    if let Some((day_name, rest)) = s.split_once(',') {
        if !is_day_name(day_name) {
            return None;
        }
        let mut fields = rest.split_ascii_whitespace();
        let first = fields.next()?;
        let (day, month, year) = if first.contains('-') {
            // RFC 850: 06-Nov-94
            let mut parts = first.split('-');
            let day = number(parts.next()?, 1, 2)?;
            let month = month_number(parts.next()?)?;
            let year = parts.next()?;
            if parts.next().is_some() {
                return None;
            }
            let year = match year.len() {
                2 => {
                    let yy = number(year, 2, 2)?;
                    if yy < 70 { 2000 + yy } else { 1900 + yy }
                }
                _ => number(year, 4, 4)?,
            };
            (day, month, year)
        } else {
            // IMF-fixdate: 06 Nov 1994
            let day = number(first, 1, 2)?;
            let month = month_number(fields.next()?)?;
            let year = number(fields.next()?, 4, 4)?;
            (day, month, year)
        };
        let (hour, minute, second) = time_of_day(fields.next()?)?;
        if !fields.next()?.eq_ignore_ascii_case("GMT") || fields.next().is_some() {
            return None;
        }
        let secs = civil_to_unix(i64::from(year), month, day, hour, minute, second)?;
        from_unix(secs, 0)
    } else {
        // asctime: Sun Nov  6 08:49:37 1994
        let mut fields = s.split_ascii_whitespace();
        if !is_day_name(fields.next()?) {
            return None;
        }
        let month = month_number(fields.next()?)?;
        let day = number(fields.next()?, 1, 2)?;
        let (hour, minute, second) = time_of_day(fields.next()?)?;
        let year = number(fields.next()?, 4, 4)?;
        if fields.next().is_some() {
            return None;
        }
        let secs = civil_to_unix(i64::from(year), month, day, hour, minute, second)?;
        from_unix(secs, 0)
    }
}

/// Format as an IMF-fixdate (RFC 9110 §5.6.7), the preferred HTTP date format:
/// `Sun, 06 Nov 1994 08:49:37 GMT`. Sub-second precision is dropped (truncated).
///
/// Years outside 0000–9999 cannot be expressed; they are written with as many digits (and
/// a `-` sign) as needed, which no HTTP date parser accepts.
pub fn format_http_date(t: SystemTime) -> String {
    let (secs, _) = to_unix(t);
    let (days, tod) = (secs.div_euclid(SECS_PER_DAY), secs.rem_euclid(SECS_PER_DAY));
    let (year, month, day) = civil_from_days(days);
    // 1970-01-01 was a Thursday.
    let weekday = SHORT_DAYS[(days + 4).rem_euclid(7) as usize];
    let month_name = MONTHS[(month - 1) as usize];
    format!(
        "{weekday}, {day:02} {month_name} {year:04} {:02}:{:02}:{:02} GMT",
        tod / 3600,
        tod / 60 % 60,
        tod % 60
    )
}

/// Exactly `n` ASCII digits at the start of `b`, and the rest.
fn digits(b: &[u8], n: usize) -> Option<(u32, &[u8])> {
    if b.len() < n {
        return None;
    }
    let (head, rest) = b.split_at(n);
    let mut value = 0u32;
    for &c in head {
        if !c.is_ascii_digit() {
            return None;
        }
        // At most 4 digits are ever requested: no overflow.
        value = value * 10 + u32::from(c - b'0');
    }
    Some((value, rest))
}

/// `b` without its leading byte, if that byte is `expected`.
fn byte(b: &[u8], expected: u8) -> Option<&[u8]> {
    match b.split_first() {
        Some((&c, rest)) if c == expected => Some(rest),
        _ => None,
    }
}

/// A whole field of `min..=max` ASCII digits.
fn number(s: &str, min: usize, max: usize) -> Option<u32> {
    if !(min..=max).contains(&s.len()) {
        return None;
    }
    let (value, rest) = digits(s.as_bytes(), s.len())?;
    rest.is_empty().then_some(value)
}

/// `hh:mm:ss`, exactly two digits each (ranges are checked by [`civil_to_unix`]).
fn time_of_day(s: &str) -> Option<(u32, u32, u32)> {
    let b = s.as_bytes();
    let (hour, b) = digits(b, 2)?;
    let b = byte(b, b':')?;
    let (minute, b) = digits(b, 2)?;
    let b = byte(b, b':')?;
    let (second, b) = digits(b, 2)?;
    b.is_empty().then_some((hour, minute, second))
}

fn is_day_name(s: &str) -> bool {
    SHORT_DAYS
        .iter()
        .chain(LONG_DAYS.iter())
        .any(|d| d.eq_ignore_ascii_case(s))
}

/// 1–12 for a three-letter English month abbreviation, in any case.
fn month_number(s: &str) -> Option<u32> {
    let index = MONTHS.iter().position(|m| m.eq_ignore_ascii_case(s))?;
    u32::try_from(index + 1).ok()
}

fn is_leap_year(year: i64) -> bool {
    year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
}

fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap_year(year) => 29,
        2 => 28,
        _ => 0,
    }
}

/// Seconds since the epoch for a validated civil UTC date and time; `None` when a field is
/// out of range. A leap second (60) becomes 59.
fn civil_to_unix(
    year: i64,
    month: u32,
    day: u32,
    hour: u32,
    minute: u32,
    second: u32,
) -> Option<i64> {
    if !(1..=12).contains(&month)
        || day == 0
        || day > days_in_month(year, month)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return None;
    }
    let second = second.min(59);
    let days = days_from_civil(year, month, day);
    Some(days * SECS_PER_DAY + i64::from(hour) * 3600 + i64::from(minute) * 60 + i64::from(second))
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Hinnant's `days_from_civil`).
///
/// Years are shifted to start in March, so the leap day is the last day of a shifted year;
/// the calendar repeats every 400-year era of 146 097 days.
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year.rem_euclid(400); // 0..=399
    let shifted_month = i64::from((month + 9) % 12); // March = 0 .. February = 11
    let day_of_year = (153 * shifted_month + 2) / 5 + i64::from(day) - 1; // 0..=365
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    // 719 468 days separate 0000-03-01 from 1970-01-01.
    era * 146_097 + day_of_era - 719_468
}

/// The proleptic Gregorian date (year, month 1–12, day 1–31) of a day count since
/// 1970-01-01: the inverse of [`days_from_civil`] (Hinnant's `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097); // 0..=146_096
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let shifted_month = (5 * day_of_year + 2) / 153; // March = 0 .. February = 11
    // Both casts are of small non-negative values (1..=31 and 1..=12).
    let day = (day_of_year - (153 * shifted_month + 2) / 5 + 1) as u32;
    let month = (if shifted_month < 10 {
        shifted_month + 3
    } else {
        shifted_month - 9
    }) as u32;
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// The [`SystemTime`] `secs` seconds plus `nanos` nanoseconds after the epoch (`secs` may
/// be negative), if the platform can represent it.
fn from_unix(secs: i64, nanos: u32) -> Option<SystemTime> {
    let whole = if secs >= 0 {
        UNIX_EPOCH.checked_add(Duration::from_secs(secs.unsigned_abs()))?
    } else {
        UNIX_EPOCH.checked_sub(Duration::from_secs(secs.unsigned_abs()))?
    };
    whole.checked_add(Duration::from_nanos(u64::from(nanos)))
}

/// Whole seconds since the epoch (floored, so possibly negative) and the sub-second
/// nanoseconds (always non-negative). Saturates at the `i64` range.
fn to_unix(t: SystemTime) -> (i64, u32) {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => (
            i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
            d.subsec_nanos(),
        ),
        Err(e) => {
            let d = e.duration();
            let secs = i64::try_from(d.as_secs())
                .unwrap_or(i64::MAX)
                .saturating_neg();
            match d.subsec_nanos() {
                0 => (secs, 0),
                n => (secs.saturating_sub(1), NANOS_PER_SEC - n),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: i64, nanos: u32) -> SystemTime {
        from_unix(secs, nanos).unwrap()
    }

    #[test]
    fn calendar_round_trip() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        assert_eq!(days_from_civil(1969, 12, 31), -1);
        assert_eq!(days_from_civil(0, 3, 1), -719_468);
        assert_eq!(civil_from_days(-719_468), (0, 3, 1));
        assert_eq!(civil_from_days(19_782), (2024, 2, 29));
        for days in (-800_000..800_000).step_by(7) {
            let (y, m, d) = civil_from_days(days);
            assert!((1..=12).contains(&m) && d >= 1 && d <= days_in_month(y, m));
            assert_eq!(days_from_civil(y, m, d), days, "{y}-{m}-{d}");
        }
    }

    #[test]
    fn rfc3339_fractions() {
        let base = 1_796_313_498; // 2026-12-03T15:58:18Z
        let cases = [
            ("2026-12-03T15:58:18Z", 0),
            ("2026-12-03T15:58:18.5Z", 500_000_000),
            ("2026-12-03T15:58:18.123Z", 123_000_000),
            ("2026-12-03T15:58:18.123456Z", 123_456_000),
            ("2026-12-03T15:58:18.123456789Z", 123_456_789),
            ("2026-12-03T15:58:18.123456789999Z", 123_456_789),
            ("2026-12-03T15:58:18.000000000000000000000001Z", 0),
        ];
        for (text, nanos) in cases {
            assert_eq!(parse_rfc3339(text), Some(at(base, nanos)), "{text}");
        }
    }

    #[test]
    fn rfc3339_offsets_and_case() {
        let t = at(1_796_313_498, 0);
        assert_eq!(parse_rfc3339("2026-12-03T21:28:18+05:30"), Some(t));
        assert_eq!(parse_rfc3339("2026-12-03T10:58:18-05:00"), Some(t));
        assert_eq!(parse_rfc3339("2026-12-03T15:58:18-00:00"), Some(t));
        assert_eq!(parse_rfc3339("2026-12-03T15:58:18+00:00"), Some(t));
        assert_eq!(parse_rfc3339("2026-12-03t15:58:18z"), Some(t));
        assert_eq!(parse_rfc3339("2026-12-03 15:58:18Z"), Some(t));
        // Offsets can cross a day (and year) boundary.
        assert_eq!(
            parse_rfc3339("2027-01-01T00:30:00+23:59"),
            Some(at(1_798_677_060, 0))
        );
        // Leap second, read as :59.
        assert_eq!(
            parse_rfc3339("2016-12-31T23:59:60Z"),
            Some(at(1_483_228_799, 0))
        );
        assert_eq!(
            parse_rfc3339("2016-12-31T23:59:60.5Z"),
            Some(at(1_483_228_799, 500_000_000))
        );
        // Leap day.
        assert_eq!(
            parse_rfc3339("2024-02-29T00:00:00Z"),
            Some(at(1_709_164_800, 0))
        );
        assert_eq!(
            parse_rfc3339("2000-02-29T00:00:00Z"),
            Some(at(951_782_400, 0))
        );
        assert_eq!(parse_rfc3339("1970-01-01T00:00:00Z"), Some(UNIX_EPOCH));
        assert_eq!(
            parse_rfc3339("9999-12-31T23:59:59Z"),
            Some(at(253_402_300_799, 0))
        );
    }

    #[test]
    fn rfc3339_before_epoch() {
        assert_eq!(parse_rfc3339("1969-12-31T23:59:59Z"), Some(at(-1, 0)));
        assert_eq!(
            parse_rfc3339("1969-12-31T23:59:59.25Z"),
            Some(at(-1, 250_000_000))
        );
        assert_eq!(
            parse_rfc3339("0000-01-01T00:00:00Z"),
            Some(at(-62_167_219_200, 0))
        );
        assert_eq!(
            format_rfc3339(at(-1, 250_000_000)),
            "1969-12-31T23:59:59.25Z"
        );
        assert_eq!(
            format_rfc3339(at(-62_167_219_200, 0)),
            "0000-01-01T00:00:00Z"
        );
    }

    #[test]
    fn rfc3339_invalid() {
        for text in [
            "",
            "2026-02-30T00:00:00Z",
            "2023-02-29T00:00:00Z",
            "1900-02-29T00:00:00Z",
            "2026-04-31T00:00:00Z",
            "2026-12-00T00:00:00Z",
            "2026-12-32T00:00:00Z",
            "2026-13-01T00:00:00Z",
            "2026-00-01T00:00:00Z",
            "2026-12-03T24:00:00Z",
            "2026-12-03T23:60:00Z",
            "2026-12-03T23:59:61Z",
            "2026-12-03T15:58:18",
            "2026-12-03T15:58Z",
            "2026-12-03",
            "2026-12-03T",
            "2026-12-03T15:58:18.Z",
            "2026-12-03T15:58:18Zjunk",
            "2026-12-03T15:58:18Z ",
            " 2026-12-03T15:58:18Z",
            "2026-12-03T15:58:18+05:30x",
            "2026-12-03T15:58:18+0530",
            "2026-12-03T15:58:18+05",
            "2026-12-03T15:58:18+24:00",
            "2026-12-03T15:58:18+05:60",
            "2026-12-03X15:58:18Z",
            "2026-12-03T15:58:18UTC",
            "26-12-03T15:58:18Z",
            "+2026-12-03T15:58:18Z",
            "2026-1-03T15:58:18Z",
            "2026-12-03T5:58:18Z",
            "2026-12-03T15:58:18,5Z",
            "2026-12-03T15:58:18.5.5Z",
            "2026-12-03T15:58:1８Z",
        ] {
            assert_eq!(parse_rfc3339(text), None, "{text:?}");
        }
    }

    #[test]
    fn rfc3339_format() {
        assert_eq!(format_rfc3339(at(1_796_313_498, 0)), "2026-12-03T15:58:18Z");
        assert_eq!(
            format_rfc3339(at(1_796_313_498, 250_000_000)),
            "2026-12-03T15:58:18.25Z"
        );
        assert_eq!(
            format_rfc3339(at(1_796_313_498, 1)),
            "2026-12-03T15:58:18.000000001Z"
        );
        assert_eq!(format_rfc3339(UNIX_EPOCH), "1970-01-01T00:00:00Z");
        assert_eq!(
            format_rfc3339(at(253_402_300_800, 0)),
            "+10000-01-01T00:00:00Z"
        );
        assert_eq!(
            format_rfc3339(at(-62_167_219_201, 0)),
            "-0001-12-31T23:59:59Z"
        );
        for secs in (-62_167_219_200i64..253_402_300_800).step_by(987_654_321) {
            let t = at(secs, 123_456_789);
            assert_eq!(parse_rfc3339(&format_rfc3339(t)), Some(t), "{secs}");
        }
    }

    #[test]
    fn http_date_rfc9110_examples() {
        let t = at(784_111_777, 0);
        assert_eq!(parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT"), Some(t));
        assert_eq!(parse_http_date("Sunday, 06-Nov-94 08:49:37 GMT"), Some(t));
        assert_eq!(parse_http_date("Sun Nov  6 08:49:37 1994"), Some(t));
        assert_eq!(format_http_date(t), "Sun, 06 Nov 1994 08:49:37 GMT");
    }

    #[test]
    fn http_date_tolerance() {
        let t = at(784_111_777, 0);
        for text in [
            "  Sun, 06 Nov 1994 08:49:37 GMT \t",
            "sun, 06 nov 1994 08:49:37 gmt",
            "SUNDAY, 06-NOV-94 08:49:37 GMT",
            "Sun, 6 Nov 1994 08:49:37 GMT",
            "Sun,  06  Nov 1994 08:49:37 GMT",
            "Sun, 06-Nov-1994 08:49:37 GMT",
            "Sun Nov 06 08:49:37 1994",
            "Sun Nov 6 08:49:37 1994",
            "Sunday Nov  6 08:49:37 1994",
            // The weekday is not checked against the date.
            "Mon, 06 Nov 1994 08:49:37 GMT",
        ] {
            assert_eq!(parse_http_date(text), Some(t), "{text:?}");
        }
        // Two-digit years: 00-69 are 20xx, 70-99 are 19xx.
        assert_eq!(
            parse_http_date("Thursday, 01-Jan-70 00:00:00 GMT"),
            Some(UNIX_EPOCH)
        );
        assert_eq!(
            parse_http_date("Friday, 31-Dec-69 23:59:59 GMT"),
            parse_rfc3339("2069-12-31T23:59:59Z")
        );
        assert_eq!(
            parse_http_date("Sat, 31 Dec 2016 23:59:60 GMT"),
            parse_rfc3339("2016-12-31T23:59:59Z")
        );
    }

    #[test]
    fn http_date_invalid() {
        for text in [
            "",
            "Sun",
            "Sun, 06 Nov 1994 08:49:37",
            "Sun, 06 Nov 1994 08:49:37 UTC",
            "Sun, 06 Nov 1994 08:49:37 GMT junk",
            "Sun, 06 Nov 94 08:49:37 GMT",
            "Sun, 06 Nov 1994 8:49:37 GMT",
            "Sun, 06 Nov 1994 08:49 GMT",
            "Sun, 30 Feb 1994 08:49:37 GMT",
            "Sun, 00 Nov 1994 08:49:37 GMT",
            "Sun, 06 Nov 1994 24:00:00 GMT",
            "Sun, 06 Nox 1994 08:49:37 GMT",
            "Sum, 06 Nov 1994 08:49:37 GMT",
            ", 06 Nov 1994 08:49:37 GMT",
            "06 Nov 1994 08:49:37 GMT",
            "Sunday, 06-Nov-94-1 08:49:37 GMT",
            "Sunday, 06-Nov-994 08:49:37 GMT",
            "Sunday, 06-Nov 08:49:37 GMT",
            "Sun Nov  6 08:49:37",
            "Sun Nov  6 08:49:37 1994 GMT",
            "Sun Nov 106 08:49:37 1994",
            "Sun 6 Nov 08:49:37 1994",
            "Sun, 06 Nov +994 08:49:37 GMT",
            "1994-11-06T08:49:37Z",
            "120",
        ] {
            assert_eq!(parse_http_date(text), None, "{text:?}");
        }
    }

    #[test]
    fn http_date_format_round_trip() {
        assert_eq!(
            format_http_date(UNIX_EPOCH),
            "Thu, 01 Jan 1970 00:00:00 GMT"
        );
        assert_eq!(
            format_http_date(at(-1, 500_000_000)),
            "Wed, 31 Dec 1969 23:59:59 GMT"
        );
        assert_eq!(
            format_http_date(at(1_709_164_800, 999)),
            "Thu, 29 Feb 2024 00:00:00 GMT"
        );
        for secs in (-60_000_000_000i64..250_000_000_000).step_by(123_456_789) {
            let t = at(secs, 0);
            assert_eq!(parse_http_date(&format_http_date(t)), Some(t), "{secs}");
        }
    }

    #[test]
    fn no_panic_on_mangled_input() {
        let seeds = [
            "2026-12-03T15:58:18.123456789+05:30",
            "Sun, 06 Nov 1994 08:49:37 GMT",
            "Sunday, 06-Nov-94 08:49:37 GMT",
            "Sun Nov  6 08:49:37 1994",
        ];
        let replacements = ["", "9", "é", ",", "-", " ", "\u{0}", "99999999999999999999"];
        for seed in seeds {
            for i in 0..=seed.len() {
                for r in replacements {
                    let mut s = seed.to_owned();
                    s.insert_str(i, r);
                    let _ = (parse_rfc3339(&s), parse_http_date(&s));
                    let _ = (parse_rfc3339(&seed[..i]), parse_http_date(&seed[..i]));
                    if i < seed.len() {
                        let mut s = seed.as_bytes().to_vec();
                        s[i] = b'x';
                        let s = String::from_utf8(s).unwrap();
                        let _ = (parse_rfc3339(&s), parse_http_date(&s));
                    }
                }
            }
        }
        let _ = format_rfc3339(at(i64::MAX / 2, 999_999_999));
        let _ = format_http_date(at(i64::MAX / 2, 0));
        let _ = format_rfc3339(at(-(i64::MAX / 2), 1));
    }
}
