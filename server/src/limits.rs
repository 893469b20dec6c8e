//! Every limit the HTTP layer enforces, named (docs/API.md lists them for users).

use std::time::Duration;

/// Body of `POST /api/audit-logs` (one event).
pub const SINGLE_BODY_BYTES_MAX: usize = sealog_engine::limits::EVENT_BYTES_MAX;
/// Body of `POST /api/audit-logs/batch`.
pub const BATCH_BODY_BYTES_MAX: usize = sealog_engine::limits::BATCH_BYTES_MAX;
/// Body of the small JSON requests (resolve, keys).
pub const SMALL_BODY_BYTES_MAX: usize = 64 * 1024;
/// Events in one batch.
pub const BATCH_EVENTS_MAX: usize = sealog_engine::limits::BATCH_EVENTS_MAX;
/// 422 items in one response (a 10,000-event batch could have far more problems; the
/// first ones are reported).
pub const VALIDATION_ITEMS_MAX: usize = 1_000;
/// `Idempotency-Key`: 1..=255 visible ASCII characters.
pub const IDEMPOTENCY_KEY_CHARS_MAX: usize = 255;
/// An incoming `X-Request-Id` is echoed if it is 1..=128 visible ASCII characters;
/// otherwise a new one is generated.
pub const REQUEST_ID_CHARS_MAX: usize = 128;
/// Any one query-string value.
pub const QUERY_VALUE_CHARS_MAX: usize = 4_096;
/// Repeated `tag` parameters.
pub const QUERY_TAGS_MAX: usize = sealog_engine::limits::TAG_ITEMS_MAX;
/// Words in `q`.
pub const QUERY_WORDS_MAX: usize = 64;
/// Default page size.
pub const QUERY_LIMIT_DEFAULT: usize = 100;
/// Largest page (the engine's bound).
pub const QUERY_LIMIT_MAX: usize = sealog_engine::limits::QUERY_LIMIT_MAX;
/// Deepest offset (page deeper with the cursor).
pub const QUERY_OFFSET_MAX: u64 = sealog_engine::limits::QUERY_OFFSET_MAX;
/// Key names.
pub const KEY_NAME_CHARS_MAX: usize = 256;
/// API keys in the key store.
pub const KEYS_MAX: usize = 10_000;
/// Time a client has to send its request headers (slow-loris defence).
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// A connection on which the server waits to read and nothing has moved for this long is
/// closed (idle keep-alive connections, clients that connect and send nothing).
pub const CONNECTION_IDLE_TIMEOUT: Duration = Duration::from_secs(20);
/// Largest request head (request line + headers) buffered: past it, 431.
pub const HEADER_BYTES_MAX: usize = 64 * 1024;
/// Time a client has to send its whole request body.
pub const BODY_READ_TIMEOUT: Duration = Duration::from_secs(60);
/// Time a TLS handshake may take.
pub const TLS_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// Open connections; further ones wait in the kernel's accept queue.
pub const CONNECTIONS_MAX: usize = 4_096;
/// How long shutdown waits for in-flight requests before closing connections.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(30);
/// `Retry-After` (seconds) when the append queue is full.
pub const BUSY_RETRY_AFTER_S: u64 = 1;
/// Idempotency keys are kept at least this long (configurable upwards).
pub const IDEMPOTENCY_RETENTION_MIN: Duration = Duration::from_secs(24 * 3600);
/// How often the idempotency table is brought up to date from the log and saved.
pub const IDEMPOTENCY_SNAPSHOT_INTERVAL: Duration = Duration::from_secs(10);
/// `GET /api/audit-logs/verify`: events checked when `limit` is not given.
pub const VERIFY_LIMIT_DEFAULT: u64 = 1_000;
/// `GET /api/audit-logs/verify`: largest `limit`.
pub const VERIFY_LIMIT_MAX: u64 = 10_000;
/// `GET /api/audit-logs/verify-chain`: largest `limit` (without one, the whole chain).
pub const VERIFY_CHAIN_LIMIT_MAX: u64 = 10_000_000;
/// Ids listed in `tampered_logs` (the count is in `message`).
pub const TAMPERED_IDS_MAX: usize = 1_000;
/// Webhooks on one server (all tenants): each has a dispatcher task and a state file.
pub const WEBHOOKS_MAX: usize = 1_000;
/// `webhook_url` length (characters).
pub const WEBHOOK_URL_CHARS_MAX: usize = 2_048;
/// `description` length (characters).
pub const WEBHOOK_DESCRIPTION_CHARS_MAX: usize = 1_024;
/// Items in `event_types`.
pub const WEBHOOK_EVENT_TYPES_MAX: usize = 64;
/// `max_retries` bounds (retries after the first attempt) and default.
pub const WEBHOOK_MAX_RETRIES_MAX: u64 = 20;
/// Retries after the first attempt when `max_retries` is not given.
pub const WEBHOOK_MAX_RETRIES_DEFAULT: u64 = 5;
/// `retry_backoff_seconds` bounds and default: the first retry waits about this long,
/// each further one twice as long (capped by `WEBHOOK_BACKOFF_MAX_UNITS`).
pub const WEBHOOK_BACKOFF_S_MIN: u64 = 1;
/// Largest `retry_backoff_seconds`.
pub const WEBHOOK_BACKOFF_S_MAX: u64 = 3_600;
/// `retry_backoff_seconds` when not given.
pub const WEBHOOK_BACKOFF_S_DEFAULT: u64 = 2;
/// Longest wait between two attempts, in back-off units (one unit is a second unless
/// `webhook-backoff-unit-ms` says otherwise).
pub const WEBHOOK_BACKOFF_MAX_UNITS: u64 = 3_600;
/// A `Retry-After` from a receiver is honoured up to this many seconds.
pub const WEBHOOK_RETRY_AFTER_MAX_S: u64 = 3_600;
/// Events in one delivery (config `webhook-batch-events` may lower it; default 500).
pub const WEBHOOK_BATCH_EVENTS_MAX: u64 = 10_000;
/// Bytes of events in one delivery: a batch is cut before it would pass this.
pub const WEBHOOK_BATCH_BYTES_MAX: usize = 16 * 1024 * 1024;
/// Delivery attempts kept per webhook for `GET …/deliveries` (in memory, newest first).
pub const WEBHOOK_DELIVERIES_KEPT: usize = 1_000;
/// Dead letters kept per webhook, in memory and in `<id>.dead` (so a restart still
/// shows which seqs to replay).
pub const WEBHOOK_DEAD_LETTERS_KEPT: usize = 100;
/// Bytes of a receiver's response body read (the rest is dropped with the connection).
pub const WEBHOOK_RESPONSE_BYTES_MAX: usize = 64 * 1024;
/// Characters of an error message kept in a delivery record.
pub const WEBHOOK_ERROR_CHARS_MAX: usize = 512;
/// Time resolving a webhook's host may take when it is created.
pub const WEBHOOK_RESOLVE_TIMEOUT: Duration = Duration::from_secs(5);
/// How long shutdown waits for dispatchers to stop before aborting them (an aborted
/// delivery is sent again after the restart: at-least-once).
pub const WEBHOOK_SHUTDOWN_GRACE: Duration = Duration::from_secs(5);
/// A dispatcher that only skips events it does not want saves its cursor at most this
/// often, and when it stops. Each save is two fsyncs: once a second for each of 100
/// idle webhooks was 200 fsyncs a second beside the log's own. Losing skips only
/// means reading those events again after a crash, once for all webhooks (the shared
/// reader starts at the oldest cursor).
pub const WEBHOOK_IDLE_CURSOR_SAVE_INTERVAL: Duration = Duration::from_secs(30);
/// Events the webhooks' shared reader keeps by default (16 bytes each: 16 MiB;
/// `webhook-feed-events`): a dispatcher whose cursor is older than the newest this many
/// events reads the log itself (`webhooks/feed.rs`).
pub const WEBHOOK_FEED_EVENTS: usize = 1 << 20;
/// Largest `webhook-feed-events` (256 MiB of entries).
pub const WEBHOOK_FEED_EVENTS_MAX: u64 = 1 << 24;
/// Entries of the shared reader one dispatcher looks at per pick (about 0.1 ms: a pick
/// runs on the async runtime).
pub const WEBHOOK_FEED_PICK_ENTRIES: usize = 65_536;
/// Events the webhooks' shared reader reads from the log per step.
pub const WEBHOOK_FEED_BATCH_EVENTS: u64 = 16_384;
/// Events a limited export (`/api/audit-logs/export`) sends by default.
pub const EXPORT_LIMIT_DEFAULT: u64 = 10_000;
/// Most events a limited export may ask for.
pub const EXPORT_LIMIT_MAX: u64 = 50_000;
/// Events read and encoded per chunk by default (streamed exports).
pub const EXPORT_CHUNK_DEFAULT: u64 = 1_000;
/// Smallest `chunk_size` a streamed export may ask for.
pub const EXPORT_CHUNK_MIN: u64 = 100;
/// Largest `chunk_size`: bounds the memory one export holds (a chunk of 5,000 events
/// of up to 1 MiB each is the worst case; realistic events make it ~5 MiB).
pub const EXPORT_CHUNK_MAX: u64 = 5_000;
/// Encoded chunks queued between the reader and the socket per export: with the one
/// being encoded and the one being written, at most three chunks are in memory.
pub const EXPORT_CHUNKS_QUEUED: usize = 1;
/// Export requests one key may make per [`EXPORT_RATE_WINDOW`].
pub const EXPORT_RATE_REQUESTS: usize = 10;
/// The export rate limit's sliding window.
pub const EXPORT_RATE_WINDOW: Duration = Duration::from_secs(60);
/// Keys the export rate limiter tracks at once (each has at most
/// [`EXPORT_RATE_REQUESTS`] timestamps); past it, the oldest idle keys are forgotten.
pub const EXPORT_RATE_KEYS_MAX: usize = KEYS_MAX + 1;
