//! Small pieces every HTTP provider client shares: the endpoint of an OpenAI-compatible server,
//! `Retry-After`, and error messages that keep their causes.

use std::time::Duration;

use reqwest::header::{HeaderMap, RETRY_AFTER};
use url::Url;

/// Builds `{base}/v1/{path}` for an OpenAI-compatible server, accepting a base that already ends
/// in `/v1`. The error message gives the reason the base URL is invalid.
pub fn openai_endpoint(base_url: &str, path: &str) -> Result<Url, String> {
    let base = Url::parse(base_url).map_err(|error| error.to_string())?;
    if base.scheme() != "http" && base.scheme() != "https" {
        return Err(format!("scheme '{}' is not http or https", base.scheme()));
    }
    let root = base.as_str().trim_end_matches('/');
    let root = root.strip_suffix("/v1").unwrap_or(root);
    Url::parse(&format!("{root}/v1/{path}")).map_err(|error| error.to_string())
}

/// Reads `Retry-After` in seconds.
///
/// Limitation: the HTTP-date form of the header is ignored, so such a delay is reported as none.
pub fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?;
    value.trim().parse::<u64>().ok().map(Duration::from_secs)
}

/// Formats an error with its sources, because reqwest's own message leaves out the cause.
pub fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoint_accepts_base_with_or_without_v1() {
        for base in
            ["http://127.0.0.1:8000", "http://127.0.0.1:8000/", "http://127.0.0.1:8000/v1", "http://127.0.0.1:8000/v1/"]
        {
            assert_eq!(
                openai_endpoint(base, "audio/speech").unwrap().as_str(),
                "http://127.0.0.1:8000/v1/audio/speech",
                "{base}"
            );
        }
    }

    #[test]
    fn endpoint_rejects_other_schemes() {
        assert_eq!(openai_endpoint("ftp://host", "chat/completions"), Err("scheme 'ftp' is not http or https".into()));
    }

    #[test]
    fn retry_after_reads_seconds_only() {
        let mut headers = HeaderMap::new();
        headers.insert(RETRY_AFTER, "7".parse().unwrap());
        assert_eq!(retry_after(&headers), Some(Duration::from_secs(7)));
        headers.insert(RETRY_AFTER, "Wed, 21 Oct 2026 07:28:00 GMT".parse().unwrap());
        assert_eq!(retry_after(&headers), None);
    }
}
