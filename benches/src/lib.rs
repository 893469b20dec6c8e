//! Shared set-up for sealog's criterion benches (`benches/benches/*.rs`).
//!
//! Inputs come from the engine's seeded generator ([`sealog_engine::gen`]) or are built
//! from fixed text, and every random pick uses a fixed seed, so two runs on one machine
//! measure the same bytes. Logs are built with the real [`FileStorage`] in a temporary
//! directory under `SEALOG_BENCH_DIR` (default: the system temp dir), which must be on
//! a real disk, not tmpfs, for fsync figures to mean anything. These helpers panic on
//! failure with a message: a bench cannot measure anything past a broken set-up.

use std::path::PathBuf;
use std::sync::Arc;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use sealog_engine::event::{prepare_event, PreparedEvent, ServerFields};
use sealog_engine::gen::{GenConfig, GeneratedEvent, Generator};
use sealog_engine::storage::{FileStorage, Storage};
use sealog_engine::{Durability, Engine, EngineConfig, Lsn, SegmentId, StoredEvent, TenantId};

/// The generator seed of every bench (the generator's own default).
pub const SEED: u64 = 42;
/// Seed of the random picks (which ids to look up, ...).
pub const PICK_SEED: u64 = 7;
/// Events in the log `index_lookup` and `scan` build unless `SEALOG_BENCH_EVENTS` is set.
pub const LOG_EVENTS_DEFAULT: u64 = 100_000;
/// Segment size of that log: small enough that most of it is in sealed segments with
/// mapped index files, and an active segment holds the rest.
pub const LOG_SEGMENT_BYTES: u64 = 16 * 1024 * 1024;
/// Distinct prepared events kept in memory (~1 KiB each); bigger logs cycle through them.
const POOL_EVENTS_MAX: usize = 100_000;
/// Events per append request while building a log.
const BUILD_REQUEST_EVENTS: usize = 500;
/// Tenants the generator spreads events over (`tenant_01`..`tenant_20`).
const TENANTS: usize = 20;

/// Reads a positive integer knob from the environment, or `default` when unset.
///
/// Panics when the variable is set but is not a positive integer (a typo should not
/// silently measure something else).
pub fn env_u64(name: &str, default: u64) -> u64 {
    match std::env::var(name) {
        Ok(v) => match v.trim().replace('_', "").parse::<u64>() {
            Ok(n) if n > 0 => n,
            _ => panic!("{name}={v:?} is not a positive integer"),
        },
        Err(_) => default,
    }
}

/// Events of the benched log: `SEALOG_BENCH_EVENTS` or [`LOG_EVENTS_DEFAULT`].
pub fn log_events() -> u64 {
    env_u64("SEALOG_BENCH_EVENTS", LOG_EVENTS_DEFAULT)
}

/// A fresh temporary directory under `SEALOG_BENCH_DIR` (or the system temp dir),
/// removed when dropped.
pub fn temp_dir() -> tempfile::TempDir {
    let parent = std::env::var_os("SEALOG_BENCH_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(std::env::temp_dir);
    tempfile::Builder::new()
        .prefix("sealog-bench-")
        .tempdir_in(&parent)
        .unwrap_or_else(|e| panic!("cannot create a temp dir in {}: {e}", parent.display()))
}

/// The first `count` events of the generator's default stream (seed [`SEED`]), as
/// clients send them (no server fields; `with_text` adds `event_description` & co).
pub fn generated(count: usize, with_text: bool) -> Vec<GeneratedEvent> {
    Generator::new(GenConfig {
        seed: SEED,
        count: count as u64,
        with_text,
        ..GenConfig::default()
    })
    .collect()
}

/// Validates and canonicalizes one event the benches made themselves.
///
/// Panics if the engine refuses it: the bench's input is wrong, not the engine.
pub fn prepare(json: &[u8]) -> PreparedEvent {
    prepare_event(json).unwrap_or_else(|errors| {
        panic!(
            "bench event refused: {errors:?}\n{}",
            String::from_utf8_lossy(json)
        )
    })
}

/// Fixed server fields, as the writer would set them for a tenant's 12,345th event.
pub fn server_fields(tenant: &str) -> ServerFields<'_> {
    const PREV_HASH: [u8; 32] = [0xab; 32];
    ServerFields {
        created_at_us: 1_735_689_600_123_456,
        id: uuid::Uuid::from_u128(0x0194_1f29_7c1b_7abc_8def_0123_4567_89ab),
        prev_hash: &PREV_HASH,
        seq: 12_345,
        tenant,
    }
}

/// The canonical body the writer stores for `event` (with [`server_fields`]).
pub fn body_of(event: &PreparedEvent, tenant: &str) -> Vec<u8> {
    let mut out = Vec::new();
    event.write_body(&server_fields(tenant), &mut out);
    out
}

/// One event of each size of the size grids, as client JSON.
#[derive(Debug, Clone)]
pub struct SizedEvents {
    /// A bare logout: `event_type` and `user_id` only (~50 B of JSON, ~265 B of body,
    /// ~200 B of which are the server fields: the smallest body sealog stores).
    pub small: Vec<u8>,
    /// The generated event of median size among the first 1,000 (~735 B of JSON,
    /// ~940 B of body).
    pub typical: Vec<u8>,
    /// `typical` plus a 4,096-character `event_description` (the limit) and a
    /// multi-line `stack_trace` (the description alone is capped at 4,096 characters),
    /// ~16 KiB of JSON and of body.
    pub large: Vec<u8>,
}

impl SizedEvents {
    /// `(name, json)` in size order.
    pub fn all(&self) -> [(&'static str, &[u8]); 3] {
        [
            ("small", &self.small),
            ("typical", &self.typical),
            ("large", &self.large),
        ]
    }
}

/// Builds [`SizedEvents`].
pub fn sized_events() -> SizedEvents {
    let small = br#"{"event_type":"user.logout","user_id":"usr_00042"}"#.to_vec();
    let mut pool: Vec<Vec<u8>> = generated(1000, false).into_iter().map(|e| e.json).collect();
    pool.sort_by_key(Vec::len);
    let typical = pool.swap_remove(pool.len() / 2);
    let large = with_members(
        &typical,
        &[
            ("event_description", long_text(4096)),
            ("stack_trace", stack_trace(16 * 1024 - 4096 - typical.len())),
        ],
    );
    SizedEvents {
        small,
        typical,
        large,
    }
}

/// `json` (one object) with extra string members; `value`s must need no escaping.
fn with_members(json: &[u8], members: &[(&str, String)]) -> Vec<u8> {
    let mut out = json.to_vec();
    assert_eq!(out.pop(), Some(b'}'), "a JSON object");
    for (key, value) in members {
        out.extend_from_slice(format!(r#","{key}":"{value}""#).as_bytes());
    }
    out.push(b'}');
    out
}

/// `chars` characters of plain prose (words from a fixed list, seeded).
fn long_text(chars: usize) -> String {
    const WORDS: &str = "order limit breach reviewed by the desk after client request \
        position exceeded threshold settlement pending risk";
    let words: Vec<&str> = WORDS.split_whitespace().collect();
    let mut rng = ChaCha8Rng::seed_from_u64(SEED);
    let mut s = String::with_capacity(chars + 16);
    while s.len() < chars {
        s.push_str(words[rng.random_range(0..words.len())]);
        s.push(' ');
    }
    s.truncate(chars);
    s
}

/// About `bytes` bytes of a Java-like stack trace, lines separated by JSON `\n` escapes.
fn stack_trace(bytes: usize) -> String {
    let mut s = String::from("java.lang.IllegalStateException: settlement window closed");
    let mut frame = 0;
    while s.len() < bytes {
        s.push_str(&format!(
            r"\n\tat com.example.trading.settlement.SettlementService.step{frame}(SettlementService.java:{})",
            100 + frame * 7
        ));
        frame += 1;
    }
    s
}

/// A tenant's name as the engine takes it. Panics on an invalid name.
pub fn tenant(name: &str) -> TenantId {
    TenantId::new(name).unwrap_or_else(|e| panic!("tenant {name:?}: {e}"))
}

/// Prepared events of the generator's stream, by tenant (`tenant_01`..`tenant_20`), for
/// feeding the engine. Every tenant gets at least one event.
#[derive(Debug, Clone)]
pub struct EventPool {
    /// Each tenant and its events, in stream order.
    pub by_tenant: Vec<(TenantId, Vec<PreparedEvent>)>,
    /// Mean size of the events' client JSON.
    pub json_bytes_mean: f64,
}

impl EventPool {
    /// The first `count` events of the stream (at least one per tenant).
    pub fn new(count: usize) -> EventPool {
        let mut by_tenant: Vec<(TenantId, Vec<PreparedEvent>)> = (1..=TENANTS)
            .map(|k| (tenant(&format!("tenant_{k:02}")), Vec::new()))
            .collect();
        let events = generated(count.max(1), false);
        let json_bytes: usize = events.iter().map(|e| e.json.len()).sum();
        let mut fallback = None;
        for e in &events {
            let prepared = prepare(&e.json);
            let slot = by_tenant.iter_mut().find(|(t, _)| t.as_str() == e.tenant);
            match slot {
                Some((_, v)) => v.push(prepared),
                None => panic!("generator tenant {} outside tenant_01..=20", e.tenant),
            }
            fallback.get_or_insert_with(|| prepare(&e.json));
        }
        for (_, v) in by_tenant.iter_mut().filter(|(_, v)| v.is_empty()) {
            v.extend(fallback.clone());
        }
        EventPool {
            by_tenant,
            json_bytes_mean: json_bytes as f64 / events.len() as f64,
        }
    }

    /// Request number `r` of `n` events: tenants take turns, each walking its events.
    pub fn request(&self, r: usize, n: usize) -> (TenantId, Vec<PreparedEvent>) {
        let (tenant, events) = &self.by_tenant[r % self.by_tenant.len()];
        let start = (r / self.by_tenant.len()) * n;
        let batch = (0..n)
            .map(|i| events[(start + i) % events.len()].clone())
            .collect();
        (tenant.clone(), batch)
    }
}

/// Opens an engine on `dir` with the real file storage.
pub fn open_engine(dir: &std::path::Path, durability: Durability, segment_bytes: u64) -> Engine {
    let mut config = EngineConfig::new(dir);
    config.durability = durability;
    config.segment_bytes = segment_bytes;
    let storage: Arc<dyn Storage> = Arc::new(FileStorage);
    let (engine, report) = Engine::open(config, storage)
        .unwrap_or_else(|e| panic!("opening the engine in {}: {e}", dir.display()));
    assert!(
        report.damage.is_empty(),
        "bench log reopened with damage: {report:?}"
    );
    engine
}

/// A log built for read benches, reopened so sealed segments have mapped indexes.
#[derive(Debug)]
pub struct BenchLog {
    /// The reopened engine (declared before `dir` so it closes before the dir goes).
    pub engine: Engine,
    /// Events in the log (LSNs `1..=events`).
    pub events: u64,
    /// First LSN of the active (unsealed) segment; lower LSNs are in sealed segments.
    pub active_first_lsn: Lsn,
    /// Segment files that were sealed, each with an index file.
    pub sealed_segments: usize,
    /// Bytes of segment data (frames, headers, seals).
    pub log_bytes: u64,
    /// Holds the log; removed on drop.
    pub dir: tempfile::TempDir,
}

/// Appends `events` generated events (requests of 500, tenants taking turns) with
/// `Durability::None` into `segment_bytes` segments, closes the engine and reopens it
/// (full open check, indexes mapped). Prints what it built to stderr.
pub fn build_log(events: u64, segment_bytes: u64) -> BenchLog {
    let started = std::time::Instant::now();
    let dir = temp_dir();
    let pool = EventPool::new((events as usize).min(POOL_EVENTS_MAX));
    {
        let engine = open_engine(dir.path(), Durability::None, segment_bytes);
        let mut left = events;
        let mut r = 0;
        while left > 0 {
            let n = left.min(BUILD_REQUEST_EVENTS as u64) as usize;
            let (tenant, batch) = pool.request(r, n);
            engine
                .append(&tenant, batch)
                .unwrap_or_else(|e| panic!("building the bench log: {e}"));
            left -= n as u64;
            r += 1;
        }
        engine.close();
    }
    let engine = open_engine(dir.path(), Durability::Sync, segment_bytes);
    let stats = engine.stats();
    assert_eq!(
        stats.visible_lsn,
        Lsn(events),
        "the reopened log must hold every event"
    );
    let active = read(&engine, Lsn(events)).segment;
    let active_first_lsn = first_lsn_of_segment(&engine, active, events);
    let sealed_segments = count_files(&dir.path().join("wal"), ".idx");
    eprintln!(
        "bench log: {events} events, {:.1} MiB in {} segments ({sealed_segments} sealed with index files; active from LSN {}), built in {:.1} s in {}",
        stats.log_bytes as f64 / 1048576.0,
        stats.segments,
        active_first_lsn.0,
        started.elapsed().as_secs_f64(),
        dir.path().display(),
    );
    BenchLog {
        engine,
        events,
        active_first_lsn,
        sealed_segments,
        log_bytes: stats.log_bytes,
        dir,
    }
}

/// The event at `lsn`, which must exist.
pub fn read(engine: &Engine, lsn: Lsn) -> StoredEvent {
    match engine.get_by_lsn(lsn) {
        Ok(Some(ev)) => ev,
        other => panic!("reading LSN {}: {other:?}", lsn.0),
    }
}

/// The lowest LSN in `segment`, which holds `last` (binary search over LSNs).
fn first_lsn_of_segment(engine: &Engine, segment: SegmentId, last: u64) -> Lsn {
    let (mut lo, mut hi) = (1, last);
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        if read(engine, Lsn(mid)).segment < segment {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    Lsn(lo)
}

fn count_files(dir: &std::path::Path, suffix: &str) -> usize {
    std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("listing {}: {e}", dir.display()))
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().ends_with(suffix))
        .count()
}

/// `count` LSNs drawn uniformly (with repeats) from `range`, fixed seed.
pub fn random_lsns(range: std::ops::Range<u64>, count: usize) -> Vec<Lsn> {
    assert!(!range.is_empty(), "no LSNs to draw from");
    let mut rng = ChaCha8Rng::seed_from_u64(PICK_SEED ^ range.start);
    (0..count)
        .map(|_| Lsn(rng.random_range(range.clone())))
        .collect()
}

/// Existing events to look up: their LSN, id, tenant and seq.
#[derive(Debug, Clone)]
pub struct LookupKey {
    /// The stored event (id, seq, LSN).
    pub event: StoredEvent,
    /// Its tenant.
    pub tenant: TenantId,
}

/// `count` random existing events with LSN in `range`, read back from the log.
pub fn lookup_keys(engine: &Engine, range: std::ops::Range<u64>, count: usize) -> Vec<LookupKey> {
    random_lsns(range, count)
        .into_iter()
        .map(|lsn| {
            let event = read(engine, lsn);
            let tenant = tenant(event.tenant());
            LookupKey { event, tenant }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sized_events_are_valid_and_about_the_sizes_the_grid_names() {
        let sized = sized_events();
        for (name, json) in sized.all() {
            let body = body_of(&prepare(json), "tenant_01");
            eprintln!("{name}: {} B json, {} B body", json.len(), body.len());
        }
        assert!((30..100).contains(&sized.small.len()));
        assert!((500..1100).contains(&sized.typical.len()));
        assert!((15 * 1024..17 * 1024).contains(&sized.large.len()));
    }

    #[test]
    fn pool_requests_cycle_through_every_tenant() {
        let pool = EventPool::new(200);
        assert_eq!(pool.by_tenant.len(), TENANTS);
        assert!(pool.by_tenant.iter().all(|(_, v)| !v.is_empty()));
        let (t, batch) = pool.request(21, 7);
        assert_eq!(t.as_str(), "tenant_02");
        assert_eq!(batch.len(), 7);
    }
}
