-- One schema for both databases; __IDENTITY__ becomes the dialect's auto-numbered primary key.
-- Incidents the records system pushed, the latest version of each, with its latest result.
-- Times are text in UTC, fixed width (2025-01-02T14:22:00.000000Z), so text order is time order.
CREATE TABLE incidents (
    incident_id TEXT PRIMARY KEY,
    version_key BIGINT NOT NULL,   -- the incident's version, -1 when it has none
    updated_key TEXT NOT NULL,     -- its updated_at, '' when it has none
    reported_at TEXT NOT NULL,
    force TEXT,
    officer TEXT,
    team TEXT,
    area TEXT,
    shift TEXT,
    received_at TEXT NOT NULL,
    checked_at TEXT NOT NULL,      -- the time the stored result was judged at
    record TEXT NOT NULL,          -- the incident as JSON; the narrative only when the force stores it
    document TEXT NOT NULL         -- the check document of this version (log quotes withheld)
);

-- What the queue shows: open recording decisions and findings, one row each.
CREATE TABLE queue_items (
    incident_id TEXT NOT NULL REFERENCES incidents (incident_id) ON DELETE CASCADE,
    position BIGINT NOT NULL,
    kind TEXT NOT NULL,            -- decision | finding
    rule_id TEXT,
    rule_area TEXT,
    outcome TEXT,
    subject TEXT NOT NULL,
    deadline TEXT,
    item TEXT NOT NULL,
    PRIMARY KEY (incident_id, position)
);
CREATE INDEX queue_items_deadline ON queue_items (deadline);

CREATE TABLE exceptions (
    id __IDENTITY__,
    rule_id TEXT NOT NULL,
    incident_id TEXT NOT NULL,
    subject TEXT NOT NULL,
    reason TEXT NOT NULL,
    accepted_by_role TEXT NOT NULL,
    accepted_by TEXT NOT NULL,
    accepted_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    token TEXT NOT NULL            -- the name of the token that accepted it
);
CREATE INDEX exceptions_finding ON exceptions (incident_id, rule_id, subject);

CREATE TABLE tokens (
    token_sha256 TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    role TEXT NOT NULL,
    created_at TEXT NOT NULL
);

-- Who did what that changes the register; never the content of an incident.
CREATE TABLE audit_log (
    id __IDENTITY__,
    at TEXT NOT NULL,
    token TEXT NOT NULL,
    role TEXT NOT NULL,
    action TEXT NOT NULL,
    detail TEXT NOT NULL
);
