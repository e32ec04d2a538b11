//! The broker id the controllers assigned (RocketMQ's `BrokerMetadata`): asked for once with
//! CONTROLLER_GET_NEXT_BROKER_ID (1012), claimed with CONTROLLER_APPLY_BROKER_ID (1013) under a
//! check code first written to `brokerIdentity-temp`, then kept in `brokerIdentity` as
//! `clusterName#brokerName#brokerId`. Ids start at 1; a broker keeps its id across restarts.

use std::path::{Path, PathBuf};
use std::time::Duration;

use petrel_protocol::remoting::header::{
    ApplyBrokerIdRequestHeader, GetNextBrokerIdRequestHeader, GetNextBrokerIdResponseHeader,
};
use petrel_protocol::remoting::{request_code, response_code, RemotingCommand};

use crate::client::{ClientError, ControllerClient};

pub const BROKER_IDENTITY_FILE: &str = "brokerIdentity";
const BROKER_IDENTITY_TEMP_FILE: &str = "brokerIdentity-temp";
/// Attempts to claim an id before giving up (another broker may claim the same one).
const APPLY_ATTEMPTS: usize = 10;

#[derive(Debug, thiserror::Error)]
pub enum IdentityError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "{path} says {found:?}, but this broker is {cluster}#{name}: it belongs to another \
         broker; use that broker's data directory, or delete the file to join as a new replica"
    )]
    Mismatch {
        path: PathBuf,
        found: String,
        cluster: String,
        name: String,
    },
    #[error(transparent)]
    Controller(#[from] ClientError),
    #[error("the controller refused a broker id: {0}")]
    Refused(String),
}

/// This broker's id: the saved one, or a new one from the controllers.
pub async fn broker_id(
    client: &ControllerClient,
    root: &Path,
    cluster: &str,
    name: &str,
    broker_addr: &str,
) -> Result<u64, IdentityError> {
    if let Some(id) = load(root, cluster, name)? {
        return Ok(id);
    }
    let mut last = String::new();
    for _ in 0..APPLY_ATTEMPTS {
        let request = RemotingCommand::request(request_code::CONTROLLER_GET_NEXT_BROKER_ID)
            .with_header(&GetNextBrokerIdRequestHeader {
                cluster_name: Some(cluster.into()),
                broker_name: Some(name.into()),
            });
        let r = client.call(request).await?;
        let next = match r.decode_header::<GetNextBrokerIdResponseHeader>() {
            Ok(h) if r.code == response_code::SUCCESS => {
                h.next_broker_id.unwrap_or(1).max(1) as u64
            }
            _ => {
                last = format!("GET_NEXT_BROKER_ID: code {} {:?}", r.code, r.remark);
                tokio::time::sleep(Duration::from_millis(300)).await;
                continue;
            }
        };
        let check_code = format!("{broker_addr};{}", now_ms());
        write(
            &root.join(BROKER_IDENTITY_TEMP_FILE),
            &format!("{cluster}#{name}#{next}#{check_code}"),
        )?;
        let request = RemotingCommand::request(request_code::CONTROLLER_APPLY_BROKER_ID)
            .with_header(&ApplyBrokerIdRequestHeader {
                cluster_name: Some(cluster.into()),
                broker_name: Some(name.into()),
                applied_broker_id: Some(next as i64),
                register_check_code: Some(check_code),
            });
        let r = client.call(request).await?;
        if r.code == response_code::SUCCESS {
            write(
                &root.join(BROKER_IDENTITY_FILE),
                &format!("{cluster}#{name}#{next}"),
            )?;
            let _ = std::fs::remove_file(root.join(BROKER_IDENTITY_TEMP_FILE));
            tracing::info!(
                broker_id = next,
                "the controllers assigned this broker its id"
            );
            return Ok(next);
        }
        last = format!("APPLY_BROKER_ID {next}: code {} {:?}", r.code, r.remark);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Err(IdentityError::Refused(last))
}

/// The saved id, if there is one for this cluster and broker name.
pub fn load(root: &Path, cluster: &str, name: &str) -> Result<Option<u64>, IdentityError> {
    let path = root.join(BROKER_IDENTITY_FILE);
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => return Err(IdentityError::Io { path, source }),
    };
    let parts: Vec<&str> = text.trim().split('#').collect();
    match parts.as_slice() {
        [c, n, id] if *c == cluster && *n == name => match id.parse::<u64>() {
            Ok(id) if id >= 1 => Ok(Some(id)),
            _ => Err(IdentityError::Mismatch {
                path,
                found: text.trim().into(),
                cluster: cluster.into(),
                name: name.into(),
            }),
        },
        _ => Err(IdentityError::Mismatch {
            path,
            found: text.trim().into(),
            cluster: cluster.into(),
            name: name.into(),
        }),
    }
}

fn write(path: &Path, text: &str) -> Result<(), IdentityError> {
    let io = |source| IdentityError::Io {
        path: path.to_path_buf(),
        source,
    };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(io)?;
    }
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, text).map_err(io)?;
    std::fs::File::open(&tmp)
        .and_then(|f| f.sync_all())
        .map_err(io)?;
    std::fs::rename(&tmp, path).map_err(io)
}

pub(crate) fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_saved_identity_is_read_back_and_another_brokers_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(load(dir.path(), "C", "b").unwrap(), None);
        write(&dir.path().join(BROKER_IDENTITY_FILE), "C#b#2").unwrap();
        assert_eq!(load(dir.path(), "C", "b").unwrap(), Some(2));
        assert!(matches!(
            load(dir.path(), "C", "other"),
            Err(IdentityError::Mismatch { .. })
        ));
        write(&dir.path().join(BROKER_IDENTITY_FILE), "C#b#zero").unwrap();
        assert!(load(dir.path(), "C", "b").is_err());
    }
}
