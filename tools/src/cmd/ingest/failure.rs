//! What the server said about a batch it refused, as messages that name file lines.
//!
//! A 422 lists problems as FastAPI does, `{"detail":[{"loc":["body",3,"ip_address"],
//! "msg":…,"type":…},…]}`, where the index after `body` counts events within the batch
//! (0-based); it becomes the event's line in the file. Any other refusal is reported
//! for the batch as a whole, with its line range.

use hyper::StatusCode;
use serde_json::Value;

/// Longest slice of a non-JSON error body quoted in a message.
const QUOTE_CHARS_MAX: usize = 300;

/// One message per problem the server named, given the file line of each event in the
/// batch (`lines`, in body order, never empty).
pub fn describe(status: StatusCode, body: &[u8], lines: &[u64]) -> Vec<String> {
    let range = match (lines.first(), lines.last()) {
        (Some(a), Some(b)) if a != b => format!("lines {a}–{b}"),
        (Some(a), _) => format!("line {a}"),
        _ => "empty batch".to_owned(),
    };
    let json: Option<Value> = serde_json::from_slice(body).ok();
    match json.as_ref().and_then(|j| j.get("detail")) {
        Some(Value::Array(items)) if !items.is_empty() => items
            .iter()
            .map(|item| describe_item(item, lines, &range))
            .collect(),
        Some(Value::String(detail)) => vec![format!("{range}: HTTP {status}: {detail}")],
        _ => vec![format!("{range}: HTTP {status}: {}", quote(body))],
    }
}

/// One validation problem: `line 17: ip_address: not a valid IP address`.
fn describe_item(item: &Value, lines: &[u64], range: &str) -> String {
    let msg = item.get("msg").and_then(Value::as_str).unwrap_or("invalid");
    let loc: &[Value] = item
        .get("loc")
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice);
    match loc {
        [Value::String(body), Value::Number(n), field @ ..] if body == "body" => {
            let line = n
                .as_u64()
                .and_then(|i| lines.get(usize::try_from(i).ok()?))
                .map_or_else(
                    || format!("{range} (batch item {n})"),
                    |l| format!("line {l}"),
                );
            if field.is_empty() {
                format!("{line}: {msg}")
            } else {
                format!("{line}: {}: {msg}", path(field))
            }
        }
        [] => format!("{range}: {msg}"),
        _ => format!("{range}: {}: {msg}", path(loc)),
    }
}

/// `new_values.items[2]` from `["new_values","items",2]`.
fn path(loc: &[Value]) -> String {
    let mut out = String::new();
    for part in loc {
        match part {
            Value::Number(n) => out.push_str(&format!("[{n}]")),
            Value::String(s) => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(s);
            }
            other => out.push_str(&other.to_string()),
        }
    }
    out
}

fn quote(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    match text.char_indices().nth(QUOTE_CHARS_MAX) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None if text.is_empty() => "(empty body)".to_owned(),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LINES: &[u64] = &[3, 4, 7, 9];

    #[test]
    fn batch_index_becomes_file_line() {
        let body = br#"{"detail":[
            {"loc":["body",2,"ip_address"],"msg":"not a valid IP address","type":"value_error","input":"x"},
            {"loc":["body",0,"new_values","items",1],"msg":"too big","type":"x","input":1},
            {"loc":["body",3],"msg":"Invalid JSON","type":"json_invalid","input":"{"}]}"#;
        assert_eq!(
            describe(StatusCode::UNPROCESSABLE_ENTITY, body, LINES),
            [
                "line 7: ip_address: not a valid IP address",
                "line 3: new_values.items[1]: too big",
                "line 9: Invalid JSON",
            ]
        );
    }

    #[test]
    fn other_locations_name_the_batch() {
        let body = br#"{"detail":[{"loc":["body",17,"x"],"msg":"m","type":"t","input":0},
            {"loc":["body"],"msg":"more than 10000 events","type":"too_long","input":null},
            {"loc":["header","X-Tenant-Id"],"msg":"bad tenant","type":"t","input":"?"}]}"#;
        assert_eq!(
            describe(StatusCode::UNPROCESSABLE_ENTITY, body, LINES),
            [
                "lines 3–9 (batch item 17): x: m",
                "lines 3–9: body: more than 10000 events",
                "lines 3–9: header.X-Tenant-Id: bad tenant",
            ]
        );
    }

    #[test]
    fn plain_details_and_non_json_bodies() {
        let got = describe(
            StatusCode::PAYLOAD_TOO_LARGE,
            br#"{"detail":"body over 33554432 bytes"}"#,
            &[5],
        );
        assert_eq!(
            got,
            ["line 5: HTTP 413 Payload Too Large: body over 33554432 bytes"]
        );
        let long = "e".repeat(1000);
        let got = describe(StatusCode::BAD_GATEWAY, long.as_bytes(), LINES);
        assert_eq!(got.len(), 1);
        assert!(got[0].starts_with("lines 3–9: HTTP 502 Bad Gateway: eee"));
        assert!(got[0].ends_with('…') && got[0].len() < 400);
        let got = describe(StatusCode::INTERNAL_SERVER_ERROR, b"", LINES);
        assert_eq!(
            got,
            ["lines 3–9: HTTP 500 Internal Server Error: (empty body)"]
        );
    }
}
