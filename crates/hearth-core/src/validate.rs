//! Input rules. Each returns the normalised value or an [`DomainError::Invalid`] naming the field.

use crate::error::DomainError;

/// Longest message body, in characters (Unicode scalar values).
pub const MAX_MESSAGE_CHARS: usize = 8_000;
/// Longest display name, community or channel name.
pub const MAX_NAME_CHARS: usize = 80;
/// Longest community description or channel topic.
pub const MAX_DESCRIPTION_CHARS: usize = 1_000;
/// Shortest accepted password.
pub const MIN_PASSWORD_CHARS: usize = 10;
/// Longest accepted password (argon2 would take more, but nobody types more).
pub const MAX_PASSWORD_CHARS: usize = 1_024;
/// Most people in a direct conversation, the author included.
pub const MAX_DIRECT_PARTICIPANTS: usize = 8;

fn char_len(text: &str) -> usize {
    text.chars().count()
}

fn bounded(field: &'static str, text: &str, min: usize, max: usize) -> Result<(), DomainError> {
    let len = char_len(text);
    if len < min {
        return Err(DomainError::invalid(
            field,
            if min == 1 {
                "must not be empty".to_string()
            } else {
                format!("must be at least {min} characters")
            },
        ));
    }
    if len > max {
        return Err(DomainError::invalid(
            field,
            format!("must be at most {max} characters"),
        ));
    }
    Ok(())
}

/// A username: 3–32 of `a-z 0-9 _ . -`, starting with a letter or digit; stored lowercase.
pub fn username(raw: &str) -> Result<String, DomainError> {
    let name = raw.trim().to_lowercase();
    bounded("username", &name, 3, 32)?;
    let mut chars = name.chars();
    let first_ok = chars.next().is_some_and(|c| c.is_ascii_alphanumeric());
    let rest_ok = name
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '_' | '.' | '-'));
    if !first_ok || !rest_ok {
        return Err(DomainError::invalid(
            "username",
            "may hold only letters, digits, '_', '.' and '-', and must start with a letter or digit",
        ));
    }
    Ok(name)
}

/// An email address: one `@`, a non-empty local part and a dotted domain; stored lowercase.
pub fn email(raw: &str) -> Result<String, DomainError> {
    let address = raw.trim().to_lowercase();
    bounded("email", &address, 3, 254)?;
    let valid = match address.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && !domain.contains('@')
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !address.chars().any(char::is_whitespace)
        }
        None => false,
    };
    if !valid {
        return Err(DomainError::invalid("email", "is not an email address"));
    }
    Ok(address)
}

/// A display name, community or channel name: trimmed, 1–80 characters, no control characters.
pub fn name(field: &'static str, raw: &str) -> Result<String, DomainError> {
    let text = raw.trim().to_string();
    bounded(field, &text, 1, MAX_NAME_CHARS)?;
    if text.chars().any(char::is_control) {
        return Err(DomainError::invalid(
            field,
            "must not hold control characters",
        ));
    }
    Ok(text)
}

/// A description or topic: trimmed, at most 1,000 characters, may be empty.
pub fn description(field: &'static str, raw: &str) -> Result<String, DomainError> {
    let text = raw.trim().to_string();
    bounded(field, &text, 0, MAX_DESCRIPTION_CHARS)?;
    Ok(text)
}

/// A community slug: 2–40 of `a-z 0-9 -`, stored lowercase.
pub fn slug(raw: &str) -> Result<String, DomainError> {
    let text = raw.trim().to_lowercase();
    bounded("slug", &text, 2, 40)?;
    if !text
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        || text.starts_with('-')
    {
        return Err(DomainError::invalid(
            "slug",
            "may hold only letters, digits and '-', and must not start with '-'",
        ));
    }
    Ok(text)
}

/// Normalizes what a person types to sign in (a username or an email): trimmed, lowercase,
/// of bounded length and free of control characters.
pub fn login(raw: &str) -> Result<String, DomainError> {
    let login = raw.trim().to_lowercase();
    bounded("login", &login, 1, 320)?;
    if login.chars().any(char::is_control) {
        return Err(DomainError::invalid(
            "login",
            "must not contain control characters",
        ));
    }
    Ok(login)
}

/// A client's idempotency key: 1–128 visible ASCII characters (a UUID, say).
pub fn idempotency_key(raw: &str) -> Result<String, DomainError> {
    if raw.is_empty() || raw.len() > 128 || !raw.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(DomainError::invalid(
            "Idempotency-Key",
            "must be 1 to 128 visible ASCII characters",
        ));
    }
    Ok(raw.to_string())
}

/// A password: 10–1,024 characters. It is never trimmed or stored.
pub fn password(field: &'static str, raw: &str) -> Result<(), DomainError> {
    bounded(field, raw, MIN_PASSWORD_CHARS, MAX_PASSWORD_CHARS)
}

/// A message body: not blank, at most 8,000 characters. Kept as written.
pub fn message_body(raw: &str) -> Result<String, DomainError> {
    if raw.trim().is_empty() {
        return Err(DomainError::invalid("body", "must not be empty"));
    }
    bounded("body", raw, 1, MAX_MESSAGE_CHARS)?;
    Ok(raw.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames_are_lowercased_and_limited_to_a_safe_alphabet() {
        assert_eq!(username(" Alice_1 ").ok(), Some("alice_1".to_string()));
        assert!(username("al").is_err());
        assert!(username("-alice").is_err());
        assert!(username("ali ce").is_err());
        assert!(username(&"a".repeat(33)).is_err());
    }

    #[test]
    fn emails_need_a_local_part_and_a_dotted_domain() {
        assert_eq!(email("A@Example.org").ok(), Some("a@example.org".into()));
        for bad in ["a", "a@b", "@b.org", "a@b@c.org", "a b@c.org", "a@.org"] {
            assert!(email(bad).is_err(), "{bad} should be refused");
        }
    }

    #[test]
    fn message_bodies_are_counted_in_characters_not_bytes() {
        assert!(message_body(&"é".repeat(MAX_MESSAGE_CHARS)).is_ok());
        assert!(message_body(&"é".repeat(MAX_MESSAGE_CHARS + 1)).is_err());
        assert!(message_body("   ").is_err());
    }

    #[test]
    fn passwords_have_a_minimum_length() {
        assert!(password("password", "short").is_err());
        assert!(password("password", "long enough pass").is_ok());
    }
}
