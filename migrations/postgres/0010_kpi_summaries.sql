-- Summaries the KPI report reads instead of scanning every attempt and snapshot.
--
-- Writers never compute them. Triggers only mark what changed, and the KPI queries bring the
-- summaries up to date before they read them (src/kpi/summary.rs):
--   * attempts: each UTC hour an attempt started in (before and after a change) is marked, and
--     those hours are counted again from `attempts`;
--   * snapshots, payments, debts and debtors' countries: any change marks the portfolio, and the
--     portfolio summaries are rebuilt from the snapshots.
-- A marked row is deleted only by the refresh that reads it, so a change committed while a
-- refresh runs stays marked for the next one.

-- Attempts counted per UTC hour of their start, campaign, segment and debtor's country, by the
-- definitions of src/kpi/sql.rs. `handle_micros` sums the exact lengths of handled calls.
-- `outside_window` and `over_cap` count the outbound attempts the compliance check flagged.
CREATE TABLE kpi_attempt_hours (
    hour                 TIMESTAMPTZ NOT NULL,
    campaign             TEXT COLLATE "C",
    segment              TEXT COLLATE "C",
    country              TEXT NOT NULL,
    dials                BIGINT NOT NULL,
    inbound_calls        BIGINT NOT NULL,
    connects             BIGINT NOT NULL,
    contacts             BIGINT NOT NULL,
    right_party_contacts BIGINT NOT NULL,
    handled_calls        BIGINT NOT NULL,
    handle_micros        BIGINT NOT NULL,
    cost_micros          BIGINT NOT NULL,
    outside_window       BIGINT NOT NULL,
    over_cap             BIGINT NOT NULL
);
CREATE INDEX kpi_attempt_hours_hour ON kpi_attempt_hours (hour);

-- Outbound attempts per UTC hour and debtor's country, by the UTC day the debt's previous
-- outbound attempt started (NULL: it has none). The debts attempted in a range of whole days
-- are the attempts in it whose previous attempt started before its first day. Attempts whose
-- previous one started the same day are left out: they are never the first of such a range.
CREATE TABLE kpi_debt_firsts (
    hour         TIMESTAMPTZ NOT NULL,
    country      TEXT NOT NULL,
    previous_day DATE,
    attempts     BIGINT NOT NULL
);
CREATE INDEX kpi_debt_firsts_hour ON kpi_debt_firsts (hour);

-- Hours whose counts are out of date. Not unique: each writer adds its own row (see above).
CREATE TABLE kpi_attempt_marks (hour TIMESTAMPTZ NOT NULL);

-- The hour of the debt's next outbound attempt after `after`, whose previous attempt an
-- attempt at `after` changes, or NULL.
CREATE FUNCTION kpi_next_outbound_hour(debt BIGINT, after TIMESTAMPTZ) RETURNS TIMESTAMPTZ
LANGUAGE sql STABLE AS $$
    SELECT date_trunc('hour', MIN(started_at), 'UTC') FROM attempts
    WHERE debt_id = debt AND direction = 'outbound' AND started_at > after
$$;

-- Marks the hours of the attempts a statement inserted or deleted, and the hours of the next
-- outbound attempts whose previous one they were or now are. Both triggers name their
-- transition table `changed`.
CREATE FUNCTION kpi_mark_changed_attempts() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO kpi_attempt_marks (hour)
        SELECT hour FROM (
            SELECT date_trunc('hour', started_at, 'UTC') FROM changed
            UNION
            SELECT kpi_next_outbound_hour(debt_id, started_at) FROM changed WHERE direction = 'outbound'
        ) AS marked (hour)
        WHERE hour IS NOT NULL;
    RETURN NULL;
END;
$$;

-- Marks the hour of an updated attempt, before and after, and if the attempt moved (another
-- start, debt or direction) the hours of the next outbound attempts whose previous one it was
-- or now is.
CREATE FUNCTION kpi_mark_updated_attempt() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO kpi_attempt_marks (hour) VALUES (date_trunc('hour', OLD.started_at, 'UTC'));
    IF (OLD.started_at, OLD.debt_id, OLD.direction) IS DISTINCT FROM (NEW.started_at, NEW.debt_id, NEW.direction) THEN
        INSERT INTO kpi_attempt_marks (hour)
            SELECT hour FROM (VALUES
                (date_trunc('hour', NEW.started_at, 'UTC')),
                (CASE WHEN OLD.direction = 'outbound' THEN kpi_next_outbound_hour(OLD.debt_id, OLD.started_at) END),
                (CASE WHEN NEW.direction = 'outbound' THEN kpi_next_outbound_hour(NEW.debt_id, NEW.started_at) END)
            ) AS marked (hour)
            WHERE hour IS NOT NULL;
    END IF;
    RETURN NULL;
END;
$$;

-- Inserts and deletes mark each hour once per statement, however many attempts it writes (an
-- imported history).
CREATE TRIGGER attempts_kpi_inserted AFTER INSERT ON attempts
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION kpi_mark_changed_attempts();
CREATE TRIGGER attempts_kpi_deleted AFTER DELETE ON attempts
    REFERENCING OLD TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION kpi_mark_changed_attempts();
-- Calls update attempts one row at a time. The compliance check writes the flags of thousands
-- of attempts per statement and marks their hours itself (src/collections/postgres/compliance/
-- check.rs), because this trigger's cost on each of them doubled the check's time.
CREATE TRIGGER attempts_kpi_updated
    AFTER UPDATE OF direction, answered, disposition, right_party_contact, started_at, ended_at, cost_micros,
        campaign, segment, debtor_id, debt_id ON attempts
    FOR EACH ROW
    WHEN ((OLD.direction, OLD.answered, OLD.disposition, OLD.right_party_contact, OLD.started_at, OLD.ended_at,
           OLD.cost_micros, OLD.campaign, OLD.segment, OLD.debtor_id, OLD.debt_id)
          IS DISTINCT FROM
          (NEW.direction, NEW.answered, NEW.disposition, NEW.right_party_contact, NEW.started_at, NEW.ended_at,
           NEW.cost_micros, NEW.campaign, NEW.segment, NEW.debtor_id, NEW.debt_id))
    EXECUTE FUNCTION kpi_mark_updated_attempt();

-- The figures read from debt snapshots, reduced to a few rows per day or month (see
-- src/kpi/summary.rs for how each figure reads them). `country` is the debtor's country.

-- Changes to the aging: each snapshot adds its debt to its bucket on its date and takes it out
-- on the date of the debt's next snapshot. A debt's own figures count from 1900-01-01 until
-- its first snapshot. The aging on a day sums the changes up to that day.
CREATE TABLE kpi_aging_changes (
    day           DATE NOT NULL,
    country       TEXT NOT NULL,
    currency      TEXT NOT NULL,
    bucket        BIGINT NOT NULL,
    debts         BIGINT NOT NULL,
    balance_minor BIGINT NOT NULL
);

-- Spells of consecutive snapshots past due, from the first one's date until the date of the
-- next current snapshot (NULL while none).
CREATE TABLE kpi_past_due_spells (
    starts  DATE NOT NULL,
    ends    DATE,
    country TEXT NOT NULL,
    debts   BIGINT NOT NULL
);

-- Pairs of a past-due spell and a later current spell of the same debt. A debt past due on the
-- first day and current on the last is in exactly one pair whose spells hold those days.
CREATE TABLE kpi_cures (
    past_due_starts DATE NOT NULL,
    past_due_ends   DATE NOT NULL,
    current_starts  DATE NOT NULL,
    current_ends    DATE,
    country         TEXT NOT NULL,
    debts           BIGINT NOT NULL
);

-- Debts by the bucket of their latest snapshot in a month (`month` numbered year × 12 +
-- month − 1), for the buckets a debt can roll out of.
CREATE TABLE kpi_roll_months (
    month         BIGINT NOT NULL,
    country       TEXT NOT NULL,
    currency      TEXT NOT NULL,
    bucket        BIGINT NOT NULL,
    debts         BIGINT NOT NULL,
    balance_minor BIGINT NOT NULL
);

-- Snapshots of the next month one bucket later than the debt's latest snapshot in `month`.
-- Each holds from its date until the debt's next snapshot in that month (NULL for the month's
-- latest), so a range ending within the next month sees the snapshot that was latest then.
CREATE TABLE kpi_roll_steps (
    month              BIGINT NOT NULL,
    country            TEXT NOT NULL,
    currency           TEXT NOT NULL,
    bucket             BIGINT NOT NULL,
    next_starts        DATE NOT NULL,
    next_ends          DATE,
    debts              BIGINT NOT NULL,
    next_balance_minor BIGINT NOT NULL
);

-- Debts by the date of their first snapshot (their placement), with the balance placed.
CREATE TABLE kpi_placements (
    placed_on    DATE NOT NULL,
    country      TEXT NOT NULL,
    currency     TEXT NOT NULL,
    debts        BIGINT NOT NULL,
    placed_minor BIGINT NOT NULL
);

-- Payments in the debt's currency on or after its placement, by placement and payment date.
CREATE TABLE kpi_placement_payments (
    placed_on    DATE NOT NULL,
    paid_on      DATE NOT NULL,
    country      TEXT NOT NULL,
    currency     TEXT NOT NULL,
    amount_minor BIGINT NOT NULL
);

CREATE TABLE kpi_portfolio_marks (marked_at TIMESTAMPTZ NOT NULL DEFAULT now());

CREATE FUNCTION kpi_mark_portfolio() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO kpi_portfolio_marks DEFAULT VALUES;
    RETURN NULL;
END;
$$;

CREATE TRIGGER debt_snapshots_kpi_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON debt_snapshots
    FOR EACH STATEMENT EXECUTE FUNCTION kpi_mark_portfolio();
CREATE TRIGGER payments_kpi_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON payments
    FOR EACH STATEMENT EXECUTE FUNCTION kpi_mark_portfolio();
CREATE TRIGGER debts_kpi_changed
    AFTER INSERT OR DELETE OR UPDATE OF days_past_due, balance_minor, currency, debtor_id ON debts
    FOR EACH STATEMENT EXECUTE FUNCTION kpi_mark_portfolio();

-- A debtor's new country moves their attempts and debts to other rows of the summaries.
CREATE FUNCTION kpi_mark_debtor_country() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO kpi_attempt_marks (hour)
        SELECT DISTINCT date_trunc('hour', started_at, 'UTC') FROM attempts WHERE debtor_id = NEW.id;
    INSERT INTO kpi_portfolio_marks DEFAULT VALUES;
    RETURN NULL;
END;
$$;

CREATE TRIGGER debtors_kpi_country_changed
    AFTER UPDATE OF country ON debtors
    FOR EACH ROW
    WHEN (OLD.country IS DISTINCT FROM NEW.country)
    EXECUTE FUNCTION kpi_mark_debtor_country();

-- What is already stored is counted by the first refresh.
INSERT INTO kpi_attempt_marks (hour) SELECT DISTINCT date_trunc('hour', started_at, 'UTC') FROM attempts;
INSERT INTO kpi_portfolio_marks DEFAULT VALUES;
