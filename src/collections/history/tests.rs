//! Line and file errors of the history CSV files, each with its exact message.

use chrono::{NaiveDate, TimeZone, Utc};

use super::lookup::Accounts;
use super::past_calls::{parse_attempts, parse_promises, PromiseTargets};
use super::{do_not_call, payments, snapshots, DebtRef, TableError};
use crate::collections::model::{AttemptId, CallSid, Currency, DebtId, DebtorId, Disposition, Money};
use crate::collections::store::Direction;

fn day(text: &str) -> NaiveDate {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
}

/// Two stored debts: BA-1 in MXN and BC-2 in COP.
fn accounts() -> Accounts {
    let debt = |id: i64, account_ref: &str, currency| DebtRef {
        debt_id: DebtId(id),
        account_ref: account_ref.to_string(),
        debtor_id: DebtorId(format!("D-{id}")),
        currency,
    };
    Accounts::from_store(vec![debt(1, "BA-1", Currency::Mxn), debt(2, "BC-2", Currency::Cop)])
}

fn messages(errors: &[crate::collections::import::RowError]) -> Vec<String> {
    errors.iter().map(ToString::to_string).collect()
}

const TODAY: &str = "2026-03-20";

#[test]
fn payments_any_column_order() {
    let file = "Channel,AMOUNT,currency,paid_on,account_ref,payment_ref,notes\n\
                OXXO,4500.00,MXN,2026-03-05,BA-1,P-1,primer pago\n\
                ,125000.5,cop,2026-03-06,BC-2,P-2,\n";
    let parsed = payments::parse("payments.csv", file.as_bytes(), &accounts(), day(TODAY)).unwrap();
    assert_eq!(messages(&parsed.rejected), Vec::<String>::new());
    assert_eq!(parsed.ignored_columns, vec!["notes".to_string()]);
    let rows: Vec<(u64, &str, &str, NaiveDate, Money, &str)> = parsed
        .rows
        .iter()
        .map(|row| {
            (
                row.line,
                row.payment_ref.as_str(),
                row.account_ref.as_str(),
                row.paid_on,
                row.amount,
                row.channel.as_str(),
            )
        })
        .collect();
    assert_eq!(
        rows,
        vec![
            (2, "P-1", "BA-1", day("2026-03-05"), Money::new(450_000, Currency::Mxn), "OXXO"),
            (3, "P-2", "BC-2", day("2026-03-06"), Money::new(12_500_050, Currency::Cop), ""),
        ]
    );
}

#[test]
fn payment_line_errors_exact() {
    let file = "payment_ref,account_ref,paid_on,amount,currency,channel\n\
                P-1,XX-9,2026-03-05,10.00,MXN,OXXO\n\
                P-2,BA-1,2026-03-05,10.00,USD,OXXO\n\
                P-3,BA-1,2026-03-05,0,MXN,OXXO\n\
                P-4,BA-1,2026-03-05,-5.00,MXN,OXXO\n\
                P-5,BA-1,05/03/2026,10.00,MXN,OXXO\n\
                P-6,BA-1,2026-03-21,10.00,MXN,OXXO\n\
                P-1,BA-1,2026-03-05,10.00,MXN,OXXO\n\
                P-8,BA-1,2026-03-05,10.005,MXN,OXXO,extra\n";
    let parsed = payments::parse("payments.csv", file.as_bytes(), &accounts(), day(TODAY)).unwrap();
    assert_eq!(parsed.rows.len(), 0);
    assert_eq!(
        messages(&parsed.rejected),
        vec![
            "payments.csv line 2, column account_ref: account_ref 'XX-9' is not a debt in the store or the \
             portfolio: import the portfolio first, or correct the reference",
            "payments.csv line 3, column currency: currency 'USD' differs from MXN, the currency of account_ref \
             'BA-1': write amounts in the debt's currency",
            "payments.csv line 4, column amount: amount '0' is not greater than zero: write the amount, like 12500.50",
            "payments.csv line 5, column amount: amount '-5.00' is not greater than zero: write the amount, like \
             12500.50",
            "payments.csv line 6, column paid_on: paid_on '05/03/2026' is not a date written YYYY-MM-DD: write it \
             like 2026-03-02",
            "payments.csv line 7, column paid_on: paid_on '2026-03-21' is in the future (today is 2026-03-20): \
             check the date",
            "payments.csv line 8, column payment_ref: payment_ref 'P-1' already appears on line 2: give each \
             payment its own payment_ref",
            "payments.csv line 9: the line has 7 cells but the header has 6: check for a missing or extra comma, \
             and put cells that contain commas in double quotes",
        ]
    );
}

#[test]
fn payment_decimals_follow_currency() {
    let file = "payment_ref,account_ref,paid_on,amount,currency,channel\n\
                P-1,BA-1,2026-03-05,10.005,MXN,OXXO\n\
                P-2,BA-1,2026-03-05,\"1,000.00\",MXN,OXXO\n";
    let parsed = payments::parse("payments.csv", file.as_bytes(), &accounts(), day(TODAY)).unwrap();
    assert_eq!(
        messages(&parsed.rejected),
        vec![
            "payments.csv line 2, column amount: amount '10.005' has more than 2 decimals, the most MXN allows: \
             round it, like 12500.50",
            "payments.csv line 3, column amount: amount '1,000.00' is not a number: use digits and a dot, like \
             12500.50",
        ]
    );
}

#[test]
fn payments_missing_column_named() {
    let error = payments::parse(
        "payments.csv",
        b"payment_ref,account_ref,amount,currency\nP-1,BA-1,1,MXN\n",
        &accounts(),
        day(TODAY),
    )
    .err()
    .unwrap();
    assert_eq!(
        error.to_string(),
        "payments.csv is missing the columns paid_on, channel in its header line: add them (in any order)"
    );
}

#[test]
fn payments_header_only_rejected() {
    let error = payments::parse(
        "payments.csv",
        b"payment_ref,account_ref,paid_on,amount,currency,channel\n",
        &accounts(),
        day(TODAY),
    )
    .err()
    .unwrap();
    assert!(matches!(error, TableError::NoRows { .. }));
    assert_eq!(error.to_string(), "payments.csv has a header line but no rows: add one line per payment");
}

#[test]
fn do_not_call_rows_checked() {
    let file = "phone,reason,added_on\n\
                +525550100001,solicitud del deudor,2026-02-01\n\
                +52 55 5010 0002,,2026-02-02\n\
                +525550100003,,2026-02-30\n\
                +525550100001,abogado,2026-01-15\n\
                +525550100004,,2026-02-03\n";
    let parsed = do_not_call::parse("do_not_call.csv", file.as_bytes()).unwrap();
    assert_eq!(
        messages(&parsed.rejected),
        vec![
            "do_not_call.csv line 3, column phone: phone '+52 55 5010 0002' is not E.164: remove spaces, dashes \
             and brackets, like +525550100002",
            "do_not_call.csv line 4, column added_on: added_on '2026-02-30' is not a date written YYYY-MM-DD: \
             write it like 2026-03-02",
        ]
    );
    let entries: Vec<(&str, &str, NaiveDate)> =
        parsed.entries.iter().map(|entry| (entry.phone.as_str(), entry.reason.as_str(), entry.added_on)).collect();
    assert_eq!(
        entries,
        vec![("+525550100001", "abogado", day("2026-01-15")), ("+525550100004", "", day("2026-02-03"))]
    );
    assert_eq!(parsed.entries[0].source, "do_not_call.csv");
}

#[test]
fn snapshot_rows_checked() {
    let file = "account_ref,as_of,days_past_due,balance\n\
                BA-1,2026-02-28,30,4500.00\n\
                BA-1,2026-03-31,0,0\n\
                BA-1,2026-03-31,0,0\n\
                BC-2,2026-03-31,-3,-1\n";
    let parsed = snapshots::parse("snapshots.csv", file.as_bytes(), &accounts()).unwrap();
    assert_eq!(parsed.rows.len(), 2);
    assert_eq!(parsed.rows[1].balance, Money::new(0, Currency::Mxn));
    assert_eq!(
        messages(&parsed.rejected),
        vec![
            "snapshots.csv line 4, column as_of: account_ref 'BA-1' already has a snapshot dated 2026-03-31 on \
             line 3: keep one line per debt and date",
            "snapshots.csv line 5, column days_past_due: days_past_due '-3' is not a whole number of days, 0 or \
             more: write it like 45",
            "snapshots.csv line 5, column balance: balance '-1' is negative: write the amount, like 12500.50",
        ]
    );
}

const ATTEMPT_HEADER: &str = "attempt_ref,account_ref,phone,direction,started_at,ended_at,answered,\
                              right_party_contact,disposition,campaign,segment,cost_micros\n";

#[test]
fn attempt_rows_parse() {
    let file = format!(
        "{ATTEMPT_HEADER}\
         A-1,BA-1,+525550100001,outbound,2026-03-02T16:00:00Z,2026-03-02T16:03:00Z,true,true,promise_to_pay,temprana,alto,82597\n\
         A-2,BC-2,+576045550101,Inbound,2026-03-02T11:00:00-05:00,,no,no,,,,\n"
    );
    let parsed = parse_attempts("attempts.csv", file.as_bytes(), &accounts()).unwrap();
    assert_eq!(messages(&parsed.rejected), Vec::<String>::new());
    let attempts: Vec<_> = parsed.rows.iter().map(|row| row.to_attempt(&accounts()).unwrap()).collect();
    assert_eq!(attempts[0].call_sid, CallSid("A-1".to_string()));
    assert_eq!(attempts[0].debt_id, DebtId(1));
    assert_eq!(attempts[0].disposition, Some(Disposition::PromiseToPay));
    assert_eq!(attempts[0].ended_at, Some(Utc.with_ymd_and_hms(2026, 3, 2, 16, 3, 0).unwrap()));
    assert_eq!(attempts[0].campaign.as_deref(), Some("temprana"));
    assert_eq!(attempts[0].segment.as_deref(), Some("alto"));
    assert_eq!(attempts[0].cost_micros, 82_597);
    assert_eq!(attempts[1].direction, Direction::Inbound);
    assert_eq!(attempts[1].started_at, Utc.with_ymd_and_hms(2026, 3, 2, 16, 0, 0).unwrap());
    assert_eq!(attempts[1].ended_at, None);
    assert_eq!(attempts[1].disposition, None);
    assert_eq!(attempts[1].campaign, None);
    assert_eq!(attempts[1].cost_micros, 0);
}

#[test]
fn attempt_line_errors_exact() {
    let file = format!(
        "{ATTEMPT_HEADER}\
         A-1,BA-1,+525550100001,sideways,2026-03-02 16:00,,true,false,,,,\n\
         A-2,BA-1,+525550100001,outbound,2026-03-02T16:00:00Z,2026-03-02T15:59:00Z,false,true,voicemail,,,-4\n\
         A-1,BA-1,+525550100001,outbound,2026-03-02T16:00:00Z,,false,false,,,,\n"
    );
    let parsed = parse_attempts("attempts.csv", file.as_bytes(), &accounts()).unwrap();
    assert_eq!(parsed.rows.len(), 0);
    assert_eq!(
        messages(&parsed.rejected),
        vec![
            "attempts.csv line 2, column direction: direction 'sideways' is not outbound or inbound: write one of them",
            "attempts.csv line 2, column started_at: started_at '2026-03-02 16:00' is not an RFC 3339 time: write it \
             like 2026-03-02T16:04:05Z",
            "attempts.csv line 3, column ended_at: ended_at is before started_at: check both times",
            "attempts.csv line 3, column right_party_contact: right_party_contact is true but answered is false: a \
             right-party contact needs an answered call",
            "attempts.csv line 3, column disposition: disposition 'voicemail' is not a disposition: use a name like \
             promise_to_pay or hung_up, or leave it empty",
            "attempts.csv line 3, column cost_micros: cost_micros '-4' is not a whole number, 0 or more: write it \
             like 2500",
            "attempts.csv line 4, column attempt_ref: attempt_ref 'A-1' already appears on line 2: give each \
             attempt its own attempt_ref",
        ]
    );
}

#[test]
fn promise_line_errors_exact() {
    let attempts =
        format!("{ATTEMPT_HEADER}A-1,BA-1,+525550100001,outbound,2026-03-02T16:00:00Z,,true,true,promise_to_pay,,,\n");
    let attempts = parse_attempts("attempts.csv", attempts.as_bytes(), &accounts()).unwrap();
    let stored =
        [super::AttemptRef { call_sid: CallSid("OLD-7".to_string()), attempt_id: AttemptId(7), debt_id: DebtId(2) }];
    let targets = PromiseTargets::new(&attempts.rows, &stored, &accounts());
    let file = "attempt_ref,amount,currency,due_date,created_at\n\
                A-1,1500.00,MXN,2026-03-09,2026-03-02T16:02:00Z\n\
                OLD-7,90000,COP,2026-03-09,2026-03-02T16:02:00Z\n\
                A-9,1500.00,MXN,2026-03-09,2026-03-02T16:02:00Z\n\
                A-1,1500.00,COP,2026-03-01,2026-03-02T16:02:00Z\n";
    let parsed = parse_promises("promises.csv", file.as_bytes(), &targets).unwrap();
    assert_eq!(parsed.rows.len(), 2);
    assert_eq!(parsed.rows[1].amount, Money::new(9_000_000, Currency::Cop));
    assert_eq!(
        messages(&parsed.rejected),
        vec![
            "promises.csv line 4, column attempt_ref: attempt_ref 'A-9' is not a valid attempt in attempts.csv or \
             the store: add the attempt, or correct the reference",
            "promises.csv line 5, column currency: currency 'COP' differs from MXN, the currency of account_ref \
             'BA-1': write amounts in the debt's currency",
            "promises.csv line 5, column due_date: due_date '2026-03-01' is before the promise was made \
             (2026-03-02 16:02:00 UTC): check both dates",
        ]
    );
}
