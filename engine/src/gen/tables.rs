//! The fixed vocabulary of generated events: event types and their weights, user agents,
//! regions, tags, exchanges. Taken from `shared/data/gen_events.py`.

/// Which branch of value generation an event type takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    OrderCreated,
    OrderUpdated,
    OrderCancelled,
    TradeExecuted,
    PositionUpdated,
    BalanceUpdated,
    UserLogin,
    UserLogout,
    WithdrawalRequested,
    DepositConfirmed,
    ApiKeyCreated,
    ComplianceFlagged,
}

/// One event type: its relative frequency, the table it touches, its route template and
/// method, and the weights of severities low, medium, high, critical.
#[derive(Debug)]
pub(super) struct EventType {
    pub kind: Kind,
    pub name: &'static str,
    pub weight: u32,
    pub table: &'static str,
    pub endpoint: &'static str,
    pub method: &'static str,
    pub severity_weights: [u32; 4],
}

const fn et(
    kind: Kind,
    name: &'static str,
    weight: u32,
    table: &'static str,
    endpoint: &'static str,
    method: &'static str,
    severity_weights: [u32; 4],
) -> EventType {
    EventType {
        kind,
        name,
        weight,
        table,
        endpoint,
        method,
        severity_weights,
    }
}

/// The 12 event types; orders and trades dominate.
#[rustfmt::skip]
pub(super) static EVENT_TYPES: [EventType; 12] = [
    et(Kind::OrderCreated, "order.created", 22, "orders", "/api/v1/orders", "POST", [70, 24, 5, 1]),
    et(Kind::OrderUpdated, "order.updated", 8, "orders", "/api/v1/orders/{order_id}", "PATCH", [65, 28, 6, 1]),
    et(Kind::OrderCancelled, "order.cancelled", 10, "orders", "/api/v1/orders/{order_id}", "DELETE", [75, 20, 4, 1]),
    et(Kind::TradeExecuted, "trade.executed", 18, "trades", "/api/v1/trades", "POST", [55, 35, 8, 2]),
    et(Kind::PositionUpdated, "position.updated", 12, "positions", "/api/v1/positions/{position_id}", "PUT", [60, 30, 8, 2]),
    et(Kind::BalanceUpdated, "balance.updated", 9, "balances", "/api/v1/accounts/{account_id}/balances", "PUT", [60, 30, 8, 2]),
    et(Kind::UserLogin, "user.login", 8, "sessions", "/api/v1/auth/login", "POST", [80, 15, 4, 1]),
    et(Kind::UserLogout, "user.logout", 4, "sessions", "/api/v1/auth/logout", "POST", [95, 5, 0, 0]),
    et(Kind::WithdrawalRequested, "withdrawal.requested", 3, "withdrawals", "/api/v1/withdrawals", "POST", [20, 50, 25, 5]),
    et(Kind::DepositConfirmed, "deposit.confirmed", 3, "deposits", "/api/v1/deposits/{deposit_id}/confirm", "POST", [60, 35, 4, 1]),
    et(Kind::ApiKeyCreated, "api_key.created", 1, "api_keys", "/api/v1/api-keys", "POST", [30, 50, 15, 5]),
    et(Kind::ComplianceFlagged, "compliance.flagged", 2, "compliance_checks", "/api/v1/compliance/checks/{check_id}", "POST", [0, 20, 55, 25]),
];

/// Severity names in the order of [`EventType::severity_weights`], with the base of
/// each one's risk score.
pub(super) static SEVERITIES: [(&str, f64); 4] = [
    ("low", 5.0),
    ("medium", 25.0),
    ("high", 55.0),
    ("critical", 80.0),
];

/// User agents, and how often each is a user's own (mostly SDK, mobile and bot traffic).
#[rustfmt::skip]
pub(super) static USER_AGENTS: [(&str, u32); 8] = [
    ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36", 5),
    ("Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4_1) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4.1 Safari/605.1.15", 3),
    ("Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0", 2),
    ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148", 5),
    ("TradeApp/5.12.0 (Android 14; Pixel 8)", 12),
    ("trading-sdk-python/2.3.1 python-requests/2.31.0", 33),
    ("okhttp/4.12.0", 20),
    ("Go-http-client/2.0", 20),
];

pub(super) static CLIENT_VERSIONS: [&str; 6] = [
    "web-4.12.3",
    "web-4.13.0",
    "ios-5.12.0",
    "android-5.12.0",
    "sdk-py-2.3.1",
    "sdk-go-1.8.0",
];
pub(super) static REGIONS: [&str; 6] = [
    "us-east-1",
    "us-west-2",
    "eu-west-1",
    "eu-central-1",
    "ap-southeast-1",
    "ap-northeast-1",
];
pub(super) static SOURCES: [&str; 4] = ["web", "mobile", "api", "system"];

/// Tags, sorted, so that a sorted sample of indices is a sorted list of tags.
pub(super) static TAGS: [&str; 12] = [
    "after_hours",
    "aml",
    "api",
    "bot",
    "kyc",
    "large_order",
    "manual_review",
    "margin",
    "new_device",
    "suspicious_ip",
    "velocity",
    "vip",
];

/// Compliance statuses of events other than `compliance.flagged`, with weights.
pub(super) static COMPLIANCE: [(&str, u32); 4] = [
    ("approved", 90),
    ("pending", 6),
    ("flagged", 3),
    ("rejected", 1),
];

pub(super) static CRYPTO: [&str; 20] = [
    "BTC", "ETH", "SOL", "XRP", "ADA", "DOGE", "AVAX", "DOT", "LINK", "MATIC", "LTC", "BCH",
    "ATOM", "UNI", "XLM", "ETC", "FIL", "APT", "ARB", "OP",
];
pub(super) static CRYPTO_QUOTES: [&str; 2] = ["USD", "USDT"];
pub(super) static CRYPTO_EXCHANGES: [&str; 3] = ["BINANCE", "COINBASE", "KRAKEN"];
/// Equity exchanges and their currencies.
pub(super) static EQUITY_EXCHANGES: [(&str, &str); 5] = [
    ("NASDAQ", "USD"),
    ("NYSE", "USD"),
    ("LSE", "GBP"),
    ("XETRA", "EUR"),
    ("TSE", "JPY"),
];

/// Optional free-text notes of `with_text` descriptions (often none).
pub(super) static TEXT_NOTES: [&str; 12] = [
    "",
    "",
    "",
    "",
    "after client retry",
    "via mobile app",
    "from new device",
    "outside usual hours",
    "manual override by desk supervisor",
    "flagged for manual review",
    "possible wash trade pattern",
    "sanctions screening hit",
];

/// Error codes of failed logins and their messages.
pub(super) static LOGIN_ERRORS: [(&str, &str); 3] = [
    ("AUTH_INVALID_PASSWORD", "invalid password for account"),
    ("AUTH_TOTP_MISMATCH", "one-time code mismatch"),
    ("AUTH_LOCKED", "account locked after repeated failures"),
];
