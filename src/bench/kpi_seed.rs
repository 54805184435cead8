//! The synthetic history of `cobranza bench kpi`, generated inside the database.
//!
//! One debtor and one debt per ten attempts, in four countries and currencies. The attempts
//! are spread evenly over the 90 days from 2026-01-01 to 2026-03-31 (UTC), in id order, with a
//! fixed mix of outcomes: 10% inbound, 55% of dials unanswered, 5% of attempts end in a promise.
//! Promises fall due a week after the call and are settled by 2026-03-31 unless due later.
//! Payments cover the kept part of each settled promise, plus one payment on every fifth debt.
//! Each debt has a monthly snapshot from its placement month (October 2025 to March 2026) to
//! March 2026, and one debt in ten is cured one to three months after placement. The country,
//! currency, placement month and cure follow different digits of the debt's number, so they
//! mix.
//!
//! Values come from fixed arithmetic on the row number, so every run seeds the same rows.

/// First instant of the seeded attempts, 2026-01-01T00:00:00Z, in seconds since the Unix epoch.
const FIRST_INSTANT_EPOCH: u64 = 1_767_225_600;

/// Length of the seeded attempt history.
pub const SEEDED_DAYS: u64 = 90;

/// Returns the statements that seed a PostgreSQL store, in order.
pub fn postgres_statements(attempts: u64, debts: u64) -> Vec<String> {
    vec![
        format!(
            "INSERT INTO debtors (id, full_name, country, region, locale, time_zone, national_id_last4, birth_date,
                                  postal_code, call_consent, authorised_channels)
             SELECT 'BK' || lpad(i::text, 9, '0'), 'Bench debtor ' || i, place.country, 'Bench', place.locale,
                    place.time_zone, '0000', DATE '1980-01-01', '00000', TRUE, 'voice'
             FROM generate_series(1::bigint, {debts}) AS i
             JOIN (VALUES (0, 'MX', 'es-MX', 'America/Mexico_City'), (1, 'CO', 'es-CO', 'America/Bogota'),
                          (2, 'CL', 'es-CL', 'America/Santiago'), (3, 'US', 'en-US', 'America/New_York'))
                  AS place (slot, country, locale, time_zone) ON place.slot = i % 4"
        ),
        format!(
            "INSERT INTO debts (id, debtor_id, account_ref, creditor, product, balance_minor, currency, days_past_due)
             OVERRIDING SYSTEM VALUE
             SELECT i, 'BK' || lpad(i::text, 9, '0'), 'BK-' || i, 'Bench creditor', 'loan',
                    10000 + (i * 7919) % 2000000, money.currency, (i * 31) % 240
             FROM generate_series(1::bigint, {debts}) AS i
             JOIN (VALUES (0, 'MXN'), (1, 'COP'), (2, 'CLP'), (3, 'USD')) AS money (slot, currency)
                  ON money.slot = i % 4"
        ),
        format!(
            "INSERT INTO attempts (id, debt_id, debtor_id, phone, direction, started_at, answered, ended_at,
                                   disposition, right_party_contact, cost_micros, campaign, segment)
             OVERRIDING SYSTEM VALUE
             SELECT i, debt_id, 'BK' || lpad(debt_id::text, 9, '0'), '+15550000000',
                    CASE WHEN inbound THEN 'inbound' ELSE 'outbound' END,
                    started_at, slot >= 55,
                    started_at + make_interval(secs => CASE WHEN slot >= 55 THEN 20 + h % 300 ELSE 30 END),
                    {disposition}, slot >= 84,
                    CASE WHEN slot >= 55 THEN 3000 + 14000 * (1 + (20 + h % 300) / 60) ELSE 0 END,
                    CASE WHEN inbound THEN NULL ELSE 'campaign-' || (i % 4) END,
                    (ARRAY['early', 'middle', 'late'])[1 + i % 3]
             FROM (SELECT i, debt_id, h, inbound, started_at,
                          CASE WHEN inbound THEN 55 + (h / 10) % 45 ELSE (h / 10) % 100 END AS slot
                   FROM (SELECT i, 1 + (i * 7919) % {debts} AS debt_id, (i * 2654435761) % 1000 AS h,
                                (i * 2654435761) % 10 = 0 AS inbound,
                                TIMESTAMPTZ '2026-01-01 00:00:00+00' + (i - 1) * (INTERVAL '{SEEDED_DAYS} days' / {attempts})
                                    AS started_at
                         FROM generate_series(1::bigint, {attempts}) AS i) AS numbered) AS shaped",
            disposition = DISPOSITION_BY_SLOT,
        ),
        "SELECT setval(pg_get_serial_sequence('attempts', 'id'), (SELECT MAX(id) FROM attempts))".to_string(),
        "SELECT setval(pg_get_serial_sequence('debts', 'id'), (SELECT MAX(id) FROM debts))".to_string(),
        format!(
            "INSERT INTO promises (attempt_id, debt_id, amount_minor, currency, due_date, status, created_at,
                                   kept_minor, settled_on)
             SELECT id, debt_id, amount_minor, currency, due_date, status, created_at,
                    CASE status WHEN 'kept' THEN amount_minor WHEN 'kept_late' THEN amount_minor
                                WHEN 'partly_kept' THEN amount_minor / 2 ELSE 0 END,
                    CASE status WHEN 'open' THEN NULL WHEN 'kept_late' THEN due_date + 3 ELSE due_date END
             FROM (SELECT attempt.id, attempt.debt_id, 1 + debt.balance_minor / 2 AS amount_minor, debt.currency,
                          due_date, attempt.started_at + INTERVAL '2 minutes' AS created_at,
                          CASE WHEN due_date + 3 > DATE '2026-03-31' THEN 'open'
                               WHEN (attempt.id * 7919) % 100 < 45 THEN 'kept'
                               WHEN (attempt.id * 7919) % 100 < 55 THEN 'kept_late'
                               WHEN (attempt.id * 7919) % 100 < 65 THEN 'partly_kept'
                               ELSE 'broken' END AS status
                   FROM attempts AS attempt
                   JOIN debts AS debt ON debt.id = attempt.debt_id
                   CROSS JOIN LATERAL (SELECT (attempt.started_at AT TIME ZONE 'UTC')::date + 7 AS due_date) AS due
                   WHERE attempt.disposition = 'promise_to_pay') AS promised"
        ),
        "INSERT INTO payments (debt_id, payment_ref, paid_on, amount_minor, currency, channel, imported_at)
         SELECT debt_id, 'BKP-' || id, settled_on, kept_minor, currency, 'transfer', TIMESTAMPTZ '2026-04-01 00:00:00+00'
         FROM promises WHERE kept_minor > 0
         UNION ALL
         SELECT id, 'BKD-' || id, DATE '2025-10-01' + ((id * 37) % 182)::integer, 1 + balance_minor / 10, currency, 'cash',
                TIMESTAMPTZ '2026-04-01 00:00:00+00'
         FROM debts WHERE id % 5 = 0"
            .to_string(),
        "INSERT INTO debt_snapshots (debt_id, as_of, days_past_due, balance_minor)
         SELECT debt.id, (DATE '2025-10-01' + (shape.placement + k) * INTERVAL '1 month')::date + (debt.id % 28)::integer,
                CASE WHEN shape.cured_after IS NOT NULL AND k >= shape.cured_after THEN 0
                     ELSE (debt.id * 31) % 200 + 30 * k END,
                debt.balance_minor
         FROM debts AS debt
         CROSS JOIN LATERAL (SELECT debt.id / 4 % 6 AS placement,
                                    CASE WHEN debt.id / 24 % 10 = 3 THEN 1 + debt.id / 240 % 3 END AS cured_after) AS shape
         CROSS JOIN LATERAL generate_series(0, 5 - shape.placement) AS k"
            .to_string(),
    ]
}

/// Returns the statements that seed a SQLite store, in order: the same rows as
/// [`postgres_statements`], with instants truncated to whole seconds.
pub fn sqlite_statements(attempts: u64, debts: u64) -> Vec<String> {
    let series = |count: u64| {
        format!("WITH RECURSIVE series (i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM series WHERE i < {count})")
    };
    let instant = |seconds: &str| {
        format!("strftime('%Y-%m-%dT%H:%M:%S', {FIRST_INSTANT_EPOCH} + {seconds}, 'unixepoch') || '.000000000Z'")
    };
    let span_seconds = SEEDED_DAYS * 86_400;
    vec![
        format!(
            "{series}
             INSERT INTO debtors (id, full_name, country, region, locale, time_zone, national_id_last4, birth_date,
                                  postal_code, call_consent, authorised_channels)
             SELECT 'BK' || printf('%09d', i), 'Bench debtor ' || i,
                    CASE i % 4 WHEN 0 THEN 'MX' WHEN 1 THEN 'CO' WHEN 2 THEN 'CL' ELSE 'US' END, 'Bench',
                    CASE i % 4 WHEN 0 THEN 'es-MX' WHEN 1 THEN 'es-CO' WHEN 2 THEN 'es-CL' ELSE 'en-US' END,
                    CASE i % 4 WHEN 0 THEN 'America/Mexico_City' WHEN 1 THEN 'America/Bogota'
                               WHEN 2 THEN 'America/Santiago' ELSE 'America/New_York' END,
                    '0000', '1980-01-01', '00000', 1, 'voice'
             FROM series",
            series = series(debts)
        ),
        format!(
            "{series}
             INSERT INTO debts (id, debtor_id, account_ref, creditor, product, balance_minor, currency, days_past_due)
             SELECT i, 'BK' || printf('%09d', i), 'BK-' || i, 'Bench creditor', 'loan', 10000 + (i * 7919) % 2000000,
                    CASE i % 4 WHEN 0 THEN 'MXN' WHEN 1 THEN 'COP' WHEN 2 THEN 'CLP' ELSE 'USD' END, (i * 31) % 240
             FROM series",
            series = series(debts)
        ),
        format!(
            "{series}
             INSERT INTO attempts (id, debt_id, debtor_id, phone, direction, started_at, answered, ended_at,
                                   disposition, right_party_contact, cost_micros, campaign, segment)
             SELECT i, debt_id, 'BK' || printf('%09d', debt_id), '+15550000000',
                    CASE WHEN inbound THEN 'inbound' ELSE 'outbound' END,
                    {started_at}, slot >= 55,
                    {ended_at},
                    {disposition}, slot >= 84,
                    CASE WHEN slot >= 55 THEN 3000 + 14000 * (1 + (20 + h % 300) / 60) ELSE 0 END,
                    CASE WHEN inbound THEN NULL ELSE 'campaign-' || (i % 4) END,
                    CASE i % 3 WHEN 0 THEN 'early' WHEN 1 THEN 'middle' ELSE 'late' END
             FROM (SELECT i, debt_id, h, inbound, offset_seconds,
                          CASE WHEN inbound THEN 55 + (h / 10) % 45 ELSE (h / 10) % 100 END AS slot
                   FROM (SELECT i, 1 + (i * 7919) % {debts} AS debt_id, (i * 2654435761) % 1000 AS h,
                                (i * 2654435761) % 10 = 0 AS inbound,
                                (i - 1) * {span_seconds} / {attempts} AS offset_seconds
                         FROM series))",
            series = series(attempts),
            started_at = instant("offset_seconds"),
            ended_at = instant("offset_seconds + CASE WHEN slot >= 55 THEN 20 + h % 300 ELSE 30 END"),
            disposition = DISPOSITION_BY_SLOT,
        ),
        "INSERT INTO promises (attempt_id, debt_id, amount_minor, currency, due_date, status, created_at,
                               kept_minor, settled_on)
         SELECT id, debt_id, amount_minor, currency, due_date, status, created_at,
                CASE status WHEN 'kept' THEN amount_minor WHEN 'kept_late' THEN amount_minor
                            WHEN 'partly_kept' THEN amount_minor / 2 ELSE 0 END,
                CASE status WHEN 'open' THEN NULL WHEN 'kept_late' THEN date(due_date, '+3 days') ELSE due_date END
         FROM (SELECT attempt.id, attempt.debt_id, 1 + debt.balance_minor / 2 AS amount_minor, debt.currency,
                      date(substr(attempt.started_at, 1, 10), '+7 days') AS due_date,
                      strftime('%Y-%m-%dT%H:%M:%S', attempt.started_at, '+2 minutes') || '.000000000Z' AS created_at,
                      CASE WHEN date(substr(attempt.started_at, 1, 10), '+10 days') > '2026-03-31' THEN 'open'
                           WHEN (attempt.id * 7919) % 100 < 45 THEN 'kept'
                           WHEN (attempt.id * 7919) % 100 < 55 THEN 'kept_late'
                           WHEN (attempt.id * 7919) % 100 < 65 THEN 'partly_kept'
                           ELSE 'broken' END AS status
               FROM attempts AS attempt
               JOIN debts AS debt ON debt.id = attempt.debt_id
               WHERE attempt.disposition = 'promise_to_pay')"
            .to_string(),
        "INSERT INTO payments (debt_id, payment_ref, paid_on, amount_minor, currency, channel, imported_at)
         SELECT debt_id, 'BKP-' || id, settled_on, kept_minor, currency, 'transfer', '2026-04-01T00:00:00.000000000Z'
         FROM promises WHERE kept_minor > 0
         UNION ALL
         SELECT id, 'BKD-' || id, date('2025-10-01', '+' || ((id * 37) % 182) || ' days'), 1 + balance_minor / 10,
                currency, 'cash', '2026-04-01T00:00:00.000000000Z'
         FROM debts WHERE id % 5 = 0"
            .to_string(),
        "WITH months (k) AS (VALUES (0), (1), (2), (3), (4), (5))
         INSERT INTO debt_snapshots (debt_id, as_of, days_past_due, balance_minor)
         SELECT debt.id,
                date('2025-10-01', '+' || (debt.id / 4 % 6 + months.k) || ' months', '+' || (debt.id % 28) || ' days'),
                CASE WHEN debt.id / 24 % 10 = 3 AND months.k >= 1 + debt.id / 240 % 3 THEN 0
                     ELSE (debt.id * 31) % 200 + 30 * months.k END,
                debt.balance_minor
         FROM debts AS debt JOIN months ON months.k <= 5 - debt.id / 4 % 6"
            .to_string(),
    ]
}

/// The disposition of a seeded attempt from its outcome slot (0 to 99): slots below 55 are
/// unanswered, and from 84 on the debtor was verified.
const DISPOSITION_BY_SLOT: &str = "CASE WHEN slot < 55 THEN 'no_response'
     WHEN slot < 62 THEN 'voicemail_left'
     WHEN slot < 66 THEN 'no_response'
     WHEN slot < 68 THEN 'technical_failure'
     WHEN slot < 74 THEN 'hung_up'
     WHEN slot < 80 THEN 'wrong_number'
     WHEN slot < 84 THEN 'third_party'
     WHEN slot < 88 THEN 'refused_to_pay'
     WHEN slot < 93 THEN 'promise_to_pay'
     WHEN slot < 96 THEN 'callback_requested'
     WHEN slot < 98 THEN 'right_party_no_commitment'
     ELSE 'hung_up' END";
