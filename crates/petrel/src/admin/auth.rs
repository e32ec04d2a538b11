//! Users and ACLs (ACL 2.0), with mqadmin's names and flags (`tools/.../command/auth/*`):
//! createUser, updateUser, deleteUser, getUser, listUser, createAcl, updateAcl, deleteAcl,
//! getAcl, listAcl. `-b` names one broker, `-c` every broker (masters and slaves) of a
//! cluster, as mqadmin does.

use anyhow::{bail, Result};
use clap::{ArgGroup, Args};
use petrel_auth::model::{PolicyEntryInfo, PolicyInfo};
use petrel_auth::{AclInfo, UserInfo};

use super::output::{json, Table};
use super::Ctx;

#[derive(Args)]
#[command(group(ArgGroup::new("target").required(true).args(["broker_addr", "cluster_name"])))]
pub struct Target {
    /// One broker's address.
    #[arg(short = 'b', long = "brokerAddr", value_name = "ADDR")]
    broker_addr: Option<String>,
    /// Every broker (masters and slaves) of this cluster.
    #[arg(short = 'c', long = "clusterName", value_name = "CLUSTER")]
    cluster_name: Option<String>,
}

impl Target {
    async fn addrs(&self, ctx: &Ctx) -> Result<Vec<String>> {
        Ok(match (&self.broker_addr, &self.cluster_name) {
            (Some(addr), _) => vec![addr.trim().to_string()],
            (None, cluster) => ctx
                .admin
                .brokers(cluster.as_deref())
                .await?
                .into_iter()
                .map(|b| b.addr)
                .collect(),
        })
    }
}

#[derive(Args)]
pub struct UserArgs {
    #[command(flatten)]
    target: Target,
    /// The username (the AccessKey clients sign with).
    #[arg(short = 'u', long = "username", value_name = "NAME")]
    username: String,
    /// The password (the SecretKey clients sign with).
    #[arg(short = 'p', long = "password", value_name = "PASSWORD")]
    password: Option<String>,
    /// Super or Normal.
    #[arg(short = 't', long = "userType", value_name = "TYPE")]
    user_type: Option<String>,
    /// enable or disable (updateUser only).
    #[arg(short = 's', long = "userStatus", value_name = "STATUS")]
    user_status: Option<String>,
}

#[derive(Args)]
pub struct UsernameArgs {
    #[command(flatten)]
    target: Target,
    #[arg(short = 'u', long = "username", value_name = "NAME")]
    username: String,
}

#[derive(Args)]
pub struct ListUserArgs {
    #[command(flatten)]
    target: Target,
    /// Only users whose name contains this.
    #[arg(short = 'f', long = "filter", value_name = "TEXT")]
    filter: Option<String>,
}

#[derive(Args)]
pub struct AclArgs {
    #[command(flatten)]
    target: Target,
    /// The subject: User:<username>.
    #[arg(short = 's', long = "subject", value_name = "SUBJECT")]
    subject: String,
    /// Resources, comma-separated: Topic:orders, Group:billing-*, Topic:*, *.
    #[arg(short = 'r', long = "resources", value_name = "RESOURCES")]
    resources: String,
    /// Actions, comma-separated: All, Pub, Sub, Create, Update, Delete, Get, List.
    #[arg(short = 'a', long = "actions", value_name = "ACTIONS")]
    actions: String,
    /// Source addresses, comma-separated IPs or CIDR blocks (default: any).
    #[arg(short = 'i', long = "sourceIp", value_name = "IPS")]
    source_ip: Option<String>,
    /// Allow or Deny.
    #[arg(short = 'd', long = "decision", value_name = "DECISION")]
    decision: String,
}

#[derive(Args)]
pub struct DeleteAclArgs {
    #[command(flatten)]
    target: Target,
    #[arg(short = 's', long = "subject", value_name = "SUBJECT")]
    subject: String,
    /// Only these resources' entries (comma-separated); without it, the whole ACL.
    #[arg(short = 'r', long = "resources", value_name = "RESOURCES")]
    resources: Option<String>,
}

#[derive(Args)]
pub struct GetAclArgs {
    #[command(flatten)]
    target: Target,
    #[arg(short = 's', long = "subject", value_name = "SUBJECT")]
    subject: String,
}

#[derive(Args)]
pub struct ListAclArgs {
    #[command(flatten)]
    target: Target,
    /// Only subjects containing this.
    #[arg(short = 's', long = "subject", value_name = "TEXT")]
    subject: Option<String>,
    /// Only entries whose resource contains this.
    #[arg(short = 'r', long = "resource", value_name = "TEXT")]
    resource: Option<String>,
}

fn list(s: &str) -> Vec<String> {
    s.split(',')
        .map(str::trim)
        .filter(|x| !x.is_empty())
        .map(String::from)
        .collect()
}

/// createUser (`create == true`) and updateUser.
pub async fn put_user(ctx: &Ctx, a: UserArgs, create: bool) -> Result<String> {
    if create && a.password.as_deref().unwrap_or_default().is_empty() {
        bail!("createUser needs a password (-p)");
    }
    let info = UserInfo {
        username: Some(a.username.clone()),
        password: a.password,
        user_type: a.user_type,
        user_status: a.user_status,
    };
    let verb = if create { "create" } else { "update" };
    let mut out = String::new();
    for addr in a.target.addrs(ctx).await? {
        ctx.admin.put_user(&addr, create, &info).await?;
        out.push_str(&format!("{verb} user to {addr} success.\n"));
    }
    Ok(out)
}

pub async fn delete_user(ctx: &Ctx, a: UsernameArgs) -> Result<String> {
    let mut out = String::new();
    for addr in a.target.addrs(ctx).await? {
        ctx.admin.delete_user(&addr, &a.username).await?;
        out.push_str(&format!("delete user from {addr} success.\n"));
    }
    Ok(out)
}

fn users_table(users: &[(String, UserInfo)]) -> String {
    let mut t = Table::new(&[
        "#Broker",
        "#UserName",
        "#Password",
        "#UserType",
        "#UserStatus",
    ]);
    for (addr, u) in users {
        t.row(vec![
            addr.clone(),
            u.username.clone().unwrap_or_default(),
            u.password.clone().unwrap_or_default(),
            u.user_type.clone().unwrap_or_default(),
            u.user_status.clone().unwrap_or_default(),
        ]);
    }
    t.render()
}

pub async fn get_user(ctx: &Ctx, a: UsernameArgs) -> Result<String> {
    let mut users = Vec::new();
    for addr in a.target.addrs(ctx).await? {
        if let Some(u) = ctx.admin.get_user(&addr, &a.username).await? {
            users.push((addr, u));
        }
    }
    if ctx.json {
        return Ok(json(&users.iter().map(|(a, u)| (a, u)).collect::<Vec<_>>()));
    }
    if users.is_empty() {
        bail!("user {} does not exist", a.username);
    }
    Ok(users_table(&users))
}

pub async fn list_user(ctx: &Ctx, a: ListUserArgs) -> Result<String> {
    let mut users = Vec::new();
    for addr in a.target.addrs(ctx).await? {
        for u in ctx.admin.list_users(&addr, a.filter.as_deref()).await? {
            users.push((addr.clone(), u));
        }
    }
    if ctx.json {
        return Ok(json(&users));
    }
    Ok(users_table(&users))
}

/// createAcl (`create == true`) and updateAcl: one policy (Custom) with an entry per resource.
pub async fn put_acl(ctx: &Ctx, a: AclArgs, create: bool) -> Result<String> {
    let entries = list(&a.resources)
        .into_iter()
        .map(|r| PolicyEntryInfo {
            resource: Some(r),
            actions: list(&a.actions),
            source_ips: a.source_ip.as_deref().map(list).unwrap_or_default(),
            decision: Some(a.decision.clone()),
        })
        .collect();
    let info = AclInfo {
        subject: Some(a.subject.clone()),
        policies: vec![PolicyInfo {
            policy_type: None,
            entries,
        }],
    };
    // The broker checks everything; this catches typos before any broker is changed.
    info.to_acl(None)?;
    let verb = if create { "create" } else { "update" };
    let mut out = String::new();
    for addr in a.target.addrs(ctx).await? {
        ctx.admin.put_acl(&addr, create, &info).await?;
        out.push_str(&format!("{verb} acl to {addr} success.\n"));
    }
    Ok(out)
}

pub async fn delete_acl(ctx: &Ctx, a: DeleteAclArgs) -> Result<String> {
    let resources = a.resources.as_deref().map(list).unwrap_or_default();
    let mut out = String::new();
    for addr in a.target.addrs(ctx).await? {
        if resources.is_empty() {
            ctx.admin.delete_acl(&addr, &a.subject, None, None).await?;
        }
        for r in &resources {
            ctx.admin
                .delete_acl(&addr, &a.subject, Some(r), None)
                .await?;
        }
        out.push_str(&format!("delete acl from {addr} success.\n"));
    }
    Ok(out)
}

fn acls_table(acls: &[(String, AclInfo)]) -> String {
    let mut t = Table::new(&[
        "#Broker",
        "#Subject",
        "#PolicyType",
        "#Resource",
        "#Actions",
        "#SourceIp",
        "#Decision",
    ]);
    for (addr, acl) in acls {
        for p in &acl.policies {
            for e in &p.entries {
                t.row(vec![
                    addr.clone(),
                    acl.subject.clone().unwrap_or_default(),
                    p.policy_type.clone().unwrap_or_default(),
                    e.resource.clone().unwrap_or_default(),
                    e.actions.join(","),
                    e.source_ips.join(","),
                    e.decision.clone().unwrap_or_default(),
                ]);
            }
        }
    }
    t.render()
}

pub async fn get_acl(ctx: &Ctx, a: GetAclArgs) -> Result<String> {
    let mut acls = Vec::new();
    for addr in a.target.addrs(ctx).await? {
        if let Some(acl) = ctx.admin.get_acl(&addr, &a.subject).await? {
            acls.push((addr, acl));
        }
    }
    if ctx.json {
        return Ok(json(&acls));
    }
    Ok(acls_table(&acls))
}

pub async fn list_acl(ctx: &Ctx, a: ListAclArgs) -> Result<String> {
    let mut acls = Vec::new();
    for addr in a.target.addrs(ctx).await? {
        for acl in ctx
            .admin
            .list_acls(&addr, a.subject.as_deref(), a.resource.as_deref())
            .await?
        {
            acls.push((addr.clone(), acl));
        }
    }
    if ctx.json {
        return Ok(json(&acls));
    }
    Ok(acls_table(&acls))
}
