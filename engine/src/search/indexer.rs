//! The indexer thread: follows the log, feeds tantivy, commits by count and time.
//!
//! It reads events after the last committed LSN (never on the append path: it waits
//! for events to become visible, i.e. durable), adds each to the tantivy writer, and
//! keeps the resolution overlay current. Queries see events before their commit
//! through the pending set ([`super::tail`]), which the indexer keeps current only
//! while queries come. A commit stores the last indexed LSN and that event's
//! hash in tantivy's commit payload: a restart resumes exactly after it.

use std::ops::ControlFlow;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tantivy::collector::DocSetCollector;
use tantivy::query::TermQuery;
use tantivy::schema::IndexRecordOption;
use tantivy::{IndexWriter, TantivyDocument, Term};

use super::fields::{IndexedFields, RESOLUTION_EVENT_TYPE};
use super::index::{payload, Shared};
use super::merge::LsnMergePolicy;
use super::schema::document;
use super::segments::sorted_segments;
use crate::error::{EngineError, Result};
use crate::limits::INDEX_BATCH_EVENTS;
use crate::log::{ReadPace, ScanDirection};
use crate::types::Lsn;

/// The indexer thread's body: retries after failures (reported through `failure`).
pub(crate) fn run(shared: Arc<Shared>) {
    while !shared.stop.load(Ordering::SeqCst) {
        match follow(&shared) {
            Ok(()) => return,
            Err(e) => {
                tracing::error!(error = %e, "indexer failed; retrying in 1 s (queries still see every event, from the log)");
                *shared.failure.lock() = Some(e.to_string());
                std::thread::sleep(Duration::from_secs(1));
            }
        }
    }
}

fn follow(shared: &Shared) -> Result<()> {
    let idx_err = |source| EngineError::Index {
        path: shared.config.dir.clone(),
        source,
    };
    let mut writer: IndexWriter<TantivyDocument> = shared
        .index
        .writer_with_num_threads(
            shared.config.writer_threads.clamp(1, 8),
            shared.config.writer_memory_bytes,
        )
        .map_err(idx_err)?;
    writer.set_merge_policy(Box::new(LsnMergePolicy::new(shared.index.clone())));
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
            let added = index_batch(shared, &mut writer, next..end)?;
            uncommitted += added;
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
    writer: &mut IndexWriter<TantivyDocument>,
    range: std::ops::Range<Lsn>,
) -> Result<u64> {
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
    for doc in docs {
        writer
            .add_document(doc)
            .map_err(|source| EngineError::Index {
                path: shared.config.dir.clone(),
                source,
            })?;
    }
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
    Ok(added)
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

fn commit(shared: &Shared, writer: &mut IndexWriter<TantivyDocument>, lsn: Lsn) -> Result<()> {
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
