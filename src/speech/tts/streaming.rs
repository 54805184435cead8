//! Pieces shared by the remote text-to-speech clients: the API key, the HTTP client, reading a
//! streamed audio body under the first-byte and next-chunk timeouts, and handing the audio to
//! the caller.

use std::fmt;
use std::time::Duration;

use crate::http::{error_chain, retry_after};
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;

use super::TtsStream;
use crate::speech::SpeechError;

/// Capacity of a [`TtsStream`] channel, in chunks. A phrase renders faster than it plays, so the
/// buffer lets the next sentence render while the first one is still playing.
const STREAM_CAPACITY: usize = 256;

/// An API key read from the environment. Its `Debug` output is redacted so the key never
/// reaches a log.
#[derive(Clone)]
pub(super) struct ApiKey(String);

impl ApiKey {
    /// Reads the key from the environment variable `variable`. Fails when it is missing or
    /// empty, naming the variable and the `service` whose key it needs.
    pub(super) fn from_env(provider: &'static str, service: &str, variable: &str) -> Result<ApiKey, SpeechError> {
        match std::env::var(variable) {
            Ok(key) if !key.trim().is_empty() => Ok(ApiKey(key.trim().to_string())),
            _ => Err(SpeechError::Unavailable {
                provider,
                reason: format!("environment variable {variable} is missing or empty; set it to the {service} API key"),
            }),
        }
    }

    pub(super) fn secret(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKey(<redacted>)")
    }
}

/// Builds the HTTP client of one provider.
pub(super) fn http_client(provider: &'static str, connect_timeout: Duration) -> Result<reqwest::Client, SpeechError> {
    // Limitation: proxy environment variables are ignored, so a provider reachable only through
    // a proxy cannot be used.
    reqwest::Client::builder()
        .connect_timeout(connect_timeout)
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .build()
        .map_err(|error| SpeechError::Unavailable { provider, reason: format!("HTTP client: {}", error_chain(&error)) })
}

/// The timeouts of one request.
#[derive(Debug, Clone, Copy)]
pub(super) struct Timeouts {
    pub connect: Duration,
    /// From sending the request to the first byte of audio, connecting included.
    pub first_byte: Duration,
    /// Maximum silence between two chunks of audio.
    pub idle: Duration,
}

/// Sends a request and waits for the response headers until `deadline`.
pub(super) async fn send(
    provider: &'static str,
    request: reqwest::RequestBuilder,
    deadline: Instant,
    timeouts: Timeouts,
) -> Result<reqwest::Response, SpeechError> {
    match tokio::time::timeout_at(deadline, request.send()).await {
        Err(_) => Err(SpeechError::Timeout { provider, stage: "first byte", after: timeouts.first_byte }),
        Ok(Err(error)) if error.is_connect() && error.is_timeout() => {
            Err(SpeechError::Timeout { provider, stage: "connect", after: timeouts.connect })
        }
        Ok(Err(error)) if error.is_connect() => Err(SpeechError::Unavailable {
            provider,
            reason: format!("connecting failed: {}; check base_url and the network", error_chain(&error)),
        }),
        Ok(Err(error)) => {
            Err(SpeechError::Provider { provider, reason: format!("request failed: {}", error_chain(&error)) })
        }
        Ok(Ok(response)) => Ok(response),
    }
}

/// The status, `Retry-After` and text of an error response.
pub(super) struct ErrorResponse {
    pub status: u16,
    pub retry_after: Option<Duration>,
    pub body: String,
}

/// Reads an error response, giving up on the body after `idle_timeout`.
pub(super) async fn read_error_response(response: reqwest::Response, idle_timeout: Duration) -> ErrorResponse {
    let status = response.status().as_u16();
    let retry_after = retry_after(response.headers());
    let body = match tokio::time::timeout(idle_timeout, response.text()).await {
        Ok(Ok(body)) => body,
        Ok(Err(error)) => format!("(the error body could not be read: {error})"),
        Err(_) => "(the error body did not arrive in time)".to_string(),
    };
    ErrorResponse { status, retry_after, body }
}

/// Returns the body as the error message when it is not the provider's JSON shape.
pub(super) fn raw_body_message(body: &str) -> String {
    match body.trim() {
        "" => "(empty body)".to_string(),
        text => text.chars().take(500).collect(),
    }
}

/// A streamed audio body read chunk by chunk: the first chunk must arrive before the request's
/// first-byte deadline, and each later one within the idle timeout of the one before.
pub(super) struct AudioBody {
    provider: &'static str,
    response: reqwest::Response,
    first_byte_deadline: Instant,
    timeouts: Timeouts,
    /// Body bytes received so far.
    pub received: u64,
}

impl AudioBody {
    pub(super) fn new(
        provider: &'static str,
        response: reqwest::Response,
        first_byte_deadline: Instant,
        timeouts: Timeouts,
    ) -> AudioBody {
        AudioBody { provider, response, first_byte_deadline, timeouts, received: 0 }
    }

    /// Returns the next non-empty chunk, or `None` once the body ended normally.
    pub(super) async fn next_chunk(&mut self) -> Result<Option<Vec<u8>>, SpeechError> {
        loop {
            let chunk = if self.received == 0 {
                tokio::time::timeout_at(self.first_byte_deadline, self.response.chunk())
                    .await
                    .map_err(|_| self.timeout("first byte", self.timeouts.first_byte))?
            } else {
                tokio::time::timeout(self.timeouts.idle, self.response.chunk())
                    .await
                    .map_err(|_| self.timeout("next chunk", self.timeouts.idle))?
            };
            match chunk {
                Ok(Some(bytes)) if bytes.is_empty() => continue,
                Ok(Some(bytes)) => {
                    self.received += bytes.len() as u64;
                    return Ok(Some(bytes.to_vec()));
                }
                Ok(None) => return Ok(None),
                Err(error) => {
                    return Err(SpeechError::Provider {
                        provider: self.provider,
                        reason: format!(
                            "the connection dropped after {} bytes of audio: {}",
                            self.received,
                            error_chain(&error)
                        ),
                    })
                }
            }
        }
    }

    /// Reads until at least `len` bytes arrived or the body ended, so a container header split
    /// across chunks can still be recognised.
    pub(super) async fn read_prefix(&mut self, len: usize) -> Result<Vec<u8>, SpeechError> {
        let mut prefix = Vec::new();
        while prefix.len() < len {
            match self.next_chunk().await? {
                Some(chunk) => prefix.extend_from_slice(&chunk),
                None => break,
            }
        }
        Ok(prefix)
    }

    fn timeout(&self, stage: &'static str, after: Duration) -> SpeechError {
        SpeechError::Timeout { provider: self.provider, stage, after }
    }
}

/// Bytes needed to recognise a container header with [`container_format`].
pub(super) const CONTAINER_PREFIX_LEN: usize = 4;

/// Names the container format audio starts with, when it is a WAV (`RIFF`) or MP3 (`ID3`)
/// header instead of the raw samples a client asked for.
pub(super) fn container_format(prefix: &[u8]) -> Option<&'static str> {
    if prefix.starts_with(b"RIFF") {
        Some("WAV (RIFF header)")
    } else if prefix.starts_with(b"ID3") {
        Some("MP3 (ID3 header)")
    } else {
        None
    }
}

/// The destination of a synthesis worker's audio. The outcome of the first chunk goes to the
/// waiting `synthesize` call, so a failure before any audio is returned as its `Err`. Every
/// later failure is sent on the stream after the audio before it.
pub(super) struct AudioSink {
    chunks: mpsc::Sender<Result<Vec<i16>, SpeechError>>,
    first_outcome: Option<oneshot::Sender<Result<(), SpeechError>>>,
}

/// A synthesis that has started: the stream for the caller and the outcome of its first chunk.
pub(super) struct PendingStream {
    stream: TtsStream,
    first_outcome: oneshot::Receiver<Result<(), SpeechError>>,
}

impl PendingStream {
    /// Waits until the first chunk is on the stream, the phrase ended without audio, or the
    /// synthesis failed before any audio.
    pub(super) async fn first_chunk(self, provider: &'static str) -> Result<TtsStream, SpeechError> {
        match self.first_outcome.await {
            Ok(Ok(())) => Ok(self.stream),
            Ok(Err(error)) => Err(error),
            Err(_) => {
                Err(SpeechError::Provider { provider, reason: "the synthesis task ended without a result".to_string() })
            }
        }
    }

    /// Returns the stream at once; a failure before any audio is then sent on the stream too.
    pub(super) fn into_stream(self) -> TtsStream {
        self.stream
    }
}

/// Creates the sink a worker writes to and the stream its caller reads.
pub(super) fn audio_channel() -> (AudioSink, PendingStream) {
    let (chunks, stream) = mpsc::channel(STREAM_CAPACITY);
    let (first_sender, first_outcome) = oneshot::channel();
    (AudioSink { chunks, first_outcome: Some(first_sender) }, PendingStream { stream, first_outcome })
}

impl AudioSink {
    /// Sends audio. Returns false when the caller dropped the stream, as on a barge-in.
    pub(super) async fn audio(&mut self, pcm: Vec<i16>) -> bool {
        if pcm.is_empty() {
            return !self.chunks.is_closed();
        }
        let delivered = self.chunks.send(Ok(pcm)).await.is_ok();
        if let Some(first) = self.first_outcome.take() {
            let _ = first.send(Ok(()));
        }
        delivered
    }

    /// Reports a failure: to the waiting `synthesize` call when no audio was sent yet, on the
    /// stream otherwise.
    pub(super) async fn fail(mut self, error: SpeechError) {
        match self.first_outcome.take() {
            Some(first) => {
                if let Err(Err(error)) = first.send(Err(error)) {
                    let _ = self.chunks.send(Err(error)).await;
                }
            }
            None => {
                let _ = self.chunks.send(Err(error)).await;
            }
        }
    }

    /// Ends the stream after the last chunk.
    pub(super) fn finish(mut self) {
        if let Some(first) = self.first_outcome.take() {
            let _ = first.send(Ok(()));
        }
    }

    /// Tells whether the caller dropped the stream.
    pub(super) fn is_closed(&self) -> bool {
        self.chunks.is_closed()
    }
}
