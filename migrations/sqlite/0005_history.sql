-- The history that scoring and the KPIs read: payments from the creditor, a do-not-call list,
-- dated snapshots of each debt's delinquency, the campaign and segment an attempt belonged to,
-- and how much of each promise was paid.

-- A payment the creditor reports on a debt. `payment_ref` is the creditor's reference, so
-- importing the same file twice stores each payment once.
CREATE TABLE payments (
    id           INTEGER PRIMARY KEY,
    debt_id      INTEGER NOT NULL REFERENCES debts (id),
    payment_ref  TEXT NOT NULL UNIQUE,
    paid_on      TEXT NOT NULL,
    amount_minor BIGINT NOT NULL CHECK (amount_minor > 0),
    currency     TEXT NOT NULL,
    channel      TEXT NOT NULL,
    imported_at  TEXT NOT NULL
);
CREATE INDEX payments_debt_paid_on ON payments (debt_id, paid_on);
CREATE INDEX payments_paid_on ON payments (paid_on);

-- Numbers that must never be called, whoever they belong to. Numbers are E.164.
CREATE TABLE do_not_call (
    phone    TEXT PRIMARY KEY,
    reason   TEXT NOT NULL,
    source   TEXT NOT NULL,
    added_on TEXT NOT NULL
);

-- A debt's days past due and balance on a date: written by each portfolio import and by the
-- history import. Cure, roll and recovery rates compare snapshots.
CREATE TABLE debt_snapshots (
    debt_id       INTEGER NOT NULL REFERENCES debts (id),
    as_of         TEXT NOT NULL,
    days_past_due INTEGER NOT NULL CHECK (days_past_due >= 0),
    balance_minor BIGINT NOT NULL CHECK (balance_minor >= 0),
    PRIMARY KEY (debt_id, as_of)
);
CREATE INDEX debt_snapshots_as_of ON debt_snapshots (as_of);

-- Status of a promise or installment: open, kept, kept_late, partly_kept or broken.
-- `kept_minor` is what payments have covered; `settled_on` the date the status stopped being
-- open.
ALTER TABLE promises ADD COLUMN kept_minor BIGINT NOT NULL DEFAULT 0;
ALTER TABLE promises ADD COLUMN settled_on TEXT;
CREATE INDEX promises_debt ON promises (debt_id);
CREATE INDEX promises_due_date ON promises (due_date);
ALTER TABLE promise_installments ADD COLUMN kept_minor BIGINT NOT NULL DEFAULT 0;
ALTER TABLE promise_installments ADD COLUMN settled_on TEXT;

-- The campaign that placed an attempt and the debtor's segment when it was placed; both are
-- empty for calls no campaign placed.
ALTER TABLE attempts ADD COLUMN campaign TEXT;
ALTER TABLE attempts ADD COLUMN segment TEXT;
