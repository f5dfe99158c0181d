//! Byte-level scanning shared by both dialects: line splitting, a cursor over one line,
//! metric and label names, label sets, quoted values and HELP escapes.
//!
//! Every position the cursor stops at is either the end of the line or an ASCII byte, so all
//! slices handed out are on UTF-8 character boundaries and borrow from the input.

use super::{Label, ParseError};
use std::borrow::Cow;

/// Splits a payload into `(1-based line number, line)` pairs on `\n`.
///
/// A final `\n` does not produce an empty last line; any other empty line is yielded.
pub(super) struct Lines<'a> {
    text: &'a str,
    pos: usize,
    line: usize,
}

impl<'a> Lines<'a> {
    pub(super) fn new(text: &'a str) -> Self {
        Lines {
            text,
            pos: 0,
            line: 0,
        }
    }

    /// Number of lines yielded so far.
    pub(super) fn lines_read(&self) -> usize {
        self.line
    }
}

impl<'a> Iterator for Lines<'a> {
    type Item = (usize, &'a str);

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        let rest = self.text.get(self.pos..).filter(|r| !r.is_empty())?;
        self.line += 1;
        // `str::find(char)` uses the word-at-a-time memchr of core.
        let line = match rest.find('\n') {
            Some(i) => {
                self.pos += i + 1;
                &rest[..i]
            }
            None => {
                self.pos = self.text.len();
                rest
            }
        };
        Some((self.line, line))
    }
}

/// Build a [`ParseError`].
pub(super) fn error(line: usize, reason: impl Into<String>) -> ParseError {
    ParseError {
        line,
        reason: reason.into(),
    }
}

const NAME_START: u8 = 1; // [a-zA-Z_:]
const NAME_CONT: u8 = 2; // [a-zA-Z0-9_:]
const LABEL_START: u8 = 4; // [a-zA-Z_]
const LABEL_CONT: u8 = 8; // [a-zA-Z0-9_]

/// Character classes of the ASCII bytes allowed in names.
static CLASS: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut c = 0;
    while c < 256 {
        let b = c as u8;
        let alpha = b.is_ascii_alphabetic() || b == b'_';
        if alpha {
            t[c] = NAME_START | NAME_CONT | LABEL_START | LABEL_CONT;
        } else if b.is_ascii_digit() {
            t[c] = NAME_CONT | LABEL_CONT;
        } else if b == b':' {
            t[c] = NAME_START | NAME_CONT;
        }
        c += 1;
    }
    t
};

/// A valid metric name: `[a-zA-Z_:][a-zA-Z0-9_:]*`.
pub fn is_metric_name(s: &str) -> bool {
    let mut b = s.bytes();
    b.next()
        .is_some_and(|c| CLASS[usize::from(c)] & NAME_START != 0)
        && b.all(|c| CLASS[usize::from(c)] & NAME_CONT != 0)
}

/// A valid label name: `[a-zA-Z_][a-zA-Z0-9_]*`.
pub fn is_label_name(s: &str) -> bool {
    let mut b = s.bytes();
    b.next()
        .is_some_and(|c| CLASS[usize::from(c)] & LABEL_START != 0)
        && b.all(|c| CLASS[usize::from(c)] & LABEL_CONT != 0)
}

/// True when every byte of `s` may appear inside a metric name (used for UNIT values).
pub(super) fn is_name_chars(s: &str) -> bool {
    s.bytes().all(|c| CLASS[usize::from(c)] & NAME_CONT != 0)
}

/// Which grammar the label-set scanner follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Dialect {
    /// Prometheus 0.0.4: blanks allowed around tokens, trailing comma allowed.
    Lenient,
    /// OpenMetrics 1.0: no blanks inside `{...}`, no trailing comma.
    Strict,
}

/// A cursor over one line.
pub(super) struct Cursor<'a> {
    text: &'a str,
    pos: usize,
    line: usize,
}

impl<'a> Cursor<'a> {
    pub(super) fn new(text: &'a str, line: usize) -> Self {
        Cursor { text, pos: 0, line }
    }

    /// The 1-based line number, for errors.
    pub(super) fn line(&self) -> usize {
        self.line
    }

    #[inline]
    pub(super) fn peek(&self) -> Option<u8> {
        self.text.as_bytes().get(self.pos).copied()
    }

    #[inline]
    pub(super) fn is_end(&self) -> bool {
        self.pos >= self.text.len()
    }

    /// Advance past one byte that the caller knows is ASCII.
    #[inline]
    pub(super) fn bump(&mut self) {
        self.pos += 1;
    }

    /// Consume `b` if it is next.
    #[inline]
    pub(super) fn eat(&mut self, b: u8) -> bool {
        if self.peek() == Some(b) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    /// Consume `s` if the line continues with it.
    pub(super) fn eat_str(&mut self, s: &str) -> bool {
        if self.rest().starts_with(s) {
            self.pos += s.len();
            true
        } else {
            false
        }
    }

    /// The unread rest of the line.
    #[inline]
    pub(super) fn rest(&self) -> &'a str {
        self.text.get(self.pos..).unwrap_or("")
    }

    /// Skip spaces and tabs; true when at least one was skipped.
    #[inline]
    pub(super) fn skip_blanks(&mut self) -> bool {
        let start = self.pos;
        let b = self.text.as_bytes();
        while self.pos < b.len() && (b[self.pos] == b' ' || b[self.pos] == b'\t') {
            self.pos += 1;
        }
        self.pos > start
    }

    /// Read up to (not including) the next space or the end of the line.
    #[inline]
    pub(super) fn token_until_space(&mut self) -> &'a str {
        let start = self.pos;
        let b = self.text.as_bytes();
        while self.pos < b.len() && b[self.pos] != b' ' {
            self.pos += 1;
        }
        &self.text[start..self.pos]
    }

    /// Read up to (not including) the next space, tab or the end of the line.
    #[inline]
    pub(super) fn token_until_blank(&mut self) -> &'a str {
        let start = self.pos;
        let b = self.text.as_bytes();
        while self.pos < b.len() && b[self.pos] != b' ' && b[self.pos] != b'\t' {
            self.pos += 1;
        }
        &self.text[start..self.pos]
    }

    #[inline]
    fn ident(&mut self, start_class: u8, cont_class: u8) -> Option<&'a str> {
        let b = self.text.as_bytes();
        let start = self.pos;
        let first = *b.get(start)?;
        if CLASS[usize::from(first)] & start_class == 0 {
            return None;
        }
        let mut i = start + 1;
        while i < b.len() && CLASS[usize::from(b[i])] & cont_class != 0 {
            i += 1;
        }
        self.pos = i;
        Some(&self.text[start..i])
    }

    /// Read a metric name (`[a-zA-Z_:][a-zA-Z0-9_:]*`), or `None` without moving.
    #[inline]
    pub(super) fn metric_name(&mut self) -> Option<&'a str> {
        self.ident(NAME_START, NAME_CONT)
    }

    /// Read a label name (`[a-zA-Z_][a-zA-Z0-9_]*`), or `None` without moving.
    #[inline]
    pub(super) fn label_name(&mut self) -> Option<&'a str> {
        self.ident(LABEL_START, LABEL_CONT)
    }

    /// Describe what is at the cursor, for error messages.
    pub(super) fn found(&self) -> String {
        match self.rest().chars().next() {
            None => "end of line".to_owned(),
            Some(c) => format!("{c:?}"),
        }
    }

    /// An error on this line.
    pub(super) fn error(&self, reason: impl Into<String>) -> ParseError {
        error(self.line, reason)
    }

    /// Parse a label set; the cursor is just past `{` and ends just past `}`.
    ///
    /// Labels are appended to `out` in input order; duplicate names are rejected.
    pub(super) fn labels(
        &mut self,
        dialect: Dialect,
        what: &str,
        out: &mut Vec<Label<'a>>,
    ) -> Result<(), ParseError> {
        let lenient = dialect == Dialect::Lenient;
        let first = out.len();
        let mut after_comma = false;
        loop {
            if lenient {
                self.skip_blanks();
            }
            if self.eat(b'}') {
                if after_comma && !lenient {
                    return Err(self.error(format!("trailing ',' before '}}' in {what}")));
                }
                return Ok(());
            }
            let Some(name) = self.label_name() else {
                return Err(if self.is_end() {
                    self.error(format!("unterminated {what}: expected '}}'"))
                } else {
                    self.error(format!(
                        "expected a label name in {what}, found {}",
                        self.found()
                    ))
                });
            };
            if lenient {
                self.skip_blanks();
            }
            if !self.eat(b'=') {
                return Err(self.error(format!(
                    "expected '=' after label name {name:?}, found {}",
                    self.found()
                )));
            }
            if lenient {
                self.skip_blanks();
            }
            if !self.eat(b'"') {
                return Err(self.error(format!(
                    "expected '\"' to open the value of label {name:?}, found {}",
                    self.found()
                )));
            }
            let value = self.quoted_value(name)?;
            if out[first..].iter().any(|l| l.name == name) {
                return Err(self.error(format!("duplicate label {name:?} in {what}")));
            }
            out.push(Label { name, value });
            if lenient {
                self.skip_blanks();
            }
            if self.eat(b',') {
                after_comma = true;
            } else if self.eat(b'}') {
                return Ok(());
            } else {
                return Err(self.error(format!(
                    "expected ',' or '}}' after the value of label {name:?}, found {}",
                    self.found()
                )));
            }
        }
    }

    /// Read a quoted label value; the cursor is just past the opening `"` and ends past the
    /// closing one. Borrowed unless the value contains a backslash.
    ///
    /// Escapes: `\\`, `\"` and `\n`; any other backslash is kept literally.
    fn quoted_value(&mut self, label: &str) -> Result<Cow<'a, str>, ParseError> {
        let text = self.text;
        let b = text.as_bytes();
        let start = self.pos;
        let mut i = start;
        while i < b.len() {
            match b[i] {
                b'"' => {
                    self.pos = i + 1;
                    return Ok(Cow::Borrowed(&text[start..i]));
                }
                b'\\' => break,
                _ => i += 1,
            }
        }
        let mut owned = String::with_capacity(i - start + 8);
        let mut run = start;
        while i < b.len() {
            match b[i] {
                b'"' => {
                    owned.push_str(&text[run..i]);
                    self.pos = i + 1;
                    return Ok(Cow::Owned(owned));
                }
                b'\\' => {
                    owned.push_str(&text[run..i]);
                    let unescaped = match b.get(i + 1) {
                        Some(b'\\') => '\\',
                        Some(b'"') => '"',
                        Some(b'n') => '\n',
                        Some(_) => {
                            // Unknown escape: keep the backslash, the next character follows.
                            owned.push('\\');
                            i += 1;
                            run = i;
                            continue;
                        }
                        None => break,
                    };
                    owned.push(unescaped);
                    i += 2;
                    run = i;
                }
                _ => i += 1,
            }
        }
        Err(self.error(format!(
            "unterminated value of label {label:?}: missing closing '\"'"
        )))
    }
}

/// Undo HELP escapes: `\\` and `\n`, plus `\"` when `quote` (OpenMetrics). Any other
/// backslash, including a trailing one, is kept literally. Borrowed when nothing changes.
pub(super) fn unescape_help(s: &str, quote: bool) -> Cow<'_, str> {
    let b = s.as_bytes();
    let Some(first) = b.iter().position(|&c| c == b'\\') else {
        return Cow::Borrowed(s);
    };
    let mut out = String::with_capacity(s.len());
    let mut run = 0;
    let mut i = first;
    while i < b.len() {
        if b[i] != b'\\' {
            i += 1;
            continue;
        }
        let unescaped = match b.get(i + 1) {
            Some(b'\\') => '\\',
            Some(b'n') => '\n',
            Some(b'"') if quote => '"',
            _ => {
                i += 1;
                continue;
            }
        };
        out.push_str(&s[run..i]);
        out.push(unescaped);
        i += 2;
        run = i;
    }
    out.push_str(&s[run..]);
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(s: &str, d: Dialect) -> Result<Vec<(String, String)>, ParseError> {
        let mut c = Cursor::new(s, 7);
        assert!(c.eat(b'{'));
        let mut out = Vec::new();
        c.labels(d, "label set", &mut out)?;
        Ok(out
            .into_iter()
            .map(|l| (l.name.to_owned(), l.value.into_owned()))
            .collect())
    }

    #[test]
    fn lines_split_like_the_formats_mean() {
        let v: Vec<_> = Lines::new("a\n\nb\n").collect();
        assert_eq!(v, vec![(1, "a"), (2, ""), (3, "b")]);
        let v: Vec<_> = Lines::new("a\nb").collect();
        assert_eq!(v, vec![(1, "a"), (2, "b")]);
        assert_eq!(Lines::new("").next(), None);
    }

    #[test]
    fn names() {
        assert!(is_name_chars("a:b_c9"));
        assert!(is_metric_name(":a_b9") && !is_metric_name("9a") && !is_metric_name(""));
        assert!(is_label_name("_a9") && !is_label_name("a:b") && !is_label_name("9"));
        assert!(!is_name_chars("a-b"));
        assert_eq!(Cursor::new("9a", 1).metric_name(), None);
        let mut c = Cursor::new("ab:c{", 1);
        assert_eq!(c.metric_name(), Some("ab:c"));
        let mut c = Cursor::new("ab:c", 1);
        assert_eq!(c.label_name(), Some("ab"));
        let mut c = Cursor::new("é", 1);
        assert_eq!(c.metric_name(), None);
        assert_eq!(c.found(), "'é'");
    }

    #[test]
    fn label_values_borrow_unless_escaped() {
        let mut c = Cursor::new("{a=\"plain\",b=\"x\\\"y\"}", 1);
        c.bump();
        let mut out = Vec::new();
        c.labels(Dialect::Strict, "label set", &mut out).unwrap();
        assert!(matches!(out[0].value, Cow::Borrowed("plain")));
        assert!(matches!(&out[1].value, Cow::Owned(s) if s == "x\"y"));
        assert!(c.is_end());
    }

    #[test]
    fn label_escapes() {
        let got = labels(
            r#"{a="\\",b="\n",c="\"",d="\z",e="é\\\"\n"}"#,
            Dialect::Strict,
        )
        .unwrap();
        let vals: Vec<&str> = got.iter().map(|(_, v)| v.as_str()).collect();
        assert_eq!(vals, vec!["\\", "\n", "\"", "\\z", "é\\\"\n"]);
    }

    #[test]
    fn label_errors_name_the_label() {
        let e = labels(r#"{code 200}"#, Dialect::Strict).unwrap_err();
        assert_eq!(
            e.to_string(),
            r#"line 7: expected '=' after label name "code", found ' '"#
        );
        let e = labels(r#"{code="200}"#, Dialect::Strict).unwrap_err();
        assert!(
            e.reason.contains("unterminated value of label \"code\""),
            "{e}"
        );
        let e = labels(r#"{a="1",a="2"}"#, Dialect::Lenient).unwrap_err();
        assert!(e.reason.contains("duplicate label \"a\""), "{e}");
        let e = labels(r#"{a="1"b="2"}"#, Dialect::Strict).unwrap_err();
        assert!(e.reason.contains("expected ',' or '}'"), "{e}");
        assert!(labels(r#"{a="1",}"#, Dialect::Strict).is_err());
        assert!(labels(r#"{a="1",,b="2"}"#, Dialect::Lenient).is_err());
        assert!(labels(r#"{a=1}"#, Dialect::Lenient).is_err());
        assert!(labels(r#"{a="1"#, Dialect::Lenient).is_err());
        assert!(labels(r#"{a="1","#, Dialect::Lenient).is_err());
    }

    #[test]
    fn lenient_label_sets() {
        let got = labels(r#"{ a = "1" , b="2", }"#, Dialect::Lenient).unwrap();
        assert_eq!(
            got,
            vec![("a".into(), "1".into()), ("b".into(), "2".into())]
        );
        assert!(labels(r#"{ a="1"}"#, Dialect::Strict).is_err());
        assert_eq!(labels("{}", Dialect::Strict).unwrap(), vec![]);
    }

    #[test]
    fn help_escapes() {
        assert!(matches!(
            unescape_help("plain", true),
            Cow::Borrowed("plain")
        ));
        assert_eq!(unescape_help(r"a\\b\nc\td\", true), "a\\b\nc\\td\\");
        assert_eq!(unescape_help(r#"q\"x"#, true), "q\"x");
        assert_eq!(unescape_help(r#"q\"x"#, false), "q\\\"x");
        assert_eq!(unescape_help(r"\\\n", false), "\\\n");
    }
}
