//! `sealog verify`: the offline verifier, a thin shell over `sealog_engine::offline`.
//! Three modes (a data directory, an export, a proof file); the report on stdout, the
//! progress bar and errors on stderr; exit 0 intact, 1 damage or tampering, 2 usage or
//! I/O error.

use std::io::{BufReader, IsTerminal, Write};
use std::path::{Path, PathBuf};

use indicatif::{ProgressBar, ProgressStyle};
use sealog_engine::merkle::note::{Checkpoint, VerifierKey};
use sealog_engine::offline::{
    self, CheckpointInput, CheckpointMatch, DataDirOptions, ExportOptions, INPUT_FILE_BYTES_MAX,
    PROOF_FILE_BYTES_MAX,
};
use sealog_engine::storage::FileStorage;
use sealog_engine::EngineError;

/// Everything intact.
const EXIT_INTACT: i32 = 0;
/// Damage or tampering found.
const EXIT_DAMAGED: i32 = 1;
/// Bad usage, an input that cannot be read, or a requested check that cannot be made.
const EXIT_USAGE: i32 = 2;

const AFTER_HELP: &str = "\
Modes:
  --data-dir DIR      every segment, frame CRC, seal digest, hash, server field and chain
                      link, LSN continuity, and the Merkle state: node files (as far as
                      merkle/state says they are synced) and every stored checkpoint's
                      root (and signature, with --public-key or DIR/keys/checkpoint.vkey).
                      Reads only: never opens the engine, never cuts or rebuilds anything.
                      A frame that fails at the very end of the last segment is an
                      incomplete (torn) tail of an append that was never acknowledged: it
                      is listed, and does not fail the run on its own.
  --export FILE       an NDJSON or JSON-array export: each event's hash and each link per
                      tenant; with --checkpoint and --public-key, that the RFC 9162 root of
                      the tenant's first tree-size hashes is the signed root (the export
                      must hold that tenant's events from seq 1 up to the checkpoint).
  --proof FILE        a receipt (GET /api/audit-logs/{id}/receipt; needs --public-key) or a
                      consistency proof (GET /api/audit-logs/consistency), optionally with
                      --checkpoint OLD, a checkpoint you held (its size and root must be the
                      proof's first and first_root).

--public-key takes the vkey text or the JSON of GET /api/audit-logs/public-key;
--checkpoint the signed note text or the JSON of GET /api/audit-logs/checkpoint.
The last stdout line is one line of key=value figures.

Exit status:
  0  intact: every check made passed
  1  damage or tampering found (each damaged event is named), or a signature, root or
     proof that does not verify
  2  usage or I/O error: a file that cannot be read or is not what the mode expects, or
     a requested checkpoint check the export cannot support";

/// Options of `sealog verify`.
#[derive(Debug, clap::Args)]
#[command(
    group = clap::ArgGroup::new("mode").required(true).args(["data_dir", "export", "proof"]),
    after_help = AFTER_HELP
)]
pub struct Args {
    /// Verify a data directory, read-only (sealogd need not run).
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// Verify an export (NDJSON, or a JSON array) of stored events.
    #[arg(long, value_name = "FILE")]
    export: Option<PathBuf>,
    /// Verify a receipt or a consistency proof (JSON as the API returns it).
    #[arg(long, value_name = "FILE")]
    proof: Option<PathBuf>,
    /// A signed checkpoint (note text, or the API's JSON) to check the export or proof against.
    #[arg(long, value_name = "FILE", conflicts_with = "data_dir")]
    checkpoint: Option<PathBuf>,
    /// The server's verifier key (vkey text, or the API's public-key JSON).
    #[arg(long, value_name = "FILE")]
    public_key: Option<PathBuf>,
}

/// Runs the verifier and exits with its status (0, 1 or 2).
pub fn run(args: Args) -> anyhow::Result<()> {
    let code = match verify(&args) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("sealog verify: error: {e}");
            EXIT_USAGE
        }
    };
    let _ = std::io::stdout().flush();
    if code != EXIT_INTACT {
        std::process::exit(code);
    }
    Ok(())
}

/// A usage or I/O problem: printed, exit status 2.
#[derive(Debug, thiserror::Error)]
enum VerifyError {
    #[error(transparent)]
    Engine(#[from] EngineError),
    #[error("{0}")]
    Usage(String),
}

fn verify(args: &Args) -> Result<i32, VerifyError> {
    let key = match &args.public_key {
        Some(path) => Some(read_key(path)?),
        None => None,
    };
    if let Some(dir) = &args.data_dir {
        return data_dir(dir, key, args.public_key.as_deref());
    }
    let held = match &args.checkpoint {
        Some(path) => {
            let bytes = offline::read_input_file(path, INPUT_FILE_BYTES_MAX)?;
            Some(offline::parse_checkpoint_input(&bytes, path)?)
        }
        None => None,
    };
    if let Some(path) = &args.export {
        return export(path, key.as_ref(), held.as_ref());
    }
    if let Some(path) = &args.proof {
        return proof(path, key.as_ref(), held.as_ref());
    }
    Err(VerifyError::Usage(
        "give one of --data-dir, --export or --proof".into(),
    ))
}

fn read_key(path: &Path) -> Result<VerifierKey, VerifyError> {
    let bytes = offline::read_input_file(path, INPUT_FILE_BYTES_MAX)?;
    Ok(offline::parse_verifier_key(&bytes, path)?)
}

/// A progress bar on stderr when it is a terminal, else a hidden one.
fn progress_bar(len: u64, template: &str) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(len);
    bar.set_style(
        ProgressStyle::with_template(template).unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar
}

fn data_dir(
    dir: &Path,
    key: Option<VerifierKey>,
    key_path: Option<&Path>,
) -> Result<i32, VerifyError> {
    let storage = FileStorage;
    let (key, key_from) = dir_key(&storage, dir, key, key_path);
    outln!("verifying data directory {} (read-only)", dir.display());
    if let (Some(k), Some(from)) = (&key, &key_from) {
        outln!("checkpoint signatures checked with {k} (from {from})");
    }
    let bar = progress_bar(
        0,
        "{bar:40} {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
    );
    let progress = |done: u64, total: u64| {
        bar.set_length(total);
        bar.set_position(done);
    };
    let options = DataDirOptions {
        key: key.as_ref(),
        progress: Some(&progress),
    };
    let report = offline::verify_data_dir(&storage, dir, &options);
    bar.finish_and_clear();
    let report = report?;
    for f in &report.segment_faults {
        outln!("{f}");
    }
    for f in &report.event_faults {
        outln!("{f}");
    }
    for f in &report.merkle_faults {
        outln!("{f}");
    }
    for t in &report.torn_tails {
        outln!("note: {t}");
    }
    for n in &report.notes {
        outln!("note: {n}");
    }
    let code = if report.intact() {
        outln!("result: intact");
        EXIT_INTACT
    } else {
        outln!(
            "result: DAMAGED: {} faults (events: {}, segment files: {}, Merkle state: {})",
            report.faults(),
            report.event_faults.len(),
            report.segment_faults.len(),
            report.merkle_faults.len()
        );
        EXIT_DAMAGED
    };
    outln!("{}", report.summary_line());
    Ok(code)
}

/// The key for a data directory's checkpoints: `--public-key`, else the directory's
/// own `keys/checkpoint.vkey`; and where it came from.
fn dir_key(
    storage: &FileStorage,
    dir: &Path,
    key: Option<VerifierKey>,
    key_path: Option<&Path>,
) -> (Option<VerifierKey>, Option<String>) {
    if let Some(k) = key {
        return (Some(k), key_path.map(|p| p.display().to_string()));
    }
    match offline::data_dir_key(storage, dir) {
        Ok(k) => {
            let from = k
                .as_ref()
                .map(|_| dir.join("keys/checkpoint.vkey").display().to_string());
            (k, from)
        }
        // The directory's own copy of the key is damaged: say so and check the rest.
        Err(e) => {
            outln!("note: {e}: checkpoint signatures not checked (give --public-key)");
            (None, None)
        }
    }
}

fn export(
    path: &Path,
    key: Option<&VerifierKey>,
    held: Option<&CheckpointInput>,
) -> Result<i32, VerifyError> {
    let (checkpoint, signature_failed) = open_held(held, key)?;
    let io = |source| EngineError::Io {
        path: path.to_path_buf(),
        op: "open",
        source,
    };
    let file = std::fs::File::open(path).map_err(io)?;
    let len = file.metadata().map(|m| m.len()).unwrap_or(0);
    outln!("verifying export {}", path.display());
    let bar = progress_bar(
        len,
        "{bar:40} {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
    );
    let progress = |done: u64| bar.set_position(done);
    let options = ExportOptions {
        checkpoint: checkpoint.as_ref(),
        progress: Some(&progress),
    };
    let reader = BufReader::with_capacity(1 << 20, file);
    let report = offline::verify_export(reader, path, &options);
    bar.finish_and_clear();
    let report = report?;
    for f in &report.faults {
        outln!("{f}");
    }
    for n in &report.notes {
        outln!("note: {n}");
    }
    let not_checked = print_checkpoint_match(report.checkpoint.as_ref());
    let faults = report.faults.len() + usize::from(signature_failed);
    // A file of no events that is not even JSON (a CSV export, say) was given by
    // mistake; a JSON file whose events are all malformed is damage, reported below.
    let code = if report.events() == 0 && !report.faults.is_empty() && !starts_as_json(path) {
        outln!(
            "result: NOT AN EXPORT: it does not start with a JSON object or array, and none of its {} records is an event",
            report.records
        );
        EXIT_USAGE
    } else if !report.intact() || signature_failed {
        outln!(
            "result: DAMAGED: {faults} faults in {} events",
            report.events()
        );
        EXIT_DAMAGED
    } else if not_checked {
        outln!("result: chain intact, but the requested checkpoint check could not be made");
        EXIT_USAGE
    } else {
        outln!("result: intact ({} events)", report.events());
        EXIT_INTACT
    };
    outln!("{}", report.summary_line(signature_failed));
    Ok(code)
}

/// Whether the file's first byte that is not white space opens a JSON object or array.
/// Only a regular file can be read again; anything else (a pipe) counts as JSON, so
/// that its damage is reported as damage.
fn starts_as_json(path: &Path) -> bool {
    if !std::fs::metadata(path).is_ok_and(|m| m.is_file()) {
        return true;
    }
    let Ok(mut file) = std::fs::File::open(path) else {
        return true;
    };
    let mut buf = [0u8; 4096];
    loop {
        match std::io::Read::read(&mut file, &mut buf) {
            Ok(0) => return false,
            Err(_) => return true,
            Ok(n) => {
                if let Some(b) = buf[..n].iter().find(|b| !b.is_ascii_whitespace()) {
                    return matches!(b, b'{' | b'[');
                }
            }
        }
    }
}

/// Opens `--checkpoint` with `--public-key` for an export; a bad signature is reported
/// (and makes the run fail) but the export is still checked.
fn open_held(
    held: Option<&CheckpointInput>,
    key: Option<&VerifierKey>,
) -> Result<(Option<Checkpoint>, bool), VerifyError> {
    let (Some(held), Some(key)) = (held, key) else {
        if held.is_some() {
            return Err(VerifyError::Usage(
                "--checkpoint needs --public-key: a checkpoint is only worth its signature".into(),
            ));
        }
        return Ok((None, false));
    };
    match held.open(key) {
        Ok(cp) => {
            outln!(
                "checkpoint: signed by {key}: {} tree size {} root {}",
                cp.origin(),
                cp.size(),
                hex::encode(cp.root())
            );
            Ok((Some(cp), false))
        }
        Err(why) => {
            outln!("checkpoint: FAILED: signature: {why}");
            Ok((None, true))
        }
    }
}

/// Prints the checkpoint comparison; returns whether it could not be made.
fn print_checkpoint_match(m: Option<&CheckpointMatch>) -> bool {
    match m {
        None => {}
        Some(CheckpointMatch::Matches { tenant, size }) => outln!(
            "checkpoint: ok: the root of tenant {tenant}'s first {size} events is the signed root"
        ),
        Some(CheckpointMatch::Differs {
            tenant,
            size,
            signed,
            computed,
        }) => outln!(
            "checkpoint: FAILED: checkpoint_mismatch: the root of tenant {tenant}'s first {size} events is {}, the checkpoint signs {}: events were changed after it was signed",
            hex::encode(computed),
            hex::encode(signed)
        ),
        Some(CheckpointMatch::NotChecked { origin, size, why }) => {
            outln!(
                "checkpoint: NOT CHECKED: {origin} tree size {size} could not be compared: {why}"
            );
            return true;
        }
    }
    false
}

fn proof(
    path: &Path,
    key: Option<&VerifierKey>,
    held: Option<&CheckpointInput>,
) -> Result<i32, VerifyError> {
    let bytes = offline::read_input_file(path, PROOF_FILE_BYTES_MAX)?;
    let report = offline::verify_proof(&bytes, path, key, held)?;
    outln!("verifying {} {}", report.kind.as_str(), path.display());
    for c in &report.checks {
        match &c.outcome {
            Ok(what) => outln!("{}: ok: {what}", c.what),
            Err(why) => outln!("{}: FAILED: {why}", c.what),
        }
    }
    for n in &report.notes {
        outln!("note: {n}");
    }
    let code = if report.intact() {
        outln!("result: intact");
        EXIT_INTACT
    } else {
        outln!("result: FAILED");
        EXIT_DAMAGED
    };
    outln!("{}", report.summary_line());
    Ok(code)
}
