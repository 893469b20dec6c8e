//! [`ClientError`]: the tools crate's one error enum, for what can go wrong talking to
//! sealogd. Commands wrap it in `anyhow` with what they were doing.

use std::time::Duration;

/// A failed HTTP exchange, or a URL the client cannot use.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// The URL does not parse, or lacks a host.
    #[error("bad URL {url:?}: {why}")]
    Url { url: String, why: &'static str },
    /// An `https://` URL.
    #[error("TLS not supported by the load tool yet: use an http:// URL instead of {url:?}")]
    TlsUnsupported { url: String },
    /// A header value (token, tenant, key) with characters HTTP does not allow.
    #[error("{name} is not a valid HTTP header value")]
    Header { name: &'static str },
    /// The TCP connection could not be made.
    #[error("cannot connect to {addr}")]
    Connect {
        addr: String,
        source: std::io::Error,
    },
    /// The connection failed or closed during the exchange.
    #[error("HTTP exchange with {addr} failed")]
    Http { addr: String, source: hyper::Error },
    /// No complete response within the request timeout.
    #[error("no complete response from {addr} within {timeout:?}")]
    Timeout { addr: String, timeout: Duration },
    /// The response body passed the client's limit.
    #[error("response from {addr} is larger than {bytes_max} bytes")]
    BodyTooLarge { addr: String, bytes_max: usize },
}

impl ClientError {
    /// Whether the request may not have reached the server, or its answer was lost, so
    /// that sending it again (with the same idempotency key) is the way forward.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            ClientError::Connect { .. } | ClientError::Http { .. } | ClientError::Timeout { .. }
        )
    }
}
