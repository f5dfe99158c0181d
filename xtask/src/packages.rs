//! Debian packages whose programs the tests start themselves, and what to do when some are
//! missing.

use crate::proc;
use std::fmt;
use std::time::Duration;

/// A Debian package and the program of it that the tests run (found on `PATH`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Package {
    pub name: &'static str,
    pub binary: &'static str,
    pub used_by: &'static str,
}

pub const PACKAGES: &[Package] = &[
    Package {
        name: "prometheus",
        binary: "prometheus",
        used_by: "tests/prometheus.rs",
    },
    Package {
        name: "prometheus-node-exporter",
        binary: "prometheus-node-exporter",
        used_by: "the node_exporter test",
    },
    Package {
        name: "prometheus-redis-exporter",
        binary: "prometheus-redis-exporter",
        used_by: "tests/brokers.rs",
    },
    Package {
        name: "prometheus-postgres-exporter",
        binary: "prometheus-postgres-exporter",
        used_by: "tests/brokers.rs",
    },
    Package {
        name: "chromium",
        binary: "chromium",
        used_by: "tests/browser.rs (the web console in a real browser)",
    },
    Package {
        name: "chromium-driver",
        binary: "chromedriver",
        used_by: "tests/browser.rs (WebDriver for chromium)",
    },
    Package {
        name: "nats-server",
        binary: "nats-server",
        used_by: "tests/brokers.rs (starts its own JetStream server)",
    },
];

/// What to do about the missing packages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Plan {
    Nothing,
    /// As root with apt-get: `apt-get update -qq` once, then one install of all of them.
    Install(Vec<&'static str>),
    /// We cannot install them ourselves: tell the user what to run.
    Manual(ManualInstall),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ManualInstall {
    /// apt-get is here, but we are not root.
    Sudo(Vec<&'static str>),
    /// No apt-get: not a Debian-like system.
    NoApt(Vec<&'static str>),
}

impl fmt::Display for ManualInstall {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Sudo(p) => write!(
                f,
                "missing {list}; as root, run:\n  sudo apt-get update -qq && sudo \
                 DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
                 {list}\nthen `cargo xtask test` again",
                list = p.join(" ")
            ),
            Self::NoApt(p) => write!(
                f,
                "missing {list} and no apt-get to install them: install those Debian packages' \
                 programs ({bins}) by other means and put them on PATH, then `cargo xtask test` \
                 again",
                list = p.join(" "),
                bins = p
                    .iter()
                    .filter_map(|n| PACKAGES.iter().find(|p| p.name == *n))
                    .map(|p| p.binary)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        }
    }
}

/// The plan for the `missing` packages (in the order given).
pub fn plan(missing: &[&'static str], root: bool, apt: bool) -> Plan {
    if missing.is_empty() {
        Plan::Nothing
    } else if !apt {
        Plan::Manual(ManualInstall::NoApt(missing.to_vec()))
    } else if !root {
        Plan::Manual(ManualInstall::Sudo(missing.to_vec()))
    } else {
        Plan::Install(missing.to_vec())
    }
}

/// The version `binary --version` reports, or "version unknown".
fn version_of(binary: &str) -> String {
    proc::run(binary, &["--version"], Duration::from_secs(10))
        .ok()
        .and_then(|o| proc::version_in(&o.text()))
        .unwrap_or_else(|| "version unknown".into())
}

/// Checks every package, installs the missing ones when it can; `Err` says what to do.
pub fn ensure() -> Result<(), String> {
    let mut missing = Vec::new();
    for p in PACKAGES {
        if proc::which(p.binary).is_some() {
            println!("{}: present, {}", p.name, version_of(p.binary));
        } else {
            missing.push(p.name);
        }
    }
    let packages = match plan(&missing, proc::is_root(), proc::which("apt-get").is_some()) {
        Plan::Nothing => return Ok(()),
        Plan::Manual(m) => return Err(m.to_string()),
        Plan::Install(p) => p,
    };
    println!("{}: missing, installing with apt-get", packages.join(", "));
    let update = proc::run("apt-get", &["update", "-qq"], Duration::from_secs(600))
        .map_err(|e| format!("cannot run apt-get update: {e}"))?;
    if !update.success() {
        // A stale list may still hold the packages: try the install all the same.
        println!("apt-get update failed (going on): {}", update.text());
    }
    let mut args = vec![
        "install",
        "-y",
        "-qq",
        "--no-install-recommends",
        "-o",
        "Dpkg::Use-Pty=0",
    ];
    args.extend(packages.iter().copied());
    // Its output goes straight to ours: a daemon that a package's postinst starts must not
    // hold a pipe of ours open.
    let status = std::process::Command::new("apt-get")
        .args(&args)
        .env("DEBIAN_FRONTEND", "noninteractive")
        .stdin(std::process::Stdio::null())
        .status()
        .map_err(|e| format!("cannot run apt-get install: {e}"))?;
    if !status.success() {
        return Err(format!(
            "`apt-get install {}` failed ({status}): fix the cause it printed above, or install \
             the packages by hand, then `cargo xtask test` again",
            packages.join(" ")
        ));
    }
    let mut still = Vec::new();
    for name in &packages {
        let Some(p) = PACKAGES.iter().find(|p| p.name == *name) else {
            continue;
        };
        if proc::which(p.binary).is_some() {
            println!("{}: installed {}", p.name, version_of(p.binary));
        } else {
            still.push(format!("{} (no `{}` on PATH)", p.name, p.binary));
        }
    }
    if still.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "apt-get installed, yet these are still missing: {}",
            still.join(", ")
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nothing_missing_means_nothing_to_do() {
        assert_eq!(plan(&[], false, false), Plan::Nothing);
        assert_eq!(plan(&[], true, true), Plan::Nothing);
    }

    #[test]
    fn root_with_apt_installs_all_missing_at_once() {
        assert_eq!(
            plan(&["prometheus", "prometheus-redis-exporter"], true, true),
            Plan::Install(vec!["prometheus", "prometheus-redis-exporter"])
        );
    }

    #[test]
    fn without_root_the_user_gets_the_exact_command() {
        let Plan::Manual(m) = plan(&["prometheus", "prometheus-node-exporter"], false, true) else {
            panic!("not root: nothing to install by ourselves");
        };
        assert_eq!(
            m,
            ManualInstall::Sudo(vec!["prometheus", "prometheus-node-exporter"])
        );
        assert!(m.to_string().contains(
            "sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
             --no-install-recommends prometheus prometheus-node-exporter"
        ));
    }

    #[test]
    fn without_apt_the_user_is_told_which_programs() {
        let m = plan(&["prometheus-postgres-exporter"], true, false);
        let Plan::Manual(m) = m else {
            panic!("no apt-get: nothing to install by ourselves");
        };
        assert!(
            m.to_string().contains("(prometheus-postgres-exporter)"),
            "{m}"
        );
    }

    #[test]
    fn every_package_names_its_program_once() {
        for (i, p) in PACKAGES.iter().enumerate() {
            assert!(!p.binary.is_empty() && !p.name.is_empty());
            assert!(
                PACKAGES[i + 1..].iter().all(|q| q.name != p.name),
                "{} twice",
                p.name
            );
        }
    }
}
