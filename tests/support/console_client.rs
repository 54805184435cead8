//! A console client over plain HTTP and WebSockets, as the page talks to the server: it fetches
//! the page for its login token, logs in, and sends the CSRF token with every change.

use futures_util::StreamExt as _;
use reqwest::StatusCode;
use serde_json::Value;
use tokio_tungstenite::tungstenite::client::IntoClientRequest as _;
use tokio_tungstenite::tungstenite::Message;

pub type Socket = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

pub struct ConsoleClient {
    pub base_url: String,
    pub session_cookie: String,
    pub csrf_token: String,
    http: reqwest::Client,
}

/// The page's login token and the cookie that must come back with it.
pub async fn login_token(http: &reqwest::Client, base_url: &str) -> (String, String) {
    let response = http.get(format!("{base_url}/console")).send().await.expect("page loads");
    let cookie = response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .find(|value| value.starts_with("cobranza_login="))
        .and_then(|value| value.split(';').next())
        .expect("login cookie")
        .to_string();
    let page = response.text().await.expect("page text");
    let marker = "name=\"cobranza-login-token\" content=\"";
    let start = page.find(marker).expect("login token in the page") + marker.len();
    let token = page[start..].split('"').next().expect("token").to_string();
    (token, cookie)
}

/// Posts a login; returns the status, the body and the session cookie when one was set.
pub async fn try_log_in(
    http: &reqwest::Client,
    base_url: &str,
    username: &str,
    password: &str,
) -> (StatusCode, Value, Option<String>) {
    let (token, cookie) = login_token(http, base_url).await;
    let response = http
        .post(format!("{base_url}/console/api/login"))
        .header("x-csrf-token", token)
        .header("cookie", cookie)
        .json(&serde_json::json!({ "username": username, "password": password }))
        .send()
        .await
        .expect("login answers");
    let status = response.status();
    let session = response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .find(|value| value.starts_with("cobranza_session=") && !value.starts_with("cobranza_session=;"))
        .map(str::to_string);
    let body = response.json().await.unwrap_or(Value::Null);
    (status, body, session)
}

impl ConsoleClient {
    pub async fn log_in(base_url: &str, username: &str, password: &str) -> ConsoleClient {
        let http = reqwest::Client::new();
        let (status, body, session) = try_log_in(&http, base_url, username, password).await;
        assert_eq!(status, StatusCode::OK, "login of {username}: {body}");
        let session_cookie = session.expect("session cookie").split(';').next().expect("pair").to_string();
        let csrf_token = body["csrf_token"].as_str().expect("csrf token").to_string();
        ConsoleClient { base_url: base_url.to_string(), session_cookie, csrf_token, http }
    }

    pub async fn get(&self, path: &str) -> (StatusCode, Value) {
        let response = self
            .http
            .get(format!("{}{path}", self.base_url))
            .header("cookie", &self.session_cookie)
            .send()
            .await
            .expect("console answers");
        let status = response.status();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    pub async fn post(&self, path: &str, body: Value, with_csrf_token: bool) -> (StatusCode, Value) {
        let mut request =
            self.http.post(format!("{}{path}", self.base_url)).header("cookie", &self.session_cookie).json(&body);
        if with_csrf_token {
            request = request.header("x-csrf-token", &self.csrf_token);
        }
        let response = request.send().await.expect("console answers");
        let status = response.status();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// Opens one of the console's WebSockets with the session cookie.
    pub async fn websocket(&self, path: &str) -> Socket {
        let url = format!("{}{path}", self.base_url.replace("http://", "ws://"));
        let mut request = url.into_client_request().expect("request");
        request.headers_mut().insert("cookie", self.session_cookie.parse().expect("header"));
        let (socket, _) = tokio_tungstenite::connect_async(request).await.expect("WebSocket opens");
        socket
    }
}

/// Reads the next JSON text message of a console WebSocket; `None` when it closed.
pub async fn next_json(socket: &mut Socket) -> Option<Value> {
    while let Some(message) = socket.next().await {
        match message.ok()? {
            Message::Text(text) => return serde_json::from_str(&text).ok(),
            Message::Close(_) => return None,
            _ => continue,
        }
    }
    None
}
