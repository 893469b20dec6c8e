//! CEF (ArcSight Common Event Format, rev. 25):
//! `CEF:0|sealog|sealog|<version>|<event_type>|<name>|<severity 0-10>|<extension>`.
//!
//! Header fields escape `\` and `|` (line breaks there become spaces: the header has no
//! escape for them). Extension values escape `\`, `=`, and line breaks as `\n` / `\r`;
//! any other control character becomes a space, so a record is always one line. Each
//! value is cut to the standard's length for its key ([`super::cut_chars`]: the last
//! kept character is followed by `…`). Standard keys carry what CEF has a key for;
//! tenant, seq, hash, prev_hash and a few trading fields go to labelled custom fields,
//! each with its label. docs/EXPORTS.md has the full mapping.

use std::net::IpAddr;

use super::escape::{table, write_escaped, Action, Table};
use super::members::{Column, Members};
use super::text::{cut_chars, severity_cef};
use super::{whole, Encoder, ExportEvent, PRODUCT, PRODUCT_VERSION};
use crate::event::BodyError;
use crate::time::parse_rfc3339_us;

/// Longest custom string (`csN`) value, in characters (the CEF standard's limit).
pub const CEF_EXTENSION_CHARS_MAX: usize = 4000;
/// Limit of most standard string keys (`msg`, `suser`, `request`, …).
const CEF_STRING_CHARS_MAX: usize = 1023;
/// Limit of `act` and `outcome`.
const CEF_SHORT_CHARS_MAX: usize = 63;
/// Limit of the header's Name.
const CEF_NAME_CHARS_MAX: usize = 512;
/// Limit of the header's Signature ID.
const CEF_SIGNATURE_CHARS_MAX: usize = 1023;
/// Limit of `externalId`.
const CEF_EXTERNAL_ID_CHARS_MAX: usize = 40;

/// Standard keys: (CEF key, field, character limit).
const STANDARD: [(&str, Column, usize); 12] = [
    ("externalId", Column::Id, CEF_EXTERNAL_ID_CHARS_MAX),
    ("cat", Column::TableName, CEF_STRING_CHARS_MAX),
    ("act", Column::Action, CEF_SHORT_CHARS_MAX),
    ("outcome", Column::Result, CEF_SHORT_CHARS_MAX),
    ("msg", Column::EventDescription, CEF_STRING_CHARS_MAX),
    ("suser", Column::UserName, CEF_STRING_CHARS_MAX),
    ("suid", Column::UserId, CEF_STRING_CHARS_MAX),
    ("spriv", Column::ActorRole, CEF_STRING_CHARS_MAX),
    ("request", Column::Endpoint, CEF_STRING_CHARS_MAX),
    ("requestMethod", Column::HttpMethod, CEF_STRING_CHARS_MAX),
    (
        "requestClientApplication",
        Column::UserAgent,
        CEF_STRING_CHARS_MAX,
    ),
    ("reason", Column::ErrorMessage, CEF_STRING_CHARS_MAX),
];

/// Labelled custom strings: (key, label, field).
const CUSTOM: [(&str, &str, Column); 8] = [
    ("cs1", "tenant_id", Column::TenantId),
    ("cs2", "hash", Column::Hash),
    ("cs3", "prev_hash", Column::PrevHash),
    ("cs4", "record_id", Column::RecordId),
    ("cs5", "compliance_status", Column::ComplianceStatus),
    ("cs6", "risk_score", Column::RiskScore),
    ("flexString1", "symbol", Column::Symbol),
    ("flexString2", "amount", Column::Amount),
];

/// Writes CEF, one record per line.
#[derive(Debug, Default, Clone, Copy)]
pub struct CefEncoder;

impl Encoder for CefEncoder {
    fn record(&mut self, ev: &ExportEvent<'_>, out: &mut Vec<u8>) -> Result<(), BodyError> {
        let m = Members::of(ev)?;
        whole(out, |out| {
            write_cef(ev, &m, out)?;
            out.push(b'\n');
            Ok(())
        })
    }

    fn fork(&self) -> Option<Box<dyn Encoder>> {
        Some(Box::new(*self))
    }
}

/// One CEF record without a line end (syslog uses it as a message payload).
pub(crate) fn write_cef(
    ev: &ExportEvent<'_>,
    m: &Members<'_>,
    out: &mut Vec<u8>,
) -> Result<(), BodyError> {
    let event_type = m.text(Column::EventType).unwrap_or_default();
    // CEF requires a Name: a description that would print blank does not count.
    let name = m
        .text(Column::EventDescription)
        .filter(|d| d.chars().any(|c| !c.is_whitespace() && !c.is_control()))
        .unwrap_or_else(|| event_type.clone());
    let severity = m.text(Column::Severity).unwrap_or_default();
    out.extend_from_slice(b"CEF:0|");
    for field in [PRODUCT, PRODUCT, PRODUCT_VERSION] {
        header(field, out);
        out.push(b'|');
    }
    header(&cut_chars(&event_type, CEF_SIGNATURE_CHARS_MAX), out);
    out.push(b'|');
    header(&cut_chars(&name, CEF_NAME_CHARS_MAX), out);
    out.push(b'|');
    let mut digits = itoa::Buffer::new();
    out.extend_from_slice(digits.format(severity_cef(&severity)).as_bytes());
    out.extend_from_slice(b"|rt=");
    out.extend_from_slice(digits.format(ev.created_at_us.div_euclid(1000)).as_bytes());
    if let Some(t) = m.text(Column::OccurredAt) {
        if let Ok(us) = parse_rfc3339_us(&t) {
            out.extend_from_slice(b" start=");
            out.extend_from_slice(digits.format(us.div_euclid(1000)).as_bytes());
        }
    }
    for (key, col, max) in STANDARD {
        if let Some(v) = m.text(col) {
            pair(key, &cut_chars(&v, max), out);
        }
    }
    if let Some(ip) = m.text(Column::IpAddress) {
        match ip.parse::<IpAddr>() {
            Ok(IpAddr::V6(_)) => {
                pair("c6a1", &ip, out);
                pair("c6a1Label", "Source IPv6 Address", out);
            }
            _ => pair("src", &ip, out),
        }
    }
    let hash = super::text::hash_hex(ev.hash);
    for (key, label, col) in CUSTOM {
        let value = match col {
            Column::Hash => Some(hash.as_str().into()),
            _ => m.text(col),
        };
        if let Some(v) = value {
            pair(key, &cut_chars(&v, CEF_EXTENSION_CHARS_MAX), out);
            for part in [" ", key, "Label=", label] {
                out.extend_from_slice(part.as_bytes());
            }
        }
    }
    out.extend_from_slice(b" cn1=");
    out.extend_from_slice(digits.format(ev.seq).as_bytes());
    out.extend_from_slice(b" cn1Label=seq");
    Ok(())
}

/// Header fields: `\` and `|` escaped, line breaks and other controls as spaces.
const HEADER: Table = table(&[(b'\\', Action::Backslash), (b'|', Action::Backslash)]);
/// Extension values: `\` and `=` escaped, LF and CR named, other controls as spaces.
const EXTENSION: Table = table(&[
    (b'\\', Action::Backslash),
    (b'=', Action::Backslash),
    (b'\n', Action::Named),
    (b'\r', Action::Named),
]);

/// A header field.
fn header(text: &str, out: &mut Vec<u8>) {
    write_escaped(text.as_bytes(), &HEADER, out);
}

/// ` key=value` with the value escaped for the extension.
fn pair(key: &str, value: &str, out: &mut Vec<u8>) {
    out.push(b' ');
    out.extend_from_slice(key.as_bytes());
    out.push(b'=');
    write_escaped(value.as_bytes(), &EXTENSION, out);
}
