//! `sealog`: sealog's command-line tool.
//!
//! Offline work on a data directory (no server needed), tools for benchmarks:
//! `gen-events` (realistic events as NDJSON), `bench-engine` (the storage engine's
//! figures), and HTTP clients of sealogd: `ingest` (bulk load) and `load` (load
//! generator). Every benchmark prints its figures last, as one line of `key=value` pairs.
#![forbid(unsafe_code)]

use clap::{Parser, Subcommand};

// The allocator sealogd runs with, so the engine's figures measured here (bench-engine,
// bench-query, reindex, offline verify and export) are the ones sealogd gets.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// `outln!` that never panics: when standard output is closed (a pipe whose reader
/// left) or full, sealog says so on standard error and exits with status 2, the status of
/// an I/O error.
macro_rules! outln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        if let Err(e) = writeln!(std::io::stdout().lock(), $($arg)*) {
            $crate::stdout_failed(e);
        }
    }};
}

mod client;
mod cmd;

/// Ends sealog after a failed write to standard output (see `outln!`).
pub(crate) fn stdout_failed(e: std::io::Error) -> ! {
    eprintln!("sealog: writing to standard output: {e}");
    std::process::exit(2)
}

#[derive(Debug, Parser)]
#[command(
    name = "sealog",
    version,
    about = "sealog: tamper-evident audit log tools"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Print realistic, deterministic audit events as NDJSON.
    GenEvents(cmd::gen::Args),
    /// Benchmark the storage engine: concurrent appends, recovery, verification scan.
    BenchEngine(cmd::bench_engine::Args),
    /// Benchmark the secondary index: indexing while ingesting, then queries.
    BenchQuery(cmd::bench_query::Args),
    /// Benchmark the transparency log: checkpoint coverage under load, verify-chain,
    /// proofs, Merkle bytes per event.
    BenchIntegrity(cmd::bench_integrity::Args),
    /// Drop the secondary index of a data directory and rebuild it from the log.
    Reindex(cmd::reindex::Args),
    /// Verify offline, with no server: a data directory, an export, or a proof.
    /// Exit status: 0 intact, 1 damage or tampering found, 2 usage or I/O error.
    Verify(cmd::verify::Args),
    /// Export events to a file: from a data directory (no server) or from sealogd.
    Export(cmd::export::Args),
    /// Bulk-load an NDJSON file of events into sealogd (batched, resumable).
    Ingest(cmd::ingest::Args),
    /// HTTP load generator: realistic events (and queries) against sealogd.
    Load(cmd::load::Args),
}

fn main() -> anyhow::Result<()> {
    sealog_server::allocator::tune();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()),
        )
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr)
        .init();
    match Cli::parse().command {
        Command::GenEvents(args) => cmd::gen::run(args),
        Command::BenchEngine(args) => cmd::bench_engine::run(args),
        Command::Export(args) => cmd::export::run(args),
        Command::BenchQuery(args) => cmd::bench_query::run(args),
        Command::BenchIntegrity(args) => cmd::bench_integrity::run(args),
        Command::Reindex(args) => cmd::reindex::run(args),
        Command::Verify(args) => cmd::verify::run(args),
        Command::Ingest(args) => cmd::ingest::run(args),
        Command::Load(args) => cmd::load::run(args),
    }
}
