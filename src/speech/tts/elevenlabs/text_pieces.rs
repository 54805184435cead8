//! Turns text that arrives in arbitrary pieces into the text messages of the `stream-input`
//! WebSocket: whole words, each message ending with a space, and a flush at every sentence end
//! so a sentence is spoken without waiting for the model's buffer to fill.

/// One text message for the socket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct TextMessage {
    /// Whole words followed by one space.
    pub text: String,
    /// Asks ElevenLabs to render the buffered text now.
    pub flush: bool,
}

/// Text received but not sent yet because it may end inside a word or before a sentence end.
#[derive(Debug, Default)]
pub(super) struct TextPieces {
    pending: String,
}

impl TextPieces {
    /// Adds a piece and returns the messages that are ready: each complete sentence (flushed),
    /// then the complete words after them.
    pub(super) fn push(&mut self, piece: &str) -> Vec<TextMessage> {
        self.pending.push_str(piece);
        let mut messages = Vec::new();

        while let Some(end) = sentence_end(&self.pending) {
            let sentence: String = self.pending.drain(..end).collect();
            push_message(&mut messages, &sentence, true);
        }

        // A word is complete once whitespace follows it; the text after the last whitespace
        // may still grow.
        if let Some((index, space)) = self.pending.char_indices().rev().find(|(_, c)| c.is_whitespace()) {
            let words: String = self.pending.drain(..index + space.len_utf8()).collect();
            push_message(&mut messages, &words, false);
        }
        messages
    }

    /// Returns the rest of the text, flushed, once no more pieces will come.
    pub(super) fn finish(&mut self) -> Option<TextMessage> {
        let rest = std::mem::take(&mut self.pending);
        let mut messages = Vec::new();
        push_message(&mut messages, &rest, true);
        messages.pop()
    }
}

fn push_message(messages: &mut Vec<TextMessage>, text: &str, flush: bool) {
    let text = text.trim();
    if !text.is_empty() {
        messages.push(TextMessage { text: format!("{text} "), flush });
    }
}

/// Returns the byte index just after the first sentence end in `text`: a `.`, `?` or `!`
/// followed by whitespace. An end mark at the very end is not a sentence end yet, because the
/// next piece may continue it, as in `4.` + `500`.
fn sentence_end(text: &str) -> Option<usize> {
    let mut characters = text.char_indices().peekable();
    while let Some((index, character)) = characters.next() {
        let followed_by_space = characters.peek().is_some_and(|(_, next)| next.is_whitespace());
        if matches!(character, '.' | '?' | '!') && followed_by_space {
            return Some(index + character.len_utf8());
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(text: &str, flush: bool) -> TextMessage {
        TextMessage { text: text.to_string(), flush }
    }

    #[test]
    fn pieces_become_words_and_flushed_sentences() {
        let mut pieces = TextPieces::default();

        assert_eq!(pieces.push("Ho"), vec![]);
        assert_eq!(pieces.push("la, ¿có"), vec![message("Hola, ", false)]);
        assert_eq!(pieces.push("mo está? Bie"), vec![message("¿cómo está? ", true)]);
        assert_eq!(pieces.push("n"), vec![]);
        assert_eq!(pieces.finish(), Some(message("Bien ", true)));
        assert_eq!(pieces.finish(), None);
    }

    #[test]
    fn split_decimal_point_ends_no_sentence() {
        let mut pieces = TextPieces::default();

        assert_eq!(pieces.push("Son 4."), vec![message("Son ", false)]);
        assert_eq!(
            pieces.push("500 pesos. Gracias. "),
            vec![message("4.500 pesos. ", true), message("Gracias. ", true)]
        );
        assert_eq!(pieces.finish(), None);
    }

    #[test]
    fn whole_sentences_are_flushed_one_by_one() {
        let mut pieces = TextPieces::default();

        assert_eq!(pieces.push("Hola. "), vec![message("Hola. ", true)]);
        assert_eq!(pieces.push("¿Habla con María? "), vec![message("¿Habla con María? ", true)]);
        assert_eq!(pieces.push("Gracias "), vec![message("Gracias ", false)]);
        assert_eq!(pieces.finish(), None);
    }

    #[test]
    fn whitespace_only_pieces_send_nothing() {
        let mut pieces = TextPieces::default();

        assert_eq!(pieces.push("  \n"), vec![]);
        assert_eq!(pieces.finish(), None);
    }
}
