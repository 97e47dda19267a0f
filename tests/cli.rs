//! CLI tests: each command through the binary, checking output, JSON fields
//! and exit codes, and every bad input's one-line error.

mod common;

use std::path::Path;

use adr_onnx::writer::builder::{attr_float, attr_int, attr_ints, GraphBuilder, Precision};
use assert_cmd::Command;
use common::fixtures;
use common::models::{dense, matmul_relu, weight, write_model, zoo};
use serde_json::Value;
use tract_onnx::prelude::*;

fn adr() -> Command {
    Command::cargo_bin("adr-onnx").unwrap()
}

/// Runs the command, expects exit 2 and one error line containing every
/// `needle`; no panic, no backtrace.
fn expect_error(cmd: &mut Command, needles: &[&str]) {
    let out = cmd.output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "stderr: {stderr}");
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "expected one line, got: {stderr}");
    assert!(lines[0].starts_with("adr-onnx: error: "), "{stderr}");
    for n in needles {
        assert!(stderr.contains(n), "missing '{n}' in: {stderr}");
    }
    assert!(!stderr.contains("panicked") && !stderr.contains("backtrace"), "{stderr}");
}

#[test]
fn inspect_prints_layers_and_relu_sites() {
    let out = adr().arg("inspect").arg(fixtures().join("models/mnist_cnn_pgd.onnx")).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("input  float  [N, 1, 28, 28]"), "{text}");
    assert!(text.contains("relu sites (4)"), "{text}");
    assert!(text.contains("total relu neurons: 8396"), "{text}");
    assert!(text.contains("supported for activation descent: yes"), "{text}");
}

#[test]
fn inspect_json_has_the_stable_fields() {
    let out = adr().args(["inspect", "--json"]).arg(fixtures().join("models/mnist_cnn_pgd.onnx")).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["inputs"][0]["name"], "input");
    assert_eq!(v["inputs"][0]["shape"], serde_json::json!(["N", "1", "28", "28"]));
    assert_eq!(v["outputs"][0]["name"], "logits");
    assert_eq!(v["layers"].as_array().unwrap().len(), 10);
    assert_eq!(v["layers"][0]["op"], "Conv");
    assert_eq!(v["layers"][0]["parameters"], 808);
    let sites = v["relu_sites"].as_array().unwrap();
    let neurons: Vec<u64> = sites.iter().map(|s| s["neurons"].as_u64().unwrap()).collect();
    assert_eq!(neurons, vec![2888, 4608, 800, 100]);
    assert_eq!(sites[0]["node"], "/ConvLayers/ConvLayers.1/Relu");
    assert_eq!(sites[0]["shape"], serde_json::json!([8, 19, 19]));
    assert_eq!(v["total_relu_neurons"], 8396);
    assert_eq!(v["supported"], true);
    assert_eq!(v["activation_descent"], true);
    assert!(v.get("activation_descent_reason").is_none(), "{v}");
    assert_eq!(v["methods"][0], "adr", "{v}");
}

#[test]
fn inspect_works_on_every_fixture_model() {
    for dir in ["models", "vnncomp/test", "vnncomp/acasxu"] {
        for e in std::fs::read_dir(fixtures().join(dir)).unwrap() {
            let p = e.unwrap().path();
            if p.extension().is_some_and(|x| x == "onnx") {
                let out = adr().args(["inspect", "--json"]).arg(&p).output().unwrap();
                assert_eq!(out.status.code(), Some(0), "{}: {}", p.display(), String::from_utf8_lossy(&out.stderr));
                let v: Value = serde_json::from_slice(&out.stdout).unwrap();
                assert!(v["total_relu_neurons"].as_u64().unwrap() > 0, "{}", p.display());
            }
        }
    }
}

#[test]
fn inspect_explains_a_non_differentiable_head() {
    let dir = tempfile::tempdir().unwrap();
    let p = write_model(dir.path(), "clf.onnx", &zoo("classifier_head"));
    let out = adr().arg("inspect").arg(&p).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("label") && text.contains("no gradient") && text.contains("ArgMax"), "{text}");
}

#[test]
fn missing_file_is_an_error() {
    expect_error(adr().args(["inspect", "no/such/model.onnx"]), &["no/such/model.onnx"]);
}

#[test]
fn a_text_file_is_not_onnx() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("notes.onnx");
    std::fs::write(&p, "this is not a model\n").unwrap();
    expect_error(adr().arg("inspect").arg(&p), &["notes.onnx", "not a readable ONNX model"]);
}

#[test]
fn a_truncated_model_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = std::fs::read(fixtures().join("models/mnist_cnn_pgd.onnx")).unwrap();
    let p = dir.path().join("cut.onnx");
    std::fs::write(&p, &bytes[..bytes.len() / 2]).unwrap();
    expect_error(adr().arg("inspect").arg(&p), &["cut.onnx"]);
}

#[test]
fn a_corrupted_weight_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let mut g = matmul_relu();
    let init = &mut g.model.graph.as_mut().unwrap().initializer[0];
    init.raw_data.truncate(5);
    let p = write_model(dir.path(), "bad_weight.onnx", &g);
    expect_error(adr().arg("inspect").arg(&p), &["bad_weight.onnx", "bytes of data"]);
}

#[test]
fn a_graph_without_relu_is_searched_by_the_methods_that_apply() {
    let dir = tempfile::tempdir().unwrap();
    let p = write_model(dir.path(), "smooth.onnx", &dense(&weight(&[3, 2]), "Sigmoid"));
    let out = adr().arg("inspect").arg(&p).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("relu sites (0)"), "{text}");
    assert!(
        text.contains("supported for activation descent: no (no ReLU: nothing for activation descent to relax"),
        "{text}"
    );
    assert!(text.contains("methods: auto, gd, pgd, apgd, apgd-t, square\n"), "{text}");
    let out = adr().args(["inspect", "--json"]).arg(&p).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["supported"], true);
    assert_eq!(v["activation_descent"], false);
    assert_eq!(v["activation_descent_reason"], "no ReLU: nothing for activation descent to relax");
    assert_eq!(v["layers"].as_array().unwrap().len(), 2, "{v}");
    // ADR itself is refused, naming the file and the ops.
    let goal = dir.path().join("goal.json");
    std::fs::write(
        &goal,
        r#"{"kind": "output_bound", "output": 0, "direction": "maximize", "input": {"lower": -1.0, "upper": 1.0}}"#,
    )
    .unwrap();
    expect_error(
        adr().arg("run").arg(&p).arg("--goal").arg(&goal).args(["--method", "adr"]),
        &["smooth.onnx", "no ReLU", "MatMul", "Sigmoid"],
    );
}

#[cfg(unix)]
#[test]
fn a_closed_stdout_pipe_ends_quietly() {
    use std::os::unix::process::ExitStatusExt;
    use std::process::Stdio;
    let model = fixtures().join("models/mnist_cnn_pgd.onnx");
    for args in [&["inspect"][..], &["inspect", "--json"][..]] {
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_adr-onnx"))
            .args(args)
            .arg(&model)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // Closing the read end before the model is imported: every write fails.
        drop(child.stdout.take());
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!stderr.contains("internal error") && !stderr.contains("panicked"), "{args:?}: {stderr}");
        assert!(
            out.status.signal() == Some(libc::SIGPIPE) || out.status.code() == Some(0),
            "{args:?}: {:?} {stderr}",
            out.status
        );
    }
}

#[test]
fn a_bad_set_value_names_its_key() {
    let model = fixtures().join("models/mnist_cnn_pgd.onnx");
    let goal = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/goals/untargeted_png.json");
    expect_error(
        adr().arg("run").arg(&model).arg("--goal").arg(&goal).args(["--set", "lr=abc", "--quiet"]),
        &["--set lr=abc: expected a number"],
    );
    expect_error(
        adr().args(["bench", "--backends", "tract", "--set", "iterations=-2"]),
        &["--set iterations=-2: expected a whole number"],
    );
}

#[test]
fn every_unsupported_node_is_named_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let mut b = GraphBuilder::new("m", Precision::F32);
    let x = b.input("x", vec![1, 4]);
    let s = b.node("Sin", &[&x], vec![], vec![1, 4]);
    let r = b.node("Relu", &[&s], vec![], vec![1, 4]);
    let e = b.node("Erf", &[&r], vec![], vec![1, 4]);
    let w = b.constant("w", &weight(&[4, 4]));
    let m = b.node("MatMul", &[&e, &w], vec![], vec![1, 4]);
    let c = b.node("CumSum", &[&m, &w], vec![], vec![1, 4]);
    b.output(&c, "y");
    let p = write_model(dir.path(), "exotic.onnx", &b.finish());
    expect_error(adr().arg("inspect").arg(&p), &["exotic.onnx", "(Sin)", "(Erf)", "(CumSum)", "op not supported"]);
}

/// A model that draws random numbers is refused: tract would fold the draw
/// into one constant, where ONNX Runtime (and a checker) draws anew at
/// every run, so no counterexample of it could be confirmed.
#[test]
fn random_ops_are_refused_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let mut b = GraphBuilder::new("m", Precision::F32);
    let x = b.input("x", vec![1, 4]);
    let zeros = b.constant("zeros", &ndarray::ArrayD::zeros(ndarray::IxDyn(&[1, 4])));
    let noise = b.node("RandomUniformLike", &[&zeros], vec![attr_float("seed", 3.0)], vec![1, 4]);
    let h = b.node("Add", &[&x, &noise], vec![], vec![1, 4]);
    let h = b.node("Relu", &[&h], vec![], vec![1, 4]);
    let w = b.constant("w", &weight(&[4, 4]));
    let y = b.node("MatMul", &[&h, &w], vec![], vec![1, 4]);
    b.output(&y, "y");
    let p = write_model(dir.path(), "noisy.onnx", &b.finish());
    let property = dir.path().join("p.vnnlib");
    let mut text = String::new();
    for i in 0..4 {
        text += &format!("(declare-const X_{i} Real)\n(declare-const Y_{i} Real)\n");
    }
    text += "(assert (>= X_0 0))\n(assert (<= X_0 1))\n(assert (>= X_1 0))\n(assert (<= X_1 1))\n";
    text += "(assert (>= X_2 0))\n(assert (<= X_2 1))\n(assert (>= X_3 0))\n(assert (<= X_3 1))\n(assert (>= Y_0 0))\n";
    std::fs::write(&property, text).unwrap();
    let named = ["noisy.onnx", "(RandomUniformLike)", "draws random numbers"];
    expect_error(adr().arg("inspect").arg(&p), &named);
    expect_error(adr().arg("falsify").arg(&p).arg(&property).args(["--timeout", "5", "--quiet"]), &named);

    // The same draw inside a branch of an If is refused for what it is
    // (an If on a constant condition is folded by running it in tract).
    let branch = |name: &str, random: bool| {
        let mut g = GraphBuilder::new(name, Precision::F32);
        let out = if random {
            g.node("RandomUniform", &[], vec![attr_ints("shape", &[1, 4])], vec![1, 4])
        } else {
            g.constant("zeros", &ndarray::ArrayD::zeros(ndarray::IxDyn(&[1, 4])))
        };
        g.output(&out, &format!("{name}_out"));
        g.finish().model.graph.unwrap()
    };
    let graph_attr = |name: &str, g| tract_onnx::pb::AttributeProto {
        name: name.into(),
        r#type: tract_onnx::pb::attribute_proto::AttributeType::Graph as i32,
        g: Some(g),
        ..Default::default()
    };
    let mut b = GraphBuilder::new("m", Precision::F32);
    let x = b.input("x", vec![1, 4]);
    let condition = adr_onnx::writer::builder::Sym { name: "condition".into(), shape: vec![] };
    let attrs = vec![graph_attr("then_branch", branch("then", true)), graph_attr("else_branch", branch("else", false))];
    let noise = b.node("If", &[&condition], attrs, vec![1, 4]);
    let h = b.node("Add", &[&x, &noise], vec![], vec![1, 4]);
    let y = b.node("Relu", &[&h], vec![], vec![1, 4]);
    b.output(&y, "y");
    let mut g = b.finish();
    let condition = tract_onnx::pb::TensorProto {
        name: "condition".into(),
        data_type: tract_onnx::pb::tensor_proto::DataType::Bool as i32,
        raw_data: vec![1],
        ..Default::default()
    };
    g.model.graph.as_mut().unwrap().initializer.push(condition);
    let p = write_model(dir.path(), "branchy.onnx", &g);
    expect_error(adr().arg("inspect").arg(&p), &["branchy.onnx", "(If)", "draws random numbers"]);
}

#[test]
fn a_bilinear_op_is_named_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let mut b = GraphBuilder::new("m", Precision::F32);
    let x = b.input("x", vec![1, 4]);
    let r = b.node("Relu", &[&x], vec![], vec![1, 4]);
    let y = b.node("Mul", &[&r, &x], vec![], vec![1, 4]);
    b.output(&y, "y");
    let p = write_model(dir.path(), "bilinear.onnx", &b.finish());
    expect_error(adr().arg("inspect").arg(&p), &["bilinear.onnx", "(Mul)", "not piecewise linear"]);
}

#[test]
fn unresolvable_shapes_are_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let mut b = GraphBuilder::new("m", Precision::F32).with_symbolic_batch("N");
    let x = b.input("x", vec![1, 4, 3]);
    let y = b.node("Relu", &[&x], vec![], vec![1, 4, 3]);
    b.output(&y, "y");
    let mut g = b.finish();
    // Make the last axis symbolic: only the batch axis may be.
    let input = &mut g.model.graph.as_mut().unwrap().input[0];
    if let Some(tract_onnx::pb::type_proto::Value::TensorType(t)) = input.r#type.as_mut().unwrap().value.as_mut() {
        t.shape.as_mut().unwrap().dim[2].value =
            Some(tract_onnx::pb::tensor_shape_proto::dimension::Value::DimParam("T".into()));
    }
    let p = write_model(dir.path(), "symbolic.onnx", &g);
    expect_error(adr().arg("inspect").arg(&p), &["symbolic.onnx", "symbolic dimension 'T'"]);
}

#[test]
fn a_shape_mismatch_names_the_node() {
    let dir = tempfile::tempdir().unwrap();
    let mut b = GraphBuilder::new("m", Precision::F32);
    let x = b.input("x", vec![1, 4]);
    let w = b.constant("w", &weight(&[5, 2]));
    let h = b.node("MatMul", &[&x, &w], vec![attr_int("unused", 0)], vec![1, 2]);
    let y = b.node("Relu", &[&h], vec![], vec![1, 2]);
    b.output(&y, "y");
    let p = write_model(dir.path(), "mismatch.onnx", &b.finish());
    expect_error(adr().arg("inspect").arg(&p), &["mismatch.onnx", "(MatMul)", "does not fit"]);
}

#[test]
fn external_data_outside_the_model_folder_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let models = dir.path().join("models");
    std::fs::create_dir(&models).unwrap();
    std::fs::write(dir.path().join("secret.bin"), [0u8; 24]).unwrap();
    let mut g = matmul_relu();
    let init = &mut g.model.graph.as_mut().unwrap().initializer[0];
    init.raw_data.clear();
    init.data_location = Some(tract_onnx::pb::tensor_proto::DataLocation::External as i32);
    init.external_data
        .push(tract_onnx::pb::StringStringEntryProto { key: "location".into(), value: "../secret.bin".into() });
    let p = write_model(&models, "external.onnx", &g);
    expect_error(adr().arg("inspect").arg(&p), &["external.onnx", "outside the model's folder", "../secret.bin"]);
}

#[test]
fn derive_writes_the_surrogate_and_the_step_graph() {
    let dir = tempfile::tempdir().unwrap();
    let model = fixtures().join("models/mnist_cnn_pgd.onnx");
    let out = dir.path().join("s.onnx");
    let o = adr().arg("derive").arg(&model).arg("-o").arg(&out).output().unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    // `--out` like every other command, and the same file.
    let long = dir.path().join("long.onnx");
    let o = adr().arg("derive").arg(&model).arg("--out").arg(&long).output().unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(std::fs::read(&long).unwrap() == std::fs::read(&out).unwrap(), "--out and -o write the same surrogate");
    let proto = adr_onnx::onnx::proto::read_model(&out).unwrap();
    let g = proto.graph.unwrap();
    let inputs: Vec<&str> = g.input.iter().map(|i| i.name.as_str()).collect();
    let outputs: Vec<&str> = g.output.iter().map(|i| i.name.as_str()).collect();
    assert_eq!(inputs, ["input", "eta.0", "eta.1", "eta.2", "eta.3"]);
    assert_eq!(outputs, ["logits", "pre.0", "pre.1", "pre.2", "pre.3"]);
    assert!(proto.metadata_props.iter().any(|p| p.key == "adr_onnx.alpha" && p.value == "2000"));

    let step = dir.path().join("step.onnx");
    let goal = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/goals/untargeted_png.json");
    let o = adr()
        .arg("derive")
        .arg(&model)
        .arg("-o")
        .arg(&step)
        .arg("--step")
        .arg("--goal")
        .arg(&goal)
        .args(["--batch", "3"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let g = adr_onnx::onnx::proto::read_model(&step).unwrap().graph.unwrap();
    assert_eq!(g.input[0].name, "x");
    assert!(g.output.iter().any(|o| o.name == "grad_eta.3"));
    // tract loads and runs it.
    let m = tract_onnx::onnx().model_for_path(&step).unwrap().into_optimized().unwrap();
    assert_eq!(m.input_outlets().unwrap().len(), 13);

    expect_error(adr().arg("derive").arg(&model).arg("-o").arg(&step).arg("--alpha=-1"), &["--alpha"]);
}

#[test]
fn bench_times_the_fixtures_and_writes_json_and_a_plot() {
    let dir = tempfile::tempdir().unwrap();
    let (json, plot) = (dir.path().join("bench.json"), dir.path().join("scaling.png"));
    let o = adr()
        .arg("bench")
        .arg("--fixtures")
        .arg(fixtures())
        .args(["--backends", "tract", "--threads", "1", "--only", "vae_decoder", "--batches", "1,4"])
        .args(["--iterations", "3", "--json", "--rss"])
        .arg("--out")
        .arg(&json)
        .arg("--plot")
        .arg(&plot)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let printed: Value = serde_json::from_slice(&o.stdout).unwrap();
    let written: Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(printed, written);
    let cases = printed["cases"].as_array().unwrap();
    assert_eq!(cases.len(), 2, "{printed}");
    for (case, batch) in cases.iter().zip([1, 4]) {
        assert_eq!(case["model"], "vae_decoder");
        assert_eq!(case["batch"], batch);
        assert_eq!(case["threads"], 1);
        assert_eq!(case["backend"], "tract");
        let ms = |k: &str| case[k].as_f64().unwrap_or_else(|| panic!("{k} in {case}"));
        for k in ["forward_ms", "adr_iter_ms", "pgd_step_ms"] {
            assert!(ms(k) > 0.0 && ms(k) < 10_000.0, "{k} in {case}");
        }
        assert!((ms("ratio") - ms("adr_iter_ms") / ms("forward_ms")).abs() < 1e-6 * ms("ratio"), "{case}");
        // An ADR iteration runs a forward, a backward and the surrogate: never
        // cheaper than the forward pass alone.
        assert!(ms("ratio") > 1.0, "{case}");
    }
    let rss = printed["rss"].as_array().unwrap();
    assert_eq!(rss.len(), 2);
    assert!(rss.iter().all(|r| r["peak_rss_mib"].as_f64().unwrap() > 1.0), "{rss:?}");
    assert!(std::fs::read(&plot).unwrap().starts_with(b"\x89PNG"));

    let bench = || {
        let mut c = adr();
        c.arg("bench").args(["--backends", "tract", "--threads", "1"]);
        c
    };
    expect_error(
        bench().arg("--fixtures").arg(dir.path()).args(["--only", "vae_decoder"]),
        &["mnist_vae_decoder.onnx"],
    );
    expect_error(bench().args(["--only", "vae"]), &["--only", "'vae'", "vae_decoder"]);
    expect_error(bench().args(["--batches", "0"]), &["--batches"]);
    expect_error(bench().arg("--project").arg(dir.path()), &["--project", "testdata/goals"]);
}

#[test]
fn bench_measures_memory_only_for_backends_it_could_select() {
    let dir = tempfile::tempdir().unwrap();
    let o = adr()
        .arg("bench")
        .arg("--fixtures")
        .arg(fixtures())
        .arg("--project")
        .arg(env!("CARGO_MANIFEST_DIR"))
        .args(["--backends", "ort", "--threads", "1", "--only", "vae_decoder", "--batches", "1"])
        .args(["--iterations", "2", "--json", "--rss", "--ort-lib"])
        .arg(dir.path().join("no-such-libonnxruntime.so"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("skipping ort") && stderr.contains("no-such-libonnxruntime.so"), "{stderr}");
    let printed: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(printed["cases"], serde_json::json!([]), "{printed}");
    assert_eq!(printed["rss"], serde_json::json!([]), "{printed}");
}

#[test]
fn bench_prints_each_row_once() {
    let o = adr()
        .arg("bench")
        .arg("--fixtures")
        .arg(fixtures())
        .args([
            "--backends",
            "tract",
            "--threads",
            "1",
            "--only",
            "vae_decoder",
            "--batches",
            "1,2",
            "--iterations",
            "1",
        ])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let (out, err) = (String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
    let rows = out.lines().chain(err.lines()).filter(|l| l.starts_with("vae_decoder")).count();
    assert_eq!(rows, 2, "one row per batch, printed once: {out}{err}");
    assert_eq!(out.lines().filter(|l| l.starts_with("model")).count(), 1, "{out}");
}

#[test]
fn bench_outside_the_checkout_says_where_the_fixtures_go() {
    let dir = tempfile::tempdir().unwrap();
    let o = adr().current_dir(dir.path()).args(["bench", "--backends", "tract", "--threads", "1"]).output().unwrap();
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("rand_large_s1.onnx") && err.contains("--fixtures DIR"), "{err}");
}

#[test]
fn completions_and_the_man_page_come_from_the_commands() {
    let o = adr().args(["completions", "bash"]).output().unwrap();
    assert_eq!(o.status.code(), Some(0));
    let bash = String::from_utf8_lossy(&o.stdout);
    assert!(bash.contains("complete -F _adr-onnx") || bash.contains("_adr__onnx"), "{bash}");
    assert!(
        bash.contains("audit-merge") && bash.contains("--fixtures") && bash.contains("--quiet"),
        "every command and flag"
    );
    for shell in ["zsh", "fish"] {
        let o = adr().args(["completions", shell]).output().unwrap();
        assert!(o.status.success() && String::from_utf8_lossy(&o.stdout).contains("falsify"), "{shell}");
    }
    let o = adr().args(["completions", "cmd.exe"]).output().unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("invalid value 'cmd.exe'"));
    let o = adr().arg("man").output().unwrap();
    assert_eq!(o.status.code(), Some(0));
    let man = String::from_utf8_lossy(&o.stdout);
    assert!(man.starts_with(".ie") && man.contains(".TH adr-onnx 1") && man.contains("audit\\-merge"), "{man}");
}
