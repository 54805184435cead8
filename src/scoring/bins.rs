//! The characteristics a scorecard reads from a debtor, and their bins with weights of evidence.

use serde::{Deserialize, Serialize};

use super::Features;

/// Laplace smoothing added to each bin's payers and non-payers, so an empty class gives a
/// finite weight of evidence.
const SMOOTHING: f64 = 0.5;

/// Numeric characteristics get at most this many bins, cut at quantiles, plus one for missing.
const MAX_BINS: usize = 5;

/// A bin smaller than this share of the training rows is merged into its neighbour.
const MIN_BIN_SHARE: f64 = 0.05;

/// A debtor characteristic a scorecard reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Characteristic {
    DaysPastDue,
    Balance,
    Product,
    PromisesKept,
    PromisesBroken,
    Payments,
    RightPartyContacts,
    ContactRate,
    ContactHour,
    DaysSinceContact,
    DaysSincePayment,
}

impl Characteristic {
    pub const ALL: [Characteristic; 11] = [
        Characteristic::DaysPastDue,
        Characteristic::Balance,
        Characteristic::Product,
        Characteristic::PromisesKept,
        Characteristic::PromisesBroken,
        Characteristic::Payments,
        Characteristic::RightPartyContacts,
        Characteristic::ContactRate,
        Characteristic::ContactHour,
        Characteristic::DaysSinceContact,
        Characteristic::DaysSincePayment,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Characteristic::DaysPastDue => "days_past_due",
            Characteristic::Balance => "balance",
            Characteristic::Product => "product",
            Characteristic::PromisesKept => "promises_kept",
            Characteristic::PromisesBroken => "promises_broken",
            Characteristic::Payments => "payments",
            Characteristic::RightPartyContacts => "right_party_contacts",
            Characteristic::ContactRate => "contact_rate",
            Characteristic::ContactHour => "contact_hour",
            Characteristic::DaysSinceContact => "days_since_contact",
            Characteristic::DaysSincePayment => "days_since_payment",
        }
    }

    /// Returns the debtor's value for a numeric characteristic, `None` when it is missing or
    /// the characteristic is a category.
    fn number(self, features: &Features) -> Option<f64> {
        match self {
            Characteristic::DaysPastDue => Some(f64::from(features.days_past_due)),
            Characteristic::Balance => Some(features.balance),
            Characteristic::Product => None,
            Characteristic::PromisesKept => Some(f64::from(features.promises_kept)),
            Characteristic::PromisesBroken => Some(f64::from(features.promises_broken)),
            Characteristic::Payments => Some(f64::from(features.payments)),
            Characteristic::RightPartyContacts => Some(f64::from(features.right_party_contacts)),
            Characteristic::ContactRate => (features.attempts > 0)
                .then(|| f64::from(features.right_party_contacts) / f64::from(features.attempts)),
            Characteristic::ContactHour => features.contact_hour.map(f64::from),
            Characteristic::DaysSinceContact => features.days_since_contact.map(f64::from),
            Characteristic::DaysSincePayment => features.days_since_payment.map(f64::from),
        }
    }
}

/// The rule that puts a value in a bin.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum BinRule {
    /// `from <= value < to`; either end may be open.
    Range {
        from: Option<f64>,
        to: Option<f64>,
    },
    Missing,
    /// One of these categories.
    Categories {
        names: Vec<String>,
    },
    /// Any category no other bin names.
    OtherCategories,
}

/// One bin and its weight of evidence: ln(share of payers ÷ share of non-payers).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Bin {
    pub rule: BinRule,
    pub woe: f64,
    /// Training rows in the bin, and the payers among them.
    pub rows: u64,
    pub payers: u64,
}

impl Bin {
    /// Describes the bin for an explanation: `31–90`, `≥ 180`, `missing`, `tarjeta de crédito`.
    pub fn label(&self) -> String {
        let number = |value: f64| if value.fract() == 0.0 { format!("{value:.0}") } else { format!("{value:.2}") };
        match &self.rule {
            BinRule::Range { from: None, to: None } => "any".to_string(),
            BinRule::Range { from: Some(from), to: None } => format!("≥ {}", number(*from)),
            BinRule::Range { from: None, to: Some(to) } => format!("< {}", number(*to)),
            BinRule::Range { from: Some(from), to: Some(to) } => format!("{} to < {}", number(*from), number(*to)),
            BinRule::Missing => "missing".to_string(),
            BinRule::Categories { names } => names.join(", "),
            BinRule::OtherCategories => "other".to_string(),
        }
    }
}

/// A characteristic's bins; exactly one matches any debtor.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Binning {
    pub characteristic: Characteristic,
    pub bins: Vec<Bin>,
    /// Information value: Σ (share of payers − share of non-payers) × WoE.
    pub information_value: f64,
}

impl Binning {
    /// Returns the index of the bin `features` fall in.
    pub fn bin_of(&self, features: &Features) -> usize {
        let matches = |rule: &BinRule| match (rule, self.characteristic) {
            (BinRule::Categories { names }, Characteristic::Product) => {
                names.iter().any(|name| *name == features.product)
            }
            (BinRule::OtherCategories, _) => true,
            (BinRule::Missing, characteristic) => characteristic.number(features).is_none(),
            (BinRule::Range { from, to }, characteristic) => characteristic
                .number(features)
                .is_some_and(|value| from.is_none_or(|from| value >= from) && to.is_none_or(|to| value < to)),
            (BinRule::Categories { .. }, _) => false,
        };
        // Named categories come before the catch-all, so the first match is the right one.
        self.bins.iter().position(|bin| matches(&bin.rule)).unwrap_or(self.bins.len() - 1)
    }

    /// Bins `characteristic` over the training rows and weighs each bin.
    pub fn fit(characteristic: Characteristic, rows: &[(&Features, bool)]) -> Binning {
        let rules = match characteristic {
            Characteristic::Product => category_rules(rows),
            _ => range_rules(characteristic, rows),
        };
        let mut binning = Binning {
            characteristic,
            bins: rules.into_iter().map(|rule| Bin { rule, woe: 0.0, rows: 0, payers: 0 }).collect(),
            information_value: 0.0,
        };
        for (features, paid) in rows {
            let index = binning.bin_of(features);
            binning.bins[index].rows += 1;
            binning.bins[index].payers += u64::from(*paid);
        }
        binning.weigh();
        binning
    }

    /// Sets each bin's weight of evidence and the information value from the counts.
    fn weigh(&mut self) {
        let bins = self.bins.len() as f64;
        let payers: u64 = self.bins.iter().map(|bin| bin.payers).sum();
        let non_payers: u64 = self.bins.iter().map(|bin| bin.rows - bin.payers).sum();
        let mut information_value = 0.0;
        for bin in &mut self.bins {
            let payer_share = (bin.payers as f64 + SMOOTHING) / (payers as f64 + SMOOTHING * bins);
            let non_payer_share = ((bin.rows - bin.payers) as f64 + SMOOTHING) / (non_payers as f64 + SMOOTHING * bins);
            bin.woe = (payer_share / non_payer_share).ln();
            information_value += (payer_share - non_payer_share) * bin.woe;
        }
        self.information_value = information_value;
    }
}

/// Cuts a numeric characteristic at quantiles of its known values, merging bins under the
/// minimum share, and adds a bin for missing values when any are missing.
fn range_rules(characteristic: Characteristic, rows: &[(&Features, bool)]) -> Vec<BinRule> {
    let mut values: Vec<f64> = rows.iter().filter_map(|(features, _)| characteristic.number(features)).collect();
    values.sort_by(f64::total_cmp);
    let mut cuts: Vec<f64> = Vec::new();
    if !values.is_empty() {
        let minimum_rows = (MIN_BIN_SHARE * rows.len() as f64).ceil() as usize;
        let mut previous_position = 0;
        for k in 1..MAX_BINS {
            let mut cut = values[k * values.len() / MAX_BINS];
            // A value that fills this quantile and the ones before it (0 promises kept, say)
            // would repeat the previous cut, so the cut moves to the next larger value.
            let floor = cuts.last().copied().unwrap_or(values[0]);
            if cut <= floor {
                let above = values.partition_point(|value| *value <= floor);
                let Some(&next) = values.get(above) else { break };
                cut = next;
            }
            // The bin below a cut contains the values under it. A cut that leaves a thin bin
            // below is skipped.
            let position = values.partition_point(|value| *value < cut);
            if position - previous_position >= minimum_rows {
                cuts.push(cut);
                previous_position = position;
            }
        }
        // A thin top bin is merged into the one below.
        if let Some(&last) = cuts.last() {
            let above = values.len() - values.partition_point(|value| *value < last);
            if above < minimum_rows {
                cuts.pop();
            }
        }
    }
    let mut rules = Vec::with_capacity(cuts.len() + 2);
    let mut from = None;
    for cut in &cuts {
        rules.push(BinRule::Range { from, to: Some(*cut) });
        from = Some(*cut);
    }
    rules.push(BinRule::Range { from, to: None });
    if values.len() < rows.len() {
        rules.push(BinRule::Missing);
    }
    rules
}

/// Gives every category with at least the minimum share its own bin; the rest share one.
fn category_rules(rows: &[(&Features, bool)]) -> Vec<BinRule> {
    let mut counts: std::collections::BTreeMap<&str, usize> = std::collections::BTreeMap::new();
    for (features, _) in rows {
        *counts.entry(features.product.as_str()).or_default() += 1;
    }
    let minimum_rows = (MIN_BIN_SHARE * rows.len() as f64).ceil() as usize;
    let mut rules: Vec<BinRule> = counts
        .into_iter()
        .filter(|(_, count)| *count >= minimum_rows)
        .map(|(name, _)| BinRule::Categories { names: vec![name.to_string()] })
        .collect();
    rules.push(BinRule::OtherCategories);
    rules
}
