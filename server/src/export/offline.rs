//! `sealog export --data-dir`: the HTTP endpoints' request parsing, encoders and SOC 2
//! report, writing to a file instead of a socket. sealogd must not be running on the
//! directory (it is locked while it is); opening it recovers the log as sealogd's start
//! would. There is no overall `limit` offline unless one is given.

use std::io::Write;

use anyhow::Context;
use sealog_engine::TenantId;

use super::params::{self, Endpoint};
use super::{open, Stores};
use crate::config::Config;
use crate::error::ApiError;
use crate::limits::EXPORT_CHUNK_DEFAULT;

/// Exports what `query` (the endpoint's query string) selects of `tenant` to `out`;
/// calls `progress` with the count after each chunk. Returns the events written.
pub fn export_offline(
    config: &Config,
    endpoint: Endpoint,
    query: &str,
    tenant: &str,
    out: &mut dyn Write,
    progress: &mut dyn FnMut(u64),
) -> anyhow::Result<u64> {
    let tenant = TenantId::new(tenant).map_err(|e| anyhow::anyhow!("tenant {tenant:?}: {e}"))?;
    let request = params::parse(Some(query), endpoint, tenant, None).map_err(explain)?;
    let (engine, search, transparency) = crate::open_stores(config)?;
    let result = (|| -> anyhow::Result<u64> {
        let stores = Stores {
            search: &search,
            transparency: &transparency,
            syslog: &config.syslog,
        };
        let (mut cursor, mut encoder) = open(&stores, request).map_err(explain)?;
        let mut buf = Vec::with_capacity(EXPORT_CHUNK_DEFAULT as usize * 1024);
        encoder.begin(&mut buf);
        loop {
            let chunk = cursor
                .next_chunk(EXPORT_CHUNK_DEFAULT as usize, &mut *encoder, &mut buf)
                .context("reading the log")?;
            if chunk.done {
                encoder.end(&mut buf);
            }
            out.write_all(&buf).context("writing the export")?;
            buf.clear();
            progress(cursor.sent());
            if chunk.done {
                out.flush().context("writing the export")?;
                return Ok(cursor.sent());
            }
        }
    })();
    transparency.close();
    search.close();
    engine.close();
    result
}

/// A request error as a message (a 422's items, one per line).
fn explain(e: ApiError) -> anyhow::Error {
    match e {
        ApiError::Validation(items) => {
            let lines: Vec<String> = items
                .iter()
                .map(|i| format!("{}: {}", i["loc"], i["msg"].as_str().unwrap_or("invalid")))
                .collect();
            anyhow::anyhow!("bad export parameters:\n{}", lines.join("\n"))
        }
        other => anyhow::anyhow!("{other:?}"),
    }
}
