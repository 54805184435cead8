-- Campaigns and the dialer's work: which debts a campaign dials and when, the leases nodes hold
-- while they dial, why debts were passed over, and the carrier's call progress.

-- A campaign: its portfolio filter, schedule, limits, retry policy and scripts as JSON (see
-- `campaign::CampaignSettings`), and where it stands.
CREATE TABLE campaigns (
    name       TEXT PRIMARY KEY,
    status     TEXT NOT NULL CHECK (status IN ('draft', 'running', 'paused', 'stopped')),
    settings   TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

-- One row per debt a campaign may dial. `due_at` is the earliest instant the next try may start;
-- `state` is waiting (due at `due_at`), dialing (a lease holds it) or done.
CREATE TABLE campaign_targets (
    campaign     TEXT NOT NULL REFERENCES campaigns (name),
    debt_id      INTEGER NOT NULL REFERENCES debts (id),
    debtor_id    TEXT NOT NULL REFERENCES debtors (id),
    priority     DOUBLE PRECISION NOT NULL,
    segment      TEXT,
    due_at       TEXT NOT NULL,
    tries        INTEGER NOT NULL DEFAULT 0,
    state        TEXT NOT NULL CHECK (state IN ('waiting', 'dialing', 'done')),
    -- The last try's outcome (a disposition, or the carrier's busy / no_answer / call_failed).
    last_outcome TEXT,
    -- The contact-policy reason code of the last time the dialer passed the debt over.
    last_refusal TEXT,
    -- Follow-ups of broken promises reopen a done target; this is the latest promise followed up.
    followed_promise_id INTEGER,
    PRIMARY KEY (campaign, debt_id)
);
CREATE INDEX campaign_targets_queue ON campaign_targets (campaign, state, priority DESC, debt_id);

-- At most one lease per debtor: the node that holds it is dialing or talking to the debtor, so
-- no other node calls them and caps counted per debtor hold across nodes. A node renews its
-- leases while it lives; another node reclaims leases past `expires_at`.
CREATE TABLE dial_leases (
    debtor_id  TEXT PRIMARY KEY REFERENCES debtors (id),
    campaign   TEXT NOT NULL REFERENCES campaigns (name),
    debt_id    INTEGER NOT NULL REFERENCES debts (id),
    node       TEXT NOT NULL,
    attempt_id INTEGER REFERENCES attempts (id),
    leased_at  TEXT NOT NULL,
    expires_at TEXT NOT NULL
);
CREATE INDEX dial_leases_campaign ON dial_leases (campaign);
CREATE INDEX dial_leases_attempt ON dial_leases (attempt_id);

-- How many times the dialer passed a debt over, per campaign, reason code and UTC hour.
CREATE TABLE dial_skips (
    campaign TEXT NOT NULL,
    reason   TEXT NOT NULL,
    hour     TEXT NOT NULL,
    skips    INTEGER NOT NULL,
    PRIMARY KEY (campaign, reason, hour)
);

-- The carrier's status callbacks, kept by sequence number because they may arrive out of order.
CREATE TABLE call_progress (
    call_sid      TEXT NOT NULL,
    sequence      INTEGER NOT NULL,
    status        TEXT NOT NULL,
    duration_secs INTEGER,
    received_at   TEXT NOT NULL,
    PRIMARY KEY (call_sid, sequence)
);

-- The call's latest status by sequence number, and what answering-machine detection said.
ALTER TABLE attempts ADD COLUMN call_status TEXT;
ALTER TABLE attempts ADD COLUMN answered_by TEXT;
