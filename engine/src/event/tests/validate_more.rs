//! The event rules across fields: lists, computed `changed_fields`, free-form objects,
//! times, refused fields, whole-event errors and resolution events.

use serde_json::json;

use super::support::{body, errors, ev, key, members, one_error, prepared};
use crate::event::json::Loc;
use crate::event::prepare_resolution;

#[test]
fn string_lists() {
    let tags: Vec<String> = (0..64).map(|i| format!("t{i}")).collect();
    let m = members(&ev(&format!(
        r#""tags":{},"flagged_keywords":["b","a","b"]"#,
        json!(tags)
    )));
    assert_eq!(m["tags"], json!(tags));
    assert_eq!(
        m["flagged_keywords"],
        json!(["b", "a", "b"]),
        "kept as given"
    );
    let mut too_many = tags.clone();
    too_many.push("x".into());
    let e = one_error(&ev(&format!(r#""tags":{}"#, json!(too_many))));
    assert_eq!((e.loc, e.kind), (vec![key("tags")], "too_long"));
    assert_eq!(
        e.ctx,
        Some(json!({"field_type":"List","max_length":64,"actual_length":65}))
    );
    assert_eq!(
        e.msg,
        "List should have at most 64 items after validation, not 65"
    );
    let errs = errors(&ev(&format!(
        r#""tags":["ok",5,"{}",null],"flagged_keywords":"x""#,
        "y".repeat(129)
    )));
    let summary: Vec<(Vec<Loc>, &str)> = errs.iter().map(|e| (e.loc.clone(), e.kind)).collect();
    assert_eq!(
        summary,
        [
            (vec![key("flagged_keywords")], "list_type"),
            (vec![key("tags"), Loc::Index(1)], "string_type"),
            (vec![key("tags"), Loc::Index(2)], "string_too_long"),
            (vec![key("tags"), Loc::Index(3)], "string_type"),
        ]
    );
    assert_eq!(errs[2].ctx, Some(json!({"max_length":128})));
    let fields: Vec<String> = (0..1024).map(|i| format!("f{i}")).collect();
    assert_eq!(
        members(&ev(&format!(r#""changed_fields":{}"#, json!(fields))))["changed_fields"],
        json!(fields)
    );
    let mut more = fields.clone();
    more.push("x".into());
    assert_eq!(
        one_error(&ev(&format!(r#""changed_fields":{}"#, json!(more)))).kind,
        "too_long"
    );
    let e = one_error(&ev(&format!(r#""changed_fields":["{}"]"#, "c".repeat(257))));
    assert_eq!(
        (e.loc, e.ctx),
        (
            vec![key("changed_fields"), Loc::Index(0)],
            Some(json!({"max_length":256}))
        )
    );
}

#[test]
fn changed_fields_is_computed_when_absent() {
    let changed = |extra: &str| members(&ev(extra)).get("changed_fields").cloned();
    assert_eq!(
        changed(
            r#""old_values":{"a":1,"b":{"x":[1,2]},"c":"s","d":1.0,"e":true},"new_values":{"e":true,"d":1,"c":"t","b":{"x":[1,2.0]},"f":null}"#
        ),
        Some(json!(["a", "c", "f"])),
        "1 equals 1.0, nested values compare canonically, added and removed keys count"
    );
    assert_eq!(
        changed(r#""old_values":{"a":1},"new_values":{"a":1}"#),
        Some(json!([]))
    );
    assert_eq!(
        changed(r#""old_values":{},"new_values":{}"#),
        Some(json!([]))
    );
    assert_eq!(
        changed(r#""new_values":{"z":1,"a":2,"m":3}"#),
        Some(json!(["a", "m", "z"]))
    );
    assert_eq!(
        changed(r#""old_values":{"z":1,"a":2},"new_values":null"#),
        Some(json!(["a", "z"]))
    );
    assert_eq!(changed(r#""audit_metadata":{"a":1}"#), None);
    assert_eq!(
        changed(r#""new_values":{"\ufb33":1,"\ud83d\ude00":2,"\u20ac":3,"1":4}"#),
        Some(json!(["1", "\u{20ac}", "\u{1f600}", "\u{fb33}"])),
        "UTF-16 order"
    );
    assert_eq!(
        changed(r#""old_values":{"b":1},"new_values":{"a":1},"changed_fields":["zz"]"#),
        Some(json!(["zz"])),
        "a client-sent list is kept"
    );
    // The computed list lands at its canonical place, before the server members.
    let b = body(&prepared(&ev(
        r#""action":"A","new_values":{"q":1},"user_id":"u""#,
    )));
    assert!(
        b.starts_with(r#"{"action":"A","changed_fields":["q"],"created_at":"#),
        "{b}"
    );
    assert!(
        b.ends_with(r#""tenant_id":"tenant_03","user_id":"u"}"#),
        "{b}"
    );
}

#[test]
fn free_form_objects() {
    let m = members(&ev(
        r#""audit_metadata":{"b":[1E2,0.10,-0],"a":{"y":"\u00e9","x":null}}"#,
    ));
    assert_eq!(
        m["audit_metadata"],
        json!({"a":{"x":null,"y":"é"},"b":[100,0.1,0]})
    );
    for (field, bad) in [
        ("old_values", "[]"),
        ("new_values", r#""x""#),
        ("audit_metadata", "1"),
    ] {
        let e = one_error(&ev(&format!(r#""{field}":{bad}"#)));
        assert_eq!((e.loc, e.kind), (vec![key(field)], "dict_type"), "{field}");
        assert_eq!(e.msg, "Input should be a valid dictionary");
    }
}

#[test]
fn unsafe_integers_in_free_form_objects_are_refused_where_they_are() {
    let errs = errors(&ev(
        r#""new_values":{"qty":9007199254740993,"ok":9007199254740991},"old_values":{"l":[1,{"n":-12345678901234567890}]},"audit_metadata":{"f":1e400,"g":2.5}"#,
    ));
    let summary: Vec<(Vec<Loc>, &str)> = errs.iter().map(|e| (e.loc.clone(), e.kind)).collect();
    assert_eq!(
        summary,
        [
            (vec![key("audit_metadata"), key("f")], "finite_number"),
            (vec![key("new_values"), key("qty")], "int_too_big"),
            (
                vec![key("old_values"), key("l"), Loc::Index(1), key("n")],
                "int_too_big"
            ),
        ]
    );
    assert_eq!(
        errs[1].msg,
        "integer outside ±(2^53 − 1) would be rounded; send it as a string"
    );
    assert_eq!(errs[1].input, json!(9007199254740993u64));
    assert_eq!(
        errs[1].ctx,
        Some(json!({"ge": -9007199254740991i64, "le": 9007199254740991u64}))
    );
    assert_eq!(errs[2].input, json!("-12345678901234567890"));
    // A float whose canonical form is a bare integer beyond 2^53 − 1 is refused too
    // (other readers would take it back as an unsafe integer); large floats written
    // with an exponent are fine.
    let errs = errors(&ev(r#""new_values":{"x":9007199254740992.0,"y":1e300}"#));
    assert_eq!(errs.len(), 1);
    assert_eq!(
        (errs[0].loc.clone(), errs[0].kind),
        (vec![key("new_values"), key("x")], "int_too_big")
    );
    prepared(&ev(r#""new_values":{"x":9007199254740991.0,"y":1e300}"#));
}

#[test]
fn occurred_at_is_normalized() {
    let m = members(&ev(r#""occurred_at":"2026-01-01t01:00:00.5+01:00""#));
    assert_eq!(m["occurred_at"], "2026-01-01T00:00:00.500000Z");
    let e = one_error(&ev(r#""occurred_at":"2026-12-31T23:59:60Z""#));
    assert_eq!(
        (e.loc, e.kind),
        (vec![key("occurred_at")], "datetime_parsing")
    );
    assert!(
        e.msg
            .starts_with("Input should be a valid datetime, second 60 (a leap second)"),
        "{}",
        e.msg
    );
    assert!(e.ctx.is_some());
    assert_eq!(
        one_error(&ev(r#""occurred_at":"2026-02-30T00:00:00Z""#)).kind,
        "datetime_parsing"
    );
    assert_eq!(
        one_error(&ev(r#""occurred_at":"yesterday""#)).kind,
        "datetime_parsing"
    );
    assert_eq!(
        one_error(&ev(r#""occurred_at":1700000000"#)).kind,
        "datetime_type"
    );
}

#[test]
fn unknown_and_server_set_fields_are_refused() {
    let e = one_error(&ev(r#""usr_id":"x""#));
    assert_eq!(
        (e.loc, e.kind, e.msg.as_str(), e.input),
        (
            vec![key("usr_id")],
            "extra_forbidden",
            "Extra inputs are not permitted",
            json!("x")
        )
    );
    for field in [
        "id",
        "tenant_id",
        "seq",
        "created_at",
        "prev_hash",
        "hash",
        "is_resolved",
        "resolved_at",
        "resolved_by",
        "resolution_notes",
    ] {
        for value in [r#""x""#, "null", "1"] {
            let e = one_error(&ev(&format!(r#""{field}":{value}"#)));
            assert_eq!(
                (e.loc.clone(), e.kind),
                (vec![key(field)], "extra_forbidden"),
                "{field}"
            );
            assert!(e.msg.contains("server"), "{field}: {}", e.msg);
            assert!(e.msg.starts_with(field), "{}", e.msg);
        }
    }
}

#[test]
fn every_problem_is_reported_at_once() {
    let errs = errors(
        r#"{"severity":"loud","ip_address":"x","extra":1,"id":"y","amount":"z","tags":"t"}"#,
    );
    let mut kinds: Vec<&str> = errs.iter().map(|e| e.kind).collect();
    kinds.sort_unstable();
    assert_eq!(
        kinds,
        [
            "decimal_parsing",
            "enum",
            "extra_forbidden",
            "extra_forbidden",
            "ip_any_address",
            "list_type",
            "missing"
        ]
    );
}

#[test]
fn the_top_level_must_be_an_object() {
    for (input, echoed) in [
        ("[]", json!([])),
        ("\"x\"", json!("x")),
        ("5", json!(5)),
        ("null", json!(null)),
    ] {
        let e = one_error(input);
        assert_eq!(
            (e.loc, e.kind, e.input),
            (vec![], "dict_type", echoed),
            "{input}"
        );
    }
    for bad in [
        "",
        "{",
        "{\"event_type\":\"t\",}",
        "{\"event_type\":\"t\"} x",
        "{\"a\":1,\"a\":2}",
    ] {
        let e = one_error(bad);
        assert_eq!((e.loc.len(), e.kind), (0, "json_invalid"), "{bad}");
        assert!(e.msg.starts_with("Invalid JSON: "), "{}", e.msg);
        assert!(e.ctx.as_ref().is_some_and(|c| c.get("line").is_some()));
    }
}

#[test]
fn the_canonical_body_has_a_size_limit() {
    let big = "x".repeat(crate::limits::EVENT_BODY_BYTES_MAX);
    let e = one_error(&ev(&format!(r#""audit_metadata":{{"blob":"{big}"}}"#)));
    assert_eq!((e.loc.len(), e.kind), (0, "value_error"));
    assert!(e.msg.contains("bytes"), "{}", e.msg);
}

#[test]
fn errors_serialize_like_fastapi_items() {
    let e = one_error(&ev(r#""tags":["ok",7]"#));
    assert_eq!(
        e.to_json(),
        json!({"loc":["tags",1],"msg":"Input should be a valid string","type":"string_type","input":7})
    );
    let e = one_error(&ev(r#""currency":"x""#));
    assert_eq!(e.to_json()["ctx"], json!({"pattern":"^[A-Z0-9]{2,12}$"}));
}

#[test]
fn resolution_events() {
    let target = "01930000-0000-7000-8000-00000000abcd";
    let p = prepare_resolution(target, "alice", Some("false positive"), "key_1").expect("valid");
    let b = body(&p);
    let want = format!(
        r#"{{"action":"RESOLVE","changed_fields":["resolution_notes","resolved_by"],"created_at":"2026-11-21T22:39:42.123456Z","event_type":"audit.resolution","id":"01930000-0000-7000-8000-000000000000","new_values":{{"resolution_notes":"false positive","resolved_by":"alice"}},"prev_hash":"{}","record_id":"{target}","seq":42,"severity":"info","tenant_id":"tenant_03","user_id":"key_1"}}"#,
        "07".repeat(32)
    );
    assert_eq!(b, want);
    assert_eq!(p.event_type(), "audit.resolution");
    let p = prepare_resolution(target, "bob \"b\"", None, "key_1").expect("valid");
    assert!(body(&p).contains(r#""new_values":{"resolved_by":"bob \"b\""}"#));
    let errs = prepare_resolution(target, &"é".repeat(257), Some(&"n".repeat(4097)), "k")
        .expect_err("too long");
    let summary: Vec<(Vec<Loc>, &str)> = errs.iter().map(|e| (e.loc.clone(), e.kind)).collect();
    assert_eq!(
        summary,
        [
            (vec![key("resolved_by")], "string_too_long"),
            (vec![key("resolution_notes")], "string_too_long")
        ]
    );
    prepare_resolution(target, &"é".repeat(256), Some(&"n".repeat(4096)), "k")
        .expect("at the bounds");
}
