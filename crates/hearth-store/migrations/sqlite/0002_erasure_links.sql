-- Personal links that agree with erasure (SQLite). Deleting a person's account row must never
-- take other people's data with it, and must do to each column what the data catalog declares
-- (hearth-core's catalog.rs; the catalog test compares every foreign key with it):
-- * messages.author_id: SET NULL. The message stays, from "Deleted user", so that the replies
--   of others keep their thread (was CASCADE, which deleted those replies with it).
-- * messages.thread_root_id: NO ACTION. A thread's root is tombstoned, never deleted while it
--   has replies (was CASCADE, which deleted everyone's replies with their root).
-- * message_edits.author_id: SET NULL. Revisions go with their message (message_id still
--   cascades, and deleting a message deletes them); erasure removes them explicitly, never the
--   account row's deletion behind the catalog's back.
-- * communities.owner_id stays NO ACTION: an owner's account cannot be deleted until they hand
--   the community on (POST /communities/{id}/transfer); erasure says "transfer ownership
--   first" rather than leave a community without anyone who answers for it.
--
-- SQLite cannot change a foreign key in place, so messages and message_edits are rebuilt: a
-- new table, a copy of every row, the old table dropped, the new one renamed, its indexes made
-- again. sqlx runs this file in one transaction, where PRAGMA foreign_keys cannot be switched
-- off; enforcement stays on, and the order of the steps is what keeps it from deleting
-- anything that is kept:
-- * the new tables reference only each other (message_edits_new -> messages_new), so the
--   implicit DELETE of dropping the old messages cascades into nothing that is kept (a copy
--   referencing "messages" would lose every revision there);
-- * the old message_edits is dropped first, leaving that DELETE nothing to cascade into;
-- * defer_foreign_keys postpones every check to COMMIT (rows may be copied in any order, a
--   reply before its root), where the whole result is checked once; it resets at COMMIT.
-- Renaming a table while foreign_keys is on rewrites the references to it, so after the
-- renames message_edits references messages again, and messages itself.

PRAGMA defer_foreign_keys = ON;

CREATE TABLE messages_new (
    id             BIGINT PRIMARY KEY,
    channel_id     BIGINT NOT NULL REFERENCES channels(id) ON DELETE CASCADE,
    author_id      BIGINT REFERENCES users(id) ON DELETE SET NULL,
    thread_root_id BIGINT REFERENCES messages_new(id),
    body           BLOB,
    created_at     BIGINT NOT NULL,
    edited_at      BIGINT,
    deleted_at     BIGINT,
    reply_count    BIGINT NOT NULL DEFAULT 0
);
INSERT INTO messages_new (id, channel_id, author_id, thread_root_id, body, created_at,
                          edited_at, deleted_at, reply_count)
    SELECT id, channel_id, author_id, thread_root_id, body, created_at, edited_at, deleted_at,
           reply_count
    FROM messages;

CREATE TABLE message_edits_new (
    id          BIGINT PRIMARY KEY,
    message_id  BIGINT NOT NULL REFERENCES messages_new(id) ON DELETE CASCADE,
    author_id   BIGINT REFERENCES users(id) ON DELETE SET NULL,
    body        BLOB NOT NULL,
    replaced_at BIGINT NOT NULL
);
INSERT INTO message_edits_new (id, message_id, author_id, body, replaced_at)
    SELECT id, message_id, author_id, body, replaced_at FROM message_edits;

DROP TABLE message_edits;
DROP TABLE messages;
ALTER TABLE messages_new RENAME TO messages;
ALTER TABLE message_edits_new RENAME TO message_edits;

-- History pages walk a channel's top-level messages by id; threads walk their replies.
CREATE INDEX messages_channel_roots ON messages(channel_id, id) WHERE thread_root_id IS NULL;
CREATE INDEX messages_thread ON messages(thread_root_id, id) WHERE thread_root_id IS NOT NULL;
CREATE INDEX messages_by_author ON messages(author_id);
CREATE INDEX message_edits_by_message ON message_edits(message_id, id);
CREATE INDEX message_edits_by_author ON message_edits(author_id);

-- The retention sweep deletes expired sessions.
CREATE INDEX sessions_by_expiry ON sessions(expires_at);
