//! The record of delivery attempts a webhook keeps for `GET …/deliveries`: the last
//! `WEBHOOK_DELIVERIES_KEPT` attempts, in memory, and the last
//! `WEBHOOK_DEAD_LETTERS_KEPT` dead letters, also saved (`<id>.dead`) so a restart
//! still shows which seqs to replay.

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::limits::{WEBHOOK_DEAD_LETTERS_KEPT, WEBHOOK_DELIVERIES_KEPT, WEBHOOK_ERROR_CHARS_MAX};

/// What came of one attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AttemptStatus {
    /// The receiver answered 2xx: the batch is acknowledged.
    Delivered,
    /// The attempt failed and will be retried.
    Retrying,
    /// The attempt failed and will not be retried: the batch is dead-lettered.
    DeadLettered,
}

impl AttemptStatus {
    fn as_str(self) -> &'static str {
        match self {
            AttemptStatus::Delivered => "delivered",
            AttemptStatus::Retrying => "retrying",
            AttemptStatus::DeadLettered => "dead_lettered",
        }
    }
}

/// One attempt.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Attempt {
    /// The batch's delivery id (the same on every attempt of a batch).
    pub delivery_id: String,
    /// 1 for the first attempt.
    pub attempt: u64,
    /// Outcome.
    pub status: AttemptStatus,
    /// The receiver's status code, when it answered.
    pub http_status: Option<u16>,
    /// Time from start of the attempt to the response head (or failure).
    pub latency_ms: u64,
    /// What went wrong.
    pub error: Option<String>,
    /// Events in the batch.
    pub event_count: usize,
    /// Seq of the first and last event.
    pub first_seq: u64,
    /// Seq of the last event.
    pub last_seq: u64,
    /// When the attempt ended (µs since the epoch).
    pub at_us: i64,
}

impl Attempt {
    /// The API's view.
    pub fn to_json(&self) -> Value {
        json!({
            "delivery_id": self.delivery_id,
            "attempt": self.attempt,
            "status": self.status.as_str(),
            "http_status": self.http_status,
            "latency_ms": self.latency_ms,
            "error": self.error,
            "event_count": self.event_count,
            "first_seq": self.first_seq,
            "last_seq": self.last_seq,
            "at": sealog_engine::time::format_rfc3339_us(self.at_us),
        })
    }
}

/// Bounded, newest first.
#[derive(Debug, Default)]
pub struct Attempts {
    ring: VecDeque<Attempt>,
    /// Dead letters, oldest first.
    dead: VecDeque<Attempt>,
}

impl Attempts {
    /// The saved dead letters, at start (oldest first).
    pub fn restore(&mut self, dead: Vec<Attempt>) {
        for a in dead {
            self.push(a);
        }
    }

    /// Dead letters to save, oldest first.
    pub fn dead_letters(&self) -> Vec<Attempt> {
        self.dead.iter().cloned().collect()
    }

    /// Records an attempt (the oldest one goes when full).
    pub fn push(&mut self, mut a: Attempt) {
        if let Some(e) = &mut a.error {
            if e.chars().count() > WEBHOOK_ERROR_CHARS_MAX {
                *e = e.chars().take(WEBHOOK_ERROR_CHARS_MAX).collect();
            }
        }
        if a.status == AttemptStatus::DeadLettered {
            if self.dead.len() == WEBHOOK_DEAD_LETTERS_KEPT {
                self.dead.pop_front();
            }
            self.dead.push_back(a.clone());
        }
        if self.ring.len() == WEBHOOK_DELIVERIES_KEPT {
            self.ring.pop_back();
        }
        self.ring.push_front(a);
    }

    /// Newest first.
    pub fn to_json(&self) -> Vec<Value> {
        self.ring.iter().map(Attempt::to_json).collect()
    }
}
