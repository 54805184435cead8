//! `GET /api/kpis`: bearer-token access, the same figures as `cobranza kpi`, and clear errors.

use std::sync::Arc;

use reqwest::StatusCode;
use serde_json::Value;

use cobranza::call::{event_bus, CallServices};
use cobranza::clock::Clock;
use cobranza::collections::import::parse_portfolio_bytes;
use cobranza::collections::model::DebtorId;
use cobranza::collections::sqlite::SqliteStore;
use cobranza::collections::{NewAttempt, Store};
use cobranza::config::Config;
use cobranza::demo::{SAMPLE_PORTFOLIO, SAMPLE_PORTFOLIO_NAME};
use cobranza::dialog::RuleInterpreter;
use cobranza::kpi::{report_with_compliance, KpiFilter, UsdRates};
use cobranza::server::{self, AppState, TwilioSettings};
use cobranza::speech::tts::espeak::EspeakTts;

mod support;

struct Api {
    base_url: String,
    store: Arc<SqliteStore>,
    _dir: tempfile::TempDir,
}

async fn start(api_token: Option<&str>) -> Api {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Arc::new(SqliteStore::open(&dir.path().join("cobranza.db")).await.expect("store opens"));
    let portfolio = parse_portfolio_bytes(SAMPLE_PORTFOLIO_NAME, SAMPLE_PORTFOLIO).expect("fixture parses");
    store.import_portfolio(&portfolio.rows).await.expect("fixture imports");
    let config = Arc::new(Config::embedded());
    let services = CallServices {
        store: store.clone(),
        stt: Arc::new(support::Deaf),
        tts: Arc::new(EspeakTts::new(config.speech.voice_es.clone(), config.speech.voice_en.clone())),
        interpreter: Arc::new(RuleInterpreter),
        clock: Clock::system(),
        config,
        data_dir: dir.path().to_path_buf(),
        bus: event_bus(),
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let base_url = format!("http://{}", listener.local_addr().expect("address"));
    let twilio =
        TwilioSettings { account_sid: "AC1".into(), auth_token: "token".into(), public_base_url: base_url.clone() };
    let state = AppState::with_api_token(services, twilio, api_token.map(str::to_string));
    tokio::spawn(server::serve(listener, state, std::future::pending()));
    Api { base_url, store, _dir: dir }
}

async fn get(api: &Api, query: &str, token: Option<&str>) -> (StatusCode, reqwest::header::HeaderMap, Value) {
    let client = reqwest::Client::builder().no_proxy().build().expect("client");
    let mut request = client.get(format!("{}/api/kpis{query}", api.base_url));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.expect("request sent");
    let status = response.status();
    let headers = response.headers().clone();
    (status, headers, response.json().await.expect("JSON body"))
}

#[tokio::test]
async fn right_token_gets_cli_figures() {
    let api = start(Some("s3cret")).await;
    let (status, _, body) = get(&api, "?from=2026-12-01&to=2026-12-31&country=MX", Some("s3cret")).await;
    assert_eq!(status, StatusCode::OK);
    let filter = KpiFilter {
        country: Some("MX".into()),
        ..KpiFilter::days(
            chrono::NaiveDate::from_ymd_opt(2026, 12, 1).expect("date"),
            chrono::NaiveDate::from_ymd_opt(2026, 12, 31).expect("date"),
        )
    };
    let rates = UsdRates::from_config(&Config::embedded());
    let policy = cobranza::policy::ContactPolicy::embedded().expect("compiled-in rules");
    let expected =
        report_with_compliance(api.store.as_ref(), &filter, None, &rates, &policy).await.expect("report");
    assert_eq!(body, serde_json::to_value(&expected).expect("serialises"));
    assert_eq!(body["country"], "MX");
}

#[tokio::test]
async fn missing_or_wrong_token_is_unauthorized() {
    let api = start(Some("s3cret")).await;
    for token in [None, Some("wrong"), Some("")] {
        let (status, headers, body) = get(&api, "", token).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{token:?}");
        assert_eq!(headers.get("www-authenticate").and_then(|v| v.to_str().ok()), Some("Bearer"));
        assert_eq!(body["error"], "missing or wrong bearer token");
    }
}

#[tokio::test]
async fn api_without_token_is_off() {
    let api = start(None).await;
    let (status, _, body) = get(&api, "", Some("anything")).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(body["error"], "the API is off: set COBRANZA_API_TOKEN and restart");
}

#[tokio::test]
async fn bad_dates_are_rejected() {
    let api = start(Some("s3cret")).await;
    let (status, _, body) = get(&api, "?from=12/01/2026", Some("s3cret")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "from=12/01/2026 is not a date: write it as YYYY-MM-DD");
    let (status, _, body) = get(&api, "?from=2026-12-05&to=2026-12-01", Some("s3cret")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "from=2026-12-05 is after to=2026-12-01: give the earlier day first");
}

#[tokio::test]
async fn filters_and_series_pass_through() {
    let api = start(Some("s3cret")).await;
    let query = "?from=2026-12-01&to=2026-12-02&campaign=spring&segment=%20&by=hour";
    let (status, _, body) = get(&api, query, Some("s3cret")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["campaign"], "spring");
    assert_eq!(body["segment"], Value::Null);
    assert_eq!(body["series"]["by"], "hour");
    assert_eq!(body["series"]["points"].as_array().map(Vec::len), Some(24));
    assert_eq!(body["kpis"]["dials"], 0);
}

#[tokio::test]
async fn unknown_series_is_rejected() {
    let api = start(Some("s3cret")).await;
    let (status, _, body) = get(&api, "?by=week", Some("s3cret")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "by=week is invalid: use day or hour");
}

#[tokio::test]
async fn metrics_carry_today_kpi_gauges() {
    let api = start(None).await;
    let account = api.store.account_by_debtor(&DebtorId("MX-0001".into())).await.expect("read").expect("debtor");
    let attempt = NewAttempt::outbound(&account, chrono::Utc::now());
    api.store.create_attempt(&attempt).await.expect("attempt");

    let client = reqwest::Client::builder().no_proxy().build().expect("client");
    let response = client.get(format!("{}/metrics", api.base_url)).send().await.expect("request sent");
    assert_eq!(response.status(), StatusCode::OK);
    let body = response.text().await.expect("body");
    assert!(body.contains("# TYPE cobranza_kpi_dials gauge\n"), "{body}");
    assert!(body.contains("\ncobranza_kpi_dials{country=\"MX\"} 1\n"), "{body}");
    assert!(body.contains("\ncobranza_kpi_connect_rate{country=\"MX\"} 0\n"), "{body}");
    assert!(!body.contains("cobranza_kpi_promise_to_pay_rate{"), "{body}");
    assert!(body.contains("# TYPE cobranza_active_calls gauge"), "{body}");
}
