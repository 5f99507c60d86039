//! Live events: one tailer per node follows the `events` table (written in the same
//! transaction as each change) and fans new rows out in process. Because every node tails the
//! same table, a change made through one node reaches clients connected to any other.
//!
//! Delivery is exact: a subscriber gets every event of its channels, in feed order, once, or
//! is told to resync (and reload from the API) — never a silent loss. The feed is numbered in
//! commit order (see the store's event counter), so the tailer reads it strictly in order and
//! never has to guess whether a gap will fill. Membership changes are events too: a
//! subscriber applies its own joins and leaves as they come in the feed, so the very next
//! event of a newly joined channel or conversation reaches it, and nothing after leaving.

use crate::{App, AppError};
use hearth_core::ChannelId;
use hearth_store::EventRecord;
use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, Instant};
use tokio::sync::broadcast;

/// A person joined a channel (or a direct conversation was opened with them); the event's
/// object is the person.
pub(crate) const MEMBER_JOINED: &str = "member.joined";
/// A person left a channel, or was removed from its community.
pub(crate) const MEMBER_LEFT: &str = "member.left";

/// How often the tailer looks for new events written by other nodes; those written on this
/// one wake it as they commit.
const POLL_INTERVAL: Duration = Duration::from_millis(50);
/// Events read per query.
const TAIL_BATCH: i64 = 1000;
/// Numbers are assigned in commit order (under the counter row's lock), so a number missing
/// below one already visible was not still committing: its row was deleted, as erasing an
/// account deletes that person's events. The tailer waits this long as a margin, then moves
/// on and tells every subscriber to resync, which is also what open pages need after an
/// erasure: they reload, and the erased text leaves the screen.
const GAP_GIVE_UP: Duration = Duration::from_secs(1);
/// How long a subscriber trusts its credential without asking the database again.
const CREDENTIAL_RECHECK: Duration = Duration::from_secs(5);

/// What the tailer broadcasts.
#[derive(Debug, Clone)]
enum Feed {
    /// The next event of the feed (shared: every subscriber gets the same one).
    Event(Arc<EventRecord>),
    /// The tailer skipped numbers it could not read: everyone must resync.
    Skipped,
    /// The store closed (the node is stopping): subscriptions end, so that clients reconnect
    /// to a node that runs.
    Closed,
}

/// The in-process fan-out of new events.
pub(crate) struct EventHub {
    sender: broadcast::Sender<Feed>,
    /// The last sequence number the tailer has broadcast.
    position: Arc<AtomicI64>,
}

impl EventHub {
    /// A hub that buffers `capacity` events for slow subscribers; one that falls further
    /// behind resyncs.
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            sender: broadcast::channel(capacity.max(1)).0,
            position: Arc::new(AtomicI64::new(0)),
        }
    }
}

/// What a subscriber receives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LiveEvent {
    /// An event of one of the person's channels (or about their own membership).
    Event(Arc<EventRecord>),
    /// Events may have been missed after `after_seq` (the last one delivered): reload what is
    /// on screen from the API.
    Resync {
        /// The last sequence number delivered before the break.
        after_seq: i64,
    },
}

/// One client's view of the feed: only events of channels the person belongs to, and
/// changes to their own memberships.
pub struct EventSubscription {
    app: App,
    actor: crate::Actor,
    receiver: broadcast::Receiver<Feed>,
    channels: HashSet<ChannelId>,
    /// Received but not yet handed out: kept here so that a caller that drops `next()` midway
    /// (it runs inside `select!`) loses nothing.
    pending: Option<Result<Feed, Lagged>>,
    last_delivered: i64,
    checked_at: Instant,
}

/// The subscriber fell so far behind that the hub dropped events for it.
#[derive(Debug, Clone, Copy)]
struct Lagged;

impl EventSubscription {
    /// The feed position this subscription started from: everything after it is delivered.
    pub fn started_after(&self) -> i64 {
        self.last_delivered
    }

    /// The next event for this person. Events carry ids only; clients read the object
    /// through the API, which checks access again. Cancel-safe: an event received by a call
    /// that is dropped is returned by the next call. Fails once the credential the
    /// subscription was opened with stops working.
    pub async fn next(&mut self) -> Result<LiveEvent, AppError> {
        loop {
            if self.pending.is_none() {
                self.pending = Some(match self.receiver.recv().await {
                    Ok(feed) => Ok(feed),
                    Err(broadcast::error::RecvError::Lagged(_)) => Err(Lagged),
                    Err(broadcast::error::RecvError::Closed) => {
                        return Err(hearth_store::StoreError::Unavailable.into());
                    }
                });
            }
            if self.checked_at.elapsed() > CREDENTIAL_RECHECK {
                self.app.still_valid(&self.actor).await?;
                self.checked_at = Instant::now();
            }
            let event = match self.pending.clone() {
                Some(Ok(Feed::Event(event))) => event,
                Some(Ok(Feed::Closed)) => {
                    return Err(hearth_store::StoreError::Unavailable.into());
                }
                Some(Ok(Feed::Skipped) | Err(Lagged)) => {
                    // Memberships may have changed in what was missed.
                    self.reload_channels().await?;
                    self.pending = None;
                    return Ok(LiveEvent::Resync {
                        after_seq: self.last_delivered,
                    });
                }
                None => continue,
            };
            self.pending = None;
            // The tailer may hand out the event at the very position this subscription
            // started from (it advances its position just before sending): that one the
            // client already has.
            if event.seq <= self.last_delivered {
                continue;
            }
            // Memberships follow the feed, event by event, rather than the database's
            // present: a subscriber behind the tailer sees each channel's events exactly
            // while it was a member.
            let channel = ChannelId(event.channel_id);
            let about_me = is_membership(&event.kind) && event.object_id == self.actor.user.0;
            if about_me && event.kind == MEMBER_JOINED {
                self.channels.insert(channel);
            }
            let visible = about_me || self.channels.contains(&channel);
            if about_me && event.kind == MEMBER_LEFT {
                self.channels.remove(&channel);
            }
            if visible {
                self.last_delivered = event.seq;
                return Ok(LiveEvent::Event(event));
            }
        }
    }

    /// Reloads the person's channels.
    async fn reload_channels(&mut self) -> Result<(), AppError> {
        let mut reader = self.app.store.reader().await?;
        self.channels = reader
            .conn()
            .channel_ids_of(self.actor.user)
            .await?
            .into_iter()
            .collect();
        Ok(())
    }
}

fn is_membership(kind: &str) -> bool {
    kind == MEMBER_JOINED || kind == MEMBER_LEFT
}

/// The tailer's place in the feed. It moves only through consecutive sequence numbers; past a
/// gap only once the gap has lasted [`GAP_GIVE_UP`], which commit-ordered numbering should
/// never let happen.
#[derive(Debug)]
struct FeedCursor {
    last: i64,
    gap_since: Option<Instant>,
}

/// What the tailer does with the next event read.
#[derive(Debug, PartialEq, Eq)]
enum Step {
    /// Deliver it: it is the next number.
    Deliver,
    /// Wait: numbers before it have not appeared yet.
    Wait,
    /// Deliver it, after telling everyone to resync for the numbers skipped.
    SkipTo,
}

impl FeedCursor {
    fn at(last: i64) -> Self {
        Self {
            last,
            gap_since: None,
        }
    }

    /// What to do with the event numbered `seq` (the next one read after `last`) at `now`;
    /// unless waiting, the cursor moves to it.
    fn advance(&mut self, seq: i64, now: Instant) -> Step {
        let step = if seq == self.last + 1 {
            Step::Deliver
        } else {
            let since = *self.gap_since.get_or_insert(now);
            if now.duration_since(since) < GAP_GIVE_UP {
                return Step::Wait;
            }
            Step::SkipTo
        };
        self.gap_since = None;
        self.last = seq;
        step
    }
}

impl App {
    /// Subscribes the caller to live events of their channels, starting the node's tailer
    /// on first use.
    pub async fn subscribe(&self, actor: &crate::Actor) -> Result<EventSubscription, AppError> {
        self.still_valid(actor).await?;
        self.start_tailer().await?;
        let receiver = self.events.sender.subscribe();
        // Read after subscribing: every event after this position reaches the receiver.
        let position = self.events.position.load(Ordering::Acquire);
        let mut subscription = EventSubscription {
            app: self.clone(),
            actor: actor.clone(),
            receiver,
            channels: HashSet::new(),
            pending: None,
            last_delivered: position,
            checked_at: Instant::now(),
        };
        subscription.reload_channels().await?;
        Ok(subscription)
    }

    async fn start_tailer(&self) -> Result<(), AppError> {
        let mut started = self.tailer_started.lock().await;
        if *started {
            return Ok(());
        }
        // Numbers follow commit order, so everything at or below the largest visible number
        // has committed and anything still committing will be numbered above it.
        let cursor = {
            let mut reader = self.store.reader().await?;
            reader.conn().last_event_seq().await?
        };
        self.events.position.store(cursor, Ordering::Release);
        let store = self.store.clone();
        let sender = self.events.sender.clone();
        let position = self.events.position.clone();
        let committed = self.store.events_committed();
        tokio::spawn(async move {
            let mut cursor = FeedCursor::at(cursor);
            loop {
                // Woken by a commit here, or by the clock for other nodes' commits.
                let _ = tokio::time::timeout(POLL_INTERVAL, committed.notified()).await;
                let batch = match store.reader().await {
                    Ok(mut reader) => reader.conn().events_after(cursor.last, TAIL_BATCH).await,
                    Err(error) => Err(error),
                };
                match batch {
                    Ok(events) => {
                        for event in events {
                            match cursor.advance(event.seq, Instant::now()) {
                                Step::Wait => break,
                                Step::SkipTo => {
                                    tracing::error!(
                                        seq = event.seq,
                                        "the events feed has a lasting gap; subscribers resync"
                                    );
                                    let _ = sender.send(Feed::Skipped);
                                }
                                Step::Deliver => {}
                            }
                            position.store(event.seq, Ordering::Release);
                            // Nobody listening is fine: the send error only says so.
                            let _ = sender.send(Feed::Event(Arc::new(event)));
                        }
                    }
                    Err(hearth_store::StoreError::Unavailable) => {
                        let _ = sender.send(Feed::Closed);
                        return;
                    }
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
    fn the_cursor_waits_at_a_gap_and_never_skips_silently() {
        let t0 = Instant::now();
        let mut cursor = FeedCursor::at(0);
        assert_eq!(cursor.advance(1, t0), Step::Deliver);
        assert_eq!(cursor.advance(2, t0), Step::Deliver);
        // 3 is missing: it waits, short of giving up.
        let margin = GAP_GIVE_UP / 2;
        assert_eq!(cursor.advance(4, t0), Step::Wait);
        assert_eq!(cursor.advance(4, t0 + margin), Step::Wait);
        assert_eq!(cursor.last, 2);
        assert_eq!(cursor.advance(3, t0 + margin), Step::Deliver);
        assert_eq!(cursor.advance(4, t0 + margin), Step::Deliver);
        // A gap that never fills is skipped only with a resync for everyone.
        let later = t0 + GAP_GIVE_UP;
        assert_eq!(cursor.advance(7, later), Step::Wait);
        assert_eq!(cursor.advance(7, later + GAP_GIVE_UP), Step::SkipTo);
        assert_eq!(cursor.last, 7);
    }
}
