//! Users and ACLs (RocketMQ 5.3's ACL 2.0) kept in `storePathRootDir/config/authUsers.json`
//! and `authAcls.json` (Apache keeps them in RocksDB under `config/users` and `config/acls`),
//! replaced atomically on every change; plus what start-up adds: the `initAuthenticationUser`
//! (a super user, created if missing) and ACL 1.0's `plain_acl.yml` converted (`aclEnable`),
//! whose accounts replace users and ACLs of the same name at every start.

use std::path::{Path, PathBuf};

use parking_lot::RwLock;
use petrel_auth::{plain_acl, AclInfo, AuthError, Authority, User, UserInfo, UserType};
use serde::{Deserialize, Serialize};

use crate::config::AuthSettings;
use crate::config_file::ConfigFile;

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct UsersFile {
    users: Vec<UserInfo>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct AclsFile {
    acls: Vec<AclInfo>,
}

/// `innerClientAuthenticationCredentials` (`SessionCredentials`' JSON).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct InnerCredentials {
    access_key: String,
    secret_key: String,
}

/// The broker's users and ACLs, and its authentication settings.
pub struct AuthManager {
    pub settings: AuthSettings,
    /// The credentials the broker signs its calls to other brokers with.
    inner: Option<(String, String)>,
    /// `brokerClusterName`: the `Cluster:` resource admin requests need.
    pub cluster: String,
    state: RwLock<Authority>,
    users_file: ConfigFile,
    acls_file: ConfigFile,
}

/// A change could not be saved.
#[derive(Debug, thiserror::Error)]
pub enum AuthChangeError {
    #[error(transparent)]
    Refused(#[from] AuthError),
    #[error("could not save {path}: {source}")]
    Save {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl AuthManager {
    /// Loads the files, converts `plain_acl.yml` when `aclEnable`, creates the
    /// `initAuthenticationUser`. Errors say which file or key is wrong.
    pub fn load(config_dir: &Path, settings: &AuthSettings, cluster: &str) -> Result<Self, String> {
        let users_file = ConfigFile::new(config_dir, "authUsers.json");
        let acls_file = ConfigFile::new(config_dir, "authAcls.json");
        let mut authority = Authority::default();
        let users: UsersFile = users_file
            .load()
            .map_err(|e| e.to_string())?
            .unwrap_or_default();
        for info in users.users {
            let user = info
                .to_user()
                .map_err(|e| format!("{}: {e}", users_file.path().display()))?;
            authority.users.insert(user.username.clone(), user);
        }
        let acls: AclsFile = acls_file
            .load()
            .map_err(|e| e.to_string())?
            .unwrap_or_default();
        for info in acls.acls {
            let acl = info
                .to_acl(None)
                .map_err(|e| format!("{}: {e}", acls_file.path().display()))?;
            authority.acls.insert(acl.username.clone(), acl);
        }
        let mut changed = false;
        if settings.acl_enable {
            let path = plain_acl_path(settings)?;
            let yaml = std::fs::read_to_string(&path).map_err(|e| {
                format!(
                    "aclEnable=true: cannot read {} ({e}); set aclPlainFile to the ACL 1.0 file",
                    path.display()
                )
            })?;
            let converted =
                plain_acl::convert(&yaml).map_err(|e| format!("{}: {e}", path.display()))?;
            tracing::info!(
                file = %path.display(),
                accounts = converted.users.len(),
                "ACL 1.0 plain_acl.yml converted into users and ACLs"
            );
            for user in converted.users {
                authority.acls.remove(&user.username);
                authority.users.insert(user.username.clone(), user);
            }
            for acl in converted.acls {
                authority.acls.insert(acl.username.clone(), acl);
            }
            authority.v1 = converted.whitelists;
            changed = true;
        }
        if let Some(json) = &settings.init_authentication_user {
            let info: UserInfo = serde_json::from_str(json)
                .map_err(|e| format!("initAuthenticationUser: not a JSON user ({e})"))?;
            let mut user = info
                .to_user()
                .map_err(|e| format!("initAuthenticationUser: {e}"))?;
            user.user_type = UserType::Super;
            if !authority.users.contains_key(&user.username) {
                authority.users.insert(user.username.clone(), user);
                changed = true;
            }
        }
        let mut inner = None;
        if let Some(json) = &settings.inner_client_authentication_credentials {
            let c: InnerCredentials = serde_json::from_str(json).map_err(|e| {
                format!("innerClientAuthenticationCredentials: not {{\"accessKey\":..,\"secretKey\":..}} ({e})")
            })?;
            if c.access_key.is_empty() || c.secret_key.is_empty() {
                return Err(
                    "innerClientAuthenticationCredentials: accessKey and secretKey must not be empty"
                        .to_string(),
                );
            }
            if !authority.users.contains_key(&c.access_key) {
                authority.users.insert(
                    c.access_key.clone(),
                    User {
                        username: c.access_key.clone(),
                        password: c.secret_key.clone(),
                        user_type: UserType::Super,
                        user_status: petrel_auth::UserStatus::Enable,
                    },
                );
                changed = true;
            }
            inner = Some((c.access_key, c.secret_key));
        }
        if (settings.authenticating() || settings.authorizing()) && authority.users.is_empty() {
            tracing::warn!(
                "authentication/authorization is on but no user exists: every request will be refused; \
                 set initAuthenticationUser (a super user) to create the first one"
            );
        }
        let manager = AuthManager {
            settings: settings.clone(),
            inner,
            cluster: cluster.to_string(),
            state: RwLock::new(authority),
            users_file,
            acls_file,
        };
        if changed {
            manager.persist().map_err(|e| e.to_string())?;
        }
        Ok(manager)
    }

    /// Reads the users and ACLs.
    pub fn read<R>(&self, f: impl FnOnce(&Authority) -> R) -> R {
        f(&self.state.read())
    }

    /// Changes the users or ACLs and saves both files; nothing changes when `f` refuses.
    pub fn change<R>(
        &self,
        f: impl FnOnce(&mut Authority) -> Result<R, AuthError>,
    ) -> Result<R, AuthChangeError> {
        let result = {
            let mut state = self.state.write();
            let mut draft = state.clone();
            let r = f(&mut draft)?;
            *state = draft;
            r
        };
        self.persist()?;
        Ok(result)
    }

    fn persist(&self) -> Result<(), AuthChangeError> {
        let (users, acls) = self.read(|a| {
            (
                UsersFile {
                    users: a.users.values().map(UserInfo::from).collect(),
                },
                AclsFile {
                    acls: a.acls.values().map(AclInfo::from).collect(),
                },
            )
        });
        for (file, result) in [
            (&self.users_file, self.users_file.save(&users)),
            (&self.acls_file, self.acls_file.save(&acls)),
        ] {
            result.map_err(|source| AuthChangeError::Save {
                path: file.path().to_path_buf(),
                source,
            })?;
        }
        Ok(())
    }

    /// Signs a call to another broker with `innerClientAuthenticationCredentials`, if set.
    pub fn sign_inner(&self, request: &mut petrel_protocol::remoting::RemotingCommand) {
        let Some((ak, sk)) = &self.inner else { return };
        use petrel_auth::signature::{sign_parts, ACCESS_KEY, SIGNATURE};
        request.ext_fields.remove(SIGNATURE);
        request.ext_fields.insert(ACCESS_KEY, ak.as_str());
        let sig = sign_parts(
            request.ext_fields.iter(),
            &request.body,
            request.version,
            sk,
        );
        request.ext_fields.insert(SIGNATURE, sig);
    }

    pub fn user(&self, username: &str) -> Option<User> {
        self.read(|a| a.users.get(username).cloned())
    }
}

/// `aclPlainFile`, else `$ROCKETMQ_HOME/conf/plain_acl.yml` (Apache's default).
fn plain_acl_path(settings: &AuthSettings) -> Result<PathBuf, String> {
    if let Some(p) = &settings.acl_plain_file {
        return Ok(p.clone());
    }
    match std::env::var_os("ROCKETMQ_HOME") {
        Some(home) => Ok(PathBuf::from(home).join("conf").join("plain_acl.yml")),
        None => Err(
            "aclEnable=true needs the ACL 1.0 file: set aclPlainFile, or ROCKETMQ_HOME \
             (the file is then $ROCKETMQ_HOME/conf/plain_acl.yml)"
                .to_string(),
        ),
    }
}
