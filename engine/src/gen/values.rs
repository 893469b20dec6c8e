//! The type-specific part of an event: symbol, amount, currency, exchange, and the old
//! and new values, drawn as `gen_events.py` draws them.

use rand::RngCore;
use rand_chacha::ChaCha8Rng;

use super::events::Draft;
use super::json::{Num, Val};
use super::sample::{chance, choose, lognormal, pick_cumulative, uniform, uuid_v4};
use super::tables::Kind;
use super::universe::Universe;

/// The fields of `old_values` or `new_values`, in order (empty `old`: no old values).
pub(super) type Fields = Vec<(&'static str, Val)>;

/// Where one event's type-specific values go.
pub(super) struct Values<'a> {
    pub rng: &'a mut ChaCha8Rng,
    pub d: &'a mut Draft,
    pub old: &'a mut Fields,
    pub new: &'a mut Fields,
}

/// What a trading event is about.
struct Trade {
    price: Num,
    qty: Num,
    amount: Num,
    side: Val,
}

/// A price within ±3% of `reference`: cents above 1, micro-units below.
fn price(rng: &mut ChaCha8Rng, reference: f64) -> Num {
    let p = reference * uniform(rng, 0.97, 1.03);
    Num::round(p, if p >= 1.0 { 2 } else { 6 })
}

/// A quantity worth a log-normal notional (median about 1,100, long tail).
fn qty(rng: &mut ChaCha8Rng, reference: f64) -> Num {
    let q = lognormal(rng, 7.0, 1.4) / reference;
    if q < 100.0 {
        Num::round(q, 4)
    } else {
        Num::int(q)
    }
}

fn str_of(rng: &mut ChaCha8Rng, items: &[&'static str]) -> Val {
    Val::Str(choose(rng, items))
}

impl Values<'_> {
    /// Fills the type-specific fields of the draft and the old and new values.
    pub(super) fn draw(&mut self, universe: &Universe, kind: Kind) {
        match kind {
            Kind::OrderCreated | Kind::OrderUpdated | Kind::OrderCancelled => {
                let trade = self.trade(universe);
                self.order(kind, &trade);
            }
            Kind::TradeExecuted | Kind::PositionUpdated => {
                let trade = self.trade(universe);
                self.fill(kind, &trade);
            }
            Kind::BalanceUpdated | Kind::WithdrawalRequested | Kind::DepositConfirmed => {
                self.money(kind);
            }
            Kind::UserLogin | Kind::UserLogout | Kind::ApiKeyCreated | Kind::ComplianceFlagged => {
                self.access(kind);
            }
        }
    }

    /// Draws a symbol, price, quantity and side, and sets the trading fields.
    fn trade(&mut self, universe: &Universe) -> Trade {
        let rng = &mut *self.rng;
        let s = pick_cumulative(rng, &universe.symbol_cum);
        let symbol = &universe.symbols[s];
        let (price, qty) = (price(rng, symbol.ref_price), qty(rng, symbol.ref_price));
        let amount = Num::round(price.get() * qty.get(), 2);
        let side = Val::Str(if chance(rng, 0.52) { "buy" } else { "sell" });
        (self.d.symbol, self.d.amount) = (Some(s), Some(amount));
        (self.d.currency, self.d.exchange) = (Some(symbol.currency), Some(symbol.exchange));
        Trade {
            price,
            qty,
            amount,
            side,
        }
    }

    fn order(&mut self, kind: Kind, t: &Trade) {
        let (rng, old, new) = (&mut *self.rng, &mut *self.old, &mut *self.new);
        let (price_v, qty_v) = (Val::Num(t.price), Val::Num(t.qty));
        match kind {
            Kind::OrderCreated => {
                new.push(("side", t.side));
                new.push((
                    "type",
                    str_of(rng, &["limit", "limit", "market", "stop_limit"]),
                ));
                new.extend([
                    ("qty", qty_v),
                    ("price", price_v),
                    ("status", Val::Str("open")),
                ]);
                new.push(("time_in_force", str_of(rng, &["GTC", "IOC", "DAY"])));
            }
            Kind::OrderUpdated => {
                old.extend([
                    ("price", price_v),
                    ("qty", qty_v),
                    ("status", Val::Str("open")),
                ]);
                new.push(("price", Val::Num(self::price(rng, t.price.get()))));
                new.push(("qty", qty_v));
                new.push(("status", str_of(rng, &["open", "partially_filled"])));
            }
            _ => {
                old.push(("status", Val::Str("open")));
                old.push(("filled_qty", Val::Num(Num::int(0.0))));
                new.push(("status", Val::Str("cancelled")));
                let reasons = ["user_request", "expired", "risk_limit", "self_trade"];
                new.push(("reason", str_of(rng, &reasons)));
            }
        }
    }

    fn fill(&mut self, kind: Kind, t: &Trade) {
        let (rng, old, new) = (&mut *self.rng, &mut *self.old, &mut *self.new);
        let (price_v, qty_v) = (Val::Num(t.price), Val::Num(t.qty));
        if kind == Kind::TradeExecuted {
            new.push(("order_id", Val::Uuid(uuid_v4(rng))));
            new.extend([("side", t.side), ("qty", qty_v), ("price", price_v)]);
            new.push(("fee", Val::Num(Num::round(t.amount.get() * 0.001, 4))));
            new.push(("liquidity", str_of(rng, &["maker", "taker"])));
        } else {
            let pnl = |rng: &mut ChaCha8Rng| Val::Num(Num::round(uniform(rng, -500.0, 500.0), 2));
            old.extend([
                ("qty", qty_v),
                ("avg_price", price_v),
                ("unrealized_pnl", pnl(rng)),
            ]);
            let new_qty = Num::round(t.qty.get() * uniform(rng, 0.5, 1.5), 4);
            new.push(("qty", Val::Num(new_qty)));
            new.push(("avg_price", Val::Num(self::price(rng, t.price.get()))));
            new.push(("unrealized_pnl", pnl(rng)));
        }
    }

    /// Balances and transfers: an amount in a currency, no symbol.
    fn money(&mut self, kind: Kind) {
        let (rng, old, new) = (&mut *self.rng, &mut *self.old, &mut *self.new);
        if kind == Kind::BalanceUpdated {
            let currency = choose(rng, &["USD", "USD", "USDT", "EUR", "BTC"]);
            let available = Num::round(lognormal(rng, 8.0, 1.5), 2);
            let amount = Num::round(uniform(rng, -0.3, 0.3) * available.get(), 2);
            (self.d.currency, self.d.amount) = (Some(currency), Some(amount));
            let locked = Val::Num(Num::round(available.get() * 0.1, 2));
            old.extend([("available", Val::Num(available)), ("locked", locked)]);
            let after = Num::round(available.get() + amount.get(), 2);
            new.extend([("available", Val::Num(after)), ("locked", locked)]);
            return;
        }
        let currency = choose(rng, &["USD", "USDT", "BTC", "ETH"]);
        let amount = Num::round(lognormal(rng, 7.5, 1.2), 2);
        (self.d.currency, self.d.amount) = (Some(currency), Some(amount));
        if kind == Kind::WithdrawalRequested {
            new.extend([("asset", Val::Str(currency)), ("amount", Val::Num(amount))]);
            let bits = rng.next_u64();
            new.push((
                "destination",
                Val::Hex {
                    prefix: "****",
                    bits,
                    bytes: 3,
                },
            ));
            new.push(("network", str_of(rng, &["wire", "sepa", "erc20", "btc"])));
        } else {
            old.push(("status", Val::Str("pending")));
            old.push(("confirmations", Val::Num(Num::int(0.0))));
            new.push(("status", Val::Str("confirmed")));
            let confirmations = Num::int(choose(rng, &[1.0, 3.0, 6.0, 12.0]));
            new.push(("confirmations", Val::Num(confirmations)));
        }
    }

    /// Sessions, API keys and compliance checks.
    fn access(&mut self, kind: Kind) {
        let (rng, old, new) = (&mut *self.rng, &mut *self.old, &mut *self.new);
        match kind {
            Kind::UserLogin => {
                let methods = ["password", "password+totp", "sso", "api_key"];
                new.push(("method", str_of(rng, &methods)));
                new.push(("mfa", Val::Bool(chance(rng, 0.7))));
                let success = chance(rng, 0.96);
                self.d.login_failed = !success;
                new.push(("success", Val::Bool(success)));
            }
            Kind::UserLogout => {
                new.push(("reason", str_of(rng, &["user", "timeout", "token_revoked"])));
            }
            Kind::ApiKeyCreated => {
                let bits = rng.next_u64();
                new.push((
                    "key_id",
                    Val::Hex {
                        prefix: "ak_",
                        bits,
                        bytes: 8,
                    },
                ));
                let permissions: [&'static [&'static str]; 3] = [
                    &["read"],
                    &["read", "trade"],
                    &["read", "trade", "withdraw"],
                ];
                new.push(("permissions", Val::List(choose(rng, &permissions))));
                new.push(("ip_whitelist", Val::Bool(chance(rng, 0.4))));
            }
            _ => {
                old.push(("compliance_status", Val::Str("approved")));
                new.push(("compliance_status", Val::Str("flagged")));
                new.push((
                    "rule",
                    str_of(rng, &["AML-001", "AML-007", "KYC-003", "VEL-002"]),
                ));
                new.push(("score", Val::Num(Num::round(uniform(rng, 60.0, 99.0), 1))));
            }
        }
    }
}
