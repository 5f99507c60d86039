//! Instants stored as milliseconds since the Unix epoch: the same BIGINT on every backend, and
//! RFC 3339 on the wire.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// A UTC instant with millisecond precision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, utoipa::ToSchema)]
#[schema(value_type = String, format = DateTime)]
pub struct Timestamp(pub i64);

impl Timestamp {
    /// The wall clock now. The one place the domain reads the clock.
    pub fn now() -> Self {
        Self::from_datetime(OffsetDateTime::now_utc())
    }

    /// Builds a timestamp from a wall-clock reading.
    pub fn from_datetime(at: OffsetDateTime) -> Self {
        Self((at.unix_timestamp_nanos() / 1_000_000) as i64)
    }

    /// Milliseconds since the Unix epoch.
    pub fn millis(self) -> i64 {
        self.0
    }

    /// This instant plus a number of seconds.
    pub fn plus_seconds(self, seconds: i64) -> Self {
        Self(self.0.saturating_add(seconds.saturating_mul(1000)))
    }

    /// The same time of day `months` calendar months earlier, on the same day of the month or,
    /// when that month is shorter, its last day. Before anything `time` represents, the
    /// earliest instant.
    pub fn minus_months(self, months: u32) -> Self {
        let at = self.to_datetime();
        let index =
            i64::from(at.year()) * 12 + i64::from(u8::from(at.month())) - 1 - i64::from(months);
        let earlier = i32::try_from(index.div_euclid(12)).ok().and_then(|year| {
            let month = u8::try_from(index.rem_euclid(12) + 1).ok()?;
            let month = time::Month::try_from(month).ok()?;
            let day = at.day().min(month.length(year));
            at.replace_day(1)
                .and_then(|a| a.replace_year(year))
                .and_then(|a| a.replace_month(month))
                .and_then(|a| a.replace_day(day))
                .ok()
        });
        earlier.map_or(Self(i64::MIN), Self::from_datetime)
    }

    /// The instant as a date-time, clamped to what `time` can represent.
    pub fn to_datetime(self) -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp_nanos(i128::from(self.0) * 1_000_000)
            .unwrap_or(OffsetDateTime::UNIX_EPOCH)
    }
}

impl Timestamp {
    /// The instant in RFC 3339 (UTC), as the API and the pages' `<time>` elements write it.
    pub fn to_rfc3339(self) -> String {
        self.to_datetime().format(&Rfc3339).unwrap_or_default()
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let text = self
            .to_datetime()
            .format(&Rfc3339)
            .map_err(serde::ser::Error::custom)?;
        serializer.serialize_str(&text)
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        let at = OffsetDateTime::parse(&text, &Rfc3339).map_err(serde::de::Error::custom)?;
        Ok(Self::from_datetime(at))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_millisecond_precision_through_a_date_time() {
        let at = Timestamp(1_764_000_000_123);
        assert_eq!(Timestamp::from_datetime(at.to_datetime()), at);
    }

    #[test]
    fn months_back_are_calendar_months_clamped_to_the_shorter_month() {
        let at = |text: &str| {
            OffsetDateTime::parse(text, &Rfc3339).map_or(Timestamp(0), Timestamp::from_datetime)
        };
        assert_eq!(
            at("2026-11-27T03:15:00.250Z").minus_months(24),
            at("2024-11-27T03:15:00.250Z")
        );
        assert_eq!(
            at("2026-03-31T12:00:00Z").minus_months(1),
            at("2026-02-28T12:00:00Z")
        );
        assert_eq!(
            at("2026-01-15T00:00:00Z").minus_months(13),
            at("2024-12-15T00:00:00Z")
        );
    }

    #[test]
    fn formats_as_rfc3339_in_utc() {
        let text = Timestamp(0)
            .to_datetime()
            .format(&Rfc3339)
            .unwrap_or_default();
        assert_eq!(text, "1970-01-01T00:00:00Z");
    }
}
