//! Ratios that state what they divide by.

use std::fmt;

use serde::Serialize;

use crate::collections::model::{Currency, Money};
use crate::cost::format_dollars;

/// A ratio that states what it divides by.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Rate {
    pub numerator: u64,
    pub denominator: u64,
    /// The name of what the denominator counts, e.g. "dials".
    pub denominator_name: &'static str,
    /// `numerator ÷ denominator` as a fraction (0.25 is 25%), or `None` when the denominator is 0.
    pub value: Option<f64>,
}

impl Rate {
    pub fn new(numerator: u64, denominator: u64, denominator_name: &'static str) -> Rate {
        let value = (denominator > 0).then(|| numerator as f64 / denominator as f64);
        Rate { numerator, denominator, denominator_name, value }
    }
}

impl fmt::Display for Rate {
    /// Writes `45.0% (9 of 20 dials)`, or `n/a (0 dials)` without a denominator.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.value {
            Some(value) => write!(
                f,
                "{:.1}% ({} of {} {})",
                value * 100.0,
                self.numerator,
                self.denominator,
                self.denominator_name
            ),
            None => write!(f, "n/a (0 {})", self.denominator_name),
        }
    }
}

/// A ratio of two amounts in one currency, both in its minor unit.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CurrencyRate {
    pub currency: Currency,
    #[serde(flatten)]
    pub rate: Rate,
}

impl fmt::Display for CurrencyRate {
    /// Writes `55.0% (4400.00 of 8000.00 MXN promised)`, or `n/a (0 MXN promised)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let money = |minor: u64| Money::new(i64::try_from(minor).unwrap_or(i64::MAX), self.currency);
        match self.rate.value {
            Some(value) => write!(
                f,
                "{:.1}% ({} of {} {})",
                value * 100.0,
                money(self.rate.numerator).to_decimal_string(),
                money(self.rate.denominator),
                self.rate.denominator_name
            ),
            None => write!(f, "n/a (0 {} {})", self.currency, self.rate.denominator_name),
        }
    }
}

/// A cost divided by a count, which states what it divides by.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CostPer {
    pub total_micros: u64,
    pub count: u64,
    /// The name of what the count counts, e.g. "promises".
    pub count_name: &'static str,
    /// `total ÷ count` in millionths of a dollar, rounded to the nearest; `None` when the count is 0.
    pub micros: Option<u64>,
}

impl CostPer {
    pub fn new(total_micros: u64, count: u64, count_name: &'static str) -> CostPer {
        let micros = (count > 0).then(|| (total_micros + count / 2) / count);
        CostPer { total_micros, count, count_name, micros }
    }
}

impl fmt::Display for CostPer {
    /// Writes `$0.0123 (8 calls)`, or `n/a (0 promises)` without a count.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.micros {
            Some(micros) => write!(f, "{} ({} {})", format_dollars(micros), self.count, self.count_name),
            None => write!(f, "n/a (0 {})", self.count_name),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_display() {
        assert_eq!(Rate::new(1, 3, "dials").to_string(), "33.3% (1 of 3 dials)");
        assert_eq!(Rate::new(0, 0, "right-party contacts").to_string(), "n/a (0 right-party contacts)");
    }

    #[test]
    fn currency_rate_display() {
        let kept = CurrencyRate { currency: Currency::Mxn, rate: Rate::new(440_000, 800_000, "promised") };
        assert_eq!(kept.to_string(), "55.0% (4400.00 of 8000.00 MXN promised)");
        let none = CurrencyRate { currency: Currency::Clp, rate: Rate::new(0, 0, "placed") };
        assert_eq!(none.to_string(), "n/a (0 CLP placed)");
    }

    #[test]
    fn cost_per_rounds_to_nearest() {
        assert_eq!(CostPer::new(55_000, 11, "calls").micros, Some(5_000));
        assert_eq!(CostPer::new(10, 4, "calls").micros, Some(3));
        assert_eq!(CostPer::new(10, 0, "promises").to_string(), "n/a (0 promises)");
    }
}
