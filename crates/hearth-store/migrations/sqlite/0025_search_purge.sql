-- Erasing a person with many messages took their words out of the full-text index one row at
-- a time inside the erasure's transaction: with secure-delete, a quarter of a millisecond per
-- message, so that 100,000 messages held the single writer (and every post on the instance)
-- for half a minute. Now the erasure moves the words it must take out of the index here, in
-- its transaction (search no longer finds them: their rows in message_search are gone), and
-- they leave the index in small batches right after, each its own short transaction; the
-- journal is truncated after the last. A row here is the text a deleted message_search row
-- held, until the index has let go of it.
CREATE TABLE search_purge (
    message_id INTEGER PRIMARY KEY,
    body       TEXT NOT NULL
);
DROP TRIGGER message_search_removed;
CREATE TRIGGER message_search_removed AFTER DELETE ON message_search
WHEN NOT EXISTS (SELECT 1 FROM search_purge WHERE message_id = old.message_id) BEGIN
    INSERT INTO message_search_index (message_search_index, rowid, body)
        VALUES ('delete', old.message_id, old.body);
END;
