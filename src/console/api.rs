//! The console's JSON endpoints. Reads need a session; changes need the session's CSRF token and
//! a role that may act; auditors see every name, phone and identity field masked.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::NaiveDate;
use serde::Deserialize;
use serde_json::{json, Value};

use super::auth::{audit, console, store_unavailable, Actor, Viewer};
use super::store::{CallQuery, CallRow, PromiseRow, PromiseView};
use crate::api::{error, KpiQuery};
use crate::call::{initials, phone_tail};
use crate::campaign::store::CampaignStatus;
use crate::collections::model::{AttemptId, CallSid, DebtorId, Disposition};
use crate::server::AppState;
use crate::telephony::Inbound;

/// The maximum number of rows one history request returns.
const MAX_ROWS: u32 = 500;
/// The longest KPI range the console reports, so one request cannot hold the server for long.
const MAX_KPI_DAYS: i64 = 400;

/// `GET /console/api/live`: the board as it is now.
pub(super) async fn live(State(state): State<Arc<AppState>>, _viewer: Viewer) -> Response {
    let console = match console(&state) {
        Ok(console) => console,
        Err(response) => return response,
    };
    let (version, calls) = console.board.snapshot();
    Json(json!({ "version": version, "calls": calls })).into_response()
}

#[derive(Debug, Deserialize)]
pub(super) struct HistoryQuery {
    debtor: Option<String>,
    phone: Option<String>,
    from: Option<String>,
    to: Option<String>,
    campaign: Option<String>,
    disposition: Option<String>,
    limit: Option<u32>,
}

fn non_empty(text: &Option<String>) -> Option<String> {
    text.as_deref().map(str::trim).filter(|text| !text.is_empty()).map(str::to_string)
}

fn parse_day(name: &str, text: &Option<String>) -> Result<Option<NaiveDate>, Response> {
    match non_empty(text) {
        None => Ok(None),
        Some(text) => NaiveDate::parse_from_str(&text, "%Y-%m-%d").map(Some).map_err(|_| {
            error(StatusCode::BAD_REQUEST, &format!("{name}={text} is not a date: write it as YYYY-MM-DD"))
        }),
    }
}

/// `GET /console/api/calls`: finished and running calls by debtor, phone, dates, campaign and
/// disposition, newest first.
pub(super) async fn search_calls(
    State(state): State<Arc<AppState>>,
    viewer: Viewer,
    Query(query): Query<HistoryQuery>,
) -> Response {
    let console = match console(&state) {
        Ok(console) => console,
        Err(response) => return response,
    };
    let (from, to) = match (parse_day("from", &query.from), parse_day("to", &query.to)) {
        (Ok(from), Ok(to)) => (from, to),
        (Err(response), _) | (_, Err(response)) => return response,
    };
    let disposition = match non_empty(&query.disposition) {
        None => None,
        Some(name) => match name.parse::<Disposition>() {
            Ok(disposition) => Some(disposition),
            Err(_) => return error(StatusCode::BAD_REQUEST, &format!("disposition '{name}' is unknown")),
        },
    };
    if viewer.is_auditor() && non_empty(&query.phone).is_some() {
        // The last digits shown to auditors would let them guess the rest one digit at a time.
        return error(StatusCode::FORBIDDEN, "auditors cannot search calls by phone number");
    }
    if non_empty(&query.phone).is_some_and(|phone| !phone.chars().any(|c| c.is_ascii_digit())) {
        return error(StatusCode::BAD_REQUEST, "phone must contain digits, e.g. 5512345678");
    }
    let start_of = |day: NaiveDate| day.and_hms_opt(0, 0, 0).expect("midnight exists").and_utc();
    let search = CallQuery {
        debtor_id: non_empty(&query.debtor).map(DebtorId),
        phone: non_empty(&query.phone).map(|phone| phone.chars().filter(char::is_ascii_digit).collect()),
        from: from.map(start_of),
        to: to.map(|day| start_of(day) + chrono::Duration::days(1)),
        campaign: non_empty(&query.campaign),
        disposition,
        limit: query.limit.unwrap_or(MAX_ROWS).clamp(1, MAX_ROWS),
    };
    match console.store.search_calls(&search).await {
        Ok(rows) => {
            let calls: Vec<Value> = rows.iter().map(|row| call_row(row, viewer.is_auditor())).collect();
            Json(json!({ "calls": calls })).into_response()
        }
        Err(failure) => store_unavailable(&failure),
    }
}

fn call_row(row: &CallRow, masked: bool) -> Value {
    json!({
        "attempt_id": row.attempt_id,
        "debtor_id": row.debtor_id,
        "debtor": if masked { initials(&row.debtor_name) } else { row.debtor_name.clone() },
        "phone": if masked { phone_tail(&row.phone) } else { row.phone.clone() },
        "country": row.country,
        "campaign": row.campaign,
        "direction": row.direction,
        "started_at": row.started_at,
        "ended_at": row.ended_at,
        "disposition": row.disposition,
        "right_party_contact": row.right_party_contact,
        "has_recording": row.recording_path.is_some(),
    })
}

/// Masks a line of text for auditors: each word of the debtor's name, whatever its case and
/// accents, becomes its initial, and every run of four or more digits becomes dots.
pub(super) fn mask_name_in(text: &str, full_name: &str) -> String {
    let name_words: Vec<String> =
        full_name.split_whitespace().filter(|word| word.chars().count() >= 3).map(fold).collect();
    let mut masked = String::with_capacity(text.len());
    let mut word = String::new();
    let flush = |word: &mut String, masked: &mut String| {
        if word.is_empty() {
            return;
        }
        if name_words.contains(&fold(word)) {
            masked.extend(word.chars().next().map(|first| format!("{}.", first.to_uppercase())));
        } else {
            masked.push_str(word);
        }
        word.clear();
    };
    for c in text.chars() {
        if c.is_alphanumeric() {
            word.push(c);
        } else {
            flush(&mut word, &mut masked);
            masked.push(c);
        }
    }
    flush(&mut word, &mut masked);
    mask_digit_runs(&masked)
}

/// Lower case without accents: "María" and "MARIA" fold alike.
fn fold(word: &str) -> String {
    word.chars()
        .flat_map(char::to_lowercase)
        .map(|c| match c {
            'á' | 'à' | 'â' | 'ä' | 'ã' => 'a',
            'é' | 'è' | 'ê' | 'ë' => 'e',
            'í' | 'ì' | 'î' | 'ï' => 'i',
            'ó' | 'ò' | 'ô' | 'ö' | 'õ' => 'o',
            'ú' | 'ù' | 'û' | 'ü' => 'u',
            other => other,
        })
        .collect()
}

/// Replaces runs of four or more digits (spaces and dashes between them allowed) with dots.
fn mask_digit_runs(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut masked = String::with_capacity(text.len());
    let mut index = 0;
    while index < chars.len() {
        if !chars[index].is_ascii_digit() {
            masked.push(chars[index]);
            index += 1;
            continue;
        }
        let mut end = index;
        let mut digits = 0;
        while end < chars.len() && (chars[end].is_ascii_digit() || (matches!(chars[end], ' ' | '-') && digits > 0)) {
            if chars[end].is_ascii_digit() {
                digits += 1;
            }
            end += 1;
        }
        // A space or dash after the last digit belongs to the text that follows.
        while end > index && !chars[end - 1].is_ascii_digit() {
            end -= 1;
        }
        if digits >= 4 {
            masked.extend(chars[index..end].iter().map(|c| if c.is_ascii_digit() { '•' } else { *c }));
        } else {
            masked.extend(&chars[index..end]);
        }
        index = end;
    }
    masked
}

fn parse_attempt(id: &str) -> Result<AttemptId, Response> {
    id.parse::<i64>()
        .map(AttemptId)
        .map_err(|_| error(StatusCode::BAD_REQUEST, &format!("'{id}' is not a call number")))
}

/// `GET /console/api/calls/{id}`: one call with its transcript, promises and per-turn metrics.
pub(super) async fn call(State(state): State<Arc<AppState>>, viewer: Viewer, Path(id): Path<String>) -> Response {
    let console = match console(&state) {
        Ok(console) => console,
        Err(response) => return response,
    };
    let attempt_id = match parse_attempt(&id) {
        Ok(attempt_id) => attempt_id,
        Err(response) => return response,
    };
    let store = state.services.store.as_ref();
    let attempt = match store.attempt(attempt_id).await {
        Ok(Some(attempt)) => attempt,
        Ok(None) => return error(StatusCode::NOT_FOUND, &format!("no call number {attempt_id}")),
        Err(failure) => return store_unavailable(&failure),
    };
    let (account, transcript, promises) = match tokio::try_join!(
        store.account_by_debt(attempt.debt_id),
        store.transcript(attempt_id),
        store.promises_for_attempt(attempt_id),
    ) {
        Ok(found) => found,
        Err(failure) => return store_unavailable(&failure),
    };
    let masked = viewer.is_auditor();
    let full_name = account.as_ref().map(|account| account.debtor.full_name.clone()).unwrap_or_default();
    let debtor = account.as_ref().map(|account| {
        let debtor = &account.debtor;
        json!({
            "id": debtor.id,
            "name": if masked { initials(&debtor.full_name) } else { debtor.full_name.clone() },
            "phone": if masked { phone_tail(&debtor.phone) } else { debtor.phone.clone() },
            "country": debtor.country,
            "account_ref": account.debt.account_ref,
        })
    });
    let lines: Vec<Value> = transcript
        .iter()
        .map(|line| {
            let text = if masked { mask_name_in(&line.text, &full_name) } else { line.text.clone() };
            json!({ "speaker": line.speaker, "text": text, "at": line.at, "cut": line.text.ends_with('…') })
        })
        .collect();
    let mut attempt_json = serde_json::to_value(&attempt).unwrap_or(Value::Null);
    if masked {
        attempt_json["phone"] = json!(phone_tail(&attempt.phone));
    }
    // The page plays the recording through its own URL; the server's paths stay on the server.
    if let Some(object) = attempt_json.as_object_mut() {
        object.remove("recording_path");
    }
    let live = console.board.call(attempt_id);
    // The store has the turns of every finished call; the board also has the last moment's.
    let stored_turns = console.store.turns(attempt_id).await.unwrap_or_default();
    let live_turns = console.board.turns(attempt_id);
    let turns = if live_turns.len() > stored_turns.len() { live_turns } else { stored_turns };
    Json(json!({
        "attempt": attempt_json,
        "debtor": debtor,
        "transcript": lines,
        "promises": promises,
        "turns": turns,
        "state": live.as_ref().map(|call| call.state.clone()),
        "live": live.is_some_and(|call| call.disposition.is_none()),
        "recording_url": attempt.recording_path.as_ref().map(|_| format!("/console/api/calls/{attempt_id}/recording")),
    }))
    .into_response()
}

/// `GET /console/api/calls/{id}/recording`: the call's stereo WAV (caller left, bot right).
pub(super) async fn recording(State(state): State<Arc<AppState>>, viewer: Viewer, Path(id): Path<String>) -> Response {
    if viewer.is_auditor() {
        // The recording contains the debtor's name and voice, which auditors get masked.
        return error(StatusCode::FORBIDDEN, "auditors cannot play recordings");
    }
    let attempt_id = match parse_attempt(&id) {
        Ok(attempt_id) => attempt_id,
        Err(response) => return response,
    };
    let path = match state.services.store.attempt(attempt_id).await {
        Ok(Some(attempt)) => attempt.recording_path,
        Ok(None) => return error(StatusCode::NOT_FOUND, &format!("no call number {attempt_id}")),
        Err(failure) => return store_unavailable(&failure),
    };
    let Some(path) = path.filter(|path| path.ends_with(".wav")) else {
        return error(StatusCode::NOT_FOUND, &format!("call {attempt_id} has no recording"));
    };
    match tokio::fs::read(&path).await {
        Ok(bytes) => {
            audit(&state, &viewer.user.username, "play_recording", &attempt_id.to_string(), "").await;
            let mut response = bytes.into_response();
            response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("audio/wav"));
            response
        }
        Err(failure) => {
            tracing::warn!(%attempt_id, error = %failure, "recording could not be read");
            error(StatusCode::NOT_FOUND, &format!("the recording of call {attempt_id} is missing on this node"))
        }
    }
}

/// Finds the live call an action is about, or the error response that explains why there is none.
fn live_call(state: &AppState, id: &str) -> Result<super::LiveCall, Response> {
    let console = console(state)?;
    let attempt_id = parse_attempt(id)?;
    match console.board.call(attempt_id) {
        Some(call) if call.disposition.is_none() => Ok(call),
        _ => Err(error(StatusCode::CONFLICT, &format!("call {attempt_id} is not running"))),
    }
}

/// `POST /console/api/calls/{id}/transfer`: hands the call to the configured person's number.
pub(super) async fn transfer(
    State(state): State<Arc<AppState>>,
    Actor(viewer): Actor,
    Path(id): Path<String>,
) -> Response {
    let console = match console(&state) {
        Ok(console) => console,
        Err(response) => return response,
    };
    let call = match live_call(&state, &id) {
        Ok(call) => call,
        Err(response) => return response,
    };
    let number = console.settings.transfer_number.trim();
    if number.is_empty() {
        return error(StatusCode::CONFLICT, "no transfer number is configured: set console.transfer_number");
    }
    let Some(twilio) = console.twilio.as_ref() else {
        return error(
            StatusCode::SERVICE_UNAVAILABLE,
            "transfers need Twilio's REST API, which this node has not set up",
        );
    };
    let twiml = format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response><Dial>{number}</Dial></Response>");
    match twilio.update_twiml(&CallSid(call.call_sid.clone()), &twiml).await {
        Ok(()) => {
            audit(&state, &viewer.user.username, "transfer", &call.attempt_id.to_string(), &phone_tail(number)).await;
            (StatusCode::ACCEPTED, Json(json!({ "ok": true }))).into_response()
        }
        Err(failure) => {
            tracing::warn!(attempt_id = %call.attempt_id, error = %failure, "transfer failed at Twilio");
            error(StatusCode::BAD_GATEWAY, &format!("Twilio refused the transfer: {failure}"))
        }
    }
}

/// `POST /console/api/calls/{id}/end`: the bot closes the call politely.
pub(super) async fn end_call(
    State(state): State<Arc<AppState>>,
    Actor(viewer): Actor,
    Path(id): Path<String>,
) -> Response {
    let call = match live_call(&state, &id) {
        Ok(call) => call,
        Err(response) => return response,
    };
    if !state.send_to_live_call(&call.call_sid, Inbound::EndPolitely).await {
        return error(
            StatusCode::CONFLICT,
            &format!("call {} runs on node {}: end it from that node's console", call.attempt_id, call.node),
        );
    }
    audit(&state, &viewer.user.username, "end_call", &call.attempt_id.to_string(), "").await;
    (StatusCode::ACCEPTED, Json(json!({ "ok": true }))).into_response()
}

#[derive(Debug, Deserialize)]
pub(super) struct PromisesQuery {
    view: Option<String>,
}

/// `GET /console/api/promises?view=due|broken|kept`.
pub(super) async fn promises(
    State(state): State<Arc<AppState>>,
    viewer: Viewer,
    Query(query): Query<PromisesQuery>,
) -> Response {
    let console = match console(&state) {
        Ok(console) => console,
        Err(response) => return response,
    };
    let view = match query.view.as_deref().unwrap_or("due") {
        "due" => PromiseView::DueToday,
        "broken" => PromiseView::Broken,
        "kept" => PromiseView::Kept,
        other => return error(StatusCode::BAD_REQUEST, &format!("view={other} is unknown: use due, broken or kept")),
    };
    let today = state.services.clock.now().date_naive();
    match console.store.promise_board(view, today, MAX_ROWS).await {
        Ok(rows) => {
            let promises: Vec<Value> = rows.iter().map(|row| promise_row(row, viewer.is_auditor())).collect();
            Json(json!({ "promises": promises })).into_response()
        }
        Err(failure) => store_unavailable(&failure),
    }
}

fn promise_row(row: &PromiseRow, masked: bool) -> Value {
    let mut value = serde_json::to_value(row).unwrap_or(Value::Null);
    value["debtor"] = json!(if masked { initials(&row.debtor_name) } else { row.debtor_name.clone() });
    if let Some(object) = value.as_object_mut() {
        object.remove("debtor_name");
    }
    value
}

/// `GET /console/api/campaigns`: each campaign with its progress and skip reasons.
pub(super) async fn campaigns(State(state): State<Arc<AppState>>, _viewer: Viewer) -> Response {
    match crate::campaign::api::with_progress(state.services.store.as_ref(), state.services.clock.now()).await {
        Ok(listed) => Json(json!({ "campaigns": listed })).into_response(),
        Err(failure) => store_unavailable(&failure),
    }
}

/// `POST /console/api/campaigns/{name}/{pause|resume|stop}`.
pub(super) async fn campaign_action(
    State(state): State<Arc<AppState>>,
    Actor(viewer): Actor,
    Path((name, action)): Path<(String, String)>,
) -> Response {
    let status = match action.as_str() {
        "pause" => CampaignStatus::Paused,
        "resume" => CampaignStatus::Running,
        "stop" => CampaignStatus::Stopped,
        other => return error(StatusCode::NOT_FOUND, &format!("unknown action '{other}': use pause, resume or stop")),
    };
    let store = state.services.store.as_ref();
    let campaign = match store.campaign(&name).await {
        Ok(Some(campaign)) => campaign,
        Ok(None) => return error(StatusCode::NOT_FOUND, &format!("no campaign named '{name}'")),
        Err(failure) => return store_unavailable(&failure),
    };
    let allowed = match status {
        CampaignStatus::Paused => campaign.status == CampaignStatus::Running,
        CampaignStatus::Running => campaign.status == CampaignStatus::Paused,
        _ => campaign.status != CampaignStatus::Stopped,
    };
    if !allowed {
        return error(
            StatusCode::CONFLICT,
            &format!(
                "campaign '{name}' is {}: only a running campaign pauses, only a paused one resumes, and a stopped \
                 one stays stopped (start a draft with `cobranza campaign start`)",
                campaign.status
            ),
        );
    }
    match store.set_campaign_status(&name, status, state.services.clock.now()).await {
        Ok(campaign) => {
            audit(&state, &viewer.user.username, &format!("campaign_{action}"), &name, "").await;
            Json(json!({ "campaign": campaign })).into_response()
        }
        Err(failure) => store_unavailable(&failure),
    }
}

/// `GET /console/api/kpis`: the same report, from the same module, as `cobranza kpi --json`.
pub(super) async fn kpis(
    State(state): State<Arc<AppState>>,
    _viewer: Viewer,
    Query(query): Query<KpiQuery>,
) -> Response {
    let day = |text: &Option<String>| text.as_deref().and_then(|text| NaiveDate::parse_from_str(text, "%Y-%m-%d").ok());
    if let (Some(from), Some(to)) = (day(&query.from), day(&query.to)) {
        if (to - from).num_days() >= MAX_KPI_DAYS {
            return error(
                StatusCode::BAD_REQUEST,
                &format!("the console shows at most {MAX_KPI_DAYS} days at once: use `cobranza kpi` for longer ranges"),
            );
        }
    }
    crate::api::kpi_report(&state, &query).await
}

/// `GET /console/api/debtors/{id}`: the debtor, their debts, score, calls, promises and opt-outs.
pub(super) async fn debtor(State(state): State<Arc<AppState>>, viewer: Viewer, Path(id): Path<String>) -> Response {
    let console = match console(&state) {
        Ok(console) => console,
        Err(response) => return response,
    };
    let debtor_id = DebtorId(id.clone());
    let (view, score) =
        match tokio::try_join!(console.store.debtor_view(&debtor_id), state.services.store.debtor_score(&debtor_id)) {
            Ok(found) => found,
            Err(failure) => return store_unavailable(&failure),
        };
    let Some(view) = view else {
        return error(StatusCode::NOT_FOUND, &format!("no debtor '{id}'"));
    };
    let masked = viewer.is_auditor();
    let mut debtor = serde_json::to_value(&view.debtor).unwrap_or(Value::Null);
    if masked {
        debtor["full_name"] = json!(initials(&view.debtor.full_name));
        debtor["phone"] = json!(phone_tail(&view.debtor.phone));
        debtor["national_id_last4"] = json!("••••");
        debtor["birth_date"] = Value::Null;
        debtor["postal_code"] = json!("•••••");
    }
    let attempts: Vec<Value> = view.attempts.iter().map(|row| call_row(row, masked)).collect();
    let promises: Vec<Value> = view.promises.iter().map(|row| promise_row(row, masked)).collect();
    Json(json!({
        "debtor": debtor,
        "debts": view.debts,
        "score": score,
        "attempts": attempts,
        "promises": promises,
        "opt_outs": view.opt_outs,
    }))
    .into_response()
}

#[derive(Debug, Deserialize)]
pub(super) struct AuditQuery {
    limit: Option<u32>,
}

/// `GET /console/api/audit`: who listened in, transferred, ended calls and changed campaigns.
/// Admins and auditors only.
pub(super) async fn audit_log(
    State(state): State<Arc<AppState>>,
    viewer: Viewer,
    Query(query): Query<AuditQuery>,
) -> Response {
    let console = match console(&state) {
        Ok(console) => console,
        Err(response) => return response,
    };
    if viewer.user.role == super::store::Role::Supervisor {
        return error(StatusCode::FORBIDDEN, "the audit log is for admins and auditors");
    }
    match console.store.audit_entries(query.limit.unwrap_or(200).clamp(1, 5_000)).await {
        Ok(entries) => Json(json!({ "entries": entries })).into_response(),
        Err(failure) => store_unavailable(&failure),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auditors_read_transcripts_with_the_debtors_name_reduced_to_initials() {
        assert_eq!(
            mask_name_in("Buenos días, ¿hablo con María José Pérez?", "María José Pérez"),
            "Buenos días, ¿hablo con M. J. P.?"
        );
        assert_eq!(mask_name_in("Sí, soy yo", "Ana Li"), "Sí, soy yo", "words shorter than three letters stay");
        assert_eq!(
            mask_name_in("sí, habla MARIA jose perez", "María José Pérez"),
            "sí, habla M. J. P.",
            "case and accents do not hide a name"
        );
    }

    #[test]
    fn auditors_read_numbers_of_four_or_more_digits_as_dots() {
        assert_eq!(mask_name_in("mi número es 55 1234 5678", "Ana Li"), "mi número es •• •••• ••••");
        assert_eq!(mask_name_in("termina en 1 2 3 4 y pago 500", "Ana Li"), "termina en • • • • y pago 500");
        assert_eq!(mask_name_in("el 12-04-1986, gracias", "Ana Li"), "el ••-••-••••, gracias");
    }
}
