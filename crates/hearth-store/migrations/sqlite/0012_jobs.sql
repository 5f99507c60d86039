-- Durable background work: each row is one job of a kind a handler knows, waiting, running
-- under a lease, done, failed for good (with its error in plain words) or cancelled. A node
-- claims a job by moving it to running with a lease in one conditional UPDATE, so two nodes
-- never run one job at once; a node that dies mid-run loses its lease, and the job runs again.
-- A job with `every_ms` runs again that long after it was due, for ever.
CREATE TABLE jobs (
    id           BIGINT PRIMARY KEY,
    kind         TEXT NOT NULL,
    payload      TEXT NOT NULL,
    user_id      BIGINT REFERENCES users(id) ON DELETE CASCADE,
    dedupe_key   TEXT UNIQUE,
    state        TEXT NOT NULL,
    run_at       BIGINT NOT NULL,
    every_ms     BIGINT,
    attempts     BIGINT NOT NULL DEFAULT 0,
    max_attempts BIGINT NOT NULL,
    lease_owner  TEXT,
    lease_until  BIGINT,
    last_error   TEXT,
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL
);
CREATE INDEX jobs_due ON jobs(state, run_at);
CREATE INDEX jobs_by_user ON jobs(user_id);
