//! The event rules: one submitted JSON object in, a [`PreparedEvent`] (or every problem
//! found) out.

use std::cmp::Ordering;
use std::ops::Range;

use super::error::{input_of, FieldError};
use super::fields::{
    lookup, Field, Rule, CHANGED_FIELDS, EVENT_TYPE, FIELDS, FIELD_COUNT, NEW_VALUES, OLD_VALUES,
    SERVER_FIELDS, SEVERITY,
};
use super::jcs::{cmp_utf16, number_errors, write_object_spans, write_string, write_value};
use super::json::{self, Loc, Value};
use super::prepared::PreparedEvent;
use super::rules;
use crate::limits::{EVENT_BODY_BYTES_MAX, EVENT_TYPE_CHARS_MAX, HTTP_METHOD_CHARS_MAX};

/// Parses and validates one event object (the body of `POST /api/audit-logs`).
pub fn prepare_event(input: &[u8]) -> Result<PreparedEvent, Vec<FieldError>> {
    let value = json::parse(input).map_err(|e| vec![FieldError::from_json_error(&e)])?;
    prepare(&value, input.len() + 64)
}

/// Validates one already-parsed event (an element of a batch).
pub fn prepare_value(value: &Value<'_>) -> Result<PreparedEvent, Vec<FieldError>> {
    prepare(value, 1024)
}

/// Spans of a free-form object's top-level members: key and value range in `out`.
type Spans<'v> = Vec<(&'v str, Range<usize>)>;

/// The state of one validation: the fields found, the body so far, every error.
struct Builder<'v, 'a> {
    slots: [Option<&'v Value<'a>>; FIELD_COUNT],
    out: Vec<u8>,
    errors: Vec<FieldError>,
    server_at: [usize; SERVER_FIELDS],
    event_type: (usize, usize),
    /// Where a computed `changed_fields` goes, once old/new_values are written.
    changed_at: Option<usize>,
    old_spans: Option<Spans<'v>>,
    new_spans: Option<Spans<'v>>,
}

fn prepare(value: &Value<'_>, capacity: usize) -> Result<PreparedEvent, Vec<FieldError>> {
    let Value::Object(members) = value else {
        let err = FieldError::new(
            Vec::new(),
            "dict_type",
            "Input should be a valid dictionary",
        );
        return Err(vec![err.input(value)]);
    };
    let mut b = Builder {
        slots: [None; FIELD_COUNT],
        out: Vec::with_capacity(capacity),
        errors: Vec::new(),
        server_at: [0; SERVER_FIELDS],
        event_type: (0, 0),
        changed_at: None,
        old_spans: None,
        new_spans: None,
    };
    b.collect(members);
    for (i, field) in FIELDS.iter().enumerate() {
        b.field(i, field);
    }
    b.insert_changed_fields();
    let body_bytes = b.out.len() + 2 + SERVER_FIELDS_BYTES_BOUND;
    if b.errors.is_empty() && body_bytes > EVENT_BODY_BYTES_MAX {
        let msg = format!(
            "Value error, the canonical event would be about {body_bytes} bytes; at most \
             {EVENT_BODY_BYTES_MAX} are allowed"
        );
        b.errors
            .push(FieldError::new(Vec::new(), "value_error", msg));
    }
    if !b.errors.is_empty() {
        return Err(b.errors);
    }
    Ok(PreparedEvent {
        members: b.out,
        server_at: b.server_at,
        event_type: b.event_type,
        id_tag: None,
    })
}

impl<'v, 'a> Builder<'v, 'a> {
    /// Sorts the submitted members into field slots; reports unknown and server keys.
    fn collect(&mut self, members: &'v [(std::borrow::Cow<'a, str>, Value<'a>)]) {
        for (key, item) in members {
            let Some(i) = lookup(key) else {
                let loc = vec![Loc::Key(key.to_string())];
                let err = FieldError::new(loc, "extra_forbidden", "Extra inputs are not permitted");
                self.errors.push(err.input(item));
                continue;
            };
            match FIELDS[i].rule {
                Rule::Server(_) | Rule::Overlay => self.errors.push(server_set(&FIELDS[i], item)),
                _ if self.slots[i].is_some() => self.errors.push(
                    FieldError::at(
                        key,
                        "value_error",
                        "Value error, the field appears more than once",
                    )
                    .input(item),
                ),
                // A field sent as null is treated as absent (and never written).
                _ if matches!(item, Value::Null) => {}
                _ => self.slots[i] = Some(item),
            }
        }
    }

    /// Validates and writes field `i` (or notes where a server member goes).
    fn field(&mut self, i: usize, field: &Field) {
        let start = self.out.len();
        let item = match (field.rule, self.slots[i]) {
            (Rule::Server(slot), _) => {
                self.server_at[slot] = start;
                return;
            }
            (Rule::Overlay, _) => return,
            (_, Some(item)) => item,
            (_, None) => {
                match i {
                    EVENT_TYPE => {
                        self.errors
                            .push(FieldError::at(field.name, "missing", "Field required"))
                    }
                    SEVERITY => {
                        self.out.extend_from_slice(field.member.as_bytes());
                        self.out.extend_from_slice(b"\"info\",");
                    }
                    CHANGED_FIELDS => self.changed_at = Some(start),
                    _ => {}
                }
                return;
            }
        };
        self.out.extend_from_slice(field.member.as_bytes());
        let written = match (i, item) {
            (OLD_VALUES | NEW_VALUES, Value::Object(members)) if self.changed_at.is_some() => {
                match write_object_spans(members, &mut self.out) {
                    Ok(spans) => {
                        if i == OLD_VALUES {
                            self.old_spans = Some(spans);
                        } else {
                            self.new_spans = Some(spans);
                        }
                        Ok(())
                    }
                    Err(_) => {
                        self.report_numbers(field, item);
                        Err(())
                    }
                }
            }
            _ => check(
                field,
                item,
                &mut self.out,
                &mut self.event_type,
                &mut self.errors,
            ),
        };
        match written {
            Ok(()) => self.out.push(b','),
            Err(()) => self.out.truncate(start),
        }
    }

    /// Reports every number in `item` that has no canonical form.
    fn report_numbers(&mut self, field: &Field, item: &Value<'_>) {
        let found = number_errors(item);
        self.errors
            .extend(found.iter().map(|e| FieldError::from_number(field.name, e)));
    }

    /// Writes the computed `changed_fields` where it belongs, after the fact: it sorts
    /// before old_values and new_values, whose canonical bytes it compares.
    fn insert_changed_fields(&mut self) {
        let Some(at) = self.changed_at else { return };
        let Some(keys) = changed_fields(
            self.old_spans.as_deref(),
            self.new_spans.as_deref(),
            &self.out,
        ) else {
            return;
        };
        let end = self.out.len();
        self.out
            .extend_from_slice(FIELDS[CHANGED_FIELDS].member.as_bytes());
        write_key_list(&keys, &mut self.out);
        self.out.push(b',');
        let len = self.out.len() - end;
        self.out[at..].rotate_right(len);
        // Everything recorded so far sorts after changed_fields, so it moved by `len`.
        for offset in &mut self.server_at {
            debug_assert!(*offset >= at);
            *offset += len;
        }
        if self.event_type.1 > 0 {
            debug_assert!(self.event_type.0 >= at);
            self.event_type = (self.event_type.0 + len, self.event_type.1 + len);
        }
    }
}

/// A generous bound on the server members' size, for the body-size check.
const SERVER_FIELDS_BYTES_BOUND: usize = 512;

/// Checks one present, non-null field and writes its value; `Err(())` when the problem
/// was pushed to `errors`.
fn check(
    field: &Field,
    item: &Value<'_>,
    out: &mut Vec<u8>,
    event_type: &mut (usize, usize),
    errors: &mut Vec<FieldError>,
) -> Result<(), ()> {
    let name = field.name;
    let result = match field.rule {
        Rule::Text(max) => rules::text(name, item, max, out),
        Rule::EventType => {
            rules::event_type(name, item, EVENT_TYPE_CHARS_MAX, out).map(|r| *event_type = r)
        }
        Rule::Severity => rules::severity(name, item, out),
        Rule::Ip => rules::ip(name, item, out),
        Rule::HttpMethod => rules::http_method(name, item, HTTP_METHOD_CHARS_MAX, out),
        Rule::Currency => rules::code(name, item, false, out),
        Rule::CountryCode => rules::code(name, item, true, out),
        Rule::Decimal { signed } => rules::decimal(name, item, signed, out),
        Rule::Time => rules::time(name, item, out),
        Rule::List {
            items_max,
            chars_max,
        } => {
            let before = errors.len();
            rules::list(name, item, items_max, chars_max, out, errors);
            return if errors.len() == before {
                Ok(())
            } else {
                Err(())
            };
        }
        Rule::Object => {
            let Value::Object(_) = item else {
                errors.push(dict_type(name, item));
                return Err(());
            };
            return match write_value(item, out) {
                Ok(()) => Ok(()),
                Err(_) => {
                    errors.extend(
                        number_errors(item)
                            .iter()
                            .map(|e| FieldError::from_number(name, e)),
                    );
                    Err(())
                }
            };
        }
        Rule::Server(_) | Rule::Overlay => return Err(()),
    };
    result.map_err(|e| errors.push(e))
}

fn dict_type(field: &str, item: &Value<'_>) -> FieldError {
    FieldError::at(field, "dict_type", "Input should be a valid dictionary").input(item)
}

/// A server-set or read-only field sent by the client.
fn server_set(field: &Field, item: &Value<'_>) -> FieldError {
    let msg = match field.rule {
        Rule::Overlay if field.name == "hash" => {
            "hash is computed by the server; a client must not send it".to_string()
        }
        Rule::Overlay => format!(
            "{} is set by the server when an event is resolved (POST /api/audit-logs/{{id}}/resolve); a client must not send it",
            field.name
        ),
        _ => format!("{} is set by the server; a client must not send it", field.name),
    };
    let mut err = FieldError::at(field.name, "extra_forbidden", msg);
    err.input = input_of(item);
    err
}

/// The computed `changed_fields`: keys whose canonical values differ (both objects),
/// else the one object's keys, in canonical order; `None` when neither is an object.
fn changed_fields<'v>(
    old: Option<&[(&'v str, Range<usize>)]>,
    new: Option<&[(&'v str, Range<usize>)]>,
    out: &[u8],
) -> Option<Vec<&'v str>> {
    let (old, new) = match (old, new) {
        (None, None) => return None,
        (Some(one), None) | (None, Some(one)) => return Some(one.iter().map(|s| s.0).collect()),
        (Some(old), Some(new)) => (old, new),
    };
    // Both span lists are in canonical key order: merge them.
    let mut keys = Vec::new();
    let (mut i, mut j) = (0, 0);
    loop {
        let order = match (old.get(i), new.get(j)) {
            (Some(a), Some(b)) => cmp_utf16(a.0, b.0),
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (None, None) => return Some(keys),
        };
        match order {
            Ordering::Less => {
                keys.push(old[i].0);
                i += 1;
            }
            Ordering::Greater => {
                keys.push(new[j].0);
                j += 1;
            }
            Ordering::Equal => {
                if out[old[i].1.clone()] != out[new[j].1.clone()] {
                    keys.push(old[i].0);
                }
                i += 1;
                j += 1;
            }
        }
    }
}

fn write_key_list(keys: &[&str], out: &mut Vec<u8>) {
    out.push(b'[');
    for (i, key) in keys.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write_string(key, out);
    }
    out.push(b']');
}

/// Builds and validates the `audit.resolution` event that resolving `target_id` appends
/// (api.md "Resolve"): action `RESOLVE`, severity `info`, record_id the target,
/// user_id the caller's key id, new_values `{"resolved_by", "resolution_notes"?}`.
pub fn prepare_resolution(
    target_id: &str,
    resolved_by: &str,
    resolution_notes: Option<&str>,
    caller_key_id: &str,
) -> Result<PreparedEvent, Vec<FieldError>> {
    use crate::limits::{NAME_CHARS_MAX, TEXT_CHARS_MAX};
    use std::borrow::Cow;
    let mut errors = Vec::new();
    let by = Value::String(Cow::Borrowed(resolved_by));
    let mut sink = Vec::new();
    if let Err(e) = rules::text("resolved_by", &by, NAME_CHARS_MAX, &mut sink) {
        errors.push(e);
    }
    let mut new_values = vec![(Cow::Borrowed("resolved_by"), by)];
    if let Some(notes) = resolution_notes {
        let notes = Value::String(Cow::Borrowed(notes));
        if let Err(e) = rules::text("resolution_notes", &notes, TEXT_CHARS_MAX, &mut sink) {
            errors.push(e);
        }
        new_values.push((Cow::Borrowed("resolution_notes"), notes));
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let s = |text: &'static str| Value::String(Cow::Borrowed(text));
    let event = Value::Object(vec![
        (Cow::Borrowed("event_type"), s("audit.resolution")),
        (Cow::Borrowed("action"), s("RESOLVE")),
        (Cow::Borrowed("severity"), s("info")),
        (
            Cow::Borrowed("record_id"),
            Value::String(Cow::Borrowed(target_id)),
        ),
        (
            Cow::Borrowed("user_id"),
            Value::String(Cow::Borrowed(caller_key_id)),
        ),
        (Cow::Borrowed("new_values"), Value::Object(new_values)),
    ]);
    prepare_value(&event)
}
