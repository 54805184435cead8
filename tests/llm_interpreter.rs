//! The LLM interpreter against a fake OpenAI-compatible server on 127.0.0.1: the model's reading,
//! the checks on its slots and reply, and the fallback to the rule interpreter.

mod fake_llm;

use std::cell::RefCell;
use std::io;
use std::sync::{Arc, Mutex, Once};
use std::time::Duration;

use chrono::{NaiveDate, NaiveTime};
use serde_json::{json, Value};

use cobranza::collections::model::{Currency, Money};
use cobranza::dialog::nlu::{ConversationLine, Dialect, Expecting, InterpretContext, Interpretation, RuleInterpreter};
use cobranza::dialog::{AmountMention, Intent, Interpreter, Language};
use cobranza::llm::{ChatClient, ChatSettings, LlmInterpreter, LlmInterpreterSettings, Usage};
use fake_llm::{chunk, content, done, error_body, split_into_writes, usage, Ending, FakeLlm, Reply};

const API_KEY: &str = "sk-interpreter-test-42";
const PROMISE: &str = "le pago quinientos pesos el viernes";
/// Words in which the rules find no intent and no slot, so every slot comes from the model.
const VAGUE: &str = "pues mire lo que le comenté";

/// Wednesday 12 March 2025: the coming Friday is the 14th.
fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2025, 3, 12).unwrap()
}

fn date(day: u32, month: u32, year: i32) -> NaiveDate {
    NaiveDate::from_ymd_opt(year, month, day).unwrap()
}

fn ctx(expecting: Expecting) -> InterpretContext {
    InterpretContext {
        language: Language::Es,
        dialect: Dialect::Mexico,
        currency: Currency::Mxn,
        today: today(),
        expecting,
    }
}

fn rules(text: &str, ctx: &InterpretContext) -> Interpretation {
    RuleInterpreter.interpret_now(text, ctx)
}

/// Builds an interpreter whose API key is read from a variable unique to the test, so tests
/// running in parallel never share one.
fn interpreter(fake: &FakeLlm, variable: &str, deadline: Duration) -> LlmInterpreter {
    install_log_subscriber();
    std::env::set_var(variable, API_KEY);
    let chat = ChatSettings {
        base_url: fake.base_url.clone(),
        model: "fake-model".to_string(),
        api_key_variable: variable.to_string(),
        connect_timeout: Duration::from_secs(30),
        first_byte_timeout: Duration::from_secs(30),
        idle_timeout: Duration::from_secs(30),
    };
    let client = ChatClient::new(chat).expect("client");
    LlmInterpreter::new(client, LlmInterpreterSettings { deadline, ..LlmInterpreterSettings::default() })
}

fn events(writes: Vec<Vec<u8>>) -> Reply {
    Reply::Events { writes, ending: Ending::Close }
}

fn tool_fragment(index: Option<u64>, id: Option<&str>, name: Option<&str>, arguments: &str) -> Value {
    let mut fragment = json!({ "function": { "arguments": arguments } });
    if let Some(index) = index {
        fragment["index"] = json!(index);
    }
    if let Some(id) = id {
        fragment["id"] = json!(id);
        fragment["type"] = json!("function");
    }
    if let Some(name) = name {
        fragment["function"]["name"] = json!(name);
    }
    json!({ "tool_calls": [fragment] })
}

/// Builds a reply with one complete `report_interpretation` call carrying `arguments`.
fn tool_reply(arguments: Value) -> Reply {
    let fragment = tool_fragment(Some(0), Some("call_1"), Some("report_interpretation"), &arguments.to_string());
    events(vec![chunk(fragment, Some("tool_calls")), usage(300, 20), done()])
}

thread_local! {
    /// The buffer of the [`LogCapture`] running on this thread, if any.
    static THREAD_LOG: RefCell<Option<Arc<Mutex<Vec<u8>>>>> = const { RefCell::new(None) };
}

/// Writes a log line into the current thread's [`LogCapture`], or drops it when none runs.
struct ThreadLogWriter;

impl io::Write for ThreadLogWriter {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        THREAD_LOG.with(|log| {
            if let Some(buffer) = log.borrow().as_ref() {
                buffer.lock().unwrap().extend_from_slice(bytes);
            }
        });
        Ok(bytes.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Installs one process-wide subscriber at DEBUG that writes through [`ThreadLogWriter`].
///
/// A per-test `tracing::subscriber::set_default` loses events when tests run in parallel,
/// because tracing caches whether a callsite is enabled across all threads. Every test calls
/// this before anything logs, so every callsite is registered with this subscriber in place.
fn install_log_subscriber() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        let subscriber = tracing_subscriber::fmt()
            .with_writer(|| ThreadLogWriter)
            .with_ansi(false)
            .with_max_level(tracing::Level::DEBUG)
            .finish();
        tracing::subscriber::set_global_default(subscriber).expect("no other global subscriber in this test binary");
    });
}

/// Collects the log lines written on this thread until it is dropped. With tokio's
/// current-thread runtime, that includes the fake server's task.
struct LogCapture {
    buffer: Arc<Mutex<Vec<u8>>>,
}

impl Drop for LogCapture {
    fn drop(&mut self) {
        THREAD_LOG.with(|log| log.borrow_mut().take());
    }
}

impl LogCapture {
    fn start() -> LogCapture {
        install_log_subscriber();
        let buffer = Arc::new(Mutex::new(Vec::new()));
        THREAD_LOG.with(|log| *log.borrow_mut() = Some(buffer.clone()));
        LogCapture { buffer }
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.buffer.lock().unwrap()).into_owned()
    }

    /// Returns the warnings the interpreter logged when it fell back to the rules.
    fn fallbacks(&self) -> Vec<String> {
        let text = self.text();
        let warnings = text.lines().filter(|line| line.contains(" WARN "));
        warnings.filter(|line| line.contains("LLM interpretation failed")).map(str::to_string).collect()
    }
}

#[tokio::test(flavor = "current_thread")]
async fn promise_split_over_chunks_is_read() {
    let arguments = json!({
        "intent": "promise_to_pay",
        "amount": 500,
        "amount_kind": "exact",
        "date": "2025-03-14",
        "installments": null,
        "time": null,
        "language": "es",
        "reply": null,
    })
    .to_string();
    let (head, tail) = arguments.split_at(arguments.len() / 2);
    let script = vec![
        chunk(json!({ "role": "assistant", "content": null }), None),
        chunk(tool_fragment(Some(0), Some("call_1"), Some("report_interpretation"), ""), None),
        chunk(tool_fragment(Some(0), None, None, head), None),
        chunk(tool_fragment(Some(0), None, None, tail), None),
        chunk(json!({}), Some("tool_calls")),
        usage(310, 41),
        done(),
    ];
    let fake = FakeLlm::start(API_KEY, vec![events(split_into_writes(&script, 9))]).await;
    let interpreter = interpreter(&fake, "LLM_INTERPRETER_KEY_SPLIT", Duration::from_secs(5));
    let logs = LogCapture::start();

    let reading = interpreter.interpret(PROMISE, &ctx(Expecting::PaymentOffer)).await;

    assert_eq!(reading.intent, Intent::PromiseToPay);
    assert_eq!(reading.amount, Some(AmountMention::Exact(Money::new(50_000, Currency::Mxn))));
    assert_eq!(reading.date, Some(date(14, 3, 2025)));
    assert_eq!(reading.installments, None);
    assert_eq!(reading.digits, None);
    assert_eq!(reading.time, None);
    assert_eq!(reading.reply, None);
    assert_eq!(fake.requests().len(), 1);
    assert_eq!(logs.fallbacks(), Vec::<String>::new());
}

#[tokio::test]
async fn model_fills_slots_rules_left_empty() {
    let arguments = json!({
        "intent": "promise_to_pay",
        "amount": 1250.5,
        "amount_kind": "exact",
        "date": "2025-03-20",
        "installments": 3,
        "time": "18:30",
        "language": "es",
        "reply": null,
    });
    let fake = FakeLlm::start(API_KEY, vec![tool_reply(arguments)]).await;
    let interpreter = interpreter(&fake, "LLM_INTERPRETER_KEY_FILL", Duration::from_secs(5));
    let ctx = ctx(Expecting::Other);
    let by_rules = rules(VAGUE, &ctx);
    assert_eq!(by_rules.intent, Intent::Unknown, "precondition: the rules read no intent");
    assert_eq!(by_rules.amount, None, "precondition: the rules read no amount");

    let reading = interpreter.interpret(VAGUE, &ctx).await;

    assert_eq!(
        reading,
        Interpretation {
            intent: Intent::PromiseToPay,
            amount: Some(AmountMention::Exact(Money::new(125_050, Currency::Mxn))),
            date: Some(date(20, 3, 2025)),
            installments: Some(3),
            digits: None,
            time: Some(NaiveTime::from_hms_opt(18, 30, 0).unwrap()),
            language: Some(Language::Es),
            reply: None,
        }
    );
}

#[tokio::test]
async fn rules_slots_win_over_model_slots() {
    let arguments = json!({
        "intent": "negotiate",
        "amount": 700,
        "amount_kind": "exact",
        "date": "2025-03-21",
    });
    let fake = FakeLlm::start(API_KEY, vec![tool_reply(arguments)]).await;
    let interpreter = interpreter(&fake, "LLM_INTERPRETER_KEY_RULES_WIN", Duration::from_secs(5));
    let ctx = ctx(Expecting::PaymentOffer);
    let by_rules = rules(PROMISE, &ctx);
    assert_eq!(by_rules.amount, Some(AmountMention::Exact(Money::new(50_000, Currency::Mxn))), "precondition");
    assert_eq!(by_rules.date, Some(date(14, 3, 2025)), "precondition");

    let reading = interpreter.interpret(PROMISE, &ctx).await;

    assert_eq!(reading.intent, Intent::Negotiate);
    assert_eq!(reading.amount, Some(AmountMention::Exact(Money::new(50_000, Currency::Mxn))));
    assert_eq!(reading.date, Some(date(14, 3, 2025)));
}

#[tokio::test]
async fn option_key_digits_come_from_rules() {
    let fake = FakeLlm::start(API_KEY, vec![tool_reply(json!({ "intent": "affirm" }))]).await;
    let interpreter = interpreter(&fake, "LLM_INTERPRETER_KEY_OPTION", Duration::from_secs(5));
    let ctx = ctx(Expecting::PromiseConfirmation);
    assert_eq!(rules("uno", &ctx).digits.as_deref(), Some("1"), "precondition: the rules read the key");

    let reading = interpreter.interpret("uno", &ctx).await;

    assert_eq!(reading.intent, Intent::Affirm);
    assert_eq!(reading.digits.as_deref(), Some("1"));
}

#[tokio::test]
async fn server_without_index_is_read() {
    let script = vec![
        chunk(tool_fragment(None, Some("call_9"), Some("report_interpretation"), "{\"intent\":"), None),
        chunk(tool_fragment(None, None, None, "\"dispute\",\"amount\":null}"), None),
        chunk(json!({}), Some("tool_calls")),
        done(),
    ];
    let fake = FakeLlm::start(API_KEY, vec![events(split_into_writes(&script, 13))]).await;
    let interpreter = interpreter(&fake, "LLM_INTERPRETER_KEY_NO_INDEX", Duration::from_secs(5));

    let reading = interpreter.interpret(VAGUE, &ctx(Expecting::Other)).await;

    assert_eq!(reading.intent, Intent::Dispute);
    assert_eq!(reading.amount, None);
}

#[tokio::test(flavor = "current_thread")]
async fn rate_limit_falls_back_to_rules_once() {
    let reply =
        Reply::Status { status: 429, retry_after: Some(20), body: error_body("Rate limit reached", "requests") };
    let fake = FakeLlm::start(API_KEY, vec![reply]).await;
    let interpreter = interpreter(&fake, "LLM_INTERPRETER_KEY_429", Duration::from_secs(5));
    let ctx = ctx(Expecting::PaymentOffer);
    let logs = LogCapture::start();

    let reading = interpreter.interpret(PROMISE, &ctx).await;

    assert_eq!(reading, rules(PROMISE, &ctx));
    assert_eq!(fake.requests().len(), 1);
    let fallbacks = logs.fallbacks();
    assert_eq!(fallbacks.len(), 1, "{fallbacks:?}");
    assert!(
        fallbacks[0].contains("LLM server returned HTTP 429: Rate limit reached (retry after 20 s)"),
        "{fallbacks:?}"
    );
    assert!(!logs.text().contains("quinientos"), "the caller's words were logged");
    assert!(!logs.text().contains(API_KEY), "the API key was logged");
}

#[tokio::test]
async fn server_error_falls_back_to_rules_once() {
    let reply =
        Reply::Status { status: 500, retry_after: None, body: error_body("The server had an error", "server_error") };
    let fake = FakeLlm::start(API_KEY, vec![reply]).await;
    let interpreter = interpreter(&fake, "LLM_INTERPRETER_KEY_500", Duration::from_secs(5));
    let ctx = ctx(Expecting::PaymentOffer);

    let reading = interpreter.interpret(PROMISE, &ctx).await;

    assert_eq!(reading, rules(PROMISE, &ctx));
    assert_eq!(fake.requests().len(), 1);
}

#[tokio::test(flavor = "current_thread")]
async fn malformed_chunk_falls_back_without_logging_it() {
    let script = vec![
        chunk(tool_fragment(Some(0), Some("call_1"), Some("report_interpretation"), "{\"intent\":"), None),
        b"data: {\"choices\": [{\"delta\": \"quinientos\n\n".to_vec(),
        done(),
    ];
    let fake = FakeLlm::start(API_KEY, vec![events(script)]).await;
    let interpreter = interpreter(&fake, "LLM_INTERPRETER_KEY_MALFORMED", Duration::from_secs(5));
    let ctx = ctx(Expecting::PaymentOffer);
    let logs = LogCapture::start();

    let reading = interpreter.interpret(PROMISE, &ctx).await;

    assert_eq!(reading, rules(PROMISE, &ctx));
    let fallbacks = logs.fallbacks();
    assert_eq!(fallbacks.len(), 1, "{fallbacks:?}");
    assert!(fallbacks[0].contains("LLM server sent a malformed chunk ("), "{fallbacks:?}");
    assert!(!fallbacks[0].contains("quinientos"), "the malformed line was logged: {fallbacks:?}");
}

// The deadline runs on the paused clock: tokio moves time forward whenever every task waits, so
// the fake's hour-long delay ends the request at the 2.5 s deadline without a real wait.
#[tokio::test(start_paused = true)]
async fn slow_first_byte_hits_deadline() {
    let reply = Reply::Delayed {
        delay: Duration::from_secs(3600),
        reply: Box::new(tool_reply(json!({ "intent": "hardship" }))),
    };
    let fake = FakeLlm::start(API_KEY, vec![reply]).await;
    let interpreter = interpreter(&fake, "LLM_INTERPRETER_KEY_SLOW", Duration::from_millis(2500));
    let ctx = ctx(Expecting::PaymentOffer);
    let logs = LogCapture::start();

    let reading = interpreter.interpret(PROMISE, &ctx).await;

    assert_eq!(reading, rules(PROMISE, &ctx));
    let fallbacks = logs.fallbacks();
    assert_eq!(fallbacks.len(), 1, "{fallbacks:?}");
    assert!(fallbacks[0].contains("did not complete within the deadline of 2.5s"), "{fallbacks:?}");
}

#[tokio::test]
async fn dropped_connection_falls_back_to_rules() {
    let script = vec![chunk(tool_fragment(Some(0), Some("call_1"), Some("report_interpretation"), "{\"int"), None)];
    let fake = FakeLlm::start(API_KEY, vec![Reply::Events { writes: script, ending: Ending::Abort }]).await;
    let interpreter = interpreter(&fake, "LLM_INTERPRETER_KEY_DROP", Duration::from_secs(5));
    let ctx = ctx(Expecting::PaymentOffer);

    let reading = interpreter.interpret(PROMISE, &ctx).await;

    assert_eq!(reading, rules(PROMISE, &ctx));
    assert_eq!(fake.requests().len(), 1);
}

#[tokio::test]
async fn reply_without_tool_call_falls_back() {
    let fake = FakeLlm::start(API_KEY, vec![events(vec![content("Claro, con gusto."), done()])]).await;
    let interpreter = interpreter(&fake, "LLM_INTERPRETER_KEY_NO_CALL", Duration::from_secs(5));
    let ctx = ctx(Expecting::PaymentOffer);

    let reading = interpreter.interpret(PROMISE, &ctx).await;

    assert_eq!(reading, rules(PROMISE, &ctx));
}

#[tokio::test]
async fn invalid_arguments_fall_back_to_rules() {
    let cases = [
        ("unknown intent", json!({ "intent": "pay_later" })),
        ("missing intent", json!({ "amount": 500 })),
        ("intent not a string", json!({ "intent": 4 })),
        ("amount as a string", json!({ "intent": "promise_to_pay", "amount": "500" })),
        ("amount kind outside the enum", json!({ "intent": "promise_to_pay", "amount_kind": "partial" })),
        ("language outside the enum", json!({ "intent": "greeting", "language": "pt" })),
        ("date as a number", json!({ "intent": "promise_to_pay", "date": 20250314 })),
        ("arguments not an object", json!(["promise_to_pay"])),
    ];
    let replies = cases.iter().map(|(_, arguments)| tool_reply(arguments.clone())).collect();
    let fake = FakeLlm::start(API_KEY, replies).await;
    let interpreter = interpreter(&fake, "LLM_INTERPRETER_KEY_INVALID", Duration::from_secs(5));
    let ctx = ctx(Expecting::PaymentOffer);

    for (case, _) in &cases {
        let reading = interpreter.interpret(PROMISE, &ctx).await;

        assert_eq!(reading, rules(PROMISE, &ctx), "case: {case}");
    }
    assert_eq!(fake.requests().len(), cases.len());
}

#[tokio::test]
async fn identity_states_send_no_request() {
    let fake = FakeLlm::start(API_KEY, vec![]).await;
    let interpreter = interpreter(&fake, "LLM_INTERPRETER_KEY_IDENTITY", Duration::from_secs(5));
    let digits_ctx = ctx(Expecting::VerificationDigits);
    let birth_ctx = ctx(Expecting::BirthDate);

    let digits = interpreter.interpret("cuatro cinco seis siete", &digits_ctx).await;
    let birth = interpreter.interpret("quince de marzo del ochenta y cinco", &birth_ctx).await;

    assert_eq!(digits, rules("cuatro cinco seis siete", &digits_ctx));
    assert_eq!(digits.digits.as_deref(), Some("4567"));
    assert_eq!(birth, rules("quince de marzo del ochenta y cinco", &birth_ctx));
    assert_eq!(birth.date, Some(date(15, 3, 1985)));
    assert_eq!(fake.requests(), Vec::<Value>::new());
}

#[tokio::test]
async fn model_dates_outside_range_are_dropped() {
    // (case, intent, expecting, model date, expected date)
    let cases = [
        ("promise before today", "promise_to_pay", Expecting::PaymentOffer, "2025-03-10", None),
        ("promise today", "promise_to_pay", Expecting::PaymentOffer, "2025-03-12", Some(date(12, 3, 2025))),
        ("promise 366 days ahead", "promise_to_pay", Expecting::PaymentOffer, "2026-03-13", Some(date(13, 3, 2026))),
        ("promise 367 days ahead", "promise_to_pay", Expecting::PaymentOffer, "2026-03-14", None),
        ("callback before today", "callback_request", Expecting::CallbackTime, "2025-03-11", None),
        ("paid before today", "already_paid", Expecting::Other, "2025-03-01", Some(date(1, 3, 2025))),
        ("paid after today", "already_paid", Expecting::Other, "2025-03-13", None),
        ("payment details after today", "affirm", Expecting::PaymentDetails, "2025-03-13", None),
        ("not a calendar date", "promise_to_pay", Expecting::PaymentOffer, "2025-02-30", None),
        ("not in ISO form", "promise_to_pay", Expecting::PaymentOffer, "14/03/2025", None),
    ];
    let replies =
        cases.iter().map(|(_, intent, _, day, _)| tool_reply(json!({ "intent": intent, "date": day }))).collect();
    let fake = FakeLlm::start(API_KEY, replies).await;
    let interpreter = interpreter(&fake, "LLM_INTERPRETER_KEY_DATES", Duration::from_secs(5));

    for (case, intent, expecting, _, expected) in cases {
        let reading = interpreter.interpret(VAGUE, &ctx(expecting)).await;

        assert_eq!(reading.intent.as_str(), intent, "case: {case}");
        assert_eq!(reading.date, expected, "case: {case}");
    }
}

#[tokio::test]
async fn model_amounts_are_checked_and_converted() {
    // (case, currency, arguments, expected amount)
    let cases = [
        ("zero", Currency::Mxn, json!({ "amount": 0 }), None),
        ("negative", Currency::Mxn, json!({ "amount": -50 }), None),
        (
            "at the cap",
            Currency::Mxn,
            json!({ "amount": 10_000_000 }),
            Some(AmountMention::Exact(Money::new(1_000_000_000, Currency::Mxn))),
        ),
        ("over the cap", Currency::Mxn, json!({ "amount": 10_000_000.01 }), None),
        ("finer than a centavo", Currency::Mxn, json!({ "amount": 10.005 }), None),
        (
            "cents",
            Currency::Usd,
            json!({ "amount": 19.99 }),
            Some(AmountMention::Exact(Money::new(1_999, Currency::Usd))),
        ),
        (
            "no minor unit",
            Currency::Clp,
            json!({ "amount": 15000 }),
            Some(AmountMention::Exact(Money::new(15_000, Currency::Clp))),
        ),
        ("fraction of a Chilean peso", Currency::Clp, json!({ "amount": 150.5 }), None),
        ("whole balance", Currency::Mxn, json!({ "amount_kind": "full_balance" }), Some(AmountMention::FullBalance)),
        ("half", Currency::Mxn, json!({ "amount_kind": "half", "amount": 12 }), Some(AmountMention::Half)),
        ("exact without a number", Currency::Mxn, json!({ "amount_kind": "exact" }), None),
    ];
    let replies = cases
        .iter()
        .map(|(_, _, arguments, _)| {
            let mut arguments = arguments.clone();
            arguments["intent"] = json!("promise_to_pay");
            tool_reply(arguments)
        })
        .collect();
    let fake = FakeLlm::start(API_KEY, replies).await;
    let interpreter = interpreter(&fake, "LLM_INTERPRETER_KEY_AMOUNTS", Duration::from_secs(5));

    for (case, currency, _, expected) in cases {
        let ctx = InterpretContext { currency, ..ctx(Expecting::Other) };

        let reading = interpreter.interpret(VAGUE, &ctx).await;

        assert_eq!(reading.intent, Intent::PromiseToPay, "case: {case}");
        assert_eq!(reading.amount, expected, "case: {case}");
    }
}

#[tokio::test]
async fn model_counts_and_times_are_checked() {
    // (case, arguments, expected installments, expected time)
    let cases = [
        ("one installment", json!({ "installments": 1 }), Some(1), None),
        ("sixty installments", json!({ "installments": 60 }), Some(60), None),
        ("zero installments", json!({ "installments": 0 }), None, None),
        ("sixty-one installments", json!({ "installments": 61 }), None, None),
        ("fractional installments", json!({ "installments": 2.5 }), None, None),
        ("evening time", json!({ "time": "19:05" }), None, NaiveTime::from_hms_opt(19, 5, 0)),
        ("one-digit hour", json!({ "time": "9:30" }), None, NaiveTime::from_hms_opt(9, 30, 0)),
        ("hour past 23", json!({ "time": "25:00" }), None, None),
        ("time with seconds", json!({ "time": "10:00:00" }), None, None),
        ("time in words", json!({ "time": "tarde" }), None, None),
    ];
    let replies = cases
        .iter()
        .map(|(_, arguments, _, _)| {
            let mut arguments = arguments.clone();
            arguments["intent"] = json!("callback_request");
            tool_reply(arguments)
        })
        .collect();
    let fake = FakeLlm::start(API_KEY, replies).await;
    let interpreter = interpreter(&fake, "LLM_INTERPRETER_KEY_COUNTS", Duration::from_secs(5));

    for (case, _, installments, time) in cases {
        let reading = interpreter.interpret(VAGUE, &ctx(Expecting::Other)).await;

        assert_eq!(reading.intent, Intent::CallbackRequest, "case: {case}");
        assert_eq!(reading.installments, installments, "case: {case}");
        assert_eq!(reading.time, time, "case: {case}");
    }
}

#[tokio::test]
async fn replies_with_figures_are_dropped() {
    let long = "Sí, le atiende un asistente virtual. ".repeat(7);
    // (case, model reply, expected reply)
    let cases = [
        ("clean", "Sí, le atiende un asistente virtual.".to_string(), Some("Sí, le atiende un asistente virtual.")),
        ("digit", "Puede pagar en 3 partes.".to_string(), None),
        ("dollar sign", "Le descontamos $ de su saldo.".to_string(), None),
        ("percent sign", "Tiene un descuento del cuarenta %.".to_string(), None),
        ("euro sign", "Son cien €.".to_string(), None),
        ("longer than 240 characters", long, None),
        ("blank", "   ".to_string(), None),
    ];
    let replies =
        cases.iter().map(|(_, reply, _)| tool_reply(json!({ "intent": "unknown", "reply": reply }))).collect();
    let fake = FakeLlm::start(API_KEY, replies).await;
    let interpreter = interpreter(&fake, "LLM_INTERPRETER_KEY_REPLIES", Duration::from_secs(5));

    for (case, _, expected) in &cases {
        let reading = interpreter.interpret("¿usted es un robot?", &ctx(Expecting::Other)).await;

        assert_eq!(reading.reply.as_deref(), *expected, "case: {case}");
    }
}

#[tokio::test]
async fn request_body_carries_tool_and_history() {
    let fake = FakeLlm::start(API_KEY, vec![tool_reply(json!({ "intent": "promise_to_pay" }))]).await;
    let interpreter = interpreter(&fake, "LLM_INTERPRETER_KEY_BODY", Duration::from_secs(5));
    let history: Vec<ConversationLine> =
        (1..=8).map(|number| ConversationLine { bot: number % 2 == 1, text: format!("line {number}") }).collect();

    interpreter.interpret_turn(PROMISE, &ctx(Expecting::PaymentOffer), &history).await;

    let requests = fake.requests();
    assert_eq!(requests.len(), 1);
    let body = &requests[0];
    assert_eq!(body["model"], json!("fake-model"));
    assert_eq!(body["tools"][0]["function"]["name"], json!("report_interpretation"));
    assert_eq!(body["tool_choice"], json!({ "type": "function", "function": { "name": "report_interpretation" } }));

    let messages = body["messages"].as_array().expect("messages");
    let roles: Vec<&str> = messages.iter().map(|message| message["role"].as_str().unwrap()).collect();
    assert_eq!(roles, ["system", "assistant", "user", "assistant", "user", "assistant", "user", "user"]);
    let texts: Vec<&str> = messages[1..].iter().map(|message| message["content"].as_str().unwrap()).collect();
    assert_eq!(texts, ["line 3", "line 4", "line 5", "line 6", "line 7", "line 8", PROMISE]);

    let system = messages[0]["content"].as_str().expect("system prompt");
    assert!(system.contains("Today's date at the debtor's location: 2025-03-12 (Wednesday)"), "{system}");
    assert!(system.contains("The bot's last question: how much the caller can pay and on what date"), "{system}");
    assert!(system.contains("Currency of the debt: MXN"), "{system}");
    assert!(system.contains("Debtor's country: Mexico"), "{system}");
    assert!(system.contains("Language of the call: Spanish (es)"), "{system}");
    assert!(!system.contains('{'), "a placeholder was left unfilled: {system}");
    for intent in Intent::ALL {
        assert!(system.contains(&format!("`{}`", intent.as_str())), "the prompt omits {}", intent.as_str());
    }

    let schema = &body["tools"][0]["function"]["parameters"];
    let intents: Vec<&str> = Intent::ALL.iter().map(|intent| intent.as_str()).collect();
    assert_eq!(schema["properties"]["intent"]["enum"], json!(intents));
    assert_eq!(schema["required"], json!(["intent"]));
}

#[tokio::test]
async fn usage_observer_gets_token_counts() {
    let replies = vec![
        tool_reply(json!({ "intent": "goodbye" })),
        // A rejected tool call still cost tokens, so its usage is reported too.
        tool_reply(json!({ "intent": "see_you" })),
        Reply::Status { status: 500, retry_after: None, body: error_body("overloaded", "server_error") },
    ];
    let fake = FakeLlm::start(API_KEY, replies).await;
    let seen = Arc::new(Mutex::new(Vec::new()));
    let observer_seen = seen.clone();
    let interpreter = interpreter(&fake, "LLM_INTERPRETER_KEY_USAGE", Duration::from_secs(5))
        .with_usage_observer(Arc::new(move |usage: &Usage| observer_seen.lock().unwrap().push(*usage)));

    for _ in 0..3 {
        interpreter.interpret("adiós", &ctx(Expecting::Other)).await;
    }

    let usage = Usage { prompt_tokens: 300, completion_tokens: 20 };
    assert_eq!(*seen.lock().unwrap(), vec![usage, usage]);
    assert_eq!(fake.requests().len(), 3);
}
