//! The event rules, field by field: every error kind with its loc and ctx, defaults,
//! key order and the exact canonical body.

use serde_json::json;

use super::support::{body, ev, key, members, one_error, prepared};
use super::support::{SAMPLE, SAMPLE_BODY};
use crate::event::fields::{lookup, Rule, FIELDS};

#[test]
fn sample_event_gives_the_golden_body() {
    let p = prepared(SAMPLE);
    assert_eq!(body(&p), SAMPLE_BODY);
    assert_eq!(p.event_type(), "position.updated");
}

#[test]
fn canonical_key_order_is_the_sorted_order() {
    let names: Vec<&str> = FIELDS.iter().map(|f| f.name).collect();
    let mut sorted = names.clone();
    sorted.sort_by(|a, b| a.encode_utf16().cmp(b.encode_utf16()));
    assert_eq!(names, sorted);
    let stored: Vec<&str> = FIELDS
        .iter()
        .filter(|f| f.rule != Rule::Overlay)
        .map(|f| f.name)
        .collect();
    let spec = "action, actor_role, actor_type, amount, audit_metadata, changed_fields, compliance_status, country_code, created_at, currency, endpoint, entity_name, error_code, error_message, event_description, event_type, exchange, flagged_keywords, http_method, id, ip_address, jurisdiction, new_values, occurred_at, old_values, prev_hash, record_id, regulatory_framework, request_id, result, risk_score, seq, session_id, severity, stack_trace, symbol, table_name, tags, tenant_id, user_agent, user_id, user_name";
    assert_eq!(stored.join(", "), spec);
    for (i, f) in FIELDS.iter().enumerate() {
        assert_eq!(lookup(f.name), Some(i));
        assert_eq!(f.member, format!("\"{}\":", f.name));
    }
    for unknown in [
        "",
        "x",
        "Action",
        "action ",
        "user",
        "user_names",
        "tenant",
        "ids",
    ] {
        assert_eq!(lookup(unknown), None, "{unknown}");
    }
}

#[test]
fn minimal_event_gets_the_default_severity() {
    let p = prepared(r#"{"event_type":"user.login"}"#);
    let want = format!(
        r#"{{"created_at":"2026-11-21T22:39:42.123456Z","event_type":"user.login","id":"01930000-0000-7000-8000-000000000000","prev_hash":"{}","seq":42,"severity":"info","tenant_id":"tenant_03"}}"#,
        "07".repeat(32)
    );
    assert_eq!(body(&p), want);
    assert_eq!(p.event_type(), "user.login");
}

#[test]
fn nulls_are_absent() {
    let m = members(&ev(
        r#""severity":null,"user_id":null,"tags":null,"old_values":null,"new_values":null,"changed_fields":null,"amount":null"#,
    ));
    let obj = m.as_object().expect("object");
    assert_eq!(obj.len(), 7, "{m}");
    assert_eq!(m["severity"], "info");
    let e = one_error(r#"{"event_type":null}"#);
    assert_eq!(
        (e.loc, e.kind, e.msg.as_str(), e.input),
        (
            vec![key("event_type")],
            "missing",
            "Field required",
            json!(null)
        )
    );
}

#[test]
fn event_type_rules() {
    let e = one_error(r#"{}"#);
    assert_eq!(
        (e.loc.clone(), e.kind),
        (vec![key("event_type")], "missing")
    );
    let e = one_error(r#"{"event_type":""}"#);
    assert_eq!(
        (e.kind, e.ctx),
        ("string_too_short", Some(json!({"min_length":1})))
    );
    assert_eq!(e.msg, "String should have at least 1 character");
    let long = "a".repeat(129);
    let e = one_error(&format!(r#"{{"event_type":"{long}"}}"#));
    assert_eq!(
        (e.kind, e.ctx),
        ("string_too_long", Some(json!({"max_length":128})))
    );
    assert_eq!(e.msg, "String should have at most 128 characters");
    prepared(&format!(r#"{{"event_type":"{}"}}"#, "a".repeat(128)));
    prepared(r#"{"event_type":"Az09_.:-"}"#);
    for bad in ["a b", "é", "a/b", "a\"b"] {
        let e = one_error(&format!(
            r#"{{"event_type":{}}}"#,
            serde_json::to_string(bad).expect("json")
        ));
        assert_eq!(e.kind, "string_pattern_mismatch", "{bad}");
        assert_eq!(e.ctx, Some(json!({"pattern":"^[A-Za-z0-9_.:-]+$"})));
        assert_eq!(e.input, json!(bad));
    }
    let e = one_error(r#"{"event_type":5}"#);
    assert_eq!(
        (e.kind, e.msg.as_str(), e.input),
        ("string_type", "Input should be a valid string", json!(5))
    );
}

#[test]
fn severity_is_an_enum() {
    for s in ["debug", "info", "low", "medium", "high", "critical"] {
        assert_eq!(members(&ev(&format!(r#""severity":"{s}""#)))["severity"], s);
    }
    for bad in [r#""INFO""#, r#""warning""#, "3", "[]"] {
        let e = one_error(&ev(&format!(r#""severity":{bad}"#)));
        assert_eq!((e.loc, e.kind), (vec![key("severity")], "enum"), "{bad}");
        assert_eq!(
            e.msg,
            "Input should be 'debug', 'info', 'low', 'medium', 'high' or 'critical'"
        );
        assert_eq!(
            e.ctx,
            Some(json!({"expected":"'debug', 'info', 'low', 'medium', 'high' or 'critical'"}))
        );
    }
}

#[test]
fn lengths_count_characters_not_bytes() {
    let name = "é".repeat(256);
    assert_eq!(
        members(&ev(&format!(r#""user_id":"{name}""#)))["user_id"],
        name.as_str()
    );
    let emoji = "😀".repeat(64);
    assert_eq!(
        members(&ev(&format!(r#""symbol":"{emoji}""#)))["symbol"],
        emoji.as_str()
    );
    let e = one_error(&ev(&format!(r#""user_id":"{name}é""#)));
    assert_eq!(
        (e.loc, e.kind, e.ctx),
        (
            vec![key("user_id")],
            "string_too_long",
            Some(json!({"max_length":256}))
        )
    );
    assert_eq!(e.msg, "String should have at most 256 characters");
    // The echoed input is cut at 256 characters plus an ellipsis.
    assert_eq!(e.input, json!(format!("{name}…")));
}

#[test]
fn every_text_field_has_its_bound() {
    for (field, max) in [
        ("event_description", 4096),
        ("action", 64),
        ("result", 64),
        ("user_id", 256),
        ("user_name", 256),
        ("actor_type", 256),
        ("actor_role", 256),
        ("session_id", 256),
        ("request_id", 256),
        ("user_agent", 1024),
        ("endpoint", 2048),
        ("table_name", 256),
        ("record_id", 256),
        ("entity_name", 256),
        ("symbol", 64),
        ("exchange", 64),
        ("compliance_status", 256),
        ("jurisdiction", 256),
        ("regulatory_framework", 256),
        ("error_code", 4096),
        ("error_message", 4096),
        ("stack_trace", 65536),
    ] {
        let ok = "x".repeat(max);
        assert_eq!(
            members(&ev(&format!(r#""{field}":"{ok}""#)))[field],
            ok.as_str()
        );
        let e = one_error(&ev(&format!(r#""{field}":"{ok}x""#)));
        assert_eq!(
            (e.loc, e.kind, e.ctx),
            (
                vec![key(field)],
                "string_too_long",
                Some(json!({"max_length":max}))
            ),
            "{field}"
        );
        let e = one_error(&ev(&format!(r#""{field}":{{}}"#)));
        assert_eq!((e.kind, e.input), ("string_type", json!({})), "{field}");
        assert_eq!(members(&ev(&format!(r#""{field}":"""#)))[field], "");
    }
}

#[test]
fn text_is_stored_exactly_and_escaped_canonically() {
    let m = body(&prepared(&ev(
        r#""event_description":"tab\there \"q\" \u0001 \u00e9 \/ \ud83d\ude00""#,
    )));
    assert!(
        m.contains(r#""event_description":"tab\there \"q\" \u0001 é / 😀""#),
        "{m}"
    );
}

#[test]
fn ip_addresses_are_checked_and_stored_as_given() {
    for ok in [
        "203.0.113.7",
        "::1",
        "2001:DB8::1",
        "::ffff:192.0.2.1",
        "fe80::1:2:3:4",
    ] {
        assert_eq!(
            members(&ev(&format!(r#""ip_address":"{ok}""#)))["ip_address"],
            ok
        );
    }
    for bad in [
        "1.2.3",
        "256.1.1.1",
        "01.2.3.4",
        "fe80::1%eth0",
        "",
        " 1.2.3.4",
        "example.com",
        "1.2.3.4/24",
    ] {
        let e = one_error(&ev(&format!(r#""ip_address":"{bad}""#)));
        assert_eq!(
            (e.loc, e.kind, e.input),
            (vec![key("ip_address")], "ip_any_address", json!(bad)),
            "{bad}"
        );
        assert_eq!(e.msg, "value is not a valid IPv4 or IPv6 address");
    }
}

#[test]
fn http_method_is_a_token() {
    for ok in ["GET", "M-SEARCH", "patch", "X!#$%&'*+.^_`|~1"] {
        assert_eq!(
            members(&ev(&format!(r#""http_method":{}"#, json!(ok))))["http_method"],
            ok
        );
    }
    for bad in ["", "GE T", "GET/", "(GET)", "GÉT"] {
        let e = one_error(&ev(&format!(r#""http_method":{}"#, json!(bad))));
        assert_eq!(
            (e.loc, e.kind),
            (vec![key("http_method")], "string_pattern_mismatch"),
            "{bad}"
        );
        assert_eq!(
            e.ctx,
            Some(json!({"pattern":"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$"}))
        );
    }
    let e = one_error(&ev(&format!(r#""http_method":"{}""#, "A".repeat(33))));
    assert_eq!(
        (e.kind, e.ctx),
        ("string_too_long", Some(json!({"max_length":32})))
    );
}

#[test]
fn currency_and_country_code_patterns() {
    for ok in ["USD", "USDT", "EU", "ABCDEFGHIJ12"] {
        assert_eq!(
            members(&ev(&format!(r#""currency":"{ok}""#)))["currency"],
            ok
        );
    }
    for bad in ["U", "usd", "ABCDEFGHIJ123", "US D", "€"] {
        let e = one_error(&ev(&format!(r#""currency":"{bad}""#)));
        assert_eq!(
            (e.kind, e.ctx),
            (
                "string_pattern_mismatch",
                Some(json!({"pattern":"^[A-Z0-9]{2,12}$"}))
            ),
            "{bad}"
        );
        assert_eq!(e.msg, "String should match pattern '^[A-Z0-9]{2,12}$'");
    }
    assert_eq!(members(&ev(r#""country_code":"DE""#))["country_code"], "DE");
    for bad in ["D", "DEU", "de", "D1"] {
        let e = one_error(&ev(&format!(r#""country_code":"{bad}""#)));
        assert_eq!(
            (e.kind, e.ctx),
            (
                "string_pattern_mismatch",
                Some(json!({"pattern":"^[A-Z]{2}$"}))
            ),
            "{bad}"
        );
    }
}

#[test]
fn decimals_keep_their_digits() {
    for (given, stored) in [
        (
            "12345678901234567890.123456789",
            "12345678901234567890.123456789",
        ),
        (
            r#""12345678901234567890.123456789""#,
            "12345678901234567890.123456789",
        ),
        ("-0.50", "-0.50"),
        (r#""007.10""#, "007.10"),
        ("0", "0"),
        (r#""-3""#, "-3"),
    ] {
        let b = body(&prepared(&ev(&format!(r#""amount":{given}"#))));
        assert!(
            b.contains(&format!(r#""amount":"{stored}""#)),
            "{given}: {b}"
        );
    }
    let b = body(&prepared(&ev(r#""risk_score":0.000"#)));
    assert!(b.contains(r#""risk_score":"0.000""#), "{b}");
    let exponent = one_error(&ev(r#""amount":1e5"#));
    assert_eq!(
        (exponent.loc, exponent.kind),
        (vec![key("amount")], "decimal_parsing")
    );
    assert!(exponent.msg.contains("exponent"), "{}", exponent.msg);
    assert_eq!(
        exponent.ctx,
        Some(json!({"pattern":r"^-?[0-9]+(\.[0-9]+)?$"}))
    );
    for bad in [
        r#""1e5""#, r#""abc""#, r#""1.""#, r#""""#, r#"".5""#, r#""+1""#, r#""1,5""#, r#"" 1""#,
        r#""--1""#,
    ] {
        let e = one_error(&ev(&format!(r#""amount":{bad}"#)));
        assert_eq!(e.kind, "decimal_parsing", "{bad}");
    }
    let e = one_error(&ev(r#""amount":true"#));
    assert_eq!((e.kind, e.input), ("decimal_type", json!(true)));
    let digits = "1".repeat(65);
    let e = one_error(&ev(&format!(r#""amount":{digits}"#)));
    assert_eq!(
        (e.kind, e.ctx),
        ("string_too_long", Some(json!({"max_length":64})))
    );
    prepared(&ev(&format!(r#""amount":{}"#, "1".repeat(64))));
    let e = one_error(&ev(r#""risk_score":"-1.5""#));
    assert_eq!(
        (e.loc, e.kind, e.ctx),
        (
            vec![key("risk_score")],
            "greater_than_equal",
            Some(json!({"ge":0}))
        )
    );
    assert_eq!(e.msg, "Input should be greater than or equal to 0");
    assert_eq!(
        one_error(&ev(r#""risk_score":-2"#)).kind,
        "greater_than_equal"
    );
    let e = one_error(&ev(r#""risk_score":"-0""#));
    assert_eq!(
        (e.kind, e.ctx),
        (
            "decimal_parsing",
            Some(json!({"pattern":r"^[0-9]+(\.[0-9]+)?$"}))
        )
    );
}
