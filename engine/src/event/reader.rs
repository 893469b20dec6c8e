//! The JSON reader's state machine: an explicit stack instead of recursion, scratch
//! stacks for members (each container is allocated once, at its exact size), and a
//! duplicate-key check when each object closes.

use std::borrow::Cow;

use super::scan::find_special;

use super::json::{JsonError, JsonErrorReason, Value};

/// Errors are boxed inside the reader: results stay small on the hot path.
type Fail = Box<JsonError>;
use super::keys::find_duplicate;

/// Parses `text` (already checked as UTF-8) as one JSON document.
pub(crate) fn document(text: &str, depth_max: usize) -> Result<Value<'_>, Fail> {
    Parser {
        text,
        bytes: text.as_bytes(),
        pos: 0,
        depth_max,
    }
    .document()
}

/// An open container while parsing: where its members start in the scratch stacks.
struct Frame {
    object: bool,
    start: usize,
    /// Byte offset of the `{` or `[`.
    open_at: usize,
}

/// The scratch stacks: open containers, and the elements and members read so far for
/// all of them (each container takes its own off the top when it closes).
struct Stacks<'a> {
    frames: Vec<Frame>,
    elems: Vec<Value<'a>>,
    members: Vec<(Cow<'a, str>, Value<'a>)>,
}

/// What follows a value that was attached to its container.
enum Step<'a> {
    /// It was the whole document.
    Done(Value<'a>),
    /// Another element or member follows.
    Next,
    /// Its container closed too, and is the next value to attach.
    Closed(Value<'a>),
}

struct Parser<'a> {
    text: &'a str,
    bytes: &'a [u8],
    pos: usize,
    depth_max: usize,
}

impl<'a> Parser<'a> {
    fn err(&self, offset: usize, reason: JsonErrorReason) -> Fail {
        Box::new(JsonError::at(self.bytes, offset, reason))
    }

    /// `expected` at the current position, or `Eof` if the input ended.
    fn expected(&self, expected: &'static str) -> Fail {
        if self.pos >= self.bytes.len() {
            self.err(self.pos, JsonErrorReason::Eof { expected })
        } else {
            self.err(self.pos, JsonErrorReason::Expected { expected })
        }
    }

    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    fn skip_ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.peek() {
            self.pos += 1;
        }
    }

    fn slice(&self, start: usize, end: usize) -> Result<&'a str, Fail> {
        // Both ends sit next to ASCII delimiters, so they are char boundaries; `get`
        // keeps this total even if that reasoning were wrong.
        self.text
            .get(start..end)
            .ok_or_else(|| self.err(start, JsonErrorReason::Utf8))
    }

    /// The whole document: one value, then only whitespace.
    fn document(mut self) -> Result<Value<'a>, Fail> {
        let mut st = Stacks {
            // Sized for a typical event, so the scratch stacks rarely grow.
            frames: Vec::with_capacity(8),
            elems: Vec::with_capacity(16),
            members: Vec::with_capacity(48),
        };
        loop {
            let Some(mut value) = self.value_or_open(&mut st)? else {
                continue; // a container opened: read its first element or member
            };
            loop {
                match self.attach(&mut st, value)? {
                    Step::Done(value) => return Ok(value),
                    Step::Next => break,
                    Step::Closed(closed) => value = closed,
                }
            }
        }
    }

    /// A scalar or empty container, or `None` after opening a non-empty container (and,
    /// for an object, reading its first key).
    fn value_or_open(&mut self, st: &mut Stacks<'a>) -> Result<Option<Value<'a>>, Fail> {
        self.skip_ws();
        let value = match self.peek() {
            Some(open @ (b'{' | b'[')) => {
                if st.frames.len() >= self.depth_max {
                    let max = self.depth_max;
                    return Err(self.err(self.pos, JsonErrorReason::TooDeep { max }));
                }
                let open_at = self.pos;
                self.pos += 1;
                self.skip_ws();
                let object = open == b'{';
                match (object, self.peek()) {
                    (true, Some(b'}')) | (false, Some(b']')) => {
                        self.pos += 1;
                        if object {
                            Value::Object(Vec::new())
                        } else {
                            Value::Array(Vec::new())
                        }
                    }
                    _ => {
                        let start = if object {
                            st.members.len()
                        } else {
                            st.elems.len()
                        };
                        st.frames.push(Frame {
                            object,
                            start,
                            open_at,
                        });
                        if object {
                            self.member_key(&mut st.members)?;
                        }
                        return Ok(None);
                    }
                }
            }
            Some(b'"') => Value::String(self.string()?),
            Some(b't') => self.literal("true", Value::Bool(true))?,
            Some(b'f') => self.literal("false", Value::Bool(false))?,
            Some(b'n') => self.literal("null", Value::Null)?,
            Some(b'-' | b'0'..=b'9') => Value::Number(self.number()?),
            _ => return Err(self.expected("expected a JSON value")),
        };
        Ok(Some(value))
    }

    /// Attaches a finished value to the innermost open container and reads what follows
    /// it (`,` and the next key, or the closing bracket).
    fn attach(&mut self, st: &mut Stacks<'a>, value: Value<'a>) -> Result<Step<'a>, Fail> {
        let Some(frame) = st.frames.last() else {
            self.skip_ws();
            if self.pos != self.bytes.len() {
                return Err(self.err(self.pos, JsonErrorReason::Trailing));
            }
            return Ok(Step::Done(value));
        };
        let (start, open_at) = (frame.start, frame.open_at);
        if !frame.object {
            st.elems.push(value);
            self.skip_ws();
            return match self.peek() {
                Some(b',') => {
                    self.pos += 1;
                    Ok(Step::Next)
                }
                Some(b']') => {
                    self.pos += 1;
                    st.frames.pop();
                    Ok(Step::Closed(Value::Array(
                        st.elems.drain(start..).collect(),
                    )))
                }
                _ => Err(self.expected("expected ',' or ']' after array element")),
            };
        }
        if let Some(last) = st.members.last_mut() {
            last.1 = value;
        }
        self.skip_ws();
        match self.peek() {
            Some(b',') => {
                self.pos += 1;
                self.skip_ws();
                self.member_key(&mut st.members)?;
                Ok(Step::Next)
            }
            Some(b'}') => {
                if let Some(dup) = find_duplicate(&st.members[start..]) {
                    let key = &st.members[start + dup].0;
                    let offset = self.key_offset(key).unwrap_or(open_at);
                    let key = key.to_string();
                    return Err(self.err(offset, JsonErrorReason::DuplicateKey { key }));
                }
                self.pos += 1;
                st.frames.pop();
                Ok(Step::Closed(Value::Object(
                    st.members.drain(start..).collect(),
                )))
            }
            _ => Err(self.expected("expected ',' or '}' after object member")),
        }
    }

    /// `"key" :` pushed as a member whose value is filled in when it is complete.
    fn member_key(&mut self, members: &mut Vec<(Cow<'a, str>, Value<'a>)>) -> Result<(), Fail> {
        if self.peek() != Some(b'"') {
            return Err(self.expected("expected '\"' to start an object key"));
        }
        let key = self.string()?;
        self.skip_ws();
        if self.peek() != Some(b':') {
            return Err(self.expected("expected ':' after object key"));
        }
        self.pos += 1;
        members.push((key, Value::Null));
        Ok(())
    }

    /// Where a key borrowed from the input starts (its `"`), for error messages; `None`
    /// for a key that was unescaped into its own buffer.
    fn key_offset(&self, key: &str) -> Option<usize> {
        let at = (key.as_ptr() as usize).checked_sub(self.text.as_ptr() as usize)?;
        (at > 0 && at <= self.text.len()).then(|| at - 1)
    }

    fn literal(&mut self, word: &'static str, value: Value<'a>) -> Result<Value<'a>, Fail> {
        if self.bytes[self.pos..].starts_with(word.as_bytes()) {
            self.pos += word.len();
            return Ok(value);
        }
        Err(self.expected(match word {
            "true" => "expected 'true'",
            "false" => "expected 'false'",
            _ => "expected 'null'",
        }))
    }

    fn digits(&mut self) -> usize {
        let start = self.pos;
        while let Some(b'0'..=b'9') = self.peek() {
            self.pos += 1;
        }
        self.pos - start
    }

    /// `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`, returned as written.
    fn number(&mut self) -> Result<&'a str, Fail> {
        let start = self.pos;
        if self.peek() == Some(b'-') {
            self.pos += 1;
        }
        match self.peek() {
            Some(b'0') => {
                self.pos += 1;
                if let Some(b'0'..=b'9') = self.peek() {
                    return Err(self.err(start, JsonErrorReason::LeadingZero));
                }
            }
            Some(b'1'..=b'9') => {
                self.digits();
            }
            _ => return Err(self.expected("expected a digit after '-'")),
        }
        if self.peek() == Some(b'.') {
            self.pos += 1;
            if self.digits() == 0 {
                return Err(self.expected("expected a digit after the decimal point"));
            }
        }
        if let Some(b'e' | b'E') = self.peek() {
            self.pos += 1;
            if let Some(b'+' | b'-') = self.peek() {
                self.pos += 1;
            }
            if self.digits() == 0 {
                return Err(self.expected("expected a digit in the exponent"));
            }
        }
        self.slice(start, self.pos)
    }

    /// A string starting at the `"` under the cursor.
    fn string(&mut self) -> Result<Cow<'a, str>, Fail> {
        let start = self.pos + 1;
        let end = self.string_stop(start)?;
        if self.bytes[end] == b'"' {
            self.pos = end + 1;
            return Ok(Cow::Borrowed(self.slice(start, end)?));
        }
        self.string_escaped(start, end).map(Cow::Owned)
    }

    /// The first `"` or `\` at or after `from`; a raw control character or the end of
    /// the input before it is an error.
    fn string_stop(&mut self, from: usize) -> Result<usize, Fail> {
        let at = find_special(self.bytes, from);
        match self.bytes.get(at) {
            Some(b'"' | b'\\') => Ok(at),
            Some(&byte) => Err(self.err(at, JsonErrorReason::ControlCharacter { byte })),
            None => {
                self.pos = self.bytes.len();
                Err(self.expected("expected '\"' to end the string"))
            }
        }
    }

    /// The rest of a string from its first backslash at `at` (`start` is after `"`).
    fn string_escaped(&mut self, start: usize, mut at: usize) -> Result<String, Fail> {
        let mut out = String::with_capacity(at - start + 16);
        let mut seg = start;
        loop {
            out.push_str(self.slice(seg, at)?);
            if self.bytes[at] == b'"' {
                self.pos = at + 1;
                return Ok(out);
            }
            let (escaped, len) = match self.bytes.get(at + 1) {
                Some(b'"') => ('"', 2),
                Some(b'\\') => ('\\', 2),
                Some(b'/') => ('/', 2),
                Some(b'b') => ('\u{8}', 2),
                Some(b'f') => ('\u{c}', 2),
                Some(b'n') => ('\n', 2),
                Some(b'r') => ('\r', 2),
                Some(b't') => ('\t', 2),
                Some(b'u') => self.unicode_escape(at)?,
                None => {
                    self.pos = at + 1;
                    return Err(self.expected("expected an escape after '\\'"));
                }
                Some(_) => return Err(self.err(at, JsonErrorReason::Escape)),
            };
            out.push(escaped);
            seg = at + len;
            at = self.string_stop(seg)?;
        }
    }

    fn hex4(&self, at: usize) -> Result<u16, Fail> {
        let Some(digits) = self.bytes.get(at..at + 4) else {
            return Err(self.err(
                at,
                JsonErrorReason::Eof {
                    expected: "expected 4 hex digits",
                },
            ));
        };
        let mut v = 0u16;
        for &d in digits {
            let n = match d {
                b'0'..=b'9' => d - b'0',
                b'a'..=b'f' => d - b'a' + 10,
                b'A'..=b'F' => d - b'A' + 10,
                _ => return Err(self.err(at, JsonErrorReason::Escape)),
            };
            v = v << 4 | u16::from(n);
        }
        Ok(v)
    }

    /// `\uXXXX` (or a surrogate pair) whose backslash is at `at`: the character and
    /// the escape's length in bytes.
    fn unicode_escape(&self, at: usize) -> Result<(char, usize), Fail> {
        let hi = self.hex4(at + 2)?;
        let (code, len) = match hi {
            0xD800..=0xDBFF => {
                let pair = self.bytes.get(at + 6..at + 8) == Some(&b"\\u"[..]);
                let lo = if pair { self.hex4(at + 8)? } else { 0 };
                if !(0xDC00..=0xDFFF).contains(&lo) {
                    return Err(self.err(at, JsonErrorReason::LoneSurrogate { code: hi }));
                }
                (
                    0x10000 + ((u32::from(hi) - 0xD800) << 10) + (u32::from(lo) - 0xDC00),
                    12,
                )
            }
            0xDC00..=0xDFFF => {
                return Err(self.err(at, JsonErrorReason::LoneSurrogate { code: hi }));
            }
            _ => (u32::from(hi), 6),
        };
        let ch = char::from_u32(code).ok_or_else(|| self.err(at, JsonErrorReason::Escape))?;
        Ok((ch, len))
    }
}
