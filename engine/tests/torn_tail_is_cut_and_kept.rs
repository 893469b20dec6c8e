//! Power loss with unsynced bytes in the active segment: recovery cuts the torn tail at
//! a request boundary, saves the cut bytes aside, keeps every acknowledged event, and
//! the log verifies and takes new appends. Seeded (`SEALOG_SEED`).
#![allow(clippy::unwrap_used)]

mod common;

use common::{faulty_config, open_faulty, tenant, Acked};
use rand::{Rng, SeedableRng};
use sealog_engine::storage::testkit::{self, Fault, OpKind};
use sealog_engine::Durability;

#[test]
fn unsynced_appends_are_cut_whole_at_power_loss() {
    let (seed, _) = testkit::seeded();
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let mut cuts = 0;
    for round in 0..40 {
        let disk = testkit::FaultyStorage::with_seed(seed.wrapping_add(round));
        let mut acked = Acked::default();
        let (engine, _) = open_faulty(&disk, faulty_config()).unwrap();
        let ts = [tenant("a"), tenant("b")];
        for r in 0..rng.random_range(1..30) {
            acked
                .append(
                    &engine,
                    &ts[r % 2],
                    &format!("s{round}.{r}"),
                    rng.random_range(1..8),
                )
                .unwrap();
        }
        drop(engine);
        // Now appends that are acknowledged without fdatasync (durability none): a
        // power loss may keep, tear or drop them.
        let mut config = faulty_config();
        config.durability = Durability::None;
        let (engine, _) = open_faulty(&disk, config).unwrap();
        for r in 0..rng.random_range(1..20) {
            let mut unsynced = Acked::default();
            unsynced
                .append(
                    &engine,
                    &ts[r % 2],
                    &format!("u{round}.{r}"),
                    rng.random_range(1..8),
                )
                .unwrap();
        }
        disk.crash();
        drop(engine);
        let (engine, report) = open_faulty(&disk, faulty_config()).unwrap();
        assert!(
            report.damage.is_empty(),
            "seed {seed} round {round}: {:?}",
            report.damage
        );
        for cut in &report.torn {
            assert!(
                disk.contents(&cut.saved_to).unwrap().len() as u64 == cut.bytes,
                "cut bytes are kept"
            );
            cuts += 1;
        }
        acked.check(&engine, &format!("seed {seed} round {round}"));
        // The log goes on.
        acked
            .append(&engine, &ts[0], &format!("after{round}"), 3)
            .unwrap();
        acked.check(&engine, &format!("seed {seed} round {round}, after"));
    }
    eprintln!("{cuts} torn tails cut");
}

#[test]
fn a_batch_whose_fsync_failed_is_never_half_visible_after_power_loss() {
    let (seed, _) = testkit::seeded();
    for round in 0..40u64 {
        let disk = testkit::FaultyStorage::with_seed(seed.wrapping_add(round));
        let mut acked = Acked::default();
        let (engine, _) = open_faulty(&disk, faulty_config()).unwrap();
        let t = tenant("solo");
        for r in 0..(round % 7 + 1) {
            acked
                .append(&engine, &t, &format!("ok{round}.{r}"), 5)
                .unwrap();
        }
        disk.fail_matching(OpKind::Sync, ".seg", Fault::SyncFail);
        let failed = Acked::default().append(&engine, &t, &format!("bad{round}"), 9);
        assert!(
            failed.is_err(),
            "an append whose fsync failed must not be acknowledged"
        );
        disk.crash();
        drop(engine);
        let (engine, _) = open_faulty(&disk, faulty_config()).unwrap();
        acked.check(&engine, &format!("seed {seed} round {round}"));
    }
}
