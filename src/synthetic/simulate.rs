//! The day-by-day walk of one debtor's history.

use chrono::{DateTime, Datelike, Duration, Months, NaiveDate, TimeZone, Timelike, Utc, Weekday};
use rand::rngs::StdRng;
use rand::Rng;

use super::{
    sigmoid, standard_normal, AttemptRecord, DoNotCallRecord, History, HistoryOptions, PaymentRecord, PromiseRecord,
    SnapshotRecord,
};
use crate::collections::import::PortfolioRow;
use crate::collections::model::{Disposition, Money};
use crate::scoring::segment::{Stage, StrategyBook};
use crate::scoring::{Features, Scorecard};

/// Days after a promise's due date during which the debtor is not dialled again, waiting for
/// the payment.
const PROMISE_WAIT_DAYS: i64 = 3;

/// A debtor, the debt and the hidden traits that drive the simulation.
pub(super) struct DebtorPlan {
    pub(super) row: PortfolioRow,
    /// The debtor's reliability in paying and keeping promises, drawn from the standard normal.
    reliability: f64,
    /// The probability that the debtor picks up a call at a preferred hour.
    reach: f64,
    /// Picks up more often from 17:00 than before 13:00.
    answers_evenings: bool,
    /// The number on file belongs to someone else.
    wrong_number: bool,
    /// Days past due when the history starts.
    start_days_past_due: u32,
    /// Whether the balance is still to be drawn around the country's median.
    invent_balance: bool,
    /// Months after the start of the history that the creditor placed the debt with the agency.
    placed_after_months: u32,
}

impl DebtorPlan {
    /// Plans a sample debtor, who keeps the balance and starts at its portfolio days past due.
    pub(super) fn from_sample(row: PortfolioRow, rng: &mut StdRng) -> DebtorPlan {
        let start_days_past_due = row.debt.days_past_due;
        DebtorPlan { start_days_past_due, invent_balance: false, placed_after_months: 0, ..DebtorPlan::traits(row, rng) }
    }

    /// Plans an invented debtor, placed in one of the history's months, at a days past due drawn
    /// from a typical book: most accounts early, a long tail past 180 days.
    pub(super) fn invented(row: PortfolioRow, months: u32, rng: &mut StdRng) -> DebtorPlan {
        let start_days_past_due = match rng.gen_range(0..100) {
            0..=34 => rng.gen_range(1..=30),
            35..=54 => rng.gen_range(31..=60),
            55..=69 => rng.gen_range(61..=90),
            70..=87 => rng.gen_range(91..=180),
            _ => rng.gen_range(181..=360),
        };
        // Placements arrive every month but the last, so each has a month of calls at least.
        let placed_after_months = rng.gen_range(0..months.saturating_sub(1).max(1));
        DebtorPlan { start_days_past_due, invent_balance: true, placed_after_months, ..DebtorPlan::traits(row, rng) }
    }

    fn traits(row: PortfolioRow, rng: &mut StdRng) -> DebtorPlan {
        DebtorPlan {
            row,
            reliability: standard_normal(rng),
            reach: rng.gen_range(0.25..0.85),
            answers_evenings: rng.gen_bool(0.5),
            wrong_number: rng.gen_bool(0.04),
            start_days_past_due: 0,
            invent_balance: false,
            placed_after_months: 0,
        }
    }
}

/// Returns the product's effect on paying: payroll loans are collected at source, microcredit borrowers
/// are the most stretched.
fn product_effect(product: &str) -> f64 {
    let product = product.to_lowercase();
    if product.contains("nómina") || product.contains("libranza") {
        0.4
    } else if product.contains("micro") {
        -0.3
    } else if product.contains("auto") || product.contains("vehicular") {
        0.2
    } else {
        0.0
    }
}

/// The debt's state while the walk goes on.
struct Walk<'a> {
    plan: &'a DebtorPlan,
    /// The country's median balance, in minor units.
    median: i64,
    days_past_due: u32,
    balance: i64,
    /// The amount that cures one month of delinquency.
    monthly_due: i64,
    /// Days since the debt was last brought current, while it is current.
    current_for: u32,
    /// Planned payments of promises (date, amount).
    planned: Vec<(NaiveDate, i64)>,
    no_dial_before: NaiveDate,
    next_dial: NaiveDate,
    /// No more calls: opt-out, dispute, do-not-call or wrong number found out.
    stopped: bool,
    promises_kept: u32,
    promises_broken: u32,
    attempts: u32,
    payments: u32,
}

impl Walk<'_> {
    fn currency(&self) -> crate::collections::model::Currency {
        self.plan.row.debt.balance.currency
    }

    fn money(&self, amount_minor: i64) -> Money {
        Money::new(amount_minor, self.currency())
    }

    /// Returns the monthly log-odds of paying: the hidden reliability and reachability (debtors
    /// who pick up are the engaged ones), then what a model can see directly.
    fn log_odds(&self) -> f64 {
        let relative_balance = (self.balance.max(1) as f64 / self.median as f64).ln();
        -1.8 + 1.0 * self.plan.reliability + 2.0 * (self.plan.reach - 0.55) - 0.005 * f64::from(self.days_past_due)
            - 0.35 * relative_balance
            + product_effect(&self.plan.row.debt.product)
    }

    /// Applies a payment: lowers the balance and cures a month of delinquency per monthly
    /// amount paid.
    fn pay(&mut self, day: NaiveDate, amount: i64, channel: &'static str, history: &mut History) -> i64 {
        let amount = amount.min(self.balance);
        if amount <= 0 {
            return 0;
        }
        self.balance -= amount;
        self.payments += 1;
        let months = (amount / self.monthly_due.max(1)).max(i64::from(amount * 2 >= self.monthly_due)) as u32;
        self.days_past_due = self.days_past_due.saturating_sub(30 * months);
        if self.balance == 0 {
            self.days_past_due = 0;
        }
        if self.days_past_due == 0 {
            self.current_for = 0;
        }
        let number = history.payments.len() + 1;
        history.payments.push(PaymentRecord {
            payment_ref: format!("PAY-{}-{number:06}", self.plan.row.debt.account_ref),
            account_ref: self.plan.row.debt.account_ref.clone(),
            paid_on: day,
            amount: self.money(amount),
            channel,
        });
        amount
    }

    fn segment(&self, book: &StrategyBook) -> String {
        // The segment the dialer saw at the time, from the default model: the history was
        // placed before any model was trained on it.
        let features = Features {
            days_past_due: self.days_past_due,
            balance: 0.0,
            product: String::new(),
            promises_kept: self.promises_kept,
            promises_broken: self.promises_broken,
            payments: self.payments,
            right_party_contacts: 0,
            attempts: 0,
            contact_hour: None,
            days_since_contact: None,
            days_since_payment: None,
        };
        let probability = Scorecard::default_model().probability(&features);
        book.segment(probability, self.days_past_due, self.money(self.balance)).to_string()
    }
}

/// Days between dials for a stage: tight mid-delinquency, sparse in recovery. Chile allows one
/// call a week.
fn dial_gap(stage: Stage, country: &str, rng: &mut StdRng) -> i64 {
    let gap = match stage {
        Stage::Early => rng.gen_range(5..=9),
        Stage::Mid => rng.gen_range(3..=6),
        Stage::Late => rng.gen_range(4..=8),
        Stage::Recovery => rng.gen_range(7..=14),
    };
    if country == "CL" {
        gap.max(7)
    } else {
        gap
    }
}

fn campaign_of(stage: Stage) -> &'static str {
    match stage {
        Stage::Early => "recordatorio-temprano",
        Stage::Mid => "mora-media",
        Stage::Late => "mora-tardia",
        Stage::Recovery => "recuperacion",
    }
}

/// Walks one debtor through the history and appends what happened.
pub(super) fn simulate_debtor(
    mut plan: DebtorPlan,
    median: i64,
    options: &HistoryOptions,
    book: &StrategyBook,
    rng: &mut StdRng,
    history: &mut History,
) {
    let currency = plan.row.debt.balance.currency;
    if plan.invent_balance {
        // Whole major units, log-normal around the country's median.
        let major = (median as f64 / currency.minor_per_major() as f64) * (0.75 * standard_normal(rng)).exp();
        let amount = (major.round() as i64).max(1) * currency.minor_per_major();
        plan.row.debt.balance = Money::new(amount, currency);
    }
    plan.row.debt.days_past_due = plan.start_days_past_due;
    let start_balance = plan.row.debt.balance.amount_minor;
    let placed_on = options.start + Months::new(plan.placed_after_months);

    let mut walk = Walk {
        plan: &plan,
        median,
        days_past_due: plan.start_days_past_due,
        balance: start_balance,
        monthly_due: ((start_balance as f64) * 0.08).round().max(1.0) as i64,
        current_for: 0,
        planned: Vec::new(),
        no_dial_before: placed_on,
        next_dial: placed_on + Duration::days(rng.gen_range(0..7)),
        stopped: false,
        promises_kept: 0,
        promises_broken: 0,
        attempts: 0,
        payments: 0,
    };

    let end = options.end();
    let mut day = placed_on;
    while day < end {
        if day.day() == 1 {
            snapshot(&walk, day, history);
        }
        step_day(&mut walk, day, book, rng, history);
        day += Duration::days(1);
    }
    snapshot(&walk, end, history);

    // The portfolio lists the debt as it was placed; the snapshots carry it from there.
    history.portfolio.push(plan.row.clone());
}

fn snapshot(walk: &Walk, day: NaiveDate, history: &mut History) {
    history.snapshots.push(SnapshotRecord {
        account_ref: walk.plan.row.debt.account_ref.clone(),
        as_of: day,
        days_past_due: walk.days_past_due,
        balance: walk.money(walk.balance),
    });
}

fn step_day(walk: &mut Walk, day: NaiveDate, book: &StrategyBook, rng: &mut StdRng, history: &mut History) {
    // Payments planned with a promise.
    let due: Vec<i64> = walk.planned.iter().filter(|(date, _)| *date == day).map(|(_, amount)| *amount).collect();
    walk.planned.retain(|(date, _)| *date != day);
    for amount in due {
        walk.pay(day, amount, "transferencia", history);
    }

    // Unprompted payments: the monthly chance spread over the days.
    if walk.balance > 0 {
        let monthly = sigmoid(walk.log_odds());
        let daily = 1.0 - (1.0 - monthly).powf(1.0 / 30.0);
        if rng.gen_bool(daily.clamp(0.0, 1.0)) {
            let amount = if rng.gen_bool(0.05) {
                walk.balance
            } else {
                (walk.monthly_due as f64 * rng.gen_range(1.0..2.0)).round() as i64
            };
            walk.pay(day, amount, ["deposito", "transferencia", "tarjeta"][rng.gen_range(0..3)], history);
        }
    }

    if walk.balance > 0 && !walk.stopped && day >= walk.next_dial && day >= walk.no_dial_before {
        if day.weekday() == Weekday::Sun {
            walk.next_dial = day + Duration::days(1);
        } else {
            dial(walk, day, book, rng, history);
            let gap = dial_gap(Stage::of(walk.days_past_due), &walk.plan.row.debtor.country, rng);
            walk.next_dial = day + Duration::days(gap);
        }
    }

    // Delinquency grows a day; a current debt falls behind again after a month unpaid.
    if walk.balance > 0 {
        if walk.days_past_due > 0 {
            walk.days_past_due += 1;
        } else {
            walk.current_for += 1;
            if walk.current_for > 30 {
                walk.days_past_due = 1;
            }
        }
    }
}

fn local_start(walk: &Walk, day: NaiveDate, rng: &mut StdRng) -> DateTime<Utc> {
    let tz = walk.plan.row.debtor.time_zone;
    let hour = rng.gen_range(8..20);
    let minute = rng.gen_range(0..60);
    let second = rng.gen_range(0..60);
    let local = day.and_hms_opt(hour, minute, second).expect("valid time");
    // A time skipped by a daylight-saving change moves an hour later.
    let zoned = tz
        .from_local_datetime(&local)
        .earliest()
        .or_else(|| tz.from_local_datetime(&(local + Duration::hours(1))).earliest())
        .expect("an hour after a skipped time exists");
    zoned.with_timezone(&Utc)
}

fn dial(walk: &mut Walk, day: NaiveDate, book: &StrategyBook, rng: &mut StdRng, history: &mut History) {
    walk.attempts += 1;
    let started_at = local_start(walk, day, rng);
    let local_hour = started_at.with_timezone(&walk.plan.row.debtor.time_zone).hour();
    let good_hour = if walk.plan.answers_evenings { local_hour >= 17 } else { local_hour < 13 };
    let answer_chance = (walk.plan.reach * if good_hour { 1.3 } else { 0.6 }).min(0.95);

    let mut record = AttemptRecord {
        attempt_ref: format!("ATT-{}-{:04}", walk.plan.row.debt.account_ref, walk.attempts),
        account_ref: walk.plan.row.debt.account_ref.clone(),
        phone: walk.plan.row.debtor.phone.clone(),
        started_at,
        ended_at: started_at + Duration::seconds(30),
        answered: false,
        right_party_contact: false,
        disposition: Disposition::NoResponse,
        campaign: campaign_of(Stage::of(walk.days_past_due)).to_string(),
        segment: walk.segment(book),
        cost_micros: 0,
    };

    if rng.gen_bool(answer_chance) {
        record.answered = true;
        let seconds = talk(walk, day, &mut record, started_at, rng, history);
        record.ended_at = started_at + Duration::seconds(seconds);
        // The carrier bills started minutes at $0.014; local speech adds about $0.004 a minute.
        let minutes = (seconds as u64).div_ceil(60);
        record.cost_micros = minutes * 14_000 + seconds as u64 * 70;
    }
    history.attempts.push(record);
}

/// Plays a call that was picked up: who picked up and how it ended. Returns the call's length in
/// seconds.
fn talk(
    walk: &mut Walk,
    day: NaiveDate,
    record: &mut AttemptRecord,
    started_at: DateTime<Utc>,
    rng: &mut StdRng,
    history: &mut History,
) -> i64 {
    if rng.gen_bool(0.22) {
        record.disposition = Disposition::VoicemailLeft;
        return rng.gen_range(20..35);
    }
    if walk.plan.wrong_number {
        record.disposition = Disposition::WrongNumber;
        // Collectors stop dialling a number once whoever picks up denies it is the debtor's.
        walk.stopped = rng.gen_bool(0.5);
        return rng.gen_range(25..50);
    }
    if rng.gen_bool(0.07) {
        record.disposition = Disposition::ThirdParty;
        return rng.gen_range(30..60);
    }
    if rng.gen_bool(0.06) {
        record.disposition = Disposition::VerificationFailed;
        return rng.gen_range(40..90);
    }

    record.right_party_contact = true;
    let promise_chance = sigmoid(walk.log_odds() + 1.2);
    if rng.gen_bool(promise_chance) {
        record.disposition = Disposition::PromiseToPay;
        promise(walk, day, record, started_at, rng, history);
        return rng.gen_range(120..300);
    }
    let (disposition, seconds) = match rng.gen_range(0..100) {
        0..=29 => (Disposition::RefusedToPay, rng.gen_range(90..200)),
        30..=49 => (Disposition::CallbackRequested, rng.gen_range(60..120)),
        50..=69 => (Disposition::RightPartyNoCommitment, rng.gen_range(90..240)),
        70..=74 => (Disposition::AlreadyPaid, rng.gen_range(80..150)),
        75..=77 => (Disposition::Disputed, rng.gen_range(90..180)),
        78..=84 => (Disposition::Hardship, rng.gen_range(120..260)),
        85..=96 => (Disposition::HungUp, rng.gen_range(20..90)),
        _ => (Disposition::StopContact, rng.gen_range(40..90)),
    };
    record.disposition = disposition;
    match disposition {
        Disposition::Disputed => walk.stopped = true,
        Disposition::StopContact => {
            walk.stopped = true;
            history.do_not_call.push(DoNotCallRecord {
                phone: walk.plan.row.debtor.phone.clone(),
                reason: "solicitud del deudor",
                added_on: day,
            });
        }
        Disposition::CallbackRequested => {
            walk.next_dial = walk.next_dial.min(day + Duration::days(rng.gen_range(1..=3)));
        }
        _ => {}
    }
    seconds
}

/// Stores a promise and plans how it will be kept: in full on time, in full within the grace
/// days, partly, or not at all, by the debtor's reliability.
fn promise(
    walk: &mut Walk,
    day: NaiveDate,
    record: &AttemptRecord,
    started_at: DateTime<Utc>,
    rng: &mut StdRng,
    history: &mut History,
) {
    let amount = if walk.balance <= walk.median / 4 || rng.gen_bool(0.15) {
        walk.balance
    } else {
        let fraction = rng.gen_range(0.15..0.5);
        ((walk.balance as f64 * fraction).round() as i64).clamp(1, walk.balance)
    };
    let due_date = day + Duration::days(rng.gen_range(3..=14));
    history.promises.push(PromiseRecord {
        attempt_ref: record.attempt_ref.clone(),
        amount: walk.money(amount),
        due_date,
        created_at: started_at + Duration::seconds(90),
    });

    let keep_chance = sigmoid(0.3 + 1.4 * walk.plan.reliability - 0.004 * f64::from(walk.days_past_due));
    if rng.gen_bool(keep_chance) {
        let paid_on = if rng.gen_bool(0.85) {
            day + Duration::days(rng.gen_range(1..=(due_date - day).num_days()))
        } else {
            due_date + Duration::days(rng.gen_range(1..=3))
        };
        walk.planned.push((paid_on, amount));
        walk.promises_kept += 1;
    } else {
        if rng.gen_bool(0.35) {
            let part = ((amount as f64) * rng.gen_range(0.3..0.7)).round() as i64;
            walk.planned.push((day + Duration::days(rng.gen_range(1..=(due_date - day).num_days())), part.max(1)));
        }
        walk.promises_broken += 1;
    }
    walk.no_dial_before = due_date + Duration::days(PROMISE_WAIT_DAYS + 1);
}
