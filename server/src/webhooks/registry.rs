//! The set of webhooks: definitions, progress and delivery records in memory, saved
//! through `Store`, and one dispatcher task per webhook.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::Arc;

use anyhow::Context;
use parking_lot::{Mutex, RwLock};
use sealog_engine::time::{format_rfc3339_us, now_us};
use sealog_engine::{Engine, Lsn};
use serde_json::{json, Value};
use tokio::sync::{watch, Notify};
use tokio::task::JoinHandle;

use super::client::Client;
use super::config::WebhookConfig;
use super::deliveries::Attempts;
use super::feed::Feed;
use super::store::{HookProgress, Store, WebhookRecord};
use crate::limits::{WEBHOOKS_MAX, WEBHOOK_SHUTDOWN_GRACE};

/// One webhook at run time.
#[derive(Debug)]
pub struct Hook {
    /// Its definition.
    pub def: RwLock<WebhookRecord>,
    /// Its cursor and counters (what `<id>.state` holds).
    pub progress: Mutex<HookProgress>,
    /// Recent delivery attempts.
    pub attempts: Mutex<Attempts>,
    /// Bumped by a replay: an acknowledgement of a batch read before it must not move
    /// the cursor the replay has just set.
    pub generation: AtomicU64,
    /// Wakes the dispatcher (update, replay).
    pub wake: Notify,
    /// Events acknowledged since start (metrics).
    pub delivered_events: AtomicU64,
    /// `created_at` (µs) of the oldest event in the batch being delivered, 0 if none.
    pub pending_since_us: AtomicI64,
    /// Serializes writers of `<id>.state`.
    save: Mutex<()>,
}

impl Hook {
    fn new(def: WebhookRecord, progress: HookProgress) -> Arc<Hook> {
        Arc::new(Hook {
            def: RwLock::new(def),
            progress: Mutex::new(progress),
            attempts: Mutex::new(Attempts::default()),
            generation: AtomicU64::new(0),
            wake: Notify::new(),
            delivered_events: AtomicU64::new(0),
            pending_since_us: AtomicI64::new(0),
            save: Mutex::new(()),
        })
    }

    /// The API's view; the secret in clear only when `reveal` (the create response).
    pub fn to_json(&self, reveal: bool) -> Value {
        let d = self.def.read().clone();
        let p = self.progress.lock().clone();
        let secret = if reveal {
            d.secret_key.clone()
        } else {
            let n = d.secret_key.chars().count();
            let tail: String = d.secret_key.chars().skip(n.saturating_sub(4)).collect();
            format!("********{tail}")
        };
        json!({
            "id": d.id, "user_id": d.user_id, "webhook_url": d.webhook_url,
            "secret_key": secret, "event_types": d.event_types, "description": d.description,
            "is_active": d.is_active, "max_retries": d.max_retries,
            "retry_backoff_seconds": d.retry_backoff_seconds,
            "created_at": d.created_at, "updated_at": d.updated_at,
            "last_delivery_at": p.last_delivery_at_us.map(format_rfc3339_us),
            "failed_deliveries": p.failed_deliveries,
            "deactivated_reason": d.deactivated_reason,
        })
    }
}

/// Every webhook of the server.
#[derive(Debug)]
pub struct Webhooks {
    pub(super) store: Store,
    pub(super) config: WebhookConfig,
    pub(super) engine: Arc<Engine>,
    pub(super) client: Client,
    pub(super) hooks: RwLock<BTreeMap<String, Arc<Hook>>>,
    tasks: Mutex<BTreeMap<String, JoinHandle<()>>>,
    /// The shared reader of the log, started with the first dispatcher.
    feed: Mutex<Option<Arc<Feed>>>,
    /// Serializes writers of `webhooks.json`.
    defs_lock: Mutex<()>,
    stop: watch::Sender<bool>,
}

/// What a create request asks for (validated).
#[derive(Debug, Clone)]
pub struct NewWebhook {
    /// URL.
    pub webhook_url: String,
    /// Types; None = all.
    pub event_types: Option<Vec<String>>,
    /// Free text.
    pub description: Option<String>,
    /// Retries.
    pub max_retries: u64,
    /// Base back-off.
    pub retry_backoff_seconds: u64,
}

impl Webhooks {
    /// Loads `DATA_DIR/webhooks/` (dispatchers start with `start`).
    pub fn open(
        data_dir: &std::path::Path,
        engine: Arc<Engine>,
        config: WebhookConfig,
    ) -> anyhow::Result<Webhooks> {
        let store = Store::open(data_dir)?;
        let tls = super::client::tls_config(config.ca_file.as_deref())?;
        let client = Client::new(
            tls,
            config.allow_cidrs.clone(),
            config.allow_http,
            config.timeout,
        );
        let mut hooks = BTreeMap::new();
        let defs = store.load_defs()?;
        store.remove_orphans(&defs);
        for def in defs {
            let progress = match store.load_progress(&def.id)? {
                Some(p) => p,
                None => HookProgress {
                    cursor_lsn: engine.stats().visible_lsn.0,
                    ..Default::default()
                },
            };
            let (id, dead) = (def.id.clone(), store.load_dead(&def.id));
            let hook = Hook::new(def, progress);
            hook.attempts.lock().restore(dead);
            hooks.insert(id, hook);
        }
        Ok(Webhooks {
            store,
            config,
            engine,
            client,
            hooks: RwLock::new(hooks),
            tasks: Mutex::new(BTreeMap::new()),
            feed: Mutex::new(None),
            defs_lock: Mutex::new(()),
            stop: watch::Sender::new(false),
        })
    }

    /// Starts a dispatcher for every webhook, and the shared reader at the oldest of
    /// their cursors (after a crash, the events since the last saves are read once for
    /// all, not once per webhook).
    pub fn start(self: &Arc<Self>) {
        let hooks: Vec<Arc<Hook>> = self.hooks.read().values().cloned().collect();
        if let Some(oldest) = hooks.iter().map(|h| h.progress.lock().cursor_lsn).min() {
            self.feed(oldest);
        }
        for h in hooks {
            self.spawn(h);
        }
    }

    /// The shared reader, started after LSN `from` if it is not running yet (None if
    /// its thread could not start: dispatchers then read the log themselves).
    fn feed(&self, from: u64) -> Option<Arc<Feed>> {
        let mut slot = self.feed.lock();
        if slot.is_none() {
            match Feed::start(self.engine.clone(), from, self.config.feed_events) {
                Ok(feed) => *slot = Some(feed),
                Err(e) => {
                    tracing::warn!(error = %format!("{e:#}"), "the webhooks' shared reader did not start; each dispatcher reads the log itself");
                }
            }
        }
        slot.clone()
    }

    fn spawn(self: &Arc<Self>, hook: Arc<Hook>) {
        let id = hook.def.read().id.clone();
        let feed = self.feed(hook.progress.lock().cursor_lsn);
        let task = tokio::spawn(super::dispatch::run(
            self.clone(),
            hook,
            feed,
            self.stop.subscribe(),
        ));
        if let Some(old) = self.tasks.lock().insert(id, task) {
            old.abort();
        }
    }

    /// Stops every dispatcher (waiting up to `WEBHOOK_SHUTDOWN_GRACE`, then aborting).
    pub async fn shutdown(&self) {
        self.stop.send_replace(true);
        let tasks: Vec<JoinHandle<()>> = std::mem::take(&mut *self.tasks.lock())
            .into_values()
            .collect();
        let aborts: Vec<_> = tasks.iter().map(JoinHandle::abort_handle).collect();
        let all = async {
            for t in tasks {
                let _ = t.await;
            }
        };
        if tokio::time::timeout(WEBHOOK_SHUTDOWN_GRACE, all)
            .await
            .is_err()
        {
            tracing::warn!("webhook dispatchers did not stop in time; aborting (their batches are sent again after restart)");
            aborts.iter().for_each(tokio::task::AbortHandle::abort);
        }
        let feed = self.feed.lock().take();
        if let Some(feed) = feed {
            let _ = tokio::task::spawn_blocking(move || feed.stop()).await;
        }
    }

    fn save_defs(&self) -> anyhow::Result<()> {
        let _g = self.defs_lock.lock();
        let defs = self
            .hooks
            .read()
            .values()
            .map(|h| h.def.read().clone())
            .collect();
        tokio::task::block_in_place(|| self.store.save_defs(defs))
    }

    /// Saves a webhook's progress.
    pub(super) fn save_progress(&self, hook: &Hook) -> anyhow::Result<()> {
        let _g = hook.save.lock();
        let (id, p) = (hook.def.read().id.clone(), hook.progress.lock().clone());
        tokio::task::block_in_place(|| self.store.save_progress(&id, &p))
    }

    /// Saves a webhook's dead letters.
    pub(super) fn save_dead_letters(&self, hook: &Hook) {
        let _g = hook.save.lock();
        let id = hook.def.read().id.clone();
        let dead = hook.attempts.lock().dead_letters();
        if let Err(e) = tokio::task::block_in_place(|| self.store.save_dead(&id, &dead)) {
            tracing::warn!(webhook_id = %id, error = %format!("{e:#}"), "could not save the dead letters");
        }
    }

    /// Creates a webhook delivering events appended from now on.
    pub fn create(
        self: &Arc<Self>,
        tenant: &str,
        user_id: &str,
        w: NewWebhook,
    ) -> anyhow::Result<Arc<Hook>> {
        anyhow::ensure!(
            self.hooks.read().len() < WEBHOOKS_MAX,
            "there are already {WEBHOOKS_MAX} webhooks"
        );
        let now = format_rfc3339_us(now_us());
        let def = WebhookRecord {
            id: uuid::Uuid::new_v4().to_string(),
            tenant: tenant.to_owned(),
            user_id: user_id.to_owned(),
            webhook_url: w.webhook_url,
            secret_key: super::sign::new_secret(),
            event_types: w.event_types,
            description: w.description,
            is_active: true,
            max_retries: w.max_retries,
            retry_backoff_seconds: w.retry_backoff_seconds,
            created_at: now.clone(),
            updated_at: now,
            deactivated_reason: None,
        };
        let progress = HookProgress {
            cursor_lsn: self.engine.stats().visible_lsn.0,
            ..Default::default()
        };
        let hook = Hook::new(def.clone(), progress);
        self.save_progress(&hook)
            .context("saving the webhook's state")?;
        self.hooks.write().insert(def.id.clone(), hook.clone());
        if let Err(e) = self.save_defs() {
            self.hooks.write().remove(&def.id);
            self.store.remove_progress(&def.id);
            return Err(e.context("saving the webhook definitions"));
        }
        self.spawn(hook.clone());
        Ok(hook)
    }

    /// How many webhooks there are (all tenants).
    pub fn list_len(&self) -> usize {
        self.hooks.read().len()
    }

    /// The webhook `id` if it belongs to `tenant`.
    pub fn get(&self, tenant: &str, id: &str) -> Option<Arc<Hook>> {
        self.hooks
            .read()
            .get(id)
            .filter(|h| h.def.read().tenant == tenant)
            .cloned()
    }

    /// The tenant's webhooks, oldest first.
    pub fn list(&self, tenant: &str) -> Vec<Arc<Hook>> {
        let mut v: Vec<Arc<Hook>> = self
            .hooks
            .read()
            .values()
            .filter(|h| h.def.read().tenant == tenant)
            .cloned()
            .collect();
        v.sort_by(|a, b| a.def.read().created_at.cmp(&b.def.read().created_at));
        v
    }

    /// Applies `change` to the definition, saves it and wakes the dispatcher.
    pub fn update(
        &self,
        hook: &Hook,
        change: impl FnOnce(&mut WebhookRecord),
    ) -> anyhow::Result<()> {
        {
            let mut d = hook.def.write();
            let was_active = d.is_active;
            change(&mut d);
            d.updated_at = format_rfc3339_us(now_us());
            if d.is_active && !was_active {
                d.deactivated_reason = None;
                hook.progress.lock().failing_since_us = None;
            }
        }
        self.save_defs()?;
        hook.wake.notify_one();
        Ok(())
    }

    /// Deactivates a webhook that has failed for too long.
    pub(super) fn deactivate(&self, hook: &Hook, reason: String) {
        let id = hook.def.read().id.clone();
        tracing::warn!(webhook_id = %id, %reason, "webhook deactivated");
        if let Err(e) = self.update(hook, |d| {
            d.is_active = false;
            d.deactivated_reason = Some(reason);
        }) {
            tracing::error!(webhook_id = %id, error = %format!("{e:#}"), "could not save the deactivation");
        }
    }

    /// Deletes a webhook; its dispatcher stops at once.
    pub fn delete(&self, id: &str) -> anyhow::Result<()> {
        if let Some(task) = self.tasks.lock().remove(id) {
            task.abort();
        }
        self.hooks.write().remove(id);
        self.save_defs()?;
        self.store.remove_progress(id);
        Ok(())
    }

    /// Rewinds the cursor so delivery starts again at `from` (inclusive).
    pub fn replay(&self, hook: &Hook, from: Lsn) -> anyhow::Result<()> {
        hook.generation.fetch_add(1, Ordering::SeqCst);
        hook.progress.lock().cursor_lsn = from.0.saturating_sub(1);
        self.save_progress(hook)?;
        hook.wake.notify_one();
        Ok(())
    }
}
