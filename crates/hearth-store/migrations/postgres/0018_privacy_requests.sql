-- The record of every privacy request (Cal. Code Regs. tit. 11, §7101): when it was received,
-- what it asked, how it came, its deadlines under the law in force, when and how it was
-- answered, and why, if it was refused. Kept 24 months, then deleted by the retention sweep.
-- Erasing the person cuts the link to them; the record of the request itself stays, as the
-- law allows. Deadlines are dates (YYYY-MM-DD): a step due on a date is on time all that day.
CREATE TABLE privacy_requests (
    id              BIGINT PRIMARY KEY,
    user_id         BIGINT REFERENCES users(id) ON DELETE SET NULL,
    kind            TEXT NOT NULL,
    state           TEXT NOT NULL,
    law             TEXT NOT NULL,
    manner          TEXT NOT NULL,
    received_at     BIGINT NOT NULL,
    acknowledge_by  TEXT,
    respond_by      TEXT NOT NULL,
    extended_to     TEXT,
    extended        BOOLEAN NOT NULL DEFAULT FALSE,
    denial_reason   TEXT,
    responded_at    BIGINT,
    updated_at      BIGINT NOT NULL
);
CREATE INDEX privacy_requests_by_user ON privacy_requests(user_id, received_at);
CREATE INDEX privacy_requests_received ON privacy_requests(received_at);
