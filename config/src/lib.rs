//! The opscope configuration file (TOML): sources, intervals, retention, limits, SLOs, rules
//! and notifiers; loading with environment overrides and validation with line numbers.
//!
//! ```
//! let checked = opscope_config::check("[sources]\ninterval = \"5s\"\n", &|_| None);
//! assert!(!checked.has_errors());
//! assert_eq!(checked.config.sources.interval.0.as_secs(), 5);
//! ```

pub mod check;
pub mod glob;
pub mod load;
pub mod secret;
pub mod types;

pub use check::{Checked, Diagnostic, Level, Location, check, summary};
pub use glob::Glob;
pub use load::{LoadError, Loaded, config_path, load, load_with};
pub use secret::{Secret, SecretError, SecretSource};
pub use types::*;
