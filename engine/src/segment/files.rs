//! File names inside `wal/`.

use std::path::{Path, PathBuf};

use crate::types::SegmentId;

/// `wal/<id:020>.seg`.
pub fn segment_path(wal: &Path, id: SegmentId) -> PathBuf {
    wal.join(format!("{id}.seg"))
}

/// `wal/<id:020>.idx`: the segment's index (derived; rebuilt when missing or stale).
pub fn idx_path(wal: &Path, id: SegmentId) -> PathBuf {
    wal.join(format!("{id}.idx"))
}

/// `wal/<id:020>.seg.torn[.N]`: bytes cut from a torn tail, kept for inspection. The
/// first free name is used, so repeated crashes never overwrite earlier evidence.
pub fn torn_path(wal: &Path, id: SegmentId, existing: &[String]) -> PathBuf {
    let base = format!("{id}.seg.torn");
    if !existing.contains(&base) {
        return wal.join(base);
    }
    let mut n = 1u32;
    loop {
        let name = format!("{base}.{n}");
        if !existing.contains(&name) {
            return wal.join(name);
        }
        n += 1;
    }
}

/// Parses `<id:020>.seg` into its id.
pub fn parse_segment_name(name: &str) -> Option<SegmentId> {
    let digits = name.strip_suffix(".seg")?;
    if digits.len() != 20 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok().map(SegmentId)
}

/// The files of `wal/`, sorted into what recovery needs.
#[derive(Debug, Default)]
pub struct SegmentFiles {
    /// Segment ids, ascending.
    pub segments: Vec<SegmentId>,
    /// Every file name in the directory.
    pub names: Vec<String>,
    /// Leftover temporary files of an interrupted index write (`*.tmp`).
    pub temps: Vec<String>,
}

impl SegmentFiles {
    /// Sorts a directory listing.
    pub fn from_names(names: Vec<String>) -> Self {
        let mut segments: Vec<SegmentId> =
            names.iter().filter_map(|n| parse_segment_name(n)).collect();
        segments.sort();
        let temps = names
            .iter()
            .filter(|n| n.ends_with(".tmp"))
            .cloned()
            .collect();
        SegmentFiles {
            segments,
            names,
            temps,
        }
    }
}
