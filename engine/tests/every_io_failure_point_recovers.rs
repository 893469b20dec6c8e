//! For every mutating I/O operation of a scenario (appends across segment rolls), fail
//! exactly that one, then lose power: the log always reopens, keeps every acknowledged
//! event and verifies.
#![allow(clippy::unwrap_used)]

mod common;

use common::{faulty_config, open_faulty, tenant, Acked};
use sealog_engine::storage::testkit::{self, Fault};

fn run(disk: &testkit::FaultyStorage, fail_at: Option<(u64, Fault)>) -> Acked {
    let mut acked = Acked::default();
    if let Some((k, fault)) = fail_at {
        disk.fail_op(k, fault);
    }
    let Ok((engine, _)) = open_faulty(disk, faulty_config()) else {
        return acked;
    };
    let ts = [tenant("x"), tenant("y"), tenant("z")];
    for r in 0..60usize {
        if acked
            .append(&engine, &ts[r % 3], &format!("r{r}"), (r % 5 + 1) as u64)
            .is_err()
        {
            break;
        }
    }
    drop(engine);
    acked
}

#[test]
fn failing_any_single_operation_loses_nothing_acknowledged() {
    let (seed, _) = testkit::seeded();
    let dry = testkit::FaultyStorage::with_seed(seed);
    run(&dry, None);
    let total = dry.ops();
    assert!(total > 50, "the scenario rolls segments: {total} ops");
    for k in 0..total {
        for fault in [Fault::Eio, Fault::ShortWrite, Fault::SyncFail] {
            let disk = testkit::FaultyStorage::with_seed(seed ^ k);
            let acked = run(&disk, Some((k, fault)));
            disk.crash();
            disk.clear_faults();
            let (engine, _) = open_faulty(&disk, faulty_config()).unwrap_or_else(|e| {
                panic!("seed {seed}: op {k} failing with {fault:?}: reopen failed: {e}")
            });
            acked.check(
                &engine,
                &format!("seed {seed}: op {k} failing with {fault:?}"),
            );
        }
    }
}
