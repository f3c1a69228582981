-- Sessions expire `session_days` after they were made: sign-ins delete the expired ones.
CREATE INDEX sessions_by_age ON sessions (created_at);

-- Preferences a sign-up asked for while the address was already confirmed (JSON): applied only
-- when the owner follows the confirmation link mailed to the address.
ALTER TABLE subscriptions ADD COLUMN pending TEXT;

-- Rate limits that every node sees: one row per counted action and key (an account, an
-- address), kept for the length of its window.
CREATE TABLE rate_events (
    action TEXT COLLATE "C" NOT NULL,
    key    TEXT COLLATE "C" NOT NULL,
    at     TEXT COLLATE "C" NOT NULL
);
CREATE INDEX rate_events_by_key ON rate_events (action, key, at);
