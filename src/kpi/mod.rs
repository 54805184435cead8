//! The collections KPIs, counted by the database and computed in one place, so the demo
//! summary, `cobranza kpi`, `GET /api/kpis` and `GET /metrics` show the same figures.
//!
//! [`sql`] defines what counts (a dial, a contact, a kept promise, an aging bucket) and builds
//! the statements both backends run. [`store::KpiStore`] returns the counts and sums, and the
//! other modules turn them into figures. Every rate carries its numerator, its denominator and
//! the denominator's name, and has no value when the denominator is zero.
//!
//! | figure | formula |
//! |---|---|
//! | connect rate | connects ÷ dials |
//! | contact rate | contacts ÷ dials |
//! | right-party contact rate | right-party contacts ÷ dials |
//! | promise-to-pay rate | promises ÷ right-party contacts |
//! | promise-kept rate | promises kept in full, on time or late ÷ promises due in the range and no longer open |
//! | promise-kept amount, per currency | amount payments covered ÷ amount promised, over the same promises |
//! | cost per call | total cost ÷ dials and inbound calls |
//! | cost per promise | total cost ÷ promises |
//! | cost to collect | total cost in USD ÷ amount collected in USD |
//! | recovery, per placement month, currency and horizon | collected within the horizon ÷ placed |
//! | cure rate | debts current at the range's end ÷ debts past due at its start |
//! | roll rate, per month pair and bucket | debts one bucket later a month later ÷ debts in the bucket (and the same by balance) |
//! | average handle time | summed length of answered attempts that ended ÷ those attempts |
//!
//! Inbound calls count as contacts and right-party contacts but not as dials, so with many
//! inbound calls the contact and right-party contact rates can exceed 100%.

pub mod cli;
pub mod compliance;
pub mod figures;
pub mod portfolio;
pub mod prometheus;
mod rate;
pub mod report;
pub mod series;
pub mod sql;
pub mod store;
pub mod summary;
pub mod usd;

pub use figures::{CallKpis, Kpis, PromiseKept};
pub use portfolio::{AgingBucket, CohortRecovery, HorizonRecovery, RollRate, AGING_BUCKETS};
pub use rate::{CostPer, CurrencyRate, Rate};
pub use report::{report, report_with_compliance, KpiReport};
pub use series::{Series, SeriesBy, SeriesPoint};
pub use store::{Grouping, KpiFilter, KpiStore};
pub use usd::{CostToCollect, UsdRates};
