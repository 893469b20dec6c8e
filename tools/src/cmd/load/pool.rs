//! [`Pool`]: request bodies generated before the clock starts, so that the load
//! generator spends its time sending, not generating; and the users queries ask for.

use bytes::Bytes;
use sealog_engine::gen::{GenConfig, Generator};

/// Bodies to cycle through, and query parameters.
#[derive(Debug)]
pub struct Pool {
    /// One JSON event each (batch 1), or `batch` NDJSON lines each.
    pub bodies: Vec<Bytes>,
    /// Events in each body.
    pub batch: usize,
    /// User ids of the generator's universe, most active first.
    pub users: Vec<String>,
    /// Mean size of one event's JSON, in bytes.
    pub event_bytes_mean: f64,
}

impl Pool {
    /// `events` realistic events (at least one body's worth) from stream `seed`, cut
    /// into bodies of `batch`.
    pub fn generate(events: usize, batch: usize, seed: u64, with_text: bool) -> Pool {
        let batch = batch.max(1);
        let bodies_n = (events / batch).max(1);
        let mut gen = Generator::new(GenConfig {
            seed,
            count: (bodies_n * batch) as u64,
            with_text,
            ..GenConfig::default()
        });
        let users = gen.universe().user_ids().map(str::to_owned).collect();
        let mut bodies = Vec::with_capacity(bodies_n);
        let mut json_bytes = 0usize;
        let mut body = Vec::new();
        for _ in 0..bodies_n {
            body.clear();
            for _ in 0..batch {
                let before = body.len();
                if gen.write_json_into(&mut body).is_none() {
                    break;
                }
                json_bytes += body.len() - before;
                if batch > 1 {
                    body.push(b'\n');
                }
            }
            bodies.push(Bytes::copy_from_slice(&body));
        }
        Pool {
            event_bytes_mean: json_bytes as f64 / (bodies_n * batch) as f64,
            bodies,
            batch,
            users,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn single_events_are_json_objects() {
        let pool = Pool::generate(5, 1, 42, false);
        assert_eq!(pool.bodies.len(), 5);
        for body in &pool.bodies {
            let v: serde_json::Value = serde_json::from_slice(body).unwrap();
            assert!(v.get("event_type").is_some() && v.get("id").is_none());
        }
        assert!(pool.event_bytes_mean > 100.0);
        assert_eq!(pool.users.len(), sealog_engine::gen::USERS);
    }

    #[test]
    fn batches_are_ndjson_of_batch_events() {
        let pool = Pool::generate(25, 10, 42, true);
        assert_eq!(pool.bodies.len(), 2);
        for body in &pool.bodies {
            let text = std::str::from_utf8(body).unwrap();
            assert!(text.ends_with('\n'));
            let lines: Vec<&str> = text.lines().collect();
            assert_eq!(lines.len(), 10);
            for line in lines {
                let v: serde_json::Value = serde_json::from_str(line).unwrap();
                assert!(v.get("event_description").is_some());
            }
        }
        // Fewer events than one batch still give one full body.
        assert_eq!(
            Pool::generate(3, 10, 1, false).bodies[0]
                .iter()
                .filter(|&&b| b == b'\n')
                .count(),
            10
        );
    }
}
