//! Finding the ONNX Runtime shared library at run time, in order: the
//! `--ort-lib` flag, `ORT_DYLIB_PATH`, an `onnxruntime` or
//! `onnxruntime-gpu` Python package of the `python3` on the PATH (its
//! `capi/libonnxruntime.so.*`), then the system library path.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde::Serialize;

/// What to tell a user who has no usable library.
pub const INSTALL_HINT: &str = "install ONNX Runtime with `pip install onnxruntime==1.31.1` (CPU) or \
`pip install onnxruntime-gpu==1.31.1` (CUDA), or pass --ort-lib /path/to/libonnxruntime.so";

/// The oldest ONNX Runtime the `ort` crate accepts (its `api-23` feature).
pub const MIN_MINOR_VERSION: u32 = 23;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    Flag,
    Environment,
    PythonPackage,
    System,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FoundLibrary {
    pub path: PathBuf,
    pub source: Source,
    /// The version read off the file name (`libonnxruntime.so.1.31.1`), if any.
    pub version: Option<String>,
    /// Whether the CUDA provider library sits beside it (onnxruntime-gpu).
    pub cuda_provider: bool,
}

/// Why no library was found: every place looked at, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotFound {
    pub tried: Vec<String>,
}

impl std::fmt::Display for NotFound {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ONNX Runtime library not found (looked at: {}); {INSTALL_HINT}", self.tried.join("; "))
    }
}

fn version_of(path: &Path) -> Option<String> {
    let name = path.file_name()?.to_string_lossy().into_owned();
    let v = name.split(".so.").nth(1)?;
    v.chars().all(|c| c.is_ascii_digit() || c == '.').then(|| v.to_string())
}

fn found(path: PathBuf, source: Source) -> FoundLibrary {
    let cuda_provider = path.parent().is_some_and(|d| d.join("libonnxruntime_providers_cuda.so").exists());
    FoundLibrary { version: version_of(&path), path, source, cuda_provider }
}

/// `libonnxruntime.so*` files in `dir`, the most specific name first.
fn library_in(dir: &Path) -> Option<PathBuf> {
    let mut hits: Vec<PathBuf> = std::fs::read_dir(dir)
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.file_name().is_some_and(|n| n.to_string_lossy().starts_with("libonnxruntime.so")))
        .collect();
    hits.sort_by_key(|p| std::cmp::Reverse(p.as_os_str().len()));
    hits.into_iter().next()
}

/// The `sys.path` of the `python3` on the PATH, asked once per process (a
/// command looks for the library for its backend and again for the file
/// check, and each start of python3 costs tens of milliseconds).
fn python_paths() -> &'static [PathBuf] {
    static PATHS: std::sync::OnceLock<Vec<PathBuf>> = std::sync::OnceLock::new();
    PATHS.get_or_init(|| {
        let out = Command::new("python3").args(["-c", "import sys\nfor p in sys.path: print(p)"]).output();
        match out {
            Ok(o) if o.status.success() => {
                String::from_utf8_lossy(&o.stdout).lines().filter(|l| !l.is_empty()).map(PathBuf::from).collect()
            }
            _ => Vec::new(),
        }
    })
}

fn system_dirs() -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> =
        std::env::var_os("LD_LIBRARY_PATH").map(|v| std::env::split_paths(&v).collect()).unwrap_or_default();
    for d in ["/usr/local/lib", "/usr/lib", "/usr/lib/x86_64-linux-gnu", "/lib/x86_64-linux-gnu", "/usr/lib64"] {
        dirs.push(PathBuf::from(d));
    }
    dirs
}

/// Finds the library; `flag` is the `--ort-lib` value.
pub fn find(flag: Option<&Path>) -> Result<FoundLibrary, NotFound> {
    let mut tried = Vec::new();
    if let Some(p) = flag {
        if p.is_file() {
            return Ok(found(p.to_path_buf(), Source::Flag));
        }
        tried.push(format!("--ort-lib {} (no such file)", p.display()));
        return Err(NotFound { tried });
    }
    if let Some(v) = std::env::var_os("ORT_DYLIB_PATH").filter(|v| !v.is_empty()) {
        let p = PathBuf::from(v);
        if p.is_file() {
            return Ok(found(p, Source::Environment));
        }
        tried.push(format!("ORT_DYLIB_PATH={} (no such file)", p.display()));
        return Err(NotFound { tried });
    }
    tried.push("ORT_DYLIB_PATH (unset)".into());
    let paths = python_paths();
    if paths.is_empty() {
        tried.push("python3 (not found)".into());
    }
    for dir in paths {
        if let Some(lib) = library_in(&dir.join("onnxruntime").join("capi")) {
            return Ok(found(lib, Source::PythonPackage));
        }
    }
    if !paths.is_empty() {
        tried.push("the onnxruntime package of python3 (not installed)".into());
    }
    for dir in system_dirs() {
        if let Some(lib) = library_in(&dir) {
            return Ok(found(lib, Source::System));
        }
    }
    tried.push("the system library path".into());
    Err(NotFound { tried })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_comes_from_the_file_name() {
        assert_eq!(version_of(Path::new("/x/libonnxruntime.so.1.31.1")), Some("1.31.1".into()));
        assert_eq!(version_of(Path::new("/x/libonnxruntime.so")), None);
    }

    #[test]
    fn a_missing_flag_path_is_reported_with_the_hint() {
        let e = find(Some(Path::new("/no/such/libonnxruntime.so"))).unwrap_err();
        let s = e.to_string();
        assert!(s.contains("--ort-lib /no/such/libonnxruntime.so") && s.contains("pip install onnxruntime"), "{s}");
    }

    #[test]
    fn the_most_specific_library_name_wins() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("libonnxruntime.so"), b"").unwrap();
        std::fs::write(dir.path().join("libonnxruntime.so.1.31.1"), b"").unwrap();
        assert_eq!(library_in(dir.path()).unwrap().file_name().unwrap(), "libonnxruntime.so.1.31.1");
    }
}
