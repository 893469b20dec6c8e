//! Transparency-log integrity on top of the hash chain: a Merkle tree per tenant
//! (RFC 9162 §2.1), its proofs, and signed checkpoints (C2SP signed notes).
//!
//! - [`tree`]: the tree's hashing and proofs, as pure functions over a source of
//!   perfect-subtree hashes, and their verification (what an auditor runs).
//! - [`note`]: checkpoints as C2SP signed notes, signed and checked with Ed25519.
//! - [`store`]: the node files (every perfect subtree's hash, in post-order) and the
//!   state file that says how far they follow the log.
//! - [`checkpoints`]: every checkpoint issued, per tenant.
//! - [`audit`]: recomputes a tenant's tree from its events and compares it with the
//!   stored nodes and checkpoints (verify-chain and `sealog verify`).
//! - [`transparency`]: the follower thread that grows the trees and signs checkpoints,
//!   and the API the server serves checkpoints and proofs from.
//!
//! docs/INTEGRITY.md describes the design and works a proof by hand.

pub mod audit;
pub mod checkpoints;
pub mod note;
pub mod store;
pub mod transparency;
pub mod tree;

pub use transparency::{
    ConsistencyProof, InclusionProof, IntegrityError, SignedCheckpoint, Transparency,
    TransparencyConfig, TransparencyStatus,
};

/// A SHA-256 digest: a leaf, node or root hash.
pub type Hash = [u8; 32];
