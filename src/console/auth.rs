//! Console users' sessions: argon2id passwords, a session cookie (HttpOnly, SameSite=Strict,
//! Secure over TLS), a CSRF token per session required on every state-changing request, and
//! failed logins limited per user name and per address on every node at once.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use axum::extract::{ConnectInfo, FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::Duration;
use rand::RngCore;
use serde::Deserialize;
use serde_json::json;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::store::{AuditEntry, NewSession, Role, UiLanguage, User};
use super::Console;
use crate::api::error;
use crate::server::AppState;

/// The shortest password `cobranza user` accepts.
pub const MIN_PASSWORD_CHARS: usize = 12;
pub(super) const SESSION_COOKIE: &str = "cobranza_session";
pub(super) const LOGIN_COOKIE: &str = "cobranza_login";
pub(super) const CSRF_HEADER: &str = "x-csrf-token";

/// Hashes a password with argon2id and a random salt, in the PHC string format.
pub fn hash_password(password: &str) -> Result<String, String> {
    let mut salt = [0u8; 16];
    rand::thread_rng().fill_bytes(&mut salt);
    let salt = SaltString::encode_b64(&salt).map_err(|failure| failure.to_string())?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|failure| failure.to_string())
}

/// Checks a password against a stored argon2id hash; a malformed hash never matches.
pub fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash)
        .map(|parsed| Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok())
        .unwrap_or(false)
}

/// Returns a random token of 64 hexadecimal digits.
pub(super) fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    hex(&bytes)
}

/// Hashes a session token with SHA-256: the session row is found by it, so the table alone cannot be replayed.
pub fn token_hash(token: &str) -> String {
    hex(&Sha256::digest(token.as_bytes()))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

pub(super) fn console(state: &AppState) -> Result<&Arc<Console>, Response> {
    state.console.as_ref().ok_or_else(|| error(StatusCode::NOT_FOUND, "the console is off on this server"))
}

pub(super) fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value)
}

pub(super) fn set_cookie(secure: bool, name: &str, value: &str, max_age_seconds: i64) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    let text = format!("{name}={value}; Path=/console; HttpOnly; SameSite=Strict; Max-Age={max_age_seconds}{secure}");
    HeaderValue::from_str(&text).expect("cookie values are hexadecimal")
}

fn same_secret(presented: &str, expected: &str) -> bool {
    !expected.is_empty() && bool::from(presented.as_bytes().ct_eq(expected.as_bytes()))
}

/// A logged-in user, from the session cookie.
pub(super) struct Viewer {
    pub user: User,
    pub csrf_token: String,
    pub token_hash: String,
}

impl Viewer {
    pub fn is_auditor(&self) -> bool {
        self.user.role == Role::Auditor
    }
}

impl FromRequestParts<Arc<AppState>> for Viewer {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &Arc<AppState>) -> Result<Self, Self::Rejection> {
        let console = console(state)?;
        let Some(token) = cookie(&parts.headers, SESSION_COOKIE) else {
            return Err(error(StatusCode::UNAUTHORIZED, "log in to use the console"));
        };
        let hash = token_hash(token);
        match console.store.session(&hash, state.services.clock.now()).await {
            Ok(Some(session)) => Ok(Viewer { user: session.user, csrf_token: session.csrf_token, token_hash: hash }),
            Ok(None) => Err(error(StatusCode::UNAUTHORIZED, "the session has ended: log in again")),
            Err(failure) => {
                tracing::warn!(error = %failure, "console session could not be read");
                Err(error(StatusCode::SERVICE_UNAVAILABLE, "the store cannot be reached; try again"))
            }
        }
    }
}

/// A logged-in user whose request carries the session's CSRF token: any change made for them.
pub(super) struct Member(pub Viewer);

impl FromRequestParts<Arc<AppState>> for Member {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &Arc<AppState>) -> Result<Self, Self::Rejection> {
        let viewer = Viewer::from_request_parts(parts, state).await?;
        let presented = parts.headers.get(CSRF_HEADER).and_then(|value| value.to_str().ok()).unwrap_or_default();
        if !same_secret(presented, &viewer.csrf_token) {
            tracing::warn!(user = %viewer.user.username, "console request rejected: missing or wrong CSRF token");
            return Err(error(
                StatusCode::FORBIDDEN,
                "missing or wrong X-CSRF-Token header: reload the console and try again",
            ));
        }
        Ok(Member(viewer))
    }
}

/// A member who may act on calls and campaigns: an admin or a supervisor, never an auditor.
pub(super) struct Actor(pub Viewer);

impl FromRequestParts<Arc<AppState>> for Actor {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &Arc<AppState>) -> Result<Self, Self::Rejection> {
        let Member(viewer) = Member::from_request_parts(parts, state).await?;
        if viewer.is_auditor() {
            return Err(error(StatusCode::FORBIDDEN, "auditors can read but not change anything"));
        }
        Ok(Actor(viewer))
    }
}

/// The address the request came from, when the server was started with connection info.
pub(super) struct ClientAddr(pub Option<IpAddr>);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(ClientAddr(parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|info| info.0.ip())))
    }
}

/// Writes one line of the audit log; a failure is logged and does not stop the action.
pub(super) async fn audit(state: &AppState, username: &str, action: &str, target: &str, detail: &str) {
    let Some(console) = state.console.as_ref() else { return };
    let entry = AuditEntry {
        at: state.services.clock.now(),
        username: username.to_string(),
        action: action.to_string(),
        target: target.to_string(),
        detail: detail.to_string(),
    };
    if let Err(failure) = console.store.append_audit(&entry).await {
        tracing::error!(error = %failure, action, target, "audit log line could not be written");
    }
}

fn me_body(console: &Console, user: &User, csrf_token: &str) -> serde_json::Value {
    json!({
        "user": { "username": user.username, "role": user.role, "language": user.language },
        "csrf_token": csrf_token,
        "transfer": !console.settings.transfer_number.trim().is_empty() && console.twilio.is_some(),
    })
}

#[derive(Deserialize)]
pub(super) struct Credentials {
    username: String,
    password: String,
}

/// `POST /console/api/login`.
pub(super) async fn login(
    State(state): State<Arc<AppState>>,
    ClientAddr(address): ClientAddr,
    headers: HeaderMap,
    Json(credentials): Json<Credentials>,
) -> Response {
    let console = match console(&state) {
        Ok(console) => console,
        Err(response) => return response,
    };
    // The page got the login token with itself: a form posted from another site has neither.
    let presented = headers.get(CSRF_HEADER).and_then(|value| value.to_str().ok()).unwrap_or_default();
    if !same_secret(presented, cookie(&headers, LOGIN_COOKIE).unwrap_or_default()) {
        return error(StatusCode::FORBIDDEN, "missing or wrong X-CSRF-Token header: reload the console and try again");
    }
    let now = state.services.clock.now();
    let settings = &console.settings;
    let window = Duration::minutes(i64::from(settings.login_window_minutes.max(1)));
    let address_key = address.map(|address| format!("ip:{address}"));
    // A name no user can have is refused before it is stored or logged; it still counts
    // against the address.
    let Ok(username) = super::cli::check_username(&credentials.username) else {
        if let Some(key) = &address_key {
            if let Err(failure) = console.store.record_login_failure(key, now).await {
                return store_unavailable(&failure);
            }
        }
        return error(StatusCode::UNAUTHORIZED, "wrong user name or password");
    };
    let user_key = format!("user:{username}");
    let limits =
        [(Some(user_key.clone()), settings.login_max_failures), (address_key.clone(), settings.login_max_failures * 4)];
    // Each try counts as failed until its password is checked, so tries sent at once cannot
    // all pass the limit before any of them is counted. A good password clears the count.
    for (key, limit) in &limits {
        let Some(key) = key else { continue };
        if let Err(failure) = console.store.record_login_failure(key, now).await {
            return store_unavailable(&failure);
        }
        match console.store.login_failures_since(key, now - window).await {
            Ok(failures) if failures > *limit => {
                tracing::warn!(key = %key, failures, "console login rejected: too many failed attempts");
                audit(&state, &username, "login_refused", "console", &format!("{failures} failed tries")).await;
                let mut response = (
                    StatusCode::TOO_MANY_REQUESTS,
                    Json(json!({
                        "error": "too many failed logins: wait before trying again",
                        "retry_after_seconds": window.num_seconds(),
                    })),
                )
                    .into_response();
                response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(window.num_seconds()));
                return response;
            }
            Ok(_) => {}
            Err(failure) => return store_unavailable(&failure),
        }
    }
    let user = match console.store.user(&username).await {
        Ok(user) => user,
        Err(failure) => return store_unavailable(&failure),
    };
    let password = credentials.password;
    let stored_hash = user.as_ref().filter(|user| !user.disabled).map(|user| user.password_hash.clone());
    let matches = tokio::task::spawn_blocking(move || match stored_hash {
        Some(hash) => verify_password(&password, &hash),
        None => {
            // Spend the same time as a real check, so timing does not tell which names exist.
            let _ = hash_password(&password);
            false
        }
    })
    .await
    .unwrap_or(false);
    let Some(user) = user.filter(|_| matches) else {
        tracing::warn!(user = %username, "console login failed");
        audit(&state, &username, "login_failed", "console", address.map(|a| a.to_string()).as_deref().unwrap_or(""))
            .await;
        return error(StatusCode::UNAUTHORIZED, "wrong user name or password");
    };
    for key in limits.iter().filter_map(|(key, _)| key.as_ref()) {
        let _ = console.store.clear_login_failures(key).await;
    }
    let token = random_token();
    let hours = i64::from(settings.session_hours.max(1));
    let session = NewSession {
        token_hash: token_hash(&token),
        username: user.username.clone(),
        csrf_token: random_token(),
        created_at: now,
        expires_at: now + Duration::hours(hours),
    };
    if let Err(failure) = console.store.create_session(&session).await {
        return store_unavailable(&failure);
    }
    let _ = console.store.delete_expired_sessions(now).await;
    let _ = console.store.delete_login_failures_before(now - window).await;
    audit(&state, &user.username, "login", "console", address.map(|a| a.to_string()).as_deref().unwrap_or("")).await;
    let mut response = Json(me_body(console, &user, &session.csrf_token)).into_response();
    let headers = response.headers_mut();
    headers.append(header::SET_COOKIE, set_cookie(console.secure_cookies, SESSION_COOKIE, &token, hours * 3600));
    headers.append(header::SET_COOKIE, set_cookie(console.secure_cookies, LOGIN_COOKIE, "", 0));
    response
}

/// `POST /console/api/logout`.
pub(super) async fn logout(State(state): State<Arc<AppState>>, Member(viewer): Member) -> Response {
    let console = match console(&state) {
        Ok(console) => console,
        Err(response) => return response,
    };
    if let Err(failure) = console.store.delete_session(&viewer.token_hash).await {
        return store_unavailable(&failure);
    }
    audit(&state, &viewer.user.username, "logout", "console", "").await;
    let mut response = StatusCode::NO_CONTENT.into_response();
    response.headers_mut().append(header::SET_COOKIE, set_cookie(console.secure_cookies, SESSION_COOKIE, "", 0));
    response
}

/// `GET /console/api/me`.
pub(super) async fn me(State(state): State<Arc<AppState>>, viewer: Viewer) -> Response {
    match console(&state) {
        Ok(console) => Json(me_body(console, &viewer.user, &viewer.csrf_token)).into_response(),
        Err(response) => response,
    }
}

#[derive(Deserialize)]
pub(super) struct LanguageChoice {
    language: String,
}

/// `POST /console/api/me/language`: remembers the user's language.
pub(super) async fn set_language(
    State(state): State<Arc<AppState>>,
    Member(viewer): Member,
    Json(choice): Json<LanguageChoice>,
) -> Response {
    let console = match console(&state) {
        Ok(console) => console,
        Err(response) => return response,
    };
    let Ok(language) = choice.language.parse::<UiLanguage>() else {
        return error(StatusCode::BAD_REQUEST, &format!("language '{}' is not offered: use es or en", choice.language));
    };
    if let Err(failure) = console.store.set_user_language(&viewer.user.username, language).await {
        return store_unavailable(&failure);
    }
    let mut user = viewer.user;
    user.language = language;
    Json(me_body(console, &user, &viewer.csrf_token)).into_response()
}

pub(super) fn store_unavailable(failure: &crate::collections::StoreError) -> Response {
    tracing::warn!(error = %failure, "console request failed in the store");
    error(StatusCode::INTERNAL_SERVER_ERROR, "the store could not be read or written; try again")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_password_matches_only_its_own_argon2id_hash() {
        let hash = hash_password("correct horse battery").unwrap();
        assert!(hash.starts_with("$argon2id$v=19$"), "{hash}");
        assert!(verify_password("correct horse battery", &hash));
        assert!(!verify_password("correct horse batterY", &hash));
        assert!(!verify_password("correct horse battery", "not a hash"));
        assert_ne!(hash, hash_password("correct horse battery").unwrap(), "each hash has its own salt");
    }

    #[test]
    fn session_cookies_are_http_only_strict_and_secure_over_tls() {
        assert_eq!(
            set_cookie(true, SESSION_COOKIE, "abc", 60).to_str().unwrap(),
            "cobranza_session=abc; Path=/console; HttpOnly; SameSite=Strict; Max-Age=60; Secure"
        );
        assert_eq!(
            set_cookie(false, SESSION_COOKIE, "abc", 60).to_str().unwrap(),
            "cobranza_session=abc; Path=/console; HttpOnly; SameSite=Strict; Max-Age=60"
        );
    }

    #[test]
    fn cookies_are_read_by_exact_name() {
        let mut headers = HeaderMap::new();
        headers.insert(header::COOKIE, HeaderValue::from_static("a=1; cobranza_session_x=2; cobranza_session=abc"));
        assert_eq!(cookie(&headers, SESSION_COOKIE), Some("abc"));
        assert_eq!(cookie(&headers, "missing"), None);
    }
}
