-- Personal links that agree with erasure (PostgreSQL). Deleting a person's account row must
-- never take other people's data with it, and must do to each column what the data catalog
-- declares (hearth-core's catalog.rs; the catalog test compares every foreign key with it):
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

ALTER TABLE messages
    ALTER COLUMN author_id DROP NOT NULL,
    DROP CONSTRAINT messages_author_id_fkey,
    ADD CONSTRAINT messages_author_id_fkey
        FOREIGN KEY (author_id) REFERENCES users(id) ON DELETE SET NULL,
    DROP CONSTRAINT messages_thread_root_id_fkey,
    ADD CONSTRAINT messages_thread_root_id_fkey
        FOREIGN KEY (thread_root_id) REFERENCES messages(id);

ALTER TABLE message_edits
    ALTER COLUMN author_id DROP NOT NULL,
    DROP CONSTRAINT message_edits_author_id_fkey,
    ADD CONSTRAINT message_edits_author_id_fkey
        FOREIGN KEY (author_id) REFERENCES users(id) ON DELETE SET NULL;

-- The retention sweep deletes expired sessions.
CREATE INDEX sessions_by_expiry ON sessions(expires_at);
