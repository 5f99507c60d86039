//! Typed identifiers. A mixed-up id is a data leak, so every table key has its own type.

use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

/// Reads an id from a decimal string or a JSON integer.
struct IdVisitor;

impl Visitor<'_> for IdVisitor {
    type Value = i64;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an id (a decimal string or an integer)")
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<i64, E> {
        Ok(v)
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<i64, E> {
        i64::try_from(v).map_err(|_| E::custom("id out of range"))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<i64, E> {
        v.parse()
            .map_err(|_| E::custom("id must be a decimal number"))
    }
}

macro_rules! typed_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        ///
        /// On the wire it is a decimal string, since ids exceed the integers JavaScript
        /// represents exactly; a JSON number is accepted too.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, utoipa::ToSchema)]
        #[schema(value_type = String, example = "251086928403759104")]
        pub struct $name(pub i64);

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.collect_str(&self.0)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                deserializer.deserialize_any(IdVisitor).map(Self)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl From<i64> for $name {
            fn from(value: i64) -> Self {
                Self(value)
            }
        }
    };
}

typed_id!(
    /// A registered account.
    UserId
);
typed_id!(
    /// A community: the business that answers for its members' data.
    CommunityId
);
typed_id!(
    /// A channel in a community, or a direct conversation.
    ChannelId
);
typed_id!(
    /// A message in a channel, thread or direct conversation.
    MessageId
);
typed_id!(
    /// A personal API token.
    TokenId
);
typed_id!(
    /// An invitation link to a community.
    InviteId
);
typed_id!(
    /// An uploaded file.
    UploadId
);
typed_id!(
    /// A custom profile field a community asks its members to fill in.
    ProfileFieldId
);

/// Makes time-ordered, unique 63-bit ids without a database round trip: 41 bits of
/// milliseconds since 2025-01-01, 10 bits of node number and 12 bits of sequence. Ids grow with
/// time on each node, so a message id doubles as its history cursor.
#[derive(Debug, Clone)]
pub struct IdGenerator {
    node: i64,
    last_ms: i64,
    seq: i64,
}

/// 2025-01-01T00:00:00Z in Unix milliseconds: the zero of Hearth ids.
const ID_EPOCH_MS: i64 = 1_735_689_600_000;

impl IdGenerator {
    /// A generator for node `node` (only its low 10 bits count).
    pub fn new(node: u16) -> Self {
        Self {
            node: i64::from(node & 0x3ff),
            last_ms: 0,
            seq: 0,
        }
    }

    /// The next id at wall-clock time `now_ms`. If the clock steps back or the sequence of a
    /// millisecond runs out, the generator borrows from the next millisecond instead of
    /// repeating itself.
    pub fn next(&mut self, now_ms: i64) -> i64 {
        let ms = (now_ms - ID_EPOCH_MS).max(0);
        if ms > self.last_ms {
            self.last_ms = ms;
            self.seq = 0;
        } else {
            self.seq += 1;
            if self.seq > 0xfff {
                self.last_ms += 1;
                self.seq = 0;
            }
        }
        (self.last_ms << 22) | (self.node << 12) | self.seq
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_grow_even_when_the_clock_stands_still_or_steps_back() {
        let mut ids = IdGenerator::new(3);
        let now = ID_EPOCH_MS + 1_000;
        let mut last = 0;
        for i in 0..10_000 {
            let id = ids.next(if i % 7 == 0 { now - 5 } else { now });
            assert!(id > last);
            last = id;
        }
    }

    #[test]
    fn nodes_never_collide() {
        let now = ID_EPOCH_MS + 42;
        assert_ne!(IdGenerator::new(1).next(now), IdGenerator::new(2).next(now));
    }
}
