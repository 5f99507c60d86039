-- On SQLite, the words an erasure takes out of the full-text index wait here, briefly, to
-- leave it in small batches (see the SQLite migration). PostgreSQL's index needs no old text
-- to let go of a row, so the table stays empty here; it exists so that both schemas match.
CREATE TABLE search_purge (
    message_id BIGINT PRIMARY KEY,
    body       TEXT NOT NULL
);
