//! Requests to the controllers: finds the leader with CONTROLLER_GET_METADATA_INFO (1005) on any
//! `controllerAddr` and retries once on CONTROLLER_NOT_LEADER or a closed connection.

use std::time::Duration;

use parking_lot::Mutex;
use petrel_protocol::remoting::header::GetMetaDataResponseHeader;
use petrel_protocol::remoting::{request_code, response_code, RemotingCommand};
use petrel_remoting::{RemotingClient, RemotingConfig, RemotingError};

/// Bound on each request to a controller or a peer broker.
pub const CONTROLLER_CALL_TIMEOUT: Duration = Duration::from_secs(3);
/// Bound on the leader lookup at each address.
const METADATA_TIMEOUT: Duration = Duration::from_secs(1);

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error(
        "no controller leader found at {addrs}: are the controllers running and do they have a \
         majority? ({last})"
    )]
    NoLeader { addrs: String, last: String },
    #[error("controller {addr}: {source}")]
    Call {
        addr: String,
        #[source]
        source: RemotingError,
    },
}

pub struct ControllerClient {
    addrs: Vec<String>,
    remoting: RemotingClient,
    leader: Mutex<Option<String>>,
}

impl ControllerClient {
    pub fn new(addrs: Vec<String>) -> Self {
        Self {
            addrs,
            remoting: RemotingClient::new(RemotingConfig::default(), None),
            leader: Mutex::new(None),
        }
    }

    /// The connection pool, also used for requests to other brokers.
    pub fn remoting(&self) -> &RemotingClient {
        &self.remoting
    }

    /// The leader's address, asking every controller until one knows.
    pub async fn leader(&self) -> Result<String, ClientError> {
        if let Some(l) = self.leader.lock().clone() {
            return Ok(l);
        }
        let mut last = String::from("no answer");
        for addr in &self.addrs {
            let request = RemotingCommand::request(request_code::CONTROLLER_GET_METADATA_INFO);
            match self.remoting.invoke(addr, request, METADATA_TIMEOUT).await {
                Ok(r) if r.code == response_code::SUCCESS => {
                    match r.decode_header::<GetMetaDataResponseHeader>() {
                        Ok(h) if h.is_leader => return Ok(self.remember(addr.clone())),
                        Ok(h) => match h.controller_leader_address.filter(|a| !a.is_empty()) {
                            Some(leader) => return Ok(self.remember(leader)),
                            None => last = format!("{addr} knows no leader yet"),
                        },
                        Err(e) => last = format!("{addr}: {e}"),
                    }
                }
                Ok(r) => last = format!("{addr}: code {} {:?}", r.code, r.remark),
                Err(e) => last = format!("{addr}: {e}"),
            }
        }
        Err(ClientError::NoLeader {
            addrs: self.addrs.join(";"),
            last,
        })
    }

    fn remember(&self, leader: String) -> String {
        *self.leader.lock() = Some(leader.clone());
        leader
    }

    fn forget(&self) {
        *self.leader.lock() = None;
    }

    /// Sends `request` to the leader; on NOT_LEADER or a lost connection, finds the leader
    /// again and retries once.
    pub async fn call(&self, request: RemotingCommand) -> Result<RemotingCommand, ClientError> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let leader = self.leader().await?;
            match self
                .remoting
                .invoke(&leader, request.clone(), CONTROLLER_CALL_TIMEOUT)
                .await
            {
                Ok(r) if r.code == response_code::CONTROLLER_NOT_LEADER && attempt < 2 => {
                    self.forget();
                }
                Ok(r) => {
                    if r.code == response_code::CONTROLLER_NOT_LEADER {
                        self.forget();
                    }
                    return Ok(r);
                }
                Err(source) => {
                    self.forget();
                    if attempt >= 2 {
                        return Err(ClientError::Call {
                            addr: leader,
                            source,
                        });
                    }
                }
            }
        }
    }

    /// A oneway request (heartbeats) to the leader.
    pub async fn oneway(&self, request: RemotingCommand) -> Result<(), ClientError> {
        let leader = self.leader().await?;
        self.remoting
            .invoke_oneway(&leader, request)
            .await
            .map_err(|source| {
                self.forget();
                ClientError::Call {
                    addr: leader,
                    source,
                }
            })
    }
}
