//! The chat-completions client against a fake OpenAI-compatible server on 127.0.0.1.

mod fake_llm;

use std::time::Duration;

use serde_json::json;

use cobranza::llm::{
    ChatClient, ChatCompletion, ChatRequest, ChatSettings, FinishReason, LlmError, Message, PartialToolCall, ToolCall,
    ToolChoice, ToolDefinition, Usage,
};
use fake_llm::{chunk, content, done, error_body, split_into_writes, usage, Ending, FakeLlm, Reply};

const API_KEY: &str = "sk-test-0123456789";

/// Builds settings whose API key is read from a variable unique to the test, so tests running in
/// parallel never share one.
fn settings(base_url: &str, variable: &str) -> ChatSettings {
    std::env::set_var(variable, API_KEY);
    ChatSettings {
        base_url: base_url.to_string(),
        model: "fake-model".to_string(),
        api_key_variable: variable.to_string(),
        connect_timeout: Duration::from_secs(30),
        first_byte_timeout: Duration::from_secs(30),
        idle_timeout: Duration::from_secs(30),
    }
}

fn client(fake: &FakeLlm, variable: &str) -> ChatClient {
    ChatClient::new(settings(&fake.base_url, variable)).expect("client")
}

fn interpret_tool() -> ToolDefinition {
    ToolDefinition {
        name: "interpret".to_string(),
        description: "Returns the debtor's intent and slots".to_string(),
        parameters: json!({
            "type": "object",
            "properties": { "intent": { "type": "string" }, "amount": { "type": "number" } },
            "required": ["intent"],
        }),
    }
}

fn request_with_tool() -> ChatRequest {
    ChatRequest {
        messages: vec![Message::System("Eres un agente de cobranza.".into()), Message::User("Puedo pagar 500".into())],
        tools: vec![interpret_tool()],
        tool_choice: ToolChoice::Function("interpret".into()),
    }
}

fn events(writes: Vec<Vec<u8>>) -> Reply {
    Reply::Events { writes, ending: Ending::Close }
}

fn tool_fragment(index: Option<u64>, id: Option<&str>, name: Option<&str>, arguments: &str) -> serde_json::Value {
    let mut fragment = json!({ "function": { "arguments": arguments } });
    if let Some(index) = index {
        fragment["index"] = json!(index);
    }
    if let Some(id) = id {
        fragment["id"] = json!(id);
        fragment["type"] = json!("function");
    }
    if let Some(name) = name {
        fragment["function"]["name"] = json!(name);
    }
    json!({ "tool_calls": [fragment] })
}

#[tokio::test]
async fn content_deltas_are_joined_and_streamed() {
    let script = vec![
        b": keep-alive\n\n".to_vec(),
        chunk(json!({ "role": "assistant", "content": "" }), None),
        content("Hola, "),
        b"event: message\r\n".to_vec(),
        content("¿me confirma su nombre?").iter().copied().filter(|&b| b != b'\n').chain(*b"\r\n\r\n").collect(),
        chunk(json!({}), Some("stop")),
        usage(42, 7),
        done(),
    ];
    let fake = FakeLlm::start(API_KEY, vec![events(split_into_writes(&script, 5))]).await;
    let client = client(&fake, "LLM_KEY_CONTENT");
    let mut deltas = Vec::new();

    let completion = client
        .stream(&ChatRequest { messages: vec![Message::User("Hola".into())], ..ChatRequest::default() }, |text| {
            deltas.push(text.to_string())
        })
        .await
        .expect("completion");

    assert_eq!(
        completion,
        ChatCompletion {
            content: "Hola, ¿me confirma su nombre?".into(),
            tool_calls: vec![],
            finish_reason: Some(FinishReason::Stop),
            usage: Some(Usage { prompt_tokens: 42, completion_tokens: 7 }),
        }
    );
    assert_eq!(deltas, vec!["Hola, ", "¿me confirma su nombre?"]);
}

#[tokio::test]
async fn request_body_matches_openai_shape() {
    let fake = FakeLlm::start(API_KEY, vec![events(vec![content("ok"), done()])]).await;
    let client = client(&fake, "LLM_KEY_BODY");

    client.complete(&request_with_tool()).await.expect("completion");

    let requests = fake.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(
        requests[0],
        json!({
            "model": "fake-model",
            "stream": true,
            "stream_options": { "include_usage": true },
            "messages": [
                { "role": "system", "content": "Eres un agente de cobranza." },
                { "role": "user", "content": "Puedo pagar 500" },
            ],
            "tools": [{
                "type": "function",
                "function": {
                    "name": "interpret",
                    "description": "Returns the debtor's intent and slots",
                    "parameters": {
                        "type": "object",
                        "properties": { "intent": { "type": "string" }, "amount": { "type": "number" } },
                        "required": ["intent"],
                    },
                },
            }],
            "tool_choice": { "type": "function", "function": { "name": "interpret" } },
        })
    );
}

#[tokio::test]
async fn follow_up_turn_sends_tool_calls_and_results() {
    let fake = FakeLlm::start(API_KEY, vec![events(vec![content("Gracias"), done()])]).await;
    let client = client(&fake, "LLM_KEY_FOLLOW_UP");
    let call = ToolCall { id: "call_1".into(), name: "interpret".into(), arguments: json!({ "intent": "promise" }) };
    let request = ChatRequest {
        messages: vec![
            Message::User("Pago el viernes".into()),
            Message::Assistant { content: None, tool_calls: vec![call] },
            Message::Tool { tool_call_id: "call_1".into(), content: "{\"ok\":true}".into() },
        ],
        tools: vec![interpret_tool()],
        tool_choice: ToolChoice::Auto,
    };

    client.complete(&request).await.expect("completion");

    let body = &fake.requests()[0];
    assert_eq!(
        body["messages"][1],
        json!({
            "role": "assistant",
            "content": null,
            "tool_calls": [{
                "id": "call_1",
                "type": "function",
                "function": { "name": "interpret", "arguments": "{\"intent\":\"promise\"}" },
            }],
        })
    );
    assert_eq!(body["messages"][2], json!({ "role": "tool", "tool_call_id": "call_1", "content": "{\"ok\":true}" }));
    assert_eq!(body["tool_choice"], json!("auto"));
}

#[tokio::test]
async fn parallel_tool_calls_are_joined_by_index() {
    let script = vec![
        chunk(tool_fragment(Some(0), Some("call_a"), Some("interpret"), ""), None),
        chunk(tool_fragment(Some(1), Some("call_b"), Some("lookup_debt"), ""), None),
        chunk(tool_fragment(Some(0), None, None, "{\"intent\":"), None),
        chunk(tool_fragment(Some(1), None, None, "{\"debtor_id\":"), None),
        chunk(tool_fragment(Some(0), None, None, "\"promise\",\"amount\":500}"), None),
        chunk(tool_fragment(Some(1), None, None, "\"D-17\"}"), None),
        chunk(json!({}), Some("tool_calls")),
        usage(120, 31),
        done(),
    ];
    let fake = FakeLlm::start(API_KEY, vec![events(split_into_writes(&script, 7))]).await;
    let client = client(&fake, "LLM_KEY_PARALLEL");

    let completion = client.complete(&request_with_tool()).await.expect("completion");

    assert_eq!(completion.content, "");
    assert_eq!(
        completion.tool_calls,
        vec![
            ToolCall {
                id: "call_a".into(),
                name: "interpret".into(),
                arguments: json!({ "intent": "promise", "amount": 500 }),
            },
            ToolCall { id: "call_b".into(), name: "lookup_debt".into(), arguments: json!({ "debtor_id": "D-17" }) },
        ]
    );
    assert_eq!(completion.finish_reason, Some(FinishReason::ToolCalls));
    assert_eq!(completion.usage, Some(Usage { prompt_tokens: 120, completion_tokens: 31 }));
}

#[tokio::test]
async fn tool_calls_without_index_split_on_new_id() {
    let script = vec![
        chunk(tool_fragment(None, Some("call_x"), Some("interpret"), "{\"intent\""), None),
        chunk(tool_fragment(None, None, None, ":\"dispute\"}"), None),
        chunk(tool_fragment(None, Some("call_y"), Some("transfer"), "{}"), None),
        chunk(json!({}), Some("tool_calls")),
        done(),
    ];
    let fake = FakeLlm::start(API_KEY, vec![events(split_into_writes(&script, 11))]).await;
    let client = client(&fake, "LLM_KEY_NO_INDEX");

    let completion = client.complete(&request_with_tool()).await.expect("completion");

    assert_eq!(
        completion.tool_calls,
        vec![
            ToolCall { id: "call_x".into(), name: "interpret".into(), arguments: json!({ "intent": "dispute" }) },
            ToolCall { id: "call_y".into(), name: "transfer".into(), arguments: json!({}) },
        ]
    );
    assert_eq!(completion.finish_reason, Some(FinishReason::ToolCalls));
    assert_eq!(completion.usage, None);
}

#[tokio::test]
async fn tool_call_in_one_chunk_is_parsed() {
    let script = vec![
        chunk(
            tool_fragment(Some(0), Some("call_1"), Some("interpret"), "{\"intent\":\"callback\"}"),
            Some("tool_calls"),
        ),
        done(),
    ];
    let fake = FakeLlm::start(API_KEY, vec![events(script)]).await;
    let client = client(&fake, "LLM_KEY_ONE_CHUNK");

    let completion = client.complete(&request_with_tool()).await.expect("completion");

    assert_eq!(
        completion.tool_calls,
        vec![ToolCall { id: "call_1".into(), name: "interpret".into(), arguments: json!({ "intent": "callback" }) }]
    );
}

#[tokio::test]
async fn invalid_tool_arguments_are_reported() {
    let script = vec![chunk(tool_fragment(Some(0), Some("call_1"), Some("interpret"), "{\"intent\":"), None), done()];
    let fake = FakeLlm::start(API_KEY, vec![events(script)]).await;
    let client = client(&fake, "LLM_KEY_BAD_ARGUMENTS");

    let error = client.complete(&request_with_tool()).await.unwrap_err();

    let LlmError::InvalidToolArguments { name, arguments, .. } = &error else {
        panic!("expected InvalidToolArguments, got {error:?}");
    };
    assert_eq!(name, "interpret");
    assert_eq!(arguments, "{\"intent\":");
}

#[tokio::test]
async fn rate_limit_reports_status_message_and_retry_after() {
    let reply = Reply::Status {
        status: 429,
        retry_after: Some(7),
        body: error_body("Rate limit reached for requests", "requests"),
    };
    let fake = FakeLlm::start(API_KEY, vec![reply]).await;
    let client = client(&fake, "LLM_KEY_429");

    let error = client.complete(&request_with_tool()).await.unwrap_err();

    assert_eq!(error.to_string(), "LLM server returned HTTP 429: Rate limit reached for requests (retry after 7 s)");
    let LlmError::Http { status, error_type, message, retry_after } = &error else {
        panic!("expected Http, got {error:?}");
    };
    assert_eq!(*status, 429);
    assert_eq!(error_type.as_deref(), Some("requests"));
    assert_eq!(message, "Rate limit reached for requests");
    assert_eq!(*retry_after, Some(Duration::from_secs(7)));
    assert!(error.is_retryable());
}

#[tokio::test]
async fn server_error_reports_status_and_message() {
    let reply =
        Reply::Status { status: 500, retry_after: None, body: error_body("The server had an error", "server_error") };
    let fake = FakeLlm::start(API_KEY, vec![reply]).await;
    let client = client(&fake, "LLM_KEY_500");

    let error = client.complete(&request_with_tool()).await.unwrap_err();

    assert_eq!(error.to_string(), "LLM server returned HTTP 500: The server had an error");
    let LlmError::Http { status, error_type, retry_after, .. } = &error else {
        panic!("expected Http, got {error:?}");
    };
    assert_eq!(*status, 500);
    assert_eq!(error_type.as_deref(), Some("server_error"));
    assert_eq!(*retry_after, None);
    assert!(error.is_retryable());
}

#[tokio::test]
async fn plain_text_error_body_becomes_the_message() {
    let reply = Reply::Status { status: 502, retry_after: None, body: "Bad Gateway".into() };
    let fake = FakeLlm::start(API_KEY, vec![reply]).await;
    let client = client(&fake, "LLM_KEY_502");

    let error = client.complete(&request_with_tool()).await.unwrap_err();

    assert_eq!(error.to_string(), "LLM server returned HTTP 502: Bad Gateway");
}

#[tokio::test]
async fn wrong_api_key_is_rejected_with_401() {
    let fake = FakeLlm::start("sk-another-key", vec![]).await;
    let client = client(&fake, "LLM_KEY_WRONG");

    let error = client.complete(&request_with_tool()).await.unwrap_err();

    assert_eq!(error.to_string(), "LLM server returned HTTP 401: Incorrect API key provided");
    assert!(!error.is_retryable());
}

#[tokio::test]
async fn base_url_with_v1_suffix_works() {
    let fake = FakeLlm::start(API_KEY, vec![events(vec![content("sí"), done()])]).await;
    let client = ChatClient::new(settings(&format!("{}/v1/", fake.base_url), "LLM_KEY_V1")).expect("client");

    let completion = client.complete(&request_with_tool()).await.expect("completion");

    assert_eq!(completion.content, "sí");
}

#[tokio::test]
async fn wrong_path_returns_404() {
    let fake = FakeLlm::start(API_KEY, vec![]).await;
    let client = ChatClient::new(settings(&format!("{}/proxy", fake.base_url), "LLM_KEY_PATH")).expect("client");

    let error = client.complete(&request_with_tool()).await.unwrap_err();

    assert_eq!(error.to_string(), "LLM server returned HTTP 404: (empty body)");
}

#[tokio::test]
async fn missing_api_key_variable_is_reported() {
    let mut settings = settings("http://127.0.0.1:9", "LLM_KEY_PRESENT");
    settings.api_key_variable = "LLM_KEY_NEVER_SET".into();

    let error = ChatClient::new(settings).unwrap_err();

    assert_eq!(error.to_string(), "LLM API key is missing: set the environment variable LLM_KEY_NEVER_SET");
}

#[tokio::test]
async fn debug_output_hides_the_api_key() {
    let client = ChatClient::new(settings("http://127.0.0.1:9", "LLM_KEY_DEBUG")).expect("client");

    let printed = format!("{client:?}");

    assert!(!printed.contains(API_KEY), "{printed}");
    assert_eq!(
        printed,
        "ChatClient { endpoint: \"http://127.0.0.1:9/v1/chat/completions\", model: \"fake-model\", .. }"
    );
}

#[tokio::test]
async fn malformed_chunk_names_the_line_and_keeps_content() {
    let script = vec![content("Buenas "), content("tardes"), b"data: {\"choices\": [\n\n".to_vec(), done()];
    let fake = FakeLlm::start(API_KEY, vec![events(script)]).await;
    let client = client(&fake, "LLM_KEY_MALFORMED");

    let error = client.complete(&request_with_tool()).await.unwrap_err();

    let LlmError::MalformedChunk { line, received, .. } = &error else {
        panic!("expected MalformedChunk, got {error:?}");
    };
    assert_eq!(line, "{\"choices\": [");
    assert_eq!(received.content, "Buenas tardes");
    assert!(error.to_string().starts_with("LLM server sent a malformed chunk ("), "{error}");
    assert!(
        error.to_string().ends_with("in line '{\"choices\": ['; 13 characters of content and 0 tool calls received"),
        "{error}"
    );
}

#[tokio::test]
async fn error_event_inside_the_stream_is_reported() {
    let script = vec![content("Un momento"), b"data: {\"error\":{\"message\":\"model overloaded\"}}\n\n".to_vec()];
    let fake = FakeLlm::start(API_KEY, vec![events(script)]).await;
    let client = client(&fake, "LLM_KEY_STREAM_ERROR");

    let error = client.complete(&request_with_tool()).await.unwrap_err();

    assert_eq!(
        error.to_string(),
        "LLM server reported an error inside the stream: model overloaded; 10 characters of content and 0 tool calls received"
    );
}

#[tokio::test(start_paused = true)]
async fn slow_first_byte_times_out() {
    let reply = Reply::Delayed { delay: Duration::from_secs(3600), reply: Box::new(events(vec![done()])) };
    let fake = FakeLlm::start(API_KEY, vec![reply]).await;
    let mut settings = settings(&fake.base_url, "LLM_KEY_SLOW");
    settings.first_byte_timeout = Duration::from_secs(5);
    let client = ChatClient::new(settings).expect("client");

    let error = client.complete(&request_with_tool()).await.unwrap_err();

    let LlmError::FirstByteTimeout { timeout, .. } = &error else {
        panic!("expected FirstByteTimeout, got {error:?}");
    };
    assert_eq!(*timeout, Duration::from_secs(5));
    assert!(error.to_string().ends_with("sent no response within the first-byte timeout of 5s"), "{error}");
}

#[tokio::test(start_paused = true)]
async fn silent_stream_times_out_with_received_content() {
    let reply = Reply::Stall { writes: vec![content("Le llamo")], pause: Duration::from_secs(3600) };
    let fake = FakeLlm::start(API_KEY, vec![reply]).await;
    let mut settings = settings(&fake.base_url, "LLM_KEY_IDLE");
    settings.idle_timeout = Duration::from_secs(10);
    let client = ChatClient::new(settings).expect("client");

    let error = client.complete(&request_with_tool()).await.unwrap_err();

    let LlmError::IdleTimeout { timeout, received } = &error else {
        panic!("expected IdleTimeout, got {error:?}");
    };
    assert_eq!(*timeout, Duration::from_secs(10));
    assert_eq!(received.content, "Le llamo");
}

#[tokio::test]
async fn dropped_connection_reports_stream_ended_before_done() {
    let script = vec![
        content("Su saldo es "),
        chunk(tool_fragment(Some(0), Some("call_1"), Some("interpret"), "{\"intent\":\"bal"), None),
    ];
    let fake = FakeLlm::start(API_KEY, vec![Reply::Events { writes: script, ending: Ending::Abort }]).await;
    let client = client(&fake, "LLM_KEY_DROP");

    let error = client.complete(&request_with_tool()).await.unwrap_err();

    let LlmError::StreamEndedEarly { received, .. } = &error else {
        panic!("expected StreamEndedEarly, got {error:?}");
    };
    assert_eq!(received.content, "Su saldo es ");
    assert_eq!(
        received.tool_calls,
        vec![PartialToolCall {
            index: 0,
            id: Some("call_1".into()),
            name: Some("interpret".into()),
            arguments: "{\"intent\":\"bal".into(),
        }]
    );
    assert!(error.to_string().starts_with("LLM stream ended before [DONE] ("), "{error}");
    assert!(error.is_retryable());
}

#[tokio::test]
async fn stream_closed_without_done_is_an_error() {
    let fake = FakeLlm::start(API_KEY, vec![events(vec![content("Adiós")])]).await;
    let client = client(&fake, "LLM_KEY_NO_DONE");

    let error = client.complete(&request_with_tool()).await.unwrap_err();

    assert_eq!(
        error.to_string(),
        "LLM stream ended before [DONE] (the server closed the connection); 5 characters of content and 0 tool calls received"
    );
}

#[tokio::test]
async fn refused_connection_is_a_connect_error() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base_url = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let client = ChatClient::new(settings(&base_url, "LLM_KEY_REFUSED")).expect("client");

    let error = client.complete(&request_with_tool()).await.unwrap_err();

    assert!(matches!(error, LlmError::Connect { .. }), "{error:?}");
    assert!(error.is_retryable());
}
