//! Tests of the event module, one file per concern.

mod body;
mod jcs;
mod json;
mod perf;
mod props;
mod support;
mod validate;
mod validate_more;
