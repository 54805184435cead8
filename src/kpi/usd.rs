//! The cost to collect: what the calls cost per US dollar collected, with collections in other
//! currencies converted at configured rates.

use std::collections::HashMap;
use std::fmt;

use serde::Serialize;

use super::Rate;
use crate::collections::model::{Currency, Money};
use crate::cost::{format_dollars, MICROS_PER_DOLLAR};
use crate::scoring::settings::CurrenciesConfig;

/// US dollars per major unit of each currency (peso, sol, dollar), from the configuration's
/// `[currencies.usd_per_unit]`.
#[derive(Debug, Clone, PartialEq)]
pub struct UsdRates {
    currencies: CurrenciesConfig,
}

impl UsdRates {
    pub fn new(usd_per_unit: HashMap<Currency, f64>) -> UsdRates {
        UsdRates { currencies: CurrenciesConfig { usd_per_unit } }
    }

    pub fn from_config(config: &crate::config::Config) -> UsdRates {
        UsdRates { currencies: config.currencies.clone() }
    }

    /// Converts `amounts` to millionths of a US dollar, each rounded to the nearest. Returns the
    /// total and the currencies without a rate, whose amounts the total leaves out.
    pub fn to_usd_micros(&self, amounts: &[Money]) -> (u64, Vec<Currency>) {
        let mut total = 0_u64;
        let mut unconverted = Vec::new();
        for amount in amounts {
            match self.currencies.to_usd(*amount) {
                Some(dollars) => total += (dollars * MICROS_PER_DOLLAR as f64).round() as u64,
                None => unconverted.push(amount.currency),
            }
        }
        (total, unconverted)
    }
}

/// The cost of collecting one US dollar: the attempts' total cost ÷ the amount collected in US
/// dollars. The rate's numerator and denominator are both in millionths of a dollar.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CostToCollect {
    #[serde(flatten)]
    pub rate: Rate,
    /// Currencies collected without a configured rate. While there are any, the cost to collect
    /// has no value, because the denominator would be short.
    pub unconverted: Vec<Currency>,
}

impl CostToCollect {
    pub fn new(total_cost_micros: u64, collected: &[Money], rates: &UsdRates) -> CostToCollect {
        let (collected_micros, unconverted) = rates.to_usd_micros(collected);
        let mut rate = Rate::new(total_cost_micros, collected_micros, "US dollars collected, in millionths");
        if !unconverted.is_empty() {
            rate.value = None;
        }
        CostToCollect { rate, unconverted }
    }
}

impl fmt::Display for CostToCollect {
    /// Writes `$0.0420 per dollar collected ($1.2000 cost, $28.5714 collected)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.unconverted.is_empty() {
            let codes: Vec<&str> = self.unconverted.iter().map(|currency| currency.code()).collect();
            return write!(f, "n/a (no USD rate configured for {})", codes.join(", "));
        }
        match self.rate.value {
            Some(value) => write!(
                f,
                "{} per dollar collected ({} cost, {} collected)",
                format_dollars((value * MICROS_PER_DOLLAR as f64).round() as u64),
                format_dollars(self.rate.numerator),
                format_dollars(self.rate.denominator)
            ),
            None => write!(f, "n/a (nothing collected)"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rates() -> UsdRates {
        UsdRates::new(HashMap::from([(Currency::Mxn, 0.05), (Currency::Clp, 0.001), (Currency::Usd, 1.0)]))
    }

    #[test]
    fn amounts_convert_per_major_unit() {
        let collected = [Money::new(200_000, Currency::Mxn), Money::new(30_000, Currency::Clp)];
        // 2000.00 MXN × 0.05 = 100 USD; 30000 CLP × 0.001 = 30 USD.
        assert_eq!(rates().to_usd_micros(&collected), (130_000_000, vec![]));
    }

    #[test]
    fn missing_rate_leaves_no_value() {
        let collected = [Money::new(200_000, Currency::Mxn), Money::new(5_000, Currency::Ars)];
        let cost = CostToCollect::new(2_000_000, &collected, &rates());
        assert_eq!(cost.rate.denominator, 100_000_000);
        assert_eq!(cost.rate.value, None);
        assert_eq!(cost.unconverted, vec![Currency::Ars]);
        assert_eq!(cost.to_string(), "n/a (no USD rate configured for ARS)");
    }

    #[test]
    fn cost_per_dollar_collected() {
        let cost = CostToCollect::new(2_000_000, &[Money::new(200_000, Currency::Mxn)], &rates());
        assert_eq!(cost.rate.value, Some(0.02));
        assert_eq!(cost.to_string(), "$0.0200 per dollar collected ($2.0000 cost, $100.0000 collected)");
        assert_eq!(CostToCollect::new(5, &[], &rates()).to_string(), "n/a (nothing collected)");
    }
}
