//! Clients: the settings each one announced on its Telemetry stream (the first thing every
//! official client does: `TelemetryCommand{settings}`, answered with status OK and the settings
//! merged with the server's, as Apache's proxy does in `ClientActivity` and
//! `GrpcClientSettingsManager`), Heartbeat and NotifyClientTermination, which need those
//! settings, and the stream kept open for commands the server sends later.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use parking_lot::Mutex;
use petrel_auth::{Action, Need, Resource as AuthResource};
use petrel_protocol::name;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::Streaming;

use crate::auth;
use crate::metadata::Caller;
use crate::pb::settings::PubSub;
use crate::pb::telemetry_command::Command;
use crate::pb::{
    retry_policy, ClientType, Code, ExponentialBackoff, HeartbeatRequest, HeartbeatResponse,
    NotifyClientTerminationRequest, NotifyClientTerminationResponse, RetryPolicy, Settings,
    TelemetryCommand,
};
use crate::server::Shared;
use crate::status::{ok, status, Failure};

/// Replies queued per Telemetry stream before the reader waits for the client to take them.
const TELEMETRY_QUEUE_COMMANDS: usize = 16;
/// A producer's retry policy given in the merged settings (Apache proxy's defaults:
/// `grpcClientProducerMaxAttempts`, `...BackoffInitialMillis`, `...MaxMillis`, `...Multiplier`).
const PRODUCER_MAX_ATTEMPTS: i32 = 3;
const PRODUCER_BACKOFF_INITIAL_MS: i64 = 10;
const PRODUCER_BACKOFF_MAX_MS: i64 = 1_000;
const PRODUCER_BACKOFF_MULTIPLIER: f32 = 2.0;

pub type TelemetrySender = mpsc::Sender<Result<TelemetryCommand, tonic::Status>>;

struct ClientEntry {
    settings: Settings,
    /// The Telemetry stream that announced the settings: server-initiated commands go there.
    telemetry: TelemetrySender,
    stream_id: u64,
}

/// Settings per client id, bounded by `max_clients`.
pub struct ClientRegistry {
    clients: Mutex<HashMap<String, ClientEntry>>,
    max_clients: usize,
    next_stream_id: AtomicU64,
}

impl ClientRegistry {
    pub fn new(max_clients: usize) -> ClientRegistry {
        ClientRegistry {
            clients: Mutex::new(HashMap::new()),
            max_clients,
            next_stream_id: AtomicU64::new(1),
        }
    }

    pub fn settings(&self, client_id: &str) -> Option<Settings> {
        self.clients
            .lock()
            .get(client_id)
            .map(|e| e.settings.clone())
    }

    /// Keeps `settings` for `client_id` (replacing earlier ones); false when the table is full.
    fn put(
        &self,
        client_id: &str,
        settings: Settings,
        telemetry: TelemetrySender,
        stream_id: u64,
    ) -> bool {
        let mut clients = self.clients.lock();
        if !clients.contains_key(client_id) && clients.len() >= self.max_clients {
            return false;
        }
        clients.insert(
            client_id.to_string(),
            ClientEntry {
                settings,
                telemetry,
                stream_id,
            },
        );
        true
    }

    /// Forgets the client if its settings came from stream `stream_id` (a newer stream of the
    /// same client keeps its own).
    fn remove_stream(&self, client_id: &str, stream_id: u64) {
        let mut clients = self.clients.lock();
        if clients
            .get(client_id)
            .is_some_and(|e| e.stream_id == stream_id)
        {
            clients.remove(client_id);
        }
    }

    /// The Telemetry streams of producers that publish to `topic` (open ones only).
    pub fn publishers_of(&self, topic: &str) -> Vec<TelemetrySender> {
        self.clients
            .lock()
            .values()
            .filter(|e| !e.telemetry.is_closed())
            .filter(|e| match &e.settings.pub_sub {
                Some(PubSub::Publishing(p)) => p.topics.iter().any(|t| t.name == topic),
                _ => false,
            })
            .map(|e| e.telemetry.clone())
            .collect()
    }

    fn remove(&self, client_id: &str) -> Option<Settings> {
        self.clients.lock().remove(client_id).map(|e| e.settings)
    }
}

fn millis(ms: i64) -> prost_types::Duration {
    prost_types::Duration {
        seconds: ms / 1000,
        nanos: ((ms % 1000) * 1_000_000) as i32,
    }
}

/// The client's settings completed with the server's, as the proxy merges them: a producer
/// learns the largest body it may send, that message types are checked, and its retry policy.
pub fn merge_settings(mut settings: Settings, max_message_body_bytes: usize) -> Settings {
    if let Some(PubSub::Publishing(publishing)) = &mut settings.pub_sub {
        publishing.max_body_size = i32::try_from(max_message_body_bytes).unwrap_or(i32::MAX);
        publishing.validate_message_type = true;
        settings.backoff_policy = Some(RetryPolicy {
            max_attempts: PRODUCER_MAX_ATTEMPTS,
            strategy: Some(retry_policy::Strategy::ExponentialBackoff(
                ExponentialBackoff {
                    initial: Some(millis(PRODUCER_BACKOFF_INITIAL_MS)),
                    max: Some(millis(PRODUCER_BACKOFF_MAX_MS)),
                    multiplier: PRODUCER_BACKOFF_MULTIPLIER,
                },
            )),
        });
    }
    settings
}

/// The retry delays a consumer backs off by (RocketMQ's default customized policy).
const CONSUMER_BACKOFF_MS: [i64; 18] = [
    1_000, 5_000, 10_000, 30_000, 60_000, 120_000, 180_000, 240_000, 300_000, 360_000, 420_000,
    480_000, 540_000, 600_000, 1_200_000, 1_800_000, 3_600_000, 7_200_000,
];
/// Messages a push consumer receives at a time.
const CONSUMER_RECEIVE_BATCH_SIZE: i32 = 32;

/// A consumer's settings completed from its group, as the proxy does: FIFO when the group
/// consumes orderly, at most `retryMaxTimes + 1` deliveries, the default retry delays, and
/// the push consumer's batch size and long-polling time.
pub fn consumer_settings(shared: &Shared, mut settings: Settings) -> Settings {
    let Some(PubSub::Subscription(subscription)) = &mut settings.pub_sub else {
        return settings;
    };
    let group = subscription
        .group
        .as_ref()
        .map(|g| g.name.clone())
        .unwrap_or_default();
    let config = shared
        .broker
        .groups
        .find_or_create(&group)
        .unwrap_or_default();
    subscription.fifo = Some(config.consume_message_orderly);
    subscription.receive_batch_size = Some(CONSUMER_RECEIVE_BATCH_SIZE);
    subscription.long_polling_timeout = Some(millis(crate::consume::MAX_LONG_POLLING_MS));
    settings.backoff_policy = Some(RetryPolicy {
        max_attempts: config.retry_max_times.saturating_add(1).max(1),
        strategy: Some(retry_policy::Strategy::CustomizedBackoff(
            crate::pb::CustomizedBackoff {
                next: CONSUMER_BACKOFF_MS.iter().map(|ms| millis(*ms)).collect(),
            },
        )),
    });
    settings
}

/// Why settings are refused: a v2 code for the reply, or an INVALID_ARGUMENT that ends the
/// stream (the proxy's answer to settings with neither publishing nor subscription).
enum SettingsRefusal {
    Reply(Code, String),
    EndStream(&'static str),
    /// Refused by authentication or authorization (the status says which).
    Status(crate::pb::Status),
}

/// What announcing `settings` needs (Apache's `DefaultAuthorizationContextBuilder`): a
/// producer publishes to its topics; a consumer subscribes as its group to its topics.
fn settings_needs(settings: &Settings) -> Vec<Need> {
    match &settings.pub_sub {
        Some(PubSub::Publishing(p)) => p
            .topics
            .iter()
            .map(|t| Need::new(AuthResource::topic(&t.name), &[Action::Pub]))
            .collect(),
        Some(PubSub::Subscription(s)) => {
            let mut needs: Vec<Need> = s
                .group
                .iter()
                .map(|g| Need::new(AuthResource::group(&g.name), &[Action::Sub]))
                .collect();
            needs.extend(s.subscriptions.iter().filter_map(|e| {
                e.topic
                    .as_ref()
                    .map(|t| Need::new(AuthResource::topic(&t.name), &[Action::Sub]))
            }));
            needs
        }
        None => Vec::new(),
    }
}

/// What a request naming consumer `group` needs (none for producers).
fn group_needs(group: Option<&crate::pb::Resource>) -> Vec<Need> {
    group
        .filter(|g| !g.name.trim().is_empty())
        .map(|g| Need::new(AuthResource::group(&g.name), &[Action::Sub]))
        .into_iter()
        .collect()
}

fn check_settings(settings: &Settings) -> Result<(), SettingsRefusal> {
    let client_type =
        ClientType::try_from(settings.client_type.unwrap_or(0)).unwrap_or(ClientType::Unspecified);
    match &settings.pub_sub {
        None => Err(SettingsRefusal::EndStream(
            "there is no publishing or subscription data in settings",
        )),
        Some(PubSub::Publishing(p)) => {
            if client_type != ClientType::Producer {
                return Err(SettingsRefusal::Reply(
                    Code::BadRequest,
                    format!(
                        "publishing settings require PRODUCER client type, actual: {}",
                        client_type.as_str_name()
                    ),
                ));
            }
            for topic in &p.topics {
                if let Err(e) = name::check_topic(&topic.name) {
                    return Err(SettingsRefusal::Reply(Code::IllegalTopic, e.to_string()));
                }
            }
            Ok(())
        }
        Some(PubSub::Subscription(s)) => {
            if !matches!(
                client_type,
                ClientType::PushConsumer | ClientType::SimpleConsumer
            ) {
                return Err(SettingsRefusal::Reply(
                    Code::BadRequest,
                    format!(
                        "subscription settings require consumer client type, actual: {}",
                        client_type.as_str_name()
                    ),
                ));
            }
            let group = s.group.as_ref().map(|g| g.name.as_str()).unwrap_or("");
            if let Err(e) = name::check_group(group) {
                return Err(SettingsRefusal::Reply(
                    Code::IllegalConsumerGroup,
                    e.to_string(),
                ));
            }
            Ok(())
        }
    }
}

fn reply(code: Code, message: impl Into<String>) -> TelemetryCommand {
    TelemetryCommand {
        status: Some(status(code, message)),
        command: None,
    }
}

/// Telemetry: a task reads the client's commands and answers on a bounded queue that is the
/// response stream. It ends when the client ends the stream, on a refusal that ends it, or
/// when the server stops.
pub fn telemetry(
    shared: Arc<Shared>,
    caller: Caller,
    mut inbound: Streaming<TelemetryCommand>,
) -> ReceiverStream<Result<TelemetryCommand, tonic::Status>> {
    let (tx, rx) = mpsc::channel(TELEMETRY_QUEUE_COMMANDS);
    let stream_id = shared
        .clients
        .next_stream_id
        .fetch_add(1, Ordering::Relaxed);
    tokio::spawn(async move {
        let Some(client_id) = caller.client_id.clone() else {
            let _ = tx
                .send(Ok(reply(
                    Code::ClientIdRequired,
                    "the x-mq-client-id header is required",
                )))
                .await;
            return;
        };
        let mut stopping = shared.stopping.subscribe();
        loop {
            let next = tokio::select! {
                next = inbound.message() => next,
                _ = stopping.wait_for(|s| *s) => break,
            };
            let command = match next {
                Ok(Some(command)) => command,
                Ok(None) => break,
                Err(e) => {
                    tracing::debug!(%client_id, error = %e, "telemetry stream ended with an error");
                    break;
                }
            };
            let answer = match command.command {
                Some(Command::Settings(settings)) => {
                    match check_settings(&settings).and_then(|()| {
                        auth::check(&shared, &caller, &settings_needs(&settings))
                            .map_err(|Failure(s)| SettingsRefusal::Status(s))
                    }) {
                        Ok(()) => {
                            let merged = consumer_settings(
                                &shared,
                                merge_settings(settings, shared.config.max_message_body_bytes),
                            );
                            if shared
                                .clients
                                .put(&client_id, merged.clone(), tx.clone(), stream_id)
                            {
                                tracing::debug!(%client_id, language = %caller.language, remote = ?caller.remote, "client settings");
                                TelemetryCommand {
                                    status: Some(ok()),
                                    command: Some(Command::Settings(merged)),
                                }
                            } else {
                                reply(
                                    Code::TooManyRequests,
                                    format!(
                                        "this server keeps the settings of at most {} clients",
                                        shared.config.max_clients
                                    ),
                                )
                            }
                        }
                        Err(SettingsRefusal::Reply(code, message)) => reply(code, message),
                        Err(SettingsRefusal::Status(s)) => TelemetryCommand {
                            status: Some(s),
                            command: None,
                        },
                        Err(SettingsRefusal::EndStream(why)) => {
                            let _ = tx.send(Err(tonic::Status::invalid_argument(why))).await;
                            break;
                        }
                    }
                }
                // Answers to server-initiated commands; none is sent yet, so nothing waits.
                Some(Command::ThreadStackTrace(_)) | Some(Command::VerifyMessageResult(_)) => {
                    continue
                }
                Some(_) => reply(
                    Code::BadRequest,
                    "this command is sent by servers, not by clients",
                ),
                None => reply(
                    Code::BadRequest,
                    "the telemetry command carries nothing; send the client's settings first",
                ),
            };
            if tx.send(Ok(answer)).await.is_err() {
                break;
            }
        }
        shared.clients.remove_stream(&client_id, stream_id);
    });
    ReceiverStream::new(rx)
}

fn settings_of(shared: &Shared, caller: &Caller) -> Result<Settings, crate::pb::Status> {
    let Some(client_id) = caller.client_id.as_deref() else {
        return Err(status(
            Code::ClientIdRequired,
            "the x-mq-client-id header is required",
        ));
    };
    shared.clients.settings(client_id).ok_or_else(|| {
        status(
            Code::UnrecognizedClientType,
            "cannot find client settings for this client",
        )
    })
}

pub fn heartbeat(
    shared: &Shared,
    caller: &Caller,
    request: &HeartbeatRequest,
) -> HeartbeatResponse {
    if let Err(Failure(s)) = auth::check(shared, caller, &group_needs(request.group.as_ref())) {
        return HeartbeatResponse { status: Some(s) };
    }
    let status = match settings_of(shared, caller) {
        Err(s) => s,
        Ok(settings) => match settings.pub_sub {
            Some(PubSub::Publishing(_)) => ok(),
            Some(PubSub::Subscription(_)) => {
                let group = request
                    .group
                    .as_ref()
                    .map(|g| g.name.as_str())
                    .unwrap_or("");
                match name::check_group(group) {
                    Ok(()) => ok(),
                    Err(e) => status(Code::IllegalConsumerGroup, e.to_string()),
                }
            }
            None => status(Code::UnrecognizedClientType, "UNSPECIFIED"),
        },
    };
    HeartbeatResponse {
        status: Some(status),
    }
}

pub fn notify_client_termination(
    shared: &Shared,
    caller: &Caller,
    request: &NotifyClientTerminationRequest,
) -> NotifyClientTerminationResponse {
    if let Err(Failure(s)) = auth::check(shared, caller, &group_needs(request.group.as_ref())) {
        return NotifyClientTerminationResponse { status: Some(s) };
    }
    let status = match caller.client_id.as_deref() {
        None => status(
            Code::ClientIdRequired,
            "the x-mq-client-id header is required",
        ),
        Some(id) => match shared.clients.remove(id) {
            Some(_) => ok(),
            None => status(
                Code::UnrecognizedClientType,
                "cannot find client settings for this client",
            ),
        },
    };
    NotifyClientTerminationResponse {
        status: Some(status),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pb::{Publishing, Resource};

    #[test]
    fn producer_settings_get_the_body_limit_and_a_retry_policy() {
        let settings = Settings {
            client_type: Some(ClientType::Producer as i32),
            pub_sub: Some(PubSub::Publishing(Publishing {
                topics: vec![Resource {
                    resource_namespace: String::new(),
                    name: "t".into(),
                }],
                max_body_size: 0,
                validate_message_type: false,
            })),
            ..Settings::default()
        };
        assert!(check_settings(&settings).is_ok());
        let merged = merge_settings(settings, 4 * 1024 * 1024);
        let Some(PubSub::Publishing(p)) = &merged.pub_sub else {
            panic!("publishing kept");
        };
        assert_eq!(p.max_body_size, 4 * 1024 * 1024);
        assert!(p.validate_message_type);
        assert_eq!(merged.backoff_policy.map(|b| b.max_attempts), Some(3));
    }

    #[test]
    fn settings_without_publishing_or_subscription_end_the_stream() {
        let settings = Settings {
            client_type: Some(ClientType::Producer as i32),
            ..Settings::default()
        };
        assert!(matches!(
            check_settings(&settings),
            Err(SettingsRefusal::EndStream(_))
        ));
    }
}
