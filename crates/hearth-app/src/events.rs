//! Live events: one tailer per node follows the `events` table (written in the same
//! transaction as each change) and fans new rows out in process. Because every node tails the
//! same table, a message posted through one node reaches clients connected to any other.
//! Delivery is at most once: a subscriber that falls behind, or reconnects, re-reads history
//! through the API.

use crate::{App, AppError};
use hearth_core::ChannelId;
use hearth_store::EventRecord;
use std::collections::HashSet;
use std::time::{Duration, Instant};
use tokio::sync::broadcast;

/// How often the tailer looks for new events.
const POLL_INTERVAL: Duration = Duration::from_millis(100);
/// How long the tailer waits for a missing sequence number before deciding that its insert
/// was rolled back rather than still committing.
const GAP_WAIT: Duration = Duration::from_secs(2);
/// How long a subscriber trusts its list of channels before reloading it.
const CHANNELS_TTL: Duration = Duration::from_secs(5);

/// The in-process fan-out of new events.
pub(crate) struct EventHub {
    sender: broadcast::Sender<EventRecord>,
}

impl EventHub {
    pub(crate) fn new() -> Self {
        Self {
            sender: broadcast::channel(4096).0,
        }
    }
}

/// One client's view of the feed: only events of channels the person belongs to.
pub struct EventSubscription {
    app: App,
    actor: crate::Actor,
    receiver: broadcast::Receiver<EventRecord>,
    channels: HashSet<ChannelId>,
    loaded_at: Option<Instant>,
}

impl EventSubscription {
    /// The next event for this person. Events carry ids only; clients read the object
    /// through the API, which checks access again. If the subscriber fell too far behind,
    /// skipped events are dropped (the client should refresh). Fails once the credential the
    /// subscription was opened with stops working.
    pub async fn next(&mut self) -> Result<EventRecord, AppError> {
        loop {
            let event = match self.receiver.recv().await {
                Ok(event) => event,
                Err(broadcast::error::RecvError::Lagged(_)) => continue,
                Err(broadcast::error::RecvError::Closed) => {
                    return Err(hearth_store::StoreError::Unavailable.into());
                }
            };
            if self.loaded_at.is_none_or(|at| at.elapsed() > CHANNELS_TTL) {
                self.reload().await?;
            }
            if self.channels.contains(&ChannelId(event.channel_id)) {
                return Ok(event);
            }
        }
    }

    /// Reloads the person's channels, and ends the subscription once the session or token it
    /// was opened with no longer works (signed out, password changed, token revoked).
    async fn reload(&mut self) -> Result<(), AppError> {
        self.app.still_valid(&self.actor).await?;
        let mut reader = self.app.store.reader().await?;
        self.channels = reader
            .conn()
            .channel_ids_of(self.actor.user)
            .await?
            .into_iter()
            .collect();
        self.loaded_at = Some(Instant::now());
        Ok(())
    }
}

/// The tailer's place in the feed. It moves only through consecutive sequence numbers, and
/// past a gap only once the gap has lasted [`GAP_WAIT`].
#[derive(Debug)]
struct FeedCursor {
    last: i64,
    gap_since: Option<Instant>,
}

impl FeedCursor {
    fn at(last: i64) -> Self {
        Self {
            last,
            gap_since: None,
        }
    }

    /// Whether the event numbered `seq` (the next one read after `last`) may be delivered at
    /// `now`; if so, the cursor moves to it.
    fn advance(&mut self, seq: i64, now: Instant) -> bool {
        if seq != self.last + 1 {
            let since = *self.gap_since.get_or_insert(now);
            if now.duration_since(since) < GAP_WAIT {
                return false;
            }
        }
        self.gap_since = None;
        self.last = seq;
        true
    }
}

impl App {
    /// Subscribes the caller to live events of their channels, starting the node's tailer
    /// on first use.
    pub async fn subscribe(&self, actor: &crate::Actor) -> Result<EventSubscription, AppError> {
        self.start_tailer().await?;
        let mut subscription = EventSubscription {
            app: self.clone(),
            actor: actor.clone(),
            receiver: self.events.sender.subscribe(),
            channels: HashSet::new(),
            loaded_at: None,
        };
        subscription.reload().await?;
        Ok(subscription)
    }

    async fn start_tailer(&self) -> Result<(), AppError> {
        let mut started = self.tailer_started.lock().await;
        if *started {
            return Ok(());
        }
        let cursor = {
            let mut reader = self.store.reader().await?;
            reader.conn().last_event_seq().await?
        };
        let store = self.store.clone();
        let sender = self.events.sender.clone();
        tokio::spawn(async move {
            // Sequence numbers are handed out at insert and become visible at commit, so with
            // several writers (nodes) a later number can appear before an earlier one. The
            // cursor therefore moves only through consecutive numbers, and waits a little at
            // a gap for a transaction that is still committing.
            let mut position = FeedCursor::at(cursor);
            loop {
                tokio::time::sleep(POLL_INTERVAL).await;
                let batch = match store.reader().await {
                    Ok(mut reader) => reader.conn().events_after(position.last, 1000).await,
                    Err(error) => Err(error),
                };
                match batch {
                    Ok(events) => {
                        for event in events {
                            if !position.advance(event.seq, Instant::now()) {
                                break;
                            }
                            // Nobody listening is fine: the send error only says so.
                            let _ = sender.send(event);
                        }
                    }
                    Err(hearth_store::StoreError::Unavailable) => return,
                    Err(error) => tracing::warn!(%error, "reading the events feed failed"),
                }
            }
        });
        *started = true;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cursor_waits_at_a_gap_then_moves_past_it() {
        let t0 = Instant::now();
        let mut cursor = FeedCursor::at(0);
        assert!(cursor.advance(1, t0));
        assert!(cursor.advance(2, t0));
        // 3 is missing: perhaps still committing.
        assert!(!cursor.advance(4, t0));
        assert!(!cursor.advance(4, t0 + Duration::from_secs(1)));
        // It arrives in time and the feed goes on in order.
        assert!(cursor.advance(3, t0 + Duration::from_millis(1500)));
        assert!(cursor.advance(4, t0 + Duration::from_millis(1500)));
        // A gap that outlasts the wait was a rolled-back insert.
        assert!(!cursor.advance(7, t0 + Duration::from_secs(5)));
        assert!(cursor.advance(7, t0 + Duration::from_secs(5) + GAP_WAIT));
        assert_eq!(cursor.last, 7);
    }
}
