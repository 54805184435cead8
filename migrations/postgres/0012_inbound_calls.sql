-- Calls nobody dialled whose caller could not be matched to one debtor when the call came in:
-- the number was unknown, withheld, or on file for several debtors. An attempt needs a debt, so
-- such a call has a row here until the caller gives an account number that matches one debt.
-- Then `attempt_id` points to the attempt created for it, which holds the rest of the call and
-- its outcome. A call that ends unidentified keeps its outcome here, where no KPI counts it.
-- Column names match migrations/sqlite/0012_inbound_calls.sql.
CREATE TABLE inbound_calls (
    id             BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    call_sid       TEXT NOT NULL UNIQUE,
    -- E.164, or NULL when the caller withheld the number.
    phone          TEXT,
    started_at     TIMESTAMPTZ NOT NULL,
    attempt_id     BIGINT UNIQUE REFERENCES attempts (id),
    ended_at       TIMESTAMPTZ,
    disposition    TEXT,
    recording_path TEXT,
    cost_micros    BIGINT NOT NULL DEFAULT 0 CHECK (cost_micros >= 0),
    -- An identified call ends on its attempt.
    CHECK (attempt_id IS NULL OR ended_at IS NULL)
);
CREATE INDEX inbound_calls_started_at ON inbound_calls (started_at);

-- What was said on an inbound call before its caller was identified. Identifying the caller
-- copies these lines to the attempt's transcript, so the attempt holds the whole call.
CREATE TABLE inbound_call_lines (
    inbound_call_id BIGINT NOT NULL REFERENCES inbound_calls (id),
    seq             BIGINT NOT NULL,
    speaker         TEXT NOT NULL CHECK (speaker IN ('bot', 'debtor')),
    text            TEXT NOT NULL,
    at              TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (inbound_call_id, seq)
);
