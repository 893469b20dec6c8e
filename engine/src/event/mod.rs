//! The audit event: strict JSON input, validation, canonical (RFC 8785) form.
