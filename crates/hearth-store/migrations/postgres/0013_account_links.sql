-- Mailed links that prove control of an address: confirming an email address (at
-- registration, or a new one) and resetting a forgotten password. Only a hash of each
-- link's token is stored; a link is deleted when it is used, so it works once, and the
-- retention sweep deletes it once it has expired.
ALTER TABLE users ADD COLUMN email_verified_at BIGINT;
-- Accounts made before Hearth confirmed addresses keep what they could do: holding every one
-- of them to reading (the default rule) would stop every community at once, moderators
-- included. They count as confirmed from when they were made; linking by address to an
-- identity provider asks more (a confirmation after the account was made), which they lack.
UPDATE users SET email_verified_at = created_at;

CREATE TABLE account_links (
    id          BIGINT PRIMARY KEY,
    user_id     BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    purpose     TEXT NOT NULL,
    email       TEXT NOT NULL,
    token_hash  BYTEA NOT NULL UNIQUE,
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT NOT NULL
);
CREATE INDEX account_links_by_user ON account_links(user_id, purpose);
CREATE INDEX account_links_expiry ON account_links(expires_at);
