//! Splitting an export into records: NDJSON lines, or the elements of a JSON array,
//! each bounded by [`EXPORT_RECORD_BYTES_MAX`] and tagged with the line it starts on.
//! Never holds more than one record in memory, whatever the input.

use std::io::{self, BufRead, Read};

use crate::limits;

/// Longest export record (an NDJSON line, or one element of a JSON array) read: the
/// largest stored body ([`limits::RECORD_BYTES_MAX`]) plus room for `hash`, `is_resolved`
/// and a resolution overlay. A longer record is reported, never buffered whole.
pub const EXPORT_RECORD_BYTES_MAX: usize = limits::RECORD_BYTES_MAX + 64 * 1024;

/// One record of an export.
#[derive(Debug)]
pub(crate) enum Record {
    /// A record's bytes, and the 1-based line it starts on.
    Event {
        /// Line number.
        line: u64,
        /// The record.
        bytes: Vec<u8>,
    },
    /// A record that could not be cut out (too long, or the array is malformed).
    Bad {
        /// Line number.
        line: u64,
        /// What is wrong.
        why: String,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Nothing read yet.
    Unknown,
    /// NDJSON: one record per line, blank lines skipped.
    Lines,
    /// Inside a JSON array, before an element (`first`: none read yet).
    Element { first: bool },
    /// Inside a JSON array, after an element.
    Separator,
    /// After the array's `]`.
    Ended,
    /// After a fault that leaves no way to go on.
    Stopped,
}

/// The records of an export, read one at a time.
#[derive(Debug)]
pub(crate) struct Records<R> {
    reader: R,
    mode: Mode,
    /// The line the reader is on (1-based).
    line: u64,
    bytes_read: u64,
}

impl<R: BufRead> Records<R> {
    pub(crate) fn new(reader: R) -> Self {
        Records {
            reader,
            mode: Mode::Unknown,
            line: 1,
            bytes_read: 0,
        }
    }

    /// Bytes consumed so far (for progress).
    pub(crate) fn bytes_read(&self) -> u64 {
        self.bytes_read
    }

    /// The next record, or `None` at the end.
    pub(crate) fn next_record(&mut self) -> io::Result<Option<Record>> {
        loop {
            match self.mode {
                Mode::Unknown => {
                    self.skip_whitespace()?;
                    self.mode = match self.peek()? {
                        None => return Ok(None),
                        Some(b'[') => {
                            self.consume(1);
                            Mode::Element { first: true }
                        }
                        Some(_) => Mode::Lines,
                    };
                }
                Mode::Lines => return self.next_line(),
                Mode::Element { first } => return self.next_element(first),
                Mode::Separator => {
                    self.skip_whitespace()?;
                    match self.peek()? {
                        Some(b',') => {
                            self.consume(1);
                            self.mode = Mode::Element { first: false };
                        }
                        Some(b']') => {
                            self.consume(1);
                            self.mode = Mode::Ended;
                        }
                        found => return Ok(Some(self.fail(expected("',' or ']'", found)))),
                    }
                }
                Mode::Stopped => return Ok(None),
                Mode::Ended => {
                    self.skip_whitespace()?;
                    return match self.peek()? {
                        None => Ok(None),
                        Some(b) => {
                            let why = expected("nothing after the array's ']'", Some(b));
                            Ok(Some(self.fail(why)))
                        }
                    };
                }
            }
        }
    }

    /// A fault after which nothing more can be cut out reliably: reading stops.
    fn fail(&mut self, why: String) -> Record {
        self.mode = Mode::Stopped;
        Record::Bad {
            line: self.line,
            why,
        }
    }

    fn next_line(&mut self) -> io::Result<Option<Record>> {
        loop {
            let start = self.line;
            let mut buf = Vec::new();
            let limit = EXPORT_RECORD_BYTES_MAX as u64 + 1;
            let n = self
                .reader
                .by_ref()
                .take(limit)
                .read_until(b'\n', &mut buf)?;
            if n == 0 {
                return Ok(None);
            }
            self.bytes_read += n as u64;
            if buf.last() == Some(&b'\n') {
                self.line += 1;
            } else if buf.len() > EXPORT_RECORD_BYTES_MAX {
                self.skip_line()?;
                self.line += 1;
                let why = format!("the line is longer than {EXPORT_RECORD_BYTES_MAX} bytes");
                return Ok(Some(Record::Bad { line: start, why }));
            }
            if buf.iter().all(|b| b.is_ascii_whitespace()) {
                continue;
            }
            return Ok(Some(Record::Event {
                line: start,
                bytes: buf,
            }));
        }
    }

    /// Skips to just past the next newline (or the end).
    fn skip_line(&mut self) -> io::Result<()> {
        loop {
            let buf = self.reader.fill_buf()?;
            if buf.is_empty() {
                return Ok(());
            }
            match memchr::memchr(b'\n', buf) {
                Some(p) => {
                    self.consume(p + 1);
                    return Ok(());
                }
                None => {
                    let n = buf.len();
                    self.consume(n);
                }
            }
        }
    }

    /// Cuts out one array element: an object, from `{` to its matching `}`.
    fn next_element(&mut self, first: bool) -> io::Result<Option<Record>> {
        self.skip_whitespace()?;
        match self.peek()? {
            Some(b'{') => {}
            Some(b']') if first => {
                self.consume(1);
                self.mode = Mode::Ended;
                return self.next_record();
            }
            found => return Ok(Some(self.fail(expected("an event object", found)))),
        }
        let start = self.line;
        let mut scan = ObjectScan::default();
        let mut bytes = Vec::new();
        loop {
            let buf = self.reader.fill_buf()?;
            if buf.is_empty() {
                let why = format!("the array ends inside the element that starts on line {start}");
                return Ok(Some(self.fail(why)));
            }
            let (used, done) = scan.feed(buf);
            let newlines = memchr::memchr_iter(b'\n', &buf[..used]).count() as u64;
            bytes.extend_from_slice(&buf[..used]);
            self.consume(used);
            self.line += newlines;
            if bytes.len() > EXPORT_RECORD_BYTES_MAX {
                let why = format!(
                    "the element that starts on line {start} is longer than {EXPORT_RECORD_BYTES_MAX} bytes"
                );
                return Ok(Some(self.fail(why)));
            }
            if done {
                self.mode = Mode::Separator;
                return Ok(Some(Record::Event { line: start, bytes }));
            }
        }
    }

    fn skip_whitespace(&mut self) -> io::Result<()> {
        loop {
            let buf = self.reader.fill_buf()?;
            if buf.is_empty() {
                return Ok(());
            }
            let n = buf
                .iter()
                .position(|b| !matches!(b, b' ' | b'\t' | b'\n' | b'\r'))
                .unwrap_or(buf.len());
            let newlines = memchr::memchr_iter(b'\n', &buf[..n]).count() as u64;
            let all = n == buf.len();
            self.consume(n);
            self.line += newlines;
            if !all {
                return Ok(());
            }
        }
    }

    fn peek(&mut self) -> io::Result<Option<u8>> {
        Ok(self.reader.fill_buf()?.first().copied())
    }

    fn consume(&mut self, n: usize) {
        self.reader.consume(n);
        self.bytes_read += n as u64;
    }
}

fn expected(what: &str, found: Option<u8>) -> String {
    match found {
        None => format!("expected {what}, found the end of the file"),
        Some(b) if b.is_ascii_graphic() => format!("expected {what}, found '{}'", b as char),
        Some(b) => format!("expected {what}, found byte 0x{b:02x}"),
    }
}

/// Finds the end of a JSON object, aware of strings and escapes (the text is checked
/// strictly later, by the parser: this only has to find where it ends).
#[derive(Debug, Default)]
struct ObjectScan {
    depth: u32,
    in_string: bool,
    escaped: bool,
}

impl ObjectScan {
    /// Consumes bytes of `buf`; returns how many belong to the object, and whether it
    /// ended there.
    fn feed(&mut self, buf: &[u8]) -> (usize, bool) {
        for (i, &b) in buf.iter().enumerate() {
            if self.in_string {
                if self.escaped {
                    self.escaped = false;
                } else if b == b'\\' {
                    self.escaped = true;
                } else if b == b'"' {
                    self.in_string = false;
                }
                continue;
            }
            match b {
                b'"' => self.in_string = true,
                b'{' | b'[' => self.depth += 1,
                b'}' | b']' => {
                    self.depth = self.depth.saturating_sub(1);
                    if self.depth == 0 {
                        return (i + 1, true);
                    }
                }
                _ => {}
            }
        }
        (buf.len(), false)
    }
}
