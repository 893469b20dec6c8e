//! Request signatures: `X-Sealog-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256>`
//! over `"<t>.<body>"`, keyed with the webhook's `secret_key` string (its 64 ASCII hex
//! characters, as the create response shows them). Receivers recompute it, compare in
//! constant time and reject old `t` values (replays). docs/WEBHOOKS.md has the recipe.

use hmac::{Hmac, KeyInit, Mac};
use rand::RngCore;
use sha2::Sha256;

/// A new secret: 32 random bytes as 64 lowercase hex characters.
pub fn new_secret() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// Lowercase hex HMAC-SHA256(`secret`, `"<t>.<body>"`).
pub fn signature(secret: &str, t: i64, body: &[u8]) -> String {
    // HMAC takes keys of any length: this cannot fail.
    let Ok(mut mac) = <Hmac<Sha256> as KeyInit>::new_from_slice(secret.as_bytes()) else {
        return String::new();
    };
    mac.update(t.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    hex::encode(mac.finalize().into_bytes())
}

/// The `X-Sealog-Signature` value.
pub fn header(secret: &str, t: i64, body: &[u8]) -> String {
    format!("t={t},v1={}", signature(secret, t, body))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn matches_rfc_4231_and_the_documented_recipe() {
        // RFC 4231 test case 2: key "Jefe", data "what do ya want for nothing?".
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(b"Jefe").unwrap();
        mac.update(b"what do ya want for nothing?");
        assert_eq!(
            hex::encode(mac.finalize().into_bytes()),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        // The recipe: key = the secret's text, message = "<t>." + body.
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(b"Jefe").unwrap();
        mac.update(b"1700000000.{\"events\":[]}");
        let want = hex::encode(mac.finalize().into_bytes());
        assert_eq!(signature("Jefe", 1_700_000_000, b"{\"events\":[]}"), want);
        assert_eq!(
            header("Jefe", 1_700_000_000, b"{\"events\":[]}"),
            format!("t=1700000000,v1={want}")
        );
        let s = new_secret();
        assert_eq!(s.len(), 64);
        assert!(s
            .bytes()
            .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()));
    }
}
