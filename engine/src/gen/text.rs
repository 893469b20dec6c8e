//! The optional human-readable text of an event (`with_text`): a description of every
//! event, and an error code and message for failed logins. Drawn from a separate random
//! stream, so every other field is the same with and without it.

use rand_chacha::ChaCha8Rng;

use super::events::Draft;
use super::json::{Num, Obj};
use super::sample::choose;
use super::tables::{EVENT_TYPES, LOGIN_ERRORS, TEXT_NOTES};
use super::universe::Universe;

/// Appends `event_description` (and, for a failed login, `result`, `error_code` and
/// `error_message`) to the event being written.
pub(super) fn write(o: &mut Obj<'_>, d: &Draft, universe: &Universe, rng: &mut ChaCha8Rng) {
    let out = o.key("event_description");
    // Every piece comes from the generator's own tables: nothing needs escaping.
    out.push(b'"');
    for b in EVENT_TYPES[d.event].name.bytes() {
        out.push(if b == b'.' { b' ' } else { b });
    }
    out.extend_from_slice(b" by user ");
    out.extend_from_slice(&universe.users[d.user].id.as_bytes()[..8]);
    if let (Some(symbol), Some(exchange)) = (d.symbol, d.exchange) {
        let symbol = &universe.symbols[symbol].name;
        out.extend_from_slice(format!(" on {exchange} {symbol}").as_bytes());
    }
    if let Some(amount) = d.amount {
        out.extend_from_slice(b" amount ");
        Num::write(amount, out);
        if let Some(currency) = d.currency {
            out.push(b' ');
            out.extend_from_slice(currency.as_bytes());
        }
    }
    let note = choose(rng, &TEXT_NOTES);
    if !note.is_empty() {
        out.push(b' ');
        out.extend_from_slice(note.as_bytes());
    }
    out.push(b'"');
    if d.login_failed {
        let (code, message) = choose(rng, &LOGIN_ERRORS);
        o.str("result", "FAILED");
        o.str("error_code", code);
        o.str("error_message", message);
    }
}
