//! Background jobs: their states, how long a failed one waits before it runs again, and when a
//! periodic one is next due. The table, the lease and the runner live in the store and the
//! app; this is the arithmetic, kept pure so that it is tested alone.

use crate::timestamp::Timestamp;

/// Where a job stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum JobState {
    /// Waiting for its time, or for a node to take it.
    Queued,
    /// Taken by a node, which holds it until its lease ends.
    Running,
    /// Finished.
    Done,
    /// Failed every attempt it was allowed: it waits for an operator (`hearth jobs retry`).
    Failed,
    /// Cancelled by an operator before it finished.
    Cancelled,
}

impl JobState {
    /// Every state, in the order lists show them.
    pub const ALL: &'static [JobState] = &[
        JobState::Queued,
        JobState::Running,
        JobState::Done,
        JobState::Failed,
        JobState::Cancelled,
    ];

    /// The stored spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            JobState::Queued => "queued",
            JobState::Running => "running",
            JobState::Done => "done",
            JobState::Failed => "failed",
            JobState::Cancelled => "cancelled",
        }
    }

    /// Parses the stored spelling.
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|s| s.as_str() == text)
    }
}

/// The first wait after a failure; each further failure doubles it.
const FIRST_RETRY_SECS: i64 = 30;
/// The longest wait between two attempts.
const MAX_RETRY_SECS: i64 = 3600;

/// How long to wait before attempt `attempts + 1`, after `attempts` failed ones: 30 s, 1 min,
/// 2 min, ... up to an hour.
pub fn retry_delay_secs(attempts: i64) -> i64 {
    let doublings = attempts.clamp(1, 30) - 1;
    FIRST_RETRY_SECS
        .saturating_mul(1_i64 << doublings)
        .min(MAX_RETRY_SECS)
}

/// When a periodic job that was due at `due` runs next: the first of `due + every`,
/// `due + 2 * every`, ... after `now`. Runs missed while no node was up are not made up for.
pub fn next_run(due: Timestamp, every_ms: i64, now: Timestamp) -> Timestamp {
    let every = every_ms.max(1);
    let behind = (now.0 - due.0).max(0);
    Timestamp(due.0 + (behind / every + 1) * every)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_wait_longer_each_time_up_to_an_hour() {
        assert_eq!(retry_delay_secs(1), 30);
        assert_eq!(retry_delay_secs(2), 60);
        assert_eq!(retry_delay_secs(3), 120);
        assert_eq!(retry_delay_secs(20), 3600);
        assert_eq!(retry_delay_secs(i64::MAX), 3600);
    }

    #[test]
    fn a_periodic_job_keeps_its_rhythm_and_skips_what_was_missed() {
        let hour = 3_600_000;
        assert_eq!(next_run(Timestamp(0), hour, Timestamp(10)), Timestamp(hour));
        // Run late, it is next due on its rhythm, not an hour after it ran.
        assert_eq!(
            next_run(Timestamp(0), hour, Timestamp(hour + 5)),
            Timestamp(2 * hour)
        );
        // Down for a day, it runs once, not 24 times.
        assert_eq!(
            next_run(Timestamp(0), hour, Timestamp(24 * hour)),
            Timestamp(25 * hour)
        );
    }

    #[test]
    fn states_round_trip() {
        for state in JobState::ALL {
            assert_eq!(JobState::parse(state.as_str()), Some(*state));
        }
        assert_eq!(JobState::parse("lost"), None);
    }
}
