-- How each community answers privacy requests: the law its deadlines follow (none: the
-- instance's `law` setting) and which kinds of request wait for an admin's approval (a
-- comma-separated list of request kind codes; the others are carried out at once for a
-- verified requester).
ALTER TABLE communities ADD COLUMN privacy_law TEXT;
ALTER TABLE communities ADD COLUMN approved_requests TEXT NOT NULL DEFAULT '';

-- A request is addressed to the community whose admins answer it (none: the operator), and
-- carries what handling it needs: what a correction asks (cleared when the request closes),
-- the answer in plain words, an admin's note to the requester (why it was refused or
-- extended), whether it went beyond the law's yearly quota, and why its last step failed.
ALTER TABLE privacy_requests ADD COLUMN community_id BIGINT REFERENCES communities(id) ON DELETE SET NULL;
ALTER TABLE privacy_requests ADD COLUMN details TEXT;
ALTER TABLE privacy_requests ADD COLUMN answer TEXT;
ALTER TABLE privacy_requests ADD COLUMN note TEXT;
ALTER TABLE privacy_requests ADD COLUMN beyond_quota BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE privacy_requests ADD COLUMN failure TEXT;
CREATE INDEX privacy_requests_by_community ON privacy_requests(community_id, received_at);
CREATE INDEX privacy_requests_by_state ON privacy_requests(state, received_at);
