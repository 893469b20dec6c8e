//! Property tests: the writer against an independent RFC 8785 reference, round trips,
//! idempotence, and random valid events through prepare → write_body → read.

use proptest::prelude::*;
use serde_json::{Map, Value as Json};
use sha2::{Digest, Sha256};

use crate::event::jcs::to_vec;
use crate::event::json::{parse, Value};
use crate::event::{prepare_event, server_fields, write_returned, Overlay, ServerFields};
use crate::time::{format_rfc3339_us, TIMESTAMP_US_MAX, TIMESTAMP_US_MIN};

/// RFC 8785 written straight from the RFC over serde_json values: keys sorted by
/// UTF-16 code units, minimal escapes, ECMAScript number form.
fn reference(v: &Json, out: &mut String) {
    match v {
        Json::Null => out.push_str("null"),
        Json::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Json::Number(n) => match (n.as_i64(), n.as_u64(), n.as_f64()) {
            (Some(i), _, _) => out.push_str(&i.to_string()),
            (_, Some(u), _) => out.push_str(&u.to_string()),
            (_, _, Some(f)) => out.push_str(ryu_js::Buffer::new().format_finite(f)),
            _ => unreachable!("serde_json numbers are finite"),
        },
        Json::String(s) => {
            out.push('"');
            for c in s.chars() {
                match c {
                    '"' => out.push_str("\\\""),
                    '\\' => out.push_str("\\\\"),
                    '\u{8}' => out.push_str("\\b"),
                    '\t' => out.push_str("\\t"),
                    '\n' => out.push_str("\\n"),
                    '\u{c}' => out.push_str("\\f"),
                    '\r' => out.push_str("\\r"),
                    c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
                    c => out.push(c),
                }
            }
            out.push('"');
        }
        Json::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                reference(item, out);
            }
            out.push(']');
        }
        Json::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort_by(|a, b| a.encode_utf16().cmp(b.encode_utf16()));
            out.push('{');
            for (i, k) in keys.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                reference(&Json::String((*k).clone()), out);
                out.push(':');
                reference(&map[k.as_str()], out);
            }
            out.push('}');
        }
    }
}

fn reference_jcs(v: &Json) -> String {
    let mut out = String::new();
    reference(v, &mut out);
    out
}

fn ours(text: &str) -> String {
    let value = parse(text.as_bytes()).expect("valid JSON");
    String::from_utf8(to_vec(&value).expect("canonical")).expect("UTF-8")
}

/// Whether our parsed value equals a serde_json value; numbers compare by value (the
/// canonical form turns 2.0 into 2). serde_json's own float parsing is not correctly
/// rounded (without its `float_roundtrip` feature), so our reader parses both sides.
fn same(a: &Value<'_>, b: &Json) -> bool {
    match (a, b) {
        (Value::Number(x), Json::Number(y)) => x.parse::<f64>().ok() == y.as_f64(),
        (Value::Array(x), Json::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| same(p, q))
        }
        (Value::Object(x), Json::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k.as_ref()).is_some_and(|w| same(v, w)))
        }
        (Value::String(x), Json::String(y)) => x == y,
        (Value::Bool(x), Json::Bool(y)) => x == y,
        (Value::Null, Json::Null) => true,
        _ => false,
    }
}

fn arb_text() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::collection::vec(any::<char>(), 0..10).prop_map(String::from_iter),
        "[a-z_\"\\\\/ ]{0,10}",
        prop::collection::vec(
            prop::sample::select(vec![
                '\u{e000}',
                '\u{ffff}',
                '\u{10000}',
                '\u{1f600}',
                'a',
                'é',
                '\u{7f}',
                '\u{2028}'
            ]),
            0..5
        )
        .prop_map(String::from_iter),
    ]
}

const SAFE: i64 = (1 << 53) - 1;

fn arb_json() -> impl Strategy<Value = Json> {
    let leaf = prop_oneof![
        Just(Json::Null),
        any::<bool>().prop_map(Json::Bool),
        (-SAFE..=SAFE).prop_map(Json::from),
        // serde_json writes some large whole doubles as integer literals, which sealog
        // refuses by design (outside ±(2^53 − 1)); keep those out of the valid inputs.
        any::<f64>()
            .prop_filter("finite, not a large whole number", |f| {
                f.is_finite() && (f.fract() != 0.0 || f.abs() <= SAFE as f64)
            })
            .prop_map(Json::from),
        (-1000i32..1000, 0u32..4)
            .prop_map(|(n, s)| Json::from(f64::from(n) / 10f64.powi(s as i32))),
        arb_text().prop_map(Json::String),
    ];
    leaf.prop_recursive(3, 24, 5, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Json::Array),
            prop::collection::vec((arb_text(), inner), 0..5)
                .prop_map(|m| Json::Object(m.into_iter().collect())),
        ]
    })
}

fn arb_object() -> impl Strategy<Value = Map<String, Json>> {
    prop::collection::vec((prop_oneof![arb_text(), "[a-d]"], arb_json()), 0..5)
        .prop_map(|m| m.into_iter().collect())
}

proptest! {
    #[test]
    fn jcs_matches_the_reference_and_round_trips(v in arb_json()) {
        let text = serde_json::to_string(&v).expect("JSON");
        let canonical = ours(&text);
        prop_assert_eq!(&canonical, &reference_jcs(&v));
        let back = parse(canonical.as_bytes()).expect("JCS is JSON");
        prop_assert!(same(&back, &v), "{} vs {}", canonical, v);
        prop_assert_eq!(ours(&canonical), canonical, "idempotent");
        let pretty = serde_json::to_string_pretty(&v).expect("JSON");
        prop_assert_eq!(ours(&pretty), reference_jcs(&v), "whitespace does not matter");
    }

    #[test]
    fn the_reader_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..64)) {
        let _ = parse(&bytes);
        let _ = prepare_event(&bytes);
        let _ = server_fields(&bytes);
        let _ = write_returned(&bytes, &[0; 32], None, &mut Vec::new());
    }

    #[test]
    fn the_reader_never_panics_on_json_like_text(text in "[\\[\\]{}\",:0-9a-z\\\\. -]{0,40}") {
        let _ = parse(text.as_bytes());
        let _ = prepare_event(text.as_bytes());
        let _ = server_fields(text.as_bytes());
    }
}

/// A random valid event: its text and the stored object it must become (before the
/// server fields).
#[derive(Debug, Clone)]
struct Gen {
    text: String,
    expected: Map<String, Json>,
}

const TEXT_FIELDS: &[&str] = &[
    "event_description",
    "action",
    "result",
    "user_id",
    "user_name",
    "actor_type",
    "actor_role",
    "session_id",
    "request_id",
    "user_agent",
    "endpoint",
    "table_name",
    "record_id",
    "entity_name",
    "symbol",
    "exchange",
    "compliance_status",
    "jurisdiction",
    "regulatory_framework",
    "error_code",
    "error_message",
    "stack_trace",
];
const IPS: &[&str] = &[
    "192.0.2.1",
    "::1",
    "2001:db8::42",
    "10.0.0.255",
    "::ffff:1.2.3.4",
];

fn changed_fields(
    old: Option<&Map<String, Json>>,
    new: Option<&Map<String, Json>>,
) -> Option<Json> {
    let mut keys: Vec<String> = match (old, new) {
        (None, None) => return None,
        (Some(one), None) | (None, Some(one)) => one.keys().cloned().collect(),
        (Some(o), Some(n)) => {
            let mut all: Vec<&String> = o.keys().chain(n.keys()).collect();
            all.dedup();
            all.into_iter()
                .filter(|k| o.get(*k).map(reference_jcs) != n.get(*k).map(reference_jcs))
                .cloned()
                .collect()
        }
    };
    keys.sort_by(|a, b| a.encode_utf16().cmp(b.encode_utf16()));
    keys.dedup();
    Some(Json::from(keys))
}

/// Adds one member to the event text and to the expected stored object.
fn put(
    raw: &mut Vec<(String, String)>,
    expected: &mut Map<String, Json>,
    k: &str,
    text: String,
    stored: Json,
) {
    raw.retain(|(key, _)| key != k);
    raw.push((k.to_string(), text));
    expected.insert(k.to_string(), stored);
}

prop_compose! {
    fn arb_event()(
        event_type in "[A-Za-z0-9_.:-]{1,20}",
        severity in prop::option::of(prop::sample::select(vec!["debug", "info", "low", "medium", "high", "critical"])),
        texts in prop::collection::vec((prop::sample::select(TEXT_FIELDS), arb_text()), 0..8),
        ip in prop::option::of(prop::sample::select(IPS)),
        method in prop::option::of("[A-Z]{3,7}|M-SEARCH"),
        currency in prop::option::of("[A-Z0-9]{2,12}"),
        country in prop::option::of("[A-Z]{2}"),
        amount in prop::option::of(("-?(0|[1-9][0-9]{0,24})(\\.[0-9]{1,12})?", any::<bool>())),
        risk in prop::option::of(("(0|[1-9][0-9]{0,4})(\\.[0-9]{1,4})?", any::<bool>())),
        tags in prop::option::of(prop::collection::vec(arb_text(), 0..5)),
        old in prop::option::of(arb_object()),
        new in prop::option::of(arb_object()),
        meta in prop::option::of(arb_object()),
        changed in prop::option::of(prop::collection::vec(arb_text(), 0..4)),
        occurred in prop::option::of((TIMESTAMP_US_MIN / 2..TIMESTAMP_US_MAX / 2, -1439i64..1440)),
        reverse in any::<bool>(),
    ) -> Gen {
        let mut raw: Vec<(String, String)> = Vec::new();
        let mut expected = Map::new();
        let json = |v: &Json| serde_json::to_string(v).expect("JSON");
        put(&mut raw, &mut expected, "event_type", json(&Json::from(event_type.clone())), Json::from(event_type));
        for (field, text) in texts {
            put(&mut raw, &mut expected, field, json(&Json::from(text.clone())), Json::from(text));
        }
        for (field, value) in [("ip_address", ip.map(str::to_string)), ("http_method", method), ("currency", currency), ("country_code", country)] {
            if let Some(v) = value {
                put(&mut raw, &mut expected, field, json(&Json::from(v.clone())), Json::from(v));
            }
        }
        for (field, value) in [("amount", amount), ("risk_score", risk)] {
            if let Some((digits, as_number)) = value {
                let text = if as_number { digits.clone() } else { json(&Json::from(digits.clone())) };
                put(&mut raw, &mut expected, field, text, Json::from(digits));
            }
        }
        if let Some(tags) = tags {
            put(&mut raw, &mut expected, "tags", json(&Json::from(tags.clone())), Json::from(tags));
        }
        for (field, value) in [("old_values", &old), ("new_values", &new), ("audit_metadata", &meta)] {
            if let Some(obj) = value {
                put(&mut raw, &mut expected, field, json(&Json::Object(obj.clone())), Json::Object(obj.clone()));
            }
        }
        if let Some((us, offset_min)) = occurred {
            let local = format_rfc3339_us(us + offset_min * 60_000_000);
            let zone = if offset_min == 0 {
                "Z".to_string()
            } else {
                let sign = if offset_min < 0 { '-' } else { '+' };
                format!("{sign}{:02}:{:02}", offset_min.abs() / 60, offset_min.abs() % 60)
            };
            let text = format!("{}{zone}", &local[..26]);
            put(&mut raw, &mut expected, "occurred_at", json(&Json::from(text)), Json::from(format_rfc3339_us(us)));
        }
        match changed {
            Some(list) => put(&mut raw, &mut expected, "changed_fields", json(&Json::from(list.clone())), Json::from(list)),
            None => {
                if let Some(list) = changed_fields(old.as_ref(), new.as_ref()) {
                    expected.insert("changed_fields".into(), list);
                }
            }
        }
        match severity {
            Some(s) => put(&mut raw, &mut expected, "severity", json(&Json::from(s)), Json::from(s)),
            None => {
                expected.insert("severity".into(), Json::from("info"));
            }
        }
        if reverse {
            raw.reverse();
        }
        let members: Vec<String> = raw.iter().map(|(k, v)| format!("{}:{v}", json(&Json::from(k.as_str())))).collect();
        Gen { text: format!("{{{}}}", members.join(",")), expected }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn prepared_events_become_the_canonical_stored_object(
        event in arb_event(),
        created_at_us in TIMESTAMP_US_MIN..=TIMESTAMP_US_MAX,
        id in any::<u128>(),
        prev_hash in any::<[u8; 32]>(),
        seq in 1u64..=(1 << 53) - 1,
        tenant in "[A-Za-z0-9_-]{1,64}",
        resolved in prop::option::of((any::<i64>(), arb_text(), prop::option::of(arb_text()))),
    ) {
        let prepared = match prepare_event(event.text.as_bytes()) {
            Ok(p) => p,
            Err(e) => return Err(TestCaseError::fail(format!("{}: {e:#?}", event.text))),
        };
        let id = uuid::Uuid::from_u128(id);
        let server = ServerFields { created_at_us, id, prev_hash: &prev_hash, seq, tenant: &tenant };
        let mut body = Vec::new();
        prepared.write_body(&server, &mut body);
        prop_assert!(body.len() <= prepared.body_len_hint());
        prop_assert_eq!(prepared.event_type(), event.expected["event_type"].as_str().unwrap_or(""));

        let mut full = event.expected.clone();
        full.insert("created_at".into(), Json::from(format_rfc3339_us(created_at_us)));
        full.insert("id".into(), Json::from(id.hyphenated().to_string()));
        full.insert("prev_hash".into(), Json::from(hex::encode(prev_hash)));
        full.insert("seq".into(), Json::from(seq));
        full.insert("tenant_id".into(), Json::from(tenant.clone()));
        let full = Json::Object(full);
        let text = String::from_utf8(body.clone()).expect("UTF-8");
        prop_assert_eq!(&text, &reference_jcs(&full), "input {}", event.text);
        prop_assert_eq!(&text, &ours(&serde_json::to_string(&full).expect("JSON")));

        let f = server_fields(&body).expect("own body");
        prop_assert_eq!(f.created_at, full["created_at"].as_str().unwrap_or(""));
        prop_assert_eq!(f.id, full["id"].as_str().unwrap_or(""));
        prop_assert_eq!(f.prev_hash, hex::encode(prev_hash));
        prop_assert_eq!(f.seq, seq);
        prop_assert_eq!(f.tenant_id, tenant.as_str());

        let hash: [u8; 32] = Sha256::digest(&body).into();
        let overlay = resolved.map(|(at, by, notes)| Overlay {
            resolved_at_us: at,
            resolved_by: by,
            resolution_notes: notes,
        });
        let mut out = Vec::new();
        write_returned(&body, &hash, overlay.as_ref(), &mut out).expect("own body");
        let returned = String::from_utf8(out).expect("UTF-8");
        prop_assert_eq!(ours(&returned), returned.clone(), "returned form is canonical");
        let obj: Map<String, Json> = serde_json::from_str(&returned).expect("JSON");
        prop_assert_eq!(obj.get("hash"), Some(&Json::from(hex::encode(hash))));
        prop_assert_eq!(obj.get("is_resolved"), Some(&Json::from(overlay.is_some())));
        if let Some(o) = &overlay {
            prop_assert_eq!(obj.get("resolved_by"), Some(&Json::from(o.resolved_by.clone())));
            let at = Json::from(format_rfc3339_us(o.resolved_at_us));
            prop_assert_eq!(obj.get("resolved_at"), Some(&at));
            let notes = o.resolution_notes.clone().map(Json::from);
            prop_assert_eq!(obj.get("resolution_notes"), notes.as_ref());
        }
        // The hash rule: drop the read-only keys, canonicalize, SHA-256 (our reader, as
        // serde_json's float parsing could move a double by one unit).
        let Ok(Value::Object(mut members)) = parse(returned.as_bytes()) else {
            return Err(TestCaseError::fail("not an object"));
        };
        let read_only = ["hash", "is_resolved", "resolved_at", "resolved_by", "resolution_notes"];
        members.retain(|(k, _)| !read_only.contains(&k.as_ref()));
        let canonical = to_vec(&Value::Object(members)).expect("canonical");
        prop_assert_eq!(hex::encode(Sha256::digest(&canonical)), hex::encode(hash));
    }
}

proptest! {
    #[test]
    fn damaged_events_are_refused_or_canonical(
        event in arb_event(),
        edits in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
    ) {
        let mut bytes = event.text.into_bytes();
        for (at, byte) in edits {
            let i = at.index(bytes.len());
            bytes[i] = byte;
        }
        if let Ok(prepared) = prepare_event(&bytes) {
            let prev = [0u8; 32];
            let server = ServerFields {
                created_at_us: 0,
                id: uuid::Uuid::nil(),
                prev_hash: &prev,
                seq: 1,
                tenant: "t",
            };
            let mut body = Vec::new();
            prepared.write_body(&server, &mut body);
            let text = String::from_utf8(body.clone()).expect("UTF-8");
            prop_assert_eq!(ours(&text), text.clone(), "still canonical");
            prop_assert!(server_fields(&body).is_ok());
        }
    }
}
