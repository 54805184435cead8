-- The supervisor console: its users, their login sessions, failed logins for the rate limit,
-- and the audit log of what users did.

-- `password_hash` is the hash the console computed; the store never sees a password.
CREATE TABLE console_users (
    username      TEXT PRIMARY KEY,
    role          TEXT NOT NULL CHECK (role IN ('admin', 'supervisor', 'auditor')),
    language      TEXT NOT NULL DEFAULT 'es' CHECK (language IN ('es', 'en')),
    disabled      BOOLEAN NOT NULL DEFAULT FALSE,
    password_hash TEXT NOT NULL,
    created_at    TEXT NOT NULL
);

-- A session is found by the hash of its cookie token, so the table alone cannot log anyone in.
CREATE TABLE console_sessions (
    token_hash TEXT PRIMARY KEY,
    username   TEXT NOT NULL REFERENCES console_users (username),
    csrf_token TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL
);
CREATE INDEX console_sessions_username ON console_sessions (username);
CREATE INDEX console_sessions_expires_at ON console_sessions (expires_at);

-- One row per failed login, under a rate-limit key such as `user:NAME` or `ip:ADDR`.
CREATE TABLE console_login_failures (
    id        INTEGER PRIMARY KEY,
    limit_key TEXT NOT NULL,
    at        TEXT NOT NULL
);
CREATE INDEX console_login_failures_key_at ON console_login_failures (limit_key, at);
CREATE INDEX console_login_failures_at ON console_login_failures (at);

-- Append-only. `username` is kept as text without a reference, so entries outlive the user.
CREATE TABLE console_audit (
    id       INTEGER PRIMARY KEY,
    at       TEXT NOT NULL,
    username TEXT NOT NULL,
    action   TEXT NOT NULL,
    target   TEXT NOT NULL,
    detail   TEXT NOT NULL
);
CREATE INDEX console_audit_at ON console_audit (at, id);

-- The history page filters calls by campaign, newest first.
CREATE INDEX attempts_campaign_started_at ON attempts (campaign, started_at);
-- The promises page lists the installments due today.
CREATE INDEX promise_installments_due_date ON promise_installments (due_date);
-- The follow-up time of a broken promise is the due time of the targets that followed it up.
CREATE INDEX campaign_targets_followed_promise ON campaign_targets (followed_promise_id);
