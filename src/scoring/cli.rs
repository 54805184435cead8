//! `cobranza score`: trains the propensity-to-pay model on the store's history, rescores the
//! portfolio and prints the dial queue, or explains one debtor's score.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Instant;

use anyhow::Context as _;
use chrono::{NaiveDate, Utc};
use serde::Serialize;

use super::model::{debtor_rows, score_rows, train, ModelValidation, PaymentModel};
use super::segment::StrategyBook;
use super::settings::{CurrenciesConfig, ScoringConfig};
use super::store::{DebtorScore, StoredModel};
use crate::collections::model::DebtorId;
use crate::collections::Store;

/// The options of `cobranza score`.
#[derive(Debug, Clone, clap::Args)]
pub struct ScoreArgs {
    /// Score as known on this day (YYYY-MM-DD, UTC): features read events before it. By default
    /// today.
    #[arg(long, value_name = "YYYY-MM-DD", value_parser = parse_day)]
    pub as_of: Option<NaiveDate>,
    /// Explain the score of this debtor (a debtor_id) instead of rescoring.
    #[arg(long, value_name = "DEBTOR")]
    pub explain: Option<String>,
    /// Score with the stored model (or the default one) instead of training a new model first.
    #[arg(long)]
    pub no_train: bool,
    /// How many debtors of the dial queue to print, highest expected value first.
    #[arg(long, default_value_t = 10)]
    pub top: u32,
    /// Print one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
}

fn parse_day(text: &str) -> Result<NaiveDate, String> {
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .map_err(|_| format!("'{text}' is not a date: write it as YYYY-MM-DD, for example 2026-12-02"))
}

/// The outcome of one rescoring.
#[derive(Debug, Clone, Serialize)]
pub struct ScoreReport {
    pub as_of: NaiveDate,
    pub model_version: String,
    /// Present when a model was trained in this run.
    pub validation: Option<ModelValidation>,
    /// The reason the default or stored model scored instead of a new one.
    pub model_note: Option<String>,
    pub debtors_scored: usize,
    pub seconds: f64,
    /// Debtors per segment.
    pub segments: BTreeMap<String, usize>,
    pub queue: Vec<DebtorScore>,
}

/// Runs `cobranza score` and returns what it prints.
pub async fn run(
    store: &dyn Store,
    args: &ScoreArgs,
    scoring: &ScoringConfig,
    currencies: &CurrenciesConfig,
) -> anyhow::Result<String> {
    let book = StrategyBook::embedded();
    let as_of = args.as_of.unwrap_or_else(|| Utc::now().date_naive());
    if let Some(debtor) = &args.explain {
        return explain(store, &DebtorId(debtor.clone()), as_of, scoring, currencies, &book, args.json).await;
    }
    let report = rescore(store, as_of, !args.no_train, args.top, scoring, currencies, &book).await?;
    if args.json {
        return Ok(serde_json::to_string(&report)?);
    }
    Ok(render(&report))
}

/// Trains when asked and the history allows, then scores every debtor and stores the scores.
pub async fn rescore(
    store: &dyn Store,
    as_of: NaiveDate,
    train_first: bool,
    top: u32,
    scoring: &ScoringConfig,
    currencies: &CurrenciesConfig,
    book: &StrategyBook,
) -> anyhow::Result<ScoreReport> {
    let started = Instant::now();
    let mut validation = None;
    let mut model_note = None;
    let trained = if train_first { train(store, as_of, scoring, currencies).await? } else { None };
    let model = match trained {
        Some(trained) => {
            let stored = StoredModel {
                version: trained.model.scorecard.version.clone(),
                trained_at: Utc::now(),
                model: serde_json::to_string(&trained.model)?,
                validation: serde_json::to_string(&trained.validation)?,
            };
            store.save_model(&stored).await?;
            validation = Some(trained.validation);
            trained.model
        }
        None => {
            if train_first {
                model_note = Some(
                    "the history is too thin to train on (fewer than 300 debtors, or 30 payers or non-payers, in \
                     the training months), so an earlier or the default model scored"
                        .to_string(),
                );
            }
            stored_or_default(store, scoring).await?
        }
    };

    let histories = store.debt_histories(as_of, scoring.outcome_window_days, None).await?;
    let rows = debtor_rows(&histories, as_of, currencies);
    let scores = score_rows(&model, &rows, as_of, scoring, book);
    store.replace_all_scores(&scores).await?;

    let mut segments = BTreeMap::new();
    for score in &scores {
        *segments.entry(score.segment.clone()).or_insert(0) += 1;
    }
    let queue = store.dial_queue(top).await?;
    Ok(ScoreReport {
        as_of,
        model_version: model.scorecard.version.clone(),
        validation,
        model_note,
        debtors_scored: scores.len(),
        seconds: started.elapsed().as_secs_f64(),
        segments,
        queue,
    })
}

/// Returns the latest stored model, or the default one when none is stored.
pub async fn stored_or_default(store: &dyn Store, scoring: &ScoringConfig) -> anyhow::Result<PaymentModel> {
    match store.latest_model().await? {
        Some(stored) => serde_json::from_str(&stored.model)
            .with_context(|| format!("stored model {} is not valid JSON of a model; retrain with `cobranza score`", stored.version)),
        None => Ok(PaymentModel::default_model(scoring.outcome_window_days)),
    }
}

fn percent(value: Option<f64>) -> String {
    value.map_or("n/a".to_string(), |value| format!("{:.1}%", value * 100.0))
}

fn ratio(value: Option<f64>) -> String {
    value.map_or("n/a".to_string(), |value| format!("{value:.3}"))
}

/// Formats a rescoring as `cobranza score` prints it.
pub fn render(report: &ScoreReport) -> String {
    let mut text = format!(
        "Scored {} debtors as of {} with model {} in {:.2} s\n",
        report.debtors_scored, report.as_of, report.model_version, report.seconds
    );
    if let Some(note) = &report.model_note {
        let _ = writeln!(text, "note: {note}");
    }
    if let Some(validation) = &report.validation {
        let dates: Vec<String> = validation.training_dates.iter().map(ToString::to_string).collect();
        let _ = writeln!(
            text,
            "trained on {} debtor-months ({} paid) as of {}; holdout as of {}: {} debtors, {} paid",
            validation.training_rows,
            validation.training_payers,
            dates.join(", "),
            validation.holdout_date,
            validation.holdout_rows,
            validation.holdout_payers
        );
        let _ = writeln!(text, "                 model   days past due only");
        let _ = writeln!(text, "  holdout AUC    {:<7} {}", ratio(validation.auc), ratio(validation.baseline_auc));
        let _ = writeln!(
            text,
            "  holdout Gini   {:<7} {}",
            ratio(validation.gini),
            ratio(validation.baseline_auc.map(|auc| 2.0 * auc - 1.0))
        );
        let _ = writeln!(text, "  holdout KS     {:<7} {}", ratio(validation.ks), ratio(validation.baseline_ks));
        let _ = writeln!(text, "  PSI, holdout against training: {}", ratio(validation.psi));
        let values: Vec<String> =
            validation.information_values.iter().map(|(name, value)| format!("{name} {value:.3}")).collect();
        let _ = writeln!(text, "  information value: {}", values.join(", "));
    }
    let _ = writeln!(text, "segments:");
    for (segment, count) in &report.segments {
        let _ = writeln!(text, "  {segment:<28} {count}");
    }
    let _ = writeln!(text, "dial queue, highest expected value first:");
    for score in &report.queue {
        let _ = writeln!(
            text,
            "  {:<12} ${:>10.2}  P(pay) {:>6}  {:>4} points  {}",
            score.debtor_id.0,
            score.expected_value_usd,
            percent(Some(score.probability)),
            score.points,
            score.segment
        );
    }
    text.trim_end().to_string()
}

/// One characteristic's line in an explanation.
#[derive(Debug, Clone, Serialize)]
pub struct ExplainedFactor {
    pub characteristic: String,
    pub bin: String,
    pub points: f64,
    pub points_below_best: f64,
}

/// The factors behind one debtor's score.
#[derive(Debug, Clone, Serialize)]
pub struct Explanation {
    pub debtor_id: String,
    pub as_of: NaiveDate,
    pub model_version: String,
    pub probability: f64,
    pub points: i64,
    pub expected_value_usd: f64,
    pub segment: String,
    pub strategy: String,
    pub tone: String,
    pub offers: Vec<String>,
    pub factors: Vec<ExplainedFactor>,
    /// The score stored by the last rescoring, when there is one.
    pub stored: Option<DebtorScore>,
}

async fn explain(
    store: &dyn Store,
    debtor: &DebtorId,
    as_of: NaiveDate,
    scoring: &ScoringConfig,
    currencies: &CurrenciesConfig,
    book: &StrategyBook,
    json: bool,
) -> anyhow::Result<String> {
    let histories = store.debt_histories(as_of, scoring.outcome_window_days, Some(debtor)).await?;
    if histories.is_empty() {
        anyhow::bail!("debtor {} is not in the store: check the id, or import the portfolio first", debtor.0);
    }
    let Some(row) = debtor_rows(&histories, as_of, currencies).into_iter().next() else {
        anyhow::bail!("debtor {} owes nothing as of {as_of}, so there is no score to explain", debtor.0);
    };
    let model = stored_or_default(store, scoring).await?;
    let scored = score_rows(&model, std::slice::from_ref(&row), as_of, scoring, book).remove(0);
    let score = model.scorecard.score(&row.features);
    let segment = book.segment(score.probability, row.features.days_past_due, row.balance);
    let strategy = book.strategy(&segment);

    let explanation = Explanation {
        debtor_id: debtor.0.clone(),
        as_of,
        model_version: model.scorecard.version.clone(),
        probability: score.probability,
        points: scored.points,
        expected_value_usd: scored.expected_value_usd,
        segment: scored.segment.clone(),
        strategy: strategy.name.clone(),
        tone: format!("{:?}", strategy.tone).to_lowercase(),
        offers: strategy.offers.clone(),
        factors: score
            .reasons
            .iter()
            .map(|reason| ExplainedFactor {
                characteristic: reason.characteristic.as_str().to_string(),
                bin: reason.bin.clone(),
                points: reason.points,
                points_below_best: reason.points_below_best,
            })
            .collect(),
        stored: store.debtor_score(debtor).await?,
    };
    if json {
        return Ok(serde_json::to_string(&explanation)?);
    }

    let features = &row.features;
    let mut text = format!(
        "Debtor {} as of {} with model {}\n\
         probability of a payment within {} days: {}, {} points\n\
         expected value of a call: ${:.2} ({} of ${:.2} expected, less ${:.2} per attempt)\n\
         segment {}: strategy {} (tone {}; offers {})\n",
        explanation.debtor_id,
        as_of,
        explanation.model_version,
        model.outcome_window_days,
        percent(Some(score.probability)),
        explanation.points,
        explanation.expected_value_usd,
        percent(Some(score.probability)),
        row.balance_usd * model.recovery_fraction(super::segment::Stage::of(features.days_past_due)),
        scoring.attempt_cost_usd,
        explanation.segment,
        explanation.strategy,
        explanation.tone,
        explanation.offers.join(", ")
    );
    let dollars = match row.balance.currency {
        crate::collections::model::Currency::Usd => String::new(),
        _ => format!(" (${:.2})", row.balance_usd),
    };
    let _ = writeln!(
        text,
        "debtor: {} days past due, balance {}{dollars}, {}; payments {}, promises kept {} and broken {}, \
         right-party contacts {} in {} calls",
        features.days_past_due,
        row.balance,
        features.product,
        features.payments,
        features.promises_kept,
        features.promises_broken,
        features.right_party_contacts,
        features.attempts
    );
    let _ = writeln!(text, "what moved the score, the costliest first:");
    for factor in &explanation.factors {
        let effect = if factor.points_below_best > 0.005 {
            format!("{:.1} points below its best bin", factor.points_below_best)
        } else {
            "its best bin".to_string()
        };
        let _ = writeln!(
            text,
            "  {:<22} {:<18} {:>7.1} points, {effect}",
            factor.characteristic, factor.bin, factor.points
        );
    }
    match &explanation.stored {
        Some(stored) => {
            let _ = write!(
                text,
                "stored score: {} points, ${:.2}, from model {} as of {}",
                stored.points, stored.expected_value_usd, stored.model_version, stored.as_of
            );
        }
        None => {
            let _ = write!(text, "no stored score yet: run `cobranza score` to rescore the portfolio");
        }
    }
    Ok(text)
}
