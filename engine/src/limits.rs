//! Every bound sealog enforces, in one place.
//!
//! Each constant says what it bounds and why. Configuration may lower a limit, never
//! raise it (`EngineConfig::validate` refuses a larger value). Compile-time assertions
//! tie the limits together so that no combination of legal inputs can overflow a field.

/// Largest accepted event, measured on the request body of one event (bytes). The spec's
/// "whole event ≤ 1 MiB". It also bounds the canonical body, which is never larger than
/// the input by more than the server fields (see [`EVENT_BODY_BYTES_MAX`]).
pub const EVENT_BYTES_MAX: usize = 1024 * 1024;

/// Largest canonical body sealog stores for one event: the 1 MiB input limit plus room
/// for the server-set fields and for escapes the canonical form may add (`\u001f` for a
/// raw control character that arrived as a 2-byte escape grows to 6 bytes).
pub const EVENT_BODY_BYTES_MAX: usize = 4 * EVENT_BYTES_MAX;

/// Most events in one append request (one batch POST). The spec's 10,000.
pub const BATCH_EVENTS_MAX: usize = 10_000;

/// Largest request body of a batch append (bytes). The spec's 32 MiB.
pub const BATCH_BYTES_MAX: usize = 32 * 1024 * 1024;

/// Most bytes one append request may hold as prepared (`PreparedEvent::body_len_hint`:
/// canonical bodies with room for the server's fields). A batch's request body is
/// bounded by [`BATCH_BYTES_MAX`], but its canonical form can be longer: each event gains
/// its server fields (up to ~270 bytes) and defaults (`severity`; a computed
/// `changed_fields`, which for an event with only `new_values` repeats its keys: at most
/// the event's size again), and a number written with an exponent may canonicalize
/// longer (`9e15` is `9000000000000000`, four times as long). Twice the body plus 1 KiB
/// per event covers every batch but one whose numbers are written to grow; such a batch
/// is refused whole ([`crate::EngineError::BatchBounds`]; sealogd answers 413).
pub const APPEND_BYTES_MAX: usize = 2 * BATCH_BYTES_MAX + BATCH_EVENTS_MAX * 1024;

/// Deepest nesting of arrays and objects inside one event (the event object itself is
/// depth 1). Bounds parser recursion, so hostile input cannot overflow the stack.
pub const JSON_DEPTH_MAX: usize = 32;

/// Tenant names: 1..=64 characters of `[A-Za-z0-9_-]`.
pub const TENANT_CHARS_MAX: usize = 64;

/// Items in `tags` and `flagged_keywords`.
pub const TAG_ITEMS_MAX: usize = 64;
/// Characters in one item of `tags` or `flagged_keywords`.
pub const TAG_CHARS_MAX: usize = 128;
/// Items in `changed_fields` (the spec sets no bound; this one keeps a record bounded).
pub const CHANGED_FIELDS_ITEMS_MAX: usize = 1_024;
/// Characters in one item of `changed_fields`.
pub const CHANGED_FIELD_CHARS_MAX: usize = 256;
/// Characters in a decimal (`amount`, `risk_score`), sign and point included.
pub const DECIMAL_CHARS_MAX: usize = 64;
/// Characters in `http_method` (an HTTP token; the longest registered method is 17).
pub const HTTP_METHOD_CHARS_MAX: usize = 32;

/// Largest frame payload (record header + tenant + body). Sizes the recovery buffer and
/// is the bound a reader checks before trusting a length field.
pub const RECORD_BYTES_MAX: usize = EVENT_BODY_BYTES_MAX + 4096;

/// Default size at which the active segment is sealed and a new one started.
pub const SEGMENT_BYTES_DEFAULT: u64 = 256 * 1024 * 1024;
/// Smallest configurable segment size (tests use it to roll segments often).
pub const SEGMENT_BYTES_MIN: u64 = 64 * 1024;
/// Largest configurable segment size. Frame offsets in the index are 32-bit, and one
/// append request may overshoot the target by a whole batch, hence the headroom.
pub const SEGMENT_BYTES_MAX: u64 = 2 * 1024 * 1024 * 1024;

/// Size of the blocks the active segment's bytes are copied into and recycled from
/// (`log::arena`). A request larger than this gets a buffer of its own.
pub const ACTIVE_BLOCK_BYTES: usize = 8 * 1024 * 1024;

/// Most append requests waiting for the writer. When full, `try_submit` answers
/// [`crate::EngineError::Busy`] and the server sheds load (503 + Retry-After) rather than
/// growing memory without bound.
pub const QUEUE_REQUESTS_MAX: usize = 4_096;
/// Most event bytes (prepared bodies) waiting for the writer, across all queued requests.
pub const QUEUE_BYTES_MAX: usize = 256 * 1024 * 1024;

/// Most bytes the writer puts into one write + fdatasync. Bounds the torn region after a
/// crash and the latency of the batch that waits longest.
pub const GROUP_COMMIT_BYTES_MAX: usize = 128 * 1024 * 1024;

/// Longest `interval` durability period (milliseconds).
pub const SYNC_INTERVAL_MS_MAX: u64 = 10_000;

const _: () = assert!(RECORD_BYTES_MAX as u64 * 64 <= SEGMENT_BYTES_MAX);
// One append request, framed (frame and record headers and the tenant per event), fits
// in one group commit, hence in a segment's overshoot.
const _: () = assert!(
    APPEND_BYTES_MAX
        + BATCH_EVENTS_MAX
            * (crate::frame::FRAME_HEADER_BYTES
                + crate::frame::RECORD_HEADER_BYTES
                + TENANT_CHARS_MAX)
        <= GROUP_COMMIT_BYTES_MAX
);
const _: () = assert!(SEGMENT_BYTES_MAX + GROUP_COMMIT_BYTES_MAX as u64 <= u32::MAX as u64);
const _: () = assert!(EVENT_BYTES_MAX <= BATCH_BYTES_MAX);

/// Characters in `event_type` (the spec's 1..128).
pub const EVENT_TYPE_CHARS_MAX: usize = 128;
/// Characters in the short code fields: `action`, `result`, `symbol`, `exchange`.
pub const CODE_CHARS_MAX: usize = 64;
/// Characters in identifiers and names: `user_id`, `user_name`, `actor_type`,
/// `actor_role`, `session_id`, `request_id`, `table_name`, `record_id`, `entity_name`,
/// `compliance_status`, `jurisdiction`, `regulatory_framework`, and a resolution's
/// `resolved_by`.
pub const NAME_CHARS_MAX: usize = 256;
/// Characters in `user_agent`.
pub const USER_AGENT_CHARS_MAX: usize = 1_024;
/// Characters in `endpoint`.
pub const ENDPOINT_CHARS_MAX: usize = 2_048;
/// Characters in the prose fields: `event_description`, `error_code`, `error_message`,
/// and a resolution's `resolution_notes`.
pub const TEXT_CHARS_MAX: usize = 4_096;
/// Characters in `stack_trace`.
pub const STACK_TRACE_CHARS_MAX: usize = 65_536;
/// Characters of an offending string echoed back in a 422 item's `input`; longer strings
/// are cut there and end with `…`, so an error answer stays small.
pub const ERROR_INPUT_CHARS_MAX: usize = 256;

/// Default number of events between two commits of the secondary index: bounds the
/// pending events queries also search in memory (read-your-writes).
pub const INDEX_COMMIT_EVENTS_DEFAULT: u64 = 100_000;
/// Default for the most events after the last commit that queries keep in memory (the
/// pending set); past it, while the index is far behind the log, each query scans the
/// rest itself.
pub const INDEX_PENDING_EVENTS_DEFAULT: u64 = 200_000;
/// While a query came within this many milliseconds, the indexer keeps the pending set
/// current as it reads (otherwise the next query brings it up to date).
pub const INDEX_TAIL_DEMAND_MS: u64 = 10_000;
/// While a follower of the log (the indexer, the Merkle follower) keeps up, it reads
/// at most once per this many milliseconds rather than once per group commit
/// (`log::ReadPace`).
pub const FOLLOW_READ_GAP_MS: u64 = 10;
/// After the last long scan of the log (an export, a verification) ends, the idle
/// indexer waits this many milliseconds with no scan open before it drops the sealed
/// pages the scans mapped from the process's resident set, so back-to-back exports do
/// not map the same pages again each time (`log::pages`).
pub const SCAN_PAGES_IDLE_MS: u64 = 2_000;
/// Events the indexer reads from the log per step.
pub const INDEX_BATCH_EVENTS: u64 = 4_096;
/// Most documents handed to tantivy's indexing thread and not yet indexed: the indexer
/// hands over a whole read at once and, when this many are waiting, waits before the
/// next (`search::indexer`). Bounds their memory whatever the commit policy.
pub const INDEX_DOCS_IN_FLIGHT_MAX: u64 = 3 * INDEX_BATCH_EVENTS;
/// Index segments merged at once, and the factor between two merge levels (sizes
/// 10,000, 80,000, 640,000, … documents): about `8 × levels` segments stay live.
pub const INDEX_MERGE_FACTOR: usize = 8;
/// Segments below this many documents all count as the lowest merge level.
pub const INDEX_MERGE_FLOOR_DOCS: u32 = 10_000;
/// Exact match counts of whole index segments kept for repeated filters (one entry per
/// segment and filter); when full, the cache starts again empty.
pub const INDEX_SEGMENT_COUNTS_MAX: usize = 65_536;
/// Largest segment a merge may produce, in documents: bounds what a query reads in
/// the one segment where a deep page lands (docs/QUERY.md).
pub const INDEX_MERGE_DOCS_MAX: u32 = 2_000_000;
/// Largest `offset` a query accepts (deeper pages: use the cursor). Bounds the top-k
/// each query keeps.
pub const QUERY_OFFSET_MAX: u64 = 1_000_000;
/// Largest page (`limit`).
pub const QUERY_LIMIT_MAX: usize = 1_000;

/// How many of the log's newest bytes stay in the page cache by default
/// (`EngineConfig::log_cache_bytes`, `log::pages`): the recent events that followers,
/// exports and queries of the last minutes read again.
pub const LOG_CACHE_BYTES_DEFAULT: u64 = 1024 * 1024 * 1024;
