//! Loading the arrays a goal refers to: PNG images, `.npy` files (whole or
//! one index), or numbers written inline; paths are relative to the goal
//! file's folder.

use std::path::{Path, PathBuf};

use ndarray::{ArrayD, Axis, IxDyn};
use ndarray_npy::{ReadNpyError, ReadNpyExt};
use serde_json::Value;

use crate::error::{Error, Result};

/// Where a goal's error points: the goal file and a JSON pointer.
#[derive(Debug, Clone)]
pub struct Place<'a> {
    pub file: &'a Path,
    pub pointer: String,
}

impl Place<'_> {
    /// An error at this place; the document itself is `/`.
    pub fn error(&self, message: impl Into<String>) -> Error {
        let pointer = if self.pointer.is_empty() { "/".to_string() } else { self.pointer.clone() };
        Error::Goal { file: self.file.to_path_buf(), pointer, message: message.into() }
    }

    pub fn child(&self, key: &str) -> Place<'_> {
        Place { file: self.file, pointer: format!("{}/{}", self.pointer, pointer_token(key)) }
    }
}

/// A key as a JSON-pointer token (RFC 6901): `~` is `~0`, `/` is `~1`.
pub fn pointer_token(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

/// What an absent `bounds` stands for, given the values of every input
/// searched (one sample's, or an audited dataset's).
#[derive(Debug, PartialEq)]
pub enum ImplicitBounds {
    /// Every value lies in [0, 1]: that box.
    Unit,
    /// Values beyond [0, 1], not all whole up to 255: no box.
    Unbounded,
    /// Image-shaped whole numbers up to 255 beyond 1, the largest given:
    /// 8-bit pixels, refused.
    Pixels(f32),
}

/// `images`: whether the samples or the model's input have an image's
/// shape (whole numbers up to 255 elsewhere are counts, ages...: no box).
pub fn implicit_bounds(values: impl Iterator<Item = f32> + Clone, images: bool) -> ImplicitBounds {
    if values.clone().all(|v| (0.0..=1.0).contains(&v)) {
        ImplicitBounds::Unit
    } else if images && values.clone().all(|v| v.fract() == 0.0 && (0.0..=255.0).contains(&v)) {
        ImplicitBounds::Pixels(values.fold(0.0, f32::max))
    } else {
        ImplicitBounds::Unbounded
    }
}

/// What an image must be decoded to: channels, and whether channels come
/// first (`[C, H, W]`) or last (`[H, W, C]`).
#[derive(Debug, Clone, Copy)]
pub struct ImageShape {
    pub channels: usize,
    pub channels_first: bool,
}

impl ImageShape {
    /// The image shape of a per-sample tensor shape, if it is one.
    pub fn of(shape: &[usize]) -> Option<ImageShape> {
        match shape {
            [c, h, w] if (*c == 1 || *c == 3) && *h >= 4 && *w >= 4 => {
                Some(ImageShape { channels: *c, channels_first: true })
            }
            [h, w, c] if (*c == 1 || *c == 3) && *h >= 4 && *w >= 4 => {
                Some(ImageShape { channels: *c, channels_first: false })
            }
            [h, w] if *h >= 4 && *w >= 4 => Some(ImageShape { channels: 1, channels_first: true }),
            _ => None,
        }
    }
}

/// The existing files a goal document (`text`, read from `goal_path`)
/// may read: every string in it that names one, relative to the goal's
/// folder as its samples are. A command's outputs must not replace them.
pub fn files_named(goal_path: &Path, text: &str) -> Vec<PathBuf> {
    fn walk(v: &Value, dir: &Path, out: &mut Vec<PathBuf>) {
        match v {
            Value::String(p) => {
                let path = resolve(dir, p);
                if path.is_file() {
                    out.push(path);
                }
            }
            Value::Array(items) => items.iter().for_each(|i| walk(i, dir, out)),
            Value::Object(map) => map.values().for_each(|i| walk(i, dir, out)),
            _ => {}
        }
    }
    let dir = goal_path.parent().unwrap_or(Path::new(""));
    let mut out = Vec::new();
    if let Ok(v) = serde_json::from_str::<Value>(text) {
        walk(&v, dir, &mut out);
    }
    out
}

fn resolve(goal_dir: &Path, p: &str) -> PathBuf {
    let path = Path::new(p);
    if path.is_absolute() {
        path.to_path_buf()
    } else {
        goal_dir.join(path)
    }
}

/// Reads a PNG as floats in [0, 1], `[C, H, W]` or `[H, W, C]`.
pub fn read_png(path: &Path, image: ImageShape) -> Result<ArrayD<f32>> {
    let file = std::io::BufReader::new(crate::input::open(path)?);
    let img = image::ImageReader::with_format(file, image::ImageFormat::Png)
        .decode()
        .map_err(|e| Error::data(path, format!("cannot read the PNG: {e}")))?;
    image_values(path, &img, image)
}

/// A decoded image as floats in [0, 1] (8 bits per channel, alpha dropped),
/// `[C, H, W]` or `[H, W, C]`; `path` names it in errors.
pub fn image_values(path: &Path, img: &image::DynamicImage, image: ImageShape) -> Result<ArrayD<f32>> {
    let (w, h) = (img.width() as usize, img.height() as usize);
    let (c, values): (usize, Vec<f32>) = if image.channels == 1 {
        (1, img.to_luma8().into_raw().into_iter().map(|v| f32::from(v) / 255.0).collect())
    } else {
        (3, img.to_rgb8().into_raw().into_iter().map(|v| f32::from(v) / 255.0).collect())
    };
    let hwc = ArrayD::from_shape_vec(IxDyn(&[h, w, c]), values).map_err(|e| Error::data(path, e.to_string()))?;
    Ok(if image.channels_first { hwc.permuted_axes(IxDyn(&[2, 0, 1])).as_standard_layout().to_owned() } else { hwc })
}

type NpyAttempt = fn(&[u8]) -> std::result::Result<ArrayD<f32>, ReadNpyError>;

/// The element types `read_npy` takes, each read as f32.
const NPY_ATTEMPTS: [NpyAttempt; 5] = [
    |b| ArrayD::<f32>::read_npy(b),
    |b| ArrayD::<f64>::read_npy(b).map(|a| a.mapv(|v| v as f32)),
    |b| ArrayD::<i64>::read_npy(b).map(|a| a.mapv(|v| v as f32)),
    |b| ArrayD::<i32>::read_npy(b).map(|a| a.mapv(|v| v as f32)),
    |b| ArrayD::<u8>::read_npy(b).map(|a| a.mapv(f32::from)),
];

/// Reads a `.npy` of f32, f64, integers or bytes, as f32.
pub fn read_npy(path: &Path) -> Result<ArrayD<f32>> {
    parse_npy(path, &crate::input::read(path)?)
}

/// Parses the bytes of a `.npy` (see [`read_npy`]); `path` names it in errors.
pub fn parse_npy(path: &Path, bytes: &[u8]) -> Result<ArrayD<f32>> {
    check_npy_length(path, bytes)?;
    // An attempt failing for any reason but the element type says what is
    // wrong with the file; `WrongDescriptor` only that it is another type.
    let mut wrong_type = None;
    for attempt in NPY_ATTEMPTS {
        match attempt(bytes) {
            Ok(a) => return Ok(a),
            Err(e @ ReadNpyError::WrongDescriptor(_)) => wrong_type = Some(e),
            Err(e) => return Err(Error::data(path, npy_problem(&e))),
        }
    }
    let why = wrong_type.map_or_else(String::new, |e| format!(": {}", first_line(&e)));
    Err(Error::data(path, format!("cannot read the .npy (float32, float64, int32, int64 or uint8 expected){why}")))
}

/// Refuses a `.npy` whose header claims more values than its data holds,
/// before the reader allocates room for them (a header is free to claim
/// 10^12 samples). A header that does not parse is left to the reader,
/// which says what is wrong with it.
fn check_npy_length(path: &Path, bytes: &[u8]) -> Result<()> {
    let mut rest = bytes;
    let Ok(header) = ndarray_npy::npy::header::Header::from_reader(&mut rest) else { return Ok(()) };
    // The descriptor is a string such as '<f4' or '|u1': its digits are the
    // bytes of one value.
    let descriptor = header.type_descriptor.to_string();
    let digits: String = descriptor.chars().filter(char::is_ascii_digit).collect();
    let item: u64 = digits.parse().ok().filter(|&b| b > 0).unwrap_or(1);
    let need =
        header.shape.iter().try_fold(1u64, |n, &d| n.checked_mul(d as u64)).and_then(|values| values.checked_mul(item));
    let have = rest.len() as u64;
    if need.is_none_or(|need| need > have) {
        return Err(Error::NpyTooShort {
            path: path.to_path_buf(),
            shape: header.shape,
            need: need.map_or_else(|| "more than 2^64".to_string(), |n| n.to_string()),
            have,
        });
    }
    Ok(())
}

fn npy_problem(e: &ReadNpyError) -> String {
    let why = first_line(e);
    match e {
        ReadNpyError::Io(_) | ReadNpyError::ParseHeader(_) | ReadNpyError::MissingData => {
            format!("truncated or not an .npy file ({why})")
        }
        _ => format!("cannot read the .npy: {why}"),
    }
}

/// The first line of a reader's error, clipped: a header that does not
/// parse comes back as several lines quoting the header.
fn first_line(e: &dyn std::fmt::Display) -> String {
    let text = e.to_string();
    crate::error::clip(text.lines().next().unwrap_or_default().trim_end())
}

/// Numbers written inline, nested arrays flattened in C order.
pub fn inline_numbers(v: &Value, place: &Place) -> Result<Vec<f32>> {
    Ok(inline_numbers_f64(v, place)?.into_iter().map(|f| f as f32).collect())
}

/// The numbers of [`inline_numbers`] as written (each finite as a 32-bit
/// number), for a caller that rounds them its own way (a box, inward).
pub fn inline_numbers_f64(v: &Value, place: &Place) -> Result<Vec<f64>> {
    let mut out = Vec::new();
    flatten_numbers(v, place, &mut out)?;
    Ok(out)
}

fn flatten_numbers(v: &Value, place: &Place, out: &mut Vec<f64>) -> Result<()> {
    match v {
        Value::Number(n) => {
            let f = n.as_f64().filter(|f| (*f as f32).is_finite());
            out.push(f.ok_or_else(|| place.error(format!("{n} is not a finite 32-bit number")))?);
            Ok(())
        }
        Value::Array(items) => items.iter().try_for_each(|i| flatten_numbers(i, place, out)),
        _ => Err(place.error(format!("expected a number or an array of numbers, found {}", kind_of(v)))),
    }
}

pub fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Loads one sample of `size` values for a tensor of per-sample shape
/// `shape`: a PNG path, `{"png": ...}`, `{"npy": ..., "index": ...}`, a
/// `.npy` path, or inline numbers.
pub fn load_sample(v: &Value, place: &Place, goal_dir: &Path, shape: &[usize]) -> Result<Vec<f32>> {
    let size: usize = shape.iter().product();
    let values = match v {
        Value::String(p) if p.to_lowercase().ends_with(".npy") => npy_sample(&resolve(goal_dir, p), None, place, size)?,
        Value::String(p) => png_sample(&resolve(goal_dir, p), place, shape)?,
        Value::Object(map) => {
            for key in map.keys() {
                if !["npy", "png", "index"].contains(&key.as_str()) {
                    return Err(place.error(format!("unknown field `{key}`, expected `npy`, `png` or `index`")));
                }
            }
            if map.contains_key("png") && map.contains_key("index") {
                return Err(place.child("index").error("`index` selects a sample of an `npy` file, not of a PNG"));
            }
            match (map.get("npy"), map.get("png")) {
                (Some(Value::String(p)), None) => {
                    let index = match map.get("index") {
                        None => None,
                        Some(i) => Some(
                            i.as_u64().ok_or_else(|| place.child("index").error("expected a non-negative integer"))?
                                as usize,
                        ),
                    };
                    npy_sample(&resolve(goal_dir, p), index, place, size)?
                }
                (None, Some(Value::String(p))) => png_sample(&resolve(goal_dir, p), place, shape)?,
                _ => return Err(place.error("expected exactly one of `npy` or `png`, a path")),
            }
        }
        Value::Array(_) | Value::Number(_) => inline_numbers(v, place)?,
        other => return Err(place.error(format!("expected a path, an object or numbers, found {}", kind_of(other)))),
    };
    check_sample(values, place, shape)
}

/// Whether samples of shape `sample` hold their values in the order of a
/// model input of shape `input`: the same extents once axes of extent 1
/// are left out (`[28, 28]` for `[1, 28, 28]`), or either side flat (one
/// axis beyond extent 1: `[784]` for `[1, 28, 28]`, or the reverse). Any
/// other pair with the same count is another layout (`[8, 8, 3]` for
/// `[3, 8, 8]`), whose values a model would read scrambled.
pub fn same_layout(sample: &[usize], input: &[usize]) -> bool {
    let extents = |s: &[usize]| s.iter().copied().filter(|&d| d != 1).collect::<Vec<_>>();
    let (s, i) = (extents(sample), extents(input));
    s == i || s.len() <= 1 || i.len() <= 1
}

/// `values` as a sample of an input of `shape`: as many values, all finite.
pub fn check_sample(values: Vec<f32>, place: &Place, shape: &[usize]) -> Result<Vec<f32>> {
    let size: usize = shape.iter().product();
    if values.len() != size {
        return Err(
            place.error(format!("{} values given where the model needs {size} (shape {shape:?})", values.len()))
        );
    }
    if values.iter().any(|v| !v.is_finite()) {
        return Err(place.error("the values contain NaN or infinity"));
    }
    Ok(values)
}

fn png_sample(path: &Path, place: &Place, shape: &[usize]) -> Result<Vec<f32>> {
    let image = ImageShape::of(shape)
        .ok_or_else(|| place.error(format!("a PNG was given but the model's input {shape:?} is not an image")))?;
    let a = read_png(path, image).map_err(|e| place.error(e.to_string()))?;
    let want: usize = shape.iter().product();
    if a.len() != want {
        return Err(place.error(format!(
            "{}: the image has shape {:?}, the model needs {shape:?}",
            path.display(),
            a.shape()
        )));
    }
    Ok(a.iter().copied().collect())
}

fn npy_sample(path: &Path, index: Option<usize>, place: &Place, size: usize) -> Result<Vec<f32>> {
    let a = read_npy(path).map_err(|e| place.error(e.to_string()))?;
    match index {
        Some(i) => {
            if a.ndim() == 0 || i >= a.shape()[0] {
                return Err(place.child("index").error(format!(
                    "index {i} outside the {} samples of {}",
                    a.shape().first().unwrap_or(&0),
                    path.display()
                )));
            }
            Ok(a.index_axis(Axis(0), i).iter().copied().collect())
        }
        None if a.len() == size => Ok(a.iter().copied().collect()),
        None => Err(place.error(format!(
            "{} holds {} values of shape {:?}; give `index` to pick one sample of {size}",
            path.display(),
            a.len(),
            a.shape()
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One box for every value searched: a value past 1 anywhere takes it
    /// from all of them, and 8-bit pixels are told apart.
    #[test]
    fn an_absent_bounds_is_decided_for_the_whole_dataset() {
        let decide = |v: &[f32]| implicit_bounds(v.iter().copied(), true);
        assert_eq!(decide(&[0.0, 0.5, 1.0, 0.25]), ImplicitBounds::Unit);
        assert_eq!(decide(&[0.0, 0.5, 1.0001, 0.25]), ImplicitBounds::Unbounded);
        assert_eq!(decide(&[5.1, 3.5, 1.4, 0.2]), ImplicitBounds::Unbounded, "iris");
        assert_eq!(decide(&[0.0, 17.0, 255.0, 1.0]), ImplicitBounds::Pixels(255.0));
        assert_eq!(decide(&[0.0, 17.0, 256.0]), ImplicitBounds::Unbounded);
        let counts = [3.0, 51.0, 17.0, 0.0];
        assert_eq!(implicit_bounds(counts.iter().copied(), false), ImplicitBounds::Unbounded, "ages, counts");
    }

    #[test]
    fn layouts_match_up_to_unit_axes_or_flat() {
        assert!(same_layout(&[1, 28, 28], &[1, 28, 28]));
        assert!(same_layout(&[28, 28], &[1, 28, 28]));
        assert!(same_layout(&[28, 28, 1], &[1, 28, 28]));
        assert!(same_layout(&[784], &[1, 28, 28]));
        assert!(same_layout(&[1, 28, 28], &[784]));
        assert!(!same_layout(&[8, 8, 3], &[3, 8, 8]), "channels last for channels first");
        assert!(!same_layout(&[4, 7, 28], &[1, 28, 28]));
    }

    #[test]
    fn a_truncated_npy_says_so() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.npy");
        ndarray_npy::write_npy(&p, &ndarray::arr2(&[[1.0f32, 2.0], [3.0, 4.0]])).unwrap();
        assert_eq!(read_npy(&p).unwrap().shape(), &[2, 2]);
        let bytes = std::fs::read(&p).unwrap();
        for cut in [bytes.len() - 3, 20, 3] {
            std::fs::write(&p, &bytes[..cut]).unwrap();
            let err = read_npy(&p).unwrap_err().to_string();
            assert!(err.contains("x.npy: truncated or not an .npy file"), "cut at {cut}: {err}");
        }
        std::fs::write(&p, b"not numpy at all").unwrap();
        assert!(read_npy(&p).unwrap_err().to_string().contains("truncated or not an .npy file"));
    }

    #[test]
    fn a_header_claiming_more_than_the_file_holds_is_refused_before_reading() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.npy");
        ndarray_npy::write_npy(&p, &ndarray::arr2(&[[1.0f32, 2.0], [3.0, 4.0]])).unwrap();
        let bytes = std::fs::read(&p).unwrap();
        let at = bytes.windows(6).position(|w| w == b"(2, 2)").unwrap();
        for (shape, need) in [("(1000000000000, 2)", "8000000000000"), ("(4611686018427387904, 8)", "more than 2^64")] {
            // The header is padded with spaces before its newline: take the
            // longer shape's room from them.
            let grow = shape.len() - 6;
            let mut forged = bytes[..at].to_vec();
            forged.extend_from_slice(shape.as_bytes());
            let newline = bytes.iter().position(|&b| b == b'\n').unwrap();
            forged.extend_from_slice(&bytes[at + 6..newline - grow]);
            forged.extend_from_slice(&bytes[newline..]);
            assert_eq!(forged.len(), bytes.len());
            std::fs::write(&p, &forged).unwrap();
            let err = read_npy(&p).unwrap_err().to_string();
            assert!(err.contains(&format!("needs {need} bytes of data; the file holds 16")), "{err}");
        }
    }

    #[test]
    fn a_header_that_does_not_parse_is_one_line() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.npy");
        let header = b"{'descr': '<f4', 'fortran_order': False, 'shape': (2,)} 0     \n";
        let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
        bytes.extend_from_slice(&(header.len() as u16).to_le_bytes());
        bytes.extend_from_slice(header);
        bytes.extend_from_slice(&[0; 8]);
        std::fs::write(&p, &bytes).unwrap();
        let err = read_npy(&p).unwrap_err().to_string();
        assert!(err.contains("x.npy: truncated or not an .npy file (error parsing header"), "{err}");
        assert!(!err.contains('\n'), "{err}");
    }

    #[test]
    fn another_element_type_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.npy");
        ndarray_npy::write_npy(&p, &ndarray::arr1(&[1i16, 2])).unwrap();
        let err = read_npy(&p).unwrap_err().to_string();
        assert!(err.contains("float32, float64, int32, int64 or uint8 expected") && err.contains("i2"), "{err}");
    }
}
