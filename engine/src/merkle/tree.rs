//! RFC 9162 §2.1 Merkle tree hashing and proofs, as pure functions over a source of
//! perfect-subtree hashes ([`Subtrees`]), and their verification (what an auditor runs).
//!
//! Node (level, index) is the root of the perfect subtree over leaves
//! `[index << level, (index + 1) << level)`; level 0 holds the leaf hashes. Every node of
//! the RFC 9162 tree of `n` leaves is either such a perfect subtree or lies on the tree's
//! right edge. A right-edge node is never stored: its hash is combined from the perfect
//! subtrees of its range (one per set bit of its width). So a proof reads O(log n)
//! hashes, never a leaf range: at most one right-edge node is rebuilt per proof.
//!
//! The storage layer appends each perfect subtree's hash once its last leaf arrives,
//! children before parents ([`Frontier::push`] emits them in that order), so the node
//! file is the post-order of the tree and only grows. For 6 leaves, the positions are:
//!
//! ```text
//!                6                 level 2
//!             /     \
//!           2         5       9    level 1
//!          / \       / \     / \
//!         0   1     3   4   7   8  level 0
//! leaves: 0   1     2   3   4   5
//! ```
//!
//! The 6-leaf root, `node_hash(#6, #9)`, is a right-edge node and has no position.

use sha2::{Digest, Sha256};

use super::Hash;

/// Domain separation (RFC 9162 §2.1.1): a leaf can never be read as an inner node.
const LEAF_PREFIX: [u8; 1] = [0x00];
const NODE_PREFIX: [u8; 1] = [0x01];

/// The leaf hash: SHA-256(0x00 ‖ `leaf_input`).
pub fn leaf_hash(leaf_input: &[u8]) -> Hash {
    Sha256::new()
        .chain_update(LEAF_PREFIX)
        .chain_update(leaf_input)
        .finalize()
        .into()
}

/// The hash of an inner node: SHA-256(0x01 ‖ `left` ‖ `right`).
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    Sha256::new()
        .chain_update(NODE_PREFIX)
        .chain_update(left)
        .chain_update(right)
        .finalize()
        .into()
}

/// The root of the empty tree: SHA-256 of the empty string.
pub const EMPTY_ROOT: Hash = [
    0xe3, 0xb0, 0xc4, 0x42, 0x98, 0xfc, 0x1c, 0x14, 0x9a, 0xfb, 0xf4, 0xc8, 0x99, 0x6f, 0xb9, 0x24,
    0x27, 0xae, 0x41, 0xe4, 0x64, 0x9b, 0x93, 0x4c, 0xa4, 0x95, 0x99, 0x1b, 0x78, 0x52, 0xb8, 0x55,
];

/// A source of perfect-subtree hashes, e.g. a tenant's node file.
///
/// Node (`level`, `index`) is the root of the perfect subtree over leaves
/// `[index << level, (index + 1) << level)`; level 0 holds the leaf hashes. The functions
/// here ask only for nodes inside the tree they were given (`(index + 1) << level <= size`),
/// and pass any error through untouched.
pub trait Subtrees {
    /// Why a hash could not be read.
    type Error;

    /// The hash of node (`level`, `index`).
    fn subtree(&self, level: u32, index: u64) -> Result<Hash, Self::Error>;
}

/// Why a proof could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProofError<E> {
    /// The source failed to read a subtree hash.
    #[error("reading a subtree hash failed")]
    Source(#[source] E),
    /// An inclusion proof was asked for a leaf the tree does not have.
    #[error("leaf index {index} is not below tree size {size}")]
    LeafIndexOutOfRange {
        /// The requested leaf.
        index: u64,
        /// The tree's size.
        size: u64,
    },
    /// A consistency proof was asked for sizes it is not defined for.
    #[error("consistency needs 1 <= first <= second, got first={first}, second={second}")]
    ConsistencySizes {
        /// The older tree's size.
        first: u64,
        /// The newer tree's size.
        second: u64,
    },
}

/// Why a proof does not verify.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum VerifyError {
    /// The leaf index is not inside the tree.
    #[error("leaf index {index} is not below tree size {size}")]
    IndexOutOfRange {
        /// The claimed leaf.
        index: u64,
        /// The claimed tree size.
        size: u64,
    },
    /// The sizes do not allow a consistency proof.
    #[error("consistency needs 1 <= first <= second, got first={first}, second={second}")]
    SizesOutOfRange {
        /// The claimed older size.
        first: u64,
        /// The claimed newer size.
        second: u64,
    },
    /// The proof holds more or fewer hashes than the sizes call for.
    #[error("the proof holds {got} hashes, but these sizes call for {expected}")]
    PathLength {
        /// How many hashes the sizes call for.
        expected: usize,
        /// How many the proof holds.
        got: usize,
    },
    /// The inclusion proof leads to another root.
    #[error("the inclusion proof does not lead to the given root")]
    RootMismatch,
    /// The consistency proof does not rebuild the older root.
    #[error("the consistency proof does not lead to the first root")]
    FirstRootMismatch,
    /// The consistency proof does not rebuild the newer root.
    #[error("the consistency proof does not lead to the second root")]
    SecondRootMismatch,
    /// Two different roots were given for one tree size: a fork, if both are signed.
    #[error("two different roots for tree size {size}")]
    RootsDiffer {
        /// The size both roots claim.
        size: u64,
    },
}

/// The largest power of two below `n` (for `n >= 2`): where RFC 9162 splits `n` leaves.
fn split(n: u64) -> u64 {
    debug_assert!(n >= 2);
    1 << (63 - (n - 1).leading_zeros())
}

/// Reads the perfect subtree over the `width` leaves from `start` (`width` a power of
/// two, `start` a multiple of it).
fn perfect<S: Subtrees + ?Sized>(s: &S, start: u64, width: u64) -> Result<Hash, S::Error> {
    let level = width.trailing_zeros();
    s.subtree(level, start >> level)
}

/// MTH of leaves `[start, end)`, from the perfect subtrees of the range's binary
/// decomposition: popcount(end - start) reads. Those subtrees are stored nodes only if
/// `start` is a multiple of the largest power of two <= `end - start`, which holds for
/// the whole tree and for every right-edge node of an RFC 9162 tree.
fn range_hash<S: Subtrees + ?Sized>(s: &S, start: u64, end: u64) -> Result<Hash, S::Error> {
    debug_assert!(start <= end);
    let mut rest = end - start;
    let mut piece_end = end;
    let mut acc: Option<Hash> = None;
    // Smallest piece first: MTH folds from the right.
    while rest != 0 {
        let width = rest & rest.wrapping_neg();
        piece_end -= width;
        let piece = perfect(s, piece_end, width)?;
        acc = Some(match acc {
            None => piece,
            Some(right) => node_hash(&piece, &right),
        });
        rest -= width;
    }
    Ok(acc.unwrap_or(EMPTY_ROOT))
}

/// MTH of the first `size` leaves ([`EMPTY_ROOT`] for 0): popcount(`size`) reads.
pub fn root<S: Subtrees + ?Sized>(s: &S, size: u64) -> Result<Hash, S::Error> {
    range_hash(s, 0, size)
}

/// The RFC 9162 §2.1.3.1 inclusion proof (audit path) of leaf `index` in the tree of
/// `size` leaves, bottom-up: at most 64 hashes, from at most 128 reads (one per level,
/// plus the parts of at most one right-edge node).
pub fn inclusion_proof<S: Subtrees + ?Sized>(
    s: &S,
    index: u64,
    size: u64,
) -> Result<Vec<Hash>, ProofError<S::Error>> {
    if index >= size {
        return Err(ProofError::LeafIndexOutOfRange { index, size });
    }
    // Walk PATH(m, D[n]) top-down over the node [lo, hi) that holds the leaf. Once the
    // walk goes left it is inside a perfect subtree, so only the first right sibling it
    // meets can be a right-edge node.
    let mut path = Vec::with_capacity(64);
    let (mut lo, mut hi) = (0, size);
    while hi - lo > 1 {
        let mid = lo + split(hi - lo);
        let sibling = if index < mid {
            let sibling = range_hash(s, mid, hi);
            hi = mid;
            sibling
        } else {
            let sibling = perfect(s, lo, mid - lo);
            lo = mid;
            sibling
        };
        path.push(sibling.map_err(ProofError::Source)?);
    }
    path.reverse();
    Ok(path)
}

/// The RFC 9162 §2.1.4.1 consistency proof that the tree of `first` leaves is a prefix
/// of the tree of `second`: empty when they are equal, at most 65 hashes, from at most
/// 129 reads. `first` must be at least 1 (the empty tree is a prefix of every tree and
/// RFC 9162 defines no proof for it).
pub fn consistency_proof<S: Subtrees + ?Sized>(
    s: &S,
    first: u64,
    second: u64,
) -> Result<Vec<Hash>, ProofError<S::Error>> {
    if first == 0 || first > second {
        return Err(ProofError::ConsistencySizes { first, second });
    }
    // Walk SUBPROOF(m, D[n], b) top-down over [lo, hi), with `first` in (lo, hi].
    // `whole` is b: still the whole old tree, whose root the verifier already has.
    let mut proof = Vec::with_capacity(65);
    let (mut lo, mut hi) = (0, second);
    let mut whole = true;
    while first != hi {
        let mid = lo + split(hi - lo);
        let sibling = if first <= mid {
            let sibling = range_hash(s, mid, hi);
            hi = mid;
            sibling
        } else {
            let sibling = perfect(s, lo, mid - lo);
            lo = mid;
            whole = false;
            sibling
        };
        proof.push(sibling.map_err(ProofError::Source)?);
    }
    if !whole {
        proof.push(range_hash(s, lo, hi).map_err(ProofError::Source)?);
    }
    proof.reverse();
    Ok(proof)
}

/// The index arithmetic the RFC 9162 verifiers share (§2.1.3.2 step 4, §2.1.4.2 step 6):
/// `node` is their `fn`, the position of the node computed so far within its level, and
/// `last` their `sn`, the position of that level's last node.
#[derive(Clone, Copy)]
struct Walk {
    node: u64,
    last: u64,
}

impl Walk {
    /// Goes up past one proof hash; returns whether that hash is the left child.
    fn step(&mut self) -> bool {
        let left = self.node & 1 == 1 || self.node == self.last;
        if left && self.node & 1 == 0 {
            // The node is its level's last and has no right sibling: it is promoted
            // unchanged until it becomes a right child. `node == last != 0` here.
            let shift = self.node.trailing_zeros();
            self.node >>= shift;
            self.last >>= shift;
        }
        self.node >>= 1;
        self.last >>= 1;
        left
    }

    /// How many proof hashes the walk takes before it reaches the root.
    fn remaining(mut self) -> usize {
        let mut steps = 0;
        while self.last != 0 {
            self.step();
            steps += 1;
        }
        steps
    }
}

/// Checks an inclusion proof by the RFC 9162 §2.1.3.2 algorithm: that `path` leads from
/// leaf `index`, whose leaf hash is `leaf_hash`, to `root`, the root of `size` leaves.
pub fn verify_inclusion(
    leaf_hash: &Hash,
    index: u64,
    size: u64,
    path: &[Hash],
    root: &Hash,
) -> Result<(), VerifyError> {
    if index >= size {
        return Err(VerifyError::IndexOutOfRange { index, size });
    }
    let mut walk = Walk {
        node: index,
        last: size - 1,
    };
    let expected = walk.remaining();
    if path.len() != expected {
        return Err(VerifyError::PathLength {
            expected,
            got: path.len(),
        });
    }
    let mut r = *leaf_hash;
    for p in path {
        r = if walk.step() {
            node_hash(p, &r)
        } else {
            node_hash(&r, p)
        };
    }
    if r != *root {
        return Err(VerifyError::RootMismatch);
    }
    Ok(())
}

/// Checks a consistency proof by the RFC 9162 §2.1.4.2 algorithm: that `path` shows the
/// tree of `first` leaves, with root `first_root`, is a prefix of the tree of `second`
/// leaves, with root `second_root`. Equal sizes need equal roots and an empty path.
/// `first` = 0 is refused as by [`consistency_proof`]: whoever holds an empty tree need
/// only check its root is [`EMPTY_ROOT`].
pub fn verify_consistency(
    first: u64,
    second: u64,
    first_root: &Hash,
    second_root: &Hash,
    path: &[Hash],
) -> Result<(), VerifyError> {
    if first == 0 || first > second {
        return Err(VerifyError::SizesOutOfRange { first, second });
    }
    if first == second {
        if !path.is_empty() {
            let got = path.len();
            return Err(VerifyError::PathLength { expected: 0, got });
        }
        if first_root != second_root {
            return Err(VerifyError::RootsDiffer { size: first });
        }
        return Ok(());
    }
    // Step 4: start from the lowest node that is inside the old tree but not a left
    // child of a node inside it. `node < last` here, so the shift is below 64.
    let mut walk = Walk {
        node: first - 1,
        last: second - 1,
    };
    let shift = walk.node.trailing_ones();
    walk.node >>= shift;
    walk.last >>= shift;
    // Step 2: when the old tree is perfect, that node is its root and the proof omits it.
    let seeded = first.is_power_of_two();
    let expected = walk.remaining() + usize::from(!seeded);
    let got = path.len();
    if got != expected {
        return Err(VerifyError::PathLength { expected, got });
    }
    let (seed, rest) = match seeded {
        true => (first_root, path),
        // `expected` >= 1, so the path is not empty.
        false => (path.split_first()).ok_or(VerifyError::PathLength { expected, got })?,
    };
    let (mut fr, mut sr) = (*seed, *seed);
    for c in rest {
        if walk.step() {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
        } else {
            sr = node_hash(&sr, c);
        }
    }
    if fr != *first_root {
        return Err(VerifyError::FirstRootMismatch);
    }
    if sr != *second_root {
        return Err(VerifyError::SecondRootMismatch);
    }
    Ok(())
}

/// The position of node (`level`, `index`) in the post-order node file:
/// `2j - popcount(j) + level` with `j = ((index + 1) << level) - 1`, the node's last
/// leaf. (The nodes of the first `j` leaves come first, then leaf `j` and the `level`
/// subtrees it completes.) `None` if the node would not fit a tree of at most
/// `u64::MAX` leaves, or its position would not fit a `u64`.
pub fn postorder_position(level: u32, index: u64) -> Option<u64> {
    if level >= u64::BITS || index >= u64::MAX >> level {
        return None;
    }
    let j = ((index + 1) << level) - 1;
    postorder_len(j)?.checked_add(u64::from(level))
}

/// How many nodes the file holds for `size` leaves: `2 * size - popcount(size)`. `None`
/// if that does not fit a `u64` (`size` above 2^63).
pub fn postorder_len(size: u64) -> Option<u64> {
    size.checked_add(size - u64::from(size.count_ones()))
}

/// The largest tree size whose node file holds at most `nodes` nodes. A node file of
/// another length ends in a torn append: cut it back to `postorder_len` of this size.
pub fn size_for_postorder_len(nodes: u64) -> u64 {
    // postorder_len(s) lies in [2s - 64, 2s] and grows with s, so the answer is within
    // 33 of nodes / 2.
    let mut size = nodes / 2;
    while postorder_len(size + 1).is_some_and(|len| len <= nodes) {
        size += 1;
    }
    size
}

/// A tree can hold at most `u64::MAX` leaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the tree already holds u64::MAX leaves")]
pub struct TreeFull;

/// The compact range `[0, size)`: the perfect subtrees of the binary decomposition of
/// `size`, biggest first. Enough to append leaves and to compute the root, in O(log n)
/// memory.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Frontier {
    size: u64,
    /// One hash per set bit of `size`, biggest subtree first.
    hashes: Vec<Hash>,
}

impl Frontier {
    /// The empty tree's frontier.
    pub fn new() -> Self {
        Self::default()
    }

    /// How many leaves the tree holds.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The tree's root (MTH).
    pub fn root(&self) -> Hash {
        let mut smallest_first = self.hashes.iter().rev();
        let Some(last) = smallest_first.next() else {
            return EMPTY_ROOT;
        };
        smallest_first.fold(*last, |right, left| node_hash(left, &right))
    }

    /// Rebuilds the frontier of an existing tree of `size` leaves: popcount(`size`) reads.
    pub fn load<S: Subtrees + ?Sized>(s: &S, size: u64) -> Result<Frontier, S::Error> {
        let mut hashes = Vec::with_capacity(size.count_ones() as usize);
        let mut start = 0;
        for level in (0..u64::BITS).rev() {
            let width = 1 << level;
            if size & width != 0 {
                hashes.push(perfect(s, start, width)?);
                start += width;
            }
        }
        Ok(Frontier { size, hashes })
    }

    /// Appends one leaf, by its leaf hash, and calls `emit(level, index, hash)` for the
    /// leaf and then for each perfect subtree it completes, bottom-up: post-order, the
    /// order the node file appends them in. At most 64 calls.
    pub fn push(
        &mut self,
        leaf_hash: Hash,
        mut emit: impl FnMut(u32, u64, &Hash),
    ) -> Result<(), TreeFull> {
        let size = self.size.checked_add(1).ok_or(TreeFull)?;
        debug_assert_eq!(self.hashes.len(), self.size.count_ones() as usize);
        emit(0, self.size, &leaf_hash);
        // The new leaf closes one subtree per trailing zero of the new size: the
        // smallest ones of the old decomposition, merged right to left.
        let completed = size.trailing_zeros() as usize;
        let keep = self.hashes.len().saturating_sub(completed);
        let mut acc = leaf_hash;
        for (level, left) in (1..).zip(self.hashes.drain(keep..).rev()) {
            acc = node_hash(&left, &acc);
            emit(level, (size >> level) - 1, &acc);
        }
        self.hashes.push(acc);
        self.size = size;
        Ok(())
    }
}

#[cfg(test)]
mod tests;
