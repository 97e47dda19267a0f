//! The datasets `audit` reads: images and labels as two `.npy` files, one
//! `.npz` archive (NumPy's `np.savez` or `np.savez_compressed`) holding the
//! arrays `images` and `labels`, an image folder with one subfolder per
//! class ([`image_folder`]), or a CSV of features and a `label` column
//! ([`table`]).

pub mod image_folder;
pub mod table;

use std::io::Read;
use std::path::{Path, PathBuf};

use ndarray::ArrayD;

use crate::error::{Error, Result};
use crate::goal::data::{parse_npy, read_npy};
use crate::input::sha256_hex;

/// Images and their labels, with the files they came from.
pub struct Dataset {
    pub images: ArrayD<f32>,
    pub labels: Vec<usize>,
    pub images_path: PathBuf,
    pub labels_path: PathBuf,
    pub images_sha256: String,
    pub labels_sha256: String,
}

/// Whether `path` names a `.npz` archive (by its extension).
pub fn is_npz(path: &Path) -> bool {
    path.extension().is_some_and(|e| e.eq_ignore_ascii_case("npz"))
}

/// The array `name` of the `.npz` archive `bytes` (read from `path`), or
/// `None` when the archive has no such array.
fn npz_array(path: &Path, bytes: &[u8], name: &str) -> Result<Option<ArrayD<f32>>> {
    let fail = |e: zip::result::ZipError| Error::data(path, format!("not a readable .npz archive: {e}"));
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes)).map_err(fail)?;
    let mut member = match archive.by_name(&format!("{name}.npy")) {
        Ok(m) => m,
        Err(zip::result::ZipError::FileNotFound) => return Ok(None),
        Err(e) => return Err(fail(e)),
    };
    let mut data = Vec::new();
    member.read_to_end(&mut data).map_err(|e| Error::data(path, format!("array `{name}`: {e}")))?;
    parse_npy(&PathBuf::from(format!("{}, array `{name}`", path.display())), &data).map(Some)
}

/// The kind of dataset `path` names: a folder is an image folder.
enum Kind {
    Arrays,
    ImageFolder,
    Csv,
}

fn kind_of(path: &Path) -> Kind {
    if path.is_dir() {
        Kind::ImageFolder
    } else if table::is_csv(path) {
        Kind::Csv
    } else {
        Kind::Arrays
    }
}

/// The dataset `images` names, for a model input of per-sample shape
/// `shape`: `.npy` images with `labels` (a `.npy`), a `.npz` holding both,
/// an image folder, or a CSV (the last two hold their labels).
pub fn load(images: &Path, labels: Option<&Path>, shape: &[usize]) -> Result<Dataset> {
    let (array, labels_of_images, sha256) = match kind_of(images) {
        Kind::Arrays => return load_arrays(images, labels),
        Kind::ImageFolder => {
            let listing = image_folder::Listing::read(images)?;
            let (array, sha256) = listing.decode(images, shape)?;
            (array, listing.labels(), sha256)
        }
        Kind::Csv => {
            let (t, sha256) = table::read(images, Some(shape))?;
            (t.features, t.labels, sha256)
        }
    };
    if let Some(l) = labels {
        return Err(Error::data(images, format!("holds its labels: leave out --labels {}", l.display())));
    }
    Ok(Dataset {
        images: array,
        labels: labels_of_images,
        images_path: images.to_path_buf(),
        labels_path: images.to_path_buf(),
        labels_sha256: sha256.clone(),
        images_sha256: sha256,
    })
}

/// The SHA-256 that identifies a dataset file, or an image folder (see
/// [`image_folder::Listing::sha256`]).
pub fn sha256(path: &Path) -> Result<String> {
    match kind_of(path) {
        Kind::ImageFolder => image_folder::Listing::read(path)?.sha256(),
        Kind::Arrays | Kind::Csv => Ok(sha256_hex(&crate::input::read(path)?)),
    }
}

/// The images (`.npy`, or a `.npz` holding `images`) and the labels
/// (`labels`, a `.npy`; else the archive's `labels`).
fn load_arrays(images: &Path, labels: Option<&Path>) -> Result<Dataset> {
    let images_bytes = crate::input::read(images)?;
    let images_sha256 = sha256_hex(&images_bytes);
    let (array, archived_labels) = if is_npz(images) {
        let array = npz_array(images, &images_bytes, "images")?
            .ok_or_else(|| Error::data(images, "the archive holds no array `images`"))?;
        (array, npz_array(images, &images_bytes, "labels")?)
    } else {
        (parse_npy(images, &images_bytes)?, None)
    };
    let (labels_path, labels_array, labels_sha256) = match (labels, archived_labels) {
        (Some(l), None) => {
            let bytes = crate::input::read(l)?;
            (l.to_path_buf(), parse_npy(l, &bytes)?, sha256_hex(&bytes))
        }
        (None, Some(a)) => (images.to_path_buf(), a, images_sha256.clone()),
        (Some(l), Some(_)) => {
            return Err(Error::data(
                images,
                format!("the archive holds `labels`: leave out --labels {} or the archive's array", l.display()),
            ))
        }
        (None, None) if is_npz(images) => {
            return Err(Error::data(images, "the archive holds no array `labels`: add it, or give --labels"))
        }
        (None, None) => return Err(Error::data(images, "--labels is needed with a .npy of images")),
    };
    let labels = labels_of(&labels_path, &labels_array)?;
    Ok(Dataset { images: array, labels, images_path: images.to_path_buf(), labels_path, images_sha256, labels_sha256 })
}

/// Just the images of a dataset (`.npy`, a `.npz`'s `images`, an image
/// folder or a CSV, the last two for a model input of per-sample shape
/// `shape`; a CSV without it: flat rows).
pub fn read_images(path: &Path, shape: Option<&[usize]>) -> Result<ArrayD<f32>> {
    match (kind_of(path), shape) {
        (Kind::Arrays, _) => {}
        (Kind::Csv, None) => return table::read(path, None).map(|(t, _)| t.features),
        (Kind::ImageFolder, None) => return Err(Error::data(path, "an image folder needs the model's input shape")),
        (_, Some(shape)) => return load(path, None, shape).map(|d| d.images),
    }
    if !is_npz(path) {
        return read_npy(path);
    }
    let bytes = crate::input::read(path)?;
    npz_array(path, &bytes, "images")?.ok_or_else(|| Error::data(path, "the archive holds no array `images`"))
}

/// Just the labels of a dataset (`.npy`, a `.npz`'s `labels`, an image
/// folder's classes, or a CSV's `label` column).
pub fn read_labels(path: &Path) -> Result<Vec<usize>> {
    match kind_of(path) {
        Kind::ImageFolder => return Ok(image_folder::Listing::read(path)?.labels()),
        Kind::Csv => return table::read(path, None).map(|(t, _)| t.labels),
        Kind::Arrays => {}
    }
    if !is_npz(path) {
        return labels_of(path, &read_npy(path)?);
    }
    let bytes = crate::input::read(path)?;
    let a =
        npz_array(path, &bytes, "labels")?.ok_or_else(|| Error::data(path, "the archive holds no array `labels`"))?;
    labels_of(path, &a)
}

/// The class indices in `a` (read from `path`): non-negative integers.
pub fn labels_of(path: &Path, a: &ArrayD<f32>) -> Result<Vec<usize>> {
    a.iter()
        .enumerate()
        .map(|(i, &v)| {
            if v >= 0.0 && v.fract() == 0.0 {
                Ok(v as usize)
            } else {
                Err(Error::data(path, format!("sample {i}: label {v} is not a class index (a non-negative integer)")))
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    /// An archive of `members` (name, .npy bytes), deflated or stored.
    fn npz(path: &Path, members: &[(&str, Vec<u8>)], deflated: bool) {
        let mut z = zip::ZipWriter::new(std::fs::File::create(path).unwrap());
        let method = if deflated { zip::CompressionMethod::Deflated } else { zip::CompressionMethod::Stored };
        for (name, bytes) in members {
            z.start_file(*name, zip::write::SimpleFileOptions::default().compression_method(method)).unwrap();
            z.write_all(bytes).unwrap();
        }
        z.finish().unwrap();
    }

    fn npy_bytes<A: ndarray_npy::WritableElement, D: ndarray::Dimension>(a: &ndarray::Array<A, D>) -> Vec<u8> {
        use ndarray_npy::WriteNpyExt;
        let mut v = Vec::new();
        a.write_npy(&mut v).unwrap();
        v
    }

    #[test]
    fn an_npz_supplies_images_and_labels() {
        let dir = tempfile::tempdir().unwrap();
        let x = ndarray::arr2(&[[0.5f32, 1.0], [0.0, 0.25]]);
        for deflated in [false, true] {
            let p = dir.path().join("d.npz");
            npz(&p, &[("images.npy", npy_bytes(&x)), ("labels.npy", npy_bytes(&ndarray::arr1(&[3i64, 1])))], deflated);
            let d = load(&p, None, &[2]).unwrap();
            assert_eq!((d.images.into_dimensionality().unwrap(), d.labels), (x.clone(), vec![3, 1]));
            assert_eq!((d.labels_path, d.labels_sha256), (p.clone(), d.images_sha256));
            assert_eq!(read_images(&p, None).unwrap().shape(), &[2, 2]);
        }
    }

    #[test]
    fn npz_problems_name_the_archive_and_the_array() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("d.npz");
        let err = |p: &Path, labels: Option<&Path>| load(p, labels, &[1]).err().unwrap().to_string();
        npz(&p, &[("images.npy", npy_bytes(&ndarray::arr1(&[1.0f32])))], true);
        assert!(err(&p, None).ends_with("d.npz: the archive holds no array `labels`: add it, or give --labels"));
        npz(&p, &[("labels.npy", npy_bytes(&ndarray::arr1(&[1i64])))], false);
        assert!(err(&p, None).ends_with("d.npz: the archive holds no array `images`"));
        npz(&p, &[("images.npy", b"not an npy".to_vec()), ("labels.npy", vec![])], false);
        assert!(err(&p, None).contains("d.npz, array `images`: "), "{}", err(&p, None));
        npz(
            &p,
            &[
                ("images.npy", npy_bytes(&ndarray::arr1(&[1.0f32]))),
                ("labels.npy", npy_bytes(&ndarray::arr1(&[-1i64]))),
            ],
            false,
        );
        assert!(err(&p, None).ends_with("d.npz: sample 0: label -1 is not a class index (a non-negative integer)"));
        let y = dir.path().join("y.npy");
        ndarray_npy::write_npy(&y, &ndarray::arr1(&[1i64])).unwrap();
        assert!(err(&p, Some(&y)).contains("the archive holds `labels`: leave out --labels"));
        std::fs::write(&p, b"PK garbage").unwrap();
        assert!(err(&p, None).contains("d.npz: not a readable .npz archive"), "{}", err(&p, None));
    }

    #[test]
    fn labels_must_be_class_indices() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("y.npy");
        ndarray_npy::write_npy(&path, &ndarray::arr1(&[3i64, 0, -1])).unwrap();
        let err = read_labels(&path).unwrap_err().to_string();
        assert!(err.ends_with("y.npy: sample 2: label -1 is not a class index (a non-negative integer)"), "{err}");
        ndarray_npy::write_npy(&path, &ndarray::arr1(&[3.0f32, 0.5])).unwrap();
        assert!(read_labels(&path).unwrap_err().to_string().contains("sample 1: label 0.5"));
        ndarray_npy::write_npy(&path, &ndarray::arr1(&[3i64, 0])).unwrap();
        assert_eq!(read_labels(&path).unwrap(), vec![3, 0]);
    }
}
