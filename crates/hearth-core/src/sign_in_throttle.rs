//! Sign-in throttling: how many password guesses an account takes, and from where.
//!
//! A lock that shuts the door on an account after a few failures is a weapon: anyone who knows
//! a username keeps its owner out. Hearth instead meters attempts per *account and network*:
//! guesses from one network use up that network's budget for that account only, after which
//! each further attempt waits a delay that doubles, while the owner signing in from their own
//! network is untouched. A second, larger budget per account meters attempts from networks the
//! account has never signed in from, so many networks together cannot guess quickly either;
//! networks where the account signed in before are exempt from it.
//!
//! Every attempt is counted *before* its password is checked, in one atomic step, so parallel
//! guesses cannot slip past the budget while the hashes run.

use crate::Timestamp;

/// One meter's state, as stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Meter {
    /// Attempts counted in the current window (successes reset it).
    pub failures: i64,
    /// No attempt is admitted before this instant (milliseconds).
    pub blocked_until: i64,
    /// A sign-in succeeded from here; the account-wide budget does not apply until then.
    pub trusted_until: i64,
    /// The last attempt.
    pub updated_at: i64,
}

/// The rules of one meter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThrottlePolicy {
    /// Attempts admitted without delay within a window.
    pub budget: i64,
    /// The longest delay between attempts once the budget is spent, in milliseconds.
    pub max_delay_ms: i64,
    /// Counted attempts are forgotten after this long without one, in milliseconds.
    pub window_ms: i64,
}

/// How long a device that signed in to an account stays known to it (each sign-in renews it),
/// in days: its attempts are then metered apart from strangers' guesses.
pub const KNOWN_DEVICE_DAYS: u32 = 180;

/// The first delay once a budget is spent; it doubles with each further attempt.
const FIRST_DELAY_MS: i64 = 1_000;

impl ThrottlePolicy {
    /// The per-network policy: `budget` attempts, then delays doubling from 1 s to 15 min.
    pub fn per_network(budget: i64) -> Self {
        Self {
            budget: budget.max(1),
            max_delay_ms: 15 * 60 * 1000,
            window_ms: 60 * 60 * 1000,
        }
    }

    /// The account-wide policy for networks the account has not signed in from: ten times
    /// the per-network budget.
    pub fn account_wide(per_network_budget: i64) -> Self {
        Self {
            budget: per_network_budget.max(1).saturating_mul(10),
            ..Self::per_network(per_network_budget)
        }
    }

    /// Decides on one attempt at `now`: the meter's new state if it is admitted (the attempt
    /// is counted, and if it spends the budget the next one is delayed), or `None` if it is
    /// refused.
    pub fn admit(&self, meter: Option<Meter>, now: Timestamp) -> Option<Meter> {
        let now = now.millis();
        let meter = meter.unwrap_or(Meter {
            failures: 0,
            blocked_until: 0,
            trusted_until: 0,
            updated_at: now,
        });
        if meter.blocked_until > now {
            return None;
        }
        let stale = now.saturating_sub(meter.updated_at) > self.window_ms;
        let failures = if stale { 0 } else { meter.failures } + 1;
        let over = failures - self.budget;
        let blocked_until = if over > 0 {
            now + (FIRST_DELAY_MS << (over - 1).min(20)).min(self.max_delay_ms)
        } else {
            0
        };
        Some(Meter {
            failures,
            blocked_until,
            trusted_until: meter.trusted_until,
            updated_at: now,
        })
    }

    /// The meter after a successful sign-in: nothing counted, and the network trusted until
    /// `trusted_until`.
    pub fn succeeded(now: Timestamp, trusted_until: Timestamp) -> Meter {
        Meter {
            failures: 0,
            blocked_until: 0,
            trusted_until: trusted_until.millis(),
            updated_at: now.millis(),
        }
    }
}

impl Meter {
    /// Whether a sign-in succeeded from this meter's network recently enough to skip the
    /// account-wide budget.
    pub fn trusted(&self, now: Timestamp) -> bool {
        self.trusted_until > now.millis()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(policy: &ThrottlePolicy, meter: &mut Option<Meter>, at: i64) -> bool {
        match policy.admit(*meter, Timestamp(at)) {
            Some(next) => {
                *meter = Some(next);
                true
            }
            None => false,
        }
    }

    #[test]
    fn the_budget_is_admitted_then_delays_double() {
        let policy = ThrottlePolicy::per_network(3);
        let mut meter = None;
        let t0 = 1_000_000;
        assert!(run(&policy, &mut meter, t0));
        assert!(run(&policy, &mut meter, t0));
        assert!(run(&policy, &mut meter, t0));
        // The fourth attempt is admitted but spends the budget: the next waits 1 s.
        assert!(run(&policy, &mut meter, t0));
        assert!(!run(&policy, &mut meter, t0 + 999));
        assert!(run(&policy, &mut meter, t0 + 1_000));
        // Then 2 s.
        assert!(!run(&policy, &mut meter, t0 + 2_999));
        assert!(run(&policy, &mut meter, t0 + 3_000));
        assert_eq!(meter.map(|m| m.blocked_until), Some(t0 + 3_000 + 4_000));
    }

    #[test]
    fn parallel_attempts_beyond_the_budget_are_refused_until_the_delay_passes() {
        // Counting happens before the password is checked: with the budget spent, of several
        // attempts at the same instant only one is admitted.
        let policy = ThrottlePolicy::per_network(2);
        let mut meter = None;
        let admitted = (0..10).filter(|_| run(&policy, &mut meter, 5_000)).count();
        assert_eq!(admitted, 3);
    }

    #[test]
    fn delays_stop_growing_at_fifteen_minutes() {
        let policy = ThrottlePolicy::per_network(1);
        let mut meter = None;
        let mut at = 0;
        for _ in 0..40 {
            assert!(run(&policy, &mut meter, at));
            at = meter.map_or(at, |m| m.blocked_until.max(at));
        }
        let delay = meter.map_or(0, |m| m.blocked_until - m.updated_at);
        assert_eq!(delay, 15 * 60 * 1000);
    }

    #[test]
    fn a_quiet_hour_forgets_the_count_and_success_resets_it() {
        let policy = ThrottlePolicy::per_network(2);
        let mut meter = None;
        for _ in 0..3 {
            run(&policy, &mut meter, 0);
        }
        assert_eq!(meter.map(|m| m.failures), Some(3));
        assert!(run(&policy, &mut meter, 2 * 60 * 60 * 1000));
        assert_eq!(meter.map(|m| m.failures), Some(1));
        let reset = ThrottlePolicy::succeeded(Timestamp(10), Timestamp(100));
        assert_eq!(reset.failures, 0);
        assert!(reset.trusted(Timestamp(99)));
        assert!(!reset.trusted(Timestamp(100)));
    }

    #[test]
    fn the_account_wide_budget_is_ten_times_larger() {
        assert_eq!(ThrottlePolicy::account_wide(5).budget, 50);
    }
}
