//! Where and when an audit ran: the backend, the model file, the start
//! date and the time it took. Two runs of the same audit differ here and
//! only here, so `audit-merge` and the byte-equality guarantees leave this
//! block out.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The report's `provenance` block.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Provenance {
    /// The backend that ran the graphs (`tract`, `ort`).
    pub backend: String,
    /// Its version (tract's, or the ONNX Runtime library's).
    pub backend_version: String,
    /// The device it ran on (`cpu`, `cuda:0`).
    pub device: String,
    /// The model's file name, as given on the command line.
    pub model_file: String,
    /// When the audit started (RFC 3339, UTC); for a resumed audit, its
    /// first run.
    pub started_utc: String,
    /// Seconds spent attacking, all runs of a resumed audit together; for a
    /// merge, the shards' sum.
    pub duration_s: f64,
    /// Of those, the seconds each attack stage took (`apgd-ce`, `square`,
    /// ...), all runs of a resumed audit together; for a merge, the shards'
    /// sums. The clean pass is in none; loading a graph counts in the first
    /// stage that runs it.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub stage_seconds: BTreeMap<String, f64>,
    /// The network adr-onnx derived from the model file against the file
    /// itself (run by ONNX Runtime where its library loads, else by tract)
    /// on the first samples audited; absent where the audit was given no
    /// file to check against. A merge sums the shards' rows, keeps the
    /// largest difference and says which shard's file could not be run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_check: Option<crate::original::FileCheck>,
    /// A merged report: each shard's provenance, by shard.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub shards: Vec<Provenance>,
}

/// Where an audit runs, as the command line knows it.
#[derive(Debug, Clone, PartialEq)]
pub struct Origin {
    pub backend: String,
    pub backend_version: String,
    pub device: String,
    pub model_file: String,
}

impl Provenance {
    pub fn new(
        origin: &Origin,
        started_utc: String,
        duration_s: f64,
        stage_seconds: BTreeMap<String, f64>,
    ) -> Provenance {
        Provenance {
            backend: origin.backend.clone(),
            backend_version: origin.backend_version.clone(),
            device: origin.device.clone(),
            model_file: origin.model_file.clone(),
            started_utc,
            duration_s,
            stage_seconds,
            file_check: None,
            shards: Vec::new(),
        }
    }

    /// The provenance of shards merged (given in shard order): the first
    /// shard's backend and model, the earliest start, the summed duration,
    /// and the shards' file checks together ([`FileCheck::merged`]).
    ///
    /// [`FileCheck::merged`]: crate::original::FileCheck::merged
    pub fn merged(shards: Vec<Provenance>) -> Option<Provenance> {
        let first = shards.first()?.clone();
        let started_utc = shards.iter().map(|p| p.started_utc.clone()).min().unwrap_or_default();
        let duration_s = shards.iter().map(|p| p.duration_s).sum();
        let stage_seconds = sum_stage_seconds(shards.iter().map(|p| &p.stage_seconds));
        let file_check = crate::original::FileCheck::merged(shards.iter().map(|p| p.file_check.as_ref()));
        Some(Provenance { started_utc, duration_s, stage_seconds, file_check, shards, ..first })
    }
}

/// Seconds per stage, summed over `parts`.
pub fn sum_stage_seconds<'p>(parts: impl IntoIterator<Item = &'p BTreeMap<String, f64>>) -> BTreeMap<String, f64> {
    let mut sum = BTreeMap::new();
    for (stage, s) in parts.into_iter().flatten() {
        *sum.entry(stage.clone()).or_default() += s;
    }
    sum
}

/// `t` as RFC 3339 in UTC to the second, e.g. `2025-06-01T12:00:00Z`.
pub fn utc_rfc3339(t: std::time::SystemTime) -> String {
    let secs = t.duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let (y, m, d) = civil_from_days(days as i64);
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z", rem / 3600, rem % 3600 / 60, rem % 60)
}

/// The proleptic Gregorian date of a day count since 1970-01-01 (Howard
/// Hinnant's `civil_from_days`).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    #[test]
    fn dates_are_rfc3339_utc() {
        assert_eq!(utc_rfc3339(UNIX_EPOCH), "1970-01-01T00:00:00Z");
        assert_eq!(utc_rfc3339(UNIX_EPOCH + Duration::from_secs(951_782_400 + 3661)), "2000-02-29T01:01:01Z");
        assert_eq!(utc_rfc3339(UNIX_EPOCH + Duration::from_secs(1_767_225_599)), "2025-12-31T23:59:59Z");
    }

    #[test]
    fn a_merge_sums_the_durations_and_keeps_the_earliest_start() {
        let o = Origin {
            backend: "tract".into(),
            backend_version: "0".into(),
            device: "cpu".into(),
            model_file: "m.onnx".into(),
        };
        let stages = |pairs: &[(&str, f64)]| pairs.iter().map(|&(s, t)| (s.to_string(), t)).collect();
        let a = Provenance::new(&o, "2025-01-02T00:00:00Z".into(), 2.0, stages(&[("apgd-ce", 1.5)]));
        let b = Provenance::new(&o, "2025-01-01T00:00:00Z".into(), 3.5, stages(&[("apgd-ce", 1.0), ("square", 2.0)]));
        let m = Provenance::merged(vec![a.clone(), b.clone()]).unwrap();
        assert_eq!(m.stage_seconds, stages(&[("apgd-ce", 2.5), ("square", 2.0)]));
        assert_eq!((m.started_utc.as_str(), m.duration_s, m.shards), ("2025-01-01T00:00:00Z", 5.5, vec![a, b]));
        assert_eq!(Provenance::merged(vec![]), None);
    }

    #[test]
    fn a_merge_joins_every_shards_file_check() {
        use crate::original::FileCheck;
        let o = Origin {
            backend: "tract".into(),
            backend_version: "0".into(),
            device: "cpu".into(),
            model_file: "m.onnx".into(),
        };
        let checked = |runtime: &str, rows, d: Option<f64>, why: Option<&str>| {
            let check =
                FileCheck { runtime: runtime.into(), rows, max_difference: d, unavailable: why.map(String::from) };
            Provenance {
                file_check: Some(check),
                ..Provenance::new(&o, "2025-01-01T00:00:00Z".into(), 1.0, BTreeMap::new())
            }
        };
        let shards = vec![
            checked("onnxruntime", 72, Some(1e-7), None),
            checked("onnxruntime", 40, Some(3e-6), None),
            checked("tract", 3, None, Some("tract failed on the file")),
        ];
        let m = Provenance::merged(shards).unwrap().file_check.unwrap();
        assert_eq!(
            m,
            FileCheck {
                runtime: crate::original::MIXED_RUNTIMES.into(),
                rows: 115,
                max_difference: Some(3e-6),
                unavailable: Some("shard 2: tract failed on the file".into()),
            }
        );
        // Shards that checked nothing leave nothing to report.
        let unchecked = Provenance::new(&o, "2025-01-01T00:00:00Z".into(), 1.0, BTreeMap::new());
        assert_eq!(Provenance::merged(vec![unchecked.clone(), unchecked]).unwrap().file_check, None);
    }
}
