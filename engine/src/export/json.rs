//! JSON (one bare array) and NDJSON (one object per line, final newline): each event
//! exactly as GET returns it, so a third party can check every hash and link from the
//! export alone.

use super::{whole, Encoder, ExportEvent};
use crate::event::BodyError;

/// `[` event `,` event … `]`.
#[derive(Debug, Default, Clone, Copy)]
pub struct JsonArrayEncoder;

impl Encoder for JsonArrayEncoder {
    fn begin(&mut self, out: &mut Vec<u8>) {
        out.push(b'[');
    }

    fn record(&mut self, ev: &ExportEvent<'_>, out: &mut Vec<u8>) -> Result<(), BodyError> {
        ev.write_returned(out)
    }

    fn separator(&self) -> &'static [u8] {
        b","
    }

    fn end(&mut self, out: &mut Vec<u8>) {
        out.push(b']');
    }

    fn fork(&self) -> Option<Box<dyn Encoder>> {
        Some(Box::new(*self))
    }
}

/// One event per line.
#[derive(Debug, Default, Clone, Copy)]
pub struct NdjsonEncoder;

impl Encoder for NdjsonEncoder {
    fn record(&mut self, ev: &ExportEvent<'_>, out: &mut Vec<u8>) -> Result<(), BodyError> {
        whole(out, |out| {
            ev.write_returned(out)?;
            out.push(b'\n');
            Ok(())
        })
    }

    fn fork(&self) -> Option<Box<dyn Encoder>> {
        Some(Box::new(*self))
    }
}
