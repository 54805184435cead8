//! The Twilio wire formats: every Media Streams message of the protocol, webhook signatures
//! against Twilio's published vectors, and the TwiML that bridges a call.

use cobranza::telephony::twilio::media::to_inbound;
use cobranza::telephony::twilio::messages::{OutboundMessage, StreamMessage};
use cobranza::telephony::twilio::{signature, twiml};
use cobranza::telephony::Inbound;

const STREAM: &str = "MZ18ad3ab5a668481ce02b83e7395059f0";

#[test]
fn connected_without_sequence_number() {
    let message = StreamMessage::parse(r#"{"event":"connected","protocol":"Call","version":"1.0.0"}"#).expect("valid");
    assert_eq!(message, StreamMessage::Connected { protocol: Some("Call".into()), version: Some("1.0.0".into()) });
    assert_eq!(to_inbound(message), None);
}

#[test]
fn start_with_parameters_and_string_numbers() {
    let text = r#"{"event":"start","sequenceNumber":"1","start":{"accountSid":"AC123","streamSid":"MZ18ad3ab5a668481ce02b83e7395059f0","callSid":"CA123","tracks":["inbound"],"mediaFormat":{"encoding":"audio/x-mulaw","sampleRate":8000,"channels":1},"customParameters":{"attempt":"42","token":"abc"}},"streamSid":"MZ18ad3ab5a668481ce02b83e7395059f0"}"#;
    let StreamMessage::Start { sequence_number, stream_sid, start } = StreamMessage::parse(text).expect("valid") else {
        panic!("not a start message");
    };
    assert_eq!(sequence_number, Some(1));
    assert_eq!(stream_sid, STREAM);
    assert_eq!(start.call_sid, "CA123");
    assert_eq!(start.account_sid, "AC123");
    assert_eq!(start.tracks, vec!["inbound".to_string()]);
    assert_eq!(start.custom_parameters.get("attempt").map(String::as_str), Some("42"));
    assert_eq!(start.custom_parameters.get("token").map(String::as_str), Some("abc"));
    assert_eq!(start.media_format.encoding, "audio/x-mulaw");
    assert_eq!(start.media_format.sample_rate, 8000);
    assert_eq!(start.media_format.channels, 1);
}

#[test]
fn media_numbers_arrive_as_strings() {
    let text = r#"{"event":"media","sequenceNumber":"3","media":{"track":"inbound","chunk":"1","timestamp":"5","payload":"//9/fw=="},"streamSid":"MZ18ad3ab5a668481ce02b83e7395059f0"}"#;
    let message = StreamMessage::parse(text).expect("valid");
    let StreamMessage::Media { sequence_number, media, .. } = &message else { panic!("not media") };
    assert_eq!(*sequence_number, Some(3));
    assert_eq!(media.chunk, Some(1));
    assert_eq!(media.timestamp, Some(5));
    assert_eq!(media.track.as_deref(), Some("inbound"));
    assert_eq!(
        to_inbound(message),
        Some(Inbound::Audio { timestamp_ms: Some(5), mulaw: vec![0xFF, 0xFF, 0x7F, 0x7F] })
    );
}

#[test]
fn media_numbers_also_accepted_as_json_numbers() {
    let text =
        r#"{"event":"media","sequenceNumber":4,"media":{"chunk":2,"timestamp":20,"payload":""},"streamSid":"MZ1"}"#;
    let StreamMessage::Media { sequence_number, media, .. } = StreamMessage::parse(text).expect("valid") else {
        panic!("not media")
    };
    assert_eq!(sequence_number, Some(4));
    assert_eq!(media.timestamp, Some(20));
}

#[test]
fn media_with_non_numeric_timestamp_is_rejected() {
    let text = r#"{"event":"media","sequenceNumber":"3","media":{"timestamp":"soon","payload":""},"streamSid":"MZ1"}"#;
    let error = StreamMessage::parse(text).expect_err("invalid");
    assert!(error.to_string().contains("'soon' is not a whole number"), "{error}");
}

#[test]
fn dtmf_becomes_a_digit() {
    let text =
        r#"{"event":"dtmf","streamSid":"MZ1","sequenceNumber":"5","dtmf":{"track":"inbound_track","digit":"1"}}"#;
    assert_eq!(to_inbound(StreamMessage::parse(text).expect("valid")), Some(Inbound::Dtmf('1')));
}

#[test]
fn mark_echo_carries_its_name() {
    let text = r#"{"event":"mark","sequenceNumber":"4","streamSid":"MZ1","mark":{"name":"3:greeting"}}"#;
    assert_eq!(to_inbound(StreamMessage::parse(text).expect("valid")), Some(Inbound::MarkPlayed("3:greeting".into())));
}

#[test]
fn stop_ends_the_stream() {
    let text = r#"{"event":"stop","sequenceNumber":"5","streamSid":"MZ1","stop":{"accountSid":"AC1","callSid":"CA1"}}"#;
    assert_eq!(to_inbound(StreamMessage::parse(text).expect("valid")), Some(Inbound::Stop));
}

#[test]
fn unknown_event_is_ignored() {
    let message = StreamMessage::parse(r#"{"event":"transcription","streamSid":"MZ1","text":"hola"}"#).expect("parses");
    assert_eq!(message, StreamMessage::Unknown);
    assert_eq!(to_inbound(message), None);
}

#[test]
fn non_json_is_an_error_naming_the_message() {
    let error = StreamMessage::parse("hello").expect_err("invalid");
    assert!(error.to_string().contains("\"hello\""), "{error}");
}

#[test]
fn outbound_messages_have_exact_shapes() {
    let media = OutboundMessage::media(STREAM, &[0xFF; 160]).to_json();
    let value: serde_json::Value = serde_json::from_str(&media).expect("json");
    assert_eq!(value["event"], "media");
    assert_eq!(value["streamSid"], STREAM);
    let encoded = value["media"]["payload"].as_str().expect("payload");
    assert_eq!(encoded.len(), 216);
    assert!(encoded.ends_with("///w=="));
    assert_eq!(value.as_object().expect("object").len(), 3);

    assert_eq!(
        OutboundMessage::mark(STREAM, "7:read_back").to_json(),
        format!(r#"{{"event":"mark","streamSid":"{STREAM}","mark":{{"name":"7:read_back"}}}}"#)
    );
    assert_eq!(OutboundMessage::clear(STREAM).to_json(), format!(r#"{{"event":"clear","streamSid":"{STREAM}"}}"#));
}

#[test]
fn direct_media_json_equals_serialized() {
    for mulaw in [vec![], vec![0xFF; 160], (0..=255).collect::<Vec<u8>>(), vec![7; 161]] {
        for sid in [STREAM, "MZ\"quoted\""] {
            assert_eq!(OutboundMessage::media_json(sid, &mulaw), OutboundMessage::media(sid, &mulaw).to_json());
        }
    }
}

fn params(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

fn twilio_example_params() -> Vec<(String, String)> {
    params(&[
        ("CallSid", "CA1234567890ABCDE"),
        ("Caller", "+14158675309"),
        ("Digits", "1234"),
        ("From", "+14158675309"),
        ("To", "+18005551212"),
    ])
}

#[test]
fn signature_matches_twilio_vectors() {
    let url = "https://mycompany.com/myapp.php?foo=1&bar=2";
    assert_eq!(signature::compute("12345", url, &twilio_example_params()), "RSOYDt4T1cUTdK1PDd93/VVr8B8=");
    assert_eq!(
        signature::compute("12345", "https://mycompany.com:443/myapp.php?foo=1&bar=2", &twilio_example_params()),
        "kvajT1Ptam85bY51eRf/AJRuM3w="
    );
    assert_eq!(
        signature::compute("12345", "http://mycompany.com:80/myapp.php?foo=1&bar=2", &twilio_example_params()),
        "0ZXoZLH/DfblKGATFgpif+LLRf4="
    );
    assert_eq!(
        signature::compute("12345", "http://mycompany.com:1234/myapp.php?foo=1&bar=2", &twilio_example_params()),
        "Zmvh+3yNM1Phv2jhDCwEM3q5ebU="
    );
}

#[test]
fn signature_sorts_duplicate_values() {
    let pairs = params(&[("Sid", "CA123"), ("SidAccount", "AC123"), ("Digits", "5678"), ("Digits", "1234")]);
    assert_eq!(
        signature::compute("12345", "https://mycompany.com/myapp.php?foo=1&bar=2", &pairs),
        "IK+Dwps556ElfBT0I3Rgjkr1wJU="
    );
}

#[test]
fn signature_of_stream_upgrade() {
    assert_eq!(signature::compute("12345", "wss://example.com/media", &[]), "7PR3qMkpDyEJtMrVOY/LDyNq8J8=");
}

#[test]
fn validation_accepts_port_variants() {
    let signed = "RSOYDt4T1cUTdK1PDd93/VVr8B8=";
    let params = twilio_example_params();
    assert!(signature::is_valid("12345", "https://mycompany.com:1234/myapp.php?foo=1&bar=2", &params, signed));
    assert!(signature::is_valid("12345", "https://mycompany.com/myapp.php?foo=1&bar=2", &params, signed));
    assert!(signature::is_valid(
        "12345",
        "https://mycompany.com/myapp.php?foo=1&bar=2",
        &params,
        "kvajT1Ptam85bY51eRf/AJRuM3w="
    ));
}

#[test]
fn validation_rejects_tampering() {
    let url = "https://mycompany.com/myapp.php?foo=1&bar=2";
    let signed = "RSOYDt4T1cUTdK1PDd93/VVr8B8=";
    let mut tampered = twilio_example_params();
    tampered[2].1 = "9999".into();
    assert!(!signature::is_valid("12345", url, &tampered, signed));
    assert!(!signature::is_valid("54321", url, &twilio_example_params(), signed));
    assert!(!signature::is_valid("12345", url, &twilio_example_params(), ""));
}

#[test]
fn twiml_connects_stream_without_query() {
    let xml = twiml::connect_stream("wss://calls.example.com/twilio/media", &[("attempt", "42"), ("token", "a&b")]);
    assert_eq!(
        xml,
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response><Connect><Stream url=\"wss://calls.example.com/twilio/media\">\
         <Parameter name=\"attempt\" value=\"42\"/><Parameter name=\"token\" value=\"a&amp;b\"/></Stream></Connect></Response>"
    );
    let target = twiml::parse_stream_target(&xml).expect("has a stream");
    assert_eq!(target.url, "wss://calls.example.com/twilio/media");
    assert_eq!(target.parameters, params(&[("attempt", "42"), ("token", "a&b")]));
}

#[test]
fn twiml_without_stream_is_an_error() {
    let error = twiml::parse_stream_target(&twiml::hangup()).expect_err("no stream");
    assert!(matches!(error, twiml::TwimlError::NoStream));
}

mod media_fast_path {
    use base64::engine::general_purpose::STANDARD as BASE64;
    use base64::Engine as _;
    use cobranza::telephony::twilio::media::to_inbound;
    use cobranza::telephony::twilio::messages::{MediaFrame, StreamMessage};
    use cobranza::telephony::Inbound;
    use proptest::prelude::*;

    /// What the general parser makes of a message, for comparison.
    fn general(text: &str) -> Option<Inbound> {
        StreamMessage::parse(text).ok().and_then(to_inbound)
    }

    proptest! {
        #[test]
        fn fast_path_matches_general_parser(
            payload in proptest::collection::vec(any::<u8>(), 0..400),
            timestamp in any::<u32>(),
            as_string in any::<bool>(),
            media_first in any::<bool>(),
        ) {
            let encoded = BASE64.encode(&payload);
            let stamp = if as_string { format!("\"{timestamp}\"") } else { timestamp.to_string() };
            let media = format!(r#""media":{{"track":"inbound","chunk":"7","timestamp":{stamp},"payload":"{encoded}"}}"#);
            let head = r#""event":"media","sequenceNumber":"9","streamSid":"MZ1""#;
            let text = if media_first { format!("{{{media},{head}}}") } else { format!("{{{head},{media}}}") };
            let frame = MediaFrame::parse(&text).expect("a media message");
            prop_assert_eq!(frame.timestamp, Some(u64::from(timestamp)));
            let fast = Inbound::Audio { timestamp_ms: frame.timestamp, mulaw: frame.audio().expect("base64") };
            prop_assert_eq!(Some(fast), general(&text));
        }
    }

    #[test]
    fn other_messages_take_general_path() {
        for text in [
            r#"{"event":"mark","streamSid":"MZ1","mark":{"name":"1:greeting"}}"#,
            r#"{"event":"media","media":{"payload":"/w=="}}"#,
            r#"{"event":"media","streamSid":"MZ1"}"#,
            r#"{"event":"stop","streamSid":"MZ1"}"#,
            "not json",
        ] {
            assert_eq!(MediaFrame::parse(text), None, "{text}");
        }
    }

    #[test]
    fn bad_timestamp_not_fast_media() {
        let text = r#"{"event":"media","streamSid":"MZ1","media":{"timestamp":"x","payload":""}}"#;
        assert_eq!(MediaFrame::parse(text), None);
        assert!(StreamMessage::parse(text).is_err());
    }
}
