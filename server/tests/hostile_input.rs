//! Hostile input never hurts sealogd: malformed and oversized JSON, out-of-range values,
//! abusive query strings and headers, broken HTTP framing and slow clients each get a
//! clear 4xx (FastAPI's 422 shape where it applies) or a closed connection, and
//! afterwards the server is still up, with every acknowledged event readable and its
//! chain intact.
//!
//! All parts run at once against one server, so the slow clients hang while the rest of
//! the barrage is served. A case that goes wrong is recorded rather than panicked on, so
//! one run names every failing case; the test fails at the end with the whole list.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeSet;
use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use common::{parse_response, read_chain, try_request, Resp, Server, ADMIN};
use sealog_engine::limits::{DECIMAL_CHARS_MAX, JSON_DEPTH_MAX};
use sealog_engine::search::{Cursor, Filter, Order};
use sealog_engine::{Lsn, Seq, TenantId};
use serde_json::{json, Value};

const MIB: usize = 1024 * 1024;
/// A slow client must be cut off before this. HEADER_READ_TIMEOUT (server/src/limits.rs)
/// is 10 s; the margin keeps this from being a timing test.
const SLOW_CLIENT_CUTOFF: Duration = Duration::from_secs(30);
/// server/src/limits.rs VALIDATION_ITEMS_MAX: 422 items in one response.
const VALIDATION_ITEMS_MAX: usize = 1_000;

/// One part of the barrage, run on its own thread.
type Part = (&'static str, fn(&Ctx));

#[test]
fn hostile_input_gets_a_clear_4xx_and_the_server_keeps_serving() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = Server::start_in(dir.path(), &[]);
    let started = Instant::now();
    let c = Ctx::new(&server);
    #[rustfmt::skip]
    let parts: [Part; 16] = [
        ("slow_loris_header_trickle", slow_loris_header_trickle),
        ("slow_clients_that_stall", slow_clients_that_stall),
        ("stalled_body", stalled_body),
        ("malformed_json", malformed_json),
        ("wrong_types", wrong_types),
        ("huge_numbers", huge_numbers),
        ("deep_nesting", deep_nesting),
        ("bad_unicode", bad_unicode),
        ("oversized_bodies", oversized_bodies),
        ("unknown_and_server_fields", unknown_and_server_fields),
        ("string_limits_in_characters", string_limits_in_characters),
        ("bad_formats", bad_formats),
        ("query_string_abuse", query_string_abuse),
        ("cursor_abuse", cursor_abuse),
        ("header_abuse", header_abuse),
        ("protocol_abuse", protocol_abuse),
    ];
    std::thread::scope(|sc| {
        let running: Vec<_> = parts
            .iter()
            .map(|(name, part)| (*name, sc.spawn(|| part(&c))))
            .collect();
        for (name, handle) in running {
            if let Err(panic) = handle.join() {
                let msg = panic
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_default();
                c.fail(name, format!("the test part panicked: {msg}"));
            }
        }
    });
    eprintln!("barrage: {:.1} s", started.elapsed().as_secs_f64());

    // (a) The server is alive and healthy.
    let alive = server.child.as_mut().unwrap().try_wait().unwrap().is_none();
    assert!(alive, "sealogd died:\n{}", server.log_text());
    let health = server.req("GET", "/healthz", &[], b"");
    assert_eq!(health.status, 200, "{}", health.text());
    // (b) Every acknowledged event is readable, and the chain is intact (read_chain).
    let chain = read_chain(&server, ADMIN, None);
    let stored: BTreeSet<String> = chain
        .iter()
        .map(|e| e["id"].as_str().unwrap().to_owned())
        .collect();
    let acked = c.acked.lock().unwrap().clone();
    let mut failures = c.failures.lock().unwrap().clone();
    if stored != acked {
        failures.push(format!(
            "chain: {} stored, {} acknowledged; missing: {:?}; never acknowledged: {:?}",
            stored.len(),
            acked.len(),
            acked.difference(&stored).collect::<Vec<_>>(),
            stored.difference(&acked).collect::<Vec<_>>(),
        ));
    }
    // The harness keeps sealogd's stderr (panics); 5xx answers were caught as they came.
    for line in server.log_text().lines() {
        if line.contains("panicked") {
            failures.push(format!("server log: {}", cut(line, 300)));
        }
    }
    eprintln!(
        "{} events acknowledged and read back; {:.1} s in all",
        acked.len(),
        started.elapsed().as_secs_f64()
    );
    assert!(
        failures.is_empty(),
        "{} hostile-input check(s) failed:\n  - {}",
        failures.len(),
        failures.join("\n  - ")
    );
}

// ---------------------------------------------------------------------------------------
// The shared context: sends, checks, and records what went wrong.
// ---------------------------------------------------------------------------------------

/// One expected 422 item: its `loc` as a path (`"body/tags/1"`; a `*` segment matches
/// anything) and its `type` (`"*"`: any type).
type Want<'a> = (&'a str, &'a str);

/// `"body/tags/1"` → `["body","tags",1]`.
fn at(path: &str) -> Value {
    path.split('/')
        .map(|seg| seg.parse::<u64>().map_or_else(|_| json!(seg), |n| json!(n)))
        .collect()
}

struct Ctx {
    addr: SocketAddr,
    auth: String,
    /// Ids of every event a 201 acknowledged.
    acked: Mutex<BTreeSet<String>>,
    failures: Mutex<Vec<String>>,
}

impl Ctx {
    fn new(server: &Server) -> Self {
        Ctx {
            addr: server.addr,
            auth: format!("Bearer {ADMIN}"),
            acked: Mutex::new(BTreeSet::new()),
            failures: Mutex::new(Vec::new()),
        }
    }

    fn fail(&self, case: &str, why: impl std::fmt::Display) {
        self.failures.lock().unwrap().push(format!("{case}: {why}"));
    }

    /// A request with the admin key plus `headers`; notes acknowledged events and 5xx.
    fn send(
        &self,
        case: &str,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> Option<Resp> {
        let mut all = vec![("Authorization", self.auth.as_str())];
        all.extend_from_slice(headers);
        match try_request(self.addr, method, path, &all, body) {
            Ok(r) => {
                self.note(case, &r);
                Some(r)
            }
            Err(e) => {
                self.fail(case, format!("{method} {}: no answer: {e}", cut(path, 100)));
                None
            }
        }
    }

    fn get(&self, case: &str, path: &str) -> Option<Resp> {
        self.send(case, "GET", path, &[], b"")
    }

    fn post(&self, case: &str, path: &str, body: &[u8]) -> Option<Resp> {
        self.send(case, "POST", path, &[], body)
    }

    /// Records the ids a 201 acknowledged, and any 5xx.
    fn note(&self, case: &str, r: &Resp) {
        if r.status >= 500 {
            self.fail(case, format!("{} {}", r.status, cut(&r.text(), 300)));
        }
        if r.status != 201 {
            return;
        }
        let Ok(v) = serde_json::from_slice::<Value>(&r.body) else {
            return self.fail(case, format!("201 without JSON: {}", cut(&r.text(), 300)));
        };
        let mut acked = self.acked.lock().unwrap();
        acked.extend(v["id"].as_str().map(str::to_owned));
        for id in v["ids"].as_array().into_iter().flatten() {
            acked.extend(id.as_str().map(str::to_owned));
        }
    }

    /// What is wrong with `r` as a FastAPI 422 carrying exactly the items `want`.
    fn problem_422(r: &Resp, want: &[Want]) -> Option<String> {
        let got = || format!("{} {}", r.status, cut(&r.text(), 400));
        if r.status != 422 {
            return Some(format!("want 422 {want:?}, got {}", got()));
        }
        if r.header("content-type") != Some("application/json") {
            return Some(format!("422 is not application/json: {:?}", r.headers));
        }
        let v = serde_json::from_slice::<Value>(&r.body).unwrap_or_default();
        let Some(items) = v["detail"].as_array().filter(|d| !d.is_empty()) else {
            return Some(format!("422 without a detail list: {}", got()));
        };
        let mut unmatched: Vec<&Want> = want.iter().collect();
        for it in items {
            let shaped = it["loc"].is_array()
                && it["msg"].is_string()
                && it["type"].is_string()
                && it.get("input").is_some();
            if !shaped {
                return Some(format!("422 item lacks loc/msg/type/input: {it}"));
            }
            let matches = |(loc, kind): &&Want| {
                loc_matches(&at(loc), &it["loc"]) && (*kind == "*" || it["type"] == *kind)
            };
            match unmatched.iter().position(matches) {
                Some(i) => drop(unmatched.remove(i)),
                None => return Some(format!("want {want:?}, got {}", got())),
            }
        }
        if !unmatched.is_empty() {
            return Some(format!("want {want:?}, got {}", got()));
        }
        None
    }

    fn check_422(&self, case: &str, r: Option<Resp>, want: &[Want]) {
        if let Some(why) = r.and_then(|r| Self::problem_422(&r, want)) {
            self.fail(case, why);
        }
    }

    /// `status` with a JSON `{"detail": "…"}`.
    fn check_detail(&self, case: &str, r: Option<Resp>, status: u16) {
        let Some(r) = r else { return };
        let v = serde_json::from_slice::<Value>(&r.body).unwrap_or_default();
        if r.status != status || !v["detail"].is_string() {
            let got = cut(&r.text(), 300);
            self.fail(
                case,
                format!("want {status} + JSON detail, got {} {got}", r.status),
            );
        }
    }

    fn check_status(&self, case: &str, r: Option<Resp>, status: u16) {
        if let Some(r) = r.filter(|r| r.status != status) {
            let got = cut(&r.text(), 300);
            self.fail(case, format!("want {status}, got {} {got}", r.status));
        }
    }

    /// POST one event: a 422 with exactly `want`.
    fn one(&self, case: &str, body: &[u8], want: &[Want]) {
        self.check_422(case, self.post(case, "/api/audit-logs", body), want);
    }

    fn batch(&self, case: &str, body: &[u8], want: &[Want]) {
        self.check_422(case, self.post(case, "/api/audit-logs/batch", body), want);
    }

    fn ndjson(&self, case: &str, body: &[u8], want: &[Want]) {
        let ct = [("Content-Type", "application/x-ndjson")];
        let r = self.send(case, "POST", "/api/audit-logs/batch", &ct, body);
        self.check_422(case, r, want);
    }

    /// GET the list with `query`: a 422 with exactly `want`.
    fn query(&self, case: &str, query: &str, want: &[Want]) {
        let r = self.get(case, &format!("/api/audit-logs?{query}"));
        self.check_422(case, r, want);
    }

    fn query_ok(&self, case: &str, query: &str) -> Option<Value> {
        let r = self.get(case, &format!("/api/audit-logs?{query}"))?;
        let page = serde_json::from_slice(&r.body).ok();
        self.check_status(case, Some(r), 200);
        page
    }

    /// POSTs a valid event: 201; then reads it back by id.
    fn created(&self, case: &str, body: &[u8]) -> Option<Value> {
        let r = self.post(case, "/api/audit-logs", body)?;
        if r.status != 201 {
            let got = cut(&r.text(), 400);
            self.fail(case, format!("want 201, got {} {got}", r.status));
            return None;
        }
        let ack: Value = serde_json::from_slice(&r.body).ok()?;
        let g = self.get(case, &format!("/api/audit-logs/{}", ack["id"].as_str()?))?;
        if g.status != 200 {
            self.fail(
                case,
                format!("acknowledged {ack} but GET answers {}", g.status),
            );
            return None;
        }
        serde_json::from_slice(&g.body).ok()
    }

    /// Posts a valid event and checks one field as read back.
    fn round_trip(&self, case: &str, body: &[u8], field: &str, want: &Value) {
        if let Some(e) = self.created(case, body) {
            if &e[field] != want {
                let got = cut(&e[field].to_string(), 200);
                self.fail(case, format!("{field} read back as {got}, want {want}"));
            }
        }
    }

    fn healthy(&self, case: &str) {
        match try_request(self.addr, "GET", "/healthz", &[], b"") {
            Ok(r) if r.status == 200 => {}
            Ok(r) => self.fail(case, format!("/healthz answered {}", r.status)),
            Err(e) => self.fail(case, format!("/healthz failed: {e}")),
        }
    }

    /// A raw exchange must be refused: a response with one of `statuses`, or a closed
    /// connection without any response.
    fn refused(&self, case: &str, raw: &Raw, statuses: &[u16]) {
        let rs = responses(&raw.bytes);
        rs.iter().for_each(|r| self.note(case, r));
        let why = match rs.first() {
            Some(r) if statuses.contains(&r.status) => return,
            Some(r) => format!("{} {}", r.status, cut(&r.text(), 300)),
            None if !raw.bytes.is_empty() => format!("{:?}", raw.text(200)),
            None if raw.closed => return,
            None => "neither an answer nor a close".into(),
        };
        self.fail(
            case,
            format!("want {statuses:?} or a closed connection, got {why}"),
        );
    }
}

/// `want` matches `got` element by element; a `"*"` in `want` matches anything.
fn loc_matches(want: &Value, got: &Value) -> bool {
    match (want.as_array(), got.as_array()) {
        (Some(w), Some(g)) => {
            w.len() == g.len() && w.iter().zip(g).all(|(w, g)| w == "*" || w == g)
        }
        _ => false,
    }
}

fn cut(s: &str, chars: usize) -> String {
    let mut out: String = s.chars().take(chars).collect();
    if s.chars().nth(chars).is_some() {
        out.push('…');
    }
    out
}

/// An event with `extra` members after its event_type (`extra` starts with a comma).
fn ev(extra: &str) -> Vec<u8> {
    format!(r#"{{"event_type":"hostile.case"{extra}}}"#).into_bytes()
}

/// An event whose `field` is the JSON text `raw`.
fn ev_with(field: &str, raw: &str) -> Vec<u8> {
    ev(&format!(r#","{field}":{raw}"#))
}

const JSON_INVALID: &[Want] = &[("body", "json_invalid")];

/// Percent-encodes everything but RFC 3986's unreserved characters.
fn pct(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

// ---------------------------------------------------------------------------------------
// Raw connections.
// ---------------------------------------------------------------------------------------

/// What came back on a raw connection.
struct Raw {
    bytes: Vec<u8>,
    /// The server closed (EOF or reset), rather than the wait running out.
    closed: bool,
}

impl Raw {
    fn text(&self, chars: usize) -> String {
        cut(&String::from_utf8_lossy(&self.bytes), chars)
    }
}

fn is_timeout(e: &std::io::Error) -> bool {
    matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut)
}

/// Reads until EOF, a reset, or `idle` without a byte.
fn read_all(s: &mut TcpStream, idle: Duration) -> Raw {
    s.set_read_timeout(Some(idle)).unwrap();
    let mut bytes = Vec::new();
    let mut buf = vec![0u8; 64 * 1024];
    let closed = loop {
        match s.read(&mut buf) {
            Ok(0) => break true,
            Ok(n) => bytes.extend_from_slice(&buf[..n]),
            Err(e) if is_timeout(&e) => break false,
            Err(_) => break true,
        }
    };
    Raw { bytes, closed }
}

/// Writes `request` as is (the server may close before taking it all), then reads.
fn raw(addr: SocketAddr, request: &[u8]) -> Raw {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_write_timeout(Some(Duration::from_secs(30))).unwrap();
    let _ = s.write_all(request);
    read_all(&mut s, Duration::from_secs(30))
}

/// Every complete response in `buf` (pipelining), in order.
fn responses(mut buf: &[u8]) -> Vec<Resp> {
    let mut out = Vec::new();
    while let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
        let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
        let len: usize = head
            .lines()
            .find_map(|l| l.strip_prefix("content-length:"))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0);
        let total = end + 4 + len;
        let Some(r) = buf.get(..total).and_then(parse_response) else {
            break;
        };
        out.push(r);
        buf = &buf[total..];
    }
    out
}

/// POSTs `pieces` as a chunked body (no Content-Length), writing from a second thread so
/// an early answer is read while the body is still going out.
fn post_chunked(c: &Ctx, path: &str, pieces: &[&[u8]]) -> Raw {
    let mut s = TcpStream::connect(c.addr).unwrap();
    s.set_write_timeout(Some(Duration::from_secs(60))).unwrap();
    let mut w = s.try_clone().unwrap();
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: x\r\nAuthorization: {}\r\nContent-Type: application/json\r\n\
         Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n",
        c.auth
    );
    std::thread::scope(|sc| {
        sc.spawn(move || -> std::io::Result<()> {
            w.write_all(head.as_bytes())?;
            for p in pieces {
                write!(w, "{:x}\r\n", p.len())?;
                w.write_all(p)?;
                w.write_all(b"\r\n")?;
            }
            w.write_all(b"0\r\n\r\n")
        });
        read_all(&mut s, Duration::from_secs(60))
    })
}

/// Waits (reading, a second at a time) until the server closes `s`, calling `tick`
/// between reads. Returns how long that took, or `None` past `within`.
fn wait_closed(
    s: &mut TcpStream,
    within: Duration,
    mut tick: impl FnMut(&mut TcpStream, u32),
) -> Option<Duration> {
    let started = Instant::now();
    s.set_read_timeout(Some(Duration::from_secs(1))).unwrap();
    let mut buf = [0u8; 4096];
    for n in 0.. {
        if started.elapsed() > within {
            return None;
        }
        match s.read(&mut buf) {
            Ok(0) => return Some(started.elapsed()),
            Ok(_) => {} // an answer (408, 400): the close follows
            Err(e) if is_timeout(&e) => tick(s, n),
            Err(_) => return Some(started.elapsed()),
        }
    }
    None
}

// ---------------------------------------------------------------------------------------
// Slow clients (these set the test's duration: about HEADER_READ_TIMEOUT).
// ---------------------------------------------------------------------------------------

/// Slow-loris: a request line, then one header byte a second. The server must cut it off
/// (HEADER_READ_TIMEOUT), and serve other connections meanwhile.
fn slow_loris_header_trickle(c: &Ctx) {
    let case = "slow-loris: one header byte a second";
    let mut s = TcpStream::connect(c.addr).unwrap();
    s.write_all(b"POST /api/audit-logs HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        .unwrap();
    let took = wait_closed(&mut s, SLOW_CLIENT_CUTOFF, |s, n| {
        let _ = s.write_all(b"a");
        if n % 3 == 0 {
            c.healthy(&format!("{case}: another connection meanwhile"));
        }
    });
    match took {
        Some(t) => eprintln!("{case}: closed after {:.1} s", t.as_secs_f64()),
        None => c.fail(case, format!("still open after {SLOW_CLIENT_CUTOFF:?}")),
    }
}

/// Clients that stop part-way through the request head: each is closed within the
/// cutoff, while the server keeps serving.
fn slow_clients_that_stall(c: &Ctx) {
    #[rustfmt::skip]
    let stalls: [(&str, &[u8]); 6] = [
        ("a request line, headers never end", b"GET /healthz HTTP/1.1\r\nHost: x\r\n"),
        ("a request line without its CRLF", b"GET /healthz HTTP/1.1"),
        ("empty lines only", b"\r\n\r\n\r\n\r\n"),
        // Before hyper knows HTTP/1 from HTTP/2 only the connection idle timeout
        // (server/src/idle.rs) applies: a client that sends nothing, or a preface
        // prefix, must not hold a CONNECTIONS_MAX permit for long.
        ("a connection that never sends a byte", b""),
        ("half an HTTP/2 preface", b"PRI * HTTP/2.0\r\n"),
        // HTTP/2 with no stream opened: the idle timeout too.
        ("an HTTP/2 preface, then silence", b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"),
    ];
    std::thread::scope(|sc| {
        for (what, bytes) in stalls {
            sc.spawn(move || {
                let case = format!("slow client: {what}");
                let mut s = TcpStream::connect(c.addr).unwrap();
                s.write_all(bytes).unwrap();
                let took = wait_closed(&mut s, SLOW_CLIENT_CUTOFF, |_, n| {
                    if n % 5 == 2 {
                        c.healthy(&format!("{case}: another connection meanwhile"));
                    }
                });
                match took {
                    Some(t) => eprintln!("{case}: closed after {:.1} s", t.as_secs_f64()),
                    None => c.fail(&case, format!("still open after {SLOW_CLIENT_CUTOFF:?}")),
                }
            });
        }
    });
}

/// Headers promise 100 body bytes, 10 arrive, then nothing. The body timeout is 60 s, so
/// this does not wait for it: the server must keep serving others while it hangs.
fn stalled_body(c: &Ctx) {
    let case = "stalled body (Content-Length 100, 10 bytes sent)";
    let mut s = TcpStream::connect(c.addr).unwrap();
    let head = format!(
        "POST /api/audit-logs HTTP/1.1\r\nHost: x\r\nAuthorization: {}\r\n\
         Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{{\"event_ty",
        c.auth
    );
    s.write_all(head.as_bytes()).unwrap();
    std::thread::sleep(Duration::from_secs(1));
    for _ in 0..3 {
        c.healthy(case);
        c.created(case, &ev(r#","action":"WHILE_A_BODY_STALLS""#));
        let _ = c.query_ok(case, "limit=5");
        std::thread::sleep(Duration::from_millis(500));
    }
    let early = read_all(&mut s, Duration::from_millis(200));
    for r in responses(&early.bytes) {
        c.note(case, &r); // an early 4xx is fine; a 201 is not
        if r.status == 201 {
            c.fail(case, "a 10-byte fragment was acknowledged as an event");
        }
    }
}

// ---------------------------------------------------------------------------------------
// Malformed JSON and wrong shapes.
// ---------------------------------------------------------------------------------------

fn malformed_json(c: &Ctx) {
    #[rustfmt::skip]
    let cases: [(&str, &[u8]); 24] = [
        ("truncated object", br#"{"event_type":"a""#),
        ("truncated string", br#"{"event_type":"a"#),
        ("truncated after a colon", br#"{"event_type":"#),
        ("trailing garbage", br#"{"event_type":"a"} xyz"#),
        ("two objects", br#"{"event_type":"a"}{"event_type":"b"}"#),
        ("single quotes", br#"{'event_type':'a'}"#),
        ("unquoted key", br#"{event_type:"a"}"#),
        ("trailing comma", br#"{"event_type":"a",}"#),
        ("comment", br#"{"event_type":"a" /* hi */}"#),
        ("NaN", br#"{"event_type":"a","audit_metadata":{"x":NaN}}"#),
        ("Infinity", br#"{"event_type":"a","audit_metadata":{"x":Infinity}}"#),
        ("-Infinity", br#"{"event_type":"a","audit_metadata":{"x":-Infinity}}"#),
        ("NaN as amount", br#"{"event_type":"a","amount":NaN}"#),
        ("leading zero", br#"{"event_type":"a","amount":01}"#),
        ("bare fraction", br#"{"event_type":"a","amount":.5}"#),
        ("plus sign", br#"{"event_type":"a","amount":+1}"#),
        ("hex number", br#"{"event_type":"a","amount":0x10}"#),
        ("True for true", br#"{"event_type":"a","audit_metadata":{"x":True}}"#),
        ("invalid escape", br#"{"event_type":"a","user_id":"\x41"}"#),
        ("short unicode escape", br#"{"event_type":"a","user_id":"\u12"}"#),
        ("duplicate key in audit_metadata", br#"{"event_type":"a","audit_metadata":{"k":1,"k":2}}"#),
        ("empty body", b""),
        ("whitespace only", b" \r\n\t "),
        ("byte order mark", b"\xEF\xBB\xBF{\"event_type\":\"a\"}"),
    ];
    for (case, body) in cases {
        c.one(&format!("malformed JSON: {case}"), body, JSON_INVALID);
    }
    // A duplicate top-level key: json_invalid, or a clear error on the field; never a
    // silent last-one-wins 201.
    let case = "malformed JSON: duplicate top-level key";
    if let Some(r) = c.post(
        case,
        "/api/audit-logs",
        br#"{"event_type":"a","event_type":"b"}"#,
    ) {
        let as_json = Ctx::problem_422(&r, JSON_INVALID);
        let as_field = Ctx::problem_422(&r, &[("body/event_type", "*")]);
        if let (Some(why), Some(_)) = (as_json, as_field) {
            c.fail(case, why);
        }
    }
    c.batch(
        "malformed batch: truncated array",
        br#"[{"event_type":"a"},"#,
        JSON_INVALID,
    );
    c.batch("malformed batch: empty body", b"", JSON_INVALID);
    #[rustfmt::skip]
    let ndjson: [(&str, &[u8], &str); 3] = [
        ("single quotes on line 1", b"{\"event_type\":\"a\"}\n{'event_type':'b'}\n", "body/1"),
        ("NaN on line 0", b"{\"event_type\":\"a\",\"audit_metadata\":{\"x\":NaN}}\n", "body/0"),
        ("invalid UTF-8 on line 1", b"{\"event_type\":\"ok\"}\n{\"event_type\":\"\xFF\"}\n", "body/1"),
    ];
    for (case, body, loc) in ndjson {
        c.ndjson(
            &format!("malformed NDJSON: {case}"),
            body,
            &[(loc, "json_invalid")],
        );
    }
}

fn wrong_types(c: &Ctx) {
    #[rustfmt::skip]
    let cases: [(&str, &str, &[Want]); 19] = [
        ("event_type a number", r#"{"event_type":42}"#, &[("body/event_type", "string_type")]),
        ("event_type an object", r#"{"event_type":{"a":1}}"#, &[("body/event_type", "string_type")]),
        ("event_type null", r#"{"event_type":null}"#, &[("body/event_type", "missing")]),
        ("event_type missing", r#"{"action":"READ"}"#, &[("body/event_type", "missing")]),
        ("event_type empty", r#"{"event_type":""}"#, &[("body/event_type", "string_too_short")]),
        ("tags a string", r#"{"event_type":"a","tags":"x"}"#, &[("body/tags", "list_type")]),
        ("a tag a number", r#"{"event_type":"a","tags":["ok",7]}"#, &[("body/tags/1", "string_type")]),
        ("old_values an array", r#"{"event_type":"a","old_values":[]}"#, &[("body/old_values", "dict_type")]),
        ("new_values a string", r#"{"event_type":"a","new_values":"{}"}"#, &[("body/new_values", "dict_type")]),
        ("audit_metadata a number", r#"{"event_type":"a","audit_metadata":5}"#, &[("body/audit_metadata", "dict_type")]),
        ("severity not in the enum", r#"{"event_type":"a","severity":"urgent"}"#, &[("body/severity", "enum")]),
        ("severity in capitals", r#"{"event_type":"a","severity":"INFO"}"#, &[("body/severity", "enum")]),
        ("severity a number", r#"{"event_type":"a","severity":3}"#, &[("body/severity", "enum")]),
        ("occurred_at a number", r#"{"event_type":"a","occurred_at":1700000000}"#, &[("body/occurred_at", "datetime_type")]),
        ("amount a boolean", r#"{"event_type":"a","amount":true}"#, &[("body/amount", "decimal_type")]),
        ("amount an object", r#"{"event_type":"a","amount":{}}"#, &[("body/amount", "decimal_type")]),
        ("changed_fields a string", r#"{"event_type":"a","changed_fields":"a"}"#, &[("body/changed_fields", "list_type")]),
        ("user_id an array", r#"{"event_type":"a","user_id":["u"]}"#, &[("body/user_id", "string_type")]),
        ("two wrong fields", r#"{"event_type":1,"severity":2}"#, &[("body/event_type", "string_type"), ("body/severity", "enum")]),
    ];
    for (case, body, want) in cases {
        c.one(&format!("wrong type: {case}"), body.as_bytes(), want);
    }
    c.batch(
        "wrong type: a batch of non-objects",
        br#"[{"event_type":"ok"},1,"x",null,[]]"#,
        &[
            ("body/1", "dict_type"),
            ("body/2", "dict_type"),
            ("body/3", "dict_type"),
            ("body/4", "dict_type"),
        ],
    );
    #[rustfmt::skip]
    let not_objects = [
        ("null", "null"),
        ("an array to the single-event endpoint", r#"[{"event_type":"a"}]"#),
        ("a bare string", r#""event""#),
        ("a bare number", "42"),
        ("a bare boolean", "true"),
    ];
    for (case, body) in not_objects {
        c.one(
            &format!("wrong type: {case}"),
            body.as_bytes(),
            &[("body", "dict_type")],
        );
    }
    for (case, body) in [
        ("an object to the batch endpoint", r#"{"event_type":"a"}"#),
        ("null to the batch endpoint", "null"),
        ("a string to the batch endpoint", r#""[]""#),
    ] {
        c.batch(
            &format!("wrong type: {case}"),
            body.as_bytes(),
            &[("body", "list_type")],
        );
    }
    let nd = b"{\"event_type\":\"ok\"}\n[1]\n";
    c.ndjson(
        "wrong type: an NDJSON line that is an array",
        nd,
        &[("body/1", "dict_type")],
    );
}

// ---------------------------------------------------------------------------------------
// Numbers.
// ---------------------------------------------------------------------------------------

fn huge_numbers(c: &Ctx) {
    let d70 = format!("1{}", "0".repeat(69));
    let d100k = format!("9{}", "0".repeat(99_999));
    #[rustfmt::skip]
    let cases: Vec<(&str, String, &str, &str)> = vec![
        // (case, extra members, loc, type)
        ("amount 1e400", r#","amount":1e400"#.into(), "body/amount", "decimal_parsing"),
        ("amount \"1e400\"", r#","amount":"1e400""#.into(), "body/amount", "decimal_parsing"),
        ("amount 1.5E3", r#","amount":1.5E3"#.into(), "body/amount", "decimal_parsing"),
        ("amount of 70 digits", format!(r#","amount":{d70}"#), "body/amount", "string_too_long"),
        ("amount of 70 digits, a string", format!(r#","amount":"{d70}""#), "body/amount", "string_too_long"),
        ("amount of 100,000 digits", format!(r#","amount":{d100k}"#), "body/amount", "string_too_long"),
        ("amount \" 1\"", r#","amount":" 1""#.into(), "body/amount", "decimal_parsing"),
        ("amount \"0x10\"", r#","amount":"0x10""#.into(), "body/amount", "decimal_parsing"),
        ("amount \"1.\"", r#","amount":"1.""#.into(), "body/amount", "decimal_parsing"),
        ("risk_score -1", r#","risk_score":-1"#.into(), "body/risk_score", "greater_than_equal"),
        ("risk_score \"-0.5\"", r#","risk_score":"-0.5""#.into(), "body/risk_score", "greater_than_equal"),
        ("risk_score -0", r#","risk_score":-0"#.into(), "body/risk_score", "decimal_parsing"),
        ("new_values 2^53", r#","new_values":{"n":9007199254740992}"#.into(), "body/new_values/n", "int_too_big"),
        ("new_values -(2^53)", r#","new_values":{"n":-9007199254740992}"#.into(), "body/new_values/n", "int_too_big"),
        ("new_values 2^64 in an array", r#","new_values":{"a":[1,18446744073709551616]}"#.into(), "body/new_values/a/1", "int_too_big"),
        ("new_values 1e20 (integer-valued)", r#","new_values":{"n":1e20}"#.into(), "body/new_values/n", "int_too_big"),
        ("new_values 2^53+1 beside old_values", r#","old_values":{"x":1},"new_values":{"x":9007199254740993}"#.into(), "body/new_values/x", "int_too_big"),
        ("old_values a 100,000-digit integer", format!(r#","old_values":{{"n":{d100k}}}"#), "body/old_values/n", "int_too_big"),
        ("audit_metadata 1e400", r#","audit_metadata":{"x":1e400}"#.into(), "body/audit_metadata/x", "finite_number"),
        ("audit_metadata -1e400", r#","audit_metadata":{"x":{"y":-1e400}}"#.into(), "body/audit_metadata/x/y", "finite_number"),
        ("audit_metadata 1e999999999999", r#","audit_metadata":{"x":1e999999999999}"#.into(), "body/audit_metadata/x", "finite_number"),
    ];
    for (case, extra, loc, kind) in &cases {
        c.one(&format!("numbers: {case}"), &ev(extra), &[(loc, kind)]);
    }
    let case = "numbers: a 422 for a 100,000-digit amount echoes a bounded input";
    if let Some(r) = c.post(case, "/api/audit-logs", &ev_with("amount", &d100k)) {
        if r.body.len() > 4096 {
            c.fail(case, format!("the 422 is {} bytes", r.body.len()));
        }
    }
    // The edges that are taken, digit for digit.
    let d64 = format!("-{}.5", "9".repeat(DECIMAL_CHARS_MAX - 3));
    let body = ev_with("amount", &d64);
    c.round_trip("numbers: 64-char amount", &body, "amount", &json!(d64));
    let safe = json!({"max": 9007199254740991_i64, "min": -9007199254740991_i64, "f": 1.5e300});
    let body = ev_with("new_values", &safe.to_string());
    c.round_trip(
        "numbers: ±(2^53 − 1) in new_values",
        &body,
        "new_values",
        &safe,
    );
}

// ---------------------------------------------------------------------------------------
// Nesting.
// ---------------------------------------------------------------------------------------

/// `levels` nested objects: `{"a":{"a":…1…}}`.
fn nested(levels: usize) -> String {
    format!("{}1{}", "{\"a\":".repeat(levels), "}".repeat(levels))
}

fn deep_nesting(c: &Ctx) {
    // The event object is depth 1, audit_metadata depth 2.
    let deepest = nested(JSON_DEPTH_MAX - 1);
    let at_limit = ev_with("audit_metadata", &deepest);
    let want: Value = serde_json::from_str(&deepest).unwrap();
    c.round_trip(
        "nesting: JSON_DEPTH_MAX",
        &at_limit,
        "audit_metadata",
        &want,
    );
    #[rustfmt::skip]
    let too_deep = [
        ("JSON_DEPTH_MAX + 1", "audit_metadata", nested(JSON_DEPTH_MAX)),
        ("1,000 levels of {\"a\":", "audit_metadata", nested(1000)),
        ("1,000 unclosed levels", "audit_metadata", "{\"a\":".repeat(1000)),
        ("200,000 unclosed [", "audit_metadata", "[".repeat(200_000)),
        ("100,000 balanced []", "audit_metadata", format!("{}{}", "[".repeat(100_000), "]".repeat(100_000))),
        ("new_values 1,000 levels", "new_values", nested(1000)),
    ];
    for (case, field, inner) in &too_deep {
        c.one(
            &format!("nesting: {case}"),
            &ev_with(field, inner),
            JSON_INVALID,
        );
    }
    // A batch keeps the single-event limit for each event inside its array.
    let ok = String::from_utf8(at_limit).unwrap();
    let r = c.post(
        "nesting: a batch at the limit",
        "/api/audit-logs/batch",
        format!("[{ok}]").as_bytes(),
    );
    c.check_status("nesting: a batch at the limit", r, 201);
    let deep = String::from_utf8(ev_with("audit_metadata", &nested(JSON_DEPTH_MAX))).unwrap();
    c.batch(
        "nesting: a batch one level too deep",
        format!("[{deep}]").as_bytes(),
        JSON_INVALID,
    );
    c.batch(
        "nesting: a batch of 5,000,000 [",
        "[".repeat(5_000_000).as_bytes(),
        JSON_INVALID,
    );
    let line = String::from_utf8(ev_with("audit_metadata", &nested(1000))).unwrap();
    let case = "nesting: an NDJSON line 1,000 levels deep";
    c.ndjson(
        case,
        format!("{line}\n").as_bytes(),
        &[("body/0", "json_invalid")],
    );
}

// ---------------------------------------------------------------------------------------
// Unicode.
// ---------------------------------------------------------------------------------------

/// `{"event_type":"hostile.case","user_id":"<raw>"}` with `raw` as given.
fn user_id_raw(raw: &[u8]) -> Vec<u8> {
    let mut b = br#"{"event_type":"hostile.case","user_id":""#.to_vec();
    b.extend_from_slice(raw);
    b.extend_from_slice(br#""}"#);
    b
}

fn bad_unicode(c: &Ctx) {
    #[rustfmt::skip]
    let cases: [(&str, Vec<u8>); 15] = [
        ("invalid UTF-8 bytes in a string", user_id_raw(b"\xFF\xFE")),
        ("an overlong encoding of /", user_id_raw(b"\xC0\xAF")),
        ("a UTF-8-encoded surrogate", user_id_raw(b"\xED\xA0\x80")),
        ("a truncated 3-byte sequence", user_id_raw(b"\xE2\x82")),
        ("a code point above U+10FFFF", user_id_raw(b"\xF4\x90\x80\x80")),
        ("a lone continuation byte", user_id_raw(b"a\x80b")),
        ("invalid UTF-8 in a key", b"{\"event_type\":\"a\",\"\xFF\":1}".to_vec()),
        ("a lone high surrogate escape", user_id_raw(br"\ud800")),
        ("a lone low surrogate escape", user_id_raw(br"\udc00")),
        ("a high surrogate, then a letter", user_id_raw(br"\ud800\u0041")),
        ("surrogates in the wrong order", user_id_raw(br"\ude00\ud83d")),
        ("a lone surrogate in a metadata key", br#"{"event_type":"a","audit_metadata":{"\ud800":1}}"#.to_vec()),
        ("a raw NUL inside a string", user_id_raw(b"a\x00b")),
        ("a raw NUL after the object", b"{\"event_type\":\"a\"}\x00".to_vec()),
        ("a raw control character in a string", user_id_raw(b"a\x01b")),
    ];
    for (case, body) in &cases {
        c.one(&format!("unicode: {case}"), body, JSON_INVALID);
    }
    let body = br#"{"event_type":"a\u0000b"}"#;
    let want = [("body/event_type", "string_pattern_mismatch")];
    c.one("unicode: an escaped NUL in event_type", body, &want);
    // An escaped NUL and an escaped surrogate pair are valid JSON: kept exactly.
    let body = user_id_raw(br"a\u0000b");
    c.round_trip(
        "unicode: an escaped NUL in user_id",
        &body,
        "user_id",
        &json!("a\u{0}b"),
    );
    let body = user_id_raw(br"\ud83d\ude00");
    c.round_trip(
        "unicode: an escaped surrogate pair",
        &body,
        "user_id",
        &json!("😀"),
    );
}

// ---------------------------------------------------------------------------------------
// Sizes.
// ---------------------------------------------------------------------------------------

/// A valid event of exactly `bytes` bytes (whitespace before the closing brace).
fn event_of_size(bytes: usize) -> Vec<u8> {
    let mut b = br#"{"event_type":"size.edge""#.to_vec();
    b.resize(bytes - 1, b' ');
    b.push(b'}');
    b
}

/// The 413 (with a JSON detail) among what came back.
fn check_413(c: &Ctx, case: &str, got: &Raw) {
    match responses(&got.bytes).into_iter().next() {
        Some(r) => c.check_detail(case, Some(r), 413),
        None => c.fail(case, format!("no answer (closed: {})", got.closed)),
    }
}

fn oversized_bodies(c: &Ctx) {
    let auth = c.auth.as_str();
    // With Content-Length: the limit itself is taken, one byte more is 413.
    let r = c.post(
        "size: exactly 1 MiB",
        "/api/audit-logs",
        &event_of_size(MIB),
    );
    c.check_status("size: exactly 1 MiB", r, 201);
    // The server answers 413 from the headers and closes while the body is still being
    // sent; the close may reset the connection before the answer is read (the client
    // then sees only the reset). Either way nothing is stored and the server stays up.
    let body = event_of_size(MIB + 1);
    let head = format!(
        "POST /api/audit-logs HTTP/1.1\r\nHost: x\r\nAuthorization: {auth}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    let got = raw(c.addr, &[head.as_bytes(), &body].concat());
    if !responses(&got.bytes).is_empty() || !got.closed {
        check_413(c, "size: 1 MiB + 1", &got);
    }
    // A declared length over the limit is refused before any body is sent.
    #[rustfmt::skip]
    let declared = [
        ("Content-Length 1 MiB + 1, no body sent", "/api/audit-logs", MIB + 1, ""),
        ("batch Content-Length 32 MiB + 1, no body sent", "/api/audit-logs/batch", 32 * MIB + 1, ""),
        ("Content-Length 1 TiB, no body sent", "/api/audit-logs", 1 << 40, ""),
        ("Expect: 100-continue over the limit", "/api/audit-logs", 2 * MIB, "Expect: 100-continue\r\n"),
    ];
    for (case, path, len, extra) in declared {
        let head = format!(
            "POST {path} HTTP/1.1\r\nHost: x\r\nAuthorization: {auth}\r\n\
             Content-Type: application/json\r\nContent-Length: {len}\r\n{extra}Connection: close\r\n\r\n"
        );
        check_413(c, &format!("size: {case}"), &raw(c.addr, head.as_bytes()));
    }
    for (case, len) in [
        ("a Content-Length beyond u64", "99999999999999999999999"),
        ("a negative Content-Length", "-1"),
        ("two different Content-Lengths", "5\r\nContent-Length: 6"),
    ] {
        let req = format!(
            "POST /api/audit-logs HTTP/1.1\r\nHost: x\r\nAuthorization: {auth}\r\n\
             Content-Length: {len}\r\nConnection: close\r\n\r\n{{}}"
        );
        c.refused(
            &format!("size: {case}"),
            &raw(c.addr, req.as_bytes()),
            &[400, 413],
        );
    }
    // Chunked, without Content-Length: the same limits.
    let exact = event_of_size(MIB);
    let got = post_chunked(
        c,
        "/api/audit-logs",
        &exact.chunks(64 * 1024).collect::<Vec<_>>(),
    );
    let first = responses(&got.bytes).into_iter().next();
    first
        .iter()
        .for_each(|r| c.note("size: chunked, exactly 1 MiB", r));
    c.check_status("size: chunked, exactly 1 MiB", first, 201);
    let over = event_of_size(MIB + 1);
    let got = post_chunked(
        c,
        "/api/audit-logs",
        &over.chunks(64 * 1024).collect::<Vec<_>>(),
    );
    check_413(c, "size: chunked, 1 MiB + 1", &got);
    // A batch's events have the same bound: an element of a JSON array measured as
    // compact canonical JSON (the whitespace between its tokens does not count).
    let compact = |bytes: usize| {
        let frame =
            r#"{"audit_metadata":{"a":""},"event_type":"size.edge","severity":"low"}"#.len();
        format!(
            r#"{{ "event_type" : "size.edge", "severity": "low", "audit_metadata" : {{ "a" : "{}" }} }}"#,
            "x".repeat(bytes - frame)
        )
    };
    let at_limit = format!("[{},\n{}]", compact(100), compact(MIB));
    let r = c.post(
        "size: a batch's event of exactly 1 MiB",
        "/api/audit-logs/batch",
        at_limit.as_bytes(),
    );
    c.check_status("size: a batch's event of exactly 1 MiB", r, 201);
    let over = format!("[{},{}]", compact(100), compact(MIB + 1));
    c.batch(
        "size: a batch's event of 1 MiB + 1",
        over.as_bytes(),
        &[("body/1", "value_error")],
    );
    // A batch just under 32 MiB is stored although its stored form (each event with its
    // server fields) is larger than 32 MiB.
    let event = format!(
        r#"{{"event_type":"size.batch","audit_metadata":{{"p":"{}"}}}}"#,
        "a".repeat(4000)
    );
    let n = (32 * MIB - 2) / (event.len() + 1);
    let full = format!("[{}]", vec![event.as_str(); n].join(","));
    assert!(full.len() <= 32 * MIB && n <= 10_000);
    let r = c.post(
        "size: a batch of 32 MiB",
        "/api/audit-logs/batch",
        full.as_bytes(),
    );
    c.check_status("size: a batch of 32 MiB", r, 201);
    // So is one of events with only `new_values`, whose computed `changed_fields` repeats
    // every key: its stored form is nearly twice its body.
    let keys: Vec<String> = (0..3000).map(|k| format!(r#""k{k:05}":0"#)).collect();
    let event = format!(
        r#"{{"event_type":"size.create","new_values":{{{}}}}}"#,
        keys.join(",")
    );
    let n = (32 * MIB - 2) / (event.len() + 1);
    let full = format!("[{}]", vec![event.as_str(); n].join(","));
    let r = c.post(
        "size: a batch of 32 MiB that doubles",
        "/api/audit-logs/batch",
        full.as_bytes(),
    );
    c.check_status("size: a batch of 32 MiB that doubles", r, 201);
    // One whose canonical form grows far past its body (`9e15` is `9000000000000000`)
    // is refused as too large: 413, nothing stored.
    let numbers = vec!["9e15"; 40_000].join(",");
    let event = format!(r#"{{"event_type":"size.grows","audit_metadata":{{"n":[{numbers}]}}}}"#);
    let grows = format!("[{}]", vec![event.as_str(); 125].join(","));
    assert!(grows.len() <= 32 * MIB);
    let r = c.post(
        "size: a batch that grows",
        "/api/audit-logs/batch",
        grows.as_bytes(),
    );
    c.check_detail("size: a batch that grows", r, 413);
    // 33 MiB of chunks to the batch endpoint, from one reused 1 MiB buffer.
    let block = vec![b' '; MIB];
    let got = post_chunked(c, "/api/audit-logs/batch", &[&block[..]; 33]);
    check_413(c, "size: a chunked batch of 33 MiB", &got);
}

// ---------------------------------------------------------------------------------------
// Fields a client may not send.
// ---------------------------------------------------------------------------------------

fn unknown_and_server_fields(c: &Ctx) {
    c.one(
        "fields: unknown ones are named",
        br#"{"event_type":"a","colour":"red","EVENT_TYPE":"x","":1}"#,
        &[
            ("body/colour", "extra_forbidden"),
            ("body/EVENT_TYPE", "extra_forbidden"),
            ("body/", "extra_forbidden"),
        ],
    );
    let long_key = ev_with(&"k".repeat(10_000), "1");
    c.one(
        "fields: a 10,000-char unknown key",
        &long_key,
        &[("body/*", "extra_forbidden")],
    );
    let zeros = format!("\"{}\"", "0".repeat(64));
    #[rustfmt::skip]
    let server_set: [(&str, &str); 10] = [
        ("id", r#""01a20184-150d-7b83-b571-dfb571717b61""#),
        ("seq", "1"),
        ("hash", &zeros),
        ("tenant_id", r#""other""#),
        ("created_at", r#""2024-01-01T00:00:00.000000Z""#),
        ("prev_hash", &zeros),
        ("is_resolved", "true"),
        ("resolved_at", r#""2024-01-01T00:00:00.000000Z""#),
        ("resolved_by", r#""me""#),
        ("resolution_notes", r#""done""#),
    ];
    let mut all = String::new();
    let mut want: Vec<(String, &str)> = Vec::new();
    for (field, value) in server_set {
        let loc = format!("body/{field}");
        c.one(
            &format!("fields: server-set {field}"),
            &ev_with(field, value),
            &[(&loc, "extra_forbidden")],
        );
        all.push_str(&format!(r#","{field}":{value}"#));
        want.push((loc, "extra_forbidden"));
    }
    let want: Vec<Want> = want.iter().map(|(l, k)| (l.as_str(), *k)).collect();
    c.one("fields: every server-set field at once", &ev(&all), &want);
    c.one(
        "fields: server-set id as null",
        &ev_with("id", "null"),
        &[("body/id", "extra_forbidden")],
    );
    c.batch(
        "fields: a server-set seq in a batch",
        br#"[{"event_type":"ok"},{"event_type":"a","seq":7}]"#,
        &[("body/1/seq", "extra_forbidden")],
    );
}

// ---------------------------------------------------------------------------------------
// Lengths are characters, not bytes.
// ---------------------------------------------------------------------------------------

fn string_limits_in_characters(c: &Ctx) {
    #[rustfmt::skip]
    let limits: [(&str, usize, &str); 9] = [
        // (field, limit in characters, one character as JSON string content)
        ("user_id", 256, "é"),
        ("user_id", 256, "😀"),
        ("user_id", 256, r"\ud83d\ude00"), // an escaped surrogate pair is one character
        ("action", 64, "ü"),
        ("user_agent", 1024, "ж"),
        ("endpoint", 2048, "€"),
        ("event_description", 4096, "é"),
        ("stack_trace", 65_536, "é"),
        ("event_type", 128, "a"),
    ];
    // An event whose `field` is `n` copies of `ch` (event_type replaces the default).
    let event = |field: &str, ch: &str, n: usize| match field {
        "event_type" => format!(r#"{{"event_type":"{}"}}"#, ch.repeat(n)).into_bytes(),
        _ => ev_with(field, &format!("\"{}\"", ch.repeat(n))),
    };
    for (field, max, ch) in limits {
        let case = format!("length: {field} of {max} × {ch:?}");
        if let Some(e) = c.created(&case, &event(field, ch, max)) {
            let n = e[field].as_str().map_or(0, |s| s.chars().count());
            if n != max {
                c.fail(&case, format!("read back {n} characters"));
            }
        }
        let case = format!("length: {field} of {} × {ch:?}", max + 1);
        let loc = format!("body/{field}");
        c.one(
            &case,
            &event(field, ch, max + 1),
            &[(&loc, "string_too_long")],
        );
    }
    let list = |n: usize, item: &str| format!("[{}]", vec![format!("\"{item}\""); n].join(","));
    c.created(
        "length: 64 tags of 128 × é",
        &ev_with("tags", &list(64, &"é".repeat(128))),
    );
    c.one(
        "length: 65 tags",
        &ev_with("tags", &list(65, "t")),
        &[("body/tags", "too_long")],
    );
    let body = ev_with("tags", &format!(r#"["a","b","{}"]"#, "é".repeat(129)));
    c.one(
        "length: a tag of 129 × é",
        &body,
        &[("body/tags/2", "string_too_long")],
    );
    let body = ev_with("flagged_keywords", &list(65, "k"));
    c.one(
        "length: 65 flagged_keywords",
        &body,
        &[("body/flagged_keywords", "too_long")],
    );
}

// ---------------------------------------------------------------------------------------
// Formats: ip_address, currency, country_code, occurred_at, http_method.
// ---------------------------------------------------------------------------------------

fn bad_formats(c: &Ctx) {
    #[rustfmt::skip]
    let bad: [(&str, &[&str], &str); 5] = [
        ("ip_address", &["999.1.1.1", "1.2.3", "1.2.3.4.5", "::g", " 1.2.3.4", "1.2.3.4 ", "",
                         "fe80::1%eth0", "localhost", "1.2.3.4/24"], "ip_any_address"),
        ("currency", &["usd", "U", "ABCDEFGHIJKLM", "US D", "ÜSD", ""], "string_pattern_mismatch"),
        ("country_code", &["us", "USA", "U1", "", "Ü", "DÉ"], "string_pattern_mismatch"),
        ("occurred_at", &["yesterday", "2024-13-01T00:00:00Z", "2024-02-30T00:00:00Z",
                          "2024-01-01T00:00:00", "2024-01-01", "2024-01-01T25:00:00Z",
                          "2024-01-01T00:00:00+25:00", "", "2024-01-01T00:00:00Z junk"],
         "datetime_parsing"),
        ("http_method", &["GET POST", "", "GET\\n"], "string_pattern_mismatch"),
    ];
    for (field, values, kind) in bad {
        let loc = format!("body/{field}");
        for v in values {
            let body = ev_with(field, &format!("\"{v}\""));
            c.one(&format!("format: {field}={v:?}"), &body, &[(&loc, kind)]);
        }
    }
    for (field, v) in [
        ("ip_address", "12345"),
        ("currency", "840"),
        ("country_code", "49"),
    ] {
        let loc = format!("body/{field}");
        c.one(
            &format!("format: {field}={v}"),
            &ev_with(field, v),
            &[(&loc, "string_type")],
        );
    }
    #[rustfmt::skip]
    let good = [
        ("ip_address", "192.0.2.1"), ("ip_address", "2001:db8::1"),
        ("ip_address", "::ffff:192.0.2.1"), ("currency", "USDT"), ("country_code", "DE"),
    ];
    for (field, v) in good {
        let body = ev_with(field, &format!("\"{v}\""));
        c.round_trip(
            &format!("format: a valid {field} {v}"),
            &body,
            field,
            &json!(v),
        );
    }
    let body = ev_with("occurred_at", r#""2024-01-01T00:00:00+05:30""#);
    let want = json!("2023-12-31T18:30:00.000000Z");
    c.round_trip(
        "format: occurred_at with an offset",
        &body,
        "occurred_at",
        &want,
    );
}

// ---------------------------------------------------------------------------------------
// Query strings.
// ---------------------------------------------------------------------------------------

fn query_string_abuse(c: &Ctx) {
    let a5000 = "a".repeat(5_000);
    let e5000 = pct(&"é".repeat(5_000));
    let tags = |n: usize| vec!["tag=x"; n].join("&");
    let words65: Vec<String> = (0..65).map(|i| format!("w{i}")).collect();
    #[rustfmt::skip]
    let cases: Vec<(&str, String, &str, &str)> = vec![
        // (case, query, loc, type)
        ("percent garbage in a name", "%zz=1".into(), "query/%zz", "extra_forbidden"),
        ("percent garbage in limit", "limit=%31%zz".into(), "query/limit", "int_parsing"),
        ("encoded NUL and CRLF in severity", "severity=%00%0D%0A".into(), "query/severity", "enum"),
        ("encoded RTL override in sort_order", "sort_order=%E2%80%AE".into(), "query/sort_order", "enum"),
        ("percent garbage in start_date", "start_date=%zz%".into(), "query/start_date", "*"),
        ("invalid UTF-8 in a name", "%FF=1".into(), "query/*", "string_unicode"),
        // The query string is decoded strictly: invalid UTF-8 is a 422, never a lossy
        // stand-in that would silently filter on another value.
        ("invalid UTF-8 in user_id", "user_id=%FF%FE".into(), "query/user_id", "*"),
        ("invalid UTF-8 in tag", "tag=%C3%28".into(), "query/tag", "*"),
        ("invalid UTF-8 in q", "q=%ED%A0%80".into(), "query/q", "*"),
        ("a 5,000-char user_id", format!("user_id={a5000}"), "query/user_id", "string_too_long"),
        ("a 5,000-char q of é", format!("q={e5000}"), "query/q", "string_too_long"),
        ("a 5,000-char parameter name", format!("{a5000}=1"), "query/*", "extra_forbidden"),
        ("100 repeated tag params", tags(100), "query/tag", "too_long"),
        ("limit=abc", "limit=abc".into(), "query/limit", "int_parsing"),
        ("limit empty", "limit=".into(), "query/limit", "int_parsing"),
        ("limit=0", "limit=0".into(), "query/limit", "greater_than_equal"),
        ("limit=-5", "limit=-5".into(), "query/limit", "greater_than_equal"),
        ("limit=1001", "limit=1001".into(), "query/limit", "less_than_equal"),
        ("limit=1e3", "limit=1e3".into(), "query/limit", "int_parsing"),
        ("limit twice", "limit=1&limit=2".into(), "query/limit", "value_error"),
        ("offset=99999999999999999999", "offset=99999999999999999999".into(), "query/offset", "*"),
        ("offset=1000001", "offset=1000001".into(), "query/offset", "less_than_equal"),
        ("min_risk_score=-1", "min_risk_score=-1".into(), "query/min_risk_score", "string_pattern_mismatch"),
        ("min_risk_score of 70 digits", format!("min_risk_score={}", "9".repeat(70)), "query/min_risk_score", "string_pattern_mismatch"),
        ("is_resolved=maybe", "is_resolved=maybe".into(), "query/is_resolved", "bool_parsing"),
        ("start_date=2024-02-30", "start_date=2024-02-30".into(), "query/start_date", "*"),
        ("start_date in year 99999", "start_date=99999-01-01".into(), "query/start_date", "*"),
        ("end_date before start_date", "start_date=2024-02-01&end_date=2024-01-01".into(), "query/end_date", "value_error"),
        ("q of 65 words", format!("q={}", words65.join("+")), "query/q", "value_error"),
        ("tenant naming another tenant", "tenant=acme".into(), "query/tenant", "value_error"),
    ];
    for (case, query, loc, kind) in &cases {
        c.query(&format!("query: {case}"), query, &[(loc, kind)]);
    }
    // The edges that still work.
    c.query_ok(
        "query: a 4,096-char user_id",
        &format!("user_id={}", "a".repeat(4_096)),
    );
    c.query_ok("query: 64 tag params", &tags(64));
    c.query_ok(
        "query: encoded junk as an exact filter value",
        "user_id=%25zz%00%0A",
    );
    // docs/API.md (Limits): a q word longer than 64 bytes is never indexed, so it
    // matches nothing (it must not be dropped, which would match everything).
    let case = "query: q of one 65-byte word matches nothing";
    if let Some(page) = c.query_ok(case, &format!("q={}", "a".repeat(65))) {
        if page["total"] != 0 {
            c.fail(
                case,
                format!("total {} (every event matched)", page["total"]),
            );
        }
    }
    // Query errors are capped at VALIDATION_ITEMS_MAX like body errors.
    let case = "query: 5,000 unknown parameters";
    let many: Vec<String> = (0..5_000).map(|i| format!("p{i}=1")).collect();
    if let Some(r) = c.get(case, &format!("/api/audit-logs?{}", many.join("&"))) {
        let v = serde_json::from_slice::<Value>(&r.body).unwrap_or_default();
        let n = v["detail"].as_array().map_or(0, Vec::len);
        if r.status != 422 || n > VALIDATION_ITEMS_MAX {
            let size = r.body.len();
            c.fail(
                case,
                format!(
                    "{} with {n} items ({size} bytes); at most {VALIDATION_ITEMS_MAX}",
                    r.status
                ),
            );
        }
    }
    let r = c.get(
        "query: summary with limit",
        "/api/audit-logs/summary?limit=5",
    );
    c.check_422(
        "query: summary with limit",
        r,
        &[("query/limit", "extra_forbidden")],
    );
    // A path id must be a UUID; the 422 echoes a bounded input.
    for (case, id) in [
        ("not a UUID", "not-a-uuid".to_owned()),
        ("an encoded NUL", "%00".to_owned()),
        ("an encoded traversal", "%2e%2e%2fkeys".to_owned()),
        ("10,000 chars", "a".repeat(10_000)),
    ] {
        let case = format!("path id: {case}");
        let r = c.get(&case, &format!("/api/audit-logs/{id}"));
        if r.as_ref().is_some_and(|r| r.body.len() > 4096) {
            c.fail(&case, "the 422 echoes the whole input");
        }
        c.check_422(&case, r, &[("path/id", "uuid_parsing")]);
    }
}

fn cursor_abuse(c: &Ctx) {
    for i in 0..3 {
        c.created("cursor: setup", &ev(&format!(r#","action":"CURSOR_{i}""#)));
    }
    let page = c.query_ok("cursor: setup", "sort_order=asc&limit=1");
    let Some(real) = page.and_then(|p| p["next_cursor"].as_str().map(str::to_owned)) else {
        return c.fail("cursor: setup", "no next_cursor");
    };
    let mut flipped = real.clone().into_bytes();
    let last = flipped.len() - 1;
    flipped[last] = if flipped[last] == b'0' { b'1' } else { b'0' };
    let flipped = String::from_utf8(flipped).unwrap();
    #[rustfmt::skip]
    let garbled = [
        ("not hex", "cursor=zz".to_owned()),
        ("empty", "cursor=".to_owned()),
        ("odd length", "cursor=abc".to_owned()),
        ("the right length, a wrong checksum", format!("cursor=01{}", "00".repeat(37))),
        ("one hex digit flipped", format!("sort_order=asc&cursor={flipped}")),
        ("for the other sort order", format!("sort_order=desc&cursor={real}")),
        ("for other filters", format!("sort_order=asc&user_id=x&cursor={real}")),
        ("with offset", format!("sort_order=asc&offset=0&cursor={real}")),
    ];
    for (case, query) in &garbled {
        c.query(
            &format!("cursor: {case}"),
            query,
            &[("query/cursor", "value_error")],
        );
    }
    c.query(
        "cursor: percent-encoded garbage",
        "cursor=%FF%00%zz",
        &[("query/cursor", "string_unicode")],
    );
    // Over the 4,096-char value limit: one or more items, all on the cursor.
    let case = "cursor: 5,000 hex chars";
    if let Some(r) = c.get(
        case,
        &format!("/api/audit-logs?cursor={}", "ab".repeat(2_500)),
    ) {
        let v = serde_json::from_slice::<Value>(&r.body).unwrap_or_default();
        let n = v["detail"].as_array().map_or(1, Vec::len).max(1);
        c.check_422(case, Some(r), &vec![("query/cursor", "*"); n]);
    }
    // Forged cursors: the checksum is no secret, so a client can make a well-formed
    // cursor for any position. An empty or short page (or a 422) is fine; a 5xx is not.
    // lsn = u64::MAX ascending once overflowed in the engine's page_range.
    let filter = Filter::tenant(TenantId::default_tenant());
    let Ok(base) = Cursor::decode(&real, &filter, Order::Asc) else {
        return c.fail("cursor: setup", "the server's cursor does not decode");
    };
    #[rustfmt::skip]
    let extremes: [(u64, i64, u64); 6] = [
        (u64::MAX, i64::MAX, u64::MAX), (0, i64::MIN, 0), (u64::MAX, i64::MIN, 0),
        (0, i64::MAX, u64::MAX), (1, -1, u64::MAX), (0, 0, 0),
    ];
    for (lsn, created_at_us, seq) in extremes {
        for (order, name) in [(Order::Asc, "asc"), (Order::Desc, "desc")] {
            let forged = Cursor {
                lsn: Lsn(lsn),
                created_at_us,
                seq: Seq(seq),
                order,
                ..base
            };
            let case =
                format!("cursor: forged, lsn={lsn} created_at_us={created_at_us} seq={seq} {name}");
            let path = format!(
                "/api/audit-logs?sort_order={name}&limit=5&cursor={}",
                forged.encode()
            );
            match c.get(&case, &path) {
                Some(r) if r.status == 422 => {
                    c.check_422(&case, Some(r), &[("query/cursor", "value_error")])
                }
                Some(r) if r.status != 200 && r.status < 500 => c.check_status(&case, Some(r), 200),
                _ => {} // 200, or a 5xx already recorded
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// Headers.
// ---------------------------------------------------------------------------------------

fn header_abuse(c: &Ctx) {
    let tenant_error = [("header/X-Tenant-Id", "string_pattern_mismatch")];
    let t65 = "t".repeat(65);
    #[rustfmt::skip]
    let tenants = [
        ("spaces", "acme corp"), ("65 chars", &t65), ("non-ASCII", "tenänt"), ("empty", ""),
        ("a path", "../etc"), ("a tab", "a\tb"), ("a star", "*"),
    ];
    for (case, tenant) in tenants {
        let h = [("X-Tenant-Id", tenant)];
        let case = format!("X-Tenant-Id {case}");
        let r = c.send(&case, "GET", "/api/audit-logs", &h, b"");
        c.check_422(&format!("{case}, read"), r, &tenant_error);
        let r = c.send(&case, "POST", "/api/audit-logs", &h, &ev(""));
        c.check_422(&format!("{case}, ingest"), r, &tenant_error);
    }
    let t64 = "T".repeat(64);
    let r = c.send(
        "X-Tenant-Id of 64 chars",
        "GET",
        "/api/audit-logs",
        &[("X-Tenant-Id", &t64)],
        b"",
    );
    c.check_status("X-Tenant-Id of 64 chars", r, 200);
    let key_error = [("header/Idempotency-Key", "string_pattern_mismatch")];
    let k300 = "k".repeat(300);
    for (case, key) in [
        ("300 chars", k300.as_str()),
        ("non-ASCII", "ключ"),
        ("empty", ""),
    ] {
        let case = format!("Idempotency-Key {case}");
        let r = c.send(
            &case,
            "POST",
            "/api/audit-logs",
            &[("Idempotency-Key", key)],
            &ev(""),
        );
        c.check_422(&case, r, &key_error);
    }
    let k255 = "k".repeat(255);
    let case = "Idempotency-Key of 255 chars";
    let r = c.send(
        case,
        "POST",
        "/api/audit-logs",
        &[("Idempotency-Key", &k255)],
        &ev(""),
    );
    c.check_status(case, r, 201);
    // Garbage credentials: 401 with a JSON detail.
    let big_token = format!("Bearer {}", "x".repeat(10_000));
    for (case, value) in [
        ("a 10 KB token", big_token.as_str()),
        ("a non-ASCII token", "Bearer tökén"),
    ] {
        let r = try_request(
            c.addr,
            "GET",
            "/api/audit-logs",
            &[("Authorization", value)],
            b"",
        );
        c.check_detail(&format!("Authorization: {case}"), r.ok(), 401);
    }
    // An over-long X-Request-Id is replaced, not echoed.
    let rid = "r".repeat(10_000);
    if let Ok(r) = try_request(c.addr, "GET", "/healthz", &[("X-Request-Id", &rid)], b"") {
        let echoed = r.header("x-request-id").map_or(0, str::len);
        if r.status != 200 || !(1..=128).contains(&echoed) {
            c.fail(
                "X-Request-Id of 10,000 chars",
                format!("{}, echoed {echoed} chars", r.status),
            );
        }
    }
    // Huge or broken header sections: 431 or 400, or a closed connection.
    let big = |bytes: usize| {
        format!(
            "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Junk: {}\r\nConnection: close\r\n\r\n",
            "a".repeat(bytes)
        )
    };
    // Request heads are capped at HEADER_BYTES_MAX (64 KiB): past it, 431.
    c.refused(
        "a 200 KiB header",
        &raw(c.addr, big(200 * 1024).as_bytes()),
        &[431],
    );
    c.refused("a 1 MiB header", &raw(c.addr, big(MIB).as_bytes()), &[431]);
    let many: String = (0..500).map(|i| format!("X-H{i}: v\r\n")).collect();
    let req = format!("GET /healthz HTTP/1.1\r\nHost: x\r\n{many}Connection: close\r\n\r\n");
    c.refused("500 headers", &raw(c.addr, req.as_bytes()), &[431]);
    #[rustfmt::skip]
    let broken = [
        ("a NUL in a header value", "X-A: a\0b"),
        ("a bare CR in a header value", "X-A: a\rb"),
        ("a space in a header name", "X Bad: 1"),
        ("a header line without a colon", "NoColonHere"),
        ("obsolete line folding", "X-A: 1\r\n  folded"),
    ];
    for (case, line) in broken {
        let req =
            format!("GET /healthz HTTP/1.1\r\nHost: x\r\n{line}\r\nConnection: close\r\n\r\n");
        c.refused(
            &format!("header: {case}"),
            &raw(c.addr, req.as_bytes()),
            &[400],
        );
    }
}

// ---------------------------------------------------------------------------------------
// Broken HTTP.
// ---------------------------------------------------------------------------------------

/// 4 KiB of seeded noise (xorshift) that does not start like an HTTP/2 preface.
fn noise() -> Vec<u8> {
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut out: Vec<u8> = (0..4096)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect();
    out[0] = 0x01;
    out
}

fn protocol_abuse(c: &Ctx) {
    let auth = c.auth.as_str();
    let tls_hello = b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03\x00\x01\x02\x03\r\n\r\n";
    let long_method = format!(
        "{} /healthz HTTP/1.1\r\nHost: x\r\n\r\n",
        "M".repeat(100 * 1024)
    );
    #[rustfmt::skip]
    let garbage: [(&str, &[u8], &[u16]); 9] = [
        ("4 KiB of random bytes", &noise(), &[400]),
        ("a TLS ClientHello", tls_hello, &[400]),
        ("HTTP/9.9", b"GET /healthz HTTP/9.9\r\nHost: x\r\n\r\n", &[400, 505]),
        ("extra words in the request line", b"GET /healthz HTTP/1.1 extra\r\nHost: x\r\n\r\n", &[400]),
        ("no target", b"GET\r\nHost: x\r\n\r\n", &[400]),
        ("raw non-ASCII in the target", b"GET /api/audit-logs?user_id=\xFF HTTP/1.1\r\nHost: x\r\n\r\n", &[400]),
        ("a raw space in the target", b"GET /api/audit logs HTTP/1.1\r\nHost: x\r\n\r\n", &[400]),
        ("bare LF line ends and NULs", b"GET /healthz HTTP/1.1\nHost: x\n\x00\x00\n\n", &[400]),
        ("a 100 KiB method", long_method.as_bytes(), &[400, 405, 431]),
    ];
    for (case, bytes, statuses) in garbage {
        c.refused(&format!("protocol: {case}"), &raw(c.addr, bytes), statuses);
    }
    let r = c.send(
        "protocol: an unknown method",
        "BREW",
        "/api/audit-logs",
        &[],
        b"",
    );
    c.check_detail("protocol: an unknown method", r, 405);
    let r = c.get("protocol: dot segments", "/api/audit-logs/../keys");
    c.check_detail("protocol: dot segments", r, 404);
    // Broken chunked framing: a clear 4xx.
    #[rustfmt::skip]
    let chunked = [
        ("a chunk size that is not hex", "zz\r\n{}\r\n0\r\n\r\n"),
        ("a chunk size overflow", "fffffffffffffffffffff\r\n{}\r\n0\r\n\r\n"),
        ("a chunk longer than its size", "2\r\n{\"event_type\":\"a\"}\r\n0\r\n\r\n"),
    ];
    for (case, body) in chunked {
        let req = format!(
            "POST /api/audit-logs HTTP/1.1\r\nHost: x\r\nAuthorization: {auth}\r\n\
             Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n{body}"
        );
        c.refused(
            &format!("protocol: {case}"),
            &raw(c.addr, req.as_bytes()),
            &[400, 413, 422],
        );
    }
    smuggling(c);
    pipelining(c);
}

/// Content-Length and Transfer-Encoding together: refused, or read as chunked with the
/// connection closed after, so the request smuggled behind it is never served.
fn smuggling(c: &Ctx) {
    let case = "protocol: Content-Length with Transfer-Encoding";
    let auth = c.auth.as_str();
    let event = r#"{"event_type":"smuggle.outer"}"#;
    let req = format!(
        "POST /api/audit-logs HTTP/1.1\r\nHost: x\r\nAuthorization: {auth}\r\n\
         Content-Type: application/json\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n\
         {:x}\r\n{event}\r\n0\r\n\r\n\
         GET /api/audit-logs/summary HTTP/1.1\r\nHost: x\r\nAuthorization: {auth}\r\n\r\n",
        event.len()
    );
    let got = raw(c.addr, req.as_bytes());
    let rs = responses(&got.bytes);
    rs.iter().for_each(|r| c.note(case, r));
    let statuses: Vec<u16> = rs.iter().map(|r| r.status).collect();
    if !matches!(statuses[..], [400] | [201]) || !got.closed {
        c.fail(
            case,
            format!(
                "want [400] or [201] then a close, got {statuses:?}, closed: {}",
                got.closed
            ),
        );
    }
}

/// Several requests in one write on one connection: answered in order.
fn pipelining(c: &Ctx) {
    let case = "protocol: pipelined requests";
    let auth = c.auth.as_str();
    let post = |body: &str| {
        format!(
            "POST /api/audit-logs HTTP/1.1\r\nHost: x\r\nAuthorization: {auth}\r\n\
             Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        )
    };
    let mut req = String::from("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
    req.push_str(&post(r#"{"event_type":"pipelined.one"}"#));
    req.push_str(&post(r#"{"event_type":"pipelined.bad","#));
    req.push_str(&format!(
        "GET /api/audit-logs/01a20184-150d-7b83-b571-dfb571717b61 HTTP/1.1\r\nHost: x\r\nAuthorization: {auth}\r\n\r\n"
    ));
    req.push_str(&"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n".repeat(50));
    req.push_str("GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    let got = raw(c.addr, req.as_bytes());
    let rs = responses(&got.bytes);
    rs.iter().for_each(|r| c.note(case, r));
    let statuses: Vec<u16> = rs.iter().map(|r| r.status).collect();
    let mut want = vec![200, 201, 422, 404];
    want.extend([200; 51]);
    if statuses != want {
        c.fail(case, format!("want {want:?}, got {statuses:?}"));
    }
    if let Some(why) = rs.get(2).and_then(|r| Ctx::problem_422(r, JSON_INVALID)) {
        c.fail(case, why);
    }
}
