//! The platform's legal documents, which a community's owner accepts for it: published by the
//! operator in versions, the newest of each kind in force.

use crate::DomainError;

/// A kind of legal document.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum TermsKind {
    /// The terms and conditions of using this Hearth.
    Terms,
    /// The service level agreement: what the operator promises of availability and support.
    ServiceLevel,
    /// The data processing agreement: the operator processes members' data on the community's
    /// behalf, as its service provider.
    DataProcessing,
}

impl TermsKind {
    /// Every kind, in the order they are shown.
    pub const ALL: [TermsKind; 3] = [
        TermsKind::Terms,
        TermsKind::ServiceLevel,
        TermsKind::DataProcessing,
    ];

    /// The stable code stored and used in the API.
    pub fn code(self) -> &'static str {
        match self {
            TermsKind::Terms => "terms",
            TermsKind::ServiceLevel => "sla",
            TermsKind::DataProcessing => "dpa",
        }
    }

    /// Its name, as pages show it.
    pub fn label(self) -> &'static str {
        match self {
            TermsKind::Terms => "Terms and conditions",
            TermsKind::ServiceLevel => "Service level agreement",
            TermsKind::DataProcessing => "Data processing agreement",
        }
    }

    /// The kind a code names.
    pub fn parse(code: &str) -> Result<TermsKind, DomainError> {
        TermsKind::ALL
            .into_iter()
            .find(|k| k.code() == code)
            .ok_or_else(|| DomainError::invalid("kind", "must be terms, sla or dpa"))
    }
}

/// Whether the ids a community's owner accepted cover what it has `due` (every version in
/// force it has not accepted: the owner must have seen each) and name nothing outside the
/// versions `in_force` (a version published while they read makes them read again).
pub fn accepts_all(due: &[i64], in_force: &[i64], accepted: &[i64]) -> Result<(), DomainError> {
    if !due.iter().all(|id| accepted.contains(id)) {
        if accepted.is_empty() {
            return Err(DomainError::invalid(
                "accept_terms",
                "the current terms, service level and data processing agreements must be \
                 accepted",
            ));
        }
        return Err(DomainError::Conflict(
            "newer terms were published: read the current terms and accept them",
        ));
    }
    if !accepted.iter().all(|id| in_force.contains(id)) {
        return Err(DomainError::Conflict(
            "a version accepted is no longer in force: read the current terms and accept them",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_round_trip_through_their_codes() {
        for kind in TermsKind::ALL {
            assert_eq!(TermsKind::parse(kind.code()), Ok(kind));
        }
        assert!(TermsKind::parse("eula").is_err());
    }

    #[test]
    fn acceptance_must_cover_what_is_due_and_name_only_versions_in_force() {
        assert!(accepts_all(&[], &[], &[]).is_ok());
        assert!(accepts_all(&[1, 2], &[1, 2], &[2, 1]).is_ok());
        // Naming a version in force that was accepted already is fine.
        assert!(accepts_all(&[2], &[1, 2], &[1, 2]).is_ok());
        assert!(matches!(
            accepts_all(&[1, 2], &[1, 2], &[]),
            Err(DomainError::Invalid { .. })
        ));
        assert!(matches!(
            accepts_all(&[1, 3], &[1, 3], &[1, 2]),
            Err(DomainError::Conflict(_))
        ));
        assert!(matches!(
            accepts_all(&[1], &[1], &[1, 2]),
            Err(DomainError::Conflict(_))
        ));
    }
}
