//! The reproducers of issue 14 ("Hardening") as the files of
//! `tests/corpus/`: every file is made here, so that
//! `cargo test --test fuzz -- --ignored write_corpus` rewrites the corpus and
//! `the_corpus_is_what_its_generator_makes` notices a hand-edited one.
//!
//! Inputs that cannot be committed as files (a device, a FIFO, a
//! directory) are `<name>.special` files holding one word, `device`, `fifo`
//! or `directory`: the replay puts that kind of file at the path instead.
//! (A committed symlink to `/dev/zero` would make every tool that walks the
//! tree and follows links read without end.)

use std::path::Path;

use adr_onnx::writer::builder::{attr_ints, GraphBuilder, OnnxGraph, Precision};
use ndarray::{ArrayD, IxDyn};
use tract_onnx::pb::GraphProto;

use crate::models::{matmul_relu, relu, weight};

/// One corpus file: the folder (`onnx`, `goal`, `vnnlib`, `npy`), the
/// file name and its bytes.
pub struct Reproducer {
    pub target: &'static str,
    pub name: String,
    pub bytes: Vec<u8>,
}

fn rep(target: &'static str, name: &str, bytes: impl Into<Vec<u8>>) -> Reproducer {
    Reproducer { target, name: name.to_string(), bytes: bytes.into() }
}

/// The non-regular files of one target, as `.special` markers.
fn specials(target: &'static str, ext: &str) -> Vec<Reproducer> {
    ["device", "fifo", "directory"]
        .iter()
        .map(|kind| rep(target, &format!("not_regular_{kind}.{ext}.special"), format!("{kind}\n")))
        .collect()
}

fn graph(g: &mut OnnxGraph) -> &mut GraphProto {
    g.model.graph.as_mut().unwrap()
}

fn edited(edit: impl FnOnce(&mut OnnxGraph)) -> Vec<u8> {
    let mut g = matmul_relu();
    edit(&mut g);
    g.to_bytes()
}

/// x [shape] -> Relu -> y.
fn relu_of_shape(shape: Vec<usize>) -> Vec<u8> {
    relu("m", shape).to_bytes()
}

/// The ONNX reproducers.
pub fn onnx() -> Vec<Reproducer> {
    let mut v = specials("onnx", "onnx");
    v.push(rep(
        "onnx",
        "duplicate_node_output.onnx",
        edited(|g| {
            let nodes = &mut graph(g).node;
            let mm_out = nodes[0].output[0].clone();
            nodes[1].output[0] = mm_out;
        }),
    ));
    v.push(rep("onnx", "relu_with_two_inputs.onnx", edited(|g| graph(g).node[1].input.push("x".into()))));
    v.push(rep(
        "onnx",
        "duplicate_graph_input.onnx",
        edited(|g| {
            let first = graph(g).input[0].clone();
            graph(g).input.push(first);
        }),
    ));
    v.push(rep(
        "onnx",
        "duplicate_graph_output.onnx",
        edited(|g| {
            let first = graph(g).output[0].clone();
            graph(g).output.push(first);
        }),
    ));
    v.push(rep("onnx", "no_opset_import.onnx", edited(|g| g.model.opset_import.clear())));
    for version in [0, 1, 99] {
        v.push(rep("onnx", &format!("opset_{version}.onnx"), edited(|g| g.model.opset_import[0].version = version)));
    }
    for (name, value) in [("nan", f32::NAN), ("inf", f32::INFINITY)] {
        v.push(rep(
            "onnx",
            &format!("{name}_in_weights.onnx"),
            edited(|g| graph(g).initializer[0].raw_data[4..8].copy_from_slice(&value.to_le_bytes())),
        ));
    }
    let mut b = GraphBuilder::new("m", Precision::F64);
    let x = b.input("x", vec![1, 3]);
    let w =
        b.constant_f64("w", &ArrayD::from_shape_vec(IxDyn(&[3, 2]), vec![1.0, 2.0, 1e300, 0.5, 0.25, 3.0]).unwrap());
    let h = b.node("MatMul", &[&x, &w], vec![], vec![1, 2]);
    let y = b.node("Relu", &[&h], vec![], vec![1, 2]);
    b.output(&y, "y");
    v.push(rep("onnx", "float64_weight_beyond_f32.onnx", b.finish().to_bytes()));
    v
}

/// Models that made the importer allocate without bound; another branch
/// fixes them, so they join the corpus once they pass (see
/// `memory_triggers_that_pass`).
pub fn onnx_memory_triggers() -> Vec<Reproducer> {
    let mut v = Vec::new();
    // Pad by 1e10 (opset 11 and later: pads as an input).
    let mut b = GraphBuilder::new("m", Precision::F32);
    let x = b.input("x", vec![1, 4]);
    let pads = b.constant_i64("pads", &[0, 0, 0, 10_000_000_000]);
    let p = b.node("Pad", &[&x, &pads], vec![], vec![1, 4]);
    let y = b.node("Relu", &[&p], vec![], vec![1, 4]);
    b.output(&y, "y");
    v.push(rep("onnx", "pad_of_1e10.onnx", b.finish().to_bytes()));
    // Conv padded by 100000 on each side.
    let mut b = GraphBuilder::new("m", Precision::F32);
    let x = b.input("x", vec![1, 1, 4, 4]);
    let w = b.constant("w", &weight(&[1, 1, 3, 3]));
    let c = b.node("Conv", &[&x, &w], vec![attr_ints("pads", &[100_000; 4])], vec![1, 1, 4, 4]);
    let y = b.node("Relu", &[&c], vec![], vec![1, 1, 4, 4]);
    b.output(&y, "y");
    v.push(rep("onnx", "conv_pads_of_100000.onnx", b.finish().to_bytes()));
    v.push(rep("onnx", "input_of_shape_1x1e12.onnx", relu_of_shape(vec![1, 1_000_000_000_000])));
    v.push(rep("onnx", "input_of_shape_1x2p62plus1x4.onnx", relu_of_shape(vec![1, (1 << 62) + 1, 4])));
    v.push(rep("onnx", "input_of_shape_1x2p40x2p40.onnx", relu_of_shape(vec![1, 1 << 40, 1 << 40])));
    v
}

/// A `.npy` file (version 1.0) with the header dictionary `dict` and `data`.
pub fn npy(dict: &str, data: &[u8]) -> Vec<u8> {
    let mut header = dict.to_string();
    // Magic (6) + version (2) + length (2) + header + '\n', to a multiple of 64.
    while !(10 + header.len() + 1).is_multiple_of(64) {
        header.push(' ');
    }
    header.push('\n');
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    out.extend_from_slice(data);
    out
}

fn f32_npy(shape: &str, values: impl Iterator<Item = f32>) -> Vec<u8> {
    let data: Vec<u8> = values.flat_map(f32::to_le_bytes).collect();
    npy(&format!("{{'descr': '<f4', 'fortran_order': False, 'shape': {shape}, }}"), &data)
}

/// The `.npy` reproducers (audit images).
pub fn npy_files() -> Vec<Reproducer> {
    let mut v = specials("npy", "npy");
    // Three MNIST-shaped samples, 0.5 everywhere but one NaN in sample 2.
    let nan = (0..3 * 784).map(|i| if i == 2 * 784 + 5 { f32::NAN } else { 0.5 });
    v.push(rep("npy", "nan_pixel_in_images.npy", f32_npy("(3, 1, 28, 28)", nan)));
    let ints: Vec<u8> = (0..3 * 784).map(|i| (i % 256) as u8).collect();
    v.push(rep(
        "npy",
        "integer_images_0_to_255.npy",
        npy("{'descr': '|u1', 'fortran_order': False, 'shape': (3, 1, 28, 28), }", &ints),
    ));
    let whole = f32_npy("(3, 1, 28, 28)", (0..3 * 784).map(|_| 0.5));
    v.push(rep("npy", "truncated.npy", whole[..whole.len() / 2].to_vec()));
    // `np.save(f, np.array([{'a': 1}], dtype=object))`: a pickle, never unpickled.
    let pickle = b"\x80\x02]q\x00}q\x01X\x01\x00\x00\x00aq\x02K\x01sa.";
    v.push(rep(
        "npy",
        "pickled_object_dtype.npy",
        npy("{'descr': '|O', 'fortran_order': False, 'shape': (1,), }", pickle),
    ));
    v
}

pub fn npy_memory_triggers() -> Vec<Reproducer> {
    vec![rep(
        "npy",
        "header_claims_1e12_samples.npy",
        npy("{'descr': '<f4', 'fortran_order': False, 'shape': (1000000000000, 1, 28, 28), }", &[0; 64]),
    )]
}

/// The goal reproducers; their paths are relative to `tests/corpus/goal/`.
pub fn goals() -> Vec<Reproducer> {
    let png = "../../../testdata/mnist/digit_0_label_7.png";
    let target = |rest: &str| format!(r#"{{"kind": "target_class", "input": "{png}", "label": 7{rest}}}"#);
    let mut v = specials("goal", "json");
    v.push(rep("goal", "epsilon_5e-324.json", target(r#", "epsilon": 5e-324, "bounds": [0, 1]"#)));
    v.push(rep("goal", "duplicate_key_epsilon.json", target(r#", "epsilon": 0.1, "epsilon": 0.3"#)));
    v.push(rep("goal", "duplicate_key_in_method.json", target(r#", "method": {"lr": 1, "lr": 2}"#)));
    v.push(rep("goal", "method_alpha_1e308.json", target(r#", "epsilon": 0.1, "method": {"alpha": 1e308}"#)));
    // The issue's value was 50 MB; 40 KB takes the same path and keeps the
    // corpus small (tests/hardening.rs runs the 50 MB one).
    v.push(rep("goal", "kind_of_40kb.json", format!(r#"{{"kind": "{}"}}"#, "k".repeat(40 << 10))));
    v
}

fn property(asserts: &str) -> String {
    format!("(declare-const X_0 Real)\n(declare-const Y_0 Real)\n{asserts}\n")
}

/// The VNN-LIB reproducers, for `y = relu(x)` on one input.
pub fn vnnlib() -> Vec<Reproducer> {
    let mut v = specials("vnnlib", "vnnlib");
    for (name, asserts) in [
        ("degenerate_box_0.3.vnnlib", "(assert (>= X_0 0.3))\n(assert (<= X_0 0.3))\n(assert (>= Y_0 0.0))"),
        (
            "box_without_f32_0.1000000001.vnnlib",
            "(assert (>= X_0 0.1000000001))\n(assert (<= X_0 0.1000000009))\n(assert (>= Y_0 0.0))",
        ),
        (
            "box_at_f32_edge_0.29999998.vnnlib",
            "(assert (>= X_0 0.29999998))\n(assert (<= X_0 0.30000002))\n(assert (>= Y_0 0.29999998))",
        ),
        ("box_at_f32_edge_0.1.vnnlib", "(assert (>= X_0 0.1))\n(assert (<= X_0 0.10000001))\n(assert (>= Y_0 0.1))"),
        ("strict_output_lt_0.vnnlib", "(assert (>= X_0 -1.0))\n(assert (<= X_0 1.0))\n(assert (< Y_0 0.0))"),
        ("open_box_below_2p-149.vnnlib", "(assert (> X_0 0.0))\n(assert (< X_0 1.4e-45))\n(assert (>= Y_0 0.0))"),
        ("strict_output_above_box.vnnlib", "(assert (>= X_0 0.0))\n(assert (<= X_0 0.5))\n(assert (> Y_0 0.5))"),
    ] {
        v.push(rep("vnnlib", name, property(asserts)));
    }
    v
}

/// Every reproducer that belongs in the corpus.
pub fn all() -> Vec<Reproducer> {
    [onnx(), npy_files(), goals(), vnnlib()].into_iter().flatten().collect()
}

/// Writes `r` under `corpus`.
pub fn write(corpus: &Path, r: &Reproducer) {
    let dir = corpus.join(r.target);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(&r.name), &r.bytes).unwrap();
}
