//! The KV config: `PUT_KV_CONFIG` (100), `GET_KV_CONFIG` (101), `DELETE_KV_CONFIG` (102) and
//! `GET_KVLIST_BY_NAMESPACE` (219). Changes are persisted (when a file is configured)
//! before the answer.

use std::sync::Arc;

use petrel_protocol::remoting::body::JsonBody;
use petrel_protocol::remoting::header::{
    DeleteKVConfigRequestHeader, GetKVConfigRequestHeader, GetKVConfigResponseHeader,
    GetKVListByNamespaceRequestHeader, PutKVConfigRequestHeader,
};
use petrel_protocol::remoting::RemotingCommand;

use super::{success, ProcessResult};
use crate::error::RequestError;
use crate::state::NamesrvState;

pub(crate) async fn put_kv_config(
    state: &Arc<NamesrvState>,
    request: &RemotingCommand,
) -> ProcessResult {
    let header: PutKVConfigRequestHeader = request.decode_header()?;
    state
        .kv
        .write()
        .put(&header.namespace, &header.key, &header.value);
    tracing::info!(namespace = %header.namespace, key = %header.key, value = %header.value, "KV config set");
    state.persist_kv().await.map_err(RequestError::KvPersist)?;
    Ok(success(request))
}

pub(crate) fn get_kv_config(state: &NamesrvState, request: &RemotingCommand) -> ProcessResult {
    let header: GetKVConfigRequestHeader = request.decode_header()?;
    let value = state
        .kv
        .read()
        .get(&header.namespace, &header.key)
        .map(str::to_owned);
    match value {
        Some(value) => {
            Ok(success(request).with_header(&GetKVConfigResponseHeader { value: Some(value) }))
        }
        None => Err(RequestError::KvNotFound {
            namespace: header.namespace,
            key: header.key,
        }),
    }
}

pub(crate) async fn delete_kv_config(
    state: &Arc<NamesrvState>,
    request: &RemotingCommand,
) -> ProcessResult {
    let header: DeleteKVConfigRequestHeader = request.decode_header()?;
    let removed = state.kv.write().delete(&header.namespace, &header.key);
    tracing::info!(namespace = %header.namespace, key = %header.key, existed = removed.is_some(), "KV config deleted");
    state.persist_kv().await.map_err(RequestError::KvPersist)?;
    Ok(success(request))
}

pub(crate) fn get_kv_list_by_namespace(
    state: &NamesrvState,
    request: &RemotingCommand,
) -> ProcessResult {
    let header: GetKVListByNamespaceRequestHeader = request.decode_header()?;
    let table = state.kv.read().namespace(&header.namespace);
    match table {
        Some(table) => Ok(success(request).with_body(table.encode())),
        None => Err(RequestError::KvNamespaceNotFound(header.namespace)),
    }
}
