//! Backend selection through the CLI: `doctor`, `--backend`, `--device`,
//! `--ort-lib`, and what the report records.

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use serde_json::Value;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).to_path_buf()
}

fn ort_expected() -> bool {
    std::env::var_os("ADR_ONNX_REQUIRE_ORT").is_some()
}

fn run_args(dir: &Path, extra: &[&str]) -> (i32, String, Value) {
    let out = dir.join("r.json");
    let o = Command::cargo_bin("adr-onnx")
        .unwrap()
        .arg("run")
        .arg(root().join("models/rand_small_s1.onnx"))
        .arg("--goal")
        .arg(root().join("testdata/goals/output_bound.json"))
        .args(["--iterations", "400", "--quiet", "--out"])
        .arg(&out)
        .arg("--artifacts")
        .arg(dir.join("a"))
        .args(extra)
        .output()
        .unwrap();
    let report = std::fs::read_to_string(&out).ok().and_then(|t| serde_json::from_str(&t).ok()).unwrap_or(Value::Null);
    (o.status.code().unwrap_or(-1), String::from_utf8_lossy(&o.stderr).into_owned(), report)
}

#[test]
fn version_names_commit_and_features() {
    let o = Command::cargo_bin("adr-onnx").unwrap().arg("--version").output().unwrap();
    let s = String::from_utf8_lossy(&o.stdout);
    assert!(s.starts_with("adr-onnx 0.1.0 (commit "), "{s}");
    assert!(s.contains("features: onnxruntime") && s.contains("backends: tract"), "{s}");
}

#[test]
fn tract_runs_on_the_cpu_only() {
    let dir = tempfile::tempdir().unwrap();
    let (code, err, _) = run_args(dir.path(), &["--backend", "tract", "--device", "cuda"]);
    assert_eq!(code, 2);
    assert!(err.contains("needs --backend ort"), "{err}");
    let (code, _, report) = run_args(dir.path(), &["--backend", "tract"]);
    assert_eq!(code, 0);
    assert_eq!(report["backend"]["name"], "tract");
}

#[test]
fn a_missing_library_says_how_to_install_one() {
    let dir = tempfile::tempdir().unwrap();
    let (code, err, _) = run_args(dir.path(), &["--backend", "ort", "--ort-lib", "/no/such/libonnxruntime.so"]);
    assert_eq!(code, 2);
    assert!(err.contains("/no/such/libonnxruntime.so") && err.contains("pip install onnxruntime==1.31.1"), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
}

#[test]
fn auto_with_an_explicit_library_never_falls_back() {
    let dir = tempfile::tempdir().unwrap();
    let (code, err, report) = run_args(dir.path(), &["--ort-lib", "/no/such/libonnxruntime.so"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("/no/such/libonnxruntime.so"), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(report.is_null(), "no report may claim a tract run");
}

#[test]
fn an_unknown_device_is_named_whatever_the_backend() {
    let dir = tempfile::tempdir().unwrap();
    for backend in ["tract", "auto", "ort"] {
        let (code, err, _) = run_args(dir.path(), &["--backend", backend, "--device", "gpu"]);
        assert_eq!(code, 2, "{backend}: {err}");
        // Parsed at the command line (clap names the flag and the value).
        assert!(err.contains("'--device <DEVICE>'"), "{backend}: {err}");
        assert!(err.contains("unknown device 'gpu': expected cpu, cuda or cuda:N"), "{backend}: {err}");
        assert!(!err.contains("needs --backend ort"), "{backend}: {err}");
    }
}

#[test]
fn auto_falls_back_to_tract_and_says_why() {
    let dir = tempfile::tempdir().unwrap();
    let o = Command::cargo_bin("adr-onnx")
        .unwrap()
        .env("PATH", "/usr/bin:/bin")
        .env_remove("ORT_DYLIB_PATH")
        .arg("run")
        .arg(root().join("models/rand_small_s1.onnx"))
        .arg("--goal")
        .arg(root().join("testdata/goals/output_bound.json"))
        .args(["--iterations", "400", "--quiet", "--out"])
        .arg(dir.path().join("r.json"))
        .arg("--artifacts")
        .arg(dir.path().join("a"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let r: Value = serde_json::from_str(&std::fs::read_to_string(dir.path().join("r.json")).unwrap()).unwrap();
    assert_eq!(r["backend"]["name"], "tract");
    assert!(r["backend"]["note"].as_str().unwrap().contains("ONNX Runtime not used"), "{}", r["backend"]);
}

#[test]
fn onnxruntime_on_the_cpu_is_recorded() {
    if !ort_expected() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    for args in [&["--backend", "ort", "--device", "cpu"][..], &[][..]] {
        let (code, err, report) = run_args(dir.path(), args);
        assert_eq!(code, 0, "{err}");
        let b = &report["backend"];
        assert_eq!(b["name"], "onnxruntime", "auto takes ONNX Runtime when found: {b}");
        assert_eq!(b["provider"], "CPUExecutionProvider");
        assert_eq!(b["version"], "1.31.1");
        assert!(b["library"].as_str().unwrap().contains("libonnxruntime.so"));
    }
}

#[test]
fn cuda_without_a_gpu_is_an_error_not_a_fallback() {
    if !ort_expected() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    for args in [&["--backend", "ort", "--device", "cuda"][..], &["--device", "cuda:0"][..]] {
        let (code, err, report) = run_args(dir.path(), args);
        assert_eq!(code, 2, "{err}");
        assert!(
            err.contains("CUDA execution provider could not be registered") && err.contains("onnxruntime-gpu"),
            "{err}"
        );
        assert!(report.is_null(), "no report may claim a CUDA run");
    }
}

#[test]
fn doctor_reports_what_it_found() {
    let o = Command::cargo_bin("adr-onnx").unwrap().args(["doctor", "--json"]).output().unwrap();
    assert_eq!(o.status.code(), Some(0));
    let d: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(d["onnxruntime_backend_built"], true);
    let checks = d["checks"].as_array().unwrap();
    assert_eq!(checks[0]["backend"], "tract");
    assert_eq!(checks[0]["usable"], true);
    if ort_expected() {
        assert!(d["library"]["path"].as_str().unwrap().contains("onnxruntime/capi/libonnxruntime.so.1.31.1"), "{d}");
        assert_eq!(d["library"]["source"], "python_package");
        assert_eq!(checks[1]["usable"], true, "{d}");
        assert!(checks[1]["detail"].as_str().unwrap().contains("1.31.1"));
        assert_eq!(checks[2]["device"], "cuda");
        assert_eq!(checks[2]["usable"], false);
        assert!(checks[2]["detail"].as_str().unwrap().contains("CUDA"), "{d}");
    }
    let text = Command::cargo_bin("adr-onnx").unwrap().arg("doctor").output().unwrap();
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(text.contains("tract  cpu   usable"), "{text}");
}

#[test]
fn doctor_keeps_the_library_path_as_given() {
    let dir = tempfile::tempdir().unwrap();
    let lib = dir.path().join("MyOnnx").join("libONNXRuntime.so");
    std::fs::create_dir_all(lib.parent().unwrap()).unwrap();
    std::fs::write(&lib, b"").unwrap();
    let o = Command::cargo_bin("adr-onnx").unwrap().args(["doctor", "--json", "--ort-lib"]).arg(&lib).output().unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let d: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(d["library_search"], format!("found {} (--ort-lib)", lib.display()), "{d}");
    assert_eq!(d["library"]["source"], "flag");
    // An empty file is no library: ONNX Runtime is not usable, tract is.
    let checks = d["checks"].as_array().unwrap();
    assert_eq!(checks[0]["usable"], true, "{d}");
    assert_eq!(checks[1]["usable"], false, "{d}");
}

#[test]
fn doctor_without_a_library_says_why_once() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no-such-libonnxruntime.so");
    let o = Command::cargo_bin("adr-onnx").unwrap().args(["doctor", "--ort-lib"]).arg(&missing).output().unwrap();
    assert_eq!(o.status.code(), Some(0));
    let text = String::from_utf8_lossy(&o.stdout);
    assert_eq!(text.matches("pip install onnxruntime==").count(), 1, "the search's advice once: {text}");
    assert!(text.contains("ort    cuda  NOT usable  no ONNX Runtime library (see the library search)"), "{text}");
    let o =
        Command::cargo_bin("adr-onnx").unwrap().args(["doctor", "--json", "--ort-lib"]).arg(&missing).output().unwrap();
    let d: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!((d["schema_version"].as_u64(), d["kind"].as_str()), (Some(1), Some("doctor_report")), "{d}");
    assert_eq!(d["checks"][1]["usable"], false, "{d}");
}
