//! The crate's import graph, read from its source: the layers ARCHITECTURE.md draws.
//!
//! An edge is a `use crate::…` or top-level `use super::…` line, or a `crate::…` path in code,
//! from the file that writes it to the file of the module it names. The graph must have no
//! cycle, and the transport (the connection loop and the answer interface it knows) and the
//! layer below it (caches, rate limits, client addresses, the wire format) must not reach up
//! into the application (the public API, hosted pages, routes, the shared state).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Module path (`hosted::cache`; `crate` for lib.rs) → the modules its file imports.
fn import_graph() -> BTreeMap<String, BTreeSet<String>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    collect(&src, &mut files);
    let modules: BTreeMap<String, String> = files
        .iter()
        .map(|f| {
            let rel = f.strip_prefix(&src).unwrap().with_extension("");
            let mut parts: Vec<String> = rel
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            if parts.last().is_some_and(|p| p == "mod" || p == "lib") {
                parts.pop();
            }
            let name = if parts.is_empty() {
                "crate".to_string()
            } else {
                parts.join("::")
            };
            (name, std::fs::read_to_string(f).unwrap())
        })
        .collect();
    // The longest known module that a path names (`hosted::cache::Page` → `hosted::cache`).
    let resolve = |path: &str| -> String {
        let parts: Vec<&str> = path.split("::").collect();
        (1..=parts.len())
            .rev()
            .map(|n| parts[..n].join("::"))
            .find(|m| modules.contains_key(m))
            .unwrap_or_else(|| "crate".to_string())
    };
    let mut graph = BTreeMap::new();
    for (module, text) in &modules {
        let mut edges = BTreeSet::new();
        // Code only: no comments, and not the unit tests at the end of a file.
        let code: String = text
            .split("\n#[cfg(test)]\nmod tests")
            .next()
            .unwrap()
            .lines()
            .map(|l| l.split("//").next().unwrap())
            .collect::<Vec<_>>()
            .join("\n");
        for (at, _) in code.match_indices("crate::") {
            let path: String = code[at + "crate::".len()..]
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == ':')
                .collect();
            edges.insert(resolve(path.trim_end_matches(':')));
        }
        let parent = module.rsplit_once("::").map(|(p, _)| p);
        for line in code.lines() {
            let line = line.strip_prefix("pub ").unwrap_or(line);
            let line = line.strip_prefix("pub(crate) ").unwrap_or(line);
            if let (Some(rest), Some(parent)) = (line.strip_prefix("use super::"), parent) {
                let name: String = rest
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                edges.insert(resolve(&format!("{parent}::{name}")));
            }
        }
        edges.remove(module);
        graph.insert(module.clone(), edges);
    }
    graph
}

fn collect(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            collect(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Every module `from` reaches by following imports.
fn reachable(graph: &BTreeMap<String, BTreeSet<String>>, from: &str) -> BTreeSet<String> {
    let mut seen = BTreeSet::new();
    let mut todo = vec![from.to_string()];
    while let Some(m) = todo.pop() {
        for next in graph.get(&m).into_iter().flatten() {
            if seen.insert(next.clone()) {
                todo.push(next.clone());
            }
        }
    }
    seen
}

#[test]
fn no_file_imports_itself_through_others() {
    let graph = import_graph();
    assert!(graph.len() > 20, "found only {:?}", graph.keys());
    let cycles: Vec<_> = graph
        .keys()
        .filter(|m| reachable(&graph, m).contains(*m))
        .collect();
    assert!(
        cycles.is_empty(),
        "in an import cycle: {cycles:?}\n{graph:#?}"
    );
}

#[test]
fn the_transport_knows_only_the_answer_interface_and_what_lies_below() {
    let graph = import_graph();
    let application = [
        "crate", "state", "public", "hosted", "routes", "auth", "extract",
    ];
    let above = |m: &String| {
        application
            .iter()
            .any(|a| m == a || m.starts_with(&format!("{a}::")))
    };
    for layer in [
        "server",
        "answer",
        "wire",
        "cache",
        "ratelimit",
        "client_ip",
        "metrics",
    ] {
        let reached: Vec<_> = reachable(&graph, layer).into_iter().filter(above).collect();
        assert!(reached.is_empty(), "{layer} reaches up into {reached:?}");
    }
    // The wire format is the floor.
    assert_eq!(graph["wire"], BTreeSet::new());
}
