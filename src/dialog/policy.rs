//! The creditor's negotiation policy, from `config/policy.toml`: how the bot verifies a debtor,
//! whether it can hand the call to a person, and the limits of the offer ladder for each stage of
//! delinquency (days past due).
//!
//! Loading validates every limit once, so the machine can trust what it reads: a stage whose
//! plans could not fit its own term, or a discount above 90%, is rejected with the file, the
//! stage and the fix.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use serde::Deserialize;

use crate::collections::model::{Currency, Money};

/// The compiled-in policy, the same file `config/policy.toml` of the repository.
const EMBEDDED_POLICY: &str = include_str!("../../config/policy.toml");

/// The largest discount any stage may authorise, in percent: a bot that could forgive a whole
/// debt by mistake is worse than one that escalates.
const MAX_DISCOUNT_LIMIT: u32 = 90;

/// The proof of identity a debtor gives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VerificationMethod {
    /// The last four digits of the national id (CURP/INE, cédula, DNI, RUT, SSN).
    NationalIdLast4,
    /// The date of birth, spoken or keyed as DDMMYYYY.
    BirthDate,
    /// The postal code on file, spoken or keyed.
    PostalCode,
}

/// The limits of the offer ladder for one range of days past due. Amounts are percentages of
/// the balance and days count from the day of the call.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Stage {
    /// A name for logs and the supervisor console (`early`, `late`, `charged_off`).
    pub name: String,
    /// The stage applies from this many days past due until the next stage starts.
    pub from_days_past_due: u32,
    /// The discount the bot proposes first when it offers a settlement.
    pub offer_discount_percent: u32,
    /// The deepest discount a settlement may have, when the debtor names a lower amount.
    pub max_discount_percent: u32,
    /// Installments of the short plan (full balance) and of the settlement plan.
    pub short_plan_installments: u32,
    /// Installments of the longest plan.
    pub max_installments: u32,
    /// Days between two installments.
    pub installment_interval_days: u32,
    /// The last installment is due at most this many days after the call.
    pub max_term_days: u32,
    /// The smallest installment, as a percentage of the balance (it is never below the currency's
    /// `minimum_installment`).
    pub min_installment_percent: u32,
    /// The first payment of a plan the bot proposes is due this many days after the call.
    pub first_payment_days: u32,
    /// A single payment, or the first installment, is due at most this many days after the call.
    pub latest_promise_days: u32,
    /// Whether a payment of part of the balance, with no plan for the rest, may be promised.
    pub accept_partial_payment: bool,
}

/// The policy of one portfolio (one creditor, or the default).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PortfolioPolicy {
    pub verification: VerificationMethod,
    /// A phone number (E.164) of the agency's people; without it a request for a person becomes
    /// a callback by a person.
    #[serde(default)]
    pub transfer_to: Option<String>,
    /// Ordered by `from_days_past_due`, the first starting at 0.
    pub stages: Vec<Stage>,
}

/// Every portfolio's policy, as `config/policy.toml` gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyBook {
    /// The smallest installment in each currency, over any stage's percentage.
    minimum_installment: HashMap<Currency, Money>,
    default: PortfolioPolicy,
    /// Policies by creditor name, as the portfolio CSV spells it.
    creditors: BTreeMap<String, PortfolioPolicy>,
}

/// The part of the policy that applies to one debt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DebtPolicy {
    pub verification: VerificationMethod,
    pub transfer_to: Option<String>,
    pub stage: Stage,
    /// The currency's smallest installment.
    pub minimum_installment: Money,
}

/// An invalid policy file. Each variant names the file and what to change.
#[derive(Debug, thiserror::Error)]
pub enum PolicyError {
    #[error("cannot read policy file {path}: {source}")]
    Read { path: String, source: std::io::Error },
    #[error("{file}: invalid TOML: {message}")]
    Toml { file: String, message: String },
    #[error("{file}: minimum_installment: {message}")]
    MinimumInstallment { file: String, message: String },
    #[error("{file}: {portfolio}: {message}")]
    Portfolio { file: String, portfolio: String, message: String },
    #[error("{file}: {portfolio}, stage '{stage}': {message}")]
    Stage { file: String, portfolio: String, stage: String, message: String },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PolicyFile {
    minimum_installment: BTreeMap<String, String>,
    default: PortfolioPolicy,
    #[serde(default)]
    creditors: BTreeMap<String, PortfolioPolicy>,
}

impl PolicyBook {
    /// Returns the policy compiled into the binary (`config/policy.toml`).
    pub fn embedded() -> Result<PolicyBook, PolicyError> {
        PolicyBook::parse("config/policy.toml (embedded)", EMBEDDED_POLICY)
    }

    /// Reads and validates a policy file.
    pub fn load(path: &Path) -> Result<PolicyBook, PolicyError> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| PolicyError::Read { path: shown.clone(), source })?;
        PolicyBook::parse(&shown, &text)
    }

    /// Parses and validates the text of a policy file; `file` names it in errors.
    pub fn parse(file: &str, text: &str) -> Result<PolicyBook, PolicyError> {
        let raw: PolicyFile = toml::from_str(text)
            .map_err(|error| PolicyError::Toml { file: file.to_string(), message: error.to_string() })?;

        let mut minimum_installment = HashMap::new();
        for (code, amount) in &raw.minimum_installment {
            let invalid = |message: String| PolicyError::MinimumInstallment { file: file.to_string(), message };
            let currency: Currency = code.parse().map_err(|error| invalid(format!("{error}")))?;
            let money = Money::parse_decimal(amount, currency).map_err(|error| invalid(format!("{code}: {error}")))?;
            if money.amount_minor <= 0 {
                return Err(invalid(format!("{code} = \"{amount}\" must be above zero")));
            }
            minimum_installment.insert(currency, money);
        }

        validate_portfolio(file, "default", &raw.default)?;
        for (creditor, policy) in &raw.creditors {
            validate_portfolio(file, &format!("creditors.\"{creditor}\""), policy)?;
        }
        Ok(PolicyBook { minimum_installment, default: raw.default, creditors: raw.creditors })
    }

    /// Picks the policy for a debt: the creditor's when it has one, else the default, and the
    /// stage its days past due fall in. The floor of a currency the file does not list is one
    /// major unit.
    pub fn for_debt(&self, creditor: &str, currency: Currency, days_past_due: u32) -> DebtPolicy {
        let portfolio = self.creditors.get(creditor).unwrap_or(&self.default);
        // Validation guarantees a first stage from day 0, so some stage always applies.
        let stage = portfolio
            .stages
            .iter()
            .rev()
            .find(|stage| stage.from_days_past_due <= days_past_due)
            .unwrap_or(&portfolio.stages[0])
            .clone();
        let minimum_installment =
            self.minimum_installment.get(&currency).copied().unwrap_or_else(|| Money::from_major(1, currency));
        DebtPolicy {
            verification: portfolio.verification,
            transfer_to: portfolio.transfer_to.clone(),
            stage,
            minimum_installment,
        }
    }
}

fn validate_portfolio(file: &str, name: &str, policy: &PortfolioPolicy) -> Result<(), PolicyError> {
    let portfolio_error = |message: &str| PolicyError::Portfolio {
        file: file.to_string(),
        portfolio: name.to_string(),
        message: message.to_string(),
    };
    let Some(first) = policy.stages.first() else {
        return Err(portfolio_error("has no [[stages]]; add one with from_days_past_due = 0"));
    };
    if first.from_days_past_due != 0 {
        return Err(portfolio_error("the first stage must have from_days_past_due = 0"));
    }
    for pair in policy.stages.windows(2) {
        if pair[1].from_days_past_due <= pair[0].from_days_past_due {
            return Err(portfolio_error(
                "stages must be ordered by from_days_past_due, each starting later than the one before",
            ));
        }
    }
    for stage in &policy.stages {
        if let Err(message) = validate_stage(stage) {
            return Err(PolicyError::Stage {
                file: file.to_string(),
                portfolio: name.to_string(),
                stage: stage.name.clone(),
                message,
            });
        }
    }
    Ok(())
}

/// Checks that a stage's limits agree with each other, so every rung of the ladder can be built.
pub fn validate_stage(stage: &Stage) -> Result<(), String> {
    if stage.max_discount_percent > MAX_DISCOUNT_LIMIT {
        return Err(format!("max_discount_percent {} is above {MAX_DISCOUNT_LIMIT}", stage.max_discount_percent));
    }
    if stage.offer_discount_percent > stage.max_discount_percent {
        return Err(format!(
            "offer_discount_percent {} is above max_discount_percent {}",
            stage.offer_discount_percent, stage.max_discount_percent
        ));
    }
    if stage.short_plan_installments < 2 {
        return Err("short_plan_installments must be at least 2".to_string());
    }
    if stage.max_installments < stage.short_plan_installments {
        return Err(format!(
            "max_installments {} is below short_plan_installments {}",
            stage.max_installments, stage.short_plan_installments
        ));
    }
    if !(1..=100).contains(&stage.min_installment_percent) {
        return Err(format!("min_installment_percent {} must be from 1 to 100", stage.min_installment_percent));
    }
    if stage.installment_interval_days == 0 {
        return Err("installment_interval_days must be at least 1".to_string());
    }
    if stage.first_payment_days > stage.latest_promise_days {
        return Err(format!(
            "first_payment_days {} is after latest_promise_days {}",
            stage.first_payment_days, stage.latest_promise_days
        ));
    }
    let short_plan_end =
        stage.first_payment_days + stage.installment_interval_days * (stage.short_plan_installments - 1);
    if short_plan_end > stage.max_term_days {
        return Err(format!(
            "the short plan ends {short_plan_end} days after the call, after max_term_days {}; \
             raise max_term_days or shorten the plan",
            stage.max_term_days
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stage() -> Stage {
        Stage {
            name: "test".into(),
            from_days_past_due: 0,
            offer_discount_percent: 10,
            max_discount_percent: 20,
            short_plan_installments: 3,
            max_installments: 6,
            installment_interval_days: 30,
            max_term_days: 180,
            min_installment_percent: 10,
            first_payment_days: 7,
            latest_promise_days: 15,
            accept_partial_payment: true,
        }
    }

    #[test]
    fn embedded_policy_is_valid() {
        let book = PolicyBook::embedded().expect("config/policy.toml is valid");
        let policy = book.for_debt("Unknown Creditor", Currency::Mxn, 45);
        assert_eq!(policy.verification, VerificationMethod::NationalIdLast4);
        assert_eq!(policy.minimum_installment, Money::from_major(200, Currency::Mxn));
    }

    #[test]
    fn stage_follows_days_past_due() {
        let book = PolicyBook::embedded().expect("valid");
        let names: Vec<String> = [0, 30, 31, 90, 91, 180, 181, 900]
            .iter()
            .map(|dpd| book.for_debt("x", Currency::Mxn, *dpd).stage.name)
            .collect();
        assert_eq!(names, ["early", "early", "mid", "mid", "late", "late", "charged_off", "charged_off"]);
    }

    #[test]
    fn creditor_policy_overrides_default() {
        let book = PolicyBook::embedded().expect("valid");
        let policy = book.for_debt("Crédito Maguey", Currency::Mxn, 10);
        assert_eq!(policy.verification, VerificationMethod::BirthDate);
    }

    #[test]
    fn unknown_currency_floor_is_one_unit() {
        let text = "[minimum_installment]\nMXN = \"100.00\"\n[default]\nverification = \"postal_code\"\n[[default.stages]]\nname = \"all\"\nfrom_days_past_due = 0\noffer_discount_percent = 0\nmax_discount_percent = 0\nshort_plan_installments = 2\nmax_installments = 2\ninstallment_interval_days = 30\nmax_term_days = 60\nmin_installment_percent = 50\nfirst_payment_days = 3\nlatest_promise_days = 10\naccept_partial_payment = false\n";
        let book = PolicyBook::parse("test.toml", text).expect("valid");
        assert_eq!(book.for_debt("x", Currency::Usd, 0).minimum_installment, Money::from_major(1, Currency::Usd));
    }

    #[test]
    fn discount_above_limit_rejected() {
        let error =
            validate_stage(&Stage { max_discount_percent: 95, offer_discount_percent: 10, ..stage() }).unwrap_err();
        assert_eq!(error, "max_discount_percent 95 is above 90");
    }

    #[test]
    fn offer_deeper_than_max_rejected() {
        let error = validate_stage(&Stage { offer_discount_percent: 30, ..stage() }).unwrap_err();
        assert_eq!(error, "offer_discount_percent 30 is above max_discount_percent 20");
    }

    #[test]
    fn short_plan_past_term_rejected() {
        let error = validate_stage(&Stage { max_term_days: 60, ..stage() }).unwrap_err();
        assert!(error.starts_with("the short plan ends 67 days after the call"), "{error}");
    }

    #[test]
    fn first_payment_after_latest_rejected() {
        let error = validate_stage(&Stage { first_payment_days: 20, ..stage() }).unwrap_err();
        assert_eq!(error, "first_payment_days 20 is after latest_promise_days 15");
    }

    #[test]
    fn missing_first_stage_names_the_fix() {
        let text = "[minimum_installment]\n[default]\nverification = \"postal_code\"\nstages = []\n";
        let error = PolicyBook::parse("p.toml", text).unwrap_err();
        assert_eq!(error.to_string(), "p.toml: default: has no [[stages]]; add one with from_days_past_due = 0");
    }
}
