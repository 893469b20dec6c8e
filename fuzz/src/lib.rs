//! Shared by the fuzz targets and the seed generator: how one fuzz input becomes the
//! files of a data directory (`segment_recover`), the checksum repair of the custom
//! mutators, and the fixed server fields (`ingest_parse`). Keeping them here means the
//! seeds always match what the targets expect.

use std::path::{Path, PathBuf};

use sealog_engine::event::ServerFields;
use sealog_engine::frame::{FRAME_HEADER_BYTES, KIND_EVENT, KIND_SEAL, RECORD_HEADER_BYTES};
use sealog_engine::limits::RECORD_BYTES_MAX;
use sealog_engine::segment::{SEGMENT_HEADER_BYTES, SEGMENT_MAGIC};
use sealog_engine::storage::testkit::FaultyStorage;
use sealog_engine::storage::Storage;
use sealog_engine::EngineConfig;

/// Separates the files inside one `segment_recover` input. Also in
/// `dict/segment_recover.dict`, so that libFuzzer inserts it.
pub const FILE_SEPARATOR: &[u8] = b"<<SEALOG-NEXT-FILE>>";

/// The data directory on the in-memory disk.
pub const DATA_DIR: &str = "/data";

/// What the parts of a `segment_recover` input become, in order: part 0 is always
/// written (even if empty); a later part is written only when it is non-empty, so an
/// empty part means "no such file".
pub const FILE_NAMES: [&str; 4] = [
    "00000000000000000001.seg",
    "00000000000000000001.idx",
    "00000000000000000002.seg",
    "00000000000000000002.idx",
];

/// Splits a `segment_recover` input into `(path, bytes)` of the files to create.
/// Text after the fourth separator stays in the last file.
pub fn split_files(data: &[u8]) -> Vec<(PathBuf, &[u8])> {
    let wal = PathBuf::from(DATA_DIR).join("wal");
    part_ranges(data)
        .into_iter()
        .enumerate()
        .filter(|(i, range)| *i == 0 || !range.is_empty())
        .map(|(i, range)| (wal.join(FILE_NAMES[i]), &data[range]))
        .collect()
}

/// The inverse of [`split_files`]: `parts[i]` becomes `FILE_NAMES[i]` (empty = absent).
pub fn join_files(parts: &[&[u8]]) -> Vec<u8> {
    assert!(
        parts.len() <= FILE_NAMES.len(),
        "at most {} files",
        FILE_NAMES.len()
    );
    let mut out = Vec::new();
    for (i, part) in parts.iter().enumerate() {
        if i > 0 {
            out.extend_from_slice(FILE_SEPARATOR);
        }
        out.extend_from_slice(part);
    }
    out
}

/// The byte ranges of the parts [`split_files`] makes of `data`, in `FILE_NAMES` order
/// (empty parts included).
fn part_ranges(data: &[u8]) -> Vec<std::ops::Range<usize>> {
    let mut ranges = Vec::new();
    let mut start = 0;
    for i in 0..FILE_NAMES.len() {
        let last = i + 1 == FILE_NAMES.len();
        match memchr::memmem::find(&data[start..], FILE_SEPARATOR) {
            Some(at) if !last => {
                ranges.push(start..start + at);
                start += at + FILE_SEPARATOR.len();
            }
            _ => {
                ranges.push(start..data.len());
                break;
            }
        }
    }
    ranges
}

/// Repairs the checksums of a `segment_recover` input in place: each segment's header
/// CRC, then frame after frame (while the lengths make sense) the body hash of events,
/// the seal digest and the frame CRC; each index file's trailer CRC. A random mutation
/// almost always breaks a CRC, so without this nearly every input stops at the first
/// CRC check; with it, mutations of LSNs, seqs, lengths, flags and index tables reach
/// the checks behind the CRCs. The custom mutator applies it to half the mutations.
pub fn repair_files(data: &mut [u8]) {
    for (i, range) in part_ranges(data).into_iter().enumerate() {
        let part = &mut data[range];
        if i % 2 == 0 {
            repair_segment(part);
        } else if let Some(body_len) = part.len().checked_sub(4) {
            let crc = crc32fast::hash(&part[..body_len]);
            part[body_len..].copy_from_slice(&crc.to_le_bytes());
        }
    }
}

/// Repairs a segment file: header CRC (when the magic is there), then the frames.
pub fn repair_segment(seg: &mut [u8]) {
    if seg.len() >= SEGMENT_HEADER_BYTES && seg[..8] == SEGMENT_MAGIC {
        let crc = crc32fast::hash(&seg[..SEGMENT_HEADER_BYTES - 4]);
        seg[SEGMENT_HEADER_BYTES - 4..SEGMENT_HEADER_BYTES].copy_from_slice(&crc.to_le_bytes());
    }
    repair_frames(seg, SEGMENT_HEADER_BYTES);
}

/// Repairs the frames that follow each other from `at`, until a length that is zero,
/// out of bounds or past the end. A seal's digest covers `buf[..seal frame]`.
pub fn repair_frames(buf: &mut [u8], mut at: usize) {
    loop {
        let Some(len_bytes) = buf.get(at..at + 4) else {
            return;
        };
        let len = u32::from_le_bytes([len_bytes[0], len_bytes[1], len_bytes[2], len_bytes[3]]);
        let len = len as usize;
        let end = at + FRAME_HEADER_BYTES + len;
        if !(RECORD_HEADER_BYTES..=RECORD_BYTES_MAX).contains(&len) || end > buf.len() {
            return;
        }
        let payload_at = at + FRAME_HEADER_BYTES;
        let hash_at = payload_at + 56;
        match buf[payload_at] {
            KIND_SEAL => {
                let digest = blake3::hash(&buf[..at]);
                buf[hash_at..hash_at + 32].copy_from_slice(digest.as_bytes());
            }
            KIND_EVENT => {
                let body_at = payload_at + RECORD_HEADER_BYTES + usize::from(buf[payload_at + 2]);
                if body_at <= end {
                    let hash = sealog_engine::chain::body_hash(&buf[body_at..end]);
                    buf[hash_at..hash_at + 32].copy_from_slice(&hash);
                }
            }
            _ => {}
        }
        let mut h = crc32fast::Hasher::new();
        h.update(&buf[at..at + 4]);
        h.update(&buf[payload_at..end]);
        buf[at + 4..at + 8].copy_from_slice(&h.finalize().to_le_bytes());
        at = end;
    }
}

/// A fresh in-memory disk holding the files of a `segment_recover` input, durable.
pub fn disk_with_files(data: &[u8]) -> FaultyStorage {
    let disk = FaultyStorage::with_seed(0);
    let wal = Path::new(DATA_DIR).join("wal");
    disk.create_dir_all(&wal)
        .expect("mkdir on the in-memory disk");
    for (path, bytes) in split_files(data) {
        let file = disk
            .create_new(&path)
            .expect("create on the in-memory disk");
        file.write_all_at(bytes, 0)
            .expect("write on the in-memory disk");
        file.sync_all().expect("fsync on the in-memory disk");
    }
    disk.sync_dir(&wal)
        .expect("fsync dir on the in-memory disk");
    disk
}

/// The engine configuration of `segment_recover` and the seeds: the smallest segment
/// size, because open preallocates the active segment (in memory here: the 256 MiB
/// default would dominate every run) and so that appends seal and roll sooner.
pub fn config() -> EngineConfig {
    let mut config = EngineConfig::new(DATA_DIR);
    config.segment_bytes = sealog_engine::limits::SEGMENT_BYTES_MIN;
    config
}

/// The id every `ingest_parse` body gets.
pub const FIXED_ID: uuid::Uuid = uuid::Uuid::from_u128(0x0190_a5b2_c3d4_7e5f_8a9b_0c1d_2e3f_4a5b);
/// `prev_hash` of the fixed fields (any 32 bytes; not a real chain).
pub const FIXED_PREV_HASH: [u8; 32] = [0xa5; 32];

/// Two sets of server fields: an ordinary one, and one at the edges (epoch 0, seq 2^53 − 1,
/// a 64-character tenant, zero `prev_hash`).
pub fn fixed_server_fields() -> [ServerFields<'static>; 2] {
    const ZERO: [u8; 32] = [0; 32];
    [
        ServerFields {
            created_at_us: 1_700_000_000_123_456,
            id: FIXED_ID,
            prev_hash: &FIXED_PREV_HASH,
            seq: 42,
            tenant: "fuzz-tenant_1",
        },
        ServerFields {
            created_at_us: 0,
            id: uuid::Uuid::nil(),
            prev_hash: &ZERO,
            seq: (1 << 53) - 1,
            tenant: "T234567890123456789012345678901234567890123456789012345678901234",
        },
    ]
}
