//! The engine's only `unsafe`: read-only memory maps of sealed files.

use std::fs::File;
use std::io;

use bytes::Bytes;

/// Maps the whole of `file` read-only and hands the mapping to [`Bytes`], so readers get
/// zero-copy slices that keep the mapping alive. An empty file maps to empty bytes (mmap
/// of length 0 is an error on Linux).
pub(crate) fn map_readonly(file: &File) -> io::Result<Bytes> {
    if file.metadata()?.len() == 0 {
        return Ok(Bytes::new());
    }
    // SAFETY: callers map only sealed files: a sealed segment or a segment index, written
    // whole, fsynced and (for indexes) renamed into place before any reader exists; the
    // engine never writes, truncates or removes such a file while a map of it lives (it
    // holds the data-directory lock, and the documented deployment rules exclude outside
    // writers). So the bytes cannot change under us (UB) or vanish (SIGBUS). Callers
    // still check every CRC, digest and bound they read through the map.
    let map = unsafe { memmap2::Mmap::map(file)? };
    Ok(Bytes::from_owner(map))
}
