-- What erasing a member does to their messages in a community: 'remove' (the text goes; the
-- message stays as a tombstone in others' threads) or 'keep' (the message stays, shown as by
-- "Deleted user", with nothing else that names them).
ALTER TABLE communities ADD COLUMN erased_messages TEXT NOT NULL DEFAULT 'remove';

-- Legal holds: a community's admins keep one person's messages there, for a reason, even
-- through an erasure (which then completes in part, and says so). The hold remembers the
-- person's former id once their account is gone; released, it goes, and with it what it
-- kept. Who placed and released it is in the audit log. One hold per person per community.
CREATE TABLE legal_holds (
    id             BIGINT PRIMARY KEY,
    community_id   BIGINT NOT NULL REFERENCES communities(id) ON DELETE CASCADE,
    user_id        BIGINT REFERENCES users(id) ON DELETE SET NULL,
    former_user_id BIGINT NOT NULL,
    reason         TEXT NOT NULL,
    set_at         BIGINT NOT NULL,
    UNIQUE (community_id, former_user_id)
);
CREATE INDEX legal_holds_by_user ON legal_holds(user_id);
CREATE INDEX legal_holds_by_community ON legal_holds(community_id);

-- What a hold kept through an erasure: each message's text, sealed for no one, moved out of
-- the message (which becomes a tombstone like any erased message: no reader or search sees
-- held text), until the hold is released.
CREATE TABLE held_messages (
    hold_id    BIGINT NOT NULL REFERENCES legal_holds(id) ON DELETE CASCADE,
    message_id BIGINT NOT NULL,
    body       BYTEA,
    PRIMARY KEY (hold_id, message_id)
);
