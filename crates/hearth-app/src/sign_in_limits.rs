//! Attempt limits kept in memory on each node: per network address (sign-in, registration) and
//! per account (password changes), each one costing a password hash. The per-account sign-in
//! meters live in the database, so they hold across nodes: see `accounts.rs` and
//! `hearth_core::sign_in_throttle`.

use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use hearth_core::UserId;
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
    /// A device that signed in to the account it signs in to now (the first bytes of its
    /// keyed hash), and the network it comes from: it waits in places of its own.
    Device([u8; 16], Option<IpAddr>),
}

impl Hasher {
    /// The hasher for a known device, by its keyed hash, coming from `address`.
    pub(crate) fn device(scope: &[u8], address: Option<IpAddr>) -> Self {
        let mut key = [0u8; 16];
        for (slot, byte) in key.iter_mut().zip(scope) {
            *slot = *byte;
        }
        Hasher::Device(key, address.map(network_of))
    }
}

/// A group of hashers that shares a cap on places in the hashing queue: the client itself,
/// and for a network the neighbourhood and the wider allocation around it, so that one party
/// holding many addresses (an IPv6 /48 has 65,536 /64s) still gets only a few places.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum HashingGroup {
    Client(Hasher),
    Neighbourhood(IpAddr),
    Allocation(IpAddr),
    /// Known devices from one allocation: someone holding many devices trusted for accounts
    /// of their own must still come from several allocations to take every device place.
    DeviceAllocation(IpAddr),
}

/// Places one client (an IPv4 address, an IPv6 /64, an account) may hold.
const PER_CLIENT: usize = 2;
/// Places one neighbourhood (IPv4 /24, IPv6 /48) may hold.
const PER_NEIGHBOURHOOD: usize = 4;
/// Places one allocation (IPv4 /16, IPv6 /32) may hold.
const PER_ALLOCATION: usize = 8;
/// Places in all, for networks and accounts.
const QUEUED: usize = 64;
/// Places kept for devices that signed in before, apart from the others: however many
/// addresses fill the places above, the owner's own devices still get a password check.
const DEVICE_QUEUED: usize = 16;
/// Device places one allocation (IPv4 /16, IPv6 /32) may hold.
const DEVICES_PER_ALLOCATION: usize = 4;

impl Hasher {
    fn groups(self) -> Vec<(HashingGroup, usize)> {
        let mut groups = vec![(HashingGroup::Client(self), PER_CLIENT)];
        if let Hasher::Device(_, Some(address)) = self {
            groups.push((
                HashingGroup::DeviceAllocation(allocation_of(address)),
                DEVICES_PER_ALLOCATION,
            ));
        }
        if let Hasher::Network(address) = self {
            groups.push((
                HashingGroup::Neighbourhood(neighbourhood_of(address)),
                PER_NEIGHBOURHOOD,
            ));
            groups.push((
                HashingGroup::Allocation(allocation_of(address)),
                PER_ALLOCATION,
            ));
        }
        groups
    }
}

/// Shares the password-hashing slots fairly: a client may hold only [`PER_CLIENT`] places
/// (requests waiting for or running a hash), its neighbourhood and allocation a few more
/// between them, and when [`QUEUED`] are taken in all, more are turned away at once (to retry
/// in a second) instead of queueing without bound. Filling the queue thus takes addresses in
/// at least eight separate allocations, and a busy client cannot starve everyone else.
#[derive(Default)]
pub(crate) struct HashingAdmission {
    held: std::sync::Mutex<Held>,
}

#[derive(Default)]
struct Held {
    total: usize,
    devices: usize,
    by_group: std::collections::HashMap<HashingGroup, usize>,
}

/// A place in the hashing queue, given back on drop.
pub(crate) struct HashingTicket<'a> {
    admission: &'a HashingAdmission,
    hasher: Hasher,
}

impl HashingAdmission {
    /// Takes a place for `hasher`; on refusal, the seconds to wait.
    pub(crate) fn admit(&self, hasher: Hasher) -> Result<HashingTicket<'_>, u64> {
        let mut held = self.held.lock().map_err(|_| 1u64)?;
        let groups = hasher.groups();
        let device = matches!(hasher, Hasher::Device(..));
        let pool_full = if device {
            held.devices >= DEVICE_QUEUED
        } else {
            held.total >= QUEUED
        };
        let full = pool_full
            || groups
                .iter()
                .any(|(group, cap)| held.by_group.get(group).copied().unwrap_or(0) >= *cap);
        if full {
            return Err(1);
        }
        if device {
            held.devices += 1;
        } else {
            held.total += 1;
        }
        for (group, _) in groups {
            *held.by_group.entry(group).or_insert(0) += 1;
        }
        Ok(HashingTicket {
            admission: self,
            hasher,
        })
    }
}

impl Drop for HashingTicket<'_> {
    fn drop(&mut self) {
        if let Ok(mut held) = self.admission.held.lock() {
            if matches!(self.hasher, Hasher::Device(..)) {
                held.devices = held.devices.saturating_sub(1);
            } else {
                held.total = held.total.saturating_sub(1);
            }
            for (group, _) in self.hasher.groups() {
                if let Some(count) = held.by_group.get_mut(&group) {
                    *count -= 1;
                    if *count == 0 {
                        held.by_group.remove(&group);
                    }
                }
            }
        }
    }
}

/// The network an address stands for. IPv4 clients of a dual-stack listener arrive as
/// IPv4-mapped IPv6 addresses (`::ffff:a.b.c.d`); they are taken back to IPv4 first, else
/// every IPv4 client would fall into one IPv6 /64. IPv6 addresses count by their /64, which
/// one subscriber usually holds whole.
pub(crate) fn network_of(address: IpAddr) -> IpAddr {
    prefix(address, 32, 64)
}

/// The neighbourhood around an address: its IPv4 /24 or IPv6 /48 (commonly one site's).
pub(crate) fn neighbourhood_of(address: IpAddr) -> IpAddr {
    prefix(address, 24, 48)
}

/// The allocation around an address: its IPv4 /16 or IPv6 /32 (commonly one provider's).
fn allocation_of(address: IpAddr) -> IpAddr {
    prefix(address, 16, 32)
}

/// The first `v4_bits` (IPv4) or `v6_bits` (IPv6) of `address`, the rest zero.
fn prefix(address: IpAddr, v4_bits: u32, v6_bits: u32) -> IpAddr {
    match address.to_canonical() {
        IpAddr::V4(v4) => {
            let mask = u32::MAX.checked_shl(32 - v4_bits).unwrap_or(0);
            IpAddr::V4((u32::from(v4) & mask).into())
        }
        IpAddr::V6(v6) => {
            let mask = u128::MAX.checked_shl(128 - v6_bits).unwrap_or(0);
            IpAddr::V6((u128::from(v6) & mask).into())
        }
    }
}

/// The bytes a keyed hash of a network is taken over: the prefix's address, or nothing for
/// no address (the command line).
pub(crate) fn address_bytes(address: Option<IpAddr>) -> Vec<u8> {
    match address {
        Some(IpAddr::V4(v4)) => v4.octets().to_vec(),
        Some(IpAddr::V6(v6)) => v6.octets().to_vec(),
        None => Vec::new(),
    }
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
        assert_eq!(neighbourhood_of(ip("::ffff:192.0.2.1")), ip("192.0.2.0"));
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
    fn many_networks_of_one_allocation_share_a_few_places() {
        let admission = HashingAdmission::default();
        // Every /64 of one /48 is a client of its own, but the /48 holds four places.
        let in_one_48: Vec<_> = (0..10)
            .map(|i| admission.admit(Hasher::Network(ip(&format!("2001:db8:1:{i}::1")))))
            .collect();
        assert_eq!(in_one_48.iter().filter(|t| t.is_ok()).count(), 4);
        // And every /48 of one /32 together hold eight.
        let in_one_32: Vec<_> = (10..30)
            .map(|i| admission.admit(Hasher::Network(ip(&format!("2001:db8:{i}::1")))))
            .collect();
        assert_eq!(in_one_32.iter().filter(|t| t.is_ok()).count(), 4);
        // Someone elsewhere still gets in; IPv4 /24s and /16s work the same way.
        assert!(admission.admit(Hasher::Network(ip("2001:db9::1"))).is_ok());
        let v4: Vec<_> = (1..10)
            .map(|i| admission.admit(Hasher::Network(ip(&format!("198.51.100.{i}")))))
            .collect();
        assert_eq!(v4.iter().filter(|t| t.is_ok()).count(), 4);
        drop(in_one_48);
        assert!(
            admission
                .admit(Hasher::Network(ip("2001:db8:1:77::1")))
                .is_ok()
        );
    }

    #[test]
    fn addresses_in_many_allocations_cannot_keep_a_known_device_from_its_check() {
        let admission = HashingAdmission::default();
        // Two /48s in each of eight /32s (eight hosting providers), a few /64s in each: they
        // take every place networks may hold.
        let mut held = Vec::new();
        for provider in 0..8 {
            for site in 0..2 {
                for net in 0..4 {
                    let address = ip(&format!("2001:{:x}:{site}:{net}::1", 0x100 + provider));
                    if let Ok(ticket) = admission.admit(Hasher::Network(network_of(address))) {
                        held.push(ticket);
                    }
                }
            }
        }
        assert_eq!(held.len(), QUEUED);
        assert!(
            admission
                .admit(Hasher::Network(ip("198.51.100.1")))
                .is_err()
        );
        // The owner's known device still gets in; a device holds two places at most.
        let device = Hasher::device(&[7; 32], Some(ip("198.51.100.7")));
        let first = admission.admit(device);
        let second = admission.admit(device);
        assert!(first.is_ok() && second.is_ok());
        assert!(admission.admit(device).is_err());
        // Devices from one allocation hold four places at most.
        let more: Vec<_> = (0..8u8)
            .map(|i| admission.admit(Hasher::device(&[i; 32], Some(ip("198.51.7.7")))))
            .collect();
        assert_eq!(more.iter().filter(|t| t.is_ok()).count(), 2);
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
