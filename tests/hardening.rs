//! Hardening regressions through the binary: tampered audit shards, outputs
//! that would replace inputs or follow symlinks, inputs that are not regular
//! files, invalid ONNX, and messages that named the wrong thing.

use std::path::{Path, PathBuf};

use assert_cmd::Command;
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
