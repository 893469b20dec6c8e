//! Helpers shared by the engine's integration tests.
#![allow(dead_code, clippy::unwrap_used)]

use std::sync::Arc;

use sealog_engine::event::PreparedEvent;
use sealog_engine::storage::{FileStorage, Storage};
use sealog_engine::{Engine, EngineConfig, RecoveryReport, TenantId};

/// A small valid event whose type carries `n`.
pub fn event(n: u64) -> PreparedEvent {
    let json = format!(
        r#"{{"event_type":"test.event.{n}","user_id":"u{}","amount":"{n}.50"}}"#,
        n % 7
    );
    sealog_engine::event::prepare_event(json.as_bytes()).unwrap()
}

pub fn tenant(name: &str) -> TenantId {
    TenantId::new(name).unwrap()
}

/// A config with tiny segments, so rolling and sealing happen in every test.
pub fn tiny_config(dir: &std::path::Path) -> EngineConfig {
    let mut c = EngineConfig::new(dir);
    c.segment_bytes = sealog_engine::limits::SEGMENT_BYTES_MIN;
    c
}

pub fn open(config: EngineConfig) -> (Engine, RecoveryReport) {
    Engine::open(config, Arc::new(FileStorage) as Arc<dyn Storage>).unwrap()
}

/// An event whose type records which request it belongs to: `<tag>.k<k>.n<n>`.
pub fn tagged_event(tag: &str, k: u64, n: u64) -> PreparedEvent {
    let json = format!(
        r#"{{"event_type":"crash.{tag}.k{k}.n{n}","severity":"info","event_description":"event {k} of {n}"}}"#
    );
    sealog_engine::event::prepare_event(json.as_bytes()).unwrap()
}

/// Splits `crash.<tag>.k<k>.n<n>` back into its request tag and size.
pub fn parse_tag(event_type: &str) -> (String, u64) {
    let (head, n) = event_type.rsplit_once(".n").unwrap();
    let (tag, _k) = head.rsplit_once(".k").unwrap();
    (tag.to_owned(), n.parse().unwrap())
}

use sealog_engine::storage::testkit::FaultyStorage;

/// A tiny-segment config for the in-memory disk.
pub fn faulty_config() -> EngineConfig {
    tiny_config(std::path::Path::new("/data"))
}

pub fn open_faulty(
    disk: &FaultyStorage,
    config: EngineConfig,
) -> sealog_engine::Result<(Engine, RecoveryReport)> {
    Engine::open(config, Arc::new(disk.clone()) as Arc<dyn Storage>)
}

/// Every acknowledged event, to check against the log after a crash.
#[derive(Debug, Default, Clone)]
pub struct Acked {
    pub events: Vec<(TenantId, sealog_engine::Appended)>,
}

impl Acked {
    /// Appends a tagged request and records its acknowledgement.
    pub fn append(
        &mut self,
        engine: &Engine,
        tenant: &TenantId,
        tag: &str,
        n: u64,
    ) -> sealog_engine::Result<()> {
        let events = (0..n).map(|k| tagged_event(tag, k, n)).collect();
        let acks = engine.append(tenant, events)?;
        self.events
            .extend(acks.into_iter().map(|a| (tenant.clone(), a)));
        Ok(())
    }

    /// Asserts every acknowledged event is in the log, unchanged, and the whole log
    /// verifies with every request whole.
    pub fn check(&self, engine: &Engine, context: &str) {
        for (tenant, a) in &self.events {
            let ev = engine.get_by_seq(tenant, a.seq).unwrap();
            let ev = ev.unwrap_or_else(|| {
                panic!("{context}: acknowledged {tenant} seq {} is missing", a.seq)
            });
            assert_eq!(
                (ev.hash, ev.id, ev.lsn),
                (a.hash, a.id, a.lsn),
                "{context}: {tenant} seq {} changed",
                a.seq
            );
        }
        check_whole(engine, context);
    }
}

/// The log verifies (frames, hashes, links, dense LSNs) and every request is whole.
pub fn check_whole(engine: &Engine, context: &str) {
    use sealog_engine::{Lsn, ScanDirection};
    let report = engine.verify(Lsn(1)..Lsn(u64::MAX));
    assert!(report.faults.is_empty(), "{context}: {:?}", report.faults);
    assert_eq!(
        report.events,
        engine.stats().visible_lsn.0,
        "{context}: LSNs not dense"
    );
    let mut requests: std::collections::HashMap<String, (u64, u64)> = Default::default();
    for ev in engine.scan(Lsn(1)..Lsn(u64::MAX), ScanDirection::Forward, false) {
        let ev = ev.unwrap();
        let body: serde_json::Value = serde_json::from_slice(ev.body()).unwrap();
        let (tag, n) = parse_tag(body["event_type"].as_str().unwrap());
        requests.entry(tag).or_insert((0, n)).0 += 1;
    }
    for (tag, (seen, n)) in requests {
        assert_eq!(seen, n, "{context}: request {tag} is partly in the log");
    }
}

/// A clock the test sets by hand (created_at follows it, never decreasing).
#[derive(Debug, Default)]
pub struct HandClock(pub std::sync::atomic::AtomicI64);

impl sealog_engine::Clock for HandClock {
    fn now_us(&self) -> i64 {
        self.0.load(std::sync::atomic::Ordering::SeqCst)
    }
}
