//! Deleting a person: a request to delete, carried out as the data catalog's erasure plan says,
//! in one transaction with its record and its audit entry, and then, outside the database,
//! their uploaded files and avatar, and the mail about them waiting in the outbox.
//!
//! What stays is what the catalog declares kept (the request's own record, audit entries by
//! id, others' threads around tombstones), and the answer lists it with each reason.

use crate::audit::record;
use crate::mail::MAIL_JOB;
use crate::privacy::ChoiceBy;
use crate::{Actor, App, AppError, JobHandler};
use futures_util::future::BoxFuture;
use hearth_core::audit::{AuditAction, ObjectKind};
use hearth_core::catalog::{self, KeptAfterErasure};
use hearth_core::model::Community;
use hearth_core::requests::{LawProfile, RequestKind, RequestStep};
use hearth_core::{CommunityId, DomainError, Timestamp, UserId};
use hearth_store::{JobRow, NewJob, PrivacyRequestRow, Tx};

/// The answer to a carried-out request to delete.
#[derive(Debug, Clone)]
pub struct ErasureAnswer {
    /// The request's reference, kept in its record.
    pub request_id: i64,
    /// When the erasure was done.
    pub completed_at: Timestamp,
    /// What stays, and why.
    pub kept: Vec<KeptAfterErasure>,
    /// What legal holds kept (the request is then completed in part).
    pub held: Vec<crate::HeldPart>,
    /// Messages kept under "Deleted user", as their communities chose.
    pub kept_as_deleted_user: u64,
}

impl App {
    /// The communities the caller owns: their account cannot be deleted until each is handed
    /// on, and the deletion page says so before asking anything.
    pub async fn communities_owned(&self, actor: &Actor) -> Result<Vec<Community>, AppError> {
        let mut reader = self.store.reader().await?;
        Ok(reader.conn().communities_owned_by(actor.user).await?)
    }

    /// Deletes the caller's account at their request, after they enter their password again
    /// (and a second factor, when they have one on): a deletion cannot be undone, so a session
    /// left open on a shared computer is not enough.
    pub async fn erase_own_account(
        &self,
        actor: &Actor,
        password: String,
        code: Option<&str>,
        by: ChoiceBy,
    ) -> Result<ErasureAnswer, AppError> {
        self.reauthenticate(actor, password, code).await?;
        self.erase(actor.user, by).await
    }

    pub(crate) async fn erase(
        &self,
        user: UserId,
        by: ChoiceBy,
    ) -> Result<ErasureAnswer, AppError> {
        let request = self
            .new_request_row(
                RequestKind::Delete,
                Some(user),
                None,
                self.config.law,
                by,
                Timestamp::now(),
            )
            .await?;
        self.erase_for(user, request, true, None, None).await
    }

    /// Deletes the account named `login` (username or address) for an operator carrying out
    /// a request that came another way, once they verified the requester themself.
    pub async fn erase_account_as_operator(&self, login: &str) -> Result<ErasureAnswer, AppError> {
        let user = self.account_named(login).await?;
        self.erase(user, ChoiceBy::Operator).await
    }

    /// The account with this username or address, for an operator's command.
    pub(crate) async fn account_named(&self, login: &str) -> Result<UserId, AppError> {
        let mut reader = self.store.reader().await?;
        let user = reader
            .conn()
            .user_by_login(&login.trim().to_lowercase())
            .await?
            .ok_or(DomainError::NotFound("account"))?;
        Ok(UserId(user.id))
    }

    /// Erases `user` as the request `request` asks (inserted when `fresh`, else moved on
    /// from where it stood: `admin` approved it), completing it in the same transaction.
    /// When a parent withdraws their consent (`withdrawn`: the community and the hash of
    /// their link), it goes ahead only while that link still stands. (A child under 13 owns
    /// no community, so a parent's withdrawal is never held up by one.)
    pub(crate) async fn erase_for(
        &self,
        user: UserId,
        mut request: PrivacyRequestRow,
        fresh: bool,
        admin: Option<UserId>,
        withdrawn: Option<(CommunityId, Vec<u8>)>,
    ) -> Result<ErasureAnswer, AppError> {
        let now = Timestamp::now();
        let law = LawProfile::parse(&request.law).unwrap_or(self.config.law);
        let was = request.state.clone();
        let done = crate::requests::lifecycle_of(&request)?
            .after(RequestStep::Complete, law)
            .map_err(|e| AppError::Internal(format!("a request to delete cannot complete: {e}")))?;
        request.state = done.state.code().into();
        request.responded_at = Some(now.0);
        request.details = None;
        request.failure = None;
        request.answer = Some(
            "Your account and everything about you was deleted, except what the law lets us \
             keep (listed with the answer)."
                .into(),
        );
        let request_id = request.id;
        let progress = self.progress.clone();
        // Asked by the person (on a page or through the API, whoever approved it), or by an
        // operator for a request that came another way.
        let action = match request.manner.as_str() {
            "operator" => AuditAction::AccountErasedByOperator,
            _ => AuditAction::AccountErased,
        };
        let key = self.key.clone();
        // Read inside the transaction, so that mail queued up to the erasure is found too.
        let (address, mail_jobs, exports, held, kept_as_deleted_user) = self
            .store
            .write(move |tx| {
                Box::pin(async move {
                    tx.conn().lock_person(user).await?;
                    if let Some((community, hash)) = &withdrawn {
                        let child = tx.conn().consent_withdrawn_by(*community, hash).await?;
                        if child != Some(user) {
                            return Err(DomainError::LinkExpired.into());
                        }
                        let object = (ObjectKind::User, Some(user.0));
                        record(
                            tx,
                            None,
                            AuditAction::ParentalConsentWithdrawn,
                            object,
                            Some(*community),
                        );
                    }
                    if !tx.conn().communities_owned_by(user).await?.is_empty() {
                        return Err(DomainError::Conflict(
                            "you own a community: hand each one on to another member (its \
                             settings, Ownership) before deleting your account",
                        )
                        .into());
                    }
                    let row = tx
                        .conn()
                        .user(user)
                        .await?
                        .ok_or(DomainError::NotFound("account"))?;
                    let mail_jobs = tx.conn().job_ids_for(user, MAIL_JOB).await?;
                    let exports = tx.conn().export_ids_of(user).await?;
                    // Held messages and those a community keeps under "Deleted user" are let
                    // go of first, so that the erasure plan passes them by.
                    let mut held = Vec::new();
                    for (hold, community, name, reason) in tx.conn().holds_on(user).await? {
                        let messages = tx.conn().hold_messages(hold, user, community).await?;
                        held.push(crate::HeldPart {
                            community: name,
                            reason,
                            messages,
                        });
                    }
                    let kept_as_deleted_user = tx.conn().keep_messages_of(user).await?;
                    let mut request = request;
                    if !held.is_empty() {
                        // Completed in part: the held part stays for a reason of law, and the
                        // answer on record says what and why.
                        request.denial_reason = Some(
                            hearth_core::requests::DenialReason::LegalException
                                .code()
                                .into(),
                        );
                        let parts: Vec<String> = held
                            .iter()
                            .map(|h| {
                                format!(
                                    "the text of {} of your messages in {}, under a legal hold ({})",
                                    h.messages, h.community, h.reason
                                )
                            })
                            .collect();
                        request.answer = Some(format!(
                            "Your account and everything about you was deleted, except what the \
                             law lets us keep and what legal holds keep until released: {}.",
                            parts.join("; ")
                        ));
                    }
                    // A request from the public form is answered at the address it came
                    // from, read before closing it forgets that address.
                    let audience = crate::requests::audience(tx, &request).await?;
                    if fresh {
                        tx.conn().insert_privacy_request(&request, now).await?;
                    } else if !tx
                        .conn()
                        .update_privacy_request(&request, &was, now)
                        .await?
                    {
                        return Err(DomainError::Conflict("the request has just changed").into());
                    }
                    if let crate::requests::Audience::Public(_) = audience {
                        crate::requests::tell(
                            tx,
                            &audience,
                            &request,
                            "Your personal information was deleted",
                        )
                        .await?;
                    }
                    // A deleted person stays deleted: nothing brings their data back under
                    // their identifiers, kept only as keyed hashes.
                    crate::public_requests::suppress_identifiers_of(tx, &key, user, now).await?;
                    // Every webhook that received something of theirs is told, by a job
                    // that outlives them (it names them by their former id only).
                    crate::webhooks::queue_erasure_notices(tx, user, request.id, now).await?;
                    if let Some(admin) = admin {
                        let object = (ObjectKind::PrivacyRequest, Some(request.id));
                        let community = request.community_id.map(hearth_core::CommunityId);
                        record(
                            tx,
                            Some(admin),
                            AuditAction::RequestCompleted,
                            object,
                            community,
                        );
                    }
                    // The entry names the account by its former id: the one record the law
                    // lets outlive it, to prove the deletion was done. No one is its actor,
                    // since the account is gone when the entry is written.
                    let object = (ObjectKind::User, Some(user.0));
                    record(tx, None, action, object, None);
                    if !tx.delete_user_telling(user, progress.as_ref()).await? {
                        return Err(DomainError::NotFound("account").into());
                    }
                    // Should this process stop before the search index has let go of their
                    // words (just below), a job finishes it.
                    queue_search_purge(tx, now).await?;
                    Ok::<_, AppError>((row.email, mail_jobs, exports, held, kept_as_deleted_user))
                })
            })
            .await?;
        // This node forgets their sessions and tokens at once; the others within the
        // credential cache's few seconds (their rows are gone).
        self.credentials.forget_user(user);
        // The files follow the rows that made them visible. Should removing them fail, the
        // retention sweep removes files that no row names.
        if let Err(error) = self.blobs.remove_owner(user).await {
            tracing::error!(%error, "an erased person's files could not all be removed yet");
        }
        // Copies of their data, ready or being made (a job making one finds no row to finish
        // and its file is removed here or by the sweep).
        self.remove_export_files(&exports).await;
        if let Err(error) = self.purge_outbox_of(&mail_jobs, &address).await {
            tracing::error!(%error, "the outbox could not be purged of an erased person's mail");
        }
        // Their words leave the search index now, in short transactions between others'.
        // The erasure is done whatever happens here: a failure (or a caller that stops
        // waiting) leaves the rest to the job queued with it, and to the retention sweep.
        if let Err(error) = self.purge_search_index().await {
            tracing::error!(%error, "the search index could not be purged yet of erased words");
        }
        Ok(ErasureAnswer {
            request_id,
            completed_at: now,
            kept: catalog::kept_after_erasure(),
            held,
            kept_as_deleted_user,
        })
    }
}

/// The job kind that takes an erased person's words out of the search index.
pub const SEARCH_PURGE_JOB: &str = "search.purge";

/// Messages whose words leave the search index per transaction: about a tenth of a second
/// of the writer's time each.
const PURGE_BATCH: i64 = 400;

/// Queues the search index's purge, for when this process stops before it is done.
async fn queue_search_purge(tx: &mut Tx, now: Timestamp) -> Result<(), AppError> {
    // PostgreSQL's index lets go of a row with the row.
    if tx.conn().backend() != hearth_store::Backend::Sqlite {
        return Ok(());
    }
    let id = tx.next_id();
    tx.conn()
        .enqueue_job(
            &NewJob {
                id,
                kind: SEARCH_PURGE_JOB,
                payload: "{}",
                user: None,
                // One per erasure: a finished job's row outlives it by weeks, and a key
                // shared with it would swallow the next erasure's purge.
                dedupe_key: None,
                run_at: now,
                every_ms: None,
                max_attempts: crate::DEFAULT_ATTEMPTS,
            },
            now,
        )
        .await?;
    Ok(())
}

/// Runs the search index's purge as a job.
struct SearchPurger;

impl JobHandler for SearchPurger {
    fn kind(&self) -> &'static str {
        SEARCH_PURGE_JOB
    }

    fn run<'a>(&'a self, app: &'a App, _job: &'a JobRow) -> BoxFuture<'a, Result<(), String>> {
        Box::pin(async move {
            app.purge_search_index()
                .await
                .map(drop)
                .map_err(|e| e.to_string())
        })
    }
}

impl App {
    /// Lets a job purge the search index of erased words.
    pub(crate) fn start_search_purges(&self) {
        self.register_job_handler(std::sync::Arc::new(SearchPurger));
    }

    /// Takes every erased message's words out of the search index, a batch per
    /// transaction; returns how many.
    pub(crate) async fn purge_search_index(&self) -> Result<u64, AppError> {
        if !self
            .store
            .reader()
            .await?
            .conn()
            .search_purge_pending()
            .await?
        {
            return Ok(0);
        }
        let started = std::time::Instant::now();
        let mut purged = 0;
        let mut batches = 0;
        loop {
            let batch = self
                .store
                .write(|tx| {
                    Box::pin(
                        async move { Ok::<_, AppError>(tx.purge_search_batch(PURGE_BATCH).await?) },
                    )
                })
                .await?;
            purged += batch;
            batches += 1;
            if batch < PURGE_BATCH.unsigned_abs() {
                if purged > 0 {
                    tracing::debug!(
                        messages = purged,
                        batches,
                        ms = started.elapsed().as_secs_f64() * 1000.0,
                        "erased words purged from the search index"
                    );
                }
                return Ok(purged);
            }
        }
    }
}
