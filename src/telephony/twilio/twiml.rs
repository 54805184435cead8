//! TwiML that connects a call to a bidirectional media stream, and the reader the carrier
//! simulator uses to follow it as Twilio would.

use quick_xml::events::Event as XmlEvent;
use quick_xml::Reader;

/// Builds `<Connect><Stream>` with the attempt passed as `<Parameter>`s: a stream URL must not
/// carry a query string. Nothing follows `</Connect>`, so closing the socket hangs up.
pub fn connect_stream(stream_url: &str, parameters: &[(&str, &str)]) -> String {
    let mut xml = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response><Connect>");
    xml.push_str(&format!("<Stream url=\"{}\">", escape(stream_url)));
    for (name, value) in parameters {
        xml.push_str(&format!("<Parameter name=\"{}\" value=\"{}\"/>", escape(name), escape(value)));
    }
    xml.push_str("</Stream></Connect></Response>");
    xml
}

/// TwiML that speaks nothing and hangs up, for a call that cannot be bridged.
pub fn hangup() -> String {
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response><Hangup/></Response>".to_string()
}

/// The stream a `<Connect><Stream>` document tells the carrier to open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamTarget {
    pub url: String,
    pub parameters: Vec<(String, String)>,
}

#[derive(Debug, thiserror::Error)]
pub enum TwimlError {
    #[error("TwiML is not valid XML: {0}")]
    Xml(String),
    #[error("TwiML has no <Connect><Stream url=...>; the server must answer /twilio/voice with one")]
    NoStream,
}

/// Finds the stream URL and its parameters in a TwiML document.
pub fn parse_stream_target(twiml: &str) -> Result<StreamTarget, TwimlError> {
    let mut reader = Reader::from_str(twiml);
    let mut in_connect = false;
    let mut target: Option<StreamTarget> = None;
    loop {
        let event = reader.read_event().map_err(|e| TwimlError::Xml(e.to_string()))?;
        match event {
            XmlEvent::Start(tag) | XmlEvent::Empty(tag) => {
                let name = tag.name().as_ref().to_vec();
                match name.as_slice() {
                    b"Connect" => in_connect = true,
                    b"Stream" if in_connect => {
                        let url = attribute(&tag, b"url")?.ok_or(TwimlError::NoStream)?;
                        target = Some(StreamTarget { url, parameters: Vec::new() });
                    }
                    b"Parameter" => {
                        if let Some(target) = target.as_mut() {
                            let name = attribute(&tag, b"name")?.unwrap_or_default();
                            let value = attribute(&tag, b"value")?.unwrap_or_default();
                            target.parameters.push((name, value));
                        }
                    }
                    _ => {}
                }
            }
            XmlEvent::End(tag) if tag.name().as_ref() == b"Connect" => in_connect = false,
            XmlEvent::Eof => break,
            _ => {}
        }
    }
    target.ok_or(TwimlError::NoStream)
}

fn attribute(tag: &quick_xml::events::BytesStart<'_>, key: &[u8]) -> Result<Option<String>, TwimlError> {
    for attr in tag.attributes() {
        let attr = attr.map_err(|e| TwimlError::Xml(e.to_string()))?;
        if attr.key.as_ref() == key {
            let value = attr.unescape_value().map_err(|e| TwimlError::Xml(e.to_string()))?;
            return Ok(Some(value.into_owned()));
        }
    }
    Ok(None)
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('"', "&quot;").replace('<', "&lt;").replace('>', "&gt;").replace('\'', "&apos;")
}
