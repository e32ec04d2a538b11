package dev.petrel.compat;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.rocketmq.client.apis.ClientConfiguration;
import org.apache.rocketmq.client.apis.ClientServiceProvider;
import org.apache.rocketmq.client.apis.message.Message;
import org.apache.rocketmq.client.apis.producer.Producer;
import org.apache.rocketmq.client.apis.producer.SendReceipt;
import org.apache.rocketmq.client.apis.producer.Transaction;
import org.apache.rocketmq.client.apis.producer.TransactionResolution;
import org.apache.rocketmq.common.TopicConfig;
import org.apache.rocketmq.common.message.MessageExt;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The official 5.x gRPC client (org.apache.rocketmq:rocketmq-client-java) sends NORMAL, FIFO,
 * DELAY and TRANSACTION messages to Petrel's gRPC service; a remoting pull consumer (5.x client)
 * reads what was stored: exactly the committed messages, with tag, keys, properties and message
 * id intact, a message group's messages in one queue in order, the delayed one not before its
 * time. Runs only against Petrel (the script gives -DGRPC_ENDPOINTS); Apache's broker alone has
 * no gRPC service (that is its proxy's).
 */
class GrpcProducerTest extends CompatBase {
    static final String ENDPOINTS = System.getProperty("GRPC_ENDPOINTS", "");
    static final ClientServiceProvider PROVIDER = ClientServiceProvider.loadService();
    static String normal, fifo, delay, tx, checked;
    static Producer producer;

    static String topic(String base, String messageType) throws Exception {
        String t = Env.name(base);
        TopicConfig cfg = new TopicConfig(t, 4, 4, 6);
        Map<String, String> attributes = new HashMap<>();
        attributes.put("+message.type", messageType);
        cfg.setAttributes(attributes);
        Env.admin().createAndUpdateTopicConfig(Env.brokerAddr(), cfg);
        return t;
    }

    @BeforeAll
    static void start() throws Exception {
        Assumptions.assumeTrue(!ENDPOINTS.isEmpty() && "petrel".equals(Env.TARGET),
                "gRPC runs against Petrel only (-DGRPC_ENDPOINTS)");
        normal = topic("grpc_normal", "NORMAL");
        fifo = topic("grpc_fifo", "FIFO");
        delay = topic("grpc_delay", "DELAY");
        tx = topic("grpc_tx", "TRANSACTION");
        checked = topic("grpc_txcheck", "TRANSACTION");
        ClientConfiguration cfg = ClientConfiguration.newBuilder()
                .setEndpoints(ENDPOINTS)
                // enableSsl left at its default (true): Petrel's port takes TLS and plain text,
                // as Apache's proxy does
                .setRequestTimeout(Duration.ofSeconds(10))
                .build();
        producer = PROVIDER.newProducerBuilder()
                .setClientConfiguration(cfg)
                .setTopics(normal, fifo, delay, tx)
                // Transactions here are always ended by the producer.
                .setTransactionChecker(view -> TransactionResolution.UNKNOWN)
                .build();
    }

    @AfterAll
    static void stop() throws Exception {
        if (producer != null) producer.close();
    }

    static Message message(String topic, String tag, String key, String body) {
        return PROVIDER.newMessageBuilder()
                .setTopic(topic)
                .setTag(tag)
                .setKeys(key)
                .addProperty("origin", "grpc")
                .setBody(body.getBytes(StandardCharsets.UTF_8))
                .build();
    }

    static void assertSame(SendReceipt receipt, String tag, String key, String body, MessageExt m) {
        assertEquals(receipt.getMessageId().toString(), m.getMsgId(), "message id");
        assertEquals(tag, m.getTags());
        assertEquals(key, m.getKeys());
        assertEquals("grpc", m.getUserProperty("origin"));
        assertEquals(body, str(m.getBody()));
    }

    @Test
    void normalMessages() throws Exception {
        List<SendReceipt> receipts = new ArrayList<>();
        for (int i = 0; i < 8; i++) receipts.add(producer.send(message(normal, "TagN", "key-" + i, "normal-" + i)));
        List<MessageExt> got = Env.readAll(normal, 8, 30_000);
        assertEquals(8, got.size());
        Map<String, MessageExt> byId = new HashMap<>();
        for (MessageExt m : got) byId.put(m.getMsgId(), m);
        for (int i = 0; i < 8; i++) {
            MessageExt m = byId.get(receipts.get(i).getMessageId().toString());
            assertNotNull(m, "message " + i + " stored under its id");
            assertSame(receipts.get(i), "TagN", "key-" + i, "normal-" + i, m);
        }
        note("8 NORMAL messages over gRPC, ids " + receipts.get(0).getMessageId() + "...");
    }

    @Test
    void fifoMessagesOfAGroupStayInOrderInOneQueue() throws Exception {
        List<SendReceipt> receipts = new ArrayList<>();
        for (int i = 0; i < 10; i++) {
            String group = i % 2 == 0 ? "group-a" : "group-b";
            receipts.add(producer.send(PROVIDER.newMessageBuilder()
                    .setTopic(fifo).setTag("TagF").setKeys("fifo-" + i).setMessageGroup(group)
                    .addProperty("origin", "grpc")
                    .setBody(("fifo-" + i).getBytes(StandardCharsets.UTF_8)).build()));
        }
        List<MessageExt> got = Env.readAll(fifo, 10, 30_000);
        assertEquals(10, got.size());
        for (String group : new String[] {"group-a", "group-b"}) {
            List<MessageExt> of = new ArrayList<>();
            for (MessageExt m : got) if (group.equals(m.getProperty("__SHARDINGKEY"))) of.add(m);
            assertEquals(5, of.size(), group);
            int queue = of.get(0).getQueueId();
            long lastOffset = -1;
            int lastIndex = -1;
            for (MessageExt m : of) {
                assertEquals(queue, m.getQueueId(), "one queue per message group");
                assertTrue(m.getQueueOffset() > lastOffset);
                int index = Integer.parseInt(str(m.getBody()).substring("fifo-".length()));
                assertTrue(index > lastIndex, "send order kept");
                lastOffset = m.getQueueOffset();
                lastIndex = index;
                assertSame(receipts.get(index), "TagF", "fifo-" + index, "fifo-" + index, m);
            }
        }
    }

    @Test
    void delayedMessageNotBeforeItsTime() throws Exception {
        long at = System.currentTimeMillis() + 4_000;
        SendReceipt r = producer.send(PROVIDER.newMessageBuilder()
                .setTopic(delay).setTag("TagD").setKeys("delayed").setDeliveryTimestamp(at)
                .addProperty("origin", "grpc")
                .setBody("delayed".getBytes(StandardCharsets.UTF_8)).build());
        List<MessageExt> early = Env.readAll(delay, 1, 1_000);
        long checkedAt = System.currentTimeMillis();
        if (checkedAt < at - 1_000) assertEquals(0, early.size(), "visible before its delivery time");
        List<MessageExt> got = Env.readAll(delay, 1, 30_000);
        long seenAt = System.currentTimeMillis();
        assertEquals(1, got.size());
        MessageExt m = got.get(0);
        assertSame(r, "TagD", "delayed", "delayed", m);
        // The timer's precision is 1 s (timerPrecisionMs), as Apache's.
        assertTrue(m.getStoreTimestamp() >= at - 1_000,
                "stored in its topic at " + m.getStoreTimestamp() + ", due " + at);
        note("DELAY: due " + at + ", stored in the topic at +" + (m.getStoreTimestamp() - at) + " ms, seen at +" + (seenAt - at) + " ms");
    }

    @Test
    void transactionsCommitAndRollBack() throws Exception {
        Transaction commit = producer.beginTransaction();
        SendReceipt committed = producer.send(message(tx, "TagT", "tx-commit", "tx-commit"), commit);
        Transaction rollback = producer.beginTransaction();
        producer.send(message(tx, "TagT", "tx-rollback", "tx-rollback"), rollback);
        assertEquals(0, Env.readAll(tx, 1, 1_000).size(), "nothing visible before the commit");
        rollback.rollback();
        commit.commit();
        List<MessageExt> got = Env.readAll(tx, 1, 30_000);
        assertEquals(1, got.size());
        assertSame(committed, "TagT", "tx-commit", "tx-commit", got.get(0));
        // The rolled-back one never shows up (give the broker's transaction check time to run).
        Thread.sleep(4_000);
        List<MessageExt> later = Env.readAll(tx, 2, 1_000);
        assertEquals(1, later.size(), "only the committed message");
    }

    @Test
    void anUnendedTransactionIsCheckedBackOverTelemetry() throws Exception {
        AtomicInteger checks = new AtomicInteger();
        ClientConfiguration cfg = ClientConfiguration.newBuilder()
                .setEndpoints(ENDPOINTS)
                .setRequestTimeout(Duration.ofSeconds(10))
                .build();
        try (Producer checking = PROVIDER.newProducerBuilder()
                .setClientConfiguration(cfg)
                .setTopics(checked)
                .setTransactionChecker(view -> {
                    checks.incrementAndGet();
                    return "tx-checked".equals(StandardCharsets.UTF_8.decode(view.getBody()).toString())
                            ? TransactionResolution.COMMIT : TransactionResolution.ROLLBACK;
                })
                .build()) {
            // Neither committed nor rolled back: the broker's check (transactionCheckInterval
            // 2 s here) asks this producer over its Telemetry stream, and its checker commits.
            long t0 = System.currentTimeMillis();
            SendReceipt r = checking.send(message(checked, "TagC", "tx-checked", "tx-checked"),
                    checking.beginTransaction());
            List<MessageExt> got = Env.readAll(checked, 1, 60_000);
            assertEquals(1, got.size());
            assertSame(r, "TagC", "tx-checked", "tx-checked", got.get(0));
            assertTrue(checks.get() >= 1, "the checker was asked");
            note("check-back over Telemetry: committed after " + (System.currentTimeMillis() - t0)
                    + " ms, " + checks.get() + " check(s)");
        }
    }
}
