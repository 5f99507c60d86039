//! Outgoing webhooks and their delivery log.

use crate::StoreError;
use crate::conn::{Conn, dispatch};
use hearth_core::{CommunityId, Timestamp, UserId};

/// A webhook as stored.
#[derive(Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct WebhookRow {
    /// Its id.
    pub id: i64,
    /// The community whose channels it sends.
    pub community_id: i64,
    /// The recipient, as the admin names it.
    pub name: String,
    /// Where deliveries are sent.
    pub url: String,
    /// The HMAC key, hex.
    pub secret: String,
    /// The channels it sends, comma-separated ids.
    pub channel_ids: String,
    /// `service_provider` or `third_party`.
    pub recipient: String,
    /// For a service provider: the words of its contract, as the admin attested them.
    pub attestation: Option<String>,
    /// The admin who set it up, while they have an account.
    pub created_by: Option<i64>,
    /// When.
    pub created_at: i64,
    /// The last event handed on.
    pub dispatched_through: i64,
    /// When it was removed: it is sent nothing more, but still told of erasures.
    pub removed_at: Option<i64>,
}

// The key signs deliveries: debug output never shows it.
hearth_core::debug_fields!(WebhookRow {
    id,
    community_id,
    name,
    recipient,
    created_at,
    dispatched_through
});

impl WebhookRow {
    /// The channels it sends.
    pub fn channels(&self) -> Vec<i64> {
        self.channel_ids
            .split(',')
            .filter_map(|id| id.trim().parse().ok())
            .collect()
    }
}

/// One delivery as stored.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct DeliveryRow {
    /// Its id (the `X-Hearth-Delivery` header).
    pub id: i64,
    /// The webhook.
    pub webhook_id: i64,
    /// `message.posted` or `person.erased`.
    pub event: String,
    /// The message's id, or the erased account's former id.
    pub object_id: i64,
    /// The message's author, while they have an account.
    pub author_id: Option<i64>,
    /// The erasure request a notice answers.
    pub request_id: Option<i64>,
    /// `queued`, `delivered` or `failed`.
    pub state: String,
    /// Attempts made.
    pub attempts: i64,
    /// The recipient's last HTTP status.
    pub status_code: Option<i64>,
    /// Why the last attempt failed, in plain words.
    pub error: Option<String>,
    /// When it was queued.
    pub created_at: i64,
    /// When it was delivered.
    pub delivered_at: Option<i64>,
}

const WEBHOOK_COLUMNS: &str = "id, community_id, name, url, secret, channel_ids, recipient, \
                               attestation, created_by, created_at, dispatched_through, removed_at";
const DELIVERY_COLUMNS: &str = "id, webhook_id, event, object_id, author_id, request_id, state, \
                                attempts, status_code, error, created_at, delivered_at";

impl Conn<'_> {
    /// Records a webhook.
    pub async fn insert_webhook(&mut self, hook: &WebhookRow) -> Result<(), StoreError> {
        dispatch!(self, c => sqlx::query(
            "INSERT INTO webhooks (id, community_id, name, url, secret, channel_ids, recipient, \
             attestation, created_by, created_at, dispatched_through, removed_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, NULL)")
            .bind(hook.id).bind(hook.community_id).bind(&hook.name).bind(&hook.url)
            .bind(&hook.secret).bind(&hook.channel_ids).bind(&hook.recipient)
            .bind(&hook.attestation).bind(hook.created_by).bind(hook.created_at)
            .bind(hook.dispatched_through)
            .execute(&mut **c).await?.rows_affected());
        Ok(())
    }

    /// A community's webhooks, oldest first.
    pub async fn webhooks_of(
        &mut self,
        community: CommunityId,
    ) -> Result<Vec<WebhookRow>, StoreError> {
        let sql = format!(
            "SELECT {WEBHOOK_COLUMNS} FROM webhooks WHERE community_id = $1 \
             AND removed_at IS NULL ORDER BY id"
        );
        Ok(
            dispatch!(self, c => sqlx::query_as::<_, WebhookRow>(sqlx::AssertSqlSafe(sql))
            .bind(community.0).fetch_all(&mut **c).await?),
        )
    }

    /// Every webhook not removed, oldest first: the dispatcher's round.
    pub async fn all_webhooks(&mut self) -> Result<Vec<WebhookRow>, StoreError> {
        let sql =
            format!("SELECT {WEBHOOK_COLUMNS} FROM webhooks WHERE removed_at IS NULL ORDER BY id");
        Ok(
            dispatch!(self, c => sqlx::query_as::<_, WebhookRow>(sqlx::AssertSqlSafe(sql))
            .fetch_all(&mut **c).await?),
        )
    }

    /// One webhook.
    pub async fn webhook(&mut self, id: i64) -> Result<Option<WebhookRow>, StoreError> {
        let sql = format!("SELECT {WEBHOOK_COLUMNS} FROM webhooks WHERE id = $1");
        Ok(
            dispatch!(self, c => sqlx::query_as::<_, WebhookRow>(sqlx::AssertSqlSafe(sql))
            .bind(id).fetch_optional(&mut **c).await?),
        )
    }

    /// Removes a community's webhook: it is sent nothing more, and its queued messages are
    /// dropped; it stays on record to be told of erasures.
    pub async fn remove_webhook(
        &mut self,
        community: CommunityId,
        id: i64,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let done = dispatch!(self, c => sqlx::query(
            "UPDATE webhooks SET removed_at = $3 \
             WHERE id = $1 AND community_id = $2 AND removed_at IS NULL")
            .bind(id).bind(community.0).bind(now.0).execute(&mut **c).await?.rows_affected());
        if done > 0 {
            dispatch!(self, c => sqlx::query(
                "DELETE FROM webhook_deliveries WHERE webhook_id = $1 AND state = 'queued' \
                 AND event = 'message.posted'")
                .bind(id).execute(&mut **c).await?.rows_affected());
        }
        Ok(done > 0)
    }

    /// Records that `webhook` is being sent something of `user` (before the attempt, so an
    /// erasure committing meanwhile finds it). False when the person is gone.
    pub async fn note_reached(
        &mut self,
        webhook: i64,
        user: UserId,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let exists = dispatch!(self, c => sqlx::query("SELECT 1 FROM users WHERE id = $1")
            .bind(user.0).fetch_optional(&mut **c).await?.is_some());
        if !exists {
            return Ok(false);
        }
        dispatch!(self, c => sqlx::query(
            "INSERT INTO webhook_reached (webhook_id, user_id, last_at) VALUES ($1, $2, $3) \
             ON CONFLICT (webhook_id, user_id) DO UPDATE SET last_at = excluded.last_at")
            .bind(webhook).bind(user.0).bind(now.0).execute(&mut **c).await?.rows_affected());
        Ok(true)
    }

    /// The webhooks that received something of `user`, with their recipient kind and when
    /// last: what a request to know reports, and whom erasure tells.
    pub async fn reached(
        &mut self,
        user: UserId,
    ) -> Result<Vec<(i64, String, String, i64)>, StoreError> {
        Ok(
            dispatch!(self, c => sqlx::query_as::<_, (i64, String, String, i64)>(
            "SELECT w.id, w.name, w.recipient, r.last_at FROM webhook_reached r \
             JOIN webhooks w ON w.id = r.webhook_id WHERE r.user_id = $1 ORDER BY w.id")
            .bind(user.0).fetch_all(&mut **c).await?),
        )
    }

    /// Moves a webhook's place in the event feed on, from where it was read (`was`): two
    /// dispatchers racing hand each event on once.
    pub async fn advance_webhook(
        &mut self,
        id: i64,
        was: i64,
        through: i64,
    ) -> Result<bool, StoreError> {
        let done = dispatch!(self, c => sqlx::query(
            "UPDATE webhooks SET dispatched_through = $3 \
             WHERE id = $1 AND dispatched_through = $2")
            .bind(id).bind(was).bind(through).execute(&mut **c).await?.rows_affected());
        Ok(done > 0)
    }

    /// New messages in `channels` after event `after`, oldest first: (event, message).
    pub async fn posts_after(
        &mut self,
        after: i64,
        channels: &[i64],
        limit: i64,
    ) -> Result<Vec<(i64, i64)>, StoreError> {
        if channels.is_empty() {
            return Ok(Vec::new());
        }
        let list: Vec<String> = channels.iter().map(i64::to_string).collect();
        // The ids are numbers we parsed, never text from outside.
        let sql = format!(
            "SELECT seq, object_id FROM events WHERE seq > $1 AND kind = 'message.posted' \
             AND channel_id IN ({}) ORDER BY seq LIMIT $2",
            list.join(", ")
        );
        Ok(
            dispatch!(self, c => sqlx::query_as::<_, (i64, i64)>(sqlx::AssertSqlSafe(sql))
            .bind(after).bind(limit).fetch_all(&mut **c).await?),
        )
    }

    /// Queues a delivery.
    pub async fn insert_delivery(&mut self, delivery: &DeliveryRow) -> Result<(), StoreError> {
        dispatch!(self, c => sqlx::query(
            "INSERT INTO webhook_deliveries (id, webhook_id, event, object_id, author_id, \
             request_id, state, attempts, status_code, error, created_at, delivered_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)")
            .bind(delivery.id).bind(delivery.webhook_id).bind(&delivery.event)
            .bind(delivery.object_id).bind(delivery.author_id).bind(delivery.request_id)
            .bind(&delivery.state).bind(delivery.attempts).bind(delivery.status_code)
            .bind(&delivery.error).bind(delivery.created_at).bind(delivery.delivered_at)
            .execute(&mut **c).await?.rows_affected());
        Ok(())
    }

    /// One delivery.
    pub async fn delivery(&mut self, id: i64) -> Result<Option<DeliveryRow>, StoreError> {
        let sql = format!("SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries WHERE id = $1");
        Ok(
            dispatch!(self, c => sqlx::query_as::<_, DeliveryRow>(sqlx::AssertSqlSafe(sql))
            .bind(id).fetch_optional(&mut **c).await?),
        )
    }

    /// A webhook's deliveries, newest first, at most `limit`.
    pub async fn deliveries_of(
        &mut self,
        webhook: i64,
        limit: i64,
    ) -> Result<Vec<DeliveryRow>, StoreError> {
        let sql = format!(
            "SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries WHERE webhook_id = $1 \
             ORDER BY created_at DESC, id DESC LIMIT $2"
        );
        Ok(
            dispatch!(self, c => sqlx::query_as::<_, DeliveryRow>(sqlx::AssertSqlSafe(sql))
            .bind(webhook).bind(limit).fetch_all(&mut **c).await?),
        )
    }

    /// Records how an attempt went.
    pub async fn set_delivery_outcome(
        &mut self,
        id: i64,
        state: &str,
        status_code: Option<i64>,
        error: Option<&str>,
        delivered_at: Option<Timestamp>,
    ) -> Result<(), StoreError> {
        dispatch!(self, c => sqlx::query(
            "UPDATE webhook_deliveries SET state = $2, attempts = attempts + 1, \
             status_code = $3, error = $4, delivered_at = $5 WHERE id = $1")
            .bind(id).bind(state).bind(status_code).bind(error)
            .bind(delivered_at.map(|d| d.0)).execute(&mut **c).await?.rows_affected());
        Ok(())
    }

    /// Puts a delivery back in the queue, to be tried again; its log entry counts from now.
    pub async fn requeue_delivery(&mut self, id: i64, now: Timestamp) -> Result<(), StoreError> {
        dispatch!(self, c => sqlx::query(
            "UPDATE webhook_deliveries SET state = 'queued', error = NULL, created_at = $2 \
             WHERE id = $1")
            .bind(id).bind(now.0).execute(&mut **c).await?.rows_affected());
        Ok(())
    }

    /// Forgets a delivery that is not to be made (its message was deleted, or its author
    /// opted out before it went).
    pub async fn drop_delivery(&mut self, id: i64) -> Result<(), StoreError> {
        dispatch!(self, c => sqlx::query("DELETE FROM webhook_deliveries WHERE id = $1")
            .bind(id).execute(&mut **c).await?.rows_affected());
        Ok(())
    }

    /// The webhooks that were sent (or were being sent) something of the person: their
    /// erasure tells each.
    pub async fn webhooks_that_received(&mut self, user: UserId) -> Result<Vec<i64>, StoreError> {
        let rows: Vec<(i64,)> = dispatch!(self, c => sqlx::query_as(
            "SELECT webhook_id FROM webhook_reached WHERE user_id = $1 ORDER BY webhook_id")
            .bind(user.0).fetch_all(&mut **c).await?);
        Ok(rows.into_iter().map(|(id,)| id).collect())
    }

    /// The failed deliveries a request's step made (an erasure's notices).
    pub async fn failed_deliveries_of_request(
        &mut self,
        request: i64,
    ) -> Result<Vec<i64>, StoreError> {
        let rows: Vec<(i64,)> = dispatch!(self, c => sqlx::query_as(
            "SELECT id FROM webhook_deliveries WHERE request_id = $1 AND state = 'failed'")
            .bind(request).fetch_all(&mut **c).await?);
        Ok(rows.into_iter().map(|(id,)| id).collect())
    }

    /// Deletes up to `limit` deliveries made before `before`, except a request's notices
    /// that have not gone yet: they stay, to be run again from the request's desk, as long as
    /// the request's record is kept.
    pub async fn delete_old_deliveries(
        &mut self,
        before: Timestamp,
        limit: i64,
    ) -> Result<u64, StoreError> {
        Ok(dispatch!(self, c => sqlx::query(
            "DELETE FROM webhook_deliveries WHERE id IN \
             (SELECT id FROM webhook_deliveries WHERE created_at < $1 \
              AND (request_id IS NULL OR state = 'delivered' \
                   OR request_id NOT IN (SELECT id FROM privacy_requests)) LIMIT $2)")
            .bind(before.0).bind(limit).execute(&mut **c).await?.rows_affected()))
    }
}
