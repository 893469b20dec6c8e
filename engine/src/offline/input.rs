//! What a user hands the verifier besides the data: verifier keys and checkpoints, as
//! the bare text or as the server's JSON, read with a size bound; and typed access to
//! the fields of a JSON document with errors that name the field.

use std::borrow::Cow;
use std::io::Read;
use std::path::Path;

use crate::error::{EngineError, Result};
use crate::event::json::{self, Value};
use crate::merkle::note::{open_checkpoint, Checkpoint, VerifierKey, NOTE_BYTES_MAX};
use crate::merkle::Hash;

/// Largest key or checkpoint file read: a signed note is at most [`NOTE_BYTES_MAX`], and
/// the server's JSON around it adds less than as much again (escapes included).
pub const INPUT_FILE_BYTES_MAX: u64 = 2 * NOTE_BYTES_MAX as u64 + 4096;

/// Most hashes read from one proof path: an RFC 9162 inclusion proof holds at most 64,
/// a consistency proof at most 65; a longer path is refused before it is decoded.
const PATH_HASHES_MAX: usize = 128;

fn format_error(path: &Path, why: impl Into<String>) -> EngineError {
    EngineError::Format {
        path: path.to_path_buf(),
        why: why.into(),
    }
}

/// Reads a whole file of at most `max` bytes (a longer file is an error naming it).
pub fn read_input_file(path: &Path, max: u64) -> Result<Vec<u8>> {
    let io = |source| EngineError::Io {
        path: path.to_path_buf(),
        op: "read",
        source,
    };
    let file = std::fs::File::open(path).map_err(io)?;
    let mut bytes = Vec::new();
    file.take(max + 1).read_to_end(&mut bytes).map_err(io)?;
    if bytes.len() as u64 > max {
        return Err(format_error(
            path,
            format!("larger than the {max} bytes this input may have"),
        ));
    }
    Ok(bytes)
}

/// Parses a verifier key file: the vkey text (`<name>+<key id>+<base64>`), or the JSON
/// of `GET /api/audit-logs/public-key` (its `vkey` field).
pub fn parse_verifier_key(bytes: &[u8], path: &Path) -> Result<VerifierKey> {
    let text = std::str::from_utf8(bytes).map_err(|_| format_error(path, "not UTF-8 text"))?;
    let trimmed = text.trim();
    let vkey = if trimmed.starts_with('{') {
        let doc = json::parse(trimmed.as_bytes())
            .map_err(|e| format_error(path, format!("not JSON: {e}")))?;
        let obj = Obj::root(&doc, "").map_err(|why| format_error(path, why))?;
        obj.str("vkey")
            .map_err(|why| format_error(path, why))?
            .to_owned()
    } else {
        trimmed.to_owned()
    };
    VerifierKey::parse(&vkey).map_err(|e| format_error(path, format!("not a verifier key: {e}")))
}

/// The fields of `GET /api/audit-logs/checkpoint` that repeat what the note says.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Claimed {
    origin: Option<String>,
    tree_size: Option<u64>,
    root_hash: Option<Hash>,
}

/// A checkpoint as the user gave it: the C2SP signed note, plus the JSON's own copy of
/// its fields when it came as the server's JSON (they must agree with the note).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckpointInput {
    /// The signed note text.
    pub note: String,
    claimed: Option<Claimed>,
}

/// Parses a checkpoint file: the signed note text, or the JSON of
/// `GET /api/audit-logs/checkpoint` (or a receipt's `checkpoint`) whose `note` holds it.
/// A bare note's trailing blank lines are trimmed to the one newline a note ends with
/// (`jq -r .note` adds one).
pub fn parse_checkpoint_input(bytes: &[u8], path: &Path) -> Result<CheckpointInput> {
    let text = std::str::from_utf8(bytes).map_err(|_| format_error(path, "not UTF-8 text"))?;
    if text.trim_start().starts_with('{') {
        let doc = json::parse(text.as_bytes())
            .map_err(|e| format_error(path, format!("not JSON: {e}")))?;
        let obj = Obj::root(&doc, "").map_err(|why| format_error(path, why))?;
        return CheckpointInput::from_json(&obj).map_err(|why| format_error(path, why));
    }
    let note = format!("{}\n", text.trim_end());
    Ok(CheckpointInput {
        note,
        claimed: None,
    })
}

impl CheckpointInput {
    /// From a checkpoint object (`note`, and optionally `origin`, `tree_size`, `root_hash`).
    pub(crate) fn from_json(obj: &Obj<'_, '_>) -> std::result::Result<CheckpointInput, String> {
        let note = obj.str("note")?.to_owned();
        let claimed = Claimed {
            origin: obj.opt("origin", |o| o.str("origin").map(str::to_owned))?,
            tree_size: obj.opt("tree_size", |o| o.u64("tree_size"))?,
            root_hash: obj.opt("root_hash", |o| o.hash("root_hash"))?,
        };
        Ok(CheckpointInput {
            note,
            claimed: Some(claimed),
        })
    }

    /// Opens the note with `key` (signature checked) and checks that the JSON's copies
    /// of origin, size and root say the same. The error says what failed.
    pub fn open(&self, key: &VerifierKey) -> std::result::Result<Checkpoint, String> {
        let cp = open_checkpoint(&self.note, key).map_err(|e| e.to_string())?;
        self.agree(&cp)?;
        Ok(cp)
    }

    /// The note's body without checking any signature (when no key was given).
    pub fn unverified(&self) -> std::result::Result<Checkpoint, String> {
        let split = self
            .note
            .rfind("\n\n")
            .ok_or("the note has no blank line before its signatures")?;
        let cp = Checkpoint::parse_body(&self.note[..split + 1]).map_err(|e| e.to_string())?;
        self.agree(&cp)?;
        Ok(cp)
    }

    fn agree(&self, cp: &Checkpoint) -> std::result::Result<(), String> {
        let Some(c) = &self.claimed else {
            return Ok(());
        };
        let differs = |field: &str, json: String, note: String| {
            Err(format!(
                "field {field} says {json} but the signed note says {note}"
            ))
        };
        if let Some(o) = c.origin.as_deref().filter(|o| *o != cp.origin()) {
            return differs("origin", o.to_owned(), cp.origin().to_owned());
        }
        if let Some(s) = c.tree_size.filter(|s| *s != cp.size()) {
            return differs("tree_size", s.to_string(), cp.size().to_string());
        }
        if let Some(r) = c.root_hash.filter(|r| *r != cp.root()) {
            return differs("root_hash", hex::encode(r), hex::encode(cp.root()));
        }
        Ok(())
    }
}

/// The tenant a checkpoint's origin (`<log name>/<tenant>`) names.
pub(crate) fn origin_tenant(origin: &str) -> Option<&str> {
    let (_, tenant) = origin.rsplit_once('/')?;
    crate::types::is_valid_tenant(tenant.as_bytes()).then_some(tenant)
}

/// A JSON object with its path from the document root, for error messages
/// (`field proof.inclusion_path[3]: …`).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Obj<'v, 'a> {
    members: &'v [(Cow<'a, str>, Value<'a>)],
    at: &'v str,
}

/// A field's problem, named by its path.
fn field(prefix: &str, key: &str, why: &str) -> String {
    if prefix.is_empty() {
        format!("field {key}: {why}")
    } else {
        format!("field {prefix}.{key}: {why}")
    }
}

impl<'v, 'a> Obj<'v, 'a> {
    /// The document itself, which must be an object; `at` names it in messages.
    pub(crate) fn root(doc: &'v Value<'a>, at: &'v str) -> std::result::Result<Self, String> {
        match doc {
            Value::Object(members) => Ok(Obj { members, at }),
            other => Err(format!(
                "expected a JSON object, found {}",
                other.type_name()
            )),
        }
    }

    pub(crate) fn has(&self, key: &str) -> bool {
        self.get(key).is_some()
    }

    pub(crate) fn get(&self, key: &str) -> Option<&'v Value<'a>> {
        self.members.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    fn need(&self, key: &str) -> std::result::Result<&'v Value<'a>, String> {
        self.get(key).ok_or_else(|| field(self.at, key, "missing"))
    }

    fn wrong(&self, key: &str, want: &str, got: &Value<'_>) -> String {
        field(
            self.at,
            key,
            &format!("must be {want}, found {}", got.type_name()),
        )
    }

    /// `None` when `key` is absent, else what `read` makes of this object.
    pub(crate) fn opt<T>(
        &self,
        key: &str,
        read: impl FnOnce(&Self) -> std::result::Result<T, String>,
    ) -> std::result::Result<Option<T>, String> {
        if self.has(key) {
            read(self).map(Some)
        } else {
            Ok(None)
        }
    }

    pub(crate) fn obj(&self, key: &'v str) -> std::result::Result<Obj<'v, 'a>, String> {
        match self.need(key)? {
            Value::Object(members) => Ok(Obj { members, at: key }),
            other => Err(self.wrong(key, "an object", other)),
        }
    }

    pub(crate) fn str(&self, key: &str) -> std::result::Result<&'v str, String> {
        match self.need(key)? {
            Value::String(s) => Ok(s),
            other => Err(self.wrong(key, "a string", other)),
        }
    }

    pub(crate) fn u64(&self, key: &str) -> std::result::Result<u64, String> {
        match self.need(key)? {
            Value::Number(lit) => lit
                .parse::<u64>()
                .map_err(|_| field(self.at, key, &format!("{lit} is not an integer in 0..2^64"))),
            other => Err(self.wrong(key, "a number", other)),
        }
    }

    pub(crate) fn hash(&self, key: &str) -> std::result::Result<Hash, String> {
        parse_hash(self.str(key)?).map_err(|why| field(self.at, key, why))
    }

    pub(crate) fn hashes(&self, key: &str) -> std::result::Result<Vec<Hash>, String> {
        let items = match self.need(key)? {
            Value::Array(items) => items,
            other => return Err(self.wrong(key, "an array", other)),
        };
        if items.len() > PATH_HASHES_MAX {
            let why = format!("{} hashes; a proof has at most 65", items.len());
            return Err(field(self.at, key, &why));
        }
        let item = |i: usize, why: &str| field(self.at, &format!("{key}[{i}]"), why);
        items
            .iter()
            .enumerate()
            .map(|(i, v)| match v {
                Value::String(s) => parse_hash(s).map_err(|why| item(i, why)),
                other => Err(item(
                    i,
                    &format!("must be a string, found {}", other.type_name()),
                )),
            })
            .collect()
    }
}

/// 64 hex digits (either case) into a hash.
pub(crate) fn parse_hash(s: &str) -> std::result::Result<Hash, &'static str> {
    let mut out = [0u8; 32];
    if s.len() != 64 {
        return Err("must be 64 hex digits");
    }
    hex::decode_to_slice(s, &mut out).map_err(|_| "must be 64 hex digits")?;
    Ok(out)
}
