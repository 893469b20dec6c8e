//! The indexer thread: follows the log, feeds tantivy, commits by count and time.
//!
//! It reads events after the last committed LSN (never on the append path: it waits
//! for events to become visible, i.e. durable), adds each to the tantivy writer, and
//! keeps the resolution overlay current. Queries see events before their commit
//! through the pending set ([`super::tail`]), which the indexer keeps current only
//! while queries come. A commit stores the last indexed LSN and that event's
//! hash in tantivy's commit payload: a restart resumes exactly after it.

use std::ops::ControlFlow;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tantivy::collector::DocSetCollector;
use tantivy::indexer::UserOperation;
use tantivy::query::TermQuery;
use tantivy::schema::{Document, IndexRecordOption};
use tantivy::{IndexWriter, Term};

use super::fields::{IndexedFields, RESOLUTION_EVENT_TYPE};
use super::index::{payload, Shared};
use super::merge::LsnMergePolicy;
use super::schema::{document, IndexDoc};
use super::segments::sorted_segments;
use crate::error::{EngineError, Result};
use crate::failure_log::FailureLog;
use crate::limits::{INDEX_BATCH_EVENTS, INDEX_DOCS_IN_FLIGHT_MAX};
use crate::log::{ReadPace, ScanDirection};
use crate::types::Lsn;

/// The indexer thread's body: retries after failures and panics, every second
/// (reported through `failure`; logged when new, then once a minute while it lasts).
pub(crate) fn run(shared: Arc<Shared>) {
    let mut log = FailureLog::default();
    while !shared.stop.load(Ordering::SeqCst) {
        let failure = match std::panic::catch_unwind(AssertUnwindSafe(|| follow(&shared))) {
            Ok(Ok(())) => return,
            Ok(Err(e)) => e.to_string(),
            Err(panic) => format!("indexer panicked: {}", panic_message(&*panic)),
        };
        if log.should_log(&failure) {
            tracing::error!(error = %failure, "indexer failed; retrying every second (queries still see every event, from the log)");
        }
        *shared.failure.lock() = Some(failure);
        std::thread::sleep(Duration::from_secs(1));
    }
}

fn panic_message(panic: &(dyn std::any::Any + Send)) -> &str {
    panic
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| panic.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("(no message)")
}

fn follow(shared: &Shared) -> Result<()> {
    let idx_err = |source| EngineError::Index {
        path: shared.config.dir.clone(),
        source,
    };
    let mut writer: IndexWriter<Counted> = shared
        .index
        .writer_with_num_threads(
            shared.config.writer_threads.clamp(1, 8),
            shared.config.writer_memory_bytes,
        )
        .map_err(idx_err)?;
    writer.set_merge_policy(Box::new(LsnMergePolicy::new(shared.index.clone())));
    let in_flight = InFlight::default();
    // Start after the last commit (a failure drops uncommitted work).
    let committed = {
        let mut state = shared.state.write();
        state.processed = state.committed;
        state.committed
    };
    let mut next = Lsn(committed.0 + 1);
    let mut uncommitted = 0u64;
    let mut last_commit = Instant::now();
    let mut pace = ReadPace::default();
    loop {
        let stopping = shared.stop.load(Ordering::SeqCst);
        let visible = shared.engine.stats().visible_lsn;
        let held = shared.paused.load(Ordering::SeqCst);
        if next <= visible && !stopping && !held {
            let end = pace.next_read(next, INDEX_BATCH_EVENTS, false, || {
                shared.engine.stats().visible_lsn
            });
            index_batch(shared, &mut writer, &in_flight, next..end)?;
            // Every event read counts, indexed or skipped as unreadable: a log whose
            // last events cannot be indexed still gets a commit past them.
            uncommitted += end.0 - next.0;
            next = end;
        }
        let due = uncommitted >= shared.config.commit_events
            || (uncommitted > 0
                && (stopping || last_commit.elapsed() >= shared.config.commit_interval));
        if due {
            commit(shared, &mut writer, Lsn(next.0 - 1))?;
            uncommitted = 0;
            last_commit = Instant::now();
        }
        *shared.failure.lock() = None;
        if stopping {
            // Let running merges finish: nothing writes into the index directory after
            // close returns (a merge cut short is safe, but leaves files behind).
            return writer.wait_merging_threads().map_err(idx_err);
        }
        if held {
            std::thread::sleep(Duration::from_millis(5));
        } else if next > shared.engine.stats().visible_lsn {
            // Idle: an export or a verification that ended since the last commit
            // leaves its pages now, not at the next commit, which may be far off.
            shared.engine.release_pages_after_scans();
            let wait = shared
                .config
                .commit_interval
                .saturating_sub(last_commit.elapsed())
                .max(Duration::from_millis(1));
            shared
                .engine
                .wait_visible(Lsn(next.0 - 1), wait.min(Duration::from_millis(200)));
        }
    }
}

/// Indexes the events with LSN in `range`; returns how many were added. Resolutions
/// enter the overlay before `processed` says they were read.
fn index_batch(
    shared: &Shared,
    writer: &mut IndexWriter<Counted>,
    in_flight: &InFlight,
    range: std::ops::Range<Lsn>,
) -> Result<()> {
    #[cfg(test)]
    {
        let at = shared.panic_once_at.load(Ordering::SeqCst);
        if range.contains(&Lsn(at)) && shared.panic_once_at.swap(0, Ordering::SeqCst) == at {
            panic!("test panic at lsn {at}");
        }
    }
    let mut docs = Vec::new();
    let mut resolutions = Vec::new();
    let mut skipped = 0u64;
    shared
        .engine
        .visit(range.clone(), ScanDirection::Forward, |item| {
            let Ok(ev) = item else {
                // Damage is reported by open and by verify; an unreadable event cannot be
                // indexed, and reads of it fail with the damage.
                skipped += 1;
                return ControlFlow::<()>::Continue(());
            };
            match IndexedFields::extract(ev.body) {
                Ok(fields) => {
                    docs.push(document(&shared.fields, ev.lsn, ev.tenant, &fields));
                    if fields.is_resolution() {
                        resolutions.push(ev.lsn);
                    }
                }
                Err(e) => {
                    tracing::warn!(lsn = %ev.lsn, error = %e, "event body unreadable; not indexed");
                    skipped += 1;
                }
            }
            ControlFlow::Continue(())
        });
    for lsn in resolutions {
        apply_resolution(shared, lsn);
    }
    let (committed, processed) = {
        let mut state = shared.state.write();
        state.processed = Lsn(range.end.0 - 1);
        (state.committed, state.processed)
    };
    let added = docs.len() as u64;
    in_flight.wait_for_room(added);
    let batch: Vec<UserOperation<Counted>> = docs
        .into_iter()
        .map(|doc| UserOperation::Add(in_flight.count(doc)))
        .collect();
    writer.run(batch).map_err(|source| EngineError::Index {
        path: shared.config.dir.clone(),
        source,
    })?;
    shared
        .metrics
        .indexed_events
        .fetch_add(added, Ordering::Relaxed);
    if skipped > 0 {
        tracing::warn!(skipped, "events not indexed (damaged or unreadable)");
    }
    if shared.demand.wanted() {
        // Queries are coming: keep the pending set current, so that none of them has to
        // read a whole commit interval of the log (docs/QUERY.md, "Read-your-writes").
        let read = shared.tail.lock().follow(
            &shared.engine,
            committed,
            processed,
            shared.config.pending_events_max,
        );
        shared
            .metrics
            .tail_events_scanned
            .fetch_add(read, Ordering::Relaxed);
    }
    Ok(())
}

fn apply_resolution(shared: &Shared, lsn: Lsn) {
    let Ok(Some(ev)) = shared.engine.get_by_lsn(lsn) else {
        return;
    };
    let Ok(fields) = IndexedFields::extract(ev.body()) else {
        return;
    };
    let view = ev.as_ref();
    shared
        .resolutions
        .write()
        .apply(&shared.engine, &view, &fields);
}

fn commit(shared: &Shared, writer: &mut IndexWriter<Counted>, lsn: Lsn) -> Result<()> {
    let idx_err = |source| EngineError::Index {
        path: shared.config.dir.clone(),
        source,
    };
    let mut prepared = writer.prepare_commit().map_err(idx_err)?;
    prepared.set_payload(&payload(&shared.engine, lsn));
    prepared.commit().map_err(idx_err)?;
    shared.reader.reload().map_err(idx_err)?;
    let searcher = shared.reader.searcher();
    // Checking a new segment's order reads its LSN column once: outside the lock.
    let previous = shared.state.read().sorted.clone();
    let sorted = sorted_segments(&searcher, &previous);
    shared.counts.keep_only(&sorted);
    let mut state = shared.state.write();
    state.searcher = searcher;
    state.sorted = sorted;
    state.committed = lsn;
    drop(state);
    // The pending set's events are in the index now. A query holding the set resets it
    // itself, seeing that it continues an older commit.
    if let Some(mut tail) = shared.tail.try_lock() {
        tail.reset(lsn);
    }
    shared.metrics.commits.fetch_add(1, Ordering::Relaxed);
    // The indexer has read these events' segments: leave their pages to the page cache.
    shared.engine.release_sealed_pages();
    shared.engine.uncache_before(Lsn(lsn.0 + 1));
    Ok(())
}

/// Rebuilds the resolution overlay from the committed index (every `audit.resolution`
/// event, in LSN order); the indexer adds the ones after the commit as it catches up.
pub(crate) fn restore_resolutions(shared: &Shared) -> Result<()> {
    let idx_err = |source| EngineError::Index {
        path: shared.config.dir.clone(),
        source,
    };
    let searcher = shared.state.read().searcher.clone();
    let Some(field) = shared.fields.term("event_type") else {
        return Ok(());
    };
    let query = TermQuery::new(
        Term::from_field_text(field, RESOLUTION_EVENT_TYPE),
        IndexRecordOption::Basic,
    );
    let hits = searcher.search(&query, &DocSetCollector).map_err(idx_err)?;
    let mut lsns = Vec::with_capacity(hits.len());
    for addr in hits {
        let column = searcher
            .segment_reader(addr.segment_ord)
            .fast_fields()
            .u64("lsn")
            .map_err(idx_err)?;
        if let Some(lsn) = column.first(addr.doc_id) {
            lsns.push(Lsn(lsn));
        }
    }
    lsns.sort_unstable();
    for lsn in lsns {
        apply_resolution(shared, lsn);
    }
    Ok(())
}

/// The documents handed to tantivy's indexing thread and not yet indexed.
///
/// The indexer hands over each read (up to [`INDEX_BATCH_EVENTS`] documents) in one
/// send. A send per document, as before, made this thread spin and yield on tantivy's
/// full channel at every document, since tantivy's thread is the slower stage: ~9 % of
/// a reindex's CPU, and a core's time taken from ingest beside it. tantivy's channel
/// bounds messages, not documents, so the bound on what waits is kept here.
#[derive(Debug, Default)]
struct InFlight(Arc<AtomicU64>);

impl InFlight {
    /// Waits until `n` more documents fit under [`INDEX_DOCS_IN_FLIGHT_MAX`]. Gives up
    /// after [`IN_FLIGHT_WAIT_MAX`]: a stalled indexing thread then shows as the
    /// failure of the send that follows, not as an indexer stuck here.
    fn wait_for_room(&self, n: u64) {
        let since = Instant::now();
        while self.0.load(Ordering::Acquire) + n > INDEX_DOCS_IN_FLIGHT_MAX
            && since.elapsed() < IN_FLIGHT_WAIT_MAX
        {
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    /// `doc`, counted until tantivy's thread drops it.
    fn count(&self, doc: IndexDoc) -> Counted {
        self.0.fetch_add(1, Ordering::AcqRel);
        Counted {
            doc,
            in_flight: self.0.clone(),
        }
    }
}

/// How long [`InFlight::wait_for_room`] waits at most.
const IN_FLIGHT_WAIT_MAX: Duration = Duration::from_secs(10);

/// A document on its way to tantivy, counted in [`InFlight`] until dropped (tantivy's
/// indexing thread drops each document once it has indexed it).
struct Counted {
    doc: IndexDoc,
    in_flight: Arc<AtomicU64>,
}

impl Drop for Counted {
    fn drop(&mut self) {
        self.in_flight.fetch_sub(1, Ordering::AcqRel);
    }
}

impl Document for Counted {
    type Value<'a> = <IndexDoc as Document>::Value<'a>;
    type FieldsValuesIter<'a> = <IndexDoc as Document>::FieldsValuesIter<'a>;

    fn iter_fields_and_values(&self) -> Self::FieldsValuesIter<'_> {
        self.doc.iter_fields_and_values()
    }
}

#[cfg(test)]
mod tests {
    use tantivy::Index;

    use super::*;
    use crate::search::schema::{schema, WordsTokenizer, WORDS_TOKENIZER};

    /// Documents handed over in one send are counted until tantivy's thread has
    /// indexed them, and all of them are in the index after the commit.
    #[test]
    fn handed_over_documents_are_counted_until_indexed() {
        let (schema, fields) = schema();
        let index = Index::create_in_ram(schema);
        index
            .tokenizers()
            .register(WORDS_TOKENIZER, WordsTokenizer::default());
        let mut writer: IndexWriter<Counted> =
            index.writer_with_num_threads(1, 15_000_000).unwrap();
        let in_flight = InFlight::default();
        for round in 0..3u64 {
            in_flight.wait_for_room(1_000);
            let batch: Vec<UserOperation<Counted>> = (0..1_000u64)
                .map(|i| {
                    let lsn = Lsn(round * 1_000 + i + 1);
                    let doc = document(&fields, lsn, "t", &IndexedFields::default());
                    UserOperation::Add(in_flight.count(doc))
                })
                .collect();
            assert!(in_flight.0.load(Ordering::Acquire) >= 1_000);
            writer.run(batch).unwrap();
        }
        writer.commit().unwrap();
        assert_eq!(
            in_flight.0.load(Ordering::Acquire),
            0,
            "every document was indexed and dropped"
        );
        let reader = index.reader().unwrap();
        assert_eq!(reader.searcher().num_docs(), 3_000);
    }

    /// A panic in the indexer is reported as its failure and retried: the index then
    /// catches up with every event once (the uncommitted work of the panicked attempt is
    /// dropped with its writer, whose lock is released for the next).
    #[test]
    fn a_panic_is_reported_and_retried_without_losing_or_doubling_documents() {
        use crate::search::{SearchConfig, SearchIndex};
        use crate::storage::{FileStorage, Storage};
        let dir = tempfile::tempdir().unwrap();
        let mut config = crate::EngineConfig::new(dir.path());
        config.segment_bytes = crate::limits::SEGMENT_BYTES_MIN;
        let (engine, _) =
            crate::Engine::open(config, Arc::new(FileStorage) as Arc<dyn Storage>).unwrap();
        let engine = Arc::new(engine);
        let mut search_config = SearchConfig::new(dir.path());
        search_config.commit_interval = Duration::from_millis(20);
        let search = SearchIndex::open(engine.clone(), search_config).unwrap();
        search.shared.panic_once_at.store(5, Ordering::SeqCst);
        let tenant = crate::TenantId::new("t").unwrap();
        for n in 0..10 {
            let json = format!(r#"{{"event_type":"e.{n}","user_id":"u{}"}}"#, n % 3);
            let event = crate::event::prepare_event(json.as_bytes()).unwrap();
            engine.append(&tenant, vec![event]).unwrap();
        }
        let deadline = Instant::now() + Duration::from_secs(30);
        let failure = loop {
            if let Some(f) = search.failure() {
                break f;
            }
            assert!(Instant::now() < deadline, "the panic was never reported");
            std::thread::sleep(Duration::from_millis(5));
        };
        assert!(
            failure.contains("indexer panicked: test panic at lsn 5"),
            "{failure}"
        );
        assert!(search.wait_committed(Lsn(10), Duration::from_secs(30)));
        assert_eq!(search.committed_docs(), 10);
        assert_eq!(search.failure(), None, "cleared once it works again");
        search.close();
    }

    /// With the bound reached, the indexer waits until documents leave.
    #[test]
    fn waiting_for_room_holds_the_indexer_until_documents_leave() {
        let in_flight = InFlight::default();
        let (_, fields) = schema();
        let held: Vec<Counted> = (0..INDEX_DOCS_IN_FLIGHT_MAX)
            .map(|_| in_flight.count(document(&fields, Lsn(1), "t", &IndexedFields::default())))
            .collect();
        let released = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let leaving = {
            let released = released.clone();
            std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(50));
                released.store(true, Ordering::Release);
                drop(held);
            })
        };
        in_flight.wait_for_room(1);
        assert!(
            released.load(Ordering::Acquire),
            "it waited until documents began to leave"
        );
        assert!(in_flight.0.load(Ordering::Acquire) < INDEX_DOCS_IN_FLIGHT_MAX);
        leaving.join().unwrap();
        assert_eq!(in_flight.0.load(Ordering::Acquire), 0);
    }
}
