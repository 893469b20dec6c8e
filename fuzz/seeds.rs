//! Writes the seed corpora of the fuzz targets. The corpus directories are not
//! committed: run-short.sh runs this first, so the seeds always come from the engine as
//! it is (real segment files, index files, frames, ingest JSON), never from stale bytes.
//!
//! `cargo fuzz build` builds this with the targets (one build, shared artifacts), so it
//! carries their coverage instrumentation and must link libFuzzer's runtime: it is
//! therefore written as a fuzz target whose initialization writes the seeds and exits
//! before libFuzzer parses a flag or runs an input.
//!
//! Usage: `seeds [CORPUS_DIR]` (default `corpus`). Writes `CORPUS_DIR/<target>/seed-*`,
//! overwriting earlier seeds and leaving whatever the fuzzer added. For each
//! `segment_recover` seed it prints what recovery makes of it, so a seed that stopped
//! exercising its path (say, "torn" no longer cut) shows up.
#![no_main]

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use sealog_engine::event::{prepare_event, PreparedEvent};
use sealog_engine::frame::{self, Decoded, Record, SealRecord};
use sealog_engine::gen::{GenConfig, Generator};
use sealog_engine::segment::SEGMENT_HEADER_BYTES;
use sealog_engine::storage::testkit::FaultyStorage;
use sealog_engine::{Engine, Lsn, TenantId};
use sealog_fuzz::{
    config, disk_with_files, join_files, repair_files, split_files, DATA_DIR, FILE_NAMES,
};

libfuzzer_sys::fuzz_target!(init: write_seeds_and_exit(), |_data: &[u8]| {});

fn write_seeds_and_exit() {
    write_seeds();
    std::process::exit(0);
}

fn write_seeds() {
    let root = PathBuf::from(std::env::args().nth(1).unwrap_or_else(|| "corpus".into()));
    let mut events = Events::new();
    let mut corpus = Corpus::new(&root);

    // An empty log: the header of segment 1 and nothing else.
    let disk = FaultyStorage::with_seed(1);
    open(&disk).close();
    let empty = trimmed(&disk, 0);
    corpus.recover_intact("empty", &[&empty]);

    // A few requests (1, 3 and 2 events; two tenants), each synced before the next.
    let disk = FaultyStorage::with_seed(2);
    let engine = open(&disk);
    for n in [1, 3, 2] {
        events.append(&engine, n);
    }
    engine.close();
    let few = trimmed(&disk, 0);
    let frames = frame_spans(&few);
    assert_eq!(frames.len(), 6, "six event frames");
    corpus.recover_intact("few_events", &[&few]);

    // A torn tail: the last frame cut short, then the last frame missing entirely (its
    // request has no end flag), then junk after the zero length that ends the data.
    let (last_start, last_end) = frames[frames.len() - 1];
    corpus.recover("torn_frame", &[&few[..last_end - 40]]);
    corpus.recover("torn_request", &[&few[..last_start]]);
    let mut junk = few.clone();
    junk.extend_from_slice(&[0; 32]);
    junk.extend_from_slice(b"bytes after the end of the data");
    corpus.recover("junk_after_end", &[&junk]);

    // Damage: a byte of the first event flipped; later frames prove it was synced.
    let mut damaged = few.clone();
    damaged[frames[0].0 + 100] ^= 0x20;
    corpus.recover("damaged", &[&damaged]);

    // A small sealed segment: the frames of `few`, sealed by hand (the engine seals only
    // at 64 KiB). Opening it writes its index and a new active segment.
    let sealed = seal(&few);
    let disk = disk_with_files(&join_files(&[&sealed]));
    let engine = open(&disk);
    events.append(&engine, 2);
    events.append(&engine, 1);
    engine.close();
    let idx1 = file(&disk, 1);
    let seg2 = trimmed(&disk, 2);
    corpus.recover_intact("sealed_only", &[&sealed]);
    corpus.recover_intact("sealed_idx_active", &[&sealed, &idx1, &seg2]);
    corpus.recover_intact("sealed_no_idx_active", &[&sealed, b"", &seg2]);
    corpus.recover("sealed_idx_unfinished", &[&sealed, &idx1, &[0; 200]]);
    let mut damaged_sealed = sealed.clone();
    damaged_sealed[frames[2].0 + 120] ^= 0x01;
    corpus.recover("sealed_damaged_idx", &[&damaged_sealed, &idx1, &seg2]);

    // A real roll: the engine fills segment 1 (64 KiB), seals it, writes its index in the
    // background and goes on in segment 2. Too big to fuzz well whole (every run would
    // hash 64 KiB); `segment_recover` gets the first requests of it sealed by hand, with
    // many tenants, and `frame_decode` the real sealed file.
    let disk = FaultyStorage::with_seed(3);
    let engine = open(&disk);
    while engine.stats().segments < 2 {
        events.append(&engine, 4);
    }
    engine.close();
    let rolled = file(&disk, 0);
    let rolled_frames = frame_spans(&rolled);
    let cut = rolled_frames[15].1; // four requests of four events
    let sealed_many = seal(&rolled[..cut]);
    let disk = disk_with_files(&join_files(&[&sealed_many]));
    let engine = open(&disk);
    events.append(&engine, 3);
    engine.close();
    let (idx_many, seg2_many) = (file(&disk, 1), trimmed(&disk, 2));
    corpus.recover_intact(
        "sealed_many_tenants",
        &[&sealed_many, &idx_many, &seg2_many],
    );

    // The checksum repair of the mutators recomputes exactly what the engine wrote,
    // including the seal of a segment the engine sealed itself.
    for (name, bytes) in [("few", &few), ("sealed", &sealed), ("rolled", &rolled)] {
        let mut repaired = bytes.clone();
        sealog_fuzz::repair_segment(&mut repaired);
        assert!(
            repaired == *bytes,
            "repair_segment changed the intact segment {name}"
        );
    }
    let mut bare = few[SEGMENT_HEADER_BYTES..].to_vec();
    sealog_fuzz::repair_frames(&mut bare, 0);
    assert!(
        bare == few[SEGMENT_HEADER_BYTES..],
        "repair_frames changed intact frames"
    );

    // frame_decode: whole segments (walked from byte 64), bare frames, a seal alone.
    corpus.frame("segment", &few);
    corpus.frame("frames", &few[SEGMENT_HEADER_BYTES..]);
    corpus.frame("one_event", &few[frames[1].0..frames[1].1]);
    corpus.frame("sealed", &sealed);
    corpus.frame(
        "seal_frame",
        &sealed[sealed.len() - frame::SEAL_FRAME_BYTES..],
    );
    corpus.frame("rolled", &rolled);

    // ingest_parse: generated events (with and without free text) and hand-made edges.
    for (i, json) in events.ingested.iter().take(40).enumerate() {
        corpus.ingest(&format!("gen_{i:02}"), json);
    }
    for (name, json) in HAND_MADE_JSON {
        corpus.ingest(name, json.as_bytes());
    }
    corpus.summary();
}

/// Hand-made ingest seeds: accepted edges, and refusals of each kind.
const HAND_MADE_JSON: &[(&str, &str)] = &[
    ("minimal", r#"{"event_type":"a"}"#),
    (
        "many_fields",
        r#"{"event_type":"trade.order.placed","severity":"high","user_id":"u1","user_name":"Ann","amount":"-12.5000","risk_score":"0.75","currency":"USDT","country_code":"DE","ip_address":"2001:db8::1","http_method":"POST","endpoint":"/api/orders","tags":["x","y"],"changed_fields":["qty"],"old_values":{"qty":1},"new_values":{"qty":2,"nested":[1,2.5e3,{"b":null,"t":true}],"é":"\u00e9\ud83d\ude00"},"audit_metadata":{"k":"v"},"occurred_at":"2024-02-29T23:59:59.999999+05:30","session_id":"s","request_id":"r"}"#,
    ),
    (
        "numbers",
        r#"{"event_type":"n","new_values":{"a":-0,"b":1E400,"c":0.1,"d":9007199254740993,"e":1e-7,"f":123456789012345678901234567890}}"#,
    ),
    (
        "escapes",
        r#"{"event_type":"e","event_description":"tab\t nl\n quote\" slash\/ bs\\ ctl\u001f \u2028","new_values":{"\u0000":"", "":{}}}"#,
    ),
    ("server_field", r#"{"event_type":"x","seq":1,"hash":"00"}"#),
    ("duplicate_key", r#"{"event_type":"x","event_type":"y"}"#),
    (
        "deep",
        r#"{"event_type":"d","new_values":{"a":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}}"#,
    ),
    ("lone_surrogate", r#"{"event_type":"s","user_id":"\ud800"}"#),
    (
        "bad_values",
        r#"{"event_type":"","severity":"nope","amount":"1e5","ip_address":"0.0.0.0","tags":"x","occurred_at":"yesterday"}"#,
    ),
    ("not_object", r#"[{"event_type":"a"}]"#),
    ("trailing", "{\"event_type\":\"a\"} x"),
];

/// Generated events, appended in requests of one tenant; keeps each JSON it used.
struct Events {
    plain: Generator,
    text: Generator,
    turn: u64,
    ingested: Vec<Vec<u8>>,
}

impl Events {
    fn new() -> Self {
        let gen = |with_text| {
            Generator::new(GenConfig {
                count: u64::MAX,
                with_text,
                ..GenConfig::default()
            })
        };
        Events {
            plain: gen(false),
            text: gen(true),
            turn: 0,
            ingested: Vec::new(),
        }
    }

    fn next(&mut self) -> (&'static str, PreparedEvent) {
        self.turn += 1;
        let gen = if self.turn.is_multiple_of(2) {
            &mut self.text
        } else {
            &mut self.plain
        };
        let mut json = Vec::new();
        let (tenant, _) = gen
            .write_json_into(&mut json)
            .expect("an endless generator");
        let prepared = prepare_event(&json).expect("generated events are valid");
        self.ingested.push(json);
        (tenant, prepared)
    }

    /// Appends one request of `n` events (all to the first event's tenant) and waits.
    fn append(&mut self, engine: &Engine, n: usize) {
        let (tenant, first) = self.next();
        let mut batch = vec![first];
        batch.extend((1..n).map(|_| self.next().1));
        let tenant = TenantId::new(tenant).expect("generated tenants are valid");
        engine
            .append(&tenant, batch)
            .expect("append on the in-memory disk");
    }
}

fn open(disk: &FaultyStorage) -> Engine {
    let (engine, _) = Engine::open(config(), Arc::new(disk.clone())).expect("open");
    engine
}

/// The file `FILE_NAMES[slot]` on `disk`.
fn file(disk: &FaultyStorage, slot: usize) -> Vec<u8> {
    let path = Path::new(DATA_DIR).join("wal").join(FILE_NAMES[slot]);
    disk.contents(&path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// An active segment without its preallocated zeros (recovery reads a short file the
/// same way: the data ends where the bytes do). Frames never end in a zero byte.
fn trimmed(disk: &FaultyStorage, slot: usize) -> Vec<u8> {
    let mut bytes = file(disk, slot);
    let end = bytes.iter().rposition(|&b| b != 0).map_or(0, |p| p + 1);
    bytes.truncate(end.max(SEGMENT_HEADER_BYTES));
    bytes
}

/// `(start, end)` of each frame after the segment header.
fn frame_spans(segment: &[u8]) -> Vec<(usize, usize)> {
    let mut spans = Vec::new();
    let mut at = SEGMENT_HEADER_BYTES;
    while let Decoded::Frame(_, end) = frame::decode(segment, at) {
        spans.push((at, end));
        at = end;
    }
    spans
}

/// Appends a seal frame to a segment whose frames are all events (as the engine does
/// when it seals, but at any size).
fn seal(segment: &[u8]) -> Vec<u8> {
    let mut lsns = Vec::new();
    let mut times = Vec::new();
    for (start, _) in frame_spans(segment) {
        if let Decoded::Frame(Record::Event(ev), _) = frame::decode(segment, start) {
            lsns.push(ev.lsn);
            times.push(ev.created_at_us);
        }
    }
    let record = SealRecord {
        first_lsn: lsns.first().copied().unwrap_or(Lsn(1)),
        last_lsn: lsns.last().copied().unwrap_or(Lsn(0)),
        record_count: lsns.len() as u64,
        created_min_us: times.iter().copied().min().unwrap_or(0),
        created_max_us: times.iter().copied().max().unwrap_or(0),
        digest: *blake3::hash(segment).as_bytes(),
    };
    let mut sealed = segment.to_vec();
    frame::encode_seal(&mut sealed, &record);
    sealed
}

/// Writes seeds and counts them.
struct Corpus {
    root: PathBuf,
    written: [usize; 3],
    accepted_json: usize,
}

impl Corpus {
    fn new(root: &Path) -> Self {
        for target in ["segment_recover", "frame_decode", "ingest_parse"] {
            fs::create_dir_all(root.join(target)).expect("create the corpus directory");
        }
        Corpus {
            root: root.to_path_buf(),
            written: [0; 3],
            accepted_json: 0,
        }
    }

    fn write(&mut self, target: usize, dir: &str, name: &str, bytes: &[u8]) {
        let path = self.root.join(dir).join(format!("seed-{name}"));
        fs::write(&path, bytes).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        self.written[target] += 1;
    }

    /// A `segment_recover` seed: the files, joined; prints what recovery makes of them.
    fn recover(&mut self, name: &str, parts: &[&[u8]]) {
        let input = join_files(parts);
        let files = split_files(&input);
        let present = parts
            .iter()
            .enumerate()
            .filter(|(i, p)| *i == 0 || !p.is_empty());
        assert!(
            files.iter().map(|f| f.1).eq(present.map(|(_, p)| *p)),
            "seed {name}: the file separator occurs inside a file"
        );
        let outcome = match Engine::open(config(), Arc::new(disk_with_files(&input))) {
            Ok((engine, r)) => {
                let summary = format!(
                    "opens: {} events, {} torn, {} damaged, {} rebuilt, read-only: {}",
                    r.events,
                    r.torn.len(),
                    r.damage.len(),
                    r.rebuilt_indexes.len(),
                    engine.write_refusal().is_some()
                );
                engine.close();
                summary
            }
            Err(e) => format!("refused: {e}"),
        };
        println!(
            "seed segment_recover/seed-{name} ({} bytes): {outcome}",
            input.len()
        );
        self.write(0, "segment_recover", name, &input);
    }

    /// A seed of undamaged files: also checks that the mutator's checksum repair leaves
    /// them exactly as the engine wrote them (it recomputes what the engine computes).
    fn recover_intact(&mut self, name: &str, parts: &[&[u8]]) {
        let input = join_files(parts);
        let mut repaired = input.clone();
        repair_files(&mut repaired);
        assert!(
            repaired == input,
            "seed {name}: repair_files changed intact files"
        );
        self.recover(name, parts);
    }

    fn frame(&mut self, name: &str, bytes: &[u8]) {
        self.write(1, "frame_decode", name, bytes);
    }

    fn ingest(&mut self, name: &str, json: &[u8]) {
        self.accepted_json += usize::from(prepare_event(json).is_ok());
        self.write(2, "ingest_parse", name, json);
    }

    fn summary(&self) {
        let [recover, frames, ingest] = self.written;
        println!(
            "seeds: {recover} segment_recover, {frames} frame_decode, {ingest} ingest_parse ({} valid events) in {}",
            self.accepted_json,
            self.root.display()
        );
    }
}
