//! Tests of the event generator: determinism, shape, number forms, sizes, speed.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::json::{push_timestamp, Num};
use super::tables::{EVENT_TYPES, TAGS};
use super::{GenConfig, Generator, TENANTS};

/// Every top-level key, in the order `gen_events.py` writes them.
const KEY_ORDER: [&str; 29] = [
    "id",
    "created_at",
    "event_type",
    "severity",
    "user_id",
    "session_id",
    "table_name",
    "record_id",
    "old_values",
    "new_values",
    "changed_fields",
    "ip_address",
    "user_agent",
    "request_id",
    "endpoint",
    "http_method",
    "symbol",
    "amount",
    "currency",
    "exchange",
    "compliance_status",
    "risk_score",
    "tags",
    "audit_metadata",
    "tenant_id",
    "event_description",
    "result",
    "error_code",
    "error_message",
];

fn config(count: u64) -> GenConfig {
    GenConfig {
        count,
        ..GenConfig::default()
    }
}

fn all_json(config: GenConfig) -> Vec<Vec<u8>> {
    Generator::new(config).map(|e| e.json).collect()
}

fn parse(json: &[u8]) -> Map<String, Value> {
    match serde_json::from_slice(json) {
        Ok(Value::Object(map)) => map,
        other => panic!(
            "not an object: {other:?} in {}",
            String::from_utf8_lossy(json)
        ),
    }
}

#[test]
fn same_config_same_bytes() {
    let full = GenConfig {
        server_fields: true,
        with_text: true,
        ..config(5000)
    };
    assert_eq!(all_json(full.clone()), all_json(full.clone()));
    let other_seed = all_json(GenConfig {
        seed: 43,
        ..full.clone()
    });
    assert_ne!(all_json(full.clone()), other_seed);
    // write_json_into appends, and gives what the iterator gives.
    let mut generator = Generator::new(full.clone());
    let mut out = b"prefix".to_vec();
    let (tenant, at) = generator.write_json_into(&mut out).unwrap();
    let first = Generator::new(full).next().unwrap();
    assert_eq!((tenant, at), (first.tenant, first.created_at_us));
    assert_eq!(out, [&b"prefix"[..], &first.json].concat());
}

#[test]
fn server_fields_and_text_leave_every_other_field_alone() {
    let plain = Generator::new(config(3000));
    let full = Generator::new(GenConfig {
        server_fields: true,
        with_text: true,
        ..config(3000)
    });
    for (p, f) in plain.zip(full) {
        assert_eq!((p.tenant, p.created_at_us), (f.tenant, f.created_at_us));
        let mut f_map = parse(&f.json);
        for key in ["id", "created_at", "tenant_id", "event_description"] {
            assert!(f_map.remove(key).is_some(), "{key} missing");
        }
        for key in ["result", "error_code", "error_message"] {
            f_map.remove(key);
        }
        assert_eq!(parse(&p.json), f_map);
    }
}

#[test]
fn server_fields_match_tenant_and_time() {
    let config = GenConfig {
        server_fields: true,
        ..config(2000)
    };
    let mut last = config.start_us;
    for e in Generator::new(config) {
        let map = parse(&e.json);
        assert!(e.created_at_us > last, "times strictly increase");
        last = e.created_at_us;
        let mut ts = Vec::new();
        push_timestamp(&mut ts, e.created_at_us);
        assert_eq!(
            map["created_at"],
            serde_json::from_slice::<Value>(&ts).unwrap()
        );
        assert_eq!(map["tenant_id"], e.tenant);
        let id = uuid::Uuid::parse_str(map["id"].as_str().unwrap()).unwrap();
        assert_eq!(id.get_version_num(), 7);
        let (secs, nanos) = id.get_timestamp().unwrap().to_unix();
        assert_eq!(
            secs as i64 * 1000 + i64::from(nanos) / 1_000_000,
            e.created_at_us / 1000
        );
    }
}

#[test]
fn timestamps_are_rfc3339_with_micros() {
    let cases = [
        (0, "1970-01-01T00:00:00.000000Z"),
        (1_735_689_600_000_000, "2025-01-01T00:00:00.000000Z"),
        (951_782_400_000_001, "2000-02-29T00:00:00.000001Z"),
        (1_709_251_199_999_999, "2024-02-29T23:59:59.999999Z"),
        (253_402_300_799_000_000, "9999-12-31T23:59:59.000000Z"),
    ];
    for (us, want) in cases {
        let mut out = Vec::new();
        push_timestamp(&mut out, us);
        assert_eq!(out, format!("\"{want}\"").as_bytes());
    }
}

/// The top-level keys of a JSON object, in the order written.
struct Keys(Vec<String>);

impl<'de> serde::Deserialize<'de> for Keys {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_map(Keys(Vec::new()))
    }
}

impl<'de> serde::de::Visitor<'de> for Keys {
    type Value = Keys;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("an object")
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(mut self, mut map: A) -> Result<Keys, A::Error> {
        while let Some(key) = map.next_key::<String>()? {
            map.next_value::<serde::de::IgnoredAny>()?;
            self.0.push(key);
        }
        Ok(self)
    }
}

/// Checks one event's fields against the presence rules; returns its type.
fn check_shape(json: &[u8], map: &Map<String, Value>) -> String {
    let keys: Keys = serde_json::from_slice(json).unwrap();
    let position = |k: &String| KEY_ORDER.iter().position(|o| o == k).expect("known key");
    let order: Vec<usize> = keys.0.iter().map(position).collect();
    assert!(
        order.windows(2).all(|w| w[0] < w[1]),
        "keys out of order: {map:?}"
    );
    for (key, value) in map {
        let empty = matches!(value, Value::Array(a) if a.is_empty());
        assert!(!value.is_null() && !empty, "{key} present but empty");
    }
    let et = map["event_type"].as_str().unwrap().to_owned();
    let event = EVENT_TYPES.iter().find(|e| e.name == et).unwrap();
    assert_eq!(map["table_name"], event.table);
    assert_eq!(map["endpoint"], event.endpoint);
    assert_eq!(map["http_method"], event.method);
    assert_eq!(map.contains_key("record_id"), event.table != "sessions");
    let trading = ["orders", "trades", "positions"].contains(&event.table);
    assert_eq!(map.contains_key("symbol"), trading);
    assert_eq!(map.contains_key("exchange"), trading);
    let money = trading || ["balances", "withdrawals", "deposits"].contains(&event.table);
    assert_eq!(map.contains_key("amount"), money);
    assert_eq!(map.contains_key("currency"), money);
    if let Some(changed) = map.get("changed_fields") {
        let (old, new) = (&map["old_values"], &map["new_values"]);
        for field in changed.as_array().unwrap() {
            let field = field.as_str().unwrap();
            assert_ne!(old.get(field), new.get(field), "{field} did not change");
        }
    } else if let Some(old) = map.get("old_values") {
        assert!(old
            .as_object()
            .unwrap()
            .iter()
            .all(|(k, v)| map["new_values"].get(k) == Some(v)));
    }
    if let Some(tags) = map.get("tags") {
        let tags: Vec<&str> = tags
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t.as_str().unwrap())
            .collect();
        assert!((1..=3).contains(&tags.len()) && tags.windows(2).all(|w| w[0] < w[1]));
        assert!(tags.iter().all(|t| TAGS.contains(t)));
    }
    let ip = map["ip_address"].as_str().unwrap();
    assert!(ip.parse::<std::net::IpAddr>().is_ok(), "{ip}");
    et
}

#[test]
fn every_event_parses_and_follows_the_presence_rules() {
    let config = GenConfig {
        server_fields: true,
        with_text: true,
        ..config(50_000)
    };
    let mut types: BTreeMap<String, u64> = BTreeMap::new();
    let mut tenants: BTreeMap<&str, u64> = BTreeMap::new();
    let (mut tagged, mut failed_logins, mut ipv6) = (0, 0, 0);
    for e in Generator::new(config) {
        let map = parse(&e.json);
        *types.entry(check_shape(&e.json, &map)).or_default() += 1;
        *tenants.entry(e.tenant).or_default() += 1;
        tagged += u64::from(map.contains_key("tags"));
        failed_logins += u64::from(map.contains_key("error_code"));
        ipv6 += u64::from(map["ip_address"].as_str().unwrap().contains(':'));
    }
    let total_weight: u32 = EVENT_TYPES.iter().map(|e| e.weight).sum();
    for event in &EVENT_TYPES {
        let share = types[event.name] as f64 / 50_000.0;
        let want = f64::from(event.weight) / f64::from(total_weight);
        assert!(
            (share - want).abs() < 0.01 + want * 0.1,
            "{}: {share} vs {want}",
            event.name
        );
    }
    assert_eq!(tenants.len(), TENANTS.len());
    assert!(
        tenants["tenant_01"] > tenants["tenant_20"] * 3,
        "{tenants:?}"
    );
    assert!((2000..3000).contains(&tagged), "~5% tagged: {tagged}");
    assert!(
        (80..260).contains(&failed_logins),
        "~4% of logins fail: {failed_logins}"
    );
    assert!((1500..15_000).contains(&ipv6), "some IPv6: {ipv6}");
}

/// The raw text of every number in `json` (outside strings), with the key before it.
fn numbers(json: &[u8]) -> Vec<(String, String)> {
    let (mut found, mut i, mut last_key) = (Vec::new(), 0, String::new());
    while i < json.len() {
        match json[i] {
            b'"' => {
                let end = i + 1 + json[i + 1..].iter().position(|&b| b == b'"').unwrap();
                last_key = String::from_utf8_lossy(&json[i + 1..end]).into_owned();
                i = end + 1;
            }
            b'-' | b'0'..=b'9' => {
                let len = json[i..].iter().position(|b| b",}]".contains(b)).unwrap();
                found.push((
                    last_key.clone(),
                    String::from_utf8_lossy(&json[i..i + len]).into_owned(),
                ));
                i += len;
            }
            _ => i += 1,
        }
    }
    found
}

/// `-?[0-9]+(\.[0-9]+)?`
fn is_plain_decimal(s: &str) -> bool {
    let s = s.strip_prefix('-').unwrap_or(s);
    let (int, frac) = s.split_once('.').unwrap_or((s, "1"));
    let digits = |p: &str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit());
    digits(int) && digits(frac)
}

#[test]
fn numbers_are_plain_and_exact() {
    let (mut amounts, mut risks) = (0, 0);
    for e in Generator::new(GenConfig {
        with_text: true,
        ..config(100_000)
    }) {
        for (key, text) in numbers(&e.json) {
            assert!(is_plain_decimal(&text), "{key}: {text}");
            let value: f64 = text.parse().unwrap();
            assert!(
                value.is_finite() && value.abs() < 9_007_199_254_740_992.0,
                "{key}: {text}"
            );
            amounts += u64::from(key == "amount");
            if key == "risk_score" {
                risks += 1;
                assert!((0.0..=100.0).contains(&value), "{text}");
            }
        }
    }
    assert_eq!(risks, 100_000);
    assert!(amounts > 70_000, "{amounts}");
}

#[test]
fn num_prints_like_a_python_float() {
    let cases = [
        (Num::round(21.1, 2), "21.1"),
        (Num::round(21.0, 2), "21.0"),
        (Num::round(0.0, 2), "0.0"),
        (Num::round(-0.5, 2), "-0.5"),
        (Num::round(-2634.96, 2), "-2634.96"),
        (Num::round(0.000_001, 6), "0.000001"),
        (Num::round(1e300, 2), "90071992547409.91"),
        (Num::round(f64::NAN, 2), "0.0"),
        (Num::int(150.4), "150"),
        (Num::round(1e-9, 4), "0.0"),
    ];
    for (num, want) in cases {
        let mut out = Vec::new();
        num.write(&mut out);
        assert_eq!(String::from_utf8(out).unwrap(), want);
    }
}

/// Mean JSON size in bytes of `count` events.
fn mean_size(config: GenConfig) -> f64 {
    let count = config.count as f64;
    Generator::new(config)
        .map(|e| e.json.len() as f64)
        .sum::<f64>()
        / count
}

#[test]
fn average_size_matches_the_python() {
    // gen_events.py: 841 bytes by default, 730 without id/created_at/tenant_id, 936 with text.
    let server = mean_size(GenConfig {
        server_fields: true,
        ..config(20_000)
    });
    let client = mean_size(config(20_000));
    let text = mean_size(GenConfig {
        server_fields: true,
        with_text: true,
        ..config(20_000)
    });
    eprintln!("mean event bytes: server fields {server:.1}, client {client:.1}, text {text:.1}");
    assert!((800.0..880.0).contains(&server), "{server}");
    assert!((690.0..770.0).contains(&client), "{client}");
    assert!((890.0..980.0).contains(&text), "{text}");
}

#[test]
#[ignore = "speed report: cargo test --release -p sealog-engine --lib gen::tests::speed -- --ignored --nocapture"]
fn speed() {
    for server_fields in [false, true] {
        let mut generator = Generator::new(GenConfig {
            server_fields,
            ..config(2_000_000)
        });
        let (mut out, mut bytes) = (Vec::with_capacity(4096), 0);
        let start = std::time::Instant::now();
        while generator.write_json_into(&mut out).is_some() {
            bytes += out.len();
            out.clear();
        }
        let secs = start.elapsed().as_secs_f64();
        eprintln!(
            "server_fields={server_fields}: {:.0} events/s, {:.0} MB/s, {:.1} bytes/event",
            2e6 / secs,
            bytes as f64 / secs / 1e6,
            bytes as f64 / 2e6
        );
    }
}
