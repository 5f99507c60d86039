-- How far each member has read each channel: the newest message id they have seen there. The
-- pages' unread counts are the messages after it. The row goes with the member's account.
CREATE TABLE channel_reads (
    user_id      BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    channel_id   BIGINT NOT NULL REFERENCES channels(id) ON DELETE CASCADE,
    last_read_id BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL,
    PRIMARY KEY (user_id, channel_id)
);
