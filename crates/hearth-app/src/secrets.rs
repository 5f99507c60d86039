//! Secrets: random tokens shown once and stored only as SHA-256, and Argon2id password hashes
//! computed off the async threads in working memory that is reused, then given back.

use crate::AppError;
use argon2::password_hash::phc::{Output, PasswordHash, Salt};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};
use tokio::sync::Semaphore;

/// A fresh random secret of `bytes` bytes, base64url-encoded.
pub(crate) fn random_token(bytes: usize) -> Result<String, AppError> {
    let mut buf = vec![0u8; bytes];
    getrandom::fill(&mut buf).map_err(|e| AppError::Internal(format!("no randomness: {e}")))?;
    Ok(URL_SAFE_NO_PAD.encode(buf))
}

/// Whether two secrets are equal, compared in time that does not depend on where they differ.
pub(crate) fn same_secret(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |differ, (x, y)| differ | (x ^ y))
            == 0
}

/// The stored form of a session or API token secret.
pub(crate) fn token_hash(secret: &str) -> Vec<u8> {
    Sha256::digest(secret.as_bytes()).to_vec()
}

/// Argon2id takes 19 MiB and tens of milliseconds of one core per hash: no more run at once
/// than there are cores (at most 4), so a flood of sign-ins queues, in arrival order, instead
/// of exhausting memory or starving the rest of the server of CPU.
fn hashing_slots() -> &'static Semaphore {
    static SLOTS: OnceLock<Semaphore> = OnceLock::new();
    SLOTS.get_or_init(|| {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        Semaphore::new(cores.clamp(1, 4))
    })
}

/// Working memory for Argon2, kept between hashes so a burst of sign-ins reuses the same
/// buffers rather than asking the allocator for 19 MiB each time (which it tends to keep).
/// After [`IDLE_RELEASE`] without hashing the buffers are dropped, giving the memory back.
struct MemoryPool {
    free: Mutex<Vec<Vec<Block>>>,
    last_used: Mutex<Option<Instant>>,
    release_scheduled: AtomicBool,
}

const IDLE_RELEASE: Duration = Duration::from_secs(20);

static POOL: MemoryPool = MemoryPool {
    free: Mutex::new(Vec::new()),
    last_used: Mutex::new(None),
    release_scheduled: AtomicBool::new(false),
};

impl MemoryPool {
    /// Runs `work` with at least `blocks` blocks of working memory.
    fn with_memory<R>(&self, blocks: usize, work: impl FnOnce(&mut [Block]) -> R) -> R {
        let mut memory = self
            .free
            .lock()
            .ok()
            .and_then(|mut free| free.pop())
            .unwrap_or_default();
        if memory.len() < blocks {
            memory.resize(blocks, Block::default());
        }
        let result = work(&mut memory[..blocks]);
        if let Ok(mut free) = self.free.lock() {
            free.push(memory);
        }
        if let Ok(mut last) = self.last_used.lock() {
            *last = Some(Instant::now());
        }
        result
    }

    /// Drops the buffers once hashing has been idle for a while (called from async code
    /// after each hash; at most one release waits at a time).
    fn schedule_release(&'static self) {
        if self.release_scheduled.swap(true, Ordering::AcqRel) {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            self.release_scheduled.store(false, Ordering::Release);
            return;
        };
        runtime.spawn(async move {
            loop {
                tokio::time::sleep(IDLE_RELEASE).await;
                let idle = self
                    .last_used
                    .lock()
                    .map(|last| last.is_none_or(|at| at.elapsed() >= IDLE_RELEASE))
                    .unwrap_or(true);
                if idle {
                    if let Ok(mut free) = self.free.lock() {
                        free.clear();
                        free.shrink_to_fit();
                    }
                    self.release_scheduled.store(false, Ordering::Release);
                    return;
                }
            }
        });
    }

    #[cfg(test)]
    fn buffers_held(&self) -> usize {
        self.free.lock().map(|free| free.len()).unwrap_or(0)
    }
}

/// Hashes `password` with `argon2`'s algorithm, version and parameters, and `salt`.
fn hash_with(
    argon2: &Argon2<'_>,
    params: &Params,
    password: &[u8],
    salt: Salt,
) -> Option<PasswordHash> {
    let len = params.output_len().unwrap_or(Params::DEFAULT_OUTPUT_LEN);
    let mut out = vec![0u8; len];
    POOL.with_memory(params.block_count(), |memory| {
        argon2
            .hash_password_into_with_memory(password, &salt, &mut out, memory)
            .ok()
    })?;
    Some(PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::default().into()),
        params: params.try_into().ok()?,
        salt: Some(salt),
        hash: Some(Output::new(&out).ok()?),
    })
}

/// Hashes a new password with Argon2id and Hearth's parameters.
fn hash_blocking(password: &[u8]) -> Result<String, AppError> {
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).map_err(|e| AppError::Internal(format!("no randomness: {e}")))?;
    let salt = Salt::new(&salt).map_err(|e| AppError::Internal(format!("salt: {e}")))?;
    let params = Params::default();
    let argon2 = Argon2::new(Algorithm::Argon2id, Version::default(), params.clone());
    hash_with(&argon2, &params, password, salt)
        .map(|hash| hash.to_string())
        .ok_or_else(|| AppError::Internal("password hashing failed".into()))
}

/// Whether `password` matches the PHC string `stored` (whatever Argon2 parameters it names).
fn verify_blocking(password: &[u8], stored: &str) -> bool {
    let Ok(parsed) = PasswordHash::new(stored) else {
        return false;
    };
    let (Ok(algorithm), Ok(params), Some(salt), Some(expected)) = (
        Algorithm::try_from(parsed.algorithm.as_str()),
        Params::try_from(&parsed),
        parsed.salt,
        parsed.hash,
    ) else {
        return false;
    };
    let version = parsed
        .version
        .map_or(Ok(Version::default()), Version::try_from)
        .unwrap_or_default();
    let Ok(params) = Params::new(
        params.m_cost(),
        params.t_cost(),
        params.p_cost(),
        Some(expected.len()),
    ) else {
        return false;
    };
    let argon2 = Argon2::new(algorithm, version, params.clone());
    // Output compares in constant time.
    hash_with(&argon2, &params, password, salt)
        .and_then(|computed| computed.hash)
        .is_some_and(|computed| computed == expected)
}

/// Runs a hashing step on the blocking pool once a hashing slot is free.
async fn with_slot<R: Send + 'static>(work: impl FnOnce() -> R + Send + 'static) -> Option<R> {
    let _permit = hashing_slots().acquire().await.ok()?;
    let result = tokio::task::spawn_blocking(work).await.ok();
    POOL.schedule_release();
    result
}

/// Hashes a password with Argon2id on the blocking pool.
pub(crate) async fn hash_password(password: String) -> Result<String, AppError> {
    with_slot(move || hash_blocking(password.as_bytes()))
        .await
        .ok_or_else(|| AppError::Internal("hashing task failed".into()))?
}

/// Checks a password against a stored hash on the blocking pool. With no stored hash, it
/// verifies against a hash nobody knows the password of, so response times do not reveal
/// which accounts exist (or which are throttled).
pub(crate) async fn verify_password(password: String, stored: Option<String>) -> bool {
    with_slot(move || {
        let known = stored.is_some();
        let stored = match stored {
            Some(hash) => hash,
            None => match dummy_hash() {
                Some(hash) => hash.to_string(),
                None => return false,
            },
        };
        verify_blocking(password.as_bytes(), &stored) && known
    })
    .await
    .unwrap_or(false)
}

/// An Argon2id hash, with the current parameters, of a random secret that is thrown away.
fn dummy_hash() -> Option<&'static str> {
    static DUMMY: OnceLock<Option<String>> = OnceLock::new();
    DUMMY
        .get_or_init(|| {
            let secret = random_token(32).ok()?;
            hash_blocking(secret.as_bytes()).ok()
        })
        .as_deref()
}

#[cfg(test)]
mod tests {
    use super::*;
    use argon2::PasswordHasher;

    #[tokio::test]
    async fn passwords_verify_only_against_their_own_hash() {
        let hash = hash_password("correct horse battery".into()).await.ok();
        assert!(
            hash.as_deref()
                .is_some_and(|h| h.starts_with("$argon2id$v=19$"))
        );
        assert!(verify_password("correct horse battery".into(), hash.clone()).await);
        assert!(!verify_password("wrong horse battery".into(), hash).await);
        assert!(!verify_password("anything".into(), None).await);
    }

    #[test]
    fn hashes_made_by_the_argon2_crate_itself_still_verify() {
        // Accounts hashed before Hearth pooled its memory, or with other parameters.
        let params = Params::new(8 * 1024, 3, 1, None).unwrap_or_default();
        let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
        let stored = argon2
            .hash_password(b"older password here")
            .map(|h| h.to_string())
            .unwrap_or_default();
        assert!(verify_blocking(b"older password here", &stored));
        assert!(!verify_blocking(b"older password herE", &stored));
        assert!(!verify_blocking(
            b"older password here",
            "$argon2id$garbage"
        ));
    }

    #[test]
    fn working_memory_is_reused_between_hashes() {
        let first = hash_blocking(b"one password").unwrap_or_default();
        let held = POOL.buffers_held();
        assert!(held >= 1);
        let second = hash_blocking(b"one password").unwrap_or_default();
        assert_eq!(
            POOL.buffers_held(),
            held,
            "a second hash takes no new buffer"
        );
        // Same password, fresh salts: different hashes that both verify.
        assert_ne!(first, second);
        assert!(verify_blocking(b"one password", &first));
        assert!(verify_blocking(b"one password", &second));
    }

    #[test]
    fn tokens_are_random_and_hashes_are_stable() {
        let a = random_token(32).unwrap_or_default();
        let b = random_token(32).unwrap_or_default();
        assert_ne!(a, b);
        assert_eq!(a.len(), 43);
        assert_eq!(token_hash(&a), token_hash(&a));
    }
}
