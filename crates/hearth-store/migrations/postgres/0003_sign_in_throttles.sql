-- Sign-in throttling by account and by the network an attempt comes from, replacing the
-- per-account lock (which let anyone who knew a username keep its owner out).
-- `network` is the SHA-256 of the client's network (an IPv4 address, an IPv6 /64); the empty
-- value is the account-wide row that meters attempts from networks the account has not signed
-- in from before.
CREATE TABLE sign_in_throttles (
    user_id       BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    network       BYTEA NOT NULL,
    failures      BIGINT NOT NULL,
    blocked_until BIGINT NOT NULL,
    trusted_until BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL,
    PRIMARY KEY (user_id, network)
);
CREATE INDEX sign_in_throttles_by_age ON sign_in_throttles(updated_at);

ALTER TABLE users DROP COLUMN failed_sign_ins;
ALTER TABLE users DROP COLUMN locked_until;
