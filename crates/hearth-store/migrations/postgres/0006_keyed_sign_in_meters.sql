-- Sign-in meters keyed by keyed hashes (HMAC under the instance's master key, which is kept
-- beside the database, never in it): a copy of the database alone cannot be reversed into the
-- networks and logins it counted. A meter's subject is the account, or for a login that names
-- no account the login itself, so that both take the same work; its scope is the network
-- (an IPv4 address, an IPv6 /64), the neighbourhood around it (IPv4 /24, IPv6 /48), a device
-- that signed in before, or empty for the account-wide meter.
-- Meters are short-lived: the old ones, hashed without a key, are dropped.
DROP TABLE sign_in_throttles;
CREATE TABLE sign_in_throttles (
    subject       BYTEA NOT NULL,
    scope         BYTEA NOT NULL,
    user_id       BIGINT REFERENCES users(id) ON DELETE CASCADE,
    failures      BIGINT NOT NULL,
    blocked_until BIGINT NOT NULL,
    trusted_until BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL,
    PRIMARY KEY (subject, scope)
);
CREATE INDEX sign_in_throttles_by_age ON sign_in_throttles(updated_at);
CREATE INDEX sign_in_throttles_by_user ON sign_in_throttles(user_id);

-- Retried posts are recognised by a keyed hash now; the unkeyed ones (kept a day) go.
DELETE FROM post_idempotency;

-- The check value of the instance's master key: a node started with another key refuses to
-- run rather than hash apart from the others.
CREATE TABLE instance_key_check (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    key_check  BYTEA NOT NULL,
    created_at BIGINT NOT NULL
);
