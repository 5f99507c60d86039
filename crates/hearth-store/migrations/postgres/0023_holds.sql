-- What erasing a member does to their messages in a community: 'remove' (the text goes; the
-- message stays as a tombstone in others' threads) or 'keep' (the message stays, shown as by
-- "Deleted user", with nothing else that names them).
ALTER TABLE communities ADD COLUMN erased_messages TEXT NOT NULL DEFAULT 'remove';

-- Legal holds: a community's admins keep one person's messages there, for a reason, even
-- through an erasure (which then completes in part, and says so). The hold remembers the
-- person's former id once their account is gone; released, the held messages are erased as
-- the request asked.
CREATE TABLE legal_holds (
    id             BIGINT PRIMARY KEY,
    community_id   BIGINT NOT NULL REFERENCES communities(id) ON DELETE CASCADE,
    user_id        BIGINT REFERENCES users(id) ON DELETE SET NULL,
    former_user_id BIGINT NOT NULL,
    reason         TEXT NOT NULL,
    set_by         BIGINT REFERENCES users(id) ON DELETE SET NULL,
    set_at         BIGINT NOT NULL,
    released_at    BIGINT
);
CREATE INDEX legal_holds_by_user ON legal_holds(user_id);
CREATE INDEX legal_holds_by_community ON legal_holds(community_id);

-- The messages a hold kept through an erasure.
CREATE TABLE held_messages (
    hold_id    BIGINT NOT NULL REFERENCES legal_holds(id) ON DELETE CASCADE,
    message_id BIGINT NOT NULL,
    PRIMARY KEY (hold_id, message_id)
);
