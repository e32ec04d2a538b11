//! Authentication and authorization as RocketMQ 5.3+ does them (ACL 2.0), pure: no I/O, no
//! network, no clock.
//!
//! What it owns: the user and ACL model and its JSON forms (`model`), source-address matching
//! (`ip`), the request signature of `AclClientRPCHook` (`signature`, used by the broker to
//! verify and by Petrel's client to sign), the checks and Apache's rules for changing users
//! and ACLs (`authority`), and the conversion of ACL 1.0's `plain_acl.yml` (`plain_acl`).
//! Depends only on `petrel-protocol` (pure) for RocketMQ's names.
//! What it must not do: read or write files (the broker keeps users and ACLs in its config
//! directory), know request codes or headers (the broker maps a request to what it needs).

#![forbid(unsafe_code)]

pub mod authority;
pub mod ip;
pub mod model;
pub mod plain_acl;
pub mod signature;

pub use authority::{Authority, Credentials, Need, V1Whitelists};
pub use model::{
    Acl, AclInfo, Action, Decision, Policy, PolicyEntry, PolicyType, Resource, ResourceType, User,
    UserInfo, UserStatus, UserType,
};

/// Why a check or a change failed. The text is what the client sees as the remark.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// Authentication or authorization refused (NO_PERMISSION).
    #[error("{0}")]
    Denied(String),
    /// A user, ACL or file that is not well formed.
    #[error("{0}")]
    Invalid(String),
}
