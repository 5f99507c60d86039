-- Events are numbered in commit order: each transaction that appends events takes the next
-- numbers from this one-row counter just before it commits, holding the row until then, so a
-- transaction on another node cannot number later yet commit earlier. Tailers can then read
-- the feed strictly in order with no gaps to guess about.
CREATE TABLE event_sequence (
    id   BIGINT PRIMARY KEY,
    last BIGINT NOT NULL
);
INSERT INTO event_sequence (id, last) SELECT 1, COALESCE(MAX(seq), 0) FROM events;
