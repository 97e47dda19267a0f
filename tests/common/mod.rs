//! Helpers shared by the integration tests: fixture paths, the models to
//! test on, random arrays.
#![allow(dead_code)]

pub mod models;

use std::path::{Path, PathBuf};

use adr_onnx::onnx::{import, import_proto, ImportedModel};
use ndarray::{Array2, ArrayD, IxDyn};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/fixtures")
}

pub fn testdata() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata")
}

/// Every fixture model (models, generator, VNN-COMP tests, one ACAS Xu
/// network), the skl2onnx test models and the zoo, imported.
pub fn all_models() -> Vec<(String, ImportedModel)> {
    let mut v: Vec<(String, ImportedModel)> = [
        "models/mnist_cnn_pgd.onnx",
        "models/mnist_cnn_clean.onnx",
        "models/mnist_vae_decoder.onnx",
        "models/rand_small_s1.onnx",
        "models/rand_large_s1.onnx",
        "vnncomp/test/test_nano.onnx",
        "vnncomp/test/test_tiny.onnx",
        "vnncomp/test/test_small.onnx",
        "vnncomp/test/test_sat.onnx",
        "vnncomp/acasxu/ACASXU_run2a_1_1_batch_2000.onnx",
    ]
    .iter()
    .map(|f| (f.to_string(), import(&fixtures().join(f)).unwrap()))
    .collect();
    for f in ["skl_mlp_classifier.onnx", "skl_mlp_regressor.onnx"] {
        v.push((f.to_string(), import(&testdata().join(f)).unwrap()));
    }
    for z in adr_onnx::zoo::all() {
        v.push((z.name.to_string(), import_proto(Path::new(z.name), &z.graph.model).unwrap()));
    }
    v
}

/// Small models only (fast finite differences): everything but the MNIST
/// CNNs and the large random network.
pub fn small_models() -> Vec<(String, ImportedModel)> {
    all_models().into_iter().filter(|(n, _)| !n.contains("mnist_cnn") && !n.contains("rand_large")).collect()
}

pub fn uniform(shape: &[usize], lo: f64, hi: f64, seed: u64) -> ArrayD<f64> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let n = shape.iter().product();
    ArrayD::from_shape_vec(IxDyn(shape), (0..n).map(|_| lo + (hi - lo) * rng.random::<f64>()).collect()).unwrap()
}

pub fn uniform2(rows: usize, cols: usize, lo: f64, hi: f64, seed: u64) -> Array2<f64> {
    uniform(&[rows, cols], lo, hi, seed).into_dimensionality().unwrap()
}
