//! Streaming an export: a producer task runs the cursor a chunk at a time on the
//! blocking pool and hands each encoded chunk to the response body through a channel of
//! [`EXPORT_CHUNKS_QUEUED`]. The body is polled only as fast as the client reads, so a
//! slow client slows the reader (the channel is full, the producer waits) and memory
//! stays at a few chunks whatever the export's size. A client that goes away drops the
//! body, the producer's next send fails, and the work stops there.
//!
//! The first chunk is encoded before the response starts, so an export that fails at
//! once (a damaged event) is a plain 500. A failure later can no longer change the
//! status: the body ends with an error, the connection is cut without the final chunk,
//! and the client sees an incomplete transfer rather than a short file that looks whole.

use axum::body::Body;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::Response;
use bytes::Bytes;
use sealog_engine::export::{Encoder, ExportCursor};
use tokio::sync::mpsc;

use crate::error::ApiError;
use crate::limits::EXPORT_CHUNKS_QUEUED;

type Item = Result<Bytes, std::io::Error>;

/// Smallest buffer a chunk starts with (after a stretch where nothing matched).
const CHUNK_CAPACITY_MIN: usize = 64 * 1024;

/// A cursor and its encoder between chunks.
struct Work {
    cursor: ExportCursor,
    encoder: Box<dyn Encoder>,
    chunk: usize,
    done: bool,
    /// Bytes the next chunk's buffer starts with: the last chunk's size and an eighth
    /// (at least [`CHUNK_CAPACITY_MIN`]), so that a chunk is rarely copied into a grown
    /// buffer.
    capacity: usize,
}

impl Work {
    /// Encodes the next chunk into `out` (with the export's last bytes when it ends);
    /// returns how many events it holds. A filter that matches little may walk its
    /// whole scan budget and find none.
    fn step(&mut self, out: &mut Vec<u8>) -> Result<usize, ApiError> {
        let c = self
            .cursor
            .next_chunk(self.chunk, &mut *self.encoder, out)?;
        if c.done {
            self.done = true;
            self.encoder.end(out);
        }
        self.capacity = (out.len() + out.len() / 8).max(CHUNK_CAPACITY_MIN);
        Ok(c.events)
    }
}

/// Streams the export as a `200` with these headers.
pub async fn respond(
    cursor: ExportCursor,
    encoder: Box<dyn Encoder>,
    chunk: usize,
    content_type: &'static str,
    filename: String,
) -> Result<Response, ApiError> {
    let mut work = Work {
        cursor,
        encoder,
        chunk,
        done: false,
        capacity: chunk * 1024,
    };
    let (work, first) = tokio::task::spawn_blocking(move || {
        let mut out = Vec::with_capacity(work.capacity);
        work.encoder.begin(&mut out);
        let first = loop {
            match work.step(&mut out) {
                Ok(0) if !work.done => continue,
                Ok(_) => break Ok(out),
                Err(e) => break Err(e),
            }
        };
        (work, first)
    })
    .await
    .map_err(|e| ApiError::Internal(format!("export task failed: {e}")))?;
    let first = first?;
    let (tx, rx) = mpsc::channel::<Item>(EXPORT_CHUNKS_QUEUED);
    let done = work.done;
    if !done {
        tokio::spawn(produce(work, tx.clone()));
    }
    drop(tx);
    let head =
        futures_util::stream::once(async move { Ok::<_, std::io::Error>(Bytes::from(first)) });
    let rest = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    });
    let body = Body::from_stream(futures_util::StreamExt::chain(head, rest));
    let mut resp = Response::new(body);
    *resp.status_mut() = StatusCode::OK;
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    let disposition = format!("attachment; filename=\"{filename}\"");
    if let Ok(v) = HeaderValue::from_str(&disposition) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(resp)
}

/// Encodes chunks until the export ends, fails, or the client is gone.
async fn produce(mut work: Work, tx: mpsc::Sender<Item>) {
    loop {
        // Wait for room first: no chunk is encoded that the client is not ready for.
        let Ok(permit) = tx.reserve().await else {
            return;
        };
        let stepped = tokio::task::spawn_blocking(move || {
            let mut out = Vec::with_capacity(work.capacity);
            let r = work.step(&mut out).map(|_| out);
            (work, r)
        })
        .await;
        let (w, out) = match stepped {
            Ok(v) => v,
            Err(e) => {
                tracing::error!(error = %e, "export task failed");
                permit.send(Err(std::io::Error::other("export task failed")));
                return;
            }
        };
        work = w;
        match out {
            // Nothing matched in this stretch: no chunk to send, walk on.
            Ok(bytes) if bytes.is_empty() && !work.done => drop(permit),
            Ok(bytes) => permit.send(Ok(Bytes::from(bytes))),
            Err(e) => {
                tracing::error!(error = ?e, "export stopped mid-stream");
                permit.send(Err(std::io::Error::other(format!("export stopped: {e:?}"))));
                return;
            }
        }
        if work.done {
            return;
        }
    }
}
