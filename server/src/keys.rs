//! API keys: who may call, with which role, for which tenant.
//!
//! Tokens are 32 random bytes (`slk_` + 64 hex digits), shown once. The store keeps
//! only their SHA-256 (a token has 256 bits of entropy, so a fast hash is enough and a
//! stolen `keys.json` gives no usable token). `keys.json` is rewritten whole (temp file,
//! fsync, rename, fsync of the directory) on every change; `last_used_at` is kept in
//! memory and saved with the next change and at shutdown.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use parking_lot::{Mutex, RwLock};
use rand::RngCore;
use sealog_engine::TenantId;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// What a key may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Everything.
    Admin,
    /// Read, export, verify, proofs.
    Auditor,
    /// Ingest only.
    Writer,
}

impl Role {
    /// The name the API uses.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Auditor => "auditor",
            Role::Writer => "writer",
        }
    }

    /// Parses the API name.
    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "admin" => Some(Role::Admin),
            "auditor" => Some(Role::Auditor),
            "writer" => Some(Role::Writer),
            _ => None,
        }
    }
}

/// The tenants a key may act for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// All tenants (`*`); `X-Tenant-Id` picks one.
    All,
    /// One tenant.
    One(TenantId),
}

impl Scope {
    /// `*` or the tenant name.
    pub fn as_str(&self) -> &str {
        match self {
            Scope::All => "*",
            Scope::One(t) => t.as_str(),
        }
    }
}

/// One key as stored.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct KeyRecord {
    /// Key id (UUIDv4).
    pub id: String,
    /// Human name.
    pub name: String,
    /// Role.
    pub role: Role,
    /// `*` or a tenant.
    pub tenant: String,
    /// Lowercase hex SHA-256 of the token.
    pub token_sha256: String,
    /// RFC 3339.
    pub created_at: String,
    /// RFC 3339, when known.
    #[serde(default)]
    pub last_used_at: Option<String>,
}

/// A key resolved for a request.
#[derive(Debug, Clone)]
pub struct Key {
    /// Key id.
    pub id: String,
    /// Role.
    pub role: Role,
    /// Tenants.
    pub scope: Scope,
}

#[derive(Debug, Serialize, Deserialize)]
struct KeysFile {
    version: u32,
    keys: Vec<KeyRecord>,
}

/// The key store.
#[derive(Debug)]
pub struct KeyStore {
    path: PathBuf,
    records: RwLock<Vec<KeyRecord>>,
    by_hash: RwLock<HashMap<[u8; 32], Arc<Key>>>,
    /// Key id → last use (µs), not yet saved.
    last_used: Mutex<HashMap<String, i64>>,
    /// Serializes writers of keys.json.
    save: Mutex<()>,
    /// The `SEALOG_ADMIN_TOKEN` key (memory only).
    env_admin: Option<([u8; 32], Arc<Key>)>,
}

/// SHA-256 of a token.
pub fn token_hash(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// A new random token.
pub fn new_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    format!("slk_{}", hex::encode(bytes))
}

fn key_of(r: &KeyRecord) -> anyhow::Result<([u8; 32], Arc<Key>)> {
    let mut hash = [0u8; 32];
    hex::decode_to_slice(&r.token_sha256, &mut hash)
        .with_context(|| format!("key {}: token_sha256 is not 64 hex digits", r.id))?;
    let scope = if r.tenant == "*" {
        Scope::All
    } else {
        Scope::One(TenantId::new(&r.tenant).with_context(|| format!("key {}: tenant", r.id))?)
    };
    Ok((
        hash,
        Arc::new(Key {
            id: r.id.clone(),
            role: r.role,
            scope,
        }),
    ))
}

/// The shortest `SEALOG_ADMIN_TOKEN` accepted.
pub const ENV_ADMIN_TOKEN_CHARS_MIN: usize = 16;

/// `SEALOG_ADMIN_TOKEN`, when set and not empty.
pub fn env_admin_token() -> Option<String> {
    std::env::var("SEALOG_ADMIN_TOKEN")
        .ok()
        .filter(|t| !t.is_empty())
}

/// Refuses a `SEALOG_ADMIN_TOKEN` too short to be a secret.
pub fn check_env_admin(token: &str) -> anyhow::Result<()> {
    anyhow::ensure!(
        token.len() >= ENV_ADMIN_TOKEN_CHARS_MIN,
        "SEALOG_ADMIN_TOKEN must be at least {ENV_ADMIN_TOKEN_CHARS_MIN} characters"
    );
    Ok(())
}

impl KeyStore {
    /// Opens `DIR/keys.json`. On first start (no file) and without `env_admin`, creates
    /// an all-tenants admin key and writes its token to `DIR/admin.token` (mode 0600).
    /// `env_admin` (from `SEALOG_ADMIN_TOKEN`) is an all-tenants admin key held in
    /// memory only.
    pub fn open(data_dir: &Path, env_admin: Option<&str>) -> anyhow::Result<KeyStore> {
        let path = data_dir.join("keys.json");
        let first_start = !path.exists();
        let records = if first_start {
            Vec::new()
        } else {
            let text =
                std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
            let file: KeysFile = serde_json::from_slice(&text)
                .with_context(|| format!("{} is not a valid key file", path.display()))?;
            anyhow::ensure!(
                file.version == 1,
                "{}: unknown version {}",
                path.display(),
                file.version
            );
            file.keys
        };
        let env_admin = match env_admin {
            Some(token) => {
                check_env_admin(token)?;
                let hash = token_hash(token);
                let mut id = [0u8; 16];
                id.copy_from_slice(&hash[..16]);
                let id = uuid::Builder::from_random_bytes(id).into_uuid().to_string();
                Some((
                    hash,
                    Arc::new(Key {
                        id,
                        role: Role::Admin,
                        scope: Scope::All,
                    }),
                ))
            }
            None => None,
        };
        let store = KeyStore {
            path,
            records: RwLock::new(records),
            by_hash: RwLock::new(HashMap::new()),
            last_used: Mutex::new(HashMap::new()),
            save: Mutex::new(()),
            env_admin,
        };
        store.reindex()?;
        if store.env_admin.is_some() {
            if first_start {
                store.save()?;
            }
        } else if first_start {
            let token = new_token();
            store.create("bootstrap admin", Role::Admin, Scope::All, &token)?;
            let token_path = data_dir.join("admin.token");
            write_private(&token_path, format!("{token}\n").as_bytes())?;
            tracing::warn!(path = %token_path.display(), "created the first admin key; its token is in this file (mode 0600)");
        } else if !store.records.read().iter().any(|r| r.role == Role::Admin) {
            // E.g. first started with SEALOG_ADMIN_TOKEN, now without it: nobody can
            // create or delete keys until it is set again.
            tracing::warn!(path = %store.path.display(), "no admin key: keys.json holds none and SEALOG_ADMIN_TOKEN is not set, so keys cannot be managed until it is");
        }
        Ok(store)
    }

    fn reindex(&self) -> anyhow::Result<()> {
        let mut map = HashMap::new();
        for r in self.records.read().iter() {
            let (hash, key) = key_of(r)?;
            map.insert(hash, key);
        }
        if let Some((hash, key)) = &self.env_admin {
            map.insert(*hash, key.clone());
        }
        *self.by_hash.write() = map;
        Ok(())
    }

    /// The key a token belongs to; records its use.
    pub fn authenticate(&self, token: &str) -> Option<Arc<Key>> {
        let key = self.by_hash.read().get(&token_hash(token)).cloned()?;
        self.last_used
            .lock()
            .insert(key.id.clone(), sealog_engine::time::now_us());
        Some(key)
    }

    /// Creates a key for `token`; returns its record.
    pub fn create(
        &self,
        name: &str,
        role: Role,
        scope: Scope,
        token: &str,
    ) -> anyhow::Result<KeyRecord> {
        let _save = self.save.lock();
        anyhow::ensure!(
            self.records.read().len() < crate::limits::KEYS_MAX,
            "the key store is full"
        );
        let record = KeyRecord {
            id: uuid::Uuid::new_v4().to_string(),
            name: name.to_string(),
            role,
            tenant: scope.as_str().to_string(),
            token_sha256: hex::encode(token_hash(token)),
            created_at: sealog_engine::time::format_rfc3339_us(sealog_engine::time::now_us()),
            last_used_at: None,
        };
        let mut next = self.records.read().clone();
        next.push(record.clone());
        self.write(&next)?;
        *self.records.write() = next;
        self.reindex()?;
        Ok(record)
    }

    /// Deletes a key; `false` if there is none with this id. Takes effect at once.
    pub fn delete(&self, id: &str) -> anyhow::Result<bool> {
        let _save = self.save.lock();
        let mut next = self.records.read().clone();
        let before = next.len();
        next.retain(|r| r.id != id);
        if next.len() == before {
            return Ok(false);
        }
        self.write(&next)?;
        *self.records.write() = next;
        self.reindex()?;
        Ok(true)
    }

    /// Every stored key, with last use merged in.
    pub fn list(&self) -> Vec<KeyRecord> {
        let used = self.last_used.lock().clone();
        self.records
            .read()
            .iter()
            .map(|r| {
                let mut r = r.clone();
                if let Some(us) = used.get(&r.id) {
                    r.last_used_at = Some(sealog_engine::time::format_rfc3339_us(*us));
                }
                r
            })
            .collect()
    }

    /// Saves `last_used_at` values (at shutdown and periodically).
    pub fn save(&self) -> anyhow::Result<()> {
        let _save = self.save.lock();
        let next = self.list();
        self.write(&next)?;
        *self.records.write() = next;
        Ok(())
    }

    fn write(&self, records: &[KeyRecord]) -> anyhow::Result<()> {
        let file = KeysFile {
            version: 1,
            keys: records.to_vec(),
        };
        let bytes = serde_json::to_vec_pretty(&file)?;
        write_private(&self.path, &bytes)
    }
}

/// Writes `bytes` to `path` atomically with mode 0600: temp file, fsync, rename, fsync
/// of the directory.
pub fn write_private(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let tmp = path.with_extension("tmp");
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)
        .with_context(|| format!("creating {}", tmp.display()))?;
    f.write_all(bytes)
        .with_context(|| format!("writing {}", tmp.display()))?;
    f.sync_all()
        .with_context(|| format!("fsync {}", tmp.display()))?;
    drop(f);
    std::fs::rename(&tmp, path).with_context(|| format!("renaming to {}", path.display()))?;
    if let Some(dir) = path.parent() {
        std::fs::File::open(dir)
            .and_then(|d| d.sync_all())
            .with_context(|| format!("fsync {}", dir.display()))?;
    }
    Ok(())
}
