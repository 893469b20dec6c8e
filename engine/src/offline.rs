//! Offline verification (`sealog verify`): a data directory, an export or a proof,
//! checked from files alone, with no server and no change to anything it reads.
//!
//! - [`verify_data_dir`] reads every segment file itself (never `Engine::open`, whose
//!   recovery may cut a torn tail or rebuild index files): header, every frame CRC (walked
//!   as recovery walks them, so a torn tail at the end of the last segment is told apart
//!   from damage), seal and BLAKE3 digest, every hash, every server field, every chain
//!   link, LSN continuity between segments, and the Merkle state: each tenant's tree is
//!   recomputed from the stored hashes and compared with its node file (as far as
//!   `merkle/state` says it is synced) and every stored checkpoint (root, and signature
//!   when a verifier key is given). Hashing runs on all cores (rayon).
//! - [`verify_export`] checks an NDJSON or JSON-array export: each event's hash (RFC 8785
//!   form of the returned object minus `hash` and the resolution overlay), each link per
//!   tenant, and optionally that the RFC 9162 root of a tenant's first `size` hashes is
//!   the root a signed checkpoint commits to.
//! - [`verify_proof`] checks a receipt (event, signed checkpoint, inclusion proof) or a
//!   consistency proof, optionally against a checkpoint the client held.
//!
//! Inputs that cannot be read or are not what they claim to be (a missing file, a proof
//! without its fields) are errors ([`crate::EngineError`]); what the checks find is in the
//! reports. docs/INTEGRITY.md ("Offline verification") is the user's view.

mod damage;
mod data_dir;
mod event;
mod export;
mod input;
mod proof;
mod records;
mod report;
mod segment;
mod tenants;
#[cfg(test)]
mod tests;

pub use data_dir::{data_dir_key, verify_data_dir, DataDirOptions};
pub use event::{returned_event_hash, NOT_HASHED_KEYS};
pub use export::{verify_export, CheckpointMatch, ExportOptions, ExportReport, ExportTenant};
pub use input::{
    parse_checkpoint_input, parse_verifier_key, read_input_file, CheckpointInput,
    INPUT_FILE_BYTES_MAX,
};
pub use proof::{verify_proof, ProofCheck, ProofKind, ProofReport, PROOF_FILE_BYTES_MAX};
pub use records::EXPORT_RECORD_BYTES_MAX;
pub use report::{
    DataDirReport, EventFault, ExportFault, ExportFaultKind, MerkleTenantFault, SegmentFault,
    SegmentFaultKind, TornTailFound,
};
