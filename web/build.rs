//! Builds the web console's static assets and embeds them in the server:
//!
//! - the stylesheet (`ui/style.css`);
//! - the hydration bundle: `opscope-webui` compiled for `wasm32-unknown-unknown` with the
//!   `hydrate` feature (a nested `cargo build` into its own target directory, beside the outer
//!   one, with the `wasm-ui` profile for release builds and `wasm-ui-dev` otherwise), then its JS glue generated in process by
//!   `wasm-bindgen-cli-support`, pinned to the lockfile's `wasm-bindgen`.
//!
//! Every file gets a content-hashed name and a gzip copy. Cargo reruns this only when the UI's
//! sources (or the model's and layout's) change. If the wasm target is missing or the bundle
//! fails to build, the server is built without it (pages are server-rendered only, not live)
//! and a warning says why; `OPSCOPE_WEB_BUNDLE=skip` skips it on purpose and
//! `OPSCOPE_WEB_BUNDLE=require` turns the warning into an error (CI).

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

const WASM_TARGET: &str = "wasm32-unknown-unknown";

/// The bundle's profile: small for release builds, quick to rebuild for debug ones.
fn profile() -> &'static str {
    if std::env::var("PROFILE").is_ok_and(|p| p == "release") {
        "wasm-ui"
    } else {
        "wasm-ui-dev"
    }
}

fn main() {
    let manifest = PathBuf::from(env("CARGO_MANIFEST_DIR"));
    let out = PathBuf::from(env("OUT_DIR"));
    for p in [
        "ui/src",
        "ui/Cargo.toml",
        "ui/style.css",
        "../model/src",
        "../model/Cargo.toml",
        "../layout/src",
        "../layout/Cargo.toml",
        "../Cargo.lock",
    ] {
        println!("cargo:rerun-if-changed={p}");
    }
    println!("cargo:rerun-if-env-changed=OPSCOPE_WEB_BUNDLE");

    let mut assets: Vec<Asset> = Vec::new();
    let css = std::fs::read(manifest.join("ui/style.css")).expect("web/ui/style.css");
    assets.push(Asset::new("style", "css", "text/css; charset=utf-8", css));

    let mode = std::env::var("OPSCOPE_WEB_BUNDLE").unwrap_or_default();
    let bundle = if mode == "skip" {
        Err("OPSCOPE_WEB_BUNDLE=skip".to_owned())
    } else {
        build_bundle(&manifest, &out)
    };
    let (js, wasm) = match bundle {
        Ok(files) => {
            let mut js = None;
            let mut wasm = None;
            for (rel, bytes) in files {
                if rel == "opscope_webui.js" {
                    let a = Asset::new("opscope-ui", "js", "text/javascript; charset=utf-8", bytes);
                    js = Some(a.name.clone());
                    assets.push(a);
                } else if rel == "opscope_webui_bg.wasm" {
                    let a = Asset::new("opscope-ui", "wasm", "application/wasm", bytes);
                    wasm = Some(a.name.clone());
                    assets.push(a);
                } else if rel.ends_with(".js") {
                    // wasm-bindgen snippets keep their relative path next to the glue.
                    assets.push(Asset {
                        name: rel.clone(),
                        mime: "text/javascript; charset=utf-8",
                        bytes,
                    });
                }
            }
            (js, wasm)
        }
        Err(why) => {
            if mode == "require" {
                panic!("the web console's hydration bundle did not build: {why}");
            }
            println!(
                "cargo:warning=web console without its browser bundle (pages are server-rendered only, not live): {why}"
            );
            (None, None)
        }
    };

    let mut code = String::from(
        "/// The embedded assets: (name, content type, bytes, gzip bytes).\npub static ASSETS: &[(&str, &str, &[u8], &[u8])] = &[\n",
    );
    for (i, a) in assets.iter().enumerate() {
        let raw = out.join(format!("asset-{i}"));
        let gz = out.join(format!("asset-{i}.gz"));
        std::fs::write(&raw, &a.bytes).expect("write asset");
        std::fs::write(&gz, gzip(&a.bytes)).expect("write gzip asset");
        let _ = writeln!(
            code,
            "    ({:?}, {:?}, include_bytes!({:?}), include_bytes!({:?})),",
            a.name,
            a.mime,
            raw.display().to_string(),
            gz.display().to_string()
        );
    }
    code.push_str("];\n");
    let _ = writeln!(
        code,
        "/// The stylesheet's hashed name.\npub const CSS: &str = {:?};",
        assets[0].name
    );
    let _ = writeln!(
        code,
        "/// The hydration glue's hashed name, when built.\npub const JS: Option<&str> = {js:?};"
    );
    let _ = writeln!(
        code,
        "/// The hydration wasm's hashed name, when built.\npub const WASM: Option<&str> = {wasm:?};"
    );
    std::fs::write(out.join("assets.rs"), code).expect("write assets.rs");
}

fn env(k: &str) -> String {
    std::env::var(k).unwrap_or_else(|_| panic!("{k} is not set (run by cargo)"))
}

struct Asset {
    name: String,
    mime: &'static str,
    bytes: Vec<u8>,
}

impl Asset {
    fn new(stem: &str, ext: &str, mime: &'static str, bytes: Vec<u8>) -> Self {
        Self {
            name: format!("{stem}-{:016x}.{ext}", fnv1a(&bytes)),
            mime,
            bytes,
        }
    }
}

/// FNV-1a, 64 bits: enough to tell versions of one file apart in a cache.
fn fnv1a(b: &[u8]) -> u64 {
    b.iter().fold(0xcbf2_9ce4_8422_2325, |h, &x| {
        (h ^ u64::from(x)).wrapping_mul(0x0100_0000_01b3)
    })
}

fn gzip(b: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    e.write_all(b).expect("gzip in memory");
    e.finish().expect("gzip in memory")
}

/// The target directory the outer build uses (`OUT_DIR` is `<target>/<profile>/build/<pkg>/out`,
/// or `<target>/<triple>/<profile>/build/...` when cross-compiling).
fn outer_target_dir(out: &Path) -> PathBuf {
    if let Ok(t) = std::env::var("CARGO_TARGET_DIR") {
        return PathBuf::from(t);
    }
    out.ancestors()
        .find(|p| p.file_name().is_some_and(|n| n == "build"))
        .and_then(|b| b.parent()?.parent())
        .map(Path::to_path_buf)
        .unwrap_or_else(|| out.join("wasm"))
}

/// Compile the UI crate for the browser and generate its glue; the generated files by path.
fn build_bundle(manifest: &Path, out: &Path) -> Result<Vec<(String, Vec<u8>)>, String> {
    let workspace = manifest
        .parent()
        .ok_or("web/ has no parent directory")?
        .to_path_buf();
    let target_dir = outer_target_dir(out).join("wasm-ui");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(&workspace)
        .args([
            "build",
            "--lib",
            "-p",
            "opscope-webui",
            "--features",
            "hydrate",
        ])
        .args(["--target", WASM_TARGET, "--profile", profile()])
        .arg("--target-dir")
        .arg(&target_dir);
    // Nothing of the outer build's settings may leak in: its target, flags, the clippy
    // wrapper, the build-script variables.
    for (k, _) in std::env::vars_os() {
        let Some(k) = k.to_str() else { continue };
        let outer = (k.starts_with("CARGO_") && k != "CARGO_HOME" && k != "CARGO_MAKEFLAGS")
            || k.starts_with("RUSTC")
            || k.starts_with("DEP_")
            || matches!(
                k,
                "RUSTFLAGS"
                    | "RUSTDOC"
                    | "TARGET"
                    | "HOST"
                    | "OUT_DIR"
                    | "OPT_LEVEL"
                    | "PROFILE"
                    | "DEBUG"
                    | "NUM_JOBS"
            );
        if outer {
            cmd.env_remove(k);
        }
    }
    cmd.env("CARGO_TERM_COLOR", "never");
    let status = cmd
        .output()
        .map_err(|e| format!("running cargo for the wasm build: {e}"))?;
    if !status.status.success() {
        let err = String::from_utf8_lossy(&status.stderr);
        let tail: Vec<&str> = err.lines().rev().take(12).collect();
        let tail: Vec<&str> = tail.into_iter().rev().collect();
        return Err(format!(
            "cargo build --target {WASM_TARGET} -p opscope-webui failed{}:\n{}",
            if err.contains("target may not be installed") {
                " (rustup target add wasm32-unknown-unknown)"
            } else {
                ""
            },
            tail.join("\n")
        ));
    }
    let wasm = target_dir
        .join(WASM_TARGET)
        .join(profile())
        .join("opscope_webui.wasm");
    let gen_dir = out.join("pkg");
    let _ = std::fs::remove_dir_all(&gen_dir);
    wasm_bindgen_cli_support::Bindgen::new()
        .input_path(&wasm)
        .web(true)
        .map_err(|e| format!("wasm-bindgen: {e}"))?
        .typescript(false)
        .generate(&gen_dir)
        .map_err(|e| format!("wasm-bindgen on {}: {e:#}", wasm.display()))?;
    let mut files = Vec::new();
    collect(&gen_dir, &gen_dir, &mut files)?;
    Ok(files)
}

fn collect(root: &Path, dir: &Path, out: &mut Vec<(String, Vec<u8>)>) -> Result<(), String> {
    let rd = std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    for entry in rd {
        let p = entry.map_err(|e| e.to_string())?.path();
        if p.is_dir() {
            collect(root, &p, out)?;
        } else {
            let rel = p
                .strip_prefix(root)
                .map_err(|e| e.to_string())?
                .to_string_lossy()
                .replace('\\', "/");
            let bytes = std::fs::read(&p).map_err(|e| format!("{}: {e}", p.display()))?;
            out.push((rel, bytes));
        }
    }
    Ok(())
}
