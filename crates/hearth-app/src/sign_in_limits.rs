//! Attempt limits kept in memory on each node: per network address (sign-in, registration) and
//! per account (password changes), each one costing a password hash. The per-account sign-in
//! meters live in the database, so they hold across nodes: see `accounts.rs` and
//! `hearth_core::sign_in_throttle`.

use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use hearth_core::UserId;
use sha2::{Digest, Sha256};
use std::hash::Hash;
use std::net::IpAddr;
use std::num::NonZeroU32;

/// Allows each key a burst of attempts that refills over a minute.
pub(crate) struct KeyedLimiter<K: Hash + Eq + Clone> {
    limiter: DefaultKeyedRateLimiter<K>,
}

impl<K: Hash + Eq + Clone> KeyedLimiter<K> {
    pub(crate) fn per_minute(per_minute: u32) -> Self {
        let per_minute = NonZeroU32::new(per_minute.max(1)).unwrap_or(NonZeroU32::MIN);
        Self {
            limiter: RateLimiter::keyed(Quota::per_minute(per_minute)),
        }
    }

    /// Takes one attempt for `key`; on refusal, the seconds to wait.
    pub(crate) fn check(&self, key: &K) -> Result<(), u64> {
        self.limiter.check_key(key).map_err(|not_until| {
            let wait = not_until.wait_time_from(governor::clock::Clock::now(
                &governor::clock::DefaultClock::default(),
            ));
            wait.as_secs().max(1)
        })?;
        // Forget idle keys now and then so the table does not grow without bound.
        if self.limiter.len() > 10_000 {
            self.limiter.retain_recent();
        }
        Ok(())
    }
}

/// The per-address limiter: keys are networks, see [`network_of`].
pub(crate) type AddressLimiter = KeyedLimiter<IpAddr>;
/// The per-account limiter for password changes.
pub(crate) type AccountLimiter = KeyedLimiter<UserId>;

/// Who is waiting for a password hash: a network (sign-in, registration) or an account
/// (password change).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Hasher {
    Network(IpAddr),
    Account(UserId),
}

/// Shares the password-hashing slots fairly: one client may have only
/// [`PER_CLIENT`] requests waiting for or running a hash, and when [`QUEUED`] are waiting in
/// all, more are turned away at once (to retry in a second) instead of queueing without
/// bound. A busy client thus cannot starve everyone else's sign-ins.
#[derive(Default)]
pub(crate) struct HashingAdmission {
    waiting: std::sync::Mutex<std::collections::HashMap<Hasher, usize>>,
}

const PER_CLIENT: usize = 2;
const QUEUED: usize = 64;

/// A place in the hashing queue, given back on drop.
pub(crate) struct HashingTicket<'a> {
    admission: &'a HashingAdmission,
    hasher: Hasher,
}

impl HashingAdmission {
    /// Takes a place for `hasher`; on refusal, the seconds to wait.
    pub(crate) fn admit(&self, hasher: Hasher) -> Result<HashingTicket<'_>, u64> {
        let mut waiting = self.waiting.lock().map_err(|_| 1u64)?;
        let total: usize = waiting.values().sum();
        let mine = waiting.get(&hasher).copied().unwrap_or(0);
        if mine >= PER_CLIENT || total >= QUEUED {
            return Err(1);
        }
        waiting.insert(hasher, mine + 1);
        Ok(HashingTicket {
            admission: self,
            hasher,
        })
    }
}

impl Drop for HashingTicket<'_> {
    fn drop(&mut self) {
        if let Ok(mut waiting) = self.admission.waiting.lock()
            && let Some(count) = waiting.get_mut(&self.hasher)
        {
            *count -= 1;
            if *count == 0 {
                waiting.remove(&self.hasher);
            }
        }
    }
}

/// The network an address stands for. IPv4 clients of a dual-stack listener arrive as
/// IPv4-mapped IPv6 addresses (`::ffff:a.b.c.d`); they are taken back to IPv4 first, else
/// every IPv4 client would fall into one IPv6 /64. IPv6 addresses count by their /64, which
/// one subscriber usually holds whole.
pub(crate) fn network_of(address: IpAddr) -> IpAddr {
    match address.to_canonical() {
        IpAddr::V4(v4) => IpAddr::V4(v4),
        IpAddr::V6(v6) => {
            let network = u128::from(v6) & !((1u128 << 64) - 1);
            IpAddr::V6(network.into())
        }
    }
}

/// The key a sign-in meter stores for a client's network: a hash, never the address. Without
/// an address (the command line), one shared key.
pub(crate) fn network_key(address: Option<IpAddr>) -> Vec<u8> {
    let mut digest = Sha256::new();
    digest.update(b"hearth sign-in network\0");
    match address.map(network_of) {
        Some(IpAddr::V4(v4)) => digest.update(v4.octets()),
        Some(IpAddr::V6(v6)) => digest.update(v6.octets()),
        None => digest.update(b"none"),
    }
    digest.finalize().to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap_or(IpAddr::from([0, 0, 0, 0]))
    }

    #[test]
    fn mapped_ipv4_clients_are_told_apart() {
        assert_eq!(network_of(ip("::ffff:192.0.2.1")), ip("192.0.2.1"));
        assert_ne!(
            network_of(ip("::ffff:192.0.2.1")),
            network_of(ip("::ffff:198.51.100.7"))
        );
        assert_eq!(
            network_key(Some(ip("::ffff:192.0.2.1"))),
            network_key(Some(ip("192.0.2.1")))
        );
    }

    #[test]
    fn ipv6_counts_by_its_64() {
        assert_eq!(
            network_of(ip("2001:db8:1:2:aaaa::1")),
            network_of(ip("2001:db8:1:2:bbbb::9"))
        );
        assert_ne!(
            network_of(ip("2001:db8:1:2::1")),
            network_of(ip("2001:db8:1:3::1"))
        );
    }

    #[test]
    fn one_client_holds_at_most_two_places_in_the_hashing_queue() {
        let admission = HashingAdmission::default();
        let busy = Hasher::Network(ip("192.0.2.1"));
        let other = Hasher::Network(ip("192.0.2.2"));
        let first = admission.admit(busy);
        let second = admission.admit(busy);
        assert!(first.is_ok() && second.is_ok());
        assert!(admission.admit(busy).is_err());
        assert!(admission.admit(other).is_ok());
        drop(first);
        assert!(admission.admit(busy).is_ok());
    }

    #[test]
    fn the_queue_as_a_whole_is_bounded() {
        let admission = HashingAdmission::default();
        let tickets: Vec<_> = (0..QUEUED as u32)
            .map(|i| admission.admit(Hasher::Account(UserId(i64::from(i)))))
            .collect();
        assert!(tickets.iter().all(Result::is_ok));
        assert!(admission.admit(Hasher::Account(UserId(-1))).is_err());
    }

    #[test]
    fn each_mapped_client_has_its_own_budget() {
        let limiter = AddressLimiter::per_minute(2);
        let a = network_of(ip("::ffff:192.0.2.1"));
        let b = network_of(ip("::ffff:192.0.2.2"));
        assert!(limiter.check(&a).is_ok());
        assert!(limiter.check(&a).is_ok());
        assert!(limiter.check(&a).is_err());
        assert!(limiter.check(&b).is_ok());
    }
}
