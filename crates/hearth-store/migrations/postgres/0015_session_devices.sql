-- Where a session was signed in, as the sessions list shows it: a short summary of the
-- browser and system ("Firefox on Linux"), and the network shortened to an IPv4 /24 or an
-- IPv6 /48. Neither the user agent nor the address itself is kept. Both go with the session.
ALTER TABLE sessions ADD COLUMN device TEXT;
ALTER TABLE sessions ADD COLUMN network TEXT;
