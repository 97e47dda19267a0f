//! What an audit tells its watcher while it runs: how many samples are
//! finished (their result final) of the total, and how many of those are
//! robust.

use super::SampleResult;

/// The audit's state after its clean pass and after each batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AuditStatus {
    /// Samples whose result is final: skipped, flipped, or attacked at
    /// the last radius.
    pub finished: usize,
    /// The samples of this shard.
    pub total: usize,
    /// Finished samples classified correctly and not flipped.
    pub robust: usize,
    /// Attacks this run made (not replayed from a partial file), at any
    /// radius: the work a rate, and so an ETA, divides by.
    pub attacked_by_this_run: usize,
}

impl AuditStatus {
    /// The status of `samples`, of which those marked in `last_radius_done`
    /// have been attacked at the last radius.
    pub fn of(samples: &[SampleResult], last_radius_done: &[bool], attacked_by_this_run: usize) -> AuditStatus {
        let finished: Vec<&SampleResult> = samples
            .iter()
            .zip(last_radius_done)
            .filter(|(s, &done)| s.skip_reason.is_some() || s.success || done)
            .map(|(s, _)| s)
            .collect();
        AuditStatus {
            finished: finished.len(),
            total: samples.len(),
            robust: finished.iter().filter(|s| s.robust()).count(),
            attacked_by_this_run,
        }
    }
}

/// Receives the audit's status (a progress bar, a periodic log line).
pub trait AuditProgress {
    fn status(&mut self, status: &AuditStatus);
}

/// Tells nobody.
pub struct Unwatched;

impl AuditProgress for Unwatched {
    fn status(&mut self, _: &AuditStatus) {}
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::SKIP_MISCLASSIFIED;

    #[test]
    fn skipped_flipped_and_last_radius_samples_are_finished() {
        let mut s: Vec<SampleResult> = (0..4).map(|i| SampleResult::unattacked(i, 1, 1, None)).collect();
        s[0] = SampleResult::unattacked(0, 1, 2, Some(SKIP_MISCLASSIFIED));
        (s[1].attacked, s[1].success) = (true, true);
        s[2].attacked = true;
        let status = AuditStatus::of(&s, &[false, false, true, false], 0);
        assert_eq!(status, AuditStatus { finished: 3, total: 4, robust: 1, attacked_by_this_run: 0 });
    }
}
