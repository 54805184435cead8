//! Every KPI figure against a hand computation, on SQLite and on PostgreSQL.
//!
//! The store is written with plain SQL, the same text on both backends, so these tests depend
//! on nothing but the schema and the KPI queries. The PostgreSQL tests use a fresh schema of the
//! database at `COBRANZA_TEST_DATABASE_URL` (by default the local server at
//! `postgres://postgres@127.0.0.1:5432/test`) and fail when that server is unreachable.
//!
//! # The store
//!
//! Debts, with their debtor's country:
//!
//! | debt | country | balance | days past due | snapshots (as of: days past due, balance) |
//! |---|---|---|---|---|
//! | D1 | MX | 1000.00 MXN | 45 | 01-10: 20, 100000; 02-10: 50, 95000; 03-10: 0, 35000 |
//! | D2 | MX | 500.00 MXN | 0 | 01-15: 0, 50000; 02-15: 25, 50000; 03-01: 40, 50000; 03-15: 5, 30000 |
//! | D3 | CL | 300000 CLP | 95 | 02-05: 100, 300000; 03-05: 130, 300000; 03-31: 0, 150000 |
//! | D4 | CL | 80000 CLP | 200 | none |
//! | D5 | MX | 200.00 MXN | 10 | 01-05: 10, 20000; 01-25: 15, 20000; 02-05: 40, 18000; 03-05: 70, 18000 |
//!
//! Attempts in 2026 (UTC). Unanswered attempts are neither connects nor contacts; answered ones
//! are contacts unless disposed `no_response`, `voicemail_left`, `technical_failure`, or
//! `hung_up` without verification. A9 is still in progress.
//!
//! | attempt | debt | direction | started | answered | disposition | verified | seconds | cost | campaign | segment |
//! |---|---|---|---|---|---|---|---|---|---|---|
//! | A1 | D1 | out | 03-02 16:00:00 | yes | promise_to_pay | yes | 180 | 42000 | spring | early |
//! | A2 | D1 | out | 03-03 17:00:00 | no | no_response | no | 30 | 0 | spring | early |
//! | A3 | D2 | out | 03-02 16:30:00 | yes | voicemail_left | no | 40 | 14000 | spring | late |
//! | A4 | D2 | out | 03-05 18:00:00 | yes | hung_up | no | 20 | 14000 | recall | late |
//! | A5 | D2 | in | 03-05 19:15:00 | yes | promise_to_pay | yes | 240 | 56000 | | |
//! | A6 | D3 | out | 03-02 16:45:00 | yes | hung_up | yes | 90 | 28000 | recall | early |
//! | A7 | D3 | out | 03-10 15:00:00 | yes | not_understood | no | 60 | 14000 | recall | early |
//! | A8 | D3 | out | 03-10 15:30:00 | yes | technical_failure | no | 10 | 14000 | spring | late |
//! | A9 | D4 | out | 03-31 23:59:59 | yes | | no | | 0 | recall | late |
//! | A10 | D1 | out | 02-27 16:00:00 | yes | refused_to_pay | yes | 120 | 28000 | spring | early |
//! | A11 | D4 | out | 04-01 00:00:00 | no | no_response | no | 30 | 0 | recall | late |
//! | A12 | D3 | out | 03-31 20:00:00 | yes | wrong_number | no | 60 | 14000 | spring | early |
//! | A13 | D5 | out | 03-20 14:00:00 | yes | promise_to_pay | yes | 120 | 28000 | recall | late |
//! | A14 | D1 | in | 03-25 10:00:00 | yes | promise_to_pay | yes | 60 | 14000 | | |
//! | A15 | D3 | out | 03-16 16:00:00 | yes | promise_to_pay | yes | 150 | 42000 | recall | early |
//! | A16 | D2 | out | 03-03 17:30:00 | yes | no_response | no | 25 | 14000 | spring | late |
//!
//! Promises (amounts in minor units):
//!
//! | promise | attempt | debt | amount | due | created | status | kept | settled |
//! |---|---|---|---|---|---|---|---|---|
//! | P1 | A1 | D1 | 60000 MXN | 03-09 | 03-02 16:02 | kept | 60000 | 03-09 |
//! | P2 | A5 | D2 | 50000 MXN | 03-12 | 03-05 19:18 | partly_kept | 20000 | 03-13 |
//! | P3 | A10 | D1 | 40000 MXN | 03-06 | 02-27 16:01 | broken | 0 | 03-07 |
//! | P4 | A15 | D3 | 150000 CLP | 03-20 | 03-16 16:02 | kept_late | 150000 | 03-24 |
//! | P5 | A13 | D5 | 10000 MXN | 03-25 | 03-20 14:01 | open | 0 | |
//! | P6 | A14 | D1 | 25000 MXN | 04-10 | 03-25 10:01 | kept | 25000 | 03-30 |
//!
//! Payments: Y1 D1 03-09 60000 MXN; Y2 D2 03-13 20000 MXN; Y3 D3 03-24 150000 CLP; Y4 D1 03-30
//! 25000 MXN; Y5 D1 01-20 5000 MXN; Y6 D5 02-10 3000 MXN; Y7 D4 04-02 10000 CLP.
//!
//! Costs convert to US dollars at 0.05 per MXN and 0.001 per CLP.

use std::collections::HashMap;

use chrono::NaiveDate;
use sqlx::{Connection, Executor};

use cobranza::collections::model::{Currency, Money};
use cobranza::collections::postgres::PostgresStore;
use cobranza::collections::sqlite::SqliteStore;
use cobranza::collections::Store;
use cobranza::kpi::store::Month;
use cobranza::kpi::{report, CostPer, KpiFilter, KpiReport, Rate, SeriesBy, UsdRates};

const DEFAULT_DATABASE_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

/// Returns the store above as SQL statements that SQLite and PostgreSQL both read. Instants are
/// RFC 3339 text, which PostgreSQL parses into TIMESTAMPTZ, and dates are `YYYY-MM-DD`.
fn seed_statements() -> Vec<String> {
    let mut statements = Vec::new();
    for (debtor, country) in [("MX-1", "MX"), ("MX-2", "MX"), ("CL-1", "CL"), ("CL-2", "CL"), ("MX-3", "MX")] {
        statements.push(format!(
            "INSERT INTO debtors (id, full_name, country, region, locale, time_zone, national_id_last4, birth_date,
                                  postal_code, call_consent, authorised_channels)
             VALUES ('{debtor}', 'Deudor {debtor}', '{country}', 'Centro', 'es-{country}', 'America/Mexico_City',
                     '0427', '1980-01-01', '06700', TRUE, 'voice')"
        ));
    }
    for (debt, debtor, balance, currency, days_past_due) in [
        ("D1", "MX-1", 100_000, "MXN", 45),
        ("D2", "MX-2", 50_000, "MXN", 0),
        ("D3", "CL-1", 300_000, "CLP", 95),
        ("D4", "CL-2", 80_000, "CLP", 200),
        ("D5", "MX-3", 20_000, "MXN", 10),
    ] {
        statements.push(format!(
            "INSERT INTO debts (debtor_id, account_ref, creditor, product, balance_minor, currency, days_past_due)
             VALUES ('{debtor}', '{debt}', 'Banco Aurora', 'tarjeta', {balance}, '{currency}', {days_past_due})"
        ));
    }

    let attempts = [
        (
            "A1",
            "D1",
            "outbound",
            "03-02T16:00:00",
            true,
            Some("promise_to_pay"),
            true,
            Some(180),
            42_000,
            Some(("spring", "early")),
        ),
        (
            "A2",
            "D1",
            "outbound",
            "03-03T17:00:00",
            false,
            Some("no_response"),
            false,
            Some(30),
            0,
            Some(("spring", "early")),
        ),
        (
            "A3",
            "D2",
            "outbound",
            "03-02T16:30:00",
            true,
            Some("voicemail_left"),
            false,
            Some(40),
            14_000,
            Some(("spring", "late")),
        ),
        (
            "A4",
            "D2",
            "outbound",
            "03-05T18:00:00",
            true,
            Some("hung_up"),
            false,
            Some(20),
            14_000,
            Some(("recall", "late")),
        ),
        ("A5", "D2", "inbound", "03-05T19:15:00", true, Some("promise_to_pay"), true, Some(240), 56_000, None),
        (
            "A6",
            "D3",
            "outbound",
            "03-02T16:45:00",
            true,
            Some("hung_up"),
            true,
            Some(90),
            28_000,
            Some(("recall", "early")),
        ),
        (
            "A7",
            "D3",
            "outbound",
            "03-10T15:00:00",
            true,
            Some("not_understood"),
            false,
            Some(60),
            14_000,
            Some(("recall", "early")),
        ),
        (
            "A8",
            "D3",
            "outbound",
            "03-10T15:30:00",
            true,
            Some("technical_failure"),
            false,
            Some(10),
            14_000,
            Some(("spring", "late")),
        ),
        ("A9", "D4", "outbound", "03-31T23:59:59", true, None, false, None, 0, Some(("recall", "late"))),
        (
            "A10",
            "D1",
            "outbound",
            "02-27T16:00:00",
            true,
            Some("refused_to_pay"),
            true,
            Some(120),
            28_000,
            Some(("spring", "early")),
        ),
        (
            "A11",
            "D4",
            "outbound",
            "04-01T00:00:00",
            false,
            Some("no_response"),
            false,
            Some(30),
            0,
            Some(("recall", "late")),
        ),
        (
            "A12",
            "D3",
            "outbound",
            "03-31T20:00:00",
            true,
            Some("wrong_number"),
            false,
            Some(60),
            14_000,
            Some(("spring", "early")),
        ),
        (
            "A13",
            "D5",
            "outbound",
            "03-20T14:00:00",
            true,
            Some("promise_to_pay"),
            true,
            Some(120),
            28_000,
            Some(("recall", "late")),
        ),
        ("A14", "D1", "inbound", "03-25T10:00:00", true, Some("promise_to_pay"), true, Some(60), 14_000, None),
        (
            "A15",
            "D3",
            "outbound",
            "03-16T16:00:00",
            true,
            Some("promise_to_pay"),
            true,
            Some(150),
            42_000,
            Some(("recall", "early")),
        ),
        (
            "A16",
            "D2",
            "outbound",
            "03-03T17:30:00",
            true,
            Some("no_response"),
            false,
            Some(25),
            14_000,
            Some(("spring", "late")),
        ),
    ];
    for (attempt, debt, direction, started, answered, disposition, verified, seconds, cost, campaign) in attempts {
        let started = chrono::NaiveDateTime::parse_from_str(&format!("2026-{started}"), "%Y-%m-%dT%H:%M:%S").unwrap();
        let ended = match seconds {
            Some(seconds) => format!("'{}'", instant(started + chrono::Duration::seconds(seconds))),
            None => "NULL".to_string(),
        };
        let disposition = disposition.map_or("NULL".to_string(), |name| format!("'{name}'"));
        let (campaign, segment) = match campaign {
            Some((campaign, segment)) => (format!("'{campaign}'"), format!("'{segment}'")),
            None => ("NULL".to_string(), "NULL".to_string()),
        };
        statements.push(format!(
            "INSERT INTO attempts (debt_id, debtor_id, phone, direction, call_sid, started_at, answered, ended_at,
                                   disposition, right_party_contact, cost_micros, campaign, segment)
             SELECT id, debtor_id, '+525550100001', '{direction}', 'CA-{attempt}', '{}', {answered}, {ended},
                    {disposition}, {verified}, {cost}, {campaign}, {segment}
             FROM debts WHERE account_ref = '{debt}'",
            instant(started)
        ));
    }

    let promises = [
        ("A1", 60_000, "MXN", "03-09", "03-02T16:02:00", "kept", 60_000, Some("03-09")),
        ("A5", 50_000, "MXN", "03-12", "03-05T19:18:00", "partly_kept", 20_000, Some("03-13")),
        ("A10", 40_000, "MXN", "03-06", "02-27T16:01:00", "broken", 0, Some("03-07")),
        ("A15", 150_000, "CLP", "03-20", "03-16T16:02:00", "kept_late", 150_000, Some("03-24")),
        ("A13", 10_000, "MXN", "03-25", "03-20T14:01:00", "open", 0, None),
        ("A14", 25_000, "MXN", "04-10", "03-25T10:01:00", "kept", 25_000, Some("03-30")),
    ];
    for (attempt, amount, currency, due, created, status, kept, settled) in promises {
        let settled = settled.map_or("NULL".to_string(), |day| format!("'2026-{day}'"));
        statements.push(format!(
            "INSERT INTO promises (attempt_id, debt_id, amount_minor, currency, due_date, status, created_at,
                                   kept_minor, settled_on)
             SELECT id, debt_id, {amount}, '{currency}', '2026-{due}', '{status}', '2026-{created}.000000000Z',
                    {kept}, {settled}
             FROM attempts WHERE call_sid = 'CA-{attempt}'"
        ));
    }

    let payments = [
        ("Y1", "D1", "2026-03-09", 60_000),
        ("Y2", "D2", "2026-03-13", 20_000),
        ("Y3", "D3", "2026-03-24", 150_000),
        ("Y4", "D1", "2026-03-30", 25_000),
        ("Y5", "D1", "2026-01-20", 5_000),
        ("Y6", "D5", "2026-02-10", 3_000),
        ("Y7", "D4", "2026-04-02", 10_000),
    ];
    for (payment, debt, paid_on, amount) in payments {
        statements.push(format!(
            "INSERT INTO payments (debt_id, payment_ref, paid_on, amount_minor, currency, channel, imported_at)
             SELECT id, '{payment}', '{paid_on}', {amount}, currency, 'transfer', '2026-04-05T00:00:00.000000000Z'
             FROM debts WHERE account_ref = '{debt}'"
        ));
    }

    let snapshots = [
        ("D1", "2026-01-10", 20, 100_000),
        ("D1", "2026-02-10", 50, 95_000),
        ("D1", "2026-03-10", 0, 35_000),
        ("D2", "2026-01-15", 0, 50_000),
        ("D2", "2026-02-15", 25, 50_000),
        ("D2", "2026-03-01", 40, 50_000),
        ("D2", "2026-03-15", 5, 30_000),
        ("D3", "2026-02-05", 100, 300_000),
        ("D3", "2026-03-05", 130, 300_000),
        ("D3", "2026-03-31", 0, 150_000),
        ("D5", "2026-01-05", 10, 20_000),
        ("D5", "2026-01-25", 15, 20_000),
        ("D5", "2026-02-05", 40, 18_000),
        ("D5", "2026-03-05", 70, 18_000),
    ];
    for (debt, as_of, days_past_due, balance) in snapshots {
        statements.push(format!(
            "INSERT INTO debt_snapshots (debt_id, as_of, days_past_due, balance_minor)
             SELECT id, '{as_of}', {days_past_due}, {balance} FROM debts WHERE account_ref = '{debt}'"
        ));
    }
    statements
}

/// Formats an instant as the fixed-width RFC 3339 text the SQLite store writes.
fn instant(at: chrono::NaiveDateTime) -> String {
    format!("{}.000000000Z", at.format("%Y-%m-%dT%H:%M:%S"))
}

fn day(text: &str) -> NaiveDate {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
}

fn march() -> KpiFilter {
    KpiFilter::days(day("2026-03-01"), day("2026-03-31"))
}

fn quarter() -> KpiFilter {
    KpiFilter::days(day("2026-01-01"), day("2026-03-31"))
}

fn rates() -> UsdRates {
    UsdRates::new(HashMap::from([(Currency::Mxn, 0.05), (Currency::Clp, 0.001)]))
}

fn mxn(minor: i64) -> Money {
    Money::new(minor, Currency::Mxn)
}

fn clp(minor: i64) -> Money {
    Money::new(minor, Currency::Clp)
}

fn rate(numerator: u64, denominator: u64, name: &'static str) -> Rate {
    Rate::new(numerator, denominator, name)
}

async fn kpi_report(store: &dyn Store, filter: &KpiFilter) -> KpiReport {
    report(store, filter, None, &rates()).await.expect("report")
}

/// Returns the debts and their balances per aging bucket, in bucket order.
fn aging_of(report: &KpiReport) -> Vec<(&'static str, u64, Vec<Money>)> {
    report.aging.iter().map(|bucket| (bucket.label, bucket.debts, bucket.balance.clone())).collect()
}

/// March, every figure.
async fn march_figures(store: &dyn Store) {
    let report = kpi_report(store, &march()).await;
    let calls = &report.kpis.calls;

    // Dials are the 12 outbound attempts of March (A1-A4, A6-A9, A12, A13, A15, A16); A5 and
    // A14 are inbound. Connects: every answered dial, that is all but A2: 11.
    assert_eq!(calls.dials, 12);
    assert_eq!(calls.inbound_calls, 2);
    assert_eq!(calls.connects, 11);
    // Contacts: A1, A5, A6 (verified, then hung up), A7, A9 (in progress), A12, A13, A14, A15.
    // Not A3 (voicemail), A4 (hung up unverified), A8 (technical failure), A16 (silence), A2.
    assert_eq!(calls.contacts, 9);
    // Right-party contacts: A1, A5, A6, A13, A14, A15.
    assert_eq!(calls.right_party_contacts, 6);
    // Promises created in March: P1, P2, P4, P5, P6 (P3 was created in February).
    assert_eq!(calls.promises, 5);
    assert_eq!(calls.connect_rate, rate(11, 12, "dials"));
    assert_eq!(calls.contact_rate, rate(9, 12, "dials"));
    assert_eq!(calls.right_party_contact_rate, rate(6, 12, "dials"));
    assert_eq!(calls.promise_to_pay_rate, rate(5, 6, "right-party contacts"));
    // 60000 + 50000 + 10000 + 25000 MXN; 150000 CLP.
    assert_eq!(calls.amount_promised, vec![clp(150_000), mxn(145_000)]);
    // 42000 + 0 + 14000 + 14000 + 56000 + 28000 + 14000 + 14000 + 0 + 14000 + 28000 + 14000
    // + 42000 + 14000 = 294000, over 14 calls and 5 promises, rounded to the nearest micro.
    assert_eq!(calls.total_cost_micros, 294_000);
    assert_eq!(calls.cost_per_call, CostPer::new(294_000, 14, "calls"));
    assert_eq!(calls.cost_per_call.micros, Some(21_000));
    assert_eq!(calls.cost_per_promise.micros, Some(58_800));
    // Handled: every answered attempt that ended, all but A2 (unanswered) and A9 (in
    // progress): 180 + 40 + 20 + 240 + 90 + 60 + 10 + 60 + 120 + 60 + 150 + 25 = 1055 s.
    assert_eq!(calls.handled_calls, 12);
    assert_eq!(calls.average_handle_seconds, Some(1055.0 / 12.0));

    // Due in March and settled: P1 (kept), P2 (partly kept), P3 (broken), P4 (kept late). P5 is
    // still open and P6 falls due in April.
    let kept = &report.kpis.promise_kept;
    assert_eq!(kept.promise_kept_rate, rate(2, 4, "promises due and settled"));
    assert_eq!(kept.broken_promises, 1);
    let amount_rates: Vec<(Currency, Rate)> =
        kept.promise_kept_amount_rate.iter().map(|amount| (amount.currency, amount.rate.clone())).collect();
    // CLP: 150000 of P4's 150000. MXN: 60000 + 20000 + 0 of 60000 + 50000 + 40000.
    assert_eq!(
        amount_rates,
        vec![(Currency::Clp, rate(150_000, 150_000, "promised")), (Currency::Mxn, rate(80_000, 150_000, "promised"))]
    );

    // Paid in March: Y1 + Y2 + Y4 in MXN, Y3 in CLP.
    assert_eq!(report.kpis.amount_collected, vec![clp(150_000), mxn(105_000)]);
    // 1050.00 MXN × 0.05 = 52.50 USD and 150000 CLP × 0.001 = 150 USD: 202.50 USD in all.
    let cost_to_collect = &report.kpis.cost_to_collect;
    assert_eq!(cost_to_collect.rate, rate(294_000, 202_500_000, "US dollars collected, in millionths"));
    assert_eq!(cost_to_collect.unconverted, vec![]);

    // Past due in the latest snapshot by 1 March: D1 (02-10: 50), D2 (03-01: 40), D3 (02-05:
    // 100), D5 (02-05: 40). Current by 31 March: D1 (03-10) and D3 (03-31).
    assert_eq!(report.kpis.cure_rate, rate(2, 4, "debts past due at the start"));

    // No debt was placed in March, and a range within one month has no pair of months.
    assert_eq!(report.kpis.recovery, vec![]);
    assert_eq!(report.kpis.roll_rates, vec![]);

    // Latest snapshot by 31 March: D1 0 days (35000 MXN), D2 5 (30000 MXN), D3 0 (150000
    // CLP), D5 70 (18000 MXN). D4 has no snapshot, so the debts table gives 200 days and 80000
    // CLP.
    assert_eq!(
        aging_of(&report),
        vec![
            ("current", 2, vec![clp(150_000), mxn(35_000)]),
            ("1-30", 1, vec![mxn(30_000)]),
            ("31-60", 0, vec![]),
            ("61-90", 1, vec![mxn(18_000)]),
            ("91-120", 0, vec![]),
            ("121-150", 0, vec![]),
            ("151-180", 0, vec![]),
            ("181+", 1, vec![clp(80_000)]),
        ]
    );
    assert_eq!(report.compliance, None);
}

/// A recovery cohort as (month, currency, debts, placed, horizons), each horizon as (days,
/// collected, rate, complete).
type CohortRow = (Month, Currency, u64, Money, Vec<(u32, Money, Rate, bool)>);

/// A roll rate as (earlier month, earlier bucket, debts rate, balance rate per currency).
type RollRow = (Month, &'static str, Rate, Vec<(Currency, Rate)>);

/// January to March: the figures that need several months, and what A10, P3, Y5 and Y6 add.
async fn quarter_figures(store: &dyn Store) {
    let report = kpi_report(store, &quarter()).await;
    let calls = &report.kpis.calls;

    // March's attempts and A10 (27 February: a verified refusal of 120 s costing 28000).
    assert_eq!(calls.dials, 13);
    assert_eq!(calls.connects, 12);
    assert_eq!(calls.contacts, 10);
    assert_eq!(calls.right_party_contacts, 7);
    assert_eq!(calls.promises, 6);
    assert_eq!(calls.amount_promised, vec![clp(150_000), mxn(185_000)]);
    assert_eq!(calls.total_cost_micros, 322_000);
    assert_eq!(calls.average_handle_seconds, Some(1175.0 / 13.0));
    assert_eq!(report.kpis.amount_collected, vec![clp(150_000), mxn(113_000)]);

    // No debt has a snapshot on or before 1 January.
    assert_eq!(report.kpis.cure_rate, rate(0, 0, "debts past due at the start"));

    // January's MXN cohort: D1 (placed 01-10 at 100000), D2 (01-15, 50000), D5 (01-05,
    // 20000), 170000 in all. Within 30 days: Y5 (D1, day 10). Within 90: Y1 (D1, day 58), Y4
    // (D1, day 79), Y2 (D2, day 57) and Y6 (D5, day 36) as well: 5000 + 60000 + 25000 + 20000
    // + 3000. February's CLP cohort: D3 (02-05, 300000), paid Y3 on day 47. Thirty days after
    // each month's last placement (31 January + 29 days, 28 February + 29 days) fall by 31
    // March; 90 days do not.
    let recovery: Vec<CohortRow> = report
        .kpis
        .recovery
        .iter()
        .map(|cohort| {
            let horizons = cohort
                .horizons
                .iter()
                .map(|horizon| (horizon.days, horizon.collected, horizon.rate.clone(), horizon.complete))
                .collect();
            (cohort.month, cohort.currency, cohort.debts, cohort.placed, horizons)
        })
        .collect();
    let january = Month { year: 2026, month: 1 };
    let february = Month { year: 2026, month: 2 };
    assert_eq!(
        recovery,
        vec![
            (
                january,
                Currency::Mxn,
                3,
                mxn(170_000),
                vec![
                    (30, mxn(5_000), rate(5_000, 170_000, "placed"), true),
                    (90, mxn(113_000), rate(113_000, 170_000, "placed"), false),
                    (180, mxn(113_000), rate(113_000, 170_000, "placed"), false),
                ]
            ),
            (
                february,
                Currency::Clp,
                1,
                clp(300_000),
                vec![
                    (30, clp(0), rate(0, 300_000, "placed"), true),
                    (90, clp(150_000), rate(150_000, 300_000, "placed"), false),
                    (180, clp(150_000), rate(150_000, 300_000, "placed"), false),
                ]
            ),
        ]
    );

    // Latest snapshot per month, as bucket (balance):
    //   D1: January 1-30 (100000), February 31-60 (95000), March current (35000)
    //   D2: January current (50000), February 1-30 (50000), March 1-30 (30000, from 03-15)
    //   D3: February 91-120 (300000), March current (150000)
    //   D5: January 1-30 (20000, from 01-25), February 31-60 (18000), March 61-90 (18000)
    // January to February: D2 rolls from current; D1 and D5 roll from 1-30.
    // February to March: D2 stays in 1-30; of D1 and D5 in 31-60 only D5 rolls; D3 cures.
    let rolls: Vec<RollRow> = report
        .kpis
        .roll_rates
        .iter()
        .map(|roll| {
            assert_eq!(roll.to_month, roll.from_month.next());
            let balance = roll.balance.iter().map(|amount| (amount.currency, amount.rate.clone())).collect();
            (roll.from_month, roll.from_bucket, roll.debts.clone(), balance)
        })
        .collect();
    let none = |month, bucket| (month, bucket, rate(0, 0, "debts in the bucket"), vec![]);
    assert_eq!(
        rolls,
        vec![
            (
                january,
                "current",
                rate(1, 1, "debts in the bucket"),
                vec![(Currency::Mxn, rate(50_000, 50_000, "in the bucket"))]
            ),
            (
                january,
                "1-30",
                rate(2, 2, "debts in the bucket"),
                vec![(Currency::Mxn, rate(113_000, 120_000, "in the bucket"))]
            ),
            none(january, "31-60"),
            none(january, "61-90"),
            none(january, "91-120"),
            none(january, "121-150"),
            none(january, "151-180"),
            none(february, "current"),
            (
                february,
                "1-30",
                rate(0, 1, "debts in the bucket"),
                vec![(Currency::Mxn, rate(0, 50_000, "in the bucket"))]
            ),
            (
                february,
                "31-60",
                rate(1, 2, "debts in the bucket"),
                vec![(Currency::Mxn, rate(18_000, 113_000, "in the bucket"))]
            ),
            none(february, "61-90"),
            (
                february,
                "91-120",
                rate(0, 1, "debts in the bucket"),
                vec![(Currency::Clp, rate(0, 300_000, "in the bucket"))]
            ),
            none(february, "121-150"),
            none(february, "151-180"),
        ]
    );
}

/// March for debts of Mexico: D1, D2 and D5.
async fn country_filter(store: &dyn Store) {
    let filter = KpiFilter { country: Some("MX".into()), ..march() };
    let report = kpi_report(store, &filter).await;
    let calls = &report.kpis.calls;
    // A1, A2, A3, A4, A13, A16 dialled; A5 and A14 inbound.
    assert_eq!(calls.dials, 6);
    assert_eq!(calls.inbound_calls, 2);
    assert_eq!(calls.connects, 5);
    assert_eq!(calls.contacts, 4);
    assert_eq!(calls.right_party_contacts, 4);
    assert_eq!(calls.promises, 4);
    assert_eq!(calls.total_cost_micros, 182_000);
    assert_eq!(calls.average_handle_seconds, Some(685.0 / 7.0));
    assert_eq!(report.kpis.promise_kept.promise_kept_rate, rate(1, 3, "promises due and settled"));
    assert_eq!(report.kpis.promise_kept.broken_promises, 1);
    assert_eq!(report.kpis.amount_collected, vec![mxn(105_000)]);
    assert_eq!(report.kpis.cure_rate, rate(1, 3, "debts past due at the start"));
    let counts: Vec<u64> = report.aging.iter().map(|bucket| bucket.debts).collect();
    assert_eq!(counts, [1, 1, 0, 1, 0, 0, 0, 0]);
}

/// March for the campaign `recall`: A4, A6, A7, A9, A13 and A15, which reached D2, D3, D4
/// and D5.
async fn campaign_filter(store: &dyn Store) {
    let filter = KpiFilter { campaign: Some("recall".into()), ..march() };
    let report = kpi_report(store, &filter).await;
    let calls = &report.kpis.calls;
    assert_eq!(calls.dials, 6);
    assert_eq!(calls.inbound_calls, 0);
    assert_eq!(calls.connects, 6);
    // Not A4, which hung up before verification.
    assert_eq!(calls.contacts, 5);
    assert_eq!(calls.right_party_contacts, 3);
    // P4 (from A15) and P5 (from A13).
    assert_eq!(calls.promises, 2);
    assert_eq!(calls.amount_promised, vec![clp(150_000), mxn(10_000)]);
    assert_eq!(calls.total_cost_micros, 126_000);
    assert_eq!(calls.handled_calls, 5);
    assert_eq!(calls.average_handle_seconds, Some(88.0));
    // Only P4 is due in March and settled; P5 is open.
    assert_eq!(report.kpis.promise_kept.promise_kept_rate, rate(1, 1, "promises due and settled"));
    // Payments in March on the debts reached: Y2 (D2) and Y3 (D3).
    assert_eq!(report.kpis.amount_collected, vec![clp(150_000), mxn(20_000)]);
    // D2, D3 and D5 were past due on 1 March; D3 is current on 31 March.
    assert_eq!(report.kpis.cure_rate, rate(1, 3, "debts past due at the start"));
    let counts: Vec<u64> = report.aging.iter().map(|bucket| bucket.debts).collect();
    assert_eq!(counts, [1, 1, 0, 1, 0, 0, 0, 1]);
}

/// March for the campaign `spring` and segment `early`: A1, A2 and A12, which reached D1 and
/// D3. Promises due in March count when a spring and early attempt obtained them, in any month.
async fn campaign_and_segment_filter(store: &dyn Store) {
    let filter = KpiFilter { campaign: Some("spring".into()), segment: Some("early".into()), ..march() };
    let report = kpi_report(store, &filter).await;
    let calls = &report.kpis.calls;
    assert_eq!(calls.dials, 3);
    assert_eq!(calls.connects, 2);
    assert_eq!(calls.contacts, 2);
    assert_eq!(calls.right_party_contacts, 1);
    assert_eq!(calls.promises, 1);
    assert_eq!(calls.amount_promised, vec![mxn(60_000)]);
    // Due in March and settled: P1 (kept) and P3 (broken), which A10 obtained in February for
    // the same campaign and segment.
    assert_eq!(report.kpis.promise_kept.promise_kept_rate, rate(1, 2, "promises due and settled"));
    assert_eq!(report.kpis.promise_kept.broken_promises, 1);
    // Y1 and Y4 on D1, Y3 on D3.
    assert_eq!(report.kpis.amount_collected, vec![clp(150_000), mxn(85_000)]);
    assert_eq!(report.kpis.cure_rate, rate(2, 2, "debts past due at the start"));
    assert_eq!(aging_of(&report)[0], ("current", 2, vec![clp(150_000), mxn(35_000)]));
}

/// March for Chile and the segment `late`: A8 (D3) and A9 (D4).
async fn country_and_segment_filter(store: &dyn Store) {
    let filter = KpiFilter { country: Some("CL".into()), segment: Some("late".into()), ..march() };
    let report = kpi_report(store, &filter).await;
    let calls = &report.kpis.calls;
    assert_eq!(calls.dials, 2);
    assert_eq!(calls.connects, 2);
    // A9 is in progress; A8 failed on the media path.
    assert_eq!(calls.contacts, 1);
    assert_eq!(calls.right_party_contacts, 0);
    assert_eq!(calls.promise_to_pay_rate, rate(0, 0, "right-party contacts"));
    assert_eq!(calls.handled_calls, 1);
    assert_eq!(report.kpis.amount_collected, vec![clp(150_000)]);
    assert_eq!(report.kpis.cure_rate, rate(1, 1, "debts past due at the start"));
    let counts: Vec<u64> = report.aging.iter().map(|bucket| bucket.debts).collect();
    assert_eq!(counts, [1, 0, 0, 0, 0, 0, 0, 1]);
}

/// March per UTC day and per UTC hour.
async fn series_figures(store: &dyn Store) {
    let by_day = report(store, &march(), Some(SeriesBy::Day), &rates()).await.expect("report");
    let series = by_day.series.expect("series");
    assert_eq!(series.by, SeriesBy::Day);
    assert_eq!(series.points.len(), 31);
    let busy: Vec<(&str, [u64; 6])> = series
        .points
        .iter()
        .map(|point| {
            let calls = &point.calls;
            let counts = [
                calls.dials,
                calls.inbound_calls,
                calls.connects,
                calls.contacts,
                calls.right_party_contacts,
                calls.promises,
            ];
            (point.bucket.as_str(), counts)
        })
        .filter(|(_, counts)| counts.iter().any(|count| *count > 0))
        .collect();
    // [dials, inbound calls, connects, contacts, right-party contacts, promises] per day.
    assert_eq!(
        busy,
        vec![
            ("2026-03-02", [3, 0, 3, 2, 2, 1]), // A1, A3, A6; P1
            ("2026-03-03", [2, 0, 1, 0, 0, 0]), // A2, A16
            ("2026-03-05", [1, 1, 1, 1, 1, 1]), // A4, A5; P2
            ("2026-03-10", [2, 0, 2, 1, 0, 0]), // A7, A8
            ("2026-03-16", [1, 0, 1, 1, 1, 1]), // A15; P4
            ("2026-03-20", [1, 0, 1, 1, 1, 1]), // A13; P5
            ("2026-03-25", [0, 1, 0, 1, 1, 1]), // A14; P6
            ("2026-03-31", [2, 0, 2, 2, 0, 0]), // A9, A12
        ]
    );
    let second = &series.points[1];
    assert_eq!(second.bucket, "2026-03-02");
    assert_eq!(second.calls.total_cost_micros, 42_000 + 14_000 + 28_000);
    assert_eq!(second.calls.contact_rate, rate(2, 3, "dials"));
    assert_eq!(second.calls.amount_promised, vec![mxn(60_000)]);

    let by_hour = report(store, &march(), Some(SeriesBy::Hour), &rates()).await.expect("report");
    let points = by_hour.series.expect("series").points;
    assert_eq!(points.len(), 24);
    let dials: Vec<(&str, u64, u64, u64)> = points
        .iter()
        .filter(|point| point.calls.dials + point.calls.inbound_calls + point.calls.promises > 0)
        .map(|point| (point.bucket.as_str(), point.calls.dials, point.calls.inbound_calls, point.calls.promises))
        .collect();
    // (hour, dials, inbound calls, promises created)
    assert_eq!(
        dials,
        vec![
            ("10", 0, 1, 1), // A14; P6
            ("14", 1, 0, 1), // A13; P5
            ("15", 2, 0, 0), // A7, A8
            ("16", 4, 0, 2), // A1, A3, A6, A15; P1, P4
            ("17", 2, 0, 0), // A2, A16
            ("18", 1, 0, 0), // A4
            ("19", 0, 1, 1), // A5; P2
            ("20", 1, 0, 0), // A12
            ("23", 1, 0, 0), // A9
        ]
    );
    // The totals of a series report are the range's.
    assert_eq!(by_hour.kpis.calls.dials, 12);
}

/// Checks that a filter matching nothing gives zero counts and rates without a value.
async fn empty_filter(store: &dyn Store) {
    let filter = KpiFilter { campaign: Some("winter".into()), ..march() };
    let report = kpi_report(store, &filter).await;
    assert_eq!(report.kpis.calls.dials, 0);
    assert_eq!(report.kpis.calls.contact_rate.value, None);
    assert_eq!(report.kpis.calls.average_handle_seconds, None);
    assert_eq!(report.kpis.amount_collected, vec![]);
    assert_eq!(report.kpis.cost_to_collect.rate.value, None);
    assert_eq!(report.kpis.cure_rate.value, None);
    assert!(report.aging.iter().all(|bucket| bucket.debts == 0));
}

async fn sqlite_store() -> (SqliteStore, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("cobranza.db");
    let store = SqliteStore::open(&path).await.expect("store opens");
    let options = sqlx::sqlite::SqliteConnectOptions::new().filename(&path);
    let mut connection = sqlx::SqliteConnection::connect_with(&options).await.expect("connects");
    for statement in seed_statements() {
        connection.execute(statement.as_str()).await.unwrap_or_else(|error| panic!("{error}: {statement}"));
    }
    (store, dir)
}

fn database_url() -> String {
    std::env::var("COBRANZA_TEST_DATABASE_URL")
        .ok()
        .filter(|url| !url.is_empty())
        .unwrap_or_else(|| DEFAULT_DATABASE_URL.to_string())
}

/// A PostgreSQL store in its own schema, dropped when the value is.
struct PostgresFixture {
    store: PostgresStore,
    schema: String,
}

impl Drop for PostgresFixture {
    fn drop(&mut self) {
        let url = database_url();
        let schema = self.schema.clone();
        // The test's runtime is ending, so the schema is dropped from a thread of its own.
        let _ = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
            runtime.block_on(async {
                if let Ok(mut connection) = sqlx::PgConnection::connect(&url).await {
                    let _ = connection.execute(format!("DROP SCHEMA IF EXISTS {schema} CASCADE").as_str()).await;
                }
            });
        })
        .join();
    }
}

async fn postgres_store(test: &str) -> PostgresFixture {
    let url = database_url();
    let schema = format!("kpi_exact_{test}_{}", std::process::id());
    let mut admin = match sqlx::PgConnection::connect(&url).await {
        Ok(connection) => connection,
        Err(error) => panic!(
            "connecting to PostgreSQL at {url} failed: {error}. Start PostgreSQL there, or set \
             COBRANZA_TEST_DATABASE_URL to a database these tests may create schemas in"
        ),
    };
    admin.execute(format!("DROP SCHEMA IF EXISTS {schema} CASCADE").as_str()).await.expect("drop schema");
    let store = PostgresStore::connect_in_schema(&url, &schema).await.expect("store connects");
    let options: sqlx::postgres::PgConnectOptions = url.parse().expect("valid URL");
    let mut connection =
        sqlx::PgConnection::connect_with(&options.options([("search_path", schema.as_str())])).await.expect("connects");
    for statement in seed_statements() {
        connection.execute(statement.as_str()).await.unwrap_or_else(|error| panic!("{error}: {statement}"));
    }
    PostgresFixture { store, schema }
}

macro_rules! on_both_backends {
    ($($check:ident),* $(,)?) => {
        mod on_sqlite {
            $(
                #[tokio::test]
                async fn $check() {
                    let (store, _dir) = super::sqlite_store().await;
                    super::$check(&store).await;
                }
            )*
        }

        mod on_postgres {
            $(
                #[tokio::test]
                async fn $check() {
                    let fixture = super::postgres_store(stringify!($check)).await;
                    super::$check(&fixture.store).await;
                }
            )*
        }
    };
}

on_both_backends!(
    march_figures,
    quarter_figures,
    country_filter,
    campaign_filter,
    campaign_and_segment_filter,
    country_and_segment_filter,
    series_figures,
    empty_filter,
);
