//! Segments (risk tier × days-past-due stage × balance band) and the strategy each one gets,
//! from `config/strategy.toml`.

use std::collections::HashMap;
use std::fmt;
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::collections::model::{Currency, Money};
use crate::dialog::negotiation::Rung;

/// The compiled-in strategy file, the same as `config/strategy.toml` of the repository.
const EMBEDDED_STRATEGY: &str = include_str!("../../config/strategy.toml");

/// The risk that the debtor does not pay, tiered from the model's probability of a payment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RiskTier {
    LowRisk,
    MediumRisk,
    HighRisk,
}

/// The stage of delinquency, as collectors stage a portfolio by days past due.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    /// 0 to 30 days past due.
    Early,
    /// 31 to 90 days.
    Mid,
    /// 91 to 180 days.
    Late,
    /// More than 180 days: charged off in most books, recovery work.
    Recovery,
}

impl Stage {
    pub fn of(days_past_due: u32) -> Stage {
        match days_past_due {
            0..=30 => Stage::Early,
            31..=90 => Stage::Mid,
            91..=180 => Stage::Late,
            _ => Stage::Recovery,
        }
    }
}

/// Whether the balance is at or above the currency's large-balance threshold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BalanceBand {
    Small,
    Large,
}

/// A debtor's segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Segment {
    pub tier: RiskTier,
    pub stage: Stage,
    pub band: BalanceBand,
}

impl std::str::FromStr for Segment {
    type Err = String;

    /// Parses the form [`Segment`]'s `Display` writes, like `low_risk.early.small`.
    fn from_str(text: &str) -> Result<Segment, String> {
        let invalid = || format!("'{text}' is not a segment; write tier.stage.band, like low_risk.early.small");
        let mut parts = text.split('.');
        let (Some(tier), Some(stage), Some(band), None) = (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(invalid());
        };
        let tier = [RiskTier::LowRisk, RiskTier::MediumRisk, RiskTier::HighRisk]
            .into_iter()
            .find(|candidate| candidate.as_str() == tier)
            .ok_or_else(invalid)?;
        let stage = [Stage::Early, Stage::Mid, Stage::Late, Stage::Recovery]
            .into_iter()
            .find(|candidate| candidate.as_str() == stage)
            .ok_or_else(invalid)?;
        let band = [BalanceBand::Small, BalanceBand::Large]
            .into_iter()
            .find(|candidate| candidate.as_str() == band)
            .ok_or_else(invalid)?;
        Ok(Segment { tier, stage, band })
    }
}

impl fmt::Display for Segment {
    /// Writes `low_risk.early.small`, the form stored with scores and attempts.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.tier.as_str(), self.stage.as_str(), self.band.as_str())
    }
}

impl RiskTier {
    pub fn as_str(self) -> &'static str {
        match self {
            RiskTier::LowRisk => "low_risk",
            RiskTier::MediumRisk => "medium_risk",
            RiskTier::HighRisk => "high_risk",
        }
    }
}

impl Stage {
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Early => "early",
            Stage::Mid => "mid",
            Stage::Late => "late",
            Stage::Recovery => "recovery",
        }
    }
}

impl BalanceBand {
    pub fn as_str(self) -> &'static str {
        match self {
            BalanceBand::Small => "small",
            BalanceBand::Large => "large",
        }
    }
}

/// The tone of the script.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Tone {
    Friendly,
    Neutral,
    Firm,
}

/// A segment's treatment: a tone and the rungs of the offer ladder the bot may propose.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Strategy {
    pub name: String,
    pub tone: Tone,
    pub offers: Vec<String>,
}

/// The segmentation thresholds and the strategy rules, validated.
#[derive(Debug, Clone, PartialEq)]
pub struct StrategyBook {
    low_risk_from: f64,
    high_risk_below: f64,
    large_balance: HashMap<Currency, Money>,
    rules: Vec<Rule>,
}

#[derive(Debug, Clone, PartialEq)]
struct Rule {
    tier: Option<RiskTier>,
    stage: Option<Stage>,
    band: Option<BalanceBand>,
    strategy: Strategy,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StrategyFile {
    tiers: TiersFile,
    large_balance: HashMap<String, String>,
    strategies: Vec<RuleFile>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TiersFile {
    low_risk_from: f64,
    high_risk_below: f64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleFile {
    name: String,
    tier: Option<RiskTier>,
    stage: Option<Stage>,
    band: Option<BalanceBand>,
    tone: Tone,
    offers: Vec<String>,
}

/// An invalid strategy file, naming the file and the fix.
#[derive(Debug, thiserror::Error)]
pub enum StrategyError {
    #[error("cannot read strategy file {path}: {source}")]
    Read { path: String, source: std::io::Error },
    #[error("{file}: {message}")]
    Invalid { file: String, message: String },
}

impl StrategyBook {
    /// Returns the compiled-in `config/strategy.toml`.
    pub fn embedded() -> StrategyBook {
        StrategyBook::parse("config/strategy.toml (embedded)", EMBEDDED_STRATEGY)
            .expect("config/strategy.toml is valid")
    }

    /// Reads a strategy file in place of the compiled-in one.
    pub fn load(path: &Path) -> Result<StrategyBook, StrategyError> {
        let shown = path.display().to_string();
        let text =
            std::fs::read_to_string(path).map_err(|source| StrategyError::Read { path: shown.clone(), source })?;
        StrategyBook::parse(&shown, &text)
    }

    pub fn parse(file: &str, text: &str) -> Result<StrategyBook, StrategyError> {
        let invalid = |message: String| StrategyError::Invalid { file: file.to_string(), message };
        let raw: StrategyFile = toml::from_str(text).map_err(|error| invalid(error.to_string()))?;

        let TiersFile { low_risk_from, high_risk_below } = raw.tiers;
        let probability = |value: f64| value.is_finite() && (0.0..=1.0).contains(&value);
        if !probability(low_risk_from) || !probability(high_risk_below) || high_risk_below > low_risk_from {
            return Err(invalid(format!(
                "tiers: high_risk_below ({high_risk_below}) and low_risk_from ({low_risk_from}) must be probabilities \
                 from 0 to 1 with high_risk_below <= low_risk_from"
            )));
        }

        let mut large_balance = HashMap::new();
        for (code, amount) in &raw.large_balance {
            let currency: Currency = code.parse().map_err(|error| invalid(format!("large_balance.{code}: {error}")))?;
            let money = Money::parse_decimal(amount, currency)
                .map_err(|error| invalid(format!("large_balance.{code}: {error}")))?;
            large_balance.insert(currency, money);
        }

        if raw.strategies.is_empty() {
            return Err(invalid("no [[strategies]]: add at least one, the last without tier, stage or band".into()));
        }
        let rules = raw
            .strategies
            .into_iter()
            .map(|rule| {
                if rule.offers.is_empty() {
                    return Err(invalid(format!("strategy '{}': offers is empty; list at least one rung", rule.name)));
                }
                for offer in &rule.offers {
                    if !Rung::LADDER.iter().any(|rung| rung.as_str() == offer) {
                        let known: Vec<&str> = Rung::LADDER.iter().map(|rung| rung.as_str()).collect();
                        return Err(invalid(format!(
                            "strategy '{}': unknown offer '{offer}'; use one of {}",
                            rule.name,
                            known.join(", ")
                        )));
                    }
                }
                Ok(Rule {
                    tier: rule.tier,
                    stage: rule.stage,
                    band: rule.band,
                    strategy: Strategy { name: rule.name, tone: rule.tone, offers: rule.offers },
                })
            })
            .collect::<Result<Vec<_>, _>>()?;

        let book = StrategyBook { low_risk_from, high_risk_below, large_balance, rules };
        // Every segment must get a strategy, so a gap in the rules fails at load, not mid-campaign.
        for segment in book.all_segments() {
            if book.rule_for(&segment).is_none() {
                return Err(invalid(format!(
                    "no strategy matches segment {segment}: add a rule for it or a catch-all last"
                )));
            }
        }
        Ok(book)
    }

    /// Places a debtor in a segment.
    pub fn segment(&self, probability: f64, days_past_due: u32, balance: Money) -> Segment {
        let tier = if probability >= self.low_risk_from {
            RiskTier::LowRisk
        } else if probability < self.high_risk_below {
            RiskTier::HighRisk
        } else {
            RiskTier::MediumRisk
        };
        // A currency without a threshold counts as small, the cheaper treatment.
        let band = match self.large_balance.get(&balance.currency) {
            Some(threshold) if balance.amount_minor >= threshold.amount_minor => BalanceBand::Large,
            _ => BalanceBand::Small,
        };
        Segment { tier, stage: Stage::of(days_past_due), band }
    }

    /// Returns the strategy of a segment: the first rule that matches it.
    pub fn strategy(&self, segment: &Segment) -> &Strategy {
        &self.rule_for(segment).expect("every segment has a rule, checked at load").strategy
    }

    /// Returns the strategy named `name`, whichever segments it serves.
    pub fn strategy_named(&self, name: &str) -> Option<&Strategy> {
        self.rules.iter().map(|rule| &rule.strategy).find(|strategy| strategy.name == name)
    }

    fn rule_for(&self, segment: &Segment) -> Option<&Rule> {
        self.rules.iter().find(|rule| {
            rule.tier.is_none_or(|tier| tier == segment.tier)
                && rule.stage.is_none_or(|stage| stage == segment.stage)
                && rule.band.is_none_or(|band| band == segment.band)
        })
    }

    fn all_segments(&self) -> Vec<Segment> {
        let mut segments = Vec::new();
        for tier in [RiskTier::LowRisk, RiskTier::MediumRisk, RiskTier::HighRisk] {
            for stage in [Stage::Early, Stage::Mid, Stage::Late, Stage::Recovery] {
                for band in [BalanceBand::Small, BalanceBand::Large] {
                    segments.push(Segment { tier, stage, band });
                }
            }
        }
        segments
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segment_label_format() {
        let segment = Segment { tier: RiskTier::MediumRisk, stage: Stage::Recovery, band: BalanceBand::Large };
        assert_eq!(segment.to_string(), "medium_risk.recovery.large");
    }

    #[test]
    fn embedded_book_places_debtors() {
        let book = StrategyBook::embedded();
        let small = Money::parse_decimal("4500.00", Currency::Mxn).unwrap();
        let large = Money::parse_decimal("20000.00", Currency::Mxn).unwrap();
        assert_eq!(book.segment(0.55, 12, small).to_string(), "low_risk.early.small");
        assert_eq!(book.segment(0.40, 31, large).to_string(), "low_risk.mid.large");
        assert_eq!(book.segment(0.39, 90, large).to_string(), "medium_risk.mid.large");
        assert_eq!(book.segment(0.14, 181, small).to_string(), "high_risk.recovery.small");
        assert_eq!(book.segment(0.15, 180, small).to_string(), "medium_risk.late.small");
    }

    #[test]
    fn first_matching_rule_wins() {
        let book = StrategyBook::embedded();
        let small = Money::from_major(100, Currency::Usd);
        let early_low = book.segment(0.9, 5, small);
        assert_eq!(book.strategy(&early_low).name, "early_reminder");
        assert_eq!(book.strategy(&early_low).offers, vec!["full_payment", "short_plan"]);
        let early_high = book.segment(0.05, 5, small);
        assert_eq!(book.strategy(&early_high).name, "early_priority");
        let recovery_high = book.segment(0.05, 400, small);
        assert_eq!(book.strategy(&recovery_high).name, "recovery_small");
        assert_eq!(book.strategy(&recovery_high).tone, Tone::Neutral);
        let recovery_large = book.segment(0.05, 400, Money::from_major(5_000, Currency::Usd));
        assert_eq!(book.strategy(&recovery_large).name, "recovery");
    }

    #[test]
    fn gap_in_rules_rejected() {
        let text = EMBEDDED_STRATEGY.replace(
            "name = \"recovery\"\nstage = \"recovery\"",
            "name = \"recovery\"\nstage = \"recovery\"\ntier = \"low_risk\"",
        );
        let error = StrategyBook::parse("strategy.toml", &text).unwrap_err().to_string();
        assert_eq!(
            error,
            "strategy.toml: no strategy matches segment medium_risk.recovery.small: add a rule for it or a catch-all last"
        );
    }

    #[test]
    fn unknown_offer_rejected() {
        let text = EMBEDDED_STRATEGY.replace("offers = [\"settlement\", \"partial\"]", "offers = [\"discount\"]");
        let error = StrategyBook::parse("strategy.toml", &text).unwrap_err().to_string();
        assert_eq!(
            error,
            "strategy.toml: strategy 'recovery_small': unknown offer 'discount'; use one of full_payment, short_plan, \
             settlement, settlement_plan, long_plan, partial"
        );
    }

    #[test]
    fn inverted_tiers_rejected() {
        let text = EMBEDDED_STRATEGY.replace("high_risk_below = 0.15", "high_risk_below = 0.5");
        let error = StrategyBook::parse("strategy.toml", &text).unwrap_err().to_string();
        assert!(error.starts_with("strategy.toml: tiers: high_risk_below (0.5) and low_risk_from (0.4)"), "{error}");
    }
}
