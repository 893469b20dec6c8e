//! The event's top-level fields, in canonical (RFC 8785) key order, with their rules.

use crate::limits::{
    CHANGED_FIELDS_ITEMS_MAX, CHANGED_FIELD_CHARS_MAX, CODE_CHARS_MAX, ENDPOINT_CHARS_MAX,
    NAME_CHARS_MAX, STACK_TRACE_CHARS_MAX, TAG_CHARS_MAX, TAG_ITEMS_MAX, TEXT_CHARS_MAX,
    USER_AGENT_CHARS_MAX,
};

/// How a field is checked and written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Rule {
    /// A string of at most this many characters.
    Text(usize),
    /// `event_type`: required, 1..=128 of `[A-Za-z0-9_.:-]`.
    EventType,
    /// `severity`: one of [`SEVERITIES`], default `info`.
    Severity,
    /// `ip_address`: an IPv4 or IPv6 address.
    Ip,
    /// `http_method`: an RFC 9110 token.
    HttpMethod,
    /// `currency`: `[A-Z0-9]{2,12}`.
    Currency,
    /// `country_code`: `[A-Z]{2}`.
    CountryCode,
    /// `amount` (signed) and `risk_score` (unsigned): plain decimals, stored as strings.
    Decimal {
        /// Whether a leading `-` is allowed.
        signed: bool,
    },
    /// An array of strings.
    List {
        /// Most items.
        items_max: usize,
        /// Most characters per item.
        chars_max: usize,
    },
    /// `old_values`, `new_values`, `audit_metadata`: any JSON object.
    Object,
    /// `occurred_at`: RFC 3339, normalized to UTC with 6 digits.
    Time,
    /// Set by the server when the event is appended; the index says which slot.
    Server(usize),
    /// Returned by reads only (`hash` and the resolution overlay).
    Overlay,
}

/// One top-level field.
#[derive(Debug)]
pub(crate) struct Field {
    pub(crate) name: &'static str,
    /// `"name":`, ready to copy.
    pub(crate) member: &'static str,
    pub(crate) rule: Rule,
}

macro_rules! field {
    ($name:literal, $rule:expr) => {
        Field {
            name: $name,
            member: concat!("\"", $name, "\":"),
            rule: $rule,
        }
    };
}

/// The five server-set members, in canonical order; `Rule::Server(i)` indexes this.
pub(crate) const SERVER_CREATED_AT: usize = 0;
pub(crate) const SERVER_ID: usize = 1;
pub(crate) const SERVER_PREV_HASH: usize = 2;
pub(crate) const SERVER_SEQ: usize = 3;
pub(crate) const SERVER_TENANT_ID: usize = 4;
/// Number of server-set members in the stored body.
pub(crate) const SERVER_FIELDS: usize = 5;

/// The accepted severities, in the spec's order.
pub(crate) const SEVERITIES: [&str; 6] = ["debug", "info", "low", "medium", "high", "critical"];

const NAME: Rule = Rule::Text(NAME_CHARS_MAX);
const CODE: Rule = Rule::Text(CODE_CHARS_MAX);
const TEXT: Rule = Rule::Text(TEXT_CHARS_MAX);
const TAGS: Rule = Rule::List {
    items_max: TAG_ITEMS_MAX,
    chars_max: TAG_CHARS_MAX,
};

/// Number of entries in [`FIELDS`].
pub(crate) const FIELD_COUNT: usize = 47;

const FIELDS_CONST: [Field; FIELD_COUNT] = [
    field!("action", CODE),
    field!("actor_role", NAME),
    field!("actor_type", NAME),
    field!("amount", Rule::Decimal { signed: true }),
    field!("audit_metadata", Rule::Object),
    field!(
        "changed_fields",
        Rule::List {
            items_max: CHANGED_FIELDS_ITEMS_MAX,
            chars_max: CHANGED_FIELD_CHARS_MAX
        }
    ),
    field!("compliance_status", NAME),
    field!("country_code", Rule::CountryCode),
    field!("created_at", Rule::Server(SERVER_CREATED_AT)),
    field!("currency", Rule::Currency),
    field!("endpoint", Rule::Text(ENDPOINT_CHARS_MAX)),
    field!("entity_name", NAME),
    field!("error_code", TEXT),
    field!("error_message", TEXT),
    field!("event_description", TEXT),
    field!("event_type", Rule::EventType),
    field!("exchange", CODE),
    field!("flagged_keywords", TAGS),
    field!("hash", Rule::Overlay),
    field!("http_method", Rule::HttpMethod),
    field!("id", Rule::Server(SERVER_ID)),
    field!("ip_address", Rule::Ip),
    field!("is_resolved", Rule::Overlay),
    field!("jurisdiction", NAME),
    field!("new_values", Rule::Object),
    field!("occurred_at", Rule::Time),
    field!("old_values", Rule::Object),
    field!("prev_hash", Rule::Server(SERVER_PREV_HASH)),
    field!("record_id", NAME),
    field!("regulatory_framework", NAME),
    field!("request_id", NAME),
    field!("resolution_notes", Rule::Overlay),
    field!("resolved_at", Rule::Overlay),
    field!("resolved_by", Rule::Overlay),
    field!("result", CODE),
    field!("risk_score", Rule::Decimal { signed: false }),
    field!("seq", Rule::Server(SERVER_SEQ)),
    field!("session_id", NAME),
    field!("severity", Rule::Severity),
    field!("stack_trace", Rule::Text(STACK_TRACE_CHARS_MAX)),
    field!("symbol", CODE),
    field!("table_name", NAME),
    field!("tags", TAGS),
    field!("tenant_id", Rule::Server(SERVER_TENANT_ID)),
    field!("user_agent", Rule::Text(USER_AGENT_CHARS_MAX)),
    field!("user_id", NAME),
    field!("user_name", NAME),
];

/// Every top-level name sealog knows, sorted as RFC 8785 sorts keys (all ASCII, so byte
/// order is UTF-16 order).
pub(crate) static FIELDS: [Field; FIELD_COUNT] = FIELDS_CONST;

/// Index in [`FIELDS`] of the fields the validator treats specially.
pub(crate) const CHANGED_FIELDS: usize = 5;
pub(crate) const EVENT_TYPE: usize = 15;
pub(crate) const NEW_VALUES: usize = 24;
pub(crate) const OLD_VALUES: usize = 26;
pub(crate) const SEVERITY: usize = 38;

const TABLE_SIZE: usize = 256;

const fn name_hash(name: &[u8]) -> usize {
    let n = name.len();
    if n == 0 {
        return 0;
    }
    let (first, last, mid) = (name[0] as usize, name[n - 1] as usize, name[n / 2] as usize);
    ((n * 31) ^ (first * 7) ^ (last * 131) ^ (mid * 17)) % TABLE_SIZE
}

/// Open-addressing table from name hash to `FIELDS` index + 1 (0 = empty), built at
/// compile time so a lookup is one hash and usually one comparison.
static TABLE: [u8; TABLE_SIZE] = {
    let mut table = [0u8; TABLE_SIZE];
    let mut i = 0;
    while i < FIELD_COUNT {
        let mut h = name_hash(FIELDS_CONST[i].name.as_bytes());
        while table[h] != 0 {
            h = (h + 1) % TABLE_SIZE;
        }
        table[h] = i as u8 + 1;
        i += 1;
    }
    table
};

/// The index in [`FIELDS`] of a top-level key, if sealog knows it.
pub(crate) fn lookup(key: &str) -> Option<usize> {
    let mut h = name_hash(key.as_bytes());
    loop {
        let slot = usize::from(TABLE[h]);
        if slot == 0 {
            return None;
        }
        if FIELDS[slot - 1].name == key {
            return Some(slot - 1);
        }
        h = (h + 1) % TABLE_SIZE;
    }
}
