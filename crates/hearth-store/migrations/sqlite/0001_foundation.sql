-- Hearth foundation schema (SQLite). Every column here is declared in hearth-core's catalog.
-- Instants are BIGINT milliseconds since the Unix epoch; ids are application-generated BIGINTs.

CREATE TABLE users (
    id              BIGINT PRIMARY KEY,
    username        TEXT NOT NULL UNIQUE,
    display_name    TEXT NOT NULL,
    email           TEXT NOT NULL UNIQUE,
    password_hash   TEXT NOT NULL,
    is_operator     BOOLEAN NOT NULL DEFAULT FALSE,
    failed_sign_ins BIGINT NOT NULL DEFAULT 0,
    locked_until    BIGINT,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL
);

CREATE TABLE sessions (
    token_hash   BLOB PRIMARY KEY,
    user_id      BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at   BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL
);
CREATE INDEX sessions_by_user ON sessions(user_id);

CREATE TABLE api_tokens (
    id           BIGINT PRIMARY KEY,
    user_id      BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    token_hash   BLOB NOT NULL UNIQUE,
    created_at   BIGINT NOT NULL,
    last_used_at BIGINT,
    revoked_at   BIGINT
);
CREATE INDEX api_tokens_by_user ON api_tokens(user_id);

CREATE TABLE communities (
    id          BIGINT PRIMARY KEY,
    slug        TEXT NOT NULL UNIQUE,
    name        TEXT NOT NULL,
    description TEXT NOT NULL,
    join_policy TEXT NOT NULL,
    owner_id    BIGINT NOT NULL REFERENCES users(id),
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);

CREATE TABLE community_members (
    community_id BIGINT NOT NULL REFERENCES communities(id) ON DELETE CASCADE,
    user_id      BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    role         TEXT NOT NULL,
    joined_at    BIGINT NOT NULL,
    PRIMARY KEY (community_id, user_id)
);
CREATE INDEX community_members_by_user ON community_members(user_id);

CREATE TABLE invites (
    id           BIGINT PRIMARY KEY,
    community_id BIGINT NOT NULL REFERENCES communities(id) ON DELETE CASCADE,
    code         TEXT NOT NULL UNIQUE,
    created_by   BIGINT REFERENCES users(id) ON DELETE SET NULL,
    created_at   BIGINT NOT NULL,
    expires_at   BIGINT,
    max_uses     BIGINT,
    uses         BIGINT NOT NULL DEFAULT 0,
    revoked_at   BIGINT
);
CREATE INDEX invites_by_community ON invites(community_id);

CREATE TABLE channels (
    id           BIGINT PRIMARY KEY,
    community_id BIGINT REFERENCES communities(id) ON DELETE CASCADE,
    kind         TEXT NOT NULL,
    name         TEXT NOT NULL,
    topic        TEXT NOT NULL,
    direct_key   TEXT UNIQUE,
    created_by   BIGINT REFERENCES users(id) ON DELETE SET NULL,
    created_at   BIGINT NOT NULL
);
CREATE INDEX channels_by_community ON channels(community_id);

CREATE TABLE channel_members (
    channel_id BIGINT NOT NULL REFERENCES channels(id) ON DELETE CASCADE,
    user_id    BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    joined_at  BIGINT NOT NULL,
    PRIMARY KEY (channel_id, user_id)
);
CREATE INDEX channel_members_by_user ON channel_members(user_id);

CREATE TABLE messages (
    id             BIGINT PRIMARY KEY,
    channel_id     BIGINT NOT NULL REFERENCES channels(id) ON DELETE CASCADE,
    author_id      BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    thread_root_id BIGINT REFERENCES messages(id) ON DELETE CASCADE,
    body           BLOB,
    created_at     BIGINT NOT NULL,
    edited_at      BIGINT,
    deleted_at     BIGINT,
    reply_count    BIGINT NOT NULL DEFAULT 0
);
-- History pages walk a channel's top-level messages by id; threads walk their replies.
CREATE INDEX messages_channel_roots ON messages(channel_id, id) WHERE thread_root_id IS NULL;
CREATE INDEX messages_thread ON messages(thread_root_id, id) WHERE thread_root_id IS NOT NULL;
CREATE INDEX messages_by_author ON messages(author_id);

CREATE TABLE message_edits (
    id          BIGINT PRIMARY KEY,
    message_id  BIGINT NOT NULL REFERENCES messages(id) ON DELETE CASCADE,
    author_id   BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    body        BLOB NOT NULL,
    replaced_at BIGINT NOT NULL
);
CREATE INDEX message_edits_by_message ON message_edits(message_id, id);
CREATE INDEX message_edits_by_author ON message_edits(author_id);

CREATE TABLE audit_log (
    id           BIGINT PRIMARY KEY,
    at           BIGINT NOT NULL,
    actor_id     BIGINT,
    action       TEXT NOT NULL,
    object_kind  TEXT NOT NULL,
    object_id    BIGINT,
    community_id BIGINT
);
CREATE INDEX audit_log_by_actor ON audit_log(actor_id);
CREATE INDEX audit_log_by_community ON audit_log(community_id, id);

CREATE TABLE events (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    channel_id BIGINT NOT NULL,
    kind       TEXT NOT NULL,
    object_id  BIGINT NOT NULL,
    at         BIGINT NOT NULL
);
