//! A person's copy of their data (the rights to know specific pieces, to access and to
//! portability): asked for with the password again, made by a job, offered for download to
//! that person alone for a week, then deleted.
//!
//! The copy is a ZIP written as a stream: one JSON file per kind of data the catalog declares
//! (`data/`), each naming its versioned JSON Schema (`schemas/`, shipped too), the same rows as
//! CSV (`csv/`), the person's uploaded files and picture (`files/`), an `index.html` that opens
//! offline in any browser, and a `manifest.json` with every file's size and SHA-256. Rows pass
//! through one at a time, so memory stays flat however much someone wrote.

mod archive;

use crate::audit::record;
use crate::jobs::JobHandler;
use crate::mail::{Letter, queue_mail};
use crate::privacy::ChoiceBy;
use crate::{Actor, App, AppError};
use futures_util::future::BoxFuture;
use hearth_core::audit::{AuditAction, ObjectKind};
use hearth_core::catalog::EXPORT_DAYS;
use hearth_core::requests::{LawProfile, RequestKind, RequestState, RequestStep};
use hearth_core::{DomainError, Timestamp, UserId};
use hearth_store::{ExportRecord, JobRow, NewJob, PrivacyRequestRow};
use std::path::PathBuf;
use std::sync::Arc;

/// The job kind that makes a copy.
pub const EXPORT_JOB: &str = "privacy.export";

/// Attempts a copy gets before it shows as failed.
const EXPORT_ATTEMPTS: i64 = 3;

/// Hours after which a copy still in the making is taken for failed.
const STALLED_HOURS: i64 = 24;

/// Days a failed copy's row stays to say why, before the sweep deletes it.
const FAILED_SHOWN_DAYS: i64 = 7;

/// What dated data (messages, files, activity) a copy covers. Account-wide data is in every
/// copy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportRange {
    /// The twelve months before the request: the law's default.
    LastTwelveMonths,
    /// From one instant up to (not including) another.
    Between {
        /// The first instant.
        from: Timestamp,
        /// The instant after the last.
        to: Timestamp,
    },
    /// Everything held.
    Everything,
}

impl ExportRange {
    /// Refuses a range that runs backwards.
    pub(crate) fn check(self) -> Result<(), AppError> {
        match self {
            ExportRange::Between { from, to } if from.0 >= to.0 => {
                Err(DomainError::invalid("to", "must come after from").into())
            }
            _ => Ok(()),
        }
    }

    /// The bounds, as of `now`; none for everything.
    fn bounds(self, now: Timestamp) -> Option<(Timestamp, Timestamp)> {
        match self {
            // Up to and including the request itself.
            ExportRange::LastTwelveMonths => Some((now.minus_months(12), now.plus_seconds(1))),
            ExportRange::Between { from, to } => Some((from, to)),
            ExportRange::Everything => None,
        }
    }
}

/// Where a copy stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportState {
    /// The job is making it.
    Preparing,
    /// It can be downloaded until it expires.
    Ready,
    /// It could not be made; the error says why.
    Failed,
}

/// A copy, as its person sees it.
#[derive(Debug, Clone)]
pub struct ExportInfo {
    /// Its id.
    pub id: i64,
    /// The access request it answers.
    pub request_id: i64,
    /// Where it stands.
    pub state: ExportState,
    /// What dated data it covers: from (none: the start) ...
    pub from: Option<Timestamp>,
    /// ... up to (none: when it was made).
    pub to: Option<Timestamp>,
    /// When it was asked for.
    pub requested_at: Timestamp,
    /// When it was ready.
    pub ready_at: Option<Timestamp>,
    /// When it stops being offered.
    pub expires_at: Option<Timestamp>,
    /// Its size in bytes, once ready.
    pub bytes: Option<i64>,
    /// The SHA-256 of the file, once ready.
    pub sha256: Option<String>,
    /// Why it failed, in plain words.
    pub error: Option<String>,
}

impl ExportInfo {
    /// Whether it can be downloaded at `now`: ready, and not yet expired.
    pub fn offered(&self, now: Timestamp) -> bool {
        self.state == ExportState::Ready && self.expires_at.is_some_and(|at| at.0 > now.0)
    }

    pub(crate) fn from_record(record: ExportRecord) -> Result<Self, AppError> {
        let state = match record.state.as_str() {
            "preparing" => ExportState::Preparing,
            "ready" => ExportState::Ready,
            "failed" => ExportState::Failed,
            other => {
                return Err(AppError::Internal(format!(
                    "export {} has an unknown state {other:?}",
                    record.id
                )));
            }
        };
        Ok(Self {
            request_id: record.request_id,
            id: record.id,
            state,
            from: record.range_from.map(Timestamp),
            to: record.range_to.map(Timestamp),
            requested_at: Timestamp(record.created_at),
            ready_at: record.ready_at.map(Timestamp),
            expires_at: record.expires_at.map(Timestamp),
            bytes: record.bytes,
            sha256: record.sha256,
            error: record.error,
        })
    }
}

/// The job's payload.
#[derive(serde::Serialize, serde::Deserialize)]
struct ExportJob {
    export: i64,
}

/// Makes copies.
struct ExportMaker;

impl JobHandler for ExportMaker {
    fn kind(&self) -> &'static str {
        EXPORT_JOB
    }

    fn run<'a>(&'a self, app: &'a App, job: &'a JobRow) -> BoxFuture<'a, Result<(), String>> {
        Box::pin(async move { app.make_export(job).await })
    }
}

impl App {
    /// Starts making copies through the jobs table.
    pub(crate) fn start_exports(&self) {
        self.register_job_handler(Arc::new(ExportMaker));
    }

    pub(crate) fn export_path(&self, id: i64) -> PathBuf {
        self.config.exports_dir.join(format!("{id}.zip"))
    }

    /// Asks for a copy of the caller's data covering `range`, after they enter their password
    /// again (and a second factor, when on). The copy is made by a job; the answer is the
    /// copy, preparing. The request is on record at once, verified and in progress.
    pub async fn request_copy(
        &self,
        actor: &Actor,
        password: String,
        code: Option<&str>,
        range: ExportRange,
        by: ChoiceBy,
    ) -> Result<ExportInfo, AppError> {
        // What needs no password first: each try of one counts against its owner.
        range.check()?;
        self.reauthenticate(actor, password, code).await?;
        let now = Timestamp::now();
        let request = self
            .new_request_row(
                RequestKind::Access,
                Some(actor.user),
                None,
                self.config.law,
                by,
                now,
            )
            .await?;
        self.start_copy(actor.user, range, request, true, true, None)
            .await
    }

    /// Makes a copy of the data of the account named `login` (username or address) for an
    /// operator carrying out a request that came another way, once they verified the
    /// requester themself: made at once, here; returns it and where its file is.
    pub async fn export_as_operator(
        &self,
        login: &str,
        range: ExportRange,
    ) -> Result<(ExportInfo, PathBuf), AppError> {
        let user = self.account_named(login).await?;
        // Made here and now, with no job: a running server must not make it at once too.
        let now = Timestamp::now();
        let request = self
            .new_request_row(
                RequestKind::Access,
                Some(user),
                None,
                self.config.law,
                ChoiceBy::Operator,
                now,
            )
            .await?;
        let started = self
            .start_copy(user, range, request, true, false, None)
            .await?;
        self.finish_export(started.id, true)
            .await
            .map_err(AppError::Internal)?;
        let made = {
            let mut reader = self.store.reader().await?;
            reader.conn().export(started.id).await?
        };
        let made = made.ok_or(DomainError::NotFound("export"))?;
        Ok((ExportInfo::from_record(made)?, self.export_path(started.id)))
    }

    /// Records a request for a copy, in progress (inserted when `fresh`, else moved on from
    /// where it stood: an admin approved it, or ran a failed copy again), and with `queued`,
    /// queues the job that makes it. A person has one queued copy in the making at a time:
    /// asking again meanwhile answers with that one.
    pub(crate) async fn start_copy(
        &self,
        user: UserId,
        range: ExportRange,
        mut request: PrivacyRequestRow,
        fresh: bool,
        queued: bool,
        admin: Option<(UserId, bool)>,
    ) -> Result<ExportInfo, AppError> {
        range.check()?;
        let now = Timestamp::now();
        let law = LawProfile::parse(&request.law).unwrap_or(self.config.law);
        let was = request.state.clone();
        let mut lifecycle = crate::requests::lifecycle_of(&request)?;
        if lifecycle.state == RequestState::InProgress {
            // Run again after a failure: it stays in progress.
            lifecycle.state = RequestState::Verified;
        }
        let started = lifecycle
            .after(RequestStep::Start, law)
            .map_err(|e| AppError::Internal(format!("an access request cannot start: {e}")))?;
        request.state = started.state.code().into();
        request.details = None;
        request.failure = None;
        let bounds = range.bounds(now);
        let export = ExportRecord {
            id: self.store.next_id(),
            user_id: user.0,
            request_id: request.id,
            state: "preparing".into(),
            range_from: bounds.map(|(from, _)| from.0),
            range_to: bounds.map(|(_, to)| to.0),
            bytes: None,
            sha256: None,
            error: None,
            created_at: now.0,
            ready_at: None,
            expires_at: None,
        };
        let payload = serde_json::to_string(&ExportJob { export: export.id })
            .map_err(|e| AppError::Internal(format!("cannot write an export job: {e}")))?;
        let made = self
            .store
            .write(move |tx| {
                Box::pin(async move {
                    if fresh
                        && queued
                        && let Some(making) = tx.conn().preparing_export_of(user).await?
                    {
                        return Ok(making);
                    }
                    if let Some((_, true)) = admin
                        && !tx
                            .conn()
                            .take_privacy_request_failure(request.id, now)
                            .await?
                    {
                        return Err(
                            DomainError::Conflict("nothing about this request failed").into()
                        );
                    }
                    if fresh {
                        tx.conn().insert_privacy_request(&request, now).await?;
                    } else if !tx
                        .conn()
                        .update_privacy_request(&request, &was, now)
                        .await?
                    {
                        return Err(DomainError::Conflict("the request has just changed").into());
                    }
                    if let Some((admin, retry)) = admin {
                        let action = if retry {
                            AuditAction::RequestRetried
                        } else {
                            AuditAction::RequestApproved
                        };
                        let object = (ObjectKind::PrivacyRequest, Some(request.id));
                        let community = request.community_id.map(hearth_core::CommunityId);
                        record(tx, Some(admin), action, object, community);
                    }
                    tx.conn().insert_export(&export).await?;
                    let object = (ObjectKind::User, Some(user.0));
                    // Asked on the public form or by a parent, it has no actor: no one was
                    // signed in.
                    let by_person =
                        !crate::public_requests::is_public(&request) && request.manner != "parent";
                    let actor = by_person.then_some(user);
                    record(tx, actor, AuditAction::CopyRequested, object, None);
                    if !queued {
                        return Ok(export);
                    }
                    let job = tx.next_id();
                    tx.conn()
                        .enqueue_job(
                            &NewJob {
                                id: job,
                                kind: EXPORT_JOB,
                                payload: &payload,
                                user: Some(user),
                                dedupe_key: None,
                                run_at: now,
                                every_ms: None,
                                max_attempts: EXPORT_ATTEMPTS,
                            },
                            now,
                        )
                        .await?;
                    Ok::<_, AppError>(export)
                })
            })
            .await?;
        ExportInfo::from_record(made)
    }

    /// The caller's copies, newest first (the last twenty).
    pub async fn my_exports(&self, actor: &Actor) -> Result<Vec<ExportInfo>, AppError> {
        let records = {
            let mut reader = self.store.reader().await?;
            reader.conn().exports_of(actor.user).await?
        };
        records.into_iter().map(ExportInfo::from_record).collect()
    }

    /// One of the caller's copies; none is anyone else's to see.
    pub async fn my_export(&self, actor: &Actor, id: i64) -> Result<ExportInfo, AppError> {
        let record = {
            let mut reader = self.store.reader().await?;
            reader.conn().export(id).await?
        };
        match record {
            Some(record) if record.user_id == actor.user.0 => ExportInfo::from_record(record),
            _ => Err(DomainError::NotFound("export").into()),
        }
    }

    /// The file of one of the caller's ready, unexpired copies, to stream to them.
    pub async fn export_file(
        &self,
        actor: &Actor,
        id: i64,
    ) -> Result<(ExportInfo, PathBuf), AppError> {
        let export = self.my_export(actor, id).await?;
        if !export.offered(Timestamp::now()) {
            return Err(DomainError::NotFound("export").into());
        }
        Ok((export, self.export_path(id)))
    }

    /// Runs an export job: makes the copy, offers it, completes the request and mails its
    /// person. A copy already made (a repeat after a crash) is left as it is.
    async fn make_export(&self, job: &JobRow) -> Result<(), String> {
        let payload: ExportJob = serde_json::from_str(&job.payload)
            .map_err(|e| format!("the export job's payload cannot be read: {e}"))?;
        self.finish_export(payload.export, job.attempts >= job.max_attempts)
            .await
    }

    /// Makes the copy `id` if it is still being prepared, and offers it; on failure, notes
    /// why on the copy (as failed, on the `last` attempt).
    async fn finish_export(&self, id: i64, last: bool) -> Result<(), String> {
        let stored = {
            let mut reader = self.store.reader().await.map_err(|e| e.to_string())?;
            reader.conn().export(id).await.map_err(|e| e.to_string())?
        };
        let Some(export) = stored.filter(|r| r.state == "preparing") else {
            return Ok(());
        };
        let id = export.id;
        let made = archive::make(self, &export, &self.export_path(id)).await;
        let (bytes, sha256) = match made {
            Ok(made) => made,
            Err(error) => {
                if last {
                    self.note_request_failure(
                        export.request_id,
                        &format!("The copy could not be made: {error}"),
                    )
                    .await;
                }
                let noted = error.clone();
                let _ = self
                    .store
                    .write(move |tx| {
                        Box::pin(async move {
                            tx.conn().note_export_error(id, &noted, last).await?;
                            Ok::<_, AppError>(())
                        })
                    })
                    .await;
                return Err(error);
            }
        };
        let user = UserId(export.user_id);
        let request = export.request_id;
        let now = Timestamp::now();
        let expires = now.plus_seconds(i64::from(EXPORT_DAYS) * 24 * 3600);
        let offered = self
            .store
            .write(move |tx| {
                Box::pin(async move {
                    if !tx
                        .conn()
                        .set_export_ready(id, bytes, &sha256, now, expires)
                        .await?
                    {
                        return Ok(false);
                    }
                    // A request from the public form is answered at the address it came
                    // from (and to the agent who asked), read before completing it forgets
                    // that address.
                    let asked = tx.conn().privacy_request(request).await?;
                    let by_parent = asked.as_ref().is_some_and(|r| r.manner == "parent");
                    let public = match asked {
                        Some(row) => match crate::requests::audience(tx, &row).await? {
                            crate::requests::Audience::Public(v) => Some((row, v)),
                            _ => None,
                        },
                        None => None,
                    };
                    tx.conn()
                        .complete_request_in_progress(
                            request,
                            "Your copy is ready: download it from its page within a week.",
                            now,
                        )
                        .await?;
                    let object = (ObjectKind::User, Some(user.0));
                    record(tx, None, AuditAction::CopyProvided, object, None);
                    if let Some((mut row, verification)) = public {
                        row.state = RequestState::Completed.code().into();
                        crate::public_requests::tell_public(
                            tx,
                            &verification,
                            &row,
                            "The copy of your personal information is ready",
                        )
                        .await?;
                    } else if let Some(row) = tx.conn().user(user).await? {
                        // A parent's copy is theirs to download from their page; the child is
                        // told it was made.
                        let letter = if by_parent {
                            Letter::ParentCopyMade {
                                username: row.username.clone(),
                            }
                        } else {
                            Letter::ExportReady {
                                username: row.username.clone(),
                                export: id,
                                days: EXPORT_DAYS,
                            }
                        };
                        queue_mail(tx, &row.email, Some(user), letter, None).await?;
                    }
                    Ok::<_, AppError>(true)
                })
            })
            .await
            .map_err(|e| e.to_string())?;
        if !offered {
            // Its person was erased, or the copy removed, while it was being made.
            self.remove_export_files(&[id]).await;
        }
        Ok(())
    }

    /// Deletes copies whose offer lapsed, files and rows, and files no copy on record owns
    /// (a copy whose person was erased while it was being made, a draft a crash left);
    /// marks copies in the making for over a day as failed. Returns how many copies went.
    pub(crate) async fn sweep_exports(&self, now: Timestamp) -> Result<u64, AppError> {
        let stalled_before = now.plus_seconds(-STALLED_HOURS * 3600);
        self.store
            .write(move |tx| {
                Box::pin(async move {
                    tx.conn()
                        .fail_stalled_exports(
                            stalled_before,
                            "it was not finished in time; ask for a new one",
                        )
                        .await
                })
            })
            .await?;
        let known = {
            let mut reader = self.store.reader().await?;
            reader.conn().all_export_ids().await?
        };
        self.remove_files_of_no_export(&known, now).await;
        let failed_before = now.plus_seconds(-FAILED_SHOWN_DAYS * 24 * 3600);
        let lapsed = {
            let mut reader = self.store.reader().await?;
            reader.conn().lapsed_exports(now, failed_before).await?
        };
        self.remove_export_files(&lapsed).await;
        let ids = lapsed.clone();
        self.store
            .write(move |tx| Box::pin(async move { Ok(tx.conn().delete_exports(&ids).await?) }))
            .await
    }

    /// Removes the files of copies, drafts included (those not made yet have none).
    pub(crate) async fn remove_export_files(&self, ids: &[i64]) {
        let ids: std::collections::HashSet<i64> = ids.iter().copied().collect();
        self.remove_export_files_where(move |id, _| ids.contains(&id))
            .await;
    }

    /// Removes copies' files that no copy on record owns: finished ones at once, drafts once
    /// an hour old (one may be being written).
    async fn remove_files_of_no_export(&self, known: &[i64], now: Timestamp) {
        let known: std::collections::HashSet<i64> = known.iter().copied().collect();
        let draft_before = std::time::UNIX_EPOCH
            + std::time::Duration::from_millis(now.plus_seconds(-3600).0.max(0) as u64);
        self.remove_export_files_where(move |id, (draft, modified)| {
            !known.contains(&id) && (!draft || modified.is_some_and(|at| at < draft_before))
        })
        .await;
    }

    /// Removes the files of the exports folder (`<id>.zip`, and drafts `.<id>.*`) that
    /// `doomed` picks, given the copy's id, whether the file is a draft, and when it was
    /// last written.
    async fn remove_export_files_where(
        &self,
        doomed: impl Fn(i64, (bool, Option<std::time::SystemTime>)) -> bool + Send + 'static,
    ) {
        let dir = self.config.exports_dir.clone();
        let removed = tokio::task::spawn_blocking(move || {
            let Ok(entries) = std::fs::read_dir(&dir) else {
                return;
            };
            for entry in entries.flatten() {
                let name = entry.file_name().to_string_lossy().into_owned();
                let (draft, id) = match name.strip_prefix('.') {
                    Some(rest) => (true, rest.split('.').next()),
                    None => (false, name.strip_suffix(".zip")),
                };
                let Some(id) = id.and_then(|id| id.parse::<i64>().ok()) else {
                    continue;
                };
                let modified = entry.metadata().and_then(|m| m.modified()).ok();
                if doomed(id, (draft, modified))
                    && let Err(error) = std::fs::remove_file(entry.path())
                    && error.kind() != std::io::ErrorKind::NotFound
                {
                    tracing::error!(%error, export = id, "a copy could not be removed");
                }
            }
        })
        .await;
        if let Err(error) = removed {
            tracing::error!(%error, "removing copies stopped");
        }
    }
}
