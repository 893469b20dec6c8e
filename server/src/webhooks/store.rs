//! What is kept on disk, in `DATA_DIR/webhooks/` (mode 0700):
//!
//! - `webhooks.json` (mode 0600): every definition, secrets included, rewritten whole
//!   (temp file, fsync, rename, fsync of the directory) on create, update, delete and
//!   deactivation;
//! - `<id>.state` (mode 0600): the webhook's cursor (the last LSN it has dealt with)
//!   and its counters, rewritten the same way after every acknowledged or
//!   dead-lettered delivery, so a restart resumes right after it.
//!
//! - `<id>.dead` (mode 0600): the webhook's last dead letters, rewritten the same way
//!   after each new one.
//!
//! Other delivery attempts (`GET …/deliveries`) are kept in memory only.

use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::{Deserialize, Serialize};

use super::deliveries::Attempt;
use crate::keys::write_private;

/// One webhook's definition.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WebhookRecord {
    /// Id (UUIDv4).
    pub id: String,
    /// The tenant it belongs to (the one it was created in).
    pub tenant: String,
    /// The id of the key that created it.
    pub user_id: String,
    /// Where deliveries go.
    pub webhook_url: String,
    /// The signing secret (64 hex characters).
    pub secret_key: String,
    /// Event types delivered; None = all.
    pub event_types: Option<Vec<String>>,
    /// Free text.
    pub description: Option<String>,
    /// Whether deliveries are made.
    pub is_active: bool,
    /// Retries after the first attempt.
    pub max_retries: u64,
    /// Base back-off.
    pub retry_backoff_seconds: u64,
    /// RFC 3339.
    pub created_at: String,
    /// RFC 3339.
    pub updated_at: String,
    /// Why sealogd deactivated it, when it did.
    #[serde(default)]
    pub deactivated_reason: Option<String>,
}

/// One webhook's progress, in `<id>.state`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct HookProgress {
    /// Every event up to this LSN has been delivered, dead-lettered or skipped.
    pub cursor_lsn: u64,
    /// Last acknowledged delivery (µs since the epoch).
    pub last_delivery_at_us: Option<i64>,
    /// Dead-lettered deliveries.
    pub failed_deliveries: u64,
    /// Start of the current run of failures (µs), None after a success.
    pub failing_since_us: Option<i64>,
}

#[derive(Debug, Serialize, Deserialize)]
struct DefsFile {
    version: u32,
    webhooks: Vec<WebhookRecord>,
}

/// The directory and its files.
#[derive(Debug)]
pub struct Store {
    dir: PathBuf,
}

impl Store {
    /// Opens (creating, mode 0700) `DATA_DIR/webhooks/`.
    pub fn open(data_dir: &Path) -> anyhow::Result<Store> {
        use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
        let dir = data_dir.join("webhooks");
        if !dir.exists() {
            std::fs::DirBuilder::new()
                .mode(0o700)
                .create(&dir)
                .with_context(|| format!("creating {}", dir.display()))?;
        }
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700))
            .with_context(|| format!("chmod 0700 {}", dir.display()))?;
        Ok(Store { dir })
    }

    fn defs_path(&self) -> PathBuf {
        self.dir.join("webhooks.json")
    }

    fn state_path(&self, id: &str) -> PathBuf {
        self.dir.join(format!("{id}.state"))
    }

    fn dead_path(&self, id: &str) -> PathBuf {
        self.dir.join(format!("{id}.dead"))
    }

    /// A webhook's saved dead letters (none when the file is missing or unreadable:
    /// they are informational; the counters are in `<id>.state`).
    pub fn load_dead(&self, id: &str) -> Vec<Attempt> {
        let path = self.dead_path(id);
        let Ok(bytes) = std::fs::read(&path) else {
            return Vec::new();
        };
        serde_json::from_slice(&bytes).unwrap_or_else(|e| {
            tracing::warn!(path = %path.display(), error = %e, "unreadable dead-letter file ignored");
            Vec::new()
        })
    }

    /// Saves a webhook's dead letters.
    pub fn save_dead(&self, id: &str, dead: &[Attempt]) -> anyhow::Result<()> {
        write_private(&self.dead_path(id), &serde_json::to_vec(dead)?)
    }

    /// Every stored definition.
    pub fn load_defs(&self) -> anyhow::Result<Vec<WebhookRecord>> {
        let path = self.defs_path();
        if !path.exists() {
            return Ok(Vec::new());
        }
        let bytes = std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
        let file: DefsFile = serde_json::from_slice(&bytes)
            .with_context(|| format!("{} is not a valid webhook file", path.display()))?;
        anyhow::ensure!(
            file.version == 1,
            "{}: unknown version {}",
            path.display(),
            file.version
        );
        Ok(file.webhooks)
    }

    /// Rewrites the definitions.
    pub fn save_defs(&self, webhooks: Vec<WebhookRecord>) -> anyhow::Result<()> {
        let bytes = serde_json::to_vec_pretty(&DefsFile {
            version: 1,
            webhooks,
        })?;
        write_private(&self.defs_path(), &bytes)
    }

    /// A webhook's progress; None when it has no state file.
    pub fn load_progress(&self, id: &str) -> anyhow::Result<Option<HookProgress>> {
        let path = self.state_path(id);
        if !path.exists() {
            return Ok(None);
        }
        let bytes = std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
        let p = serde_json::from_slice(&bytes)
            .with_context(|| format!("{} is not a valid webhook state file", path.display()))?;
        Ok(Some(p))
    }

    /// Saves a webhook's progress.
    pub fn save_progress(&self, id: &str, p: &HookProgress) -> anyhow::Result<()> {
        write_private(&self.state_path(id), &serde_json::to_vec(p)?)
    }

    /// Removes state files of webhooks that no longer exist (a delete racing with a
    /// dispatcher's last save can leave one) and temp files of interrupted writes.
    pub fn remove_orphans(&self, known: &[WebhookRecord]) {
        let Ok(entries) = std::fs::read_dir(&self.dir) else {
            return;
        };
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let stem = name
                .strip_suffix(".state")
                .or_else(|| name.strip_suffix(".dead"));
            let orphan = match stem {
                Some(id) => !known.iter().any(|d| d.id == id),
                None => name.ends_with(".tmp"),
            };
            if orphan {
                let _ = std::fs::remove_file(entry.path());
            }
        }
    }

    /// Removes a deleted webhook's state and dead-letter files.
    pub fn remove_progress(&self, id: &str) {
        let _ = std::fs::remove_file(self.state_path(id));
        let _ = std::fs::remove_file(self.dead_path(id));
    }
}
