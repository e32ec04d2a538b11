//! Users and ACLs on a broker (ACL 2.0; `mqadmin createUser` … `listAcl`): AUTH_CREATE_USER
//! (3001) … AUTH_LIST_ACL (3010), with Apache's `UserInfo` and `AclInfo` bodies.

use petrel_auth::{AclInfo, UserInfo};
use petrel_protocol::remoting::header::{
    AclRequestHeader, DeleteAclRequestHeader, ListAclsRequestHeader, ListUsersRequestHeader,
    UserRequestHeader,
};
use petrel_protocol::remoting::{request_code as rc, RemotingCommand};

use super::{Admin, Result};
use crate::error::ClientError;

fn user_header(username: &str) -> UserRequestHeader {
    UserRequestHeader {
        username: Some(username.to_string()),
        ..Default::default()
    }
}

fn acl_header(subject: &str) -> AclRequestHeader {
    AclRequestHeader {
        subject: Some(subject.to_string()),
        ..Default::default()
    }
}

fn json<T: serde::de::DeserializeOwned + Default>(
    addr: &str,
    response: &RemotingCommand,
) -> Result<T> {
    if response.body.is_empty() {
        return Ok(T::default());
    }
    serde_json::from_slice(&response.body).map_err(|e| {
        ClientError::BadResponse {
            addr: addr.to_string(),
            reason: e.to_string(),
        }
        .into()
    })
}

impl Admin {
    async fn auth_call(&self, addr: &str, request: RemotingCommand) -> Result<RemotingCommand> {
        Ok(self.instance.invoke_ok(addr, request).await?)
    }

    /// AUTH_CREATE_USER (3001) or AUTH_UPDATE_USER (3002) with `user` as the body.
    pub async fn put_user(&self, addr: &str, create: bool, user: &UserInfo) -> Result<()> {
        let code = if create {
            rc::AUTH_CREATE_USER
        } else {
            rc::AUTH_UPDATE_USER
        };
        let name = user.username.clone().unwrap_or_default();
        let request = RemotingCommand::request(code)
            .with_header(&user_header(&name))
            .with_body(serde_json::to_vec(user).unwrap_or_default());
        self.auth_call(addr, request).await.map(|_| ())
    }

    /// AUTH_DELETE_USER (3003).
    pub async fn delete_user(&self, addr: &str, username: &str) -> Result<()> {
        let request =
            RemotingCommand::request(rc::AUTH_DELETE_USER).with_header(&user_header(username));
        self.auth_call(addr, request).await.map(|_| ())
    }

    /// AUTH_GET_USER (3004): `None` when the broker has no such user.
    pub async fn get_user(&self, addr: &str, username: &str) -> Result<Option<UserInfo>> {
        let request =
            RemotingCommand::request(rc::AUTH_GET_USER).with_header(&user_header(username));
        let response = self.auth_call(addr, request).await?;
        if response.body.is_empty() {
            return Ok(None);
        }
        json(addr, &response).map(Some)
    }

    /// AUTH_LIST_USER (3005): users whose name contains `filter`.
    pub async fn list_users(&self, addr: &str, filter: Option<&str>) -> Result<Vec<UserInfo>> {
        let header = ListUsersRequestHeader {
            filter: filter.map(String::from),
            ..Default::default()
        };
        let request = RemotingCommand::request(rc::AUTH_LIST_USER).with_header(&header);
        json(addr, &self.auth_call(addr, request).await?)
    }

    /// AUTH_CREATE_ACL (3006) or AUTH_UPDATE_ACL (3007): merges `acl`'s policies into the
    /// subject's ACL.
    pub async fn put_acl(&self, addr: &str, create: bool, acl: &AclInfo) -> Result<()> {
        let code = if create {
            rc::AUTH_CREATE_ACL
        } else {
            rc::AUTH_UPDATE_ACL
        };
        let subject = acl.subject.clone().unwrap_or_default();
        let request = RemotingCommand::request(code)
            .with_header(&acl_header(&subject))
            .with_body(serde_json::to_vec(acl).unwrap_or_default());
        self.auth_call(addr, request).await.map(|_| ())
    }

    /// AUTH_DELETE_ACL (3008): the subject's whole ACL, or the entry for `resource`.
    pub async fn delete_acl(
        &self,
        addr: &str,
        subject: &str,
        resource: Option<&str>,
        policy_type: Option<&str>,
    ) -> Result<()> {
        let header = DeleteAclRequestHeader {
            subject: Some(subject.to_string()),
            resource: resource.map(String::from),
            policy_type: policy_type.map(String::from),
            ..Default::default()
        };
        let request = RemotingCommand::request(rc::AUTH_DELETE_ACL).with_header(&header);
        self.auth_call(addr, request).await.map(|_| ())
    }

    /// AUTH_GET_ACL (3009): `None` when the subject has no ACL.
    pub async fn get_acl(&self, addr: &str, subject: &str) -> Result<Option<AclInfo>> {
        let request = RemotingCommand::request(rc::AUTH_GET_ACL).with_header(&acl_header(subject));
        let response = self.auth_call(addr, request).await?;
        if response.body.is_empty() {
            return Ok(None);
        }
        json(addr, &response).map(Some)
    }

    /// AUTH_LIST_ACL (3010): ACLs whose subject contains `subject_filter`, with the entries
    /// whose resource contains `resource_filter`.
    pub async fn list_acls(
        &self,
        addr: &str,
        subject_filter: Option<&str>,
        resource_filter: Option<&str>,
    ) -> Result<Vec<AclInfo>> {
        let header = ListAclsRequestHeader {
            subject_filter: subject_filter.map(String::from),
            resource_filter: resource_filter.map(String::from),
            ..Default::default()
        };
        let request = RemotingCommand::request(rc::AUTH_LIST_ACL).with_header(&header);
        json(addr, &self.auth_call(addr, request).await?)
    }
}
