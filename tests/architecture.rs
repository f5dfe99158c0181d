//! The workspace's dependency rules, checked on the graph cargo resolves (`cargo metadata`).
//!
//! Each rule applies to the *normal* dependency closure of a package: what it pulls in through
//! `[dependencies]`, transitively, not its dev- or build-dependencies. A broken rule names the
//! crate that should not be there and the path of dependencies that pulls it in.

use serde_json::Value;
use std::collections::{BTreeSet, HashMap, VecDeque};
use std::process::Command;
use std::sync::OnceLock;

/// serde and the crates of its derive macro: all the read model may use (it goes to wasm).
const SERDE: &[&str] = &[
    "serde",
    "serde_core",
    "serde_derive",
    "proc-macro2",
    "quote",
    "syn",
    "unicode-ident",
];

/// What the front ends must not reach: they read the model, the engine side writes it.
const ENGINE_SIDE: &[&str] = &[
    "collector",
    "analytics",
    "detectors",
    "kubesource",
    "opscope-engine",
    "polars",
    "linfa",
    "reqwest",
    "kube",
];

/// The crates that ship (everything but test support and tasks).
const PRODUCT_CRATES: &[&str] = &[
    "collector",
    "analytics",
    "opscope-engine",
    "tui",
    "web",
    "chatops",
    "kubesource",
    "opscope-model",
    "opscope-layout",
];

#[derive(Debug, Clone, Copy)]
enum Limit {
    /// Nothing in the closure but these (the union of the lists).
    Only(&'static [&'static [&'static str]]),
    /// None of these anywhere in the closure.
    Never(&'static [&'static str]),
}

#[derive(Debug, Clone, Copy)]
struct Rule {
    name: &'static str,
    packages: &'static [&'static str],
    limit: Limit,
    why: &'static str,
}

const RULES: &[Rule] = &[
    Rule {
        name: "model-is-serde-only",
        packages: &["opscope-model"],
        limit: Limit::Only(&[SERDE]),
        why: "the read model is shared with the wasm front end: plain data and serde, nothing else",
    },
    Rule {
        name: "layout-is-model-and-serde-only",
        packages: &["opscope-layout"],
        limit: Limit::Only(&[SERDE, &["opscope-model", "unicode-width"]]),
        why: "the layout runs in the wasm front end too: it may use the read model, serde and unicode-width (label widths) only",
    },
    Rule {
        name: "front-ends-stay-off-the-engine-side",
        packages: &["tui", "chatops"],
        limit: Limit::Never(ENGINE_SIDE),
        why: "front ends read the model (opscope-model); collecting and analysing is the engine's",
    },
    Rule {
        name: "no-fixtures-in-products",
        packages: PRODUCT_CRATES,
        limit: Limit::Never(&["fixtures"]),
        why: "fixtures (the simulator) is test support: use it from [dev-dependencies] only",
    },
];

impl Rule {
    /// The rule in words: "tui, chatops must not reach ... (why)".
    fn describe(&self) -> String {
        let what = match self.limit {
            Limit::Only(lists) => format!("may depend only on {}", lists.concat().join(", ")),
            Limit::Never(list) => format!("must not reach {}", list.join(", ")),
        };
        format!("{} {what} ({}).", self.packages.join(", "), self.why)
    }
}

/// The resolved dependency graph: package id -> (name, normal dependencies' ids).
struct Graph {
    names: HashMap<String, String>,
    normal_deps: HashMap<String, Vec<String>>,
    /// The workspace members' ids.
    workspace: BTreeSet<String>,
}

impl Graph {
    fn from_metadata(v: &Value) -> Result<Self, String> {
        let packages = v["packages"].as_array().ok_or("metadata has no packages")?;
        let names = packages
            .iter()
            .filter_map(|p| Some((p["id"].as_str()?.to_owned(), p["name"].as_str()?.to_owned())))
            .collect::<HashMap<_, _>>();
        let workspace: BTreeSet<String> = v["workspace_members"]
            .as_array()
            .ok_or("metadata has no workspace_members")?
            .iter()
            .filter_map(|id| id.as_str().map(str::to_owned))
            .collect();
        let nodes = v["resolve"]["nodes"]
            .as_array()
            .ok_or("metadata has no resolve.nodes")?;
        // A workspace package's optional dependencies come with a feature that another
        // package turns on (the model's `openapi`, for the server): they are not part of what
        // the package itself needs, so the rules leave them out. What the wasm build really
        // compiles is checked apart, with `cargo tree` on that build.
        let optional: HashMap<&str, BTreeSet<&str>> = packages
            .iter()
            .filter_map(|p| {
                let id = p["id"].as_str()?;
                let opt = p["dependencies"]
                    .as_array()?
                    .iter()
                    .filter(|d| d["optional"].as_bool() == Some(true))
                    .filter_map(|d| d["name"].as_str())
                    .collect();
                Some((id, opt))
            })
            .collect();
        let mut normal_deps = HashMap::new();
        for n in nodes {
            let id = n["id"].as_str().ok_or("a node without id")?;
            let skip = optional.get(id);
            let deps = n["deps"]
                .as_array()
                .map(Vec::as_slice)
                .unwrap_or_default()
                .iter()
                .filter(|d| is_normal(d))
                .filter_map(|d| d["pkg"].as_str().map(str::to_owned))
                .filter(|pkg| {
                    let name = names.get(pkg).map_or("", String::as_str);
                    !(workspace.contains(id) && skip.is_some_and(|s| s.contains(name)))
                })
                .collect();
            normal_deps.insert(id.to_owned(), deps);
        }
        Ok(Self {
            names,
            normal_deps,
            workspace,
        })
    }

    fn name<'a>(&'a self, id: &'a str) -> &'a str {
        self.names.get(id).map_or(id, String::as_str)
    }

    /// The workspace package called `name`.
    fn id_of(&self, name: &str) -> Option<&str> {
        self.workspace
            .iter()
            .find(|id| self.names.get(id.as_str()).is_some_and(|n| n == name))
            .map(String::as_str)
    }

    /// Every crate in `root`'s normal closure (not `root` itself), each with the shortest path
    /// of names that reaches it: `root -> a -> b`.
    fn closure(&self, root: &str) -> Vec<(String, String)> {
        let mut parent: HashMap<&str, &str> = HashMap::new();
        let mut queue = VecDeque::from([root]);
        let mut order = Vec::new();
        while let Some(id) = queue.pop_front() {
            for dep in self
                .normal_deps
                .get(id)
                .map(Vec::as_slice)
                .unwrap_or_default()
            {
                if dep != root && !parent.contains_key(dep.as_str()) {
                    parent.insert(dep, id);
                    order.push(dep.as_str());
                    queue.push_back(dep);
                }
            }
        }
        order
            .into_iter()
            .map(|id| {
                let mut path = vec![self.name(id)];
                let mut at = id;
                while let Some(p) = parent.get(at) {
                    path.push(self.name(p));
                    at = p;
                }
                path.reverse();
                (self.name(id).to_owned(), path.join(" -> "))
            })
            .collect()
    }

    /// What breaks `rule`: one line per package and crate it must not reach, with the path.
    fn violations(&self, rule: &Rule) -> Vec<String> {
        let mut out = Vec::new();
        for package in rule.packages {
            let Some(root) = self.id_of(package) else {
                out.push(format!(
                    "rule `{}` names `{package}`, which is no workspace package (renamed? update \
                     tests/architecture.rs)",
                    rule.name
                ));
                continue;
            };
            for (name, path) in self.closure(root) {
                let broken = match rule.limit {
                    Limit::Only(lists) => !lists.iter().any(|l| l.contains(&name.as_str())),
                    Limit::Never(list) => list.contains(&name.as_str()),
                };
                if broken {
                    out.push(format!("`{package}` reaches `{name}` through {path}"));
                }
            }
        }
        out
    }
}

/// A normal dependency edge: one of its kinds is neither dev nor build (`kind: null`).
fn is_normal(dep: &Value) -> bool {
    match dep["dep_kinds"].as_array() {
        Some(kinds) => kinds.iter().any(|k| k["kind"].is_null()),
        None => true,
    }
}

fn workspace_graph() -> &'static Graph {
    static GRAPH: OnceLock<Result<Graph, String>> = OnceLock::new();
    let graph = GRAPH.get_or_init(|| {
        let out = Command::new(env!("CARGO"))
            .args(["metadata", "--format-version", "1", "--manifest-path"])
            .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml"))
            .output()
            .map_err(|e| format!("cannot run cargo metadata: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "cargo metadata failed: {}",
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        let v: Value = serde_json::from_slice(&out.stdout)
            .map_err(|e| format!("cargo metadata printed no JSON: {e}"))?;
        Graph::from_metadata(&v)
    });
    match graph {
        Ok(g) => g,
        Err(e) => panic!("{e}"),
    }
}

fn check(rule_name: &str) {
    let rule = RULES
        .iter()
        .find(|r| r.name == rule_name)
        .unwrap_or_else(|| panic!("no rule `{rule_name}` in RULES"));
    let broken = workspace_graph().violations(rule);
    assert!(
        broken.is_empty(),
        "dependency rule `{}` is broken: {}\n  {}",
        rule.name,
        rule.describe(),
        broken.join("\n  ")
    );
}

#[test]
fn model_is_serde_only() {
    check("model-is-serde-only");
}

#[test]
fn layout_is_model_and_serde_only() {
    check("layout-is-model-and-serde-only");
}

#[test]
fn front_ends_stay_off_the_engine_side() {
    check("front-ends-stay-off-the-engine-side");
}

#[test]
fn no_fixtures_in_products() {
    check("no-fixtures-in-products");
}

#[test]
fn every_rule_is_checked_by_a_test_above() {
    let tested = [
        "model-is-serde-only",
        "layout-is-model-and-serde-only",
        "front-ends-stay-off-the-engine-side",
        "no-fixtures-in-products",
    ];
    let names: Vec<&str> = RULES.iter().map(|r| r.name).collect();
    assert_eq!(names, tested, "add a #[test] for each rule");
}

// ---------------------------------------------------------------------------------------------
// The checker itself, on a small made-up graph: it must see through chains and must not count
// dev- or build-dependencies.

fn toy_graph() -> Graph {
    let node = |id: &str, deps: &[(&str, Option<&str>)]| {
        let deps: Vec<Value> = deps
            .iter()
            .map(|(pkg, kind)| {
                serde_json::json!({
                    "name": pkg, "pkg": pkg, "dep_kinds": [{"kind": kind, "target": null}]
                })
            })
            .collect();
        serde_json::json!({"id": id, "deps": deps})
    };
    let packages: Vec<Value> = ["front", "middle", "heavy", "testkit", "codegen", "serde"]
        .iter()
        .map(|n| serde_json::json!({"id": n, "name": n}))
        .collect();
    let v = serde_json::json!({
        "packages": packages,
        "workspace_members": ["front", "middle"],
        "resolve": {"nodes": [
            node("front", &[("middle", None), ("testkit", Some("dev")), ("codegen", Some("build"))]),
            node("middle", &[("heavy", None), ("serde", None)]),
            node("heavy", &[]),
            node("testkit", &[]),
            node("codegen", &[]),
            node("serde", &[]),
        ]}
    });
    Graph::from_metadata(&v).expect("a well-formed toy graph")
}

#[test]
fn the_checker_names_the_crate_and_the_path_that_pulls_it_in() {
    let rule = Rule {
        name: "toy",
        packages: &["front"],
        limit: Limit::Never(&["heavy"]),
        why: "toy",
    };
    let broken = toy_graph().violations(&rule);
    assert_eq!(broken.len(), 1, "{broken:?}");
    assert!(
        broken[0].contains("`front` reaches `heavy` through front -> middle -> heavy"),
        "{}",
        broken[0]
    );
}

#[test]
fn the_checker_ignores_dev_and_build_dependencies() {
    let rule = Rule {
        name: "toy",
        packages: &["front"],
        limit: Limit::Only(&[&["middle", "heavy", "serde"]]),
        why: "toy",
    };
    assert_eq!(toy_graph().violations(&rule), Vec::<String>::new());
    let stricter = Rule {
        limit: Limit::Only(&[&["middle", "serde"]]),
        ..rule
    };
    assert_eq!(toy_graph().violations(&stricter).len(), 1);
}

#[test]
fn the_checker_reports_a_rule_about_a_package_that_is_gone() {
    let rule = Rule {
        name: "toy",
        packages: &["renamed"],
        limit: Limit::Never(&["heavy"]),
        why: "toy",
    };
    let broken = toy_graph().violations(&rule);
    assert!(
        broken.len() == 1 && broken[0].contains("`renamed`, which is no workspace package"),
        "{broken:?}"
    );
}

/// What the browser bundle must not compile: the engine side, and tokio (the wasm build would
/// fail, or carry code that can never run in a browser).
const NOT_IN_WASM: &[&str] = &[
    "polars",
    "kube",
    "linfa",
    "tokio",
    "collector",
    "analytics",
    "detectors",
    "kubesource",
    "opscope-engine",
    "reqwest",
    "axum",
];

/// The crates the hydrate build really compiles: `cargo tree` on the wasm target with the
/// `hydrate` feature only (the resolver's view of that build, not the workspace's union).
#[test]
fn the_browser_bundle_compiles_only_the_ui_model_and_layout_of_ours() {
    let out = Command::new(env!("CARGO"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args([
            "tree",
            "-p",
            "opscope-webui",
            "--features",
            "hydrate",
            "--target",
            "wasm32-unknown-unknown",
            "-e",
            "normal",
            "--prefix",
            "none",
            "--format",
            "{p}",
            "--offline",
        ])
        .output()
        .expect("cargo tree");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let names: BTreeSet<&str> = text
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    assert!(
        names.contains("leptos") && names.contains("opscope-model"),
        "{names:?}"
    );
    let bad: Vec<&&str> = NOT_IN_WASM.iter().filter(|n| names.contains(**n)).collect();
    assert!(bad.is_empty(), "the wasm graph reaches {bad:?}:\n{text}");
    let ours: BTreeSet<&str> = names
        .iter()
        .copied()
        .filter(|n| n.starts_with("opscope"))
        .collect();
    assert_eq!(
        ours,
        BTreeSet::from(["opscope-layout", "opscope-model", "opscope-webui"])
    );
}
