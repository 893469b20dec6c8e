//! Syslog (RFC 5424), one message per event:
//! `<PRI>1 TIMESTAMP HOSTNAME sealog - MSGID [sealog@PEN id tenant seq hash] BOM MSG`.
//!
//! - PRI = facility × 8 + the event's severity as a syslog severity (critical 2, high 3,
//!   medium 4, low 5, info 6, debug 7); the facility defaults to 13 (log audit).
//! - TIMESTAMP is `created_at` (RFC 3339, microseconds, `Z`); MSGID the event_type cut
//!   to 32 printable US-ASCII characters (anything else becomes `_`).
//! - STRUCTURED-DATA `[sealog@<enterprise number> id="…" tenant="…" seq="…" hash="…"]`,
//!   with `"`, `\` and `]` escaped by `\` (RFC 5424 §6.3.3).
//! - MSG is the UTF-8 BOM and the event: JSON as GET returns it (the default), or a
//!   CEF or LEEF 2.0 record. It has no raw control characters: JSON escapes them, and
//!   DEL and C1 controls (which JSON leaves raw) are written `\u007f` etc.; the CEF and
//!   LEEF writers replace them with spaces.
//! - A message longer than the limit (default 8,192 octets) keeps its header and gains
//!   `truncated="<the payload's full octets, without the BOM>"` in its SD element; MSG
//!   is cut at a character boundary to fit. The full event is in the JSON export, found
//!   by the `id` param.
//! - Framing: LF ends each message, or RFC 6587 octet counting (`LEN SP MESSAGE`).

use super::cef::write_cef;
use super::escape::is_c1;
use super::leef::{write_leef, LeefVersion};
use super::members::{Column, Members};
use super::text::{cut_bytes_at_char, rfc3339_us, severity_syslog};
use super::{whole, Encoder, ExportEvent, PRODUCT};
use crate::event::BodyError;

/// Facility 13, "log audit".
pub const SYSLOG_FACILITY_DEFAULT: u8 = 13;
/// sealog's structured-data ID's enterprise number: 32473 is the number RFC 5612
/// reserves for documentation; operators with their own Private Enterprise Number set it.
pub const SYSLOG_ENTERPRISE_DEFAULT: u32 = 32473;
/// Longest message, in octets, by default.
pub const SYSLOG_MESSAGE_BYTES_DEFAULT: usize = 8192;
/// The smallest limit a configuration may set: RFC 5424 §6.1 says every receiver takes
/// 480 octets, and a header with its structured data needs about 300.
pub const SYSLOG_MESSAGE_BYTES_MIN: usize = 480;
/// Longest MSGID (RFC 5424).
const MSGID_CHARS_MAX: usize = 32;
/// Longest HOSTNAME (RFC 5424).
const HOSTNAME_CHARS_MAX: usize = 255;
const BOM: &[u8] = b"\xEF\xBB\xBF";

/// How messages are delimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SyslogFraming {
    /// Each message ends with LF (the default).
    #[default]
    Lf,
    /// RFC 6587 octet counting.
    Octet,
}

/// What MSG carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SyslogPayload {
    /// The event as GET returns it (the default).
    #[default]
    Json,
    /// A CEF record.
    Cef,
    /// A LEEF 2.0 record.
    Leef,
}

/// Syslog settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyslogOptions {
    /// Framing.
    pub framing: SyslogFraming,
    /// MSG's content.
    pub payload: SyslogPayload,
    /// Facility, 0..=23.
    pub facility: u8,
    /// HOSTNAME (sanitized to printable US-ASCII; empty is `-`).
    pub hostname: String,
    /// The SD-ID's enterprise number.
    pub enterprise: u32,
    /// Longest message in octets (framing excluded), at least
    /// [`SYSLOG_MESSAGE_BYTES_MIN`].
    pub message_bytes_max: usize,
}

impl Default for SyslogOptions {
    fn default() -> Self {
        SyslogOptions {
            framing: SyslogFraming::Lf,
            payload: SyslogPayload::Json,
            facility: SYSLOG_FACILITY_DEFAULT,
            hostname: String::new(),
            enterprise: SYSLOG_ENTERPRISE_DEFAULT,
            message_bytes_max: SYSLOG_MESSAGE_BYTES_DEFAULT,
        }
    }
}

/// Writes syslog messages.
#[derive(Debug, Clone)]
pub struct SyslogEncoder {
    options: SyslogOptions,
    hostname: String,
    msg: Vec<u8>,
    message: Vec<u8>,
}

impl SyslogEncoder {
    /// An encoder with these settings.
    pub fn new(options: SyslogOptions) -> SyslogEncoder {
        let hostname: String = options
            .hostname
            .chars()
            .map(|c| if c.is_ascii_graphic() { c } else { '_' })
            .take(HOSTNAME_CHARS_MAX)
            .collect();
        let hostname = if hostname.is_empty() {
            "-".to_owned()
        } else {
            hostname
        };
        SyslogEncoder {
            options,
            hostname,
            msg: Vec::with_capacity(4096),
            message: Vec::with_capacity(4096),
        }
    }
}

impl Encoder for SyslogEncoder {
    fn record(&mut self, ev: &ExportEvent<'_>, out: &mut Vec<u8>) -> Result<(), BodyError> {
        // The header needs event_type, id and severity. A JSON payload is the body as
        // GET returns it, so only the members up to severity are looked at; CEF and
        // LEEF payloads need them all.
        let m = match self.options.payload {
            SyslogPayload::Json => Members::until(ev, Column::Severity)?,
            SyslogPayload::Cef | SyslogPayload::Leef => Members::of(ev)?,
        };
        self.msg.clear();
        match self.options.payload {
            SyslogPayload::Json => {
                ev.write_returned(&mut self.msg)?;
                escape_json_controls(&mut self.msg);
            }
            // Their encoders already make every control character a space, C1 included.
            SyslogPayload::Cef => write_cef(ev, &m, &mut self.msg)?,
            SyslogPayload::Leef => write_leef(LeefVersion::V2, ev, &m, &mut self.msg),
        }
        self.message.clear();
        let header_end = self.header(ev, &m, None);
        let room = self
            .options
            .message_bytes_max
            .saturating_sub(header_end + BOM.len());
        if self.msg.len() > room {
            self.message.clear();
            let header_end = self.header(ev, &m, Some(self.msg.len()));
            let room = self
                .options
                .message_bytes_max
                .saturating_sub(header_end + BOM.len());
            let cut = cut_bytes_at_char(&self.msg, room).len();
            self.msg.truncate(cut);
        }
        self.message.extend_from_slice(BOM);
        self.message.extend_from_slice(&self.msg);
        whole(out, |out| {
            if self.options.framing == SyslogFraming::Octet {
                out.extend_from_slice(itoa::Buffer::new().format(self.message.len()).as_bytes());
                out.push(b' ');
            }
            out.extend_from_slice(&self.message);
            if self.options.framing == SyslogFraming::Lf {
                out.push(b'\n');
            }
            Ok(())
        })
    }

    fn fork(&self) -> Option<Box<dyn Encoder>> {
        Some(Box::new(self.clone()))
    }
}

impl SyslogEncoder {
    /// Writes HEADER SP STRUCTURED-DATA SP into `self.message`; returns its length.
    fn header(&mut self, ev: &ExportEvent<'_>, m: &Members<'_>, truncated: Option<usize>) -> usize {
        let severity = m.text(Column::Severity).unwrap_or_default();
        let pri = u32::from(self.options.facility) * 8 + u32::from(severity_syslog(&severity));
        let out = &mut self.message;
        let mut digits = itoa::Buffer::new();
        out.push(b'<');
        out.extend_from_slice(digits.format(pri).as_bytes());
        out.extend_from_slice(b">1 ");
        rfc3339_us(ev.created_at_us, out);
        out.push(b' ');
        out.extend_from_slice(self.hostname.as_bytes());
        out.push(b' ');
        out.extend_from_slice(PRODUCT.as_bytes());
        out.extend_from_slice(b" - ");
        let event_type = m.text(Column::EventType).unwrap_or_default();
        if event_type.is_empty() {
            out.push(b'-');
        }
        for c in event_type.chars().take(MSGID_CHARS_MAX) {
            out.push(if c.is_ascii_graphic() { c as u8 } else { b'_' });
        }
        out.extend_from_slice(b" [sealog@");
        out.extend_from_slice(digits.format(self.options.enterprise).as_bytes());
        let id = m.text(Column::Id).unwrap_or_default();
        let mut seq_digits = itoa::Buffer::new();
        let seq = seq_digits.format(ev.seq);
        let hash = super::text::hash_hex(ev.hash);
        let truncated = truncated.map(|n| n.to_string());
        let params = [
            ("id", Some(id.as_ref())),
            ("tenant", Some(ev.tenant)),
            ("seq", Some(seq)),
            ("hash", Some(hash.as_str())),
            ("truncated", truncated.as_deref()),
        ];
        for (name, value) in params {
            let Some(value) = value else { continue };
            out.push(b' ');
            out.extend_from_slice(name.as_bytes());
            out.extend_from_slice(b"=\"");
            let mut rest = value.as_bytes();
            while let Some(at) = memchr::memchr3(b'"', b'\\', b']', rest) {
                out.extend_from_slice(&rest[..at]);
                out.extend_from_slice(&[b'\\', rest[at]]);
                rest = &rest[at + 1..];
            }
            out.extend_from_slice(rest);
            out.push(b'"');
        }
        out.extend_from_slice(b"] ");
        out.len()
    }
}

/// Rewrites DEL and C1 control characters (which JSON may leave raw inside strings) as
/// `\u00XX` escapes: the same JSON value, with no raw control character.
fn escape_json_controls(json: &mut Vec<u8>) {
    let raw_control = |at: usize| json[at] == 0x7f || is_c1(json, at);
    // Candidates are found with SIMD: most messages have none.
    if !memchr::memchr2_iter(0x7f, 0xC2, json).any(raw_control) {
        return;
    }
    let mut out = Vec::with_capacity(json.len() + 16);
    let mut i = 0;
    while i < json.len() {
        let b = json[i];
        if b == 0x7f {
            out.extend_from_slice(b"\\u007f");
        } else if is_c1(json, i) {
            out.extend_from_slice(format!("\\u00{:02x}", json[i + 1]).as_bytes());
            i += 1;
        } else {
            out.push(b);
        }
        i += 1;
    }
    *json = out;
}
