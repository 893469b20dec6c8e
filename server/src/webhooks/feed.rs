//! [`Feed`]: one reader of the log for every webhook.
//!
//! A dispatcher wants the events of one tenant, often of a few event types only. Found
//! by reading the log itself, each event would be read (frame CRC, then the body
//! scanned up to its `event_type`) once per webhook: with 100 webhooks, 100 times. The
//! feed reads each new event once, on its own thread, and keeps for the newest
//! `webhook-feed-events` (default `WEBHOOK_FEED_EVENTS`) events two 64-bit hashes: of the tenant and of the event
//! type. A dispatcher whose cursor is inside that window picks its events by comparing
//! hashes, then reads only those (`Engine::visit_lsns`) and checks tenant and type
//! again on the event itself (two strings can share a hash). A dispatcher behind the
//! window (a replay from far back, a receiver down for long) reads the log itself.

use std::collections::VecDeque;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::ops::ControlFlow;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use parking_lot::{Mutex, RwLock};
use sealog_engine::log::{ReadPace, ScanDirection};
use sealog_engine::{Engine, Lsn};
use tokio::sync::watch;

use crate::limits::{WEBHOOK_FEED_BATCH_EVENTS, WEBHOOK_FEED_PICK_ENTRIES};

/// The hash the feed keeps of a tenant or an event type (SipHash with fixed keys, so
/// the feed and the dispatchers agree); never [`UNREADABLE`].
pub fn key_hash(s: &[u8]) -> u64 {
    let mut h = DefaultHasher::new();
    s.hash(&mut h);
    h.finish().max(1)
}

/// What the feed keeps of one event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Entry {
    tenant: u64,
    /// `key_hash` of the event type; [`UNREADABLE`] if the event could not be read
    /// (damage): no dispatcher picks it (verify names it).
    event_type: u64,
}

/// The event-type hash of an event the feed could not read.
const UNREADABLE: u64 = 0;

/// The window of entries: LSNs `first .. first + entries.len()`.
#[derive(Debug)]
struct Window {
    first: u64,
    entries: VecDeque<Entry>,
}

/// What a dispatcher asks of the feed.
#[derive(Debug)]
pub struct Wanted {
    /// `key_hash` of its tenant.
    pub tenant: u64,
    /// `key_hash` of each wanted event type; None: every type.
    pub types: Option<Vec<u64>>,
}

impl Wanted {
    /// The hashes of `tenant` and `types`.
    pub fn new(tenant: &str, types: Option<&[String]>) -> Wanted {
        Wanted {
            tenant: key_hash(tenant.as_bytes()),
            types: types.map(|t| t.iter().map(|s| key_hash(s.as_bytes())).collect()),
        }
    }

    fn picks(&self, e: Entry) -> bool {
        e.tenant == self.tenant
            && e.event_type != UNREADABLE
            && self
                .types
                .as_ref()
                .is_none_or(|t| t.contains(&e.event_type))
    }
}

/// The events a dispatcher may want after its cursor.
#[derive(Debug, PartialEq, Eq)]
pub struct Picked {
    /// Their LSNs, ascending (at most the `max` asked for).
    pub lsns: Vec<Lsn>,
    /// The last LSN looked at: the cursor after these events, if all are delivered.
    pub end: u64,
}

/// The shared reader; see the module doc.
#[derive(Debug)]
pub struct Feed {
    window: RwLock<Window>,
    /// The highest LSN the feed has read (dispatchers wait on it).
    end: watch::Sender<Lsn>,
    capacity: usize,
    stop: AtomicBool,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl Feed {
    /// Starts the feed's thread after LSN `from` (the oldest cursor of the webhooks
    /// there are), or after the last `capacity` events if that is older: dispatchers
    /// behind the window read the log themselves until it covers them.
    pub fn start(engine: Arc<Engine>, from: u64, capacity: usize) -> anyhow::Result<Arc<Feed>> {
        let end = engine.stats().visible_lsn.0;
        let from = from.clamp(end.saturating_sub(capacity as u64), end);
        let feed = Arc::new(Feed::new(from, capacity));
        let shared = feed.clone();
        let thread = std::thread::Builder::new()
            .name("sealog-webhooks".into())
            .spawn(move || shared.follow(&engine))?;
        *feed.thread.lock() = Some(thread);
        Ok(feed)
    }

    fn new(from: u64, capacity: usize) -> Feed {
        Feed {
            window: RwLock::new(Window {
                first: from + 1,
                entries: VecDeque::new(),
            }),
            end: watch::Sender::new(Lsn(from)),
            capacity,
            stop: AtomicBool::new(false),
            thread: Mutex::new(None),
        }
    }

    /// Stops the thread and waits for it.
    pub fn stop(&self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.lock().take() {
            let _ = t.join();
        }
    }

    /// A receiver of the highest LSN read.
    pub fn subscribe(&self) -> watch::Receiver<Lsn> {
        self.end.subscribe()
    }

    /// Up to `max` events after `cursor` that `wanted` picks, among the next
    /// [`WEBHOOK_FEED_PICK_ENTRIES`] at most; None if the window no longer (or not yet)
    /// starts right after `cursor`.
    pub fn pick(&self, cursor: u64, wanted: &Wanted, max: usize) -> Option<Picked> {
        let w = self.window.read();
        if cursor + 1 < w.first {
            return None;
        }
        let skip = usize::try_from(cursor + 1 - w.first).ok()?;
        let mut lsns = Vec::new();
        // A pick runs on the async runtime: it looks at a bounded number of entries.
        let looked = w
            .entries
            .len()
            .min(skip.saturating_add(WEBHOOK_FEED_PICK_ENTRIES));
        let mut end = w.first + looked as u64 - 1;
        for (k, e) in w.entries.iter().enumerate().take(looked).skip(skip) {
            if wanted.picks(*e) {
                let lsn = w.first + k as u64;
                lsns.push(Lsn(lsn));
                if lsns.len() >= max {
                    end = lsn;
                    break;
                }
            }
        }
        Some(Picked {
            lsns,
            end: end.max(cursor),
        })
    }

    fn push(&self, read: Vec<Entry>) {
        let mut w = self.window.write();
        w.entries.extend(read);
        let over = w.entries.len().saturating_sub(self.capacity);
        w.entries.drain(..over);
        w.first += over as u64;
        let end = w.first + w.entries.len() as u64 - 1;
        drop(w);
        self.end.send_replace(Lsn(end));
    }

    /// The thread: reads what becomes visible, once, into the window.
    fn follow(&self, engine: &Engine) {
        let mut pace = ReadPace::default();
        let mut next = self.end.borrow().0 + 1;
        while !self.stop.load(Ordering::SeqCst) {
            let visible = engine.wait_visible(Lsn(next - 1), Duration::from_millis(100));
            if visible.0 < next {
                continue;
            }
            let end = pace
                .next_read(Lsn(next), WEBHOOK_FEED_BATCH_EVENTS, false, || {
                    engine.stats().visible_lsn
                })
                .0;
            // One entry per LSN, placed by the event's own LSN; one that cannot be read
            // stays unreadable.
            let unreadable = Entry {
                tenant: 0,
                event_type: UNREADABLE,
            };
            let mut read = vec![unreadable; (end - next) as usize];
            engine.visit(Lsn(next)..Lsn(end), ScanDirection::Forward, |ev| {
                match ev {
                    Ok(ev) => {
                        if let Some(slot) = read.get_mut((ev.lsn.0 - next) as usize) {
                            *slot = Entry {
                                tenant: key_hash(ev.tenant.as_bytes()),
                                event_type: event_type(ev.body).map_or(UNREADABLE, key_hash),
                            };
                        }
                    }
                    Err(e) => {
                        tracing::error!(error = %e, "webhooks skip a damaged event (verify names it)");
                    }
                }
                ControlFlow::<()>::Continue(())
            });
            next = end;
            self.push(read);
        }
    }
}

/// The value of a body's `event_type` member (without its quotes).
pub fn event_type(body: &[u8]) -> Option<&[u8]> {
    for m in sealog_engine::event::top_level_members(body) {
        match m {
            Ok(("event_type", v)) => {
                return Some(
                    v.strip_prefix(b"\"")
                        .and_then(|v| v.strip_suffix(b"\""))
                        .unwrap_or(v),
                );
            }
            Ok(_) => {}
            Err(_) => return None,
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::limits::WEBHOOK_FEED_EVENTS;

    fn entry(tenant: &str, event_type: &str) -> Entry {
        Entry {
            tenant: key_hash(tenant.as_bytes()),
            event_type: key_hash(event_type.as_bytes()),
        }
    }

    #[test]
    fn picks_the_tenants_events_of_the_wanted_types_after_the_cursor() {
        let feed = Feed::new(10, 100);
        feed.push(vec![
            entry("acme", "a"),
            entry("other", "a"),
            entry("acme", "b"),
            entry("acme", "a"),
        ]);
        // LSNs 11..=14.
        let all = Wanted::new("acme", None);
        let only_a = Wanted::new("acme", Some(&["a".to_owned()]));
        let pick = |cursor, w: &Wanted, max| feed.pick(cursor, w, max).unwrap();
        assert_eq!(pick(10, &all, 10).lsns, vec![Lsn(11), Lsn(13), Lsn(14)]);
        assert_eq!(pick(10, &all, 10).end, 14);
        assert_eq!(pick(10, &only_a, 10).lsns, vec![Lsn(11), Lsn(14)]);
        assert_eq!(pick(11, &only_a, 10).lsns, vec![Lsn(14)]);
        // A full batch ends at its last event.
        assert_eq!(
            pick(10, &all, 2),
            Picked {
                lsns: vec![Lsn(11), Lsn(13)],
                end: 13
            }
        );
        // Nothing wanted: the cursor moves to the end of the window.
        let none = Wanted::new("acme", Some(&["c".to_owned()]));
        assert_eq!(
            pick(10, &none, 10),
            Picked {
                lsns: vec![],
                end: 14
            }
        );
        // A cursor at (or past) the end: nothing, and it stays.
        assert_eq!(
            pick(14, &all, 10),
            Picked {
                lsns: vec![],
                end: 14
            }
        );
    }

    #[test]
    fn the_window_keeps_the_newest_entries_and_refuses_cursors_before_it() {
        let feed = Feed::new(0, 3);
        assert!(feed.pick(0, &Wanted::new("acme", None), 10).is_some());
        feed.push((0..5).map(|_| entry("acme", "a")).collect());
        // LSNs 1..=5 read; 3..=5 kept.
        let all = Wanted::new("acme", None);
        assert_eq!(feed.pick(0, &all, 10), None);
        assert_eq!(feed.pick(1, &all, 10), None);
        assert_eq!(
            feed.pick(2, &all, 10).unwrap().lsns,
            vec![Lsn(3), Lsn(4), Lsn(5)]
        );
        assert_eq!(*feed.subscribe().borrow(), Lsn(5));
    }

    #[test]
    fn one_pick_looks_at_a_bounded_number_of_entries() {
        let feed = Feed::new(0, WEBHOOK_FEED_EVENTS);
        let n = WEBHOOK_FEED_PICK_ENTRIES + 1_000;
        feed.push((0..n).map(|_| entry("other", "a")).collect());
        let acme = Wanted::new("acme", None);
        let first = feed.pick(0, &acme, 10).unwrap();
        assert_eq!(first.lsns, vec![]);
        assert_eq!(first.end, WEBHOOK_FEED_PICK_ENTRIES as u64);
        let second = feed.pick(first.end, &acme, 10).unwrap();
        assert_eq!(second.end, n as u64);
    }

    #[test]
    fn an_unreadable_event_is_picked_by_no_one() {
        let feed = Feed::new(0, 10);
        let mut damaged = entry("acme", "a");
        damaged.event_type = UNREADABLE;
        feed.push(vec![damaged, entry("acme", "a")]);
        let picked = feed.pick(0, &Wanted::new("acme", None), 10).unwrap();
        assert_eq!(picked.lsns, vec![Lsn(2)]);
    }

    #[test]
    fn event_type_reads_the_member() {
        assert_eq!(
            event_type(br#"{"action":"X","event_type":"ORDER_PLACED","seq":1}"#),
            Some(&b"ORDER_PLACED"[..])
        );
        assert_eq!(event_type(br#"{"action":"X"}"#), None);
        assert_eq!(event_type(b"not json"), None);
    }
}
