-- Full-text search over messages. message_search holds each live message's text in the clear
-- for the index (the catalog declares it: it goes with the message, and with its author on
-- erasure), searched through a GIN index over its words ('simple': no stemming, so every
-- language is searched alike).
CREATE TABLE message_search (
    message_id BIGINT PRIMARY KEY REFERENCES messages(id) ON DELETE CASCADE,
    channel_id BIGINT NOT NULL REFERENCES channels(id) ON DELETE CASCADE,
    author_id  BIGINT REFERENCES users(id) ON DELETE CASCADE,
    body       TEXT NOT NULL
);
CREATE INDEX message_search_by_channel ON message_search(channel_id);
CREATE INDEX message_search_by_author ON message_search(author_id);
-- Messages written before search existed (their text sealed in the plain format), without
-- the characters search results use to mark matched words.
INSERT INTO message_search (message_id, channel_id, author_id, body)
    SELECT id, channel_id, author_id,
        translate(convert_from(substring(body from 2), 'UTF8'), U&'\E000\E001', '') FROM messages
    WHERE deleted_at IS NULL AND body IS NOT NULL AND get_byte(body, 0) = 0;
-- Indexed after the backfill, which is faster than growing the index row by row.
-- New words wait in the index's pending list until it is merged into the index; a larger list
-- (16 MB, against 4 MB by default) lets autovacuum do most merging in the background instead
-- of the posting connection, at the cost of searches scanning a longer list.
CREATE INDEX message_search_words ON message_search USING GIN (to_tsvector('simple', body))
    WITH (gin_pending_list_limit = 16384);
