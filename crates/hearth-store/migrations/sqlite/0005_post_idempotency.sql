-- Idempotency keys of posts: a client that lost the answer to a post retries it with the same
-- key and gets the message it already made instead of a second copy. Kept for a day.
CREATE TABLE post_idempotency (
    user_id         BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    idempotency_key TEXT NOT NULL,
    request_hash    BLOB NOT NULL,
    message_id      BIGINT NOT NULL,
    created_at      BIGINT NOT NULL,
    PRIMARY KEY (user_id, idempotency_key)
);
CREATE INDEX post_idempotency_by_age ON post_idempotency(created_at);
