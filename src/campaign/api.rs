//! The campaigns part of the JSON API, behind the same bearer token as the rest:
//! `GET /api/campaigns`, `POST /api/campaigns` (`{"name": ..., "settings": {...}}`),
//! `GET /api/campaigns/{name}` and `POST /api/campaigns/{name}/{start|pause|stop}`.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::json;

use super::settings::{validate, CampaignSettings};
use super::store::CampaignStatus;
use crate::api::{authorize, error};
use crate::collections::StoreError;
use crate::kpi::UsdRates;
use crate::server::AppState;

#[derive(Debug, Deserialize)]
pub struct NewCampaign {
    name: String,
    settings: CampaignSettings,
}

/// `GET /api/campaigns`: every campaign with its progress.
pub async fn list(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    if let Err(response) = authorize(&state, &headers) {
        return response;
    }
    match with_progress(state.services.store.as_ref(), state.services.clock.now()).await {
        Ok(listed) => Json(listed).into_response(),
        Err(failure) => store_failed(&failure),
    }
}

/// Lists every campaign with its progress as of `now`, as the API and the console show them.
pub(crate) async fn with_progress(
    store: &dyn crate::collections::Store,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<Vec<serde_json::Value>, StoreError> {
    let campaigns = store.campaigns().await?;
    let mut listed = Vec::with_capacity(campaigns.len());
    for campaign in campaigns {
        let progress = store.campaign_progress(&campaign.name, now).await?;
        listed.push(json!({ "campaign": campaign, "progress": progress }));
    }
    Ok(listed)
}

/// `POST /api/campaigns`: creates a draft.
pub async fn create(State(state): State<Arc<AppState>>, headers: HeaderMap, body: axum::body::Bytes) -> Response {
    if let Err(response) = authorize(&state, &headers) {
        return response;
    }
    let new: NewCampaign = match serde_json::from_slice(&body) {
        Ok(new) => new,
        Err(failure) => {
            return error(StatusCode::BAD_REQUEST, &format!("the body is not a campaign: {failure}"));
        }
    };
    if let Err(failure) = super::cli::check_name(&new.name) {
        return error(StatusCode::BAD_REQUEST, &failure.to_string());
    }
    if let Err(message) = validate(&new.settings) {
        return error(StatusCode::BAD_REQUEST, &message);
    }
    match state.services.store.create_campaign(&new.name, &new.settings, state.services.clock.now()).await {
        Ok(campaign) => (StatusCode::CREATED, Json(campaign)).into_response(),
        Err(StoreError::Conflict(message)) => error(StatusCode::CONFLICT, &message),
        Err(failure) => store_failed(&failure),
    }
}

/// `GET /api/campaigns/{name}`: one campaign with its progress and skip reasons.
pub async fn show(State(state): State<Arc<AppState>>, headers: HeaderMap, Path(name): Path<String>) -> Response {
    if let Err(response) = authorize(&state, &headers) {
        return response;
    }
    let store = state.services.store.as_ref();
    match store.campaign(&name).await {
        Ok(Some(campaign)) => match store.campaign_progress(&name, state.services.clock.now()).await {
            Ok(progress) => Json(json!({ "campaign": campaign, "progress": progress })).into_response(),
            Err(failure) => store_failed(&failure),
        },
        Ok(None) => error(StatusCode::NOT_FOUND, &format!("no campaign named '{name}'")),
        Err(failure) => store_failed(&failure),
    }
}

/// `POST /api/campaigns/{name}/{action}`: `start` enrols the matching debts and runs the
/// campaign, `pause` stops new calls, `stop` ends it.
pub async fn act(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Path((name, action)): Path<(String, String)>,
) -> Response {
    if let Err(response) = authorize(&state, &headers) {
        return response;
    }
    let status = match action.as_str() {
        "start" => CampaignStatus::Running,
        "pause" => CampaignStatus::Paused,
        "stop" => CampaignStatus::Stopped,
        other => return error(StatusCode::NOT_FOUND, &format!("unknown action '{other}': use start, pause or stop")),
    };
    let store = state.services.store.as_ref();
    let now = state.services.clock.now();
    let campaign = match store.campaign(&name).await {
        Ok(Some(campaign)) => campaign,
        Ok(None) => return error(StatusCode::NOT_FOUND, &format!("no campaign named '{name}'")),
        Err(failure) => return store_failed(&failure),
    };
    let mut enrolled = 0;
    if status == CampaignStatus::Running {
        let rates = UsdRates::from_config(&state.services.config);
        match super::enrol::enrol(store, &name, &campaign.settings.filter, &rates, now).await {
            Ok(added) => enrolled = added,
            Err(failure) => return store_failed(&failure),
        }
    }
    match store.set_campaign_status(&name, status, now).await {
        Ok(campaign) => {
            tracing::info!(campaign = %name, status = %status, enrolled, "campaign status changed through the API");
            Json(json!({ "campaign": campaign, "enrolled": enrolled })).into_response()
        }
        Err(failure) => store_failed(&failure),
    }
}

fn store_failed(failure: &StoreError) -> Response {
    tracing::warn!(error = %failure, "campaign request failed in the store");
    error(StatusCode::INTERNAL_SERVER_ERROR, "the campaign could not be read or written in the store")
}
