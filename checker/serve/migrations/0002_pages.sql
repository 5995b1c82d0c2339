-- The supervisors' page (issue 12): signed-in sessions, and the history of checks of each incident.
-- A session is found by the SHA-256 of its cookie; it carries the token's hash, so that removing
-- the token ends the session, and its own CSRF secret for the forms.
CREATE TABLE page_sessions (
    session_sha256 TEXT PRIMARY KEY,
    token_sha256 TEXT NOT NULL,
    name TEXT NOT NULL,
    role TEXT NOT NULL,
    csrf TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL
);
CREATE INDEX page_sessions_expiry ON page_sessions (expires_at);

-- Every version pushed and checked: when, which version, what came of storing it, and the counts.
CREATE TABLE check_history (
    id __IDENTITY__,
    incident_id TEXT NOT NULL,
    checked_at TEXT NOT NULL,
    version_key BIGINT NOT NULL,
    updated_key TEXT NOT NULL,
    status TEXT NOT NULL,          -- stored | unchanged | older_ignored
    breaches BIGINT NOT NULL,
    risks BIGINT NOT NULL,
    reviews BIGINT NOT NULL,
    open_decisions BIGINT NOT NULL,
    ruleset TEXT NOT NULL
);
CREATE INDEX check_history_incident ON check_history (incident_id, id);
