//! The live board with 1,000 calls at once: simulated calls publish what real calls publish
//! (start, a turn every two seconds with interim text, lines, state and timings, the end after 8 to 30 s,
//! and a new call in its place) on the server's event bus, and a Chromium page on the board
//! counts what reaches it. The figures are printed and saved to
//! `artifacts/console/board-load.json`.

mod support;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use rand::{Rng, SeedableRng};
use serde_json::json;
use tokio::sync::broadcast;
use tokio::time::Instant;

use cobranza::call::{CallEvent, CallSummary, TurnTimings};
use cobranza::clock::Clock;
use cobranza::collections::model::{AttemptId, Disposition, Speaker, TranscriptLine};
use cobranza::collections::sqlite::SqliteStore;
use cobranza::collections::Direction;
use cobranza::config::Config;
use cobranza::console::store::{ConsoleStore, NewUser, Role};
use cobranza::demo::EmbeddedServer;
use support::webdriver::Browser;

const LIVE_CALLS: usize = 1_000;
const RUN: Duration = Duration::from_secs(20);
const TURN_EVERY: Duration = Duration::from_secs(2);
const STATES: [&str; 5] = ["confirming_identity", "verifying", "offering", "asking_date", "reading_back"];
const WAIT: Duration = Duration::from_secs(60);

struct SimulatedCall {
    attempt_id: AttemptId,
    next_turn: Instant,
    ends: Instant,
    turns: usize,
}

/// What the simulation published.
#[derive(Default)]
struct Published {
    events: u64,
    /// Events that change a row of the board (start, state, timings, end).
    row_changes: u64,
    calls: u64,
}

fn started(attempt_id: AttemptId, rng: &mut impl Rng) -> CallEvent {
    let countries = ["MX", "CO", "PE", "CL", "AR", "US"];
    CallEvent::Started {
        attempt_id,
        call_sid: format!("CA{:032x}", attempt_id.0),
        summary: CallSummary {
            debtor: "M. P.".to_string(),
            phone: format!("•••{:04}", rng.gen_range(0..10_000)),
            country: countries[rng.gen_range(0..countries.len())].to_string(),
            campaign: Some("recordatorio".to_string()),
            direction: Direction::Outbound,
            started_at: Utc::now(),
        },
    }
}

fn new_call(id: i64, now: Instant, rng: &mut impl Rng) -> SimulatedCall {
    SimulatedCall {
        attempt_id: AttemptId(id),
        next_turn: now + Duration::from_millis(rng.gen_range(200..2_000)),
        ends: now + Duration::from_millis(rng.gen_range(8_000..30_000)),
        turns: 0,
    }
}

/// Runs `LIVE_CALLS` calls for `RUN`, replacing each that ends.
async fn simulate(bus: broadcast::Sender<CallEvent>) -> Published {
    let mut rng = rand::rngs::StdRng::seed_from_u64(8);
    let mut published = Published::default();
    let send = |event: CallEvent, row: bool, published: &mut Published| {
        let _ = bus.send(event);
        published.events += 1;
        published.row_changes += u64::from(row);
    };
    let start = Instant::now();
    let mut next_id = 1_000_000;
    let mut calls = Vec::with_capacity(LIVE_CALLS);
    for _ in 0..LIVE_CALLS {
        next_id += 1;
        let call = new_call(next_id, start, &mut rng);
        send(started(call.attempt_id, &mut rng), true, &mut published);
        published.calls += 1;
        calls.push(call);
    }
    let mut tick = tokio::time::interval(Duration::from_millis(50));
    while start.elapsed() < RUN {
        tick.tick().await;
        let now = Instant::now();
        for call in calls.iter_mut() {
            let attempt_id = call.attempt_id;
            if call.ends <= now {
                send(CallEvent::Ended { attempt_id, disposition: Disposition::PromiseToPay }, true, &mut published);
                next_id += 1;
                *call = new_call(next_id, now, &mut rng);
                send(started(call.attempt_id, &mut rng), true, &mut published);
                published.calls += 1;
                continue;
            }
            if call.next_turn > now {
                continue;
            }
            call.turns += 1;
            call.next_turn = now + TURN_EVERY;
            let line = |speaker, text: &str| TranscriptLine { speaker, text: text.to_string(), at: Utc::now() };
            send(CallEvent::Interim { attempt_id, text: "sí, puedo pagar".into() }, false, &mut published);
            send(
                CallEvent::Transcript { attempt_id, line: line(Speaker::Debtor, "sí, puedo pagar el viernes") },
                false,
                &mut published,
            );
            let state = STATES[call.turns % STATES.len()].to_string();
            send(CallEvent::StateChanged { attempt_id, state }, true, &mut published);
            let timings = TurnTimings {
                final_transcript_ms: Some(300),
                decision_ms: Some(305),
                first_audio_ms: Some(600 + (call.turns as u64 % 7) * 10),
                first_frame_ms: Some(620 + (call.turns as u64 % 7) * 10),
                first_mark_ms: None,
            };
            send(CallEvent::TurnTimings { attempt_id, timings }, true, &mut published);
            send(
                CallEvent::Transcript { attempt_id, line: line(Speaker::Bot, "Gracias, queda registrado.") },
                false,
                &mut published,
            );
        }
    }
    published
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_board_keeps_up_with_a_thousand_live_calls() -> anyhow::Result<()> {
    let data_dir = tempfile::tempdir()?;
    let store = Arc::new(SqliteStore::open(&data_dir.path().join("cobranza.db")).await?);
    let password = "contraseña-de-prueba-1";
    let password_hash = cobranza::console::hash_password(password).map_err(anyhow::Error::msg)?;
    store
        .create_user(&NewUser { username: "ana".into(), role: Role::Supervisor, password_hash, created_at: Utc::now() })
        .await?;
    let config = Arc::new(Config::embedded());
    let providers = cobranza::demo::embedded_providers(Arc::new(support::Deaf), &config);
    let server = EmbeddedServer::start_with_console(
        store.clone(),
        store.clone(),
        "node-a",
        providers,
        config,
        Clock::system(),
        data_dir.path().to_path_buf(),
    )
    .await?;
    let board = server.console.as_ref().expect("console").board.clone();

    let artifacts = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("artifacts/console");
    std::fs::create_dir_all(&artifacts)?;
    let browser = Browser::start(&artifacts).await?;
    browser.goto(&format!("{}/console", server.base_url)).await?;
    browser.wait_for("#login-username", WAIT).await?.send_keys("ana").await?;
    browser.find("#login-password").await?.send_keys(password).await?;
    browser.find("#login-submit").await?.click().await?;
    browser.wait_for_text("#whoami", "ana", WAIT).await?;
    browser.wait_until_script("the board", WAIT, "window.cobranzaStats && cobranzaStats.boardMessages >= 1").await?;

    let stats = "return {messages: cobranzaStats.boardMessages, upserts: cobranzaStats.boardUpserts, \
                 removed: cobranzaStats.boardRemoved || 0, renders: cobranzaStats.boardRenders || 0, \
                 renderMs: cobranzaStats.boardRenderMs || 0, renderMsMax: cobranzaStats.boardRenderMsMax || 0, \
                 rows: document.querySelectorAll('#board tr[data-attempt]').length};";
    let before = browser.execute(stats, &[]).await?;
    let started = Instant::now();
    let simulation = tokio::spawn(simulate(server.bus.clone()));
    // The page's counters once a second while the calls run.
    let mut per_second = Vec::new();
    let mut last = before.clone();
    while !simulation.is_finished() {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let now = browser.execute(stats, &[]).await?;
        let delta = |key: &str| now[key].as_f64().unwrap_or(0.0) - last[key].as_f64().unwrap_or(0.0);
        per_second.push(json!({ "messages": delta("messages"), "upserts": delta("upserts"), "rows": now["rows"] }));
        last = now;
    }
    let published = simulation.await?;
    let elapsed = started.elapsed().as_secs_f64();
    browser.screenshot("board-1000-calls").await?;

    // Once the calls stop changing (and the ended ones have left the board), the page shows
    // exactly the board's rows and states.
    tokio::time::sleep(Duration::from_secs(7)).await;
    let (_, calls) = board.snapshot();
    assert_eq!(calls.len(), LIVE_CALLS);
    let expected: std::collections::BTreeMap<String, String> =
        calls.iter().map(|call| (call.attempt_id.to_string(), call.state.clone())).collect();
    let shown = browser
        .wait_until_script(
            "the page to show every live call",
            WAIT,
            &format!("document.querySelectorAll('#board tr[data-attempt]').length === {} && \
                      Object.fromEntries(Array.from(document.querySelectorAll('#board tr[data-attempt]')).map(r => [r.dataset.attempt, r.querySelector('.c-state').dataset.state]))", expected.len()),
        )
        .await?;
    let shown: std::collections::BTreeMap<String, String> = serde_json::from_value(shown)?;
    assert_eq!(shown.len(), LIVE_CALLS);
    assert_eq!(shown, expected);

    let after = browser.execute(stats, &[]).await?;
    let total = |key: &str| after[key].as_f64().unwrap_or(0.0) - before[key].as_f64().unwrap_or(0.0);
    let messages = total("messages");
    let upserts = total("upserts");
    let renders = total("renders").max(1.0);
    let figures = json!({
        "live_calls": LIVE_CALLS,
        "seconds": elapsed,
        "calls_started": published.calls,
        "events_published": published.events,
        "events_published_per_second": published.events as f64 / elapsed,
        "row_changes_published_per_second": published.row_changes as f64 / elapsed,
        "messages_to_page": messages,
        "messages_to_page_per_second": messages / elapsed,
        "rows_updated_on_page": upserts,
        "rows_updated_on_page_per_second": upserts / elapsed,
        "rows_removed_on_page": total("removed"),
        "page_render_ms_mean": total("renderMs") / renders,
        "page_render_ms_max": after["renderMsMax"],
        "per_second": per_second,
    });
    println!("{}", serde_json::to_string_pretty(&figures)?);
    std::fs::write(artifacts.join("board-load.json"), serde_json::to_string_pretty(&figures)?)?;
    // The page got batches all along: at least one for each second the calls ran.
    assert!(messages >= RUN.as_secs() as f64, "{figures}");
    browser.quit().await?;
    server.stop().await;
    Ok(())
}
