//! `adr-onnx audit` and `audit-merge` on the MNIST fixtures: the summary,
//! the page, and shards that merge into exactly the unsharded report.

mod common;

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use serde_json::Value;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).to_path_buf()
}

fn images() -> PathBuf {
    root().join("testdata/mnist/mnist_test_first32_images.npy")
}

fn labels() -> PathBuf {
    root().join("testdata/mnist/mnist_test_first32_labels.npy")
}

/// `adr-onnx audit` on the first 12 MNIST samples in batches of 4 (unless
/// `extra` sets `--limit` or `--batch`).
fn audit(dir: &Path, out: &str, extra: &[&str]) -> (i32, String) {
    audit_on(&images(), &labels(), &root().join("testdata/templates/mnist_pgd_eps025.json"), dir, out, extra)
}

fn audit_on(images: &Path, labels: &Path, goal: &Path, dir: &Path, out: &str, extra: &[&str]) -> (i32, String) {
    let o = Command::cargo_bin("adr-onnx")
        .unwrap()
        .arg("audit")
        .arg(root().join("models/mnist_cnn_pgd.onnx"))
        .arg("--images")
        .arg(images)
        .arg("--labels")
        .arg(labels)
        .arg("--goal")
        .arg(goal)
        .args(if extra.contains(&"--limit") { &[][..] } else { &["--limit", "12"][..] })
        .args(if extra.contains(&"--batch") { &[][..] } else { &["--batch", "4"][..] })
        .args(["--quiet", "--backend", "tract", "--out"])
        .arg(dir.join(out))
        .args(extra)
        .output()
        .unwrap();
    (o.status.code().unwrap_or(-1), String::from_utf8_lossy(&o.stderr).into_owned())
}

fn merge(args: &[&std::ffi::OsStr]) -> (i32, String) {
    let o = Command::cargo_bin("adr-onnx").unwrap().arg("audit-merge").args(args).output().unwrap();
    (o.status.code().unwrap_or(-1), String::from_utf8_lossy(&o.stderr).into_owned())
}

fn read(p: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
}

const QUICK_ADR: &[&str] = &[
    "--method",
    "auto",
    "--set",
    "apgd_steps=20",
    "--set",
    "apgd_targets=2",
    "--set",
    "square_queries=30",
    "--iterations",
    "15",
    "--restarts",
    "2",
];

#[test]
fn an_audit_reports_robust_accuracy_and_a_page() {
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("audit.html");
    let (code, err) = audit(dir.path(), "a.json", &[&["--page", page.to_str().unwrap()][..], QUICK_ADR].concat());
    assert_eq!(code, 0, "{err}");
    assert_eq!(err, "", "--quiet: no summary line");
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
        assert!(x["distance_linf"].as_f64().unwrap() <= 0.25, "within epsilon exactly, as stored");
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
    let merged = dir.path().join("merged.json");
    let out = dir.path().join("x.json");
    let (code, err) = merge(&[
        shards[2].as_os_str(),
        shards[0].as_os_str(),
        shards[1].as_os_str(),
        "--out".as_ref(),
        merged.as_os_str(),
    ]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(err.lines().count(), 1, "one summary line: {err}");
    assert!(err.starts_with("merged 3 shard reports, 12 samples: clean accuracy "), "{err}");
    assert!(err.contains("robust accuracy") && err.trim_end().ends_with("merged.json"), "{err}");
    let whole = std::fs::read(dir.path().join("whole.json")).unwrap();
    assert!(whole == std::fs::read(&merged).unwrap(), "the merged report differs from the unsharded one");
    let quiet = dir.path().join("quiet.json");
    let (code, err) = merge(&[
        shards[0].as_os_str(),
        shards[1].as_os_str(),
        shards[2].as_os_str(),
        "--quiet".as_ref(),
        "--out".as_ref(),
        quiet.as_os_str(),
    ]);
    assert_eq!((code, err.as_str()), (0, ""), "--quiet: no summary line");

    // A missing or repeated shard is refused.
    let (code, err) = merge(&[shards[0].as_os_str(), shards[0].as_os_str(), "--out".as_ref(), out.as_os_str()]);
    assert_eq!(code, 2);
    assert!(err.contains("shard0.json: shard 0/3 given twice"), "{err}");
    let (code, err) = merge(&[shards[0].as_os_str(), shards[1].as_os_str(), "--out".as_ref(), out.as_os_str()]);
    assert_eq!(code, 2);
    assert!(err.contains("shard 2/3 is missing"), "{err}");
}

/// A sample's result depends on the sample alone: not on the batch size,
/// the threads, its shard or its batch companions (which flip and stop
/// early at different iterations). ADR's normalisers and plain GD (whose
/// unit steps carry the last bits of every gradient) are the sensitive ones.
#[test]
fn a_sample_s_result_depends_on_neither_batch_threads_nor_shard() {
    let dir = tempfile::tempdir().unwrap();
    for method in ["adr", "gd"] {
        let run = |name: &str, extra: &[&str]| {
            let base = ["--method", method, "--iterations", "12", "--limit", "8"];
            let (code, err) = audit(dir.path(), name, &[&base[..], extra].concat());
            assert_eq!(code, 0, "{err}");
            std::fs::read(dir.path().join(name)).unwrap()
        };
        let whole = run("whole.json", &["--batch", "8"]);
        for (name, extra) in [("b1.json", &["--batch", "1"][..]), ("b3t1.json", &["--batch", "3", "--threads", "1"])] {
            assert!(run(name, extra) == whole, "{method}: {name} differs from the report at --batch 8");
        }
        let shards: Vec<PathBuf> = (0..3)
            .map(|k| {
                let name = format!("{method}-shard{k}.json");
                run(&name, &["--batch", "2", "--shard", &format!("{k}/3")]);
                dir.path().join(name)
            })
            .collect();
        let merged = dir.path().join("merged.json");
        let mut args: Vec<&std::ffi::OsStr> = shards.iter().map(|p| p.as_os_str()).collect();
        args.extend(["--out".as_ref(), merged.as_os_str()]);
        let (code, err) = merge(&args);
        assert_eq!(code, 0, "{err}");
        assert!(std::fs::read(&merged).unwrap() == whole, "{method}: 3 shards at --batch 2 differ from the whole");
        std::fs::remove_file(&merged).unwrap();
    }
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

const QUICK_PGD: &[&str] = &["--method", "pgd", "--set", "pgd_steps=20", "--restarts", "1"];

#[test]
fn a_targeted_audit_skips_the_samples_of_the_target_class() {
    let dir = tempfile::tempdir().unwrap();
    let t = dir.path().join("t.json");
    std::fs::write(&t, r#"{"kind": "target_class", "epsilon": 0.25, "bounds": [0.0, 1.0], "target": 1}"#).unwrap();
    let (code, err) = audit_on(&images(), &labels(), &t, dir.path(), "whole.json", QUICK_PGD);
    assert_eq!(code, 0, "{err}");
    let whole = read(&dir.path().join("whole.json"));
    let samples = whole["samples"].as_array().unwrap();
    // Samples 2 and 5 of the first 12 have label 1.
    for x in samples {
        if x["label"] == 1 {
            assert_eq!(x["attacked"], false);
            assert_eq!(
                x["skip_reason"],
                if x["clean_correct"] == true { "label is the target" } else { "misclassified clean" }
            );
        } else {
            assert_eq!(x["attacked"], x["clean_correct"]);
        }
        if x["success"] == true {
            assert_eq!(x["adversarial_prediction"], 1);
        }
    }
    let attacked = samples.iter().filter(|x| x["clean_correct"] == true && x["label"] != 1).count();
    let s = &whole["summary"];
    assert_eq!(s["attacked"], attacked);
    let rate = s["successes"].as_f64().unwrap() / attacked as f64;
    assert!((s["attack_success_rate"].as_f64().unwrap() - rate).abs() < 1e-12);

    // Shard 2/3 starts with sample 2, whose label is the target.
    let (code, err) =
        audit_on(&images(), &labels(), &t, dir.path(), "shard2.json", &[&["--shard", "2/3"], QUICK_PGD].concat());
    assert_eq!(code, 0, "{err}");
    let shard = read(&dir.path().join("shard2.json"));
    let expected: Vec<&Value> = samples.iter().filter(|x| x["index"].as_u64().unwrap() % 3 == 2).collect();
    assert_eq!(shard["samples"].as_array().unwrap().iter().collect::<Vec<_>>(), expected);
}

#[test]
fn a_target_outside_the_classes_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let t = dir.path().join("t.json");
    std::fs::write(&t, r#"{"kind": "target_class", "epsilon": 0.25, "target": 10}"#).unwrap();
    let (code, err) = audit_on(&images(), &labels(), &t, dir.path(), "a.json", &[]);
    assert_eq!(code, 2);
    assert!(err.contains("t.json: at /target: class 10 is not between 0 and 9"), "{err}");
}

fn write_labels(dir: &Path, labels: &[i64]) -> PathBuf {
    let p = dir.join("y.npy");
    ndarray_npy::write_npy(&p, &ndarray::arr1(labels)).unwrap();
    p
}

const MNIST_LABELS: [i64; 32] =
    [7, 2, 1, 0, 4, 1, 4, 9, 5, 9, 0, 6, 9, 0, 1, 5, 9, 7, 3, 4, 9, 6, 6, 5, 4, 0, 7, 4, 0, 1, 3, 1];

#[test]
fn every_label_is_checked_against_the_model_before_the_attacks() {
    let dir = tempfile::tempdir().unwrap();
    let template = root().join("testdata/templates/mnist_pgd_eps025.json");
    // Beyond --limit still counts, and it is not the first sample of the shard.
    let mut bad = MNIST_LABELS;
    bad[20] = 10;
    let y = write_labels(dir.path(), &bad);
    let (code, err) = audit_on(&images(), &y, &template, dir.path(), "a.json", &["--shard", "1/3"]);
    assert_eq!(code, 2);
    assert!(err.contains("y.npy: sample 20: label 10 is not a class of the model (0..9)"), "{err}");
    bad[20] = -1;
    let y = write_labels(dir.path(), &bad);
    let (code, err) = audit_on(&images(), &y, &template, dir.path(), "a.json", &[]);
    assert_eq!(code, 2);
    assert!(err.contains("y.npy: sample 20: label -1 is not a class index"), "{err}");
}

#[test]
fn the_dataset_must_be_consistent_and_not_empty() {
    let dir = tempfile::tempdir().unwrap();
    let template = root().join("testdata/templates/mnist_pgd_eps025.json");
    // One label short: --limit 12 must not hide it.
    let y = write_labels(dir.path(), &MNIST_LABELS[..31]);
    let (code, err) = audit_on(&images(), &y, &template, dir.path(), "a.json", &[]);
    assert_eq!(code, 2);
    assert!(
        err.contains("mnist_test_first32_images.npy holds 32 images but") && err.contains("y.npy holds 31 labels"),
        "{err}"
    );
    let (code, err) = audit(dir.path(), "a.json", &["--limit", "0"]);
    assert_eq!(code, 2);
    assert!(err.contains("the dataset holds no sample"), "{err}");
    let (code, err) = audit(dir.path(), "a.json", &["--shard", "12/13"]);
    assert_eq!(code, 2);
    assert!(err.contains("shard 12/13 holds no sample: N must not exceed the dataset's 12 samples"), "{err}");
}

#[test]
fn the_merge_page_needs_the_audited_images() {
    let dir = tempfile::tempdir().unwrap();
    let (code, err) = audit(dir.path(), "whole.json", &["--limit", "4", "--method", "pgd", "--set", "pgd_steps=5"]);
    assert_eq!(code, 0, "{err}");
    let whole = dir.path().join("whole.json");
    let out = dir.path().join("merged.json");
    let page = dir.path().join("merged.html");
    let (code, err) =
        merge(&[whole.as_os_str(), "--out".as_ref(), out.as_os_str(), "--images".as_ref(), images().as_os_str()]);
    assert_eq!(code, 2);
    assert!(err.contains("--images is only used with --page"), "{err}");
    let with_page = |images: &Path| {
        merge(&[
            whole.as_os_str(),
            "--out".as_ref(),
            out.as_os_str(),
            "--page".as_ref(),
            page.as_os_str(),
            "--images".as_ref(),
            images.as_os_str(),
        ])
    };
    let (code, err) = with_page(&root().join("testdata/mnist/mnist_test_first32_labels.npy"));
    assert_eq!(code, 2);
    assert!(err.contains("mnist_test_first32_labels.npy: not the audited images"), "{err}");
    assert!(!out.exists() && !page.exists());
    let (code, err) = with_page(&images());
    assert_eq!(code, 0, "{err}");
    assert!(page.exists());
    assert_eq!(std::fs::read(&out).unwrap(), std::fs::read(&whole).unwrap());
}
