//! Image folders in torchvision's ImageFolder layout: one subfolder per
//! class, classes numbered by their sorted names, PNG and JPEG files
//! decoded to the model's input layout and size.

use std::path::{Path, PathBuf};

use image::imageops::FilterType;
use ndarray::{ArrayD, IxDyn};

use crate::error::{Error, Result};
use crate::goal::data::{image_values, ImageShape};
use crate::input::sha256_hex;

/// The extensions read (compared without case).
const EXTENSIONS: [&str; 3] = ["png", "jpg", "jpeg"];

/// One image of the folder: its class index and its path.
struct Entry {
    class: usize,
    /// `class/file`, as it enters the folder's identity.
    name: String,
    path: PathBuf,
}

/// The files of an image folder, by class then by file name.
pub struct Listing {
    entries: Vec<Entry>,
}

/// The names in `dir` that are not hidden (a leading `.`), sorted, with
/// their paths.
fn visible_entries(dir: &Path) -> Result<Vec<(String, PathBuf)>> {
    let fail = |e: std::io::Error| Error::data(dir, format!("cannot read the folder: {e}"));
    let mut names = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(fail)? {
        let path = entry.map_err(fail)?.path();
        let Some(name) = path.file_name().and_then(|n| n.to_str()).map(str::to_owned) else {
            return Err(Error::data(&path, "the name is not UTF-8"));
        };
        if !name.starts_with('.') {
            names.push((name, path));
        }
    }
    names.sort();
    Ok(names)
}

fn is_image_name(name: &str) -> bool {
    Path::new(name)
        .extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| EXTENSIONS.iter().any(|x| x.eq_ignore_ascii_case(e)))
}

impl Listing {
    /// Lists `root`: every visible entry must be a class folder, and every
    /// visible entry of a class folder a `.png`, `.jpg` or `.jpeg` file.
    pub fn read(root: &Path) -> Result<Listing> {
        let mut entries = Vec::new();
        let classes = visible_entries(root)?;
        if classes.is_empty() {
            return Err(Error::data(root, "the image folder holds no class folder (expected one subfolder per class)"));
        }
        for (class, (class_name, class_dir)) in classes.into_iter().enumerate() {
            if !class_dir.is_dir() {
                return Err(Error::data(
                    &class_dir,
                    "not a class folder: an image folder holds one subfolder per class and nothing else",
                ));
            }
            let files = visible_entries(&class_dir)?;
            if files.is_empty() {
                return Err(Error::data(&class_dir, "the class folder holds no image"));
            }
            for (file_name, path) in files {
                if !path.is_file() || !is_image_name(&file_name) {
                    return Err(Error::data(
                        &path,
                        "not a .png, .jpg or .jpeg file (an image folder holds only those)",
                    ));
                }
                entries.push(Entry { class, name: format!("{class_name}/{file_name}"), path });
            }
        }
        Ok(Listing { entries })
    }

    /// The class index of each image, in order.
    pub fn labels(&self) -> Vec<usize> {
        self.entries.iter().map(|e| e.class).collect()
    }

    /// The folder's identity: SHA-256 of the text `<sha256 of the file>
    /// <class>/<file>\n` per image, in order.
    pub fn sha256(&self) -> Result<String> {
        let mut text = String::new();
        for e in &self.entries {
            text.push_str(&format!("{} {}\n", sha256_hex(&crate::input::read(&e.path)?), e.name));
        }
        Ok(sha256_hex(text.as_bytes()))
    }

    /// The images decoded for a model input of per-sample shape `shape`,
    /// stacked along a first axis, with the folder's identity.
    pub fn decode(&self, root: &Path, shape: &[usize]) -> Result<(ArrayD<f32>, String)> {
        let layout = ImageShape::of(shape).ok_or_else(|| {
            Error::data(root, format!("an image folder was given but the model's input {shape:?} is not an image"))
        })?;
        let (height, width) = height_width(shape, layout);
        let mut values = Vec::with_capacity(self.entries.len() * shape.iter().product::<usize>());
        let mut text = String::new();
        for e in &self.entries {
            let bytes = crate::input::read(&e.path)?;
            text.push_str(&format!("{} {}\n", sha256_hex(&bytes), e.name));
            let img = image::ImageReader::new(std::io::Cursor::new(&bytes))
                .with_guessed_format()
                .map_err(|err| Error::data(&e.path, err.to_string()))?
                .decode()
                .map_err(|err| Error::data(&e.path, format!("cannot read the image: {err}")))?;
            let img = if (img.height() as usize, img.width() as usize) == (height, width) {
                img
            } else {
                img.resize_exact(width as u32, height as u32, FilterType::Triangle)
            };
            values.extend(image_values(&e.path, &img, layout)?.iter());
        }
        let mut full = vec![self.entries.len()];
        full.extend_from_slice(shape);
        let images = ArrayD::from_shape_vec(IxDyn(&full), values).map_err(|e| Error::data(root, e.to_string()))?;
        Ok((images, sha256_hex(text.as_bytes())))
    }
}

/// The height and width of an image input of per-sample shape `shape`.
fn height_width(shape: &[usize], layout: ImageShape) -> (usize, usize) {
    match (shape, layout.channels_first) {
        ([_, h, w], true) | ([h, w, _], false) | ([h, w], _) => (*h, *w),
        _ => (0, 0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grey(path: &Path, w: u32, h: u32, value: u8) {
        image::GrayImage::from_pixel(w, h, image::Luma([value])).save(path).unwrap();
    }

    #[test]
    fn classes_are_the_sorted_folder_names_and_images_are_resized() {
        let dir = tempfile::tempdir().unwrap();
        for (class, file, value) in [("b", "2.png", 255u8), ("b", "1.PNG", 0), ("a", "x.png", 51)] {
            std::fs::create_dir_all(dir.path().join(class)).unwrap();
            grey(&dir.path().join(class).join(file), 8, 6, value);
        }
        std::fs::write(dir.path().join("b/.DS_Store"), b"hidden").unwrap();
        let listing = Listing::read(dir.path()).unwrap();
        assert_eq!(listing.labels(), vec![0, 1, 1]);
        let (images, sha) = listing.decode(dir.path(), &[1, 4, 4]).unwrap();
        assert_eq!(images.shape(), &[3, 1, 4, 4]);
        assert!((images[[0, 0, 2, 2]] - 0.2).abs() < 1e-6);
        assert_eq!((images[[1, 0, 0, 0]], images[[2, 0, 3, 3]]), (0.0, 1.0));
        assert_eq!(sha, listing.sha256().unwrap());
        grey(&dir.path().join("b/2.png"), 8, 6, 254);
        assert_ne!(Listing::read(dir.path()).unwrap().sha256().unwrap(), sha);
    }
}
