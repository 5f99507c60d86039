-- A community's privacy statement, every published version kept (Reg. §7011: the statement in
-- force on any day can be shown later). A version is either Hearth's own page (Markdown, body)
-- or a link to the owner's own policy (url). Who published it is kept while they have an
-- account; the audit log has the rest.
CREATE TABLE privacy_statements (
    id           BIGINT PRIMARY KEY,
    community_id BIGINT NOT NULL REFERENCES communities(id) ON DELETE CASCADE,
    version      INTEGER NOT NULL,
    body         TEXT,
    url          TEXT,
    published_by BIGINT REFERENCES users(id) ON DELETE SET NULL,
    published_at BIGINT NOT NULL,
    UNIQUE (community_id, version)
);
CREATE INDEX privacy_statements_by_publisher ON privacy_statements(published_by);

-- A member's acknowledgement of a version of a community's statement: the proof they were
-- told. It goes with the member's account.
CREATE TABLE statement_acknowledgements (
    statement_id    BIGINT NOT NULL REFERENCES privacy_statements(id) ON DELETE CASCADE,
    user_id         BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    acknowledged_at BIGINT NOT NULL,
    PRIMARY KEY (statement_id, user_id)
);
CREATE INDEX statement_acknowledgements_by_user ON statement_acknowledgements(user_id);

-- Where people write about their privacy, as the statement gives it (an address or a page),
-- and whether the statement publishes last year's request figures (§7102).
ALTER TABLE communities ADD COLUMN privacy_contact TEXT;
ALTER TABLE communities ADD COLUMN publish_request_metrics BOOLEAN NOT NULL DEFAULT FALSE;
