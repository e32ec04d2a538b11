//! `petrel admin`: mqadmin's everyday commands, with mqadmin's names and flags, over
//! `petrel_client::admin`. Tables by default, one JSON document with `--json`; errors go to
//! stderr with exit code 1 (usage errors: 2, from clap). See docs/admin.md.
//!
//! One file per command family: [`topic`], [`cluster`], [`group`] (subscription groups,
//! progress, connections), [`query`] (finding messages), [`consume`] (printMsg,
//! consumeMessage), [`send`] (sendMessage, resendMsgById), [`offset`] (resetOffsetByTime) and
//! [`ha`] (haStatus), [`auth`] (ACL users and rules: createUser … listAcl), [`controller`]
//! (5.x controller mode: getControllerMetaData, getSyncStateSet, getBrokerEpoch, electMaster,
//! getControllerConfig, updateControllerConfig, cleanBrokerMetadata).

mod auth;
mod cluster;
mod consume;
mod controller;
mod group;
mod ha;
mod offset;
mod output;
mod query;
mod send;
mod stats_all;
mod topic;
mod trace;

use std::io::Write;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Args, Subcommand};
use petrel_client::admin::Admin;
use petrel_client::ClientConfig;

/// The name server used when neither `-n` nor `NAMESRV_ADDR` names one.
const DEFAULT_NAMESRV: &str = "127.0.0.1:9876";
/// How long one request (and one connection attempt) may take. Longer than a client's 3 s:
/// admin writes make brokers persist their configs, which a busy disk can hold up, and a
/// command that gives up early leaves the operator guessing whether it applied.
const REQUEST_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

#[derive(Args)]
#[command(
    about = "mqadmin's everyday commands: topics, groups, offsets, messages",
    long_about = "mqadmin's everyday commands with mqadmin's names and flags. Prints aligned \
                  tables; --json prints one JSON document. Exit code 1 on errors, 2 on usage \
                  errors. Times are UTC."
)]
pub struct AdminArgs {
    /// Name server addresses, `;`-separated [default: $NAMESRV_ADDR, else 127.0.0.1:9876].
    #[arg(short = 'n', long = "namesrvAddr", value_name = "ADDRS", global = true)]
    namesrv: Option<String>,
    /// Print one JSON document instead of tables.
    #[arg(long, global = true)]
    json: bool,
    /// Sign every request with this ACL user's AccessKey (brokers with authentication on).
    #[arg(
        long = "access-key",
        value_name = "KEY",
        global = true,
        env = "PETREL_ACCESS_KEY",
        requires = "secret_key"
    )]
    access_key: Option<String>,
    /// Connect with TLS (brokers and name servers with tls.server.mode permissive or
    /// enforcing); the server's certificate is not verified, as in mqadmin.
    #[arg(long, global = true)]
    tls: bool,
    /// The SecretKey of --access-key.
    #[arg(
        long = "secret-key",
        value_name = "SECRET",
        global = true,
        env = "PETREL_SECRET_KEY",
        hide_env_values = true,
        requires = "access_key"
    )]
    secret_key: Option<String>,
    #[command(subcommand)]
    command: AdminCommand,
}

#[derive(Subcommand)]
#[command(rename_all = "camelCase")]
enum AdminCommand {
    /// Create or update a topic on a cluster's masters or one broker.
    UpdateTopic(topic::UpdateTopicArgs),
    /// Delete a topic from a cluster's masters and the name servers.
    DeleteTopic(topic::DeleteTopicArgs),
    /// List every topic the name servers know.
    TopicList(topic::TopicListArgs),
    /// Show which brokers serve a topic, with how many queues.
    TopicRoute(topic::TopicRouteArgs),
    /// Show each queue's min and max offset and last store time.
    TopicStatus(topic::TopicStatusArgs),
    /// List clusters and their brokers with throughput and disk use.
    ClusterList(cluster::ClusterListArgs),
    /// Show a broker's runtime figures.
    BrokerStatus(cluster::BrokerStatusArgs),
    /// Replication state: a master's slaves (offsets, lag in bytes and time) or a slave's link.
    HaStatus(ha::HaStatusArgs),
    /// Create or update a subscription (consumer) group.
    UpdateSubGroup(group::UpdateSubGroupArgs),
    /// Read a topic by PULL or POP for a consumer group (5.x push consumers with clientRebalance=false).
    SetConsumeMode(group::SetConsumeModeArgs),
    /// Delete a subscription group (and with -c its retry and DLQ topics).
    DeleteSubGroup(group::DeleteSubGroupArgs),
    /// Show a group's lag per queue, or every group's total lag.
    ConsumerProgress(group::ConsumerProgressArgs),
    /// Show a consumer group's live clients and subscriptions.
    ConsumerConnection(group::ConsumerConnectionArgs),
    /// Show a producer group's live clients.
    ProducerConnection(group::ProducerConnectionArgs),
    /// Show a message by id (offset msgId or unique key).
    QueryMsgById(query::QueryMsgByIdArgs),
    /// List messages with a key.
    QueryMsgByKey(query::QueryMsgByKeyArgs),
    /// Show the message at a queue offset.
    QueryMsgByOffset(query::QueryMsgByOffsetArgs),
    /// Show messages by unique key (client msgId).
    QueryMsgByUniqueKey(query::QueryMsgByUniqueKeyArgs),
    /// Print every message of a topic (optionally in a time range).
    PrintMsg(consume::PrintMsgArgs),
    /// Read messages of a topic, a queue, or from an offset (commits nothing).
    ConsumeMessage(consume::ConsumeMessageArgs),
    /// Send one message.
    SendMessage(send::SendMessageArgs),
    /// Send messages from a DLQ (or any topic) back to their original topic.
    ResendMsgById(send::ResendMsgByIdArgs),
    /// Move a consumer group's offsets on a topic to a point in time.
    ResetOffsetByTime(offset::ResetOffsetByTimeArgs),
    /// Every topic's in TPS and each consuming group's out TPS and backlog.
    StatsAll(stats_all::StatsAllArgs),
    /// Show a message's trace: sent, stored, delivered, consumed (clients with trace on).
    QueryMsgTraceById(trace::QueryMsgTraceByIdArgs),
    /// Create an ACL user on a broker or cluster.
    CreateUser(auth::UserArgs),
    /// Change an ACL user's password, type or status.
    UpdateUser(auth::UserArgs),
    /// Delete an ACL user (and its ACL).
    DeleteUser(auth::UsernameArgs),
    /// Show an ACL user.
    GetUser(auth::UsernameArgs),
    /// List ACL users.
    ListUser(auth::ListUserArgs),
    /// Add rules to a user's ACL.
    CreateAcl(auth::AclArgs),
    /// Change rules of a user's ACL (the same as createAcl, as in mqadmin).
    UpdateAcl(auth::AclArgs),
    /// Delete a user's ACL, or its rules for some resources.
    DeleteAcl(auth::DeleteAclArgs),
    /// Show a user's ACL.
    GetAcl(auth::GetAclArgs),
    /// List ACLs.
    ListAcl(auth::ListAclArgs),
    /// Controller mode: the controller group, its leader and peers.
    GetControllerMetaData(controller::GetControllerMetaDataArgs),
    /// Controller mode: each broker set's master, epochs and SyncStateSet.
    GetSyncStateSet(controller::GetSyncStateSetArgs),
    /// Controller mode: each broker's epochs and the CommitLog range written under each.
    GetBrokerEpoch(controller::GetBrokerEpochArgs),
    /// Controller mode: make a broker the master of its set.
    ElectMaster(controller::ElectMasterArgs),
    /// Controller mode: show the controllers' configuration.
    GetControllerConfig(controller::GetControllerConfigArgs),
    /// Controller mode: change a key of the controllers' configuration.
    UpdateControllerConfig(controller::UpdateControllerConfigArgs),
    /// Controller mode: make the controller forget a broker set, or some of its brokers.
    CleanBrokerMetadata(controller::CleanBrokerMetadataArgs),
}

/// What every command works with.
pub(crate) struct Ctx {
    pub admin: Admin,
    pub json: bool,
}

/// `-n`, else `NAMESRV_ADDR`, else the default.
fn namesrv_addr(flag: Option<String>) -> String {
    flag.filter(|s| !s.trim().is_empty())
        .or_else(|| {
            std::env::var("NAMESRV_ADDR")
                .ok()
                .filter(|s| !s.trim().is_empty())
        })
        .unwrap_or_else(|| DEFAULT_NAMESRV.to_string())
}

/// Runs one admin command and returns the process exit code.
pub fn run(args: AdminArgs) -> ExitCode {
    // Library logs only when asked for: the output is the command's.
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("error"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("petrel admin: error: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(execute(args)) {
        Ok(text) => {
            let mut stdout = std::io::stdout().lock();
            // A closed pipe (`| head`) is not an error worth reporting.
            let _ = stdout
                .write_all(text.as_bytes())
                .and_then(|_| stdout.flush());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("petrel admin: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn execute(args: AdminArgs) -> Result<String> {
    let config = ClientConfig {
        request_timeout: REQUEST_TIMEOUT,
        credentials: args
            .access_key
            .zip(args.secret_key)
            .map(|(ak, sk)| petrel_client::SessionCredentials::new(ak, sk)),
        tls: args.tls.then(petrel_remoting::TlsClientSettings::default),
        ..ClientConfig::new(&namesrv_addr(args.namesrv))
    };
    let ctx = Ctx {
        admin: Admin::start(config).context("cannot start the admin client")?,
        json: args.json,
    };
    use AdminCommand as C;
    let result = match args.command {
        C::UpdateTopic(a) => topic::update_topic(&ctx, a).await,
        C::DeleteTopic(a) => topic::delete_topic(&ctx, a).await,
        C::TopicList(a) => topic::topic_list(&ctx, a).await,
        C::TopicRoute(a) => topic::topic_route(&ctx, a).await,
        C::TopicStatus(a) => topic::topic_status(&ctx, a).await,
        C::ClusterList(a) => cluster::cluster_list(&ctx, a).await,
        C::BrokerStatus(a) => cluster::broker_status(&ctx, a).await,
        C::HaStatus(a) => ha::ha_status(&ctx, a).await,
        C::UpdateSubGroup(a) => group::update_sub_group(&ctx, a).await,
        C::SetConsumeMode(a) => group::set_consume_mode(&ctx, a).await,
        C::DeleteSubGroup(a) => group::delete_sub_group(&ctx, a).await,
        C::ConsumerProgress(a) => group::consumer_progress(&ctx, a).await,
        C::ConsumerConnection(a) => group::consumer_connection(&ctx, a).await,
        C::ProducerConnection(a) => group::producer_connection(&ctx, a).await,
        C::QueryMsgById(a) => query::query_msg_by_id(&ctx, a).await,
        C::QueryMsgByKey(a) => query::query_msg_by_key(&ctx, a).await,
        C::QueryMsgByOffset(a) => query::query_msg_by_offset(&ctx, a).await,
        C::QueryMsgByUniqueKey(a) => query::query_msg_by_unique_key(&ctx, a).await,
        C::PrintMsg(a) => consume::print_msg(&ctx, a).await,
        C::ConsumeMessage(a) => consume::consume_message(&ctx, a).await,
        C::SendMessage(a) => send::send_message(&ctx, a).await,
        C::ResendMsgById(a) => send::resend_msg_by_id(&ctx, a).await,
        C::ResetOffsetByTime(a) => offset::reset_offset_by_time(&ctx, a).await,
        C::StatsAll(a) => stats_all::stats_all(&ctx, a).await,
        C::QueryMsgTraceById(a) => trace::query_msg_trace_by_id(&ctx, a).await,
        C::CreateUser(a) => auth::put_user(&ctx, a, true).await,
        C::UpdateUser(a) => auth::put_user(&ctx, a, false).await,
        C::DeleteUser(a) => auth::delete_user(&ctx, a).await,
        C::GetUser(a) => auth::get_user(&ctx, a).await,
        C::ListUser(a) => auth::list_user(&ctx, a).await,
        C::CreateAcl(a) => auth::put_acl(&ctx, a, true).await,
        C::UpdateAcl(a) => auth::put_acl(&ctx, a, false).await,
        C::DeleteAcl(a) => auth::delete_acl(&ctx, a).await,
        C::GetAcl(a) => auth::get_acl(&ctx, a).await,
        C::ListAcl(a) => auth::list_acl(&ctx, a).await,
        C::GetControllerMetaData(a) => controller::get_controller_meta_data(&ctx, a).await,
        C::GetSyncStateSet(a) => controller::get_sync_state_set(&ctx, a).await,
        C::GetBrokerEpoch(a) => controller::get_broker_epoch(&ctx, a).await,
        C::ElectMaster(a) => controller::elect_master(&ctx, a).await,
        C::GetControllerConfig(a) => controller::get_controller_config(&ctx, a).await,
        C::UpdateControllerConfig(a) => controller::update_controller_config(&ctx, a).await,
        C::CleanBrokerMetadata(a) => controller::clean_broker_metadata(&ctx, a).await,
    };
    ctx.admin.shutdown().await;
    result
}

/// Parses mqadmin's time arguments (`now`, epoch ms, `yyyy-MM-dd#HH:mm:ss:SSS`) for clap.
pub(crate) fn time_arg(text: &str) -> Result<i64, String> {
    output::parse_time(text, output::now_ms())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_flag_wins_then_the_environment_then_the_default() {
        assert_eq!(namesrv_addr(Some("a:1".into())), "a:1");
        // The environment is shared by the test threads; only this test reads it.
        std::env::remove_var("NAMESRV_ADDR");
        assert_eq!(namesrv_addr(None), DEFAULT_NAMESRV);
        assert_eq!(namesrv_addr(Some(" ".into())), DEFAULT_NAMESRV);
    }
}
