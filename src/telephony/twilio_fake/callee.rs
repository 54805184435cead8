//! Who picks up a call the fake places: the test decides per dialled number.

use std::sync::Arc;

use serde::Serialize;

use crate::audio::mulaw;
use crate::config::Config;
use crate::dialog::Language;
use crate::speech::tts::espeak::{EspeakTts, EspeakVoice};
use crate::telephony::simulator::persona::Persona;

/// The party at a dialled number, which decides how the call goes.
#[derive(Debug, Clone)]
pub enum Callee {
    /// The line is busy: the call ends `busy` after ringing.
    Busy,
    /// Nobody picks up: the call rings for its `Timeout` and ends `no-answer`.
    NoAnswer,
    /// The number cannot be reached: the call ends `failed` without ringing.
    Failed,
    /// An answering machine plays a greeting of `greeting_ms` and a beep, then records silence
    /// until the server ends the call.
    Machine { greeting_ms: u64 },
    /// A person, played by the carrier simulator.
    Person(Persona),
}

/// Decides the callee of each call from the dialled `To` number.
pub type CalleeBook = Arc<dyn Fn(&str) -> Callee + Send + Sync>;

/// The callee of one call, as the call log records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum CalleeKind {
    Busy,
    NoAnswer,
    Failed,
    Machine { greeting_ms: u64 },
    Person { persona: String },
}

impl Callee {
    pub fn kind(&self) -> CalleeKind {
        match self {
            Callee::Busy => CalleeKind::Busy,
            Callee::NoAnswer => CalleeKind::NoAnswer,
            Callee::Failed => CalleeKind::Failed,
            Callee::Machine { greeting_ms } => CalleeKind::Machine { greeting_ms: *greeting_ms },
            Callee::Person(persona) => CalleeKind::Person { persona: persona.name.to_string() },
        }
    }
}

/// The espeak-ng voices personas speak with: slower and higher than the bot's, as the demo has them.
#[derive(Clone)]
pub struct PersonaVoices {
    pub tts: Arc<EspeakTts>,
    pub spanish: EspeakVoice,
    pub english: EspeakVoice,
}

impl PersonaVoices {
    pub fn from_config(config: &Config) -> PersonaVoices {
        PersonaVoices {
            tts: Arc::new(EspeakTts::new(config.speech.voice_es.clone(), config.speech.voice_en.clone())),
            spanish: crate::demo::persona_voice(config, Language::Es),
            english: crate::demo::persona_voice(config, Language::En),
        }
    }

    pub fn for_language(&self, language: Language) -> EspeakVoice {
        match language {
            Language::Es => self.spanish.clone(),
            Language::En => self.english.clone(),
        }
    }
}

/// Length of the beep that ends a machine's greeting.
pub const BEEP_MS: u64 = 500;

/// Builds a machine's greeting as μ-law 8 kHz: `greeting_ms` of a voice-like tone whose loudness
/// rises and falls four times a second, then a 1 kHz beep of [`BEEP_MS`].
pub fn machine_greeting(greeting_ms: u64) -> Vec<u8> {
    const RATE: f64 = 8_000.0;
    let samples = |ms: u64| (ms * 8) as usize;
    let mut pcm: Vec<i16> = (0..samples(greeting_ms))
        .map(|index| {
            let t = index as f64 / RATE;
            let envelope = 0.5 + 0.5 * (std::f64::consts::TAU * 4.0 * t).sin();
            (envelope * 6_000.0 * (std::f64::consts::TAU * 220.0 * t).sin()) as i16
        })
        .collect();
    pcm.extend((0..samples(BEEP_MS)).map(|index| {
        let t = index as f64 / RATE;
        (8_000.0 * (std::f64::consts::TAU * 1_000.0 * t).sin()) as i16
    }));
    mulaw::encode_slice(&pcm)
}

/// A persona for an answering machine: it never replies and never hangs up.
pub fn machine_persona() -> Persona {
    Persona {
        name: "answering_machine",
        language: Language::Es,
        replies: Vec::new(),
        rephrasings: Vec::new(),
        intended_promise: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn greeting_lasts_its_length_plus_beep() {
        assert_eq!(machine_greeting(2_000).len(), (2_000 + BEEP_MS as usize) * 8);
    }

    #[test]
    fn greeting_is_not_silence() {
        let greeting = machine_greeting(1_000);
        let loud = greeting.iter().filter(|&&byte| byte != mulaw::SILENCE && byte != 0x7F).count();
        assert!(loud > greeting.len() / 2, "{loud} of {} bytes carry sound", greeting.len());
    }
}
