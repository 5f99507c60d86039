//! Minors joining a community: its age policy (the ages it admits and how it asks), the age
//! check at joining, a parent's consent for a child under 13, and a 13-to-15-year-old's own
//! consent. Only the age group is kept, never a birth date; a refused join keeps nothing, and
//! a member under 16 is opted out of the sale and sharing of their personal information unless
//! they opt in themself (13 to 15; under 13 it is never offered).

use crate::account_links::{new_link, take_link};
use crate::audit::record;
use crate::communities::{require, role_in};
use crate::mail::{Letter, queue_mail, withdrawal_secret};
use crate::secrets::token_hash;
use crate::{Actor, App, AppError};
use hearth_core::ages::{
    Admission, AgeGroup, AgeQuestion, EARLIER_AGES_DAYS, admission, birth_date, minimum_age,
    narrows, widest_minimum,
};
use hearth_core::audit::{AuditAction, ObjectKind};
use hearth_core::catalog::ACCOUNT_LINK_DAYS;
use hearth_core::model::JoinPolicy;
use hearth_core::permissions::Action;
use hearth_core::{CommunityId, DomainError, Timestamp, UserId, validate};
use hearth_store::{AgePolicyRow, Conn, MemberAgeRow, Tx};
use std::sync::Arc;

/// The ages a community admits, and how it asks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AgePolicy {
    /// How it asks a joining member's age.
    pub question: AgeQuestion,
    /// The youngest age it admits: 0 admits children under 13 with a parent's consent.
    pub minimum_age: u8,
}

/// What a joining member tells of their age, where the community asks.
#[derive(Clone, Default)]
pub struct AgeAnswer {
    /// Their birth date, `YYYY-MM-DD` (used for the group, then forgotten).
    pub birth_date: Option<String>,
    /// Or their age group's code.
    pub age_group: Option<String>,
    /// Aged 13 to 15: they consent to joining (a box they tick themself).
    pub consent: bool,
    /// Aged 13 to 15: they allow the sale and sharing of their personal information.
    pub allow_sale: bool,
    /// Under 13: the address of the parent asked to consent.
    pub parent_email: Option<String>,
}

hearth_core::debug_fields!(AgeAnswer {
    consent,
    allow_sale
});

/// How a join ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Joining {
    /// They are a member.
    Joined,
    /// A parent was mailed a link to consent; they join once it is used.
    AwaitingParent,
}

/// What the age check at joining decided.
pub(crate) enum AgeCheck {
    /// The community does not ask.
    NotAsked,
    /// They may join; this is what to record of them.
    Admit {
        group: AgeGroup,
        own_consent: bool,
        allow_sale: bool,
    },
    /// A parent must consent first: mail them.
    AskParent { email: String },
}

/// Why a join is refused for the age given: in neutral words, naming no age that would pass.
pub const AGE_REFUSAL: &str = "this community does not admit members of your age";

/// Whether `error` refuses a join for the age given.
pub fn refused_for_age(error: &AppError) -> bool {
    matches!(error, AppError::Domain(DomainError::Forbidden(why)) if *why == AGE_REFUSAL)
}

/// Mails asking a parent's consent one child may send in a day.
const PARENT_MAILS_PER_DAY: i64 = 3;
/// Unanswered requests for consent one address may have at a time, from any children: a
/// parent of several has room, and no one can flood a stranger's inbox through many accounts.
const PARENT_LINKS_PER_ADDRESS: i64 = 5;

/// The purpose of a parent's consent link for `community`.
fn purpose(community: CommunityId) -> String {
    format!("parental_consent:{}", community.0)
}

fn policy_of(row: AgePolicyRow) -> Result<AgePolicy, AppError> {
    Ok(AgePolicy {
        question: AgeQuestion::parse(&row.age_question).map_err(|_| {
            AppError::Internal(format!("unknown age question {:?}", row.age_question))
        })?,
        minimum_age: minimum_age(i64::from(row.minimum_age))
            .map_err(|_| AppError::Internal(format!("unknown minimum age {}", row.minimum_age)))?,
    })
}

/// Checks what `answer` tells of `user`'s age against `community`'s policy, inside the join's
/// transaction. A refusal is an error, so the transaction keeps nothing.
pub(crate) async fn check_age(
    tx: &mut Tx,
    community: CommunityId,
    user: UserId,
    answer: &AgeAnswer,
) -> Result<AgeCheck, AppError> {
    let policy = policy_of(
        tx.conn()
            .age_policy(community)
            .await?
            .ok_or(DomainError::NotFound("community"))?,
    )?;
    let group = match policy.question {
        AgeQuestion::None => return Ok(AgeCheck::NotAsked),
        AgeQuestion::BirthDate => {
            let raw = answer.birth_date.as_deref().unwrap_or_default();
            if raw.trim().is_empty() {
                return Err(DomainError::invalid(
                    "birth_date",
                    "is required: this community asks its members' age",
                )
                .into());
            }
            AgeGroup::on(birth_date(raw)?, Timestamp::now().to_datetime().date())?
        }
        AgeQuestion::Bracket => match answer.age_group.as_deref() {
            Some(code) if !code.is_empty() => AgeGroup::parse(code)?,
            _ => {
                return Err(DomainError::invalid(
                    "age_group",
                    "is required: this community asks its members' age",
                )
                .into());
            }
        },
    };
    // Someone who said they were under 13 (here or elsewhere, or for whom a parent was asked)
    // does not become older by answering again.
    if group > AgeGroup::Under13 && tx.conn().declared_under_13(user).await? {
        return Err(DomainError::invalid(
            "age_group",
            "does not match the age you gave before: ask this Hearth's operator to correct it",
        )
        .into());
    }
    match admission(policy.minimum_age, group) {
        // The refusal does not say the age that would pass.
        Admission::Refused => Err(DomainError::Forbidden(AGE_REFUSAL).into()),
        Admission::ParentsConsent => {
            // A child owns no community (see `refuse_child_owner`, which locks the same row).
            tx.conn().lock_person(user).await?;
            if !tx.conn().communities_owned_by(user).await?.is_empty() {
                return Err(DomainError::Forbidden(
                    "a member under 13 cannot own a community: hand yours on first",
                )
                .into());
            }
            if tx.conn().parental_consent(community, user).await?.is_some() {
                return Ok(AgeCheck::Admit {
                    group,
                    own_consent: false,
                    allow_sale: false,
                });
            }
            let email = answer.parent_email.as_deref().unwrap_or_default();
            if email.trim().is_empty() {
                return Err(DomainError::invalid(
                    "parent_email",
                    "is required: under 13, a parent or guardian consents to your joining",
                )
                .into());
            }
            let email = validate::email(email).map_err(|_| {
                DomainError::invalid("parent_email", "must be a parent's email address")
            })?;
            // A parent's own address, not the child's. (Another account's address is
            // accepted as any other: a parent may have an account here, and refusing it would
            // tell the child whose addresses are registered.)
            let own = tx.conn().user(user).await?.map(|u| u.email);
            if own.is_some_and(|own| own.eq_ignore_ascii_case(&email)) {
                return Err(DomainError::invalid(
                    "parent_email",
                    "must be your parent's or guardian's address, not yours",
                )
                .into());
            }
            Ok(AgeCheck::AskParent { email })
        }
        Admission::OwnConsent => {
            if !answer.consent {
                return Err(DomainError::invalid(
                    "consent",
                    "must be ticked: members aged 13 to 15 consent to joining themselves",
                )
                .into());
            }
            Ok(AgeCheck::Admit {
                group,
                own_consent: true,
                allow_sale: answer.allow_sale,
            })
        }
        Admission::Admitted => Ok(AgeCheck::Admit {
            group,
            own_consent: false,
            allow_sale: false,
        }),
    }
}

/// Records, for a member who just joined, what the age check admitted: their age group, their
/// own consent, and their choice on sale and sharing (opting a member under 16 out unless they
/// opted in). Audited.
pub(crate) async fn record_admission(
    tx: &mut Tx,
    community: CommunityId,
    user: UserId,
    check: &AgeCheck,
) -> Result<(), AppError> {
    let AgeCheck::Admit {
        group,
        own_consent,
        allow_sale,
    } = *check
    else {
        return Ok(());
    };
    let now = Timestamp::now();
    let opted_in = allow_sale && own_consent;
    tx.conn()
        .set_member_age(
            community,
            user,
            &MemberAgeRow {
                age_group: Some(group.code().into()),
                minor_consent_at: own_consent.then_some(now.0),
                sale_opt_in_at: opted_in.then_some(now.0),
            },
        )
        .await?;
    let object = (ObjectKind::User, Some(user.0));
    if own_consent {
        record(
            tx,
            Some(user),
            AuditAction::MinorConsented,
            object,
            Some(community),
        );
    }
    if group.needs_opt_in_to_sale() {
        if opted_in {
            record(
                tx,
                Some(user),
                AuditAction::MinorOptedIn,
                object,
                Some(community),
            );
        } else if tx.conn().set_privacy_choice(user, true, Some(now)).await? {
            record(
                tx,
                Some(user),
                AuditAction::MinorOptedOut,
                object,
                Some(community),
            );
        }
    }
    Ok(())
}

/// Mails `email` a link to consent to `user` joining `community`, inside the join's
/// transaction (which then writes nothing else). An earlier link for the same join stops
/// working.
pub(crate) async fn ask_parent(
    tx: &mut Tx,
    key: &crate::InstanceKey,
    (community, community_name): (CommunityId, &str),
    user: UserId,
    email: &str,
) -> Result<(), AppError> {
    // At most one mail a minute and three a day per child, counted from the audit log so
    // that every node and a retried transaction count the same.
    let now = Timestamp::now();
    let asked = |secs: i64| now.plus_seconds(-secs).0;
    let (last_minute, last_day) = (
        tx.conn().parents_asked_by(user, asked(60)).await?,
        tx.conn().parents_asked_by(user, asked(24 * 3600)).await?,
    );
    if last_minute > 0 {
        return Err(DomainError::RateLimited {
            retry_after_secs: 60,
        }
        .into());
    }
    if last_day >= PARENT_MAILS_PER_DAY {
        return Err(DomainError::RateLimited {
            retry_after_secs: 24 * 3600,
        }
        .into());
    }
    let purpose = purpose(community);
    tx.conn().delete_account_links(user, &purpose).await?;
    if tx.conn().parent_links_to(email, now.0).await? >= PARENT_LINKS_PER_ADDRESS {
        // The waiting links expire within their days at most.
        return Err(DomainError::RateLimited {
            retry_after_secs: u64::from(ACCOUNT_LINK_DAYS) * 24 * 3600,
        }
        .into());
    }
    let ttl = i64::from(ACCOUNT_LINK_DAYS) * 24 * 3600;
    let link = new_link(tx, key, (user, &purpose), email, ttl).await?;
    let username = tx
        .conn()
        .user(user)
        .await?
        .map(|u| u.username)
        .ok_or(DomainError::Unauthenticated)?;
    let letter = Letter::ParentalConsent {
        link,
        community: community.0,
        community_name: community_name.to_string(),
        username,
    };
    queue_mail(tx, email, Some(user), letter, None).await?;
    record(
        tx,
        Some(user),
        AuditAction::ParentalConsentRequested,
        (ObjectKind::User, Some(user.0)),
        Some(community),
    );
    Ok(())
}

/// What a parent's link asks, for the page it opens.
#[derive(Debug, Clone)]
pub struct ParentalRequest {
    /// The child.
    pub user: UserId,
    /// The child's username.
    pub username: String,
    /// The community.
    pub community: CommunityId,
    /// Its name.
    pub community_name: String,
}

impl App {
    /// A community's age policy, for whoever may join it: anyone for an open community, its
    /// members, or the holder of a usable invitation to it.
    pub async fn age_policy(
        &self,
        actor: Option<&Actor>,
        community: CommunityId,
        invite: Option<&str>,
    ) -> Result<AgePolicy, AppError> {
        let mut reader = self.store.reader().await?;
        let mut conn = reader.conn();
        let details = conn
            .community(community)
            .await?
            .ok_or(DomainError::NotFound("community"))?;
        let member = match actor {
            Some(actor) => conn.member_role(community, actor.user).await?.is_some(),
            None => false,
        };
        let invited = match invite {
            // A malformed code invites no one, like an unknown one.
            Some(code) => match validate::invite_code(code) {
                Ok(code) => crate::communities::usable_invite(&mut conn, &code)
                    .await
                    .is_ok_and(|(_, c)| c.id == community),
                Err(_) => false,
            },
            None => false,
        };
        if details.join_policy != JoinPolicy::Open && !member && !invited {
            return Err(DomainError::NotFound("community").into());
        }
        policy_of(
            conn.age_policy(community)
                .await?
                .ok_or(DomainError::NotFound("community"))?,
        )
    }

    /// Sets the ages a community admits and how it asks (its admins). It applies to those who
    /// join from now on.
    pub async fn set_age_policy(
        &self,
        actor: &Actor,
        community: CommunityId,
        policy: AgePolicy,
    ) -> Result<AgePolicy, AppError> {
        minimum_age(i64::from(policy.minimum_age))?;
        if policy.minimum_age > 0 && policy.question == AgeQuestion::None {
            return Err(DomainError::invalid(
                "age_question",
                "must ask members their age for a minimum age to be kept",
            )
            .into());
        }
        let user = actor.user;
        self.store
            .write(move |tx| {
                Box::pin(async move {
                    let role = role_in(&mut tx.conn(), community, user).await?;
                    require(
                        role,
                        Action::EditSettings,
                        "only admins set the ages admitted",
                    )?;
                    let row = AgePolicyRow {
                        age_question: policy.question.code().into(),
                        minimum_age: i32::from(policy.minimum_age),
                    };
                    let before = tx.conn().age_policy(community).await?;
                    if before.as_ref() != Some(&row) {
                        if let Some(before) = before {
                            note_narrowing(tx, community, &before, policy).await?;
                        }
                        tx.conn().set_age_policy(community, &row).await?;
                        // Age groups are kept only while the community asks them; the
                        // consents given stay as the record of how members joined.
                        if policy.question == AgeQuestion::None {
                            tx.conn().forget_age_groups(community).await?;
                        }
                        record(
                            tx,
                            Some(user),
                            AuditAction::AgePolicyChanged,
                            (ObjectKind::Community, Some(community.0)),
                            Some(community),
                        );
                    }
                    Ok(policy)
                })
            })
            .await
    }

    /// What a parent's consent link asks, without using it.
    pub async fn parental_request(
        &self,
        community: CommunityId,
        secret: &str,
    ) -> Result<ParentalRequest, AppError> {
        let hash = token_hash(secret);
        let mut reader = self.store.reader().await?;
        let mut conn = reader.conn();
        let link = conn
            .account_link(&purpose(community), &hash, Timestamp::now())
            .await?
            .ok_or(DomainError::LinkExpired)?;
        describe(&mut conn, link.user, community).await
    }

    /// A parent's answer through their link: consent is recorded with their address and the
    /// time, and the child may then join; a refusal keeps nothing but the audit entry. The
    /// link works once.
    pub async fn answer_parental_request(
        &self,
        community: CommunityId,
        secret: &str,
        consent: bool,
    ) -> Result<ParentalRequest, AppError> {
        let asked = self.parental_request(community, secret).await?;
        let hash = token_hash(secret);
        let key = Arc::clone(&self.key);
        let (name, username) = (asked.community_name.clone(), asked.username.clone());
        self.store
            .write(move |tx| {
                Box::pin(async move {
                    let now = Timestamp::now();
                    let (link, _) = take_link(tx, &purpose(community), &hash, now).await?;
                    let object = (ObjectKind::User, Some(link.user.0));
                    if consent {
                        // The parent is mailed a link that withdraws the consent (and deletes
                        // the child's account); only its secret's hash is kept.
                        let withdraw = tx.next_id();
                        let hash = token_hash(&withdrawal_secret(&key, withdraw));
                        tx.conn()
                            .insert_parental_consent(
                                (community, link.user),
                                &link.email,
                                &hash,
                                now.0,
                            )
                            .await?;
                        let letter = Letter::ParentalConsentGiven {
                            link: withdraw,
                            community: community.0,
                            community_name: name,
                            username,
                        };
                        queue_mail(tx, &link.email, Some(link.user), letter, None).await?;
                        record(
                            tx,
                            None,
                            AuditAction::ParentalConsentGiven,
                            object,
                            Some(community),
                        );
                    } else {
                        record(
                            tx,
                            None,
                            AuditAction::ParentalConsentRefused,
                            object,
                            Some(community),
                        );
                    }
                    Ok::<_, AppError>(())
                })
            })
            .await?;
        Ok(asked)
    }

    /// What a parent's withdrawal link withdraws, without using it.
    pub async fn parental_withdrawal(
        &self,
        community: CommunityId,
        secret: &str,
    ) -> Result<ParentalRequest, AppError> {
        let hash = token_hash(secret);
        let mut reader = self.store.reader().await?;
        let mut conn = reader.conn();
        let user = conn
            .consent_withdrawn_by(community, &hash)
            .await?
            .ok_or(DomainError::LinkExpired)?;
        describe(&mut conn, user, community).await
    }

    /// A parent withdraws their consent through the link mailed to them once they consented:
    /// the child's account is deleted, and everything about them, as the child's own request
    /// to delete would (recorded as a request the parent made).
    pub async fn withdraw_parental_consent(
        &self,
        community: CommunityId,
        secret: &str,
    ) -> Result<ParentalRequest, AppError> {
        let asked = self.parental_withdrawal(community, secret).await?;
        let request = self
            .new_request_row(
                hearth_core::requests::RequestKind::Delete,
                Some(asked.user),
                None,
                self.config.law,
                crate::ChoiceBy::Parent,
                Timestamp::now(),
            )
            .await?;
        let withdrawn = Some((community, token_hash(secret)));
        self.erase_for(asked.user, request, true, None, withdrawn)
            .await?;
        Ok(asked)
    }
}

/// Keeps, when a community stops collecting something of members' ages, the youngest age it
/// admitted before (the widest over the past 12 months), so that its statement still names
/// what it collected then.
async fn note_narrowing(
    tx: &mut Tx,
    community: CommunityId,
    before: &AgePolicyRow,
    after: AgePolicy,
) -> Result<(), AppError> {
    let was = (
        AgeQuestion::parse(&before.age_question)?,
        minimum_age(i64::from(before.minimum_age))?,
    );
    if !narrows(was, (after.question, after.minimum_age)) {
        return Ok(());
    }
    let now = Timestamp::now().0;
    let year_ago = now - EARLIER_AGES_DAYS * 24 * 60 * 60 * 1000;
    let earlier = tx
        .conn()
        .earlier_ages(community)
        .await?
        .filter(|(_, until)| *until >= year_ago)
        .and_then(|(minimum, _)| u8::try_from(minimum).ok());
    let widest = widest_minimum(was.1, earlier);
    tx.conn()
        .set_earlier_ages(community, i32::from(widest), now)
        .await?;
    Ok(())
}

/// What a parent's link is about: the child and the community, named for the parent's page.
/// A child or community gone since counts as an expired link.
async fn describe(
    conn: &mut Conn<'_>,
    user: UserId,
    community: CommunityId,
) -> Result<ParentalRequest, AppError> {
    let username = conn
        .user(user)
        .await?
        .ok_or(DomainError::LinkExpired)?
        .username;
    let details = conn
        .community(community)
        .await?
        .ok_or(DomainError::LinkExpired)?;
    Ok(ParentalRequest {
        user,
        username,
        community,
        community_name: details.name,
    })
}
