//! JSON (one bare array) and NDJSON (one object per line, final newline): each event
//! exactly as GET returns it, so a third party can check every hash and link from the
//! export alone.

use super::{whole, Encoder, ExportEvent};
use crate::event::BodyError;

/// `[` event `,` event … `]`.
#[derive(Debug, Default)]
pub struct JsonArrayEncoder {
    started: bool,
}

impl Encoder for JsonArrayEncoder {
    fn begin(&mut self, out: &mut Vec<u8>) {
        out.push(b'[');
    }

    fn record(&mut self, ev: &ExportEvent<'_>, out: &mut Vec<u8>) -> Result<(), BodyError> {
        let started = self.started;
        whole(out, |out| {
            if started {
                out.push(b',');
            }
            ev.write_returned(out)
        })?;
        self.started = true;
        Ok(())
    }

    fn end(&mut self, out: &mut Vec<u8>) {
        out.push(b']');
    }
}

/// One event per line.
#[derive(Debug, Default)]
pub struct NdjsonEncoder;

impl Encoder for NdjsonEncoder {
    fn record(&mut self, ev: &ExportEvent<'_>, out: &mut Vec<u8>) -> Result<(), BodyError> {
        whole(out, |out| {
            ev.write_returned(out)?;
            out.push(b'\n');
            Ok(())
        })
    }
}
