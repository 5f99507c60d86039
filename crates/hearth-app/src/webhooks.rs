//! Outgoing webhooks: a community's admins send chosen channels' new messages to an outside
//! URL. A dispatcher (a schedule in the jobs table) reads the event feed after each
//! webhook's place in it and queues one delivery job per message a recipient may receive;
//! the job signs the body with HMAC-SHA256, posts it, and is retried by the jobs table, with
//! every attempt in the delivery log. What a third party may receive is decided twice, when
//! queued and again when sent, so a member who opts out in between is not sent. Erasing a
//! person tells every webhook that received something of theirs.

use crate::audit::record;
use crate::communities::{require, role_in};
use crate::jobs::JobHandler;
use crate::{Actor, App, AppError};
use futures_util::future::BoxFuture;
use hearth_core::audit::{AuditAction, ObjectKind};
use hearth_core::model::ChannelKind;
use hearth_core::permissions::Action;
use hearth_core::webhooks::{AuthorChoices, Recipient, check_url, may_receive};
use hearth_core::{ChannelId, CommunityId, DomainError, MessageId, Timestamp, UserId};
use hearth_store::{DeliveryRow, JobRow, NewJob, Tx, WebhookRow};
use hmac::{Hmac, KeyInit, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use std::sync::Arc;
use std::time::Duration;

/// The dispatcher's schedule.
pub const WEBHOOK_DISPATCH: &str = "webhooks.dispatch";
/// One delivery.
pub const WEBHOOK_DELIVERY: &str = "webhooks.deliver";
/// How often the dispatcher looks for new messages, in milliseconds.
const DISPATCH_EVERY_MS: i64 = 5_000;
/// Messages one webhook is handed per round.
const DISPATCH_BATCH: i64 = 500;
/// Attempts at one delivery before it is marked failed.
const DELIVERY_ATTEMPTS: i64 = 5;
/// Deliveries a log page shows.
const LOG_SHOWN: i64 = 100;
/// Webhooks one community may have.
const MAX_WEBHOOKS: usize = 20;

/// A webhook to set up.
#[derive(Debug, Clone)]
pub struct NewWebhook {
    /// The recipient, as the admin names it.
    pub name: String,
    /// Where to send.
    pub url: String,
    /// The channels whose new messages it receives.
    pub channels: Vec<ChannelId>,
    /// Service provider or third party.
    pub recipient: Recipient,
    /// For a service provider: the words of the contract that binds it (its terms on
    /// processing only for the community, as the law asks of a service provider).
    pub attestation: Option<String>,
}

/// A webhook as its admins see it (never its key, which is shown once).
#[derive(Debug, Clone)]
pub struct WebhookInfo {
    /// Its id.
    pub id: i64,
    /// The community.
    pub community: CommunityId,
    /// The recipient's name.
    pub name: String,
    /// Where it sends.
    pub url: String,
    /// The channels it receives.
    pub channels: Vec<ChannelId>,
    /// Service provider or third party.
    pub recipient: Recipient,
    /// The contract's words, for a service provider.
    pub attestation: Option<String>,
    /// When it was set up.
    pub created_at: Timestamp,
}

impl WebhookInfo {
    fn from_row(row: &WebhookRow) -> Result<Self, AppError> {
        Ok(Self {
            id: row.id,
            community: CommunityId(row.community_id),
            name: row.name.clone(),
            url: row.url.clone(),
            channels: row.channels().into_iter().map(ChannelId).collect(),
            recipient: Recipient::parse(&row.recipient).ok_or_else(|| {
                AppError::Internal(format!("webhook {} has no recipient", row.id))
            })?,
            attestation: row.attestation.clone(),
            created_at: Timestamp(row.created_at),
        })
    }
}

#[derive(Serialize, Deserialize)]
struct DeliveryJob {
    delivery: i64,
}

struct Dispatcher;

impl JobHandler for Dispatcher {
    fn kind(&self) -> &'static str {
        WEBHOOK_DISPATCH
    }

    fn run<'a>(&'a self, app: &'a App, _job: &'a JobRow) -> BoxFuture<'a, Result<(), String>> {
        Box::pin(async move { app.dispatch_webhooks().await.map_err(|e| e.to_string()) })
    }
}

struct Deliverer;

impl JobHandler for Deliverer {
    fn kind(&self) -> &'static str {
        WEBHOOK_DELIVERY
    }

    fn run<'a>(&'a self, app: &'a App, job: &'a JobRow) -> BoxFuture<'a, Result<(), String>> {
        Box::pin(async move {
            let payload: DeliveryJob = serde_json::from_str(&job.payload)
                .map_err(|e| format!("the delivery job's payload cannot be read: {e}"))?;
            app.deliver(payload.delivery, job.attempts >= job.max_attempts)
                .await
        })
    }
}

/// Queues the job that makes delivery `id`.
async fn queue_delivery(tx: &mut Tx, id: i64, now: Timestamp) -> Result<(), AppError> {
    let payload = serde_json::to_string(&DeliveryJob { delivery: id })
        .map_err(|e| AppError::Internal(format!("a delivery job: {e}")))?;
    let job = tx.next_id();
    tx.conn()
        .enqueue_job(
            &NewJob {
                id: job,
                kind: WEBHOOK_DELIVERY,
                payload: &payload,
                user: None,
                dedupe_key: None,
                run_at: now,
                every_ms: None,
                max_attempts: DELIVERY_ATTEMPTS,
            },
            now,
        )
        .await?;
    Ok(())
}

/// Queues, in the erasure's transaction, the notice to every webhook that received data of
/// `user` that they are erased (`request`: the request to delete).
pub(crate) async fn queue_erasure_notices(
    tx: &mut Tx,
    user: UserId,
    request: i64,
    now: Timestamp,
) -> Result<(), AppError> {
    for webhook in tx.conn().webhooks_that_received(user).await? {
        let id = tx.next_id();
        tx.conn()
            .insert_delivery(&DeliveryRow {
                id,
                webhook_id: webhook,
                event: "person.erased".into(),
                object_id: user.0,
                author_id: None,
                request_id: Some(request),
                state: "queued".into(),
                attempts: 0,
                status_code: None,
                error: None,
                created_at: now.0,
                delivered_at: None,
            })
            .await?;
        queue_delivery(tx, id, now).await?;
    }
    Ok(())
}

/// Re-queues the failed deliveries a request's step made; returns how many.
pub(crate) async fn requeue_request_deliveries(
    tx: &mut Tx,
    request: i64,
) -> Result<usize, AppError> {
    let failed = tx.conn().failed_deliveries_of_request(request).await?;
    let now = Timestamp::now();
    for id in &failed {
        tx.conn().requeue_delivery(*id, now).await?;
        queue_delivery(tx, *id, now).await?;
    }
    Ok(failed.len())
}

fn signature(secret: &str, timestamp: i64, body: &str) -> Result<String, String> {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(secret.as_bytes())
        .map_err(|_| "the webhook's key cannot be used".to_string())?;
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body.as_bytes());
    let bytes = mac.finalize().into_bytes();
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// Whether `ip` is one a community's webhook may not reach unless the operator allows it:
/// this machine, private networks, link-local (cloud metadata) and the like.
fn private_address(ip: std::net::IpAddr) -> bool {
    match ip {
        std::net::IpAddr::V4(v4) => {
            let [a, b, c, _] = v4.octets();
            v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_broadcast()
                || v4.is_multicast()
                || a == 0
                // Shared address space (100.64.0.0/10), IETF protocol assignments
                // (192.0.0.0/24), benchmarking (198.18.0.0/15), reserved (240.0.0.0/4).
                || (a == 100 && (b & 0xc0) == 64)
                || (a == 192 && b == 0 && c == 0)
                // Documentation ranges (TEST-NET-1, 2 and 3).
                || (a == 192 && b == 0 && c == 2)
                || (a == 198 && b == 51 && c == 100)
                || (a == 203 && b == 0 && c == 113)
                || (a == 198 && (b & 0xfe) == 18)
                || a >= 240
        }
        std::net::IpAddr::V6(v6) => {
            let s = v6.segments();
            v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                // Unique local (fc00::/7), link-local (fe80::/10), old site-local (fec0::/10).
                || (s[0] & 0xfe00) == 0xfc00
                || (s[0] & 0xffc0) == 0xfe80
                || (s[0] & 0xffc0) == 0xfec0
                // 6to4 (2002::/16) and NAT64 (64:ff9b::/96) carry an IPv4 address; so do
                // IPv4-compatible (::/96) and IPv4-mapped addresses.
                || s[0] == 0x2002
                // Teredo (2001::/32) and documentation (2001:db8::/32).
                || (s[0] == 0x2001 && (s[1] == 0 || s[1] == 0x0db8))
                || (s[0] == 0x64 && s[1] == 0xff9b)
                || (s[..6] == [0, 0, 0, 0, 0, 0])
                || v6.to_ipv4_mapped().is_some_and(|v4| {
                    private_address(std::net::IpAddr::V4(v4))
                })
        }
    }
}

/// Masks (or unmasks) a webhook's 32-byte key under the instance key.
fn mask_secret(key: &crate::InstanceKey, nonce: &[u8], data: &[u8]) -> Result<Vec<u8>, AppError> {
    key.mask(
        crate::instance_key::KeyedPurpose::WebhookSecret,
        &[nonce],
        data,
    )
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    text.len()
        .is_multiple_of(2)
        .then(|| {
            (0..text.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
                .collect()
        })
        .flatten()
}

/// The generic words for any failure to reach a recipient: which kind of failure it was
/// would let an admin map the operator's network.
const UNREACHABLE: &str = "the recipient could not be reached";

/// A webhook may carry only channels of its community that its maker may read: an admin who
/// is not in a private channel cannot send its words outside by way of a webhook.
async fn check_channels(
    conn: &mut hearth_store::Conn<'_>,
    community: CommunityId,
    user: UserId,
    channels: &[ChannelId],
) -> Result<(), AppError> {
    for channel in channels {
        let readable = match crate::chat::access(conn, user, *channel).await {
            Ok(access) => access.channel.community_id == Some(community) && access.may_read(),
            Err(AppError::Domain(DomainError::NotFound(_))) => false,
            Err(other) => return Err(other),
        };
        if !readable {
            return Err(DomainError::invalid(
                "channels",
                "must be channels of this community that you can read",
            )
            .into());
        }
    }
    Ok(())
}

impl App {
    /// Registers the dispatcher's and the deliveries' job handlers.
    pub(crate) fn start_webhook_jobs(&self) {
        self.register_job_handler(Arc::new(Dispatcher));
        self.register_job_handler(Arc::new(Deliverer));
    }

    /// Where `url` may be sent: the addresses its host has, each checked. Unless the
    /// operator allows private networks (`webhooks_allow_private_networks`), the address must
    /// be `https` on port 443 and no address may be on this machine or a private network;
    /// the request is then pinned to the addresses checked, so a second lookup cannot lead
    /// it elsewhere.
    async fn reachable(&self, url: &str) -> Result<(String, Vec<std::net::SocketAddr>), String> {
        let parsed =
            reqwest::Url::parse(url).map_err(|_| "the address cannot be read".to_string())?;
        let host = parsed.host_str().unwrap_or_default().to_string();
        let bare = host.trim_matches(['[', ']']).to_string();
        let port = parsed.port_or_known_default().unwrap_or(443);
        let open = self.config.webhooks_allow_private_networks;
        if !open && (parsed.scheme() != "https" || port != 443) {
            return Err("the address must be https on the usual port".into());
        }
        let addresses: Vec<std::net::SocketAddr> = match bare.parse::<std::net::IpAddr>() {
            Ok(ip) => vec![std::net::SocketAddr::new(ip, port)],
            Err(_) => tokio::net::lookup_host((bare.as_str(), port))
                .await
                .map_err(|_| "the address's host cannot be found".to_string())?
                .collect(),
        };
        if addresses.is_empty() {
            return Err("the address's host cannot be found".into());
        }
        if !open && addresses.iter().any(|a| private_address(a.ip())) {
            return Err(
                "the address is on this machine or a private network, which webhooks may not \
                 reach"
                    .into(),
            );
        }
        Ok((bare, addresses))
    }

    /// Sets up a webhook (admins). Returns it and its signing key, shown this once.
    pub async fn create_webhook(
        &self,
        actor: &Actor,
        community: CommunityId,
        new: NewWebhook,
    ) -> Result<(WebhookInfo, String), AppError> {
        let name = hearth_core::validate::name("name", &new.name)?;
        let url = new.url.trim().to_string();
        check_url(&url).map_err(|why| DomainError::invalid("url", why))?;
        if new.channels.is_empty() {
            return Err(DomainError::invalid("channels", "must name at least one channel").into());
        }
        let attestation = new
            .attestation
            .map(|a| a.trim().to_string())
            .filter(|a| !a.is_empty());
        if new.recipient == Recipient::ServiceProvider && attestation.is_none() {
            return Err(DomainError::invalid(
                "attestation",
                "a service provider needs the words of its contract on record",
            )
            .into());
        }
        if attestation
            .as_ref()
            .is_some_and(|a| a.chars().count() > 2000)
        {
            return Err(DomainError::invalid("attestation", "is too long").into());
        }
        {
            let mut reader = self.store.reader().await?;
            let role = role_in(&mut reader.conn(), community, actor.user).await?;
            require(role, Action::ManageWebhooks, "only admins set up webhooks")?;
            check_channels(&mut reader.conn(), community, actor.user, &new.channels).await?;
        }
        if let Err(why) = self.reachable(&url).await {
            tracing::debug!(%why, "a webhook's address was refused");
            return Err(DomainError::invalid(
                "url",
                "must be an https address on the internet that can be found",
            )
            .into());
        }
        let mut raw = [0u8; 32];
        let mut nonce = [0u8; 16];
        getrandom::fill(&mut raw)
            .and_then(|()| getrandom::fill(&mut nonce))
            .map_err(|e| AppError::Internal(format!("no randomness: {e}")))?;
        let secret = hex(&raw);
        let stored_secret = format!(
            "{}:{}",
            hex(&nonce),
            hex(&mask_secret(&self.key, &nonce, &raw)?)
        );
        let user = actor.user;
        let row = WebhookRow {
            id: self.store.next_id(),
            community_id: community.0,
            name,
            url,
            secret: stored_secret,
            channel_ids: new
                .channels
                .iter()
                .map(|c| c.0.to_string())
                .collect::<Vec<_>>()
                .join(","),
            recipient: new.recipient.code().into(),
            attestation,
            created_by: Some(user.0),
            created_at: Timestamp::now().0,
            dispatched_through: 0,
            removed_at: None,
        };
        let channels = new.channels.clone();
        let stored = self
            .store
            .write(move |tx| {
                Box::pin(async move {
                    let mut row = row;
                    let role = role_in(&mut tx.conn(), community, user).await?;
                    require(role, Action::ManageWebhooks, "only admins set up webhooks")?;
                    crate::terms::hold_for_terms(tx, community).await?;
                    if tx.conn().webhooks_of(community).await?.len() >= MAX_WEBHOOKS {
                        return Err(
                            DomainError::Conflict("a community has at most 20 webhooks").into()
                        );
                    }
                    check_channels(&mut tx.conn(), community, user, &channels).await?;
                    // From now on: what was posted before is not sent.
                    row.dispatched_through = tx.conn().last_event_seq().await?;
                    tx.conn().insert_webhook(&row).await?;
                    // The dispatcher's schedule, once for the whole instance, from the first
                    // webhook on.
                    let schedule = tx.next_id();
                    let key = format!("schedule:{WEBHOOK_DISPATCH}");
                    let now = Timestamp::now();
                    tx.conn()
                        .enqueue_job(
                            &NewJob {
                                id: schedule,
                                kind: WEBHOOK_DISPATCH,
                                payload: "{}",
                                user: None,
                                dedupe_key: Some(&key),
                                run_at: now,
                                every_ms: Some(DISPATCH_EVERY_MS),
                                max_attempts: 1,
                            },
                            now,
                        )
                        .await?;
                    let object = (ObjectKind::Webhook, Some(row.id));
                    record(
                        tx,
                        Some(user),
                        AuditAction::WebhookCreated,
                        object,
                        Some(community),
                    );
                    Ok::<_, AppError>(row)
                })
            })
            .await?;
        Ok((WebhookInfo::from_row(&stored)?, secret))
    }

    /// A community's webhooks (admins).
    pub async fn webhooks(
        &self,
        actor: &Actor,
        community: CommunityId,
    ) -> Result<Vec<WebhookInfo>, AppError> {
        self.require_in(
            actor,
            community,
            Action::ManageWebhooks,
            "only admins see the community's webhooks",
        )
        .await?;
        let mut reader = self.store.reader().await?;
        let rows = reader.conn().webhooks_of(community).await?;
        rows.iter().map(WebhookInfo::from_row).collect()
    }

    /// One webhook and its latest deliveries (admins).
    pub async fn webhook_log(
        &self,
        actor: &Actor,
        community: CommunityId,
        id: i64,
    ) -> Result<(WebhookInfo, Vec<DeliveryRow>), AppError> {
        self.require_in(
            actor,
            community,
            Action::ManageWebhooks,
            "only admins see the community's webhooks",
        )
        .await?;
        let mut reader = self.store.reader().await?;
        let row = reader
            .conn()
            .webhook(id)
            .await?
            .filter(|w| w.community_id == community.0)
            .ok_or(DomainError::NotFound("webhook"))?;
        let deliveries = reader.conn().deliveries_of(id, LOG_SHOWN).await?;
        Ok((WebhookInfo::from_row(&row)?, deliveries))
    }

    /// Removes a webhook (admins); nothing more is sent to it.
    pub async fn delete_webhook(
        &self,
        actor: &Actor,
        community: CommunityId,
        id: i64,
    ) -> Result<(), AppError> {
        let user = actor.user;
        self.store
            .write(move |tx| {
                Box::pin(async move {
                    let role = role_in(&mut tx.conn(), community, user).await?;
                    require(role, Action::ManageWebhooks, "only admins remove webhooks")?;
                    if !tx
                        .conn()
                        .remove_webhook(community, id, Timestamp::now())
                        .await?
                    {
                        return Err(DomainError::NotFound("webhook").into());
                    }
                    let object = (ObjectKind::Webhook, Some(id));
                    record(
                        tx,
                        Some(user),
                        AuditAction::WebhookDeleted,
                        object,
                        Some(community),
                    );
                    Ok::<_, AppError>(())
                })
            })
            .await
    }

    /// Whether a message may go to `recipient` now, given its author's choices and whether
    /// it is sensitive (a private channel's): its author when it may, none when it may not or
    /// there is nothing to send any more.
    async fn may_send(
        &self,
        recipient: Recipient,
        maker: Option<i64>,
        message: MessageId,
    ) -> Result<Option<UserId>, AppError> {
        let mut reader = self.store.reader().await?;
        let mut conn = reader.conn();
        let Some(found) = conn.message(message).await? else {
            return Ok(None);
        };
        let (Some(author), None) = (found.author_id, found.deleted_at) else {
            return Ok(None);
        };
        let Some(person) = conn.user(author).await? else {
            return Ok(None);
        };
        let Some(channel) = conn.channel(found.channel_id).await? else {
            return Ok(None);
        };
        let choices = AuthorChoices {
            sale_opt_out: person.sale_opt_out_at.is_some(),
            sensitive_limit: person.sensitive_limit_at.is_some(),
        };
        let sensitive = channel.kind != ChannelKind::Public;
        // A private channel's words go out only while the webhook's maker could read them:
        // one who left the channel (or whose account is gone) no longer sends them.
        if sensitive {
            let still_member = match maker {
                Some(maker) => conn
                    .channel_with_access(found.channel_id, UserId(maker))
                    .await?
                    .is_some_and(|(_, member, _)| member),
                None => false,
            };
            if !still_member {
                return Ok(None);
            }
        }
        Ok(may_receive(recipient, choices, sensitive).then_some(author))
    }

    /// One round of the dispatcher: for every webhook, the new messages of its channels
    /// that its recipient may receive are queued for delivery.
    pub(crate) async fn dispatch_webhooks(&self) -> Result<(), AppError> {
        let hooks = {
            let mut reader = self.store.reader().await?;
            reader.conn().all_webhooks().await?
        };
        for hook in hooks {
            let Some(recipient) = Recipient::parse(&hook.recipient) else {
                continue;
            };
            let posts = {
                let mut reader = self.store.reader().await?;
                reader
                    .conn()
                    .posts_after(hook.dispatched_through, &hook.channels(), DISPATCH_BATCH)
                    .await?
            };
            let through = match posts.last() {
                Some((seq, _)) => *seq,
                None => continue,
            };
            let mut authors = Vec::new();
            for (_, message) in &posts {
                if let Some(author) = self
                    .may_send(recipient, hook.created_by, MessageId(*message))
                    .await?
                {
                    authors.push((*message, Some(author)));
                }
            }
            let (id, was) = (hook.id, hook.dispatched_through);
            let ids: Vec<i64> = authors.iter().map(|_| self.store.next_id()).collect();
            self.store
                .write(move |tx| {
                    Box::pin(async move {
                        // Another node handed these on already.
                        if !tx.conn().advance_webhook(id, was, through).await? {
                            return Ok::<_, AppError>(());
                        }
                        let now = Timestamp::now();
                        for ((message, author), delivery) in authors.iter().zip(&ids) {
                            tx.conn()
                                .insert_delivery(&DeliveryRow {
                                    id: *delivery,
                                    webhook_id: id,
                                    event: "message.posted".into(),
                                    object_id: *message,
                                    author_id: author.map(|a| a.0),
                                    request_id: None,
                                    state: "queued".into(),
                                    attempts: 0,
                                    status_code: None,
                                    error: None,
                                    created_at: now.0,
                                    delivered_at: None,
                                })
                                .await?;
                            queue_delivery(tx, *delivery, now).await?;
                        }
                        Ok(())
                    })
                })
                .await?;
        }
        Ok(())
    }

    /// The body of a delivery, or none when there is nothing to send any more.
    async fn delivery_body(
        &self,
        hook: &WebhookRow,
        delivery: &DeliveryRow,
    ) -> Result<Option<String>, AppError> {
        let now = Timestamp::now();
        let body = match delivery.event.as_str() {
            "person.erased" => serde_json::json!({
                "event": "person.erased",
                "delivery": delivery.id.to_string(),
                "community_id": hook.community_id.to_string(),
                "user_id": delivery.object_id.to_string(),
                "sent_at": now,
                "instruction": "This person's personal information was deleted at their request: \
                                delete what you received of it (Cal. Civ. Code 1798.105(c)).",
            }),
            _ => {
                let mut reader = self.store.reader().await?;
                let mut conn = reader.conn();
                let Some(message) = conn.message(MessageId(delivery.object_id)).await? else {
                    return Ok(None);
                };
                let (Some(author), Some(body)) = (message.author_id, message.body.clone()) else {
                    return Ok(None);
                };
                let Some(person) = conn.user(author).await? else {
                    return Ok(None);
                };
                let channel = conn.channel(message.channel_id).await?;
                serde_json::json!({
                    "event": "message.posted",
                    "delivery": delivery.id.to_string(),
                    "community_id": hook.community_id.to_string(),
                    "channel": {
                        "id": message.channel_id.0.to_string(),
                        "name": channel.map(|c| c.name).unwrap_or_default(),
                    },
                    "message": {
                        "id": message.id.0.to_string(),
                        "body": body,
                        "created_at": message.created_at,
                        "thread_root_id": message.thread_root_id.map(|t| t.0.to_string()),
                    },
                    "author": {
                        "id": author.0.to_string(),
                        "username": person.username,
                        "display_name": person.display_name,
                    },
                    "sent_at": now,
                })
            }
        };
        Ok(Some(body.to_string()))
    }

    /// Makes one delivery: checked again, signed, posted. An error (the recipient's answer
    /// in plain words) has the jobs table try again, up to the last attempt.
    async fn deliver(&self, id: i64, last: bool) -> Result<(), String> {
        let fail = |e: AppError| e.to_string();
        let (delivery, hook) = {
            let mut reader = self.store.reader().await.map_err(|e| e.to_string())?;
            let Some(delivery) = reader
                .conn()
                .delivery(id)
                .await
                .map_err(|e| e.to_string())?
            else {
                return Ok(());
            };
            let Some(hook) = reader
                .conn()
                .webhook(delivery.webhook_id)
                .await
                .map_err(|e| e.to_string())?
            else {
                return Ok(());
            };
            (delivery, hook)
        };
        if delivery.state == "delivered" {
            return Ok(());
        }
        let recipient = Recipient::parse(&hook.recipient).unwrap_or(Recipient::ThirdParty);
        if delivery.event == "message.posted"
            && self
                .may_send(recipient, hook.created_by, MessageId(delivery.object_id))
                .await
                .map_err(fail)?
                .is_none()
        {
            // Deleted, or its author opted out or limited since it was queued, or the
            // webhook's maker left its private channel.
            self.forget_delivery(id).await.map_err(fail)?;
            return Ok(());
        }
        if delivery.event == "message.posted" {
            // On record before the attempt: an erasure committing from now on tells this
            // recipient, and one that committed before leaves nothing to send.
            let Some(author) = delivery.author_id else {
                self.forget_delivery(id).await.map_err(fail)?;
                return Ok(());
            };
            let webhook = hook.id;
            let reached = self
                .store
                .write(move |tx| {
                    Box::pin(async move {
                        Ok::<_, AppError>(
                            tx.conn()
                                .note_reached(webhook, UserId(author), Timestamp::now())
                                .await?,
                        )
                    })
                })
                .await
                .map_err(fail)?;
            if !reached {
                self.forget_delivery(id).await.map_err(fail)?;
                return Ok(());
            }
        }
        let Some(body) = self.delivery_body(&hook, &delivery).await.map_err(fail)? else {
            self.forget_delivery(id).await.map_err(fail)?;
            return Ok(());
        };
        let sent = self.post_delivery(&hook, &delivery, body).await;
        let request = delivery.request_id;
        let (state, status, error) = match &sent {
            Ok(status) => ("delivered", Some(*status), None),
            Err((status, why)) => (
                if last { "failed" } else { "queued" },
                *status,
                Some(why.clone()),
            ),
        };
        let noted_error = error.clone();
        self.store
            .write(move |tx| {
                Box::pin(async move {
                    let delivered = (state == "delivered").then(Timestamp::now);
                    tx.conn()
                        .set_delivery_outcome(id, state, status, noted_error.as_deref(), delivered)
                        .await?;
                    Ok::<_, AppError>(())
                })
            })
            .await
            .map_err(fail)?;
        match sent {
            Ok(_) => Ok(()),
            Err((_, why)) => {
                if last && let Some(request) = request {
                    self.note_request_failure(
                        request,
                        &format!("{} could not be told of the deletion: {why}", hook.name),
                    )
                    .await;
                }
                Err(why)
            }
        }
    }

    async fn forget_delivery(&self, id: i64) -> Result<(), AppError> {
        self.store
            .write(move |tx| {
                Box::pin(async move {
                    tx.conn().drop_delivery(id).await?;
                    Ok::<_, AppError>(())
                })
            })
            .await
    }

    /// Posts a signed body; the recipient's status, or it and why not.
    async fn post_delivery(
        &self,
        hook: &WebhookRow,
        delivery: &DeliveryRow,
        body: String,
    ) -> Result<i64, (Option<i64>, String)> {
        let (host, addresses) = self.reachable(&hook.url).await.map_err(|why| {
            tracing::debug!(%why, webhook = hook.id, "a webhook's address was refused");
            (None, UNREACHABLE.to_string())
        })?;
        let (nonce, masked) = hook
            .secret
            .split_once(':')
            .and_then(|(n, m)| Some((unhex(n)?, unhex(m)?)))
            .ok_or((None, "the webhook's key cannot be read".to_string()))?;
        let key = mask_secret(&self.key, &nonce, &masked)
            .map(|raw| hex(&raw))
            .map_err(|_| (None, "the webhook's key cannot be read".to_string()))?;
        let timestamp = Timestamp::now().0 / 1000;
        let signed = signature(&key, timestamp, &body).map_err(|why| (None, why))?;
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .resolve_to_addrs(&host, &addresses)
            .build()
            .map_err(|_| (None, "no HTTP client".to_string()))?;
        let response = client
            .post(&hook.url)
            .header("content-type", "application/json")
            .header("user-agent", "Hearth-Webhook/1")
            .header("x-hearth-event", &delivery.event)
            .header("x-hearth-delivery", delivery.id.to_string())
            .header("x-hearth-timestamp", timestamp.to_string())
            .header("x-hearth-signature", format!("sha256={signed}"))
            .body(body)
            .send()
            .await
            .map_err(|_| (None, UNREACHABLE.to_string()))?;
        let status = i64::from(response.status().as_u16());
        if response.status().is_success() {
            Ok(status)
        } else {
            Err((Some(status), format!("the recipient answered {status}")))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_addresses_are_recognised() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "192.168.0.1",
            "172.16.5.4",
            "169.254.169.254",
            "100.64.0.1",
            "::1",
            "fd00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            "0.0.0.0",
            "0.1.2.3",
            "192.0.0.8",
            "198.18.0.1",
            "240.0.0.1",
            "224.0.0.1",
            "64:ff9b::a00:1",
            "2002:a00:1::",
            "::a00:1",
            "fec0::1",
            "ff02::1",
        ] {
            let parsed: std::net::IpAddr = ip
                .parse()
                .unwrap_or(std::net::IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED));
            assert!(private_address(parsed), "{ip}");
        }
        for ip in ["93.184.216.34", "2606:4700::1111", "8.8.8.8"] {
            let parsed: std::net::IpAddr = ip
                .parse()
                .unwrap_or(std::net::IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED));
            assert!(!private_address(parsed), "{ip}");
        }
    }

    #[test]
    fn the_signature_covers_the_timestamp_and_the_body() {
        let one = signature("key", 1, "{}").unwrap_or_default();
        assert_eq!(one.len(), 64);
        assert_ne!(one, signature("key", 2, "{}").unwrap_or_default());
        assert_ne!(one, signature("key", 1, "{ }").unwrap_or_default());
        assert_ne!(one, signature("other", 1, "{}").unwrap_or_default());
    }
}
