//! Writing output files: each is written to a new temporary file in its
//! folder and renamed into place, so that a reader never sees half a file
//! and a symlink at the destination is replaced, never followed; and before
//! any work, [`refuse_clobber`] refuses outputs that are one of the
//! command's inputs or each other.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::error::{Error, Result};

/// Writes `bytes` to `path` atomically (see the module documentation).
pub fn write(path: &Path, bytes: &[u8]) -> Result<()> {
    write_with(path, |w| w.write_all(bytes))
}

/// Writes what `fill` writes to `path` atomically (see [`write_atomically`]).
pub fn write_with(path: &Path, fill: impl FnOnce(&mut dyn Write) -> std::io::Result<()>) -> Result<()> {
    write_atomically(path, fill).map_err(|e| Error::io(path, e))
}

/// Writes what `fill` writes to a temporary file beside `path`, flushed and
/// synced, then renames it over `path`. On any error the temporary file is
/// removed and `path` is left as it was.
pub fn write_atomically(path: &Path, fill: impl FnOnce(&mut dyn Write) -> std::io::Result<()>) -> std::io::Result<()> {
    use std::io::{Error as IoError, ErrorKind};
    let name = path.file_name().ok_or_else(|| IoError::new(ErrorKind::InvalidInput, "not a file name to write to"))?;
    if std::fs::symlink_metadata(path).is_ok_and(|m| m.is_dir()) {
        return Err(IoError::new(ErrorKind::IsADirectory, "is a directory"));
    }
    let (tmp, file) = create_temporary(&folder_of(path), &name.to_string_lossy())?;
    let written = fill_and_sync(file, fill).and_then(|()| {
        keep_permissions(path, &tmp);
        std::fs::rename(&tmp, path)
    });
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written
}

fn fill_and_sync(file: File, fill: impl FnOnce(&mut dyn Write) -> std::io::Result<()>) -> std::io::Result<()> {
    let mut w = BufWriter::new(file);
    fill(&mut w)?;
    let file = w.into_inner().map_err(std::io::IntoInnerError::into_error)?;
    file.sync_all()
}

/// A replaced regular file keeps its permissions (best effort: a new file
/// gets the umask's).
fn keep_permissions(path: &Path, tmp: &Path) {
    if let Ok(meta) = std::fs::symlink_metadata(path) {
        if meta.is_file() {
            let _ = std::fs::set_permissions(tmp, meta.permissions());
        }
    }
}

/// Creates a new file `.<name>.<pid>.<n>.tmp` in `dir`. `create_new`
/// (`O_EXCL`) never opens an existing file or follows a symlink.
fn create_temporary(dir: &Path, name: &str) -> std::io::Result<(PathBuf, File)> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    loop {
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let tmp = dir.join(format!(".{name}.{}.{n}.tmp", std::process::id()));
        match std::fs::OpenOptions::new().write(true).create_new(true).open(&tmp) {
            Ok(file) => return Ok((tmp, file)),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && n < u64::from(u16::MAX) => continue,
            Err(e) => return Err(e),
        }
    }
}

/// What identifies a file on disk: its device and inode.
#[cfg(unix)]
fn file_id(path: &Path) -> Option<(u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(path).ok().map(|m| (m.dev(), m.ino()))
}

#[cfg(not(unix))]
fn file_id(path: &Path) -> Option<PathBuf> {
    std::fs::canonicalize(path).ok()
}

/// Where an output will land, existing or not: the identity of its
/// nearest folder that exists, and the names below it (folders a command
/// creates, then the file's), so that `./new/x` and `new/x` are one
/// destination before `new` exists. `None` for a path without a file name.
fn destination(path: &Path) -> Option<(impl PartialEq, Vec<std::ffi::OsString>)> {
    let mut below = vec![path.file_name()?.to_os_string()];
    let mut dir = folder_of(path);
    loop {
        if let Some(id) = file_id(&dir) {
            below.reverse();
            return Some((id, below));
        }
        below.push(dir.file_name()?.to_os_string());
        dir = folder_of(&dir);
    }
}

/// Removes the file at `path` where there is one (an earlier run's output
/// that would contradict this run's).
pub fn remove_if_present(path: &Path) -> Result<()> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(Error::io(path, e)),
        _ => Ok(()),
    }
}

/// The folder `path` lies in (`.` for a bare name).
pub fn folder_of(path: &Path) -> PathBuf {
    match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// Refuses, before any work, outputs that cannot be written, naming the
/// first: a file whose path is a folder, or whose folder does not exist or
/// takes no new file; a folder (the command creates it with its parents)
/// that is a file, or takes no new file, or whose nearest existing parent
/// takes none. Each check creates and removes a temporary file, as the
/// writes will.
pub fn refuse_unwritable(files: &[&Path], folders: &[&Path]) -> Result<()> {
    use std::io::{Error as IoError, ErrorKind};
    let takes_files = |dir: &Path| -> std::io::Result<()> {
        if !std::fs::metadata(dir)?.is_dir() {
            return Err(IoError::new(ErrorKind::NotADirectory, "not a folder"));
        }
        let (tmp, _) = create_temporary(dir, "write-check")?;
        std::fs::remove_file(tmp)
    };
    for file in files {
        // A symlink is replaced, whatever it points to.
        if std::fs::symlink_metadata(file).is_ok_and(|m| m.is_dir()) {
            return Err(Error::io(file, IoError::new(ErrorKind::IsADirectory, "is a folder, not a file to write")));
        }
        let dir = folder_of(file);
        takes_files(&dir)
            .map_err(|e| Error::io(file, IoError::new(e.kind(), format!("its folder {}: {e}", dir.display()))))?;
    }
    for folder in folders {
        let mut existing = folder.to_path_buf();
        while std::fs::symlink_metadata(&existing).is_err() {
            let parent = folder_of(&existing);
            if parent == existing {
                break;
            }
            existing = parent;
        }
        takes_files(&existing).map_err(|e| {
            let at = if existing == *folder { String::new() } else { format!(" (at {})", existing.display()) };
            Error::io(folder, IoError::new(e.kind(), format!("cannot hold the outputs{at}: {e}")))
        })?;
    }
    Ok(())
}

/// Refuses, before any work, an output that is the same file as an input
/// (by device and inode, symlinks followed, so that a link to an input is
/// refused too) and two outputs that land on the same file.
pub fn refuse_clobber(inputs: &[&Path], outputs: &[&Path]) -> Result<()> {
    for out in outputs {
        let Some(id) = file_id(out) else { continue };
        if let Some(input) = inputs.iter().find(|i| file_id(i).as_ref() == Some(&id)) {
            return Err(Error::OutputIsInput { output: out.to_path_buf(), input: input.to_path_buf() });
        }
    }
    for (i, a) in outputs.iter().enumerate() {
        let same = |b: &&&Path| match (destination(a), destination(b)) {
            (Some(x), Some(y)) => x == y,
            _ => a == *b,
        };
        if let Some(b) = outputs[i + 1..].iter().find(same) {
            return Err(Error::OutputTwice { first: a.to_path_buf(), second: b.to_path_buf() });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_write_replaces_the_file_and_leaves_no_temporary() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("r.json");
        std::fs::write(&p, "old").unwrap();
        write(&p, b"new").unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"new");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[cfg(unix)]
    #[test]
    fn a_symlink_at_the_destination_is_replaced_not_followed() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("precious");
        std::fs::write(&target, "keep").unwrap();
        let link = dir.path().join("best_input.npy");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        write(&link, b"artifact").unwrap();
        assert_eq!(std::fs::read(&target).unwrap(), b"keep");
        assert!(!std::fs::symlink_metadata(&link).unwrap().file_type().is_symlink());
        assert_eq!(std::fs::read(&link).unwrap(), b"artifact");
    }

    #[test]
    fn a_failed_write_leaves_the_old_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("r.json");
        std::fs::write(&p, "old").unwrap();
        let err = write_with(&p, |_| Err(std::io::Error::other("disk full"))).unwrap_err().to_string();
        assert!(err.ends_with("r.json: disk full"), "{err}");
        assert_eq!(std::fs::read(&p).unwrap(), b"old");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
        let err = write(dir.path(), b"x").unwrap_err().to_string();
        assert!(err.ends_with(": is a directory"), "{err}");
    }

    #[test]
    fn outputs_may_not_be_inputs_or_each_other() {
        let dir = tempfile::tempdir().unwrap();
        let model = dir.path().join("m.onnx");
        std::fs::write(&model, "model").unwrap();
        let fresh = dir.path().join("new.json");
        refuse_clobber(&[&model], &[&fresh]).unwrap();
        let err = refuse_clobber(&[&model], &[&fresh, &model]).unwrap_err().to_string();
        assert!(
            err.contains("m.onnx: refusing to overwrite") && err.ends_with("an input of this command (the same file)"),
            "{err}"
        );
        let err = refuse_clobber(&[&model], &[&fresh, &dir.path().join(".").join("new.json")]).unwrap_err();
        assert!(err.to_string().ends_with("new.json are the same output file"), "{err}");
        #[cfg(unix)]
        {
            let link = dir.path().join("link.onnx");
            std::os::unix::fs::symlink(&model, &link).unwrap();
            assert!(refuse_clobber(&[&model], &[&link]).is_err());
        }
    }
}
