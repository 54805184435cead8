-- Propensity-to-pay models and each debtor's latest score. A score names the model version that
-- gave it; the model's JSON holds its bins, coefficients, scaling and validation, so any stored
-- score can be traced and explained.

CREATE TABLE scoring_models (
    version    TEXT COLLATE "C" PRIMARY KEY,
    trained_at TIMESTAMPTZ NOT NULL,
    -- The scorecard and the expected recovery per stage, as JSON.
    model      TEXT NOT NULL,
    -- Holdout AUC, Gini, KS, PSI and the days-past-due baseline, as JSON.
    validation TEXT NOT NULL
);

CREATE TABLE debtor_scores (
    debtor_id          TEXT COLLATE "C" PRIMARY KEY REFERENCES debtors (id),
    model_version      TEXT NOT NULL,
    scored_at          TIMESTAMPTZ NOT NULL,
    -- The date the features were read as of.
    as_of              DATE NOT NULL,
    probability        DOUBLE PRECISION NOT NULL,
    points             BIGINT NOT NULL,
    -- Probability × expected amount − attempt cost, in US dollars: the dial queue's order.
    expected_value_usd DOUBLE PRECISION NOT NULL,
    segment            TEXT NOT NULL,
    strategy           TEXT NOT NULL,
    -- The characteristics that cost the debtor the most points, most first, separated by ';'.
    top_reasons        TEXT NOT NULL
);
CREATE INDEX debtor_scores_priority ON debtor_scores (expected_value_usd DESC, debtor_id);
