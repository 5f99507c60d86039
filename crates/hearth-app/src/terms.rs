//! The platform's legal terms: the operator publishes the terms and conditions, the service
//! level agreement and the data processing agreement in versions; creating a community
//! accepts the versions in force, and when a new one is published the community's
//! configuration waits until its owner accepts it. Every acceptance (which version, who, when) is
//! kept with the community and audited.

use crate::audit::record;
use crate::{Actor, App, AppError};
use hearth_core::audit::{AuditAction, ObjectKind};
use hearth_core::model::Role;
use hearth_core::terms::{TermsKind, accepts_all};
use hearth_core::{CommunityId, DomainError, Timestamp, UserId, validate};
use hearth_store::{Conn, TermsRow, Tx};

/// Longest document, in bytes.
const MAX_TERMS_BYTES: usize = 200_000;

/// A version of a legal document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LegalTerms {
    /// Its id, which an acceptance names.
    pub id: i64,
    /// Which document.
    pub kind: TermsKind,
    /// Its number within its kind.
    pub version: i32,
    /// Its text, as Markdown (empty in listings).
    pub body: String,
    /// When it was published.
    pub published_at: Timestamp,
}

/// An acceptance on a community's record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TermsAcceptance {
    /// The version accepted.
    pub terms_id: i64,
    /// Which document.
    pub kind: TermsKind,
    /// Its number.
    pub version: i32,
    /// Who accepted it: their username, while they have an account.
    pub accepted_by: Option<String>,
    /// When.
    pub accepted_at: Timestamp,
}

/// Where a community stands with the legal terms.
#[derive(Debug, Clone)]
pub struct CommunityTerms {
    /// The versions in force it has not accepted: its admin powers wait on them.
    pub due: Vec<LegalTerms>,
    /// Every acceptance on record, newest first.
    pub acceptances: Vec<TermsAcceptance>,
    /// Whether the caller is its owner, who accepts.
    pub may_accept: bool,
}

fn from_row(row: TermsRow) -> Result<LegalTerms, AppError> {
    Ok(LegalTerms {
        id: row.id,
        kind: TermsKind::parse(&row.kind)
            .map_err(|_| AppError::Internal(format!("unknown terms kind {:?}", row.kind)))?,
        version: row.version,
        body: row.body,
        published_at: Timestamp(row.published_at),
    })
}

fn from_rows(rows: Vec<TermsRow>) -> Result<Vec<LegalTerms>, AppError> {
    rows.into_iter().map(from_row).collect()
}

/// Refuses a change that widens a community (its settings, new invitations, promotions, new
/// or changed profile fields, new webhooks) while it has legal terms in force that its owner
/// has not accepted. What protects people or the law asks for goes on: talking, moderating,
/// answering privacy requests, its privacy statement, its ages, removing fields, webhooks and
/// invitations, demotions, handing the community on and deleting one's account.
pub(crate) async fn hold_for_terms(tx: &mut Tx, community: CommunityId) -> Result<(), AppError> {
    if terms_due(&mut tx.conn(), community).await? {
        return Err(DomainError::Forbidden(
            "this Hearth published new terms: the community's owner must accept them before \
             its settings change",
        )
        .into());
    }
    Ok(())
}

/// Whether `community` has versions in force it has not accepted.
pub(crate) async fn terms_due(
    conn: &mut Conn<'_>,
    community: CommunityId,
) -> Result<bool, AppError> {
    Ok(!conn.terms_due(community).await?.is_empty())
}

/// Records `user`'s acceptance for `community` of `accepted`, which must name every version
/// in force it has not accepted yet, and nothing not in force; inside the transaction that
/// creates the community or accepts anew.
pub(crate) async fn accept_in_force(
    tx: &mut Tx,
    community: CommunityId,
    user: UserId,
    accepted: &[i64],
) -> Result<(), AppError> {
    // What the community has yet to accept: for a new one, every version in force.
    let due: Vec<i64> = tx
        .conn()
        .terms_due(community)
        .await?
        .iter()
        .map(|t| t.id)
        .collect();
    let in_force: Vec<i64> = tx
        .conn()
        .terms_in_force()
        .await?
        .iter()
        .map(|t| t.id)
        .collect();
    accepts_all(&due, &in_force, accepted)?;
    let now = Timestamp::now();
    for id in due {
        if tx.conn().accept_terms(id, community, user, now.0).await? {
            record(
                tx,
                Some(user),
                AuditAction::TermsAccepted,
                (ObjectKind::LegalTerms, Some(id)),
                Some(community),
            );
        }
    }
    Ok(())
}

impl App {
    async fn require_operator(&self, actor: &Actor) -> Result<(), AppError> {
        if self.is_operator(actor).await? {
            Ok(())
        } else {
            Err(DomainError::Forbidden("only the operator publishes the legal terms").into())
        }
    }

    /// Publishes a new version of a legal document (the operator). Every community's owner
    /// must accept it before their community's configuration can change again.
    pub async fn publish_terms(
        &self,
        actor: &Actor,
        kind: TermsKind,
        markdown: &str,
    ) -> Result<LegalTerms, AppError> {
        self.require_operator(actor).await?;
        let body = validate::several_lines("markdown", markdown, usize::MAX)?;
        if body.is_empty() {
            return Err(DomainError::invalid("markdown", "must not be empty").into());
        }
        if body.len() > MAX_TERMS_BYTES {
            return Err(DomainError::invalid("markdown", "is too long").into());
        }
        let mut row = TermsRow {
            id: self.store.next_id(),
            kind: kind.code().into(),
            version: 0,
            body,
            published_by: Some(actor.user.0),
            published_at: Timestamp::now().0,
        };
        let user = actor.user;
        self.store
            .write(move |tx| {
                Box::pin(async move {
                    row.version = tx.conn().publish_terms(&row).await?;
                    record(
                        tx,
                        Some(user),
                        AuditAction::TermsPublished,
                        (ObjectKind::LegalTerms, Some(row.id)),
                        None,
                    );
                    from_row(row)
                })
            })
            .await
    }

    /// The versions in force, with their text: what creating a community accepts. Anyone may
    /// read them.
    pub async fn terms_in_force(&self) -> Result<Vec<LegalTerms>, AppError> {
        let mut reader = self.store.reader().await?;
        let mut terms = from_rows(reader.conn().terms_in_force().await?)?;
        terms.sort_by_key(|t| t.kind);
        Ok(terms)
    }

    /// Every version published, without its text. Anyone may read them.
    pub async fn terms_versions(&self) -> Result<Vec<LegalTerms>, AppError> {
        let mut reader = self.store.reader().await?;
        let mut terms = from_rows(reader.conn().terms_versions().await?)?;
        terms.sort_by_key(|t| (t.kind, std::cmp::Reverse(t.version)));
        Ok(terms)
    }

    /// One version, with its text.
    pub async fn terms_version(&self, id: i64) -> Result<LegalTerms, AppError> {
        let mut reader = self.store.reader().await?;
        let row = reader
            .conn()
            .terms(id)
            .await?
            .ok_or(DomainError::NotFound("terms"))?;
        from_row(row)
    }

    /// How many communities accepted each version, by id (the operator).
    pub async fn terms_acceptance_counts(
        &self,
        actor: &Actor,
    ) -> Result<Vec<(i64, i64)>, AppError> {
        self.require_operator(actor).await?;
        let mut reader = self.store.reader().await?;
        Ok(reader.conn().terms_acceptance_counts().await?)
    }

    /// Where a community stands with the legal terms: for its owner and admins.
    pub async fn community_terms(
        &self,
        actor: &Actor,
        community: CommunityId,
    ) -> Result<CommunityTerms, AppError> {
        let mut reader = self.store.reader().await?;
        let mut conn = reader.conn();
        let role = conn
            .member_role(community, actor.user)
            .await?
            .ok_or(DomainError::NotFound("community"))?;
        if !role.at_least(Role::Admin) {
            return Err(DomainError::Forbidden("only the community's admins see its terms").into());
        }
        let due = from_rows(conn.terms_due(community).await?)?;
        let acceptances = conn
            .terms_acceptances(community)
            .await?
            .into_iter()
            .map(|row| {
                Ok(TermsAcceptance {
                    terms_id: row.terms_id,
                    kind: TermsKind::parse(&row.kind).map_err(|_| {
                        AppError::Internal(format!("unknown terms kind {:?}", row.kind))
                    })?,
                    version: row.version,
                    accepted_by: row.username,
                    accepted_at: Timestamp(row.accepted_at),
                })
            })
            .collect::<Result<_, AppError>>()?;
        Ok(CommunityTerms {
            due,
            acceptances,
            may_accept: role == Role::Owner,
        })
    }

    /// Accepts, for a community, the versions in force it has not accepted (its owner):
    /// `accepted` names every version in force by id, so a version published while the owner
    /// read is not accepted unread.
    pub async fn accept_terms(
        &self,
        actor: &Actor,
        community: CommunityId,
        accepted: Vec<i64>,
    ) -> Result<CommunityTerms, AppError> {
        let user = actor.user;
        self.store
            .write(move |tx| {
                Box::pin(async move {
                    let role = tx
                        .conn()
                        .member_role(community, user)
                        .await?
                        .ok_or(DomainError::NotFound("community"))?;
                    if role != Role::Owner {
                        return Err(DomainError::Forbidden(
                            "only the community's owner accepts the terms",
                        )
                        .into());
                    }
                    accept_in_force(tx, community, user, &accepted).await
                })
            })
            .await?;
        self.community_terms(actor, community).await
    }
}

impl App {
    /// Whether the caller is this Hearth's operator.
    pub async fn is_operator(&self, actor: &Actor) -> Result<bool, AppError> {
        let mut reader = self.store.reader().await?;
        Ok(reader
            .conn()
            .user(actor.user)
            .await?
            .is_some_and(|u| u.is_operator))
    }

    /// Whether the caller is an admin or the owner of `community` and it has legal terms to
    /// accept: its admin pages then lead to the terms.
    pub async fn admin_terms_due(
        &self,
        actor: &Actor,
        community: CommunityId,
    ) -> Result<bool, AppError> {
        let mut reader = self.store.reader().await?;
        let mut conn = reader.conn();
        let admin = conn
            .member_role(community, actor.user)
            .await?
            .is_some_and(|r| r.at_least(Role::Admin));
        Ok(admin && terms_due(&mut conn, community).await?)
    }
}
