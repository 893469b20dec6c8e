//! RFC 8785 vectors and the canonical writer's edge cases.

use crate::event::jcs::*;
use crate::event::json::{parse, Loc, Value};

fn jcs(text: &str) -> String {
    let value = parse(text.as_bytes()).expect("valid JSON");
    String::from_utf8(to_vec(&value).expect("canonical")).expect("UTF-8")
}

fn number(lit: &str) -> Result<String, NumberError> {
    let mut out = Vec::new();
    write_number(lit, &mut out)?;
    Ok(String::from_utf8(out).expect("ASCII"))
}

#[test]
fn rfc8785_number_vectors() {
    for (lit, want) in [
        ("1e21", "1e+21"),
        ("1E30", "1e+30"),
        ("0.000001", "0.000001"),
        ("1e-7", "1e-7"),
        ("-0", "0"),
        ("-0.0", "0"),
        ("0", "0"),
        ("333333333.33333329", "333333333.3333333"),
        ("4.50", "4.5"),
        ("2e-3", "0.002"),
        ("0.000000000000000000000000001", "1e-27"),
        ("9007199254740991", "9007199254740991"),
        ("-9007199254740991", "-9007199254740991"),
        ("1e23", "1e+23"),
        ("5e-324", "5e-324"),
        ("1.7976931348623157e308", "1.7976931348623157e+308"),
        ("-1.5", "-1.5"),
        ("100", "100"),
        ("1e2", "100"),
        ("0.1", "0.1"),
        ("1e-400", "0"),
    ] {
        assert_eq!(number(lit).as_deref(), Ok(want), "{lit}");
    }
    // RFC 8785 would write these as bare integers beyond ±(2^53 − 1)
    // ("9007199254740992", "123456789012345680000", "295147905179352830000"), which other
    // readers cannot take back exactly (I-JSON, RFC 7493 §2.2): sealog refuses them.
    for lit in [
        "9007199254740992.0",
        "123456789012345680000.0",
        "2.9514790517935283e20",
    ] {
        assert!(
            matches!(number(lit), Err(NumberError::IntegerValued { .. })),
            "{lit}"
        );
    }
    for lit in [
        "9007199254740992",
        "-9007199254740992",
        "18446744073709551616",
        "12345678901234567890",
    ] {
        assert!(
            matches!(number(lit), Err(NumberError::IntegerTooBig { .. })),
            "{lit}"
        );
    }
    for lit in ["1e400", "-1e400", "1.8e308"] {
        assert!(
            matches!(number(lit), Err(NumberError::NotFinite { .. })),
            "{lit}"
        );
    }
    for lit in ["inf", "NaN", ".5", "1.", "+1", "01", "1e", "", "-"] {
        assert!(
            matches!(number(lit), Err(NumberError::NotANumber { .. })),
            "{lit}"
        );
    }
}

#[test]
fn rfc8785_example_object() {
    let input = r#"{"numbers":[333333333.33333329,1E30,4.50,2e-3,0.000000000000000000000000001],"string":"\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/","literals":[null,true,false]}"#;
    let want = r#"{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"string":"€$\u000f\nA'B\"\\\\\"/"}"#;
    assert_eq!(jcs(input), want);
}

#[test]
fn rfc8785_sorting_example() {
    // RFC 8785 §3.2.3: keys sorted by UTF-16 code units.
    let input = r#"{"\u20ac":"Euro Sign","\r":"Carriage Return","\ufb33":"Hebrew Letter Dalet With Dagesh","1":"One","\ud83d\ude00":"Emoji: Grinning Face","\u0080":"Control","\u00f6":"Latin Small Letter O With Diaeresis"}"#;
    let value = parse(input.as_bytes()).expect("valid");
    let Value::Object(members) = value else {
        panic!("object")
    };
    let mut keys: Vec<&str> = members.iter().map(|m| m.0.as_ref()).collect();
    keys.sort_by(|a, b| cmp_utf16(a, b));
    let names: Vec<String> = keys
        .iter()
        .map(|k| format!("{:?}", k.encode_utf16().collect::<Vec<_>>()))
        .collect();
    assert_eq!(
        names,
        [
            "[13]",
            "[49]",
            "[128]",
            "[246]",
            "[8364]",
            "[55357, 56832]",
            "[64307]"
        ],
    );
    let out = jcs(input);
    assert!(
        out.starts_with("{\"\\r\":\"Carriage Return\",\"1\":\"One\""),
        "{out}"
    );
    assert!(
        out.ends_with(
            "\"\u{1f600}\":\"Emoji: Grinning Face\",\"\u{fb33}\":\"Hebrew Letter Dalet With Dagesh\"}"
        ),
        "{out}"
    );
}

#[test]
fn utf16_order_matches_encode_utf16() {
    let samples = [
        "",
        "a",
        "ab",
        "\u{e000}",
        "\u{ffff}",
        "\u{10000}",
        "\u{10ffff}",
        "\u{d7ff}",
        "z\u{1f600}",
        "z\u{ff5e}",
        "é",
        "\u{7f}",
    ];
    for a in samples {
        for b in samples {
            assert_eq!(
                cmp_utf16(a, b),
                a.encode_utf16().cmp(b.encode_utf16()),
                "{a:?} {b:?}"
            );
        }
    }
}

#[test]
fn strings_escape_only_what_rfc8785_says() {
    let mut out = Vec::new();
    write_string(
        "\u{0}\u{1f}\u{8}\t\n\u{c}\r\"\\/\u{7f}\u{2028}\u{2029}é😀",
        &mut out,
    );
    assert_eq!(
        String::from_utf8(out).expect("UTF-8"),
        "\"\\u0000\\u001f\\b\\t\\n\\f\\r\\\"\\\\/\u{7f}\u{2028}\u{2029}é😀\""
    );
}

#[test]
fn errors_carry_their_path() {
    let value = parse(br#"{"a":[1,{"q":9007199254740993}],"b":1e999}"#).expect("valid");
    let err = to_vec(&value).expect_err("too big");
    assert_eq!(
        err.path,
        [Loc::Key("a".into()), Loc::Index(1), Loc::Key("q".into())]
    );
    assert_eq!(err.reason.kind(), "int_too_big");
    let all = number_errors(&value);
    assert_eq!(all.len(), 2);
    assert_eq!(all[1].path, [Loc::Key("b".into())]);
    assert_eq!(all[1].reason.kind(), "finite_number");
}

#[test]
fn hand_built_deep_values_are_refused_not_overflowed() {
    let mut value = Value::Null;
    for _ in 0..100_000 {
        value = Value::Array(vec![value]);
    }
    assert!(matches!(
        to_vec(&value),
        Err(JcsError {
            reason: NumberError::TooDeep { .. },
            ..
        })
    ));
    assert_eq!(number_errors(&value).len(), 1);
    // Dropping a 100k-deep value recurses in Drop; unwrap it iteratively instead.
    while let Value::Array(mut items) = value {
        value = items.pop().unwrap_or(Value::Null);
    }
}

#[test]
fn doubles_that_need_17_digits_keep_them() {
    assert_eq!(
        number("3.7281093414012515e+47").as_deref(),
        Ok("3.7281093414012515e+47")
    );
    assert_eq!(
        number("1.0255213542722057e-292").as_deref(),
        Ok("1.0255213542722057e-292")
    );
}

#[test]
fn doubles_in_events_keep_their_digits() {
    let p = crate::event::prepare_event(
        br#"{"event_type":"0","audit_metadata":{"":[3.7281093414012515e+47]}}"#,
    )
    .expect("valid");
    let mut out = Vec::new();
    let prev = [0u8; 32];
    p.write_body(
        &crate::event::ServerFields {
            created_at_us: 0,
            id: uuid::Uuid::nil(),
            prev_hash: &prev,
            seq: 1,
            tenant: "-",
        },
        &mut out,
    );
    let text = String::from_utf8(out).expect("UTF-8");
    assert!(text.contains("3.7281093414012515e+47"), "{text}");
}

#[test]
fn floats_whose_canonical_form_is_an_unsafe_integer_are_refused() {
    for lit in [
        "1e20",
        "1.5e20",
        "100000000000000000000.0",
        "9007199254740992.0",
        "-2.9514790517935283e20",
    ] {
        let text = format!("{{\"x\":{lit}}}");
        let v = parse(text.as_bytes()).unwrap();
        let errs = number_errors(&v);
        assert_eq!(errs.len(), 1, "{lit}");
        assert_eq!(errs[0].reason.kind(), "int_too_big", "{lit}");
    }
    for lit in [
        "9007199254740991.0",
        "1e21",
        "1.5e21",
        "0.5",
        "-9007199254740991",
        "1e300",
    ] {
        let text = format!("{{\"x\":{lit}}}");
        let v = parse(text.as_bytes()).unwrap();
        assert!(number_errors(&v).is_empty(), "{lit}");
    }
}
