//! ACL 1.0's `plain_acl.yml` (RocketMQ 4.4 … 5.3.2), converted into ACL 2.0 users and ACLs
//! the way Apache's `AuthMigrator` converts it (5.3+), so 4.x clients keep their keys:
//!
//! - each account becomes a user (AccessKey → username, SecretKey → password), SUPER when
//!   `admin: true`;
//! - `topicPerms`/`groupPerms` (`name=PUB|SUB`, `name=DENY`, ...) become CUSTOM entries on
//!   `Topic:name`/`Group:name`; `defaultTopicPerm`/`defaultGroupPerm` become DEFAULT entries
//!   on `Topic:*`/`Group:*` (consulted only when no CUSTOM entry matches); `DENY` is a Deny
//!   of every action, `PUB`/`SUB`/`PUB|SUB` an Allow of those, anything else an Allow of all;
//! - `globalWhiteRemoteAddresses` and each account's `whiteRemoteAddress` keep their ACL 1.0
//!   meaning (requests from those addresses skip the checks), which Apache's migrator drops;
//! - ACL 1.0 let every account publish to `RMQ_SYS_TRACE_TOPIC` (message traces); each
//!   converted account gets a CUSTOM Pub Allow on it, which Apache's migrator leaves out, so
//!   4.x clients with traces on keep sending them.
//!
//! The YAML is read leniently: a `secretKey: 12345678` that YAML reads as a number is the
//! string "12345678", as SnakeYAML-then-fastjson made it in Java.

use std::collections::BTreeMap;

use petrel_protocol::topic::TRACE_TOPIC;
use serde_yaml::Value;

use crate::authority::V1Whitelists;
use crate::ip::V1AddressPattern;
use crate::model::{
    Acl, Action, Decision, Policy, PolicyEntry, PolicyType, Resource, ResourceType, User,
    UserStatus, UserType,
};
use crate::AuthError;

/// What a `plain_acl.yml` becomes.
#[derive(Debug, Clone, Default)]
pub struct Converted {
    pub users: Vec<User>,
    pub acls: Vec<Acl>,
    pub whitelists: V1Whitelists,
}

fn text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn texts(v: Option<&Value>) -> Vec<String> {
    match v {
        Some(Value::Sequence(items)) => items.iter().filter_map(text).collect(),
        Some(other) => text(other).into_iter().collect(),
        None => Vec::new(),
    }
}

fn get<'a>(map: &'a serde_yaml::Mapping, key: &str) -> Option<&'a Value> {
    map.get(Value::String(key.to_string()))
        .filter(|v| !v.is_null())
}

/// Parses and converts a `plain_acl.yml`. Errors name the account and the field.
pub fn convert(yaml: &str) -> Result<Converted, AuthError> {
    let root: Value = serde_yaml::from_str(yaml)
        .map_err(|e| AuthError::Invalid(format!("not valid YAML: {e}")))?;
    let root = match root {
        Value::Mapping(m) => m,
        Value::Null => return Ok(Converted::default()),
        _ => {
            return Err(AuthError::Invalid(
                "expected a mapping with `accounts` and `globalWhiteRemoteAddresses`".to_string(),
            ))
        }
    };
    let mut out = Converted::default();
    for pattern in texts(get(&root, "globalWhiteRemoteAddresses")) {
        out.whitelists.global.push(
            V1AddressPattern::parse(&pattern)
                .map_err(|e| AuthError::Invalid(format!("globalWhiteRemoteAddresses: {e}")))?,
        );
    }
    let accounts = match get(&root, "accounts") {
        None => return Ok(out),
        Some(Value::Sequence(a)) => a,
        Some(_) => return Err(AuthError::Invalid("`accounts` must be a list".to_string())),
    };
    for (i, account) in accounts.iter().enumerate() {
        let Value::Mapping(a) = account else {
            return Err(AuthError::Invalid(format!(
                "accounts[{i}] is not a mapping"
            )));
        };
        let field = |k: &str| get(a, k).and_then(text).map(|s| s.trim().to_string());
        let access_key = field("accessKey")
            .filter(|s| !s.is_empty())
            .ok_or_else(|| AuthError::Invalid(format!("accounts[{i}]: accessKey is missing")))?;
        let secret_key = field("secretKey")
            .filter(|s| !s.is_empty())
            .ok_or_else(|| {
                AuthError::Invalid(format!("account {access_key}: secretKey is missing"))
            })?;
        let admin = field("admin").is_some_and(|s| s.eq_ignore_ascii_case("true"));
        if let Some(white) = field("whiteRemoteAddress") {
            let pattern = V1AddressPattern::parse(&white).map_err(|e| {
                AuthError::Invalid(format!("account {access_key}: whiteRemoteAddress: {e}"))
            })?;
            if pattern != V1AddressPattern::Nothing {
                out.whitelists.per_user.insert(access_key.clone(), pattern);
            }
        }
        out.users.push(User {
            username: access_key.clone(),
            password: secret_key,
            user_type: if admin {
                UserType::Super
            } else {
                UserType::Normal
            },
            user_status: UserStatus::Enable,
        });

        let mut custom = Vec::new();
        if !admin {
            custom.push(PolicyEntry {
                resource: Resource::topic(TRACE_TOPIC),
                actions: vec![Action::Pub],
                source_ips: Vec::new(),
                decision: Decision::Allow,
            });
        }
        for (key, resource_type) in [
            ("topicPerms", ResourceType::Topic),
            ("groupPerms", ResourceType::Group),
        ] {
            for perm in texts(get(a, key)) {
                let Some((name, p)) = perm.split_once('=') else {
                    continue; // Apache skips entries without exactly one '='.
                };
                custom.push(entry(
                    Resource::literal(resource_type, name.trim()),
                    p.trim(),
                ));
            }
        }
        let mut default = Vec::new();
        for (key, resource_type) in [
            ("defaultTopicPerm", ResourceType::Topic),
            ("defaultGroupPerm", ResourceType::Group),
        ] {
            if let Some(p) = field(key).filter(|s| !s.is_empty()) {
                default.push(entry(Resource::any_of(resource_type), &p));
            }
        }
        let mut policies = Vec::new();
        if !custom.is_empty() {
            policies.push(Policy {
                policy_type: PolicyType::Custom,
                entries: custom,
            });
        }
        if !default.is_empty() {
            policies.push(Policy {
                policy_type: PolicyType::Default,
                entries: default,
            });
        }
        if !policies.is_empty() {
            out.acls.push(Acl {
                username: access_key,
                policies,
            });
        }
    }
    Ok(out)
}

/// `AuthMigrator.parseActions`/`parseDecision`.
fn entry(resource: Resource, perm: &str) -> PolicyEntry {
    let (actions, decision) = match perm {
        "DENY" | "" => (vec![Action::All], Decision::Deny),
        "PUB" => (vec![Action::Pub], Decision::Allow),
        "SUB" => (vec![Action::Sub], Decision::Allow),
        "PUB|SUB" | "SUB|PUB" => (vec![Action::Pub, Action::Sub], Decision::Allow),
        _ => (vec![Action::All], Decision::Allow),
    };
    PolicyEntry {
        resource,
        actions,
        source_ips: Vec::new(),
        decision,
    }
}

/// The users of a conversion by name (for tests and diagnostics).
pub fn users_by_name(c: &Converted) -> BTreeMap<&str, &User> {
    c.users.iter().map(|u| (u.username.as_str(), u)).collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::authority::{Authority, Need};

    /// Apache's `distribution/conf/plain_acl.yml` of 5.3.2.
    const APACHE_SAMPLE: &str = r#"
globalWhiteRemoteAddresses:
  - 10.10.103.*
  - 192.168.0.*

accounts:
  - accessKey: RocketMQ
    secretKey: 12345678
    whiteRemoteAddress:
    admin: false
    defaultTopicPerm: DENY
    defaultGroupPerm: SUB
    topicPerms:
      - topicA=DENY
      - topicB=PUB|SUB
      - topicC=SUB
    groupPerms:
      # the group should convert to retry topic
      - groupA=DENY
      - groupB=PUB|SUB
      - groupC=SUB

  - accessKey: rocketmq2
    secretKey: 12345678
    whiteRemoteAddress: 192.168.1.*
    # if it is admin, it could access all resources
    admin: true
"#;

    #[test]
    fn apache_sample_converts() {
        let c = convert(APACHE_SAMPLE).unwrap();
        let users = users_by_name(&c);
        assert_eq!(users["RocketMQ"].password, "12345678");
        assert_eq!(users["RocketMQ"].user_type, UserType::Normal);
        assert_eq!(users["rocketmq2"].user_type, UserType::Super);
        assert_eq!(c.whitelists.global.len(), 2);
        assert!(c.whitelists.per_user.contains_key("rocketmq2"));
        assert!(!c.whitelists.per_user.contains_key("RocketMQ"));

        let mut a = Authority::default();
        for u in c.users.clone() {
            a.create_user(u).unwrap();
        }
        for acl in c.acls.clone() {
            a.upsert_acl(acl).unwrap();
        }
        a.v1 = c.whitelists.clone();
        let can = |r: Resource, act: Action| {
            a.authorize(Some("RocketMQ"), &Need::new(r, &[act]), "1.2.3.4")
                .is_ok()
        };
        assert!(!can(Resource::topic("topicA"), Action::Pub));
        assert!(can(Resource::topic("topicB"), Action::Pub));
        assert!(can(Resource::topic("topicC"), Action::Sub));
        assert!(!can(Resource::topic("topicC"), Action::Pub));
        assert!(!can(Resource::topic("other"), Action::Sub)); // defaultTopicPerm: DENY
        assert!(can(Resource::group("other"), Action::Sub)); // defaultGroupPerm: SUB
        assert!(!can(Resource::group("groupA"), Action::Sub));
        assert!(can(Resource::topic(TRACE_TOPIC), Action::Pub)); // as ACL 1.0 allowed
        assert!(a.v1_whitelisted(None, "10.10.103.7"));
        assert!(a.v1_whitelisted(Some("rocketmq2"), "192.168.1.9"));
        assert!(!a.v1_whitelisted(Some("RocketMQ"), "192.168.1.9"));
    }

    #[test]
    fn bad_files_say_where() {
        let e = convert("accounts:\n  - secretKey: x\n").unwrap_err();
        assert!(e.to_string().contains("accounts[0]: accessKey is missing"));
        let e = convert(
            "accounts:\n  - accessKey: a\n    secretKey: b\n    whiteRemoteAddress: 1.2.*.3\n",
        )
        .unwrap_err();
        assert!(e.to_string().contains("account a: whiteRemoteAddress"));
        assert!(convert("").unwrap().users.is_empty());
    }
}
