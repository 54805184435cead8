//! The OpenAI-compatible text-to-speech client against a fake `/v1/audio/speech` server on
//! 127.0.0.1.

mod support;

use std::time::Duration;

use serde_json::json;

use cobranza::audio::resample::Resampler;
use cobranza::dialog::Language;
use cobranza::speech::tts::openai::{characters_billed, OpenAiTts, OpenAiTtsSettings, MAX_INPUT_CHARACTERS};
use cobranza::speech::tts::{TextToSpeech, TtsStream};
use cobranza::speech::SpeechError;
use support::fake_openai_speech::{render_pcm, Behaviour, FakeOpenAiSpeech, API_KEY, WRITE_BYTES};

/// Builds a client for the fake, reading the key from `variable`, which each test names
/// differently because tests run in parallel in one process.
fn settings(base_url: &str, variable: &str) -> OpenAiTtsSettings {
    std::env::set_var(variable, API_KEY);
    OpenAiTtsSettings {
        base_url: base_url.to_string(),
        api_key_variable: variable.to_string(),
        connect_timeout: Duration::from_secs(5),
        first_byte_timeout: Duration::from_secs(2),
        idle_timeout: Duration::from_secs(3),
        ..OpenAiTtsSettings::default()
    }
}

fn client(fake: &FakeOpenAiSpeech, variable: &str) -> OpenAiTts {
    OpenAiTts::new(settings(&fake.base_url, variable)).expect("the settings are valid")
}

/// Reads the stream to its end and returns the samples and the error that ended it, if any.
async fn drain(mut stream: TtsStream) -> (Vec<i16>, Option<SpeechError>) {
    let mut samples = Vec::new();
    while let Some(chunk) = stream.recv().await {
        match chunk {
            Ok(pcm) => samples.extend(pcm),
            Err(error) => {
                assert!(stream.recv().await.is_none(), "an error is the last item of the stream");
                return (samples, Some(error));
            }
        }
    }
    (samples, None)
}

/// Resamples 24 kHz audio to 8 kHz in one piece, the reference for the streamed result.
fn resample_whole(samples: &[i16]) -> Vec<i16> {
    let mut resampler = Resampler::new(24_000, 8_000).unwrap();
    let mut output = resampler.process(samples);
    output.extend(resampler.flush());
    output
}

#[tokio::test]
async fn speech_is_resampled_to_8k() {
    let fake = FakeOpenAiSpeech::start(vec![]).await;
    let tts = client(&fake, "OPENAI_TTS_KEY_RESAMPLE");

    let stream = tts.synthesize("  Buenos días, le llamo de Recupera.  ", Language::Es).await.expect("speech starts");
    let (samples, error) = drain(stream).await;

    let input = "Buenos días, le llamo de Recupera.";
    let rendered = render_pcm(input);
    assert_eq!(error, None);
    assert_eq!(rendered.len(), 34 * 240);
    assert_eq!(samples.len(), rendered.len() / 3);
    assert_eq!(samples, resample_whole(&rendered));

    let requests = fake.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].authorization.as_deref(), Some("Bearer test-openai-key"));
    let expected = json!({ "model": "tts-1", "input": input, "voice": "nova", "response_format": "pcm" });
    assert_eq!(requests[0].body, expected);
}

#[tokio::test]
async fn english_uses_english_voice() {
    let fake = FakeOpenAiSpeech::start(vec![]).await;
    let tts = client(&fake, "OPENAI_TTS_KEY_ENGLISH");

    let (samples, error) = drain(tts.synthesize("Thank you.", Language::En).await.unwrap()).await;

    assert_eq!(error, None);
    assert_eq!(samples, resample_whole(&render_pcm("Thank you.")));
    assert_eq!(fake.requests()[0].body["voice"], json!("alloy"));
}

#[tokio::test]
async fn base_url_with_v1_suffix_works() {
    let fake = FakeOpenAiSpeech::start(vec![]).await;
    let tts = OpenAiTts::new(settings(&format!("{}/v1/", fake.base_url), "OPENAI_TTS_KEY_V1")).unwrap();

    let (samples, error) = drain(tts.synthesize("Hola.", Language::Es).await.unwrap()).await;

    assert_eq!(tts.endpoint().as_str(), format!("{}/v1/audio/speech", fake.base_url));
    assert_eq!(error, None);
    assert_eq!(samples.len(), 5 * 80);
}

#[tokio::test]
async fn rate_limit_is_retryable_http_error() {
    let fake = FakeOpenAiSpeech::start(vec![Behaviour::RateLimited { retry_after_seconds: 20 }]).await;
    let tts = client(&fake, "OPENAI_TTS_KEY_429");

    let error = tts.synthesize("Hola.", Language::Es).await.err().expect("the request is rejected");

    let message = "Rate limit reached for requests per minute. Please try again in 20s. (type requests, code \
                   rate_limit_exceeded); rate limit or quota reached; retry after the delay or raise the limit";
    let expected = SpeechError::Http {
        provider: "openai-tts",
        status: 429,
        message: message.to_string(),
        retry_after: Some(Duration::from_secs(20)),
    };
    assert_eq!(error, expected);
    assert!(error.is_retryable());
}

#[tokio::test]
async fn server_error_is_retryable() {
    let fake = FakeOpenAiSpeech::start(vec![Behaviour::ServerError]).await;
    let tts = client(&fake, "OPENAI_TTS_KEY_500");

    let error = tts.synthesize("Hola.", Language::Es).await.err().expect("the request fails");

    let message =
        "The server had an error while processing your request. (type server_error); the server had an error; retry later";
    assert_eq!(
        error,
        SpeechError::Http { provider: "openai-tts", status: 500, message: message.to_string(), retry_after: None }
    );
    assert!(error.is_retryable());
}

#[tokio::test]
async fn wrong_api_key_names_the_variable() {
    let fake = FakeOpenAiSpeech::start(vec![]).await;
    let mut settings = settings(&fake.base_url, "OPENAI_TTS_KEY_WRONG");
    std::env::set_var("OPENAI_TTS_KEY_WRONG", "sk-not-the-key");
    settings.api_key_variable = "OPENAI_TTS_KEY_WRONG".to_string();
    let tts = OpenAiTts::new(settings).unwrap();

    let error = tts.synthesize("Hola.", Language::Es).await.err().expect("the key is rejected");

    let message = "Incorrect API key provided. (type invalid_request_error, code invalid_api_key); check the API \
                   key in OPENAI_TTS_KEY_WRONG";
    assert_eq!(
        error,
        SpeechError::Http { provider: "openai-tts", status: 401, message: message.to_string(), retry_after: None }
    );
    assert!(!error.is_retryable());
}

#[tokio::test]
async fn odd_trailing_byte_is_reported_after_audio() {
    let fake = FakeOpenAiSpeech::start(vec![Behaviour::OddTrailingByte]).await;
    let tts = client(&fake, "OPENAI_TTS_KEY_ODD");

    let (samples, error) = drain(tts.synthesize("Hola.", Language::Es).await.unwrap()).await;

    let rendered = render_pcm("Hola.");
    assert_eq!(samples, resample_whole(&rendered));
    let reason = format!(
        "the PCM body ended with an odd byte after {} bytes: 16-bit samples need 2 bytes each",
        rendered.len() * 2 + 1
    );
    assert_eq!(error, Some(SpeechError::Provider { provider: "openai-tts", reason }));
}

#[tokio::test]
async fn wav_body_is_rejected() {
    let fake = FakeOpenAiSpeech::start(vec![Behaviour::WrongFormat]).await;
    let tts = client(&fake, "OPENAI_TTS_KEY_WAV");

    let error = tts.synthesize("Hola.", Language::Es).await.err().expect("WAV is rejected");

    let reason = "audio arrived as WAV (RIFF header) instead of raw PCM; the server ignored response_format \
                  \"pcm\", so use a server that supports it";
    assert_eq!(error, SpeechError::Provider { provider: "openai-tts", reason: reason.to_string() });
}

#[tokio::test]
async fn dropped_connection_ends_with_error() {
    let fake = FakeOpenAiSpeech::start(vec![Behaviour::DropMidStream]).await;
    let tts = client(&fake, "OPENAI_TTS_KEY_DROP");

    let stream = tts.synthesize("Buenos días, le llamo de Recupera.", Language::Es).await.expect("audio arrives");
    let (samples, error) = drain(stream).await;

    // The first write is 500 samples and half of one; only whole resampler blocks came out.
    let mut resampler = Resampler::new(24_000, 8_000).unwrap();
    let expected = resampler.process(&render_pcm("Buenos días, le llamo de Recupera.")[..WRITE_BYTES / 2]);
    assert_eq!(samples, expected);
    let Some(SpeechError::Provider { reason, .. }) = error else { panic!("expected a provider error, got {error:?}") };
    assert!(reason.starts_with(&format!("the connection dropped after {WRITE_BYTES} bytes of audio: ")), "{reason}");
}

#[tokio::test(start_paused = true)]
async fn slow_first_byte_times_out() {
    let fake = FakeOpenAiSpeech::start(vec![Behaviour::SlowFirstByte(Duration::from_secs(60))]).await;
    let tts = client(&fake, "OPENAI_TTS_KEY_SLOW");

    let error = tts.synthesize("Hola.", Language::Es).await.err().expect("the first byte is late");

    let expected = SpeechError::Timeout { provider: "openai-tts", stage: "first byte", after: Duration::from_secs(2) };
    assert_eq!(error, expected);
    assert!(error.is_retryable());
}

#[tokio::test(start_paused = true)]
async fn stalled_body_times_out_after_audio() {
    let fake = FakeOpenAiSpeech::start(vec![Behaviour::Stall]).await;
    let tts = client(&fake, "OPENAI_TTS_KEY_STALL");

    let stream = tts.synthesize("Buenos días, le llamo de Recupera.", Language::Es).await.expect("audio arrives");
    let (samples, error) = drain(stream).await;

    let mut resampler = Resampler::new(24_000, 8_000).unwrap();
    let expected = resampler.process(&render_pcm("Buenos días, le llamo de Recupera.")[..WRITE_BYTES / 2]);
    assert_eq!(samples, expected);
    let timeout = SpeechError::Timeout { provider: "openai-tts", stage: "next chunk", after: Duration::from_secs(3) };
    assert_eq!(error, Some(timeout));
    assert!(!error.unwrap().is_retryable());
}

#[tokio::test]
async fn overlong_input_is_rejected_without_request() {
    let fake = FakeOpenAiSpeech::start(vec![]).await;
    let tts = client(&fake, "OPENAI_TTS_KEY_LONG");
    let text = "a".repeat(MAX_INPUT_CHARACTERS + 1);

    let error = tts.synthesize(&text, Language::Es).await.err().expect("the input is too long");

    let reason = "the phrase has 4097 characters but the speech endpoint takes at most 4096; split it into \
                  shorter phrases";
    assert_eq!(error, SpeechError::Provider { provider: "openai-tts", reason: reason.to_string() });
    assert_eq!(fake.requests().len(), 0);
}

#[test]
fn missing_api_key_names_the_variable() {
    let settings =
        OpenAiTtsSettings { api_key_variable: "OPENAI_TTS_KEY_NEVER_SET".to_string(), ..OpenAiTtsSettings::default() };

    let error = OpenAiTts::new(settings).err().expect("the key is missing");

    let reason = "environment variable OPENAI_TTS_KEY_NEVER_SET is missing or empty; set it to the OpenAI API key";
    assert_eq!(error, SpeechError::Unavailable { provider: "openai-tts", reason: reason.to_string() });
}

#[test]
fn debug_output_hides_the_api_key() {
    std::env::set_var("OPENAI_TTS_KEY_DEBUG", "sk-very-secret-value");
    let settings =
        OpenAiTtsSettings { api_key_variable: "OPENAI_TTS_KEY_DEBUG".to_string(), ..OpenAiTtsSettings::default() };

    let debug = format!("{:?}", OpenAiTts::new(settings).unwrap());

    assert!(!debug.contains("sk-very-secret-value"), "{debug}");
    assert!(debug.contains("ApiKey(<redacted>)"), "{debug}");
}

#[test]
fn characters_billed_counts_sent_input() {
    assert_eq!(characters_billed("  Buenos días.\n"), 12);
    assert_eq!(characters_billed(""), 0);
}
