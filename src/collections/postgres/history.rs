//! [`HistoryStore`] on PostgreSQL. Each file's rows are written in one transaction, in multi-row
//! `INSERT`s of a few hundred rows, and the portfolio in one `INSERT ... SELECT FROM UNNEST(...)`
//! per table. Lookups by many keys bind one array (`= ANY($1)`). Settlements are written back
//! with one `UPDATE ... FROM UNNEST(...)` per table.

use std::collections::{HashMap, HashSet};

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use sqlx::postgres::PgRow;
use sqlx::{PgConnection, Postgres, QueryBuilder, Row};

use super::decode;
use super::PostgresStore;
use crate::collections::history::{
    settle, AttemptRef, DebtRef, DebtSnapshot, DoNotCallEntry, HistoryAttempt, HistoryPromise, HistoryStore,
    InstallmentSettlement, Payment, PromiseSettlement, PromiseStatus, SettleScope, SettledPromise, SettlementCounts,
    StoredPayment,
};
use crate::collections::import::{NewDebt, PortfolioRow};
use crate::collections::model::{AttemptId, CallSid, DebtId, Debtor, DebtorId, Installment, Promise, PromiseId};
use crate::collections::store::{ImportCounts, StoreError, StoredPromise};

/// Rows per multi-row statement: 500 rows of 13 columns stay well under PostgreSQL's limit of
/// 65535 bound parameters.
const BATCH_ROWS: usize = 500;

/// A value bound to a `$n` parameter of a query built at run time.
#[derive(Debug, Clone)]
enum Bind {
    Int(i64),
    Text(String),
    Date(NaiveDate),
    Ints(Vec<i64>),
}

fn bind_all<'q>(
    mut query: sqlx::query::Query<'q, Postgres, sqlx::postgres::PgArguments>,
    binds: &[Bind],
) -> sqlx::query::Query<'q, Postgres, sqlx::postgres::PgArguments> {
    for bind in binds {
        query = match bind {
            Bind::Int(value) => query.bind(*value),
            Bind::Text(value) => query.bind(value.clone()),
            Bind::Date(value) => query.bind(*value),
            Bind::Ints(values) => query.bind(values.clone()),
        };
    }
    query
}

fn to_i64(column: &str, value: u64) -> Result<i64, StoreError> {
    i64::try_from(value).map_err(|_| StoreError::Corrupt(format!("{column} {value} is out of range")))
}

#[async_trait]
impl HistoryStore for PostgresStore {
    async fn import_portfolio_as_of(
        &self,
        rows: &[PortfolioRow],
        as_of: NaiveDate,
    ) -> Result<ImportCounts, StoreError> {
        let mut tx = self.pool.begin().await?;
        let counts = upsert_portfolio(&mut tx, rows).await?;
        let account_refs: Vec<String> = rows.iter().map(|row| row.debt.account_ref.clone()).collect();
        sqlx::query(
            "INSERT INTO debt_snapshots (debt_id, as_of, days_past_due, balance_minor)
             SELECT id, $1, days_past_due, balance_minor FROM debts WHERE account_ref = ANY($2)
             ON CONFLICT (debt_id, as_of) DO UPDATE SET
                 days_past_due = excluded.days_past_due, balance_minor = excluded.balance_minor",
        )
        .bind(as_of)
        .bind(account_refs)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(counts)
    }

    async fn debt_refs(&self) -> Result<Vec<DebtRef>, StoreError> {
        let rows = sqlx::query("SELECT id, account_ref, debtor_id, currency FROM debts ORDER BY account_ref")
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|row| {
                let currency: String = row.try_get("currency")?;
                Ok(DebtRef {
                    debt_id: DebtId(row.try_get("id")?),
                    account_ref: row.try_get("account_ref")?,
                    debtor_id: DebtorId(row.try_get("debtor_id")?),
                    currency: decode::money(0, &currency)?.currency,
                })
            })
            .collect()
    }

    async fn payments_with_refs(&self, payment_refs: &[String]) -> Result<Vec<StoredPayment>, StoreError> {
        let rows = sqlx::query(
            "SELECT payment.payment_ref, payment.debt_id, payment.paid_on, payment.amount_minor, payment.currency,
                    payment.channel, payment.imported_at, debt.account_ref
             FROM payments AS payment JOIN debts AS debt ON debt.id = payment.debt_id
             WHERE payment.payment_ref = ANY($1)
             ORDER BY payment.payment_ref",
        )
        .bind(payment_refs.to_vec())
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(StoredPayment {
                    payment: payment(row)?,
                    account_ref: row.try_get("account_ref")?,
                    imported_at: row.try_get("imported_at")?,
                })
            })
            .collect()
    }

    async fn insert_payments(&self, payments: &[Payment], imported_at: DateTime<Utc>) -> Result<usize, StoreError> {
        let mut tx = self.pool.begin().await?;
        let mut inserted = 0;
        for chunk in payments.chunks(BATCH_ROWS) {
            let mut insert = QueryBuilder::<Postgres>::new(
                "INSERT INTO payments (payment_ref, debt_id, paid_on, amount_minor, currency, channel, imported_at) ",
            );
            insert.push_values(chunk, |mut values, payment| {
                values
                    .push_bind(payment.payment_ref.clone())
                    .push_bind(payment.debt_id.0)
                    .push_bind(payment.paid_on)
                    .push_bind(payment.amount.amount_minor)
                    .push_bind(payment.amount.currency.code())
                    .push_bind(payment.channel.clone())
                    .push_bind(imported_at);
            });
            insert.push(" ON CONFLICT (payment_ref) DO NOTHING");
            inserted += insert.build().execute(&mut *tx).await?.rows_affected() as usize;
        }
        tx.commit().await?;
        Ok(inserted)
    }

    async fn payments_of_debt(&self, debt_id: DebtId) -> Result<Vec<Payment>, StoreError> {
        let rows = sqlx::query(
            "SELECT payment_ref, debt_id, paid_on, amount_minor, currency, channel FROM payments
             WHERE debt_id = $1 ORDER BY paid_on, payment_ref",
        )
        .bind(debt_id.0)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(payment).collect()
    }

    async fn add_do_not_call(&self, entries: &[DoNotCallEntry]) -> Result<usize, StoreError> {
        let mut tx = self.pool.begin().await?;
        let mut added = 0;
        for chunk in entries.chunks(BATCH_ROWS) {
            let mut insert =
                QueryBuilder::<Postgres>::new("INSERT INTO do_not_call (phone, reason, source, added_on) ");
            insert.push_values(chunk, |mut values, entry| {
                values
                    .push_bind(entry.phone.clone())
                    .push_bind(entry.reason.clone())
                    .push_bind(entry.source.clone())
                    .push_bind(entry.added_on);
            });
            insert.push(" ON CONFLICT (phone) DO NOTHING");
            added += insert.build().execute(&mut *tx).await?.rows_affected() as usize;
        }
        tx.commit().await?;
        Ok(added)
    }

    async fn on_do_not_call(&self, phone: &str) -> Result<bool, StoreError> {
        let row =
            sqlx::query("SELECT 1 FROM do_not_call WHERE phone = $1").bind(phone).fetch_optional(&self.pool).await?;
        Ok(row.is_some())
    }

    async fn do_not_call_list(&self) -> Result<Vec<DoNotCallEntry>, StoreError> {
        let rows = sqlx::query("SELECT phone, reason, source, added_on FROM do_not_call ORDER BY phone")
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|row| {
                Ok(DoNotCallEntry {
                    phone: row.try_get("phone")?,
                    reason: row.try_get("reason")?,
                    source: row.try_get("source")?,
                    added_on: row.try_get("added_on")?,
                })
            })
            .collect()
    }

    async fn write_snapshots(&self, snapshots: &[DebtSnapshot]) -> Result<usize, StoreError> {
        // One statement may not write a row twice, so the last snapshot of a debt and date wins.
        let mut latest: HashMap<(DebtId, NaiveDate), &DebtSnapshot> = HashMap::new();
        for snapshot in snapshots {
            latest.insert((snapshot.debt_id, snapshot.as_of), snapshot);
        }
        let unique: Vec<&DebtSnapshot> = latest.into_values().collect();

        let mut tx = self.pool.begin().await?;
        for chunk in unique.chunks(BATCH_ROWS) {
            let mut insert = QueryBuilder::<Postgres>::new(
                "INSERT INTO debt_snapshots (debt_id, as_of, days_past_due, balance_minor) ",
            );
            insert.push_values(chunk, |mut values, snapshot| {
                values
                    .push_bind(snapshot.debt_id.0)
                    .push_bind(snapshot.as_of)
                    .push_bind(i64::from(snapshot.days_past_due))
                    .push_bind(snapshot.balance.amount_minor);
            });
            insert.push(
                " ON CONFLICT (debt_id, as_of) DO UPDATE SET
                     days_past_due = excluded.days_past_due, balance_minor = excluded.balance_minor",
            );
            insert.build().execute(&mut *tx).await?;
        }
        sqlx::query(crate::collections::history::REFRESH_DEBTS_FROM_SNAPSHOTS).execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(unique.len())
    }

    async fn snapshots_as_of(&self, day: NaiveDate) -> Result<Vec<DebtSnapshot>, StoreError> {
        let rows = sqlx::query(
            "SELECT snapshot.debt_id, snapshot.as_of, snapshot.days_past_due, snapshot.balance_minor, debt.currency
             FROM debt_snapshots AS snapshot JOIN debts AS debt ON debt.id = snapshot.debt_id
             WHERE snapshot.as_of = (SELECT MAX(latest.as_of) FROM debt_snapshots AS latest
                                     WHERE latest.debt_id = snapshot.debt_id AND latest.as_of <= $1)
             ORDER BY snapshot.debt_id",
        )
        .bind(day)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(snapshot).collect()
    }

    async fn snapshots_between(&self, from: NaiveDate, to: NaiveDate) -> Result<Vec<DebtSnapshot>, StoreError> {
        let rows = sqlx::query(
            "SELECT snapshot.debt_id, snapshot.as_of, snapshot.days_past_due, snapshot.balance_minor, debt.currency
             FROM debt_snapshots AS snapshot JOIN debts AS debt ON debt.id = snapshot.debt_id
             WHERE snapshot.as_of >= $1 AND snapshot.as_of <= $2
             ORDER BY snapshot.as_of, snapshot.debt_id",
        )
        .bind(from)
        .bind(to)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(snapshot).collect()
    }

    async fn insert_history_attempts(&self, attempts: &[HistoryAttempt]) -> Result<usize, StoreError> {
        let mut tx = self.pool.begin().await?;
        let debtors: HashMap<i64, String> = sqlx::query("SELECT id, debtor_id FROM debts")
            .fetch_all(&mut *tx)
            .await?
            .iter()
            .map(|row| Ok((row.try_get("id")?, row.try_get("debtor_id")?)))
            .collect::<Result<_, sqlx::Error>>()?;
        let mut rows = Vec::with_capacity(attempts.len());
        for attempt in attempts {
            let debtor_id = debtors
                .get(&attempt.debt_id.0)
                .ok_or_else(|| StoreError::NotFound { what: "debt", id: attempt.debt_id.0.to_string() })?;
            rows.push((attempt, debtor_id.clone(), to_i64("cost_micros", attempt.cost_micros)?));
        }

        let mut inserted = 0;
        for chunk in rows.chunks(BATCH_ROWS) {
            let mut insert = QueryBuilder::<Postgres>::new(
                "INSERT INTO attempts (debt_id, debtor_id, phone, direction, call_sid, started_at, ended_at, answered,
                                       right_party_contact, disposition, campaign, segment, cost_micros) ",
            );
            insert.push_values(chunk, |mut values, (attempt, debtor_id, cost_micros)| {
                values
                    .push_bind(attempt.debt_id.0)
                    .push_bind(debtor_id.clone())
                    .push_bind(attempt.phone.clone())
                    .push_bind(attempt.direction.as_str())
                    .push_bind(attempt.call_sid.0.clone())
                    .push_bind(attempt.started_at)
                    .push_bind(attempt.ended_at)
                    .push_bind(attempt.answered)
                    .push_bind(attempt.right_party_contact)
                    .push_bind(attempt.disposition.map(|disposition| disposition.as_str()))
                    .push_bind(attempt.campaign.clone())
                    .push_bind(attempt.segment.clone())
                    .push_bind(*cost_micros);
            });
            insert.push(" ON CONFLICT (call_sid) DO NOTHING");
            inserted += insert.build().execute(&mut *tx).await?.rows_affected() as usize;
        }
        tx.commit().await?;
        Ok(inserted)
    }

    async fn attempts_with_call_sids(&self, call_sids: &[String]) -> Result<Vec<AttemptRef>, StoreError> {
        let rows = sqlx::query("SELECT id, call_sid, debt_id FROM attempts WHERE call_sid = ANY($1)")
            .bind(call_sids.to_vec())
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|row| {
                Ok(AttemptRef {
                    call_sid: CallSid(row.try_get("call_sid")?),
                    attempt_id: AttemptId(row.try_get("id")?),
                    debt_id: DebtId(row.try_get("debt_id")?),
                })
            })
            .collect()
    }

    async fn insert_history_promises(&self, promises: &[HistoryPromise]) -> Result<usize, StoreError> {
        let mut tx = self.pool.begin().await?;
        let attempt_ids: Vec<i64> =
            promises.iter().map(|promise| promise.attempt_id.0).collect::<HashSet<_>>().into_iter().collect();
        // TIMESTAMPTZ keeps whole microseconds, so creation times are compared at that precision.
        let mut seen: HashSet<(i64, i64, String, NaiveDate, i64)> = HashSet::new();
        let rows = sqlx::query(
            "SELECT attempt_id, amount_minor, currency, due_date, created_at FROM promises WHERE attempt_id = ANY($1)",
        )
        .bind(attempt_ids)
        .fetch_all(&mut *tx)
        .await?;
        for row in &rows {
            let created_at: DateTime<Utc> = row.try_get("created_at")?;
            seen.insert((
                row.try_get("attempt_id")?,
                row.try_get("amount_minor")?,
                row.try_get("currency")?,
                row.try_get("due_date")?,
                created_at.timestamp_micros(),
            ));
        }
        let new: Vec<&HistoryPromise> = promises
            .iter()
            .filter(|promise| {
                seen.insert((
                    promise.attempt_id.0,
                    promise.amount.amount_minor,
                    promise.amount.currency.code().to_string(),
                    promise.due_date,
                    promise.created_at.timestamp_micros(),
                ))
            })
            .collect();

        for chunk in new.chunks(BATCH_ROWS) {
            let mut insert = QueryBuilder::<Postgres>::new(
                "INSERT INTO promises (attempt_id, debt_id, amount_minor, currency, due_date, status, created_at) ",
            );
            insert.push_values(chunk, |mut values, promise| {
                values
                    .push_bind(promise.attempt_id.0)
                    .push_bind(promise.debt_id.0)
                    .push_bind(promise.amount.amount_minor)
                    .push_bind(promise.amount.currency.code())
                    .push_bind(promise.due_date)
                    .push_bind(PromiseStatus::Open.as_str())
                    .push_bind(promise.created_at);
            });
            insert.build().execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(new.len())
    }

    /// Runs at READ COMMITTED like every write here, so a payment committed by another
    /// connection after the payments were read is first counted by the next run.
    async fn settle_promises(
        &self,
        scope: SettleScope<'_>,
        grace_days: u32,
        as_of: NaiveDate,
    ) -> Result<SettlementCounts, StoreError> {
        let mut tx = self.pool.begin().await?;
        let (condition, binds) = match scope {
            SettleScope::AllDebts => ("TRUE", Vec::new()),
            SettleScope::Debts(debts) => {
                ("debt_id = ANY($1)", vec![Bind::Ints(debts.iter().map(|debt| debt.0).collect())])
            }
        };
        let current = settled_promises_where(&mut tx, condition, &binds, "id").await?;
        let payments = payments_where(&mut tx, condition, &binds).await?;

        let stored: Vec<StoredPromise> = current.iter().map(|settled| settled.stored.clone()).collect();
        let settled = settle(&stored, &payments, grace_days, as_of);
        let mut counts = SettlementCounts { promises: settled.len(), ..SettlementCounts::default() };
        let mut changed = Vec::new();
        for (before, after) in current.iter().zip(&settled) {
            if before.settlement == *after {
                continue;
            }
            if before.settlement.status != after.status {
                *counts.changed.entry(after.status).or_default() += 1;
            }
            changed.push(after);
        }
        write_settlements(&mut tx, &changed).await?;
        tx.commit().await?;
        Ok(counts)
    }

    async fn promises_with_status(
        &self,
        status: PromiseStatus,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<SettledPromise>, StoreError> {
        let date_column = if status == PromiseStatus::Open { "due_date" } else { "settled_on" };
        let condition = format!("status = $1 AND {date_column} >= $2 AND {date_column} <= $3");
        let binds = [Bind::Text(status.as_str().to_string()), Bind::Date(from), Bind::Date(to)];
        let mut connection = self.pool.acquire().await?;
        settled_promises_where(&mut connection, &condition, &binds, &format!("{date_column}, id")).await
    }

    async fn settled_promises_of_debt(&self, debt_id: DebtId) -> Result<Vec<SettledPromise>, StoreError> {
        let mut connection = self.pool.acquire().await?;
        settled_promises_where(&mut connection, "debt_id = $1", &[Bind::Int(debt_id.0)], "created_at, id").await
    }
}

/// Inserts or updates the debtors, phones and debts of `rows` with one statement per table, so
/// a large portfolio costs a few round trips. A debtor's first row gives their details, as the
/// rows of one debtor agree, and the portfolio's number becomes the debtor's primary one while
/// numbers from earlier imports stay on file.
async fn upsert_portfolio(tx: &mut PgConnection, rows: &[PortfolioRow]) -> Result<ImportCounts, StoreError> {
    let mut seen_debtors = HashSet::new();
    let debtors: Vec<&Debtor> =
        rows.iter().map(|row| &row.debtor).filter(|debtor| seen_debtors.insert(&debtor.id)).collect();
    // One statement may not write a row twice, so the last row of an account reference wins, as
    // it would row by row.
    let mut last_rows: HashMap<&str, usize> = HashMap::new();
    for (index, row) in rows.iter().enumerate() {
        last_rows.insert(row.debt.account_ref.as_str(), index);
    }
    let mut debt_indexes: Vec<usize> = last_rows.into_values().collect();
    debt_indexes.sort_unstable();
    let debts: Vec<(&DebtorId, &NewDebt)> =
        debt_indexes.iter().map(|&index| (&rows[index].debtor.id, &rows[index].debt)).collect();

    sqlx::query(
        "INSERT INTO debtors (id, full_name, country, region, locale, time_zone, national_id_last4,
                              birth_date, postal_code, call_consent, authorised_channels)
         SELECT * FROM UNNEST($1::TEXT[], $2::TEXT[], $3::TEXT[], $4::TEXT[], $5::TEXT[], $6::TEXT[], $7::TEXT[],
                              $8::DATE[], $9::TEXT[], $10::BOOLEAN[], $11::TEXT[])
         ON CONFLICT (id) DO UPDATE SET
             full_name = excluded.full_name, country = excluded.country, region = excluded.region,
             locale = excluded.locale, time_zone = excluded.time_zone,
             national_id_last4 = excluded.national_id_last4, birth_date = excluded.birth_date,
             postal_code = excluded.postal_code, call_consent = excluded.call_consent,
             authorised_channels = excluded.authorised_channels",
    )
    .bind(debtors.iter().map(|debtor| debtor.id.0.clone()).collect::<Vec<_>>())
    .bind(debtors.iter().map(|debtor| debtor.full_name.clone()).collect::<Vec<_>>())
    .bind(debtors.iter().map(|debtor| debtor.country.clone()).collect::<Vec<_>>())
    .bind(debtors.iter().map(|debtor| debtor.region.clone()).collect::<Vec<_>>())
    .bind(debtors.iter().map(|debtor| debtor.locale.clone()).collect::<Vec<_>>())
    .bind(debtors.iter().map(|debtor| debtor.time_zone.name().to_string()).collect::<Vec<_>>())
    .bind(debtors.iter().map(|debtor| debtor.national_id_last4.clone()).collect::<Vec<_>>())
    .bind(debtors.iter().map(|debtor| debtor.birth_date).collect::<Vec<_>>())
    .bind(debtors.iter().map(|debtor| debtor.postal_code.clone()).collect::<Vec<_>>())
    .bind(debtors.iter().map(|debtor| debtor.call_consent).collect::<Vec<_>>())
    .bind(debtors.iter().map(|debtor| debtor.authorised_channels.join(";")).collect::<Vec<_>>())
    .execute(&mut *tx)
    .await?;

    // The old primary numbers step down first, because the index phones_one_primary allows one
    // primary number per debtor.
    let debtor_ids: Vec<String> = debtors.iter().map(|debtor| debtor.id.0.clone()).collect();
    let numbers: Vec<String> = debtors.iter().map(|debtor| debtor.phone.clone()).collect();
    sqlx::query(
        "UPDATE phones SET is_primary = FALSE
         FROM UNNEST($1::TEXT[], $2::TEXT[]) AS portfolio (debtor_id, number)
         WHERE phones.debtor_id = portfolio.debtor_id AND phones.number <> portfolio.number AND phones.is_primary",
    )
    .bind(&debtor_ids)
    .bind(&numbers)
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "INSERT INTO phones (debtor_id, number, is_primary)
         SELECT debtor_id, number, TRUE FROM UNNEST($1::TEXT[], $2::TEXT[]) AS portfolio (debtor_id, number)
         ON CONFLICT (debtor_id, number) DO UPDATE SET is_primary = TRUE",
    )
    .bind(&debtor_ids)
    .bind(&numbers)
    .execute(&mut *tx)
    .await?;

    sqlx::query(
        "INSERT INTO debts (debtor_id, account_ref, creditor, product, balance_minor, currency, days_past_due)
         SELECT * FROM UNNEST($1::TEXT[], $2::TEXT[], $3::TEXT[], $4::TEXT[], $5::BIGINT[], $6::TEXT[], $7::BIGINT[])
         ON CONFLICT (account_ref) DO UPDATE SET
             debtor_id = excluded.debtor_id, creditor = excluded.creditor, product = excluded.product,
             balance_minor = excluded.balance_minor, currency = excluded.currency,
             days_past_due = excluded.days_past_due",
    )
    .bind(debts.iter().map(|(debtor_id, _)| debtor_id.0.clone()).collect::<Vec<_>>())
    .bind(debts.iter().map(|(_, debt)| debt.account_ref.clone()).collect::<Vec<_>>())
    .bind(debts.iter().map(|(_, debt)| debt.creditor.clone()).collect::<Vec<_>>())
    .bind(debts.iter().map(|(_, debt)| debt.product.clone()).collect::<Vec<_>>())
    .bind(debts.iter().map(|(_, debt)| debt.balance.amount_minor).collect::<Vec<_>>())
    .bind(debts.iter().map(|(_, debt)| debt.balance.currency.code().to_string()).collect::<Vec<_>>())
    .bind(debts.iter().map(|(_, debt)| i64::from(debt.days_past_due)).collect::<Vec<_>>())
    .execute(&mut *tx)
    .await?;

    Ok(ImportCounts { debtors: debtors.len(), debts: debts.len() })
}

fn payment(row: &PgRow) -> Result<Payment, StoreError> {
    let currency: String = row.try_get("currency")?;
    Ok(Payment {
        payment_ref: row.try_get("payment_ref")?,
        debt_id: DebtId(row.try_get("debt_id")?),
        paid_on: row.try_get("paid_on")?,
        amount: decode::money(row.try_get("amount_minor")?, &currency)?,
        channel: row.try_get("channel")?,
    })
}

fn snapshot(row: &PgRow) -> Result<DebtSnapshot, StoreError> {
    let currency: String = row.try_get("currency")?;
    let days_past_due: i64 = row.try_get("days_past_due")?;
    Ok(DebtSnapshot {
        debt_id: DebtId(row.try_get("debt_id")?),
        as_of: row.try_get("as_of")?,
        days_past_due: u32::try_from(days_past_due).map_err(|_| {
            StoreError::Corrupt(format!("column days_past_due contains '{days_past_due}', which is invalid"))
        })?,
        balance: decode::money(row.try_get("balance_minor")?, &currency)?,
    })
}

fn status(text: &str) -> Result<PromiseStatus, StoreError> {
    text.parse().map_err(|_| StoreError::Corrupt(format!("column status contains '{text}', which is invalid")))
}

async fn payments_where(
    connection: &mut PgConnection,
    condition: &str,
    binds: &[Bind],
) -> Result<Vec<Payment>, StoreError> {
    let sql = format!(
        "SELECT payment_ref, debt_id, paid_on, amount_minor, currency, channel FROM payments WHERE {condition}"
    );
    let rows = bind_all(sqlx::query(&sql), binds).fetch_all(&mut *connection).await?;
    rows.iter().map(payment).collect()
}

/// Reads the promises matching `condition`, with their installments and settlements.
async fn settled_promises_where(
    connection: &mut PgConnection,
    condition: &str,
    binds: &[Bind],
    order: &str,
) -> Result<Vec<SettledPromise>, StoreError> {
    let promise_sql = format!(
        "SELECT id, attempt_id, debt_id, amount_minor, currency, due_date, created_at, status, kept_minor, settled_on
         FROM promises WHERE {condition} ORDER BY {order}"
    );
    let installment_sql = format!(
        "SELECT promise_id, seq, amount_minor, currency, due_date, status, kept_minor, settled_on
         FROM promise_installments WHERE promise_id IN (SELECT id FROM promises WHERE {condition})
         ORDER BY promise_id, seq"
    );
    let promise_rows = bind_all(sqlx::query(&promise_sql), binds).fetch_all(&mut *connection).await?;
    let installment_rows = bind_all(sqlx::query(&installment_sql), binds).fetch_all(&mut *connection).await?;

    let mut installments: HashMap<i64, Vec<(Installment, InstallmentSettlement)>> = HashMap::new();
    for row in &installment_rows {
        let currency: String = row.try_get("currency")?;
        let status_text: String = row.try_get("status")?;
        installments.entry(row.try_get("promise_id")?).or_default().push((
            Installment {
                amount: decode::money(row.try_get("amount_minor")?, &currency)?,
                due_date: row.try_get("due_date")?,
            },
            InstallmentSettlement {
                seq: row.try_get("seq")?,
                status: status(&status_text)?,
                kept_minor: row.try_get("kept_minor")?,
                settled_on: row.try_get("settled_on")?,
            },
        ));
    }

    let mut promises = Vec::with_capacity(promise_rows.len());
    for row in &promise_rows {
        let id: i64 = row.try_get("id")?;
        let currency: String = row.try_get("currency")?;
        let status_text: String = row.try_get("status")?;
        let (plan, unit_settlements): (Vec<Installment>, Vec<InstallmentSettlement>) =
            installments.remove(&id).unwrap_or_default().into_iter().unzip();
        promises.push(SettledPromise {
            stored: StoredPromise {
                id: PromiseId(id),
                attempt_id: AttemptId(row.try_get("attempt_id")?),
                promise: Promise {
                    debt_id: DebtId(row.try_get("debt_id")?),
                    amount: decode::money(row.try_get("amount_minor")?, &currency)?,
                    due_date: row.try_get("due_date")?,
                    installments: plan,
                },
                created_at: row.try_get("created_at")?,
            },
            settlement: PromiseSettlement {
                promise_id: PromiseId(id),
                status: status(&status_text)?,
                kept_minor: row.try_get("kept_minor")?,
                settled_on: row.try_get("settled_on")?,
                installments: unit_settlements,
            },
        });
    }
    Ok(promises)
}

/// Writes settlements with one statement for the promises and one for their installments.
async fn write_settlements(
    connection: &mut PgConnection,
    settlements: &[&PromiseSettlement],
) -> Result<(), StoreError> {
    if settlements.is_empty() {
        return Ok(());
    }
    let ids: Vec<i64> = settlements.iter().map(|settlement| settlement.promise_id.0).collect();
    let statuses: Vec<&str> = settlements.iter().map(|settlement| settlement.status.as_str()).collect();
    let kept: Vec<i64> = settlements.iter().map(|settlement| settlement.kept_minor).collect();
    let settled_on: Vec<Option<NaiveDate>> = settlements.iter().map(|settlement| settlement.settled_on).collect();
    sqlx::query(
        "UPDATE promises AS promise
         SET status = changed.status, kept_minor = changed.kept_minor, settled_on = changed.settled_on
         FROM UNNEST($1::BIGINT[], $2::TEXT[], $3::BIGINT[], $4::DATE[]) AS changed (id, status, kept_minor, settled_on)
         WHERE promise.id = changed.id",
    )
    .bind(ids)
    .bind(statuses)
    .bind(kept)
    .bind(settled_on)
    .execute(&mut *connection)
    .await?;

    let units: Vec<(i64, &InstallmentSettlement)> = settlements
        .iter()
        .flat_map(|settlement| settlement.installments.iter().map(|unit| (settlement.promise_id.0, unit)))
        .collect();
    if units.is_empty() {
        return Ok(());
    }
    sqlx::query(
        "UPDATE promise_installments AS installment
         SET status = changed.status, kept_minor = changed.kept_minor, settled_on = changed.settled_on
         FROM UNNEST($1::BIGINT[], $2::BIGINT[], $3::TEXT[], $4::BIGINT[], $5::DATE[])
              AS changed (promise_id, seq, status, kept_minor, settled_on)
         WHERE installment.promise_id = changed.promise_id AND installment.seq = changed.seq",
    )
    .bind(units.iter().map(|(promise_id, _)| *promise_id).collect::<Vec<i64>>())
    .bind(units.iter().map(|(_, unit)| unit.seq).collect::<Vec<i64>>())
    .bind(units.iter().map(|(_, unit)| unit.status.as_str()).collect::<Vec<&str>>())
    .bind(units.iter().map(|(_, unit)| unit.kept_minor).collect::<Vec<i64>>())
    .bind(units.iter().map(|(_, unit)| unit.settled_on).collect::<Vec<Option<NaiveDate>>>())
    .execute(&mut *connection)
    .await?;
    Ok(())
}
