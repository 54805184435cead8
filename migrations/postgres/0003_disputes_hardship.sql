-- A debtor's statement that they do not owe a debt. Collecting that debt stops until the
-- dispute is reviewed.
CREATE TABLE disputes (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    attempt_id BIGINT NOT NULL REFERENCES attempts (id),
    debt_id    BIGINT NOT NULL REFERENCES debts (id),
    created_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX disputes_debt ON disputes (debt_id);

-- A debtor's hardship or vulnerability, for a person to follow up. `person_callback` is true
-- when the debtor asked that a person call them back.
CREATE TABLE hardship_referrals (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    attempt_id      BIGINT NOT NULL REFERENCES attempts (id),
    debt_id         BIGINT NOT NULL REFERENCES debts (id),
    person_callback BOOLEAN NOT NULL,
    created_at      TIMESTAMPTZ NOT NULL
);
CREATE INDEX hardship_referrals_debt ON hardship_referrals (debt_id);
