//! Lists come a page at a time. Lists that can grow without bound (members, communities,
//! channels, conversations, tokens, invitations, messages) are read with a page size and a
//! cursor: the id of the last item of the previous page.

use crate::error::DomainError;

/// How many items one page of a list holds: 1 to [`PageSize::MAX`], [`PageSize::DEFAULT`]
/// unless the client asks for another size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageSize(i64);

impl PageSize {
    /// The size of a page when the client does not say.
    pub const DEFAULT: PageSize = PageSize(50);
    /// The largest page a client may ask for.
    pub const MAX: i64 = 200;

    /// The page size a client asked for as `limit`, if it is within bounds.
    pub fn requested(limit: Option<i64>) -> Result<Self, DomainError> {
        match limit {
            None => Ok(Self::DEFAULT),
            Some(n) if (1..=Self::MAX).contains(&n) => Ok(Self(n)),
            Some(_) => Err(DomainError::invalid(
                "limit",
                format!("must be between 1 and {}", Self::MAX),
            )),
        }
    }

    /// The number of items, for a query's `LIMIT`.
    pub fn get(self) -> i64 {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_hold_fifty_unless_asked_and_never_more_than_two_hundred() {
        assert_eq!(PageSize::requested(None).map(PageSize::get), Ok(50));
        assert_eq!(PageSize::requested(Some(1)).map(PageSize::get), Ok(1));
        assert_eq!(PageSize::requested(Some(200)).map(PageSize::get), Ok(200));
        for refused in [0, -1, 201, i64::MAX, i64::MIN] {
            assert!(
                matches!(
                    PageSize::requested(Some(refused)),
                    Err(DomainError::Invalid { field: "limit", .. })
                ),
                "{refused}"
            );
        }
    }
}
