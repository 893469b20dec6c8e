//! Test harness: starts the real `sealogd` binary on a loopback port with a temp data
//! dir and talks HTTP/1.1 to it over plain sockets (so tests can also send broken bytes).
#![allow(dead_code, clippy::unwrap_used)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

/// The admin token every test server gets (`SEALOG_ADMIN_TOKEN`).
pub const ADMIN: &str = "test-admin-token-0123456789";

/// A running sealogd.
pub struct Server {
    pub child: Option<Child>,
    pub addr: SocketAddr,
    pub dir: PathBuf,
    pub log: PathBuf,
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Server {
    /// Starts sealogd on `dir` (kept by the caller) with extra flags.
    pub fn start_in(dir: &Path, extra: &[&str]) -> Server {
        for attempt in 0..5 {
            let port = free_port();
            let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
            let log = dir.join(format!("sealogd-{port}.log"));
            let out = std::fs::File::create(&log).unwrap();
            let child = Command::new(env!("CARGO_BIN_EXE_sealogd"))
                .arg("--data-dir")
                .arg(dir.join("data"))
                .arg("--listen")
                .arg(addr.to_string())
                .args(extra)
                .env("SEALOG_ADMIN_TOKEN", ADMIN)
                .env("RUST_LOG", "info")
                .stdout(Stdio::null())
                .stderr(out)
                .spawn()
                .unwrap();
            let mut server = Server {
                child: Some(child),
                addr,
                dir: dir.to_path_buf(),
                log,
            };
            if server.wait_healthy(Duration::from_secs(60)) {
                return server;
            }
            let _ = server.child.as_mut().unwrap().kill();
            let _ = server.child.as_mut().unwrap().wait();
            eprintln!(
                "sealogd did not come up (attempt {attempt}):\n{}",
                server.log_text()
            );
        }
        panic!("sealogd did not start");
    }

    /// Starts sealogd serving HTTPS; `wait_healthy` cannot speak TLS, so this waits for
    /// the log line that says it is serving.
    pub fn start_tls(dir: &Path, cert: &Path, key: &Path) -> Server {
        let port = free_port();
        let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
        let log = dir.join(format!("sealogd-{port}.log"));
        let child = Command::new(env!("CARGO_BIN_EXE_sealogd"))
            .arg("--data-dir")
            .arg(dir.join("data"))
            .arg("--listen")
            .arg(addr.to_string())
            .arg("--tls-cert")
            .arg(cert)
            .arg("--tls-key")
            .arg(key)
            .env("SEALOG_ADMIN_TOKEN", ADMIN)
            .env("RUST_LOG", "info")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        let server = Server {
            child: Some(child),
            addr,
            dir: dir.to_path_buf(),
            log,
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        while !server.log_text().contains("sealogd is serving") {
            assert!(
                Instant::now() < deadline,
                "sealogd (TLS) did not start:\n{}",
                server.log_text()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        server
    }

    fn wait_healthy(&mut self, within: Duration) -> bool {
        let deadline = Instant::now() + within;
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.as_mut().unwrap().try_wait() {
                return false;
            }
            if let Ok(r) = try_request(self.addr, "GET", "/healthz", &[], b"") {
                if r.status == 200 {
                    return true;
                }
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        false
    }

    /// The server's log so far.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// SIGKILL, no chance to clean up.
    pub fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            c.kill().unwrap();
            c.wait().unwrap();
        }
    }

    /// SIGTERM and wait for a clean exit; returns the exit status.
    pub fn stop(&mut self) -> std::process::ExitStatus {
        let mut c = self.child.take().unwrap();
        let pid = c.id().to_string();
        Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(s) = c.try_wait().unwrap() {
                return s;
            }
            assert!(
                Instant::now() < deadline,
                "sealogd did not stop after SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// SIGTERM, and asserts a clean exit; if not, the failure shows the exit status
    /// and the server's log.
    pub fn stop_cleanly(&mut self) {
        let status = self.stop();
        assert!(
            status.success(),
            "sealogd exited with {status} after SIGTERM; its log:\n{}",
            self.log_text()
        );
    }

    /// A request with the admin key.
    pub fn admin(&self, method: &str, path: &str, body: &[u8]) -> Resp {
        self.req(
            method,
            path,
            &[("Authorization", &format!("Bearer {ADMIN}"))],
            body,
        )
    }

    /// A request with these headers.
    pub fn req(&self, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Resp {
        match try_request(self.addr, method, path, headers, body) {
            Ok(r) => r,
            Err(e) => panic!("{method} {path}: {e}\nserver log:\n{}", self.log_text()),
        }
    }

    /// Creates a key; returns its token.
    pub fn key(&self, role: &str, tenant: &str) -> String {
        let body =
            serde_json::json!({"name": format!("{role}-{tenant}"), "role": role, "tenant": tenant});
        let r = self.admin("POST", "/api/keys", body.to_string().as_bytes());
        assert_eq!(r.status, 201, "{}", r.text());
        r.json()["token"].as_str().unwrap().to_owned()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// An HTTP response.
#[derive(Debug, Clone)]
pub struct Resp {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Resp {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text()))
    }
    /// The `loc`s of a 422.
    pub fn locs(&self) -> Vec<Value> {
        assert_eq!(self.status, 422, "{}", self.text());
        self.json()["detail"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["loc"].clone())
            .collect()
    }
}

/// One request on a fresh connection (`Connection: close`).
pub fn try_request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> std::io::Result<Resp> {
    let mut s = TcpStream::connect(addr)?;
    s.set_read_timeout(Some(Duration::from_secs(120)))?;
    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    let mut has_type = false;
    for (k, v) in headers {
        has_type |= k.eq_ignore_ascii_case("content-type");
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    if !body.is_empty() && !has_type {
        head.push_str("Content-Type: application/json\r\n");
    }
    head.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
    s.write_all(head.as_bytes())?;
    if let Err(e) = s.write_all(body) {
        // The server may answer (413) and close before the whole body is sent: the
        // answer is then still readable, unless the close reset the connection.
        return read_response(&mut s).map_err(|_| e);
    }
    read_response(&mut s)
}

/// A request that declares a `Content-Length` of `len` but sends no body: for limits the
/// server must enforce from the headers alone (sending the body would race its close).
pub fn declared_only(addr: SocketAddr, method: &str, path: &str, len: usize) -> Resp {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {ADMIN}\r\nContent-Type: application/json\r\nConnection: close\r\nContent-Length: {len}\r\n\r\n"
    );
    s.write_all(head.as_bytes()).unwrap();
    read_response(&mut s).unwrap()
}

/// Reads one response (Content-Length or chunked, or to EOF).
pub fn read_response(s: &mut TcpStream) -> std::io::Result<Resp> {
    let mut buf = Vec::new();
    s.read_to_end(&mut buf)?;
    parse_response(&buf).ok_or_else(|| {
        std::io::Error::other(format!("bad response: {:?}", String::from_utf8_lossy(&buf)))
    })
}

/// Parses one raw response.
pub fn parse_response(buf: &[u8]) -> Option<Resp> {
    let end = buf.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = std::str::from_utf8(&buf[..end]).ok()?;
    let mut lines = head.split("\r\n");
    let status: u16 = lines.next()?.split(' ').nth(1)?.parse().ok()?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| {
            l.split_once(':')
                .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        })
        .collect();
    let raw = &buf[end + 4..];
    let chunked = headers
        .iter()
        .any(|(k, v)| k.eq_ignore_ascii_case("transfer-encoding") && v.contains("chunked"));
    let body = if chunked {
        let mut out = Vec::new();
        let mut rest = raw;
        loop {
            let line_end = rest.windows(2).position(|w| w == b"\r\n")?;
            let size = usize::from_str_radix(
                std::str::from_utf8(&rest[..line_end])
                    .ok()?
                    .split(';')
                    .next()?
                    .trim(),
                16,
            )
            .ok()?;
            rest = &rest[line_end + 2..];
            if size == 0 {
                break;
            }
            out.extend_from_slice(rest.get(..size)?);
            rest = rest.get(size + 2..)?;
        }
        out
    } else {
        raw.to_vec()
    };
    Some(Resp {
        status,
        headers,
        body,
    })
}

/// A realistic event as JSON text (the engine's generator, seeded).
pub fn events(seed: u64, n: usize) -> Vec<String> {
    let mut g = sealog_engine::gen::Generator::new(sealog_engine::gen::GenConfig {
        seed,
        count: n as u64,
        ..Default::default()
    });
    (0..n)
        .map(|_| {
            let mut out = Vec::new();
            g.write_json_into(&mut out);
            String::from_utf8(out).unwrap()
        })
        .collect()
}

/// Reads every event of a tenant in seq order through the API (asc, cursor paging) and
/// checks the chain: seq 1.., prev_hash links. Returns the events.
pub fn read_chain(server: &Server, token: &str, tenant: Option<&str>) -> Vec<Value> {
    let mut out: Vec<Value> = Vec::new();
    let mut cursor: Option<String> = None;
    let auth = format!("Bearer {token}");
    loop {
        let mut path = "/api/audit-logs?sort_order=asc&limit=1000".to_owned();
        if let Some(c) = &cursor {
            path.push_str(&format!("&cursor={c}"));
        }
        let mut headers = vec![("Authorization", auth.as_str())];
        if let Some(t) = tenant {
            headers.push(("X-Tenant-Id", t));
        }
        let r = server.req("GET", &path, &headers, b"");
        assert_eq!(r.status, 200, "{}", r.text());
        let page = r.json();
        out.extend(page["audit_logs"].as_array().unwrap().iter().cloned());
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    let mut prev = "0".repeat(64);
    for (i, e) in out.iter().enumerate() {
        assert_eq!(e["seq"].as_u64().unwrap(), i as u64 + 1, "seq gap at {i}");
        assert_eq!(
            e["prev_hash"].as_str().unwrap(),
            prev,
            "broken link at seq {}",
            i + 1
        );
        prev = e["hash"].as_str().unwrap().to_owned();
    }
    out
}

/// A Python with exactly these packages (distribution, version): the system one if it
/// has them, else a venv created once under the cargo target dir (`venv` names it) with
/// the packages from PyPI.
pub fn python_with(venv: &str, packages: &[(&str, &str)]) -> PathBuf {
    let names: Vec<String> = packages.iter().map(|(n, _)| format!("{n:?}")).collect();
    let pins: Vec<String> = packages.iter().map(|(_, v)| format!("{v:?}")).collect();
    let probe = format!(
        "import importlib.metadata as m, sys\n\
         sys.exit([m.version(n) for n in [{}]] != [{}])",
        names.join(", "),
        pins.join(", ")
    );
    let ok = |py: &Path| {
        Command::new(py)
            .args(["-c", &probe])
            .output()
            .is_ok_and(|o| o.status.success())
    };
    let system = PathBuf::from("python3");
    if ok(&system) {
        return system;
    }
    let venv = Path::new(env!("CARGO_TARGET_TMPDIR")).join(venv);
    let py = venv.join("bin/python3");
    if !ok(&py) {
        let made = Command::new("python3")
            .args(["-m", "venv"])
            .arg(&venv)
            .status();
        assert!(
            made.is_ok_and(|s| s.success()),
            "this test needs python3 with the venv module"
        );
        let specs: Vec<String> = packages.iter().map(|(n, v)| format!("{n}=={v}")).collect();
        let pip = Command::new(&py)
            .args(["-m", "pip", "install", "--quiet"])
            .args(&specs)
            .status();
        assert!(
            pip.is_ok_and(|s| s.success()),
            "pip install {} failed (PyPI unreachable?)",
            specs.join(" ")
        );
    }
    py
}
