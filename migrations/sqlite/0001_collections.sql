-- The collections store: debtors, their debts, every call attempt and what calls recorded.
--
-- Money is an integer amount in the currency's ISO 4217 minor unit beside its currency code,
-- never a float. Times are RFC 3339 UTC text with nanoseconds and a Z suffix, always the same
-- width, so comparing the text compares the instants. Dates are YYYY-MM-DD text.

CREATE TABLE debtors (
    id                  TEXT PRIMARY KEY,
    full_name           TEXT NOT NULL,
    country             TEXT NOT NULL,
    region              TEXT NOT NULL,
    locale              TEXT NOT NULL,
    time_zone           TEXT NOT NULL,
    national_id_last4   TEXT NOT NULL,
    birth_date          TEXT NOT NULL,
    postal_code         TEXT NOT NULL,
    call_consent        BOOLEAN NOT NULL,
    -- Channel names separated by ';', in the order the portfolio gave them.
    authorised_channels TEXT NOT NULL
);

-- A debtor may have several numbers. The primary one is the number the latest portfolio gave.
CREATE TABLE phones (
    id         INTEGER PRIMARY KEY,
    debtor_id  TEXT NOT NULL REFERENCES debtors (id),
    number     TEXT NOT NULL,
    is_primary BOOLEAN NOT NULL,
    UNIQUE (debtor_id, number)
);
CREATE UNIQUE INDEX phones_one_primary ON phones (debtor_id) WHERE is_primary;

CREATE TABLE debts (
    id            INTEGER PRIMARY KEY,
    debtor_id     TEXT NOT NULL REFERENCES debtors (id),
    account_ref   TEXT NOT NULL UNIQUE,
    creditor      TEXT NOT NULL,
    product       TEXT NOT NULL,
    balance_minor BIGINT NOT NULL CHECK (balance_minor >= 0),
    currency      TEXT NOT NULL,
    days_past_due INTEGER NOT NULL CHECK (days_past_due >= 0)
);
CREATE INDEX debts_debtor ON debts (debtor_id);

-- One row per call, placed or received. The debtor is copied from the debt when the attempt is
-- created, so the attempt log keeps who was called even if a later import moves the debt.
CREATE TABLE attempts (
    id                  INTEGER PRIMARY KEY,
    debt_id             INTEGER NOT NULL REFERENCES debts (id),
    debtor_id           TEXT NOT NULL REFERENCES debtors (id),
    phone               TEXT NOT NULL,
    direction           TEXT NOT NULL CHECK (direction IN ('outbound', 'inbound')),
    call_sid            TEXT UNIQUE,
    started_at          TEXT NOT NULL,
    answered            BOOLEAN NOT NULL DEFAULT FALSE,
    ended_at            TEXT,
    disposition         TEXT,
    right_party_contact BOOLEAN NOT NULL DEFAULT FALSE,
    recording_path      TEXT
);
CREATE INDEX attempts_started_at ON attempts (started_at);
CREATE INDEX attempts_debtor_started_at ON attempts (debtor_id, started_at);

CREATE TABLE transcript_lines (
    attempt_id INTEGER NOT NULL REFERENCES attempts (id),
    seq        INTEGER NOT NULL,
    speaker    TEXT NOT NULL CHECK (speaker IN ('bot', 'debtor')),
    text       TEXT NOT NULL,
    at         TEXT NOT NULL,
    PRIMARY KEY (attempt_id, seq)
);

-- One promise per agreement. A plan has dated installments, each kept or broken on its own.
CREATE TABLE promises (
    id           INTEGER PRIMARY KEY,
    attempt_id   INTEGER NOT NULL REFERENCES attempts (id),
    debt_id      INTEGER NOT NULL REFERENCES debts (id),
    amount_minor BIGINT NOT NULL CHECK (amount_minor > 0),
    currency     TEXT NOT NULL,
    due_date     TEXT NOT NULL,
    status       TEXT NOT NULL DEFAULT 'open',
    created_at   TEXT NOT NULL
);
CREATE INDEX promises_created_at ON promises (created_at);
CREATE INDEX promises_attempt ON promises (attempt_id);

CREATE TABLE promise_installments (
    promise_id   INTEGER NOT NULL REFERENCES promises (id),
    seq          INTEGER NOT NULL,
    amount_minor BIGINT NOT NULL CHECK (amount_minor > 0),
    currency     TEXT NOT NULL,
    due_date     TEXT NOT NULL,
    status       TEXT NOT NULL DEFAULT 'open',
    PRIMARY KEY (promise_id, seq)
);

-- A debtor's statement that the debt is already paid, kept for reconciliation.
CREATE TABLE payment_claims (
    id           INTEGER PRIMARY KEY,
    attempt_id   INTEGER NOT NULL REFERENCES attempts (id),
    debt_id      INTEGER NOT NULL REFERENCES debts (id),
    paid_on      TEXT,
    amount_minor BIGINT,
    currency     TEXT,
    channel      TEXT,
    created_at   TEXT NOT NULL,
    CHECK ((amount_minor IS NULL) = (currency IS NULL))
);

CREATE TABLE callback_requests (
    id            INTEGER PRIMARY KEY,
    attempt_id    INTEGER NOT NULL REFERENCES attempts (id),
    requested_for TEXT,
    created_at    TEXT NOT NULL
);

-- A stop-contact request per debtor and channel. The first request's time is kept.
CREATE TABLE opt_outs (
    debtor_id TEXT NOT NULL REFERENCES debtors (id),
    channel   TEXT NOT NULL,
    at        TEXT NOT NULL,
    PRIMARY KEY (debtor_id, channel)
);
