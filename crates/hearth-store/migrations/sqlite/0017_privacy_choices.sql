-- A person's privacy choices: when they opted out of the sale and sharing of their personal
-- information (by a page, the API or their browser's Global Privacy Control signal), and when
-- they asked to limit the use of their sensitive personal information. NULL: no such choice.
-- The choice is the account's, so it holds on every device, and a later visit without the
-- signal does not undo it.
ALTER TABLE users ADD COLUMN sale_opt_out_at BIGINT;
ALTER TABLE users ADD COLUMN sensitive_limit_at BIGINT;
