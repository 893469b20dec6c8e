//! Deterministic generator of realistic trading-platform audit events.
//!
//! A Rust port of the ideas of `shared/data/gen_events.py` (same event shape and
//! distributions, not the same bytes): 12 event types with skewed weights, 1,000 users
//! and 200 symbols drawn with Zipf-like skew from a universe seed shared by all streams,
//! 20 tenants, documentation-range IP addresses, per-type old/new values and
//! changed_fields, monotonically increasing times. One [`GenConfig`] always gives the
//! same bytes (a seeded ChaCha8 stream; no global RNG, no hash-map order). `amount` and
//! `risk_score` are plain decimals (`-?[0-9]+(\.[0-9]+)?`), never exponent notation.
//! Benches, tests and the load generator feed the engine from here.

mod events;
mod json;
mod sample;
mod tables;
mod text;
mod universe;
mod values;

#[cfg(test)]
mod tests;

pub use events::{GenConfig, GeneratedEvent, Generator};
pub use universe::{Universe, SYMBOLS, TENANTS, USERS};
