//! The library's layer order (docs/design.md, "Layers"): every `crate::`
//! and `super::` path in a source file (test modules and comments aside)
//! names a module of the same top-level module or of a lower layer, and no
//! two files import each other, directly or through others.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Top-level modules, bottom first; a module may use its own layer's
/// modules only where the dependency is listed in `SAME_LAYER`.
const LAYERS: &[&[&str]] = &[
    &["error", "interrupt", "contained"],
    &["input", "output", "document"],
    &["ir"],
    &["onnx"],
    &["writer"],
    &["surrogate", "objective", "zoo"],
    &["goal", "lower"],
    &["runtime"],
    &["optim", "original"],
    &["memory", "report", "summary"],
    &["front"],
    &["dataset", "bench", "audit", "vnnlib"],
];

/// Same-layer dependencies that are allowed (user -> used): none so far.
const SAME_LAYER: &[(&str, &str)] = &[];

fn layer_of(top: &str) -> Option<usize> {
    LAYERS.iter().position(|l| l.contains(&top))
}

/// Module path (`optim::engine`) -> source text without test modules and
/// comments.
fn sources() -> BTreeMap<String, String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut out = BTreeMap::new();
    let mut stack = vec![root.clone()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            if path.extension().and_then(|e| e.to_str()) != Some("rs") {
                continue;
            }
            let rel = path.strip_prefix(&root).unwrap().with_extension("");
            let mut parts: Vec<String> = rel.iter().map(|p| p.to_string_lossy().into_owned()).collect();
            if parts.last().is_some_and(|p| p == "mod") {
                parts.pop();
            }
            let module = parts.join("::");
            if module == "main" || module == "lib" || module.starts_with("cli") {
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            let text = text.split("#[cfg(test)]").next().unwrap_or("");
            let code: String = text.lines().map(|l| l.split("//").next().unwrap_or("")).collect::<Vec<_>>().join("\n");
            out.insert(module, code);
        }
    }
    out
}

/// The paths after each occurrence of `prefix` (`crate::`, `super::`).
fn paths_after(code: &str, prefix: &str) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    for (i, _) in code.match_indices(prefix) {
        let before = code[..i].chars().last();
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
            continue;
        }
        let rest = &code[i + prefix.len()..];
        let path: String = rest.chars().take_while(|c| c.is_alphanumeric() || *c == '_' || *c == ':').collect();
        out.push(path.split("::").filter(|s| !s.is_empty()).map(String::from).collect());
    }
    out
}

/// The longest module of `modules` that `path` starts with.
fn resolve(modules: &BTreeSet<String>, path: &[String]) -> Option<String> {
    (1..=path.len()).rev().map(|n| path[..n].join("::")).find(|m| modules.contains(m))
}

/// File-level edges: module -> modules it names.
fn edges() -> BTreeMap<String, BTreeSet<String>> {
    let sources = sources();
    let modules: BTreeSet<String> = sources.keys().cloned().collect();
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (module, code) in &sources {
        let mut targets = BTreeSet::new();
        for path in paths_after(code, "crate::") {
            targets.extend(resolve(&modules, &path));
        }
        // `super::` names the parent module, for a file and a folder's mod.rs alike.
        let own: Vec<String> = module.split("::").map(String::from).collect();
        for path in paths_after(code, "super::") {
            let full: Vec<String> = own[..own.len() - 1].iter().cloned().chain(path).collect();
            targets.extend(resolve(&modules, &full));
        }
        targets.retain(|t| t != module && !module.starts_with(&format!("{t}::")));
        edges.insert(module.clone(), targets);
    }
    edges
}

fn top(module: &str) -> &str {
    module.split("::").next().unwrap_or(module)
}

#[test]
fn every_top_level_module_has_a_layer() {
    let missing: BTreeSet<String> =
        sources().keys().map(|m| top(m).to_string()).filter(|t| layer_of(t).is_none()).collect();
    assert!(missing.is_empty(), "modules without a layer in tests/layers.rs and docs/design.md: {missing:?}");
}

#[test]
fn no_import_runs_up_the_layers() {
    let mut wrong = Vec::new();
    for (module, targets) in edges() {
        let (from, from_layer) = (top(&module), layer_of(top(&module)));
        for target in targets {
            let to = top(&target);
            if to == from || SAME_LAYER.contains(&(from, to)) {
                continue;
            }
            match (from_layer, layer_of(to)) {
                (Some(a), Some(b)) if b < a => {}
                _ => wrong.push(format!("{module} uses {target}")),
            }
        }
    }
    assert!(wrong.is_empty(), "imports that run up or across the layers:\n{}", wrong.join("\n"));
}

#[test]
fn no_two_files_import_each_other() {
    let edges = edges();
    // Depth-first search for a back edge; report the cycle it closes.
    fn visit(
        m: &str,
        edges: &BTreeMap<String, BTreeSet<String>>,
        state: &mut BTreeMap<String, u8>,
        stack: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        state.insert(m.to_string(), 1);
        stack.push(m.to_string());
        for t in edges.get(m).into_iter().flatten() {
            match state.get(t.as_str()).copied().unwrap_or(0) {
                1 => {
                    let at = stack.iter().position(|s| s == t).unwrap_or(0);
                    let mut cycle = stack[at..].to_vec();
                    cycle.push(t.clone());
                    return Some(cycle);
                }
                0 => {
                    if let Some(c) = visit(t, edges, state, stack) {
                        return Some(c);
                    }
                }
                _ => {}
            }
        }
        stack.pop();
        state.insert(m.to_string(), 2);
        None
    }
    let mut state = BTreeMap::new();
    for m in edges.keys() {
        if state.get(m.as_str()).copied().unwrap_or(0) == 0 {
            if let Some(cycle) = visit(m, &edges, &mut state, &mut Vec::new()) {
                panic!("an import cycle between files: {}", cycle.join(" -> "));
            }
        }
    }
}

#[test]
fn the_checker_sees_imports() {
    // The checker must find what it checks: optim's engine uses the runtime.
    let e = edges();
    assert!(e["optim::engine"].contains("runtime"), "{:?}", e["optim::engine"]);
    assert!(e["lower::step"].contains("surrogate::gate"), "{:?}", e["lower::step"]);
}
