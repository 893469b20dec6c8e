//! The audit event: strict JSON input, validation, canonical (RFC 8785) form.
//! (Temporary stand-in while the real module is written.)
#![allow(missing_docs)]

#[derive(Debug)]
pub struct ServerFields<'a> {
    pub created_at_us: i64,
    pub id: uuid::Uuid,
    pub prev_hash: &'a [u8; 32],
    pub seq: u64,
    pub tenant: &'a str,
}

#[derive(Debug, Clone)]
pub struct PreparedEvent {
    event_type: String,
}

impl PreparedEvent {
    pub fn stub(event_type: &str) -> Self {
        PreparedEvent {
            event_type: event_type.to_owned(),
        }
    }
    pub fn body_len_hint(&self) -> usize {
        200 + self.event_type.len()
    }
    pub fn event_type(&self) -> &str {
        &self.event_type
    }
    pub fn write_body(&self, s: &ServerFields<'_>, out: &mut Vec<u8>) {
        use std::io::Write;
        let _ = write!(
            out,
            "{{\"created_at\":\"{:?}\",\"event_type\":\"{}\",\"id\":\"{}\",\"prev_hash\":\"{}\",\"seq\":{},\"severity\":\"info\",\"tenant_id\":\"{}\"}}",
            s.created_at_us,
            self.event_type,
            s.id,
            hex::encode(s.prev_hash),
            s.seq,
            s.tenant
        );
    }
}

#[derive(Debug, serde::Deserialize)]
pub struct StoredFields<'a> {
    #[serde(borrow)]
    pub created_at: &'a str,
    #[serde(borrow)]
    pub id: &'a str,
    #[serde(borrow)]
    pub prev_hash: &'a str,
    pub seq: u64,
    #[serde(borrow, rename = "tenant_id")]
    pub tenant_id: &'a str,
}

#[derive(Debug)]
pub struct BodyError(pub String);

impl std::fmt::Display for BodyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

pub fn server_fields(body: &[u8]) -> Result<StoredFields<'_>, BodyError> {
    serde_json::from_slice(body).map_err(|e| BodyError(e.to_string()))
}
