-- Outgoing webhooks: a community's admins send chosen channels' new messages to an outside
-- URL, signed with HMAC-SHA256. Every recipient is declared a service provider (with the
-- words of its contract on record) or a third party; a third party never receives anything
-- of a member who opted out of sale and sharing, nor sensitive information of one who
-- limited its use. `dispatched_through` is the last event handed on. The key is kept masked
-- under the instance key. A removed webhook stays on record (`removed_at`), sent nothing more
-- but still told when a person whose data it received is erased.
CREATE TABLE webhooks (
    id                 BIGINT PRIMARY KEY,
    community_id       BIGINT NOT NULL REFERENCES communities(id) ON DELETE CASCADE,
    name               TEXT NOT NULL,
    url                TEXT NOT NULL,
    secret             TEXT NOT NULL,
    channel_ids        TEXT NOT NULL,
    recipient          TEXT NOT NULL,
    attestation        TEXT,
    created_by         BIGINT REFERENCES users(id) ON DELETE SET NULL,
    created_at         BIGINT NOT NULL,
    dispatched_through BIGINT NOT NULL,
    removed_at         BIGINT
);
CREATE INDEX webhooks_by_community ON webhooks(community_id);

-- What each webhook was sent, or is to be: a message (by id, with its author while they have
-- an account) or the notice that a person it received data of was erased (by their former
-- id, and the request that asked it). Kept 30 days.
CREATE TABLE webhook_deliveries (
    id           BIGINT PRIMARY KEY,
    webhook_id   BIGINT NOT NULL REFERENCES webhooks(id) ON DELETE CASCADE,
    event        TEXT NOT NULL,
    object_id    BIGINT NOT NULL,
    author_id    BIGINT REFERENCES users(id) ON DELETE CASCADE,
    request_id   BIGINT,
    state        TEXT NOT NULL,
    attempts     BIGINT NOT NULL,
    status_code  BIGINT,
    error        TEXT,
    created_at   BIGINT NOT NULL,
    delivered_at BIGINT
);
CREATE INDEX webhook_deliveries_by_webhook ON webhook_deliveries(webhook_id, created_at);
CREATE INDEX webhook_deliveries_by_author ON webhook_deliveries(author_id);
CREATE INDEX webhook_deliveries_by_request ON webhook_deliveries(request_id);

-- Which webhooks were ever sent something of whom (recorded before each attempt, kept while
-- the person has an account): their erasure tells every one.
CREATE TABLE webhook_reached (
    webhook_id BIGINT NOT NULL REFERENCES webhooks(id) ON DELETE CASCADE,
    user_id    BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    last_at    BIGINT NOT NULL,
    PRIMARY KEY (webhook_id, user_id)
);
CREATE INDEX webhook_reached_by_user ON webhook_reached(user_id);
