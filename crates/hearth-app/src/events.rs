//! Live events: one tailer per node follows the `events` table (written in the same
//! transaction as each change) and fans new rows out in process. Because every node tails the
//! same table, a message posted through one node reaches clients connected to any other.

use crate::{App, AppError};
use hearth_core::ChannelId;
use hearth_store::EventRecord;
use std::collections::HashSet;
use std::time::{Duration, Instant};
use tokio::sync::broadcast;

/// How often the tailer looks for new events.
const POLL_INTERVAL: Duration = Duration::from_millis(100);
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
        let mut cursor = {
            let mut reader = self.store.reader().await?;
            reader.conn().last_event_seq().await?
        };
        let store = self.store.clone();
        let sender = self.events.sender.clone();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(POLL_INTERVAL).await;
                let batch = match store.reader().await {
                    Ok(mut reader) => reader.conn().events_after(cursor, 1000).await,
                    Err(error) => Err(error),
                };
                match batch {
                    Ok(events) => {
                        for event in events {
                            cursor = event.seq;
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
