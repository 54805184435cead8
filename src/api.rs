//! The JSON API for dashboards and scripts. Every request needs `Authorization: Bearer` with the
//! token from `COBRANZA_API_TOKEN`. Without a configured token the API returns 503.

use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::json;
use subtle::ConstantTimeEq;

use crate::kpi::cli::filter_from_parts;
use crate::kpi::{report_with_compliance, SeriesBy, UsdRates};
use crate::server::AppState;

/// The query of `GET /api/kpis`: the same range, filters and series as `cobranza kpi`.
#[derive(Debug, Deserialize)]
pub struct KpiQuery {
    pub(crate) from: Option<String>,
    pub(crate) to: Option<String>,
    country: Option<String>,
    campaign: Option<String>,
    segment: Option<String>,
    by: Option<String>,
}

/// `GET /api/kpis`: the KPIs of a range of UTC days, as `cobranza kpi --json` prints them.
pub async fn kpis(State(state): State<Arc<AppState>>, headers: HeaderMap, Query(query): Query<KpiQuery>) -> Response {
    if let Err(response) = authorize(&state, &headers) {
        return response;
    }
    kpi_report(&state, &query).await
}

/// Builds the KPI report of a query as JSON. The API and the console both return it, so both
/// match `cobranza kpi --json`.
pub(crate) async fn kpi_report(state: &AppState, query: &KpiQuery) -> Response {
    let day = |name: &str, text: &Option<String>| match text {
        None => Ok(None),
        Some(text) => chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d").map(Some).map_err(|_| {
            error(StatusCode::BAD_REQUEST, &format!("{name}={text} is not a date: write it as YYYY-MM-DD"))
        }),
    };
    let (from, to) = match (day("from", &query.from), day("to", &query.to)) {
        (Ok(from), Ok(to)) => (from, to),
        (Err(response), _) | (_, Err(response)) => return response,
    };
    let series_by = match query.by.as_deref() {
        None | Some("") => None,
        Some("day") => Some(SeriesBy::Day),
        Some("hour") => Some(SeriesBy::Hour),
        Some(other) => return error(StatusCode::BAD_REQUEST, &format!("by={other} is invalid: use day or hour")),
    };
    let today = state.services.clock.now().date_naive();
    let filter = filter_from_parts(
        from,
        to,
        query.country.as_deref(),
        query.campaign.as_deref(),
        query.segment.as_deref(),
        today,
    );
    if filter.from > filter.to {
        return error(
            StatusCode::BAD_REQUEST,
            &format!("from={} is after to={}: give the earlier day first", filter.from, filter.to),
        );
    }
    let rates = UsdRates::from_config(&state.services.config);
    let policy = match crate::policy::ContactPolicy::embedded() {
        Ok(policy) => policy,
        Err(failure) => {
            tracing::error!(error = %failure, "the compiled-in jurisdiction rules are invalid");
            return error(StatusCode::INTERNAL_SERVER_ERROR, "the jurisdiction rules could not be read");
        }
    };
    match report_with_compliance(state.services.store.as_ref(), &filter, series_by, &rates, &policy).await {
        Ok(report) => Json(report).into_response(),
        Err(failure) => {
            tracing::warn!(error = %failure, "KPI report failed");
            error(StatusCode::INTERNAL_SERVER_ERROR, "the KPIs could not be read from the store")
        }
    }
}

/// Checks the bearer token in constant time.
pub(crate) fn authorize(state: &AppState, headers: &HeaderMap) -> Result<(), Response> {
    let Some(expected) = state.api_token.as_deref() else {
        return Err(error(StatusCode::SERVICE_UNAVAILABLE, "the API is off: set COBRANZA_API_TOKEN and restart"));
    };
    let presented = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "))
        .unwrap_or_default();
    if bool::from(presented.as_bytes().ct_eq(expected.as_bytes())) {
        return Ok(());
    }
    let mut response = error(StatusCode::UNAUTHORIZED, "missing or wrong bearer token");
    response.headers_mut().insert(header::WWW_AUTHENTICATE, header::HeaderValue::from_static("Bearer"));
    Err(response)
}

pub(crate) fn error(status: StatusCode, message: &str) -> Response {
    (status, Json(json!({ "error": message }))).into_response()
}
