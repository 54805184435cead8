//! Measures of a score's separation of payers from non-payers and of a population's shift: AUC
//! (and Gini = 2·AUC − 1), the Kolmogorov–Smirnov statistic, and the population stability index.

/// Returns the area under the ROC curve: the chance that a random payer scores above a random
/// non-payer, ties counting half. `None` without at least one of each.
pub fn auc(scores: &[f64], paid: &[bool]) -> Option<f64> {
    let positives = paid.iter().filter(|&&p| p).count();
    let negatives = paid.len() - positives;
    if positives == 0 || negatives == 0 {
        return None;
    }
    // Mann–Whitney: the sum of the payers' ranks, with tied scores sharing their mean rank.
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[a].total_cmp(&scores[b]));
    let mut rank_sum = 0.0;
    let mut start = 0;
    while start < order.len() {
        let mut end = start;
        while end + 1 < order.len() && scores[order[end + 1]] == scores[order[start]] {
            end += 1;
        }
        let mean_rank = (start + end) as f64 / 2.0 + 1.0;
        rank_sum += order[start..=end].iter().filter(|&&index| paid[index]).count() as f64 * mean_rank;
        start = end + 1;
    }
    let positives = positives as f64;
    Some((rank_sum - positives * (positives + 1.0) / 2.0) / (positives * negatives as f64))
}

/// Returns the Kolmogorov–Smirnov statistic: the largest gap between the cumulative share of
/// payers and of non-payers below any score. `None` without at least one of each.
pub fn ks(scores: &[f64], paid: &[bool]) -> Option<f64> {
    let positives = paid.iter().filter(|&&p| p).count() as f64;
    let negatives = paid.len() as f64 - positives;
    if positives == 0.0 || negatives == 0.0 {
        return None;
    }
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[a].total_cmp(&scores[b]));
    let (mut seen_positive, mut seen_negative, mut best) = (0.0, 0.0, 0.0_f64);
    for (position, &index) in order.iter().enumerate() {
        if paid[index] {
            seen_positive += 1.0;
        } else {
            seen_negative += 1.0;
        }
        // The gap counts only once every row with this score is in.
        let last_of_tie = order.get(position + 1).is_none_or(|&next| scores[next] != scores[index]);
        if last_of_tie {
            best = best.max((seen_positive / positives - seen_negative / negatives).abs());
        }
    }
    Some(best)
}

/// Returns the population stability index of `actual` against `expected`, over `bins` bins cut
/// at the quantiles of `expected`: Σ (a% − e%) × ln(a% / e%). An empty bin counts as 0.01 %.
/// Below 0.1 is stable; 0.25 and above is commonly read as a significant shift.
pub fn psi(expected: &[f64], actual: &[f64], bins: usize) -> Option<f64> {
    if expected.is_empty() || actual.is_empty() || bins < 2 {
        return None;
    }
    let mut sorted = expected.to_vec();
    sorted.sort_by(f64::total_cmp);
    let mut cuts: Vec<f64> = (1..bins).map(|k| sorted[k * sorted.len() / bins]).collect();
    cuts.dedup();
    let share = |values: &[f64]| -> Vec<f64> {
        let mut counts = vec![0usize; cuts.len() + 1];
        for value in values {
            counts[cuts.partition_point(|cut| cut <= value)] += 1;
        }
        counts.iter().map(|&count| (count as f64 / values.len() as f64).max(0.0001)).collect()
    };
    let (expected_share, actual_share) = (share(expected), share(actual));
    Some(expected_share.iter().zip(&actual_share).map(|(e, a)| (a - e) * (a / e).ln()).sum())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auc_counts_ordered_pairs() {
        // Payers at 0.9, 0.4; non-payers at 0.5, 0.1: 3 of the 4 pairs are ordered.
        let scores = [0.9, 0.5, 0.4, 0.1];
        let paid = [true, false, true, false];
        assert_eq!(auc(&scores, &paid), Some(0.75));
    }

    #[test]
    fn auc_ties_count_half() {
        assert_eq!(auc(&[0.5, 0.5], &[true, false]), Some(0.5));
        assert_eq!(auc(&[0.7, 0.5, 0.5], &[true, true, false]), Some(0.75));
    }

    #[test]
    fn auc_needs_both_classes() {
        assert_eq!(auc(&[0.1, 0.2], &[true, true]), None);
    }

    #[test]
    fn ks_is_largest_cumulative_gap() {
        // Below 0.45 lie 0 of 2 payers and 2 of 3 non-payers: a gap of 2/3.
        let scores = [0.1, 0.2, 0.5, 0.8, 0.9];
        let paid = [false, false, true, false, true];
        let statistic = ks(&scores, &paid).unwrap();
        assert!((statistic - 2.0 / 3.0).abs() < 1e-12, "{statistic}");
    }

    #[test]
    fn ks_of_perfect_separation_is_one() {
        assert_eq!(ks(&[0.1, 0.2, 0.8, 0.9], &[false, false, true, true]), Some(1.0));
    }

    #[test]
    fn psi_of_same_population_is_zero() {
        let values: Vec<f64> = (0..100).map(f64::from).collect();
        assert_eq!(psi(&values, &values, 10), Some(0.0));
    }

    #[test]
    fn psi_grows_with_shift() {
        let expected: Vec<f64> = (0..1000).map(f64::from).collect();
        let shifted: Vec<f64> = (200..1200).map(f64::from).collect();
        let value = psi(&expected, &shifted, 10).unwrap();
        // The bottom two deciles empty out and the top one gets 30 %.
        assert!(value > 0.25, "{value}");
    }
}
