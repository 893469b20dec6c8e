//! Stored bodies: the server-field scan, member iteration, the returned form and the
//! hash rule.

use sha2::{Digest, Sha256};

use crate::event::jcs::to_vec;
use crate::event::json::parse;
use crate::event::{
    prepare_event, server_fields, top_level_members, write_returned, BodyError, Overlay,
    ServerFields, StoredFields,
};

const PREV: [u8; 32] = [0xab; 32];

fn stored(event: &str) -> Vec<u8> {
    let p = prepare_event(event.as_bytes()).expect("valid event");
    let mut body = Vec::new();
    let server = ServerFields {
        created_at_us: 1_795_300_782_123_456,
        id: uuid::Uuid::from_u128(0x0193_0000_0000_7000_8000_0000_0000_00ff),
        prev_hash: &PREV,
        seq: 9_007_199_254_740_991,
        tenant: "acme-1",
    };
    p.write_body(&server, &mut body);
    body
}

const TRICKY: &str = r#"{"event_type":"t","new_values":{"prev_hash":"evil","seq":1,"id":"x","tenant_id":"y","created_at":"z","nested":[{"seq":2},"]}"]},"event_description":"\",\"prev_hash\":\"evil\",\"seq\":3,\"x\":\"{[","audit_metadata":{"s":"\\\"}"},"tags":["{","}\\"]}"#;

#[test]
fn server_fields_are_found_at_top_level_only() {
    let body = stored(TRICKY);
    let f = server_fields(&body).expect("valid body");
    assert_eq!(
        f,
        StoredFields {
            created_at: "2026-11-21T22:39:42.123456Z",
            id: "01930000-0000-7000-8000-0000000000ff",
            prev_hash: &"ab".repeat(32),
            seq: 9_007_199_254_740_991,
            tenant_id: "acme-1",
        }
    );
}

#[test]
fn top_level_members_are_listed_with_raw_values() {
    let body = stored(TRICKY);
    let members: Vec<(&str, &[u8])> = top_level_members(&body)
        .collect::<Result<_, _>>()
        .expect("valid");
    let keys: Vec<&str> = members.iter().map(|m| m.0).collect();
    assert_eq!(
        keys,
        [
            "audit_metadata",
            "changed_fields",
            "created_at",
            "event_description",
            "event_type",
            "id",
            "new_values",
            "prev_hash",
            "seq",
            "severity",
            "tags",
            "tenant_id"
        ]
    );
    assert_eq!(members[0].1, br#"{"s":"\\\"}"}"#);
    assert_eq!(members[8].1, b"9007199254740991");
    assert_eq!(members[10].1, br#"["{","}\\"]"#);
    // Each raw value is itself valid JSON.
    for (key, raw) in &members {
        assert!(parse(raw).is_ok(), "{key}");
    }
}

fn scan_err(body: &[u8]) -> BodyError {
    server_fields(body).expect_err("must be refused")
}

#[test]
fn damaged_bodies_are_errors_not_panics() {
    let good = stored(TRICKY);
    // Every truncation and every single-byte change of a valid body is handled.
    for cut in 0..good.len() {
        let _ = server_fields(&good[..cut]);
        let _ = top_level_members(&good[..cut]).count();
        let _ = write_returned(&good[..cut], &[0; 32], None, &mut Vec::new());
    }
    for at in 0..good.len() {
        for byte in [
            b'"', b'\\', b'{', b'}', b'[', b']', b',', b':', b'x', 0, 0xff,
        ] {
            let mut bad = good.clone();
            bad[at] = byte;
            let _ = server_fields(&bad);
            let _ = top_level_members(&bad).count();
        }
    }
    assert!(matches!(scan_err(b""), BodyError::Malformed { .. }));
    assert!(matches!(scan_err(b"[]"), BodyError::Malformed { .. }));
    assert!(matches!(scan_err(b"{}x"), BodyError::Malformed { .. }));
    assert_eq!(
        scan_err(b"{}"),
        BodyError::Missing {
            field: "created_at"
        }
    );
    assert!(matches!(
        scan_err(b"{\"a\":[}"),
        BodyError::Malformed { .. }
    ));
    assert!(matches!(
        scan_err(b"{\"a\":{]}"),
        BodyError::Malformed { .. }
    ));
    assert!(matches!(
        scan_err(b"{\"a\":01}"),
        BodyError::Malformed { .. }
    ));
    assert!(matches!(
        scan_err(b"{\"a\":tru}"),
        BodyError::Malformed { .. }
    ));
    assert!(matches!(
        scan_err(b"{\"a\" :1}"),
        BodyError::Malformed { .. }
    ));
    assert!(matches!(
        scan_err(b"{\"\\u0061\":1}"),
        BodyError::Malformed { .. }
    ));
    let deep = format!("{{\"a\":{}{}}}", "[".repeat(100_000), "]".repeat(100_000));
    assert!(matches!(
        scan_err(deep.as_bytes()),
        BodyError::Malformed { .. }
    ));
}

#[test]
fn server_fields_are_checked() {
    let good = String::from_utf8(stored(r#"{"event_type":"t"}"#)).expect("UTF-8");
    let swap = |from: &str, to: &str| {
        assert!(good.contains(from), "{from}");
        scan_err(good.replacen(from, to, 1).as_bytes())
    };
    let bad =
        |field| move |e: BodyError| matches!(e, BodyError::BadField { field: f, .. } if f == field);
    assert!(bad("seq")(swap(
        "\"seq\":9007199254740991",
        "\"seq\":9007199254740992"
    )));
    assert!(bad("seq")(swap("\"seq\":9007199254740991", "\"seq\":0")));
    assert!(bad("seq")(swap(
        "\"seq\":9007199254740991",
        "\"seq\":\"1\""
    )));
    assert!(bad("seq")(swap("\"seq\":9007199254740991", "\"seq\":1.0")));
    assert!(bad("prev_hash")(swap(
        "\"prev_hash\":\"ab",
        "\"prev_hash\":\"AB"
    )));
    assert!(bad("id")(swap("\"id\":\"01930000-", "\"id\":\"0193000-0")));
    assert!(bad("created_at")(swap(
        "22:39:42.123456Z",
        "22:39:42.123456+"
    )));
    assert!(bad("created_at")(swap("2026-11-21", "2026-13-21")));
    assert!(bad("tenant_id")(swap("acme-1", "acme 1")));
    assert_eq!(
        swap("\"seq\":9007199254740991,", "\"seq\":1,\"seq\":2,"),
        BodyError::Duplicate { field: "seq" }
    );
    assert_eq!(
        swap(",\"tenant_id\":\"acme-1\"", ""),
        BodyError::Missing { field: "tenant_id" }
    );
}

fn returned(body: &[u8], overlay: Option<&Overlay>) -> String {
    let hash: [u8; 32] = Sha256::digest(body).into();
    let mut out = b"[".to_vec();
    write_returned(body, &hash, overlay, &mut out).expect("valid body");
    String::from_utf8(out[1..].to_vec()).expect("UTF-8")
}

/// The returned text must be its own canonical form.
fn assert_canonical(text: &str) {
    let value = parse(text.as_bytes()).expect("valid JSON");
    assert_eq!(
        String::from_utf8(to_vec(&value).expect("canonical")).expect("UTF-8"),
        text
    );
}

#[test]
fn returned_events_are_canonical_with_the_overlay_in_place() {
    let body = stored(
        r#"{"event_type":"t","request_id":"r","result":"OK","ip_address":"::1","jurisdiction":"EU","flagged_keywords":["k"],"http_method":"GET"}"#,
    );
    let hex = hex::encode(Sha256::digest(&body));
    let plain = returned(&body, None);
    assert_canonical(&plain);
    assert!(
        plain.contains(&format!(
            r#""flagged_keywords":["k"],"hash":"{hex}","http_method":"GET""#
        )),
        "{plain}"
    );
    assert!(
        plain.contains(r#""ip_address":"::1","is_resolved":false,"jurisdiction":"EU""#),
        "{plain}"
    );
    let overlay = Overlay {
        resolved_at_us: 0,
        resolved_by: "ann \"a\"".into(),
        resolution_notes: Some("line\nbreak".into()),
    };
    let resolved = returned(&body, Some(&overlay));
    assert_canonical(&resolved);
    assert!(resolved.contains(r#""is_resolved":true"#));
    assert!(
        resolved.contains(r#""request_id":"r","resolution_notes":"line\nbreak","resolved_at":"1970-01-01T00:00:00.000000Z","resolved_by":"ann \"a\"","result":"OK""#),
        "{resolved}"
    );
    let no_notes = Overlay {
        resolution_notes: None,
        ..overlay
    };
    let r = returned(&body, Some(&no_notes));
    assert_canonical(&r);
    assert!(!r.contains("resolution_notes"));
    // Keys that sort after every stored key go at the end.
    assert_eq!(
        returned(b"{\"a\":1}", None),
        format!(
            r#"{{"a":1,"hash":"{}","is_resolved":false}}"#,
            hex::encode(Sha256::digest(b"{\"a\":1}"))
        )
    );
    assert!(returned(b"{}", None).starts_with(r#"{"hash":""#));
}

#[test]
fn write_returned_refuses_bodies_that_already_hold_read_keys() {
    let mut out = b"keep".to_vec();
    let err = write_returned(br#"{"a":1,"is_resolved":true}"#, &[0; 32], None, &mut out);
    assert_eq!(
        err,
        Err(BodyError::Reserved {
            field: "is_resolved"
        })
    );
    assert_eq!(out, b"keep", "left as it was");
    assert!(write_returned(b"{\"a\":", &[0; 32], None, &mut out).is_err());
    assert_eq!(out, b"keep");
}

#[test]
fn the_hash_is_reproducible_from_the_returned_form() {
    // What a third party does: drop hash and the overlay keys, canonicalize, SHA-256.
    let body = stored(TRICKY);
    let overlay = Overlay {
        resolved_at_us: 5,
        resolved_by: "x".into(),
        resolution_notes: None,
    };
    for overlay in [None, Some(&overlay)] {
        let text = returned(&body, overlay);
        let mut value: serde_json::Value = serde_json::from_str(&text).expect("JSON");
        let obj = value.as_object_mut().expect("object");
        let hash = obj
            .remove("hash")
            .and_then(|h| h.as_str().map(str::to_string))
            .expect("hash");
        for key in [
            "is_resolved",
            "resolved_at",
            "resolved_by",
            "resolution_notes",
        ] {
            obj.remove(key);
        }
        let again = serde_json::to_vec(&value).expect("JSON");
        let canonical = to_vec(&parse(&again).expect("JSON")).expect("canonical");
        assert_eq!(canonical, body);
        assert_eq!(hex::encode(Sha256::digest(&canonical)), hash);
    }
}
