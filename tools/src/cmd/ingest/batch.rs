//! [`Batcher`]: cuts an NDJSON stream into request bodies. A batch ends at `--batch`
//! events or before its body would pass [`BATCH_BYTES_MAX`], so the same input and
//! `--batch` always give the same batches (and so the same idempotency keys): that is
//! what makes a re-run with the same key prefix a safe resume. Blank lines are skipped;
//! each event keeps its file line number, so the server's batch index maps back to it.

use std::io::{self, BufRead};

use bytes::Bytes;

/// Longest event line sent (newline excluded): sealogd's limit for one event. A longer
/// line is reported, never sent; reading it holds at most this much in memory.
pub const LINE_BYTES_MAX: usize = 1024 * 1024;
/// Largest batch body: sealogd's batch limit.
pub const BATCH_BYTES_MAX: usize = 32 * 1024 * 1024;
/// Most events in one batch: sealogd's batch limit.
pub const BATCH_EVENTS_MAX: usize = 10_000;
const _: () = assert!(LINE_BYTES_MAX < BATCH_BYTES_MAX);

/// One request's worth of events.
#[derive(Debug, Clone)]
pub struct Batch {
    /// 0, 1, 2, … in file order; the idempotency key's suffix.
    pub index: u64,
    /// The 1-based file line number of each event, in body order.
    pub lines: Vec<u64>,
    /// The events, each followed by `\n`.
    pub body: Bytes,
    /// Input bytes read since the previous batch (for progress).
    pub input_bytes: u64,
}

/// What the batcher yields.
#[derive(Debug)]
pub enum Item {
    Batch(Batch),
    /// A line longer than the limit: not sent.
    TooLong {
        line: u64,
        bytes: u64,
    },
}

enum Line {
    Eof,
    /// The line, without its line ending, is in `Batcher::line`.
    Read,
    TooLong(u64),
}

/// Reads lines from `R` and groups them into batches.
#[derive(Debug)]
pub struct Batcher<R> {
    reader: R,
    events_max: usize,
    line_bytes_max: usize,
    body_bytes_max: usize,
    line: Vec<u8>,
    line_no: u64,
    read_bytes: u64,
    flushed_bytes: u64,
    next_index: u64,
    body: Vec<u8>,
    lines: Vec<u64>,
}

impl<R: BufRead> Batcher<R> {
    /// Batches of at most `events_max` events, within sealogd's byte limits.
    pub fn new(reader: R, events_max: usize) -> Self {
        Self::with_limits(reader, events_max, LINE_BYTES_MAX, BATCH_BYTES_MAX)
    }

    /// As [`Batcher::new`], with other byte limits (tests use tiny ones).
    pub fn with_limits(
        reader: R,
        events_max: usize,
        line_bytes_max: usize,
        body_bytes_max: usize,
    ) -> Self {
        assert!(events_max >= 1 && line_bytes_max < body_bytes_max);
        Batcher {
            reader,
            events_max,
            line_bytes_max,
            body_bytes_max,
            line: Vec::new(),
            line_no: 0,
            read_bytes: 0,
            flushed_bytes: 0,
            next_index: 0,
            body: Vec::new(),
            lines: Vec::new(),
        }
    }

    /// The next batch or over-long line; `None` at the end of the input.
    pub fn next_item(&mut self) -> io::Result<Option<Item>> {
        loop {
            if self.lines.len() >= self.events_max {
                return Ok(Some(Item::Batch(self.flush())));
            }
            match self.read_line()? {
                Line::Eof if self.lines.is_empty() => return Ok(None),
                Line::Eof => return Ok(Some(Item::Batch(self.flush()))),
                Line::TooLong(bytes) => {
                    return Ok(Some(Item::TooLong {
                        line: self.line_no,
                        bytes,
                    }))
                }
                Line::Read if self.line.iter().all(u8::is_ascii_whitespace) => {}
                Line::Read => {
                    let full = self.body.len() + self.line.len() + 1 > self.body_bytes_max;
                    let batch = (full && !self.lines.is_empty()).then(|| self.flush());
                    self.body.extend_from_slice(&self.line);
                    self.body.push(b'\n');
                    self.lines.push(self.line_no);
                    if let Some(batch) = batch {
                        return Ok(Some(Item::Batch(batch)));
                    }
                }
            }
        }
    }

    fn flush(&mut self) -> Batch {
        let batch = Batch {
            index: self.next_index,
            lines: std::mem::take(&mut self.lines),
            body: Bytes::from(std::mem::take(&mut self.body)),
            input_bytes: self.read_bytes - self.flushed_bytes,
        };
        self.next_index += 1;
        self.flushed_bytes = self.read_bytes;
        batch
    }

    /// Reads one line into `self.line`, keeping at most `line_bytes_max + 1` bytes of it
    /// (room for a `\r`), and drops a UTF-8 byte-order mark before the first line.
    fn read_line(&mut self) -> io::Result<Line> {
        self.line.clear();
        let keep_max = self.line_bytes_max + 1;
        let mut len: u64 = 0;
        let mut any = false;
        loop {
            let buf = self.reader.fill_buf()?;
            if buf.is_empty() {
                break;
            }
            any = true;
            let (chunk, used, done) = match memchr::memchr(b'\n', buf) {
                Some(i) => (&buf[..i], i + 1, true),
                None => (buf, buf.len(), false),
            };
            len += chunk.len() as u64;
            let room = keep_max.saturating_sub(self.line.len());
            self.line.extend_from_slice(&chunk[..chunk.len().min(room)]);
            self.reader.consume(used);
            self.read_bytes += used as u64;
            if done {
                break;
            }
        }
        if !any {
            return Ok(Line::Eof);
        }
        self.line_no += 1;
        if self.line.last() == Some(&b'\r') && len as usize <= keep_max {
            self.line.pop();
            len -= 1;
        }
        if self.line_no == 1 && self.line.starts_with(b"\xEF\xBB\xBF") {
            self.line.drain(..3);
            len -= 3;
        }
        if len > self.line_bytes_max as u64 {
            return Ok(Line::TooLong(len));
        }
        Ok(Line::Read)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(input: &str, events_max: usize, line_max: usize, body_max: usize) -> Vec<Item> {
        let mut b = Batcher::with_limits(input.as_bytes(), events_max, line_max, body_max);
        std::iter::from_fn(|| b.next_item().unwrap()).collect()
    }

    fn batch(item: &Item) -> (&[u64], &[u8]) {
        match item {
            Item::Batch(b) => (&b.lines, &b.body),
            Item::TooLong { line, .. } => panic!("line {line} too long"),
        }
    }

    #[test]
    fn splits_by_count_and_skips_blank_lines() {
        let items = all("{\"a\":1}\n\n{\"a\":2}\r\n  \n{\"a\":3}", 2, 100, 1000);
        assert_eq!(items.len(), 2);
        assert_eq!(
            batch(&items[0]),
            (&[1, 3][..], &b"{\"a\":1}\n{\"a\":2}\n"[..])
        );
        assert_eq!(batch(&items[1]), (&[5][..], &b"{\"a\":3}\n"[..]));
        let read: u64 = items
            .iter()
            .map(|i| match i {
                Item::Batch(b) => b.input_bytes,
                Item::TooLong { .. } => 0,
            })
            .sum();
        assert_eq!(read, 28);
        assert!(all("", 2, 100, 1000).is_empty());
        assert!(all("\n \n", 2, 100, 1000).is_empty());
    }

    #[test]
    fn splits_by_bytes_so_no_body_passes_the_limit() {
        // Lines of 9 bytes + newline: 3 fit in 30 bytes, a 4th would not.
        let line = "123456789\n";
        let items = all(&line.repeat(7), 100, 10, 30);
        let sizes: Vec<usize> = items.iter().map(|i| batch(i).1.len()).collect();
        assert_eq!(sizes, [30, 30, 10]);
        assert_eq!(batch(&items[1]).0, &[4, 5, 6]);
        for (k, item) in items.iter().enumerate() {
            let Item::Batch(b) = item else { unreachable!() };
            assert_eq!(b.index, k as u64);
        }
    }

    #[test]
    fn an_over_long_line_is_reported_not_sent() {
        let input = format!(
            "{{}}\n{}\n{{}}\r\n{}\r\n{{}}",
            "x".repeat(11),
            "y".repeat(10)
        );
        let items = all(&input, 100, 10, 1000);
        assert!(matches!(items[0], Item::TooLong { line: 2, bytes: 11 }));
        // The batch around it goes on; a 10-byte line (CRLF not counted) fits.
        assert_eq!(batch(&items[1]).0, &[1, 3, 4, 5]);
        assert_eq!(items.len(), 2);
    }

    #[test]
    fn a_huge_line_is_not_held_in_memory() {
        let huge = "z".repeat(1 << 20);
        let input = format!("{huge}\n{{}}\n");
        let mut b = Batcher::with_limits(input.as_bytes(), 10, 64, 1000);
        let first = b.next_item().unwrap().unwrap();
        assert!(matches!(first, Item::TooLong { line: 1, bytes } if bytes == 1 << 20));
        assert!(b.line.capacity() < 4096);
        assert_eq!(batch(&b.next_item().unwrap().unwrap()).0, &[2]);
    }

    #[test]
    fn a_byte_order_mark_is_dropped() {
        let items = all("\u{feff}{}\n{}\n", 10, 10, 100);
        assert_eq!(batch(&items[0]).1, b"{}\n{}\n");
    }

    #[test]
    fn real_limits_hold() {
        // One batch of two lines just under 1 MiB each, then the byte limit splits.
        let line = format!("{}\n", "q".repeat(LINE_BYTES_MAX));
        let input = line.repeat(40);
        let mut b = Batcher::new(input.as_bytes(), BATCH_EVENTS_MAX);
        let mut sizes = Vec::new();
        while let Some(Item::Batch(batch)) = b.next_item().unwrap() {
            assert!(batch.body.len() <= BATCH_BYTES_MAX);
            sizes.push(batch.lines.len());
        }
        assert_eq!(sizes, [31, 9]);
    }
}
