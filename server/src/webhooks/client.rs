//! The HTTPS client deliveries use: hyper's HTTP/1.1 connection over tokio-rustls
//! (`conn.rs`), to an address resolved and checked against the SSRF rules just before
//! every attempt. A new connection goes to that very address (so a DNS answer cannot
//! change between check and connect); a kept-alive one is reused only while the check
//! yields its address. Redirects are never followed: a 3xx is a failed attempt that is
//! not retried.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use axum::http::{header, Request, StatusCode, Uri};
use bytes::Bytes;
use http_body_util::Full;
use tokio_rustls::TlsConnector;

use super::conn::Conn;
use super::ssrf::{refusal, Cidr};

/// A parsed webhook URL.
#[derive(Debug, Clone)]
pub struct Target {
    https: bool,
    host: String,
    port: u16,
    path: String,
    authority: String,
}

impl Target {
    /// Parses and checks the URL's form (not its addresses); the error says why.
    pub fn parse(url: &str, allow_http: bool) -> Result<Target, String> {
        let uri: Uri = url.parse().map_err(|e| format!("not a valid URL: {e}"))?;
        let https = match uri.scheme_str() {
            Some("https") => true,
            Some("http") if allow_http => false,
            Some("http") => return Err("http:// is not allowed (https only; the operator may allow http with webhook-allow-http)".into()),
            _ => return Err("the URL must start with https://".into()),
        };
        let auth = uri.authority().ok_or("the URL has no host")?;
        if auth.as_str().contains('@') {
            return Err("the URL may not carry user:password@".into());
        }
        if url.contains('#') {
            return Err("the URL may not carry a #fragment".into());
        }
        let host = auth
            .host()
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned();
        if host.is_empty() {
            return Err("the URL has no host".into());
        }
        let port = auth.port_u16().unwrap_or(if https { 443 } else { 80 });
        let path = uri.path_and_query().map_or("/", |p| p.as_str()).to_owned();
        Ok(Target {
            https,
            host,
            port,
            path,
            authority: auth.as_str().to_owned(),
        })
    }

    /// Resolves the host and checks every address; returns one to connect to.
    pub async fn resolve(&self, allow: &[Cidr]) -> Result<SocketAddr, Unreachable> {
        let addrs: Vec<SocketAddr> = match self.host.parse::<IpAddr>() {
            Ok(ip) => vec![SocketAddr::new(ip, self.port)],
            Err(_) => tokio::net::lookup_host((self.host.as_str(), self.port))
                .await
                .map_err(|e| {
                    Unreachable::Unresolved(format!("could not resolve {:?}: {e}", self.host))
                })?
                .collect(),
        };
        let first = *addrs.first().ok_or_else(|| {
            Unreachable::Unresolved(format!("{:?} resolves to no address", self.host))
        })?;
        for a in &addrs {
            if let Some(why) = refusal(a.ip(), allow) {
                return Err(Unreachable::Refused(format!(
                    "{:?} resolves to {}, {why}: refused (SSRF defence; the operator may allow-list it with webhook-allow-cidrs)",
                    self.host,
                    a.ip()
                )));
            }
        }
        Ok(first)
    }
}

/// Why a host may not be delivered to.
#[derive(Debug, Clone)]
pub enum Unreachable {
    /// The name does not resolve (may be temporary).
    Unresolved(String),
    /// It resolves to an address the SSRF rules refuse.
    Refused(String),
}

/// What came of one attempt.
#[derive(Debug)]
pub enum Outcome {
    /// 2xx.
    Delivered(u16),
    /// Worth retrying: connection error, timeout, 5xx, 429.
    Retry {
        /// Status, when the receiver answered.
        status: Option<u16>,
        /// What happened.
        error: String,
        /// The receiver's `Retry-After`, seconds.
        retry_after: Option<Duration>,
    },
    /// Not worth retrying: other 4xx, 3xx, 1xx, refused address.
    Fail {
        /// Status, when the receiver answered.
        status: Option<u16>,
        /// What happened.
        error: String,
    },
}

/// Sends deliveries.
#[derive(Clone)]
pub struct Client {
    tls: TlsConnector,
    allow: Arc<Vec<Cidr>>,
    allow_http: bool,
    timeout: Duration,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("allow", &self.allow)
            .field("allow_http", &self.allow_http)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

/// The rustls client settings: webpki roots plus the extra CA file.
pub fn tls_config(ca_file: Option<&std::path::Path>) -> anyhow::Result<rustls::ClientConfig> {
    use anyhow::Context;
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::CertificateDer;
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    if let Some(path) = ca_file {
        for cert in CertificateDer::pem_file_iter(path)
            .with_context(|| format!("reading webhook-ca-file {}", path.display()))?
        {
            let cert =
                cert.with_context(|| format!("parsing webhook-ca-file {}", path.display()))?;
            roots.add(cert).with_context(|| {
                format!(
                    "webhook-ca-file {}: a certificate is unusable",
                    path.display()
                )
            })?;
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .context("TLS protocol versions")?
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

impl Client {
    /// A client with these settings.
    pub fn new(
        tls: rustls::ClientConfig,
        allow: Arc<Vec<Cidr>>,
        allow_http: bool,
        timeout: Duration,
    ) -> Client {
        Client {
            tls: TlsConnector::from(Arc::new(tls)),
            allow,
            allow_http,
            timeout,
        }
    }

    /// POSTs `body` with `headers` to `url`, within the timeout, reusing the
    /// connection in `slot` when it goes to the address just checked (and leaving
    /// there the connection to reuse next time, if any).
    pub async fn post(
        &self,
        slot: &mut Option<Conn>,
        url: &str,
        headers: Vec<(&'static str, String)>,
        body: Bytes,
    ) -> Outcome {
        let target = match Target::parse(url, self.allow_http) {
            Ok(t) => t,
            Err(error) => {
                *slot = None;
                return Outcome::Fail {
                    status: None,
                    error,
                };
            }
        };
        let attempt = self.attempt(slot, &target, headers, body);
        match tokio::time::timeout(self.timeout, attempt).await {
            Ok(outcome) => outcome,
            Err(_) => {
                *slot = None;
                Outcome::Retry {
                    status: None,
                    error: format!("timed out after {} ms", self.timeout.as_millis()),
                    retry_after: None,
                }
            }
        }
    }

    async fn attempt(
        &self,
        slot: &mut Option<Conn>,
        t: &Target,
        headers: Vec<(&'static str, String)>,
        body: Bytes,
    ) -> Outcome {
        let addr = match t.resolve(&self.allow).await {
            Ok(a) => a,
            Err(Unreachable::Refused(error)) => {
                *slot = None;
                return Outcome::Fail {
                    status: None,
                    error,
                };
            }
            Err(Unreachable::Unresolved(error)) => return retry(error),
        };
        let origin = format!(
            "{}://{}",
            if t.https { "https" } else { "http" },
            t.authority
        );
        let request = || {
            let mut req = Request::post(t.path.as_str()).header(header::HOST, t.authority.as_str());
            for (k, v) in &headers {
                req = req.header(*k, v.as_str());
            }
            req.body(Full::new(body.clone()))
        };
        // A kept-alive connection the receiver closed meanwhile fails at once: then
        // the attempt goes on with a new connection.
        if let Some(conn) = slot
            .as_mut()
            .filter(|c| c.addr == addr && c.origin == origin && c.reusable())
        {
            if let Ok(req) = request() {
                if let Ok(answer) = conn.send(req).await {
                    if !conn.reusable() {
                        *slot = None;
                    }
                    return classify(answer.status, answer.retry_after);
                }
            }
        }
        *slot = None;
        let tls = t.https.then_some(&self.tls);
        let mut conn = match Conn::open(addr, origin, &t.host, tls).await {
            Ok(c) => c,
            Err(e) => return retry(e),
        };
        let req = match request() {
            Ok(r) => r,
            Err(e) => {
                return Outcome::Fail {
                    status: None,
                    error: format!("building the request: {e}"),
                }
            }
        };
        match conn.send(req).await {
            Ok(answer) => {
                if conn.reusable() {
                    *slot = Some(conn);
                }
                classify(answer.status, answer.retry_after)
            }
            Err(e) => retry(e),
        }
    }
}

fn retry(error: String) -> Outcome {
    Outcome::Retry {
        status: None,
        error,
        retry_after: None,
    }
}

fn classify(status: StatusCode, retry_after: Option<Duration>) -> Outcome {
    let code = status.as_u16();
    if status.is_success() {
        Outcome::Delivered(code)
    } else if status.is_server_error() || code == 429 {
        Outcome::Retry {
            status: Some(code),
            error: format!("receiver answered {status}"),
            retry_after,
        }
    } else if status.is_redirection() {
        Outcome::Fail {
            status: Some(code),
            error: format!("receiver answered {status}: redirects are not followed"),
        }
    } else {
        Outcome::Fail {
            status: Some(code),
            error: format!("receiver answered {status}"),
        }
    }
}
