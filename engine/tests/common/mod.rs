//! Helpers shared by the engine's integration tests.
#![allow(dead_code, clippy::unwrap_used)]

use std::sync::Arc;

use sealog_engine::event::PreparedEvent;
use sealog_engine::storage::{FileStorage, Storage};
use sealog_engine::{Engine, EngineConfig, RecoveryReport, TenantId};

/// A small valid event whose type carries `n`.
pub fn event(n: u64) -> PreparedEvent {
    PreparedEvent::stub(&format!("test.event.{n}"))
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
