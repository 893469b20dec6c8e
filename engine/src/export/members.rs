//! The returned object's members, found once per event and looked up by [`Column`].
//!
//! Every export format but JSON needs individual fields. The stored body is canonical
//! JSON, so one pass of the body scanner finds every top-level member as raw JSON
//! bytes; [`Members`] files them by column, and encoders decode only what they use.

use std::borrow::Cow;

use crate::event::{text_members, utf8, BodyError};
use crate::search::string;

use super::ExportEvent;

macro_rules! columns {
    ($($variant:ident = $name:literal,)*) => {
        /// A field of the returned object. The declaration order is the CSV column
        /// order (docs/EXPORTS.md): identity first, then who/what/where, then the
        /// trading and compliance fields, then the chain and the resolution overlay.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        #[allow(missing_docs)]
        pub enum Column { $($variant,)* }

        impl Column {
            /// Every column, in CSV order.
            pub const ALL: [Column; [$($name,)*].len()] = [$(Column::$variant,)*];

            /// The field's name in the returned object.
            pub const fn name(self) -> &'static str {
                match self { $(Column::$variant => $name,)* }
            }

            /// The column of a field name.
            pub fn of(name: &str) -> Option<Column> {
                // A string match dispatches on the length, then compares.
                match name { $($name => Some(Column::$variant),)* _ => None }
            }
        }
    };
}

columns! {
    Id = "id",
    TenantId = "tenant_id",
    Seq = "seq",
    CreatedAt = "created_at",
    OccurredAt = "occurred_at",
    EventType = "event_type",
    Severity = "severity",
    Action = "action",
    Result = "result",
    EventDescription = "event_description",
    UserId = "user_id",
    UserName = "user_name",
    ActorType = "actor_type",
    ActorRole = "actor_role",
    SessionId = "session_id",
    RequestId = "request_id",
    IpAddress = "ip_address",
    UserAgent = "user_agent",
    Endpoint = "endpoint",
    HttpMethod = "http_method",
    TableName = "table_name",
    RecordId = "record_id",
    EntityName = "entity_name",
    OldValues = "old_values",
    NewValues = "new_values",
    ChangedFields = "changed_fields",
    Symbol = "symbol",
    Currency = "currency",
    Exchange = "exchange",
    Amount = "amount",
    RiskScore = "risk_score",
    ComplianceStatus = "compliance_status",
    Jurisdiction = "jurisdiction",
    RegulatoryFramework = "regulatory_framework",
    CountryCode = "country_code",
    FlaggedKeywords = "flagged_keywords",
    Tags = "tags",
    AuditMetadata = "audit_metadata",
    ErrorCode = "error_code",
    ErrorMessage = "error_message",
    StackTrace = "stack_trace",
    PrevHash = "prev_hash",
    Hash = "hash",
    IsResolved = "is_resolved",
    ResolvedAt = "resolved_at",
    ResolvedBy = "resolved_by",
    ResolutionNotes = "resolution_notes",
}

/// The stored body's members by column, as raw JSON (`hash` and the overlay are not in
/// the body: encoders take them from the [`ExportEvent`]). The body is checked to be
/// UTF-8 once, so every member is text without another check.
#[derive(Debug)]
pub struct Members<'a> {
    raw: [Option<&'a str>; Column::ALL.len()],
}

impl<'a> Members<'a> {
    /// Files every member of the event's body. A member sealog does not know (there is
    /// none in a body it stored) is an error rather than silently left out.
    pub fn of(ev: &ExportEvent<'a>) -> Result<Members<'a>, BodyError> {
        Self::scan(ev, None)
    }

    /// Files the body's members up to the last whose key sorts at or before `last`
    /// (the body's keys are in canonical order, so the scan stops there): for an
    /// encoder that needs a few early fields and copies the body whole otherwise.
    /// Columns after `last` read as absent.
    pub fn until(ev: &ExportEvent<'a>, last: Column) -> Result<Members<'a>, BodyError> {
        Self::scan(ev, Some(last.name()))
    }

    fn scan(ev: &ExportEvent<'a>, last: Option<&str>) -> Result<Members<'a>, BodyError> {
        let mut raw = [None; Column::ALL.len()];
        for member in text_members(utf8(ev.body)?) {
            let (key, value) = member?;
            if last.is_some_and(|last| key > last) {
                break;
            }
            let Some(col) = Column::of(key) else {
                return Err(BodyError::BadField {
                    field: "a member",
                    expected: "a field sealog knows",
                });
            };
            raw[col as usize] = Some(value);
        }
        Ok(Members { raw })
    }

    /// The raw JSON value of a body member.
    pub fn raw(&self, col: Column) -> Option<&'a [u8]> {
        self.raw[col as usize].map(str::as_bytes)
    }

    /// A member's text: a string unescaped, any other value as its compact JSON.
    pub fn text(&self, col: Column) -> Option<Cow<'a, str>> {
        let raw = self.raw[col as usize]?;
        // No early exit: a branch-free pass over a short string is quicker than a search.
        let escaped = |s: &str| s.bytes().fold(false, |any, b| any | (b == b'\\'));
        match raw.strip_prefix('"').and_then(|s| s.strip_suffix('"')) {
            Some(inner) if !escaped(inner) => Some(Cow::Borrowed(inner)),
            Some(_) => string(raw.as_bytes()),
            None => Some(Cow::Borrowed(raw)),
        }
    }
}
