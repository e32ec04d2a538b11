//! Authentication and authorization of gRPC requests when the broker's are on
//! (`authenticationEnabled`, `authorizationEnabled`, or ACL 1.0's `aclEnable`), with the
//! broker's users and ACLs, as Apache's proxy does: the `authorization` header
//! `MQv2-HMAC-SHA1 Credential=<user>, SignedHeaders=x-mq-date-time, Signature=<hex>` carries
//! HMAC-SHA1(password, the `x-mq-date-time` header's value), hex in any case; the resources and
//! actions each RPC needs are those of Apache's `DefaultAuthorizationContextBuilder`.
//! Authentication failures answer UNAUTHORIZED, authorization failures FORBIDDEN.

use petrel_auth::{signature, Credentials, Need};

use crate::metadata::Caller;
use crate::pb::Code;
use crate::server::Shared;
use crate::status::Failure;

/// The parts of an `authorization` header.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Authorization {
    pub access_key: String,
    pub signature_hex: String,
}

/// Parses `MQv2-HMAC-SHA1 Credential=AK, SignedHeaders=x-mq-date-time, Signature=HEX`
/// (a `Credential` of the form `AK/...` names AK).
pub fn parse(header: &str) -> Option<Authorization> {
    let (_, rest) = header.trim().split_once(' ')?;
    let mut auth = Authorization::default();
    for part in rest.split(',') {
        let (k, v) = part.trim().split_once('=')?;
        match k.trim() {
            "Credential" => {
                auth.access_key = v.trim().split('/').next().unwrap_or("").to_string();
            }
            "Signature" => auth.signature_hex = v.trim().to_string(),
            _ => {}
        }
    }
    (!auth.access_key.is_empty()).then_some(auth)
}

/// Checks the caller against `needs` when the broker authenticates or authorizes.
pub fn check(shared: &Shared, caller: &Caller, needs: &[Need]) -> Result<(), Failure> {
    let auth = &shared.broker.auth;
    let settings = &auth.settings;
    let (authenticating, authorizing) = (settings.authenticating(), settings.authorizing());
    if !authenticating && !authorizing {
        return Ok(());
    }
    let ip = caller
        .remote
        .map(|a| a.ip().to_string())
        .unwrap_or_default();
    let access_key = caller.authorization.as_ref().map(|a| a.access_key.as_str());
    auth.read(|a| {
        if a.v1_whitelisted(access_key, &ip) {
            return Ok(());
        }
        if authenticating {
            let signature = caller
                .authorization
                .as_ref()
                .and_then(|a| signature::hex_to_base64(&a.signature_hex));
            a.authenticate(Credentials {
                access_key,
                signature: signature.as_deref(),
                fields: std::iter::empty(),
                body: caller.date_time.as_deref().unwrap_or("").as_bytes(),
                version: 0,
            })
            .map_err(|e| Failure::new(Code::Unauthorized, e.to_string()))?;
        }
        if authorizing {
            for need in needs {
                a.authorize(access_key, need, &ip)
                    .map_err(|e| Failure::new(Code::Forbidden, e.to_string()))?;
            }
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_java_clients_header() {
        let a =
            parse("MQv2-HMAC-SHA1 Credential=alice, SignedHeaders=x-mq-date-time, Signature=0A1B")
                .unwrap();
        assert_eq!(a.access_key, "alice");
        assert_eq!(a.signature_hex, "0A1B");
        assert_eq!(
            parse("MQv2-HMAC-SHA1 Credential=bob/2026, Signature=ff").map(|a| a.access_key),
            Some("bob".to_string())
        );
        assert_eq!(parse("garbage"), None);
        assert_eq!(parse("MQv2-HMAC-SHA1 Signature=ff"), None);
    }
}
