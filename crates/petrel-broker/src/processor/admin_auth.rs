//! Users and ACLs (ACL 2.0) for `mqadmin createUser` … `listAcl`: AUTH_CREATE_USER (3001) …
//! AUTH_LIST_ACL (3010), answered as Apache's `AdminBrokerProcessor` answers them: a refused
//! change is NO_PERMISSION with Apache's message ("The user is existed", "The subject of
//! User:x is not exist."), a blank username INVALID_PARAMETER, a super user created or
//! changed by a normal user SYSTEM_ERROR. (Apache declares USER_NOT_EXIST 3001 and
//! POLICY_NOT_EXIST 3002 but answers with neither; so does Petrel.)

use petrel_auth::model::parse_subject;
use petrel_auth::{AclInfo, PolicyType, Resource, UserInfo, UserStatus, UserType};
use petrel_protocol::remoting::header::{
    AclRequestHeader, DeleteAclRequestHeader, ListAclsRequestHeader, ListUsersRequestHeader,
    UserRequestHeader,
};
use petrel_protocol::remoting::{response_code, RemotingCommand};

use crate::broker::BrokerInner;
use crate::response::{self, Refusal};
use crate::state::auth::AuthChangeError;

fn refused(e: AuthChangeError) -> Refusal {
    match e {
        AuthChangeError::Refused(e) => Refusal::new(response_code::NO_PERMISSION, e.to_string()),
        AuthChangeError::Save { .. } => {
            tracing::error!(error = %e, "could not save users and ACLs");
            Refusal::new(response_code::SYSTEM_ERROR, e.to_string())
        }
    }
}

fn denied(e: petrel_auth::AuthError) -> Refusal {
    Refusal::new(response_code::NO_PERMISSION, e.to_string())
}

/// Whether the request is signed by someone other than a super user (`isNotSuperUserLogin`;
/// an unsigned request counts as a super user's, as in Apache: authentication is off then).
fn not_super_login(broker: &BrokerInner, request: &RemotingCommand) -> bool {
    match request
        .ext_fields
        .get(petrel_auth::signature::ACCESS_KEY)
        .filter(|k| !k.is_empty())
    {
        None => false,
        Some(k) => !broker.auth.read(|a| a.is_super(k)),
    }
}

fn username(request: &RemotingCommand) -> Result<String, Refusal> {
    let h: UserRequestHeader = response::header(request)?;
    match h.username.filter(|u| !u.trim().is_empty()) {
        Some(u) => Ok(u),
        None => Err(Refusal::new(
            response_code::INVALID_PARAMETER,
            "The username is blank",
        )),
    }
}

fn user_info(request: &RemotingCommand) -> Result<UserInfo, Refusal> {
    if request.body.is_empty() {
        return Ok(UserInfo::default());
    }
    serde_json::from_slice(&request.body).map_err(|e| Refusal::bad_body(request, e))
}

fn json_body(request: &RemotingCommand, value: &impl serde::Serialize) -> RemotingCommand {
    let mut response = response::ok(request);
    response.body = serde_json::to_vec(value).unwrap_or_default().into();
    response
}

/// AUTH_CREATE_USER.
pub fn create_user(
    broker: &BrokerInner,
    request: &RemotingCommand,
) -> Result<RemotingCommand, Refusal> {
    let name = username(request)?;
    let mut info = user_info(request)?;
    info.username = Some(name);
    let user = info.to_user().map_err(denied)?;
    if user.user_type == UserType::Super && not_super_login(broker, request) {
        return Err(Refusal::new(
            response_code::SYSTEM_ERROR,
            "The super user can only be create by super user",
        ));
    }
    tracing::info!(user = %user.username, user_type = %user.user_type, "user created");
    broker
        .auth
        .change(|a| a.create_user(user))
        .map_err(refused)?;
    Ok(response::ok(request))
}

/// AUTH_UPDATE_USER: the fields the body gives replace the stored ones.
pub fn update_user(
    broker: &BrokerInner,
    request: &RemotingCommand,
) -> Result<RemotingCommand, Refusal> {
    let name = username(request)?;
    let info = user_info(request)?;
    let bad = |what: &str, v: &str| {
        Refusal::new(
            response_code::NO_PERMISSION,
            format!("{what} {v:?} is not known"),
        )
    };
    let user_type = match info.user_type.as_deref().filter(|s| !s.is_empty()) {
        None => None,
        Some(t) => Some(UserType::parse(t).ok_or_else(|| bad("userType", t))?),
    };
    let user_status = match info.user_status.as_deref().filter(|s| !s.is_empty()) {
        None => None,
        Some(s) => Some(UserStatus::parse(s).ok_or_else(|| bad("userStatus", s))?),
    };
    let not_super = not_super_login(broker, request);
    if user_type == Some(UserType::Super) && not_super {
        return Err(Refusal::new(
            response_code::SYSTEM_ERROR,
            "The super user can only be update by super user",
        ));
    }
    broker
        .auth
        .change(|a| {
            if not_super && a.is_super(&name) {
                return Err(petrel_auth::AuthError::Denied(
                    "The super user can only be update by super user".to_string(),
                ));
            }
            a.update_user(&name, info.password.as_deref(), user_type, user_status)
        })
        .map_err(refused)?;
    tracing::info!(user = %name, "user updated");
    Ok(response::ok(request))
}

/// AUTH_DELETE_USER: a missing user is not an error.
pub fn delete_user(
    broker: &BrokerInner,
    request: &RemotingCommand,
) -> Result<RemotingCommand, Refusal> {
    let name = username(request)?;
    let not_super = not_super_login(broker, request);
    broker
        .auth
        .change(|a| {
            if not_super && a.is_super(&name) {
                return Err(petrel_auth::AuthError::Denied(
                    "The super user can only be update by super user".to_string(),
                ));
            }
            a.delete_user(&name);
            Ok(())
        })
        .map_err(refused)?;
    tracing::info!(user = %name, "user deleted");
    Ok(response::ok(request))
}

/// AUTH_GET_USER: a `UserInfo` body, or none when the user does not exist.
pub fn get_user(
    broker: &BrokerInner,
    request: &RemotingCommand,
) -> Result<RemotingCommand, Refusal> {
    let name = username(request)?;
    Ok(match broker.auth.user(&name) {
        Some(u) => json_body(request, &UserInfo::from(&u)),
        None => response::ok(request),
    })
}

/// AUTH_LIST_USER: a list of `UserInfo`, or no body when none matches.
pub fn list_users(
    broker: &BrokerInner,
    request: &RemotingCommand,
) -> Result<RemotingCommand, Refusal> {
    let h: ListUsersRequestHeader = response::header(request)?;
    let users: Vec<UserInfo> = broker.auth.read(|a| {
        a.list_users(h.filter.as_deref())
            .into_iter()
            .map(UserInfo::from)
            .collect()
    });
    Ok(if users.is_empty() {
        response::ok(request)
    } else {
        json_body(request, &users)
    })
}

/// AUTH_CREATE_ACL and AUTH_UPDATE_ACL (the same in Apache): the body's policies merge into
/// the subject's ACL by resource.
pub fn upsert_acl(
    broker: &BrokerInner,
    request: &RemotingCommand,
) -> Result<RemotingCommand, Refusal> {
    let h: AclRequestHeader = response::header(request)?;
    let info: AclInfo = if request.body.is_empty() {
        AclInfo::default()
    } else {
        serde_json::from_slice(&request.body).map_err(|e| Refusal::bad_body(request, e))?
    };
    if info.policies.is_empty() {
        return Err(Refusal::new(
            response_code::NO_PERMISSION,
            "The body of acl is null",
        ));
    }
    let acl = info.to_acl(h.subject.as_deref()).map_err(denied)?;
    let who = acl.username.clone();
    broker.auth.change(|a| a.upsert_acl(acl)).map_err(refused)?;
    tracing::info!(user = %who, "ACL created or updated");
    Ok(response::ok(request))
}

/// AUTH_DELETE_ACL.
pub fn delete_acl(
    broker: &BrokerInner,
    request: &RemotingCommand,
) -> Result<RemotingCommand, Refusal> {
    let h: DeleteAclRequestHeader = response::header(request)?;
    let name = parse_subject(h.subject.as_deref().unwrap_or_default()).map_err(denied)?;
    let policy_type = match h.policy_type.as_deref().filter(|s| !s.is_empty()) {
        None => None,
        Some(p) => Some(PolicyType::parse(p).ok_or_else(|| {
            Refusal::new(
                response_code::NO_PERMISSION,
                format!("policyType {p:?} is not known"),
            )
        })?),
    };
    let resource = match h.resource.as_deref().filter(|s| !s.is_empty()) {
        None => None,
        Some(r) => Some(Resource::parse(r).map_err(denied)?),
    };
    broker
        .auth
        .change(|a| a.delete_acl(&name, policy_type, resource.as_ref()))
        .map_err(refused)?;
    tracing::info!(user = %name, "ACL deleted");
    Ok(response::ok(request))
}

/// AUTH_GET_ACL: an `AclInfo` body, or none when the user has no ACL.
pub fn get_acl(
    broker: &BrokerInner,
    request: &RemotingCommand,
) -> Result<RemotingCommand, Refusal> {
    let h: AclRequestHeader = response::header(request)?;
    let name = parse_subject(h.subject.as_deref().unwrap_or_default()).map_err(denied)?;
    let info = broker
        .auth
        .read(|a| a.get_acl(&name).map(|acl| acl.map(AclInfo::from)))
        .map_err(denied)?;
    Ok(match info {
        Some(info) => json_body(request, &info),
        None => response::ok(request),
    })
}

/// AUTH_LIST_ACL: a list of `AclInfo`, or no body when none matches.
pub fn list_acls(
    broker: &BrokerInner,
    request: &RemotingCommand,
) -> Result<RemotingCommand, Refusal> {
    let h: ListAclsRequestHeader = response::header(request)?;
    let acls: Vec<AclInfo> = broker.auth.read(|a| {
        a.list_acls(h.subject_filter.as_deref(), h.resource_filter.as_deref())
            .iter()
            .map(AclInfo::from)
            .collect()
    });
    Ok(if acls.is_empty() {
        response::ok(request)
    } else {
        json_body(request, &acls)
    })
}
