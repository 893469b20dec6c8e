//! A validated event waiting for its server-set fields, and the cheap step that
//! completes it into the canonical body on the writer thread.

use super::fields::{SERVER_CREATED_AT, SERVER_FIELDS, SERVER_ID, SERVER_PREV_HASH, SERVER_SEQ};
use super::jcs::SAFE_INTEGER_MAX;
use crate::limits::TENANT_CHARS_MAX;
use crate::time::{write_rfc3339_us, RFC3339_US_BYTES};

/// The members the server adds when it appends an event.
#[derive(Debug, Clone, Copy)]
pub struct ServerFields<'a> {
    /// Receive time, microseconds since the epoch (`created_at`).
    pub created_at_us: i64,
    /// The event's id (`id`, written lowercase and hyphenated).
    pub id: uuid::Uuid,
    /// The previous event's hash (`prev_hash`, all zeros for seq 1).
    pub prev_hash: &'a [u8; 32],
    /// Position in the tenant's chain (`seq`, 1-based, at most 2^53 − 1).
    pub seq: u64,
    /// The tenant (`tenant_id`): `[A-Za-z0-9_-]{1,64}`, checked by the caller.
    pub tenant: &'a str,
}

/// The client's part of one canonical body, validated and serialized.
///
/// Layout: `members` holds every client member as RFC 8785 writes it (`"key":value`),
/// each followed by `,`, in canonical key order. `server_at[i]` is the byte offset in
/// `members` where server member `i` (`created_at`, `id`, `prev_hash`, `seq`,
/// `tenant_id`, in that order) belongs, so completing the body is five copies and five
/// small writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreparedEvent {
    pub(crate) members: Vec<u8>,
    pub(crate) server_at: [usize; SERVER_FIELDS],
    /// Byte range of the `event_type` text in `members`.
    pub(crate) event_type: (usize, usize),
    /// The tag for the id, when this is the first event of a tagged request.
    pub(crate) id_tag: Option<crate::idtag::IdTag>,
}

/// Largest size of the five server members with their commas (tenant at its longest).
const SERVER_MEMBERS_BYTES_MAX: usize = (r#""created_at":"","#.len() + RFC3339_US_BYTES)
    + (r#""id":"","#.len() + 36)
    + (r#""prev_hash":"","#.len() + 64)
    + (r#""seq":,"#.len() + 20)
    + (r#""tenant_id":"","#.len() + TENANT_CHARS_MAX);

impl PreparedEvent {
    /// An upper bound on the length of the body [`write_body`](Self::write_body) appends.
    pub fn body_len_hint(&self) -> usize {
        self.members.len() + SERVER_MEMBERS_BYTES_MAX + 2
    }

    /// The size of the event as stored, without the server's fields: the client's
    /// members and the defaults sealog fills in (`severity`, `changed_fields`) as compact
    /// canonical JSON. What "the whole event after parsing" measures for an event that
    /// did not arrive as a request body of its own.
    pub fn client_bytes(&self) -> usize {
        // Each member is followed by a comma; the object has one comma fewer, and braces.
        self.members.len() + 1
    }

    /// Tags the id this event will get ([`crate::idtag`]). Only a request's first event
    /// uses its tag; the engine ignores tags on the others.
    pub fn with_id_tag(mut self, tag: crate::idtag::IdTag) -> Self {
        self.set_id_tag(tag);
        self
    }

    /// [`with_id_tag`](Self::with_id_tag) in place.
    pub fn set_id_tag(&mut self, tag: crate::idtag::IdTag) {
        self.id_tag = Some(tag);
    }

    /// Whether the stored `body` is this event completed with some server fields: the
    /// client's members are byte for byte the same (both are canonical). How a retry of
    /// a tagged request is told apart from a different request under the same tag.
    pub fn same_client_members(&self, body: &[u8]) -> bool {
        const SERVER_KEYS: [&str; SERVER_FIELDS] =
            ["created_at", "id", "prev_hash", "seq", "tenant_id"];
        let mut rest = self.members.as_slice();
        for member in super::body::top_level_members(body) {
            let Ok((key, value)) = member else {
                return false;
            };
            if SERVER_KEYS.contains(&key) {
                continue;
            }
            let mut one = Vec::with_capacity(key.len() + value.len() + 4);
            super::jcs::write_string(key, &mut one);
            one.push(b':');
            one.extend_from_slice(value);
            one.push(b',');
            match rest.strip_prefix(one.as_slice()) {
                Some(r) => rest = r,
                None => return false,
            }
        }
        rest.is_empty()
    }

    /// The event's `event_type`.
    pub fn event_type(&self) -> &str {
        let (start, end) = self.event_type;
        self.members
            .get(start..end)
            .and_then(|b| std::str::from_utf8(b).ok())
            .unwrap_or("")
    }

    /// Appends the complete canonical body `{...}` (the RFC 8785 form of the whole
    /// stored object) to `out`.
    pub fn write_body(&self, server: &ServerFields<'_>, out: &mut Vec<u8>) {
        debug_assert!(
            !server.tenant.is_empty()
                && server.tenant.len() <= TENANT_CHARS_MAX
                && server
                    .tenant
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-'),
            "tenant {:?} must be [A-Za-z0-9_-]{{1,64}}",
            server.tenant
        );
        debug_assert!(
            server.seq <= SAFE_INTEGER_MAX,
            "seq {} is not a safe integer",
            server.seq
        );
        out.reserve(self.body_len_hint());
        out.push(b'{');
        let mut copied = 0;
        for (slot, &at) in self.server_at.iter().enumerate() {
            out.extend_from_slice(&self.members[copied..at]);
            copied = at;
            match slot {
                SERVER_CREATED_AT => {
                    let mut ts = [0u8; RFC3339_US_BYTES];
                    write_rfc3339_us(server.created_at_us, &mut ts);
                    out.extend_from_slice(br#""created_at":""#);
                    out.extend_from_slice(&ts);
                }
                SERVER_ID => {
                    let mut id = [0u8; 36];
                    out.extend_from_slice(br#""id":""#);
                    out.extend_from_slice(server.id.hyphenated().encode_lower(&mut id).as_bytes());
                }
                SERVER_PREV_HASH => {
                    out.extend_from_slice(br#""prev_hash":""#);
                    write_hex(server.prev_hash, out);
                }
                SERVER_SEQ => {
                    out.extend_from_slice(br#""seq":"#);
                    write_u64(server.seq, out);
                    out.push(b',');
                    continue;
                }
                _ => {
                    out.extend_from_slice(br#""tenant_id":""#);
                    out.extend_from_slice(server.tenant.as_bytes());
                }
            }
            out.extend_from_slice(b"\",");
        }
        out.extend_from_slice(&self.members[copied..]);
        // Every member, client or server, ended with ','; the last one closes the object.
        if let Some(last) = out.last_mut() {
            *last = b'}';
        }
    }
}

/// Appends 32 bytes as 64 lowercase hex digits.
pub(crate) fn write_hex(bytes: &[u8; 32], out: &mut Vec<u8>) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut buf = [0u8; 64];
    for (pair, &b) in buf.chunks_exact_mut(2).zip(bytes) {
        pair[0] = HEX[usize::from(b >> 4)];
        pair[1] = HEX[usize::from(b & 15)];
    }
    out.extend_from_slice(&buf);
}

/// Appends `v` in decimal (a safe integer's JCS form).
fn write_u64(v: u64, out: &mut Vec<u8>) {
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    let mut v = v;
    loop {
        i -= 1;
        buf[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    out.extend_from_slice(&buf[i..]);
}
