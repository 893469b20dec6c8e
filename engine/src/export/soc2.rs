//! SOC 2 evidence: one JSON document for an audit period,
//! `{"report":{…},"events":[…]}`. The report (docs/EXPORTS.md, field by field) says who
//! generated it and when, for which tenant, period and filters, how many events it
//! holds and their first and last seq, the result of verifying the tenant's chain over
//! that seq range, and the latest signed checkpoint; the events are exactly as GET
//! returns them, so the document checks itself.

use super::json::JsonArrayEncoder;
use super::{Encoder, ExportEvent};
use crate::event::BodyError;

/// The report heading a SOC 2 export, built by the caller (it knows the verification
/// and the checkpoint).
#[derive(Debug, Clone)]
pub struct Soc2Report {
    /// The `report` object.
    pub report: serde_json::Value,
}

/// Writes the SOC 2 document.
#[derive(Debug)]
pub struct Soc2Encoder {
    report: Soc2Report,
    events: JsonArrayEncoder,
}

impl Soc2Encoder {
    /// An encoder that heads the events with `report`.
    pub fn new(report: Soc2Report) -> Soc2Encoder {
        Soc2Encoder {
            report,
            events: JsonArrayEncoder,
        }
    }
}

impl Encoder for Soc2Encoder {
    fn begin(&mut self, out: &mut Vec<u8>) {
        out.extend_from_slice(b"{\"report\":");
        // Serializing a Value into memory cannot fail.
        out.extend_from_slice(self.report.report.to_string().as_bytes());
        out.extend_from_slice(b",\"events\":");
        self.events.begin(out);
    }

    fn record(&mut self, ev: &ExportEvent<'_>, out: &mut Vec<u8>) -> Result<(), BodyError> {
        self.events.record(ev, out)
    }

    fn separator(&self) -> &'static [u8] {
        self.events.separator()
    }

    fn fork(&self) -> Option<Box<dyn Encoder>> {
        self.events.fork()
    }

    fn end(&mut self, out: &mut Vec<u8>) {
        self.events.end(out);
        out.push(b'}');
    }
}
