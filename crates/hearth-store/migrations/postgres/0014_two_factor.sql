-- Two-factor sign-in: a person's TOTP seed (RFC 6238), encrypted under the instance's master
-- key, and their single-use recovery codes, stored only as keyed hashes. A seed without
-- enabled_at is being set up and does not yet guard sign-in. last_step is the last time step
-- whose code was accepted: no code works twice. A community may require two-factor sign-in
-- of its moderators and admins.
CREATE TABLE two_factor (
    user_id     BIGINT PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    secret      BYTEA NOT NULL,
    nonce       BYTEA NOT NULL,
    enabled_at  BIGINT,
    last_step   BIGINT NOT NULL DEFAULT 0,
    created_at  BIGINT NOT NULL
);

CREATE TABLE recovery_codes (
    user_id     BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    code_hash   BYTEA NOT NULL,
    used_at     BIGINT,
    created_at  BIGINT NOT NULL,
    PRIMARY KEY (user_id, code_hash)
);

ALTER TABLE communities ADD COLUMN require_two_factor BOOLEAN NOT NULL DEFAULT FALSE;
