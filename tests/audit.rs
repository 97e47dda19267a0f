//! `adr-onnx audit` and `audit-merge` on the MNIST fixtures: the summary,
//! the page, and shards that merge into exactly the unsharded report.

mod common;

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use serde_json::Value;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).to_path_buf()
}

fn audit(dir: &Path, out: &str, extra: &[&str]) -> (i32, String) {
    let o = Command::cargo_bin("adr-onnx")
        .unwrap()
        .arg("audit")
        .arg(root().join("models/mnist_cnn_pgd.onnx"))
        .arg("--images")
        .arg(root().join("testdata/mnist/mnist_test_first32_images.npy"))
        .arg("--labels")
        .arg(root().join("testdata/mnist/mnist_test_first32_labels.npy"))
        .arg("--goal")
        .arg(root().join("testdata/templates/mnist_pgd_eps025.json"))
        .args(["--quiet", "--limit", "12", "--batch", "4", "--backend", "tract", "--out"])
        .arg(dir.join(out))
        .args(extra)
        .output()
        .unwrap();
    (o.status.code().unwrap_or(-1), String::from_utf8_lossy(&o.stderr).into_owned())
}

fn read(p: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
}

const QUICK_ADR: &[&str] = &["--method", "auto", "--set", "pgd_steps=30", "--iterations", "15", "--restarts", "2"];

#[test]
fn an_audit_reports_robust_accuracy_and_a_page() {
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("audit.html");
    let (code, err) = audit(dir.path(), "a.json", &[&["--page", page.to_str().unwrap()][..], QUICK_ADR].concat());
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("robust accuracy"), "{err}");
    let r = read(&dir.path().join("a.json"));
    let s = &r["summary"];
    assert_eq!(s["samples"], 12);
    let samples = r["samples"].as_array().unwrap();
    assert_eq!(samples.len(), 12);
    let correct = samples.iter().filter(|x| x["clean_correct"] == true).count();
    let flipped = samples.iter().filter(|x| x["success"] == true).count();
    assert_eq!(s["clean_correct"], correct);
    assert_eq!(s["successes"], flipped);
    assert!((s["robust_accuracy"].as_f64().unwrap() - (correct - flipped) as f64 / 12.0).abs() < 1e-12);
    let per_class: u64 = s["per_class"].as_array().unwrap().iter().map(|c| c["samples"].as_u64().unwrap()).sum();
    assert_eq!(per_class, 12);
    for x in samples.iter().filter(|x| x["success"] == true) {
        assert_ne!(x["adversarial_prediction"], x["label"]);
        assert!(x["distance_linf"].as_f64().unwrap() <= 0.25 + 1e-6);
        // The stored adversarial input decodes and stays in the valid box.
        let adv = adr_onnx::audit::decode_base64_f32(x["adversarial_f32le"].as_str().unwrap()).unwrap();
        assert_eq!(adv.len(), 784);
        assert!(adv.iter().all(|v| (0.0..=1.0).contains(v)));
    }
    assert!(flipped > 0, "PGD flips some of these at eps 0.25");
    let html = std::fs::read_to_string(&page).unwrap();
    assert_eq!(html.matches("data:image/png;base64,").count(), s["worst"].as_array().unwrap().len());
    assert!(html.contains("Robustness audit"));
}

#[test]
fn shards_merge_into_exactly_the_unsharded_report() {
    let dir = tempfile::tempdir().unwrap();
    let (code, err) = audit(dir.path(), "whole.json", QUICK_ADR);
    assert_eq!(code, 0, "{err}");
    let mut shards = Vec::new();
    for k in 0..3 {
        let name = format!("shard{k}.json");
        let (code, err) = audit(dir.path(), &name, &[&["--shard", &format!("{k}/3")][..], QUICK_ADR].concat());
        assert_eq!(code, 0, "{err}");
        shards.push(dir.path().join(name));
    }
    let o = Command::cargo_bin("adr-onnx")
        .unwrap()
        .arg("audit-merge")
        .args([&shards[2], &shards[0], &shards[1]])
        .arg("--out")
        .arg(dir.path().join("merged.json"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let whole = std::fs::read(dir.path().join("whole.json")).unwrap();
    let merged = std::fs::read(dir.path().join("merged.json")).unwrap();
    assert!(whole == merged, "the merged report differs from the unsharded one");

    // A missing or repeated shard is refused.
    let o = Command::cargo_bin("adr-onnx")
        .unwrap()
        .arg("audit-merge")
        .args([&shards[0], &shards[0]])
        .arg("--out")
        .arg(dir.path().join("x.json"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("given twice"));
    let o = Command::cargo_bin("adr-onnx")
        .unwrap()
        .arg("audit-merge")
        .args([&shards[0], &shards[1]])
        .arg("--out")
        .arg(dir.path().join("x.json"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("shard 2/3 is missing"));
}

#[test]
fn a_template_must_leave_input_and_label_to_the_dataset() {
    let dir = tempfile::tempdir().unwrap();
    let t = dir.path().join("t.json");
    std::fs::write(&t, r#"{"kind": "target_class", "epsilon": 0.1, "label": 3}"#).unwrap();
    let o = Command::cargo_bin("adr-onnx")
        .unwrap()
        .arg("audit")
        .arg(root().join("models/mnist_cnn_pgd.onnx"))
        .arg("--images")
        .arg(root().join("testdata/mnist/mnist_test_first32_images.npy"))
        .arg("--labels")
        .arg(root().join("testdata/mnist/mnist_test_first32_labels.npy"))
        .arg("--goal")
        .arg(&t)
        .arg("--out")
        .arg(dir.path().join("a.json"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("/label") && err.contains("dataset supplies"), "{err}");
}
