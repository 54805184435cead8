//! The debts a history file may refer to: those in the store, and those of a portfolio file
//! read in the same import but not stored yet.

use std::collections::HashMap;

use super::DebtRef;
use crate::collections::import::PortfolioRow;
use crate::collections::model::{Currency, DebtId};

/// A debt known to the import: its currency, and its id once it is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct KnownDebt {
    pub debt_id: Option<DebtId>,
    pub currency: Currency,
}

/// Debts by account reference and by id.
#[derive(Debug, Clone, Default)]
pub(super) struct Accounts {
    by_ref: HashMap<String, KnownDebt>,
    refs_by_id: HashMap<DebtId, String>,
}

impl Accounts {
    pub fn from_store(debts: Vec<DebtRef>) -> Accounts {
        let mut accounts = Accounts::default();
        for debt in debts {
            accounts.refs_by_id.insert(debt.debt_id, debt.account_ref.clone());
            accounts
                .by_ref
                .insert(debt.account_ref, KnownDebt { debt_id: Some(debt.debt_id), currency: debt.currency });
        }
        accounts
    }

    /// Adds the debts of portfolio rows about to be imported. A row's currency replaces the
    /// stored one, as the import will.
    pub fn add_portfolio(&mut self, rows: &[PortfolioRow]) {
        for row in rows {
            let currency = row.debt.balance.currency;
            let entry =
                self.by_ref.entry(row.debt.account_ref.clone()).or_insert(KnownDebt { debt_id: None, currency });
            entry.currency = currency;
        }
    }

    pub fn get(&self, account_ref: &str) -> Option<KnownDebt> {
        self.by_ref.get(account_ref).copied()
    }

    pub fn account_ref(&self, debt_id: DebtId) -> Option<&str> {
        self.refs_by_id.get(&debt_id).map(String::as_str)
    }

    /// Returns the stored id of the debt with `account_ref`; the caller checked it exists.
    pub fn debt_id(&self, account_ref: &str) -> Option<DebtId> {
        self.by_ref.get(account_ref).and_then(|debt| debt.debt_id)
    }
}

/// Describes the problem of an `account_ref` that names no debt.
pub(super) fn unknown_account(account_ref: &str) -> String {
    format!("account_ref '{account_ref}' is not a debt in the store or the portfolio: import the portfolio first, or correct the reference")
}

/// Describes the problem of a currency other than the debt's.
pub(super) fn wrong_currency(written: Currency, account_ref: &str, debt_currency: Currency) -> String {
    format!(
        "currency '{written}' differs from {debt_currency}, the currency of account_ref '{account_ref}': \
         write amounts in the debt's currency"
    )
}
