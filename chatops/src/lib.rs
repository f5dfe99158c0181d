//! chatops
