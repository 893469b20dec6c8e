use std::cell::Cell;
use std::collections::BTreeSet;

use proptest::prelude::*;
use proptest::sample::Index;

use super::*;

// ---- A reference written straight from RFC 9162 §2.1 ----

fn sha256(parts: &[&[u8]]) -> Hash {
    let mut h = Sha256::new();
    for part in parts {
        h.update(part);
    }
    h.finalize().into()
}

/// "k is the largest power of two smaller than n".
fn k_below(n: u64) -> u64 {
    let mut k = 1;
    while k * 2 < n {
        k *= 2;
    }
    k
}

/// MTH(D[n]) over leaf inputs.
fn mth(d: &[Vec<u8>]) -> Hash {
    match d.len() {
        0 => sha256(&[]),
        1 => sha256(&[&[0x00], &d[0]]),
        n => {
            let k = k_below(n as u64) as usize;
            sha256(&[&[0x01], &mth(&d[..k]), &mth(&d[k..])])
        }
    }
}

/// Where a proof hash sits relative to what the verifier has computed so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    Left,
    Right,
    /// The old tree's root, or the subtree the consistency check starts from.
    Seed,
}

/// A proof as the leaf ranges whose MTHs it lists.
type Ranges = Vec<(u64, u64, Side)>;

/// PATH(m, D[lo:hi]) (§2.1.3.1), `m` relative to `lo`.
fn path(m: u64, lo: u64, hi: u64) -> Ranges {
    if hi - lo == 1 {
        return vec![];
    }
    let k = k_below(hi - lo);
    let (mut p, sibling) = if m < k {
        (path(m, lo, lo + k), (lo + k, hi, Side::Right))
    } else {
        (path(m - k, lo + k, hi), (lo, lo + k, Side::Left))
    };
    p.push(sibling);
    p
}

/// SUBPROOF(m, D[lo:hi], b) (§2.1.4.1); PROOF(m, D[n]) is `subproof(m, 0, n, true)`.
fn subproof(m: u64, lo: u64, hi: u64, b: bool) -> Ranges {
    if m == hi - lo {
        return if b {
            vec![]
        } else {
            vec![(lo, hi, Side::Seed)]
        };
    }
    let k = k_below(hi - lo);
    let (mut p, sibling) = if m <= k {
        (subproof(m, lo, lo + k, b), (lo + k, hi, Side::Right))
    } else {
        (subproof(m - k, lo + k, hi, false), (lo, lo + k, Side::Left))
    };
    p.push(sibling);
    p
}

fn hashes(leaves: &[Vec<u8>], ranges: &Ranges) -> Vec<Hash> {
    let leaves_in = |a: u64, b: u64| &leaves[a as usize..b as usize];
    ranges
        .iter()
        .map(|&(a, b, _)| mth(leaves_in(a, b)))
        .collect()
}

/// What a verifier does with a proof: same shape, same computation.
fn shape(ranges: &Ranges) -> Vec<Side> {
    ranges.iter().map(|&(_, _, side)| side).collect()
}

// ---- Sources ----

/// A node file as the storage layer keeps it: perfect-subtree hashes in post-order.
/// A prefix of the file is the file of a smaller tree, and reads past it fail.
struct NodeFile<'a>(&'a [Hash]);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("no node ({level}, {index}) in the file")]
struct Missing {
    level: u32,
    index: u64,
}

impl Subtrees for NodeFile<'_> {
    type Error = Missing;

    fn subtree(&self, level: u32, index: u64) -> Result<Hash, Missing> {
        postorder_position(level, index)
            .and_then(|p| self.0.get(usize::try_from(p).ok()?))
            .copied()
            .ok_or(Missing { level, index })
    }
}

/// The file of the tree of `size` leaves, cut from the file of a bigger one.
fn file(nodes: &[Hash], size: u64) -> NodeFile<'_> {
    NodeFile(&nodes[..postorder_len(size).unwrap() as usize])
}

/// Pushes `leaves` through a frontier into a node file, checking each node lands at
/// the next position and holds the MTH of its range.
fn node_file(leaves: &[Vec<u8>]) -> Vec<Hash> {
    let mut nodes = Vec::new();
    let mut frontier = Frontier::new();
    for leaf in leaves {
        frontier
            .push(leaf_hash(leaf), |level, index, hash| {
                assert_eq!(postorder_position(level, index), Some(nodes.len() as u64));
                let range = (index << level) as usize..((index + 1) << level) as usize;
                assert_eq!(*hash, mth(&leaves[range]), "node ({level}, {index})");
                nodes.push(*hash);
            })
            .unwrap();
    }
    nodes
}

/// Leaf inputs that differ, so that no two subtrees share a hash and a proof hash
/// moved to another place always changes the result.
fn distinct_leaves(n: usize) -> Vec<Vec<u8>> {
    (0..n).map(|i| format!("event {i}").into_bytes()).collect()
}

/// A consistent tree of up to `u64::MAX` leaves, never stored: leaves are all alike
/// except the `marked` ones, so a subtree without marked leaves has a hash that
/// depends only on its level, and one with them is computed down to them. Counts
/// reads, and refuses nodes outside the tree of `size` leaves.
struct Sparse {
    size: u64,
    marked: BTreeSet<u64>,
    plain: [Hash; 64],
    reads: Cell<usize>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("node ({level}, {index}) is outside the tree")]
struct Outside {
    level: u32,
    index: u64,
}

impl Sparse {
    fn new(size: u64, marked: impl IntoIterator<Item = u64>) -> Self {
        let mut plain = [leaf_hash(b"plain"); 64];
        for level in 1..64 {
            plain[level] = node_hash(&plain[level - 1], &plain[level - 1]);
        }
        let marked = marked.into_iter().collect();
        let reads = Cell::new(0);
        Sparse {
            size,
            marked,
            plain,
            reads,
        }
    }

    fn leaf(&self, index: u64) -> Hash {
        match self.marked.contains(&index) {
            true => leaf_hash(&index.to_le_bytes()),
            false => self.plain[0],
        }
    }

    fn hash(&self, level: u32, index: u64) -> Hash {
        let first = index << level;
        let last = first + ((1 << level) - 1);
        if level == 0 {
            self.leaf(index)
        } else if self.marked.range(first..=last).next().is_none() {
            self.plain[level as usize]
        } else {
            let left = self.hash(level - 1, 2 * index);
            node_hash(&left, &self.hash(level - 1, 2 * index + 1))
        }
    }

    fn take_reads(&self) -> usize {
        self.reads.replace(0)
    }
}

impl Subtrees for Sparse {
    type Error = Outside;

    fn subtree(&self, level: u32, index: u64) -> Result<Hash, Outside> {
        self.reads.set(self.reads.get() + 1);
        let end = (index.checked_add(1))
            .and_then(|n| n.checked_mul(1u64.checked_shl(level)?))
            .filter(|&end| end <= self.size);
        match end {
            Some(_) => Ok(self.hash(level, index)),
            None => Err(Outside { level, index }),
        }
    }
}

// ---- Checks shared by the exhaustive and the property tests ----

fn flipped(h: &Hash) -> Hash {
    let mut h = *h;
    h[7] ^= 0x10;
    h
}

/// Every tampered variant of a good proof: each hash flipped, one dropped at either
/// end, one added at either end.
fn tampered(proof: &[Hash], extra: &Hash) -> Vec<Vec<Hash>> {
    let mut out = Vec::new();
    for i in 0..proof.len() {
        let mut p = proof.to_vec();
        p[i] = flipped(&p[i]);
        out.push(p);
    }
    if !proof.is_empty() {
        out.push(proof[1..].to_vec());
        out.push(proof[..proof.len() - 1].to_vec());
    }
    out.push([proof, &[*extra]].concat());
    out.push([&[*extra], proof].concat());
    out
}

fn check_inclusion(leaves: &[Vec<u8>], nodes: &[Hash], index: u64, size: u64) {
    let root_hash = mth(&leaves[..size as usize]);
    let want = path(index, 0, size);
    let proof = inclusion_proof(&file(nodes, size), index, size).unwrap();
    assert_eq!(proof, hashes(leaves, &want), "PATH({index}, D[{size}])");
    let leaf = leaf_hash(&leaves[index as usize]);
    let verify = verify_inclusion;
    assert_eq!(verify(&leaf, index, size, &proof, &root_hash), Ok(()));
    for bad in tampered(&proof, &root_hash) {
        assert!(verify(&leaf, index, size, &bad, &root_hash).is_err());
    }
    assert!(verify(&flipped(&leaf), index, size, &proof, &root_hash).is_err());
    assert!(verify(&leaf, index, size, &proof, &flipped(&root_hash)).is_err());
    assert!(verify(&leaf, index, size, &proof, &EMPTY_ROOT).is_err());
    for other in [
        index ^ 1,
        index ^ 2,
        index.wrapping_sub(1),
        index + 1,
        u64::MAX,
    ] {
        if other != index {
            assert!(verify(&leaf, other, size, &proof, &root_hash).is_err());
        }
    }
    // Another size that gives the path the same shape is the same computation, so
    // it verifies: the root, not the size, is what the proof is bound to.
    for other in [size - 1, size + 1, size * 2, size / 2, size + 5, u64::MAX] {
        let got = verify(&leaf, index, other, &proof, &root_hash);
        if index >= other {
            assert_eq!(
                got,
                Err(VerifyError::IndexOutOfRange { index, size: other })
            );
        } else if other != size && other < 1 << 20 {
            let same = shape(&path(index, 0, other)) == shape(&want);
            assert_eq!(got.is_ok(), same, "index {index}, size {size} as {other}");
        }
    }
}

fn check_consistency(leaves: &[Vec<u8>], nodes: &[Hash], first: u64, second: u64) {
    let (r1, r2) = (
        mth(&leaves[..first as usize]),
        mth(&leaves[..second as usize]),
    );
    let want = subproof(first, 0, second, true);
    let proof = consistency_proof(&file(nodes, second), first, second).unwrap();
    assert_eq!(proof, hashes(leaves, &want), "PROOF({first}, D[{second}])");
    let verify = verify_consistency;
    assert_eq!(verify(first, second, &r1, &r2, &proof), Ok(()));
    for bad in tampered(&proof, &r1) {
        assert!(verify(first, second, &r1, &r2, &bad).is_err());
    }
    if first != second {
        assert!(verify(first, second, &flipped(&r1), &r2, &proof).is_err());
        assert!(verify(first, second, &r1, &flipped(&r2), &proof).is_err());
        assert!(verify(first, second, &r2, &r1, &proof).is_err());
    } else {
        let got = verify(first, second, &r1, &flipped(&r2), &proof);
        assert_eq!(got, Err(VerifyError::RootsDiffer { size: first }));
    }
    let mutations = [
        (first - 1, second),
        (first + 1, second),
        (first ^ 1, second),
        (first * 2, second),
        (first / 2, second),
        (first, second - 1),
        (first, second + 1),
        (first, second * 2),
    ];
    for (f, s) in mutations.into_iter().filter(|&m| m != (first, second)) {
        let got = verify(f, s, &r1, &r2, &proof);
        if f == 0 || f > s {
            let want_err = VerifyError::SizesOutOfRange {
                first: f,
                second: s,
            };
            assert_eq!(got, Err(want_err));
        } else {
            let same = shape(&subproof(f, 0, s, true)) == shape(&want);
            assert_eq!(got.is_ok(), same, "{first}..{second} as {f}..{s}");
        }
    }
}

// ---- Hashes and known vectors ----

#[test]
fn hashes_follow_rfc_9162() {
    assert_eq!(EMPTY_ROOT, sha256(&[]));
    assert_eq!(leaf_hash(b"abc"), sha256(&[&[0], b"abc"]));
    let (l, r) = (leaf_hash(b"l"), leaf_hash(b"r"));
    assert_eq!(node_hash(&l, &r), sha256(&[&[1], &l, &r]));
}

fn hex32(s: &str) -> Hash {
    let mut h = [0; 32];
    hex::decode_to_slice(s, &mut h).unwrap();
    h
}

/// The 8-leaf test tree of Certificate Transparency, as published in
/// github.com/transparency-dev/merkle: testonly/constants.go (`LeafInputs`,
/// `NodeHashes`, `RootHashes`) and proof/verify_test.go (`inclusionProofs`,
/// `consistencyProofs`; their leaf numbers are 1-based, ours 0-based).
fn ct_leaves() -> Vec<Vec<u8>> {
    let inputs = [
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
    ];
    let mut leaves: Vec<_> = inputs.iter().map(|s| hex::decode(s).unwrap()).collect();
    leaves.push(hex::decode("606162636465666768696a6b6c6d6e6f").unwrap());
    leaves
}

const CT_NODES: [&[&str]; 4] = [
    &[
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
        "0298d122906dcfc10892cb53a73992fc5b9f493ea4c9badb27b791b4127a7fe7",
        "07506a85fd9dd2f120eb694f86011e5bb4662e5c415a62917033d4a9624487e7",
        "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        "4271a26be0d8a84f0bd54c8c302e7cb3a3b5d1fa6780a40bcce2873477dab658",
        "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
        "46f6ffadd3d06a09ff3c5860d2755c8b9819db7df44251788c7d8e3180de8eb1",
    ],
    &[
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
        "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
        "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
    ],
    &[
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
    ],
    &["5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"],
];

const CT_ROOTS: [&str; 9] = [
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
];

#[test]
fn ct_test_tree_has_the_published_nodes_and_roots() {
    let leaves = ct_leaves();
    let nodes = node_file(&leaves);
    let whole = file(&nodes, 8);
    for (level, row) in (0..).zip(CT_NODES) {
        for (index, want) in (0..).zip(row) {
            assert_eq!(whole.subtree(level, index), Ok(hex32(want)));
        }
    }
    let mut frontier = Frontier::new();
    for (size, want) in (0..).zip(CT_ROOTS) {
        assert_eq!(root(&file(&nodes, size), size), Ok(hex32(want)));
        assert_eq!(frontier.root(), hex32(want));
        if let Some(leaf) = leaves.get(size as usize) {
            frontier.push(leaf_hash(leaf), |_, _, _| {}).unwrap();
        }
    }
}

#[test]
fn ct_test_tree_gives_the_published_proofs() {
    type Case<'a> = (u64, u64, &'a [&'a str]);
    let inclusion: [Case; 5] = [
        (0, 1, &[]),
        (0, 8, &[CT_NODES[0][1], CT_NODES[1][1], CT_NODES[2][1]]),
        (5, 8, &[CT_NODES[0][4], CT_NODES[1][3], CT_NODES[2][0]]),
        (2, 3, &[CT_NODES[1][0]]),
        (1, 5, &[CT_NODES[0][0], CT_NODES[1][1], CT_NODES[0][4]]),
    ];
    let consistency: [Case; 5] = [
        (1, 1, &[]),
        (1, 8, &[CT_NODES[0][1], CT_NODES[1][1], CT_NODES[2][1]]),
        (6, 8, &[CT_NODES[1][2], CT_NODES[1][3], CT_NODES[2][0]]),
        (2, 5, &[CT_NODES[1][1], CT_NODES[0][4]]),
        (6, 7, &[CT_NODES[1][2], CT_NODES[0][6], CT_NODES[2][0]]),
    ];
    let leaves = ct_leaves();
    let nodes = node_file(&leaves);
    let hexes = |want: &[&str]| want.iter().map(|h| hex32(h)).collect::<Vec<_>>();
    for (index, size, want) in inclusion {
        let proof = inclusion_proof(&file(&nodes, size), index, size).unwrap();
        assert_eq!(proof, hexes(want), "leaf {index} of {size}");
        let (leaf, root) = (
            leaf_hash(&leaves[index as usize]),
            hex32(CT_ROOTS[size as usize]),
        );
        assert_eq!(verify_inclusion(&leaf, index, size, &proof, &root), Ok(()));
    }
    for (first, second, want) in consistency {
        let proof = consistency_proof(&file(&nodes, second), first, second).unwrap();
        assert_eq!(proof, hexes(want), "{first} to {second}");
        let (r1, r2) = (
            hex32(CT_ROOTS[first as usize]),
            hex32(CT_ROOTS[second as usize]),
        );
        assert_eq!(verify_consistency(first, second, &r1, &r2, &proof), Ok(()));
    }
}

// ---- Proofs against the reference ----

#[test]
fn every_proof_up_to_33_leaves_matches_the_rfc_and_tampering_fails() {
    let leaves = distinct_leaves(33);
    let nodes = node_file(&leaves);
    for size in 1..=33 {
        for index in 0..size {
            check_inclusion(&leaves, &nodes, index, size);
        }
        for first in 1..=size {
            check_consistency(&leaves, &nodes, first, size);
        }
    }
}

fn leaf_lists(max: usize) -> impl Strategy<Value = Vec<Vec<u8>>> {
    let raw = prop::collection::vec(prop::collection::vec(any::<u8>(), 0..8), 1..max);
    // An index prefix keeps the leaves distinct (see `distinct_leaves`).
    raw.prop_map(|raw| {
        let tagged = raw.into_iter().enumerate();
        tagged
            .map(|(i, extra)| [&(i as u32).to_le_bytes()[..], &extra[..]].concat())
            .collect()
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn proofs_match_the_rfc_and_tampering_fails(
        leaves in leaf_lists(300),
        size in any::<Index>(),
        index in any::<Index>(),
        first in any::<Index>(),
    ) {
        let nodes = node_file(&leaves);
        let size = 1 + size.index(leaves.len()) as u64;
        let root_hash = mth(&leaves[..size as usize]);
        prop_assert_eq!(root(&file(&nodes, size), size), Ok(root_hash));
        check_inclusion(&leaves, &nodes, index.index(size as usize) as u64, size);
        check_consistency(&leaves, &nodes, 1 + first.index(size as usize) as u64, size);
    }
}

#[test]
fn bad_requests_and_failed_reads_are_errors() {
    let nodes = node_file(&distinct_leaves(5));
    let five = file(&nodes, 5);
    let err = inclusion_proof(&five, 7, 5).unwrap_err();
    assert_eq!(err.to_string(), "leaf index 7 is not below tree size 5");
    let err = consistency_proof(&five, 0, 5).unwrap_err();
    assert_eq!(
        err.to_string(),
        "consistency needs 1 <= first <= second, got first=0, second=5"
    );
    assert!(consistency_proof(&five, 6, 5).is_err());
    let missing = |level, index| ProofError::Source(Missing { level, index });
    assert_eq!(inclusion_proof(&five, 0, 6), Err(missing(1, 2)));
    assert_eq!(consistency_proof(&five, 5, 8), Err(missing(1, 3)));
    assert_eq!(root(&five, 6), Err(Missing { level: 1, index: 2 }));
    assert_eq!(
        Frontier::load(&five, 6),
        Err(Missing { level: 1, index: 2 })
    );
}

// ---- Cost and extreme sizes ----

/// One read per level plus the parts of one right-edge node: 2 * 64.
const PROOF_READS_MAX: usize = 128;

#[test]
fn proofs_read_o_log_n_subtrees_and_verify_at_huge_sizes() {
    let sizes = [(1 << 40) + 12345, (1 << 63) + 1, u64::MAX - 1, u64::MAX];
    for size in sizes {
        let picks = [0, 1, 12344, (1 << 39) + 5, size / 3, size - 2, size - 1];
        let s = Sparse::new(size, picks.iter().flat_map(|&i| [i, i + 1]));
        let root_hash = root(&s, size).unwrap();
        assert_eq!(s.take_reads(), size.count_ones() as usize);
        for index in picks {
            s.take_reads();
            let proof = inclusion_proof(&s, index, size).unwrap();
            assert!(s.take_reads() <= PROOF_READS_MAX, "leaf {index} of {size}");
            let leaf = s.leaf(index);
            assert_eq!(
                verify_inclusion(&leaf, index, size, &proof, &root_hash),
                Ok(())
            );
            let wrong = verify_inclusion(&leaf, index ^ 1, size, &proof, &root_hash);
            assert!(wrong.is_err(), "leaf {index} of {size} as {}", index ^ 1);
        }
        for first in picks
            .map(|i| i + 1)
            .into_iter()
            .chain([2, 3, 1 << 40, size])
        {
            s.take_reads();
            let proof = consistency_proof(&s, first, size).unwrap();
            assert!(s.take_reads() <= PROOF_READS_MAX + 1, "{first} to {size}");
            let first_root = root(&s, first).unwrap();
            let got = verify_consistency(first, size, &first_root, &root_hash, &proof);
            assert_eq!(got, Ok(()), "{first} to {size}");
        }
    }
}

proptest! {
    #[test]
    fn any_sizes_prove_and_verify_without_panicking(
        a in any::<u64>(),
        b in any::<u64>(),
        junk in prop::collection::vec(any::<[u8; 32]>(), 0..70),
    ) {
        let (small, big) = (a.min(b), a.max(b));
        let s = Sparse::new(u64::MAX, [small, big]);
        if big > 0 {
            let index = small.min(big - 1);
            let root_hash = root(&s, big).unwrap();
            let proof = inclusion_proof(&s, index, big).unwrap();
            let got = verify_inclusion(&s.leaf(index), index, big, &proof, &root_hash);
            prop_assert_eq!(got, Ok(()));
        }
        if small > 0 {
            let proof = consistency_proof(&s, small, big).unwrap();
            let (r1, r2) = (root(&s, small).unwrap(), root(&s, big).unwrap());
            prop_assert_eq!(verify_consistency(small, big, &r1, &r2, &proof), Ok(()));
        }
        let _ = verify_inclusion(&EMPTY_ROOT, a, b, &junk, &EMPTY_ROOT);
        let _ = verify_consistency(a, b, &EMPTY_ROOT, &EMPTY_ROOT, &junk);
        let _ = inclusion_proof(&s, a, b);
        let _ = consistency_proof(&s, a, b);
    }
}

// ---- Frontier ----

#[test]
fn frontier_appends_nodes_in_file_order_and_loads_back() {
    let leaves = distinct_leaves(130);
    let mut nodes = Vec::new();
    let mut frontier = Frontier::new();
    for (n, leaf) in (1..).zip(&leaves) {
        let append = |level, index, hash: &Hash| {
            assert_eq!(postorder_position(level, index), Some(nodes.len() as u64));
            nodes.push(*hash);
        };
        frontier.push(leaf_hash(leaf), append).unwrap();
        assert_eq!(frontier.size(), n);
        assert_eq!(nodes.len() as u64, postorder_len(n).unwrap());
        assert_eq!(frontier.root(), mth(&leaves[..n as usize]));
        assert_eq!(Frontier::load(&file(&nodes, n), n), Ok(frontier.clone()));
    }
    assert_eq!(Frontier::load(&file(&nodes, 0), 0), Ok(Frontier::new()));
    assert_eq!(Frontier::new().root(), EMPTY_ROOT);
}

#[test]
fn frontier_reaches_the_last_sizes() {
    let s = Sparse::new(u64::MAX, [u64::MAX - 1, (1 << 63) - 1]);
    for size in [(1 << 63) - 1, u64::MAX - 1] {
        let mut frontier = Frontier::load(&s, size).unwrap();
        let mut positions = Vec::new();
        let leaf = s.leaf(size);
        frontier
            .push(leaf, |l, i, _| positions.push(postorder_position(l, i)))
            .unwrap();
        // 2^63 leaves fill the last u64 position; past that nothing has one.
        let from = postorder_len(size);
        let want: Vec<_> = (0..positions.len() as u64)
            .map(|k| from?.checked_add(k))
            .collect();
        assert_eq!(positions, want);
        assert_eq!(from.is_some(), size < 1 << 63);
        assert_eq!(positions.len(), (size + 1).trailing_zeros() as usize + 1);
        assert_eq!(frontier, Frontier::load(&s, size + 1).unwrap());
        assert_eq!(frontier.root(), root(&s, size + 1).unwrap());
    }
    let mut full = Frontier::load(&s, u64::MAX).unwrap();
    let mut called = false;
    assert_eq!(
        full.push(EMPTY_ROOT, |_, _, _| called = true),
        Err(TreeFull)
    );
    assert!(!called);
    assert_eq!(full.size(), u64::MAX);
}

// ---- Post-order layout ----

/// Every node of the tree of `size` leaves, in the order the file appends them: by
/// last leaf, then bottom-up.
fn file_order(size: u64) -> Vec<(u32, u64)> {
    let mut all: Vec<(u32, u64)> = (0..u64::BITS)
        .flat_map(|level| (0..size >> level).map(move |index| (level, index)))
        .collect();
    all.sort_by_key(|&(level, index)| (((index + 1) << level) - 1, level));
    all
}

fn postorder_walk(level: u32, index: u64, out: &mut Vec<(u32, u64)>) {
    if level > 0 {
        postorder_walk(level - 1, 2 * index, out);
        postorder_walk(level - 1, 2 * index + 1, out);
    }
    out.push((level, index));
}

#[test]
fn postorder_layout_matches_brute_force() {
    let mut lens = Vec::new();
    for size in 0..=130 {
        let order = file_order(size);
        for (position, &(level, index)) in (0..).zip(&order) {
            assert_eq!(postorder_position(level, index), Some(position));
        }
        assert_eq!(postorder_len(size), Some(order.len() as u64));
        lens.push(order.len() as u64);
    }
    for nodes in 0..=lens[130] {
        let want = lens.iter().rposition(|&len| len <= nodes).unwrap() as u64;
        assert_eq!(size_for_postorder_len(nodes), want, "{nodes} nodes");
    }
    for level in 0..7 {
        let mut walk = Vec::new();
        postorder_walk(level, 0, &mut walk);
        assert_eq!(
            walk,
            file_order(1 << level),
            "perfect tree of level {level}"
        );
    }
}

#[test]
fn postorder_layout_stops_at_u64_max() {
    assert_eq!(postorder_position(63, 0), Some(u64::MAX - 1));
    assert_eq!(postorder_position(0, (1 << 63) - 1), Some(u64::MAX - 64));
    assert_eq!(postorder_position(0, 1 << 63), Some(u64::MAX));
    assert_eq!(postorder_position(1, 1 << 62), None);
    assert_eq!(postorder_position(64, 0), None);
    assert_eq!(postorder_position(u32::MAX, 0), None);
    assert_eq!(postorder_position(0, u64::MAX), None);
    assert_eq!(postorder_position(1, u64::MAX >> 1), None);
    assert_eq!(postorder_len(1 << 63), Some(u64::MAX));
    assert_eq!(postorder_len((1 << 63) + 1), None);
    assert_eq!(postorder_len(u64::MAX), None);
    assert_eq!(size_for_postorder_len(u64::MAX), 1 << 63);
    assert_eq!(size_for_postorder_len(u64::MAX - 1), (1 << 63) - 1);
}

proptest! {
    #[test]
    fn postorder_functions_agree_everywhere(
        level in 0u32..70,
        index in any::<u64>(),
        nodes in any::<u64>(),
    ) {
        // A leaf sits where the nodes of the leaves before it end; the leaf and the
        // subtrees it completes follow it, the biggest last.
        if let Some(position) = postorder_position(level, index) {
            let j = ((index + 1) << level) - 1;
            prop_assert_eq!(postorder_position(0, j), postorder_len(j));
            let above = u64::from((j + 1).trailing_zeros() - level);
            let next = postorder_len(j + 1);
            prop_assert!(next.is_none_or(|next| position + above + 1 == next));
        }
        let size = size_for_postorder_len(nodes);
        prop_assert!(postorder_len(size).is_some_and(|len| len <= nodes));
        prop_assert!(postorder_len(size + 1).is_none_or(|len| len > nodes));
    }
}
