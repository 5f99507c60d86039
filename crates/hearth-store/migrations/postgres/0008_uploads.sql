-- Files attached to messages. The bytes live in the blob store under the data directory, one
-- folder per uploader (uploads/<owner_id>/<id>), so that erasing a person finds all of their
-- files at once; this table is what the server knows of each. A file goes with its uploader's
-- account and with its message; one not attached to a message within a day is swept.
CREATE TABLE uploads (
    id         BIGINT PRIMARY KEY,
    owner_id   BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    channel_id BIGINT NOT NULL REFERENCES channels(id) ON DELETE CASCADE,
    message_id BIGINT REFERENCES messages(id) ON DELETE CASCADE,
    file_name  TEXT NOT NULL,
    media_type TEXT NOT NULL,
    size       BIGINT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX uploads_by_owner ON uploads(owner_id);
CREATE INDEX uploads_by_message ON uploads(message_id);
CREATE INDEX uploads_unattached ON uploads(created_at) WHERE message_id IS NULL;
