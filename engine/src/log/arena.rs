//! Recycled memory for the active segment's bytes.
//!
//! Readers see the active segment through the bytes the sequencer wrote, kept in memory
//! until the segment seals (`view.rs`). When every group kept its own freshly allocated
//! buffer, each segment's worth of data (256 MiB by default) landed on pages new to the
//! process, and under batch load the kernel zeroing them was about a tenth of sealogd's
//! CPU (docs/BENCHMARKS.md). The sequencer now copies each group into large blocks and
//! hands readers shares of them; a block whose shares have all been dropped (its
//! segment sealed and no reader still holds a piece) is taken again, its pages already
//! the process's.
//!
//! Memory: the block being filled, the blocks the active segment holds, and at most
//! [`Arena::retired_max`] blocks kept for reuse (one segment's worth), so after a burst
//! up to about one segment of memory stays with the process instead of going back to
//! the allocator. A request larger than a block gets a buffer of its own, as before.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use bytes::{Bytes, BytesMut};

use crate::limits::ACTIVE_BLOCK_BYTES;

/// How many blocks were allocated and how many taken again (engine statistics).
#[derive(Debug, Default)]
pub(crate) struct ArenaCounters {
    pub allocated: AtomicU64,
    pub reused: AtomicU64,
}

/// See the module documentation.
#[derive(Debug)]
pub(crate) struct Arena {
    /// The block being filled: empty, its spare capacity is what is left of it.
    current: Option<BytesMut>,
    /// Full blocks, oldest first; each is reusable once nothing else shares it.
    retired: VecDeque<BytesMut>,
    retired_max: usize,
    block_bytes: usize,
    counters: Arc<ArenaCounters>,
}

impl Arena {
    /// An arena that keeps about `keep_bytes` of retired blocks for reuse.
    pub fn new(keep_bytes: u64, counters: Arc<ArenaCounters>) -> Arena {
        Arena::with_block_bytes(keep_bytes, ACTIVE_BLOCK_BYTES, counters)
    }

    fn with_block_bytes(
        keep_bytes: u64,
        block_bytes: usize,
        counters: Arc<ArenaCounters>,
    ) -> Arena {
        let retired_max = usize::try_from(keep_bytes.div_ceil(block_bytes as u64))
            .unwrap_or(usize::MAX)
            .max(1);
        Arena {
            current: None,
            retired: VecDeque::new(),
            retired_max,
            block_bytes,
            counters,
        }
    }

    /// Copies `parts` (each a run of whole frames, written back to back from file
    /// offset `start`) into blocks and returns the chunks readers will see: `(file
    /// offset, bytes)` in file order. A part never spans two chunks, so neither does a
    /// frame.
    pub fn place(&mut self, start: u64, parts: Vec<Vec<u8>>) -> Vec<(u64, Bytes)> {
        let mut chunks = Vec::new();
        let mut chunk_start = start;
        let mut pos = start;
        for part in parts {
            if part.len() > self.block_bytes {
                self.cut(&mut chunks, chunk_start);
                let len = part.len() as u64;
                chunks.push((pos, Bytes::from(part)));
                pos += len;
                chunk_start = pos;
                continue;
            }
            let spare = self.current.as_ref().map_or(0, |b| b.capacity() - b.len());
            if part.len() > spare {
                self.cut(&mut chunks, chunk_start);
                chunk_start = pos;
                let next = self.fresh_block();
                if let Some(full) = self.current.replace(next) {
                    self.retire(full);
                }
            }
            if let Some(block) = self.current.as_mut() {
                block.extend_from_slice(&part);
            }
            pos += part.len() as u64;
        }
        self.cut(&mut chunks, chunk_start);
        chunks
    }

    /// Splits what was copied into the current block since the last cut off as a chunk.
    fn cut(&mut self, chunks: &mut Vec<(u64, Bytes)>, start: u64) {
        if let Some(block) = self.current.as_mut() {
            if !block.is_empty() {
                chunks.push((start, block.split().freeze()));
            }
        }
    }

    /// The oldest retired block if nothing shares it any more, else a new one.
    fn fresh_block(&mut self) -> BytesMut {
        if let Some(oldest) = self.retired.front_mut() {
            if oldest.try_reclaim(self.block_bytes) {
                if let Some(block) = self.retired.pop_front() {
                    self.counters.reused.fetch_add(1, Ordering::Relaxed);
                    return block;
                }
            }
        }
        self.counters.allocated.fetch_add(1, Ordering::Relaxed);
        BytesMut::with_capacity(self.block_bytes)
    }

    fn retire(&mut self, block: BytesMut) {
        self.retired.push_back(block);
        // A block a long reader still holds is let go rather than waited for: its memory
        // returns to the allocator when that reader finishes.
        while self.retired.len() > self.retired_max {
            self.retired.pop_front();
        }
    }

    /// Most retired blocks kept for reuse.
    #[cfg(test)]
    pub fn retired_max(&self) -> usize {
        self.retired_max
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::Ordering;

    use super::Arena;

    fn parts(sizes: &[usize], fill: u8) -> Vec<Vec<u8>> {
        sizes
            .iter()
            .enumerate()
            .map(|(i, &n)| vec![fill.wrapping_add(i as u8); n])
            .collect()
    }

    /// The chunks hold exactly the parts' bytes at the parts' offsets, no part split.
    #[test]
    fn chunks_are_the_parts_in_order() {
        let mut arena = Arena::with_block_bytes(1 << 20, 100, Default::default());
        let mut pos = 40u64;
        let mut written = Vec::new();
        for (round, sizes) in [&[10usize, 30, 50][..], &[60, 100, 7], &[250, 1, 99]]
            .into_iter()
            .enumerate()
        {
            let ps = parts(sizes, round as u8 * 10);
            let mut bounds = Vec::new();
            let mut p = pos;
            for part in &ps {
                bounds.push((p, p + part.len() as u64));
                p += part.len() as u64;
                written.extend_from_slice(part);
            }
            let chunks = arena.place(pos, ps);
            let mut at = pos;
            for (start, bytes) in &chunks {
                assert_eq!(*start, at, "round {round}: chunks are contiguous");
                let end = start + bytes.len() as u64;
                for (lo, hi) in &bounds {
                    let inside = *lo >= *start && *hi <= end;
                    let outside = *hi <= *start || *lo >= end;
                    assert!(inside || outside, "round {round}: part {lo}..{hi} split");
                }
                at = end;
            }
            assert_eq!(at, p, "round {round}: every byte placed");
            let got: Vec<u8> = chunks.iter().flat_map(|(_, b)| b.to_vec()).collect();
            let from = (pos - 40) as usize;
            assert_eq!(got, written[from..], "round {round}");
            pos = p;
        }
    }

    /// A block comes back once its chunks are dropped, and not while one is held.
    #[test]
    fn a_block_is_reused_once_its_chunks_are_gone() {
        let mut arena = Arena::with_block_bytes(1 << 20, 100, Default::default());
        let first = arena.place(0, parts(&[60], 1));
        let held = arena.place(60, parts(&[30], 2));
        let block_a = first[0].1.as_ptr();
        // Does not fit beside the 90 bytes in block A: block B.
        let second = arena.place(90, parts(&[60], 3));
        assert_ne!(second[0].1.as_ptr(), block_a);
        drop(first);
        // Block A still has a holder: block C is new.
        let third = arena.place(150, parts(&[60], 4));
        assert_ne!(third[0].1.as_ptr(), block_a);
        drop(held);
        drop(second);
        // Now A, the oldest retired block, is free again and taken, from its start.
        let fourth = arena.place(210, parts(&[60], 5));
        assert_eq!(fourth[0].1.as_ptr(), block_a);
        assert_eq!(&fourth[0].1[..], &[5u8; 60][..]);
        let counted = |c: &std::sync::atomic::AtomicU64| c.load(Ordering::Relaxed);
        assert_eq!(counted(&arena.counters.allocated), 3);
        assert_eq!(counted(&arena.counters.reused), 1);
    }

    /// Retired blocks beyond the bound are let go; a part larger than a block gets its
    /// own buffer and leaves the current block as it was.
    #[test]
    fn retired_blocks_are_bounded_and_big_parts_stand_alone() {
        let mut arena = Arena::with_block_bytes(250, 100, Default::default());
        assert_eq!(arena.retired_max(), 3);
        let mut held = Vec::new();
        for i in 0..10u64 {
            held.extend(arena.place(i * 80, parts(&[80], i as u8)));
        }
        assert!(arena.retired.len() <= arena.retired_max());
        let before = arena.current.as_ref().map(|b| b.capacity());
        let big = arena.place(800, parts(&[5, 101, 5], 9));
        assert_eq!(big.len(), 3);
        assert_eq!(big[1], (805, bytes::Bytes::from(vec![10u8; 101])));
        assert_eq!(
            arena.current.as_ref().map(|b| b.capacity()),
            before.map(|c| c - 10)
        );
    }
}
