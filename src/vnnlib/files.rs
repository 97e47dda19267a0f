//! Reading the files of a VNN-COMP instance as the competition ships them:
//! plain or gzip-compressed (`.onnx.gz`, `.vnnlib.gz`). Compression is
//! recognised by the gzip magic bytes, whatever the file's name; neither an
//! ONNX protobuf nor VNN-LIB text can start with them.

use std::io::Read;
use std::path::Path;

use tract_onnx::pb::ModelProto;

use super::parse::{parse_vnnlib, Property};
use crate::error::{Error, Result};

const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// The file's bytes, decompressed when it is gzip-compressed.
pub fn read_bytes(path: &Path) -> Result<Vec<u8>> {
    decompressed(path, crate::input::read(path)?, u64::MAX)
}

/// `raw` (read from `path`), decompressed when it is gzip-compressed, to
/// at most `cap` bytes.
fn decompressed(path: &Path, raw: Vec<u8>, cap: u64) -> Result<Vec<u8>> {
    if !raw.starts_with(&GZIP_MAGIC) {
        return Ok(raw);
    }
    let mut out = Vec::new();
    flate2::read::MultiGzDecoder::new(raw.as_slice())
        .take(cap.saturating_add(1))
        .read_to_end(&mut out)
        .map_err(|e| Error::data(path, format!("not a readable gzip file: {e}")))?;
    if out.len() as u64 > cap {
        return Err(Error::data(path, format!("decompresses to more than {} MiB", cap >> 20)));
    }
    Ok(out)
}

/// A VNN-LIB property file, parsed; errors name the file and the line.
pub fn read_property(path: &Path) -> Result<Property> {
    let raw = crate::input::read_capped(path, crate::input::DOCUMENT_CAP, "a VNN-LIB property")?;
    let bytes = decompressed(path, raw, crate::input::DOCUMENT_CAP)?;
    let text = String::from_utf8(bytes).map_err(|e| Error::data(path, format!("not UTF-8 text ({e})")))?;
    parse_vnnlib(&text).map_err(|e| Error::data(path, e.to_string()))
}

/// An ONNX model file, decoded (not yet imported).
pub fn read_model(path: &Path) -> Result<ModelProto> {
    crate::onnx::proto::decode_model(path, &read_bytes(path)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn gzip(bytes: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(bytes).unwrap();
        e.finish().unwrap()
    }

    #[test]
    fn plain_and_gzipped_files_read_alike() {
        let dir = std::env::temp_dir().join(format!("adr-onnx-files-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let text = b"(declare-const X_0 Real)\n(declare-const Y_0 Real)\n(assert (<= X_0 1))\n(assert (>= X_0 0))\n";
        let plain = dir.join("p.vnnlib");
        let packed = dir.join("p.vnnlib.gz");
        std::fs::write(&plain, text).unwrap();
        std::fs::write(&packed, gzip(text)).unwrap();
        assert_eq!(read_bytes(&packed).unwrap(), text);
        assert_eq!(read_property(&plain).unwrap(), read_property(&packed).unwrap());
        // A damaged archive and a missing file are errors naming the file.
        let broken = dir.join("broken.vnnlib.gz");
        std::fs::write(&broken, &gzip(text)[..20]).unwrap();
        let e = read_property(&broken).unwrap_err().to_string();
        assert!(e.contains("broken.vnnlib.gz") && e.contains("gzip"), "{e}");
        let e = read_model(&dir.join("missing.onnx.gz")).unwrap_err().to_string();
        assert!(e.contains("missing.onnx.gz"), "{e}");
        let e = read_property(&dir.join("p.bin")).unwrap_err().to_string();
        assert!(e.contains("p.bin"), "{e}");
        std::fs::write(dir.join("latin1.vnnlib"), [b'(', 0xe9, b')']).unwrap();
        let e = read_property(&dir.join("latin1.vnnlib")).unwrap_err().to_string();
        assert!(e.contains("latin1.vnnlib") && e.contains("UTF-8"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
