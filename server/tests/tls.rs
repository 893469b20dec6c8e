//! sealogd serves HTTPS from a PEM certificate and key (rustls), and a plain-HTTP
//! client on the TLS port gets nothing but does no harm.
#![allow(clippy::unwrap_used)]

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::Arc;

use common::{parse_response, Server, ADMIN};

#[test]
fn serves_https_with_the_configured_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let (cert_path, key_path) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    std::fs::write(&cert_path, cert.cert.pem()).unwrap();
    std::fs::write(&key_path, cert.signing_key.serialize_pem()).unwrap();
    let s = Server::start_tls(dir.path(), &cert_path, &key_path);

    let mut roots = rustls::RootCertStore::empty();
    roots.add(cert.cert.der().clone()).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let https = |method: &str, path: &str, body: &str| {
        let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
        let conn = rustls::ClientConnection::new(Arc::new(config.clone()), name).unwrap();
        let mut tls = rustls::StreamOwned::new(conn, TcpStream::connect(s.addr).unwrap());
        let req = format!(
            "{method} {path} HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {ADMIN}\r\nContent-Type: application/json\r\nConnection: close\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        tls.write_all(req.as_bytes()).unwrap();
        let mut buf = Vec::new();
        // rustls reports the peer's close without close_notify as an error after the data.
        let _ = tls.read_to_end(&mut buf);
        parse_response(&buf).unwrap()
    };
    let r = https("POST", "/api/audit-logs", r#"{"event_type":"over.tls"}"#);
    assert_eq!(r.status, 201, "{}", r.text());
    let r = https("GET", "/api/audit-logs?event_type=over.tls", "");
    assert_eq!(r.json()["total"], 1);

    // Plain HTTP on the TLS port: no answer that parses, and the server keeps serving.
    let mut plain = TcpStream::connect(s.addr).unwrap();
    plain
        .set_read_timeout(Some(std::time::Duration::from_secs(30)))
        .unwrap();
    plain
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let mut buf = Vec::new();
    let _ = plain.read_to_end(&mut buf);
    assert!(parse_response(&buf).is_none());
    assert_eq!(https("GET", "/healthz", "").status, 200);
}
