//! Text-to-speech: text in, 8 kHz PCM out in chunks, the first as soon as it is ready.

pub mod chain;
pub mod elevenlabs;
pub mod espeak;
pub mod openai;
mod streaming;

use async_trait::async_trait;
use tokio::sync::mpsc;

use super::SpeechError;
use crate::dialog::Language;

/// Chunks of 16-bit PCM mono at 8 kHz, in order, ending when the phrase is complete.
pub type TtsStream = mpsc::Receiver<Result<Vec<i16>, SpeechError>>;

/// A text-to-speech provider.
#[async_trait]
pub trait TextToSpeech: Send + Sync {
    async fn synthesize(&self, text: &str, language: Language) -> Result<TtsStream, SpeechError>;
}

/// Splits text after sentence ends so a streaming provider can speak the first sentence while
/// the next is rendered.
pub fn sentences(text: &str) -> Vec<&str> {
    let mut pieces = Vec::new();
    let mut start = 0;
    for (index, character) in text.char_indices() {
        if matches!(character, '.' | '?' | '!') {
            let end = index + character.len_utf8();
            let followed_by_space = text[end..].starts_with(char::is_whitespace) || end == text.len();
            if followed_by_space {
                let piece = text[start..end].trim();
                if !piece.is_empty() {
                    pieces.push(piece);
                }
                start = end;
            }
        }
    }
    let rest = text[start..].trim();
    if !rest.is_empty() {
        pieces.push(rest);
    }
    pieces
}

#[cfg(test)]
mod tests {
    use super::sentences;

    #[test]
    fn sentences_split_after_end_marks() {
        assert_eq!(sentences("Hola. ¿Habla con María? Gracias"), vec!["Hola.", "¿Habla con María?", "Gracias"]);
        assert_eq!(sentences("Son 4.500 pesos."), vec!["Son 4.500 pesos."]);
    }
}
