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

/// A report's bytes without its `provenance` block (the last key), where
/// two runs of the same audit differ (backend, date, duration).
fn without_provenance(bytes: &[u8]) -> Vec<u8> {
    let text = std::str::from_utf8(bytes).unwrap();
    let at = text.rfind(",\n  \"provenance\": {").expect("a provenance block");
    assert!(text.ends_with("\n  }\n}\n"), "provenance is the last key");
    format!("{}\n}}\n", &text[..at]).into_bytes()
}

/// The report at `p` without its provenance.
fn report_bytes(p: &Path) -> Vec<u8> {
    without_provenance(&std::fs::read(p).unwrap())
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
    // The derived network was checked against the file on the first samples.
    let check = &r["provenance"]["file_check"];
    assert_eq!(check["rows"], 8 + flipped, "the first 8 samples and every adversarial: {check}");
    assert!(check["max_difference"].as_f64().is_some_and(|d| d < 1e-4), "{check}");
    assert!(check.get("unavailable").is_none());
    let on_ort = std::env::var_os("ADR_ONNX_REQUIRE_ORT").is_some();
    assert_eq!(check["runtime"], if on_ort { "onnxruntime" } else { "tract" }, "{check}");
    let html = std::fs::read_to_string(&page).unwrap();
    assert_eq!(html.matches("data:image/png;base64,").count(), s["worst"].as_array().unwrap().len());
    assert!(html.contains("Robustness audit"));
    // What ran, and each class's robust accuracy.
    assert!(html.contains(&format!("method <b>{}</b>", r["settings"]["algorithm"].as_str().unwrap())), "{html}");
    assert!(html.contains(&format!("backend {}", r["provenance"]["backend"].as_str().unwrap())));
    assert!(html.contains("<summary>settings</summary>") && html.contains("<th>iterations</th><td>15</td>"));
    assert!(html.contains("<th>robust accuracy</th>"));
    let class = &s["per_class"].as_array().unwrap()[0];
    let accuracy = 100.0 * class["robust"].as_f64().unwrap() / class["samples"].as_f64().unwrap();
    assert!(html.contains(&format!("<td>{accuracy:.2}%</td></tr>")), "class {}: {accuracy:.2}%", class["class"]);
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
    let whole = report_bytes(&dir.path().join("whole.json"));
    assert!(whole == report_bytes(&merged), "the merged report differs from the unsharded one");
    let shard_starts: Vec<Value> = shards.iter().map(|p| read(p)["provenance"]["started_utc"].clone()).collect();
    let merged_shards = read(&merged)["provenance"]["shards"].as_array().unwrap().clone();
    assert_eq!(merged_shards.iter().map(|p| p["started_utc"].clone()).collect::<Vec<_>>(), shard_starts);
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
/// unit steps carry the last bits of every gradient) are the sensitive ones;
/// GD again with `--epsilons`, whose bisection attacks a batch's samples
/// at radii of their own, warm-started (it flips samples 1 and 6).
#[test]
fn a_sample_s_result_depends_on_neither_batch_threads_nor_shard() {
    let dir = tempfile::tempdir().unwrap();
    let refined = ["--epsilons", "0.15,0.25,0.35", "--epsilon-tolerance", "0.1"];
    for (tag, method, more) in [("adr", "adr", &[][..]), ("gd", "gd", &[][..]), ("gd-refined", "gd", &refined[..])] {
        let run = |name: &str, extra: &[&str]| {
            let base = ["--method", method, "--iterations", "12", "--limit", "8"];
            let (code, err) = audit(dir.path(), name, &[&base[..], more, extra].concat());
            assert_eq!(code, 0, "{err}");
            report_bytes(&dir.path().join(name))
        };
        let whole = run("whole.json", &["--batch", "8"]);
        for (name, extra) in [("b1.json", &["--batch", "1"][..]), ("b3t1.json", &["--batch", "3", "--threads", "1"])] {
            assert!(run(name, extra) == whole, "{tag}: {name} differs from the report at --batch 8");
        }
        let shards: Vec<PathBuf> = (0..3)
            .map(|k| {
                let name = format!("{tag}-shard{k}.json");
                run(&name, &["--batch", "2", "--shard", &format!("{k}/3")]);
                dir.path().join(name)
            })
            .collect();
        let merged = dir.path().join("merged.json");
        let mut args: Vec<&std::ffi::OsStr> = shards.iter().map(|p| p.as_os_str()).collect();
        args.extend(["--out".as_ref(), merged.as_os_str()]);
        let (code, err) = merge(&args);
        assert_eq!(code, 0, "{err}");
        assert!(report_bytes(&merged) == whole, "{tag}: 3 shards at --batch 2 differ from the whole");
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
    // The samples of the target's class are classified as the target at
    // their clean input: not robust, in the summary and in their class row.
    let robust = samples.iter().filter(|x| x["attacked"] == true && x["success"] == false).count();
    assert_eq!(s["robust_accuracy"].as_f64().unwrap(), robust as f64 / samples.len() as f64);
    let class_1 = s["per_class"].as_array().unwrap().iter().find(|r| r["class"] == 1).unwrap();
    assert_eq!(class_1["robust"], 0);

    // Targets that are the labels: nothing attacked, nothing robust, and
    // a gate on robust accuracy fails.
    let targets = write_labels(dir.path(), &MNIST_LABELS);
    let own = [&["--targets", targets.to_str().unwrap(), "--min-robust-accuracy", "0.5"], QUICK_PGD].concat();
    let (code, err) = audit(dir.path(), "own.json", &own);
    assert_eq!(code, 1, "{err}");
    let own = read(&dir.path().join("own.json"));
    assert_eq!((own["summary"]["attacked"].as_u64(), own["summary"]["robust_accuracy"].as_f64()), (Some(0), Some(0.0)));

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
    let html = std::fs::read_to_string(&page).unwrap();
    let model_file = read(&whole)["provenance"]["model_file"].as_str().unwrap().to_string();
    assert!(html.contains(&format!("Robustness audit of {model_file}")), "the model's name kept after a merge");
    assert_eq!(report_bytes(&out), report_bytes(&whole));
}

/// A quick PGD audit over two radii of the first 12 samples.
const CURVE_PGD: &[&str] = &["--method", "pgd", "--set", "pgd_steps=10", "--restarts", "1", "--epsilons", "0.05,0.25"];

fn partial(out: &Path) -> PathBuf {
    PathBuf::from(format!("{}.partial", out.display()))
}

/// Lines of `out`'s partial file (its header included).
fn partial_lines(out: &Path) -> usize {
    std::fs::read_to_string(partial(out)).map_or(0, |t| t.lines().count())
}

#[test]
fn an_interrupted_audit_resumes_to_the_uninterrupted_report() {
    let dir = tempfile::tempdir().unwrap();
    let (code, err) = audit(dir.path(), "whole.json", CURVE_PGD);
    assert_eq!(code, 0, "{err}");
    assert!(!partial(&dir.path().join("whole.json")).exists(), "a finished audit leaves no partial file");
    let out = dir.path().join("resumed.json");
    // Interrupted twice: after 3 attacks (a batch and a half at the first
    // radius), then after 4 more; then finished, at another batch size.
    let (code, err) = audit(dir.path(), "resumed.json", &[CURVE_PGD, &["--batch", "2", "--stop-after", "3"]].concat());
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("stopped after attacking 4 samples"), "{err}");
    assert!(!out.exists());
    assert_eq!(partial_lines(&out), 1 + 4);
    // Without --resume the partial file is kept, not overwritten.
    let (code, err) = audit(dir.path(), "resumed.json", CURVE_PGD);
    assert_eq!(code, 2);
    assert!(
        err.contains("resumed.json.partial: the partial file of an interrupted audit: continue it with --resume"),
        "{err}"
    );
    let (code, err) =
        audit(dir.path(), "resumed.json", &[CURVE_PGD, &["--batch", "2", "--resume", "--stop-after", "4"]].concat());
    assert_eq!(code, 2, "{err}");
    assert_eq!(partial_lines(&out), 1 + 8);
    let (code, err) = audit(dir.path(), "resumed.json", &[CURVE_PGD, &["--resume", "--batch", "3"]].concat());
    assert_eq!(code, 0, "{err}");
    assert!(report_bytes(&out) == report_bytes(&dir.path().join("whole.json")), "the resumed report differs");
    assert!(!partial(&out).exists());
    let p = &read(&out)["provenance"];
    assert_eq!((p["backend"].as_str(), p["model_file"].as_str()), (Some("tract"), Some("mnist_cnn_pgd.onnx")));
    assert!(p["duration_s"].as_f64().unwrap() > 0.0 && p["started_utc"].as_str().unwrap().ends_with('Z'), "{p}");
    // The one stage's seconds, summed over the three runs, within the total.
    let pgd = p["stage_seconds"]["pgd"].as_f64().unwrap_or(0.0);
    assert!(pgd > 0.0 && pgd <= p["duration_s"].as_f64().unwrap(), "{p}");
    assert_eq!(p["stage_seconds"].as_object().map(|o| o.len()), Some(1), "{p}");
}

#[test]
fn a_partial_file_of_another_audit_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (code, err) = audit(dir.path(), "a.json", &[CURVE_PGD, &["--stop-after", "1"]].concat());
    assert_eq!(code, 2, "{err}");
    let (code, err) = audit(dir.path(), "a.json", &[CURVE_PGD, &["--resume", "--set", "pgd_steps=11"]].concat());
    assert_eq!(code, 2);
    assert!(err.contains("a.json.partial: written by an audit with a different settings"), "{err}");
    // --resume without a partial file starts the audit.
    let (code, err) =
        audit(dir.path(), "b.json", &["--resume", "--limit", "2", "--method", "pgd", "--set", "pgd_steps=2"]);
    assert_eq!(code, 0, "{err}");
}

/// A killed audit (its partial file perhaps ending in half a line) resumes
/// to the report of an uninterrupted run.
#[test]
fn a_killed_audit_resumes_to_the_uninterrupted_report() {
    let dir = tempfile::tempdir().unwrap();
    let slow: &[&str] = &["--method", "pgd", "--set", "pgd_steps=100", "--restarts", "2", "--batch", "1"];
    let out = dir.path().join("killed.json");
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("adr-onnx"))
        .arg("audit")
        .arg(root().join("models/mnist_cnn_pgd.onnx"))
        .args(["--images".as_ref(), images().as_os_str(), "--labels".as_ref(), labels().as_os_str()])
        .arg("--goal")
        .arg(root().join("testdata/templates/mnist_pgd_eps025.json"))
        .args(["--limit", "12", "--quiet", "--backend", "tract", "--out"])
        .arg(&out)
        .args(slow)
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(300);
    while partial_lines(&out) < 3 && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(!out.exists(), "the audit finished before it was killed: give it more work");
    let done = partial_lines(&out);
    assert!(done >= 3, "{done} lines");
    let (code, err) = audit(dir.path(), "killed.json", &[slow, &["--resume"]].concat());
    assert_eq!(code, 0, "{err}");
    let (code, err) = audit(dir.path(), "whole.json", slow);
    assert_eq!(code, 0, "{err}");
    assert!(report_bytes(&out) == report_bytes(&dir.path().join("whole.json")), "the resumed report differs");
}

#[test]
fn off_a_terminal_an_audit_logs_its_status() {
    let dir = tempfile::tempdir().unwrap();
    let o = Command::cargo_bin("adr-onnx")
        .unwrap()
        .arg("audit")
        .arg(root().join("models/mnist_cnn_pgd.onnx"))
        .args(["--images".as_ref(), images().as_os_str(), "--labels".as_ref(), labels().as_os_str()])
        .arg("--goal")
        .arg(root().join("testdata/templates/mnist_pgd_eps025.json"))
        .args(["--limit", "6", "--batch", "2", "--method", "pgd", "--set", "pgd_steps=5", "--backend", "tract"])
        .args(["--status-every", "0", "--out"])
        .arg(dir.path().join("a.json"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0));
    let err = String::from_utf8_lossy(&o.stderr);
    let lines: Vec<&str> = err.lines().filter(|l| l.starts_with("audit: ")).collect();
    // One after the clean pass and one per batch of the attacked samples.
    let attacked = read(&dir.path().join("a.json"))["summary"]["attacked"].as_u64().unwrap() as usize;
    assert_eq!(lines.len(), 1 + attacked.div_ceil(2), "{err}");
    let robust = (read(&dir.path().join("a.json"))["summary"]["robust_accuracy"].as_f64().unwrap() * 6.0).round();
    assert!(
        lines.last().unwrap().starts_with(&format!("audit: 6/6 samples finished, robust {robust} of 6 finished")),
        "{err}"
    );
    assert!(lines.iter().all(|l| l.contains(", ETA ")), "{err}");
}

#[test]
fn an_audit_exports_csv_junit_the_adversarials_and_gates_ci() {
    let dir = tempfile::tempdir().unwrap();
    let d = |name: &str| dir.path().join(name);
    let exports = |prefix: &str| {
        [
            "--csv".to_string(),
            d(&format!("{prefix}.csv")).display().to_string(),
            "--junit".into(),
            d(&format!("{prefix}.xml")).display().to_string(),
            "--adversarials".into(),
            d(&format!("{prefix}.npy")).display().to_string(),
        ]
    };
    let quick = ["--method", "pgd", "--set", "pgd_steps=10", "--restarts", "1"];
    let gate = |min: &str, prefix: &str| {
        let extra: Vec<String> =
            exports(prefix).into_iter().chain(["--min-robust-accuracy".into(), min.into()]).collect();
        let extra: Vec<&str> = quick.iter().copied().chain(extra.iter().map(String::as_str)).collect();
        audit(dir.path(), &format!("{prefix}.json"), &extra)
    };
    let (code, err) = gate("0", "pass");
    assert_eq!(code, 0, "{err}");
    let r = read(&d("pass.json"));
    let robust = r["summary"]["robust_accuracy"].as_f64().unwrap();
    assert!(robust < 1.0, "some samples flip at 0.25");
    // Below the threshold: exit 1, every output still written.
    let (code, err) = gate("1", "fail");
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains(&format!("robust accuracy {:.2}% is below --min-robust-accuracy 1 (100.00%)", 100.0 * robust)),
        "{err}"
    );
    assert!(report_bytes(&d("fail.json")) == report_bytes(&d("pass.json")));

    let samples = r["samples"].as_array().unwrap();
    let csv = std::fs::read_to_string(d("fail.csv")).unwrap();
    let rows: Vec<&str> = csv.lines().collect();
    assert_eq!(rows.len(), 1 + samples.len());
    assert!(rows[0].starts_with("index,label,clean_prediction,clean_correct,attacked,skip_reason,success,"));
    for (row, s) in rows[1..].iter().zip(samples) {
        let fields: Vec<&str> = row.split(',').collect();
        assert_eq!(
            (fields[0], fields[1], fields[6]),
            (&*s["index"].to_string(), &*s["label"].to_string(), &*s["success"].to_string())
        );
    }
    let successes: Vec<&Value> = samples.iter().filter(|s| s["success"] == true).collect();
    let xml = std::fs::read_to_string(d("fail.xml")).unwrap();
    let not_robust = samples.iter().filter(|s| s["success"] == true || s["clean_correct"] == false).count();
    assert!(xml.contains(&format!("tests=\"{}\" failures=\"{not_robust}\"", samples.len())), "{xml}");
    assert_eq!(xml.matches("<testcase ").count(), samples.len());

    let stack: ndarray::ArrayD<f32> = ndarray_npy::read_npy(d("fail.npy")).unwrap();
    assert_eq!(stack.shape(), &[successes.len(), 1, 28, 28]);
    for (row, s) in stack.outer_iter().zip(&successes) {
        let adv = adr_onnx::audit::decode_base64_f32(s["adversarial_f32le"].as_str().unwrap()).unwrap();
        assert_eq!(row.iter().copied().collect::<Vec<f32>>(), adv);
    }

    // audit-merge writes the same CSV and applies the same gate.
    let (csv, merged) = (d("merged.csv"), d("merged.json"));
    let (code, err) = merge(&[
        d("pass.json").as_os_str(),
        "--out".as_ref(),
        merged.as_os_str(),
        "--csv".as_ref(),
        csv.as_os_str(),
        "--min-robust-accuracy".as_ref(),
        "0.999".as_ref(),
    ]);
    assert_eq!(code, 1, "{err}");
    assert_eq!(std::fs::read_to_string(&csv).unwrap(), std::fs::read_to_string(d("pass.csv")).unwrap());
    let (code, err) = audit(dir.path(), "x.json", &["--min-robust-accuracy", "50"]);
    assert_eq!(code, 2);
    assert!(err.contains("50 is not a fraction between 0 and 1"), "{err}");
}

#[test]
fn epsilon_on_the_command_line_overrides_the_template() {
    let dir = tempfile::tempdir().unwrap();
    let quick: &[&str] = &["--method", "pgd", "--set", "pgd_steps=5", "--restarts", "1", "--limit", "4"];
    let t = dir.path().join("t.json");
    let mut template = read(&root().join("testdata/templates/mnist_pgd_eps025.json"));
    template["epsilon"] = 0.05.into();
    std::fs::write(&t, template.to_string()).unwrap();
    let (code, err) = audit_on(&images(), &labels(), &t, dir.path(), "file.json", quick);
    assert_eq!(code, 0, "{err}");
    let (code, err) = audit(dir.path(), "flag.json", &[quick, &["--epsilon", "0.05"]].concat());
    assert_eq!(code, 0, "{err}");
    assert!(report_bytes(&dir.path().join("flag.json")) == report_bytes(&dir.path().join("file.json")));
    let (code, err) = audit(dir.path(), "x.json", &[quick, &["--epsilon", "0.05", "--epsilons", "0.1"]].concat());
    assert_eq!(code, 2);
    assert!(err.contains("cannot be used with"), "{err}");
}

/// With `--epsilons`, the robust accuracy is the largest radius's: the
/// report's goal and settings are at that radius, whatever the template's,
/// and the page lists the radii.
#[test]
fn with_epsilons_the_report_states_the_largest_radius() {
    let dir = tempfile::tempdir().unwrap();
    let quick: &[&str] = &["--method", "pgd", "--set", "pgd_steps=5", "--restarts", "1", "--limit", "4"];
    let page = dir.path().join("page.html");
    let listed = [quick, &["--epsilons", "0.1,0.05", "--epsilon-tolerance", "1", "--page", page.to_str().unwrap()]];
    let (code, err) = audit(dir.path(), "listed.json", &listed.concat());
    assert_eq!(code, 0, "{err}");
    let (code, err) = audit(dir.path(), "flag.json", &[quick, &["--epsilon", "0.1"]].concat());
    assert_eq!(code, 0, "{err}");
    let (listed, flag) = (read(&dir.path().join("listed.json")), read(&dir.path().join("flag.json")));
    assert_eq!(listed["goal"]["epsilon"], 0.1, "the template's is 0.25");
    assert_eq!((&listed["goal"], &listed["settings"]), (&flag["goal"], &flag["settings"]));
    let at_largest = listed["curve"].as_array().unwrap().iter().find(|p| p["epsilon"] == 0.1).unwrap();
    assert_eq!(listed["summary"]["robust_accuracy"], at_largest["robust_accuracy"]);
    let page = std::fs::read_to_string(&page).unwrap();
    assert!(page.contains("radii attacked: 0.05, 0.1; the robust accuracy above is at the largest"), "{page}");
}

/// Images in another layout than the model's input (the same count of
/// values per sample), and 8-bit pixels with a template that gives no
/// bounds (a radius meant for [0, 1] would be searched without a box), are
/// refused before any attack.
#[test]
fn images_in_another_layout_or_range_than_the_template_says_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let x: ndarray::ArrayD<f32> = ndarray_npy::read_npy(images()).unwrap();
    let reshaped = dir.path().join("reshaped.npy");
    ndarray_npy::write_npy(&reshaped, &x.to_shape(ndarray::IxDyn(&[32, 4, 7, 28])).unwrap().to_owned()).unwrap();
    let (code, err) = audit_on(
        &reshaped,
        &labels(),
        &root().join("testdata/templates/mnist_pgd_eps025.json"),
        dir.path(),
        "a.json",
        QUICK_PGD,
    );
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("reshaped.npy") && err.contains("the samples have shape [4, 7, 28]"), "{err}");

    let bytes = dir.path().join("bytes.npy");
    ndarray_npy::write_npy(&bytes, &x.mapv(|v| (v * 255.0).round())).unwrap();
    let t = dir.path().join("t.json");
    std::fs::write(&t, r#"{"kind": "target_class", "epsilon": 0.25, "norm": "linf"}"#).unwrap();
    let (code, err) = audit_on(&bytes, &labels(), &t, dir.path(), "b.json", QUICK_PGD);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("t.json: at /bounds") && err.contains("bytes.npy are whole numbers up to 255"), "{err}");
    // The same images with their box given, and in [0, 1] without one.
    let boxed = dir.path().join("boxed.json");
    std::fs::write(&boxed, r#"{"kind": "target_class", "epsilon": 64, "norm": "linf", "bounds": [0, 255]}"#).unwrap();
    let (code, err) =
        audit_on(&bytes, &labels(), &boxed, dir.path(), "c.json", &[QUICK_PGD, &["--limit", "2"]].concat());
    assert!(code == 0 || code == 1, "{err}");
    let (code, err) =
        audit_on(&images(), &labels(), &t, dir.path(), "d.json", &[QUICK_PGD, &["--limit", "2"]].concat());
    assert!(code == 0 || code == 1, "{err}");
}

/// A `.npz` holding `images` and `labels` (as `np.savez_compressed`
/// writes) audits like the two `.npy` files it was made of.
#[test]
fn an_npz_archive_is_a_dataset() {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    let npz = dir.path().join("mnist.npz");
    let mut z = zip::ZipWriter::new(std::fs::File::create(&npz).unwrap());
    let deflated = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    for (name, path) in [("images.npy", images()), ("labels.npy", labels())] {
        z.start_file(name, deflated).unwrap();
        z.write_all(&std::fs::read(path).unwrap()).unwrap();
    }
    z.finish().unwrap();
    let quick: &[&str] = &["--method", "pgd", "--set", "pgd_steps=5", "--restarts", "1", "--limit", "4"];
    let (code, err) = audit(dir.path(), "npy.json", quick);
    assert_eq!(code, 0, "{err}");
    let o = Command::cargo_bin("adr-onnx")
        .unwrap()
        .arg("audit")
        .arg(root().join("models/mnist_cnn_pgd.onnx"))
        .arg("--images")
        .arg(&npz)
        .arg("--goal")
        .arg(root().join("testdata/templates/mnist_pgd_eps025.json"))
        .args(["--quiet", "--backend", "tract", "--batch", "4", "--out"])
        .arg(dir.path().join("npz.json"))
        .args(quick)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let (a, b) = (read(&dir.path().join("npy.json")), read(&dir.path().join("npz.json")));
    assert_eq!((&a["samples"], &a["summary"]), (&b["samples"], &b["summary"]));
    assert_ne!(a["images_sha256"], b["images_sha256"], "the archive is the dataset's file");
}

/// The logits of the original model file at `x`: in tract, and in ONNX
/// Runtime when the tests require it (scripts/test.sh).
fn original_logits(x: &[f32]) -> Vec<Vec<f64>> {
    use adr_onnx::original::{LoadedOriginal, OriginalModel};
    use adr_onnx::runtime::tract::TractBackend;
    let path = root().join("models/mnist_cnn_pgd.onnx");
    let (model, original) = (
        adr_onnx::onnx::import(&path).unwrap(),
        OriginalModel { proto: adr_onnx::onnx::proto::read_model(&path).unwrap(), path: path.clone() },
    );
    let mut logits = vec![LoadedOriginal::new(&TractBackend, &original, &model).run(x).unwrap()];
    if std::env::var_os("ADR_ONNX_REQUIRE_ORT").is_some() {
        use adr_onnx::runtime::select::{select, BackendChoice, BackendRequest};
        let req = BackendRequest {
            choice: BackendChoice::Ort,
            device: adr_onnx::runtime::Device::Cpu,
            ort_lib: None,
            threads: 1,
        };
        let ort = select(&req).unwrap();
        logits.push(LoadedOriginal::new(ort.backend.as_ref(), &original, &model).run(x).unwrap());
    }
    logits
}

/// `--epsilons` finds each flipped sample's listed bracket; the bisection
/// narrows it to the tolerance. The refined `min_epsilon` lies in the
/// bracket, its adversarial within it of the clean image, misclassified by
/// the original file; the curve steps at the refined radii.
#[test]
fn the_bisection_narrows_each_flipped_sample_s_listed_bracket() {
    let dir = tempfile::tempdir().unwrap();
    let listed = [0.15, 0.25, 0.35];
    let base = ["--limit", "8", "--method", "apgd", "--set", "apgd_steps=20", "--epsilons", "0.35,0.15,0.25"];
    let png = dir.path().join("curve.png");
    let (code, err) = audit(dir.path(), "listed.json", &[&base[..], &["--epsilon-tolerance", "1"]].concat());
    assert_eq!(code, 0, "{err}");
    let refined_args = ["--epsilon-tolerance", "0.1", "--curve", png.to_str().unwrap()];
    let (code, err) = audit(dir.path(), "refined.json", &[&base[..], &refined_args].concat());
    assert_eq!(code, 0, "{err}");
    let (l, r) = (read(&dir.path().join("listed.json")), read(&dir.path().join("refined.json")));
    assert_eq!(r["epsilon_tolerance"], 0.1);
    let images = adr_onnx::goal::data::read_npy(&images()).unwrap();
    let mut narrowed = 0;
    for (ls, rs) in l["samples"].as_array().unwrap().iter().zip(r["samples"].as_array().unwrap()) {
        assert_eq!(ls["success"], rs["success"], "the listed radii flip the same samples: {rs}");
        let Some(upper) = ls["min_epsilon"].as_f64() else {
            assert_eq!(rs["max_robust_epsilon"], ls["max_robust_epsilon"]);
            continue;
        };
        let lower = listed.into_iter().rfind(|&e| e < upper).unwrap_or(0.0);
        let min = rs["min_epsilon"].as_f64().unwrap();
        let robust = rs["max_robust_epsilon"].as_f64().unwrap_or(0.0);
        assert!(lower <= robust && robust < min && min <= upper, "{lower} {robust} {min} {upper}");
        assert!(min - robust <= 0.1 * upper + 1e-12, "{robust}..{min}: wider than 10% of {upper}");
        narrowed += usize::from(min < upper);
        let i = rs["index"].as_u64().unwrap() as usize;
        let clean: Vec<f32> = images.index_axis(ndarray::Axis(0), i).iter().copied().collect();
        let adv = adr_onnx::audit::decode_base64_f32(rs["adversarial_f32le"].as_str().unwrap()).unwrap();
        let linf = adv.iter().zip(&clean).map(|(a, c)| f64::from((a - c).abs())).fold(0.0, f64::max);
        // The ball's bounds are f32: min_epsilon up to f32 rounding.
        assert!(linf <= min + 1e-6, "sample {i}: {linf} beyond {min}");
        assert!(adv.iter().all(|v| (0.0..=1.0).contains(v)));
        let label = rs["label"].as_u64().unwrap() as usize;
        for y in original_logits(&adv) {
            let predicted = (0..y.len()).max_by(|&a, &b| y[a].total_cmp(&y[b])).unwrap();
            assert_ne!(predicted, label, "sample {i}: the adversarial at {min} keeps its label: {y:?}");
        }
    }
    assert!(narrowed > 0, "the bisection found no smaller radius than the listed ones");
    let curve = r["curve"].as_array().unwrap();
    let radii: Vec<f64> = curve.iter().map(|p| p["epsilon"].as_f64().unwrap()).collect();
    for x in r["samples"].as_array().unwrap().iter().filter_map(|s| s["min_epsilon"].as_f64()) {
        assert!(radii.contains(&x), "the curve steps at {x}: {radii:?}");
    }
    let robust: Vec<u64> = curve.iter().map(|p| p["robust"].as_u64().unwrap()).collect();
    assert!(radii.windows(2).all(|w| w[0] < w[1]) && robust.windows(2).all(|w| w[1] <= w[0]), "{curve:?}");
    assert!(std::fs::read(&png).unwrap().starts_with(b"\x89PNG"));
}

#[test]
fn the_epsilon_tolerance_is_a_fraction_and_needs_epsilons() {
    let dir = tempfile::tempdir().unwrap();
    let (code, err) = audit(dir.path(), "a.json", &["--epsilons", "0.1", "--epsilon-tolerance", "0"]);
    assert_eq!(code, 2);
    assert!(err.contains("0 is not a fraction in (0, 1]"), "{err}");
    let (code, err) = audit(dir.path(), "a.json", &["--epsilon-tolerance", "0.1"]);
    assert_eq!(code, 2);
    assert!(err.contains("--epsilons"), "{err}");
}

/// A classifier without ReLU is audited by the methods that apply (with a
/// note that `auto` leaves ADR out); `--method adr` is refused before any
/// file is written, so the corrected command is not refused for a partial
/// file.
#[test]
fn a_model_without_relu_is_audited_and_adr_is_refused_before_any_partial_file() {
    let dir = tempfile::tempdir().unwrap();
    let model = common::models::write_model(dir.path(), "tanh_cnn.onnx", &common::models::zoo("tanh_cnn"));
    let images =
        ndarray::Array4::<f32>::from_shape_fn((4, 1, 6, 6), |(n, _, i, j)| ((n * 7 + i * 3 + j) % 10) as f32 / 10.0);
    let (x, y) = (dir.path().join("x.npy"), dir.path().join("y.npy"));
    ndarray_npy::write_npy(&x, &images).unwrap();
    ndarray_npy::write_npy(&y, &ndarray::arr1(&[0i64, 1, 2, 3])).unwrap();
    let template = dir.path().join("t.json");
    std::fs::write(&template, r#"{"kind": "target_class", "epsilon": 0.05}"#).unwrap();
    let out = dir.path().join("audit.json");
    let run = |method: &str| {
        Command::cargo_bin("adr-onnx")
            .unwrap()
            .arg("audit")
            .arg(&model)
            .arg("--images")
            .arg(&x)
            .arg("--labels")
            .arg(&y)
            .arg("--goal")
            .arg(&template)
            .args(["--method", method, "--set", "square_queries=20", "--backend", "tract", "--out"])
            .arg(&out)
            .output()
            .unwrap()
    };
    let o = run("adr");
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("tanh_cnn.onnx") && err.contains("no ReLU"), "{err}");
    assert!(!dir.path().join("audit.json.partial").exists(), "no partial file is left behind");
    let o = run("auto");
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(0), "{err}");
    assert!(err.contains("no ReLU") && err.contains("`auto` runs without its adr stage"), "{err}");
    let r: Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    let stages: Vec<&String> = r["summary"]["found_by"].as_object().unwrap().keys().collect();
    assert!(!stages.iter().any(|s| *s == "adr"), "{stages:?}");
    // The report says so too (the note above is gone with --quiet).
    assert_eq!(r["left_out"][0]["stage"], "adr", "{}", r["left_out"]);
    assert!(r["left_out"][0]["reason"].as_str().unwrap().contains("no ReLU"));
}

/// Shards smaller than `--batch` ran whole: no `wave_rows`, and they merge
/// (each shard's batch was capped at its samples, and a comparison with the
/// uncapped batch recorded waves of 3 and 2 rows that refused the merge).
#[test]
fn shards_smaller_than_a_batch_record_no_waves_and_merge() {
    let dir = tempfile::tempdir().unwrap();
    let quick = [QUICK_PGD, &["--limit", "5", "--batch", "64"]].concat();
    for k in 0..2 {
        let (code, err) =
            audit(dir.path(), &format!("s{k}.json"), &[&quick[..], &["--shard", &format!("{k}/2")]].concat());
        assert_eq!(code, 0, "{err}");
        assert!(read(&dir.path().join(format!("s{k}.json"))).get("wave_rows").is_none());
    }
    let out = dir.path().join("merged.json");
    let (code, err) = merge(&[
        dir.path().join("s0.json").as_os_str(),
        dir.path().join("s1.json").as_os_str(),
        "--out".as_ref(),
        out.as_os_str(),
    ]);
    assert_eq!(code, 0, "{err}");
}

/// A two-input classifier, `y = [x1, x0]` after a ReLU, or after a clamp
/// to [0, 0.6] where `clamped`: the two agree on inputs up to 0.6.
fn swap_classifier(clamped: bool) -> adr_onnx::writer::OnnxGraph {
    use adr_onnx::writer::builder::GraphBuilder;
    let mut g = GraphBuilder::new("swap", adr_onnx::writer::Precision::F32);
    let x = g.input("x", vec![1, 2]);
    // The same tensor names in both files.
    let (lo, hi) = (g.scalar(0.0), g.scalar(0.6));
    let h = if clamped {
        g.node("Clip", &[&x, &lo, &hi], vec![], vec![1, 2])
    } else {
        g.node("Relu", &[&x], vec![], vec![1, 2])
    };
    let w = g.constant("w", &ndarray::arr2(&[[0.0f32, 1.0], [1.0, 0.0]]).into_dyn());
    let y = g.node("MatMul", &[&h, &w], vec![], vec![1, 2]);
    g.output(&y, "y");
    g.finish()
}

/// The derived network is checked against the file at every adversarial,
/// not only at the clean samples: here the file (a clamp at 0.6) agrees
/// with the network the audit searches (a ReLU) on the clean sample, and
/// not where the attack goes (0.75), which ends the audit naming the
/// sample, as a derivation wrong only away from the data would.
#[test]
fn an_adversarial_on_which_the_file_disagrees_ends_the_audit() {
    use adr_onnx::audit::provenance::Origin;
    use adr_onnx::audit::session::Session;
    use adr_onnx::audit::{self, AuditInput, Shard};
    use adr_onnx::original::{FileRunner, OriginalModel};
    let searched = swap_classifier(false);
    let model = adr_onnx::onnx::import_proto(Path::new("searched.onnx"), &searched.model).unwrap();
    let images = ndarray::arr2(&[[0.45f32, 0.5]]).into_dyn();
    let labels = [0usize];
    let run = |file: &OriginalModel| {
        let backend = adr_onnx::runtime::tract::TractBackend;
        let input = AuditInput {
            model: &model,
            model_sha256: "m".into(),
            images: &images,
            images_path: Path::new("x.npy"),
            images_sha256: "i".into(),
            labels: &labels,
            labels_path: Path::new("y.npy"),
            limit: None,
            dataset_sha256: "d".into(),
            template_path: Path::new("t.json"),
            template: serde_json::json!({"kind": "target_class", "epsilon": 0.25, "bounds": [0.0, 1.0]}),
            // Every step, to the ball's corner (0.7, 0.25).
            cli: adr_onnx::goal::schema::MethodBlock {
                algorithm: Some(adr_onnx::goal::schema::Algorithm::Pgd),
                pgd_steps: Some(20),
                stop_when_achieved: Some(false),
                ..Default::default()
            },
            backend: &backend,
            batch: 1,
            shard: Shard::WHOLE,
            epsilons: Vec::new(),
            epsilon_tolerance: 1.0,
            targets: None,
            file: Some(FileRunner { original: file, backend: &backend, runtime: "tract" }),
            memory: adr_onnx::memory::MemoryLimit::new(None),
            runtime: adr_onnx::runtime::select::Runtime::Tract,
        };
        let origin = Origin {
            backend: "tract".into(),
            backend_version: "v".into(),
            device: "cpu".into(),
            model_file: "f".into(),
        };
        let mut session =
            Session { progress: &mut audit::progress::Unwatched, partial: None, stop_after: None, origin, held: None };
        audit::run(&input, &mut session)
    };
    let itself = OriginalModel { path: "searched.onnx".into(), proto: searched.model.clone() };
    let report = run(&itself).unwrap();
    assert_eq!(report.summary.successes, 1, "the attack swaps the two inputs' order");
    let check = report.provenance.file_check.clone().unwrap();
    assert_eq!(check.rows, 2, "the clean sample and its adversarial: {check:?}");
    let other = OriginalModel { path: "clamped.onnx".into(), proto: swap_classifier(true).model };
    let err = run(&other).unwrap_err().to_string();
    assert!(err.starts_with("clamped.onnx") && err.contains("at the adversarial of sample 0"), "{err}");
}
