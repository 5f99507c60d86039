-- Profiles: a member's own words about themself and their picture, and the custom profile
-- fields a community asks its members to fill in.
--
-- The about text is sealed for its person, like a message body. The picture's bytes live in
-- the blob store, in its person's folder (uploads/<user_id>/<avatar_id>), beside their uploads.
ALTER TABLE users ADD COLUMN about BLOB;
ALTER TABLE users ADD COLUMN avatar_id BIGINT;
ALTER TABLE users ADD COLUMN avatar_type TEXT;

-- A community's questions. Each carries the privacy category its admin chose, so the answers
-- are exported, erased and listed in the privacy statement like any catalogued column.
CREATE TABLE profile_fields (
    id           BIGINT PRIMARY KEY,
    community_id BIGINT NOT NULL REFERENCES communities(id) ON DELETE CASCADE,
    label        TEXT NOT NULL,
    help         TEXT NOT NULL,
    kind         TEXT NOT NULL,
    choices      TEXT NOT NULL,
    required     BOOLEAN NOT NULL,
    visibility   TEXT NOT NULL,
    category     TEXT NOT NULL,
    position     BIGINT NOT NULL,
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL,
    UNIQUE (id, community_id)
);
CREATE INDEX profile_fields_by_community ON profile_fields(community_id, position);

-- A member's answers, sealed for them. An answer lives only as long as the membership it
-- belongs to: leaving the community, or being removed from it, deletes it (the foreign key to
-- community_members), and so does deleting the field or the account.
CREATE TABLE profile_values (
    field_id     BIGINT NOT NULL,
    user_id      BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    community_id BIGINT NOT NULL,
    value        BLOB NOT NULL,
    updated_at   BIGINT NOT NULL,
    PRIMARY KEY (field_id, user_id),
    -- An answer belongs to a field of its own community, and to a membership in it.
    FOREIGN KEY (field_id, community_id)
        REFERENCES profile_fields(id, community_id) ON DELETE CASCADE,
    FOREIGN KEY (community_id, user_id)
        REFERENCES community_members(community_id, user_id) ON DELETE CASCADE
);
CREATE INDEX profile_values_by_member ON profile_values(community_id, user_id);
CREATE INDEX profile_values_by_user ON profile_values(user_id);
