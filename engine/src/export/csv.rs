//! CSV (RFC 4180): a header row with every [`Column`] in declaration order, then one row
//! per event; CRLF line ends; a cell holding `,`, `"`, CR or LF is quoted, with `"`
//! doubled. Strings are unescaped; objects and arrays are their compact JSON; booleans
//! and numbers as JSON writes them; an absent field is an empty cell.
//!
//! Spreadsheet formula injection (OWASP "CSV Injection"): a cell whose text starts with
//! `=`, `+`, `-`, `@`, TAB or CR and is not a plain number gets a leading `'`, so a
//! spreadsheet shows it as text instead of running it. Plain numbers (`-12.5`) are
//! left alone. The `'` is the only change an export ever makes to a value, and it is
//! visible: the JSON export has the value as stored.

use std::borrow::Cow;

use super::members::{Column, Members};
use super::text::is_plain_number;
use super::{whole, Encoder, ExportEvent};
use crate::event::scan::eq_mask;
use crate::event::BodyError;
use crate::time::format_rfc3339_us;

/// Writes CSV.
#[derive(Debug, Default, Clone, Copy)]
pub struct CsvEncoder;

impl Encoder for CsvEncoder {
    fn begin(&mut self, out: &mut Vec<u8>) {
        for (i, col) in Column::ALL.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            out.extend_from_slice(col.name().as_bytes());
        }
        out.extend_from_slice(b"\r\n");
    }

    fn record(&mut self, ev: &ExportEvent<'_>, out: &mut Vec<u8>) -> Result<(), BodyError> {
        let m = Members::of(ev)?;
        whole(out, |out| {
            for (i, &col) in Column::ALL.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                if let Some(text) = cell(ev, &m, col)? {
                    write_cell(&text, out);
                }
            }
            out.extend_from_slice(b"\r\n");
            Ok(())
        })
    }

    fn fork(&self) -> Option<Box<dyn Encoder>> {
        Some(Box::new(*self))
    }
}

fn cell<'a>(
    ev: &ExportEvent<'a>,
    m: &Members<'a>,
    col: Column,
) -> Result<Option<Cow<'a, str>>, BodyError> {
    let overlay = ev.overlay;
    Ok(match col {
        Column::Hash => Some(Cow::Owned(super::text::hash_hex(ev.hash))),
        Column::IsResolved => Some(Cow::Borrowed(if overlay.is_some() {
            "true"
        } else {
            "false"
        })),
        Column::ResolvedAt => overlay.map(|o| Cow::Owned(format_rfc3339_us(o.resolved_at_us))),
        Column::ResolvedBy => overlay.map(|o| Cow::Owned(o.resolved_by.clone())),
        Column::ResolutionNotes => overlay.and_then(|o| o.resolution_notes.clone().map(Cow::Owned)),
        _ => match m.raw(col) {
            None => None,
            Some(_) => Some(m.text(col).ok_or(BodyError::BadField {
                field: col.name(),
                expected: "valid JSON text",
            })?),
        },
    })
}

/// One cell: defused, then quoted if it must be.
fn write_cell(text: &str, out: &mut Vec<u8>) {
    let b = text.as_bytes();
    let defuse = matches!(b.first(), Some(b'=' | b'+' | b'-' | b'@' | b'\t' | b'\r'))
        && !is_plain_number(text);
    let quote = needs_quotes(b);
    if quote {
        out.push(b'"');
    }
    if defuse {
        out.push(b'\'');
    }
    if !quote {
        out.extend_from_slice(b);
        return;
    }
    // Cells that need quotes are mostly JSON, with a quote every few bytes: a byte loop
    // beats a search per quote.
    out.reserve(b.len() + b.len() / 4 + 1);
    for &c in b {
        if c == b'"' {
            out.push(b'"');
        }
        out.push(c);
    }
    out.push(b'"');
}

/// Whether a cell holds `,`, `"`, CR or LF: eight bytes at a time (most cells are short
/// and plain, where a general search costs more than it saves).
fn needs_quotes(b: &[u8]) -> bool {
    let mut words = b.chunks_exact(8);
    for chunk in &mut words {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let w = u64::from_le_bytes(word);
        if eq_mask(w, b',') | eq_mask(w, b'"') | eq_mask(w, b'\r') | eq_mask(w, b'\n') != 0 {
            return true;
        }
    }
    words
        .remainder()
        .iter()
        .any(|c| matches!(c, b',' | b'"' | b'\r' | b'\n'))
}
