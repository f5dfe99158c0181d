//! `opscope detect`: score a `timestamp,value` CSV with the per-signal detector that runs live
//! (`detectors::SignalDetector`, generic configuration).

use super::init_logs;
use anyhow::Result;
use clap::Args;
use std::path::PathBuf;

/// Arguments of `opscope detect`.
#[derive(Args)]
pub struct DetectArgs {
    /// Input CSV with `timestamp` (YYYY-MM-DD HH:MM:SS) and `value` columns
    #[arg(long)]
    input: PathBuf,
    /// Output CSV
    #[arg(long)]
    output: PathBuf,
}

/// Run `opscope detect`.
pub fn run(a: DetectArgs) -> Result<()> {
    init_logs(false)?;
    crate::nab::detect(&a.input, &a.output)
}
