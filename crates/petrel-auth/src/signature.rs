//! The remoting request signature of RocketMQ's `AclClientRPCHook` (ACL 1.0 and 2.0 alike):
//! the values of every ext field except `Signature`, in key order, concatenated as UTF-8,
//! then the body; HMAC-SHA1 keyed with the secret key (the user's password); Base64.
//!
//! Apache 5.x skips `_UNIQUE_KEY_QUERY` when the request's version is V4_9_3 or older
//! (`DefaultAuthenticationContextBuilder`), because those clients added it after signing.

use base64::Engine;
use hmac::{KeyInit, Mac};

/// The ext field naming the user (`SessionCredentials.ACCESS_KEY`).
pub const ACCESS_KEY: &str = "AccessKey";
/// The ext field carrying the signature.
pub const SIGNATURE: &str = "Signature";
/// Carried and signed if a client has one; Petrel has no use for it.
pub const SECURITY_TOKEN: &str = "SecurityToken";
/// `MixAll.UNIQUE_MSG_QUERY_FLAG`.
pub const UNIQUE_KEY_QUERY: &str = "_UNIQUE_KEY_QUERY";
/// `MQVersion.Version.V4_9_3.ordinal()`.
pub const V4_9_3: i32 = 399;

type HmacSha1 = hmac::Hmac<sha1::Sha1>;

/// The bytes that are signed. `fields` must be in key order (Petrel's `ExtFields` iterates
/// that way).
pub fn content<'a>(
    fields: impl IntoIterator<Item = (&'a str, &'a str)>,
    body: &[u8],
    version: i32,
) -> Vec<u8> {
    let mut out = Vec::with_capacity(256 + body.len());
    for (k, v) in fields {
        if k == SIGNATURE || (k == UNIQUE_KEY_QUERY && version <= V4_9_3) {
            continue;
        }
        out.extend_from_slice(v.as_bytes());
    }
    out.extend_from_slice(body);
    out
}

/// `AclSigner.calSignature`: Base64(HMAC-SHA1(secret, content)).
pub fn sign(content: &[u8], secret_key: &str) -> String {
    sign_parts(std::iter::empty(), content, 0, secret_key)
}

/// The signature of a request without copying its body: the same as
/// `sign(&content(fields, body, version), secret_key)`.
pub fn sign_parts<'a>(
    fields: impl IntoIterator<Item = (&'a str, &'a str)>,
    body: &[u8],
    version: i32,
    secret_key: &str,
) -> String {
    // HMAC takes a key of any length; `new_from_slice` cannot fail for it.
    let mut mac = match HmacSha1::new_from_slice(secret_key.as_bytes()) {
        Ok(m) => m,
        Err(_) => return String::new(),
    };
    for (k, v) in fields {
        if k == SIGNATURE || (k == UNIQUE_KEY_QUERY && version <= V4_9_3) {
            continue;
        }
        mac.update(v.as_bytes());
    }
    mac.update(body);
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

/// Whether `signature` is the signature of `content` under `secret_key`, compared in
/// constant time (`MessageDigest.isEqual`).
pub fn verify(content: &[u8], secret_key: &str, signature: &str) -> bool {
    equal(&sign(content, secret_key), signature)
}

/// The gRPC form of a signature (5.x clients' `authorization` header): HMAC-SHA1(secret,
/// content) in upper-case hex, as the Java client writes it.
pub fn sign_hex(content: &[u8], secret_key: &str) -> String {
    let Ok(mut mac) = HmacSha1::new_from_slice(secret_key.as_bytes()) else {
        return String::new();
    };
    mac.update(content);
    mac.finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect()
}

/// The Base64 form of a hex signature (either case), as Apache's gRPC authentication
/// converts the `Signature=` of a 5.x client's `authorization` header before comparing it with
/// [`sign`]'s; `None` if it is not hex.
pub fn hex_to_base64(hex: &str) -> Option<String> {
    let hex = hex.trim();
    if hex.len() % 2 != 0 {
        return None;
    }
    let bytes = (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok())
        .collect::<Option<Vec<u8>>>()?;
    Some(base64::engine::general_purpose::STANDARD.encode(bytes))
}

/// Constant-time comparison of two signatures.
pub fn equal(expected: &str, signature: &str) -> bool {
    let (a, b) = (expected.as_bytes(), signature.as_bytes());
    if a.len() != b.len() || a.is_empty() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn known_vector() {
        // RFC 2202 test case 2 for HMAC-SHA1, Base64-encoded.
        let sig = sign(b"what do ya want for nothing?", "Jefe");
        assert_eq!(sig, "7/zfauXrL6LSdBbV8YTfnCWafHk=");
    }

    #[test]
    fn content_is_values_in_key_order_then_body() {
        let fields = [
            ("AccessKey", "ak"),
            ("Signature", "x"),
            ("a", "1"),
            ("b", "2"),
        ];
        assert_eq!(content(fields, b"BODY", 500), b"ak12BODY");
        assert_eq!(
            sign_parts(fields, b"BODY", 500, "k"),
            sign(b"ak12BODY", "k")
        );
        let fields = [("_UNIQUE_KEY_QUERY", "true"), ("a", "1")];
        assert_eq!(content(fields, b"", V4_9_3), b"1");
        assert_eq!(content(fields, b"", V4_9_3 + 1), b"true1");
    }

    #[test]
    fn hex_signatures_become_base64() {
        assert_eq!(hex_to_base64("4d616e").as_deref(), Some("TWFu"));
        assert_eq!(hex_to_base64("4D616E").as_deref(), Some("TWFu"));
        assert_eq!(hex_to_base64("4d61 6e"), None);
        assert_eq!(hex_to_base64("4d6"), None);
        assert_eq!(hex_to_base64("zz"), None);
        assert_eq!(hex_to_base64("é1"), None);
        let hex = sign_hex(b"20261205T101500Z", "secret");
        assert_eq!(hex.len(), 40);
        assert_eq!(
            hex_to_base64(&hex),
            Some(sign(b"20261205T101500Z", "secret"))
        );
    }

    proptest! {
        #[test]
        fn verify_accepts_only_the_right_secret(
            c in proptest::collection::vec(any::<u8>(), 0..200),
            s in "[a-zA-Z0-9]{1,20}", t in "[a-zA-Z0-9]{1,20}",
        ) {
            let sig = sign(&c, &s);
            prop_assert!(verify(&c, &s, &sig));
            prop_assert_eq!(verify(&c, &t, &sig), s == t);
        }
    }
}
