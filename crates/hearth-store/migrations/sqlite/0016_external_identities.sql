-- Accounts linked to an identity provider (OpenID Connect): the provider's issuer and its
-- subject identifier for the person. Nothing else of the provider's is kept: its tokens are
-- used once, at sign-in, and dropped.
CREATE TABLE external_identities (
    issuer      TEXT NOT NULL,
    subject     TEXT NOT NULL,
    user_id     BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at  BIGINT NOT NULL,
    PRIMARY KEY (issuer, subject)
);
CREATE INDEX external_identities_by_user ON external_identities(user_id);

-- Set when the owner unlinks, or resets their password: linking by address alone is refused
-- from then on, so that whoever holds the provider's identity cannot just sign in again.
ALTER TABLE users ADD COLUMN identity_links_refused BOOLEAN NOT NULL DEFAULT FALSE;
