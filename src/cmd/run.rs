//! `opscope run`: headless, the engine on the named sources (or a recording) plus the HTTP
//! API, until Ctrl-C.

use super::{init_logs, load_config, load_replay, play, progress_bar, runtime};
use crate::sources;
use anyhow::{Context, Result};
use clap::Args;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

#[derive(Args)]
pub struct RunArgs {
    /// Address of the HTTP API (a non-loopback address requires a token) [default: the
    /// config's `api.listen`, 127.0.0.1:8080]
    #[arg(long, value_name = "ADDR")]
    listen: Option<SocketAddr>,
    /// Environment variable holding the API bearer token (default: the config's `[api]`
    /// token, else OPSCOPE_API_TOKEN if set)
    #[arg(long, value_name = "NAME", conflicts_with = "api_token_file")]
    api_token_env: Option<String>,
    /// File holding the API bearer token
    #[arg(long, value_name = "FILE")]
    api_token_file: Option<PathBuf>,
    #[command(flatten)]
    sources: sources::SourceArgs,
}

/// `opscope run`: engine + API, headless, until Ctrl-C.
pub fn run(a: RunArgs, config: Option<&Path>) -> Result<()> {
    init_logs(false)?;
    let config = &load_config(config)?;
    let listen = a.listen.unwrap_or(config.api.listen);
    let rt = runtime()?;
    if let Some(path) = &a.sources.replay {
        return rt.block_on(run_replay(path, a.sources.speed, listen, config));
    }
    let token = api_token(
        a.api_token_env.as_deref(),
        a.api_token_file.as_deref(),
        &config.api,
    )?;
    let plan = a.sources.plan(config)?;
    rt.block_on(async {
        let started = sources::start(&plan, config).await?;
        let (mut engine, sim) = (started.engine, started.sim);
        let annotations = web::Annotations::default();
        engine.add_enricher(Box::new(annotations.feed()));
        let (tx, rx) = tokio::sync::watch::channel(Arc::new(analytics::model::Snapshot::default()));
        let has_token = token.is_some();
        let server = web::serve(
            listen,
            web::ApiState {
                annotations,
                token,
                ..web::ApiState::new(rx)
            },
        )
        .await
        .context("starting the HTTP API")?;
        eprintln!(
            "opscope running on {} every {}; web console on http://{}/ (API under /api/v1){}",
            started.describe,
            humantime::format_duration(plan.interval),
            server.addr,
            if has_token {
                ", annotations: POST /api/v1/annotations"
            } else {
                " (no token: annotations disabled; set OPSCOPE_API_TOKEN)"
            }
        );
        let engine_task = tokio::spawn(opscope_engine::run(engine, plan.interval, tx));
        tokio::signal::ctrl_c()
            .await
            .context("waiting for Ctrl-C")?;
        engine_task.abort();
        drop(server);
        if let Some(s) = sim {
            s.shutdown().await;
        }
        Ok(())
    })
}

/// `opscope run --replay FILE`: the API serves the recording's snapshots as it plays, at
/// `speed`; annotations are refused (the recording's change events are fixed).
async fn run_replay(
    path: &Path,
    speed: f64,
    listen: SocketAddr,
    config: &opscope_config::Config,
) -> Result<()> {
    let (replay, cfg) = load_replay(path, config)?;
    let times = replay.times();
    let (cycles, span_s) = (times.len(), (times[times.len() - 1] - times[0]) / 1000);
    let mut playing = play(replay, cfg, speed);
    let server = web::serve(
        listen,
        web::ApiState {
            replay: Some(Arc::from(path.display().to_string())),
            replay_control: Some(web::ReplayControl {
                commands: playing.commands.clone(),
                status: playing.status.clone(),
            }),
            ..web::ApiState::new(playing.snapshots.clone())
        },
    )
    .await
    .context("starting the HTTP API")?;
    eprintln!(
        "opscope replaying {} ({cycles} cycles, x{speed}); web console on http://{}/ \
         (annotations off while replaying)",
        path.display(),
        server.addr
    );
    let bar = progress_bar(
        u64::try_from(span_s).unwrap_or(0).max(1),
        "replaying",
        "s recorded",
    );
    let ctrl_c = tokio::signal::ctrl_c();
    tokio::pin!(ctrl_c);
    loop {
        tokio::select! {
            changed = playing.status.changed() => {
                if changed.is_err() {
                    break;
                }
                let st = *playing.status.borrow_and_update();
                bar.set_position(u64::try_from((st.position_ms - st.start_ms) / 1000).unwrap_or(0));
                if st.finished && !bar.is_finished() {
                    bar.finish_and_clear();
                    eprintln!("replay finished; serving its last state until Ctrl-C");
                }
            }
            _ = &mut ctrl_c => break,
        }
    }
    bar.finish_and_clear();
    drop(server);
    Ok(())
}

/// The API token from a file or an environment variable; never printed.
fn api_token(
    env: Option<&str>,
    file: Option<&Path>,
    config: &opscope_config::Api,
) -> Result<Option<Arc<str>>> {
    let raw = match (env, file) {
        (_, Some(f)) => Some(
            std::fs::read_to_string(f)
                .with_context(|| format!("--api-token-file {}", f.display()))?,
        ),
        (Some(name), None) => Some(
            std::env::var(name)
                .with_context(|| format!("--api-token-env {name}: the variable is not set"))?,
        ),
        (None, None) => match config.token_source().context("the config's [api] token")? {
            Some(src) => match src.resolve(&|k| std::env::var(k).ok()) {
                Ok(t) => Some(t.expose().to_owned()),
                // As `config check` says: an unset variable leaves annotations off.
                Err(e @ opscope_config::SecretError::MissingEnv(_)) => {
                    tracing::warn!("[api] token: {e}; annotations are refused");
                    None
                }
                Err(e) => return Err(e).context("the config's [api] token"),
            },
            None => std::env::var("OPSCOPE_API_TOKEN").ok(),
        },
    };
    match raw.map(|t| t.trim().to_owned()) {
        Some(t) if t.chars().count() < opscope_config::MIN_TOKEN_CHARS => anyhow::bail!(
            "the API token must be at least {} characters",
            opscope_config::MIN_TOKEN_CHARS
        ),
        Some(t) => Ok(Some(Arc::from(t))),
        None => Ok(None),
    }
}
