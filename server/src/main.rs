//! sealogd: sealog's server. `sealogd --data-dir DIR --listen ADDR`; `--help` lists the
//! settings; docs/API.md describes the API.
#![forbid(unsafe_code)]

use clap::Parser;
use sealog_server::{Args, Config, LogFormat};

// Ingest allocates many small, short-lived buffers per event on every core; mimalloc's
// thread-local free lists measured faster than glibc malloc here (docs/BENCHMARKS.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    sealog_server::allocator::tune();
    let config = match Config::load(Args::parse()).and_then(|c| {
        // The environment's admin token too, before anything is opened.
        sealog_server::check_env_admin_token()?;
        Ok(c)
    }) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("sealogd: {e:#}");
            return std::process::ExitCode::from(2);
        }
    };
    let filter =
        tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into());
    match config.log_format {
        // Colours only for a terminal: a log file or journal gets plain text.
        LogFormat::Text => tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .with_writer(std::io::stderr)
            .init(),
        LogFormat::Json => tracing_subscriber::fmt()
            .json()
            .with_env_filter(filter)
            .with_writer(std::io::stderr)
            .init(),
    }
    match sealog_server::run(config) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = %format!("{e:#}"), "sealogd failed");
            eprintln!("sealogd: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
