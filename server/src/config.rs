//! sealogd's settings: defaults, then a TOML file (`--config`), then environment
//! variables, then flags (each later source wins). docs/OPERATIONS.md lists them.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context};
use clap::Parser;
use sealog_engine::export::{
    SyslogOptions, SYSLOG_ENTERPRISE_DEFAULT, SYSLOG_FACILITY_DEFAULT,
    SYSLOG_MESSAGE_BYTES_DEFAULT, SYSLOG_MESSAGE_BYTES_MIN,
};
use sealog_engine::Durability;
use serde::Deserialize;

use crate::limits::IDEMPOTENCY_RETENTION_MIN;

/// Command-line flags (each also read from the environment variable shown).
#[derive(Debug, Parser)]
#[command(
    name = "sealogd",
    version,
    about = "sealog: tamper-evident audit log server"
)]
pub struct Args {
    /// TOML configuration file.
    #[arg(long, env = "SEALOG_CONFIG")]
    pub config: Option<PathBuf>,
    /// Data directory (created if missing). Default ./data.
    #[arg(long, env = "SEALOG_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// Address to listen on. Default 127.0.0.1:8080.
    #[arg(long, env = "SEALOG_LISTEN")]
    pub listen: Option<String>,
    /// Durability policy: sync (default), interval:<ms>, none (benchmarks only).
    #[arg(long, env = "SEALOG_DURABILITY")]
    pub durability: Option<Durability>,
    /// TLS certificate chain (PEM). With --tls-key, serves HTTPS.
    #[arg(long, env = "SEALOG_TLS_CERT")]
    pub tls_cert: Option<PathBuf>,
    /// TLS private key (PEM).
    #[arg(long, env = "SEALOG_TLS_KEY")]
    pub tls_key: Option<PathBuf>,
    /// Log format: text (default) or json.
    #[arg(long, env = "SEALOG_LOG_FORMAT")]
    pub log_format: Option<LogFormat>,
    /// Require an API key for /metrics and /openapi.json too (default false).
    #[arg(long, env = "SEALOG_OPS_REQUIRE_AUTH")]
    pub ops_require_auth: Option<bool>,
    /// Segment size in bytes (default 256 MiB).
    #[arg(long, env = "SEALOG_SEGMENT_BYTES")]
    pub segment_bytes: Option<u64>,
    /// The log's newest bytes kept in the page cache; older pages of indexed events are
    /// dropped from it (default 1 GiB).
    #[arg(long, env = "SEALOG_LOG_CACHE_BYTES")]
    pub log_cache_bytes: Option<u64>,
}

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, clap::ValueEnum, Default)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    #[default]
    Text,
    /// One JSON object per line.
    Json,
}

/// The TOML file: every key optional, unknown keys refused.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct FileConfig {
    data_dir: Option<PathBuf>,
    listen: Option<String>,
    durability: Option<String>,
    tls_cert: Option<PathBuf>,
    tls_key: Option<PathBuf>,
    log_format: Option<LogFormat>,
    ops_require_auth: Option<bool>,
    segment_bytes: Option<u64>,
    log_cache_bytes: Option<u64>,
    index_commit_events: Option<u64>,
    index_commit_interval_ms: Option<u64>,
    idempotency_retention_hours: Option<u64>,
    log_name: Option<String>,
    checkpoint_interval_ms: Option<u64>,
    checkpoint_key: Option<PathBuf>,
    webhook_allow_http: Option<bool>,
    webhook_allow_cidrs: Option<Vec<String>>,
    webhook_ca_file: Option<PathBuf>,
    webhook_batch_events: Option<u64>,
    webhook_batch_delay_ms: Option<u64>,
    webhook_timeout_ms: Option<u64>,
    webhook_deactivate_after_s: Option<u64>,
    webhook_backoff_unit_ms: Option<u64>,
    webhook_feed_events: Option<u64>,
    syslog_facility: Option<u8>,
    syslog_hostname: Option<String>,
    syslog_enterprise_number: Option<u32>,
    syslog_message_bytes_max: Option<usize>,
}

/// The resolved settings.
#[derive(Debug, Clone)]
pub struct Config {
    /// Data directory.
    pub data_dir: PathBuf,
    /// Listen address.
    pub listen: String,
    /// Durability policy.
    pub durability: Durability,
    /// TLS certificate and key, when serving HTTPS.
    pub tls: Option<(PathBuf, PathBuf)>,
    /// Log format.
    pub log_format: LogFormat,
    /// Whether /metrics and /openapi.json need a key.
    pub ops_require_auth: bool,
    /// Segment size.
    pub segment_bytes: u64,
    /// The log's newest bytes kept in the page cache.
    pub log_cache_bytes: u64,
    /// Index commit policy: events.
    pub index_commit_events: u64,
    /// Index commit policy: interval.
    pub index_commit_interval: Duration,
    /// Idempotency keys are kept at least this long.
    pub idempotency_retention: Duration,
    /// The transparency log's name: the signing key's name and the checkpoints' origin
    /// prefix (`<log name>/<tenant>`).
    pub log_name: String,
    /// Time between two checkpoints of a tenant receiving events.
    pub checkpoint_interval: Duration,
    /// The checkpoint signing key file (signed-note private key format); by default
    /// `<data-dir>/keys/checkpoint.key`, generated at first start.
    pub checkpoint_key: Option<PathBuf>,
    /// Webhook delivery settings (`webhook-*`; docs/WEBHOOKS.md).
    pub webhooks: crate::webhooks::WebhookConfig,
    /// Syslog exports' facility, HOSTNAME, enterprise number and message limit
    /// (framing and payload come with each request).
    pub syslog: SyslogOptions,
}

impl Config {
    /// The storage engine's configuration.
    pub fn engine_config(&self) -> sealog_engine::EngineConfig {
        let mut ec = sealog_engine::EngineConfig::new(&self.data_dir);
        ec.durability = self.durability;
        ec.segment_bytes = self.segment_bytes;
        ec.log_cache_bytes = self.log_cache_bytes;
        ec
    }

    /// Merges the sources; reports every bad setting with where it came from. Nothing is
    /// opened or created: a bad setting is refused before the data directory is touched.
    pub fn load(args: Args) -> anyhow::Result<Config> {
        let config = Config::merge(args)?;
        config.engine_config().validate()?;
        Ok(config)
    }

    fn merge(args: Args) -> anyhow::Result<Config> {
        let file = match &args.config {
            Some(path) => read_file(path)?,
            None => FileConfig::default(),
        };
        let syslog = syslog_options(&file)?;
        let durability = match (args.durability, file.durability) {
            (Some(d), _) => d,
            (None, Some(s)) => s
                .parse()
                .map_err(|e| anyhow::anyhow!("config file: durability = {s:?}: {e}"))?,
            (None, None) => Durability::Sync,
        };
        let tls = match (
            args.tls_cert.or(file.tls_cert),
            args.tls_key.or(file.tls_key),
        ) {
            (Some(c), Some(k)) => Some((c, k)),
            (None, None) => None,
            _ => bail!("TLS needs both tls-cert and tls-key"),
        };
        let retention_h = file.idempotency_retention_hours.unwrap_or(24);
        let idempotency_retention = Duration::from_secs(retention_h.saturating_mul(3600));
        if idempotency_retention < IDEMPOTENCY_RETENTION_MIN {
            bail!("idempotency-retention-hours = {retention_h} is below the minimum of 24");
        }
        let index_commit_events = file
            .index_commit_events
            .unwrap_or(sealog_engine::limits::INDEX_COMMIT_EVENTS_DEFAULT);
        if index_commit_events == 0 {
            bail!("index-commit-events must be at least 1");
        }
        let interval_ms = file.index_commit_interval_ms.unwrap_or(1000);
        if !(10..=60_000).contains(&interval_ms) {
            bail!("index-commit-interval-ms = {interval_ms} is outside 10..=60000");
        }
        let listen = args
            .listen
            .or(file.listen)
            .unwrap_or_else(|| "127.0.0.1:8080".into());
        check_listen(&listen)?;
        let log_name = file
            .log_name
            .unwrap_or_else(|| sealog_engine::merkle::transparency::LOG_NAME_DEFAULT.to_owned());
        if let Err(e) = sealog_engine::merkle::note::VerifierKey::new(&log_name, [0; 32]) {
            bail!("log-name = {log_name:?}: {e}");
        }
        let checkpoint_ms = file.checkpoint_interval_ms.unwrap_or(1000);
        if !(100..=60_000).contains(&checkpoint_ms) {
            bail!("checkpoint-interval-ms = {checkpoint_ms} is outside 100..=60000");
        }
        let webhooks =
            crate::webhooks::WebhookConfig::from_keys(crate::webhooks::WebhookFileKeys {
                allow_http: file.webhook_allow_http,
                allow_cidrs: file.webhook_allow_cidrs,
                ca_file: file.webhook_ca_file,
                batch_events: file.webhook_batch_events,
                batch_delay_ms: file.webhook_batch_delay_ms,
                timeout_ms: file.webhook_timeout_ms,
                deactivate_after_s: file.webhook_deactivate_after_s,
                backoff_unit_ms: file.webhook_backoff_unit_ms,
                feed_events: file.webhook_feed_events,
            })?;
        Ok(Config {
            data_dir: args
                .data_dir
                .or(file.data_dir)
                .unwrap_or_else(|| PathBuf::from("./data")),
            listen,
            durability,
            tls,
            log_format: args.log_format.or(file.log_format).unwrap_or_default(),
            ops_require_auth: args
                .ops_require_auth
                .or(file.ops_require_auth)
                .unwrap_or(false),
            segment_bytes: args
                .segment_bytes
                .or(file.segment_bytes)
                .unwrap_or(sealog_engine::limits::SEGMENT_BYTES_DEFAULT),
            log_cache_bytes: args
                .log_cache_bytes
                .or(file.log_cache_bytes)
                .unwrap_or(sealog_engine::limits::LOG_CACHE_BYTES_DEFAULT),
            index_commit_events,
            index_commit_interval: Duration::from_millis(interval_ms),
            idempotency_retention,
            log_name,
            checkpoint_interval: Duration::from_millis(checkpoint_ms),
            checkpoint_key: file.checkpoint_key,
            webhooks,
            syslog,
        })
    }
}

fn syslog_options(file: &FileConfig) -> anyhow::Result<SyslogOptions> {
    let facility = file.syslog_facility.unwrap_or(SYSLOG_FACILITY_DEFAULT);
    if facility > 23 {
        bail!("syslog-facility = {facility} is outside 0..=23");
    }
    let message_bytes_max = file
        .syslog_message_bytes_max
        .unwrap_or(SYSLOG_MESSAGE_BYTES_DEFAULT);
    if !(SYSLOG_MESSAGE_BYTES_MIN..=SYSLOG_MESSAGE_BYTES_DEFAULT * 8).contains(&message_bytes_max) {
        bail!(
            "syslog-message-bytes-max = {message_bytes_max} is outside {SYSLOG_MESSAGE_BYTES_MIN}..={}",
            SYSLOG_MESSAGE_BYTES_DEFAULT * 8
        );
    }
    let hostname = match &file.syslog_hostname {
        Some(h) => h.clone(),
        None => std::fs::read_to_string("/proc/sys/kernel/hostname")
            .map(|h| h.trim().to_owned())
            .unwrap_or_default(),
    };
    Ok(SyslogOptions {
        facility,
        hostname,
        enterprise: file
            .syslog_enterprise_number
            .unwrap_or(SYSLOG_ENTERPRISE_DEFAULT),
        message_bytes_max,
        ..SyslogOptions::default()
    })
}

/// Refuses a listen address that cannot be bound whatever the host: one without a port,
/// or with a port outside 0..=65535 (`bogus`, `127.0.0.1:99999`). A host name is
/// resolved when sealogd binds, as before.
fn check_listen(listen: &str) -> anyhow::Result<()> {
    // Every socket address (`[::1]:8080` too) has this form.
    let usable = listen
        .rsplit_once(':')
        .is_some_and(|(host, port)| !host.is_empty() && port.parse::<u16>().is_ok());
    if !usable {
        bail!(
            "listen = {listen:?} is not a host and port (such as 127.0.0.1:8080, [::1]:8080 or localhost:8080)"
        );
    }
    Ok(())
}

fn read_file(path: &Path) -> anyhow::Result<FileConfig> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading config file {}", path.display()))?;
    toml::from_str(&text).with_context(|| format!("config file {}", path.display()))
}
