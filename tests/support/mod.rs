//! Speech stand-ins shared by the integration tests. Each test file uses what it needs.
#![allow(dead_code)]

pub mod callback_sink;
pub mod console_client;
pub mod fake_elevenlabs;
pub mod fake_openai_speech;
pub mod fake_transcription;
pub mod webdriver;

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use tokio::sync::mpsc;

use cobranza::dialog::Language;
use cobranza::speech::stt::{SpeechToText, SttEvent, SttInput, SttStream};
use cobranza::speech::SpeechError;

/// Speech-to-text that hears nothing and ends with its input, like a real stream.
pub struct Deaf;

#[async_trait]
impl SpeechToText for Deaf {
    async fn open(&self, _language: Language) -> Result<SttStream, SpeechError> {
        let (input, mut inputs) = mpsc::channel(4096);
        let (events_sender, events) = mpsc::channel(1);
        tokio::spawn(async move {
            let _open_until_input_ends = events_sender;
            while inputs.recv().await.is_some() {}
        });
        Ok(SttStream { input, events })
    }
}

/// A scripted turn for which [`ScriptedStt`] returns no transcript at all, as when a provider
/// drops a request.
pub const NO_TRANSCRIPT: &str = "\u{0}no transcript";

/// Speech-to-text that answers each end of turn with the next line in `turns`, or an empty
/// transcript when there is none; a [`NO_TRANSCRIPT`] turn gets no answer.
pub struct ScriptedStt {
    pub turns: Arc<Mutex<VecDeque<String>>>,
}

#[async_trait]
impl SpeechToText for ScriptedStt {
    async fn open(&self, _language: Language) -> Result<SttStream, SpeechError> {
        let (input, mut inputs) = mpsc::channel(4096);
        let (events_sender, events) = mpsc::channel(16);
        let turns = Arc::clone(&self.turns);
        tokio::spawn(async move {
            while let Some(input) = inputs.recv().await {
                if input == SttInput::Finalize {
                    let text = turns.lock().expect("lock").pop_front().unwrap_or_default();
                    if text == NO_TRANSCRIPT {
                        continue;
                    }
                    if events_sender.send(SttEvent::Final { text }).await.is_err() {
                        return;
                    }
                }
            }
        });
        Ok(SttStream { input, events })
    }
}
