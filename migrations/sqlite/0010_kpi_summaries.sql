-- Summaries the KPI report reads instead of scanning every attempt and snapshot.
--
-- Writers never compute them. Triggers only mark what changed, and the KPI queries bring the
-- summaries up to date before they read them (src/kpi/summary.rs):
--   * attempts: each UTC hour an attempt started in (before and after a change) is marked, and
--     those hours are counted again from `attempts`;
--   * snapshots, payments, debts and debtors' countries: any change marks the portfolio, and the
--     portfolio summaries are rebuilt from the snapshots.
-- The columns mean what they mean in migrations/postgres/0010_kpi_summaries.sql. Hours are the
-- first 13 characters of an RFC 3339 UTC instant (`2026-12-04T10`).

CREATE TABLE kpi_attempt_hours (
    hour                 TEXT NOT NULL,
    campaign             TEXT,
    segment              TEXT,
    country              TEXT NOT NULL,
    dials                INTEGER NOT NULL,
    inbound_calls        INTEGER NOT NULL,
    connects             INTEGER NOT NULL,
    contacts             INTEGER NOT NULL,
    right_party_contacts INTEGER NOT NULL,
    handled_calls        INTEGER NOT NULL,
    handle_micros        INTEGER NOT NULL,
    cost_micros          INTEGER NOT NULL,
    outside_window       INTEGER NOT NULL,
    over_cap             INTEGER NOT NULL
);
CREATE INDEX kpi_attempt_hours_hour ON kpi_attempt_hours (hour);

CREATE TABLE kpi_debt_firsts (
    hour         TEXT NOT NULL,
    country      TEXT NOT NULL,
    previous_day TEXT,
    attempts     INTEGER NOT NULL
);
CREATE INDEX kpi_debt_firsts_hour ON kpi_debt_firsts (hour);

-- One writer at a time, so each hour is marked once. The triggers test for a mark before they
-- add one: `INSERT OR IGNORE` in a trigger takes the conflict rule of the statement that fired
-- it, and an upsert's is to fail.
CREATE TABLE kpi_attempt_marks (hour TEXT PRIMARY KEY) WITHOUT ROWID;

CREATE TRIGGER attempts_kpi_inserted AFTER INSERT ON attempts
BEGIN
    INSERT INTO kpi_attempt_marks (hour)
        SELECT hour FROM (
            SELECT substr(NEW.started_at, 1, 13) AS hour
            UNION
            -- The debt's next outbound attempt, whose previous attempt this one changes.
            SELECT substr(MIN(next.started_at), 1, 13) FROM attempts AS next
            WHERE NEW.direction = 'outbound' AND next.debt_id = NEW.debt_id AND next.direction = 'outbound'
                AND next.started_at > NEW.started_at
        ) AS marked
        WHERE hour IS NOT NULL AND hour NOT IN (SELECT hour FROM kpi_attempt_marks);
END;
CREATE TRIGGER attempts_kpi_deleted AFTER DELETE ON attempts
BEGIN
    INSERT INTO kpi_attempt_marks (hour)
        SELECT hour FROM (
            SELECT substr(OLD.started_at, 1, 13) AS hour
            UNION
            -- The debt's next outbound attempt, whose previous attempt this one changes.
            SELECT substr(MIN(next.started_at), 1, 13) FROM attempts AS next
            WHERE OLD.direction = 'outbound' AND next.debt_id = OLD.debt_id AND next.direction = 'outbound'
                AND next.started_at > OLD.started_at
        ) AS marked
        WHERE hour IS NOT NULL AND hour NOT IN (SELECT hour FROM kpi_attempt_marks);
END;
-- An update that changes a counted column marks the hour before and after. The compliance
-- check sets only the flags, so it fires only this trigger.
CREATE TRIGGER attempts_kpi_updated
    AFTER UPDATE OF direction, answered, disposition, right_party_contact, started_at, ended_at, cost_micros,
        campaign, segment, debtor_id, debt_id, outside_window, over_cap ON attempts
    WHEN OLD.direction IS NOT NEW.direction OR OLD.answered IS NOT NEW.answered
        OR OLD.disposition IS NOT NEW.disposition OR OLD.right_party_contact IS NOT NEW.right_party_contact
        OR OLD.started_at IS NOT NEW.started_at OR OLD.ended_at IS NOT NEW.ended_at
        OR OLD.cost_micros IS NOT NEW.cost_micros OR OLD.campaign IS NOT NEW.campaign
        OR OLD.segment IS NOT NEW.segment OR OLD.debtor_id IS NOT NEW.debtor_id OR OLD.debt_id IS NOT NEW.debt_id
        OR OLD.outside_window IS NOT NEW.outside_window OR OLD.over_cap IS NOT NEW.over_cap
BEGIN
    INSERT INTO kpi_attempt_marks (hour)
        SELECT substr(OLD.started_at, 1, 13)
        WHERE substr(OLD.started_at, 1, 13) NOT IN (SELECT hour FROM kpi_attempt_marks);
    INSERT INTO kpi_attempt_marks (hour)
        SELECT substr(NEW.started_at, 1, 13)
        WHERE substr(NEW.started_at, 1, 13) NOT IN (SELECT hour FROM kpi_attempt_marks);
END;
-- An attempt that moves (another start, debt or direction) also marks the next outbound
-- attempts whose previous one it was or now is.
CREATE TRIGGER attempts_kpi_moved
    AFTER UPDATE OF started_at, debt_id, direction ON attempts
    WHEN OLD.started_at IS NOT NEW.started_at OR OLD.debt_id IS NOT NEW.debt_id OR OLD.direction IS NOT NEW.direction
BEGIN
    INSERT INTO kpi_attempt_marks (hour)
        SELECT hour FROM (
            SELECT substr(MIN(next.started_at), 1, 13) AS hour FROM attempts AS next
            WHERE OLD.direction = 'outbound' AND next.debt_id = OLD.debt_id AND next.direction = 'outbound'
                AND next.started_at > OLD.started_at
        ) AS marked
        WHERE hour IS NOT NULL AND hour NOT IN (SELECT hour FROM kpi_attempt_marks);
    INSERT INTO kpi_attempt_marks (hour)
        SELECT hour FROM (
            SELECT substr(MIN(next.started_at), 1, 13) AS hour FROM attempts AS next
            WHERE NEW.direction = 'outbound' AND next.debt_id = NEW.debt_id AND next.direction = 'outbound'
                AND next.started_at > NEW.started_at
        ) AS marked
        WHERE hour IS NOT NULL AND hour NOT IN (SELECT hour FROM kpi_attempt_marks);
END;

CREATE TABLE kpi_aging_changes (
    day           TEXT NOT NULL,
    country       TEXT NOT NULL,
    currency      TEXT NOT NULL,
    bucket        INTEGER NOT NULL,
    debts         INTEGER NOT NULL,
    balance_minor INTEGER NOT NULL
);

CREATE TABLE kpi_past_due_spells (
    starts  TEXT NOT NULL,
    ends    TEXT,
    country TEXT NOT NULL,
    debts   INTEGER NOT NULL
);

CREATE TABLE kpi_cures (
    past_due_starts TEXT NOT NULL,
    past_due_ends   TEXT NOT NULL,
    current_starts  TEXT NOT NULL,
    current_ends    TEXT,
    country         TEXT NOT NULL,
    debts           INTEGER NOT NULL
);

CREATE TABLE kpi_roll_months (
    month         INTEGER NOT NULL,
    country       TEXT NOT NULL,
    currency      TEXT NOT NULL,
    bucket        INTEGER NOT NULL,
    debts         INTEGER NOT NULL,
    balance_minor INTEGER NOT NULL
);

CREATE TABLE kpi_roll_steps (
    month              INTEGER NOT NULL,
    country            TEXT NOT NULL,
    currency           TEXT NOT NULL,
    bucket             INTEGER NOT NULL,
    next_starts        TEXT NOT NULL,
    next_ends          TEXT,
    debts              INTEGER NOT NULL,
    next_balance_minor INTEGER NOT NULL
);

CREATE TABLE kpi_placements (
    placed_on    TEXT NOT NULL,
    country      TEXT NOT NULL,
    currency     TEXT NOT NULL,
    debts        INTEGER NOT NULL,
    placed_minor INTEGER NOT NULL
);

CREATE TABLE kpi_placement_payments (
    placed_on    TEXT NOT NULL,
    paid_on      TEXT NOT NULL,
    country      TEXT NOT NULL,
    currency     TEXT NOT NULL,
    amount_minor INTEGER NOT NULL
);

-- At most one row: the portfolio summaries are out of date.
CREATE TABLE kpi_portfolio_marks (id INTEGER PRIMARY KEY CHECK (id = 1));

CREATE TRIGGER debt_snapshots_kpi_inserted AFTER INSERT ON debt_snapshots
BEGIN INSERT INTO kpi_portfolio_marks (id) SELECT 1 WHERE NOT EXISTS (SELECT 1 FROM kpi_portfolio_marks); END;
CREATE TRIGGER debt_snapshots_kpi_updated AFTER UPDATE ON debt_snapshots
BEGIN INSERT INTO kpi_portfolio_marks (id) SELECT 1 WHERE NOT EXISTS (SELECT 1 FROM kpi_portfolio_marks); END;
CREATE TRIGGER debt_snapshots_kpi_deleted AFTER DELETE ON debt_snapshots
BEGIN INSERT INTO kpi_portfolio_marks (id) SELECT 1 WHERE NOT EXISTS (SELECT 1 FROM kpi_portfolio_marks); END;
CREATE TRIGGER payments_kpi_inserted AFTER INSERT ON payments
BEGIN INSERT INTO kpi_portfolio_marks (id) SELECT 1 WHERE NOT EXISTS (SELECT 1 FROM kpi_portfolio_marks); END;
CREATE TRIGGER payments_kpi_updated AFTER UPDATE ON payments
BEGIN INSERT INTO kpi_portfolio_marks (id) SELECT 1 WHERE NOT EXISTS (SELECT 1 FROM kpi_portfolio_marks); END;
CREATE TRIGGER payments_kpi_deleted AFTER DELETE ON payments
BEGIN INSERT INTO kpi_portfolio_marks (id) SELECT 1 WHERE NOT EXISTS (SELECT 1 FROM kpi_portfolio_marks); END;
CREATE TRIGGER debts_kpi_inserted AFTER INSERT ON debts
BEGIN INSERT INTO kpi_portfolio_marks (id) SELECT 1 WHERE NOT EXISTS (SELECT 1 FROM kpi_portfolio_marks); END;
CREATE TRIGGER debts_kpi_deleted AFTER DELETE ON debts
BEGIN INSERT INTO kpi_portfolio_marks (id) SELECT 1 WHERE NOT EXISTS (SELECT 1 FROM kpi_portfolio_marks); END;
CREATE TRIGGER debts_kpi_updated AFTER UPDATE OF days_past_due, balance_minor, currency, debtor_id ON debts
BEGIN INSERT INTO kpi_portfolio_marks (id) SELECT 1 WHERE NOT EXISTS (SELECT 1 FROM kpi_portfolio_marks); END;

CREATE TRIGGER debtors_kpi_country_changed
    AFTER UPDATE OF country ON debtors
    FOR EACH ROW
    WHEN OLD.country IS NOT NEW.country
BEGIN
    INSERT INTO kpi_attempt_marks (hour)
        SELECT DISTINCT substr(started_at, 1, 13) FROM attempts
        WHERE debtor_id = NEW.id AND substr(started_at, 1, 13) NOT IN (SELECT hour FROM kpi_attempt_marks);
    INSERT INTO kpi_portfolio_marks (id) SELECT 1 WHERE NOT EXISTS (SELECT 1 FROM kpi_portfolio_marks);
END;

INSERT OR IGNORE INTO kpi_attempt_marks (hour) SELECT DISTINCT substr(started_at, 1, 13) FROM attempts;
INSERT INTO kpi_portfolio_marks (id) SELECT 1 WHERE NOT EXISTS (SELECT 1 FROM kpi_portfolio_marks);
