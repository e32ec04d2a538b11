//! Users and ACLs as RocketMQ 5.3+ models them (`auth/.../authentication/model/User.java`,
//! `auth/.../authorization/model/{Acl,Policy,PolicyEntry,Resource,Environment}.java`), and their
//! JSON forms (`UserInfo`, `AclInfo`: the bodies of the AUTH_* admin requests, which Petrel
//! also uses for its files).
//!
//! Names are parsed without regard to case, as Apache's `getByName` does, and written in
//! Apache's spelling ("Super", "Pub", "Topic:orders", "enable").

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::ip;
use crate::AuthError;

macro_rules! named_enum {
    ($(#[$m:meta])* $name:ident { $($variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name { $($variant),+ }

        impl $name {
            /// Apache's spelling.
            pub fn name(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }

            /// Parses a name, any case (Apache's `getByName`).
            pub fn parse(name: &str) -> Option<$name> {
                let name = name.trim();
                $(if name.eq_ignore_ascii_case($text) { return Some($name::$variant); })+
                None
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.name())
            }
        }
    };
}

named_enum!(
    /// `UserType`: a super user passes every authorization check.
    UserType { Super => "Super", Normal => "Normal" }
);
named_enum!(
    /// `UserStatus`: a disabled user cannot sign in.
    UserStatus { Enable => "enable", Disable => "disable" }
);
named_enum!(
    /// `Action` (`common/.../action/Action.java`).
    Action {
        All => "All",
        Any => "Any",
        Pub => "Pub",
        Sub => "Sub",
        Create => "Create",
        Update => "Update",
        Delete => "Delete",
        Get => "Get",
        List => "List",
    }
);
named_enum!(
    /// `Decision` of a policy entry.
    Decision { Allow => "Allow", Deny => "Deny" }
);
named_enum!(
    /// `PolicyType`: CUSTOM entries are consulted first, DEFAULT ones only when no CUSTOM
    /// entry matches (ACL 1.0's `defaultTopicPerm`/`defaultGroupPerm` become DEFAULT).
    PolicyType { Custom => "Custom", Default => "Default" }
);
named_enum!(
    /// `ResourceType` (`common/.../resource/ResourceType.java`).
    ResourceType {
        Any => "Any",
        Cluster => "Cluster",
        Namespace => "Namespace",
        Topic => "Topic",
        Group => "Group",
    }
);

/// How a resource's name is matched.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ResourcePattern {
    /// `Topic:*`: every name.
    Any,
    /// `Topic:orders`: this name.
    Literal(String),
    /// `Topic:order*`: names starting with this.
    Prefixed(String),
}

/// A resource, or a pattern of resources in a policy entry (`Resource.java`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Resource {
    pub resource_type: ResourceType,
    /// Ignored for [`ResourceType::Any`].
    pub pattern: ResourcePattern,
}

impl Resource {
    pub fn topic(name: &str) -> Resource {
        Resource::literal(ResourceType::Topic, name)
    }

    pub fn group(name: &str) -> Resource {
        Resource::literal(ResourceType::Group, name)
    }

    pub fn cluster(name: &str) -> Resource {
        Resource::literal(ResourceType::Cluster, name)
    }

    pub fn literal(resource_type: ResourceType, name: &str) -> Resource {
        Resource {
            resource_type,
            pattern: ResourcePattern::Literal(name.to_string()),
        }
    }

    /// `*`, or every resource of a type (`Topic:*`).
    pub fn any_of(resource_type: ResourceType) -> Resource {
        Resource {
            resource_type,
            pattern: ResourcePattern::Any,
        }
    }

    /// Parses Apache's resource key: `*`, `Topic:orders`, `Group:billing-*`, `Topic:*`.
    pub fn parse(key: &str) -> Result<Resource, AuthError> {
        let key = key.trim();
        if key == "*" {
            return Ok(Resource::any_of(ResourceType::Any));
        }
        let (type_name, name) = key.split_once(':').unwrap_or((key, ""));
        let resource_type = ResourceType::parse(type_name).ok_or_else(|| {
            AuthError::Invalid(format!(
                "resource {key:?}: expected `*` or Type:name with Type one of Cluster, Namespace, Topic, Group"
            ))
        })?;
        let pattern = if name == "*" || resource_type == ResourceType::Any {
            ResourcePattern::Any
        } else if let Some(prefix) = name.strip_suffix('*') {
            ResourcePattern::Prefixed(prefix.to_string())
        } else {
            ResourcePattern::Literal(name.to_string())
        };
        Ok(Resource {
            resource_type,
            pattern,
        })
    }

    /// Apache's resource key (`getResourceKey`), the inverse of [`Resource::parse`].
    pub fn key(&self) -> String {
        if self.resource_type == ResourceType::Any {
            return "*".to_string();
        }
        let t = self.resource_type.name();
        match &self.pattern {
            ResourcePattern::Any => format!("{t}:*"),
            ResourcePattern::Literal(n) => format!("{t}:{n}"),
            ResourcePattern::Prefixed(p) => format!("{t}:{p}*"),
        }
    }

    /// Whether this pattern covers the concrete `resource` (`Resource.isMatch`).
    pub fn matches(&self, resource: &Resource) -> bool {
        if self.resource_type == ResourceType::Any {
            return true;
        }
        if self.resource_type != resource.resource_type {
            return false;
        }
        let name = match &resource.pattern {
            ResourcePattern::Literal(n) | ResourcePattern::Prefixed(n) => n.as_str(),
            ResourcePattern::Any => return matches!(self.pattern, ResourcePattern::Any),
        };
        match &self.pattern {
            ResourcePattern::Any => true,
            ResourcePattern::Literal(n) => n == name,
            ResourcePattern::Prefixed(p) => name.starts_with(p.as_str()),
        }
    }
}

impl fmt::Display for Resource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.key())
    }
}

/// A user: the AccessKey a client signs with is its username, the SecretKey its password.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub username: String,
    pub password: String,
    pub user_type: UserType,
    pub user_status: UserStatus,
}

impl User {
    /// The subject key ACLs name the user by: `User:{username}`.
    pub fn subject_key(&self) -> String {
        subject_key(&self.username)
    }
}

/// `User:{username}`.
pub fn subject_key(username: &str) -> String {
    format!("User:{username}")
}

/// The username in a subject key (`User:alice` → `alice`). Only user subjects exist.
pub fn parse_subject(key: &str) -> Result<String, AuthError> {
    match key.trim().split_once(':') {
        Some((t, name)) if t.eq_ignore_ascii_case("User") && !name.is_empty() => {
            Ok(name.to_string())
        }
        _ => Err(AuthError::Invalid(format!(
            "subject {key:?}: expected User:<username>"
        ))),
    }
}

/// One rule: who may (or may not) do what, on which resources, from where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyEntry {
    pub resource: Resource,
    pub actions: Vec<Action>,
    /// Source addresses (IPs or CIDR blocks); empty means any address.
    pub source_ips: Vec<String>,
    pub decision: Decision,
}

impl PolicyEntry {
    /// `PolicyEntry.isMatchAction`: a request needing `Any` matches any listed action; an
    /// entry with `All` matches every action.
    pub fn matches_actions(&self, wanted: &[Action]) -> bool {
        if self.actions.is_empty() {
            return false;
        }
        if wanted.contains(&Action::Any) {
            return true;
        }
        wanted
            .iter()
            .any(|a| self.actions.contains(a) || self.actions.contains(&Action::All))
    }

    /// `Environment.isMatch`: no listed source means any source.
    pub fn matches_source(&self, source_ip: Option<&str>) -> bool {
        if self.source_ips.is_empty() {
            return true;
        }
        let Some(ip) = source_ip else { return false };
        self.source_ips.iter().any(|range| ip::in_range(ip, range))
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    pub policy_type: PolicyType,
    pub entries: Vec<PolicyEntry>,
}

/// A user's rules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Acl {
    /// The username (the subject is `User:{username}`).
    pub username: String,
    pub policies: Vec<Policy>,
}

impl Acl {
    pub fn policy(&self, policy_type: PolicyType) -> Option<&Policy> {
        self.policies.iter().find(|p| p.policy_type == policy_type)
    }

    /// Merges `policies` in (`Acl.updatePolicy`): an entry for a resource already present
    /// replaces its actions, sources and decision; new resources are added.
    pub fn update(&mut self, policies: Vec<Policy>) {
        for new in policies {
            match self
                .policies
                .iter_mut()
                .find(|p| p.policy_type == new.policy_type)
            {
                None => self.policies.push(new),
                Some(old) => {
                    for entry in new.entries {
                        match old
                            .entries
                            .iter_mut()
                            .find(|e| e.resource == entry.resource)
                        {
                            Some(e) => *e = entry,
                            None => old.entries.push(entry),
                        }
                    }
                }
            }
        }
    }

    /// Removes the entry for `resource` from the policy of `policy_type` (`Acl.deletePolicy`);
    /// an emptied policy goes too.
    pub fn delete_entry(&mut self, policy_type: PolicyType, resource: &Resource) {
        if let Some(p) = self
            .policies
            .iter_mut()
            .find(|p| p.policy_type == policy_type)
        {
            p.entries.retain(|e| &e.resource != resource);
        }
        self.policies.retain(|p| !p.entries.is_empty());
    }
}

// ---------------------------------------------------------------- JSON forms

/// `UserInfo`: the body of AUTH_CREATE_USER/AUTH_UPDATE_USER and of the answers to
/// AUTH_GET_USER/AUTH_LIST_USER (a list); also one record of `config/auth_users.json`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct UserInfo {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_status: Option<String>,
}

impl From<&User> for UserInfo {
    fn from(u: &User) -> UserInfo {
        UserInfo {
            username: Some(u.username.clone()),
            password: Some(u.password.clone()),
            user_type: Some(u.user_type.name().to_string()),
            user_status: Some(u.user_status.name().to_string()),
        }
    }
}

impl UserInfo {
    /// A complete user: type defaults to Normal and status to enable (`UserConverter`).
    pub fn to_user(&self) -> Result<User, AuthError> {
        let username = self.username.clone().unwrap_or_default();
        if username.trim().is_empty() {
            return Err(AuthError::Invalid("username can not be blank".to_string()));
        }
        let password = self.password.clone().unwrap_or_default();
        if password.is_empty() {
            return Err(AuthError::Invalid("password can not be blank".to_string()));
        }
        Ok(User {
            username,
            password,
            user_type: parse_opt(&self.user_type, UserType::parse, "userType")?
                .unwrap_or(UserType::Normal),
            user_status: parse_opt(&self.user_status, UserStatus::parse, "userStatus")?
                .unwrap_or(UserStatus::Enable),
        })
    }
}

fn parse_opt<T>(
    value: &Option<String>,
    parse: fn(&str) -> Option<T>,
    what: &str,
) -> Result<Option<T>, AuthError> {
    match value.as_deref().map(str::trim) {
        None | Some("") => Ok(None),
        Some(v) => parse(v)
            .map(Some)
            .ok_or_else(|| AuthError::Invalid(format!("{what} {v:?} is not known"))),
    }
}

/// `AclInfo`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct AclInfo {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    pub policies: Vec<PolicyInfo>,
}

/// `AclInfo.PolicyInfo`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct PolicyInfo {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub policy_type: Option<String>,
    pub entries: Vec<PolicyEntryInfo>,
}

/// `AclInfo.PolicyEntryInfo`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct PolicyEntryInfo {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource: Option<String>,
    pub actions: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub source_ips: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decision: Option<String>,
}

impl From<&Acl> for AclInfo {
    fn from(acl: &Acl) -> AclInfo {
        AclInfo {
            subject: Some(subject_key(&acl.username)),
            policies: acl
                .policies
                .iter()
                .map(|p| PolicyInfo {
                    policy_type: Some(p.policy_type.name().to_string()),
                    entries: p
                        .entries
                        .iter()
                        .map(|e| PolicyEntryInfo {
                            resource: Some(e.resource.key()),
                            actions: e.actions.iter().map(|a| a.name().to_string()).collect(),
                            source_ips: e.source_ips.clone(),
                            decision: Some(e.decision.name().to_string()),
                        })
                        .collect(),
                })
                .collect(),
        }
    }
}

impl AclInfo {
    /// A validated ACL (`AuthorizationMetadataManagerImpl.validate`); `subject` stands in when
    /// the body names none (the request header's subject). Policy type defaults to Custom,
    /// decision must be given, `Any` is not an action one may grant.
    pub fn to_acl(&self, subject: Option<&str>) -> Result<Acl, AuthError> {
        let subject = self
            .subject
            .as_deref()
            .filter(|s| !s.trim().is_empty())
            .or(subject)
            .ok_or_else(|| AuthError::Invalid("The subject is null.".to_string()))?;
        let username = parse_subject(subject)?;
        if self.policies.is_empty() {
            return Err(AuthError::Invalid("The policies is empty.".to_string()));
        }
        let mut policies = Vec::new();
        for p in &self.policies {
            let policy_type = parse_opt(&p.policy_type, PolicyType::parse, "policyType")?
                .unwrap_or(PolicyType::Custom);
            if p.entries.is_empty() {
                return Err(AuthError::Invalid(
                    "The policy entries is empty.".to_string(),
                ));
            }
            let mut entries = Vec::new();
            for e in &p.entries {
                let resource = Resource::parse(
                    e.resource
                        .as_deref()
                        .ok_or_else(|| AuthError::Invalid("The resource is null.".to_string()))?,
                )?;
                let mut actions = Vec::new();
                for a in &e.actions {
                    let action = Action::parse(a)
                        .ok_or_else(|| AuthError::Invalid(format!("action {a:?} is not known")))?;
                    if action == Action::Any {
                        return Err(AuthError::Invalid(
                            "The actions can not be Any.".to_string(),
                        ));
                    }
                    actions.push(action);
                }
                if actions.is_empty() {
                    return Err(AuthError::Invalid("The actions is empty.".to_string()));
                }
                for ip in &e.source_ips {
                    if !ip::is_ip_or_cidr(ip) {
                        return Err(AuthError::Invalid(format!(
                            "The source ip is invalid: {ip:?} (an IP address or a CIDR block)"
                        )));
                    }
                }
                let decision =
                    parse_opt(&e.decision, Decision::parse, "decision")?.ok_or_else(|| {
                        AuthError::Invalid("The decision is null or illegal.".to_string())
                    })?;
                entries.push(PolicyEntry {
                    resource,
                    actions,
                    source_ips: e.source_ips.clone(),
                    decision,
                });
            }
            policies.push(Policy {
                policy_type,
                entries,
            });
        }
        Ok(Acl { username, policies })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn resource_keys_round_trip() {
        for key in [
            "*",
            "Topic:orders",
            "Group:bill-*",
            "Topic:*",
            "Cluster:DefaultCluster",
        ] {
            assert_eq!(Resource::parse(key).unwrap().key(), key);
        }
        assert_eq!(Resource::parse("topic:a").unwrap().key(), "Topic:a");
        assert!(Resource::parse("Queue:a").is_err());
    }

    #[test]
    fn patterns_match_as_apache_does() {
        let t = Resource::topic("orders-eu");
        assert!(Resource::parse("*").unwrap().matches(&t));
        assert!(Resource::parse("Topic:*").unwrap().matches(&t));
        assert!(Resource::parse("Topic:orders*").unwrap().matches(&t));
        assert!(Resource::parse("Topic:orders-eu").unwrap().matches(&t));
        assert!(!Resource::parse("Topic:orders").unwrap().matches(&t));
        assert!(!Resource::parse("Group:*").unwrap().matches(&t));
    }

    #[test]
    fn acl_info_is_apache_json() {
        let json = r#"{"subject":"User:alice","policies":[{"policyType":"Custom","entries":[
            {"resource":"Topic:orders","actions":["Pub","Sub"],"sourceIps":["10.0.0.0/8"],"decision":"Allow"}]}]}"#;
        let info: AclInfo = serde_json::from_str(json).unwrap();
        let acl = info.to_acl(None).unwrap();
        assert_eq!(acl.username, "alice");
        assert_eq!(
            acl.policies[0].entries[0].actions,
            vec![Action::Pub, Action::Sub]
        );
        let back = serde_json::to_value(AclInfo::from(&acl)).unwrap();
        assert_eq!(
            back,
            serde_json::from_str::<serde_json::Value>(json).unwrap()
        );
    }

    #[test]
    fn update_merges_by_resource() {
        let mut acl = AclInfo {
            subject: Some("User:a".into()),
            policies: vec![PolicyInfo {
                policy_type: None,
                entries: vec![PolicyEntryInfo {
                    resource: Some("Topic:x".into()),
                    actions: vec!["Pub".into()],
                    source_ips: vec![],
                    decision: Some("Allow".into()),
                }],
            }],
        }
        .to_acl(None)
        .unwrap();
        let deny = Policy {
            policy_type: PolicyType::Custom,
            entries: vec![PolicyEntry {
                resource: Resource::topic("x"),
                actions: vec![Action::All],
                source_ips: vec![],
                decision: Decision::Deny,
            }],
        };
        acl.update(vec![deny]);
        assert_eq!(acl.policies.len(), 1);
        assert_eq!(acl.policies[0].entries.len(), 1);
        assert_eq!(acl.policies[0].entries[0].decision, Decision::Deny);
        acl.delete_entry(PolicyType::Custom, &Resource::topic("x"));
        assert!(acl.policies.is_empty());
    }
}
