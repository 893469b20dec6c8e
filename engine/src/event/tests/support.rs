//! Helpers shared by the validation tests.

use crate::event::json::Loc;
use crate::event::{prepare_event, FieldError, PreparedEvent, ServerFields};

/// An event from `gen_events.py --seed 7` (server fields omitted).
pub(super) const SAMPLE: &str = r#"{"event_type":"position.updated","severity":"low","user_id":"5f7d17e0-7d63-4d97-af38-e26cfb00d53b","session_id":"sess_1818e811892f902b","table_name":"positions","record_id":"e8e25d94-0ed9-4475-9531-985d5d9dc9f8","old_values":{"qty":5.1614,"avg_price":174.05,"unrealized_pnl":-75.48},"new_values":{"qty":6.8484,"avg_price":170.12,"unrealized_pnl":-276.76},"changed_fields":["qty","avg_price","unrealized_pnl"],"ip_address":"203.0.113.165","user_agent":"trading-sdk-python/2.3.1 python-requests/2.31.0","request_id":"req_4a23d5962217bead","endpoint":"/api/v1/positions/{position_id}","http_method":"PUT","symbol":"XRB","amount":898.34,"currency":"USD","exchange":"NASDAQ","compliance_status":"approved","risk_score":23.95,"audit_metadata":{"source":"system","client_version":"web-4.13.0","region":"ap-southeast-1","latency_ms":11.4}}"#;
/// Its canonical body with [`server`]'s fields, computed independently (Python's
/// `json.dumps(sort_keys=True, separators=(",", ":"), ensure_ascii=False)`).
pub(super) const SAMPLE_BODY: &str = r#"{"amount":"898.34","audit_metadata":{"client_version":"web-4.13.0","latency_ms":11.4,"region":"ap-southeast-1","source":"system"},"changed_fields":["qty","avg_price","unrealized_pnl"],"compliance_status":"approved","created_at":"2026-11-21T22:39:42.123456Z","currency":"USD","endpoint":"/api/v1/positions/{position_id}","event_type":"position.updated","exchange":"NASDAQ","http_method":"PUT","id":"01930000-0000-7000-8000-000000000000","ip_address":"203.0.113.165","new_values":{"avg_price":170.12,"qty":6.8484,"unrealized_pnl":-276.76},"old_values":{"avg_price":174.05,"qty":5.1614,"unrealized_pnl":-75.48},"prev_hash":"0707070707070707070707070707070707070707070707070707070707070707","record_id":"e8e25d94-0ed9-4475-9531-985d5d9dc9f8","request_id":"req_4a23d5962217bead","risk_score":"23.95","seq":42,"session_id":"sess_1818e811892f902b","severity":"low","symbol":"XRB","table_name":"positions","tenant_id":"tenant_03","user_agent":"trading-sdk-python/2.3.1 python-requests/2.31.0","user_id":"5f7d17e0-7d63-4d97-af38-e26cfb00d53b"}"#;

pub(super) const PREV: [u8; 32] = [7; 32];

pub(super) fn server() -> ServerFields<'static> {
    ServerFields {
        created_at_us: 1_795_300_782_123_456,
        id: uuid::Uuid::from_u128(0x0193_0000_0000_7000_8000_0000_0000_0000),
        prev_hash: &PREV,
        seq: 42,
        tenant: "tenant_03",
    }
}

pub(super) fn body(p: &PreparedEvent) -> String {
    let mut out = b"prefix".to_vec();
    p.write_body(&server(), &mut out);
    assert!(out.len() - 6 <= p.body_len_hint());
    String::from_utf8(out[6..].to_vec()).expect("UTF-8")
}

pub(super) fn prepared(input: &str) -> PreparedEvent {
    match prepare_event(input.as_bytes()) {
        Ok(p) => p,
        Err(e) => panic!("{input}: {e:#?}"),
    }
}

/// The body as a serde value, for checking single members.
pub(super) fn members(input: &str) -> serde_json::Value {
    serde_json::from_str(&body(&prepared(input))).expect("JSON")
}

pub(super) fn errors(input: &str) -> Vec<FieldError> {
    prepare_event(input.as_bytes()).expect_err("must be refused")
}

pub(super) fn one_error(input: &str) -> FieldError {
    let mut errs = errors(input);
    assert_eq!(errs.len(), 1, "{input}: {errs:#?}");
    errs.remove(0)
}

pub(super) fn key(k: &str) -> Loc {
    Loc::Key(k.to_string())
}

/// `{"event_type":"t", <extra>}`
pub(super) fn ev(extra: &str) -> String {
    if extra.is_empty() {
        r#"{"event_type":"t"}"#.to_string()
    } else {
        format!(r#"{{"event_type":"t",{extra}}}"#)
    }
}
