//! Cursors: an opaque position in a query's order, stable while events arrive.
//!
//! A cursor names the last event of a page by (created_at, seq) and by LSN (the order
//! of both agree within a tenant: created_at never decreases along the log), with the
//! order it was read in and a fingerprint of the filter, so a cursor is refused with a
//! clear error if used with another filter or order. Events appended later never shift
//! a cursor's position: descending pages continue below it, ascending pages above it.

use sha2::{Digest, Sha256};

use super::filter::Filter;
use super::query::Order;
use crate::error::EngineError;
use crate::types::{Lsn, Seq};

const VERSION: u8 = 1;
const BYTES: usize = 1 + 8 + 8 + 8 + 1 + 8 + 4;

/// A position in a query's order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor {
    /// The last event's LSN.
    pub lsn: Lsn,
    /// Its `created_at`.
    pub created_at_us: i64,
    /// Its seq.
    pub seq: Seq,
    /// The order the pages are read in.
    pub order: Order,
    /// Fingerprint of the filter it belongs to.
    pub fingerprint: u64,
}

impl Cursor {
    /// The opaque text form (hex).
    pub fn encode(&self) -> String {
        let mut b = Vec::with_capacity(BYTES);
        b.push(VERSION);
        b.extend_from_slice(&self.lsn.0.to_le_bytes());
        b.extend_from_slice(&self.created_at_us.to_le_bytes());
        b.extend_from_slice(&self.seq.0.to_le_bytes());
        b.push(match self.order {
            Order::Asc => 0,
            Order::Desc => 1,
        });
        b.extend_from_slice(&self.fingerprint.to_le_bytes());
        let crc = crc32fast::hash(&b);
        b.extend_from_slice(&crc.to_le_bytes());
        hex::encode(b)
    }

    /// Parses a cursor made by [`Cursor::encode`] for this filter and order.
    pub fn decode(text: &str, filter: &Filter, order: Order) -> Result<Cursor, EngineError> {
        let bad = |why: &str| EngineError::Query {
            why: format!("cursor {}: {why}", shorten(text)),
        };
        let b = hex::decode(text).map_err(|_| bad("not a cursor sealog issued"))?;
        if b.len() != BYTES || b[0] != VERSION {
            return Err(bad("not a cursor sealog issued"));
        }
        let (body, crc) = b.split_at(BYTES - 4);
        if crc32fast::hash(body).to_le_bytes() != crc {
            return Err(bad("damaged (checksum mismatch)"));
        }
        let u = |at: usize| u64::from_le_bytes(b[at..at + 8].try_into().unwrap_or([0; 8]));
        let cursor = Cursor {
            lsn: Lsn(u(1)),
            created_at_us: u(9) as i64,
            seq: Seq(u(17)),
            order: if b[25] == 0 { Order::Asc } else { Order::Desc },
            fingerprint: u(26),
        };
        if cursor.order != order {
            return Err(bad("issued for the other sort_order"));
        }
        if cursor.fingerprint != fingerprint(filter) {
            return Err(bad("issued for different filters"));
        }
        Ok(cursor)
    }
}

/// A fingerprint of everything a filter selects.
pub fn fingerprint(filter: &Filter) -> u64 {
    let text = format!("{filter:?}");
    let digest = Sha256::digest(text.as_bytes());
    u64::from_le_bytes(digest[..8].try_into().unwrap_or([0; 8]))
}

fn shorten(text: &str) -> String {
    text.chars().take(80).collect()
}
