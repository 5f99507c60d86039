-- Full-text search over messages. message_search holds each live message's text in the clear
-- for the index (the catalog declares it: it goes with the message, and with its author on
-- erasure); message_search_index is SQLite's FTS5 index over it, kept in step by triggers.
-- With secure-delete on, a deleted row's words leave the index at once rather than lingering
-- in old segments until a merge.
CREATE TABLE message_search (
    message_id INTEGER PRIMARY KEY REFERENCES messages(id) ON DELETE CASCADE,
    channel_id BIGINT NOT NULL REFERENCES channels(id) ON DELETE CASCADE,
    author_id  BIGINT REFERENCES users(id) ON DELETE CASCADE,
    body       TEXT NOT NULL
);
CREATE INDEX message_search_by_channel ON message_search(channel_id);
CREATE INDEX message_search_by_author ON message_search(author_id);
CREATE VIRTUAL TABLE message_search_index USING fts5(
    body, content = 'message_search', content_rowid = 'message_id',
    tokenize = 'unicode61 remove_diacritics 2'
);
INSERT INTO message_search_index (message_search_index, rank) VALUES ('secure-delete', 1);
CREATE TRIGGER message_search_added AFTER INSERT ON message_search BEGIN
    INSERT INTO message_search_index (rowid, body) VALUES (new.message_id, new.body);
END;
CREATE TRIGGER message_search_removed AFTER DELETE ON message_search BEGIN
    INSERT INTO message_search_index (message_search_index, rowid, body)
        VALUES ('delete', old.message_id, old.body);
END;
CREATE TRIGGER message_search_changed AFTER UPDATE ON message_search BEGIN
    INSERT INTO message_search_index (message_search_index, rowid, body)
        VALUES ('delete', old.message_id, old.body);
    INSERT INTO message_search_index (rowid, body) VALUES (new.message_id, new.body);
END;
-- Messages written before search existed (their text sealed in the plain format), without
-- the characters search results use to mark matched words.
INSERT INTO message_search (message_id, channel_id, author_id, body)
    SELECT id, channel_id, author_id,
        replace(replace(CAST(substr(body, 2) AS TEXT), char(57344), ''), char(57345), '')
    FROM messages
    WHERE deleted_at IS NULL AND body IS NOT NULL AND substr(body, 1, 1) = x'00';
