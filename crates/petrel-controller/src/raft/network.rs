//! Raft RPCs between controllers, over petrel-remoting on each controller's one port.
//!
//! A call is a request with code [`RAFT_VOTE`], [`RAFT_APPEND_ENTRIES`] or
//! [`RAFT_INSTALL_SNAPSHOT`], the sender's group in `extFields` ([`GROUP_FIELD`]) and the
//! openraft request as JSON in the body. The answer is SUCCESS with the JSON of
//! `Result<response, RaftError>`, so the callee's raft errors reach the caller's raft as they
//! are; any other code (a wrong group, an undecodable body) is a network error to openraft.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;

use openraft::error::{
    InstallSnapshotError, NetworkError, RPCError, RaftError, RemoteError, Unreachable,
};
use openraft::network::{Backoff, RPCOption, RaftNetwork, RaftNetworkFactory};
use openraft::raft::{
    AppendEntriesRequest, AppendEntriesResponse, InstallSnapshotRequest, InstallSnapshotResponse,
    VoteRequest, VoteResponse,
};
use openraft::BasicNode;
use petrel_protocol::remoting::{response_code, RemotingCommand};
use petrel_remoting::{RemotingClient, RemotingError};
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::{Raft, TypeConfig, GROUP_FIELD, RAFT_APPEND_ENTRIES, RAFT_INSTALL_SNAPSHOT, RAFT_VOTE};

/// Makes a client per peer; all share one remoting client (one connection per peer).
pub struct Network {
    client: Arc<RemotingClient>,
    group: String,
    unreachable: Arc<Mutex<BTreeSet<u64>>>,
}

impl Network {
    pub fn new(client: Arc<RemotingClient>, group: &str) -> Network {
        Network {
            client,
            group: group.to_string(),
            unreachable: Arc::default(),
        }
    }
}

impl RaftNetworkFactory<TypeConfig> for Network {
    type Network = PeerClient;

    async fn new_client(&mut self, target: u64, node: &BasicNode) -> PeerClient {
        PeerClient {
            client: Arc::clone(&self.client),
            group: self.group.clone(),
            target,
            addr: node.addr.clone(),
            unreachable: Arc::clone(&self.unreachable),
        }
    }
}

/// Raft calls to one peer.
pub struct PeerClient {
    client: Arc<RemotingClient>,
    group: String,
    target: u64,
    addr: String,
    /// Peers whose last call failed to connect: logged once when they go and once when they
    /// come back (openraft's own per-retry lines are filtered out by default).
    unreachable: Arc<Mutex<BTreeSet<u64>>>,
}

/// Why a call did not produce the peer's answer.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct CallError(String);

impl PeerClient {
    async fn call<Req: Serialize, Resp: DeserializeOwned, E>(
        &self,
        code: i32,
        request: &Req,
        option: &RPCOption,
    ) -> Result<Resp, RPCError<u64, BasicNode, E>>
    where
        E: std::error::Error + DeserializeOwned,
    {
        let body =
            serde_json::to_vec(request).map_err(|e| RPCError::Network(NetworkError::new(&e)))?;
        let mut command = RemotingCommand::request(code).with_body(body);
        command.ext_fields.insert(GROUP_FIELD, self.group.clone());
        let response = match self
            .client
            .invoke(&self.addr, command, option.hard_ttl())
            .await
        {
            Ok(response) => {
                if self.unreachable.lock().remove(&self.target) {
                    tracing::info!(peer = %self.addr, "controller peer reachable again");
                }
                response
            }
            Err(e @ (RemotingError::Connect { .. } | RemotingError::ConnectionClosed(_))) => {
                if self.unreachable.lock().insert(self.target) {
                    tracing::warn!(peer = %self.addr, error = %e, "controller peer unreachable; retrying");
                }
                return Err(RPCError::Unreachable(Unreachable::new(&e)));
            }
            Err(e) => return Err(RPCError::Network(NetworkError::new(&e))),
        };
        if response.code != response_code::SUCCESS {
            let why = CallError(format!(
                "{} refused the raft call (code {}): {}",
                self.addr,
                response.code,
                response.remark.unwrap_or_default()
            ));
            return Err(RPCError::Network(NetworkError::new(&why)));
        }
        let result: Result<Resp, E> = serde_json::from_slice(&response.body)
            .map_err(|e| RPCError::Network(NetworkError::new(&e)))?;
        result.map_err(|e| RPCError::RemoteError(RemoteError::new(self.target, e)))
    }
}

impl RaftNetwork<TypeConfig> for PeerClient {
    async fn append_entries(
        &mut self,
        rpc: AppendEntriesRequest<TypeConfig>,
        option: RPCOption,
    ) -> Result<AppendEntriesResponse<u64>, RPCError<u64, BasicNode, RaftError<u64>>> {
        self.call(RAFT_APPEND_ENTRIES, &rpc, &option).await
    }

    async fn install_snapshot(
        &mut self,
        rpc: InstallSnapshotRequest<TypeConfig>,
        option: RPCOption,
    ) -> Result<
        InstallSnapshotResponse<u64>,
        RPCError<u64, BasicNode, RaftError<u64, InstallSnapshotError>>,
    > {
        self.call(RAFT_INSTALL_SNAPSHOT, &rpc, &option).await
    }

    async fn vote(
        &mut self,
        rpc: VoteRequest<u64>,
        option: RPCOption,
    ) -> Result<VoteResponse<u64>, RPCError<u64, BasicNode, RaftError<u64>>> {
        self.call(RAFT_VOTE, &rpc, &option).await
    }

    /// After a peer is unreachable: retry after 100, 200, 400 ms, then every 1 s.
    fn backoff(&self) -> Backoff {
        Backoff::new(
            [100, 200, 400]
                .into_iter()
                .chain(std::iter::repeat(1_000))
                .map(Duration::from_millis),
        )
    }
}

/// Serves a raft RPC that arrived: checks the group, hands the request to the local raft node
/// and encodes its result. `Err` is a refusal remark (answered with CONTROLLER_INVALID_REQUEST).
pub async fn serve(raft: &Raft, group: &str, request: &RemotingCommand) -> Result<Vec<u8>, String> {
    let from_group = request.ext_fields.get(GROUP_FIELD).unwrap_or_default();
    if from_group != group {
        return Err(format!(
            "raft traffic for controller group {from_group:?} reached group {group:?}; check controllerDLegerGroup and controllerDLegerPeers on every controller"
        ));
    }
    fn decode<T: DeserializeOwned>(body: &[u8]) -> Result<T, String> {
        serde_json::from_slice(body).map_err(|e| format!("undecodable raft request: {e}"))
    }
    fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>, String> {
        serde_json::to_vec(value).map_err(|e| format!("unencodable raft response: {e}"))
    }
    match request.code {
        RAFT_VOTE => encode(&raft.vote(decode(&request.body)?).await),
        RAFT_APPEND_ENTRIES => encode(&raft.append_entries(decode(&request.body)?).await),
        RAFT_INSTALL_SNAPSHOT => encode(&raft.install_snapshot(decode(&request.body)?).await),
        other => Err(format!("{other} is not a raft request code")),
    }
}
