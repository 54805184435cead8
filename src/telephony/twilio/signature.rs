//! `X-Twilio-Signature`: HMAC-SHA1 over the URL Twilio requested plus the sorted POST parameters,
//! keyed by the account's auth token, compared in constant time.

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha1::Sha1;
use subtle::ConstantTimeEq;

/// Computes the signature Twilio sends for `url` and form `params`.
pub fn compute(auth_token: &str, url: &str, params: &[(String, String)]) -> String {
    let mut names: Vec<&str> = params.iter().map(|(name, _)| name.as_str()).collect();
    names.sort_unstable();
    names.dedup();

    let mut signed = String::from(url);
    for name in names {
        let mut values: Vec<&str> = params.iter().filter(|(n, _)| n == name).map(|(_, v)| v.as_str()).collect();
        values.sort_unstable();
        values.dedup();
        for value in values {
            signed.push_str(name);
            signed.push_str(value);
        }
    }

    let mut mac = Hmac::<Sha1>::new_from_slice(auth_token.as_bytes()).expect("HMAC takes any key");
    mac.update(signed.as_bytes());
    BASE64.encode(mac.finalize().into_bytes())
}

/// Checks `provided` against the signature of `url` and `params`. Twilio is inconsistent about
/// default ports, so the URL is also tried with the port removed and with the default port added.
pub fn is_valid(auth_token: &str, url: &str, params: &[(String, String)], provided: &str) -> bool {
    url_variants(url).iter().any(|candidate| {
        let expected = compute(auth_token, candidate, params);
        bool::from(expected.as_bytes().ct_eq(provided.as_bytes()))
    })
}

/// Lists the URL as given, without its port, and with the scheme's default port.
fn url_variants(url: &str) -> Vec<String> {
    let mut variants = vec![url.to_string()];
    let Some((scheme, rest)) = url.split_once("://") else {
        return variants;
    };
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let host = match authority.rsplit_once(':') {
        Some((host, port)) if port.bytes().all(|b| b.is_ascii_digit()) => host,
        _ => authority,
    };
    let default_port = match scheme {
        "https" | "wss" => "443",
        _ => "80",
    };
    for candidate in [format!("{scheme}://{host}{tail}"), format!("{scheme}://{host}:{default_port}{tail}")] {
        if !variants.contains(&candidate) {
            variants.push(candidate);
        }
    }
    variants
}
