//! A small HTTP/1.1 client for `sealog ingest` and `sealog load`: each [`Conn`] is
//! exactly one keep-alive TCP connection with at most one request in flight, every
//! exchange (connect, send, whole response) bounded by one timeout, every response body
//! bounded in size. `http://` only: TLS is not supported yet.

mod conn;
mod endpoint;
mod error;
mod retry;

pub use conn::{Conn, Reply};
pub use endpoint::Endpoint;
pub use error::ClientError;
pub use retry::{retry_after, RetryPolicy};

#[cfg(test)]
pub mod stand_in;
