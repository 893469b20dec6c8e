//! Append requests, their tickets, and the queue budget that bounds them.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use parking_lot::{Condvar, Mutex};
use tokio::sync::oneshot;

use crate::error::{EngineError, Result};
use crate::event::PreparedEvent;
use crate::types::{Lsn, Seq, TenantId};

/// What an acknowledged event got from the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Appended {
    /// Position in the log.
    pub lsn: Lsn,
    /// The tenant's seq.
    pub seq: Seq,
    /// The event id (UUIDv7).
    pub id: uuid::Uuid,
    /// Server receive time, µs since the epoch.
    pub created_at_us: i64,
    /// The event's hash.
    pub hash: [u8; 32],
}

/// Where an append's answer goes, and the answer once durable.
pub(crate) type Ack = (oneshot::Sender<Result<Vec<Appended>>>, Vec<Appended>);

/// One append request as queued for the sequencer.
#[derive(Debug)]
pub(crate) struct Request {
    pub tenant: TenantId,
    pub events: Vec<PreparedEvent>,
    pub bytes: usize,
    pub reply: oneshot::Sender<Result<Vec<Appended>>>,
}

/// A submitted append. `wait()` blocks a thread; `.await` suspends a task. Either
/// returns once the request is durable (per the durability policy) or failed.
#[derive(Debug)]
pub struct AppendTicket {
    pub(crate) rx: oneshot::Receiver<Result<Vec<Appended>>>,
}

impl AppendTicket {
    /// Blocks until the append is acknowledged. Must not be called from inside an
    /// async runtime (await the ticket there).
    pub fn wait(self) -> Result<Vec<Appended>> {
        self.rx.blocking_recv().unwrap_or(Err(EngineError::Closed))
    }
}

impl Future for AppendTicket {
    type Output = Result<Vec<Appended>>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        Pin::new(&mut self.rx)
            .poll(cx)
            .map(|r| r.unwrap_or(Err(EngineError::Closed)))
    }
}

/// Bounds the queue by requests and bytes. `acquire` either fails at once (`try`) or
/// waits for room; the sequencer releases when it takes a request.
#[derive(Debug)]
pub(crate) struct Budget {
    used: Mutex<(usize, usize)>,
    freed: Condvar,
    requests_max: usize,
    bytes_max: usize,
}

impl Budget {
    pub fn new(requests_max: usize, bytes_max: usize) -> Self {
        Budget {
            used: Mutex::new((0, 0)),
            freed: Condvar::new(),
            requests_max,
            bytes_max,
        }
    }

    pub fn acquire(&self, bytes: usize, wait: bool) -> Result<()> {
        let mut used = self.used.lock();
        loop {
            let fits = used.0 < self.requests_max && used.1.saturating_add(bytes) <= self.bytes_max;
            // An empty queue always admits one request, whatever its size.
            if fits || used.0 == 0 {
                used.0 += 1;
                used.1 += bytes;
                return Ok(());
            }
            if !wait {
                return Err(EngineError::Busy {
                    queued_requests: used.0,
                    queued_bytes: used.1,
                });
            }
            self.freed.wait(&mut used);
        }
    }

    pub fn release(&self, requests: usize, bytes: usize) {
        let mut used = self.used.lock();
        used.0 = used.0.saturating_sub(requests);
        used.1 = used.1.saturating_sub(bytes);
        self.freed.notify_all();
    }

    pub fn queued(&self) -> (usize, usize) {
        *self.used.lock()
    }
}
