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
/// Most unrevoked API tokens one person may hold.
pub const MAX_LIVE_TOKENS: i64 = 100;
/// Most times one message may be edited (each edit keeps a revision).
pub const MAX_EDITS_PER_MESSAGE: i64 = 100;

fn char_len(text: &str) -> usize {
    text.chars().count()
}

/// Whether a text field is one line (names, addresses) or may run over several (bodies,
/// descriptions).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Lines {
    One,
    Several,
}

/// Refuses control characters: NUL (which PostgreSQL cannot store in text), terminal escape
/// sequences, carriage returns and the like. Several-line fields keep `\n` and `\t`; one-line
/// fields refuse those and the Unicode line and paragraph separators too.
fn printable(field: &'static str, text: &str, lines: Lines) -> Result<(), DomainError> {
    let refused = |c: char| match c {
        '\n' | '\t' => lines == Lines::One,
        '\u{2028}' | '\u{2029}' => lines == Lines::One,
        c => c.is_control(),
    };
    if text.chars().any(refused) {
        return Err(DomainError::invalid(
            field,
            match lines {
                Lines::One => "must not hold control characters or line breaks",
                Lines::Several => {
                    "must not hold control characters other than line breaks and tabs"
                }
            },
        ));
    }
    Ok(())
}

/// Line breaks as `\n`: browsers send text areas with `\r\n`.
fn unix_line_breaks(text: &str) -> String {
    text.replace("\r\n", "\n")
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
    printable("username", &name, Lines::One)?;
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

/// An email address: one `@`, a non-empty local part and a dotted domain, with none of the
/// characters that make a mail header say something else (`<>"(),;:\[]` and spaces: a
/// `a<b@evil.example>` would be sent to another address than the one stored); stored
/// lowercase.
pub fn email(raw: &str) -> Result<String, DomainError> {
    let address = raw.trim().to_lowercase();
    printable("email", &address, Lines::One)?;
    bounded("email", &address, 3, 254)?;
    let valid = match address.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && !domain.contains('@')
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !address
                    .chars()
                    .any(|c| c.is_whitespace() || "<>\"(),;:\\[]".contains(c))
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
    printable(field, &text, Lines::One)?;
    bounded(field, &text, 1, MAX_NAME_CHARS)?;
    Ok(text)
}

/// A search query: trimmed, 1 to `max` characters on one line, no control characters.
pub fn search_query(raw: &str, max: usize) -> Result<String, DomainError> {
    let text = raw.trim().to_string();
    printable("q", &text, Lines::One)?;
    bounded("q", &text, 1, max)?;
    Ok(text)
}

/// A description or topic: trimmed, at most 1,000 characters, may be empty, may run over
/// several lines.
pub fn description(field: &'static str, raw: &str) -> Result<String, DomainError> {
    let text = unix_line_breaks(raw.trim());
    printable(field, &text, Lines::Several)?;
    bounded(field, &text, 0, MAX_DESCRIPTION_CHARS)?;
    Ok(text)
}

/// One line of free text: trimmed, at most `max` characters, may be empty.
pub fn one_line(field: &'static str, raw: &str, max: usize) -> Result<String, DomainError> {
    let text = raw.trim().to_string();
    printable(field, &text, Lines::One)?;
    bounded(field, &text, 0, max)?;
    Ok(text)
}

/// Free text over several lines: trimmed, line breaks as `\n`, at most `max` characters, may
/// be empty.
pub fn several_lines(field: &'static str, raw: &str, max: usize) -> Result<String, DomainError> {
    let text = unix_line_breaks(raw.trim());
    printable(field, &text, Lines::Several)?;
    bounded(field, &text, 0, max)?;
    Ok(text)
}

/// A community slug: 2–40 of `a-z 0-9 -`, stored lowercase.
pub fn slug(raw: &str) -> Result<String, DomainError> {
    let text = raw.trim().to_lowercase();
    printable("slug", &text, Lines::One)?;
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

/// A new password: 10–1,024 characters, no control characters (nobody types them, and a
/// password holding one could not be typed at sign-in either). It is never trimmed or stored.
pub fn password(field: &'static str, raw: &str) -> Result<(), DomainError> {
    printable(field, raw, Lines::One)?;
    bounded(field, raw, MIN_PASSWORD_CHARS, MAX_PASSWORD_CHARS)
}

/// A message body: not blank, at most 8,000 characters, line breaks as `\n`. Otherwise kept
/// as written.
pub fn message_body(raw: &str) -> Result<String, DomainError> {
    let text = unix_line_breaks(raw);
    printable("body", &text, Lines::Several)?;
    if text.trim().is_empty() {
        return Err(DomainError::invalid("body", "must not be empty"));
    }
    bounded("body", &text, 1, MAX_MESSAGE_CHARS)?;
    Ok(text)
}

/// A username or email given to sign in: trimmed and lowercased, as both are stored.
pub fn login(raw: &str) -> Result<String, DomainError> {
    let text = raw.trim().to_lowercase();
    printable("login", &text, Lines::One)?;
    bounded("login", &text, 1, 254)?;
    Ok(text)
}

/// An invitation code as Hearth makes them: up to 64 characters of base64url.
pub fn invite_code(raw: &str) -> Result<String, DomainError> {
    let code = raw.trim().to_string();
    printable("code", &code, Lines::One)?;
    bounded("code", &code, 1, 64)?;
    if !code
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_'))
    {
        return Err(DomainError::invalid("code", "is not an invitation code"));
    }
    Ok(code)
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
        for bad in [
            "a",
            "a@b",
            "@b.org",
            "a@b@c.org",
            "a b@c.org",
            "a@.org",
            "a<attacker@evil.example>",
            "\"x\"@y.org",
            "a@b.org,c@d.org",
        ] {
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
    #[test]
    fn nul_and_other_control_characters_are_refused_in_every_text_field() {
        let field_of = |result: Result<String, DomainError>| match result {
            Err(DomainError::Invalid { field, .. }) => Some(field),
            _ => None,
        };
        for bad in ["a\0b", "a\u{1b}[31mb", "a\u{7f}b", "a\u{85}b", "a\rb"] {
            assert_eq!(field_of(username(bad)), Some("username"), "{bad:?}");
            assert_eq!(
                field_of(email(&format!("{bad}@example.org"))),
                Some("email")
            );
            assert_eq!(field_of(name("display_name", bad)), Some("display_name"));
            assert_eq!(field_of(description("topic", bad)), Some("topic"));
            assert_eq!(field_of(slug(bad)), Some("slug"));
            assert_eq!(field_of(message_body(bad)), Some("body"), "{bad:?}");
            assert_eq!(field_of(login(bad)), Some("login"));
            assert_eq!(field_of(invite_code(bad)), Some("code"));
            let long_password = format!("{bad} and then some more");
            assert!(
                matches!(
                    password("password", &long_password),
                    Err(DomainError::Invalid {
                        field: "password",
                        ..
                    })
                ),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn multi_line_fields_keep_line_breaks_and_tabs_and_single_line_fields_do_not() {
        assert_eq!(
            message_body("first\r\n\tsecond\n").ok().as_deref(),
            Some("first\n\tsecond\n")
        );
        assert_eq!(
            description("description", "one\r\ntwo").ok().as_deref(),
            Some("one\ntwo")
        );
        assert!(name("name", "one\ntwo").is_err());
        assert!(name("name", "one\u{2028}two").is_err());
        assert!(name("name", "tab\there").is_err());
        assert!(password("password", "a password\twith a tab").is_err());
    }

    #[test]
    fn logins_are_trimmed_lowercased_and_bounded() {
        assert_eq!(
            login(" Alice@Example.org ").ok().as_deref(),
            Some("alice@example.org")
        );
        assert!(login("").is_err());
        assert!(login(&"a".repeat(255)).is_err());
    }

    #[test]
    fn invitation_codes_are_base64url() {
        assert_eq!(invite_code(" Ab-_9z ").ok().as_deref(), Some("Ab-_9z"));
        assert!(invite_code("").is_err());
        assert!(invite_code("with space").is_err());
        assert!(invite_code(&"a".repeat(65)).is_err());
    }
}
