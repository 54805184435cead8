use std::collections::{HashMap, HashSet};
use std::path::Path;

use chrono::{Datelike, Timelike, Weekday};

use super::*;
use crate::collections::import::parse_portfolio_as_of;

fn sample() -> Vec<PortfolioRow> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/portfolio.csv");
    parse_portfolio_as_of(&path, NaiveDate::from_ymd_opt(2026, 6, 1).unwrap()).unwrap().rows
}

fn small_options(seed: u64) -> HistoryOptions {
    HistoryOptions { seed, invented_debtors: 300, ..HistoryOptions::default() }
}

#[test]
fn same_seed_same_history() {
    let first = generate(&sample(), &small_options(7));
    let second = generate(&sample(), &small_options(7));
    assert_eq!(first, second);
    let other = generate(&sample(), &small_options(8));
    assert_ne!(first.attempts, other.attempts);
}

#[test]
fn every_debt_in_portfolio_once() {
    let history = generate(&sample(), &small_options(1));
    assert_eq!(history.portfolio.len(), 56 + 300);
    let refs: HashSet<&str> = history.portfolio.iter().map(|row| row.debt.account_ref.as_str()).collect();
    assert_eq!(refs.len(), 356);
    let phones: HashSet<&str> = history.portfolio.iter().map(|row| row.debtor.phone.as_str()).collect();
    // Sample debtors with several debts share a phone.
    let debtors: HashSet<&str> = history.portfolio.iter().map(|row| row.debtor.id.0.as_str()).collect();
    assert_eq!(phones.len(), debtors.len());
    for attempt in &history.attempts {
        assert!(refs.contains(attempt.account_ref.as_str()), "{}", attempt.account_ref);
    }
}

#[test]
fn dials_inside_local_hours() {
    let history = generate(&sample(), &small_options(2));
    let zones: HashMap<&str, chrono_tz::Tz> =
        history.portfolio.iter().map(|row| (row.debt.account_ref.as_str(), row.debtor.time_zone)).collect();
    assert!(history.attempts.len() > 3_000, "{}", history.attempts.len());
    for attempt in &history.attempts {
        let local = attempt.started_at.with_timezone(&zones[attempt.account_ref.as_str()]);
        assert!((8..21).contains(&local.hour()), "{} at {local}", attempt.attempt_ref);
        assert_ne!(local.weekday(), Weekday::Sun, "{} at {local}", attempt.attempt_ref);
    }
}

#[test]
fn snapshots_monthly_per_debt() {
    let options = small_options(3);
    let rows = sample();
    let history = generate(&rows, &options);
    let mut by_account: HashMap<&str, Vec<NaiveDate>> = HashMap::new();
    for snapshot in &history.snapshots {
        by_account.entry(snapshot.account_ref.as_str()).or_default().push(snapshot.as_of);
    }
    assert_eq!(by_account.len(), 356);
    for (account, dates) in &by_account {
        // From the placement month to the end, one snapshot on the first of each month.
        assert_eq!(*dates.last().unwrap(), options.end(), "{account}");
        assert!(dates.len() >= 2, "{account}: {dates:?}");
        for pair in dates.windows(2) {
            assert_eq!(pair[1], pair[0] + chrono::Months::new(1), "{account}: {dates:?}");
        }
    }
    // The sample debtors are placed on the first day.
    for row in &rows {
        assert_eq!(by_account[row.debt.account_ref.as_str()].len(), 7, "{}", row.debt.account_ref);
    }
    let placements: HashSet<NaiveDate> = by_account.values().map(|dates| dates[0]).collect();
    assert_eq!(placements.len(), 5);
}

#[test]
fn payments_never_exceed_placed_balance() {
    let history = generate(&sample(), &small_options(4));
    let placed: HashMap<&str, i64> =
        history.portfolio.iter().map(|row| (row.debt.account_ref.as_str(), row.debt.balance.amount_minor)).collect();
    let mut paid: HashMap<&str, i64> = HashMap::new();
    for payment in &history.payments {
        assert!(payment.amount.amount_minor > 0);
        *paid.entry(payment.account_ref.as_str()).or_default() += payment.amount.amount_minor;
    }
    for (account, total) in paid {
        assert!(total <= placed[account], "{account}: paid {total} of {}", placed[account]);
    }
}

#[test]
fn promises_follow_their_calls() {
    let history = generate(&sample(), &small_options(5));
    let calls: HashMap<&str, &AttemptRecord> =
        history.attempts.iter().map(|attempt| (attempt.attempt_ref.as_str(), attempt)).collect();
    assert!(!history.promises.is_empty());
    for promise in &history.promises {
        let call = calls[promise.attempt_ref.as_str()];
        assert_eq!(call.disposition, crate::collections::model::Disposition::PromiseToPay);
        assert!(call.right_party_contact);
        assert!(promise.created_at > call.started_at);
        assert!(promise.due_date > call.started_at.date_naive());
    }
}

#[test]
fn sample_debtors_keep_placement_figures() {
    let rows = sample();
    let history = generate(&rows, &small_options(6));
    for row in &rows {
        let placed = history.portfolio.iter().find(|placed| placed.debt.account_ref == row.debt.account_ref).unwrap();
        assert_eq!(placed.debt.balance, row.debt.balance);
        assert_eq!(placed.debt.days_past_due, row.debt.days_past_due);
    }
}
