//! The compliance check: it applies the contact rules to outbound attempts once and stores the
//! verdicts in `attempts.outside_window` and `attempts.over_cap`, which the compliance counters
//! then count. `cobranza compliance-check` runs it by hand.
//!
//! A new attempt can change the cap flags of its debt's later attempts, so the check always
//! recomputes every outbound attempt of a debt together. Inbound attempts are never checked
//! and keep NULL flags.

use std::fmt;

use serde::Serialize;

use crate::collections::Store;
use crate::policy::ContactPolicy;

/// The debts a compliance check recomputes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CheckScope {
    /// The debts with at least one unchecked outbound attempt. Cheap when few are unchecked.
    // NOTE: an attempt whose start, debt or direction is updated keeps its flags, so only
    // `All` rechecks it and the other attempts of its debt.
    Unchecked,
    /// Every debt with an outbound attempt. Run it after the contact rules change, because
    /// the stored flags follow the rules of the check that wrote them.
    All,
}

/// The counts of one compliance check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct CheckCounts {
    /// Debts whose outbound attempts were recomputed.
    pub debts: u64,
    /// Outbound attempts recomputed, checked before or not.
    pub attempts: u64,
    /// Of those, attempts outside the calling window.
    pub outside_window: u64,
    /// Of those, attempts over a cap.
    pub over_cap: u64,
    /// Of those, attempts with either flag set.
    pub flagged: u64,
    /// Attempts whose stored flags changed, including unchecked ones that got their first.
    pub changed: u64,
}

impl CheckCounts {
    /// Counts one recomputed attempt and its flags.
    pub fn count_attempt(&mut self, outside_window: bool, over_cap: bool) {
        self.attempts += 1;
        self.outside_window += u64::from(outside_window);
        self.over_cap += u64::from(over_cap);
        self.flagged += u64::from(outside_window || over_cap);
    }

    /// Adds the counts of another batch.
    pub fn add(&mut self, other: CheckCounts) {
        self.debts += other.debts;
        self.attempts += other.attempts;
        self.outside_window += other.outside_window;
        self.over_cap += other.over_cap;
        self.flagged += other.flagged;
        self.changed += other.changed;
    }
}

impl fmt::Display for CheckCounts {
    /// Writes `checked 6 outbound attempts of 2 debts: 3 flagged (2 outside the calling window,
    /// 1 over a cap), 6 changed`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "checked {} of {}: {} flagged ({} outside the calling window, {} over a cap), {} changed",
            plural(self.attempts, "outbound attempt", "outbound attempts"),
            plural(self.debts, "debt", "debts"),
            self.flagged,
            self.outside_window,
            self.over_cap,
            self.changed
        )
    }
}

fn plural(count: u64, one: &str, many: &str) -> String {
    if count == 1 {
        format!("1 {one}")
    } else {
        format!("{count} {many}")
    }
}

/// The options of `cobranza compliance-check`.
#[derive(Debug, Clone, clap::Args)]
pub struct CheckArgs {
    /// Recheck every outbound attempt, not only the unchecked ones. Run it after the calling
    /// windows, holidays or caps change.
    #[arg(long)]
    pub all: bool,
}

/// Runs `cobranza compliance-check` with the compiled-in contact rules and returns the line to
/// print.
pub async fn run(store: &dyn Store, args: &CheckArgs) -> anyhow::Result<String> {
    let policy = ContactPolicy::embedded()?;
    let scope = if args.all { CheckScope::All } else { CheckScope::Unchecked };
    let counts = store.check_compliance(&policy, scope).await?;
    Ok(counts.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_display_in_words() {
        let mut counts = CheckCounts { debts: 1, changed: 1, ..CheckCounts::default() };
        counts.count_attempt(true, true);
        assert_eq!(
            counts.to_string(),
            "checked 1 outbound attempt of 1 debt: 1 flagged (1 outside the calling window, 1 over a cap), 1 changed"
        );
    }

    #[test]
    fn batches_add_up() {
        let mut total = CheckCounts::default();
        let mut batch = CheckCounts { debts: 2, changed: 1, ..CheckCounts::default() };
        batch.count_attempt(true, false);
        batch.count_attempt(false, false);
        batch.count_attempt(false, true);
        total.add(batch);
        total.add(batch);
        let expected = CheckCounts { debts: 4, attempts: 6, outside_window: 2, over_cap: 2, flagged: 4, changed: 2 };
        assert_eq!(total, expected);
    }
}
