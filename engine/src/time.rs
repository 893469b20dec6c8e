//! Timestamps: microseconds since the Unix epoch, RFC 3339 in and out.
