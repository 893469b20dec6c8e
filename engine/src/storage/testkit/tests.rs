//! Tests of the crash and fault model itself.

use std::io;
use std::path::Path;

use super::{seeded, FaultyStorage};
use crate::storage::{FileHandle, Storage};

mod faults;

const DIR: &str = "data";
const SEG: &str = "data/000001.seg";

fn p(s: &str) -> &Path {
    Path::new(s)
}

/// A disk with `data/` and a durable, synced `data/000001.seg` holding `synced`.
fn disk_with(seed: u64, synced: &[u8]) -> (FaultyStorage, FileHandle) {
    let disk = FaultyStorage::with_seed(seed);
    disk.create_dir_all(p(DIR)).unwrap();
    let f = disk.create_new(p(SEG)).unwrap();
    f.write_all_at(synced, 0).unwrap();
    f.sync_data().unwrap();
    disk.sync_dir(p(DIR)).unwrap();
    (disk, f)
}

fn read_all(disk: &FaultyStorage, path: &str) -> Vec<u8> {
    let f = disk.open_ro(p(path)).unwrap();
    let mut buf = vec![0; f.size().unwrap() as usize];
    f.read_exact_at(&mut buf, 0).unwrap();
    buf
}

#[test]
fn synced_data_survives_crash() {
    for seed in 0..50 {
        let (disk, f) = disk_with(seed, b"hello");
        f.write_all_at(b" world", 5).unwrap();
        f.sync_all().unwrap();
        disk.crash();
        assert_eq!(read_all(&disk, SEG), b"hello world", "seed {seed}");
    }
}

/// What a crash keeps of an unsynced 4 KiB write over 1 KiB of synced bytes, per seed.
fn crash_unsynced_write(seed: u64) -> Vec<u8> {
    let (disk, f) = disk_with(seed, &[1; 1024]);
    f.write_all_at(&[2; 4096], 512).unwrap();
    assert_eq!(read_all(&disk, SEG).len(), 4608);
    disk.crash();
    read_all(&disk, SEG)
}

#[test]
fn unsynced_write_is_lost_kept_torn_or_scattered() {
    let (mut lost, mut kept, mut torn, mut scattered) = (false, false, false, false);
    for seed in 0..200 {
        let after = crash_unsynced_write(seed);
        // Every byte is the old byte, the new byte, or a zero past the old end.
        for (i, &b) in after.iter().enumerate() {
            let old = if i < 1024 { 1 } else { 0 };
            assert!(b == old || b == 2, "seed {seed} byte {i} = {b}");
        }
        assert!(
            after[..512] == [1; 512],
            "seed {seed}: bytes outside the write changed"
        );
        let new_sectors: Vec<bool> = after[512..].chunks(512).map(|s| s[0] == 2).collect();
        let is_prefix = new_sectors.windows(2).all(|w| w[0] || !w[1]);
        match (after.len(), new_sectors.iter().filter(|&&n| n).count()) {
            (1024, 0) => lost = true,
            (4608, 8) => kept = true,
            _ if is_prefix => torn = true,
            _ => scattered = true,
        }
    }
    assert!(
        lost && kept && torn && scattered,
        "{lost} {kept} {torn} {scattered}"
    );
}

#[test]
fn create_needs_sync_dir_to_survive() {
    let disk = FaultyStorage::with_seed(1);
    disk.create_dir_all(p(DIR)).unwrap();
    let f = disk.create_new(p("data/a")).unwrap();
    f.write_all_at(b"content", 0).unwrap();
    f.sync_data().unwrap();
    assert!(disk.exists(p("data/a")).unwrap());
    disk.crash();
    assert!(
        !disk.exists(p("data/a")).unwrap(),
        "synced bytes, name never dir-synced"
    );
    assert!(disk.list(p(DIR)).unwrap().is_empty());

    let f = disk.create_new(p("data/b")).unwrap();
    f.write_all_at(b"content", 0).unwrap();
    f.sync_data().unwrap();
    disk.sync_dir(p(DIR)).unwrap();
    disk.crash();
    assert_eq!(disk.list(p(DIR)).unwrap(), ["b"]);
    assert_eq!(read_all(&disk, "data/b"), b"content");
}

#[test]
fn rename_and_remove_need_sync_dir() {
    let (disk, _f) = disk_with(3, b"x");
    disk.rename(p(SEG), p("data/renamed")).unwrap();
    assert_eq!(disk.list(p(DIR)).unwrap(), ["renamed"]);
    disk.crash();
    assert_eq!(disk.list(p(DIR)).unwrap(), ["000001.seg"], "rename undone");

    disk.rename(p(SEG), p("data/renamed")).unwrap();
    disk.sync_dir(p(DIR)).unwrap();
    disk.crash();
    assert_eq!(disk.list(p(DIR)).unwrap(), ["renamed"]);

    disk.remove(p("data/renamed")).unwrap();
    assert!(!disk.exists(p("data/renamed")).unwrap());
    disk.crash();
    assert!(disk.exists(p("data/renamed")).unwrap(), "remove undone");
    disk.remove(p("data/renamed")).unwrap();
    disk.sync_dir(p(DIR)).unwrap();
    disk.crash();
    assert!(disk.list(p(DIR)).unwrap().is_empty());
}

#[test]
fn sync_dir_covers_only_its_directory() {
    let disk = FaultyStorage::with_seed(4);
    disk.create_dir_all(p("data/sub")).unwrap();
    disk.create_new(p("data/a")).unwrap();
    disk.create_new(p("data/sub/b")).unwrap();
    disk.sync_dir(p("data/sub")).unwrap();
    disk.crash();
    assert!(
        disk.list(p(DIR)).unwrap().is_empty(),
        "subdirectories are not files"
    );
    assert_eq!(disk.list(p("data/sub")).unwrap(), ["b"]);
}

#[test]
fn crash_keep_all_keeps_everything_but_makes_nothing_durable() {
    let (disk, f) = disk_with(5, b"synced");
    let old = disk.create_new(p("data/old")).unwrap();
    old.write_all_at(b"old", 0).unwrap();
    old.sync_data().unwrap();
    disk.sync_dir(p(DIR)).unwrap();
    disk.remove(p("data/old")).unwrap();
    f.write_all_at(b"+unsynced", 6).unwrap();
    disk.create_new(p("data/new")).unwrap();
    disk.crash_keep_all();
    assert!(f.size().is_err() && old.size().is_err(), "handles die");
    assert_eq!(read_all(&disk, SEG), b"synced+unsynced");
    assert_eq!(disk.list(p(DIR)).unwrap(), ["000001.seg", "new"]);
    disk.crash();
    assert_eq!(disk.list(p(DIR)).unwrap(), ["000001.seg", "old"]);
    assert_eq!(
        read_all(&disk, "data/old"),
        b"old",
        "the removal was never dir-synced"
    );
}

#[test]
fn handles_die_after_crash() {
    let (disk, f) = disk_with(6, b"abc");
    let ro = disk.open_ro(p(SEG)).unwrap();
    disk.crash();
    let mut buf = [0; 1];
    assert!(f.size().is_err());
    assert!(f.read_exact_at(&mut buf, 0).is_err());
    assert!(f.write_all_at(b"x", 0).is_err());
    assert!(f.sync_data().is_err());
    assert!(f.sync_all().is_err());
    assert!(f.set_len(0).is_err());
    assert!(f.allocate(10).is_err());
    assert!(f.map().is_err());
    assert!(ro.read_exact_at(&mut buf, 0).is_err());
    let again = disk.open_rw(p(SEG)).unwrap();
    again.write_all_at(b"d", 3).unwrap();
    assert_eq!(&again.map().unwrap()[..], b"abcd");
}

/// Runs a fixed mix of synced and unsynced operations, crashes, and returns every file.
fn scenario(seed: u64) -> Vec<(String, Vec<u8>)> {
    let disk = FaultyStorage::with_seed(seed);
    disk.create_dir_all(p(DIR)).unwrap();
    for i in 0..4 {
        let name = format!("data/{i}.seg");
        let f = disk.create_new(p(&name)).unwrap();
        f.allocate(3000).unwrap();
        f.write_all_at(&[i as u8 + 1; 700], 100).unwrap();
        if i % 2 == 0 {
            f.sync_data().unwrap();
        }
        f.write_all_at(&[0xee; 1500], 600).unwrap();
    }
    disk.sync_dir(p(DIR)).unwrap();
    disk.crash();
    let names = disk.list(p(DIR)).unwrap();
    names
        .into_iter()
        .map(|n| (n.clone(), read_all(&disk, &format!("data/{n}"))))
        .collect()
}

#[test]
fn same_seed_same_ops_same_bytes() {
    for seed in 0..20 {
        assert_eq!(scenario(seed), scenario(seed), "seed {seed}");
    }
    let distinct: std::collections::BTreeSet<_> = (0..20).map(scenario).collect();
    assert!(distinct.len() > 10, "seeds matter");
}

#[test]
fn set_len_and_allocate_are_unsynced_changes() {
    let (disk, f) = disk_with(11, b"0123456789");
    f.allocate(4).unwrap(); // below the length: no change
    assert_eq!(f.size().unwrap(), 10);
    f.allocate(20).unwrap();
    assert_eq!(read_all(&disk, SEG)[10..], [0; 10]);
    f.set_len(5).unwrap();
    assert_eq!(read_all(&disk, SEG), b"01234");
    let mut after = std::collections::BTreeSet::new();
    for seed in 0..40 {
        let (disk, f) = disk_with(seed, b"0123456789");
        f.set_len(5).unwrap();
        disk.crash();
        after.insert(read_all(&disk, SEG));
    }
    let both: std::collections::BTreeSet<Vec<u8>> =
        [b"01234".to_vec(), b"0123456789".to_vec()].into();
    assert_eq!(after, both);
}

#[test]
fn namespace_errors_match_a_real_file_system() {
    let (disk, f) = disk_with(12, b"abc");
    let kind = |r: io::Result<FileHandle>| r.unwrap_err().kind();
    assert_eq!(kind(disk.create_new(p(SEG))), io::ErrorKind::AlreadyExists);
    assert_eq!(
        kind(disk.open_rw(p("data/missing"))),
        io::ErrorKind::NotFound
    );
    assert_eq!(kind(disk.create_new(p("nodir/x"))), io::ErrorKind::NotFound);
    assert!(disk.list(p("nodir")).is_err());
    assert!(
        !disk.exists(p(DIR)).unwrap(),
        "a directory is not a regular file"
    );
    let mut buf = [0; 4];
    assert_eq!(
        f.read_exact_at(&mut buf, 0).unwrap_err().kind(),
        io::ErrorKind::UnexpectedEof
    );
    let ro = disk.open_ro(p(SEG)).unwrap();
    assert_eq!(
        ro.write_all_at(b"x", 0).unwrap_err().raw_os_error(),
        Some(libc::EBADF)
    );
    ro.sync_data().unwrap();
    assert!(disk.remove(p("data/missing")).is_err());
}

#[test]
fn lock_is_exclusive_until_dropped_or_crash() {
    let disk = FaultyStorage::with_seed(13);
    disk.create_dir_all(p(DIR)).unwrap();
    let lock = p("data/LOCK");
    let guard = disk.lock(lock).unwrap();
    assert!(disk.exists(lock).unwrap(), "created like FileStorage does");
    assert_eq!(
        disk.lock(lock).unwrap_err().kind(),
        io::ErrorKind::WouldBlock
    );
    drop(guard);
    let stale = disk.lock(lock).unwrap();
    disk.crash_keep_all();
    let fresh = disk.lock(lock).unwrap();
    drop(stale); // must not release the lock the rebooted process holds
    assert_eq!(
        disk.lock(lock).unwrap_err().kind(),
        io::ErrorKind::WouldBlock
    );
    drop(fresh);
    disk.lock(lock).unwrap();
}

#[test]
fn writer_and_syncer_threads_share_one_file() {
    let (seed, disk) = seeded();
    assert_eq!(disk.seed(), seed);
    disk.create_dir_all(p(DIR)).unwrap();
    let f = disk.create_new(p(SEG)).unwrap();
    disk.sync_dir(p(DIR)).unwrap();
    let writer = {
        let f = f.clone();
        std::thread::spawn(move || {
            for i in 0..1000u64 {
                f.write_all_at(&i.to_le_bytes(), i * 8).unwrap();
            }
        })
    };
    for _ in 0..100 {
        f.sync_data().unwrap();
    }
    writer.join().unwrap();
    f.sync_data().unwrap();
    disk.clone().crash();
    assert_eq!(read_all(&disk, SEG).len(), 8000, "seed {seed}");
}
