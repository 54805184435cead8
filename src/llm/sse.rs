//! Server-sent events as OpenAI-compatible servers send them: one `data:` line per event.

/// One meaningful line of an event stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SseLine {
    /// The payload of a `data:` line other than `[DONE]`.
    Data(String),
    /// `data: [DONE]`, the end of the stream.
    Done,
}

/// Splits a byte stream into lines, keeping a line cut by a chunk boundary until its end arrives.
#[derive(Debug, Default)]
pub struct SseLineSplitter {
    pending: Vec<u8>,
}

impl SseLineSplitter {
    /// Appends a chunk and returns the complete lines it finished, in order.
    pub fn push(&mut self, chunk: &[u8]) -> Vec<SseLine> {
        self.pending.extend_from_slice(chunk);
        let mut lines = Vec::new();
        while let Some(newline) = self.pending.iter().position(|&byte| byte == b'\n') {
            let raw: Vec<u8> = self.pending.drain(..=newline).collect();
            if let Some(line) = classify(&raw[..newline]) {
                lines.push(line);
            }
        }
        lines
    }

    /// Returns the last line when the stream ended without a final newline.
    pub fn finish(&mut self) -> Option<SseLine> {
        let rest = std::mem::take(&mut self.pending);
        classify(&rest)
    }
}

/// Classifies one line without its `\n`. Blank lines, `:` comments (keep-alives) and the
/// `event:`, `id:` and `retry:` fields carry nothing a chat completion needs.
///
/// Limitation: each `data:` line is taken as a whole event, as OpenAI-compatible servers send
/// them, so an event whose JSON is spread over several `data:` lines is reported as malformed.
fn classify(raw: &[u8]) -> Option<SseLine> {
    // A multi-byte UTF-8 character never contains the byte 0x0A, so a line split at `\n` is
    // still valid UTF-8 when the stream is.
    let text = String::from_utf8_lossy(raw);
    let line = text.strip_suffix('\r').unwrap_or(&text);
    let payload = line.strip_prefix("data:")?;
    let payload = payload.strip_prefix(' ').unwrap_or(payload);
    if payload.trim().is_empty() {
        return None;
    }
    if payload.trim() == "[DONE]" {
        return Some(SseLine::Done);
    }
    Some(SseLine::Data(payload.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_split_across_chunks_is_joined() {
        let mut splitter = SseLineSplitter::default();

        assert_eq!(splitter.push(b"data: {\"a\""), vec![]);
        assert_eq!(splitter.push(b":1}\r\n\r\n: ping\n"), vec![SseLine::Data("{\"a\":1}".into())]);
        assert_eq!(splitter.push(b"event: x\ndata:[DONE]"), vec![]);
        assert_eq!(splitter.finish(), Some(SseLine::Done));
    }
}
