-- The platform's legal documents, published by the operator, every version kept: the terms
-- and conditions ('terms'), the service level agreement ('sla') and the data processing
-- agreement ('dpa'). The newest version of each kind is the one in force.
CREATE TABLE legal_terms (
    id           BIGINT PRIMARY KEY,
    kind         TEXT NOT NULL,
    version      INTEGER NOT NULL,
    body         TEXT NOT NULL,
    published_by BIGINT REFERENCES users(id) ON DELETE SET NULL,
    published_at BIGINT NOT NULL,
    UNIQUE (kind, version)
);
CREATE INDEX legal_terms_by_publisher ON legal_terms(published_by);

-- A community's acceptance of a version of a legal document: which version, who accepted it
-- for the community (its owner then) and when. The record stays with the community; who
-- accepted it goes with their account.
CREATE TABLE terms_acceptances (
    terms_id     BIGINT NOT NULL REFERENCES legal_terms(id) ON DELETE CASCADE,
    community_id BIGINT NOT NULL REFERENCES communities(id) ON DELETE CASCADE,
    accepted_by  BIGINT REFERENCES users(id) ON DELETE SET NULL,
    accepted_at  BIGINT NOT NULL,
    PRIMARY KEY (terms_id, community_id)
);
CREATE INDEX terms_acceptances_by_user ON terms_acceptances(accepted_by);
CREATE INDEX terms_acceptances_by_community ON terms_acceptances(community_id);

-- The ages a community admits and how it asks: 'none' (it does not ask), 'birth_date' or
-- 'bracket'. minimum_age 0 admits children under 13 with a parent's consent; 13, 16 or 18
-- refuse anyone younger.
ALTER TABLE communities ADD COLUMN age_question TEXT NOT NULL DEFAULT 'none';
ALTER TABLE communities ADD COLUMN minimum_age INTEGER NOT NULL DEFAULT 0;
-- After a community narrows the ages it asks (asks none, or admits no one so young), the
-- youngest age it admitted before, and until when: its statement names what that collected
-- for 12 months more (Civ. 1798.130(a)(5): what was collected in the preceding 12 months).
ALTER TABLE communities ADD COLUMN earlier_minimum_age INTEGER;
ALTER TABLE communities ADD COLUMN earlier_ages_until BIGINT;

-- What joining told of a member's age: only the age group is kept, never a birth date; when a
-- member aged 13 to 15 gave their own consent to join, and when (if ever) they themself
-- allowed the sale and sharing of their personal information.
ALTER TABLE community_members ADD COLUMN age_group TEXT;
ALTER TABLE community_members ADD COLUMN minor_consent_at BIGINT;
ALTER TABLE community_members ADD COLUMN sale_opt_in_at BIGINT;

-- A parent's consent for a child under 13 to join a community: the parent's address and when
-- they confirmed it through the link mailed to them, and the hash of the secret of the link
-- that withdraws it (mailed to them once they consented). Nothing is written here until they
-- consent.
CREATE TABLE parental_consents (
    community_id  BIGINT NOT NULL REFERENCES communities(id) ON DELETE CASCADE,
    user_id       BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    parent_email  TEXT NOT NULL,
    confirmed_at  BIGINT NOT NULL,
    withdraw_hash BLOB NOT NULL UNIQUE,
    PRIMARY KEY (community_id, user_id)
);
CREATE INDEX parental_consents_by_user ON parental_consents(user_id);
-- The requests for a parent's consent waiting at one address, which are capped.
CREATE INDEX account_links_by_email ON account_links(email);

-- The statement written from the catalog, as it stood when it last changed: the digest of its
-- text and since when it reads so, which dates it ("Last updated") until the community
-- publishes its own. Scope 0 is this Hearth's own statement; any other is a community's.
CREATE TABLE generated_statements (
    scope      BIGINT PRIMARY KEY,
    digest     BLOB NOT NULL,
    changed_at BIGINT NOT NULL
);
