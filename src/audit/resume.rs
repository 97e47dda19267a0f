//! The partial file of an audit, which makes it resumable: JSON Lines, a
//! header naming the audit (model, dataset, goal, settings, shard, radii,
//! build, backend) and when it started, then one line per sample attacked
//! at a radius, appended after each batch. `--resume` replays those lines
//! instead of attacking again: a sample's result depends on the sample
//! alone, so the report equals an uninterrupted run's.

use std::collections::{BTreeMap, HashMap};
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::provenance::sum_stage_seconds;
use super::SampleResult;
use crate::error::{Error, Result};

/// The first line.
#[derive(Debug, Serialize, Deserialize)]
struct Header {
    /// What the audit computes: a resume must compute the same.
    partial_audit: Value,
    /// When the first run of the audit started (RFC 3339, UTC).
    started_utc: String,
}

/// One sample's result after its attack at `epsilon` (none: the template's).
#[derive(Debug, Serialize, Deserialize)]
struct Line {
    epsilon: Option<f64>,
    /// Seconds spent on the audit so far, all runs together.
    duration_s: f64,
    /// Of those, the seconds per attack stage (absent in files written
    /// before stage times were kept).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    stage_seconds: BTreeMap<String, f64>,
    sample: SampleResult,
}

/// The partial file, open for appending, with the results it held.
pub struct Journal {
    path: PathBuf,
    file: File,
    started_utc: String,
    /// Seconds spent by the runs before this one.
    earlier_s: f64,
    /// Of those, the seconds per attack stage.
    earlier_stages: BTreeMap<String, f64>,
    recorded: HashMap<(Option<u64>, usize), SampleResult>,
}

/// `file`, the partial file at `path`, locked for this process alone:
/// two runs of one audit (two `--resume` at once) would truncate and
/// append to it under each other. The lock lasts as long as the file
/// stays open.
fn lock(path: &Path, file: File) -> Result<File> {
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => Err(Error::data(
            path,
            "another adr-onnx audit is writing this partial file: wait for it, or give this audit another --out"
                .to_string(),
        )),
        Err(std::fs::TryLockError::Error(e)) => Err(Error::io(path, e)),
    }
}

fn radius_key(epsilon: Option<f64>) -> Option<u64> {
    epsilon.map(f64::to_bits)
}

impl Journal {
    /// Starts a new partial file at `path` (replacing any, a symlink too,
    /// which is never written through) for the audit `identity`, started
    /// at `started_utc`. A file it could not start is removed: one without
    /// a header would refuse every later run.
    pub fn create(path: &Path, identity: &Value, started_utc: &str) -> Result<Journal> {
        let header = Header { partial_audit: identity.clone(), started_utc: started_utc.into() };
        let line = serde_json::to_string(&header).map_err(|e| Error::data(path, e.to_string()))?;
        if std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink()) {
            std::fs::remove_file(path).map_err(|e| Error::io(path, e))?;
        }
        let file =
            OpenOptions::new().write(true).create(true).truncate(false).open(path).map_err(|e| Error::io(path, e))?;
        let mut file = match lock(path, file) {
            // Another run holds it: not ours to remove.
            Err(busy @ Error::Data { .. }) => return Err(busy),
            Err(e) => {
                let _ = std::fs::remove_file(path);
                return Err(e);
            }
            Ok(file) => file,
        };
        let started = file.set_len(0).and_then(|()| file.write_all(format!("{line}\n").as_bytes()));
        if let Err(e) = started {
            let _ = std::fs::remove_file(path);
            return Err(Error::io(path, e));
        }
        Ok(Journal {
            path: path.into(),
            file,
            started_utc: started_utc.into(),
            earlier_s: 0.0,
            earlier_stages: BTreeMap::new(),
            recorded: HashMap::new(),
        })
    }

    /// Reopens the partial file at `path` of an interrupted run of the audit
    /// `identity`. A last line cut short by the interruption is dropped.
    pub fn resume(path: &Path, identity: &Value) -> Result<Journal> {
        let fail = |message: String| Error::data(path, message);
        let file = OpenOptions::new().read(true).write(true).open(path).map_err(|e| Error::io(path, e))?;
        let mut file = lock(path, file)?;
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes).map_err(|e| Error::io(path, e))?;
        let complete = bytes.iter().rposition(|&b| b == b'\n').map_or(0, |at| at + 1);
        let text = std::str::from_utf8(&bytes[..complete]).map_err(|_| fail("not UTF-8 text".into()))?;
        let mut lines = text.lines();
        let header: Header = lines
            .next()
            .and_then(|l| serde_json::from_str(l).ok())
            .ok_or_else(|| fail("not the partial file of an audit (line 1)".into()))?;
        if let Some(field) = first_difference(&header.partial_audit, identity) {
            return Err(fail(format!(
                "written by an audit with a different {field}: run the same audit to resume it, or delete this file"
            )));
        }
        let mut recorded = HashMap::new();
        let mut earlier_s = 0.0;
        let mut earlier_stages = BTreeMap::new();
        for (n, l) in lines.enumerate() {
            let line: Line =
                serde_json::from_str(l).map_err(|e| fail(format!("line {}: not a sample's result ({e})", n + 2)))?;
            earlier_s = line.duration_s;
            earlier_stages = line.stage_seconds;
            recorded.insert((radius_key(line.epsilon), line.sample.index), line.sample);
        }
        file.set_len(complete as u64).map_err(|e| Error::io(path, e))?;
        file.seek(SeekFrom::End(0)).map_err(|e| Error::io(path, e))?;
        Ok(Journal { path: path.into(), file, started_utc: header.started_utc, earlier_s, earlier_stages, recorded })
    }

    /// The partial file, open and locked, for the caller to hold until the
    /// file is removed.
    pub fn into_file(self) -> File {
        self.file
    }

    /// The result of sample `index` at `epsilon`, if an earlier run recorded it.
    pub fn recorded(&self, epsilon: Option<f64>, index: usize) -> Option<&SampleResult> {
        self.recorded.get(&(radius_key(epsilon), index))
    }

    /// Appends the results of a batch at `epsilon`, `elapsed_s` into this
    /// run, which spent `stage_seconds` in its attack stages so far.
    pub fn record(
        &mut self,
        epsilon: Option<f64>,
        elapsed_s: f64,
        stage_seconds: &BTreeMap<String, f64>,
        samples: &[&SampleResult],
    ) -> Result<()> {
        let stage_seconds = sum_stage_seconds([&self.earlier_stages, stage_seconds]);
        let mut text = String::new();
        for &sample in samples {
            let line = Line {
                epsilon,
                duration_s: self.earlier_s + elapsed_s,
                stage_seconds: stage_seconds.clone(),
                sample: sample.clone(),
            };
            text += &serde_json::to_string(&line).map_err(|e| Error::data(&self.path, e.to_string()))?;
            text.push('\n');
        }
        self.file.write_all(text.as_bytes()).map_err(|e| Error::io(&self.path, e))
    }

    /// When the first run started.
    pub fn started_utc(&self) -> &str {
        &self.started_utc
    }

    /// Seconds spent by the earlier runs.
    pub fn earlier_s(&self) -> f64 {
        self.earlier_s
    }

    /// Of those, the seconds per attack stage.
    pub fn earlier_stages(&self) -> &BTreeMap<String, f64> {
        &self.earlier_stages
    }
}

/// The first top-level field in which two identities differ.
fn first_difference(a: &Value, b: &Value) -> Option<String> {
    match (a.as_object(), b.as_object()) {
        (Some(a), Some(b)) => {
            let keys = a.keys().chain(b.keys());
            keys.into_iter().find(|k| a.get(*k) != b.get(*k)).map(|k| k.replace('_', " "))
        }
        _ => (a != b).then(|| "kind of audit".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[cfg(unix)]
    #[test]
    fn a_symlink_at_the_partial_path_is_replaced_not_written_through() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.json.partial");
        let elsewhere = dir.path().join("elsewhere.txt");
        std::os::unix::fs::symlink(&elsewhere, &path).unwrap();
        drop(Journal::create(&path, &json!({"model_sha256": "m"}), "t").unwrap());
        assert!(!elsewhere.exists(), "the journal went through the link");
        assert!(std::fs::symlink_metadata(&path).unwrap().is_file());
    }

    #[test]
    fn two_runs_never_write_one_partial_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.json.partial");
        let id = json!({"model_sha256": "m"});
        let mut first = Journal::create(&path, &id, "2025-01-02T03:04:05Z").unwrap();
        let s = SampleResult::unattacked(3, 1, 1, None);
        first.record(None, 1.0, &BTreeMap::new(), &[&s]).unwrap();
        // A second --resume truncated the file under the first one.
        let busy = "another adr-onnx audit is writing this partial file";
        assert!(Journal::resume(&path, &id).err().unwrap().to_string().contains(busy));
        assert!(Journal::create(&path, &id, "2025-01-02T03:04:05Z").err().unwrap().to_string().contains(busy));
        first.record(None, 2.0, &BTreeMap::new(), &[&s]).unwrap();
        drop(first);
        let resumed = Journal::resume(&path, &id).unwrap();
        assert_eq!(resumed.recorded(None, 3), Some(&s));
        assert_eq!(resumed.earlier_s(), 2.0);
    }

    #[test]
    fn a_resumed_journal_replays_its_lines_and_drops_a_cut_one() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.json.partial");
        let id = json!({"model_sha256": "m", "settings": {"seed": 1}});
        let mut j = Journal::create(&path, &id, "2025-01-02T03:04:05Z").unwrap();
        let mut s = SampleResult::unattacked(3, 1, 1, None);
        s.margin = Some(0.1 + 0.2);
        let stages = |t: f64| BTreeMap::from([("apgd-ce".to_string(), t)]);
        j.record(Some(0.1), 2.5, &stages(2.0), &[&s]).unwrap();
        drop(j);
        // An interrupted write leaves half a line.
        std::fs::OpenOptions::new().append(true).open(&path).unwrap().write_all(b"{\"epsilon\": 0.2, \"dur").unwrap();
        let mut j = Journal::resume(&path, &id).unwrap();
        assert_eq!(j.recorded(Some(0.1), 3), Some(&s));
        assert_eq!(j.recorded(Some(0.2), 3), None);
        assert_eq!((j.started_utc(), j.earlier_s(), j.earlier_stages()), ("2025-01-02T03:04:05Z", 2.5, &stages(2.0)));
        j.record(None, 1.0, &stages(0.5), &[&s]).unwrap();
        drop(j);
        let j = Journal::resume(&path, &id).unwrap();
        assert_eq!((j.recorded(None, 3), j.earlier_s(), j.earlier_stages()), (Some(&s), 3.5, &stages(2.5)));
    }

    #[test]
    fn a_journal_of_another_audit_or_a_broken_line_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.json.partial");
        let id = json!({"model_sha256": "m", "settings": {"seed": 1}});
        drop(Journal::create(&path, &id, "t").unwrap());
        let other = json!({"model_sha256": "m", "settings": {"seed": 2}});
        let err = Journal::resume(&path, &other).err().unwrap().to_string();
        assert!(err.ends_with("a.json.partial: written by an audit with a different settings: run the same audit to resume it, or delete this file"), "{err}");
        std::fs::OpenOptions::new().append(true).open(&path).unwrap().write_all(b"{}\n").unwrap();
        let err = Journal::resume(&path, &id).err().unwrap().to_string();
        assert!(err.contains("a.json.partial: line 2: not a sample's result"), "{err}");
        std::fs::write(&path, "hello\n").unwrap();
        let err = Journal::resume(&path, &id).err().unwrap().to_string();
        assert!(err.ends_with("not the partial file of an audit (line 1)"), "{err}");
    }
}
