-- Finding one person's rows without reading whole tables, so that erasing them, or copying
-- their data, costs the same however large the database grows: the audit entries about them
-- (joins, removals, role changes, failed sign-ins name a user as their object) and the live
-- feed's events about their messages.
CREATE INDEX audit_log_about_users ON audit_log(object_id) WHERE object_kind = 'user';
CREATE INDEX events_by_object ON events(object_id);
