//! The AutoAttack-style methods (APGD, APGD-T, Square) and the `auto`
//! ensemble on the PGD-trained MNIST CNN: the ensemble never flips fewer
//! samples than a stage alone, a sample's result does not depend on its
//! batch, Square never asks for a gradient, `--iterations` means steps per
//! restart for every method.

mod common;

use std::path::{Path, PathBuf};

use adr_onnx::goal::schema::{Algorithm, MethodBlock};
use adr_onnx::optim::{optimise, Silent};
use adr_onnx::runtime::tract::TractBackend;
use assert_cmd::Command;
use serde_json::Value;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).to_path_buf()
}

/// Small budgets: every stage runs in seconds on 8 samples.
const BUDGET: &[&str] = &[
    "--iterations",
    "12",
    "--set",
    "apgd_steps=12",
    "--set",
    "apgd_targets=3",
    "--set",
    "square_queries=60",
    "--seed",
    "5",
];

/// `adr-onnx audit` of the first 8 MNIST samples at eps 0.25 with
/// `method`; the report.
fn audit(dir: &Path, name: &str, method: &str, extra: &[&str]) -> Value {
    audit_of(dir, name, &root().join("testdata/templates/mnist_pgd_eps025.json"), method, extra)
}

/// `adr-onnx audit` of the first 8 MNIST samples with `template` and
/// `method`; the report.
fn audit_of(dir: &Path, name: &str, template: &Path, method: &str, extra: &[&str]) -> Value {
    let out = dir.join(name);
    let o = Command::cargo_bin("adr-onnx")
        .unwrap()
        .arg("audit")
        .arg(root().join("models/mnist_cnn_pgd.onnx"))
        .arg("--images")
        .arg(root().join("testdata/mnist/mnist_test_first32_images.npy"))
        .arg("--labels")
        .arg(root().join("testdata/mnist/mnist_test_first32_labels.npy"))
        .arg("--goal")
        .arg(template)
        .args(["--limit", "8", "--quiet", "--backend", "tract", "--threads", "1", "--method", method])
        .args(BUDGET)
        .args(extra)
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    serde_json::from_str(&std::fs::read_to_string(out).unwrap()).unwrap()
}

fn flipped(r: &Value) -> Vec<u64> {
    r["samples"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["success"] == true)
        .map(|s| s["index"].as_u64().unwrap())
        .collect()
}

#[test]
fn auto_flips_at_least_what_each_stage_flips_alone() {
    let dir = tempfile::tempdir().unwrap();
    let auto = audit(dir.path(), "auto.json", "auto", &["--batch", "4"]);
    let auto_flipped = flipped(&auto);
    for method in ["apgd", "apgd-t", "square", "adr"] {
        let alone = flipped(&audit(dir.path(), &format!("{method}.json"), method, &["--batch", "4"]));
        assert!(auto_flipped.len() >= alone.len(), "auto flipped {auto_flipped:?}, {method} alone {alone:?}");
    }
    // APGD-CE is auto's first stage, run exactly as alone.
    let apgd = flipped(&audit(dir.path(), "apgd2.json", "apgd", &["--batch", "4"]));
    assert!(apgd.iter().all(|i| auto_flipped.contains(i)), "{apgd:?} {auto_flipped:?}");
    // The summary counts the successes per stage, by the stage's name.
    let per_stage = auto["summary"]["found_by"].as_object().unwrap();
    let total: u64 = per_stage.values().map(|v| v.as_u64().unwrap()).sum();
    assert_eq!(total as usize, auto_flipped.len());
    for (stage, _) in per_stage {
        assert!(["apgd-ce", "apgd-t", "square", "adr"].contains(&stage.as_str()), "{stage}");
    }
    for s in auto["samples"].as_array().unwrap().iter().filter(|s| s["success"] == true) {
        assert!(s["distance_linf"].as_f64().unwrap() <= 0.25 + 1e-6);
        assert_ne!(s["adversarial_prediction"], s["label"]);
    }
}

#[test]
fn a_samples_result_does_not_depend_on_its_batch() {
    let dir = tempfile::tempdir().unwrap();
    for method in ["auto", "pgd"] {
        let reports: Vec<Value> = ["1", "3", "8"]
            .iter()
            .map(|b| audit(dir.path(), &format!("{method}{b}.json"), method, &["--batch", b]))
            .collect();
        for r in &reports[1..] {
            assert_eq!(r["samples"], reports[0]["samples"], "{method}: batch changed a sample's result");
        }
    }
}

#[test]
fn square_uses_forward_passes_only() {
    let model = adr_onnx::onnx::import(&root().join("models/mnist_cnn_pgd.onnx")).unwrap();
    for goal in ["untargeted_npy.json", "untargeted_l2.json"] {
        let goal = adr_onnx::goal::load(&root().join("testdata/goals").join(goal), &model).unwrap();
        let cli = MethodBlock {
            algorithm: Some(Algorithm::Square),
            square_queries: Some(30),
            restarts: Some(2),
            stop_when_achieved: Some(false),
            ..MethodBlock::default()
        };
        let settings = adr_onnx::front::settings(&model, &goal, &cli).unwrap();
        let backend = TractBackend;
        let mut engine = adr_onnx::front::engine(&model, &backend, &goal, &settings, settings.restarts);
        let outcome = optimise(&mut engine, std::slice::from_ref(&goal), &settings, &mut Silent, None).unwrap();
        assert_eq!(outcome.phases[0].method, "square");
        assert_eq!(outcome.phases[0].iterations, 30);
        assert_eq!((engine.calls.gradient_rows, engine.calls.step_rows), (0, 0));
        // The given start (once: both restarts start there), then every query
        // of both restarts: forward passes.
        assert_eq!(engine.calls.eval_rows, 1 + 2 + 29 * 2);
    }
}

/// `adr-onnx run` of `goal` with `method` and `extra` flags: the exit code,
/// the report and the best input.
fn run_goal(dir: &Path, goal: &Path, method: &str, extra: &[&str]) -> (i32, Value, Vec<f32>) {
    let out = dir.join(format!("{method}.json"));
    let artifacts = dir.join(method);
    let o = Command::cargo_bin("adr-onnx")
        .unwrap()
        .arg("run")
        .arg(root().join("models/mnist_cnn_pgd.onnx"))
        .arg("--goal")
        .arg(goal)
        .args(["--method", method, "--quiet", "--backend", "tract", "--out"])
        .arg(&out)
        .arg("--artifacts")
        .arg(&artifacts)
        .args(extra)
        .output()
        .unwrap();
    let code = o.status.code().unwrap_or(-1);
    assert!(code == 0 || code == 1, "{}", String::from_utf8_lossy(&o.stderr));
    let report = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    let best: ndarray::ArrayD<f32> = ndarray_npy::read_npy(artifacts.join("best_input.npy")).unwrap();
    (code, report, best.iter().copied().collect())
}

#[test]
fn square_flips_an_image_in_an_l2_ball_and_stays_in_the_ball_and_the_box() {
    let dir = tempfile::tempdir().unwrap();
    let images: ndarray::Array4<f32> =
        ndarray_npy::read_npy(root().join("testdata/mnist/mnist_test_first32_images.npy")).unwrap();
    let x0: Vec<f32> = images.index_axis(ndarray::Axis(0), 12).iter().copied().collect();
    let l2 = |x: &[f32]| x.iter().zip(&x0).map(|(a, b)| f64::from(a - b).powi(2)).sum::<f64>().sqrt();
    // Image 12 (a 9) flips within L2 radius 3 in 57 queries of seed 0 (and
    // APGD-CE needs radius 2 for it: Square at 1.0 does not flip it).
    let goal = root().join("testdata/goals/untargeted_l2.json");
    let (code, r, best) = run_goal(dir.path(), &goal, "square", &["--iterations", "300"]);
    assert_eq!(code, 0, "{r}");
    assert_eq!(r["best"]["phase"], "square");
    assert!(l2(&best) <= 3.0 + 1e-4, "{}", l2(&best));
    assert!(l2(&best) > 2.9, "Square's L2 points lie on the sphere unless the box clips them: {}", l2(&best));
    assert!(best.iter().all(|v| (0.0..=1.0).contains(v)));
    let small = dir.path().join("small.json");
    let text = std::fs::read_to_string(&goal).unwrap().replace("\"epsilon\": 3.0", "\"epsilon\": 1.0");
    std::fs::write(&small, text.replace("../mnist/", root().join("testdata/mnist/").to_str().unwrap())).unwrap();
    let (code, r, best) = run_goal(dir.path(), &small, "square", &["--iterations", "100"]);
    assert_eq!((code, &r["best"]["phase"]), (1, &Value::from("square")), "{r}");
    assert!(l2(&best) <= 1.0 + 1e-4 && best.iter().all(|v| (0.0..=1.0).contains(v)), "{}", l2(&best));
    // auto runs Square on L2 balls too.
    let budget = ["--set", "stop_when_achieved=false", "--iterations", "2", "--set", "apgd_steps=2"];
    let (_, r, _) = run_goal(
        dir.path(),
        &goal,
        "auto",
        &[&budget[..], &["--set", "apgd_targets=1", "--set", "square_queries=3"]].concat(),
    );
    let phases: Vec<&str> = r["phases"].as_array().unwrap().iter().map(|p| p["method"].as_str().unwrap()).collect();
    assert_eq!(phases, ["apgd-ce", "apgd-t", "square", "adr"]);
}

#[test]
fn an_l2_samples_square_result_does_not_depend_on_its_batch() {
    let dir = tempfile::tempdir().unwrap();
    let template = dir.path().join("l2.json");
    std::fs::write(&template, r#"{"kind": "target_class", "epsilon": 2.0, "norm": "l2", "bounds": [0.0, 1.0]}"#)
        .unwrap();
    let reports: Vec<Value> = ["1", "3", "8"]
        .iter()
        .map(|b| audit_of(dir.path(), &format!("l2_{b}.json"), &template, "square", &["--batch", b]))
        .collect();
    for r in &reports[1..] {
        assert_eq!(r["samples"], reports[0]["samples"], "batch changed a sample's result");
    }
    for s in reports[0]["samples"].as_array().unwrap().iter().filter(|s| s["attacked"] == true) {
        assert!(s["distance_l2"].as_f64().unwrap() <= 2.0 + 1e-4, "{s}");
    }
}

#[test]
fn iterations_are_steps_per_restart_for_every_method() {
    let dir = tempfile::tempdir().unwrap();
    let goal = root().join("testdata/goals/untargeted_npy.json");
    for (method, phases) in [
        ("pgd", vec![("pgd", 7)]),
        ("apgd", vec![("apgd-ce", 7)]),
        ("square", vec![("square", 7)]),
        ("gd", vec![("gd", 7)]),
    ] {
        let out = dir.path().join(format!("{method}.json"));
        let o = Command::cargo_bin("adr-onnx")
            .unwrap()
            .arg("run")
            .arg(root().join("models/mnist_cnn_pgd.onnx"))
            .arg("--goal")
            .arg(&goal)
            .args(["--method", method, "--iterations", "7", "--set", "stop_when_achieved=false", "--quiet"])
            .args(["--backend", "tract", "--out"])
            .arg(&out)
            .arg("--artifacts")
            .arg(dir.path().join(method))
            .output()
            .unwrap();
        assert!(o.status.code() == Some(0) || o.status.code() == Some(1), "{}", String::from_utf8_lossy(&o.stderr));
        let r: Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
        let got: Vec<(String, u64)> = r["phases"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| (p["method"].as_str().unwrap().to_string(), p["iterations"].as_u64().unwrap()))
            .collect();
        let want: Vec<(String, u64)> = phases.iter().map(|(m, i)| (m.to_string(), *i)).collect();
        assert_eq!(got, want, "{method}");
    }
}

#[test]
fn square_and_apgd_t_refuse_goals_they_cannot_attack() {
    let dir = tempfile::tempdir().unwrap();
    for (method, goal, message) in [
        ("square", "testdata/goals/output_bound.json", "square attacks classification goals"),
        ("apgd-t", "testdata/goals/output_bound.json", "apgd-t attacks classification goals"),
    ] {
        let o = Command::cargo_bin("adr-onnx")
            .unwrap()
            .arg("run")
            .arg(root().join("models/rand_small_s1.onnx"))
            .arg("--goal")
            .arg(root().join(goal))
            .args(["--method", method, "--quiet", "--out"])
            .arg(dir.path().join("r.json"))
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(2));
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains(message), "{err}");
        assert_eq!(err.trim().lines().count(), 1, "{err}");
    }
}

/// With `--epsilon-tolerance 1` the radii listed only (the bisection is
/// tests/audit.rs's).
#[test]
fn an_epsilon_list_gives_a_robustness_curve() {
    let dir = tempfile::tempdir().unwrap();
    let png = dir.path().join("curve.png");
    let listed = ["--epsilons", "0.25,0.05,0.15", "--epsilon-tolerance", "1"];
    let r = audit(
        dir.path(),
        "curve.json",
        "apgd",
        &[&["--batch", "4", "--curve", png.to_str().unwrap()], &listed[..]].concat(),
    );
    assert_eq!(r["epsilons"], serde_json::json!([0.05, 0.15, 0.25]));
    assert_eq!(r["epsilon_tolerance"], 1.0);
    let curve = r["curve"].as_array().unwrap();
    let robust: Vec<u64> = curve.iter().map(|p| p["robust"].as_u64().unwrap()).collect();
    assert!(robust.windows(2).all(|w| w[1] <= w[0]), "{robust:?}");
    let s = &r["summary"];
    let last = s["clean_correct"].as_u64().unwrap() - s["successes"].as_u64().unwrap();
    assert_eq!(*robust.last().unwrap(), last);
    assert!(robust[0] > last, "eps 0.05 flips fewer than 0.25: {robust:?}");
    for x in r["samples"].as_array().unwrap() {
        match x["min_epsilon"].as_f64() {
            Some(e) => {
                assert_eq!(x["success"], true);
                assert!([0.05, 0.15, 0.25].contains(&e));
                assert!(x["distance_linf"].as_f64().unwrap() <= e + 1e-6);
                // The listed radius below, which the sample survived.
                let below = [0.05, 0.15].into_iter().rfind(|&l| l < e);
                assert_eq!(x["max_robust_epsilon"].as_f64(), below, "{x}");
            }
            None => {
                assert_eq!(x["success"], false);
                let survived = if x["attacked"] == true { Some(0.25) } else { None };
                assert_eq!(x["max_robust_epsilon"].as_f64(), survived, "{x}");
            }
        }
    }
    assert!(std::fs::read(&png).unwrap().starts_with(b"\x89PNG"));
}

/// A targeted template with `target` (none: no target field).
fn targeted_template(dir: &Path, target: Option<Value>) -> PathBuf {
    let mut t = serde_json::json!({"kind": "target_class", "epsilon": 0.25, "bounds": [0.0, 1.0]});
    if let Some(v) = target {
        t["target"] = v;
    }
    let p = dir.join("targeted.json");
    std::fs::write(&p, t.to_string()).unwrap();
    p
}

fn audit_with(dir: &Path, template: &Path, extra: &[&str]) -> (i32, String, Value) {
    let out = dir.join("t.json");
    let _ = std::fs::remove_file(&out);
    let o = Command::cargo_bin("adr-onnx")
        .unwrap()
        .arg("audit")
        .arg(root().join("models/mnist_cnn_pgd.onnx"))
        .arg("--images")
        .arg(root().join("testdata/mnist/mnist_test_first32_images.npy"))
        .arg("--labels")
        .arg(root().join("testdata/mnist/mnist_test_first32_labels.npy"))
        .arg("--goal")
        .arg(template)
        .args(["--limit", "8", "--quiet", "--backend", "tract", "--method", "apgd", "--iterations", "10", "--out"])
        .arg(&out)
        .args(extra)
        .output()
        .unwrap();
    let report = std::fs::read_to_string(&out).map(|t| serde_json::from_str(&t).unwrap()).unwrap_or(Value::Null);
    (o.status.code().unwrap_or(-1), String::from_utf8_lossy(&o.stderr).into_owned(), report)
}

#[test]
fn targets_per_sample_random_least_likely_or_from_a_file() {
    let dir = tempfile::tempdir().unwrap();
    // The fixture's ONNX Runtime logits of the first samples.
    let logits: ndarray::Array2<f32> =
        ndarray_npy::read_npy(common::fixtures().join("models/mnist_cnn_pgd_logits_1000.npy")).unwrap();
    let (code, err, r) = audit_with(dir.path(), &targeted_template(dir.path(), Some("least_likely".into())), &[]);
    assert_eq!(code, 0, "{err}");
    for s in r["samples"].as_array().unwrap() {
        let i = s["index"].as_u64().unwrap() as usize;
        let row = logits.row(i);
        let lowest = (0..10).min_by(|&a, &b| row[a].total_cmp(&row[b])).unwrap();
        assert_eq!(s["target"], lowest, "sample {i}");
        if s["success"] == true {
            assert_eq!(s["adversarial_prediction"], lowest);
        }
    }
    let (code, err, r) = audit_with(dir.path(), &targeted_template(dir.path(), Some("random".into())), &[]);
    assert_eq!(code, 0, "{err}");
    let random: Vec<u64> = r["samples"].as_array().unwrap().iter().map(|s| s["target"].as_u64().unwrap()).collect();
    for s in r["samples"].as_array().unwrap() {
        assert_ne!(s["target"], s["label"]);
    }
    assert!(random.iter().collect::<std::collections::BTreeSet<_>>().len() > 1, "{random:?}");
    // The same seed draws the same targets.
    let (_, _, again) = audit_with(dir.path(), &targeted_template(dir.path(), Some("random".into())), &[]);
    assert_eq!(again["samples"], r["samples"]);

    let targets = dir.path().join("targets.npy");
    let given: Vec<i64> = (0..32).map(|i| (i % 10) as i64).collect();
    ndarray_npy::write_npy(&targets, &ndarray::Array1::from(given.clone())).unwrap();
    let plain = targeted_template(dir.path(), None);
    let (code, err, r) = audit_with(dir.path(), &plain, &["--targets", targets.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    for s in r["samples"].as_array().unwrap() {
        let i = s["index"].as_u64().unwrap() as usize;
        assert_eq!(s["target"], given[i]);
        if s["label"] == given[i] {
            assert_eq!(s["attacked"], false);
        }
    }
    // Both a template target and --targets: refused, naming the field.
    let both = targeted_template(dir.path(), Some(3.into()));
    let (code, err, _) = audit_with(dir.path(), &both, &["--targets", targets.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(err.contains("/target") && err.contains("not both"), "{err}");
    let unknown = targeted_template(dir.path(), Some("most_likely".into()));
    let (code, err, _) = audit_with(dir.path(), &unknown, &[]);
    assert_eq!(code, 2);
    assert!(err.contains("unknown target 'most_likely'"), "{err}");
}

#[test]
fn target_all_searches_every_wrong_class_until_one_is_reached() {
    let dir = tempfile::tempdir().unwrap();
    let logits: ndarray::Array2<f32> =
        ndarray_npy::read_npy(common::fixtures().join("models/mnist_cnn_pgd_logits_1000.npy")).unwrap();
    let ranked = |i: usize, label: usize| -> Vec<u64> {
        let row = logits.row(i);
        let mut order: Vec<usize> = (0..10).filter(|&c| c != label).collect();
        order.sort_by(|&a, &b| row[b].total_cmp(&row[a]).then(a.cmp(&b)));
        order.into_iter().map(|c| c as u64).collect()
    };
    let all = targeted_template(dir.path(), Some("all".into()));
    let (code, err, r) = audit_with(dir.path(), &all, &["--batch", "3"]);
    assert_eq!(code, 0, "{err}");
    let mut reached = 0;
    for s in r["samples"].as_array().unwrap().iter().filter(|s| s["attacked"] == true) {
        let (i, label) = (s["index"].as_u64().unwrap() as usize, s["label"].as_u64().unwrap() as usize);
        let order = ranked(i, label);
        if s["success"] == true {
            // The class reached is the sample's target and its prediction.
            assert_eq!(s["adversarial_prediction"], s["target"], "sample {i}");
            assert!(order.contains(&s["target"].as_u64().unwrap()), "sample {i}");
            reached += 1;
        } else {
            // Every class was tried, the least likely last.
            assert_eq!(s["target"], *order.last().unwrap(), "sample {i}");
        }
    }
    assert!(reached > 0, "no sample reached any class: {r}");
    // A sample's searches do not depend on its batch.
    let (_, _, one) = audit_with(dir.path(), &all, &["--batch", "1"]);
    assert_eq!(one["samples"], r["samples"]);

    // `run`: one search per class, most likely first, until one is reached:
    // at radius 0.3 the first class tried (4) is reached in 2 steps, at
    // 0.15 none of the 9 is.
    let images = root().join("testdata/mnist/mnist_test_first32_images.npy");
    let order = ranked(12, 9);
    for (epsilon, code_wanted, tried_wanted) in [(0.3, 0, 1), (0.15, 1, 9)] {
        let goal = dir.path().join("all.json");
        let text = serde_json::json!({"kind": "target_class", "input": {"npy": images, "index": 12}, "label": 9,
            "target": "all", "epsilon": epsilon});
        std::fs::write(&goal, text.to_string()).unwrap();
        let (code, r, _) = run_goal(dir.path(), &goal, "apgd", &["--iterations", "10"]);
        assert_eq!(code, code_wanted, "{r}");
        let phases = r["phases"].as_array().unwrap();
        assert!(phases.iter().all(|p| p["method"] == "apgd-ce"), "{phases:?}");
        assert_eq!(phases.len(), tried_wanted, "one search per class tried");
        let target = r["goal"]["target"].as_u64().unwrap();
        assert_eq!(target, order[tried_wanted - 1], "the last search's class names the goal");
        assert!(r["criterion"].as_str().unwrap().contains(&format!("= {target} (label 9)")), "{}", r["criterion"]);
        let iterations: u64 = phases.iter().map(|p| p["iterations"].as_u64().unwrap()).sum();
        assert_eq!(r["iterations"].as_u64().unwrap(), iterations);
        if code == 0 {
            assert_eq!(r["best"]["predicted_class"], target, "{}", r["best"]);
        }
    }
}

#[test]
fn run_prints_one_summary_line_unless_quiet() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("r.json");
    let run = |quiet: bool| {
        let mut c = Command::cargo_bin("adr-onnx").unwrap();
        c.arg("run")
            .arg(root().join("models/mnist_cnn_pgd.onnx"))
            .arg("--goal")
            .arg(root().join("testdata/goals/untargeted_npy.json"))
            .args(["--method", "apgd", "--iterations", "5", "--backend", "tract", "--out"])
            .arg(&out);
        if quiet {
            c.arg("--quiet");
        }
        let o = c.output().unwrap();
        String::from_utf8_lossy(&o.stderr).into_owned()
    };
    let line = run(false);
    assert_eq!(line.lines().count(), 1, "{line}");
    assert!(line.contains("achieved by apgd-ce: score "), "{line}");
    assert!(line.contains("L-inf") && line.contains(&format!("report {}", out.display())), "{line}");
    assert_eq!(run(true), "");
}

/// A given start off the ball's centre (an audit's bisection warm-starts
/// there) is restart 0's start even for the methods that start at random;
/// the other restarts, and a start at the centre, stay random.
#[test]
fn a_warm_start_is_restart_zero_even_where_starts_are_random() {
    use adr_onnx::goal::Start;
    use adr_onnx::optim::{starts, Row};
    use rand::SeedableRng;
    let model = adr_onnx::onnx::import(&root().join("models/mnist_cnn_pgd.onnx")).unwrap();
    let goal = adr_onnx::goal::load(&root().join("testdata/goals/untargeted_npy.json"), &model).unwrap();
    let Start::Given(clean) = goal.start.clone() else { panic!("a target_class goal starts at its input") };
    let mut warm: Vec<f32> = clean.iter().map(|v| v + 0.01).collect();
    goal.feasible.project(&mut warm);
    let rows = [Row { task: 0, restart: 0 }, Row { task: 0, restart: 1 }];
    let draw = |start: &[f32]| {
        let g = adr_onnx::goal::Goal { start: Start::Given(start.to_vec()), ..goal.clone() };
        let mut rngs = vec![rand_chacha::ChaCha8Rng::seed_from_u64(7); 2];
        let x = starts(&[g], &rows, &mut rngs, true);
        (x.row(0).to_vec(), x.row(1).to_vec())
    };
    let (first, second) = draw(&warm);
    assert!(first == warm && second != warm);
    let (first, second) = draw(&clean);
    assert!(first != clean && second != clean);
}
