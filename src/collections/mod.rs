//! Debtors, debts, attempts, transcripts, promises and opt-outs: the collections store and its
//! imports.

pub mod import;
pub mod model;
pub mod sqlite;
pub mod store;

pub use model::*;
pub use store::{Attempt, AttemptOutcome, Direction, NewAttempt, Store, StoreError, StoredPromise};
