//! One run of an audit as it goes: its progress, its partial file (written
//! after each batch, replayed by `--resume`), the test hook that stops it
//! part-way, and its provenance.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Instant, SystemTime};

use serde_json::Value;

use super::progress::{AuditProgress, AuditStatus};
use super::provenance::{sum_stage_seconds, utc_rfc3339, Origin, Provenance};
use super::resume::Journal;
use super::SampleResult;
use crate::error::{Error, Result};

/// How the caller wants a run watched and recorded.
pub struct Session<'a> {
    pub progress: &'a mut dyn AuditProgress,
    /// The partial file, and whether to resume from it (when it exists).
    pub partial: Option<(PathBuf, bool)>,
    /// Stop with an error once this run attacked this many samples, as an
    /// interruption would (a test hook).
    pub stop_after: Option<usize>,
    pub origin: Origin,
    /// The partial file, still open and locked after the run: the caller
    /// writes the report, removes the file, then drops the session, so that
    /// no other run takes the file before it is gone. `None` before a run
    /// (or where this run could not lock it).
    pub held: Option<std::fs::File>,
}

/// A run under way.
pub(super) struct Running<'s, 'a> {
    session: &'s mut Session<'a>,
    journal: Option<Journal>,
    started: Instant,
    started_utc: String,
    earlier_s: f64,
    /// Of those, the seconds per attack stage.
    earlier_stages: BTreeMap<String, f64>,
    attacked_here: usize,
    /// Per sample: attacked (or replayed) at the last radius.
    last_radius_done: Vec<bool>,
}

impl<'a> Session<'a> {
    /// Starts the run of the audit `identity` over `samples` samples.
    pub(super) fn start<'s>(&'s mut self, identity: &Value, samples: usize) -> Result<Running<'s, 'a>> {
        let now = utc_rfc3339(SystemTime::now());
        let journal = match &self.partial {
            Some((path, true)) if path.exists() => Some(Journal::resume(path, identity)?),
            Some((path, _)) => Some(Journal::create(path, identity, &now)?),
            None => None,
        };
        let (started_utc, earlier_s, earlier_stages) = match &journal {
            Some(j) => (j.started_utc().to_string(), j.earlier_s(), j.earlier_stages().clone()),
            None => (now, 0.0, BTreeMap::new()),
        };
        Ok(Running {
            session: self,
            journal,
            started: Instant::now(),
            started_utc,
            earlier_s,
            earlier_stages,
            attacked_here: 0,
            last_radius_done: vec![false; samples],
        })
    }
}

/// The run's journal goes, its lock stays with the session.
impl Drop for Running<'_, '_> {
    fn drop(&mut self) {
        if let Some(j) = self.journal.take() {
            self.session.held = Some(j.into_file());
        }
    }
}

impl Running<'_, '_> {
    /// Tells the watcher where the audit stands.
    pub(super) fn report(&mut self, samples: &[SampleResult]) {
        let status = AuditStatus::of(samples, &self.last_radius_done, self.attacked_here);
        self.session.progress.status(&status);
    }

    /// Settles the samples `chunk` (indices into `samples`) at `epsilon`:
    /// those the partial file holds from its record, the others by
    /// `attack`, which returns the seconds per stage this run spent so far
    /// ([`crate::optim::Engine::stage_seconds`]); records them and reports
    /// the status.
    pub(super) fn settle(
        &mut self,
        samples: &mut [SampleResult],
        chunk: &[usize],
        epsilon: Option<f64>,
        last_radius: bool,
        attack: impl FnOnce(&mut [SampleResult], &[usize]) -> Result<BTreeMap<String, f64>>,
    ) -> Result<()> {
        let mut todo = Vec::with_capacity(chunk.len());
        for &s in chunk {
            match self.journal.as_ref().and_then(|j| j.recorded(epsilon, samples[s].index)) {
                Some(r) => samples[s] = r.clone(),
                None => todo.push(s),
            }
        }
        if !todo.is_empty() {
            let stages = attack(samples, &todo)?;
            if let Some(j) = &mut self.journal {
                let done: Vec<&SampleResult> = todo.iter().map(|&s| &samples[s]).collect();
                j.record(epsilon, self.started.elapsed().as_secs_f64(), &stages, &done)?;
            }
            self.attacked_here += todo.len();
        }
        if last_radius {
            chunk.iter().for_each(|&s| self.last_radius_done[s] = true);
        }
        self.report(samples);
        match self.session.stop_after {
            Some(n) if self.attacked_here >= n => Err(Error::StoppedAfter { attacked: self.attacked_here }),
            _ => Ok(()),
        }
    }

    /// The provenance of the run, all runs of a resumed audit together;
    /// this run spent `stage_seconds` in its attack stages.
    pub(super) fn provenance(&self, stage_seconds: &BTreeMap<String, f64>) -> Provenance {
        let duration_s = self.earlier_s + self.started.elapsed().as_secs_f64();
        let stages = sum_stage_seconds([&self.earlier_stages, stage_seconds]);
        Provenance::new(&self.session.origin, self.started_utc.clone(), duration_s, stages)
    }
}
