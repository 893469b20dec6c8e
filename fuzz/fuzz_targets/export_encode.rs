//! Exports: every encoder on every event the ingest rules accept.
//!
//! Checks: no encoder panics or refuses a stored body. Each record is whole and one
//! record only: NDJSON, CEF, LEEF and LF-framed syslog write exactly one line ending in
//! LF and no other line break; an octet-counted syslog frame's length is its message's
//! length; a CSV row ends in CRLF; syslog never exceeds its message limit and has no
//! raw control character in its message. NDJSON is the returned object (GET's bytes).
#![no_main]

use libfuzzer_sys::fuzz_target;
use sealog_engine::event::{self, Overlay};
use sealog_engine::export::{
    CefEncoder, CsvEncoder, Encoder, ExportEvent, LeefEncoder, LeefVersion, NdjsonEncoder,
    SyslogEncoder, SyslogFraming, SyslogOptions, SyslogPayload, SYSLOG_MESSAGE_BYTES_MIN,
};
use sealog_fuzz::fixed_server_fields;

fuzz_target!(|data: &[u8]| {
    let Ok(prepared) = event::prepare_event(data) else {
        return;
    };
    let overlay = Overlay {
        resolved_at_us: 1,
        resolved_by: String::from_utf8_lossy(data).chars().take(64).collect(),
        resolution_notes: Some("a|b=c\\d]\n".into()),
    };
    for server in fixed_server_fields() {
        let mut body = Vec::new();
        prepared.write_body(&server, &mut body);
        for overlay in [None, Some(&overlay)] {
            let ev = ExportEvent {
                body: &body,
                hash: &[7; 32],
                overlay,
                created_at_us: server.created_at_us,
                seq: server.seq,
                tenant: server.tenant,
            };
            check(&ev);
        }
    }
});

fn one_line(name: &str, out: &[u8]) {
    assert_eq!(out.last(), Some(&b'\n'), "{name}: no final LF");
    let breaks = out.iter().filter(|b| **b == b'\n' || **b == b'\r').count();
    assert_eq!(breaks, 1, "{name}: {}", String::from_utf8_lossy(out));
}

fn check(ev: &ExportEvent<'_>) {
    let mut returned = Vec::new();
    ev.write_returned(&mut returned).expect("returned form");
    let run = |enc: &mut dyn Encoder| {
        let mut out = Vec::new();
        enc.record(ev, &mut out).expect("encoder refused a stored body");
        assert!(std::str::from_utf8(&out).is_ok(), "not UTF-8");
        out
    };
    let nd = run(&mut NdjsonEncoder);
    assert_eq!(&nd[..nd.len() - 1], returned.as_slice());
    one_line("ndjson", &nd);
    one_line("cef", &run(&mut CefEncoder));
    for version in [LeefVersion::V1, LeefVersion::V2] {
        one_line("leef", &run(&mut LeefEncoder { version }));
    }
    assert!(run(&mut CsvEncoder).ends_with(b"\r\n"));
    for payload in [SyslogPayload::Json, SyslogPayload::Cef, SyslogPayload::Leef] {
        let options = SyslogOptions {
            payload,
            message_bytes_max: SYSLOG_MESSAGE_BYTES_MIN + 600,
            ..SyslogOptions::default()
        };
        let lf = run(&mut SyslogEncoder::new(options.clone()));
        one_line("syslog", &lf);
        let msg = std::str::from_utf8(&lf[..lf.len() - 1]).expect("UTF-8");
        assert!(msg.len() <= options.message_bytes_max, "over the limit");
        assert!(!msg.chars().any(char::is_control), "raw control: {msg:?}");
        let octet = run(&mut SyslogEncoder::new(SyslogOptions {
            framing: SyslogFraming::Octet,
            ..options
        }));
        let text = std::str::from_utf8(&octet).expect("UTF-8");
        let (len, rest) = text.split_once(' ').expect("LEN SP");
        assert_eq!(len.parse::<usize>().ok(), Some(rest.len()));
    }
}
