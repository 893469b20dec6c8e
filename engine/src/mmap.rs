//! The engine's only `unsafe`: read-only memory maps of sealed files, and dropping
//! their resident pages.

use std::collections::HashMap;
use std::fs::File;
use std::io;
use std::sync::{Arc, Mutex, OnceLock, Weak};

use bytes::Bytes;
use memmap2::{Mmap, UncheckedAdvice};

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
    let map = Arc::new(unsafe { Mmap::map(file)? });
    maps().insert(map.as_ptr() as usize, Arc::downgrade(&map));
    Ok(Bytes::from_owner(Mapping(map)))
}

/// Drops the pages of `bytes` from the process's resident set, if `bytes` is the whole
/// of a mapping made by [`map_readonly`] (anything else, such as a test storage's
/// bytes in memory, is left alone). The next read of a page maps it again from the page
/// cache (or the file): the bytes read are the same. A scan of a 256 MiB sealed
/// segment otherwise keeps all of it counted in the process's RSS for as long as the
/// segment lives.
pub(crate) fn release(bytes: &Bytes) {
    let Some(map) = live_map(bytes) else {
        return;
    };
    // SAFETY: `map` is a live mapping made by `map_readonly` (`Mmap::map`: shared and
    // read-only), so MADV_DONTNEED discards no data: it only unmaps the pages from this
    // process, and the next access reads the file's bytes again, which cannot have
    // changed (see `map_readonly`). Readers holding slices of it see the same bytes
    // throughout.
    let advised = unsafe { map.unchecked_advise(UncheckedAdvice::DontNeed) };
    if let Err(e) = advised {
        tracing::debug!(error = %e, "madvise(DONTNEED) on a sealed mapping failed");
    }
}

/// [`release`] for the pages wholly inside `range` (byte offsets into `bytes`) only.
pub(crate) fn release_range(bytes: &Bytes, range: std::ops::Range<usize>) {
    let Some(map) = live_map(bytes) else {
        return;
    };
    // madvise wants a page-aligned start; the mapping starts on a page.
    let page = rustix::param::page_size();
    let start = range.start.next_multiple_of(page);
    let end = range.end.min(map.len()) / page * page;
    if start >= end {
        return;
    }
    // SAFETY: as in `release`; `start..end` lies within the mapping.
    let advised =
        unsafe { map.unchecked_advise_range(UncheckedAdvice::DontNeed, start, end - start) };
    if let Err(e) = advised {
        tracing::debug!(error = %e, "madvise(DONTNEED) on a sealed mapping failed");
    }
}

/// The mapping `bytes` is, if it is the whole of a live mapping made by
/// [`map_readonly`].
fn live_map(bytes: &Bytes) -> Option<Arc<Mmap>> {
    let map = maps()
        .get(&(bytes.as_ptr() as usize))
        .and_then(Weak::upgrade)?;
    (map.len() == bytes.len()).then_some(map)
}

/// The live mappings made by [`map_readonly`], by start address.
fn maps() -> std::sync::MutexGuard<'static, HashMap<usize, Weak<Mmap>>> {
    static MAPS: OnceLock<Mutex<HashMap<usize, Weak<Mmap>>>> = OnceLock::new();
    MAPS.get_or_init(Mutex::default)
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The owner of a mapping, which leaves the set of live mappings when it is dropped.
struct Mapping(Arc<Mmap>);

impl AsRef<[u8]> for Mapping {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        maps().remove(&(self.0.as_ptr() as usize));
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    /// The resident size in KiB of the mapping that starts at `start`, from
    /// /proc/self/smaps.
    fn resident_kib(start: usize) -> u64 {
        let smaps = std::fs::read_to_string("/proc/self/smaps").unwrap();
        let head = format!("{start:x}-");
        let mut lines = smaps.lines().skip_while(|l| !l.starts_with(&head));
        assert!(lines.next().is_some(), "mapping {head} not in smaps");
        let rss = lines.find(|l| l.starts_with("Rss:")).unwrap();
        rss.split_whitespace().nth(1).unwrap().parse().unwrap()
    }

    #[test]
    fn released_pages_leave_the_resident_set_and_read_the_same() {
        let mut file = tempfile::tempfile().unwrap();
        let data: Vec<u8> = (0..4u32 << 20).map(|i| (i * 7 % 251) as u8).collect();
        file.write_all(&data).unwrap();
        let bytes = map_readonly(&file).unwrap();
        let start = bytes.as_ptr() as usize;
        assert_eq!(&bytes[..], &data[..]);
        assert!(resident_kib(start) >= 4 << 10, "all pages were read");
        // A part of the mapping is not released: only the whole mapping is.
        release(&bytes.slice(4096..));
        assert!(resident_kib(start) >= 4 << 10);
        release(&bytes);
        assert_eq!(resident_kib(start), 0);
        assert_eq!(&bytes[..], &data[..], "the same bytes, read again");
        drop(bytes);
        assert!(
            !maps().contains_key(&start),
            "a dropped mapping leaves the set"
        );
    }

    #[test]
    fn bytes_that_are_not_a_mapping_are_left_alone() {
        let data = Bytes::from(vec![7u8; 1 << 20]);
        release(&data);
        assert!(data.iter().all(|&b| b == 7));
        release(&Bytes::new());
    }
}
