//! The `[currencies]` and `[scoring]` tables of the configuration.

use std::collections::HashMap;

use serde::Deserialize;

use super::Scaling;
use crate::collections::model::{Currency, Money};

/// Exchange rates to one unit of account.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CurrenciesConfig {
    /// US dollars per major unit of each currency, by ISO 4217 code.
    pub usd_per_unit: HashMap<Currency, f64>,
}

impl CurrenciesConfig {
    /// Converts an amount to US dollars, or `None` when the currency has no rate.
    pub fn to_usd(&self, amount: Money) -> Option<f64> {
        let rate = self.usd_per_unit.get(&amount.currency)?;
        let major = amount.amount_minor as f64 / amount.currency.minor_per_major() as f64;
        Some(major * rate)
    }

    /// Checks that every currency cobranza collects in has a positive, finite rate.
    pub fn validate(&self) -> Result<(), String> {
        for currency in [
            Currency::Mxn,
            Currency::Cop,
            Currency::Pen,
            Currency::Clp,
            Currency::Usd,
            Currency::Ars,
            Currency::Brl,
        ] {
            match self.usd_per_unit.get(&currency) {
                None => return Err(format!("currencies.usd_per_unit has no rate for {currency}: add {currency} = <dollars per unit>")),
                Some(rate) if !rate.is_finite() || *rate <= 0.0 => {
                    return Err(format!("currencies.usd_per_unit.{currency} is {rate}: use a positive number of dollars per unit"))
                }
                Some(_) => {}
            }
        }
        Ok(())
    }
}

/// The settings of scoring and of the dial queue's order.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScoringConfig {
    /// A debtor counts as paying when a payment arrives within this many days of the scoring
    /// date.
    pub outcome_window_days: u32,
    /// The cost of one call attempt in dollars, subtracted in the expected value.
    pub attempt_cost_usd: f64,
    pub base_points: f64,
    pub base_odds: f64,
    pub points_to_double_odds: f64,
}

impl ScoringConfig {
    pub fn scaling(&self) -> Scaling {
        Scaling {
            base_points: self.base_points,
            base_odds: self.base_odds,
            points_to_double_odds: self.points_to_double_odds,
        }
    }

    /// Checks the values a model and a queue depend on.
    pub fn validate(&self) -> Result<(), String> {
        if !(1..=365).contains(&self.outcome_window_days) {
            return Err(format!(
                "scoring.outcome_window_days is {}: use 1 to 365 days",
                self.outcome_window_days
            ));
        }
        if !self.attempt_cost_usd.is_finite() || self.attempt_cost_usd < 0.0 {
            return Err(format!("scoring.attempt_cost_usd is {}: use 0 or more dollars", self.attempt_cost_usd));
        }
        if !(self.base_odds.is_finite() && self.base_odds > 0.0) {
            return Err(format!("scoring.base_odds is {}: use positive odds such as 50", self.base_odds));
        }
        if !(self.points_to_double_odds.is_finite() && self.points_to_double_odds > 0.0) {
            return Err(format!(
                "scoring.points_to_double_odds is {}: use a positive number of points such as 20",
                self.points_to_double_odds
            ));
        }
        Ok(())
    }
}
