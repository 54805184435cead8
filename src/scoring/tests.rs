use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::*;

fn debtor(days_past_due: u32) -> Features {
    Features {
        days_past_due,
        balance: 1_000.0,
        product: "tarjeta".into(),
        promises_kept: 0,
        promises_broken: 0,
        payments: 0,
        right_party_contacts: 0,
        attempts: 0,
        contact_hour: None,
        days_since_contact: None,
        days_since_payment: None,
    }
}

/// Builds a population whose chance of paying is planted. Early delinquency, kept promises and
/// past payments raise it, and broken promises and a high balance lower it. The contact hour is
/// noise.
fn population(seed: u64, size: usize) -> Vec<(Features, bool)> {
    let mut rng = StdRng::seed_from_u64(seed);
    (0..size)
        .map(|_| {
            let days_past_due = rng.gen_range(1..=360);
            let balance: f64 = 10f64.powf(rng.gen_range(2.0..5.0));
            let promises_kept = rng.gen_range(0..=3);
            let promises_broken = rng.gen_range(0..=3);
            let payments = rng.gen_range(0..=5);
            let product = ["tarjeta", "préstamo", "auto"][rng.gen_range(0..3)].to_string();
            let log_odds = -0.5 - 0.006 * f64::from(days_past_due) + 0.6 * f64::from(promises_kept)
                - 0.5 * f64::from(promises_broken)
                + 0.25 * f64::from(payments.min(3))
                - 0.3 * (balance.log10() - 3.5);
            let paid = rng.gen::<f64>() < 1.0 / (1.0 + (-log_odds).exp());
            let features = Features {
                days_past_due,
                balance,
                product,
                promises_kept,
                promises_broken,
                payments,
                right_party_contacts: rng.gen_range(0..=4),
                attempts: rng.gen_range(4..=12),
                contact_hour: rng.gen_bool(0.7).then(|| rng.gen_range(8..20)),
                days_since_contact: rng.gen_bool(0.8).then(|| rng.gen_range(0..60)),
                days_since_payment: (payments > 0).then(|| rng.gen_range(0..120)),
            };
            (features, paid)
        })
        .collect()
}

fn days_past_due_only(rows: &[(Features, bool)]) -> f64 {
    // The baseline ranks by days past due alone: earlier delinquency first.
    let scores: Vec<f64> = rows.iter().map(|(features, _)| -f64::from(features.days_past_due)).collect();
    let paid: Vec<bool> = rows.iter().map(|(_, paid)| *paid).collect();
    metrics::auc(&scores, &paid).unwrap()
}

#[test]
fn scorecard_beats_days_past_due_baseline() {
    let rows = population(7, 20_000);
    let (earlier, later) = rows.split_at(14_000);
    let scorecard = Scorecard::train("test-1", earlier, Scaling::default());
    let validation = scorecard.validate(earlier, later);

    let auc = validation.auc.unwrap();
    let baseline = days_past_due_only(later);
    eprintln!("holdout: {validation:?}; days-past-due baseline AUC {baseline:.3}");
    assert!(auc > baseline + 0.05, "AUC {auc:.3} against the baseline's {baseline:.3}");
    assert!(validation.ks.unwrap() > 0.25, "{validation:?}");
    assert!(validation.psi.unwrap() < 0.1, "the later rows come from the same population: {validation:?}");
    assert_eq!(validation.rows, 6_000);
}

#[test]
fn noise_characteristic_is_left_out() {
    let rows = population(11, 20_000);
    let scorecard = Scorecard::train("test-1", &rows, Scaling::default());
    let used: Vec<Characteristic> = scorecard.binnings.iter().map(|binning| binning.characteristic).collect();
    assert!(used.contains(&Characteristic::DaysPastDue), "{used:?}");
    assert!(used.contains(&Characteristic::PromisesBroken), "{used:?}");
    assert!(!used.contains(&Characteristic::ContactHour), "{used:?}");
    assert!(!used.contains(&Characteristic::Product), "{used:?}");
}

#[test]
fn woe_coefficients_are_positive() {
    let rows = population(13, 20_000);
    let scorecard = Scorecard::train("test-1", &rows, Scaling::default());
    for (binning, coefficient) in scorecard.binnings.iter().zip(&scorecard.coefficients) {
        assert!(*coefficient > 0.0, "{:?}: {coefficient}", binning.characteristic);
    }
}

#[test]
fn reasons_add_up_to_points() {
    let rows = population(17, 5_000);
    let scorecard = Scorecard::train("test-1", &rows, Scaling::default());
    let score = scorecard.score(&rows[0].0);
    let sum: f64 = score.reasons.iter().map(|reason| reason.points).sum();
    assert!((sum - score.points).abs() < 1e-9);
    // Points are the scaled log-odds of the probability.
    let scaling = Scaling::default();
    let log_odds = (score.probability / (1.0 - score.probability)).ln();
    assert!((score.points - (scaling.offset() + scaling.factor() * log_odds)).abs() < 1e-6);
}

#[test]
fn broken_promises_lead_the_explanation() {
    let rows = population(19, 20_000);
    let scorecard = Scorecard::train("test-1", &rows, Scaling::default());
    let mut debtor = debtor(20);
    debtor.promises_broken = 3;
    debtor.promises_kept = 2;
    debtor.payments = 3;
    debtor.balance = 300.0;
    let score = scorecard.score(&debtor);
    assert_eq!(score.reasons[0].characteristic, Characteristic::PromisesBroken, "{:?}", score.reasons);
    assert_eq!(score.reasons[0].bin, "≥ 3");
}

#[test]
fn better_record_scores_higher() {
    let rows = population(23, 20_000);
    let scorecard = Scorecard::train("test-1", &rows, Scaling::default());
    let mut good = debtor(15);
    good.promises_kept = 3;
    let mut bad = debtor(300);
    bad.promises_broken = 3;
    assert!(scorecard.score(&good).points > scorecard.score(&bad).points + 40.0);
}

#[test]
fn base_odds_get_base_points() {
    let scorecard = Scorecard {
        version: "flat".into(),
        binnings: Vec::new(),
        intercept: 50f64.ln(),
        coefficients: Vec::new(),
        scaling: Scaling::default(),
    };
    let score = scorecard.score(&debtor(10));
    assert!((score.points - 600.0).abs() < 1e-9, "{}", score.points);
    assert!((score.probability - 50.0 / 51.0).abs() < 1e-12);
}

#[test]
fn twenty_points_double_the_odds() {
    let scaling = Scaling::default();
    let points = |odds: f64| scaling.offset() + scaling.factor() * f64::ln(odds);
    assert!((points(100.0) - points(50.0) - 20.0).abs() < 1e-9);
}

#[test]
fn default_model_orders_by_delinquency() {
    let model = Scorecard::default_model();
    let early = model.score(&debtor(10));
    let late = model.score(&debtor(200));
    assert!(early.probability > late.probability);
    assert_eq!(late.reasons[0].characteristic, Characteristic::DaysPastDue);
    assert_eq!(late.reasons[0].bin, "≥ 181");
}

#[test]
fn weights_of_evidence_follow_formula() {
    // 2 bins of the product: "a" has 30 payers of 40 rows, "b" 10 of 60.
    let mut rows = Vec::new();
    for index in 0..100 {
        let mut features = debtor(10);
        features.product = if index < 40 { "a".into() } else { "b".into() };
        let paid = if index < 40 { index < 30 } else { index < 50 };
        rows.push((features, paid));
    }
    let borrowed: Vec<(&Features, bool)> = rows.iter().map(|(features, paid)| (features, *paid)).collect();
    let binning = Binning::fit(Characteristic::Product, &borrowed);
    // With 0.5 added per bin (three bins with the empty "other"): shares of payers and non-payers.
    let woe_a = ((30.5 / 41.5) / (10.5 / 61.5_f64)).ln();
    assert!((binning.bins[0].woe - woe_a).abs() < 1e-12, "{:?}", binning.bins);
    assert_eq!(binning.bins[0].label(), "a");
    assert_eq!((binning.bins[1].rows, binning.bins[1].payers), (60, 10));
    assert_eq!(binning.bins[2].rule, BinRule::OtherCategories);
}

#[test]
fn expected_value_subtracts_attempt_cost() {
    assert_eq!(expected_value(0.25, 4_000.0, 0.5), 999.5);
}
