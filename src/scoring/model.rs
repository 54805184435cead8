//! Training, validating and applying the propensity-to-pay model on the store's history.
//!
//! The split is by time. Features are read as of the first day of a month, from events before
//! that day only, and the label is whether any payment arrived in the outcome window that
//! starts that day. The holdout is the latest month whose window has ended; the three months
//! before it train the model. So the model is judged on debtors' behaviour in a later period
//! than the one it learned from, as it will be used.

use std::collections::BTreeMap;

use chrono::{Datelike, Duration, Months, NaiveDate, Timelike, Utc};
use serde::{Deserialize, Serialize};

use super::segment::{Stage, StrategyBook};
use super::settings::{CurrenciesConfig, ScoringConfig};
use super::store::{DebtHistory, DebtorScore};
use super::{metrics, Features, Scorecard, Validation};
use crate::collections::model::{DebtorId, Money};
use crate::collections::{Store, StoreError};

/// Months of training snapshots before the holdout month.
const TRAINING_MONTHS: u32 = 3;

/// Below this many training debtors, or payers, or non-payers, the history is too thin to
/// learn from and the default model scores.
const MIN_TRAINING_ROWS: usize = 300;
const MIN_TRAINING_CLASS: usize = 30;

/// Share of the balance a paying debtor is assumed to pay in the window when the history has no
/// payers in that stage.
const DEFAULT_RECOVERY_FRACTION: f64 = 0.3;

/// Reasons listed with a stored score.
const STORED_REASONS: usize = 3;

/// A scorecard with what a payment is expected to be worth.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PaymentModel {
    pub scorecard: Scorecard,
    pub outcome_window_days: u32,
    /// Mean share of the balance that payers paid within the window, per days-past-due stage
    /// (`early`, `mid`, `late`, `recovery`).
    pub recovery_fraction: BTreeMap<String, f64>,
}

impl PaymentModel {
    /// Returns the model used before any history exists.
    pub fn default_model(outcome_window_days: u32) -> PaymentModel {
        PaymentModel {
            scorecard: Scorecard::default_model(),
            outcome_window_days,
            recovery_fraction: BTreeMap::new(),
        }
    }

    /// Returns the share of the balance a payer in this stage pays in the window.
    pub fn recovery_fraction(&self, stage: Stage) -> f64 {
        self.recovery_fraction.get(stage.as_str()).copied().unwrap_or(DEFAULT_RECOVERY_FRACTION)
    }
}

/// A trained model's measures on the holdout, beside those of ranking by days past due alone.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelValidation {
    pub training_dates: Vec<NaiveDate>,
    pub holdout_date: NaiveDate,
    pub training_rows: usize,
    pub training_payers: usize,
    pub holdout_rows: usize,
    pub holdout_payers: usize,
    pub auc: Option<f64>,
    pub gini: Option<f64>,
    pub ks: Option<f64>,
    /// Population stability of the holdout's probabilities against the training rows'.
    pub psi: Option<f64>,
    /// The same measures for ranking by days past due, fewest first.
    pub baseline_auc: Option<f64>,
    pub baseline_ks: Option<f64>,
    /// Each characteristic kept in the model, with its information value on the training rows.
    pub information_values: Vec<(String, f64)>,
}

/// One debtor's features as of a date, with the label where the window has ended.
#[derive(Debug, Clone, PartialEq)]
pub struct DebtorRow {
    pub debtor_id: DebtorId,
    pub features: Features,
    /// The balance of the debtor's largest debt currency, summed over its debts: the amount the
    /// segment's band and the expected value read.
    pub balance: Money,
    /// The balance over all debts in US dollars.
    pub balance_usd: f64,
    /// The amount the debtor paid in the window, in US dollars.
    pub paid_in_window_usd: f64,
}

impl DebtorRow {
    pub fn paid(&self) -> bool {
        self.paid_in_window_usd > 0.0
    }
}

/// Folds each debtor's debts into one row of features as of `as_of`. Debtors with nothing left
/// to pay are left out: there is nothing to predict or to dial for.
pub fn debtor_rows(histories: &[DebtHistory], as_of: NaiveDate, currencies: &CurrenciesConfig) -> Vec<DebtorRow> {
    let mut rows = Vec::new();
    let mut start = 0;
    while start < histories.len() {
        let debtor = &histories[start].debtor_id;
        let end = start + histories[start..].iter().take_while(|history| &history.debtor_id == debtor).count();
        if let Some(row) = debtor_row(&histories[start..end], as_of, currencies) {
            rows.push(row);
        }
        start = end;
    }
    rows
}

fn debtor_row(debts: &[DebtHistory], as_of: NaiveDate, currencies: &CurrenciesConfig) -> Option<DebtorRow> {
    let usd = |amount: Money| currencies.to_usd(amount).unwrap_or(0.0);
    let owing: Vec<&DebtHistory> = debts.iter().filter(|debt| debt.balance_minor > 0).collect();
    let largest = owing.iter().max_by(|a, b| {
        usd(Money::new(a.balance_minor, a.currency)).total_cmp(&usd(Money::new(b.balance_minor, b.currency)))
    })?;
    let first = &debts[0];
    let balance_minor: i64 =
        owing.iter().filter(|debt| debt.currency == largest.currency).map(|debt| debt.balance_minor).sum();
    let midnight = as_of.and_hms_opt(0, 0, 0).expect("midnight exists").and_utc();
    let last_payment = debts.iter().filter_map(|debt| debt.last_payment).max();

    let features = Features {
        days_past_due: owing.iter().map(|debt| debt.days_past_due).max().unwrap_or(0),
        balance: owing.iter().map(|debt| usd(Money::new(debt.balance_minor, debt.currency))).sum(),
        product: largest.product.clone(),
        promises_kept: debts.iter().map(|debt| debt.promises_kept).sum(),
        promises_broken: debts.iter().map(|debt| debt.promises_broken).sum(),
        payments: debts.iter().map(|debt| debt.payments).sum(),
        // Contacts are counted per debtor, so every debt row carries the same figures.
        right_party_contacts: first.right_party_contacts,
        attempts: first.attempts,
        contact_hour: first.last_right_party_contact.map(|at| at.with_timezone(&first.time_zone).hour() as u8),
        days_since_contact: first.last_right_party_contact.map(|at| (midnight - at).num_days().max(0) as u32),
        days_since_payment: last_payment.map(|day| (as_of - day).num_days().max(0) as u32),
    };
    Some(DebtorRow {
        debtor_id: first.debtor_id.clone(),
        balance_usd: features.balance,
        features,
        balance: Money::new(balance_minor, largest.currency),
        paid_in_window_usd: debts.iter().map(|debt| usd(Money::new(debt.paid_in_window_minor, debt.currency))).sum(),
    })
}

/// Returns the first day of the month of `day`.
fn month_start(day: NaiveDate) -> NaiveDate {
    day.with_day(1).expect("every month has a first day")
}

/// Returns the holdout date for history known up to `today`: the latest first of a month whose outcome
/// window has ended by `today`.
pub fn holdout_date(today: NaiveDate, window_days: u32) -> NaiveDate {
    month_start(today - Duration::days(i64::from(window_days)))
}

/// A trained model, its validation, and the rows it was judged on.
#[derive(Debug, Clone)]
pub struct Trained {
    pub model: PaymentModel,
    pub validation: ModelValidation,
}

/// Trains on the store's history as known on `today`, or returns `None` when the history is too
/// thin to learn from.
pub async fn train(
    store: &dyn Store,
    today: NaiveDate,
    scoring: &ScoringConfig,
    currencies: &CurrenciesConfig,
) -> Result<Option<Trained>, StoreError> {
    let window = scoring.outcome_window_days;
    let holdout = holdout_date(today, window);
    let training_dates: Vec<NaiveDate> =
        (1..=TRAINING_MONTHS).rev().map(|months| holdout - Months::new(months)).collect();

    let mut training = Vec::new();
    for &date in &training_dates {
        let histories = store.debt_histories(date, window, None).await?;
        training.extend(debtor_rows(&histories, date, currencies));
    }
    let holdout_rows = debtor_rows(&store.debt_histories(holdout, window, None).await?, holdout, currencies);
    Ok(fit(&training, &holdout_rows, training_dates, holdout, scoring))
}

/// Fits and validates a model on rows already read; `None` when they are too few.
pub fn fit(
    training: &[DebtorRow],
    holdout: &[DebtorRow],
    training_dates: Vec<NaiveDate>,
    holdout_date: NaiveDate,
    scoring: &ScoringConfig,
) -> Option<Trained> {
    let payers = training.iter().filter(|row| row.paid()).count();
    if training.len() < MIN_TRAINING_ROWS || payers < MIN_TRAINING_CLASS || training.len() - payers < MIN_TRAINING_CLASS
    {
        return None;
    }
    let labelled = |rows: &[DebtorRow]| rows.iter().map(|row| (row.features.clone(), row.paid())).collect::<Vec<_>>();
    let training_labelled = labelled(training);
    let holdout_labelled = labelled(holdout);

    let version = format!("ptp{}-{}", scoring.outcome_window_days, holdout_date.format("%Y%m%d"));
    let scorecard = Scorecard::train(&version, &training_labelled, scoring.scaling());
    let Validation { auc, gini, ks, psi, .. } = scorecard.validate(&training_labelled, &holdout_labelled);

    // The baseline ranks by days past due, fewest first.
    let baseline_scores: Vec<f64> = holdout.iter().map(|row| -f64::from(row.features.days_past_due)).collect();
    let holdout_paid: Vec<bool> = holdout.iter().map(DebtorRow::paid).collect();

    let validation = ModelValidation {
        training_dates,
        holdout_date,
        training_rows: training.len(),
        training_payers: payers,
        holdout_rows: holdout.len(),
        holdout_payers: holdout_paid.iter().filter(|paid| **paid).count(),
        auc,
        gini,
        ks,
        psi,
        baseline_auc: metrics::auc(&baseline_scores, &holdout_paid),
        baseline_ks: metrics::ks(&baseline_scores, &holdout_paid),
        information_values: scorecard
            .binnings
            .iter()
            .map(|binning| (binning.characteristic.as_str().to_string(), binning.information_value))
            .collect(),
    };
    let model = PaymentModel {
        scorecard,
        outcome_window_days: scoring.outcome_window_days,
        recovery_fraction: recovery_fractions(training),
    };
    Some(Trained { model, validation })
}

/// Computes the mean share of the balance that payers paid in the window, per stage, capped at the whole
/// balance.
fn recovery_fractions(rows: &[DebtorRow]) -> BTreeMap<String, f64> {
    let mut sums: BTreeMap<String, (f64, usize)> = BTreeMap::new();
    for row in rows.iter().filter(|row| row.paid() && row.balance_usd > 0.0) {
        let stage = Stage::of(row.features.days_past_due).as_str().to_string();
        let entry = sums.entry(stage).or_default();
        entry.0 += (row.paid_in_window_usd / row.balance_usd).min(1.0);
        entry.1 += 1;
    }
    sums.into_iter().map(|(stage, (sum, count))| (stage, sum / count as f64)).collect()
}

/// Scores every row: probability, points, expected value of a call, segment and strategy.
pub fn score_rows(
    model: &PaymentModel,
    rows: &[DebtorRow],
    as_of: NaiveDate,
    scoring: &ScoringConfig,
    book: &StrategyBook,
) -> Vec<DebtorScore> {
    let scored_at = Utc::now();
    rows.iter()
        .map(|row| {
            let score = model.scorecard.score(&row.features);
            let stage = Stage::of(row.features.days_past_due);
            let expected_amount = row.balance_usd * model.recovery_fraction(stage);
            let segment = book.segment(score.probability, row.features.days_past_due, row.balance);
            DebtorScore {
                debtor_id: row.debtor_id.clone(),
                model_version: model.scorecard.version.clone(),
                scored_at,
                as_of,
                probability: score.probability,
                points: score.points.round() as i64,
                expected_value_usd: super::expected_value(score.probability, expected_amount, scoring.attempt_cost_usd),
                segment: segment.to_string(),
                strategy: book.strategy(&segment).name.clone(),
                top_reasons: score
                    .reasons
                    .iter()
                    .filter(|reason| reason.points_below_best > 0.0)
                    .take(STORED_REASONS)
                    .map(|reason| reason.characteristic.as_str().to_string())
                    .collect(),
            }
        })
        .collect()
}
