-- The collections store: debtors, their debts, every call attempt and what calls recorded.
-- Column names match the SQLite schema in migrations/sqlite, so queries read the same on both.
--
-- Money is a BIGINT amount in the currency's ISO 4217 minor unit beside its currency code,
-- never a float. Times are TIMESTAMPTZ, which PostgreSQL keeps to the microsecond. Text that
-- the store sorts by uses the "C" collation, so rows come back in byte order as they do from
-- SQLite, whatever the database's default collation is.

CREATE TABLE debtors (
    id                  TEXT COLLATE "C" PRIMARY KEY,
    full_name           TEXT NOT NULL,
    country             TEXT NOT NULL,
    region              TEXT NOT NULL,
    locale              TEXT NOT NULL,
    time_zone           TEXT NOT NULL,
    national_id_last4   TEXT NOT NULL,
    birth_date          DATE NOT NULL,
    postal_code         TEXT NOT NULL,
    call_consent        BOOLEAN NOT NULL,
    -- Channel names separated by ';', in the order the portfolio gave them.
    authorised_channels TEXT NOT NULL
);

-- A debtor may have several numbers. The primary one is the number the latest portfolio gave.
CREATE TABLE phones (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    debtor_id  TEXT COLLATE "C" NOT NULL REFERENCES debtors (id),
    number     TEXT NOT NULL,
    is_primary BOOLEAN NOT NULL,
    UNIQUE (debtor_id, number)
);
CREATE UNIQUE INDEX phones_one_primary ON phones (debtor_id) WHERE is_primary;

CREATE TABLE debts (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    debtor_id     TEXT COLLATE "C" NOT NULL REFERENCES debtors (id),
    account_ref   TEXT COLLATE "C" NOT NULL UNIQUE,
    creditor      TEXT NOT NULL,
    product       TEXT NOT NULL,
    balance_minor BIGINT NOT NULL CHECK (balance_minor >= 0),
    currency      TEXT NOT NULL,
    days_past_due BIGINT NOT NULL CHECK (days_past_due >= 0)
);
CREATE INDEX debts_debtor ON debts (debtor_id);

-- One row per call, placed or received. The debtor is copied from the debt when the attempt is
-- created, so the attempt log keeps who was called even if a later import moves the debt.
CREATE TABLE attempts (
    id                  BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    debt_id             BIGINT NOT NULL REFERENCES debts (id),
    debtor_id           TEXT COLLATE "C" NOT NULL REFERENCES debtors (id),
    phone               TEXT NOT NULL,
    direction           TEXT NOT NULL CHECK (direction IN ('outbound', 'inbound')),
    call_sid            TEXT UNIQUE,
    started_at          TIMESTAMPTZ NOT NULL,
    answered            BOOLEAN NOT NULL DEFAULT FALSE,
    ended_at            TIMESTAMPTZ,
    disposition         TEXT,
    right_party_contact BOOLEAN NOT NULL DEFAULT FALSE,
    recording_path      TEXT
);
CREATE INDEX attempts_started_at ON attempts (started_at);
CREATE INDEX attempts_debtor_started_at ON attempts (debtor_id, started_at);

CREATE TABLE transcript_lines (
    attempt_id BIGINT NOT NULL REFERENCES attempts (id),
    seq        BIGINT NOT NULL,
    speaker    TEXT NOT NULL CHECK (speaker IN ('bot', 'debtor')),
    text       TEXT NOT NULL,
    at         TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (attempt_id, seq)
);

-- One promise per agreement. A plan has dated installments, each kept or broken on its own.
CREATE TABLE promises (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    attempt_id   BIGINT NOT NULL REFERENCES attempts (id),
    debt_id      BIGINT NOT NULL REFERENCES debts (id),
    amount_minor BIGINT NOT NULL CHECK (amount_minor > 0),
    currency     TEXT NOT NULL,
    due_date     DATE NOT NULL,
    status       TEXT NOT NULL DEFAULT 'open',
    created_at   TIMESTAMPTZ NOT NULL
);
CREATE INDEX promises_created_at ON promises (created_at);
CREATE INDEX promises_attempt ON promises (attempt_id);

CREATE TABLE promise_installments (
    promise_id   BIGINT NOT NULL REFERENCES promises (id),
    seq          BIGINT NOT NULL,
    amount_minor BIGINT NOT NULL CHECK (amount_minor > 0),
    currency     TEXT NOT NULL,
    due_date     DATE NOT NULL,
    status       TEXT NOT NULL DEFAULT 'open',
    PRIMARY KEY (promise_id, seq)
);

-- A debtor's statement that the debt is already paid, kept for reconciliation.
CREATE TABLE payment_claims (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    attempt_id   BIGINT NOT NULL REFERENCES attempts (id),
    debt_id      BIGINT NOT NULL REFERENCES debts (id),
    paid_on      DATE,
    amount_minor BIGINT,
    currency     TEXT,
    channel      TEXT,
    created_at   TIMESTAMPTZ NOT NULL,
    CHECK ((amount_minor IS NULL) = (currency IS NULL))
);

CREATE TABLE callback_requests (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    attempt_id    BIGINT NOT NULL REFERENCES attempts (id),
    requested_for TIMESTAMPTZ,
    created_at    TIMESTAMPTZ NOT NULL
);

-- A stop-contact request per debtor and channel. The first request's time is kept.
CREATE TABLE opt_outs (
    debtor_id TEXT COLLATE "C" NOT NULL REFERENCES debtors (id),
    channel   TEXT NOT NULL,
    at        TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (debtor_id, channel)
);
