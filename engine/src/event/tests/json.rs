//! The strict reader: RFC 8259 grammar, I-JSON keys, depth, hostile inputs.

use std::borrow::Cow;
use std::time::{Duration, Instant};

use crate::event::json::{parse, parse_with_depth_max, JsonErrorReason, Value};
use crate::limits::JSON_DEPTH_MAX;

fn reason(input: &[u8]) -> JsonErrorReason {
    parse(input).expect_err("must be refused").reason
}

#[test]
fn parses_every_kind_of_value() {
    let v =
        parse(br#" {"a" : [1, -0.5e+3, true, false, null, "x\u00e9\ud83d\ude00\n"], "b": {}} "#)
            .expect("valid");
    let Value::Object(members) = v else {
        panic!("object")
    };
    assert_eq!(members[0].0, "a");
    assert_eq!(
        members[0].1,
        Value::Array(vec![
            Value::Number("1"),
            Value::Number("-0.5e+3"),
            Value::Bool(true),
            Value::Bool(false),
            Value::Null,
            Value::String(Cow::Owned("xé😀\n".to_string())),
        ])
    );
    assert_eq!(members[1], (Cow::Borrowed("b"), Value::Object(Vec::new())));
    assert_eq!(parse(b"[]"), Ok(Value::Array(Vec::new())));
    assert_eq!(parse(b"\t\r\n 0 "), Ok(Value::Number("0")));
}

#[test]
fn strings_without_escapes_are_borrowed() {
    let input = br#"{"key":"plain value","k2":"esc\"aped"}"#;
    let Ok(Value::Object(members)) = parse(input) else {
        panic!("object")
    };
    assert!(matches!(members[0].0, Cow::Borrowed(_)));
    assert!(matches!(
        members[0].1,
        Value::String(Cow::Borrowed("plain value"))
    ));
    assert_eq!(members[1].1, Value::String(Cow::Owned("esc\"aped".into())));
}

#[test]
fn every_escape_decodes() {
    let v = parse(br#""\" \\ \/ \b \f \n \r \t \u0041 \u00FF \uD834\uDD1E""#).expect("valid");
    assert_eq!(
        v,
        Value::String(Cow::Owned("\" \\ / \u{8} \u{c} \n \r \t A ÿ 𝄞".into()))
    );
}

#[test]
fn numbers_follow_the_rfc_grammar() {
    for ok in [
        "0",
        "-0",
        "1",
        "-1",
        "10",
        "1.5",
        "0.5",
        "1e5",
        "1E+5",
        "1e-5",
        "-0.0e0",
        "123456789012345678901234567890",
    ] {
        assert_eq!(parse(ok.as_bytes()), Ok(Value::Number(ok)), "{ok}");
    }
    assert_eq!(reason(b"01"), JsonErrorReason::LeadingZero);
    assert_eq!(reason(b"-01"), JsonErrorReason::LeadingZero);
    for bad in [
        "+1",
        ".5",
        "1.",
        "1.e5",
        "1e",
        "1e+",
        "-",
        "--1",
        "0x10",
        "NaN",
        "Infinity",
        "-Infinity",
        "1_000",
    ] {
        assert!(parse(bad.as_bytes()).is_err(), "{bad}");
    }
}

#[test]
fn refuses_what_rfc8259_forbids() {
    for bad in [
        &b""[..],
        b" ",
        b"{",
        b"[1,]",
        b"{\"a\":1,}",
        b"{\"a\" 1}",
        b"{a:1}",
        b"{'a':1}",
        b"[1 2]",
        b"// c\n1",
        b"/* c */ 1",
        b"tru",
        b"nul",
        b"True",
        b"\"abc",
        b"\"\\x\"",
        b"\"\\u12\"",
        b"\"\\u12G4\"",
        b"\xef\xbb\xbf{}",
        b"\x0c1",
        b"\xc2\xa01",
    ] {
        assert!(parse(bad).is_err(), "{:?}", String::from_utf8_lossy(bad));
    }
}

#[test]
fn trailing_data_is_refused() {
    assert_eq!(reason(b"{} x"), JsonErrorReason::Trailing);
    assert_eq!(reason(b"{}{}"), JsonErrorReason::Trailing);
    assert_eq!(reason(b"1 2"), JsonErrorReason::Trailing);
    assert_eq!(reason(b"{}\0"), JsonErrorReason::Trailing);
}

#[test]
fn raw_control_characters_in_strings_are_refused() {
    assert_eq!(
        reason(b"\"a\tb\""),
        JsonErrorReason::ControlCharacter { byte: 9 }
    );
    assert_eq!(
        reason(b"\"a\\nb\x01\""),
        JsonErrorReason::ControlCharacter { byte: 1 }
    );
    assert_eq!(
        reason(b"{\"k\x1f\":1}"),
        JsonErrorReason::ControlCharacter { byte: 0x1f }
    );
    // DEL and U+0080.. are fine.
    assert!(parse("\"\u{7f}\u{80}\"".as_bytes()).is_ok());
}

#[test]
fn invalid_utf8_anywhere_is_refused() {
    for bad in [
        &b"\"\xff\""[..],
        b"\"\xc3\"",
        b"\"\xed\xa0\x80\"",
        b"{\"a\":1}\xff",
        b"\xf8\x88\x80\x80\x80",
    ] {
        let err = parse(bad).expect_err("invalid UTF-8");
        assert_eq!(err.reason, JsonErrorReason::Utf8, "{bad:?}");
    }
    let err = parse(b"{\"ab\":\"\xff\"}").expect_err("invalid");
    assert_eq!((err.offset, err.line, err.column), (7, 1, 8));
}

#[test]
fn lone_surrogates_are_refused() {
    assert_eq!(
        reason(br#""\ud800""#),
        JsonErrorReason::LoneSurrogate { code: 0xd800 }
    );
    assert_eq!(
        reason(br#""\udc00""#),
        JsonErrorReason::LoneSurrogate { code: 0xdc00 }
    );
    assert_eq!(
        reason(br#""\ud800\u0041""#),
        JsonErrorReason::LoneSurrogate { code: 0xd800 }
    );
    assert_eq!(
        reason(br#""\ud800\ud800""#),
        JsonErrorReason::LoneSurrogate { code: 0xd800 }
    );
    assert_eq!(
        reason(br#""\udbff""#),
        JsonErrorReason::LoneSurrogate { code: 0xdbff }
    );
    assert_eq!(
        reason(br#"{"\udfff":1}"#),
        JsonErrorReason::LoneSurrogate { code: 0xdfff }
    );
    assert!(parse(br#""\udbff\udfff""#).is_ok());
}

#[test]
fn duplicate_keys_are_refused_at_any_size() {
    for n in [2usize, 8, 9, 40, 64, 65, 300] {
        let mut text = String::from("{");
        for i in 0..n {
            text.push_str(&format!("\"k{i}\":{i},"));
        }
        text.push_str("\"k1\":0}");
        let err = parse(text.as_bytes()).expect_err("duplicate");
        assert_eq!(
            err.reason,
            JsonErrorReason::DuplicateKey { key: "k1".into() },
            "{n}"
        );
        assert_eq!(err.offset, text.len() - 7, "{n}: points at the second key");
    }
    // Escapes are decoded before comparing.
    let err = parse(br#"{"a":1,"\u0061":2}"#).expect_err("duplicate");
    assert_eq!(
        err.reason,
        JsonErrorReason::DuplicateKey { key: "a".into() }
    );
    assert!(parse(br#"{"a":{"a":1},"b":[{"a":1},{"a":2}]}"#).is_ok());
}

#[test]
fn errors_say_where_and_what() {
    let err = parse(b"{\"amount\": 12 \"x\"}").expect_err("missing comma");
    assert_eq!(
        err.to_string(),
        "expected ',' or '}' after object member at line 1 column 15"
    );
    assert_eq!(err.kind(), "json_invalid");
    let err = parse("{\n  \"é\": [1,\n  2,,]}".as_bytes()).expect_err("bad");
    assert_eq!((err.line, err.column), (3, 5));
    assert_eq!(err.to_string(), "expected a JSON value at line 3 column 5");
    let err = parse(b"[1,").expect_err("eof");
    assert_eq!(
        err.to_string(),
        "unexpected end of input: expected a JSON value at line 1 column 4"
    );
}

#[test]
fn depth_is_limited_and_deep_input_fails_fast() {
    let ok = format!(
        "{}{}",
        "[".repeat(JSON_DEPTH_MAX),
        "]".repeat(JSON_DEPTH_MAX)
    );
    assert!(parse(ok.as_bytes()).is_ok());
    let too_deep = format!(
        "{}{}",
        "[".repeat(JSON_DEPTH_MAX + 1),
        "]".repeat(JSON_DEPTH_MAX + 1)
    );
    assert_eq!(
        reason(too_deep.as_bytes()),
        JsonErrorReason::TooDeep {
            max: JSON_DEPTH_MAX
        }
    );
    assert!(parse_with_depth_max(too_deep.as_bytes(), JSON_DEPTH_MAX + 1).is_ok());
    let objects = format!(
        "{}1{}",
        "{\"a\":".repeat(JSON_DEPTH_MAX + 1),
        "}".repeat(JSON_DEPTH_MAX + 1)
    );
    assert_eq!(
        reason(objects.as_bytes()),
        JsonErrorReason::TooDeep {
            max: JSON_DEPTH_MAX
        }
    );

    let start = Instant::now();
    let hostile = "[".repeat(100_000);
    assert_eq!(
        reason(hostile.as_bytes()),
        JsonErrorReason::TooDeep {
            max: JSON_DEPTH_MAX
        }
    );
    let hostile = "{\"a\":".repeat(100_000);
    assert_eq!(
        reason(hostile.as_bytes()),
        JsonErrorReason::TooDeep {
            max: JSON_DEPTH_MAX
        }
    );
    // Even an unlimited depth cannot overflow the stack: the reader is iterative.
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let value = parse_with_depth_max(deep.as_bytes(), usize::MAX).expect("valid");
    unnest(value);
    assert!(start.elapsed() < Duration::from_secs(2));
}

/// Drops a deeply nested array without recursing.
fn unnest(mut value: Value<'_>) {
    while let Value::Array(mut items) = value {
        value = items.pop().unwrap_or(Value::Null);
    }
}

#[test]
fn huge_inputs_are_handled() {
    let big = format!("\"{}\"", "x".repeat(1 << 20));
    let Ok(Value::String(s)) = parse(big.as_bytes()) else {
        panic!("string")
    };
    assert_eq!(s.len(), 1 << 20);
    let escaped = format!("\"{}\"", "\\u00e9".repeat(1 << 17));
    let Ok(Value::String(s)) = parse(escaped.as_bytes()) else {
        panic!("string")
    };
    assert_eq!(s.chars().count(), 1 << 17);
    let num = "9".repeat(100_000);
    assert_eq!(parse(num.as_bytes()), Ok(Value::Number(&num)));
    let wide = format!("[{}1]", "1,".repeat(200_000));
    let Ok(Value::Array(items)) = parse(wide.as_bytes()) else {
        panic!("array")
    };
    assert_eq!(items.len(), 200_001);
}

#[test]
fn to_serde_keeps_what_it_can() {
    let v = parse(br#"{"i":-5,"u":18446744073709551615,"big":18446744073709551616,"f":1.5,"inf":1e400,"s":"x"}"#)
        .expect("valid");
    assert_eq!(
        v.to_serde(),
        serde_json::json!({"i":-5,"u":18446744073709551615u64,"big":"18446744073709551616","f":1.5,"inf":"1e400","s":"x"})
    );
}
