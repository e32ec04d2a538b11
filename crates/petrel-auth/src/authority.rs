//! Users and ACLs in memory, their changes with Apache's rules
//! (`AuthenticationMetadataManagerImpl`, `AuthorizationMetadataManagerImpl`), and the two
//! checks every request goes through: authentication (`DefaultAuthenticationHandler`) and
//! authorization (`UserAuthorizationHandler` then `AclAuthorizationHandler`).
//!
//! Denials carry Apache's messages, which the broker sends as the remark of NO_PERMISSION
//! (16); the authorization message also names the action the request needed.

use std::cmp::Ordering;
use std::collections::BTreeMap;

use crate::ip::V1AddressPattern;
use crate::model::{
    subject_key, Acl, Action, Decision, Policy, PolicyEntry, PolicyType, Resource, ResourcePattern,
    ResourceType, User, UserStatus, UserType,
};
use crate::signature;
use crate::AuthError;

/// ACL 1.0's address whitelists, kept after conversion so that 4.x set-ups behave as they
/// did: a request from a `globalWhiteRemoteAddresses` address, or signed with an AccessKey
/// from that account's `whiteRemoteAddress`, skips the signature and permission checks.
#[derive(Debug, Clone, Default)]
pub struct V1Whitelists {
    pub global: Vec<V1AddressPattern>,
    pub per_user: BTreeMap<String, V1AddressPattern>,
}

/// Everything the checks consult.
#[derive(Debug, Clone, Default)]
pub struct Authority {
    pub users: BTreeMap<String, User>,
    pub acls: BTreeMap<String, Acl>,
    pub v1: V1Whitelists,
}

/// What a request asks for, as `DefaultAuthorizationContextBuilder` derives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Need {
    pub resource: Resource,
    pub actions: Vec<Action>,
}

impl Need {
    pub fn new(resource: Resource, actions: &[Action]) -> Need {
        Need {
            resource,
            actions: actions.to_vec(),
        }
    }
}

/// The credentials a request carries, and what they sign.
#[derive(Debug, Clone, Copy)]
pub struct Credentials<'a, F> {
    pub access_key: Option<&'a str>,
    pub signature: Option<&'a str>,
    /// The request's ext fields in key order (the signature among them is skipped).
    pub fields: F,
    pub body: &'a [u8],
    /// The request's version (`_UNIQUE_KEY_QUERY` is not signed up to V4_9_3).
    pub version: i32,
}

impl Authority {
    /// Whether ACL 1.0's whitelists let this request through without any check.
    pub fn v1_whitelisted(&self, access_key: Option<&str>, source_ip: &str) -> bool {
        if self.v1.global.iter().any(|p| p.matches(source_ip)) {
            return true;
        }
        access_key
            .and_then(|ak| self.v1.per_user.get(ak))
            .is_some_and(|p| p.matches(source_ip))
    }

    /// Authentication: the AccessKey names an enabled user and the signature is that user's.
    pub fn authenticate<'a, F>(&self, c: Credentials<'a, F>) -> Result<(), AuthError>
    where
        F: IntoIterator<Item = (&'a str, &'a str)>,
    {
        let username = match c.access_key {
            Some(u) if !u.is_empty() => u,
            _ => return Err(AuthError::Denied("username cannot be null.".to_string())),
        };
        let user = self
            .users
            .get(username)
            .ok_or_else(|| AuthError::Denied(format!("User:{username} is not found.")))?;
        if user.user_status == UserStatus::Disable {
            return Err(AuthError::Denied(format!("User:{username} is disabled.")));
        }
        let expected = signature::sign_parts(c.fields, c.body, c.version, &user.password);
        match c.signature {
            Some(sig) if signature::equal(&expected, sig) => Ok(()),
            _ => Err(AuthError::Denied("check signature failed.".to_string())),
        }
    }

    /// Authorization of one need: a super user may do anything; otherwise the most specific
    /// matching entry decides, DENY winning among equally specific ones; no match denies.
    pub fn authorize(
        &self,
        access_key: Option<&str>,
        need: &Need,
        source_ip: &str,
    ) -> Result<(), AuthError> {
        let Some(username) = access_key.filter(|u| !u.is_empty()) else {
            return Err(AuthError::Denied(format!(
                "Authorization failed: the request carries no AccessKey, and {} needs {}.",
                need.resource,
                actions_text(&need.actions)
            )));
        };
        let user = self
            .users
            .get(username)
            .ok_or_else(|| AuthError::Denied(format!("User:{username} not found.")))?;
        if user.user_status == UserStatus::Disable {
            return Err(AuthError::Denied(format!("User:{username} is disabled.")));
        }
        if user.user_type == UserType::Super {
            return Ok(());
        }
        let deny = |detail: &str| {
            AuthError::Denied(format!(
                "{} has no permission to access {} from {}, {} (action needed: {})",
                subject_key(username),
                need.resource,
                source_ip,
                detail,
                actions_text(&need.actions)
            ))
        };
        let acl = self
            .acls
            .get(username)
            .ok_or_else(|| deny("no matched policies."))?;
        match best_entry(acl, need, source_ip) {
            None => Err(deny("no matched policies.")),
            Some(e) if e.decision == Decision::Deny => Err(deny("the decision is deny.")),
            Some(_) => Ok(()),
        }
    }

    // ------------------------------------------------------------ changes (admin requests)

    /// `createUser`: refuses an existing name.
    pub fn create_user(&mut self, user: User) -> Result<(), AuthError> {
        if self.users.contains_key(&user.username) {
            return Err(AuthError::Denied("The user is existed".to_string()));
        }
        self.users.insert(user.username.clone(), user);
        Ok(())
    }

    /// `updateUser`: fields given replace those stored.
    pub fn update_user(
        &mut self,
        username: &str,
        password: Option<&str>,
        user_type: Option<UserType>,
        user_status: Option<UserStatus>,
    ) -> Result<(), AuthError> {
        let user = self
            .users
            .get_mut(username)
            .ok_or_else(|| AuthError::Denied("The user is not exist".to_string()))?;
        if let Some(p) = password.filter(|p| !p.is_empty()) {
            user.password = p.to_string();
        }
        if let Some(t) = user_type {
            user.user_type = t;
        }
        if let Some(s) = user_status {
            user.user_status = s;
        }
        Ok(())
    }

    /// `deleteUser`: deleting a missing user succeeds; the user's ACL goes too.
    pub fn delete_user(&mut self, username: &str) {
        self.users.remove(username);
        self.acls.remove(username);
    }

    pub fn is_super(&self, username: &str) -> bool {
        self.users
            .get(username)
            .is_some_and(|u| u.user_type == UserType::Super)
    }

    /// `createAcl`/`updateAcl` (the same in Apache): the subject must exist; policies merge
    /// into an existing ACL by resource.
    pub fn upsert_acl(&mut self, acl: Acl) -> Result<(), AuthError> {
        if !self.users.contains_key(&acl.username) {
            return Err(AuthError::Denied(format!(
                "The subject of {} is not exist.",
                subject_key(&acl.username)
            )));
        }
        match self.acls.get_mut(&acl.username) {
            Some(old) => old.update(acl.policies),
            None => {
                self.acls.insert(acl.username.clone(), acl);
            }
        }
        Ok(())
    }

    /// `deleteAcl`: without a resource the whole ACL; with one, that entry of the policy
    /// (Custom by default).
    pub fn delete_acl(
        &mut self,
        username: &str,
        policy_type: Option<PolicyType>,
        resource: Option<&Resource>,
    ) -> Result<(), AuthError> {
        if !self.users.contains_key(username) {
            return Err(AuthError::Denied("The subject is not exist.".to_string()));
        }
        let acl = self
            .acls
            .get_mut(username)
            .ok_or_else(|| AuthError::Denied("The acl is not exist.".to_string()))?;
        match resource {
            Some(r) => {
                acl.delete_entry(policy_type.unwrap_or(PolicyType::Custom), r);
                if acl.policies.is_empty() {
                    self.acls.remove(username);
                }
            }
            None => {
                self.acls.remove(username);
            }
        }
        Ok(())
    }

    /// `getAcl`: the subject must exist; `None` when it has no ACL.
    pub fn get_acl(&self, username: &str) -> Result<Option<&Acl>, AuthError> {
        if !self.users.contains_key(username) {
            return Err(AuthError::Denied("The subject is not exist.".to_string()));
        }
        Ok(self.acls.get(username))
    }

    /// `listAcl`: subject keys containing `subject_filter`; entries whose resource key
    /// contains `resource_filter` (ACLs left without entries are left out).
    pub fn list_acls(
        &self,
        subject_filter: Option<&str>,
        resource_filter: Option<&str>,
    ) -> Vec<Acl> {
        let sf = subject_filter.filter(|s| !s.is_empty());
        let rf = resource_filter.filter(|s| !s.is_empty());
        self.acls
            .values()
            .filter(|a| sf.is_none_or(|f| subject_key(&a.username).contains(f)))
            .filter_map(|a| {
                let Some(f) = rf else { return Some(a.clone()) };
                let policies: Vec<Policy> = a
                    .policies
                    .iter()
                    .map(|p| Policy {
                        policy_type: p.policy_type,
                        entries: p
                            .entries
                            .iter()
                            .filter(|e| e.resource.key().contains(f))
                            .cloned()
                            .collect(),
                    })
                    .filter(|p| !p.entries.is_empty())
                    .collect();
                (!policies.is_empty()).then(|| Acl {
                    username: a.username.clone(),
                    policies,
                })
            })
            .collect()
    }

    /// `listUser`: usernames containing `filter`.
    pub fn list_users(&self, filter: Option<&str>) -> Vec<&User> {
        let f = filter.filter(|s| !s.is_empty());
        self.users
            .values()
            .filter(|u| f.is_none_or(|f| u.username.contains(f)))
            .collect()
    }
}

fn actions_text(actions: &[Action]) -> String {
    actions
        .iter()
        .map(|a| a.name())
        .collect::<Vec<_>>()
        .join(" or ")
}

/// `AclAuthorizationHandler.matchPolicyEntries`: matching CUSTOM entries, else matching
/// DEFAULT ones; the most specific first (a type over Any; literal over prefixed over any;
/// a longer prefix over a shorter), DENY first among equals.
fn best_entry<'a>(acl: &'a Acl, need: &Need, source_ip: &str) -> Option<&'a PolicyEntry> {
    let matching = |t: PolicyType| -> Vec<&'a PolicyEntry> {
        acl.policy(t)
            .map(|p| {
                p.entries
                    .iter()
                    .filter(|e| e.resource.matches(&need.resource))
                    .filter(|e| e.matches_actions(&need.actions))
                    .filter(|e| e.matches_source(Some(source_ip)))
                    .collect()
            })
            .unwrap_or_default()
    };
    let mut entries = matching(PolicyType::Custom);
    if entries.is_empty() {
        entries = matching(PolicyType::Default);
    }
    entries.sort_by(|a, b| compare(a, b));
    entries.first().copied()
}

fn specificity(r: &Resource) -> (u8, usize) {
    if r.resource_type == ResourceType::Any {
        return (0, 0);
    }
    match &r.pattern {
        ResourcePattern::Literal(_) => (3, 0),
        ResourcePattern::Prefixed(p) => (2, p.len()),
        ResourcePattern::Any => (1, 0),
    }
}

fn compare(a: &PolicyEntry, b: &PolicyEntry) -> Ordering {
    // More specific first, then DENY first.
    specificity(&b.resource)
        .cmp(&specificity(&a.resource))
        .then_with(|| match (a.decision, b.decision) {
            (Decision::Deny, Decision::Allow) => Ordering::Less,
            (Decision::Allow, Decision::Deny) => Ordering::Greater,
            _ => Ordering::Equal,
        })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::model::AclInfo;
    use proptest::prelude::*;

    fn user(name: &str, t: UserType) -> User {
        User {
            username: name.into(),
            password: format!("{name}-secret"),
            user_type: t,
            user_status: UserStatus::Enable,
        }
    }

    fn authority(acl_json: &str) -> Authority {
        let mut a = Authority::default();
        a.create_user(user("root", UserType::Super)).unwrap();
        a.create_user(user("alice", UserType::Normal)).unwrap();
        let info: AclInfo = serde_json::from_str(acl_json).unwrap();
        a.upsert_acl(info.to_acl(Some("User:alice")).unwrap())
            .unwrap();
        a
    }

    fn pub_topic(t: &str) -> Need {
        Need::new(Resource::topic(t), &[Action::Pub])
    }

    #[test]
    fn signatures_are_checked() {
        let a = authority(
            r#"{"policies":[{"entries":[{"resource":"*","actions":["All"],"decision":"Allow"}]}]}"#,
        );
        let fields = [("AccessKey", "alice"), ("topic", "t")];
        let body: &[u8] = b"xyz";
        let good = signature::sign(&signature::content(fields, body, 500), "alice-secret");
        let ok = Credentials {
            access_key: Some("alice"),
            signature: Some(good.as_str()),
            fields,
            body,
            version: 500,
        };
        assert!(a.authenticate(ok).is_ok());
        let bad = signature::sign(&signature::content(fields, body, 500), "wrong");
        let e = a
            .authenticate(Credentials {
                signature: Some(bad.as_str()),
                ..ok
            })
            .unwrap_err();
        assert_eq!(e.to_string(), "check signature failed.");
        let e = a
            .authenticate(Credentials {
                access_key: Some("bob"),
                ..ok
            })
            .unwrap_err();
        assert_eq!(e.to_string(), "User:bob is not found.");
        let e = a
            .authenticate(Credentials {
                access_key: None,
                ..ok
            })
            .unwrap_err();
        assert_eq!(e.to_string(), "username cannot be null.");
    }

    #[test]
    fn most_specific_wins_and_deny_wins_ties() {
        let a = authority(
            r#"{"policies":[{"entries":[
                {"resource":"Topic:*","actions":["Pub"],"decision":"Allow"},
                {"resource":"Topic:secret*","actions":["Pub"],"decision":"Deny"},
                {"resource":"Topic:secret-ok","actions":["Pub"],"decision":"Allow"},
                {"resource":"Group:g","actions":["Sub"],"sourceIps":["10.0.0.0/8"],"decision":"Allow"}
            ]}]}"#,
        );
        assert!(a
            .authorize(Some("alice"), &pub_topic("orders"), "1.1.1.1")
            .is_ok());
        let e = a
            .authorize(Some("alice"), &pub_topic("secret-x"), "1.1.1.1")
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "User:alice has no permission to access Topic:secret-x from 1.1.1.1, the decision is deny. (action needed: Pub)"
        );
        assert!(a
            .authorize(Some("alice"), &pub_topic("secret-ok"), "1.1.1.1")
            .is_ok());
        let sub_g = Need::new(Resource::group("g"), &[Action::Sub]);
        assert!(a.authorize(Some("alice"), &sub_g, "10.1.1.1").is_ok());
        let e = a.authorize(Some("alice"), &sub_g, "11.1.1.1").unwrap_err();
        assert!(e
            .to_string()
            .ends_with("no matched policies. (action needed: Sub)"));
        assert!(a.authorize(Some("root"), &sub_g, "11.1.1.1").is_ok());
        assert!(a.authorize(None, &sub_g, "10.1.1.1").is_err());
    }

    #[test]
    fn default_policy_only_when_no_custom_entry_matches() {
        let a = authority(
            r#"{"policies":[
                {"policyType":"Custom","entries":[{"resource":"Topic:a","actions":["Pub"],"decision":"Deny"}]},
                {"policyType":"Default","entries":[{"resource":"Topic:*","actions":["Pub","Sub"],"decision":"Allow"}]}
            ]}"#,
        );
        assert!(a
            .authorize(Some("alice"), &pub_topic("a"), "1.1.1.1")
            .is_err());
        assert!(a
            .authorize(Some("alice"), &pub_topic("b"), "1.1.1.1")
            .is_ok());
    }

    proptest! {
        /// With an ALLOW and a DENY entry on the same resource pattern, DENY decides.
        #[test]
        fn deny_wins_over_allow_on_the_same_pattern(name in "[a-z]{1,8}", prefix in 0usize..8) {
            let pattern = if prefix >= name.len() { "*".to_string() } else { format!("{}*", &name[..prefix]) };
            let json = format!(r#"{{"policies":[{{"entries":[
                {{"resource":"Topic:{pattern}","actions":["Pub"],"decision":"Allow"}},
                {{"resource":"Topic:{pattern}","actions":["All"],"decision":"Deny"}}]}}]}}"#);
            // Both entries are kept: only a later update merges entries by resource.
            let a = authority(&json);
            prop_assert!(a.authorize(Some("alice"), &pub_topic(&name), "1.1.1.1").is_err());
        }

        #[test]
        fn a_super_user_is_never_refused(t in "[a-zA-Z0-9_-]{1,20}", ip in "[0-9.]{1,15}") {
            let a = authority(r#"{"policies":[{"entries":[{"resource":"*","actions":["All"],"decision":"Deny"}]}]}"#);
            prop_assert!(a.authorize(Some("root"), &pub_topic(&t), &ip).is_ok());
            prop_assert!(a.authorize(Some("alice"), &pub_topic(&t), &ip).is_err());
        }
    }
}
