//! Scripted text conversations: every `tests/conversations/*.conv` file runs through the same
//! code as `cobranza chat` (the real rule-based interpreter, dialog machine, policy,
//! jurisdiction files and an SQLite store with `fixtures/portfolio.csv` imported).
//!
//! # The `.conv` format
//!
//! A file is a header, a line `---`, then the conversation. Blank lines and lines starting with
//! `#` are ignored everywhere.
//!
//! Header lines are `key: value`:
//!
//! | key | meaning | default |
//! |---|---|---|
//! | `debtor` | a `debtor_id` of `fixtures/portfolio.csv` | required |
//! | `locale` | prompts and dialect, over the debtor's (`es-MX`, `en-US`, ...) | the debtor's |
//! | `today` | the debtor's local date of the call, `YYYY-MM-DD` | required |
//! | `time` | the debtor's local time of the call, `HH:MM` | `10:00` |
//! | `balance` | the balance for this call, a decimal with a dot (`4500.00`) | the portfolio's |
//! | `days_past_due` | days past due for this call: picks the policy stage | the portfolio's |
//! | `creditor` | the creditor for this call: picks the creditor's policy | the portfolio's |
//! | `transfer` | a number requests for a person are transferred to | none: a callback by a person |
//! | `store` | `fails` makes every outcome write fail | `works` |
//!
//! Conversation lines, in order:
//!
//! | line | meaning |
//! |---|---|
//! | `caller: TEXT` | the caller says TEXT; `caller: #1234` presses keys, `caller: ...` or `caller:` is silence |
//! | `event: NAME` | the session reports `answering_machine`, `max_duration` or `hangup` |
//! | `bot~ TEXT` | some phrase the bot said since the last caller line contains TEXT |
//! | `bot!~ TEXT` | no phrase the bot said since the last caller line contains TEXT |
//! | `never~ TEXT` | no phrase of the whole call contains TEXT (checked at the end) |
//! | `expect disposition NAME` | the call ended with this disposition (`promise_to_pay`, ...) |
//! | `expect promise AMOUNT CURRENCY DATE` | the stored promise, e.g. `expect promise 4500.00 MXN 2026-12-04` |
//! | `expect installments AMOUNT@DATE ...` | the stored promise's installments, e.g. `2000.00@2026-12-04 1250.00@2027-01-03` |
//! | `expect no promise` | no promise was stored |
//! | `expect verified` / `expect not verified` | whether the debtor's identity was verified |
//! | `expect opt_out CHANNEL` | a stop-contact request for CHANNEL was stored |
//! | `expect callback YYYY-MM-DD HH:MM` / `expect callback later` | a callback for this local time, or with none |
//! | `expect payment_claim DATE|none CHANNEL|none` | the claim's payment date and channel |
//! | `expect dispute` | a dispute was stored |
//! | `expect hardship person|noted` | a hardship referral, with or without a person's call |
//! | `expect transfer NUMBER` | the call was handed to NUMBER |
//!
//! Text checks ignore case. After the last line the caller hangs up if the bot did not end the
//! call. A failure names the file and line.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, Utc};

use cobranza::collections::history;
use cobranza::collections::import::{parse_portfolio_bytes, PortfolioRow};
use cobranza::collections::model::{
    Account, AttemptId, CallSid, DebtId, DebtorId, Disposition, PaymentClaim, Promise, PromiseId, TranscriptLine,
};
use cobranza::collections::sqlite::SqliteStore;
use cobranza::collections::store::ImportCounts;
use cobranza::collections::{Attempt, AttemptOutcome, NewAttempt, Store, StoreError, StoredPromise};
use cobranza::demo::{SAMPLE_PORTFOLIO, SAMPLE_PORTFOLIO_NAME};
use cobranza::dialog::chat::{AccountOverrides, ChatOutcome, ChatSession, ChatSetup};
use cobranza::dialog::{DialogSettings, Event, PolicyBook};
use cobranza::kpi::compliance::{CheckCounts, CheckScope, ComplianceFilter, ComplianceStore, LedgerCounts};
use cobranza::kpi::store::{KpiRow, KpiStatement, KpiStore};
use cobranza::policy::ContactPolicy;

/// A parsed `.conv` file.
struct Conversation {
    name: String,
    setup: ChatSetup,
    failing_store: bool,
    steps: Vec<(usize, Step)>,
}

enum Step {
    Caller(String),
    Event(Event),
    Said(String),
    NotSaid(String),
    Never(String),
    Expect(String),
}

fn parse(path: &Path) -> Result<Conversation, String> {
    let name = path.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default();
    let text = std::fs::read_to_string(path).map_err(|e| format!("{name}: {e}"))?;
    let mut lines = text.lines().enumerate().map(|(index, line)| (index + 1, line.trim()));
    let mut setup = ChatSetup {
        debtor: DebtorId(String::new()),
        locale: None,
        today: None,
        time_of_day: NaiveTime::from_hms_opt(10, 0, 0),
        agency: "Servicios Andinos".into(),
        bot_name: "Sofía".into(),
        settings: DialogSettings::default(),
        policy: PolicyBook::embedded().map_err(|e| e.to_string())?,
        jurisdictions_dir: Some(Path::new(env!("CARGO_MANIFEST_DIR")).join("config/jurisdictions")),
        overrides: AccountOverrides::default(),
        transfer_to: None,
    };
    let mut failing_store = false;

    for (number, line) in lines.by_ref() {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if line == "---" {
            break;
        }
        let invalid = |what: &str| format!("{name}:{number}: {what}: '{line}'");
        let (key, value) = line.split_once(':').ok_or_else(|| invalid("a header line is `key: value`"))?;
        let value = value.trim();
        match key.trim() {
            "debtor" => setup.debtor = DebtorId(value.to_string()),
            "locale" => setup.locale = Some(value.to_string()),
            "today" => {
                setup.today =
                    Some(NaiveDate::parse_from_str(value, "%Y-%m-%d").map_err(|_| invalid("date is YYYY-MM-DD"))?)
            }
            "time" => {
                setup.time_of_day =
                    Some(NaiveTime::parse_from_str(value, "%H:%M").map_err(|_| invalid("time is HH:MM"))?)
            }
            "balance" => setup.overrides.balance = Some(value.to_string()),
            "days_past_due" => {
                setup.overrides.days_past_due = Some(value.parse().map_err(|_| invalid("days_past_due is a number"))?)
            }
            "creditor" => setup.overrides.creditor = Some(value.to_string()),
            "transfer" => setup.transfer_to = Some(value.to_string()),
            "store" => failing_store = value == "fails",
            _ => return Err(invalid("unknown header key")),
        }
    }
    if setup.debtor.0.is_empty() || setup.today.is_none() {
        return Err(format!("{name}: the header needs `debtor:` and `today:`"));
    }

    let mut steps = Vec::new();
    for (number, line) in lines {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let step = if let Some(rest) = line.strip_prefix("caller:") {
            Step::Caller(rest.trim().to_string())
        } else if let Some(rest) = line.strip_prefix("event:") {
            Step::Event(match rest.trim() {
                "answering_machine" => Event::AnsweringMachine,
                "max_duration" => Event::MaxDurationReached,
                "hangup" => Event::CallerHungUp,
                other => return Err(format!("{name}:{number}: unknown event '{other}'")),
            })
        } else if let Some(rest) = line.strip_prefix("bot!~") {
            Step::NotSaid(rest.trim().to_lowercase())
        } else if let Some(rest) = line.strip_prefix("bot~") {
            Step::Said(rest.trim().to_lowercase())
        } else if let Some(rest) = line.strip_prefix("never~") {
            Step::Never(rest.trim().to_lowercase())
        } else if let Some(rest) = line.strip_prefix("expect ") {
            Step::Expect(rest.trim().to_string())
        } else {
            return Err(format!("{name}:{number}: unknown line '{line}'"));
        };
        steps.push((number, step));
    }
    Ok(Conversation { name, setup, failing_store, steps })
}

async fn sample_store() -> SqliteStore {
    let store = SqliteStore::in_memory().await.expect("in-memory store");
    let portfolio = parse_portfolio_bytes(SAMPLE_PORTFOLIO_NAME, SAMPLE_PORTFOLIO).expect("sample portfolio");
    store.import_portfolio(&portfolio.rows).await.expect("import");
    store
}

async fn run(conversation: Conversation) -> Result<(), String> {
    let name = conversation.name.clone();
    let sqlite = sample_store().await;
    let setup = conversation.setup;
    let store: Arc<dyn Store> = match conversation.failing_store {
        true => Arc::new(FailingWrites(sqlite)),
        false => Arc::new(sqlite),
    };
    let mut chat = ChatSession::open(store, setup).await.map_err(|e| format!("{name}: {e}"))?;

    let mut turn: Vec<String> = chat.start().await;
    let mut all = turn.clone();
    let mut expectations = Vec::new();
    let mut never = Vec::new();
    for (number, step) in conversation.steps {
        let at = format!("{name}:{number}");
        match step {
            Step::Caller(text) => {
                if chat.ended() {
                    return Err(format!("{at}: the bot already ended the call; its last phrases: {turn:?}"));
                }
                turn = chat.caller(&text).await;
                all.extend(turn.clone());
            }
            Step::Event(event) => {
                turn = chat.event(event).await;
                all.extend(turn.clone());
            }
            Step::Said(text) => {
                if !turn.iter().any(|said| said.to_lowercase().contains(&text)) {
                    return Err(format!("{at}: the bot did not say '{text}'; it said: {turn:?}"));
                }
            }
            Step::NotSaid(text) => {
                if let Some(said) = turn.iter().find(|said| said.to_lowercase().contains(&text)) {
                    return Err(format!("{at}: the bot said '{text}': {said}"));
                }
            }
            Step::Never(text) => never.push((at, text)),
            Step::Expect(expectation) => expectations.push((at, expectation)),
        }
    }
    for (at, text) in never {
        if let Some(said) = all.iter().find(|said| said.to_lowercase().contains(&text)) {
            return Err(format!("{at}: the bot said '{text}' in the call: {said}"));
        }
    }
    let verified = chat.machine().is_verified();
    let outcome = chat.finish().await.map_err(|e| format!("{name}: {e}"))?;
    for (at, expectation) in expectations {
        check(&at, &expectation, &outcome, verified)?;
    }
    Ok(())
}

fn check(at: &str, expectation: &str, outcome: &ChatOutcome, verified: bool) -> Result<(), String> {
    let words: Vec<&str> = expectation.split_whitespace().collect();
    let record = &outcome.record;
    let fail = |found: String| Err(format!("{at}: expected {expectation}, found {found}"));
    match words.as_slice() {
        ["disposition", name] => {
            let expected: Disposition = name.parse().map_err(|e: String| format!("{at}: {e}"))?;
            if outcome.disposition != expected {
                return fail(outcome.disposition.to_string());
            }
        }
        ["promise", amount, currency, date] => {
            let found = record.promise.as_ref().map(|p| (p.amount.to_string(), p.due_date.to_string()));
            if found != Some((format!("{amount} {currency}"), date.to_string())) || outcome.promise.is_none() {
                return fail(format!("{found:?} (stored: {})", outcome.promise.is_some()));
            }
        }
        ["installments", parts @ ..] => {
            let found: Vec<String> = record
                .promise
                .as_ref()
                .map(|p| {
                    p.installments.iter().map(|i| format!("{}@{}", i.amount.to_decimal_string(), i.due_date)).collect()
                })
                .unwrap_or_default();
            if found != *parts {
                return fail(found.join(" "));
            }
        }
        ["no", "promise"] => {
            if outcome.promise.is_some() {
                return fail(format!("{:?}", outcome.promise));
            }
        }
        ["verified"] if !verified => return fail("not verified".into()),
        ["not", "verified"] if verified => return fail("verified".into()),
        ["verified"] | ["not", "verified"] => {}
        ["opt_out", channel] => {
            if record.opt_out_channel.as_deref() != Some(*channel) {
                return fail(format!("{:?}", record.opt_out_channel));
            }
        }
        ["callback", "later"] => {
            if record.callback != Some(None) {
                return fail(format!("{:?}", record.callback));
            }
        }
        ["callback", date, time] => {
            let expected = NaiveDateTime::parse_from_str(&format!("{date} {time}"), "%Y-%m-%d %H:%M")
                .map_err(|_| format!("{at}: write the callback as YYYY-MM-DD HH:MM"))?;
            if record.callback != Some(Some(expected)) {
                return fail(format!("{:?}", record.callback));
            }
        }
        ["payment_claim", date, channel] => {
            let Some(claim) = &record.payment_claim else {
                return fail("no payment claim".into());
            };
            let found_date = claim.paid_on.map_or("none".to_string(), |d| d.to_string());
            let found_channel = claim.channel.clone().unwrap_or_else(|| "none".into());
            if found_date != *date || found_channel != *channel {
                return fail(format!("{found_date} {found_channel}"));
            }
        }
        ["dispute"] if !record.dispute => return fail("no dispute".into()),
        ["dispute"] => {}
        ["hardship", kind] => {
            let expected = match *kind {
                "person" => Some(true),
                "noted" => Some(false),
                _ => return Err(format!("{at}: hardship is `person` or `noted`")),
            };
            if record.hardship_person_callback != expected {
                return fail(format!("{:?}", record.hardship_person_callback));
            }
        }
        ["transfer", number] => {
            if record.transfer_to.as_deref() != Some(*number) {
                return fail(format!("{:?}", record.transfer_to));
            }
        }
        _ => return Err(format!("{at}: unknown expectation '{expectation}'")),
    }
    Ok(())
}

fn conversation_files() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/conversations");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("tests/conversations exists")
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .filter(|path| path.extension().is_some_and(|ext| ext == "conv"))
        .collect();
    files.sort();
    files
}

#[tokio::test]
async fn every_conversation_passes() {
    let files = conversation_files();
    assert!(files.len() >= 30, "only {} conversations", files.len());
    let mut failures = Vec::new();
    for path in &files {
        let result = match parse(path) {
            Ok(conversation) => run(conversation).await,
            Err(error) => Err(error),
        };
        if let Err(error) = result {
            failures.push(error);
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} conversations failed:\n{}",
        failures.len(),
        files.len(),
        failures.join("\n")
    );
}

/// The SQLite store with every outcome write failing, as a full disk would.
struct FailingWrites(SqliteStore);

fn disk_full() -> StoreError {
    StoreError::Corrupt("disk full".into())
}

#[async_trait]
impl ComplianceStore for FailingWrites {
    async fn compliance_counts(
        &self,
        policy: &ContactPolicy,
        filter: &ComplianceFilter,
    ) -> Result<LedgerCounts, StoreError> {
        self.0.compliance_counts(policy, filter).await
    }

    async fn check_compliance(&self, policy: &ContactPolicy, scope: CheckScope) -> Result<CheckCounts, StoreError> {
        self.0.check_compliance(policy, scope).await
    }
}

cobranza::delegate_campaign_store!(FailingWrites);

#[async_trait]
impl KpiStore for FailingWrites {
    async fn kpi_rows(&self, statement: &KpiStatement) -> Result<Vec<KpiRow>, StoreError> {
        self.0.kpi_rows(statement).await
    }
}

#[async_trait]
impl Store for FailingWrites {
    async fn import_portfolio(&self, rows: &[PortfolioRow]) -> Result<ImportCounts, StoreError> {
        self.0.import_portfolio(rows).await
    }
    async fn accounts(&self) -> Result<Vec<Account>, StoreError> {
        self.0.accounts().await
    }
    async fn account_by_debtor(&self, id: &DebtorId) -> Result<Option<Account>, StoreError> {
        self.0.account_by_debtor(id).await
    }
    async fn account_by_debt(&self, id: DebtId) -> Result<Option<Account>, StoreError> {
        self.0.account_by_debt(id).await
    }
    async fn account_by_phone(&self, phone: &str) -> Result<Option<Account>, StoreError> {
        self.0.account_by_phone(phone).await
    }
    async fn create_attempt(&self, attempt: &NewAttempt) -> Result<AttemptId, StoreError> {
        self.0.create_attempt(attempt).await
    }
    async fn attempt(&self, id: AttemptId) -> Result<Option<Attempt>, StoreError> {
        self.0.attempt(id).await
    }
    async fn set_call_sid(&self, id: AttemptId, sid: &CallSid) -> Result<(), StoreError> {
        self.0.set_call_sid(id, sid).await
    }
    async fn append_transcript(&self, id: AttemptId, line: &TranscriptLine) -> Result<(), StoreError> {
        self.0.append_transcript(id, line).await
    }
    async fn transcript(&self, id: AttemptId) -> Result<Vec<TranscriptLine>, StoreError> {
        self.0.transcript(id).await
    }
    async fn store_promise(
        &self,
        _id: AttemptId,
        _promise: &Promise,
        _at: DateTime<Utc>,
    ) -> Result<PromiseId, StoreError> {
        Err(disk_full())
    }
    async fn promises_for_attempt(&self, id: AttemptId) -> Result<Vec<StoredPromise>, StoreError> {
        self.0.promises_for_attempt(id).await
    }
    async fn record_payment_claim(
        &self,
        _id: AttemptId,
        _claim: &PaymentClaim,
        _at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        Err(disk_full())
    }
    async fn record_callback_request(
        &self,
        _id: AttemptId,
        _when: Option<DateTime<Utc>>,
        _at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        Err(disk_full())
    }
    async fn record_dispute(&self, _id: AttemptId, _at: DateTime<Utc>) -> Result<(), StoreError> {
        Err(disk_full())
    }
    async fn disputed(&self, debt: DebtId) -> Result<bool, StoreError> {
        self.0.disputed(debt).await
    }
    async fn record_hardship(&self, _id: AttemptId, _person: bool, _at: DateTime<Utc>) -> Result<(), StoreError> {
        Err(disk_full())
    }
    async fn record_opt_out(&self, _id: &DebtorId, _channel: &str, _at: DateTime<Utc>) -> Result<(), StoreError> {
        Err(disk_full())
    }
    async fn opted_out(&self, id: &DebtorId, channel: &str) -> Result<bool, StoreError> {
        self.0.opted_out(id, channel).await
    }
    async fn finish_attempt(&self, id: AttemptId, outcome: &AttemptOutcome) -> Result<(), StoreError> {
        self.0.finish_attempt(id, outcome).await
    }
    async fn attempt_costs(&self, id: AttemptId) -> Result<Vec<cobranza::cost::CostLine>, StoreError> {
        self.0.attempt_costs(id).await
    }
    async fn attempts_between(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> Result<Vec<Attempt>, StoreError> {
        self.0.attempts_between(from, to).await
    }
    async fn promises_between(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> Result<Vec<StoredPromise>, StoreError> {
        self.0.promises_between(from, to).await
    }
}

#[async_trait]
impl cobranza::scoring::store::ScoreStore for FailingWrites {
    async fn debt_histories(
        &self,
        as_of: chrono::NaiveDate,
        window_days: u32,
        debtor: Option<&DebtorId>,
    ) -> Result<Vec<cobranza::scoring::store::DebtHistory>, StoreError> {
        self.0.debt_histories(as_of, window_days, debtor).await
    }
    async fn save_model(&self, model: &cobranza::scoring::store::StoredModel) -> Result<(), StoreError> {
        self.0.save_model(model).await
    }
    async fn latest_model(&self) -> Result<Option<cobranza::scoring::store::StoredModel>, StoreError> {
        self.0.latest_model().await
    }
    async fn save_scores(&self, scores: &[cobranza::scoring::store::DebtorScore]) -> Result<(), StoreError> {
        self.0.save_scores(scores).await
    }
    async fn replace_all_scores(&self, scores: &[cobranza::scoring::store::DebtorScore]) -> Result<(), StoreError> {
        self.0.replace_all_scores(scores).await
    }
    async fn debtor_score(
        &self,
        debtor_id: &DebtorId,
    ) -> Result<Option<cobranza::scoring::store::DebtorScore>, StoreError> {
        self.0.debtor_score(debtor_id).await
    }
    async fn dial_queue(&self, limit: u32) -> Result<Vec<cobranza::scoring::store::DebtorScore>, StoreError> {
        self.0.dial_queue(limit).await
    }
}

cobranza::delegate_inbound_store!(FailingWrites);

/// History reads and writes go to SQLite unchanged.
#[async_trait]
impl history::HistoryStore for FailingWrites {
    async fn import_portfolio_as_of(
        &self,
        rows: &[PortfolioRow],
        as_of: chrono::NaiveDate,
    ) -> Result<ImportCounts, StoreError> {
        self.0.import_portfolio_as_of(rows, as_of).await
    }
    async fn debt_refs(&self) -> Result<Vec<history::DebtRef>, StoreError> {
        self.0.debt_refs().await
    }
    async fn payments_with_refs(&self, refs: &[String]) -> Result<Vec<history::StoredPayment>, StoreError> {
        self.0.payments_with_refs(refs).await
    }
    async fn insert_payments(&self, payments: &[history::Payment], at: DateTime<Utc>) -> Result<usize, StoreError> {
        self.0.insert_payments(payments, at).await
    }
    async fn payments_of_debt(&self, debt: DebtId) -> Result<Vec<history::Payment>, StoreError> {
        self.0.payments_of_debt(debt).await
    }
    async fn add_do_not_call(&self, entries: &[history::DoNotCallEntry]) -> Result<usize, StoreError> {
        self.0.add_do_not_call(entries).await
    }
    async fn on_do_not_call(&self, phone: &str) -> Result<bool, StoreError> {
        self.0.on_do_not_call(phone).await
    }
    async fn do_not_call_list(&self) -> Result<Vec<history::DoNotCallEntry>, StoreError> {
        self.0.do_not_call_list().await
    }
    async fn write_snapshots(&self, snapshots: &[history::DebtSnapshot]) -> Result<usize, StoreError> {
        self.0.write_snapshots(snapshots).await
    }
    async fn snapshots_as_of(&self, day: chrono::NaiveDate) -> Result<Vec<history::DebtSnapshot>, StoreError> {
        self.0.snapshots_as_of(day).await
    }
    async fn snapshots_between(
        &self,
        from: chrono::NaiveDate,
        to: chrono::NaiveDate,
    ) -> Result<Vec<history::DebtSnapshot>, StoreError> {
        self.0.snapshots_between(from, to).await
    }
    async fn insert_history_attempts(&self, attempts: &[history::HistoryAttempt]) -> Result<usize, StoreError> {
        self.0.insert_history_attempts(attempts).await
    }
    async fn attempts_with_call_sids(&self, sids: &[String]) -> Result<Vec<history::AttemptRef>, StoreError> {
        self.0.attempts_with_call_sids(sids).await
    }
    async fn insert_history_promises(&self, promises: &[history::HistoryPromise]) -> Result<usize, StoreError> {
        self.0.insert_history_promises(promises).await
    }
    async fn settle_promises(
        &self,
        scope: history::SettleScope<'_>,
        grace_days: u32,
        as_of: chrono::NaiveDate,
    ) -> Result<history::SettlementCounts, StoreError> {
        self.0.settle_promises(scope, grace_days, as_of).await
    }
    async fn promises_with_status(
        &self,
        status: history::PromiseStatus,
        from: chrono::NaiveDate,
        to: chrono::NaiveDate,
    ) -> Result<Vec<history::SettledPromise>, StoreError> {
        self.0.promises_with_status(status, from, to).await
    }
    async fn settled_promises_of_debt(&self, debt: DebtId) -> Result<Vec<history::SettledPromise>, StoreError> {
        self.0.settled_promises_of_debt(debt).await
    }
}
