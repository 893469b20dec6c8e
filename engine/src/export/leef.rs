//! LEEF (IBM QRadar Log Event Extended Format). 1.0:
//! `LEEF:1.0|sealog|sealog|<version>|<event_type>|` then `key=value` attributes separated
//! by TAB. 2.0: `LEEF:2.0|sealog|sealog|<version>|<event_type>|^|` and attributes
//! separated by the declared `^`.
//!
//! LEEF has no escaping, so values are neutralised: in an attribute value the delimiter,
//! `|`-free header aside, every control character (TAB, CR, LF, …) becomes one space;
//! in a header field `|` becomes `/` and control characters spaces. A record is thus
//! always one line with exactly its attributes. Predefined keys carry what LEEF has a
//! key for (devTime with devTimeFormat, cat, sev 1–10, usrName, accountName, src, url,
//! role, resource); the rest use sealog's own keys (docs/EXPORTS.md).

use super::escape::{table, write_escaped, Action, Table};
use super::members::{Column, Members};
use super::text::severity_leef;
use super::{whole, Encoder, ExportEvent, PRODUCT, PRODUCT_VERSION};
use crate::event::BodyError;

/// Which LEEF.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LeefVersion {
    /// 1.0: TAB-delimited attributes.
    V1,
    /// 2.0: attributes delimited by the declared `^` (the default).
    #[default]
    V2,
}

impl LeefVersion {
    fn delimiter(self) -> u8 {
        match self {
            LeefVersion::V1 => b'\t',
            LeefVersion::V2 => b'^',
        }
    }
}

/// Java date pattern of `devTime` (milliseconds, UTC `Z`).
const DEV_TIME_FORMAT: &str = "yyyy-MM-dd'T'HH:mm:ss.SSSX";

/// Attributes from body fields, in record order: (LEEF key, field).
const ATTRIBUTES: [(&str, Column); 22] = [
    ("cat", Column::EventType),
    ("usrName", Column::UserName),
    ("accountName", Column::UserId),
    ("src", Column::IpAddress),
    ("url", Column::Endpoint),
    ("role", Column::ActorRole),
    ("resource", Column::RecordId),
    ("id", Column::Id),
    ("tenant", Column::TenantId),
    ("createdAt", Column::CreatedAt),
    ("occurredAt", Column::OccurredAt),
    ("action", Column::Action),
    ("result", Column::Result),
    ("msg", Column::EventDescription),
    ("tableName", Column::TableName),
    ("httpMethod", Column::HttpMethod),
    ("userAgent", Column::UserAgent),
    ("symbol", Column::Symbol),
    ("amount", Column::Amount),
    ("riskScore", Column::RiskScore),
    ("complianceStatus", Column::ComplianceStatus),
    ("errorMessage", Column::ErrorMessage),
];

/// Writes LEEF, one record per line.
#[derive(Debug, Default, Clone, Copy)]
pub struct LeefEncoder {
    /// Which LEEF.
    pub version: LeefVersion,
}

impl Encoder for LeefEncoder {
    fn record(&mut self, ev: &ExportEvent<'_>, out: &mut Vec<u8>) -> Result<(), BodyError> {
        let m = Members::of(ev)?;
        whole(out, |out| {
            write_leef(self.version, ev, &m, out);
            out.push(b'\n');
            Ok(())
        })
    }

    fn fork(&self) -> Option<Box<dyn Encoder>> {
        Some(Box::new(*self))
    }
}

/// One LEEF record without a line end (syslog uses it as a message payload).
pub(crate) fn write_leef(
    version: LeefVersion,
    ev: &ExportEvent<'_>,
    m: &Members<'_>,
    out: &mut Vec<u8>,
) {
    let d = version.delimiter();
    out.extend_from_slice(match version {
        LeefVersion::V1 => b"LEEF:1.0|",
        LeefVersion::V2 => b"LEEF:2.0|",
    });
    let event_type = m.text(Column::EventType).unwrap_or_default();
    for field in [PRODUCT, PRODUCT, PRODUCT_VERSION, &event_type] {
        header(field, out);
        out.push(b'|');
    }
    if version == LeefVersion::V2 {
        out.extend_from_slice(b"^|");
    }
    let values = match version {
        LeefVersion::V1 => &VALUES_V1,
        LeefVersion::V2 => &VALUES_V2,
    };
    let mut first = true;
    let mut attr = |key: &str, value: &str, out: &mut Vec<u8>| {
        if !first {
            out.push(d);
        }
        first = false;
        out.extend_from_slice(key.as_bytes());
        out.push(b'=');
        write_escaped(value.as_bytes(), values, out);
    };
    // Milliseconds: the Java pattern has no microseconds (createdAt has them all).
    let mut dev_time = crate::time::format_rfc3339_us(ev.created_at_us);
    dev_time.replace_range(23..26, "");
    attr("devTime", &dev_time, out);
    attr("devTimeFormat", DEV_TIME_FORMAT, out);
    let severity = m.text(Column::Severity).unwrap_or_default();
    let mut digits = itoa::Buffer::new();
    attr("sev", digits.format(severity_leef(&severity)), out);
    for (key, col) in ATTRIBUTES {
        if let Some(v) = m.text(col) {
            attr(key, &v, out);
        }
    }
    attr("seq", digits.format(ev.seq), out);
    attr("hash", &super::text::hash_hex(ev.hash), out);
    if let Some(prev) = m.text(Column::PrevHash) {
        attr("prevHash", &prev, out);
    }
}

/// Header fields: `|` as `/`, control characters as spaces.
const HEADER: Table = table(&[(b'|', Action::Slash)]);
/// Attribute values: the delimiter and control characters as spaces (TAB is one).
const VALUES_V1: Table = table(&[]);
const VALUES_V2: Table = table(&[(b'^', Action::Space)]);

/// A header field.
fn header(text: &str, out: &mut Vec<u8>) {
    write_escaped(text.as_bytes(), &HEADER, out);
}
