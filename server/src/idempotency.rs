//! Idempotent retries (`Idempotency-Key`), with the log as the only truth.
//!
//! A request with a key gets a tag, `IdTag::derive(tenant, key)`, that its first event's
//! id carries (sealog_engine::idtag). So the fact "this key's request was stored" is
//! written atomically with the events, by the same fsync: no window where the events are
//! durable but the key is not, or the reverse. This table maps (tenant, tag) to the
//! first event's LSN for the keys of the last `retention` (≥ 24 h). It is filled by the
//! handlers as requests complete and, as the one mechanism that makes it complete, by
//! [`Idempotency::catch_up`], which reads every event the log has published since the
//! table's watermark and picks up the tagged ids. A snapshot (`DIR/idempotency.snap`,
//! rewritten every `IDEMPOTENCY_SNAPSHOT_INTERVAL`) saves the table with its watermark;
//! after a restart, catch-up from that watermark finds whatever was stored after it,
//! including requests whose 201 never left because the process died.
//!
//! A retry is answered from the stored events (which give every field of the original
//! answer) after checking that they are the same request: same count, and each event's
//! client fields byte for byte equal (both canonical). Two requests with one key at the
//! same time: the second waits for the first and then replays its answer. A request that
//! fails (422, 503, …) leaves no trace, so its retry is processed anew.

use std::collections::HashMap;
use std::io::Read;
use std::ops::ControlFlow;
use std::path::PathBuf;
use std::sync::Arc;

use parking_lot::Mutex;
use sealog_engine::idtag::IdTag;
use sealog_engine::{Engine, Lsn, ScanDirection, TenantId};
use tokio::sync::watch;

/// Where a tagged request's events start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stored {
    /// LSN of the request's first event.
    pub lsn: Lsn,
    /// Its created_at (µs), for retention.
    pub created_us: i64,
}

type Slot = (TenantId, IdTag);

#[derive(Debug, Default)]
struct Table {
    done: HashMap<Slot, Stored>,
    in_flight: HashMap<Slot, watch::Receiver<()>>,
    /// Every tagged event with LSN ≤ watermark is in `done` (or past retention).
    watermark: Lsn,
}

/// The idempotency table.
#[derive(Debug)]
pub struct Idempotency {
    table: Mutex<Table>,
    path: PathBuf,
    retention_us: i64,
}

/// What to do with a keyed request.
#[derive(Debug)]
pub enum Begin {
    /// First time: go ahead; report the outcome through the guard.
    Fresh(InFlight),
    /// Stored before: answer from the stored events.
    Replay(Stored),
    /// Another request with this key is running: wait, then ask again.
    Wait(watch::Receiver<()>),
}

/// A keyed request in progress. Dropping it without [`complete`](Self::complete) (the
/// request failed) forgets it and wakes the waiters, which then try themselves.
#[derive(Debug)]
pub struct InFlight {
    idem: Arc<Idempotency>,
    slot: Slot,
    _tx: watch::Sender<()>,
}

impl InFlight {
    /// The request's events are durable from `stored.lsn` on.
    pub fn complete(self, stored: Stored) {
        self.idem
            .table
            .lock()
            .done
            .insert(self.slot.clone(), stored);
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.idem.table.lock().in_flight.remove(&self.slot);
    }
}

const SNAP_MAGIC: &[u8; 8] = b"SLIDEM01";

impl Idempotency {
    /// Loads the snapshot (if any and intact) and catches up with the log.
    pub fn open(
        data_dir: &std::path::Path,
        engine: &Engine,
        retention: std::time::Duration,
    ) -> Arc<Idempotency> {
        let path = data_dir.join("idempotency.snap");
        let retention_us = retention.as_micros().min(i64::MAX as u128) as i64;
        let idem = Arc::new(Idempotency {
            table: Mutex::new(Table::default()),
            path,
            retention_us,
        });
        let loaded = match idem.load() {
            Ok(Some(t)) => Some(t),
            Ok(None) => None,
            Err(e) => {
                tracing::warn!(path = %idem.path.display(), error = %e, "idempotency snapshot unreadable; rebuilding it from the log");
                None
            }
        };
        let table = match loaded {
            Some(t) => t,
            None => {
                // Everything that can still be retried is in the last `retention`.
                let since = sealog_engine::time::now_us().saturating_sub(retention_us);
                let from = engine.lsn_range_of_time(since, i64::MAX).start;
                Table {
                    watermark: Lsn(from.0.saturating_sub(1)),
                    ..Table::default()
                }
            }
        };
        // With durability `interval`/`none`, a crash can take back events the snapshot
        // had seen: forget whatever lies past the recovered log's end.
        let mut table = table;
        let end = engine.stats().visible_lsn;
        table.done.retain(|_, s| s.lsn <= end);
        table.watermark = table.watermark.min(end);
        *idem.table.lock() = table;
        let started = std::time::Instant::now();
        let found = idem.catch_up(engine);
        tracing::info!(
            keys = idem.len(),
            found,
            elapsed_ms = started.elapsed().as_millis() as u64,
            "idempotency table ready"
        );
        idem
    }

    /// Keys in the table.
    pub fn len(&self) -> usize {
        self.table.lock().done.len()
    }

    /// Looks a key up, or claims it.
    pub fn begin(self: &Arc<Self>, tenant: &TenantId, tag: IdTag) -> Begin {
        let slot = (tenant.clone(), tag);
        let mut t = self.table.lock();
        if let Some(s) = t.done.get(&slot) {
            return Begin::Replay(*s);
        }
        if let Some(rx) = t.in_flight.get(&slot) {
            return Begin::Wait(rx.clone());
        }
        let (tx, rx) = watch::channel(());
        t.in_flight.insert(slot.clone(), rx);
        Begin::Fresh(InFlight {
            idem: self.clone(),
            slot,
            _tx: tx,
        })
    }

    /// Reads the events published since the watermark and records their tagged ids.
    /// Returns how many it found.
    pub fn catch_up(&self, engine: &Engine) -> usize {
        let from = Lsn(self.table.lock().watermark.0 + 1);
        let end = engine.stats().visible_lsn;
        if end < from {
            return 0;
        }
        let mut found = Vec::new();
        engine.visit(from..Lsn(end.0 + 1), ScanDirection::Forward, |ev| {
            if let Ok(ev) = ev {
                if let (Some(tag), Ok(tenant)) = (IdTag::of_id(&ev.id), TenantId::new(ev.tenant)) {
                    found.push((
                        (tenant, tag),
                        Stored {
                            lsn: ev.lsn,
                            created_us: ev.created_at_us,
                        },
                    ));
                }
            }
            ControlFlow::<()>::Continue(())
        });
        let n = found.len();
        let mut t = self.table.lock();
        t.done.extend(found);
        t.watermark = t.watermark.max(end);
        n
    }

    /// Catches up, drops keys past retention, and saves the snapshot.
    pub fn checkpoint(&self, engine: &Engine) -> anyhow::Result<()> {
        self.catch_up(engine);
        let horizon = sealog_engine::time::now_us().saturating_sub(self.retention_us);
        let bytes = {
            let mut t = self.table.lock();
            t.done.retain(|_, s| s.created_us >= horizon);
            encode(&t)
        };
        crate::keys::write_private(&self.path, &bytes)
    }

    fn load(&self) -> anyhow::Result<Option<Table>> {
        let mut f = match std::fs::File::open(&self.path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        let mut bytes = Vec::new();
        f.read_to_end(&mut bytes)?;
        decode(&bytes).map(Some)
    }
}

// Snapshot layout (little-endian): magic "SLIDEM01", watermark u64, count u64, then per
// entry: tenant_len u8, tenant bytes, tag (10 bytes), lsn u64, created_us i64; then CRC-32 of
// everything before it.
fn encode(t: &Table) -> Vec<u8> {
    let mut out = Vec::with_capacity(24 + t.done.len() * 48 + 4);
    out.extend_from_slice(SNAP_MAGIC);
    out.extend_from_slice(&t.watermark.0.to_le_bytes());
    out.extend_from_slice(&(t.done.len() as u64).to_le_bytes());
    for ((tenant, tag), s) in &t.done {
        out.push(tenant.as_str().len() as u8);
        out.extend_from_slice(tenant.as_str().as_bytes());
        out.extend_from_slice(&tag.to_bytes());
        out.extend_from_slice(&s.lsn.0.to_le_bytes());
        out.extend_from_slice(&s.created_us.to_le_bytes());
    }
    let crc = crc32fast::hash(&out);
    out.extend_from_slice(&crc.to_le_bytes());
    out
}

fn decode(bytes: &[u8]) -> anyhow::Result<Table> {
    anyhow::ensure!(
        bytes.len() >= 28,
        "snapshot is {} bytes, too short",
        bytes.len()
    );
    let (body, crc) = bytes.split_at(bytes.len() - 4);
    anyhow::ensure!(
        crc32fast::hash(body).to_le_bytes() == crc,
        "snapshot CRC mismatch"
    );
    anyhow::ensure!(&body[..8] == SNAP_MAGIC, "not an idempotency snapshot");
    let mut r = Reader(&body[8..]);
    let watermark = Lsn(r.u64()?);
    let count = r.u64()?;
    let mut done = HashMap::new();
    for _ in 0..count {
        let len = r.take(1)?[0] as usize;
        let name = std::str::from_utf8(r.take(len)?)?;
        let tenant = TenantId::new(name)?;
        let tag = IdTag::from_bytes(r.take(10)?.try_into()?);
        let lsn = Lsn(r.u64()?);
        let created_us = r.u64()? as i64;
        done.insert((tenant, tag), Stored { lsn, created_us });
    }
    anyhow::ensure!(r.0.is_empty(), "snapshot has trailing bytes");
    Ok(Table {
        done,
        in_flight: HashMap::new(),
        watermark,
    })
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> anyhow::Result<&'a [u8]> {
        anyhow::ensure!(self.0.len() >= n, "snapshot is truncated");
        let (a, b) = self.0.split_at(n);
        self.0 = b;
        Ok(a)
    }
    fn u64(&mut self) -> anyhow::Result<u64> {
        Ok(u64::from_le_bytes(self.take(8)?.try_into()?))
    }
}
