//! Segment files: the log is a sequence of them, `wal/<id:020>.seg`.
//!
//! A segment starts with a [`SEGMENT_HEADER_BYTES`] header, then frames (see
//! [`crate::frame`]). The active segment is preallocated with zeros; a zero frame length
//! marks the end of its data. Sealing appends a seal frame (counts, LSN and time range,
//! BLAKE3 of every byte before it), truncates the file to the seal's end and fsyncs it;
//! a sealed file is never written again.
//!
//! | offset | bytes | field           | meaning                                 |
//! |-------:|------:|-----------------|-----------------------------------------|
//! |      0 |     8 | `magic`         | `SEALOGSG`                              |
//! |      8 |     4 | `version`       | format version, 1                       |
//! |     12 |     4 | `header_bytes`  | 64                                      |
//! |     16 |     8 | `segment_id`    | the number in the file name             |
//! |     24 |     8 | `first_lsn`     | LSN of the segment's first record       |
//! |     32 |     8 | `created_at_us` | when the file was created               |
//! |     40 |    20 | reserved        | zeros                                   |
//! |     60 |     4 | `crc`           | CRC-32 of bytes 0..60                   |

mod files;

pub use files::{idx_path, parse_segment_name, segment_path, torn_path, SegmentFiles};

use std::path::Path;

use crate::error::{EngineError, Result};
use crate::types::{Lsn, SegmentId};

/// The magic at the start of every segment file.
pub const SEGMENT_MAGIC: [u8; 8] = *b"SEALOGSG";
/// The segment format version this engine writes and reads.
pub const SEGMENT_VERSION: u32 = 1;

const MAGIC_AT: usize = 0;
const VERSION_AT: usize = MAGIC_AT + 8;
const HEADER_BYTES_AT: usize = VERSION_AT + 4;
const ID_AT: usize = HEADER_BYTES_AT + 4;
const FIRST_LSN_AT: usize = ID_AT + 8;
const CREATED_AT: usize = FIRST_LSN_AT + 8;
const RESERVED_AT: usize = CREATED_AT + 8;
const CRC_AT: usize = RESERVED_AT + 20;
/// Bytes of the segment header.
pub const SEGMENT_HEADER_BYTES: usize = CRC_AT + 4;

const _: () = assert!(SEGMENT_HEADER_BYTES == 64);

/// A decoded segment header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SegmentHeader {
    /// The segment's number.
    pub id: SegmentId,
    /// LSN of its first record.
    pub first_lsn: Lsn,
    /// Creation time, µs since the epoch.
    pub created_at_us: i64,
}

impl SegmentHeader {
    /// The header's bytes.
    pub fn encode(&self) -> [u8; SEGMENT_HEADER_BYTES] {
        let mut b = [0u8; SEGMENT_HEADER_BYTES];
        b[MAGIC_AT..VERSION_AT].copy_from_slice(&SEGMENT_MAGIC);
        b[VERSION_AT..HEADER_BYTES_AT].copy_from_slice(&SEGMENT_VERSION.to_le_bytes());
        b[HEADER_BYTES_AT..ID_AT].copy_from_slice(&(SEGMENT_HEADER_BYTES as u32).to_le_bytes());
        b[ID_AT..FIRST_LSN_AT].copy_from_slice(&self.id.0.to_le_bytes());
        b[FIRST_LSN_AT..CREATED_AT].copy_from_slice(&self.first_lsn.0.to_le_bytes());
        b[CREATED_AT..RESERVED_AT].copy_from_slice(&self.created_at_us.to_le_bytes());
        let crc = crc32fast::hash(&b[..CRC_AT]);
        b[CRC_AT..].copy_from_slice(&crc.to_le_bytes());
        b
    }

    /// Decodes and checks a header; `path` names the file in errors.
    pub fn decode(bytes: &[u8], path: &Path) -> Result<SegmentHeader> {
        let fail = |why: String| EngineError::Format {
            path: path.to_path_buf(),
            why,
        };
        let b = bytes.get(..SEGMENT_HEADER_BYTES).ok_or_else(|| {
            fail(format!(
                "shorter than the {SEGMENT_HEADER_BYTES}-byte segment header"
            ))
        })?;
        if b[MAGIC_AT..VERSION_AT] != SEGMENT_MAGIC {
            return Err(fail("not a sealog segment (bad magic)".into()));
        }
        let version = u32_at(b, VERSION_AT);
        if version != SEGMENT_VERSION {
            return Err(fail(format!(
                "segment format version {version}; this sealog reads version {SEGMENT_VERSION}"
            )));
        }
        if crc32fast::hash(&b[..CRC_AT]) != u32_at(b, CRC_AT) {
            return Err(fail("segment header CRC mismatch".into()));
        }
        if u32_at(b, HEADER_BYTES_AT) as usize != SEGMENT_HEADER_BYTES
            || b[RESERVED_AT..CRC_AT].iter().any(|&x| x != 0)
        {
            return Err(fail("segment header fields inconsistent".into()));
        }
        Ok(SegmentHeader {
            id: SegmentId(u64_at(b, ID_AT)),
            first_lsn: Lsn(u64_at(b, FIRST_LSN_AT)),
            created_at_us: u64_at(b, CREATED_AT) as i64,
        })
    }
}

pub(crate) fn u32_at(b: &[u8], at: usize) -> u32 {
    let mut a = [0u8; 4];
    a.copy_from_slice(&b[at..at + 4]);
    u32::from_le_bytes(a)
}

pub(crate) fn u64_at(b: &[u8], at: usize) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[at..at + 8]);
    u64::from_le_bytes(a)
}
