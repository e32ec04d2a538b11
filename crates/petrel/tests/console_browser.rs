#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The web console in a real browser: Debian's headless Chromium driven through chromedriver
//! (WebDriver, with the `fantoccini` crate) against a real `petrel serve`. It checks what a
//! user sees: the cluster page with its broker and charts; a topic created with `petrel admin`
//! listed with its message count; a consumer group's lag falling to 0 while its consumer
//! works; a message found by key showing its body; a trace with its Pub and SubAfter records;
//! the DLQ page resending a dead message to its group.
//!
//! Needs `chromium` and `chromedriver` on PATH (`scripts/test.sh` installs Debian's
//! `chromium` and `chromium-driver`); without them the test fails and says so. With
//! `PETREL_CONSOLE_SCREENSHOTS=DIR` it saves a PNG of each page it visits there (how the
//! pictures in docs/console.md are made).
//!
//! The console's JSON API without a browser (status codes and errors) is tested at the end.

mod support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use petrel_client::admin::Admin;
use petrel_client::consumer::ConsumeFromWhere;
use petrel_client::{
    ClientConfig, ConsumeConcurrentlyContext, ConsumeConcurrentlyStatus, Message, MessageExt,
    MessageQueue, Producer, ProducerConfig, PushConsumer, PushConsumerConfig, Selector,
};
use support::client::{create_topic, serve_small};
use support::unique;

/// Upper bound of every wait here.
const WAIT: Duration = Duration::from_secs(60);

/// chromedriver on a free port; killed when dropped.
struct Driver {
    child: Child,
    url: String,
}

impl Driver {
    fn start() -> Driver {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        use std::os::unix::process::CommandExt;
        let child = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            // Its own process group, so that dropping the driver also ends the Chromium it
            // started, even when a test fails before closing its session.
            .process_group(0)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot run chromedriver ({e}): install Debian's chromium and chromium-driver \
                     (scripts/test.sh does: apt-get install chromium chromium-driver)"
                )
            });
        let deadline = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "chromedriver did not listen");
            std::thread::sleep(Duration::from_millis(50));
        }
        Driver {
            child,
            url: format!("http://127.0.0.1:{port}"),
        }
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        // SAFETY: kill(2) with the negated pid of our own unreaped child, which leads its
        // process group; it touches no memory of ours.
        unsafe { libc::kill(-(self.child.id() as i32), libc::SIGKILL) };
        let _ = self.child.wait();
    }
}

async fn browser(driver: &Driver) -> Client {
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        serde_json::json!({
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu",
                     "--disable-dev-shm-usage", "--window-size=1400,1000"],
        }),
    );
    // chromedriver speaks plain HTTP on loopback: no TLS stack needed.
    let connector = hyper_util::client::legacy::connect::HttpConnector::new();
    ClientBuilder::new(connector)
        .capabilities(caps)
        .connect(&driver.url)
        .await
        .expect("a Chromium session (is chromium installed?)")
}

/// Waits until `css` matches an element whose text satisfies `ok`; returns that text.
async fn wait_text(c: &Client, css: &str, ok: impl Fn(&str) -> bool) -> String {
    let deadline = Instant::now() + WAIT;
    let mut last = String::from("(no element)");
    loop {
        if let Ok(el) = c.find(Locator::Css(css)).await {
            if let Ok(text) = el.text().await {
                if ok(&text) {
                    return text;
                }
                last = text;
            }
        }
        assert!(
            Instant::now() < deadline,
            "{css}: last text {last:?}; page: {}",
            c.source()
                .await
                .unwrap_or_default()
                .chars()
                .take(3000)
                .collect::<String>()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn screenshot(c: &Client, name: &str) {
    if let Ok(dir) = std::env::var("PETREL_CONSOLE_SCREENSHOTS") {
        // Let the page finish its first refresh.
        tokio::time::sleep(Duration::from_millis(800)).await;
        let png = c.screenshot().await.unwrap();
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(format!("{dir}/{name}.png"), png).unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_shows_topics_lag_messages_and_traces_in_a_browser() {
    let p = serve_small(&[]);
    let base = p.console.clone().expect("the console's address");
    let driver = Driver::start();
    let c = browser(&driver).await;

    // A topic made with `petrel admin`, 25 messages, one with a key to look up later.
    let topic = unique("ConsoleOrders");
    let ok = Command::new(env!("CARGO_BIN_EXE_petrel"))
        .args(["admin", "-n", &p.namesrv, "updateTopic", "-t", &topic])
        .args(["-c", "DefaultCluster", "-r", "4", "-w", "4"])
        .status()
        .unwrap()
        .success();
    assert!(ok, "updateTopic");
    let mut pconf = ProducerConfig::new(unique("console-pg"));
    pconf.enable_msg_trace = true;
    let producer = Producer::start(ClientConfig::new(&p.namesrv), pconf)
        .await
        .unwrap();
    create_topic(&p, &producer, &topic, 4).await;
    for i in 0..24 {
        producer
            .send(
                Message::new(&topic, format!("order {i}").into_bytes())
                    .with_keys([format!("k{i}")]),
            )
            .await
            .unwrap();
    }
    let body = "hello from the console test: <b>not bold</b>";
    let keyed = producer
        .send(
            Message::new(&topic, body.as_bytes().to_vec())
                .with_tags("TagC")
                .with_keys(["console-key-1"]),
        )
        .await
        .unwrap();

    // Cluster page: the broker and the two charts.
    c.goto(&format!("{base}/#/cluster")).await.unwrap();
    wait_text(
        &c,
        "tr[data-broker='broker-a'] td[data-field='addr']",
        |t| t == p.broker,
    )
    .await;
    wait_text(&c, "[data-stat='inTotalToday']", |t| {
        t.replace(',', "").parse::<u64>().is_ok_and(|n| n >= 25)
    })
    .await;
    assert!(c
        .find(Locator::Css("[data-chart] svg polyline"))
        .await
        .is_ok());
    if std::env::var_os("PETREL_CONSOLE_SCREENSHOTS").is_some() {
        // A few polls, so that the charts show a line rather than a point.
        tokio::time::sleep(Duration::from_secs(8)).await;
    }
    screenshot(&c, "cluster").await;

    // Topics page: the new topic with its message count.
    c.goto(&format!("{base}/#/topics")).await.unwrap();
    let row = format!("tr[data-topic='{topic}']");
    wait_text(&c, &format!("{row} td[data-field='messageCount']"), |t| {
        t == "25"
    })
    .await;
    wait_text(&c, &format!("{row} td[data-field='queues']"), |t| t == "4").await;
    screenshot(&c, "topics").await;

    // A group whose offsets stand at 0: lag 25; then its consumer drains it to 0.
    let group = unique("console-cg");
    let admin = Admin::start(ClientConfig::new(&p.namesrv)).unwrap();
    for q in 0..4 {
        let mq = MessageQueue::new(&topic, "broker-a", q);
        admin
            .update_consumer_offset(&p.broker, &group, &mq, 0)
            .await
            .unwrap();
    }
    c.goto(&format!("{base}/#/group/{group}")).await.unwrap();
    wait_text(&c, "[data-stat='lag']", |t| t == "25").await;

    let consumed: Arc<Mutex<Vec<String>>> = Arc::default();
    let sink = Arc::clone(&consumed);
    let mut cconf = PushConsumerConfig::new(&group);
    cconf.consume_from_where = ConsumeFromWhere::ConsumeFromFirstOffset;
    cconf.enable_msg_trace = true;
    let mut client = ClientConfig::new(&p.namesrv);
    client.persist_consumer_offset_interval = Duration::from_millis(500);
    let consumer = PushConsumer::builder(client, cconf)
        .subscribe(&topic, Selector::all())
        .listener_concurrently(
            move |msgs: &[MessageExt], _: &mut ConsumeConcurrentlyContext| {
                sink.lock()
                    .unwrap()
                    .extend(msgs.iter().map(|m| m.msg_id().to_string()));
                ConsumeConcurrentlyStatus::ConsumeSuccess
            },
        )
        .start()
        .await
        .unwrap();
    wait_text(&c, "[data-stat='lag']", |t| t == "0").await;
    wait_text(&c, "[data-stat='clients']", |t| t == "1").await;
    screenshot(&c, "group").await;
    assert!(consumed.lock().unwrap().contains(&keyed.msg_id));

    // The groups list shows it with lag 0 and its member.
    c.goto(&format!("{base}/#/groups")).await.unwrap();
    wait_text(
        &c,
        &format!("tr[data-group='{group}'] td[data-field='lag']"),
        |t| t == "0",
    )
    .await;
    wait_text(
        &c,
        &format!("tr[data-group='{group}'] td[data-field='clients']"),
        |t| t == "1",
    )
    .await;

    // Search by key with the form, open the message: its body, as text.
    c.goto(&format!("{base}/#/messages?by=key")).await.unwrap();
    let form = c.form(Locator::Css("#message-search")).await.unwrap();
    form.set_by_name("topic", &topic).await.unwrap();
    form.set_by_name("key", "console-key-1").await.unwrap();
    form.submit().await.unwrap();
    wait_text(&c, "#result-count", |t| t.starts_with("1 message")).await;
    screenshot(&c, "messages").await;
    c.find(Locator::Css(&format!(
        "tr[data-msg-id='{}'] a",
        keyed.msg_id
    )))
    .await
    .unwrap()
    .click()
    .await
    .unwrap();
    wait_text(&c, "#msg-body", |t| t == body).await;
    wait_text(&c, "#msg-id", |t| t == keyed.msg_id).await;
    screenshot(&c, "message").await;

    // Its trace: sent (Pub) and consumed (SubAfter), written by both clients.
    let trace_url = format!("{base}/#/trace?msgId={}&run=1", keyed.msg_id);
    let deadline = Instant::now() + WAIT;
    loop {
        c.goto(&trace_url).await.unwrap();
        tokio::time::sleep(Duration::from_millis(700)).await;
        let has = |kind: &'static str| {
            let c = c.clone();
            async move {
                c.find(Locator::Css(&format!(
                    "#trace-timeline li[data-type='{kind}']"
                )))
                .await
                .is_ok()
            }
        };
        if has("Pub").await && has("SubAfter").await {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no Pub and SubAfter trace records shown"
        );
        c.goto(&format!("{base}/#/cluster")).await.unwrap();
    }
    let pub_line = wait_text(&c, "#trace-timeline li[data-type='Pub']", |_| true).await;
    assert!(pub_line.contains(&topic), "{pub_line}");
    screenshot(&c, "trace").await;

    consumer.shutdown().await;
    producer.shutdown().await;
    admin.shutdown().await;
    c.close().await.unwrap();
}

/// A dead message: the DLQ page lists it and its Resend button gives it back to the group,
/// whose consumer then receives it (the retry topic names the original topic).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dlq_page_resends_a_dead_message_to_its_group() {
    let p = serve_small(&[]);
    let base = p.console.clone().expect("the console's address");
    let driver = Driver::start();
    let c = browser(&driver).await;
    let topic = unique("ConsoleDlq");
    let group = unique("console-dlq-cg");
    let producer = support::client::producer(&p).await;
    create_topic(&p, &producer, &topic, 1).await;
    let ok = Command::new(env!("CARGO_BIN_EXE_petrel"))
        .args(["admin", "-n", &p.namesrv, "updateSubGroup", "-g", &group])
        .args(["-c", "DefaultCluster"])
        .status()
        .unwrap()
        .success();
    assert!(ok, "updateSubGroup");

    let received: Arc<Mutex<Vec<(String, String)>>> = Arc::default();
    let sink = Arc::clone(&received);
    let mut cconf = PushConsumerConfig::new(&group);
    cconf.consume_from_where = ConsumeFromWhere::ConsumeFromFirstOffset;
    // The consumer gives up at once: no retries, straight to the group's DLQ. (The group's
    // own retryMaxTimes stays 16: with 0 there, a resend would die again at once.)
    cconf.max_reconsume_times = 0;
    let mut client = ClientConfig::new(&p.namesrv);
    client.poll_name_server_interval = Duration::from_secs(1);
    client.rebalance_interval = Duration::from_secs(1);
    let consumer = PushConsumer::builder(client, cconf)
        .subscribe(&topic, Selector::all())
        .listener_concurrently(
            move |msgs: &[MessageExt], _: &mut ConsumeConcurrentlyContext| {
                let mut s = sink.lock().unwrap();
                s.extend(
                    msgs.iter()
                        .map(|m| (m.msg_id().to_string(), m.topic.clone())),
                );
                // The first delivery fails (and dies); a resent one is accepted.
                if s.len() == 1 {
                    ConsumeConcurrentlyStatus::ReconsumeLater
                } else {
                    ConsumeConcurrentlyStatus::ConsumeSuccess
                }
            },
        )
        .start()
        .await
        .unwrap();
    let sent = producer
        .send(Message::new(&topic, b"dies once".to_vec()).with_keys(["dead-1"]))
        .await
        .unwrap();

    let url = format!("{base}/#/dlq?group={group}&days=1&run=1");
    let row = format!("tr[data-msg-id='{}']", sent.msg_id);
    let deadline = Instant::now() + WAIT;
    loop {
        c.goto(&url).await.unwrap();
        let text = wait_text(&c, "#result-count", |_| true).await;
        if text.starts_with("1 dead") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the message never reached the DLQ page: {text}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
        c.goto(&format!("{base}/#/cluster")).await.unwrap();
    }
    wait_text(&c, &format!("{row} td[data-field='origin']"), |t| {
        t == topic
    })
    .await;
    screenshot(&c, "dlq").await;
    c.find(Locator::Css(&format!("{row} button")))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_text(&c, "#flash .info", |t| t.contains("sent again")).await;

    let deadline = Instant::now() + WAIT;
    loop {
        let got = received.lock().unwrap().clone();
        if got.len() >= 2 {
            assert_eq!(got[1].0, sent.msg_id, "the same message id: {got:?}");
            assert_eq!(got[1].1, topic, "seen in its original topic: {got:?}");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the resent message never came: {got:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    consumer.shutdown().await;
    producer.shutdown().await;
    c.close().await.unwrap();
}

/// A plain HTTP/1.1 request to the console; returns (status, body).
fn http(base: &str, method: &str, path: &str, body: Option<&str>) -> (u16, String) {
    let addr = base.trim_start_matches("http://");
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let body = body.unwrap_or("");
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    let status = out[9..12].parse().unwrap();
    let body = out.split_once("\r\n\r\n").map(|x| x.1).unwrap_or("");
    (status, body.to_string())
}

#[test]
fn the_console_api_answers_errors_with_a_status_and_a_reason() {
    let p = serve_small(&[]);
    let base = p.console.clone().expect("the console's address");

    let (status, page) = http(&base, "GET", "/", None);
    assert_eq!(status, 200);
    assert!(page.contains("<script type=\"module\" src=\"/app.js\">"));
    let (status, _) = http(&base, "GET", "/app.js", None);
    assert_eq!(status, 200);

    let (status, body) = http(&base, "GET", "/api/topics/NoSuchTopicHere", None);
    assert_eq!(status, 404, "{body}");
    assert!(body.contains("NoSuchTopicHere"), "{body}");

    let (status, body) = http(
        &base,
        "POST",
        "/api/topics",
        Some(r#"{"topic":"bad topic!"}"#),
    );
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("\"error\""), "{body}");

    let (status, body) = http(
        &base,
        "POST",
        "/api/topics",
        Some(r#"{"topic":"ApiMade","readQueueNums":3}"#),
    );
    assert_eq!(status, 200, "{body}");
    // The broker registers the new topic with the name server right away, not in the same
    // breath: wait for the route.
    let deadline = Instant::now() + WAIT;
    let body = loop {
        let (status, body) = http(&base, "GET", "/api/topics/ApiMade", None);
        if status == 200 {
            break body;
        }
        assert!(Instant::now() < deadline, "{status} {body}");
        std::thread::sleep(Duration::from_millis(100));
    };
    let detail: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(detail["queues"].as_array().unwrap().len(), 3, "{body}");

    let (status, body) = http(
        &base,
        "GET",
        "/api/messages?topic=ApiMade&limit=100000",
        None,
    );
    assert_eq!(status, 400, "{body}");
    let (status, body) = http(&base, "GET", "/api/messages/by-key?topic=ApiMade", None);
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("key is required"), "{body}");
    let (status, body) = http(&base, "GET", "/api/groups/no-such-group-here", None);
    assert_eq!(status, 404, "{body}");
    let (status, body) = http(&base, "DELETE", "/api/topics/TBW102", None);
    assert_eq!(status, 400, "{body}");
    let (status, _) = http(&base, "GET", "/api/unknown", None);
    assert_eq!(status, 404);

    let (status, body) = http(&base, "DELETE", "/api/topics/ApiMade", None);
    assert_eq!(status, 200, "{body}");
}

/// `petrel console` alone, against the name server of another process: it serves the same API,
/// and stops cleanly on SIGTERM even when its stdout has no reader left.
#[test]
fn petrel_console_runs_alone_against_a_name_server() {
    use std::io::BufRead;

    let p = serve_small(&[]);
    let mut child = Command::new(env!("CARGO_BIN_EXE_petrel"))
        .args(["console", "-n", &p.namesrv, "--listen", "127.0.0.1:0"])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut base = None;
    let mut lines = std::io::BufReader::new(stdout).lines();
    for line in lines.by_ref() {
        let line = line.unwrap();
        if let Some(rest) = line.strip_prefix("petrel console on ") {
            base = Some(rest.trim().trim_end_matches('/').to_string());
        }
        if line == "petrel ready" {
            break;
        }
    }
    // Nobody reads its stdout any more: its "stopping" lines meet a closed pipe, which must
    // not keep it from a clean stop (it panicked on them once).
    drop(lines);
    let base = base.expect("the console's address");
    let (status, body) = http(&base, "GET", "/api/cluster", None);
    assert_eq!(status, 200, "{body}");
    let cluster: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(cluster["brokers"][0]["addr"], p.broker.as_str(), "{body}");
    assert_eq!(cluster["namesrvAddrs"][0], p.namesrv.as_str(), "{body}");
    // SAFETY: kill(2) with our own unreaped child's pid touches no memory of ours.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let status = child.wait().unwrap();
    assert!(status.success(), "{status}");
}
