//! The sealing seam: every piece of personal free text (message bodies now, profile values
//! later) is written through [`Sealer::seal`] and read through [`Sealer::open`]. Per-person
//! encryption replaces the sealer and changes nothing else.

use crate::StoreError;
use hearth_core::UserId;

/// Turns a person's free text into stored bytes and back.
/// The owner text is sealed for once it outlives its author: a message kept under "Deleted
/// user" or under a legal hold. It is no person, so destroying a person's key never reaches
/// it.
pub const NO_ONE: UserId = UserId(0);

pub trait Sealer: Send + Sync + std::fmt::Debug {
    /// Seals `plain`, which belongs to `owner`.
    fn seal(&self, owner: UserId, plain: &str) -> Vec<u8>;
    /// Opens bytes that [`Sealer::seal`] produced for `owner`.
    fn open(&self, owner: UserId, sealed: &[u8]) -> Result<String, StoreError>;
}

/// Format byte of a value stored without encryption.
const PLAIN_V0: u8 = 0;

/// Stores text as UTF-8 behind a format byte. The format byte lets a later encrypting sealer
/// tell old plain values from its own.
#[derive(Debug, Default, Clone, Copy)]
pub struct PlainSealer;

impl Sealer for PlainSealer {
    fn seal(&self, _owner: UserId, plain: &str) -> Vec<u8> {
        let mut out = Vec::with_capacity(plain.len() + 1);
        out.push(PLAIN_V0);
        out.extend_from_slice(plain.as_bytes());
        out
    }

    fn open(&self, _owner: UserId, sealed: &[u8]) -> Result<String, StoreError> {
        match sealed.split_first() {
            Some((&PLAIN_V0, text)) => String::from_utf8(text.to_vec())
                .map_err(|_| StoreError::Corrupt("sealed text is not UTF-8".into())),
            Some((format, _)) => Err(StoreError::Corrupt(format!(
                "unknown sealed format {format}"
            ))),
            None => Err(StoreError::Corrupt("empty sealed value".into())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_values_round_trip_and_unknown_formats_are_refused() {
        let sealer = PlainSealer;
        let sealed = sealer.seal(UserId(1), "héllo");
        assert_eq!(
            sealer.open(UserId(1), &sealed).ok().as_deref(),
            Some("héllo")
        );
        assert!(sealer.open(UserId(1), &[9, b'x']).is_err());
        assert!(sealer.open(UserId(1), &[]).is_err());
    }
}
