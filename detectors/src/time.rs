//! A tiny parser for NAB-style naive timestamps (`2014-04-01 00:00:00`, optional fraction).

/// Milliseconds since 1970-01-01 00:00:00 of a naive (zone-less) `YYYY-MM-DD HH:MM:SS[.fff…]`
/// timestamp, read as if it were UTC. `None` when the text is not of that form or the date is
/// impossible.
pub fn parse_naive_ms(s: &str) -> Option<i64> {
    let s = s.trim();
    let b = s.as_bytes();
    if b.len() < 19 || b[4] != b'-' || b[7] != b'-' || !(b[10] == b' ' || b[10] == b'T') {
        return None;
    }
    if b[13] != b':' || b[16] != b':' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<i64> {
        let part = s.get(r)?;
        if part.is_empty() || !part.bytes().all(|c| c.is_ascii_digit()) {
            return None;
        }
        part.parse().ok()
    };
    let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hour, minute, second) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) {
        return None;
    }
    if hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    let mut millis = 0;
    if b.len() > 19 {
        if b[19] != b'.' {
            return None;
        }
        let frac = &s[20..];
        if frac.is_empty() || !frac.bytes().all(|c| c.is_ascii_digit()) {
            return None;
        }
        let padded: String = frac.chars().chain("000".chars()).take(3).collect();
        millis = padded.parse::<i64>().ok()?;
    }
    let days = days_from_civil(year, month, day);
    Some(((days * 24 + hour) * 60 + minute) * 60_000 + second * 1000 + millis)
}

fn is_leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        2 if is_leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (month 1..=12).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn epoch_and_known_dates() {
        assert_eq!(parse_naive_ms("1970-01-01 00:00:00"), Some(0));
        // 2014-04-01 00:00:00 UTC = 1396310400 s.
        assert_eq!(
            parse_naive_ms("2014-04-01 00:00:00"),
            Some(1_396_310_400_000)
        );
        assert_eq!(
            parse_naive_ms("2014-04-10 07:15:00.000000"),
            parse_naive_ms("2014-04-10 07:15:00")
        );
        assert_eq!(
            parse_naive_ms("2000-02-29 00:00:01.5"),
            Some(951_782_401_500)
        );
    }

    #[test]
    fn rejects_malformed() {
        for bad in [
            "",
            "2014-04-01",
            "2014-13-01 00:00:00",
            "2014-02-30 00:00:00",
            "2014-04-01 24:00:00",
            "2014/04/01 00:00:00",
            "2014-04-01 00:00:00x",
            "2014-04-01 0a:00:00",
        ] {
            assert_eq!(parse_naive_ms(bad), None, "{bad:?}");
        }
    }
}
