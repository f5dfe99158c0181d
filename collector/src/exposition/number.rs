//! Number and timestamp syntax.
//!
//! Values follow the OpenMetrics ABNF, which also covers what Prometheus exporters write:
//! a decimal real number (`[sign] digits [. digits] [e [sign] digits]`, at least one mantissa
//! digit, either side of the point), or, case-insensitively, `[sign] inf|infinity` or `nan`.
//! Hexadecimal, underscores and surrounding blanks are rejected.

/// The parts of a decimal real number token.
struct Real<'a> {
    negative: bool,
    int: &'a [u8],
    frac: &'a [u8],
    /// Decimal exponent, saturated to +-[`EXP_LIMIT`].
    exp: i64,
    plain_int: bool,
}

const EXP_LIMIT: i64 = 100_000;

fn digits_end(b: &[u8], mut i: usize) -> usize {
    while i < b.len() && b[i].is_ascii_digit() {
        i += 1;
    }
    i
}

/// Scan a decimal real number; `None` unless the whole token matches the grammar.
fn scan_real(b: &[u8]) -> Option<Real<'_>> {
    let (negative, mut i) = match b.first()? {
        b'-' => (true, 1),
        b'+' => (false, 1),
        _ => (false, 0),
    };
    let int_start = i;
    i = digits_end(b, i);
    let int = &b[int_start..i];
    let mut frac: &[u8] = &[];
    let mut plain_int = true;
    if b.get(i) == Some(&b'.') {
        plain_int = false;
        let s = i + 1;
        i = digits_end(b, s);
        frac = &b[s..i];
    }
    if int.is_empty() && frac.is_empty() {
        return None;
    }
    let mut exp = 0i64;
    if matches!(b.get(i), Some(b'e' | b'E')) {
        plain_int = false;
        i += 1;
        let neg_exp = match b.get(i) {
            Some(b'-') => {
                i += 1;
                true
            }
            Some(b'+') => {
                i += 1;
                false
            }
            _ => false,
        };
        let s = i;
        i = digits_end(b, s);
        if i == s {
            return None;
        }
        for &d in &b[s..i] {
            exp = (exp * 10 + i64::from(d - b'0')).min(EXP_LIMIT);
        }
        if neg_exp {
            exp = -exp;
        }
    }
    (i == b.len()).then_some(Real {
        negative,
        int,
        frac,
        exp,
        plain_int,
    })
}

/// Parse a sample or exemplar value.
#[inline]
pub(super) fn parse_value(tok: &str) -> Option<f64> {
    if let Some(r) = scan_real(tok.as_bytes()) {
        if r.plain_int && r.int.len() <= 15 {
            // Exact in an f64: skip the general float parser.
            let mut v = 0u64;
            for &d in r.int {
                v = v * 10 + u64::from(d - b'0');
            }
            // At most 15 digits, so the conversion is exact.
            let f = v as f64;
            return Some(if r.negative { -f } else { f });
        }
        // The grammar is a subset of what `f64::from_str` accepts.
        return tok.parse().ok();
    }
    let (negative, body) = match tok.as_bytes().first() {
        Some(b'-') => (true, &tok[1..]),
        Some(b'+') => (false, &tok[1..]),
        _ => (false, tok),
    };
    if body.eq_ignore_ascii_case("inf") || body.eq_ignore_ascii_case("infinity") {
        Some(if negative {
            f64::NEG_INFINITY
        } else {
            f64::INFINITY
        })
    } else if tok.eq_ignore_ascii_case("nan") {
        Some(f64::NAN)
    } else {
        None
    }
}

/// An OpenMetrics timestamp: float seconds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct OmTimestamp {
    /// Milliseconds, truncated toward zero and saturated to the `i64` range.
    pub ms: i64,
    /// The seconds as an f64, for ordering checks finer than a millisecond.
    pub seconds: f64,
}

/// Parse an OpenMetrics timestamp (a real number of seconds; no Inf or NaN).
pub(super) fn parse_om_timestamp(tok: &str) -> Option<OmTimestamp> {
    let r = scan_real(tok.as_bytes())?;
    let seconds: f64 = tok.parse().ok()?;
    Some(OmTimestamp {
        ms: real_to_millis(&r),
        seconds,
    })
}

/// Exact decimal conversion of seconds to milliseconds: the integer part of `value * 1000`.
fn real_to_millis(r: &Real<'_>) -> i64 {
    // Position of the decimal point within int ++ frac after multiplying by 10^(exp + 3).
    let len = r.int.len() + r.frac.len();
    let point = i64::try_from(r.int.len())
        .unwrap_or(i64::MAX)
        .saturating_add(r.exp + 3);
    let mut acc: i128 = 0;
    let limit = i128::from(i64::MAX);
    let take = usize::try_from(point.max(0)).unwrap_or(usize::MAX).min(len);
    for &d in r.int.iter().chain(r.frac.iter()).take(take) {
        acc = acc * 10 + i128::from(d - b'0');
        if acc > limit {
            acc = limit;
            break;
        }
    }
    let mut zeros = point - i64::try_from(take).unwrap_or(i64::MAX);
    while zeros > 0 && acc != 0 && acc < limit {
        acc = (acc * 10).min(limit);
        zeros -= 1;
    }
    let ms = i64::try_from(acc).unwrap_or(i64::MAX);
    if r.negative { -ms } else { ms }
}

/// Parse a Prometheus text timestamp: integer milliseconds with an optional sign.
#[inline]
pub(super) fn parse_prom_timestamp(tok: &str) -> Option<i64> {
    tok.parse().ok()
}

/// True when `v` is a finite whole number.
#[inline]
pub(super) fn is_integer(v: f64) -> bool {
    v.is_finite() && v.fract() == 0.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values() {
        for (s, v) in [
            ("1", 1.0),
            ("-0", -0.0),
            ("+17", 17.0),
            ("1.5", 1.5),
            ("1.", 1.0),
            (".5", 0.5),
            ("2.5901e-05", 2.5901e-05),
            ("1E3", 1000.0),
            ("1e+3", 1000.0),
            ("0000000000000000000000000000000000000000001.2e-1", 0.12),
            ("9223372036854775808", 9_223_372_036_854_775_808.0),
            ("123456789012345", 123_456_789_012_345.0),
            ("1234567890123456789", 1_234_567_890_123_456_789.0),
        ] {
            assert_eq!(parse_value(s), Some(v), "{s}");
        }
        for s in ["+Inf", "inf", "Infinity", "+INF"] {
            assert_eq!(parse_value(s), Some(f64::INFINITY), "{s}");
        }
        assert_eq!(parse_value("-Inf"), Some(f64::NEG_INFINITY));
        assert!(parse_value("NaN").is_some_and(f64::is_nan));
        assert!(parse_value("nan").is_some_and(f64::is_nan));
    }

    #[test]
    fn rejected_values() {
        for s in [
            "", "+", "-", ".", "e5", "1e", "1e+", "1_2", "0x1", "0x1p-3", "0b1", "0o1", "1 ", " 1",
            "1.1.1", "1z", "-NaN", "Infx", "1e5.5", "--1",
        ] {
            assert_eq!(parse_value(s).map(f64::to_bits), None, "{s:?}");
        }
    }

    #[test]
    fn om_timestamps_convert_exactly() {
        let ms = |s: &str| parse_om_timestamp(s).map(|t| t.ms);
        assert_eq!(ms("1"), Some(1000));
        assert_eq!(ms("000"), Some(0));
        assert_eq!(ms("1.1"), Some(1100));
        assert_eq!(ms("0.29"), Some(290));
        assert_eq!(ms("1700000000.123"), Some(1_700_000_000_123));
        assert_eq!(ms("1700000000.1239"), Some(1_700_000_000_123));
        assert_eq!(ms("1.5e3"), Some(1_500_000));
        assert_eq!(ms("15e-4"), Some(1));
        assert_eq!(ms("0.0000000001"), Some(0));
        assert_eq!(ms("-1.1"), Some(-1100));
        assert_eq!(ms("12345678901234567890.1234567890"), Some(i64::MAX));
        assert_eq!(ms("-1e99999999"), Some(-i64::MAX));
        assert_eq!(ms("1e-99999999"), Some(0));
        assert_eq!(ms("0e99999999"), Some(0));
        for bad in ["NaN", "Inf", "-Inf", "1_2", "0x1p-3", "z", "1z"] {
            assert_eq!(ms(bad), None, "{bad}");
        }
    }

    #[test]
    fn prom_timestamps_are_integers() {
        assert_eq!(
            parse_prom_timestamp("1395066363000"),
            Some(1_395_066_363_000)
        );
        assert_eq!(parse_prom_timestamp("-5"), Some(-5));
        assert_eq!(parse_prom_timestamp("1.5"), None);
        assert_eq!(parse_prom_timestamp("99999999999999999999"), None);
    }
}
