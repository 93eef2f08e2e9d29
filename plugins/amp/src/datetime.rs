//! XEP-0082 §3.3 DateTime (`CCYY-MM-DDThh:mm:ss[.sss]TZD`) restricted to UTC,
//! the only form XEP-0079 §3.3.2 allows in `expire-at` (R33, R34, D18).
//!
//! Written here rather than pulled from a date crate: the plugin needs one
//! format, one comparison ("now ≥ value") and a clock reading supplied by the
//! host, and every dependency grows the WASM component.

use std::fmt;

/// An instant as seconds and nanoseconds since 1970-01-01T00:00:00Z.
/// Ordered chronologically, so "now ≥ value" is `now >= value`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp {
    secs: i64,
    nanos: u32,
}

/// Why a string is not an XEP-0082 UTC DateTime; every variant makes an
/// `expire-at` rule invalid (D6: `not-acceptable` + `<invalid-rules>`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DateTimeError {
    /// Not of the shape `CCYY-MM-DDThh:mm:ss[.s+]TZD`.
    Syntax,
    /// Well-shaped, but a field is out of range (month 13, 30 February …).
    OutOfRange,
    /// A time zone offset other than `Z`, `+00:00` or `-00:00` (R34).
    NotUtc,
}

impl fmt::Display for DateTimeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DateTimeError::Syntax => "not an XEP-0082 DateTime",
            DateTimeError::OutOfRange => "DateTime field out of range",
            DateTimeError::NotUtc => "DateTime is not in UTC",
        })
    }
}

impl std::error::Error for DateTimeError {}

impl Timestamp {
    /// The instant `secs` seconds plus `nanos` nanoseconds after the Unix
    /// epoch; `nanos` beyond one second carry into `secs`.
    pub fn from_unix(secs: i64, nanos: u32) -> Self {
        Timestamp { secs: secs + i64::from(nanos / 1_000_000_000), nanos: nanos % 1_000_000_000 }
    }

    /// Whole seconds since the Unix epoch (negative before 1970).
    pub fn unix_secs(self) -> i64 {
        self.secs
    }

    /// The sub-second part, in nanoseconds.
    pub fn subsec_nanos(self) -> u32 {
        self.nanos
    }

    /// Parses an XEP-0082 DateTime in UTC (D18): `Z`, `+00:00` or `-00:00`,
    /// optional fractional seconds of any length (digits past nanoseconds are
    /// truncated). Leap seconds (`:60`) and lowercase `t`/`z` are refused.
    pub fn parse(s: &str) -> Result<Self, DateTimeError> {
        let b = s.as_bytes();
        if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || b[10] != b'T' || b[13] != b':' || b[16] != b':' {
            return Err(DateTimeError::Syntax);
        }
        let year = digits(&b[0..4])?;
        let (month, day) = (digits(&b[5..7])?, digits(&b[8..10])?);
        let (hour, minute, second) = (digits(&b[11..13])?, digits(&b[14..16])?, digits(&b[17..19])?);
        let (nanos, zone) = fraction(&b[19..])?;
        match zone {
            b"Z" | b"+00:00" | b"-00:00" => {}
            [b'+' | b'-', h1, h2, b':', m1, m2] if [h1, h2, m1, m2].iter().all(|d| d.is_ascii_digit()) => {
                return Err(DateTimeError::NotUtc);
            }
            _ => return Err(DateTimeError::Syntax),
        }
        if !(1..=12).contains(&month)
            || day == 0
            || day > days_in_month(year, month)
            || hour > 23
            || minute > 59
            || second > 59
        {
            return Err(DateTimeError::OutOfRange);
        }
        let days = days_from_civil(year, month, day);
        Ok(Timestamp { secs: days * 86_400 + hour * 3_600 + minute * 60 + second, nanos })
    }
}

/// Formats as XEP-0082 UTC DateTime with `Z`, the fraction trimmed of
/// trailing zeros and omitted when zero; [`Timestamp::parse`] reads it back
/// for years 0000–9999.
impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (days, rem) = (self.secs.div_euclid(86_400), self.secs.rem_euclid(86_400));
        let (y, m, d) = civil_from_days(days);
        write!(f, "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}", rem / 3_600, rem / 60 % 60, rem % 60)?;
        if self.nanos != 0 {
            let frac = format!("{:09}", self.nanos);
            write!(f, ".{}", frac.trim_end_matches('0'))?;
        }
        f.write_str("Z")
    }
}

fn digits(b: &[u8]) -> Result<i64, DateTimeError> {
    b.iter().try_fold(0i64, |acc, &c| {
        if c.is_ascii_digit() { Ok(acc * 10 + i64::from(c - b'0')) } else { Err(DateTimeError::Syntax) }
    })
}

/// Splits `[.d+]TZD` into nanoseconds and the zone designator.
fn fraction(b: &[u8]) -> Result<(u32, &[u8]), DateTimeError> {
    let Some(rest) = b.strip_prefix(b".") else { return Ok((0, b)) };
    let n = rest.iter().take_while(|c| c.is_ascii_digit()).count();
    if n == 0 {
        return Err(DateTimeError::Syntax);
    }
    let mut nanos = 0u32;
    for i in 0..9 {
        nanos = nanos * 10 + rest.get(i).filter(|_| i < n).map_or(0, |c| u32::from(c - b'0'));
    }
    Ok((nanos, &rest[n..]))
}

fn is_leap(year: i64) -> bool {
    year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date, counting in 400-year
/// eras (146 097 days each) with years starting in March so that the leap
/// day falls at the end.
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12; // March = 0
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The inverse of [`days_from_civil`].
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(month <= 2), month, day)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn ts(s: &str) -> Timestamp {
        Timestamp::parse(s).unwrap()
    }

    /// R33/R34/D18: the accepted UTC forms.
    #[test]
    fn d18_utc_forms_and_fractions_of_any_length() {
        assert_eq!(ts("1970-01-01T00:00:00Z"), Timestamp::from_unix(0, 0));
        assert_eq!(ts("2004-01-01T00:00:00Z").unix_secs(), 1_072_915_200);
        assert_eq!(ts("2004-01-01T00:00:00+00:00"), ts("2004-01-01T00:00:00Z"));
        assert_eq!(ts("2004-01-01T00:00:00-00:00"), ts("2004-01-01T00:00:00Z"));
        assert_eq!(ts("2000-02-29T23:59:59.5Z"), Timestamp::from_unix(951_868_799, 500_000_000));
        assert_eq!(ts("2000-02-29T23:59:59.123456789123Z").subsec_nanos(), 123_456_789);
        assert_eq!(ts("1969-12-31T23:59:59.000000001Z"), Timestamp::from_unix(-1, 1));
    }

    /// R34: a non-UTC offset is its own error; other garbage is syntax.
    #[test]
    fn r34_offsets_other_than_utc_are_refused() {
        assert_eq!(Timestamp::parse("2004-01-01T00:00:00+01:00"), Err(DateTimeError::NotUtc));
        assert_eq!(Timestamp::parse("2004-01-01T00:00:00-05:30"), Err(DateTimeError::NotUtc));
        for bad in [
            "",
            "2004-01-01",
            "2004-01-01T00:00:00",
            "2004-01-01 00:00:00Z",
            "2004-01-01t00:00:00z",
            "2004-01-01T00:00:00.Z",
            "2004-01-01T00:00:00ZZ",
            "2004-1-01T00:00:00Z",
            "+004-01-01T00:00:00Z",
            "2004-01-01T00:00:00+0000",
            "2004-01-01T00:00:00 Z",
        ] {
            assert_eq!(Timestamp::parse(bad), Err(DateTimeError::Syntax), "{bad}");
        }
    }

    #[test]
    fn calendar_ranges() {
        for bad in [
            "2004-13-01T00:00:00Z",
            "2004-00-01T00:00:00Z",
            "2004-01-00T00:00:00Z",
            "2003-02-29T00:00:00Z",
            "1900-02-29T00:00:00Z",
            "2004-04-31T00:00:00Z",
            "2004-01-01T24:00:00Z",
            "2004-01-01T00:60:00Z",
            "2004-01-01T00:00:60Z",
        ] {
            assert_eq!(Timestamp::parse(bad), Err(DateTimeError::OutOfRange), "{bad}");
        }
        assert!(Timestamp::parse("2000-02-29T00:00:00Z").is_ok());
        assert!(Timestamp::parse("2004-02-29T00:00:00Z").is_ok());
    }

    #[test]
    fn display_is_xep0082_utc() {
        assert_eq!(Timestamp::from_unix(1_072_915_200, 0).to_string(), "2004-01-01T00:00:00Z");
        assert_eq!(Timestamp::from_unix(-1, 250_000_000).to_string(), "1969-12-31T23:59:59.25Z");
        assert_eq!(Timestamp::from_unix(0, 1_500_000_000), Timestamp::from_unix(1, 500_000_000));
    }

    proptest! {
        /// Formatting then parsing gives the same instant (years 0000–9999).
        #[test]
        fn display_round_trips(secs in -62_167_219_200i64..253_402_300_800, nanos in 0u32..1_000_000_000) {
            let t = Timestamp::from_unix(secs, nanos);
            prop_assert_eq!(Timestamp::parse(&t.to_string()), Ok(t));
        }

        /// The order of instants is the order of their texts (fixed width,
        /// no fraction), so "now ≥ value" compares what the sender meant.
        #[test]
        fn order_matches_text_order(a in 0i64..253_402_300_800, b in 0i64..253_402_300_800) {
            let (ta, tb) = (Timestamp::from_unix(a, 0), Timestamp::from_unix(b, 0));
            prop_assert_eq!(ta.cmp(&tb), ta.to_string().cmp(&tb.to_string()));
        }

        /// Never panics on arbitrary input.
        #[test]
        fn parse_never_panics(s in "\\PC{0,40}") {
            let _ = Timestamp::parse(&s);
        }
    }
}
