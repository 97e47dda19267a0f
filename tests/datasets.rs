//! `adr-onnx audit` on the datasets people have: an image folder of PNG and
//! JPEG files (torchvision's ImageFolder layout) and a CSV for a tabular
//! model, each against the same data as `.npy`.

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use ndarray::{Array4, Axis};
use serde_json::Value;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).to_path_buf()
}

fn mnist_images() -> PathBuf {
    root().join("testdata/mnist/mnist_test_first32_images.npy")
}

fn mnist_labels() -> PathBuf {
    root().join("testdata/mnist/mnist_test_first32_labels.npy")
}

fn mnist_model() -> PathBuf {
    root().join("models/mnist_cnn_pgd.onnx")
}

/// A quick PGD attack: the tests compare clean predictions and identities.
const QUICK_PGD: &[&str] =
    &["--method", "pgd", "--set", "pgd_steps=3", "--restarts", "1", "--quiet", "--backend", "tract"];

/// `adr-onnx audit MODEL --images IMAGES [--labels LABELS] --goal GOAL
/// --out OUT` with a quick PGD and `extra`.
fn audit(model: &Path, images: &Path, labels: Option<&Path>, goal: &Path, out: &Path, extra: &[&str]) -> (i32, String) {
    let mut c = Command::cargo_bin("adr-onnx").unwrap();
    c.arg("audit").arg(model).arg("--images").arg(images);
    if let Some(l) = labels {
        c.arg("--labels").arg(l);
    }
    let o = c.arg("--goal").arg(goal).arg("--out").arg(out).args(QUICK_PGD).args(extra).output().unwrap();
    (o.status.code().unwrap_or(-1), String::from_utf8_lossy(&o.stderr).into_owned())
}

fn mnist_goal() -> PathBuf {
    root().join("testdata/templates/mnist_pgd_eps025.json")
}

fn read(p: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
}

/// MNIST test digits (`[1, 28, 28]` in [0, 1], multiples of 1/255) of
/// classes 0 to 4 only, so that the class folders `class0`..`class4`,
/// numbered in sorted order, give the digits' own labels: the first `n`,
/// as (index in the fixture, image, label).
fn digits(n: usize) -> Vec<(usize, ndarray::Array3<f32>, usize)> {
    let x: Array4<f32> = ndarray_npy::read_npy(mnist_images()).unwrap();
    let y: ndarray::Array1<i64> = ndarray_npy::read_npy(mnist_labels()).unwrap();
    let picked: Vec<_> = (0..y.len())
        .filter(|&i| y[i] <= 4)
        .take(n)
        .map(|i| (i, x.index_axis(Axis(0), i).to_owned(), y[i] as usize))
        .collect();
    assert_eq!(picked.len(), n);
    picked
}

fn grey8(x: &ndarray::Array3<f32>) -> image::GrayImage {
    let pixels = x.iter().map(|v| (v * 255.0).round() as u8).collect();
    image::GrayImage::from_raw(28, 28, pixels).unwrap()
}

/// How the test writes a digit into its class folder.
#[derive(Clone, Copy)]
enum Written {
    Png8,
    Png16,
    Jpeg,
    /// A JPEG at twice the size: the audit resizes it to 28x28.
    JpegLarge,
}

/// Writes the first `n` digits of [`digits`], the k-th as `how(k)`, named
/// `<root>/class<label>/<fixture index>.<ext>`. Returns how each sample
/// of the folder's order (by class, then file name) was written, and the
/// same samples as `.npy` images and labels in that order.
fn write_folder(root: &Path, n: usize, how: impl Fn(usize) -> Written) -> (Vec<Written>, PathBuf, PathBuf) {
    let mut written = Vec::new();
    for (k, (i, digit, label)) in digits(n).into_iter().enumerate() {
        let class = root.join(format!("class{label}"));
        std::fs::create_dir_all(&class).unwrap();
        let g = grey8(&digit);
        match how(k) {
            Written::Png8 => g.save(class.join(format!("{i:02}.png"))).unwrap(),
            Written::Png16 => {
                let wide: Vec<u16> = g.as_raw().iter().map(|&v| u16::from(v) * 257).collect();
                let img = image::ImageBuffer::<image::Luma<u16>, _>::from_raw(28, 28, wide).unwrap();
                img.save(class.join(format!("{i:02}.PNG"))).unwrap();
            }
            Written::Jpeg | Written::JpegLarge => {
                let img = if matches!(how(k), Written::JpegLarge) {
                    image::imageops::resize(&g, 56, 56, image::imageops::FilterType::Triangle)
                } else {
                    g
                };
                let mut bytes = Vec::new();
                image::codecs::jpeg::JpegEncoder::new_with_quality(&mut bytes, 95).encode_image(&img).unwrap();
                std::fs::write(class.join(format!("{i:02}.jpeg")), bytes).unwrap();
            }
        }
        written.push((label, i, how(k), digit));
    }
    written.sort_by_key(|w| (w.0, w.1));
    let parent = root.parent().unwrap();
    let (images, labels) = (parent.join("folder_order_x.npy"), parent.join("folder_order_y.npy"));
    let views: Vec<_> = written.iter().map(|w| w.3.view()).collect();
    ndarray_npy::write_npy(&images, &ndarray::stack(Axis(0), &views).unwrap()).unwrap();
    ndarray_npy::write_npy(&labels, &written.iter().map(|w| w.0 as i64).collect::<ndarray::Array1<i64>>()).unwrap();
    (written.into_iter().map(|w| w.2).collect(), images, labels)
}

#[test]
fn an_image_folder_audits_as_its_npy_does() {
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join("digits");
    let how = |k: usize| match k {
        0..=5 => Written::Png8,
        6 => Written::Png16,
        7 | 8 => Written::Jpeg,
        _ => Written::JpegLarge,
    };
    let (written, images, labels) = write_folder(&folder, 10, how);
    let (from_folder, from_npy) = (dir.path().join("folder.json"), dir.path().join("npy.json"));
    let (code, err) = audit(&mnist_model(), &folder, None, &mnist_goal(), &from_folder, &[]);
    assert_eq!(code, 0, "{err}");
    let (code, err) = audit(&mnist_model(), &images, Some(&labels), &mnist_goal(), &from_npy, &[]);
    assert_eq!(code, 0, "{err}");
    let (folder_report, npy_report) = (read(&from_folder), read(&from_npy));
    let folder_rows = folder_report["samples"].as_array().unwrap();
    let npy_rows = npy_report["samples"].as_array().unwrap();
    assert_eq!(folder_rows.len(), 10);
    let mut lossless = 0;
    for (k, (f, x)) in folder_rows.iter().zip(npy_rows).enumerate() {
        assert_eq!(f["label"], x["label"], "sample {k}: the class folder gives the label");
        assert_eq!(f["clean_prediction"], x["clean_prediction"], "sample {k}");
        if matches!(written[k], Written::Png8 | Written::Png16) {
            // Lossless files decode to exactly the .npy's pixels.
            assert_eq!(f, x, "sample {k}");
            lossless += 1;
        }
    }
    assert_eq!(lossless, 7);
    assert!(folder_rows.iter().any(|r| r["success"] == true), "some are flipped: the rows compare attacks too");
    // The identity covers the files' names and contents.
    let sha = folder_report["images_sha256"].as_str().unwrap().to_string();
    assert_eq!(folder_report["dataset_sha256"].as_str().unwrap().len(), 64);
    let first = std::fs::read_dir(folder.join("class0")).unwrap().next().unwrap().unwrap().path();
    std::fs::rename(&first, folder.join("class0/99.png")).unwrap();
    let again = dir.path().join("again.json");
    let (code, err) = audit(&mnist_model(), &folder, None, &mnist_goal(), &again, &["--limit", "1"]);
    assert_eq!(code, 0, "{err}");
    assert_ne!(read(&again)["images_sha256"].as_str().unwrap(), sha);
}

#[test]
fn audit_merge_checks_an_image_folder_and_draws_its_page() {
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join("digits");
    write_folder(&folder, 5, |_| Written::Png8);
    let report = dir.path().join("a.json");
    let (code, err) = audit(&mnist_model(), &folder, None, &mnist_goal(), &report, &[]);
    assert_eq!(code, 0, "{err}");
    let merge = |images: &Path, model: Option<&Path>, labels: Option<&Path>| {
        let mut c = Command::cargo_bin("adr-onnx").unwrap();
        c.arg("audit-merge").arg(&report).arg("--out").arg(dir.path().join("m.json"));
        c.arg("--page").arg(dir.path().join("m.html")).arg("--images").arg(images).arg("--quiet");
        if let Some(m) = model {
            c.arg("--model").arg(m);
        }
        if let Some(l) = labels {
            c.arg("--labels").arg(l);
        }
        let o = c.output().unwrap();
        (o.status.code().unwrap_or(-1), String::from_utf8_lossy(&o.stderr).into_owned())
    };
    let (code, err) = merge(&folder, None, None);
    assert_eq!(code, 2);
    assert!(err.contains("digits: an image folder needs --model (the audited model)"), "{err}");
    let (code, err) = merge(&folder, Some(&root().join("models/rand_small_s1.onnx")), None);
    assert_eq!(code, 2);
    assert!(err.contains("rand_small_s1.onnx: not the audited model"), "{err}");
    let (code, err) = merge(&folder, Some(&mnist_model()), Some(&folder));
    assert_eq!(code, 0, "{err}");
    assert!(std::fs::read_to_string(dir.path().join("m.html")).unwrap().contains("Robustness audit"));
    // Another file in a class: not the audited images.
    std::fs::copy(folder.join("class1/02.png"), folder.join("class1/03.png")).unwrap();
    let (code, err) = merge(&folder, Some(&mnist_model()), None);
    assert_eq!(code, 2);
    assert!(err.contains("digits: not the audited images"), "{err}");
}

#[test]
fn image_folder_problems_name_the_folder_or_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join("digits");
    let out = dir.path().join("a.json");
    let run = |labels: Option<&Path>| audit(&mnist_model(), &folder, labels, &mnist_goal(), &out, &[]);
    std::fs::create_dir(&folder).unwrap();
    let (code, err) = run(None);
    assert_eq!(code, 2);
    assert!(err.contains("digits: the image folder holds no class folder"), "{err}");
    write_folder(&folder, 3, |_| Written::Png8);
    std::fs::create_dir(folder.join("class9")).unwrap();
    // class9 sorts after class0..class4.
    let (code, err) = run(None);
    assert_eq!(code, 2);
    assert!(err.contains("class9: the class folder holds no image"), "{err}");
    std::fs::write(folder.join("class9/notes.txt"), "seven").unwrap();
    let (code, err) = run(None);
    assert_eq!(code, 2);
    assert!(err.contains("notes.txt: not a .png, .jpg or .jpeg file"), "{err}");
    std::fs::remove_file(folder.join("class9/notes.txt")).unwrap();
    std::fs::write(folder.join("class9/broken.png"), "not a png").unwrap();
    let (code, err) = run(None);
    assert_eq!(code, 2);
    assert!(err.contains("broken.png: cannot read the image"), "{err}");
    std::fs::remove_dir_all(folder.join("class9")).unwrap();
    let (code, err) = run(Some(&mnist_labels()));
    assert_eq!(code, 2);
    assert!(err.contains("digits: holds its labels: leave out --labels"), "{err}");
    assert!(!out.exists());
}

/// The first ten iris samples, written as `.npy` images and labels and as
/// a CSV with the label in the middle column.
fn iris(dir: &Path) -> (PathBuf, PathBuf, PathBuf) {
    let x: ndarray::Array2<f32> = ndarray_npy::read_npy(root().join("testdata/iris_first10.npy")).unwrap();
    let labels = ndarray::Array1::<i64>::zeros(x.nrows());
    let (images, labels_path, csv) = (dir.join("x.npy"), dir.join("y.npy"), dir.join("iris.csv"));
    ndarray_npy::write_npy(&images, &x).unwrap();
    ndarray_npy::write_npy(&labels_path, &labels).unwrap();
    let mut text = String::from("sepal_length,sepal_width,label,petal_length,petal_width\n");
    for row in x.rows() {
        text.push_str(&format!("{},{},0,{},{}\n", row[0], row[1], row[2], row[3]));
    }
    std::fs::write(&csv, text).unwrap();
    (images, labels_path, csv)
}

fn iris_goal(dir: &Path) -> PathBuf {
    let goal = dir.join("goal.json");
    std::fs::write(&goal, r#"{"kind": "target_class", "epsilon": 0.3, "norm": "linf"}"#).unwrap();
    goal
}

#[test]
fn a_csv_audits_as_its_npy_does() {
    let dir = tempfile::tempdir().unwrap();
    let (images, labels, csv) = iris(dir.path());
    let model = root().join("testdata/skl_mlp_classifier.onnx");
    let goal = iris_goal(dir.path());
    let (from_csv, from_npy) = (dir.path().join("csv.json"), dir.path().join("npy.json"));
    let (code, err) = audit(&model, &csv, None, &goal, &from_csv, &[]);
    assert_eq!(code, 0, "{err}");
    let (code, err) = audit(&model, &images, Some(&labels), &goal, &from_npy, &[]);
    assert_eq!(code, 0, "{err}");
    let (a, b) = (read(&from_csv), read(&from_npy));
    assert_eq!(a["samples"].as_array().unwrap().len(), 10);
    assert_eq!((&a["samples"], &a["summary"]), (&b["samples"], &b["summary"]));
    assert_eq!(a["images_sha256"].as_str().unwrap(), adr_onnx::input::sha256_hex(&std::fs::read(&csv).unwrap()));
}

#[test]
fn csv_problems_name_the_file_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let (_, labels, csv) = iris(dir.path());
    let model = root().join("testdata/skl_mlp_classifier.onnx");
    let goal = iris_goal(dir.path());
    let out = dir.path().join("a.json");
    let run = |text: &str| {
        std::fs::write(&csv, text).unwrap();
        audit(&model, &csv, None, &goal, &out, &[])
    };
    let header = "a,b,c,d,label\n";
    for (text, expected) in [
        (format!("{header}1,2,3,4,0\n1,2,3,0\n"), "iris.csv: line 3: 4 cells where the header has 5 columns"),
        (format!("{header}1,2,x,4,0\n"), "iris.csv: line 2, column 3 (`c`): `x` is not a finite number"),
        (format!("{header}1,2,3,4,-1\n"), "line 2, column 5 (`label`): -1 is not a class index"),
        ("a,b,c,d\n1,2,3,4\n".to_string(), "iris.csv: line 1: the header names no column `label`"),
        ("a,b,c,label\n1,2,3,0\n".to_string(), "line 1: 3 feature columns, the model's input takes 4 values"),
    ] {
        let (code, err) = run(&text);
        assert_eq!(code, 2, "{text}");
        assert!(err.contains(expected), "{text}: {err}");
    }
    std::fs::write(&csv, format!("{header}1,2,3,4,0\n")).unwrap();
    let (code, err) = audit(&model, &csv, Some(&labels), &goal, &out, &[]);
    assert_eq!(code, 2);
    assert!(err.contains("iris.csv: holds its labels: leave out --labels"), "{err}");
}
