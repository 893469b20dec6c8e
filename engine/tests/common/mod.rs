//! Helpers shared by the engine's integration tests.
#![allow(dead_code, clippy::unwrap_used)]

use std::sync::Arc;

use sealog_engine::event::PreparedEvent;
use sealog_engine::storage::{FileStorage, Storage};
use sealog_engine::{Engine, EngineConfig, RecoveryReport, TenantId};

/// A small valid event whose type carries `n`.
pub fn event(n: u64) -> PreparedEvent {
    let json = format!(r#"{{"event_type":"test.event.{n}","user_id":"u{}","amount":"{n}.50"}}"#, n % 7);
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
    let json = format!(r#"{{"event_type":"crash.{tag}.k{k}.n{n}","severity":"info","event_description":"event {k} of {n}"}}"#);
    sealog_engine::event::prepare_event(json.as_bytes()).unwrap()
}

/// Splits `crash.<tag>.k<k>.n<n>` back into its request tag and size.
pub fn parse_tag(event_type: &str) -> (String, u64) {
    let (head, n) = event_type.rsplit_once(".n").unwrap();
    let (tag, _k) = head.rsplit_once(".k").unwrap();
    (tag.to_owned(), n.parse().unwrap())
}
