//! Encoder unit tests on hand-made events (the server's tests run third-party parsers
//! over real exports).

use super::*;
use crate::event::Overlay;

const HASH: [u8; 32] = [0xab; 32];

fn body(extra: &str) -> Vec<u8> {
    // Keys in canonical (sorted) order, as stored bodies have them.
    format!(
        r#"{{"created_at":"2026-11-21T22:39:42.123456Z",{extra}"event_type":"ORDER_PLACED","id":"0193a000-0000-7000-8000-000000000001","prev_hash":"{}","seq":7,"severity":"high","tenant_id":"acme"}}"#,
        "0".repeat(64)
    )
    .into_bytes()
}

fn event<'a>(body: &'a [u8], overlay: Option<&'a Overlay>) -> ExportEvent<'a> {
    ExportEvent {
        body,
        hash: &HASH,
        overlay,
        created_at_us: crate::time::parse_rfc3339_us("2026-11-21T22:39:42.123456Z").unwrap(),
        seq: 7,
        tenant: "acme",
    }
}

fn encode(enc: &mut dyn Encoder, ev: &ExportEvent<'_>) -> String {
    let mut out = Vec::new();
    enc.begin(&mut out);
    enc.record(ev, &mut out).unwrap();
    enc.end(&mut out);
    String::from_utf8(out).unwrap()
}

#[test]
fn csv_quotes_doubles_and_defuses() {
    let b = body(r#""amount":"-12.5","event_description":"=HYPERLINK(\"x\"),y\nz","#);
    let out = encode(&mut CsvEncoder, &event(&b, None));
    let mut lines = out.split("\r\n");
    let header = lines.next().unwrap();
    assert!(header.starts_with("id,tenant_id,seq,created_at,"));
    assert_eq!(header.split(',').count(), Column::ALL.len());
    assert!(out.contains(r#""'=HYPERLINK(""x""),y"#), "{out}");
    assert!(
        out.contains(",-12.5,"),
        "a plain negative number is not defused: {out}"
    );
    assert!(out.ends_with("\r\n"));
}

#[test]
fn cef_escapes_header_and_extension() {
    let b = body(r#""action":"a=b\\c","event_description":"pipe|back\\slash\nline","#);
    let out = encode(&mut CefEncoder, &event(&b, None));
    assert!(out.starts_with("CEF:0|sealog|sealog|"), "{out}");
    assert!(
        out.contains(r"|ORDER_PLACED|pipe\|back\\slash line|8|"),
        "{out}"
    );
    assert!(out.contains(r"act=a\=b\\c "), "{out}");
    assert!(out.contains(r"msg=pipe|back\\slash\nline "), "{out}");
    assert!(out.contains("cn1=7 cn1Label=seq"), "{out}");
    assert_eq!(out.matches('\n').count(), 1);
}

#[test]
fn a_blank_description_does_not_make_a_blank_cef_name() {
    for description in ["", "  ", "\u{85}\u{7f}"] {
        let json = serde_json::to_string(description).unwrap();
        let b = body(&format!(r#""event_description":{json},"#));
        let out = encode(&mut CefEncoder, &event(&b, None));
        assert!(
            out.starts_with("CEF:0|sealog|sealog|")
                && out.contains("|ORDER_PLACED|ORDER_PLACED|8|"),
            "{description:?}: {out}"
        );
    }
}

#[test]
fn cef_cuts_long_values_at_a_character() {
    let long = "é".repeat(5000);
    let b = body(&format!(r#""event_description":"{long}","#));
    let out = encode(&mut CefEncoder, &event(&b, None));
    let msg = out
        .split(" msg=")
        .nth(1)
        .unwrap()
        .split(" suser=")
        .next()
        .unwrap();
    let msg = msg.split(' ').next().unwrap();
    assert_eq!(msg.chars().count(), 1023);
    assert!(msg.ends_with(CUT_MARK));
}

#[test]
fn leef_neutralises_delimiters_and_breaks() {
    let b = body(r#""event_description":"tab\there^caret\r\nnext","#);
    for (version, d) in [(LeefVersion::V1, '\t'), (LeefVersion::V2, '^')] {
        let out = encode(&mut LeefEncoder { version }, &event(&b, None));
        let line = out.strip_suffix('\n').unwrap();
        assert!(!line.contains('\n') && !line.contains('\r'));
        let attrs = line
            .splitn(if d == '^' { 7 } else { 6 }, '|')
            .last()
            .unwrap();
        let msg = attrs.split(d).find(|a| a.starts_with("msg=")).unwrap();
        assert!(msg.starts_with("msg=tab"), "{msg:?}");
        assert!(attrs.split(d).all(|a| a.contains('=')), "{attrs:?}");
        assert!(
            attrs.contains("devTime=2026-11-21T22:39:42.123Z"),
            "{attrs}"
        );
        assert!(attrs.contains("sev=8"));
    }
}

#[test]
fn syslog_message_shape_and_truncation() {
    let b = body(r#""event_description":"x]\"y","#);
    let mut enc = SyslogEncoder::new(SyslogOptions {
        hostname: "host one".into(),
        ..SyslogOptions::default()
    });
    let out = encode(&mut enc, &event(&b, None));
    // facility 13 * 8 + severity 3 (high)
    assert!(
        out.starts_with("<107>1 2026-11-21T22:39:42.123456Z host_one sealog - ORDER_PLACED [sealog@32473 id=\"0193a000-0000-7000-8000-000000000001\" tenant=\"acme\" seq=\"7\" hash=\""),
        "{out}"
    );
    assert!(out.contains("\"] \u{feff}{"), "{out}");
    let long = "😀".repeat(4000);
    let b = body(&format!(r#""event_description":"{long}","#));
    let mut enc = SyslogEncoder::new(SyslogOptions {
        framing: SyslogFraming::Octet,
        ..SyslogOptions::default()
    });
    let out = encode(&mut enc, &event(&b, None));
    let (len, msg) = out.split_once(' ').unwrap();
    assert_eq!(len.parse::<usize>().unwrap(), msg.len());
    assert!(msg.len() <= SYSLOG_MESSAGE_BYTES_DEFAULT);
    assert!(msg.contains(" truncated=\""), "{}", &msg[..300]);
}

#[test]
fn cef_and_leef_make_every_control_character_a_space() {
    // DEL and C1 (U+0080..U+009F) as JSON leaves them raw, in a header field (the CEF
    // name), extension values and attributes; NEL (U+0085) next to NBSP (U+00A0), which
    // is not a control character and stays.
    let b = body("\"event_description\":\"A\u{85}B\u{9b}C\u{7f}D\u{80}E\u{a0}F\",\"user_name\":\"x\u{9f}y\",");
    let records = [
        encode(&mut CefEncoder, &event(&b, None)),
        encode(
            &mut LeefEncoder {
                version: LeefVersion::V1,
            },
            &event(&b, None),
        ),
        encode(
            &mut LeefEncoder {
                version: LeefVersion::V2,
            },
            &event(&b, None),
        ),
        encode(
            &mut SyslogEncoder::new(SyslogOptions {
                payload: SyslogPayload::Cef,
                ..SyslogOptions::default()
            }),
            &event(&b, None),
        ),
    ];
    for out in records {
        let line = out.strip_suffix('\n').unwrap();
        assert!(
            !line.chars().any(|c| c.is_control() && c != '\t'),
            "{line:?}"
        );
        assert!(line.contains("A B C D E\u{a0}F"), "{line:?}");
        assert!(line.contains("x y"), "{line:?}");
    }
}

#[test]
fn syslog_json_payload_has_no_raw_controls() {
    let b = body("\"event_description\":\"del\u{7f} c1\u{85}\",");
    let out = encode(
        &mut SyslogEncoder::new(SyslogOptions::default()),
        &event(&b, None),
    );
    assert!(out.contains(r"del\u007f c1\u0085"), "{out}");
    let body_part = out.strip_suffix('\n').unwrap();
    assert!(!body_part.chars().any(char::is_control), "{out:?}");
}

#[test]
fn json_and_ndjson_are_the_returned_objects() {
    let b = body("");
    let overlay = Overlay {
        resolved_at_us: 1_795_214_382_123_456,
        resolved_by: "ops".into(),
        resolution_notes: None,
    };
    let ev = event(&b, Some(&overlay));
    let mut expected = Vec::new();
    ev.write_returned(&mut expected).unwrap();
    let nd = encode(&mut NdjsonEncoder, &ev);
    assert_eq!(nd.as_bytes(), [expected.as_slice(), b"\n"].concat());
    let mut arr = JsonArrayEncoder;
    let mut out = Vec::new();
    arr.begin(&mut out);
    arr.record(&ev, &mut out).unwrap();
    out.extend_from_slice(arr.separator());
    arr.record(&ev, &mut out).unwrap();
    arr.end(&mut out);
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(v.as_array().unwrap().len(), 2);
    assert_eq!(v[0]["is_resolved"], true);
}

#[test]
fn cut_helpers_respect_characters() {
    assert_eq!(cut_chars("abc", 3), "abc");
    assert_eq!(cut_chars("abcd", 3), "ab…");
    assert_eq!(cut_bytes_at_char("aé".as_bytes(), 2), b"a");
    assert!(text::is_plain_number("-1.5") && !text::is_plain_number("-1e5"));
}

#[test]
fn members_until_files_what_members_of_does_up_to_its_column() {
    let b = body(r#""action":"x\"y","event_description":"d","#);
    let ev = event(&b, None);
    let all = Members::of(&ev).unwrap();
    let early = Members::until(&ev, Column::Severity).unwrap();
    for col in Column::ALL {
        if col.name() <= "severity" {
            assert_eq!(early.text(col), all.text(col), "{col:?}");
        } else {
            assert_eq!(early.raw(col), None, "{col:?} is after severity");
        }
    }
    assert_eq!(early.text(Column::Action).as_deref(), Some("x\"y"));
    assert_eq!(all.text(Column::TenantId).as_deref(), Some("acme"));
    // A member sealog does not know is refused by both, when it is scanned.
    let odd = body(r#""a_unknown":1,"#);
    assert!(Members::until(&event(&odd, None), Column::Severity).is_err());
}
