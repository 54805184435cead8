//! [`HistoryStore`] on SQLite. Bulk writes go in multi-row `INSERT`s of a few hundred rows, each
//! file's rows in one `BEGIN IMMEDIATE` transaction.

use std::collections::{HashMap, HashSet};

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use sqlx::sqlite::SqliteRow;
use sqlx::{QueryBuilder, Row, Sqlite, SqliteConnection};

use super::decode::{self, date_text, time_text};
use super::{upsert_debt, upsert_debtor, SqliteStore};
use crate::collections::history::{
    settle, AttemptRef, DebtRef, DebtSnapshot, DoNotCallEntry, HistoryAttempt, HistoryPromise, HistoryStore,
    InstallmentSettlement, Payment, PromiseSettlement, PromiseStatus, SettleScope, SettledPromise, SettlementCounts,
    StoredPayment,
};
use crate::collections::import::PortfolioRow;
use crate::collections::model::{AttemptId, CallSid, DebtId, DebtorId, Installment, Promise, PromiseId};
use crate::collections::store::{ImportCounts, StoreError, StoredPromise};

/// Rows per multi-row statement: 500 rows of 13 columns stay well under SQLite's limit of 32766
/// bound parameters.
const BATCH_ROWS: usize = 500;

/// A value bound to a `$n` parameter of a query built at run time.
#[derive(Debug, Clone)]
enum Bind {
    Int(i64),
    Text(String),
}

fn bind_all<'q>(
    mut query: sqlx::query::Query<'q, Sqlite, sqlx::sqlite::SqliteArguments<'q>>,
    binds: &[Bind],
) -> sqlx::query::Query<'q, Sqlite, sqlx::sqlite::SqliteArguments<'q>> {
    for bind in binds {
        query = match bind {
            Bind::Int(value) => query.bind(*value),
            Bind::Text(value) => query.bind(value.clone()),
        };
    }
    query
}

/// Writes `column IN ($1, $2, ...)` for `count` parameters.
fn in_list(column: &str, count: usize) -> String {
    let parameters: Vec<String> = (1..=count).map(|n| format!("${n}")).collect();
    format!("{column} IN ({})", parameters.join(", "))
}

fn to_i64(column: &str, value: u64) -> Result<i64, StoreError> {
    i64::try_from(value).map_err(|_| StoreError::Corrupt(format!("{column} {value} is out of range")))
}

#[async_trait]
impl HistoryStore for SqliteStore {
    async fn import_portfolio_as_of(
        &self,
        rows: &[PortfolioRow],
        as_of: NaiveDate,
    ) -> Result<ImportCounts, StoreError> {
        let mut tx = self.begin_write().await?;
        let mut debtors = HashSet::new();
        let mut debts = HashSet::new();
        for row in rows {
            // Rows of one debtor carry the same details, so the first row writes them.
            if debtors.insert(&row.debtor.id) {
                upsert_debtor(&mut tx, &row.debtor).await?;
            }
            upsert_debt(&mut tx, &row.debtor.id, &row.debt).await?;
            debts.insert(&row.debt.account_ref);
            sqlx::query(
                "INSERT INTO debt_snapshots (debt_id, as_of, days_past_due, balance_minor)
                 SELECT id, $2, days_past_due, balance_minor FROM debts WHERE account_ref = $1
                 ON CONFLICT (debt_id, as_of) DO UPDATE SET
                     days_past_due = excluded.days_past_due, balance_minor = excluded.balance_minor",
            )
            .bind(&row.debt.account_ref)
            .bind(date_text(as_of))
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(ImportCounts { debtors: debtors.len(), debts: debts.len() })
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
        let mut found = Vec::new();
        for chunk in payment_refs.chunks(BATCH_ROWS) {
            let sql = format!(
                "SELECT payment.payment_ref, payment.debt_id, payment.paid_on, payment.amount_minor, payment.currency,
                        payment.channel, payment.imported_at, debt.account_ref
                 FROM payments AS payment JOIN debts AS debt ON debt.id = payment.debt_id
                 WHERE {}",
                in_list("payment.payment_ref", chunk.len())
            );
            let binds: Vec<Bind> = chunk.iter().cloned().map(Bind::Text).collect();
            for row in bind_all(sqlx::query(&sql), &binds).fetch_all(&self.pool).await? {
                let imported_at: String = row.try_get("imported_at")?;
                found.push(StoredPayment {
                    payment: payment(&row)?,
                    account_ref: row.try_get("account_ref")?,
                    imported_at: decode::time("imported_at", &imported_at)?,
                });
            }
        }
        found.sort_by(|a, b| a.payment.payment_ref.cmp(&b.payment.payment_ref));
        Ok(found)
    }

    async fn insert_payments(&self, payments: &[Payment], imported_at: DateTime<Utc>) -> Result<usize, StoreError> {
        let mut tx = self.begin_write().await?;
        let mut inserted = 0;
        for chunk in payments.chunks(BATCH_ROWS) {
            let mut insert = QueryBuilder::<Sqlite>::new(
                "INSERT INTO payments (payment_ref, debt_id, paid_on, amount_minor, currency, channel, imported_at) ",
            );
            insert.push_values(chunk, |mut values, payment| {
                values
                    .push_bind(payment.payment_ref.clone())
                    .push_bind(payment.debt_id.0)
                    .push_bind(date_text(payment.paid_on))
                    .push_bind(payment.amount.amount_minor)
                    .push_bind(payment.amount.currency.code())
                    .push_bind(payment.channel.clone())
                    .push_bind(time_text(imported_at));
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
        let mut tx = self.begin_write().await?;
        let mut added = 0;
        for chunk in entries.chunks(BATCH_ROWS) {
            let mut insert = QueryBuilder::<Sqlite>::new("INSERT INTO do_not_call (phone, reason, source, added_on) ");
            insert.push_values(chunk, |mut values, entry| {
                values
                    .push_bind(entry.phone.clone())
                    .push_bind(entry.reason.clone())
                    .push_bind(entry.source.clone())
                    .push_bind(date_text(entry.added_on));
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
                let added_on: String = row.try_get("added_on")?;
                Ok(DoNotCallEntry {
                    phone: row.try_get("phone")?,
                    reason: row.try_get("reason")?,
                    source: row.try_get("source")?,
                    added_on: decode::date("added_on", &added_on)?,
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

        let mut tx = self.begin_write().await?;
        for chunk in unique.chunks(BATCH_ROWS) {
            let mut insert = QueryBuilder::<Sqlite>::new(
                "INSERT INTO debt_snapshots (debt_id, as_of, days_past_due, balance_minor) ",
            );
            insert.push_values(chunk, |mut values, snapshot| {
                values
                    .push_bind(snapshot.debt_id.0)
                    .push_bind(date_text(snapshot.as_of))
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
        .bind(date_text(day))
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
        .bind(date_text(from))
        .bind(date_text(to))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(snapshot).collect()
    }

    async fn insert_history_attempts(&self, attempts: &[HistoryAttempt]) -> Result<usize, StoreError> {
        let mut tx = self.begin_write().await?;
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
            let mut insert = QueryBuilder::<Sqlite>::new(
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
                    .push_bind(time_text(attempt.started_at))
                    .push_bind(attempt.ended_at.map(time_text))
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
        let mut found = Vec::new();
        for chunk in call_sids.chunks(BATCH_ROWS) {
            let sql = format!("SELECT id, call_sid, debt_id FROM attempts WHERE {}", in_list("call_sid", chunk.len()));
            let binds: Vec<Bind> = chunk.iter().cloned().map(Bind::Text).collect();
            for row in bind_all(sqlx::query(&sql), &binds).fetch_all(&self.pool).await? {
                found.push(AttemptRef {
                    call_sid: CallSid(row.try_get("call_sid")?),
                    attempt_id: AttemptId(row.try_get("id")?),
                    debt_id: DebtId(row.try_get("debt_id")?),
                });
            }
        }
        Ok(found)
    }

    async fn insert_history_promises(&self, promises: &[HistoryPromise]) -> Result<usize, StoreError> {
        let mut tx = self.begin_write().await?;
        let attempt_ids: Vec<i64> =
            promises.iter().map(|promise| promise.attempt_id.0).collect::<HashSet<_>>().into_iter().collect();
        let mut seen: HashSet<(i64, i64, String, String, String)> = HashSet::new();
        for chunk in attempt_ids.chunks(BATCH_ROWS) {
            let sql = format!(
                "SELECT attempt_id, amount_minor, currency, due_date, created_at FROM promises WHERE {}",
                in_list("attempt_id", chunk.len())
            );
            let binds: Vec<Bind> = chunk.iter().copied().map(Bind::Int).collect();
            for row in bind_all(sqlx::query(&sql), &binds).fetch_all(&mut *tx).await? {
                seen.insert((
                    row.try_get("attempt_id")?,
                    row.try_get("amount_minor")?,
                    row.try_get("currency")?,
                    row.try_get("due_date")?,
                    row.try_get("created_at")?,
                ));
            }
        }
        let new: Vec<&HistoryPromise> = promises
            .iter()
            .filter(|promise| {
                seen.insert((
                    promise.attempt_id.0,
                    promise.amount.amount_minor,
                    promise.amount.currency.code().to_string(),
                    date_text(promise.due_date),
                    time_text(promise.created_at),
                ))
            })
            .collect();

        for chunk in new.chunks(BATCH_ROWS) {
            let mut insert = QueryBuilder::<Sqlite>::new(
                "INSERT INTO promises (attempt_id, debt_id, amount_minor, currency, due_date, status, created_at) ",
            );
            insert.push_values(chunk, |mut values, promise| {
                values
                    .push_bind(promise.attempt_id.0)
                    .push_bind(promise.debt_id.0)
                    .push_bind(promise.amount.amount_minor)
                    .push_bind(promise.amount.currency.code())
                    .push_bind(date_text(promise.due_date))
                    .push_bind(PromiseStatus::Open.as_str())
                    .push_bind(time_text(promise.created_at));
            });
            insert.build().execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(new.len())
    }

    async fn settle_promises(
        &self,
        scope: SettleScope<'_>,
        grace_days: u32,
        as_of: NaiveDate,
    ) -> Result<SettlementCounts, StoreError> {
        let mut tx = self.begin_write().await?;
        let mut current = Vec::new();
        let mut payments = Vec::new();
        match scope {
            SettleScope::AllDebts => {
                current = settled_promises_where(&mut tx, "TRUE", &[], "id").await?;
                payments = payments_where(&mut tx, "TRUE", &[]).await?;
            }
            SettleScope::Debts(debts) => {
                for chunk in debts.chunks(BATCH_ROWS) {
                    let condition = in_list("debt_id", chunk.len());
                    let binds: Vec<Bind> = chunk.iter().map(|debt| Bind::Int(debt.0)).collect();
                    current.extend(settled_promises_where(&mut tx, &condition, &binds, "id").await?);
                    payments.extend(payments_where(&mut tx, &condition, &binds).await?);
                }
                // `settle` returns promises in id order, and they are compared pairwise below.
                current.sort_by_key(|settled| settled.stored.id);
            }
        }

        let stored: Vec<StoredPromise> = current.iter().map(|settled| settled.stored.clone()).collect();
        let settled = settle(&stored, &payments, grace_days, as_of);
        let mut counts = SettlementCounts { promises: settled.len(), ..SettlementCounts::default() };
        for (before, after) in current.iter().zip(&settled) {
            if before.settlement == *after {
                continue;
            }
            write_settlement(&mut tx, after).await?;
            if before.settlement.status != after.status {
                *counts.changed.entry(after.status).or_default() += 1;
            }
        }
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
        let binds = [Bind::Text(status.as_str().to_string()), Bind::Text(date_text(from)), Bind::Text(date_text(to))];
        let mut connection = self.pool.acquire().await?;
        settled_promises_where(&mut connection, &condition, &binds, &format!("{date_column}, id")).await
    }

    async fn settled_promises_of_debt(&self, debt_id: DebtId) -> Result<Vec<SettledPromise>, StoreError> {
        let mut connection = self.pool.acquire().await?;
        settled_promises_where(&mut connection, "debt_id = $1", &[Bind::Int(debt_id.0)], "created_at, id").await
    }
}

fn payment(row: &SqliteRow) -> Result<Payment, StoreError> {
    let paid_on: String = row.try_get("paid_on")?;
    let currency: String = row.try_get("currency")?;
    Ok(Payment {
        payment_ref: row.try_get("payment_ref")?,
        debt_id: DebtId(row.try_get("debt_id")?),
        paid_on: decode::date("paid_on", &paid_on)?,
        amount: decode::money(row.try_get("amount_minor")?, &currency)?,
        channel: row.try_get("channel")?,
    })
}

fn snapshot(row: &SqliteRow) -> Result<DebtSnapshot, StoreError> {
    let as_of: String = row.try_get("as_of")?;
    let currency: String = row.try_get("currency")?;
    let days_past_due: i64 = row.try_get("days_past_due")?;
    Ok(DebtSnapshot {
        debt_id: DebtId(row.try_get("debt_id")?),
        as_of: decode::date("as_of", &as_of)?,
        days_past_due: u32::try_from(days_past_due).map_err(|_| {
            StoreError::Corrupt(format!("column days_past_due contains '{days_past_due}', which is invalid"))
        })?,
        balance: decode::money(row.try_get("balance_minor")?, &currency)?,
    })
}

fn status(text: &str) -> Result<PromiseStatus, StoreError> {
    text.parse().map_err(|_| StoreError::Corrupt(format!("column status contains '{text}', which is invalid")))
}

fn optional_date(column: &str, text: Option<String>) -> Result<Option<NaiveDate>, StoreError> {
    text.map(|text| decode::date(column, &text)).transpose()
}

async fn payments_where(
    connection: &mut SqliteConnection,
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
    connection: &mut SqliteConnection,
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
        let due_date: String = row.try_get("due_date")?;
        let status_text: String = row.try_get("status")?;
        installments.entry(row.try_get("promise_id")?).or_default().push((
            Installment {
                amount: decode::money(row.try_get("amount_minor")?, &currency)?,
                due_date: decode::date("due_date", &due_date)?,
            },
            InstallmentSettlement {
                seq: row.try_get("seq")?,
                status: status(&status_text)?,
                kept_minor: row.try_get("kept_minor")?,
                settled_on: optional_date("settled_on", row.try_get("settled_on")?)?,
            },
        ));
    }

    let mut promises = Vec::with_capacity(promise_rows.len());
    for row in &promise_rows {
        let id: i64 = row.try_get("id")?;
        let currency: String = row.try_get("currency")?;
        let due_date: String = row.try_get("due_date")?;
        let created_at: String = row.try_get("created_at")?;
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
                    due_date: decode::date("due_date", &due_date)?,
                    installments: plan,
                },
                created_at: decode::time("created_at", &created_at)?,
            },
            settlement: PromiseSettlement {
                promise_id: PromiseId(id),
                status: status(&status_text)?,
                kept_minor: row.try_get("kept_minor")?,
                settled_on: optional_date("settled_on", row.try_get("settled_on")?)?,
                installments: unit_settlements,
            },
        });
    }
    Ok(promises)
}

async fn write_settlement(connection: &mut SqliteConnection, settlement: &PromiseSettlement) -> Result<(), StoreError> {
    sqlx::query("UPDATE promises SET status = $2, kept_minor = $3, settled_on = $4 WHERE id = $1")
        .bind(settlement.promise_id.0)
        .bind(settlement.status.as_str())
        .bind(settlement.kept_minor)
        .bind(settlement.settled_on.map(date_text))
        .execute(&mut *connection)
        .await?;
    for installment in &settlement.installments {
        sqlx::query(
            "UPDATE promise_installments SET status = $3, kept_minor = $4, settled_on = $5
             WHERE promise_id = $1 AND seq = $2",
        )
        .bind(settlement.promise_id.0)
        .bind(installment.seq)
        .bind(installment.status.as_str())
        .bind(installment.kept_minor)
        .bind(installment.settled_on.map(date_text))
        .execute(&mut *connection)
        .await?;
    }
    Ok(())
}
