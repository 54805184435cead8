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
/// the schema is brought up to date. A `schema=NAME` query parameter in the URL keeps every
/// table in that PostgreSQL schema, created when missing.
pub async fn open_store(location: &str) -> Result<Arc<dyn Store>, StoreError> {
    if is_postgres_url(location) {
        let store = match postgres::split_schema_parameter(location)? {
            (url, Some(schema)) => postgres::PostgresStore::connect_in_schema(&url, &schema).await?,
            (url, None) => postgres::PostgresStore::connect(&url).await?,
        };
        Ok(Arc::new(store))
    } else {
        Ok(Arc::new(sqlite::SqliteStore::open(Path::new(location)).await?))
    }
}

/// A store opened for the server: the collections store, the console's tables in it, and for
/// PostgreSQL the pool and schema the nodes share call events through.
pub struct OpenedStore {
    pub store: Arc<dyn Store>,
    pub console: Arc<dyn crate::console::ConsoleStore>,
    pub postgres: Option<(sqlx::PgPool, String)>,
}

/// Opens the store that `location` names as [`open_store`] does, with its console tables.
pub async fn open_with_console(location: &str) -> Result<OpenedStore, StoreError> {
    if is_postgres_url(location) {
        let (store, schema) = match postgres::split_schema_parameter(location)? {
            (url, Some(schema)) => (postgres::PostgresStore::connect_in_schema(&url, &schema).await?, schema),
            (url, None) => (postgres::PostgresStore::connect(&url).await?, "public".to_string()),
        };
        let store = Arc::new(store);
        let pool = store.pool().clone();
        Ok(OpenedStore { store: store.clone(), console: store, postgres: Some((pool, schema)) })
    } else {
        let store = Arc::new(sqlite::SqliteStore::open(Path::new(location)).await?);
        Ok(OpenedStore { store: store.clone(), console: store, postgres: None })
    }
}

/// Tells whether `location` is a PostgreSQL connection URL rather than a file path.
pub fn is_postgres_url(location: &str) -> bool {
    location.starts_with("postgres://") || location.starts_with("postgresql://")
}
