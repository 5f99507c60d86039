//! Communities' privacy statements: the template written from the data catalog and the
//! community's settings, the versions its admins publish (Hearth's own page in Markdown, or a
//! link to their own policy), and members' acknowledgements of each new version. Until a
//! first version is published, the template is the statement.

use crate::audit::record;
use crate::communities::{require, role_in};
use crate::{Actor, App, AppError, ParentalRequest};
use hearth_core::ages::{AgeQuestion, EARLIER_AGES_DAYS, minimum_age, unfilled_by};
use hearth_core::audit::{AuditAction, ObjectKind};
use hearth_core::catalog::{Category, TABLES, Table};
use hearth_core::model::JoinPolicy;
use hearth_core::permissions::Action;
use hearth_core::statement::{self, Facts, MessagesAfterErasure, Recipient};
use hearth_core::{CommunityId, DomainError, Timestamp};
use hearth_store::{StatementRow, StatementSettings};
use sha2::{Digest, Sha256};

/// The scope of this Hearth's own generated statement; a community's is its id.
const INSTANCE_SCOPE: i64 = 0;
/// Longest statement, in bytes: a long policy fits many times over.
const MAX_STATEMENT_BYTES: usize = 100_000;
/// Longest contact, in characters.
const MAX_CONTACT_CHARS: usize = 300;

/// A community's privacy statement as a reader sees it.
#[derive(Debug, Clone)]
pub struct PrivacyStatement {
    /// The community.
    pub community: CommunityId,
    /// Its name.
    pub community_name: String,
    /// The published version shown; `None` while nothing is published and the template
    /// stands in.
    pub version: Option<i32>,
    /// Hearth's own page, as Markdown (the template's, until a version is published).
    pub markdown: Option<String>,
    /// Or the owner's own policy.
    pub url: Option<String>,
    /// When the version shown was published.
    pub published_at: Option<Timestamp>,
    /// When the reader acknowledged the version shown, if they did.
    pub acknowledged_at: Option<Timestamp>,
    /// Whether a newer version than the one shown exists.
    pub superseded: bool,
}

/// One published version, as the list of versions shows it.
#[derive(Debug, Clone)]
pub struct StatementVersion {
    /// Its number.
    pub version: i32,
    /// Whether it is a link to the owner's own policy.
    pub url: Option<String>,
    /// When.
    pub published_at: Timestamp,
}

/// What an admin publishes.
#[derive(Debug, Clone)]
pub enum Publication {
    /// Hearth's own page, as Markdown.
    Markdown(String),
    /// A link to the owner's own policy.
    Url(String),
}

/// A statement a member has yet to acknowledge: the banner's text.
#[derive(Debug, Clone)]
pub struct ToAcknowledge {
    /// The community.
    pub community: CommunityId,
    /// Its name.
    pub community_name: String,
    /// The version.
    pub version: i32,
}

/// What a community's statement says of it beyond the catalog, as its admins set it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatementOptions {
    /// Where people write about their privacy (an address or a page).
    pub contact: Option<String>,
    /// Whether the statement publishes last year's request figures.
    pub publish_metrics: bool,
}

impl App {
    /// The statement written from the catalog and the community's settings today, as
    /// Markdown, for its admins to start from.
    pub async fn statement_template(
        &self,
        actor: &Actor,
        community: CommunityId,
    ) -> Result<String, AppError> {
        {
            let mut reader = self.store.reader().await?;
            let role = role_in(&mut reader.conn(), community, actor.user).await?;
            require(
                role,
                Action::EditSettings,
                "only admins edit the privacy statement",
            )?;
        }
        self.generated_statement(community).await
    }

    /// The statement of this Hearth itself, for what its operator holds about everyone with
    /// an account (linked from the registration form): written from the catalog, every
    /// community's webhooks as recipients, and the operator's law and approval settings.
    pub async fn instance_statement(&self) -> Result<String, AppError> {
        let recipients: Vec<Recipient> = {
            let mut reader = self.store.reader().await?;
            reader
                .conn()
                .all_webhooks()
                .await?
                .into_iter()
                .map(statement_recipient)
                .collect()
        };
        let tables: Vec<&'static Table> = TABLES.iter().collect();
        let facts = Facts {
            business: "this Hearth",
            contact: None,
            law: self.config.law,
            profile_categories: &[],
            recipients: &recipients,
            messages_after_erasure: MessagesAfterErasure::AsEachCommunityChooses,
            approved_kinds: &self.config.approved_requests,
            minimum_age: None,
            // Each community may fill every column: the instance's statement claims them all.
            unfilled: &[],
            children_from_before: false,
            metrics: None,
            updated: "",
        };
        self.dated(INSTANCE_SCOPE, &tables, facts).await
    }

    /// What a community's statement says until its admins publish their own: the template
    /// over the catalog's tables.
    async fn generated_statement(&self, community: CommunityId) -> Result<String, AppError> {
        let tables: Vec<&'static Table> = TABLES.iter().collect();
        let (name, settings, erased, recipients, categories, ages) = {
            let mut reader = self.store.reader().await?;
            let mut conn = reader.conn();
            let found = conn
                .community(community)
                .await?
                .ok_or(DomainError::NotFound("community"))?;
            let settings = conn
                .statement_settings(community)
                .await?
                .ok_or(DomainError::NotFound("community"))?;
            let erased = conn.erased_messages(community).await?.unwrap_or_default();
            let recipients: Vec<Recipient> = conn
                .webhooks_of(community)
                .await?
                .into_iter()
                .map(statement_recipient)
                .collect();
            let mut categories: Vec<Category> = Vec::new();
            for field in conn.profile_fields(community).await? {
                if !categories.contains(&field.category) {
                    categories.push(field.category);
                }
            }
            let policy = conn
                .age_policy(community)
                .await?
                .ok_or(DomainError::NotFound("community"))?;
            let question = AgeQuestion::parse(&policy.age_question)?;
            let minimum = minimum_age(i64::from(policy.minimum_age))?;
            // What the policy leaves unfilled, unless members who joined under an earlier
            // one still hold it, or an earlier one collected it in the past 12 months.
            let year_ago = Timestamp::now().0 - EARLIER_AGES_DAYS * 24 * 60 * 60 * 1000;
            let earlier = match conn.earlier_ages(community).await? {
                Some((minimum, until)) if until >= year_ago => {
                    unfilled_by(AgeQuestion::BirthDate, minimum_age(i64::from(minimum))?)
                }
                _ => unfilled_by(AgeQuestion::None, 0),
            };
            let mut unfilled = Vec::new();
            for empty in unfilled_by(question, minimum) {
                if earlier.contains(&empty) && !conn.community_fills(community, empty).await? {
                    unfilled.push(empty);
                }
            }
            let ages = (question, minimum, unfilled);
            (found.name, settings, erased, recipients, categories, ages)
        };
        let (question, minimum, unfilled) = ages;
        let handling = self.handling(Some(community)).await?;
        let last_year = Timestamp::now().to_datetime().year() - 1;
        let metrics = if settings.publish_request_metrics {
            Some(
                self.request_metrics(None, crate::Desk::Community(community), last_year)
                    .await?,
            )
        } else {
            None
        };
        let facts = Facts {
            business: &name,
            contact: settings.privacy_contact.as_deref(),
            law: handling.law,
            profile_categories: &categories,
            recipients: &recipients,
            messages_after_erasure: if erased == crate::ErasedMessages::Keep.code() {
                MessagesAfterErasure::Kept
            } else {
                MessagesAfterErasure::Removed
            },
            approved_kinds: &handling.approved,
            minimum_age: (question != AgeQuestion::None).then_some(minimum),
            unfilled: &unfilled,
            // Admitting no children now (or asking no ages), yet holding parents' consents.
            children_from_before: (question == AgeQuestion::None || minimum > 0)
                && !unfilled.contains(&("parental_consents", None)),
            metrics: metrics.as_deref().map(|m| (last_year, m)),
            updated: "",
        };
        self.dated(community.0, &tables, facts).await
    }

    /// The statement written from `facts`, dated the day its text last changed: the catalog
    /// (a new release), the community's settings, fields, webhooks or ages all change it, and
    /// reading it is what notices. Reading today's text for the first time records today.
    async fn dated(
        &self,
        scope: i64,
        tables: &[&'static Table],
        facts: Facts<'_>,
    ) -> Result<String, AppError> {
        let digest = Sha256::digest(statement::generate(tables, &facts).as_bytes()).to_vec();
        let seen = {
            let mut reader = self.store.reader().await?;
            reader.conn().generated_statement(scope).await?
        };
        let since = match seen {
            Some((seen, since)) if seen == digest => since,
            _ => {
                self.store
                    .write(move |tx| {
                        Box::pin(async move {
                            let now = Timestamp::now().0;
                            let since = tx
                                .conn()
                                .note_generated_statement(scope, &digest, now)
                                .await?;
                            Ok::<_, AppError>(since)
                        })
                    })
                    .await?
            }
        };
        let updated = Timestamp(since).to_datetime().date().to_string();
        Ok(statement::generate(
            tables,
            &Facts {
                updated: &updated,
                ..facts
            },
        ))
    }

    /// A community's statement: `version`, or the one in force. Anyone may read the
    /// statement of an open community; an invitation-only one's, its members and whoever
    /// holds a usable invitation to it (`invite`), who must be told before they join.
    pub async fn privacy_statement(
        &self,
        reader_actor: Option<&Actor>,
        community: CommunityId,
        version: Option<i32>,
    ) -> Result<PrivacyStatement, AppError> {
        self.privacy_statement_for(reader_actor, community, version, None)
            .await
    }

    /// [`App::privacy_statement`], for the holder of an invitation code.
    pub async fn privacy_statement_for(
        &self,
        reader_actor: Option<&Actor>,
        community: CommunityId,
        version: Option<i32>,
        invite: Option<&str>,
    ) -> Result<PrivacyStatement, AppError> {
        let name = self
            .check_statement_access(reader_actor, community, invite)
            .await?;
        self.statement_shown(reader_actor, (community, name), version)
            .await
    }

    /// What a parent's consent link asks, with the statement in force of the community they
    /// are asked to consent to: they must read it before they answer, invitation-only or not
    /// (COPPA's direct notice).
    pub async fn statement_for_parent(
        &self,
        community: CommunityId,
        secret: &str,
    ) -> Result<(ParentalRequest, PrivacyStatement), AppError> {
        let asked = self.parental_request(community, secret).await?;
        let statement = self
            .statement_shown(None, (community, asked.community_name.clone()), None)
            .await?;
        Ok((asked, statement))
    }

    /// A community's statement (`version`, or the one in force) once its reader may read it.
    async fn statement_shown(
        &self,
        reader_actor: Option<&Actor>,
        (community, name): (CommunityId, String),
        version: Option<i32>,
    ) -> Result<PrivacyStatement, AppError> {
        let (row, latest, acknowledged) = {
            let mut reader = self.store.reader().await?;
            let mut conn = reader.conn();
            let latest = conn.statement(community, None).await?;
            let row = match version {
                Some(_) => Some(
                    conn.statement(community, version)
                        .await?
                        .ok_or(DomainError::NotFound("privacy statement version"))?,
                ),
                None => latest.clone(),
            };
            let acknowledged = match (&row, reader_actor) {
                (Some(row), Some(actor)) => conn.acknowledged_at(row.id, actor.user).await?,
                _ => None,
            };
            (row, latest, acknowledged)
        };
        let superseded = match (&row, &latest) {
            (Some(shown), Some(latest)) => shown.version < latest.version,
            _ => false,
        };
        Ok(match row {
            Some(row) => PrivacyStatement {
                community,
                community_name: name,
                version: Some(row.version),
                markdown: row.body,
                url: row.url,
                published_at: Some(Timestamp(row.published_at)),
                acknowledged_at: acknowledged.map(Timestamp),
                superseded,
            },
            None => PrivacyStatement {
                community,
                community_name: name,
                version: None,
                markdown: Some(self.generated_statement(community).await?),
                url: None,
                published_at: None,
                acknowledged_at: None,
                superseded: false,
            },
        })
    }

    /// Whether any of the community's webhooks sends to a third party: the notice at
    /// collection says so.
    pub async fn shares_with_third_parties(
        &self,
        community: CommunityId,
    ) -> Result<bool, AppError> {
        let mut reader = self.store.reader().await?;
        Ok(reader
            .conn()
            .webhooks_of(community)
            .await?
            .into_iter()
            .any(|hook| !statement_recipient(hook).service_provider))
    }

    /// Whether the reader may read the community's statement: anyone an open community's,
    /// members and holders of a usable invitation (`invite`) an invitation-only one's.
    async fn check_statement_access(
        &self,
        reader_actor: Option<&Actor>,
        community: CommunityId,
        invite: Option<&str>,
    ) -> Result<String, AppError> {
        let mut reader = self.store.reader().await?;
        let mut conn = reader.conn();
        let found = conn
            .community(community)
            .await?
            .ok_or(DomainError::NotFound("community"))?;
        if found.join_policy == JoinPolicy::Open {
            return Ok(found.name);
        }
        let member = match reader_actor {
            Some(actor) => conn.member_role(community, actor.user).await?.is_some(),
            None => false,
        };
        let invited = match invite {
            Some(code) if !member => crate::communities::usable_invite(&mut conn, code)
                .await
                .is_ok_and(|(_, opened)| opened.id == community),
            _ => false,
        };
        if member || invited {
            Ok(found.name)
        } else {
            Err(DomainError::NotFound("community").into())
        }
    }

    /// Every published version of a community's statement, newest first.
    pub async fn statement_versions(
        &self,
        reader_actor: Option<&Actor>,
        community: CommunityId,
    ) -> Result<Vec<StatementVersion>, AppError> {
        // The same rule as reading the statement.
        self.check_statement_access(reader_actor, community, None)
            .await?;
        let mut reader = self.store.reader().await?;
        Ok(reader
            .conn()
            .statement_versions(community)
            .await?
            .into_iter()
            .map(|row| StatementVersion {
                version: row.version,
                url: row.url,
                published_at: Timestamp(row.published_at),
            })
            .collect())
    }

    /// Publishes a new version of a community's statement (its admins). Members are asked to
    /// acknowledge it.
    pub async fn publish_statement(
        &self,
        actor: &Actor,
        community: CommunityId,
        publication: Publication,
    ) -> Result<PrivacyStatement, AppError> {
        let (body, url) = match publication {
            Publication::Markdown(text) => {
                let text = hearth_core::validate::several_lines("markdown", &text, usize::MAX)?;
                if text.is_empty() {
                    return Err(DomainError::invalid("markdown", "must not be empty").into());
                }
                if text.len() > MAX_STATEMENT_BYTES {
                    return Err(DomainError::invalid("markdown", "is too long").into());
                }
                (Some(text), None)
            }
            Publication::Url(url) => (None, Some(checked_policy_url(&url)?)),
        };
        let user = actor.user;
        let row = StatementRow {
            id: self.store.next_id(),
            community_id: community.0,
            version: 0,
            body,
            url,
            published_by: Some(user.0),
            published_at: Timestamp::now().0,
        };
        self.store
            .write(move |tx| {
                Box::pin(async move {
                    let role = role_in(&mut tx.conn(), community, user).await?;
                    require(
                        role,
                        Action::EditSettings,
                        "only admins publish the privacy statement",
                    )?;
                    tx.conn().publish_statement(&row).await?;
                    let object = (ObjectKind::PrivacyStatement, Some(row.id));
                    record(
                        tx,
                        Some(user),
                        AuditAction::StatementPublished,
                        object,
                        Some(community),
                    );
                    Ok::<_, AppError>(())
                })
            })
            .await?;
        self.privacy_statement(Some(actor), community, None).await
    }

    /// Records that the caller acknowledged the community's statement in force (members).
    pub async fn acknowledge_statement(
        &self,
        actor: &Actor,
        community: CommunityId,
        version: i32,
    ) -> Result<PrivacyStatement, AppError> {
        let user = actor.user;
        self.store
            .write(move |tx| {
                Box::pin(async move {
                    if tx.conn().member_role(community, user).await?.is_none() {
                        return Err(DomainError::NotFound("community").into());
                    }
                    let latest = tx
                        .conn()
                        .statement(community, None)
                        .await?
                        .ok_or(DomainError::Conflict("nothing is published to acknowledge"))?;
                    // Acknowledging is of the version read: one published since must be
                    // read first.
                    if latest.version != version {
                        return Err(DomainError::Conflict(
                            "a newer version was published: read it first",
                        )
                        .into());
                    }
                    let now = Timestamp::now();
                    if tx
                        .conn()
                        .acknowledge_statement(latest.id, user, now.0)
                        .await?
                    {
                        let object = (ObjectKind::PrivacyStatement, Some(latest.id));
                        record(
                            tx,
                            Some(user),
                            AuditAction::StatementAcknowledged,
                            object,
                            Some(community),
                        );
                    }
                    Ok::<_, AppError>(())
                })
            })
            .await?;
        self.privacy_statement(Some(actor), community, None).await
    }

    /// The statements of the caller's communities published since they last acknowledged
    /// one: what the banner asks them to read.
    pub async fn statements_to_acknowledge(
        &self,
        actor: &Actor,
    ) -> Result<Vec<ToAcknowledge>, AppError> {
        let mut reader = self.store.reader().await?;
        let rows = reader.conn().statements_to_acknowledge(actor.user).await?;
        Ok(rows
            .into_iter()
            .map(|(community, community_name, version)| ToAcknowledge {
                community: CommunityId(community),
                community_name,
                version,
            })
            .collect())
    }

    /// What the community's statement says of it beyond the catalog (its admins).
    pub async fn statement_options(
        &self,
        actor: &Actor,
        community: CommunityId,
    ) -> Result<StatementOptions, AppError> {
        let mut reader = self.store.reader().await?;
        let mut conn = reader.conn();
        let role = role_in(&mut conn, community, actor.user).await?;
        require(
            role,
            Action::EditSettings,
            "only admins see the statement's settings",
        )?;
        let settings = conn
            .statement_settings(community)
            .await?
            .ok_or(DomainError::NotFound("community"))?;
        Ok(StatementOptions {
            contact: settings.privacy_contact,
            publish_metrics: settings.publish_request_metrics,
        })
    }

    /// Sets what the community's statement says of it beyond the catalog (its admins).
    pub async fn set_statement_options(
        &self,
        actor: &Actor,
        community: CommunityId,
        options: StatementOptions,
    ) -> Result<StatementOptions, AppError> {
        let contact = options
            .contact
            .map(|c| hearth_core::validate::one_line("contact", &c, MAX_CONTACT_CHARS))
            .transpose()?
            .filter(|c| !c.is_empty());
        let settings = StatementSettings {
            privacy_contact: contact.clone(),
            publish_request_metrics: options.publish_metrics,
        };
        let user = actor.user;
        self.store
            .write(move |tx| {
                Box::pin(async move {
                    let role = role_in(&mut tx.conn(), community, user).await?;
                    require(
                        role,
                        Action::EditSettings,
                        "only admins change the statement's settings",
                    )?;
                    tx.conn()
                        .set_statement_settings(community, &settings)
                        .await?;
                    let object = (ObjectKind::Community, Some(community.0));
                    record(
                        tx,
                        Some(user),
                        AuditAction::StatementSettingsChanged,
                        object,
                        Some(community),
                    );
                    Ok::<_, AppError>(())
                })
            })
            .await?;
        Ok(StatementOptions {
            contact,
            publish_metrics: options.publish_metrics,
        })
    }
}

/// The address of an owner's own policy: an `https` address with a host and no credentials.
fn checked_policy_url(url: &str) -> Result<String, AppError> {
    let url = url.trim();
    hearth_core::webhooks::check_url(url).map_err(|why| DomainError::invalid("url", why))?;
    if !url.starts_with("https://") {
        return Err(DomainError::invalid("url", "must start with https://").into());
    }
    Ok(url.to_string())
}

/// A webhook as the statement names its recipient: a service provider only when declared one.
fn statement_recipient(hook: hearth_store::WebhookRow) -> Recipient {
    Recipient {
        service_provider: hearth_core::webhooks::Recipient::parse(&hook.recipient)
            == Some(hearth_core::webhooks::Recipient::ServiceProvider),
        name: hook.name,
    }
}
