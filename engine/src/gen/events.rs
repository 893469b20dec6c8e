//! [`Generator`]: draws one event at a time from the seeded stream and writes it as
//! compact JSON, keys in `gen_events.py`'s order, absent fields left out.

use rand::{Rng, RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::json::{push_timestamp, push_uuid, Num, Obj, Val};
use super::sample::{
    chance, choose, exponential, lognormal, pick_cumulative, uniform, uuid_v4, weighted,
};
use super::tables::{
    Kind, CLIENT_VERSIONS, COMPLIANCE, EVENT_TYPES, REGIONS, SEVERITIES, SOURCES, TAGS, USER_AGENTS,
};
use super::text;
use super::universe::Universe;
use super::values::{Fields, Values};

/// What to generate. Two generators with equal configs produce identical bytes.
#[derive(Debug, Clone, PartialEq)]
pub struct GenConfig {
    /// Drives the event stream (default 42).
    pub seed: u64,
    /// Drives the users, symbols and tenants, shared across streams (default 1).
    pub universe_seed: u64,
    /// Time before the first event, microseconds since the Unix epoch (default
    /// 2025-01-01T00:00:00Z).
    pub start_us: i64,
    /// Days of traffic the whole stream covers (default 30).
    pub span_days: f64,
    /// Events to generate; the gaps between them average `span_days / count`.
    pub count: u64,
    /// Adds `event_description` to every event, and `result`, `error_code` and
    /// `error_message` to failed logins, from a separate random stream so that every
    /// other field is the same with and without text (default false).
    pub with_text: bool,
    /// Includes the server-set `id` (a UUIDv7 of `created_at`), `created_at` and
    /// `tenant_id`, like `gen_events.py` by default; false gives what a client sends to
    /// ingest (default false). Every other field is the same either way.
    pub server_fields: bool,
}

impl Default for GenConfig {
    fn default() -> Self {
        GenConfig {
            seed: 42,
            universe_seed: 1,
            start_us: 1_735_689_600_000_000, // 2025-01-01T00:00:00Z
            span_days: 30.0,
            count: 1000,
            with_text: false,
            server_fields: false,
        }
    }
}

/// One generated event. Tenant and time are always given here, since without
/// `server_fields` they are not in the JSON: the caller appends the event to that tenant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GeneratedEvent {
    /// `tenant_01` to `tenant_20`.
    pub tenant: &'static str,
    /// Microseconds since the Unix epoch; strictly increasing along the stream.
    pub created_at_us: i64,
    /// One compact JSON object, no trailing newline.
    pub json: Vec<u8>,
}

/// Everything drawn for one event, except its old and new values.
#[derive(Debug, Default)]
pub(super) struct Draft {
    pub event: usize,
    pub user: usize,
    severity: usize,
    session: u64,
    record_id: Option<[u8; 16]>,
    pub symbol: Option<usize>,
    pub amount: Option<Num>,
    pub currency: Option<&'static str>,
    pub exchange: Option<&'static str>,
    /// `new_values.success` is false.
    pub login_failed: bool,
    compliance: &'static str,
    risk: Num,
    tags: Vec<usize>,
    ip: usize,
    user_agent: usize,
    request_id: u64,
    metadata: [&'static str; 3],
    latency_ms: Num,
    id: [u8; 16],
}

/// An endless-until-`count` iterator of realistic trading-platform audit events.
#[derive(Debug)]
pub struct Generator {
    config: GenConfig,
    universe: Universe,
    rng: ChaCha8Rng,
    text_rng: ChaCha8Rng,
    now_us: i64,
    mean_gap_us: f64,
    emitted: u64,
    /// Each user's current session id (by user index; `None` before the first event).
    sessions: Vec<Option<u64>>,
    draft: Draft,
    old: Fields,
    new: Fields,
    changed: Vec<&'static str>,
}

impl Generator {
    /// A generator of `config.count` events.
    pub fn new(config: GenConfig) -> Self {
        let universe = Universe::new(config.universe_seed);
        let mean_gap_us = config.span_days * 86_400e6 / config.count.max(1) as f64;
        Generator {
            rng: ChaCha8Rng::seed_from_u64(config.seed),
            text_rng: ChaCha8Rng::seed_from_u64(config.seed ^ 0x5EED),
            now_us: config.start_us,
            mean_gap_us: mean_gap_us.max(0.0),
            emitted: 0,
            sessions: vec![None; universe.users.len()],
            draft: Draft::default(),
            old: Vec::with_capacity(8),
            new: Vec::with_capacity(8),
            changed: Vec::with_capacity(8),
            universe,
            config,
        }
    }

    /// The users and symbols events are drawn from.
    pub fn universe(&self) -> &Universe {
        &self.universe
    }

    /// Appends the next event's JSON to `out` (without clearing it or adding a newline)
    /// and returns its tenant and time; `None` once `count` events were generated.
    pub fn write_json_into(&mut self, out: &mut Vec<u8>) -> Option<(&'static str, i64)> {
        if self.emitted >= self.config.count {
            return None;
        }
        self.emitted += 1;
        self.draw();
        self.write(out);
        let tenant = self.universe.users[self.draft.user].tenant;
        Some((tenant, self.now_us))
    }

    /// Draws the next event into `self.draft`, `self.old`, `self.new`, `self.changed`.
    fn draw(&mut self) {
        let rng = &mut self.rng;
        self.now_us = self
            .now_us
            .saturating_add(exponential(rng, self.mean_gap_us) as i64 + 1);
        let mut d = Draft {
            tags: std::mem::take(&mut self.draft.tags),
            ..Draft::default()
        };
        d.user = pick_cumulative(rng, &self.universe.user_cum);
        d.event = weighted(rng, EVENT_TYPES.iter().map(|e| e.weight));
        let event = &EVENT_TYPES[d.event];
        d.severity = weighted(rng, event.severity_weights.iter().copied());
        let session = &mut self.sessions[d.user];
        if event.kind == Kind::UserLogin || session.is_none() {
            *session = Some(rng.next_u64());
        }
        d.session = session.unwrap_or_default();
        // login / logout: the session id is the record
        d.record_id = (event.table != "sessions").then(|| uuid_v4(rng));
        self.old.clear();
        self.new.clear();
        let (old, new) = (&mut self.old, &mut self.new);
        Values {
            rng,
            d: &mut d,
            old,
            new,
        }
        .draw(&self.universe, event.kind);
        self.changed.clear();
        if !self.old.is_empty() {
            let changed = self
                .new
                .iter()
                .filter(|(k, v)| !self.old.iter().any(|(ok, ov)| ok == k && ov.same(v)));
            self.changed.extend(changed.map(|&(k, _)| k));
        }
        self.draw_context(&mut d);
        self.draft = d;
    }

    /// The fields every event has, drawn after the type-specific values.
    fn draw_context(&mut self, d: &mut Draft) {
        let rng = &mut self.rng;
        let kind = EVENT_TYPES[d.event].kind;
        d.compliance = if kind == Kind::ComplianceFlagged {
            "flagged"
        } else {
            COMPLIANCE[weighted(rng, COMPLIANCE.iter().map(|c| c.1))].0
        };
        let base = SEVERITIES[d.severity].1;
        d.risk = Num::round((base + unit20(rng)).min(100.0), 2);
        d.tags.clear();
        if chance(rng, 0.05) {
            let n = choose(rng, &[1, 1, 2, 3]);
            while d.tags.len() < n {
                let tag = rng.random_range(0..TAGS.len());
                if !d.tags.contains(&tag) {
                    d.tags.push(tag);
                }
            }
            d.tags.sort_unstable(); // TAGS is sorted, so the names are too
        }
        let user = &self.universe.users[d.user];
        d.ip = rng.random_range(0..user.ips.len());
        d.user_agent = if chance(rng, 0.9) {
            user.user_agent
        } else {
            rng.random_range(0..USER_AGENTS.len())
        };
        d.request_id = rng.next_u64();
        d.metadata = [
            choose(rng, &SOURCES),
            choose(rng, &CLIENT_VERSIONS),
            choose(rng, &REGIONS),
        ];
        d.latency_ms = Num::round(lognormal(rng, 3.0, 0.6), 1);
        // Drawn even without server fields, so that all other fields stay the same.
        let random: [u8; 10] = rng.random();
        let millis = u64::try_from(self.now_us.div_euclid(1000)).unwrap_or(0);
        d.id = uuid::Builder::from_unix_timestamp_millis(millis, &random)
            .into_uuid()
            .into_bytes();
    }

    /// Writes the drawn event as one JSON object.
    fn write(&mut self, out: &mut Vec<u8>) {
        let d = &self.draft;
        let event = &EVENT_TYPES[d.event];
        let user = &self.universe.users[d.user];
        let mut o = Obj::begin(out);
        if self.config.server_fields {
            push_uuid(o.key("id"), d.id);
            push_timestamp(o.key("created_at"), self.now_us);
        }
        o.str("event_type", event.name);
        o.str("severity", SEVERITIES[d.severity].0);
        o.str("user_id", &user.id);
        o.hex("session_id", "sess_", d.session, 8);
        o.str("table_name", event.table);
        if let Some(record_id) = d.record_id {
            push_uuid(o.key("record_id"), record_id);
        }
        if !self.old.is_empty() {
            o.fields("old_values", &self.old);
        }
        o.fields("new_values", &self.new);
        if !self.changed.is_empty() {
            o.strs("changed_fields", self.changed.iter().copied());
        }
        self.write_context(&mut o);
        if self.config.server_fields {
            o.str("tenant_id", user.tenant);
        }
        if self.config.with_text {
            text::write(&mut o, d, &self.universe, &mut self.text_rng);
        }
        o.end();
    }

    /// Writes the fields from `ip_address` to `audit_metadata`.
    fn write_context(&self, o: &mut Obj<'_>) {
        let d = &self.draft;
        let event = &EVENT_TYPES[d.event];
        let user = &self.universe.users[d.user];
        o.str("ip_address", &user.ips[d.ip]);
        o.str("user_agent", USER_AGENTS[d.user_agent].0);
        o.hex("request_id", "req_", d.request_id, 8);
        o.str("endpoint", event.endpoint);
        o.str("http_method", event.method);
        if let Some(symbol) = d.symbol {
            o.str("symbol", &self.universe.symbols[symbol].name);
        }
        if let Some(amount) = d.amount {
            o.num("amount", amount);
        }
        if let Some(currency) = d.currency {
            o.str("currency", currency);
        }
        if let Some(exchange) = d.exchange {
            o.str("exchange", exchange);
        }
        o.str("compliance_status", d.compliance);
        o.num("risk_score", d.risk);
        if !d.tags.is_empty() {
            o.strs("tags", d.tags.iter().map(|&t| TAGS[t]));
        }
        let [source, client_version, region] = d.metadata.map(Val::Str);
        let latency_ms = Val::Num(d.latency_ms);
        let metadata = [
            ("source", source),
            ("client_version", client_version),
            ("region", region),
            ("latency_ms", latency_ms),
        ];
        o.fields("audit_metadata", &metadata);
    }
}

/// A uniform draw in `[0, 20)`: the spread of risk scores above the severity's base.
fn unit20(rng: &mut ChaCha8Rng) -> f64 {
    uniform(rng, 0.0, 20.0)
}

impl Iterator for Generator {
    type Item = GeneratedEvent;

    fn next(&mut self) -> Option<GeneratedEvent> {
        let mut json = Vec::with_capacity(1024);
        let (tenant, created_at_us) = self.write_json_into(&mut json)?;
        Some(GeneratedEvent {
            tenant,
            created_at_us,
            json,
        })
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = usize::try_from(self.config.count - self.emitted).ok();
        (left.unwrap_or(usize::MAX), left)
    }
}
