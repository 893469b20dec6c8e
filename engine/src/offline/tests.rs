//! Unit tests of the offline verifier's parts: record splitting, the hash rule on the
//! worked example of docs/INTEGRITY.md, inputs, proofs. The whole verifier runs on real
//! data directories in tools/tests/verify.rs.
#![allow(clippy::unwrap_used)]

use std::path::Path;

use super::records::{Record, Records};
use super::*;
use crate::event::json;
use crate::merkle::note::{Checkpoint, SigningKey};
use crate::merkle::tree::{self, leaf_hash};

/// docs/INTEGRITY.md's two events of tenant `acme`, as an NDJSON export returns them.
fn worked_example() -> [String; 2] {
    let doc = include_str!("../../../docs/INTEGRITY.md");
    let lines: Vec<&str> = doc
        .lines()
        .filter(|l| l.starts_with("{\"action\"") && l.contains("\"hash\""))
        .collect();
    assert_eq!(lines.len(), 2, "the worked example moved");
    [lines[0].to_owned(), lines[1].to_owned()]
}

fn records(input: &str) -> Vec<Record> {
    let mut r = Records::new(input.as_bytes());
    let mut out = Vec::new();
    while let Some(rec) = r.next_record().unwrap() {
        out.push(rec);
    }
    out
}

fn shape(recs: &[Record]) -> Vec<(u64, Result<String, String>)> {
    recs.iter()
        .map(|r| match r {
            Record::Event { line, bytes } => {
                (*line, Ok(String::from_utf8_lossy(bytes).trim().to_owned()))
            }
            Record::Bad { line, why } => (*line, Err(why.clone())),
        })
        .collect()
}

#[test]
fn records_are_cut_from_ndjson_and_json_arrays_with_their_lines() {
    let nd = shape(&records("\n{\"a\":1}\n\n  \n{\"b\":\"}\"}\r\n{\"c\":2}"));
    assert_eq!(
        nd,
        vec![
            (2, Ok("{\"a\":1}".into())),
            (5, Ok("{\"b\":\"}\"}".into())),
            (6, Ok("{\"c\":2}".into())),
        ]
    );
    let arr = shape(&records(
        "[\n {\"a\":\"x\\\"}\",\"n\":{\"m\":[1,{}]}},\n{\"b\":2}\n]\n",
    ));
    assert_eq!(
        arr,
        vec![
            (2, Ok("{\"a\":\"x\\\"}\",\"n\":{\"m\":[1,{}]}}".into())),
            (3, Ok("{\"b\":2}".into())),
        ]
    );
    assert!(records("[]").is_empty());
    assert!(records("  \n ").is_empty());
    // Hostile arrays end with one named fault, never a loop or a panic.
    for (input, line, needle) in [
        ("[{\"a\":1} {\"b\":2}]", 1, "expected ',' or ']'"),
        ("[{\"a\":1},\n 5]", 2, "expected an event object"),
        (
            "[{\"a\":\"}\n",
            2,
            "ends inside the element that starts on line 1",
        ),
        ("[{\"a\":1}] x", 1, "nothing after the array"),
        ("[{\"a\":1},", 1, "found the end of the file"),
    ] {
        let got = shape(&records(input));
        let (l, last) = got.last().unwrap().clone();
        let why = last.unwrap_err();
        assert_eq!(l, line, "{input:?}: {why}");
        assert!(why.contains(needle), "{input:?}: {why}");
    }
}

#[test]
fn an_overlong_line_is_named_and_skipped() {
    let long = "x".repeat(EXPORT_RECORD_BYTES_MAX + 1);
    let input = format!("{{\"a\":1}}\n{long}\n{{\"b\":2}}\n");
    let got = shape(&records(&input));
    assert_eq!(got.len(), 3);
    assert_eq!(got[0].0, 1);
    assert!(got[1].1.as_ref().unwrap_err().contains("longer than"));
    assert_eq!(got[1].0, 2);
    assert_eq!(got[2], (3, Ok("{\"b\":2}".into())));
    // Exactly the limit is read.
    let fits = "y".repeat(EXPORT_RECORD_BYTES_MAX);
    let got = shape(&records(&format!("{fits}\n")));
    assert_eq!(got[0].1.as_ref().unwrap().len(), EXPORT_RECORD_BYTES_MAX);
}

#[test]
fn the_worked_example_hashes_as_documented_and_its_export_verifies() {
    let [one, two] = worked_example();
    let v = json::parse(one.as_bytes()).unwrap();
    assert_eq!(
        hex::encode(returned_event_hash(&v).unwrap()),
        "b53e6ae7ef578a5256cc34e041a5790b88995eedd97ec1a1b50de01e345e62b5"
    );
    let export = format!("{one}\n{two}\n");
    let report =
        verify_export(export.as_bytes(), Path::new("x"), &ExportOptions::default()).unwrap();
    assert!(report.intact(), "{:?}", report.faults);
    assert_eq!(report.events(), 2);
    // The documented edit: "qty":0.5 → "qty":5 is event 1's hash_mismatch.
    let edited = format!("{}\n{two}\n", one.replace("\"qty\":0.5", "\"qty\":5"));
    let report =
        verify_export(edited.as_bytes(), Path::new("x"), &ExportOptions::default()).unwrap();
    assert_eq!(report.faults.len(), 1, "{:?}", report.faults);
    let f = &report.faults[0];
    assert_eq!((f.line, f.kind), (1, ExportFaultKind::HashMismatch));
    assert_eq!(
        f.id.as_deref(),
        Some("01a200f9-21f7-7877-966e-73f49558be7d")
    );
    // Only event 2: a later start is taken as given, and said.
    let report = verify_export(two.as_bytes(), Path::new("x"), &ExportOptions::default()).unwrap();
    assert!(report.intact() && report.notes[0].contains("starts at seq 2"));
}

#[test]
fn an_export_is_compared_with_a_checkpoint_of_its_tenant() {
    let [one, two] = worked_example();
    let leaves: Vec<[u8; 32]> = [&one, &two]
        .iter()
        .map(|l| {
            let v = json::parse(l.as_bytes()).unwrap();
            returned_event_hash(&v).unwrap()
        })
        .collect();
    let root = tree::node_hash(&leaf_hash(&leaves[0]), &leaf_hash(&leaves[1]));
    let export = format!("{one}\n{two}\n");
    let check = |cp: &Checkpoint| {
        let options = ExportOptions {
            checkpoint: Some(cp),
            progress: None,
        };
        verify_export(export.as_bytes(), Path::new("x"), &options)
            .unwrap()
            .checkpoint
            .unwrap()
    };
    let good = Checkpoint::new("sealog/acme", 2, root).unwrap();
    assert!(matches!(
        check(&good),
        CheckpointMatch::Matches { size: 2, .. }
    ));
    let one_leaf = Checkpoint::new("sealog/acme", 1, leaf_hash(&leaves[0])).unwrap();
    assert!(matches!(
        check(&one_leaf),
        CheckpointMatch::Matches { size: 1, .. }
    ));
    let bad = Checkpoint::new("sealog/acme", 2, [7; 32]).unwrap();
    assert!(matches!(check(&bad), CheckpointMatch::Differs { .. }));
    let long = Checkpoint::new("sealog/acme", 3, root).unwrap();
    assert!(matches!(check(&long), CheckpointMatch::NotChecked { .. }));
    let other = Checkpoint::new("sealog/zeta", 2, root).unwrap();
    match check(&other) {
        CheckpointMatch::NotChecked { why, .. } => assert!(why.contains("no event of tenant zeta")),
        m => panic!("{m:?}"),
    }
}

#[test]
fn keys_and_checkpoints_are_read_as_text_or_as_the_apis_json() {
    let key = SigningKey::from_seed("sealog", &[9; 32]).unwrap();
    let vkey = key.verifier();
    let p = Path::new("k");
    assert_eq!(
        parse_verifier_key(format!("{vkey}\n").as_bytes(), p).unwrap(),
        vkey
    );
    let json = format!(r#"{{"algorithm":"ed25519","public_key":"x","vkey":"{vkey}"}}"#);
    assert_eq!(parse_verifier_key(json.as_bytes(), p).unwrap(), vkey);
    let err = parse_verifier_key(b"{\"vkey\": 3}", p)
        .unwrap_err()
        .to_string();
    assert!(err.contains("field vkey") && err.starts_with("k:"), "{err}");
    assert!(parse_verifier_key(b"\xff", p).is_err());

    let cp = Checkpoint::new("sealog/acme", 5, [3; 32]).unwrap();
    let note = key.sign(&cp);
    for text in [
        note.clone(),
        format!("{note}\n\n"),
        note.trim_end().to_owned(),
    ] {
        let input = parse_checkpoint_input(text.as_bytes(), p).unwrap();
        assert_eq!(input.open(&vkey).unwrap(), cp);
        assert_eq!(input.unverified().unwrap(), cp);
    }
    let as_json = serde_json::json!({
        "origin": "sealog/acme", "tree_size": 5, "root_hash": hex::encode([3; 32]), "note": note,
    });
    let input = parse_checkpoint_input(as_json.to_string().as_bytes(), p).unwrap();
    assert_eq!(input.open(&vkey).unwrap(), cp);
    // JSON whose copy of the size disagrees with the signed note.
    let mut lying = as_json.clone();
    lying["tree_size"] = 6.into();
    let input = parse_checkpoint_input(lying.to_string().as_bytes(), p).unwrap();
    assert!(input
        .open(&vkey)
        .unwrap_err()
        .contains("field tree_size says 6"));
    let other = SigningKey::from_seed("sealog", &[8; 32])
        .unwrap()
        .verifier();
    let input = parse_checkpoint_input(note.as_bytes(), p).unwrap();
    assert!(input
        .open(&other)
        .unwrap_err()
        .contains("no signature line by key"));
}

#[test]
fn proof_files_are_told_apart_and_hostile_ones_are_refused_by_name() {
    let p = Path::new("proof.json");
    let key = SigningKey::from_seed("sealog", &[9; 32])
        .unwrap()
        .verifier();
    for (input, needle) in [
        (&b"not json"[..], "not JSON"),
        (b"[1]", "expected a JSON object"),
        (b"{}", "neither a receipt"),
        (
            br#"{"leaf_index":0,"tree_size":1,"root_hash":"","inclusion_path":[]}"#,
            "bare inclusion proof",
        ),
        (
            br#"{"first":1,"second":2,"first_root":"00","second_root":"00","consistency_path":[]}"#,
            "field first_root: must be 64 hex digits",
        ),
        (
            br#"{"first":-1,"consistency_path":[]}"#,
            "field first: -1 is not an integer",
        ),
        (
            br#"{"event":{},"checkpoint":{},"proof":{}}"#,
            "field event.id: missing",
        ),
    ] {
        let err = verify_proof(input, p, Some(&key), None)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains(needle) && err.starts_with("proof.json:"),
            "{err}"
        );
    }
    // A consistency proof between two trees built here.
    let leaves: Vec<[u8; 32]> = (0u8..7).map(|i| leaf_hash(&[i; 32])).collect();
    let root = |n: usize| {
        let mut f = tree::Frontier::new();
        for l in &leaves[..n] {
            f.push(*l, |_, _, _| {}).unwrap();
        }
        f.root()
    };
    let (r3, r7) = (root(3), root(7));
    struct Leaves(Vec<[u8; 32]>);
    impl tree::Subtrees for Leaves {
        type Error = ();
        fn subtree(&self, level: u32, index: u64) -> Result<[u8; 32], ()> {
            let (a, b) = ((index << level) as usize, ((index + 1) << level) as usize);
            let mut f = tree::Frontier::new();
            for l in &self.0[a..b] {
                f.push(*l, |_, _, _| {}).map_err(|_| ())?;
            }
            Ok(f.root())
        }
    }
    let path = tree::consistency_proof(&Leaves(leaves.clone()), 3, 7).unwrap();
    let doc = serde_json::json!({
        "first": 3, "second": 7, "first_root": hex::encode(r3), "second_root": hex::encode(r7),
        "consistency_path": path.iter().map(hex::encode).collect::<Vec<_>>(),
    });
    let report = verify_proof(doc.to_string().as_bytes(), p, None, None).unwrap();
    assert_eq!(report.kind, ProofKind::Consistency);
    assert!(report.intact(), "{report:?}");
    for (field, value) in [
        ("second_root", serde_json::Value::from(hex::encode(root(6)))),
        ("first", 2.into()),
        ("first_root", hex::encode(root(2)).into()),
    ] {
        let mut bad = doc.clone();
        bad[field] = value;
        let report = verify_proof(bad.to_string().as_bytes(), p, None, None).unwrap();
        assert!(!report.intact(), "{field}");
    }
}
