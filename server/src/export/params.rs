//! An export request's query string: the list's filters, `sort_order` (ascending by
//! default here), `from_seq`, and each endpoint's own parameters. Unknown or repeated
//! parameters are 422s, as everywhere.

use sealog_engine::export::{ExportSpec, LeefVersion, SyslogFraming, SyslogPayload};
use sealog_engine::search::Order;
use sealog_engine::{Seq, TenantId};
use serde_json::Value;

use crate::error::ApiError;
use crate::limits::{
    EXPORT_CHUNK_DEFAULT, EXPORT_CHUNK_MAX, EXPORT_CHUNK_MIN, EXPORT_LIMIT_DEFAULT,
};
use crate::reads::{enum_error, Params, FILTER_PARAMS};

/// Which endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    /// `/export?format=…` (limited).
    Limited,
    /// `/export/cef`.
    Cef,
    /// `/export/leef`.
    Leef,
    /// `/export/syslog`.
    Syslog,
    /// `/export/ndjson`.
    Ndjson,
}

impl Endpoint {
    fn own_params(self) -> &'static [&'static str] {
        match self {
            Endpoint::Limited => &["format", "limit"],
            Endpoint::Cef | Endpoint::Ndjson => &["chunk_size"],
            Endpoint::Leef => &["chunk_size", "version"],
            Endpoint::Syslog => &["chunk_size", "framing", "payload"],
        }
    }
}

/// The output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// RFC 4180 CSV.
    Csv,
    /// One JSON array.
    Json,
    /// One JSON object per line.
    Ndjson,
    /// The SOC 2 document.
    Soc2,
    /// CEF.
    Cef,
    /// LEEF.
    Leef(LeefVersion),
    /// RFC 5424 syslog.
    Syslog(SyslogFraming, SyslogPayload),
}

impl Format {
    /// `Content-Type`.
    pub fn content_type(self) -> &'static str {
        match self {
            Format::Csv => "text/csv; charset=utf-8",
            Format::Json | Format::Soc2 => "application/json",
            Format::Ndjson => "application/x-ndjson",
            Format::Cef | Format::Leef(_) | Format::Syslog(..) => "text/plain; charset=utf-8",
        }
    }

    /// The file name's extension.
    pub fn extension(self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::Json => "json",
            Format::Ndjson => "ndjson",
            Format::Soc2 => "soc2.json",
            Format::Cef => "cef",
            Format::Leef(_) => "leef",
            Format::Syslog(..) => "log",
        }
    }
}

/// A parsed export request.
#[derive(Debug, Clone)]
pub struct ExportRequest {
    /// What to read.
    pub spec: ExportSpec,
    /// How to write it.
    pub format: Format,
    /// Events per chunk.
    pub chunk: usize,
    /// The parameters as given (the SOC 2 report repeats them).
    pub given: Vec<(String, String)>,
}

/// Parses the query string of `endpoint` for `tenant`; every problem is reported.
/// `limit_max` bounds the limited endpoint's `limit` (offline exports have none, and
/// then no default limit either).
pub fn parse(
    query: Option<&str>,
    endpoint: Endpoint,
    tenant: TenantId,
    limit_max: Option<u64>,
) -> Result<ExportRequest, ApiError> {
    let own = endpoint.own_params();
    let (params, mut errors) = Params::parse_known(query, |k| {
        FILTER_PARAMS.contains(&k) || own.contains(&k) || k == "sort_order" || k == "from_seq"
    });
    let (filter, more) = params.filter(tenant);
    errors.extend(more);
    let mut choice = |key: &str, allowed: &[&'static str], default: &'static str| -> &'static str {
        let given = params.one(key).unwrap_or(default);
        match allowed.iter().find(|a| **a == given) {
            Some(a) => a,
            None => {
                let expected = allowed
                    .iter()
                    .map(|a| format!("'{a}'"))
                    .collect::<Vec<_>>()
                    .join(", ");
                errors.push(enum_error(key, given, &expected));
                default
            }
        }
    };
    let order = match choice("sort_order", &["asc", "desc"], "asc") {
        "desc" => Order::Desc,
        _ => Order::Asc,
    };
    let format = match endpoint {
        Endpoint::Limited => match choice("format", &["json", "csv", "ndjson", "soc2"], "json") {
            "csv" => Format::Csv,
            "ndjson" => Format::Ndjson,
            "soc2" => Format::Soc2,
            _ => Format::Json,
        },
        Endpoint::Cef => Format::Cef,
        Endpoint::Ndjson => Format::Ndjson,
        Endpoint::Leef => Format::Leef(match choice("version", &["1.0", "2.0"], "2.0") {
            "1.0" => LeefVersion::V1,
            _ => LeefVersion::V2,
        }),
        Endpoint::Syslog => {
            let framing = match choice("framing", &["lf", "octet"], "lf") {
                "octet" => SyslogFraming::Octet,
                _ => SyslogFraming::Lf,
            };
            let payload = match choice("payload", &["json", "cef", "leef"], "json") {
                "cef" => SyslogPayload::Cef,
                "leef" => SyslogPayload::Leef,
                _ => SyslogPayload::Json,
            };
            Format::Syslog(framing, payload)
        }
    };
    let from_seq = params
        .int("from_seq", 1, i64::MAX as u64, &mut errors)
        .map(Seq);
    let (limit, chunk) = match endpoint {
        Endpoint::Limited => match limit_max {
            Some(max) => (
                Some(
                    params
                        .int("limit", 1, max, &mut errors)
                        .unwrap_or(EXPORT_LIMIT_DEFAULT),
                ),
                EXPORT_CHUNK_MAX,
            ),
            None => (
                params.int("limit", 1, u64::MAX, &mut errors),
                EXPORT_CHUNK_MAX,
            ),
        },
        _ => (
            None,
            params
                .int(
                    "chunk_size",
                    EXPORT_CHUNK_MIN,
                    EXPORT_CHUNK_MAX,
                    &mut errors,
                )
                .unwrap_or(EXPORT_CHUNK_DEFAULT),
        ),
    };
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    Ok(ExportRequest {
        spec: ExportSpec {
            filter,
            order,
            from_seq,
            limit,
            until: None,
        },
        format,
        chunk: chunk as usize,
        given: params.pairs().to_vec(),
    })
}

/// The given parameters as a JSON object (repeated ones, `tag`, as arrays).
pub fn given_json(given: &[(String, String)]) -> Value {
    let mut map = serde_json::Map::new();
    for (k, v) in given {
        match map.get_mut(k) {
            Some(Value::Array(items)) => items.push(Value::String(v.clone())),
            Some(prev) => *prev = Value::Array(vec![prev.take(), Value::String(v.clone())]),
            None if k == "tag" => {
                map.insert(k.clone(), Value::Array(vec![Value::String(v.clone())]));
            }
            None => {
                map.insert(k.clone(), Value::String(v.clone()));
            }
        }
    }
    Value::Object(map)
}
