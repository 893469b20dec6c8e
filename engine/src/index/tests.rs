use super::*;
use crate::storage::{FileStorage, Storage};
use crate::types::SegmentId;

fn rec(offset: u32, created: i64, seq: u64, id: u8) -> MemRec {
    MemRec {
        offset,
        len: 100,
        created_at_us: created,
        seq: Seq(seq),
        id: [id; 16],
        hash: [id; 32],
    }
}

fn sample() -> MemIndex {
    let mut m = MemIndex::new(Lsn(101));
    // Two tenants interleaved; the times are non-decreasing with repeats.
    let rows = [
        ("b", 5, 10),
        ("a", 1, 10),
        ("b", 6, 20),
        ("a", 2, 20),
        ("a", 3, 20),
        ("c", 1, 40),
    ];
    for (i, (t, seq, created)) in rows.iter().enumerate() {
        m.push(t, &rec(64 + 100 * i as u32, *created, *seq, 200 - i as u8))
            .unwrap();
    }
    m
}

fn check(ix: &dyn IndexLookup) {
    assert_eq!(ix.first_lsn(), Lsn(101));
    assert_eq!(ix.count(), 6);
    assert_eq!(
        ix.rec(2),
        Some(RecLoc {
            offset: 264,
            len: 100,
            created_at_us: 20
        })
    );
    assert_eq!(ix.rec(6), None);
    assert_eq!(ix.find_id(&[197; 16]), Some(3));
    assert_eq!(ix.find_id(&[1; 16]), None);
    assert_eq!(ix.find_seq("a", Seq(3)), Some(4));
    assert_eq!(ix.find_seq("a", Seq(4)), None);
    assert_eq!(ix.find_seq("b", Seq(4)), None);
    assert_eq!(ix.find_seq("zz", Seq(1)), None);
    assert_eq!(ix.lower_bound_time(i64::MIN), 0);
    assert_eq!(ix.lower_bound_time(20), 2);
    assert_eq!(ix.lower_bound_time(21), 5);
    assert_eq!(ix.lower_bound_time(41), 6);
    assert_eq!(ix.time_range(), Some((10, 40)));
    let a = ix.tenant_run("a").unwrap();
    assert_eq!(
        (a.first_seq, a.count, a.last_hash, a.last_created_us),
        (Seq(1), 3, [196; 32], 20)
    );
    assert_eq!(ix.tenant_rec("a", 1), Some(3));
    assert_eq!(ix.tenant_rec("a", 3), None);
    let mut names: Vec<String> = ix.tenant_runs().into_iter().map(|r| r.tenant).collect();
    names.sort();
    assert_eq!(names, ["a", "b", "c"]);
}

#[test]
fn mem_index_answers_every_look_up() {
    check(&sample());
}

#[test]
fn index_file_answers_like_the_mem_index() {
    let dir = tempfile::tempdir().unwrap();
    let (disk, wal) = (FileStorage, dir.path());
    let m = sample();
    write_index_file(&disk, wal, SegmentId(3), 4096, &[7; 32], &m).unwrap();
    let mapped = load_index_file(&disk, wal, SegmentId(3), 4096, &[7; 32])
        .unwrap()
        .unwrap();
    check(mapped.as_ref());
    // Stale: another segment length or digest.
    assert!(load_index_file(&disk, wal, SegmentId(3), 4097, &[7; 32])
        .unwrap()
        .is_none());
    assert!(load_index_file(&disk, wal, SegmentId(3), 4096, &[8; 32])
        .unwrap()
        .is_none());
}

#[test]
fn a_damaged_index_file_is_refused_never_trusted() {
    let dir = tempfile::tempdir().unwrap();
    let (disk, wal) = (FileStorage, dir.path());
    write_index_file(&disk, wal, SegmentId(1), 4096, &[0; 32], &sample()).unwrap();
    let path = crate::segment::idx_path(wal, SegmentId(1));
    let len = disk.open_ro(&path).unwrap().size().unwrap();
    for byte in (0..len).step_by(7) {
        flip_bit(&path, byte, 3);
        assert!(
            load_index_file(&disk, wal, SegmentId(1), 4096, &[0; 32])
                .unwrap()
                .is_none(),
            "byte {byte}"
        );
        flip_bit(&path, byte, 3);
    }
    assert!(load_index_file(&disk, wal, SegmentId(1), 4096, &[0; 32])
        .unwrap()
        .is_some());
}

#[test]
fn seq_gaps_and_backwards_time_are_refused() {
    let mut m = MemIndex::new(Lsn(1));
    m.push("a", &rec(64, 10, 1, 1)).unwrap();
    assert_eq!(m.push("a", &rec(164, 10, 3, 2)), Err(PushFault::SeqGap));
    assert_eq!(
        m.push("a", &rec(164, 9, 2, 2)),
        Err(PushFault::TimeBackwards)
    );
    assert_eq!(m.len(), 1);
}

#[test]
fn damage_placeholders_keep_lsns_and_pad_runs() {
    let mut m = MemIndex::new(Lsn(1));
    m.push("a", &rec(64, 10, 1, 1)).unwrap();
    m.push_damaged(164, 2);
    m.push_after_damage("a", &rec(500, 11, 4, 9), 2).unwrap();
    assert_eq!(m.len(), 4);
    assert_eq!(m.rec(1).map(|r| r.len), Some(0));
    assert_eq!(m.find_seq("a", Seq(2)), None);
    assert_eq!(m.find_seq("a", Seq(4)), Some(3));
    assert!(m.has_damage());
    assert_eq!(
        m.push_after_damage("a", &rec(600, 12, 9, 10), 2),
        Err(PushFault::SeqGap)
    );
}

fn flip_bit(path: &std::path::Path, byte: u64, bit: u8) {
    let mut b = std::fs::read(path).unwrap();
    b[byte as usize] ^= 1 << bit;
    std::fs::write(path, b).unwrap();
}
