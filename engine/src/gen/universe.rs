//! The universe every event stream shares: 1,000 users (each with a tenant, IP
//! addresses and a usual user agent) and 200 symbols, drawn from `universe_seed` alone.

use std::collections::BTreeSet;

use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::sample::{chance, choose, cumulative, pick_cumulative, uniform, uuid_v4, zipf};
use super::tables::{CRYPTO, CRYPTO_EXCHANGES, CRYPTO_QUOTES, EQUITY_EXCHANGES, USER_AGENTS};

/// Users in a universe; a few are hot (Zipf-like, exponent 0.8).
pub const USERS: usize = 1000;
/// Symbols in a universe: 40 crypto pairs and 160 equities, popularity Zipf-like.
pub const SYMBOLS: usize = 200;
/// Tenants `tenant_01..tenant_20`; tenant i+1 has weight 1/(i+1).
pub static TENANTS: [&str; 20] = [
    "tenant_01",
    "tenant_02",
    "tenant_03",
    "tenant_04",
    "tenant_05",
    "tenant_06",
    "tenant_07",
    "tenant_08",
    "tenant_09",
    "tenant_10",
    "tenant_11",
    "tenant_12",
    "tenant_13",
    "tenant_14",
    "tenant_15",
    "tenant_16",
    "tenant_17",
    "tenant_18",
    "tenant_19",
    "tenant_20",
];

/// One user.
#[derive(Debug, Clone)]
pub(super) struct User {
    /// A UUIDv4, hyphenated.
    pub id: String,
    pub tenant: &'static str,
    /// 1 to 3 addresses from the documentation ranges; about 12% are IPv6.
    pub ips: Vec<String>,
    /// Index into `USER_AGENTS` of the user's usual client.
    pub user_agent: usize,
}

/// One tradable symbol.
#[derive(Debug, Clone)]
pub(super) struct Symbol {
    pub name: String,
    pub exchange: &'static str,
    pub currency: &'static str,
    /// Prices are drawn within ±3% of this.
    pub ref_price: f64,
}

/// Users, symbols and tenants shared by every stream made with the same universe seed, so
/// that several generators feeding one server give meaningful query parameters.
#[derive(Clone)]
pub struct Universe {
    pub(super) users: Vec<User>,
    pub(super) user_cum: Vec<f64>,
    pub(super) symbols: Vec<Symbol>,
    pub(super) symbol_cum: Vec<f64>,
}

impl std::fmt::Debug for Universe {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (users, symbols) = (self.users.len(), self.symbols.len());
        f.debug_struct("Universe")
            .field("users", &users)
            .field("symbols", &symbols)
            .finish()
    }
}

impl Universe {
    /// The universe of `seed`.
    pub fn new(seed: u64) -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(seed.wrapping_mul(7919).wrapping_add(17));
        let tenant_cum = zipf(TENANTS.len(), 1.0);
        let ua_cum = cumulative(USER_AGENTS.iter().map(|&(_, w)| f64::from(w)));
        let users = (0..USERS)
            .map(|_| {
                let id = uuid::Uuid::from_bytes(uuid_v4(&mut rng))
                    .hyphenated()
                    .to_string();
                let tenant = TENANTS[pick_cumulative(&mut rng, &tenant_cum)];
                let ips = (0..choose(&mut rng, &[1, 1, 2, 3]))
                    .map(|_| ip(&mut rng))
                    .collect();
                let user_agent = pick_cumulative(&mut rng, &ua_cum);
                User {
                    id,
                    tenant,
                    ips,
                    user_agent,
                }
            })
            .collect();
        let symbols = symbols(&mut rng);
        Universe {
            users,
            user_cum: zipf(USERS, 0.8),
            symbols,
            symbol_cum: zipf(SYMBOLS, 1.0),
        }
    }

    /// Every user id, most active first.
    pub fn user_ids(&self) -> impl Iterator<Item = &str> {
        self.users.iter().map(|u| u.id.as_str())
    }

    /// Every symbol, most traded first.
    pub fn symbols(&self) -> impl Iterator<Item = &str> {
        self.symbols.iter().map(|s| s.name.as_str())
    }
}

/// An address from the documentation ranges (RFC 5737, RFC 3849).
fn ip(rng: &mut ChaCha8Rng) -> String {
    if chance(rng, 0.12) {
        let [a, b, c]: [u16; 3] = rng.random();
        format!("2001:db8:{a:x}:{b:x}::{c:x}")
    } else {
        let net = choose(rng, &["192.0.2", "198.51.100", "203.0.113"]);
        format!("{net}.{}", rng.random_range(1..=254))
    }
}

/// 40 crypto pairs, then distinct 2–4 letter equity tickers, shuffled so that crypto and
/// equities mix across the popularity ranks.
fn symbols(rng: &mut ChaCha8Rng) -> Vec<Symbol> {
    let mut symbols = Vec::with_capacity(SYMBOLS);
    for base in CRYPTO {
        for quote in CRYPTO_QUOTES {
            let exchange = choose(rng, &CRYPTO_EXCHANGES);
            let ref_price = uniform(rng, 0.05, 60000.0);
            symbols.push(Symbol {
                name: format!("{base}-{quote}"),
                exchange,
                currency: quote,
                ref_price,
            });
        }
    }
    let mut seen: BTreeSet<String> = symbols.iter().map(|s| s.name.clone()).collect();
    while symbols.len() < SYMBOLS {
        let len = choose(rng, &[2, 3, 3, 4, 4]);
        let name: String = (0..len)
            .map(|_| char::from(b'A' + rng.random_range(0..26u8)))
            .collect();
        if !seen.insert(name.clone()) {
            continue;
        }
        let (exchange, currency) = choose(rng, &EQUITY_EXCHANGES);
        let ref_price = uniform(rng, 2.0, 900.0);
        symbols.push(Symbol {
            name,
            exchange,
            currency,
            ref_price,
        });
    }
    symbols.shuffle(rng);
    symbols
}
