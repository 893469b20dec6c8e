//! One kept-alive HTTP/1.1 connection to a receiver (over TLS unless http is allowed),
//! reused by a webhook's dispatcher while the receiver's host still resolves to the
//! same checked address, and dropped after any error, timeout or `Connection: close`.

use std::net::SocketAddr;
use std::time::Duration;

use axum::http::{header, HeaderValue, Request, StatusCode};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use rustls::pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio::task::JoinHandle;
use tokio_rustls::TlsConnector;

use crate::limits::{WEBHOOK_RESPONSE_BYTES_MAX, WEBHOOK_RETRY_AFTER_MAX_S};

/// A receiver's answer.
#[derive(Debug)]
pub struct Answer {
    /// Status.
    pub status: StatusCode,
    /// `Retry-After` in seconds, capped.
    pub retry_after: Option<Duration>,
}

/// An open connection.
#[derive(Debug)]
pub struct Conn {
    /// The checked address it goes to.
    pub addr: SocketAddr,
    /// `scheme://authority` of the URL it was opened for.
    pub origin: String,
    sender: SendRequest<Full<Bytes>>,
    task: JoinHandle<()>,
    reusable: bool,
}

impl Drop for Conn {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Conn {
    /// Connects to `addr` (TLS with `host` as the server name when `tls` is given).
    pub async fn open(
        addr: SocketAddr,
        origin: String,
        host: &str,
        tls: Option<&TlsConnector>,
    ) -> Result<Conn, String> {
        let tcp = TcpStream::connect(addr)
            .await
            .map_err(|e| format!("connecting to {addr}: {e}"))?;
        let _ = tcp.set_nodelay(true);
        let Some(tls) = tls else {
            return Conn::handshake(tcp, addr, origin).await;
        };
        let name = ServerName::try_from(host.to_owned())
            .map_err(|e| format!("bad TLS server name: {e}"))?;
        let stream = tls
            .connect(name, tcp)
            .await
            .map_err(|e| format!("TLS handshake with {addr}: {e}"))?;
        Conn::handshake(stream, addr, origin).await
    }

    async fn handshake<S>(io: S, addr: SocketAddr, origin: String) -> Result<Conn, String>
    where
        S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(io))
            .await
            .map_err(|e| format!("HTTP handshake: {e}"))?;
        let task = tokio::spawn(async move {
            let _ = conn.await;
        });
        Ok(Conn {
            addr,
            origin,
            sender,
            task,
            reusable: true,
        })
    }

    /// Whether another request may go on this connection.
    pub fn reusable(&self) -> bool {
        self.reusable && !self.sender.is_closed()
    }

    /// Sends `req` and reads (a bounded part of) the answer. After an error, or an
    /// answer that closes or is not fully read, the connection is not reusable.
    pub async fn send(&mut self, req: Request<Full<Bytes>>) -> Result<Answer, String> {
        self.reusable = false;
        self.sender
            .ready()
            .await
            .map_err(|e| format!("connection not ready: {e}"))?;
        let resp = self
            .sender
            .send_request(req)
            .await
            .map_err(|e| format!("sending the request: {e}"))?;
        let status = resp.status();
        let retry_after = resp
            .headers()
            .get(header::RETRY_AFTER)
            .and_then(|v: &HeaderValue| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(|s| Duration::from_secs(s.min(WEBHOOK_RETRY_AFTER_MAX_S)));
        let closes = resp
            .headers()
            .get(header::CONNECTION)
            .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"close"));
        // The content is not used; reading it (bounded) lets the connection be reused.
        let read = http_body_util::Limited::new(resp.into_body(), WEBHOOK_RESPONSE_BYTES_MAX)
            .collect()
            .await;
        self.reusable = read.is_ok() && !closes;
        Ok(Answer {
            status,
            retry_after,
        })
    }
}
