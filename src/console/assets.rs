//! The console's page and its static files, compiled into the binary: nothing is fetched from
//! another origin, and the Content-Security-Policy limits the browser to this origin.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use super::auth::{console, random_token, set_cookie, LOGIN_COOKIE};
use crate::api::error;
use crate::server::AppState;

const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; connect-src 'self'; img-src 'self' data:; \
     media-src 'self' blob:; style-src 'self'; script-src 'self'; frame-ancestors 'none'; base-uri 'none'; \
     form-action 'self'";

const INDEX: &str = include_str!("assets/index.html");

/// The files under `/console/assets/`: name, content type, bytes.
const FILES: &[(&str, &str, &[u8])] = &[
    ("app.js", "text/javascript; charset=utf-8", include_bytes!("assets/app.js")),
    ("app.css", "text/css; charset=utf-8", include_bytes!("assets/app.css")),
    ("vendor/uPlot.iife.min.js", "text/javascript; charset=utf-8", include_bytes!("assets/vendor/uPlot.iife.min.js")),
    ("vendor/uPlot.min.css", "text/css; charset=utf-8", include_bytes!("assets/vendor/uPlot.min.css")),
];

/// `GET /console`: the page, with a fresh login token in it and in a cookie.
pub(super) async fn index(State(state): State<Arc<AppState>>) -> Response {
    let console = match console(&state) {
        Ok(console) => console,
        Err(response) => return response,
    };
    let token = random_token();
    let mut response = INDEX.replace("{{LOGIN_TOKEN}}", &token).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.append(header::SET_COOKIE, set_cookie(console.secure_cookies, LOGIN_COOKIE, &token, 24 * 3600));
    secure_headers(headers);
    response
}

/// `GET /console/assets/{path}`.
pub(super) async fn file(Path(path): Path<String>) -> Response {
    let Some((_, content_type, bytes)) = FILES.iter().find(|(name, _, _)| *name == path) else {
        return error(StatusCode::NOT_FOUND, &format!("no console file named '{path}'"));
    };
    let mut response = bytes.to_vec().into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    secure_headers(headers);
    response
}

fn secure_headers(headers: &mut axum::http::HeaderMap) {
    headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CONTENT_SECURITY_POLICY));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
}
