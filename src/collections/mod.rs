//! Debtors, debts, attempts, transcripts, promises and opt-outs: the collections store and its
//! imports.

pub mod history;
pub mod import;
pub mod inbound;
pub mod model;
pub mod postgres;
pub mod sqlite;
pub mod store;

use std::path::Path;
use std::sync::Arc;

pub use history::HistoryStore;
pub use inbound::{InboundCall, InboundCallId, InboundCallOutcome, InboundStore, NewInboundCall};
pub use model::*;
pub use store::{Attempt, AttemptOutcome, Direction, NewAttempt, Store, StoreError, StoredPromise};

/// Opens the store that `location` names: a `postgres://` or `postgresql://` URL connects to
/// PostgreSQL, and anything else is the path of a SQLite file, created when missing. Either way
/// the schema is brought up to date.
pub async fn open_store(location: &str) -> Result<Arc<dyn Store>, StoreError> {
    if is_postgres_url(location) {
        Ok(Arc::new(postgres::PostgresStore::connect(location).await?))
    } else {
        Ok(Arc::new(sqlite::SqliteStore::open(Path::new(location)).await?))
    }
}

/// Tells whether `location` is a PostgreSQL connection URL rather than a file path.
pub fn is_postgres_url(location: &str) -> bool {
    location.starts_with("postgres://") || location.starts_with("postgresql://")
}
