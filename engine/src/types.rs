//! Newtypes that keep offsets, counts and identifiers from being mixed up.

use std::fmt;
use std::sync::Arc;

use crate::error::EngineError;
use crate::limits::TENANT_CHARS_MAX;

/// Log sequence number: the position of a record in the whole log, across tenants.
/// The first record is LSN 1; LSNs have no gaps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Lsn(pub u64);

/// A tenant's event number: 1, 2, 3, … with no gaps, per tenant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Seq(pub u64);

/// A segment file's number: 1, 2, 3, … in log order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct SegmentId(pub u64);

impl fmt::Display for Lsn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl fmt::Display for Seq {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl fmt::Display for SegmentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:020}", self.0)
    }
}

/// A tenant's name: 1..=64 characters of `[A-Za-z0-9_-]`. Cheap to clone.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TenantId(Arc<str>);

impl TenantId {
    /// Validates and wraps a tenant name.
    pub fn new(name: &str) -> Result<TenantId, EngineError> {
        if is_valid_tenant(name.as_bytes()) {
            Ok(TenantId(Arc::from(name)))
        } else {
            Err(EngineError::InvalidTenant {
                name: truncate_for_message(name),
            })
        }
    }

    /// The tenant every all-tenants key writes to unless it names another.
    pub fn default_tenant() -> TenantId {
        TenantId(Arc::from("default"))
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for TenantId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", &*self.0)
    }
}

impl fmt::Display for TenantId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Whether `name` is a legal tenant name (`[A-Za-z0-9_-]{1,64}`).
pub fn is_valid_tenant(name: &[u8]) -> bool {
    !name.is_empty()
        && name.len() <= TENANT_CHARS_MAX
        && name
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || *b == b'_' || *b == b'-')
}

fn truncate_for_message(s: &str) -> String {
    s.chars().take(80).collect()
}
