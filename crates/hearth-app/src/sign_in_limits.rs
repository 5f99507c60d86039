//! Sign-in throttling per network address, in memory on each node. (The per-account limit
//! lives in the database, so it holds across nodes: see `accounts.rs`.)

use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use std::net::IpAddr;
use std::num::NonZeroU32;

/// Allows each address a burst of attempts that refills over a minute.
pub(crate) struct AddressLimiter {
    limiter: DefaultKeyedRateLimiter<IpAddr>,
}

impl AddressLimiter {
    pub(crate) fn new(per_minute: u32) -> Self {
        let per_minute = NonZeroU32::new(per_minute.max(1)).unwrap_or(NonZeroU32::MIN);
        Self {
            limiter: RateLimiter::keyed(Quota::per_minute(per_minute)),
        }
    }

    /// Takes one attempt for `address`; on refusal, the seconds to wait. IPv6 addresses count
    /// by their /64 network, which one subscriber usually holds whole.
    pub(crate) fn check(&self, address: IpAddr) -> Result<(), u64> {
        let key = match address {
            IpAddr::V4(_) => address,
            IpAddr::V6(v6) => {
                let network = u128::from(v6) & !((1u128 << 64) - 1);
                IpAddr::V6(network.into())
            }
        };
        self.limiter.check_key(&key).map_err(|not_until| {
            let wait = not_until.wait_time_from(governor::clock::Clock::now(
                &governor::clock::DefaultClock::default(),
            ));
            wait.as_secs().max(1)
        })?;
        // Forget idle addresses now and then so the table does not grow without bound.
        if self.limiter.len() > 10_000 {
            self.limiter.retain_recent();
        }
        Ok(())
    }
}
