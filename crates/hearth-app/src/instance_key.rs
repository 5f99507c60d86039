//! The instance's master key: a 256-bit secret kept beside the database, never in it, from
//! which Hearth derives its keyed hashes (and, with the erasure work, wraps per-person keys).
//!
//! A plain hash of a network address or a login can be reversed by trying every candidate, so
//! whatever Hearth stores to recognise one is a keyed hash (HMAC-SHA-256) under this key: a
//! copy of the database alone does not say which networks or logins it counted. Every node on
//! one database must hold the same key; the database keeps a check value so that a node with
//! another key refuses to start instead of silently counting apart.

use crate::AppError;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

/// The master key. Its `Debug` output never shows the key.
#[derive(Clone)]
pub struct InstanceKey([u8; 32]);

impl std::fmt::Debug for InstanceKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("InstanceKey(..)")
    }
}

/// What a keyed hash stands for; each purpose hashes apart from the others, so a value made
/// for one can never be confused with, or replayed as, another.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum KeyedPurpose {
    /// The check value the database keeps.
    KeyCheck,
    /// An account, as the subject of sign-in meters.
    SignInAccount,
    /// A login that names no account, as the subject of sign-in meters.
    SignInLogin,
    /// A client's network (an IPv4 address, an IPv6 /64).
    SignInNetwork,
    /// The wider network around it (an IPv4 /24, an IPv6 /48).
    SignInNeighbourhood,
    /// A device that signed in before (its device secret).
    SignInDevice,
    /// A post's channel, thread and text, to recognise a retried post.
    PostRequest,
    /// A mailed account link's id, giving the secret the link carries.
    AccountLink,
    /// A parent's consent's id, giving the secret of the link that withdraws it.
    ParentalWithdrawal,
    /// A mail job's id, giving the mail's Message-ID.
    MessageId,
    /// The key stream that encrypts a person's TOTP seed (with its nonce).
    TwoFactorSeed,
    /// A person's recovery code, as stored.
    RecoveryCode,
    /// A checked password waiting for its second factor.
    SignInChallenge,
    /// The state of a sign-in with an identity provider, kept in the browser meanwhile.
    OidcState,
    /// The key stream that encrypts a webhook's signing key (with its nonce).
    WebhookSecret,
    /// A request from the public form's id and holder, giving the secret its link carries.
    RequestPass,
    /// An erased person's identifier, as the suppression list keeps it.
    ErasedIdentifier,
}

impl KeyedPurpose {
    fn label(self) -> &'static [u8] {
        match self {
            Self::KeyCheck => b"hearth key check",
            Self::SignInAccount => b"hearth sign-in account",
            Self::SignInLogin => b"hearth sign-in login",
            Self::SignInNetwork => b"hearth sign-in network",
            Self::SignInNeighbourhood => b"hearth sign-in neighbourhood",
            Self::SignInDevice => b"hearth sign-in device",
            Self::PostRequest => b"hearth post request",
            Self::AccountLink => b"hearth account link",
            Self::ParentalWithdrawal => b"hearth parental withdrawal",
            Self::MessageId => b"hearth message id",
            Self::TwoFactorSeed => b"hearth two-factor seed",
            Self::RecoveryCode => b"hearth recovery code",
            Self::SignInChallenge => b"hearth sign-in challenge",
            Self::OidcState => b"hearth oidc state",
            Self::WebhookSecret => b"hearth webhook secret",
            Self::RequestPass => b"hearth request pass",
            Self::ErasedIdentifier => b"hearth erased identifier",
        }
    }
}

/// Why a key file's text is not a key.
#[derive(Debug, thiserror::Error)]
#[error("a master key is 64 hexadecimal digits (32 bytes)")]
pub struct MalformedKey;

impl InstanceKey {
    /// A new random key.
    pub fn generate() -> Result<Self, AppError> {
        let mut key = [0u8; 32];
        getrandom::fill(&mut key).map_err(|e| AppError::Internal(format!("no randomness: {e}")))?;
        Ok(Self(key))
    }

    /// The key written as 64 hexadecimal digits (the key file's content).
    pub fn to_hex(&self) -> String {
        self.0.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// Reads a key written by [`InstanceKey::to_hex`] (surrounding whitespace ignored).
    pub fn from_hex(text: &str) -> Result<Self, MalformedKey> {
        let text = text.trim();
        if text.len() != 64 || !text.is_ascii() {
            return Err(MalformedKey);
        }
        let mut key = [0u8; 32];
        for (i, byte) in key.iter_mut().enumerate() {
            *byte = u8::from_str_radix(&text[2 * i..2 * i + 2], 16).map_err(|_| MalformedKey)?;
        }
        Ok(Self(key))
    }

    /// The value the database keeps to recognise this key (it does not reveal the key).
    pub fn check_value(&self) -> Vec<u8> {
        self.keyed_hash(KeyedPurpose::KeyCheck, &[])
    }

    /// HMAC-SHA-256 of `parts` for `purpose`. Each part is length-prefixed, so that the parts
    /// `["ab", "c"]` and `["a", "bc"]` hash apart.
    pub(crate) fn keyed_hash(&self, purpose: KeyedPurpose, parts: &[&[u8]]) -> Vec<u8> {
        // HMAC takes a key of any length: this cannot fail.
        let Ok(mut mac) = <Hmac<Sha256> as KeyInit>::new_from_slice(&self.0) else {
            unreachable!("HMAC accepts keys of every length")
        };
        mac.update(purpose.label());
        for part in parts {
            mac.update(&(part.len() as u64).to_be_bytes());
            mac.update(part);
        }
        mac.finalize().into_bytes().to_vec()
    }
}

impl InstanceKey {
    /// `data` (at most 32 bytes) XORed with a key stream for `purpose` and `parts`: applied
    /// twice, the data comes back. With a fresh random nonce among `parts` for every value
    /// masked, this is encryption by a pseudorandom function (HMAC-SHA-256) in counter mode of
    /// one block: a copy of the database alone does not reveal the data.
    pub(crate) fn mask(
        &self,
        purpose: KeyedPurpose,
        parts: &[&[u8]],
        data: &[u8],
    ) -> Result<Vec<u8>, AppError> {
        let stream = self.keyed_hash(purpose, parts);
        if data.len() > stream.len() {
            return Err(AppError::Internal(format!(
                "at most {} bytes can be masked",
                stream.len()
            )));
        }
        Ok(data.iter().zip(stream).map(|(d, k)| d ^ k).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_survives_its_file_format_and_hides_in_debug_output() {
        let key = InstanceKey::generate().unwrap_or_else(|e| panic!("{e}"));
        let hex = key.to_hex();
        let read = InstanceKey::from_hex(&format!("{hex}\n")).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(read.check_value(), key.check_value());
        assert!(!format!("{key:?}").contains(&hex[..8]));
        assert!(InstanceKey::from_hex(&hex[..63]).is_err());
        assert!(InstanceKey::from_hex(&format!("{}zz", &hex[..62])).is_err());
    }

    #[test]
    fn purposes_and_part_boundaries_hash_apart() {
        let key = InstanceKey::from_hex(&"11".repeat(32)).unwrap_or_else(|e| panic!("{e}"));
        let other = InstanceKey::from_hex(&"22".repeat(32)).unwrap_or_else(|e| panic!("{e}"));
        let network = key.keyed_hash(KeyedPurpose::SignInNetwork, &[b"abc"]);
        assert_ne!(
            network,
            key.keyed_hash(KeyedPurpose::SignInDevice, &[b"abc"])
        );
        assert_ne!(
            network,
            other.keyed_hash(KeyedPurpose::SignInNetwork, &[b"abc"])
        );
        assert_ne!(
            key.keyed_hash(KeyedPurpose::PostRequest, &[b"ab", b"c"]),
            key.keyed_hash(KeyedPurpose::PostRequest, &[b"a", b"bc"])
        );
        assert_eq!(network.len(), 32);
    }
}
