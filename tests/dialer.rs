//! The dialer against real stores: SQLite in a temporary file and PostgreSQL in a schema of its
//! own at `COBRANZA_TEST_DATABASE_URL` (by default the local server at 127.0.0.1:5432). A
//! recording call placer replaces the carrier, and the clock is stopped and moved by hand.

use std::str::FromStr;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use chrono::{DateTime, Duration, TimeZone, Utc};
use cobranza::campaign::dialer::{DialDecision, Dialer, DialerSettings};
use cobranza::campaign::placer::{CallPlacer, OutboundCall};
use cobranza::campaign::settings::CampaignSettings;
use cobranza::campaign::store::{CallProgressEvent, CampaignStatus, CarrierReport, TargetState};
use cobranza::clock::Clock;
use cobranza::collections::history::DoNotCallEntry;
use cobranza::collections::import::parse_portfolio_bytes_as_of;
use cobranza::collections::model::{AttemptId, CallSid, DebtId, DebtorId, Disposition};
use cobranza::collections::postgres::PostgresStore;
use cobranza::collections::sqlite::SqliteStore;
use cobranza::collections::{AttemptOutcome, NewAttempt, Store};
use cobranza::policy::{ContactPolicy, Refusal};
use cobranza::scoring::store::DebtorScore;
use sqlx::Connection;

const DEFAULT_DATABASE_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

fn database_url() -> String {
    std::env::var("COBRANZA_TEST_DATABASE_URL")
        .ok()
        .filter(|url| !url.is_empty())
        .unwrap_or(DEFAULT_DATABASE_URL.into())
}

/// Monday 7 December 2026, 10:00 in Mexico City.
fn monday_morning() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 7, 16, 0, 0).unwrap()
}

struct Backend {
    name: &'static str,
    store: Arc<dyn Store>,
    _dir: Option<tempfile::TempDir>,
    schema: Option<String>,
}

async fn sqlite() -> Backend {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("dialer.db")).await.unwrap();
    Backend { name: "sqlite", store: Arc::new(store), _dir: Some(dir), schema: None }
}

async fn postgres(test: &str) -> Backend {
    let schema = format!("dialer_{test}_{}", std::process::id());
    drop_schema(&schema).await;
    let store = PostgresStore::connect_in_schema(&database_url(), &schema).await.unwrap();
    Backend { name: "postgres", store: Arc::new(store), _dir: None, schema: Some(schema) }
}

async fn drop_schema(schema: &str) {
    let url = database_url();
    let mut connection = sqlx::PgConnection::connect(&url).await.unwrap_or_else(|error| {
        panic!("connecting to PostgreSQL at {url} failed: {error}; start it or set COBRANZA_TEST_DATABASE_URL")
    });
    sqlx::query(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE")).execute(&mut connection).await.unwrap();
}

impl Backend {
    async fn finish(self) {
        if let Some(schema) = &self.schema {
            drop_schema(schema).await;
        }
    }
}

async fn backends(test: &str) -> Vec<Backend> {
    vec![sqlite().await, postgres(test).await]
}

/// Imports `count` debtors in Mexico City, `MX-00`, `MX-01`..., each with one debt.
async fn import_debtors(store: &dyn Store, count: usize) {
    let mut csv = String::from(
        "debtor_id,full_name,phone,country,region,locale,time_zone,national_id_last4,birth_date,postal_code,\
         creditor,product,account_ref,balance,currency,days_past_due,call_consent,authorised_channels\n",
    );
    for index in 0..count {
        csv.push_str(&format!(
            "MX-{index:02},Deudora {index},+52555010{index:04},MX,Ciudad de México,es-MX,America/Mexico_City,1234,\
             1980-01-01,06700,Banco Aurora,tarjeta,REF-{index:02},{}.00,MXN,40,true,voice;sms\n",
            1000 + index
        ));
    }
    let parsed = parse_portfolio_bytes_as_of("dialer.csv", csv.as_bytes(), monday_morning().date_naive()).unwrap();
    assert!(parsed.rejected.is_empty(), "{:?}", parsed.rejected);
    store.import_portfolio(&parsed.rows).await.unwrap();
}

/// Scores the debtors so that `MX-<n>` has expected value `values[n]`.
async fn score(store: &dyn Store, values: &[f64]) {
    let scores: Vec<DebtorScore> = values
        .iter()
        .enumerate()
        .map(|(index, value)| DebtorScore {
            debtor_id: DebtorId(format!("MX-{index:02}")),
            model_version: "test".into(),
            scored_at: monday_morning(),
            as_of: monday_morning().date_naive(),
            probability: 0.5,
            points: 600,
            expected_value_usd: *value,
            segment: "medium_risk.late.small".into(),
            strategy: "reminder".into(),
            top_reasons: Vec::new(),
        })
        .collect();
    store.replace_all_scores(&scores).await.unwrap();
}

fn settings(max_concurrent_calls: u32, calls_per_second: u32) -> CampaignSettings {
    let mut settings: CampaignSettings = toml::from_str("caller_id = \"+15005550006\"").unwrap();
    settings.max_concurrent_calls = max_concurrent_calls;
    settings.calls_per_second = calls_per_second;
    settings
}

async fn start_campaign(store: &dyn Store, settings: &CampaignSettings, now: DateTime<Utc>) {
    store.create_campaign("reminders", settings, now).await.unwrap();
    let rates = cobranza::kpi::UsdRates::new(Default::default());
    cobranza::campaign::enrol::enrol(store, "reminders", &settings.filter, &rates, now).await.unwrap();
    store.set_campaign_status("reminders", CampaignStatus::Running, now).await.unwrap();
}

/// A carrier stand-in that records each call and whether its attempt row was already stored, and
/// each hang-up.
struct RecordingPlacer {
    store: Arc<dyn Store>,
    calls: Mutex<Vec<Placed>>,
    hang_ups: Mutex<Vec<String>>,
    /// The error every hang-up returns, when set.
    hang_up_error: Mutex<Option<String>>,
}

#[derive(Debug, Clone, PartialEq)]
struct Placed {
    to: String,
    attempt_id: AttemptId,
    attempt_stored: bool,
}

impl RecordingPlacer {
    fn new(store: Arc<dyn Store>) -> Arc<RecordingPlacer> {
        Arc::new(RecordingPlacer {
            store,
            calls: Mutex::new(Vec::new()),
            hang_ups: Mutex::new(Vec::new()),
            hang_up_error: Mutex::new(None),
        })
    }

    fn calls(&self) -> Vec<Placed> {
        self.calls.lock().unwrap().clone()
    }

    fn hang_ups(&self) -> Vec<String> {
        self.hang_ups.lock().unwrap().clone()
    }
}

#[async_trait]
impl CallPlacer for RecordingPlacer {
    async fn place(&self, call: &OutboundCall) -> Result<String, String> {
        let id: i64 = call.twiml_url.rsplit("attempt=").next().unwrap().parse().unwrap();
        let stored = self.store.attempt(AttemptId(id)).await.unwrap();
        let attempt_stored = stored.is_some_and(|attempt| attempt.ended_at.is_none() && attempt.phone == call.to);
        self.calls.lock().unwrap().push(Placed { to: call.to.clone(), attempt_id: AttemptId(id), attempt_stored });
        Ok(format!("CA{id:032}"))
    }

    async fn hang_up(&self, call_sid: &str) -> Result<(), String> {
        self.hang_ups.lock().unwrap().push(call_sid.to_string());
        match self.hang_up_error.lock().unwrap().clone() {
            Some(error) => Err(error),
            None => Ok(()),
        }
    }
}

fn dialer(store: &Arc<dyn Store>, placer: Arc<dyn CallPlacer>, clock: &Arc<Clock>, node: &str) -> Dialer {
    let policy = Arc::new(ContactPolicy::embedded().unwrap());
    let settings = DialerSettings::new(node.to_string(), "https://calls.example.com".to_string());
    Dialer::new(store.clone(), policy, placer, clock.clone(), settings)
}

fn dialled(decisions: &[DialDecision]) -> Vec<String> {
    decisions
        .iter()
        .filter_map(|decision| match decision {
            DialDecision::Dialled { debtor_id, .. } => Some(debtor_id.0.clone()),
            _ => None,
        })
        .collect()
}

async fn finish(store: &dyn Store, attempt_id: AttemptId, disposition: Disposition, at: DateTime<Utc>) {
    let outcome = AttemptOutcome {
        disposition,
        answered: false,
        right_party_contact: false,
        ended_at: at,
        recording_path: None,
        costs: Vec::new(),
    };
    store.finish_attempt(attempt_id, &outcome).await.unwrap();
}

#[tokio::test]
async fn attempt_row_is_stored_before_the_call_is_placed() {
    for backend in backends("row_first").await {
        let store = backend.store.clone();
        import_debtors(store.as_ref(), 2).await;
        start_campaign(store.as_ref(), &settings(5, 5), monday_morning()).await;
        let placer = RecordingPlacer::new(store.clone());
        let clock = Clock::stopped_at(monday_morning());
        dialer(&store, placer.clone(), &clock, "a").tick().await.unwrap();

        let calls = placer.calls();
        assert_eq!(calls.len(), 2, "{}", backend.name);
        assert!(calls.iter().all(|call| call.attempt_stored), "{}: {calls:?}", backend.name);
        let attempt = store.attempt(calls[0].attempt_id).await.unwrap().unwrap();
        assert_eq!(
            attempt.call_sid.map(|sid| sid.0),
            Some(format!("CA{:032}", calls[0].attempt_id.0)),
            "{}",
            backend.name
        );
        assert_eq!(attempt.started_at, monday_morning(), "{}", backend.name);
        backend.finish().await;
    }
}

#[tokio::test]
async fn dialer_takes_highest_priority_first() {
    for backend in backends("priority").await {
        let store = backend.store.clone();
        import_debtors(store.as_ref(), 4).await;
        score(store.as_ref(), &[1.0, 40.0, 5.0, 20.0]).await;
        start_campaign(store.as_ref(), &settings(2, 2), monday_morning()).await;
        let placer = RecordingPlacer::new(store.clone());
        let clock = Clock::stopped_at(monday_morning());
        let report = dialer(&store, placer.clone(), &clock, "a").tick().await.unwrap();
        assert_eq!(dialled(&report.decisions), ["MX-01", "MX-03"], "{}", backend.name);
        backend.finish().await;
    }
}

#[tokio::test]
async fn standing_refusals_are_skipped_with_their_reason() {
    for backend in backends("standing").await {
        let store = backend.store.clone();
        import_debtors(store.as_ref(), 3).await;
        score(store.as_ref(), &[30.0, 20.0, 10.0]).await;
        let entry = DoNotCallEntry {
            phone: "+525550100000".into(),
            reason: "asked".into(),
            source: "test".into(),
            added_on: monday_morning().date_naive(),
        };
        store.add_do_not_call(&[entry]).await.unwrap();
        store.record_opt_out(&DebtorId("MX-01".into()), "voice", monday_morning()).await.unwrap();
        start_campaign(store.as_ref(), &settings(5, 5), monday_morning()).await;
        let placer = RecordingPlacer::new(store.clone());
        let clock = Clock::stopped_at(monday_morning());
        let report = dialer(&store, placer.clone(), &clock, "a").tick().await.unwrap();

        assert_eq!(dialled(&report.decisions), ["MX-02"], "{}", backend.name);
        let progress = store.campaign_progress("reminders", monday_morning()).await.unwrap();
        assert_eq!(progress.skips, [("do_not_call".to_string(), 1), ("opted_out".to_string(), 1)], "{}", backend.name);
        assert_eq!((progress.done, progress.dialing), (2, 1), "{}", backend.name);
        backend.finish().await;
    }
}

#[tokio::test]
async fn target_outside_hours_waits_for_the_window() {
    for backend in backends("night").await {
        let store = backend.store.clone();
        import_debtors(store.as_ref(), 1).await;
        // 03:00 in Mexico City; the window opens at 07:00 (13:00 UTC).
        let night = Utc.with_ymd_and_hms(2026, 12, 7, 9, 0, 0).unwrap();
        start_campaign(store.as_ref(), &settings(5, 5), night).await;
        let placer = RecordingPlacer::new(store.clone());
        let clock = Clock::stopped_at(night);
        let dialer = dialer(&store, placer.clone(), &clock, "a");

        let report = dialer.tick().await.unwrap();
        let opening = Utc.with_ymd_and_hms(2026, 12, 7, 13, 0, 0).unwrap();
        assert_eq!(
            report.decisions,
            [DialDecision::Skipped {
                campaign: "reminders".into(),
                debtor_id: DebtorId("MX-00".into()),
                reason: Refusal::OutsideHours,
                next_allowed: Some(opening),
            }],
            "{}",
            backend.name
        );
        // Not due again before the window: the next tick skips nothing and dials nothing.
        clock.advance(Duration::minutes(5));
        assert_eq!(dialer.tick().await.unwrap().decisions, [], "{}", backend.name);
        clock.advance_to(opening);
        assert_eq!(dialled(&dialer.tick().await.unwrap().decisions), ["MX-00"], "{}", backend.name);
        backend.finish().await;
    }
}

#[tokio::test]
async fn ended_call_is_retried_after_its_outcome_backoff() {
    for backend in backends("retry").await {
        let store = backend.store.clone();
        import_debtors(store.as_ref(), 1).await;
        start_campaign(store.as_ref(), &settings(5, 5), monday_morning()).await;
        let placer = RecordingPlacer::new(store.clone());
        let clock = Clock::stopped_at(monday_morning());
        let dialer = dialer(&store, placer.clone(), &clock, "a");
        dialer.tick().await.unwrap();
        let first = placer.calls()[0].attempt_id;
        finish(store.as_ref(), first, Disposition::NoAnswer, monday_morning() + Duration::seconds(40)).await;

        clock.advance(Duration::seconds(60));
        let report = dialer.tick().await.unwrap();
        assert_eq!((report.settled, dialled(&report.decisions).len()), (1, 0), "{}", backend.name);
        assert_eq!(store.active_leases("reminders").await.unwrap(), 0, "{}", backend.name);

        // No answer waits 180 minutes from the end of the call.
        clock.advance_to(monday_morning() + Duration::seconds(40) + Duration::minutes(179));
        assert_eq!(dialled(&dialer.tick().await.unwrap().decisions).len(), 0, "{}", backend.name);
        clock.advance(Duration::minutes(1));
        assert_eq!(dialled(&dialer.tick().await.unwrap().decisions), ["MX-00"], "{}", backend.name);
        backend.finish().await;
    }
}

#[tokio::test]
async fn campaign_target_reads_queue_and_outcome() {
    for backend in backends("target_read").await {
        let store = backend.store.clone();
        import_debtors(store.as_ref(), 1).await;
        start_campaign(store.as_ref(), &settings(5, 5), monday_morning()).await;
        let debt_id = store.account_by_debtor(&DebtorId("MX-00".into())).await.unwrap().unwrap().debt.id;
        let placer = RecordingPlacer::new(store.clone());
        let clock = Clock::stopped_at(monday_morning());
        let dialer = dialer(&store, placer.clone(), &clock, "a");

        let enrolled = store.campaign_target("reminders", debt_id).await.unwrap().unwrap();
        assert_eq!(enrolled.campaign, "reminders", "{}", backend.name);
        assert_eq!(enrolled.debt_id, debt_id, "{}", backend.name);
        assert_eq!(enrolled.debtor_id, DebtorId("MX-00".into()), "{}", backend.name);
        assert_eq!(enrolled.state, TargetState::Waiting, "{}", backend.name);
        assert_eq!(enrolled.due_at, monday_morning(), "{}", backend.name);
        assert_eq!(enrolled.tries, 0, "{}", backend.name);
        assert_eq!(enrolled.last_outcome, None, "{}", backend.name);

        dialer.tick().await.unwrap();
        let dialing = store.campaign_target("reminders", debt_id).await.unwrap().unwrap();
        assert_eq!((dialing.state, dialing.tries), (TargetState::Dialing, 1), "{}", backend.name);

        let ended_at = monday_morning() + Duration::seconds(20);
        finish(store.as_ref(), placer.calls()[0].attempt_id, Disposition::Busy, ended_at).await;
        clock.advance(Duration::seconds(30));
        dialer.tick().await.unwrap();
        let waiting = store.campaign_target("reminders", debt_id).await.unwrap().unwrap();
        assert_eq!(waiting.state, TargetState::Waiting, "{}", backend.name);
        // Busy waits 30 minutes after the first try.
        assert_eq!(waiting.due_at, ended_at + Duration::minutes(30), "{}", backend.name);
        assert_eq!(waiting.last_outcome.as_deref(), Some("busy"), "{}", backend.name);
        assert_eq!(waiting.last_refusal, None, "{}", backend.name);

        assert_eq!(
            store.campaign_target("reminders", DebtId(debt_id.0 + 1000)).await.unwrap(),
            None,
            "{}",
            backend.name
        );
        assert_eq!(store.campaign_target("other", debt_id).await.unwrap(), None, "{}", backend.name);
        backend.finish().await;
    }
}

#[tokio::test]
async fn carrier_report_keeps_highest_sequence() {
    for backend in backends("carrier_report").await {
        let store = backend.store.clone();
        import_debtors(store.as_ref(), 1).await;
        start_campaign(store.as_ref(), &settings(5, 5), monday_morning()).await;
        let placer = RecordingPlacer::new(store.clone());
        let clock = Clock::stopped_at(monday_morning());
        dialer(&store, placer.clone(), &clock, "a").tick().await.unwrap();
        let attempt_id = placer.calls()[0].attempt_id;
        let call_sid = format!("CA{:032}", attempt_id.0);

        let before = store.carrier_report(attempt_id).await.unwrap();
        assert_eq!(before, Some(CarrierReport::default()), "{}", backend.name);

        for (sequence, status) in [(2, "completed"), (0, "initiated"), (3, "ringing"), (1, "in-progress")] {
            let event = CallProgressEvent {
                call_sid: call_sid.clone(),
                sequence,
                status: status.to_string(),
                duration_secs: None,
                received_at: monday_morning(),
            };
            store.record_call_progress(&event).await.unwrap();
        }
        store.record_answered_by(&call_sid, "human").await.unwrap();

        let report = store.carrier_report(attempt_id).await.unwrap();
        let expected = CarrierReport { call_status: Some("ringing".into()), answered_by: Some("human".into()) };
        assert_eq!(report, Some(expected), "{}", backend.name);
        assert_eq!(store.carrier_report(AttemptId(attempt_id.0 + 1000)).await.unwrap(), None, "{}", backend.name);
        backend.finish().await;
    }
}

#[tokio::test]
async fn concurrent_callbacks_keep_highest_sequence() {
    for backend in backends("concurrent_progress").await {
        let store = backend.store.clone();
        import_debtors(store.as_ref(), 1).await;
        let account = store.account_by_debtor(&DebtorId("MX-00".into())).await.unwrap().unwrap();
        for round in 0..40 {
            let attempt_id = store.create_attempt(&NewAttempt::outbound(&account, monday_morning())).await.unwrap();
            let call_sid = format!("CA{round:032}");
            store.set_call_sid(attempt_id, &CallSid(call_sid.clone())).await.unwrap();
            let event = |sequence: u32, status: &str| CallProgressEvent {
                call_sid: call_sid.clone(),
                sequence,
                status: status.to_string(),
                duration_secs: None,
                received_at: monday_morning(),
            };
            let (completed, ringing) = (event(3, "completed"), event(1, "ringing"));
            let (first, second) = (store.clone(), store.clone());
            // Twilio sends each callback as its own request, so a late one can be stored while
            // the one after it is still being stored.
            let (left, right) = tokio::join!(
                tokio::spawn(async move { first.record_call_progress(&completed).await }),
                tokio::spawn(async move { second.record_call_progress(&ringing).await }),
            );
            left.unwrap().unwrap();
            right.unwrap().unwrap();

            let report = store.carrier_report(attempt_id).await.unwrap().unwrap();
            assert_eq!(report.call_status.as_deref(), Some("completed"), "{} round {round}", backend.name);
        }
        backend.finish().await;
    }
}

#[tokio::test]
async fn expired_lease_of_a_dead_node_is_reclaimed_without_a_second_dial() {
    for backend in backends("dead_node").await {
        let store = backend.store.clone();
        import_debtors(store.as_ref(), 1).await;
        start_campaign(store.as_ref(), &settings(5, 5), monday_morning()).await;
        let placer = RecordingPlacer::new(store.clone());
        let clock = Clock::stopped_at(monday_morning());
        dialer(&store, placer.clone(), &clock, "node-a").tick().await.unwrap();
        let first = placer.calls()[0].attempt_id;

        // Node A dies: nobody renews its lease. Node B waits for it to expire.
        let node_b = dialer(&store, placer.clone(), &clock, "node-b");
        clock.advance(Duration::seconds(60));
        let report = node_b.tick().await.unwrap();
        assert_eq!((report.settled, placer.calls().len()), (0, 1), "{}", backend.name);
        clock.advance(Duration::seconds(31));
        let report = node_b.tick().await.unwrap();
        assert_eq!((report.settled, report.expired, placer.calls().len()), (1, 1, 1), "{}", backend.name);
        // The carrier may still ring node A's call, so node B hangs it up before the next try.
        assert_eq!(placer.hang_ups(), vec![format!("CA{:032}", first.0)], "{}", backend.name);

        let attempt = store.attempt(first).await.unwrap().unwrap();
        assert_eq!(attempt.disposition, Some(Disposition::TechnicalFailure), "{}", backend.name);
        // The failed try waits its backoff (60 minutes), then node B places the next one.
        clock.advance(Duration::minutes(61));
        node_b.tick().await.unwrap();
        let calls = placer.calls();
        assert_eq!(calls.len(), 2, "{}", backend.name);
        assert_ne!(calls[0].attempt_id, calls[1].attempt_id, "{}", backend.name);
        backend.finish().await;
    }
}

#[tokio::test]
async fn failed_hang_up_keeps_the_expired_lease() {
    for backend in backends("hang_up_fails").await {
        let store = backend.store.clone();
        import_debtors(store.as_ref(), 1).await;
        start_campaign(store.as_ref(), &settings(5, 5), monday_morning()).await;
        let placer = RecordingPlacer::new(store.clone());
        let clock = Clock::stopped_at(monday_morning());
        dialer(&store, placer.clone(), &clock, "node-a").tick().await.unwrap();
        let first = placer.calls()[0].attempt_id;
        let node_b = dialer(&store, placer.clone(), &clock, "node-b");
        *placer.hang_up_error.lock().unwrap() = Some("connection refused".into());

        clock.advance(Duration::seconds(91));
        let report = node_b.tick().await.unwrap();

        assert_eq!((report.settled, report.expired), (0, 0), "{}", backend.name);
        assert_eq!(placer.calls().len(), 1, "{}", backend.name);
        assert_eq!(store.active_leases("reminders").await.unwrap(), 1, "{}", backend.name);
        let attempt = store.attempt(first).await.unwrap().unwrap();
        assert_eq!(attempt.disposition, None, "{}", backend.name);

        // Once the carrier takes the hang-up, the next tick settles the lease.
        *placer.hang_up_error.lock().unwrap() = None;
        let report = node_b.tick().await.unwrap();
        assert_eq!((report.settled, report.expired), (1, 1), "{}", backend.name);
        assert_eq!(placer.hang_ups().len(), 2, "{}", backend.name);
        let attempt = store.attempt(first).await.unwrap().unwrap();
        assert_eq!(attempt.disposition, Some(Disposition::TechnicalFailure), "{}", backend.name);
        backend.finish().await;
    }
}

#[tokio::test]
async fn concurrency_limit_counts_calls_of_every_node() {
    for backend in backends("concurrency").await {
        let store = backend.store.clone();
        import_debtors(store.as_ref(), 6).await;
        start_campaign(store.as_ref(), &settings(2, 10), monday_morning()).await;
        let placer = RecordingPlacer::new(store.clone());
        let clock = Clock::stopped_at(monday_morning());
        dialer(&store, placer.clone(), &clock, "node-a").tick().await.unwrap();
        dialer(&store, placer.clone(), &clock, "node-b").tick().await.unwrap();
        assert_eq!(placer.calls().len(), 2, "{}", backend.name);
        backend.finish().await;
    }
}

#[tokio::test]
async fn two_nodes_dialing_at_once_never_call_one_debtor_twice() {
    let backend = postgres("two_nodes").await;
    let store = backend.store.clone();
    import_debtors(store.as_ref(), 60).await;
    start_campaign(store.as_ref(), &settings(100, 7), monday_morning()).await;
    let placer = RecordingPlacer::new(store.clone());
    let clock = Clock::stopped_at(monday_morning());
    let node_a = Arc::new(dialer(&store, placer.clone(), &clock, "node-a"));
    let node_b = Arc::new(dialer(&store, placer.clone(), &clock, "node-b"));
    for _ in 0..6 {
        let (a, b) = (node_a.clone(), node_b.clone());
        let (left, right) = tokio::join!(async move { a.tick().await }, async move { b.tick().await });
        left.unwrap();
        right.unwrap();
    }
    let mut numbers: Vec<String> = placer.calls().into_iter().map(|call| call.to).collect();
    let placed = numbers.len();
    numbers.sort();
    numbers.dedup();
    assert_eq!(numbers.len(), placed);
    assert_eq!(placed, 60);
    backend.finish().await;
}

#[test]
fn campaign_status_names_round_trip() {
    for status in [CampaignStatus::Draft, CampaignStatus::Running, CampaignStatus::Paused, CampaignStatus::Stopped] {
        assert_eq!(CampaignStatus::from_str(status.as_str()), Ok(status));
    }
}
