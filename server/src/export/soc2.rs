//! The SOC 2 report (docs/EXPORTS.md lists every field): a first pass over the export's
//! range counts the matching events and finds their seq range; the tenant's chain is
//! verified over that range (every event in it, not only the matching ones, with the
//! link into it); the latest signed checkpoint is attached.

use sealog_engine::event::BodyError;
use sealog_engine::export::{Encoder, ExportCursor, ExportEvent, Soc2Report};
use sealog_engine::{Lsn, Seq};
use serde_json::{json, Value};

use super::params::{given_json, ExportRequest};
use super::Stores;
use crate::error::ApiError;
use crate::integrity::{checkpoint_json, verification_json, Outcome};

/// Counts events and notes their seq range, writing nothing.
#[derive(Debug, Default)]
struct Census {
    count: u64,
    seqs: Option<(u64, u64)>,
}

impl Encoder for Census {
    fn record(&mut self, ev: &ExportEvent<'_>, _out: &mut Vec<u8>) -> Result<(), BodyError> {
        self.count += 1;
        self.seqs = Some(match self.seqs {
            None => (ev.seq, ev.seq),
            Some((lo, hi)) => (lo.min(ev.seq), hi.max(ev.seq)),
        });
        Ok(())
    }
}

/// The report, counted by walking `cursor` (opened for `request`) to its end, and the
/// LSN bound the events that follow it must keep to (so they are the ones it counted).
pub fn report(
    stores: &Stores<'_>,
    request: &ExportRequest,
    mut cursor: ExportCursor,
) -> Result<(Soc2Report, Lsn), ApiError> {
    let until = cursor.end_lsn();
    let mut census = Census::default();
    let mut sink = Vec::new();
    while !cursor.next_chunk(usize::MAX, &mut census, &mut sink)?.done {}
    let tenant = &request.spec.filter.tenant;
    let verification = match census.seqs {
        None => Value::Null,
        Some((lo, hi)) => {
            let report = stores
                .search
                .engine()
                .verify_tenant(tenant, Seq(lo), Seq(hi), true);
            let mut v = verification_json(
                Outcome {
                    report,
                    first: Some(Seq(lo)),
                    merkle: None,
                    merkle_faults: 0,
                },
                true,
            );
            v["first_seq"] = json!(lo);
            v["last_seq"] = json!(hi);
            v
        }
    };
    let checkpoint = stores
        .transparency
        .latest_checkpoint(tenant)
        .map_err(|e| ApiError::Internal(format!("reading the latest checkpoint: {e:?}")))?
        .map_or(Value::Null, |cp| checkpoint_json(&cp));
    let f = &request.spec.filter;
    let time = |us: Option<i64>| us.map(sealog_engine::time::format_rfc3339_us);
    let report = json!({
        "document": "sealog SOC 2 audit log export",
        "document_version": 1,
        "generator": format!("sealog {}", env!("CARGO_PKG_VERSION")),
        "generated_at": sealog_engine::time::format_rfc3339_us(sealog_engine::time::now_us()),
        "tenant": tenant.as_str(),
        "period": {"start": time(f.start_us), "end": time(f.end_us)},
        "filters": given_json(&request.given),
        "sort_order": match request.spec.order {
            sealog_engine::search::Order::Asc => "asc",
            sealog_engine::search::Order::Desc => "desc",
        },
        "count": census.count,
        "first_seq": census.seqs.map(|s| s.0),
        "last_seq": census.seqs.map(|s| s.1),
        "chain_verification": verification,
        "checkpoint": checkpoint,
    });
    Ok((Soc2Report { report }, until))
}
