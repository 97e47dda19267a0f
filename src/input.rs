//! Opening input files: regular files only, checked before they are opened
//! and again on the open file (a directory, FIFO, socket or device such as
//! `/dev/zero` is refused instead of read without end or waited on), and a
//! size cap on the text documents a person writes (goals, properties).

use std::fs::{File, FileType, Metadata};
use std::io::Read;
use std::path::Path;

use crate::error::{Error, Result};

/// The most bytes read from a goal file, an audit template or a VNN-LIB
/// property: far above any real one (a goal with 784 inline pixels is a
/// few KB, the largest VNN-COMP properties a few MB), low enough that a
/// wrong path fails at once.
pub const DOCUMENT_CAP: u64 = 64 << 20;

/// Why a file type is not readable as an input, `None` for a regular file.
fn problem(t: &FileType) -> Option<&'static str> {
    if t.is_file() {
        return None;
    }
    if t.is_dir() {
        return Some("is a directory");
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if t.is_fifo() {
            return Some("is a FIFO (named pipe), not a regular file");
        }
        if t.is_char_device() || t.is_block_device() {
            return Some("is a device, not a regular file");
        }
        if t.is_socket() {
            return Some("is a socket, not a regular file");
        }
    }
    Some("is not a regular file")
}

/// Fails unless `meta` describes a regular file.
fn require_regular(path: &Path, meta: &Metadata) -> Result<()> {
    match problem(&meta.file_type()) {
        None => Ok(()),
        Some(problem) => Err(Error::NotRegularFile { path: path.to_path_buf(), problem }),
    }
}

/// The metadata of `path` (symlinks followed), refusing anything but a
/// regular file.
pub fn regular(path: &Path) -> Result<Metadata> {
    let meta = std::fs::metadata(path).map_err(|e| Error::io(path, e))?;
    require_regular(path, &meta)?;
    Ok(meta)
}

/// Opens a regular file for reading. The type is checked first, and opening
/// does not block (`O_NONBLOCK`) should the path turn into a FIFO between
/// the check and the open; the open file is checked again.
pub fn open(path: &Path) -> Result<File> {
    regular(path)?;
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(libc::O_NONBLOCK);
    }
    let file = options.open(path).map_err(|e| Error::io(path, e))?;
    require_regular(path, &file.metadata().map_err(|e| Error::io(path, e))?)?;
    Ok(file)
}

/// Reads a whole regular file.
pub fn read(path: &Path) -> Result<Vec<u8>> {
    let mut bytes = Vec::new();
    open(path)?.read_to_end(&mut bytes).map_err(|e| Error::io(path, e))?;
    Ok(bytes)
}

/// Reads a whole regular file of at most `cap` bytes; `what` names the kind
/// of file in the error ("a goal file").
pub fn read_capped(path: &Path, cap: u64, what: &'static str) -> Result<Vec<u8>> {
    let too_large = || Error::TooLarge { path: path.to_path_buf(), what, cap_mib: cap >> 20 };
    let file = open(path)?;
    if file.metadata().map_err(|e| Error::io(path, e))?.len() > cap {
        return Err(too_large());
    }
    let mut bytes = Vec::new();
    // One byte past the cap tells a file that grew since its length was read.
    file.take(cap.saturating_add(1)).read_to_end(&mut bytes).map_err(|e| Error::io(path, e))?;
    if bytes.len() as u64 > cap {
        return Err(too_large());
    }
    Ok(bytes)
}

/// Reads a UTF-8 text document of at most [`DOCUMENT_CAP`] bytes; `what`
/// names the kind of document in the error ("a goal file").
pub fn read_document(path: &Path, what: &'static str) -> Result<String> {
    utf8(path, read_capped(path, DOCUMENT_CAP, what)?)
}

/// Reads a UTF-8 text file of any size (an audit report holds every
/// adversarial input of its shard).
pub fn read_text(path: &Path) -> Result<String> {
    utf8(path, read(path)?)
}

fn utf8(path: &Path, bytes: Vec<u8>) -> Result<String> {
    String::from_utf8(bytes).map_err(|e| {
        Error::data(path, format!("not UTF-8 text (invalid byte at offset {})", e.utf8_error().valid_up_to()))
    })
}

/// The SHA-256 of `bytes` in lower-case hex: how reports identify the
/// files a run read.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_directory_is_refused_as_a_directory() {
        let dir = tempfile::tempdir().unwrap();
        let err = read(dir.path()).unwrap_err().to_string();
        assert!(err.ends_with(": is a directory"), "{err}");
    }

    #[cfg(unix)]
    #[test]
    fn devices_and_fifos_are_refused_without_reading() {
        let err = read(Path::new("/dev/zero")).unwrap_err().to_string();
        assert_eq!(err, "/dev/zero: is a device, not a regular file");
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("pipe");
        let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        // SAFETY: a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        let err = read_document(&fifo, "a goal file").unwrap_err().to_string();
        assert!(err.ends_with("pipe: is a FIFO (named pipe), not a regular file"), "{err}");
    }

    #[test]
    fn the_cap_names_the_file_and_the_limit() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("big.json");
        std::fs::write(&p, vec![b' '; (1 << 20) + 1]).unwrap();
        let err = read_capped(&p, 1 << 20, "a goal file").unwrap_err().to_string();
        assert!(err.ends_with("big.json: larger than 1 MiB, the most adr-onnx reads from a goal file"), "{err}");
        assert_eq!(read_capped(&p, 2 << 20, "a goal file").unwrap().len(), (1 << 20) + 1);
    }

    #[test]
    fn text_must_be_utf8() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("g.json");
        std::fs::write(&p, b"{\"a\": \"\xff\"}").unwrap();
        let err = read_document(&p, "a goal file").unwrap_err().to_string();
        assert!(err.ends_with("g.json: not UTF-8 text (invalid byte at offset 7)"), "{err}");
    }
}
