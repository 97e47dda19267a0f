//! Hardening regressions through the binary: tampered audit shards, outputs
//! that would replace inputs or follow symlinks, inputs that are not regular
//! files, invalid ONNX, and messages that named the wrong thing.

use std::path::{Path, PathBuf};

#[allow(dead_code)]
#[path = "common/models.rs"]
mod models;
#[allow(dead_code)]
#[path = "common/reproducers.rs"]
mod reproducers;

use adr_onnx::writer::builder::{GraphBuilder, OnnxGraph, Precision};
use assert_cmd::Command;
use models::{weight, write_model};
use ndarray::{ArrayD, IxDyn};
use serde_json::Value;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).to_path_buf()
}

fn adr() -> Command {
    Command::cargo_bin("adr-onnx").unwrap()
}

fn mnist_model() -> PathBuf {
    root().join("models/mnist_cnn_pgd.onnx")
}

fn mnist_images() -> PathBuf {
    root().join("testdata/mnist/mnist_test_first32_images.npy")
}

fn mnist_labels() -> PathBuf {
    root().join("testdata/mnist/mnist_test_first32_labels.npy")
}

/// Runs the command, expects exit 2 and one error line containing every
/// `needle`; no panic. Returns the line.
fn expect_error(cmd: &mut Command, needles: &[&str]) -> String {
    let out = cmd.output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(2), "stderr: {stderr}");
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "expected one line, got: {stderr}");
    assert!(lines[0].starts_with("adr-onnx: error: "), "{stderr}");
    for n in needles {
        assert!(stderr.contains(n), "missing '{n}' in: {stderr}");
    }
    assert!(!stderr.contains("panicked") && !stderr.contains("internal error"), "{stderr}");
    stderr
}

fn expect_success(cmd: &mut Command) {
    let out = cmd.output().unwrap();
    assert_eq!(out.status.code(), Some(0), "stderr: {}", String::from_utf8_lossy(&out.stderr));
}

/// A quick audit of the first 6 MNIST samples (shard `shard` when given).
fn audit(out: &Path, shard: Option<&str>) -> Command {
    audit_of(&mnist_images(), out, shard)
}

fn audit_of(images: &Path, out: &Path, shard: Option<&str>) -> Command {
    let mut c = adr();
    c.arg("audit")
        .arg(mnist_model())
        .arg("--images")
        .arg(images)
        .arg("--labels")
        .arg(mnist_labels())
        .arg("--goal")
        .arg(root().join("testdata/templates/mnist_pgd_eps025.json"))
        .args(["--limit", "6", "--batch", "4", "--quiet", "--backend", "tract"])
        .args(["--method", "pgd", "--iterations", "3", "--restarts", "1"])
        .arg("--out")
        .arg(out);
    if let Some(s) = shard {
        c.args(["--shard", s]);
    }
    c
}

/// Two shards of the quick audit in `dir`.
fn two_shards(dir: &Path) -> [PathBuf; 2] {
    let shards = [dir.join("s0.json"), dir.join("s1.json")];
    for (k, p) in shards.iter().enumerate() {
        expect_success(&mut audit(p, Some(&format!("{k}/2"))));
    }
    shards
}

fn read_json(p: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
}

fn write_json(p: &Path, v: &Value) {
    std::fs::write(p, serde_json::to_string_pretty(v).unwrap()).unwrap();
}

/// SHA-256 of the rows as `audit::rows_sha256` computes it.
fn rows_digest(samples: &Value) -> String {
    let parsed: Vec<adr_onnx::audit::SampleResult> = serde_json::from_value(samples.clone()).unwrap();
    adr_onnx::audit::rows_sha256(&parsed)
}

fn merge(shards: &[&Path], out: &Path) -> Command {
    let mut c = adr();
    c.arg("audit-merge").args(shards).arg("--out").arg(out);
    c
}

#[test]
fn audit_merge_refuses_tampered_shards() {
    let dir = tempfile::tempdir().unwrap();
    let [s0, s1] = two_shards(dir.path());
    let out = dir.path().join("merged.json");
    expect_success(merge(&[&s0, &s1], &out).arg("--labels").arg(mnist_labels()));
    assert_eq!(read_json(&out)["summary"]["samples"], 6);

    let original = read_json(&s1);
    let bad = dir.path().join("bad.json");
    let tamper = |edit: &dyn Fn(&mut Value)| {
        let mut v = original.clone();
        edit(&mut v);
        write_json(&bad, &v);
    };
    let bad_name = bad.display().to_string();

    // A repeated sample ("samples 9" of 8 before).
    tamper(&|v| {
        let first = v["samples"][0].clone();
        v["samples"].as_array_mut().unwrap().push(first);
    });
    expect_error(&mut merge(&[&s0, &bad], &out), &[&bad_name, "sample 1 appears twice"]);
    // A removed one.
    tamper(&|v| drop(v["samples"].as_array_mut().unwrap().remove(1)));
    expect_error(&mut merge(&[&s0, &bad], &out), &[&bad_name, "sample 3 is missing"]);
    // None at all.
    tamper(&|v| v["samples"] = Value::Array(vec![]));
    expect_error(&mut merge(&[&s0, &bad], &out), &[&bad_name, "sample 1 is missing"]);
    // An edited label.
    tamper(&|v| v["samples"][0]["label"] = Value::from(9));
    expect_error(&mut merge(&[&s0, &bad], &out), &[&bad_name, "rows do not match its rows_sha256"]);
    // An edited outcome (a flipped sample made robust, or the reverse).
    tamper(&|v| {
        let success = v["samples"][0]["success"] == true;
        v["samples"][0]["success"] = Value::from(!success);
    });
    expect_error(&mut merge(&[&s0, &bad], &out), &[&bad_name, "rows do not match its rows_sha256"]);
    // An edited label with its digest recomputed: only the labels file tells.
    tamper(&|v| {
        v["samples"][0]["label"] = Value::from(9);
        v["rows_sha256"] = Value::from(rows_digest(&v["samples"]));
    });
    expect_success(&mut merge(&[&s0, &bad], &out));
    expect_error(
        merge(&[&s0, &bad], &out).arg("--labels").arg(mnist_labels()),
        &[&bad_name, "sample 1: label 9, but", "mnist_test_first32_labels.npy gives 2"],
    );
    // Another labels file, with the images: the dataset digest differs.
    let other_labels = dir.path().join("other_labels.npy");
    let mut labels: Vec<i64> = (0..32).map(|i| i % 10).collect();
    labels[..6].copy_from_slice(&[7, 2, 1, 0, 4, 1]);
    ndarray_npy::write_npy(&other_labels, &ndarray::Array1::from(labels)).unwrap();
    expect_error(
        merge(&[&s0, &s1], &out)
            .args(["--page".as_ref(), dir.path().join("p.html").as_os_str(), "--images".as_ref()])
            .arg(mnist_images())
            .arg("--labels")
            .arg(&other_labels),
        &["other_labels.npy: not the audited labels"],
    );
    expect_success(
        merge(&[&s0, &s1], &out)
            .args(["--page".as_ref(), dir.path().join("p.html").as_os_str(), "--images".as_ref()])
            .arg(mnist_images())
            .arg("--labels")
            .arg(mnist_labels()),
    );
}

// ---- outputs never replace inputs, never follow symlinks ----

fn rand_small() -> PathBuf {
    root().join("models/rand_small_s1.onnx")
}

fn output_bound_goal() -> PathBuf {
    root().join("testdata/goals/output_bound.json")
}

/// `run` on the small random network, 3 iterations.
fn quick_run(model: &Path, goal: &Path) -> Command {
    let mut c = adr();
    c.arg("run").arg(model).arg("--goal").arg(goal).args(["--iterations", "3", "--quiet", "--backend", "tract"]);
    c
}

/// A copy of `from` in `dir`.
fn copy(from: &Path, dir: &Path, name: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::copy(from, &p).unwrap();
    p
}

#[test]
fn no_command_writes_over_its_inputs() {
    let dir = tempfile::tempdir().unwrap();
    let model = copy(&rand_small(), dir.path(), "m.onnx");
    let goal = copy(&output_bound_goal(), dir.path(), "g.json");
    let before = std::fs::read(&model).unwrap();
    let refused = format!("{}: refusing to overwrite {}", model.display(), model.display());

    expect_error(quick_run(&model, &goal).arg("--out").arg(&model), &[&refused]);
    // Before any work: the model is not even read.
    let garbage = dir.path().join("garbage.onnx");
    std::fs::write(&garbage, "not a model").unwrap();
    expect_error(quick_run(&garbage, &goal).arg("--out").arg(&garbage), &["garbage.onnx: refusing to overwrite"]);
    expect_error(adr().arg("derive").arg(&garbage).arg("-o").arg(&garbage), &["garbage.onnx: refusing to overwrite"]);
    expect_error(adr().arg("derive").arg(&model).arg("-o").arg(&model), &[&refused]);
    let property = dir.path().join("p.vnnlib");
    std::fs::write(&property, "(declare-const X_0 Real)\n").unwrap();
    expect_error(
        adr().arg("falsify").arg(&model).arg(&property).arg("--out").arg(&property),
        &[&format!("{}: refusing to overwrite", property.display())],
    );
    expect_error(adr().arg("falsify").arg(&model).arg(&property).arg("--report").arg(&model), &[&refused]);
    // Through a symlink too: the link's target is the input.
    let link = dir.path().join("link.json");
    std::os::unix::fs::symlink(&goal, &link).unwrap();
    expect_error(quick_run(&model, &goal).arg("--out").arg(&link), &["link.json: refusing to overwrite", "g.json"]);
    // An artifact landing on an input.
    let art = dir.path().join("art");
    std::fs::create_dir(&art).unwrap();
    let npy_input = copy(&model, &art, "best_input.npy");
    expect_error(
        quick_run(&model, &npy_input).arg("--artifacts").arg(&art),
        &["best_input.npy: refusing to overwrite"],
    );
    assert_eq!(std::fs::read(&model).unwrap(), before);
    assert_eq!(std::fs::read(&goal).unwrap(), std::fs::read(output_bound_goal()).unwrap());

    let images = copy(&mnist_images(), dir.path(), "X.npy");
    expect_error(&mut audit_of(&images, &images, None), &["X.npy: refusing to overwrite"]);
    assert_eq!(std::fs::read(&images).unwrap(), std::fs::read(mnist_images()).unwrap());
    let out = dir.path().join("a.json");
    expect_error(
        audit(&out, None).arg("--page").arg(dir.path().join(".").join("a.json")),
        &["are the same output file"],
    );
}

#[test]
fn run_does_not_write_over_the_files_its_goal_reads() {
    let dir = tempfile::tempdir().unwrap();
    let art = dir.path().join("art");
    std::fs::create_dir(&art).unwrap();
    // A dataset the goal samples, where the artifacts land.
    let dataset = copy(&mnist_images(), &art, "best_input.npy");
    let goal = dir.path().join("g.json");
    std::fs::write(
        &goal,
        r#"{"kind": "target_class", "input": {"npy": "art/best_input.npy", "index": 0}, "label": 7, "epsilon": 0.1}"#,
    )
    .unwrap();
    expect_error(
        adr().arg("run").arg(mnist_model()).arg("--goal").arg(&goal).arg("--artifacts").arg(&art),
        &["best_input.npy: refusing to overwrite"],
    );
    assert_eq!(std::fs::read(&dataset).unwrap(), std::fs::read(mnist_images()).unwrap());
}

#[test]
fn two_spellings_of_an_output_in_a_new_folder_are_one_output() {
    let dir = tempfile::tempdir().unwrap();
    let goal = copy(&output_bound_goal(), dir.path(), "g.json");
    // The report would have been written over the artifact it names.
    expect_error(
        quick_run(&rand_small(), &goal).current_dir(dir.path()).args([
            "--out",
            "./new/best_input.npy",
            "--artifacts",
            "new",
        ]),
        &["are the same output file"],
    );
    assert!(!dir.path().join("new").exists());
}

#[test]
fn outputs_that_cannot_be_written_are_refused_before_any_work() {
    let dir = tempfile::tempdir().unwrap();
    let goal = copy(&output_bound_goal(), dir.path(), "g.json");
    let folder = dir.path().join("folder");
    std::fs::create_dir(&folder).unwrap();
    let missing = dir.path().join("missing").join("x.csv");
    expect_error(quick_run(&rand_small(), &goal).arg("--out").arg(&folder), &["folder: is a folder"]);
    let file = copy(&output_bound_goal(), dir.path(), "file");
    expect_error(
        quick_run(&rand_small(), &goal).arg("--out").arg(dir.path().join("r.json")).arg("--artifacts").arg(&file),
        &["file: cannot hold the outputs"],
    );
    // A report's folder is created, as its artifacts' is.
    let nested = dir.path().join("new").join("r.json");
    let o = quick_run(&rand_small(), &goal).arg("--out").arg(&nested).output().unwrap();
    assert!(matches!(o.status.code(), Some(0 | 1)), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(nested.is_file() && dir.path().join("new/r.artifacts/best_input.npy").is_file());
    let out = dir.path().join("a.json");
    expect_error(audit(&out, None).arg("--csv").arg(&missing), &["x.csv: its folder", "missing"]);
    assert!(!out.exists() && !dir.path().join("a.json.partial").exists());
    // falsify spent its whole timeout first, then could not write its
    // result. Now the model is not even read: a garbage one is not named.
    let property = dir.path().join("p.vnnlib");
    std::fs::write(&property, "(declare-const X_0 Real)\n").unwrap();
    let garbage = dir.path().join("garbage.onnx");
    std::fs::write(&garbage, "not a model").unwrap();
    let e = expect_error(
        adr().arg("falsify").arg(&garbage).arg(&property).arg("--out").arg(&missing),
        &["x.csv: its folder"],
    );
    assert!(!e.contains("garbage"), "{e}");
    // A --report that cannot be written still leaves the result file.
    let result = dir.path().join("result.txt");
    expect_error(
        adr().arg("falsify").arg(&garbage).arg(&property).arg("--out").arg(&result).arg("--report").arg(&missing),
        &["x.csv: its folder"],
    );
    assert!(std::fs::read_to_string(&result).unwrap().starts_with("error\n"));
    // A bad --set value too (it was checked before the result file).
    std::fs::remove_file(&result).unwrap();
    expect_error(
        adr().arg("falsify").arg(&garbage).arg(&property).arg("--out").arg(&result).args(["--set", "lr=abc"]),
        &["--set lr=abc: expected a number"],
    );
    assert_eq!(std::fs::read_to_string(&result).unwrap(), "error\n--set lr=abc: expected a number\n");
    let e =
        expect_error(quick_run(&garbage, &goal).arg("--out").arg(file.join("r.json")), &["cannot hold the outputs"]);
    assert!(!e.contains("garbage"), "{e}");
}

#[test]
fn audit_merge_does_not_write_over_a_shard() {
    let dir = tempfile::tempdir().unwrap();
    let s0 = dir.path().join("s0.json");
    std::fs::write(&s0, "{}").unwrap();
    let s1 = dir.path().join("s1.json");
    std::fs::write(&s1, "{}").unwrap();
    expect_error(&mut merge(&[&s0, &s1], &s0), &["s0.json: refusing to overwrite"]);
    assert_eq!(std::fs::read(&s0).unwrap(), b"{}");
}

#[test]
fn symlinks_in_the_artifacts_folder_are_replaced_not_followed() {
    let dir = tempfile::tempdir().unwrap();
    let precious = dir.path().join("precious.txt");
    std::fs::write(&precious, "keep me").unwrap();
    let art = dir.path().join("art");
    std::fs::create_dir(&art).unwrap();
    for name in ["best_input.npy", "objective.png"] {
        std::os::unix::fs::symlink(&precious, art.join(name)).unwrap();
    }
    let report = dir.path().join("report.json");
    std::os::unix::fs::symlink(&precious, &report).unwrap();
    let out = quick_run(&rand_small(), &output_bound_goal())
        .arg("--artifacts")
        .arg(&art)
        .arg("--out")
        .arg(&report)
        .output()
        .unwrap();
    assert!(out.status.code().is_some_and(|c| c < 2), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(std::fs::read(&precious).unwrap(), b"keep me");
    for p in [art.join("best_input.npy"), art.join("objective.png"), report.clone()] {
        assert!(std::fs::symlink_metadata(&p).unwrap().file_type().is_file(), "{}", p.display());
    }
    assert_eq!(read_json(&report)["schema_version"], 2);
    // Nothing but the outputs is left behind (no temporary files).
    let mut names: Vec<String> =
        std::fs::read_dir(&art).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    names.sort();
    assert_eq!(names, ["best_input.npy", "objective.png"]);
}

// ---- inputs must be regular files ----

#[test]
fn devices_directories_and_fifos_are_refused_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let quick = std::time::Duration::from_secs(60);
    expect_error(adr().arg("inspect").arg("/dev/zero").timeout(quick), &["/dev/zero: is a device, not a regular file"]);
    expect_error(
        quick_run(&rand_small(), Path::new("/dev/zero")).timeout(quick),
        &["/dev/zero: is a device, not a regular file"],
    );
    expect_error(adr().arg("inspect").arg(dir.path()).timeout(quick), &[": is a directory"]);
    expect_error(quick_run(&rand_small(), dir.path()).timeout(quick), &[": is a directory"]);
    let fifo = dir.path().join("goal.json");
    let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
    // SAFETY: a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    expect_error(quick_run(&rand_small(), &fifo).timeout(quick), &["goal.json: is a FIFO"]);
    expect_error(adr().arg("inspect").arg(&fifo).timeout(quick), &["goal.json: is a FIFO"]);
    let property = dir.path().join("p.vnnlib");
    expect_error(adr().arg("falsify").arg(rand_small()).arg("/dev/zero").timeout(quick), &["/dev/zero: is a device"]);
    // A goal file beyond the cap is refused without reading it.
    let big = dir.path().join("big.json");
    std::fs::File::create(&big).unwrap().set_len(65 << 20).unwrap();
    expect_error(
        quick_run(&rand_small(), &big).timeout(quick),
        &["big.json: larger than 64 MiB, the most adr-onnx reads from a goal file"],
    );
    std::fs::File::create(&property).unwrap().set_len(65 << 20).unwrap();
    expect_error(
        adr().arg("falsify").arg(rand_small()).arg(&property).timeout(quick),
        &["p.vnnlib: larger than 64 MiB, the most adr-onnx reads from a VNN-LIB property"],
    );
}

// ---- invalid ONNX ----

/// x [1, 3] -> MatMul -> Relu -> y (the corpus's model), then `edit` on
/// the model.
fn small_model(dir: &Path, name: &str, edit: impl FnOnce(&mut OnnxGraph)) -> PathBuf {
    let mut g = models::matmul_relu();
    edit(&mut g);
    write_model(dir, name, &g)
}

fn graph(g: &mut OnnxGraph) -> &mut tract_onnx::pb::GraphProto {
    g.model.graph.as_mut().unwrap()
}

#[test]
fn invalid_onnx_is_refused_naming_the_node() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let inspect = |p: &Path| {
        let mut c = adr();
        c.arg("inspect").arg(p);
        c
    };
    expect_success(&mut inspect(&small_model(d, "ok.onnx", |_| {})));

    let p = small_model(d, "relu2.onnx", |g| {
        let relu = graph(g).node.iter_mut().find(|n| n.op_type == "Relu").unwrap();
        relu.input.push("x".into());
    });
    expect_error(&mut inspect(&p), &["relu2.onnx: invalid ONNX model", "(Relu): 2 inputs; Relu takes 1"]);
    let p = small_model(d, "matmul1.onnx", |g| {
        let mm = graph(g).node.iter_mut().find(|n| n.op_type == "MatMul").unwrap();
        mm.input.truncate(1);
    });
    expect_error(&mut inspect(&p), &["(MatMul): 1 inputs; MatMul takes 2"]);
    let p = small_model(d, "dup_out.onnx", |g| {
        let nodes = &mut graph(g).node;
        let mm_out = nodes.iter().find(|n| n.op_type == "MatMul").unwrap().output[0].clone();
        let relu = nodes.iter_mut().find(|n| n.op_type == "Relu").unwrap();
        relu.name = "the_relu".into();
        relu.output[0] = mm_out.clone();
    });
    expect_error(&mut inspect(&p), &["node 'the_relu' (Relu): output", "is already produced by node"]);
    let p = small_model(d, "dup_in.onnx", |g| {
        let first = graph(g).input[0].clone();
        graph(g).input.push(first);
    });
    expect_error(&mut inspect(&p), &["graph input 'x' is declared twice"]);
    let p = small_model(d, "dup_output.onnx", |g| {
        let first = graph(g).output[0].clone();
        graph(g).output.push(first);
    });
    expect_error(&mut inspect(&p), &["graph output 'y' is declared twice"]);

    let p = small_model(d, "no_opset.onnx", |g| g.model.opset_import.clear());
    expect_error(&mut inspect(&p), &["no_opset.onnx: no opset_import"]);
    for version in [0, 1, 99] {
        let p = small_model(d, &format!("opset{version}.onnx"), |g| g.model.opset_import[0].version = version);
        expect_error(&mut inspect(&p), &[&format!("default-domain opset {version}; adr-onnx reads opsets 7 to 21")]);
    }
    let p = small_model(d, "nan.onnx", |g| {
        let init = &mut graph(g).initializer[0];
        init.raw_data[4..8].copy_from_slice(&f32::NAN.to_le_bytes());
    });
    expect_error(&mut inspect(&p), &["nan.onnx: initializer '", "element 1 is NaN"]);
}

// ---- messages that named the wrong thing ----

/// A 3-sample dataset written to `dir` for the MNIST CNN.
fn dataset(dir: &Path, pixel: impl Fn(usize, usize) -> f32) -> (PathBuf, PathBuf) {
    let values: Vec<f32> = (0..3 * 784).map(|i| pixel(i / 784, i % 784)).collect();
    let images = dir.join("X.npy");
    ndarray_npy::write_npy(&images, &ArrayD::from_shape_vec(IxDyn(&[3, 1, 28, 28]), values).unwrap()).unwrap();
    let labels = dir.join("y.npy");
    ndarray_npy::write_npy(&labels, &ndarray::arr1(&[7i64, 2, 1])).unwrap();
    (images, labels)
}

fn audit_dataset(images: &Path, labels: &Path, out: &Path) -> Command {
    let mut c = adr();
    c.arg("audit")
        .arg(mnist_model())
        .arg("--images")
        .arg(images)
        .arg("--labels")
        .arg(labels)
        .arg("--goal")
        .arg(root().join("testdata/templates/mnist_pgd_eps025.json"))
        .args(["--quiet", "--backend", "tract", "--method", "pgd", "--iterations", "2", "--out"])
        .arg(out);
    c
}

#[test]
fn audit_errors_name_the_images_file_and_the_sample() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("a.json");
    let (images, labels) = dataset(dir.path(), |s, i| if s == 2 && i == 5 { f32::NAN } else { 0.5 });
    expect_error(&mut audit_dataset(&images, &labels, &out), &["X.npy: sample 2: value 5 is NaN"]);
    let (images, labels) = dataset(dir.path(), |_, i| (i % 256) as f32);
    expect_error(
        &mut audit_dataset(&images, &labels, &out),
        &["X.npy: sample 0: input element 2 = 2 lies outside [0, 1], the bounds of", "mnist_pgd_eps025.json"],
    );
    let bytes = std::fs::read(&images).unwrap();
    std::fs::write(&images, &bytes[..bytes.len() / 2]).unwrap();
    expect_error(&mut audit_dataset(&images, &labels, &out), &["X.npy: truncated or not an .npy file"]);
}

fn attack_goal(dir: &Path, text: &str) -> PathBuf {
    let p = dir.join("goal.json");
    std::fs::write(&p, text).unwrap();
    p
}

#[test]
fn goal_errors_name_the_field() {
    let dir = tempfile::tempdir().unwrap();
    let png = root().join("testdata/mnist/digit_0_label_7.png");
    let png = png.display();
    let goal = attack_goal(
        dir.path(),
        &format!(r#"{{"kind": "target_class", "input": "{png}", "label": 7, "epsilon": 5e-324, "bounds": [0, 1]}}"#),
    );
    expect_error(
        &mut quick_run(&mnist_model(), &goal),
        &["at /epsilon: must be a positive, finite 32-bit number, got 5e-324, which is 0 as a 32-bit number"],
    );
    let goal = attack_goal(
        dir.path(),
        &format!(r#"{{"kind": "target_class", "input": "{png}", "label": 7, "epsilon": 0.1, "epsilon": 0.3}}"#),
    );
    expect_error(&mut quick_run(&mnist_model(), &goal), &["goal.json: at /: key `epsilon` appears twice"]);
    let goal = attack_goal(
        dir.path(),
        &format!(r#"{{"kind": "target_class", "input": "{png}", "label": 7, "method": {{"lr": 1, "lr": 2}}}}"#),
    );
    expect_error(&mut quick_run(&mnist_model(), &goal), &["goal.json: at /method: key `lr` appears twice"]);
    // A huge value is not echoed whole.
    let goal = attack_goal(dir.path(), &format!(r#"{{"kind": "{}"}}"#, "k".repeat(50 << 20)));
    let line = expect_error(&mut quick_run(&mnist_model(), &goal), &["goal.json: at /kind: unknown kind 'kkkk", "…"]);
    assert!(line.len() < 4000, "{} bytes", line.len());
}

#[test]
fn derive_refuses_an_alpha_beyond_f32() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("s.onnx");
    expect_error(
        adr().arg("derive").arg(rand_small()).arg("-o").arg(&out).args(["--alpha", "1e308"]),
        &["--alpha must be a positive, finite 32-bit number, got 1e308"],
    );
    assert!(!out.exists());
}

#[test]
fn derive_checks_the_goal_settings_as_run_does() {
    // `derive --step` resolves the goal's settings through the same
    // validation as `run`: a bad alpha in the method block is refused.
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("step.onnx");
    let goal = attack_goal(
        dir.path(),
        r#"{"kind": "output_bound", "output": 0, "direction": "maximize",
            "input": {"lower": -1.0, "upper": 1.0}, "method": {"alpha": 1e308}}"#,
    );
    expect_error(
        adr().arg("derive").arg(rand_small()).arg("-o").arg(&out).arg("--step").arg("--goal").arg(&goal),
        &["goal.json's method block", "alpha must be finite as a 32-bit number, got 1e308"],
    );
    assert!(!out.exists());
}

#[test]
fn bench_checks_its_set_pairs_as_run_does() {
    let fixtures = root().join("../shared/fixtures");
    expect_error(
        adr().arg("bench").arg("--fixtures").arg(&fixtures).args(
            "--backends tract --threads 1 --only vae_decoder --batches 1 --iterations 1 --set alpha=0".split(' '),
        ),
        &["reconstruction.json's method block, --set and the defaults): alpha must be a positive number, got 0"],
    );
}

#[test]
fn an_alpha_beyond_f32_is_refused_wherever_it_is_set() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("r.json");
    let mut c = quick_run(&rand_small(), &output_bound_goal());
    c.args(["--set", "alpha=1e308", "--out"]).arg(&out);
    expect_error(&mut c, &["alpha must be finite as a 32-bit number, got 1e308"]);
    assert!(!out.exists());
}

// ---- memory: every size checked before it is allocated (issue 14) ----

/// `x [1, dims...] -> Relu -> y`, the input's shape declared as `dims`
/// (nothing is built at that size).
fn model_with_input(dir: &Path, name: &str, dims: &[i64]) -> PathBuf {
    let mut g = models::relu("m", vec![1, 3]);
    {
        let input = &mut graph(&mut g).input[0];
        let Some(tract_onnx::pb::type_proto::Value::TensorType(t)) =
            input.r#type.as_mut().and_then(|t| t.value.as_mut())
        else {
            panic!("a tensor input")
        };
        let shape = t.shape.as_mut().unwrap();
        shape.dim = std::iter::once(1)
            .chain(dims.iter().copied())
            .map(|d| tract_onnx::pb::tensor_shape_proto::Dimension {
                value: Some(tract_onnx::pb::tensor_shape_proto::dimension::Value::DimValue(d)),
                ..Default::default()
            })
            .collect();
    }
    write_model(dir, name, &g)
}

fn inspect(model: &Path) -> Command {
    let mut c = adr();
    c.arg("inspect").arg(model);
    c
}

#[test]
fn shape_arithmetic_never_wraps() {
    let dir = tempfile::tempdir().unwrap();
    // (2^62 + 1) * 4 wrapped to 4 neurons, 2^40 * 2^40 to 0.
    let p = model_with_input(dir.path(), "wrap4.onnx", &[(1 << 62) + 1, 4]);
    expect_error(&mut inspect(&p), &["wrap4.onnx: input 'x': shape [4611686018427387905, 4] holds more than 2^48"]);
    let p = model_with_input(dir.path(), "wrap0.onnx", &[1 << 40, 1 << 40]);
    expect_error(&mut inspect(&p), &["wrap0.onnx: input 'x': shape [1099511627776, 1099511627776] holds more than"]);
}

/// `x [1, 3] -> Pad (0, 0, 0, pad) -> Relu`, opset 13 (pads an input).
fn padded_model(dir: &Path, name: &str, pad: usize) -> PathBuf {
    let mut b = GraphBuilder::new("m", Precision::F32).with_opset(13);
    let x = b.input("x", vec![1, 3]);
    let pads = b.constant_i64("pads", &[0, 0, 0, pad as i64]);
    let padded = b.node("Pad", &[&x, &pads], vec![], vec![1, 3 + pad]);
    let y = b.node("Relu", &[&padded], vec![], vec![1, 3 + pad]);
    b.output(&y, "y");
    write_model(dir, name, &b.finish())
}

/// `x [1, 1, 4, 4] -> Conv 1x1 with pads `pad` -> Relu`.
fn padded_conv(dir: &Path, name: &str, pad: usize) -> PathBuf {
    let mut b = GraphBuilder::new("m", Precision::F32);
    let x = b.input("x", vec![1, 1, 4, 4]);
    let w = b.constant("w", &weight(&[1, 1, 1, 1]));
    let side = 4 + 2 * pad;
    let attrs = vec![adr_onnx::writer::builder::attr_ints("pads", &[pad; 4])];
    let h = b.node("Conv", &[&x, &w], attrs, vec![1, 1, side, side]);
    let y = b.node("Relu", &[&h], vec![], vec![1, 1, side, side]);
    b.output(&y, "y");
    write_model(dir, name, &b.finish())
}

/// An output-bound goal on `y` for the models above (input in [0, 1]).
fn bound_goal(dir: &Path) -> PathBuf {
    let p = dir.join("bound.json");
    std::fs::write(&p, r#"{"kind": "output_bound", "output": "y", "index": 0, "maximize": true, "bounds": [0, 1]}"#)
        .unwrap();
    p
}

#[test]
fn models_too_large_for_memory_stop_before_allocating() {
    let dir = tempfile::tempdir().unwrap();
    let goal = bound_goal(dir.path());
    let run = |model: &Path| {
        let mut c = quick_run(model, &goal);
        c.arg("--out").arg(dir.path().join("r.json"));
        c
    };
    // A Pad of 10^10: 40 GB a sample, some 900 GiB with the graphs' copies
    // (the limit is given: a machine may have that much).
    let p = padded_model(dir.path(), "pad.onnx", 10_000_000_000);
    expect_error(
        run(&p).args(["--max-memory", "64G"]),
        &[
            "run would need about",
            "one sample: 20000000009 activation values",
            "more than --max-memory",
            "lower the model's tensors",
        ],
    );
    // Describing the model or writing its surrogate allocates no activation.
    expect_success(&mut inspect(&p));
    expect_success(adr().arg("derive").arg(&p).arg("-o").arg(dir.path().join("s.onnx")));
    // A Pad of 2^62 + 2^62 overflows the extent.
    let p = padded_model(dir.path(), "pad_overflow.onnx", 1 << 62);
    expect_error(&mut inspect(&p), &["pad_overflow.onnx: node '", "(Pad): shape [", "holds more than 2^48"]);
    // A Conv with pads of 100000: 4e10 values a sample.
    let p = padded_conv(dir.path(), "conv.onnx", 100_000);
    expect_error(&mut run(&p), &["run would need about", "more than --max-memory", "lower the model's tensors"]);
    // An input of [1, 10^12].
    let p = model_with_input(dir.path(), "wide.onnx", &[1_000_000_000_000]);
    expect_error(&mut run(&p), &["run would need about", "more than --max-memory"]);
}

#[test]
fn restarts_beyond_memory_stream_and_tangents_beyond_it_are_refused_up_front() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("r.json");
    let goal = root().join("testdata/goals/untargeted_npy.json");
    let run = |extra: &[&str]| {
        let mut c = quick_run(&mnist_model(), &goal);
        c.args(extra).arg("--out").arg(&out);
        c
    };
    // A billion restarts stream through waves of the rows 200 MiB hold (about
    // 220): the first wave flips the digit (epsilon 0.3) and the run stops.
    for restarts_in in ["flag", "goal"] {
        let goal_text = format!(
            r#"{{"kind": "target_class", "input": {{"npy": "{}", "index": 12}}, "label": 9, "epsilon": 0.3{}}}"#,
            mnist_images().display(),
            if restarts_in == "goal" { r#", "method": {"restarts": 1000000000}"# } else { "" }
        );
        let g = attack_goal(dir.path(), &goal_text);
        let mut c = quick_run(&mnist_model(), &g);
        c.args(["--method", "pgd", "--max-memory", "200M", "--out"]).arg(&out);
        if restarts_in == "flag" {
            c.args(["--restarts", "1000000000"]);
        }
        expect_success(&mut c);
        let report: Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
        assert_eq!(report["achieved"], true, "{restarts_in}");
        assert_eq!(report["settings"]["restarts"], 1_000_000_000, "{restarts_in}");
        std::fs::remove_file(&out).unwrap();
    }
    let goal_tangents = attack_goal(
        dir.path(),
        &format!(
            r#"{{"kind": "target_class", "input": {{"npy": "{}", "index": 12}}, "label": 9, "epsilon": 0.1, "method": {{"normalisers": "random", "tangents": 1000000000}}}}"#,
            mnist_images().display()
        ),
    );
    expect_error(
        quick_run(&mnist_model(), &goal_tangents).arg("--out").arg(&out),
        &["1000000000 normaliser tangent rows", "lower tangents (--set tangents=N, or the goal's method.tangents)"],
    );
    expect_error(
        &mut run(&["--set", "tangents=1000000000", "--set", "normalisers=random"]),
        &["normaliser tangent rows", "lower tangents"],
    );
    expect_error(&mut run(&["--max-memory", "1M"]), &["more than --max-memory 1.0 MiB (as given)"]);
    let mut bad = run(&["--max-memory", "lots"]);
    let o = bad.output().unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("'lots' is not a size"));
    assert!(!out.exists());

    let audit_out = dir.path().join("a.json");
    // A batch holds no more goals than there are samples: a huge --batch
    // costs what the 32 samples cost.
    let mut a = audit_dataset(&mnist_images(), &mnist_labels(), &audit_out);
    a.args(["--batch", "100000000", "--limit", "4"]);
    expect_success(&mut a);
    std::fs::remove_file(&audit_out).unwrap();
    // An audit's restarts stream too: every sample flips at epsilon 0.5 in
    // the first wave.
    let template = attack_goal(dir.path(), r#"{"kind": "target_class", "epsilon": 0.5, "bounds": [0.0, 1.0]}"#);
    let mut a = adr();
    a.arg("audit")
        .arg(mnist_model())
        .arg("--images")
        .arg(mnist_images())
        .arg("--labels")
        .arg(mnist_labels())
        .arg("--goal")
        .arg(&template)
        .args(["--quiet", "--backend", "tract", "--method", "pgd", "--iterations", "5", "--limit", "3"])
        .args(["--restarts", "100000000", "--max-memory", "200M", "--out"])
        .arg(&audit_out);
    expect_success(&mut a);
    let report: Value = serde_json::from_str(&std::fs::read_to_string(&audit_out).unwrap()).unwrap();
    assert_eq!(report["summary"]["robust_accuracy"], 0.0, "{report}");

    let mut b = adr();
    b.arg("bench")
        .args(["--only", "mnist_cnn", "--backends", "tract", "--batches", "100000000", "--project"])
        .arg(root());
    expect_error(&mut b, &["bench would need about", "lower --batches"]);
}

#[test]
fn an_npy_header_claiming_more_samples_than_its_data_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (images, labels) = dataset(dir.path(), |_, _| 0.5);
    let bytes = std::fs::read(&images).unwrap();
    // "(3, 1, 28, 28)" -> "(1000000000000, 1, 28, 28)", taking room from the header's padding.
    let at = bytes.windows(14).position(|w| w == b"(3, 1, 28, 28)").unwrap();
    let newline = bytes.iter().position(|&b| b == b'\n').unwrap();
    let shape = b"(1000000000000, 1, 28, 28)";
    let mut forged = bytes[..at].to_vec();
    forged.extend_from_slice(shape);
    forged.extend_from_slice(&bytes[at + 14..newline - (shape.len() - 14)]);
    forged.extend_from_slice(&bytes[newline..]);
    std::fs::write(&images, &forged).unwrap();
    let out = dir.path().join("a.json");
    expect_error(
        &mut audit_dataset(&images, &labels, &out),
        &["X.npy: truncated or not an .npy file: its header claims shape [1000000000000, 1, 28, 28], which needs 3136000000000000 bytes"],
    );
}

#[test]
fn a_standard_output_that_cannot_be_written_is_an_error_not_a_panic() {
    let Ok(full) = std::fs::OpenOptions::new().write(true).open("/dev/full") else { return };
    let cases: [&[&str]; 4] = [&["--version"], &["--help"], &["inspect", "models/rand_small_s1.onnx"], &["man"]];
    for args in cases {
        let o = std::process::Command::new(assert_cmd::cargo::cargo_bin("adr-onnx"))
            .current_dir(root())
            .args(args)
            .stdout(full.try_clone().unwrap())
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&o.stderr);
        // --version and --help said exit 0; the others panicked (exit 2,
        // "internal error").
        assert_eq!(o.status.code(), Some(2), "{args:?}: {stderr}");
        assert_eq!(
            stderr.trim(),
            "adr-onnx: error: standard output: No space left on device (os error 28)",
            "{args:?}"
        );
    }
}

#[test]
fn an_audit_refused_by_anothers_lock_leaves_the_partial_file_alone() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("a.json");
    // Another run holds the partial file (its header written, no batch yet).
    let partial = dir.path().join("a.json.partial");
    std::fs::write(&partial, "{\"partial_audit\": {}, \"started_utc\": \"2025-01-01T00:00:00Z\"}\n").unwrap();
    let holder = std::fs::OpenOptions::new().read(true).write(true).open(&partial).unwrap();
    holder.try_lock().unwrap();
    expect_error(audit(&out, None).arg("--resume"), &["another adr-onnx audit is writing this partial file"]);
    // The refused run removed it as an empty partial file of its own.
    assert!(partial.exists(), "the holder's partial file was removed");
    drop(holder);
}

#[test]
fn an_audit_refuses_a_clean_output_that_is_not_finite() {
    // testdata/nan_logits/make.py: logit 1 is inf - inf at samples 0 and 1.
    // Its argmax skipped the NaN: counted clean-correct and, every attacked
    // point being unusable, robust (100 %), with margins null in the report.
    let d = root().join("testdata/nan_logits");
    let dir = tempfile::tempdir().unwrap();
    expect_error(
        adr()
            .arg("audit")
            .arg(d.join("nan.onnx"))
            .arg("--images")
            .arg(d.join("X.npy"))
            .arg("--labels")
            .arg(d.join("y.npy"))
            .arg("--goal")
            .arg(d.join("t.json"))
            .arg("--out")
            .arg(dir.path().join("a.json")),
        &["X.npy: sample 0: the model's output there is not finite ([0.5, NaN])"],
    );
}
