//! `sealog gen-events`: realistic events as NDJSON on stdout.

use std::io::{BufWriter, Write};

use sealog_engine::gen::{GenConfig, Generator};

/// Options of `sealog gen-events`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Number of events.
    #[arg(long)]
    count: u64,
    /// Event-stream seed.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Seed of the users/symbols/tenants universe (shared by all streams).
    #[arg(long, default_value_t = 1)]
    universe_seed: u64,
    /// Days covered by the whole stream.
    #[arg(long, default_value_t = 30.0)]
    span_days: f64,
    /// Add event_description (and error fields for failed logins).
    #[arg(long)]
    with_text: bool,
    /// Include the server-set fields id, created_at and tenant_id (not for ingest).
    #[arg(long)]
    server_fields: bool,
}

/// Writes the events.
pub fn run(args: Args) -> anyhow::Result<()> {
    let config = GenConfig {
        seed: args.seed,
        universe_seed: args.universe_seed,
        span_days: args.span_days,
        count: args.count,
        with_text: args.with_text,
        server_fields: args.server_fields,
        ..GenConfig::default()
    };
    let mut gen = Generator::new(config);
    let stdout = std::io::stdout();
    let mut out = BufWriter::with_capacity(1 << 20, stdout.lock());
    let mut line = Vec::with_capacity(2048);
    loop {
        line.clear();
        if gen.write_json_into(&mut line).is_none() {
            break;
        }
        line.push(b'\n');
        if let Err(e) = out.write_all(&line) {
            if e.kind() == std::io::ErrorKind::BrokenPipe {
                return Ok(());
            }
            return Err(e.into());
        }
    }
    out.flush().or_else(|e| {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            Ok(())
        } else {
            Err(e)
        }
    })?;
    Ok(())
}
