//! Deterministic generator of realistic trading-platform audit events.
