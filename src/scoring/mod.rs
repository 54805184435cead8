//! Propensity to pay: a weight-of-evidence scorecard, the collections industry's explainable
//! model. Each characteristic is binned, each bin weighed by its weight of evidence, and a
//! logistic regression on those weights gives the probability of a payment. Scores are scaled to
//! points, and every score comes with the characteristics that moved it.
//!
//! This file trains, scores, explains and validates from plain rows. `model` reads the rows from
//! the store's history with a time-based split, and `cli` writes the scores back.

mod bins;
pub mod cli;
mod logistic;
pub mod metrics;
pub mod model;
pub mod segment;
pub mod settings;
pub mod store;

use serde::{Deserialize, Serialize};

pub use bins::{Bin, BinRule, Binning, Characteristic};

/// A debtor's characteristics at the moment of scoring.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Features {
    pub days_past_due: u32,
    /// The balance in the currency's major unit. Portfolios in several currencies should be
    /// converted to one first, or the balance bins mix them.
    pub balance: f64,
    pub product: String,
    pub promises_kept: u32,
    pub promises_broken: u32,
    pub payments: u32,
    pub right_party_contacts: u32,
    /// Calls placed to the debtor; right-party contacts divided by these is how reachable the
    /// debtor is.
    pub attempts: u32,
    /// The local hour of the debtor's most recent right-party contact.
    pub contact_hour: Option<u8>,
    pub days_since_contact: Option<u32>,
    pub days_since_payment: Option<u32>,
}

/// Points scaling: `points = offset + factor × ln(odds)`, `factor = PDO ÷ ln 2` and
/// `offset = base_points − factor × ln(base_odds)`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Scaling {
    /// The points a debtor gets at `base_odds` (payers to non-payers).
    pub base_points: f64,
    pub base_odds: f64,
    /// Points that double the odds.
    pub points_to_double_odds: f64,
}

impl Default for Scaling {
    /// 600 points at 50:1 odds, 20 points to double them: a common calibration, not a rule.
    fn default() -> Self {
        Scaling { base_points: 600.0, base_odds: 50.0, points_to_double_odds: 20.0 }
    }
}

impl Scaling {
    pub fn factor(&self) -> f64 {
        self.points_to_double_odds / std::f64::consts::LN_2
    }

    pub fn offset(&self) -> f64 {
        self.base_points - self.factor() * self.base_odds.ln()
    }
}

/// A trained scorecard.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Scorecard {
    /// Stored with every score, so a score can be traced to the model that gave it.
    pub version: String,
    pub binnings: Vec<Binning>,
    pub intercept: f64,
    /// One coefficient per binning, on its weight of evidence.
    pub coefficients: Vec<f64>,
    pub scaling: Scaling,
}

/// A debtor's score.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Score {
    pub probability: f64,
    pub points: f64,
    /// One line per characteristic, the ones that cost the most points first.
    pub reasons: Vec<Reason>,
}

/// One characteristic's contribution to a score.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Reason {
    pub characteristic: Characteristic,
    /// The debtor's bin.
    pub bin: String,
    pub points: f64,
    /// Points below the characteristic's best bin: what it cost the debtor.
    pub points_below_best: f64,
}

/// A characteristic whose information value is below this adds only noise and is left out.
const MIN_INFORMATION_VALUE: f64 = 0.02;

impl Scorecard {
    /// Trains on `rows` (a debtor's features and whether they paid in the outcome window). Every
    /// characteristic with at least weak information value is used; with none, the model is the
    /// base rate alone.
    pub fn train(version: &str, rows: &[(Features, bool)], scaling: Scaling) -> Scorecard {
        let borrowed: Vec<(&Features, bool)> = rows.iter().map(|(features, paid)| (features, *paid)).collect();
        let mut binnings: Vec<Binning> = Characteristic::ALL
            .into_iter()
            .map(|characteristic| Binning::fit(characteristic, &borrowed))
            .filter(|binning| binning.information_value >= MIN_INFORMATION_VALUE)
            .collect();
        let paid: Vec<bool> = rows.iter().map(|(_, paid)| *paid).collect();
        // A weight of evidence points toward payers, so a negative coefficient means the
        // characteristic overlaps another (days since payment with payments, say). It is dropped
        // and the rest refitted, so a better bin never lowers a score.
        let beta = loop {
            let columns: Vec<Vec<f64>> = binnings
                .iter()
                .map(|binning| {
                    borrowed.iter().map(|(features, _)| binning.bins[binning.bin_of(features)].woe).collect()
                })
                .collect();
            let beta = logistic::fit(&columns, &paid);
            let weakest = (1..beta.len()).min_by(|&a, &b| beta[a].total_cmp(&beta[b]));
            match weakest {
                Some(index) if beta[index] <= 0.0 => {
                    binnings.remove(index - 1);
                }
                _ => break beta,
            }
        };
        Scorecard {
            version: version.to_string(),
            binnings,
            intercept: beta[0],
            coefficients: beta[1..].to_vec(),
            scaling,
        }
    }

    /// Returns the probability of payment alone, without the explanation.
    pub fn probability(&self, features: &Features) -> f64 {
        let log_odds = self.intercept
            + self
                .binnings
                .iter()
                .zip(&self.coefficients)
                .map(|(binning, coefficient)| coefficient * binning.bins[binning.bin_of(features)].woe)
                .sum::<f64>();
        1.0 / (1.0 + (-log_odds).exp())
    }

    /// Scores a debtor and explains the score. Each characteristic's points are its share of the
    /// log-odds in points, with the intercept and offset spread evenly, so they add up to the
    /// score.
    pub fn score(&self, features: &Features) -> Score {
        let factor = self.scaling.factor();
        let count = self.binnings.len().max(1) as f64;
        let share = (self.scaling.offset() + factor * self.intercept) / count;
        let points_of = |coefficient: f64, woe: f64| share + factor * coefficient * woe;
        let mut reasons: Vec<Reason> = self
            .binnings
            .iter()
            .zip(&self.coefficients)
            .map(|(binning, &coefficient)| {
                let bin = &binning.bins[binning.bin_of(features)];
                let best = binning.bins.iter().map(|bin| points_of(coefficient, bin.woe)).fold(f64::MIN, f64::max);
                let points = points_of(coefficient, bin.woe);
                Reason {
                    characteristic: binning.characteristic,
                    bin: bin.label(),
                    points,
                    points_below_best: best - points,
                }
            })
            .collect();
        reasons.sort_by(|a, b| b.points_below_best.total_cmp(&a.points_below_best));
        let probability = self.probability(features);
        let points = if self.binnings.is_empty() { share } else { reasons.iter().map(|reason| reason.points).sum() };
        Score { probability, points, reasons }
    }

    /// Measures the scorecard on later rows: AUC, Gini, KS, and the population stability of the
    /// later rows' scores against the training rows'.
    pub fn validate(&self, training: &[(Features, bool)], later: &[(Features, bool)]) -> Validation {
        let probabilities =
            |rows: &[(Features, bool)]| rows.iter().map(|(features, _)| self.probability(features)).collect::<Vec<_>>();
        let later_scores = probabilities(later);
        let paid: Vec<bool> = later.iter().map(|(_, paid)| *paid).collect();
        let auc = metrics::auc(&later_scores, &paid);
        Validation {
            rows: later.len(),
            auc,
            gini: auc.map(|auc| 2.0 * auc - 1.0),
            ks: metrics::ks(&later_scores, &paid),
            psi: metrics::psi(&probabilities(training), &later_scores, 10),
        }
    }

    /// Returns the model used before any history exists: days past due and the promise record, weighed
    /// by collectors' rule of thumb (early delinquency pays more often, broken promises less).
    pub fn default_model() -> Scorecard {
        let range = |from: Option<f64>, to: Option<f64>, woe: f64| Bin {
            rule: BinRule::Range { from, to },
            woe,
            rows: 0,
            payers: 0,
        };
        let binning = |characteristic, bins: Vec<Bin>| Binning { characteristic, bins, information_value: 0.0 };
        Scorecard {
            version: "default-1".to_string(),
            binnings: vec![
                binning(
                    Characteristic::DaysPastDue,
                    vec![
                        range(None, Some(31.0), 0.8),
                        range(Some(31.0), Some(91.0), 0.2),
                        range(Some(91.0), Some(181.0), -0.4),
                        range(Some(181.0), None, -1.0),
                    ],
                ),
                binning(Characteristic::PromisesKept, vec![range(None, Some(1.0), 0.0), range(Some(1.0), None, 0.7)]),
                binning(
                    Characteristic::PromisesBroken,
                    vec![range(None, Some(1.0), 0.2), range(Some(1.0), Some(2.0), -0.3), range(Some(2.0), None, -0.8)],
                ),
            ],
            // About one payer in four at 0 WoE.
            intercept: -1.1,
            coefficients: vec![1.0, 1.0, 1.0],
            scaling: Scaling::default(),
        }
    }
}

/// A scorecard's performance on rows it was not trained on.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Validation {
    pub rows: usize,
    pub auc: Option<f64>,
    pub gini: Option<f64>,
    pub ks: Option<f64>,
    pub psi: Option<f64>,
}

/// Expected value of calling a debtor: `P(pay) × expected amount − cost of the attempt`, in the
/// unit of `expected_amount` and `attempt_cost`. Queues dial the highest first.
pub fn expected_value(probability: f64, expected_amount: f64, attempt_cost: f64) -> f64 {
    probability * expected_amount - attempt_cost
}

#[cfg(test)]
mod tests;
