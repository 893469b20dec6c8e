//! Ingest: the strict JSON reader and the event rules on arbitrary bytes.
//!
//! Checks: `json::parse` and `prepare_event` never panic. When an event is accepted,
//! the body `write_body` completes it into (for each set of fixed server fields) is
//! strict JSON, its five server members read back (`server_fields`) exactly as they were
//! put in, and it is a fixed point of RFC 8785: parse, then `jcs::to_vec`, gives the
//! same bytes (what the chain hashes is what anyone recomputing the hash gets).
//! Validating the parsed value (`prepare_value`, the batch path) accepts the same event.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sealog_engine::event::{self, jcs, json, ServerFields};
use sealog_fuzz::fixed_server_fields;

fuzz_target!(|data: &[u8]| {
    let parsed = json::parse(data);
    match event::prepare_event(data) {
        Ok(prepared) => {
            let value = parsed.expect("prepare_event accepted what json::parse refuses");
            let again = event::prepare_value(&value);
            assert_eq!(
                again.as_ref(),
                Ok(&prepared),
                "prepare_value disagrees with prepare_event"
            );
            for server in fixed_server_fields() {
                check_body(&prepared, &server);
            }
        }
        Err(errors) => {
            assert!(!errors.is_empty(), "refused with no error");
            for e in &errors {
                let _ = e.to_json();
            }
        }
    }
});

fn check_body(prepared: &event::PreparedEvent, server: &ServerFields<'_>) {
    let mut body = Vec::new();
    prepared.write_body(server, &mut body);
    assert!(
        body.len() <= prepared.body_len_hint(),
        "body longer than its hint"
    );
    let value = match json::parse(&body) {
        Ok(v) => v,
        Err(e) => panic!(
            "stored body is not strict JSON: {e}: {}",
            String::from_utf8_lossy(&body)
        ),
    };
    let canonical = jcs::to_vec(&value).expect("a stored body must canonicalize");
    assert!(
        canonical == body,
        "stored body is not in RFC 8785 form:\n body: {}\n  jcs: {}",
        String::from_utf8_lossy(&body),
        String::from_utf8_lossy(&canonical)
    );
    let fields = event::server_fields(&body).expect("server fields of a stored body");
    assert_eq!(
        fields.created_at,
        sealog_engine::time::format_rfc3339_us(server.created_at_us)
    );
    assert_eq!(fields.id, server.id.hyphenated().to_string());
    assert_eq!(fields.prev_hash, hex(server.prev_hash));
    assert_eq!(fields.seq, server.seq);
    assert_eq!(fields.tenant_id, server.tenant);
}

fn hex(bytes: &[u8; 32]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
