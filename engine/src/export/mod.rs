//! Exports: the stored events of a tenant, streamed in chunks, in seven formats.
//!
//! Two halves, as in vector's codecs. [`ExportCursor`] reads: it walks a tenant's events
//! in (created_at, seq) order straight from the segment files (one LSN range, fixed when
//! the export starts, so a range that keeps receiving events still has an end), applies
//! the query filters with the same matcher queries use, and hands out `chunk` events at
//! a time with their resolution overlay. An [`Encoder`] writes: one per format, each
//! turning one [`ExportEvent`] into whole records (a chunk boundary never splits one).
//! The server sends each chunk as it is encoded; `sealog export --data-dir` writes the
//! same bytes to a file. docs/EXPORTS.md gives every format's rules and field mapping.

mod cef;
mod csv;
mod cursor;
mod escape;
mod json;
mod leef;
mod members;
mod soc2;
mod syslog;
#[cfg(test)]
mod tests;
mod text;
mod walk;

pub use cef::{CefEncoder, CEF_EXTENSION_CHARS_MAX};
pub use csv::CsvEncoder;
pub use cursor::{Chunk, ExportCursor, ExportSpec, EXPORT_CHUNK_BYTES_MAX, EXPORT_SCAN_EVENTS_MAX};
pub use json::{JsonArrayEncoder, NdjsonEncoder};
pub use leef::{LeefEncoder, LeefVersion};
pub use members::{Column, Members};
pub use soc2::{Soc2Encoder, Soc2Report};
pub use syslog::{
    SyslogEncoder, SyslogFraming, SyslogOptions, SyslogPayload, SYSLOG_ENTERPRISE_DEFAULT,
    SYSLOG_FACILITY_DEFAULT, SYSLOG_MESSAGE_BYTES_DEFAULT, SYSLOG_MESSAGE_BYTES_MIN,
};
pub use text::{cut_bytes_at_char, cut_chars, CUT_MARK};
pub use walk::EXPORT_PARALLEL_EVENTS_MIN;

use crate::event::{write_returned, BodyError, Overlay};

/// The product name in CEF and LEEF headers and syslog's APP-NAME.
pub const PRODUCT: &str = "sealog";
/// The version in CEF and LEEF headers.
pub const PRODUCT_VERSION: &str = env!("CARGO_PKG_VERSION");

/// One stored event as encoders see it: body, hash and overlay together are exactly
/// the object GET returns.
#[derive(Debug, Clone, Copy)]
pub struct ExportEvent<'a> {
    /// The stored canonical body (without `hash` and the overlay).
    pub body: &'a [u8],
    /// The stored hash.
    pub hash: &'a [u8; 32],
    /// The latest resolution, if any.
    pub overlay: Option<&'a Overlay>,
    /// Its `created_at`, microseconds since the epoch.
    pub created_at_us: i64,
    /// Its seq.
    pub seq: u64,
    /// Its tenant.
    pub tenant: &'a str,
}

impl ExportEvent<'_> {
    /// The returned object (what GET answers), appended to `out`.
    pub fn write_returned(&self, out: &mut Vec<u8>) -> Result<(), BodyError> {
        write_returned(self.body, self.hash, self.overlay, out)
    }
}

/// Turns events into one format's records.
pub trait Encoder: Send {
    /// What comes before the first record (a CSV header, `[`).
    fn begin(&mut self, _out: &mut Vec<u8>) {}
    /// One whole record. On error `out` is left as it was.
    fn record(&mut self, ev: &ExportEvent<'_>, out: &mut Vec<u8>) -> Result<(), BodyError>;
    /// What goes between two records (JSON's `,`); the cursor writes it.
    fn separator(&self) -> &'static [u8] {
        b""
    }
    /// What comes after the last record (`]`).
    fn end(&mut self, _out: &mut Vec<u8>) {}
    /// A second encoder that writes the same records as this one, so that the cursor can
    /// encode two halves of a stretch at once and put them end to end. `None` (the
    /// default) for an encoder that keeps state across records: its chunks are encoded
    /// on one thread.
    fn fork(&self) -> Option<Box<dyn Encoder>> {
        None
    }
}

/// Runs `write` on `out`, leaving `out` as it was if it fails: encoders never leave half
/// a record behind.
pub(crate) fn whole(
    out: &mut Vec<u8>,
    write: impl FnOnce(&mut Vec<u8>) -> Result<(), BodyError>,
) -> Result<(), BodyError> {
    let start = out.len();
    let r = write(out);
    if r.is_err() {
        out.truncate(start);
    }
    r
}
