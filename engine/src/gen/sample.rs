//! Sampling on a seeded ChaCha8 stream: uniforms, normal and log-normal variates,
//! uniform and weighted choices. No global RNG anywhere.

use rand::{Rng, RngCore};
use rand_chacha::ChaCha8Rng;

/// A uniform draw in `[0, 1)` with 53 random bits.
pub(super) fn unit(rng: &mut ChaCha8Rng) -> f64 {
    (rng.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
}

/// A uniform draw in `[lo, hi)`.
pub(super) fn uniform(rng: &mut ChaCha8Rng, lo: f64, hi: f64) -> f64 {
    lo + (hi - lo) * unit(rng)
}

/// True with probability `p`.
pub(super) fn chance(rng: &mut ChaCha8Rng, p: f64) -> bool {
    unit(rng) < p
}

/// A standard normal variate (Box–Muller; |z| stays below 8.6, so every value the
/// generator derives from one is finite and small).
pub(super) fn normal(rng: &mut ChaCha8Rng) -> f64 {
    let u1 = 1.0 - unit(rng); // (0, 1]: ln is finite
    let u2 = unit(rng);
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

/// `exp(mu + sigma * z)`, Python's `lognormvariate(mu, sigma)`.
pub(super) fn lognormal(rng: &mut ChaCha8Rng, mu: f64, sigma: f64) -> f64 {
    (mu + sigma * normal(rng)).exp()
}

/// An exponential variate with the given mean.
pub(super) fn exponential(rng: &mut ChaCha8Rng, mean: f64) -> f64 {
    -(1.0 - unit(rng)).ln() * mean
}

/// A uniformly chosen element.
pub(super) fn choose<T: Copy>(rng: &mut ChaCha8Rng, items: &[T]) -> T {
    items[rng.random_range(0..items.len())]
}

/// An index drawn with the given integer weights (a zero weight is never drawn).
pub(super) fn weighted(rng: &mut ChaCha8Rng, weights: impl Iterator<Item = u32> + Clone) -> usize {
    let total: u32 = weights.clone().sum();
    let mut x = rng.random_range(0..total);
    let mut last = 0;
    for (i, w) in weights.enumerate() {
        if x < w {
            return i;
        }
        x -= w;
        last = i;
    }
    last // not reached: x < total
}

/// Cumulative sums of `weights`, for [`pick_cumulative`].
pub(super) fn cumulative(weights: impl Iterator<Item = f64>) -> Vec<f64> {
    weights
        .scan(0.0, |sum, w| {
            *sum += w;
            Some(*sum)
        })
        .collect()
}

/// An index drawn with the weights whose cumulative sums are `cum` (non-empty).
pub(super) fn pick_cumulative(rng: &mut ChaCha8Rng, cum: &[f64]) -> usize {
    let x = unit(rng) * cum[cum.len() - 1];
    cum.partition_point(|&c| c <= x).min(cum.len() - 1)
}

/// Zipf-like weights `1 / (i + 1)^s` of `n` ranks, as cumulative sums.
pub(super) fn zipf(n: usize, s: f64) -> Vec<f64> {
    cumulative((0..n).map(|i| 1.0 / ((i + 1) as f64).powf(s)))
}

/// The bytes of a random (version 4) UUID.
pub(super) fn uuid_v4(rng: &mut ChaCha8Rng) -> [u8; 16] {
    uuid::Builder::from_random_bytes(rng.random())
        .into_uuid()
        .into_bytes()
}
