//! Shell-style globs for entity names: `*` (any run), `?` (one character), `[abc]`, `[a-z]`,
//! `[!a-z]`. A pattern without metacharacters matches exactly.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

/// A validated glob pattern.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Glob {
    src: String,
    toks: Vec<Tok>,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Tok {
    Lit(char),
    Any,
    Star,
    Class {
        negated: bool,
        ranges: Vec<(char, char)>,
    },
}

impl Glob {
    /// Compile a pattern; errors on an empty pattern, an unclosed or empty `[...]` and a
    /// reversed range like `[z-a]`.
    pub fn new(pattern: &str) -> Result<Self, String> {
        if pattern.is_empty() {
            return Err("empty name pattern".into());
        }
        let chars: Vec<char> = pattern.chars().collect();
        let mut toks = Vec::new();
        let mut i = 0;
        while i < chars.len() {
            match chars[i] {
                '*' => {
                    if toks.last() != Some(&Tok::Star) {
                        toks.push(Tok::Star);
                    }
                    i += 1;
                }
                '?' => {
                    toks.push(Tok::Any);
                    i += 1;
                }
                '[' => {
                    let start = i;
                    i += 1;
                    let negated = matches!(chars.get(i), Some('!' | '^'));
                    if negated {
                        i += 1;
                    }
                    let mut ranges = Vec::new();
                    let mut closed = false;
                    while i < chars.len() {
                        let c = chars[i];
                        if c == ']' && !ranges.is_empty() {
                            closed = true;
                            i += 1;
                            break;
                        }
                        if chars.get(i + 1) == Some(&'-')
                            && chars.get(i + 2).is_some_and(|&e| e != ']')
                        {
                            let end = chars[i + 2];
                            if end < c {
                                return Err(format!(
                                    "bad glob \"{pattern}\": reversed range {c}-{end}"
                                ));
                            }
                            ranges.push((c, end));
                            i += 3;
                        } else {
                            ranges.push((c, c));
                            i += 1;
                        }
                    }
                    if !closed {
                        return Err(format!(
                            "bad glob \"{pattern}\": '[' at position {} is never closed",
                            start + 1
                        ));
                    }
                    toks.push(Tok::Class { negated, ranges });
                }
                ']' => return Err(format!("bad glob \"{pattern}\": ']' without '['")),
                c => {
                    toks.push(Tok::Lit(c));
                    i += 1;
                }
            }
        }
        Ok(Self {
            src: pattern.to_owned(),
            toks,
        })
    }

    /// The pattern as written.
    pub fn as_str(&self) -> &str {
        &self.src
    }

    /// True when the pattern has no metacharacters.
    pub fn is_literal(&self) -> bool {
        self.toks.iter().all(|t| matches!(t, Tok::Lit(_)))
    }

    /// Whether `s` matches the whole pattern.
    pub fn matches(&self, s: &str) -> bool {
        let s: Vec<char> = s.chars().collect();
        // Iterative matcher with single-star backtracking (linear in practice).
        let (mut p, mut i) = (0usize, 0usize);
        let mut star: Option<(usize, usize)> = None;
        while i < s.len() {
            let step = match self.toks.get(p) {
                Some(Tok::Lit(c)) => *c == s[i],
                Some(Tok::Any) => true,
                Some(Tok::Class { negated, ranges }) => {
                    ranges.iter().any(|&(a, b)| a <= s[i] && s[i] <= b) != *negated
                }
                Some(Tok::Star) => {
                    star = Some((p, i));
                    p += 1;
                    continue;
                }
                None => false,
            };
            if step {
                p += 1;
                i += 1;
            } else if let Some((sp, si)) = star {
                p = sp + 1;
                i = si + 1;
                star = Some((sp, si + 1));
            } else {
                return false;
            }
        }
        self.toks[p..].iter().all(|t| *t == Tok::Star)
    }
}

impl fmt::Display for Glob {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.src)
    }
}

impl Serialize for Glob {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.src)
    }
}

impl<'de> Deserialize<'de> for Glob {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Glob::new(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn m(p: &str, s: &str) -> bool {
        Glob::new(p).unwrap().matches(s)
    }

    #[test]
    fn matching() {
        assert!(m("checkout*", "checkoutservice"));
        assert!(m("checkout*", "checkout"));
        assert!(!m("checkout*", "cartservice"));
        assert!(m("*service", "cartservice"));
        assert!(m("c?rt*", "cartservice"));
        assert!(m("[a-c]*", "cart") && !m("[a-c]*", "email"));
        assert!(m("[!a-c]*", "email") && !m("[!a-c]*", "cart"));
        assert!(m("a*b*c", "aXXbYYc") && !m("a*b*c", "aXXbYY"));
        assert!(m("frontend", "frontend") && !m("frontend", "frontend2"));
        assert!(Glob::new("frontend").unwrap().is_literal());
    }

    #[test]
    fn bad_patterns() {
        assert!(Glob::new("").is_err());
        assert!(Glob::new("check[out").unwrap_err().contains("never closed"));
        assert!(Glob::new("a]").is_err());
        assert!(Glob::new("[z-a]").unwrap_err().contains("reversed"));
    }

    proptest! {
        #[test]
        fn literal_matches_itself_only(s in "[a-z0-9-]{1,12}", t in "[a-z0-9-]{1,12}") {
            let g = Glob::new(&s).unwrap();
            prop_assert!(g.matches(&s));
            prop_assert_eq!(g.matches(&t), s == t);
        }

        #[test]
        fn star_prefix(pre in "[a-z]{0,6}", rest in "[a-z0-9]{0,8}") {
            let g = Glob::new(&format!("{pre}*")).unwrap();
            let matched = g.matches(&format!("{pre}{rest}"));
            prop_assert!(matched);
        }
    }
}
