-- Requests made on the public form, by people without a session: ex-members, people who never
-- joined, and authorized agents. What verification collected sits here, apart from the
-- request's record, and goes when the request closes (or its link expires unused): the address
-- the link was mailed to, and for an agent their name, address and the person's signed
-- permission. The mailed link's secret is derived from the request's id with the instance key,
-- so no copy of it is stored.
CREATE TABLE request_verifications (
    request_id  BIGINT PRIMARY KEY REFERENCES privacy_requests(id) ON DELETE CASCADE,
    email       TEXT NOT NULL,
    agent_name  TEXT,
    agent_email TEXT,
    permission  TEXT,
    expires_at  BIGINT NOT NULL,
    created_at  BIGINT NOT NULL
);
CREATE INDEX request_verifications_by_email ON request_verifications(email);
CREATE INDEX request_verifications_by_expiry ON request_verifications(expires_at);

-- The suppression list: keyed hashes (under the instance key) of an erased person's
-- identifiers (username, address, identity-provider subject), so that nothing brings their
-- data back under them. No plain identifier is kept.
CREATE TABLE erased_identifiers (
    digest    TEXT PRIMARY KEY,
    kind      TEXT NOT NULL,
    erased_at BIGINT NOT NULL
);
