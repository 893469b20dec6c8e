//! Checkpoints as C2SP signed notes (c2sp.org/signed-note, c2sp.org/tlog-checkpoint),
//! signed and checked with Ed25519.
//!
//! A checkpoint commits to one tenant's Merkle tree. Its body is three lines: the origin
//! `<log name>/<tenant>`, the tree size in decimal and the base64 root hash. A blank line
//! follows, then one signature line per key:
//!
//! ```text
//! sealog/acme
//! 1234567
//! SBNJTRN+FjG7owHVrKtue7eqdM4RhdRWVl71HXN2d7I=
//!
//! — sealog dljAT2GxT9frW+JemkGQ+4vUCwRS4I1LhJD+qZd75s0VrdOMqK35YcCdji+FEsp/qTL5suGxDmoFZNXLesPRSkh29wA=
//! ```
//!
//! A signature line is an em dash (U+2014), a space, the key name, a space, and
//! base64(key id ‖ Ed25519 signature over the body bytes, final newline included). The key
//! id is the first 4 bytes of SHA-256(name ‖ "\n" ‖ 0x01 ‖ public key). A verifier key
//! ("vkey") is `<name>+<8 hex digit key id>+<base64(0x01 ‖ public key)>`, and a private key
//! is Go's `PRIVATE+KEY+<name>+<key id>+<base64(0x01 ‖ seed)>`. So Go's
//! golang.org/x/mod/sumdb/note, or any other C2SP implementation, checks sealog's
//! checkpoints with the published vkey.
//!
//! Parsing never panics and bounds its work ([`NOTE_BYTES_MAX`], [`SIGNATURES_MAX`]).
//! Base64 must be canonical (standard alphabet, padded, zero trailing bits), so each
//! checkpoint and signature has exactly one text.

use std::fmt;
use std::fs::{self, File, OpenOptions, Permissions};
use std::io::{self, Read, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::str::FromStr;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use ring::rand::{SecureRandom, SystemRandom};
use ring::signature::{Ed25519KeyPair, KeyPair, UnparsedPublicKey, ED25519};
use sha2::{Digest, Sha256};

use super::Hash;

/// Largest signed note [`open_checkpoint`] reads. A sealog checkpoint is about 200 bytes;
/// 1 MiB leaves room for [`SIGNATURES_MAX`] post-quantum cosignatures (up to ~5 kB each,
/// per signed-note) and bounds what a hostile note costs to reject.
pub const NOTE_BYTES_MAX: usize = 1024 * 1024;
/// Most signature lines a note may carry: Go's sumdb/note limit. Signed-note requires
/// verifiers to accept at least 16.
pub const SIGNATURES_MAX: usize = 100;
const _: () = assert!(SIGNATURES_MAX >= 16);
/// Largest key file read. A private key string is under 200 bytes for sane names.
pub const KEY_FILE_BYTES_MAX: u64 = 4096;
/// The signing key's file name inside the key directory.
pub const KEY_FILE_NAME: &str = "checkpoint.key";
/// The verifier key's file name, written beside [`KEY_FILE_NAME`] for operators to publish.
pub const VKEY_FILE_NAME: &str = "checkpoint.vkey";

/// Signed-note signature type byte for Ed25519.
const ALG_ED25519: u8 = 0x01;
/// Starts every signature line: em dash (U+2014), space.
const SIG_LINE_PREFIX: &str = "\u{2014} ";
const PRIVATE_KEY_PREFIX: &str = "PRIVATE+KEY+";
/// Length of the padded base64 of a 32-byte hash.
const ROOT_BASE64_CHARS: usize = 44;
/// Error messages quote at most this many characters of the input.
const EXCERPT_CHARS_MAX: usize = 64;

/// What went wrong reading, checking or signing a note or a key.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum NoteError {
    /// The note is longer than [`NOTE_BYTES_MAX`].
    #[error("note is {len} bytes; at most {NOTE_BYTES_MAX} are accepted")]
    NoteTooLarge {
        /// The note's length.
        len: usize,
    },
    /// Signed notes may hold no ASCII control character but newline.
    #[error("{what} has control character U+{code:04X} at byte {offset}; only newline is allowed")]
    ControlCharacter {
        /// "note" or "checkpoint body".
        what: &'static str,
        /// The byte's offset.
        offset: usize,
        /// The character.
        code: u8,
    },
    /// No blank line separates the text from the signature lines.
    #[error("note has no blank line between its text and its signature lines")]
    NoBlankLine,
    /// The note ends with its blank line.
    #[error("note has no signature line after its blank line")]
    NoSignatureLines,
    /// The last signature line lacks its newline.
    #[error("note does not end with a newline")]
    NoFinalNewline,
    /// More than [`SIGNATURES_MAX`] signature lines.
    #[error("note has more than {SIGNATURES_MAX} signature lines")]
    TooManySignatures,
    /// A signature line is not `— <name> <base64>`.
    #[error("signature line {line} is malformed: {why}")]
    MalformedSignatureLine {
        /// 1-based, counting from the first signature line.
        line: usize,
        /// What is wrong.
        why: &'static str,
    },
    /// No signature line names the verifier's key (name and key id).
    #[error("note has no signature line by key {name}+{}", hex::encode(.key_id))]
    NoSignatureByKey {
        /// The verifier's key name.
        name: String,
        /// The verifier's key id.
        key_id: [u8; 4],
    },
    /// A signature line names the verifier's key but its signature is wrong.
    #[error("signature by key {name}+{} does not verify", hex::encode(.key_id))]
    SignatureInvalid {
        /// The key name.
        name: String,
        /// The key id.
        key_id: [u8; 4],
    },
    /// The origin cannot be a checkpoint's first line.
    #[error("checkpoint origin is invalid: {why}")]
    InvalidOrigin {
        /// What is wrong.
        why: &'static str,
    },
    /// The checkpoint body's last line lacks its newline.
    #[error("checkpoint body does not end with a newline")]
    BodyNoFinalNewline,
    /// Fewer than the three mandatory lines.
    #[error("checkpoint body has {lines} line(s); it needs origin, tree size and root hash")]
    BodyTooShort {
        /// How many lines it has.
        lines: usize,
    },
    /// The second line is not a tree size.
    #[error("tree size line {line:?} {why}")]
    BadTreeSize {
        /// The line (its start, if long).
        line: String,
        /// What is wrong.
        why: &'static str,
    },
    /// The third line is not a root hash.
    #[error("root hash line {line:?} is not the canonical padded base64 of 32 bytes")]
    BadRootHash {
        /// The line (its start, if long).
        line: String,
    },
    /// tlog-checkpoint: extension lines must be non-empty.
    #[error("checkpoint line {line} (an extension line) is empty")]
    EmptyExtensionLine {
        /// 1-based line number in the body.
        line: usize,
    },
    /// Signed-note key names are non-empty, without whitespace or `+`; sealog also
    /// refuses control characters in its own keys.
    #[error("key name {name:?} is invalid: {why}")]
    InvalidKeyName {
        /// The name (its start, if long).
        name: String,
        /// What is wrong.
        why: &'static str,
    },
    /// The text is not `<name>+<key id>+<base64 key>`.
    #[error("verifier key {vkey:?} is malformed: {why}")]
    MalformedVerifierKey {
        /// The verifier key (its start, if long).
        vkey: String,
        /// What is wrong.
        why: &'static str,
    },
    /// The text is not `PRIVATE+KEY+<name>+<key id>+<base64 seed>`. Never quotes the key.
    #[error("private key is malformed: {why}")]
    MalformedPrivateKey {
        /// What is wrong.
        why: &'static str,
    },
    /// The key's type byte is not Ed25519's.
    #[error("key type 0x{alg:02x} is not supported; only 0x01 (Ed25519) is")]
    UnsupportedKeyType {
        /// The type byte.
        alg: u8,
    },
    /// The key id written in a key does not belong to its name and public key.
    #[error(
        "key {name}+{} states the wrong key id; its name and public key give {}",
        hex::encode(.stated),
        hex::encode(.computed)
    )]
    KeyIdMismatch {
        /// The key name.
        name: String,
        /// The key id written in the key.
        stated: [u8; 4],
        /// The key id its name and public key give.
        computed: [u8; 4],
    },
    /// The operating system's random number generator failed.
    #[error("the system random number generator failed")]
    Random,
    /// Reading or writing a key file or its directory failed.
    #[error("I/O error on {path}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The cause.
        source: io::Error,
    },
    /// The key file's mode lets group or others in.
    #[error("key file {path} is open to group or others (mode {mode:04o}); chmod 600 it")]
    KeyFileMode {
        /// The key file.
        path: PathBuf,
        /// Its permission bits.
        mode: u32,
    },
    /// The key file is longer than [`KEY_FILE_BYTES_MAX`].
    #[error("key file {path} is longer than {KEY_FILE_BYTES_MAX} bytes")]
    KeyFileTooLarge {
        /// The key file.
        path: PathBuf,
    },
    /// The key file does not hold a private key string.
    #[error("key file {path} does not hold a valid signing key")]
    KeyFileInvalid {
        /// The key file.
        path: PathBuf,
        /// Why not (never quotes the key).
        source: Box<NoteError>,
    },
    /// The key file's key is named for another log.
    #[error("key file {path} holds a key named {found:?}, but the log name is {expected:?}")]
    KeyNameMismatch {
        /// The key file.
        path: PathBuf,
        /// The key's name.
        found: String,
        /// The configured log name.
        expected: String,
    },
}

/// A checkpoint body: the origin, tree size and root hash of one tenant's Merkle tree.
///
/// The origin is checked on construction, so [`Checkpoint::body`] is always well formed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    origin: String,
    size: u64,
    root: Hash,
}

impl Checkpoint {
    /// A checkpoint. The origin (sealog writes `<log name>/<tenant>`) must be non-empty
    /// and hold no newline or other ASCII control character.
    pub fn new(origin: &str, size: u64, root: Hash) -> Result<Checkpoint, NoteError> {
        if origin.is_empty() {
            return Err(NoteError::InvalidOrigin { why: "it is empty" });
        }
        if origin.bytes().any(|b| b < 0x20) {
            return Err(NoteError::InvalidOrigin {
                why: "it contains a newline or another control character",
            });
        }
        Ok(Checkpoint {
            origin: origin.to_owned(),
            size,
            root,
        })
    }

    /// The log identity that issued it.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// The number of leaves in the tree.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The RFC 9162 root hash of the tree at [`Checkpoint::size`].
    pub fn root(&self) -> Hash {
        self.root
    }

    /// The note text: origin, size and base64 root, each ending in a newline. No extension
    /// lines. These are the bytes the signature covers.
    pub fn body(&self) -> String {
        format!(
            "{}\n{}\n{}\n",
            self.origin,
            self.size,
            BASE64.encode(self.root)
        )
    }

    /// Parses a body as tlog-checkpoint defines it: an origin line, a tree size without
    /// leading zeros, the padded base64 of a 32-byte root, then optional non-empty
    /// extension lines, which are accepted and ignored (sealog writes none). Parsing does
    /// not make the body trustworthy: use [`open_checkpoint`] on notes from elsewhere.
    pub fn parse_body(text: &str) -> Result<Checkpoint, NoteError> {
        check_control_characters("checkpoint body", text)?;
        let lines = text
            .strip_suffix('\n')
            .ok_or(NoteError::BodyNoFinalNewline)?;
        let mut lines = lines.split('\n');
        let (Some(origin), Some(size), Some(root)) = (lines.next(), lines.next(), lines.next())
        else {
            let lines = text.matches('\n').count();
            return Err(NoteError::BodyTooShort { lines });
        };
        let size = parse_tree_size(size)?;
        let root = parse_root(root)?;
        if let Some(i) = lines.position(str::is_empty) {
            return Err(NoteError::EmptyExtensionLine { line: i + 4 });
        }
        Checkpoint::new(origin, size, root)
    }
}

/// The server's Ed25519 checkpoint signing key. Keeps the 32-byte seed so the key can be
/// saved; `Debug` shows only the name and key id.
pub struct SigningKey {
    name: String,
    seed: [u8; 32],
    pair: Ed25519KeyPair,
    public_key: [u8; 32],
    key_id: [u8; 4],
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("name", &self.name)
            .field("key_id", &hex::encode(self.key_id))
            .finish_non_exhaustive()
    }
}

impl SigningKey {
    /// A fresh key from the system's random number generator.
    pub fn generate(name: &str) -> Result<SigningKey, NoteError> {
        let mut seed = [0u8; 32];
        SystemRandom::new()
            .fill(&mut seed)
            .map_err(|_| NoteError::Random)?;
        SigningKey::from_seed(name, &seed)
    }

    /// The key with this RFC 8032 seed (private key), named `name`.
    pub fn from_seed(name: &str, seed: &[u8; 32]) -> Result<SigningKey, NoteError> {
        check_key_name(name)?;
        let pair = Ed25519KeyPair::from_seed_unchecked(seed).map_err(|_| {
            NoteError::MalformedPrivateKey {
                why: "ring rejected the Ed25519 seed",
            }
        })?;
        let public_key: [u8; 32] =
            pair.public_key()
                .as_ref()
                .try_into()
                .map_err(|_| NoteError::MalformedPrivateKey {
                    why: "ring derived a public key that is not 32 bytes",
                })?;
        Ok(SigningKey {
            name: name.to_owned(),
            seed: *seed,
            pair,
            public_key,
            key_id: key_id(name, &public_key),
        })
    }

    /// The key name (sealog's log name) written in signature lines.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The Ed25519 public key.
    pub fn public_key(&self) -> [u8; 32] {
        self.public_key
    }

    /// SHA-256(name ‖ "\n" ‖ 0x01 ‖ public key)\[..4\].
    pub fn key_id(&self) -> [u8; 4] {
        self.key_id
    }

    /// The matching verifier key, for clients.
    pub fn verifier(&self) -> VerifierKey {
        VerifierKey {
            name: self.name.clone(),
            key_id: self.key_id,
            public_key: self.public_key,
        }
    }

    /// The complete signed note for this checkpoint: body, blank line, one signature line.
    pub fn sign(&self, checkpoint: &Checkpoint) -> String {
        self.sign_text(&checkpoint.body())
    }

    /// The raw Ed25519 signature of the checkpoint's body (what sealog stores; the
    /// note is rebuilt from it with [`SigningKey::note_with_signature`]).
    pub fn sign_checkpoint(&self, checkpoint: &Checkpoint) -> [u8; 64] {
        let mut out = [0u8; 64];
        out.copy_from_slice(self.pair.sign(checkpoint.body().as_bytes()).as_ref());
        out
    }

    /// The signed note of `checkpoint` with a signature this key made earlier.
    pub fn note_with_signature(&self, checkpoint: &Checkpoint, signature: &[u8; 64]) -> String {
        note_text(&checkpoint.body(), &self.name, &self.key_id, signature)
    }

    /// Signs any note text ending in a newline.
    fn sign_text(&self, text: &str) -> String {
        assert!(text.ends_with('\n'), "note text must end in a newline");
        let mut signature = [0u8; 64];
        signature.copy_from_slice(self.pair.sign(text.as_bytes()).as_ref());
        note_text(text, &self.name, &self.key_id, &signature)
    }

    /// The Go / C2SP private key string `PRIVATE+KEY+<name>+<key id>+<base64(0x01 ‖ seed)>`.
    /// Anyone holding it can sign as this log: keep it secret.
    pub fn to_private_key_string(&self) -> String {
        let mut material = Vec::with_capacity(33);
        material.push(ALG_ED25519);
        material.extend_from_slice(&self.seed);
        format!(
            "{PRIVATE_KEY_PREFIX}{}+{}+{}",
            self.name,
            hex::encode(self.key_id),
            BASE64.encode(material)
        )
    }

    /// Parses [`SigningKey::to_private_key_string`]'s format (as Go's `note.NewSigner`
    /// does), checking that the stated key id matches the derived public key.
    pub fn parse_private_key(s: &str) -> Result<SigningKey, NoteError> {
        let bad = |why| NoteError::MalformedPrivateKey { why };
        let rest = s
            .strip_prefix(PRIVATE_KEY_PREFIX)
            .ok_or(bad("it does not start with PRIVATE+KEY+"))?;
        let (name, id, material) = split_key(rest).map_err(bad)?;
        check_key_name(name)?;
        let stated = parse_key_id(id).map_err(bad)?;
        let seed = decode_key_material(material).map_err(|e| e.into_error(bad))?;
        let key = SigningKey::from_seed(name, &seed)?;
        if key.key_id != stated {
            return Err(NoteError::KeyIdMismatch {
                name: name.to_owned(),
                stated,
                computed: key.key_id,
            });
        }
        Ok(key)
    }

    /// Loads `dir/checkpoint.key`, or, if it does not exist, generates a key and writes it
    /// there (mode 0600: temp file, fsync, rename, fsync dir). Either way it then makes
    /// sure `dir/checkpoint.vkey` (mode 0644) holds the verifier key. Creates `dir` (mode
    /// 0700) if needed. Refuses, as [`SigningKey::load`] does, a key file open to group or
    /// others and a key not named `name`. The caller holds the data-dir lock: two
    /// processes creating a key at once could each sign with a different one.
    pub fn load_or_create(dir: &Path, name: &str) -> Result<SigningKey, NoteError> {
        check_key_name(name)?;
        create_dir(dir)?;
        let path = dir.join(KEY_FILE_NAME);
        let key = match File::open(&path) {
            Ok(file) => SigningKey::load_file(file, &path, name)?,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                let key = SigningKey::generate(name)?;
                let text = key.to_private_key_string() + "\n";
                write_atomically(dir, KEY_FILE_NAME, text.as_bytes(), 0o600)?;
                key
            }
            Err(source) => return Err(NoteError::Io { path, source }),
        };
        write_vkey_file(dir, &key.verifier())?;
        Ok(key)
    }

    /// Loads a private key file (one private key string; trailing whitespace ignored) for
    /// the log `name`. Refuses a file whose mode lets group or others in, and a key named
    /// otherwise.
    pub fn load(path: &Path, name: &str) -> Result<SigningKey, NoteError> {
        let file = File::open(path).map_err(|source| NoteError::Io {
            path: path.to_owned(),
            source,
        })?;
        SigningKey::load_file(file, path, name)
    }

    fn load_file(file: File, path: &Path, name: &str) -> Result<SigningKey, NoteError> {
        let io_error = |source| NoteError::Io {
            path: path.to_owned(),
            source,
        };
        let meta = file.metadata().map_err(io_error)?;
        let mode = meta.permissions().mode() & 0o7777;
        if mode & 0o077 != 0 {
            return Err(NoteError::KeyFileMode {
                path: path.to_owned(),
                mode,
            });
        }
        let mut bytes = Vec::new();
        file.take(KEY_FILE_BYTES_MAX + 1)
            .read_to_end(&mut bytes)
            .map_err(io_error)?;
        if bytes.len() as u64 > KEY_FILE_BYTES_MAX {
            return Err(NoteError::KeyFileTooLarge {
                path: path.to_owned(),
            });
        }
        let invalid = |source| NoteError::KeyFileInvalid {
            path: path.to_owned(),
            source: Box::new(source),
        };
        let text = std::str::from_utf8(&bytes).map_err(|_| {
            invalid(NoteError::MalformedPrivateKey {
                why: "it is not UTF-8",
            })
        })?;
        let key = SigningKey::parse_private_key(text.trim_end()).map_err(invalid)?;
        if key.name != name {
            return Err(NoteError::KeyNameMismatch {
                path: path.to_owned(),
                found: key.name,
                expected: name.to_owned(),
            });
        }
        Ok(key)
    }
}

/// A signed-note verifier key: key name, key id and Ed25519 public key. Its `Display` is
/// the vkey text `<name>+<key id>+<base64(0x01 ‖ public key)>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifierKey {
    name: String,
    key_id: [u8; 4],
    public_key: [u8; 32],
}

impl VerifierKey {
    /// The verifier key for this name and Ed25519 public key.
    pub fn new(name: &str, public_key: [u8; 32]) -> Result<VerifierKey, NoteError> {
        check_key_name(name)?;
        Ok(VerifierKey {
            name: name.to_owned(),
            key_id: key_id(name, &public_key),
            public_key,
        })
    }

    /// Parses a vkey (as Go's `note.NewVerifier` does; the key id's hex digits may be
    /// either case), checking that the key id matches the name and public key.
    pub fn parse(vkey: &str) -> Result<VerifierKey, NoteError> {
        let bad = |why| NoteError::MalformedVerifierKey {
            vkey: excerpt(vkey),
            why,
        };
        let (name, id, material) = split_key(vkey).map_err(bad)?;
        check_key_name(name)?;
        let stated = parse_key_id(id).map_err(bad)?;
        let public_key = decode_key_material(material).map_err(|e| e.into_error(bad))?;
        let key = VerifierKey::new(name, public_key)?;
        if key.key_id != stated {
            return Err(NoteError::KeyIdMismatch {
                name: name.to_owned(),
                stated,
                computed: key.key_id,
            });
        }
        Ok(key)
    }

    /// The key name signature lines carry.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// SHA-256(name ‖ "\n" ‖ 0x01 ‖ public key)\[..4\].
    pub fn key_id(&self) -> [u8; 4] {
        self.key_id
    }

    /// The Ed25519 public key.
    pub fn public_key(&self) -> [u8; 32] {
        self.public_key
    }

    fn verify(&self, text: &str, signature: &[u8]) -> Result<(), NoteError> {
        UnparsedPublicKey::new(&ED25519, &self.public_key)
            .verify(text.as_bytes(), signature)
            .map_err(|_| NoteError::SignatureInvalid {
                name: self.name.clone(),
                key_id: self.key_id,
            })
    }
}

impl fmt::Display for VerifierKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut material = [0u8; 33];
        material[0] = ALG_ED25519;
        material[1..].copy_from_slice(&self.public_key);
        let id = hex::encode(self.key_id);
        write!(f, "{}+{id}+{}", self.name, BASE64.encode(material))
    }
}

impl FromStr for VerifierKey {
    type Err = NoteError;

    fn from_str(s: &str) -> Result<VerifierKey, NoteError> {
        VerifierKey::parse(s)
    }
}

/// Checks a signed checkpoint against `key` and returns its body.
///
/// Every signature line must be well formed (as in Go's `note.Open`). Lines by other keys
/// (another name or key id, e.g. witnesses' cosignatures) are ignored. Every line by `key`
/// must verify (signed-note: a failing signature by a known key should reject the note),
/// and at least one must exist. Only then is the body parsed, by
/// [`Checkpoint::parse_body`].
pub fn open_checkpoint(note: &str, key: &VerifierKey) -> Result<Checkpoint, NoteError> {
    let text = open_note(note, key)?;
    Checkpoint::parse_body(text)
}

/// A note: the text, a blank line, and one signature line.
pub(crate) fn note_text(text: &str, name: &str, key_id: &[u8; 4], signature: &[u8; 64]) -> String {
    let mut payload = Vec::with_capacity(4 + 64);
    payload.extend_from_slice(key_id);
    payload.extend_from_slice(signature);
    let payload = BASE64.encode(payload);
    format!("{text}\n{SIG_LINE_PREFIX}{name} {payload}\n")
}

/// Checks a signed note against `key` and returns its text (final newline included).
fn open_note<'a>(note: &'a str, key: &VerifierKey) -> Result<&'a str, NoteError> {
    if note.len() > NOTE_BYTES_MAX {
        return Err(NoteError::NoteTooLarge { len: note.len() });
    }
    check_control_characters("note", note)?;
    // The text may hold empty lines: the last one separates it from the signatures.
    let split = note.rfind("\n\n").ok_or(NoteError::NoBlankLine)?;
    let (text, signatures) = (&note[..split + 1], &note[split + 2..]);
    if signatures.is_empty() {
        return Err(NoteError::NoSignatureLines);
    }
    let signatures = signatures
        .strip_suffix('\n')
        .ok_or(NoteError::NoFinalNewline)?;
    let mut verified = false;
    for (i, line) in signatures.split('\n').enumerate() {
        if i == SIGNATURES_MAX {
            return Err(NoteError::TooManySignatures);
        }
        let (name, id, signature) = parse_signature_line(line)
            .map_err(|why| NoteError::MalformedSignatureLine { line: i + 1, why })?;
        if name == key.name && id == key.key_id {
            key.verify(text, &signature)?;
            verified = true;
        }
    }
    if !verified {
        return Err(NoteError::NoSignatureByKey {
            name: key.name.clone(),
            key_id: key.key_id,
        });
    }
    Ok(text)
}

/// Splits `— <name> <base64(key id ‖ signature)>` into name, key id and signature.
fn parse_signature_line(line: &str) -> Result<(&str, [u8; 4], Vec<u8>), &'static str> {
    let rest = line
        .strip_prefix(SIG_LINE_PREFIX)
        .ok_or("it does not start with an em dash (U+2014) and a space")?;
    let (name, payload) = rest
        .split_once(' ')
        .ok_or("it has no space between key name and signature")?;
    if let Some(why) = spec_name_fault(name) {
        return Err(why);
    }
    let payload = BASE64
        .decode(payload)
        .map_err(|_| "its signature is not canonical padded base64")?;
    match payload.split_first_chunk::<4>() {
        Some((id, signature)) if !signature.is_empty() => Ok((name, *id, signature.to_vec())),
        _ => Err("its signature is shorter than a key id and one byte"),
    }
}

/// Signed-note's rule for key names: non-empty, no Unicode whitespace, no `+`.
fn spec_name_fault(name: &str) -> Option<&'static str> {
    if name.is_empty() {
        Some("the key name is empty")
    } else if name.chars().any(char::is_whitespace) {
        Some("the key name contains whitespace")
    } else if name.contains('+') {
        Some("the key name contains '+'")
    } else {
        None
    }
}

/// Signed-note's rule, plus no control characters: for keys sealog makes or trusts.
fn check_key_name(name: &str) -> Result<(), NoteError> {
    let why = spec_name_fault(name).or_else(|| {
        name.chars()
            .any(char::is_control)
            .then_some("the key name contains a control character")
    });
    match why {
        Some(why) => Err(NoteError::InvalidKeyName {
            name: excerpt(name),
            why,
        }),
        None => Ok(()),
    }
}

fn key_id(name: &str, public_key: &[u8; 32]) -> [u8; 4] {
    let digest = Sha256::new()
        .chain_update(name.as_bytes())
        .chain_update(b"\n")
        .chain_update([ALG_ED25519])
        .chain_update(public_key)
        .finalize();
    [digest[0], digest[1], digest[2], digest[3]]
}

/// Splits `<name>+<key id>+<key material>` at its first two `+` (base64 may hold more).
fn split_key(s: &str) -> Result<(&str, &str, &str), &'static str> {
    let (name, rest) = s.split_once('+').ok_or("it has no '+' after the name")?;
    let (id, material) = rest
        .split_once('+')
        .ok_or("it has no '+' after the key id")?;
    Ok((name, id, material))
}

fn parse_key_id(id: &str) -> Result<[u8; 4], &'static str> {
    let mut out = [0u8; 4];
    if id.len() != 8 || hex::decode_to_slice(id, &mut out).is_err() {
        return Err("its key id is not 8 hex digits");
    }
    Ok(out)
}

/// Why key material was refused: a syntax fault, or a key type sealog does not know.
enum MaterialFault {
    Malformed(&'static str),
    Unsupported(u8),
}

impl MaterialFault {
    fn into_error(self, malformed: impl FnOnce(&'static str) -> NoteError) -> NoteError {
        match self {
            MaterialFault::Malformed(why) => malformed(why),
            MaterialFault::Unsupported(alg) => NoteError::UnsupportedKeyType { alg },
        }
    }
}

/// Decodes base64(0x01 ‖ 32 bytes): an Ed25519 public key or seed.
fn decode_key_material(material: &str) -> Result<[u8; 32], MaterialFault> {
    let bytes = BASE64
        .decode(material)
        .map_err(|_| MaterialFault::Malformed("its key material is not canonical padded base64"))?;
    match bytes.split_first() {
        None => Err(MaterialFault::Malformed("its key material is empty")),
        Some((&ALG_ED25519, key)) => key
            .try_into()
            .map_err(|_| MaterialFault::Malformed("its Ed25519 key material is not 32 bytes")),
        Some((&alg, _)) => Err(MaterialFault::Unsupported(alg)),
    }
}

fn check_control_characters(what: &'static str, text: &str) -> Result<(), NoteError> {
    // UTF-8 continuation bytes are >= 0x80, so every byte below 0x20 is a character.
    match text.bytes().position(|b| b < 0x20 && b != b'\n') {
        Some(offset) => Err(NoteError::ControlCharacter {
            what,
            offset,
            code: text.as_bytes()[offset],
        }),
        None => Ok(()),
    }
}

fn parse_tree_size(line: &str) -> Result<u64, NoteError> {
    let bad = |why| NoteError::BadTreeSize {
        line: excerpt(line),
        why,
    };
    let digits = !line.is_empty() && line.bytes().all(|b| b.is_ascii_digit());
    if !digits || (line.len() > 1 && line.starts_with('0')) {
        return Err(bad("is not a decimal without leading zeros"));
    }
    line.parse().map_err(|_| bad("is larger than 2^64 - 1"))
}

fn parse_root(line: &str) -> Result<Hash, NoteError> {
    let bad = || NoteError::BadRootHash {
        line: excerpt(line),
    };
    // Checked before decoding, so a huge line costs no allocation.
    if line.len() != ROOT_BASE64_CHARS {
        return Err(bad());
    }
    let bytes = BASE64.decode(line).map_err(|_| bad())?;
    bytes.try_into().map_err(|_| bad())
}

/// The start of `s`, for quoting untrusted input in error messages.
fn excerpt(s: &str) -> String {
    let mut chars = s.chars();
    let mut out: String = chars.by_ref().take(EXCERPT_CHARS_MAX).collect();
    if chars.next().is_some() {
        out.push('…');
    }
    out
}

/// Creates `dir` (mode 0700) and makes its entry durable, unless it exists.
fn create_dir(dir: &Path) -> Result<(), NoteError> {
    if dir.is_dir() {
        return Ok(());
    }
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|source| NoteError::Io {
            path: dir.to_owned(),
            source,
        })?;
    match dir.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => sync_dir(parent),
        _ => Ok(()),
    }
}

/// Writes `dir/name` whole or not at all: temp file, fsync, rename, fsync dir.
fn write_atomically(dir: &Path, name: &str, contents: &[u8], mode: u32) -> Result<(), NoteError> {
    let tmp = dir.join(format!("{name}.tmp"));
    let io_error = |path: &Path| {
        let path = path.to_owned();
        move |source| NoteError::Io { path, source }
    };
    match fs::remove_file(&tmp) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(io_error(&tmp)(e)),
    }
    // Created with `mode` (a key is never readable by others, even for a moment), then set
    // to exactly `mode` in case the umask removed bits the file needs (the vkey's 0644).
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(&tmp)
        .map_err(io_error(&tmp))?;
    file.set_permissions(Permissions::from_mode(mode))
        .map_err(io_error(&tmp))?;
    file.write_all(contents).map_err(io_error(&tmp))?;
    file.sync_all().map_err(io_error(&tmp))?;
    drop(file);
    let path = dir.join(name);
    fs::rename(&tmp, &path).map_err(io_error(&path))?;
    sync_dir(dir)
}

/// Writes `dir/checkpoint.vkey` unless it already holds `vkey`.
fn write_vkey_file(dir: &Path, vkey: &VerifierKey) -> Result<(), NoteError> {
    let text = format!("{vkey}\n");
    let path = dir.join(VKEY_FILE_NAME);
    let current = match fs::metadata(&path) {
        Ok(meta) if meta.len() == text.len() as u64 => fs::read(&path).ok(),
        _ => None,
    };
    if current.as_deref() == Some(text.as_bytes()) {
        return Ok(());
    }
    write_atomically(dir, VKEY_FILE_NAME, text.as_bytes(), 0o644)
}

fn sync_dir(dir: &Path) -> Result<(), NoteError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|source| NoteError::Io {
            path: dir.to_owned(),
            source,
        })
}

#[cfg(test)]
mod tests;
