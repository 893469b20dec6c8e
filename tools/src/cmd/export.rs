//! `sealog export`: an export to a file, from a data directory with no server
//! (`--data-dir`, the server's own encoders and request rules, sealogd stopped) or from
//! a running sealogd (`--url`, streamed, with a progress bar). `--param` takes any
//! parameter of the HTTP endpoint (filters, `sort_order`, `from_seq`, `limit`,
//! `version`, `framing`, `payload`, `chunk_size`), checked the same way.

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use bytes::Bytes;
use clap::Parser;
use http_body_util::{BodyExt, Empty};
use hyper::Method;
use hyper_util::rt::TokioIo;
use sealog_server::ExportEndpoint;

use crate::client::Endpoint;

/// Options of `sealog export`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Read this data directory directly (sealogd must not be running on it).
    #[arg(long, conflicts_with = "url", value_parser = super::arg::data_dir)]
    data_dir: Option<PathBuf>,
    /// Or ask this sealogd (`http://host:port`).
    #[arg(long, requires = "token")]
    url: Option<String>,
    /// API token (auditor or admin) for --url.
    #[arg(long, env = "SEALOG_TOKEN")]
    token: Option<String>,
    /// csv, json, ndjson, soc2, cef, leef or syslog.
    #[arg(long, default_value = "ndjson")]
    format: String,
    /// The tenant. Default: with --url, the key's own (a one-tenant key's tenant, or
    /// `default` for an all-tenant key); with --data-dir, `default`.
    #[arg(long, value_parser = super::arg::tenant)]
    tenant: Option<String>,
    /// With --data-dir: sealogd's configuration file, for the settings exports take from
    /// it (syslog facility, hostname, enterprise number, message size), so the file is
    /// what that sealogd would send.
    #[arg(long, value_name = "FILE", requires = "data_dir")]
    config: Option<PathBuf>,
    /// With --url: the longest wait to connect, then for the answer, then for each next
    /// piece of the export; a server silent for longer ends the export with an error.
    /// sealogd sends nothing until it has something to send, so a filter that matches
    /// few of many events (or `soc2`, which verifies the range first) can be silent long.
    #[arg(long, default_value = "5m", value_parser = super::arg::duration, requires = "url")]
    timeout: Duration,
    /// An endpoint parameter as KEY=VALUE (repeatable): severity=high, tag=x,
    /// start_date=2026-01-01, from_seq=1001, version=1.0, framing=octet, …
    #[arg(long = "param", value_name = "KEY=VALUE")]
    params: Vec<String>,
    /// Write here instead of standard output. A regular file appears (or is replaced)
    /// only when the export is complete; a failed export leaves an existing one as it
    /// was. A device, pipe or symbolic link is written directly.
    #[arg(long, short)]
    output: Option<PathBuf>,
}

/// Runs the export.
pub fn run(args: Args) -> anyhow::Result<()> {
    let (endpoint, path, mut pairs) = match args.format.as_str() {
        "csv" | "json" | "soc2" => (
            ExportEndpoint::Limited,
            "/api/audit-logs/export",
            vec![("format".to_owned(), args.format.clone())],
        ),
        "ndjson" => (
            ExportEndpoint::Ndjson,
            "/api/audit-logs/export/ndjson",
            vec![],
        ),
        "cef" => (ExportEndpoint::Cef, "/api/audit-logs/export/cef", vec![]),
        "leef" => (ExportEndpoint::Leef, "/api/audit-logs/export/leef", vec![]),
        "syslog" => (
            ExportEndpoint::Syslog,
            "/api/audit-logs/export/syslog",
            vec![],
        ),
        other => bail!("--format {other:?}: expected csv, json, ndjson, soc2, cef, leef or syslog"),
    };
    for p in &args.params {
        let Some((k, v)) = p.split_once('=') else {
            bail!("--param {p:?}: expected KEY=VALUE");
        };
        pairs.push((k.to_owned(), v.to_owned()));
    }
    let query = pairs
        .iter()
        .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
        .collect::<Vec<_>>()
        .join("&");
    anyhow::ensure!(!args.timeout.is_zero(), "--timeout must be more than 0");
    // A new or regular file (through a symbolic link: the file it names) is written
    // under a temporary name beside it and renamed over it once complete; a device or
    // a pipe (/dev/stdout, a FIFO) is written directly, as it is not ours to replace.
    let output = match &args.output {
        Some(p) => match std::fs::metadata(p) {
            Ok(m) if m.is_dir() => bail!("-o {}: is a directory", p.display()),
            Ok(m) if m.is_file() => Some((
                std::fs::canonicalize(p).with_context(|| format!("-o {}", p.display()))?,
                true,
            )),
            Ok(_) => Some((p.clone(), false)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Some((p.clone(), true)),
            Err(e) => return Err(e).with_context(|| format!("-o {}", p.display())),
        },
        None => None,
    };
    let mut partial = match &output {
        Some((p, true)) => {
            let parent = match p.parent() {
                Some(d) if !d.as_os_str().is_empty() => d,
                _ => std::path::Path::new("."),
            };
            Some(
                tempfile::Builder::new()
                    .prefix(".sealog-export-")
                    .tempfile_in(parent)
                    .with_context(|| format!("creating a file in {}", parent.display()))?,
            )
        }
        _ => None,
    };
    let mut out: Box<dyn Write> = match (&mut partial, &output) {
        (Some(f), _) => Box::new(std::io::BufWriter::new(f.as_file_mut())),
        (None, Some((p, _))) => Box::new(std::io::BufWriter::new(
            std::fs::OpenOptions::new()
                .write(true)
                .open(p)
                .with_context(|| format!("opening {}", p.display()))?,
        )),
        (None, None) => Box::new(std::io::BufWriter::new(std::io::stdout().lock())),
    };
    let started = Instant::now();
    let bar = indicatif::ProgressBar::new_spinner();
    let (events, bytes) = match (&args.data_dir, &args.url) {
        (Some(dir), _) => {
            let mut argv = vec![
                std::ffi::OsStr::new("sealogd"),
                std::ffi::OsStr::new("--data-dir"),
                dir.as_os_str(),
            ];
            if let Some(c) = &args.config {
                argv.extend([std::ffi::OsStr::new("--config"), c.as_os_str()]);
            }
            let config = sealog_server::Config::load(sealog_server::Args::parse_from(argv))?;
            let mut progress = |n: u64| bar.set_message(format!("{n} events"));
            let n = sealog_server::export_offline(
                &config,
                endpoint,
                &query,
                args.tenant.as_deref().unwrap_or("default"),
                &mut out,
                &mut progress,
            )?;
            (Some(n), None)
        }
        (None, Some(url)) => {
            let token = args.token.as_deref().unwrap_or_default();
            let target = format!("{path}?{query}");
            let asked = Asked {
                tenant: args.tenant.as_deref(),
                target: &target,
                timeout: args.timeout,
            };
            let bytes = remote(url, token, &asked, &mut out, &bar)?;
            (None, Some(bytes))
        }
        (None, None) => bail!("give --data-dir DIR or --url URL --token TOKEN"),
    };
    out.flush().context("writing the export")?;
    drop(out);
    if let (Some(f), Some((p, _))) = (partial, &output) {
        f.as_file()
            .sync_all()
            .with_context(|| format!("writing {}", p.display()))?;
        f.persist(p)
            .with_context(|| format!("renaming the finished export to {}", p.display()))?;
    }
    bar.finish_and_clear();
    let secs = started.elapsed().as_secs_f64();
    let mut line = format!("export_s={secs:.3}");
    if let Some(n) = events {
        line += &format!(" events={n} events_per_s={:.0}", n as f64 / secs.max(1e-9));
    }
    if let Some(b) = bytes {
        line += &format!(
            " bytes={b} mib_per_s={:.1}",
            b as f64 / secs.max(1e-9) / 1048576.0
        );
    }
    eprintln!("{line}");
    Ok(())
}

/// What one export asks of sealogd.
struct Asked<'a> {
    /// `X-Tenant-Id`, when given.
    tenant: Option<&'a str>,
    /// Path and query.
    target: &'a str,
    /// The longest wait for the answer, and then for each next piece of it.
    timeout: Duration,
}

/// Streams one export from sealogd into `out`; returns the bytes received.
fn remote(
    url: &str,
    token: &str,
    asked: &Asked<'_>,
    out: &mut dyn Write,
    bar: &indicatif::ProgressBar,
) -> anyhow::Result<u64> {
    let wait = asked.timeout;
    let stalled = || {
        anyhow::anyhow!(
            "sealogd sent nothing for {} (--timeout); the export is incomplete",
            humantime::format_duration(wait)
        )
    };
    let endpoint = Arc::new(Endpoint::parse(url, token)?);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the tokio runtime")?;
    runtime.block_on(async {
        let stream = tokio::time::timeout(wait, tokio::net::TcpStream::connect(endpoint.socket()))
            .await
            .map_err(|_| {
                anyhow::anyhow!(
                    "connecting to {}: no connection within {} (--timeout)",
                    endpoint.authority(),
                    humantime::format_duration(wait)
                )
            })?
            .with_context(|| format!("connecting to {}", endpoint.authority()))?;
        let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .context("HTTP handshake")?;
        tokio::spawn(async move {
            let _ = conn.await;
        });
        let mut req = endpoint.request(Method::GET, asked.target);
        if let Some(t) = asked.tenant {
            req = req.header("X-Tenant-Id", t);
        }
        let req = req
            .body(Empty::<Bytes>::new())
            .context("building the request")?;
        let resp = tokio::time::timeout(wait, sender.send_request(req))
            .await
            .map_err(|_| stalled())?
            .context("sending the request")?;
        let status = resp.status();
        let mut body = resp.into_body();
        if !status.is_success() {
            let text = tokio::time::timeout(wait, body.collect())
                .await
                .ok()
                .and_then(Result::ok)
                .map(|b| b.to_bytes())
                .unwrap_or_default();
            bail!(
                "sealogd answered {status}: {}",
                String::from_utf8_lossy(&text)
            );
        }
        let mut bytes = 0u64;
        while let Some(frame) = tokio::time::timeout(wait, body.frame())
            .await
            .map_err(|_| stalled())?
        {
            let frame = frame.context("the export stopped before its end")?;
            if let Ok(data) = frame.into_data() {
                out.write_all(&data).context("writing the export")?;
                bytes += data.len() as u64;
                bar.set_message(format!("{:.1} MiB", bytes as f64 / 1048576.0));
            }
        }
        out.flush().context("writing the export")?;
        Ok(bytes)
    })
}

/// Everything but RFC 3986's unreserved characters is percent-encoded.
const QUERY_ESCAPED: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

fn encode(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, QUERY_ESCAPED).to_string()
}
