//! The audit event: strict JSON input, validation, and its canonical (RFC 8785) form.
//!
//! Ingest: [`prepare_event`] (or [`prepare_value`] for a batch element) parses with the
//! strict reader in [`json`], applies every rule of the event spec and returns either a
//! [`PreparedEvent`] (the client's members, already canonical) or every problem found as
//! [`FieldError`]s shaped like pydantic v2 422 items. The writer thread completes a
//! prepared event with [`PreparedEvent::write_body`], which adds `created_at`, `id`,
//! `prev_hash`, `seq` and `tenant_id` at their sorted places: the result is exactly the
//! RFC 8785 ([`jcs`]) form of the stored object, and `hash` = lowercase hex SHA-256 of
//! those bytes. Reads go through the body scanner: [`server_fields`] and [`top_level_members`]
//! scan a stored body without trusting it, and [`write_returned`] splices in `hash`,
//! `is_resolved` and the resolution overlay, so the returned object minus those keys
//! canonicalizes back to the hashed bytes.
//!
//! Error kinds (`FieldError::kind`): `json_invalid`, `dict_type`, `missing`,
//! `extra_forbidden` (unknown fields, and fields the server sets), `string_type`,
//! `string_too_short`, `string_too_long`, `string_pattern_mismatch`, `enum`,
//! `ip_any_address`, `decimal_type`, `decimal_parsing`, `greater_than_equal`,
//! `list_type`, `too_long`, `datetime_type`, `datetime_parsing`, `int_too_big`,
//! `finite_number`, `value_error`.

mod body;
mod error;
pub(crate) mod fields;
pub mod jcs;
pub mod json;
mod keys;
pub(crate) mod prepared;
mod reader;
mod returned;
mod rules;
pub(crate) mod scan;
mod skip;
mod validate;

#[cfg(test)]
mod tests;

pub(crate) use body::raw_server_fields;
pub use body::{server_fields, top_level_members, BodyError, StoredFields};
pub(crate) use body::{text_members, utf8};
pub use error::FieldError;
pub use json::{JsonError, Loc, Value};
pub use prepared::{PreparedEvent, ServerFields};
pub use returned::{write_returned, Overlay};
pub use validate::{prepare_event, prepare_resolution, prepare_value};
