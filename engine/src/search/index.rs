//! [`SearchIndex`]: opening the tantivy index beside the log, its shared state, and
//! the indexer thread's lifetime.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use parking_lot::{Mutex, RwLock};
use tantivy::directory::MmapDirectory;
use tantivy::{Index, IndexReader, ReloadPolicy, Searcher};

use super::overlay::Resolutions;
use super::schema::{schema, Fields, WordsTokenizer, WORDS_TOKENIZER};
use super::segments::{sorted_segments, SegmentCounts, SortedSegments};
use super::tail::{Demand, Tail};
use crate::error::{EngineError, IoContext, Result};
use crate::log::Engine;
use crate::types::Lsn;

/// Settings of the secondary index.
#[derive(Debug, Clone)]
pub struct SearchConfig {
    /// Where the tantivy index lives (`<data_dir>/search`).
    pub dir: PathBuf,
    /// Commit after this many new events (default 100,000).
    pub commit_events: u64,
    /// Commit at least this often while events arrive (default 1 s).
    pub commit_interval: Duration,
    /// Most events after the last commit that queries keep in memory (default
    /// [`INDEX_PENDING_EVENTS_DEFAULT`](crate::limits::INDEX_PENDING_EVENTS_DEFAULT)).
    pub pending_events_max: u64,
    /// tantivy writer memory budget in bytes (default 256 MiB).
    pub writer_memory_bytes: usize,
    /// tantivy indexing threads (default 1: each index segment then holds a contiguous
    /// LSN range, which is what lets time-range queries skip segments; 2 indexes
    /// faster on two cores, with segments that overlap in time until merged).
    pub writer_threads: usize,
}

impl SearchConfig {
    /// Defaults for a data directory.
    pub fn new(data_dir: &Path) -> SearchConfig {
        SearchConfig {
            dir: data_dir.join("search"),
            commit_events: crate::limits::INDEX_COMMIT_EVENTS_DEFAULT,
            commit_interval: Duration::from_millis(1000),
            pending_events_max: crate::limits::INDEX_PENDING_EVENTS_DEFAULT,
            writer_memory_bytes: 256 * 1024 * 1024,
            writer_threads: 1,
        }
    }
}

/// What queries read, replaced together at each commit.
#[derive(Debug)]
pub(crate) struct State {
    /// The committed index.
    pub searcher: Searcher,
    /// Highest LSN in the committed index.
    pub committed: Lsn,
    /// Highest LSN the indexer has read (and whose resolutions are in the overlay).
    pub processed: Lsn,
    /// Which of the searcher's segments hold their documents in LSN order.
    pub sorted: SortedSegments,
}

/// Counters for metrics and tests.
#[derive(Debug, Default)]
pub struct SearchMetrics {
    /// Events indexed since open.
    pub indexed_events: AtomicU64,
    /// Commits since open.
    pub commits: AtomicU64,
    /// Index segments searched by queries since open.
    pub segments_searched: AtomicU64,
    /// Index segments skipped by queries because their LSNs (hence times) lie outside
    /// the query's range.
    pub segments_pruned: AtomicU64,
    /// Log events read for queries because they were not committed to the index yet
    /// (read-your-writes): into the pending set, or scanned past its bound.
    pub tail_events_scanned: AtomicU64,
}

/// Everything the indexer thread and queries share.
pub(crate) struct Shared {
    pub engine: Arc<Engine>,
    pub config: SearchConfig,
    pub index: Index,
    pub reader: IndexReader,
    pub fields: Fields,
    pub state: RwLock<State>,
    /// Counts of whole segments for repeated filters.
    pub counts: SegmentCounts,
    pub resolutions: RwLock<Resolutions>,
    /// The events after the last commit, gathered for queries (read-your-writes).
    pub tail: Mutex<Tail>,
    /// When queries last came.
    pub demand: Demand,
    pub metrics: SearchMetrics,
    pub stop: AtomicBool,
    /// Tests hold the indexer still to have a log tail the index has not read.
    pub paused: AtomicBool,
    /// Unit tests make the indexer panic once, when it reads this LSN (0: never).
    #[cfg(test)]
    pub panic_once_at: AtomicU64,
    /// The indexer's last failure, if it is failing.
    pub failure: Mutex<Option<String>>,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SearchShared")
            .field("dir", &self.config.dir)
            .finish_non_exhaustive()
    }
}

/// The secondary index over the log: filters, counts, summaries, full text.
#[derive(Debug)]
pub struct SearchIndex {
    pub(crate) shared: Arc<Shared>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

/// The payload stored in each tantivy commit: where the index is in the log.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
struct Payload {
    /// Highest LSN indexed.
    lsn: u64,
    /// That event's hash (hex), to notice a log that is not the one indexed.
    hash: String,
}

impl SearchIndex {
    /// Opens the index in `config.dir` (creating it if missing), checks that it
    /// describes this log (else drops and rebuilds it), restores the resolution overlay,
    /// and starts the indexer thread, which catches up from the last commit.
    pub fn open(engine: Arc<Engine>, config: SearchConfig) -> Result<SearchIndex> {
        let (index, committed) = open_or_rebuild(&engine, &config)?;
        let idx_err = |source| EngineError::Index {
            path: config.dir.clone(),
            source,
        };
        index
            .tokenizers()
            .register(WORDS_TOKENIZER, WordsTokenizer::default());
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()
            .map_err(idx_err)?;
        let (_, fields) = schema();
        let searcher = reader.searcher();
        let state = State {
            sorted: sorted_segments(&searcher, &SortedSegments::default()),
            searcher,
            committed,
            processed: committed,
        };
        let shared = Arc::new(Shared {
            engine,
            index,
            reader,
            fields,
            state: RwLock::new(state),
            counts: SegmentCounts::default(),
            resolutions: RwLock::new(Resolutions::default()),
            tail: Mutex::new(Tail::default()),
            demand: Demand::default(),
            metrics: SearchMetrics::default(),
            stop: AtomicBool::new(false),
            paused: AtomicBool::new(false),
            #[cfg(test)]
            panic_once_at: AtomicU64::new(0),
            failure: Mutex::new(None),
            config,
        });
        super::indexer::restore_resolutions(&shared)?;
        let worker = shared.clone();
        let thread = std::thread::Builder::new()
            .name("sealog-indexer".into())
            .spawn(move || super::indexer::run(worker))
            .map_err(|source| EngineError::Io {
                path: shared.config.dir.clone(),
                op: "spawn thread",
                source,
            })?;
        Ok(SearchIndex {
            shared,
            thread: Mutex::new(Some(thread)),
        })
    }

    /// Highest LSN in the committed index, and highest LSN read by the indexer.
    pub fn progress(&self) -> (Lsn, Lsn) {
        let state = self.shared.state.read();
        (state.committed, state.processed)
    }

    /// Documents in the committed index (one per indexed event).
    pub fn committed_docs(&self) -> u64 {
        self.shared.state.read().searcher.num_docs()
    }

    /// The committed index's segments, oldest LSNs first: (lowest LSN, highest LSN,
    /// documents, in LSN order). For tests and benchmarks (docs/QUERY.md, "Segments in
    /// LSN order").
    pub fn segment_layout(&self) -> Vec<(u64, u64, u32, bool)> {
        let state = self.shared.state.read();
        let mut layout: Vec<(u64, u64, u32, bool)> = state
            .searcher
            .segment_readers()
            .iter()
            .filter_map(|r| {
                let lsn = r.fast_fields().u64("lsn").ok()?;
                let sorted = state.sorted.get(&r.segment_id()).is_some_and(|s| s.sorted);
                Some((lsn.min_value(), lsn.max_value(), r.num_docs(), sorted))
            })
            .collect();
        layout.sort_unstable();
        layout
    }

    /// Events after the last commit held in memory for queries (the pending set).
    pub fn pending_events(&self) -> usize {
        self.shared.tail.lock().pending().len()
    }

    /// Counters.
    pub fn metrics(&self) -> &SearchMetrics {
        &self.shared.metrics
    }

    /// The indexer's last failure, while it is failing (it retries).
    pub fn failure(&self) -> Option<String> {
        self.shared.failure.lock().clone()
    }

    /// Blocks until the indexer has committed everything up to `lsn` (tests, reindex).
    pub fn wait_committed(&self, lsn: Lsn, timeout: Duration) -> bool {
        let deadline = std::time::Instant::now() + timeout;
        while std::time::Instant::now() < deadline {
            if self.progress().0 >= lsn {
                return true;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        false
    }

    /// Holds the indexer still (it reads nothing new) or lets it go on. For tests: a
    /// held indexer leaves a tail of the log that queries must scan.
    #[doc(hidden)]
    pub fn hold_indexer(&self, held: bool) {
        self.shared.paused.store(held, Ordering::SeqCst);
    }

    /// Stops the indexer after a final commit. Also done on drop.
    pub fn close(&self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.lock().take() {
            let _ = t.join();
        }
    }
}

impl Drop for SearchIndex {
    fn drop(&mut self) {
        self.close();
    }
}

/// Opens the index, or drops and recreates it when it is missing, unreadable, or does
/// not describe this log (its last indexed event is absent or has another hash).
fn open_or_rebuild(engine: &Engine, config: &SearchConfig) -> Result<(Index, Lsn)> {
    if let Some((index, lsn)) = open_existing(engine, config) {
        return Ok((index, lsn));
    }
    if std::fs::metadata(&config.dir).is_ok() {
        tracing::warn!(dir = %config.dir.display(), "the secondary index does not match the log; rebuilding it from the log");
        std::fs::remove_dir_all(&config.dir).ctx(&config.dir, "remove index")?;
    }
    std::fs::create_dir_all(&config.dir).ctx(&config.dir, "create dir")?;
    let (schema, _) = schema();
    let index = Index::create_in_dir(&config.dir, schema).map_err(|source| EngineError::Index {
        path: config.dir.clone(),
        source,
    })?;
    Ok((index, Lsn(0)))
}

fn open_existing(engine: &Engine, config: &SearchConfig) -> Option<(Index, Lsn)> {
    let dir = MmapDirectory::open(&config.dir).ok()?;
    if !Index::exists(&dir).ok()? {
        return None;
    }
    let index = Index::open(dir).ok()?;
    if index.schema() != schema().0 {
        return None;
    }
    let payload = index.load_metas().ok()?.payload;
    let Some(payload) = payload else {
        return Some((index, Lsn(0)));
    };
    let payload: Payload = serde_json::from_str(&payload).ok()?;
    let ev = engine.get_by_lsn(Lsn(payload.lsn)).ok()??;
    (hex::encode(ev.hash) == payload.hash).then_some((index, Lsn(payload.lsn)))
}

/// The payload of a commit at `lsn`.
pub(crate) fn payload(engine: &Engine, lsn: Lsn) -> String {
    let hash = engine
        .get_by_lsn(lsn)
        .ok()
        .flatten()
        .map(|e| hex::encode(e.hash))
        .unwrap_or_default();
    serde_json::to_string(&Payload { lsn: lsn.0, hash }).unwrap_or_default()
}
