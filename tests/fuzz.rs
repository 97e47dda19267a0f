//! Fuzz targets for the four input surfaces (ONNX import, goal parsing,
//! VNN-LIB parsing, `.npy` reading) as proptest properties, and the replay
//! of the corpus of reproducers in `tests/corpus/`.
//!
//! Each target feeds random bytes and structure-aware mutations of valid
//! inputs (tests/common/mutate.rs) to the library's entry point, through a
//! file as the commands read it, and asserts that nothing panics and that
//! every refusal is one line. In the test suite each target runs
//! `PROPTEST_CASES` cases (256 unless set) from a fixed seed;
//! `scripts/fuzz.sh` runs them for a time budget from random seeds
//! (docs/limits.md, "Fuzzing"). A failing input is saved to
//! `tests/corpus/<target>/found-<digest>.<ext>`, which the replay then runs
//! on every `cargo test`.

#[allow(dead_code)]
#[path = "common/models.rs"]
mod models;
#[path = "common/mutate.rs"]
mod mutate;
#[path = "common/reproducers.rs"]
mod reproducers;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use adr_onnx::onnx::ImportedModel;
use adr_onnx::vnnlib::parse::Property;
use assert_cmd::Command;
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::test_runner::{Config, RngSeed, TestCaseError, TestError, TestRunner};
use sha2::{Digest, Sha256};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).to_path_buf()
}

fn corpus() -> PathBuf {
    root().join("tests/corpus")
}

// ---- the checks every input must pass ----

/// The longest error the library may display; the binary cuts its line at
/// 2,000 characters, but a message this long echoes what it should clip.
const MAX_ERROR_CHARS: usize = 4000;

/// `Ok` for a one-line error of sensible length, else what is wrong.
fn one_line(e: &dyn std::fmt::Display) -> Result<(), String> {
    let text = e.to_string();
    if text.is_empty() {
        return Err("an empty error message".into());
    }
    if text.contains(['\n', '\r']) {
        return Err(format!("an error of several lines: {text:?}"));
    }
    let chars = text.chars().count();
    if chars > MAX_ERROR_CHARS {
        let head: String = text.chars().take(300).collect();
        return Err(format!("an error of {chars} characters: {head}…"));
    }
    Ok(())
}

fn import_checked(path: &Path) -> Result<Option<ImportedModel>, String> {
    match adr_onnx::onnx::import(path) {
        Ok(m) => Ok(Some(m)),
        Err(e) => one_line(&e).map(|()| None),
    }
}

/// The ONNX target: import, then ask for a ReLU.
fn check_onnx(path: &Path) -> Result<bool, String> {
    let Some(m) = import_checked(path)? else { return Ok(false) };
    if let Err(e) = m.require_relu() {
        one_line(&e)?;
    }
    Ok(true)
}

/// The models goals are parsed against: the MNIST CNN (target_class), the
/// small random network (output_bound), the zoo's generator
/// (reconstruction).
fn goal_models() -> &'static [ImportedModel] {
    static MODELS: OnceLock<Vec<ImportedModel>> = OnceLock::new();
    MODELS.get_or_init(|| {
        let generator = models::zoo("generator");
        vec![
            adr_onnx::onnx::import(&root().join("models/mnist_cnn_pgd.onnx")).unwrap(),
            adr_onnx::onnx::import(&root().join("models/rand_small_s1.onnx")).unwrap(),
            adr_onnx::onnx::import_proto(Path::new("generator.onnx"), &generator.model).unwrap(),
        ]
    })
}

/// The goal target: the file against each model.
fn check_goal(path: &Path) -> Result<bool, String> {
    let mut accepted = false;
    for model in goal_models() {
        match adr_onnx::goal::load(path, model) {
            Ok(_) => accepted = true,
            Err(e) => one_line(&e)?,
        }
    }
    Ok(accepted)
}

/// `x [1, n] -> MatMul -> Relu -> y [1, m]`, for properties of that size.
fn relu_net(n: usize, m: usize) -> &'static ImportedModel {
    static NETS: OnceLock<Vec<ImportedModel>> = OnceLock::new();
    let nets = NETS.get_or_init(|| {
        let mut v = Vec::new();
        for n in 1..=4 {
            for m in 1..=4 {
                let w = ndarray::ArrayD::from_shape_fn(ndarray::IxDyn(&[n, m]), |i| (i[0] + 2 * i[1]) as f32 * 0.25);
                v.push(adr_onnx::onnx::import_proto(Path::new("relu.onnx"), &models::dense(&w, "Relu").model).unwrap());
            }
        }
        v
    });
    &nets[(n - 1) * 4 + (m - 1)]
}

/// The VNN-LIB target: parse; for a property, every disjunct's float32 box
/// lies inside the box as written, and its goals build for a network of
/// its size.
fn check_vnnlib(path: &Path) -> Result<bool, String> {
    let property: Property = match adr_onnx::vnnlib::files::read_property(path) {
        Ok(p) => p,
        Err(e) => return one_line(&e).map(|()| false),
    };
    for (k, d) in property.disjuncts.iter().enumerate() {
        if let Ok((lo, hi)) = adr_onnx::vnnlib::falsify::f32_box(k, &d.input) {
            for corner in [&lo, &hi] {
                let x: Vec<f64> = corner.iter().map(|&v| f64::from(v)).collect();
                if !d.input.contains(&x) {
                    return Err(format!("disjunct {k}: the float32 corner {corner:?} lies outside {:?}", d.input));
                }
            }
            if lo.iter().zip(&hi).any(|(l, h)| l > h) {
                return Err(format!("disjunct {k}: float32 box [{lo:?}, {hi:?}] is empty"));
            }
        }
    }
    if (1..=4).contains(&property.num_inputs) && (1..=4).contains(&property.num_outputs) {
        let model = relu_net(property.num_inputs, property.num_outputs);
        if let Err(e) = adr_onnx::vnnlib::falsify::goals_for(&property, model, path) {
            one_line(&e)?;
        }
    }
    Ok(true)
}

/// The `.npy` target: read as images and as labels.
fn check_npy(path: &Path) -> Result<bool, String> {
    let accepted = match adr_onnx::goal::data::read_npy(path) {
        Ok(a) if a.len() != a.shape().iter().product::<usize>() => {
            return Err(format!("{} values for shape {:?}", a.len(), a.shape()))
        }
        Ok(_) => true,
        Err(e) => one_line(&e).map(|()| false)?,
    };
    if let Err(e) = adr_onnx::dataset::read_labels(path) {
        one_line(&e)?;
    }
    Ok(accepted)
}

/// One input surface: its corpus folder, its files' extension, its check.
#[derive(Clone, Copy)]
struct Target {
    name: &'static str,
    ext: &'static str,
    /// `Ok(true)` when the input was accepted, `Ok(false)` when refused
    /// as it should be, `Err` for what is wrong.
    check: fn(&Path) -> Result<bool, String>,
}

const ONNX: Target = Target { name: "onnx", ext: "onnx", check: check_onnx };
const GOAL: Target = Target { name: "goal", ext: "json", check: check_goal };
const VNNLIB: Target = Target { name: "vnnlib", ext: "vnnlib", check: check_vnnlib };
const NPY: Target = Target { name: "npy", ext: "npy", check: check_npy };
const TARGETS: [Target; 4] = [ONNX, GOAL, VNNLIB, NPY];

/// The folder fuzz inputs are written to: goals find `digit.png`,
/// `images.npy` and `targets.npy` beside them.
fn scratch() -> &'static Path {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        std::fs::copy(root().join("testdata/mnist/digit_0_label_7.png"), dir.path().join("digit.png")).unwrap();
        std::fs::copy(root().join("testdata/mnist/mnist_test_first32_images.npy"), dir.path().join("images.npy"))
            .unwrap();
        let targets =
            ndarray::ArrayD::from_shape_fn(ndarray::IxDyn(&[2, 1, 12, 12]), |i| (i[2] * 12 + i[3]) as f32 / 144.0);
        ndarray_npy::write_npy(dir.path().join("targets.npy"), &targets).unwrap();
        dir
    })
    .path()
}

/// Runs `target`'s check on `bytes`, written to a fresh file.
fn check_bytes(target: Target, bytes: &[u8], accepted: &AtomicU64) -> Result<(), String> {
    static COUNT: AtomicU64 = AtomicU64::new(0);
    let n = COUNT.fetch_add(1, Ordering::Relaxed);
    let path = scratch().join(format!("case-{n}.{}", target.ext));
    std::fs::write(&path, bytes).unwrap();
    if std::env::var_os("ADR_FUZZ_IN_PROGRESS").is_some() {
        // Kept if the process dies (an abort, a stack overflow, the memory
        // limit): scripts/fuzz.sh moves it into the corpus.
        std::fs::write(corpus().join(target.name).join(".in-progress"), bytes).unwrap();
    }
    let outcome = (target.check)(&path);
    let _ = std::fs::remove_file(&path);
    if outcome == Ok(true) {
        accepted.fetch_add(1, Ordering::Relaxed);
    }
    outcome.map(drop)
}

// ---- the driver ----

fn env_number(name: &str) -> Option<u64> {
    std::env::var(name).ok().and_then(|v| v.parse().ok())
}

/// Runs `strategy` through `target`'s check: `PROPTEST_CASES` cases (256
/// unless set), or as many as `ADR_FUZZ_SECONDS` allows; from seed
/// `PROPTEST_RNG_SEED` (14 unless set). A failure is shrunk, saved to the
/// corpus and reported.
fn fuzz(target: Target, strategy: impl Strategy<Value = Vec<u8>>) {
    let deadline = env_number("ADR_FUZZ_SECONDS").map(|s| Instant::now() + Duration::from_secs(s));
    let cases = env_number("PROPTEST_CASES").unwrap_or(if deadline.is_some() { u64::MAX } else { 256 });
    let seed = env_number("PROPTEST_RNG_SEED").unwrap_or(14);
    let started = Instant::now();
    let mut done = 0u64;
    let mut round = 0u64;
    let accepted = AtomicU64::new(0);
    while done < cases && deadline.is_none_or(|d| Instant::now() < d) {
        let chunk = (cases - done).min(if deadline.is_some() { 100 } else { u64::from(u32::MAX) });
        let config = Config {
            cases: chunk as u32,
            rng_seed: RngSeed::Fixed(seed.wrapping_add(round)),
            failure_persistence: None,
            max_shrink_time: 120_000,
            ..Config::default()
        };
        let result = TestRunner::new(config)
            .run(&strategy, |bytes| check_bytes(target, &bytes, &accepted).map_err(TestCaseError::fail));
        match result {
            Ok(()) => {}
            Err(TestError::Fail(why, bytes)) => {
                let saved = save_found(target, &bytes);
                let _ = std::fs::remove_file(corpus().join(target.name).join(".in-progress"));
                panic!("fuzz target {}: {why}; input saved to {}", target.name, saved.display());
            }
            Err(TestError::Abort(why)) => panic!("fuzz target {}: aborted: {why}", target.name),
        }
        done += chunk;
        round += 1;
    }
    let _ = std::fs::remove_file(corpus().join(target.name).join(".in-progress"));
    eprintln!(
        "fuzz target {}: {done} cases in {:.1} s (seed {seed}), {} accepted",
        target.name,
        started.elapsed().as_secs_f64(),
        accepted.into_inner()
    );
}

fn save_found(target: Target, bytes: &[u8]) -> PathBuf {
    let digest = Sha256::digest(bytes);
    let hex: String = digest.iter().take(6).map(|b| format!("{b:02x}")).collect();
    let path = corpus().join(target.name).join(format!("found-{hex}.{}", target.ext));
    std::fs::write(&path, bytes).unwrap();
    path
}

fn words(max: usize) -> impl Strategy<Value = Vec<u64>> {
    vec(any::<u64>(), 0..=max)
}

/// Byte damage after a structural mutation: none in three cases of four,
/// so that most inputs stay close enough to valid to reach deep checks.
fn damage() -> impl Strategy<Value = Vec<u64>> {
    prop_oneof![3 => Just(Vec::new()), 1 => vec(any::<u64>(), 1..=2)]
}

fn random_bytes() -> impl Strategy<Value = Vec<u8>> {
    vec(any::<u8>(), 0..512)
}

// ---- the targets ----

fn onnx_seeds() -> Vec<tract_onnx::pb::ModelProto> {
    let mut v = vec![models::matmul_relu().model];
    v.extend(adr_onnx::zoo::all().into_iter().map(|z| z.graph.model));
    v
}

#[test]
fn fuzz_onnx_import() {
    let seeds = onnx_seeds();
    let n = seeds.len();
    let mutated = (0..n, words(3), damage()).prop_map(move |(i, w, b)| mutate::onnx(&seeds[i], &w, &b));
    fuzz(ONNX, prop_oneof![1 => random_bytes(), 6 => mutated]);
}

#[test]
fn fuzz_goal_parsing() {
    let seeds = mutate::goal_seeds();
    let n = seeds.len();
    let mutated = (0..n, words(3), damage()).prop_map(move |(i, w, b)| mutate::goal(&seeds[i], &w, &b));
    let text = "[ -~\n\u{e9}]{0,200}".prop_map(String::into_bytes);
    fuzz(GOAL, prop_oneof![1 => random_bytes(), 1 => text, 6 => mutated]);
}

#[test]
fn fuzz_vnnlib_parsing() {
    let seeds: Vec<String> = reproducers::vnnlib()
        .into_iter()
        .filter(|r| !r.name.ends_with(".special"))
        .map(|r| String::from_utf8(r.bytes).unwrap())
        .collect();
    let n = seeds.len();
    let generated = (vec(any::<u64>(), 1..=8), damage()).prop_map(|(w, b)| {
        let text = mutate::vnnlib_generated(&w);
        mutate::bytes(text.into_bytes(), &b)
    });
    let mutated = (0..n, words(3)).prop_map(move |(i, w)| mutate::vnnlib_mutated(&seeds[i], &w));
    let text = "[ -~\n]{0,200}".prop_map(String::into_bytes);
    fuzz(VNNLIB, prop_oneof![1 => random_bytes(), 1 => text, 4 => generated, 4 => mutated]);
}

#[test]
fn fuzz_npy_reading() {
    let headers = vec(any::<u64>(), 3..=6).prop_map(|w| mutate::npy(&w));
    fuzz(NPY, prop_oneof![1 => random_bytes(), 6 => headers]);
}

// ---- the corpus ----

/// Puts the non-regular file a `.special` marker names at `dir/name`.
fn special(marker: &Path, dir: &Path) -> PathBuf {
    let kind = std::fs::read_to_string(marker).unwrap();
    let name = marker.file_name().unwrap().to_str().unwrap().trim_end_matches(".special");
    let path = dir.join(name);
    match kind.trim() {
        "device" => return PathBuf::from("/dev/zero"),
        "directory" => std::fs::create_dir(&path).unwrap(),
        "fifo" => {
            let c = std::ffi::CString::new(path.to_str().unwrap()).unwrap();
            // SAFETY: a valid NUL-terminated path.
            assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        }
        other => panic!("{}: unknown kind '{other}'", marker.display()),
    }
    path
}

fn corpus_files(target: Target) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(corpus().join(target.name))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| !p.file_name().unwrap().to_str().unwrap().starts_with('.'))
        .collect();
    v.sort();
    v
}

/// What the library says of some reproducers (the others: no panic, and
/// any error on one line).
const EXPECTED: &[(&str, &str)] = &[
    ("onnx/not_regular_device.onnx.special", "/dev/zero: is a device, not a regular file"),
    ("onnx/not_regular_fifo.onnx.special", "is a FIFO"),
    ("onnx/not_regular_directory.onnx.special", "is a directory"),
    ("onnx/duplicate_node_output.onnx", "is already produced by node"),
    ("onnx/relu_with_two_inputs.onnx", "2 inputs; Relu takes 1"),
    ("onnx/duplicate_graph_input.onnx", "graph input 'x' is declared twice"),
    ("onnx/duplicate_graph_output.onnx", "graph output 'y' is declared twice"),
    ("onnx/no_opset_import.onnx", "no opset_import"),
    ("onnx/opset_0.onnx", "default-domain opset 0; adr-onnx reads opsets 7 to 21"),
    ("onnx/opset_1.onnx", "default-domain opset 1; adr-onnx reads opsets 7 to 21"),
    ("onnx/opset_99.onnx", "default-domain opset 99; adr-onnx reads opsets 7 to 21"),
    ("onnx/nan_in_weights.onnx", "element 1 is NaN"),
    ("onnx/inf_in_weights.onnx", "element 1 is inf"),
    ("onnx/float64_weight_beyond_f32.onnx", "element 2 is"),
    ("onnx/found_gather_index_past_the_axis_panics_tract.onnx", "index 100 outside the 4 entries of axis 0"),
    ("onnx/found_batch_norm_of_a_rank_1_constant_aborts_tract.onnx", "input 0 has rank 1; BatchNormalization needs"),
    ("goal/not_regular_device.json.special", "is a device"),
    ("goal/not_regular_fifo.json.special", "is a FIFO"),
    ("goal/not_regular_directory.json.special", "is a directory"),
    ("goal/epsilon_5e-324.json", "which is 0 as a 32-bit number"),
    ("goal/duplicate_key_epsilon.json", "at /: key `epsilon` appears twice"),
    ("goal/duplicate_key_in_method.json", "at /method: key `lr` appears twice"),
    ("goal/method_alpha_1e308.json", "alpha"),
    ("goal/kind_of_40kb.json", "unknown kind 'kkkk"),
    ("vnnlib/not_regular_device.vnnlib.special", "is a device"),
    ("vnnlib/not_regular_fifo.vnnlib.special", "is a FIFO"),
    ("vnnlib/not_regular_directory.vnnlib.special", "is a directory"),
    ("npy/not_regular_device.npy.special", "is a device"),
    ("npy/not_regular_fifo.npy.special", "is a FIFO"),
    ("npy/not_regular_directory.npy.special", "is a directory"),
    ("npy/truncated.npy", "truncated or not an .npy file"),
    ("npy/pickled_object_dtype.npy", "cannot read the .npy"),
];

/// The first error the library gives for a corpus file, if any.
fn first_error(target: Target, path: &Path) -> Option<String> {
    match target.name {
        "onnx" => adr_onnx::onnx::import(path).err().map(|e| e.to_string()),
        "goal" => goal_models().iter().find_map(|m| adr_onnx::goal::load(path, m).err().map(|e| e.to_string())),
        "vnnlib" => adr_onnx::vnnlib::files::read_property(path).err().map(|e| e.to_string()),
        _ => adr_onnx::goal::data::read_npy(path).err().map(|e| e.to_string()),
    }
}

#[test]
fn the_corpus_replays_without_a_panic_and_with_one_line_errors() {
    let dir = tempfile::tempdir().unwrap();
    let mut failures = Vec::new();
    let mut replayed = 0;
    for target in TARGETS {
        for file in corpus_files(target) {
            let rel = format!("{}/{}", target.name, file.file_name().unwrap().to_str().unwrap());
            let path = if rel.ends_with(".special") { special(&file, dir.path()) } else { file.clone() };
            let outcome = std::panic::catch_unwind(|| (target.check)(&path));
            replayed += 1;
            match outcome {
                Err(_) => failures.push(format!("{rel}: panicked")),
                Ok(Err(why)) => failures.push(format!("{rel}: {why}")),
                Ok(Ok(_)) => {}
            }
            if let Some((_, needle)) = EXPECTED.iter().find(|(name, _)| *name == rel) {
                match first_error(target, &path) {
                    Some(e) if e.contains(needle) => {}
                    other => failures.push(format!("{rel}: expected an error with '{needle}', got {other:?}")),
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(replayed >= reproducers::all().len(), "{replayed} files replayed");
}

#[test]
fn the_corpus_is_what_its_generator_makes() {
    for r in reproducers::all() {
        let path = corpus().join(r.target).join(&r.name);
        let on_disk = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        assert!(on_disk == r.bytes, "{} differs from its generator in tests/common/reproducers.rs", path.display());
        assert!(r.bytes.len() < 50 << 10, "{} is {} bytes", path.display(), r.bytes.len());
    }
}

/// Rewrites the generated corpus files:
/// `cargo test --test fuzz -- --ignored write_corpus`.
#[test]
#[ignore]
fn write_corpus() {
    for r in reproducers::all() {
        reproducers::write(&corpus(), &r);
    }
}

// ---- a few reproducers through the binary ----

fn adr() -> Command {
    Command::cargo_bin("adr-onnx").unwrap()
}

/// Runs the command, expects exit 2 and one `adr-onnx: error: ` line
/// containing `needle`.
fn expect_error(cmd: &mut Command, needle: &str) {
    let out = cmd.timeout(Duration::from_secs(120)).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(2), "stderr: {stderr}");
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "expected one line, got: {stderr}");
    assert!(lines[0].starts_with("adr-onnx: error: "), "{stderr}");
    assert!(stderr.contains(needle), "missing '{needle}' in: {stderr}");
    assert!(stderr.len() <= 2100, "{} bytes", stderr.len());
}

fn corpus_file(rel: &str) -> PathBuf {
    corpus().join(rel)
}

#[test]
fn representative_reproducers_through_the_binary() {
    let dir = tempfile::tempdir().unwrap();
    let small = root().join("models/rand_small_s1.onnx");
    let inspect = |p: &Path| {
        let mut c = adr();
        c.arg("inspect").arg(p);
        c
    };
    expect_error(&mut inspect(&corpus_file("onnx/relu_with_two_inputs.onnx")), "(Relu): 2 inputs; Relu takes 1");
    expect_error(&mut inspect(&corpus_file("onnx/opset_99.onnx")), "default-domain opset 99");
    expect_error(
        &mut inspect(&corpus_file("onnx/found_gather_index_past_the_axis_panics_tract.onnx")),
        "could not fold constant node: index 100 outside the 4 entries of axis 0",
    );
    let fifo = special(&corpus_file("onnx/not_regular_fifo.onnx.special"), dir.path());
    expect_error(&mut inspect(&fifo), "is a FIFO");

    let run = |goal: &Path| {
        let mut c = adr();
        c.arg("run").arg(&small).arg("--goal").arg(goal).args(["--iterations", "1", "--quiet", "--backend", "tract"]);
        c
    };
    expect_error(&mut run(&corpus_file("goal/duplicate_key_epsilon.json")), "key `epsilon` appears twice");
    expect_error(&mut run(&corpus_file("goal/kind_of_40kb.json")), "…");
    let goal_dir = special(&corpus_file("goal/not_regular_directory.json.special"), dir.path());
    expect_error(&mut run(&goal_dir), "is a directory");

    let property = special(&corpus_file("vnnlib/not_regular_device.vnnlib.special"), dir.path());
    expect_error(adr().arg("falsify").arg(&small).arg(&property), "/dev/zero: is a device");

    let labels = dir.path().join("labels.npy");
    ndarray_npy::write_npy(&labels, &ndarray::arr1(&[7i64, 2, 1])).unwrap();
    let audit = |images: &Path| {
        let mut c = adr();
        c.arg("audit")
            .arg(root().join("models/mnist_cnn_pgd.onnx"))
            .arg("--images")
            .arg(images)
            .arg("--labels")
            .arg(&labels)
            .arg("--goal")
            .arg(root().join("testdata/templates/mnist_pgd_eps025.json"))
            .args(["--quiet", "--backend", "tract", "--method", "pgd", "--iterations", "1", "--out"])
            .arg(dir.path().join("a.json"));
        c
    };
    expect_error(&mut audit(&corpus_file("npy/nan_pixel_in_images.npy")), "sample 2: value 5 is NaN");
    expect_error(&mut audit(&corpus_file("npy/integer_images_0_to_255.npy")), "lies outside [0, 1]");
    expect_error(&mut audit(&corpus_file("npy/truncated.npy")), "truncated or not an .npy file");
}

/// Writes the memory triggers that are not yet in the corpus to the folder
/// `ADR_FUZZ_OUT`, to try them (under a memory limit) one by one.
#[test]
#[ignore]
fn write_memory_triggers() {
    let out = PathBuf::from(std::env::var("ADR_FUZZ_OUT").unwrap());
    for r in reproducers::onnx_memory_triggers().into_iter().chain(reproducers::npy_memory_triggers()) {
        reproducers::write(&out, &r);
    }
}
