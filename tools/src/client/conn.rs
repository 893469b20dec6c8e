//! [`Conn`]: one keep-alive HTTP/1.1 connection, one request at a time, reconnecting
//! after a failure. A load generator needs exactly this (one connection per worker, so
//! `--concurrency` means connections); a pooled client would hide how many there are.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::client::conn::http1::{self, SendRequest};
use hyper::client::conn::TrySendError;
use hyper::header::CONNECTION;
use hyper::{HeaderMap, Request, StatusCode};
use hyper_util::rt::TokioIo;

use super::{ClientError, Endpoint};

/// Largest response body read. Batch replies (10,000 ids) and query pages of 1,000
/// events stay well below; past it the server is misbehaving.
pub const RESPONSE_BYTES_MAX: usize = 64 * 1024 * 1024;

/// A complete response.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

/// One connection to `endpoint`, opened on first use and after any failure.
#[derive(Debug)]
pub struct Conn {
    endpoint: Arc<Endpoint>,
    timeout: Duration,
    sender: Option<SendRequest<Full<Bytes>>>,
}

impl Conn {
    /// A connection to `endpoint` whose exchanges each take at most `timeout`.
    pub fn new(endpoint: Arc<Endpoint>, timeout: Duration) -> Conn {
        Conn {
            endpoint,
            timeout,
            sender: None,
        }
    }

    /// The server this connection talks to.
    pub fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    /// Sends `req` and reads the whole response, within the timeout. After an error the
    /// connection is dropped and the next call opens a new one.
    pub async fn send(&mut self, req: Request<Full<Bytes>>) -> Result<Reply, ClientError> {
        match tokio::time::timeout(self.timeout, self.exchange(req)).await {
            Ok(Ok(reply)) => {
                let close = reply
                    .headers
                    .get(CONNECTION)
                    .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"close"));
                if close {
                    self.sender = None;
                }
                Ok(reply)
            }
            Ok(Err(e)) => {
                self.sender = None;
                Err(e)
            }
            Err(_) => {
                self.sender = None;
                Err(ClientError::Timeout {
                    addr: self.endpoint.authority().to_owned(),
                    timeout: self.timeout,
                })
            }
        }
    }

    async fn exchange(&mut self, req: Request<Full<Bytes>>) -> Result<Reply, ClientError> {
        let reused = self.sender.as_ref().is_some_and(|s| !s.is_closed());
        let mut sender = match self.sender.take() {
            Some(s) if reused => s,
            _ => self.connect().await?,
        };
        let http_err = |source| ClientError::Http {
            addr: self.endpoint.authority().to_owned(),
            source,
        };
        let response = match Self::try_send(&mut sender, req).await {
            Ok(r) => r,
            Err(mut e) => match e.take_message() {
                // The server may close an idle keep-alive connection just as we reuse
                // it: a request that was not sent goes once more on a fresh connection.
                Some(req) if reused => {
                    sender = self.connect().await?;
                    Self::try_send(&mut sender, req)
                        .await
                        .map_err(|e| http_err(e.into_error()))?
                }
                _ => return Err(http_err(e.into_error())),
            },
        };
        let (parts, body) = response.into_parts();
        let body = Limited::new(body, RESPONSE_BYTES_MAX)
            .collect()
            .await
            .map_err(|e| match e.downcast::<hyper::Error>() {
                Ok(source) => http_err(*source),
                Err(_) => ClientError::BodyTooLarge {
                    addr: self.endpoint.authority().to_owned(),
                    bytes_max: RESPONSE_BYTES_MAX,
                },
            })?
            .to_bytes();
        self.sender = Some(sender);
        Ok(Reply {
            status: parts.status,
            headers: parts.headers,
            body,
        })
    }

    async fn try_send(
        sender: &mut SendRequest<Full<Bytes>>,
        req: Request<Full<Bytes>>,
    ) -> Result<hyper::Response<hyper::body::Incoming>, TrySendError<Request<Full<Bytes>>>> {
        // `ready` fails only when the connection is gone; `try_send_request` then
        // reports that too, with the request handed back.
        let _ = sender.ready().await;
        sender.try_send_request(req).await
    }

    async fn connect(&self) -> Result<SendRequest<Full<Bytes>>, ClientError> {
        let addr = self.endpoint.authority().to_owned();
        let stream = tokio::net::TcpStream::connect(self.endpoint.socket())
            .await
            .map_err(|source| ClientError::Connect {
                addr: addr.clone(),
                source,
            })?;
        // Requests are small and latency is what is measured: no Nagle delay.
        stream
            .set_nodelay(true)
            .map_err(|source| ClientError::Connect {
                addr: addr.clone(),
                source,
            })?;
        let (sender, connection) = http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|source| ClientError::Http { addr, source })?;
        // Drives the socket; ends when `sender` is dropped or the server closes.
        tokio::spawn(async move {
            let _ = connection.await;
        });
        Ok(sender)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::stand_in::{reply, StandIn};
    use hyper::Method;

    fn get(endpoint: &Endpoint) -> Request<Full<Bytes>> {
        endpoint
            .request(Method::GET, "/healthz")
            .body(Full::new(Bytes::new()))
            .unwrap()
    }

    #[test]
    fn a_silent_server_times_out() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        // The kernel completes the handshake; nobody ever answers.
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let endpoint = Arc::new(Endpoint::parse(&url, "t").unwrap());
        let mut conn = Conn::new(endpoint.clone(), Duration::from_millis(200));
        let err = rt.block_on(conn.send(get(&endpoint))).unwrap_err();
        assert!(matches!(err, ClientError::Timeout { .. }), "{err}");
        assert!(err.is_transient());
        drop(listener);
    }

    #[test]
    fn keeps_going_after_the_server_closes() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let server = rt.block_on(StandIn::start(|n, _| match n {
            1 => reply(200, "{}", &[("connection", "close")]),
            _ => reply(200, r#"{"ok":true}"#, &[]),
        }));
        let endpoint = Arc::new(Endpoint::parse(&server.url, "t").unwrap());
        let mut conn = Conn::new(endpoint.clone(), Duration::from_secs(5));
        for _ in 0..4 {
            let reply = rt.block_on(conn.send(get(&endpoint))).unwrap();
            assert_eq!(reply.status, StatusCode::OK);
        }
        assert_eq!(server.seen().len(), 4);
        let refused = Endpoint::parse("http://127.0.0.1:1", "t").unwrap();
        let mut conn = Conn::new(Arc::new(refused.clone()), Duration::from_secs(5));
        let err = rt.block_on(conn.send(get(&refused))).unwrap_err();
        assert!(matches!(err, ClientError::Connect { .. }), "{err}");
    }
}
