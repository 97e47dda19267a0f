//! Every JSON document adr-onnx writes (run, audit, falsify, inspect,
//! doctor, bench) and every example goal validates against its JSON Schema
//! in docs/schema/, and every field a run or audit report emits is listed
//! in docs/report.md.

mod schema;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use assert_cmd::Command;
use schema::checker::violations;
use serde_json::Value;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn fixtures() -> PathBuf {
    root().join("../shared/fixtures")
}

fn schema(name: &str) -> Value {
    let p = root().join("docs/schema").join(format!("{name}.schema.json"));
    serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn read(p: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn assert_valid(schema_name: &str, doc: &Value, what: &str) {
    let v = violations(&schema(schema_name), doc);
    assert!(v.is_empty(), "{what} breaks {schema_name}.schema.json:\n{}", v.join("\n"));
}

/// Runs adr-onnx in `dir`, expecting exit 0 or 1; returns standard output.
fn adr(dir: &Path, args: &[&str]) -> String {
    let o = Command::cargo_bin("adr-onnx").unwrap().current_dir(dir).args(args).output().unwrap();
    assert!(matches!(o.status.code(), Some(0 | 1)), "{args:?}: {}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn path(p: PathBuf) -> String {
    p.to_str().unwrap().to_string()
}

/// Run reports of every goal kind and the main methods (tract, few steps).
fn run_reports(dir: &Path) -> Vec<(String, Value)> {
    let goals = root().join("testdata/goals");
    let cases: [(&str, &str, &[&str]); 4] = [
        ("models/mnist_cnn_pgd.onnx", "untargeted_png.json", &["--method", "pgd", "--iterations", "5"]),
        ("models/mnist_cnn_pgd.onnx", "targeted_png.json", &["--method", "auto", "--set", "preset=fast"]),
        ("models/rand_small_s1.onnx", "output_bound.json", &["--method", "adr", "--iterations", "20"]),
        ("models/mnist_vae_decoder.onnx", "reconstruction.json", &["--iterations", "10"]),
    ];
    cases
        .iter()
        .enumerate()
        .map(|(i, (model, goal, flags))| {
            let out = dir.join(format!("run{i}.json"));
            let mut args = vec!["run".to_string(), path(root().join(model)), "--goal".into(), path(goals.join(goal))];
            args.extend(flags.iter().map(|f| f.to_string()));
            args.extend(["--backend", "tract", "--quiet", "--out"].map(String::from));
            args.push(path(out.clone()));
            adr(dir, &args.iter().map(String::as_str).collect::<Vec<_>>());
            (format!("run of {goal} ({flags:?})"), read(&out))
        })
        .collect()
}

fn audit_report(dir: &Path) -> Value {
    let mnist = root().join("testdata/mnist");
    let out = dir.join("audit.json");
    adr(
        dir,
        &[
            "audit",
            &path(root().join("models/mnist_cnn_pgd.onnx")),
            "--images",
            &path(mnist.join("mnist_test_first32_images.npy")),
            "--labels",
            &path(mnist.join("mnist_test_first32_labels.npy")),
            "--goal",
            &path(root().join("testdata/templates/mnist_pgd_eps025.json")),
            "--limit",
            "6",
            "--method",
            "pgd",
            "--iterations",
            "10",
            "--epsilons",
            "0.1,0.3",
            "--backend",
            "tract",
            "--quiet",
            "--out",
            &path(out.clone()),
        ],
    );
    read(&out)
}

#[test]
fn run_and_audit_reports_match_their_schemas_and_docs_list_every_field() {
    let dir = tempfile::tempdir().unwrap();
    let runs = run_reports(dir.path());
    let audit = audit_report(dir.path());
    for (what, r) in &runs {
        assert_valid("run-report", r, what);
        // A pipeline's check of the stored input holds exactly.
        if let Some(eps) = r["goal"]["epsilon"].as_f64() {
            assert!(r["best"]["distance_linf"].as_f64().unwrap() <= eps, "{what}: {}", r["best"]);
        }
    }
    let pgd = &runs[0].1;
    assert_eq!(pgd["best"]["distance_linf"], 0.25, "PGD reaches the ball's edge, exactly: {}", pgd["best"]);
    assert_eq!(pgd["settings"]["random_start"], true, "PGD always starts at random");
    assert_eq!(pgd["phases"][0]["achieved"], pgd["achieved"], "one stage: its `achieved` is the run's, a boolean");
    assert_valid("audit-report", &audit, "the audit report");
    let report_md = std::fs::read_to_string(root().join("docs/report.md")).unwrap();
    let goals_md = std::fs::read_to_string(root().join("docs/goals.md")).unwrap();
    let mut emitted = BTreeSet::new();
    for (_, r) in &runs {
        field_paths(r, "", &mut emitted);
    }
    let mut audit_fields = BTreeSet::new();
    field_paths(&audit, "", &mut audit_fields);
    let undocumented: Vec<String> =
        emitted.iter().chain(&audit_fields).filter(|p| !documented(p, &report_md, &goals_md)).cloned().collect();
    assert!(undocumented.is_empty(), "emitted but not in docs/report.md: {undocumented:?}");
}

/// Every field path of `v`: `a.b`, `a[].b`; a goal echo is the goal file's
/// (goal.schema.json), a stage's count in `found_by` and its seconds in
/// `stage_seconds` are keyed by the stage's name.
fn field_paths(v: &Value, at: &str, out: &mut BTreeSet<String>) {
    if at == "goal" || at == "summary.found_by" || at == "provenance.stage_seconds" {
        out.insert(at.to_string());
        return;
    }
    match v {
        Value::Object(o) => {
            for (k, x) in o {
                field_paths(x, &if at.is_empty() { k.clone() } else { format!("{at}.{k}") }, out);
            }
        }
        Value::Array(a) if a.iter().any(|x| x.is_object() || x.is_array()) => {
            for x in a {
                field_paths(x, &format!("{at}[]"), out);
            }
        }
        _ => {
            out.insert(at.to_string());
        }
    }
}

/// The first cells of the tables of a Markdown page: where fields are listed.
fn field_cells(md: &str) -> Vec<&str> {
    md.lines().filter_map(|l| l.strip_prefix("| ")).filter_map(|l| l.split(" |").next()).collect()
}

/// A path is documented when a table of docs/report.md lists it in its
/// first column, in backticks; a setting when docs/goals.md's method table
/// does.
fn documented(path: &str, report_md: &str, goals_md: &str) -> bool {
    if field_cells(report_md).iter().any(|c| c.contains(&format!("`{path}`"))) {
        return true;
    }
    match path.strip_prefix("settings.") {
        Some(setting) => {
            let name = setting.split('.').next().unwrap_or(setting);
            goals_md.contains(&format!("| `{name}` |"))
        }
        None => false,
    }
}

#[test]
fn falsify_inspect_doctor_and_bench_documents_match_their_schemas() {
    let dir = tempfile::tempdir().unwrap();
    let t = fixtures().join("vnncomp/test");
    let report = dir.path().join("falsify.json");
    adr(
        dir.path(),
        &[
            "falsify",
            &path(t.join("test_sat.onnx")),
            &path(t.join("test_prop.vnnlib")),
            "--timeout",
            "60",
            "--quiet",
            "--report",
            &path(report.clone()),
        ],
    );
    assert_valid("falsify-report", &read(&report), "the falsify report");
    for model in ["models/mnist_cnn_pgd.onnx", "models/mnist_vae_decoder.onnx"] {
        let text = adr(dir.path(), &["inspect", "--json", &path(root().join(model))]);
        assert_valid("inspect-report", &serde_json::from_str(&text).unwrap(), model);
    }
    let text = adr(dir.path(), &["doctor", "--json"]);
    assert_valid("doctor-report", &serde_json::from_str(&text).unwrap(), "doctor --json");
    let (fixtures, project) = (path(fixtures()), path(root()));
    let mut bench = vec!["bench", "--fixtures", &fixtures, "--project", &project, "--json"];
    bench.extend("--backends tract --threads 1 --only vae_decoder --batches 1 --iterations 1".split(' '));
    let text = adr(dir.path(), &bench);
    assert_valid("bench-report", &serde_json::from_str(&text).unwrap(), "bench --json");
}

#[test]
fn every_document_names_its_kind_and_version() {
    let kinds: Vec<(String, u64)> =
        adr_onnx::document::ALL.iter().map(|d| (d.kind.to_string(), u64::from(d.schema_version))).collect();
    for (kind, version) in &kinds {
        let name = kind.replace('_', "-");
        let s = schema(&name);
        assert_eq!(s["properties"]["kind"]["const"], kind.as_str(), "{name}.schema.json");
        assert_eq!(s["properties"]["schema_version"]["const"], *version, "{name}.schema.json");
        let required: Vec<&str> = s["required"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
        assert!(required.contains(&"kind") && required.contains(&"schema_version"), "{name}");
    }
}

#[test]
fn the_example_goals_match_the_goal_schema() {
    let goal = schema("goal");
    let mut checked = 0;
    for folder in ["testdata/goals", "testdata/templates"] {
        for entry in std::fs::read_dir(root().join(folder)).unwrap() {
            let p = entry.unwrap().path();
            let v = violations(&goal, &read(&p));
            assert!(v.is_empty(), "{}:\n{}", p.display(), v.join("\n"));
            checked += 1;
        }
    }
    // And the goals shown in docs/goals.md.
    let md = std::fs::read_to_string(root().join("docs/goals.md")).unwrap();
    for block in md.split("```json\n").skip(1).map(|b| b.split("```").next().unwrap()) {
        let doc: Value = serde_json::from_str(block).unwrap_or_else(|e| panic!("docs/goals.md: {e}: {block}"));
        let v = violations(&goal, &doc);
        assert!(v.is_empty(), "docs/goals.md {block}:\n{}", v.join("\n"));
        checked += 1;
    }
    assert!(checked >= 10, "{checked}");
    // The schema can fail: an unknown field, a missing epsilon, a wrong kind.
    for bad in [
        r#"{"kind": "target_class", "epsilon": 0.1, "colour": 3}"#,
        r#"{"kind": "target_class", "label": 3}"#,
        r#"{"kind": "nearest", "epsilon": 0.1}"#,
        r#"{"kind": "output_bound", "output": 0, "direction": "up"}"#,
    ] {
        assert!(!violations(&goal, &serde_json::from_str(bad).unwrap()).is_empty(), "{bad}");
    }
}

#[test]
fn a_report_with_an_undocumented_field_fails_its_schema() {
    let s = schema("run-report");
    let mut r = serde_json::json!({});
    assert!(!violations(&s, &r).is_empty());
    r = serde_json::json!({"schema_version": 2, "kind": "run_report", "surprise": 1});
    assert!(
        violations(&s, &r).iter().any(|v| v.contains("`surprise` is not in the schema")),
        "{:?}",
        violations(&s, &r)
    );
}
