//! The transparency log: follows the log into per-tenant trees, issues signed
//! checkpoints, and serves checkpoints and proofs.
//!
//! One follower thread, like the search indexer: it reads the (tenant, seq, hash) of
//! each *durable* event from its frame, appends the leaf and the subtrees it completes
//! to the tenant's node file, and at most once per `checkpoint_interval` syncs the node
//! files, records the position in `state`, then signs a checkpoint for every tenant
//! whose tree grew, appends it to the tenant's checkpoint file and syncs that before
//! publishing it. Proofs are served only for sizes with a checkpoint, whose nodes are
//! therefore synced.

use std::collections::HashMap;
use std::ops::ControlFlow;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use parking_lot::{Mutex, RwLock};

use super::audit::{AuditInput, TenantAudit};
use super::checkpoints::{CheckpointFile, StoredCheckpoint};
use super::note::{Checkpoint, NoteError, SigningKey};
use super::store::{GrowingTree, NodeFile, State, TreeStore};
use super::tree::{self, ProofError};
use super::Hash;
use crate::error::{EngineError, Result};
use crate::failure_log::FailureLog;
use crate::log::{Engine, ReadPace, ScanDirection};
use crate::storage::Storage;
use crate::types::{Lsn, Seq, TenantId};
use crate::verify::VerifyReport;

/// Events the follower reads per batch.
pub const MERKLE_BATCH_EVENTS: u64 = 16_384;
/// Default time between two checkpoints of a tenant that receives events.
pub const CHECKPOINT_INTERVAL_DEFAULT: Duration = Duration::from_secs(1);
/// The log name when none is configured: key name, and origin prefix.
pub const LOG_NAME_DEFAULT: &str = "sealog";

/// Where and how the transparency log runs.
#[derive(Debug, Clone)]
pub struct TransparencyConfig {
    /// `<data_dir>/merkle`.
    pub dir: PathBuf,
    /// Time between two checkpoints of a tenant receiving events.
    pub checkpoint_interval: Duration,
}

impl TransparencyConfig {
    /// The defaults for a data directory.
    pub fn new(data_dir: &std::path::Path) -> TransparencyConfig {
        TransparencyConfig {
            dir: data_dir.join("merkle"),
            checkpoint_interval: CHECKPOINT_INTERVAL_DEFAULT,
        }
    }
}

/// Why a checkpoint or proof request cannot be answered.
#[derive(Debug, thiserror::Error)]
pub enum IntegrityError {
    /// The tenant has no checkpoint of that size (or none at all).
    #[error("{0}")]
    NotFound(String),
    /// The event is not covered by the requested checkpoint (yet).
    #[error("{0}")]
    NotCovered(String),
    /// The request's numbers are inconsistent.
    #[error("{0}")]
    Invalid(String),
    /// The stored state could not be read.
    #[error(transparent)]
    Engine(#[from] EngineError),
}

/// A checkpoint as served: its parts and the signed note.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedCheckpoint {
    /// `<log name>/<tenant>`.
    pub origin: String,
    /// Tree size.
    pub size: u64,
    /// Root hash.
    pub root: Hash,
    /// Issue time, µs since the epoch (outside the signature).
    pub issued_at_us: i64,
    /// The C2SP signed note.
    pub note: String,
}

/// An RFC 9162 inclusion proof.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InclusionProof {
    /// Leaf index (seq − 1).
    pub leaf_index: u64,
    /// Tree size the proof is for.
    pub tree_size: u64,
    /// That tree's root.
    pub root: Hash,
    /// The audit path, leaf side first.
    pub path: Vec<Hash>,
}

/// An RFC 9162 consistency proof.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsistencyProof {
    /// The older size.
    pub first: u64,
    /// The newer size.
    pub second: u64,
    /// Root at `first`.
    pub first_root: Hash,
    /// Root at `second`.
    pub second_root: Hash,
    /// The proof.
    pub path: Vec<Hash>,
}

/// Follower progress, for metrics and health.
#[derive(Debug, Clone, Default)]
pub struct TransparencyStatus {
    /// Every durable event up to this LSN is in a tree.
    pub followed_lsn: Lsn,
    /// Checkpoints issued since start.
    pub checkpoints_issued: u64,
    /// Tenants whose tree stopped at damage in the log, with why.
    pub stalled: Vec<(TenantId, String)>,
    /// The follower's last failure, if it is failing.
    pub failure: Option<String>,
}

struct Tenant {
    nodes: Arc<NodeFile>,
    checkpoints: Arc<RwLock<CheckpointFile>>,
    /// Leaves whose nodes are synced: proofs may read below it. After a rebuild it
    /// trails the stored checkpoints until the follower catches up.
    synced: AtomicU64,
}

struct Shared {
    engine: Arc<Engine>,
    storage: Arc<dyn Storage>,
    config: TransparencyConfig,
    key: SigningKey,
    store: TreeStore,
    tenants: RwLock<HashMap<TenantId, Arc<Tenant>>>,
    status: Mutex<TransparencyStatus>,
    stop: AtomicBool,
}

/// The transparency log of one data directory. Share it (`Arc`); dropping it stops the
/// follower after a last sync and checkpoint.
pub struct Transparency {
    shared: Arc<Shared>,
    thread: Mutex<Option<JoinHandle<()>>>,
    _lock: Box<dyn std::fmt::Debug + Send + Sync>,
}

impl std::fmt::Debug for Transparency {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Transparency")
            .field("dir", &self.shared.config.dir)
            .finish_non_exhaustive()
    }
}

impl Transparency {
    /// Opens the trees and checkpoints under `config.dir` and starts the follower.
    pub fn open(
        engine: Arc<Engine>,
        storage: Arc<dyn Storage>,
        config: TransparencyConfig,
        key: SigningKey,
    ) -> Result<Transparency> {
        let store = TreeStore::new(config.dir.clone(), storage.clone())?;
        // One follower per directory: two would append to the same node files.
        let lock = crate::storage::lock_dir(storage.as_ref(), &config.dir)?;
        let (lsn, trees) = store.open_all()?;
        let shared = Arc::new(Shared {
            engine,
            storage,
            config,
            key,
            store,
            tenants: RwLock::new(HashMap::new()),
            status: Mutex::new(TransparencyStatus {
                followed_lsn: lsn,
                ..TransparencyStatus::default()
            }),
            stop: AtomicBool::new(false),
        });
        // Tenants with checkpoints but no tree file yet (a rebuild) are served too.
        let mut names: Vec<TenantId> = trees.keys().cloned().collect();
        for name in shared.storage.list(&shared.config.dir).unwrap_or_default() {
            if let Some(t) = name.strip_suffix(".ckpt") {
                if let Ok(t) = TenantId::new(t) {
                    names.push(t);
                }
            }
        }
        names.sort();
        names.dedup();
        let mut follower_trees = HashMap::new();
        let mut trees = trees;
        for tenant in names {
            let tree = match trees.remove(&tenant) {
                Some(t) => t,
                None => shared.store.open_tree(&tenant, 0)?,
            };
            let ckpt = shared.open_checkpoints(&tenant)?;
            shared.tenants.write().insert(
                tenant.clone(),
                Arc::new(Tenant {
                    nodes: tree.nodes.clone(),
                    checkpoints: ckpt,
                    synced: AtomicU64::new(tree.frontier.size()),
                }),
            );
            follower_trees.insert(tenant, tree);
        }
        let thread_shared = shared.clone();
        let thread = std::thread::Builder::new()
            .name("sealog-merkle".into())
            .spawn(move || run(thread_shared, lsn, follower_trees))
            .map_err(|e| EngineError::Io {
                path: PathBuf::from("<thread>"),
                op: "spawn merkle follower",
                source: e,
            })?;
        Ok(Transparency {
            shared,
            thread: Mutex::new(Some(thread)),
            _lock: lock,
        })
    }

    /// The signing key's verifier key (C2SP vkey) and raw public key.
    pub fn key(&self) -> &SigningKey {
        &self.shared.key
    }

    /// `<log name>/<tenant>`.
    pub fn origin(&self, tenant: &TenantId) -> String {
        origin(&self.shared.key, tenant)
    }

    /// Follower progress.
    pub fn status(&self) -> TransparencyStatus {
        self.shared.status.lock().clone()
    }

    /// The tenant's newest checkpoint.
    pub fn latest_checkpoint(
        &self,
        tenant: &TenantId,
    ) -> Result<Option<SignedCheckpoint>, IntegrityError> {
        let Some(t) = self.shared.tenants.read().get(tenant).cloned() else {
            return Ok(None);
        };
        let latest = t.checkpoints.read().latest();
        latest.map(|c| self.signed(tenant, &c)).transpose()
    }

    /// The tenant's checkpoint of exactly `size` leaves.
    pub fn checkpoint_at(
        &self,
        tenant: &TenantId,
        size: u64,
    ) -> Result<Option<SignedCheckpoint>, IntegrityError> {
        let Some(t) = self.shared.tenants.read().get(tenant).cloned() else {
            return Ok(None);
        };
        let found = t.checkpoints.read().at_size(size)?;
        found.map(|c| self.signed(tenant, &c)).transpose()
    }

    /// Inclusion proof of the event of seq `seq` in the tree of `size` leaves (default:
    /// the latest checkpoint's size). The size must have a checkpoint.
    pub fn inclusion(
        &self,
        tenant: &TenantId,
        seq: Seq,
        size: Option<u64>,
    ) -> Result<InclusionProof, IntegrityError> {
        let (t, cp) = self.checkpointed(tenant, size)?;
        if seq.0 == 0 || seq.0 > cp.size {
            return Err(IntegrityError::NotCovered(format!(
                "event seq {seq} is not covered by the checkpoint of tree size {} (checkpoints are issued about once a second; retry shortly)",
                cp.size
            )));
        }
        let path = tree::inclusion_proof(t.nodes.as_ref(), seq.0 - 1, cp.size)
            .map_err(|e| proof_error(&t.nodes, e))?;
        Ok(InclusionProof {
            leaf_index: seq.0 - 1,
            tree_size: cp.size,
            root: cp.root,
            path,
        })
    }

    /// Consistency proof between two checkpointed sizes, `1 <= first <= second`.
    pub fn consistency(
        &self,
        tenant: &TenantId,
        first: u64,
        second: u64,
    ) -> Result<ConsistencyProof, IntegrityError> {
        if first == 0 || first > second {
            return Err(IntegrityError::Invalid(format!(
                "consistency needs 1 <= first <= second, got first={first}, second={second}"
            )));
        }
        let (_, a) = self.checkpointed(tenant, Some(first))?;
        let (t, b) = self.checkpointed(tenant, Some(second))?;
        let path = tree::consistency_proof(t.nodes.as_ref(), first, second)
            .map_err(|e| proof_error(&t.nodes, e))?;
        Ok(ConsistencyProof {
            first,
            second,
            first_root: a.root,
            second_root: b.root,
            path,
        })
    }

    /// The tenant's whole verify-chain (every hash and link) and its Merkle audit from
    /// one read of the log, on all cores: the stored nodes (as far as they are synced)
    /// and checkpoints are checked against the events (see [`super::audit`]).
    pub fn verify_chain(&self, tenant: &TenantId) -> Result<(VerifyReport, TenantAudit)> {
        let node_leaves = self
            .shared
            .tenants
            .read()
            .get(tenant)
            .map_or(0, |t| t.synced.load(Ordering::SeqCst));
        let key = self.shared.key.verifier();
        super::audit::verify_and_audit_tenant(
            &self.shared.engine,
            self.shared.storage.as_ref(),
            &AuditInput {
                dir: &self.shared.config.dir,
                tenant,
                node_leaves,
                key: Some(&key),
            },
        )
    }

    /// Stops the follower after a last sync and checkpoint. Also done on drop.
    pub fn close(&self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.lock().take() {
            let _ = t.join();
        }
    }

    fn checkpointed(
        &self,
        tenant: &TenantId,
        size: Option<u64>,
    ) -> Result<(Arc<Tenant>, StoredCheckpoint), IntegrityError> {
        let none = || {
            IntegrityError::NotFound(format!(
                "tenant {tenant} has no checkpoint yet (its first is issued about a second after its first event)"
            ))
        };
        let t = self
            .shared
            .tenants
            .read()
            .get(tenant)
            .cloned()
            .ok_or_else(none)?;
        let cp = {
            let ckpts = t.checkpoints.read();
            match size {
                None => ckpts.latest().ok_or_else(none)?,
                Some(n) => ckpts.at_size(n)?.ok_or_else(|| {
                    IntegrityError::NotFound(format!(
                        "tenant {tenant} has no checkpoint of tree size {n} (proofs are served for checkpointed sizes only; GET /api/audit-logs/checkpoint gives the latest)"
                    ))
                })?,
            }
        };
        let synced = t.synced.load(Ordering::SeqCst);
        if cp.size > synced {
            return Err(IntegrityError::NotCovered(format!(
                "tenant {tenant}'s tree is being rebuilt from the log ({synced} of {} leaves); retry shortly",
                cp.size
            )));
        }
        Ok((t, cp))
    }

    fn signed(
        &self,
        tenant: &TenantId,
        c: &StoredCheckpoint,
    ) -> Result<SignedCheckpoint, IntegrityError> {
        let origin = self.origin(tenant);
        let body = c
            .checkpoint(&origin)
            .map_err(|e| note_error(&self.shared, e))?;
        let note = self.shared.key.note_with_signature(&body, &c.signature);
        Ok(SignedCheckpoint {
            origin,
            size: c.size,
            root: c.root,
            issued_at_us: c.issued_at_us,
            note,
        })
    }
}

impl Drop for Transparency {
    fn drop(&mut self) {
        self.close();
    }
}

fn origin(key: &SigningKey, tenant: &TenantId) -> String {
    format!("{}/{tenant}", key.name())
}

fn note_error(shared: &Shared, e: NoteError) -> IntegrityError {
    IntegrityError::Engine(EngineError::Format {
        path: shared.config.dir.clone(),
        why: e.to_string(),
    })
}

fn proof_error(nodes: &NodeFile, e: ProofError<std::io::Error>) -> IntegrityError {
    match e {
        ProofError::Source(source) => IntegrityError::Engine(EngineError::Io {
            path: nodes.path().to_path_buf(),
            op: "read node",
            source,
        }),
        other => IntegrityError::Invalid(other.to_string()),
    }
}

impl Shared {
    fn open_checkpoints(&self, tenant: &TenantId) -> Result<Arc<RwLock<CheckpointFile>>> {
        let file = CheckpointFile::open(self.storage.as_ref(), &self.config.dir, tenant, true)?
            .ok_or_else(|| EngineError::Format {
                path: self.config.dir.clone(),
                why: format!("checkpoint file of tenant {tenant} vanished"),
            })?;
        if let Some(latest) = file.latest() {
            if latest.key_id != self.key.key_id() {
                return Err(EngineError::Format {
                    path: file.path().to_path_buf(),
                    why: format!(
                        "checkpoints were signed by key id {} but the configured key {} has id {} (key rotation is not supported: configure the original key)",
                        hex::encode(latest.key_id),
                        self.key.name(),
                        hex::encode(self.key.key_id())
                    ),
                });
            }
        }
        Ok(Arc::new(RwLock::new(file)))
    }
}

/// The follower thread: retries after failures (reported in the status).
fn run(shared: Arc<Shared>, lsn: Lsn, trees: HashMap<TenantId, GrowingTree>) {
    let mut follower = Follower {
        shared: &shared,
        next: Lsn(lsn.0 + 1),
        synced_lsn: lsn,
        trees,
        stalled: HashMap::new(),
        grown: false,
    };
    let mut log = FailureLog::default();
    loop {
        match follower.follow() {
            Ok(()) => return,
            Err(e) => {
                let failure = e.to_string();
                if log.should_log(&failure) {
                    tracing::error!(error = %failure, "Merkle follower failed; retrying every second (checkpoints wait)");
                }
                shared.status.lock().failure = Some(failure);
                if shared.stop.load(Ordering::SeqCst) {
                    return;
                }
                std::thread::sleep(Duration::from_secs(1));
                // Start again from what is synced.
                match shared.store.open_all() {
                    Ok((lsn, trees)) => {
                        follower.next = Lsn(lsn.0 + 1);
                        follower.synced_lsn = lsn;
                        follower.trees = trees;
                    }
                    Err(e) => tracing::error!(error = %e, "reopening the Merkle trees failed"),
                }
            }
        }
    }
}

struct Follower<'a> {
    shared: &'a Shared,
    next: Lsn,
    synced_lsn: Lsn,
    trees: HashMap<TenantId, GrowingTree>,
    stalled: HashMap<TenantId, String>,
    grown: bool,
}

impl Follower<'_> {
    /// The highest LSN durable *and* visible: the syncer publishes durability a moment
    /// before readers see the events, and a scan of what they cannot see yet skips it.
    fn readable(&self) -> Lsn {
        let stats = self.shared.engine.stats();
        stats.durable_lsn.min(stats.visible_lsn)
    }

    fn follow(&mut self) -> Result<()> {
        let mut last_cycle = Instant::now();
        let mut pace = ReadPace::default();
        loop {
            let stopping = self.shared.stop.load(Ordering::SeqCst);
            if self.next <= self.readable() {
                let end =
                    pace.next_read(self.next, MERKLE_BATCH_EVENTS, stopping, || self.readable());
                self.read(self.next..end)?;
                self.next = end;
                if stopping {
                    // Catch up before the last checkpoint.
                    continue;
                }
            }
            let interval = self.shared.config.checkpoint_interval;
            if stopping || (self.grown && last_cycle.elapsed() >= interval) {
                self.sync_and_sign()?;
                last_cycle = Instant::now();
                self.shared.status.lock().failure = None;
            }
            if stopping {
                return Ok(());
            }
            let stats = self.shared.engine.stats();
            if self.next > stats.durable_lsn.min(stats.visible_lsn) {
                let wait = if self.grown {
                    interval.saturating_sub(last_cycle.elapsed())
                } else {
                    interval
                }
                .clamp(Duration::from_millis(1), Duration::from_millis(100));
                if stats.visible_lsn >= self.next {
                    // Visible but not yet durable (durability interval or none).
                    std::thread::sleep(wait.min(Duration::from_millis(2)));
                } else {
                    self.shared.engine.wait_visible(Lsn(self.next.0 - 1), wait);
                }
            }
        }
    }

    /// Adds the events of `range` to their tenants' trees.
    fn read(&mut self, range: std::ops::Range<Lsn>) -> Result<()> {
        let mut failed = None;
        let shared = self.shared;
        let trees = &mut self.trees;
        let stalled = &mut self.stalled;
        shared.engine.visit(range, ScanDirection::Forward, |item| {
            let ev = match item {
                Ok(ev) => ev,
                // Damage: the tenant is unknown here; its next event will not continue
                // its tree, and that tenant stalls (below).
                Err(_) => return ControlFlow::Continue(()),
            };
            let Ok(tenant) = TenantId::new(ev.tenant) else {
                return ControlFlow::Continue(());
            };
            if stalled.contains_key(&tenant) {
                return ControlFlow::Continue(());
            }
            let tree = match trees.get_mut(&tenant) {
                Some(t) => t,
                None => match shared.new_tenant(&tenant) {
                    Ok(t) => trees.entry(tenant.clone()).or_insert(t),
                    Err(e) => {
                        failed = Some(e);
                        return ControlFlow::Break(());
                    }
                },
            };
            let size = tree.frontier.size();
            if ev.seq.0 != size + 1 {
                let why = format!(
                    "event seq {} (lsn {}) follows tree size {size}: an event before it is damaged; no checkpoint covers this tenant past seq {size}",
                    ev.seq, ev.lsn
                );
                tracing::error!(tenant = %tenant, why, "Merkle tree stalled");
                stalled.insert(tenant, why);
                return ControlFlow::Continue(());
            }
            if let Err(e) = tree.push(&ev.hash) {
                failed = Some(e);
                return ControlFlow::Break(());
            }
            ControlFlow::Continue(())
        });
        if let Some(e) = failed {
            return Err(e);
        }
        for tree in self.trees.values_mut() {
            tree.flush()?;
        }
        self.grown = true;
        Ok(())
    }

    /// Syncs the node files, records the position, then signs, stores and publishes a
    /// checkpoint for every tenant whose tree grew.
    fn sync_and_sign(&mut self) -> Result<()> {
        let followed = Lsn(self.next.0 - 1);
        for tree in self.trees.values_mut() {
            tree.sync()?;
        }
        if followed != self.synced_lsn {
            let mut sizes: Vec<(TenantId, u64)> = self
                .trees
                .iter()
                .map(|(t, tree)| (t.clone(), tree.frontier.size()))
                .collect();
            sizes.sort();
            self.shared.store.write_state(&State {
                lsn: followed,
                sizes,
            })?;
            self.synced_lsn = followed;
        }
        let now = crate::time::now_us();
        let mut issued = 0;
        for (tenant, tree) in &self.trees {
            let size = tree.frontier.size();
            let t = self.shared.tenant(tenant)?;
            t.synced.store(size, Ordering::SeqCst);
            let latest = t.checkpoints.read().latest().map_or(0, |c| c.size);
            if size <= latest {
                continue;
            }
            let root = tree.frontier.root();
            let body =
                Checkpoint::new(&origin(&self.shared.key, tenant), size, root).map_err(|e| {
                    EngineError::Format {
                        path: self.shared.config.dir.clone(),
                        why: e.to_string(),
                    }
                })?;
            let signature = self.shared.key.sign_checkpoint(&body);
            let record = StoredCheckpoint {
                size,
                issued_at_us: now,
                root,
                key_id: self.shared.key.key_id(),
                signature,
            };
            let mut ckpts = t.checkpoints.write();
            ckpts.append(&record)?;
            ckpts.sync()?;
            issued += 1;
        }
        let mut status = self.shared.status.lock();
        status.followed_lsn = followed;
        status.checkpoints_issued += issued;
        status.stalled = self
            .stalled
            .iter()
            .map(|(t, w)| (t.clone(), w.clone()))
            .collect();
        self.grown = false;
        Ok(())
    }
}

impl Shared {
    /// A new tenant's tree and checkpoint file, published for readers.
    fn new_tenant(&self, tenant: &TenantId) -> Result<GrowingTree> {
        let tree = self.store.open_tree(tenant, 0)?;
        let existing = self.tenants.read().get(tenant).cloned();
        if existing.is_none() {
            let checkpoints = self.open_checkpoints(tenant)?;
            self.tenants.write().insert(
                tenant.clone(),
                Arc::new(Tenant {
                    nodes: tree.nodes.clone(),
                    checkpoints,
                    synced: AtomicU64::new(0),
                }),
            );
        }
        Ok(tree)
    }

    fn tenant(&self, tenant: &TenantId) -> Result<Arc<Tenant>> {
        self.tenants
            .read()
            .get(tenant)
            .cloned()
            .ok_or_else(|| EngineError::Format {
                path: self.config.dir.clone(),
                why: format!("tenant {tenant} has a tree but no checkpoint file"),
            })
    }
}
