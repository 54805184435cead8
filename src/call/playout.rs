//! What the caller has heard of the bot, as far as echoed marks and the playout clock tell.
//!
//! Every phrase the bot queues enters the ledger under its mark name. The mouth records when the
//! phrase's first frame was placed on the stream timeline and how many samples it has sent; the
//! carrier's echo of the mark proves the whole phrase played. A `clear` makes the carrier echo
//! every pending mark, so the ledger forgets those phrases at the clear: their later echoes find
//! nothing and mean "cut", never "heard". For the phrase that was playing when the clear went
//! out, the heard part is the playout time that had elapsed, never more than what was sent.

use std::collections::VecDeque;

use crate::dialog::Utterance;

/// Samples of 8 kHz audio in one second, the unit of the stream timeline.
const SAMPLES_PER_SECOND: u64 = 8_000;

/// Speech rate used to guess a phrase's length while it is still being synthesized: about 14
/// characters per second, slower than real speech so the guess of the heard part stays low.
const GUESSED_SAMPLES_PER_CHAR: u64 = SAMPLES_PER_SECOND / 14;

/// One phrase queued for playout whose mark has not come back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueuedPhrase {
    pub mark: String,
    pub utterance: Utterance,
    /// Stream-timeline sample where its first frame plays; `None` until a frame was sent.
    pub start_sample: Option<u64>,
    /// Samples sent to the carrier so far.
    pub sent_samples: u64,
    /// Samples of silence inserted inside the phrase while playback was paused.
    pub paused_samples: u64,
    /// Samples synthesized so far, and whether synthesis finished.
    pub synthesized_samples: u64,
    pub synthesized_all: bool,
    /// Text-to-speech failed: nothing of it was heard whatever the carrier echoes.
    pub failed: bool,
}

impl QueuedPhrase {
    /// Samples of this phrase the caller has heard when the stream timeline is at `now_sample`.
    pub fn heard_samples(&self, now_sample: u64) -> u64 {
        let Some(start) = self.start_sample else {
            return 0;
        };
        if self.failed {
            return 0;
        }
        now_sample.saturating_sub(start).saturating_sub(self.paused_samples).min(self.sent_samples)
    }

    /// Returns the phrase's length in samples: known once synthesis finished, guessed from the
    /// text before that, and never less than what was already synthesized.
    pub fn length_samples(&self) -> u64 {
        if self.synthesized_all {
            return self.synthesized_samples;
        }
        let guess = self.utterance.text.chars().count() as u64 * GUESSED_SAMPLES_PER_CHAR;
        guess.max(self.synthesized_samples)
    }

    /// Returns whether the caller heard all of it by `now_sample`.
    pub fn heard_whole(&self, now_sample: u64) -> bool {
        !self.failed && self.synthesized_all && self.heard_samples(now_sample) >= self.synthesized_samples
    }
}

/// How much of a phrase the caller heard before playback was cleared.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CutPhrase {
    pub mark: String,
    pub utterance: Utterance,
    /// The words the caller heard, whole words only; empty when it never started playing.
    pub heard_text: String,
    pub heard_samples: u64,
}

/// The playout ledger of one call. See the module documentation.
#[derive(Debug, Default)]
pub struct Playout {
    queue: VecDeque<QueuedPhrase>,
}

impl Playout {
    pub fn new() -> Self {
        Self::default()
    }

    /// Records a phrase handed to the mouth.
    pub fn queue(&mut self, mark: String, utterance: Utterance) {
        self.queue.push_back(QueuedPhrase {
            mark,
            utterance,
            start_sample: None,
            sent_samples: 0,
            paused_samples: 0,
            synthesized_samples: 0,
            synthesized_all: false,
            failed: false,
        });
    }

    pub fn is_empty(&self) -> bool {
        self.queue.is_empty()
    }

    pub fn len(&self) -> usize {
        self.queue.len()
    }

    pub fn phrases(&self) -> impl Iterator<Item = &QueuedPhrase> {
        self.queue.iter()
    }

    pub fn last(&self) -> Option<&QueuedPhrase> {
        self.queue.back()
    }

    fn phrase_mut(&mut self, mark: &str) -> Option<&mut QueuedPhrase> {
        self.queue.iter_mut().find(|phrase| phrase.mark == mark)
    }

    /// Records `samples` more synthesized audio of the phrase, and whether synthesis is `done`.
    pub fn synthesized(&mut self, mark: &str, samples: u64, done: bool) {
        if let Some(phrase) = self.phrase_mut(mark) {
            phrase.synthesized_samples += samples;
            phrase.synthesized_all |= done;
        }
    }

    /// Records a frame of the phrase sent to play from `at_sample` of the stream timeline.
    pub fn sent(&mut self, mark: &str, at_sample: u64, samples: u64) {
        if let Some(phrase) = self.phrase_mut(mark) {
            phrase.start_sample.get_or_insert(at_sample);
            phrase.sent_samples += samples;
        }
    }

    /// Playback of the phrase resumed after a pause that left `samples` of silence in it.
    pub fn paused(&mut self, mark: &str, samples: u64) {
        if let Some(phrase) = self.phrase_mut(mark) {
            if phrase.start_sample.is_some() {
                phrase.paused_samples += samples;
            }
        }
    }

    /// Text-to-speech failed for the phrase: its mark may still come back, but nothing played.
    pub fn failed(&mut self, mark: &str) {
        if let Some(phrase) = self.phrase_mut(mark) {
            phrase.failed = true;
        }
    }

    /// Whether audio of the bot may still be playing at the carrier: some mark is not back and
    /// its phrase has sent audio or still will.
    pub fn audible(&self) -> bool {
        self.queue.iter().any(|phrase| !phrase.failed)
    }

    /// Removes and returns, in order, the phrase echoed as `name` and every phrase queued before
    /// it, which all played in full. An unknown or stale name (a cleared phrase's echo) returns none.
    pub fn echoed(&mut self, name: &str) -> Vec<QueuedPhrase> {
        match self.queue.iter().position(|phrase| phrase.mark == name) {
            Some(position) => self.queue.drain(..=position).collect(),
            None => Vec::new(),
        }
    }

    /// Empties the ledger for a `clear` sent when the stream timeline was at `now_sample`. Phrases
    /// heard whole (their echo still on its way) come back as played. Every other phrase is cut,
    /// with the part the caller heard.
    pub fn clear(&mut self, now_sample: u64) -> (Vec<QueuedPhrase>, Vec<CutPhrase>) {
        let mut played = Vec::new();
        let mut cut = Vec::new();
        for phrase in self.queue.drain(..) {
            if phrase.heard_whole(now_sample) {
                played.push(phrase);
                continue;
            }
            let heard_samples = phrase.heard_samples(now_sample);
            let heard_text = heard_words(&phrase.utterance.text, heard_samples, phrase.length_samples());
            cut.push(CutPhrase { mark: phrase.mark, utterance: phrase.utterance, heard_text, heard_samples });
        }
        (played, cut)
    }
}

/// The words of `text` a caller heard after `heard` of `length` samples, assuming an even
/// speech rate. Only words whose every letter fits in the heard part count, so an amount or a
/// date cut in the middle is never reported as heard.
pub fn heard_words(text: &str, heard: u64, length: u64) -> String {
    if length == 0 || heard == 0 {
        return String::new();
    }
    if heard >= length {
        return text.to_string();
    }
    let total_chars = text.chars().count() as u64;
    let heard_chars = (total_chars * heard / length) as usize;
    let prefix: String = text.chars().take(heard_chars).collect();
    // A word is heard whole only when the character after the prefix ends it.
    let next_is_boundary = text.chars().nth(heard_chars).is_none_or(|c| c.is_whitespace());
    let kept = if next_is_boundary {
        prefix.as_str()
    } else {
        prefix.rfind(char::is_whitespace).map_or("", |end| &prefix[..end])
    };
    kept.trim_end_matches(|c: char| c.is_whitespace() || c == ',').to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utterance(key: &str, text: &str) -> Utterance {
        Utterance { key: key.to_string(), text: text.to_string(), expects_reply: true, protected: false }
    }

    /// A ledger with one phrase of `seconds` fully synthesized and sent from sample 8 000.
    fn playing(text: &str, seconds: u64) -> Playout {
        let mut playout = Playout::new();
        playout.queue("1:state_debt".to_string(), utterance("state_debt", text));
        playout.synthesized("1:state_debt", seconds * SAMPLES_PER_SECOND, true);
        for frame in 0..seconds * 50 {
            playout.sent("1:state_debt", 8_000 + frame * 160, 160);
        }
        playout
    }

    #[test]
    fn cleared_phrase_echo_finds_nothing() {
        let mut playout = playing("Tiene un saldo de diez mil pesos.", 3);
        let (played, cut) = playout.clear(8_000 + 4_000);
        assert!(played.is_empty());
        assert_eq!(cut.len(), 1);
        assert!(playout.echoed("1:state_debt").is_empty());
    }

    #[test]
    fn echo_confirms_earlier_phrases() {
        let mut playout = Playout::new();
        playout.queue("1:greeting".to_string(), utterance("greeting", "Hola."));
        playout.queue("2:ask_identity".to_string(), utterance("ask_identity", "¿Hablo con Ana?"));
        playout.queue("3:reprompt".to_string(), utterance("reprompt", "¿Sigue ahí?"));
        let played = playout.echoed("2:ask_identity");
        let marks: Vec<&str> = played.iter().map(|p| p.mark.as_str()).collect();
        assert_eq!(marks, ["1:greeting", "2:ask_identity"]);
        assert_eq!(playout.len(), 1);
        assert!(playout.echoed("9:unknown").is_empty());
        assert_eq!(playout.len(), 1);
    }

    #[test]
    fn cut_phrase_keeps_played_words() {
        // 40 characters over 4 seconds: 10 characters a second.
        let text = "Tiene un saldo de diez mil pesos, hoy.xx";
        assert_eq!(text.chars().count(), 40);
        let mut playout = playing(text, 4);
        // 1.9 s played: 19 characters, "Tiene un saldo de d", so "diez" is not heard.
        let (_, cut) = playout.clear(8_000 + 15_200);
        assert_eq!(cut[0].heard_samples, 15_200);
        assert_eq!(cut[0].heard_text, "Tiene un saldo de");
    }

    #[test]
    fn heard_part_within_sent_audio() {
        let mut playout = Playout::new();
        playout.queue("1:read_back".to_string(), utterance("read_back", "Usted paga cinco mil pesos el viernes."));
        playout.synthesized("1:read_back", 16_000, true);
        playout.sent("1:read_back", 0, 160);
        let (_, cut) = playout.clear(16_000);
        assert_eq!(cut[0].heard_samples, 160);
        assert_eq!(cut[0].heard_text, "");
    }

    #[test]
    fn pause_not_counted_as_heard() {
        let mut playout = playing("uno dos tres cuatro", 2);
        playout.paused("1:state_debt", 8_000);
        // The timeline moved 2 s past the start, of which 1 s was the pause.
        let phrase = playout.phrases().next().expect("queued");
        assert_eq!(phrase.heard_samples(8_000 + 16_000), 8_000);
    }

    #[test]
    fn whole_phrase_before_clear_played() {
        let mut playout = playing("Gracias.", 1);
        playout.queue("2:ask_payment".to_string(), utterance("ask_payment", "¿Cuánto puede pagar?"));
        let (played, cut) = playout.clear(8_000 + 8_000);
        assert_eq!(played.len(), 1);
        assert_eq!(played[0].mark, "1:state_debt");
        assert_eq!(cut.len(), 1);
        assert_eq!(cut[0].mark, "2:ask_payment");
        assert_eq!(cut[0].heard_text, "");
    }

    #[test]
    fn failed_phrase_never_heard() {
        let mut playout = playing("Hola.", 1);
        playout.failed("1:state_debt");
        assert!(!playout.audible());
        let (played, cut) = playout.clear(80_000);
        assert!(played.is_empty());
        assert_eq!(cut[0].heard_text, "");
    }

    #[test]
    fn heard_words_end_whole() {
        assert_eq!(heard_words("uno dos tres", 0, 12), "");
        assert_eq!(heard_words("uno dos tres", 3, 12), "uno");
        assert_eq!(heard_words("uno dos tres", 5, 12), "uno");
        assert_eq!(heard_words("uno dos tres", 7, 12), "uno dos");
        assert_eq!(heard_words("uno dos tres", 11, 12), "uno dos");
        assert_eq!(heard_words("uno dos tres", 12, 12), "uno dos tres");
        assert_eq!(heard_words("Hola, Ana", 5, 9), "Hola");
        assert_eq!(heard_words("", 5, 9), "");
    }
}
