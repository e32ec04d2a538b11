package dev.petrel.compat;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.rocketmq.client.apis.ClientConfiguration;
import org.apache.rocketmq.client.apis.ClientServiceProvider;
import org.apache.rocketmq.client.apis.consumer.ConsumeResult;
import org.apache.rocketmq.client.apis.consumer.FilterExpression;
import org.apache.rocketmq.client.apis.consumer.FilterExpressionType;
import org.apache.rocketmq.client.apis.consumer.PushConsumer;
import org.apache.rocketmq.client.apis.consumer.SimpleConsumer;
import org.apache.rocketmq.client.apis.message.MessageView;
import org.apache.rocketmq.client.apis.producer.Producer;
import org.apache.rocketmq.client.apis.producer.SendReceipt;
import org.apache.rocketmq.common.TopicConfig;
import org.apache.rocketmq.remoting.protocol.subscription.SubscriptionGroupConfig;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The official 5.x gRPC client consumes from Petrel with POP: a SimpleConsumer receives and
 * acks 10,000 messages (each exactly once), a message it does not ack comes back after its
 * invisible time with a higher delivery attempt, a FIFO group receives each message group in
 * order, and a PushConsumer consumes 10,000 messages, each once, and a failed one again.
 * Runs only against Petrel (-DGRPC_ENDPOINTS).
 */
class GrpcConsumerTest extends CompatBase {
    static final String ENDPOINTS = System.getProperty("GRPC_ENDPOINTS", "");
    static final ClientServiceProvider PROVIDER = ClientServiceProvider.loadService();
    static final int MANY = 10_000;
    static Producer producer;
    static ClientConfiguration cfg;

    static String topic(String base, String messageType) throws Exception {
        String t = Env.name(base);
        TopicConfig c = new TopicConfig(t, 4, 4, 6);
        Map<String, String> attributes = new HashMap<>();
        attributes.put("+message.type", messageType);
        c.setAttributes(attributes);
        Env.admin().createAndUpdateTopicConfig(Env.brokerAddr(), c);
        return t;
    }

    static String group(String base, boolean orderly) throws Exception {
        String g = Env.name(base);
        SubscriptionGroupConfig c = new SubscriptionGroupConfig();
        c.setGroupName(g);
        c.setConsumeMessageOrderly(orderly);
        Env.admin().createAndUpdateSubscriptionGroupConfig(Env.brokerAddr(), c);
        return g;
    }

    @BeforeAll
    static void start() throws Exception {
        Assumptions.assumeTrue(!ENDPOINTS.isEmpty() && "petrel".equals(Env.TARGET),
                "gRPC runs against Petrel only (-DGRPC_ENDPOINTS)");
        cfg = ClientConfiguration.newBuilder().setEndpoints(ENDPOINTS)
                .setRequestTimeout(Duration.ofSeconds(10)).build();
    }

    @AfterAll
    static void stop() throws Exception {
        if (producer != null) producer.close();
    }

    static Producer producer(String... topics) throws Exception {
        return PROVIDER.newProducerBuilder().setClientConfiguration(cfg).setTopics(topics).build();
    }

    static SimpleConsumer simple(String group, String topic, Duration await) throws Exception {
        return PROVIDER.newSimpleConsumerBuilder().setClientConfiguration(cfg)
                .setConsumerGroup(group).setAwaitDuration(await)
                .setSubscriptionExpressions(Map.of(topic, new FilterExpression("*", FilterExpressionType.TAG)))
                .build();
    }

    static String body(MessageView m) {
        return StandardCharsets.UTF_8.decode(m.getBody()).toString();
    }

    @Test
    void simpleConsumerReceivesAndAcksTenThousandMessagesOnce() throws Exception {
        String topic = topic("grpc_pop_many", "NORMAL");
        String group = group("grpc_pop_many_g", false);
        try (SimpleConsumer consumer = simple(group, topic, Duration.ofSeconds(5));
             Producer p = producer(topic)) {
            List<CompletableFuture<SendReceipt>> sent = new ArrayList<>();
            long t0 = System.nanoTime();
            for (int i = 0; i < MANY; i++) {
                sent.add(p.sendAsync(PROVIDER.newMessageBuilder().setTopic(topic).setTag("TagM")
                        .setKeys("k" + i).setBody(("m-" + i).getBytes(StandardCharsets.UTF_8)).build()));
                if (sent.size() % 256 == 0) sent.get(sent.size() - 256).get(30, TimeUnit.SECONDS);
            }
            Set<String> ids = new HashSet<>();
            for (CompletableFuture<SendReceipt> f : sent) ids.add(f.get(30, TimeUnit.SECONDS).getMessageId().toString());
            long sentMs = (System.nanoTime() - t0) / 1_000_000;
            assertEquals(MANY, ids.size());

            Set<String> got = new HashSet<>();
            int duplicates = 0;
            long deadline = System.currentTimeMillis() + 180_000;
            long r0 = System.nanoTime();
            while (got.size() < MANY && System.currentTimeMillis() < deadline) {
                for (MessageView m : consumer.receive(32, Duration.ofSeconds(60))) {
                    if (!got.add(m.getMessageId().toString())) duplicates++;
                    assertEquals(1, m.getDeliveryAttempt());
                    consumer.ack(m);
                }
            }
            long receivedMs = (System.nanoTime() - r0) / 1_000_000;
            assertEquals(ids, got, "every message received");
            assertEquals(0, duplicates, "none delivered twice");
            // Nothing comes back after its ack.
            assertEquals(0, consumer.receive(32, Duration.ofSeconds(60)).size());
            note(MANY + " messages: gRPC sendAsync " + sentMs + " ms, SimpleConsumer receive+ack " + receivedMs + " ms (debug build)");
        }
    }

    @Test
    void anUnackedMessageComesBackAfterItsInvisibleTime() throws Exception {
        String topic = topic("grpc_pop_back", "NORMAL");
        String group = group("grpc_pop_back_g", false);
        try (SimpleConsumer consumer = simple(group, topic, Duration.ofSeconds(3));
             Producer p = producer(topic)) {
            SendReceipt r = p.send(PROVIDER.newMessageBuilder().setTopic(topic).setTag("TagB")
                    .setBody("come back".getBytes(StandardCharsets.UTF_8)).build());
            List<MessageView> first = new ArrayList<>();
            long deadline = System.currentTimeMillis() + 20_000;
            while (first.isEmpty() && System.currentTimeMillis() < deadline) first = consumer.receive(1, Duration.ofSeconds(2));
            assertEquals(1, first.size());
            long receivedAt = System.currentTimeMillis();
            assertEquals(r.getMessageId(), first.get(0).getMessageId());
            // Not acked: hidden for 2 s, then delivered again (attempt 2).
            List<MessageView> again = new ArrayList<>();
            deadline = System.currentTimeMillis() + 20_000;
            while (again.isEmpty() && System.currentTimeMillis() < deadline) again = consumer.receive(1, Duration.ofSeconds(30));
            long backAfter = System.currentTimeMillis() - receivedAt;
            assertEquals(1, again.size());
            MessageView m = again.get(0);
            assertEquals(r.getMessageId(), m.getMessageId(), "the same message id");
            assertEquals(2, m.getDeliveryAttempt());
            assertEquals("come back", body(m));
            assertTrue(backAfter >= 1_900, "came back after " + backAfter + " ms");
            consumer.ack(m);
            assertEquals(0, consumer.receive(1, Duration.ofSeconds(30)).size());
            note("un-acked message back after " + backAfter + " ms (invisible 2,000 ms), attempt 2");
        }
    }

    @Test
    void aFifoGroupReceivesEachMessageGroupInOrder() throws Exception {
        String topic = topic("grpc_pop_fifo", "FIFO");
        String group = group("grpc_pop_fifo_g", true);
        try (SimpleConsumer consumer = simple(group, topic, Duration.ofSeconds(3));
             Producer p = producer(topic)) {
            int n = 60;
            for (int i = 0; i < n; i++) {
                p.send(PROVIDER.newMessageBuilder().setTopic(topic).setTag("TagF")
                        .setMessageGroup("g" + (i % 3)).setBody(("f-" + i).getBytes(StandardCharsets.UTF_8)).build());
            }
            Map<String, List<Integer>> seen = new HashMap<>();
            int total = 0;
            long deadline = System.currentTimeMillis() + 60_000;
            while (total < n && System.currentTimeMillis() < deadline) {
                for (MessageView m : consumer.receive(8, Duration.ofSeconds(30))) {
                    String g = m.getMessageGroup().orElse("?");
                    seen.computeIfAbsent(g, k -> new ArrayList<>()).add(Integer.parseInt(body(m).substring(2)));
                    consumer.ack(m);
                    total++;
                }
            }
            assertEquals(n, total);
            for (Map.Entry<String, List<Integer>> e : seen.entrySet()) {
                List<Integer> order = e.getValue();
                for (int i = 1; i < order.size(); i++) {
                    assertTrue(order.get(i) > order.get(i - 1), e.getKey() + " out of order: " + order);
                }
            }
            assertEquals(3, seen.size());
        }
    }

    @Test
    void pushConsumerConsumesEverythingAndAFailureAgain() throws Exception {
        String topic = topic("grpc_push", "NORMAL");
        String group = group("grpc_push_g", false);
        int n = MANY;
        Map<String, AtomicInteger> deliveries = new ConcurrentHashMap<>();
        AtomicInteger failedOnce = new AtomicInteger();
        try (Producer p = producer(topic);
             PushConsumer consumer = PROVIDER.newPushConsumerBuilder().setClientConfiguration(cfg)
                     .setConsumerGroup(group)
                     .setSubscriptionExpressions(Map.of(topic, new FilterExpression("*", FilterExpressionType.TAG)))
                     .setMessageListener(m -> {
                         int times = deliveries.computeIfAbsent(body(m), k -> new AtomicInteger()).incrementAndGet();
                         if ("p-7".equals(body(m)) && times == 1) {
                             failedOnce.incrementAndGet();
                             return ConsumeResult.FAILURE;
                         }
                         return ConsumeResult.SUCCESS;
                     })
                     .build()) {
            List<CompletableFuture<SendReceipt>> sent = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                sent.add(p.sendAsync(PROVIDER.newMessageBuilder().setTopic(topic).setTag("TagP")
                        .setBody(("p-" + i).getBytes(StandardCharsets.UTF_8)).build()));
                if (sent.size() % 256 == 0) sent.get(sent.size() - 256).get(30, TimeUnit.SECONDS);
            }
            for (CompletableFuture<SendReceipt> f : sent) f.get(30, TimeUnit.SECONDS);
            long deadline = System.currentTimeMillis() + 180_000;
            while (System.currentTimeMillis() < deadline
                    && (deliveries.size() < n || deliveries.get("p-7").get() < 2)) {
                Thread.sleep(100);
            }
            assertEquals(n, deliveries.size(), "every message consumed");
            assertEquals(1, failedOnce.get());
            assertEquals(2, deliveries.get("p-7").get(), "the failed message came again");
            Thread.sleep(2_000);
            for (Map.Entry<String, AtomicInteger> e : deliveries.entrySet()) {
                if (!"p-7".equals(e.getKey())) assertEquals(1, e.getValue().get(), e.getKey() + " consumed once");
            }
        }
    }
}
