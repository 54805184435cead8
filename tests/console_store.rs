//! The console store contract, run on SQLite (a file in a temporary directory) and on
//! PostgreSQL (a fresh schema of the database at `COBRANZA_TEST_DATABASE_URL`, by default
//! `postgres://postgres@127.0.0.1:5432/test`, dropped when the test passes). The PostgreSQL tests
//! fail when that server is unreachable.
//!
//! Times written here are whole seconds, which both backends keep exactly.

use async_trait::async_trait;
use sqlx::Connection;
use tempfile::TempDir;

use cobranza::collections::model::AttemptId;
use cobranza::collections::postgres::PostgresStore;
use cobranza::collections::sqlite::SqliteStore;
use cobranza::collections::store::Store;
use cobranza::console::store::ConsoleStore;

/// A store under test, with the one raw write the contract needs.
#[async_trait]
pub trait Backend: Store + ConsoleStore {
    /// Writes `text` into the attempt's disposition column as an older release would have.
    async fn write_raw_disposition(&self, id: AttemptId, text: &str);
}

#[async_trait]
impl Backend for SqliteStore {
    async fn write_raw_disposition(&self, id: AttemptId, text: &str) {
        sqlx::query("UPDATE attempts SET disposition = $2 WHERE id = $1")
            .bind(id.0)
            .bind(text)
            .execute(self.pool())
            .await
            .unwrap();
    }
}

#[async_trait]
impl Backend for PostgresStore {
    async fn write_raw_disposition(&self, id: AttemptId, text: &str) {
        sqlx::query("UPDATE attempts SET disposition = $2 WHERE id = $1")
            .bind(id.0)
            .bind(text)
            .execute(self.pool())
            .await
            .unwrap();
    }
}

async fn sqlite_store() -> (TempDir, SqliteStore) {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("cobranza.db")).await.unwrap();
    (dir, store)
}

const DEFAULT_DATABASE_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

fn database_url() -> String {
    std::env::var("COBRANZA_TEST_DATABASE_URL")
        .ok()
        .filter(|url| !url.is_empty())
        .unwrap_or_else(|| DEFAULT_DATABASE_URL.to_string())
}

/// Names the schema a test owns. The process id keeps two runs at once apart.
fn schema_name(test: &str) -> String {
    format!("console_{test}_{}", std::process::id())
}

async fn drop_schema(schema: &str) {
    let url = database_url();
    let mut connection = match sqlx::PgConnection::connect(&url).await {
        Ok(connection) => connection,
        Err(error) => panic!(
            "connecting to PostgreSQL at {url} failed: {error}. Start PostgreSQL there, or set \
             COBRANZA_TEST_DATABASE_URL to a database these tests may create schemas in"
        ),
    };
    sqlx::query(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE")).execute(&mut connection).await.unwrap();
}

/// Opens a store in an empty schema named for the test, dropping any schema a failed run left.
async fn postgres_store(test: &str) -> (PostgresStore, String) {
    let schema = schema_name(test);
    drop_schema(&schema).await;
    let store = PostgresStore::connect_in_schema(&database_url(), &schema).await.unwrap();
    (store, schema)
}

macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test]
                async fn $name() {
                    let (_dir, store) = super::sqlite_store().await;
                    super::contract::$name(&store).await;
                }
            )*
        }

        mod postgres {
            $(
                #[tokio::test]
                async fn $name() {
                    let (store, schema) = super::postgres_store(stringify!($name)).await;
                    super::contract::$name(&store).await;
                    super::drop_schema(&schema).await;
                }
            )*
        }
    };
}

on_both_backends!(
    user_create_returns_defaults,
    duplicate_username_conflicts,
    users_listed_by_username,
    user_settings_update,
    unknown_user_not_found,
    disabling_user_drops_sessions,
    session_expires_at_its_time,
    session_extend_and_delete,
    expired_sessions_deleted,
    session_needs_user_and_new_token,
    login_failures_counted_in_window,
    login_failures_cleared_per_key,
    audit_newest_first,
    calls_unfiltered_newest_first,
    calls_by_debtor,
    calls_by_phone_digits,
    calls_by_date_range,
    calls_by_campaign,
    calls_by_disposition,
    calls_filters_combine,
    call_row_has_every_field,
    promises_due_today,
    broken_promises_with_follow_up,
    kept_promises_newest_first,
    promise_board_limit,
    debtor_view_collects_debtor,
    unknown_debtor_has_no_view,
    turns_numbered_in_the_order_stored,
);

mod contract {
    use std::collections::HashMap;

    use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
    use chrono_tz::Tz;

    use cobranza::campaign::settings::CampaignSettings;
    use cobranza::campaign::store::NewTarget;
    use cobranza::collections::history::{HistoryAttempt, Payment, PromiseStatus, SettleScope};
    use cobranza::collections::import::{import_portfolio_file_as_of, ImportMode};
    use cobranza::collections::model::{
        AttemptId, CallSid, Currency, Debt, DebtId, Debtor, DebtorId, Disposition, Installment, Money, Promise,
        PromiseId,
    };
    use cobranza::collections::store::{AttemptOutcome, Direction, NewAttempt, StoreError};
    use cobranza::console::store::{
        AuditEntry, CallQuery, CallRow, DebtorView, NewSession, NewUser, OptOutRow, PromiseRow, PromiseView, Role,
        SessionRecord, UiLanguage, User,
    };

    use super::Backend;

    fn at(day: u32, hour: u32, minute: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, day, hour, minute, 0).unwrap()
    }

    fn date(text: &str) -> NaiveDate {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
    }

    fn mxn(pesos: i64) -> Money {
        Money::from_major(pesos, Currency::Mxn)
    }

    fn cop(pesos: i64) -> Money {
        Money::from_major(pesos, Currency::Cop)
    }

    fn clp(pesos: i64) -> Money {
        Money::from_major(pesos, Currency::Clp)
    }

    fn new_user(username: &str, role: Role) -> NewUser {
        NewUser {
            username: username.to_string(),
            role,
            password_hash: format!("$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$hash-of-{username}"),
            created_at: at(1, 9, 0),
        }
    }

    fn new_session(token_hash: &str, username: &str, expires_at: DateTime<Utc>) -> NewSession {
        NewSession {
            token_hash: token_hash.to_string(),
            username: username.to_string(),
            csrf_token: format!("csrf-{token_hash}"),
            created_at: at(2, 8, 0),
            expires_at,
        }
    }

    fn session_tokens(record: Option<SessionRecord>) -> Option<(String, String)> {
        record.map(|record| (record.token_hash, record.user.username))
    }

    // Users.

    pub async fn user_create_returns_defaults(store: &impl Backend) {
        let created = store.create_user(&new_user("ana", Role::Supervisor)).await.unwrap();

        let expected = User {
            username: "ana".to_string(),
            role: Role::Supervisor,
            language: UiLanguage::Es,
            disabled: false,
            password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$hash-of-ana".to_string(),
            created_at: at(1, 9, 0),
        };
        assert_eq!(created, expected);
        assert_eq!(store.user("ana").await.unwrap(), Some(expected));
        assert_eq!(store.user("nadie").await.unwrap(), None);
    }

    pub async fn duplicate_username_conflicts(store: &impl Backend) {
        store.create_user(&new_user("ana", Role::Admin)).await.unwrap();

        let error = store.create_user(&new_user("ana", Role::Auditor)).await.unwrap_err();
        assert!(matches!(error, StoreError::Conflict(_)), "{error:?}");
        assert_eq!(error.to_string(), "user 'ana' exists: choose another username, or change that user instead");
        assert_eq!(store.user("ana").await.unwrap().unwrap().role, Role::Admin);

        // Usernames compare exactly, so another letter case is another user.
        let other_case = store.create_user(&new_user("Ana", Role::Auditor)).await.unwrap();
        assert_eq!(other_case.role, Role::Auditor);
    }

    pub async fn users_listed_by_username(store: &impl Backend) {
        for name in ["zoe", "bruno", "Carla", "ana"] {
            store.create_user(&new_user(name, Role::Supervisor)).await.unwrap();
        }

        let names: Vec<String> = store.users().await.unwrap().into_iter().map(|user| user.username).collect();
        assert_eq!(names, ["Carla", "ana", "bruno", "zoe"]);
    }

    pub async fn user_settings_update(store: &impl Backend) {
        store.create_user(&new_user("ana", Role::Supervisor)).await.unwrap();

        store.set_password_hash("ana", "$argon2id$new").await.unwrap();
        store.set_user_role("ana", Role::Admin).await.unwrap();
        store.set_user_language("ana", UiLanguage::En).await.unwrap();
        store.set_user_disabled("ana", true).await.unwrap();

        let user = store.user("ana").await.unwrap().unwrap();
        assert_eq!(user.password_hash, "$argon2id$new");
        assert_eq!(user.role, Role::Admin);
        assert_eq!(user.language, UiLanguage::En);
        assert!(user.disabled);

        store.set_user_disabled("ana", false).await.unwrap();
        assert!(!store.user("ana").await.unwrap().unwrap().disabled);
    }

    pub async fn unknown_user_not_found(store: &impl Backend) {
        let errors = [
            store.set_password_hash("nadie", "x").await.unwrap_err(),
            store.set_user_role("nadie", Role::Admin).await.unwrap_err(),
            store.set_user_disabled("nadie", true).await.unwrap_err(),
            store.set_user_language("nadie", UiLanguage::En).await.unwrap_err(),
        ];
        for error in errors {
            assert!(matches!(error, StoreError::NotFound { what: "console user", .. }), "{error:?}");
            assert_eq!(error.to_string(), "console user not found: nadie");
        }
    }

    pub async fn disabling_user_drops_sessions(store: &impl Backend) {
        store.create_user(&new_user("ana", Role::Supervisor)).await.unwrap();
        store.create_user(&new_user("bruno", Role::Supervisor)).await.unwrap();
        let expires_at = at(2, 20, 0);
        store.create_session(&new_session("ana-1", "ana", expires_at)).await.unwrap();
        store.create_session(&new_session("ana-2", "ana", expires_at)).await.unwrap();
        store.create_session(&new_session("bruno-1", "bruno", expires_at)).await.unwrap();
        let now = at(2, 9, 0);

        store.set_user_disabled("ana", true).await.unwrap();
        assert_eq!(store.session("ana-1", now).await.unwrap(), None);
        assert_eq!(store.session("ana-2", now).await.unwrap(), None);
        let bruno = store.session("bruno-1", now).await.unwrap();
        assert_eq!(session_tokens(bruno), Some(("bruno-1".to_string(), "bruno".to_string())));

        // A session stored for a disabled user is not returned either.
        store.create_session(&new_session("ana-3", "ana", expires_at)).await.unwrap();
        assert_eq!(store.session("ana-3", now).await.unwrap(), None);

        // Enabling the user again revives none of its sessions, not even one stored while it
        // was disabled. Enabling an enabled user keeps its sessions.
        store.set_user_disabled("ana", false).await.unwrap();
        assert_eq!(store.session("ana-1", now).await.unwrap(), None);
        assert_eq!(store.session("ana-3", now).await.unwrap(), None);
        store.set_user_disabled("bruno", false).await.unwrap();
        assert!(store.session("bruno-1", now).await.unwrap().is_some());
        assert_eq!(
            store.extend_session("ana-1", at(3, 0, 0)).await.unwrap_err().to_string(),
            "console session not found: (token hash withheld)"
        );
    }

    // Sessions.

    pub async fn session_expires_at_its_time(store: &impl Backend) {
        let user = store.create_user(&new_user("ana", Role::Auditor)).await.unwrap();
        let expires_at = at(2, 10, 0);
        store.create_session(&new_session("token-hash-1", "ana", expires_at)).await.unwrap();

        let expected = SessionRecord {
            token_hash: "token-hash-1".to_string(),
            csrf_token: "csrf-token-hash-1".to_string(),
            expires_at,
            user,
        };
        assert_eq!(store.session("token-hash-1", expires_at - Duration::seconds(1)).await.unwrap(), Some(expected));
        assert_eq!(store.session("token-hash-1", expires_at).await.unwrap(), None);
        assert_eq!(store.session("token-hash-1", expires_at + Duration::hours(1)).await.unwrap(), None);
        assert_eq!(store.session("other-hash", at(2, 9, 0)).await.unwrap(), None);
    }

    pub async fn session_extend_and_delete(store: &impl Backend) {
        store.create_user(&new_user("ana", Role::Admin)).await.unwrap();
        store.create_session(&new_session("token-hash-1", "ana", at(2, 10, 0))).await.unwrap();

        store.extend_session("token-hash-1", at(2, 18, 0)).await.unwrap();
        let extended = store.session("token-hash-1", at(2, 17, 59)).await.unwrap().unwrap();
        assert_eq!(extended.expires_at, at(2, 18, 0));

        store.delete_session("token-hash-1").await.unwrap();
        assert_eq!(store.session("token-hash-1", at(2, 9, 0)).await.unwrap(), None);
        // Deleting again is not an error: a logout may arrive twice.
        store.delete_session("token-hash-1").await.unwrap();
        let error = store.extend_session("token-hash-1", at(2, 19, 0)).await.unwrap_err();
        assert!(matches!(error, StoreError::NotFound { what: "console session", .. }), "{error:?}");
    }

    pub async fn expired_sessions_deleted(store: &impl Backend) {
        store.create_user(&new_user("ana", Role::Admin)).await.unwrap();
        store.create_session(&new_session("early", "ana", at(2, 9, 0))).await.unwrap();
        store.create_session(&new_session("on-time", "ana", at(2, 10, 0))).await.unwrap();
        store.create_session(&new_session("late", "ana", at(2, 11, 0))).await.unwrap();

        assert_eq!(store.delete_expired_sessions(at(2, 10, 0)).await.unwrap(), 2);
        assert_eq!(store.delete_expired_sessions(at(2, 10, 0)).await.unwrap(), 0);
        let late = store.session("late", at(2, 10, 30)).await.unwrap();
        assert_eq!(session_tokens(late), Some(("late".to_string(), "ana".to_string())));
        // `late` is still stored, so extending it succeeds. The deleted ones are gone.
        store.extend_session("late", at(2, 12, 0)).await.unwrap();
        assert!(store.extend_session("early", at(2, 12, 0)).await.is_err());
    }

    pub async fn session_needs_user_and_new_token(store: &impl Backend) {
        let error = store.create_session(&new_session("token-hash-1", "nadie", at(2, 10, 0))).await.unwrap_err();
        assert!(matches!(error, StoreError::NotFound { what: "console user", .. }), "{error:?}");

        store.create_user(&new_user("ana", Role::Admin)).await.unwrap();
        store.create_user(&new_user("bruno", Role::Admin)).await.unwrap();
        store.create_session(&new_session("token-hash-1", "ana", at(2, 10, 0))).await.unwrap();
        let error = store.create_session(&new_session("token-hash-1", "bruno", at(2, 11, 0))).await.unwrap_err();
        assert!(matches!(error, StoreError::Conflict(_)), "{error:?}");
        let first_session = store.session("token-hash-1", at(2, 9, 0)).await.unwrap();
        assert_eq!(session_tokens(first_session), Some(("token-hash-1".to_string(), "ana".to_string())));
    }

    // Failed logins.

    pub async fn login_failures_counted_in_window(store: &impl Backend) {
        for minute in [0, 1, 5] {
            store.record_login_failure("user:ana", at(2, 9, minute)).await.unwrap();
        }
        store.record_login_failure("ip:127.0.0.1", at(2, 9, 2)).await.unwrap();

        assert_eq!(store.login_failures_since("user:ana", at(2, 9, 0)).await.unwrap(), 3);
        assert_eq!(store.login_failures_since("user:ana", at(2, 9, 1)).await.unwrap(), 2);
        assert_eq!(store.login_failures_since("user:ana", at(2, 9, 6)).await.unwrap(), 0);
        assert_eq!(store.login_failures_since("ip:127.0.0.1", at(2, 8, 0)).await.unwrap(), 1);
        assert_eq!(store.login_failures_since("user:bruno", at(2, 8, 0)).await.unwrap(), 0);

        assert_eq!(store.delete_login_failures_before(at(2, 9, 2)).await.unwrap(), 2);
        assert_eq!(store.login_failures_since("user:ana", at(2, 8, 0)).await.unwrap(), 1);
        assert_eq!(store.login_failures_since("ip:127.0.0.1", at(2, 8, 0)).await.unwrap(), 1);
    }

    pub async fn login_failures_cleared_per_key(store: &impl Backend) {
        store.record_login_failure("user:ana", at(2, 9, 0)).await.unwrap();
        store.record_login_failure("user:ana", at(2, 9, 1)).await.unwrap();
        store.record_login_failure("ip:127.0.0.1", at(2, 9, 1)).await.unwrap();

        store.clear_login_failures("user:ana").await.unwrap();
        assert_eq!(store.login_failures_since("user:ana", at(2, 0, 0)).await.unwrap(), 0);
        assert_eq!(store.login_failures_since("ip:127.0.0.1", at(2, 0, 0)).await.unwrap(), 1);
        store.clear_login_failures("user:nadie").await.unwrap();
    }

    // Audit log.

    pub async fn audit_newest_first(store: &impl Backend) {
        let entry = |minute: u32, action: &str| AuditEntry {
            at: at(2, 9, minute),
            username: "ana".to_string(),
            action: action.to_string(),
            target: "marzo".to_string(),
            detail: format!("{action} from the console"),
        };
        store.append_audit(&entry(10, "campaign.pause")).await.unwrap();
        store.append_audit(&entry(0, "login")).await.unwrap();
        store.append_audit(&entry(20, "campaign.resume")).await.unwrap();
        store.append_audit(&entry(20, "campaign.stop")).await.unwrap();

        let entries = store.audit_entries(10).await.unwrap();
        let actions: Vec<&str> = entries.iter().map(|entry| entry.action.as_str()).collect();
        assert_eq!(actions, ["campaign.stop", "campaign.resume", "campaign.pause", "login"]);
        assert_eq!(entries[2], entry(10, "campaign.pause"));

        let latest = store.audit_entries(2).await.unwrap();
        assert_eq!(latest, vec![entry(20, "campaign.stop"), entry(20, "campaign.resume")]);
        assert_eq!(store.audit_entries(0).await.unwrap(), Vec::<AuditEntry>::new());
    }

    pub async fn turns_numbered_in_the_order_stored(store: &impl Backend) {
        let fixture = portfolio_with_calls(store).await;
        let [first, second, ..] = fixture.attempts;
        let timings = |base: u64, mark: Option<u64>| cobranza::call::TurnTimings {
            final_transcript_ms: Some(base),
            decision_ms: Some(base + 5),
            first_audio_ms: Some(base + 400),
            first_frame_ms: Some(base + 420),
            first_mark_ms: mark,
        };
        store.append_turn(first, at(2, 10, 1), &timings(300, Some(1_900))).await.unwrap();
        store.append_turn(second, at(2, 11, 1), &timings(250, None)).await.unwrap();
        store.append_turn(first, at(2, 10, 2), &timings(280, None)).await.unwrap();
        assert_eq!(store.turns(first).await.unwrap(), vec![timings(300, Some(1_900)), timings(280, None)]);
        assert_eq!(store.turns(second).await.unwrap(), vec![timings(250, None)]);
        assert_eq!(store.turns(fixture.attempts[4]).await.unwrap(), Vec::new());
    }

    // Call history, promises and the debtor page, on one small portfolio.

    const PORTFOLIO: &str = "\
debtor_id,full_name,phone,country,region,locale,time_zone,national_id_last4,birth_date,postal_code,creditor,product,account_ref,balance,currency,days_past_due,call_consent,authorised_channels
MX-0001,María Fernanda López Ruiz,+525550100001,MX,Ciudad de México,es-MX,America/Mexico_City,1234,1986-04-12,06700,Banco Aurora,tarjeta de crédito,BA-TC-1,4500.00,MXN,45,true,voice;sms
MX-0001,María Fernanda López Ruiz,+525550100001,MX,Ciudad de México,es-MX,America/Mexico_City,1234,1986-04-12,06700,Banco Aurora,préstamo personal,BA-PP-2,1200.00,MXN,30,true,voice;sms
CO-0001,Juan Camilo Restrepo Gómez,+576045550101,CO,Antioquia,es-CO,America/Bogota,5678,1979-09-23,050021,Banco Cordillera,tarjeta de crédito,BCO-TC-1,1850000.00,COP,62,true,voice
CL-0001,Matías Ignacio Fuentes Soto,+56225550103,CL,Región Metropolitana,es-CL,America/Santiago,9012,1990-06-05,7500000,Banco Araucaria,crédito de consumo,BAR-CC-1,450000,CLP,90,true,voice;email
";

    /// The ids of what [`portfolio_with_calls`] stored.
    struct Fixture {
        debts: HashMap<&'static str, DebtId>,
        /// Attempts in start order: MX on 2 Mar (campaign marzo, promise to pay), CO on 2 Mar
        /// (marzo, no answer), CL on 3 Mar (abril, wrong number written with its older name),
        /// MX inbound on 3 Mar (no campaign, refused, recorded), CO on 4 Mar (still in progress).
        attempts: [AttemptId; 5],
    }

    /// Imports the portfolio with the CSV import and stores five calls: three as the history
    /// import does and two as live calls do.
    async fn portfolio_with_calls(store: &impl Backend) -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("portfolio.csv");
        std::fs::write(&path, PORTFOLIO).unwrap();
        let report =
            import_portfolio_file_as_of(store, &path, ImportMode::AllOrNothing, date("2026-03-01")).await.unwrap();
        assert_eq!((report.debtors, report.debts), (3, 4));

        let debts: HashMap<&'static str, DebtId> = store
            .debt_refs()
            .await
            .unwrap()
            .into_iter()
            .map(|debt| {
                let name = ["BA-TC-1", "BA-PP-2", "BCO-TC-1", "BAR-CC-1"]
                    .into_iter()
                    .find(|name| *name == debt.account_ref)
                    .unwrap();
                (name, debt.debt_id)
            })
            .collect();

        let history = |sid: &str,
                       debt: &str,
                       phone: &str,
                       started_at: DateTime<Utc>,
                       campaign: &str,
                       disposition: Disposition,
                       right_party_contact: bool| HistoryAttempt {
            call_sid: CallSid(sid.to_string()),
            debt_id: debts[debt],
            phone: phone.to_string(),
            direction: Direction::Outbound,
            started_at,
            ended_at: Some(started_at + Duration::minutes(3)),
            answered: right_party_contact,
            right_party_contact,
            disposition: Some(disposition),
            campaign: Some(campaign.to_string()),
            segment: None,
            cost_micros: 0,
        };
        let past = [
            history("CA-MX-1", "BA-TC-1", "+525550100001", at(2, 10, 0), "marzo", Disposition::PromiseToPay, true),
            history("CA-CO-1", "BCO-TC-1", "+576045550101", at(2, 11, 0), "marzo", Disposition::NoAnswer, false),
            history("CA-CL-1", "BAR-CC-1", "+56225550103", at(3, 9, 0), "abril", Disposition::WrongNumber, false),
        ];
        assert_eq!(store.insert_history_attempts(&past).await.unwrap(), 3);
        let sids = ["CA-MX-1", "CA-CO-1", "CA-CL-1"].map(str::to_string);
        let stored = store.attempts_with_call_sids(&sids).await.unwrap();
        let id_of = |sid: &str| stored.iter().find(|found| found.call_sid.0 == sid).unwrap().attempt_id;
        let (mx_first, co_first, cl_first) = (id_of("CA-MX-1"), id_of("CA-CO-1"), id_of("CA-CL-1"));
        store.write_raw_disposition(cl_first, "wrong_party").await;

        let inbound = NewAttempt {
            debt_id: debts["BA-PP-2"],
            phone: "+525550100001".to_string(),
            direction: Direction::Inbound,
            started_at: at(3, 15, 0),
        };
        let mx_inbound = store.create_attempt(&inbound).await.unwrap();
        let outcome = AttemptOutcome {
            disposition: Disposition::RefusedToPay,
            answered: true,
            right_party_contact: true,
            ended_at: at(3, 15, 4),
            recording_path: Some("recordings/mx-inbound.wav".to_string()),
            costs: vec![],
        };
        store.finish_attempt(mx_inbound, &outcome).await.unwrap();

        let live = NewAttempt {
            debt_id: debts["BCO-TC-1"],
            phone: "+576045550101".to_string(),
            direction: Direction::Outbound,
            started_at: at(4, 8, 0),
        };
        let co_live = store.create_attempt(&live).await.unwrap();

        Fixture { debts, attempts: [mx_first, co_first, cl_first, mx_inbound, co_live] }
    }

    fn everything() -> CallQuery {
        CallQuery { limit: 100, ..CallQuery::default() }
    }

    async fn found(store: &impl Backend, query: CallQuery) -> Vec<AttemptId> {
        store.search_calls(&query).await.unwrap().into_iter().map(|call| call.attempt_id).collect()
    }

    pub async fn calls_unfiltered_newest_first(store: &impl Backend) {
        let [mx_first, co_first, cl_first, mx_inbound, co_live] = portfolio_with_calls(store).await.attempts;

        assert_eq!(found(store, everything()).await, [co_live, mx_inbound, cl_first, co_first, mx_first]);
        assert_eq!(found(store, CallQuery { limit: 2, ..everything() }).await, [co_live, mx_inbound]);
        assert_eq!(found(store, CallQuery { limit: 0, ..everything() }).await, Vec::<AttemptId>::new());
        // Blank text filters, as an empty search form sends them, filter nothing.
        let blank = CallQuery {
            debtor_id: Some(DebtorId(String::new())),
            phone: Some(" ".to_string()),
            campaign: Some(String::new()),
            ..everything()
        };
        assert_eq!(found(store, blank).await.len(), 5);
    }

    pub async fn calls_by_debtor(store: &impl Backend) {
        let [mx_first, co_first, _, mx_inbound, co_live] = portfolio_with_calls(store).await.attempts;

        let by_debtor = |id: &str| CallQuery { debtor_id: Some(DebtorId(id.to_string())), ..everything() };
        assert_eq!(found(store, by_debtor("MX-0001")).await, [mx_inbound, mx_first]);
        assert_eq!(found(store, by_debtor("CO-0001")).await, [co_live, co_first]);
        assert_eq!(found(store, by_debtor("MX-9999")).await, Vec::<AttemptId>::new());
    }

    pub async fn calls_by_phone_digits(store: &impl Backend) {
        let [mx_first, co_first, cl_first, mx_inbound, co_live] = portfolio_with_calls(store).await.attempts;

        let by_phone = |phone: &str| CallQuery { phone: Some(phone.to_string()), ..everything() };
        assert_eq!(found(store, by_phone("+525550100001")).await, [mx_inbound, mx_first]);
        assert_eq!(found(store, by_phone("+57 (604) 555")).await, [co_live, co_first]);
        assert_eq!(found(store, by_phone("0103")).await, [cl_first]);
        // "5550" occurs in all three numbers, "0101" only in the Colombian one.
        assert_eq!(found(store, by_phone("5550")).await.len(), 5);
        assert_eq!(found(store, by_phone("0101")).await, [co_live, co_first]);
        assert_eq!(found(store, by_phone("abc")).await, Vec::<AttemptId>::new());
        assert_eq!(found(store, by_phone("999")).await, Vec::<AttemptId>::new());
    }

    pub async fn calls_by_date_range(store: &impl Backend) {
        let [_, co_first, cl_first, mx_inbound, _] = portfolio_with_calls(store).await.attempts;

        let between =
            |from: DateTime<Utc>, to: DateTime<Utc>| CallQuery { from: Some(from), to: Some(to), ..everything() };
        assert_eq!(found(store, between(at(3, 0, 0), at(4, 0, 0))).await, [mx_inbound, cl_first]);
        // `from` is inclusive and `to` exclusive: the CO call at 2 Mar 11:00 is in, the live call
        // at 4 Mar 08:00 is out.
        assert_eq!(found(store, between(at(2, 11, 0), at(4, 8, 0))).await, [mx_inbound, cl_first, co_first]);

        let since = CallQuery { from: Some(at(3, 15, 0)), ..everything() };
        assert_eq!(found(store, since).await.len(), 2);
        let until = CallQuery { to: Some(at(2, 11, 0)), ..everything() };
        assert_eq!(found(store, until).await.len(), 1);
    }

    pub async fn calls_by_campaign(store: &impl Backend) {
        let [mx_first, co_first, cl_first, _, _] = portfolio_with_calls(store).await.attempts;

        let by_campaign = |name: &str| CallQuery { campaign: Some(name.to_string()), ..everything() };
        assert_eq!(found(store, by_campaign("marzo")).await, [co_first, mx_first]);
        assert_eq!(found(store, by_campaign("abril")).await, [cl_first]);
        assert_eq!(found(store, by_campaign("mayo")).await, Vec::<AttemptId>::new());
    }

    pub async fn calls_by_disposition(store: &impl Backend) {
        let [mx_first, co_first, cl_first, mx_inbound, _] = portfolio_with_calls(store).await.attempts;

        let by_disposition = |disposition: Disposition| CallQuery { disposition: Some(disposition), ..everything() };
        assert_eq!(found(store, by_disposition(Disposition::PromiseToPay)).await, [mx_first]);
        assert_eq!(found(store, by_disposition(Disposition::NoAnswer)).await, [co_first]);
        assert_eq!(found(store, by_disposition(Disposition::RefusedToPay)).await, [mx_inbound]);
        assert_eq!(found(store, by_disposition(Disposition::Busy)).await, Vec::<AttemptId>::new());
        // The CL call's disposition is stored as `wrong_party`, the older name of `wrong_number`.
        assert_eq!(found(store, by_disposition(Disposition::WrongNumber)).await, [cl_first]);
        let rows = store.search_calls(&by_disposition(Disposition::WrongNumber)).await.unwrap();
        assert_eq!(rows[0].disposition, Some(Disposition::WrongNumber));
    }

    pub async fn calls_filters_combine(store: &impl Backend) {
        let [mx_first, co_first, _, _, _] = portfolio_with_calls(store).await.attempts;

        let marzo_in_colombia = CallQuery {
            debtor_id: Some(DebtorId("CO-0001".to_string())),
            campaign: Some("marzo".to_string()),
            ..everything()
        };
        assert_eq!(found(store, marzo_in_colombia).await, [co_first]);
        let mexican_promises_on_2_march = CallQuery {
            phone: Some("52555".to_string()),
            from: Some(at(2, 0, 0)),
            to: Some(at(3, 0, 0)),
            disposition: Some(Disposition::PromiseToPay),
            ..everything()
        };
        assert_eq!(found(store, mexican_promises_on_2_march).await, [mx_first]);
        let nothing = CallQuery {
            campaign: Some("marzo".to_string()),
            disposition: Some(Disposition::RefusedToPay),
            ..everything()
        };
        assert_eq!(found(store, nothing).await, Vec::<AttemptId>::new());
    }

    pub async fn call_row_has_every_field(store: &impl Backend) {
        let [mx_first, _, _, mx_inbound, co_live] = portfolio_with_calls(store).await.attempts;

        let rows = store.search_calls(&everything()).await.unwrap();
        let inbound = rows.iter().find(|row| row.attempt_id == mx_inbound).unwrap();
        let expected = CallRow {
            attempt_id: mx_inbound,
            debtor_id: DebtorId("MX-0001".to_string()),
            debtor_name: "María Fernanda López Ruiz".to_string(),
            phone: "+525550100001".to_string(),
            country: "MX".to_string(),
            campaign: None,
            direction: Direction::Inbound,
            started_at: at(3, 15, 0),
            ended_at: Some(at(3, 15, 4)),
            disposition: Some(Disposition::RefusedToPay),
            right_party_contact: true,
            recording_path: Some("recordings/mx-inbound.wav".to_string()),
        };
        assert_eq!(inbound, &expected);

        let first = rows.iter().find(|row| row.attempt_id == mx_first).unwrap();
        assert_eq!(first.campaign.as_deref(), Some("marzo"));
        assert_eq!(first.direction, Direction::Outbound);
        assert_eq!(first.ended_at, Some(at(2, 10, 3)));
        assert_eq!(first.recording_path, None);

        let live = rows.iter().find(|row| row.attempt_id == co_live).unwrap();
        assert_eq!((live.ended_at, live.disposition, live.right_party_contact), (None, None, false));
        assert_eq!(live.country, "CO");
    }

    /// The ids of what [`store_promises`] stored, in creation order.
    struct Promises {
        mx_card: PromiseId,
        mx_small: PromiseId,
        mx_plan: PromiseId,
        co_first: PromiseId,
        cl: PromiseId,
        co_open: PromiseId,
    }

    /// Stores six promises on the fixture's calls, and three payments. Settled on 12 March with
    /// 3 grace days, the payments keep the MX card promise (paid 9 Mar) and keep the small MX
    /// promise late (paid 8 Mar for 7 Mar). Nothing pays the MX plan's first installment or the
    /// first CO promise (both due 5 Mar), so both break, and the CL promise is kept in part.
    /// The second CO promise and the plan's second installment (both due 12 Mar) stay open.
    async fn store_promises(store: &impl Backend, fixture: &Fixture) -> Promises {
        let [mx_first, co_first, cl_first, mx_inbound, co_live] = fixture.attempts;
        let debts = &fixture.debts;
        let single = |debt: &str, amount: Money, due: &str| Promise {
            debt_id: debts[debt],
            amount,
            due_date: date(due),
            installments: vec![],
        };
        let plan = Promise {
            debt_id: debts["BA-PP-2"],
            amount: mxn(1200),
            due_date: date("2026-03-05"),
            installments: vec![
                Installment { amount: mxn(600), due_date: date("2026-03-05") },
                Installment { amount: mxn(600), due_date: date("2026-03-12") },
            ],
        };

        let promises = Promises {
            mx_card: store
                .store_promise(mx_first, &single("BA-TC-1", mxn(1000), "2026-03-10"), at(2, 10, 2))
                .await
                .unwrap(),
            mx_small: store
                .store_promise(mx_first, &single("BA-TC-1", mxn(100), "2026-03-07"), at(2, 10, 3))
                .await
                .unwrap(),
            mx_plan: store.store_promise(mx_inbound, &plan, at(3, 15, 2)).await.unwrap(),
            co_first: store
                .store_promise(co_first, &single("BCO-TC-1", cop(500_000), "2026-03-05"), at(2, 11, 2))
                .await
                .unwrap(),
            cl: store
                .store_promise(cl_first, &single("BAR-CC-1", clp(450_000), "2026-03-06"), at(3, 9, 2))
                .await
                .unwrap(),
            co_open: store
                .store_promise(co_live, &single("BCO-TC-1", cop(300_000), "2026-03-12"), at(4, 8, 2))
                .await
                .unwrap(),
        };

        let payment = |reference: &str, debt: &str, paid_on: &str, amount: Money| Payment {
            payment_ref: reference.to_string(),
            debt_id: debts[debt],
            paid_on: date(paid_on),
            amount,
            channel: "transfer".to_string(),
        };
        let payments = [
            payment("PAY-1", "BA-TC-1", "2026-03-08", mxn(100)),
            payment("PAY-2", "BA-TC-1", "2026-03-09", mxn(1000)),
            payment("PAY-3", "BAR-CC-1", "2026-03-07", clp(200_000)),
        ];
        assert_eq!(store.insert_payments(&payments, at(12, 6, 0)).await.unwrap(), 3);
        promises
    }

    /// Settles the promises as of 12 March with 3 grace days, and has campaign `marzo` follow up
    /// the broken ones 2 days after they broke.
    async fn settle_and_follow_up(store: &impl Backend, fixture: &Fixture) {
        store.settle_promises(SettleScope::AllDebts, 3, date("2026-03-12")).await.unwrap();

        let settings: CampaignSettings = toml::from_str("caller_id = \"+15005550006\"").unwrap();
        store.create_campaign("marzo", &settings, at(1, 8, 0)).await.unwrap();
        let target = |debt: &str, debtor: &str| NewTarget {
            debt_id: fixture.debts[debt],
            debtor_id: DebtorId(debtor.to_string()),
            priority: 1.0,
            segment: None,
            due_at: at(2, 9, 0),
        };
        let targets = [target("BA-PP-2", "MX-0001"), target("BCO-TC-1", "CO-0001"), target("BAR-CC-1", "CL-0001")];
        assert_eq!(store.enrol_targets("marzo", &targets).await.unwrap(), 3);
        assert_eq!(store.follow_up_broken_promises("marzo", Duration::days(2), at(9, 12, 0)).await.unwrap(), 2);
    }

    fn row_ids(rows: &[PromiseRow]) -> Vec<PromiseId> {
        rows.iter().map(|row| row.promise_id).collect()
    }

    pub async fn promises_due_today(store: &impl Backend) {
        let fixture = portfolio_with_calls(store).await;
        let promises = store_promises(store, &fixture).await;

        // Before settlement every promise is open: on 5 March the plan's first installment and the
        // first CO promise are due.
        let due_5_march = store.promise_board(PromiseView::DueToday, date("2026-03-05"), 50).await.unwrap();
        assert_eq!(row_ids(&due_5_march), [promises.mx_plan, promises.co_first]);
        assert_eq!(due_5_march[0].amount, mxn(600));
        assert_eq!(due_5_march[0].installment, Some(1));

        settle_and_follow_up(store, &fixture).await;
        let after = store.promise_board(PromiseView::DueToday, date("2026-03-05"), 50).await.unwrap();
        assert_eq!(after, Vec::<PromiseRow>::new());

        let due_12_march = store.promise_board(PromiseView::DueToday, date("2026-03-12"), 50).await.unwrap();
        let plan_installment = PromiseRow {
            promise_id: promises.mx_plan,
            attempt_id: fixture.attempts[3],
            debtor_id: DebtorId("MX-0001".to_string()),
            debtor_name: "María Fernanda López Ruiz".to_string(),
            account_ref: "BA-PP-2".to_string(),
            amount: mxn(600),
            due_date: date("2026-03-12"),
            installment: Some(2),
            // The first installment broke the plan, but the second is still expected today.
            status: PromiseStatus::Broken,
            follow_up_at: Some(at(11, 0, 0)),
        };
        let co_open = PromiseRow {
            promise_id: promises.co_open,
            attempt_id: fixture.attempts[4],
            debtor_id: DebtorId("CO-0001".to_string()),
            debtor_name: "Juan Camilo Restrepo Gómez".to_string(),
            account_ref: "BCO-TC-1".to_string(),
            amount: cop(300_000),
            due_date: date("2026-03-12"),
            installment: None,
            status: PromiseStatus::Open,
            follow_up_at: None,
        };
        assert_eq!(due_12_march, vec![plan_installment, co_open]);
        assert_eq!(
            store.promise_board(PromiseView::DueToday, date("2026-03-10"), 50).await.unwrap(),
            Vec::<PromiseRow>::new()
        );
    }

    pub async fn broken_promises_with_follow_up(store: &impl Backend) {
        let fixture = portfolio_with_calls(store).await;
        let promises = store_promises(store, &fixture).await;
        settle_and_follow_up(store, &fixture).await;

        let broken = store.promise_board(PromiseView::Broken, date("2026-03-12"), 50).await.unwrap();
        // The partly kept CL promise settled on 10 Mar, the day after its grace ended. The plan
        // and the first CO promise broke on 9 Mar, so they follow by id, highest first.
        assert_eq!(row_ids(&broken), [promises.cl, promises.co_first, promises.mx_plan]);
        let statuses: Vec<PromiseStatus> = broken.iter().map(|row| row.status).collect();
        assert_eq!(statuses, [PromiseStatus::PartlyKept, PromiseStatus::Broken, PromiseStatus::Broken]);

        // The follow-up is due 2 days after the 9 Mar break. The partly kept promise has none,
        // because the dialer follows up broken promises only.
        let follow_ups: Vec<Option<DateTime<Utc>>> = broken.iter().map(|row| row.follow_up_at).collect();
        assert_eq!(follow_ups, [None, Some(at(11, 0, 0)), Some(at(11, 0, 0))]);

        let expected_co = PromiseRow {
            promise_id: promises.co_first,
            attempt_id: fixture.attempts[1],
            debtor_id: DebtorId("CO-0001".to_string()),
            debtor_name: "Juan Camilo Restrepo Gómez".to_string(),
            account_ref: "BCO-TC-1".to_string(),
            amount: cop(500_000),
            due_date: date("2026-03-05"),
            installment: None,
            status: PromiseStatus::Broken,
            follow_up_at: Some(at(11, 0, 0)),
        };
        assert_eq!(broken[1], expected_co);
        // A plan's row on this list is the whole plan.
        assert_eq!(
            (broken[2].amount, broken[2].due_date, broken[2].installment),
            (mxn(1200), date("2026-03-05"), None)
        );
    }

    pub async fn kept_promises_newest_first(store: &impl Backend) {
        let fixture = portfolio_with_calls(store).await;
        let promises = store_promises(store, &fixture).await;
        settle_and_follow_up(store, &fixture).await;

        let kept = store.promise_board(PromiseView::Kept, date("2026-03-12"), 50).await.unwrap();
        assert_eq!(row_ids(&kept), [promises.mx_card, promises.mx_small]);
        let statuses: Vec<PromiseStatus> = kept.iter().map(|row| row.status).collect();
        assert_eq!(statuses, [PromiseStatus::Kept, PromiseStatus::KeptLate]);
        assert_eq!(kept[0].amount, mxn(1000));
        assert_eq!(kept[0].attempt_id, fixture.attempts[0]);
        assert_eq!(kept[1].follow_up_at, None);
    }

    pub async fn promise_board_limit(store: &impl Backend) {
        let fixture = portfolio_with_calls(store).await;
        let promises = store_promises(store, &fixture).await;
        settle_and_follow_up(store, &fixture).await;

        let broken = store.promise_board(PromiseView::Broken, date("2026-03-12"), 1).await.unwrap();
        assert_eq!(row_ids(&broken), [promises.cl]);
        let due = store.promise_board(PromiseView::DueToday, date("2026-03-12"), 1).await.unwrap();
        assert_eq!(row_ids(&due), [promises.mx_plan]);
        assert_eq!(
            store.promise_board(PromiseView::Kept, date("2026-03-12"), 0).await.unwrap(),
            Vec::<PromiseRow>::new()
        );
    }

    pub async fn debtor_view_collects_debtor(store: &impl Backend) {
        let fixture = portfolio_with_calls(store).await;
        let promises = store_promises(store, &fixture).await;
        settle_and_follow_up(store, &fixture).await;
        let mexico = DebtorId("MX-0001".to_string());
        store.record_opt_out(&mexico, "voice", at(5, 10, 0)).await.unwrap();
        store.record_opt_out(&mexico, "sms", at(6, 10, 0)).await.unwrap();

        let view: DebtorView = store.debtor_view(&mexico).await.unwrap().unwrap();

        let debtor = Debtor {
            id: mexico.clone(),
            full_name: "María Fernanda López Ruiz".to_string(),
            phone: "+525550100001".to_string(),
            country: "MX".to_string(),
            region: "Ciudad de México".to_string(),
            locale: "es-MX".to_string(),
            time_zone: Tz::America__Mexico_City,
            national_id_last4: "1234".to_string(),
            birth_date: date("1986-04-12"),
            postal_code: "06700".to_string(),
            call_consent: true,
            authorised_channels: vec!["voice".to_string(), "sms".to_string()],
        };
        assert_eq!(view.debtor, debtor);

        let debt = |account_ref: &'static str, product: &str, balance: Money, days_past_due: u32| Debt {
            id: fixture.debts[account_ref],
            debtor_id: mexico.clone(),
            creditor: "Banco Aurora".to_string(),
            product: product.to_string(),
            account_ref: account_ref.to_string(),
            balance,
            days_past_due,
        };
        let debts = vec![
            debt("BA-PP-2", "préstamo personal", mxn(1200), 30),
            debt("BA-TC-1", "tarjeta de crédito", mxn(4500), 45),
        ];
        assert_eq!(view.debts, debts);

        let attempts: Vec<AttemptId> = view.attempts.iter().map(|call| call.attempt_id).collect();
        assert_eq!(attempts, [fixture.attempts[3], fixture.attempts[0]]);

        // Newest first by creation: the plan (3 Mar), then the two promises of 2 Mar.
        assert_eq!(row_ids(&view.promises), [promises.mx_plan, promises.mx_small, promises.mx_card]);
        let plan = &view.promises[0];
        assert_eq!((plan.amount, plan.installment, plan.status), (mxn(1200), None, PromiseStatus::Broken));
        assert_eq!(plan.follow_up_at, Some(at(11, 0, 0)));

        let opt_outs = vec![
            OptOutRow { channel: "sms".to_string(), at: at(6, 10, 0) },
            OptOutRow { channel: "voice".to_string(), at: at(5, 10, 0) },
        ];
        assert_eq!(view.opt_outs, opt_outs);

        let chile = store.debtor_view(&DebtorId("CL-0001".to_string())).await.unwrap().unwrap();
        assert_eq!(chile.debts.len(), 1);
        assert_eq!(chile.attempts.len(), 1);
        assert_eq!(row_ids(&chile.promises), [promises.cl]);
        assert_eq!(chile.opt_outs, Vec::<OptOutRow>::new());
    }

    pub async fn unknown_debtor_has_no_view(store: &impl Backend) {
        portfolio_with_calls(store).await;

        assert_eq!(store.debtor_view(&DebtorId("MX-9999".to_string())).await.unwrap(), None);
    }
}
