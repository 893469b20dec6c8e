//! A webhook's dispatcher: follows the log from the webhook's cursor, picks the
//! tenant's events of the wanted types, and delivers them in order, in batches, one
//! batch at a time; the cursor moves (and is saved) only when a batch is acknowledged
//! or dead-lettered, so a restart sends the unacknowledged batch again (at-least-once).

use std::ops::ControlFlow;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use rand::Rng;
use sealog_engine::log::{EventRef, ScanDirection};
use sealog_engine::time::now_us;
use sealog_engine::{Engine, EngineError, Lsn};
use tokio::sync::watch;

use super::client::Outcome;
use super::conn::Conn;
use super::deliveries::{Attempt, AttemptStatus};
use super::feed::{self, Feed, Wanted};
use super::registry::{Hook, Webhooks};
use super::store::WebhookRecord;
use crate::limits::{
    WEBHOOK_BACKOFF_MAX_UNITS, WEBHOOK_BATCH_BYTES_MAX, WEBHOOK_IDLE_CURSOR_SAVE_INTERVAL,
};

/// Events picked for one delivery.
#[derive(Debug, Default)]
struct Batch {
    /// The events as GET returns them, comma-separated.
    events: Vec<u8>,
    count: usize,
    first_seq: u64,
    last_seq: u64,
    first_created_us: i64,
    /// The cursor after this batch: the last LSN looked at.
    end_lsn: u64,
}

/// The dispatcher task; returns when `stop` turns true.
pub async fn run(
    wh: Arc<Webhooks>,
    hook: Arc<Hook>,
    feed: Option<Arc<Feed>>,
    mut stop: watch::Receiver<bool>,
) {
    // What the feed has read (or, without it, what is visible): the dispatcher wakes
    // when it moves.
    let mut visible = feed
        .as_ref()
        .map_or_else(|| wh.engine.subscribe(), |f| f.subscribe());
    let mut idle_saved = Instant::now();
    // The cursor moved past skipped events since it was last saved.
    let mut unsaved = false;
    let mut conn: Option<Conn> = None;
    loop {
        if *stop.borrow() {
            if unsaved {
                save_idle(&wh, &hook);
            }
            return;
        }
        let active = hook.def.read().is_active;
        // Read before the cursor: a replay in between makes this batch's
        // acknowledgement leave the cursor alone.
        let generation = hook.generation.load(Ordering::SeqCst);
        let cursor = hook.progress.lock().cursor_lsn;
        let end = visible.borrow_and_update().0;
        if !active || cursor >= end {
            tokio::select! {
                r = visible.changed() => if r.is_err() { return },
                () = hook.wake.notified() => {}
                _ = stop.changed() => {}
            }
            continue;
        }
        let batch_max = wh.config.batch_events;
        if ((end - cursor) as usize) < batch_max && !wh.config.batch_delay.is_zero() {
            // Let a short batch fill up a little.
            tokio::select! {
                () = tokio::time::sleep(wh.config.batch_delay) => {}
                _ = stop.changed() => continue,
            }
        }
        let batch = match collect(&wh.engine, feed.as_ref(), &hook, cursor, batch_max).await {
            Some(b) => b,
            None => {
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        if batch.count == 0 {
            // Nothing for this webhook: move on, saving now and then.
            let mut p = hook.progress.lock();
            if hook.generation.load(Ordering::SeqCst) == generation {
                p.cursor_lsn = batch.end_lsn;
            }
            drop(p);
            unsaved = true;
            if idle_saved.elapsed() >= WEBHOOK_IDLE_CURSOR_SAVE_INTERVAL {
                idle_saved = Instant::now();
                unsaved = false;
                save_idle(&wh, &hook);
            }
            continue;
        }
        deliver(&wh, &hook, batch, generation, &mut stop, &mut conn).await;
        idle_saved = Instant::now();
        unsaved = false;
    }
}

/// Saves a cursor that only moved past events this webhook does not want (losing
/// such a save costs a rescan of those events after a restart, never a delivery).
fn save_idle(wh: &Webhooks, hook: &Hook) {
    if let Err(e) = wh.save_progress(hook) {
        tracing::warn!(error = %format!("{e:#}"), "could not save a webhook cursor");
    }
}

/// Reads the next batch after `cursor` (in a blocking task); None if the task failed.
/// The feed says which events to read when the cursor is inside its window; otherwise
/// the log is read from the cursor (module doc of `feed.rs`).
async fn collect(
    engine: &Arc<Engine>,
    feed: Option<&Arc<Feed>>,
    hook: &Hook,
    cursor: u64,
    max: usize,
) -> Option<Batch> {
    let (tenant, types, id) = {
        let d = hook.def.read();
        (d.tenant.clone(), d.event_types.clone(), d.id.clone())
    };
    // Picking from the feed compares hashes in memory: no need for the blocking pool
    // unless there is something to read.
    let picked = feed.and_then(|f| f.pick(cursor, &Wanted::new(&tenant, types.as_deref()), max));
    if let Some(p) = picked.as_ref().filter(|p| p.lsns.is_empty()) {
        return Some(Batch {
            end_lsn: p.end,
            ..Batch::default()
        });
    }
    let engine = engine.clone();
    tokio::task::spawn_blocking(move || {
        let mut b = Batch::default();
        // Adds one event if it is wanted; Break once the batch is full.
        let mut add = |ev: Result<EventRef<'_>, EngineError>| {
            let ev = match ev {
                Ok(ev) => ev,
                Err(e) => {
                    tracing::error!(webhook_id = %id, error = %e, "a damaged event is skipped (verify names it)");
                    return ControlFlow::Continue(());
                }
            };
            if ev.tenant != tenant || !wanted(ev.body, types.as_deref()) {
                return ControlFlow::Continue(());
            }
            let at = b.events.len();
            if b.count > 0 {
                b.events.push(b',');
            }
            if let Err(e) = sealog_engine::event::write_returned(ev.body, &ev.hash, None, &mut b.events) {
                b.events.truncate(at);
                tracing::error!(webhook_id = %id, lsn = ev.lsn.0, error = %e, "an unreadable event is skipped");
                return ControlFlow::Continue(());
            }
            if b.count == 0 {
                b.first_seq = ev.seq.0;
                b.first_created_us = ev.created_at_us;
            }
            b.count += 1;
            b.last_seq = ev.seq.0;
            if b.count >= max || b.events.len() >= WEBHOOK_BATCH_BYTES_MAX {
                return ControlFlow::Break(ev.lsn.0);
            }
            ControlFlow::Continue(())
        };
        // The cursor after the batch: the last event taken if it filled up, else the
        // last LSN looked at.
        let end_lsn = match &picked {
            Some(p) => engine.visit_lsns(&p.lsns, &mut add).unwrap_or(p.end),
            None => {
                let end = engine.stats().visible_lsn.0;
                let range = Lsn(cursor + 1)..Lsn(end + 1);
                engine.visit(range, ScanDirection::Forward, &mut add).0.unwrap_or(end)
            }
        };
        b.end_lsn = end_lsn;
        b
    })
    .await
    .ok()
}

/// Whether the event's `event_type` is one of `types` (None: all).
fn wanted(body: &[u8], types: Option<&[String]>) -> bool {
    let Some(types) = types else { return true };
    feed::event_type(body).is_some_and(|v| types.iter().any(|t| t.as_bytes() == v))
}

/// Sends one batch until it is acknowledged or dead-lettered (or the webhook stops).
async fn deliver(
    wh: &Webhooks,
    hook: &Hook,
    batch: Batch,
    generation: u64,
    stop: &mut watch::Receiver<bool>,
    conn: &mut Option<Conn>,
) {
    let delivery_id = uuid::Uuid::now_v7().to_string();
    let webhook_id = hook.def.read().id.clone();
    let body = payload(&webhook_id, &delivery_id, &batch.events);
    hook.pending_since_us
        .store(batch.first_created_us.max(1), Ordering::Relaxed);
    let mut attempt: u64 = 0;
    loop {
        attempt += 1;
        let def = hook.def.read().clone();
        if !def.is_active || *stop.borrow() {
            hook.pending_since_us.store(0, Ordering::Relaxed);
            return;
        }
        let started = Instant::now();
        let outcome = send(wh, conn, &def, &delivery_id, attempt, &body).await;
        let mut record = Attempt {
            delivery_id: delivery_id.clone(),
            attempt,
            status: AttemptStatus::Delivered,
            http_status: None,
            latency_ms: started.elapsed().as_millis() as u64,
            error: None,
            event_count: batch.count,
            first_seq: batch.first_seq,
            last_seq: batch.last_seq,
            at_us: now_us(),
        };
        let (status, error, retry_after, retryable) = match outcome {
            Outcome::Delivered(code) => {
                record.http_status = Some(code);
                hook.attempts.lock().push(record);
                finish(wh, hook, &batch, generation, true);
                return;
            }
            Outcome::Retry {
                status,
                error,
                retry_after,
            } => (status, error, retry_after, true),
            Outcome::Fail { status, error } => (status, error, None, false),
        };
        let again = retryable && attempt <= def.max_retries;
        record.http_status = status;
        record.error = Some(error);
        record.status = if again {
            AttemptStatus::Retrying
        } else {
            AttemptStatus::DeadLettered
        };
        hook.attempts.lock().push(record);
        note_failure(wh, hook);
        if !again {
            wh.save_dead_letters(hook);
            finish(wh, hook, &batch, generation, false);
            return;
        }
        let wait = backoff(wh.config.backoff_unit, def.retry_backoff_seconds, attempt)
            .max(retry_after.unwrap_or_default());
        tokio::select! {
            () = tokio::time::sleep(wait) => {}
            _ = stop.changed() => {}
        }
    }
}

/// `{"webhook_id","delivery_id","events":[…]}`.
fn payload(webhook_id: &str, delivery_id: &str, events: &[u8]) -> Bytes {
    let mut body = Vec::with_capacity(events.len() + 128);
    body.extend_from_slice(
        format!(r#"{{"webhook_id":"{webhook_id}","delivery_id":"{delivery_id}","events":["#)
            .as_bytes(),
    );
    body.extend_from_slice(events);
    body.extend_from_slice(b"]}");
    Bytes::from(body)
}

/// One signed attempt of `body`.
async fn send(
    wh: &Webhooks,
    conn: &mut Option<Conn>,
    def: &WebhookRecord,
    delivery_id: &str,
    attempt: u64,
    body: &Bytes,
) -> Outcome {
    let t = now_us() / 1_000_000;
    let headers = vec![
        ("content-type", "application/json".to_owned()),
        (
            "user-agent",
            concat!("sealog/", env!("CARGO_PKG_VERSION")).to_owned(),
        ),
        (
            "x-sealog-signature",
            super::sign::header(&def.secret_key, t, body),
        ),
        ("x-sealog-delivery-id", delivery_id.to_owned()),
        ("x-sealog-webhook-id", def.id.clone()),
        ("x-sealog-attempt", attempt.to_string()),
    ];
    wh.client
        .post(conn, &def.webhook_url, headers, body.clone())
        .await
}

/// The wait before retry number `attempt` (1-based): `base × 2^(attempt-1)` units,
/// capped, with jitter (a uniform pick in its upper half).
fn backoff(unit: Duration, base_units: u64, attempt: u64) -> Duration {
    let units = base_units
        .saturating_mul(1u64 << (attempt.saturating_sub(1)).min(32))
        .min(WEBHOOK_BACKOFF_MAX_UNITS);
    let full = unit.saturating_mul(units as u32);
    let half = full / 2;
    half + full
        .saturating_sub(half)
        .mul_f64(rand::rng().random::<f64>())
}

/// Starts or continues a run of failures; deactivates after `deactivate_after`.
fn note_failure(wh: &Webhooks, hook: &Hook) {
    let now = now_us();
    let since = *hook.progress.lock().failing_since_us.get_or_insert(now);
    let limit = wh.config.deactivate_after;
    if now - since >= limit.as_micros() as i64 && hook.def.read().is_active {
        wh.deactivate(
            hook,
            format!(
                "no successful delivery for {} s (webhook-deactivate-after-s)",
                limit.as_secs()
            ),
        );
    }
}

/// Moves the cursor past an acknowledged (`ok`) or dead-lettered batch and saves it.
fn finish(wh: &Webhooks, hook: &Hook, batch: &Batch, generation: u64, ok: bool) {
    {
        let mut p = hook.progress.lock();
        if hook.generation.load(Ordering::SeqCst) == generation {
            p.cursor_lsn = p.cursor_lsn.max(batch.end_lsn);
        }
        if ok {
            p.last_delivery_at_us = Some(now_us());
            p.failing_since_us = None;
        } else {
            p.failed_deliveries += 1;
        }
    }
    if ok {
        hook.delivered_events
            .fetch_add(batch.count as u64, Ordering::Relaxed);
    }
    hook.pending_since_us.store(0, Ordering::Relaxed);
    if let Err(e) = wh.save_progress(hook) {
        tracing::error!(error = %format!("{e:#}"), "could not save a webhook cursor (the batch may be sent again after a restart)");
    }
}
