//! Measures how well the embedded speech-to-text hears the demo personas: each persona line is
//! rendered with espeak-ng in the persona voice, passed through the μ-law phone channel,
//! transcribed by Whisper and interpreted. A line counts as understood when the interpretation of
//! the transcript equals the interpretation of the words the persona said.
//!
//! Run with `cargo run --release --example persona_speech` after `scripts/setup`.

use std::time::Instant;

use chrono::NaiveDate;
use cobranza::audio::mulaw;
use cobranza::audio::resample::Resampler;
use cobranza::collections::import::parse_portfolio_bytes;
use cobranza::collections::model::{Account, Debt, DebtId};
use cobranza::config::Config;
use cobranza::demo::{persona_voice, PERSONA_DEBTORS, SAMPLE_PORTFOLIO, SAMPLE_PORTFOLIO_NAME};
use cobranza::dialog::nlu::{Dialect, Expecting, InterpretContext};
use cobranza::dialog::{Language, RuleInterpreter};
use cobranza::speech::stt::whisper::{WhisperPool, WhisperSettings};
use cobranza::speech::tts::espeak::EspeakTts;
use cobranza::telephony::simulator::persona::{self, Reply};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let config = Config::embedded();
    let pool = WhisperPool::load(&WhisperSettings::from_config(&config))?;
    let voice = persona_voice(&config, Language::Es);
    let tts = EspeakTts::new(voice.clone(), voice.clone());
    let portfolio = parse_portfolio_bytes(SAMPLE_PORTFOLIO_NAME, SAMPLE_PORTFOLIO)?;
    let today = NaiveDate::from_ymd_opt(2026, 12, 2).expect("valid date");

    let (mut understood, mut total, mut total_ms) = (0, 0, 0u128);
    for (name, debtor_id) in PERSONA_DEBTORS {
        let row = portfolio.rows.iter().find(|r| r.debtor.id.0 == debtor_id).expect("persona debtor in portfolio");
        let account = Account {
            debtor: row.debtor.clone(),
            debt: Debt {
                id: DebtId(0),
                debtor_id: row.debtor.id.clone(),
                creditor: row.debt.creditor.clone(),
                product: row.debt.product.clone(),
                account_ref: row.debt.account_ref.clone(),
                balance: row.debt.balance,
                days_past_due: row.debt.days_past_due,
            },
        };
        let persona = persona::build(name, &account, today).expect("persona builds");
        let lines = persona
            .replies
            .iter()
            .map(|(key, reply)| (*key, reply))
            .chain(persona.rephrasings.iter().flat_map(|(key, replies)| replies.iter().map(move |r| (*key, r))));
        for (key, reply) in lines {
            let Reply::Say(text) = reply else { continue };
            let context = InterpretContext {
                language: Language::Es,
                dialect: Dialect::from_locale(&account.debtor.locale),
                currency: account.debt.balance.currency,
                today,
                expecting: Expecting::from_prompt_key(key),
            };
            let pcm = tts.render(text, &voice).await?;
            let phone = mulaw::decode_slice(&mulaw::encode_slice(&pcm));
            let mut resampler = Resampler::new(8_000, 16_000)?;
            let mut samples = resampler.process_f32(&phone);
            samples.extend(resampler.flush_f32());

            let started = Instant::now();
            let heard = pool.transcribe(samples, Language::Es).await?;
            let elapsed = started.elapsed().as_millis();
            let ok = RuleInterpreter.interpret_now(&heard, &context) == RuleInterpreter.interpret_now(text, &context);
            total += 1;
            total_ms += elapsed;
            understood += usize::from(ok);
            println!(
                "{:>5} ms {} {name:<13} {text}\n                 heard: {heard}",
                elapsed,
                if ok { "ok  " } else { "MISS" }
            );
        }
    }
    println!(
        "\nunderstood {understood} of {total} persona lines; mean {} ms per utterance",
        total_ms / total.max(1) as u128
    );
    Ok(())
}
