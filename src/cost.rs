//! Cost metering per call: speech-to-text audio, LLM tokens, text-to-speech characters and
//! telephony time, each priced from configuration and stored with the attempt.
//!
//! A call's meter is reached through a task-local scope that the call session sets around its
//! own task and its mouth, so providers record usage without every trait carrying a meter.
//! Providers that move work to a task of their own take the meter with [`current`] first.
//! Usage outside any call (the `understand` command, benchmarks) is not metered.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};

/// Prices are kept in millionths of a US dollar, so fractions of a cent add up exactly.
pub const MICROS_PER_DOLLAR: u64 = 1_000_000;

/// The kind of usage a cost line measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CostCategory {
    /// Caller audio a speech-to-text provider billed, in milliseconds.
    SpeechToText,
    /// Prompt tokens sent to the LLM.
    LlmInput,
    /// Completion tokens the LLM returned.
    LlmOutput,
    /// Characters sent to a text-to-speech provider.
    TextToSpeech,
    /// Call time billed by the carrier, in seconds (whole minutes).
    Telephony,
}

impl CostCategory {
    pub fn as_str(self) -> &'static str {
        match self {
            CostCategory::SpeechToText => "speech_to_text",
            CostCategory::LlmInput => "llm_input",
            CostCategory::LlmOutput => "llm_output",
            CostCategory::TextToSpeech => "text_to_speech",
            CostCategory::Telephony => "telephony",
        }
    }

    /// Returns the unit of a line's quantity.
    pub fn unit(self) -> &'static str {
        match self {
            CostCategory::SpeechToText => "ms",
            CostCategory::LlmInput | CostCategory::LlmOutput => "tokens",
            CostCategory::TextToSpeech => "characters",
            CostCategory::Telephony => "s",
        }
    }

    pub fn parse(text: &str) -> Option<CostCategory> {
        [
            CostCategory::SpeechToText,
            CostCategory::LlmInput,
            CostCategory::LlmOutput,
            CostCategory::TextToSpeech,
            CostCategory::Telephony,
        ]
        .into_iter()
        .find(|category| category.as_str() == text)
    }
}

/// The usage of one provider in one category during one call, and what it cost.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CostLine {
    pub category: CostCategory,
    /// The provider's configuration name: `deepgram`, `whisper`, `elevenlabs`, `twilio`.
    pub provider: String,
    /// In the category's unit: milliseconds, tokens, characters or seconds.
    pub quantity: u64,
    pub cost_micros: u64,
}

/// A price per unit of usage, in millionths of a dollar per `per` units.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Price {
    pub micros: u64,
    pub per: u64,
}

impl Price {
    pub const FREE: Price = Price { micros: 0, per: 1 };

    /// Builds a price from dollars per minute of audio, applied to milliseconds.
    pub fn per_minute(dollars: f64) -> Price {
        Price { micros: dollars_to_micros(dollars), per: 60_000 }
    }

    /// Builds a price from dollars per million units (tokens or characters).
    pub fn per_million(dollars: f64) -> Price {
        Price { micros: dollars_to_micros(dollars), per: 1_000_000 }
    }

    /// Returns the cost of `quantity` units, rounded to the nearest micro-dollar.
    pub fn cost(self, quantity: u64) -> u64 {
        let total = u128::from(quantity) * u128::from(self.micros);
        let per = u128::from(self.per.max(1));
        ((total + per / 2) / per) as u64
    }
}

/// Converts a configured price in dollars to micro-dollars; negative or invalid prices are zero.
pub fn dollars_to_micros(dollars: f64) -> u64 {
    if dollars.is_finite() && dollars > 0.0 {
        (dollars * MICROS_PER_DOLLAR as f64).round() as u64
    } else {
        0
    }
}

/// Formats micro-dollars as dollars with four decimals: `$0.0123`.
pub fn format_dollars(micros: u64) -> String {
    let hundredths_of_cent = (micros + 50) / 100;
    format!("${}.{:04}", hundredths_of_cent / 10_000, hundredths_of_cent % 10_000)
}

/// One call's usage, shared by the tasks of the call.
#[derive(Debug, Clone, Default)]
pub struct CallMeter {
    /// Usage per category, then per provider: looked up by `&str`, so recording the audio of
    /// every chunk allocates nothing once the provider's line exists.
    lines: Arc<Mutex<BTreeMap<CostCategory, BTreeMap<String, Usage>>>>,
}

#[derive(Debug, Clone, Copy, Default)]
struct Usage {
    quantity: u64,
    price: Option<Price>,
}

impl CallMeter {
    pub fn new() -> CallMeter {
        CallMeter::default()
    }

    /// Adds `quantity` units of `category` used at `provider`, priced at `price`. The price of
    /// the first record of a provider and category is the one applied to the total.
    pub fn record(&self, category: CostCategory, provider: &str, quantity: u64, price: Price) {
        if quantity == 0 {
            return;
        }
        let mut lines = self.lines.lock().expect("meter lock");
        let providers = lines.entry(category).or_default();
        let usage = match providers.get_mut(provider) {
            Some(usage) => usage,
            None => providers.entry(provider.to_string()).or_default(),
        };
        usage.quantity += quantity;
        usage.price.get_or_insert(price);
    }

    /// Returns the call's cost lines, ordered by category and provider. Prices apply to each total, so
    /// rounding happens once per line.
    pub fn lines(&self) -> Vec<CostLine> {
        let lines = self.lines.lock().expect("meter lock");
        lines
            .iter()
            .flat_map(|(category, providers)| {
                providers.iter().map(|(provider, usage)| CostLine {
                    category: *category,
                    provider: provider.clone(),
                    quantity: usage.quantity,
                    cost_micros: usage.price.unwrap_or(Price::FREE).cost(usage.quantity),
                })
            })
            .collect()
    }
}

/// Returns the sum of the lines' costs.
pub fn total_micros(lines: &[CostLine]) -> u64 {
    lines.iter().map(|line| line.cost_micros).sum()
}

tokio::task_local! {
    static METER: CallMeter;
}

/// Runs `future` with `meter` as the current call's meter.
pub async fn metered<F: std::future::Future>(meter: CallMeter, future: F) -> F::Output {
    METER.scope(meter, future).await
}

/// Returns the meter of the call whose task is running, if any.
pub fn current() -> Option<CallMeter> {
    METER.try_with(CallMeter::clone).ok()
}

/// Records usage on the current call's meter; does nothing outside a call.
pub fn record(category: CostCategory, provider: &str, quantity: u64, price: Price) {
    if let Some(meter) = current() {
        meter.record(category, provider, quantity, price);
    }
}

impl fmt::Display for CostLine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} {} {}: {}",
            self.category.as_str(),
            self.provider,
            self.quantity,
            self.category.unit(),
            format_dollars(self.cost_micros)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn price_per_minute_applies_to_milliseconds() {
        // $0.0077 a minute for 90 s of audio: 11,550 micro-dollars.
        assert_eq!(Price::per_minute(0.0077).cost(90_000), 11_550);
    }

    #[test]
    fn price_per_million_rounds_to_nearest() {
        // $0.15 per million tokens for 333 tokens: 49.95 micro-dollars, rounded to 50.
        assert_eq!(Price::per_million(0.15).cost(333), 50);
    }

    #[test]
    fn meter_sums_per_provider_and_category() {
        let meter = CallMeter::new();
        meter.record(CostCategory::TextToSpeech, "elevenlabs", 120, Price::per_million(50.0));
        meter.record(CostCategory::TextToSpeech, "elevenlabs", 80, Price::per_million(50.0));
        meter.record(CostCategory::TextToSpeech, "espeak", 40, Price::FREE);
        meter.record(CostCategory::Telephony, "twilio", 0, Price::per_minute(0.014));
        let lines = meter.lines();
        assert_eq!(
            lines,
            vec![
                CostLine {
                    category: CostCategory::TextToSpeech,
                    provider: "elevenlabs".into(),
                    quantity: 200,
                    cost_micros: 10_000
                },
                CostLine {
                    category: CostCategory::TextToSpeech,
                    provider: "espeak".into(),
                    quantity: 40,
                    cost_micros: 0
                },
            ]
        );
        assert_eq!(total_micros(&lines), 10_000);
    }

    #[test]
    fn dollars_format_with_four_decimals() {
        assert_eq!(format_dollars(0), "$0.0000");
        assert_eq!(format_dollars(11_550), "$0.0116");
        assert_eq!(format_dollars(1_234_567), "$1.2346");
    }

    #[tokio::test]
    async fn record_reaches_scoped_meter_only() {
        let meter = CallMeter::new();
        record(CostCategory::LlmInput, "llm", 10, Price::FREE);
        metered(meter.clone(), async { record(CostCategory::LlmInput, "llm", 25, Price::FREE) }).await;
        assert_eq!(meter.lines()[0].quantity, 25);
    }

    #[test]
    fn category_names_round_trip() {
        for category in [CostCategory::SpeechToText, CostCategory::LlmOutput, CostCategory::Telephony] {
            assert_eq!(CostCategory::parse(category.as_str()), Some(category));
        }
    }
}
