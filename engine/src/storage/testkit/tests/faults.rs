//! Tests of fault injection and corruption.

use std::io;

use super::{disk_with, p, read_all, DIR, SEG};
use crate::storage::testkit::{Fault, FaultyStorage, OpKind};
use crate::storage::Storage;

#[test]
fn eio_and_enospc_change_nothing() {
    let (disk, f) = disk_with(7, b"abc");
    disk.fail_op(0, Fault::Eio);
    let err = f.write_all_at(b"zzz", 0).unwrap_err();
    assert_eq!(err.raw_os_error(), Some(libc::EIO));
    disk.fail_op(0, Fault::Enospc);
    let err = f.allocate(100).unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::StorageFull);
    disk.fail_op(0, Fault::Enospc);
    assert!(disk.create_new(p("data/x")).is_err());
    assert!(!disk.exists(p("data/x")).unwrap());
    assert_eq!(read_all(&disk, SEG), b"abc");
    f.write_all_at(b"zzz", 0).unwrap(); // one-shot: the next one works
}

#[test]
fn short_write_stores_a_strict_prefix() {
    let mut lengths = std::collections::BTreeSet::new();
    for seed in 0..50 {
        let (disk, f) = disk_with(seed, b"");
        disk.fail_op(0, Fault::ShortWrite);
        assert!(f.write_all_at(&[9; 100], 0).is_err());
        let len = f.size().unwrap();
        assert!(len < 100, "seed {seed}");
        assert!(read_all(&disk, SEG).iter().all(|&b| b == 9));
        lengths.insert(len);
    }
    assert!(lengths.len() > 10, "prefix lengths vary: {lengths:?}");
}

#[test]
fn sync_fail_may_drop_bytes_a_later_sync_does_not_save() {
    let mut dropped = 0;
    for seed in 0..100 {
        let (disk, f) = disk_with(seed, b"aaaa");
        f.write_all_at(b"bbbb", 0).unwrap();
        disk.fail_matching(OpKind::Sync, ".seg", Fault::SyncFail);
        assert_eq!(f.sync_data().unwrap_err().raw_os_error(), Some(libc::EIO));
        assert_eq!(read_all(&disk, SEG), b"bbbb", "reads still see the write");
        f.sync_data().unwrap(); // Linux reports the error once; this "succeeds"
        disk.crash();
        match &read_all(&disk, SEG)[..] {
            b"aaaa" => dropped += 1,
            b"bbbb" => {}
            other => panic!("seed {seed}: {other:?}"),
        }
    }
    assert!(
        (20..80).contains(&dropped),
        "dropped in {dropped} of 100 runs"
    );
}

#[test]
fn fail_matching_hits_only_matching_paths_once() {
    let (disk, f) = disk_with(8, b"x");
    let other = disk.create_new(p("data/meta.json")).unwrap();
    disk.fail_matching(OpKind::Sync, ".seg", Fault::Eio);
    other.sync_data().unwrap();
    f.write_all_at(b"y", 0).unwrap();
    assert!(f.sync_data().is_err());
    f.sync_data().unwrap();
    disk.fail_matching(OpKind::Rename, "tmp", Fault::Eio);
    assert!(disk
        .rename(p("data/meta.json"), p("data/meta.tmp"))
        .is_err());
    disk.fail_matching(OpKind::Any, "meta", Fault::Enospc);
    assert!(other.set_len(3).is_err());
    disk.fail_matching(OpKind::Write, "meta", Fault::Eio);
    disk.clear_faults();
    other.write_all_at(b"ok", 0).unwrap();
}

/// A small workload; returns the index (0-based, among its mutating calls) of the
/// first call that failed.
fn workload(disk: &FaultyStorage) -> Option<usize> {
    let mut results: Vec<io::Result<()>> = Vec::new();
    disk.create_dir_all(p(DIR)).unwrap();
    match disk.create_new(p("data/a")) {
        Ok(f) => {
            results.push(Ok(()));
            results.push(f.allocate(4096));
            results.push(f.write_all_at(b"record", 0));
            results.push(f.sync_data());
            results.push(disk.sync_dir(p(DIR)));
            results.push(f.set_len(6));
            results.push(disk.rename(p("data/a"), p("data/b")));
            results.push(disk.remove(p("data/b")));
        }
        Err(e) => results.push(Err(e)),
    }
    results.iter().position(|r| r.is_err())
}

#[test]
fn fail_op_fails_the_kth_operation_for_every_k() {
    let dry = FaultyStorage::with_seed(9);
    assert_eq!(workload(&dry), None);
    let count = dry.ops();
    assert_eq!(count, 8);
    for k in 0..count {
        let disk = FaultyStorage::with_seed(9);
        disk.fail_op(k, Fault::Eio);
        assert_eq!(
            workload(&disk),
            Some(k as usize),
            "a failed operation counts too"
        );
    }
}

#[test]
fn flip_bit_and_corrupt_hit_durable_and_current_bytes() {
    let (disk, _f) = disk_with(10, &[0; 16]);
    disk.flip_bit(SEG, 3, 7).unwrap();
    disk.corrupt(SEG, 8, b"xy").unwrap();
    let mut want = vec![0u8; 16];
    want[3] = 0x80;
    want[8..10].copy_from_slice(b"xy");
    assert_eq!(disk.contents(SEG).unwrap(), want);
    disk.crash();
    assert_eq!(read_all(&disk, SEG), want);
    assert!(disk.flip_bit(SEG, 16, 0).is_err());
    assert!(disk.flip_bit(SEG, 0, 8).is_err());
    assert!(disk.corrupt(SEG, 15, b"ab").is_err());
}
