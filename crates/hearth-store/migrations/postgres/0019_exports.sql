-- Copies of a person's data made for their access requests. The ZIP itself is a file under the
-- data directory (exports/<id>.zip); this row says whose it is, what it covers, where it
-- stands, and until when it may be downloaded. The retention sweep deletes an expired copy,
-- file and row; erasing the person deletes theirs.
CREATE TABLE exports (
    id          BIGINT PRIMARY KEY,
    user_id     BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    request_id  BIGINT NOT NULL,
    state       TEXT NOT NULL,
    range_from  BIGINT,
    range_to    BIGINT,
    bytes       BIGINT,
    sha256      TEXT,
    error       TEXT,
    created_at  BIGINT NOT NULL,
    ready_at    BIGINT,
    expires_at  BIGINT
);
CREATE INDEX exports_by_user ON exports(user_id, created_at);
