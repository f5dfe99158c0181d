//! Secrets (webhook URLs, tokens): a type that never prints its value.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::path::PathBuf;

/// A secret value. `Debug`, `Display` and `Serialize` print `***`; read it with
/// [`Secret::expose`] only where it is used.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wrap a value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }
    /// The value itself. Never log it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl Serialize for Secret {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str("***")
    }
}

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(Secret)
    }
}

/// Where a secret comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SecretSource {
    /// Written in the configuration file.
    Literal(Secret),
    /// An environment variable's name.
    Env(String),
    /// A file holding the value (surrounding whitespace trimmed).
    File(PathBuf),
}

/// Why a secret could not be read. Messages never contain the value.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SecretError {
    #[error("environment variable {0} is not set")]
    MissingEnv(String),
    #[error("cannot read secret file {path}: {reason}")]
    File { path: PathBuf, reason: String },
    #[error("secret file {0} is empty")]
    EmptyFile(PathBuf),
    #[error("set exactly one of the secret's keys (the value, its `_env` or its `_file`)")]
    Ambiguous,
}

impl SecretSource {
    /// Read the secret; `env` looks up environment variables.
    pub fn resolve(&self, env: &dyn Fn(&str) -> Option<String>) -> Result<Secret, SecretError> {
        match self {
            SecretSource::Literal(s) => Ok(s.clone()),
            SecretSource::Env(var) => env(var)
                .filter(|v| !v.is_empty())
                .map(Secret)
                .ok_or_else(|| SecretError::MissingEnv(var.clone())),
            SecretSource::File(path) => {
                let text = std::fs::read_to_string(path).map_err(|e| SecretError::File {
                    path: path.clone(),
                    reason: e.to_string(),
                })?;
                let v = text.trim();
                if v.is_empty() {
                    Err(SecretError::EmptyFile(path.clone()))
                } else {
                    Ok(Secret(v.to_owned()))
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_printed() {
        let s = Secret::new("https://hooks.example/T000/B000/XXXX");
        assert_eq!(format!("{s}"), "***");
        assert_eq!(format!("{s:?}"), "***");
        let src = SecretSource::Literal(s.clone());
        assert!(!format!("{src:?}").contains("hooks"));
        assert_eq!(s.expose(), "https://hooks.example/T000/B000/XXXX");
    }

    #[test]
    fn resolve_env_and_missing() {
        let env = |k: &str| (k == "HOOK").then(|| "https://x".to_owned());
        assert_eq!(
            SecretSource::Env("HOOK".into())
                .resolve(&env)
                .unwrap()
                .expose(),
            "https://x"
        );
        assert_eq!(
            SecretSource::Env("NOPE".into()).resolve(&env),
            Err(SecretError::MissingEnv("NOPE".into()))
        );
        let missing = SecretSource::File("/nonexistent/opscope/secret".into()).resolve(&env);
        assert!(matches!(missing, Err(SecretError::File { .. })));
    }
}
