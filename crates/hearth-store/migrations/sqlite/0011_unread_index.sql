-- A channel's top-level messages by id, now carrying their author and deletion time: counting a
-- member's unread messages (those after their marker, by others, not deleted) reads the index
-- alone, without a lookup of each message's row. History pages walk the same index as before.
DROP INDEX messages_channel_roots;
CREATE INDEX messages_channel_roots ON messages(channel_id, id, author_id, deleted_at)
    WHERE thread_root_id IS NULL;
