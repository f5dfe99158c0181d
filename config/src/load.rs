//! Finding and loading the configuration file.
//!
//! Order: `--config FILE` (the caller passes it), else `$OPSCOPE_CONFIG`, else
//! `$XDG_CONFIG_HOME/opscope/config.toml`, else `~/.config/opscope/config.toml`, else the
//! defaults. An explicitly named file must exist; a discovered one is used only if it exists.
//! Environment overrides (`OPSCOPE_<SECTION>_<KEY>`) apply in every case, also to the defaults.

use crate::check::{Checked, Diagnostic, Level, check};
use crate::types::Config;
use std::path::{Path, PathBuf};

/// A configuration ready to run with.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub config: Config,
    /// The file it came from; `None` for the defaults.
    pub path: Option<PathBuf>,
    /// Warnings found while checking (no errors: those make loading fail).
    pub warnings: Vec<Diagnostic>,
}

/// Why no configuration could be loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("cannot read configuration file {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{} error(s) in configuration {}:\n{}", .diagnostics.iter().filter(|d| d.level == Level::Error).count(), .path.display(), render_all(.path, .diagnostics))]
    Invalid {
        path: PathBuf,
        diagnostics: Vec<Diagnostic>,
    },
}

fn render_all(path: &Path, diags: &[Diagnostic]) -> String {
    let file = path.display().to_string();
    diags
        .iter()
        .map(|d| d.render(&file))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Which file to read: `explicit`, else `OPSCOPE_CONFIG`, else the XDG location if it exists.
/// `env` looks up environment variables; `exists` tells whether a path is a file.
pub fn config_path(
    explicit: Option<&Path>,
    env: &dyn Fn(&str) -> Option<String>,
    exists: &dyn Fn(&Path) -> bool,
) -> Option<PathBuf> {
    if let Some(p) = explicit {
        return Some(p.to_path_buf());
    }
    if let Some(p) = env("OPSCOPE_CONFIG").filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(p));
    }
    let base = env("XDG_CONFIG_HOME")
        .filter(|p| !p.is_empty())
        .map(PathBuf::from)
        .or_else(|| {
            env("HOME")
                .filter(|p| !p.is_empty())
                .map(|h| Path::new(&h).join(".config"))
        })?;
    let p = base.join("opscope").join("config.toml");
    exists(&p).then_some(p)
}

/// Load with the process environment. See [`load_with`].
pub fn load(explicit: Option<&Path>) -> Result<Loaded, LoadError> {
    load_with(explicit, &|k| std::env::var(k).ok())
}

/// Find, read and check the configuration; errors make it fail, warnings are returned.
pub fn load_with(
    explicit: Option<&Path>,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Loaded, LoadError> {
    let path = config_path(explicit, env, &|p| p.is_file());
    let src = match &path {
        Some(p) => std::fs::read_to_string(p).map_err(|source| LoadError::Read {
            path: p.clone(),
            source,
        })?,
        None => String::new(),
    };
    let Checked {
        config,
        diagnostics,
    } = check(&src, env);
    if diagnostics.iter().any(|d| d.level == Level::Error) {
        return Err(LoadError::Invalid {
            path: path.unwrap_or_else(|| PathBuf::from("<defaults>")),
            diagnostics,
        });
    }
    Ok(Loaded {
        config,
        path,
        warnings: diagnostics,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env_of(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |k| {
            pairs
                .iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| (*v).to_owned())
        }
    }

    #[test]
    fn path_order() {
        let yes = |_: &Path| true;
        let no = |_: &Path| false;
        let env = env_of(&[
            ("OPSCOPE_CONFIG", "/etc/o.toml"),
            ("XDG_CONFIG_HOME", "/x"),
            ("HOME", "/h"),
        ]);
        assert_eq!(
            config_path(Some(Path::new("a.toml")), &env, &no),
            Some(PathBuf::from("a.toml"))
        );
        assert_eq!(
            config_path(None, &env, &no),
            Some(PathBuf::from("/etc/o.toml"))
        );
        let env = env_of(&[("XDG_CONFIG_HOME", "/x"), ("HOME", "/h")]);
        assert_eq!(
            config_path(None, &env, &yes),
            Some(PathBuf::from("/x/opscope/config.toml"))
        );
        assert_eq!(config_path(None, &env, &no), None);
        let env = env_of(&[("HOME", "/h")]);
        assert_eq!(
            config_path(None, &env, &yes),
            Some(PathBuf::from("/h/.config/opscope/config.toml"))
        );
    }

    #[test]
    fn defaults_with_env_overrides() {
        let env = env_of(&[
            ("HOME", "/nonexistent-home-for-test"),
            ("OPSCOPE_SOURCES_INTERVAL", "5s"),
            ("OPSCOPE_LIMITS_MAX_SERIES", "1234"),
            (
                "OPSCOPE_SOURCES_SCRAPE",
                "http://a:9100/metrics, http://b:9100/metrics",
            ),
        ]);
        let l = load_with(None, &env).unwrap();
        assert_eq!(l.path, None);
        assert_eq!(l.config.sources.interval.0.as_secs(), 5);
        assert_eq!(l.config.limits.max_series, 1234);
        assert_eq!(l.config.sources.scrape.len(), 2);
    }

    #[test]
    fn bad_env_override_is_an_error_at_the_variable() {
        let env = env_of(&[
            ("HOME", "/nonexistent-home-for-test"),
            ("OPSCOPE_SOURCES_TIMEOUT", "soon"),
        ]);
        let Err(LoadError::Invalid { diagnostics, .. }) = load_with(None, &env) else {
            panic!("expected an invalid configuration");
        };
        assert_eq!(diagnostics.len(), 1);
        assert!(
            diagnostics[0].render("x").starts_with(
                "env OPSCOPE_SOURCES_TIMEOUT: error: sources.timeout: invalid duration"
            )
        );
    }

    #[test]
    fn missing_explicit_file_is_an_error() {
        let r = load_with(Some(Path::new("/nonexistent/opscope.toml")), &|_| None);
        assert!(matches!(r, Err(LoadError::Read { .. })));
    }
}
